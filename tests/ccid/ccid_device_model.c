/* A USB CCID reader in software: see ccid_device_model.h. */
#include "ccid_device_model.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocp/inproc.h"

/* T=1, no interface bytes beyond TD1, "OCP" in the historical bytes. */
static const uint8_t model_atr[] = {0x3B, 0x83, 0x80, 0x01, 'O', 'C', 'P',
                                    0x83 ^ 0x80 ^ 0x01 ^ 'O' ^ 'C' ^ 'P'};

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static unsigned long long model_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull +
           (unsigned long long)ts.tv_nsec / 1000000ull;
}

static void sleep_ms(unsigned long long ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    nanosleep(&ts, NULL);
}

static struct ccid_model_frame *push(struct ccid_model *m, size_t len)
{
    struct ccid_model_frame *f;
    if (m->q_count == CCID_MODEL_QUEUE || len > sizeof f->bytes)
        return NULL;
    f = &m->queue[(m->q_head + m->q_count++) % CCID_MODEL_QUEUE];
    memset(f, 0, sizeof *f);
    f->len = len;
    return f;
}

/* One answer: type, slot, seq, bStatus, bError, third byte, data. */
static struct ccid_model_frame *answer(struct ccid_model *m, uint8_t type,
                                       uint8_t slot, uint8_t seq,
                                       uint8_t status, uint8_t error,
                                       uint8_t param, const uint8_t *data,
                                       size_t n)
{
    struct ccid_model_frame *fr = push(m, 10 + n);
    uint8_t *f;
    if (fr == NULL)
        return NULL;
    f = fr->bytes;
    f[0] = type;
    put_le32(f + 1, (uint32_t)n);
    f[5] = slot;
    f[6] = seq;
    f[7] = status;
    f[8] = error;
    f[9] = param;
    if (n)
        memcpy(f + 10, data, n);
    return fr;
}

static uint8_t icc_bits(const struct ccid_model *m)
{
    return (uint8_t)(!m->present ? 2u : m->powered ? 0u : 1u);
}

/* The answer to one command, with the one-shot faults applied. */
static void reply(struct ccid_model *m, uint8_t type, uint8_t slot,
                  uint8_t seq, uint8_t status, uint8_t error,
                  const uint8_t *data, size_t n)
{
    struct ccid_model_faults *f = &m->fault;
    struct ccid_model_frame *fr;
    uint8_t param = 0;
    unsigned i;

    if (f->mute) {
        f->mute = 0;
        return;
    }
    for (; f->stale_frames; f->stale_frames--)
        answer(m, type, slot, (uint8_t)(seq - 1u), status, error, 0, data, n);
    if (f->wrong_seq) {
        f->wrong_seq = 0;
        for (i = 0; i < 8; i++)
            answer(m, type, slot, (uint8_t)(seq + 0x80u), status, error, 0,
                   data, n);
        return;
    }
    if (f->wrong_slot) {
        f->wrong_slot = 0;
        slot = 1;
    }
    if (f->wrong_type) {
        f->wrong_type = 0;
        answer(m, 0x81, slot, seq, icc_bits(m), 0, 0, NULL, 0);
        return;
    }
    if (f->bad_status) {
        f->bad_status = 0;
        status |= 0x04u;
    }
    if (f->chained && type == 0x80) {
        f->chained = 0;
        param = 1;
    }
    fr = answer(m, type, slot, seq, status, error, param, data, n);
    if (fr == NULL)
        return;
    /* The time extensions go out, one per read, before the answer. */
    if (m->in_xfr) {
        fr->extensions_before = f->time_extensions + f->every_extensions;
        /* Spaced in time only when there are extensions to space. */
        fr->extension_ms = fr->extensions_before ? f->extension_ms : 0;
        f->time_extensions = 0;
    }
    if (f->short_read) {
        f->short_read = 0;
        fr->len -= 3;
    }
    if (f->length_overflow) {
        f->length_overflow = 0;
        put_le32(fr->bytes + 1, 0xFFFFFFF0u);
    }
}

