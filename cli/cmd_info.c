/*
 * ocp info: what anyone may read (SELECT and the public data), and, with a
 * key store, whether the issuer's signature verifies.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/wire.h"

static const char *state_name(uint8_t s)
{
    static const char *const names[] = {"blank", "personalised", "active",
                                        "blocked", "terminated"};
    return s <= OCP_STATE_TERMINATED ? names[s] : "unknown";
}

static const char *suite_name(uint8_t s)
{
    return s == OCP_SUITE_AES ? "AES" : s == OCP_SUITE_SM ? "SM" : "none";
}

/* Civil date of a day count since 2000-01-01. */
static void day_string(uint16_t day, char out[16])
{
    long z = (long)day + 730425, era = z / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    snprintf(out, 16, "%04ld-%02ld-%02ld", y % 10000, m % 100, d % 100);
}

int cmd_info(struct cli *c, int argc, char **argv)
{
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_select_info info;
    ocp_public_info pub;
    const char *sig = "not checked (no --keys)";
    char issue[16], expiry[16];
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
    day_string(pub.issue_date, issue);
    day_string(pub.expiry_date, expiry);
    if (c->json) {
        printf("{\"card_id\":\"");
        cli_hex(stdout, info.card_id, 8);
        printf("\",\"suite\":\"%s\",\"state\":\"%s\"", suite_name(info.suite),
               state_name(info.state));
        if (info.state != OCP_STATE_BLANK)
            printf(",\"issue_date\":\"%s\",\"expiry_date\":\"%s\","
                   "\"signature\":\"%s\"",
                   issue, expiry, sig);
        printf("}\n");
    } else {
        printf("card id    ");
        cli_hex(stdout, info.card_id, 8);
        printf("\nsuite      %s\nstate      %s\n", suite_name(info.suite),
               state_name(info.state));
        if (info.state != OCP_STATE_BLANK)
            printf("issued     %s\nexpires    %s\nsignature  %s\n", issue,
                   expiry, sig);
    }
out:
    ocp_keystore_close(ks);
    cli_close(t, NULL, NULL);
    return rc;
}
