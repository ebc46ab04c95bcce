/*
 * Tearing: for each state-changing command, cut the power after write 1,
 * 2, ... N of the command, cleanly and half way through the page (the test
 * port leaves a prefix of the new bytes), power up, and check that the
 * card's whole visible state is exactly the old one or exactly the new one.
 * The whole state includes the PIN try counter (so a try is never
 * regained), the transaction counter (never back), every entitlement's
 * units and the log (never lost, never twice), and which key the transit
 * slot holds.  Every challenge the card gives out in one timeline is
 * checked against the ones before it: a cut must never make the DRBG
 * repeat itself.
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
#include "ocp_crypto.h"
#include "port_test.h"

static struct card_fixture fx;
static uint8_t issued_image[OCP_NVM_SIZE]; /* the fixture's issued card */
static uint8_t base_image[OCP_NVM_SIZE];   /* the state a case starts from */
static unsigned long cut_points_total;
static unsigned long writes_at_start; /* the NVM write count as the case starts */

/* Challenges given out since the image was last restored (one timeline). */
#define MAX_CHALLENGES 64
static uint8_t challenges[MAX_CHALLENGES][8];
static unsigned n_challenges;
static unsigned long challenges_checked;

static void timeline_start(void)
{
    n_challenges = 0;
}

static void challenge_seen(const uint8_t c[8])
{
    unsigned i;
    for (i = 0; i < n_challenges; i++)
        if (memcmp(challenges[i], c, 8) == 0)
            fail_msg("the card gave out the same challenge twice");
    assert_true(n_challenges < MAX_CHALLENGES);
    memcpy(challenges[n_challenges++], c, 8);
    challenges_checked++;
}

/* The transit slot's key as version 1 and as version 2 of the store. */
static void transit_key(uint8_t version, uint8_t key[16])
{
    assert_int_equal(fx.ks->ops->card_key(fx.ks, OCP_SUITE_AES, fx.card_id,
                                          OCP_ROLE_TRANSIT, version, key),
                     OCP_OK);
}

/* 1 when a transit session opens with that key version. */
static int transit_opens_with(uint8_t version)
{
    ocp_select_info info;
    ocp_session *s = NULL;
    uint8_t key[16];
    ocp_status st;
    transit_key(version, key);
    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    challenge_seen(info.challenge);
    st = ocp_open_session(fx.t, &info, OCP_ROLE_TRANSIT, version, key,
                          0x1002, FIX_NOW, NULL, &s);
    ocp_session_close(s);
    return st == OCP_OK;
}

/* Everything the issuer can see, in one comparable blob. */
struct snapshot {
    ocp_card_status_info status;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    size_t n_ents;
    ocp_log_record log[OCP_LOG_RECORDS];
    size_t n_log;
    ocp_holder holder;
    ocp_select_info info;
    int transit_key_v1, transit_key_v2; /* which key the slot holds */
};

static void snapshot(struct snapshot *s)
{
    ocp_session *sess;
    ocp_status st;
    memset(s, 0, sizeof *s);
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    st = ocp_open_role(fx.t, fx.ks, OCP_ROLE_ISSUER, 1, FIX_NOW, &s->info,
                       NULL, &sess);
    challenge_seen(s->info.challenge);
    memset(s->info.challenge, 0, sizeof s->info.challenge);
    /* A terminated card opens no session: its SELECT answer is all that
     * anyone can see of it. */
    if (st == OCP_E_CARD_TERMINATED && s->info.state == OCP_STATE_TERMINATED)
        return;
    assert_int_equal(st, OCP_OK);
    assert_int_equal(ocp_read_status(sess, &s->status), OCP_OK);
    s->n_ents = OCP_MAX_ENTITLEMENTS;
    assert_int_equal(ocp_read_entitlements(sess, s->ents, &s->n_ents),
                     OCP_OK);
    s->n_log = OCP_LOG_RECORDS;
    assert_int_equal(ocp_read_log(sess, s->log, &s->n_log), OCP_OK);
    assert_int_equal(ocp_read_holder(sess, &s->holder), OCP_OK);
    ocp_session_close(sess);
    if (s->status.state == OCP_STATE_ACTIVE) {
        s->transit_key_v1 = transit_opens_with(1);
        s->transit_key_v2 = transit_opens_with(2);
    }
}

