/**
 * @file ocp/sync.h
 * A terminal coming online (docs/BACKOFFICE.md section 4): its journal goes
 * up in signed batches, idempotently, and the hotlist, the catalogue and
 * the registry's time come down.
 */
#ifndef OCP_SYNC_H
#define OCP_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/batch.h"
#include "ocp/export.h"
#include "ocp/journal.h"
#include "ocp/registry.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t batches;            /**< batches sent */
    ocp_upload_result records; /**< what the registry did with them */
    int64_t clock_offset_s;    /**< terminal minus registry */
} ocp_sync_result;

/**
 * Upload every journal record the registry lacks, in batches of at most
 * OCP_BATCH_MAX_RECORDS signed with the terminal's key, each marked in the
 * journal only after the registry committed it.  A crash at any point
 * loses nothing and duplicates nothing: unmarked records go again, and the
 * registry stores each once.
 * @param terminal_now  the terminal's clock (seconds since 1970), compared
 *                      with the registry's and recorded there
 * @return OCP_OK, or the first failure (the records before it stay
 *         uploaded and marked); OCP_E_DENIED when the terminal is unknown
 *         or revoked, even with nothing to send; OCP_E_SIGNATURE when the
 *         registry holds another public key for it; OCP_E_DB.
 */
OCP_API ocp_status ocp_sync_upload(ocp_journal *j, ocp_registry *r,
                                   const ocp_terminal_key *k,
                                   uint32_t terminal_id, int64_t terminal_now,
                                   ocp_sync_result *res);

#ifdef __cplusplus
}
#endif

#endif
