/**
 * @file ocp/card.h
 * Talking to a One-Card Pass card: selection, a secure-messaging session
 * for a role, and the card's operations.  docs/PROTOCOL.md gives the bytes.
 *
 * Memory: every structure is caller-owned except ocp_session, which
 * ocp_open_session allocates and ocp_session_close frees (and wipes).
 * Thread safety: a session and its transport belong to one thread at a
 * time; different sessions may be used from different threads.
 *
 * Example, a bus validation (three command/response pairs):
 * @code
 *   ocp_select_info info;
 *   ocp_session *s;
 *   ocp_tx_result tx;
 *   ocp_select(t, &info);
 *   ocp_derive_card_key(&masters, &info, OCP_ROLE_TRANSIT, key);
 *   ocp_open_session(t, &info, OCP_ROLE_TRANSIT, version, key, terminal_id,
 *                    now, NULL, &s);
 *   ocp_consume(s, 0x0101, 1, seq, &tx);
 *   ocp_session_close(s);
 * @endcode
 */
#ifndef OCP_CARD_API_H
#define OCP_CARD_API_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/status.h"
#include "ocp/transport.h"
#include "ocp/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What SELECT tells anyone (docs/PROTOCOL.md, SELECT). */
typedef struct {
    uint8_t card_id[8];
    uint8_t suite;            /**< 1 AES, 2 SM, 0 blank card not yet set */
    uint8_t state;            /**< OCP_STATE_* of ocp/wire.h */
    uint8_t key_versions[9];  /**< key slots 1..9; 0xFF: absent */
    uint8_t challenge[8];     /**< the card's challenge for this session */
    uint16_t sw;              /**< 9000, 6283 (blocked) or 6285 (terminated) */
} ocp_select_info;

/** The domain's last transaction, as the card reports it at authentication. */
typedef struct {
    uint32_t terminal_id;
    uint32_t seq;
    uint32_t counter;         /**< 0: the domain has no transaction yet */
    uint16_t service;
    uint32_t remaining;
    uint8_t flags;
    uint8_t cert[8];
} ocp_last_tx;

/** The answer to a consumption. */
typedef struct {
    uint32_t counter;         /**< the card's transaction counter */
    uint32_t remaining;       /**< units or fen left on the entitlement */
    uint8_t flags;            /**< OCP_TXF_*; OCP_TXF_REPEAT: nothing consumed */
    uint8_t cert[8];          /**< transaction certificate */
} ocp_tx_result;

/** An entitlement as stored on the card. */
typedef struct {
    uint8_t slot;             /**< 1..16 */
    uint16_t service;
    uint8_t domain;           /**< consuming role */
    uint8_t kind;             /**< OCP_KIND_* */
    uint8_t flags;            /**< OCP_ENT_FLAG_* */
    uint16_t valid_from, valid_to; /**< days since 2000-01-01, inclusive */
    uint8_t period;           /**< OCP_PERIOD_* (counters) */
    uint32_t limit;           /**< uses per period (counters) */
    uint32_t remaining;       /**< uses left, or fen for a balance */
    uint16_t period_id;       /**< the period the counter belongs to */
} ocp_entitlement;

/** One on-card log record. */
typedef struct {
    uint32_t counter, datetime, terminal_id;
    uint16_t service;
    uint8_t domain;
    uint32_t amount, remaining;
    uint8_t flags;
} ocp_log_record;

/** The holder record; fields a role may not see are left zero/empty. */
typedef struct {
    char name[48 + 1];        /**< UTF-8 */
    char cert_no[20 + 1];
    uint8_t category;         /**< 1..7, 0 when not visible */
    uint8_t grade;            /**< 1..4, 0 when not visible */
    uint32_t district;        /**< GB/T 2260 code, 0 when not visible */
} ocp_holder;

/** Public data: readable by anyone, signed by the issuer. */
typedef struct {
    uint8_t card_id[8];
    uint8_t suite;
    uint16_t issue_date, expiry_date; /**< days since 2000-01-01 */
    uint8_t holder_digest[16];
    uint8_t signature[64];    /**< r || s */
} ocp_public_info;

/** Card status (any authenticated role). */
typedef struct {
    uint8_t state;
    uint32_t tx_counter;
    uint16_t last_date;
    uint8_t pin_tries, pin_max;
    uint16_t expiry_date;
    uint8_t free_slots;
} ocp_card_status_info;

typedef struct ocp_session ocp_session;

/**
 * Send a plain APDU and receive the response, following 61xx (GET RESPONSE)
 * and 6Cxx (resend with the right Le) at most once each.
 * @param[out]    rdata  response data (without SW)
 * @param[in,out] rlen   in: capacity; out: data length
 * @param[out]    sw     status word
 * @return OCP_OK (whatever the SW), or a transport error,
 *         OCP_E_BAD_RESPONSE for a response longer than rdata or a loop.
 */
OCP_API ocp_status ocp_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rdata, size_t *rlen,
                                uint16_t *sw);

/**
 * SELECT the application.
 * @return OCP_OK, OCP_E_NOT_OCP when the card has no such application,
 *         OCP_E_BAD_RESPONSE when the answer is malformed.
 */
