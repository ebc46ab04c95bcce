/*
 * HTTP for ocp serve, on libmicrohttpd: the checks every request passes
 * (Host against DNS rebinding, Origin against other pages in the same
 * browser, the per-start token on /api), routing, the response headers
 * and the request log (docs/KIOSK.md sections 1.1 and 2).
 *
 * A thread per connection: the event stream is a long-lived response
 * whose callback waits for the next event, and card requests take a few
 * milliseconds each; neither may hold up the others.
 */
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve.h"

/* What the bridge remembers of one request between libmicrohttpd's calls. */
struct request {
    long long start_ms;
    char method[8];
    char path[128];     /* for the log: printable, cut, never a query */
    unsigned status;
    unsigned refused;   /* a check failed: its status, and why */
    const char *why;
    const char *origin; /* an allowed vendor origin: CORS headers */
    int api, post;
    char *body;         /* POST body, wiped when freed */
    size_t len;
    int too_large;
};

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static int host_ok(const struct serve *sv, const char *host)
{
    return host != NULL &&
           (strcasecmp(host, sv->host) == 0 ||
            (sv->host_alias[0] && strcasecmp(host, sv->host_alias) == 0));
}

/* 1 the bridge's own origin, 2 an --allow-origin one, 0 another. */
static int origin_kind(const struct serve *sv, const char *origin,
                       const char **vendor)
{
    size_t i;
    if (strcasecmp(origin, sv->self_origin) == 0 ||
        (sv->alias_origin[0] && strcasecmp(origin, sv->alias_origin) == 0))
        return 1;
    for (i = 0; i < sv->n_origins; i++)
        if (strcasecmp(origin, sv->origins[i]) == 0) {
            *vendor = sv->origins[i];
            return 2;
        }
    return 0;
}

/* Constant time: the comparison must not tell how much of a guess was
 * right.  The length is no secret (always 64). */
static int token_ok(const struct serve *sv, const char *given)
{
    return given != NULL && strlen(given) == SERVE_TOKEN_HEX &&
           CRYPTO_memcmp(given, sv->token, SERVE_TOKEN_HEX) == 0;
}

static void refuse(struct request *rq, unsigned status, const char *why)
{
    if (!rq->refused) {
        rq->refused = status;
        rq->why = why;
    }
}

/* The checks, in the order docs/KIOSK.md 1.1 gives. */
static void check(struct serve *sv, struct MHD_Connection *c,
                  struct request *rq, const char *url)
{
    const char *origin = header(c, "Origin");
    int kind = 0;
    if (!host_ok(sv, header(c, "Host")))
        refuse(rq, 421, "host");
    if (origin != NULL && (kind = origin_kind(sv, origin, &rq->origin)) == 0)
        refuse(rq, 403, "origin");
    if (origin == NULL && rq->api && rq->post)
        refuse(rq, 403, "origin");
    if (strcmp(rq->method, "OPTIONS") == 0) {
        /* Only a vendor's page needs a preflight; the own page is
         * same-origin.  A preflight carries no token, by design. */
        if (kind != 2)
            refuse(rq, 403, "origin");
        return;
    }
    if (rq->api) {
        const char *tok = header(c, "X-OCP-Token");
        /* EventSource cannot set a header: the stream takes it in the
         * query, and only the stream. */
        if (strcmp(url, "/api/events") == 0 && tok == NULL)
            tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                              "token");
        if (!token_ok(sv, tok))
            refuse(rq, 403, "token");
    }
}

static void common_headers(struct serve *sv, struct request *rq,
                           struct MHD_Response *r)
{
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy", sv->csp);
    if (sv->n_origins == 0)
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    if (rq->origin != NULL) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", rq->origin);
        MHD_add_response_header(r, "Vary", "Origin");
    }
}

static enum MHD_Result reply(struct serve *sv, struct MHD_Connection *c,
                            struct request *rq, unsigned status,
                            struct MHD_Response *r)
{
    enum MHD_Result ret;
    if (r == NULL) {
        /* Out of memory: libmicrohttpd closes the connection. */
        rq->status = 500;
        return MHD_NO;
    }
    common_headers(sv, rq, r);
    rq->status = status;
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct serve *sv, struct MHD_Connection *c,
                                 struct request *rq, unsigned status,
                                 json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    struct MHD_Response *r = NULL;
    json_decref(v);
    if (s != NULL) {
        /* Holder data: wiped when libmicrohttpd is done with it. */
        r = MHD_create_response_from_buffer_with_free_callback(
            strlen(s), s, serve_wipe_free);
        if (r == NULL)
            serve_wipe_free(s);
        else
            MHD_add_response_header(r, "Content-Type",
                                    "application/json; charset=utf-8");
    }
    return reply(sv, c, rq, status, r);
}

