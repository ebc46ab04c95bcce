/*
 * ocp audit: every record in the registry checked (docs/BACKOFFICE.md
 * section 5): certificates with the back office's transaction keys, batch
 * signatures with each terminal's key, then counters, clocks, windows and
 * the hotlist.
 *
 *   ocp --db URI --keys URI [--json] audit [--progress]
 *
 * Exit 0 when nothing is found, 12 when there are findings, so that a
 * nightly job can act on the status alone.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ocp/audit.h"
#include "output.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ocp [--db URI] --keys URI [--json] audit [--progress]\n"
               "Checks every uploaded record with the back office's "
               "transaction keys and\nprints the findings per card and per "
               "terminal, then a summary.\n"
               "--progress: a progress line on stderr every 10 000 records.\n"
               "Exit 0: no finding; 12: findings; 11: the registry cannot be "
               "reached;\n8: the key store lacks a card's transaction key.\n");
}

/* Findings are kept to be grouped per card and per terminal; one is about
 * 200 bytes, and a registry with a million of them has bigger problems
 * than this program's memory. */
struct collected {
    ocp_finding *f;
    size_t n, cap, *order;
    int nomem;
};

struct audit_ctx {
    struct collected all;
    int progress, tty;
};

static void on_finding(void *ctx, const ocp_finding *f)
{
    struct collected *c = &((struct audit_ctx *)ctx)->all;
    if (c->nomem)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        ocp_finding *grown = realloc(c->f, cap * sizeof *grown);
        if (grown == NULL) {
            c->nomem = 1;
            return;
        }
        c->f = grown;
        c->cap = cap;
    }
    c->f[c->n++] = *f;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct audit_ctx *a = ctx;
    unsigned pct = total ? (unsigned)(done * 100u / total) : 100u;
    if (!a->progress)
        return;
    /* On a terminal one line updated in place; in a log, one line each. */
    fprintf(stderr, "%saudit: %llu of %llu records (%u%%)%s",
            a->tty ? "\r" : "", (unsigned long long)done,
            (unsigned long long)total, pct,
            a->tty ? (done >= total ? "\n" : "") : "\n");
    fflush(stderr);
}

static const uint8_t no_card[8];

static int is_card_finding(const ocp_finding *f)
{
    return memcmp(f->card_id, no_card, 8) != 0;
}

/* Card findings first, by card; then terminal findings, by terminal; in
 * the audit's own order within each group. */
static const ocp_finding *sort_base;

static int by_group(const void *pa, const void *pb)
{
    size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
    const ocp_finding *a = &sort_base[ia], *b = &sort_base[ib];
    int ca = is_card_finding(a), cb = is_card_finding(b), d;
    if (ca != cb)
        return cb - ca;
    if (ca) {
        d = memcmp(a->card_id, b->card_id, 8);
        if (d != 0)
            return d;
    } else if (a->terminal_id != b->terminal_id) {
        return a->terminal_id < b->terminal_id ? -1 : 1;
    }
    return ia < ib ? -1 : ia > ib;
}

static json_t *finding_json(const ocp_finding *f)
{
    json_t *v = json_object();
    char id[12];
    json_object_set_new(v, "kind", json_string(ocp_finding_name(f->kind)));
    json_object_set_new(v, "card_id", is_card_finding(f)
                                          ? out_hex(f->card_id, 8)
                                          : json_null());
    snprintf(id, sizeof id, "0x%08X", f->terminal_id);
    json_object_set_new(v, "terminal_id",
                        f->terminal_id ? json_string(id) : json_null());
    json_object_set_new(v, "seq", f->seq ? json_integer(f->seq) : json_null());
    json_object_set_new(v, "counter", json_integer(f->counter));
    json_object_set_new(v, "count", json_integer(f->count));
    json_object_set_new(v, "detail", json_string(f->detail));
    return v;
}

static json_t *summary_json(const ocp_audit_summary *s, size_t n)
{
    json_t *v = json_object(), *kinds = json_object();
    int k;
    json_object_set_new(v, "records", json_integer((json_int_t)s->records));
    json_object_set_new(v, "consumptions",
                        json_integer((json_int_t)s->accepted));
    json_object_set_new(v, "genuine", json_integer((json_int_t)s->genuine));
    json_object_set_new(v, "batches", json_integer((json_int_t)s->batches));
    json_object_set_new(v, "cards", json_integer((json_int_t)s->cards));
    json_object_set_new(v, "findings", json_integer((json_int_t)n));
    for (k = 0; k < OCP_FINDING_KINDS; k++)
        json_object_set_new(kinds, ocp_finding_name((ocp_finding_kind)k),
                            json_integer((json_int_t)s->findings[k]));
    json_object_set_new(v, "by_kind", kinds);
    return v;
}

