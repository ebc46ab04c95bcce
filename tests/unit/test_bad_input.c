/*
 * Bad input changes nothing.  Every command of the applet is sent malformed,
 * out of range, in the wrong class, unprotected, with broken secure
 * messaging or by a role that may not use it; each answer must be the status
 * word docs/PROTOCOL.md gives, and the whole NVM image (and the test port's
 * write counter) must be the same before and after.  After each case the
 * card must still answer SELECT with 9000.
 *
 * The expected status words come from docs/PROTOCOL.md, not from the
 * firmware.  A row that disagrees with the card does not stop its table:
 * every mismatch is printed with the row's name and the table fails at the
 * end, so one run lists every disagreement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "hostlib_internal.h"
#include "ocp_bytes.h"
#include "ocp_card.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_sm.h"
#include "port_test.h"

/* Row bytes: B(0x00, 0xA4) gives a pointer and a length; S("...") the same
 * for a string literal (without its terminating NUL). */
#define B(...)                                                               \
    (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define S(str) (const uint8_t *)(str), (sizeof(str) - 1u)
#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

#define AID 0xF0, 0x4F, 0x43, 0x50, 0x01
/* MUTUAL AUTHENTICATE data: key version 1, RH, terminal id, date-time,
 * host cryptogram (wrong, but the rows fail earlier). */
#define MA_DATA                                                              \
    0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x0B, 0x00, 0x00,  \
        0x01, 0x00, 0xD7, 0xFA, 0x78, 0, 0, 0, 0, 0, 0, 0, 0
#define MA_DATA_24                                                           \
    0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x0B, 0x00, 0x00,  \
        0x01, 0x00, 0xD7, 0xFA, 0x78, 0, 0, 0, 0, 0, 0, 0

/* Holder TLVs of PUT DATA 0101, valid one by one. */
#define T_NAME "\x01\x03" "ABC"
#define T_CERT "\x02\x14" "11010119800101123X42"
#define T_CAT "\x03\x01\x04"
#define T_GRADE "\x04\x01\x02"
#define T_DIST "\x05\x04\x00\x01\xAE\x19" /* 110105 */
#define T_ALL T_NAME T_CERT T_CAT T_GRADE T_DIST

/* GRANT op 01 data: service domain kind flags from to period limit rem. */
#define ENT(svc_hi, svc_lo, dom, kind, flags, period, lim, rem)              \
    svc_hi, svc_lo, dom, kind, flags, 0x26, 0x48, 0x27, 0xD8, period, 0, 0,  \
        0, lim, 0, 0, 0, rem

#define CLA_ISO 0x00u
#define CLA_PRO 0x80u

static struct card_fixture fx;
static unsigned long cases_walked;
static unsigned long group_cases[6];
static unsigned mismatches;

static uint8_t nvm_before[OCP_NVM_SIZE], nvm_after[OCP_NVM_SIZE];
static unsigned long writes_before;

/* PUT KEY data built at run time: key || KCV, and variants. */
static uint8_t good_key[20], bad_kcv_key[19];

static void mismatch(const char *group, const char *row, const char *fmt,
                     ...)
{
    va_list ap;
    mismatches++;
    fprintf(stderr, "MISMATCH [%s] %s: ", group, row);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void snap(void)
{
    port_test_get_image(nvm_before);
    writes_before = port_test_writes();
}

static void check_nvm(const char *group, const char *row)
{
    size_t i;
    unsigned long writes = port_test_writes();
    port_test_get_image(nvm_after);
    if (writes != writes_before)
        mismatch(group, row, "%lu NVM page write(s)", writes - writes_before);
    for (i = 0; i < OCP_NVM_SIZE; i++) {
        if (nvm_before[i] != nvm_after[i]) {
            mismatch(group, row, "NVM changed, first at page %zu offset %zu",
                     i / OCP_NVM_PAGE_SIZE, i % OCP_NVM_PAGE_SIZE);
            break;
        }
    }
}

static uint16_t raw(const uint8_t *apdu, size_t n, size_t *rlen)
{
    uint8_t r[258];
    size_t dummy;
    return fixture_raw(&fx, apdu, n, r, rlen ? rlen : &dummy);
}

static void check_select(const char *group, const char *row)
{
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, AID, 0x00};
    size_t rlen = 0;
    uint16_t sw = raw(select, sizeof select, &rlen);
    if (sw != 0x9000u || rlen != OCP_SELECT_RESP_LEN)
        mismatch(group, row, "SELECT afterwards: SW %04X, %zu bytes",
                 (unsigned)sw, rlen);
}

/* The end of every case: nothing written, the card still serves. */
static void finish(unsigned group, const char *gname, const char *row)
{
    check_nvm(gname, row);
    check_select(gname, row);
    cases_walked++;
    group_cases[group]++;
}

static void check_sw(const char *group, const char *row, uint16_t got,
                     uint16_t want)
{
    if (got != want)
        mismatch(group, row, "SW %04X, PROTOCOL.md says %04X", (unsigned)got,
                 (unsigned)want);
}

static ocp_status open_role(uint8_t role, uint32_t datetime, ocp_session **s)
{
    return fixture_session_at(&fx, role, 0x1000u + role,
                              datetime ? datetime : FIX_NOW, NULL, s);
}

/* A protected GET DATA status: read-only, allowed to every role. */
static ocp_status status_probe(ocp_session *s, uint16_t *sw)
{
    uint8_t r[64];
    size_t rlen = sizeof r;
    return ocp_session_transmit(s, CLA_ISO, OCP_INS_GET_DATA, 0x01, 0x02,
                                NULL, 0, r, &rlen, sw);
}

/* Is the session over on the card?  The next command of the terminal's
 * session is sent as it would be; a live session answers with an R-MAC
 * (at least 8 bytes), a card without one answers a bare error SW. */
static int session_gone(const ocp_session *s, uint16_t *sw)
{
    static const uint8_t hdr[4] = {0x00, 0xCA, 0x01, 0x02};
    ocp_sm_session copy = s->sm;
    uint8_t apdu[32];
    size_t n = ocp_sm_wrap_command(&copy, hdr, NULL, 0, apdu, sizeof apdu);
    size_t rlen = 99;
    assert_true(n > 0);
    *sw = raw(apdu, n, &rlen);
    return rlen == 0 && *sw != 0x9000u;
}

/* ---- group 1: plain commands ------------------------------------------- */

enum plain_prep {
    PREP_SELECT,       /* SELECT first: no session, a fresh challenge */
    PREP_NO_CHALLENGE, /* SELECT with P2=0C: no session, no challenge */
    PREP_DIRECT        /* a length the transport refuses: call the applet */
};

struct plain_case {
    const char *name;
    const uint8_t *apdu;
    size_t len;
    uint16_t sw;
    uint8_t prep;
    size_t total; /* send this many bytes, padding with 5A (0: len) */
};

static const struct plain_case plain_cases[] = {
    /* SELECT */
    {"SELECT Lc 06, 5 data bytes", B(0x00, 0xA4, 0x04, 0x00, 0x06, AID),
     0x6700, PREP_SELECT, 0},
    {"SELECT Lc 06, 5 data bytes, Le",
     B(0x00, 0xA4, 0x04, 0x00, 0x06, AID, 0x00), 0x6700, PREP_SELECT, 0},
    {"SELECT Lc 04, 5 data bytes", B(0x00, 0xA4, 0x04, 0x00, 0x04, AID),
     0x6700, PREP_SELECT, 0},
    {"SELECT Lc 04, 5 data bytes, Le",
     B(0x00, 0xA4, 0x04, 0x00, 0x04, AID, 0x00), 0x6700, PREP_SELECT, 0},
    {"SELECT Lc 04 with 4 bytes of the AID",
     B(0x00, 0xA4, 0x04, 0x00, 0x04, 0xF0, 0x4F, 0x43, 0x50, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"SELECT byte after Le", B(0x00, 0xA4, 0x04, 0x00, 0x05, AID, 0x00, 0x00),
     0x6700, PREP_SELECT, 0},
    {"SELECT without data (case 1)", B(0x00, 0xA4, 0x04, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"SELECT without data (case 2)", B(0x00, 0xA4, 0x04, 0x00, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"SELECT Lc 00 with data (extended)",
     B(0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x05, AID, 0x00, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"SELECT Lc FF, 261 bytes", B(0x00, 0xA4, 0x04, 0x00, 0xFF, AID), 0x6700,
     PREP_SELECT, 261},
    {"SELECT P1 00", B(0x00, 0xA4, 0x00, 0x00, 0x05, AID, 0x00), 0x6A86,
     PREP_SELECT, 0},
    {"SELECT P1 02", B(0x00, 0xA4, 0x02, 0x00, 0x05, AID, 0x00), 0x6A86,
     PREP_SELECT, 0},
    {"SELECT P2 04", B(0x00, 0xA4, 0x04, 0x04, 0x05, AID, 0x00), 0x6A86,
     PREP_SELECT, 0},
    {"SELECT P2 0D", B(0x00, 0xA4, 0x04, 0x0D, 0x05, AID), 0x6A86,
     PREP_SELECT, 0},
    {"SELECT P2 0C with Le", B(0x00, 0xA4, 0x04, 0x0C, 0x05, AID, 0x00),
     0x6700, PREP_SELECT, 0},
    {"SELECT another AID",
     B(0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0, 0x4F, 0x43, 0x50, 0x02, 0x00),
     0x6A82, PREP_SELECT, 0},
    {"SELECT Le 10, answer is 28 bytes",
     B(0x00, 0xA4, 0x04, 0x00, 0x05, AID, 0x10), 0x6C1C, PREP_SELECT, 0},
    {"SELECT with SM bit (CLA 04)", B(0x04, 0xA4, 0x04, 0x00, 0x05, AID, 0x00),
     0x6882, PREP_SELECT, 0},
    {"SELECT class 80", B(0x80, 0xA4, 0x04, 0x00, 0x05, AID, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"SELECT class 84", B(0x84, 0xA4, 0x04, 0x00, 0x05, AID, 0x00), 0x6E00,
     PREP_SELECT, 0},
    /* GET CHALLENGE */
    {"GET CHALLENGE without Le", B(0x00, 0x84, 0x00, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"GET CHALLENGE with data and Le",
     B(0x00, 0x84, 0x00, 0x00, 0x01, 0xAA, 0x08), 0x6700, PREP_SELECT, 0},
    {"GET CHALLENGE with data, no Le", B(0x00, 0x84, 0x00, 0x00, 0x01, 0xAA),
     0x6700, PREP_SELECT, 0},
    {"GET CHALLENGE byte after Le", B(0x00, 0x84, 0x00, 0x00, 0x08, 0x00),
     0x6700, PREP_SELECT, 0},
    {"GET CHALLENGE Lc 00 with data",
     B(0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA, 0x08), 0x6700,
     PREP_SELECT, 0},
    {"GET CHALLENGE P1 01", B(0x00, 0x84, 0x01, 0x00, 0x08), 0x6A86,
     PREP_SELECT, 0},
    {"GET CHALLENGE P2 01", B(0x00, 0x84, 0x00, 0x01, 0x08), 0x6A86,
     PREP_SELECT, 0},
    {"GET CHALLENGE Le 04", B(0x00, 0x84, 0x00, 0x00, 0x04), 0x6C08,
     PREP_SELECT, 0},
    {"GET CHALLENGE Le 10", B(0x00, 0x84, 0x00, 0x00, 0x10), 0x6C08,
     PREP_SELECT, 0},
    {"GET CHALLENGE with SM bit", B(0x04, 0x84, 0x00, 0x00, 0x08), 0x6882,
     PREP_SELECT, 0},
    {"GET CHALLENGE class 80", B(0x80, 0x84, 0x00, 0x00, 0x08), 0x6E00,
     PREP_SELECT, 0},
    /* MUTUAL AUTHENTICATE (an AES card, so P1 01) */
    {"MUTUAL AUTH role 00", B(0x00, 0x82, 0x01, 0x00, 0x19, MA_DATA, 0x00),
     0x6A86, PREP_SELECT, 0},
    {"MUTUAL AUTH role 09", B(0x00, 0x82, 0x01, 0x09, 0x19, MA_DATA, 0x00),
     0x6A86, PREP_SELECT, 0},
    {"MUTUAL AUTH role FF", B(0x00, 0x82, 0x01, 0xFF, 0x19, MA_DATA, 0x00),
     0x6A86, PREP_SELECT, 0},
    {"MUTUAL AUTH 24 data bytes",
     B(0x00, 0x82, 0x01, 0x02, 0x18, MA_DATA_24, 0x00), 0x6700, PREP_SELECT,
     0},
    {"MUTUAL AUTH 26 data bytes",
     B(0x00, 0x82, 0x01, 0x02, 0x1A, MA_DATA, 0x00, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"MUTUAL AUTH without Le", B(0x00, 0x82, 0x01, 0x02, 0x19, MA_DATA),
     0x6700, PREP_SELECT, 0},
    {"MUTUAL AUTH Lc 1A, 25 data bytes",
     B(0x00, 0x82, 0x01, 0x02, 0x1A, MA_DATA), 0x6700, PREP_SELECT, 0},
    {"MUTUAL AUTH Lc 18, 25 data bytes, Le",
     B(0x00, 0x82, 0x01, 0x02, 0x18, MA_DATA, 0x00), 0x6700, PREP_SELECT, 0},
    {"MUTUAL AUTH byte after Le",
     B(0x00, 0x82, 0x01, 0x02, 0x19, MA_DATA, 0x00, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"MUTUAL AUTH Lc 00 with data",
     B(0x00, 0x82, 0x01, 0x02, 0x00, MA_DATA, 0x00), 0x6700, PREP_SELECT, 0},
    {"MUTUAL AUTH without data (case 1)", B(0x00, 0x82, 0x01, 0x02), 0x6700,
     PREP_SELECT, 0},
    {"MUTUAL AUTH without a card challenge",
     B(0x00, 0x82, 0x01, 0x02, 0x19, MA_DATA, 0x00), 0x6985,
     PREP_NO_CHALLENGE, 0},
    {"MUTUAL AUTH suite 02 on an AES card",
     B(0x00, 0x82, 0x02, 0x02, 0x19, MA_DATA, 0x00), 0x6A86, PREP_SELECT, 0},
    {"MUTUAL AUTH suite 00", B(0x00, 0x82, 0x00, 0x02, 0x19, MA_DATA, 0x00),
     0x6A86, PREP_SELECT, 0},
    {"MUTUAL AUTH suite 03", B(0x00, 0x82, 0x03, 0x02, 0x19, MA_DATA, 0x00),
     0x6A86, PREP_SELECT, 0},
    {"MUTUAL AUTH key version 05",
     B(0x00, 0x82, 0x01, 0x02, 0x19, 0x05, 0x11, 0x22, 0x33, 0x44, 0x55,
       0x66, 0x77, 0x88, 0x0B, 0, 0, 1, 0x00, 0xD7, 0xFA, 0x78, 0, 0, 0, 0,
       0, 0, 0, 0, 0x00),
     0x6A88, PREP_SELECT, 0},
    {"MUTUAL AUTH wrong cryptogram",
     B(0x00, 0x82, 0x01, 0x02, 0x19, MA_DATA, 0x00), 0x6300, PREP_SELECT, 0},
    {"MUTUAL AUTH with SM bit", B(0x04, 0x82, 0x01, 0x02, 0x19, MA_DATA, 0x00),
     0x6882, PREP_SELECT, 0},
    {"MUTUAL AUTH class 80", B(0x80, 0x82, 0x01, 0x02, 0x19, MA_DATA, 0x00),
     0x6E00, PREP_SELECT, 0},
    /* GET DATA public */
    {"GET DATA public without Le", B(0x00, 0xCA, 0x02, 0x01), 0x6700,
     PREP_SELECT, 0},
    {"GET DATA public with data and Le",
     B(0x00, 0xCA, 0x02, 0x01, 0x01, 0x00, 0x00), 0x6700, PREP_SELECT, 0},
    {"GET DATA public with data, no Le", B(0x00, 0xCA, 0x02, 0x01, 0x01, 0x00),
     0x6700, PREP_SELECT, 0},
    {"GET DATA public byte after Le", B(0x00, 0xCA, 0x02, 0x01, 0x00, 0x00),
     0x6700, PREP_SELECT, 0},
    {"GET DATA public Lc 00 with data",
     B(0x00, 0xCA, 0x02, 0x01, 0x00, 0x00, 0x01, 0xAA, 0x00), 0x6700,
     PREP_SELECT, 0},
    {"GET DATA tag 0200", B(0x00, 0xCA, 0x02, 0x00, 0x00), 0x6A88,
     PREP_SELECT, 0},
    {"GET DATA tag 0202 (PUT only)", B(0x00, 0xCA, 0x02, 0x02, 0x00), 0x6A88,
     PREP_SELECT, 0},
    {"GET DATA tag 0205 (PUT only)", B(0x00, 0xCA, 0x02, 0x05, 0x00), 0x6A88,
     PREP_SELECT, 0},
    {"GET DATA tag 0000", B(0x00, 0xCA, 0x00, 0x00, 0x00), 0x6A88,
     PREP_SELECT, 0},
    {"GET DATA tag FFFF", B(0x00, 0xCA, 0xFF, 0xFF, 0x00), 0x6A88,
     PREP_SELECT, 0},
    {"GET DATA public Le 10, answer is 93 bytes",
     B(0x00, 0xCA, 0x02, 0x01, 0x10), 0x6C5D, PREP_SELECT, 0},
    {"GET DATA public class 80", B(0x80, 0xCA, 0x02, 0x01, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"GET DATA public class 84", B(0x84, 0xCA, 0x02, 0x01, 0x00), 0x6E00,
     PREP_SELECT, 0},
    /* Lengths the in-process transport refuses before the card sees them */
    {"2-byte APDU", B(0x00, 0xA4), 0x6700, PREP_DIRECT, 0},
    {"1-byte APDU", B(0x00), 0x6700, PREP_DIRECT, 1},
    {"3-byte APDU", B(0x00, 0xA4, 0x04), 0x6700, PREP_DIRECT, 0},
    {"262-byte APDU", B(0x00, 0xA4, 0x04, 0x00, 0xFF, AID), 0x6700,
     PREP_DIRECT, 262},
    {"300-byte APDU", B(0x00, 0xCA, 0x02, 0x01, 0x00), 0x6700, PREP_DIRECT,
     300},
    /* Classes */
    {"CLA 10", B(0x10, 0xA4, 0x04, 0x00, 0x05, AID, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"CLA A0", B(0xA0, 0xA4, 0x04, 0x00, 0x05, AID, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"CLA 01 (logical channel 1)", B(0x01, 0xA4, 0x04, 0x00, 0x05, AID, 0x00),
     0x6E00, PREP_SELECT, 0},
    {"CLA 03 (logical channel 3)", B(0x03, 0xCA, 0x02, 0x01, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"CLA 40 (further logical channel)", B(0x40, 0xCA, 0x02, 0x01, 0x00),
     0x6E00, PREP_SELECT, 0},
    {"CLA 08 (secure messaging, header not authenticated)",
     B(0x08, 0xCA, 0x02, 0x01, 0x00), 0x6E00, PREP_SELECT, 0},
    {"CLA 0C", B(0x0C, 0xCA, 0x02, 0x01, 0x00), 0x6E00, PREP_SELECT, 0},
    {"CLA 90 (command chaining)", B(0x90, 0x30, 0x00, 0x00, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"CLA FF", B(0xFF, 0xA4, 0x04, 0x00, 0x05, AID, 0x00), 0x6E00,
     PREP_SELECT, 0},
    {"CLA FF INS FF", B(0xFF, 0xFF, 0xFF, 0xFF), 0x6E00, PREP_SELECT, 0},
    /* Instructions */
    {"INS 00", B(0x00, 0x00, 0x00, 0x00), 0x6D00, PREP_SELECT, 0},
    {"INS FE", B(0x00, 0xFE, 0x00, 0x00, 0x00), 0x6D00, PREP_SELECT, 0},
    {"INS 44 (ACTIVATE FILE)", B(0x00, 0x44, 0x00, 0x00), 0x6D00, PREP_SELECT,
     0},
    {"INS C0 (GET RESPONSE)", B(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6D00,
     PREP_SELECT, 0},
    {"INS 44 class 80", B(0x80, 0x44, 0x00, 0x00), 0x6D00, PREP_SELECT, 0},
    {"INS FE class 84", B(0x84, 0xFE, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0,
                          0, 0x00),
     0x6D00, PREP_SELECT, 0},
    /* Known instruction, other class group */
    {"CONSUME class 00", B(0x00, 0x30, 0x00, 0x00, 0x0A, 0x01, 0x01, 0, 0, 0,
                           1, 0, 0, 0, 1),
     0x6E00, PREP_SELECT, 0},
    {"CONSUME class 04", B(0x04, 0x30, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0,
                           0, 0x00),
     0x6E00, PREP_SELECT, 0},
    {"PUT KEY class 00", B(0x00, 0xD8, 0x01, 0x02, 0x00), 0x6E00, PREP_SELECT,
     0},
    {"SET STATE class 04", B(0x04, 0x34, 0x04, 0x00, 0x08, 0, 0, 0, 0, 0, 0,
                             0, 0, 0x00),
     0x6E00, PREP_SELECT, 0},
    {"VERIFY class 80", B(0x80, 0x20, 0x00, 0x81, 0x04, '2', '4', '6', '8'),
     0x6E00, PREP_SELECT, 0},
    {"PUT DATA class 84", B(0x84, 0xDA, 0x02, 0x05, 0x08, 0, 0, 0, 0, 0, 0, 0,
                            0, 0x00),
     0x6E00, PREP_SELECT, 0},
};

static struct ocp_card direct_card;

static uint16_t send_direct(const uint8_t *apdu, size_t n)
{
    uint8_t r[OCP_CARD_RAPDU_MAX];
    size_t rlen = 0;
    if (ocp_card_process(&direct_card, apdu, n, r, sizeof r, &rlen) !=
            OCP_CARD_OK ||
        rlen < 2)
        return 0;
    return (uint16_t)((r[rlen - 2] << 8) | r[rlen - 1]);
}

static void test_plain_commands(void **state)
{
    static const uint8_t select_0c[] = {0x00, 0xA4, 0x04, 0x0C, 0x05, AID};
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, AID, 0x00};
    uint8_t apdu[300];
    size_t i;
    (void)state;
    mismatches = 0;
    for (i = 0; i < ROWS(plain_cases); i++) {
        const struct plain_case *c = &plain_cases[i];
        size_t n = c->total ? c->total : c->len;
        uint16_t sw;

        assert_true(n <= sizeof apdu);
        memset(apdu, 0x5A, sizeof apdu);
        memcpy(apdu, c->apdu, c->len < n ? c->len : n);
        if (c->prep == PREP_NO_CHALLENGE)
            assert_int_equal(raw(select_0c, sizeof select_0c, NULL), 0x9000);
        else
            assert_int_equal(raw(select, sizeof select, NULL), 0x9000);
        if (c->prep == PREP_DIRECT)
            assert_int_equal(ocp_card_power_on(&direct_card), OCP_CARD_OK);
        snap();
        if (c->prep == PREP_DIRECT)
            sw = send_direct(apdu, n);
        else
            sw = raw(apdu, n, NULL);
        check_sw("plain", c->name, sw, c->sw);
        finish(1, "plain", c->name);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- group 2: commands that need SM, sent plain ------------------------ */

struct unprotected_case {
    const char *name;
    uint8_t role; /* the session for the in-session half */
    const uint8_t *apdu;
    size_t len;
};

static const struct unprotected_case unprotected_cases[] = {
    {"GET DATA holder", OCP_ROLE_ISSUER, B(0x00, 0xCA, 0x01, 0x01, 0x00)},
    {"GET DATA status", OCP_ROLE_TRANSIT, B(0x00, 0xCA, 0x01, 0x02, 0x00)},
    {"PUT DATA date", OCP_ROLE_ISSUER,
     B(0x00, 0xDA, 0x02, 0x05, 0x02, 0x26, 0x70)},
    {"PUT DATA DRBG seed", OCP_ROLE_ISSUER,
     B(0x00, 0xDA, 0x02, 0x04, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
       13, 14, 15, 16)},
    {"READ RECORD", OCP_ROLE_ISSUER, B(0x00, 0xB2, 0x01, 0x0C, 0x00)},
    {"VERIFY right PIN", OCP_ROLE_KIOSK,
     B(0x00, 0x20, 0x00, 0x81, 0x04, '2', '4', '6', '8')},
    {"VERIFY wrong PIN", OCP_ROLE_KIOSK,
     B(0x00, 0x20, 0x00, 0x81, 0x04, '1', '1', '1', '1')},
    {"CHANGE REFERENCE DATA", OCP_ROLE_KIOSK,
     B(0x00, 0x24, 0x00, 0x81, 0x09, 0x04, '2', '4', '6', '8', '1', '3', '5',
       '7')},
    {"RESET RETRY COUNTER 03", OCP_ROLE_ISSUER, B(0x00, 0x2C, 0x03, 0x81)},
    {"RESET RETRY COUNTER 02", OCP_ROLE_ISSUER,
     B(0x00, 0x2C, 0x02, 0x81, 0x04, '1', '3', '5', '7')},
    {"PUT KEY", OCP_ROLE_ISSUER,
     B(0x80, 0xD8, 0x02, 0x02, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       0, 0, 0x66, 0xE9, 0x4B)},
    {"CONSUME", OCP_ROLE_TRANSIT,
     B(0x80, 0x30, 0x00, 0x00, 0x0A, 0x01, 0x01, 0, 0, 0, 1, 0, 0, 0, 9,
       0x00)},
    {"GRANT revoke", OCP_ROLE_ISSUER, B(0x80, 0x32, 0x02, 0x02)},
    {"GRANT credit", OCP_ROLE_ISSUER,
     B(0x80, 0x32, 0x04, 0x03, 0x04, 0, 0, 0, 1, 0x00)},
    {"SET STATE terminate", OCP_ROLE_ISSUER, B(0x80, 0x34, 0x04, 0x00)},
    {"SET STATE block", OCP_ROLE_ISSUER, B(0x80, 0x34, 0x03, 0x00, 0x00)},
};

/* How a session is gone before a correctly protected command arrives. */
enum session_end {
    END_PLAIN,       /* a plain command that needs SM (6987) */
    END_SELECT,      /* SELECT ends any session */
    END_CHALLENGE,   /* GET CHALLENGE ends any session */
    END_SM_ERROR,    /* a 6988 */
    END_POWER_CYCLE, /* the card was reset */
};

struct no_session_case {
    const char *name;
    uint8_t how;
};

static const struct no_session_case no_session_cases[] = {
    {"protected PUT DATA after a plain command in the session", END_PLAIN},
    {"protected PUT DATA after SELECT", END_SELECT},
    {"protected PUT DATA after GET CHALLENGE", END_CHALLENGE},
    {"protected PUT DATA after a 6988", END_SM_ERROR},
    {"protected PUT DATA after a power cycle", END_POWER_CYCLE},
};

static void test_unprotected_commands(void **state)
{
    size_t i;
    (void)state;
    mismatches = 0;
    for (i = 0; i < ROWS(unprotected_cases); i++) {
        const struct unprotected_case *c = &unprotected_cases[i];
        ocp_session *s = NULL;
        size_t rlen = 99;
        uint16_t sw;
        char name[96];

        /* Outside a session: 6982. */
        snprintf(name, sizeof name, "%s, no session", c->name);
        check_select("unprotected", name); /* ends any session */
        snap();
        sw = raw(c->apdu, c->len, &rlen);
        check_sw("unprotected", name, sw, 0x6982);
        finish(2, "unprotected", name);

        /* Inside one: 6987, and the session is over. */
        snprintf(name, sizeof name, "%s, in a session", c->name);
        assert_int_equal(open_role(c->role, 0, &s), OCP_OK);
        snap();
        sw = raw(c->apdu, c->len, &rlen);
        check_sw("unprotected", name, sw, 0x6987);
        if (rlen != 0)
            mismatch("unprotected", name, "6987 carries %zu bytes", rlen);
        if (!session_gone(s, &sw))
            mismatch("unprotected", name,
                     "session still open: next protected command SW %04X",
                     (unsigned)sw);
        ocp_session_close(s);
        finish(2, "unprotected", name);
    }

    /* A protected command when there is no session: 6988 (section 1.3,
     * "Any error in a protected command (no session, ...)"). */
    for (i = 0; i < ROWS(no_session_cases); i++) {
        const struct no_session_case *c = &no_session_cases[i];
        static const uint8_t plain_put[] = {0x00, 0xDA, 0x02, 0x05, 0x02,
                                            0x26, 0x70};
        static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00,
                                         0x05, AID,  0x00};
        static const uint8_t challenge[] = {0x00, 0x84, 0x00, 0x00, 0x08};
        static const uint8_t day[2] = {0x26, 0x70};
        uint8_t apdu[64];
        ocp_session *s = NULL;
        uint16_t sw = 0;
        ocp_status st;

        assert_int_equal(open_role(OCP_ROLE_ISSUER, 0, &s), OCP_OK);
        switch (c->how) {
        case END_PLAIN:
            assert_int_equal(raw(plain_put, sizeof plain_put, NULL), 0x6987);
            break;
        case END_SELECT:
            assert_int_equal(raw(select, sizeof select, NULL), 0x9000);
            break;
        case END_CHALLENGE:
            assert_int_equal(raw(challenge, sizeof challenge, NULL), 0x9000);
            break;
        case END_SM_ERROR: {
            /* A command with a broken MAC; the terminal's state stays as
             * if it had not been sent. */
            ocp_sm_session copy = s->sm;
            static const uint8_t hdr[4] = {0x00, 0xDA, 0x02, 0x05};
            size_t n = ocp_sm_wrap_command(&copy, hdr, day, 2, apdu,
                                           sizeof apdu);
            assert_true(n > 0);
            apdu[n - 2] ^= 0x01;
            assert_int_equal(raw(apdu, n, NULL), 0x6988);
            break;
        }
        default:
            assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
            break;
        }
        snap();
        st = ocp_session_transmit(s, CLA_ISO, OCP_INS_PUT_DATA, 0x02, 0x05,
                                  day, 2, NULL, NULL, &sw);
        if (st != OCP_E_SM)
            mismatch("unprotected", c->name, "answer verified (%d)", (int)st);
        /* PROTOCOL.md 1.3: a protected command with no session: 6982. */
        check_sw("unprotected", c->name, sw, 0x6982);
        ocp_session_close(s);
        finish(2, "unprotected", c->name);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- groups 3 and 5: inside a real session ----------------------------- */

struct sm_case {
    const char *name;
    uint8_t role;
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t len;
    uint16_t sw;
    uint32_t datetime; /* of the session; 0: FIX_NOW */
};

#define ISS OCP_ROLE_ISSUER
#define TRN OCP_ROLE_TRANSIT
#define MED OCP_ROLE_MEDICAL
#define RHB OCP_ROLE_REHAB
#define AST OCP_ROLE_ASSIST
#define SUB OCP_ROLE_SUBSIDY
#define VEN OCP_ROLE_VENUE
#define KSK OCP_ROLE_KIOSK
#define GETD CLA_ISO, OCP_INS_GET_DATA
#define PUTD CLA_ISO, OCP_INS_PUT_DATA
#define READ CLA_ISO, OCP_INS_READ_RECORD
#define VRFY CLA_ISO, OCP_INS_VERIFY
#define CHRD CLA_ISO, OCP_INS_CHANGE_REF_DATA
#define RRC CLA_ISO, OCP_INS_RESET_RETRY
#define PKEY CLA_PRO, OCP_INS_PUT_KEY
#define CONS CLA_PRO, OCP_INS_CONSUME
#define GRNT CLA_PRO, OCP_INS_GRANT
#define SETS CLA_PRO, OCP_INS_SET_STATE
#define NODATA NULL, 0
/* CONSUME data: service, amount, sequence number 9 (never used before). */
#define CDATA(svc_hi, svc_lo, a3, a2, a1, a0)                                \
    B(svc_hi, svc_lo, a3, a2, a1, a0, 0, 0, 0, 9)
#define DAY_BEFORE (9700u * 1440u)  /* before every validity window */
#define DAY_AFTER (10300u * 1440u)  /* after every validity window */

static const struct sm_case protected_cases[] = {
    /* GET DATA */
    {"GET DATA status with data", ISS, GETD, 0x01, 0x02, B(0x00), 0x6700, 0},
    {"GET DATA holder with data", ISS, GETD, 0x01, 0x01, B(0x01, 0x01), 0x6700,
     0},
    {"GET DATA public with data", TRN, GETD, 0x02, 0x01, B(0x00), 0x6700, 0},
    {"GET DATA tag 0103", ISS, GETD, 0x01, 0x03, NODATA, 0x6A88, 0},
    {"GET DATA tag 0202 (PUT only)", ISS, GETD, 0x02, 0x02, NODATA, 0x6A88, 0},
    {"GET DATA tag 0204 (PUT only)", ISS, GETD, 0x02, 0x04, NODATA, 0x6A88, 0},
    {"GET DATA tag 0000", TRN, GETD, 0x00, 0x00, NODATA, 0x6A88, 0},
    /* PUT DATA: tags */
    {"PUT DATA tag 0206", ISS, PUTD, 0x02, 0x06, B(0x26, 0x70), 0x6A88, 0},
    {"PUT DATA tag 0201 (GET only)", ISS, PUTD, 0x02, 0x01, B(0x00), 0x6A88, 0},
    {"PUT DATA tag 0102 (GET only)", ISS, PUTD, 0x01, 0x02, B(0x00), 0x6A88, 0},
    {"PUT DATA tag 0000", ISS, PUTD, 0x00, 0x00, B(0x00), 0x6A88, 0},
    /* PUT DATA 0202 identity */
    {"PUT DATA identity 4 bytes", ISS, PUTD, 0x02, 0x02,
     B(0x01, 0x26, 0x65, 0x3A), 0x6700, 0},
    {"PUT DATA identity 6 bytes", ISS, PUTD, 0x02, 0x02,
     B(0x01, 0x26, 0x65, 0x3A, 0x0F, 0x00), 0x6700, 0},
    {"PUT DATA identity empty", ISS, PUTD, 0x02, 0x02, NODATA, 0x6700, 0},
    {"PUT DATA identity suite 00", ISS, PUTD, 0x02, 0x02,
     B(0x00, 0x26, 0x65, 0x3A, 0x0F), 0x6A80, 0},
    {"PUT DATA identity suite 03", ISS, PUTD, 0x02, 0x02,
     B(0x03, 0x26, 0x65, 0x3A, 0x0F), 0x6A80, 0},
    {"PUT DATA identity issue day 0", ISS, PUTD, 0x02, 0x02,
     B(0x01, 0x00, 0x00, 0x3A, 0x0F), 0x6A80, 0},
    {"PUT DATA identity expiry = issue", ISS, PUTD, 0x02, 0x02,
     B(0x01, 0x26, 0x65, 0x26, 0x65), 0x6A80, 0},
    {"PUT DATA identity expiry < issue", ISS, PUTD, 0x02, 0x02,
     B(0x01, 0x26, 0x65, 0x26, 0x64), 0x6A80, 0},
    {"PUT DATA identity suite change after blank", ISS, PUTD, 0x02, 0x02,
     B(0x02, 0x26, 0x65, 0x3A, 0x0F), 0x6985, 0},
    /* PUT DATA 0203 signature */
    {"PUT DATA signature 79 bytes", ISS, PUTD, 0x02, 0x03,
     S("0123456789012345678901234567890123456789"
       "012345678901234567890123456789012345678"),
     0x6700, 0},
    {"PUT DATA signature 81 bytes", ISS, PUTD, 0x02, 0x03,
     S("0123456789012345678901234567890123456789"
       "01234567890123456789012345678901234567890"),
     0x6700, 0},
    {"PUT DATA signature empty", ISS, PUTD, 0x02, 0x03, NODATA, 0x6700, 0},
    /* PUT DATA 0101 holder */
    {"PUT DATA holder empty", ISS, PUTD, 0x01, 0x01, NODATA, 0x6A80, 0},
    {"PUT DATA holder without name", ISS, PUTD, 0x01, 0x01,
     S(T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder without district", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_CERT T_CAT T_GRADE), 0x6A80, 0},
    {"PUT DATA holder name twice", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_ALL), 0x6A80, 0},
    {"PUT DATA holder unknown tag 06", ISS, PUTD, 0x01, 0x01,
     S(T_ALL "\x06\x01\x00"), 0x6A80, 0},
    {"PUT DATA holder tag 00", ISS, PUTD, 0x01, 0x01,
     S("\x00\x01\x00" T_ALL), 0x6A80, 0},
    {"PUT DATA holder empty name", ISS, PUTD, 0x01, 0x01,
     S("\x01\x00" T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder 49-byte name", ISS, PUTD, 0x01, 0x01,
     S("\x01\x31" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
       T_CERT T_CAT T_GRADE T_DIST),
     0x6A80, 0},
    {"PUT DATA holder name overlong UTF-8", ISS, PUTD, 0x01, 0x01,
     S("\x01\x02\xC0\x80" T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder name UTF-8 surrogate", ISS, PUTD, 0x01, 0x01,
     S("\x01\x03\xED\xA0\x80" T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder name truncated UTF-8", ISS, PUTD, 0x01, 0x01,
     S("\x01\x02\xE5\xBC" T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder name byte FF", ISS, PUTD, 0x01, 0x01,
     S("\x01\x03" "A\xFF" "B" T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder name past U+10FFFF", ISS, PUTD, 0x01, 0x01,
     S("\x01\x04\xF4\x90\x80\x80" T_CERT T_CAT T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder certificate 19 bytes", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x13" "11010119800101123X4" T_CAT T_GRADE T_DIST), 0x6A80,
     0},
    {"PUT DATA holder certificate letter in digit 10", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x14" "110101198A0101123X42" T_CAT T_GRADE T_DIST), 0x6A80,
     0},
    {"PUT DATA holder certificate 18th char Y", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x14" "11010119800101123Y42" T_CAT T_GRADE T_DIST), 0x6A80,
     0},
    {"PUT DATA holder certificate digit 19 not the category", ISS, PUTD, 0x01,
     0x01, S(T_NAME "\x02\x14" "11010119800101123X52" T_CAT T_GRADE T_DIST),
     0x6A80, 0},
    {"PUT DATA holder certificate digit 20 not the grade", ISS, PUTD, 0x01,
     0x01, S(T_NAME "\x02\x14" "11010119800101123X43" T_CAT T_GRADE T_DIST),
     0x6A80, 0},
    {"PUT DATA holder category 0", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x14" "11010119800101123X02" "\x03\x01\x00" T_GRADE
       T_DIST),
     0x6A80, 0},
    {"PUT DATA holder category 8", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x14" "11010119800101123X82" "\x03\x01\x08" T_GRADE
       T_DIST),
     0x6A80, 0},
    {"PUT DATA holder category 2 bytes", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_CERT "\x03\x02\x00\x04" T_GRADE T_DIST), 0x6A80, 0},
    {"PUT DATA holder grade 0", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x14" "11010119800101123X40" T_CAT "\x04\x01\x00" T_DIST),
     0x6A80, 0},
    {"PUT DATA holder grade 5", ISS, PUTD, 0x01, 0x01,
     S(T_NAME "\x02\x14" "11010119800101123X45" T_CAT "\x04\x01\x05" T_DIST),
     0x6A80, 0},
    {"PUT DATA holder district 109999", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_CERT T_CAT T_GRADE "\x05\x04\x00\x01\xAD\xAF"), 0x6A80, 0},
    {"PUT DATA holder district 1000000", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_CERT T_CAT T_GRADE "\x05\x04\x00\x0F\x42\x40"), 0x6A80, 0},
    {"PUT DATA holder district 3 bytes", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_CERT T_CAT T_GRADE "\x05\x03\x01\xAE\x19"), 0x6A80, 0},
    {"PUT DATA holder last TLV cut short", ISS, PUTD, 0x01, 0x01,
     S(T_NAME T_CERT T_CAT T_GRADE "\x05\x04\x00\x01"), 0x6700, 0},
    /* PUT DATA 0204 seed, 0205 date */
    {"PUT DATA DRBG seed 15 bytes", ISS, PUTD, 0x02, 0x04,
     S("0123456789ABCDE"), 0x6700, 0},
    {"PUT DATA DRBG seed 33 bytes", ISS, PUTD, 0x02, 0x04,
     S("0123456789ABCDEF0123456789ABCDEF0"), 0x6700, 0},
    {"PUT DATA DRBG seed empty", ISS, PUTD, 0x02, 0x04, NODATA, 0x6700, 0},
    {"PUT DATA date 1 byte", ISS, PUTD, 0x02, 0x05, B(0x26), 0x6700, 0},
    {"PUT DATA date 3 bytes", ISS, PUTD, 0x02, 0x05, B(0x26, 0x70, 0x00),
     0x6700, 0},
    {"PUT DATA date empty", ISS, PUTD, 0x02, 0x05, NODATA, 0x6700, 0},
    /* READ RECORD */
    {"READ RECORD record 0", ISS, READ, 0x00, 0x0C, NODATA, 0x6A86, 0},
    {"READ RECORD record 0, mode 5", ISS, READ, 0x00, 0x0D, NODATA, 0x6A86, 0},
    {"READ RECORD mode 0", ISS, READ, 0x01, 0x08, NODATA, 0x6A86, 0},
    {"READ RECORD mode 3", ISS, READ, 0x01, 0x0B, NODATA, 0x6A86, 0},
    {"READ RECORD mode 6", ISS, READ, 0x01, 0x0E, NODATA, 0x6A86, 0},
    {"READ RECORD mode 7", ISS, READ, 0x01, 0x0F, NODATA, 0x6A86, 0},
    {"READ RECORD SFI 0", ISS, READ, 0x01, 0x04, NODATA, 0x6A82, 0},
    {"READ RECORD SFI 3", ISS, READ, 0x01, 0x1C, NODATA, 0x6A82, 0},
    {"READ RECORD SFI 31", ISS, READ, 0x01, 0xFC, NODATA, 0x6A82, 0},
    {"READ RECORD with data", ISS, READ, 0x01, 0x0C, B(0x00), 0x6700, 0},
    {"READ RECORD past the last entitlement", ISS, READ, 0x05, 0x0C, NODATA,
     0x6A83, 0},
    {"READ RECORD records FF.. (mode 5)", ISS, READ, 0xFF, 0x0D, NODATA,
     0x6A83, 0},
    {"READ RECORD log of a card without one", ISS, READ, 0x01, 0x14, NODATA,
     0x6A83, 0},
    {"READ RECORD transit's 2nd entitlement (others skipped)", TRN, READ,
     0x02, 0x0C, NODATA, 0x6A83, 0},
    /* VERIFY: the right PIN where only P1/P2 are wrong */
    {"VERIFY P1 01", KSK, VRFY, 0x01, 0x81, S("2468"), 0x6A86, 0},
    {"VERIFY P1 FF", KSK, VRFY, 0xFF, 0x81, S("2468"), 0x6A86, 0},
    {"VERIFY P2 80", KSK, VRFY, 0x00, 0x80, S("2468"), 0x6A86, 0},
    {"VERIFY P2 82", KSK, VRFY, 0x00, 0x82, S("2468"), 0x6A86, 0},
    {"VERIFY P2 01", KSK, VRFY, 0x00, 0x01, S("2468"), 0x6A86, 0},
    {"VERIFY PIN 12a4", KSK, VRFY, 0x00, 0x81, S("12a4"), 0x6A80, 0},
    {"VERIFY PIN of 3 digits", KSK, VRFY, 0x00, 0x81, S("246"), 0x6A80, 0},
    {"VERIFY PIN of 9 digits", KSK, VRFY, 0x00, 0x81, S("246824682"), 0x6A80,
     0},
    {"VERIFY PIN with a space", KSK, VRFY, 0x00, 0x81, S("24 68"), 0x6A80, 0},
    {"VERIFY PIN with NUL", KSK, VRFY, 0x00, 0x81, B('2', '4', '6', '8', 0),
     0x6A80, 0},
    {"VERIFY PIN of 16 bytes", KSK, VRFY, 0x00, 0x81, S("2468246824682468"),
     0x6A80, 0},
    {"VERIFY PIN 12a4 (transit)", TRN, VRFY, 0x00, 0x81, S("12a4"), 0x6A80, 0},
    {"VERIFY PIN of 3 digits (issuer)", ISS, VRFY, 0x00, 0x81, S("123"),
     0x6A80, 0},
    /* CHANGE REFERENCE DATA (kiosk): old length || old || new */
    {"CHANGE REF DATA P1 01", KSK, CHRD, 0x01, 0x81, S("\x04" "24681357"),
     0x6A86, 0},
    {"CHANGE REF DATA P2 80", KSK, CHRD, 0x00, 0x80, S("\x04" "24681357"),
     0x6A86, 0},
    {"CHANGE REF DATA old PIN 24a8", KSK, CHRD, 0x00, 0x81,
     S("\x04" "24a81357"), 0x6A80, 0},
    {"CHANGE REF DATA old PIN of 3 digits", KSK, CHRD, 0x00, 0x81,
     S("\x03" "2461357"), 0x6A80, 0},
    {"CHANGE REF DATA old length 9", KSK, CHRD, 0x00, 0x81,
     S("\x09" "2468246821357"), 0x6A80, 0},
    {"CHANGE REF DATA old length past the data", KSK, CHRD, 0x00, 0x81,
     S("\x08" "2468"), 0x6A80, 0},
    {"CHANGE REF DATA new PIN of 3 digits", KSK, CHRD, 0x00, 0x81,
     S("\x04" "2468135"), 0x6A80, 0},
    {"CHANGE REF DATA new PIN of 9 digits", KSK, CHRD, 0x00, 0x81,
     S("\x04" "2468135791357"), 0x6A80, 0},
    {"CHANGE REF DATA new PIN 13a7", KSK, CHRD, 0x00, 0x81,
     S("\x04" "246813a7"), 0x6A80, 0},
    {"CHANGE REF DATA no new PIN", KSK, CHRD, 0x00, 0x81, S("\x04" "2468"),
     0x6A80, 0},
    /* RESET RETRY COUNTER (issuer) */
    {"RESET RETRY P1 01", ISS, RRC, 0x01, 0x81, NODATA, 0x6A86, 0},
    {"RESET RETRY P1 04", ISS, RRC, 0x04, 0x81, NODATA, 0x6A86, 0},
    {"RESET RETRY P1 00", ISS, RRC, 0x00, 0x81, S("1357"), 0x6A86, 0},
    {"RESET RETRY 02 P2 80", ISS, RRC, 0x02, 0x80, S("1357"), 0x6A86, 0},
    {"RESET RETRY 03 P2 00", ISS, RRC, 0x03, 0x00, NODATA, 0x6A86, 0},
    {"RESET RETRY 02 PIN 12a4", ISS, RRC, 0x02, 0x81, S("12a4"), 0x6A80, 0},
    {"RESET RETRY 02 PIN of 3 digits", ISS, RRC, 0x02, 0x81, S("135"), 0x6A80,
     0},
    {"RESET RETRY 02 PIN of 9 digits", ISS, RRC, 0x02, 0x81, S("135791357"),
     0x6A80, 0},
    {"RESET RETRY 02 without PIN", ISS, RRC, 0x02, 0x81, NODATA, 0x6A80, 0},
    {"RESET RETRY 03 with data", ISS, RRC, 0x03, 0x81, S("1357"), 0x6700, 0},
    /* PUT KEY (issuer): version 02 for slot 02 unless said otherwise */
    {"PUT KEY slot 00", ISS, PKEY, 0x02, 0x00, good_key, 19, 0x6A86, 0},
    {"PUT KEY slot 0A", ISS, PKEY, 0x02, 0x0A, good_key, 19, 0x6A86, 0},
    {"PUT KEY slot FF", ISS, PKEY, 0x02, 0xFF, good_key, 19, 0x6A86, 0},
    {"PUT KEY version 00", ISS, PKEY, 0x00, 0x02, good_key, 19, 0x6A86, 0},
    {"PUT KEY version FF", ISS, PKEY, 0xFF, 0x02, good_key, 19, 0x6A86, 0},
    {"PUT KEY 18 bytes", ISS, PKEY, 0x02, 0x02, good_key, 18, 0x6700, 0},
    {"PUT KEY 20 bytes", ISS, PKEY, 0x02, 0x02, good_key, 20, 0x6700, 0},
    {"PUT KEY key without KCV", ISS, PKEY, 0x02, 0x02, good_key, 16, 0x6700,
     0},
    {"PUT KEY empty", ISS, PKEY, 0x02, 0x02, NODATA, 0x6700, 0},
    {"PUT KEY KCV mismatch", ISS, PKEY, 0x02, 0x02, bad_kcv_key, 19, 0x6A80,
     0},
    /* CONSUME */
    {"CONSUME P1 01", TRN, CONS, 0x01, 0x00, CDATA(0x01, 0x01, 0, 0, 0, 1),
     0x6A86, 0},
    {"CONSUME P2 01", TRN, CONS, 0x00, 0x01, CDATA(0x01, 0x01, 0, 0, 0, 1),
     0x6A86, 0},
    {"CONSUME 9 bytes", TRN, CONS, 0x00, 0x00, B(0x01, 0x01, 0, 0, 0, 1, 0, 0,
                                                 0),
     0x6700, 0},
    {"CONSUME 11 bytes", TRN, CONS, 0x00, 0x00,
     B(0x01, 0x01, 0, 0, 0, 1, 0, 0, 0, 9, 0), 0x6700, 0},
    {"CONSUME empty", TRN, CONS, 0x00, 0x00, NODATA, 0x6700, 0},
    {"CONSUME unknown service", TRN, CONS, 0x00, 0x00,
     CDATA(0x09, 0x99, 0, 0, 0, 1), 0x6A88, 0},
    {"CONSUME service 0000", TRN, CONS, 0x00, 0x00, CDATA(0, 0, 0, 0, 0, 1),
     0x6A88, 0},
    {"CONSUME another domain's service", TRN, CONS, 0x00, 0x00,
     CDATA(0x02, 0x01, 0, 0, 0, 1), 0x6A88, 0},
    {"CONSUME pass amount 2", TRN, CONS, 0x00, 0x00,
     CDATA(0x01, 0x01, 0, 0, 0, 2), 0x6A80, 0},
    {"CONSUME pass amount FFFFFFFF", TRN, CONS, 0x00, 0x00,
     CDATA(0x01, 0x01, 0xFF, 0xFF, 0xFF, 0xFF), 0x6A80, 0},
    {"CONSUME counter amount 0", MED, CONS, 0x00, 0x00,
     CDATA(0x02, 0x01, 0, 0, 0, 0), 0x6A80, 0},
    {"CONSUME balance amount 0", AST, CONS, 0x00, 0x00,
     CDATA(0x04, 0x01, 0, 0, 0, 0), 0x6A80, 0},
    {"CONSUME counter beyond what is left", MED, CONS, 0x00, 0x00,
     CDATA(0x02, 0x01, 0, 0, 0, 3), 0x9401, 0},
    {"CONSUME balance beyond what is left", AST, CONS, 0x00, 0x00,
     CDATA(0x04, 0x01, 0x00, 0x07, 0xA1, 0x21), 0x9401, 0},
    {"CONSUME balance FFFFFFFF", AST, CONS, 0x00, 0x00,
     CDATA(0x04, 0x01, 0xFF, 0xFF, 0xFF, 0xFF), 0x9401, 0},
    /* GRANT (issuer) */
    {"GRANT slot 17", ISS, GRNT, 0x11, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0)), 0x6A86, 0},
    {"GRANT slot FF", ISS, GRNT, 0xFF, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0)), 0x6A86, 0},
    {"GRANT op 00", ISS, GRNT, 0x05, 0x00,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0)), 0x6A86, 0},
    {"GRANT op 04", ISS, GRNT, 0x05, 0x04,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0)), 0x6A86, 0},
    {"GRANT revoke slot 00", ISS, GRNT, 0x00, 0x02, NODATA, 0x6A86, 0},
    {"GRANT credit slot 00", ISS, GRNT, 0x00, 0x03, B(0, 0, 0, 1), 0x6A86, 0},
    {"GRANT put 17 bytes", ISS, GRNT, 0x05, 0x01,
     B(0x0A, 0x01, 2, 1, 0, 0x26, 0x48, 0x27, 0xD8, 0, 0, 0, 0, 0, 0, 0, 0),
     0x6700, 0},
    {"GRANT put 19 bytes", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0), 0), 0x6700, 0},
    {"GRANT put empty", ISS, GRNT, 0x05, 0x01, NODATA, 0x6700, 0},
    {"GRANT put service 0000", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x00, 0x00, 2, 1, 0, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put domain 01", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 1, 1, 0, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put domain 08", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 8, 1, 0, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put kind 00", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 0, 0, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put kind 04", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 4, 0, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put flags 02", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 2, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put flags 81", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0x81, 0, 0, 0)), 0x6A80, 0},
    {"GRANT put from > to", ISS, GRNT, 0x05, 0x01,
     B(0x0A, 0x01, 2, 1, 0, 0x27, 0xD8, 0x26, 0x48, 0, 0, 0, 0, 0, 0, 0, 0,
       0),
     0x6A80, 0},
    {"GRANT put pass with a period", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 1, 0, 0)), 0x6A80, 0},
    {"GRANT put balance with a period", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 5, 3, 0, 2, 0, 100)), 0x6A80, 0},
    {"GRANT put counter period 03", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 3, 2, 0, 3, 5, 5)), 0x6A80, 0},
    {"GRANT put counter remaining > limit", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 3, 2, 0, 1, 5, 6)), 0x6A80, 0},
    {"GRANT put pass with a limit", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 1, 0)), 0x6A80, 0},
    {"GRANT put pass with remaining", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 1)), 0x6A80, 0},
    {"GRANT put a service held by another slot", ISS, GRNT, 0x05, 0x01,
     B(ENT(0x01, 0x01, 2, 1, 0, 0, 0, 0)), 0x6A80, 0},
    {"GRANT revoke an empty slot", ISS, GRNT, 0x0A, 0x02, NODATA, 0x6A83, 0},
    {"GRANT revoke with data", ISS, GRNT, 0x02, 0x02, B(0x00), 0x6700, 0},
    {"GRANT credit an empty slot", ISS, GRNT, 0x0A, 0x03, B(0, 0, 0, 1),
     0x6A83, 0},
    {"GRANT credit a pass", ISS, GRNT, 0x01, 0x03, B(0, 0, 0, 1), 0x6A80, 0},
    {"GRANT credit past FFFFFFFF", ISS, GRNT, 0x04, 0x03,
     B(0xFF, 0xFF, 0xFF, 0xFF), 0x6A80, 0},
    {"GRANT credit 3 bytes", ISS, GRNT, 0x04, 0x03, B(0, 0, 1), 0x6700, 0},
    {"GRANT credit 5 bytes", ISS, GRNT, 0x04, 0x03, B(0, 0, 0, 0, 1), 0x6700,
     0},
    {"GRANT credit empty", ISS, GRNT, 0x04, 0x03, NODATA, 0x6700, 0},
    /* SET STATE */
    {"SET STATE P2 01", ISS, SETS, 0x04, 0x01, NODATA, 0x6A86, 0},
    {"SET STATE state 05", ISS, SETS, 0x05, 0x00, NODATA, 0x6A86, 0},
    {"SET STATE state FF", ISS, SETS, 0xFF, 0x00, NODATA, 0x6A86, 0},
    {"SET STATE issuer, active to blank", ISS, SETS, 0x00, 0x00, NODATA,
     0x6A86, 0},
    {"SET STATE issuer, active to personalised", ISS, SETS, 0x01, 0x00, NODATA,
     0x6985, 0},
    {"SET STATE issuer, active to active", ISS, SETS, 0x02, 0x00, NODATA,
     0x6985, 0},
    {"SET STATE issuer block with data", ISS, SETS, 0x03, 0x00, B(0x00),
     0x6700, 0},
    {"SET STATE issuer terminate with data", ISS, SETS, 0x04, 0x00,
     B(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), 0x6700, 0},
    {"SET STATE block 11 bytes", TRN, SETS, 0x03, 0x00,
     B(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0), 0x6700, 0},
    {"SET STATE block 13 bytes", TRN, SETS, 0x03, 0x00,
     B(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0x6700, 0},
    {"SET STATE block empty", TRN, SETS, 0x03, 0x00, NODATA, 0x6700, 0},
    {"SET STATE block wrong cryptogram", TRN, SETS, 0x03, 0x00,
     B(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), 0x6300, 0},
    {"SET STATE block wrong cryptogram (venue)", VEN, SETS, 0x03, 0x00,
     B(0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8), 0x6300, 0},
};

