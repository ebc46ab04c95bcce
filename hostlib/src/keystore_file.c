/*
 * The key-file store (ocp/keyfile.h; the format is docs/KEYFILE.md).
 *
 * The whole file is read, authenticated and checked before any of it is
 * used, and the store lives in memory until it is closed: a file is either
 * used whole or refused.  Every change is saved at once through PATH.tmp
 * and rename(), and undone in memory if the save fails, so the store and
 * the file never disagree.
 *
 * The scrypt output (the file key) is kept while the store is open, never
 * the passphrase: a save draws a new GCM nonce and costs no scrypt.
 *
 * Master keys are kept sorted by (suite, slot, version) and batches by id,
 * so lookups are bsearch and the newest version of a slot is the last of
 * its run.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diversify.h"
#include "ocp/keyfile.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"
#include "signature.h"

/* ---- the format (docs/KEYFILE.md) -------------------------------------- */

static const uint8_t kf_magic[8] = {'O', 'C', 'P', 'K', 'E', 'Y', 'S', '1'};
#define KF_FORMAT 1u
#define KF_KDF_SCRYPT 1u
#define KF_LOG2N 15u
#define KF_R 8u
#define KF_P 1u
#define KF_SALT_LEN 16u
#define KF_NONCE_LEN 12u
#define KF_TAG_LEN 16u
#define KF_HEADER_LEN 45u /* magic .. ciphertext length: the GCM AAD */
#define KF_FILE_KEY_LEN 32u
#define KF_MAX_PAYLOAD (16ul << 20)
#define KF_SCRYPT_MAX_MEM (256ul << 20) /* 128 * r * N */

#define KF_MAX_VERSION 254u
#define KF_GROUPS (2u * OCP_KEY_HOLDER) /* (suite, slot) pairs */
#define KF_MAX_MASTERS (KF_GROUPS * KF_MAX_VERSION)
#define KF_MAX_BATCHES 65536u
#define KF_MAX_DER 2048u

#define TAG_MASTER 0x01u
#define TAG_ISSUER 0x02u
#define TAG_BATCH 0x03u
#define MASTER_VALUE_LEN 20u
#define BATCH_VALUE_LEN 20u

struct kf_master {
    uint8_t suite, slot, version, current;
    uint8_t key[16];
};

struct kf_batch {
    uint8_t id[4];
    uint8_t key[16];
};

struct kf_store {
    char *path;
    uint8_t log2n, r, p;
    uint8_t salt[KF_SALT_LEN];
    uint8_t file_key[KF_FILE_KEY_LEN];
    EVP_PKEY *issuer[2]; /* [0] P-256 for AES, [1] SM2 */
    struct kf_batch *batches;
    size_t n_batches, cap_batches;
    size_t n_masters;
    /* Fixed size (about 100 KiB): no realloc ever leaves key bytes in
     * freed memory. */
    struct kf_master masters[KF_MAX_MASTERS];
    /* The schedules of the masters card_key used last: an audit derives
     * one key per card, all from one master. */
    hl_div_cache schedules;
};

/* ---- errors ------------------------------------------------------------ */

static __thread char last_error[640];

const char *ocp_keyfile_last_error(void)
{
    return last_error;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void set_error(const char *fmt, ...)
{
    va_list ap;
    int saved = errno; /* callers report errno after us */
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    errno = saved;
}

/* ---- tests only -------------------------------------------------------- */

/*
 * The scrypt cost of files created from now on.  Not in any header and not
 * exported from the shared library: a unit test lowers it so that hundreds
 * of opens (and valgrind) stay fast.  Opening reads the cost from the file.
 */
void hl_keyfile_test_log2n(uint8_t log2n);
static uint8_t create_log2n = KF_LOG2N;

void hl_keyfile_test_log2n(uint8_t log2n)
{
    create_log2n = log2n;
}

/* ---- crypto helpers ---------------------------------------------------- */

static int suite_index(uint8_t suite)
{
    return suite == OCP_SUITE_AES ? 0 : suite == OCP_SUITE_SM ? 1 : -1;
}

/* The bounds a reader enforces before spending memory on scrypt. */
static int scrypt_params_ok(uint8_t log2n, uint8_t r, uint8_t p)
{
    return log2n >= 10 && log2n <= 20 && r >= 1 && r <= 16 && p >= 1 &&
           p <= 16 &&
           ((unsigned long)128 * r << log2n) <= KF_SCRYPT_MAX_MEM;
}

static ocp_status derive_file_key(struct kf_store *s, const char *passphrase)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << s->log2n;
    /* scrypt also needs 128 * r * p bytes besides V: leave it room. */
    uint64_t maxmem = 2 * (uint64_t)KF_SCRYPT_MAX_MEM;
    uint32_t r = s->r, p = s->p;
    OSSL_PARAM params[7], *q = params;
    ocp_status st = OCP_OK;

    *q++ = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_PASSWORD, (void *)passphrase, strlen(passphrase));
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s->salt,
                                             sizeof s->salt);
    *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    *q = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_KDF_derive(ctx, s->file_key, sizeof s->file_key,
                                      params) != 1) {
        set_error("scrypt (N=2^%u, r=%u, p=%u) failed in OpenSSL",
                  (unsigned)s->log2n, (unsigned)s->r, (unsigned)s->p);
        st = OCP_E_CRYPTO;
    }
    EVP_KDF_CTX_free(ctx); /* clears its copy of the passphrase */
    EVP_KDF_free(kdf);
    return st;
}

