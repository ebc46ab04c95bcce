/*
 * The one non-linear circuit of the compact port, and the affine maps that
 * make the inverse AES S-box and the SM4 S-box out of it.
 *
 * The circuit is the depth-16 forward AES S-box of Boyar and Peralta ("A
 * depth-16 circuit for the AES S-box", IACR ePrint 2011/332, figures 5, 7
 * and 8): 27 XORs of top linear layer, a 63-gate shared middle that inverts
 * in a tower-field basis (34 ANDs), and a 38-gate bottom linear layer that
 * includes the AES affine map.  Gate names follow the paper, so the code can
 * be checked against it line by line.  U0 is the most significant input
 * bit, S0 the most significant output bit.
 *
 * Being bitsliced, each gate is one 32-bit operation on 32 lanes at once,
 * and nothing is looked up: the time and the addresses touched are the same
 * for every input.
 *
 * The affine maps around it come from sbox_maps.py, which derives them and
 * checks every S-box on all 256 inputs.
 */
#include "port_compact.h"

void compact_sbox(uint32_t q[8])
{
    uint32_t U0 = q[7], U1 = q[6], U2 = q[5], U3 = q[4];
    uint32_t U4 = q[3], U5 = q[2], U6 = q[1], U7 = q[0];
    uint32_t T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14;
    uint32_t T15, T16, T17, T18, T19, T20, T21, T22, T23, T24, T25, T26, T27;
    uint32_t M1, M2, M3, M4, M5, M6, M7, M8, M9, M10, M11, M12, M13, M14;
    uint32_t M15, M16, M17, M18, M19, M20, M21, M22, M23, M24, M25, M26;
    uint32_t M27, M28, M29, M30, M31, M32, M33, M34, M35, M36, M37, M38;
    uint32_t M39, M40, M41, M42, M43, M44, M45, M46, M47, M48, M49, M50;
    uint32_t M51, M52, M53, M54, M55, M56, M57, M58, M59, M60, M61, M62, M63;
    uint32_t L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14;
    uint32_t L15, L16, L17, L18, L19, L20, L21, L22, L23, L24, L25, L26, L27;
    uint32_t L28, L29;

    /* Top linear layer (figure 5). */
    T1 = U0 ^ U3;
    T2 = U0 ^ U5;
    T3 = U0 ^ U6;
    T4 = U3 ^ U5;
    T5 = U4 ^ U6;
    T6 = T1 ^ T5;
    T7 = U1 ^ U2;
    T8 = U7 ^ T6;
    T9 = U7 ^ T7;
    T10 = T6 ^ T7;
    T11 = U1 ^ U5;
    T12 = U2 ^ U5;
    T13 = T3 ^ T4;
    T14 = T6 ^ T11;
    T15 = T5 ^ T11;
    T16 = T5 ^ T12;
    T17 = T9 ^ T16;
    T18 = U3 ^ U7;
    T19 = T7 ^ T18;
    T20 = T1 ^ T19;
    T21 = U6 ^ U7;
    T22 = T7 ^ T21;
    T23 = T2 ^ T22;
    T24 = T2 ^ T10;
    T25 = T20 ^ T17;
    T26 = T3 ^ T16;
    T27 = T1 ^ T12;

    /* Shared middle: the inversion (figure 7, D = U7 going forward). */
    M1 = T13 & T6;
    M2 = T23 & T8;
    M3 = T14 ^ M1;
    M4 = T19 & U7;
    M5 = M4 ^ M1;
    M6 = T3 & T16;
    M7 = T22 & T9;
    M8 = T26 ^ M6;
    M9 = T20 & T17;
    M10 = M9 ^ M6;
    M11 = T1 & T15;
    M12 = T4 & T27;
    M13 = M12 ^ M11;
    M14 = T2 & T10;
    M15 = M14 ^ M11;
    M16 = M3 ^ M2;
    M17 = M5 ^ T24;
    M18 = M8 ^ M7;
    M19 = M10 ^ M15;
    M20 = M16 ^ M13;
    M21 = M17 ^ M15;
    M22 = M18 ^ M13;
    M23 = M19 ^ T25;
    M24 = M22 ^ M23;
    M25 = M22 & M20;
    M26 = M21 ^ M25;
    M27 = M20 ^ M21;
    M28 = M23 ^ M25;
    M29 = M28 & M27;
    M30 = M26 & M24;
    M31 = M20 & M23;
    M32 = M27 & M31;
    M33 = M27 ^ M25;
    M34 = M21 & M22;
    M35 = M24 & M34;
    M36 = M24 ^ M25;
    M37 = M21 ^ M29;
    M38 = M32 ^ M33;
    M39 = M23 ^ M30;
    M40 = M35 ^ M36;
    M41 = M38 ^ M40;
    M42 = M37 ^ M39;
    M43 = M37 ^ M38;
    M44 = M39 ^ M40;
    M45 = M42 ^ M41;
    M46 = M44 & T6;
    M47 = M40 & T8;
    M48 = M39 & U7;
    M49 = M43 & T16;
    M50 = M38 & T9;
    M51 = M37 & T17;
    M52 = M42 & T15;
    M53 = M45 & T27;
    M54 = M41 & T10;
    M55 = M44 & T13;
    M56 = M40 & T23;
    M57 = M39 & T19;
    M58 = M43 & T3;
    M59 = M38 & T22;
    M60 = M37 & T20;
    M61 = M42 & T1;
    M62 = M45 & T4;
    M63 = M41 & T2;

    /* Bottom linear layer (figure 8); an XNOR is an XOR and a NOT. */
    L0 = M61 ^ M62;
    L1 = M50 ^ M56;
    L2 = M46 ^ M48;
    L3 = M47 ^ M55;
    L4 = M54 ^ M58;
    L5 = M49 ^ M61;
    L6 = M62 ^ L5;
    L7 = M46 ^ L3;
    L8 = M51 ^ M59;
    L9 = M52 ^ M53;
    L10 = M53 ^ L4;
    L11 = M60 ^ L2;
    L12 = M48 ^ M51;
    L13 = M50 ^ L0;
    L14 = M52 ^ M61;
    L15 = M55 ^ L1;
    L16 = M56 ^ L0;
    L17 = M57 ^ L1;
    L18 = M58 ^ L8;
    L19 = M63 ^ L4;
    L20 = L0 ^ L1;
    L21 = L1 ^ L7;
    L22 = L3 ^ L12;
    L23 = L18 ^ L2;
    L24 = L15 ^ L9;
    L25 = L6 ^ L10;
    L26 = L7 ^ L9;
    L27 = L8 ^ L10;
    L28 = L11 ^ L14;
    L29 = L11 ^ L17;
    q[7] = L6 ^ L24;       /* S0 */
    q[6] = ~(L16 ^ L26);   /* S1 */
    q[5] = ~(L19 ^ L28);   /* S2 */
    q[4] = L6 ^ L21;       /* S3 */
    q[3] = L20 ^ L22;      /* S4 */
    q[2] = L25 ^ L29;      /* S5 */
    q[1] = ~(L13 ^ L27);   /* S6 */
    q[0] = ~(L6 ^ L23);    /* S7 */
}

