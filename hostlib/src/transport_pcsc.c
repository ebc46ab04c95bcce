/*
 * The PC/SC transport: libpcsclite talking to pcscd (ocp/pcsc.h).
 *
 * Each connected transport owns its own PC/SC context, so transports may
 * live in different threads; the list, find and wait calls make a context
 * for the call and release it, so they keep working across a pcscd restart.
 *
 * Deadlines.  A card that stops answering (a mute card, a card that hangs
 * in the middle of a command) makes SCardTransmit through vpcd block for
 * ever: pcsc-lite has no transmit timeout and the vpcd driver none either.
 * So a transport with a timeout owns one worker thread, and every call
 * that reaches the card or the reader (connect, transmit, reset, begin,
 * end) runs there while the caller waits on a condition variable with a
 * deadline.  When the deadline passes, the call returns OCP_E_TIMEOUT and
 * the transport is marked stuck: every later call fails at once with
 * OCP_E_TIMEOUT, since the blocked worker still holds the context (and
 * pcsc-lite serialises the calls on one context).
 *
 * Who frees what: close() on an idle transport stops and joins the worker
 * and frees everything itself.  close() while the worker is still blocked
 * cannot wait for it, so it detaches the worker and hands it the transport:
 * when the PC/SC call finally returns (the card answers, is pulled, or
 * pcscd goes away), the worker disconnects, releases the context and frees
 * the struct.  Until then one thread, one context (a socket to pcscd) and
 * this struct stay in use; if the process exits first, the system takes
 * them back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "ocp/card.h" /* ocp_secret_wipe */
#include "ocp/pcsc.h"

enum job { JOB_NONE, JOB_CONNECT, JOB_TRANSMIT, JOB_RESET, JOB_BEGIN,
           JOB_END };

/* Largest command APDU: short Lc (255 bytes) plus Le. */
#define CAPDU_MAX 261u

struct pcsc_transport {
    ocp_transport t; /* first: t.ctx points back at this struct */
    SCARDCONTEXT ctx;
    SCARDHANDLE card;
    int connected;   /* card is a handle to disconnect */
    DWORD protocol;  /* SCARD_PROTOCOL_T0 or SCARD_PROTOCOL_T1 */
    char *reader;    /* for the connect job */
    long timeout_ms; /* > 0: calls go through the worker, with a deadline */
    int stuck;       /* a call timed out: the transport is unusable */

    /* The worker and its hand-off, all under `lock` (timeout_ms > 0). */
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t posted;    /* a job, or quit */
    pthread_cond_t finished;  /* busy went back to 0 */
    enum job job;
    int busy;        /* a job is posted or running */
    int quit;        /* close() on an idle transport: the worker ends */
    int abandoned;   /* close() while busy: the worker frees everything */
    LONG rv;         /* the job's PC/SC result */
    /* The job's APDUs live here, not in the caller's buffers, which are
     * gone once a timed-out call has returned. */
    BYTE cmd[CAPDU_MAX];
    DWORD cmd_len;
    /* Room for more than the largest legal answer, so an oversized one is
     * seen and refused instead of cut to fit. */
    BYTE resp[OCP_RAPDU_MAX + 2];
    DWORD resp_len;
};

/*
 * PC/SC results to libocp statuses, in one place.  `connected` tells a card
 * that went away during a session (OCP_E_CARD_REMOVED) from one that was
 * never there (OCP_E_NO_CARD).
 */
static ocp_status map_rv(LONG rv, int connected)
{
    switch (rv) {
    case SCARD_S_SUCCESS:
        return OCP_OK;
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
        return OCP_E_NO_SERVICE;
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
        return OCP_E_NO_READER;
    case SCARD_E_TIMEOUT:
        return OCP_E_TIMEOUT;
    case SCARD_W_RESET_CARD:
    case SCARD_W_UNPOWERED_CARD:
        /* Another application reset or powered the card down: the card's
         * session state is gone; the caller decides whether to reset. */
        return OCP_E_CARD_RESET;
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
        return connected ? OCP_E_CARD_REMOVED : OCP_E_NO_CARD;
    case SCARD_E_INVALID_HANDLE:
        /* A handle from before a pcscd restart: that connection is gone. */
        return connected ? OCP_E_CARD_REMOVED : OCP_E_TRANSPORT;
    case SCARD_E_SHARING_VIOLATION:
        return OCP_E_SHARING;
    case SCARD_E_INSUFFICIENT_BUFFER:
        return OCP_E_BUFFER;
    case SCARD_E_NO_MEMORY:
        return OCP_E_NOMEM;
    case SCARD_E_INVALID_PARAMETER:
    case SCARD_E_INVALID_VALUE:
        return OCP_E_ARGS;
    default:
        return OCP_E_TRANSPORT;
    }
}

