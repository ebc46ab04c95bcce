/*
 * Card keys: slots 1..8 are the role keys, slot 9 the transaction-MAC key.
 * Each record holds three slots of present(1) | version(1) | key(16).
 * Keys arrive only under secure messaging (PUT KEY) and never leave.
 */
#include <string.h>

#include "card_internal.h"

#define SLOT_BYTES 18u

static unsigned slot_record(uint8_t slot)
{
    return REC_KEYS1 + (unsigned)(slot - 1u) / 3u;
}

static size_t slot_offset(uint8_t slot)
{
    return ((size_t)(slot - 1u) % 3u) * SLOT_BYTES;
}

int keys_get(const struct ocp_card *card, uint8_t slot, uint8_t *version,
             uint8_t key[16])
{
    uint8_t rec[STORE_PAYLOAD];
    const uint8_t *s;
    if (slot < 1 || slot > OCP_KEY_SLOTS)
        return 0;
    if (store_read(card, slot_record(slot), rec) <= 0)
        return 0;
    s = rec + slot_offset(slot);
    if (s[0] != 1) {
        ocp_wipe(rec, sizeof rec);
        return 0;
    }
    *version = s[1];
    memcpy(key, s + 2, 16);
    ocp_wipe(rec, sizeof rec);
    return 1;
}

void keys_versions(const struct ocp_card *card, uint8_t out[OCP_KEY_SLOTS])
{
    uint8_t key[16];
    uint8_t slot;
    for (slot = 1; slot <= OCP_KEY_SLOTS; slot++) {
        uint8_t v = 0xFF; /* absent */
        if (!keys_get(card, slot, &v, key))
            v = 0xFF;
        out[slot - 1] = v;
    }
    ocp_wipe(key, sizeof key);
}

/*
 * PUT KEY (issuer session): P1 = new version, P2 = slot; data = key(16) ||
 * KCV(3).  The check value proves the key arrived intact before it replaces
 * the old one.  Loading the issuer slot ends the transport key's use.
 */
uint16_t cmd_put_key(struct ocp_card *card, card_apdu *a)
{
    uint8_t rec[STORE_PAYLOAD], key[16], kcv[3], mine[3];
    uint8_t slot = a->p2, version = a->p1;
    struct ocp_card_root root = card->root;
    ocp_reader r;
    uint8_t *s;
    uint16_t sw = OCP_SW_OK;

    if (card->session_role != OCP_ROLE_ISSUER)
        return OCP_SW_SECURITY_STATUS;
    if (card->root.state == OCP_STATE_TERMINATED)
        return OCP_SW_CONDITIONS;
    if (slot < 1 || slot > OCP_KEY_SLOTS || version == 0 || version == 0xFF)
        return OCP_SW_WRONG_P1P2;
    ocp_reader_init(&r, a->data, a->len);
    ocp_get_bytes(&r, key, 16);
    ocp_get_bytes(&r, kcv, 3);
    if (!ocp_reader_done(&r)) {
        sw = OCP_SW_WRONG_LENGTH;
        goto out;
    }
    ocp_key_check_value(ocp_suite_cipher(card_suite(card)) ?
                            ocp_suite_cipher(card_suite(card)) :
                            OCP_CIPHER_AES128,
                        key, mine);
    if (ocp_ct_compare(kcv, mine, 3) != 0) {
        sw = OCP_SW_WRONG_DATA;
        goto out;
    }
    if (store_read(card, slot_record(slot), rec) < 0) {
        sw = OCP_SW_MEMORY_FAILURE;
        goto out;
    }
    s = rec + slot_offset(slot);
    s[0] = 1;
    s[1] = version;
    memcpy(s + 2, key, 16);
    store_begin(card);
    if (store_put(card, slot_record(slot), rec) != 0 ||
        store_commit(card, &root) != 0)
        sw = OCP_SW_MEMORY_FAILURE;
out:
    ocp_wipe(rec, sizeof rec);
    ocp_wipe(key, sizeof key);
    return sw;
}
