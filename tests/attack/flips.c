/*
 * Every single-bit flip of every command and every response of a whole
 * validation session, one flip per run: MUTUAL AUTHENTICATE (whose command
 * is plain but whose every field is bound into the cryptogram), then the
 * protected GET DATA status, READ RECORD and CONSUME.
 *
 * For a flipped command, the status word the card answers is predicted
 * from docs/PROTOCOL.md (class, instruction, length and MAC checks in the
 * order section 2 gives them) and must be exact; so must what the flip
 * does to the session and to the challenge, and the NVM image must be the
 * one from before the command.  For a flipped response, libocp must refuse
 * it with OCP_E_SM; the card has acted, so the NVM image must be the one an
 * untampered run leaves, and for CONSUME a retry with the same terminal
 * sequence number must return the very same certificate without consuming
 * again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attack.h"
#include "ocp_bytes.h"
#include "port_test.h"

/* Exchange numbers of the validation session. */
enum { X_SELECT, X_AUTH, X_STATUS, X_RECORD, X_CONSUME, X_COUNT };

#define TERMINAL 0x0B000001u
#define SEQ 4242u

/* Two validations: the bus pass of PROTOCOL.md section 4, and the
 * assistive balance, whose units show in the image. */
static const struct flow {
    const char *name;
    uint8_t role;
    uint16_t service;
    uint32_t amount;
} flows[] = {
    {"bus pass", OCP_ROLE_TRANSIT, SVC_BUS, 1},
    {"assistive balance", OCP_ROLE_ASSIST, SVC_DEVICE, 150},
};
static const struct flow *flow;

/* The untampered run: every exchange and the image around it. */
static struct mitm_exchange ref[X_COUNT];
static uint8_t ref_before[X_COUNT][OCP_NVM_SIZE];
static uint8_t ref_after[X_COUNT][OCP_NVM_SIZE];
static ocp_tx_result ref_tx;
static uint8_t image[OCP_NVM_SIZE];

static void capture(void *user, unsigned n, int phase)
{
    (void)user;
    if (n < X_COUNT)
        snap(phase ? ref_after[n] : ref_before[n]);
}

/*
 * The session, stopped at the first step libocp refuses.  Returns the
 * status of that step (OCP_OK when all passed); *s is the session if one
 * opened (the caller closes it).
 */
static ocp_status validation(ocp_session **s, ocp_tx_result *tx)
{
    ocp_card_status_info status;
    uint8_t r[64];
    size_t n = sizeof r;
    uint16_t sw;
    ocp_status st;

    *s = NULL;
    st = ocp_open_role(&mm.t, fx.ks, flow->role, TERMINAL, FIX_NOW, NULL,
                       NULL, s);
    if (st != OCP_OK)
        return st;
    st = ocp_read_status(*s, &status);
    if (st != OCP_OK)
        return st;
    st = ocp_session_transmit(*s, OCP_CLA_ISO, OCP_INS_READ_RECORD, 1,
                              (OCP_SFI_ENTITLEMENTS << 3) | 4u, NULL, 0, r,
                              &n, &sw);
    if (st != OCP_OK)
        return st;
    if (sw != OCP_SW_OK)
        return ocp_status_from_sw(sw);
    return ocp_consume(*s, flow->service, flow->amount, SEQ, tx);
}

/* What docs/PROTOCOL.md says a flipped command gets. */
struct verdict {
    uint16_t sw;
    int passes;          /* the flip is in a byte the card may ignore */
    int ends_session;    /* protected commands: the session is over */
    int spends_challenge;/* MUTUAL AUTHENTICATE: RC is used up */
};

enum policy { PLAIN_ONLY, SM_ONLY, EITHER };

/* Section 2's command table: instruction, proprietary class, SM. */
static const struct {
    uint8_t ins, proprietary, policy;
} commands[] = {
    {OCP_INS_SELECT, 0, PLAIN_ONLY},      {OCP_INS_GET_CHALLENGE, 0, PLAIN_ONLY},
    {OCP_INS_MUTUAL_AUTH, 0, PLAIN_ONLY}, {OCP_INS_GET_DATA, 0, EITHER},
    {OCP_INS_PUT_DATA, 0, SM_ONLY},       {OCP_INS_READ_RECORD, 0, SM_ONLY},
    {OCP_INS_VERIFY, 0, SM_ONLY},         {OCP_INS_CHANGE_REF_DATA, 0, SM_ONLY},
    {OCP_INS_RESET_RETRY, 0, SM_ONLY},    {OCP_INS_PUT_KEY, 1, SM_ONLY},
    {OCP_INS_CONSUME, 1, SM_ONLY},        {OCP_INS_GRANT, 1, SM_ONLY},
    {OCP_INS_SET_STATE, 1, SM_ONLY},
};