static const struct sm_case role_cases[] = {
    {"transit GRANT put", TRN, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0)), 0x6982, 0},
    {"transit GRANT revoke", TRN, GRNT, 0x01, 0x02, NODATA, 0x6982, 0},
    {"transit GRANT credit", TRN, GRNT, 0x04, 0x03, B(0, 0, 0, 1), 0x6982, 0},
    {"transit PUT DATA date", TRN, PUTD, 0x02, 0x05, B(0x26, 0x70), 0x6982, 0},
    {"transit PUT DATA holder", TRN, PUTD, 0x01, 0x01, S(T_ALL), 0x6982, 0},
    {"transit PUT DATA DRBG seed", TRN, PUTD, 0x02, 0x04,
     S("0123456789ABCDEF"), 0x6982, 0},
    {"transit PUT KEY", TRN, PKEY, 0x02, 0x02, good_key, 19, 0x6982, 0},
    {"transit RESET RETRY 03", TRN, RRC, 0x03, 0x81, NODATA, 0x6982, 0},
    {"transit RESET RETRY 02", TRN, RRC, 0x02, 0x81, S("1357"), 0x6982, 0},
    {"transit CHANGE REF DATA", TRN, CHRD, 0x00, 0x81, S("\x04" "24681357"),
     0x6982, 0},
    {"transit GET DATA holder", TRN, GETD, 0x01, 0x01, NODATA, 0x6982, 0},
    {"transit SET STATE terminate", TRN, SETS, 0x04, 0x00, NODATA, 0x6982, 0},
    {"transit SET STATE active", TRN, SETS, 0x02, 0x00,
     B(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), 0x6982, 0},
    {"transit SET STATE personalised", TRN, SETS, 0x01, 0x00, NODATA, 0x6982,
     0},
    {"transit SET STATE blank", TRN, SETS, 0x00, 0x00, NODATA, 0x6A86, 0},
    {"subsidy SET STATE terminate", SUB, SETS, 0x04, 0x00, NODATA, 0x6982, 0},
    {"medical GRANT put", MED, GRNT, 0x05, 0x01,
     B(ENT(0x0A, 0x01, 3, 1, 0, 0, 0, 0)), 0x6982, 0},
    {"medical PUT KEY", MED, PKEY, 0x02, 0x03, good_key, 19, 0x6982, 0},
    {"medical PUT DATA identity", MED, PUTD, 0x02, 0x02,
     B(0x01, 0x26, 0x65, 0x3A, 0x0F), 0x6982, 0},
    {"venue GET DATA holder", VEN, GETD, 0x01, 0x01, NODATA, 0x6982, 0},
    {"subsidy GET DATA holder", SUB, GETD, 0x01, 0x01, NODATA, 0x6982, 0},
    {"kiosk CONSUME", KSK, CONS, 0x00, 0x00, CDATA(0x01, 0x01, 0, 0, 0, 1),
     0x6982, 0},
    {"kiosk GET DATA holder without PIN", KSK, GETD, 0x01, 0x01, NODATA,
     0x6982, 0},
    {"kiosk READ RECORD entitlements without PIN", KSK, READ, 0x01, 0x0C,
     NODATA, 0x6982, 0},
    {"kiosk READ RECORD log without PIN", KSK, READ, 0x01, 0x14, NODATA,
     0x6982, 0},
    {"kiosk SET STATE block", KSK, SETS, 0x03, 0x00,
     B(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), 0x6982, 0},
    {"kiosk GRANT credit", KSK, GRNT, 0x04, 0x03, B(0, 0, 0, 1), 0x6982, 0},
    {"kiosk PUT DATA date", KSK, PUTD, 0x02, 0x05, B(0x26, 0x70), 0x6982, 0},
    {"kiosk RESET RETRY 03", KSK, RRC, 0x03, 0x81, NODATA, 0x6982, 0},
    {"kiosk PUT KEY", KSK, PKEY, 0x02, 0x08, good_key, 19, 0x6982, 0},
    {"issuer CONSUME", ISS, CONS, 0x00, 0x00, CDATA(0x01, 0x01, 0, 0, 0, 1),
     0x6982, 0},
    {"issuer CHANGE REF DATA", ISS, CHRD, 0x00, 0x81, S("\x04" "24681357"),
     0x6982, 0},
    {"rehab CONSUME PIN-protected, no PIN", RHB, CONS, 0x00, 0x00,
     CDATA(0x03, 0x01, 0, 0, 0, 1), 0x6982, 0},
    {"transit CONSUME before the validity window", TRN, CONS, 0x00, 0x00,
     CDATA(0x01, 0x01, 0, 0, 0, 1), 0x6985, DAY_BEFORE},
    {"transit CONSUME after the validity window", TRN, CONS, 0x00, 0x00,
     CDATA(0x01, 0x01, 0, 0, 0, 1), 0x6985, DAY_AFTER},
};

