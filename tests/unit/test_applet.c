/*
 * The applet through libocp over the in-process transport: issuance, each
 * role's sessions and what it may see, consumption of each kind with its
 * certificate, the idempotent retry, PIN, life cycle, dates, randomness,
 * and the cost of a consumption in NVM writes and block-cipher calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cert_check.h"

#include "card_fixture.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "port_host.h"
#include "port_test.h"
#include "ocp/trace.h"

static struct card_fixture fx;

static int setup_aes(void **state)
{
    (void)state;
    return fixture_issued(&fx, OCP_SUITE_AES);
}

static int setup_sm(void **state)
{
    (void)state;
    return fixture_issued(&fx, OCP_SUITE_SM);
}

static int teardown(void **state)
{
    (void)state;
    fixture_free(&fx);
    return 0;
}

/* The back office's check of a certificate (tests/unit/cert_check.c). */
static void expected_cert(uint8_t suite, uint32_t counter, uint16_t service,
                          uint8_t domain, uint32_t amount, uint32_t remaining,
                          uint32_t terminal, uint32_t seq, uint32_t datetime,
                          uint8_t flags, uint8_t out[8])
{
    struct cert_fields f = {counter, service, domain, amount,   remaining,
                            terminal, seq,   datetime, flags};
    assert_int_equal(cert_expected(fx.ks, suite, fx.card_id, &f, out), 0);
}

static void check_issued(uint8_t suite)
{
    ocp_select_info info;
    ocp_public_info pub;
    uint8_t der[200];
    size_t der_len = sizeof der;

    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    assert_int_equal(info.state, OCP_STATE_ACTIVE);
    assert_int_equal(info.suite, suite);
    assert_memory_equal(info.card_id, fx.card_id, 8);
    assert_int_equal(ocp_read_public(fx.t, &pub), OCP_OK);
    assert_int_equal(fx.ks->ops->public_key(fx.ks, suite, der, &der_len),
                     OCP_OK);
    assert_int_equal(ocp_verify_public(&pub, der, der_len), OCP_OK);
    pub.expiry_date++; /* a changed field breaks the signature */
    assert_int_equal(ocp_verify_public(&pub, der, der_len), OCP_E_SIGNATURE);
}

static void test_issue_verifies(void **state)
{
    (void)state;
    check_issued(OCP_SUITE_AES);
}

static void test_issue_verifies_sm(void **state)
{
    (void)state;
    check_issued(OCP_SUITE_SM);
}

/* One row per kind: consume twice with new sequence numbers. */
struct consume_case {
    uint8_t role;
    uint16_t service;
    uint32_t amount;
    uint32_t after_first, after_second;
};

static const struct consume_case consume_cases[] = {
    {OCP_ROLE_TRANSIT, SVC_BUS, 1, 0, 0},
    {OCP_ROLE_MEDICAL, SVC_REFILL, 1, 1, 0},
    {OCP_ROLE_ASSIST, SVC_DEVICE, 120000, 380000, 260000},
};

static void consume_each_kind(uint8_t suite)
{
    size_t i;
    uint32_t expected_counter = 0;
    for (i = 0; i < sizeof consume_cases / sizeof consume_cases[0]; i++) {
        const struct consume_case *c = &consume_cases[i];
        ocp_session *s;
        ocp_tx_result tx;
        uint8_t cert[8];
        uint32_t terminal = 0x1000u + c->role;

        assert_int_equal(fixture_session(&fx, c->role, &s), OCP_OK);
        assert_int_equal(ocp_consume(s, c->service, c->amount, 7, &tx),
                         OCP_OK);
        expected_counter++;
        assert_int_equal(tx.counter, expected_counter);
        assert_int_equal(tx.remaining, c->after_first);
        assert_int_equal(tx.flags, 0);
        expected_cert(suite, tx.counter, c->service, c->role, c->amount,
                      tx.remaining, terminal, 7, FIX_NOW, tx.flags, cert);
        assert_memory_equal(tx.cert, cert, 8);
        assert_int_equal(ocp_consume(s, c->service, c->amount, 8, &tx),
                         OCP_OK);
        expected_counter++;
        assert_int_equal(tx.counter, expected_counter);
        assert_int_equal(tx.remaining, c->after_second);
        ocp_session_close(s);
    }
}

