/*
 * ocp: one command for the issuance desk, the service points, the kiosks
 * and the back office.  This file parses the global options and hands the
 * rest to cmd_<name>.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ocp/ccid.h"
#include "ocp/holder.h"
#include "ocp/keyfile.h"
#include "ocp/pcsc.h"
#include "ocp/pkcs11.h"
#include "ocp/wire.h"

/* The --keys URI, so a failure can add the key store's own explanation. */
static const char *keys_uri;
/* -r usb:..., so a failure can add what the USB layer saw. */
static const char *usb_reader;

static const struct {
    const char *name;
    int (*run)(struct cli *, int, char **);
    const char *summary;
} commands[] = {
    {"readers", cmd_readers, "list the card readers"},
    {"info", cmd_info, "show a card's public data and check its signature"},
    {"issue", cmd_issue, "personalise a blank card for a holder"},
    {"read", cmd_read, "what a role may see of a card"},
    {"log", cmd_log, "the card's log of uses, as a role may see it"},
    {"update", cmd_update, "change the holder record (re-signed)"},
    {"grant", cmd_grant, "grant, revoke or credit entitlements"},
    {"renew", cmd_renew, "renew a card in place or onto a new card"},
    {"replace", cmd_replace, "a new card for a lost one, from the registry"},
    {"settle", cmd_settle, "lower a replacement card by the late uses of the old"},
    {"pin", cmd_pin, "change or unblock the holder's PIN"},
    {"block", cmd_block, "block a card"},
    {"unblock", cmd_unblock, "unblock a blocked card"},
    {"terminate", cmd_terminate, "terminate a card for good"},
    {"use", cmd_use, "one transaction at a service point"},
    {"terminal", cmd_terminal, "a validator or counter loop"},
    {"hotlist", cmd_hotlist, "keep the list of stopped cards; sign, verify"},
    {"keys", cmd_keys, "create, list and rotate keys; export public parts"},
    {"registry", cmd_registry, "the back office: schema, terminals, clerks, trail"},
    {"sync", cmd_sync, "a terminal uploads its journal, downloads the hotlist"},
    {"audit", cmd_audit, "verify every uploaded record; find fraud and gaps"},
    {"report", cmd_report, "settlement per operator and service for a period"},
    {"serve", cmd_serve, "the kiosk bridge: the holder's page and its API"},
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "usage: ocp [global options] COMMAND [options]\n\n"
               "Global options:\n"
               "  -r, --reader NAME|INDEX  card reader (default: the first PC/SC one);\n"
               "               usb:VID:PID[:N]  a USB CCID reader driven directly\n"
               "  --keys URI               key store: file:PATH, pkcs11:URI or dev:DIR\n"
               "  --json                   machine-readable output\n"
               "  --trace                  show APDUs on stderr (protected payloads masked)\n"
               "  --wait SECONDS           wait this long for a card (default 0)\n"
               "  --card-timeout SECONDS   give up on a card that does not answer\n"
               "                           (default 5; 0 waits for ever)\n"
               "  --terminal-id ID         this desk's or terminal's id\n"
               "  --db URI                 the registry: sqlite:PATH or postgresql://...\n"
               "                           (default $OCP_DB, else " CLI_DEFAULT_DB ")\n"
               "  --clerk LOGIN            the clerk at the desk (default $OCP_CLERK);\n"
               "                           with --db or OCP_DB, commands that change a\n"
               "                           card need one (password: $OCP_CLERK_PASSWORD\n"
               "                           or asked)\n"
               "  -q, --quiet              print errors only\n"
               "  -v, --verbose            more detail on stderr\n"
               "  -h, --help               this help; COMMAND --help for a command\n\n"
               "Commands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nExit codes: 0 done, 1 failure, 2 usage, 3 no reader or no "
               "PC/SC service,\n4 no card, 5 wrong or blocked PIN, 6 not "
               "entitled, 7 card blocked or\nterminated, 8 authentication "
               "failed, 9 card refused or answered nonsense,\n10 the card did "
               "not answer within --card-timeout, 11 the registry cannot be\n"
               "reached or failed, 12 the audit found problems, 13 the "
               "registry refused the\nterminal or the clerk (unknown, "
               "wrong password, disabled, not allowed) or\nan approval, or a "
               "signature does not verify, 14 a second clerk must\napprove "
               "(the request is recorded, the card untouched).\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reader", required_argument, NULL, 'r'},
        {"keys", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"trace", no_argument, NULL, 't'},
        {"wait", required_argument, NULL, 'w'},
        {"card-timeout", required_argument, NULL, 'C'},
        {"terminal-id", required_argument, NULL, 'T'},
        {"db", required_argument, NULL, 'D'},
        {"clerk", required_argument, NULL, 'K'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct cli c;
    size_t i;
    int o;

    memset(&c, 0, sizeof c);
    c.terminal_id = 0xD0000001u; /* a desk, unless told otherwise */
    c.card_timeout_ms = OCP_PCSC_DEFAULT_TIMEOUT_MS;
    c.db = getenv("OCP_DB");
    c.db_given = c.db != NULL && c.db[0] != '\0';
    if (!c.db_given)
        c.db = CLI_DEFAULT_DB;
    c.clerk = getenv("OCP_CLERK");
    if (c.clerk != NULL && c.clerk[0] == '\0')
        c.clerk = NULL;
    /* Global options stop at the command name. */
    while ((o = getopt_long(argc, argv, "+r:vqh", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            c.reader = optarg;
            break;
        case 'k':
            c.keys = optarg;
            break;
        case 'j':
            c.json = 1;
            break;
        case 't':
            c.trace = 1;
            break;
        case 'w':
            c.wait_ms = (long)(strtod(optarg, NULL) * 1000.0);
            break;
        case 'C': {
            char *end;
            double s = strtod(optarg, &end);
            /* Up to a day: beyond that "never" is the honest choice (0). */
            if (end == optarg || *end || !(s >= 0.0 && s <= 86400.0)) {
                fprintf(stderr, "ocp: --card-timeout takes seconds, 0 to "
                                "86400 (0: wait for ever)\n");
                return EXIT_USAGE;
            }
            c.card_timeout_ms = (long)(s * 1000.0);
            if (s > 0.0 && c.card_timeout_ms == 0)
                c.card_timeout_ms = 1; /* a deadline, however short */
            break;
        }
        case 'v':
            c.verbose++;
            break;
        case 'q':
            c.quiet = 1;
            break;
        case 'T': {
            char *end;
            unsigned long id = strtoul(optarg, &end, 0);
            if (*end || id > 0xFFFFFFFFul) {
                fprintf(stderr, "ocp: --terminal-id is a 32-bit number\n");
                return EXIT_USAGE;
            }
            c.terminal_id = (uint32_t)id;
            break;
        }
        case 'D':
            if (optarg[0] == '\0') {
                fprintf(stderr, "ocp: --db needs a URI (sqlite:PATH or "
                                "postgresql://...)\n");
                return EXIT_USAGE;
            }
            c.db = optarg;
            c.db_given = 1;
            break;
        case 'K':
            if (optarg[0] == '\0') {
                fprintf(stderr, "ocp: --clerk needs a login\n");
                return EXIT_USAGE;
            }
            c.clerk = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    keys_uri = c.keys;
    if (c.reader != NULL && strncmp(c.reader, "usb:", 4) == 0)
        usb_reader = c.reader;
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0; /* GNU getopt: a full restart for the subcommand */
            return commands[i].run(&c, sub_argc, sub_argv);
        }
    }
    fprintf(stderr, "ocp: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    return EXIT_USAGE;
}

/* The statuses a USB CCID reader's failure ends in (transport_ccid.c). */
static int from_the_reader(ocp_status st)
{
    switch (st) {
    case OCP_E_ARGS:
    case OCP_E_NO_READER:
    case OCP_E_SHARING:
    case OCP_E_NO_CARD:
    case OCP_E_CARD_REMOVED:
    case OCP_E_CARD_RESET:
    case OCP_E_TIMEOUT:
    case OCP_E_TRANSPORT:
    case OCP_E_BAD_RESPONSE:
        return 1;
    default:
        return 0;
    }
}

int cli_fail(const char *what, ocp_status st)
{
    fprintf(stderr, "ocp: %s: %s\n", what, ocp_strerror(st));
    if (usb_reader != NULL && from_the_reader(st) && ocp_ccid_last_error()[0])
        fprintf(stderr, "ocp: %s: %s\n", usb_reader, ocp_ccid_last_error());
    if (st == OCP_E_TIMEOUT)
        fprintf(stderr, "ocp: the card or the reader stopped answering "
                        "(--card-timeout); take the card away and try "
                        "again\n");
    if (keys_uri != NULL && strncmp(keys_uri, "pkcs11:", 7) == 0 &&
        (st == OCP_E_KEY_MISSING || st == OCP_E_CRYPTO) &&
        ocp_pkcs11_last_error()[0])
        fprintf(stderr, "ocp: key store: %s\n", ocp_pkcs11_last_error());
    switch (st) {
    case OCP_E_NO_SERVICE:
    case OCP_E_NO_READER:
        return EXIT_NO_READER;
    case OCP_E_NO_CARD:
    case OCP_E_CARD_REMOVED:
    case OCP_E_CARD_RESET:
        return EXIT_NO_CARD;
    case OCP_E_TIMEOUT:
        return EXIT_TIMEOUT;
    case OCP_E_PIN_WRONG:
    case OCP_E_PIN_BLOCKED:
        return EXIT_PIN;
    case OCP_E_NOT_ENTITLED:
        return EXIT_NOT_ENTITLED;
    case OCP_E_CARD_BLOCKED:
    case OCP_E_CARD_TERMINATED:
        return EXIT_BLOCKED;
    case OCP_E_AUTH:
    case OCP_E_SM:
    case OCP_E_KEY_MISSING:
        return EXIT_AUTH;
    case OCP_E_ARGS:
        return EXIT_USAGE;
    case OCP_E_BAD_RESPONSE:
    case OCP_E_NOT_OCP:
    case OCP_E_CARD_STATUS:
    case OCP_E_DENIED:
    case OCP_E_CARD_FULL:
    case OCP_E_SIGNATURE:
        return EXIT_CARD;
    default:
        return EXIT_FAILURE_;
    }
}

ocp_status cli_keystore(struct cli *c, ocp_keystore **ks)
{
    ocp_status st;
    if (c->keys == NULL) {
        fprintf(stderr, "ocp: --keys is required (file:PATH, pkcs11:URI or "
                        "dev:DIR)\n");
        return OCP_E_ARGS;
    }
    if (strncmp(c->keys, "dev:", 4) == 0)
        return ocp_keystore_dev_open(c->keys + 4, ks);
    if (strncmp(c->keys, "file:", 5) == 0) {
        char pass[1024];
        if (cli_read_secret("OCP_KEY_PASSPHRASE", "key file passphrase", pass,
                            sizeof pass) != 0) {
            memset(pass, 0, sizeof pass);
            return OCP_E_ARGS;
        }
        st = ocp_keyfile_open(c->keys + 5, pass, ks);
        memset(pass, 0, sizeof pass);
        if (st != OCP_OK)
            fprintf(stderr, "ocp: %s\n", ocp_keyfile_last_error());
        return st;
    }
    if (strncmp(c->keys, "pkcs11:", 7) == 0) {
        st = ocp_pkcs11_open(c->keys, ks);
        if (st != OCP_OK)
            fprintf(stderr, "ocp: %s\n", ocp_pkcs11_last_error());
        return st;
    }
    fprintf(stderr, "ocp: unknown key store '%s' (file:PATH, pkcs11:URI or "
                    "dev:DIR)\n",
            c->keys);
    return OCP_E_ARGS;
}

uint32_t cli_now(void)
{
    time_t now = time(NULL);
    struct tm tm;
    uint16_t day = 0;
    localtime_r(&now, &tm);
    (void)ocp_date_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                              &day);
    return (uint32_t)day * 1440u + (uint32_t)(tm.tm_hour * 60 + tm.tm_min);
}

static const char *const role_names[] = {NULL,      "issuer",  "transit",
                                         "medical", "rehab",   "assistive",
                                         "subsidy", "venue",   "kiosk"};

uint8_t cli_role(const char *name)
{
    uint8_t r;
    for (r = 1; r <= OCP_ROLE_COUNT; r++)
        if (strcmp(name, role_names[r]) == 0)
            return r;
    return 0;
}

const char *cli_role_name(uint8_t role)
{
    return role >= 1 && role <= OCP_ROLE_COUNT ? role_names[role] : "?";
}

void cli_hex(FILE *f, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        fprintf(f, "%02X", p[i]);
}
