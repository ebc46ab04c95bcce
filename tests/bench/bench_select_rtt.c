/*
 * bench_select_rtt: the round-trip time of one APDU through the real stack
 * (libocp's PC/SC transport, pcscd, vpcd, ocp-card), measured with SELECT.
 *
 *   bench_select_rtt [READER [COUNT]]   default "Virtual PCD 00 00", 1000
 *
 * Prints `name value unit` lines: select_rtt_median_us, select_rtt_p90_us,
 * select_rtt_min_us.  Every answer must be 90 00, or the run fails: a fast
 * error is no measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocp/pcsc.h"

#define WARMUP 20
#define DEFAULT_COUNT 1000

/* SELECT by AID F0 4F 43 50 01 with Le: the card answers data and 90 00. */
static const uint8_t select_apdu[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0,
                                      0x4F, 0x43, 0x50, 0x01, 0x00};

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

/* One SELECT; 0 when it was answered 90 00. */
static int select_once(ocp_transport *t)
{
    uint8_t r[OCP_RAPDU_MAX];
    size_t rlen = sizeof r;
    ocp_status st =
        t->ops->transmit(t, select_apdu, sizeof select_apdu, r, &rlen);
    if (st != OCP_OK) {
        fprintf(stderr, "bench_select_rtt: transmit: %s\n", ocp_strerror(st));
        return -1;
    }
    if (r[rlen - 2] != 0x90 || r[rlen - 1] != 0x00) {
        fprintf(stderr, "bench_select_rtt: SELECT answered %02X %02X\n",
                r[rlen - 2], r[rlen - 1]);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *reader = argc > 1 ? argv[1] : "Virtual PCD 00 00";
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : DEFAULT_COUNT;
    ocp_transport *t = NULL;
    double *rtt;
    long i;
    ocp_status st;
    int rc = 1;

    if (count < 10 || count > 10000000) {
        fprintf(stderr, "usage: bench_select_rtt [READER [COUNT >= 10]]\n");
        return 2;
    }
    rtt = malloc((size_t)count * sizeof *rtt);
    if (rtt == NULL)
        return 1;
    st = ocp_pcsc_wait_card(reader, 5000);
    if (st == OCP_OK)
        st = ocp_pcsc_connect(reader, &t);
    if (st != OCP_OK) {
        fprintf(stderr, "bench_select_rtt: %s: %s\n", reader,
                ocp_strerror(st));
        goto out;
    }
    for (i = 0; i < WARMUP; i++)
        if (select_once(t) != 0)
            goto out;
    for (i = 0; i < count; i++) {
        double start = now_us();
        if (select_once(t) != 0)
            goto out;
        rtt[i] = now_us() - start;
    }
    qsort(rtt, (size_t)count, sizeof *rtt, cmp_double);
    printf("select_rtt_median_us %.1f us\n", rtt[count / 2]);
    printf("select_rtt_p90_us %.1f us\n", rtt[count * 9 / 10]);
    printf("select_rtt_min_us %.1f us\n", rtt[0]);
    rc = 0;
out:
    if (t != NULL)
        t->ops->close(t);
    free(rtt);
    return rc;
}
