/*
 * Protocol attacks (label `attack`): an attacker on the wire between a
 * terminal and the card (tests/attack/mitm.c), or holding one role's key,
 * tries what docs/PROTOCOL.md says must fail.  Every refusal is checked
 * against the exact status word of PROTOCOL.md, as the card put it on the
 * wire, and against the card's NVM image: byte-identical where nothing may
 * change, changed only as the protocol defines where something must.
 *
 * The bit-flip sweep of a whole validation session is in flips.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attack.h"
#include "cert_check.h"
#include "ocp_bytes.h"
#include "ocp_card.h"
#include "ocp_crypto.h"
#include "port_test.h"

#define PIN "2468"
#define DAY 1440u

static uint8_t before[OCP_NVM_SIZE], after[OCP_NVM_SIZE];

/* The SW the card put on the wire for the last exchange. */
static uint16_t wire_sw(void)
{
    assert_true(mm.n > 0);
    return mitm_card_sw(&mm, mm.n - 1);
}

/* What the issuer sees of the assistive balance, the log and the
 * transaction counter: the units a consumption spends. */
struct view {
    uint32_t device_remaining;
    size_t n_log;
    ocp_log_record log[OCP_LOG_RECORDS];
    uint32_t tx_counter;
    uint8_t pin_tries;
    uint8_t state;
    uint16_t card_date;
};

static void issuer_view(struct view *v)
{
    ocp_entitlement e[OCP_MAX_ENTITLEMENTS];
    ocp_card_status_info status;
    size_t n = OCP_MAX_ENTITLEMENTS, i;
    ocp_session *s = open_role(OCP_ROLE_ISSUER);

    memset(v, 0, sizeof *v);
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    for (i = 0; i < n; i++)
        if (e[i].service == SVC_DEVICE)
            v->device_remaining = e[i].remaining;
    v->n_log = OCP_LOG_RECORDS;
    assert_int_equal(ocp_read_log(s, v->log, &v->n_log), OCP_OK);
    assert_int_equal(ocp_read_status(s, &status), OCP_OK);
    v->tx_counter = status.tx_counter;
    v->pin_tries = status.pin_tries;
    v->state = status.state;
    v->card_date = status.last_date;
    ocp_session_close(s);
}

/* CONSUME's plaintext: service(2) amount(4) sequence(4). */
static void consume_data(uint8_t d[10], uint16_t service, uint32_t amount,
                         uint32_t seq)
{
    ocp_put_be16(d, service);
    ocp_put_be32(d + 2, amount);
    ocp_put_be32(d + 6, seq);
}

/* ---- replay ------------------------------------------------------------ */

/* A recorded CONSUME sent again in the same session: its C-MAC was
 * computed over a chaining value and counter the card has moved past. */
static void test_replay_consume_same_session(void **state)
{
    ocp_tx_result tx;
    struct view v;
    uint8_t recorded[MITM_CAPDU_MAX];
    size_t len, rlen;
    ocp_session *s;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_ASSIST);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 1, &tx), OCP_OK);
    len = mm.log[mm.n - 1].sent_len;
    memcpy(recorded, mm.log[mm.n - 1].sent, len);

    snap(before);
    assert_int_equal(inject(recorded, len, &rlen), OCP_SW_SM_INCORRECT);
    assert_int_equal(rlen, 2);
    snap(after);
    assert_same_image(before, after, "replayed CONSUME");
    /* "Any secure-messaging error ends the session": the terminal's next
     * genuine command finds none. */
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 2, &tx), OCP_E_SM);
    assert_int_equal(wire_sw(), OCP_SW_SECURITY_STATUS);
    ocp_session_close(s);

    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u - 150u);
    assert_int_equal(v.n_log, 1);
    assert_int_equal(v.tx_counter, 1);
}

/* The same recording in a later session, after a power cycle, and with no
 * session at all; and a recorded MUTUAL AUTHENTICATE against a new
 * challenge. */
static void test_replay_consume_new_session(void **state)
{
    uint8_t consume[MITM_CAPDU_MAX], auth[MITM_CAPDU_MAX];
    size_t consume_len, auth_len, rlen;
    ocp_select_info info;
    ocp_tx_result tx;
    struct view v;
    ocp_session *s;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_ASSIST);
    auth_len = mm.log[1].sent_len;
    memcpy(auth, mm.log[1].sent, auth_len);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 1, &tx), OCP_OK);
    consume_len = mm.log[2].sent_len;
    memcpy(consume, mm.log[2].sent, consume_len);
    ocp_session_close(s);

    /* A new session of the same role and terminal: new session keys. */
    s = open_role(OCP_ROLE_ASSIST);
    snap(before);
    assert_int_equal(inject(consume, consume_len, &rlen),
                     OCP_SW_SM_INCORRECT);
    assert_int_equal(rlen, 2);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 2, &tx), OCP_E_SM);
    assert_int_equal(wire_sw(), OCP_SW_SECURITY_STATUS);
    ocp_session_close(s);

    /* No session: after SELECT, and after a power cycle. */
    assert_int_equal(ocp_select(&mm.t, &info), OCP_OK);
    assert_int_equal(inject(consume, consume_len, &rlen),
                     OCP_SW_SECURITY_STATUS);
    /* The recorded authentication against the fresh challenge: the card's
     * challenge is in the cryptogram. */
    assert_int_equal(inject(auth, auth_len, &rlen), OCP_SW_AUTH_FAILED);
    /* ... and again: that challenge allowed one attempt. */
    assert_int_equal(inject(auth, auth_len, &rlen), OCP_SW_CONDITIONS);
    snap(after);
    assert_same_image(before, after, "replays in a new session");

    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(inject(consume, consume_len, &rlen),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(inject(auth, auth_len, &rlen), OCP_SW_CONDITIONS);

    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u - 150u);
    assert_int_equal(v.n_log, 1);
    assert_int_equal(v.tx_counter, 1);
}

