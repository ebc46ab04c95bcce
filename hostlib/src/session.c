/*
 * The terminal's half of the channel: SELECT, MUTUAL AUTHENTICATE and
 * secure messaging.  The computations are firmware/proto's, the same code
 * the card runs, so both sides cannot drift apart.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "hostlib_internal.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_proto.h"
#include "ocp_wire.h"

ocp_status ocp_status_from_sw(uint16_t sw)
{
    switch (sw) {
    case OCP_SW_OK:
        return OCP_OK;
    case OCP_SW_SECURITY_STATUS:
        return OCP_E_DENIED;
    case OCP_SW_PIN_BLOCKED:
        return OCP_E_PIN_BLOCKED;
    case OCP_SW_AUTH_FAILED:
        return OCP_E_AUTH;
    case OCP_SW_SM_INCORRECT:
    case OCP_SW_SM_MISSING:
        return OCP_E_SM;
    case OCP_SW_REF_NOT_FOUND:
    case OCP_SW_NOT_ENOUGH_UNITS:
        return OCP_E_NOT_ENTITLED;
    case OCP_SW_CARD_FULL:
        return OCP_E_CARD_FULL;
    case OCP_SW_FILE_NOT_FOUND:
        return OCP_E_NOT_OCP;
    default:
        if ((sw & 0xFFF0u) == OCP_SW_PIN_TRIES_BASE)
            return OCP_E_PIN_WRONG;
        return OCP_E_CARD_STATUS;
    }
}

ocp_status ocp_select(ocp_transport *t, ocp_select_info *info)
{
    uint8_t apdu[5 + OCP_AID_LEN + 1] = {OCP_CLA_ISO, OCP_INS_SELECT, 0x04,
                                         0x00, OCP_AID_LEN};
    uint8_t r[OCP_RAPDU_MAX];
    size_t n = sizeof r;
    uint16_t sw;
    ocp_reader rd;
    ocp_status st;

    if (info == NULL)
        return OCP_E_ARGS;
    memset(info, 0, sizeof *info);
    memcpy(apdu + 5, ocp_aid, OCP_AID_LEN);
    apdu[sizeof apdu - 1] = 0x00;
    st = ocp_transmit(t, apdu, sizeof apdu, r, &n, &sw);
    if (st != OCP_OK)
        return st;
    if (sw == OCP_SW_FILE_NOT_FOUND)
        return OCP_E_NOT_OCP;
    if (sw != OCP_SW_OK && sw != OCP_SW_WARN_DEACTIVATED &&
        sw != OCP_SW_WARN_TERMINATED)
        return ocp_status_from_sw(sw) == OCP_OK ? OCP_E_CARD_STATUS
                                                : ocp_status_from_sw(sw);
    ocp_reader_init(&rd, r, n);
    if (ocp_get_u8(&rd) != 0x01)
        return OCP_E_BAD_RESPONSE;
    ocp_get_bytes(&rd, info->card_id, 8);
    info->suite = ocp_get_u8(&rd);
    info->state = ocp_get_u8(&rd);
    ocp_get_bytes(&rd, info->key_versions, OCP_KEY_SLOTS);
    ocp_get_bytes(&rd, info->challenge, OCP_CHALLENGE_LEN);
    if (!ocp_reader_done(&rd) || info->state > OCP_STATE_TERMINATED)
        return OCP_E_BAD_RESPONSE;
    info->sw = sw;
    return OCP_OK;
}

static ocp_status auth_error(uint16_t sw)
{
    switch (sw) {
    case OCP_SW_AUTH_FAILED:
        return OCP_E_AUTH;
    case OCP_SW_REF_NOT_FOUND:
        return OCP_E_KEY_MISSING;
    case OCP_SW_CONDITIONS:
        return OCP_E_DENIED;
    default:
        return ocp_status_from_sw(sw) == OCP_OK ? OCP_E_BAD_RESPONSE
                                                : ocp_status_from_sw(sw);
    }
}

ocp_status ocp_open_session(ocp_transport *t, const ocp_select_info *info,
                            uint8_t role, uint8_t key_version,
                            const uint8_t card_key[16], uint32_t terminal_id,
                            uint32_t datetime, ocp_last_tx *last,
                            ocp_session **out)
{
    uint8_t apdu[5 + OCP_AUTH_DATA_LEN + 1];
    uint8_t context[OCP_SM_CONTEXT_LEN], rh[8], cryptogram[8];
    uint8_t r[OCP_RAPDU_MAX];
    size_t n = sizeof r, plain;
    uint16_t sw;
    uint8_t suite, cipher;
    ocp_session *s;
    ocp_writer w;
    ocp_reader rd;
    ocp_status st;

    if (t == NULL || info == NULL || card_key == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    suite = info->suite ? info->suite : OCP_SUITE_AES;
    cipher = ocp_suite_cipher(suite);
    if (cipher == 0)
        return OCP_E_BAD_RESPONSE;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return OCP_E_NOMEM;
    if (RAND_bytes(rh, sizeof rh) != 1) {
        free(s);
        return OCP_E_CRYPTO;
    }
    ocp_sm_context(rh, info->challenge, role, terminal_id, datetime, context);
    ocp_sm_begin(&s->sm, cipher, card_key, context, cryptogram);

    ocp_writer_init(&w, apdu, sizeof apdu);
    ocp_put_u8(&w, OCP_CLA_ISO);
    ocp_put_u8(&w, OCP_INS_MUTUAL_AUTH);
    ocp_put_u8(&w, suite);
    ocp_put_u8(&w, role);
    ocp_put_u8(&w, OCP_AUTH_DATA_LEN);
    ocp_put_u8(&w, key_version);
    ocp_put_bytes(&w, rh, 8);
    ocp_put_u32(&w, terminal_id);
    ocp_put_u32(&w, datetime);
    ocp_put_bytes(&w, cryptogram, 8);
    ocp_put_u8(&w, 0x00);
    st = ocp_transmit(t, apdu, sizeof apdu, r, &n, &sw);
    /* Refusals are plain two-byte answers (PROTOCOL.md 2.3); a longer one
     * is protected whatever its SW (1.3), and only its R-MAC, which covers
     * the SW, tells a refusal from tampering. */
    if (st == OCP_OK && n == 0 && sw != OCP_SW_OK)
        st = auth_error(sw);
    /* The card proves itself with the R-MAC of this answer. */
    if (st == OCP_OK &&
        ocp_sm_unwrap_response(&s->sm, r, n, sw, &plain) != 0)
        st = OCP_E_SM;
    if (st == OCP_OK && (sw != OCP_SW_OK || plain != OCP_LASTTX_LEN))
        st = OCP_E_BAD_RESPONSE;
    if (st != OCP_OK) {
        ocp_session_close(s);
        return st;
    }
    if (last != NULL) {
        ocp_reader_init(&rd, r, plain);
        last->terminal_id = ocp_get_u32(&rd);
        last->seq = ocp_get_u32(&rd);
        last->counter = ocp_get_u32(&rd);
        last->service = ocp_get_u16(&rd);
        last->remaining = ocp_get_u32(&rd);
        last->flags = ocp_get_u8(&rd);
        ocp_get_bytes(&rd, last->cert, 8);
    }
    s->t = t;
    s->role = role;
    s->suite = suite;
    memcpy(s->card_id, info->card_id, 8);
    *out = s;
    return OCP_OK;
}

