/* The back office's certificate computation; see cert_check.h. */
#include "cert_check.h"

#include <string.h>

#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"

int cert_expected(ocp_keystore *ks, uint8_t suite, const uint8_t card_id[8],
                  const struct cert_fields *f, uint8_t out[8])
{
    uint8_t key[16], m[40], tag[16];
    ocp_writer w;
    if (ks->ops->card_key(ks, suite, card_id, OCP_KEY_TXMAC, 1, key) !=
        OCP_OK)
        return -1;
    ocp_writer_init(&w, m, sizeof m);
    ocp_put_bytes(&w, (const uint8_t *)"TXC1", 4);
    ocp_put_bytes(&w, card_id, 8);
    ocp_put_u32(&w, f->counter);
    ocp_put_u16(&w, f->service);
    ocp_put_u8(&w, f->domain);
    ocp_put_u32(&w, f->amount);
    ocp_put_u32(&w, f->remaining);
    ocp_put_u32(&w, f->terminal);
    ocp_put_u32(&w, f->seq);
    ocp_put_u32(&w, f->datetime);
    ocp_put_u8(&w, f->flags);
    ocp_cmac(ocp_suite_cipher(suite), key, m, ocp_writer_len(&w, m), tag);
    memcpy(out, tag, 8);
    ocp_wipe(key, sizeof key);
    ocp_wipe(tag, sizeof tag);
    return w.short_by == 0 ? 0 : -1;
}
