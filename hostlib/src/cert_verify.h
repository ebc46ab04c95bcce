/*
 * Transaction certificates checked by the back office (docs/PROTOCOL.md
 * 2.9), fast enough for a city's day of records: the card's transaction
 * key is derived once per card and its CMAC key schedule kept while the
 * records of that card follow one another (the audit reads them in card
 * order).
 */
#ifndef OCP_CERT_VERIFY_H
#define OCP_CERT_VERIFY_H

#include <stdint.h>

#include "ocp/batch.h"
#include "ocp/keystore.h"

typedef struct hl_cert_checker hl_cert_checker;

ocp_status hl_cert_checker_new(ocp_keystore *ks, hl_cert_checker **out);
void hl_cert_checker_free(hl_cert_checker *c);

/*
 * Is r->cert the card's certificate of this record made at terminal_id?
 * The repeat flag (80) of an answer from the card's memory is not part of
 * the certificate and is ignored.
 * @param suite, version  the card's suite and transaction-key version
 * @return OCP_OK with *genuine 1 or 0; OCP_E_KEY_MISSING when the store
 *         has no transaction key of that version; OCP_E_CRYPTO.
 */
ocp_status hl_cert_check(hl_cert_checker *c, uint8_t suite, uint8_t version,
                         uint32_t terminal_id, const ocp_use_record *r,
                         int *genuine);

/*
 * The same for n records of one card at once, as the audit checks them:
 * the key is set up once and the certificates computed side by side (each
 * step of CMAC is one call over all the records' blocks, which the cipher
 * pipelines: about twice the speed of one record at a time).
 * @param m     each record's message (hl_cert_message)
 * @param cert  each record's certificate as stored
 * @param genuine  out: 1 or 0 per record
 * @return as hl_cert_check.
 */
ocp_status hl_cert_check_card(hl_cert_checker *c, uint8_t suite,
                              uint8_t version, const uint8_t card_id[8],
                              size_t n, const uint8_t (*m)[40],
                              const uint8_t (*cert)[8], uint8_t *genuine);

/* The 40 bytes the certificate covers. */
void hl_cert_message(uint32_t terminal_id, const ocp_use_record *r,
                     uint8_t m[40]);

#endif
