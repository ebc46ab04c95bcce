/*
 * Tearing: for each state-changing command, cut the power after write 1,
 * 2, ... N of the command, cleanly and half way through the page (the test
 * port leaves a prefix of the new bytes), power up, and check that the
 * card's whole visible state is exactly the old one or exactly the new one.
 * The PIN counter may only go down; the transaction counter never back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "ocp_card.h"
#include "port_test.h"

static struct card_fixture fx;
static uint8_t base_image[OCP_NVM_SIZE];
static unsigned long cut_points_total;

/* Everything the issuer can see, in one comparable blob. */
struct snapshot {
    ocp_card_status_info status;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    size_t n_ents;
    ocp_log_record log[OCP_LOG_RECORDS];
    size_t n_log;
    ocp_holder holder;
    ocp_select_info info;
};

static void snapshot(struct snapshot *s)
{
    ocp_session *sess;
    memset(s, 0, sizeof *s);
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(ocp_open_role(fx.t, fx.ks, OCP_ROLE_ISSUER, 1, FIX_NOW,
                                   &s->info, NULL, &sess),
                     OCP_OK);
    memset(s->info.challenge, 0, sizeof s->info.challenge);
    assert_int_equal(ocp_read_status(sess, &s->status), OCP_OK);
    s->n_ents = OCP_MAX_ENTITLEMENTS;
    assert_int_equal(ocp_read_entitlements(sess, s->ents, &s->n_ents),
                     OCP_OK);
    s->n_log = OCP_LOG_RECORDS;
    assert_int_equal(ocp_read_log(sess, s->log, &s->n_log), OCP_OK);
    assert_int_equal(ocp_read_holder(sess, &s->holder), OCP_OK);
    ocp_session_close(sess);
}

