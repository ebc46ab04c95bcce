/* Transaction certificates for the audit; see cert_verify.h. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cert_verify.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"

/*
 * CMAC (NIST SP 800-38B) over the suite's block cipher in ECB mode, keyed
 * once per card: EVP_MAC's generic entry points cost several times the
 * three block encryptions of a 40-byte certificate message.  The result
 * is the same CMAC the card computes; test_cert_verify checks it against
 * the card's certificates and against EVP_MAC on random records.
 */
struct hl_cert_checker {
    ocp_keystore *ks;
    /* The ciphers fetched once: naming them per card would look them up
     * again each time. */
    EVP_CIPHER *cipher[2]; /* [0] AES-128-ECB, [1] SM4-ECB; when needed */
    EVP_CIPHER_CTX *ctx;   /* keyed for the card below */
    const EVP_CIPHER *ctx_cipher; /* the cipher ctx is set up for */
    uint8_t k2[16];        /* CMAC's second subkey (a partial last block) */
    /* The card whose key is in ctx. */
    int keyed;
    uint8_t card_id[8], suite, version;
};

/* A key store keeps caches and a PKCS#11 session: derivations from
 * several audit threads take turns. */
static pthread_mutex_t derive_lock = PTHREAD_MUTEX_INITIALIZER;

