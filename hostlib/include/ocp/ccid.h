/**
 * @file ocp/ccid.h
 * The USB CCID transport: libocp drives a USB smart-card reader directly
 * through libusb-1.0, for terminals that run no pcscd.  The transport is an
 * ocp_transport like the PC/SC one, so every higher layer works unchanged.
 *
 * Readers are named "usb:VID:PID" or "usb:VID:PID:N" (hexadecimal vendor
 * and product ids, N the N-th such reader counting from 0).  Only readers
 * that exchange whole short APDUs (dwFeatures short or extended APDU level)
 * are supported; a TPDU or character-level reader is refused with
 * OCP_E_NO_READER and ocp_ccid_last_error() says why.  See docs/CCID.md.
 */
#ifndef OCP_CCID_H
#define OCP_CCID_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/status.h"
#include "ocp/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One USB CCID reader interface found on the bus. */
typedef struct {
    char spec[24];        /**< "usb:VID:PID:N", for ocp_ccid_open() */
    uint16_t vid, pid;
    unsigned index;       /**< N among readers of this VID:PID */
    uint8_t bus, address; /**< where it sits on the bus */
    int supported;        /**< 1: short or extended APDU level */
} ocp_ccid_reader;

/**
 * List the USB CCID readers (interface class 0x0B).
 * @param[out] out  up to cap readers
 * @param[in]  cap  capacity of out
 * @param[out] n    how many readers there are (may exceed cap)
 * @return OCP_OK, also when the machine has no USB at all (*n = 0);
 *         OCP_E_ARGS.
 */
OCP_API ocp_status ocp_ccid_list(ocp_ccid_reader *out, size_t cap,
                                 size_t *n);

/** How long one command may take, time extensions included: 5 seconds. */
#define OCP_CCID_DEFAULT_TIMEOUT_MS 5000u

/**
 * Open a reader and power its card on (the reader's ATR is read and
 * kept).  Each later request may take OCP_CCID_DEFAULT_TIMEOUT_MS in all,
 * however many time extensions the card asks for; one that takes longer
 * fails with OCP_E_TIMEOUT and is aborted (CCID 5.3.1), so the next
 * request finds the reader ready.  Each read from the reader also ends
 * when the reader stays silent longer than its card's waiting times allow
 * (docs/CCID.md, "How long a read may take").
 *
 * @param[in]  spec  "usb:VID:PID[:N]" (the "usb:" may be left out)
 * @param[out] out   a transport to free with out->ops->close(out)
 * @return OCP_OK; OCP_E_ARGS (spec malformed); OCP_E_NO_READER (no such
 *         reader, no USB, no permission, the reader is in use, or it is
 *         not an APDU-level reader: ocp_ccid_last_error() says which);
 *         OCP_E_NO_CARD; OCP_E_TIMEOUT; OCP_E_TRANSPORT; OCP_E_NOMEM.
 *
 * Errors of the transport's transmit: OCP_E_CARD_REMOVED (the reader
 * reports the slot empty, or notified a card change), OCP_E_CARD_RESET
 * (the card is present but unpowered), OCP_E_NO_READER (the reader was
 * unplugged), OCP_E_TIMEOUT, OCP_E_BAD_RESPONSE (a malformed or
 * mismatched message), OCP_E_TRANSPORT (a stalled endpoint that clearing
 * did not cure, a reader error).  reset() powers the card off and on.
 */
OCP_API ocp_status ocp_ccid_open(const char *spec, ocp_transport **out);

/**
 * Like ocp_ccid_open(), with each request allowed timeout_ms in all (0 or
 * negative: no deadline; only the reader's silence limit then ends a wait
 * for a reader that says nothing at all).
 */
OCP_API ocp_status ocp_ccid_open_timeout(const char *spec, long timeout_ms,
                                         ocp_transport **out);

/**
 * Wait until a card is in the reader's slot, or until it is empty: the
 * USB counterparts of ocp_pcsc_wait_card() and ocp_pcsc_wait_removal(),
 * for a validator loop.  The reader is asked (PC_to_RDR_GetSlotStatus)
 * every 100 ms and released in between calls.
 * @param[in] spec        "usb:VID:PID[:N]"
 * @param[in] timeout_ms  0 = check once, negative = wait for ever
 * @return OCP_OK, OCP_E_TIMEOUT, OCP_E_NO_READER (as ocp_ccid_open()),
 *         OCP_E_ARGS, OCP_E_SHARING, OCP_E_TRANSPORT, OCP_E_BAD_RESPONSE.
 */
OCP_API ocp_status ocp_ccid_wait_card(const char *spec, long timeout_ms);
OCP_API ocp_status ocp_ccid_wait_removal(const char *spec, long timeout_ms);

/** Parse "usb:VID:PID[:N]"; 0 on success, -1 if malformed. */
OCP_API int ocp_ccid_parse_spec(const char *spec, uint16_t *vid,
                                uint16_t *pid, unsigned *index);

/** The detail of the last failure in this thread ("" if none). */
OCP_API const char *ocp_ccid_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
