/**
 * @file ocp/inproc.h
 * The in-process transport, for tests and fuzzing: the applet runs inside
 * the calling process, over whatever NVM port is linked with it (the test
 * port, firmware/port/test/port_test.h, in library target `ocp_inproc`).
 *
 * It is not part of the shared libocp, hence no OCP_API.  The NVM port holds
 * one card image per process, so only one in-process transport should be
 * open at a time.
 *
 * Example (with the test port):
 *     port_test_erase();
 *     ocp_card_manufacture(card_id, transport_key, seed);
 *     ocp_transport *t;
 *     if (ocp_inproc_open(&t) == OCP_OK) {
 *         t->ops->transmit(t, select, sizeof select, rapdu, &rlen);
 *         t->ops->close(t);
 *     }
 */
#ifndef OCP_INPROC_H
#define OCP_INPROC_H

#include "ocp/status.h"
#include "ocp/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Power up the card in the linked NVM port and wrap it in a transport.
 *
 * The transport follows ocp/transport.h: transmit runs ocp_card_process();
 * when power is lost during a command (the test port cut it) transmit returns
 * OCP_E_CARD_REMOVED and keeps doing so until ops->reset or
 * ocp_inproc_power_cycle(); ops->reset is a power cycle; begin and end do
 * nothing (no one else can reach this card).
 *
 * @param[out] out  the transport, to free with (*out)->ops->close(*out)
 * @return OCP_OK; OCP_E_NO_CARD when the image holds no card of the format
 *         this applet reads (erased, damaged or another version): like a
 *         card that does not answer; OCP_E_CARD_REMOVED when the NVM failed
 *         during power-up; OCP_E_NOMEM, OCP_E_ARGS.
 */
ocp_status ocp_inproc_open(ocp_transport **out);

/**
 * Take power away from the card and give it back: RAM state is cleared and
 * the applet recovers any transaction cut short.  On the test port, call
 * port_test_power_up() first after a cut, or the recovery's own writes fail
 * (OCP_E_CARD_REMOVED).
 * @param[in,out] t  a transport from ocp_inproc_open()
 * @return OCP_OK, or as ocp_inproc_open().
 */
ocp_status ocp_inproc_power_cycle(ocp_transport *t);

/**
 * Like ocp_inproc_open, on the test port's memory number `memory` (0 or 1),
 * so a test can hold two cards at once (an old and a new one).
 */
ocp_status ocp_inproc_open_memory(unsigned memory, ocp_transport **out);

/**
 * Block-cipher calls the card has made through this transport (the host
 * port counts them per thread; only those inside ocp_card_process are
 * added here).
 */
unsigned long ocp_inproc_card_block_calls(const ocp_transport *t);

struct ocp_card;
/**
 * The applet's RAM state behind this transport (firmware/include/ocp_card.h),
 * read-only, for harnesses that must act in step with the card, such as the
 * hostile-card fuzz target; NULL when t is not an in-process transport.
 */
const struct ocp_card *ocp_inproc_card(const ocp_transport *t);

#ifdef __cplusplus
}
#endif

#endif
