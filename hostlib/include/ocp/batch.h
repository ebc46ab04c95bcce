/**
 * @file ocp/batch.h
 * What a terminal uploads to the back office: its journal records in
 * batches it signs with its own key (docs/BACKOFFICE.md section 3).
 *
 * A terminal's key pair is made at enrolment; the private key stays in the
 * terminal's key file (PEM, 0600) and only the public key enters the
 * registry, so a record cannot be claimed for a terminal that did not sign
 * it.
 */
#ifndef OCP_BATCH_H
#define OCP_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Outcome of a terminal's attempt, as uploaded. */
typedef enum {
    OCP_USE_PENDING = 0,  /**< CONSUME sent, answer never received */
    OCP_USE_ACCEPTED = 1, /**< consumed; counter, remaining, cert valid */
    OCP_USE_REFUSED = 2,  /**< the card refused */
    OCP_USE_PASSBACK = 3  /**< a retap inside the passback window */
} ocp_use_outcome;

/** One uploaded record: 41 bytes on the wire. */
typedef struct {
    uint32_t seq;         /**< the terminal's sequence number */
    uint8_t card_id[8];
    uint8_t domain;       /**< the consuming role */
    uint16_t service;
    uint32_t amount;
    uint32_t datetime;    /**< minutes since 2000-01-01, the session's */
    uint8_t outcome;      /**< ocp_use_outcome */
    uint32_t counter, remaining;
    uint8_t flags;
    uint8_t cert[8];
} ocp_use_record;

#define OCP_BATCH_HEADER_LEN 17u
#define OCP_BATCH_RECORD_LEN 41u
#define OCP_BATCH_MAX_RECORDS 1000u
#define OCP_BATCH_SIGNATURE_LEN 64u

/** Bytes of a batch of n records (before the signature). */
OCP_API size_t ocp_batch_len(size_t n);

/**
 * Encode "OCPB1" || terminal_id || batch_no || n || n records.
 * @param[out] out     ocp_batch_len(n) bytes
 * @return OCP_OK; OCP_E_ARGS for n > OCP_BATCH_MAX_RECORDS.
 */
OCP_API ocp_status ocp_batch_encode(uint32_t terminal_id, uint32_t batch_no,
                                    const ocp_use_record *recs, size_t n,
                                    uint8_t *out, size_t cap);

/**
 * Decode and check the framing of a batch (not its signature).
 * @param[out] recs  room for OCP_BATCH_MAX_RECORDS records
 * @return OCP_OK; OCP_E_BAD_RESPONSE for any malformed byte string.
 */
OCP_API ocp_status ocp_batch_decode(const uint8_t *in, size_t len,
                                    uint32_t *terminal_id, uint32_t *batch_no,
                                    ocp_use_record *recs, size_t *n);

typedef struct ocp_terminal_key ocp_terminal_key;

/**
 * Make a terminal key pair (P-256, or SM2 with suite OCP_SUITE_SM) and
 * write the private key to a new file, mode 0600 (an existing file is
 * refused, OCP_E_IO).  The public key (DER SubjectPublicKeyInfo) goes to
 * pub/pub_len for the registry.
 */
OCP_API ocp_status ocp_terminal_key_create(const char *path, uint8_t suite,
                                           uint8_t *pub, size_t *pub_len);
/** Load a terminal key file (refused when group or world readable). */
OCP_API ocp_status ocp_terminal_key_load(const char *path,
                                         ocp_terminal_key **out);
OCP_API void ocp_terminal_key_free(ocp_terminal_key *k);
/** Its public key, DER SubjectPublicKeyInfo. */
OCP_API ocp_status ocp_terminal_key_public(const ocp_terminal_key *k,
                                           uint8_t *pub, size_t *pub_len);

/** Sign an encoded batch: r || s, 64 bytes (ECDSA-SHA-256 or SM2-SM3). */
OCP_API ocp_status ocp_batch_sign(const ocp_terminal_key *k,
                                  const uint8_t *batch, size_t len,
                                  uint8_t sig[OCP_BATCH_SIGNATURE_LEN]);
/** Verify a batch signature with the public key from the registry. */
OCP_API ocp_status ocp_batch_verify(const uint8_t *pub, size_t pub_len,
                                    const uint8_t *batch, size_t len,
                                    const uint8_t sig[OCP_BATCH_SIGNATURE_LEN]);

#ifdef __cplusplus
}
#endif

#endif
