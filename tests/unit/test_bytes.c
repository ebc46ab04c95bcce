/*
 * Unit tests for firmware/proto/bytes.c: the bounded reader and writer and
 * the big-endian helpers of ocp_bytes.h.  Each table lists inputs and the
 * expected outcome; the loops only run them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ocp_bytes.h"

/* Every reader below reads a prefix of these bytes. */
static const uint8_t src[4] = {0xA1, 0xB2, 0xC3, 0xD4};

enum get_kind {
    GET_U8,
    GET_U16,
    GET_U32,
    GET_BYTES3, /* ocp_get_bytes(r, dst, 3) */
    GET_SPAN0,  /* ocp_get_span(r, 0) */
    GET_SPAN2,
    GET_SPAN4,
};

/*
 * Runs one get and returns what it read as a big-endian number (0 when it
 * failed).  *returned is 1 when the call produced data: a non-NULL span, or
 * for the other kinds the reader still being ok afterwards.
 */
static uint32_t run_get(ocp_reader *r, enum get_kind kind, int *returned)
{
    uint8_t dst[3];
    const uint8_t *s;
    uint32_t v = 0;
    size_t i, n;

    switch (kind) {
    case GET_U8:
        v = ocp_get_u8(r);
        break;
    case GET_U16:
        v = ocp_get_u16(r);
        break;
    case GET_U32:
        v = ocp_get_u32(r);
        break;
    case GET_BYTES3:
        memset(dst, 0xEE, sizeof dst);
        ocp_get_bytes(r, dst, sizeof dst);
        for (i = 0; i < sizeof dst; i++)
            v = (v << 8) | dst[i];
        break;
    case GET_SPAN0:
    case GET_SPAN2:
    case GET_SPAN4:
        n = kind == GET_SPAN0 ? 0 : kind == GET_SPAN2 ? 2 : 4;
        s = ocp_get_span(r, n);
        *returned = s != NULL;
        if (s != NULL)
            for (i = 0; i < n; i++)
                v = (v << 8) | s[i];
        return v;
    }
    *returned = r->ok;
    return v;
}

/* Every get at every remaining length 0..4. */
static const struct {
    enum get_kind kind;
    size_t left;       /* bytes in the reader */
    int ok;            /* the get succeeds */
    uint32_t value;    /* what it returns (0 on failure) */
    size_t left_after; /* unchanged on failure: nothing is consumed */
} get_table[] = {
    {GET_U8, 0, 0, 0, 0},
    {GET_U8, 1, 1, 0xA1, 0},
    {GET_U8, 2, 1, 0xA1, 1},
    {GET_U8, 3, 1, 0xA1, 2},
    {GET_U8, 4, 1, 0xA1, 3},

    {GET_U16, 0, 0, 0, 0},
    {GET_U16, 1, 0, 0, 1},
    {GET_U16, 2, 1, 0xA1B2, 0},
    {GET_U16, 3, 1, 0xA1B2, 1},
    {GET_U16, 4, 1, 0xA1B2, 2},

    {GET_U32, 0, 0, 0, 0},
    {GET_U32, 1, 0, 0, 1},
    {GET_U32, 2, 0, 0, 2},
    {GET_U32, 3, 0, 0, 3},
    {GET_U32, 4, 1, 0xA1B2C3D4u, 0},

    /* A short ocp_get_bytes zeroes dst (run_get pre-fills it with EE). */
    {GET_BYTES3, 0, 0, 0, 0},
    {GET_BYTES3, 1, 0, 0, 1},
    {GET_BYTES3, 2, 0, 0, 2},
    {GET_BYTES3, 3, 1, 0xA1B2C3, 0},
    {GET_BYTES3, 4, 1, 0xA1B2C3, 1},

    {GET_SPAN0, 0, 1, 0, 0},
    {GET_SPAN0, 1, 1, 0, 1},
    {GET_SPAN0, 2, 1, 0, 2},
    {GET_SPAN0, 3, 1, 0, 3},
    {GET_SPAN0, 4, 1, 0, 4},

    {GET_SPAN2, 0, 0, 0, 0},
    {GET_SPAN2, 1, 0, 0, 1},
    {GET_SPAN2, 2, 1, 0xA1B2, 0},
    {GET_SPAN2, 3, 1, 0xA1B2, 1},
    {GET_SPAN2, 4, 1, 0xA1B2, 2},

    {GET_SPAN4, 0, 0, 0, 0},
    {GET_SPAN4, 1, 0, 0, 1},
    {GET_SPAN4, 2, 0, 0, 2},
    {GET_SPAN4, 3, 0, 0, 3},
    {GET_SPAN4, 4, 1, 0xA1B2C3D4u, 0},
};