static void test_consume_each_kind(void **state)
{
    (void)state;
    consume_each_kind(OCP_SUITE_AES);
}

static void test_consume_each_kind_sm(void **state)
{
    (void)state;
    consume_each_kind(OCP_SUITE_SM);
}

static void test_counter_used_up(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_MEDICAL, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 2, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 0);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 3, &tx),
                     OCP_E_NOT_ENTITLED);
    ocp_session_close(s);
}

/* A torn consumption retried with the same (terminal, seq): the stored
 * certificate comes back and nothing is consumed twice. */
static void test_repeat_is_idempotent(void **state)
{
    ocp_session *s;
    ocp_tx_result first, again;
    ocp_last_tx last;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_ASSIST, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 42, &first), OCP_OK);
    ocp_session_close(s);

    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_ASSIST,
                                        0x1000u + OCP_ROLE_ASSIST, FIX_NOW,
                                        &last, &s),
                     OCP_OK);
    /* The authentication already tells the terminal how it ended. */
    assert_int_equal(last.seq, 42);
    assert_int_equal(last.counter, first.counter);
    assert_memory_equal(last.cert, first.cert, 8);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 42, &again), OCP_OK);
    assert_int_equal(again.flags, OCP_TXF_REPEAT);
    assert_int_equal(again.counter, first.counter);
    assert_int_equal(again.remaining, first.remaining);
    assert_memory_equal(again.cert, first.cert, 8);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 43, &again), OCP_OK);
    assert_int_equal(again.remaining, first.remaining - 1000);
    ocp_session_close(s);
}

static size_t log_count_for(uint8_t role, uint8_t *domains)
{
    ocp_session *s;
    ocp_log_record log[40];
    size_t n = 40, i;
    assert_int_equal(fixture_session(&fx, role, &s), OCP_OK);
    if (role == OCP_ROLE_KIOSK)
        assert_int_equal(ocp_verify_pin(s, "2468", NULL), OCP_OK);
    assert_int_equal(ocp_read_log(s, log, &n), OCP_OK);
    for (i = 0; i < n; i++) {
        domains[i] = log[i].domain;
        if (i > 0)
            assert_true(log[i].counter < log[i - 1].counter);
    }
    ocp_session_close(s);
    return n;
}

static void test_log_filtered_by_domain(void **state)
{
    uint8_t domains[40];
    size_t n, i;
    (void)state;
    consume_each_kind(OCP_SUITE_AES);
    n = log_count_for(OCP_ROLE_TRANSIT, domains);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++)
        assert_int_equal(domains[i], OCP_ROLE_TRANSIT);
    n = log_count_for(OCP_ROLE_MEDICAL, domains);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++)
        assert_int_equal(domains[i], OCP_ROLE_MEDICAL);
    assert_int_equal(log_count_for(OCP_ROLE_KIOSK, domains), 6);
    assert_int_equal(log_count_for(OCP_ROLE_ISSUER, domains), 6);
}

static void test_log_wraps_at_capacity(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    ocp_log_record log[40];
    size_t n = 40;
    uint32_t seq;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_TRANSIT, &s), OCP_OK);
    for (seq = 1; seq <= 40; seq++)
        assert_int_equal(ocp_consume(s, SVC_BUS, 1, seq, &tx), OCP_OK);
    assert_int_equal(ocp_read_log(s, log, &n), OCP_OK);
    assert_int_equal(n, OCP_LOG_RECORDS);
    assert_int_equal(log[0].counter, 40);
    assert_int_equal(log[OCP_LOG_RECORDS - 1].counter, 9);
    ocp_session_close(s);
}

