/*
 * The audit (ocp/audit.h) on records that real taps made: an in-process
 * card, ocp_tap with real terminal journals, ocp_sync_upload into a real
 * registry (SQLite and PostgreSQL).  Each kind of finding is produced the
 * way it happens in the field and counted: a terminal that never synced
 * (missing), a card image restored to an older copy (cloned), a record
 * edited in the database (forged: not as signed), a rogue terminal's
 * invented certificate (forged), a terminal clock running backwards
 * (clock), a window the registry shortened (window), a replaced card
 * (replaced), a card the registry never issued (unknown).  A clean run has
 * no finding at all.  Settlement (ocp/report.h) pays what the audit
 * accepts and holds back the rest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "cert_verify.h"
#include "ocp_crypto.h"
#include "backends.h"
#include "db.h"
#include "ocp/audit.h"
#include "ocp/report.h"
#include "ocp/sync.h"
#include "ocp/tap.h"
#include "port_test.h"
#include "hostlib_internal.h"

#define T1 0x0B000001u
#define T2 0x0B000002u
#define EPOCH_2000 946684800LL


struct world {
    struct backend *be;
    struct card_fixture fx;
    ocp_registry *r;
    ocp_journal *j1, *j2;
    ocp_terminal_key *k1, *k2;
};

static uint64_t found[OCP_FINDING_KINDS];

static void on_finding(void *ctx, const ocp_finding *f)
{
    (void)ctx;
    found[f->kind]++;
}

static ocp_audit_summary audit(struct world *w)
{
    ocp_audit_summary sum;
    memset(found, 0, sizeof found);
    assert_int_equal(ocp_audit(w->r, w->fx.ks, on_finding, NULL, NULL, &sum),
                     OCP_OK);
    assert_memory_equal(found, sum.findings, sizeof found);
    return sum;
}

static void tap(struct world *w, ocp_journal *j, uint32_t terminal,
                uint32_t minute)
{
    ocp_tap_params p;
    ocp_tap_result res;
    memset(&p, 0, sizeof p);
    p.role = OCP_ROLE_TRANSIT;
    p.service = SVC_BUS;
    p.amount = 1;
    p.terminal_id = terminal;
    p.datetime = FIX_NOW + minute;
    p.ks = w->fx.ks;
    p.journal = j;
    assert_int_equal(ocp_inproc_power_cycle(w->fx.t), OCP_OK);
    assert_int_equal(ocp_tap(w->fx.t, &p, &res), OCP_OK);
    assert_int_equal(res.outcome, OCP_TAP_ACCEPTED);
}

static void sync_terminal(struct world *w, ocp_journal *j, ocp_terminal_key *k,
                 uint32_t terminal)
{
    ocp_sync_result res;
    assert_int_equal(ocp_sync_upload(j, w->r, k, terminal,
                                     EPOCH_2000 + FIX_NOW * 60LL, &res),
                     OCP_OK);
}

/* A batch no journal made: what a rogue or broken terminal sends. */
static void upload_crafted(struct world *w, ocp_terminal_key *k,
                           uint32_t terminal, uint32_t batch_no,
                           const ocp_use_record *recs, size_t n)
{
    uint8_t buf[1024], sig[OCP_BATCH_SIGNATURE_LEN];
    ocp_upload_result up;
    size_t len = ocp_batch_len(n);
    assert_true(len <= sizeof buf);
    assert_int_equal(ocp_batch_encode(terminal, batch_no, recs, n, buf, len),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, buf, len, sig), OCP_OK);
    assert_int_equal(ocp_registry_upload(w->r, buf, len, sig,
                                         EPOCH_2000 + FIX_NOW * 60LL, &up),
                     OCP_OK);
}

static ocp_status sql_may_fail(struct world *w, const char *statement)
{
    ocp_db *db;
    char err[256];
    ocp_status st;
    assert_int_equal(db_open(w->be->uri, &db, err, sizeof err), OCP_OK);
    st = db_query(db, statement, NULL, 0, NULL, NULL, NULL);
    db_close(db);
    return st;
}

