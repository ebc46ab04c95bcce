/*
 * ocp serve: the kiosk bridge (docs/KIOSK.md).  Internal to the ocp
 * command.  One file per job:
 *
 *   cmd_serve.c     options, start (token, socket, threads), signals, stop
 *   serve_wipe.c    memory that is wiped when freed; the clock
 *   serve_http.c    libmicrohttpd: the Host/Origin/token checks, routing,
 *                   the request log, response headers
 *   serve_static.c  the page's files, the token put into index.html
 *   serve_api.c     the /api handlers: JSON in, JSON out
 *   serve_card.c    the card: public data, the holder's view (an open
 *                   kiosk session)
 *   serve_card_thread.c  the one thread that runs every card call
 *   serve_events.c  the event bus and the Server-Sent Events stream
 *   serve_watch.c   the watcher thread: card present/absent, idle clock
 *   serve_speech.c  reading aloud through espeak-ng
 *
 * Lock order: a card call may take the events, idle or speech lock; none
 * of them is held while waiting for a card call.
 */
#ifndef OCP_CLI_SERVE_H
#define OCP_CLI_SERVE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ocp/card.h"
#include "ocp/holder.h"
#include "ocp/keystore.h"

struct serve;

#define SERVE_MAX_ORIGINS 8
#define SERVE_TOKEN_HEX 64
/* A request body: a PIN pair or a sentence to read aloud. */
#define SERVE_MAX_BODY 4096

/* Why the holder's view (or the PIN entry) ended: the `session` event. */
enum serve_end_reason { END_REMOVED, END_IDLE, END_FINISHED };

struct serve_events {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* The newest events, a ring; seq counts every event ever posted. */
    struct {
        char name[16];
        char data[240];
    } ring[64];
    uint64_t seq;
    int stopping;
    /* The card state as last seen by the watcher, for a new stream. */
    int present;
    int available; /* pcscd answers and the reader exists */
    char reader[128];
};

struct serve_card {
    /* The card thread's hand-over: one call at a time (serve_card_thread.c). */
    pthread_mutex_t lock;
    pthread_cond_t posted, finished;
    void (*fn)(struct serve *, void *);
    void *arg;
    int busy, done, stopped;
    ocp_keystore *ks;
    const ocp_catalogue *cat;
    const char *reader_spec; /* -r: name or index; NULL: the first */
    uint32_t terminal_id;
    long card_timeout_ms;
    /* The holder's view: a kiosk session with the PIN verified. */
    ocp_transport *t;
    ocp_session *s;
    ocp_public_info pub;   /* read when the view opened */
    int signature_valid;
};

struct serve_idle {
    pthread_mutex_t lock;
    long idle_ms, warn_ms; /* the end, and the warning before it */
    int armed, warned;
    long long last_ms;     /* CLOCK_MONOTONIC of the last /api request */
};

struct serve_speech {
    pthread_mutex_t lock;
    int enabled;
    char program[512];     /* espeak-ng, or OCP_SPEECH_CMD: the full path */
    pid_t pid;             /* the utterance speaking now, or 0 */
};

struct serve {
    /* configuration */
    char host[64];         /* "127.0.0.1:8420": what Host must say */
    char host_alias[64];   /* "localhost:8420" on loopback, else "" */
    char self_origin[80], alias_origin[80];
    char origins[SERVE_MAX_ORIGINS][256]; /* --allow-origin */
    size_t n_origins;
    char csp[1024];
    const char *www;       /* the page directory (real path) */
    char token[SERVE_TOKEN_HEX + 1];
    /* state */
    struct serve_events ev;
    struct serve_card card;
    struct serve_idle idle;
    struct serve_speech speech;
    volatile int stopping;
};

/* ---- serve_wipe.c ------------------------------------------------------ */
/* free() for memory jansson or the bridge allocated through the wiping
 * allocator: overwrites the block, then frees it. */
void serve_wipe_free(void *p);
void *serve_wipe_malloc(size_t n);
long long serve_now_ms(void);

/* ---- serve_http.c ------------------------------------------------------- */
struct MHD_Daemon;
/* Starts libmicrohttpd on an already listening socket.  NULL on failure
 * (after a message). */
struct MHD_Daemon *http_start(struct serve *sv, int listen_fd);

