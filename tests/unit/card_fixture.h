/*
 * Shared set-up for the applet tests: a freshly manufactured card on the
 * test port, reached through the in-process transport, and the development
 * key store in a temporary directory.
 */
#ifndef OCP_TEST_CARD_FIXTURE_H
#define OCP_TEST_CARD_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/card.h"
#include "ocp/inproc.h"
#include "ocp/issue.h"
#include "ocp/keystore.h"
#include "ocp_wire.h"

struct card_fixture {
    ocp_transport *t;
    ocp_keystore *ks;
    char dir[64];
    uint8_t card_id[8];
};

/* 2026-11-29 10:00 as minutes since 2000-01-01. */
#define FIX_DAY 9829u
#define FIX_NOW (FIX_DAY * 1440u + 600u)

#define SVC_BUS 0x0101u       /* transit pass */
#define SVC_REFILL 0x0201u    /* medical counter, 2 a month */
#define SVC_REHAB 0x0301u     /* rehab counter, PIN required */
#define SVC_DEVICE 0x0401u    /* assistive balance, fen */

int fixture_blank(struct card_fixture *f);
/* A blank card issued with the sample holder and four entitlements. */
int fixture_issued(struct card_fixture *f, uint8_t suite);
/* Issue the card of an open fixture (again, after a cut). */
int fixture_issue(struct card_fixture *f, uint8_t suite);
void fixture_free(struct card_fixture *f);
/* Raw APDU exchange; returns the SW, response data in r (cap 258). */
uint16_t fixture_raw(struct card_fixture *f, const uint8_t *apdu, size_t n,
                     uint8_t *r, size_t *rlen);
/* Open a session as `role` (terminal id 0x1000 + role, time FIX_NOW). */
ocp_status fixture_session(struct card_fixture *f, uint8_t role,
                           ocp_session **s);
ocp_status fixture_session_at(struct card_fixture *f, uint8_t role,
                              uint32_t terminal, uint32_t datetime,
                              ocp_last_tx *last, ocp_session **s);
extern const ocp_holder fixture_holder;

#endif