static int rec_row(void *ctx, const db_value *c, size_t n)
{
    uint8_t *rec = ctx;
    assert_true(n == 1 && c[0].type == DB_BLOB &&
                c[0].len == OCP_BATCH_RECORD_LEN);
    memcpy(rec, c[0].b, OCP_BATCH_RECORD_LEN);
    return 1;
}

static int int_row(void *ctx, const db_value *c, size_t n)
{
    assert_true(n == 1 && c[0].type == DB_INT);
    *(int64_t *)ctx = c[0].i;
    return 1;
}

/* Sets one byte of a stored record's signed form, as someone with write
 * access to the database could. */
static void edit_rec_byte(struct world *w, uint32_t terminal, uint32_t seq,
                          size_t offset, uint8_t value)
{
    ocp_db *db;
    char err[256];
    uint8_t rec[OCP_BATCH_RECORD_LEN] = {0};
    db_value key[2] = {db_int(terminal), db_int(seq)};
    assert_int_equal(db_open(w->be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db,
                              "SELECT rec FROM uses WHERE terminal_id = $1 "
                              "AND seq = $2",
                              key, 2, rec_row, rec, NULL),
                     OCP_OK);
    rec[offset] = value;
    assert_int_equal(
        db_query(db, "UPDATE uses SET rec = $3 WHERE terminal_id = $1 AND "
                     "seq = $2",
                 (db_value[]){key[0], key[1], db_blob(rec, sizeof rec)}, 3,
                 NULL, NULL, NULL),
        OCP_OK);
    db_close(db);
}

static int64_t stored_amount(struct world *w, uint32_t terminal, uint32_t seq)
{
    ocp_db *db;
    char err[256];
    int64_t amount = -1;
    assert_int_equal(db_open(w->be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db,
                              "SELECT amount FROM uses WHERE terminal_id = $1 "
                              "AND seq = $2",
                              (db_value[]){db_int(terminal), db_int(seq)}, 2,
                              int_row, &amount, NULL),
                     OCP_OK);
    db_close(db);
    return amount;
}

static void sql(struct world *w, const char *statement)
{
    ocp_db *db;
    char err[256];
    assert_int_equal(db_open(w->be->uri, &db, err, sizeof err), OCP_OK);
    assert_int_equal(db_query(db, statement, NULL, 0, NULL, NULL, NULL),
                     OCP_OK);
    db_close(db);
}

