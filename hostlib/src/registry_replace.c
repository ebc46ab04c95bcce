/*
 * After a replacement (ocp/replacement.h): the uses of the old card that
 * the new card owes, and the terminals that may still accept the old card.
 * The replacement itself and the carry-over are in registry.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ocp/replacement.h"
#include "registry_internal.h"

/* An accepted use of a replaced card above the counter its replacement
 * carried is owed by the replacement; the same use noted twice (an upload
 * again, or at the replacement and its upload) is one debit. */
#define DEBITS_FROM_USES                                                   \
    "INSERT INTO replacement_debits(terminal_id, seq, old_card, new_card, " \
    "service, domain, amount, datetime, counter, recorded_at) "            \
    "SELECT u.terminal_id, u.seq, u.card_id, c.replaced_by, u.service, "   \
    "u.domain, u.amount, u.datetime, u.counter, $1 FROM uses u JOIN cards " \
    "c ON c.card_id = u.card_id WHERE c.state = 'replaced' AND "           \
    "c.replaced_by IS NOT NULL AND u.outcome = 1 AND u.counter > "         \
    "COALESCE(c.carried_counter, 0) AND "

ocp_status reg_note_debits(ocp_registry *r, uint32_t terminal,
                           uint32_t first_seq, uint32_t last_seq,
                           int64_t now)
{
    return db_query(r->db,
                    DEBITS_FROM_USES
                    "u.terminal_id = $2 AND u.seq >= $3 AND u.seq <= $4 "
                    "ON CONFLICT(terminal_id, seq) DO NOTHING",
                    (db_value[]){db_int(now), db_int(terminal),
                                 db_int(first_seq), db_int(last_seq)},
                    4, NULL, NULL, NULL);
}

ocp_status reg_note_card_debits(ocp_registry *r, const char *card_hex,
                                int64_t now)
{
    return db_query(r->db,
                    DEBITS_FROM_USES
                    "u.card_id = $2 ON CONFLICT(terminal_id, seq) DO NOTHING",
                    (db_value[]){db_int(now), db_text(card_hex)}, 2, NULL,
                    NULL, NULL);
}

struct debit_list {
    ocp_debit_fn fn;
    void *ctx;
    int malformed;
};

static int debit_row(void *ctx, const db_value *c, size_t n)
{
    struct debit_list *l = ctx;
    ocp_debit d;
    size_t i;
    if (n < 11 || c[0].type != DB_TEXT || c[1].type != DB_TEXT) {
        l->malformed = 1;
        return 1;
    }
    for (i = 2; i < 11; i++)
        if (c[i].type != DB_INT || c[i].i < 0) {
            l->malformed = 1;
            return 1;
        }
    memset(&d, 0, sizeof d);
    if (reg_unhex(c[0].s, d.old_card) != 0 ||
        reg_unhex(c[1].s, d.new_card) != 0) {
        l->malformed = 1;
        return 1;
    }
    d.terminal_id = (uint32_t)c[2].i;
    d.seq = (uint32_t)c[3].i;
    d.counter = (uint32_t)c[4].i;
    d.service = (uint16_t)c[5].i;
    d.domain = (uint8_t)c[6].i;
    d.amount = (uint32_t)c[7].i;
    d.datetime = (uint32_t)c[8].i;
    d.recorded_at = c[9].i;
    d.applied_at = c[10].i;
    return l->fn(l->ctx, &d);
}

ocp_status ocp_registry_debits(ocp_registry *r, const uint8_t *new_card,
                               int open_only, ocp_debit_fn fn, void *ctx)
{
    struct debit_list l;
    char id[17] = "";
    ocp_status st;
    if (r == NULL || fn == NULL)
        return OCP_E_ARGS;
    if (new_card != NULL)
        reg_hex(new_card, id);
    memset(&l, 0, sizeof l);
    l.fn = fn;
    l.ctx = ctx;
    st = db_query(r->db,
                  "SELECT old_card, new_card, terminal_id, seq, counter, "
                  "service, domain, amount, datetime, recorded_at, "
                  "COALESCE(applied_at, 0) FROM "
                  "replacement_debits WHERE ($1 = '' OR new_card = $1) AND "
                  "($2 = 0 OR applied_at IS NULL) "
                  "ORDER BY new_card, datetime, terminal_id, seq",
                  (db_value[]){db_text(id), db_int(open_only != 0)}, 2,
                  debit_row, &l, NULL);
    return reg_listed(r, st, l.malformed, "listing the replacement debits", "replacement_debits");
}

