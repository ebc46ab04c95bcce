/*
 * A hostile USB CCID reader: the CCID transport (hostlib/src/
 * transport_ccid.c) and codec (ccid_codec.c) fed whatever the fuzzer
 * chooses, on every endpoint.
 *
 * Input: one flags byte (bit 0: the class descriptor comes from the input,
 * the next 54 bytes; bit 1: the reader has an interrupt endpoint; bit 2:
 * ask for the slot status three times first), then
 * frames, consumed one per bulk-in or interrupt-in read:
 *   kind (1 byte): bits 0-2 what the read returns (0 data, 1 timeout,
 *                  2 stall, 3 device gone, 4 I/O error, else data);
 *                  bit 3: write the bSeq of the last command into byte 6
 *                  (so the fuzzer gets past the seq check often)
 *   length (2 bytes, little-endian), then that many bytes (cut to what is
 *   left).
 * Bulk-out never fails.  When the frames run out every read times out.
 * The transport opens (power on), sends a few APDUs, resets, sends again;
 * a command that times out is aborted (class request, PC_to_RDR_Abort),
 * whose answer comes from the frames too.
 */
#include <stdint.h>
#include <string.h>

#include "ccid_codec.h"
#include "ccid_transport.h"
#include "ocp/ccid.h"

struct hostile {
    const uint8_t *p, *end;
    uint8_t last_seq;
    int stalled; /* to answer clear_halt without effect */
};

static usb_status next_frame(struct hostile *h, uint8_t *buf, size_t cap,
                             size_t *got)
{
    uint8_t kind;
    size_t len;
    *got = 0;
    if ((size_t)(h->end - h->p) < 3) {
        h->p = h->end;
        return USB_E_TIMEOUT;
    }
    kind = h->p[0];
    len = (size_t)h->p[1] | (size_t)h->p[2] << 8;
    h->p += 3;
    if (len > (size_t)(h->end - h->p))
        len = (size_t)(h->end - h->p);
    switch (kind & 7u) {
    case 1:
        h->p += len;
        return USB_E_TIMEOUT;
    case 2:
        h->p += len;
        return USB_E_STALL;
    case 3:
        h->p += len;
        return USB_E_NO_DEVICE;
    case 4:
        h->p += len;
        return USB_E_IO;
    default:
        break;
    }
    if (len > cap)
        len = cap;
    memcpy(buf, h->p, len);
    h->p += len;
    if ((kind & 8u) && len > 6)
        buf[6] = h->last_seq;
    *got = len;
    return USB_OK;
}

static usb_status h_bulk_out(void *dev, const uint8_t *buf, size_t len,
                             unsigned timeout_ms)
{
    struct hostile *h = dev;
    (void)timeout_ms;
    if (len >= CCID_HEADER_LEN)
        h->last_seq = buf[6];
    return USB_OK;
}

static usb_status h_bulk_in(void *dev, uint8_t *buf, size_t cap, size_t *got,
                            unsigned timeout_ms)
{
    (void)timeout_ms;
    return next_frame(dev, buf, cap, got);
}

static usb_status h_interrupt_in(void *dev, uint8_t *buf, size_t cap,
                                 size_t *got, unsigned timeout_ms)
{
    (void)timeout_ms;
    return next_frame(dev, buf, cap, got);
}

static usb_status h_clear_halt(void *dev, enum usb_endpoint ep)
{
    struct hostile *h = dev;
    (void)ep;
    h->stalled = 0;
    return USB_OK;
}

static usb_status h_abort_request(void *dev, uint8_t slot, uint8_t seq,
                                  unsigned timeout_ms)
{
    struct hostile *h = dev;
    (void)slot;
    (void)timeout_ms;
    h->last_seq = seq;
    return USB_OK;
}

static void h_close(void *dev)
{
    (void)dev;
}

static const struct usb_io_ops hostile_ops = {
    h_bulk_out,   h_bulk_in,       h_interrupt_in,
    h_clear_halt, h_abort_request, h_close,
};

/* A short-APDU reader's class descriptor. */
static const uint8_t good_desc[54] = {
    0x36, 0x21, 0x10, 0x01, 0x00, 0x07, 0x03, 0x00, 0x00, 0x00,
    0xA0, 0x0F, 0x00, 0x00, 0xA0, 0x0F, 0x00, 0x00, 0x00,
    0x00, 0x2A, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00,
    0xFE, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xBA, 0x04, 0x02, 0x00,
    0x0F, 0x01, 0x00, 0x00,
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0,
                                     0x4F, 0x43, 0x50, 0x01, 0x00};
    struct hostile h;
    struct usb_io io;
    struct ccid_options opt;
    struct ccid_response r;
    struct ccid_features f;
    ocp_transport *t = NULL;
    uint8_t rapdu[OCP_RAPDU_MAX];
    int present, changed, i;

    if (size < 1)
        return 0;
    /* The codec alone, on the whole input. */
    if (ccid_decode_response(data, size, 512, &r) == CCID_OK)
        (void)ccid_check_response(&r, CCID_RDR_TO_PC_DATA_BLOCK, 0, 0);
    (void)ccid_decode_slot_change(data, size, (uint8_t)(data[0] & 7u),
                                  &present, &changed);
    if (ccid_parse_class_descriptor(data, size, &f) == CCID_OK)
        (void)ccid_exchange_level(&f);

    memset(&h, 0, sizeof h);
    memset(&io, 0, sizeof io);
    h.p = data + 1;
    h.end = data + size;
    io.ops = &hostile_ops;
    io.dev = &h;
    io.info.ep_bulk_in = 0x82;
    io.info.ep_bulk_out = 0x01;
    io.info.ep_interrupt = (data[0] & 2u) ? 0x83 : 0;
    if ((data[0] & 1u) && size >= 55) {
        memcpy(io.info.class_desc, data + 1, 54);
        h.p += 54;
    } else {
        memcpy(io.info.class_desc, good_desc, 54);
    }
    io.info.class_desc_len = 54;
    memset(&opt, 0, sizeof opt);
    /* No deadline: a run must not depend on the clock.  Every read
     * consumes input or times out, so each command still ends. */
    opt.deadline_ms = CCID_NO_DEADLINE;

    {
        /* The validator loop's slot polling, on the same hostile reader
         * (the transport below takes over io; this does not). */
        uint8_t seq = 0;
        int in_slot;
        if (data[0] & 4u)
            for (i = 0; i < 3; i++)
                (void)ccid_slot_present(&io, &opt, &seq, &in_slot);
    }
    if (ccid_transport_open(&io, &opt, &t) != OCP_OK)
        return 0;
    for (i = 0; i < 6 && h.p < h.end; i++) {
        size_t rlen = (i == 2) ? 4 : sizeof rapdu; /* once too small */
        ocp_status st = t->ops->transmit(t, select, sizeof select, rapdu,
                                         &rlen);
        if (st == OCP_OK && (rlen < 2 || rlen > OCP_RAPDU_MAX))
            __builtin_trap(); /* the transport's promise */
        if (st == OCP_E_CARD_REMOVED || st == OCP_E_CARD_RESET ||
            i == 3)
            (void)t->ops->reset(t);
    }
    t->ops->close(t);
    return 0;
}