OCP_API ocp_status ocp_select(ocp_transport *t, ocp_select_info *info);

/**
 * Authenticate as a role and open a secure-messaging session.
 * Uses (and spends) the challenge from the last ocp_select().
 * @param[in]  card_key     the role's key for this card (diversified)
 * @param[in]  terminal_id  this terminal's id (in certificates and logs)
 * @param[in]  datetime     minutes since 2000-01-01 00:00, local time
 * @param[out] last         the domain's last transaction, or NULL
 * @param[out] out          the session; free with ocp_session_close
 * @return OCP_OK, OCP_E_AUTH (the card refused the cryptogram),
 *         OCP_E_SM (the card's answer does not verify: not a genuine card),
 *         OCP_E_KEY_MISSING (6A88: the card has no such key version),
 *         OCP_E_DENIED (role not allowed in this state), ...
 */
OCP_API ocp_status ocp_open_session(ocp_transport *t,
                                    const ocp_select_info *info, uint8_t role,
                                    uint8_t key_version,
                                    const uint8_t card_key[16],
                                    uint32_t terminal_id, uint32_t datetime,
                                    ocp_last_tx *last, ocp_session **out);

/**
 * Send one protected command.  Any secure-messaging failure closes the
 * session on both sides (every later call returns OCP_E_SM).
 * @param[in]     cla    00 or 80 (the SM bit is added)
 * @param[out]    resp   decrypted response data (may be NULL if none)
 * @param[in,out] resp_len in: capacity; out: length
 * @param[out]    sw     the card's status word: MAC-verified when the call
 *                        returns OCP_OK; after OCP_E_SM it is the plain,
 *                        unverified SW, for diagnostics only (the
 *                        operations in this header never act on it)
 */
OCP_API ocp_status ocp_session_transmit(ocp_session *s, uint8_t cla,
                                        uint8_t ins, uint8_t p1, uint8_t p2,
                                        const uint8_t *data, size_t len,
                                        uint8_t *resp, size_t *resp_len,
                                        uint16_t *sw);

/** The role of an open session. */
OCP_API uint8_t ocp_session_role(const ocp_session *s);

/**
 * Overwrite a PIN or key buffer with zeros in a way the compiler cannot
 * optimise away (a memset just before the buffer goes out of scope can
 * be).  Call it on every buffer that held a PIN or key, once done with it.
 */
OCP_API void ocp_secret_wipe(void *secret, size_t len);

/** Free a session and wipe its keys.  NULL is allowed. */
OCP_API void ocp_session_close(ocp_session *s);

/** Map a card status word to a libocp status (OCP_OK for 9000). */
OCP_API ocp_status ocp_status_from_sw(uint16_t sw);

/* ---- operations (card.c) ---------------------------------------------- */

/** Consume `amount` of service `service`; idempotent per (terminal, seq). */
OCP_API ocp_status ocp_consume(ocp_session *s, uint16_t service,
                               uint32_t amount, uint32_t seq,
                               ocp_tx_result *out);

/** Read the entitlements the role may see; *count in: capacity, out: read. */
OCP_API ocp_status ocp_read_entitlements(ocp_session *s, ocp_entitlement *out,
                                         size_t *count);

/** Read the log records the role may see, newest first. */
OCP_API ocp_status ocp_read_log(ocp_session *s, ocp_log_record *out,
                                size_t *count);

OCP_API ocp_status ocp_read_holder(ocp_session *s, ocp_holder *out);
OCP_API ocp_status ocp_read_status(ocp_session *s, ocp_card_status_info *out);

/** Public data (no session needed). */
OCP_API ocp_status ocp_read_public(ocp_transport *t, ocp_public_info *out);

/** VERIFY the holder's PIN; *tries_left set on OCP_E_PIN_WRONG. */
OCP_API ocp_status ocp_verify_pin(ocp_session *s, const char *pin,
                                  int *tries_left);
OCP_API ocp_status ocp_change_pin(ocp_session *s, const char *old_pin,
                                  const char *new_pin, int *tries_left);
/** Issuer: set a new PIN (or only reset the tries when new_pin is NULL). */
OCP_API ocp_status ocp_unblock_pin(ocp_session *s, const char *new_pin);

/** Issuer: create or replace an entitlement; slot 0 = first free.
 *  *slot_out receives the slot used (may be NULL). */
OCP_API ocp_status ocp_grant(ocp_session *s, const ocp_entitlement *e,
                             uint8_t *slot_out);
OCP_API ocp_status ocp_revoke(ocp_session *s, uint8_t slot);
OCP_API ocp_status ocp_credit(ocp_session *s, uint8_t slot, uint32_t amount);

/** Issuer: move the card to another life-cycle state. */
OCP_API ocp_status ocp_set_state(ocp_session *s, uint8_t state);
/** Service role: block with the issuer's hotlist cryptogram. */
OCP_API ocp_status ocp_block_with_cryptogram(ocp_session *s,
                                             uint32_t hotlist_version,
                                             const uint8_t cryptogram[8]);
/** Issuer: reset the card's notion of today. */
OCP_API ocp_status ocp_set_card_date(ocp_session *s, uint16_t day);

#ifdef __cplusplus
}
#endif

#endif