/* A slot for every service up to 16: the card is full. */
static const struct sm_case full_card_cases[] = {
    {"GRANT put into a full card", ISS, GRNT, 0x00, 0x01,
     B(ENT(0x0B, 0x01, 2, 1, 0, 0, 0, 0)), 0x6A84, 0},
};

static void run_sm_cases(unsigned group, const char *gname,
                         const struct sm_case *rows, size_t n)
{
    size_t i;
    mismatches = 0;
    for (i = 0; i < n; i++) {
        const struct sm_case *c = &rows[i];
        ocp_session *s = NULL;
        uint8_t r[256];
        size_t rlen = sizeof r;
        uint16_t sw = 0;
        ocp_status st;

        assert_int_equal(open_role(c->role, c->datetime, &s), OCP_OK);
        snap();
        st = ocp_session_transmit(s, c->cla, c->ins, c->p1, c->p2, c->data,
                                  c->len, r, &rlen, &sw);
        if (st != OCP_OK)
            mismatch(gname, c->name, "answer not MAC-verified (%d, SW %04X)",
                     (int)st, (unsigned)sw);
        else
            check_sw(gname, c->name, sw, c->sw);
        if (st == OCP_OK && rlen != 0)
            mismatch(gname, c->name, "error carries %zu bytes", rlen);
        check_nvm(gname, c->name);
        /* An application error leaves the session open. */
        if (st == OCP_OK) {
            st = status_probe(s, &sw);
            if (st != OCP_OK || sw != 0x9000u)
                mismatch(gname, c->name,
                         "session ended: next command %d, SW %04X", (int)st,
                         (unsigned)sw);
        }
        ocp_session_close(s);
        snap(); /* the probe is read-only; finish re-checks from here */
        finish(group, gname, c->name);
    }
}