static void test_get_every_length(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof get_table / sizeof get_table[0]; i++) {
        ocp_reader r;
        int returned = -1;
        uint32_t v;

        ocp_reader_init(&r, src, get_table[i].left);
        assert_int_equal(ocp_reader_left(&r), get_table[i].left);
        v = run_get(&r, get_table[i].kind, &returned);
        if (v != get_table[i].value || returned != get_table[i].ok ||
            r.ok != get_table[i].ok ||
            ocp_reader_left(&r) != get_table[i].left_after)
            fail_msg("row %zu (kind %d, %zu left): value %08x ok %d/%d left "
                     "%zu",
                     i, (int)get_table[i].kind, get_table[i].left,
                     (unsigned)v, returned, r.ok, ocp_reader_left(&r));
        assert_int_equal(ocp_reader_done(&r),
                         get_table[i].ok && get_table[i].left_after == 0);
        /* Once a get has failed, even an empty span is refused. */
        assert_int_equal(ocp_get_span(&r, 0) != NULL, get_table[i].ok);
    }
}

/* Sequences of gets: after the first failure every later get fails, even
 * one that would fit in what is left. */
struct get_step {
    enum get_kind kind;
    int ok;
    uint32_t value;
};

static const struct {
    size_t len;
    size_t n_steps;
    struct get_step steps[4];
    size_t left; /* at the end */
} sticky_table[] = {
    {3, 3, {{GET_U16, 1, 0xA1B2}, {GET_U16, 0, 0}, {GET_U8, 0, 0}}, 1},
    {4,
     4,
     {{GET_SPAN0, 1, 0}, {GET_U8, 1, 0xA1}, {GET_U32, 0, 0}, {GET_U16, 0, 0}},
     3},
    {1, 3, {{GET_U16, 0, 0}, {GET_SPAN0, 0, 0}, {GET_U8, 0, 0}}, 1},
    {4,
     4,
     {{GET_U8, 1, 0xA1}, {GET_U8, 1, 0xB2}, {GET_U16, 1, 0xC3D4},
      {GET_U8, 0, 0}},
     0},
    {4, 2, {{GET_BYTES3, 1, 0xA1B2C3}, {GET_SPAN2, 0, 0}}, 1},
    {2, 2, {{GET_SPAN4, 0, 0}, {GET_BYTES3, 0, 0}}, 2},
};

static void test_sticky_failure(void **state)
{
    size_t i, k;
    (void)state;

    for (i = 0; i < sizeof sticky_table / sizeof sticky_table[0]; i++) {
        ocp_reader r;
        int all_ok = 1;

        ocp_reader_init(&r, src, sticky_table[i].len);
        for (k = 0; k < sticky_table[i].n_steps; k++) {
            const struct get_step *st = &sticky_table[i].steps[k];
            int returned = -1;
            uint32_t v = run_get(&r, st->kind, &returned);
            if (v != st->value || returned != st->ok)
                fail_msg("row %zu step %zu: value %08x returned %d", i, k,
                         (unsigned)v, returned);
            all_ok = all_ok && st->ok;
            assert_int_equal(r.ok, all_ok);
        }
        assert_int_equal(ocp_reader_left(&r), sticky_table[i].left);
        assert_int_equal(ocp_reader_done(&r), 0);
    }
}

