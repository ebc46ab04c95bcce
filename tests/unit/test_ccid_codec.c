/*
 * The USB CCID codec (hostlib/src/ccid_codec.c) against the message
 * layouts of the CCID specification rev 1.1 (sections 6.1, 6.2, 6.3 and
 * 5.1), table-driven: each command byte by byte, each response field, and
 * the malformed responses a hostile or broken reader sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ccid_codec.h"
#include "ccid_timing.h"

/* ---- commands (PC_to_RDR), spec section 6.1 ---------------------------- */

static void test_encode_commands(void **state)
{
    static const uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x00, 0x05,
                                   0xF0, 0x4F, 0x43, 0x50, 0x01};
    /* Expected bytes written out from the specification's tables. */
    static const uint8_t power_on[] = {0x62, 0, 0, 0, 0, 0x00, 0x07,
                                       0x01, 0, 0};
    static const uint8_t power_off[] = {0x63, 0, 0, 0, 0, 0x01, 0xFF,
                                        0, 0, 0};
    static const uint8_t slot_status[] = {0x65, 0, 0, 0, 0, 0x00, 0x80,
                                          0, 0, 0};
    static const uint8_t xfr[] = {0x6F, 0x0A, 0, 0, 0, 0x00, 0x12, 0, 0, 0,
                                  0x00, 0xA4, 0x04, 0x00, 0x05,
                                  0xF0, 0x4F, 0x43, 0x50, 0x01};
    uint8_t out[CCID_MSG_MAX];
    size_t len = 0;
    (void)state;

    assert_int_equal(ccid_encode_power_on(0, 7, 1, out, sizeof out, &len),
                     CCID_OK);
    assert_int_equal(len, sizeof power_on);
    assert_memory_equal(out, power_on, len);

    assert_int_equal(ccid_encode_power_off(1, 0xFF, out, sizeof out, &len),
                     CCID_OK);
    assert_int_equal(len, sizeof power_off);
    assert_memory_equal(out, power_off, len);

    assert_int_equal(ccid_encode_get_slot_status(0, 0x80, out, sizeof out,
                                                 &len),
                     CCID_OK);
    assert_memory_equal(out, slot_status, sizeof slot_status);

    assert_int_equal(ccid_encode_xfr_block(0, 0x12, apdu, sizeof apdu, out,
                                           sizeof out, &len),
                     CCID_OK);
    assert_int_equal(len, sizeof xfr);
    assert_memory_equal(out, xfr, len);

    {
        /* PC_to_RDR_Abort: no data, the bSeq of the class request. */
        static const uint8_t abort_msg[] = {0x72, 0, 0, 0, 0, 0x00, 0x33,
                                            0, 0, 0};
        assert_int_equal(ccid_encode_abort(0, 0x33, out, sizeof out, &len),
                         CCID_OK);
        assert_int_equal(len, sizeof abort_msg);
        assert_memory_equal(out, abort_msg, len);
    }

    /* One byte short of room: refused, nothing claimed written. */
    assert_int_equal(ccid_encode_xfr_block(0, 0x12, apdu, sizeof apdu, out,
                                           sizeof xfr - 1, &len),
                     CCID_E_BUFFER);
    assert_int_equal(ccid_encode_power_on(0, 0, 0, out, 9, &len),
                     CCID_E_BUFFER);
}

static void test_encode_long_apdu_le32(void **state)
{
    uint8_t apdu[261], out[CCID_MSG_MAX];
    size_t len;
    (void)state;
    memset(apdu, 0x5A, sizeof apdu);
    assert_int_equal(ccid_encode_xfr_block(0, 1, apdu, sizeof apdu, out,
                                           sizeof out, &len),
                     CCID_OK);
    /* dwLength 261 = 0x00000105, little-endian. */
    assert_int_equal(out[1], 0x05);
    assert_int_equal(out[2], 0x01);
    assert_int_equal(out[3], 0x00);
    assert_int_equal(out[4], 0x00);
    assert_int_equal(len, 271);
    assert_int_equal(ccid_get_le32(out + 1), 261);
}

/* ---- responses (RDR_to_PC), spec section 6.2 --------------------------- */