static void do_power_on(struct ccid_model *m, uint8_t slot, uint8_t seq)
{
    m->power_ons++;
    if (!m->present) {
        reply(m, 0x80, slot, seq, 0x42, 0xFE, NULL, 0);
        return;
    }
    if (ocp_inproc_power_cycle(m->card) != OCP_OK) {
        reply(m, 0x80, slot, seq, 0x41, 0xFE, NULL, 0);
        return;
    }
    m->powered = 1;
    reply(m, 0x80, slot, seq, 0x00, 0, model_atr, sizeof model_atr);
}

/* An XfrBlock through the slot to the card, with the faults armed for it. */
static void do_xfr_card(struct ccid_model *m, uint8_t slot, uint8_t seq,
                        const uint8_t *apdu, size_t n)
{
    uint8_t r[OCP_RAPDU_MAX];
    size_t rlen = sizeof r;
    ocp_status st;

    if (m->fault.vanish_at != 0 && m->xfr_blocks == m->fault.vanish_at) {
        m->fault.vanish_at = 0;
        m->gone = 1; /* unplugged with the command in flight */
        return;
    }
    if (m->fault.stall_at != 0 && m->xfr_blocks == m->fault.stall_at) {
        m->fault.stall_at = 0;
        m->fault.stall_in_always = 1;
    }
    if (m->fault.pull_at != 0 && m->xfr_blocks == m->fault.pull_at) {
        m->fault.pull_at = 0;
        ccid_model_remove_card(m);
    }
    if (!m->present || !m->powered) {
        reply(m, 0x80, slot, seq, (uint8_t)(0x40u | icc_bits(m)), 0xFE,
              NULL, 0);
        return;
    }
    if (m->fault.error) {
        uint8_t e = (uint8_t)m->fault.error;
        m->fault.error = 0;
        reply(m, 0x80, slot, seq, 0x40, e, NULL, 0);
        return;
    }
    st = m->card->ops->transmit(m->card, apdu, n, r, &rlen);
    if (m->fault.lose_at != 0 && m->xfr_blocks == m->fault.lose_at) {
        /* The card did the command; it left before its answer got out. */
        m->fault.lose_at = 0;
        ccid_model_remove_card(m);
        reply(m, 0x80, slot, seq, 0x42, 0xFE, NULL, 0);
        return;
    }
    if (st == OCP_E_CARD_REMOVED) {
        /* The test port cut the power: the card was torn from the slot
         * mid-command, and the reader says so. */
        m->present = 0;
        m->powered = 0;
        reply(m, 0x80, slot, seq, 0x42, 0xFE, NULL, 0);
        return;
    }
    if (st != OCP_OK) {
        reply(m, 0x80, slot, seq, 0x40, 0xFE, NULL, 0);
        return;
    }
    reply(m, 0x80, slot, seq, 0x00, 0, r, rlen);
}

static void do_xfr(struct ccid_model *m, uint8_t slot, uint8_t seq,
                   const uint8_t *apdu, size_t n)
{
    m->xfr_blocks++;
    m->xfr_seq = seq;
    m->in_xfr = 1;
    do_xfr_card(m, slot, seq, apdu, n);
    m->in_xfr = 0;
}

/* PC_to_RDR_Abort: with the class request before it for this bSeq, the
 * command in flight is dropped and answered CMD_ABORTED, then the abort
 * itself; without it, the reader still waits for the request (CCID
 * 5.3.1) and says nothing. */
static void do_abort(struct ccid_model *m, uint8_t slot, uint8_t seq)
{
    if (m->fault.abort_unsupported) {
        m->fault.abort_unsupported = 0;
        answer(m, 0x81, slot, seq, (uint8_t)(0x40u | icc_bits(m)), 0x00, 0,
               NULL, 0);
        return;
    }
    if (!m->abort_armed || m->abort_seq != seq)
        return;
    m->abort_armed = 0;
    m->aborts++;
    m->q_count = 0;
    answer(m, 0x80, slot, m->xfr_seq, (uint8_t)(0x40u | icc_bits(m)), 0xFF,
           0, NULL, 0);
    answer(m, 0x81, slot, seq, icc_bits(m), 0, 0, NULL, 0);
}

