/*
 * ocp block, unblock, terminate: the issuer moves a card along its life
 * cycle (docs/PROTOCOL.md 2.4).  Terminate asks for --yes: it is final.
 * With a registry a clerk with the lifecycle permission logs in first.
 */
#include <stdio.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/wire.h"
#include "output.h"

static int set_state(struct cli *c, int argc, char **argv, const char *cmd,
                     uint8_t target, int needs_yes)
{
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_select_info info;
    int rc, yes = 0, i;
    ocp_status st;
    struct desk d;
    json_t *v;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: ocp --keys URI %s%s\n", cmd,
                   needs_yes ? " --yes" : "");
            return EXIT_OK;
        }
        if (needs_yes && strcmp(argv[i], "--yes") == 0) {
            yes = 1;
            continue;
        }
        fprintf(stderr, "usage: ocp --keys URI %s%s\n", cmd,
                needs_yes ? " --yes" : "");
        return EXIT_USAGE;
    }
    if (needs_yes && !yes) {
        fprintf(stderr, "ocp %s: this cannot be undone; add --yes\n", cmd);
        return EXIT_USAGE;
    }
    rc = desk_login(c, &d, cmd, "lifecycle");
    if (rc != EXIT_OK)
        return rc;
    rc = cli_open(c, OCP_ROLE_ISSUER, &t, &ks, &s, &info);
    if (rc != EXIT_OK) {
        desk_close(&d);
        return rc;
    }
    st = ocp_set_state(s, target);
    if (st == OCP_E_CARD_STATUS) {
        fprintf(stderr, "ocp %s: a %s card cannot be made %s\n", cmd,
                out_state_name(info.state), out_state_name(target));
        rc = EXIT_CARD;
    } else if (st != OCP_OK) {
        rc = cli_fail(cmd, st);
    } else {
        v = json_object();
        json_object_set_new(v, "card_id", out_hex(info.card_id, 8));
        json_object_set_new(v, "state", json_string(out_state_name(target)));
        if (c->json)
            out_print(1, v, NULL);
        else {
            printf("card %s is now %s\n",
                   json_string_value(json_object_get(v, "card_id")),
                   out_state_name(target));
            json_decref(v);
        }
        rc = cli_record_card_change(c, info.card_id, out_state_name(target),
                                    0);
        {
            int trail = desk_record(c, &d, info.card_id,
                                    json_pack("{s:s,s:s}", "from",
                                              out_state_name(info.state),
                                              "to", out_state_name(target)));
            if (rc == EXIT_OK)
                rc = trail;
        }
    }
    cli_close(t, ks, s);
    desk_close(&d);
    return rc;
}

int cmd_block(struct cli *c, int argc, char **argv)
{
    return set_state(c, argc, argv, "block", OCP_STATE_BLOCKED, 0);
}

int cmd_unblock(struct cli *c, int argc, char **argv)
{
    return set_state(c, argc, argv, "unblock", OCP_STATE_ACTIVE, 0);
}

int cmd_terminate(struct cli *c, int argc, char **argv)
{
    return set_state(c, argc, argv, "terminate", OCP_STATE_TERMINATED, 1);
}
