/*
 * Upload batches (ocp/batch.h): the byte layout of docs/BACKOFFICE.md
 * section 3, and the terminal's own signing key.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_record.h"
#include "ocp/batch.h"
#include "ocp_bytes.h"
#include "ocp_wire.h"
#include "signature.h"

static const uint8_t batch_magic[5] = {'O', 'C', 'P', 'B', '1'};

struct ocp_terminal_key {
    EVP_PKEY *key;
    uint8_t suite;
};

size_t ocp_batch_len(size_t n)
{
    return OCP_BATCH_HEADER_LEN + n * OCP_BATCH_RECORD_LEN;
}

/* One record in the batch's layout: the same 41 bytes the registry keeps
 * as each stored record's signed form (batch_record.h). */
static void put_record(ocp_writer *w, const ocp_use_record *r)
{
    ocp_put_u32(w, r->seq);
    ocp_put_bytes(w, r->card_id, 8);
    ocp_put_u8(w, r->domain);
    ocp_put_u16(w, r->service);
    ocp_put_u32(w, r->amount);
    ocp_put_u32(w, r->datetime);
    ocp_put_u8(w, r->outcome);
    ocp_put_u32(w, r->counter);
    ocp_put_u32(w, r->remaining);
    ocp_put_u8(w, r->flags);
    ocp_put_bytes(w, r->cert, 8);
}

/* The fields at their fixed places (batch_record.h); 0 for an outcome no
 * terminal writes, the fields set all the same.  Read without a bounds-
 * checked reader: the audit decodes a million of them. */
static int record_from_bytes(const uint8_t *p, ocp_use_record *u)
{
    u->seq = ocp_get_be32(p + HL_REC_SEQ);
    memcpy(u->card_id, p + HL_REC_CARD, 8);
    u->domain = p[12];
    u->service = ocp_get_be16(p + 13);
    u->amount = ocp_get_be32(p + 15);
    u->datetime = ocp_get_be32(p + HL_REC_DATETIME);
    u->outcome = p[HL_REC_OUTCOME];
    u->counter = ocp_get_be32(p + 24);
    u->remaining = ocp_get_be32(p + 28);
    u->flags = p[32];
    memcpy(u->cert, p + 33, 8);
    return u->outcome <= OCP_USE_PASSBACK;
}

void hl_record_encode(const ocp_use_record *u,
                      uint8_t out[OCP_BATCH_RECORD_LEN])
{
    ocp_writer w;
    ocp_writer_init(&w, out, OCP_BATCH_RECORD_LEN);
    put_record(&w, u);
}

int hl_record_decode(const uint8_t *in, size_t len, ocp_use_record *u)
{
    return len == OCP_BATCH_RECORD_LEN && record_from_bytes(in, u);
}

ocp_status ocp_batch_encode(uint32_t terminal_id, uint32_t batch_no,
                            const ocp_use_record *recs, size_t n,
                            uint8_t *out, size_t cap)
{
    ocp_writer w;
    size_t i;
    if ((recs == NULL && n > 0) || out == NULL ||
        n > OCP_BATCH_MAX_RECORDS)
        return OCP_E_ARGS;
    if (cap < ocp_batch_len(n))
        return OCP_E_BUFFER;
    ocp_writer_init(&w, out, cap);
    ocp_put_bytes(&w, batch_magic, sizeof batch_magic);
    ocp_put_u32(&w, terminal_id);
    ocp_put_u32(&w, batch_no);
    ocp_put_u32(&w, (uint32_t)n);
    for (i = 0; i < n; i++)
        put_record(&w, &recs[i]);
    return w.short_by == 0 ? OCP_OK : OCP_E_BUFFER;
}

int hl_batch_check(const uint8_t *in, size_t len, uint32_t *terminal_id,
                   size_t *count)
{
    const uint8_t *rec;
    uint32_t n, i;
    if (len < OCP_BATCH_HEADER_LEN ||
        memcmp(in, batch_magic, sizeof batch_magic) != 0)
        return 0;
    n = ocp_get_be32(in + 13);
    if (n > OCP_BATCH_MAX_RECORDS || len != ocp_batch_len(n))
        return 0;
    /* The outcome is the one field record_from_bytes refuses values of. */
    for (i = 0, rec = in + OCP_BATCH_HEADER_LEN; i < n;
         i++, rec += OCP_BATCH_RECORD_LEN)
        if (rec[HL_REC_OUTCOME] > OCP_USE_PASSBACK)
            return 0;
    *terminal_id = ocp_get_be32(in + 5);
    *count = n;
    return 1;
}

