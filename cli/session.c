/* Opening a card session for a subcommand, and reading a PIN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ocp/holder.h"
#include "ocp/wire.h"

int cli_read_pin(const char *prompt, char out[9])
{
    const char *env = getenv("OCP_PIN");
    char line[64];
    size_t n;

    if (env != NULL) {
        if (strlen(env) > 8) {
            fprintf(stderr, "ocp: OCP_PIN is longer than 8 digits\n");
            return -1;
        }
        strcpy(out, env);
        return 0;
    }
    if (isatty(STDIN_FILENO)) {
        (void)cli_ask_hidden(prompt, line, sizeof line);
    } else if (fgets(line, sizeof line, stdin) == NULL) {
        line[0] = '\0';
    }
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n < 4 || n > 8 || strspn(line, "0123456789") != n) {
        fprintf(stderr, "ocp: a PIN has 4 to 8 digits\n");
        memset(line, 0, sizeof line);
        return -1;
    }
    strcpy(out, line);
    memset(line, 0, sizeof line);
    return 0;
}

int cli_open(struct cli *c, uint8_t role, ocp_transport **t,
             ocp_keystore **ks, ocp_session **s, ocp_select_info *info)
{
    ocp_select_info local;
    ocp_status st;
    *t = NULL;
    *ks = NULL;
    *s = NULL;
    if (info == NULL)
        info = &local;
    st = cli_keystore(c, ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);
    st = cli_connect(c, t);
    if (st != OCP_OK) {
        cli_close(NULL, *ks, NULL);
        *ks = NULL;
        return cli_fail("connecting", st);
    }
    st = ocp_open_role(*t, *ks, role, c->terminal_id, cli_now(), info, NULL,
                       s);
    if (st == OCP_OK && role == OCP_ROLE_KIOSK) {
        char pin[9];
        int left = -1;
        if (c->pin[0])
            strcpy(pin, c->pin);
        else if (cli_read_pin("holder's PIN", pin) != 0) {
            st = OCP_E_ARGS;
        } else {
            st = ocp_verify_pin(*s, pin, &left);
            ocp_secret_wipe(pin, sizeof pin);
            if (st == OCP_E_PIN_WRONG)
                fprintf(stderr, "ocp: wrong PIN, %d tries left\n", left);
        }
    }
    if (st != OCP_OK) {
        cli_close(*t, *ks, *s);
        *t = NULL;
        *ks = NULL;
        *s = NULL;
        return cli_fail("opening a session", st);
    }
    return EXIT_OK;
}

void cli_close(ocp_transport *t, ocp_keystore *ks, ocp_session *s)
{
    ocp_session_close(s);
    ocp_keystore_close(ks);
    if (t) {
        (void)t->ops->end(t);
        t->ops->close(t);
    }
}

int cli_parse_date(const char *s, uint16_t *day)
{
    return ocp_date_parse(s, day) == 0 ? 0 : -1;
}