/* What each role sees of the holder and the entitlements. */
static void test_visibility(void **state)
{
    ocp_session *s;
    ocp_holder h;
    ocp_entitlement e[16];
    size_t n;
    (void)state;

    assert_int_equal(fixture_session(&fx, OCP_ROLE_TRANSIT, &s), OCP_OK);
    assert_int_equal(ocp_read_holder(s, &h), OCP_E_DENIED);
    n = 16;
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].service, SVC_BUS);
    ocp_session_close(s);

    assert_int_equal(fixture_session(&fx, OCP_ROLE_MEDICAL, &s), OCP_OK);
    assert_int_equal(ocp_read_holder(s, &h), OCP_OK);
    assert_int_equal(h.category, 4);
    assert_int_equal(h.grade, 2);
    assert_string_equal(h.name, "");
    assert_string_equal(h.cert_no, "");
    assert_int_equal(h.district, 0);
    n = 16;
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].service, SVC_REFILL);
    ocp_session_close(s);

    /* The kiosk sees everything, but only after the PIN. */
    assert_int_equal(fixture_session(&fx, OCP_ROLE_KIOSK, &s), OCP_OK);
    assert_int_equal(ocp_read_holder(s, &h), OCP_E_DENIED);
    n = 16;
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_E_DENIED);
    assert_int_equal(ocp_verify_pin(s, "2468", NULL), OCP_OK);
    assert_int_equal(ocp_read_holder(s, &h), OCP_OK);
    assert_string_equal(h.name, fixture_holder.name);
    assert_string_equal(h.cert_no, fixture_holder.cert_no);
    assert_int_equal(h.district, 110105);
    n = 16;
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    assert_int_equal(n, 4);
    ocp_session_close(s);
}

/* Roles may not do what belongs to others. */
static void test_role_refusals(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    ocp_entitlement e;
    uint8_t crypt[8] = {0};
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_TRANSIT, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx),
                     OCP_E_NOT_ENTITLED);
    memset(&e, 0, sizeof e);
    e.service = 0x0999;
    e.domain = OCP_ROLE_TRANSIT;
    e.kind = OCP_KIND_PASS;
    e.valid_to = 10000;
    assert_int_equal(ocp_grant(s, &e, NULL), OCP_E_DENIED);
    assert_int_equal(ocp_set_state(s, OCP_STATE_TERMINATED), OCP_E_DENIED);
    assert_int_equal(ocp_block_with_cryptogram(s, 1, crypt), OCP_E_AUTH);
    assert_int_equal(ocp_unblock_pin(s, "1111"), OCP_E_DENIED);
    ocp_session_close(s);

    assert_int_equal(fixture_session(&fx, OCP_ROLE_KIOSK, &s), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, "2468", NULL), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_E_DENIED);
    ocp_session_close(s);
}

static void test_pin_tries_block_and_unblock(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    int left = -1;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_REHAB, &s), OCP_OK);
    /* A PIN-protected entitlement needs the PIN first. */
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_E_DENIED);
    assert_int_equal(ocp_verify_pin(s, "1111", &left), OCP_E_PIN_WRONG);
    assert_int_equal(left, 2);
    assert_int_equal(ocp_verify_pin(s, "2222", &left), OCP_E_PIN_WRONG);
    assert_int_equal(left, 1);
    assert_int_equal(ocp_verify_pin(s, "3333", &left), OCP_E_PIN_BLOCKED);
    assert_int_equal(left, 0);
    /* Blocked: even the right PIN is refused. */
    assert_int_equal(ocp_verify_pin(s, "2468", &left), OCP_E_PIN_BLOCKED);
    ocp_session_close(s);

    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s), OCP_OK);
    assert_int_equal(ocp_unblock_pin(s, "97531"), OCP_OK);
    ocp_session_close(s);

    assert_int_equal(fixture_session(&fx, OCP_ROLE_REHAB, &s), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, "97531", &left), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REHAB, 1, 1, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 9);
    ocp_session_close(s);

    /* The holder changes the PIN at the kiosk. */
    assert_int_equal(fixture_session(&fx, OCP_ROLE_KIOSK, &s), OCP_OK);
    assert_int_equal(ocp_change_pin(s, "97531", "112233", &left), OCP_OK);
    assert_int_equal(ocp_verify_pin(s, "112233", &left), OCP_OK);
    ocp_session_close(s);
}

/* A cut right after the try is counted cannot win the try back. */
static void test_pin_try_survives_power_cut(void **state)
{
    ocp_session *s;
    ocp_card_status_info st;
    int left;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_KIOSK, &s), OCP_OK);
    port_test_arm_cut(2, 0); /* the decrement commits; the restore is cut */
    assert_int_equal(ocp_verify_pin(s, "2468", &left), OCP_E_CARD_REMOVED);
    ocp_session_close(s);
    port_test_power_up();
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(fixture_session(&fx, OCP_ROLE_KIOSK, &s), OCP_OK);
    assert_int_equal(ocp_read_status(s, &st), OCP_OK);
    assert_int_equal(st.pin_tries, 2);
    ocp_session_close(s);
}

