/*
 * AES-128 (FIPS-197), bitsliced, in constant time.
 *
 * The state lives in bitsliced form for the whole cipher: lane n holds
 * state byte n (row n % 4, column n / 4, the order of the input block),
 * lanes 0..15 of q[0..7].  So ShiftRows is a fixed rotation of each row's
 * lanes, MixColumns a rotation within each column's four lanes plus
 * xtime, which in bitsliced form is a renaming of the eight words with
 * three XORs; none of it looks anything up.
 *
 * The round keys are computed during the call, also bitsliced (lanes 0..15
 * of k[]).  Each round's SubWord rides in lanes 16..19 of the same S-box
 * pass as the state's SubBytes, so a round costs one circuit evaluation.
 * Decryption first runs the key schedule forward to the last round key,
 * then walks it back round by round next to the inverse cipher.
 */
#include <string.h>

#include "port_compact.h"

#define STATE_LANES 0x0000FFFFu

static void load_block(uint32_t q[8], const uint8_t b[16])
{
    unsigned c;
    memset(q, 0, 8 * sizeof q[0]);
    for (c = 0; c < 4; c++) {
        uint32_t w = (uint32_t)b[4 * c] | ((uint32_t)b[4 * c + 1] << 8) |
                     ((uint32_t)b[4 * c + 2] << 16) |
                     ((uint32_t)b[4 * c + 3] << 24);
        compact_to_lanes(q, w, 4 * c);
    }
}

static void store_block(const uint32_t q[8], uint8_t b[16])
{
    unsigned c;
    for (c = 0; c < 4; c++) {
        uint32_t w = compact_from_lanes(q, 4 * c);
        b[4 * c] = (uint8_t)w;
        b[4 * c + 1] = (uint8_t)(w >> 8);
        b[4 * c + 2] = (uint8_t)(w >> 16);
        b[4 * c + 3] = (uint8_t)(w >> 24);
    }
}

/* Row r moves left by r columns: lane 4c + r takes lane 4(c + r) + r,
 * i.e. the row's bits rotate right by 4r within the 16 lanes. */
static uint32_t shift_rows_word(uint32_t w)
{
    return (w & 0x1111u) | (((w >> 4) | (w << 12)) & 0x2222u) |
           (((w >> 8) | (w << 8)) & 0x4444u) |
           (((w >> 12) | (w << 4)) & 0x8888u);
}

static uint32_t inv_shift_rows_word(uint32_t w)
{
    return (w & 0x1111u) | (((w << 4) | (w >> 12)) & 0x2222u) |
           (((w << 8) | (w >> 8)) & 0x4444u) |
           (((w << 12) | (w >> 4)) & 0x8888u);
}

/* Within each column, lane r takes lane r + 1 (mod 4), or r + 2. */
static uint32_t col_rot1(uint32_t w)
{
    return ((w >> 1) & 0x7777u) | ((w << 3) & 0x8888u);
}

static uint32_t col_rot2(uint32_t w)
{
    return ((w >> 2) & 0x3333u) | ((w << 2) & 0xCCCCu);
}

/* Multiplication by x modulo x^8 + x^4 + x^3 + x + 1, on every lane. */
static void xtime(uint32_t a[8])
{
    uint32_t hi = a[7];
    a[7] = a[6];
    a[6] = a[5];
    a[5] = a[4];
    a[4] = a[3] ^ hi;
    a[3] = a[2] ^ hi;
    a[2] = a[1];
    a[1] = a[0] ^ hi;
    a[0] = hi;
}

/* b_r = 2(a_r + a_r+1) + a_r+1 + (a_r+2 + a_r+3), column by column.  t is
 * scratch: the caller lends its S-box array, idle by then, so the stack
 * holds one such array less. */
static void mix_columns(uint32_t s[8], uint32_t t[8])
{
    unsigned i;
    for (i = 0; i < 8; i++)
        t[i] = s[i] ^ col_rot1(s[i]);
    for (i = 0; i < 8; i++)
        s[i] = col_rot1(s[i]) ^ col_rot2(t[i]);
    xtime(t);
    for (i = 0; i < 8; i++)
        s[i] ^= t[i];
}

/* InvMixColumns = MixColumns after adding 4(a_r + a_r+2) to each a_r
 * (the factorisation of the inverse matrix used in the Rijndael book). */
static void inv_mix_columns(uint32_t s[8], uint32_t u[8])
{
    unsigned i;
    for (i = 0; i < 8; i++)
        u[i] = s[i] ^ col_rot2(s[i]);
    xtime(u);
    xtime(u);
    for (i = 0; i < 8; i++)
        s[i] ^= u[i];
    mix_columns(s, u);
}

