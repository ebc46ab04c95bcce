/*
 * ocp terminal: a validator or counter loop.  It waits for a card, runs one
 * tap (ocp_tap: journal first, retry-safe), shows the outcome at a glance
 * and rings, waits for the card to leave, and starts over.  It survives a
 * card pulled at any moment, a reader that disappears and a pcscd restart
 * (or a USB reader unplugged and plugged back): it waits and goes on.
 * PC/SC and USB CCID readers (-r usb:VID:PID) are waited on alike
 * (reader.h).
 *
 *   ocp --keys URI --terminal-id ID terminal --role ROLE --service CODE
 *       --journal FILE [--hotlist FILE] [--hotlist-max-age DAYS]
 *       [--passback MINUTES] [--amount N] [--large] [--bell] [--count N]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ocp/wire.h"
#include "output.h"
#include "reader.h"
#include "service_setup.h"
#include "tap_output.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void status_line(struct cli *c, const char *what, ocp_status st,
                        const char *detail)
{
    static ocp_status last = OCP_OK;
    if (st == last || c->quiet)
        return; /* say it once, not every second */
    last = st;
    if (st != OCP_OK && detail[0])
        fprintf(stderr, "ocp terminal: %s: %s (%s); waiting\n", what,
                ocp_strerror(st), detail);
    else if (st != OCP_OK)
        fprintf(stderr, "ocp terminal: %s: %s; waiting\n", what,
                ocp_strerror(st));
    else
        fprintf(stderr, "ocp terminal: %s\n", what);
}

int cmd_terminal(struct cli *c, int argc, char **argv)
{
    struct service_setup svc;
    long count = -1, done = 0;
    int rc;

    rc = service_setup_parse(c, argc, argv, "terminal", &svc, &count);
    if (rc != EXIT_OK)
        return rc == -1 ? EXIT_OK : rc;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    while (!stopping && (count < 0 || done < count)) {
        struct cli_reader reader;
        ocp_transport *t = NULL;
        ocp_tap_result res;
        ocp_status st;

        st = cli_reader_find(c, &reader);
        if (st == OCP_OK)
            st = cli_reader_wait_card(&reader, 1000);
        if (st == OCP_E_TIMEOUT)
            continue;
        if (st != OCP_OK) {
            status_line(c, "reader", st, cli_reader_detail(&reader));
            sleep(1);
            continue;
        }
        status_line(c, "ready", OCP_OK, "");
        st = cli_reader_connect(c, &reader, &t);
        if (st == OCP_OK) {
            svc.params.datetime = cli_now();
            st = ocp_tap(t, &svc.params, &res);
        }
        if (t != NULL) {
            (void)t->ops->end(t);
            t->ops->close(t);
        }
        if (st == OCP_OK) {
            tap_show(c, &svc.params, &res, svc.large, svc.bell);
            done++;
        } else if (st == OCP_E_TIMEOUT && !c->quiet) {
            /* A mute card: the transport gave it up (its blocked call
             * finishes, and is freed, when the card leaves).  Like a pull,
             * the journal keeps the attempt pending for the next tap. */
            fprintf(stderr, "ocp terminal: tap interrupted (the card did "
                            "not answer within %.1f s); tap again\n",
                    (double)c->card_timeout_ms / 1000.0);
        } else if (!c->quiet) {
            /* Pulled mid-tap (or the reader went): the journal keeps it
             * pending; the next tap of this card finishes it without
             * charging twice. */
            fprintf(stderr, "ocp terminal: tap interrupted (%s); tap again\n",
                    ocp_strerror(st));
        }
        if (count >= 0 && done >= count)
            break; /* --count taps done: no need to see this card leave */
        /* One tap per presentation: wait until the card is gone. */
        while (!stopping) {
            st = cli_reader_wait_removal(&reader, 1000);
            if (st != OCP_E_TIMEOUT)
                break;
        }
    }
    service_setup_free(&svc);
    return EXIT_OK;
}
