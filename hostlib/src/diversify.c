/* Card-key diversification with cached master schedules; see diversify.h. */
#include <openssl/crypto.h>
#include <string.h>

#include "diversify.h"
#include "ocp_crypto.h"
#include "ocp_port.h"

static int encrypt_block(EVP_CIPHER_CTX *ecb, const uint8_t in[16],
                         uint8_t out[16])
{
    int len = 0;
    return EVP_EncryptUpdate(ecb, out, &len, in, 16) == 1 && len == 16;
}

hl_diversifier *hl_div_find(hl_div_cache *c, uint8_t suite, uint8_t slot,
                            uint8_t version)
{
    unsigned i;
    for (i = 0; i < HL_DIV_CACHE_SIZE; i++)
        if (c->e[i].suite == suite && c->e[i].suite != 0 &&
            c->e[i].slot == slot && c->e[i].version == version)
            return &c->e[i];
    return NULL;
}

static void entry_wipe(hl_diversifier *d)
{
    EVP_CIPHER_CTX_free(d->ecb); /* the provider clears the schedule */
    OPENSSL_cleanse(d, sizeof *d);
}

ocp_status hl_div_add(hl_div_cache *c, uint8_t suite, uint8_t slot,
                      uint8_t version, const uint8_t master[16],
                      hl_diversifier **out)
{
    hl_diversifier *d = &c->e[c->next];
    static const uint8_t zero[16];
    uint8_t cipher = ocp_suite_cipher(suite);

    *out = NULL;
    if (cipher == 0)
        return OCP_E_ARGS;
    c->next = (c->next + 1) % HL_DIV_CACHE_SIZE;
    entry_wipe(d);
    d->ecb = EVP_CIPHER_CTX_new();
    if (d->ecb == NULL ||
        EVP_EncryptInit_ex(d->ecb,
                           cipher == OCP_CIPHER_SM4 ? EVP_sm4_ecb()
                                                    : EVP_aes_128_ecb(),
                           NULL, master, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(d->ecb, 0) != 1 ||
        !encrypt_block(d->ecb, zero, d->k2)) {
        entry_wipe(d);
        return OCP_E_CRYPTO;
    }
    /* L = E(0), K1 = 2L, K2 = 4L: 01 || 18-byte input is 19 bytes, never
     * a full 32, so AN10922 always pads and always takes K2. */
    ocp_gf_double(d->k2);
    ocp_gf_double(d->k2);
    d->suite = suite;
    d->slot = slot;
    d->version = version;
    *out = d;
    return OCP_OK;
}

ocp_status hl_div_derive(const hl_diversifier *d, const uint8_t card_id[8],
                         uint8_t out[16])
{
    uint8_t m[32], state[16];
    ocp_status st = OCP_OK;
    int i;

    /* CMAC over the two blocks 01 || input || 80 00..: CBC with the last
     * block masked by K2. */
    memset(m, 0, sizeof m);
    m[0] = 0x01;
    ocp_div_input(card_id, d->slot, d->version, m + 1);
    m[1 + OCP_DIV_INPUT_LEN] = 0x80;
    if (!encrypt_block(d->ecb, m, state))
        st = OCP_E_CRYPTO;
    for (i = 0; i < 16; i++)
        state[i] ^= (uint8_t)(m[16 + i] ^ d->k2[i]);
    if (st == OCP_OK && !encrypt_block(d->ecb, state, out))
        st = OCP_E_CRYPTO;
    OPENSSL_cleanse(m, sizeof m);
    OPENSSL_cleanse(state, sizeof state);
    return st;
}

void hl_div_cache_wipe(hl_div_cache *c)
{
    unsigned i;
    for (i = 0; i < HL_DIV_CACHE_SIZE; i++)
        entry_wipe(&c->e[i]);
    c->next = 0;
}