/* Section 2: the class and instruction checks every command goes through
 * first; 0 when the command gets past them. */
static uint16_t class_checks(const uint8_t *c, int *policy)
{
    uint8_t family = (uint8_t)(c[0] & ~OCP_CLA_SM_BIT);
    size_t i;
    if (family != OCP_CLA_ISO && family != OCP_CLA_PROP)
        return OCP_SW_CLA_NOT_SUPPORTED;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].ins != c[1])
            continue;
        if ((family == OCP_CLA_PROP) != commands[i].proprietary)
            return OCP_SW_CLA_NOT_SUPPORTED;
        if ((c[0] & OCP_CLA_SM_BIT) && commands[i].policy == PLAIN_ONLY)
            return OCP_SW_SM_NOT_SUPPORTED;
        *policy = commands[i].policy;
        return 0;
    }
    return OCP_SW_INS_NOT_SUPPORTED;
}

/* A protected command (inside a session) with bit `mask` of byte `at`
 * flipped.  Every byte but Le is under the C-MAC. */
static struct verdict protected_flip(const uint8_t *cmd, size_t len,
                                     size_t at, uint8_t mask)
{
    struct verdict v = {0, 0, 0, 0};
    uint8_t c[MITM_CAPDU_MAX];
    int policy = SM_ONLY;
    size_t lc;

    memcpy(c, cmd, len);
    c[at] ^= mask;
    if (at == len - 1) {
        /* "On protected commands the card ignores the value of Le." */
        v.passes = 1;
        v.sw = OCP_SW_OK;
        return v;
    }
    /* 6E00, 6D00, 6882: "not errors of the session: it goes on". */
    v.sw = class_checks(c, &policy);
    if (v.sw != 0)
        return v;
    v.ends_session = 1;
    if (!(c[0] & OCP_CLA_SM_BIT)) {
        /* Plain where SM is required (GET DATA here asks the protected
         * status tag): 6987 inside a session. */
        assert_int_not_equal(policy, PLAIN_ONLY);
        v.sw = OCP_SW_SM_MISSING;
        return v;
    }
    lc = c[4];
    if (lc != 0 && len == 5 + lc)
        v.sw = OCP_SW_SM_INCORRECT; /* a valid case 3: no Le */
    else if (lc == 0 || len != 6 + lc)
        v.sw = OCP_SW_WRONG_LENGTH; /* no valid case 1-4 */
    else
        v.sw = OCP_SW_SM_INCORRECT; /* the C-MAC no longer matches */
    return v;
}

/* MUTUAL AUTHENTICATE with one bit flipped: section 2.3's checks, in its
 * order (role, length, challenge, suite, state, key, cryptogram). */
static struct verdict auth_flip(const uint8_t *cmd, size_t len, size_t at,
                                uint8_t mask)
{
    struct verdict v = {0, 0, 0, 0};
    uint8_t c[MITM_CAPDU_MAX];
    int policy = PLAIN_ONLY;

    memcpy(c, cmd, len);
    c[at] ^= mask;
    assert_int_equal(len, 5 + OCP_AUTH_DATA_LEN + 1);
    v.sw = class_checks(c, &policy);
    if (v.sw != 0)
        return v;
    /* No single flip of 82 is another known instruction. */
    assert_int_equal(c[1], OCP_INS_MUTUAL_AUTH);
    if (c[3] < 1 || c[3] > OCP_ROLE_COUNT) {
        v.sw = OCP_SW_WRONG_P1P2;
    } else if (at == 4) {
        v.sw = OCP_SW_WRONG_LENGTH; /* Lc no longer fits the APDU */
    } else if (at == len - 1) {
        v.passes = 1; /* Le's value means nothing: the answer is fixed */
        v.sw = OCP_SW_OK;
    } else {
        v.spends_challenge = 1;
        if (at == 2)
            v.sw = OCP_SW_WRONG_P1P2;    /* not the card's suite */
        else if (at == 5)
            v.sw = OCP_SW_REF_NOT_FOUND; /* no key of that version */
        else
            v.sw = OCP_SW_AUTH_FAILED;   /* the cryptogram binds the rest,
                                            the role included */
    }
    return v;
}

