/**
 * @file ocp/status.h
 * libocp status codes.  0 is success; each layer has its own range so a
 * code says where it came from.  ocp_strerror() gives a sentence for each.
 */
#ifndef OCP_STATUS_H
#define OCP_STATUS_H

#include "ocp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    OCP_OK = 0,

    /* 1xx: caller and environment */
    OCP_E_ARGS = 100,          /**< invalid argument */
    OCP_E_NOMEM = 101,         /**< out of memory */
    OCP_E_BUFFER = 102,        /**< caller's buffer too small */
    OCP_E_IO = 103,            /**< file or system error */

    /* 2xx: transport */
    OCP_E_NO_SERVICE = 200,    /**< PC/SC service (pcscd) not running */
    OCP_E_NO_READER = 201,     /**< no such reader */
    OCP_E_NO_CARD = 202,       /**< no card in the reader */
    OCP_E_CARD_REMOVED = 203,  /**< card removed during the exchange */
    OCP_E_CARD_RESET = 204,    /**< card was reset by another application */
    OCP_E_TIMEOUT = 205,       /**< timed out waiting */
    OCP_E_TRANSPORT = 206,     /**< other reader or transport failure */
    OCP_E_SHARING = 207,       /**< reader in exclusive use elsewhere */

    /* 3xx: the card and the protocol */
    OCP_E_BAD_RESPONSE = 300,  /**< malformed or oversized card response */
    OCP_E_NOT_OCP = 301,       /**< the application is not on this card */
    OCP_E_CARD_STATUS = 302,   /**< the card refused: see the status word */
    OCP_E_AUTH = 303,          /**< mutual authentication failed */
    OCP_E_SM = 304,            /**< secure messaging check failed */
    OCP_E_PIN_WRONG = 305,     /**< wrong PIN */
    OCP_E_PIN_BLOCKED = 306,   /**< PIN blocked */
    OCP_E_NOT_ENTITLED = 307,  /**< no such entitlement, or used up */
    OCP_E_CARD_BLOCKED = 308,  /**< the card is blocked */
    OCP_E_CARD_TERMINATED = 309, /**< the card is terminated */
    OCP_E_DENIED = 310,        /**< the role may not do this */
    OCP_E_CARD_FULL = 311,     /**< no room on the card */
    OCP_E_SIGNATURE = 312,     /**< issuer signature does not verify */

    /* 4xx: keys and crypto */
    OCP_E_CRYPTO = 400,        /**< cryptographic library failure */
    OCP_E_KEY_MISSING = 401,   /**< the key store lacks this key */

    /* 5xx: the registry's database */
    OCP_E_DB = 500,            /**< database failure (unreachable, refused,
                                    bad SQL, constraint) */
    OCP_E_DB_CONFLICT = 501    /**< the row exists already (a unique or
                                    primary-key constraint) */
} ocp_status;

/** A one-line English description of a status; never NULL. */
OCP_API const char *ocp_strerror(ocp_status status);

#ifdef __cplusplus
}
#endif

#endif
