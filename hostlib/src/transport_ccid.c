/*
 * The USB CCID transport (ocp/ccid.h): CCID messages (ccid_codec.c) over
 * a usb_io (usb_libusb.c, or a device model in the tests).
 *
 * One command is in flight at a time: send it with the next bSeq, read
 * until the answer with that bSeq comes.  On the way:
 *  - a frame with another bSeq is a stale answer to a command that timed
 *    out earlier: skipped, at most CCID_STALE_MAX of them;
 *  - a time extension (bmCommandStatus 2) means the card is still busy:
 *    read again, for as long as the command's deadline (opt.deadline_ms,
 *    the CLI's --card-timeout) allows, each read waiting at most the
 *    reader's silence limit (ccid_timing.h) times the extension's
 *    multiplier;
 *  - a command that times out is aborted as CCID 5.3.1 says (the class
 *    request ABORT, then PC_to_RDR_Abort with the same bSeq, then its
 *    SlotStatus awaited past the aborted command's late frames), so the
 *    next command starts on a reader that is no longer busy;
 *  - a stalled endpoint is cleared once and the transfer tried once more;
 *  - a vanished device makes this and every later call OCP_E_NO_READER.
 * Before each command the interrupt endpoint is looked at without waiting:
 * a NotifySlotChange for our slot means the card left (and maybe another
 * came), so the session is over: OCP_E_CARD_REMOVED until reset().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccid_codec.h"
#include "ccid_timing.h"
#include "ccid_transport.h"
#include "ocp/ccid.h"

#define CCID_STALE_MAX 4u
/* After an abort the aborted command's late frames (time extensions, its
 * answer or its CMD_ABORTED) may come first: a few more are skipped. */
#define CCID_ABORT_STALE_MAX 16u
/* How long a reader may take to confirm an abort. */
#define CCID_ABORT_WAIT_MS 2000u
#define CCID_ATR_MAX 33u
/* Largest command APDU: short Lc (255 bytes) plus Le. */
#define CAPDU_MAX 261u

struct ccid_transport {
    ocp_transport t; /* t.ctx points back at this struct */
    struct usb_io io;
    struct ccid_features feat;
    struct ccid_options opt;
    struct ccid_atr_timing timing; /* from the last ATR */
    uint8_t seq;
    int card_gone;  /* the slot emptied or changed: until reset() */
    int unpowered;  /* the card is there but inactive: until reset() */
    int vanished;   /* the reader went away */
    uint8_t atr[CCID_ATR_MAX];
    size_t atr_len;
    uint8_t msg[CCID_MSG_MAX]; /* the message being sent or received */
};

static __thread char last_error[256];

const char *ocp_ccid_last_error(void)
{
    return last_error;
}

void ccid_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

static ocp_status map_usb(struct ccid_transport *p, usb_status st,
                          const char *what)
{
    switch (st) {
    case USB_OK:
        return OCP_OK;
    case USB_E_TIMEOUT:
        ccid_set_error("the reader did not answer in time (%s)", what);
        return OCP_E_TIMEOUT;
    case USB_E_NO_DEVICE:
        p->vanished = 1;
        ccid_set_error("the reader was unplugged (%s)", what);
        return OCP_E_NO_READER;
    case USB_E_NOMEM:
        return OCP_E_NOMEM;
    case USB_E_STALL:
        ccid_set_error("the reader's endpoint stalled again after it was "
                       "cleared (%s)", what);
        return OCP_E_TRANSPORT;
    default:
        ccid_set_error("USB error: %s (%s)", usb_status_text(st), what);
        return OCP_E_TRANSPORT;
    }
}

static uint32_t silence_ms(const struct ccid_transport *p,
                           unsigned multiplier)
{
    return ccid_silence_ms(&p->feat, &p->timing, multiplier);
}

