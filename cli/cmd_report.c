/*
 * ocp report: settlement per operator and service over a period
 * (docs/BACKOFFICE.md section 7), paying only what the audit accepts.
 *
 *   ocp --db URI --keys URI report --from DATE --to DATE [--csv] [--json]
 *
 * Text is a table; --csv one line per operator and service with a header;
 * --json an array of objects.  Amounts are rides or units, or fen for a
 * balance: the service code says which (docs/catalogue.json).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ocp/replacement.h"
#include "ocp/report.h"
#include "output.h"

/* What replacements left behind (docs/BACKOFFICE.md section 6): the uses
 * of replaced cards in the period, charged to their replacements, and the
 * terminals that may still accept a replaced card. */
struct aftermath {
    uint16_t from, to;
    ocp_debit *debits;
    size_t n_debits, cap_debits;
    ocp_open_window *windows;
    size_t n_windows, cap_windows;
    int nomem;
};

static void card_hex(const uint8_t id[8], char out[17])
{
    size_t i;
    for (i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02X", id[i]);
}

static void *grow_array(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? 2 * *cap : 16;
    void *q;
    if (need <= *cap)
        return p;
    q = realloc(p, n * size);
    if (q != NULL)
        *cap = n;
    return q;
}

static int keep_debit(void *ctx, const ocp_debit *d)
{
    struct aftermath *m = ctx;
    ocp_debit *p;
    uint32_t day = d->datetime / 1440u;
    if (day < m->from || day > m->to)
        return 0;
    p = grow_array(m->debits, &m->cap_debits, m->n_debits + 1, sizeof *p);
    if (p == NULL) {
        m->nomem = 1;
        return 1;
    }
    m->debits = p;
    m->debits[m->n_debits++] = *d;
    return 0;
}

static int keep_window(void *ctx, const ocp_open_window *w)
{
    struct aftermath *m = ctx;
    ocp_open_window *p =
        grow_array(m->windows, &m->cap_windows, m->n_windows + 1, sizeof *p);
    if (p == NULL) {
        m->nomem = 1;
        return 1;
    }
    m->windows = p;
    m->windows[m->n_windows++] = *w;
    return 0;
}

static ocp_status read_aftermath(ocp_registry *r, struct aftermath *m)
{
    ocp_status st = ocp_registry_debits(r, NULL, 0, keep_debit, m);
    if (st == OCP_OK)
        st = ocp_registry_open_windows(r, keep_window, m);
    return st == OCP_OK && m->nomem ? OCP_E_NOMEM : st;
}

static json_t *aftermath_json(const struct aftermath *m)
{
    json_t *debits = json_array(), *windows = json_array();
    char old_id[17], new_id[17], service[8];
    size_t i;
    for (i = 0; i < m->n_debits; i++) {
        const ocp_debit *d = &m->debits[i];
        card_hex(d->old_card, old_id);
        card_hex(d->new_card, new_id);
        snprintf(service, sizeof service, "0x%04X", d->service);
        json_array_append_new(
            debits,
            json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:b}", "old_card", old_id,
                      "new_card", new_id, "terminal", (json_int_t)d->terminal_id,
                      "seq", (json_int_t)d->seq, "counter",
                      (json_int_t)d->counter, "service", service, "amount",
                      (json_int_t)d->amount, "settled", d->applied_at != 0));
    }
    for (i = 0; i < m->n_windows; i++) {
        const ocp_open_window *w = &m->windows[i];
        card_hex(w->card, old_id);
        json_array_append_new(
            windows,
            json_pack("{s:s,s:I,s:I,s:s,s:I,s:I,s:I}", "card", old_id,
                      "replaced_at", (json_int_t)w->replaced_at, "terminal",
                      (json_int_t)w->terminal_id, "operator",
                      w->operator_name, "last_sync", (json_int_t)w->last_sync,
                      "hotlist_version", (json_int_t)w->hotlist_version,
                      "hotlist_published_at", (json_int_t)w->published_at));
    }
    return json_pack("{s:o,s:o}", "debits", debits, "open_windows", windows);
}

