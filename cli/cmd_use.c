/*
 * ocp use: one transaction at a service point, in three command/response
 * pairs (SELECT, MUTUAL AUTHENTICATE, CONSUME).
 *
 *   ocp --keys URI use --role ROLE --service CODE [--amount N]
 *       --terminal-id ID --seq N
 *
 * The output names the service, what is left and the certificate; never
 * the holder's disability data.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ocp/wire.h"
#include "output.h"
#include "service_setup.h"
#include "tap_output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --keys URI use --role ROLE --service CODE "
               "[--amount N] [--terminal-id ID] --seq N\n"
               "       ocp --keys URI --terminal-id ID use --role ROLE "
               "--service CODE --journal FILE\n"
               "           [--hotlist FILE] [--passback MINUTES] [--bell]\n"
               "ROLE: transit, medical, rehab, assistive, subsidy, venue\n");
}

/* With a journal, `use` is one tap exactly as the terminal loop runs it:
 * the sequence number comes from the journal, a torn earlier tap of the
 * same card is finished, the hotlist and the passback window apply. */
static int use_with_journal(struct cli *c, int argc, char **argv)
{
    struct service_setup svc;
    ocp_transport *t = NULL;
    ocp_tap_result res;
    ocp_status st;
    int rc = service_setup_parse(c, argc, argv, "use", &svc, NULL);
    if (rc != EXIT_OK)
        return rc == -1 ? EXIT_OK : rc;
    st = cli_connect(c, &t);
    if (st == OCP_OK) {
        svc.params.datetime = cli_now();
        st = ocp_tap(t, &svc.params, &res);
    }
    if (st == OCP_OK) {
        tap_show(c, &svc.params, &res, svc.large, svc.bell);
        rc = tap_exit_code(&res);
    } else {
        rc = cli_fail("the tap was interrupted (tap again: it will not be "
                      "charged twice)",
                      st);
    }
    cli_close(t, NULL, NULL);
    service_setup_free(&svc);
    return rc;
}

int cmd_use(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"service", required_argument, NULL, 's'},
        {"amount", required_argument, NULL, 'a'},
        {"terminal-id", required_argument, NULL, 't'},
        {"seq", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    uint8_t role = 0;
    unsigned long service = 0, amount = 1, terminal = c->terminal_id, seq = 0;
    int have_seq = 0, o, rc = EXIT_OK;
    ocp_transport *t = NULL;
    ocp_keystore *ks = NULL;
    ocp_session *s = NULL;
    ocp_tx_result tx;
    ocp_status st;

    for (o = 1; o < argc; o++)
        if (strncmp(argv[o], "--journal", 9) == 0)
            return use_with_journal(c, argc, argv);
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            role = cli_role(optarg);
            break;
        case 's':
            service = strtoul(optarg, NULL, 0);
            break;
        case 'a':
            amount = strtoul(optarg, NULL, 0);
            break;
        case 't':
            terminal = strtoul(optarg, NULL, 0);
            break;
        case 'q':
            seq = strtoul(optarg, NULL, 0);
            have_seq = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (role < OCP_ROLE_TRANSIT || role > OCP_ROLE_VENUE || service == 0 ||
        service > 0xFFFF || !have_seq ||
        terminal > 0xFFFFFFFFul || seq > 0xFFFFFFFFul ||
        amount > 0xFFFFFFFFul || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    st = cli_keystore(c, &ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);
    st = cli_connect(c, &t);
    if (st != OCP_OK) {
        rc = cli_fail("connecting", st);
        goto out;
    }
    st = ocp_open_role(t, ks, role, (uint32_t)terminal, cli_now(), NULL, NULL,
                       &s);
    if (st == OCP_OK)
        st = ocp_consume(s, (uint16_t)service, (uint32_t)amount,
                         (uint32_t)seq, &tx);
    if (st != OCP_OK) {
        if (c->json) {
            json_t *v = json_object();
            json_object_set_new(v, "result", json_string("refused"));
            json_object_set_new(v, "reason", json_string(ocp_strerror(st)));
            out_print(1, v, NULL);
        }
        rc = cli_fail("refused", st);
        goto out;
    }
    if (c->json) {
        json_t *v = out_tx(&tx);
        char code[8];
        snprintf(code, sizeof code, "0x%04lX", service);
        json_object_set_new(v, "result", json_string("accepted"));
        json_object_set_new(v, "role", json_string(cli_role_name(role)));
        json_object_set_new(v, "service", json_string(code));
        out_print(1, v, NULL);
    } else {
        printf("accepted: %s service 0x%04lX, transaction %u, remaining %u%s, "
               "certificate ",
               cli_role_name(role), service, tx.counter, tx.remaining,
               (tx.flags & OCP_TXF_REPEAT) ? " (already done, not charged "
                                             "again)"
                                           : "");
        cli_hex(stdout, tx.cert, 8);
        printf("\n");
    }
out:
    ocp_session_close(s);
    ocp_keystore_close(ks);
    cli_close(t, NULL, NULL);
    return rc;
}