/* ---- reordering ---------------------------------------------------------- */

/*
 * Two protected commands built ahead of time: VERIFY with no data (asks
 * the PIN state; its answer, 63C3 and an R-MAC, is predictable to a holder
 * of the session keys) and then CONSUME, chained to that predicted answer.
 * In order they work, which shows the pair is genuine; swapped, the card
 * refuses the first to arrive and the session is over for the other.
 */
struct pair {
    struct rterm rt;
    uint8_t verify[MITM_CAPDU_MAX], consume[MITM_CAPDU_MAX];
    uint8_t verify_answer[10];
    size_t verify_len, consume_len;
};

static void build_pair(struct pair *p)
{
    uint8_t d[10];
    size_t body;
    assert_int_equal(rterm_open(&p->rt, OCP_ROLE_ASSIST, 0x1005, FIX_NOW,
                                NULL),
                     OCP_SW_OK);
    p->verify_len = rterm_wrap(&p->rt, OCP_CLA_ISO, OCP_INS_VERIFY, 0x00,
                               0x81, NULL, 0, p->verify);
    /* The card's side of section 1.3 for an answer without data. */
    body = ocp_sm_wrap_response(&p->rt.sm, p->verify_answer, 0, 0x63C3u);
    assert_int_equal(body, 8);
    p->verify_answer[8] = 0x63;
    p->verify_answer[9] = 0xC3;
    consume_data(d, SVC_DEVICE, 150, 7);
    p->consume_len = rterm_wrap(&p->rt, OCP_CLA_PROP, OCP_INS_CONSUME, 0, 0,
                                d, sizeof d, p->consume);
}

static void test_reorder_protected_commands(void **state)
{
    uint8_t r[OCP_RAPDU_MAX];
    size_t n, plain;
    struct pair p;
    struct view v;
    (void)state;

    /* In order: the prediction holds and the consumption is accepted. */
    restore(issued_image);
    build_pair(&p);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mm, p.verify, p.verify_len, r, &n), 0x63C3u);
    assert_int_equal(n, sizeof p.verify_answer);
    assert_memory_equal(r, p.verify_answer, n);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mm, p.consume, p.consume_len, r, &n),
                     OCP_SW_OK);
    assert_int_equal(rterm_unwrap(&p.rt, r, n, &plain), 0);
    assert_int_equal(plain, OCP_CONSUME_RESP_LEN);
    /* Delivered again after later traffic: out of order, refused. */
    snap(before);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mm, p.verify, p.verify_len, r, &n),
                     OCP_SW_SM_INCORRECT);
    snap(after);
    assert_same_image(before, after, "late VERIFY");
    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u - 150u);

    /* Swapped: CONSUME first is refused, nothing consumed; VERIFY then
     * finds no session. */
    restore(issued_image);
    build_pair(&p);
    snap(before);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mm, p.consume, p.consume_len, r, &n),
                     OCP_SW_SM_INCORRECT);
    assert_int_equal(n, 2);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mm, p.verify, p.verify_len, r, &n),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(n, 2);
    snap(after);
    assert_same_image(before, after, "swapped commands");
    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u);
    assert_int_equal(v.n_log, 0);
}

/* A command the attacker holds back (libocp sees the card leave) and sends
 * after the terminal moved on: the terminal's session is broken, the card's
 * session still expects that command, so the held one is accepted exactly
 * once, and is the terminal's own consumption, not a second one. */
static void test_held_back_command(void **state)
{
    uint8_t held[MITM_CAPDU_MAX];
    size_t held_len, rlen;
    ocp_tx_result tx;
    ocp_session *s;
    struct view v;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_ASSIST);
    mitm_arm(&mm, MITM_DROP_COMMAND, mm.n, 0);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 11, &tx),
                     OCP_E_CARD_REMOVED);
    held_len = mm.log[mm.n - 1].sent_len;
    memcpy(held, mm.log[mm.n - 1].sent, held_len);
    assert_int_equal(mm.log[mm.n - 1].delivered_len, 0);
    /* libocp does not go on with an unknown chaining state. */
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 12, &tx), OCP_E_SM);
    ocp_session_close(s);

    assert_int_equal(inject(held, held_len, &rlen), OCP_SW_OK);
    assert_int_equal(rlen, 32 + 8 + 2);
    assert_int_equal(inject(held, held_len, &rlen), OCP_SW_SM_INCORRECT);
    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u - 150u);
    assert_int_equal(v.n_log, 1);
    assert_int_equal(v.log[0].amount, 150);
}