static void print_text(const struct collected *c, const ocp_audit_summary *s)
{
    size_t i;
    int k;
    for (i = 0; i < c->n; i++) {
        const ocp_finding *f = &c->f[c->order[i]];
        const ocp_finding *prev = i ? &c->f[c->order[i - 1]] : NULL;
        char term[12] = "-", seq[12] = "-";
        int new_group =
            prev == NULL || is_card_finding(f) != is_card_finding(prev) ||
            (is_card_finding(f)
                 ? memcmp(f->card_id, prev->card_id, 8) != 0
                 : f->terminal_id != prev->terminal_id);
        if (new_group) {
            if (is_card_finding(f)) {
                printf("%scard ", prev ? "\n" : "");
                cli_hex(stdout, f->card_id, 8);
                printf("\n");
            } else {
                printf("%sterminal 0x%08X\n", prev ? "\n" : "",
                       f->terminal_id);
            }
            printf("  %-8s  %-10s  %6s  %7s  %5s  %s\n", "KIND", "TERMINAL",
                   "SEQ", "COUNTER", "COUNT", "DETAIL");
        }
        if (f->terminal_id)
            snprintf(term, sizeof term, "0x%08X", f->terminal_id);
        if (f->seq)
            snprintf(seq, sizeof seq, "%u", f->seq);
        printf("  %-8s  %-10s  %6s  %7u  %5u  %s\n",
               ocp_finding_name(f->kind), term, seq, f->counter, f->count,
               f->detail);
    }
    if (c->n)
        printf("\n");
    printf("audited %llu records (%llu consumptions, %llu genuine) in %llu "
           "batches, %llu cards\n",
           (unsigned long long)s->records, (unsigned long long)s->accepted,
           (unsigned long long)s->genuine, (unsigned long long)s->batches,
           (unsigned long long)s->cards);
    printf("findings: %zu (", c->n);
    for (k = 0; k < OCP_FINDING_KINDS; k++)
        printf("%s%s %llu", k ? ", " : "",
               ocp_finding_name((ocp_finding_kind)k),
               (unsigned long long)s->findings[k]);
    printf(")\n");
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"progress", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct audit_ctx a;
    ocp_audit_summary sum;
    ocp_registry *r = NULL;
    ocp_keystore *ks = NULL;
    ocp_status st;
    size_t i;
    int o, rc = EXIT_OK;

    memset(&a, 0, sizeof a);
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            a.progress = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    a.tty = isatty(STDERR_FILENO);
    st = cli_keystore(c, &ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);
    if ((rc = cli_registry_open(c, &r)) != 0)
        goto out;
    memset(&sum, 0, sizeof sum);
    st = ocp_audit(r, ks, on_finding, on_progress, &a, &sum);
    if (st == OCP_E_DB) {
        rc = cli_registry_fail(r, "auditing", st);
        goto out;
    }
    if (st != OCP_OK) {
        rc = cli_fail("auditing", st);
        if (st == OCP_E_KEY_MISSING)
            fprintf(stderr, "ocp audit: the key store lacks a card's "
                            "transaction key (slot 9); use the back "
                            "office's store\n");
        goto out;
    }
    if (a.all.nomem ||
        (a.all.n && (a.all.order = malloc(a.all.n * sizeof(size_t))) == NULL)) {
        fprintf(stderr, "ocp audit: out of memory keeping the findings\n");
        rc = EXIT_FAILURE_;
        goto out;
    }
    for (i = 0; i < a.all.n; i++)
        a.all.order[i] = i;
    sort_base = a.all.f;
    if (a.all.n)
        qsort(a.all.order, a.all.n, sizeof *a.all.order, by_group);
    if (c->json) {
        json_t *v = json_object(), *arr = json_array();
        for (i = 0; i < a.all.n; i++)
            json_array_append_new(arr, finding_json(&a.all.f[a.all.order[i]]));
        json_object_set_new(v, "summary", summary_json(&sum, a.all.n));
        json_object_set_new(v, "findings", arr);
        out_print(1, v, NULL);
    } else if (!c->quiet || a.all.n) {
        print_text(&a.all, &sum);
    }
    rc = a.all.n ? EXIT_FINDINGS : EXIT_OK;
out:
    free(a.all.f);
    free(a.all.order);
    ocp_registry_close(r);
    ocp_keystore_close(ks);
    return rc;
}