static void aftermath_text(const struct aftermath *m)
{
    char old_id[17], new_id[17];
    size_t i;
    if (m->n_debits > 0) {
        printf("uses of replaced cards, charged to their replacements\n");
        printf("  %-16s %-16s %-8s %6s %7s %8s  %s\n", "OLD CARD",
               "NEW CARD", "TERMINAL", "SEQ", "SERVICE", "AMOUNT", "SETTLED");
        for (i = 0; i < m->n_debits; i++) {
            const ocp_debit *d = &m->debits[i];
            card_hex(d->old_card, old_id);
            card_hex(d->new_card, new_id);
            printf("  %-16s %-16s %08X %6u  0x%04X %8u  %s\n", old_id, new_id,
                   d->terminal_id, d->seq, d->service, d->amount,
                   d->applied_at != 0 ? "yes" : "no (at the next desk visit)");
        }
    }
    if (m->n_windows > 0) {
        printf("terminals that may still accept a replaced card (they "
               "have not taken\nthe hotlist that lists it)\n");
        printf("  %-16s %-8s %-24s %-20s %s\n", "CARD", "TERMINAL",
               "OPERATOR", "LAST SYNC", "HOTLIST");
        for (i = 0; i < m->n_windows; i++) {
            const ocp_open_window *w = &m->windows[i];
            char when[24] = "never";
            card_hex(w->card, old_id);
            time_t t = (time_t)w->last_sync;
            struct tm tm;
            if (w->last_sync != 0 && gmtime_r(&t, &tm) != NULL)
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("  %-16s %08X %-24s %-20s %u%s\n", old_id,
                   w->terminal_id, w->operator_name, when,
                   w->hotlist_version,
                   w->published_at == 0 ? " (none published since)" : "");
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ocp [--db URI] --keys URI [--json] report --from DATE "
            "--to DATE [--csv]\n"
            "Settlement per operator and service for the days from DATE to "
            "DATE\n(YYYY-MM-DD, both included): the consumptions the audit "
            "accepts, their\namounts summed, and how many were held back "
            "(forged, cloned, outside\ntheir window, of an unknown card).\n");
}

/* RFC 4180: a field with a comma, quote or line break is quoted. */
static void csv_field(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

int cmd_report(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"csv", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *from_s = NULL, *to_s = NULL;
    uint16_t from, to;
    ocp_report_line *lines = NULL;
    ocp_keystore *ks = NULL;
    ocp_registry *r = NULL;
    struct aftermath aft;
    size_t n = 0, i;
    ocp_status st;
    int o, csv = 0, rc;

    memset(&aft, 0, sizeof aft);
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            from_s = optarg;
            break;
        case 't':
            to_s = optarg;
            break;
        case 'c':
            csv = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || from_s == NULL || to_s == NULL ||
        cli_parse_date(from_s, &from) != 0 ||
        cli_parse_date(to_s, &to) != 0 || from > to) {
        usage(stderr);
        return EXIT_USAGE;
    }
    st = cli_keystore(c, &ks);
    if (st != OCP_OK)
        return cli_fail("opening the key store", st);
    if ((rc = cli_registry_open(c, &r)) != 0) {
        ocp_keystore_close(ks);
        return rc;
    }
    st = ocp_report(r, ks, from, to, &lines, &n);
    if (st != OCP_OK) {
        rc = st == OCP_E_KEY_MISSING ? cli_fail("settling", st)
                                     : cli_registry_fail(r, "settling", st);
        ocp_registry_close(r);
        ocp_keystore_close(ks);
        return rc;
    }
    aft.from = from;
    aft.to = to;
    if (!csv && (st = read_aftermath(r, &aft)) != OCP_OK) {
        rc = cli_registry_fail(r, "reading the replacements", st);
        free(lines);
        free(aft.debits);
        free(aft.windows);
        ocp_registry_close(r);
        ocp_keystore_close(ks);
        return rc;
    }
    if (c->json) {
        json_t *a = json_array(), *after = aftermath_json(&aft);
        for (i = 0; i < n; i++) {
            char service[8];
            snprintf(service, sizeof service, "0x%04X", lines[i].service);
            json_array_append_new(
                a, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "operator",
                             lines[i].operator_name, "service", service,
                             "domain", cli_role_name(lines[i].domain), "uses",
                             (json_int_t)lines[i].uses, "amount",
                             (json_int_t)lines[i].amount, "excluded",
                             (json_int_t)lines[i].excluded));
        }
        out_print(1, json_pack("{s:s,s:s,s:o,s:O,s:O}", "from", from_s,
                               "to", to_s, "lines", a, "replaced_card_uses",
                               json_object_get(after, "debits"),
                               "open_windows",
                               json_object_get(after, "open_windows")),
                  NULL);
        json_decref(after);
    } else if (csv) {
        puts("operator,service,domain,uses,amount,excluded");
        for (i = 0; i < n; i++) {
            csv_field(lines[i].operator_name);
            printf(",0x%04X,%s,%llu,%llu,%llu\n", lines[i].service,
                   cli_role_name(lines[i].domain),
                   (unsigned long long)lines[i].uses,
                   (unsigned long long)lines[i].amount,
                   (unsigned long long)lines[i].excluded);
        }
    } else {
        printf("settlement %s to %s\n", from_s, to_s);
        printf("  %-24s %-7s %-9s %10s %12s %9s\n", "OPERATOR", "SERVICE",
               "DOMAIN", "USES", "AMOUNT", "HELD BACK");
        for (i = 0; i < n; i++)
            printf("  %-24s 0x%04X  %-9s %10llu %12llu %9llu\n",
                   lines[i].operator_name, lines[i].service,
                   cli_role_name(lines[i].domain),
                   (unsigned long long)lines[i].uses,
                   (unsigned long long)lines[i].amount,
                   (unsigned long long)lines[i].excluded);
        if (n == 0)
            puts("  (no consumption in this period)");
        aftermath_text(&aft);
    }
    free(lines);
    free(aft.debits);
    free(aft.windows);
    ocp_registry_close(r);
    ocp_keystore_close(ks);
    return EXIT_OK;
}