static void test_findings(void **state)
{
    struct world w;
    char path[160], err[256];
    uint8_t pub[200], image[OCP_NVM_SIZE];
    size_t pub_len;
    ocp_registry_card card;
    ocp_audit_summary sum;
    ocp_use_record rec;
    int k;

    memset(&w, 0, sizeof w);
    w.be = *state;
    assert_int_equal(fixture_issued(&w.fx, OCP_SUITE_AES), 0);
    assert_int_equal(ocp_registry_open(w.be->uri, &w.r, err, sizeof err),
                     OCP_OK);
    for (k = 1; k <= 2; k++) {
        snprintf(path, sizeof path, "%s/t%d.pem", w.be->dir, k);
        pub_len = sizeof pub;
        assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                                 &pub_len),
                         OCP_OK);
        assert_int_equal(ocp_terminal_key_load(path, k == 1 ? &w.k1 : &w.k2),
                         OCP_OK);
        assert_int_equal(ocp_registry_enrol_terminal(
                             w.r, k == 1 ? T1 : T2, "bus-line-7", "validator",
                             pub, pub_len, 0),
                         OCP_OK);
        snprintf(path, sizeof path, "%s/j%d.db", w.be->dir, k);
        assert_int_equal(ocp_journal_open(path, k == 1 ? T1 : T2,
                                          k == 1 ? &w.j1 : &w.j2),
                         OCP_OK);
    }
    memset(&card, 0, sizeof card);
    memcpy(card.card_id, w.fx.card_id, 8);
    card.suite = OCP_SUITE_AES;
    card.txmac_version = 1;
    snprintf(card.state, sizeof card.state, "active");
    card.issue_date = FIX_DAY;
    card.expiry_date = FIX_DAY + 3650;
    assert_int_equal(ocp_registry_put_card(w.r, &card, 0), OCP_OK);

    /* T1 taps, T2 taps, T1 taps twice: counters 1..4.  Only T1 syncs. */
    tap(&w, w.j1, T1, 1);
    tap(&w, w.j2, T2, 2);
    tap(&w, w.j1, T1, 3);
    tap(&w, w.j1, T1, 4);
    sync_terminal(&w, w.j1, w.k1, T1);
    sum = audit(&w);
    assert_int_equal(sum.records, 3);
    assert_int_equal(sum.genuine, 3);
    assert_int_equal(found[OCP_FINDING_MISSING], 1); /* counter 2 */
    sync_terminal(&w, w.j2, w.k2, T2);
    sum = audit(&w);
    assert_int_equal(sum.genuine, 4);
    for (k = 0; k < OCP_FINDING_KINDS; k++)
        assert_int_equal(found[k], 0); /* a clean registry: nothing */

    /* The card's image restored to an older copy: counter 5 twice. */
    port_test_get_image(image);
    tap(&w, w.j1, T1, 5);
    port_test_set_image(image);
    tap(&w, w.j1, T1, 6);
    sync_terminal(&w, w.j1, w.k1, T1);
    sum = audit(&w);
    assert_int_equal(sum.genuine, 6);
    assert_int_equal(found[OCP_FINDING_CLONED], 1);
    assert_int_equal(found[OCP_FINDING_FORGED], 0);

    /* Schema version 3: the fields are computed from the signed bytes,
     * so an edit of a field alone is refused by the database. */
    assert_int_equal(sql_may_fail(&w, "UPDATE uses SET amount = 2 WHERE "
                                      "seq = 1 AND terminal_id = 184549377"),
                     OCP_E_DB);
    assert_int_equal(sql_may_fail(&w, "UPDATE uses SET rec = X'00' WHERE "
                                      "seq = 1 AND terminal_id = 184549377"),
                     OCP_E_DB);
    /* Someone edits the signed bytes themselves (the amount, 2 for 1):
     * the row reads 2, and the audit finds it is not as signed. */
    edit_rec_byte(&w, T1, 1, 18, 2);
    assert_int_equal(stored_amount(&w, T1, 1), 2);
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_FORGED], 1);
    edit_rec_byte(&w, T1, 1, 18, 1);
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_FORGED], 0);

    /* A rogue terminal invents a consumption: its signature is fine, the
     * certificate is not the card's. */
    memset(&rec, 0, sizeof rec);
    rec.seq = 100;
    memcpy(rec.card_id, w.fx.card_id, 8);
    rec.domain = OCP_ROLE_TRANSIT;
    rec.service = SVC_BUS;
    rec.amount = 1;
    rec.datetime = FIX_NOW + 10;
    rec.outcome = OCP_USE_ACCEPTED;
    rec.counter = 7;
    rec.remaining = 0xFFFFFFFFu;
    memset(rec.cert, 0x5A, 8);
    upload_crafted(&w, w.k2, T2, 50, &rec, 1);
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_FORGED], 1);

    /* Settlement: six genuine rides, of which the two sharing counter 5
     * are held back with the invented one. */
    {
        ocp_report_line *lines;
        size_t n;
        assert_int_equal(ocp_report(w.r, w.fx.ks, FIX_DAY, FIX_DAY, &lines,
                                    &n),
                         OCP_OK);
        assert_int_equal(n, 1);
        assert_string_equal(lines[0].operator_name, "bus-line-7");
        assert_int_equal(lines[0].service, SVC_BUS);
        assert_int_equal(lines[0].domain, OCP_ROLE_TRANSIT);
        assert_int_equal(lines[0].uses, 4);
        assert_int_equal(lines[0].amount, 4);
        assert_int_equal(lines[0].excluded, 3);
        free(lines);
        /* Another day: nothing to pay. */
        assert_int_equal(ocp_report(w.r, w.fx.ks, FIX_DAY + 1, FIX_DAY + 9,
                                    &lines, &n),
                         OCP_OK);
        assert_int_equal(n, 0);
        free(lines);
    }

    /* T2's clock runs backwards: a later record dated earlier. */
    rec.seq = 101;
    rec.datetime = FIX_NOW - 600;
    rec.outcome = OCP_USE_REFUSED; /* no certificate to check */
    upload_crafted(&w, w.k2, T2, 51, &rec, 1);
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_CLOCK], 1);

    /* The registry shortened the pass: uses after its end. */
    {
        char statement[300], id[17];
        static const char digits[] = "0123456789ABCDEF";
        for (k = 0; k < 8; k++) {
            id[2 * k] = digits[w.fx.card_id[k] >> 4];
            id[2 * k + 1] = digits[w.fx.card_id[k] & 15];
        }
        id[16] = '\0';
        snprintf(statement, sizeof statement,
                 "INSERT INTO entitlements(card_id, slot, service, domain, "
                 "kind, valid_from, valid_to, period, limit_value, "
                 "known_remaining, known_at) VALUES('%s', 1, %u, 2, 1, 9800, "
                 "%u, 0, 0, 0, 0)",
                 id, SVC_BUS, FIX_DAY - 1);
        sql(&w, statement);
    }
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_WINDOW], sum.genuine);

    /* The card was replaced at minute 3: the uses dated after count. */
    card.replaced_by[7] = 0x99;
    card.replaced_at = EPOCH_2000 + (FIX_NOW + 3) * 60LL;
    snprintf(card.state, sizeof card.state, "replaced");
    assert_int_equal(ocp_registry_put_card(w.r, &card, 0), OCP_OK);
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_REPLACED], 3); /* minutes 4, 5, 6 */

    /* Records of a card the registry never issued. */
    rec.seq = 102;
    rec.card_id[7] ^= 0xFF;
    rec.datetime = FIX_NOW + 20;
    upload_crafted(&w, w.k2, T2, 52, &rec, 1);
    sum = audit(&w);
    assert_int_equal(found[OCP_FINDING_UNKNOWN], 1);

    /* Backup, then the retention rule run 20 years on empties the
     * registry's records; the restored backup audits exactly as before. */
    {
        ocp_audit_summary after;
        ocp_purge_result purged;
        char backup[160];
        snprintf(backup, sizeof backup, "%s/registry.backup", w.be->dir);
        assert_int_equal(ocp_registry_log_access(w.r, "clerk-wang",
                                                 "holder record",
                                                 w.fx.card_id, 1),
                         OCP_OK);
        assert_int_equal(ocp_registry_backup(w.r, backup), OCP_OK);
        assert_int_equal(ocp_registry_purge(
                             w.r, EPOCH_2000 + (FIX_NOW * 60LL) +
                                      20LL * 365 * 86400,
                             &purged),
                         OCP_OK);
        assert_int_equal(purged.uses, sum.records);
        assert_true(purged.batches >= 4);
        after = audit(&w);
        assert_int_equal(after.records, 0);
        assert_int_equal(after.batches, 0);
        assert_int_equal(ocp_registry_restore(w.r, backup), OCP_OK);
        after = audit(&w);
        assert_memory_equal(&after, &sum, sizeof sum);
    }

    ocp_journal_close(w.j1);
    ocp_journal_close(w.j2);
    ocp_terminal_key_free(w.k1);
    ocp_terminal_key_free(w.k2);
    ocp_registry_close(w.r);
    fixture_free(&w.fx);
}

