/* ocp_secret_wipe(): forgetting a PIN or a key so that it stays forgotten. */
#include <openssl/crypto.h>

#include "ocp/card.h"

void ocp_secret_wipe(void *secret, size_t len)
{
    /* A plain memset of a buffer that is not read again is a dead store
     * the compiler may drop; OpenSSL's cleanse is written so it cannot. */
    if (secret != NULL)
        OPENSSL_cleanse(secret, len);
}
