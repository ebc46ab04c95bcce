/*
 * Block cipher port on the host: AES-128 and SM4 from OpenSSL 3.
 *
 * One cipher context per thread and direction is kept and re-keyed only when
 * the key changes, since a card session uses the same few keys over and
 * over.  The call counter serves the benchmarks and the test port.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ocp_port.h"
#include "port_host.h"

struct keyed_ctx {
    EVP_CIPHER_CTX *ctx;
    uint8_t cipher; /* the cipher ctx was set up for; 0: none yet */
};

static __thread struct keyed_ctx enc_ctx, dec_ctx;
static __thread unsigned long block_calls;

unsigned long port_host_block_calls(void)
{
    return block_calls;
}

static void block(struct keyed_ctx *k, int enc, uint8_t cipher,
                  const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
    int outl = 0;
    block_calls++;
    if (k->ctx == NULL) {
        k->ctx = EVP_CIPHER_CTX_new();
        if (k->ctx == NULL)
            abort();
        k->cipher = 0;
    }
    /* Keyed afresh on every call: caching the schedule would need a
     * comparison of the new key with the cached one, a branch on a secret
     * (tests/ct found it).  Only the cipher's choice, which is public, is
     * kept between calls. */
    if (EVP_CipherInit_ex(k->ctx,
                          k->cipher == cipher ? NULL
                          : cipher == OCP_CIPHER_SM4 ? EVP_sm4_ecb()
                                                     : EVP_aes_128_ecb(),
                          NULL, key, NULL, enc) != 1)
        abort();
    EVP_CIPHER_CTX_set_padding(k->ctx, 0);
    k->cipher = cipher;
    /* A failure here means the OpenSSL build lacks the cipher: no card can
     * work without it, so stop rather than return garbage. */
    if (EVP_CipherUpdate(k->ctx, out, &outl, in, 16) != 1 || outl != 16)
        abort();
}

void port_block_encrypt(uint8_t cipher, const uint8_t key[16],
                        const uint8_t in[16], uint8_t out[16])
{
    block(&enc_ctx, 1, cipher, key, in, out);
}

void port_block_decrypt(uint8_t cipher, const uint8_t key[16],
                        const uint8_t in[16], uint8_t out[16])
{
    block(&dec_ctx, 0, cipher, key, in, out);
}

void port_host_crypto_release(void)
{
    EVP_CIPHER_CTX_free(enc_ctx.ctx);
    EVP_CIPHER_CTX_free(dec_ctx.ctx);
    memset(&enc_ctx, 0, sizeof enc_ctx);
    memset(&dec_ctx, 0, sizeof dec_ctx);
}
