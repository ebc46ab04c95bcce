/*
 * The audit's certificate check (hostlib/src/cert_verify.c) against what a
 * real card computes: genuine certificates pass in both suites, a changed
 * field or another terminal id fails, the repeat flag is ignored, and the
 * key cache follows the card from record to record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "cert_verify.h"

/* Consume `n` times on a freshly issued card of `suite`; records out. */
static void records_from_card(struct card_fixture *fx, uint8_t suite,
                              ocp_use_record *out, size_t n)
{
    size_t i;
    fixture_free(fx);
    assert_int_equal(fixture_issued(fx, suite), 0);
    for (i = 0; i < n; i++) {
        ocp_session *s;
        ocp_tx_result tx;
        assert_int_equal(fixture_session(fx, OCP_ROLE_ASSIST, &s), OCP_OK);
        assert_int_equal(ocp_consume(s, SVC_DEVICE, 100 + (uint32_t)i,
                                     (uint32_t)i + 1, &tx),
                         OCP_OK);
        ocp_session_close(s);
        memset(&out[i], 0, sizeof out[i]);
        out[i].seq = (uint32_t)i + 1;
        memcpy(out[i].card_id, fx->card_id, 8);
        out[i].domain = OCP_ROLE_ASSIST;
        out[i].service = SVC_DEVICE;
        out[i].amount = 100 + (uint32_t)i;
        out[i].datetime = FIX_NOW;
        out[i].outcome = OCP_USE_ACCEPTED;
        out[i].counter = tx.counter;
        out[i].remaining = tx.remaining;
        out[i].flags = tx.flags;
        memcpy(out[i].cert, tx.cert, 8);
    }
}

static void check_suite(uint8_t suite)
{
    struct card_fixture fx;
    ocp_use_record recs[3], r;
    hl_cert_checker *c;
    const uint32_t term = 0x1000u + OCP_ROLE_ASSIST; /* fixture_session's */
    int ok, i;
    memset(&fx, 0, sizeof fx);
    records_from_card(&fx, suite, recs, 3);
    assert_int_equal(hl_cert_checker_new(fx.ks, &c), OCP_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(hl_cert_check(c, suite, 1, term, &recs[i], &ok),
                         OCP_OK);
        assert_true(ok);
    }
    /* Every field the certificate covers, changed by one bit. */
    for (i = 0; i < 10; i++) {
        r = recs[1];
        switch (i) {
        case 0: r.counter ^= 1; break;
        case 1: r.service ^= 1; break;
        case 2: r.domain ^= 1; break;
        case 3: r.amount ^= 1; break;
        case 4: r.remaining ^= 1; break;
        case 5: r.seq ^= 1; break;
        case 6: r.datetime ^= 1; break;
        case 7: r.flags ^= 1; break;
        case 8: r.card_id[7] ^= 1; break;
        default: r.cert[3] ^= 1; break;
        }
        assert_int_equal(hl_cert_check(c, suite, 1, term, &r, &ok), OCP_OK);
        assert_false(ok);
    }
    assert_int_equal(hl_cert_check(c, suite, 1, term + 1, &recs[1], &ok),
                     OCP_OK);
    assert_false(ok); /* another terminal id */
    r = recs[2];
    r.flags |= OCP_TXF_REPEAT; /* an answer from the card's memory */
    assert_int_equal(hl_cert_check(c, suite, 1, term, &r, &ok), OCP_OK);
    assert_true(ok);
    /* The wrong suite's key, then back: the cache follows. */
    assert_int_equal(hl_cert_check(c, suite == OCP_SUITE_SM ? OCP_SUITE_AES
                                                           : OCP_SUITE_SM,
                                   1, term, &recs[0], &ok),
                     OCP_OK);
    assert_false(ok);
    assert_int_equal(hl_cert_check(c, suite, 1, term, &recs[0], &ok), OCP_OK);
    assert_true(ok);
    hl_cert_checker_free(c);
    fixture_free(&fx);
}

static void test_aes(void **state)
{
    (void)state;
    check_suite(OCP_SUITE_AES);
}

static void test_sm(void **state)
{
    (void)state;
    check_suite(OCP_SUITE_SM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes),
        cmocka_unit_test(test_sm),
    };
    return cmocka_run_group_tests_name("cert_verify", tests, NULL, NULL);
}
