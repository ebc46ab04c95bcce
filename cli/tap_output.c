/* Showing a tap; see tap_output.h.  Nothing about the holder is shown:
 * the transit and counter screens know the card id and the service only. */
#include "tap_output.h"

#include <stdio.h>
#include <string.h>

#include "ocp/wire.h"
#include "output.h"

static const char *verdict(const ocp_tap_result *r)
{
    switch (r->outcome) {
    case OCP_TAP_ACCEPTED:
        return "ACCEPTED";
    case OCP_TAP_ALREADY:
        return "ALREADY VALIDATED";
    default:
        return "REFUSED";
    }
}

void tap_show(struct cli *c, const ocp_tap_params *p,
              const ocp_tap_result *r, int large, int bell)
{
    char service[8];
    int bells = r->outcome == OCP_TAP_REFUSED ? TAP_BELLS_REFUSED
                                              : TAP_BELLS_ACCEPTED;
    snprintf(service, sizeof service, "0x%04X", p->service);
    /* The sound first: a blind rider hears the verdict as it is shown. */
    if (bell && !c->json) {
        int i;
        for (i = 0; i < bells; i++)
            putchar('\a');
    }
    if (c->json) {
        json_t *v = json_object();
        json_object_set_new(v, "result",
                            json_string(r->outcome == OCP_TAP_ACCEPTED
                                            ? "accepted"
                                        : r->outcome == OCP_TAP_ALREADY
                                            ? "already"
                                            : "refused"));
        json_object_set_new(v, "card_id", out_hex(r->card_id, 8));
        json_object_set_new(v, "role", json_string(cli_role_name(p->role)));
        json_object_set_new(v, "service", json_string(service));
        if (r->outcome == OCP_TAP_REFUSED)
            json_object_set_new(v, "reason",
                                json_string(ocp_strerror(r->reason)));
        if (r->outcome == OCP_TAP_ACCEPTED) {
            json_object_set_new(v, "seq", json_integer(r->seq));
            json_object_set_new(v, "counter", json_integer(r->tx.counter));
            json_object_set_new(v, "remaining",
                                json_integer(r->tx.remaining));
            json_object_set_new(v, "recovered",
                                json_boolean(r->recovered));
            json_object_set_new(v, "certificate", out_hex(r->tx.cert, 8));
        }
        if (r->blocked_now)
            json_object_set_new(v, "blocked_now", json_true());
        json_object_set_new(v, "bells", json_integer(bells));
        out_print(1, v, NULL);
    } else if (large) {
        /* A validator's screen: the verdict first, big and alone. */
        printf("\n  ==============================\n"
               "  ||   %-22s ||\n"
               "  ==============================\n",
               verdict(r));
        if (r->outcome == OCP_TAP_REFUSED)
            printf("  %s\n", ocp_strerror(r->reason));
        else if (r->outcome == OCP_TAP_ACCEPTED)
            printf("  %s %s, %u left\n", cli_role_name(p->role), service,
                   r->tx.remaining);
    } else {
        printf("%s card ", verdict(r));
        cli_hex(stdout, r->card_id, 8);
        printf(" %s %s", cli_role_name(p->role), service);
        if (r->outcome == OCP_TAP_ACCEPTED) {
            printf(" seq %u transaction %u remaining %u%s certificate ",
                   r->seq, r->tx.counter, r->tx.remaining,
                   r->recovered ? " (finished an earlier, torn tap)" : "");
            cli_hex(stdout, r->tx.cert, 8);
        } else if (r->outcome == OCP_TAP_REFUSED) {
            printf(": %s", ocp_strerror(r->reason));
        }
        putchar('\n');
    }
    fflush(stdout);
}

int tap_exit_code(const ocp_tap_result *r)
{
    if (r->outcome != OCP_TAP_REFUSED)
        return EXIT_OK;
    switch (r->reason) {
    case OCP_E_CARD_BLOCKED:
    case OCP_E_CARD_TERMINATED:
        return EXIT_BLOCKED;
    case OCP_E_NOT_ENTITLED:
        return EXIT_NOT_ENTITLED;
    case OCP_E_AUTH:
    case OCP_E_KEY_MISSING:
        return EXIT_AUTH;
    default:
        return EXIT_CARD;
    }
}