/* ocp_open_session's documented mapping of a plain refusal. */
static ocp_status auth_status(uint16_t sw)
{
    if (sw == OCP_SW_AUTH_FAILED)
        return OCP_E_AUTH;
    if (sw == OCP_SW_REF_NOT_FOUND)
        return OCP_E_KEY_MISSING;
    return OCP_E_CARD_STATUS;
}

static uint16_t answer_sw(const uint8_t *r, size_t n)
{
    if (n < 2)
        return 0;
    return (uint16_t)((r[n - 2] << 8) | r[n - 1]);
}

/* libocp's session is over: it sends nothing more and says so. */
static void assert_session_dead_in_libocp(ocp_session *s)
{
    ocp_card_status_info status;
    unsigned n = mm.n;
    assert_int_equal(ocp_read_status(s, &status), OCP_E_SM);
    assert_int_equal(mm.n, n);
}

/* How many flipped commands got each status word, for the summary. */
static struct {
    uint16_t sw;
    unsigned long n;
} tally[12];

static void count_sw(uint16_t sw)
{
    size_t i;
    for (i = 0; i < sizeof tally / sizeof tally[0]; i++) {
        if (tally[i].n == 0)
            tally[i].sw = sw;
        if (tally[i].sw == sw) {
            tally[i].n++;
            return;
        }
    }
    fail_msg("more kinds of SW than the tally holds");
}

static void command_case(unsigned x, unsigned bit)
{
    const uint8_t *orig = ref[x].sent;
    size_t len = ref[x].sent_len, rlen;
    struct verdict v;
    ocp_session *s = NULL;
    ocp_tx_result tx;
    ocp_status st;
    uint16_t sw;

    v = x == X_AUTH
            ? auth_flip(orig, len, bit / 8u, (uint8_t)(0x80u >> (bit % 8u)))
            : protected_flip(orig, len, bit / 8u,
                             (uint8_t)(0x80u >> (bit % 8u)));
    count_sw(v.sw);
    restore(issued_image);
    mitm_arm(&mm, MITM_FLIP_COMMAND, x, bit);
    st = validation(&s, &tx);
    assert_true(mm.fired);

    if (v.passes) {
        assert_int_equal(st, OCP_OK);
        assert_int_equal(tx.counter, ref_tx.counter);
        assert_memory_equal(tx.cert, ref_tx.cert, 8);
        snap(image);
        assert_same_image(image, ref_after[X_CONSUME], "ignored Le");
        ocp_session_close(s);
        return;
    }
    if (mitm_card_sw(&mm, x) != v.sw)
        fail_msg("%s, exchange %u bit %u: card said %04X, PROTOCOL.md %04X",
                 flow->name, x, bit, (unsigned)mitm_card_sw(&mm, x),
                 (unsigned)v.sw);
    /* Every refusal here is a plain two-byte answer. */
    assert_int_equal(mm.log[x].answered_len, 2);
    assert_int_equal(mm.n, x + 1);
    snap(image);
    assert_same_image(image, ref_before[x], "refused command");

    /* The command as it was meant now reaches the card: what it gets
     * shows what the flip did to the session and the challenge. */
    if (x == X_AUTH) {
        assert_int_equal(st, auth_status(v.sw));
        assert_null(s);
        sw = inject(mm.log[x].sent, len, &rlen);
        if (v.spends_challenge) {
            assert_int_equal(sw, OCP_SW_CONDITIONS);
            assert_int_equal(rlen, 2);
        } else {
            assert_int_equal(sw, OCP_SW_OK);
            assert_int_equal(rlen, ref[x].answered_len);
        }
        snap(image);
        assert_same_image(image, ref_before[x], "auth retried");
        return;
    }
    assert_int_equal(st, OCP_E_SM); /* a plain answer is never trusted */
    assert_session_dead_in_libocp(s);
    sw = inject(mm.log[x].sent, len, &rlen);
    if (v.ends_session) {
        assert_int_equal(sw, OCP_SW_SECURITY_STATUS); /* no session */
        assert_int_equal(rlen, 2);
        snap(image);
        assert_same_image(image, ref_before[x], "after the session ended");
    } else {
        /* The session went on: the original is answered as in the
         * untampered run, and does exactly what it did there. */
        assert_int_equal(sw, answer_sw(ref[x].answered, ref[x].answered_len));
        assert_int_equal(rlen, ref[x].answered_len);
        snap(image);
        assert_same_image(image, ref_after[x], "original after refusal");
    }
    ocp_session_close(s);
}