ocp_status ocp_registry_settle_debits(ocp_registry *r,
                                      const uint8_t new_card[8],
                                      uint16_t service, uint32_t remaining,
                                      int64_t now)
{
    char id[17];
    ocp_status st;
    if (r == NULL || new_card == NULL)
        return OCP_E_ARGS;
    reg_hex(new_card, id);
    st = db_begin(r->db);
    if (st == OCP_OK)
        st = db_query(r->db,
                      "UPDATE replacement_debits SET applied_at = $3 WHERE "
                      "new_card = $1 AND service = $2 AND applied_at IS NULL",
                      (db_value[]){db_text(id), db_int(service), db_int(now)},
                      3, NULL, NULL, NULL);
    if (st == OCP_OK)
        st = db_query(r->db,
                      "UPDATE entitlements SET known_remaining = $3, "
                      "known_at = $4 WHERE card_id = $1 AND service = $2",
                      (db_value[]){db_text(id), db_int(service),
                                   db_int(remaining), db_int(now)},
                      4, NULL, NULL, NULL);
    if (st == OCP_OK)
        st = db_commit(r->db);
    else
        db_rollback(r->db);
    if (st != OCP_OK)
        reg_set_error(r, "settling the replacement debits");
    return st;
}

struct window_list {
    ocp_open_window_fn fn;
    void *ctx;
    int malformed;
};

static int window_row(void *ctx, const db_value *c, size_t n)
{
    struct window_list *l = ctx;
    ocp_open_window w;
    if (n < 7 || c[0].type != DB_TEXT || c[1].type != DB_INT ||
        c[2].type != DB_INT || c[3].type != DB_TEXT) {
        l->malformed = 1;
        return 1;
    }
    memset(&w, 0, sizeof w);
    if (reg_unhex(c[0].s, w.card) != 0) {
        l->malformed = 1;
        return 1;
    }
    w.replaced_at = c[1].i;
    w.terminal_id = (uint32_t)c[2].i;
    snprintf(w.operator_name, sizeof w.operator_name, "%s", c[3].s);
    w.last_sync = c[4].type == DB_INT ? c[4].i : 0;
    w.published_at = c[5].type == DB_INT ? c[5].i : 0;
    w.hotlist_version = c[6].type == DB_INT ? (uint32_t)c[6].i : 0;
    return l->fn(l->ctx, &w);
}

ocp_status ocp_registry_note_hotlist(ocp_registry *r, uint32_t terminal_id,
                                     uint32_t version)
{
    ocp_status st;
    if (r == NULL)
        return OCP_E_ARGS;
    /* Never backwards: a terminal given an older file by hand still holds
     * what it took before as far as the registry can tell. */
    st = db_query(r->db,
                  "UPDATE terminals SET hotlist_version = $2 WHERE "
                  "terminal_id = $1 AND (hotlist_version IS NULL OR "
                  "hotlist_version < $2)",
                  (db_value[]){db_int(terminal_id), db_int(version)}, 2, NULL,
                  NULL, NULL);
    if (st != OCP_OK)
        reg_set_error(r, "noting the terminal's hotlist");
    return st;
}

ocp_status ocp_registry_open_windows(ocp_registry *r, ocp_open_window_fn fn,
                                     void *ctx)
{
    struct window_list l;
    ocp_status st;
    if (r == NULL || fn == NULL)
        return OCP_E_ARGS;
    memset(&l, 0, sizeof l);
    l.fn = fn;
    l.ctx = ctx;
    /* The newest published hotlist is the one terminals download; one
     * published before the replacement does not list the card. */
    st = db_query(
        r->db,
        "SELECT c.card_id, c.replaced_at, t.terminal_id, t.operator, "
        "t.last_sync, CASE WHEN p.issued_at >= c.replaced_at THEN "
        "p.issued_at END, t.hotlist_version FROM cards c CROSS JOIN "
        "terminals t LEFT JOIN published p ON p.name = 'hotlist' WHERE "
        "c.state = 'replaced' AND c.replaced_at IS NOT NULL AND "
        "t.revoked_at IS NULL AND (p.issued_at IS NULL OR p.issued_at < "
        "c.replaced_at OR t.hotlist_version IS NULL OR t.hotlist_version < "
        "p.version) "
        "ORDER BY c.replaced_at, c.card_id, t.terminal_id",
        NULL, 0, window_row, &l, NULL);
    if (st != OCP_OK) {
        reg_set_error(r, "listing the open replacement windows");
        return st;
    }
    if (l.malformed) {
        snprintf(r->error, sizeof r->error,
                 "a replaced card or terminal row is malformed");
        return OCP_E_DB;
    }
    return OCP_OK;
}
