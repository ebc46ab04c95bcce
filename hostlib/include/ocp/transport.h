/**
 * @file ocp/transport.h
 * How libocp reaches a card: a small vtable plus a context pointer, chosen
 * at run time (PC/SC, in-process, a man-in-the-middle wrapper for tests).
 *
 * A transport moves whole short APDUs.  It never interprets them, except
 * that a response shorter than the two status bytes is an error
 * (OCP_E_BAD_RESPONSE), never passed up.
 */
#ifndef OCP_TRANSPORT_H
#define OCP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest response a transport returns: 256 data bytes and SW1 SW2. */
#define OCP_RAPDU_MAX 258u

typedef struct ocp_transport ocp_transport;

struct ocp_transport_ops {
    /**
     * Send one command APDU and receive the response.
     * @param[in]     capdu  command, 4..261 bytes
     * @param[out]    rapdu  response data and SW1 SW2
     * @param[in,out] rlen   in: capacity of rapdu; out: bytes received
     * @return OCP_OK, OCP_E_CARD_REMOVED, OCP_E_CARD_RESET,
     *         OCP_E_BAD_RESPONSE (fewer than 2 bytes), OCP_E_BUFFER, ...
     */
    ocp_status (*transmit)(ocp_transport *t, const uint8_t *capdu,
                           size_t clen, uint8_t *rapdu, size_t *rlen);
    /** Reset the card (cold where possible) and reconnect. */
    ocp_status (*reset)(ocp_transport *t);
    /** Exclusive access for a sequence of APDUs, and its end. */
    ocp_status (*begin)(ocp_transport *t);
    ocp_status (*end)(ocp_transport *t);
    /** Disconnect and free the transport. */
    void (*close)(ocp_transport *t);
};

struct ocp_transport {
    const struct ocp_transport_ops *ops;
    void *ctx;
};

#ifdef __cplusplus
}
#endif

#endif
