/*
 * ocp renew: extend an expiring card, in place or onto a new card.
 *
 *   ocp --keys URI renew [--years N | --expiry DATE]
 *   ocp --keys URI -r OLD renew --onto NEW [--years N | --expiry DATE]
 *
 * Onto a new card (a blank one in reader NEW): the old card is blocked,
 * the new one issued with the same holder and what is left on the old
 * one, then the old card is terminated.  Repeating the command after an
 * interruption finishes the job.  The new card's PIN comes from OCP_PIN or
 * the terminal.  With a registry a clerk with the lifecycle permission
 * logs in first; the trail row is the card the holder leaves with.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/pcsc.h"
#include "ocp/wire.h"
#include "output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --keys URI [-r OLD] renew [--onto NEW] [--years N "
               "| --expiry YYYY-MM-DD]\n");
}

int cmd_renew(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"years", required_argument, NULL, 'y'},
        {"expiry", required_argument, NULL, 'e'},
        {"onto", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *onto = NULL, *expiry = NULL;
    long years = 10;
    uint16_t new_expiry, today = (uint16_t)(cli_now() / 1440u);
    ocp_transport *t = NULL, *t2 = NULL;
    ocp_keystore *ks = NULL;
    ocp_select_info info, old_info;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    size_t n_ents = OCP_MAX_ENTITLEMENTS;
    ocp_status st;
    struct desk d;
    json_t *v;
    int o, rc = EXIT_OK;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'y':
            years = strtol(optarg, NULL, 10);
            break;
        case 'e':
            expiry = optarg;
            break;
        case 'o':
            onto = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || years < 1 || years > 20) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (expiry) {
        if (cli_parse_date(expiry, &new_expiry) != 0 || new_expiry <= today) {
            fprintf(stderr, "ocp renew: --expiry must be a date after today\n");
            return EXIT_USAGE;
        }
    } else {
        new_expiry = (uint16_t)(today + years * 365 + years / 4);
    }
    if ((rc = desk_login(c, &d, "renew", "lifecycle")) != EXIT_OK)
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
    if (onto == NULL) {
        st = ocp_renew_in_place(t, ks, new_expiry, c->terminal_id, cli_now());
        memset(&info, 0, sizeof info);
        if (st == OCP_OK)
            st = ocp_select(t, &info);
    } else {
        struct cli other = *c;
        char pin[9];
        other.reader = onto;
        st = cli_connect(&other, &t2);
        if (st != OCP_OK) {
            rc = cli_fail("connecting to the new card", st);
            goto out;
        }
        if (cli_read_pin("PIN for the new card", pin) != 0) {
            rc = EXIT_USAGE;
            goto out;
        }
        /* The old card's id, for the trail: a SELECT changes nothing. */
        memset(&old_info, 0, sizeof old_info);
        st = ocp_select(t, &old_info);
        if (st != OCP_OK) {
            ocp_secret_wipe(pin, sizeof pin);
            rc = cli_fail("reading the old card", st);
            goto out;
        }
        st = ocp_renew_onto(t, t2, ks, new_expiry, pin, c->terminal_id,
                            cli_now(), &info);
        ocp_secret_wipe(pin, sizeof pin);
        /* What the new card holds, for the registry. */
        if (st == OCP_OK && c->db_given) {
            ocp_session *s = NULL;
            st = ocp_open_role(t2, ks, OCP_ROLE_ISSUER, c->terminal_id,
                               cli_now(), NULL, NULL, &s);
            if (st == OCP_OK)
                st = ocp_read_entitlements(s, ents, &n_ents);
            ocp_session_close(s);
            if (st != OCP_OK) {
                rc = cli_fail("reading the new card for the registry", st);
                goto out;
            }
        }
    }
    if (st != OCP_OK) {
        rc = cli_fail("renewing", st);
    } else {
        v = json_object();
        json_object_set_new(v, "card_id", out_hex(info.card_id, 8));
        json_object_set_new(v, "expiry_date", out_date(new_expiry));
        json_object_set_new(v, "onto_new_card", json_boolean(onto != NULL));
        if (c->json) {
            out_print(1, v, NULL);
        } else {
            printf("card %s valid until %s%s\n",
                   json_string_value(json_object_get(v, "card_id")),
                   json_string_value(json_object_get(v, "expiry_date")),
                   onto ? " (the old card is terminated)" : "");
            json_decref(v);
        }
        v = json_object();
        json_object_set_new(v, "expiry_date", out_date(new_expiry));
        if (onto)
            json_object_set_new(v, "renewed_from",
                                out_hex(old_info.card_id, 8));
        rc = onto ? cli_record_renewed_onto(c, old_info.card_id, &info,
                                            new_expiry, ents, n_ents)
                  : cli_record_card_change(c, info.card_id, NULL, new_expiry);
        {
            int trail = desk_record(c, &d, info.card_id, v);
            if (rc == EXIT_OK)
                rc = trail;
        }
    }
out:
    cli_close(t, ks, NULL);
    cli_close(t2, NULL, NULL);
    desk_close(&d);
    return rc;
}
