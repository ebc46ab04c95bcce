/* The vpcd socket protocol, card side; see vpcd_link.h. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ocp_bytes.h"
#include "vpcd_link.h"

volatile sig_atomic_t vpcd_stop_requested;

vpcd_result vpcd_connect(const char *host, unsigned port, int *fd,
                         const char **why)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int err, s = -1, one = 1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(service, sizeof service, "%u", port);
    err = getaddrinfo(host, service, &hints, &res);
    if (err != 0) {
        *why = gai_strerror(err);
        return VPCD_SYSTEM;
    }
    *why = "no address";
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                   ai->ai_protocol);
        if (s < 0) {
            *why = strerror(errno);
            continue;
        }
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        *why = strerror(errno);
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0)
        return VPCD_SYSTEM;
    /* Responses must leave at once: Nagle would hold a response back until
     * vpcd acknowledges the previous segment. */
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        *why = strerror(errno);
        close(s);
        return VPCD_SYSTEM;
    }
    *fd = s;
    return VPCD_OK;
}

/* Waits until fd is readable or a stop signal arrives. */
static vpcd_result wait_readable(int fd, const sigset_t *waitmask)
{
    for (;;) {
        fd_set rd;
        if (vpcd_stop_requested)
            return VPCD_STOPPED;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        if (pselect(fd + 1, &rd, NULL, NULL, NULL, waitmask) > 0)
            return VPCD_OK;
        if (errno != EINTR)
            return VPCD_SYSTEM;
    }
}

/* Reads exactly n bytes.  *got counts what arrived, so the caller can tell
 * a close between frames from a close inside one. */
static vpcd_result read_full(int fd, uint8_t *buf, size_t n, size_t *got,
                             const sigset_t *waitmask)
{
    int one = 1;
    *got = 0;
    while (*got < n) {
        ssize_t r;
        vpcd_result w = wait_readable(fd, waitmask);
        if (w != VPCD_OK)
            return w;
        r = recv(fd, buf + *got, n - *got, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == ECONNRESET)
                return VPCD_CLOSED;
            return VPCD_SYSTEM;
        }
        if (r == 0)
            return VPCD_CLOSED;
        *got += (size_t)r;
        /* Linux clears quick-ACK mode again by itself; without re-arming
         * it after every read, vpcd's length-then-body writes (no
         * TCP_NODELAY on its side) wait ~40 ms for our delayed ACK. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    return VPCD_OK;
}

vpcd_result vpcd_recv_frame(int fd, uint8_t body[VPCD_MAX_COMMAND],
                            size_t *len, const sigset_t *waitmask)
{
    uint8_t head[2];
    size_t got, n;
    vpcd_result r;

    *len = 0;
    r = read_full(fd, head, sizeof head, &got, waitmask);
    if (r == VPCD_CLOSED && got > 0)
        return VPCD_PROTOCOL;
    if (r != VPCD_OK)
        return r;
    n = ocp_get_be16(head);
    if (n == 0 || n > VPCD_MAX_COMMAND)
        return VPCD_PROTOCOL;
    r = read_full(fd, body, n, &got, waitmask);
    if (r == VPCD_CLOSED)
        return VPCD_PROTOCOL;
    if (r != VPCD_OK)
        return r;
    *len = n;
    return VPCD_OK;
}

vpcd_result vpcd_send_frame(int fd, const uint8_t *body, size_t len)
{
    uint8_t frame[2 + 512];
    size_t off = 0;

    if (len == 0 || len > sizeof frame - 2)
        return VPCD_PROTOCOL;
    ocp_put_be16(frame, (uint16_t)len);
    memcpy(frame + 2, body, len);
    len += 2;
    /* One call for the whole frame; the loop only covers a short write,
     * which a blocking socket does only when interrupted. */
    while (off < len) {
        ssize_t w = send(fd, frame + off, len - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return (errno == EPIPE || errno == ECONNRESET) ? VPCD_CLOSED
                                                           : VPCD_SYSTEM;
        }
        off += (size_t)w;
    }
    return VPCD_OK;
}

vpcd_result vpcd_sleep_ms(unsigned ms, const sigset_t *waitmask)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    if (vpcd_stop_requested)
        return VPCD_STOPPED;
    /* A timeout-only pselect is a sleep that a stop signal cuts short. */
    (void)pselect(0, NULL, NULL, NULL, &ts, waitmask);
    return vpcd_stop_requested ? VPCD_STOPPED : VPCD_OK;
}