/* ---- stripped MAC, plain commands -------------------------------------- */

static void test_stripped_mac(void **state)
{
    uint8_t apdu[MITM_CAPDU_MAX], d[10];
    struct rterm rt;
    size_t len, rlen;
    (void)state;

    /* CONSUME without its 8 MAC bytes, Lc 18 -> 10. */
    restore(issued_image);
    assert_int_equal(rterm_open(&rt, OCP_ROLE_ASSIST, 0x1005, FIX_NOW, NULL),
                     OCP_SW_OK);
    snap(before);
    consume_data(d, SVC_DEVICE, 150, 1);
    len = rterm_wrap(&rt, OCP_CLA_PROP, OCP_INS_CONSUME, 0, 0, d, sizeof d,
                     apdu);
    assert_int_equal(len, 30);
    apdu[4] = 16;
    apdu[21] = 0x00; /* Le right after the ciphertext */
    assert_int_equal(inject(apdu, 22, &rlen), OCP_SW_SM_INCORRECT);
    assert_int_equal(rlen, 2);
    len = rterm_wrap(&rt, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x02, NULL, 0,
                     apdu);
    assert_int_equal(inject(apdu, len, &rlen), OCP_SW_SECURITY_STATUS);

    /* GET DATA status has no data: without its MAC it is `04 CA 01 02 00`,
     * no body at all. */
    assert_int_equal(rterm_open(&rt, OCP_ROLE_ASSIST, 0x1005, FIX_NOW, NULL),
                     OCP_SW_OK);
    len = rterm_wrap(&rt, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x02, NULL, 0,
                     apdu);
    assert_int_equal(len, 14);
    apdu[4] = 0x00;
    assert_int_equal(inject(apdu, 5, &rlen), OCP_SW_SM_INCORRECT);
    len = rterm_wrap(&rt, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x02, NULL, 0,
                     apdu);
    assert_int_equal(inject(apdu, len, &rlen), OCP_SW_SECURITY_STATUS);

    /* The MAC's place kept but zeroed. */
    assert_int_equal(rterm_open(&rt, OCP_ROLE_ASSIST, 0x1005, FIX_NOW, NULL),
                     OCP_SW_OK);
    len = rterm_wrap(&rt, OCP_CLA_PROP, OCP_INS_CONSUME, 0, 0, d, sizeof d,
                     apdu);
    memset(apdu + 21, 0, 8);
    assert_int_equal(inject(apdu, len, &rlen), OCP_SW_SM_INCORRECT);
    snap(after);
    assert_same_image(before, after, "stripped MACs");
}

/* Protected commands sent plain: 6982 outside a session, 6987 inside (and
 * the session is over).  The plain VERIFY must not cost a PIN try. */
static void test_plain_where_protected(void **state)
{
    static const uint8_t get_status[] = {0x00, 0xCA, 0x01, 0x02, 0x00};
    static const uint8_t get_holder[] = {0x00, 0xCA, 0x01, 0x01, 0x00};
    static const uint8_t read_rec[] = {0x00, 0xB2, 0x01, 0x0C, 0x00};
    static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x81, 0x04,
                                     '2',  '4',  '6',  '8'};
    static const uint8_t grant[] = {0x80, 0x32, 0x01, 0x03, 0x04,
                                    0x00, 0x00, 0x10, 0x00};
    static const uint8_t set_state[] = {0x80, 0x34, 0x03, 0x00};
    uint8_t consume[5 + 10 + 1] = {0x80, 0x30, 0x00, 0x00, 0x0A};
    const struct {
        const uint8_t *apdu;
        size_t len;
    } plain[] = {
        {get_status, sizeof get_status}, {get_holder, sizeof get_holder},
        {read_rec, sizeof read_rec},     {verify, sizeof verify},
        {grant, sizeof grant},           {set_state, sizeof set_state},
        {consume, sizeof consume},
    };
    uint8_t apdu[MITM_CAPDU_MAX];
    ocp_select_info info;
    struct rterm rt;
    size_t i, len, rlen;
    (void)state;

    consume_data(consume + 5, SVC_DEVICE, 150, 1);
    restore(issued_image);
    assert_int_equal(ocp_select(&mm.t, &info), OCP_OK);
    snap(before);
    for (i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        assert_int_equal(inject(plain[i].apdu, plain[i].len, &rlen),
                         OCP_SW_SECURITY_STATUS);
        assert_int_equal(rlen, 2);
    }
    for (i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        assert_int_equal(rterm_open(&rt, OCP_ROLE_ASSIST, 0x1005, FIX_NOW,
                                    NULL),
                         OCP_SW_OK);
        if (inject(plain[i].apdu, plain[i].len, &rlen) != OCP_SW_SM_MISSING)
            fail_msg("plain command %zu in a session: %04X, not 6987", i,
                     (unsigned)wire_sw());
        len = rterm_wrap(&rt, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x02,
                         NULL, 0, apdu);
        assert_int_equal(inject(apdu, len, &rlen), OCP_SW_SECURITY_STATUS);
    }
    snap(after);
    assert_same_image(before, after, "plain commands");
    /* A protected command outside any session, and a protected one on a
     * command that never uses SM. */
    assert_int_equal(ocp_select(&mm.t, &info), OCP_OK);
    apdu[0] = 0x04;
    apdu[1] = 0x84; /* GET CHALLENGE */
    memset(apdu + 2, 0, 2);
    apdu[4] = 0x08;
    memset(apdu + 5, 0, 8);
    apdu[13] = 0x00;
    assert_int_equal(inject(apdu, 14, &rlen), OCP_SW_SM_NOT_SUPPORTED);
}