static int same(const struct snapshot *a, const struct snapshot *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* One command under test: runs in a session of `role`, or (desk jobs that
 * open their own sessions) straight on the transport. */
struct tear_case {
    const char *name;
    uint8_t role;
    ocp_status (*run)(ocp_session *s);
    ocp_status (*desk)(void);
    int pin_spends;      /* the PIN try counter may end one lower */
    ocp_status expect;   /* result of the uncut run */
    void (*prepare)(void); /* makes the starting state; NULL: issued card */
    uint32_t when;         /* the session's date-time; 0: FIX_NOW */
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

static ocp_status run_unblock_card(ocp_session *s)
{
    return ocp_set_state(s, OCP_STATE_ACTIVE);
}

static ocp_status run_terminate(ocp_session *s)
{
    return ocp_set_state(s, OCP_STATE_TERMINATED);
}

/* PUT KEY: the transit slot gets the store's version-2 key. */
static ocp_status run_key_change(ocp_session *s)
{
    uint8_t data[19];
    uint16_t sw;
    ocp_status st;
    transit_key(2, data);
    ocp_key_check_value(OCP_CIPHER_AES128, data, data + 16);
    st = ocp_session_transmit(s, OCP_CLA_PROP, OCP_INS_PUT_KEY, 2,
                              OCP_ROLE_TRANSIT, data, sizeof data, NULL, NULL,
                              &sw);
    if (st == OCP_OK && sw != OCP_SW_OK)
        st = ocp_status_from_sw(sw);
    return st;
}

static ocp_status desk_update_holder(void)
{
    ocp_holder h = fixture_holder;
    strcpy(h.name, "张三丰丰");
    h.district = 110106;
    return ocp_update_holder(fx.t, fx.ks, &h, 0xD0000001u, FIX_NOW);
}

static ocp_status desk_renew(void)
{
    return ocp_renew_in_place(fx.t, fx.ks, (uint16_t)(FIX_DAY + 3 * 365),
                              0xD0000001u, FIX_NOW);
}

/* Starting states other than the freshly issued card. */
static void apply_to_base(ocp_status (*change)(ocp_session *s), uint8_t role)
{
    ocp_session *s;
    port_test_set_image(issued_image);
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(fixture_session(&fx, role, &s), OCP_OK);
    assert_int_equal(change(s), OCP_OK);
    ocp_session_close(s);
    port_test_get_image(base_image);
}

static void prepare_blocked(void)
{
    apply_to_base(run_block, OCP_ROLE_ISSUER);
}

static ocp_status spend_all_but_one_try(ocp_session *s)
{
    int left = 0;
    do {
        if (ocp_verify_pin(s, "0000", &left) != OCP_E_PIN_WRONG)
            return OCP_E_ARGS;
    } while (left > 1);
    return OCP_OK;
}

static ocp_status use_up_refills(ocp_session *s)
{
    ocp_tx_result tx;
    return ocp_consume(s, SVC_REFILL, 2, 76, &tx);
}

/* The monthly refills used up: a consumption two months ahead is refused
 * but records the far-ahead date (one root write). */
static void prepare_refills_used_up(void)
{
    apply_to_base(use_up_refills, OCP_ROLE_MEDICAL);
}

/* A PIN with one try left: the wrong try that blocks it is the case. */
static void prepare_pin_one_try(void)
{
    apply_to_base(spend_all_but_one_try, OCP_ROLE_KIOSK);
}

static const struct tear_case cases[] = {
    {"consume pass", OCP_ROLE_TRANSIT, run_consume_pass, NULL, 0, OCP_OK, NULL, 0},
    {"consume counter", OCP_ROLE_MEDICAL, run_consume_counter, NULL, 0, OCP_OK, NULL, 0},
    {"consume balance", OCP_ROLE_ASSIST, run_consume_balance, NULL, 0, OCP_OK, NULL, 0},
    {"consume refused, date kept", OCP_ROLE_MEDICAL, run_consume_counter, NULL, 0,
     OCP_E_NOT_ENTITLED, prepare_refills_used_up, (FIX_DAY + 60) * 1440u},
    {"grant", OCP_ROLE_ISSUER, run_grant, NULL, 0, OCP_OK, NULL, 0},
    {"credit", OCP_ROLE_ISSUER, run_credit, NULL, 0, OCP_OK, NULL, 0},
    {"revoke", OCP_ROLE_ISSUER, run_revoke, NULL, 0, OCP_OK, NULL, 0},
    {"update holder", 0, NULL, desk_update_holder, 0, OCP_OK, NULL, 0},
    {"renew in place", 0, NULL, desk_renew, 0, OCP_OK, NULL, 0},
    {"key change", OCP_ROLE_ISSUER, run_key_change, NULL, 0, OCP_OK, NULL, 0},
    {"block", OCP_ROLE_ISSUER, run_block, NULL, 0, OCP_OK, NULL, 0},
    {"unblock card", OCP_ROLE_ISSUER, run_unblock_card, NULL, 0, OCP_OK, prepare_blocked, 0},
    {"terminate", OCP_ROLE_ISSUER, run_terminate, NULL, 0, OCP_OK, NULL, 0},
    {"date reset", OCP_ROLE_ISSUER, run_date, NULL, 0, OCP_OK, NULL, 0},
    {"PIN unblock", OCP_ROLE_ISSUER, run_unblock_pin, NULL, 0, OCP_OK, NULL, 0},
    {"PIN verify wrong", OCP_ROLE_KIOSK, run_verify_wrong, NULL, 0, OCP_E_PIN_WRONG, NULL, 0},
    {"PIN last try wrong", OCP_ROLE_KIOSK, run_verify_wrong, NULL, 0, OCP_E_PIN_BLOCKED, prepare_pin_one_try, 0},
    {"PIN verify right", OCP_ROLE_KIOSK, run_verify_right, NULL, 1, OCP_OK, NULL, 0},
    {"PIN change", OCP_ROLE_KIOSK, run_change_pin, NULL, 1, OCP_OK, NULL, 0},
};

static const unsigned torn_lengths[] = {0, 1, 32, 63};

/* Power the card up from the case's starting state, open the case's
 * session (noting its challenge) and run the command. */
static ocp_status start_and_run(const struct tear_case *c,
                                unsigned long cut_at, unsigned torn)
{
    ocp_select_info info;
    ocp_session *s = NULL;
    ocp_status st;
    port_test_set_image(base_image);
    timeline_start();
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    if (c->desk != NULL) {
        writes_at_start = port_test_writes();
        if (cut_at)
            port_test_arm_cut(cut_at, torn);
        return c->desk();
    }
    assert_int_equal(ocp_open_role(fx.t, fx.ks, c->role, 0x1000u + c->role,
                                   c->when ? c->when : FIX_NOW, &info, NULL,
                                   &s),
                     OCP_OK);
    challenge_seen(info.challenge);
    writes_at_start = port_test_writes();
    if (cut_at)
        port_test_arm_cut(cut_at, torn);
    st = c->run(s);
    ocp_session_close(s);
    return st;
}

static void sweep(const struct tear_case *c)
{
    struct snapshot old_state, new_state, got;
    unsigned long writes, k;
    unsigned t, points = 0;

    if (c->prepare != NULL)
        c->prepare();
    else
        memcpy(base_image, issued_image, sizeof base_image);
    port_test_set_image(base_image);
    timeline_start();
    snapshot(&old_state);
    assert_int_equal(start_and_run(c, 0, 0), c->expect);
    writes = port_test_writes() - writes_at_start;
    snapshot(&new_state);
    assert_true(writes >= 1);

    for (k = 1; k <= writes; k++) {
        for (t = 0; t < sizeof torn_lengths / sizeof torn_lengths[0]; t++) {
            ocp_status st = start_and_run(c, k, torn_lengths[t]);
            /* Desk jobs may see the cut as a refused reconnection. */
            if (c->desk == NULL)
                assert_int_equal(st, OCP_E_CARD_REMOVED);
            else
                assert_int_not_equal(st, OCP_OK);
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
    printf("tear %-20s writes %lu cut points %u\n", c->name, writes,
           points);
    cut_points_total += points;
}

/* The DRBG reserves its next block range in NVM before the first challenge
 * of a power cycle.  Cut that reservation at every point: the challenges
 * after power-up must differ from those of the power cycle before. */
static void test_drbg_reservation_cut(void **state)
{
    ocp_select_info info;
    unsigned long writes, k;
    unsigned t, points = 0;
    (void)state;
    memcpy(base_image, issued_image, sizeof base_image);
    port_test_set_image(base_image);
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    writes = port_test_writes();
    assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
    writes = port_test_writes() - writes;
    assert_true(writes >= 1);
    for (k = 1; k <= writes; k++) {
        for (t = 0; t < sizeof torn_lengths / sizeof torn_lengths[0]; t++) {
            port_test_set_image(base_image);
            timeline_start();
            assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
            assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
            challenge_seen(info.challenge);
            assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
            port_test_arm_cut(k, torn_lengths[t]);
            assert_int_equal(ocp_select(fx.t, &info), OCP_E_CARD_REMOVED);
            port_test_power_up();
            assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
            assert_int_equal(ocp_select(fx.t, &info), OCP_OK);
            challenge_seen(info.challenge);
            points++;
        }
    }
    printf("tear %-20s writes %lu cut points %u\n", "DRBG reservation",
           writes, points);
    cut_points_total += points;
}

static void test_sweep_every_command(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        sweep(&cases[i]);
    printf("tear_challenges_checked %lu challenges\n", challenges_checked);
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
    printf("tear %-20s writes %lu cut points %lu, each resumed\n",
           "personalise (issue)", total, total);
    cut_points_total += total;
    printf("tear_cut_points_total %lu points\n", cut_points_total);
}

static int setup(void **state)
{
    (void)state;
    /* No entropy, as on a chip without a TRNG: fresh challenges then rest
     * on the DRBG counter alone, which is what the sweep checks. */
    port_test_set_entropy(0);
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        return -1;
    port_test_get_image(issued_image);
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
        cmocka_unit_test(test_drbg_reservation_cut),
        cmocka_unit_test(test_issue_resumes_after_any_cut),
    };
    return cmocka_run_group_tests_name("tear", tests, setup, teardown);
}
