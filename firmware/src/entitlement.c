/*
 * Entitlements: grant (issuer), consume (its domain's role), read; the
 * transaction certificate; the idempotent retry of a torn consumption.
 *
 * Stored record (REC_ENT0 + slot - 1), 56 bytes:
 *   0 present | 1 service(2) | 3 domain | 4 kind | 5 flags | 6 from(2) |
 *   8 to(2) | 10 period | 11 limit(4) | 15 remaining(4) | 19 period id(2) |
 *   21 last: terminal(4) | 25 seq(4) | 29 counter(4) | 33 amount(4) |
 *   37 remaining(4) | 41 flags | 42 datetime(4) | 46 certificate(8)
 * The last-transaction fields make a retry with the same (terminal, seq)
 * answer from memory; the domain's last transaction is the one with the
 * highest counter among its entitlements.
 */
#include <string.h>

#include "card_internal.h"

#define E_PRESENT 0
#define E_SERVICE 1
#define E_DOMAIN 3
#define E_KIND 4
#define E_FLAGS 5
#define E_FROM 6
#define E_TO 8
#define E_PERIOD 10
#define E_LIMIT 11
#define E_REMAINING 15
#define E_PERIOD_ID 19
#define E_L_TERMINAL 21
#define E_L_SEQ 25
#define E_L_COUNTER 29
#define E_L_AMOUNT 33
#define E_L_REMAINING 37
#define E_L_FLAGS 41
#define E_L_DATETIME 42
#define E_L_CERT 46

static int ent_load(const struct ocp_card *card, unsigned slot,
                    uint8_t e[STORE_PAYLOAD])
{
    int got = store_read(card, REC_ENT0 + slot, e);
    if (got < 0)
        return -1;
    return got > 0 && e[E_PRESENT] == 1;
}

/* Index (0-based) of the domain's entitlement with the newest transaction,
 * or -1 when none has one; -2 on NVM failure. */
static int newest_in_domain(const struct ocp_card *card, uint8_t domain,
                            uint8_t e[STORE_PAYLOAD])
{
    uint8_t cur[STORE_PAYLOAD];
    uint32_t best = 0;
    int found = -1;
    unsigned i;
    for (i = 0; i < OCP_MAX_ENTITLEMENTS; i++) {
        int got = ent_load(card, i, cur);
        uint32_t c;
        if (got < 0)
            return -2;
        if (!got || cur[E_DOMAIN] != domain)
            continue;
        c = ocp_get_be32(cur + E_L_COUNTER);
        if (c > best) {
            best = c;
            found = (int)i;
            memcpy(e, cur, STORE_PAYLOAD);
        }
    }
    return found;
}

static void last_tx_write(const uint8_t e[STORE_PAYLOAD], uint8_t *out)
{
    memcpy(out, e + E_L_TERMINAL, 12); /* terminal, seq, counter */
    memcpy(out + 12, e + E_SERVICE, 2);
    memcpy(out + 14, e + E_L_REMAINING, 4);
    out[18] = e[E_L_FLAGS];
    memcpy(out + 19, e + E_L_CERT, OCP_MAC_LEN);
}

int entitlement_last_tx(const struct ocp_card *card, uint8_t domain,
                        uint8_t out[OCP_LASTTX_LEN])
{
    uint8_t e[STORE_PAYLOAD];
    int i;
    memset(out, 0, OCP_LASTTX_LEN);
    if (domain == OCP_ROLE_ISSUER || domain == OCP_ROLE_KIOSK)
        return 0;
    i = newest_in_domain(card, domain, e);
    if (i < -1)
        return -1;
    if (i >= 0)
        last_tx_write(e, out);
    return 0;
}

/* Finds the slot of a service code; -1 when absent, -2 on failure. */
static int find_service(const struct ocp_card *card, uint16_t service,
                        uint8_t e[STORE_PAYLOAD])
{
    unsigned i;
    for (i = 0; i < OCP_MAX_ENTITLEMENTS; i++) {
        int got = ent_load(card, i, e);
        if (got < 0)
            return -2;
        if (got && ocp_get_be16(e + E_SERVICE) == service)
            return (int)i;
    }
    return -1;
}

struct certificate_input {
    uint32_t counter;
    uint16_t service;
    uint8_t domain;
    uint32_t amount, remaining, terminal, seq, datetime;
    uint8_t flags;
};

/* certificate = CMAC(K_txmac, "TXC1" | card id | counter | service | domain
 * | amount | remaining | terminal | seq | datetime | flags), first 8 bytes */
