/*
 * Constant time, checked the ctgrind way: each secret (a key, a PIN, a
 * MAC the card expects) is marked undefined for valgrind's memcheck, the
 * code under test runs, and memcheck reports any branch or memory index
 * that depends on it ("conditional jump depends on uninitialised value",
 * "use of uninitialised value").  Only the final yes/no of a comparison is
 * public by design; the test marks that result defined again
 * (declassifies it) before it looks at it.
 *
 * Outside valgrind the client requests do nothing and the program only
 * checks the results; ctest runs it under valgrind (tests/ct/CMakeLists.txt).
 *
 * Covered: the comparison every MAC, cryptogram and PIN check goes through
 * (ocp_ct_compare), the card's PIN comparison, CMAC and the AN10922 key
 * diversification, the session-key derivation and host cryptogram, and the
 * protection of a command that carries a PIN, all with the AES suite.  The
 * SM4 suite's block cipher on the host is OpenSSL's table-based SM4 and is
 * not claimed constant time here (docs/RELIABILITY.md); the card's own SM4
 * belongs to the firmware port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <valgrind/memcheck.h>

#include "card_internal.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_sm.h"
#include "ocp_wire.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static const uint8_t key_a[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae,
                                  0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88,
                                  0x09, 0xcf, 0x4f, 0x3c};

static int declassified(int v)
{
    PUBLIC(&v, sizeof v);
    return v;
}

static void test_ct_compare(void **state)
{
    uint8_t a[16], b[16];
    int i;
    (void)state;
    for (i = 0; i < 16; i++) {
        memcpy(a, key_a, 16);
        memcpy(b, key_a, 16);
        b[i] ^= 0x40; /* differ at each position in turn */
        SECRET(a, 16);
        SECRET(b, 16);
        assert_int_equal(declassified(ocp_ct_compare(a, b, 16)), 1);
        memcpy(b, a, 16);
        assert_int_equal(declassified(ocp_ct_compare(a, b, 16)), 0);
    }
}

static void test_pin_compare(void **state)
{
    uint8_t rec[STORE_PAYLOAD];
    static const char *tries[] = {"2468", "2469", "1468", "246", "24680",
                                  "24681357", ""};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        uint8_t given[OCP_PIN_MAX];
        size_t len = strlen(tries[i]);
        memset(rec, 0, sizeof rec);
        rec[0] = 4;
        memcpy(rec + 1, "2468", 4);
        memcpy(given, tries[i], len);
        SECRET(rec, sizeof rec); /* the stored PIN and its length */
        SECRET(given, len);      /* the PIN typed in */
        assert_int_equal(declassified(card_pin_differs(rec, given, len)),
                         i != 0);
    }
}

static void test_cmac_and_diversification(void **state)
{
    uint8_t key[16], msg[40], tag[16], card_key[16], div[OCP_DIV_INPUT_LEN];
    static const uint8_t card_id[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0x2A};
    uint8_t kcv[3];
    (void)state;
    memcpy(key, key_a, 16);
    memset(msg, 0x5A, sizeof msg);
    SECRET(key, 16);
    SECRET(msg, sizeof msg);
    ocp_cmac(OCP_CIPHER_AES128, key, msg, sizeof msg, tag);
    ocp_div_input(card_id, OCP_ROLE_TRANSIT, 1, div);
    ocp_an10922(OCP_CIPHER_AES128, key, div, sizeof div, card_key);
    ocp_key_check_value(OCP_CIPHER_AES128, card_key, kcv);
    /* The outputs are still secret: only their use would tell. */
    PUBLIC(tag, 16);
    PUBLIC(kcv, 3);
    assert_int_not_equal(tag[0] | tag[1] | tag[2] | tag[3], 0);
}

static void test_session_and_pin_command(void **state)
{
    ocp_sm_session s;
    uint8_t key[16], ctx[OCP_SM_CONTEXT_LEN], crypt[8], apdu[300];
    uint8_t rh[8] = {1, 2, 3, 4, 5, 6, 7, 8}, rc[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    uint8_t pin[4] = {'2', '4', '6', '8'};
    static const uint8_t hdr[4] = {OCP_CLA_ISO, OCP_INS_VERIFY, 0x00, 0x81};
    size_t n;
    (void)state;
    memcpy(key, key_a, 16);
    SECRET(key, 16);
    ocp_sm_context(rh, rc, OCP_ROLE_KIOSK, 0x0A000001u, 123456u, ctx);
    ocp_sm_begin(&s, OCP_CIPHER_AES128, key, ctx, crypt);
    PUBLIC(crypt, 8); /* the host cryptogram goes on the wire */
    SECRET(pin, sizeof pin);
    n = ocp_sm_wrap_command(&s, hdr, pin, sizeof pin, apdu, sizeof apdu);
    assert_int_equal(n, 5 + 16 + 8 + 1);
    ocp_sm_end(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_compare),
        cmocka_unit_test(test_pin_compare),
        cmocka_unit_test(test_cmac_and_diversification),
        cmocka_unit_test(test_session_and_pin_command),
    };
    return cmocka_run_group_tests_name("ct", tests, NULL, NULL);
}