/* ---- the threads agree ---------------------------------------------------- */

#define MANY_CARDS 60u
#define PER_CARD 6u

struct finding_list {
    ocp_finding f[2048];
    size_t n;
};

static void keep_finding(void *ctx, const ocp_finding *f)
{
    struct finding_list *l = ctx;
    assert_true(l->n < sizeof l->f / sizeof l->f[0]);
    l->f[l->n++] = *f;
}

static void many_card_id(unsigned i, uint8_t id[8])
{
    static const uint8_t base[8] = {0x4F, 0x43, 0x50, 0x00,
                                    0x00, 0x00, 0x10, 0x00};
    memcpy(id, base, 8);
    id[7] = (uint8_t)i;
}

/* A record of card i with a genuine certificate (a broken one when
 * forge is set). */
static void make_record(struct world *w, unsigned i, uint32_t terminal,
                        uint32_t seq, uint32_t counter, uint32_t amount,
                        uint32_t datetime, int forge, ocp_use_record *r)
{
    uint8_t key[16], m[40], tag[16];
    memset(r, 0, sizeof *r);
    many_card_id(i, r->card_id);
    r->seq = seq;
    r->domain = 1;
    r->service = 0x0101;
    r->amount = amount;
    r->datetime = datetime;
    r->outcome = OCP_USE_ACCEPTED;
    r->counter = counter;
    r->remaining = 100 - counter;
    assert_int_equal(w->fx.ks->ops->card_key(w->fx.ks, OCP_SUITE_AES,
                                             r->card_id, OCP_KEY_TXMAC, 1,
                                             key),
                     OCP_OK);
    hl_cert_message(terminal, r, m);
    ocp_cmac(OCP_CIPHER_AES128, key, m, sizeof m, tag);
    memcpy(r->cert, tag, 8);
    if (forge)
        r->cert[0] ^= 1;
}