/* ocp_reader_done: every read succeeded and nothing is left over. */
static const struct {
    size_t len, consume;
    int done;
} done_table[] = {
    {0, 0, 1},
    {4, 4, 1},
    {1, 1, 1},
    {1, 0, 0}, /* one trailing byte */
    {4, 3, 0},
    {4, 1, 0},
    {4, 0, 0},
    {3, 4, 0}, /* overrun */
    {0, 1, 0},
};

static void test_reader_done(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof done_table / sizeof done_table[0]; i++) {
        ocp_reader r;
        ocp_reader_init(&r, src, done_table[i].len);
        (void)ocp_get_span(&r, done_table[i].consume);
        assert_int_equal(ocp_reader_done(&r), done_table[i].done);
    }
}

/* The span points into the input, and a huge n does not wrap around. */
static void test_get_span(void **state)
{
    static const size_t huge[] = {5, 1000, SIZE_MAX / 2, SIZE_MAX};
    ocp_reader r;
    size_t i;
    (void)state;

    ocp_reader_init(&r, src, sizeof src);
    assert_ptr_equal(ocp_get_span(&r, 1), src);
    assert_ptr_equal(ocp_get_span(&r, 2), src + 1);
    assert_ptr_equal(ocp_get_span(&r, 1), src + 3);
    assert_null(ocp_get_span(&r, 1));

    for (i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        ocp_reader_init(&r, src, sizeof src);
        assert_null(ocp_get_span(&r, huge[i]));
        assert_int_equal(r.ok, 0);
        assert_int_equal(ocp_reader_left(&r), sizeof src);
    }
}

/* Writer: bytes written, short_by, and nothing past the buffer.  Once a
 * put has not fitted, later puts are counted as short too, so what was
 * written is always a prefix of what was meant. */
enum put_kind { PUT_U8, PUT_U16, PUT_U32, PUT_BYTES };

struct put_step {
    enum put_kind kind;
    size_t n; /* PUT_BYTES: the first n bytes of put_src */
};

static const uint8_t put_src[6] = {0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD};

static const struct {
    size_t cap;
    size_t n_steps;
    struct put_step steps[4];
    size_t len;
    const uint8_t expected[8];
    size_t short_by;
} put_table[] = {
    {7, 3, {{PUT_U8, 0}, {PUT_U16, 0}, {PUT_U32, 0}}, 7,
     {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}, 0},
    {8, 3, {{PUT_U8, 0}, {PUT_U16, 0}, {PUT_U32, 0}}, 7,
     {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}, 0},
    {6, 3, {{PUT_U8, 0}, {PUT_U16, 0}, {PUT_U32, 0}}, 3, {0x11, 0x22, 0x33},
     4},
    {0, 1, {{PUT_U8, 0}}, 0, {0}, 1},
    {0, 4, {{PUT_U8, 0}, {PUT_U16, 0}, {PUT_U32, 0}, {PUT_BYTES, 6}}, 0, {0},
     13},
    {3, 2, {{PUT_U32, 0}, {PUT_U8, 0}}, 0, {0}, 5}, /* U8 would fit: sticky */
    {5, 3, {{PUT_U16, 0}, {PUT_U16, 0}, {PUT_U16, 0}}, 4,
     {0x22, 0x33, 0x22, 0x33}, 2},
    {4, 2, {{PUT_BYTES, 4}, {PUT_BYTES, 0}}, 4, {0x88, 0x99, 0xAA, 0xBB}, 0},
    {2, 1, {{PUT_BYTES, 3}}, 0, {0}, 3}, /* no partial write */
    {1, 2, {{PUT_U8, 0}, {PUT_U8, 0}}, 1, {0x11}, 1},
    {6, 2, {{PUT_BYTES, 6}, {PUT_BYTES, 0}}, 6,
     {0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD}, 0},
};

