/*
 * Bounded byte reader and writer, and big-endian helpers.
 *
 * Every parser in the project reads through ocp_reader: each get checks what
 * is left first and, once a read has failed, every later read fails too, so
 * a parser may read a whole structure and check ok once at the end.  The
 * writer never writes past its buffer and counts how many bytes it was short.
 */
#ifndef OCP_BYTES_H
#define OCP_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    int ok; /* 0 once any read ran past the end */
} ocp_reader;

typedef struct {
    uint8_t *p;
    uint8_t *end;
    size_t short_by; /* bytes that did not fit; 0 when all fitted */
} ocp_writer;

static inline uint16_t ocp_get_be16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static inline uint32_t ocp_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void ocp_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ocp_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void ocp_reader_init(ocp_reader *r, const uint8_t *p, size_t len);
size_t ocp_reader_left(const ocp_reader *r);
uint8_t ocp_get_u8(ocp_reader *r);
uint16_t ocp_get_u16(ocp_reader *r);
uint32_t ocp_get_u32(ocp_reader *r);
/* Copies n bytes to dst (zeros when short). */
void ocp_get_bytes(ocp_reader *r, uint8_t *dst, size_t n);
/* Returns a pointer to the next n bytes and skips them, or NULL. */
const uint8_t *ocp_get_span(ocp_reader *r, size_t n);
/* 1 when every read succeeded and nothing is left over. */
int ocp_reader_done(const ocp_reader *r);

void ocp_writer_init(ocp_writer *w, uint8_t *p, size_t cap);
void ocp_put_u8(ocp_writer *w, uint8_t v);
void ocp_put_u16(ocp_writer *w, uint16_t v);
void ocp_put_u32(ocp_writer *w, uint32_t v);
void ocp_put_bytes(ocp_writer *w, const uint8_t *src, size_t n);
/* Bytes written so far (from the start given to init). */
size_t ocp_writer_len(const ocp_writer *w, const uint8_t *start);

/* Constant-time comparison: 0 when equal.  Wipe: not optimised away. */
int ocp_ct_compare(const uint8_t *a, const uint8_t *b, size_t n);
void ocp_wipe(void *p, size_t n);
/* memmove, for the chip: its C library gives only memcpy and memset. */
void ocp_move(uint8_t *dst, const uint8_t *src, size_t n);

#endif