ocp_status hl_cert_checker_new(ocp_keystore *ks, hl_cert_checker **out)
{
    hl_cert_checker *c;
    if (ks == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return OCP_E_NOMEM;
    c->ks = ks;
    c->ctx = EVP_CIPHER_CTX_new();
    if (c->ctx == NULL) {
        hl_cert_checker_free(c);
        return OCP_E_CRYPTO;
    }
    *out = c;
    return OCP_OK;
}

void hl_cert_checker_free(hl_cert_checker *c)
{
    if (c == NULL)
        return;
    EVP_CIPHER_CTX_free(c->ctx); /* clears the key schedule */
    EVP_CIPHER_free(c->cipher[0]);
    EVP_CIPHER_free(c->cipher[1]);
    OPENSSL_cleanse(c->k2, sizeof c->k2);
    free(c);
}

/* The suite's cipher (an SM4-less OpenSSL fails only when an SM card
 * turns up). */
static const EVP_CIPHER *suite_cipher(hl_cert_checker *c, uint8_t suite)
{
    int sm = suite == OCP_SUITE_SM;
    if (c->cipher[sm] == NULL)
        c->cipher[sm] =
            EVP_CIPHER_fetch(NULL, sm ? "SM4-ECB" : "AES-128-ECB", NULL);
    return c->cipher[sm];
}

/* Blocks encrypted side by side; in and out may be the same. */
static int encrypt_blocks(EVP_CIPHER_CTX *ctx, const uint8_t *in,
                          uint8_t *out, size_t blocks)
{
    int n = 0;
    return EVP_EncryptUpdate(ctx, out, &n, in, (int)(blocks * 16)) == 1 &&
           (size_t)n == blocks * 16;
}

void hl_cert_message(uint32_t terminal_id, const ocp_use_record *r,
                     uint8_t m[40])
{
    memcpy(m, "TXC1", 4);
    memcpy(m + 4, r->card_id, 8);
    ocp_put_be32(m + 12, r->counter);
    ocp_put_be16(m + 16, r->service);
    m[18] = r->domain;
    ocp_put_be32(m + 19, r->amount);
    ocp_put_be32(m + 23, r->remaining);
    ocp_put_be32(m + 27, terminal_id);
    ocp_put_be32(m + 31, r->seq);
    ocp_put_be32(m + 35, r->datetime);
    m[39] = (uint8_t)(r->flags & (uint8_t)~OCP_TXF_REPEAT);
}

/* Derives the card's transaction key, sets it up and makes CMAC's K2. */
static ocp_status key_card(hl_cert_checker *c, uint8_t suite, uint8_t version,
                           const uint8_t card_id[8])
{
    static const uint8_t zero[16];
    uint8_t key[16], l[16];
    const EVP_CIPHER *cipher = suite_cipher(c, suite);
    ocp_status st;
    c->keyed = 0;
    if (cipher == NULL)
        return OCP_E_CRYPTO;
    pthread_mutex_lock(&derive_lock);
    st = c->ks->ops->card_key(c->ks, suite, card_id, OCP_KEY_TXMAC, version,
                              key);
    pthread_mutex_unlock(&derive_lock);
    if (st != OCP_OK)
        return st;
    /* A new key for the same cipher keeps the context as it is: naming
     * the cipher again would free and rebuild it for every card. */
    if (c->ctx_cipher == cipher)
        st = EVP_EncryptInit_ex2(c->ctx, NULL, key, NULL, NULL) == 1
                 ? OCP_OK
                 : OCP_E_CRYPTO;
    else
        st = EVP_EncryptInit_ex2(c->ctx, cipher, key, NULL, NULL) == 1 &&
                     EVP_CIPHER_CTX_set_padding(c->ctx, 0) == 1
                 ? OCP_OK
                 : OCP_E_CRYPTO;
    c->ctx_cipher = st == OCP_OK ? cipher : NULL;
    if (st == OCP_OK && !encrypt_blocks(c->ctx, zero, l, 1))
        st = OCP_E_CRYPTO;
    OPENSSL_cleanse(key, sizeof key);
    if (st != OCP_OK)
        return st;
    ocp_gf_double(l); /* K1 */
    ocp_gf_double(l); /* K2 */
    memcpy(c->k2, l, 16);
    OPENSSL_cleanse(l, sizeof l);
    memcpy(c->card_id, card_id, 8);
    c->suite = suite;
    c->version = version;
    c->keyed = 1;
    return OCP_OK;
}

/* x ^= y over 16 bytes, a word at a time. */
static void xor16(uint8_t x[16], const uint8_t y[16])
{
    uint64_t a[2], b[2];
    memcpy(a, x, 16);
    memcpy(b, y, 16);
    a[0] ^= b[0];
    a[1] ^= b[1];
    memcpy(x, a, 16);
}

/* Records computed side by side at most (the stack holds their state). */
#define SIDE_BY_SIDE 32

/* The CMACs of n <= SIDE_BY_SIDE 40-byte messages: two full blocks, then
 * the last 8 bytes padded with 80 00.. and masked with K2, each step for
 * every message at once. */
static int cmac40(hl_cert_checker *c, size_t n, const uint8_t (*m)[40],
                  uint8_t (*x)[16])
{
    uint8_t last[16];
    size_t k;
    for (k = 0; k < n; k++)
        memcpy(x[k], m[k], 16);
    if (!encrypt_blocks(c->ctx, x[0], x[0], n))
        return 0;
    for (k = 0; k < n; k++)
        xor16(x[k], m[k] + 16);
    if (!encrypt_blocks(c->ctx, x[0], x[0], n))
        return 0;
    for (k = 0; k < n; k++) {
        memcpy(last, m[k] + 32, 8);
        memcpy(last + 8, "\x80\0\0\0\0\0\0\0", 8);
        xor16(last, c->k2);
        xor16(x[k], last);
    }
    return encrypt_blocks(c->ctx, x[0], x[0], n);
}

ocp_status hl_cert_check_card(hl_cert_checker *c, uint8_t suite,
                              uint8_t version, const uint8_t card_id[8],
                              size_t n, const uint8_t (*m)[40],
                              const uint8_t (*cert)[8], uint8_t *genuine)
{
    uint8_t tag[SIDE_BY_SIDE][16];
    size_t done, k;
    ocp_status st;
    if (c == NULL || card_id == NULL || (n > 0 && (m == NULL ||
                                                   cert == NULL ||
                                                   genuine == NULL)))
        return OCP_E_ARGS;
    if (n == 0)
        return OCP_OK;
    if (!c->keyed || c->suite != suite || c->version != version ||
        memcmp(c->card_id, card_id, 8) != 0) {
        st = key_card(c, suite, version, card_id);
        if (st != OCP_OK)
            return st;
    }
    for (done = 0; done < n;) {
        size_t part = n - done < SIDE_BY_SIDE ? n - done : SIDE_BY_SIDE;
        if (!cmac40(c, part, m + done, tag))
            return OCP_E_CRYPTO;
        for (k = 0; k < part; k++, done++)
            genuine[done] = CRYPTO_memcmp(tag[k], cert[done], 8) == 0;
    }
    return OCP_OK;
}

ocp_status hl_cert_check(hl_cert_checker *c, uint8_t suite, uint8_t version,
                         uint32_t terminal_id, const ocp_use_record *r,
                         int *genuine)
{
    uint8_t m[1][40], ok = 0;
    ocp_status st;
    if (c == NULL || r == NULL || genuine == NULL)
        return OCP_E_ARGS;
    *genuine = 0;
    hl_cert_message(terminal_id, r, m[0]);
    st = hl_cert_check_card(c, suite, version, r->card_id, 1, m,
                            (const uint8_t(*)[8])r->cert, &ok);
    *genuine = ok;
    return st;
}
