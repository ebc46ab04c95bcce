/*
 * ocp hotlist: the issuer keeps a list of card ids to stop and exports it
 * as a signed hotlist file for the terminals (docs/HOTLIST.md).
 *
 *   ocp hotlist add CARDID [--suite AES|SM] [--key-version N] --list FILE
 *   ocp hotlist remove CARDID --list FILE
 *   ocp --keys URI hotlist export --list FILE --out HOTLIST --version N
 *   ocp --keys URI hotlist verify HOTLIST [--max-age DAYS]
 *
 * The list is plain text, one card per line: CARDID SUITE KEY-VERSION.
 * With --db (or OCP_DB) and no --list, the registry is the list: add and
 * remove change its hotlist (add [--reason TEXT]; the card must be in the
 * registry, which knows its suite and issuer key version), and export
 * [--publish] signs what it holds and, with --publish, publishes the file
 * for the terminals' sync.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/registry.h"
#include "ocp/hotlist.h"
#include "ocp/wire.h"
#include "output.h"

#define MAX_LISTED 2000000u

static int parse_id(const char *hex, uint8_t id[8])
{
    unsigned i, v;
    if (strlen(hex) != 16)
        return -1;
    for (i = 0; i < 8; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
            strspn(hex + 2 * i, "0123456789abcdefABCDEF") < 2)
            return -1;
        id[i] = (uint8_t)v;
    }
    return 0;
}

/* Reads the list file; a missing file is an empty list. */
static int load_list(const char *path, ocp_hotlist_card **cards, size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t cap = 0, lineno = 0;
    *cards = NULL;
    *n = 0;
    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    while (fgets(line, sizeof line, f)) {
        char id[64], suite[16];
        unsigned version;
        ocp_hotlist_card c;
        lineno++;
        if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (sscanf(line, "%63s %15s %u", id, suite, &version) != 3 ||
            parse_id(id, c.card_id) != 0 || version < 1 || version > 254 ||
            (strcmp(suite, "AES") != 0 && strcmp(suite, "SM") != 0)) {
            fprintf(stderr, "ocp hotlist: %s:%zu: expected CARDID AES|SM "
                            "KEY-VERSION\n",
                    path, lineno);
            fclose(f);
            free(*cards);
            return -1;
        }
        c.suite = suite[0] == 'A' ? OCP_SUITE_AES : OCP_SUITE_SM;
        c.issuer_key_version = (uint8_t)version;
        if (*n == cap) {
            ocp_hotlist_card *grown;
            cap = cap ? cap * 2 : 64;
            if (cap > MAX_LISTED ||
                (grown = realloc(*cards, cap * sizeof **cards)) == NULL) {
                fclose(f);
                free(*cards);
                return -1;
            }
            *cards = grown;
        }
        (*cards)[(*n)++] = c;
    }
    fclose(f);
    return 0;
}

static int save_list(const char *path, const ocp_hotlist_card *cards,
                     size_t n)
{
    char tmp[4096];
    FILE *f;
    size_t i;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp ||
        (f = fopen(tmp, "w")) == NULL)
        return -1;
    fprintf(f, "# One-Card Pass hotlist: CARDID SUITE ISSUER-KEY-VERSION\n");
    for (i = 0; i < n; i++) {
        cli_hex(f, cards[i].card_id, 8);
        fprintf(f, " %s %u\n", cards[i].suite == OCP_SUITE_SM ? "SM" : "AES",
                cards[i].issuer_key_version);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ocp hotlist add CARDID [--suite AES|SM] [--key-version N] "
            "--list FILE\n"
            "       ocp hotlist remove CARDID --list FILE\n"
            "       ocp --keys URI hotlist export --list FILE --out HOTLIST "
            "--version N\n"
            "       ocp --keys URI hotlist verify HOTLIST [--max-age DAYS]\n"
            "With --db URI (or OCP_DB) and no --list, the registry holds the "
            "list:\n"
            "       ocp --db URI hotlist add CARDID [--reason TEXT]\n"
            "       ocp --db URI hotlist remove CARDID\n"
            "       ocp --db URI --keys URI hotlist export --out HOTLIST "
            "--version N [--publish]\n");
}

static int issuer_der(struct cli *c, uint8_t suite, uint8_t *der,
                      size_t *len, ocp_keystore **ks)
{
    ocp_status st = cli_keystore(c, ks);
    if (st == OCP_OK)
        st = (*ks)->ops->public_key(*ks, suite, der, len);
    return st == OCP_OK ? 0 : cli_fail("issuer key", st);
}

/* The registry as the list: the back office keeps the hotlist beside the
 * cards it knows, and the signed file goes to the terminals through the
 * sync. */
