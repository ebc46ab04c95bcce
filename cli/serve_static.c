/*
 * The page's files for ocp serve.  Only names made of plain segments with a
 * known extension are served, from the page directory and nowhere else:
 * the path is checked segment by segment (libmicrohttpd has already
 * percent-decoded it, so "%2e%2e" arrives as ".."), and the file's real
 * path, links followed, must still be inside the directory.
 */
/* realpath() is XSI, beyond the POSIX base the project builds with. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

/* Larger than any file of the page; a bound on what one request reads. */
#define MAX_FILE (8L * 1024 * 1024)
#define TOKEN_PLACEHOLDER "__OCP_TOKEN__"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".ico", "image/x-icon"},
};

const char *static_content_type(const char *path)
{
    size_t n = strlen(path), i;
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(path + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

/* "/a/b.js": each segment non-empty, no leading dot (so neither "." nor
 * ".." nor hidden files), no backslash; nothing but printable ASCII. */
int static_path_ok(const char *path)
{
    const char *p = path;
    if (*p != '/')
        return 0;
    while (*p == '/') {
        const char *seg = ++p;
        while (*p && *p != '/') {
            unsigned char ch = (unsigned char)*p;
            if (ch <= 0x20 || ch >= 0x7F || ch == '\\' || ch == '%')
                return 0;
            p++;
        }
        if (p == seg || *seg == '.')
            return 0;
    }
    return *p == '\0';
}

/* Reads the whole file into memory the response will own. */
static char *read_file(const char *path, size_t *len)
{
    struct stat sb;
    char *buf = NULL;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > MAX_FILE)
        goto out;
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL)
        goto out;
    while (done < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)sb.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            buf = NULL;
            goto out;
        }
        done += (size_t)n;
    }
    *len = done;
out:
    close(fd);
    return buf;
}

/* index.html with every placeholder replaced by this start's token. */
char *static_inject_token(const char *html, size_t len, const char *token,
                          size_t *out_len)
{
    const size_t ph = sizeof TOKEN_PLACEHOLDER - 1, tok = strlen(token);
    size_t count = 0, i, o = 0;
    char *out;
    for (i = 0; i + ph <= len; i++)
        if (memcmp(html + i, TOKEN_PLACEHOLDER, ph) == 0) {
            count++;
            i += ph - 1;
        }
    out = serve_wipe_malloc(len + count * tok + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len;) {
        if (i + ph <= len && memcmp(html + i, TOKEN_PLACEHOLDER, ph) == 0) {
            memcpy(out + o, token, tok);
            o += tok;
            i += ph;
        } else {
            out[o++] = html[i++];
        }
    }
    *out_len = o;
    return out;
}

struct MHD_Response *static_response(struct serve *sv, const char *path,
                                     unsigned *status)
{
    char full[PATH_MAX], real[PATH_MAX];
    const char *type;
    size_t len = 0, wwwlen = strlen(sv->www);
    char *body;
    void (*release)(void *) = free;
    struct MHD_Response *r;

    *status = 404;
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (!static_path_ok(path) || (type = static_content_type(path)) == NULL)
        return NULL;
    if ((size_t)snprintf(full, sizeof full, "%s%s", sv->www, path) >=
            sizeof full ||
        realpath(full, real) == NULL || strncmp(real, sv->www, wwwlen) != 0 ||
        real[wwwlen] != '/')
        return NULL;
    body = read_file(real, &len);
    if (body == NULL)
        return NULL;
    if (strcmp(path, "/index.html") == 0) {
        size_t n;
        char *with = static_inject_token(body, len, sv->token, &n);
        free(body);
        if (with == NULL)
            return NULL;
        body = with;
        len = n;
        /* The page that carries the token is wiped once sent, like every
         * other buffer of the bridge that held a secret. */
        release = serve_wipe_free;
    }
    r = MHD_create_response_from_buffer_with_free_callback(len, body, release);
    if (r == NULL) {
        release(body);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", type);
    *status = 200;
    return r;
}
