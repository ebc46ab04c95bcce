/*
 * ocp issue: personalise a blank card for one holder.
 *
 *   ocp --keys dev:DIR issue --name NAME --cert NUMBER --district CODE
 *       --pin PIN [--suite AES|SM] [--years N] [--entitlement SPEC]...
 *
 * SPEC is SERVICE:DOMAIN:KIND[:AMOUNT[:PERIOD]], for example
 * 0x0101:transit:pass, 0x0201:medical:counter:2:month,
 * 0x0401:assistive:balance:500000.  The category and grade come from the
 * last two digits of the certificate number.
 *
 * With --db URI (or OCP_DB) a clerk with the issue permission logs in
 * first, and the issued card is also recorded in the registry, for the
 * audit (docs/BACKOFFICE.md), and in the desk trail.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/holder.h"
#include "ocp/wire.h"
#include "issue_batch.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --keys URI issue --name NAME --cert NUMBER "
               "--district CODE --pin PIN\n"
               "                 [--suite AES|SM] [--years N] "
               "[--entitlement SPEC]...\n"
               "       ocp --keys URI issue --holder FILE.json "
               "[--catalogue FILE]\n"
               "       ocp --keys URI issue --batch FILE.csv "
               "[--catalogue FILE]\n"
               "SPEC: SERVICE:DOMAIN:pass | SERVICE:DOMAIN:counter:N[:month|year]"
               " | SERVICE:DOMAIN:balance:FEN\n"
               "The catalogue defaults to $OCP_CATALOGUE; PINs missing from "
               "the files come\nfrom OCP_PIN or are asked for each card.\n");
}

int cmd_issue(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"cert", required_argument, NULL, 'c'},
        {"district", required_argument, NULL, 'd'},
        {"pin", required_argument, NULL, 'p'},
        {"suite", required_argument, NULL, 's'},
        {"years", required_argument, NULL, 'y'},
        {"entitlement", required_argument, NULL, 'e'},
        {"holder", required_argument, NULL, 'H'},
        {"batch", required_argument, NULL, 'B'},
        {"catalogue", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    const char *specs[OCP_MAX_ENTITLEMENTS];
    size_t n_specs = 0, i;
    ocp_issue_request req;
    ocp_select_info info;
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_status st;
    long years = 10;
    const char *holder_file = NULL, *batch_file = NULL;
    const char *catalogue = getenv("OCP_CATALOGUE");
    int o, rc = EXIT_OK;
    size_t cert_len;
    struct desk d;

    memset(&req, 0, sizeof req);
    req.suite = OCP_SUITE_AES;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int holder = cli_holder_option("ocp issue", o, optarg, &req);
        if (holder < 0)
            return EXIT_USAGE;
        if (holder > 0)
            continue;
        switch (o) {
        case 'y':
            years = strtol(optarg, NULL, 10);
            break;
        case 'e':
            if (n_specs == OCP_MAX_ENTITLEMENTS) {
                fprintf(stderr, "ocp issue: at most %u entitlements\n",
                        OCP_MAX_ENTITLEMENTS);
                return EXIT_USAGE;
            }
            specs[n_specs++] = optarg;
            break;
        case 'H':
            holder_file = optarg;
            break;
        case 'B':
            batch_file = optarg;
            break;
        case 'C':
            catalogue = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (holder_file || batch_file) {
        if ((holder_file && batch_file) || req.holder.name[0] || n_specs ||
            optind != argc) {
            fprintf(stderr, "ocp issue: --holder, --batch and the holder "
                            "options do not mix\n");
            return EXIT_USAGE;
        }
        if (catalogue == NULL) {
            fprintf(stderr, "ocp issue: the service catalogue is needed: "
                            "--catalogue FILE or OCP_CATALOGUE\n");
            return EXIT_USAGE;
        }
        if ((rc = desk_login(c, &d, "issue", "issue")) != EXIT_OK)
            return rc;
        rc = holder_file ? issue_holder_file(c, &d, holder_file, catalogue,
                                             req.pin)
                         : issue_batch(c, &d, batch_file, catalogue);
        desk_close(&d);
        return rc;
    }
    cert_len = strlen(req.holder.cert_no);
    if (!req.holder.name[0] || cert_len != OCP_CERT_NO_LEN || !req.pin[0] ||
        years < 1 || years > 20 || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    req.holder.category = (uint8_t)(req.holder.cert_no[18] - '0');
    req.holder.grade = (uint8_t)(req.holder.cert_no[19] - '0');
    req.datetime = cli_now();
    req.issue_date = (uint16_t)(req.datetime / 1440u);
    req.expiry_date = (uint16_t)(req.issue_date + years * 365 + years / 4);
    req.terminal_id = 0xD0000001u;
    for (i = 0; i < n_specs; i++) {
        if (cli_parse_entitlement(specs[i], req.issue_date, req.expiry_date,
                              &ents[i]) != 0) {
            fprintf(stderr, "ocp issue: bad entitlement '%s'\n", specs[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    req.entitlements = ents;
    req.n_entitlements = n_specs;

    if ((rc = desk_login(c, &d, "issue", "issue")) != EXIT_OK)
        return rc;
    st = cli_keystore(c, &ks);
    if (st != OCP_OK) {
        desk_close(&d);
        return cli_fail("opening the key store", st);
    }
    st = cli_connect(c, &t);
    if (st != OCP_OK) {
        rc = cli_fail("connecting", st);
        goto out;
    }
    st = ocp_issue_card(t, ks, &req, &info);
    if (st != OCP_OK) {
        rc = cli_fail("issuing the card", st);
        goto out;
    }
    /* The card exists now whatever the registry says: report it either
     * way, and let the exit code say that the registry lacks it. */
    rc = cli_record_issued(c, &req, &info);
    if (c->json) {
        printf("{\"card_id\":\"");
        cli_hex(stdout, info.card_id, 8);
        printf("\",\"state\":\"active\",\"entitlements\":%zu}\n", n_specs);
    } else {
        printf("issued card ");
        cli_hex(stdout, info.card_id, 8);
        printf(" (%s, %zu entitlements), active\n",
               req.suite == OCP_SUITE_SM ? "SM" : "AES", n_specs);
    }
    {
        int trailed = desk_record(c, &d, info.card_id,
                                  desk_issue_detail(&req));
        if (rc == EXIT_OK)
            rc = trailed;
    }
out:
    ocp_secret_wipe(req.pin, sizeof req.pin);
    ocp_keystore_close(ks);
    cli_close(t, NULL, NULL);
    desk_close(&d);
    return rc;
}
