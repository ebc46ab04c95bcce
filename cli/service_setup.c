/* Options and resources of the service-point commands; see the header. */
#include "service_setup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocp/wire.h"

static void usage(FILE *f, const char *cmd)
{
    fprintf(f,
            "usage: ocp --keys URI --terminal-id ID %s --role ROLE "
            "--service CODE --journal FILE\n"
            "           [--amount N] [--hotlist FILE] [--hotlist-max-age "
            "DAYS] [--passback MINUTES]\n"
            "           [--ask-pin] [--large] [--bell]%s\n"
            "ROLE: transit, medical, rehab, assistive, subsidy, venue\n",
            cmd, strcmp(cmd, "terminal") == 0 ? " [--count N]" : "");
}

static int open_hotlist(struct cli *c, struct service_setup *svc,
                        const char *path, unsigned long max_age)
{
    uint8_t der[512];
    size_t len;
    uint32_t last = 0, age;
    int found = 0;
    ocp_status st = OCP_E_SIGNATURE;
    uint8_t suite;

    for (suite = OCP_SUITE_AES; suite <= OCP_SUITE_SM && st != OCP_OK;
         suite++) {
        len = sizeof der;
        if (svc->ks->ops->public_key(svc->ks, suite, der, &len) != OCP_OK)
            continue;
        st = ocp_hotlist_open(path, der, len, &svc->hotlist);
    }
    if (st != OCP_OK) {
        fprintf(stderr, "ocp: hotlist %s refused: %s\n", path,
                st == OCP_E_SIGNATURE ? "the signature does not verify"
                                      : ocp_strerror(st));
        return EXIT_CARD;
    }
    /* Never go back to an older list: it could un-stop a card. */
    st = ocp_journal_get_u32(svc->journal, "hotlist_version", &last, &found);
    if (st == OCP_OK && found && ocp_hotlist_version(svc->hotlist) < last) {
        fprintf(stderr, "ocp: hotlist %s refused: version %u is older than "
                        "version %u already used here\n",
                path, ocp_hotlist_version(svc->hotlist), last);
        return EXIT_CARD;
    }
    if (st == OCP_OK)
        st = ocp_journal_set_u32(svc->journal, "hotlist_version",
                                 ocp_hotlist_version(svc->hotlist));
    if (st != OCP_OK)
        return cli_fail("the journal", st);
    age = (cli_now() - ocp_hotlist_issued_at(svc->hotlist)) / 1440u;
    if (age > max_age && !c->quiet)
        fprintf(stderr, "ocp: warning: the hotlist is %u days old (more "
                        "than %lu): sync this terminal\n",
                age, max_age);
    return EXIT_OK;
}

int service_setup_parse(struct cli *c, int argc, char **argv,
                        const char *cmd, struct service_setup *svc,
                        long *count)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"service", required_argument, NULL, 's'},
        {"amount", required_argument, NULL, 'a'},
        {"journal", required_argument, NULL, 'j'},
        {"hotlist", required_argument, NULL, 'H'},
        {"hotlist-max-age", required_argument, NULL, 'M'},
        {"passback", required_argument, NULL, 'p'},
        {"large", no_argument, NULL, 'L'},
        {"bell", no_argument, NULL, 'b'},
        {"count", required_argument, NULL, 'n'},
        {"ask-pin", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *journal = NULL, *hotlist = NULL;
    unsigned long service = 0, amount = 1, passback = 0, max_age = 7;
    ocp_status st;
    int o, rc;

    memset(svc, 0, sizeof *svc);
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            svc->params.role = cli_role(optarg);
            break;
        case 's':
            service = strtoul(optarg, NULL, 0);
            break;
        case 'a':
            amount = strtoul(optarg, NULL, 0);
            break;
        case 'j':
            journal = optarg;
            break;
        case 'H':
            hotlist = optarg;
            break;
        case 'M':
            max_age = strtoul(optarg, NULL, 10);
            break;
        case 'p':
            passback = strtoul(optarg, NULL, 10);
            break;
        case 'L':
            svc->large = 1;
            break;
        case 'b':
            svc->bell = 1;
            break;
        case 'P':
            if (cli_read_pin("holder's PIN", svc->pin) != 0)
                return EXIT_USAGE;
            svc->params.pin = svc->pin;
            break;
        case 'n':
            if (count == NULL) {
                usage(stderr, cmd);
                return EXIT_USAGE;
            }
            *count = strtol(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout, cmd);
            return -1;
        default:
            usage(stderr, cmd);
            return EXIT_USAGE;
        }
    }
    if (svc->params.role < OCP_ROLE_TRANSIT ||
        svc->params.role > OCP_ROLE_VENUE || service == 0 ||
        service > 0xFFFF || amount > 0xFFFFFFFFul || journal == NULL ||
        passback > 1440 || optind != argc) {
        usage(stderr, cmd);
        return EXIT_USAGE;
    }
    svc->params.service = (uint16_t)service;
    svc->params.amount = (uint32_t)amount;
    svc->params.terminal_id = c->terminal_id;
    svc->params.passback_minutes = (uint32_t)passback;
    st = cli_keystore(c, &svc->ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);
    st = ocp_journal_open(journal, c->terminal_id, &svc->journal);
    if (st != OCP_OK) {
        fprintf(stderr, "ocp: journal %s: %s\n", journal,
                st == OCP_E_ARGS ? "it belongs to another terminal id"
                                 : "cannot be opened");
        service_setup_free(svc);
        return EXIT_FAILURE_;
    }
    if (hotlist != NULL) {
        rc = open_hotlist(c, svc, hotlist, max_age);
        if (rc != EXIT_OK) {
            service_setup_free(svc);
            return rc;
        }
    }
    svc->params.ks = svc->ks;
    svc->params.journal = svc->journal;
    svc->params.hotlist = svc->hotlist;
    return EXIT_OK;
}

void service_setup_free(struct service_setup *svc)
{
    ocp_secret_wipe(svc->pin, sizeof svc->pin);
    ocp_hotlist_close(svc->hotlist);
    ocp_journal_close(svc->journal);
    ocp_keystore_close(svc->ks);
    memset(svc, 0, sizeof *svc);
}