struct response_case {
    const char *name;
    uint8_t msg[24];
    size_t len;
    ccid_result decode;   /* ccid_decode_response */
    ccid_result check;    /* ccid_check_response(type 0x80, slot 0, seq 5) */
    uint8_t icc, cmd, error, param;
    size_t data_len;
};

static const struct response_case responses[] = {
    {"DataBlock, ATR", {0x80, 4, 0, 0, 0, 0, 5, 0x00, 0, 0, 0x3B, 0x80, 0x80,
                        0x01}, 14, CCID_OK, CCID_OK, 0, 0, 0, 0, 4},
    {"DataBlock, R-APDU 9000", {0x80, 2, 0, 0, 0, 0, 5, 0, 0, 0, 0x90, 0x00},
     12, CCID_OK, CCID_OK, 0, 0, 0, 0, 2},
    {"time extension, BWT x 3", {0x80, 0, 0, 0, 0, 0, 5, 0x80, 3, 0}, 10,
     CCID_OK, CCID_OK, 0, 2, 3, 0, 0},
    {"failed: ICC mute, no card", {0x80, 0, 0, 0, 0, 0, 5, 0x42, 0xFE, 0},
     10, CCID_OK, CCID_OK, 2, 1, 0xFE, 0, 0},
    {"failed: card inactive", {0x80, 0, 0, 0, 0, 0, 5, 0x41, 0xFB, 0}, 10,
     CCID_OK, CCID_OK, 1, 1, 0xFB, 0, 0},
    {"failed SlotStatus answers too", {0x81, 0, 0, 0, 0, 0, 5, 0x40, 0xE0, 0},
     10, CCID_OK, CCID_OK, 0, 1, 0xE0, 0, 0},
    {"chained DataBlock", {0x80, 2, 0, 0, 0, 0, 5, 0, 0, 1, 0x90, 0x00}, 12,
     CCID_OK, CCID_OK, 0, 0, 0, 1, 2},
    /* Malformed. */
    {"empty", {0}, 0, CCID_E_SHORT, CCID_OK, 0, 0, 0, 0, 0},
    {"9 bytes", {0x80, 0, 0, 0, 0, 0, 5, 0, 0}, 9, CCID_E_SHORT, CCID_OK, 0,
     0, 0, 0, 0},
    {"data shorter than dwLength", {0x80, 3, 0, 0, 0, 0, 5, 0, 0, 0, 0x90,
                                    0x00}, 12, CCID_E_SHORT, CCID_OK, 0, 0,
     0, 0, 0},
    {"bytes after the message", {0x80, 1, 0, 0, 0, 0, 5, 0, 0, 0, 0x90,
                                 0x00}, 12, CCID_E_LONG, CCID_OK, 0, 0, 0, 0,
     0},
    {"dwLength overflow", {0x80, 0xF0, 0xFF, 0xFF, 0xFF, 0, 5, 0, 0, 0, 0x90,
                           0x00}, 12, CCID_E_LONG, CCID_OK, 0, 0, 0, 0, 0},
    {"dwLength over the bound", {0x80, 0x01, 0x02, 0, 0, 0, 5, 0, 0, 0}, 10,
     CCID_E_LONG, CCID_OK, 0, 0, 0, 0, 0},
    {"bStatus RFU bit 2", {0x80, 0, 0, 0, 0, 0, 5, 0x04, 0, 0}, 10,
     CCID_E_STATUS, CCID_OK, 0, 0, 0, 0, 0},
    {"bmICCStatus 3", {0x80, 0, 0, 0, 0, 0, 5, 0x03, 0, 0}, 10,
     CCID_E_STATUS, CCID_OK, 0, 0, 0, 0, 0},
    {"bmCommandStatus 3", {0x80, 0, 0, 0, 0, 0, 5, 0xC0, 0, 0}, 10,
     CCID_E_STATUS, CCID_OK, 0, 0, 0, 0, 0},
    {"SlotStatus with data", {0x81, 1, 0, 0, 0, 0, 5, 0, 0, 0, 0x00}, 11,
     CCID_E_LONG, CCID_OK, 0, 0, 0, 0, 0},
    /* Well formed, but not the answer. */
    {"wrong seq", {0x80, 0, 0, 0, 0, 0, 4, 0, 0, 0}, 10, CCID_OK, CCID_E_SEQ,
     0, 0, 0, 0, 0},
    {"wrong slot", {0x80, 0, 0, 0, 0, 1, 5, 0, 0, 0}, 10, CCID_OK,
     CCID_E_SLOT, 0, 0, 0, 0, 0},
    {"wrong type: OK SlotStatus", {0x81, 0, 0, 0, 0, 0, 5, 0, 0, 0}, 10,
     CCID_OK, CCID_E_TYPE, 0, 0, 0, 0, 0},
    {"wrong type: NotifySlotChange", {0x50, 0, 0, 0, 0, 0, 5, 0, 0, 0}, 10,
     CCID_OK, CCID_E_TYPE, 0, 0, 0, 0, 0},
};

