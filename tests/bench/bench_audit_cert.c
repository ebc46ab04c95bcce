/*
 * The audit's certificate check beside raw OpenSSL CMAC over the same
 * bytes (DESIGN.md section 9: the audit must reach at least half of raw
 * EVP_MAC CMAC).  Both sides run in this process over the same records:
 * 100 000 cards with 10 records each, in card order as the audit reads
 * them.  The raw side keys one CMAC per card with a key already at hand;
 * the checker also derives each card's transaction key from the master
 * (AN10922) through the key store.  Prints `name value unit` lines.
 *
 *   bench_audit_cert [CARDS] [RECORDS-PER-CARD]
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cert_verify.h"
#include "ocp/keystore.h"
#include "ocp/wire.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t cards = argc > 1 ? (size_t)atol(argv[1]) : 100000;
    size_t per = argc > 2 ? (size_t)atol(argv[2]) : 10;
    size_t n = cards * per, i, genuine = 0;
    ocp_use_record *recs = calloc(n, sizeof *recs);
    char dir[] = "/tmp/ocp-bench-audit-XXXXXX";
    ocp_keystore *ks;
    hl_cert_checker *c;
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    OSSL_PARAM params[2];
    uint8_t key[16] = {1, 2, 3}, m[40], tag[16];
    double t0, raw, ours;
    size_t tag_len;

    if (recs == NULL || mkdtemp(dir) == NULL ||
        ocp_keystore_dev_open(dir, &ks) != OCP_OK ||
        hl_cert_checker_new(ks, &c) != OCP_OK)
        return 1;
    for (i = 0; i < n; i++) {
        ocp_use_record *r = &recs[i];
        uint32_t card = (uint32_t)(i / per);
        memcpy(r->card_id, "OCP\0", 4);
        r->card_id[4] = (uint8_t)(card >> 24);
        r->card_id[5] = (uint8_t)(card >> 16);
        r->card_id[6] = (uint8_t)(card >> 8);
        r->card_id[7] = (uint8_t)card;
        r->seq = (uint32_t)i + 1;
        r->counter = (uint32_t)(i % per) + 1;
        r->domain = OCP_ROLE_TRANSIT;
        r->service = 0x0101;
        r->amount = 1;
        r->datetime = 14154360u + (uint32_t)i;
        r->outcome = 1;
    }

    mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    ctx = EVP_MAC_CTX_new(mac);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                 (char *)"AES-128-CBC", 0);
    params[1] = OSSL_PARAM_construct_end();
    t0 = now_s();
    for (i = 0; i < n; i++) {
        if (i % per == 0) {
            key[15] = (uint8_t)i;
            EVP_MAC_init(ctx, key, sizeof key, params);
        } else {
            EVP_MAC_init(ctx, NULL, 0, NULL);
        }
        hl_cert_message(0x0B000001u, &recs[i], m);
        EVP_MAC_update(ctx, m, sizeof m);
        EVP_MAC_final(ctx, tag, &tag_len, sizeof tag);
        genuine += tag[0] == recs[i].cert[0]; /* keep the work */
    }
    raw = now_s() - t0;

    t0 = now_s();
    for (i = 0; i < n; i++) {
        int ok;
        if (hl_cert_check(c, OCP_SUITE_AES, 1, 0x0B000001u, &recs[i], &ok) !=
            OCP_OK)
            return 1;
        genuine += (size_t)ok;
    }
    ours = now_s() - t0;

    printf("audit_cert_records %zu records\n", n);
    printf("raw_cmac_records_per_s %.0f records/s\n", (double)n / raw);
    printf("audit_cert_records_per_s %.0f records/s\n", (double)n / ours);
    printf("audit_cert_over_raw_cmac %.2f ratio\n", raw / ours);
    /* Made-up certificates: a match would mean the check is broken. */
    if (genuine > n / 100)
        return 1;
    hl_cert_checker_free(c);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    ocp_keystore_close(ks);
    free(recs);
    {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : 1;
    }
}