/*
 * One registry audited with 1 to 7 threads gives the same findings in the
 * same order and the same summary.  60 cards (every seventh missing a
 * record, cloned, or forged; every eleventh unknown to the registry, one
 * replaced), three terminals, one of whose clocks runs backwards.
 */
static void test_threads_agree(void **state)
{
    static const char *const threads[] = {"1", "2", "3", "7"};
    static struct finding_list first, now;
    static ocp_use_record recs[3][MANY_CARDS * (PER_CARD + 1)];
    struct world w;
    ocp_terminal_key *keys[3];
    size_t nrec[3] = {0, 0, 0};
    uint32_t seq[3] = {0, 0, 0};
    char path[160], err[256];
    uint8_t pub[200];
    size_t pub_len, t, k;
    ocp_audit_summary sum, base;
    int64_t before = 0;
    unsigned i, c;

    memset(&w, 0, sizeof w);
    w.be = *state;
    assert_int_equal(fixture_issued(&w.fx, OCP_SUITE_AES), 0);
    assert_int_equal(ocp_registry_open(w.be->uri, &w.r, err, sizeof err),
                     OCP_OK);
    for (t = 0; t < 3; t++) {
        snprintf(path, sizeof path, "%s/many-t%zu.pem", w.be->dir, t);
        pub_len = sizeof pub;
        assert_int_equal(ocp_terminal_key_create(path, OCP_SUITE_AES, pub,
                                                 &pub_len),
                         OCP_OK);
        assert_int_equal(ocp_terminal_key_load(path, &keys[t]), OCP_OK);
        assert_int_equal(ocp_registry_enrol_terminal(
                             w.r, T1 + 0x10 + (uint32_t)t, "bus-line-9",
                             "validator", pub, pub_len, 0),
                         OCP_OK);
    }
    for (i = 0; i < MANY_CARDS; i++) {
        ocp_registry_card card;
        if (i % 11 == 0)
            continue; /* a card the registry never issued */
        memset(&card, 0, sizeof card);
        many_card_id(i, card.card_id);
        card.suite = OCP_SUITE_AES;
        card.txmac_version = 1;
        snprintf(card.state, sizeof card.state, "active");
        card.issue_date = FIX_DAY;
        card.expiry_date = FIX_DAY + 3650;
        if (i == 20) {
            card.replaced_at = EPOCH_2000 + (FIX_NOW - 100) * 60LL;
            snprintf(card.state, sizeof card.state, "replaced");
        }
        assert_int_equal(ocp_registry_put_card(w.r, &card, 0), OCP_OK);
    }
    for (i = 0; i < MANY_CARDS; i++) {
        for (c = 1; c <= PER_CARD; c++) {
            ocp_use_record *r;
            uint32_t when = FIX_NOW - 60 + i / 4 + c;
            t = (i + c) % 3;
            if (i % 7 == 1 && c == 3)
                continue; /* never uploaded: missing */
            r = &recs[t][nrec[t]++];
            seq[t]++;
            /* Terminal 3's clock jumps back a day once. */
            if (t == 2 && seq[t] == 40)
                when -= 1440;
            make_record(&w, i, T1 + 0x10 + (uint32_t)t, seq[t], c, 10 + c,
                        when, i % 7 == 3 && c == 2, r);
            if (i % 7 == 2 && c == 4) { /* the same counter again: a clone */
                r = &recs[t][nrec[t]++];
                seq[t]++;
                make_record(&w, i, T1 + 0x10 + (uint32_t)t, seq[t], c, 99,
                            when, 0, r);
            }
        }
    }
    assert_int_equal(ocp_registry_count_uses(w.r, &before), OCP_OK);
    for (t = 0; t < 3; t++)
        for (k = 0; k < nrec[t]; k += 20)
            upload_crafted(&w, keys[t], T1 + 0x10 + (uint32_t)t,
                           (uint32_t)(k / 20 + 1), &recs[t][k],
                           nrec[t] - k < 20 ? nrec[t] - k : 20);

    for (k = 0; k < sizeof threads / sizeof threads[0]; k++) {
        struct finding_list *l = k == 0 ? &first : &now;
        l->n = 0;
        setenv("OCP_AUDIT_THREADS", threads[k], 1);
        assert_int_equal(
            ocp_audit(w.r, w.fx.ks, keep_finding, NULL, l, &sum), OCP_OK);
        /* Every thread asked for joined (one state of the registry). */
        assert_int_equal(sum.threads, (uint32_t)atoi(threads[k]));
        if (k == 0) {
            base = sum;
            continue;
        }
        sum.threads = base.threads;
        assert_memory_equal(&sum, &base, sizeof sum);
        assert_int_equal(now.n, first.n);
        for (i = 0; i < now.n; i++) {
            assert_int_equal(now.f[i].kind, first.f[i].kind);
            assert_memory_equal(now.f[i].card_id, first.f[i].card_id, 8);
            assert_string_equal(now.f[i].detail, first.f[i].detail);
        }
    }
    unsetenv("OCP_AUDIT_THREADS");

    /* A registry of schema version 2 moves to version 3 with every record
     * as it was: the same audit, finding for finding. */
    {
        ocp_db *db;
        ocp_registry_close(w.r);
        assert_int_equal(db_open(w.be->uri, &db, err, sizeof err), OCP_OK);
        assert_int_equal(registry_back_to_v2(db), 0);
        db_close(db);
        assert_int_equal(ocp_registry_open(w.be->uri, &w.r, err, sizeof err),
                         OCP_OK);
        now.n = 0;
        assert_int_equal(
            ocp_audit(w.r, w.fx.ks, keep_finding, NULL, &now, &sum), OCP_OK);
        sum.threads = base.threads;
        assert_memory_equal(&sum, &base, sizeof sum);
        assert_int_equal(now.n, first.n);
        for (i = 0; i < now.n; i++)
            assert_string_equal(now.f[i].detail, first.f[i].detail);
    }

    /* The comparison means something: every kind the data holds (the
     * registry also keeps what test_findings uploaded). */
    assert_int_equal(base.records,
                     (uint64_t)before + nrec[0] + nrec[1] + nrec[2]);
    assert_true(base.findings[OCP_FINDING_MISSING] >= 8);
    assert_true(base.findings[OCP_FINDING_CLONED] >= 8);
    assert_true(base.findings[OCP_FINDING_FORGED] >= 8);
    assert_true(base.findings[OCP_FINDING_UNKNOWN] >= 5);
    assert_true(base.findings[OCP_FINDING_CLOCK] >= 1);
    assert_true(base.findings[OCP_FINDING_REPLACED] >= PER_CARD);

    for (t = 0; t < 3; t++)
        ocp_terminal_key_free(keys[t]);
    ocp_registry_close(w.r);
    fixture_free(&w.fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_findings),
        cmocka_unit_test(test_threads_agree),
    };
    return backends_run("audit", tests, sizeof tests / sizeof tests[0]);
}
