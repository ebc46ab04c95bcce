/**
 * @file ocp/pkcs11.h
 * The PKCS#11 key store: master keys live in a token (an HSM, or SoftHSM2
 * in tests) as non-extractable AES keys, and the token computes each card
 * key itself with CKM_AES_CMAC over 01 || m, which is AN10922 for our
 * 18-byte diversification input m (docs/PROTOCOL.md 1.1).  The issuer key
 * pair of the AES suite is a P-256 key pair in the token.
 *
 * The store serves the AES suite only: operations on the SM suite return
 * OCP_E_KEY_MISSING (SoftHSM has no SM4 or SM2; an SM deployment needs a
 * GM/T 0018 HSM).  Objects, the URI syntax and token set-up are described
 * in docs/PKCS11.md.
 *
 * The store keeps one PKCS#11 session: it is not thread-safe.  Use one
 * store per thread, or serialise calls to a store.  Close the store with
 * ocp_keystore_close().
 *
 * Example:
 *     ocp_keystore *ks;
 *     if (ocp_pkcs11_open("pkcs11:token=desk?pin-source=file:/etc/ocp/pin",
 *                         &ks) != OCP_OK)
 *         fprintf(stderr, "%s\n", ocp_pkcs11_last_error());
 */
#ifndef OCP_PKCS11_H
#define OCP_PKCS11_H

#include "ocp/export.h"
#include "ocp/keystore.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The module loaded when the URI names none. */
#define OCP_PKCS11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/**
 * Load a PKCS#11 module, find the token and log in as its user.
 *
 * @param[in]  uri  RFC 7512 URI: path attribute `token` (required;
 *                  `serial`, `manufacturer`, `model` narrow the choice),
 *                  query attribute `pin-value` or `pin-source` (`file:PATH`
 *                  or an absolute path; the first line is the PIN), and
 *                  `module-path` (default OCP_PKCS11_DEFAULT_MODULE).
 *                  Values are percent-decoded.  Example:
 *                  `pkcs11:token=desk-01?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so`
 * @param[out] out  the store
 * @return OCP_OK; OCP_E_ARGS for a malformed URI or a token that is not
 *         there (or named ambiguously); OCP_E_IO when the module or the PIN
 *         file cannot be loaded; OCP_E_AUTH for a wrong or locked PIN;
 *         OCP_E_CRYPTO for any other token failure; OCP_E_NOMEM.
 *         ocp_pkcs11_last_error() says what went wrong.
 */
OCP_API ocp_status ocp_pkcs11_open(const char *uri, ocp_keystore **out);

/**
 * Make the AES suite's keys inside the token: master keys for slots 1..10
 * at version 1 (CKM_AES_KEY_GEN, sensitive, non-extractable, sign only)
 * and the issuer P-256 key pair (CKM_EC_KEY_PAIR_GEN).  Nothing is made
 * if any of these objects exists already; if generation fails half way,
 * the objects made so far are destroyed.
 *
 * @param[in] ks  a store from ocp_pkcs11_open()
 * @return OCP_OK; OCP_E_ARGS if ks is not a PKCS#11 store or the keys
 *         exist; OCP_E_CRYPTO when the token fails.
 */
OCP_API ocp_status ocp_pkcs11_init_keys(ocp_keystore *ks);

/**
 * A sentence about the last failure of a PKCS#11 store operation in the
 * calling thread (the PKCS#11 return code included), or "" if there was
 * none.  The text is overwritten by the next failure: read it right away.
 * Never contains a PIN or key material.
 */
OCP_API const char *ocp_pkcs11_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