static void test_life_cycle(void **state)
{
    ocp_session *s;
    ocp_select_info info;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s), OCP_OK);
    assert_int_equal(ocp_set_state(s, OCP_STATE_PERSONALISED),
                     OCP_E_CARD_STATUS);
    assert_int_equal(ocp_set_state(s, OCP_STATE_BLOCKED), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    assert_int_equal(info.sw, OCP_SW_WARN_DEACTIVATED);
    assert_int_equal(fixture_session(&fx, OCP_ROLE_TRANSIT, &s),
                     OCP_E_CARD_BLOCKED);
    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s), OCP_OK);
    assert_int_equal(ocp_set_state(s, OCP_STATE_ACTIVE), OCP_OK);
    assert_int_equal(ocp_set_state(s, OCP_STATE_TERMINATED), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    assert_int_equal(info.sw, OCP_SW_WARN_TERMINATED);
    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s),
                     OCP_E_CARD_TERMINATED);
}

/* A validator blocks a hotlisted card with the issuer's cryptogram. */
static void test_block_with_cryptogram(void **state)
{
    ocp_session *s;
    uint8_t key[16], m[16], tag[16];
    ocp_select_info info;
    (void)state;
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, fx.card_id,
                                          OCP_ROLE_ISSUER, 1, key),
                     OCP_OK);
    memcpy(m, "BLK1", 4);
    memcpy(m + 4, fx.card_id, 8);
    ocp_put_be32(m + 12, 5);
    ocp_cmac(OCP_CIPHER_AES128, key, m, sizeof m, tag);
    assert_int_equal(fixture_session(&fx, OCP_ROLE_TRANSIT, &s), OCP_OK);
    assert_int_equal(ocp_block_with_cryptogram(s, 4, tag), OCP_E_AUTH);
    assert_int_equal(ocp_block_with_cryptogram(s, 5, tag), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    assert_int_equal(info.state, OCP_STATE_BLOCKED);
}

/* Dates: earlier ones are flagged, a far jump needs a second terminal,
 * and the monthly counter renews only in a trusted new month. */
static void test_date_rules_and_renewal(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    uint32_t dec = (FIX_DAY + 3) * 1440u;      /* 2026-12-02 */
    uint32_t far = (FIX_DAY + 60) * 1440u;     /* late January */
    (void)state;

    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0x51, FIX_NOW,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 2, 1, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 0);
    ocp_session_close(s);

    /* An earlier date: accepted, flagged, no renewal. */
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_TRANSIT, 0x52,
                                        FIX_NOW - 2880, NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_BACKDATED);
    ocp_session_close(s);

    /* December, three days later: plausible, the counter renews. */
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0x51, dec,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 2, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_RENEWED);
    assert_int_equal(tx.remaining, 1);
    ocp_session_close(s);

    /* Two months ahead from one terminal: flagged, no renewal. */
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0x51, far,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 3, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_AHEAD);
    assert_int_equal(tx.remaining, 0);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 4, &tx),
                     OCP_E_NOT_ENTITLED);
    ocp_session_close(s);

    /* A second terminal agrees: the date is trusted and renews. */
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0x77,
                                        far + 60, NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 5, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_RENEWED);
    assert_int_equal(tx.remaining, 1);
    ocp_session_close(s);

    /* Outside the validity window: refused. */
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_TRANSIT, 0x52,
                                        10300u * 1440u, NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 9, &tx), OCP_E_NOT_ENTITLED);
    ocp_session_close(s);
}

/* A tap torn after the card committed, then another terminal's tap in the
 * same domain, then the first terminal's retry with its sequence number:
 * the domain's last transaction is the other terminal's now, but the log
 * still knows the first, so nothing is charged twice. */
