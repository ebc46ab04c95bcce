/*
 * pcsc-wait: wait for pcscd, or for a card to appear in or leave a reader.
 *
 *   pcsc-wait service [timeout_s]         pcscd answers a context and a
 *                                         reader list
 *   pcsc-wait present READER [timeout_s]  READER reports a card
 *   pcsc-wait absent READER [timeout_s]   READER reports no card
 *
 * Exit 0 when the condition holds, 1 on timeout (with the last thing seen),
 * 2 on a usage error.  The default timeout is 10 s.  Errors that a pcscd
 * restart causes (no service, invalid context, unknown reader while vpcd
 * loads) are retried until the timeout: the scripts use this while pcscd
 * comes and goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

/* A short PC/SC timeout per call, so deadlines and restarts are noticed. */
#define STEP_MS 250u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* 1 when pcscd answers SCardEstablishContext and SCardListReaders. */
static int service_answers(LONG *last)
{
    SCARDCONTEXT ctx;
    DWORD len = 0;
    *last = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (*last != SCARD_S_SUCCESS)
        return 0;
    *last = SCardListReaders(ctx, NULL, NULL, &len);
    SCardReleaseContext(ctx);
    /* No reader at all is still an answer from the service. */
    return *last == SCARD_S_SUCCESS || *last == SCARD_E_NO_READERS_AVAILABLE;
}

static int wait_service(double deadline)
{
    LONG last = SCARD_S_SUCCESS;
    while (!service_answers(&last)) {
        if (now_s() >= deadline) {
            fprintf(stderr, "pcsc-wait: pcscd does not answer: %s\n",
                    pcsc_stringify_error(last));
            return 1;
        }
        pause_ms(100);
    }
    return 0;
}

/* Waits until the reader's state has (want_present) or lacks PRESENT. */
static int wait_card(const char *reader, int want_present, double deadline)
{
    LONG last = SCARD_S_SUCCESS;
    DWORD seen = 0;

    for (;;) {
        SCARDCONTEXT ctx;
        SCARD_READERSTATE rs;

        last = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
        if (last == SCARD_S_SUCCESS) {
            memset(&rs, 0, sizeof rs);
            rs.szReader = reader;
            rs.dwCurrentState = SCARD_STATE_UNAWARE;
            /* The first call reports the state at once; later ones sleep in
             * pcscd until it changes or STEP_MS passes. */
            while ((last = SCardGetStatusChange(ctx, STEP_MS, &rs, 1)) ==
                       SCARD_S_SUCCESS ||
                   last == SCARD_E_TIMEOUT) {
                int present;
                seen = rs.dwEventState;
                present = (seen & SCARD_STATE_PRESENT) != 0;
                if (last == SCARD_S_SUCCESS &&
                    (seen & SCARD_STATE_UNKNOWN) == 0 &&
                    present == want_present) {
                    SCardReleaseContext(ctx);
                    return 0;
                }
                rs.dwCurrentState = seen & ~(DWORD)SCARD_STATE_CHANGED;
                if (now_s() >= deadline)
                    break;
            }
            SCardReleaseContext(ctx);
        }
        if (now_s() >= deadline) {
            fprintf(stderr,
                    "pcsc-wait: reader \"%s\" still %s (state 0x%lx, last "
                    "PC/SC result: %s)\n",
                    reader, want_present ? "has no card" : "has a card",
                    (unsigned long)seen, pcsc_stringify_error(last));
            return 1;
        }
        /* No service, an unknown reader while pcscd starts, or a context
         * made invalid by a pcscd restart: try again with a new one. */
        pause_ms(100);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: pcsc-wait service [timeout_s]\n"
                    "       pcsc-wait present READER [timeout_s]\n"
                    "       pcsc-wait absent READER [timeout_s]\n");
    return 2;
}

static int parse_timeout(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= 0.0) || v > 86400.0)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    double timeout = 10.0;
    if (argc >= 2 && strcmp(argv[1], "service") == 0 && argc <= 3) {
        if (argc == 3 && parse_timeout(argv[2], &timeout) != 0)
            return usage();
        return wait_service(now_s() + timeout);
    }
    if (argc >= 3 && argc <= 4 &&
        (strcmp(argv[1], "present") == 0 || strcmp(argv[1], "absent") == 0)) {
        if (argc == 4 && parse_timeout(argv[3], &timeout) != 0)
            return usage();
        return wait_card(argv[2], strcmp(argv[1], "present") == 0,
                         now_s() + timeout);
    }
    return usage();
}