static void test_protected_commands(void **state)
{
    (void)state;
    run_sm_cases(3, "protected", protected_cases, ROWS(protected_cases));
    assert_int_equal(mismatches, 0);
}

static void test_protected_card_full(void **state)
{
    ocp_session *s;
    uint8_t slot;
    unsigned i;
    (void)state;
    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s), OCP_OK);
    for (i = 5; i <= OCP_MAX_ENTITLEMENTS; i++) {
        ocp_entitlement e;
        memset(&e, 0, sizeof e);
        e.service = (uint16_t)(0x0C00u + i);
        e.domain = OCP_ROLE_VENUE;
        e.kind = OCP_KIND_PASS;
        e.valid_from = 9800;
        e.valid_to = 10200;
        assert_int_equal(ocp_grant(s, &e, &slot), OCP_OK);
        assert_int_equal(slot, i);
    }
    ocp_session_close(s);
    run_sm_cases(3, "protected", full_card_cases, ROWS(full_card_cases));
    assert_int_equal(mismatches, 0);
}

static void test_role_refusals(void **state)
{
    (void)state;
    run_sm_cases(5, "roles", role_cases, ROWS(role_cases));
    assert_int_equal(mismatches, 0);
}

/* ---- group 4: secure-messaging errors ---------------------------------- */

