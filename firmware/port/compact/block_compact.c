/*
 * The block cipher port (ocp_port.h) on the compact constant-time ciphers:
 * the card's crypto on a chip without a crypto engine.
 *
 * The cipher is public (it is the card's suite), so choosing by it is an
 * ordinary branch.  As on the host port, anything other than SM4 is
 * AES-128: the applet only ever passes the two values ocp_suite_cipher()
 * returns for a suite it has accepted.
 */
#include "ocp_port.h"
#include "port_compact.h"

void port_block_encrypt(uint8_t cipher, const uint8_t key[16],
                        const uint8_t in[16], uint8_t out[16])
{
    if (cipher == OCP_CIPHER_SM4)
        compact_sm4_encrypt(key, in, out);
    else
        compact_aes128_encrypt(key, in, out);
}

void port_block_decrypt(uint8_t cipher, const uint8_t key[16],
                        const uint8_t in[16], uint8_t out[16])
{
    if (cipher == OCP_CIPHER_SM4)
        compact_sm4_decrypt(key, in, out);
    else
        compact_aes128_decrypt(key, in, out);
}
