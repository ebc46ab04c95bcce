/*
 * Card operations over an open session: each builds the command data of
 * docs/PROTOCOL.md, sends it protected, and parses the answer with bounds.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "hostlib_internal.h"
#include "ocp_bytes.h"
#include "ocp_wire.h"

/* Sends a protected command and maps a non-9000 status word.  *sw_out is
 * 0 unless the answer's R-MAC verified: the SW of a plain or forged answer
 * must not steer the caller (a plain 6A83 would end a record listing). */
static ocp_status run(ocp_session *s, uint8_t cla, uint8_t ins, uint8_t p1,
                      uint8_t p2, const uint8_t *data, size_t len,
                      uint8_t *resp, size_t *resp_len, uint16_t *sw_out)
{
    uint16_t sw = 0;
    ocp_status st = ocp_session_transmit(s, cla, ins, p1, p2, data, len, resp,
                                         resp_len, &sw);
    if (sw_out)
        *sw_out = st == OCP_OK ? sw : 0;
    if (st != OCP_OK)
        return st;
    return ocp_status_from_sw(sw);
}

ocp_status ocp_consume(ocp_session *s, uint16_t service, uint32_t amount,
                       uint32_t seq, ocp_tx_result *out)
{
    uint8_t data[OCP_CONSUME_DATA_LEN], r[32];
    size_t n = sizeof r;
    uint16_t sw;
    ocp_reader rd;
    ocp_status st;

    if (out == NULL)
        return OCP_E_ARGS;
    ocp_put_be16(data, service);
    ocp_put_be32(data + 2, amount);
    ocp_put_be32(data + 6, seq);
    st = run(s, OCP_CLA_PROP, OCP_INS_CONSUME, 0, 0, data, sizeof data, r, &n,
             &sw);
    if (st == OCP_E_CARD_STATUS && sw == OCP_SW_CONDITIONS)
        st = OCP_E_NOT_ENTITLED;
    if (st != OCP_OK)
        return st;
    ocp_reader_init(&rd, r, n);
    out->counter = ocp_get_u32(&rd);
    out->remaining = ocp_get_u32(&rd);
    out->flags = ocp_get_u8(&rd);
    ocp_get_bytes(&rd, out->cert, 8);
    return ocp_reader_done(&rd) ? OCP_OK : OCP_E_BAD_RESPONSE;
}

static void ent_parse(ocp_reader *rd, ocp_entitlement *e)
{
    e->slot = ocp_get_u8(rd);
    e->service = ocp_get_u16(rd);
    e->domain = ocp_get_u8(rd);
    e->kind = ocp_get_u8(rd);
    e->flags = ocp_get_u8(rd);
    e->valid_from = ocp_get_u16(rd);
    e->valid_to = ocp_get_u16(rd);
    e->period = ocp_get_u8(rd);
    e->limit = ocp_get_u32(rd);
    e->remaining = ocp_get_u32(rd);
    e->period_id = ocp_get_u16(rd);
}

static void log_parse(ocp_reader *rd, ocp_log_record *l)
{
    l->counter = ocp_get_u32(rd);
    l->datetime = ocp_get_u32(rd);
    l->terminal_id = ocp_get_u32(rd);
    l->service = ocp_get_u16(rd);
    l->domain = ocp_get_u8(rd);
    l->amount = ocp_get_u32(rd);
    l->remaining = ocp_get_u32(rd);
    l->flags = ocp_get_u8(rd);
}

