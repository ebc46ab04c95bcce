/**
 * @file ocp/keystore.h
 * Where a terminal's keys live.  Card keys are diversified from a role's
 * master key and the card id (AN10922) inside the store; master keys never
 * leave it.  Each master key has a version, so generations coexist during
 * a rotation.
 *
 * Three stores implement it: the passphrase-encrypted key file
 * (<ocp/keyfile.h>), a PKCS#11 token (<ocp/pkcs11.h>, AES suite only) and
 * the development store below (fixed, public keys: never for real cards).
 * A store is used by one thread at a time.
 */
#ifndef OCP_KEYSTORE_H
#define OCP_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ocp_keystore ocp_keystore;

/** What `ocp keys list` shows of one master key: never its value. */
typedef struct {
    uint8_t suite;     /**< OCP_SUITE_AES or OCP_SUITE_SM */
    uint8_t slot;      /**< 1..10 (10: holder digest) */
    uint8_t version;   /**< 1..254 */
    uint8_t current;   /**< 1 for the version new cards get */
    uint8_t kcv[3];    /**< check value: E(key, 01*16)[0..2] in the file and
                            dev stores; the token's CKA_CHECK_VALUE,
                            E(key, 00*16)[0..2], in PKCS#11 */
} ocp_key_info;

/**
 * A key store.  Every operation may be NULL where a store cannot do it
 * (the dev store cannot rotate); callers then get OCP_E_ARGS.
 */
struct ocp_keystore_ops {
    /** The card key of `slot` (1..10) at `version` for this card:
     *  AN10922 of the master key (docs/PROTOCOL.md 1.1). */
    ocp_status (*card_key)(ocp_keystore *ks, uint8_t suite,
                           const uint8_t card_id[8], uint8_t slot,
                           uint8_t version, uint8_t out[16]);
    /** The blank card's transport key, from the key of its batch (the
     *  first 4 bytes of the card id name the batch). */
    ocp_status (*transport_key)(ocp_keystore *ks, const uint8_t card_id[8],
                                uint8_t out[16]);
    /** Issuer signature (64 bytes r || s): ECDSA P-256/SHA-256 for the AES
     *  suite, SM2/SM3 with ID 1234567812345678 for the SM suite. */
    ocp_status (*sign)(ocp_keystore *ks, uint8_t suite, const uint8_t *msg,
                       size_t len, uint8_t sig[64]);
    /** The issuer public key as DER SubjectPublicKeyInfo. */
    ocp_status (*public_key)(ocp_keystore *ks, uint8_t suite, uint8_t *der,
                             size_t *len);
    /** The current version of a slot's master key; 0 if there is none. */
    uint8_t (*version)(ocp_keystore *ks, uint8_t suite, uint8_t slot);
    /** Every master key; *count in: capacity, out: number (or needed). */
    ocp_status (*list)(ocp_keystore *ks, ocp_key_info *out, size_t *count);
    /** Make version current + 1 of a slot's master key, inside the store. */
    ocp_status (*rotate)(ocp_keystore *ks, uint8_t suite, uint8_t slot,
                         uint8_t *new_version);
    void (*close)(ocp_keystore *ks);
};

struct ocp_keystore {
    const struct ocp_keystore_ops *ops;
    void *ctx;
};

/**
 * Open the development key store.  Master keys are derived from a public
 * constant; the issuer key pairs are made on first use and kept as PEM
 * files in `dir` (created 0700), so signatures stay verifiable.
 * The transport batch key is the development one of ocp-card.
 */
OCP_API ocp_status ocp_keystore_dev_open(const char *dir, ocp_keystore **out);

/** Close any key store (NULL allowed). */
OCP_API void ocp_keystore_close(ocp_keystore *ks);

#ifdef __cplusplus
}
#endif

#endif
