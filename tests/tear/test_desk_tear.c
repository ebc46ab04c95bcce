/*
 * The desk's multi-command jobs under card pulls: issuance, and renewal
 * onto a new card (two cards in two readers).  The card is pulled before
 * every APDU of the job and at every NVM write it makes (cleanly and half
 * way through a page); then the job is run again.  Each time the cards end
 * either untouched or complete, the retry finishes the job, and never are
 * two cards usable at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "ocp/trace.h"
#include "ocp_card.h"
#include "ocp_crypto.h"
#include "port_test.h"

/* ---- a transport the test can pull the card from ----------------------- */

static long pull_countdown; /* pull before this many more APDUs; <=0: never */

struct pullable {
    ocp_transport t;
    ocp_transport *inner;
};

static ocp_status pull_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct pullable *p = t->ctx;
    if (pull_countdown > 0 && --pull_countdown == 0)
        return OCP_E_CARD_REMOVED; /* gone before the command arrived */
    return p->inner->ops->transmit(p->inner, capdu, clen, rapdu, rlen);
}

static ocp_status pull_reset(ocp_transport *t)
{
    struct pullable *p = t->ctx;
    return p->inner->ops->reset(p->inner);
}

static ocp_status pull_nothing(ocp_transport *t)
{
    (void)t;
    return OCP_OK;
}

static void pull_close(ocp_transport *t)
{
    (void)t;
}

static const struct ocp_transport_ops pull_ops = {
    pull_transmit, pull_reset, pull_nothing, pull_nothing, pull_close};

static void pullable(struct pullable *p, ocp_transport *inner)
{
    p->t.ops = &pull_ops;
    p->t.ctx = p;
    p->inner = inner;
}

/* ---- the cards ---------------------------------------------------------- */

static struct card_fixture fx;   /* memory 0: the old (or only) card */
static ocp_transport *second;    /* memory 1: the new card */
static uint8_t base[2][OCP_NVM_SIZE];

static void manufacture_second(void)
{
    static const uint8_t id[8] = {0x4F, 0x43, 0x50, 0x00, 0, 0, 0, 0x2B};
    static const uint8_t batch[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                      8, 9, 10, 11, 12, 13, 14, 15};
    uint8_t div[OCP_DIV_INPUT_LEN], transport[16], seed[16] = {1};
    port_test_select(1);
    port_test_erase();
    ocp_div_input(id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, batch, div, sizeof div, transport);
    assert_int_equal(ocp_card_manufacture(id, transport, seed), OCP_CARD_OK);
    port_test_select(0);
    assert_int_equal(ocp_inproc_open_memory(1, &second), OCP_OK);
}

static void save(void)
{
    port_test_select(0);
    port_test_get_image(base[0]);
    port_test_select(1);
    port_test_get_image(base[1]);
}

static void restore(void)
{
    port_test_disarm();
    port_test_power_up();
    port_test_select(0);
    port_test_set_image(base[0]);
    port_test_select(1);
    port_test_set_image(base[1]);
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(ocp_inproc_power_cycle(second), OCP_OK);
}

/* Re-insert both cards after a pull or a cut. */
static void reinsert(void)
{
    port_test_disarm();
    port_test_power_up();
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    assert_int_equal(ocp_inproc_power_cycle(second), OCP_OK);
}

static uint8_t state_of(ocp_transport *t)
{
    ocp_select_info info;
    assert_int_equal(ocp_select(t, &info), OCP_OK);
    return info.state;
}

static uint32_t balance_of(ocp_transport *t)
{
    ocp_session *s;
    ocp_entitlement e[16];
    size_t n = 16, i;
    uint32_t fen = 0xFFFFFFFFu;
    assert_int_equal(ocp_open_role(t, fx.ks, OCP_ROLE_ISSUER, 1, FIX_NOW,
                                   NULL, NULL, &s),
                     OCP_OK);
    assert_int_equal(ocp_read_entitlements(s, e, &n), OCP_OK);
    for (i = 0; i < n; i++)
        if (e[i].service == SVC_DEVICE)
            fen = e[i].remaining;
    ocp_session_close(s);
    return fen;
}

/* ---- issuance ------------------------------------------------------------ */

static void test_issue_pulled_at_every_apdu(void **state)
{
    ocp_transport *traced;
    ocp_trace_stats st;
    struct pullable p;
    unsigned long apdus, n;
    (void)state;

    /* How many APDUs a whole issuance takes. */
    assert_int_equal(fixture_blank(&fx), 0);
    port_test_get_image(base[0]);
    assert_int_equal(ocp_trace_wrap(fx.t, NULL, &traced), OCP_OK);
    fx.t = traced;
    assert_int_equal(fixture_issue(&fx, OCP_SUITE_AES), 0);
    ocp_trace_get(traced, &st);
    apdus = st.exchanges;
    fixture_free(&fx);

    for (n = 1; n <= apdus; n++) {
        ocp_transport *card;
        assert_int_equal(fixture_blank(&fx), 0);
        card = fx.t;
        pullable(&p, card);
        fx.t = &p.t;
        pull_countdown = (long)n;
        assert_int_not_equal(fixture_issue(&fx, OCP_SUITE_AES), 0);
        pull_countdown = 0;
        fx.t = card;
        assert_int_equal(ocp_inproc_power_cycle(card), OCP_OK);
        assert_int_equal(fixture_issue(&fx, OCP_SUITE_AES), 0);
        assert_int_equal(state_of(card), OCP_STATE_ACTIVE);
        assert_int_equal(balance_of(card), 500000);
        fixture_free(&fx);
    }
    printf("issue: pulled before each of %lu APDUs, each finished by a "
           "retry\n",
           apdus);
}

