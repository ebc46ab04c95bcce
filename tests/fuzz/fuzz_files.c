/*
 * Fuzz targets: every file the desk and the terminals read from outside.
 * fuzz_holder_files: holder JSON, batch CSV, the service catalogue and a
 * terminal's upload batch (the back office reads those from terminals it
 * does not trust); the first input byte picks the parser, the rest is the
 * file.
 * fuzz_hotlist (built with FUZZ_HOTLIST): the input is a hotlist file.  A
 * random file never carries the issuer's signature, and the parser checks
 * that before it trusts an entry, so when the first byte is odd the
 * harness builds a well-formed file from the rest (count from the length,
 * ids sorted as the format requires) and signs it with the development
 * issuer key: then the lookups run over entries the fuzzer chose.
 * Nothing may crash, leak or read out of bounds, whatever the bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocp/batch.h"
#include "ocp/holder.h"
#include "ocp/hotlist.h"
#include "ocp/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ocp_catalogue *catalogue;
static ocp_keystore *issuer_ks;
static uint8_t issuer_der[256];
static size_t issuer_len;
static char hotlist_path[64];

static void cleanup(void)
{
    ocp_catalogue_free(catalogue);
    ocp_keystore_close(issuer_ks);
    unlink(hotlist_path);
}

static void init_once(void)
{
    ocp_parse_error err;
    ocp_keystore *ks;
    char dir[] = "/tmp/ocp-fuzz-keys-XXXXXX";
    if (catalogue != NULL)
        return;
    if (ocp_catalogue_load(OCP_DOCS "/catalogue.json", &catalogue, &err) !=
            OCP_OK ||
        mkdtemp(dir) == NULL || ocp_keystore_dev_open(dir, &ks) != OCP_OK)
        abort();
    issuer_len = sizeof issuer_der;
    if (ks->ops->public_key(ks, 1, issuer_der, &issuer_len) != OCP_OK)
        abort();
    issuer_ks = ks;
    snprintf(hotlist_path, sizeof hotlist_path, "/tmp/ocp-fuzz-hot-%d",
             (int)getpid());
    atexit(cleanup);
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}

/* "OCPHOT1" | version(4) | issued(4) | suite AES | rfu(3) | n(4) |
 * n sorted distinct ids | n cryptograms | signature (docs/HOTLIST.md),
 * from the fuzz bytes: the first 8 are version and issue time, the rest
 * pairs of id and cryptogram. */
static size_t seal_hotlist(const uint8_t *in, size_t len, uint8_t *out,
                           size_t cap)
{
    size_t n = len < 8 ? 0 : (len - 8) / 16, i, kept = 0, at;
    uint8_t *ids;
    if (24 + 16 * n + 64 > cap)
        n = (cap - 24 - 64) / 16;
    memset(out, 0, 24);
    memcpy(out, "OCPHOT1", 8);
    if (len >= 8)
        memcpy(out + 8, in, 8);
    out[16] = 1; /* AES suite */
    ids = out + 24;
    for (i = 0; i < n; i++)
        memcpy(ids + 8 * i, in + 8 + 16 * i, 8);
    qsort(ids, n, 8, cmp_id);
    for (i = 0; i < n; i++)
        if (kept == 0 || memcmp(ids + 8 * (kept - 1), ids + 8 * i, 8) != 0)
            memmove(ids + 8 * kept++, ids + 8 * i, 8);
    out[20] = (uint8_t)(kept >> 24);
    out[21] = (uint8_t)(kept >> 16);
    out[22] = (uint8_t)(kept >> 8);
    out[23] = (uint8_t)kept;
    at = 24 + 8 * kept;
    for (i = 0; i < kept; i++)
        memcpy(out + at + 8 * i, in + 8 + 16 * i + 8, 8);
    at += 8 * kept;
    if (issuer_ks->ops->sign(issuer_ks, 1, out, at, out + at) != OCP_OK)
        abort();
    return at + 64;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ocp_issue_request req;
    ocp_entitlement ents[16];
    ocp_parse_error err;
    const uint8_t *file = data;
    size_t file_len = size;
    unsigned kind = 3;
    init_once();
#ifndef FUZZ_HOTLIST
    if (size < 1)
        return 0;
    kind = data[0] % 4u;
    if (kind == 3)
        kind = 4; /* 3 is the hotlist's, in its own target */
    file = data + 1;
    file_len = size - 1;
#endif
    switch (kind) {
    case 0:
        (void)ocp_holder_json_parse((const char *)file, file_len,
                                    catalogue, 9829, &req, ents, &err);
        break;
    case 1: {
        ocp_csv *csv = NULL;
        int line, done = 0, rows = 0;
        if (ocp_batch_open_buffer((const char *)file, file_len, &csv,
                                  &err) != OCP_OK)
            break;
        while (!done && rows++ < 1000)
            if (ocp_batch_next(csv, catalogue, 9829, &req, ents, &line, &done,
                               &err) == OCP_E_NOMEM)
                break;
        ocp_batch_close(csv);
        break;
    }
    case 2: {
        ocp_catalogue *cat = NULL;
        if (ocp_catalogue_parse((const char *)file, file_len, &cat,
                                &err) == OCP_OK)
            (void)ocp_catalogue_find(cat, 0x0101);
        ocp_catalogue_free(cat);
        break;
    }
    case 4: { /* an upload batch, as a hostile terminal sends it */
        static ocp_use_record recs[OCP_BATCH_MAX_RECORDS];
        uint32_t terminal, batch_no;
        size_t n;
        uint8_t sig[OCP_BATCH_SIGNATURE_LEN] = {0};
        if (ocp_batch_decode(file, file_len, &terminal, &batch_no, recs,
                             &n) == OCP_OK &&
            (n > OCP_BATCH_MAX_RECORDS ||
             ocp_batch_len(n) != file_len))
            abort(); /* decoded, but not what the length said */
        (void)ocp_batch_verify(issuer_der, issuer_len, file, file_len, sig);
        break;
    }
    default: {
        static uint8_t sealed[24 + 16 * 512 + 64];
        FILE *f = fopen(hotlist_path, "wb");
        ocp_hotlist *h = NULL;
        uint8_t id[8] = {0}, crypt[8];
        size_t i;
        int built = file_len > 0 && (file[0] & 1);
        ocp_status st;
        if (f == NULL)
            abort();
        if (built) {
            size_t n = seal_hotlist(file + 1, file_len - 1, sealed,
                                    sizeof sealed);
            fwrite(sealed, 1, n, f);
        } else {
            fwrite(file, 1, file_len, f);
        }
        fclose(f);
        st = ocp_hotlist_open(hotlist_path, issuer_der, issuer_len, &h);
        if (built && st != OCP_OK)
            abort(); /* a well-formed, signed list must be accepted */
        if (st == OCP_OK) {
            /* Look up every id the input names, and one it does not. */
            for (i = 9; i + 8 <= file_len; i += 16)
                (void)ocp_hotlist_lookup(h, file + i, crypt);
            (void)ocp_hotlist_lookup(h, id, crypt);
        }
        ocp_hotlist_close(h);
        break;
    }
    }
    return 0;
}