/* ---- roles and domains ------------------------------------------------- */

/* One protected command in session s; returns the MAC-verified SW, which
 * must also be the one on the wire. */
static uint16_t send(ocp_session *s, uint8_t cla, uint8_t ins, uint8_t p1,
                     uint8_t p2, const uint8_t *data, size_t len)
{
    uint8_t r[256];
    size_t n = sizeof r;
    uint16_t sw = 0;
    assert_int_equal(ocp_session_transmit(s, cla, ins, p1, p2, data, len, r,
                                          &n, &sw),
                     OCP_OK);
    assert_int_equal(sw, wire_sw());
    if (sw != OCP_SW_OK)
        assert_int_equal(n, 0); /* errors carry no data */
    return sw;
}

static void block_cryptogram(const uint8_t card_id[8], uint32_t version,
                             uint8_t out[12])
{
    uint8_t key[16], m[16], tag[16];
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, card_id,
                                          OCP_ROLE_ISSUER, 1, key),
                     OCP_OK);
    memcpy(m, "BLK1", 4);
    memcpy(m + 4, card_id, 8);
    ocp_put_be32(m + 12, version);
    ocp_cmac(OCP_CIPHER_AES128, key, m, sizeof m, tag);
    ocp_put_be32(out, version);
    memcpy(out + 4, tag, 8);
}

static void test_transit_outside_its_domain(void **state)
{
    static const uint8_t entitlement[18] = {
        0x05, 0x01, OCP_ROLE_TRANSIT, OCP_KIND_COUNTER, 0, 0x26, 0x48,
        0x27, 0x10, OCP_PERIOD_NONE, 0, 0, 0, 99, 0, 0, 0, 99};
    static const uint8_t other_id[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0x2B};
    uint8_t d[19], r[256], blk[12];
    ocp_tx_result tx;
    ocp_session *s;
    struct view v;
    uint16_t sw = 0;
    size_t n;
    (void)state;

    /* Give the log something medical to hide. */
    restore(issued_image);
    s = open_role(OCP_ROLE_MEDICAL);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx), OCP_OK);
    ocp_session_close(s);

    s = open_role(OCP_ROLE_TRANSIT);
    snap(before);
    /* Entitlement 1 is the bus pass; the medical, rehab and assistive ones
     * are skipped, so there is no record 2. */
    n = sizeof r;
    assert_int_equal(ocp_session_transmit(s, OCP_CLA_ISO, OCP_INS_READ_RECORD,
                                          1, (OCP_SFI_ENTITLEMENTS << 3) | 5u,
                                          NULL, 0, r, &n, &sw),
                     OCP_OK);
    assert_int_equal(sw, OCP_SW_OK);
    assert_int_equal(n, OCP_ENT_REC_LEN);
    assert_int_equal(ocp_get_be16(r + 1), SVC_BUS);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_READ_RECORD, 2,
                          (OCP_SFI_ENTITLEMENTS << 3) | 4u, NULL, 0),
                     OCP_SW_RECORD_NOT_FOUND);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_READ_RECORD, 1,
                          (OCP_SFI_LOG << 3) | 5u, NULL, 0),
                     OCP_SW_RECORD_NOT_FOUND);
    /* Holder record (category and grade are medical data). */
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x01, NULL,
                          0),
                     OCP_SW_SECURITY_STATUS);
    /* The medical refill is not transit's to consume. */
    consume_data(d, SVC_REFILL, 1, 2);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_CONSUME, 0, 0, d, 10),
                     OCP_SW_REF_NOT_FOUND);
    /* Issuer commands. */
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_GRANT, 0, OCP_GRANT_PUT,
                          entitlement, sizeof entitlement),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_GRANT, 4, OCP_GRANT_CREDIT,
                          (const uint8_t[]){0, 0, 0x27, 0x10}, 4),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_PUT_DATA, 0x02, 0x05,
                          (const uint8_t[]){0x30, 0x00}, 2),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_RESET_RETRY, 0x03, 0x81,
                          NULL, 0),
                     OCP_SW_SECURITY_STATUS);
    memset(d, 0x11, sizeof d);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_PUT_KEY, 2,
                          OCP_ROLE_TRANSIT, d, 19),
                     OCP_SW_SECURITY_STATUS);
    /* SET STATE: transit may block, and only with the issuer's cryptogram
     * for this card. */
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_BLOCKED, 0, NULL, 0),
                     OCP_SW_WRONG_LENGTH);
    memset(blk, 0, sizeof blk);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_BLOCKED, 0, blk, sizeof blk),
                     OCP_SW_AUTH_FAILED);
    block_cryptogram(other_id, 7, blk);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_BLOCKED, 0, blk, sizeof blk),
                     OCP_SW_AUTH_FAILED);
    block_cryptogram(fx.card_id, 7, blk);
    blk[3] ^= 1; /* another hotlist version than the one signed */
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_BLOCKED, 0, blk, sizeof blk),
                     OCP_SW_AUTH_FAILED);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_TERMINATED, 0, NULL, 0),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_ACTIVE, 0, NULL, 0),
                     OCP_SW_SECURITY_STATUS);
    /* Application errors: the session went on through all of them, and
     * nothing was written. */
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x02, NULL,
                          0),
                     OCP_SW_OK);
    snap(after);
    assert_same_image(before, after, "transit outside its domain");

    /* The same command with the right cryptogram blocks: the refusals
     * above were about the cryptogram, not the command. */
    block_cryptogram(fx.card_id, 7, blk);
    assert_int_equal(send(s, OCP_CLA_PROP, OCP_INS_SET_STATE,
                          OCP_STATE_BLOCKED, 0, blk, sizeof blk),
                     OCP_SW_OK);
    ocp_session_close(s);
    issuer_view(&v);
    assert_int_equal(v.state, OCP_STATE_BLOCKED);
}

