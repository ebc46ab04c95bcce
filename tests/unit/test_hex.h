/*
 * Hex decoding for the tests' published vectors.  Include after <cmocka.h>:
 * a malformed vector fails the test that uses it.
 */
#ifndef OCP_TEST_HEX_H
#define OCP_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Decodes a hex string (upper or lower case, no separators). */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex), i;
    assert_int_equal(n % 2u, 0);
    assert_true(n / 2u <= cap);
    for (i = 0; i < n / 2u; i++) {
        unsigned v = 0, k;
        for (k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            unsigned d = 0;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                fail_msg("bad hex digit in \"%s\"", hex);
            v = (v << 4) | d;
        }
        out[i] = (uint8_t)v;
    }
    return n / 2u;
}

#endif