static void response_case(unsigned x, unsigned bit)
{
    ocp_session *s = NULL, *again;
    ocp_tx_result tx;
    ocp_last_tx last;
    ocp_status st;

    restore(issued_image);
    mitm_arm(&mm, MITM_FLIP_RESPONSE, x, bit);
    st = validation(&s, &tx);
    assert_true(mm.fired);
    if (st != OCP_E_SM)
        fail_msg("%s, response %u bit %u: libocp said %d, not OCP_E_SM",
                 flow->name, x, bit, (int)st);
    assert_int_equal(mm.n, x + 1);
    /* The card acted as in the untampered run, exactly once. */
    snap(image);
    assert_same_image(image, ref_after[x], "flipped response");
    if (x == X_AUTH) {
        assert_null(s);
        return;
    }
    assert_session_dead_in_libocp(s);
    ocp_session_close(s);
    if (x != X_CONSUME)
        return;

    /* The terminal retries the torn consumption with its sequence number:
     * authentication already shows it committed, CONSUME answers the
     * stored certificate, and nothing is consumed a second time. */
    again = open_role_at(flow->role, TERMINAL, FIX_NOW, &last);
    assert_int_equal(last.seq, SEQ);
    assert_int_equal(last.counter, ref_tx.counter);
    assert_memory_equal(last.cert, ref_tx.cert, 8);
    assert_int_equal(ocp_consume(again, flow->service, flow->amount, SEQ,
                                 &tx),
                     OCP_OK);
    assert_int_equal(tx.flags, ref_tx.flags | OCP_TXF_REPEAT);
    assert_int_equal(tx.counter, ref_tx.counter);
    assert_memory_equal(tx.cert, ref_tx.cert, 8);
    ocp_session_close(again);
    snap(image);
    assert_same_image(image, ref_after[X_CONSUME], "retry");
}

/* Every bit of every exchange of one validation flow. */
static void sweep(unsigned long *commands_flipped,
                  unsigned long *responses_flipped)
{
    ocp_session *s;
    unsigned x, bit;

    /* The untampered run every case is compared with. */
    restore(issued_image);
    mm.observe = capture;
    assert_int_equal(validation(&s, &ref_tx), OCP_OK);
    mm.observe = NULL;
    ocp_session_close(s);
    assert_int_equal(mm.n, X_COUNT);
    memcpy(ref, mm.log, sizeof ref);
    assert_int_equal(ref_tx.flags, 0);
    /* Sizes of section 4: protected answers carry data, R-MAC and SW. */
    assert_int_equal(ref[X_AUTH].answered_len, 32 + 8 + 2);
    assert_int_equal(ref[X_CONSUME].sent_len, 5 + 16 + 8 + 1);
    assert_int_equal(ref[X_CONSUME].answered_len, 32 + 8 + 2);

    for (x = X_AUTH; x < X_COUNT; x++) {
        for (bit = 0; bit < 8u * ref[x].sent_len; bit++) {
            command_case(x, bit);
            (*commands_flipped)++;
        }
        for (bit = 0; bit < 8u * ref[x].answered_len; bit++) {
            response_case(x, bit);
            (*responses_flipped)++;
        }
    }
}

void test_bit_flips_validation(void **state)
{
    unsigned long commands_flipped = 0, responses_flipped = 0;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof flows / sizeof flows[0]; i++) {
        flow = &flows[i];
        sweep(&commands_flipped, &responses_flipped);
    }
    printf("attack_bit_flips %lu cases (%lu command bits, %lu response "
           "bits)\n",
           commands_flipped + responses_flipped, commands_flipped,
           responses_flipped);
    for (i = 0; i < sizeof tally / sizeof tally[0] && tally[i].n; i++)
        printf("  flipped commands answered %04X: %lu\n",
               (unsigned)tally[i].sw, tally[i].n);
}
