/*
 * SM4 (GB/T 32907-2016) in constant time.
 *
 * The rounds work on 32-bit words as the standard writes them; only the
 * S-box layer tau goes through the bitsliced circuit.  Each circuit pass
 * substitutes eight bytes: the round's data word (lanes 0..3) and the word
 * of the key schedule that yields the next round key (lanes 8..11), so the
 * round keys are made during the call, one step ahead, at no extra pass.
 * Decryption runs the schedule forward to its end first, then backward
 * (K_i = K_i+4 ^ T'(K_i+1 ^ K_i+2 ^ K_i+3 ^ CK_i)) next to the rounds.
 */
#include <string.h>

#include "port_compact.h"

static const uint32_t fk[4] = {0xA3B1BAC6u, 0x56AA3350u, 0x677D9197u,
                               0xB27022DCu};

static uint32_t rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

/* CK_i: its bytes are (4i + j) * 7 mod 256, j = 0..3, first byte most
 * significant (GB/T 32907-2016, 7.3). */
static uint32_t ck(unsigned i)
{
    uint32_t b = (28u * i) & 0xFFu;
    return (b << 24) | (((b + 7u) & 0xFFu) << 16) |
           (((b + 14u) & 0xFFu) << 8) | ((b + 21u) & 0xFFu);
}

/* tau on two words in one circuit pass; q and scratch belong to the
 * caller, which wipes them once at the end. */
static void tau2(uint32_t q[8], uint32_t scratch[8], uint32_t *x, uint32_t *y)
{
    memset(q, 0, 8 * sizeof q[0]);
    compact_to_lanes(q, *x, 0);
    compact_to_lanes(q, *y, 8);
    compact_sbox_sm4(q, scratch);
    *x = compact_from_lanes(q, 0);
    *y = compact_from_lanes(q, 8);
}

/* The linear maps L of the rounds and L' of the key schedule. */
static uint32_t l_data(uint32_t b)
{
    return b ^ rol(b, 2) ^ rol(b, 10) ^ rol(b, 18) ^ rol(b, 24);
}

static uint32_t l_key(uint32_t b)
{
    return b ^ rol(b, 13) ^ rol(b, 23);
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A window of four words moves on by one: v enters at the top. */
static void shift_in(uint32_t w[4], uint32_t v)
{
    w[0] = w[1];
    w[1] = w[2];
    w[2] = w[3];
    w[3] = v;
}

static void crypt(const uint8_t key[16], const uint8_t in[16],
                  uint8_t out[16], int decrypt)
{
    /* x: the data words X_i..X_i+3; k: a window of four K words. */
    uint32_t x[4], k[4], t, u;
    uint32_t q[8], scratch[8];
    /* Steps before the first round only advance the key schedule:
     * encryption needs rk_0 = K_4 first, decryption all of K_32..K_35. */
    unsigned first_round = decrypt ? 32u : 1u;
    unsigned step, i;

    for (i = 0; i < 4; i++) {
        k[i] = get_be32(key + 4 * i) ^ fk[i];
        x[i] = get_be32(in + 4 * i);
    }
    for (step = 0; step < first_round + 32u; step++) {
        /* The round key is always k[3]: K_i+4 going forward, K_35-i
         * going back (i = step - first_round). */
        int backward = decrypt && step >= first_round;
        t = x[1] ^ x[2] ^ x[3] ^ k[3];
        u = backward ? k[0] ^ k[1] ^ k[2] ^ ck(31u - (step - first_round))
                     : k[1] ^ k[2] ^ k[3] ^ ck(step);
        tau2(q, scratch, &t, &u);
        if (step >= first_round)
            shift_in(x, x[0] ^ l_data(t));
        if (backward) {
            /* K_31-i, in front of the window. */
            u = k[3] ^ l_key(u);
            k[3] = k[2];
            k[2] = k[1];
            k[1] = k[0];
            k[0] = u;
        } else {
            shift_in(k, k[0] ^ l_key(u));
        }
    }
    for (i = 0; i < 4; i++)
        put_be32(out + 4 * i, x[3 - i]);
    compact_wipe(x, 4);
    compact_wipe(k, 4);
    compact_wipe(q, 8);
    compact_wipe(scratch, 8);
}

void compact_sm4_encrypt(const uint8_t key[16], const uint8_t in[16],
                         uint8_t out[16])
{
    crypt(key, in, out, 0);
}

void compact_sm4_decrypt(const uint8_t key[16], const uint8_t in[16],
                         uint8_t out[16])
{
    crypt(key, in, out, 1);
}