static int certify(const struct ocp_card *card,
                   const struct certificate_input *in, uint8_t cert[8])
{
    uint8_t key[16], tag[16], m[4 + 8 + 4 + 2 + 1 + 4 * 5 + 1];
    uint8_t version;
    ocp_writer w;

    if (!keys_get(card, OCP_KEY_TXMAC, &version, key))
        return -1;
    ocp_writer_init(&w, m, sizeof m);
    ocp_put_bytes(&w, (const uint8_t *)"TXC1", 4);
    ocp_put_bytes(&w, card->card_id, 8);
    ocp_put_u32(&w, in->counter);
    ocp_put_u16(&w, in->service);
    ocp_put_u8(&w, in->domain);
    ocp_put_u32(&w, in->amount);
    ocp_put_u32(&w, in->remaining);
    ocp_put_u32(&w, in->terminal);
    ocp_put_u32(&w, in->seq);
    ocp_put_u32(&w, in->datetime);
    ocp_put_u8(&w, in->flags);
    ocp_cmac(ocp_suite_cipher(card_suite(card)), key, m, sizeof m, tag);
    memcpy(cert, tag, 8);
    ocp_wipe(key, sizeof key);
    ocp_wipe(tag, sizeof tag);
    return 0;
}

static void consume_response(const uint8_t e[STORE_PAYLOAD], uint8_t extra,
                             card_apdu *a)
{
    memcpy(a->out, e + E_L_COUNTER, 4);
    memcpy(a->out + 4, e + E_L_REMAINING, 4);
    a->out[8] = (uint8_t)(e[E_L_FLAGS] | extra);
    memcpy(a->out + 9, e + E_L_CERT, OCP_MAC_LEN);
    a->out_len = OCP_CONSUME_RESP_LEN;
}

/* The on-card log record (docs/NVM.md): the 24 bytes READ RECORD shows,
 * then what a retry needs that READ RECORD does not show. */
#define LOG_SEQ 24u  /* the terminal's sequence number */
#define LOG_CERT 28u /* the certificate */

/*
 * Finds this terminal's consumption with this sequence number in the log:
 * a torn attempt retried after other taps in its domain (another
 * terminal's, say), when the domain's last transaction is no longer it.
 * Returns 1 with the record, 0 when it is not among the 32 newest, -1 on
 * NVM failure.
 */
static int log_find_attempt(struct ocp_card *card, uint8_t domain,
                            uint32_t terminal, uint32_t seq,
                            uint8_t rec[STORE_PAYLOAD])
{
    struct store_log_walk w;
    int got;
    if (seq == 0) /* never a terminal's number; zero in records of old */
        return 0;
    memset(&w, 0, sizeof w);
    while ((got = store_log_walk(card, &w, rec)) == 1)
        if (rec[14] == domain && ocp_get_be32(rec + 8) == terminal &&
            ocp_get_be32(rec + LOG_SEQ) == seq)
            return 1;
    return got;
}

/* The answer to a repeated CONSUME, from its log record. */
static void consume_response_from_log(const uint8_t rec[STORE_PAYLOAD],
                                      card_apdu *a)
{
    memcpy(a->out, rec, 4);           /* counter */
    memcpy(a->out + 4, rec + 19, 4);  /* remaining */
    a->out[8] = (uint8_t)(rec[23] | OCP_TXF_REPEAT);
    memcpy(a->out + 9, rec + LOG_CERT, OCP_MAC_LEN);
    a->out_len = OCP_CONSUME_RESP_LEN;
}

/*
 * A consumption refused for want of units still keeps what it learned
 * about the date: a newer plausible date, or a far-ahead one waiting for a
 * second terminal.  Without this a card whose counter had run out could
 * never renew through two terminals (docs/PROTOCOL.md section 3).  One
 * root write, only when the date state changed.
 */
static uint16_t refuse_keeping_date(struct ocp_card *card,
                                    const struct ocp_card_root *root)
{
    if (root->last_date != card->root.last_date ||
        root->pending_date != card->root.pending_date ||
        root->pending_terminal != card->root.pending_terminal) {
        store_begin(card);
        if (store_commit(card, root) != 0)
            return OCP_SW_MEMORY_FAILURE;
    }
    return OCP_SW_NOT_ENOUGH_UNITS;
}

/*
 * CONSUME: data = service(2) | amount(4) | terminal sequence(4).  The
 * terminal id and date-time are those of the session.
 */
