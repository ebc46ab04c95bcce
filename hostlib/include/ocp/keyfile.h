/**
 * @file ocp/keyfile.h
 * The key-file store: master keys of both suites, the issuer key pairs and
 * the card maker's batch keys in one file encrypted under a passphrase
 * (scrypt and AES-256-GCM; the format is docs/KEYFILE.md).  It serves the
 * SM suite, which no PKCS#11 token in our reach does, and development.
 *
 * The store implements ocp/keystore.h: card keys are made inside it and
 * master keys never leave it.  Rotation keeps the old versions, so cards
 * that hold them keep working.  Every change is saved at once, atomically
 * (a crash leaves the old file or the new one).
 *
 * The file must be owned by the user and closed to group and others
 * (0600); the store refuses anything else.  Every function returns an
 * ocp_status; on failure ocp_keyfile_last_error() says why in a sentence.
 * A store is not thread-safe: use one per thread, or serialise calls.
 * Close it with ocp_keystore_close(), which wipes every key it held.
 *
 * Example:
 *     ocp_keystore *ks;
 *     uint8_t key[16];
 *     if (ocp_keyfile_open("/etc/ocp/desk.keys", passphrase, &ks) != OCP_OK) {
 *         fprintf(stderr, "%s\n", ocp_keyfile_last_error());
 *         return 1;
 *     }
 *     ks->ops->card_key(ks, OCP_SUITE_AES, card_id, OCP_ROLE_TRANSIT,
 *                       ks->ops->version(ks, OCP_SUITE_AES, OCP_ROLE_TRANSIT),
 *                       key);
 *     ocp_keystore_close(ks);
 */
#ifndef OCP_KEYFILE_H
#define OCP_KEYFILE_H

#include <stdint.h>

#include "ocp/export.h"
#include "ocp/keystore.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Make a new key file and open it: for both suites and slots 1..10 a
 * random master key at version 1, an issuer key pair per suite (ECDSA
 * P-256 for AES, SM2 for SM), no batch key yet.  The file is created with
 * mode 0600 whatever the umask.
 *
 * @param[in]  path        the file to create; it must not exist
 * @param[in]  passphrase  NUL-terminated, not empty; not kept by the store
 * @param[out] out         the open store
 * @return OCP_OK; OCP_E_ARGS for a NULL argument or an empty passphrase;
 *         OCP_E_IO if the file exists (errno is then EEXIST) or cannot be
 *         written; OCP_E_CRYPTO if key generation fails; OCP_E_NOMEM.
 */
OCP_API ocp_status ocp_keyfile_create(const char *path,
                                      const char *passphrase,
                                      ocp_keystore **out);

/**
 * Open an existing key file.  The file is refused before the passphrase
 * is tried if it is not a regular file, not owned by the calling user, or
 * has any permission bit for group or others (mode & 077).
 *
 * @param[in]  path        the key file
 * @param[in]  passphrase  NUL-terminated; not kept by the store
 * @param[out] out         the open store
 * @return OCP_OK; OCP_E_AUTH for a wrong passphrase or a damaged
 *         ciphertext (the two cannot be told apart); OCP_E_IO when the file
 *         cannot be read, is refused for its owner or mode, is not a key
 *         file, has an unknown format version or parameters, is truncated,
 *         or decrypts to an inconsistent payload; OCP_E_ARGS for a NULL
 *         argument; OCP_E_NOMEM.  ocp_keyfile_last_error() tells these
 *         cases apart.
 */
OCP_API ocp_status ocp_keyfile_open(const char *path, const char *passphrase,
                                    ocp_keystore **out);

/**
 * Make a random transport key for a new batch of blank cards, save it,
 * and give it to the caller: the card maker needs it to derive each blank
 * card's transport key (docs/KEYS.md).  Hand it over by a secure route and
 * wipe the caller's copy.
 *
 * @param[in]  ks        a store from ocp_keyfile_open() or _create()
 * @param[in]  batch_id  the first 4 bytes of the batch's card ids
 * @param[out] key_out   the batch key
 * @return OCP_OK; OCP_E_ARGS if ks is not a key-file store, an argument is
 *         NULL or the batch has a key already (ocp_keyfile_batch_key()
 *         exports it); OCP_E_IO if the file cannot be saved (the store is
 *         then unchanged); OCP_E_CRYPTO if the random generator fails.
 */
OCP_API ocp_status ocp_keyfile_add_batch(ocp_keystore *ks,
                                         const uint8_t batch_id[4],
                                         uint8_t key_out[16]);

/**
 * Export the transport key of an existing batch, for a card maker that
 * lost it.
 *
 * @param[in]  ks        a key-file store
 * @param[in]  batch_id  the batch
 * @param[out] key_out   the batch key
 * @return OCP_OK; OCP_E_KEY_MISSING for an unknown batch; OCP_E_ARGS if ks
 *         is not a key-file store or an argument is NULL.
 */
OCP_API ocp_status ocp_keyfile_batch_key(ocp_keystore *ks,
                                         const uint8_t batch_id[4],
                                         uint8_t key_out[16]);

/**
 * A sentence about the last failure of a key-file store function in the
 * calling thread, naming the file, or "" if there was none.  The text is
 * overwritten by the next failure: read it right away.  Never contains a
 * passphrase or key material.  Examples:
 * "key file /k is readable by group or others (mode 0644): chmod 600 /k",
 * "wrong passphrase or damaged key file /k",
 * "key file /k: unknown format version 2".
 */
OCP_API const char *ocp_keyfile_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