/*
 * AES-256-GCM over `len` bytes (in and out may not overlap).  Encrypting
 * writes the tag; decrypting checks it and returns 0 when it fails.
 */
static int gcm(int encrypt, const uint8_t key[32], const uint8_t *nonce,
               const uint8_t *aad, size_t aad_len, const uint8_t *in,
               size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok = c != NULL &&
         EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL,
                           encrypt) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, KF_NONCE_LEN,
                             NULL) == 1 &&
         EVP_CipherInit_ex(c, NULL, NULL, key, nonce, encrypt) == 1 &&
         EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
         (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KF_TAG_LEN,
                                 tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + len, &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KF_TAG_LEN,
                                 tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

/* The issuer key must be of its suite's kind, or signatures would not
 * verify on the other side. */
static int issuer_kind_ok(EVP_PKEY *k, uint8_t suite)
{
    char group[32];
    size_t len = 0;
    if (suite == OCP_SUITE_SM)
        return EVP_PKEY_is_a(k, "SM2") == 1;
    return EVP_PKEY_is_a(k, "EC") == 1 &&
           EVP_PKEY_get_group_name(k, group, sizeof group, &len) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

/* DER PKCS#8 of a private key into *der (OPENSSL_malloc'd: clear_free it);
 * returns its length, or 0. */
static size_t private_der(EVP_PKEY *k, unsigned char **der)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
    int n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, der) : 0;
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key octets it held */
    return n > 0 ? (size_t)n : 0;
}

