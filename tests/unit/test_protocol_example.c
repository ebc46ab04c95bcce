/*
 * The worked example of docs/PROTOCOL.md section 10, byte for byte: if the
 * code or the document changes, this test says which one to fix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_sm.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (s[0] && s[1]) {
        unsigned v;
        if (s[0] == ' ') {
            s++;
            continue;
        }
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

#define assert_hex(bytes, len, text)                                         \
    do {                                                                     \
        uint8_t want_[256];                                                  \
        size_t want_len_ = unhex(text, want_);                               \
        assert_int_equal((len), want_len_);                                  \
        assert_memory_equal((bytes), want_, want_len_);                      \
    } while (0)

static void test_worked_example(void **state)
{
    static const uint8_t dev_root[16] = "OCP-DEV-ONLY-KEY";
    static const uint8_t id[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0x2A};
    static const uint8_t rh[8] = {0x11, 0x22, 0x33, 0x44,
                                  0x55, 0x66, 0x77, 0x88};
    static const uint8_t rc[8] = {0xA1, 0xA2, 0xA3, 0xA4,
                                  0xA5, 0xA6, 0xA7, 0xA8};
    const uint8_t m[7] = {'M', 'S', 'T', 'R', 1, 2, 1};
    const uint8_t hdr[4] = {0x80, 0x30, 0x00, 0x00};
    const uint8_t consume[10] = {0x01, 0x01, 0, 0, 0, 1, 0, 0, 0, 1};
    uint8_t master[16], div[OCP_DIV_INPUT_LEN], key[16], ctx[25];
    uint8_t host_cryptogram[8], card_cryptogram[8], buf[300], apdu[300];
    ocp_sm_session host, card;
    size_t n, plain;
    (void)state;

    ocp_cmac(OCP_CIPHER_AES128, dev_root, m, sizeof m, master);
    assert_hex(master, 16, "859568DAE97C6034F8F94CFD5E97368C");
    ocp_div_input(id, 2, 1, div);
    assert_hex(div, sizeof div, "4F4350000000002A02014F43502D4B455931");
    ocp_an10922(OCP_CIPHER_AES128, master, div, sizeof div, key);
    assert_hex(key, 16, "66F528ED28D96F19DDBDA141D711CF1B");
    {
        /* With an 18-byte input, AN10922 is plain CMAC of 01 || m: what a
         * PKCS#11 token computes with CKM_AES_CMAC. */
        uint8_t d[1 + OCP_DIV_INPUT_LEN], tag[16];
        d[0] = 0x01;
        memcpy(d + 1, div, sizeof div);
        ocp_cmac(OCP_CIPHER_AES128, master, d, sizeof d, tag);
        assert_memory_equal(tag, key, 16);
    }

    ocp_sm_context(rh, rc, 2, 0x0B000001u, 9829u * 1440u + 600u, ctx);
    assert_hex(ctx, sizeof ctx,
               "1122334455667788A1A2A3A4A5A6A7A8020B00000100D7FA78");
    ocp_sm_begin(&host, OCP_CIPHER_AES128, key, ctx, host_cryptogram);
    ocp_sm_begin(&card, OCP_CIPHER_AES128, key, ctx, card_cryptogram);
    assert_hex(host.s_enc, 16, "AAA9FA253CC402172DB58F8CDE824391");
    assert_hex(host.s_mac, 16, "34A8FFF6CCBB9177599AD7698AA32B36");
    assert_hex(host.s_rmac, 16, "8B6F72FBD7B9E029EEE1509CD9591F61");
    assert_hex(host_cryptogram, 8, "543A492BC0C88E98");

    memset(buf, 0, 27);
    n = ocp_sm_wrap_response(&card, buf, 27, 0x9000);
    assert_hex(buf, n, "88DAB83B44C6C1A1381865F65E5B46DF"
                       "CA95AD22484B69F70475AE363DDB83AC37D06F0D6C870D88");
    assert_int_equal(ocp_sm_unwrap_response(&host, buf, n, 0x9000, &plain),
                     0);
    assert_int_equal(plain, 27);

    n = ocp_sm_wrap_command(&host, hdr, consume, sizeof consume, apdu,
                            sizeof apdu);
    assert_hex(apdu, n, "84300000189B273E4A9BFA6E23A114FE7079C66678"
                        "AB2B2EA0BFC4FAD900");
    assert_int_equal(
        ocp_sm_unwrap_command(&card, apdu, apdu + 5, apdu[4], &plain), 0);
    assert_int_equal(plain, sizeof consume);
    assert_memory_equal(apdu + 5, consume, sizeof consume);

    n = unhex("00000001 00000000 00 EBEE0B2CA104DF54", buf);
    n = ocp_sm_wrap_response(&card, buf, n, 0x9000);
    assert_hex(buf, n, "9F7D933DA43D0F278FC3F651CD6947C69BC35AC992843968"
                       "C97F7D93ED0EF3EDBAE0619D87D50350");
    assert_int_equal(ocp_sm_unwrap_response(&host, buf, n, 0x9000, &plain),
                     0);
    assert_int_equal(plain, 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_worked_example)};
    return cmocka_run_group_tests_name("protocol_example", tests, NULL, NULL);
}
