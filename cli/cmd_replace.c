/*
 * ocp replace: a new card for a holder whose card is lost
 * (docs/BACKOFFICE.md section 6).
 *
 *   ocp --db URI --keys URI replace --card OLDID --name NAME --cert NUMBER
 *       --district CODE --pin PIN [--suite AES|SM] [--years N]
 *   ocp --db URI --keys URI replace --card OLDID --holder FILE.json
 *       [--catalogue FILE]
 *
 * The old card is gone, so nothing can be read from it: the holder record
 * is what the clerk enters from the certificate, and the entitlements are
 * what the registry knows of the old card (ocp_registry_known_entitlements),
 * windows kept and the remaining units carried over.  The blank card in the
 * reader is issued with them; then, in one registry transaction, the old
 * card is marked replaced by it and put on the registry's hotlist; then the
 * new card is recorded as `issue --db` records one.  A clerk with the issue
 * permission logs in first; the trail row is the new card's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/holder.h"
#include "ocp/wire.h"
#include "output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --db URI --keys URI replace --card OLDID "
               "--name NAME --cert NUMBER\n"
               "                 --district CODE --pin PIN "
               "[--suite AES|SM] [--years N]\n"
               "       ocp --db URI --keys URI replace --card OLDID "
               "--holder FILE.json [--catalogue FILE]\n"
               "Issues the blank card in the reader for the holder of the "
               "lost card OLDID, with\nthe entitlements the registry knows "
               "of it; OLDID is marked replaced and goes on\nthe registry's "
               "hotlist (publish it: ocp --db URI hotlist export --publish)."
               "\n");
}

static int parse_card_id(const char *hex, uint8_t id[8])
{
    unsigned i, v;
    if (strlen(hex) != 16 ||
        strspn(hex, "0123456789abcdefABCDEF") != 16)
        return -1;
    for (i = 0; i < 8; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        id[i] = (uint8_t)v;
    }
    return 0;
}

/* The period a day falls in, as the card counts it (docs/PROTOCOL.md 2.8:
 * months since 2000-01 plus one, or years since 1999). */
static uint16_t period_of(uint16_t day, uint8_t period)
{
    int y, m, d;
    ocp_date_to_civil(day, &y, &m, &d);
    if (period == OCP_PERIOD_YEAR)
        return (uint16_t)(y - 1999);
    if (period == OCP_PERIOD_MONTH)
        return (uint16_t)((y - 2000) * 12 + m);
    return 0;
}

/* The holder from a file, as `issue --holder` reads it; the file's own
 * entitlements are dropped: the old card's carry over instead. */
static int holder_from_file(const char *path, const char *catalogue,
                            uint16_t today, ocp_issue_request *req)
{
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    ocp_catalogue *cat = NULL;
    ocp_parse_error err;
    ocp_status st;
    if (catalogue == NULL) {
        fprintf(stderr, "ocp replace: the service catalogue is needed to "
                        "read the holder file: --catalogue FILE or "
                        "OCP_CATALOGUE\n");
        return EXIT_USAGE;
    }
    st = ocp_catalogue_load(catalogue, &cat, &err);
    if (st == OCP_OK)
        st = ocp_holder_file_load(path, cat, today, req, ents, &err);
    else
        path = catalogue; /* the error is the catalogue's */
    ocp_catalogue_free(cat);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp replace: %s:%d:%d: %s\n", path, err.line,
                err.column, err.message);
        return st == OCP_E_ARGS ? EXIT_USAGE : cli_fail("reading", st);
    }
    req->entitlements = NULL;
    req->n_entitlements = 0;
    return EXIT_OK;
}