static ocp_status send_msg(struct ccid_transport *p, size_t len)
{
    unsigned wait = silence_ms(p, 1);
    usb_status st = p->io.ops->bulk_out(p->io.dev, p->msg, len, wait);
    if (st == USB_E_STALL) {
        st = p->io.ops->clear_halt(p->io.dev, USB_EP_BULK_OUT);
        if (st == USB_OK)
            st = p->io.ops->bulk_out(p->io.dev, p->msg, len, wait);
    }
    return map_usb(p, st, "bulk out");
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* How one command waits for its answer. */
struct wait_rule {
    uint64_t deadline; /* now_ms() by which it must be answered; 0: none */
    unsigned limit_ms; /* the deadline's length, for the message */
    unsigned stale_max;
};

static struct wait_rule card_wait(const struct ccid_transport *p)
{
    struct wait_rule w;
    memset(&w, 0, sizeof w);
    w.stale_max = CCID_STALE_MAX;
    if (p->opt.deadline_ms != CCID_NO_DEADLINE) {
        w.limit_ms = p->opt.deadline_ms;
        w.deadline = now_ms() + p->opt.deadline_ms;
    }
    return w;
}

/* Read until the answer to (type, seq) arrives; r points into p->msg. */
static ocp_status receive(struct ccid_transport *p, uint8_t type,
                          uint8_t seq, const struct wait_rule *w,
                          struct ccid_response *r)
{
    unsigned stale = 0, extensions = 0, multiplier = 1;
    int cleared = 0;

    for (;;) {
        size_t got = 0;
        ccid_result cr;
        unsigned wait = silence_ms(p, multiplier);
        int deadline_first = 0;
        usb_status st;

        if (w->deadline != 0) {
            uint64_t now = now_ms();
            if (now >= w->deadline) {
                ccid_set_error("the card took more than %u ms (%u time "
                               "extensions)", w->limit_ms, extensions);
                return OCP_E_TIMEOUT;
            }
            if (w->deadline - now < wait) {
                wait = (unsigned)(w->deadline - now);
                deadline_first = 1;
            }
        }
        st = p->io.ops->bulk_in(p->io.dev, p->msg, sizeof p->msg, &got,
                                wait);
        if (st == USB_E_STALL && !cleared) {
            cleared = 1;
            st = p->io.ops->clear_halt(p->io.dev, USB_EP_BULK_IN);
            if (st == USB_OK)
                continue;
        }
        if (st == USB_E_TIMEOUT) {
            if (deadline_first)
                ccid_set_error("the card took more than %u ms (%u time "
                               "extensions)", w->limit_ms, extensions);
            else
                ccid_set_error("the reader said nothing for %u ms", wait);
            return OCP_E_TIMEOUT;
        }
        if (st != USB_OK)
            return map_usb(p, st, "bulk in");
        if (got > sizeof p->msg)
            got = sizeof p->msg; /* a usb_io that lies is cut, not trusted */
        cr = ccid_decode_response(p->msg, got,
                                  sizeof p->msg - CCID_HEADER_LEN, r);
        if (cr != CCID_OK) {
            ccid_set_error("malformed message from the reader (%s)",
                           cr == CCID_E_SHORT    ? "short"
                           : cr == CCID_E_LONG   ? "too long"
                           : cr == CCID_E_STATUS ? "bad bStatus"
                                                 : "bad");
            return OCP_E_BAD_RESPONSE;
        }
        cr = ccid_check_response(r, type, p->opt.slot, seq);
        if (cr == CCID_E_SEQ) {
            if (++stale > w->stale_max) {
                ccid_set_error("the reader answers with the wrong sequence "
                               "number");
                return OCP_E_BAD_RESPONSE;
            }
            continue;
        }
        if (cr != CCID_OK) {
            ccid_set_error("the reader answered with the wrong %s",
                           cr == CCID_E_SLOT ? "slot" : "message type");
            return OCP_E_BAD_RESPONSE;
        }
        if (r->cmd_status == CCID_CMD_TIME_EXTENSION) {
            /* No count limit: the deadline decides, so a slow card that
             * keeps asking is served for as long as the caller allows. */
            extensions++;
            multiplier = r->error ? r->error : 1u;
            continue;
        }
        return OCP_OK;
    }
}

/*
 * A command timed out: abort it (CCID 5.3.1) so the reader stops working
 * on it, and read past its late frames to the abort's SlotStatus.  Best
 * effort: a reader that fails the class request still gets the bulk
 * message (an old one answers it with bError 0, "not supported"), and
 * whatever late frame remains is skipped by its bSeq later on.  Returns
 * 1 when the reader confirmed the abort.
 */
static int abort_command(struct ccid_transport *p)
{
    struct ccid_response r;
    struct wait_rule w;
    size_t len;
    uint8_t seq = p->seq++;
    usb_status us;
    ocp_status st;

    memset(&w, 0, sizeof w);
    w.stale_max = CCID_ABORT_STALE_MAX;
    w.limit_ms = CCID_ABORT_WAIT_MS;
    w.deadline = now_ms() + CCID_ABORT_WAIT_MS;
    us = p->io.ops->abort_request(p->io.dev, p->opt.slot, seq,
                                  CCID_ABORT_WAIT_MS);
    if (us == USB_E_NO_DEVICE) {
        p->vanished = 1;
        return 0;
    }
    if (ccid_encode_abort(p->opt.slot, seq, p->msg, sizeof p->msg, &len) !=
        CCID_OK)
        return 0;
    st = send_msg(p, len);
    if (st == OCP_OK)
        st = receive(p, CCID_RDR_TO_PC_SLOT_STATUS, seq, &w, &r);
    return st == OCP_OK && r.cmd_status != CCID_CMD_FAILED;
}

/* bStatus and bError of an answer to libocp statuses, in one place. */
static ocp_status map_slot(struct ccid_transport *p,
                           const struct ccid_response *r, int power_on)
{
    if (r->icc_status == CCID_ICC_ABSENT) {
        if (power_on) {
            ccid_set_error("no card in the reader");
            return OCP_E_NO_CARD;
        }
        p->card_gone = 1;
        ccid_set_error("the card left the reader");
        return OCP_E_CARD_REMOVED;
    }
    /* A card present but unpowered lost its session state, whatever the
     * reader says of the command: the caller decides whether to reset. */
    if (!power_on && r->icc_status == CCID_ICC_INACTIVE) {
        p->unpowered = 1;
        ccid_set_error("the card is no longer powered");
        return OCP_E_CARD_RESET;
    }
    if (r->cmd_status == CCID_CMD_FAILED) {
        switch (r->error) {
        case CCID_ERR_ICC_MUTE:
            ccid_set_error("the card does not answer (ICC_MUTE)");
            return power_on ? OCP_E_NO_CARD : OCP_E_TIMEOUT;
        case CCID_ERR_CMD_SLOT_BUSY:
            ccid_set_error("the reader's slot is busy with another command");
            return OCP_E_TRANSPORT;
        case CCID_ERR_HW_ERROR:
            ccid_set_error("the reader reports a hardware error");
            return OCP_E_TRANSPORT;
        default:
            ccid_set_error("the reader failed the command (bError 0x%02X)",
                           r->error);
            return OCP_E_TRANSPORT;
        }
    }
    return OCP_OK;
}

/* Look at the interrupt endpoint without waiting. */
static ocp_status poll_notifications(struct ccid_transport *p)
{
    unsigned i;
    int cleared = 0;
    if (p->io.info.ep_interrupt == 0)
        return OCP_OK;
    /* Bounded: a reader that floods the endpoint cannot keep us here. */
    for (i = 0; i < 8; i++) {
        uint8_t m[16];
        size_t got = 0;
        int present = 0, changed = 0;
        usb_status st = p->io.ops->interrupt_in(p->io.dev, m, sizeof m, &got,
                                                0);
        if (st == USB_E_TIMEOUT)
            return OCP_OK;
        if (st == USB_E_STALL && !cleared) {
            cleared = 1;
            if (p->io.ops->clear_halt(p->io.dev, USB_EP_INTERRUPT) == USB_OK)
                continue;
        }
        if (st != USB_OK)
            return map_usb(p, st, "interrupt in");
        if (got > sizeof m)
            got = sizeof m;
        if (got >= 1 && m[0] == CCID_RDR_TO_PC_HARDWARE_ERROR) {
            if (got >= 2 && m[1] == p->opt.slot)
                p->card_gone = 1;
            continue;
        }
        if (ccid_decode_slot_change(m, got, p->opt.slot, &present,
                                    &changed) == CCID_OK &&
            (changed || !present))
            p->card_gone = 1;
        /* Anything else on this endpoint is noise, not an answer. */
    }
    return OCP_OK;
}

static ocp_status power_on(struct ccid_transport *p)
{
    struct ccid_response r;
    size_t len;
    uint8_t seq = p->seq++;
    ocp_status st;

    if (ccid_encode_power_on(p->opt.slot, seq, 0, p->msg, sizeof p->msg,
                             &len) != CCID_OK)
        return OCP_E_ARGS;
    st = send_msg(p, len);
    if (st == OCP_OK) {
        struct wait_rule w = card_wait(p);
        st = receive(p, CCID_RDR_TO_PC_DATA_BLOCK, seq, &w, &r);
    }
    if (st == OCP_OK)
        st = map_slot(p, &r, 1);
    if (st == OCP_OK && (r.data_len < 2 || r.data_len > CCID_ATR_MAX)) {
        ccid_set_error("the card's ATR has %zu bytes", r.data_len);
        st = OCP_E_BAD_RESPONSE;
    }
    if (st == OCP_OK) {
        memcpy(p->atr, r.data, r.data_len);
        p->atr_len = r.data_len;
        /* An ATR cut inside its interface bytes still gives defaults. */
        (void)ccid_atr_timing(p->atr, p->atr_len, &p->timing);
        p->card_gone = 0;
        p->unpowered = 0;
    }
    return st;
}

static ocp_status power_off(struct ccid_transport *p)
{
    struct ccid_response r;
    size_t len;
    uint8_t seq = p->seq++;
    ocp_status st;

    if (ccid_encode_power_off(p->opt.slot, seq, p->msg, sizeof p->msg,
                              &len) != CCID_OK)
        return OCP_E_ARGS;
    st = send_msg(p, len);
    if (st == OCP_OK) {
        struct wait_rule w = card_wait(p);
        st = receive(p, CCID_RDR_TO_PC_SLOT_STATUS, seq, &w, &r);
    }
    return st;
}

static ocp_status ccid_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct ccid_transport *p = t->ctx;
    struct ccid_response r;
    size_t len;
    uint8_t seq;
    ocp_status st;

    if (capdu == NULL || rapdu == NULL || rlen == NULL || clen < 4 ||
        clen > CAPDU_MAX)
        return OCP_E_ARGS;
    if (p->vanished) {
        ccid_set_error("the reader was unplugged");
        return OCP_E_NO_READER;
    }
    st = poll_notifications(p);
    if (st != OCP_OK)
        return st;
    if (p->card_gone) {
        ccid_set_error("the card left the reader");
        return OCP_E_CARD_REMOVED;
    }
    if (p->unpowered)
        return OCP_E_CARD_RESET;
    if (CCID_HEADER_LEN + clen > p->feat.max_message) {
        ccid_set_error("the reader's messages are too small for this APDU "
                       "(dwMaxCCIDMessageLength %lu)",
                       (unsigned long)p->feat.max_message);
        return OCP_E_TRANSPORT;
    }
    seq = p->seq++;
    if (ccid_encode_xfr_block(p->opt.slot, seq, capdu, clen, p->msg,
                              sizeof p->msg, &len) != CCID_OK)
        return OCP_E_ARGS;
    st = send_msg(p, len);
    if (st == OCP_OK) {
        struct wait_rule w = card_wait(p);
        st = receive(p, CCID_RDR_TO_PC_DATA_BLOCK, seq, &w, &r);
        if (st == OCP_E_TIMEOUT && !p->vanished) {
            char why[sizeof last_error];
            memcpy(why, last_error, sizeof why);
            if (abort_command(p))
                ccid_set_error("%s; the command was aborted", why);
            else if (!p->vanished)
                ccid_set_error("%s; the reader did not confirm the abort",
                               why);
        }
    }
    if (st == OCP_OK)
        st = map_slot(p, &r, 0);
    if (st == OCP_OK && r.param != 0) {
        /* At the short-APDU level a response is one message. */
        ccid_set_error("the reader chained a short APDU response");
        st = OCP_E_BAD_RESPONSE;
    }
    if (st == OCP_OK && (r.data_len < 2 || r.data_len > OCP_RAPDU_MAX))
        st = OCP_E_BAD_RESPONSE;
    if (st == OCP_OK && r.data_len > *rlen) {
        *rlen = r.data_len;
        st = OCP_E_BUFFER;
    }
    if (st == OCP_OK) {
        memcpy(rapdu, r.data, r.data_len);
        *rlen = r.data_len;
    }
    /* Responses carry secure-messaging payloads: leave nothing behind. */
    memset(p->msg, 0, sizeof p->msg);
    return st;
}

