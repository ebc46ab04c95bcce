/*
 * ocp info: what anyone may read (SELECT and the public data), and, with a
 * key store, whether the issuer's signature verifies.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/wire.h"
#include "output.h"

static void text(json_t *v)
{
    printf("card id    %s\nsuite      %s\nstate      %s\n",
           json_string_value(json_object_get(v, "card_id")),
           json_string_value(json_object_get(v, "suite")),
           json_string_value(json_object_get(v, "state")));
    if (json_object_get(v, "issue_date"))
        printf("issued     %s\nexpires    %s\nsignature  %s\n",
               json_string_value(json_object_get(v, "issue_date")),
               json_string_value(json_object_get(v, "expiry_date")),
               json_string_value(json_object_get(v, "signature")));
}

int cmd_info(struct cli *c, int argc, char **argv)
{
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_select_info info;
    ocp_public_info pub;
    const char *sig = "not checked (no --keys)";
    ocp_status st;
    int rc = EXIT_OK;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: ocp [-r READER] [--keys URI] info\n"
                   "Shows the card id, suite, state, key versions and dates "
                   "anyone may read,\nand checks the issuer signature when a "
                   "key store is given.\n");
            return EXIT_OK;
        }
        fprintf(stderr, "usage: ocp info\n");
        return EXIT_USAGE;
    }
    st = cli_connect(c, &t);
    if (st != OCP_OK)
        return cli_fail("connecting", st);
    st = ocp_select(t, &info);
    if (st != OCP_OK) {
        rc = cli_fail("selecting the application", st);
        goto out;
    }
    memset(&pub, 0, sizeof pub);
    if (info.state != OCP_STATE_BLANK) {
        st = ocp_read_public(t, &pub);
        if (st != OCP_OK) {
            rc = cli_fail("reading public data", st);
            goto out;
        }
        if (c->keys != NULL) {
            uint8_t der[256];
            size_t der_len = sizeof der;
            st = cli_keystore(c, &ks);
            if (st == OCP_OK)
                st = ks->ops->public_key(ks, pub.suite, der, &der_len);
            if (st != OCP_OK) {
                rc = cli_fail("opening the key store", st);
                goto out;
            }
            st = ocp_verify_public(&pub, der, der_len);
            sig = st == OCP_OK ? "valid" : "INVALID";
            if (st != OCP_OK)
                rc = EXIT_CARD;
        }
    }
    {
        json_t *v = json_object();
        json_object_set_new(v, "card_id", out_hex(info.card_id, 8));
        json_object_set_new(v, "suite",
                            json_string(out_suite_name(info.suite)));
        json_object_set_new(v, "state",
                            json_string(out_state_name(info.state)));
        if (info.state != OCP_STATE_BLANK) {
            json_object_set_new(v, "issue_date", out_date(pub.issue_date));
            json_object_set_new(v, "expiry_date", out_date(pub.expiry_date));
            json_object_set_new(v, "signature", json_string(sig));
        }
        out_print(c->json, v, text);
    }
out:
    ocp_keystore_close(ks);
    cli_close(t, NULL, NULL);
    return rc;
}