/* Reads records of an SFI with "P1 to last" until the card has no more. */
static ocp_status read_records(ocp_session *s, uint8_t sfi, size_t rec_len,
                               void *out, size_t elem, size_t *count)
{
    size_t cap, got = 0;
    unsigned next = 1;

    if (s == NULL || out == NULL || count == NULL)
        return OCP_E_ARGS;
    cap = *count;
    *count = 0;
    for (;;) {
        uint8_t r[256];
        size_t n = sizeof r;
        uint16_t sw;
        ocp_reader rd;
        ocp_status st;

        if (next > 255)
            return OCP_E_BAD_RESPONSE;
        st = run(s, OCP_CLA_ISO, OCP_INS_READ_RECORD, (uint8_t)next,
                 (uint8_t)(((unsigned)sfi << 3) | 5u), NULL, 0, r, &n, &sw);
        if (sw == OCP_SW_RECORD_NOT_FOUND)
            break;
        if (st != OCP_OK)
            return st;
        if (n == 0 || n % rec_len != 0)
            return OCP_E_BAD_RESPONSE;
        ocp_reader_init(&rd, r, n);
        while (ocp_reader_left(&rd) > 0) {
            if (got == cap)
                return OCP_E_BUFFER;
            if (sfi == OCP_SFI_ENTITLEMENTS)
                ent_parse(&rd, (ocp_entitlement *)out + got);
            else
                log_parse(&rd, (ocp_log_record *)out + got);
            got++;
        }
        if (!rd.ok)
            return OCP_E_BAD_RESPONSE;
        next += (unsigned)(n / rec_len);
        (void)elem;
    }
    *count = got;
    return OCP_OK;
}

ocp_status ocp_read_entitlements(ocp_session *s, ocp_entitlement *out,
                                 size_t *count)
{
    return read_records(s, OCP_SFI_ENTITLEMENTS, OCP_ENT_REC_LEN, out,
                        sizeof *out, count);
}

ocp_status ocp_read_log(ocp_session *s, ocp_log_record *out, size_t *count)
{
    return read_records(s, OCP_SFI_LOG, OCP_LOG_REC_LEN, out, sizeof *out,
                        count);
}

ocp_status ocp_read_holder(ocp_session *s, ocp_holder *out)
{
    uint8_t r[256];
    size_t n = sizeof r;
    ocp_reader rd;
    ocp_status st;

    if (out == NULL)
        return OCP_E_ARGS;
    memset(out, 0, sizeof *out);
    st = run(s, OCP_CLA_ISO, OCP_INS_GET_DATA, OCP_TAG_HOLDER >> 8,
             OCP_TAG_HOLDER & 0xFF, NULL, 0, r, &n, NULL);
    if (st != OCP_OK)
        return st;
    ocp_reader_init(&rd, r, n);
    while (rd.ok && ocp_reader_left(&rd) > 0) {
        uint8_t tag = ocp_get_u8(&rd), len = ocp_get_u8(&rd);
        const uint8_t *v = ocp_get_span(&rd, len);
        if (v == NULL)
            break;
        switch (tag) {
        case OCP_HT_NAME:
            if (len > 48)
                return OCP_E_BAD_RESPONSE;
            memcpy(out->name, v, len);
            out->name[len] = '\0';
            break;
        case OCP_HT_CERT_NO:
            if (len != 20)
                return OCP_E_BAD_RESPONSE;
            memcpy(out->cert_no, v, len);
            out->cert_no[len] = '\0';
            break;
        case OCP_HT_CATEGORY:
        case OCP_HT_GRADE:
            if (len != 1)
                return OCP_E_BAD_RESPONSE;
            if (tag == OCP_HT_CATEGORY)
                out->category = v[0];
            else
                out->grade = v[0];
            break;
        case OCP_HT_DISTRICT:
            if (len != 4)
                return OCP_E_BAD_RESPONSE;
            out->district = ocp_get_be32(v);
            break;
        default:
            return OCP_E_BAD_RESPONSE;
        }
    }
    OPENSSL_cleanse(r, sizeof r);
    return rd.ok ? OCP_OK : OCP_E_BAD_RESPONSE;
}

