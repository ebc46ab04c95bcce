/*
 * Internals of the applet, shared by its source files only.
 *
 * The command handlers all have the shape `uint16_t f(card, apdu)`: they
 * read the command from apdu->data, write response data to apdu->out and
 * return the status word.  apdu->data and apdu->out may be the same buffer
 * (the card has one APDU buffer), so a handler parses all of its input into
 * locals before it writes a byte of output.
 */
#ifndef OCP_CARD_INTERNAL_H
#define OCP_CARD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ocp_bytes.h"
#include "ocp_card.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"

/* Largest plaintext a protected response may carry (239 + pad + MAC). */
#define CARD_SM_DATA_MAX 239u

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* command data (plaintext after SM) */
    size_t len;
    int has_le;
    size_t le;           /* 1..256 when has_le */
    int sm;              /* the command was protected */
    uint8_t *out;        /* response data */
    size_t out_cap;
    size_t out_len;
} card_apdu;

/* ---- store.c: NVM records with shadow copies and a commit root ---------- */

#define STORE_PAYLOAD 56u

enum store_record {
    REC_IDENT = 0,   /* suite, issue date, expiry date */
    REC_SIG1,        /* holder digest, signature bytes 0..39 */
    REC_SIG2,        /* signature bytes 40..63 */
    REC_HOLDER1,     /* certificate number, category, grade, district, name */
    REC_HOLDER2,     /* rest of the name */
    REC_KEYS1,       /* key slots 1..3: version, key */
    REC_KEYS2,       /* key slots 4..6 */
    REC_KEYS3,       /* key slots 7..9 */
    REC_PIN,         /* length, PIN, maximum tries */
    REC_DRBG,        /* DRBG seed key */
    REC_ENT0,        /* entitlements: REC_ENT0 + slot - 1 */
    REC_COUNT = REC_ENT0 + OCP_MAX_ENTITLEMENTS
};

/**
 * Power-up: checks the header, finds the committed root, and wipes every
 * page written by an uncommitted transaction.
 */
ocp_card_status store_open(struct ocp_card *card);

/* Reads the committed payload of a record; returns 1 if present, 0 if the
 * record was never written (payload zeroed), -1 on NVM failure. */
int store_read(const struct ocp_card *card, unsigned rec,
               uint8_t payload[STORE_PAYLOAD]);

/*
 * A transaction: store_begin, any number of store_put / store_log_append,
 * then store_commit with the new root.  Nothing is visible until the commit
 * writes the root; a power cut before that leaves the old state.  Any
 * failure makes the card dead until the next power-up (recovery must run
 * before another transaction may reuse the stamp).
 */
void store_begin(struct ocp_card *card);
int store_put(struct ocp_card *card, unsigned rec,
              const uint8_t payload[STORE_PAYLOAD]);
int store_log_append(struct ocp_card *card,
                     const uint8_t payload[STORE_PAYLOAD]);
int store_commit(struct ocp_card *card, const struct ocp_card_root *root);

/* Walks the committed log records from the newest back, one page read
 * each (the newest is found once, at the start).  Start with a zeroed walk;
 * each call returns 1 with the next older record, 0 when there is no more,
 * -1 on NVM failure. */
struct store_log_walk {
    int slot;
    uint32_t prev;   /* the stamp of the record returned last */
    unsigned count;  /* records returned so far */
};
int store_log_walk(struct ocp_card *card, struct store_log_walk *w,
                   uint8_t payload[STORE_PAYLOAD]);

/* Writes header, root and initial records of a blank card. */
ocp_card_status store_format(const uint8_t card_id[8],
                             const uint8_t transport_key[16],
                             const uint8_t seed[16]);

/* ---- drbg.c ------------------------------------------------------------- */

/* Fills out with fresh random bytes; the first call after power-up commits
 * a new DRBG counter.  Returns 0, or -1 on NVM failure. */
int drbg_generate(struct ocp_card *card, uint8_t *out, size_t len);
uint16_t cmd_put_drbg_seed(struct ocp_card *card, const uint8_t *seed,
                           size_t len);

/* ---- keys.c ------------------------------------------------------------- */

/* Reads key slot (1..9): returns 1 with version and key, 0 if absent. */
int keys_get(const struct ocp_card *card, uint8_t slot, uint8_t *version,
             uint8_t key[16]);
void keys_versions(const struct ocp_card *card, uint8_t out[OCP_KEY_SLOTS]);
uint16_t cmd_put_key(struct ocp_card *card, card_apdu *a);

/* ---- channel.c: selection, challenges, mutual authentication ------------ */

uint16_t cmd_select(struct ocp_card *card, card_apdu *a);
uint16_t cmd_get_challenge(struct ocp_card *card, card_apdu *a);
uint16_t cmd_mutual_auth(struct ocp_card *card, card_apdu *a);
void channel_close(struct ocp_card *card);
uint8_t card_suite(const struct ocp_card *card);

/* ---- data.c: GET DATA and PUT DATA -------------------------------------- */

uint16_t cmd_get_data(struct ocp_card *card, card_apdu *a);
uint16_t cmd_put_data(struct ocp_card *card, card_apdu *a);

/* ---- pin.c -------------------------------------------------------------- */

/* 1 when the PIN given (len bytes) is not the one in the PIN record
 * (length, then the PIN padded to OCP_PIN_MAX), 0 when it is; in constant
 * time (tests/ct checks it under valgrind). */
int card_pin_differs(const uint8_t rec[STORE_PAYLOAD], const uint8_t *pin,
                     size_t len);

uint16_t cmd_verify(struct ocp_card *card, card_apdu *a);
uint16_t cmd_change_pin(struct ocp_card *card, card_apdu *a);
uint16_t cmd_reset_retry(struct ocp_card *card, card_apdu *a);

/* ---- entitlement.c ------------------------------------------------------ */

uint16_t cmd_consume(struct ocp_card *card, card_apdu *a);
uint16_t cmd_grant(struct ocp_card *card, card_apdu *a);
uint16_t cmd_read_record(struct ocp_card *card, card_apdu *a);
/* The domain's last transaction, OCP_LASTTX_LEN bytes (zeros if none). */
int entitlement_last_tx(const struct ocp_card *card, uint8_t domain,
                        uint8_t out[OCP_LASTTX_LEN]);

/* ---- lifecycle.c -------------------------------------------------------- */

uint16_t cmd_set_state(struct ocp_card *card, card_apdu *a);

/* ---- date.c: the card's date rules -------------------------------------- */

/* Days since 2000-01-01 of a datetime in minutes since 2000-01-01 00:00. */
uint16_t date_of(uint32_t datetime);
/* Period number of a day for OCP_PERIOD_* (months or years since 2000). */
uint16_t date_period(uint16_t day, uint8_t period);
/*
 * Applies a terminal's date to the root (in RAM; the caller commits):
 * returns OCP_TXF_* flags (BACKDATED, AHEAD) and whether renewal may use
 * this date (*trusted).
 */
uint8_t date_observe(struct ocp_card *card, struct ocp_card_root *root,
                     uint32_t datetime, uint32_t terminal, int *trusted);

/* ---- access rules ------------------------------------------------------- */

/* May the session role read the domain's entitlements and log entries? */
int role_sees_domain(uint8_t role, uint8_t domain);
/* May the session role read the disability category and grade? */
int role_sees_disability(uint8_t role);
/* May it read name, certificate number and district? */
int role_sees_identity(uint8_t role);
/* Does the session (role and PIN) allow reading holder and entitlements? */
int session_may_read(const struct ocp_card *card);

#endif
