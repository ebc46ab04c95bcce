/*
 * The bridge's events and the Server-Sent Events stream (GET /api/events).
 *
 * Events go into a small ring with a running sequence number; each stream
 * remembers the next number it has to send, so a slow stream neither holds
 * up the watcher nor needs a queue of its own.  A stream that falls more
 * than the ring behind skips to the oldest event kept: the page only needs
 * the latest card state, which every `card` event carries whole.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

#define RING (sizeof ((struct serve_events *)0)->ring / \
              sizeof ((struct serve_events *)0)->ring[0])
/* A comment line this often keeps proxies and the browser from deciding
 * the stream is dead. */
#define KEEPALIVE_S 15

void events_init(struct serve_events *ev)
{
    pthread_condattr_t ca;
    memset(ev, 0, sizeof *ev);
    pthread_mutex_init(&ev->lock, NULL);
    /* Waits are measured on the monotonic clock: a kiosk's wall clock is
     * set by NTP at boot, and a jump must not stall the keep-alives. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ev->cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void post_locked(struct serve_events *ev, const char *name,
                        const char *data)
{
    size_t i = (size_t)(ev->seq % RING);
    snprintf(ev->ring[i].name, sizeof ev->ring[i].name, "%s", name);
    snprintf(ev->ring[i].data, sizeof ev->ring[i].data, "%s", data);
    ev->seq++;
    pthread_cond_broadcast(&ev->cond);
}

void events_post(struct serve_events *ev, const char *name, const char *data)
{
    pthread_mutex_lock(&ev->lock);
    post_locked(ev, name, data);
    pthread_mutex_unlock(&ev->lock);
}

void events_session_ended(struct serve_events *ev, enum serve_end_reason why)
{
    static const char *const reasons[] = {"removed", "idle", "finished"};
    char data[64];
    snprintf(data, sizeof data, "{\"state\":\"ended\",\"reason\":\"%s\"}",
             reasons[why]);
    events_post(ev, "session", data);
}

/* The reader name goes into JSON: escape what JSON needs escaped. */
static void card_data(const struct serve_events *ev, char *out, size_t cap)
{
    json_t *o = json_pack("{s:s, s:s}", "state",
                          ev->present ? "present" : "absent", "reader",
                          ev->reader);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(out, cap, "%s", s ? s : "{\"state\":\"absent\"}");
    serve_wipe_free(s);
    json_decref(o);
}

void events_card_state(struct serve_events *ev, int available, int present,
                       const char *reader)
{
    char data[240];
    pthread_mutex_lock(&ev->lock);
    if (available != ev->available)
        post_locked(ev, "reader", available ? "{\"state\":\"available\"}"
                                            : "{\"state\":\"unavailable\"}");
    ev->available = available;
    if (reader != NULL)
        snprintf(ev->reader, sizeof ev->reader, "%s", reader);
    if (present != ev->present) {
        ev->present = present;
        card_data(ev, data, sizeof data);
        post_locked(ev, "card", data);
    }
    pthread_mutex_unlock(&ev->lock);
}

int events_card_present(struct serve_events *ev)
{
    int p;
    pthread_mutex_lock(&ev->lock);
    p = ev->present;
    pthread_mutex_unlock(&ev->lock);
    return p;
}

void events_stop(struct serve_events *ev)
{
    pthread_mutex_lock(&ev->lock);
    ev->stopping = 1;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
}

/* One open stream. */
struct stream {
    struct serve_events *ev;
    uint64_t next;          /* the next event to send */
    char buf[320];          /* the text being sent */
    size_t len, off;
};

static void format_event(struct stream *st, const char *name,
                         const char *data)
{
    int n = snprintf(st->buf, sizeof st->buf, "event: %s\ndata: %s\n\n",
                     name, data);
    st->len = n < 0 ? 0 : (size_t)n >= sizeof st->buf ? sizeof st->buf - 1
                                                       : (size_t)n;
    st->off = 0;
}

/* libmicrohttpd asks for more of the body; with a thread per connection
 * this may block, and does, until an event or the keep-alive is due. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *st = cls;
    struct serve_events *ev = st->ev;
    size_t n;
    (void)pos;
    if (st->off == st->len) {
        struct timespec until;
        int rc = 0;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += KEEPALIVE_S;
        pthread_mutex_lock(&ev->lock);
        while (!ev->stopping && st->next == ev->seq && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&ev->cond, &ev->lock, &until);
        if (ev->stopping) {
            pthread_mutex_unlock(&ev->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (st->next != ev->seq) {
            size_t i;
            if (ev->seq - st->next > RING)
                st->next = ev->seq - RING;
            i = (size_t)(st->next % RING);
            format_event(st, ev->ring[i].name, ev->ring[i].data);
            st->next++;
        } else {
            memcpy(st->buf, ": keep-alive\n\n", 15);
            st->len = 14;
            st->off = 0;
        }
        pthread_mutex_unlock(&ev->lock);
    }
    n = st->len - st->off;
    if (n > max)
        n = max;
    memcpy(out, st->buf + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    free(cls);
}

struct MHD_Response *events_stream(struct serve *sv)
{
    struct stream *st = calloc(1, sizeof *st);
    struct MHD_Response *r;
    char data[240];
    if (st == NULL)
        return NULL;
    st->ev = &sv->ev;
    pthread_mutex_lock(&sv->ev.lock);
    st->next = sv->ev.seq;
    /* The current state first, so the page need not ask for it. */
    card_data(&sv->ev, data, sizeof data);
    format_event(st, "card", data);
    pthread_mutex_unlock(&sv->ev.lock);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 512, stream_read,
                                          st, stream_free);
    if (r == NULL) {
        free(st);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    return r;
}
