/*
 * Card life cycle: blank -> personalised -> active <-> blocked ->
 * terminated.  SET STATE, P1 = target state.
 *
 * The issuer moves the card freely along those arrows.  A service role may
 * only block, and only with the issuer's block cryptogram for this card
 * from the signed hotlist: data = hotlist version(4) | cryptogram(8), where
 * cryptogram = CMAC(K_issuer, "BLK1" | card id | version), first 8 bytes.
 */
#include <string.h>

#include "card_internal.h"

/* Everything a card needs before it may leave the blank state. */
static int personalisation_complete(const struct ocp_card *card)
{
    uint8_t rec[STORE_PAYLOAD], key[16], version;
    unsigned r;
    uint8_t slot;
    int ok = 1;
    static const uint8_t needed[] = {REC_IDENT, REC_SIG1, REC_SIG2,
                                     REC_HOLDER1, REC_PIN};
    for (r = 0; r < sizeof needed; r++)
        if (store_read(card, needed[r], rec) <= 0)
            ok = 0;
    for (slot = 1; slot <= OCP_KEY_SLOTS; slot++)
        if (!keys_get(card, slot, &version, key) ||
            version == OCP_KEY_VERSION_TRANSPORT)
            ok = 0;
    ocp_wipe(key, sizeof key);
    ocp_wipe(rec, sizeof rec);
    return ok;
}

static int block_cryptogram_ok(const struct ocp_card *card,
                               const uint8_t *data, size_t len)
{
    uint8_t key[16], tag[16], m[4 + 8 + 4], version;
    int ok;
    if (len != 12 || !keys_get(card, OCP_ROLE_ISSUER, &version, key))
        return 0;
    memcpy(m, "BLK1", 4);
    memcpy(m + 4, card->card_id, 8);
    memcpy(m + 12, data, 4);
    ocp_cmac(ocp_suite_cipher(card_suite(card)), key, m, sizeof m, tag);
    ok = ocp_ct_compare(tag, data + 4, OCP_MAC_LEN) == 0;
    ocp_wipe(key, sizeof key);
    ocp_wipe(tag, sizeof tag);
    return ok;
}

static int issuer_may(uint8_t from, uint8_t to)
{
    switch (to) {
    case OCP_STATE_PERSONALISED:
        return from == OCP_STATE_BLANK;
    case OCP_STATE_ACTIVE:
        return from == OCP_STATE_PERSONALISED || from == OCP_STATE_BLOCKED;
    case OCP_STATE_BLOCKED:
        return from == OCP_STATE_ACTIVE;
    case OCP_STATE_TERMINATED:
        return from != OCP_STATE_BLANK && from != OCP_STATE_TERMINATED;
    default:
        return 0;
    }
}

uint16_t cmd_set_state(struct ocp_card *card, card_apdu *a)
{
    struct ocp_card_root root = card->root;
    uint8_t role = card->session_role, to = a->p1;

    if (a->p2 != 0 || to < OCP_STATE_PERSONALISED ||
        to > OCP_STATE_TERMINATED)
        return OCP_SW_WRONG_P1P2;
    if (role == OCP_ROLE_ISSUER) {
        if (a->len != 0)
            return OCP_SW_WRONG_LENGTH;
        if (!issuer_may(root.state, to))
            return OCP_SW_CONDITIONS;
        if (to == OCP_STATE_PERSONALISED && !personalisation_complete(card))
            return OCP_SW_CONDITIONS;
    } else {
        if (to != OCP_STATE_BLOCKED || role == OCP_ROLE_KIOSK)
            return OCP_SW_SECURITY_STATUS;
        if (a->len != 12)
            return OCP_SW_WRONG_LENGTH;
        if (root.state != OCP_STATE_ACTIVE)
            return OCP_SW_CONDITIONS;
        if (!block_cryptogram_ok(card, a->data, a->len))
            return OCP_SW_AUTH_FAILED;
    }
    root.state = to;
    store_begin(card);
    if (store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    return OCP_SW_OK;
}
