/**
 * @file ocp/journal.h
 * The terminal journal: every attempt a service point makes, written to a
 * local SQLite file (WAL, synchronous FULL) *before* the card is asked to
 * consume, so nothing is lost on a crash and an unconfirmed attempt is
 * retried with the same sequence number on the card's next tap
 * (docs/PROTOCOL.md 2.9: the card answers a repeat from memory).
 *
 * The journal holds card ids, services, amounts and certificates: never a
 * holder's name, certificate number or disability.
 */
#ifndef OCP_JOURNAL_H
#define OCP_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/batch.h"
#include "ocp/card.h"
#include "ocp/export.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ocp_journal ocp_journal;

/** One attempt as the journal keeps it. */
typedef struct {
    uint32_t seq;            /**< this terminal's sequence number */
    uint8_t card_id[8];
    uint8_t role;
    uint16_t service;
    uint32_t amount;
    uint32_t started;        /**< date-time (minutes since 2000) */
    char outcome[16];        /**< pending, accepted, refused, passback */
    char reason[64];         /**< why refused (English), or "" */
    uint32_t counter, remaining;
    uint8_t flags;
    uint8_t cert[8];
} ocp_journal_entry;

/**
 * Open (or create) the journal of terminal `terminal_id`.  A journal made
 * for another terminal id is refused (OCP_E_ARGS): sequence numbers belong
 * to one terminal.
 */
OCP_API ocp_status ocp_journal_open(const char *path, uint32_t terminal_id,
                                    ocp_journal **out);
OCP_API void ocp_journal_close(ocp_journal *j);

/**
 * Start an attempt for a card: the sequence number to send.  When the card
 * has an attempt still pending at this terminal (the last exchange was
 * torn), that attempt's number comes back with *retry = 1; otherwise a new
 * one is written (and on disk) before this returns.
 */
OCP_API ocp_status ocp_journal_begin(ocp_journal *j, const uint8_t card[8],
                                     uint8_t role, uint16_t service,
                                     uint32_t amount, uint32_t datetime,
                                     uint32_t *seq, int *retry);

/** Record how attempt `seq` ended: accepted (tx set) or refused (reason). */
OCP_API ocp_status ocp_journal_accept(ocp_journal *j, uint32_t seq,
                                      const ocp_tx_result *tx);
OCP_API ocp_status ocp_journal_refuse(ocp_journal *j, uint32_t seq,
                                      const char *reason);

/** Record a tap answered without consuming (anti-passback), or a refusal
 *  decided before any attempt (hotlist), as a finished entry of its own. */
OCP_API ocp_status ocp_journal_note(ocp_journal *j, const uint8_t card[8],
                                    uint8_t role, uint16_t service,
                                    uint32_t datetime, const char *outcome,
                                    const char *reason);

/** When this card was last accepted here; *found = 0 if never. */
OCP_API ocp_status ocp_journal_last_accepted(ocp_journal *j,
                                             const uint8_t card[8],
                                             uint32_t *datetime, int *found);

/** Small named values kept with the journal (the last hotlist version). */
OCP_API ocp_status ocp_journal_get_u32(ocp_journal *j, const char *key,
                                       uint32_t *value, int *found);
OCP_API ocp_status ocp_journal_set_u32(ocp_journal *j, const char *key,
                                       uint32_t value);

/** Entries from the newest, at most *count; *count out: how many. */
OCP_API ocp_status ocp_journal_list(ocp_journal *j, ocp_journal_entry *out,
                                    size_t *count);

/**
 * The attempts the back office has not stored yet, oldest first, as upload
 * records (ocp/batch.h): every attempt that sent a CONSUME, pending ones
 * included; a pending attempt finished later is listed again.
 * @param[out]    out    room for *count records
 * @param[in,out] count  in: capacity; out: records returned
 */
OCP_API ocp_status ocp_journal_to_upload(ocp_journal *j, ocp_use_record *out,
                                         size_t *count);

/**
 * Mark records uploaded, after the registry committed them (never before:
 * a crash in between only makes the next sync send them again, which the
 * registry stores once).  A record whose outcome changed since it was read
 * stays unmarked.
 */
OCP_API ocp_status ocp_journal_mark_uploaded(ocp_journal *j,
                                             const ocp_use_record *recs,
                                             size_t n);

#ifdef __cplusplus
}
#endif

#endif