static EVP_PKEY *decode_issuer(uint8_t suite, const uint8_t *der, size_t len)
{
    const unsigned char *q = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)len);
    EVP_PKEY *k = NULL;

    if (p8 != NULL && q == der + len)
        k = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (k != NULL && !issuer_kind_ok(k, suite)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/* ---- the store in memory ----------------------------------------------- */

static int master_cmp(const void *a, const void *b)
{
    const struct kf_master *x = a, *y = b;
    if (x->suite != y->suite)
        return x->suite < y->suite ? -1 : 1;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    return 0;
}

static int batch_cmp(const void *a, const void *b)
{
    return memcmp(((const struct kf_batch *)a)->id,
                  ((const struct kf_batch *)b)->id, 4);
}

static struct kf_master *find_master(struct kf_store *s, uint8_t suite,
                                     uint8_t slot, uint8_t version)
{
    struct kf_master k;
    k.suite = suite;
    k.slot = slot;
    k.version = version;
    return bsearch(&k, s->masters, s->n_masters, sizeof k, master_cmp);
}

/* The current master of (suite, slot): the last of its run. */
static struct kf_master *find_current(struct kf_store *s, uint8_t suite,
                                      uint8_t slot)
{
    size_t i;
    for (i = 0; i < s->n_masters; i++)
        if (s->masters[i].suite == suite && s->masters[i].slot == slot &&
            s->masters[i].current)
            return &s->masters[i];
    return NULL;
}

static struct kf_batch *find_batch(struct kf_store *s, const uint8_t id[4])
{
    struct kf_batch k;
    if (s->n_batches == 0) /* batches may be NULL */
        return NULL;
    memcpy(k.id, id, 4);
    return bsearch(&k, s->batches, s->n_batches, sizeof k, batch_cmp);
}

/* Room for one more batch.  Grows by copy and wipe, not realloc, which
 * could leave the old keys in freed memory. */
static ocp_status batch_room(struct kf_store *s)
{
    size_t cap = s->cap_batches ? 2 * s->cap_batches : 16;
    struct kf_batch *b;
    if (s->n_batches < s->cap_batches)
        return OCP_OK;
    b = calloc(cap, sizeof *b);
    if (b == NULL) {
        set_error("out of memory for batch keys");
        return OCP_E_NOMEM;
    }
    if (s->batches != NULL) {
        memcpy(b, s->batches, s->n_batches * sizeof *b);
        OPENSSL_cleanse(s->batches, s->cap_batches * sizeof *b);
        free(s->batches);
    }
    s->batches = b;
    s->cap_batches = cap;
    return OCP_OK;
}

static void store_free(struct kf_store *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->issuer[0]); /* EC keys clear their private scalar */
    EVP_PKEY_free(s->issuer[1]);
    hl_div_cache_wipe(&s->schedules);
    if (s->batches != NULL) {
        OPENSSL_cleanse(s->batches, s->cap_batches * sizeof *s->batches);
        free(s->batches);
    }
    free(s->path);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

static ocp_status store_new(const char *path, struct kf_store **out)
{
    struct kf_store *s = calloc(1, sizeof *s);
    size_t n = strlen(path) + 1;
    if (s == NULL || (s->path = malloc(n)) == NULL) {
        free(s);
        set_error("out of memory opening key file %s", path);
        return OCP_E_NOMEM;
    }
    memcpy(s->path, path, n);
    *out = s;
    return OCP_OK;
}

/* ---- payload ----------------------------------------------------------- */

/* Serialises the store into *out (malloc'd: wipe and free it). */
static ocp_status build_payload(const struct kf_store *s, uint8_t **out,
                                size_t *out_len)
{
    unsigned char *der[2] = {NULL, NULL};
    size_t der_len[2], len, i;
    uint8_t *buf = NULL;
    ocp_writer w;
    ocp_status st = OCP_E_CRYPTO;

    der_len[0] = private_der(s->issuer[0], &der[0]);
    der_len[1] = private_der(s->issuer[1], &der[1]);
    if (der_len[0] == 0 || der_len[0] > KF_MAX_DER || der_len[1] == 0 ||
        der_len[1] > KF_MAX_DER) {
        set_error("cannot encode the issuer private keys as PKCS#8");
        goto out;
    }
    len = s->n_masters * (3 + MASTER_VALUE_LEN) + 2 * (3 + 1) + der_len[0] +
          der_len[1] + s->n_batches * (3 + BATCH_VALUE_LEN);
    if (len > KF_MAX_PAYLOAD || (buf = malloc(len)) == NULL) {
        set_error("cannot hold a %zu-byte key file payload", len);
        st = OCP_E_NOMEM;
        goto out;
    }
    ocp_writer_init(&w, buf, len);
    for (i = 0; i < s->n_masters; i++) {
        const struct kf_master *m = &s->masters[i];
        ocp_put_u8(&w, TAG_MASTER);
        ocp_put_u16(&w, MASTER_VALUE_LEN);
        ocp_put_u8(&w, m->suite);
        ocp_put_u8(&w, m->slot);
        ocp_put_u8(&w, m->version);
        ocp_put_u8(&w, m->current);
        ocp_put_bytes(&w, m->key, sizeof m->key);
    }
    for (i = 0; i < 2; i++) {
        ocp_put_u8(&w, TAG_ISSUER);
        ocp_put_u16(&w, (uint16_t)(1 + der_len[i]));
        ocp_put_u8(&w, i == 0 ? OCP_SUITE_AES : OCP_SUITE_SM);
        ocp_put_bytes(&w, der[i], der_len[i]);
    }
    for (i = 0; i < s->n_batches; i++) {
        ocp_put_u8(&w, TAG_BATCH);
        ocp_put_u16(&w, BATCH_VALUE_LEN);
        ocp_put_bytes(&w, s->batches[i].id, 4);
        ocp_put_bytes(&w, s->batches[i].key, 16);
    }
    if (w.short_by != 0 || ocp_writer_len(&w, buf) != len) {
        set_error("internal error: key file payload size mismatch");
        OPENSSL_cleanse(buf, len);
        free(buf);
        goto out;
    }
    *out = buf;
    *out_len = len;
    st = OCP_OK;
out:
    OPENSSL_clear_free(der[0], der_len[0]);
    OPENSSL_clear_free(der[1], der_len[1]);
    return st;
}

/* Checks the sorted masters: every (suite, slot) present, versions unique,
 * exactly one current per slot and it is the newest.  NULL when sound. */
static const char *check_masters(const struct kf_store *s)
{
    size_t i = 0, groups = 0;
    while (i < s->n_masters) {
        size_t j = i, currents = 0;
        for (; j < s->n_masters && s->masters[j].suite == s->masters[i].suite &&
               s->masters[j].slot == s->masters[i].slot;
             j++) {
            if (j > i && s->masters[j].version == s->masters[j - 1].version)
                return "a master key version appears twice";
            currents += s->masters[j].current;
        }
        if (currents != 1 || !s->masters[j - 1].current)
            return "a slot's current master key is missing, doubled or "
                   "not its newest version";
        groups++;
        i = j;
    }
    return groups == KF_GROUPS ? NULL : "master keys are missing for a slot";
}

/* Fills s from a decrypted payload.  Returns NULL, or why it is unsound. */
static const char *parse_payload(struct kf_store *s, const uint8_t *p,
                                 size_t len)
{
    ocp_reader r;
    size_t i;

    ocp_reader_init(&r, p, len);
    while (ocp_reader_left(&r) > 0) {
        uint8_t tag = ocp_get_u8(&r);
        uint16_t n = ocp_get_u16(&r);
        const uint8_t *v = ocp_get_span(&r, n);
        int si;

        if (v == NULL)
            return "an entry runs past the end of the payload";
        if (tag == TAG_MASTER) {
            struct kf_master *m;
            if (n != MASTER_VALUE_LEN)
                return "a master key entry has the wrong length";
            if (s->n_masters == KF_MAX_MASTERS)
                return "too many master keys";
            m = &s->masters[s->n_masters];
            m->suite = v[0];
            m->slot = v[1];
            m->version = v[2];
            m->current = v[3];
            memcpy(m->key, v + 4, 16);
            s->n_masters++;
            if (suite_index(m->suite) < 0 || m->slot < 1 ||
                m->slot > OCP_KEY_HOLDER || m->version < 1 ||
                m->version > KF_MAX_VERSION || m->current > 1)
                return "a master key has an invalid suite, slot, version or "
                       "current flag";
        } else if (tag == TAG_ISSUER) {
            if (n < 2 || n > 1 + KF_MAX_DER || (si = suite_index(v[0])) < 0)
                return "an issuer key entry is malformed";
            if (s->issuer[si] != NULL)
                return "a suite has two issuer keys";
            s->issuer[si] = decode_issuer(v[0], v + 1, (size_t)n - 1);
            if (s->issuer[si] == NULL)
                return "an issuer key does not decode as its suite's kind "
                       "(P-256 for AES, SM2 for SM)";
        } else if (tag == TAG_BATCH) {
            if (n != BATCH_VALUE_LEN)
                return "a batch key entry has the wrong length";
            if (s->n_batches == KF_MAX_BATCHES)
                return "too many batch keys";
            if (batch_room(s) != OCP_OK)
                return "out of memory for batch keys";
            memcpy(s->batches[s->n_batches].id, v, 4);
            memcpy(s->batches[s->n_batches].key, v + 4, 16);
            s->n_batches++;
        } else {
            return "an entry of unknown type";
        }
    }
    if (s->issuer[0] == NULL || s->issuer[1] == NULL)
        return "an issuer key is missing";
    qsort(s->masters, s->n_masters, sizeof s->masters[0], master_cmp);
    if (s->n_batches > 0) /* batches is NULL until the first */
        qsort(s->batches, s->n_batches, sizeof s->batches[0], batch_cmp);
    for (i = 1; i < s->n_batches; i++)
        if (batch_cmp(&s->batches[i - 1], &s->batches[i]) == 0)
            return "a batch id appears twice";
    return check_masters(s);
}

/* ---- files ------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Makes a rename in the directory of `path` durable. */
static int fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    size_t n;
    int fd, ok;

    if (slash == NULL) {
        path = ".";
        n = 1;
    } else {
        n = slash == path ? 1 : (size_t)(slash - path); /* "/" stays */
    }
    if ((dir = malloc(n + 1)) == NULL)
        return 0;
    memcpy(dir, path, n);
    dir[n] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return 0;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* Creates `path` exclusively with mode 0600 whatever the umask. */
static int create_0600(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
                  0600);
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    return fd;
}

