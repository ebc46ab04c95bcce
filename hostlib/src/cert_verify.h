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

/* The 40 bytes the certificate covers. */
void hl_cert_message(uint32_t terminal_id, const ocp_use_record *r,
                     uint8_t m[40]);

#endif
