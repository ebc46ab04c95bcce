/*
 * The compact block cipher port: AES-128 and SM4 in constant time, for the
 * card's chip (Cortex-M0+), and on the host for the tests.  docs/FIRMWARE.md,
 * "Crypto on the chip", explains the design.
 *
 * Internal to port/compact; the tests include it to check the S-boxes
 * exhaustively.  Everything here is straight-line over its secret inputs: no
 * branch and no memory index depends on a key or data byte.
 *
 * Bitsliced form: an array q[8] of 32-bit words holds up to 32 bytes, the
 * "lanes"; bit n of q[i] is bit i of lane n's byte.  One pass of the S-box
 * circuit substitutes all 32 lanes at once.
 */
#ifndef PORT_COMPACT_H
#define PORT_COMPACT_H

#include <stdint.h>

/* The AES S-box (FIPS-197 5.1.1) on every lane of q, as the depth-16
 * Boyar-Peralta circuit: XOR, AND and NOT only. */
void compact_sbox(uint32_t q[8]);

/*
 * The inverse AES S-box on the lanes selected by `lanes` (bit n selects
 * lane n), the forward one on the others: AES decryption substitutes its
 * state and its key schedule's word in one pass.  The caller lends eight
 * words of scratch, which the call overwrites: an array of its own that is
 * idle at that point, so the deepest stack path holds one array less.
 */
void compact_sbox_aes_inv(uint32_t q[8], uint32_t lanes,
                          uint32_t scratch[8]);

/* The SM4 S-box (GB/T 32907-2016, 6.2) on every lane; scratch as above. */
void compact_sbox_sm4(uint32_t q[8], uint32_t scratch[8]);

/* Moves the four bytes of w (byte j = bits 8j..8j+7) into lanes
 * lane..lane+3 of q, which must be clear there; and back. */
void compact_to_lanes(uint32_t q[8], uint32_t w, unsigned lane);
uint32_t compact_from_lanes(const uint32_t q[8], unsigned lane);

void compact_aes128_encrypt(const uint8_t key[16], const uint8_t in[16],
                            uint8_t out[16]);
void compact_aes128_decrypt(const uint8_t key[16], const uint8_t in[16],
                            uint8_t out[16]);
void compact_sm4_encrypt(const uint8_t key[16], const uint8_t in[16],
                         uint8_t out[16]);
void compact_sm4_decrypt(const uint8_t key[16], const uint8_t in[16],
                         uint8_t out[16]);

/* Clears n words so the compiler cannot drop the stores (key material left
 * on the stack after a call). */
void compact_wipe(uint32_t *w, unsigned n);

#endif
