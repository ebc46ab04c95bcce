/* Issuer signature helpers (r || s encoding) for the key stores. */
#ifndef OCP_SIGNATURE_H
#define OCP_SIGNATURE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "ocp/status.h"

ocp_status hl_sign(EVP_PKEY *key, uint8_t suite, const uint8_t *msg,
                   size_t len, uint8_t sig[64]);
ocp_status hl_verify(EVP_PKEY *key, uint8_t suite, const uint8_t *msg,
                     size_t len, const uint8_t sig[64]);

#endif