ocp_status ocp_batch_decode(const uint8_t *in, size_t len,
                            uint32_t *terminal_id, uint32_t *batch_no,
                            ocp_use_record *recs, size_t *n)
{
    size_t count, i;
    if (in == NULL || terminal_id == NULL || batch_no == NULL ||
        recs == NULL || n == NULL)
        return OCP_E_ARGS;
    /* The count must match the length exactly before any record is read:
     * a hostile count never drives the loop. */
    if (!hl_batch_check(in, len, terminal_id, &count))
        return OCP_E_BAD_RESPONSE;
    *batch_no = ocp_get_be32(in + 9);
    for (i = 0; i < count; i++)
        (void)record_from_bytes(in + OCP_BATCH_HEADER_LEN +
                                    i * OCP_BATCH_RECORD_LEN,
                                &recs[i]); /* well formed: checked above */
    *n = count;
    return OCP_OK;
}

static ocp_status public_der(EVP_PKEY *key, uint8_t *pub, size_t *pub_len)
{
    unsigned char *buf = NULL;
    int len = i2d_PUBKEY(key, &buf);
    ocp_status st = OCP_OK;
    if (len <= 0)
        return OCP_E_CRYPTO;
    if ((size_t)len > *pub_len)
        st = OCP_E_BUFFER;
    else
        memcpy(pub, buf, (size_t)len);
    *pub_len = (size_t)len;
    OPENSSL_free(buf);
    return st;
}

ocp_status ocp_terminal_key_create(const char *path, uint8_t suite,
                                   uint8_t *pub, size_t *pub_len)
{
    EVP_PKEY *key;
    FILE *f;
    int fd, ok;
    ocp_status st;
    if (path == NULL || pub == NULL || pub_len == NULL ||
        (suite != OCP_SUITE_AES && suite != OCP_SUITE_SM))
        return OCP_E_ARGS;
    key = suite == OCP_SUITE_SM ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                                : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL)
        return OCP_E_CRYPTO;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        EVP_PKEY_free(key);
        return OCP_E_IO;
    }
    ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    st = ok ? public_der(key, pub, pub_len) : OCP_E_IO;
    if (!ok)
        unlink(path); /* no half-written key file left behind */
    EVP_PKEY_free(key);
    return st;
}

ocp_status ocp_terminal_key_load(const char *path, ocp_terminal_key **out)
{
    struct stat sb;
    ocp_terminal_key *k;
    FILE *f;
    if (path == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    f = fopen(path, "re");
    if (f == NULL)
        return OCP_E_IO;
    /* Like the key file: a signing key others can read is not the
     * terminal's alone any more. */
    if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 077) != 0) {
        fclose(f);
        return OCP_E_DENIED;
    }
    k = calloc(1, sizeof *k);
    if (k == NULL) {
        fclose(f);
        return OCP_E_NOMEM;
    }
    k->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k->key == NULL ||
        (!EVP_PKEY_is_a(k->key, "SM2") && !EVP_PKEY_is_a(k->key, "EC"))) {
        ocp_terminal_key_free(k);
        return OCP_E_ARGS;
    }
    k->suite = EVP_PKEY_is_a(k->key, "SM2") ? OCP_SUITE_SM : OCP_SUITE_AES;
    *out = k;
    return OCP_OK;
}

void ocp_terminal_key_free(ocp_terminal_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->key);
    free(k);
}

ocp_status ocp_terminal_key_public(const ocp_terminal_key *k, uint8_t *pub,
                                   size_t *pub_len)
{
    if (k == NULL || pub == NULL || pub_len == NULL)
        return OCP_E_ARGS;
    return public_der(k->key, pub, pub_len);
}

ocp_status ocp_batch_sign(const ocp_terminal_key *k, const uint8_t *batch,
                          size_t len, uint8_t sig[OCP_BATCH_SIGNATURE_LEN])
{
    if (k == NULL || batch == NULL || sig == NULL)
        return OCP_E_ARGS;
    return hl_sign(k->key, k->suite, batch, len, sig);
}

ocp_status ocp_batch_verify(const uint8_t *pub, size_t pub_len,
                            const uint8_t *batch, size_t len,
                            const uint8_t sig[OCP_BATCH_SIGNATURE_LEN])
{
    const unsigned char *p = pub;
    EVP_PKEY *key;
    ocp_status st;
    if (pub == NULL || batch == NULL || sig == NULL || pub_len > 0x7fffffff)
        return OCP_E_ARGS;
    key = d2i_PUBKEY(NULL, &p, (long)pub_len);
    if (key == NULL)
        return OCP_E_SIGNATURE;
    st = hl_verify(key, EVP_PKEY_is_a(key, "SM2") ? OCP_SUITE_SM
                                                   : OCP_SUITE_AES,
                   batch, len, sig);
    EVP_PKEY_free(key);
    return st;
}