static void test_decode_responses(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof responses / sizeof responses[0]; i++) {
        const struct response_case *c = &responses[i];
        struct ccid_response r;
        print_message("  %s\n", c->name);
        assert_int_equal(ccid_decode_response(c->msg, c->len, 258, &r),
                         c->decode);
        if (c->decode != CCID_OK)
            continue;
        assert_int_equal(ccid_check_response(&r, 0x80, 0, 5), c->check);
        assert_int_equal(r.icc_status, c->icc);
        assert_int_equal(r.cmd_status, c->cmd);
        assert_int_equal(r.error, c->error);
        assert_int_equal(r.param, c->param);
        assert_int_equal(r.data_len, c->data_len);
        if (c->data_len)
            assert_ptr_equal(r.data, c->msg + 10);
        else
            assert_null(r.data);
    }
}

/* Every truncation of a good message is refused as short, never read past. */
static void test_every_truncation(void **state)
{
    const struct response_case *c = &responses[0];
    size_t n;
    (void)state;
    for (n = 0; n < c->len; n++) {
        struct ccid_response r;
        uint8_t copy[24];
        memcpy(copy, c->msg, n);
        assert_int_equal(ccid_decode_response(copy, n, 258, &r),
                         CCID_E_SHORT);
    }
}

/* ---- interrupt messages, spec section 6.3 ------------------------------- */

