/*
 * The reader a command works with (-r), whichever kind it is: a PC/SC
 * reader through pcscd, or a USB CCID reader through libusb (usb:VID:PID).
 * The loops that wait for card after card (`terminal`, `issue --batch`)
 * wait through these, so they behave the same over both.
 */
#ifndef OCP_CLI_READER_H
#define OCP_CLI_READER_H

#include "cli.h"

struct cli_reader {
    char name[256]; /* the PC/SC reader's full name, or the usb: spec */
    int usb;        /* 1: a USB CCID reader */
};

/*
 * Which reader -r names (the first PC/SC one without -r).  PC/SC asks
 * pcscd, so the answer follows readers that come and go; a usb: spec is
 * taken as it is and checked when the reader is opened.
 * @return OCP_OK; OCP_E_NO_SERVICE, OCP_E_NO_READER (PC/SC).
 */
ocp_status cli_reader_find(const struct cli *c, struct cli_reader *r);

/*
 * Wait until a card is in the reader, or until its slot is empty:
 * timeout_ms 0 looks once, negative waits for ever.
 * @return OCP_OK; OCP_E_TIMEOUT; OCP_E_NO_READER (gone, or unplugged);
 *         OCP_E_NO_SERVICE; OCP_E_ARGS (a malformed usb: spec);
 *         OCP_E_SHARING, OCP_E_TRANSPORT, OCP_E_BAD_RESPONSE (USB).
 */
ocp_status cli_reader_wait_card(const struct cli_reader *r, long timeout_ms);
ocp_status cli_reader_wait_removal(const struct cli_reader *r,
                                   long timeout_ms);

/*
 * Connect to the card in the reader (each request then has the deadline
 * --card-timeout), start the exclusive transaction, and wrap the transport
 * for --trace.  On failure *t is NULL.
 */
ocp_status cli_reader_connect(struct cli *c, const struct cli_reader *r,
                              ocp_transport **t);

/* What the USB layer said of the last failure ("" for PC/SC, or none). */
const char *cli_reader_detail(const struct cli_reader *r);

#endif
