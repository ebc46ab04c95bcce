/*
 * test_e2e_card: the card's flows over the real stack (libocp, libpcsclite,
 * pcscd, the vpcd driver and ocp-card), one blank card shared by every test
 * in order, as a desk, validators, a clinic and a kiosk would meet it.
 *
 *   test_e2e_card [READER]          (default "Virtual PCD 00 00")
 *
 * The card in READER must be blank (a fresh image with the development
 * batch key).  tests/unit/test_applet.c runs the same flows in process;
 * this program shows they hold when every APDU crosses pcscd and vpcd and
 * every power cycle is a real one (SCardReconnect with SCARD_UNPOWER_CARD).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cert_check.h"

#include "ocp/card.h"
#include "ocp/issue.h"
#include "ocp/keystore.h"
#include "ocp/pcsc.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"

/* 2026-11-29 10:00 as minutes since 2000-01-01, as in the unit tests. */
#define DAY 9829u
#define NOW (DAY * 1440u + 600u)

#define SVC_BUS 0x0101u    /* transit pass */
#define SVC_REFILL 0x0201u /* medical counter, 2 a month */
#define SVC_REHAB 0x0301u  /* rehab counter, PIN required */
#define SVC_DEVICE 0x0401u /* assistive balance, fen */

#define PIN "2468"
#define NEW_PIN "97531"
#define POWER_CYCLES 1000

static const ocp_holder holder = {"张三丰", "11010119800101123X42", 4, 2,
                                  110105};

static struct {
    const char *reader;
    ocp_transport *t;
    ocp_keystore *ks;
    char dir[64];
    uint8_t card_id[8];
    /* The balance consumption of test (c), repeated by test (d). */
    uint32_t device_seq;
    ocp_tx_result device_tx;
} g;

static uint32_t terminal_of(uint8_t role)
{
    return 0x7E570000u + role;
}

static ocp_status open_role(uint8_t role, ocp_last_tx *last, ocp_session **s)
{
    return ocp_open_role(g.t, g.ks, role, terminal_of(role), NOW, NULL, last,
                         s);
}

static int group_setup(void **state)
{
    ocp_status st;
    (void)state;
    strcpy(g.dir, "/tmp/ocp-e2e-card-XXXXXX");
    if (mkdtemp(g.dir) == NULL) {
        perror("mkdtemp");
        g.dir[0] = '\0';
        return -1;
    }
    st = ocp_keystore_dev_open(g.dir, &g.ks);
    if (st != OCP_OK) {
        fprintf(stderr, "key store: %s\n", ocp_strerror(st));
        return -1;
    }
    st = ocp_pcsc_connect(g.reader, &g.t);
    if (st != OCP_OK) {
        fprintf(stderr, "connecting to \"%s\": %s\n", g.reader,
                ocp_strerror(st));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    if (g.t)
        g.t->ops->close(g.t);
    ocp_keystore_close(g.ks);
    if (g.dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g.dir);
    }
    memset(&g, 0, sizeof g);
    return 0;
}

/* The back office's check of a certificate (tests/unit/cert_check.c). */
static void expected_cert(uint32_t counter, uint16_t service, uint8_t domain,
                          uint32_t amount, uint32_t remaining,
                          uint32_t terminal, uint32_t seq, uint8_t flags,
                          uint8_t out[8])
{
    struct cert_fields f = {counter, service, domain, amount, remaining,
                            terminal, seq,   NOW,    flags};
    assert_int_equal(
        cert_expected(g.ks, OCP_SUITE_AES, g.card_id, &f, out), 0);
}

