/*
 * Settlement (ocp/report.h).  The audit runs first and names what must not
 * be paid: records it found forged or outside their window (by terminal
 * and sequence number), counters it found twice (by card and counter: both
 * records are suspect until someone looks), and cards it does not know.
 * Then one streaming query sums the rest per operator and service.
 * A use after a card's replacement is a real ride by the holder: it is
 * paid, and the audit's finding serves to charge it to the new card.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ocp/audit.h"
#include "ocp/report.h"
#include "registry_internal.h"

struct exclusion {
    uint8_t card[8];     /* zeros for a record exclusion */
    uint32_t terminal;   /* 0 for a card or counter exclusion */
    uint32_t seq;
    uint32_t counter;    /* 0 for a record or card exclusion */
    uint8_t whole_card;
};

struct report {
    struct exclusion *ex;
    size_t n_ex, cap_ex;
    ocp_report_line *lines;
    size_t n_lines, cap_lines;
    ocp_status failed;
};

static int cmp_exclusion(const void *x, const void *y)
{
    const struct exclusion *a = x, *b = y;
    int c = memcmp(a->card, b->card, 8);
    if (c != 0)
        return c;
    if (a->terminal != b->terminal)
        return a->terminal < b->terminal ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    if (a->counter != b->counter)
        return a->counter < b->counter ? -1 : 1;
    return (int)a->whole_card - (int)b->whole_card;
}

static void exclude(struct report *rep, const struct exclusion *e)
{
    if (rep->n_ex == rep->cap_ex) {
        size_t cap = rep->cap_ex ? 2 * rep->cap_ex : 64;
        struct exclusion *p = realloc(rep->ex, cap * sizeof *p);
        if (p == NULL) {
            rep->failed = OCP_E_NOMEM;
            return;
        }
        rep->ex = p;
        rep->cap_ex = cap;
    }
    rep->ex[rep->n_ex++] = *e;
}

static void on_finding(void *ctx, const ocp_finding *f)
{
    struct report *rep = ctx;
    struct exclusion e;
    memset(&e, 0, sizeof e);
    switch (f->kind) {
    case OCP_FINDING_FORGED:
    case OCP_FINDING_WINDOW:
        if (f->seq == 0)
            return; /* a whole batch: its records have findings of their own */
        e.terminal = f->terminal_id;
        e.seq = f->seq;
        break;
    case OCP_FINDING_CLONED:
        memcpy(e.card, f->card_id, 8);
        e.counter = f->counter;
        break;
    case OCP_FINDING_UNKNOWN:
        memcpy(e.card, f->card_id, 8);
        e.whole_card = 1;
        break;
    default:
        return;
    }
    exclude(rep, &e);
}

static int excluded(const struct report *rep, uint32_t terminal, uint32_t seq,
                    const uint8_t card[8], uint32_t counter)
{
    struct exclusion keys[3];
    int i;
    memset(keys, 0, sizeof keys);
    keys[0].terminal = terminal;
    keys[0].seq = seq;
    memcpy(keys[1].card, card, 8);
    keys[1].counter = counter;
    memcpy(keys[2].card, card, 8);
    keys[2].whole_card = 1;
    if (rep->n_ex == 0)
        return 0; /* and bsearch may not be given a null array */
    for (i = 0; i < 3; i++)
        if (bsearch(&keys[i], rep->ex, rep->n_ex, sizeof *rep->ex,
                    cmp_exclusion) != NULL)
            return 1;
    return 0;
}

static int use_row(void *ctx, const db_value *c, size_t n)
{
    struct report *rep = ctx;
    ocp_report_line *line;
    uint8_t card[8];
    if (n < 8 || c[0].type != DB_TEXT || c[5].type != DB_TEXT ||
        reg_unhex(c[5].s, card) != 0)
        return 0;
    line = rep->n_lines > 0 ? &rep->lines[rep->n_lines - 1] : NULL;
    if (line == NULL || strcmp(line->operator_name, c[0].s) != 0 ||
        line->service != (uint16_t)c[1].i ||
        line->domain != (uint8_t)c[2].i) {
        if (rep->n_lines == rep->cap_lines) {
            size_t cap = rep->cap_lines ? 2 * rep->cap_lines : 16;
            ocp_report_line *p = realloc(rep->lines, cap * sizeof *p);
            if (p == NULL) {
                rep->failed = OCP_E_NOMEM;
                return 1;
            }
            rep->lines = p;
            rep->cap_lines = cap;
        }
        line = &rep->lines[rep->n_lines++];
        memset(line, 0, sizeof *line);
        snprintf(line->operator_name, sizeof line->operator_name, "%s",
                 c[0].s);
        line->service = (uint16_t)c[1].i;
        line->domain = (uint8_t)c[2].i;
    }
    if (excluded(rep, (uint32_t)c[3].i, (uint32_t)c[4].i, card,
                 (uint32_t)c[6].i)) {
        line->excluded++;
    } else {
        line->uses++;
        line->amount += (uint64_t)c[7].i;
    }
    return 0;
}

ocp_status ocp_report(ocp_registry *r, ocp_keystore *ks, uint16_t from,
                      uint16_t to, ocp_report_line **lines, size_t *n)
{
    struct report rep;
    ocp_audit_summary sum;
    ocp_status st;
    if (r == NULL || ks == NULL || lines == NULL || n == NULL || from > to)
        return OCP_E_ARGS;
    *lines = NULL;
    *n = 0;
    memset(&rep, 0, sizeof rep);
    rep.failed = OCP_OK;
    st = ocp_audit(r, ks, on_finding, NULL, &rep, &sum);
    if (st == OCP_OK && rep.failed == OCP_OK) {
        if (rep.n_ex > 0)
            qsort(rep.ex, rep.n_ex, sizeof *rep.ex, cmp_exclusion);
        st = db_query(r->db,
                      "SELECT t.operator, u.service, u.domain, u.terminal_id, "
                      "u.seq, u.card_id, u.counter, u.amount FROM uses u "
                      "JOIN terminals t ON t.terminal_id = u.terminal_id "
                      "WHERE u.outcome = 1 AND u.datetime >= $1 AND "
                      "u.datetime < $2 ORDER BY t.operator, u.service, "
                      "u.domain",
                      (db_value[]){db_int((int64_t)from * 1440),
                                   db_int(((int64_t)to + 1) * 1440)},
                      2, use_row, &rep, NULL);
        if (st != OCP_OK)
            reg_set_error(r, "summing the uses");
    }
    free(rep.ex);
    if (st == OCP_OK && rep.failed != OCP_OK)
        st = rep.failed;
    if (st != OCP_OK) {
        free(rep.lines);
        return st;
    }
    *lines = rep.lines;
    *n = rep.n_lines;
    return OCP_OK;
}
