/*
 * After a replacement (ocp/replacement.h), on both backends: the uses of
 * the old card that the new card did not carry become its debits (a late
 * upload of the holder's own tap, a use after the replacement), once each
 * however often they are uploaded; they come off the new card's known
 * values until the desk settles them; the window stays open per terminal
 * until the hotlist is published and the terminal took it.  And a
 * registry of schema version 1 migrates to 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends.h"
#include "db.h"
#include "ocp/batch.h"
#include "ocp/registry.h"
#include "ocp/replacement.h"

#define T1 0x0B000101u
#define T2 0x0B000102u
#define NOW 1790000000LL /* the replacement */
#define SERVICE 0x0101u

static const uint8_t old_card[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x20, 0x01};
static const uint8_t new_card[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x20, 0x02};

struct world {
    struct backend *be;
    ocp_registry *r;
    ocp_terminal_key *k1, *k2;
};

static uint32_t minutes(int64_t epoch)
{
    return (uint32_t)((epoch - 946684800LL) / 60);
}

/* Terminal t uploads one accepted use of the old card. */
static void upload_use(struct world *w, uint32_t terminal, uint32_t batch_no,
                       uint32_t seq, uint32_t counter, uint32_t remaining,
                       int64_t when, int64_t now)
{
    ocp_use_record rec;
    uint8_t buf[256], sig[OCP_BATCH_SIGNATURE_LEN];
    ocp_upload_result up;
    size_t len = ocp_batch_len(1);
    memset(&rec, 0, sizeof rec);
    rec.seq = seq;
    memcpy(rec.card_id, old_card, 8);
    rec.domain = 1;
    rec.service = SERVICE;
    rec.amount = 1;
    rec.datetime = minutes(when);
    rec.outcome = OCP_USE_ACCEPTED;
    rec.counter = counter;
    rec.remaining = remaining;
    assert_int_equal(ocp_batch_encode(terminal, batch_no, &rec, 1, buf, len),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(terminal == T1 ? w->k1 : w->k2, buf, len,
                                    sig),
                     OCP_OK);
    assert_int_equal(ocp_registry_upload(w->r, buf, len, sig, now, &up),
                     OCP_OK);
}

static void put_card(struct world *w, const uint8_t id[8], uint32_t remaining)
{
    ocp_registry_card card;
    ocp_entitlement e;
    memset(&card, 0, sizeof card);
    memcpy(card.card_id, id, 8);
    card.suite = OCP_SUITE_AES;
    card.txmac_version = 1;
    card.issuer_version = 1;
    snprintf(card.state, sizeof card.state, "active");
    card.issue_date = 9800;
    card.expiry_date = 9800 + 3650;
    assert_int_equal(ocp_registry_put_card(w->r, &card, NOW - 86400),
                     OCP_OK);
    memset(&e, 0, sizeof e);
    e.slot = 1;
    e.service = SERVICE;
    e.domain = 1;
    e.kind = OCP_KIND_COUNTER;
    e.valid_from = 9800;
    e.valid_to = 9800 + 3650;
    e.limit = 40;
    e.remaining = remaining;
    assert_int_equal(ocp_registry_put_entitlements(w->r, id, &e, 1,
                                                   NOW - 86400),
                     OCP_OK);
}

static uint32_t known_remaining(struct world *w, const uint8_t id[8])
{
    ocp_entitlement *e = NULL;
    size_t n = 0;
    uint32_t v;
    assert_int_equal(ocp_registry_known_entitlements(w->r, id, &e, &n),
                     OCP_OK);
    assert_int_equal(n, 1);
    v = e[0].remaining;
    free(e);
    return v;
}

struct debits {
    size_t n;
    ocp_debit d[8];
};

static int keep_debit(void *ctx, const ocp_debit *d)
{
    struct debits *l = ctx;
    assert_true(l->n < 8);
    l->d[l->n++] = *d;
    return 0;
}

struct windows {
    size_t n;
    uint32_t terminal[8];
};

static int keep_window(void *ctx, const ocp_open_window *w)
{
    struct windows *l = ctx;
    assert_memory_equal(w->card, old_card, 8);
    assert_true(l->n < 8);
    l->terminal[l->n++] = w->terminal_id;
    return 0;
}

static struct windows open_windows(struct world *w)
{
    struct windows l;
    memset(&l, 0, sizeof l);
    assert_int_equal(ocp_registry_open_windows(w->r, keep_window, &l),
                     OCP_OK);
    return l;
}