/* (a) The desk personalises the blank card with the transport key. */
static void test_issue_from_blank(void **state)
{
    static const ocp_entitlement ents[] = {
        {0, SVC_BUS, OCP_ROLE_TRANSIT, OCP_KIND_PASS, 0, 9800, 10200,
         OCP_PERIOD_NONE, 0, 0, 0},
        {0, SVC_REFILL, OCP_ROLE_MEDICAL, OCP_KIND_COUNTER, 0, 9800, 10200,
         OCP_PERIOD_MONTH, 2, 2, 0},
        {0, SVC_REHAB, OCP_ROLE_REHAB, OCP_KIND_COUNTER, OCP_ENT_FLAG_PIN,
         9800, 10200, OCP_PERIOD_YEAR, 10, 10, 0},
        {0, SVC_DEVICE, OCP_ROLE_ASSIST, OCP_KIND_BALANCE, 0, 9800, 10200,
         OCP_PERIOD_NONE, 0, 500000, 0},
    };
    ocp_issue_request req;
    ocp_select_info blank, info;
    ocp_public_info pub;
    uint8_t der[200], digest[16];
    size_t der_len = sizeof der;
    (void)state;

    assert_int_equal(ocp_select(g.t, &blank), OCP_OK);
    assert_int_equal(blank.state, OCP_STATE_BLANK);
    assert_int_equal(blank.key_versions[0], OCP_KEY_VERSION_TRANSPORT);

    memset(&req, 0, sizeof req);
    req.suite = OCP_SUITE_AES;
    req.issue_date = DAY;
    req.expiry_date = DAY + 3650;
    req.holder = holder;
    strcpy(req.pin, PIN);
    req.entitlements = ents;
    req.n_entitlements = sizeof ents / sizeof ents[0];
    req.terminal_id = 0xD0000001u;
    req.datetime = NOW;
    assert_int_equal(ocp_issue_card(g.t, g.ks, &req, NULL), OCP_OK);

    assert_int_equal(ocp_select(g.t, &info), OCP_OK);
    assert_int_equal(info.sw, OCP_SW_OK);
    assert_int_equal(info.state, OCP_STATE_ACTIVE);
    assert_int_equal(info.suite, OCP_SUITE_AES);
    assert_memory_equal(info.card_id, blank.card_id, 8);
    memcpy(g.card_id, info.card_id, 8);

    assert_int_equal(ocp_read_public(g.t, &pub), OCP_OK);
    assert_memory_equal(pub.card_id, g.card_id, 8);
    assert_int_equal(pub.issue_date, DAY);
    assert_int_equal(pub.expiry_date, DAY + 3650);
    assert_int_equal(ocp_holder_digest(g.ks, OCP_SUITE_AES, g.card_id,
                                       &holder, digest),
                     OCP_OK);
    assert_memory_equal(pub.holder_digest, digest, 16);
    assert_int_equal(g.ks->ops->public_key(g.ks, OCP_SUITE_AES, der,
                                           &der_len),
                     OCP_OK);
    assert_int_equal(ocp_verify_public(&pub, der, der_len), OCP_OK);
    pub.expiry_date++; /* a changed field breaks the signature */
    assert_int_equal(ocp_verify_public(&pub, der, der_len), OCP_E_SIGNATURE);
}

/* (b) Every role's key for this card opens a session. */
static void test_every_role_authenticates(void **state)
{
    uint8_t role;
    (void)state;
    for (role = 1; role <= OCP_ROLE_COUNT; role++) {
        ocp_session *s = NULL;
        ocp_last_tx last;
        ocp_card_status_info st;
        memset(&last, 0xA5, sizeof last);
        print_message("role %u\n", role);
        assert_int_equal(open_role(role, &last, &s), OCP_OK);
        assert_non_null(s);
        assert_int_equal(ocp_session_role(s), role);
        assert_int_equal(last.counter, 0); /* nothing consumed yet */
        /* A protected command and its R-MAC work in this session. */
        assert_int_equal(ocp_read_status(s, &st), OCP_OK);
        assert_int_equal(st.state, OCP_STATE_ACTIVE);
        assert_int_equal(st.tx_counter, 0);
        ocp_session_close(s);
    }
}

/* (c) One consumption of each kind, each certificate checked as the back
 * office checks it. */
