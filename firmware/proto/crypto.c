/* CMAC, CBC, AN10922, SP 800-108 KDF and CRC-32; see ocp_crypto.h. */
#include "ocp_crypto.h"

#include <string.h>

#include "ocp_bytes.h"
#include "ocp_port.h"
#include "ocp_wire.h"

uint8_t ocp_suite_cipher(uint8_t suite)
{
    if (suite == OCP_SUITE_AES)
        return OCP_CIPHER_AES128;
    if (suite == OCP_SUITE_SM)
        return OCP_CIPHER_SM4;
    return 0;
}

static void xor_block(uint8_t *dst, const uint8_t *src)
{
    unsigned i;
    for (i = 0; i < 16; i++)
        dst[i] ^= src[i];
}

void ocp_gf_double(uint8_t b[16])
{
    uint8_t carry = (uint8_t)(b[0] >> 7);
    unsigned i;
    for (i = 0; i < 15; i++)
        b[i] = (uint8_t)((b[i] << 1) | (b[i + 1] >> 7));
    b[15] = (uint8_t)(((unsigned)b[15] << 1) ^ (0x87u & (0u - carry)));
}

void ocp_cmac_init(ocp_cmac_ctx *c, uint8_t cipher, const uint8_t key[16])
{
    c->cipher = cipher;
    memcpy(c->key, key, 16);
    memset(c->state, 0, 16);
    c->buf_len = 0;
}

void ocp_cmac_update(ocp_cmac_ctx *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t take;
        if (c->buf_len == 16) {
            /* More data follows, so the held block is not the last one. */
            xor_block(c->state, c->buf);
            port_block_encrypt(c->cipher, c->key, c->state, c->state);
            c->buf_len = 0;
        }
        take = 16u - c->buf_len;
        if (take > len)
            take = len;
        memcpy(c->buf + c->buf_len, data, take);
        c->buf_len = (uint8_t)(c->buf_len + take);
        data += take;
        len -= take;
    }
}

void ocp_cmac_final(ocp_cmac_ctx *c, uint8_t tag[16])
{
    uint8_t sub[16] = {0};
    port_block_encrypt(c->cipher, c->key, sub, sub);
    ocp_gf_double(sub); /* K1 */
    if (c->buf_len < 16) {
        ocp_gf_double(sub); /* K2 */
        c->buf[c->buf_len] = 0x80;
        memset(c->buf + c->buf_len + 1, 0, 15u - c->buf_len);
    }
    xor_block(c->buf, sub);
    xor_block(c->state, c->buf);
    port_block_encrypt(c->cipher, c->key, c->state, tag);
    ocp_wipe(sub, sizeof sub);
    ocp_wipe(c, sizeof *c);
}

void ocp_cmac(uint8_t cipher, const uint8_t key[16], const uint8_t *data,
              size_t len, uint8_t tag[16])
{
    ocp_cmac_ctx c;
    ocp_cmac_init(&c, cipher, key);
    ocp_cmac_update(&c, data, len);
    ocp_cmac_final(&c, tag);
}

size_t ocp_padded_len(size_t len)
{
    return (len / 16u + 1u) * 16u;
}

size_t ocp_cbc_encrypt_pad(uint8_t cipher, const uint8_t key[16],
                           const uint8_t iv[16], const uint8_t *in,
                           size_t len, uint8_t *out)
{
    size_t total = ocp_padded_len(len);
    uint8_t chain[16];
    size_t off;

    ocp_move(out, in, len); /* in and out may be one buffer */
    out[len] = 0x80;
    memset(out + len + 1, 0, total - len - 1);
    memcpy(chain, iv, 16);
    for (off = 0; off < total; off += 16) {
        xor_block(out + off, chain);
        port_block_encrypt(cipher, key, out + off, out + off);
        memcpy(chain, out + off, 16);
    }
    return total;
}

long ocp_cbc_decrypt_unpad(uint8_t cipher, const uint8_t key[16],
                           const uint8_t iv[16], uint8_t *buf, size_t len)
{
    uint8_t chain[16], next[16];
    size_t off, n;

    if (len == 0 || len % 16u != 0)
        return -1;
    memcpy(chain, iv, 16);
    for (off = 0; off < len; off += 16) {
        memcpy(next, buf + off, 16);
        port_block_decrypt(cipher, key, buf + off, buf + off);
        xor_block(buf + off, chain);
        memcpy(chain, next, 16);
    }
    /* Padding is checked after the MAC, so its timing reveals nothing new. */
    n = len;
    while (n > len - 16 && buf[n - 1] == 0x00)
        n--;
    if (n == len - 16 || buf[n - 1] != 0x80)
        return -1;
    return (long)(n - 1);
}

void ocp_an10922(uint8_t cipher, const uint8_t master[16], const uint8_t *m,
                 size_t m_len, uint8_t out[16])
{
    uint8_t d[32];
    uint8_t sub[16] = {0};
    uint8_t state[16] = {0};

    /* AN10922 always MACs two blocks: 0x01 || M, padded with 80 00.. and
     * the K2 subkey unless 0x01 || M fills exactly 32 bytes (K1). */
    memset(d, 0, sizeof d);
    d[0] = 0x01;
    memcpy(d + 1, m, m_len);
    port_block_encrypt(cipher, master, sub, sub);
    ocp_gf_double(sub);
    if (m_len < 31) {
        d[1 + m_len] = 0x80;
        ocp_gf_double(sub);
    }
    xor_block(d + 16, sub);
    xor_block(state, d);
    port_block_encrypt(cipher, master, state, state);
    xor_block(state, d + 16);
    port_block_encrypt(cipher, master, state, out);
    ocp_wipe(d, sizeof d);
    ocp_wipe(sub, sizeof sub);
    ocp_wipe(state, sizeof state);
}

void ocp_div_input(const uint8_t card_id[8], uint8_t slot, uint8_t version,
                   uint8_t out[OCP_DIV_INPUT_LEN])
{
    memcpy(out, card_id, 8);
    out[8] = slot;
    out[9] = version;
    memcpy(out + 10, "OCP-KEY1", 8);
}

void ocp_kdf(uint8_t cipher, const uint8_t key[16], uint8_t constant,
             const uint8_t *context, size_t context_len, uint8_t *out,
             size_t out_len)
{
    uint8_t head[16];
    uint8_t tag[16];
    ocp_cmac_ctx c;
    uint16_t bits = (uint16_t)(out_len * 8u);

    memset(head, 0, 11);
    head[11] = constant;
    head[12] = 0x00;
    ocp_put_be16(head + 13, bits);
    head[15] = 0x01; /* i: one block is enough for L <= 128 */
    ocp_cmac_init(&c, cipher, key);
    ocp_cmac_update(&c, head, sizeof head);
    ocp_cmac_update(&c, context, context_len);
    ocp_cmac_final(&c, tag);
    memcpy(out, tag, out_len);
    ocp_wipe(tag, sizeof tag);
}

uint32_t ocp_crc32(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    unsigned k;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void ocp_key_check_value(uint8_t cipher, const uint8_t key[16],
                         uint8_t kcv[3])
{
    uint8_t block[16];
    memset(block, 0x01, sizeof block);
    port_block_encrypt(cipher, key, block, block);
    memcpy(kcv, block, 3);
}
