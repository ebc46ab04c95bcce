/*
 * The key stores' diversification cache (hostlib/src/diversify.c): keys
 * derived with a kept master schedule must be exactly ocp_an10922's, for
 * both ciphers, every slot and several versions, through evictions; a
 * wiped cache must hold no schedule and no subkey; and the development
 * store must give the keys it gave before the cache, over interleaved
 * masters and across a close and a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "diversify.h"
#include "ocp/keystore.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"

static void reference(uint8_t suite, const uint8_t master[16],
                      const uint8_t card[8], uint8_t slot, uint8_t version,
                      uint8_t out[16])
{
    uint8_t div[OCP_DIV_INPUT_LEN];
    ocp_div_input(card, slot, version, div);
    ocp_an10922(ocp_suite_cipher(suite), master, div, sizeof div, out);
}

/* Random masters, all slots, both suites: more masters than the cache
 * holds, visited in an order that evicts and re-adds. */
static void test_same_as_an10922(void **state)
{
    hl_div_cache cache;
    uint8_t masters[2][11][3][16], card[8], got[16], want[16];
    int round, suite, slot, version;
    (void)state;
    memset(&cache, 0, sizeof cache);
    assert_int_equal(RAND_bytes(&masters[0][0][0][0], sizeof masters), 1);
    for (round = 0; round < 3; round++)
        for (slot = 1; slot <= 10; slot++)
            for (version = 1; version <= 2; version++)
                for (suite = 1; suite <= 2; suite++) { /* AES, SM */
                    const uint8_t *m = masters[suite - 1][slot][version];
                    hl_diversifier *d = hl_div_find(
                        &cache, (uint8_t)suite, (uint8_t)slot,
                        (uint8_t)version);
                    if (d == NULL)
                        assert_int_equal(
                            hl_div_add(&cache, (uint8_t)suite, (uint8_t)slot,
                                       (uint8_t)version, m, &d),
                            OCP_OK);
                    assert_int_equal(d->suite, suite);
                    assert_int_equal(RAND_bytes(card, sizeof card), 1);
                    assert_int_equal(hl_div_derive(d, card, got), OCP_OK);
                    reference((uint8_t)suite, m, card, (uint8_t)slot,
                              (uint8_t)version, want);
                    assert_memory_equal(got, want, 16);
                }
    hl_div_cache_wipe(&cache);
}

static void test_unknown_suite(void **state)
{
    hl_div_cache cache;
    hl_diversifier *d = (hl_diversifier *)&cache;
    uint8_t master[16] = {0};
    (void)state;
    memset(&cache, 0, sizeof cache);
    assert_int_equal(hl_div_add(&cache, 3, 9, 1, master, &d), OCP_E_ARGS);
    assert_null(d);
    assert_null(hl_div_find(&cache, 0, 0, 0)); /* empty entries never match */
    hl_div_cache_wipe(&cache);
}

/* Nothing of a master outlives the wipe the stores' close does. */
static void test_wipe(void **state)
{
    hl_div_cache cache, zero;
    hl_diversifier *d;
    uint8_t master[16];
    unsigned i;
    (void)state;
    memset(&cache, 0, sizeof cache);
    memset(&zero, 0, sizeof zero);
    assert_int_equal(RAND_bytes(master, sizeof master), 1);
    for (i = 0; i < HL_DIV_CACHE_SIZE + 3; i++)
        assert_int_equal(hl_div_add(&cache, OCP_SUITE_AES, 9,
                                    (uint8_t)(i + 1), master, &d),
                         OCP_OK);
    hl_div_cache_wipe(&cache);
    assert_memory_equal(&cache, &zero, sizeof cache);
    assert_null(hl_div_find(&cache, OCP_SUITE_AES, 9, HL_DIV_CACHE_SIZE + 3));
    /* A wiped cache works again. */
    assert_int_equal(hl_div_add(&cache, OCP_SUITE_SM, 9, 1, master, &d),
                     OCP_OK);
    hl_div_cache_wipe(&cache);
    assert_memory_equal(&cache, &zero, sizeof cache);
}

/* The development store's keys as it computed them before the cache:
 * master = CMAC-AES(dev root, "MSTR" | suite | slot | version). */
static void dev_reference(uint8_t suite, const uint8_t card[8], uint8_t slot,
                          uint8_t version, uint8_t out[16])
{
    static const uint8_t dev_root[16] = {'O', 'C', 'P', '-', 'D', 'E',
                                         'V', '-', 'O', 'N', 'L', 'Y',
                                         '-', 'K', 'E', 'Y'};
    uint8_t m[7] = {'M', 'S', 'T', 'R', suite, slot, version}, master[16];
    ocp_cmac(OCP_CIPHER_AES128, dev_root, m, sizeof m, master);
    reference(suite, master, card, slot, version, out);
}

static void test_dev_store(void **state)
{
    char dir[] = "/tmp/ocp-test-diversify-XXXXXX", cmd[64];
    ocp_keystore *ks;
    uint8_t card[8], got[16], want[16];
    int open_no, i;
    (void)state;
    assert_non_null(mkdtemp(dir));
    for (open_no = 0; open_no < 2; open_no++) {
        assert_int_equal(ocp_keystore_dev_open(dir, &ks), OCP_OK);
        for (i = 0; i < 200; i++) {
            uint8_t suite = (uint8_t)(1 + i % 2); /* AES, SM */
            uint8_t slot = (uint8_t)(1 + (i / 2) % 10);
            uint8_t version = (uint8_t)(1 + (i / 20) % 3);
            assert_int_equal(RAND_bytes(card, sizeof card), 1);
            assert_int_equal(ks->ops->card_key(ks, suite, card, slot,
                                               version, got),
                             OCP_OK);
            dev_reference(suite, card, slot, version, want);
            assert_memory_equal(got, want, 16);
        }
        assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, card, 11, 1,
                                           got),
                         OCP_E_ARGS);
        assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, card, 9, 0,
                                           got),
                         OCP_E_ARGS);
        ocp_keystore_close(ks); /* leak checkers see every schedule go */
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_an10922),
        cmocka_unit_test(test_unknown_suite),
        cmocka_unit_test(test_wipe),
        cmocka_unit_test(test_dev_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