struct consume_case {
    uint8_t role;
    uint16_t service;
    uint32_t amount;
    uint32_t remaining;
};

static const struct consume_case consume_cases[] = {
    {OCP_ROLE_TRANSIT, SVC_BUS, 1, 0},
    {OCP_ROLE_MEDICAL, SVC_REFILL, 1, 1},
    {OCP_ROLE_ASSIST, SVC_DEVICE, 120000, 380000},
};

static void test_consume_each_kind(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof consume_cases / sizeof consume_cases[0]; i++) {
        const struct consume_case *c = &consume_cases[i];
        ocp_session *s;
        ocp_tx_result tx;
        uint8_t cert[8];
        uint32_t seq = 100u + (uint32_t)i;

        print_message("service %04X\n", c->service);
        assert_int_equal(open_role(c->role, NULL, &s), OCP_OK);
        assert_int_equal(ocp_consume(s, c->service, c->amount, seq, &tx),
                         OCP_OK);
        ocp_session_close(s);
        assert_int_equal(tx.counter, i + 1);
        assert_int_equal(tx.remaining, c->remaining);
        assert_int_equal(tx.flags, 0);
        expected_cert(tx.counter, c->service, c->role, c->amount,
                      tx.remaining, terminal_of(c->role), seq, tx.flags, cert);
        assert_memory_equal(tx.cert, cert, 8);
        if (c->service == SVC_DEVICE) {
            g.device_seq = seq;
            g.device_tx = tx;
        }
    }
}

/* (d) The terminal lost the answer and the card left the field: the same
 * (terminal, sequence) after a power cycle gives the stored certificate and
 * consumes nothing.  The authentication already shows how it ended. */
static void test_repeat_after_power_cycle(void **state)
{
    ocp_session *s;
    ocp_last_tx last;
    ocp_tx_result again;
    ocp_entitlement e[16];
    size_t n = 16;
    (void)state;
    assert_int_not_equal(g.device_seq, 0); /* test (c) ran */
    assert_int_equal(g.t->ops->reset(g.t), OCP_OK);
    assert_int_equal(open_role(OCP_ROLE_ASSIST, &last, &s), OCP_OK);
    assert_int_equal(last.terminal_id, terminal_of(OCP_ROLE_ASSIST));
    assert_int_equal(last.seq, g.device_seq);
    assert_int_equal(last.counter, g.device_tx.counter);
    assert_int_equal(last.service, SVC_DEVICE);
    assert_int_equal(last.remaining, g.device_tx.remaining);
    assert_memory_equal(last.cert, g.device_tx.cert, 8);

    assert_int_equal(ocp_consume(s, SVC_DEVICE, 120000, g.device_seq, &again),
                     OCP_OK);
    assert_int_equal(again.flags, OCP_TXF_REPEAT);
    assert_int_equal(again.counter, g.device_tx.counter);
    assert_int_equal(again.remaining, g.device_tx.remaining);
    assert_memory_equal(again.cert, g.device_tx.cert, 8);

    /* Nothing was taken off the balance. */
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].service, SVC_DEVICE);
    assert_int_equal(e[0].remaining, g.device_tx.remaining);
    ocp_session_close(s);
}

/* Reads the log as `role`; returns the number of records. */
static size_t read_log_as(uint8_t role, ocp_log_record *log, size_t cap)
{
    ocp_session *s;
    size_t n = cap, i;
    assert_int_equal(open_role(role, NULL, &s), OCP_OK);
    assert_int_equal(ocp_read_log(s, log, &n), OCP_OK);
    ocp_session_close(s);
    for (i = 1; i < n; i++)
        assert_true(log[i].counter < log[i - 1].counter); /* newest first */
    return n;
}

/* (e) Each service sees only its own domain's log records; the issuer sees
 * them all. */
