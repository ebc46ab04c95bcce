/*
 * Constant time of the chip's own ciphers (firmware/port/compact), checked
 * the ctgrind way as in test_ct.c: keys and secret data are marked
 * undefined for valgrind's memcheck, the code runs, and memcheck reports any
 * branch ("conditional jump or move depends on uninitialised value") or
 * memory index ("use of uninitialised value of size N") that depends on
 * them.  Results are declassified (marked defined) before they are looked
 * at, as a card sends them out.
 *
 * Covered, for AES-128 and SM4: the block cipher both ways with key and
 * input secret, CMAC with key and message secret (proto/crypto.c over the
 * compact port, subkeys included), CBC encryption with key and plaintext
 * secret, and AN10922 diversification from a secret master key.  CBC
 * decryption's padding check reads the plaintext by design (it runs after
 * the MAC has been checked, proto/crypto.c), so only the block decryption
 * under it is covered here.
 *
 * Outside valgrind the client requests do nothing and the program checks
 * the results against the published vectors; ctest runs it under valgrind
 * (tests/ct/CMakeLists.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <valgrind/memcheck.h>

#include "ocp_crypto.h"
#include "ocp_port.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

/* FIPS-197 appendix C.1 and GB/T 32907-2016 appendix A, example 1. */
static const struct {
    uint8_t cipher;
    uint8_t key[16], plain[16], cipher_text[16];
} vectors[] = {
    {OCP_CIPHER_AES128,
     {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
      0x0c, 0x0d, 0x0e, 0x0f},
     {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
      0xcc, 0xdd, 0xee, 0xff},
     {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80,
      0x70, 0xb4, 0xc5, 0x5a}},
    {OCP_CIPHER_SM4,
     {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98,
      0x76, 0x54, 0x32, 0x10},
     {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98,
      0x76, 0x54, 0x32, 0x10},
     {0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f,
      0x53, 0x6e, 0x42, 0x46}},
};
#define N_VECTORS (sizeof vectors / sizeof vectors[0])

static void test_block_both_ways(void **state)
{
    size_t v;
    (void)state;
    for (v = 0; v < N_VECTORS; v++) {
        uint8_t key[16], in[16], out[16];
        memcpy(key, vectors[v].key, 16);
        memcpy(in, vectors[v].plain, 16);
        SECRET(key, 16);
        SECRET(in, 16);
        port_block_encrypt(vectors[v].cipher, key, in, out);
        PUBLIC(out, 16);
        assert_memory_equal(out, vectors[v].cipher_text, 16);

        memcpy(in, vectors[v].cipher_text, 16);
        SECRET(in, 16); /* an inner block of a chain: not public either */
        port_block_decrypt(vectors[v].cipher, key, in, out);
        PUBLIC(out, 16);
        assert_memory_equal(out, vectors[v].plain, 16);
    }
}

static void test_cmac_cbc_diversification(void **state)
{
    static const uint8_t iv[16] = {0};
    static const uint8_t card_id[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0x2A};
    size_t v;
    (void)state;
    for (v = 0; v < N_VECTORS; v++) {
        uint8_t cipher = vectors[v].cipher;
        uint8_t key[16], msg[40], tag[16], expect_tag[16], ct[48];
        uint8_t div[OCP_DIV_INPUT_LEN], card_key[16], expect_card_key[16];
        uint8_t back[48];
        size_t n;

        memcpy(key, vectors[v].key, 16);
        memset(msg, 0x5A, sizeof msg);
        ocp_div_input(card_id, 1, 1, div);
        /* The same computations with nothing secret give the answers. */
        ocp_cmac(cipher, key, msg, sizeof msg, expect_tag);
        ocp_an10922(cipher, key, div, sizeof div, expect_card_key);

        SECRET(key, 16);
        SECRET(msg, sizeof msg);
        ocp_cmac(cipher, key, msg, sizeof msg, tag);
        PUBLIC(tag, 16);
        assert_memory_equal(tag, expect_tag, 16);

        n = ocp_cbc_encrypt_pad(cipher, key, iv, msg, sizeof msg, ct);
        assert_int_equal(n, 48);

        ocp_an10922(cipher, key, div, sizeof div, card_key);
        PUBLIC(card_key, 16);
        assert_memory_equal(card_key, expect_card_key, 16);

        /* The ciphertext goes on the wire; decrypting it back with the
         * secret key checks the encryption (the padding check is left
         * out, see the top of the file). */
        PUBLIC(ct, sizeof ct);
        memcpy(back, ct, sizeof ct);
        PUBLIC(key, 16);
        PUBLIC(msg, sizeof msg);
        assert_int_equal(ocp_cbc_decrypt_unpad(cipher, key, iv, back, 48),
                         (long)sizeof msg);
        assert_memory_equal(back, msg, sizeof msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_both_ways),
        cmocka_unit_test(test_cmac_cbc_diversification),
    };
    return cmocka_run_group_tests_name("ct_compact", tests, NULL, NULL);
}
