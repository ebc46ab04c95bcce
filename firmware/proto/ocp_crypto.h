/*
 * Symmetric constructions over the port's block cipher: CMAC (NIST SP
 * 800-38B), CBC with ISO/IEC 9797-1 padding method 2, AN10922 key
 * diversification, the NIST SP 800-108 counter-mode KDF with CMAC as PRF in
 * the GlobalPlatform SCP03 input layout, and CRC-32 for NVM page checks.
 *
 * `cipher` is OCP_CIPHER_AES128 or OCP_CIPHER_SM4 (ocp_port.h); the suite
 * byte of the card maps to it through ocp_suite_cipher().
 */
#ifndef OCP_CRYPTO_H
#define OCP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Returns the port cipher for a suite byte, 0 for an unknown suite. */
uint8_t ocp_suite_cipher(uint8_t suite);

/** Incremental CMAC, so MAC inputs need not be copied together. */
typedef struct {
    uint8_t cipher;
    uint8_t key[16];
    uint8_t state[16]; /* CBC-MAC of the full blocks absorbed */
    uint8_t buf[16];   /* pending bytes: the last block is held back */
    uint8_t buf_len;
} ocp_cmac_ctx;

/* Doubling in GF(2^128), as CMAC's subkey generation (SP 800-38B); no
 * branch or index depends on the bits. */
void ocp_gf_double(uint8_t b[16]);

void ocp_cmac_init(ocp_cmac_ctx *c, uint8_t cipher, const uint8_t key[16]);
void ocp_cmac_update(ocp_cmac_ctx *c, const uint8_t *data, size_t len);
/* Writes the full 16-byte tag and wipes the context. */
void ocp_cmac_final(ocp_cmac_ctx *c, uint8_t tag[16]);
void ocp_cmac(uint8_t cipher, const uint8_t key[16], const uint8_t *data,
              size_t len, uint8_t tag[16]);

/**
 * CBC with ISO 9797-1 method 2 padding (80 00..), always at least one byte.
 * Encrypt: in and out may be the same buffer; out needs
 * ocp_padded_len(len) bytes.  Returns the ciphertext length.
 */
size_t ocp_padded_len(size_t len);
size_t ocp_cbc_encrypt_pad(uint8_t cipher, const uint8_t key[16],
                           const uint8_t iv[16], const uint8_t *in,
                           size_t len, uint8_t *out);
/**
 * Decrypt in place and strip the padding.
 * @return the plaintext length, or -1 when len is not a positive multiple of
 *         16 or the padding is malformed.
 */
long ocp_cbc_decrypt_unpad(uint8_t cipher, const uint8_t key[16],
                           const uint8_t iv[16], uint8_t *buf, size_t len);

/**
 * AN10922 AES-128 diversification: CMAC over 0x01 || m padded to 32 bytes.
 * @param[in] m     diversification input, 1 to 31 bytes
 */
void ocp_an10922(uint8_t cipher, const uint8_t master[16], const uint8_t *m,
                 size_t m_len, uint8_t out[16]);

/**
 * The project's diversification input for card key `slot` at `version`:
 * card_id(8) || slot || version || "OCP-KEY1".  Writes 18 bytes.  With
 * 01 || m between 17 and 32 bytes, AN10922 equals CMAC(K, 01 || m), so a
 * PKCS#11 token computes the same key with its own AES-CMAC mechanism.
 */
#define OCP_DIV_INPUT_LEN 18u
void ocp_div_input(const uint8_t card_id[8], uint8_t slot, uint8_t version,
                   uint8_t out[OCP_DIV_INPUT_LEN]);

/**
 * SP 800-108 counter-mode KDF, SCP03 layout:
 * label = 11 x 00 || constant, 00, L (16-bit bits), i (8-bit), context.
 * @param[in] out_len 8 or 16 bytes.
 */
void ocp_kdf(uint8_t cipher, const uint8_t key[16], uint8_t constant,
             const uint8_t *context, size_t context_len, uint8_t *out,
             size_t out_len);

/* SCP03 derivation constants. */
#define OCP_KDF_HOST_CRYPTOGRAM 0x01u
#define OCP_KDF_S_ENC           0x04u
#define OCP_KDF_S_MAC           0x06u
#define OCP_KDF_S_RMAC          0x07u

/* CRC-32 (IEEE 802.3, reflected, as zlib). */
uint32_t ocp_crc32(const uint8_t *data, size_t len);

/* SCP03 key check value: first 3 bytes of E(key, 16 x 01). */
void ocp_key_check_value(uint8_t cipher, const uint8_t key[16],
                         uint8_t kcv[3]);

#endif
