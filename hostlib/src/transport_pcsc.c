/*
 * The PC/SC transport: libpcsclite talking to pcscd (ocp/pcsc.h).
 *
 * Each connected transport owns its own PC/SC context, so transports may
 * live in different threads; the list, find and wait calls make a context
 * for the call and release it, so they keep working across a pcscd restart.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "ocp/pcsc.h"

struct pcsc_transport {
    ocp_transport t; /* first: t.ctx points back at this struct */
    SCARDCONTEXT ctx;
    SCARDHANDLE card;
    DWORD protocol;  /* SCARD_PROTOCOL_T0 or SCARD_PROTOCOL_T1 */
};

/* Largest command APDU: short Lc (255 bytes) plus Le. */
#define CAPDU_MAX 261u

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

static ocp_status pcsc_transmit(ocp_transport *t, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct pcsc_transport *p = t->ctx;
    const SCARD_IO_REQUEST *pci;
    /* Room for more than the largest legal answer, so an oversized one is
     * seen and refused instead of cut to fit. */
    BYTE resp[OCP_RAPDU_MAX + 2];
    DWORD got = sizeof resp;
    LONG rv;

    if (capdu == NULL || rapdu == NULL || rlen == NULL || clen < 4 ||
        clen > CAPDU_MAX)
        return OCP_E_ARGS;
    pci = p->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    rv = SCardTransmit(p->card, pci, capdu, (DWORD)clen, NULL, resp, &got);
    if (rv != SCARD_S_SUCCESS)
        return map_rv(rv, 1);
    /* pcscd reports success with a short answer when the card died in the
     * middle of it: never pass that up as a response. */
    if (got < 2 || got > OCP_RAPDU_MAX) {
        memset(resp, 0, sizeof resp);
        /* Fewer than two bytes: the card left in the middle (pcscd has not
         * noticed yet: it polls every 400 ms).  A torn exchange, which a
         * retry finishes; never a response. */
        if (got < 2)
            return OCP_E_CARD_REMOVED;
        return OCP_E_BAD_RESPONSE;
    }
    if (got > *rlen) {
        *rlen = got;
        memset(resp, 0, sizeof resp);
        return OCP_E_BUFFER;
    }
    memcpy(rapdu, resp, got);
    *rlen = got;
    memset(resp, 0, sizeof resp); /* responses may carry holder data */
    return OCP_OK;
}

static ocp_status pcsc_reset(ocp_transport *t)
{
    struct pcsc_transport *p = t->ctx;
    DWORD proto = 0;
    /* Cold (power off and on) where the reader can; a warm reset else. */
    LONG rv = SCardReconnect(p->card, SCARD_SHARE_SHARED,
                             SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                             SCARD_UNPOWER_CARD, &proto);
    if (rv == SCARD_E_UNSUPPORTED_FEATURE || rv == SCARD_E_NOT_TRANSACTED)
        rv = SCardReconnect(p->card, SCARD_SHARE_SHARED,
                            SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                            SCARD_RESET_CARD, &proto);
    if (rv != SCARD_S_SUCCESS)
        return map_rv(rv, 1);
    p->protocol = proto;
    return OCP_OK;
}

static ocp_status pcsc_begin(ocp_transport *t)
{
    struct pcsc_transport *p = t->ctx;
    return map_rv(SCardBeginTransaction(p->card), 1);
}

static ocp_status pcsc_end(ocp_transport *t)
{
    struct pcsc_transport *p = t->ctx;
    return map_rv(SCardEndTransaction(p->card, SCARD_LEAVE_CARD), 1);
}

static void pcsc_close(ocp_transport *t)
{
    struct pcsc_transport *p;
    if (t == NULL)
        return;
    p = t->ctx;
    SCardDisconnect(p->card, SCARD_LEAVE_CARD);
    SCardReleaseContext(p->ctx);
    free(p);
}

static const struct ocp_transport_ops pcsc_ops = {
    pcsc_transmit, pcsc_reset, pcsc_begin, pcsc_end, pcsc_close,
};

ocp_status ocp_pcsc_connect(const char *reader, ocp_transport **out)
{
    struct pcsc_transport *p;
    LONG rv;
    ocp_status st;

    if (reader == NULL || out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return OCP_E_NOMEM;
    st = open_context(&p->ctx);
    if (st != OCP_OK) {
        free(p);
        return st;
    }
    rv = SCardConnect(p->ctx, reader, SCARD_SHARE_SHARED,
                      SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->card,
                      &p->protocol);
    if (rv != SCARD_S_SUCCESS) {
        SCardReleaseContext(p->ctx);
        free(p);
        return map_rv(rv, 0);
    }
    p->t.ops = &pcsc_ops;
    p->t.ctx = p;
    *out = &p->t;
    return OCP_OK;
}
