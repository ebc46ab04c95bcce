/**
 * @file ocp/trace.h
 * A transport wrapper that counts and optionally prints the APDUs going
 * through it.  The print never shows a protected payload, a PIN or a key:
 * a command with secure messaging prints its header and length only, and
 * so does its answer.
 */
#ifndef OCP_TRACE_H
#define OCP_TRACE_H

#include <stddef.h>
#include <stdio.h>

#include "ocp/export.h"
#include "ocp/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    unsigned long exchanges;   /**< command/response pairs */
    unsigned long bytes_out;   /**< command APDU bytes */
    unsigned long bytes_in;    /**< response bytes, status words included */
} ocp_trace_stats;

/**
 * Wrap a transport.  Closing the wrapper closes the inner transport too.
 * @param[in] inner  the transport to wrap (ownership passes to the wrapper)
 * @param[in] out    where to print each exchange, or NULL to only count
 * @param[out] wrapped  the wrapper
 */
OCP_API ocp_status ocp_trace_wrap(ocp_transport *inner, FILE *out,
                                  ocp_transport **wrapped);

/** Counters since the wrapper was made or last reset. */
OCP_API void ocp_trace_get(const ocp_transport *wrapped,
                           ocp_trace_stats *stats);
OCP_API void ocp_trace_reset(ocp_transport *wrapped);

#ifdef __cplusplus
}
#endif

#endif
