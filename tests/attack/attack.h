/*
 * Shared pieces of the protocol attack suite: the issued card behind a
 * man in the middle, NVM images, and a bare-handed terminal that speaks
 * secure messaging with firmware/proto directly (as an attacker holding a
 * stolen role key would, or a test that must build commands libocp would
 * never send).
 */
#ifndef OCP_TEST_ATTACK_H
#define OCP_TEST_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "card_fixture.h"
#include "mitm.h"
#include "ocp_port.h"
#include "ocp_sm.h"

extern struct card_fixture fx;  /* the issued card, memory 0 */
extern struct mitm mm;          /* wraps fx.t; libocp talks to &mm.t */
extern uint8_t issued_image[OCP_NVM_SIZE];

/* Issues the card once; each test then starts from its image. */
int attack_setup(void **state);
int attack_teardown(void **state);

/* Puts `image` in memory 0, cycles the power, clears the mitm's record. */
void restore(const uint8_t image[OCP_NVM_SIZE]);
/* The image of memory 0 now. */
void snap(uint8_t image[OCP_NVM_SIZE]);
/* Fails the test (with the first differing page) unless a and b match. */
void assert_same_image(const uint8_t *a, const uint8_t *b, const char *what);

/* The committed root of an image, decoded as docs/NVM.md lays it out. */
struct image_root {
    unsigned page;            /* ring page 1..4 holding it */
    uint32_t stamp;
    uint8_t payload[56];      /* state, PIN tries, counter, ... */
};
void image_root(const uint8_t image[OCP_NVM_SIZE], struct image_root *r);
#define ROOT_STATE 0
#define ROOT_PIN_TRIES 1
#define ROOT_TX_COUNTER 2     /* 4 bytes, big-endian */

/* Opens a session through the mitm as `role`, terminal 0x1000 + role. */
ocp_session *open_role(uint8_t role);
ocp_session *open_role_at(uint8_t role, uint32_t terminal, uint32_t datetime,
                          ocp_last_tx *last);

/* Sends raw bytes through the mitm; returns the SW, *rlen the whole
 * answer's length (SW included). */
uint16_t inject(const uint8_t *apdu, size_t len, size_t *rlen);

/* A terminal built from the protocol document alone. */
struct rterm {
    ocp_sm_session sm;
    uint8_t card_id[8];
};
/*
 * SELECT and MUTUAL AUTHENTICATE through the mitm with the key of `role`
 * diversified for card `key_card` (NULL: the card's own id).
 * @return the SW of MUTUAL AUTHENTICATE; 9000 only when its R-MAC also
 *         verified (0x0001 when it did not)
 */
uint16_t rterm_open(struct rterm *rt, uint8_t role, uint32_t terminal,
                    uint32_t datetime, const uint8_t *key_card);
/* Protects a command as PROTOCOL.md 1.3 says; returns its length. */
size_t rterm_wrap(struct rterm *rt, uint8_t cla, uint8_t ins, uint8_t p1,
                  uint8_t p2, const uint8_t *data, size_t len,
                  uint8_t apdu[MITM_CAPDU_MAX]);
/* Checks and decrypts an answer in place; 0 when its R-MAC verified. */
int rterm_unwrap(struct rterm *rt, uint8_t *r, size_t rlen, size_t *plain);

/* Test functions of flips.c, listed in test_attack.c's main. */
void test_bit_flips_validation(void **state);

#endif
