/**
 * @file ocp/hotlist.h
 * The signed hotlist: the cards terminals must refuse, with the issuer's
 * per-card block cryptogram so an offline validator can also block the
 * card itself.  docs/HOTLIST.md gives the file format byte by byte.
 */
#ifndef OCP_HOTLIST_H
#define OCP_HOTLIST_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/keystore.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One card to stop: its id, suite and issuer key version (which the
 *  block cryptogram is made with). */
typedef struct {
    uint8_t card_id[8];
    uint8_t suite;
    uint8_t issuer_key_version;
} ocp_hotlist_card;

typedef struct ocp_hotlist ocp_hotlist;

/**
 * Make and sign a hotlist file with the issuer key store.
 * @param[in] version    higher than any hotlist before it
 * @param[in] issued_at  minutes since 2000-01-01 (local time)
 * @param[in] sign_suite which issuer key signs (OCP_SUITE_AES or _SM)
 */
OCP_API ocp_status ocp_hotlist_write(const char *path, ocp_keystore *ks,
                                     uint32_t version, uint32_t issued_at,
                                     uint8_t sign_suite,
                                     const ocp_hotlist_card *cards,
                                     size_t n);

/**
 * Load a hotlist and check it: format, sorted ids, signature with the given
 * issuer public key (DER).  The file is mapped, not copied.
 * @return OCP_OK, OCP_E_SIGNATURE, OCP_E_BAD_RESPONSE (malformed file),
 *         OCP_E_IO.
 */
OCP_API ocp_status ocp_hotlist_open(const char *path, const uint8_t *der,
                                    size_t der_len, ocp_hotlist **out);
OCP_API void ocp_hotlist_close(ocp_hotlist *h);

OCP_API uint32_t ocp_hotlist_version(const ocp_hotlist *h);
OCP_API uint32_t ocp_hotlist_issued_at(const ocp_hotlist *h);
OCP_API size_t ocp_hotlist_count(const ocp_hotlist *h);

/**
 * Is this card on the list?  Exact (binary search over the sorted ids).
 * @param[out] cryptogram  its block cryptogram when listed (may be NULL)
 * @return 1 listed, 0 not listed.
 */
OCP_API int ocp_hotlist_lookup(const ocp_hotlist *h, const uint8_t id[8],
                               uint8_t cryptogram[8]);

#ifdef __cplusplus
}
#endif

#endif
