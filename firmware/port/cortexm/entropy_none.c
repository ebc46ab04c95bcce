/*
 * Entropy port on mps2-an385: the board has no random number generator, so
 * there is nothing to give.  The DRBG then runs on the seed written at
 * manufacture (ocp-card makes the image) and on its counter in NVM, which
 * is committed before any output leaves the card (firmware/src/drbg.c).
 */
#include "ocp_port.h"

size_t port_entropy(uint8_t *dst, size_t len)
{
    (void)dst;
    (void)len;
    return 0;
}