static int registry_hotlist(struct cli *c, const char *verb, int argc,
                            char **argv, const char *reason, const char *outp,
                            unsigned long version, uint8_t suite, int publish)
{
    ocp_registry *r = NULL;
    ocp_hotlist_card *cards = NULL;
    ocp_keystore *ks = NULL;
    uint8_t id[8];
    size_t n = 0;
    int64_t now = 0;
    ocp_status st;
    int rc;
    if (strcmp(verb, "export") == 0
            ? (outp == NULL || version == 0 || version > 0xFFFFFFFFul ||
               optind != argc)
            : (optind != argc - 1 || parse_id(argv[optind], id) != 0)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((rc = cli_registry_open_admin(c, &r)) != 0)
        return rc;
    st = ocp_registry_now(r, &now);
    if (st == OCP_OK && verb[0] == 'a')
        /* Who: the clerk logged in, else (a registry not yet given a
         * clerk) the desk. */
        st = ocp_registry_hotlist_add(r, id, reason,
                                      c->clerk != NULL ? c->clerk : "desk",
                                      now);
    else if (st == OCP_OK && verb[0] == 'r')
        st = ocp_registry_hotlist_remove(r, id, now);
    else if (st == OCP_OK) {
        st = ocp_registry_hotlist_cards(r, &cards, &n);
        if (st == OCP_OK && (st = cli_keystore(c, &ks)) != OCP_OK) {
            rc = cli_fail("opening the key store", st);
            goto out;
        }
        if (st == OCP_OK &&
            (st = ocp_hotlist_write(outp, ks, (uint32_t)version, cli_now(),
                                    suite, cards, n)) != OCP_OK) {
            rc = cli_fail("writing the hotlist", st);
            goto out;
        }
        if (st == OCP_OK && publish) {
            FILE *f = fopen(outp, "rb");
            uint8_t *body = NULL;
            long len = -1;
            if (f != NULL && fseek(f, 0, SEEK_END) == 0 &&
                (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
                (body = malloc((size_t)len + 1)) != NULL &&
                fread(body, 1, (size_t)len, f) == (size_t)len)
                st = ocp_registry_publish(r, "hotlist", (uint32_t)version,
                                          body, (size_t)len, now);
            else
                st = OCP_E_IO;
            if (f != NULL)
                fclose(f);
            free(body);
        }
    }
    if (st != OCP_OK) {
        rc = cli_registry_fail(r, "the registry's hotlist", st);
        goto out;
    }
    if (verb[0] == 'e' && c->json)
        printf("{\"version\":%lu,\"cards\":%zu,\"published\":%s}\n",
               version, n, publish ? "true" : "false");
    else if (verb[0] == 'e' && !c->quiet)
        printf("hotlist version %lu from the registry: %zu cards, signed%s\n",
               version, n, publish ? ", published" : "");
    else if (!c->quiet)
        printf("%s\n", verb[0] == 'a' ? "on the registry's hotlist"
                                      : "off the registry's hotlist");
    if (verb[0] == 'a')
        rc = cli_admin_record(c, r, "hotlist-add", id,
                              json_pack("{s:s}", "reason", reason));
    else if (verb[0] == 'r')
        rc = cli_admin_record(c, r, "hotlist-remove", id, json_object());
    else
        rc = cli_admin_record(c, r, "hotlist-export", NULL,
                              json_pack("{s:I,s:I,s:b}", "version",
                                        (json_int_t)version, "cards",
                                        (json_int_t)n, "published", publish));
out:
    free(cards);
    ocp_keystore_close(ks);
    ocp_registry_close(r);
    return rc;
}

int cmd_hotlist(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"list", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'},
        {"version", required_argument, NULL, 'n'},
        {"suite", required_argument, NULL, 's'},
        {"key-version", required_argument, NULL, 'k'},
        {"max-age", required_argument, NULL, 'a'},
        {"reason", required_argument, NULL, 'r'},
        {"publish", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *list = NULL, *outp = NULL, *verb, *reason = "stopped";
    int publish = 0;
    unsigned long version = 0, key_version = 1, max_age = 7;
    uint8_t suite = OCP_SUITE_AES;
    ocp_hotlist_card *cards = NULL;
    ocp_keystore *ks = NULL;
    size_t n = 0, i;
    int o, rc = EXIT_OK;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    verb = argv[1];
    if (strcmp(verb, "--help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    /* The verb is the program name of the options that follow it. */
    argc--;
    argv++;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            list = optarg;
            break;
        case 'o':
            outp = optarg;
            break;
        case 'n':
            version = strtoul(optarg, NULL, 10);
            break;
        case 's':
            suite = strcmp(optarg, "SM") == 0 ? OCP_SUITE_SM : OCP_SUITE_AES;
            break;
        case 'k':
            key_version = strtoul(optarg, NULL, 10);
            break;
        case 'a':
            max_age = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            reason = optarg;
            break;
        case 'p':
            publish = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }

    if (list == NULL && c->db_given &&
        (strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0 ||
         strcmp(verb, "export") == 0))
        return registry_hotlist(c, verb, argc, argv, reason, outp, version,
                                suite, publish);

    if (strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0) {
        ocp_hotlist_card card;
        size_t found = (size_t)-1;
        if (list == NULL || optind != argc - 1 ||
            parse_id(argv[optind], card.card_id) != 0 || key_version < 1 ||
            key_version > 254) {
            usage(stderr);
            return EXIT_USAGE;
        }
        card.suite = suite;
        card.issuer_key_version = (uint8_t)key_version;
        if (load_list(list, &cards, &n) != 0) {
            fprintf(stderr, "ocp hotlist: cannot read %s\n", list);
            return EXIT_FAILURE_;
        }
        for (i = 0; i < n; i++)
            if (memcmp(cards[i].card_id, card.card_id, 8) == 0)
                found = i;
        if (verb[0] == 'a' && found == (size_t)-1) {
            ocp_hotlist_card *grown = realloc(cards, (n + 1) * sizeof *cards);
            if (grown == NULL) {
                free(cards);
                return EXIT_FAILURE_;
            }
            cards = grown;
            cards[n++] = card;
        } else if (verb[0] == 'r' && found != (size_t)-1) {
            cards[found] = cards[--n];
        }
        if (save_list(list, cards, n) != 0) {
            fprintf(stderr, "ocp hotlist: cannot write %s\n", list);
            rc = EXIT_FAILURE_;
        } else if (!c->quiet) {
            printf("%zu card%s on the list\n", n, n == 1 ? "" : "s");
        }
        free(cards);
        return rc;
    }

    if (strcmp(verb, "export") == 0) {
        ocp_status st;
        if (list == NULL || outp == NULL || version == 0 ||
            version > 0xFFFFFFFFul || optind != argc) {
            usage(stderr);
            return EXIT_USAGE;
        }
        if (load_list(list, &cards, &n) != 0)
            return EXIT_FAILURE_;
        st = cli_keystore(c, &ks);
        if (st == OCP_OK)
            st = ocp_hotlist_write(outp, ks, (uint32_t)version, cli_now(),
                                   suite, cards, n);
        if (st != OCP_OK)
            rc = cli_fail("writing the hotlist", st);
        else if (c->json)
            printf("{\"version\":%lu,\"cards\":%zu}\n", version, n);
        else
            printf("hotlist version %lu: %zu cards, signed\n", version, n);
        free(cards);
        ocp_keystore_close(ks);
        return rc;
    }

    if (strcmp(verb, "verify") == 0) {
        uint8_t der[256];
        size_t der_len = sizeof der;
        ocp_hotlist *h = NULL;
        ocp_status st = OCP_E_SIGNATURE;
        uint8_t s;
        if (optind != argc - 1) {
            usage(stderr);
            return EXIT_USAGE;
        }
        /* Either issuer key may have signed it: try the one the file
         * names first is not possible without parsing; try both. */
        for (s = OCP_SUITE_AES; s <= OCP_SUITE_SM && st != OCP_OK; s++) {
            der_len = sizeof der;
            ocp_keystore_close(ks);
            ks = NULL;
            if (issuer_der(c, s, der, &der_len, &ks) != 0)
                continue;
            st = ocp_hotlist_open(argv[optind], der, der_len, &h);
        }
        ocp_keystore_close(ks);
        if (st != OCP_OK) {
            fprintf(stderr, "ocp hotlist: %s: %s\n", argv[optind],
                    st == OCP_E_SIGNATURE ? "signature does not verify"
                                          : ocp_strerror(st));
            return EXIT_CARD;
        }
        {
            uint32_t age = (cli_now() - ocp_hotlist_issued_at(h)) / 1440u;
            json_t *v = json_object();
            json_object_set_new(v, "version",
                                json_integer(ocp_hotlist_version(h)));
            json_object_set_new(v, "cards",
                                json_integer((json_int_t)ocp_hotlist_count(h)));
            json_object_set_new(v, "issued_at",
                                out_datetime(ocp_hotlist_issued_at(h)));
            json_object_set_new(v, "age_days", json_integer(age));
            json_object_set_new(v, "stale", json_boolean(age > max_age));
            if (age > max_age)
                fprintf(stderr, "ocp hotlist: warning: the hotlist is %u days "
                                "old (more than %lu)\n",
                        age, max_age);
            if (c->json)
                out_print(1, v, NULL);
            else {
                printf("hotlist version %u, %zu cards, signature valid, "
                       "%u days old\n",
                       ocp_hotlist_version(h), ocp_hotlist_count(h), age);
                json_decref(v);
            }
        }
        ocp_hotlist_close(h);
        return EXIT_OK;
    }
    usage(stderr);
    return EXIT_USAGE;
}
