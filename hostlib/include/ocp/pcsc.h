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
 * How long ocp_pcsc_connect() lets any one request to the card or the
 * reader take before it gives up: 5 seconds.  A validation through pcscd
 * takes milliseconds; a card never takes seconds to answer one APDU.
 */
#define OCP_PCSC_DEFAULT_TIMEOUT_MS 5000L

/**
 * Connect to the card in a reader (shared mode, T=0 or T=1), with the
 * default timeout (OCP_PCSC_DEFAULT_TIMEOUT_MS).
 * @param[out] out  a transport to free with out->ops->close(out)
 */
OCP_API ocp_status ocp_pcsc_connect(const char *reader, ocp_transport **out);

/**
 * Connect to the card in a reader, with a deadline on every request.
 *
 * pcsc-lite has no timeout of its own: a card that never answers (or a
 * reader driver that waits for it, as vpcd does) blocks SCardTransmit for
 * ever.  With timeout_ms > 0 the transport runs each PC/SC call (this
 * connect, transmit, reset, begin and end) on a worker thread of its own
 * and waits for it at most timeout_ms.  begin() also waits while another
 * application holds the card; that wait counts too.
 *
 * When a call does not finish in time it returns OCP_E_TIMEOUT and the
 * transport is unusable: every later call returns OCP_E_TIMEOUT at once.
 * Close it as usual.  close() never waits for the blocked call: it leaves
 * the worker to disconnect, release the PC/SC context and free the
 * transport when the call returns (the card answers or leaves, or pcscd
 * stops).  A long-running program therefore holds one thread and one
 * PC/SC context per timed-out transport until that card leaves the
 * reader; a program that exits leaves them to the system.
 *
 * A tap cut short this way is like a card pulled mid-tap: an attempt
 * already journaled stays pending, and the card's next tap finishes it
 * (ocp/tap.h).
 *
 * @param[in]  reader      full reader name (ocp_pcsc_find_reader())
 * @param[in]  timeout_ms  the deadline of each call in milliseconds;
 *                         0 or negative: no deadline, no thread, every call
 *                         made directly (it may block for ever)
 * @param[out] out         a transport to free with out->ops->close(out)
 * @return OCP_OK, OCP_E_TIMEOUT (the connect itself timed out),
 *         OCP_E_NO_SERVICE, OCP_E_NO_READER, OCP_E_NO_CARD, OCP_E_SHARING,
 *         OCP_E_NOMEM (also: no thread could be started).
 *
 * Example: a desk program that waits 2 seconds at most for each answer.
 *
 *     ocp_transport *t;
 *     ocp_status st = ocp_pcsc_connect_timeout(name, 2000, &t);
 *     if (st == OCP_OK) {
 *         st = ocp_select(t, &info);   // OCP_E_TIMEOUT if the card is mute
 *         t->ops->close(t);
 *     }
 */
OCP_API ocp_status ocp_pcsc_connect_timeout(const char *reader,
                                            long timeout_ms,
                                            ocp_transport **out);

#ifdef __cplusplus
}
#endif

#endif
