/*
 * Upload batches (ocp/batch.h): the byte layout of docs/BACKOFFICE.md
 * section 3 field by field, every malformed form refused, and the
 * terminal's signature made and checked in both suites.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ocp/batch.h"
#include "ocp/wire.h"

static char dir[] = "/tmp/ocp-batch-XXXXXX";

static void sample(ocp_use_record *r, uint32_t seq)
{
    static const uint8_t card[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0x12, 0x34};
    memset(r, 0, sizeof *r);
    r->seq = seq;
    memcpy(r->card_id, card, 8);
    r->domain = OCP_ROLE_TRANSIT;
    r->service = 0x0101;
    r->amount = 1;
    r->datetime = 9829u * 1440u + 600u + seq;
    r->outcome = OCP_USE_ACCEPTED;
    r->counter = 100 + seq;
    r->remaining = 0xFFFFFFFFu;
    r->flags = 0x01;
    memset(r->cert, (int)seq, 8);
}

static void test_layout(void **state)
{
    ocp_use_record r;
    uint8_t buf[OCP_BATCH_HEADER_LEN + OCP_BATCH_RECORD_LEN];
    static const uint8_t expect[] = {
        'O', 'C', 'P', 'B', '1', 0x0B, 0x00, 0x00, 0x01, /* terminal */
        0x00, 0x00, 0x00, 0x07,                         /* batch_no */
        0x00, 0x00, 0x00, 0x01,                         /* n */
        0x00, 0x00, 0x00, 0x05,                         /* seq */
        0x4F, 0x43, 0x50, 0, 0, 0, 0x12, 0x34,          /* card */
        0x02, 0x01, 0x01,                               /* domain, service */
        0x00, 0x00, 0x00, 0x01,                         /* amount */
        0x00, 0xD7, 0xFA, 0x7D,                         /* datetime */
        0x01,                                           /* accepted */
        0x00, 0x00, 0x00, 0x69,                         /* counter 105 */
        0xFF, 0xFF, 0xFF, 0xFF,                         /* remaining */
        0x01,                                           /* flags */
        5, 5, 5, 5, 5, 5, 5, 5};                        /* cert */
    (void)state;
    sample(&r, 5);
    assert_int_equal(sizeof expect, ocp_batch_len(1));
    assert_int_equal(ocp_batch_encode(0x0B000001u, 7, &r, 1, buf, sizeof buf),
                     OCP_OK);
    assert_memory_equal(buf, expect, sizeof expect);
    assert_int_equal(ocp_batch_encode(0x0B000001u, 7, &r, 1, buf,
                                      sizeof buf - 1),
                     OCP_E_BUFFER);
}

static void test_round_trip_and_malformed(void **state)
{
    static ocp_use_record in[OCP_BATCH_MAX_RECORDS], out[OCP_BATCH_MAX_RECORDS];
    static uint8_t buf[OCP_BATCH_HEADER_LEN +
                       OCP_BATCH_MAX_RECORDS * OCP_BATCH_RECORD_LEN + 1];
    uint32_t term, no, i;
    size_t n, len = ocp_batch_len(3), cut;
    (void)state;
    for (i = 0; i < OCP_BATCH_MAX_RECORDS; i++)
        sample(&in[i], i + 1);
    assert_int_equal(ocp_batch_encode(9, 1, in, OCP_BATCH_MAX_RECORDS, buf,
                                      sizeof buf),
                     OCP_OK);
    assert_int_equal(ocp_batch_decode(buf, ocp_batch_len(OCP_BATCH_MAX_RECORDS),
                                      &term, &no, out, &n),
                     OCP_OK);
    assert_int_equal(n, OCP_BATCH_MAX_RECORDS);
    assert_int_equal(term, 9);
    assert_int_equal(no, 1);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(ocp_batch_encode(9, 1, in, OCP_BATCH_MAX_RECORDS + 1,
                                      buf, sizeof buf),
                     OCP_E_ARGS);

    assert_int_equal(ocp_batch_encode(9, 2, in, 3, buf, sizeof buf), OCP_OK);
    /* Every truncation and one byte too many. */
    for (cut = 0; cut < len; cut++)
        assert_int_equal(ocp_batch_decode(buf, cut, &term, &no, out, &n),
                         OCP_E_BAD_RESPONSE);
    assert_int_equal(ocp_batch_decode(buf, len + 1, &term, &no, out, &n),
                     OCP_E_BAD_RESPONSE);
    /* Wrong magic, a count that does not match the length, a count past
     * the maximum, an outcome that does not exist. */
    buf[4] = '2';
    assert_int_equal(ocp_batch_decode(buf, len, &term, &no, out, &n),
                     OCP_E_BAD_RESPONSE);
    buf[4] = '1';
    buf[16] = 4;
    assert_int_equal(ocp_batch_decode(buf, len, &term, &no, out, &n),
                     OCP_E_BAD_RESPONSE);
    buf[13] = 0xFF;
    assert_int_equal(ocp_batch_decode(buf, len, &term, &no, out, &n),
                     OCP_E_BAD_RESPONSE);
    buf[13] = 0;
    buf[16] = 3;
    buf[OCP_BATCH_HEADER_LEN + 23] = 4; /* first record's outcome */
    assert_int_equal(ocp_batch_decode(buf, len, &term, &no, out, &n),
                     OCP_E_BAD_RESPONSE);
    buf[OCP_BATCH_HEADER_LEN + 23] = OCP_USE_PENDING;
    assert_int_equal(ocp_batch_decode(buf, len, &term, &no, out, &n), OCP_OK);
    assert_int_equal(out[0].outcome, OCP_USE_PENDING);
}