static void text_replaced(json_t *v)
{
    size_t i;
    json_t *e;
    printf("new card %s (%s), active, for the lost card %s\n",
           json_string_value(json_object_get(v, "card_id")),
           json_string_value(json_object_get(v, "suite")),
           json_string_value(json_object_get(v, "replaces")));
    printf("carried over from the registry:%s\n",
           json_array_size(json_object_get(v, "entitlements")) ? ""
                                                               : " nothing");
    json_array_foreach(json_object_get(v, "entitlements"), i, e)
        out_text_entitlement(e);
    if (json_is_true(json_object_get(v, "old_card_replaced")))
        printf("%s is on the registry's hotlist: publish it "
               "(ocp --db URI hotlist export --publish) and let the "
               "terminals sync\n",
               json_string_value(json_object_get(v, "replaces")));
    else
        printf("%s is NOT marked replaced nor hotlisted (see the error "
               "above)\n",
               json_string_value(json_object_get(v, "replaces")));
}

int cmd_replace(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"card", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, 'n'},
        {"cert", required_argument, NULL, 'c'},
        {"district", required_argument, NULL, 'd'},
        {"pin", required_argument, NULL, 'p'},
        {"suite", required_argument, NULL, 's'},
        {"years", required_argument, NULL, 'y'},
        {"holder", required_argument, NULL, 'H'},
        {"catalogue", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    ocp_issue_request req;
    ocp_select_info info;
    ocp_entitlement *ents = NULL;
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_registry *r = NULL; /* the desk's (d.r) */
    struct desk d;
    const char *holder_file = NULL, *catalogue = getenv("OCP_CATALOGUE");
    uint8_t old_id[8];
    int have_old = 0, o, rc;
    long years = 10;
    size_t n = 0, i;
    uint16_t today;
    int64_t now = 0;
    ocp_status st;
    json_t *v, *list;
    char why[96], old_hex[17];

    memset(&req, 0, sizeof req);
    memset(&d, 0, sizeof d);
    req.suite = OCP_SUITE_AES;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int holder = cli_holder_option("ocp replace", o, optarg, &req);
        if (holder < 0)
            return EXIT_USAGE;
        if (holder > 0)
            continue;
        switch (o) {
        case 'o':
            if (parse_card_id(optarg, old_id) != 0) {
                fprintf(stderr, "ocp replace: --card takes the old card's "
                                "id, 16 hex digits\n");
                return EXIT_USAGE;
            }
            have_old = 1;
            break;
        case 'y':
            years = strtol(optarg, NULL, 10);
            break;
        case 'H':
            holder_file = optarg;
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
    if (!have_old || optind != argc ||
        (holder_file != NULL && req.holder.name[0])) {
        usage(stderr);
        return EXIT_USAGE;
    }
    /* Without a registry there is nothing to carry over and nowhere to
     * mark the old card: never fall back to the default file. */
    if (!c->db_given) {
        fprintf(stderr, "ocp replace: the registry is needed: --db URI or "
                        "OCP_DB\n");
        return EXIT_USAGE;
    }
    req.datetime = cli_now();
    today = (uint16_t)(req.datetime / 1440u);
    if (holder_file != NULL) {
        char pin[sizeof req.pin];
        memcpy(pin, req.pin, sizeof pin);
        rc = holder_from_file(holder_file, catalogue, today, &req);
        if (rc == EXIT_OK && pin[0])
            memcpy(req.pin, pin, sizeof pin);
        ocp_secret_wipe(pin, sizeof pin);
        if (rc != EXIT_OK)
            goto out;
        if (!req.pin[0] &&
            cli_read_pin("PIN chosen by the holder", req.pin) != 0) {
            rc = EXIT_USAGE;
            goto out;
        }
        req.datetime = cli_now();
    } else {
        if (!req.holder.name[0] ||
            strlen(req.holder.cert_no) != OCP_CERT_NO_LEN || !req.pin[0] ||
            years < 1 || years > 20) {
            usage(stderr);
            rc = EXIT_USAGE;
            goto out;
        }
        req.holder.category = (uint8_t)(req.holder.cert_no[18] - '0');
        req.holder.grade = (uint8_t)(req.holder.cert_no[19] - '0');
        req.issue_date = today;
        req.expiry_date = (uint16_t)(today + years * 365 + years / 4);
    }
    req.terminal_id = c->terminal_id;

    /* What the registry knows, before the blank card is touched: an
     * unknown or already replaced old card stops here, with nothing
     * issued. */
    if ((rc = desk_login(c, &d, "replace", "issue")) != 0)
        goto out;
    r = d.r;
    st = ocp_registry_known_entitlements(r, old_id, &ents, &n);
    if (st != OCP_OK) {
        rc = cli_registry_fail(r, "the old card", st);
        goto out;
    }
    /* A counter last seen in an earlier period starts full, as the old
     * card would have renewed it at its next use (and as renew --onto
     * does); balances and this period's counters carry over exactly.
     * The card numbers the slots in this order, which is the order
     * cli_record_issued records them in. */
    for (i = 0; i < n; i++) {
        if (ents[i].kind == OCP_KIND_COUNTER &&
            ents[i].period != OCP_PERIOD_NONE &&
            ents[i].period_id != period_of(today, ents[i].period))
            ents[i].remaining = ents[i].limit;
        ents[i].slot = 0;
        ents[i].period_id = 0;
    }
    req.entitlements = ents;
    req.n_entitlements = n;

    st = cli_keystore(c, &ks);
    if (st != OCP_OK) {
        rc = cli_fail("opening the key store", st);
        goto out;
    }
    st = cli_connect(c, &t);
    if (st != OCP_OK) {
        rc = cli_fail("connecting", st);
        goto out;
    }
    st = ocp_issue_card(t, ks, &req, &info);
    if (st != OCP_OK) {
        rc = cli_fail("issuing the new card", st);
        goto out;
    }

    st = ocp_registry_now(r, &now);
    if (st == OCP_OK) {
        snprintf(why, sizeof why, "lost, replaced by ");
        for (i = 0; i < 8; i++)
            snprintf(why + strlen(why), sizeof why - strlen(why), "%02X",
                     info.card_id[i]);
        st = ocp_registry_replace_card(r, old_id, info.card_id, why, now);
    }
    /* The new card exists whatever the registry said: record it either
     * way, so the audit knows it, and let the exit code tell the clerk
     * what did not happen. */
    rc = st == OCP_OK ? 0 : cli_registry_fail(r, "replacing the old card", st);
    {
        int recorded = cli_record_issued(c, &req, &info);
        if (rc == 0)
            rc = recorded;
    }

    for (i = 0; i < 8; i++)
        snprintf(old_hex + 2 * i, 3, "%02X", old_id[i]);
    v = json_object();
    json_object_set_new(v, "card_id", out_hex(info.card_id, 8));
    json_object_set_new(v, "replaces", json_string(old_hex));
    json_object_set_new(v, "suite", json_string(out_suite_name(req.suite)));
    json_object_set_new(v, "state", json_string("active"));
    json_object_set_new(v, "old_card_replaced", json_boolean(st == OCP_OK));
    list = json_array();
    for (i = 0; i < n; i++) {
        ents[i].slot = (uint8_t)(i + 1);
        json_array_append_new(list, out_entitlement(&ents[i]));
    }
    json_object_set_new(v, "entitlements", list);
    out_print(c->json, v, text_replaced);
    {
        json_t *detail = desk_issue_detail(&req);
        int trailed;
        json_object_set_new(detail, "replaces", json_string(old_hex));
        json_object_set_new(detail, "old_card_replaced",
                            json_boolean(st == OCP_OK));
        trailed = desk_record(c, &d, info.card_id, detail);
        if (rc == 0)
            rc = trailed;
    }
out:
    ocp_secret_wipe(req.pin, sizeof req.pin);
    free(ents);
    desk_close(&d);
    ocp_keystore_close(ks);
    cli_close(t, NULL, NULL);
    return rc;
}
