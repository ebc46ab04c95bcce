/**
 * @file ocp/issue.h
 * Issuing a card and checking that the city issued it.
 */
#ifndef OCP_ISSUE_H
#define OCP_ISSUE_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/card.h"
#include "ocp/export.h"
#include "ocp/keystore.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint8_t suite;                 /**< OCP_SUITE_AES or OCP_SUITE_SM */
    uint16_t issue_date;           /**< days since 2000-01-01 */
    uint16_t expiry_date;
    ocp_holder holder;
    char pin[9];                   /**< 4..8 digits */
    const ocp_entitlement *entitlements;
    size_t n_entitlements;
    uint32_t terminal_id;          /**< the desk's id */
    uint32_t datetime;             /**< now, minutes since 2000-01-01 */
} ocp_issue_request;

/**
 * Personalise a blank card and activate it.  Safe to repeat after an
 * interruption: the card stays blank until the last two commands, and
 * every step before them overwrites.
 * @param[out] info  the card's SELECT answer after activation (may be NULL)
 */
OCP_API ocp_status ocp_issue_card(ocp_transport *t, ocp_keystore *ks,
                                  const ocp_issue_request *req,
                                  ocp_select_info *info);

/**
 * SELECT, derive the role's card key in the store and authenticate.
 * @param[out] info  the SELECT answer (may be NULL)
 * @param[out] last  the domain's last transaction (may be NULL)
 */
OCP_API ocp_status ocp_open_role(ocp_transport *t, ocp_keystore *ks,
                                 uint8_t role, uint32_t terminal_id,
                                 uint32_t datetime, ocp_select_info *info,
                                 ocp_last_tx *last, ocp_session **out);

/** The keyed holder digest the issuer signs (16 bytes). */
OCP_API ocp_status ocp_holder_digest(ocp_keystore *ks, uint8_t suite,
                                     const uint8_t card_id[8],
                                     const ocp_holder *h, uint8_t out[16]);

/**
 * Check the issuer signature over the public data.
 * @param[in] der  issuer public key (SubjectPublicKeyInfo DER)
 * @return OCP_OK, OCP_E_SIGNATURE, or OCP_E_ARGS for a NULL argument or a
 *         key that does not decode.
 */
OCP_API ocp_status ocp_verify_public(const ocp_public_info *pub,
                                     const uint8_t *der, size_t der_len);

/** The signed message: "OCPS" | card id | suite | issue | expiry | digest. */
OCP_API void ocp_public_message(const ocp_public_info *pub, uint8_t out[33]);

/* ---- the desk's later jobs (desk.c) ------------------------------------ */

/**
 * Replace the holder record and re-sign, in one atomic card command.
 * @param[in] t         transport to the card
 * @param[in] holder    the new record (all fields)
 * @param[in] terminal_id, datetime  the desk and now
 */
OCP_API ocp_status ocp_update_holder(ocp_transport *t, ocp_keystore *ks,
                                     const ocp_holder *holder,
                                     uint32_t terminal_id, uint32_t datetime);

/**
 * Renew a card in place: entitlements that end with the card are extended
 * to the new expiry, then the new expiry is written with a new signature
 * (atomically).  Safe to repeat after an interruption.
 */
OCP_API ocp_status ocp_renew_in_place(ocp_transport *t, ocp_keystore *ks,
                                      uint16_t new_expiry,
                                      uint32_t terminal_id,
                                      uint32_t datetime);

/**
 * Renew onto a new card: the old card is blocked first (so nothing is
 * consumed while its values are copied), the new blank card is issued with
 * the same holder and the remaining counters and balances, then the old
 * card is terminated.  Repeating it after an interruption finishes the job
 * from wherever it stopped; it never leaves two usable cards.
 * @param[in] old_t, new_t  the two cards (two readers)
 * @param[in] pin           the holder's PIN for the new card
 * @param[out] new_info     the new card's SELECT answer (may be NULL)
 */
OCP_API ocp_status ocp_renew_onto(ocp_transport *old_t, ocp_transport *new_t,
                                  ocp_keystore *ks, uint16_t new_expiry,
                                  const char *pin, uint32_t terminal_id,
                                  uint32_t datetime,
                                  ocp_select_info *new_info);

/**
 * Bring the card's keys to the key store's current versions (after
 * `ocp keys rotate`): every slot whose version differs gets the current
 * key by PUT KEY, the issuer key last.  Each slot is one atomic command, so
 * a repeat after an interruption finishes the job.
 * @param[out] changed  how many slots were changed (may be NULL)
 */
OCP_API ocp_status ocp_update_card_keys(ocp_transport *t, ocp_keystore *ks,
                                        uint32_t terminal_id,
                                        uint32_t datetime, unsigned *changed);

#ifdef __cplusplus
}
#endif

#endif