static void sign_and_verify(uint8_t suite, const char *name)
{
    char path[128], other_path[128];
    uint8_t pub[200], other_pub[200], sig[OCP_BATCH_SIGNATURE_LEN];
    uint8_t batch[OCP_BATCH_HEADER_LEN + 2 * OCP_BATCH_RECORD_LEN];
    size_t pub_len = sizeof pub, other_len = sizeof other_pub, i;
    ocp_use_record r[2];
    ocp_terminal_key *k;
    snprintf(path, sizeof path, "%s/%s.pem", dir, name);
    snprintf(other_path, sizeof other_path, "%s/%s-other.pem", dir, name);
    assert_int_equal(ocp_terminal_key_create(path, suite, pub, &pub_len),
                     OCP_OK);
    assert_int_equal(ocp_terminal_key_create(other_path, suite, other_pub,
                                             &other_len),
                     OCP_OK);
    /* Never over an existing key. */
    assert_int_equal(ocp_terminal_key_create(path, suite, pub, &pub_len),
                     OCP_E_IO);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_OK);
    sample(&r[0], 1);
    sample(&r[1], 2);
    assert_int_equal(ocp_batch_encode(0x0B000001u, 1, r, 2, batch,
                                      sizeof batch),
                     OCP_OK);
    assert_int_equal(ocp_batch_sign(k, batch, sizeof batch, sig), OCP_OK);
    assert_int_equal(ocp_batch_verify(pub, pub_len, batch, sizeof batch, sig),
                     OCP_OK);
    /* Another terminal's key, a flipped bit in the batch or the
     * signature: refused. */
    assert_int_equal(ocp_batch_verify(other_pub, other_len, batch,
                                      sizeof batch, sig),
                     OCP_E_SIGNATURE);
    for (i = 0; i < sizeof batch; i += 7) {
        batch[i] ^= 0x10;
        assert_int_equal(ocp_batch_verify(pub, pub_len, batch, sizeof batch,
                                          sig),
                         OCP_E_SIGNATURE);
        batch[i] ^= 0x10;
    }
    sig[40] ^= 1;
    assert_int_equal(ocp_batch_verify(pub, pub_len, batch, sizeof batch, sig),
                     OCP_E_SIGNATURE);
    ocp_terminal_key_free(k);

    /* A key file others may read is refused. */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_E_DENIED);
    unlink(path);
    unlink(other_path);
}

static void test_sign_p256(void **state)
{
    (void)state;
    sign_and_verify(OCP_SUITE_AES, "p256");
}

static void test_sign_sm2(void **state)
{
    (void)state;
    sign_and_verify(OCP_SUITE_SM, "sm2");
}

static void test_garbage_key_file(void **state)
{
    char path[128];
    ocp_terminal_key *k;
    FILE *f;
    (void)state;
    snprintf(path, sizeof path, "%s/garbage.pem", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_E_ARGS);
    assert_null(k);
    unlink(path);
    assert_int_equal(ocp_terminal_key_load(path, &k), OCP_E_IO);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trip_and_malformed),
        cmocka_unit_test(test_sign_p256),
        cmocka_unit_test(test_sign_sm2),
        cmocka_unit_test(test_garbage_key_file),
    };
    return cmocka_run_group_tests_name("batch", tests, setup, teardown);
}