struct base_command {
    uint8_t role;
    uint8_t hdr[4];
    const uint8_t *data;
    size_t len;
};

enum base_id { B_CONSUME, B_PUT_DATE, B_REVOKE, B_TERMINATE, B_GRANT_PUT };

static const struct base_command bases[] = {
    {TRN, {0x80, 0x30, 0x00, 0x00}, CDATA(0x01, 0x01, 0, 0, 0, 1)},
    {ISS, {0x00, 0xDA, 0x02, 0x05}, B(0x26, 0x70)},
    {ISS, {0x80, 0x32, 0x02, 0x02}, NODATA},
    {ISS, {0x80, 0x34, 0x04, 0x00}, NODATA},
    {ISS, {0x80, 0x32, 0x05, 0x01}, B(ENT(0x0A, 0x01, 2, 1, 0, 0, 0, 0))},
};

enum mutation {
    MUT_XOR,         /* byte `at` of the APDU ^= x (header or body) */
    MUT_MAC_XOR,     /* MAC byte `at` ^= x */
    MUT_DROP_MAC_LC, /* last MAC byte removed, Lc one less */
    MUT_DROP_MAC,    /* last MAC byte removed, Lc unchanged */
    MUT_LC_ADD,      /* Lc += x (mod 256), bytes unchanged */
    MUT_LC_SET,      /* Lc = x */
    MUT_NO_LE,       /* Le removed */
    MUT_EXTRA,       /* one byte after Le */
    MUT_CASE1,       /* the header alone */
    MUT_CASE2,       /* header and Le 00 */
    MUT_SHORT_BODY,  /* Lc 07: fewer bytes than a MAC */
    MUT_NOT16,       /* a right MAC over 15 bytes of ciphertext */
    MUT_BAD_PAD,     /* a right MAC over a block without 80 padding */
    MUT_DROP_BLOCK,  /* last ciphertext block removed, Lc adjusted */
    MUT_SWAP_BLOCKS, /* the two ciphertext blocks swapped */
    MUT_SKIP,        /* one command skipped: counter and chain ahead */
    MUT_REPLAY,      /* the last valid command sent again */
    MUT_RMAC_KEY,    /* MAC under S-RMAC instead of S-MAC */
};

