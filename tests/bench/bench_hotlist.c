/*
 * bench_hotlist: the signed hotlist's look-up (DESIGN.md section 9 and
 * issue 6: 1 000 000 entries, exact with no false positives, at most 1 us
 * a look-up and 8 bytes an entry).
 *
 *   bench_hotlist [-n ENTRIES] [-q QUERIES]
 *
 * Writes a hotlist of ENTRIES cards with ocp_hotlist_write (the
 * development key store: every entry's block cryptogram and the issuer's
 * signature, as `ocp hotlist export` makes them), opens it as a terminal
 * does (ocp_hotlist_open: format, sorted ids, signature), then looks up
 * QUERIES listed cards and QUERIES cards that are not listed, in random
 * order.  Every listed card must be found with its cryptogram and no other
 * card may be: exactness is checked, not assumed.  Prints `name value
 * unit` lines:
 *   hotlist_lookup_hit_ns, hotlist_lookup_miss_ns   per look-up
 *   hotlist_false_positives, hotlist_false_negatives  must be 0
 *   hotlist_index_bytes_per_entry   what a look-up searches: the id block
 *                                   of the file, per entry
 *   hotlist_private_bytes_per_entry this process's own memory that opening
 *                                   and searching the hotlist took (the
 *                                   file is mapped, not copied)
 *   hotlist_file_bytes_per_entry    the whole file, cryptograms included
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ocp/hotlist.h"
#include "ocp/keystore.h"
#include "ocp_wire.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: the same ids every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Listed cards have even ids, the others odd ones: no query can be
 * listed by accident. */
static void card_id(uint64_t k, uint8_t id[8])
{
    int i;
    for (i = 7; i >= 0; i--, k >>= 8)
        id[i] = (uint8_t)k;
}

static uint64_t listed(uint64_t r) { return (r | 0x0100000000000000ULL) & ~1ULL; }

static int by_id(const void *x, const void *y)
{
    return memcmp(((const ocp_hotlist_card *)x)->card_id,
                  ((const ocp_hotlist_card *)y)->card_id, 8);
}

/* This process's own memory (RssAnon, in bytes): what the hotlist costs
 * a terminal beyond the file, which is mapped (shared, clean pages the
 * kernel can drop and read again). */
static long anon_bytes(void)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

int main(int argc, char **argv)
{
    size_t n = 1000000, queries = 1000000, i, hits = 0, false_pos = 0;
    char dir[] = "/tmp/ocp-bench-hotlist.XXXXXX", path[96], cmd[128];
    uint8_t der[512], crypt[8], id[8];
    size_t der_len = sizeof der;
    ocp_hotlist_card *cards;
    uint64_t *query, seed = 0x6f63702d686f746cULL;
    ocp_keystore *ks = NULL;
    ocp_hotlist *h = NULL;
    double t, hit_s, miss_s;
    struct stat st;
    long anon_before, anon_after;
    int opt, rc = 1;

    while ((opt = getopt(argc, argv, "n:q:")) != -1) {
        if (opt == 'n')
            n = strtoul(optarg, NULL, 10);
        else if (opt == 'q')
            queries = strtoul(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: bench_hotlist [-n ENTRIES] [-q QUERIES]\n");
            return 2;
        }
    }
    if (n == 0 || queries == 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_hotlist: bad arguments or no temporary dir\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/hotlist", dir);
    cards = calloc(n, sizeof *cards);
    query = calloc(queries, sizeof *query);
    if (cards == NULL || query == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        card_id(listed(next_random(&seed)), cards[i].card_id);
        cards[i].suite = OCP_SUITE_AES;
        cards[i].issuer_key_version = 1;
    }
    /* Distinct ids (the writer refuses repeats): sorted, repeats redrawn. */
    for (;;) {
        size_t dup = 0;
        qsort(cards, n, sizeof *cards, by_id);
        for (i = 1; i < n; i++)
            if (memcmp(cards[i].card_id, cards[i - 1].card_id, 8) == 0) {
                card_id(listed(next_random(&seed)), cards[i].card_id);
                dup++;
            }
        if (dup == 0)
            break;
    }
    snprintf(cmd, sizeof cmd, "%s/keys", dir);
    t = now_s();
    if (ocp_keystore_dev_open(cmd, &ks) != OCP_OK ||
        ocp_hotlist_write(path, ks, 1, 14154360u, OCP_SUITE_AES, cards, n) !=
            OCP_OK ||
        ks->ops->public_key(ks, OCP_SUITE_AES, der, &der_len) != OCP_OK) {
        fprintf(stderr, "bench_hotlist: cannot write the hotlist\n");
        goto out;
    }
    memset(query, 0xff, queries * sizeof *query); /* its pages are ours */
    anon_before = anon_bytes();
    if (ocp_hotlist_open(path, der, der_len, &h) != OCP_OK ||
        ocp_hotlist_count(h) != n) {
        fprintf(stderr, "bench_hotlist: cannot open the hotlist\n");
        goto out;
    }
    printf("hotlist_entries %zu entries\n", n);
    printf("hotlist_write_and_open_s %.2f s\n", now_s() - t);

    /* Listed cards in random order: each must be found. */
    for (i = 0; i < queries; i++)
        query[i] = next_random(&seed) % n;
    t = now_s();
    for (i = 0; i < queries; i++)
        hits += (size_t)ocp_hotlist_lookup(h, cards[query[i]].card_id, crypt);
    hit_s = now_s() - t;

    /* Cards not listed: odd ids, none may be found. */
    for (i = 0; i < queries; i++)
        query[i] = next_random(&seed) | 1;
    t = now_s();
    for (i = 0; i < queries; i++) {
        card_id(query[i], id);
        false_pos += (size_t)ocp_hotlist_lookup(h, id, NULL);
    }
    miss_s = now_s() - t;

    anon_after = anon_bytes();
    printf("hotlist_lookup_hit_ns %.0f ns\n", hit_s * 1e9 / (double)queries);
    printf("hotlist_lookup_miss_ns %.0f ns\n", miss_s * 1e9 / (double)queries);
    printf("hotlist_false_positives %zu lookups\n", false_pos);
    printf("hotlist_false_negatives %zu lookups\n", queries - hits);
    if (stat(path, &st) == 0) {
        /* The layout (docs/HOTLIST.md): a 24-byte header, the ids, the
         * cryptograms, a 64-byte signature. */
        double ids = ((double)st.st_size - 24 - 64) / 2;
        printf("hotlist_index_bytes_per_entry %.2f bytes\n", ids / (double)n);
        printf("hotlist_file_bytes_per_entry %.2f bytes\n",
               (double)st.st_size / (double)n);
    }
    if (anon_before >= 0 && anon_after >= 0)
        printf("hotlist_private_bytes_per_entry %.2f bytes\n",
               (double)(anon_after - anon_before) / (double)n);

    /* Every cryptogram as written: one checked against a fresh lookup. */
    rc = false_pos == 0 && hits == queries &&
                 ocp_hotlist_lookup(h, cards[n / 2].card_id, crypt) == 1
             ? 0
             : 1;
    if (rc != 0)
        fprintf(stderr, "bench_hotlist: the look-up is not exact\n");
out:
    ocp_hotlist_close(h);
    ocp_keystore_close(ks);
    free(cards);
    free(query);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_hotlist: could not remove %s\n", dir);
    return rc;
}
