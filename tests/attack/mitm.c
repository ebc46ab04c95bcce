/* The man in the middle of the attack tests; see mitm.h. */
#include "mitm.h"

#include <string.h>

static void flip(uint8_t *buf, size_t len, unsigned bit)
{
    if (bit / 8u < len)
        buf[bit / 8u] ^= (uint8_t)(0x80u >> (bit % 8u));
}

/* Does the armed tamper apply to this exchange, as `op`? */
static int armed(const struct mitm *m, unsigned n, enum mitm_op op)
{
    return !m->fired && m->op == op && m->at == n;
}

static ocp_status mitm_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct mitm *m = t->ctx;
    struct mitm_exchange *x;
    unsigned n = m->n;
    size_t got = OCP_RAPDU_MAX;
    ocp_status st;

    /* Running out of record is a bug in the test, not an attack: refuse
     * loudly rather than forward unrecorded traffic. */
    if (n >= MITM_MAX_EXCHANGES || clen > MITM_CAPDU_MAX || rlen == NULL)
        return OCP_E_ARGS;
    x = &m->log[n];
    memset(x, 0, sizeof *x);
    m->n++;
    memcpy(x->sent, capdu, clen);
    x->sent_len = clen;
    memcpy(x->delivered, capdu, clen);
    x->delivered_len = clen;

    if (armed(m, n, MITM_DROP_COMMAND)) {
        m->fired = 1;
        x->delivered_len = 0;
        return OCP_E_CARD_REMOVED; /* what a terminal sees of a lost frame */
    }
    if (armed(m, n, MITM_FLIP_COMMAND)) {
        m->fired = 1;
        flip(x->delivered, x->delivered_len, m->bit);
    } else if (armed(m, n, MITM_REPLACE_COMMAND)) {
        m->fired = 1;
        memcpy(x->delivered, m->bytes, m->bytes_len);
        x->delivered_len = m->bytes_len;
    }

    if (m->observe)
        m->observe(m->user, n, 0);
    st = m->inner->ops->transmit(m->inner, x->delivered, x->delivered_len,
                                 x->answered, &got);
    if (st != OCP_OK)
        return st;
    x->answered_len = got;
    if (m->observe)
        m->observe(m->user, n, 1);

    memcpy(x->returned, x->answered, got);
    x->returned_len = got;
    if (armed(m, n, MITM_DROP_RESPONSE)) {
        m->fired = 1;
        x->returned_len = 0;
        return OCP_E_CARD_REMOVED;
    }
    if (armed(m, n, MITM_FLIP_RESPONSE)) {
        m->fired = 1;
        flip(x->returned, x->returned_len, m->bit);
    } else if (armed(m, n, MITM_REPLACE_RESPONSE)) {
        m->fired = 1;
        memcpy(x->returned, m->bytes, m->bytes_len);
        x->returned_len = m->bytes_len;
    }
    if (x->returned_len > *rlen)
        return OCP_E_BUFFER;
    memcpy(rapdu, x->returned, x->returned_len);
    *rlen = x->returned_len;
    return OCP_OK;
}

static ocp_status mitm_reset(ocp_transport *t)
{
    struct mitm *m = t->ctx;
    return m->inner->ops->reset(m->inner);
}

static ocp_status mitm_begin(ocp_transport *t)
{
    struct mitm *m = t->ctx;
    return m->inner->ops->begin(m->inner);
}

static ocp_status mitm_end(ocp_transport *t)
{
    struct mitm *m = t->ctx;
    return m->inner->ops->end(m->inner);
}

/* The wrapped transport stays its opener's to close; the mitm itself lives
 * in the caller's memory. */
static void mitm_close(ocp_transport *t)
{
    (void)t;
}

static const struct ocp_transport_ops mitm_ops = {
    mitm_transmit, mitm_reset, mitm_begin, mitm_end, mitm_close,
};

void mitm_init(struct mitm *m, ocp_transport *inner)
{
    memset(m, 0, sizeof *m);
    m->t.ops = &mitm_ops;
    m->t.ctx = m;
    m->inner = inner;
}

void mitm_clear(struct mitm *m)
{
    m->n = 0;
    m->op = MITM_NOTHING;
    m->fired = 0;
}

void mitm_arm(struct mitm *m, enum mitm_op op, unsigned at, unsigned bit)
{
    m->op = op;
    m->at = at;
    m->bit = bit;
    m->fired = 0;
}

void mitm_arm_replace(struct mitm *m, enum mitm_op op, unsigned at,
                      const uint8_t *bytes, size_t len)
{
    if (len > sizeof m->bytes)
        len = sizeof m->bytes;
    memcpy(m->bytes, bytes, len);
    m->bytes_len = len;
    mitm_arm(m, op, at, 0);
}

uint16_t mitm_inject(struct mitm *m, const uint8_t *apdu, size_t len,
                     uint8_t *r, size_t *rlen)
{
    enum mitm_op op = m->op;
    unsigned before = m->n;
    ocp_status st;

    /* An injection is the attacker's own traffic: it is never tampered
     * with, and does not use up the armed tamper. */
    m->op = MITM_NOTHING;
    st = mitm_transmit(&m->t, apdu, len, r, rlen);
    m->op = op;
    if (m->n > before)
        m->log[before].injected = 1;
    if (st != OCP_OK || *rlen < 2) {
        *rlen = 0;
        return 0;
    }
    return (uint16_t)((r[*rlen - 2] << 8) | r[*rlen - 1]);
}

uint16_t mitm_card_sw(const struct mitm *m, unsigned n)
{
    const struct mitm_exchange *x;
    if (n >= m->n)
        return 0;
    x = &m->log[n];
    if (x->answered_len < 2)
        return 0;
    return (uint16_t)((x->answered[x->answered_len - 2] << 8) |
                      x->answered[x->answered_len - 1]);
}