static ocp_status ccid_reset(ocp_transport *t)
{
    struct ccid_transport *p = t->ctx;
    ocp_status st;
    if (p->vanished)
        return OCP_E_NO_READER;
    (void)poll_notifications(p);
    st = power_off(p);
    if (st == OCP_E_NO_READER)
        return st;
    return power_on(p);
}

static ocp_status ccid_nothing(ocp_transport *t)
{
    /* The interface is claimed for as long as the transport is open: no
     * other program reaches the reader meanwhile. */
    (void)t;
    return OCP_OK;
}

static void ccid_close(ocp_transport *t)
{
    struct ccid_transport *p;
    if (t == NULL)
        return;
    p = t->ctx;
    p->io.ops->close(p->io.dev);
    memset(p, 0, sizeof *p);
    free(p);
}

static const struct ocp_transport_ops ccid_ops = {
    ccid_transmit, ccid_reset, ccid_nothing, ccid_nothing, ccid_close,
};

ocp_status ccid_transport_open(const struct usb_io *io,
                               const struct ccid_options *opt,
                               ocp_transport **out)
{
    struct ccid_transport *p;
    ocp_status st;
    ccid_level level;

    if (io == NULL || io->ops == NULL || out == NULL) {
        if (io != NULL && io->ops != NULL)
            io->ops->close(io->dev);
        return OCP_E_ARGS;
    }
    *out = NULL;
    last_error[0] = '\0';
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        io->ops->close(io->dev);
        return OCP_E_NOMEM;
    }
    p->t.ops = &ccid_ops;
    p->t.ctx = p;
    p->io = *io;
    if (opt != NULL)
        p->opt = *opt;
    if (p->opt.deadline_ms == 0)
        p->opt.deadline_ms = OCP_CCID_DEFAULT_TIMEOUT_MS;
    /* Until the ATR says more, only the reader itself is waited for. */
    memset(&p->timing, 0, sizeof p->timing);

    if (ccid_parse_class_descriptor(io->info.class_desc,
                                    io->info.class_desc_len,
                                    &p->feat) != CCID_OK) {
        ccid_set_error("the reader's CCID class descriptor is malformed");
        st = OCP_E_NO_READER;
        goto out;
    }
    level = ccid_exchange_level(&p->feat);
    if (level == CCID_LEVEL_TPDU || level == CCID_LEVEL_CHARACTER) {
        ccid_set_error("reader needs %s, not supported (only short-APDU "
                       "level readers are)",
                       level == CCID_LEVEL_TPDU ? "TPDU" : "character level");
        st = OCP_E_NO_READER;
        goto out;
    }
    if (p->opt.slot > p->feat.max_slot_index) {
        ccid_set_error("the reader has no slot %u", p->opt.slot);
        st = OCP_E_NO_READER;
        goto out;
    }
    if (io->info.ep_bulk_in == 0 || io->info.ep_bulk_out == 0) {
        ccid_set_error("the reader has no bulk endpoints");
        st = OCP_E_NO_READER;
        goto out;
    }
    (void)poll_notifications(p);
    st = p->vanished ? OCP_E_NO_READER : power_on(p);
