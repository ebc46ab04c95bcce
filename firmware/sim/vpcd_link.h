/*
 * The card's side of the vsmartcard vpcd socket protocol.
 *
 * vpcd (the reader driver loaded by pcscd) listens; the card connects as a
 * TCP client.  Every message, both ways, is a frame: a 2-byte big-endian
 * length and a body.  A 1-byte body from vpcd is a control byte (power off,
 * power on, reset, get ATR); only "get ATR" is answered.  Any longer body is
 * a command APDU, answered with the response APDU.
 *
 * Signals: the caller blocks SIGINT and SIGTERM and passes the mask to wait
 * with; every blocking wait here unblocks them atomically (pselect), so a
 * signal is never lost between a flag check and a wait.
 */
#ifndef OCP_SIM_VPCD_LINK_H
#define OCP_SIM_VPCD_LINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Control bytes from vpcd. */
#define VPCD_CTRL_OFF   0x00u
#define VPCD_CTRL_ON    0x01u
#define VPCD_CTRL_RESET 0x02u
#define VPCD_CTRL_ATR   0x04u

/* Largest frame body accepted from vpcd: a short APDU with Lc 255 and Le. */
#define VPCD_MAX_COMMAND 261u

typedef enum {
    VPCD_OK = 0,
    VPCD_CLOSED = 1,   /* the peer closed the connection */
    VPCD_STOPPED = 2,  /* a stop signal arrived (see vpcd_stop_requested) */
    VPCD_PROTOCOL = 3, /* malformed frame: drop the connection */
    VPCD_SYSTEM = 4    /* socket error (errno set) */
} vpcd_result;

/** Set from the signal handler; every wait returns VPCD_STOPPED once set. */
extern volatile sig_atomic_t vpcd_stop_requested;

/**
 * Connect to vpcd.
 * @param[in]  host     host name or address
 * @param[in]  port     TCP port (35963 for "Virtual PCD 00 00")
 * @param[out] fd       the connected socket, TCP_NODELAY set
 * @return VPCD_OK, or VPCD_SYSTEM with a reason in why (refused, unknown
 *         host...).
 */
vpcd_result vpcd_connect(const char *host, unsigned port, int *fd,
                         const char **why);

/**
 * Receive one frame, whatever the number of segments it arrives in.
 * @param[out] body   receives the body, VPCD_MAX_COMMAND bytes available
 * @param[out] len    body length, 1..VPCD_MAX_COMMAND
 * @param[in]  waitmask  signal mask to wait with (stop signals unblocked)
 * @return VPCD_OK, VPCD_CLOSED (also when closed between frames),
 *         VPCD_STOPPED, VPCD_PROTOCOL (length 0 or > VPCD_MAX_COMMAND, or
 *         closed mid-frame), VPCD_SYSTEM.
 */
vpcd_result vpcd_recv_frame(int fd, uint8_t body[VPCD_MAX_COMMAND],
                            size_t *len, const sigset_t *waitmask);

/**
 * Send one frame with a single send call, so the length and body leave in
 * one segment (vpcd reads them with two reads, but one segment saves a
 * round of Nagle and delayed-ACK interplay on its side).
 * @param[in] len  1..65535
 */
vpcd_result vpcd_send_frame(int fd, const uint8_t *body, size_t len);

/**
 * Sleep for ms milliseconds unless a stop signal arrives first.
 * @return VPCD_OK or VPCD_STOPPED.
 */
vpcd_result vpcd_sleep_ms(unsigned ms, const sigset_t *waitmask);

#endif