struct sm_error_case {
    const char *name;
    uint8_t base;
    uint8_t mutation;
    uint8_t at, x;
    uint16_t sw;
};

static const struct sm_error_case sm_error_cases[] = {
    {"CONSUME MAC bit flipped (first byte)", B_CONSUME, MUT_MAC_XOR, 0, 0x80,
     0x6988},
    {"CONSUME MAC bit flipped (last byte)", B_CONSUME, MUT_MAC_XOR, 7, 0x01,
     0x6988},
    {"CONSUME ciphertext bit flipped (first byte)", B_CONSUME, MUT_XOR, 5,
     0x01, 0x6988},
    {"CONSUME ciphertext bit flipped (last byte)", B_CONSUME, MUT_XOR, 20,
     0x40, 0x6988},
    {"CONSUME INS 30 -> 32 (GRANT)", B_CONSUME, MUT_XOR, 1, 0x02, 0x6988},
    {"CONSUME INS 30 -> 34 (SET STATE)", B_CONSUME, MUT_XOR, 1, 0x04, 0x6988},
    {"CONSUME P1 bit flipped", B_CONSUME, MUT_XOR, 2, 0x01, 0x6988},
    {"CONSUME P2 bit flipped", B_CONSUME, MUT_XOR, 3, 0x80, 0x6988},
    {"CONSUME MAC truncated, Lc adjusted", B_CONSUME, MUT_DROP_MAC_LC, 0, 0,
     0x6988},
    {"CONSUME MAC truncated, Lc kept", B_CONSUME, MUT_DROP_MAC, 0, 0, 0x6988},
    {"CONSUME Lc + 1", B_CONSUME, MUT_LC_ADD, 0, 1, 0x6988},
    {"CONSUME Lc - 1", B_CONSUME, MUT_LC_ADD, 0, 0xFF, 0x6700},
    {"CONSUME Lc + 2", B_CONSUME, MUT_LC_ADD, 0, 2, 0x6700},
    {"CONSUME Lc 00 (extended)", B_CONSUME, MUT_LC_SET, 0, 0x00, 0x6700},
    {"CONSUME Lc FF", B_CONSUME, MUT_LC_SET, 0, 0xFF, 0x6700},
    {"CONSUME without Le", B_CONSUME, MUT_NO_LE, 0, 0, 0x6988},
    {"CONSUME byte after Le", B_CONSUME, MUT_EXTRA, 0, 0, 0x6700},
    {"CONSUME header only (case 1)", B_CONSUME, MUT_CASE1, 0, 0, 0x6988},
    {"CONSUME header and Le (case 2)", B_CONSUME, MUT_CASE2, 0, 0, 0x6988},
    {"CONSUME body shorter than a MAC", B_CONSUME, MUT_SHORT_BODY, 0, 0,
     0x6988},
    {"CONSUME ciphertext of 15 bytes", B_CONSUME, MUT_NOT16, 0, 0, 0x6988},
    {"CONSUME bad padding, right MAC", B_CONSUME, MUT_BAD_PAD, 0, 0, 0x6988},
    {"CONSUME after a skipped command", B_CONSUME, MUT_SKIP, 0, 0, 0x6988},
    {"CONSUME replayed", B_CONSUME, MUT_REPLAY, 0, 0, 0x6988},
    {"CONSUME MAC under S-RMAC", B_CONSUME, MUT_RMAC_KEY, 0, 0, 0x6988},
    {"PUT DATA date MAC bit flipped", B_PUT_DATE, MUT_MAC_XOR, 3, 0x10,
     0x6988},
    {"PUT DATA date ciphertext bit flipped", B_PUT_DATE, MUT_XOR, 12, 0x02,
     0x6988},
    {"PUT DATA date INS DA -> CA (GET DATA)", B_PUT_DATE, MUT_XOR, 1, 0x10,
     0x6988},
    {"PUT DATA date P2 05 -> 04 (seed)", B_PUT_DATE, MUT_XOR, 3, 0x01, 0x6988},
    {"PUT DATA date without Le", B_PUT_DATE, MUT_NO_LE, 0, 0, 0x6988},
    {"PUT DATA date Lc - 1", B_PUT_DATE, MUT_LC_ADD, 0, 0xFF, 0x6700},
    {"PUT DATA date bad padding, right MAC", B_PUT_DATE, MUT_BAD_PAD, 0, 0,
     0x6988},
    {"PUT DATA date replayed", B_PUT_DATE, MUT_REPLAY, 0, 0, 0x6988},
    {"GRANT revoke MAC bit flipped", B_REVOKE, MUT_MAC_XOR, 5, 0x04, 0x6988},
    {"GRANT revoke P1 02 -> 03", B_REVOKE, MUT_XOR, 2, 0x01, 0x6988},
    {"GRANT revoke P2 02 -> 03 (credit)", B_REVOKE, MUT_XOR, 3, 0x01, 0x6988},
    {"GRANT revoke MAC truncated, Lc adjusted", B_REVOKE, MUT_DROP_MAC_LC, 0, 0,
     0x6988},
    {"GRANT revoke Lc + 1", B_REVOKE, MUT_LC_ADD, 0, 1, 0x6988},
    {"GRANT revoke without Le", B_REVOKE, MUT_NO_LE, 0, 0, 0x6988},
    {"GRANT revoke case 2", B_REVOKE, MUT_CASE2, 0, 0, 0x6988},
    {"GRANT revoke ciphertext of 15 bytes", B_REVOKE, MUT_NOT16, 0, 0, 0x6988},
    {"SET STATE terminate MAC bit flipped", B_TERMINATE, MUT_MAC_XOR, 0, 0x01,
     0x6988},
    {"SET STATE terminate P1 04 -> 03 (block)", B_TERMINATE, MUT_XOR, 2, 0x07,
     0x6988},
    {"SET STATE terminate INS 34 -> 32 (GRANT)", B_TERMINATE, MUT_XOR, 1, 0x06,
     0x6988},
    {"SET STATE terminate without Le", B_TERMINATE, MUT_NO_LE, 0, 0, 0x6988},
    {"SET STATE terminate after a skipped command", B_TERMINATE, MUT_SKIP, 0,
     0, 0x6988},
    {"GRANT put first block bit flipped", B_GRANT_PUT, MUT_XOR, 5, 0x01,
     0x6988},
    {"GRANT put second block bit flipped", B_GRANT_PUT, MUT_XOR, 36, 0x01,
     0x6988},
    {"GRANT put last block dropped, Lc adjusted", B_GRANT_PUT, MUT_DROP_BLOCK,
     0, 0, 0x6988},
    {"GRANT put blocks swapped", B_GRANT_PUT, MUT_SWAP_BLOCKS, 0, 0, 0x6988},
};