static enum MHD_Result send_error(struct serve *sv, struct MHD_Connection *c,
                                  struct request *rq, unsigned status,
                                  const char *why)
{
    return send_json(sv, c, rq, status, json_pack("{s:s}", "error", why));
}

static enum MHD_Result preflight(struct serve *sv, struct MHD_Connection *c,
                                 struct request *rq)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r != NULL) {
        MHD_add_response_header(r, "Access-Control-Allow-Methods",
                                "GET, POST");
        MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                "X-OCP-Token, Content-Type");
        MHD_add_response_header(r, "Access-Control-Max-Age", "600");
        /* Chrome's Private Network Access: a vendor page served from the
         * network may reach this loopback bridge only if it says so. */
        MHD_add_response_header(r, "Access-Control-Allow-Private-Network",
                                "true");
    }
    return reply(sv, c, rq, 204, r);
}

static enum MHD_Result respond(struct serve *sv, struct MHD_Connection *c,
                               struct request *rq, const char *url)
{
    if (rq->refused)
        return send_error(sv, c, rq, rq->refused, rq->why);
    if (strcmp(rq->method, "OPTIONS") == 0)
        return preflight(sv, c, rq);
    if (rq->too_large)
        return send_error(sv, c, rq, 413, "too_large");
    if (rq->api) {
        json_t *out;
        unsigned status;
        if (strcmp(url, "/api/events") == 0) {
            if (strcmp(rq->method, "GET") != 0)
                return send_error(sv, c, rq, 405, "method");
            return reply(sv, c, rq, 200, events_stream(sv));
        }
        watch_touch(sv);
        status = api_handle(sv, rq->method, url, rq->body, rq->len, &out);
        return send_json(sv, c, rq, status, out);
    }
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
        return send_error(sv, c, rq, 405, "method");
    {
        unsigned status;
        struct MHD_Response *r = static_response(sv, url, &status);
        if (r == NULL)
            return send_error(sv, c, rq, 404, "not_found");
        return reply(sv, c, rq, status, r);
    }
}

static void log_path(char *out, size_t cap, const char *url)
{
    size_t i;
    for (i = 0; i + 1 < cap && url[i] && url[i] != '?'; i++)
        out[i] = url[i] > 0x20 && url[i] < 0x7F ? url[i] : '?';
    out[i] = '\0';
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c,
                                      const char *url, const char *method,
                                      const char *version,
                                      const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    struct serve *sv = cls;
    struct request *rq = *con_cls;
    (void)version;
    if (rq == NULL) {
        /* The headers are in: check them now, read the body later. */
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        rq->start_ms = serve_now_ms();
        snprintf(rq->method, sizeof rq->method, "%s", method);
        log_path(rq->path, sizeof rq->path, url);
        rq->api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0;
        rq->post = strcmp(method, "POST") == 0;
        *con_cls = rq;
        if (strlen(method) >= sizeof rq->method)
            refuse(rq, 405, "method");
        check(sv, c, rq, url);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* Read and dropped when refused or too large, so the answer can
         * still be sent on this connection. */
        if (!rq->refused && !rq->too_large) {
            if (rq->body == NULL)
                rq->body = serve_wipe_malloc(SERVE_MAX_BODY + 1);
            if (rq->body == NULL || rq->len + *upload_data_size > SERVE_MAX_BODY)
                rq->too_large = 1;
            else {
                memcpy(rq->body + rq->len, upload_data, *upload_data_size);
                rq->len += *upload_data_size;
                rq->body[rq->len] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(sv, c, rq, url);
}

/* One line per request: when, method, path, status, milliseconds.  Never
 * a header, a body or a query string (the stream's token is in it). */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *con_cls;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    (void)cls;
    (void)c;
    if (rq == NULL)
        return;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ocp serve: %s %s %s %u %lld ms%s\n", when, rq->method,
            rq->path, rq->status, serve_now_ms() - rq->start_ms,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (cut)");
    serve_wipe_free(rq->body);
    free(rq);
    *con_cls = NULL;
}

static int hex_digit(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Percent-decoding of the path and the query, as libmicrohttpd's own,
 * except that %00 stays as it is: a decoded NUL would end the C string
 * early, and "/index.html%00.js" would be looked at as "/index.html".
 * Left literal, the '%' makes the path check refuse it. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *r = s, *w = s;
    (void)cls;
    (void)c;
    while (*r) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 &&
            (lo = hex_digit(r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("ocp serve: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

struct MHD_Daemon *http_start(struct serve *sv, int listen_fd)
{
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_ERROR_LOG | MHD_USE_ITC,
        0, NULL, NULL, access_handler, sv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, sv, MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, sv,
        MHD_OPTION_NOTIFY_COMPLETED, completed, sv,
        MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_END);
    if (d == NULL)
        fprintf(stderr, "ocp serve: libmicrohttpd did not start\n");
    return d;
}