ocp_status ocp_read_status(ocp_session *s, ocp_card_status_info *out)
{
    uint8_t r[64];
    size_t n = sizeof r;
    ocp_reader rd;
    ocp_status st;

    if (out == NULL)
        return OCP_E_ARGS;
    st = run(s, OCP_CLA_ISO, OCP_INS_GET_DATA, OCP_TAG_STATUS >> 8,
             OCP_TAG_STATUS & 0xFF, NULL, 0, r, &n, NULL);
    if (st != OCP_OK)
        return st;
    ocp_reader_init(&rd, r, n);
    out->state = ocp_get_u8(&rd);
    out->tx_counter = ocp_get_u32(&rd);
    out->last_date = ocp_get_u16(&rd);
    out->pin_tries = ocp_get_u8(&rd);
    out->pin_max = ocp_get_u8(&rd);
    out->expiry_date = ocp_get_u16(&rd);
    out->free_slots = ocp_get_u8(&rd);
    return ocp_reader_done(&rd) ? OCP_OK : OCP_E_BAD_RESPONSE;
}

ocp_status ocp_read_public(ocp_transport *t, ocp_public_info *out)
{
    uint8_t apdu[5] = {OCP_CLA_ISO, OCP_INS_GET_DATA, OCP_TAG_PUBLIC >> 8,
                       OCP_TAG_PUBLIC & 0xFF, 0x00};
    uint8_t r[256];
    size_t n = sizeof r;
    uint16_t sw;
    ocp_reader rd;
    ocp_status st;

    if (out == NULL)
        return OCP_E_ARGS;
    st = ocp_transmit(t, apdu, sizeof apdu, r, &n, &sw);
    if (st != OCP_OK)
        return st;
    if (sw != OCP_SW_OK)
        return ocp_status_from_sw(sw);
    ocp_reader_init(&rd, r, n);
    ocp_get_bytes(&rd, out->card_id, 8);
    out->suite = ocp_get_u8(&rd);
    out->issue_date = ocp_get_u16(&rd);
    out->expiry_date = ocp_get_u16(&rd);
    ocp_get_bytes(&rd, out->holder_digest, 16);
    ocp_get_bytes(&rd, out->signature, 64);
    return ocp_reader_done(&rd) ? OCP_OK : OCP_E_BAD_RESPONSE;
}

