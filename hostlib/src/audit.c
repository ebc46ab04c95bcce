/*
 * The audit (ocp/audit.h), in three passes over the registry:
 *
 * 1. Batches, in upload order per terminal: each signature is checked
 *    with its terminal's key, each record's exact bytes go into a set of
 *    what terminals signed, and each terminal's dates are followed along
 *    its sequence numbers (clock anomalies).
 * 2. Records, as stored (schema version 3: each one's signed bytes), in
 *    the table's order: each must be in the signed set.
 * 3. The records sorted by card and counter in memory: each consumption's
 *    certificate must verify with the card's key; then per card the
 *    counters are checked for repeats (clones, rollbacks) and gaps
 *    (missing records, net of the card's unresolved attempts), and the
 *    dates against the entitlement's window and the card's replacement or
 *    hotlisting.
 *
 * Cards, entitlements and terminals are read into memory (a city has
 * about 100 000 cards: a few megabytes), and so are the records (a
 * 48-byte row, a 16-byte sort item and its copy while sorting, the
 * signed set's slots: about 100 bytes a record, 116 MB resident measured
 * for 1 M on PostgreSQL): sorting them here costs less than the
 * database's ordered read, which on PostgreSQL cost more than all the
 * checks together (docs/PERFORMANCE.md).
 *
 * All passes run on several threads, each with its own connection, all
 * reading one state of the registry (docs/BACKOFFICE.md section 5).
 * Passes 1 and 2 are cut into parts the threads take in turn (a
 * terminal's batches stay in one part, in upload order; the records are
 * cut by pages), while the first thread loads the cards; pass 3 splits
 * the cards into ranges.  Findings come out in the order one thread
 * would give: pass 1's by upload order, the others' by card.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_record.h"
#include "big_table.h"
#include "cert_verify.h"
#include "db.h"
#include "ocp/audit.h"
#include "ocp/batch.h"
#include "ocp_bytes.h"
#include "ocp_wire.h"
#include "registry_internal.h"
#include "signature.h"

#define EPOCH_2000 946684800LL /* 2000-01-01 in seconds since 1970 */
#define CLOCK_AHEAD_S 86400LL  /* a record dated a day after its upload */
#define MAX_THREADS 8
/* Below this many records one thread is quicker than opening more
 * connections. */
#define THREADED_FROM 50000u
#define PROGRESS_EVERY 10000u
/* Parts of passes 1 and 2 per thread (take_part). */
#define PARTS_PER_THREAD 8


static int64_t card_minutes_to_epoch(uint32_t minutes)
{
    return EPOCH_2000 + (int64_t)minutes * 60;
}

/* ---- what is read into memory first ------------------------------------ */

struct card_info {
    uint64_t key; /* card_key(id): sorted and searched by it */
    uint8_t id[8];
    uint8_t suite, version;
    int64_t replaced_at;  /* 0: not replaced */
    int64_t hotlisted_at; /* 0: not on the hotlist */
};

struct window {
    uint64_t card; /* card_key() */
    uint16_t service, from, to;
};

struct terminal_info {
    uint32_t id;
    /* Parsed once: decoding the DER key for each of a terminal's batches
     * cost more than verifying their signatures. */
    EVP_PKEY *key; /* NULL: not a key, every batch counts as forged */
    uint8_t suite;
    /* Following its dates along its sequence numbers. */
    uint32_t last_seq, last_datetime;
    int clock_reported;
};

/* What a connection sees, in four numbers: the connections of an audit
 * must agree on them.  SQLite cannot share a snapshot: every upload adds
 * a batch and a purge removes records, so the counts tell.  PostgreSQL's
 * connections share one, and counting a million rows there costs a
 * tenth of a second: its mark is the batches' alone.  The records the
 * batches hold size the signed set and the progress display. */
struct state_mark {
    int64_t last_batch, batch_records, uses, conflicts;
};
static ocp_status state_mark(ocp_registry *r, struct state_mark *m);

/* What every thread reads; written only before the threads start, apart
 * from the signed set's slots (atomic) and the count of records done. */
struct audit {
    ocp_registry *r;
    ocp_keystore *ks;
    ocp_finding_fn on_finding;
    ocp_progress_fn progress;
    void *ctx;
    ocp_audit_summary *sum;
    ocp_status failed; /* a loading callback's error */
    int error_set;     /* the registry's message is written already */

    struct card_info *cards;
    size_t n_cards, cap_cards;
    struct window *windows;
    size_t n_windows, cap_windows;
    struct terminal_info *terms;
    size_t n_terms, cap_terms;

    /* The set of (terminal, record) as signed: 64-bit hashes. */
    uint64_t seed; /* record_hash's, random */
    uint64_t *signed_set;
    size_t set_mask;
    int set_ready; /* atomic: the first thread made the set (or failed) */
    uint64_t total;
    uint64_t done; /* atomic */
    uint64_t next_progress;

    struct worker *workers;
    size_t n_workers;

    /* Passes 1 and 2 in parts that the threads take in turn: a thread
     * that starts late (the first loads the cards meanwhile) or runs
     * slower takes fewer. */
    char snapshot[DB_SNAPSHOT_CAP]; /* what the other threads read */
    struct state_mark mark;
    char (*parts)[96]; /* each part of uses: its WHERE ("" all of it) */
    size_t n_parts;
    size_t next_batches, next_uses; /* atomic: the next part to take */
    int stop;                       /* atomic: a thread failed */
};

/* A finding held back until the threads before it have given theirs. */
struct held {
    int64_t order; /* pass 1: the batch's id; pass 2: arrival */
    ocp_finding f;
};

/* One thread's part of a pass. */
struct worker {
    struct audit *a;
    size_t index;
    ocp_registry *r;  /* worker 0 reads through the caller's */
    int streams;      /* gives findings at once (the first in order) */
    ocp_status failed;
    ocp_audit_summary sum;
    struct held *held;
    size_t n_held, cap_held;
    int64_t order;
    uint64_t unflushed; /* records not yet added to a->done */
    pthread_t thread;

    /* Pass 1: one batch's records' hashes. */
    uint64_t *batch_hashes;

    /* Pass 2: the records this thread read, in the database's order. */
    struct row {
        uint32_t terminal;
        uint8_t rec[OCP_BATCH_RECORD_LEN]; /* zeros when not 41 bytes */
        /* 1: well formed, its terminal id fits, and (once pass 2 has
         * looked it up) in the signed set. */
        uint8_t as_signed;
    } *read; /* 48 bytes a record: the audit's largest table */
    uint64_t *cards; /* each row's card, as card_key() (pass 3 splits) */
    size_t n_read, cap_read;
    size_t present; /* rows whose pages are populated (room_for_row) */