uint16_t cmd_consume(struct ocp_card *card, card_apdu *a)
{
    uint8_t e[STORE_PAYLOAD], log[STORE_PAYLOAD];
    struct ocp_card_root root = card->root;
    struct certificate_input c;
    uint8_t role = card->session_role;
    uint16_t service, day;
    uint32_t amount, seq, remaining;
    int slot, trusted;
    ocp_reader r;

    if (a->p1 != 0 || a->p2 != 0)
        return OCP_SW_WRONG_P1P2;
    ocp_reader_init(&r, a->data, a->len);
    service = ocp_get_u16(&r);
    amount = ocp_get_u32(&r);
    seq = ocp_get_u32(&r);
    if (!ocp_reader_done(&r))
        return OCP_SW_WRONG_LENGTH;
    if (role == OCP_ROLE_ISSUER || role == OCP_ROLE_KIOSK)
        return OCP_SW_SECURITY_STATUS;
    if (card->root.state != OCP_STATE_ACTIVE)
        return OCP_SW_CONDITIONS;

    /* A retry of the domain's last transaction answers from memory. */
    slot = newest_in_domain(card, role, e);
    if (slot < -1)
        return OCP_SW_MEMORY_FAILURE;
    if (slot >= 0 &&
        ocp_get_be32(e + E_L_TERMINAL) == card->session_terminal &&
        ocp_get_be32(e + E_L_SEQ) == seq) {
        consume_response(e, OCP_TXF_REPEAT, a);
        return OCP_SW_OK;
    }
    switch (log_find_attempt(card, role, card->session_terminal, seq, log)) {
    case 1:
        consume_response_from_log(log, a);
        return OCP_SW_OK;
    case 0:
        break;
    default:
        return OCP_SW_MEMORY_FAILURE;
    }

    slot = find_service(card, service, e);
    if (slot < -1)
        return OCP_SW_MEMORY_FAILURE;
    if (slot < 0 || e[E_DOMAIN] != role)
        return OCP_SW_REF_NOT_FOUND;
    if ((e[E_FLAGS] & OCP_ENT_FLAG_PIN) && !card->pin_verified)
        return OCP_SW_SECURITY_STATUS;
    day = date_of(card->session_datetime);
    if (day < ocp_get_be16(e + E_FROM) || day > ocp_get_be16(e + E_TO))
        return OCP_SW_CONDITIONS;

    memset(&c, 0, sizeof c);
    c.flags = date_observe(card, &root, card->session_datetime,
                           card->session_terminal, &trusted);
    remaining = ocp_get_be32(e + E_REMAINING);
    switch (e[E_KIND]) {
    case OCP_KIND_PASS:
        if (amount > 1)
            return OCP_SW_WRONG_DATA;
        break;
    case OCP_KIND_COUNTER:
        if (amount == 0)
            return OCP_SW_WRONG_DATA;
        if (e[E_PERIOD] != OCP_PERIOD_NONE && trusted) {
            uint16_t p = date_period(day, e[E_PERIOD]);
            if (p > ocp_get_be16(e + E_PERIOD_ID)) {
                if (ocp_get_be16(e + E_PERIOD_ID) != 0) {
                    remaining = ocp_get_be32(e + E_LIMIT);
                    c.flags |= OCP_TXF_RENEWED;
                }
                ocp_put_be16(e + E_PERIOD_ID, p);
            }
        }
        if (remaining < amount)
            return refuse_keeping_date(card, &root);
        remaining -= amount;
        break;
    case OCP_KIND_BALANCE:
        if (amount == 0)
            return OCP_SW_WRONG_DATA;
        if (remaining < amount)
            return refuse_keeping_date(card, &root);
        remaining -= amount;
        break;
    default:
        return OCP_SW_MEMORY_FAILURE;
    }
    if (card->root.tx_counter == 0xFFFFFFFFu)
        return OCP_SW_CONDITIONS;

    root.tx_counter = card->root.tx_counter + 1u;
    c.counter = root.tx_counter;
    c.service = service;
    c.domain = role;
    c.amount = amount;
    c.remaining = remaining;
    c.terminal = card->session_terminal;
    c.seq = seq;
    c.datetime = card->session_datetime;
    ocp_put_be32(e + E_REMAINING, remaining);
    ocp_put_be32(e + E_L_TERMINAL, c.terminal);
    ocp_put_be32(e + E_L_SEQ, seq);
    ocp_put_be32(e + E_L_COUNTER, c.counter);
    ocp_put_be32(e + E_L_AMOUNT, amount);
    ocp_put_be32(e + E_L_REMAINING, remaining);
    e[E_L_FLAGS] = c.flags;
    ocp_put_be32(e + E_L_DATETIME, c.datetime);
    if (certify(card, &c, e + E_L_CERT) != 0)
        return OCP_SW_CONDITIONS; /* no transaction key: not personalised */

    /* Log record: counter | datetime | terminal | service | domain |
     * amount | remaining | flags | seq | certificate. */
    memset(log, 0, sizeof log);
    ocp_put_be32(log, c.counter);
    ocp_put_be32(log + 4, c.datetime);
    ocp_put_be32(log + 8, c.terminal);
    ocp_put_be16(log + 12, service);
    log[14] = role;
    ocp_put_be32(log + 15, amount);
    ocp_put_be32(log + 19, remaining);
    log[23] = c.flags;
    ocp_put_be32(log + LOG_SEQ, seq);
    memcpy(log + LOG_CERT, e + E_L_CERT, OCP_MAC_LEN);

    store_begin(card);
    if (store_put(card, REC_ENT0 + (unsigned)slot, e) != 0 ||
        store_log_append(card, log) != 0 || store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    consume_response(e, 0, a);
    return OCP_SW_OK;
}

/*
 * GRANT (issuer): P1 = slot 1..16 (0: first free), P2 = operation.
 * PUT data = service(2) | domain | kind | flags | from(2) | to(2) | period
 *            | limit(4) | remaining(4)           (18 bytes)
 * CREDIT data = amount(4); REVOKE has no data.  Answers the slot number.
 */
uint16_t cmd_grant(struct ocp_card *card, card_apdu *a)
{
    uint8_t e[STORE_PAYLOAD], other[STORE_PAYLOAD];
    struct ocp_card_root root = card->root;
    int slot = (int)a->p1 - 1, dup;
    ocp_reader r;

    if (card->session_role != OCP_ROLE_ISSUER)
        return OCP_SW_SECURITY_STATUS;
    if (card->root.state == OCP_STATE_TERMINATED)
        return OCP_SW_CONDITIONS;
    if (a->p1 > OCP_MAX_ENTITLEMENTS || a->p2 < OCP_GRANT_PUT ||
        a->p2 > OCP_GRANT_CREDIT || (a->p1 == 0 && a->p2 != OCP_GRANT_PUT))
        return OCP_SW_WRONG_P1P2;
    ocp_reader_init(&r, a->data, a->len);

    if (a->p2 == OCP_GRANT_PUT) {
        uint16_t service = ocp_get_u16(&r);
        uint8_t domain = ocp_get_u8(&r), kind = ocp_get_u8(&r);
        uint8_t flags = ocp_get_u8(&r);
        uint16_t from = ocp_get_u16(&r), to = ocp_get_u16(&r);
        uint8_t period = ocp_get_u8(&r);
        uint32_t limit = ocp_get_u32(&r), remaining = ocp_get_u32(&r);
        if (!ocp_reader_done(&r))
            return OCP_SW_WRONG_LENGTH;
        if (service == 0 || domain < OCP_ROLE_TRANSIT ||
            domain > OCP_ROLE_VENUE || kind < OCP_KIND_PASS ||
            kind > OCP_KIND_BALANCE || (flags & ~OCP_ENT_FLAG_PIN) ||
            from > to || period > OCP_PERIOD_YEAR ||
            (kind != OCP_KIND_COUNTER && period != OCP_PERIOD_NONE) ||
            (kind == OCP_KIND_COUNTER && remaining > limit) ||
            (kind == OCP_KIND_PASS && (limit || remaining)))
            return OCP_SW_WRONG_DATA;
        dup = find_service(card, service, other);
        if (dup < -1)
            return OCP_SW_MEMORY_FAILURE;
        if (slot < 0) {
            unsigned i;
            for (i = 0; i < OCP_MAX_ENTITLEMENTS && slot < 0; i++) {
                int got = ent_load(card, i, e);
                if (got < 0)
                    return OCP_SW_MEMORY_FAILURE;
                if (!got)
                    slot = (int)i;
            }
            if (dup >= 0)
                slot = dup; /* the same service: renew it in place */
            if (slot < 0)
                return OCP_SW_CARD_FULL;
        } else if (dup >= 0 && dup != slot) {
            return OCP_SW_WRONG_DATA; /* one slot per service code */
        }
        if (ent_load(card, (unsigned)slot, e) < 0)
            return OCP_SW_MEMORY_FAILURE;
        /* Renewing the same service keeps its last transaction, so a torn
         * consumption can still be retried. */
        if (!(e[E_PRESENT] == 1 && ocp_get_be16(e + E_SERVICE) == service))
            memset(e, 0, sizeof e);
        e[E_PRESENT] = 1;
        ocp_put_be16(e + E_SERVICE, service);
        e[E_DOMAIN] = domain;
        e[E_KIND] = kind;
        e[E_FLAGS] = flags;
        ocp_put_be16(e + E_FROM, from);
        ocp_put_be16(e + E_TO, to);
        e[E_PERIOD] = period;
        ocp_put_be32(e + E_LIMIT, limit);
        ocp_put_be32(e + E_REMAINING, remaining);
        ocp_put_be16(e + E_PERIOD_ID,
                     period != OCP_PERIOD_NONE && root.last_date
                         ? date_period(root.last_date, period)
                         : 0);
    } else {
        int got;
        if (slot < 0)
            return OCP_SW_WRONG_P1P2;
        got = ent_load(card, (unsigned)slot, e);
        if (got < 0)
            return OCP_SW_MEMORY_FAILURE;
        if (!got)
            return OCP_SW_RECORD_NOT_FOUND;
        if (a->p2 == OCP_GRANT_REVOKE) {
            if (!ocp_reader_done(&r))
                return OCP_SW_WRONG_LENGTH;
            memset(e, 0, sizeof e);
        } else {
            uint32_t amount = ocp_get_u32(&r);
            uint32_t remaining = ocp_get_be32(e + E_REMAINING);
            if (!ocp_reader_done(&r))
                return OCP_SW_WRONG_LENGTH;
            if (e[E_KIND] == OCP_KIND_PASS || amount == 0 ||
                remaining > 0xFFFFFFFFu - amount)
                return OCP_SW_WRONG_DATA;
            ocp_put_be32(e + E_REMAINING, remaining + amount);
        }
    }
    store_begin(card);
    if (store_put(card, REC_ENT0 + (unsigned)slot, e) != 0 ||
        store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    a->out[0] = (uint8_t)(slot + 1);
    a->out_len = 1;
    return OCP_SW_OK;
}

static void ent_wire(unsigned slot, const uint8_t e[STORE_PAYLOAD],
                     uint8_t *out)
{
    out[0] = (uint8_t)(slot + 1);
    memcpy(out + 1, e + E_SERVICE, OCP_ENT_REC_LEN - 1);
}

/*
 * READ RECORD: P2 = SFI << 3 | 4 (record P1) or | 5 (records P1 to the
 * last that fit).  Record n is the n-th one the role may see: entitlements
 * in slot order, log records newest first.  Records of other domains are
 * skipped, not refused, so their existence does not show.
 */
uint16_t cmd_read_record(struct ocp_card *card, card_apdu *a)
{
    uint8_t rec[STORE_PAYLOAD];
    uint8_t sfi = (uint8_t)(a->p2 >> 3), mode = (uint8_t)(a->p2 & 7u);
    unsigned want = a->p1, seen = 0, written = 0, i;
    size_t rec_len, used = 0;
    struct store_log_walk walk;

    if (a->len != 0)
        return OCP_SW_WRONG_LENGTH;
    if (want == 0 || (mode != 4 && mode != 5))
        return OCP_SW_WRONG_P1P2;
    if (sfi != OCP_SFI_ENTITLEMENTS && sfi != OCP_SFI_LOG)
        return OCP_SW_FILE_NOT_FOUND;
    if (!session_may_read(card))
        return OCP_SW_SECURITY_STATUS;
    rec_len = sfi == OCP_SFI_LOG ? OCP_LOG_REC_LEN : OCP_ENT_REC_LEN;
    memset(&walk, 0, sizeof walk);

    for (i = 0;; i++) {
        int got;
        uint8_t domain;
        if (sfi == OCP_SFI_ENTITLEMENTS) {
            if (i >= OCP_MAX_ENTITLEMENTS)
                break;
            got = ent_load(card, i, rec);
            domain = rec[E_DOMAIN];
        } else {
            got = store_log_walk(card, &walk, rec);
            domain = rec[14];
        }
        if (got < 0)
            return OCP_SW_MEMORY_FAILURE;
        if (sfi == OCP_SFI_LOG && got == 0)
            break;
        if (!got || !role_sees_domain(card->session_role, domain))
            continue;
        if (++seen < want)
            continue;
        if (used + rec_len > a->out_cap)
            break;
        if (sfi == OCP_SFI_ENTITLEMENTS)
            ent_wire(i, rec, a->out + used);
        else
            memcpy(a->out + used, rec, rec_len);
        used += rec_len;
        written++;
        if (mode == 4)
            break;
    }
    if (written == 0)
        return OCP_SW_RECORD_NOT_FOUND;
    a->out_len = used;
    return OCP_SW_OK;
}
