/* A terminal's upload to the registry (ocp/sync.h). */
#include <stdlib.h>
#include <string.h>

#include "ocp/sync.h"

/* The journal counts its batches, so each one is numbered once. */
#define NEXT_BATCH "next_batch"

static ocp_status upload_one(ocp_journal *j, ocp_registry *r,
                             const ocp_terminal_key *k, uint32_t terminal_id,
                             int64_t now, ocp_use_record *recs, size_t n,
                             uint8_t *buf, ocp_sync_result *res)
{
    uint8_t sig[OCP_BATCH_SIGNATURE_LEN];
    uint32_t batch_no = 1;
    int found = 0;
    size_t len = ocp_batch_len(n);
    ocp_upload_result got;
    ocp_status st = ocp_journal_get_u32(j, NEXT_BATCH, &batch_no, &found);
    if (st != OCP_OK)
        return st;
    if (!found)
        batch_no = 1;
    st = ocp_batch_encode(terminal_id, batch_no, recs, n, buf, len);
    if (st == OCP_OK)
        st = ocp_batch_sign(k, buf, len, sig);
    if (st == OCP_OK)
        st = ocp_registry_upload(r, buf, len, sig, now, &got);
    /* Only now, with the registry's commit behind it, is the journal told:
     * a crash before this line sends the same records again, which the
     * registry recognises. */
    if (st == OCP_OK)
        st = ocp_journal_mark_uploaded(j, recs, n);
    if (st == OCP_OK)
        st = ocp_journal_set_u32(j, NEXT_BATCH, batch_no + 1);
    if (st == OCP_OK) {
        res->batches++;
        res->records.stored += got.stored;
        res->records.duplicates += got.duplicates;
        res->records.finished += got.finished;
        res->records.conflicts += got.conflicts;
    }
    return st;
}

ocp_status ocp_sync_upload(ocp_journal *j, ocp_registry *r,
                           const ocp_terminal_key *k, uint32_t terminal_id,
                           int64_t terminal_now, ocp_sync_result *res)
{
    ocp_use_record *recs;
    uint8_t *buf;
    int64_t registry_now = 0;
    ocp_status st;
    if (j == NULL || r == NULL || k == NULL || res == NULL)
        return OCP_E_ARGS;
    memset(res, 0, sizeof *res);
    /* Each upload checks this too; asking first tells a revoked terminal
     * so even when its journal has nothing new. */
    st = ocp_registry_check_terminal(r, terminal_id);
    if (st != OCP_OK)
        return st;
    st = ocp_registry_now(r, &registry_now);
    if (st != OCP_OK)
        return st;
    res->clock_offset_s = terminal_now - registry_now;
    recs = calloc(OCP_BATCH_MAX_RECORDS, sizeof *recs);
    buf = malloc(ocp_batch_len(OCP_BATCH_MAX_RECORDS));
    if (recs == NULL || buf == NULL) {
        free(recs);
        free(buf);
        return OCP_E_NOMEM;
    }
    for (;;) {
        size_t n = OCP_BATCH_MAX_RECORDS;
        st = ocp_journal_to_upload(j, recs, &n);
        if (st != OCP_OK || n == 0)
            break;
        st = upload_one(j, r, k, terminal_id, registry_now, recs, n, buf,
                        res);
        if (st != OCP_OK)
            break;
    }
    free(recs);
    free(buf);
    if (st == OCP_OK)
        st = ocp_registry_note_clock(r, terminal_id, res->clock_offset_s);
    return st;
}