static void test_retry_after_another_terminal_is_not_charged_twice(
    void **state)
{
    ocp_session *s;
    ocp_tx_result torn, other, retry;
    size_t i;
    (void)state;
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_ASSIST, 0xA1, FIX_NOW,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 5, &torn), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_ASSIST, 0xB2, FIX_NOW,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 300, 1, &other), OCP_OK);
    ocp_session_close(s);
    /* Ten more of B's taps: still well inside the 32-record log. */
    for (i = 0; i < 10; i++) {
        assert_int_equal(fixture_session_at(&fx, OCP_ROLE_ASSIST, 0xB2,
                                            FIX_NOW, NULL, &s),
                         OCP_OK);
        assert_int_equal(ocp_consume(s, SVC_DEVICE, 1, 2 + (uint32_t)i,
                                     &other),
                         OCP_OK);
        ocp_session_close(s);
    }
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_ASSIST, 0xA1, FIX_NOW,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1000, 5, &retry), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(retry.flags, torn.flags | OCP_TXF_REPEAT);
    assert_int_equal(retry.counter, torn.counter);
    assert_int_equal(retry.remaining, torn.remaining);
    assert_memory_equal(retry.cert, torn.cert, 8);
    /* And the card's balance is B's last, not charged again. */
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_ASSIST, 0xB2, FIX_NOW,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_DEVICE, 1, 99, &retry), OCP_OK);
    assert_int_equal(retry.remaining, other.remaining - 1);
    assert_int_equal(retry.counter, other.counter + 1);
    ocp_session_close(s);
}

/* A card whose monthly counter ran out, met months later by one terminal
 * and then another: the first refusal still records the far-ahead date,
 * so the second terminal's agreement renews the counter. */
static void test_used_up_counter_renews_at_second_terminal(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    uint32_t far = (FIX_DAY + 60) * 1440u;
    (void)state;
    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0x51, FIX_NOW,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 2, 1, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 0);
    ocp_session_close(s);

    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0xA1, far,
                                        NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx),
                     OCP_E_NOT_ENTITLED);
    ocp_session_close(s);

    assert_int_equal(fixture_session_at(&fx, OCP_ROLE_MEDICAL, 0xB2,
                                        far + 1440, NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 1, &tx), OCP_OK);
    assert_int_equal(tx.flags, OCP_TXF_RENEWED);
    assert_int_equal(tx.remaining, 1);
    ocp_session_close(s);
}

static void test_challenges_never_repeat(void **state)
{
    static uint8_t seen[1000][8];
    ocp_select_info info;
    int i, j;
    (void)state;
    port_test_set_entropy(0); /* a chip without a generator */
    for (i = 0; i < 1000; i++) {
        assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
        assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
        memcpy(seen[i], info.challenge, 8);
    }
    port_test_set_entropy(1);
    for (i = 0; i < 1000; i++)
        for (j = 0; j < i; j++)
            assert_memory_not_equal(seen[i], seen[j], 8);
}

/* The figures of DESIGN.md section 9 for one bus consumption. */
static void test_consumption_cost(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    unsigned long writes, calls;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_TRANSIT, &s), OCP_OK);
    writes = port_test_writes();
    calls = ocp_inproc_card_block_calls(fx.t);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_OK);
    writes = port_test_writes() - writes;
    calls = ocp_inproc_card_block_calls(fx.t) - calls;
    ocp_session_close(s);
    printf("consume_nvm_page_writes %lu pages\n", writes);
    printf("consume_card_block_cipher_calls %lu calls\n", calls);
    assert_true(writes <= 3);
}

/* Key change: the issuer loads version 2 of the transit key; the card
 * reports it, version 2 opens a session, version 1 no longer does. */
static void test_key_change(void **state)
{
    ocp_session *s;
    ocp_select_info info;
    uint8_t data[19], key[16];
    uint16_t sw;
    (void)state;
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, fx.card_id,
                                          OCP_ROLE_TRANSIT, 2, key),
                     OCP_OK);
    memcpy(data, key, 16);
    ocp_key_check_value(OCP_CIPHER_AES128, key, data + 16);
    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s), OCP_OK);
    data[16] ^= 1; /* a wrong check value is refused, nothing stored */
    assert_int_equal(ocp_session_transmit(s, OCP_CLA_PROP, OCP_INS_PUT_KEY, 2,
                                          OCP_ROLE_TRANSIT, data, 19, NULL,
                                          NULL, &sw),
                     OCP_OK);
    assert_int_equal(sw, OCP_SW_WRONG_DATA);
    data[16] ^= 1;
    assert_int_equal(ocp_session_transmit(s, OCP_CLA_PROP, OCP_INS_PUT_KEY, 2,
                                          OCP_ROLE_TRANSIT, data, 19, NULL,
                                          NULL, &sw),
                     OCP_OK);
    assert_int_equal(sw, OCP_SW_OK);
    ocp_session_close(s);

    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    assert_int_equal(info.key_versions[OCP_ROLE_TRANSIT - 1], 2);
    assert_int_equal(ocp_open_session(fx.t, &info, OCP_ROLE_TRANSIT, 2, key,
                                      1, FIX_NOW, NULL, &s),
                     OCP_OK);
    ocp_session_close(s);
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, fx.card_id,
                                          OCP_ROLE_TRANSIT, 1, key),
                     OCP_OK);
    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    assert_int_equal(ocp_open_session(fx.t, &info, OCP_ROLE_TRANSIT, 1, key,
                                      1, FIX_NOW, NULL, &s),
                     OCP_E_KEY_MISSING);
}