static void test_slot_change(void **state)
{
    static const struct {
        uint8_t msg[4];
        size_t len;
        uint8_t slot;
        ccid_result want;
        int present, changed;
    } cases[] = {
        {{0x50, 0x03}, 2, 0, CCID_OK, 1, 1},       /* inserted */
        {{0x50, 0x02}, 2, 0, CCID_OK, 0, 1},       /* removed */
        {{0x50, 0x01}, 2, 0, CCID_OK, 1, 0},       /* no change */
        {{0x50, 0x0C}, 2, 1, CCID_OK, 1, 1},       /* slot 1 bits 2-3 */
        {{0x50, 0x0C}, 2, 0, CCID_OK, 0, 0},
        {{0x50, 0x00, 0x02}, 3, 4, CCID_OK, 0, 1}, /* slot 4: 2nd byte */
        {{0x50, 0x00}, 2, 4, CCID_E_SLOT, 0, 0},   /* too short for it */
        {{0x50}, 1, 0, CCID_E_SHORT, 0, 0},
        {{0x51, 0x00, 0x01, 0x01}, 4, 0, CCID_E_TYPE, 0, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int present = -1, changed = -1;
        assert_int_equal(ccid_decode_slot_change(cases[i].msg, cases[i].len,
                                                 cases[i].slot, &present,
                                                 &changed),
                         cases[i].want);
        if (cases[i].want == CCID_OK) {
            assert_int_equal(present, cases[i].present);
            assert_int_equal(changed, cases[i].changed);
        }
    }
}

/* ---- the class descriptor, spec section 5.1 ----------------------------- */

/* A short-APDU reader's descriptor, byte by byte. */
static const uint8_t desc_short_apdu[54] = {
    0x36, 0x21, 0x10, 0x01, 0x00, 0x07, 0x03, 0x00, 0x00, 0x00, /* ..T=0,1 */
    0xA0, 0x0F, 0x00, 0x00, 0xA0, 0x0F, 0x00, 0x00, 0x00,       /* clocks */
    0x00, 0x2A, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00,       /* rates */
    0xFE, 0x00, 0x00, 0x00,                                     /* IFSD */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* sync, mech */
    0xBA, 0x04, 0x02, 0x00,                                     /* features */
    0x0F, 0x01, 0x00, 0x00,                                     /* 271 */
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01};

static void test_class_descriptor(void **state)
{
    static const struct {
        uint32_t features;
        ccid_level level;
    } levels[] = {
        {0x000004BAu, CCID_LEVEL_CHARACTER},
        {0x000104BAu, CCID_LEVEL_TPDU},
        {0x000204BAu, CCID_LEVEL_SHORT_APDU},
        {0x000404BAu, CCID_LEVEL_EXTENDED_APDU},
        {0x000604BAu, CCID_LEVEL_EXTENDED_APDU},
    };
    struct ccid_features f;
    uint8_t d[54];
    size_t i;
    (void)state;

    assert_int_equal(ccid_parse_class_descriptor(desc_short_apdu, 54, &f),
                     CCID_OK);
    assert_int_equal(f.bcd_ccid, 0x0110);
    assert_int_equal(f.max_slot_index, 0);
    assert_int_equal(f.voltage_support, 7);
    assert_int_equal(f.protocols, 3);
    assert_int_equal(f.features, 0x000204BA);
    assert_int_equal(f.max_message, 271);
    assert_int_equal(f.max_busy_slots, 1);
    assert_int_equal(f.default_clock, 4000);
    assert_int_equal(f.data_rate, 10752);
    assert_int_equal(f.max_ifsd, 254);
    assert_int_equal(ccid_exchange_level(&f), CCID_LEVEL_SHORT_APDU);

    for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        memcpy(d, desc_short_apdu, 54);
        ccid_put_le32(d + 40, levels[i].features);
        assert_int_equal(ccid_parse_class_descriptor(d, 54, &f), CCID_OK);
        assert_int_equal(ccid_exchange_level(&f), levels[i].level);
    }

    /* Pre-1.0 readers' descriptor type 0xFF is accepted. */
    memcpy(d, desc_short_apdu, 54);
    d[1] = 0xFF;
    assert_int_equal(ccid_parse_class_descriptor(d, 54, &f), CCID_OK);
    /* Malformed: short, wrong bLength, wrong type, tiny messages. */
    assert_int_equal(ccid_parse_class_descriptor(desc_short_apdu, 53, &f),
                     CCID_E_DESCRIPTOR);
    d[1] = 0x24;
    assert_int_equal(ccid_parse_class_descriptor(d, 54, &f),
                     CCID_E_DESCRIPTOR);
    memcpy(d, desc_short_apdu, 54);
    d[0] = 0x35;
    assert_int_equal(ccid_parse_class_descriptor(d, 54, &f),
                     CCID_E_DESCRIPTOR);
    memcpy(d, desc_short_apdu, 54);
    ccid_put_le32(d + 44, 9);
    assert_int_equal(ccid_parse_class_descriptor(d, 54, &f),
                     CCID_E_DESCRIPTOR);
}

/*
 * The silence limit (ccid_timing.h): the ATR's waiting times read, then the
 * rule worked out by hand for the descriptor above (4 MHz, 10752 bps,
 * IFSD 254): T=1 BWT at BWI 4 is 1429 ms, T=0 WT at WI 10 is 893 ms, the
 * longest exchange on the wire 602 ms.
 */