/* ---- serve_static.c ----------------------------------------------------- */
struct MHD_Response;
/* The path rules, the file types and the token's injection, on their own
 * for the unit tests (tests/kiosk). */
int static_path_ok(const char *path);
const char *static_content_type(const char *path);
/* index.html with every __OCP_TOKEN__ replaced; free with serve_wipe_free. */
char *static_inject_token(const char *html, size_t len, const char *token,
                          size_t *out_len);
/* The response for a static path (GET/HEAD), headers set except the
 * common ones; *status is 200 or 404. */
struct MHD_Response *static_response(struct serve *sv, const char *path,
                                     unsigned *status);

/* ---- serve_api.c -------------------------------------------------------- */
/* Handles /api/... (not /api/events).  body may be NULL.  Returns the
 * HTTP status and sets *out to the JSON answer. */
unsigned api_handle(struct serve *sv, const char *method, const char *path,
                    const char *body, size_t body_len, json_t **out);

/* ---- serve_card_thread.c ------------------------------------------------- */
void card_thread_init(struct serve *sv);
/* Runs fn(sv, arg) on the card thread and waits for it to finish.  0, or
 * -1 when the card thread has stopped (fn did not run). */
int card_thread_call(struct serve *sv, void (*fn)(struct serve *, void *),
                     void *arg);
/* The card thread's loop (the main thread's), until card_thread_stop. */
void card_thread_loop(struct serve *sv);
void card_thread_stop(struct serve *sv);

/* ---- serve_card.c (each call runs on the card thread) -------------------- */
/* Public data: fills a JSON object (see docs/KIOSK.md, GET /api/card). */
ocp_status card_public(struct serve *sv, json_t **out);
/* Opens the view with the PIN; *tries_left on a wrong PIN. */
ocp_status card_view_open(struct serve *sv, const char *pin, int *tries_left);
/* The holder and the entitlements, or the log, through the view.
 * OCP_E_DENIED when no view is open. */
ocp_status card_view_holder(struct serve *sv, json_t **out);
ocp_status card_view_log(struct serve *sv, json_t **out);
ocp_status card_view_change_pin(struct serve *sv, const char *old_pin,
                                const char *new_pin, int *tries_left);
int card_view_is_open(struct serve *sv);
/* Ends the view, if one is open, and posts the `session` event (always
 * for END_FINISHED/END_IDLE; for END_REMOVED by the watcher). */
void card_view_end(struct serve *sv, enum serve_end_reason why);
/* The reader list as JSON (GET /api/readers). */
ocp_status card_readers(struct serve *sv, json_t **out);
/* Drops the view; on the card thread after its loop ended. */
void card_cleanup(struct serve *sv);

/* ---- serve_events.c ----------------------------------------------------- */
void events_init(struct serve_events *ev);
/* Posts an event to every stream; data is one line of JSON. */
void events_post(struct serve_events *ev, const char *name, const char *data);
void events_session_ended(struct serve_events *ev, enum serve_end_reason why);
/* The watcher's view of the reader; posts `card`/`reader` on a change. */
void events_card_state(struct serve_events *ev, int available, int present,
                       const char *reader);
int events_card_present(struct serve_events *ev);
/* A new Server-Sent Events response (the first event: the card state). */
struct MHD_Response *events_stream(struct serve *sv);
/* Wakes every stream so it ends (shutdown). */
void events_stop(struct serve_events *ev);

/* ---- serve_watch.c ------------------------------------------------------ */
int watch_start(struct serve *sv, pthread_t *thread);
/* Any /api request: the page is in use, the idle clock starts again. */
void watch_touch(struct serve *sv);

/* ---- serve_speech.c ----------------------------------------------------- */
/* 0, or -1 after a message (the program is missing: speech off). */
int speech_init(struct serve_speech *sp, int enabled);
/* 0 spoken (started); -1 speech off or the program did not start. */
int speech_say(struct serve_speech *sp, const char *voice, const char *text);
/* Nonzero when text has 4 or more digits in a row (ASCII or fullwidth). */
int speech_has_digit_run(const char *text);
/* Reaps an utterance that has finished (watcher tick). */
void speech_reap(struct serve_speech *sp);
void speech_stop(struct serve_speech *sp);

#endif