/* A bus validation: SELECT, MUTUAL AUTHENTICATE, CONSUME; nothing else.
 * DESIGN.md section 9: 3 round trips, at most 200 APDU bytes. */
static void test_bus_validation_budget(void **state)
{
    ocp_transport *inner = fx.t, *traced;
    ocp_session *s;
    ocp_tx_result tx;
    ocp_trace_stats st;
    unsigned long writes, card_calls;
    (void)state;
    assert_int_equal(ocp_inproc_power_cycle(inner), OCP_OK);
    assert_int_equal(ocp_trace_wrap(inner, NULL, &traced), OCP_OK);
    fx.t = traced; /* the fixture closes the wrapper, which closes inner */
    writes = port_test_writes();
    card_calls = ocp_inproc_card_block_calls(inner);
    assert_int_equal(ocp_open_role(traced, fx.ks, OCP_ROLE_TRANSIT,
                                   0x0B000001u, FIX_NOW, NULL, NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 1, &tx), OCP_OK);
    ocp_session_close(s);
    ocp_trace_get(traced, &st);
    writes = port_test_writes() - writes;
    card_calls = ocp_inproc_card_block_calls(inner) - card_calls;
    printf("bus_validation_round_trips %lu pairs\n", st.exchanges);
    printf("bus_validation_apdu_bytes %lu bytes\n",
           st.bytes_out + st.bytes_in);
    printf("bus_validation_nvm_page_writes %lu pages\n", writes);
    printf("bus_validation_card_block_cipher_calls %lu calls\n", card_calls);
    assert_int_equal(st.exchanges, 3);
    assert_true(st.bytes_out + st.bytes_in <= 200);
    {
        /* The contactless time model of docs/PERFORMANCE.md, from this
         * trace: ISO 14443-A at 106 kbit/s (9 bit times per byte, 4 bytes
         * of framing per block), 1 ms of reader and frame delay per round
         * trip, 0.5 ms per block-cipher call (software AES on a 48 MHz
         * Cortex-M0+), 3 ms per EEPROM page write. */
        double bit_us = 1e6 / 106000.0;
        double bytes = (double)(st.bytes_out + st.bytes_in) +
                       4.0 * 2.0 * (double)st.exchanges;
        double ms = bytes * 9.0 * bit_us / 1000.0 +
                    1.0 * (double)st.exchanges + 0.5 * (double)card_calls +
                    3.0 * (double)writes;
        printf("contactless_model_ms %.1f ms\n", ms);
        assert_true(ms <= 100.0);
    }
}

int main(void)
{
    const struct CMUnitTest aes[] = {
        cmocka_unit_test_setup_teardown(test_issue_verifies, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_consume_each_kind, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counter_used_up, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_repeat_is_idempotent, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_filtered_by_domain,
                                        setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_log_wraps_at_capacity, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_visibility, setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_role_refusals, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pin_tries_block_and_unblock,
                                        setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_pin_try_survives_power_cut,
                                        setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_life_cycle, setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_block_with_cryptogram, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_date_rules_and_renewal,
                                        setup_aes, teardown),
        cmocka_unit_test_setup_teardown(
            test_used_up_counter_renews_at_second_terminal, setup_aes,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_retry_after_another_terminal_is_not_charged_twice,
            setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_challenges_never_repeat,
                                        setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_consumption_cost, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_change, setup_aes,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bus_validation_budget,
                                        setup_aes, teardown),
        cmocka_unit_test_setup_teardown(test_issue_verifies_sm, setup_sm,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_consume_each_kind_sm, setup_sm,
                                        teardown),
    };
    return cmocka_run_group_tests_name("applet", aes, NULL, NULL);
}
