/*
 * ocp keys: the issuer's key store.  Values never leave it except the
 * public issuer key and a batch transport key for the card maker.
 *
 *   ocp --keys file:PATH keys create          (a new key file, 0600)
 *   ocp --keys pkcs11:URI keys create         (keys made inside the token)
 *   ocp --keys URI keys list                  (versions and check values)
 *   ocp --keys URI keys rotate --suite AES|SM --slot ROLE|N
 *   ocp --keys URI keys export-issuer --suite AES|SM [--out FILE]
 *   ocp --keys file:PATH keys batch ID        (a new batch key; printed)
 *   ocp --keys URI keys card                  (the card in the reader gets
 *                                              the current key versions)
 */
#include <getopt.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/keyfile.h"
#include "ocp/pkcs11.h"
#include "ocp/wire.h"
#include "output.h"

static const char *slot_name(uint8_t slot)
{
    static const char *const n[] = {"?",       "issuer", "transit", "medical",
                                    "rehab",   "assistive", "subsidy",
                                    "venue",   "kiosk",  "txmac",   "holder"};
    return slot <= 10 ? n[slot] : "?";
}

static uint8_t parse_slot(const char *s)
{
    uint8_t i;
    char *end;
    long v;
    for (i = 1; i <= 10; i++)
        if (strcmp(s, slot_name(i)) == 0)
            return i;
    v = strtol(s, &end, 10);
    return (*end || v < 1 || v > 10) ? 0 : (uint8_t)v;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --keys URI keys create|list\n"
               "       ocp --keys URI keys rotate --suite AES|SM --slot ROLE\n"
               "       ocp --keys URI keys export-issuer --suite AES|SM "
               "[--out FILE]\n"
               "       ocp --keys file:PATH keys batch ID (8 hex digits)\n"
               "       ocp --keys URI [-r READER] keys card\n");
}

static int create(struct cli *c)
{
    ocp_keystore *ks = NULL;
    ocp_status st;
    if (c->keys == NULL) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strncmp(c->keys, "file:", 5) == 0) {
        const char *p1 = getenv("OCP_KEY_PASSPHRASE");
        if (p1 == NULL || strlen(p1) < 8) {
            fprintf(stderr, "ocp keys create: set OCP_KEY_PASSPHRASE (8 "
                            "characters at least)\n");
            return EXIT_USAGE;
        }
        st = ocp_keyfile_create(c->keys + 5, p1, &ks);
        if (st != OCP_OK)
            fprintf(stderr, "ocp: %s\n", ocp_keyfile_last_error());
    } else if (strncmp(c->keys, "pkcs11:", 7) == 0) {
        st = ocp_pkcs11_open(c->keys, &ks);
        if (st == OCP_OK)
            st = ocp_pkcs11_init_keys(ks);
        if (st != OCP_OK)
            fprintf(stderr, "ocp: %s\n", ocp_pkcs11_last_error());
    } else {
        fprintf(stderr, "ocp keys create: file:PATH or pkcs11:URI only\n");
        return EXIT_USAGE;
    }
    ocp_keystore_close(ks);
    if (st != OCP_OK)
        return cli_fail("creating keys", st);
    if (!c->quiet)
        printf("keys created in %s\n", c->keys);
    return EXIT_OK;
}

static void list_text(json_t *v)
{
    json_t *k;
    size_t i;
    printf("suite slot       version  check value\n");
    json_array_foreach(json_object_get(v, "keys"), i, k)
        printf("%-5s %-10s %7lld%s %s\n",
               json_string_value(json_object_get(k, "suite")),
               json_string_value(json_object_get(k, "slot")),
               json_integer_value(json_object_get(k, "version")),
               json_is_true(json_object_get(k, "current")) ? "*" : " ",
               json_string_value(json_object_get(k, "kcv")));
}

static int list(struct cli *c, ocp_keystore *ks)
{
    ocp_key_info info[256];
    size_t n = 256, i;
    json_t *v, *arr;
    ocp_status st = ks->ops->list ? ks->ops->list(ks, info, &n) : OCP_E_ARGS;
    if (st != OCP_OK)
        return cli_fail("listing keys", st);
    v = json_object();
    arr = json_array();
    for (i = 0; i < n; i++) {
        json_t *k = json_object();
        json_object_set_new(k, "suite",
                            json_string(out_suite_name(info[i].suite)));
        json_object_set_new(k, "slot", json_string(slot_name(info[i].slot)));
        json_object_set_new(k, "version", json_integer(info[i].version));
        json_object_set_new(k, "current", json_boolean(info[i].current));
        json_object_set_new(k, "kcv", out_hex(info[i].kcv, 3));
        json_array_append_new(arr, k);
    }
    json_object_set_new(v, "keys", arr);
    out_print(c->json, v, list_text);
    return EXIT_OK;
}

