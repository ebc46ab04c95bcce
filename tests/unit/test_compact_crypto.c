/*
 * The compact constant-time ciphers of firmware/port/compact, which the
 * card's chip uses, on the host: their S-boxes on every input, AES-128 and
 * SM4 against the published vectors, and a differential test against
 * OpenSSL over random keys and messages.  CMAC and CBC are proto/crypto.c's,
 * linked here over the compact port, so these tests also run the applet's
 * own constructions over the chip's cipher.
 *
 * Where each vector comes from is noted at its table.  Random inputs come
 * from a fixed-seed generator, so a failure names a case that reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <valgrind/valgrind.h>

#include "test_hex.h"
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "ocp_crypto.h"
#include "ocp_port.h"
#include "port_compact.h"

/* Random cases per cipher in each differential test. */
#define DIFF_CASES 100000u

/*
 * The sanitizer build (OCP_TEST_SANITIZE, at -O0) and the valgrind pass of
 * scripts/test --full look for memory errors, which a fiftieth of the work
 * shows as well as all of it: no buffer or allocation depends on the case
 * count.  At full size they would take minutes; the ordinary build, which
 * scripts/test always runs, keeps the full counts.
 */
static unsigned work_divisor(void)
{
#ifdef OCP_TEST_SANITIZE
    return 50u;
#else
    return RUNNING_ON_VALGRIND ? 50u : 1u;
#endif
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* xorshift64*: reproducible inputs. */
static uint64_t rng_state = 0x243F6A8885A308D3u;

static uint32_t rng32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

static void rng_fill(uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)rng32();
}

/* OpenSSL, fetched once per test: the differential tests make hundreds of
 * thousands of calls. */
struct ossl {
    EVP_CIPHER *ecb, *cbc;
    EVP_CIPHER_CTX *ctx;
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_ctx;
    const char *cbc_name;
};

static void ossl_open(struct ossl *o, uint8_t cipher)
{
    int sm4 = cipher == OCP_CIPHER_SM4;
    o->cbc_name = sm4 ? "SM4-CBC" : "AES-128-CBC";
    o->ecb = EVP_CIPHER_fetch(NULL, sm4 ? "SM4-ECB" : "AES-128-ECB", NULL);
    o->cbc = EVP_CIPHER_fetch(NULL, o->cbc_name, NULL);
    o->ctx = EVP_CIPHER_CTX_new();
    o->mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    assert_non_null(o->ecb);
    assert_non_null(o->cbc);
    assert_non_null(o->ctx);
    assert_non_null(o->mac);
    o->mac_ctx = EVP_MAC_CTX_new(o->mac);
    assert_non_null(o->mac_ctx);
}

static void ossl_close(struct ossl *o)
{
    EVP_MAC_CTX_free(o->mac_ctx);
    EVP_MAC_free(o->mac);
    EVP_CIPHER_CTX_free(o->ctx);
    EVP_CIPHER_free(o->cbc);
    EVP_CIPHER_free(o->ecb);
}

/* ECB (iv NULL) or CBC without padding; len a multiple of 16. */
static void ossl_crypt(struct ossl *o, int enc, const uint8_t key[16],
                       const uint8_t *iv, const uint8_t *in, size_t len,
                       uint8_t *out)
{
    int outl = 0, fin = 0;
    assert_int_equal(EVP_CipherInit_ex2(o->ctx, iv ? o->cbc : o->ecb, key,
                                        iv, enc, NULL),
                     1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(o->ctx, 0), 1);
    assert_int_equal(EVP_CipherUpdate(o->ctx, out, &outl, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(o->ctx, out + outl, &fin), 1);
    assert_int_equal((size_t)outl + (size_t)fin, len);
}

static void ossl_cmac(struct ossl *o, const uint8_t key[16],
                      const uint8_t *data, size_t len, uint8_t tag[16])
{
    OSSL_PARAM params[2];
    size_t out_len = 0;
    static const uint8_t none[1] = {0};

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                 (char *)o->cbc_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_MAC_init(o->mac_ctx, key, 16, params), 1);
    assert_int_equal(EVP_MAC_update(o->mac_ctx, len ? data : none, len), 1);
    assert_int_equal(EVP_MAC_final(o->mac_ctx, tag, &out_len, 16), 1);
    assert_int_equal(out_len, 16);
}

/* CBC without padding over the compact port, for the SP 800-38A vectors
 * (ocp_cbc_* always pad). */