out:
    if (st != OCP_OK) {
        ccid_close(&p->t);
        return st;
    }
    *out = &p->t;
    return OCP_OK;
}

size_t ccid_transport_atr(const ocp_transport *t, uint8_t *atr, size_t cap)
{
    const struct ccid_transport *p;
    if (t == NULL || t->ops != &ccid_ops)
        return 0;
    p = t->ctx;
    if (atr != NULL && cap >= p->atr_len)
        memcpy(atr, p->atr, p->atr_len);
    return p->atr_len;
}

ocp_status ccid_slot_present(const struct usb_io *io,
                             const struct ccid_options *opt, uint8_t *seq,
                             int *present)
{
    struct ccid_transport *p;
    struct ccid_response r;
    size_t len;
    uint8_t s;
    ocp_status st;

    if (io == NULL || io->ops == NULL || opt == NULL || seq == NULL ||
        present == NULL)
        return OCP_E_ARGS;
    /* A transport of its own for the one command: send_msg and receive
     * keep their checks, and io is not closed with it. */
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return OCP_E_NOMEM;
    p->io = *io;
    p->opt = *opt;
    if (p->opt.deadline_ms == 0)
        p->opt.deadline_ms = OCP_CCID_DEFAULT_TIMEOUT_MS;
    /* p->timing stays zero: a slot's status is the reader's answer, no
     * card exchange to wait for. */
    s = (*seq)++;
    if (ccid_encode_get_slot_status(p->opt.slot, s, p->msg, sizeof p->msg,
                                    &len) != CCID_OK) {
        st = OCP_E_ARGS;
    } else {
        st = send_msg(p, len);
        if (st == OCP_OK) {
            struct wait_rule w = card_wait(p);
            st = receive(p, CCID_RDR_TO_PC_SLOT_STATUS, s, &w, &r);
        }
        if (st == OCP_OK && r.cmd_status == CCID_CMD_FAILED) {
            ccid_set_error("the reader failed GetSlotStatus (bError "
                           "0x%02X)", r.error);
            st = OCP_E_TRANSPORT;
        }
        if (st == OCP_OK)
            *present = r.icc_status != CCID_ICC_ABSENT;
    }
    free(p);
    return st;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000L +
           (now.tv_nsec - since->tv_nsec) / 1000000L;
}

