/* Transaction certificates for the audit; see cert_verify.h. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "cert_verify.h"
#include "ocp_bytes.h"
#include "ocp_wire.h"

struct hl_cert_checker {
    ocp_keystore *ks;
    EVP_MAC *mac;
    /* One context per suite, its cipher chosen once: naming the cipher at
     * each card's EVP_MAC_init would fetch it by name again each time. */
    EVP_MAC_CTX *suite_ctx[2]; /* [0] AES-128, [1] SM4; made when needed */
    EVP_MAC_CTX *ctx;          /* the one keyed for the card below */
    /* The card whose key is in ctx. */
    int keyed;
    uint8_t card_id[8], suite, version;
};

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
    c->mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (c->mac == NULL) {
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
    /* Each frees the key schedule with it. */
    EVP_MAC_CTX_free(c->suite_ctx[0]);
    EVP_MAC_CTX_free(c->suite_ctx[1]);
    EVP_MAC_free(c->mac);
    free(c);
}

/* The suite's CMAC context, its cipher set (an SM4-less OpenSSL fails
 * only when an SM card turns up). */
static EVP_MAC_CTX *suite_ctx(hl_cert_checker *c, uint8_t suite)
{
    int sm = suite == OCP_SUITE_SM;
    OSSL_PARAM params[2];
    if (c->suite_ctx[sm] != NULL)
        return c->suite_ctx[sm];
    c->suite_ctx[sm] = EVP_MAC_CTX_new(c->mac);
    if (c->suite_ctx[sm] == NULL)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(
        OSSL_MAC_PARAM_CIPHER, sm ? (char *)"SM4-CBC" : (char *)"AES-128-CBC",
        0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(c->suite_ctx[sm], params) != 1) {
        EVP_MAC_CTX_free(c->suite_ctx[sm]);
        c->suite_ctx[sm] = NULL;
    }
    return c->suite_ctx[sm];
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

/* Derives the card's transaction key and sets it up in its suite's CMAC
 * context. */
static ocp_status key_card(hl_cert_checker *c, uint8_t suite, uint8_t version,
                           const uint8_t card_id[8])
{
    uint8_t key[16];
    ocp_status st;
    c->keyed = 0;
    st = c->ks->ops->card_key(c->ks, suite, card_id, OCP_KEY_TXMAC, version,
                              key);
    if (st != OCP_OK)
        return st;
    c->ctx = suite_ctx(c, suite);
    if (c->ctx == NULL || EVP_MAC_init(c->ctx, key, sizeof key, NULL) != 1) {
        OPENSSL_cleanse(key, sizeof key);
        return OCP_E_CRYPTO;
    }
    OPENSSL_cleanse(key, sizeof key);
    memcpy(c->card_id, card_id, 8);
    c->suite = suite;
    c->version = version;
    c->keyed = 1;
    return OCP_OK;
}

ocp_status hl_cert_check(hl_cert_checker *c, uint8_t suite, uint8_t version,
                         uint32_t terminal_id, const ocp_use_record *r,
                         int *genuine)
{
    uint8_t m[40], tag[16];
    size_t tag_len = 0;
    ocp_status st;
    if (c == NULL || r == NULL || genuine == NULL)
        return OCP_E_ARGS;
    *genuine = 0;
    if (!c->keyed || c->suite != suite || c->version != version ||
        memcmp(c->card_id, r->card_id, 8) != 0) {
        st = key_card(c, suite, version, r->card_id);
        if (st != OCP_OK)
            return st;
    } else if (EVP_MAC_init(c->ctx, NULL, 0, NULL) != 1) {
        return OCP_E_CRYPTO; /* restarts with the key it has */
    }
    hl_cert_message(terminal_id, r, m);
    if (EVP_MAC_update(c->ctx, m, sizeof m) != 1 ||
        EVP_MAC_final(c->ctx, tag, &tag_len, sizeof tag) != 1 ||
        tag_len != 16)
        return OCP_E_CRYPTO;
    *genuine = CRYPTO_memcmp(tag, r->cert, 8) == 0;
    return OCP_OK;
}
