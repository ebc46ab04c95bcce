/*
 * Randomness.  The chip may have no generator (QEMU's has none), so the
 * card keeps a seed key in NVM and a counter in the root.  The first use in
 * a power cycle commits counter + 1 *before* any output leaves the card,
 * then derives this cycle's key with CMAC (SP 800-108 style, label "DRBG")
 * over the counter, the card id and whatever the port's generator gives.
 * Outputs are that key applied to a block counter (CTR mode).  A counter
 * value is never reused, so no challenge repeats across power cycles even
 * when power is cut right after it was sent.
 */
#include <string.h>

#include "card_internal.h"

/* AES-128 for every card: the generator must not change cipher when
 * personalisation picks the suite in the middle of a power cycle. */
#define DRBG_CIPHER OCP_CIPHER_AES128

static int drbg_start(struct ocp_card *card)
{
    struct ocp_card_root root = card->root;
    uint8_t seed[STORE_PAYLOAD];
    uint8_t input[4 + 4 + 8 + 16];
    ocp_cmac_ctx c;

    if (store_read(card, REC_DRBG, seed) < 0)
        return -1;
    root.drbg_counter++;
    store_begin(card);
    if (store_commit(card, &root) != 0) {
        ocp_wipe(seed, sizeof seed);
        return -1;
    }
    memcpy(input, "DRBG", 4);
    ocp_put_be32(input + 4, root.drbg_counter);
    memcpy(input + 8, card->card_id, 8);
    memset(input + 16, 0, 16);
    (void)port_entropy(input + 16, 16);
    ocp_cmac_init(&c, DRBG_CIPHER, seed);
    ocp_cmac_update(&c, input, sizeof input);
    ocp_cmac_final(&c, card->drbg_key);
    card->drbg_block = 0;
    card->drbg_ready = 1;
    ocp_wipe(seed, sizeof seed);
    ocp_wipe(input, sizeof input);
    return 0;
}

int drbg_generate(struct ocp_card *card, uint8_t *out, size_t len)
{
    uint8_t block[16];
    if (!card->drbg_ready && drbg_start(card) != 0)
        return -1;
    while (len > 0) {
        size_t n = len < 16 ? len : 16;
        memset(block, 0, 16);
        ocp_put_be32(block + 12, ++card->drbg_block);
        port_block_encrypt(DRBG_CIPHER, card->drbg_key, block, block);
        memcpy(out, block, n);
        out += n;
        len -= n;
    }
    ocp_wipe(block, sizeof block);
    return 0;
}

/* PUT DATA seed (issuer): new seed key = CMAC(old, "DRBS" || material). */
uint16_t cmd_put_drbg_seed(struct ocp_card *card, const uint8_t *seed,
                           size_t len)
{
    uint8_t rec[STORE_PAYLOAD], next[16];
    struct ocp_card_root root = card->root;
    ocp_cmac_ctx c;
    uint16_t sw = OCP_SW_OK;

    if (len < 16 || len > 32)
        return OCP_SW_WRONG_LENGTH;
    if (store_read(card, REC_DRBG, rec) < 0)
        return OCP_SW_MEMORY_FAILURE;
    ocp_cmac_init(&c, OCP_CIPHER_AES128, rec);
    ocp_cmac_update(&c, (const uint8_t *)"DRBS", 4);
    ocp_cmac_update(&c, seed, len);
    ocp_cmac_final(&c, next);
    memset(rec, 0, sizeof rec);
    memcpy(rec, next, 16);
    store_begin(card);
    if (store_put(card, REC_DRBG, rec) != 0 || store_commit(card, &root) != 0)
        sw = OCP_SW_MEMORY_FAILURE;
    ocp_wipe(rec, sizeof rec);
    ocp_wipe(next, sizeof next);
    return sw;
}