/* The kiosk reads everything of the holder, but only after the PIN; a
 * medical role sees category and grade, nothing that names the holder; a
 * PIN-bound entitlement needs the PIN in that very session. */
static void test_other_roles_limits(void **state)
{
    ocp_holder h;
    ocp_tx_result tx;
    ocp_session *s;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_KIOSK);
    snap(before);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_READ_RECORD, 1,
                          (OCP_SFI_ENTITLEMENTS << 3) | 5u, NULL, 0),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x01, NULL,
                          0),
                     OCP_SW_SECURITY_STATUS);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_E_DENIED);
    assert_int_equal(wire_sw(), OCP_SW_SECURITY_STATUS);
    snap(after);
    assert_same_image(before, after, "kiosk without PIN");
    ocp_session_close(s);

    s = open_role(OCP_ROLE_MEDICAL);
    assert_int_equal(ocp_read_holder(s, &h), OCP_OK);
    assert_string_equal(h.name, "");
    assert_string_equal(h.cert_no, "");
    assert_int_equal(h.district, 0);
    assert_int_equal(h.category, fixture_holder.category);
    assert_int_equal(h.grade, fixture_holder.grade);
    ocp_session_close(s);

    s = open_role(OCP_ROLE_REHAB);
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_E_DENIED);
    assert_int_equal(wire_sw(), OCP_SW_SECURITY_STATUS);
    assert_int_equal(ocp_verify_pin(s, PIN, NULL), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_OK);
    ocp_session_close(s);
}

/* ---- a key of one card on another -------------------------------------- */

static struct mitm mb; /* the second card's wire */

static void test_key_of_another_card(void **state)
{
    static const uint8_t id_b[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x01, 0x07};
    uint8_t transport[16], seed[16], key[16], img_b[OCP_NVM_SIZE];
    uint8_t consume_a[MITM_CAPDU_MAX], auth_a[MITM_CAPDU_MAX], r[258];
    struct card_fixture fb;
    ocp_select_info info;
    ocp_tx_result tx;
    ocp_session *s;
    size_t consume_len, auth_len, n;
    ocp_status st;
    (void)state;

    /* Card B in the test port's second memory, issued like card A. */
    memset(seed, 0x5A, sizeof seed);
    memset(&fb, 0, sizeof fb);
    memcpy(fb.card_id, id_b, 8);
    fb.ks = fx.ks;
    port_test_select(1);
    port_test_erase();
    assert_int_equal(fx.ks->ops->transport_key(fx.ks, id_b, transport),
                     OCP_OK);
    assert_int_equal(ocp_card_manufacture(id_b, transport, seed),
                     OCP_CARD_OK);
    assert_int_equal(ocp_inproc_open_memory(1, &fb.t), OCP_OK);
    assert_int_equal(fixture_issue(&fb, OCP_SUITE_AES), 0);
    mitm_init(&mb, fb.t);

    /* Traffic of card A to replay on B. */
    restore(issued_image);
    s = open_role(OCP_ROLE_TRANSIT);
    auth_len = mm.log[1].sent_len;
    memcpy(auth_a, mm.log[1].sent, auth_len);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_OK);
    consume_len = mm.log[2].sent_len;
    memcpy(consume_a, mm.log[2].sent, consume_len);
    ocp_session_close(s);

    /* B's SELECT, then A's transit key. */
    assert_int_equal(ocp_select(&mb.t, &info), OCP_OK);
    assert_memory_equal(info.card_id, id_b, 8);
    port_test_select(1);
    port_test_get_image(img_b);
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, fx.card_id,
                                          OCP_ROLE_TRANSIT, 1, key),
                     OCP_OK);
    s = NULL;
    st = ocp_open_session(&mb.t, &info, OCP_ROLE_TRANSIT, 1, key, 0x1002,
                          FIX_NOW, NULL, &s);
    assert_int_equal(st, OCP_E_AUTH);
    assert_null(s);
    assert_int_equal(mitm_card_sw(&mb, mb.n - 1), OCP_SW_AUTH_FAILED);

    /* A's recorded authentication, against a fresh challenge of B. */
    assert_int_equal(ocp_select(&mb.t, &info), OCP_OK);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mb, auth_a, auth_len, r, &n),
                     OCP_SW_AUTH_FAILED);
    /* A's CONSUME inside a genuine session of B. */
    s = NULL;
    assert_int_equal(ocp_open_role(&mb.t, fx.ks, OCP_ROLE_TRANSIT, 0x1002,
                                   FIX_NOW, NULL, NULL, &s),
                     OCP_OK);
    n = sizeof r;
    assert_int_equal(mitm_inject(&mb, consume_a, consume_len, r, &n),
                     OCP_SW_SM_INCORRECT);
    ocp_session_close(s);
    port_test_select(1);
    port_test_get_image(before);
    assert_same_image(img_b, before, "card B");

    /* B's own key opens B: the refusal was the key, nothing else. */
    assert_int_equal(ocp_select(&mb.t, &info), OCP_OK);
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, id_b,
                                          OCP_ROLE_TRANSIT, 1, key),
                     OCP_OK);
    s = NULL;
    assert_int_equal(ocp_open_session(&mb.t, &info, OCP_ROLE_TRANSIT, 1, key,
                                      0x1002, FIX_NOW, NULL, &s),
                     OCP_OK);
    ocp_session_close(s);

    fb.t->ops->close(fb.t);
    port_test_select(0);
}