static ocp_status open_context(SCARDCONTEXT *ctx)
{
    return map_rv(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx),
                  0);
}

/*
 * Fetches the reader multi-string into a fresh heap buffer.  An empty list
 * is returned as a single NUL (*len = 1), not as an error.
 */
static ocp_status list_alloc(SCARDCONTEXT ctx, char **out, size_t *len)
{
    int attempt;
    *out = NULL;
    *len = 0;
    /* The list can grow between the size query and the fetch (a reader
     * plugged in): ask again a few times. */
    for (attempt = 0; attempt < 4; attempt++) {
        DWORD n = 0;
        char *buf;
        LONG rv = SCardListReaders(ctx, NULL, NULL, &n);
        if (rv == SCARD_E_NO_READERS_AVAILABLE || (rv == SCARD_S_SUCCESS &&
                                                   n <= 1)) {
            *out = calloc(1, 1);
            if (*out == NULL)
                return OCP_E_NOMEM;
            *len = 1;
            return OCP_OK;
        }
        if (rv != SCARD_S_SUCCESS)
            return map_rv(rv, 0);
        buf = malloc(n);
        if (buf == NULL)
            return OCP_E_NOMEM;
        rv = SCardListReaders(ctx, NULL, buf, &n);
        if (rv == SCARD_S_SUCCESS && n >= 1) {
            buf[n - 1] = '\0'; /* never trust the terminator blindly */
            *out = buf;
            *len = n;
            return OCP_OK;
        }
        free(buf);
        if (rv == SCARD_E_NO_READERS_AVAILABLE)
            continue; /* taken away meanwhile: the next round says so */
        if (rv != SCARD_E_INSUFFICIENT_BUFFER)
            return map_rv(rv, 0);
    }
    return OCP_E_TRANSPORT;
}

ocp_status ocp_pcsc_list_readers(char *names, size_t *len)
{
    SCARDCONTEXT ctx;
    char *list;
    size_t n;
    ocp_status st;

    if (len == NULL || (names == NULL && *len != 0))
        return OCP_E_ARGS;
    st = open_context(&ctx);
    if (st != OCP_OK)
        return st;
    st = list_alloc(ctx, &list, &n);
    SCardReleaseContext(ctx);
    if (st != OCP_OK)
        return st;
    if (n > *len) {
        *len = n;
        free(list);
        return OCP_E_BUFFER;
    }
    memcpy(names, list, n);
    *len = n;
    free(list);
    return OCP_OK;
}

/* Parses a decimal index; -1 when spec is not all digits. */
static long parse_index(const char *spec)
{
    long v = 0;
    if (*spec == '\0' || strlen(spec) > 6)
        return -1;
    for (; *spec != '\0'; spec++) {
        if (*spec < '0' || *spec > '9')
            return -1;
        v = v * 10 + (*spec - '0');
    }
    return v;
}

