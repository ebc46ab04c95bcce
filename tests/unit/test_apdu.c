/*
 * libocp against a hostile or broken card: a scripted fake transport
 * answers with whatever each row says, and the APDU layer must turn every
 * bad answer into an error — never an overflow, never a loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ocp/card.h"
#include "ocp_wire.h"

/* Up to four scripted answers; each a length and bytes. */
struct script {
    size_t n;
    size_t len[4];
    uint8_t bytes[4][300];
    ocp_status status[4];
    size_t used;
};

static ocp_status fake_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct script *s = t->ctx;
    size_t i = s->used++;
    (void)capdu;
    (void)clen;
    if (i >= s->n)
        return OCP_E_CARD_REMOVED; /* the card went silent */
    if (s->status[i] != OCP_OK)
        return s->status[i];
    if (s->len[i] > *rlen)
        return OCP_E_BUFFER;
    memcpy(rapdu, s->bytes[i], s->len[i]);
    *rlen = s->len[i];
    return OCP_OK;
}

static ocp_status nothing(ocp_transport *t)
{
    (void)t;
    return OCP_OK;
}

static void no_close(ocp_transport *t)
{
    (void)t;
}

static const struct ocp_transport_ops fake_ops = {fake_transmit, nothing,
                                                  nothing, nothing, no_close};

static void answer(struct script *s, const char *hex)
{
    size_t i = s->n++, n = 0;
    while (hex[0] && hex[1]) {
        unsigned v;
        if (hex[0] == ' ') {
            hex++;
            continue;
        }
        v = (unsigned)((hex[0] <= '9' ? hex[0] - '0' : hex[0] - 'A' + 10) << 4 |
                       (hex[1] <= '9' ? hex[1] - '0' : hex[1] - 'A' + 10));
        s->bytes[i][n++] = (uint8_t)v;
        hex += 2;
    }
    s->len[i] = n;
    s->status[i] = OCP_OK;
}

static const uint8_t select_apdu[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0,
                                      0x4F, 0x43, 0x50, 0x01, 0x00};

struct transmit_case {
    const char *name;
    const char *answers[3];
    ocp_status expect;
    uint16_t sw;
    size_t data_len;
};

static const struct transmit_case transmit_cases[] = {
    {"plain 9000", {"9000"}, OCP_OK, 0x9000, 0},
    {"data and 9000", {"0102039000"}, OCP_OK, 0x9000, 3},
    {"one byte only", {"90"}, OCP_E_BAD_RESPONSE, 0, 0},
    {"empty answer", {""}, OCP_E_BAD_RESPONSE, 0, 0},
    {"6Cxx then the data", {"6C03", "AABBCC9000"}, OCP_OK, 0x9000, 3},
    {"6Cxx twice: a loop", {"6C03", "6C04"}, OCP_E_BAD_RESPONSE, 0, 0},
    {"61xx then the data", {"6102", "AABB9000"}, OCP_OK, 0x9000, 2},
    {"61xx twice: a loop", {"6102", "6102"}, OCP_E_BAD_RESPONSE, 0, 0},
    {"61xx and the card goes silent", {"6102"}, OCP_E_CARD_REMOVED, 0, 0},
};

static void test_transmit_table(void **state)
{
    size_t i, k;
    (void)state;
    for (i = 0; i < sizeof transmit_cases / sizeof transmit_cases[0]; i++) {
        const struct transmit_case *c = &transmit_cases[i];
        struct script s;
        ocp_transport t = {&fake_ops, &s};
        uint8_t data[16];
        size_t len = sizeof data;
        uint16_t sw = 0;
        memset(&s, 0, sizeof s);
        for (k = 0; k < 3 && c->answers[k]; k++)
            answer(&s, c->answers[k]);
        print_message("%s\n", c->name);
        assert_int_equal(ocp_transmit(&t, select_apdu, sizeof select_apdu,
                                      data, &len, &sw),
                         c->expect);
        if (c->expect == OCP_OK) {
            assert_int_equal(sw, c->sw);
            assert_int_equal(len, c->data_len);
        }
        assert_true(s.used <= 2);
    }
}

/* 6Cxx to a command without Le (case 3): nothing to correct, no resend
 * that would overwrite its last data byte. */
static void test_6c_without_le(void **state)
{
    static const uint8_t case3[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0,
                                    0x4F, 0x43, 0x50, 0x01};
    struct script s;
    ocp_transport t = {&fake_ops, &s};
    uint8_t data[16];
    size_t len = sizeof data;
    uint16_t sw = 0;
    (void)state;
    memset(&s, 0, sizeof s);
    answer(&s, "6C1C");
    answer(&s, "9000");
    assert_int_equal(ocp_transmit(&t, case3, sizeof case3, data, &len, &sw),
                     OCP_OK);
    assert_int_equal(sw, 0x6C1C);
    assert_int_equal(s.used, 1);
}

/* More data than the caller's buffer: an error, nothing written past it. */
static void test_answer_longer_than_buffer(void **state)
{
    struct script s;
    ocp_transport t = {&fake_ops, &s};
    uint8_t data[8 + 4];
    size_t len = 8;
    uint16_t sw;
    (void)state;
    memset(&s, 0, sizeof s);
    memset(data, 0xEE, sizeof data);
    answer(&s, "000102030405060708090A0B0C0D0E0F9000");
    assert_int_equal(ocp_transmit(&t, select_apdu, sizeof select_apdu, data,
                                  &len, &sw),
                     OCP_E_BAD_RESPONSE);
    assert_int_equal(data[8], 0xEE);
}

/* SELECT answers that break the format are refused. */
static void test_select_malformed(void **state)
{
    static const char *const bad[] = {
        /* 27 bytes: one short */
        "01 0102030405060708 01 02 010101010101010101 A1A2A3A4A5A6A7 9000",
        /* 29 bytes: one too many */
        "01 0102030405060708 01 02 010101010101010101 A1A2A3A4A5A6A7A8 00 9000",
        /* format 02 */
        "02 0102030405060708 01 02 010101010101010101 A1A2A3A4A5A6A7A8 9000",
        /* state 07 */
        "01 0102030405060708 01 07 010101010101010101 A1A2A3A4A5A6A7A8 9000",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct script s;
        ocp_transport t = {&fake_ops, &s};
        ocp_select_info info;
        memset(&s, 0, sizeof s);
        answer(&s, bad[i]);
        assert_int_equal(ocp_select(&t, &info), OCP_E_BAD_RESPONSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transmit_table),
        cmocka_unit_test(test_answer_longer_than_buffer),
        cmocka_unit_test(test_6c_without_le),
        cmocka_unit_test(test_select_malformed),
    };
    return cmocka_run_group_tests_name("apdu", tests, NULL, NULL);
}