/* ---- the date rules ---------------------------------------------------- */

/* Medical refill, 2 a month.  A terminal whose clock is two months ahead
 * gets its consumption (flagged 02) but no new month's units, however
 * often it comes back; a second terminal agreeing with it renews. */
static void test_far_future_date(void **state)
{
    const uint32_t far = FIX_NOW + 60u * DAY; /* two months on */
    ocp_tx_result tx;
    ocp_session *s;
    struct view v;
    (void)state;

    restore(issued_image);
    s = open_role_at(OCP_ROLE_MEDICAL, 0xA0000001u, FIX_NOW, NULL);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 1);
    ocp_session_close(s);

    s = open_role_at(OCP_ROLE_MEDICAL, 0xA0000001u, far, NULL);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 2, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_AHEAD);
    assert_int_equal(tx.remaining, 0); /* this month's last unit */
    ocp_session_close(s);

    /* The same terminal again, the same day: used up, nothing written
     * (the pending day it already set is the same). */
    snap(before);
    s = open_role_at(OCP_ROLE_MEDICAL, 0xA0000001u, far, NULL);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 3, &tx),
                     OCP_E_NOT_ENTITLED);
    assert_int_equal(wire_sw(), OCP_SW_NOT_ENOUGH_UNITS);
    ocp_session_close(s);
    snap(after);
    assert_same_image(before, after, "refused renewal");
    /* The next day, still alone: refused; the pending day moves (one root
     * write, PROTOCOL.md 3) but the card's day does not. */
    s = open_role_at(OCP_ROLE_MEDICAL, 0xA0000001u, far + DAY, NULL);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 4, &tx),
                     OCP_E_NOT_ENTITLED);
    assert_int_equal(wire_sw(), OCP_SW_NOT_ENOUGH_UNITS);
    ocp_session_close(s);
    issuer_view(&v);
    assert_int_equal(v.card_date, FIX_DAY); /* not moved by one terminal */

    /* A second terminal id within 7 days of the pending day: the clocks
     * agree and the month renews.  Terminal ids are only claims made under
     * the role key: the rule stops one wrong clock, not a holder of the
     * medical key who claims two ids, as this very step shows. */
    s = open_role_at(OCP_ROLE_MEDICAL, 0xA0000002u, far + DAY, NULL);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 5, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_RENEWED);
    assert_int_equal(tx.remaining, 1);
    ocp_session_close(s);
    issuer_view(&v);
    assert_int_equal(v.card_date, FIX_DAY + 61u);
}

/* ---- rollback of the card image ---------------------------------------- */

/*
 * An attacker who can copy the chip's memory restores an older copy after
 * spending.  The card cannot know: it issues the transaction counter it
 * already used, and the balance is back.  Detecting it is the back
 * office's job (PROTOCOL.md 2.9: "gaps and repeats in uploaded
 * certificates expose ... rolled-back records"); this test shows what the
 * back office gets to see: two genuine certificates with the same counter.
 */
