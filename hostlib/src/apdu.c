/*
 * Plain APDU exchange: the transport moves bytes; this layer splits off
 * the status word and follows the two ISO 7816 length dialogues, once each,
 * so a hostile card cannot keep the terminal in a loop.
 */
#include <string.h>

#include "hostlib_internal.h"
#include "ocp_wire.h"

ocp_status hl_exchange(ocp_transport *t, const uint8_t *capdu, size_t clen,
                       uint8_t *rdata, size_t *rlen, uint16_t *sw)
{
    uint8_t r[OCP_RAPDU_MAX];
    size_t n = sizeof r;
    ocp_status st;

    if (t == NULL || t->ops == NULL || capdu == NULL || clen < 4 ||
        clen > 261 || rlen == NULL || sw == NULL)
        return OCP_E_ARGS;
    st = t->ops->transmit(t, capdu, clen, r, &n);
    if (st != OCP_OK)
        return st;
    if (n < 2 || n > sizeof r)
        return OCP_E_BAD_RESPONSE;
    *sw = (uint16_t)((r[n - 2] << 8) | r[n - 1]);
    n -= 2;
    if (n > *rlen || (rdata == NULL && n > 0))
        return OCP_E_BAD_RESPONSE;
    if (n)
        memcpy(rdata, r, n);
    *rlen = n;
    return OCP_OK;
}

/* Case 2 (header and Le) or case 4 (header, Lc, data, Le): the last byte
 * is Le.  A case 3 command has no Le to correct: its last byte is data. */
static int has_le(const uint8_t *capdu, size_t clen)
{
    return clen == 5 || (clen > 6 && capdu[4] != 0 &&
                         clen == 6u + (size_t)capdu[4]);
}

ocp_status ocp_transmit(ocp_transport *t, const uint8_t *capdu, size_t clen,
                        uint8_t *rdata, size_t *rlen, uint16_t *sw)
{
    uint8_t again[261];
    size_t cap;
    ocp_status st;

    if (rlen == NULL || clen > sizeof again)
        return OCP_E_ARGS;
    cap = *rlen;
    st = hl_exchange(t, capdu, clen, rdata, rlen, sw);
    if (st != OCP_OK)
        return st;
    if ((*sw & 0xFF00u) == 0x6C00u && has_le(capdu, clen)) {
        /* Resend once with the Le the card asked for. */
        memcpy(again, capdu, clen);
        again[clen - 1] = (uint8_t)*sw;
        *rlen = cap;
        st = hl_exchange(t, again, clen, rdata, rlen, sw);
        if (st == OCP_OK && (*sw & 0xFF00u) == 0x6C00u)
            return OCP_E_BAD_RESPONSE;
    } else if ((*sw & 0xFF00u) == 0x6100u) {
        /* One GET RESPONSE; more data than that is more than any of our
         * commands answers. */
        uint8_t get[5] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)*sw};
        size_t have = *rlen, more = cap - have;
        st = hl_exchange(t, get, sizeof get, rdata ? rdata + have : NULL,
                         &more, sw);
        if (st != OCP_OK)
            return st;
        if ((*sw & 0xFF00u) == 0x6100u)
            return OCP_E_BAD_RESPONSE;
        *rlen = have + more;
    }
    return st;
}