static ocp_status open_io(const char *spec, struct usb_io *io);

static ocp_status wait_slot(const char *spec, long timeout_ms, int want)
{
    struct usb_io io;
    struct ccid_options opt;
    struct timespec start, pause = {0, 100000000L};
    uint8_t seq = 0;
    ocp_status st;

    last_error[0] = '\0';
    st = open_io(spec, &io);
    if (st != OCP_OK)
        return st;
    memset(&opt, 0, sizeof opt);
    opt.deadline_ms = OCP_CCID_DEFAULT_TIMEOUT_MS;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int present = 0;
        st = ccid_slot_present(&io, &opt, &seq, &present);
        if (st != OCP_OK)
            break;
        if (present == want)
            break;
        if (timeout_ms >= 0 && elapsed_ms(&start) >= timeout_ms) {
            st = OCP_E_TIMEOUT;
            break;
        }
        nanosleep(&pause, NULL);
    }
    io.ops->close(io.dev);
    return st;
}

ocp_status ocp_ccid_wait_card(const char *spec, long timeout_ms)
{
    return wait_slot(spec, timeout_ms, 1);
}

ocp_status ocp_ccid_wait_removal(const char *spec, long timeout_ms)
{
    return wait_slot(spec, timeout_ms, 0);
}

int ocp_ccid_parse_spec(const char *spec, uint16_t *vid, uint16_t *pid,
                        unsigned *index)
{
    unsigned long v, d, n = 0;
    char *end;
    if (spec == NULL || vid == NULL || pid == NULL || index == NULL)
        return -1;
    if (strncmp(spec, "usb:", 4) == 0)
        spec += 4;
    /* strtoul would take signs and spaces: only hex digits are ids. */
    if (strspn(spec, "0123456789abcdefABCDEF") - 1u > 3u)
        return -1;
    v = strtoul(spec, &end, 16);
    if (*end != ':')
        return -1;
    spec = end + 1;
    if (strspn(spec, "0123456789abcdefABCDEF") - 1u > 3u)
        return -1;
    d = strtoul(spec, &end, 16);
    if (*end == ':') {
        spec = end + 1;
        if (strspn(spec, "0123456789") - 1u > 2u)
            return -1;
        n = strtoul(spec, &end, 10);
    }
    if (*end != '\0')
        return -1;
    *vid = (uint16_t)v;
    *pid = (uint16_t)d;
    *index = (unsigned)n;
    return 0;
}