/* RotWord of the key's last column into lanes 16..19: lane 16 + r takes
 * row r + 1 of column 3 (lane 13 + r). */
static uint32_t rot_word_lanes(uint32_t k)
{
    uint32_t t = (k >> 12) & 0xFu;
    return ((t >> 1) | ((t & 1u) << 3)) << 16;
}

/* The substituted word (lanes 16..19 of q) plus the round constant, as a
 * column in lanes 0..3. */
static uint32_t sub_word(const uint32_t q[8], unsigned i, uint32_t rcon)
{
    return ((q[i] >> 16) & 0xFu) ^ ((rcon >> i) & 1u);
}

/* rk_r from rk_r-1: column c becomes the XOR of columns 0..c and the new
 * word; q carries SubWord(RotWord(column 3)) in lanes 16..19. */
static void key_forward(uint32_t k[8], const uint32_t q[8], uint32_t rcon)
{
    unsigned i;
    for (i = 0; i < 8; i++) {
        uint32_t w = k[i];
        w ^= w << 4;
        w ^= w << 8;
        uint32_t t = sub_word(q, i, rcon);
        k[i] = (w ^ t ^ (t << 4) ^ (t << 8) ^ (t << 12)) & STATE_LANES;
    }
}

static uint32_t next_rcon(uint32_t rcon)
{
    return ((rcon << 1) ^ (0x11Bu & (0u - (rcon >> 7)))) & 0xFFu;
}

static uint32_t prev_rcon(uint32_t rcon)
{
    return ((rcon ^ (0x11Bu & (0u - (rcon & 1u)))) >> 1) & 0xFFu;
}

void compact_aes128_encrypt(const uint8_t key[16], const uint8_t in[16],
                            uint8_t out[16])
{
    uint32_t s[8], k[8], q[8];
    uint32_t rcon = 1;
    unsigned r, i;

    load_block(s, in);
    load_block(k, key);
    for (i = 0; i < 8; i++)
        s[i] ^= k[i];
    for (r = 1; r <= 10; r++) {
        for (i = 0; i < 8; i++)
            q[i] = s[i] | rot_word_lanes(k[i]);
        compact_sbox(q);
        key_forward(k, q, rcon);
        rcon = next_rcon(rcon);
        for (i = 0; i < 8; i++)
            s[i] = shift_rows_word(q[i] & STATE_LANES);
        if (r != 10)
            mix_columns(s, q);
        for (i = 0; i < 8; i++)
            s[i] ^= k[i];
    }
    store_block(s, out);
    compact_wipe(s, 8);
    compact_wipe(k, 8);
    compact_wipe(q, 8);
}

void compact_aes128_decrypt(const uint8_t key[16], const uint8_t in[16],
                            uint8_t out[16])
{
    uint32_t s[8], k[8], q[8];
    uint32_t rcon = 1;
    unsigned r, i;

    load_block(k, key);
    for (r = 1; r <= 10; r++) {
        for (i = 0; i < 8; i++)
            q[i] = rot_word_lanes(k[i]);
        compact_sbox(q);
        key_forward(k, q, rcon);
        if (r != 10)
            rcon = next_rcon(rcon);
    }
    load_block(s, in);
    for (i = 0; i < 8; i++)
        s[i] ^= k[i];
    /* Round r undoes encryption round r and adds rk_r-1; rcon is rcon_r. */
    for (r = 10; r >= 1; r--) {
        for (i = 0; i < 8; i++) {
            /* rk_r-1's columns 1..3 are the XOR of neighbouring columns of
             * rk_r; its column 0 still lacks SubWord(RotWord(column 3)). */
            k[i] = (k[i] ^ (k[i] << 4)) & STATE_LANES;
            q[i] = inv_shift_rows_word(s[i]) | rot_word_lanes(k[i]);
        }
        /* s is idle until the round's result goes back into it. */
        compact_sbox_aes_inv(q, STATE_LANES, s);
        for (i = 0; i < 8; i++) {
            k[i] ^= sub_word(q, i, rcon);
            s[i] = (q[i] & STATE_LANES) ^ k[i];
        }
        rcon = prev_rcon(rcon);
        if (r != 1)
            inv_mix_columns(s, q);
    }
    store_block(s, out);
    compact_wipe(s, 8);
    compact_wipe(k, 8);
    compact_wipe(q, 8);
}
