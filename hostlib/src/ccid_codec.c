/* USB CCID message codec (ccid_codec.h): bounds first, then bytes. */
#include "ccid_codec.h"

#include <string.h>

uint32_t ccid_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

void ccid_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static ccid_result header(uint8_t type, uint8_t slot, uint8_t seq,
                          uint8_t b7, uint8_t b8, uint8_t b9,
                          size_t data_len, uint8_t *out, size_t cap,
                          size_t *len)
{
    if (out == NULL || len == NULL || data_len > CCID_MSG_MAX ||
        cap < CCID_HEADER_LEN + data_len)
        return CCID_E_BUFFER;
    out[0] = type;
    ccid_put_le32(out + 1, (uint32_t)data_len);
    out[5] = slot;
    out[6] = seq;
    out[7] = b7;
    out[8] = b8;
    out[9] = b9;
    *len = CCID_HEADER_LEN + data_len;
    return CCID_OK;
}

ccid_result ccid_encode_power_on(uint8_t slot, uint8_t seq, uint8_t voltage,
                                 uint8_t *out, size_t cap, size_t *len)
{
    return header(CCID_PC_TO_RDR_ICC_POWER_ON, slot, seq, voltage, 0, 0, 0,
                  out, cap, len);
}

ccid_result ccid_encode_power_off(uint8_t slot, uint8_t seq, uint8_t *out,
                                  size_t cap, size_t *len)
{
    return header(CCID_PC_TO_RDR_ICC_POWER_OFF, slot, seq, 0, 0, 0, 0, out,
                  cap, len);
}

ccid_result ccid_encode_get_slot_status(uint8_t slot, uint8_t seq,
                                        uint8_t *out, size_t cap,
                                        size_t *len)
{
    return header(CCID_PC_TO_RDR_GET_SLOT_STATUS, slot, seq, 0, 0, 0, 0, out,
                  cap, len);
}

ccid_result ccid_encode_abort(uint8_t slot, uint8_t seq, uint8_t *out,
                              size_t cap, size_t *len)
{
    return header(CCID_PC_TO_RDR_ABORT, slot, seq, 0, 0, 0, 0, out, cap,
                  len);
}

ccid_result ccid_encode_xfr_block(uint8_t slot, uint8_t seq,
                                  const uint8_t *apdu, size_t apdu_len,
                                  uint8_t *out, size_t cap, size_t *len)
{
    ccid_result r;
    if (apdu == NULL && apdu_len > 0)
        return CCID_E_BUFFER;
    r = header(CCID_PC_TO_RDR_XFR_BLOCK, slot, seq, 0, 0, 0, apdu_len, out,
               cap, len);
    if (r == CCID_OK && apdu_len > 0)
        memcpy(out + CCID_HEADER_LEN, apdu, apdu_len);
    return r;
}

ccid_result ccid_decode_response(const uint8_t *msg, size_t n,
                                 size_t max_data, struct ccid_response *r)
{
    uint32_t dlen;
    uint8_t status;

    if (msg == NULL || r == NULL || n < CCID_HEADER_LEN)
        return CCID_E_SHORT;
    memset(r, 0, sizeof *r);
    dlen = ccid_get_le32(msg + 1);
    /* Trust no length from the reader: compare before any arithmetic. */
    if (dlen > max_data)
        return CCID_E_LONG;
    if (n - CCID_HEADER_LEN < dlen)
        return CCID_E_SHORT;
    if (n - CCID_HEADER_LEN > dlen)
        return CCID_E_LONG;
    status = msg[7];
    r->type = msg[0];
    r->slot = msg[5];
    r->seq = msg[6];
    r->icc_status = (uint8_t)(status & 0x03u);
    r->cmd_status = (uint8_t)(status >> 6);
    r->error = msg[8];
    r->param = msg[9];
    /* Bits 2-5 are RFU, and value 3 of either field is RFU too. */
    if ((status & 0x3Cu) != 0 || r->icc_status == 3u || r->cmd_status == 3u)
        return CCID_E_STATUS;
    if (r->type != CCID_RDR_TO_PC_DATA_BLOCK && dlen != 0)
        return CCID_E_LONG;
    r->data = dlen ? msg + CCID_HEADER_LEN : NULL;
    r->data_len = dlen;
    return CCID_OK;
}

ccid_result ccid_check_response(const struct ccid_response *r,
                                uint8_t want_type, uint8_t slot, uint8_t seq)
{
    if (r->seq != seq)
        return CCID_E_SEQ;
    if (r->slot != slot)
        return CCID_E_SLOT;
    /* A reader that fails a command may answer it with a SlotStatus
     * instead of a DataBlock: that is an answer, with its bStatus. */
    if (r->type != want_type &&
        !(r->type == CCID_RDR_TO_PC_SLOT_STATUS &&
          r->cmd_status == CCID_CMD_FAILED))
        return CCID_E_TYPE;
    return CCID_OK;
}

ccid_result ccid_decode_slot_change(const uint8_t *msg, size_t n,
                                    uint8_t slot, int *present, int *changed)
{
    size_t need;
    unsigned bits;
    if (msg == NULL || present == NULL || changed == NULL || n < 2)
        return CCID_E_SHORT;
    if (msg[0] != CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE)
        return CCID_E_TYPE;
    need = 1u + ((size_t)slot * 2u) / 8u + 1u;
    if (n < need)
        return CCID_E_SLOT;
    bits = (unsigned)(msg[1u + (slot * 2u) / 8u] >> ((slot * 2u) % 8u));
    *present = (bits & 1u) != 0;
    *changed = (bits & 2u) != 0;
    return CCID_OK;
}

ccid_result ccid_parse_class_descriptor(const uint8_t *d, size_t n,
                                        struct ccid_features *f)
{
    if (d == NULL || f == NULL || n < CCID_CLASS_DESC_LEN)
        return CCID_E_DESCRIPTOR;
    if (d[0] != CCID_CLASS_DESC_LEN ||
        (d[1] != CCID_CLASS_DESC_TYPE && d[1] != CCID_CLASS_DESC_TYPE_OLD))
        return CCID_E_DESCRIPTOR;
    memset(f, 0, sizeof *f);
    f->bcd_ccid = (uint16_t)(d[2] | d[3] << 8);
    f->max_slot_index = d[4];
    f->voltage_support = d[5];
    f->protocols = ccid_get_le32(d + 6);
    f->default_clock = ccid_get_le32(d + 10);
    f->data_rate = ccid_get_le32(d + 19);
    f->max_ifsd = ccid_get_le32(d + 28);
    f->features = ccid_get_le32(d + 40);
    f->max_message = ccid_get_le32(d + 44);
    f->max_busy_slots = d[53];
    /* The smallest message is a header; a descriptor below that is
     * nonsense, not a reader to talk to. */
    if (f->max_message < CCID_HEADER_LEN)
        return CCID_E_DESCRIPTOR;
    return CCID_OK;
}

ccid_level ccid_exchange_level(const struct ccid_features *f)
{
    uint32_t level = f->features & CCID_FEAT_LEVEL_MASK;
    if (level & CCID_FEAT_LEVEL_EXTENDED_APDU)
        return CCID_LEVEL_EXTENDED_APDU;
    if (level & CCID_FEAT_LEVEL_SHORT_APDU)
        return CCID_LEVEL_SHORT_APDU;
    if (level & CCID_FEAT_LEVEL_TPDU)
        return CCID_LEVEL_TPDU;
    return CCID_LEVEL_CHARACTER;
}