ocp_status ocp_ccid_open(const char *spec, ocp_transport **out)
{
    return ocp_ccid_open_timeout(spec, (long)OCP_CCID_DEFAULT_TIMEOUT_MS,
                                 out);
}

ocp_status ocp_ccid_open_timeout(const char *spec, long timeout_ms,
                                 ocp_transport **out)
{
    struct usb_io io;
    struct ccid_options opt;
    ocp_status st;

    if (out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    last_error[0] = '\0';
    st = open_io(spec, &io);
    if (st != OCP_OK)
        return st;
    memset(&opt, 0, sizeof opt);
    /* 0 or less: no deadline (the reader's silence limit still ends a
     * dead reader's wait); beyond 2^31 ms is none in practice either. */
    opt.deadline_ms = timeout_ms <= 0 || timeout_ms > 0x7FFFFFFFL
                          ? CCID_NO_DEADLINE
                          : (unsigned)timeout_ms;
    return ccid_transport_open(&io, &opt, out);
}

/* Find and claim the reader a spec names; errors in words. */
static ocp_status open_io(const char *spec, struct usb_io *io)
{
    uint16_t vid, pid;
    unsigned index;
    usb_status st;

    if (ocp_ccid_parse_spec(spec, &vid, &pid, &index) != 0) {
        ccid_set_error("a USB reader is usb:VID:PID or usb:VID:PID:N "
                       "(hexadecimal ids)");
        return OCP_E_ARGS;
    }
    st = usb_libusb_open(vid, pid, index, io);
    switch (st) {
    case USB_OK:
        return OCP_OK;
    case USB_E_NOMEM:
        return OCP_E_NOMEM;
    case USB_E_NO_BUS:
        ccid_set_error("no USB CCID reader found (this machine has no USB)");
        return OCP_E_NO_READER;
    case USB_E_NOT_FOUND:
        ccid_set_error("no USB CCID reader %04x:%04x:%u found", vid, pid,
                       index);
        return OCP_E_NO_READER;
    case USB_E_ACCESS:
        ccid_set_error("no permission to open USB reader %04x:%04x (see "
                       "docs/CCID.md for a udev rule)", vid, pid);
        return OCP_E_NO_READER;
    case USB_E_BUSY:
        ccid_set_error("USB reader %04x:%04x is in use (pcscd?)", vid, pid);
        return OCP_E_SHARING;
    default:
        ccid_set_error("USB reader %04x:%04x: %s", vid, pid,
                       usb_status_text(st));
        return OCP_E_NO_READER;
    }
}

ocp_status ocp_ccid_list(ocp_ccid_reader *out, size_t cap, size_t *n)
{
    struct usb_ccid_info info[16];
    size_t found = 0, i;
    usb_status st;

    if (n == NULL || (out == NULL && cap > 0))
        return OCP_E_ARGS;
    *n = 0;
    st = usb_libusb_list(info, sizeof info / sizeof info[0], &found);
    if (st == USB_E_NOMEM)
        return OCP_E_NOMEM;
    if (st != USB_OK)
        return OCP_OK; /* no bus, no permission to look: none to list */
    for (i = 0; i < found && i < sizeof info / sizeof info[0]; i++) {
        struct ccid_features f;
        ccid_level level;
        if (i >= cap)
            continue;
        memset(&out[i], 0, sizeof out[i]);
        out[i].vid = info[i].vid;
        out[i].pid = info[i].pid;
        out[i].index = info[i].index;
        out[i].bus = info[i].bus;
        out[i].address = info[i].address;
        snprintf(out[i].spec, sizeof out[i].spec, "usb:%04x:%04x:%u",
                 info[i].vid, info[i].pid, info[i].index % 1000u);
        if (ccid_parse_class_descriptor(info[i].class_desc,
                                        info[i].class_desc_len,
                                        &f) == CCID_OK) {
            level = ccid_exchange_level(&f);
            out[i].supported = level == CCID_LEVEL_SHORT_APDU ||
                               level == CCID_LEVEL_EXTENDED_APDU;
        }
    }
    *n = found;
    return OCP_OK;
}