static void test_rollback_repeats_counter(void **state)
{
    uint8_t older[OCP_NVM_SIZE], expect[8];
    ocp_tx_result first, second, replayed;
    struct cert_fields f;
    ocp_session *s;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_ASSIST);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 100, 1, &first), OCP_OK);
    ocp_session_close(s);
    snap(older);
    s = open_role(OCP_ROLE_ASSIST);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 200, 2, &second), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(second.counter, first.counter + 1);

    restore(older);
    s = open_role(OCP_ROLE_ASSIST);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 200, 3, &replayed), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(replayed.counter, second.counter); /* the repeat */
    assert_int_equal(replayed.remaining, second.remaining); /* 200 back */
    assert_memory_not_equal(replayed.cert, second.cert, 8);

    /* Both certificates are genuine: only the counter gives it away. */
    f.counter = second.counter;
    f.service = SVC_DEVICE;
    f.domain = OCP_ROLE_ASSIST;
    f.amount = 200;
    f.remaining = second.remaining;
    f.terminal = 0x1000u + OCP_ROLE_ASSIST;
    f.seq = 2;
    f.datetime = FIX_NOW;
    f.flags = 0;
    assert_int_equal(cert_expected(fx.ks, OCP_SUITE_AES, fx.card_id, &f,
                                   expect),
                     0);
    assert_memory_equal(second.cert, expect, 8);
    f.seq = 3;
    assert_int_equal(cert_expected(fx.ks, OCP_SUITE_AES, fx.card_id, &f,
                                   expect),
                     0);
    assert_memory_equal(replayed.cert, expect, 8);

    /* Rolled back and replayed with the same inputs, the card repeats the
     * very certificate: a duplicate the back office cannot tell from a
     * double upload, though the money was spent twice. */
    restore(older);
    s = open_role(OCP_ROLE_ASSIST);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 200, 2, &replayed), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(replayed.counter, second.counter);
    assert_memory_equal(replayed.cert, second.cert, 8);
}

/* ---- PIN brute force --------------------------------------------------- */

/* The NVM between two images differs by one committed root, in the next
 * ring page, whose payload differs from the last only in the PIN tries. */
static void assert_only_pin_try(const uint8_t *a, const uint8_t *b,
                                uint8_t tries_after)
{
    struct image_root ra, rb;
    size_t i;
    image_root(a, &ra);
    image_root(b, &rb);
    assert_int_equal(rb.stamp, ra.stamp + 1);
    assert_int_equal(rb.page, ra.page % 4u + 1u);
    for (i = 0; i < OCP_NVM_SIZE; i++)
        if (a[i] != b[i] && i / OCP_NVM_PAGE_SIZE != rb.page)
            fail_msg("a PIN try also wrote page %zu", i / OCP_NVM_PAGE_SIZE);
    assert_int_equal(rb.payload[ROOT_PIN_TRIES], tries_after);
    assert_int_equal(ra.payload[ROOT_PIN_TRIES], tries_after + 1);
    rb.payload[ROOT_PIN_TRIES] = ra.payload[ROOT_PIN_TRIES];
    assert_memory_equal(ra.payload, rb.payload, sizeof ra.payload);
}

static void test_pin_brute_force(void **state)
{
    static const char *const wrong[] = {"0000", "1357", "99999999"};
    static const uint16_t sw[] = {0x63C2, 0x63C1, OCP_SW_PIN_BLOCKED};
    ocp_session *s;
    struct image_root root;
    struct view v;
    unsigned i;
    int left;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_KIOSK);
    snap(before);
    image_root(before, &root);
    assert_int_equal(root.payload[ROOT_PIN_TRIES], 3);
    for (i = 0; i < 3; i++) {
        snap(before);
        left = -2;
        assert_int_equal(ocp_verify_pin(s, wrong[i], &left),
                         i < 2 ? OCP_E_PIN_WRONG : OCP_E_PIN_BLOCKED);
        assert_int_equal(wire_sw(), sw[i]);
        assert_int_equal(left, (int)(2 - i));
        snap(after);
        assert_only_pin_try(before, after, (uint8_t)(2 - i));
    }
    /* Blocked: wrong or right, refused without a write. */
    snap(before);
    assert_int_equal(ocp_verify_pin(s, "1111", &left), OCP_E_PIN_BLOCKED);
    assert_int_equal(wire_sw(), OCP_SW_PIN_BLOCKED);
    assert_int_equal(ocp_verify_pin(s, PIN, &left), OCP_E_PIN_BLOCKED);
    assert_int_equal(wire_sw(), OCP_SW_PIN_BLOCKED);
    ocp_session_close(s);
    s = open_role(OCP_ROLE_KIOSK);
    assert_int_equal(ocp_verify_pin(s, PIN, &left), OCP_E_PIN_BLOCKED);
    assert_int_equal(wire_sw(), OCP_SW_PIN_BLOCKED);
    assert_int_equal(send(s, OCP_CLA_ISO, OCP_INS_READ_RECORD, 1,
                          (OCP_SFI_ENTITLEMENTS << 3) | 5u, NULL, 0),
                     OCP_SW_SECURITY_STATUS);
    ocp_session_close(s);
    snap(after);
    assert_same_image(before, after, "blocked PIN");
    /* A power cycle gives nothing back. */
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    s = open_role(OCP_ROLE_KIOSK);
    assert_int_equal(ocp_verify_pin(s, PIN, &left), OCP_E_PIN_BLOCKED);
    ocp_session_close(s);
    issuer_view(&v);
    assert_int_equal(v.pin_tries, 0);

    /* Only the issuer unblocks; then the right PIN works again. */
    s = open_role(OCP_ROLE_ISSUER);
    assert_int_equal(ocp_unblock_pin(s, NULL), OCP_OK);
    ocp_session_close(s);
    s = open_role(OCP_ROLE_KIOSK);
    assert_int_equal(ocp_verify_pin(s, PIN, &left), OCP_OK);
    ocp_session_close(s);
}

