/* ocp_strerror(): one sentence per libocp status (ocp/status.h). */
#include "ocp/status.h"

const char *ocp_strerror(ocp_status status)
{
    /* A switch without default, so the compiler names any code added to
     * the enum and forgotten here (-Wswitch in -Wall). */
    switch (status) {
    case OCP_OK:
        return "Success.";
    case OCP_E_ARGS:
        return "An argument was invalid.";
    case OCP_E_NOMEM:
        return "Out of memory.";
    case OCP_E_BUFFER:
        return "The buffer given was too small; the size needed was "
               "returned.";
    case OCP_E_IO:
        return "A file or system operation failed.";
    case OCP_E_NO_SERVICE:
        return "The PC/SC service (pcscd) is not running or does not "
               "answer.";
    case OCP_E_NO_READER:
        return "There is no such card reader.";
    case OCP_E_NO_CARD:
        return "There is no card in the reader.";
    case OCP_E_CARD_REMOVED:
        return "The card was removed or lost power during the exchange.";
    case OCP_E_CARD_RESET:
        return "The card was reset by another application; reset the "
               "connection and start again.";
    case OCP_E_TIMEOUT:
        return "Timed out waiting.";
    case OCP_E_TRANSPORT:
        return "The reader or transport failed.";
    case OCP_E_SHARING:
        return "The reader is in exclusive use by another application.";
    case OCP_E_BAD_RESPONSE:
        return "The card sent a malformed or oversized response.";
    case OCP_E_NOT_OCP:
        return "The One-Card Pass application is not on this card.";
    case OCP_E_CARD_STATUS:
        return "The card refused the command (see its status word).";
    case OCP_E_AUTH:
        return "Mutual authentication with the card failed.";
    case OCP_E_SM:
        return "A secure messaging check failed.";
    case OCP_E_PIN_WRONG:
        return "The PIN is wrong.";
    case OCP_E_PIN_BLOCKED:
        return "The PIN is blocked.";
    case OCP_E_NOT_ENTITLED:
        return "The card has no such entitlement, or it is used up.";
    case OCP_E_CARD_BLOCKED:
        return "The card is blocked.";
    case OCP_E_CARD_TERMINATED:
        return "The card is terminated.";
    case OCP_E_DENIED:
        return "This role may not do that.";
    case OCP_E_CARD_FULL:
        return "There is no room left on the card.";
    case OCP_E_SIGNATURE:
        return "The issuer signature does not verify.";
    case OCP_E_CRYPTO:
        return "The cryptographic library failed.";
    case OCP_E_KEY_MISSING:
        return "The key store lacks the key needed.";
    case OCP_E_DB:
        return "The database failed or could not be reached.";
    case OCP_E_DB_CONFLICT:
        return "The database already holds that row.";
    }
    return "Unknown status code.";
}