static void cbc_raw(uint8_t cipher, int enc, const uint8_t key[16],
                    const uint8_t iv[16], const uint8_t *in, size_t len,
                    uint8_t *out)
{
    uint8_t chain[16], block[16];
    size_t off;
    unsigned i;
    memcpy(chain, iv, 16);
    for (off = 0; off < len; off += 16) {
        if (enc) {
            for (i = 0; i < 16; i++)
                block[i] = (uint8_t)(in[off + i] ^ chain[i]);
            port_block_encrypt(cipher, key, block, out + off);
            memcpy(chain, out + off, 16);
        } else {
            port_block_decrypt(cipher, key, in + off, block);
            for (i = 0; i < 16; i++)
                out[off + i] = (uint8_t)(block[i] ^ chain[i]);
            memcpy(chain, in + off, 16);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The S-boxes on all 256 inputs, against their definitions computed here
 * the slow way: inversion by exponentiation, then the affine map.          */

static uint8_t gf_mul(uint8_t a, uint8_t b, unsigned poly)
{
    unsigned r = 0, x = a;
    while (b) {
        if (b & 1u)
            r ^= x;
        b = (uint8_t)(b >> 1);
        x <<= 1;
        if (x & 0x100u)
            x ^= poly;
    }
    return (uint8_t)r;
}

static uint8_t gf_inv(uint8_t a, unsigned poly)
{
    uint8_t r = 1;
    int i;
    for (i = 0; i < 254; i++) /* a^254, and 0 for 0 */
        r = gf_mul(r, a, poly);
    return r;
}

static uint8_t rotl8(uint8_t x, unsigned n)
{
    return (uint8_t)((x << n) | (x >> (8u - n)));
}

/* FIPS-197 5.1.1. */
static uint8_t ref_aes_sbox(uint8_t x)
{
    uint8_t b = gf_inv(x, 0x11Bu);
    return (uint8_t)(b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^
                     rotl8(b, 4) ^ 0x63u);
}

/* Output bit i is the parity of 0xA7 rotated left by i, ANDed with x. */
static uint8_t sm4_affine(uint8_t x)
{
    unsigned i, y = 0;
    for (i = 0; i < 8; i++) {
        unsigned v = (unsigned)(rotl8(0xA7u, i) & x), p = 0;
        while (v) {
            p ^= v & 1u;
            v >>= 1;
        }
        y |= p << i;
    }
    return (uint8_t)(y ^ 0xD3u);
}

/* The SM4 S-box in its algebraic form A.inv(A.x + C) + C over
 * x^8+x^7+x^6+x^5+x^4+x^2+1 (Liu, Ji, Hu et al., "Analysis of the SMS4
 * block cipher", ACISP 2007); test_sboxes checks it against the first row
 * of the standard's table, and the differential test the whole cipher. */
static uint8_t ref_sm4_sbox(uint8_t x)
{
    return sm4_affine(gf_inv(sm4_affine(x), 0x1F5u));
}

enum sbox_kind { SBOX_AES, SBOX_AES_INV, SBOX_SM4 };

/* Puts 32 consecutive inputs from `first` into the lanes, runs the S-box,
 * and reads them back. */
static void sbox32(enum sbox_kind kind, unsigned first, uint32_t inv_lanes,
                   uint8_t out[32])
{
    uint32_t q[8] = {0}, scratch[8];
    unsigned w, j;
    for (w = 0; w < 8; w++) {
        uint32_t word = 0;
        for (j = 0; j < 4; j++)
            word |= (uint32_t)((first + 4 * w + j) & 0xFFu) << (8 * j);
        compact_to_lanes(q, word, 4 * w);
    }
    if (kind == SBOX_AES)
        compact_sbox(q);
    else if (kind == SBOX_AES_INV)
        compact_sbox_aes_inv(q, inv_lanes, scratch);
    else
        compact_sbox_sm4(q, scratch);
    for (w = 0; w < 8; w++) {
        uint32_t word = compact_from_lanes(q, 4 * w);
        for (j = 0; j < 4; j++)
            out[4 * w + j] = (uint8_t)(word >> (8 * j));
    }
}

static void test_sboxes(void **state)
{
    /* GB/T 32907-2016 table 1, first row. */
    static const uint8_t sm4_row0[16] = {0xD6, 0x90, 0xE9, 0xFE, 0xCC, 0xE1,
                                         0x3D, 0xB7, 0x16, 0xB6, 0x14, 0xC2,
                                         0x28, 0xFB, 0x2C, 0x05};
    uint8_t aes_inv[256], out[32];
    unsigned x, first, j;
    (void)state;

    for (x = 0; x < 16; x++)
        assert_int_equal(ref_sm4_sbox((uint8_t)x), sm4_row0[x]);
    for (x = 0; x < 256; x++)
        aes_inv[ref_aes_sbox((uint8_t)x)] = (uint8_t)x;

    for (first = 0; first < 256; first += 32) {
        sbox32(SBOX_AES, first, 0, out);
        for (j = 0; j < 32; j++)
            assert_int_equal(out[j], ref_aes_sbox((uint8_t)(first + j)));
        sbox32(SBOX_SM4, first, 0, out);
        for (j = 0; j < 32; j++)
            assert_int_equal(out[j], ref_sm4_sbox((uint8_t)(first + j)));
        /* Inverse on every lane, then on alternate lanes only: the others
         * get the forward S-box, as the key schedule's lanes do. */
        sbox32(SBOX_AES_INV, first, 0xFFFFFFFFu, out);
        for (j = 0; j < 32; j++)
            assert_int_equal(out[j], aes_inv[first + j]);
        sbox32(SBOX_AES_INV, first, 0x55555555u, out);
        for (j = 0; j < 32; j++)
            assert_int_equal(out[j], j % 2 == 0
                                         ? aes_inv[first + j]
                                         : ref_aes_sbox((uint8_t)(first + j)));
    }
}

/* ------------------------------------------------------------------------ */
/* Block vectors, each checked in both directions and with the output
 * written over the input.                                                  */

struct block_vector {
    uint8_t cipher;
    const char *key, *plain, *cipher_text;
};

static const struct block_vector block_vectors[] = {
    /* FIPS-197 appendix C.1 (AES-128) and appendix B. */
    {OCP_CIPHER_AES128, "000102030405060708090a0b0c0d0e0f",
     "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a"},
    {OCP_CIPHER_AES128, "2b7e151628aed2a6abf7158809cf4f3c",
     "3243f6a8885a308d313198a2e0370734", "3925841d02dc09fbdc118597196a0b32"},
    /* GB/T 32907-2016 appendix A, example 1. */
    {OCP_CIPHER_SM4, "0123456789abcdeffedcba9876543210",
     "0123456789abcdeffedcba9876543210", "681edf34d206965e86b3e94f536e4246"},
};

static void test_block_vectors(void **state)
{
    size_t v;
    (void)state;
    for (v = 0; v < sizeof block_vectors / sizeof block_vectors[0]; v++) {
        const struct block_vector *bv = &block_vectors[v];
        uint8_t key[16], pt[16], ct[16], out[16];
        unhex(bv->key, key, 16);
        unhex(bv->plain, pt, 16);
        unhex(bv->cipher_text, ct, 16);

        port_block_encrypt(bv->cipher, key, pt, out);
        assert_memory_equal(out, ct, 16);
        port_block_decrypt(bv->cipher, key, ct, out);
        assert_memory_equal(out, pt, 16);

        memcpy(out, pt, 16);
        port_block_encrypt(bv->cipher, key, out, out);
        assert_memory_equal(out, ct, 16);
        port_block_decrypt(bv->cipher, key, out, out);
        assert_memory_equal(out, pt, 16);

        /* The key's own buffer as the output (proto/crypto.c never does,
         * but nothing in the port forbids it). */
        memcpy(out, key, 16);
        port_block_encrypt(bv->cipher, out, pt, out);
        assert_memory_equal(out, ct, 16);
    }
}

/* GB/T 32907-2016 appendix A, example 2: example 1's plaintext encrypted
 * 1 000 000 times under the same key.  An instrumented run follows a
 * shorter chain and checks its end against OpenSSL instead. */
static void test_sm4_million(void **state)
{
    uint8_t key[16], block[16], expected[16];
    unsigned long i, n = 1000000ul / work_divisor();
    (void)state;
    unhex("0123456789abcdeffedcba9876543210", key, 16);
    memcpy(block, key, 16);
    if (n == 1000000ul) {
        unhex("595298c7c6fd271f0402f804c33d3f66", expected, 16);
    } else {
        struct ossl o;
        ossl_open(&o, OCP_CIPHER_SM4);
        memcpy(expected, key, 16);
        for (i = 0; i < n; i++)
            ossl_crypt(&o, 1, key, NULL, expected, 16, expected);
        ossl_close(&o);
        print_message("instrumented run: a chain of %lu, against OpenSSL\n",
                      n);
    }
    for (i = 0; i < n; i++)
        port_block_encrypt(OCP_CIPHER_SM4, key, block, block);
    assert_memory_equal(block, expected, 16);
}

/* ------------------------------------------------------------------------ */
/* NIST SP 800-38A F.2.1 and F.2.2: CBC-AES128, both directions; and
 * proto/crypto.c's padded CBC over the compact port, whose first four
 * blocks are the same ciphertext (the fifth is the padding's).             */

static const char sp800_38a_key[] = "2b7e151628aed2a6abf7158809cf4f3c";
static const char sp800_38a_iv[] = "000102030405060708090a0b0c0d0e0f";
static const char sp800_38a_plain[] =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";
static const char sp800_38a_cipher[] =
    "7649abac8119b246cee98e9b12e9197d"
    "5086cb9b507219ee95db113a917678b2"
    "73bed6b8e3c1743b7116e69e22229516"
    "3ff1caa1681fac09120eca307586e1a7";

static void test_aes_cbc_sp800_38a(void **state)
{
    uint8_t key[16], iv[16], pt[64], ct[64], out[80];
    long n;
    (void)state;
    unhex(sp800_38a_key, key, 16);
    unhex(sp800_38a_iv, iv, 16);
    unhex(sp800_38a_plain, pt, 64);
    unhex(sp800_38a_cipher, ct, 64);

    cbc_raw(OCP_CIPHER_AES128, 1, key, iv, pt, 64, out);
    assert_memory_equal(out, ct, 64);
    cbc_raw(OCP_CIPHER_AES128, 0, key, iv, ct, 64, out);
    assert_memory_equal(out, pt, 64);

    assert_int_equal(ocp_cbc_encrypt_pad(OCP_CIPHER_AES128, key, iv, pt, 64,
                                         out),
                     80);
    assert_memory_equal(out, ct, 64);
    n = ocp_cbc_decrypt_unpad(OCP_CIPHER_AES128, key, iv, out, 80);
    assert_int_equal(n, 64);
    assert_memory_equal(out, pt, 64);
}

/* ------------------------------------------------------------------------ */
/* AES-CMAC, RFC 4493 section 4 (the examples of NIST SP 800-38B D.1): each
 * message fed whole, byte by byte, and split at every offset.              */

static const char rfc4493_key[] = "2b7e151628aed2a6abf7158809cf4f3c";

static const struct {
    size_t len; /* first len bytes of sp800_38a_plain, the same message */
    const char *tag;
} rfc4493_vectors[] = {
    {0, "bb1d6929e95937287fa37d129b756746"},
    {16, "070a16b46b4d4144f79bdd9dd04a287c"},
    {40, "dfa66747de9ae63030ca32611497c827"},
    {64, "51f0bebf7e3b9d92fc49741779363cfe"},
};

static void test_aes_cmac_rfc4493(void **state)
{
    uint8_t key[16], msg[64], expected[16], tag[16];
    size_t v, split, i;
    ocp_cmac_ctx c;
    (void)state;
    unhex(rfc4493_key, key, 16);
    unhex(sp800_38a_plain, msg, 64);
    for (v = 0; v < sizeof rfc4493_vectors / sizeof rfc4493_vectors[0]; v++) {
        size_t len = rfc4493_vectors[v].len;
        unhex(rfc4493_vectors[v].tag, expected, 16);

        ocp_cmac(OCP_CIPHER_AES128, key, msg, len, tag);
        assert_memory_equal(tag, expected, 16);

        ocp_cmac_init(&c, OCP_CIPHER_AES128, key);
        for (i = 0; i < len; i++)
            ocp_cmac_update(&c, msg + i, 1);
        ocp_cmac_final(&c, tag);
        assert_memory_equal(tag, expected, 16);

        for (split = 0; split <= len; split++) {
            ocp_cmac_init(&c, OCP_CIPHER_AES128, key);
            ocp_cmac_update(&c, msg, split);
            ocp_cmac_update(&c, msg + split, len - split);
            ocp_cmac_final(&c, tag);
            assert_memory_equal(tag, expected, 16);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* SM4 CBC and CMAC, which have no vectors in GB/T 32907: the standard's
 * key and the SP 800-38A messages, against OpenSSL, for every length from
 * 0 to 64 bytes.                                                           */

static void test_sm4_cbc_cmac(void **state)
{
    struct ossl o;
    uint8_t key[16], iv[16], msg[64], padded[80], expect[80], out[80];
    uint8_t tag[16], expect_tag[16];
    size_t len, total;
    (void)state;
    ossl_open(&o, OCP_CIPHER_SM4);
    unhex("0123456789abcdeffedcba9876543210", key, 16);
    unhex(sp800_38a_iv, iv, 16);
    unhex(sp800_38a_plain, msg, 64);
    for (len = 0; len <= 64; len++) {
        ocp_cmac(OCP_CIPHER_SM4, key, msg, len, tag);
        ossl_cmac(&o, key, msg, len, expect_tag);
        assert_memory_equal(tag, expect_tag, 16);

        total = ocp_padded_len(len);
        memcpy(padded, msg, len);
        padded[len] = 0x80;
        memset(padded + len + 1, 0, total - len - 1);
        ossl_crypt(&o, 1, key, iv, padded, total, expect);
        assert_int_equal(ocp_cbc_encrypt_pad(OCP_CIPHER_SM4, key, iv, msg,
                                             len, out),
                         total);
        assert_memory_equal(out, expect, total);
        assert_int_equal(ocp_cbc_decrypt_unpad(OCP_CIPHER_SM4, key, iv, out,
                                               total),
                         (long)len);
        assert_memory_equal(out, msg, len);
    }
    ossl_close(&o);
}

/* ------------------------------------------------------------------------ */
/* Differential tests against OpenSSL: per cipher, DIFF_CASES random keys
 * with a random block each way; then DIFF_CASES random keys, IVs and
 * messages of random length (0 to 48 bytes: one to four blocks) through
 * proto/crypto.c's CMAC and CBC over the compact port.                     */

static void differential_ecb(uint8_t cipher)
{
    struct ossl o;
    uint8_t key[16], in[16], out[16], expect[16];
    unsigned n, cases = DIFF_CASES / work_divisor();
    ossl_open(&o, cipher);
    for (n = 0; n < cases; n++) {
        rng_fill(key, 16);
        rng_fill(in, 16);
        port_block_encrypt(cipher, key, in, out);
        ossl_crypt(&o, 1, key, NULL, in, 16, expect);
        if (memcmp(out, expect, 16) != 0)
            fail_msg("cipher %u: encryption differs at case %u", cipher, n);
        port_block_decrypt(cipher, key, in, out);
        ossl_crypt(&o, 0, key, NULL, in, 16, expect);
        if (memcmp(out, expect, 16) != 0)
            fail_msg("cipher %u: decryption differs at case %u", cipher, n);
    }
    ossl_close(&o);
    print_message("cipher %u: %u random keys and blocks, both ways, as "
                  "OpenSSL\n",
                  cipher, n);
}

static void test_differential_ecb(void **state)
{
    (void)state;
    differential_ecb(OCP_CIPHER_AES128);
    differential_ecb(OCP_CIPHER_SM4);
}

static void differential_cmac_cbc(uint8_t cipher)
{
    struct ossl o;
    uint8_t key[16], iv[16], msg[48], padded[64], out[64], expect[64];
    uint8_t tag[16];
    unsigned n, cases = DIFF_CASES / work_divisor();
    ossl_open(&o, cipher);
    for (n = 0; n < cases; n++) {
        size_t len = rng32() % (sizeof msg + 1), total = ocp_padded_len(len);
        rng_fill(key, 16);
        rng_fill(iv, 16);
        rng_fill(msg, len);

        ocp_cmac(cipher, key, msg, len, tag);
        ossl_cmac(&o, key, msg, len, expect);
        if (memcmp(tag, expect, 16) != 0)
            fail_msg("cipher %u: CMAC differs at case %u", cipher, n);

        memcpy(padded, msg, len);
        padded[len] = 0x80;
        memset(padded + len + 1, 0, total - len - 1);
        ossl_crypt(&o, 1, key, iv, padded, total, expect);
        if (ocp_cbc_encrypt_pad(cipher, key, iv, msg, len, out) != total ||
            memcmp(out, expect, total) != 0)
            fail_msg("cipher %u: CBC differs at case %u", cipher, n);
        if (ocp_cbc_decrypt_unpad(cipher, key, iv, out, total) != (long)len ||
            memcmp(out, msg, len) != 0)
            fail_msg("cipher %u: CBC round trip fails at case %u", cipher, n);
    }
    ossl_close(&o);
    print_message("cipher %u: %u random keys and messages, CMAC and CBC as "
                  "OpenSSL\n",
                  cipher, n);
}

static void test_differential_cmac_cbc(void **state)
{
    (void)state;
    differential_cmac_cbc(OCP_CIPHER_AES128);
    differential_cmac_cbc(OCP_CIPHER_SM4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sboxes),
        cmocka_unit_test(test_block_vectors),
        cmocka_unit_test(test_sm4_million),
        cmocka_unit_test(test_aes_cbc_sp800_38a),
        cmocka_unit_test(test_aes_cmac_rfc4493),
        cmocka_unit_test(test_sm4_cbc_cmac),
        cmocka_unit_test(test_differential_ecb),
        cmocka_unit_test(test_differential_cmac_cbc),
    };
    return cmocka_run_group_tests_name("compact_crypto", tests, NULL, NULL);
}