/* Protects an arbitrary ciphertext c as ocp_sm_wrap_command would: the
 * MAC is right, whatever c holds.  Returns the APDU length. */
static size_t sm_forge(ocp_sm_session *sm, const uint8_t hdr[4],
                       const uint8_t *c, size_t clen, const uint8_t key[16],
                       uint8_t *apdu)
{
    ocp_cmac_ctx m;
    uint8_t mac[16];
    sm->counter++;
    memcpy(apdu, hdr, 4);
    apdu[0] = (uint8_t)(apdu[0] | OCP_CLA_SM_BIT);
    apdu[4] = (uint8_t)(clen + OCP_MAC_LEN);
    memcpy(apdu + 5, c, clen);
    ocp_cmac_init(&m, sm->cipher, key);
    ocp_cmac_update(&m, sm->chain, 16);
    ocp_cmac_update(&m, apdu, 5);
    ocp_cmac_update(&m, c, clen);
    ocp_cmac_final(&m, mac);
    memcpy(sm->chain, mac, 16);
    memcpy(apdu + 5 + clen, mac, OCP_MAC_LEN);
    apdu[5 + clen + OCP_MAC_LEN] = 0x00;
    return 5 + clen + OCP_MAC_LEN + 1;
}

/* The command IV of the next command of this session state. */
static void next_iv(const ocp_sm_session *sm, uint8_t iv[16])
{
    uint8_t in[16] = {0};
    ocp_put_be32(in + 12, sm->counter + 1u);
    port_block_encrypt(sm->cipher, sm->s_enc, in, iv);
}

