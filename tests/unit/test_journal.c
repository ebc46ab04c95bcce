/*
 * The terminal journal's side of the upload (ocp_journal_to_upload,
 * ocp_journal_mark_uploaded): what goes up, what is marked, and that a
 * pending attempt finished after it went up goes up again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ocp/journal.h"
#include "ocp/wire.h"

static char dir[] = "/tmp/ocp-journal-XXXXXX";
static char path[128];
static const uint8_t card_a[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0x0A};
static const uint8_t card_b[8] = {0x4F, 0x43, 0x50, 0, 0, 0, 0, 0x0B};

static size_t pending_upload(ocp_journal *j, ocp_use_record *out)
{
    size_t n = 16;
    assert_int_equal(ocp_journal_to_upload(j, out, &n), OCP_OK);
    return n;
}

static void test_upload_cycle(void **state)
{
    ocp_journal *j;
    ocp_use_record recs[16];
    ocp_tx_result tx;
    uint32_t seq_a, seq_b, seq;
    int retry;
    (void)state;
    assert_int_equal(ocp_journal_open(path, 0x0B000001u, &j), OCP_OK);
    assert_int_equal(ocp_journal_begin(j, card_a, OCP_ROLE_TRANSIT, 0x0101, 1,
                                       1000, &seq_a, &retry),
                     OCP_OK);
    assert_int_equal(ocp_journal_begin(j, card_b, OCP_ROLE_TRANSIT, 0x0101, 1,
                                       1001, &seq_b, &retry),
                     OCP_OK);
    memset(&tx, 0, sizeof tx);
    tx.counter = 7;
    tx.remaining = 0xFFFFFFFFu;
    tx.flags = 1;
    memset(tx.cert, 0xC5, 8);
    assert_int_equal(ocp_journal_accept(j, seq_b, &tx), OCP_OK);
    /* A refusal the terminal decided alone never reached the card. */
    assert_int_equal(ocp_journal_note(j, card_a, OCP_ROLE_TRANSIT, 0x0101,
                                      1002, "passback", "again"),
                     OCP_OK);

    assert_int_equal(pending_upload(j, recs), 2);
    assert_int_equal(recs[0].seq, seq_a);
    assert_int_equal(recs[0].outcome, OCP_USE_PENDING);
    assert_int_equal(recs[0].datetime, 1000);
    assert_memory_equal(recs[0].card_id, card_a, 8);
    assert_int_equal(recs[1].seq, seq_b);
    assert_int_equal(recs[1].outcome, OCP_USE_ACCEPTED);
    assert_int_equal(recs[1].counter, 7);
    assert_int_equal(recs[1].remaining, 0xFFFFFFFFu);
    assert_int_equal(recs[1].flags, 1);
    assert_int_equal(recs[1].domain, OCP_ROLE_TRANSIT);
    assert_int_equal(recs[1].service, 0x0101);
    assert_int_equal(recs[1].amount, 1);
    assert_memory_equal(recs[1].cert, tx.cert, 8);

    /* A capacity of one gives the oldest. */
    {
        size_t one = 1;
        assert_int_equal(ocp_journal_to_upload(j, recs + 8, &one), OCP_OK);
        assert_int_equal(one, 1);
        assert_int_equal(recs[8].seq, seq_a);
    }

    assert_int_equal(ocp_journal_mark_uploaded(j, recs, 2), OCP_OK);
    assert_int_equal(pending_upload(j, recs), 0);

    /* The pending attempt is finished by the next tap: it goes up again,
     * now accepted. */
    assert_int_equal(ocp_journal_begin(j, card_a, OCP_ROLE_TRANSIT, 0x0101, 1,
                                       1005, &seq, &retry),
                     OCP_OK);
    assert_int_equal(retry, 1);
    assert_int_equal(seq, seq_a);
    tx.counter = 8;
    assert_int_equal(ocp_journal_accept(j, seq_a, &tx), OCP_OK);
    assert_int_equal(pending_upload(j, recs), 1);
    assert_int_equal(recs[0].seq, seq_a);
    assert_int_equal(recs[0].outcome, OCP_USE_ACCEPTED);
    assert_int_equal(recs[0].counter, 8);
    assert_int_equal(recs[0].datetime, 1000); /* the attempt's own time */

    /* Marking with the outcome read before a change leaves it unmarked. */
    recs[0].outcome = OCP_USE_PENDING;
    assert_int_equal(ocp_journal_mark_uploaded(j, recs, 1), OCP_OK);
    assert_int_equal(pending_upload(j, recs), 1);
    recs[0].outcome = 9;
    assert_int_equal(ocp_journal_mark_uploaded(j, recs, 1), OCP_E_ARGS);
    assert_int_equal(pending_upload(j, recs), 1);
    assert_int_equal(ocp_journal_mark_uploaded(j, recs, 1), OCP_OK);
    assert_int_equal(pending_upload(j, recs), 0);
    ocp_journal_close(j);

    /* It all survives a reopen. */
    assert_int_equal(ocp_journal_open(path, 0x0B000001u, &j), OCP_OK);
    assert_int_equal(pending_upload(j, recs), 0);
    ocp_journal_close(j);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/journal.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[160];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_cycle),
    };
    return cmocka_run_group_tests_name("journal", tests, setup, teardown);
}