    /* Pass 3: the cards from lo (inclusive) to hi (exclusive), as
     * card_key() numbers, their records sorted by card; one card's rows
     * at a time in group. */
    uint64_t lo, hi;
    int has_lo, has_hi;
    struct sort_item {
        uint64_t card;
        const struct row *row;
    } *items;
    /* One card's records decoded. */
    struct use {
        uint32_t terminal;
        int as_signed;
        ocp_use_record rec;
    } *group;
    size_t cap_group;
    uint32_t *counters;
    size_t cap_counters;
    hl_cert_checker *checker;
    /* One card's certificates, checked together (certify_card). */
    uint8_t (*msgs)[40], (*certs)[8], *genuine;
    size_t cap_msgs, cap_certs, cap_genuine;
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *q;
    if (need <= *cap)
        return p;
    while (n < need)
        n *= 2;
    q = realloc(p, n * size);
    if (q != NULL)
        *cap = n;
    return q;
}

static void report(struct worker *w, ocp_finding_kind kind,
                   const uint8_t *card, uint32_t terminal, uint32_t seq,
                   uint32_t counter, uint32_t count, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static void report(struct worker *w, ocp_finding_kind kind,
                   const uint8_t *card, uint32_t terminal, uint32_t seq,
                   uint32_t counter, uint32_t count, const char *fmt, ...)
{
    struct audit *a = w->a;
    ocp_finding f;
    struct held *p;
    va_list ap;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    if (card != NULL)
        memcpy(f.card_id, card, 8);
    f.terminal_id = terminal;
    f.seq = seq;
    f.counter = counter;
    f.count = count;
    va_start(ap, fmt);
    vsnprintf(f.detail, sizeof f.detail, fmt, ap);
    va_end(ap);
    w->sum.findings[kind]++;
    if (a->on_finding == NULL)
        return;
    if (w->streams) {
        a->on_finding(a->ctx, &f);
        return;
    }
    p = grow(w->held, &w->cap_held, w->n_held + 1, sizeof *w->held);
    if (p == NULL) {
        w->failed = OCP_E_NOMEM;
        return;
    }
    w->held = p;
    w->held[w->n_held].order = w->order;
    w->held[w->n_held].f = f;
    w->n_held++;
}

static uint64_t bytes8(const uint8_t b[8])
{
    return (uint64_t)ocp_get_be32(b) << 32 | ocp_get_be32(b + 4);
}

/* A card id as a number that orders as its bytes do. */
static uint64_t card_key(const uint8_t id[8])
{
    return bytes8(id);
}

static int card_row(void *ctx, const db_value *c, size_t n)
{
    struct audit *a = ctx;
    struct card_info *ci;
    struct card_info *p;
    if (n < 5)
        return 1;
    p = grow(a->cards, &a->cap_cards, a->n_cards + 1, sizeof *a->cards);
    if (p == NULL) {
        a->failed = OCP_E_NOMEM;
        return 1;
    }
    a->cards = p;
    ci = &a->cards[a->n_cards];
    if (c[0].type != DB_TEXT || reg_unhex(c[0].s, ci->id) != 0)
        return 0; /* not a card id: never matches a record */
    ci->key = card_key(ci->id);
    ci->suite = (uint8_t)c[1].i;
    ci->version = (uint8_t)c[2].i;
    ci->replaced_at = c[3].type == DB_INT ? c[3].i : 0;
    ci->hotlisted_at = c[4].type == DB_INT ? c[4].i : 0;
    a->n_cards++;
    return 0;
}

static int window_row(void *ctx, const db_value *c, size_t n)
{
    struct audit *a = ctx;
    struct window *p;
    uint8_t id[8];
    if (n < 4)
        return 1;
    p = grow(a->windows, &a->cap_windows, a->n_windows + 1,
             sizeof *a->windows);
    if (p == NULL) {
        a->failed = OCP_E_NOMEM;
        return 1;
    }
    a->windows = p;
    if (c[0].type != DB_TEXT || reg_unhex(c[0].s, id) != 0)
        return 0;
    a->windows[a->n_windows].card = card_key(id);
    a->windows[a->n_windows].service = (uint16_t)c[1].i;
    a->windows[a->n_windows].from = (uint16_t)c[2].i;
    a->windows[a->n_windows].to = (uint16_t)c[3].i;
    a->n_windows++;
    return 0;
}

static int terminal_row(void *ctx, const db_value *c, size_t n)
{
    struct audit *a = ctx;
    struct terminal_info *p;
    const unsigned char *der;
    if (n < 2 || c[1].type != DB_BLOB || c[1].len > 0x7fffffff)
        return 0;
    p = grow(a->terms, &a->cap_terms, a->n_terms + 1, sizeof *a->terms);
    if (p == NULL) {
        a->failed = OCP_E_NOMEM;
        return 1;
    }
    a->terms = p;
    p = &a->terms[a->n_terms++];
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)c[0].i;
    /* As ocp_batch_verify reads it. */
    der = c[1].b;
    p->key = d2i_PUBKEY(NULL, &der, (long)c[1].len);
    p->suite = p->key != NULL && EVP_PKEY_is_a(p->key, "SM2")
                   ? OCP_SUITE_SM
                   : OCP_SUITE_AES;
    return 0;
}

static int by_card_id(const void *x, const void *y)
{
    uint64_t p = ((const struct card_info *)x)->key;
    uint64_t q = ((const struct card_info *)y)->key;
    return (p > q) - (p < q);
}

/* By card, then service: card_windows and find_window rely on it. */
static int by_window(const void *x, const void *y)
{
    const struct window *p = x, *q = y;
    if (p->card != q->card)
        return p->card > q->card ? 1 : -1;
    return (p->service > q->service) - (p->service < q->service);
}

