/**
 * @file ocp/pcsc.h
 * The PC/SC transport (pcsc-lite's libpcsclite talking to pcscd).
 */
#ifndef OCP_PCSC_H
#define OCP_PCSC_H

#include <stddef.h>

#include "ocp/export.h"
#include "ocp/status.h"
#include "ocp/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * List the PC/SC readers.
 * @param[out]    names   reader names, each NUL-terminated, one after the
 *                        other, ending with an empty string (multi-string)
 * @param[in,out] len     in: capacity of names; out: bytes used (or needed
 *                        when OCP_E_BUFFER is returned)
 * @return OCP_OK (possibly with no reader: names is then ""),
 *         OCP_E_NO_SERVICE when pcscd does not answer, OCP_E_BUFFER.
 */
OCP_API ocp_status ocp_pcsc_list_readers(char *names, size_t *len);

/**
 * Resolve a reader given by name or by decimal index into the list.
 * @param[in]  spec  a full reader name, or "0", "1", ...; NULL means 0
 * @param[out] name  the full name
 */
OCP_API ocp_status ocp_pcsc_find_reader(const char *spec, char *name,
                                        size_t cap);

/**
 * Wait until a card is present in the reader.
 * @param[in] timeout_ms  0 = check once, negative = wait forever
 * @return OCP_OK, OCP_E_TIMEOUT, OCP_E_NO_READER, OCP_E_NO_SERVICE.
 */
OCP_API ocp_status ocp_pcsc_wait_card(const char *reader, long timeout_ms);

/**
 * Wait until the reader has no card.
 */
OCP_API ocp_status ocp_pcsc_wait_removal(const char *reader, long timeout_ms);

/**
 * Connect to the card in a reader (shared mode, T=0 or T=1).
 * @param[out] out  a transport to free with out->ops->close(out)
 */
OCP_API ocp_status ocp_pcsc_connect(const char *reader, ocp_transport **out);

#ifdef __cplusplus
}
#endif

#endif
