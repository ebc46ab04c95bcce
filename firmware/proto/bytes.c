/* Bounded reader and writer; see ocp_bytes.h. */
#include "ocp_bytes.h"

#include <string.h>

void ocp_reader_init(ocp_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->end = p + len;
    r->ok = 1;
}

size_t ocp_reader_left(const ocp_reader *r)
{
    return (size_t)(r->end - r->p);
}

const uint8_t *ocp_get_span(ocp_reader *r, size_t n)
{
    const uint8_t *at;
    if (!r->ok || ocp_reader_left(r) < n) {
        r->ok = 0;
        return NULL;
    }
    at = r->p;
    r->p += n;
    return at;
}

uint8_t ocp_get_u8(ocp_reader *r)
{
    const uint8_t *s = ocp_get_span(r, 1);
    return s ? s[0] : 0;
}

uint16_t ocp_get_u16(ocp_reader *r)
{
    const uint8_t *s = ocp_get_span(r, 2);
    return s ? ocp_get_be16(s) : 0;
}

uint32_t ocp_get_u32(ocp_reader *r)
{
    const uint8_t *s = ocp_get_span(r, 4);
    return s ? ocp_get_be32(s) : 0;
}

void ocp_get_bytes(ocp_reader *r, uint8_t *dst, size_t n)
{
    const uint8_t *s = ocp_get_span(r, n);
    if (s)
        memcpy(dst, s, n);
    else
        memset(dst, 0, n);
}

int ocp_reader_done(const ocp_reader *r)
{
    return r->ok && r->p == r->end;
}

void ocp_writer_init(ocp_writer *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->end = p + cap;
    w->short_by = 0;
}

void ocp_put_bytes(ocp_writer *w, const uint8_t *src, size_t n)
{
    if (w->short_by || (size_t)(w->end - w->p) < n) {
        w->short_by += n;
        return;
    }
    memcpy(w->p, src, n);
    w->p += n;
}

void ocp_put_u8(ocp_writer *w, uint8_t v)
{
    ocp_put_bytes(w, &v, 1);
}

void ocp_put_u16(ocp_writer *w, uint16_t v)
{
    uint8_t b[2];
    ocp_put_be16(b, v);
    ocp_put_bytes(w, b, 2);
}

void ocp_put_u32(ocp_writer *w, uint32_t v)
{
    uint8_t b[4];
    ocp_put_be32(b, v);
    ocp_put_bytes(w, b, 4);
}

size_t ocp_writer_len(const ocp_writer *w, const uint8_t *start)
{
    return (size_t)(w->p - start);
}

int ocp_ct_compare(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t diff = 0;
    size_t i;
    for (i = 0; i < n; i++)
        diff = (uint8_t)(diff | (a[i] ^ b[i]));
    return diff != 0;
}

void ocp_wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}

void ocp_move(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i;
    if (dst == src || n == 0)
        return;
    if (dst < src) {
        for (i = 0; i < n; i++)
            dst[i] = src[i];
    } else {
        for (i = n; i > 0; i--)
            dst[i - 1] = src[i - 1];
    }
}