static usb_status model_bulk_out(void *dev, const uint8_t *buf, size_t len,
                                 unsigned timeout_ms)
{
    struct ccid_model *m = dev;
    uint32_t dlen;
    uint8_t slot, seq;
    (void)timeout_ms;
    if (m->gone)
        return USB_E_NO_DEVICE;
    if (m->fault.stall_out) {
        m->fault.stall_out = 0;
        m->halted_out = 1;
    }
    if (m->halted_out)
        return USB_E_STALL;
    if (len < 10)
        return USB_E_IO;
    dlen = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 |
           (uint32_t)buf[3] << 16 | (uint32_t)buf[4] << 24;
    if (dlen != len - 10)
        return USB_E_IO; /* the test fails on it: a bad command */
    slot = buf[5];
    seq = buf[6];
    m->last_seq = seq;
    m->commands++;
    m->last_frame_ms = model_now_ms();
    if (buf[0] == 0x65 && m->on_poll != NULL)
        m->on_poll(m, m->on_poll_arg);
    if (m->gone)
        return USB_E_NO_DEVICE; /* the hook unplugged it */
    switch (buf[0]) {
    case 0x62:
        do_power_on(m, slot, seq);
        break;
    case 0x63:
        m->powered = 0;
        reply(m, 0x81, slot, seq, icc_bits(m), 0, NULL, 0);
        break;
    case 0x65:
        reply(m, 0x81, slot, seq, icc_bits(m), 0, NULL, 0);
        break;
    case 0x6F:
        do_xfr(m, slot, seq, buf + 10, dlen);
        break;
    case 0x72:
        do_abort(m, slot, seq);
        break;
    default:
        /* bError 0: command not supported. */
        reply(m, 0x81, slot, seq, (uint8_t)(0x40u | icc_bits(m)), 0, NULL,
              0);
        break;
    }
    if (m->fault.vanish) {
        m->fault.vanish = 0;
        m->gone = 1;
    }
    return USB_OK;
}

/* Waits until `due`, or `timeout_ms` (0: no limit); 1 if due came. */
static int wait_until(unsigned long long due, unsigned timeout_ms)
{
    unsigned long long now = model_now_ms();
    if (now >= due)
        return 1;
    if (timeout_ms != 0 && due - now > timeout_ms) {
        sleep_ms(timeout_ms);
        return 0;
    }
    sleep_ms(due - now);
    return 1;
}

static usb_status model_bulk_in(void *dev, uint8_t *buf, size_t cap,
                                size_t *got, unsigned timeout_ms)
{
    struct ccid_model *m = dev;
    struct ccid_model_frame *f;
    size_t n;
    *got = 0;
    if (m->gone)
        return USB_E_NO_DEVICE;
    if (m->fault.stall_in || m->fault.stall_in_always) {
        m->fault.stall_in = 0;
        m->halted_in = 1;
    }
    if (m->halted_in)
        return USB_E_STALL;
    if (m->q_count == 0)
        return USB_E_TIMEOUT;
    f = &m->queue[m->q_head];
    if (f->extension_ms != 0 &&
        !wait_until(m->last_frame_ms + f->extension_ms, timeout_ms))
        return USB_E_TIMEOUT;
    m->last_frame_ms = model_now_ms();
    if (f->extensions_before > 0) {
        /* The same header, bmCommandStatus 2, bError 1 (BWT x 1). */
        uint8_t ext[10];
        f->extensions_before--;
        m->extensions_sent++;
        memcpy(ext, f->bytes, 10);
        put_le32(ext + 1, 0);
        ext[7] = (uint8_t)(0x80u | (ext[7] & 0x03u));
        ext[8] = 1;
        ext[9] = 0;
        n = cap < 10 ? cap : 10;
        memcpy(buf, ext, n);
        *got = n;
        return USB_OK;
    }
    n = f->len;
    if (n > cap)
        n = cap; /* the host's buffer decides, as on a real bus */
    memcpy(buf, f->bytes, n);
    *got = n;
    m->q_head = (m->q_head + 1u) % CCID_MODEL_QUEUE;
    m->q_count--;
    return USB_OK;
}