ocp_status ocp_session_transmit(ocp_session *s, uint8_t cla, uint8_t ins,
                                uint8_t p1, uint8_t p2, const uint8_t *data,
                                size_t len, uint8_t *resp, size_t *resp_len,
                                uint16_t *sw)
{
    uint8_t apdu[5 + 255 + 1], r[OCP_RAPDU_MAX];
    uint8_t hdr[4] = {cla, ins, p1, p2};
    size_t alen, n = sizeof r, plain;
    ocp_status st;

    if (s == NULL || sw == NULL || (len > 0 && data == NULL))
        return OCP_E_ARGS;
    if (s->broken)
        return OCP_E_SM;
    alen = ocp_sm_wrap_command(&s->sm, hdr, data, len, apdu, sizeof apdu);
    if (alen == 0)
        return OCP_E_ARGS;
    st = hl_exchange(s->t, apdu, alen, r, &n, sw);
    OPENSSL_cleanse(apdu, sizeof apdu);
    if (st != OCP_OK) {
        s->broken = 1; /* the chaining state is unknown now */
        return st;
    }
    if (n == 0) {
        /* Only an SM failure answers without an R-MAC, and it ends the
         * session on the card. */
        s->broken = 1;
        return OCP_E_SM; /* an unprotected answer is never trusted */
    }
    if (ocp_sm_unwrap_response(&s->sm, r, n, *sw, &plain) != 0) {
        s->broken = 1;
        return OCP_E_SM;
    }
    if (resp_len != NULL) {
        if (plain > *resp_len || (plain > 0 && resp == NULL)) {
            OPENSSL_cleanse(r, sizeof r);
            return OCP_E_BAD_RESPONSE;
        }
        if (plain)
            memcpy(resp, r, plain);
        *resp_len = plain;
    } else if (plain > 0) {
        OPENSSL_cleanse(r, sizeof r);
        return OCP_E_BAD_RESPONSE;
    }
    OPENSSL_cleanse(r, sizeof r);
    return OCP_OK;
}

uint8_t ocp_session_role(const ocp_session *s)
{
    return s ? s->role : 0;
}

void ocp_session_close(ocp_session *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}
