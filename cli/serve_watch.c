/*
 * The watcher thread of ocp serve: it asks pcscd whether a card is in the
 * bridge's reader (SCardGetStatusChange, a quarter of a second at a time),
 * ends the holder's view the moment the card leaves, and runs the idle
 * clock.  pcscd gone or the reader missing: it reports the reader
 * unavailable and tries again every second, so the bridge recovers by
 * itself when they come back.
 */
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ocp/pcsc.h"
#include "serve.h"

#define TICK_MS 250

void watch_touch(struct serve *sv)
{
    struct serve_idle *id = &sv->idle;
    pthread_mutex_lock(&id->lock);
    id->last_ms = serve_now_ms();
    id->armed = 1;
    id->warned = 0;
    pthread_mutex_unlock(&id->lock);
}

static void idle_disarm(struct serve *sv)
{
    pthread_mutex_lock(&sv->idle.lock);
    sv->idle.armed = 0;
    pthread_mutex_unlock(&sv->idle.lock);
}

/* The clock runs while a card is in the reader: the page is past its start
 * screen.  It is armed by a card arriving or an /api request. */
static void idle_tick(struct serve *sv)
{
    struct serve_idle *id = &sv->idle;
    long long left;
    int warn = 0, end = 0;
    int present = events_card_present(&sv->ev);
    pthread_mutex_lock(&id->lock);
    /* No card: the page is on its start screen already. */
    if (id->armed && !present)
        id->armed = 0;
    if (id->armed) {
        left = id->idle_ms - (serve_now_ms() - id->last_ms);
        if (left <= 0) {
            id->armed = 0;
            end = 1;
        } else if (!id->warned && left <= id->warn_ms) {
            id->warned = 1;
            warn = (int)((left + 999) / 1000);
        }
    }
    pthread_mutex_unlock(&id->lock);
    if (warn) {
        char data[48];
        snprintf(data, sizeof data, "{\"seconds_left\":%d}", warn);
        events_post(&sv->ev, "idle-warning", data);
    }
    if (end)
        card_view_end(sv, END_IDLE);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void card_gone(struct serve *sv, int available, const char *reader)
{
    int was = events_card_present(&sv->ev);
    events_card_state(&sv->ev, available, 0, reader);
    if (was) {
        idle_disarm(sv);
        card_view_end(sv, END_REMOVED);
    }
}

static void card_came(struct serve *sv, const char *reader)
{
    events_card_state(&sv->ev, 1, 1, reader);
    watch_touch(sv);
}

/* Watches one reader until pcscd or the reader goes away, or the bridge
 * stops. */
static void watch_reader(struct serve *sv, SCARDCONTEXT ctx, const char *name)
{
    SCARD_READERSTATE rs;
    DWORD last_count = 0;
    int have_count = 0;
    memset(&rs, 0, sizeof rs);
    rs.szReader = name;
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    while (!sv->stopping) {
        LONG rv = SCardGetStatusChange(ctx, TICK_MS, &rs, 1);
        idle_tick(sv);
        speech_reap(&sv->speech);
        if (rv == (LONG)SCARD_E_TIMEOUT)
            continue;
        if (rv != SCARD_S_SUCCESS ||
            (rs.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE))) {
            card_gone(sv, 0, name);
            return;
        }
        {
            DWORD state = rs.dwEventState;
            DWORD count = state >> 16;
            int present = (state & SCARD_STATE_PRESENT) != 0 &&
                          (state & SCARD_STATE_MUTE) == 0;
            /* Out and in again between two looks: the event counter moved
             * by more than one.  That is another card, or the same card
             * with its session gone: the view must end. */
            if (present && events_card_present(&sv->ev) && have_count &&
                count != last_count && count != last_count + 1)
                card_gone(sv, 1, name);
            if (present && !events_card_present(&sv->ev))
                card_came(sv, name);
            else if (!present && events_card_present(&sv->ev))
                card_gone(sv, 1, name);
            else
                events_card_state(&sv->ev, 1, present, name);
            last_count = count;
            have_count = 1;
            rs.dwCurrentState = state & ~(DWORD)SCARD_STATE_CHANGED;
        }
    }
}

static void *watch_main(void *arg)
{
    struct serve *sv = arg;
    while (!sv->stopping) {
        SCARDCONTEXT ctx;
        char name[256];
        long waited;
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) !=
            SCARD_S_SUCCESS) {
            card_gone(sv, 0, NULL);
        } else {
            if (ocp_pcsc_find_reader(sv->card.reader_spec, name, sizeof name) ==
                OCP_OK)
                watch_reader(sv, ctx, name);
            else
                card_gone(sv, 0, sv->card.reader_spec);
            SCardReleaseContext(ctx);
        }
        /* Try again in a second, still keeping the idle clock. */
        for (waited = 0; waited < 1000 && !sv->stopping; waited += TICK_MS) {
            idle_tick(sv);
            speech_reap(&sv->speech);
            sleep_ms(TICK_MS);
        }
    }
    return NULL;
}

int watch_start(struct serve *sv, pthread_t *thread)
{
    return pthread_create(thread, NULL, watch_main, sv) == 0 ? 0 : -1;
}
