/*
 * ocp pin: the holder changes the PIN (kiosk role, old PIN first), or the
 * issuer unblocks it with a new one.
 *
 *   ocp --keys URI pin change      (old then new PIN asked)
 *   ocp --keys URI pin unblock     (new PIN asked)
 * PINs come from the terminal without echo, or OCP_PIN / OCP_NEW_PIN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ocp/wire.h"

static int new_pin(char out[9])
{
    const char *env = getenv("OCP_NEW_PIN");
    if (env != NULL) {
        if (strlen(env) < 4 || strlen(env) > 8 ||
            strspn(env, "0123456789") != strlen(env)) {
            fprintf(stderr, "ocp pin: OCP_NEW_PIN must have 4 to 8 digits\n");
            return -1;
        }
        strcpy(out, env);
        return 0;
    }
    return cli_read_pin("new PIN", out);
}

int cmd_pin(struct cli *c, int argc, char **argv)
{
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    char old_pin[9] = "", fresh[9] = "";
    int rc, left = -1;
    ocp_status st;

    if (argc != 2 || (strcmp(argv[1], "change") != 0 &&
                      strcmp(argv[1], "unblock") != 0)) {
        FILE *f = argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout
                                                              : stderr;
        fprintf(f, "usage: ocp --keys URI pin change|unblock\n");
        return f == stdout ? EXIT_OK : EXIT_USAGE;
    }
    if (strcmp(argv[1], "unblock") == 0) {
        if (new_pin(fresh) != 0)
            return EXIT_USAGE;
        rc = cli_open(c, OCP_ROLE_ISSUER, &t, &ks, &s, NULL);
        if (rc != EXIT_OK)
            return rc;
        st = ocp_unblock_pin(s, fresh);
    } else {
        /* The kiosk session verifies the old PIN (cli_open asks for it). */
        if (cli_read_pin("current PIN", old_pin) != 0 || new_pin(fresh) != 0)
            return EXIT_USAGE;
        strcpy(c->pin, old_pin);
        rc = cli_open(c, OCP_ROLE_KIOSK, &t, &ks, &s, NULL);
        if (rc != EXIT_OK)
            return rc;
        st = ocp_change_pin(s, old_pin, fresh, &left);
    }
    ocp_secret_wipe(old_pin, sizeof old_pin);
    memset(fresh, 0, sizeof fresh);
    ocp_secret_wipe(c->pin, sizeof c->pin);
    if (st == OCP_E_PIN_WRONG)
        fprintf(stderr, "ocp pin: wrong PIN, %d tries left\n", left);
    if (st != OCP_OK)
        rc = cli_fail("pin", st);
    else if (c->json)
        printf("{\"pin\":\"%s\"}\n", argv[1][0] == 'c' ? "changed"
                                                      : "unblocked");
    else
        printf("PIN %s\n", argv[1][0] == 'c' ? "changed" : "unblocked");
    cli_close(t, ks, s);
    return rc;
}