static struct card_info *find_card(struct audit *a, uint64_t card)
{
    size_t lo = 0, hi = a->n_cards;
    while (lo < hi) { /* sorted by load_cards */
        size_t mid = lo + (hi - lo) / 2;
        if (a->cards[mid].key == card)
            return &a->cards[mid];
        if (a->cards[mid].key < card)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static struct terminal_info *find_terminal(struct audit *a, uint32_t id)
{
    size_t lo = 0, hi = a->n_terms;
    while (lo < hi) { /* loaded in terminal_id order */
        size_t mid = lo + (hi - lo) / 2;
        if (a->terms[mid].id == id)
            return &a->terms[mid];
        if (a->terms[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The card's windows: *n of them from the one returned (sorted in
 * (card, service) order by run(), so they are neighbours). */
static const struct window *card_windows(struct audit *a, uint64_t card,
                                         size_t *n)
{
    size_t lo = 0, hi = a->n_windows, end;
    while (lo < hi) { /* the first window not before the card */
        size_t mid = lo + (hi - lo) / 2;
        if (a->windows[mid].card < card)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (end = lo; end < a->n_windows && a->windows[end].card == card; end++)
        ;
    *n = end - lo;
    return a->windows + lo;
}

/* The window of the service among the card's, or NULL. */
static const struct window *find_window(const struct window *w, size_t n,
                                        uint16_t service)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (w[i].service == service)
            return &w[i];
    return NULL;
}

/* ---- the set of signed records ------------------------------------------ */

/*
 * A 64-bit hash of the terminal id and the record's 41 signed bytes, a
 * word at a time: each step (xor a word, multiply by an odd constant,
 * fold the high half down) is a bijection of the state, so two records
 * that differ in one word never collide, and records that differ in
 * several collide about once in 2^64.  A splitmix64 finaliser spreads
 * the result over the set's slots.  Taken from the bytes as stored, so
 * neither pass decodes a record to look it up.  The state starts from a
 * random seed drawn for each audit: whoever can write to the database
 * cannot search offline for an edited record that hashes like a signed
 * one.
 */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ h >> 32;
}

static uint64_t record_hash(const struct audit *a, uint32_t terminal,
                            const uint8_t rec[OCP_BATCH_RECORD_LEN])
{
    uint64_t h = a->seed;
    size_t i;
    h = mix(h, (uint64_t)terminal << 8 | rec[40]);
    for (i = 0; i < 40; i += 8)
        h = mix(h, bytes8(rec + i));
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h ? h : 1; /* 0 marks an empty slot */
}

/* The set is far bigger than the caches and read in no useful order:
 * fetching a slot well before it is needed hides most of the miss. */
static void set_prefetch(const struct audit *a, uint64_t h)
{
#if defined(__GNUC__)
    __builtin_prefetch(&a->signed_set[(size_t)h & a->set_mask]);
#else
    (void)a;
    (void)h;
#endif
}

/* Threads add at once: a slot is claimed with compare-and-swap. */
static void set_add(struct audit *a, uint64_t h)
{
    size_t i = (size_t)h & a->set_mask;
    for (;;) {
        uint64_t seen = __atomic_load_n(&a->signed_set[i], __ATOMIC_RELAXED);
        if (seen == 0 &&
            __atomic_compare_exchange_n(&a->signed_set[i], &seen, h, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return;
        if (seen == h)
            return;
        if (seen != 0)
            i = (i + 1) & a->set_mask;
    }
}

static int set_has(const struct audit *a, uint64_t h)
{
    size_t i = (size_t)h & a->set_mask;
    while (a->signed_set[i] != 0) {
        if (a->signed_set[i] == h)
            return 1;
        i = (i + 1) & a->set_mask;
    }
    return 0;
}

/* ---- pass 1: batches ------------------------------------------------------ */

static void follow_clock(struct worker *w, struct terminal_info *t,
                         uint32_t seq, uint32_t datetime, int64_t uploaded_at)
{
    if (t->clock_reported)
        return; /* one finding per terminal is enough to send someone */
    if (t->last_seq != 0 && seq > t->last_seq &&
        datetime < t->last_datetime) {
        t->clock_reported = 1;
        report(w, OCP_FINDING_CLOCK, NULL, t->id, seq, 0, 0,
               "terminal %08X dates record %u before record %u "
               "(%u minutes back)",
               t->id, seq, t->last_seq, t->last_datetime - datetime);
    } else if (card_minutes_to_epoch(datetime) >
               uploaded_at + CLOCK_AHEAD_S) {
        t->clock_reported = 1;
        report(w, OCP_FINDING_CLOCK, NULL, t->id, seq, 0, 0,
               "terminal %08X dates record %u more than a day after it "
               "uploaded it",
               t->id, seq);
    }
    if (seq > t->last_seq) {
        t->last_seq = seq;
        t->last_datetime = datetime;
    }
}

static int batch_row(void *ctx, const db_value *c, size_t n)
{
    struct worker *w = ctx;
    struct audit *a = w->a;
    uint64_t *hashes = w->batch_hashes;
    const uint8_t *recs;
    uint32_t terminal;
    struct terminal_info *t;
    size_t count, i;
    if (n < 6 || c[1].type != DB_BLOB || c[2].type != DB_BLOB ||
        c[2].len != OCP_BATCH_SIGNATURE_LEN)
        return 0;
    w->sum.batches++;
    w->order = c[5].i;
    t = find_terminal(a, (uint32_t)c[0].i);
    if (!hl_batch_check(c[1].b, c[1].len, &terminal, &count) || t == NULL ||
        terminal != t->id || t->key == NULL ||
        hl_verify(t->key, t->suite, c[1].b, c[1].len, c[2].b) != OCP_OK) {
        report(w, OCP_FINDING_FORGED, NULL, (uint32_t)c[0].i, 0, 0, 0,
               "batch %lld of terminal %08X does not carry that terminal's "
               "signature: its records count as forged",
               (long long)c[3].i, (uint32_t)c[0].i);
        return w->failed != OCP_OK;
    }
    recs = c[1].b + OCP_BATCH_HEADER_LEN;
    for (i = 0; i < count; i++) {
        hashes[i] =
            record_hash(a, terminal, recs + i * OCP_BATCH_RECORD_LEN);
        set_prefetch(a, hashes[i]);
    }
    for (i = 0; i < count; i++) {
        const uint8_t *rec = recs + i * OCP_BATCH_RECORD_LEN;
        set_add(a, hashes[i]);
        follow_clock(w, t, ocp_get_be32(rec + HL_REC_SEQ),
                     ocp_get_be32(rec + HL_REC_DATETIME), c[4].i);
    }
    return w->failed != OCP_OK;
}

static int conflict_row(void *ctx, const db_value *c, size_t n)
{
    struct worker *w = ctx;
    uint8_t card[8];
    if (n < 3 || c[2].type != DB_TEXT || reg_unhex(c[2].s, card) != 0)
        return 0;
    report(w, OCP_FINDING_FORGED, card, (uint32_t)c[0].i, (uint32_t)c[1].i,
           0, 0,
           "terminal %08X uploaded two different records under sequence "
           "number %u",
           (uint32_t)c[0].i, (uint32_t)c[1].i);
    return 0;
}

/* ---- pass 2: one card's records ---------------------------------------- */

/* Sorts a card's counters: they come in counter order from the query,
 * so this is a pass that moves nothing, whatever the database did. */
static void sort_u32(uint32_t *v, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint32_t x = v[i];
        for (j = i; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Checks the certificates of the card's accepted records that are as
 * signed, all at once: w->genuine[k] for the k-th of them in row order. */
static ocp_status certify_card(struct worker *w, const struct card_info *ci,
                               const struct use *rows, size_t n)
{
    size_t i, k = 0;
    ocp_status st;
    void *p;
    /* grow() raises a capacity only when it succeeds. */
    if ((p = grow(w->msgs, &w->cap_msgs, n, sizeof *w->msgs)) != NULL)
        w->msgs = p;
    if ((p = grow(w->certs, &w->cap_certs, n, sizeof *w->certs)) != NULL)
        w->certs = p;
    if ((p = grow(w->genuine, &w->cap_genuine, n, sizeof *w->genuine)) != NULL)
        w->genuine = p;
    if (w->cap_msgs < n || w->cap_certs < n || w->cap_genuine < n) {
        w->failed = OCP_E_NOMEM;
        return w->failed;
    }
    for (i = 0; i < n; i++) {
        const ocp_use_record *u = &rows[i].rec;
        if (!rows[i].as_signed || u->outcome != OCP_USE_ACCEPTED)
            continue;
        hl_cert_message(rows[i].terminal, u, w->msgs[k]);
        memcpy(w->certs[k], u->cert, 8);
        k++;
    }
    st = hl_cert_check_card(w->checker, ci->suite, ci->version, ci->id, k,
                            (const uint8_t(*)[40])w->msgs,
                            (const uint8_t(*)[8])w->certs, w->genuine);
    if (st != OCP_OK)
        w->failed = st;
    return st;
}

static void check_card(struct worker *w, const struct use *rows, size_t n)
{
    struct audit *a = w->a;
    const uint8_t *id = rows[0].rec.card_id;
    uint64_t card = card_key(id);
    struct card_info *ci = find_card(a, card);
    const struct window *windows;
    uint32_t *counters, pending = 0, distinct = 0, max = 0, first_gap;
    size_t i, n_acc = 0, n_windows, n_checked = 0;

    w->sum.cards++;
    if (ci == NULL) {
        report(w, OCP_FINDING_UNKNOWN, id, 0, 0, 0, (uint32_t)n,
               "%zu records of a card the registry does not know", n);
        return;
    }
    counters = grow(w->counters, &w->cap_counters, n, sizeof *counters);
    if (counters == NULL) {
        w->failed = OCP_E_NOMEM;
        return;
    }
    w->counters = counters;
    if (certify_card(w, ci, rows, n) != OCP_OK)
        return;
    windows = card_windows(a, card, &n_windows);
    for (i = 0; i < n; i++) {
        const struct use *row = &rows[i];
        const ocp_use_record *u = &row->rec;
        if (!row->as_signed) { /* looked up in pass 2 (mark_unsigned) */
            report(w, OCP_FINDING_FORGED, id, row->terminal, u->seq, u->counter,
                   0,
                   "record %u of terminal %08X is not as the terminal "
                   "signed it",
                   u->seq, row->terminal);
            continue;
        }
        if (u->outcome == OCP_USE_PENDING) {
            pending++;
            continue;
        }
        if (u->outcome != OCP_USE_ACCEPTED)
            continue;
        w->sum.accepted++;
        if (!w->genuine[n_checked++]) {
            report(w, OCP_FINDING_FORGED, id, row->terminal, u->seq, u->counter,
                   0,
                   "the certificate of record %u of terminal %08X is not "
                   "the card's",
                   u->seq, row->terminal);
            continue;
        }
        w->sum.genuine++;
        counters[n_acc++] = u->counter;
        {
            const struct window *win =
                find_window(windows, n_windows, u->service);
            uint32_t day = u->datetime / 1440u;
            if (win != NULL && (day < win->from || day > win->to))
                report(w, OCP_FINDING_WINDOW, id, row->terminal, u->seq,
                       u->counter, 0,
                       "service %04X used on day %u, outside its window "
                       "%u..%u",
                       u->service, day, win->from, win->to);
        }
        if ((ci->replaced_at != 0 &&
             card_minutes_to_epoch(u->datetime) > ci->replaced_at) ||
            (ci->hotlisted_at != 0 &&
             card_minutes_to_epoch(u->datetime) > ci->hotlisted_at))
            report(w, OCP_FINDING_REPLACED, id, row->terminal, u->seq,
                   u->counter, 0,
                   "used after the card was %s",
                   ci->replaced_at != 0 ? "replaced" : "hotlisted");
    }
    /* Counters: rows are sorted by counter, so repeats are neighbours. */
    sort_u32(counters, n_acc);
    for (i = 0; i < n_acc; i++) {
        if (i > 0 && counters[i] == counters[i - 1]) {
            report(w, OCP_FINDING_CLONED, id, 0, 0, counters[i], 0,
                   "counter %u appears in two different records: a cloned "
                   "or rolled-back card",
                   counters[i]);
            continue;
        }
        distinct++;
        if (counters[i] > max)
            max = counters[i];
    }
    /* The card counts every consumption from 1; what is not here and not
     * explained by an attempt whose answer never came is missing. */
    if (max > distinct && max - distinct > pending) {
        first_gap = 1;
        for (i = 0; i < n_acc && counters[i] <= first_gap; i++)
            if (counters[i] == first_gap)
                first_gap++;
        report(w, OCP_FINDING_MISSING, id, 0, 0, first_gap,
               max - distinct - pending,
               "%u of counters 1..%u never uploaded (first: %u; %u "
               "unresolved attempts)",
               max - distinct - pending, max, first_gap, pending);
    }
}

/* Adds the records this worker read to the shared count; worker 0 (the
 * caller's thread) reports progress. */
static void count_done(struct worker *w, int last)
{
    struct audit *a = w->a;
    uint64_t done;
    if (!last && w->unflushed < 1024)
        return;
    done = __atomic_add_fetch(&a->done, w->unflushed, __ATOMIC_RELAXED);
    w->unflushed = 0;
    if (w->index == 0 && a->progress != NULL && done >= a->next_progress &&
        done < a->total) {
        a->next_progress = done - done % PROGRESS_EVERY + PROGRESS_EVERY;
        a->progress(a->ctx, done, a->total);
    }
}

/*
 * One stored record: (terminal_id, rec).  The terminal is looked up with
 * the bytes, so a record moved to another terminal is not as signed.
 * seq is not read: the table's check ties it to the bytes, and nothing
 * paid or settled reads it (a second copy of a record under another seq
 * is still found, as a counter used twice).  Reading it cost a sixth of
 * the server's time.
 */
/* Rows whose pages are asked for at once, ahead of the writes. */
#define ROWS_AHEAD 16384u

/* Room for one more row (and its card). */
static int room_for_row(struct worker *w)
{
    size_t cap = w->cap_read ? w->cap_read * 2 : 1024;
    struct row *rows;
    uint64_t *cards;
    if (w->n_read < w->present)
        return 1;
    if (w->n_read < w->cap_read) {
        size_t end = w->cap_read - w->n_read > ROWS_AHEAD
                         ? w->n_read + ROWS_AHEAD
                         : w->cap_read;
        hl_populate(w->read + w->n_read,
                    (end - w->n_read) * sizeof *w->read);
        hl_populate(w->cards + w->n_read,
                    (end - w->n_read) * sizeof *w->cards);
        w->present = end;
        return 1;
    }
    rows = realloc(w->read, cap * sizeof *rows);
    if (rows != NULL)
        w->read = rows;
    cards = rows != NULL ? realloc(w->cards, cap * sizeof *cards) : NULL;
    if (cards == NULL) {
        w->failed = OCP_E_NOMEM;
        return 0;
    }
    w->cards = cards;
    w->cap_read = cap;
    return 1;
}

static int use_row(void *ctx, const db_value *c, size_t n)
{
    struct worker *w = ctx;
    struct row *row;
    if (!room_for_row(w))
        return 1;
    row = &w->read[w->n_read];
    memset(row, 0, sizeof *row);
    /* The bytes are kept even when they are not a record, so the finding
     * is filed under the card they name; decoded in pass 3. */
    if (n >= 2 && c[0].type == DB_INT && c[1].type == DB_BLOB &&
        c[1].len == OCP_BATCH_RECORD_LEN) {
        row->terminal = (uint32_t)c[0].i;
        memcpy(row->rec, c[1].b, OCP_BATCH_RECORD_LEN);
        /* The terminal must fit: a cast would hide an edit beyond its
         * width. */
        row->as_signed = row->rec[HL_REC_OUTCOME] <= OCP_USE_PASSBACK &&
                         c[0].i >= 0 && c[0].i <= 0xffffffffLL;
    } else if (n >= 1 && c[0].type == DB_INT) {
        row->terminal = (uint32_t)c[0].i;
    }
    w->cards[w->n_read++] = card_key(row->rec + HL_REC_CARD);
    w->sum.records++;
    w->unflushed++;
    count_done(w, 0);
    return w->failed != OCP_OK;
}

/* Is each record in the signed set (complete since pass 1)?  The set is
 * far bigger than the caches, so each slot is fetched a few records
 * before it is read. */
#define LOOKAHEAD 16
static void mark_unsigned(struct worker *w)
{
    uint64_t hash[LOOKAHEAD];
    size_t i;
    for (i = 0; i < w->n_read + LOOKAHEAD; i++) {
        if (i >= LOOKAHEAD) {
            struct row *row = &w->read[i - LOOKAHEAD];
            if (row->as_signed && !set_has(w->a, hash[i % LOOKAHEAD]))
                row->as_signed = 0;
        }
        if (i < w->n_read) {
            hash[i % LOOKAHEAD] =
                record_hash(w->a, w->read[i].terminal, w->read[i].rec);
            set_prefetch(w->a, hash[i % LOOKAHEAD]);
        }
    }
}


static int in_range(const struct worker *w, uint64_t card)
{
    return (!w->has_lo || card >= w->lo) && (!w->has_hi || card < w->hi);
}

/*
 * Sorts by card: least significant digit first, 16 bits a pass, and a
 * digit every item shares costs no pass (the ids of one issuer share
 * their first bytes).  A million items take a few tens of milliseconds
 * where qsort took half a second.  0, or -1 out of memory.
 */
static int sort_by_card(struct sort_item *v, size_t n)
{
    struct sort_item *tmp = malloc(n * sizeof *tmp), *from = v, *to = tmp;
    hl_populate(tmp, n * sizeof *tmp);
    uint32_t *count = malloc(65536 * sizeof *count);
    unsigned shift;
    size_t i;
    if (tmp == NULL || count == NULL) {
        free(tmp);
        free(count);
        return -1;
    }
    for (shift = 0; shift < 64; shift += 16) {
        uint32_t sum = 0;
        memset(count, 0, 65536 * sizeof *count);
        for (i = 0; i < n; i++)
            count[(from[i].card >> shift) & 0xffff]++;
        if (count[(from[0].card >> shift) & 0xffff] == n)
            continue; /* the same digit everywhere */
        for (i = 0; i < 65536; i++) {
            uint32_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (i = 0; i < n; i++)
            to[count[(from[i].card >> shift) & 0xffff]++] = from[i];
        {
            struct sort_item *t = from;
            from = to;
            to = t;
        }
    }
    if (from != v)
        memcpy(v, from, n * sizeof *v);
    free(tmp);
    free(count);
    return 0;
}

/* One card's rows (a few) by counter, terminal and sequence number. */
static int row_before(const struct use *p, const struct use *q)
{
    if (p->rec.counter != q->rec.counter)
        return p->rec.counter < q->rec.counter;
    if (p->terminal != q->terminal)
        return p->terminal < q->terminal;
    return p->rec.seq < q->rec.seq;
}

static void sort_group(struct use *g, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        struct use x = g[i];
        for (j = i; j > 0 && row_before(&x, &g[j - 1]); j--)
            g[j] = g[j - 1];
        g[j] = x;
    }
}

/* ---- the threads ---------------------------------------------------------- */

/* A thread other than the first opens its own connection on the state
 * the first reads: the PostgreSQL snapshot, or on SQLite the same state
 * mark.  Each thread opens its own, at once (an authenticated connection
 * costs milliseconds).  0 when it cannot join: it then reads no part,
 * and the others read them all. */
static int join(struct worker *w)
{
    struct audit *a = w->a;
    ocp_registry *r = NULL;
    struct state_mark m;
    if (reg_open_again(a->r, &r) == OCP_OK && db_begin_read(r->db) == OCP_OK &&
        (a->snapshot[0] == '\0' ||
         db_snapshot_import(r->db, a->snapshot) == OCP_OK) &&
        state_mark(r, &m) == OCP_OK && memcmp(&m, &a->mark, sizeof m) == 0) {
        w->r = r;
        return 1;
    }
    ocp_registry_close(r);
    return 0;
}

/* Pass 1's part k: the batches of the terminals whose id is k modulo
 * the number of parts, in upload order (so each terminal's dates are
 * followed by one thread, in order). */
static void read_batches(struct worker *w, size_t k)
{
    char sql[200];
    ocp_status st;
    if (w->batch_hashes == NULL) {
        w->batch_hashes =
            calloc(OCP_BATCH_MAX_RECORDS, sizeof *w->batch_hashes);
        if (w->batch_hashes == NULL) {
            w->failed = OCP_E_NOMEM;
            return;
        }
    }
    /* Streamed (db_stream): the numbers go into the text. */
    snprintf(sql, sizeof sql,
             "SELECT terminal_id, body, signature, batch_no, uploaded_at, id "
             "FROM batches WHERE terminal_id %% %zu = %zu ORDER BY id",
             w->a->n_parts, k);
    st = db_stream(w->r->db, sql, batch_row, w);
    if (st != OCP_OK && w->failed == OCP_OK)
        w->failed = st;
}

/* Pass 2's part k: a stretch of the table's pages (split_table). */
static void read_uses(struct worker *w, size_t k)
{
    char sql[160];
    ocp_status st;
    /* An even share of the records the batches hold, and a little more.
     * More rows still fit (room_for_row), only slower.  Written before
     * read: no zero pages to copy (big_table.h). */
    if (w->read == NULL) {
        size_t share = (size_t)(w->a->total / w->a->n_workers);
        share += share / 8 + 1024;
        w->read = malloc(share * sizeof *w->read);
        w->cards = malloc(share * sizeof *w->cards);
        if (w->read == NULL || w->cards == NULL) {
            w->failed = OCP_E_NOMEM;
            return;
        }

        w->cap_read = share;
    }
    /* Streamed (db_stream): the bounds, numbers written by split_table,
     * go into the text.  The database's own order: its ordered read cost
     * more than sorting here. */
    snprintf(sql, sizeof sql, "SELECT terminal_id, rec FROM uses%s",
             w->a->parts[k]);
    st = db_stream(w->r->db, sql, use_row, w);
    if (st != OCP_OK && w->failed == OCP_OK)
        w->failed = st;
}

/* Once a thread has failed, the others take no more parts. */
static void stop_if_failed(struct worker *w)
{
    if (w->failed != OCP_OK)
        __atomic_store_n(&w->a->stop, 1, __ATOMIC_RELAXED);
}

/* The next part of a pass for this thread to read, or n_parts when
 * none is left (or a thread failed). */
static size_t take_part(struct worker *w, size_t *next)
{
    struct audit *a = w->a;
    stop_if_failed(w);
    if (__atomic_load_n(&a->stop, __ATOMIC_RELAXED))
        return a->n_parts;
    return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
}

/* Passes 1 and 2 without waiting for the other threads in between:
 * reading the records needs nothing of the signed set yet, and a thread
 * done with the batches keeps the server busy. */
static void *read_parts(void *arg)
{
    struct worker *w = arg;
    struct audit *a = w->a;
    size_t k;
    if (w->r == NULL && !join(w))
        return NULL;
    /* The first thread makes the signed set while the others connect. */
    while (!__atomic_load_n(&a->set_ready, __ATOMIC_ACQUIRE))
        sched_yield();
    if (a->signed_set == NULL)
        return NULL; /* the first thread failed: it says why */
    while ((k = take_part(w, &a->next_batches)) < a->n_parts)
        read_batches(w, k);
    while ((k = take_part(w, &a->next_uses)) < a->n_parts)
        read_uses(w, k);
    stop_if_failed(w); /* its last part too */
    count_done(w, 1);
    return NULL;
}

/* The cards and their entitlements' windows, sorted by card id (find_card
 * and split_cards rely on it).  Streamed (binary COPY on PostgreSQL), in
 * no order. */
static ocp_status load_cards(struct audit *a)
{
    ocp_db *db = a->r->db;
    ocp_status st = db_stream(db,
                              "SELECT c.card_id, c.suite, c.txmac_version, "
                              "c.replaced_at, h.added_at FROM cards c LEFT "
                              "JOIN hotlist h ON h.card_id = c.card_id AND "
                              "h.removed_at IS NULL",
                              card_row, a);
    if (st == OCP_OK)
        st = db_stream(db,
                       "SELECT card_id, service, valid_from, valid_to FROM "
                       "entitlements",
                       window_row, a);
    if (st == OCP_OK && a->failed != OCP_OK)
        st = a->failed;
    if (st != OCP_OK)
        return st;
    if (a->n_cards > 1)
        qsort(a->cards, a->n_cards, sizeof *a->cards, by_card_id);
    if (a->n_windows > 1)
        qsort(a->windows, a->n_windows, sizeof *a->windows, by_window);
    return OCP_OK;
}

/* The first thread (the caller's, on the caller's connection) loads the
 * cards while the others start on the batches; then it reads too. */
static void *load_then_read(void *arg)
{
    struct worker *w = arg;
    struct audit *a = w->a;
    ocp_status st;
    a->signed_set = hl_big_table((a->set_mask + 1) * sizeof *a->signed_set);
    __atomic_store_n(&a->set_ready, 1, __ATOMIC_RELEASE);
    st = a->signed_set != NULL ? load_cards(a) : OCP_E_NOMEM;
    if (st != OCP_OK) {
        w->failed = st;
        stop_if_failed(w);
        return NULL;
    }
    return read_parts(w);
}

/* Once the signed set is complete. */
static void *pass2_lookups(void *arg)
{
    mark_unsigned(arg);
    return NULL;
}

/* This thread's cards: their records from every thread's read, sorted,
 * then checked card by card. */
static void *pass3(void *arg)
{
    struct worker *w = arg;
    struct audit *a = w->a;
    size_t k, i, n = 0, start;
    ocp_status st = hl_cert_checker_new(a->ks, &w->checker);
    if (st != OCP_OK) {
        w->failed = st;
        return NULL;
    }
    /* Counted first: each thread holds its own cards' items only. */
    for (k = 0; k < a->n_workers; k++)
        for (i = 0; i < a->workers[k].n_read; i++)
            if (in_range(w, a->workers[k].cards[i]))
                n++;
    if (n == 0)
        return NULL;
    w->items = malloc(n * sizeof *w->items);
    hl_populate(w->items, n * sizeof *w->items);
    if (w->items == NULL) {
        w->failed = OCP_E_NOMEM;
        return NULL;
    }
    n = 0;
    for (k = 0; k < a->n_workers; k++) {
        const struct worker *from = &a->workers[k];
        for (i = 0; i < from->n_read; i++) {
            uint64_t card = from->cards[i];
            if (in_range(w, card)) {
                w->items[n].card = card;
                w->items[n].row = &from->read[i];
                n++;
            }
        }
    }
    if (sort_by_card(w->items, n) != 0) {
        w->failed = OCP_E_NOMEM;
        return NULL;
    }
    for (start = 0, i = 1; i <= n && w->failed == OCP_OK; i++) {
        size_t len = i - start, j;
        struct use *g;
#if defined(__GNUC__)
        /* The rows are read in no useful order now: fetch ahead (a row
         * may span two cache lines). */
        if (i + 16 < n) {
            __builtin_prefetch(w->items[i + 16].row);
            __builtin_prefetch((const uint8_t *)w->items[i + 16].row +
                               sizeof(struct row) - 1);
        }
#endif
        if (i < n && w->items[i].card == w->items[start].card)
            continue;
        g = grow(w->group, &w->cap_group, len, sizeof *w->group);
        if (g == NULL) {
            w->failed = OCP_E_NOMEM;
            break;
        }
        w->group = g;
        for (j = 0; j < len; j++) {
            const struct row *row = w->items[start + j].row;
            g[j].terminal = row->terminal;
            g[j].as_signed = row->as_signed;
            /* Every field, whatever the outcome: as_signed already says
             * whether it is a record. */
            (void)hl_record_decode(row->rec, sizeof row->rec, &g[j].rec);
        }
        sort_group(g, len);
        check_card(w, g, len);
        start = i;
    }
    return NULL;
}

/* Runs fn on every worker, the first on this thread; a thread that cannot
 * start has its part done here afterwards. */
static void run_workers_first(struct audit *a, void *(*first)(void *),
                              void *(*fn)(void *))
{
    size_t k;
    int *started = calloc(a->n_workers, sizeof *started);
    for (k = 1; k < a->n_workers; k++)
        started[k] = started != NULL &&
                     pthread_create(&a->workers[k].thread, NULL, fn,
                                    &a->workers[k]) == 0;
    first(&a->workers[0]);
    for (k = 1; k < a->n_workers; k++) {
        if (started != NULL && started[k])
            pthread_join(a->workers[k].thread, NULL);
        else
            fn(&a->workers[k]);
    }
    free(started);
}

static void run_workers(struct audit *a, void *(*fn)(void *))
{
    run_workers_first(a, fn, fn);
}

static int by_order(const void *x, const void *y)
{
    const struct held *p = x, *q = y;
    return p->order < q->order ? -1 : p->order > q->order;
}

/* Gives the held findings: pass 1's merged by upload order (the batch
 * ids differ between threads, and one thread's are in order already, so
 * the sort is stable), pass 2's thread by thread. */
static void release_findings(struct audit *a, int sort)
{
    size_t k, i, n = 0;
    struct held *all = NULL;
    for (k = 0; k < a->n_workers; k++)
        n += a->workers[k].n_held;
    if (sort && n > 0 && (all = malloc(n * sizeof *all)) != NULL) {
        n = 0;
        for (k = 0; k < a->n_workers; k++) {
            if (a->workers[k].n_held == 0)
                continue; /* its held may be NULL: not for memcpy */
            memcpy(all + n, a->workers[k].held,
                   a->workers[k].n_held * sizeof *all);
            n += a->workers[k].n_held;
        }
        qsort(all, n, sizeof *all, by_order);
        for (i = 0; i < n; i++)
            a->on_finding(a->ctx, &all[i].f);
        free(all);
    } else {
        for (k = 0; k < a->n_workers; k++)
            for (i = 0; i < a->workers[k].n_held; i++)
                a->on_finding(a->ctx, &a->workers[k].held[i].f);
    }
    for (k = 0; k < a->n_workers; k++)
        a->workers[k].n_held = 0;
}

/* The first worker's error; a database's message moves to the caller's
 * registry, whose error the caller reads. */
static ocp_status workers_failed(struct audit *a)
{
    size_t k;
    for (k = 0; k < a->n_workers; k++) {
        struct worker *w = &a->workers[k];
        if (w->failed == OCP_OK)
            continue;
        if (w->failed == OCP_E_DB) {
            reg_set_error(w->r, "auditing");
            snprintf(a->r->error, sizeof a->r->error, "%s", w->r->error);
            a->error_set = 1;
        }
        return w->failed;
    }
    return OCP_OK;
}


static int mark_row(void *ctx, const db_value *c, size_t n)
{
    struct state_mark *m = ctx;
    if (n >= 4 && c[0].type == DB_INT && c[1].type == DB_INT &&
        c[2].type == DB_INT && c[3].type == DB_INT) {
        m->last_batch = c[0].i;
        m->batch_records = c[1].i;
        m->uses = c[2].i;
        m->conflicts = c[3].i;
    }
    return 1;
}

static ocp_status state_mark(ocp_registry *r, struct state_mark *m)
{
    memset(m, 0xff, sizeof *m);
    return db_query(r->db,
                    reg_is_postgresql(r)
                        ? "SELECT COALESCE(MAX(id), 0), "
                          "CAST(COALESCE(SUM(records), 0) AS BIGINT), "
                          "CAST(-1 AS BIGINT), CAST(-1 AS BIGINT) FROM batches"
                        : "SELECT (SELECT COALESCE(MAX(id), 0) FROM batches), "
                          "(SELECT COALESCE(SUM(records), 0) FROM batches), "
                          "(SELECT COUNT(*) FROM uses), "
                          "(SELECT COUNT(*) FROM use_conflicts)",
                    NULL, 0, mark_row, m, NULL);
}

static size_t threads_wanted(uint64_t total)
{
    const char *env = getenv("OCP_AUDIT_THREADS");
    long cpus;
    if (env != NULL && env[0] >= '1' && env[0] <= '9' && env[1] == '\0')
        return (size_t)(env[0] - '0');
    if (total < THREADED_FROM)
        return 1;
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (size_t)cpus;
}

static int two_ints(void *ctx, const db_value *c, size_t n)
{
    int64_t *v = ctx;
    if (n >= 2 && c[0].type == DB_INT && c[1].type == DB_INT) {
        v[0] = c[0].i;
        v[1] = c[1].i;
    }
    return 1;
}

/*
 * Pass 2's parts of the table: each thread reads its own stretch of
 * pages, so the server reads every page once (PostgreSQL's TID range
 * scan over the table's blocks; SQLite's rowid ranges).  A split by a
 * column would have every thread's server process read the whole table.
 * Left whole (every thread reads "") when the size is unknown, which is
 * still correct for one thread and never reached by more.
 */
static ocp_status split_table(struct audit *a)
{
    int pg = reg_is_postgresql(a->r);
    int64_t range[2] = {0, -1};
    size_t k, n = a->n_workers == 1 ? 1 : a->n_workers * PARTS_PER_THREAD;
    ocp_status st;
    a->parts = calloc(n, sizeof *a->parts);
    if (a->parts == NULL)
        return OCP_E_NOMEM;
    a->n_parts = n;
    if (n == 1)
        return OCP_OK;
    st = db_query(a->r->db,
                  pg ? "SELECT CAST(0 AS BIGINT), pg_relation_size('uses') / "
                       "CAST(current_setting('block_size') AS BIGINT)"
                     /* Two subqueries: SQLite reads one end of the
                      * table for a lone MIN or MAX, and the whole table
                      * for both in one SELECT. */
                     : "SELECT COALESCE((SELECT MIN(rowid) FROM uses), 0), "
                       "COALESCE((SELECT MAX(rowid) FROM uses), -1)",
                  NULL, 0, two_ints, range, NULL);
    if (st != OCP_OK)
        return st;
    for (k = 0; k < n; k++) {
        int64_t span = range[1] - range[0] + 1;
        int64_t lo = range[0] + span * (int64_t)k / (int64_t)n;
        int64_t hi = range[0] + span * (int64_t)(k + 1) / (int64_t)n;
        char *out = a->parts[k];
        size_t cap = sizeof a->parts[k];
        /* The first and last ranges are open, so a row the bounds were
         * not computed for still belongs to one. */
        if (pg && k == 0)
            snprintf(out, cap, " WHERE ctid < '(%lld,0)'", (long long)hi);
        else if (pg && k + 1 == n)
            snprintf(out, cap, " WHERE ctid >= '(%lld,0)'", (long long)lo);
        else if (pg)
            snprintf(out, cap, " WHERE ctid >= '(%lld,0)' AND ctid < '(%lld,0)'",
                     (long long)lo, (long long)hi);
        else if (k == 0)
            snprintf(out, cap, " WHERE rowid < %lld", (long long)hi);
        else if (k + 1 == n)
            snprintf(out, cap, " WHERE rowid >= %lld", (long long)lo);
        else
            snprintf(out, cap, " WHERE rowid >= %lld AND rowid < %lld",
                     (long long)lo, (long long)hi);
    }
    return OCP_OK;
}

/* The card ranges of pass 3: the known cards split evenly, in the
 * registry's order (cards it does not know fall in some range). */
static void split_cards(struct audit *a)
{
    size_t k;
    if (a->n_cards < a->n_workers) {
        /* Too few to share: the first thread checks every card. */
        for (k = 1; k < a->n_workers; k++) {
            a->workers[k].has_lo = a->workers[k].has_hi = 1;
            a->workers[k].lo = a->workers[k].hi = 0; /* an empty range */
        }
        return;
    }
    for (k = 1; k < a->n_workers; k++) {
        uint64_t card = a->cards[k * a->n_cards / a->n_workers].key;
        a->workers[k].lo = card;
        a->workers[k].has_lo = 1;
        a->workers[k - 1].hi = card;
        a->workers[k - 1].has_hi = 1;
    }
}

static void merge_sums(struct audit *a)
{
    size_t k, i;
    for (k = 0; k < a->n_workers; k++) {
        const ocp_audit_summary *s = &a->workers[k].sum;
        if (a->workers[k].r != NULL)
            a->sum->threads++; /* it read: its connection joined */
        a->sum->records += s->records;
        a->sum->accepted += s->accepted;
        a->sum->genuine += s->genuine;
        a->sum->batches += s->batches;
        a->sum->cards += s->cards;
        for (i = 0; i < OCP_FINDING_KINDS; i++)
            a->sum->findings[i] += s->findings[i];
    }
}

static ocp_status run(struct audit *a)
{
    ocp_db *db = a->r->db;
    size_t slots = 1024, k;
    ocp_status st;

    st = db_begin_read(db);
    if (st == OCP_OK)
        st = db_snapshot_export(db, a->snapshot);
    if (st == OCP_OK)
        st = state_mark(a->r, &a->mark);
    if (st != OCP_OK)
        return st;
    a->total =
        a->mark.batch_records > 0 ? (uint64_t)a->mark.batch_records : 0;
    a->next_progress = PROGRESS_EVERY;
    /* The terminals' keys first: the other threads check the batches
     * with them while the first loads the cards. */
    st = db_query(db,
                  "SELECT terminal_id, public_key FROM terminals "
                  "ORDER BY terminal_id",
                  NULL, 0, terminal_row, a, NULL);
    if (st != OCP_OK || a->failed != OCP_OK)
        return st != OCP_OK ? st : a->failed;

    a->n_workers = threads_wanted(a->total);
    a->workers = calloc(a->n_workers, sizeof *a->workers);
    if (a->workers == NULL)
        return OCP_E_NOMEM;
    for (k = 0; k < a->n_workers; k++) {
        a->workers[k].a = a;
        a->workers[k].index = k;
    }
    a->workers[0].r = a->r;
    while (slots < a->total + a->total / 2 + 2) /* at most 2/3 full */
        slots *= 2;
    a->set_mask = slots - 1; /* made by the first thread (load_then_read) */
    if (RAND_bytes((unsigned char *)&a->seed, sizeof a->seed) != 1)
        return OCP_E_CRYPTO;
    st = split_table(a);
    if (st != OCP_OK)
        return st;
    /* Passes 1 and 2. */
    run_workers_first(a, load_then_read, read_parts);
    st = workers_failed(a);
    if (st != OCP_OK)
        return st;
    /* Pass 2 finds nothing itself: what is held is pass 1's. */
    if (a->on_finding != NULL)
        release_findings(a, 1);
    a->workers[0].streams = 1;
    st = db_query(db,
                  "SELECT terminal_id, seq, card_id FROM use_conflicts "
                  "ORDER BY id",
                  NULL, 0, conflict_row, &a->workers[0], NULL);
    if (st != OCP_OK)
        return st;

    run_workers(a, pass2_lookups);
    split_cards(a);
    run_workers(a, pass3);
    st = workers_failed(a);
    if (a->on_finding != NULL)
        release_findings(a, 0);
    merge_sums(a);
    for (k = 0; k < a->n_workers; k++)
        if (a->workers[k].r != NULL && db_in_transaction(a->workers[k].r->db))
            (void)db_commit(a->workers[k].r->db); /* ends the read */
    if (st == OCP_OK && a->progress != NULL)
        a->progress(a->ctx, a->done, a->done); /* total was the batches' */
    return st;
}

static void free_workers(struct audit *a)
{
    size_t k;
    for (k = 0; k < a->n_workers; k++) {
        struct worker *w = &a->workers[k];
        hl_cert_checker_free(w->checker);
        if (k > 0)
            ocp_registry_close(w->r);
        free(w->held);
        free(w->batch_hashes);
        free(w->read);
        free(w->cards);
        free(w->items);
        free(w->group);
        free(w->counters);
        free(w->msgs);
        free(w->certs);
        free(w->genuine);
    }
    free(a->workers);
    free(a->parts);
}

ocp_status ocp_audit(ocp_registry *r, ocp_keystore *ks,
                     ocp_finding_fn on_finding, ocp_progress_fn progress,
                     void *ctx, ocp_audit_summary *sum)
{
    struct audit a;
    ocp_status st;
    if (r == NULL || ks == NULL || sum == NULL)
        return OCP_E_ARGS;
    memset(sum, 0, sizeof *sum);
    memset(&a, 0, sizeof a);
    a.r = r;
    a.ks = ks;
    a.on_finding = on_finding;
    a.progress = progress;
    a.ctx = ctx;
    a.sum = sum;
    a.failed = OCP_OK;
    st = run(&a);
    if (db_in_transaction(r->db))
        (void)db_commit(r->db); /* ends the read transaction */
    if (st == OCP_E_DB && !a.error_set)
        reg_set_error(r, "auditing");
    if (a.workers != NULL)
        free_workers(&a);
    free(a.signed_set);
    free(a.cards);
    free(a.windows);
    while (a.n_terms > 0)
        EVP_PKEY_free(a.terms[--a.n_terms].key);
    free(a.terms);
    return st;
}

const char *ocp_finding_name(ocp_finding_kind kind)
{
    static const char *const names[OCP_FINDING_KINDS] = {
        "forged", "cloned", "missing", "clock", "window", "replaced",
        "unknown"};
    return (unsigned)kind < OCP_FINDING_KINDS ? names[kind] : "?";
}
