/*
 * The audit (ocp/audit.h), in two streaming passes over the registry:
 *
 * 1. Batches, in upload order: each signature is checked with its
 *    terminal's key, each record's exact bytes go into a set of what
 *    terminals signed, and each terminal's dates are followed along its
 *    sequence numbers (clock anomalies).
 * 2. Records, in card and counter order: each must be in the signed set,
 *    each consumption's certificate must verify with the card's key; then
 *    per card the counters are checked for repeats (clones, rollbacks) and
 *    gaps (missing records, net of the card's unresolved attempts), and
 *    the dates against the entitlement's window and the card's
 *    replacement or hotlisting.
 *
 * Cards, entitlements and terminals are read into memory first (a city
 * has about 100 000 cards: a few megabytes); records are never all in
 * memory, only one card's at a time.
 *
 * Both passes run on several threads, each with its own connection, all
 * reading one state of the registry (docs/BACKOFFICE.md section 5): pass
 * 1 splits the terminals (a terminal's batches stay in one thread, in
 * upload order), pass 2 splits the cards into ranges.  Findings come out
 * in the order one thread would give: pass 1's by upload order, pass 2's
 * by card.  Reading the rows costs more than checking them, so one thread
 * could not keep up with the CMAC budget (docs/PERFORMANCE.md).
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int64_t card_minutes_to_epoch(uint32_t minutes)
{
    return EPOCH_2000 + (int64_t)minutes * 60;
}

/* ---- what is read into memory first ------------------------------------ */

struct card_info {
    uint8_t id[8];
    uint8_t suite, version;
    int64_t replaced_at;  /* 0: not replaced */
    int64_t hotlisted_at; /* 0: not on the hotlist */
};

struct window {
    uint8_t id[8];
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
    uint64_t *signed_set;
    size_t set_mask;
    uint64_t total;
    uint64_t done; /* atomic */
    uint64_t next_progress;

    struct worker *workers;
    size_t n_workers;
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

    /* Pass 1: one decoded batch. */
    ocp_use_record *batch_recs;
    uint64_t *batch_hashes;

