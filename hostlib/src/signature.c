/*
 * Issuer signatures: ECDSA P-256 with SHA-256 (AES suite) and SM2 with SM3
 * (SM suite, distinguishing ID 1234567812345678 on both sides).  The card
 * stores r || s (64 bytes); OpenSSL speaks DER, so this file converts.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "hostlib_internal.h"
#include "ocp/issue.h"
#include "ocp_bytes.h"
#include "ocp_wire.h"
#include "signature.h"

static const char sm2_id[] = "1234567812345678";

void ocp_public_message(const ocp_public_info *pub, uint8_t out[33])
{
    memcpy(out, "OCPS", 4);
    memcpy(out + 4, pub->card_id, 8);
    out[12] = pub->suite;
    ocp_put_be16(out + 13, pub->issue_date);
    ocp_put_be16(out + 15, pub->expiry_date);
    memcpy(out + 17, pub->holder_digest, 16);
}

/* Sets up a digest context for the suite; SM2 needs its ID first.  The
 * EVP_MD_CTX does not own a key context given with EVP_MD_CTX_set_pkey_ctx,
 * so *pctx_out must be freed after the digest context. */
static EVP_MD_CTX *md_ctx_for(EVP_PKEY *key, uint8_t suite, int sign,
                              EVP_PKEY_CTX **pctx_out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;
    *pctx_out = NULL;
    if (md == NULL)
        return NULL;
    if (suite == OCP_SUITE_SM) {
        pctx = EVP_PKEY_CTX_new(key, NULL);
        if (pctx == NULL ||
            EVP_PKEY_CTX_set1_id(pctx, sm2_id, sizeof sm2_id - 1) != 1) {
            EVP_PKEY_CTX_free(pctx);
            EVP_MD_CTX_free(md);
            return NULL;
        }
        EVP_MD_CTX_set_pkey_ctx(md, pctx);
        ok = sign ? EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key)
                  : EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, key);
    } else {
        ok = sign ? EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key)
                  : EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key);
    }
    if (ok != 1) {
        EVP_MD_CTX_free(md);
        EVP_PKEY_CTX_free(pctx);
        return NULL;
    }
    *pctx_out = pctx;
    return md;
}

ocp_status hl_sign(EVP_PKEY *key, uint8_t suite, const uint8_t *msg,
                   size_t len, uint8_t sig[64])
{
    uint8_t der[80];
    size_t der_len = sizeof der;
    const unsigned char *p = der;
    ECDSA_SIG *s = NULL;
    ocp_status st = OCP_E_CRYPTO;
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *md = md_ctx_for(key, suite, 1, &pctx);

    if (md == NULL)
        return OCP_E_CRYPTO;
    if (EVP_DigestSign(md, der, &der_len, msg, len) != 1)
        goto out;
    s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (s == NULL ||
        BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) != 32)
        goto out;
    st = OCP_OK;
out:
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    return st;
}

ocp_status hl_verify(EVP_PKEY *key, uint8_t suite, const uint8_t *msg,
                     size_t len, const uint8_t sig[64])
{
    unsigned char *der = NULL;
    int der_len;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    ocp_status st = OCP_E_SIGNATURE;

    if (s == NULL || r == NULL || sv == NULL ||
        ECDSA_SIG_set0(s, r, sv) != 1) {
        BN_free(r);
        BN_free(sv);
        ECDSA_SIG_free(s);
        return OCP_E_CRYPTO;
    }
    der_len = i2d_ECDSA_SIG(s, &der);
    md = md_ctx_for(key, suite, 0, &pctx);
    if (der_len > 0 && md != NULL &&
        EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1)
        st = OCP_OK;
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    return st;
}

ocp_status ocp_verify_public(const ocp_public_info *pub, const uint8_t *der,
                             size_t der_len)
{
    uint8_t msg[33];
    const unsigned char *p = der;
    EVP_PKEY *key;
    ocp_status st;

    if (pub == NULL || der == NULL || der_len > 0x7fffffff)
        return OCP_E_ARGS;
    key = d2i_PUBKEY(NULL, &p, (long)der_len);
    if (key == NULL)
        return OCP_E_ARGS;
    /* The suite decides the algorithm; a key of the other kind fails. */
    if ((pub->suite == OCP_SUITE_SM) != (EVP_PKEY_is_a(key, "SM2") == 1)) {
        EVP_PKEY_free(key);
        return OCP_E_SIGNATURE;
    }
    ocp_public_message(pub, msg);
    st = hl_verify(key, pub->suite, msg, sizeof msg, pub->signature);
    EVP_PKEY_free(key);
    return st;
}
