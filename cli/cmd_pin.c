/*
 * ocp pin: the holder changes the PIN (kiosk role, old PIN first), or the
 * issuer unblocks it with a new one.
 *
 *   ocp --keys URI pin change      (old then new PIN asked)
 *   ocp --keys URI pin unblock [--approval N]   (new PIN asked)
 * PINs come from the terminal without echo, or OCP_PIN / OCP_NEW_PIN.
 * With a registry a clerk logs in (permission pin), and an unblock waits
 * for a second clerk's approval (clerk.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
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

static int usage(int help)
{
    FILE *f = help ? stdout : stderr;
    fprintf(f, "usage: ocp --keys URI pin change|unblock [--approval N]\n"
               "With --db or OCP_DB: --clerk LOGIN (permission pin); an "
               "unblock needs a\nsecond clerk's --approval N.\n");
    return help ? EXIT_OK : EXIT_USAGE;
}

int cmd_pin(struct cli *c, int argc, char **argv)
{
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_select_info info;
    char old_pin[9] = "", fresh[9] = "";
    int rc, left = -1, unblock;
    int64_t approval = 0;
    struct desk d;
    ocp_status st;

    if (argc == 2 && strcmp(argv[1], "--help") == 0)
        return usage(1);
    if ((argc != 2 && argc != 4) || (strcmp(argv[1], "change") != 0 &&
                                     strcmp(argv[1], "unblock") != 0))
        return usage(0);
    unblock = strcmp(argv[1], "unblock") == 0;
    if (argc == 4) {
        if (strcmp(argv[2], "--approval") != 0 || !unblock)
            return usage(0);
        if (cli_parse_approval("ocp pin", argv[3], &approval) != 0)
            return EXIT_USAGE;
        if (!c->db_given) {
            fprintf(stderr, "ocp pin: --approval is for the registry (--db "
                            "or OCP_DB)\n");
            return EXIT_USAGE;
        }
    }
    rc = desk_login(c, &d, unblock ? "pin-unblock" : "pin-change", "pin");
    if (rc != EXIT_OK)
        return rc;
    if (unblock) {
        /* The new PIN is asked for only when it will be used: not on the
         * run that merely asks a second clerk. */
        if ((d.r == NULL || approval) && new_pin(fresh) != 0) {
            desk_close(&d);
            return EXIT_USAGE;
        }
        rc = cli_open(c, OCP_ROLE_ISSUER, &t, &ks, &s, &info);
        if (rc == EXIT_OK &&
            (rc = desk_approval(c, &d, info.card_id, 0, approval)) != 0)
            cli_close(t, ks, s);
        if (rc == EXIT_OK && !fresh[0] && new_pin(fresh) != 0) {
            cli_close(t, ks, s);
            rc = EXIT_USAGE;
        }
        if (rc != EXIT_OK) {
            memset(fresh, 0, sizeof fresh);
            desk_close(&d);
            return rc;
        }
        st = ocp_unblock_pin(s, fresh);
    } else {
        /* The kiosk session verifies the old PIN (cli_open asks for it). */
        if (cli_read_pin("current PIN", old_pin) != 0 || new_pin(fresh) != 0) {
            ocp_secret_wipe(old_pin, sizeof old_pin);
            desk_close(&d);
            return EXIT_USAGE;
        }
        strcpy(c->pin, old_pin);
        rc = cli_open(c, OCP_ROLE_KIOSK, &t, &ks, &s, &info);
        if (rc != EXIT_OK) {
            ocp_secret_wipe(old_pin, sizeof old_pin);
            memset(fresh, 0, sizeof fresh);
            ocp_secret_wipe(c->pin, sizeof c->pin);
            desk_close(&d);
            return rc;
        }
        st = ocp_change_pin(s, old_pin, fresh, &left);
    }
    ocp_secret_wipe(old_pin, sizeof old_pin);
    memset(fresh, 0, sizeof fresh);
    ocp_secret_wipe(c->pin, sizeof c->pin);
    if (st == OCP_E_PIN_WRONG)
        fprintf(stderr, "ocp pin: wrong PIN, %d tries left\n", left);
    if (st != OCP_OK) {
        rc = cli_fail("pin", st);
    } else {
        if (c->json)
            printf("{\"pin\":\"%s\"}\n", unblock ? "unblocked" : "changed");
        else
            printf("PIN %s\n", unblock ? "unblocked" : "changed");
        /* The detail says that it happened, never the PIN. */
        rc = desk_record(c, &d, info.card_id, json_object());
    }
    cli_close(t, ks, s);
    desk_close(&d);
    return rc;
}
