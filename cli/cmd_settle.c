/*
 * ocp settle: the desk writes to a replacement card what it owes for late
 * uses of the card it replaced (docs/BACKOFFICE.md section 6).
 *
 *   ocp --db URI --keys URI --clerk LOGIN settle
 *
 * The registry lists the card's open debits (uses of the old card above
 * the counter the replacement carried); for each service the card's
 * counter or balance is lowered by the sum, never below zero.  The
 * registry is written first: a failure between the two steps can forgive
 * a debit (the card keeps a little more) but never charge the holder
 * twice, since a second run finds nothing open.  A service the card no
 * longer holds, or a pass (nothing to count), is settled with nothing
 * taken.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/replacement.h"
#include "ocp/wire.h"
#include "output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp --db URI --keys URI --clerk LOGIN settle\n"
               "Lowers the replacement card in the reader by what it owes "
               "for late uses\nof the card it replaced (permission grant).\n");
}

/* What the card owes per service. */
struct owed {
    size_t n;
    struct {
        uint16_t service;
        uint64_t amount;
        size_t debits;
    } s[OCP_MAX_ENTITLEMENTS + 8];
    int overflow;
};

static int add_debit(void *ctx, const ocp_debit *d)
{
    struct owed *o = ctx;
    size_t i;
    for (i = 0; i < o->n && o->s[i].service != d->service; i++)
        ;
    if (i == o->n) {
        if (o->n == sizeof o->s / sizeof o->s[0]) {
            o->overflow = 1;
            return 1;
        }
        o->s[o->n].service = d->service;
        o->s[o->n].amount = 0;
        o->s[o->n].debits = 0;
        o->n++;
    }
    o->s[i].amount += d->amount;
    o->s[i].debits++;
    return 0;
}

static const ocp_entitlement *find_service(const ocp_entitlement *e,
                                           size_t n, uint16_t service)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (e[i].service == service)
            return &e[i];
    return NULL;
}

/* Settles one service: the registry, then the card.  0 or an exit code. */
static int settle_service(struct desk *d, ocp_session *s,
                          const uint8_t card[8], const ocp_entitlement *have,
                          uint16_t service, uint64_t owed, json_t *done)
{
    ocp_entitlement e;
    uint64_t taken = 0;
    uint32_t left = 0;
    ocp_status st;
    int counts = have != NULL && (have->kind == OCP_KIND_COUNTER ||
                                  have->kind == OCP_KIND_BALANCE);
    if (counts) {
        e = *have;
        taken = owed < e.remaining ? owed : e.remaining;
        left = e.remaining - (uint32_t)taken;
    }
    st = ocp_registry_settle_debits(d->r, card, service,
                                    counts ? left : have ? have->remaining : 0,
                                    (int64_t)time(NULL));
    if (st != OCP_OK)
        return cli_registry_fail(d->r, "settling", st);
    if (counts && taken > 0) {
        e.remaining = left;
        st = ocp_grant(s, &e, NULL);
        if (st != OCP_OK) {
            fprintf(stderr,
                    "ocp settle: the registry settled service 0x%04X but "
                    "the card was not lowered from %u to %u: the debit is "
                    "forgiven unless the desk lowers it by hand\n",
                    service, have->remaining, left);
            return cli_fail("lowering the entitlement", st);
        }
    }
    {
        char code[8];
        snprintf(code, sizeof code, "0x%04X", service);
        json_array_append_new(
            done, json_pack("{s:s,s:I,s:I,s:o}", "service", code, "owed",
                            (json_int_t)owed, "taken", (json_int_t)taken,
                            "remaining",
                            counts ? json_integer((json_int_t)left)
                                   : json_null()));
    }
    return 0;
}

int cmd_settle(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_select_info info;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    size_t n_ents = OCP_MAX_ENTITLEMENTS, i;
    struct owed owed;
    struct desk d;
    json_t *done;
    ocp_status st;
    int o, rc = EXIT_OK;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        usage(stderr);
        return EXIT_USAGE;
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!c->db_given) {
        fprintf(stderr, "ocp settle: the debits are in the registry: give "
                        "--db or OCP_DB\n");
        return EXIT_USAGE;
    }
    rc = desk_login(c, &d, "settle", "grant");
    if (rc != EXIT_OK)
        return rc;
    rc = cli_open(c, OCP_ROLE_ISSUER, &t, &ks, &s, &info);
    if (rc != EXIT_OK) {
        desk_close(&d);
        return rc;
    }
    memset(&owed, 0, sizeof owed);
    st = ocp_registry_debits(d.r, info.card_id, 1, add_debit, &owed);
    if (st == OCP_OK && owed.overflow)
        st = OCP_E_NOMEM;
    if (st != OCP_OK) {
        rc = cli_registry_fail(d.r, "reading the card's debits", st);
        goto out;
    }
    if (owed.n > 0) {
        st = ocp_read_entitlements(s, ents, &n_ents);
        if (st != OCP_OK) {
            rc = cli_fail("reading the entitlements", st);
            goto out;
        }
    }
    done = json_array();
    for (i = 0; i < owed.n && rc == EXIT_OK; i++)
        rc = settle_service(&d, s, info.card_id,
                            find_service(ents, n_ents, owed.s[i].service),
                            owed.s[i].service, owed.s[i].amount, done);
    if (owed.n > 0 && json_array_size(done) > 0) {
        int rec = desk_record(c, &d, info.card_id,
                              json_pack("{s:O}", "settled", done));
        if (rc == EXIT_OK)
            rc = rec;
    }
    if (c->json) {
        char id[17];
        for (i = 0; i < 8; i++)
            snprintf(id + 2 * i, 3, "%02X", info.card_id[i]);
        out_print(1, json_pack("{s:s,s:O}", "card", id, "settled", done),
                  NULL);
    } else if (json_array_size(done) == 0 && rc == EXIT_OK) {
        printf("the card owes nothing for the card it replaced\n");
    } else {
        for (i = 0; i < json_array_size(done); i++) {
            json_t *x = json_array_get(done, i);
            json_t *left = json_object_get(x, "remaining");
            printf("service %s: owed %lld, taken %lld%s",
                   json_string_value(json_object_get(x, "service")),
                   (long long)json_integer_value(json_object_get(x, "owed")),
                   (long long)json_integer_value(json_object_get(x, "taken")),
                   json_is_null(left) ? " (nothing to count on the card)\n"
                                      : ", now ");
            if (!json_is_null(left))
                printf("%lld\n", (long long)json_integer_value(left));
        }
    }
    json_decref(done);
out:
    cli_close(t, ks, s);
    desk_close(&d);
    return rc;
}