/* ---- renewal onto a new card ---------------------------------------------- */

#define OLD_BALANCE (500000u - 120000u)

static int setup_renewal(void **state)
{
    ocp_session *s;
    ocp_tx_result tx;
    (void)state;
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        return -1;
    if (fixture_session(&fx, OCP_ROLE_ASSIST, &s) != OCP_OK ||
        ocp_consume(s, SVC_DEVICE, 120000, 1, &tx) != OCP_OK)
        return -1;
    ocp_session_close(s);
    manufacture_second();
    save();
    return 0;
}

static int teardown_renewal(void **state)
{
    (void)state;
    if (second)
        second->ops->close(second);
    second = NULL;
    fixture_free(&fx);
    port_test_select(0);
    return 0;
}

static ocp_status renew(ocp_transport *old_t, ocp_transport *new_t)
{
    return ocp_renew_onto(old_t, new_t, fx.ks, FIX_DAY + 3000, "1357", 1,
                          FIX_NOW, NULL);
}

/* After an interrupted renewal: never two usable cards; then a retry
 * finishes, with the balance carried exactly once. */
static void check_and_finish(const char *how, unsigned long at)
{
    uint8_t old_state = state_of(fx.t), new_state = state_of(second);
    if (old_state == OCP_STATE_ACTIVE && new_state == OCP_STATE_ACTIVE)
        fail_msg("%s %lu: two usable cards", how, at);
    assert_int_equal(renew(fx.t, second), OCP_OK);
    assert_int_equal(state_of(fx.t), OCP_STATE_TERMINATED);
    assert_int_equal(state_of(second), OCP_STATE_ACTIVE);
    assert_int_equal(balance_of(second), OLD_BALANCE);
}

static void test_renewal_pulled_at_every_apdu(void **state)
{
    ocp_transport *t_old, *t_new;
    struct pullable p_old, p_new;
    ocp_trace_stats a, b;
    unsigned long apdus, n;
    (void)state;

    restore();
    assert_int_equal(ocp_trace_wrap(fx.t, NULL, &t_old), OCP_OK);
    assert_int_equal(ocp_trace_wrap(second, NULL, &t_new), OCP_OK);
    assert_int_equal(renew(t_old, t_new), OCP_OK);
    ocp_trace_get(t_old, &a);
    ocp_trace_get(t_new, &b);
    apdus = a.exchanges + b.exchanges;
    /* The wrappers own the cards now: keep them as the fixture's. */
    fx.t = t_old;
    second = t_new;
    for (n = 1; n <= apdus; n++) {
        port_test_disarm();
        port_test_power_up();
        port_test_select(0);
        port_test_set_image(base[0]);
        port_test_select(1);
        port_test_set_image(base[1]);
        assert_int_equal(t_old->ops->reset(t_old), OCP_OK);
        assert_int_equal(t_new->ops->reset(t_new), OCP_OK);
        pullable(&p_old, t_old);
        pullable(&p_new, t_new);
        pull_countdown = (long)n;
        assert_int_not_equal(renew(&p_old.t, &p_new.t), OCP_OK);
        pull_countdown = 0;
        assert_int_equal(t_old->ops->reset(t_old), OCP_OK);
        assert_int_equal(t_new->ops->reset(t_new), OCP_OK);
        check_and_finish("APDU", n);
    }
    printf("renew onto a new card: pulled before each of %lu APDUs\n",
           apdus);
}

static void test_renewal_cut_at_every_write(void **state)
{
    unsigned long writes, k;
    static const unsigned torn[] = {0, 32};
    unsigned t, points = 0;
    (void)state;

    restore();
    writes = port_test_writes();
    assert_int_equal(renew(fx.t, second), OCP_OK);
    writes = port_test_writes() - writes;
    for (k = 1; k <= writes; k++) {
        for (t = 0; t < 2; t++) {
            restore();
            port_test_arm_cut(k, torn[t]);
            assert_int_not_equal(renew(fx.t, second), OCP_OK);
            reinsert();
            check_and_finish("write", k);
            points++;
        }
    }
    printf("renew onto a new card: %lu writes, %u cut points\n", writes,
           points);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_pulled_at_every_apdu),
        cmocka_unit_test_setup_teardown(test_renewal_cut_at_every_write,
                                        setup_renewal, teardown_renewal),
        cmocka_unit_test_setup_teardown(test_renewal_pulled_at_every_apdu,
                                        setup_renewal, teardown_renewal),
    };
    return cmocka_run_group_tests_name("desk_tear", tests, NULL, NULL);
}
