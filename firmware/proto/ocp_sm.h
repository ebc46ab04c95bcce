/*
 * Secure messaging: session key derivation and the protection of commands
 * and responses, shared by the card and libocp so both compute exactly the
 * same bytes.  The construction follows GlobalPlatform SCP03 (SP 800-108
 * KDF, encryption counter, CBC with ISO padding, CMAC chaining) with one
 * deliberate difference: the R-MAC also becomes the chaining value, so a
 * response is bound into everything after it (SCP03 chains C-MACs only).
 * docs/PROTOCOL.md section 1.3 is the byte-level description.
 */
#ifndef OCP_SM_H
#define OCP_SM_H

#include <stddef.h>
#include <stdint.h>

#define OCP_SM_CONTEXT_LEN 25u /* RH(8) RC(8) role(1) terminal(4) datetime(4) */

typedef struct {
    uint8_t cipher;
    uint8_t s_enc[16];
    uint8_t s_mac[16];
    uint8_t s_rmac[16];
    uint8_t chain[16]; /* last full MAC, command or response */
    uint32_t counter;  /* encryption counter of the last command */
} ocp_sm_session;

/* Builds the KDF context of a session. */
void ocp_sm_context(const uint8_t rh[8], const uint8_t rc[8], uint8_t role,
                    uint32_t terminal_id, uint32_t datetime,
                    uint8_t out[OCP_SM_CONTEXT_LEN]);

/**
 * Derives S-ENC, S-MAC, S-RMAC from the static card key and the context and
 * computes the 8-byte host cryptogram.  The session starts with counter 0
 * and a zero chaining value.
 */
void ocp_sm_begin(ocp_sm_session *s, uint8_t cipher, const uint8_t key[16],
                  const uint8_t context[OCP_SM_CONTEXT_LEN],
                  uint8_t host_cryptogram[8]);

void ocp_sm_end(ocp_sm_session *s);

/**
 * Host: protect a command.  Increments the counter, encrypts data (if any),
 * appends the C-MAC and Le = 00.
 * @param[in]  hdr     CLA INS P1 P2 of the plain command (CLA without SM bit)
 * @param[out] apdu    the protected APDU, at most 5 + 240 + 8 + 1 bytes
 * @return the APDU length, or 0 when data_len > 239 (too long for a short APDU)
 */
size_t ocp_sm_wrap_command(ocp_sm_session *s, const uint8_t hdr[4],
                           const uint8_t *data, size_t data_len,
                           uint8_t *apdu, size_t apdu_cap);

/**
 * Card: check and decrypt a protected command body in place.
 * @param[in]     hdr   CLA INS P1 P2 as received (SM bit set)
 * @param[in,out] body  Lc bytes: encrypted data || C-MAC(8); on success the
 *                      first *plain_len bytes hold the plaintext
 * @return 0, or -1 on any MAC, length or padding error (the caller ends the
 *         session and answers 6988)
 */
int ocp_sm_unwrap_command(ocp_sm_session *s, const uint8_t hdr[4],
                          uint8_t *body, size_t body_len, size_t *plain_len);

/**
 * Card: protect a response in place.  buf holds data_len plaintext bytes and
 * has room for the padding and the R-MAC; sw is covered by the MAC.
 * @return the response body length (without SW).
 */
size_t ocp_sm_wrap_response(ocp_sm_session *s, uint8_t *buf, size_t data_len,
                            uint16_t sw);

/**
 * Host: check and decrypt a protected response body in place.
 * @return 0 with *plain_len set, or -1 on any error.
 */
int ocp_sm_unwrap_response(ocp_sm_session *s, uint8_t *body, size_t body_len,
                           uint16_t sw, size_t *plain_len);

#endif