/* Sends one valid protected command through the session's own state,
 * keeping terminal and card in step; returns the SW. */
static uint16_t valid_exchange(ocp_session *s, const struct base_command *b,
                               uint8_t *apdu, size_t *alen)
{
    uint8_t r[258];
    size_t rlen = 0, plain = 0;
    uint16_t sw;
    *alen = ocp_sm_wrap_command(&s->sm, b->hdr, b->data, b->len, apdu, 300);
    assert_true(*alen > 0);
    sw = fixture_raw(&fx, apdu, *alen, r, &rlen);
    assert_int_equal(ocp_sm_unwrap_response(&s->sm, r, rlen, sw, &plain), 0);
    return sw;
}

/* Builds the bad APDU of a row; may send valid commands first. */
static size_t build_bad(ocp_session *s, const struct sm_error_case *c,
                        uint8_t *apdu)
{
    static const struct base_command probe = {
        0, {0x00, 0xCA, 0x01, 0x02}, NULL, 0};
    const struct base_command *b = &bases[c->base];
    ocp_sm_session copy = s->sm;
    uint8_t tmp[300], iv[16], zero[16] = {0};
    size_t n, enc;

    switch (c->mutation) {
    case MUT_NOT16:
        n = ocp_sm_wrap_command(&copy, b->hdr, b->data, b->len, tmp,
                                sizeof tmp);
        copy = s->sm;
        enc = n - 5 - OCP_MAC_LEN - 1;
        /* 15 bytes of the real ciphertext, or of zeros for no data */
        return sm_forge(&copy, b->hdr, enc ? tmp + 5 : zero, 15, copy.s_mac,
                        apdu);
    case MUT_BAD_PAD:
        next_iv(&copy, iv);
        ocp_cbc_encrypt_pad(copy.cipher, copy.s_enc, iv, zero, 16, tmp);
        return sm_forge(&copy, b->hdr, tmp, 16, copy.s_mac, apdu);
    case MUT_RMAC_KEY:
        n = ocp_sm_wrap_command(&copy, b->hdr, b->data, b->len, tmp,
                                sizeof tmp);
        copy = s->sm;
        enc = n - 5 - OCP_MAC_LEN - 1;
        return sm_forge(&copy, b->hdr, tmp + 5, enc, copy.s_rmac, apdu);
    case MUT_SKIP:
        assert_true(ocp_sm_wrap_command(&copy, probe.hdr, NULL, 0, tmp,
                                        sizeof tmp) > 0);
        return ocp_sm_wrap_command(&copy, b->hdr, b->data, b->len, apdu, 300);
    case MUT_REPLAY:
        /* The command goes through once, valid (and may change the card,
         * before the snapshot); the bad command is its second copy. */
        assert_int_equal(valid_exchange(s, b, apdu, &n), 0x9000);
        return n;
    default:
        break;
    }

    n = ocp_sm_wrap_command(&copy, b->hdr, b->data, b->len, apdu, 300);
    assert_true(n > 0);
    enc = n - 5 - OCP_MAC_LEN - 1;
    switch (c->mutation) {
    case MUT_XOR:
        assert_true(c->at < n - 1);
        apdu[c->at] ^= c->x;
        break;
    case MUT_MAC_XOR:
        apdu[5 + enc + c->at] ^= c->x;
        break;
    case MUT_DROP_MAC_LC:
        apdu[4] = (uint8_t)(apdu[4] - 1u);
        /* fall through */
    case MUT_DROP_MAC:
        apdu[n - 2] = 0x00; /* Le moves one byte left */
        n--;
        break;
    case MUT_LC_ADD:
        apdu[4] = (uint8_t)(apdu[4] + c->x);
        break;
    case MUT_LC_SET:
        apdu[4] = c->x;
        break;
    case MUT_NO_LE:
        n--;
        break;
    case MUT_EXTRA:
        apdu[n++] = 0x00;
        break;
    case MUT_CASE1:
        n = 4;
        break;
    case MUT_CASE2:
        apdu[4] = 0x00;
        n = 5;
        break;
    case MUT_SHORT_BODY:
        apdu[4] = 0x07;
        memmove(apdu + 5, apdu + 5 + enc, 7); /* 7 MAC bytes */
        apdu[12] = 0x00;
        n = 13;
        break;
    case MUT_DROP_BLOCK:
        assert_true(enc >= 32);
        memmove(apdu + 5 + enc - 16, apdu + 5 + enc, OCP_MAC_LEN + 1);
        apdu[4] = (uint8_t)(apdu[4] - 16u);
        n -= 16;
        break;
    case MUT_SWAP_BLOCKS:
        assert_true(enc == 32);
        memcpy(tmp, apdu + 5, 16);
        memmove(apdu + 5, apdu + 21, 16);
        memcpy(apdu + 21, tmp, 16);
        break;
    default:
        fail();
    }
    return n;
}

static void test_sm_errors(void **state)
{
    size_t i;
    (void)state;
    mismatches = 0;
    for (i = 0; i < ROWS(sm_error_cases); i++) {
        const struct sm_error_case *c = &sm_error_cases[i];
        ocp_session *s = NULL;
        uint8_t apdu[300];
        size_t n, rlen = 99;
        uint16_t sw;

        assert_int_equal(open_role(bases[c->base].role, 0, &s), OCP_OK);
        n = build_bad(s, c, apdu);
        assert_true(n >= 4 && n <= 261);
        snap();
        sw = raw(apdu, n, &rlen);
        check_sw("sm", c->name, sw, c->sw);
        if (rlen != 0)
            mismatch("sm", c->name, "answer carries %zu bytes (not plain)",
                     rlen);
        check_nvm("sm", c->name);
        /* The session is over: what would have been the next valid
         * command is refused, unprotected. */
        if (!session_gone(s, &sw))
            mismatch("sm", c->name,
                     "session still open: next protected command SW %04X",
                     (unsigned)sw);
        ocp_session_close(s);
        finish(4, "sm", c->name);
    }
    assert_int_equal(mismatches, 0);
}

/* ---- controls: the checks above can fail ------------------------------- */

/* A valid protected command does change the NVM image, and a command built
 * by sm_forge and next_iv from a proper ciphertext is accepted: the 6988s
 * above come from the one defect each row introduces. */
static void test_controls(void **state)
{
    static const uint8_t hdr[4] = {0x00, 0xDA, 0x02, 0x05};
    static const uint8_t day[2] = {0x26, 0x6A};
    uint8_t apdu[64], c[16], iv[16], r[258];
    size_t n, rlen = 0, plain = 0;
    ocp_session *s;
    uint16_t sw;
    (void)state;

    assert_int_equal(fixture_session(&fx, OCP_ROLE_ISSUER, &s), OCP_OK);
    next_iv(&s->sm, iv);
    assert_int_equal(ocp_cbc_encrypt_pad(s->sm.cipher, s->sm.s_enc, iv, day,
                                         sizeof day, c),
                     16);
    n = sm_forge(&s->sm, hdr, c, sizeof c, s->sm.s_mac, apdu);
    snap();
    sw = fixture_raw(&fx, apdu, n, r, &rlen);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(ocp_sm_unwrap_response(&s->sm, r, rlen, sw, &plain), 0);
    port_test_get_image(nvm_after);
    assert_true(port_test_writes() > writes_before);
    assert_true(memcmp(nvm_before, nvm_after, OCP_NVM_SIZE) != 0);
    assert_int_equal(status_probe(s, &sw), OCP_OK);
    assert_int_equal(sw, 0x9000);
    ocp_session_close(s);
}

/* ---- main --------------------------------------------------------------- */

static int setup(void **state)
{
    uint8_t kcv[3];
    (void)state;
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        return -1;
    memset(good_key, 0, sizeof good_key);
    memcpy(good_key, "OCP-TEST-KEY-002", 16);
    ocp_key_check_value(ocp_suite_cipher(OCP_SUITE_AES), good_key, kcv);
    memcpy(good_key + 16, kcv, 3);
    good_key[19] = 0x00;
    memcpy(bad_kcv_key, good_key, 19);
    bad_kcv_key[18] ^= 0x01;
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
        cmocka_unit_test_setup_teardown(test_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unprotected_commands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protected_commands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_protected_card_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sm_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_refusals, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("bad-input cases walked: %lu (plain %lu, unprotected %lu, "
           "protected %lu, secure messaging %lu, roles %lu)\n",
           cases_walked, group_cases[1], group_cases[2], group_cases[3],
           group_cases[4], group_cases[5]);
    return failed;
}
