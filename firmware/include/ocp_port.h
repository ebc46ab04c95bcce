/*
 * The card's ports: non-volatile memory, randomness and the block cipher.
 *
 * Each function has a fixed name and exactly one implementation per target,
 * chosen at link time (port/host, port/test, port/cortexm).  The applet calls
 * them directly: no function pointers, so static stack analysis follows every
 * call.  The port owns the hardware state (the NVM image, counters); the
 * applet owns none.
 */
#ifndef OCP_PORT_H
#define OCP_PORT_H

#include <stddef.h>
#include <stdint.h>

#define OCP_NVM_PAGE_SIZE  64u
#define OCP_NVM_PAGES      128u
#define OCP_NVM_SIZE       (OCP_NVM_PAGE_SIZE * OCP_NVM_PAGES)

/* Block ciphers the port provides (both 128-bit block, 128-bit key). */
#define OCP_CIPHER_AES128 1u
#define OCP_CIPHER_SM4    2u

/**
 * Read bytes of NVM.
 * @param[in]  offset  first byte, offset + len <= OCP_NVM_SIZE
 * @param[out] dst     receives len bytes
 * @return 0, or -1 when the memory cannot be read.
 */
int port_nvm_read(uint32_t offset, uint8_t *dst, uint32_t len);

/**
 * Program one whole page.  A power cut during the call may leave any mix of
 * old and new bytes in that page and no other.
 * @return 0, or -1 when the write failed (or power was cut: the test port
 *         then refuses every later write until the next power-up).
 */
int port_nvm_write_page(uint32_t page, const uint8_t src[OCP_NVM_PAGE_SIZE]);

/**
 * Fill dst with bytes from a hardware generator.
 * @return the number of bytes written: len, or 0 on a chip without one
 *         (the DRBG then relies on its persisted state alone).
 */
size_t port_entropy(uint8_t *dst, size_t len);

/** Encrypt or decrypt one 16-byte block with a 16-byte key. */
void port_block_encrypt(uint8_t cipher, const uint8_t key[16],
                        const uint8_t in[16], uint8_t out[16]);
void port_block_decrypt(uint8_t cipher, const uint8_t key[16],
                        const uint8_t in[16], uint8_t out[16]);

#endif
