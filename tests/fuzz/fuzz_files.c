/*
 * Fuzz targets: every file the desk and the terminals read from outside.
 * fuzz_holder_files: holder JSON, batch CSV and the service catalogue; the
 * first input byte picks the parser, the rest is the file.
 * fuzz_hotlist (built with FUZZ_HOTLIST): the whole input is a hotlist file.
 * Nothing may crash, leak or read out of bounds, whatever the bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocp/holder.h"
#include "ocp/hotlist.h"
#include "ocp/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ocp_catalogue *catalogue;
static uint8_t issuer_der[256];
static size_t issuer_len;
static char hotlist_path[64];

static void cleanup(void)
{
    ocp_catalogue_free(catalogue);
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
    ocp_keystore_close(ks);
    snprintf(hotlist_path, sizeof hotlist_path, "/tmp/ocp-fuzz-hot-%d",
             (int)getpid());
    atexit(cleanup);
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
    kind = data[0] % 3u;
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
    default: {
        FILE *f = fopen(hotlist_path, "wb");
        ocp_hotlist *h = NULL;
        uint8_t id[8] = {0}, crypt[8];
        if (f == NULL)
            abort();
        fwrite(file, 1, file_len, f);
        fclose(f);
        if (ocp_hotlist_open(hotlist_path, issuer_der, issuer_len, &h) ==
            OCP_OK)
            (void)ocp_hotlist_lookup(h, id, crypt);
        ocp_hotlist_close(h);
        break;
    }
    }
    return 0;
}
