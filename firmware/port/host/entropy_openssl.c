/* Entropy port on the host: the operating system's generator via OpenSSL. */
#include <openssl/rand.h>

#include "ocp_port.h"

size_t port_entropy(uint8_t *dst, size_t len)
{
    if (len > 0x7fffffff || RAND_bytes(dst, (int)len) != 1)
        return 0;
    return len;
}