static void test_debits_and_windows(void **state)
{
    struct world w;
    struct debits l;
    struct windows open;
    char path[160], err[256];
    uint8_t pub[200];
    size_t pub_len;
    int k;

    memset(&w, 0, sizeof w);
    w.be = *state;
    assert_int_equal(ocp_registry_open(w.be->uri, &w.r, err, sizeof err),
                     OCP_OK);
    for (k = 1; k <= 2; k++) {
        snprintf(path, sizeof path, "%s/rt%d.pem", w.be->dir, k);
        pub_len = sizeof pub;
        assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                                 &pub_len),
                         OCP_OK);
        assert_int_equal(ocp_terminal_key_load(path, k == 1 ? &w.k1 : &w.k2),
                         OCP_OK);
        assert_int_equal(ocp_registry_enrol_terminal(
                             w.r, k == 1 ? T1 : T2, "bus-line-3",
                             "validator", pub, pub_len, NOW - 86400),
                         OCP_OK);
    }
    put_card(&w, old_card, 40);

    /* Three taps synced before the card was lost. */
    upload_use(&w, T1, 1, 1, 1, 39, NOW - 7200, NOW - 7000);
    upload_use(&w, T1, 2, 2, 2, 38, NOW - 6000, NOW - 5900);
    upload_use(&w, T1, 3, 3, 3, 37, NOW - 5000, NOW - 4900);
    /* The desk reads the carry-over: 37, up to counter 3. */
    assert_int_equal(known_remaining(&w, old_card), 37);
    /* The holder's own tap on a terminal that syncs only now, while the
     * new card is being issued: not carried, so owed. */
    upload_use(&w, T2, 1, 1, 4, 36, NOW - 4000, NOW - 10);
    put_card(&w, new_card, 37);
    assert_int_equal(
        ocp_registry_replace_card(w.r, old_card, new_card, "lost", NOW),
        OCP_OK);
    /* The found card used after the replacement, uploaded twice. */
    upload_use(&w, T1, 4, 4, 5, 35, NOW + 600, NOW + 700);
    upload_use(&w, T1, 4, 4, 5, 35, NOW + 600, NOW + 800);

    memset(&l, 0, sizeof l);
    assert_int_equal(ocp_registry_debits(w.r, new_card, 1, keep_debit, &l),
                     OCP_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.d[0].counter, 4);
    assert_int_equal(l.d[0].terminal_id, T2);
    assert_int_equal(l.d[1].counter, 5);
    assert_int_equal(l.d[1].seq, 4);
    assert_memory_equal(l.d[1].old_card, old_card, 8);
    assert_int_equal(l.d[1].amount, 1);
    assert_int_equal(l.d[1].applied_at, 0);
    /* The new card's known value owes them until settled. */
    assert_int_equal(known_remaining(&w, new_card), 35);

    /* No hotlist published since: every terminal may accept the card. */
    open = open_windows(&w);
    assert_int_equal(open.n, 2);
    assert_int_equal(ocp_registry_publish(w.r, "hotlist", 7,
                                          (const uint8_t *)"list", 4,
                                          NOW + 1000),
                     OCP_OK);
    open = open_windows(&w); /* published, nobody synced since */
    assert_int_equal(open.n, 2);
    /* Uploading is not enough: a terminal must take the list. */
    upload_use(&w, T1, 5, 5, 6, 34, NOW + 1100, NOW + 1200);
    open = open_windows(&w);
    assert_int_equal(open.n, 2);
    assert_int_equal(ocp_registry_note_hotlist(w.r, T1, 6), OCP_OK);
    open = open_windows(&w); /* an older list */
    assert_int_equal(open.n, 2);
    assert_int_equal(ocp_registry_note_hotlist(w.r, T1, 7), OCP_OK);
    assert_int_equal(ocp_registry_note_hotlist(w.r, T1, 6), OCP_OK);
    open = open_windows(&w); /* never backwards */
    assert_int_equal(open.n, 1);
    assert_int_equal(open.terminal[0], T2);
    upload_use(&w, T2, 2, 2, 7, 33, NOW + 1300, NOW + 1400);
    assert_int_equal(ocp_registry_note_hotlist(w.r, T2, 7), OCP_OK);
    open = open_windows(&w);
    assert_int_equal(open.n, 0);

    /* Those two late uses are owed too; the desk then writes 33. */
    memset(&l, 0, sizeof l);
    assert_int_equal(ocp_registry_debits(w.r, NULL, 1, keep_debit, &l),
                     OCP_OK);
    assert_int_equal(l.n, 4);
    assert_int_equal(ocp_registry_settle_debits(w.r, new_card, SERVICE, 33,
                                                NOW + 2000),
                     OCP_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(ocp_registry_debits(w.r, new_card, 1, keep_debit, &l),
                     OCP_OK);
    assert_int_equal(l.n, 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(ocp_registry_debits(w.r, new_card, 0, keep_debit, &l),
                     OCP_OK);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.d[0].applied_at, NOW + 2000);
    assert_int_equal(known_remaining(&w, new_card), 33);

    ocp_terminal_key_free(w.k1);
    ocp_terminal_key_free(w.k2);
    ocp_registry_close(w.r);
}

static int has_debits_table(void *ctx, const db_value *c, size_t n)
{
    (void)c;
    (void)n;
    *(int *)ctx = 1;
    return 1;
}

/* A registry of schema version 1 (as the first release made it) opens as
 * the current version, with version 2's new table and column. */
static void test_migrates_from_v1(void **state)
{
    struct backend *be = *state;
    ocp_registry *r;
    ocp_db *db;
    char err[256];
    int found = 0;
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    ocp_registry_close(r);
    assert_int_equal(db_open(be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(registry_back_to_v2(db), 0);
    assert_int_equal(db_exec(db, "DROP TABLE replacement_debits;"
                                 "ALTER TABLE cards DROP COLUMN "
                                 "carried_counter;"
                                 "ALTER TABLE terminals DROP COLUMN "
                                 "hotlist_version;"
                                 "UPDATE meta SET value = '1' WHERE key = "
                                 "'schema_version';"),
                     OCP_OK);
    assert_int_equal(ocp_registry_open(be->uri, &r, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db,
                              "SELECT value FROM meta WHERE key = "
                              "'schema_version' AND value = '3'",
                              NULL, 0, has_debits_table, &found, NULL),
                     OCP_OK);
    assert_int_equal(found, 1);
    found = 0;
    assert_int_equal(db_query(db,
                              "SELECT carried_counter FROM cards UNION ALL "
                              "SELECT COUNT(*) FROM replacement_debits",
                              NULL, 0, has_debits_table, &found, NULL),
                     OCP_OK);
    assert_int_equal(found, 1);
    ocp_registry_close(r);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debits_and_windows),
        cmocka_unit_test(test_migrates_from_v1),
    };
    return backends_run("replacement", tests, sizeof tests / sizeof tests[0]);
}
