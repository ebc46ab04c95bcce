/*
 * The development key store: everything a demo or a test needs, nothing a
 * real card should ever hold.  Master key (suite, slot, version) =
 * CMAC-AES(dev root, "MSTR" | suite | slot | version); the batch transport
 * key is ocp-card's development default.  Issuer key pairs are generated on
 * first use into `dir` as PEM (0600), so a card issued today still verifies
 * tomorrow.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diversify.h"
#include "ocp/keystore.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"
#include "signature.h"

static const uint8_t dev_root[16] = {'O', 'C', 'P', '-', 'D', 'E', 'V', '-',
                                     'O', 'N', 'L', 'Y', '-', 'K', 'E', 'Y'};
static const uint8_t dev_batch[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                      0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
                                      0x0C, 0x0D, 0x0E, 0x0F};

struct dev_store {
    EVP_PKEY *issuer[2]; /* [0] P-256 for AES, [1] SM2 */
    hl_div_cache masters; /* the audit derives one key per card */
};

static void master_key(uint8_t suite, uint8_t slot, uint8_t version,
                       uint8_t out[16])
{
    uint8_t m[7] = {'M', 'S', 'T', 'R', suite, slot, version};
    ocp_cmac(OCP_CIPHER_AES128, dev_root, m, sizeof m, out);
}

static ocp_status dev_card_key(ocp_keystore *ks, uint8_t suite,
                               const uint8_t card_id[8], uint8_t slot,
                               uint8_t version, uint8_t out[16])
{
    struct dev_store *d = ks->ctx;
    hl_diversifier *div;
    uint8_t master[16];
    ocp_status st = OCP_OK;
    if (ocp_suite_cipher(suite) == 0 || slot < 1 || slot > OCP_KEY_HOLDER ||
        version == 0)
        return OCP_E_ARGS;
    div = hl_div_find(&d->masters, suite, slot, version);
    if (div == NULL) {
        master_key(suite, slot, version, master);
        st = hl_div_add(&d->masters, suite, slot, version, master, &div);
        OPENSSL_cleanse(master, sizeof master);
    }
    return st == OCP_OK ? hl_div_derive(div, card_id, out) : st;
}

static ocp_status dev_transport_key(ocp_keystore *ks,
                                    const uint8_t card_id[8], uint8_t out[16])
{
    uint8_t div[OCP_DIV_INPUT_LEN];
    (void)ks;
    ocp_div_input(card_id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, dev_batch, div, sizeof div, out);
    return OCP_OK;
}

static EVP_PKEY *issuer_key(ocp_keystore *ks, uint8_t suite)
{
    struct dev_store *d = ks->ctx;
    return d->issuer[suite == OCP_SUITE_SM ? 1 : 0];
}

static ocp_status dev_sign(ocp_keystore *ks, uint8_t suite,
                           const uint8_t *msg, size_t len, uint8_t sig[64])
{
    return hl_sign(issuer_key(ks, suite), suite, msg, len, sig);
}

static ocp_status dev_public_key(ocp_keystore *ks, uint8_t suite,
                                 uint8_t *der, size_t *len)
{
    unsigned char *buf = NULL;
    int n = i2d_PUBKEY(issuer_key(ks, suite), &buf);
    ocp_status st = OCP_OK;
    if (n <= 0)
        return OCP_E_CRYPTO;
    if ((size_t)n > *len)
        st = OCP_E_BUFFER;
    else
        memcpy(der, buf, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(buf);
    return st;
}

static uint8_t dev_version(ocp_keystore *ks, uint8_t suite, uint8_t slot)
{
    (void)ks;
    return ocp_suite_cipher(suite) && slot >= 1 && slot <= OCP_KEY_HOLDER
               ? 1
               : 0;
}

static ocp_status dev_list(ocp_keystore *ks, ocp_key_info *out,
                           size_t *count)
{
    size_t n = 0, cap = *count;
    uint8_t suite, slot, key[16];
    (void)ks;
    for (suite = OCP_SUITE_AES; suite <= OCP_SUITE_SM; suite++)
        for (slot = 1; slot <= OCP_KEY_HOLDER; slot++, n++) {
            if (n >= cap)
                continue;
            out[n].suite = suite;
            out[n].slot = slot;
            out[n].version = 1;
            out[n].current = 1;
            master_key(suite, slot, 1, key);
            ocp_key_check_value(ocp_suite_cipher(suite), key, out[n].kcv);
        }
    OPENSSL_cleanse(key, sizeof key);
    *count = n;
    return n > cap ? OCP_E_BUFFER : OCP_OK;
}

static void dev_close(ocp_keystore *ks)
{
    struct dev_store *d = ks->ctx;
    EVP_PKEY_free(d->issuer[0]);
    EVP_PKEY_free(d->issuer[1]);
    hl_div_cache_wipe(&d->masters);
    free(d);
    free(ks);
}

static const struct ocp_keystore_ops dev_ops = {
    dev_card_key, dev_transport_key, dev_sign,  dev_public_key,
    dev_version,  dev_list,          NULL,      dev_close};

/* Loads dir/name, or makes a key of `type` and saves it there. */
static EVP_PKEY *load_or_make(const char *dir, const char *name,
                              const char *type)
{
    char path[4096];
    EVP_PKEY *key = NULL;
    FILE *f;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
        sizeof path)
        return NULL;
    f = fopen(path, "r");
    if (f != NULL) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        return key;
    }
    if (strcmp(type, "SM2") == 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    else
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL)
        return NULL;
    {
        mode_t old = umask(077);
        f = fopen(path, "w");
        umask(old);
    }
    if (f == NULL ||
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
        if (f)
            fclose(f);
        EVP_PKEY_free(key);
        return NULL;
    }
    fclose(f);
    return key;
}

ocp_status ocp_keystore_dev_open(const char *dir, ocp_keystore **out)
{
    ocp_keystore *ks;
    struct dev_store *d;

    if (dir == NULL || out == NULL)
        return OCP_E_ARGS;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return OCP_E_IO;
    ks = calloc(1, sizeof *ks);
    d = calloc(1, sizeof *d);
    if (ks == NULL || d == NULL) {
        free(ks);
        free(d);
        return OCP_E_NOMEM;
    }
    ks->ops = &dev_ops;
    ks->ctx = d;
    d->issuer[0] = load_or_make(dir, "issuer-p256.pem", "EC");
    d->issuer[1] = load_or_make(dir, "issuer-sm2.pem", "SM2");
    if (d->issuer[0] == NULL || d->issuer[1] == NULL) {
        dev_close(ks);
        return OCP_E_CRYPTO;
    }
    *out = ks;
    return OCP_OK;
}

void ocp_keystore_close(ocp_keystore *ks)
{
    if (ks != NULL && ks->ops != NULL)
        ks->ops->close(ks);
}
