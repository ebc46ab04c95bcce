/*
 * The CCID transport over any usb_io (transport_ccid.c): the entry point
 * tests and fuzzers use to run it over a device model instead of libusb.
 */
#ifndef OCP_CCID_TRANSPORT_H
#define OCP_CCID_TRANSPORT_H

#include "ocp/status.h"
#include "ocp/transport.h"
#include "usb_io.h"

struct ccid_options {
    /* One command may take this long, time extensions included (the
     * CLI's --card-timeout); 0: the default (5 s); CCID_NO_DEADLINE: no
     * limit.  Each read waits at most the reader's silence limit
     * (ccid_timing.h) or what is left of this, whichever is shorter. */
    unsigned deadline_ms;
    uint8_t slot;
};

#define CCID_NO_DEADLINE 0xFFFFFFFFu

/*
 * Parse io->info.class_desc, refuse a reader below the short-APDU level,
 * power the slot on.  The transport owns io from the call on: on failure
 * io->ops->close has been called already.
 */
ocp_status ccid_transport_open(const struct usb_io *io,
                               const struct ccid_options *opt,
                               ocp_transport **out);

/*
 * Ask the reader whether a card is in slot opt->slot (GetSlotStatus);
 * *seq is the bSeq to use, advanced.  io stays open (the caller's).
 */
ocp_status ccid_slot_present(const struct usb_io *io,
                             const struct ccid_options *opt, uint8_t *seq,
                             int *present);

/* The ATR the card gave at the last power-on. */
size_t ccid_transport_atr(const ocp_transport *t, uint8_t *atr, size_t cap);

/* Sets ocp_ccid_last_error()'s text. */
void ccid_set_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
