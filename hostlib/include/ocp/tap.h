/**
 * @file ocp/tap.h
 * One tap at a service point: everything a validator or a counter does
 * with a card, with the journal written before the card is touched and a
 * torn exchange retried safely on the next tap (docs/SERVICE.md).
 */
#ifndef OCP_TAP_H
#define OCP_TAP_H

#include <stdint.h>

#include "ocp/card.h"
#include "ocp/export.h"
#include "ocp/hotlist.h"
#include "ocp/journal.h"
#include "ocp/keystore.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint8_t role;               /**< the consuming role (2..7) */
    uint16_t service;
    uint32_t amount;
    uint32_t terminal_id;
    uint32_t datetime;          /**< now, minutes since 2000-01-01 */
    ocp_keystore *ks;
    ocp_journal *journal;       /**< required */
    const ocp_hotlist *hotlist; /**< NULL: no hotlist */
    uint32_t passback_minutes;  /**< a retap here within this is not
                                     charged again; 0: off */
    const char *pin;            /**< the holder's PIN for an entitlement
                                     that needs it (verified inside the
                                     session); NULL: none entered */
} ocp_tap_params;

typedef enum {
    OCP_TAP_ACCEPTED = 0,       /**< consumed now (or the torn one before) */
    OCP_TAP_ALREADY = 1,        /**< a retap inside the passback window */
    OCP_TAP_REFUSED = 2         /**< see reason */
} ocp_tap_outcome;

typedef struct {
    ocp_tap_outcome outcome;
    ocp_status reason;          /**< why refused (OCP_OK otherwise) */
    uint8_t card_id[8];
    uint32_t seq;               /**< the sequence number used */
    int recovered;              /**< 1: the result of an earlier, torn tap */
    int blocked_now;            /**< 1: hotlisted, and blocked on the card */
    ocp_tx_result tx;           /**< when accepted */
} ocp_tap_result;

/**
 * Run one tap.
 * @return OCP_OK when the tap was decided (accepted, already, refused: see
 *         res->outcome); a transport or secure-messaging error when the card
 *         went away mid-tap — the attempt then stays pending in the journal
 *         and the card's next tap finishes it without charging twice.
 */
OCP_API ocp_status ocp_tap(ocp_transport *t, const ocp_tap_params *p,
                           ocp_tap_result *res);

#ifdef __cplusplus
}
#endif

#endif