/*
 * The affine maps, as the XORs sbox_maps.py prints: y[i] is output bit i of
 * every lane, x[j] input bit j; a NOT adds a constant's bit.
 *
 * B(v) = Ainv.v + 0x05, Ainv the inverse of the linear part of the AES
 * affine map.  AES^-1(y) = B(S(B(y))): B undoes S's affine map on the way
 * out, and on the way in gives the point whose inverse the circuit's own
 * inversion then produces (S^-1 is inversion after Ainv.(y + 0x63), and
 * Ainv.0x63 = 0x05).
 */
static void map_aes_inv(uint32_t y[8], const uint32_t x[8])
{
    y[0] = ~(x[2] ^ x[5] ^ x[7]);
    y[1] = x[0] ^ x[3] ^ x[6];
    y[2] = ~(x[1] ^ x[4] ^ x[7]);
    y[3] = x[0] ^ x[2] ^ x[5];
    y[4] = x[1] ^ x[3] ^ x[6];
    y[5] = x[2] ^ x[4] ^ x[7];
    y[6] = x[0] ^ x[3] ^ x[5];
    y[7] = x[1] ^ x[4] ^ x[6];
}

/*
 * SM4's S-box is A.inv(A.x + 0xD3) + 0xD3 with inv in its own field
 * (x^8+x^7+x^6+x^5+x^4+x^2+1).  A linear isomorphism M maps that field onto
 * the AES field, so inv_sm4 = M^-1 . inv_aes . M, and the AES circuit gives
 * inv_aes up to its own affine map.  P (in) and Q (out) fold A, M, M^-1
 * and the inverse of the AES map together; M is the one of the eight
 * isomorphisms that makes them lightest.
 */