ocp_status ocp_pcsc_find_reader(const char *spec, char *name, size_t cap)
{
    SCARDCONTEXT ctx;
    char *list;
    const char *p, *found = NULL;
    size_t n, flen;
    long index, i = 0;
    ocp_status st;

    if (name == NULL || cap == 0)
        return OCP_E_ARGS;
    if (spec == NULL)
        spec = "0";
    index = parse_index(spec);
    st = open_context(&ctx);
    if (st != OCP_OK)
        return st;
    st = list_alloc(ctx, &list, &n);
    SCardReleaseContext(ctx);
    if (st != OCP_OK)
        return st;
    /* A name wins over an index, in case a reader is really called "0". */
    for (p = list; *p != '\0'; p += strlen(p) + 1, i++) {
        if (strcmp(p, spec) == 0) {
            found = p;
            break;
        }
        if (i == index && found == NULL)
            found = p;
    }
    if (found == NULL) {
        free(list);
        return OCP_E_NO_READER;
    }
    flen = strlen(found) + 1;
    if (flen > cap) {
        free(list);
        return OCP_E_BUFFER;
    }
    memcpy(name, found, flen);
    free(list);
    return OCP_OK;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the reader's PRESENT bit equals want_present. */
static ocp_status wait_state(const char *reader, long timeout_ms,
                             int want_present)
{
    SCARD_READERSTATE rs;
    SCARDCONTEXT ctx;
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    DWORD step = 0; /* the first call only reads the current state */
    ocp_status st;

    if (reader == NULL)
        return OCP_E_ARGS;
    st = open_context(&ctx);
    if (st != OCP_OK)
        return st;
    memset(&rs, 0, sizeof rs);
    rs.szReader = reader;
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    for (;;) {
        LONG rv = SCardGetStatusChange(ctx, step, &rs, 1);
        long long left;
        if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
            st = map_rv(rv, 0);
            break;
        }
        if (rs.dwEventState & SCARD_STATE_UNKNOWN) {
            st = OCP_E_NO_READER;
            break;
        }
        if (((rs.dwEventState & SCARD_STATE_PRESENT) != 0) == want_present) {
            st = OCP_OK;
            break;
        }
        rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        if (timeout_ms == 0) {
            st = OCP_E_TIMEOUT;
            break;
        }
        if (timeout_ms < 0) {
            step = INFINITE;
            continue;
        }
        left = deadline - now_ms();
        if (left <= 0) {
            st = OCP_E_TIMEOUT;
            break;
        }
        step = (DWORD)left;
    }
    SCardReleaseContext(ctx);
    return st;
}

ocp_status ocp_pcsc_wait_card(const char *reader, long timeout_ms)
{
    return wait_state(reader, timeout_ms, 1);
}

ocp_status ocp_pcsc_wait_removal(const char *reader, long timeout_ms)
{
    return wait_state(reader, timeout_ms, 0);
}

/* The PC/SC call of a job; runs in the worker, or in the caller when the
 * transport has no timeout. */
static LONG run_job(struct pcsc_transport *p, enum job job)
{
    DWORD proto = 0;
    LONG rv;

    switch (job) {
    case JOB_CONNECT:
        rv = SCardConnect(p->ctx, p->reader, SCARD_SHARE_SHARED,
                          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->card,
                          &p->protocol);
        p->connected = rv == SCARD_S_SUCCESS;
        return rv;
    case JOB_TRANSMIT:
        p->resp_len = sizeof p->resp;
        return SCardTransmit(p->card,
                             p->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0
                                                              : SCARD_PCI_T1,
                             p->cmd, p->cmd_len, NULL, p->resp, &p->resp_len);
    case JOB_RESET:
        /* Cold (power off and on) where the reader can; a warm reset
         * else. */
        rv = SCardReconnect(p->card, SCARD_SHARE_SHARED,
                            SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                            SCARD_UNPOWER_CARD, &proto);
        if (rv == SCARD_E_UNSUPPORTED_FEATURE || rv == SCARD_E_NOT_TRANSACTED)
            rv = SCardReconnect(p->card, SCARD_SHARE_SHARED,
                                SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                                SCARD_RESET_CARD, &proto);
        if (rv == SCARD_S_SUCCESS)
            p->protocol = proto;
        return rv;
    case JOB_BEGIN:
        /* Also waits while another application holds the card: that wait
         * is bounded by the deadline too. */
        return SCardBeginTransaction(p->card);
    case JOB_END:
        return SCardEndTransaction(p->card, SCARD_LEAVE_CARD);
    case JOB_NONE:
        break;
    }
    return SCARD_E_INVALID_PARAMETER;
}

