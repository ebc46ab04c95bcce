/*
 * The holder's PIN: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER.
 * All run inside secure messaging, so the PIN never crosses the air in
 * clear.  The retry counter lives in the root and is decremented and
 * committed *before* the comparison: cutting power after seeing the answer
 * cannot win a try back.
 *
 * REC_PIN: length | PIN digits (8, zero padded) | maximum tries.
 */
#include <string.h>

#include "card_internal.h"

#define PIN_REF 0x81u /* P2: specific reference data, PIN 1 */

static int pin_format_ok(const uint8_t *pin, size_t len)
{
    size_t i;
    if (len < OCP_PIN_MIN || len > OCP_PIN_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return 0;
    return 1;
}

static uint16_t tries_sw(uint8_t left)
{
    return left == 0 ? OCP_SW_PIN_BLOCKED
                     : (uint16_t)(OCP_SW_PIN_TRIES_BASE | left);
}

int card_pin_differs(const uint8_t rec[STORE_PAYLOAD], const uint8_t *pin,
                     size_t len)
{
    uint8_t given[OCP_PIN_MAX];
    int differ;
    memset(given, 0, sizeof given);
    if (len <= OCP_PIN_MAX)
        memcpy(given, pin, len);
    /* Every byte is compared and the length check joins with a bitwise or,
     * so the time does not depend on where the PINs differ. */
    differ = ocp_ct_compare(given, rec + 1, OCP_PIN_MAX) | (len != rec[0]);
    ocp_wipe(given, sizeof given);
    return differ;
}

/* Spends one try, compares, and on success restores the tries.
 * Returns 9000, 63Cx, 6983, or 6581. */
static uint16_t pin_check(struct ocp_card *card, const uint8_t *pin,
                          size_t len)
{
    uint8_t rec[STORE_PAYLOAD];
    struct ocp_card_root root = card->root;
    int got = store_read(card, REC_PIN, rec);
    int differ;

    if (got < 0)
        return OCP_SW_MEMORY_FAILURE;
    if (got == 0)
        return OCP_SW_REF_NOT_FOUND;
    if (root.pin_tries == 0)
        return OCP_SW_PIN_BLOCKED;
    root.pin_tries--;
    store_begin(card);
    if (store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;

    differ = card_pin_differs(rec, pin, len);
    if (differ) {
        ocp_wipe(rec, sizeof rec);
        return tries_sw(root.pin_tries);
    }
    root.pin_tries = rec[9];
    ocp_wipe(rec, sizeof rec);
    store_begin(card);
    if (store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    card->pin_verified = 1;
    return OCP_SW_OK;
}

/* Writes a new PIN and full tries in one transaction. */
static uint16_t pin_set(struct ocp_card *card, const uint8_t *pin,
                        size_t len)
{
    uint8_t rec[STORE_PAYLOAD];
    struct ocp_card_root root = card->root;
    if (store_read(card, REC_PIN, rec) < 0)
        return OCP_SW_MEMORY_FAILURE;
    if (rec[9] == 0)
        rec[9] = OCP_PIN_TRIES_DEFAULT;
    rec[0] = (uint8_t)len;
    memset(rec + 1, 0, OCP_PIN_MAX);
    memcpy(rec + 1, pin, len);
    root.pin_tries = rec[9];
    store_begin(card);
    if (store_put(card, REC_PIN, rec) != 0 || store_commit(card, &root) != 0) {
        ocp_wipe(rec, sizeof rec);
        return OCP_SW_MEMORY_FAILURE;
    }
    ocp_wipe(rec, sizeof rec);
    return OCP_SW_OK;
}

uint16_t cmd_verify(struct ocp_card *card, card_apdu *a)
{
    uint8_t pin[OCP_PIN_MAX];
    size_t len = a->len;
    uint16_t sw;

    if (a->p1 != 0x00 || a->p2 != PIN_REF)
        return OCP_SW_WRONG_P1P2;
    if (card->root.state != OCP_STATE_ACTIVE &&
        card->root.state != OCP_STATE_PERSONALISED)
        return OCP_SW_CONDITIONS;
    if (len == 0) /* ISO: empty VERIFY asks for the tries left */
        return card->pin_verified ? OCP_SW_OK
                                  : tries_sw(card->root.pin_tries);
    if (!pin_format_ok(a->data, len))
        return OCP_SW_WRONG_DATA;
    memcpy(pin, a->data, len);
    card->pin_verified = 0;
    sw = pin_check(card, pin, len);
    ocp_wipe(pin, sizeof pin);
    return sw;
}

/* data = old length | old PIN | new PIN; the holder (kiosk) only. */
uint16_t cmd_change_pin(struct ocp_card *card, card_apdu *a)
{
    uint8_t old_pin[OCP_PIN_MAX], new_pin[OCP_PIN_MAX];
    size_t old_len, new_len;
    uint16_t sw;
    ocp_reader r;

    if (a->p1 != 0x00 || a->p2 != PIN_REF)
        return OCP_SW_WRONG_P1P2;
    if (card->session_role != OCP_ROLE_KIOSK)
        return OCP_SW_SECURITY_STATUS;
    if (card->root.state != OCP_STATE_ACTIVE)
        return OCP_SW_CONDITIONS;
    ocp_reader_init(&r, a->data, a->len);
    old_len = ocp_get_u8(&r);
    if (old_len > OCP_PIN_MAX || ocp_reader_left(&r) < old_len)
        return OCP_SW_WRONG_DATA;
    ocp_get_bytes(&r, old_pin, old_len);
    new_len = ocp_reader_left(&r);
    if (!pin_format_ok(old_pin, old_len) || new_len > OCP_PIN_MAX ||
        !pin_format_ok(r.p, new_len)) {
        ocp_wipe(old_pin, sizeof old_pin);
        return OCP_SW_WRONG_DATA;
    }
    ocp_get_bytes(&r, new_pin, new_len);
    sw = pin_check(card, old_pin, old_len);
    if (sw == OCP_SW_OK)
        sw = pin_set(card, new_pin, new_len);
    ocp_wipe(old_pin, sizeof old_pin);
    ocp_wipe(new_pin, sizeof new_pin);
    return sw;
}

/* Issuer: P1 = 02 sets a new PIN and resets the tries; P1 = 03 only resets
 * the tries.  The authenticated issuer session is the resetting code. */
uint16_t cmd_reset_retry(struct ocp_card *card, card_apdu *a)
{
    uint8_t rec[STORE_PAYLOAD];
    struct ocp_card_root root = card->root;
    int got;

    if (a->p2 != PIN_REF || (a->p1 != 0x02 && a->p1 != 0x03))
        return OCP_SW_WRONG_P1P2;
    if (card->session_role != OCP_ROLE_ISSUER)
        return OCP_SW_SECURITY_STATUS;
    if (card->root.state == OCP_STATE_TERMINATED)
        return OCP_SW_CONDITIONS;
    if (a->p1 == 0x02) {
        if (!pin_format_ok(a->data, a->len))
            return OCP_SW_WRONG_DATA;
        return pin_set(card, a->data, a->len);
    }
    if (a->len != 0)
        return OCP_SW_WRONG_LENGTH;
    got = store_read(card, REC_PIN, rec);
    if (got < 0)
        return OCP_SW_MEMORY_FAILURE;
    if (got == 0)
        return OCP_SW_REF_NOT_FOUND;
    root.pin_tries = rec[9];
    ocp_wipe(rec, sizeof rec);
    store_begin(card);
    if (store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    return OCP_SW_OK;
}
