/*
 * bench_compact_crypto: time per block of the chip's compact constant-time
 * AES-128 and SM4 (firmware/port/compact) on the host, next to OpenSSL in
 * the same run.
 *
 *   bench_compact_crypto [BLOCKS]
 *
 * The port API hands over the key with every block, so the compact ciphers
 * expand it on every call; the fair OpenSSL figure re-keys its context for
 * every block too, as port/host/crypto_openssl.c does ("rekey").  OpenSSL
 * on a context keyed once ("keyed") is printed as well: the price of the
 * per-call key schedule and of its AES-NI against bitslicing.  Rounds of
 * each measurement alternate, and the median round is reported, so both
 * sides see the same machine load.  Prints `name value unit` lines; exits
 * 1 if the chained block does not come back (see the end of main).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ocp_port.h"

#define ROUNDS 9

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum impl { COMPACT, OSSL_REKEY, OSSL_KEYED };

struct bench {
    const char *name;
    uint8_t cipher;
    int enc;
    enum impl impl;
    double round_ns[ROUNDS];
};

static EVP_CIPHER_CTX *ctx;

static void ossl_check(int ok)
{
    if (!ok) {
        fprintf(stderr, "bench_compact_crypto: OpenSSL call failed\n");
        exit(1);
    }
}

/* One round: `blocks` chained blocks (each output is the next input, so
 * nothing can be skipped), returns ns per block. */
static double run_round(const struct bench *b, long blocks, uint8_t key[16],
                        uint8_t block[16])
{
    const EVP_CIPHER *evp =
        b->cipher == OCP_CIPHER_SM4 ? EVP_sm4_ecb() : EVP_aes_128_ecb();
    double t0;
    long i;
    int outl;

    if (b->impl == OSSL_KEYED) {
        ossl_check(EVP_CipherInit_ex(ctx, evp, NULL, key, NULL, b->enc));
        EVP_CIPHER_CTX_set_padding(ctx, 0);
    }
    t0 = now_ns();
    for (i = 0; i < blocks; i++) {
        if (b->impl == COMPACT) {
            if (b->enc)
                port_block_encrypt(b->cipher, key, block, block);
            else
                port_block_decrypt(b->cipher, key, block, block);
            continue;
        }
        if (b->impl == OSSL_REKEY) {
            ossl_check(EVP_CipherInit_ex(ctx, evp, NULL, key, NULL, b->enc));
            EVP_CIPHER_CTX_set_padding(ctx, 0);
        }
        ossl_check(EVP_CipherUpdate(ctx, block, &outl, block, 16) &&
                   outl == 16);
    }
    return (now_ns() - t0) / (double)blocks;
}

int main(int argc, char **argv)
{
    static struct bench benches[] = {
        {"compact_aes128_encrypt", OCP_CIPHER_AES128, 1, COMPACT, {0}},
        {"openssl_rekey_aes128_encrypt", OCP_CIPHER_AES128, 1, OSSL_REKEY,
         {0}},
        {"openssl_keyed_aes128_encrypt", OCP_CIPHER_AES128, 1, OSSL_KEYED,
         {0}},
        {"compact_aes128_decrypt", OCP_CIPHER_AES128, 0, COMPACT, {0}},
        {"openssl_rekey_aes128_decrypt", OCP_CIPHER_AES128, 0, OSSL_REKEY,
         {0}},
        {"openssl_keyed_aes128_decrypt", OCP_CIPHER_AES128, 0, OSSL_KEYED,
         {0}},
        {"compact_sm4_encrypt", OCP_CIPHER_SM4, 1, COMPACT, {0}},
        {"openssl_rekey_sm4_encrypt", OCP_CIPHER_SM4, 1, OSSL_REKEY, {0}},
        {"openssl_keyed_sm4_encrypt", OCP_CIPHER_SM4, 1, OSSL_KEYED, {0}},
        {"compact_sm4_decrypt", OCP_CIPHER_SM4, 0, COMPACT, {0}},
        {"openssl_rekey_sm4_decrypt", OCP_CIPHER_SM4, 0, OSSL_REKEY, {0}},
        {"openssl_keyed_sm4_decrypt", OCP_CIPHER_SM4, 0, OSSL_KEYED, {0}},
    };
    const size_t n = sizeof benches / sizeof benches[0];
    uint8_t key[16], block[16], start[16];
    long blocks = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    size_t k;
    int r;

    if (blocks < 1) {
        fprintf(stderr, "usage: bench_compact_crypto [BLOCKS]\n");
        return 2;
    }
    ctx = EVP_CIPHER_CTX_new();
    ossl_check(ctx != NULL);
    for (k = 0; k < 16; k++) {
        key[k] = (uint8_t)(0x2B + 7 * k);
        block[k] = (uint8_t)k;
    }
    memcpy(start, block, 16);
    for (r = 0; r < ROUNDS; r++)
        for (k = 0; k < n; k++)
            benches[k].round_ns[r] = run_round(&benches[k], blocks, key, block);
    for (k = 0; k < n; k++) {
        qsort(benches[k].round_ns, ROUNDS, sizeof(double), cmp_double);
        printf("%s %.0f ns/block\n", benches[k].name,
               benches[k].round_ns[ROUNDS / 2]);
    }
    /* One block runs through everything: each cipher's encryptions by all
     * three, then as many decryptions by all three.  It comes back only if
     * the compact ciphers and OpenSSL agree. */
    k = memcmp(block, start, 16) == 0;
    printf("chain_returned %u bool\n", (unsigned)k);
    EVP_CIPHER_CTX_free(ctx);
    return k ? 0 : 1;
}