static void test_writer(void **state)
{
    size_t i, k;
    (void)state;

    for (i = 0; i < sizeof put_table / sizeof put_table[0]; i++) {
        uint8_t buf[16];
        ocp_writer w;

        memset(buf, 0xEE, sizeof buf);
        ocp_writer_init(&w, buf, put_table[i].cap);
        assert_int_equal(ocp_writer_len(&w, buf), 0);
        assert_int_equal(w.short_by, 0);
        for (k = 0; k < put_table[i].n_steps; k++) {
            switch (put_table[i].steps[k].kind) {
            case PUT_U8:
                ocp_put_u8(&w, 0x11);
                break;
            case PUT_U16:
                ocp_put_u16(&w, 0x2233);
                break;
            case PUT_U32:
                ocp_put_u32(&w, 0x44556677u);
                break;
            case PUT_BYTES:
                ocp_put_bytes(&w, put_src, put_table[i].steps[k].n);
                break;
            }
        }
        if (ocp_writer_len(&w, buf) != put_table[i].len ||
            w.short_by != put_table[i].short_by)
            fail_msg("row %zu: len %zu short_by %zu", i,
                     ocp_writer_len(&w, buf), w.short_by);
        assert_memory_equal(buf, put_table[i].expected, put_table[i].len);
        for (k = put_table[i].len; k < sizeof buf; k++)
            assert_int_equal(buf[k], 0xEE);
    }
}

/* Big-endian helpers: decode, and encode back to the same bytes. */
static const struct {
    uint8_t bytes[4];
    uint16_t be16; /* of the first two bytes */
    uint32_t be32;
} be_table[] = {
    {{0x00, 0x00, 0x00, 0x00}, 0x0000, 0x00000000u},
    {{0xFF, 0xFF, 0xFF, 0xFF}, 0xFFFF, 0xFFFFFFFFu},
    {{0x12, 0x34, 0x56, 0x78}, 0x1234, 0x12345678u},
    {{0x80, 0x00, 0x00, 0x01}, 0x8000, 0x80000001u},
    {{0x00, 0x80, 0x7F, 0xFF}, 0x0080, 0x00807FFFu},
    {{0x01, 0x00, 0x00, 0x00}, 0x0100, 0x01000000u},
    {{0x00, 0x01, 0x00, 0x00}, 0x0001, 0x00010000u},
};

static void test_big_endian(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof be_table / sizeof be_table[0]; i++) {
        uint8_t out[6];

        assert_int_equal(ocp_get_be16(be_table[i].bytes), be_table[i].be16);
        assert_int_equal(ocp_get_be32(be_table[i].bytes), be_table[i].be32);

        memset(out, 0xEE, sizeof out);
        ocp_put_be16(out + 1, be_table[i].be16);
        assert_memory_equal(out + 1, be_table[i].bytes, 2);
        assert_int_equal(out[0], 0xEE);
        assert_int_equal(out[3], 0xEE);

        memset(out, 0xEE, sizeof out);
        ocp_put_be32(out + 1, be_table[i].be32);
        assert_memory_equal(out + 1, be_table[i].bytes, 4);
        assert_int_equal(out[0], 0xEE);
        assert_int_equal(out[5], 0xEE);
    }
}

/* A writer and a reader agree on the wire order. */
static void test_writer_reader_round_trip(void **state)
{
    uint8_t buf[7 + 3];
    ocp_writer w;
    ocp_reader r;
    uint8_t three[3];
    (void)state;

    ocp_writer_init(&w, buf, sizeof buf);
    ocp_put_u8(&w, 0x5A);
    ocp_put_u16(&w, 0xBEEF);
    ocp_put_u32(&w, 0xCAFEF00Du);
    ocp_put_bytes(&w, put_src, 3);
    assert_int_equal(w.short_by, 0);
    assert_int_equal(ocp_writer_len(&w, buf), sizeof buf);

    ocp_reader_init(&r, buf, ocp_writer_len(&w, buf));
    assert_int_equal(ocp_get_u8(&r), 0x5A);
    assert_int_equal(ocp_get_u16(&r), 0xBEEF);
    assert_int_equal(ocp_get_u32(&r), 0xCAFEF00Du);
    ocp_get_bytes(&r, three, sizeof three);
    assert_memory_equal(three, put_src, 3);
    assert_int_equal(ocp_reader_done(&r), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_every_length),
        cmocka_unit_test(test_sticky_failure),
        cmocka_unit_test(test_reader_done),
        cmocka_unit_test(test_get_span),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_writer_reader_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
