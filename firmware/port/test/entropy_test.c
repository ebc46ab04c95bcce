/* Test port entropy: OpenSSL's generator, or none (a chip without TRNG). */
#include <openssl/rand.h>

#include "port_test.h"

static int entropy_available = 1;

void port_test_set_entropy(int available)
{
    entropy_available = available;
}

size_t port_entropy(uint8_t *dst, size_t len)
{
    if (!entropy_available || len > 0x7fffffff ||
        RAND_bytes(dst, (int)len) != 1)
        return 0;
    return len;
}