/*
 * Writes the store to PATH.tmp, fsyncs it, renames it over PATH and fsyncs
 * the directory.  *renamed says whether PATH was replaced: after that point
 * a failure (of the directory fsync) leaves the new contents in place.
 */
static ocp_status save(struct kf_store *s, int *renamed)
{
    uint8_t *payload = NULL, *file = NULL;
    size_t plen = 0, flen = 0, n = strlen(s->path);
    char *tmp = malloc(n + 5);
    uint8_t nonce[KF_NONCE_LEN];
    ocp_writer w;
    int fd, ok, e, tmp_made = 0;
    ocp_status st;

    *renamed = 0;
    if (tmp == NULL) {
        set_error("out of memory saving key file %s", s->path);
        return OCP_E_NOMEM;
    }
    memcpy(tmp, s->path, n);
    memcpy(tmp + n, ".tmp", 5);
    if ((st = build_payload(s, &payload, &plen)) != OCP_OK)
        goto out;
    st = OCP_E_CRYPTO;
    flen = KF_HEADER_LEN + plen + KF_TAG_LEN;
    if ((file = malloc(flen)) == NULL) {
        set_error("out of memory saving key file %s", s->path);
        st = OCP_E_NOMEM;
        goto out;
    }
    /* A nonce must never repeat under one key: the key lives as long as
     * the file's salt, so each save draws a fresh one. */
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        set_error("the random generator failed");
        goto out;
    }
    ocp_writer_init(&w, file, KF_HEADER_LEN);
    ocp_put_bytes(&w, kf_magic, sizeof kf_magic);
    ocp_put_u8(&w, KF_FORMAT);
    ocp_put_u8(&w, KF_KDF_SCRYPT);
    ocp_put_u8(&w, s->log2n);
    ocp_put_u8(&w, s->r);
    ocp_put_u8(&w, s->p);
    ocp_put_bytes(&w, s->salt, sizeof s->salt);
    ocp_put_bytes(&w, nonce, sizeof nonce);
    ocp_put_u32(&w, (uint32_t)plen);
    if (w.short_by != 0 ||
        !gcm(1, s->file_key, nonce, file, KF_HEADER_LEN, payload, plen,
             file + KF_HEADER_LEN, file + KF_HEADER_LEN + plen)) {
        set_error("AES-256-GCM encryption of key file %s failed", s->path);
        goto out;
    }
    st = OCP_E_IO;
    if ((fd = create_0600(tmp)) < 0) {
        if (errno == EEXIST)
            set_error("cannot save key file %s: %s exists (a save is under "
                      "way, or one crashed: remove it if no ocp process "
                      "runs)",
                      s->path, tmp);
        else
            set_error("cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = 1;
    ok = write_all(fd, file, flen) && fsync(fd) == 0;
    e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        set_error("cannot write %s: %s", tmp, strerror(e));
        goto out;
    }
    if (rename(tmp, s->path) != 0) {
        set_error("cannot replace key file %s: %s", s->path, strerror(errno));
        goto out;
    }
    tmp_made = 0;
    *renamed = 1;
    if (!fsync_dir(s->path)) {
        set_error("key file %s was replaced, but its directory could not "
                  "be synced: %s",
                  s->path, strerror(errno));
        goto out;
    }
    st = OCP_OK;
out:
    if (tmp_made)
        unlink(tmp);
    if (payload != NULL) {
        OPENSSL_cleanse(payload, plen);
        free(payload);
    }
    free(file); /* ciphertext only */
    free(tmp);
    return st;
}

