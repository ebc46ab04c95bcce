/**
 * @file ocp/audit.h
 * The back office's audit of uploaded records (docs/BACKOFFICE.md
 * section 5): each certificate checked with the card's transaction key,
 * each batch signature with its terminal's key, and the findings that
 * follow from the counters, the clocks, the windows and the hotlist.
 */
#ifndef OCP_AUDIT_H
#define OCP_AUDIT_H

#include <stdint.h>

#include "ocp/export.h"
#include "ocp/keystore.h"
#include "ocp/registry.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    OCP_FINDING_FORGED = 0,   /**< bad certificate, bad or missing batch
                                   signature, record not as signed, or a
                                   terminal contradicting itself */
    OCP_FINDING_CLONED = 1,   /**< one counter, two different records */
    OCP_FINDING_MISSING = 2,  /**< counters never uploaded */
    OCP_FINDING_CLOCK = 3,    /**< a terminal's dates go back or run ahead */
    OCP_FINDING_WINDOW = 4,   /**< a use outside the entitlement's window */
    OCP_FINDING_REPLACED = 5, /**< a use after the card was replaced or
                                   hotlisted */
    OCP_FINDING_UNKNOWN = 6,  /**< a card the registry does not know */
    OCP_FINDING_KINDS = 7
} ocp_finding_kind;

/** One finding. */
typedef struct {
    ocp_finding_kind kind;
    uint8_t card_id[8];     /**< zeros for a terminal's finding */
    uint32_t terminal_id;   /**< 0 when not about one terminal */
    uint32_t seq;           /**< the record's, 0 when not about one */
    uint32_t counter;       /**< the card counter concerned (first missing) */
    uint32_t count;         /**< how many (missing counters) */
    char detail[160];       /**< one English sentence */
} ocp_finding;

typedef struct {
    uint64_t records;       /**< uploaded records read */
    uint64_t accepted;      /**< of which consumptions */
    uint64_t genuine;       /**< consumptions whose certificate verified */
    uint64_t batches;
    uint64_t cards;
    uint64_t findings[OCP_FINDING_KINDS];
    uint32_t threads;       /**< that read the registry at once */
} ocp_audit_summary;

typedef void (*ocp_finding_fn)(void *ctx, const ocp_finding *f);
/** Called every 10 000 records: done of total. */
typedef void (*ocp_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/**
 * Audit every record in the registry.
 * @param ks  the back office's key store (transaction-MAC master, slot 9)
 * @param on_finding, progress  callbacks (either may be NULL), with ctx
 * @return OCP_OK (findings are not errors); OCP_E_KEY_MISSING when the
 *         store lacks a transaction key a card needs; OCP_E_DB; OCP_E_NOMEM.
 */
OCP_API ocp_status ocp_audit(ocp_registry *r, ocp_keystore *ks,
                             ocp_finding_fn on_finding,
                             ocp_progress_fn progress, void *ctx,
                             ocp_audit_summary *sum);

/** "forged", "cloned", "missing", "clock", "window", "replaced",
 *  "unknown". */
OCP_API const char *ocp_finding_name(ocp_finding_kind kind);

#ifdef __cplusplus
}
#endif

#endif