static int pin_ok(const char *pin)
{
    size_t i, n;
    if (pin == NULL)
        return 0;
    n = strlen(pin);
    if (n < OCP_PIN_MIN || n > OCP_PIN_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return 0;
    return 1;
}

static ocp_status pin_result(ocp_status st, uint16_t sw, int *tries_left)
{
    if (tries_left != NULL)
        *tries_left = (sw & 0xFFF0u) == OCP_SW_PIN_TRIES_BASE
                          ? (int)(sw & 0x0Fu)
                          : (sw == OCP_SW_PIN_BLOCKED ? 0 : -1);
    return st;
}

ocp_status ocp_verify_pin(ocp_session *s, const char *pin, int *tries_left)
{
    uint16_t sw = 0;
    ocp_status st;
    if (!pin_ok(pin))
        return OCP_E_ARGS;
    st = run(s, OCP_CLA_ISO, OCP_INS_VERIFY, 0x00, 0x81,
             (const uint8_t *)pin, strlen(pin), NULL, NULL, &sw);
    return pin_result(st, sw, tries_left);
}

ocp_status ocp_change_pin(ocp_session *s, const char *old_pin,
                          const char *new_pin, int *tries_left)
{
    uint8_t data[1 + 2 * OCP_PIN_MAX];
    size_t ol, nl;
    uint16_t sw = 0;
    ocp_status st;
    if (!pin_ok(old_pin) || !pin_ok(new_pin))
        return OCP_E_ARGS;
    ol = strlen(old_pin);
    nl = strlen(new_pin);
    data[0] = (uint8_t)ol;
    memcpy(data + 1, old_pin, ol);
    memcpy(data + 1 + ol, new_pin, nl);
    st = run(s, OCP_CLA_ISO, OCP_INS_CHANGE_REF_DATA, 0x00, 0x81, data,
             1 + ol + nl, NULL, NULL, &sw);
    OPENSSL_cleanse(data, sizeof data);
    return pin_result(st, sw, tries_left);
}

ocp_status ocp_unblock_pin(ocp_session *s, const char *new_pin)
{
    if (new_pin == NULL)
        return run(s, OCP_CLA_ISO, OCP_INS_RESET_RETRY, 0x03, 0x81, NULL, 0,
                   NULL, NULL, NULL);
    if (!pin_ok(new_pin))
        return OCP_E_ARGS;
    return run(s, OCP_CLA_ISO, OCP_INS_RESET_RETRY, 0x02, 0x81,
               (const uint8_t *)new_pin, strlen(new_pin), NULL, NULL, NULL);
}

ocp_status ocp_grant(ocp_session *s, const ocp_entitlement *e,
                     uint8_t *slot_out)
{
    uint8_t data[18], r[16];
    size_t n = sizeof r;
    ocp_writer w;
    ocp_status st;

    if (e == NULL)
        return OCP_E_ARGS;
    ocp_writer_init(&w, data, sizeof data);
    ocp_put_u16(&w, e->service);
    ocp_put_u8(&w, e->domain);
    ocp_put_u8(&w, e->kind);
    ocp_put_u8(&w, e->flags);
    ocp_put_u16(&w, e->valid_from);
    ocp_put_u16(&w, e->valid_to);
    ocp_put_u8(&w, e->period);
    ocp_put_u32(&w, e->limit);
    ocp_put_u32(&w, e->remaining);
    st = run(s, OCP_CLA_PROP, OCP_INS_GRANT, e->slot, OCP_GRANT_PUT, data,
             sizeof data, r, &n, NULL);
    if (st != OCP_OK)
        return st;
    if (n != 1)
        return OCP_E_BAD_RESPONSE;
    if (slot_out)
        *slot_out = r[0];
    return OCP_OK;
}

ocp_status ocp_revoke(ocp_session *s, uint8_t slot)
{
    uint8_t r[16];
    size_t n = sizeof r;
    return run(s, OCP_CLA_PROP, OCP_INS_GRANT, slot, OCP_GRANT_REVOKE, NULL,
               0, r, &n, NULL);
}

ocp_status ocp_credit(ocp_session *s, uint8_t slot, uint32_t amount)
{
    uint8_t data[4], r[16];
    size_t n = sizeof r;
    ocp_put_be32(data, amount);
    return run(s, OCP_CLA_PROP, OCP_INS_GRANT, slot, OCP_GRANT_CREDIT, data,
               sizeof data, r, &n, NULL);
}

ocp_status ocp_set_state(ocp_session *s, uint8_t state)
{
    return run(s, OCP_CLA_PROP, OCP_INS_SET_STATE, state, 0, NULL, 0, NULL,
               NULL, NULL);
}

ocp_status ocp_block_with_cryptogram(ocp_session *s, uint32_t hotlist_version,
                                     const uint8_t cryptogram[8])
{
    uint8_t data[12];
    if (cryptogram == NULL)
        return OCP_E_ARGS;
    ocp_put_be32(data, hotlist_version);
    memcpy(data + 4, cryptogram, 8);
    return run(s, OCP_CLA_PROP, OCP_INS_SET_STATE, OCP_STATE_BLOCKED, 0, data,
               sizeof data, NULL, NULL, NULL);
}

ocp_status ocp_set_card_date(ocp_session *s, uint16_t day)
{
    uint8_t data[2];
    ocp_put_be16(data, day);
    return run(s, OCP_CLA_ISO, OCP_INS_PUT_DATA, OCP_TAG_DATE >> 8,
               OCP_TAG_DATE & 0xFF, data, sizeof data, NULL, NULL, NULL);
}