/* ---- a tampered or lost CONSUME answer --------------------------------- */

/* The assistive balance, so the units show.  Whatever happens to the
 * answer, the card committed once; the retry with the same sequence number
 * hands back that certificate and spends nothing. */
static void torn_consume(enum mitm_op op, unsigned bit)
{
    ocp_tx_result tx, retry;
    ocp_last_tx last;
    struct cert_fields f;
    uint8_t expect[8];
    ocp_session *s;
    struct view v;

    restore(issued_image);
    s = open_role(OCP_ROLE_ASSIST);
    mitm_arm(&mm, op, mm.n, bit);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 9, &tx),
                     op == MITM_FLIP_RESPONSE ? OCP_E_SM
                                              : OCP_E_CARD_REMOVED);
    assert_true(mm.fired);
    ocp_session_close(s);
    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u - 150u);
    assert_int_equal(v.n_log, 1);
    assert_int_equal(v.tx_counter, 1);

    s = open_role_at(OCP_ROLE_ASSIST, 0x1000u + OCP_ROLE_ASSIST, FIX_NOW,
                     &last);
    assert_int_equal(last.seq, 9);
    assert_int_equal(last.counter, 1);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 150, 9, &retry), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(retry.flags, OCP_TXF_REPEAT);
    assert_int_equal(retry.counter, 1);
    assert_int_equal(retry.remaining, 500000u - 150u);
    assert_memory_equal(retry.cert, last.cert, 8);
    f.counter = 1;
    f.service = SVC_DEVICE;
    f.domain = OCP_ROLE_ASSIST;
    f.amount = 150;
    f.remaining = retry.remaining;
    f.terminal = 0x1000u + OCP_ROLE_ASSIST;
    f.seq = 9;
    f.datetime = FIX_NOW;
    f.flags = 0; /* the repeat flag is never certified */
    assert_int_equal(cert_expected(fx.ks, OCP_SUITE_AES, fx.card_id, &f,
                                   expect),
                     0);
    assert_memory_equal(retry.cert, expect, 8);

    issuer_view(&v);
    assert_int_equal(v.device_remaining, 500000u - 150u);
    assert_int_equal(v.n_log, 1);
    assert_int_equal(v.log[0].counter, 1);
    assert_int_equal(v.tx_counter, 1);
}

static void test_consume_answer_tampered(void **state)
{
    (void)state;
    torn_consume(MITM_FLIP_RESPONSE, 8u * 5u + 2u);  /* ciphertext */
    torn_consume(MITM_FLIP_RESPONSE, 8u * 35u);      /* R-MAC */
    torn_consume(MITM_FLIP_RESPONSE, 8u * 40u + 3u); /* SW */
    torn_consume(MITM_DROP_RESPONSE, 0);             /* lost on the air */
}

/* A forged plain answer where a protected one was due: libocp must not
 * believe its status word.  Here a plain 6A83 ("no more records") in place
 * of the first READ RECORD answer would hide every entitlement. */
static void test_forged_plain_answer(void **state)
{
    static const uint8_t no_record[2] = {0x6A, 0x83};
    static const uint8_t tries[2] = {0x63, 0xC2};
    ocp_entitlement e[OCP_MAX_ENTITLEMENTS];
    ocp_session *s;
    size_t n = OCP_MAX_ENTITLEMENTS;
    int left = 99;
    (void)state;

    restore(issued_image);
    s = open_role(OCP_ROLE_ISSUER);
    mitm_arm_replace(&mm, MITM_REPLACE_RESPONSE, mm.n, no_record, 2);
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_E_SM);
    assert_int_equal(n, 0);
    ocp_session_close(s);

    s = open_role(OCP_ROLE_KIOSK);
    mitm_arm_replace(&mm, MITM_REPLACE_RESPONSE, mm.n, tries, 2);
    assert_int_equal(ocp_verify_pin(s, PIN, &left), OCP_E_SM);
    assert_int_equal(left, -1); /* no tries count from an unverified SW */
    ocp_session_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_consume_same_session),
        cmocka_unit_test(test_replay_consume_new_session),
        cmocka_unit_test(test_reorder_protected_commands),
        cmocka_unit_test(test_held_back_command),
        cmocka_unit_test(test_stripped_mac),
        cmocka_unit_test(test_plain_where_protected),
        cmocka_unit_test(test_transit_outside_its_domain),
        cmocka_unit_test(test_other_roles_limits),
        cmocka_unit_test(test_key_of_another_card),
        cmocka_unit_test(test_far_future_date),
        cmocka_unit_test(test_rollback_repeats_counter),
        cmocka_unit_test(test_pin_brute_force),
        cmocka_unit_test(test_consume_answer_tampered),
        cmocka_unit_test(test_forged_plain_answer),
        cmocka_unit_test(test_bit_flips_validation),
    };
    return cmocka_run_group_tests(tests, attack_setup, attack_teardown);
}