/* Reads the whole file after checking its owner and mode. */
static ocp_status read_key_file(const char *path, uint8_t **out,
                                size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    uint8_t *buf = NULL;
    size_t len = 0, got = 0;
    ocp_status rc = OCP_E_IO;

    if (fd < 0) {
        set_error("cannot open key file %s: %s", path, strerror(errno));
        return OCP_E_IO;
    }
    if (fstat(fd, &st) != 0) {
        set_error("cannot stat key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        set_error("key file %s is not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        set_error("key file %s belongs to uid %lu, not to uid %lu that "
                  "opens it: refusing it",
                  path, (unsigned long)st.st_uid, (unsigned long)geteuid());
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        set_error("key file %s is %s group or others (mode %04o): "
                  "chmod 600 %s",
                  path, (st.st_mode & 044) ? "readable by" : "accessible to",
                  (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if (st.st_size < 0 ||
        (unsigned long long)st.st_size >
            KF_HEADER_LEN + KF_MAX_PAYLOAD + KF_TAG_LEN) {
        set_error("key file %s is too large to be a key file", path);
        goto out;
    }
    len = (size_t)st.st_size;
    /* One spare byte shows a file that grew since fstat. */
    if ((buf = malloc(len + 1)) == NULL) {
        set_error("out of memory reading key file %s", path);
        rc = OCP_E_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, len + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            set_error("cannot read key file %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0 || got + (size_t)n > len)
            break;
        got += (size_t)n;
    }
    if (got != len) {
        set_error("key file %s changed while it was read", path);
        goto out;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = OCP_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

/* Checks the header, derives the file key, decrypts and parses. */
static ocp_status decode_file(struct kf_store *s, const char *passphrase,
                              const uint8_t *file, size_t len)
{
    ocp_reader r;
    uint8_t magic[8], version, kdf, nonce[KF_NONCE_LEN], tag[KF_TAG_LEN];
    uint32_t ct_len;
    const uint8_t *ct;
    uint8_t *plain = NULL;
    const char *why;
    ocp_status st = OCP_E_IO;

    ocp_reader_init(&r, file, len);
    ocp_get_bytes(&r, magic, sizeof magic);
    if (!r.ok || memcmp(magic, kf_magic, sizeof magic) != 0) {
        set_error("%s is not a One-Card Pass key file (no OCPKEYS1 magic)",
                  s->path);
        return OCP_E_IO;
    }
    version = ocp_get_u8(&r);
    if (r.ok && version != KF_FORMAT) {
        set_error("key file %s: unknown format version %u", s->path,
                  (unsigned)version);
        return OCP_E_IO;
    }
    kdf = ocp_get_u8(&r);
    s->log2n = ocp_get_u8(&r);
    s->r = ocp_get_u8(&r);
    s->p = ocp_get_u8(&r);
    ocp_get_bytes(&r, s->salt, sizeof s->salt);
    ocp_get_bytes(&r, nonce, sizeof nonce);
    ct_len = ocp_get_u32(&r);
    if (!r.ok) {
        set_error("key file %s is truncated (%zu bytes)", s->path, len);
        return OCP_E_IO;
    }
    if (kdf != KF_KDF_SCRYPT) {
        set_error("key file %s: unknown key derivation function %u", s->path,
                  (unsigned)kdf);
        return OCP_E_IO;
    }
    if (!scrypt_params_ok(s->log2n, s->r, s->p)) {
        set_error("key file %s: scrypt parameters out of range (N=2^%u, "
                  "r=%u, p=%u)",
                  s->path, (unsigned)s->log2n, (unsigned)s->r,
                  (unsigned)s->p);
        return OCP_E_IO;
    }
    if (ct_len > KF_MAX_PAYLOAD) {
        set_error("key file %s is damaged: a %lu-byte payload is over the "
                  "limit",
                  s->path, (unsigned long)ct_len);
        return OCP_E_IO;
    }
    ct = ocp_get_span(&r, ct_len);
    ocp_get_bytes(&r, tag, sizeof tag);
    if (!r.ok) {
        set_error("key file %s is truncated: %zu bytes, its header "
                  "announces %lu",
                  s->path, len,
                  (unsigned long)(KF_HEADER_LEN + ct_len + KF_TAG_LEN));
        return OCP_E_IO;
    }
    if (!ocp_reader_done(&r)) {
        set_error("key file %s is damaged: %zu bytes follow its tag",
                  s->path, ocp_reader_left(&r));
        return OCP_E_IO;
    }
    if ((st = derive_file_key(s, passphrase)) != OCP_OK)
        return st;
    if ((plain = malloc((size_t)ct_len + 1)) == NULL) {
        set_error("out of memory reading key file %s", s->path);
        return OCP_E_NOMEM;
    }
    if (!gcm(0, s->file_key, nonce, file, KF_HEADER_LEN, ct, ct_len, plain,
             tag)) {
        set_error("wrong passphrase or damaged key file %s", s->path);
        st = OCP_E_AUTH;
    } else if ((why = parse_payload(s, plain, ct_len)) != NULL) {
        set_error("key file %s is damaged: %s", s->path, why);
        st = OCP_E_IO;
    }
    OPENSSL_cleanse(plain, (size_t)ct_len + 1);
    free(plain);
    return st;
}

/* ---- the operations ---------------------------------------------------- */

static struct kf_store *store_of(ocp_keystore *ks)
{
    return ks->ctx;
}

static ocp_status check_suite_slot(uint8_t suite, uint8_t slot)
{
    if (suite_index(suite) < 0) {
        set_error("unknown cipher suite %u", (unsigned)suite);
        return OCP_E_ARGS;
    }
    if (slot < 1 || slot > OCP_KEY_HOLDER) {
        set_error("no key slot %u (slots are 1..10)", (unsigned)slot);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

static ocp_status kf_card_key(ocp_keystore *ks, uint8_t suite,
                              const uint8_t card_id[8], uint8_t slot,
                              uint8_t version, uint8_t out[16])
{
    struct kf_store *s = store_of(ks);
    struct kf_master *m;
    hl_diversifier *div;
    ocp_status st = check_suite_slot(suite, slot);

    if (st != OCP_OK)
        return st;
    if (card_id == NULL || out == NULL) {
        set_error("card_key: NULL argument");
        return OCP_E_ARGS;
    }
    div = hl_div_find(&s->schedules, suite, slot, version);
    if (div != NULL)
        return hl_div_derive(div, card_id, out);
    m = find_master(s, suite, slot, version);
    if (m == NULL) {
        set_error("key file %s has no master key for suite %u slot %u "
                  "version %u",
                  s->path, (unsigned)suite, (unsigned)slot,
                  (unsigned)version);
        return OCP_E_KEY_MISSING;
    }
    st = hl_div_add(&s->schedules, suite, slot, version, m->key, &div);
    if (st != OCP_OK) {
        set_error("cannot set up master key %u of slot %u", (unsigned)version,
                  (unsigned)slot);
        return st;
    }
    return hl_div_derive(div, card_id, out);
}

static ocp_status kf_transport_key(ocp_keystore *ks, const uint8_t card_id[8],
                                   uint8_t out[16])
{
    struct kf_store *s = store_of(ks);
    struct kf_batch *b;
    uint8_t div[OCP_DIV_INPUT_LEN];

    if (card_id == NULL || out == NULL) {
        set_error("transport_key: NULL argument");
        return OCP_E_ARGS;
    }
    b = find_batch(s, card_id);
    if (b == NULL) {
        set_error("key file %s has no key for batch %02X%02X%02X%02X",
                  s->path, card_id[0], card_id[1], card_id[2], card_id[3]);
        return OCP_E_KEY_MISSING;
    }
    /* Always AES: a blank card has no suite yet (docs/PROTOCOL.md 1.1). */
    ocp_div_input(card_id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, b->key, div, sizeof div, out);
    return OCP_OK;
}

static ocp_status kf_sign(ocp_keystore *ks, uint8_t suite, const uint8_t *msg,
                          size_t len, uint8_t sig[64])
{
    struct kf_store *s = store_of(ks);
    int si = suite_index(suite);
    if (si < 0 || (msg == NULL && len != 0) || sig == NULL) {
        set_error("sign: unknown suite %u or NULL argument", (unsigned)suite);
        return OCP_E_ARGS;
    }
    return hl_sign(s->issuer[si], suite, msg, len, sig);
}

static ocp_status kf_public_key(ocp_keystore *ks, uint8_t suite, uint8_t *der,
                                size_t *len)
{
    struct kf_store *s = store_of(ks);
    unsigned char *buf = NULL;
    int si = suite_index(suite), n;
    ocp_status st = OCP_OK;

    if (si < 0 || len == NULL || (der == NULL && *len != 0)) {
        set_error("public_key: unknown suite %u or NULL argument",
                  (unsigned)suite);
        return OCP_E_ARGS;
    }
    n = i2d_PUBKEY(s->issuer[si], &buf);
    if (n <= 0) {
        set_error("cannot encode the issuer public key");
        return OCP_E_CRYPTO;
    }
    if ((size_t)n > *len)
        st = OCP_E_BUFFER;
    else
        memcpy(der, buf, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(buf);
    return st;
}

static uint8_t kf_version(ocp_keystore *ks, uint8_t suite, uint8_t slot)
{
    struct kf_master *m = find_current(store_of(ks), suite, slot);
    return m != NULL ? m->version : 0;
}

static ocp_status kf_list(ocp_keystore *ks, ocp_key_info *out, size_t *count)
{
    struct kf_store *s = store_of(ks);
    size_t i, cap;

    if (count == NULL || (out == NULL && *count != 0)) {
        set_error("list: NULL argument");
        return OCP_E_ARGS;
    }
    cap = *count;
    for (i = 0; i < s->n_masters && i < cap; i++) {
        const struct kf_master *m = &s->masters[i];
        out[i].suite = m->suite;
        out[i].slot = m->slot;
        out[i].version = m->version;
        out[i].current = m->current;
        ocp_key_check_value(ocp_suite_cipher(m->suite), m->key, out[i].kcv);
    }
    *count = s->n_masters;
    return s->n_masters > cap ? OCP_E_BUFFER : OCP_OK;
}

static ocp_status kf_rotate(ocp_keystore *ks, uint8_t suite, uint8_t slot,
                            uint8_t *new_version)
{
    struct kf_store *s = store_of(ks);
    struct kf_master *cur, *m;
    size_t at;
    int renamed;
    ocp_status st = check_suite_slot(suite, slot);

    if (st != OCP_OK)
        return st;
    if (slot > OCP_KEY_SLOTS) {
        set_error("slot %u cannot be rotated (slots 1..9; the holder-digest "
                  "key stays at version 1, docs/KEYS.md)",
                  (unsigned)slot);
        return OCP_E_ARGS;
    }
    /* A version that fails to save is forgotten and its number given
     * again later, to another key: no schedule may outlive it. */
    hl_div_cache_wipe(&s->schedules);
    cur = find_current(s, suite, slot);
    if (cur == NULL || cur->version >= KF_MAX_VERSION ||
        s->n_masters >= KF_MAX_MASTERS) {
        set_error("slot %u of suite %u is at version %u, the last one",
                  (unsigned)slot, (unsigned)suite,
                  cur != NULL ? (unsigned)cur->version : 0u);
        return OCP_E_ARGS;
    }
    /* The current version is the newest, so the new one goes right after
     * it and the array stays sorted. */
    at = (size_t)(cur - s->masters) + 1;
    memmove(&s->masters[at + 1], &s->masters[at],
            (s->n_masters - at) * sizeof *m);
    m = &s->masters[at];
    m->suite = suite;
    m->slot = slot;
    m->version = (uint8_t)(cur->version + 1);
    m->current = 1;
    if (RAND_priv_bytes(m->key, sizeof m->key) != 1) {
        set_error("the random generator failed");
        st = OCP_E_CRYPTO;
    } else {
        s->n_masters++;
        cur->current = 0;
        st = save(s, &renamed);
        if (st == OCP_OK || renamed) {
            if (new_version != NULL)
                *new_version = m->version;
            return st;
        }
        /* Not saved: forget the new key, as the file has. */
        cur->current = 1;
        s->n_masters--;
    }
    memmove(&s->masters[at], &s->masters[at + 1],
            (s->n_masters - at) * sizeof *m);
    OPENSSL_cleanse(&s->masters[s->n_masters], sizeof *m);
    return st;
}

static void kf_close(ocp_keystore *ks)
{
    store_free(ks->ctx);
    free(ks);
}

static const struct ocp_keystore_ops kf_ops = {
    kf_card_key, kf_transport_key, kf_sign,   kf_public_key,
    kf_version,  kf_list,          kf_rotate, kf_close};

/* The key-file store behind ks, or NULL (with the error set). */
static struct kf_store *keyfile_of(ocp_keystore *ks)
{
    if (ks == NULL || ks->ops != &kf_ops) {
        set_error("not a key-file store");
        return NULL;
    }
    return ks->ctx;
}

static ocp_status wrap(struct kf_store *s, ocp_keystore **out)
{
    ocp_keystore *ks = calloc(1, sizeof *ks);
    if (ks == NULL) {
        set_error("out of memory opening key file %s", s->path);
        return OCP_E_NOMEM;
    }
    ks->ops = &kf_ops;
    ks->ctx = s;
    *out = ks;
    return OCP_OK;
}

/* ---- public functions -------------------------------------------------- */

/* Fills a new store: salt, file key, masters at version 1, issuers. */
static ocp_status generate(struct kf_store *s, const char *passphrase)
{
    uint8_t suite, slot;
    ocp_status st;

    s->log2n = create_log2n;
    s->r = KF_R;
    s->p = KF_P;
    if (RAND_bytes(s->salt, sizeof s->salt) != 1) {
        set_error("the random generator failed");
        return OCP_E_CRYPTO;
    }
    if ((st = derive_file_key(s, passphrase)) != OCP_OK)
        return st;
    for (suite = OCP_SUITE_AES; suite <= OCP_SUITE_SM; suite++)
        for (slot = 1; slot <= OCP_KEY_HOLDER; slot++) {
            struct kf_master *m = &s->masters[s->n_masters++];
            m->suite = suite;
            m->slot = slot;
            m->version = 1;
            m->current = 1;
            if (RAND_priv_bytes(m->key, sizeof m->key) != 1) {
                set_error("the random generator failed");
                return OCP_E_CRYPTO;
            }
        }
    s->issuer[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    s->issuer[1] = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    if (s->issuer[0] == NULL || s->issuer[1] == NULL) {
        set_error("cannot generate the issuer key pairs");
        return OCP_E_CRYPTO;
    }
    return OCP_OK;
}

ocp_status ocp_keyfile_create(const char *path, const char *passphrase,
                              ocp_keystore **out)
{
    struct kf_store *s = NULL;
    int fd, renamed = 0;
    ocp_status st;

    if (path == NULL || passphrase == NULL || out == NULL ||
        passphrase[0] == '\0') {
        set_error("ocp_keyfile_create: NULL argument or empty passphrase");
        return OCP_E_ARGS;
    }
    *out = NULL;
    /* Claim the name first: the file is then made whole by rename(), and
     * O_EXCL guarantees no existing file is ever replaced. */
    if ((fd = create_0600(path)) < 0) {
        if (errno == EEXIST)
            set_error("key file %s exists already: refusing to overwrite "
                      "it",
                      path);
        else
            set_error("cannot create key file %s: %s", path,
                      strerror(errno));
        return OCP_E_IO;
    }
    close(fd);
    if ((st = store_new(path, &s)) == OCP_OK &&
        (st = generate(s, passphrase)) == OCP_OK &&
        (st = save(s, &renamed)) == OCP_OK)
        st = wrap(s, out);
    if (st != OCP_OK) {
        if (!renamed)
            unlink(path); /* our own empty placeholder */
        store_free(s);
    }
    return st;
}

ocp_status ocp_keyfile_open(const char *path, const char *passphrase,
                            ocp_keystore **out)
{
    struct kf_store *s = NULL;
    uint8_t *file = NULL;
    size_t len = 0;
    ocp_status st;

    if (path == NULL || passphrase == NULL || out == NULL) {
        set_error("ocp_keyfile_open: NULL argument");
        return OCP_E_ARGS;
    }
    *out = NULL;
    if ((st = read_key_file(path, &file, &len)) != OCP_OK)
        return st;
    if ((st = store_new(path, &s)) == OCP_OK &&
        (st = decode_file(s, passphrase, file, len)) == OCP_OK)
        st = wrap(s, out);
    if (st != OCP_OK)
        store_free(s);
    free(file); /* ciphertext only */
    return st;
}

ocp_status ocp_keyfile_add_batch(ocp_keystore *ks, const uint8_t batch_id[4],
                                 uint8_t key_out[16])
{
    struct kf_store *s = keyfile_of(ks);
    struct kf_batch *b;
    size_t at;
    int renamed;
    ocp_status st;

    if (s == NULL || batch_id == NULL || key_out == NULL) {
        if (s != NULL)
            set_error("ocp_keyfile_add_batch: NULL argument");
        return OCP_E_ARGS;
    }
    if (find_batch(s, batch_id) != NULL) {
        set_error("batch %02X%02X%02X%02X has a key already in %s: "
                  "ocp_keyfile_batch_key exports it",
                  batch_id[0], batch_id[1], batch_id[2], batch_id[3],
                  s->path);
        return OCP_E_ARGS;
    }
    if (s->n_batches >= KF_MAX_BATCHES) {
        set_error("key file %s holds %u batch keys, the most it can",
                  s->path, KF_MAX_BATCHES);
        return OCP_E_ARGS;
    }
    if ((st = batch_room(s)) != OCP_OK)
        return st;
    for (at = 0; at < s->n_batches; at++)
        if (memcmp(s->batches[at].id, batch_id, 4) > 0)
            break;
    memmove(&s->batches[at + 1], &s->batches[at],
            (s->n_batches - at) * sizeof *b);
    b = &s->batches[at];
    memcpy(b->id, batch_id, 4);
    if (RAND_priv_bytes(b->key, sizeof b->key) != 1) {
        set_error("the random generator failed");
        st = OCP_E_CRYPTO;
    } else {
        s->n_batches++;
        st = save(s, &renamed);
        if (st == OCP_OK || renamed) {
            memcpy(key_out, b->key, sizeof b->key);
            return st;
        }
        s->n_batches--;
    }
    memmove(&s->batches[at], &s->batches[at + 1],
            (s->n_batches - at) * sizeof *b);
    OPENSSL_cleanse(&s->batches[s->n_batches], sizeof *b);
    return st;
}

ocp_status ocp_keyfile_batch_key(ocp_keystore *ks, const uint8_t batch_id[4],
                                 uint8_t key_out[16])
{
    struct kf_store *s = keyfile_of(ks);
    struct kf_batch *b;

    if (s == NULL || batch_id == NULL || key_out == NULL) {
        if (s != NULL)
            set_error("ocp_keyfile_batch_key: NULL argument");
        return OCP_E_ARGS;
    }
    b = find_batch(s, batch_id);
    if (b == NULL) {
        set_error("key file %s has no key for batch %02X%02X%02X%02X",
                  s->path, batch_id[0], batch_id[1], batch_id[2],
                  batch_id[3]);
        return OCP_E_KEY_MISSING;
    }
    memcpy(key_out, b->key, sizeof b->key);
    return OCP_OK;
}
