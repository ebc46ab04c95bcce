/*
 * The only C library functions the image links: memcpy and memset (the
 * applet moves overlapping bytes with ocp_move and compares with
 * ocp_ct_compare, so a memmove or memcmp creeping in fails the link).
 * Byte loops, small rather than fast: an APDU moves a few hundred bytes.  Built with
 * -fno-tree-loop-distribute-patterns, so the compiler does not turn these
 * loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n-- > 0)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n-- > 0)
        *d++ = (uint8_t)c;
    return dst;
}