static void map_sm4_in(uint32_t y[8], const uint32_t x[8])
{
    y[0] = ~(x[1] ^ x[2]);
    y[1] = ~(x[0] ^ x[1] ^ x[2] ^ x[4]);
    y[2] = x[1] ^ x[3];
    y[3] = x[0] ^ x[2] ^ x[4] ^ x[5];
    y[4] = x[1] ^ x[3] ^ x[4] ^ x[5];
    y[5] = ~(x[1] ^ x[4] ^ x[5] ^ x[6]);
    y[6] = x[0] ^ x[1] ^ x[3] ^ x[4] ^ x[7];
    y[7] = x[0] ^ x[2] ^ x[3];
}

static void map_sm4_out(uint32_t y[8], const uint32_t x[8])
{
    y[0] = ~(x[2] ^ x[3] ^ x[4] ^ x[7]);
    y[1] = ~(x[1] ^ x[3] ^ x[4] ^ x[5]);
    y[2] = x[2] ^ x[3] ^ x[7];
    y[3] = ~(x[2] ^ x[6] ^ x[7]);
    y[4] = ~(x[2] ^ x[4] ^ x[5] ^ x[6]);
    y[5] = ~(x[0] ^ x[1] ^ x[6] ^ x[7]);
    y[6] = x[0] ^ x[5] ^ x[6];
    y[7] = x[3] ^ x[5] ^ x[7];
}

/* q takes y on the selected lanes and keeps its own elsewhere. */
static void blend(uint32_t q[8], const uint32_t y[8], uint32_t lanes)
{
    unsigned i;
    for (i = 0; i < 8; i++)
        q[i] = (q[i] & ~lanes) | (y[i] & lanes);
}

void compact_sbox_aes_inv(uint32_t q[8], uint32_t lanes, uint32_t scratch[8])
{
    map_aes_inv(scratch, q);
    blend(q, scratch, lanes);
    compact_sbox(q);
    map_aes_inv(scratch, q);
    blend(q, scratch, lanes);
}

void compact_sbox_sm4(uint32_t q[8], uint32_t scratch[8])
{
    map_sm4_in(scratch, q);
    compact_sbox(scratch);
    map_sm4_out(q, scratch);
}

/*
 * Bit i of byte j of a word (bit 8j + i) to bit 4i + j: a transpose of the
 * 4 x 8 bit matrix, made of four exchanges of bit-index digits (each a
 * "delta swap": the bits under mask trade places with those d above).
 * After it, nibble i holds bit i of the four bytes, in byte order.
 */
static uint32_t delta_swap(uint32_t w, uint32_t mask, unsigned d)
{
    uint32_t t = ((w >> d) ^ w) & mask;
    return w ^ t ^ (t << d);
}

static uint32_t bytes_to_nibbles(uint32_t w)
{
    w = delta_swap(w, 0x22222222u, 1);
    w = delta_swap(w, 0x00AA00AAu, 7);
    w = delta_swap(w, 0x0C0C0C0Cu, 2);
    return delta_swap(w, 0x0000CCCCu, 14);
}

static uint32_t nibbles_to_bytes(uint32_t w)
{
    w = delta_swap(w, 0x0000CCCCu, 14);
    w = delta_swap(w, 0x0C0C0C0Cu, 2);
    w = delta_swap(w, 0x00AA00AAu, 7);
    return delta_swap(w, 0x22222222u, 1);
}

void compact_to_lanes(uint32_t q[8], uint32_t w, unsigned lane)
{
    unsigned i;
    w = bytes_to_nibbles(w);
    for (i = 0; i < 8; i++)
        q[i] |= ((w >> (4 * i)) & 0xFu) << lane;
}

uint32_t compact_from_lanes(const uint32_t q[8], unsigned lane)
{
    uint32_t w = 0;
    unsigned i;
    for (i = 0; i < 8; i++)
        w |= ((q[i] >> lane) & 0xFu) << (4 * i);
    return nibbles_to_bytes(w);
}

void compact_wipe(uint32_t *w, unsigned n)
{
    volatile uint32_t *v = w;
    while (n--)
        *v++ = 0;
}
