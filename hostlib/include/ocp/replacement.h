/**
 * @file ocp/replacement.h
 * After a lost card is replaced (ocp_registry_replace_card): the uses of
 * the old card the new one did not carry over, and the terminals that may
 * still accept the old card (docs/BACKOFFICE.md section 6).
 *
 * The new card carries the old card's values as the registry knew them up
 * to one card counter (noted by ocp_registry_known_entitlements).  Every
 * accepted use of the old card above that counter, uploaded before or
 * after the replacement, is a debit of the new card: the registry takes
 * it off the new card's known values at once, and the desk writes it to
 * the card at the holder's next visit (`ocp settle`), which marks it
 * applied.  The window in which the old card still works closes terminal
 * by terminal: once the hotlist that lists it is published and the
 * terminal has taken it.
 *
 *     ocp_registry_debits(r, new_card, 1, on_debit, ctx);   // open ones
 *     ... lower the card's remaining value by their amounts ...
 *     ocp_registry_settle_debits(r, new_card, service, remaining, now);
 */
#ifndef OCP_REPLACEMENT_H
#define OCP_REPLACEMENT_H

#include <stdint.h>

#include "ocp/export.h"
#include "ocp/registry.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One use of a replaced card that its replacement owes. */
typedef struct {
    uint8_t old_card[8], new_card[8];
    uint32_t terminal_id, seq; /**< the record's */
    uint32_t counter;          /**< the old card's counter in it */
    uint16_t service;
    uint8_t domain;
    uint32_t amount;           /**< units, or fen for a balance */
    uint32_t datetime;         /**< minutes since 2000-01-01 */
    int64_t recorded_at;       /**< when the registry noted the debit */
    int64_t applied_at;        /**< 0: not yet written to the new card */
} ocp_debit;

/** Return nonzero to stop the listing. */
typedef int (*ocp_debit_fn)(void *ctx, const ocp_debit *d);

/**
 * The debits of one new card (new_card NULL: of every card), oldest use
 * first; open_only: only those not yet applied.
 */
OCP_API ocp_status ocp_registry_debits(ocp_registry *r,
                                       const uint8_t *new_card, int open_only,
                                       ocp_debit_fn fn, void *ctx);

/**
 * The desk wrote the open debits of (new_card, service) to the card, whose
 * remaining value for that service is now `remaining`: they are marked
 * applied and the registry's known value becomes `remaining`, in one
 * transaction.
 */
OCP_API ocp_status ocp_registry_settle_debits(ocp_registry *r,
                                              const uint8_t new_card[8],
                                              uint16_t service,
                                              uint32_t remaining,
                                              int64_t now);

/**
 * A terminal's sync wrote the published hotlist of that version to the
 * terminal (`ocp sync --hotlist-out`): from then on it refuses the cards
 * that list holds.
 */
OCP_API ocp_status ocp_registry_note_hotlist(ocp_registry *r,
                                             uint32_t terminal_id,
                                             uint32_t version);

/** A terminal that may still accept a replaced card. */
typedef struct {
    uint8_t card[8];          /**< the replaced card */
    int64_t replaced_at;
    uint32_t terminal_id;
    char operator_name[64];
    int64_t last_sync;        /**< 0: never synced */
    uint32_t hotlist_version; /**< the newest it took; 0: none */
    int64_t published_at;     /**< the hotlist that lists the card; 0: none
                                   published since the replacement */
} ocp_open_window;

typedef int (*ocp_open_window_fn)(void *ctx, const ocp_open_window *w);

/**
 * Every (replaced card, terminal) whose window is still open: no hotlist
 * published since the replacement, or the terminal (enrolled, not revoked)
 * has not taken that hotlist (ocp_registry_note_hotlist) yet.  In order of
 * replacement, then terminal.
 */
OCP_API ocp_status ocp_registry_open_windows(ocp_registry *r,
                                             ocp_open_window_fn fn,
                                             void *ctx);

#ifdef __cplusplus
}
#endif

#endif
