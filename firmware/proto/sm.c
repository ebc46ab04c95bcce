/* Secure messaging; see ocp_sm.h and docs/PROTOCOL.md. */
#include "ocp_sm.h"

#include <string.h>

#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"

void ocp_sm_context(const uint8_t rh[8], const uint8_t rc[8], uint8_t role,
                    uint32_t terminal_id, uint32_t datetime,
                    uint8_t out[OCP_SM_CONTEXT_LEN])
{
    memcpy(out, rh, 8);
    memcpy(out + 8, rc, 8);
    out[16] = role;
    ocp_put_be32(out + 17, terminal_id);
    ocp_put_be32(out + 21, datetime);
}

void ocp_sm_begin(ocp_sm_session *s, uint8_t cipher, const uint8_t key[16],
                  const uint8_t context[OCP_SM_CONTEXT_LEN],
                  uint8_t host_cryptogram[8])
{
    s->cipher = cipher;
    ocp_kdf(cipher, key, OCP_KDF_S_ENC, context, OCP_SM_CONTEXT_LEN,
            s->s_enc, 16);
    ocp_kdf(cipher, key, OCP_KDF_S_MAC, context, OCP_SM_CONTEXT_LEN,
            s->s_mac, 16);
    ocp_kdf(cipher, key, OCP_KDF_S_RMAC, context, OCP_SM_CONTEXT_LEN,
            s->s_rmac, 16);
    ocp_kdf(cipher, s->s_mac, OCP_KDF_HOST_CRYPTOGRAM, context,
            OCP_SM_CONTEXT_LEN, host_cryptogram, 8);
    memset(s->chain, 0, 16);
    s->counter = 0;
}

void ocp_sm_end(ocp_sm_session *s)
{
    ocp_wipe(s, sizeof *s);
}

/* IV of the command (0x00..) or response (0x80..) with this counter. */
static void sm_iv(const ocp_sm_session *s, uint8_t first, uint8_t iv[16])
{
    memset(iv, 0, 16);
    iv[0] = first;
    ocp_put_be32(iv + 12, s->counter);
    port_block_encrypt(s->cipher, s->s_enc, iv, iv);
}

static void command_mac(ocp_sm_session *s, const uint8_t hdr[4], uint8_t lc,
                        const uint8_t *enc, size_t enc_len, uint8_t mac[16])
{
    ocp_cmac_ctx c;
    uint8_t h[5];
    memcpy(h, hdr, 4);
    h[0] = (uint8_t)(h[0] | OCP_CLA_SM_BIT);
    h[4] = lc;
    ocp_cmac_init(&c, s->cipher, s->s_mac);
    ocp_cmac_update(&c, s->chain, 16);
    ocp_cmac_update(&c, h, 5);
    ocp_cmac_update(&c, enc, enc_len);
    ocp_cmac_final(&c, mac);
}

static void response_mac(ocp_sm_session *s, const uint8_t *enc,
                         size_t enc_len, uint16_t sw, uint8_t mac[16])
{
    ocp_cmac_ctx c;
    uint8_t swb[2];
    ocp_put_be16(swb, sw);
    ocp_cmac_init(&c, s->cipher, s->s_rmac);
    ocp_cmac_update(&c, s->chain, 16);
    ocp_cmac_update(&c, enc, enc_len);
    ocp_cmac_update(&c, swb, 2);
    ocp_cmac_final(&c, mac);
}

size_t ocp_sm_wrap_command(ocp_sm_session *s, const uint8_t hdr[4],
                           const uint8_t *data, size_t data_len,
                           uint8_t *apdu, size_t apdu_cap)
{
    uint8_t iv[16], mac[16];
    size_t enc_len = data_len ? ocp_padded_len(data_len) : 0;
    size_t total = 5 + enc_len + OCP_MAC_LEN + 1;

    if (enc_len + OCP_MAC_LEN > 255 || total > apdu_cap)
        return 0;
    s->counter++;
    memcpy(apdu, hdr, 4);
    apdu[0] = (uint8_t)(apdu[0] | OCP_CLA_SM_BIT);
    apdu[4] = (uint8_t)(enc_len + OCP_MAC_LEN);
    if (data_len) {
        sm_iv(s, 0x00, iv);
        ocp_cbc_encrypt_pad(s->cipher, s->s_enc, iv, data, data_len,
                            apdu + 5);
    }
    command_mac(s, hdr, apdu[4], apdu + 5, enc_len, mac);
    memcpy(s->chain, mac, 16);
    memcpy(apdu + 5 + enc_len, mac, OCP_MAC_LEN);
    apdu[total - 1] = 0x00;
    return total;
}

int ocp_sm_unwrap_command(ocp_sm_session *s, const uint8_t hdr[4],
                          uint8_t *body, size_t body_len, size_t *plain_len)
{
    uint8_t iv[16], mac[16];
    size_t enc_len;
    long n;

    if (body_len < OCP_MAC_LEN || body_len > 255)
        return -1;
    enc_len = body_len - OCP_MAC_LEN;
    if (enc_len % 16u != 0)
        return -1;
    s->counter++;
    command_mac(s, hdr, (uint8_t)body_len, body, enc_len, mac);
    if (ocp_ct_compare(mac, body + enc_len, OCP_MAC_LEN) != 0)
        return -1;
    memcpy(s->chain, mac, 16);
    if (enc_len == 0) {
        *plain_len = 0;
        return 0;
    }
    sm_iv(s, 0x00, iv);
    n = ocp_cbc_decrypt_unpad(s->cipher, s->s_enc, iv, body, enc_len);
    if (n < 0)
        return -1;
    *plain_len = (size_t)n;
    return 0;
}

size_t ocp_sm_wrap_response(ocp_sm_session *s, uint8_t *buf, size_t data_len,
                            uint16_t sw)
{
    uint8_t iv[16], mac[16];
    size_t enc_len = 0;
    if (data_len) {
        sm_iv(s, 0x80, iv);
        enc_len = ocp_cbc_encrypt_pad(s->cipher, s->s_enc, iv, buf, data_len,
                                      buf);
    }
    response_mac(s, buf, enc_len, sw, mac);
    memcpy(s->chain, mac, 16);
    memcpy(buf + enc_len, mac, OCP_MAC_LEN);
    return enc_len + OCP_MAC_LEN;
}

int ocp_sm_unwrap_response(ocp_sm_session *s, uint8_t *body, size_t body_len,
                           uint16_t sw, size_t *plain_len)
{
    uint8_t iv[16], mac[16];
    size_t enc_len;
    long n;

    if (body_len < OCP_MAC_LEN)
        return -1;
    enc_len = body_len - OCP_MAC_LEN;
    if (enc_len % 16u != 0)
        return -1;
    response_mac(s, body, enc_len, sw, mac);
    if (ocp_ct_compare(mac, body + enc_len, OCP_MAC_LEN) != 0)
        return -1;
    memcpy(s->chain, mac, 16);
    if (enc_len == 0) {
        *plain_len = 0;
        return 0;
    }
    sm_iv(s, 0x80, iv);
    n = ocp_cbc_decrypt_unpad(s->cipher, s->s_enc, iv, body, enc_len);
    if (n < 0)
        return -1;
    *plain_len = (size_t)n;
    return 0;
}