    /* Pass 2: the cards from lo (inclusive) to hi (exclusive), "" for
     * no bound, one card's records at a time. */
    char lo[17], hi[17];
    struct row {
        uint32_t terminal;
        uint64_t hash; /* record_hash(), its set slot fetched early */
        ocp_use_record rec;
    } *group;
    char group_hex[17]; /* the current card's id as the rows spell it */
    uint32_t *counters;
    size_t cap_counters;
    size_t n_group, cap_group;
    hl_cert_checker *checker;
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
    if (n < 4)
        return 1;
    p = grow(a->windows, &a->cap_windows, a->n_windows + 1,
             sizeof *a->windows);
    if (p == NULL) {
        a->failed = OCP_E_NOMEM;
        return 1;
    }
    a->windows = p;
    if (c[0].type != DB_TEXT ||
        reg_unhex(c[0].s, a->windows[a->n_windows].id) != 0)
        return 0;
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

static int cmp_card(const void *key, const void *elem)
{
    return memcmp(key, ((const struct card_info *)elem)->id, 8);
}

static struct card_info *find_card(struct audit *a, const uint8_t id[8])
{
    if (a->n_cards == 0)
        return NULL; /* bsearch may not be given a null array */
    return bsearch(id, a->cards, a->n_cards, sizeof *a->cards, cmp_card);
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

/* The card's windows: *n of them from the one returned (loaded in
 * (card, service) order, so they are neighbours). */
static const struct window *card_windows(struct audit *a, const uint8_t id[8],
                                         size_t *n)
{
    size_t lo = 0, hi = a->n_windows, end;
    while (lo < hi) { /* the first window not before the card */
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(a->windows[mid].id, id, 8) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (end = lo; end < a->n_windows && memcmp(a->windows[end].id, id, 8) == 0;
         end++)
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
 * A 64-bit hash of the terminal id and every field of the record, taken
 * from the decoded fields, a word at a time: each step (xor a word,
 * multiply by an odd constant, fold the high half down) is a bijection of
 * the state, so two records that differ in one word never collide, and
 * records that differ in several collide about once in 2^64.  A splitmix64
 * finaliser spreads the result over the set's slots.
 */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ h >> 32;
}

static uint64_t bytes8(const uint8_t b[8])
{
    return (uint64_t)ocp_get_be32(b) << 32 | ocp_get_be32(b + 4);
}

static uint64_t record_hash(uint32_t terminal, const ocp_use_record *u)
{
    uint64_t h = 0x6f63702d61756469ULL; /* "ocp-audi" */
    h = mix(h, (uint64_t)terminal << 32 | u->seq);
    h = mix(h, bytes8(u->card_id));
    h = mix(h, (uint64_t)u->domain << 40 | (uint64_t)u->service << 24 |
                   (uint64_t)u->outcome << 16 | (uint64_t)u->flags << 8);
    h = mix(h, (uint64_t)u->amount << 32 | u->datetime);
    h = mix(h, (uint64_t)u->counter << 32 | u->remaining);
    h = mix(h, bytes8(u->cert));
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
                         const ocp_use_record *u, int64_t uploaded_at)
{
    if (t->clock_reported)
        return; /* one finding per terminal is enough to send someone */
    if (t->last_seq != 0 && u->seq > t->last_seq &&
        u->datetime < t->last_datetime) {
        t->clock_reported = 1;
        report(w, OCP_FINDING_CLOCK, NULL, t->id, u->seq, 0, 0,
               "terminal %08X dates record %u before record %u "
               "(%u minutes back)",
               t->id, u->seq, t->last_seq, t->last_datetime - u->datetime);
    } else if (card_minutes_to_epoch(u->datetime) >
               uploaded_at + CLOCK_AHEAD_S) {
        t->clock_reported = 1;
        report(w, OCP_FINDING_CLOCK, NULL, t->id, u->seq, 0, 0,
               "terminal %08X dates record %u more than a day after it "
               "uploaded it",
               t->id, u->seq);
    }
    if (u->seq > t->last_seq) {
        t->last_seq = u->seq;
        t->last_datetime = u->datetime;
    }
}

static int batch_row(void *ctx, const db_value *c, size_t n)
{
    struct worker *w = ctx;
    struct audit *a = w->a;
    ocp_use_record *recs = w->batch_recs;
    uint64_t *hashes = w->batch_hashes;
    uint32_t terminal, batch_no;
    struct terminal_info *t;
    size_t count, i;
    if (n < 6 || c[1].type != DB_BLOB || c[2].type != DB_BLOB ||
        c[2].len != OCP_BATCH_SIGNATURE_LEN)
        return 0;
    w->sum.batches++;
    w->order = c[5].i;
    t = find_terminal(a, (uint32_t)c[0].i);
    if (ocp_batch_decode(c[1].b, c[1].len, &terminal, &batch_no, recs,
                         &count) != OCP_OK ||
        t == NULL || terminal != t->id || t->key == NULL ||
        hl_verify(t->key, t->suite, c[1].b, c[1].len, c[2].b) != OCP_OK) {
        report(w, OCP_FINDING_FORGED, NULL, (uint32_t)c[0].i, 0, 0, 0,
               "batch %lld of terminal %08X does not carry that terminal's "
               "signature: its records count as forged",
               (long long)c[3].i, (uint32_t)c[0].i);
        return w->failed != OCP_OK;
    }
    for (i = 0; i < count; i++) {
        hashes[i] = record_hash(terminal, &recs[i]);
        set_prefetch(a, hashes[i]);
    }
    for (i = 0; i < count; i++) {
        set_add(a, hashes[i]);
        follow_clock(w, t, &recs[i], c[4].i);
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

static void check_card(struct worker *w)
{
    struct audit *a = w->a;
    const uint8_t *id = w->group[0].rec.card_id;
    struct card_info *ci = find_card(a, id);
    const struct window *windows;
    uint32_t *counters, pending = 0, distinct = 0, max = 0, first_gap;
    size_t i, n_acc = 0, n_windows;

    w->sum.cards++;
    if (ci == NULL) {
        report(w, OCP_FINDING_UNKNOWN, id, 0, 0, 0,
               (uint32_t)w->n_group,
               "%zu records of a card the registry does not know",
               w->n_group);
        return;
    }
    counters = grow(w->counters, &w->cap_counters, w->n_group,
                    sizeof *counters);
    if (counters == NULL) {
        w->failed = OCP_E_NOMEM;
        return;
    }
    w->counters = counters;
    windows = card_windows(a, id, &n_windows);
    for (i = 0; i < w->n_group; i++) {
        const struct row *row = &w->group[i];
        const ocp_use_record *u = &row->rec;
        int genuine = 0;
        ocp_status st;
        if (row->hash == 0 || !set_has(a, row->hash)) {
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
        st = hl_cert_check(w->checker, ci->suite, ci->version, row->terminal,
                           u, &genuine);
        if (st != OCP_OK) {
            w->failed = st;
            break;
        }
        if (!genuine) {
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
    /* Counters: rows come in counter order, so repeats are neighbours. */
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

/* Does every integer column of a pass-2 row fit its width in the signed
 * record?  A cast would hide an edit beyond it (outcome 257 read as 1). */
static int row_fits(const db_value *c)
{
    static const struct {
        uint8_t col;
        uint8_t bits;
    } widths[] = {{0, 32}, {1, 32}, {3, 8},  {4, 16}, {5, 32},
                  {6, 32}, {7, 8},  {8, 32}, {9, 32}, {10, 8}};
    size_t i;
    for (i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        const db_value *v = &c[widths[i].col];
        if (v->type != DB_INT || v->i < 0 || (v->i >> widths[i].bits) != 0)
            return 0;
    }
    return 1;
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

static int use_row(void *ctx, const db_value *c, size_t n)
{
    struct worker *w = ctx;
    struct row *row, *p;
    if (n < 12 || c[2].type != DB_TEXT || c[11].type != DB_BLOB ||
        c[11].len != 8)
        return 0;
    p = grow(w->group, &w->cap_group, w->n_group + 1, sizeof *w->group);
    if (p == NULL) {
        w->failed = OCP_E_NOMEM;
        return 1;
    }
    w->group = p;
    row = &w->group[w->n_group];
    if (w->n_group > 0 && c[2].len == 16 &&
        memcmp(c[2].s, w->group_hex, 16) == 0) {
        /* The same card as the row before: its id is decoded already. */
        memcpy(row->rec.card_id, w->group[0].rec.card_id, 8);
    } else {
        if (reg_unhex(c[2].s, row->rec.card_id) != 0)
            return 0;
        /* A new card: the previous one is complete. */
        if (w->n_group > 0) {
            struct row next = *row;
            check_card(w);
            w->n_group = 0;
            w->group[0] = next;
            row = &w->group[0];
        }
        memcpy(w->group_hex, c[2].s, 17);
    }
    row->terminal = (uint32_t)c[0].i;
    row->rec.seq = (uint32_t)c[1].i;
    row->rec.domain = (uint8_t)c[3].i;
    row->rec.service = (uint16_t)c[4].i;
    row->rec.amount = (uint32_t)c[5].i;
    row->rec.datetime = (uint32_t)c[6].i;
    row->rec.outcome = (uint8_t)c[7].i;
    row->rec.counter = (uint32_t)c[8].i;
    row->rec.remaining = (uint32_t)c[9].i;
    row->rec.flags = (uint8_t)c[10].i;
    memcpy(row->rec.cert, c[11].b, 8);
    if (row_fits(c)) {
        /* Checked when the card is complete, by which time the slot is in
         * the cache. */
        row->hash = record_hash(row->terminal, &row->rec);
        set_prefetch(w->a, row->hash);
    } else {
        row->hash = 0; /* in no set: not as any terminal signed it */
    }
    w->n_group++;
    w->sum.records++;
    w->unflushed++;
    count_done(w, 0);
    return w->failed != OCP_OK;
}

/* ---- the threads ---------------------------------------------------------- */

static void *pass1(void *arg)
{
    struct worker *w = arg;
    ocp_status st;
    w->batch_recs = calloc(OCP_BATCH_MAX_RECORDS, sizeof *w->batch_recs);
    w->batch_hashes = calloc(OCP_BATCH_MAX_RECORDS, sizeof *w->batch_hashes);
    if (w->batch_recs == NULL || w->batch_hashes == NULL) {
        w->failed = OCP_E_NOMEM;
        return NULL;
    }
    char sql[200];
    /* Streamed (db_stream): the numbers go into the text. */
    snprintf(sql, sizeof sql,
             "SELECT terminal_id, body, signature, batch_no, uploaded_at, id "
             "FROM batches WHERE terminal_id %% %zu = %zu ORDER BY id",
             w->a->n_workers, w->index);
    st = db_stream(w->r->db, sql, batch_row, w);
    if (st != OCP_OK && w->failed == OCP_OK)
        w->failed = st;
    return NULL;
}

static void *pass2(void *arg)
{
    struct worker *w = arg;
    char sql[400], lo[40] = "", hi[40] = "";
    ocp_status st = hl_cert_checker_new(w->a->ks, &w->checker);
    if (st != OCP_OK) {
        w->failed = st;
        return NULL;
    }
    /* Streamed (db_stream): the bounds, hex that reg_hex wrote, go into
     * the text. */
    if (w->lo[0] != '\0')
        snprintf(lo, sizeof lo, "card_id >= '%s'", w->lo);
    if (w->hi[0] != '\0')
        snprintf(hi, sizeof hi, "card_id < '%s'", w->hi);
    snprintf(sql, sizeof sql,
             "SELECT terminal_id, seq, card_id, domain, service, amount, "
             "datetime, outcome, counter, remaining, flags, cert FROM uses "
             "%s%s%s%s ORDER BY card_id, counter, terminal_id, seq",
             lo[0] || hi[0] ? "WHERE " : "", lo, lo[0] && hi[0] ? " AND " : "",
             hi);
    st = db_stream(w->r->db, sql, use_row, w);
    if (st == OCP_OK && w->failed == OCP_OK && w->n_group > 0)
        check_card(w);
    count_done(w, 1);
    if (st != OCP_OK && w->failed == OCP_OK)
        w->failed = st;
    return NULL;
}

/* Runs fn on every worker, the first on this thread; a thread that cannot
 * start has its part done here afterwards. */
static void run_workers(struct audit *a, void *(*fn)(void *))
{
    size_t k;
    int *started = calloc(a->n_workers, sizeof *started);
    for (k = 1; k < a->n_workers; k++)
        started[k] = started != NULL &&
                     pthread_create(&a->workers[k].thread, NULL, fn,
                                    &a->workers[k]) == 0;
    fn(&a->workers[0]);
    for (k = 1; k < a->n_workers; k++) {
        if (started != NULL && started[k])
            pthread_join(a->workers[k].thread, NULL);
        else
            fn(&a->workers[k]);
    }
    free(started);
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

/* What a connection sees, in three numbers: the connections of an audit
 * must agree on them (SQLite cannot share a snapshot; every upload adds a
 * batch and a purge removes records). */
struct state_mark {
    int64_t last_batch, uses, conflicts;
};

static int mark_row(void *ctx, const db_value *c, size_t n)
{
    struct state_mark *m = ctx;
    if (n >= 3 && c[0].type == DB_INT && c[1].type == DB_INT &&
        c[2].type == DB_INT) {
        m->last_batch = c[0].i;
        m->uses = c[1].i;
        m->conflicts = c[2].i;
    }
    return 1;
}

static ocp_status state_mark(ocp_registry *r, struct state_mark *m)
{
    memset(m, 0xff, sizeof *m);
    return db_query(r->db,
                    "SELECT (SELECT COALESCE(MAX(id), 0) FROM batches), "
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

/* Opens the other workers' connections on the state the caller's reads:
 * the PostgreSQL snapshot, or on SQLite the same state mark.  A worker
 * that cannot join is left out (one thread always can). */
static void open_workers(struct audit *a, const char *snapshot,
                         const struct state_mark *mark)
{
    size_t k, joined = 1;
    for (k = 1; k < a->n_workers; k++) {
        ocp_registry *r = NULL;
        struct state_mark m;
        int ok = reg_open_again(a->r, &r) == OCP_OK &&
                 db_begin_read(r->db) == OCP_OK &&
                 (snapshot[0] == '\0' ||
                  db_snapshot_import(r->db, snapshot) == OCP_OK) &&
                 state_mark(r, &m) == OCP_OK &&
                 memcmp(&m, mark, sizeof m) == 0;
        if (!ok) {
            ocp_registry_close(r);
            continue;
        }
        a->workers[joined].r = r;
        joined++;
    }
    a->n_workers = joined;
    for (k = 0; k < a->n_workers; k++) {
        a->workers[k].a = a;
        a->workers[k].index = k;
    }
}

/* The card ranges of pass 2: the known cards split evenly, in the
 * registry's order (cards it does not know fall in some range). */
static void split_cards(struct audit *a)
{
    size_t k;
    for (k = 1; k < a->n_workers; k++) {
        const uint8_t *id = a->cards[k * a->n_cards / a->n_workers].id;
        reg_hex(id, a->workers[k].lo);
        reg_hex(id, a->workers[k - 1].hi);
    }
}

static void merge_sums(struct audit *a)
{
    size_t k, i;
    a->sum->threads = (uint32_t)a->n_workers;
    for (k = 0; k < a->n_workers; k++) {
        const ocp_audit_summary *s = &a->workers[k].sum;
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
    struct state_mark mark;
    char snapshot[DB_SNAPSHOT_CAP] = "";
    size_t slots = 1024, k;
    ocp_status st;

    st = db_begin_read(db);
    if (st == OCP_OK)
        st = db_snapshot_export(db, snapshot);
    if (st == OCP_OK)
        st = state_mark(a->r, &mark);
    if (st != OCP_OK)
        return st;
    a->total = (uint64_t)mark.uses;
    a->next_progress = PROGRESS_EVERY;
    st = db_query(db,
                  "SELECT c.card_id, c.suite, c.txmac_version, "
                  "c.replaced_at, h.added_at FROM cards c LEFT JOIN "
                  "hotlist h ON h.card_id = c.card_id AND "
                  "h.removed_at IS NULL ORDER BY c.card_id",
                  NULL, 0, card_row, a, NULL);
    if (st == OCP_OK)
        st = db_query(db,
                      "SELECT card_id, service, valid_from, valid_to FROM "
                      "entitlements ORDER BY card_id, service",
                      NULL, 0, window_row, a, NULL);
    if (st == OCP_OK)
        st = db_query(db,
                      "SELECT terminal_id, public_key FROM terminals "
                      "ORDER BY terminal_id",
                      NULL, 0, terminal_row, a, NULL);
    if (st != OCP_OK || a->failed != OCP_OK)
        return st != OCP_OK ? st : a->failed;

    a->n_workers = threads_wanted(a->total);
    if (a->n_workers > a->n_cards)
        a->n_workers = a->n_cards > 0 ? a->n_cards : 1;
    a->workers = calloc(a->n_workers, sizeof *a->workers);
    if (a->workers == NULL)
        return OCP_E_NOMEM;
    a->workers[0].r = a->r;
    open_workers(a, snapshot, &mark);

    /* Pass 1. */
    while (slots < 2 * a->total + 2)
        slots *= 2;
    a->signed_set = calloc(slots, sizeof *a->signed_set);
    if (a->signed_set == NULL)
        return OCP_E_NOMEM;
    a->set_mask = slots - 1;
    run_workers(a, pass1);
    st = workers_failed(a);
    if (st != OCP_OK)
        return st;
    if (a->on_finding != NULL)
        release_findings(a, 1);
    a->workers[0].streams = 1;
    st = db_query(db,
                  "SELECT terminal_id, seq, card_id FROM use_conflicts "
                  "ORDER BY id",
                  NULL, 0, conflict_row, &a->workers[0], NULL);
    if (st != OCP_OK)
        return st;

    /* Pass 2. */
    split_cards(a);
    run_workers(a, pass2);
    st = workers_failed(a);
    if (a->on_finding != NULL)
        release_findings(a, 0);
    merge_sums(a);
    for (k = 0; k < a->n_workers; k++)
        if (a->workers[k].r != NULL && db_in_transaction(a->workers[k].r->db))
            (void)db_commit(a->workers[k].r->db); /* ends the read */
    if (st == OCP_OK && a->progress != NULL)
        a->progress(a->ctx, a->done, a->total);
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
        free(w->batch_recs);
        free(w->batch_hashes);
        free(w->group);
        free(w->counters);
    }
    free(a->workers);
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
