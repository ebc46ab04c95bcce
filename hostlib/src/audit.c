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
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct audit {
    ocp_registry *r;
    ocp_keystore *ks;
    ocp_finding_fn on_finding;
    ocp_progress_fn progress;
    void *ctx;
    ocp_audit_summary *sum;
    ocp_status failed; /* a callback's error, carried out of a stream */

    struct card_info *cards;
    size_t n_cards, cap_cards;
    struct window *windows;
    size_t n_windows, cap_windows;
    struct terminal_info *terms;
    size_t n_terms, cap_terms;

    ocp_use_record *batch_recs; /* one decoded batch */
    /* The set of (terminal, record) as signed: 64-bit hashes. */
    uint64_t *signed_set;
    size_t set_mask;
    uint64_t *batch_hashes; /* of batch_recs */

    /* Pass 2: the records of the current card. */
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
    uint64_t total, done;
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

static void report(struct audit *a, ocp_finding_kind kind,
                   const uint8_t *card, uint32_t terminal, uint32_t seq,
                   uint32_t counter, uint32_t count, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static void report(struct audit *a, ocp_finding_kind kind,
                   const uint8_t *card, uint32_t terminal, uint32_t seq,
                   uint32_t counter, uint32_t count, const char *fmt, ...)
{
    ocp_finding f;
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
    a->sum->findings[kind]++;
    if (a->on_finding != NULL)
        a->on_finding(a->ctx, &f);
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

static void set_add(struct audit *a, uint64_t h)
{
    size_t i = (size_t)h & a->set_mask;
    while (a->signed_set[i] != 0 && a->signed_set[i] != h)
        i = (i + 1) & a->set_mask;
    a->signed_set[i] = h;
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

static void follow_clock(struct audit *a, struct terminal_info *t,
                         const ocp_use_record *u, int64_t uploaded_at)
{
    if (t->clock_reported)
        return; /* one finding per terminal is enough to send someone */
    if (t->last_seq != 0 && u->seq > t->last_seq &&
        u->datetime < t->last_datetime) {
        t->clock_reported = 1;
        report(a, OCP_FINDING_CLOCK, NULL, t->id, u->seq, 0, 0,
               "terminal %08X dates record %u before record %u "
               "(%u minutes back)",
               t->id, u->seq, t->last_seq, t->last_datetime - u->datetime);
    } else if (card_minutes_to_epoch(u->datetime) >
               uploaded_at + CLOCK_AHEAD_S) {
        t->clock_reported = 1;
        report(a, OCP_FINDING_CLOCK, NULL, t->id, u->seq, 0, 0,
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
    struct audit *a = ctx;
    ocp_use_record *recs = a->batch_recs;
    uint64_t *hashes = a->batch_hashes;
    uint32_t terminal, batch_no;
    struct terminal_info *t;
    size_t count, i;
    if (n < 5 || c[1].type != DB_BLOB || c[2].type != DB_BLOB ||
        c[2].len != OCP_BATCH_SIGNATURE_LEN)
        return 0;
    a->sum->batches++;
    t = find_terminal(a, (uint32_t)c[0].i);
    if (ocp_batch_decode(c[1].b, c[1].len, &terminal, &batch_no, recs,
                         &count) != OCP_OK ||
        t == NULL || terminal != t->id || t->key == NULL ||
        hl_verify(t->key, t->suite, c[1].b, c[1].len, c[2].b) != OCP_OK) {
        report(a, OCP_FINDING_FORGED, NULL, (uint32_t)c[0].i, 0, 0, 0,
               "batch %lld of terminal %08X does not carry that terminal's "
               "signature: its records count as forged",
               (long long)c[3].i, (uint32_t)c[0].i);
        return 0;
    }
    for (i = 0; i < count; i++) {
        hashes[i] = record_hash(terminal, &recs[i]);
        set_prefetch(a, hashes[i]);
    }
    for (i = 0; i < count; i++) {
        set_add(a, hashes[i]);
        follow_clock(a, t, &recs[i], c[4].i);
    }
    return 0;
}

static int conflict_row(void *ctx, const db_value *c, size_t n)
{
    struct audit *a = ctx;
    uint8_t card[8];
    if (n < 3 || c[2].type != DB_TEXT || reg_unhex(c[2].s, card) != 0)
        return 0;
    report(a, OCP_FINDING_FORGED, card, (uint32_t)c[0].i, (uint32_t)c[1].i,
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

static void check_card(struct audit *a)
{
    const uint8_t *id = a->group[0].rec.card_id;
    struct card_info *ci = find_card(a, id);
    const struct window *windows;
    uint32_t *counters, pending = 0, distinct = 0, max = 0, first_gap;
    size_t i, n_acc = 0, n_windows;

    a->sum->cards++;
    if (ci == NULL) {
        report(a, OCP_FINDING_UNKNOWN, id, 0, 0, 0,
               (uint32_t)a->n_group,
               "%zu records of a card the registry does not know",
               a->n_group);
        return;
    }
    counters = grow(a->counters, &a->cap_counters, a->n_group,
                    sizeof *counters);
    if (counters == NULL) {
        a->failed = OCP_E_NOMEM;
        return;
    }
    a->counters = counters;
    windows = card_windows(a, id, &n_windows);
    for (i = 0; i < a->n_group; i++) {
        const struct row *w = &a->group[i];
        const ocp_use_record *u = &w->rec;
        int genuine = 0;
        ocp_status st;
        if (w->hash == 0 || !set_has(a, w->hash)) {
            report(a, OCP_FINDING_FORGED, id, w->terminal, u->seq, u->counter,
                   0,
                   "record %u of terminal %08X is not as the terminal "
                   "signed it",
                   u->seq, w->terminal);
            continue;
        }
        if (u->outcome == OCP_USE_PENDING) {
            pending++;
            continue;
        }
        if (u->outcome != OCP_USE_ACCEPTED)
            continue;
        a->sum->accepted++;
        st = hl_cert_check(a->checker, ci->suite, ci->version, w->terminal,
                           u, &genuine);
        if (st != OCP_OK) {
            a->failed = st;
            break;
        }
        if (!genuine) {
            report(a, OCP_FINDING_FORGED, id, w->terminal, u->seq, u->counter,
                   0,
                   "the certificate of record %u of terminal %08X is not "
                   "the card's",
                   u->seq, w->terminal);
            continue;
        }
        a->sum->genuine++;
        counters[n_acc++] = u->counter;
        {
            const struct window *win =
                find_window(windows, n_windows, u->service);
            uint32_t day = u->datetime / 1440u;
            if (win != NULL && (day < win->from || day > win->to))
                report(a, OCP_FINDING_WINDOW, id, w->terminal, u->seq,
                       u->counter, 0,
                       "service %04X used on day %u, outside its window "
                       "%u..%u",
                       u->service, day, win->from, win->to);
        }
        if ((ci->replaced_at != 0 &&
             card_minutes_to_epoch(u->datetime) > ci->replaced_at) ||
            (ci->hotlisted_at != 0 &&
             card_minutes_to_epoch(u->datetime) > ci->hotlisted_at))
            report(a, OCP_FINDING_REPLACED, id, w->terminal, u->seq,
                   u->counter, 0,
                   "used after the card was %s",
                   ci->replaced_at != 0 ? "replaced" : "hotlisted");
    }
    /* Counters: rows come in counter order, so repeats are neighbours. */
    sort_u32(counters, n_acc);
    for (i = 0; i < n_acc; i++) {
        if (i > 0 && counters[i] == counters[i - 1]) {
            report(a, OCP_FINDING_CLONED, id, 0, 0, counters[i], 0,
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
        report(a, OCP_FINDING_MISSING, id, 0, 0, first_gap,
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

static int use_row(void *ctx, const db_value *c, size_t n)
{
    struct audit *a = ctx;
    struct row *w, *p;
    if (n < 12 || c[2].type != DB_TEXT || c[11].type != DB_BLOB ||
        c[11].len != 8)
        return 0;
    p = grow(a->group, &a->cap_group, a->n_group + 1, sizeof *a->group);
    if (p == NULL) {
        a->failed = OCP_E_NOMEM;
        return 1;
    }
    a->group = p;
    w = &a->group[a->n_group];
    if (a->n_group > 0 && c[2].len == 16 &&
        memcmp(c[2].s, a->group_hex, 16) == 0) {
        /* The same card as the row before: its id is decoded already. */
        memcpy(w->rec.card_id, a->group[0].rec.card_id, 8);
    } else {
        if (reg_unhex(c[2].s, w->rec.card_id) != 0)
            return 0;
        /* A new card: the previous one is complete. */
        if (a->n_group > 0) {
            struct row next = *w;
            check_card(a);
            a->n_group = 0;
            a->group[0] = next;
            w = &a->group[0];
        }
        memcpy(a->group_hex, c[2].s, 17);
    }
    w->terminal = (uint32_t)c[0].i;
    w->rec.seq = (uint32_t)c[1].i;
    w->rec.domain = (uint8_t)c[3].i;
    w->rec.service = (uint16_t)c[4].i;
    w->rec.amount = (uint32_t)c[5].i;
    w->rec.datetime = (uint32_t)c[6].i;
    w->rec.outcome = (uint8_t)c[7].i;
    w->rec.counter = (uint32_t)c[8].i;
    w->rec.remaining = (uint32_t)c[9].i;
    w->rec.flags = (uint8_t)c[10].i;
    memcpy(w->rec.cert, c[11].b, 8);
    if (row_fits(c)) {
        /* Checked when the card is complete, by which time the slot is in
         * the cache. */
        w->hash = record_hash(w->terminal, &w->rec);
        set_prefetch(a, w->hash);
    } else {
        w->hash = 0; /* in no set: not as any terminal signed it */
    }
    a->n_group++;
    a->sum->records++;
    if (++a->done % 10000 == 0 && a->progress != NULL)
        a->progress(a->ctx, a->done, a->total);
    return a->failed != OCP_OK;
}

static int count_row(void *ctx, const db_value *c, size_t n)
{
    if (n >= 1 && c[0].type == DB_INT)
        *(uint64_t *)ctx = (uint64_t)c[0].i;
    return 1;
}

static ocp_status run(struct audit *a)
{
    ocp_db *db = a->r->db;
    size_t slots = 1024;
    ocp_status st;

    st = db_query(db, "SELECT COUNT(*) FROM uses", NULL, 0, count_row,
                  &a->total, NULL);
    if (st == OCP_OK)
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

    /* Pass 1. */
    while (slots < 2 * a->total + 2)
        slots *= 2;
    a->signed_set = calloc(slots, sizeof *a->signed_set);
    if (a->signed_set == NULL)
        return OCP_E_NOMEM;
    a->set_mask = slots - 1;
    a->batch_recs = calloc(OCP_BATCH_MAX_RECORDS, sizeof *a->batch_recs);
    a->batch_hashes =
        calloc(OCP_BATCH_MAX_RECORDS, sizeof *a->batch_hashes);
    if (a->batch_recs == NULL || a->batch_hashes == NULL)
        return OCP_E_NOMEM;
    st = db_query(db,
                  "SELECT terminal_id, body, signature, batch_no, uploaded_at "
                  "FROM batches ORDER BY id",
                  NULL, 0, batch_row, a, NULL);
    if (st == OCP_OK)
        st = db_query(db,
                      "SELECT terminal_id, seq, card_id FROM use_conflicts "
                      "ORDER BY id",
                      NULL, 0, conflict_row, a, NULL);
    if (st != OCP_OK)
        return st;

    /* Pass 2. */
    st = hl_cert_checker_new(a->ks, &a->checker);
    if (st == OCP_OK)
        st = db_query(db,
                      "SELECT terminal_id, seq, card_id, domain, service, "
                      "amount, datetime, outcome, counter, remaining, flags, "
                      "cert FROM uses ORDER BY card_id, counter, "
                      "terminal_id, seq",
                      NULL, 0, use_row, a, NULL);
    if (st == OCP_OK && a->failed == OCP_OK && a->n_group > 0)
        check_card(a);
    if (st == OCP_OK && a->progress != NULL)
        a->progress(a->ctx, a->done, a->total);
    return st != OCP_OK ? st : a->failed;
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
    if (st == OCP_E_DB)
        reg_set_error(r, "auditing");
    hl_cert_checker_free(a.checker);
    free(a.signed_set);
    free(a.batch_recs);
    free(a.batch_hashes);
    free(a.group);
    free(a.counters);
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
