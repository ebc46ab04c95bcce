/*
 * Selection, challenges and mutual authentication (docs/PROTOCOL.md,
 * "Opening a session").  The card's challenge rides in the SELECT response
 * so a whole session opens in two round trips: SELECT, MUTUAL AUTHENTICATE.
 */
#include <string.h>

#include "card_internal.h"
#include "ocp_proto.h"

uint8_t card_suite(const struct ocp_card *card)
{
    uint8_t rec[STORE_PAYLOAD];
    if (store_read(card, REC_IDENT, rec) <= 0)
        return 0;
    return rec[0];
}

void channel_close(struct ocp_card *card)
{
    card->session_role = 0;
    card->pin_verified = 0;
    card->session_terminal = 0;
    card->session_datetime = 0;
    ocp_sm_end(&card->sm);
}

static int new_challenge(struct ocp_card *card)
{
    if (drbg_generate(card, card->challenge, OCP_CHALLENGE_LEN) != 0)
        return -1;
    card->challenge_valid = 1;
    return 0;
}

uint16_t cmd_select(struct ocp_card *card, card_apdu *a)
{
    ocp_writer w;
    uint8_t versions[OCP_KEY_SLOTS];

    /* Any SELECT leaves the application's session, whatever its outcome:
     * on a card with several applications it would deselect this one. */
    channel_close(card);
    card->challenge_valid = 0;
    if (a->p1 != 0x04 || (a->p2 != 0x00 && a->p2 != 0x0C))
        return OCP_SW_WRONG_P1P2;
    /* Le is optional with P2=00: tools such as opensc-tool send SELECT as
     * case 3 and still expect the answer. */
    if (a->len != OCP_AID_LEN || (a->p2 == 0x0C && a->has_le))
        return OCP_SW_WRONG_LENGTH;
    if (ocp_ct_compare(a->data, ocp_aid, OCP_AID_LEN) != 0)
        return OCP_SW_FILE_NOT_FOUND;
    if (a->p2 == 0x0C)
        return OCP_SW_OK;

    if (new_challenge(card) != 0)
        return OCP_SW_MEMORY_FAILURE;
    keys_versions(card, versions);
    ocp_writer_init(&w, a->out, a->out_cap);
    ocp_put_u8(&w, 0x01); /* response format */
    ocp_put_bytes(&w, card->card_id, OCP_CARD_ID_LEN);
    ocp_put_u8(&w, card_suite(card));
    ocp_put_u8(&w, card->root.state);
    ocp_put_bytes(&w, versions, OCP_KEY_SLOTS);
    ocp_put_bytes(&w, card->challenge, OCP_CHALLENGE_LEN);
    a->out_len = ocp_writer_len(&w, a->out);
    if (card->root.state == OCP_STATE_BLOCKED)
        return OCP_SW_WARN_DEACTIVATED;
    if (card->root.state == OCP_STATE_TERMINATED)
        return OCP_SW_WARN_TERMINATED;
    return OCP_SW_OK;
}

uint16_t cmd_get_challenge(struct ocp_card *card, card_apdu *a)
{
    channel_close(card); /* a new challenge starts over, whatever follows */
    if (a->p1 != 0 || a->p2 != 0)
        return OCP_SW_WRONG_P1P2;
    if (a->len != 0 || !a->has_le)
        return OCP_SW_WRONG_LENGTH;
    if (a->le != 256 && a->le != OCP_CHALLENGE_LEN)
        return (uint16_t)(0x6C00u | OCP_CHALLENGE_LEN);
    if (new_challenge(card) != 0)
        return OCP_SW_MEMORY_FAILURE;
    memcpy(a->out, card->challenge, OCP_CHALLENGE_LEN);
    a->out_len = OCP_CHALLENGE_LEN;
    return OCP_SW_OK;
}

/* Which roles may open a session in each life-cycle state. */
static int role_allowed(uint8_t state, uint8_t role)
{
    switch (state) {
    case OCP_STATE_BLANK:
        /* Any issuer version: personalisation loads the issuer key last,
         * and a cut right after that must still be resumable. */
    case OCP_STATE_PERSONALISED:
    case OCP_STATE_BLOCKED:
        return role == OCP_ROLE_ISSUER;
    case OCP_STATE_ACTIVE:
        return 1;
    default:
        return 0;
    }
}

/*
 * MUTUAL AUTHENTICATE: P1 suite, P2 role; data = key version(1) | RH(8) |
 * terminal id(4) | date-time(4) | host cryptogram(8).  The host proves
 * itself first; the card proves itself with the R-MAC of its response,
 * which carries the domain's last transaction, encrypted.
 */
uint16_t cmd_mutual_auth(struct ocp_card *card, card_apdu *a)
{
    uint8_t rh[8], cryptogram[8], mine[8], key[16], held;
    uint8_t context[OCP_SM_CONTEXT_LEN];
    uint8_t suite, cipher, version, role = a->p2;
    uint32_t terminal, datetime;
    ocp_reader r;
    uint16_t sw;

    channel_close(card);
    if (role < 1 || role > OCP_ROLE_COUNT)
        return OCP_SW_WRONG_P1P2;
    ocp_reader_init(&r, a->data, a->len);
    version = ocp_get_u8(&r);
    ocp_get_bytes(&r, rh, 8);
    terminal = ocp_get_u32(&r);
    datetime = ocp_get_u32(&r);
    ocp_get_bytes(&r, cryptogram, 8);
    if (!ocp_reader_done(&r) || !a->has_le)
        return OCP_SW_WRONG_LENGTH;
    if (!card->challenge_valid)
        return OCP_SW_CONDITIONS;
    card->challenge_valid = 0; /* one try per challenge */

    suite = card_suite(card);
    if (card->root.state == OCP_STATE_BLANK &&
        (a->p1 == OCP_SUITE_AES || a->p1 == OCP_SUITE_SM))
        suite = a->p1;
    if (a->p1 != suite)
        return OCP_SW_WRONG_P1P2;
    if (!role_allowed(card->root.state, role))
        return OCP_SW_CONDITIONS;
    if (!keys_get(card, role, &held, key) || held != version) {
        ocp_wipe(key, sizeof key);
        return OCP_SW_REF_NOT_FOUND;
    }
    cipher = ocp_suite_cipher(suite);
    ocp_sm_context(rh, card->challenge, role, terminal, datetime, context);
    ocp_sm_begin(&card->sm, cipher, key, context, mine);
    ocp_wipe(key, sizeof key);
    if (ocp_ct_compare(mine, cryptogram, 8) != 0) {
        ocp_sm_end(&card->sm);
        return OCP_SW_AUTH_FAILED;
    }
    card->session_role = role;
    card->session_terminal = terminal;
    card->session_datetime = datetime;
    if (entitlement_last_tx(card, role, a->out) != 0) {
        channel_close(card);
        return OCP_SW_MEMORY_FAILURE;
    }
    a->out_len = OCP_LASTTX_LEN;
    a->sm = 1; /* the response is protected */
    sw = OCP_SW_OK;
    return sw;
}