int cmd_keys(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"suite", required_argument, NULL, 's'},
        {"slot", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    uint8_t suite = 0, slot = 0;
    const char *outp = NULL, *verb;
    ocp_keystore *ks = NULL;
    ocp_status st;
    int o, rc = EXIT_OK;

    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    verb = argv[1];
    /* The verb is the program name of the options that follow it. */
    argc--;
    argv++;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            suite = strcmp(optarg, "AES") == 0  ? OCP_SUITE_AES
                    : strcmp(optarg, "SM") == 0 ? OCP_SUITE_SM
                                                : 0;
            break;
        case 'l':
            slot = parse_slot(optarg);
            break;
        case 'o':
            outp = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (strcmp(verb, "create") == 0)
        return optind == argc ? create(c) : EXIT_USAGE;
    st = cli_keystore(c, &ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);

    if (strcmp(verb, "list") == 0 && optind == argc) {
        rc = list(c, ks);
    } else if (strcmp(verb, "rotate") == 0 && suite && slot &&
               optind == argc) {
        uint8_t version = 0;
        st = ks->ops->rotate ? ks->ops->rotate(ks, suite, slot, &version)
                             : OCP_E_ARGS;
        if (st != OCP_OK)
            rc = cli_fail("rotating (this store cannot, or the slot may "
                          "not rotate)",
                          st);
        else if (!c->quiet)
            printf("%s %s: version %u is current\n", out_suite_name(suite),
                   slot_name(slot), version);
    } else if (strcmp(verb, "export-issuer") == 0 && suite &&
               optind == argc) {
        uint8_t der[512];
        size_t len = sizeof der;
        const unsigned char *p = der;
        EVP_PKEY *key;
        FILE *f = stdout;
        st = ks->ops->public_key(ks, suite, der, &len);
        key = st == OCP_OK ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
        if (key != NULL && outp != NULL)
            f = fopen(outp, "w");
        if (key == NULL || f == NULL || PEM_write_PUBKEY(f, key) != 1)
            rc = cli_fail("exporting the issuer key",
                          st != OCP_OK ? st : OCP_E_IO);
        if (f != NULL && f != stdout)
            fclose(f);
        EVP_PKEY_free(key);
    } else if (strcmp(verb, "card") == 0 && optind == argc) {
        ocp_transport *t = NULL;
        ocp_select_info info;
        unsigned changed = 0;
        struct desk d;
        /* It changes the card's keys: with a registry, a clerk who may
         * issue, and a row in the trail. */
        rc = desk_login(c, &d, "keys", "issue");
        if (rc != EXIT_OK) {
            ocp_keystore_close(ks);
            return rc;
        }
        st = cli_connect(c, &t);
        if (st == OCP_OK)
            st = ocp_select(t, &info);
        if (st == OCP_OK)
            st = ocp_update_card_keys(t, ks, c->terminal_id, cli_now(),
                                      &changed);
        cli_close(t, NULL, NULL);
        if (st != OCP_OK)
            rc = cli_fail("changing the card's keys", st);
        else {
            if (c->json)
                printf("{\"changed\":%u}\n", changed);
            else if (!c->quiet)
                printf("%u key%s changed on the card\n", changed,
                       changed == 1 ? "" : "s");
            rc = desk_record(c, &d, info.card_id,
                             json_pack("{s:i}", "keys_changed", (int)changed));
        }
        desk_close(&d);
    } else if (strcmp(verb, "batch") == 0 && optind == argc - 1 &&
               strlen(argv[optind]) == 8) {
        uint8_t id[4], key[16];
        unsigned i, b;
        for (i = 0; i < 4; i++) {
            if (sscanf(argv[optind] + 2 * i, "%2x", &b) != 1)
                break;
            id[i] = (uint8_t)b;
        }
        st = i == 4 ? ocp_keyfile_add_batch(ks, id, key) : OCP_E_ARGS;
        if (st != OCP_OK) {
            fprintf(stderr, "ocp: %s\n", ocp_keyfile_last_error());
            rc = cli_fail("making the batch key", st);
        } else {
            /* For the card maker, who diversifies each card's transport
             * key from it: the one key that must leave the store. */
            cli_hex(stdout, key, 16);
            putchar('\n');
        }
        ocp_secret_wipe(key, sizeof key);
    } else {
        usage(stderr);
        rc = EXIT_USAGE;
    }
    ocp_keystore_close(ks);
    return rc;
}
