/*
 * The One-Card Pass applet: one pure entry point that turns a command APDU
 * into a response APDU.
 *
 * Conventions (as in BearSSL's engines):
 * - no malloc, no stdio, no globals, no I/O: the caller allocates the
 *   context (struct ocp_card, a few hundred bytes) and passes buffers in;
 * - the context holds no pointers, so it may be copied or cleared freely;
 * - non-volatile state lives behind the NVM port (ocp_port.h) and is changed
 *   only through the card's own journal, so every change is all-or-nothing
 *   whatever the moment power is lost.
 *
 * Use:
 *     struct ocp_card card;
 *     if (ocp_card_power_on(&card) != OCP_CARD_OK) ...;   // at each power-up
 *     ocp_card_process(&card, capdu, capdu_len, rapdu, sizeof rapdu, &rlen);
 */
#ifndef OCP_CARD_H
#define OCP_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "ocp_sm.h"

/* NVM image format: page 0 holds "OCPN", this version byte, the card id. */
#define OCP_CARD_FORMAT_VERSION 1u

/* Smallest response buffer the applet needs: 256 data bytes + SW. */
#define OCP_CARD_RAPDU_MAX 258u

typedef enum {
    OCP_CARD_OK = 0,
    OCP_CARD_NO_IMAGE = -1,   /* NVM has no valid format header */
    OCP_CARD_BAD_VERSION = -2,/* NVM holds another format version */
    OCP_CARD_NVM_FAILURE = -3,/* a read or write failed (power lost) */
    OCP_CARD_BAD_ARGS = -4
} ocp_card_status;

/* What the card remembers between power-ups, cached in RAM. */
struct ocp_card_root {
    uint32_t stamp;         /* journal commit number */
    uint8_t slot;           /* ring slot holding this root */
    uint8_t state;          /* OCP_STATE_* */
    uint8_t pin_tries;      /* tries left */
    uint32_t tx_counter;    /* last transaction counter issued */
    uint32_t drbg_counter;  /* power cycles that used randomness */
    uint16_t last_date;     /* latest plausible date seen (days) */
    uint16_t pending_date;  /* a far-ahead date waiting for a 2nd terminal */
    uint32_t pending_terminal;
};

struct ocp_card {
    struct ocp_card_root root;
    uint8_t dead;           /* an NVM write failed: refuse until power-up */
    uint32_t tx_stamp;      /* stamp of the open transaction */
    uint8_t card_id[8];
    /* Randomness for this power cycle. */
    uint8_t drbg_key[16];
    uint32_t drbg_block;
    uint8_t drbg_ready;
    /* Challenge issued by SELECT or GET CHALLENGE, usable once. */
    uint8_t challenge[8];
    uint8_t challenge_valid;
    /* Secure-messaging session. */
    uint8_t session_role;   /* 0: no session */
    uint8_t pin_verified;
    uint32_t session_terminal;
    uint32_t session_datetime;
    ocp_sm_session sm;
    /* The newest committed log record's slot and stamp, found by one scan
     * of the ring per power cycle and kept current by each commit, so a
     * consumption does not scan the ring again (store.c). */
    uint8_t log_known;
    uint8_t log_pending;     /* an append waits for the commit */
    int8_t log_slot;         /* -1: the log is empty */
    int8_t log_pending_slot;
    uint32_t log_stamp;
};

/**
 * Power-up: clears RAM state, checks the NVM format and finishes or undoes a
 * transaction interrupted by the last power loss.
 * @return OCP_CARD_OK or a negative ocp_card_status.
 */
ocp_card_status ocp_card_power_on(struct ocp_card *card);

/**
 * Process one command APDU.
 * @param[in]  capdu      command APDU (short length), capdu_len >= 4
 * @param[out] rapdu      response data followed by SW1 SW2
 * @param[in]  rapdu_cap  at least OCP_CARD_RAPDU_MAX
 * @param[out] rapdu_len  bytes written to rapdu (always >= 2 on OCP_CARD_OK)
 * @return OCP_CARD_OK, or OCP_CARD_NVM_FAILURE when power was lost during
 *         the command (no response must be sent; power up again).
 */
ocp_card_status ocp_card_process(struct ocp_card *card, const uint8_t *capdu,
                                 size_t capdu_len, uint8_t *rapdu,
                                 size_t rapdu_cap, size_t *rapdu_len);

/**
 * Manufacture: write a blank card image (format header, transport key,
 * DRBG seed) through the NVM port.
 * @param[in] card_id        chip serial number
 * @param[in] transport_key  this card's transport key (already diversified
 *                           from the batch key: slot 1, version 0)
 * @param[in] seed           16 bytes of DRBG seed from the card maker
 */
ocp_card_status ocp_card_manufacture(const uint8_t card_id[8],
                                     const uint8_t transport_key[16],
                                     const uint8_t seed[16]);

#endif
