/* Internals of libocp shared between its source files. */
#ifndef OCP_HOSTLIB_INTERNAL_H
#define OCP_HOSTLIB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/card.h"
#include "ocp/keystore.h"
#include "ocp_sm.h"

struct ocp_session {
    ocp_transport *t;
    ocp_sm_session sm;
    uint8_t role;
    uint8_t suite;
    uint8_t card_id[8];
    int broken; /* an SM failure ended the session */
};

/* Sends a fully built APDU and splits the response; see ocp_transmit. */
ocp_status hl_exchange(ocp_transport *t, const uint8_t *capdu, size_t clen,
                       uint8_t *rdata, size_t *rlen, uint16_t *sw);

/* The holder record as PUT DATA carries it (tags 01..05); 0 if it does
 * not fit or a field is too long. */
size_t hl_holder_tlv(const ocp_holder *h, uint8_t *out, size_t cap);

/* Loads the store's current key of `slot` into the card (issuer session). */
ocp_status hl_put_key(ocp_session *s, ocp_keystore *ks, uint8_t suite,
                      uint8_t slot);

/* ocp_open_role after its SELECT was already done (its answer in info):
 * a tap opens its session without a second SELECT. */
ocp_status hl_open_selected(ocp_transport *t, ocp_keystore *ks, uint8_t role,
                            uint32_t terminal_id, uint32_t datetime,
                            const ocp_select_info *info, ocp_last_tx *last,
                            ocp_session **out);

#endif