static void test_silence_limit(void **state)
{
    static const struct {
        const char *name;
        uint8_t atr[16];
        size_t n;
        int ok, t0, t1;
        unsigned fi, wi, bwi, ifsc;
        uint32_t silence, silence_x2;
    } cases[] = {
        /* T=0 and T=1 offered, all defaults: 11 T=1 blocks of IFSC 32. */
        {"both, defaults", {0x3B, 0x83, 0x80, 0x01, 'O', 'C', 'P', 0x0E}, 8,
         0, 1, 1, 372, 10, 4, 32, 11 * 1429 + 602 + 1000,
         22 * 1429 + 602 + 1000},
        /* No TD1: T=0 only, 6 WT. */
        {"T=0 only", {0x3B, 0x02, 0x14, 0x50}, 4, 0, 1, 0, 372, 10, 4, 32,
         6 * 893 + 602 + 1000, 12 * 893 + 602 + 1000},
        /* TA1 96, TD1 T=1, TD2 T=1 with TA3 FE (IFSC 254), TB3 45. */
        {"T=1, IFSC 254", {0x3B, 0x90, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x00},
         8, 0, 0, 1, 512, 10, 4, 254, 4 * 1429 + 602 + 1000,
         8 * 1429 + 602 + 1000},
        /* BWI 15 is read as 9: BWT 45712 ms. */
        {"BWI over 9", {0x3B, 0x90, 0x96, 0x81, 0x31, 0xFE, 0xF5, 0x00}, 8,
         0, 0, 1, 512, 10, 9, 254, 4 * 45712 + 602 + 1000,
         8 * 45712 + 602 + 1000},
        /* TC2 14: WI 20, WT 1786 ms. */
        {"T=0, WI 20", {0x3B, 0x80, 0x40, 0x14}, 4, 0, 1, 0, 372, 20, 4, 32,
         6 * 1786 + 602 + 1000, 12 * 1786 + 602 + 1000},
        /* Cut inside its interface bytes: defaults, T=0. */
        {"truncated", {0x3B, 0x90, 0x96}, 3, -1, 1, 0, 372, 10, 4, 32,
         6 * 893 + 602 + 1000, 12 * 893 + 602 + 1000},
        {"empty", {0}, 0, -1, 1, 0, 372, 10, 4, 32, 6 * 893 + 602 + 1000,
         12 * 893 + 602 + 1000},
    };
    struct ccid_features f;
    size_t i;
    (void)state;

    assert_int_equal(ccid_parse_class_descriptor(desc_short_apdu, 54, &f),
                     CCID_OK);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ccid_atr_timing t;
        print_message("  %s\n", cases[i].name);
        assert_int_equal(ccid_atr_timing(cases[i].atr, cases[i].n, &t),
                         cases[i].ok);
        assert_int_equal(t.offers_t0, cases[i].t0);
        assert_int_equal(t.offers_t1, cases[i].t1);
        assert_int_equal(t.fi, cases[i].fi);
        assert_int_equal(t.wi, cases[i].wi);
        assert_int_equal(t.bwi, cases[i].bwi);
        assert_int_equal(t.ifsc, cases[i].ifsc);
        assert_int_equal(ccid_silence_ms(&f, &t, 1), cases[i].silence);
        /* bError 0 in a time extension counts as 1. */
        assert_int_equal(ccid_silence_ms(&f, &t, 0), cases[i].silence);
        assert_int_equal(ccid_silence_ms(&f, &t, 2), cases[i].silence_x2);
    }

    {
        /* A descriptor that says nothing: 4 MHz, 9600 bps, IFSD 32. */
        struct ccid_atr_timing t;
        struct ccid_features zero;
        memset(&zero, 0, sizeof zero);
        assert_int_equal(ccid_atr_timing(cases[0].atr, cases[0].n, &t), 0);
        assert_int_equal(ccid_silence_ms(&zero, &t, 1),
                         18 * 1429 + 674 + 1000);
        /* A 1 kHz clock and the largest multiplier: capped, not wrapped. */
        zero.default_clock = 1;
        assert_int_equal(ccid_silence_ms(&zero, &t, 255), 0x7FFFFFFFu);
        /* No ATR read yet (zero timing): the reader alone. */
        memset(&t, 0, sizeof t);
        assert_int_equal(ccid_silence_ms(&f, &t, 1), 602 + 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_commands),
        cmocka_unit_test(test_encode_long_apdu_le32),
        cmocka_unit_test(test_decode_responses),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_slot_change),
        cmocka_unit_test(test_class_descriptor),
        cmocka_unit_test(test_silence_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
