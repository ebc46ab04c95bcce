/*
 * ocp grant: the issuer adds, renews or revokes entitlements, or credits a
 * counter or a balance.
 *
 *   ocp --keys URI grant --entitlement SPEC [--from DATE] [--to DATE]
 *   ocp --keys URI grant --revoke SLOT
 *   ocp --keys URI grant --credit SLOT:AMOUNT [--approval N]
 *
 * With a registry a clerk logs in first (grant, or credit for a credit),
 * and a credit above the registry's threshold waits for a second clerk
 * (clerk.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/wire.h"
#include "output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --keys URI grant --entitlement SPEC [--from DATE] "
               "[--to DATE]\n"
               "       ocp --keys URI grant --revoke SLOT\n"
               "       ocp --keys URI grant --credit SLOT:AMOUNT "
               "[--approval N]\n"
               "SPEC: SERVICE:DOMAIN:pass | SERVICE:DOMAIN:counter:N[:month|"
               "year] | SERVICE:DOMAIN:balance:FEN\n"
               "DATE: YYYY-MM-DD (default: today to the card's expiry)\n"
               "With --db or OCP_DB: --clerk LOGIN (permission grant, or "
               "credit); a credit\nabove the registry's threshold needs "
               "a second clerk's --approval N.\n");
}

int cmd_grant(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"entitlement", required_argument, NULL, 'e'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"revoke", required_argument, NULL, 'r'},
        {"credit", required_argument, NULL, 'c'},
        {"approval", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *spec = NULL, *from = NULL, *to = NULL, *credit = NULL;
    long revoke = 0;
    unsigned long amount = 0;
    int64_t approval = 0;
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_select_info info;
    ocp_card_status_info status;
    ocp_entitlement e;
    ocp_status st = OCP_OK;
    struct desk d;
    json_t *detail;
    uint8_t slot = 0;
    int o, rc, ops;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'e':
            spec = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'r':
            revoke = strtol(optarg, NULL, 10);
            break;
        case 'c':
            credit = optarg;
            break;
        case 'a':
            if (cli_parse_approval("ocp grant", optarg, &approval) != 0)
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    ops = (spec != NULL) + (revoke != 0) + (credit != NULL);
    if (ops != 1 || optind != argc || revoke < 0 || revoke > 16) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (credit) {
        long sl;
        char *end;
        sl = strtol(credit, &end, 10);
        if (*end == ':')
            amount = strtoul(end + 1, &end, 10);
        if (*end || sl < 1 || sl > 16 || amount == 0 ||
            amount > 0xFFFFFFFFul) {
            usage(stderr);
            return EXIT_USAGE;
        }
        slot = (uint8_t)sl;
    }
    /* Only a credit can need a second clerk. */
    if (approval && (!credit || !c->db_given)) {
        fprintf(stderr, "ocp grant: --approval is for a credit, with the "
                        "registry (--db or OCP_DB)\n");
        return EXIT_USAGE;
    }
    rc = desk_login(c, &d, spec ? "grant" : revoke ? "revoke" : "credit",
                    credit ? "credit" : "grant");
    if (rc != EXIT_OK)
        return rc;
    rc = cli_open(c, OCP_ROLE_ISSUER, &t, &ks, &s, &info);
    if (rc != EXIT_OK) {
        desk_close(&d);
        return rc;
    }
    if (credit &&
        (rc = desk_approval(c, &d, info.card_id, (int64_t)amount,
                            approval)) != 0) {
        cli_close(t, ks, s);
        desk_close(&d);
        return rc;
    }
    detail = json_object();
    if (spec) {
        uint16_t d_from, d_to;
        st = ocp_read_status(s, &status);
        d_from = (uint16_t)(cli_now() / 1440u);
        d_to = status.expiry_date;
        if (st == OCP_OK &&
            ((from && cli_parse_date(from, &d_from) != 0) ||
             (to && cli_parse_date(to, &d_to) != 0) ||
             cli_parse_entitlement(spec, d_from, d_to, &e) != 0)) {
            fprintf(stderr, "ocp grant: bad entitlement or date\n");
            usage(stderr);
            cli_close(t, ks, s);
            desk_close(&d);
            json_decref(detail);
            return EXIT_USAGE;
        }
        if (st == OCP_OK)
            st = ocp_grant(s, &e, &slot);
        e.slot = slot;
        if (st == OCP_OK)
            json_object_set_new(detail, "entitlement", out_entitlement(&e));
    } else if (revoke) {
        slot = (uint8_t)revoke;
        st = ocp_revoke(s, slot);
    } else {
        st = ocp_credit(s, slot, (uint32_t)amount);
        json_object_set_new(detail, "amount", json_integer((json_int_t)amount));
    }
    json_object_set_new(detail, "slot", json_integer(slot));
    if (st != OCP_OK) {
        rc = cli_fail("grant", st);
        json_decref(detail);
    } else {
        if (c->json) {
            json_t *v = json_object();
            json_object_set_new(v, "slot", json_integer(slot));
            json_object_set_new(v, "operation",
                                json_string(spec     ? "grant"
                                            : revoke ? "revoke"
                                                     : "credit"));
            out_print(1, v, NULL);
        } else {
            printf("%s: slot %u\n",
                   spec ? "granted" : revoke ? "revoked" : "credited", slot);
        }
        rc = desk_record(c, &d, info.card_id, detail);
    }
    cli_close(t, ks, s);
    desk_close(&d);
    return rc;
}
