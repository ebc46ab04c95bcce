/*
 * The back office's computation of a transaction certificate, written from
 * docs/PROTOCOL.md 2.9 and shared by the tests that check what a card
 * answers (in process and through pcscd).
 */
#ifndef OCP_TEST_CERT_CHECK_H
#define OCP_TEST_CERT_CHECK_H

#include <stdint.h>

#include "ocp/keystore.h"

struct cert_fields {
    uint32_t counter;
    uint16_t service;
    uint8_t domain;
    uint32_t amount, remaining, terminal, seq, datetime;
    uint8_t flags;
};

/* CMAC(K_card(9, 1), "TXC1" | card id | fields)[0..7]; 0, or -1 when the
 * key store has no transaction key. */
int cert_expected(ocp_keystore *ks, uint8_t suite, const uint8_t card_id[8],
                  const struct cert_fields *f, uint8_t out[8]);

#endif
