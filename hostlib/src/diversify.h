/*
 * AN10922 card-key diversification with the master's cipher schedule kept
 * (docs/PROTOCOL.md 1.1), for the key stores that hold master keys in
 * memory (the file and development stores).
 *
 * ocp_an10922() keys the block cipher afresh for each of its three blocks
 * and recomputes the CMAC subkey, which is right for a card session but
 * costs an audit of 100 000 cards 500 000 key schedules.  A master used
 * once is used again for the next card, so the store keeps a few of them
 * here, keyed by (suite, slot, version): public values, so looking one up
 * branches on nothing secret.  Each entry holds the master's expanded
 * schedule inside an OpenSSL cipher context and its K2 subkey; wiping the
 * cache (the store's close does) frees the contexts, which OpenSSL clears,
 * and zeroes the subkeys.
 */
#ifndef HL_DIVERSIFY_H
#define HL_DIVERSIFY_H

#include <openssl/evp.h>
#include <stdint.h>

#include "ocp/status.h"

#define HL_DIV_CACHE_SIZE 8u

typedef struct {
    uint8_t suite, slot, version; /* suite 0: an empty entry */
    uint8_t k2[16];               /* the master's CMAC subkey K2 */
    EVP_CIPHER_CTX *ecb;          /* keyed with the master */
} hl_diversifier;

typedef struct {
    hl_diversifier e[HL_DIV_CACHE_SIZE];
    unsigned next; /* the entry the next miss replaces */
} hl_div_cache;

/* The cached master of (suite, slot, version), or NULL. */
hl_diversifier *hl_div_find(hl_div_cache *c, uint8_t suite, uint8_t slot,
                            uint8_t version);

/*
 * Caches `master` as (suite, slot, version), in place of the oldest entry.
 * The caller wipes its own copy of the master.
 * @return OCP_OK with *out; OCP_E_ARGS for an unknown suite; OCP_E_CRYPTO.
 */
ocp_status hl_div_add(hl_div_cache *c, uint8_t suite, uint8_t slot,
                      uint8_t version, const uint8_t master[16],
                      hl_diversifier **out);

/* The card's key: AN10922 of ocp_div_input(card_id, slot, version), the
 * same 16 bytes as ocp_an10922() with the master. */
ocp_status hl_div_derive(const hl_diversifier *d, const uint8_t card_id[8],
                         uint8_t out[16]);

/* Frees every schedule and zeroes the cache (reusable afterwards). */
void hl_div_cache_wipe(hl_div_cache *c);

#endif
