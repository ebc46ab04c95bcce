/*
 * One use record as 41 bytes, the layout of a batch's records
 * (docs/BACKOFFICE.md section 3).  The registry stores each record in
 * this form, exactly as its terminal signed it, and derives every other
 * column of `uses` from it (schema version 3, registry_records.c).
 */
#ifndef OCP_BATCH_RECORD_H
#define OCP_BATCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/batch.h"

void hl_record_encode(const ocp_use_record *u,
                      uint8_t out[OCP_BATCH_RECORD_LEN]);

/* 1 when in is one well-formed record (length and outcome), else 0. */
int hl_record_decode(const uint8_t *in, size_t len, ocp_use_record *u);

/* Where fields lie in the 41 bytes (the audit reads a few without
 * decoding the rest). */
#define HL_REC_SEQ 0u
#define HL_REC_CARD 4u
#define HL_REC_DATETIME 19u
#define HL_REC_OUTCOME 23u

/*
 * Is in a batch in the layout, with its records well formed (the checks
 * of ocp_batch_decode, without decoding)?  Record i is then the 41 bytes
 * at in + OCP_BATCH_HEADER_LEN + i * OCP_BATCH_RECORD_LEN.
 * @return 1 with *terminal_id and *count set, else 0.
 */
int hl_batch_check(const uint8_t *in, size_t len, uint32_t *terminal_id,
                   size_t *count);

#endif