static void test_log_by_domain(void **state)
{
    ocp_log_record log[OCP_LOG_RECORDS];
    size_t n, i;
    unsigned seen = 0;
    (void)state;

    n = read_log_as(OCP_ROLE_TRANSIT, log, OCP_LOG_RECORDS);
    assert_int_equal(n, 1);
    assert_int_equal(log[0].domain, OCP_ROLE_TRANSIT);
    assert_int_equal(log[0].service, SVC_BUS);
    assert_int_equal(log[0].terminal_id, terminal_of(OCP_ROLE_TRANSIT));
    assert_int_equal(log[0].datetime, NOW);

    n = read_log_as(OCP_ROLE_MEDICAL, log, OCP_LOG_RECORDS);
    assert_int_equal(n, 1);
    assert_int_equal(log[0].domain, OCP_ROLE_MEDICAL);
    assert_int_equal(log[0].service, SVC_REFILL);
    assert_int_equal(log[0].remaining, 1);

    /* Three consumptions; the repeat of (d) left no record. */
    n = read_log_as(OCP_ROLE_ISSUER, log, OCP_LOG_RECORDS);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        assert_int_equal(log[i].counter, n - i);
        seen |= 1u << log[i].domain;
    }
    assert_int_equal(seen, (1u << OCP_ROLE_TRANSIT) |
                               (1u << OCP_ROLE_MEDICAL) |
                               (1u << OCP_ROLE_ASSIST));
}

/* (f) A role asking for what it may not see gets 6982 and no data, and the
 * session goes on. */
static void test_refusals_carry_no_data(void **state)
{
    ocp_session *s;
    ocp_entitlement e[16];
    uint8_t r[256];
    size_t rlen, n;
    uint16_t sw = 0;
    (void)state;

    assert_int_equal(open_role(OCP_ROLE_TRANSIT, NULL, &s), OCP_OK);
    rlen = sizeof r;
    memset(r, 0xEE, sizeof r);
    assert_int_equal(ocp_session_transmit(s, OCP_CLA_ISO, OCP_INS_GET_DATA,
                                          0x01, 0x01, NULL, 0, r, &rlen, &sw),
                     OCP_OK);
    assert_int_equal(sw, OCP_SW_SECURITY_STATUS);
    assert_int_equal(rlen, 0);
    /* Still in session: the refusal was an application error. */
    n = 16;
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].service, SVC_BUS);
    assert_int_equal(e[0].domain, OCP_ROLE_TRANSIT);
    ocp_session_close(s);

    /* The kiosk before VERIFY: READ RECORD 1 of SFI 1, mode 5. */
    assert_int_equal(open_role(OCP_ROLE_KIOSK, NULL, &s), OCP_OK);
    rlen = sizeof r;
    sw = 0;
    assert_int_equal(ocp_session_transmit(s, OCP_CLA_ISO,
                                          OCP_INS_READ_RECORD, 1,
                                          (OCP_SFI_ENTITLEMENTS << 3) | 5u,
                                          NULL, 0, r, &rlen, &sw),
                     OCP_OK);
    assert_int_equal(sw, OCP_SW_SECURITY_STATUS);
    assert_int_equal(rlen, 0);
    /* After the PIN, the same command answers all four entitlements. */
    assert_int_equal(ocp_verify_pin(s, PIN, NULL), OCP_OK);
    rlen = sizeof r;
    assert_int_equal(ocp_session_transmit(s, OCP_CLA_ISO,
                                          OCP_INS_READ_RECORD, 1,
                                          (OCP_SFI_ENTITLEMENTS << 3) | 5u,
                                          NULL, 0, r, &rlen, &sw),
                     OCP_OK);
    assert_int_equal(sw, OCP_SW_OK);
    assert_int_equal(rlen, 4 * OCP_ENT_REC_LEN);
    ocp_session_close(s);
}

/* (g) Wrong PINs down to blocked, the issuer's unblock with a new PIN, and
 * the new PIN opening the PIN-protected entitlement. */
