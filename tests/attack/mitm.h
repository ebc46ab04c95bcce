/*
 * A man in the middle for the attack tests: an ocp_transport that sits on
 * the wire between libocp and the card (another transport, here the
 * in-process one).  It records every exchange, byte for byte, as each side
 * sent it and as the other side got it, and may tamper with one exchange
 * per run: flip one bit of a command or of a response, drop a command
 * before the card sees it, drop a response after the card has acted on it,
 * or put other bytes in its place.  It can also send bytes of its own to the
 * card (a replay, a held-back command, a stripped MAC), recorded like the
 * rest.
 *
 * Exchanges are numbered from 0 in the order they cross the wire, libocp's
 * and injected ones alike, since mitm_clear().  Observers may be called
 * before the card receives each command and after it answers, so a test
 * can take the card's NVM image at exactly those moments.
 *
 * Everything lives in the caller's struct: no allocation, no globals.
 */
#ifndef OCP_TEST_MITM_H
#define OCP_TEST_MITM_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/transport.h"

#define MITM_MAX_EXCHANGES 48u
#define MITM_CAPDU_MAX 261u

enum mitm_op {
    MITM_NOTHING = 0,
    MITM_FLIP_COMMAND,     /* flip bit `bit` of the command */
    MITM_FLIP_RESPONSE,    /* flip bit `bit` of the response (SW included) */
    MITM_DROP_COMMAND,     /* the card never sees it; libocp: card removed */
    MITM_DROP_RESPONSE,    /* the card acts; libocp: card removed (torn) */
    MITM_REPLACE_COMMAND,  /* the card gets `bytes` instead */
    MITM_REPLACE_RESPONSE  /* libocp gets `bytes` instead */
};

/* One exchange as it crossed the wire. */
struct mitm_exchange {
    uint8_t sent[MITM_CAPDU_MAX];     /* command as libocp (or a test) sent it */
    size_t sent_len;
    uint8_t delivered[MITM_CAPDU_MAX]; /* command as the card received it */
    size_t delivered_len;              /* 0: the card never saw it */
    uint8_t answered[OCP_RAPDU_MAX];  /* response as the card sent it */
    size_t answered_len;               /* 0: no answer */
    uint8_t returned[OCP_RAPDU_MAX];  /* response as libocp got it */
    size_t returned_len;
    int injected;                      /* 1: sent by mitm_inject */
};

struct mitm {
    ocp_transport t;       /* hand &m->t to libocp; t.ctx points here */
    ocp_transport *inner;  /* the card side; the mitm does not own it */
    /* The armed tamper, applied to exchange number `at` (once). */
    enum mitm_op op;
    unsigned at;
    unsigned bit;          /* bit number: byte bit / 8, mask 0x80 >> bit % 8 */
    uint8_t bytes[MITM_CAPDU_MAX];
    size_t bytes_len;
    int fired;             /* 1 once the tamper was applied */
    /* Optional observers: phase 0 before the card gets command n, phase 1
     * after it answered (not called when the command was dropped). */
    void (*observe)(void *user, unsigned n, int phase);
    void *user;
    struct mitm_exchange log[MITM_MAX_EXCHANGES];
    unsigned n;            /* exchanges so far */
};

/* Sets up the wrapper around `inner`, with nothing armed. */
void mitm_init(struct mitm *m, ocp_transport *inner);

/* Forgets the record and disarms; numbering starts again at 0. */
void mitm_clear(struct mitm *m);

/* Arms one tamper for exchange `at` (flips: `bit`; replace: bytes). */
void mitm_arm(struct mitm *m, enum mitm_op op, unsigned at, unsigned bit);
void mitm_arm_replace(struct mitm *m, enum mitm_op op, unsigned at,
                      const uint8_t *bytes, size_t len);

/*
 * Sends bytes of the attacker's own to the card (never tampered) and
 * records the exchange.
 * @param[out]    r     the full response, SW included
 * @param[in,out] rlen  in: capacity (at least OCP_RAPDU_MAX); out: length
 * @return the status word, or 0 when the transport failed
 */
uint16_t mitm_inject(struct mitm *m, const uint8_t *apdu, size_t len,
                     uint8_t *r, size_t *rlen);

/* The SW the card answered to exchange n; 0 when it did not answer. */
uint16_t mitm_card_sw(const struct mitm *m, unsigned n);

#endif