static usb_status model_interrupt_in(void *dev, uint8_t *buf, size_t cap,
                                     size_t *got, unsigned timeout_ms)
{
    struct ccid_model *m = dev;
    size_t n;
    (void)timeout_ms;
    *got = 0;
    if (m->gone)
        return USB_E_NO_DEVICE;
    if (m->n_count == 0)
        return USB_E_TIMEOUT;
    n = m->notify_len[m->n_head];
    if (n > cap)
        n = cap;
    memcpy(buf, m->notify[m->n_head], n);
    *got = n;
    m->n_head = (m->n_head + 1u) % 8;
    m->n_count--;
    return USB_OK;
}

static usb_status model_clear_halt(void *dev, enum usb_endpoint ep)
{
    struct ccid_model *m = dev;
    if (m->gone)
        return USB_E_NO_DEVICE;
    m->clear_halts++;
    if (ep == USB_EP_BULK_IN)
        m->halted_in = 0;
    else if (ep == USB_EP_BULK_OUT)
        m->halted_out = 0;
    return USB_OK;
}

static usb_status model_abort_request(void *dev, uint8_t slot, uint8_t seq,
                                      unsigned timeout_ms)
{
    struct ccid_model *m = dev;
    (void)slot;
    (void)timeout_ms;
    if (m->gone)
        return USB_E_NO_DEVICE;
    m->abort_requests++;
    m->abort_armed = 1;
    m->abort_seq = seq;
    return USB_OK;
}

static void model_close(void *dev)
{
    /* The test owns the model and frees it after reading its counters. */
    (void)dev;
}

static const struct usb_io_ops model_ops = {
    model_bulk_out,   model_bulk_in,       model_interrupt_in,
    model_clear_halt, model_abort_request, model_close,
};

static void notify(struct ccid_model *m, uint8_t state)
{
    unsigned i;
    if (m->n_count == 8)
        return;
    i = (m->n_head + m->n_count++) % 8;
    m->notify[i][0] = 0x50;
    m->notify[i][1] = state;
    m->notify_len[i] = 2;
}

void ccid_model_remove_card(struct ccid_model *m)
{
    m->present = 0;
    m->powered = 0;
    notify(m, 0x02); /* slot 0 changed, no card */
}

void ccid_model_swap_card(struct ccid_model *m, ocp_transport *card)
{
    if (m->card != NULL && m->card != card)
        m->card->ops->close(m->card);
    m->card = card;
}

void ccid_model_insert_card(struct ccid_model *m)
{
    m->present = 1;
    notify(m, 0x03); /* slot 0 changed, card present */
}

struct ccid_model *ccid_model_new(ocp_transport *card, uint32_t features,
                                  int with_interrupt, struct usb_io *io)
{
    struct ccid_model *m = calloc(1, sizeof *m);
    uint8_t *d;
    if (m == NULL)
        return NULL;
    m->card = card;
    m->present = card != NULL;
    memset(io, 0, sizeof *io);
    io->ops = &model_ops;
    io->dev = m;
    io->info.vid = 0x1209; /* pid.codes test range */
    io->info.pid = 0x0CCD;
    io->info.ep_bulk_in = 0x82;
    io->info.ep_bulk_out = 0x01;
    io->info.ep_interrupt = with_interrupt ? 0x83 : 0;
    d = io->info.class_desc;
    d[0] = 54;
    d[1] = 0x21;
    d[2] = 0x10; /* bcdCCID 1.10 */
    d[3] = 0x01;
    d[4] = 0;    /* one slot */
    d[5] = 0x07; /* 5 V, 3 V, 1.8 V */
    put_le32(d + 6, 0x00000003u);  /* T=0 and T=1 */
    put_le32(d + 10, 4000u);
    put_le32(d + 14, 4000u);
    put_le32(d + 19, 10752u);
    put_le32(d + 23, 10752u);
    put_le32(d + 28, 254u);
    put_le32(d + 40, features);
    put_le32(d + 44, 271u);        /* a header and a short APDU */
    d[48] = 0xFF;
    d[49] = 0xFF;
    d[53] = 1;
    io->info.class_desc_len = 54;
    return m;
}

void ccid_model_free(struct ccid_model *m)
{
    if (m == NULL)
        return;
    if (m->card != NULL)
        m->card->ops->close(m->card);
    memset(m, 0, sizeof *m);
    free(m);
}