static void test_pin_block_and_unblock(void **state)
{
    ocp_session *s;
    ocp_card_status_info st;
    ocp_tx_result tx;
    int left = -1;
    (void)state;

    assert_int_equal(open_role(OCP_ROLE_REHAB, NULL, &s), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, "1111", &left), OCP_E_PIN_WRONG);
    assert_int_equal(left, 2); /* 63C2 */
    assert_int_equal(ocp_verify_pin(s, "2222", &left), OCP_E_PIN_WRONG);
    assert_int_equal(left, 1); /* 63C1 */
    assert_int_equal(ocp_verify_pin(s, "3333", &left), OCP_E_PIN_BLOCKED);
    /* Blocked: the right PIN is refused too, and so is the entitlement. */
    assert_int_equal(ocp_verify_pin(s, PIN, &left), OCP_E_PIN_BLOCKED);
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_E_DENIED);
    assert_int_equal(ocp_read_status(s, &st), OCP_OK);
    assert_int_equal(st.pin_tries, 0);
    ocp_session_close(s);

    /* The block survives the card leaving the field. */
    assert_int_equal(g.t->ops->reset(g.t), OCP_OK);
    assert_int_equal(open_role(OCP_ROLE_ISSUER, NULL, &s), OCP_OK);
    assert_int_equal(ocp_read_status(s, &st), OCP_OK);
    assert_int_equal(st.pin_tries, 0);
    assert_int_equal(ocp_unblock_pin(s, NEW_PIN), OCP_OK);
    assert_int_equal(ocp_read_status(s, &st), OCP_OK);
    assert_int_equal(st.pin_tries, st.pin_max);
    ocp_session_close(s);

    assert_int_equal(open_role(OCP_ROLE_REHAB, NULL, &s), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, NEW_PIN, &left), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 9);
    ocp_session_close(s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_challenge(const void *a, const void *b)
{
    return memcmp(a, b, OCP_CHALLENGE_LEN);
}

/* (h) Challenges never repeat across real power cycles (the DRBG state
 * advances in NVM, PROTOCOL.md section 8). */
static void test_challenges_across_power_cycles(void **state)
{
    static uint8_t seen[POWER_CYCLES][OCP_CHALLENGE_LEN];
    ocp_select_info info;
    double t0, elapsed;
    int i;
    (void)state;

    t0 = now_s();
    for (i = 0; i < POWER_CYCLES; i++) {
        ocp_status st = g.t->ops->reset(g.t);
        if (st != OCP_OK)
            fail_msg("power cycle %d: %s", i, ocp_strerror(st));
        st = ocp_select(g.t, &info);
        if (st != OCP_OK || info.state != OCP_STATE_ACTIVE)
            fail_msg("SELECT after power cycle %d: %s, state %u", i,
                     ocp_strerror(st), info.state);
        memcpy(seen[i], info.challenge, OCP_CHALLENGE_LEN);
    }
    elapsed = now_s() - t0;
    printf("power_cycles %d in %.2f s (%.2f ms each)\n", POWER_CYCLES,
           elapsed, elapsed * 1e3 / POWER_CYCLES);
    qsort(seen, POWER_CYCLES, OCP_CHALLENGE_LEN, cmp_challenge);
    for (i = 1; i < POWER_CYCLES; i++)
        if (memcmp(seen[i], seen[i - 1], OCP_CHALLENGE_LEN) == 0)
            fail_msg("a challenge repeated across power cycles");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_from_blank),
        cmocka_unit_test(test_every_role_authenticates),
        cmocka_unit_test(test_consume_each_kind),
        cmocka_unit_test(test_repeat_after_power_cycle),
        cmocka_unit_test(test_log_by_domain),
        cmocka_unit_test(test_refusals_carry_no_data),
        cmocka_unit_test(test_pin_block_and_unblock),
        cmocka_unit_test(test_challenges_across_power_cycles),
    };
    g.reader = argc > 1 ? argv[1] : "Virtual PCD 00 00";
    return cmocka_run_group_tests_name("e2e_card", tests, group_setup,
                                       group_teardown);
}