static int same(const struct snapshot *a, const struct snapshot *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* One command under test: opens its own session and runs. */
struct tear_case {
    const char *name;
    uint8_t role;
    const char *pin;     /* verified first, when set */
    ocp_status (*run)(ocp_session *s);
    int pin_spends;      /* the PIN try counter may end one lower */
    ocp_status expect;   /* result of the uncut run */
};

static ocp_status run_consume_pass(ocp_session *s)
{
    ocp_tx_result tx;
    return ocp_consume(s, SVC_BUS, 1, 77, &tx);
}

static ocp_status run_consume_counter(ocp_session *s)
{
    ocp_tx_result tx;
    return ocp_consume(s, SVC_REFILL, 1, 77, &tx);
}

static ocp_status run_consume_balance(ocp_session *s)
{
    ocp_tx_result tx;
    return ocp_consume(s, SVC_DEVICE, 2500, 77, &tx);
}

static ocp_status run_grant(ocp_session *s)
{
    ocp_entitlement e;
    memset(&e, 0, sizeof e);
    e.service = 0x0701;
    e.domain = OCP_ROLE_VENUE;
    e.kind = OCP_KIND_COUNTER;
    e.valid_from = FIX_DAY;
    e.valid_to = FIX_DAY + 365;
    e.period = OCP_PERIOD_YEAR;
    e.limit = 12;
    e.remaining = 12;
    return ocp_grant(s, &e, NULL);
}

static ocp_status run_credit(ocp_session *s)
{
    return ocp_credit(s, 4, 100000);
}

static ocp_status run_revoke(ocp_session *s)
{
    return ocp_revoke(s, 1);
}

static ocp_status run_block(ocp_session *s)
{
    return ocp_set_state(s, OCP_STATE_BLOCKED);
}

static ocp_status run_date(ocp_session *s)
{
    return ocp_set_card_date(s, FIX_DAY + 40);
}

static ocp_status run_unblock_pin(ocp_session *s)
{
    return ocp_unblock_pin(s, "13579");
}

static ocp_status run_verify_wrong(ocp_session *s)
{
    return ocp_verify_pin(s, "0000", NULL);
}

static ocp_status run_verify_right(ocp_session *s)
{
    return ocp_verify_pin(s, "2468", NULL);
}

static ocp_status run_change_pin(ocp_session *s)
{
    return ocp_change_pin(s, "2468", "8642", NULL);
}

static const struct tear_case cases[] = {
    {"consume pass", OCP_ROLE_TRANSIT, NULL, run_consume_pass, 0, OCP_OK},
    {"consume counter", OCP_ROLE_MEDICAL, NULL, run_consume_counter, 0, OCP_OK},
    {"consume balance", OCP_ROLE_ASSIST, NULL, run_consume_balance, 0, OCP_OK},
    {"grant", OCP_ROLE_ISSUER, NULL, run_grant, 0, OCP_OK},
    {"credit", OCP_ROLE_ISSUER, NULL, run_credit, 0, OCP_OK},
    {"revoke", OCP_ROLE_ISSUER, NULL, run_revoke, 0, OCP_OK},
    {"block", OCP_ROLE_ISSUER, NULL, run_block, 0, OCP_OK},
    {"date reset", OCP_ROLE_ISSUER, NULL, run_date, 0, OCP_OK},
    {"PIN unblock", OCP_ROLE_ISSUER, NULL, run_unblock_pin, 0, OCP_OK},
    {"PIN verify wrong", OCP_ROLE_KIOSK, NULL, run_verify_wrong, 0, OCP_E_PIN_WRONG},
    {"PIN verify right", OCP_ROLE_KIOSK, NULL, run_verify_right, 1, OCP_OK},
    {"PIN change", OCP_ROLE_KIOSK, NULL, run_change_pin, 1, OCP_OK},
};

static const unsigned torn_lengths[] = {0, 1, 32, 63};

static void sweep(const struct tear_case *c)
{
    struct snapshot old_state, new_state, got;
    ocp_session *s;
    unsigned long writes, k;
    unsigned t, points = 0;

    port_test_set_image(base_image);
    snapshot(&old_state);
    port_test_set_image(base_image);
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(fixture_session(&fx, c->role, &s), OCP_OK);
    writes = port_test_writes();
    assert_int_equal(c->run(s), c->expect);
    writes = port_test_writes() - writes;
    ocp_session_close(s);
    snapshot(&new_state);
    assert_true(writes >= 1);

    for (k = 1; k <= writes; k++) {
        for (t = 0; t < sizeof torn_lengths / sizeof torn_lengths[0]; t++) {
            port_test_set_image(base_image);
            assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
            assert_int_equal(fixture_session(&fx, c->role, &s), OCP_OK);
            port_test_arm_cut(k, torn_lengths[t]);
            assert_int_equal(c->run(s), OCP_E_CARD_REMOVED);
            ocp_session_close(s);
            port_test_power_up();
            snapshot(&got);
            points++;
            if (same(&got, &old_state) || same(&got, &new_state))
                continue;
            /* A verified PIN's try is spent before the comparison: after a
             * cut in between, the card may hold one try less than before,
             * never more. */
            if (c->pin_spends) {
                struct snapshot spent = old_state;
                spent.status.pin_tries--;
                if (same(&got, &spent))
                    continue;
            }
            fail_msg("%s: cut at write %lu (torn %u bytes) left a state "
                     "that is neither old nor new",
                     c->name, k, torn_lengths[t]);
        }
    }
    /* After all that, the card still works. */
    port_test_set_image(base_image);
    printf("tear %-18s writes %lu cut points %u\n", c->name, writes,
           points);
    cut_points_total += points;
}

static void test_sweep_every_command(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        sweep(&cases[i]);
    printf("tear_cut_points_total %lu points\n", cut_points_total);
}

/* Issuance is a sequence of commands; a cut anywhere leaves a card that a
 * second run of ocp_issue_card completes. */
static void test_issue_resumes_after_any_cut(void **state)
{
    unsigned long total, k;
    ocp_select_info info;
    (void)state;
    fixture_free(&fx);
    assert_int_equal(fixture_blank(&fx), 0);
    port_test_get_image(base_image);
    fixture_free(&fx);
    assert_int_equal(fixture_issued(&fx, OCP_SUITE_AES), 0);
    total = port_test_writes();
    for (k = 1; k <= total; k++) {
        struct card_fixture again;
        fixture_free(&fx);
        assert_int_equal(fixture_blank(&fx), 0);
        port_test_arm_cut(k, 17);
        assert_int_not_equal(fixture_issue(&fx, OCP_SUITE_AES), 0);
        port_test_power_up();
        assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
        assert_int_equal(fixture_issue(&fx, OCP_SUITE_AES), 0);
        assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
        assert_int_equal(info.state, OCP_STATE_ACTIVE);
        (void)again;
    }
    printf("tear issue: %lu cut points, each resumed\n", total);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        return -1;
    port_test_get_image(base_image);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_free(&fx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_every_command),
        cmocka_unit_test(test_issue_resumes_after_any_cut),
    };
    return cmocka_run_group_tests_name("tear", tests, setup, teardown);
}
