/*
 * bench_validation: a bus validation through the real stack, side by side
 * with bare round trips on the same connection (DESIGN.md section 9).
 *
 *   bench_validation READER KEYDIR [COUNT]
 *
 * The card in READER must be blank; it is issued first with the
 * development key store in KEYDIR.  Then, alternating so both see the same
 * machine load: one validation (SELECT, MUTUAL AUTHENTICATE, CONSUME with
 * the R-MAC checked: from the first APDU to the verified answer, connection
 * open, one process) and three bare SELECTs.  Prints `name value unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocp/card.h"
#include "ocp/issue.h"
#include "ocp/journal.h"
#include "ocp/keystore.h"
#include "ocp/pcsc.h"
#include "ocp/trace.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static int bare_select(ocp_transport *t)
{
    static const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0,
                                  0x4F, 0x43, 0x50, 0x01, 0x00};
    uint8_t r[OCP_RAPDU_MAX];
    size_t n = sizeof r;
    return t->ops->transmit(t, sel, sizeof sel, r, &n) == OCP_OK &&
                   n >= 2 && r[n - 2] == 0x90
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    static const ocp_entitlement bus = {0, 0x0101, 2, 1, 0, 9000, 12000,
                                        0, 0, 0, 0};
    ocp_transport *t, *traced;
    ocp_keystore *ks;
    ocp_issue_request req;
    ocp_trace_stats ts;
    long count, i;
    double *val, *bare, t0, connect_us;
    ocp_status st;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_validation READER KEYDIR [COUNT]\n");
        return 2;
    }
    count = argc > 3 ? strtol(argv[3], NULL, 10) : 300;
    val = calloc((size_t)count, sizeof *val);
    bare = calloc((size_t)count, sizeof *bare);
    if (count < 1 || !val || !bare ||
        ocp_keystore_dev_open(argv[2], &ks) != OCP_OK)
        return 1;
    t0 = now_us();
    st = ocp_pcsc_connect(argv[1], &t);
    connect_us = now_us() - t0;
    if (st != OCP_OK) {
        fprintf(stderr, "connect: %s\n", ocp_strerror(st));
        return 1;
    }
    memset(&req, 0, sizeof req);
    req.suite = 1;
    req.issue_date = 9800;
    req.expiry_date = 12000;
    strcpy(req.holder.name, "Bench");
    strcpy(req.holder.cert_no, "11010119800101123X42");
    req.holder.category = 4;
    req.holder.grade = 2;
    req.holder.district = 110105;
    strcpy(req.pin, "2468");
    req.entitlements = &bus;
    req.n_entitlements = 1;
    req.datetime = 9829u * 1440u;
    t0 = now_us();
    st = ocp_issue_card(t, ks, &req, NULL);
    printf("issue_card_ms %.1f ms\n", (now_us() - t0) / 1000.0);
    if (st != OCP_OK) {
        fprintf(stderr, "issue: %s\n", ocp_strerror(st));
        return 1;
    }
    if (ocp_trace_wrap(t, NULL, &traced) != OCP_OK)
        return 1;
    for (i = 0; i < count; i++) {
        ocp_session *s;
        ocp_tx_result tx;
        t0 = now_us();
        st = ocp_open_role(traced, ks, 2, 0x0B000001u, 9829u * 1440u, NULL,
                           NULL, &s);
        if (st == OCP_OK)
            st = ocp_consume(s, 0x0101, 1, (uint32_t)i + 1, &tx);
        val[i] = now_us() - t0;
        ocp_session_close(s);
        if (st != OCP_OK) {
            fprintf(stderr, "validation %ld: %s\n", i, ocp_strerror(st));
            return 1;
        }
        if (i == 0) {
            ocp_trace_get(traced, &ts);
            printf("validation_round_trips %lu pairs\n", ts.exchanges);
            printf("validation_apdu_bytes %lu bytes\n",
                   ts.bytes_out + ts.bytes_in);
        }
        t0 = now_us();
        if (bare_select(traced) || bare_select(traced) || bare_select(traced))
            return 1;
        bare[i] = now_us() - t0;
    }
    {
        /* The journal's cost per tap: two synchronous commits (the attempt
         * before CONSUME, its outcome after), each an fsync. */
        char jpath[4096];
        ocp_journal *j;
        uint8_t card[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        ocp_tx_result tx;
        uint32_t seq;
        int retry;
        long k, n = count < 100 ? count : 100;
        double *jb = calloc((size_t)n, sizeof *jb), *jf = calloc((size_t)n, sizeof *jf);
        snprintf(jpath, sizeof jpath, "%s/bench-journal.db", argv[2]);
        memset(&tx, 0, sizeof tx);
        if (jb == NULL || jf == NULL ||
            ocp_journal_open(jpath, 0x0B00FFFFu, &j) != OCP_OK)
            return 1;
        for (k = 0; k < n; k++) {
            t0 = now_us();
            if (ocp_journal_begin(j, card, 2, 0x0101, 1, 0, &seq, &retry) !=
                OCP_OK)
                return 1;
            jb[k] = now_us() - t0;
            t0 = now_us();
            if (ocp_journal_accept(j, seq, &tx) != OCP_OK)
                return 1;
            jf[k] = now_us() - t0;
        }
        ocp_journal_close(j);
        printf("journal_begin_fsync_us %.0f us\n", median(jb, n));
        printf("journal_finish_fsync_us %.0f us\n", median(jf, n));
        free(jb);
        free(jf);
    }
    {
        double v = median(val, count), b = median(bare, count);
        printf("connect_us %.0f us\n", connect_us);
        printf("validation_median_us %.0f us\n", v);
        printf("three_bare_round_trips_median_us %.0f us\n", b);
        printf("validation_over_bare_ratio %.2f x\n", v / b);
    }
    traced->ops->close(traced);
    ocp_keystore_close(ks);
    free(val);
    free(bare);
    return 0;
}