/* Everything the transport holds; the worker, if any, has ended. */
static void free_transport(struct pcsc_transport *p)
{
    if (p->connected)
        SCardDisconnect(p->card, SCARD_LEAVE_CARD);
    SCardReleaseContext(p->ctx);
    if (p->timeout_ms > 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->posted);
        pthread_cond_destroy(&p->finished);
    }
    free(p->reader);
    /* A command left by a timed-out call may carry a PIN, a response
     * holder data. */
    ocp_secret_wipe(p->cmd, sizeof p->cmd);
    ocp_secret_wipe(p->resp, sizeof p->resp);
    free(p);
}

static void *worker_main(void *arg)
{
    struct pcsc_transport *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        enum job job;
        LONG rv;
        while (!p->busy && !p->quit)
            pthread_cond_wait(&p->posted, &p->lock);
        if (p->quit)
            break;
        job = p->job;
        /* The caller touches neither the handle nor the buffers while
         * busy is set: they are the worker's until it clears it. */
        pthread_mutex_unlock(&p->lock);
        rv = run_job(p, job);
        pthread_mutex_lock(&p->lock);
        if (p->abandoned) {
            /* close() gave up on us and detached: ours to free. */
            pthread_mutex_unlock(&p->lock);
            free_transport(p);
            return NULL;
        }
        p->rv = rv;
        p->busy = 0;
        pthread_cond_signal(&p->finished);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Hands the worker to the transport: see the top of this file. */
static void abandon(struct pcsc_transport *p)
{
    /* Read before unlocking: once unlocked, the worker may free p. */
    pthread_t w = p->worker;
    p->abandoned = 1;
    pthread_mutex_unlock(&p->lock);
    pthread_detach(w);
}

/*
 * Runs a job and returns its PC/SC result in *rv, within the transport's
 * deadline.  OCP_E_TIMEOUT when the deadline passed (now, or at an earlier
 * call): the transport is then unusable.
 */
static ocp_status call(struct pcsc_transport *p, enum job job, LONG *rv)
{
    struct timespec deadline;
    int err = 0;

    if (p->stuck)
        return OCP_E_TIMEOUT;
    if (p->timeout_ms <= 0) {
        *rv = run_job(p, job);
        return OCP_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(p->timeout_ms / 1000);
    deadline.tv_nsec += (p->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    p->job = job;
    p->busy = 1;
    pthread_cond_signal(&p->posted);
    while (p->busy && err == 0)
        err = pthread_cond_timedwait(&p->finished, &p->lock, &deadline);
    if (p->busy) {
        p->stuck = 1;
        pthread_mutex_unlock(&p->lock);
        return OCP_E_TIMEOUT;
    }
    *rv = p->rv;
    pthread_mutex_unlock(&p->lock);
    return OCP_OK;
}

static ocp_status pcsc_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct pcsc_transport *p = t->ctx;
    DWORD got;
    LONG rv;
    ocp_status st;

    if (capdu == NULL || rapdu == NULL || rlen == NULL || clen < 4 ||
        clen > CAPDU_MAX)
        return OCP_E_ARGS;
    if (p->stuck)
        return OCP_E_TIMEOUT;
    memcpy(p->cmd, capdu, clen);
    p->cmd_len = (DWORD)clen;
    st = call(p, JOB_TRANSMIT, &rv);
    if (st != OCP_OK)
        return st;
    memset(p->cmd, 0, sizeof p->cmd); /* commands may carry PINs */
    /* The driver lost the card with the command in flight (vpcd: the
     * card's socket closed; a real reader: the card left the field): pcscd
     * says "not transacted".  A torn exchange, as a pull is. */
    if (rv == SCARD_E_NOT_TRANSACTED || rv == SCARD_F_COMM_ERROR)
        return OCP_E_CARD_REMOVED;
    if (rv != SCARD_S_SUCCESS)
        return map_rv(rv, 1);
    got = p->resp_len;
    /* pcscd reports success with a short answer when the card died in the
     * middle of it: never pass that up as a response. */
    if (got < 2 || got > OCP_RAPDU_MAX) {
        memset(p->resp, 0, sizeof p->resp);
        /* Fewer than two bytes: the card left in the middle (pcscd has not
         * noticed yet: it polls every 400 ms).  A torn exchange, which a
         * retry finishes; never a response. */
        if (got < 2)
            return OCP_E_CARD_REMOVED;
        return OCP_E_BAD_RESPONSE;
    }
    if (got > *rlen) {
        *rlen = got;
        memset(p->resp, 0, sizeof p->resp);
        return OCP_E_BUFFER;
    }
    memcpy(rapdu, p->resp, got);
    *rlen = got;
    memset(p->resp, 0, sizeof p->resp); /* responses may carry holder data */
    return OCP_OK;
}

/* A job whose only output is its PC/SC result. */
static ocp_status simple_job(ocp_transport *t, enum job job)
{
    struct pcsc_transport *p = t->ctx;
    LONG rv;
    ocp_status st = call(p, job, &rv);
    return st != OCP_OK ? st : map_rv(rv, 1);
}

static ocp_status pcsc_reset(ocp_transport *t)
{
    return simple_job(t, JOB_RESET);
}

static ocp_status pcsc_begin(ocp_transport *t)
{
    return simple_job(t, JOB_BEGIN);
}

static ocp_status pcsc_end(ocp_transport *t)
{
    return simple_job(t, JOB_END);
}

static void pcsc_close(ocp_transport *t)
{
    struct pcsc_transport *p;
    if (t == NULL)
        return;
    p = t->ctx;
    if (p->timeout_ms > 0) {
        pthread_mutex_lock(&p->lock);
        if (p->busy) {
            /* Still blocked in PC/SC: waiting for it is what the deadline
             * is there to avoid. */
            abandon(p);
            return;
        }
        p->quit = 1;
        pthread_cond_signal(&p->posted);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->worker, NULL);
    }
    free_transport(p);
}

static const struct ocp_transport_ops pcsc_ops = {
    pcsc_transmit, pcsc_reset, pcsc_begin, pcsc_end, pcsc_close,
};

/* The worker's locks; the condition variables time out on the monotonic
 * clock, which no change of the date moves. */
static ocp_status start_worker(struct pcsc_transport *p)
{
    pthread_condattr_t ca;
    int ok;

    if (pthread_condattr_init(&ca) != 0)
        return OCP_E_NOMEM;
    ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    if (ok && pthread_mutex_init(&p->lock, NULL) != 0)
        ok = 0;
    else if (ok && pthread_cond_init(&p->posted, &ca) != 0) {
        pthread_mutex_destroy(&p->lock);
        ok = 0;
    } else if (ok && pthread_cond_init(&p->finished, &ca) != 0) {
        pthread_cond_destroy(&p->posted);
        pthread_mutex_destroy(&p->lock);
        ok = 0;
    } else if (ok && pthread_create(&p->worker, NULL, worker_main, p) != 0) {
        pthread_cond_destroy(&p->finished);
        pthread_cond_destroy(&p->posted);
        pthread_mutex_destroy(&p->lock);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    return ok ? OCP_OK : OCP_E_NOMEM;
}

ocp_status ocp_pcsc_connect_timeout(const char *reader, long timeout_ms,
                                    ocp_transport **out)
{
    struct pcsc_transport *p;
    size_t n;
    LONG rv;
    ocp_status st;

    if (reader == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return OCP_E_NOMEM;
    n = strlen(reader) + 1;
    p->reader = malloc(n);
    if (p->reader == NULL) {
        free(p);
        return OCP_E_NOMEM;
    }
    memcpy(p->reader, reader, n);
    p->t.ops = &pcsc_ops;
    p->t.ctx = p;
    st = open_context(&p->ctx);
    if (st != OCP_OK) {
        free(p->reader);
        free(p);
        return st;
    }
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    if (p->timeout_ms > 0) {
        st = start_worker(p);
        if (st != OCP_OK) {
            p->timeout_ms = 0; /* no worker to stop */
            free_transport(p);
            return st;
        }
    }
    st = call(p, JOB_CONNECT, &rv);
    if (st == OCP_OK && rv != SCARD_S_SUCCESS)
        st = map_rv(rv, 0);
    if (st != OCP_OK) {
        pcsc_close(&p->t); /* frees now, or hands p to a blocked worker */
        return st;
    }
    *out = &p->t;
    return OCP_OK;
}

ocp_status ocp_pcsc_connect(const char *reader, ocp_transport **out)
{
    return ocp_pcsc_connect_timeout(reader, OCP_PCSC_DEFAULT_TIMEOUT_MS, out);
}
