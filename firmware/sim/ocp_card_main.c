/*
 * ocp-card: the virtual One-Card Pass.
 *
 * Runs the applet over the host port (NVM in an image file) behind the
 * vsmartcard vpcd reader driver, so every terminal reaches it through the
 * real pcscd exactly as it would reach a plastic card.  This file is the
 * adapter only: options, the image, and the frame loop.
 *
 * With --qemu HOST:PORT it is a bridge instead: the applet runs as firmware
 * on an emulated Cortex-M (firmware/port/cortexm/, under qemu-system-arm),
 * whose UART speaks the vpcd framing on a TCP port, and ocp-card only
 * copies frames between vpcd and that port.  It still makes a new image
 * (the chip reads it through semihosting) but never opens the card itself:
 * power-up and recovery are the chip's.
 *
 * Exit codes: 0 stopped by a signal, or vpcd closed with --once;
 * 1 usage or system error; 2 the image is refused (damaged or another format
 * version); 3 the image could not be read or written while serving;
 * 4 (--qemu) the chip closed its serial port (QEMU stopped or died).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ocp_card.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"
#include "port_host.h"
#include "vpcd_link.h"

#define EXIT_USAGE 1
#define EXIT_IMAGE_REFUSED 2
#define EXIT_NVM 3
#define EXIT_CHIP_GONE 4

#define DEFAULT_PORT 35963u
#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 1000u

/*
 * The format header the applet writes in page 0: magic "OCPN", then the
 * format version byte (firmware/src/store.c).  Only read here to name the
 * version in the refusal message; the applet makes the decision.
 */
#define IMAGE_VERSION_OFFSET 4u
#define IMAGE_VERSION_READ OCP_CARD_FORMAT_VERSION

/* The development batch key: public, for tests and demos only. */
static const uint8_t dev_batch_key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                          0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
                                          0x0C, 0x0D, 0x0E, 0x0F};

/*
 * ATR, as contactless cards behind PC/SC readers present themselves
 * (3B 8n 80 01 ...): TS = 3B direct convention; T0 = 8B: TD1 follows and
 * 11 historical bytes; TD1 = 80: TD2 follows (the low nibble names no
 * protocol of its own here); TD2 = 01: T=1 only.  With T=1 indicated, TCK is
 * mandatory.  Historical bytes (ISO 7816-4, 8.1.1): 80 = COMPACT-TLV
 * objects follow; 53 "OCP" = card issuer's data; F5 F0 4F 43 50 01 = the
 * application identifier (our AID).  atr_init() fills in TCK.
 */
static uint8_t atr[] = {0x3B, 0x8B, 0x80, 0x01, 0x80, 0x53, 0x4F, 0x43, 0x50,
                        0xF5, 0xF0, 0x4F, 0x43, 0x50, 0x01, 0x00};

static int verbosity;

/* Fault injection for tests of torn exchanges (never set in service):
 * die right after the card processed (and committed) APDU number N, before
 * its answer is sent; delay every answer by some milliseconds. */
static unsigned long exit_after_apdus;
static unsigned long response_delay_ms;
static unsigned long apdus_served;

struct options {
    const char *image;
    const char *host;
    unsigned port;
    int once;
    int have_card_id;
    uint8_t card_id[OCP_CARD_ID_LEN];
    int have_batch_key;
    uint8_t batch_key[OCP_KEY_LEN];
    /* --qemu: the chip's serial port; NULL when the applet runs here. */
    const char *qemu_host;
    unsigned qemu_port;
    char qemu_host_buf[256];
};

static void log_at(int level, const char *fmt, ...)
{
    va_list ap;
    if (verbosity < level)
        return;
    va_start(ap, fmt);
    fputs("ocp-card: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* TCK makes the XOR of every byte after TS zero (ISO 7816-3, 8.2.5). */
static void atr_init(void)
{
    uint8_t x = 0;
    size_t i;
    for (i = 1; i + 1 < sizeof atr; i++)
        x ^= atr[i];
    atr[sizeof atr - 1] = x;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: ocp-card --image PATH [options]\n"
"The virtual One-Card Pass: connects to the vsmartcard vpcd driver in pcscd\n"
"and serves APDUs from the card image in PATH.\n"
"\n"
"  --image PATH       card image (8192 bytes); when PATH does not exist a\n"
"                     new blank card is made there\n"
"  --card-id HEX16    card id of a new card (default: 8 random bytes)\n"
"  --batch-key HEX32  batch key that the new card's transport key is\n"
"                     diversified from (default: the public development key\n"
"                     000102030405060708090A0B0C0D0E0F)\n"
"  --host HOST        vpcd host (default 127.0.0.1)\n"
"  --port PORT        vpcd port (default 35963 = \"Virtual PCD 00 00\";\n"
"                     35964 = \"Virtual PCD 00 01\")\n"
"  --once             exit when vpcd closes the connection instead of\n"
"                     reconnecting (connection attempts are still retried)\n"
"  --qemu HOST:PORT   bridge mode: the card is the Cortex-M image under\n"
"                     qemu-system-arm, its UART on this TCP port\n"
"                     (docs/FIRMWARE.md); frames are copied both ways and\n"
"                     the image (made here if missing) is only the chip's\n"
"  -v                 log to stderr; -vv also logs APDU headers and status\n"
"                     words (never data)\n"
"  --help             this text\n"
"Test only (fault injection): --test-exit-after-apdus N dies right after\n"
"APDU N is processed, before its answer; --test-response-delay-ms MS\n"
"delays every answer.\n"
"\n"
"Exit codes: 0 stopped (signal, or vpcd closed with --once); 1 usage or\n"
"system error; 2 image refused (damaged or other format version); 3 image\n"
"read or write failed while serving; 4 (--qemu) the chip closed its serial\n"
"port.\n");
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses exactly 2*n hex digits. */
static int parse_hex(const char *s, uint8_t *out, size_t n)
{
    size_t i;
    if (strlen(s) != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return 0;
}

static int parse_port(const char *s, unsigned *port)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* HOST:PORT, split at the last colon. */
static int parse_host_port(const char *s, struct options *o)
{
    const char *colon = strrchr(s, ':');
    size_t n;
    if (colon == NULL || colon == s)
        return -1;
    n = (size_t)(colon - s);
    if (n >= sizeof o->qemu_host_buf ||
        parse_port(colon + 1, &o->qemu_port) != 0)
        return -1;
    memcpy(o->qemu_host_buf, s, n);
    o->qemu_host_buf[n] = '\0';
    o->qemu_host = o->qemu_host_buf;
    return 0;
}

/* Returns 0, or an exit code (-1 for --help: exit 0). */
static int parse_args(int argc, char **argv, struct options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = DEFAULT_PORT;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = !strcmp(a, "--image") || !strcmp(a, "--card-id") ||
                          !strcmp(a, "--batch-key") ||
                          !strcmp(a, "--host") || !strcmp(a, "--port") ||
                          !strcmp(a, "--qemu") ||
                          !strcmp(a, "--test-exit-after-apdus") ||
                          !strcmp(a, "--test-response-delay-ms");
        if (takes_value && val == NULL) {
            fprintf(stderr, "ocp-card: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--image")) {
            o->image = val;
        } else if (!strcmp(a, "--card-id")) {
            if (parse_hex(val, o->card_id, sizeof o->card_id) != 0) {
                fprintf(stderr, "ocp-card: --card-id takes 16 hex digits\n");
                return EXIT_USAGE;
            }
            o->have_card_id = 1;
        } else if (!strcmp(a, "--batch-key")) {
            if (parse_hex(val, o->batch_key, sizeof o->batch_key) != 0) {
                fprintf(stderr, "ocp-card: --batch-key takes 32 hex digits\n");
                return EXIT_USAGE;
            }
            o->have_batch_key = 1;
        } else if (!strcmp(a, "--host")) {
            o->host = val;
        } else if (!strcmp(a, "--port")) {
            if (parse_port(val, &o->port) != 0) {
                fprintf(stderr, "ocp-card: bad --port '%s'\n", val);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--qemu")) {
            if (parse_host_port(val, o) != 0) {
                fprintf(stderr, "ocp-card: --qemu takes HOST:PORT, not "
                                "'%s'\n", val);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--test-exit-after-apdus")) {
            exit_after_apdus = strtoul(val, NULL, 10);
        } else if (!strcmp(a, "--test-response-delay-ms")) {
            response_delay_ms = strtoul(val, NULL, 10);
        } else if (!strcmp(a, "--once")) {
            o->once = 1;
            continue;
        } else if (a[0] == '-' && a[1] == 'v' &&
                   strspn(a + 1, "v") == strlen(a + 1)) {
            verbosity += (int)strlen(a + 1); /* -v, -vv, -vvv */
            continue;
        } else {
            fprintf(stderr, "ocp-card: unknown argument '%s' (see --help)\n",
                    a);
            return EXIT_USAGE;
        }
        i++; /* every remaining branch consumed a value */
    }
    if (o->image == NULL) {
        fprintf(stderr, "ocp-card: --image PATH is required (see --help)\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* Writes a blank card into the freshly created (erased) image. */
static int manufacture(struct options *o)
{
    uint8_t div[OCP_DIV_INPUT_LEN];
    uint8_t transport_key[OCP_KEY_LEN];
    uint8_t seed[16];
    ocp_card_status st;

    if (!o->have_batch_key) {
        memcpy(o->batch_key, dev_batch_key, sizeof o->batch_key);
        fprintf(stderr,
                "ocp-card: warning: new card %s uses the public development "
                "batch key; it is for tests and demos only\n",
                o->image);
    }
    if ((!o->have_card_id &&
         RAND_bytes(o->card_id, (int)sizeof o->card_id) != 1) ||
        RAND_bytes(seed, (int)sizeof seed) != 1) {
        fprintf(stderr, "ocp-card: no randomness for a new card\n");
        return -1;
    }
    ocp_div_input(o->card_id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, o->batch_key, div, sizeof div,
                transport_key);
    st = ocp_card_manufacture(o->card_id, transport_key, seed);
    OPENSSL_cleanse(transport_key, sizeof transport_key);
    OPENSSL_cleanse(seed, sizeof seed);
    OPENSSL_cleanse(o->batch_key, sizeof o->batch_key);
    if (st != OCP_CARD_OK) {
        fprintf(stderr, "ocp-card: cannot write a new card into %s (%d)\n",
                o->image, (int)st);
        return -1;
    }
    log_at(1, "made a new blank card %02X%02X%02X%02X%02X%02X%02X%02X in %s",
           o->card_id[0], o->card_id[1], o->card_id[2], o->card_id[3],
           o->card_id[4], o->card_id[5], o->card_id[6], o->card_id[7],
           o->image);
    return 0;
}

/* Opens (or makes) the image and powers the card up once, so a damaged
 * image is refused before anything connects.  Returns 0 or an exit code. */
static int open_image(struct options *o, struct ocp_card *card)
{
    uint8_t version = 0;
    int r = port_host_nvm_open(o->image, 1);
    ocp_card_status st;

    if (r < 0) {
        if (errno == EINVAL) {
            fprintf(stderr,
                    "ocp-card: image %s is damaged: it is not %u bytes "
                    "long\n",
                    o->image, (unsigned)OCP_NVM_SIZE);
            return EXIT_IMAGE_REFUSED;
        }
        fprintf(stderr, "ocp-card: cannot open image %s: %s\n", o->image,
                strerror(errno));
        return EXIT_USAGE;
    }
    if (r == 1 && manufacture(o) != 0) {
        port_host_nvm_close();
        (void)unlink(o->image); /* a half-made card is no card */
        return EXIT_USAGE;
    }
    if (o->qemu_host != NULL) {
        /* The chip powers the card up and recovers it, not us: a recovery
         * here would hide the chip's own after QEMU was killed. */
        port_host_nvm_close();
        return 0;
    }
    st = ocp_card_power_on(card);
    switch (st) {
    case OCP_CARD_OK:
        return 0;
    case OCP_CARD_NO_IMAGE:
        fprintf(stderr,
                "ocp-card: image %s is damaged (no valid format header); "
                "refusing to serve it\n",
                o->image);
        break;
    case OCP_CARD_BAD_VERSION:
        (void)port_nvm_read(IMAGE_VERSION_OFFSET, &version, 1);
        fprintf(stderr,
                "ocp-card: image %s has format version %u, this ocp-card "
                "reads version %u\n",
                o->image, (unsigned)version, IMAGE_VERSION_READ);
        break;
    default:
        fprintf(stderr, "ocp-card: cannot read image %s (%d)\n", o->image,
                (int)st);
        port_host_nvm_close();
        return EXIT_NVM;
    }
    port_host_nvm_close();
    return EXIT_IMAGE_REFUSED;
}

static void on_stop(int sig)
{
    (void)sig;
    vpcd_stop_requested = 1;
}

/* Logs a command header: CLA INS P1 P2 and the body length, never data. */
static void log_command(const uint8_t *c, size_t n)
{
    if (verbosity < 2)
        return;
    if (n >= 4)
        log_at(2, "> %02X %02X %02X %02X (+%u bytes)", c[0], c[1], c[2],
               c[3], (unsigned)(n - 4));
    else
        log_at(2, "> short command (%u bytes)", (unsigned)n);
}

/* The test hooks of serve(), after the card answered an APDU. */
static void after_answer(void)
{
    if (exit_after_apdus && ++apdus_served == exit_after_apdus) {
        fprintf(stderr, "ocp-card: test: dying after APDU %lu\n",
                apdus_served);
        _exit(9);
    }
    if (response_delay_ms) {
        struct timespec ts;
        ts.tv_sec = (time_t)(response_delay_ms / 1000);
        ts.tv_nsec = (long)(response_delay_ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }
}

enum serve_end {
    SERVE_CLOSED,
    SERVE_STOPPED,
    SERVE_PROTOCOL,
    SERVE_NVM,
    SERVE_CHIP_GONE /* --qemu: the chip's serial port closed */
};

/* Powers the card up; any failure now means the image went bad under us. */
static int power_up(struct ocp_card *card, int *powered)
{
    ocp_card_status st = ocp_card_power_on(card);
    if (st != OCP_CARD_OK) {
        fprintf(stderr, "ocp-card: power-up failed (%d): the image file is "
                        "broken or was changed while serving\n",
                (int)st);
        return -1;
    }
    *powered = 1;
    return 0;
}

/* Serves one vpcd connection until it ends. */
static enum serve_end serve(int fd, struct ocp_card *card,
                            const sigset_t *waitmask)
{
    uint8_t cmd[VPCD_MAX_COMMAND];
    uint8_t resp[OCP_CARD_RAPDU_MAX];
    int powered = 0;

    for (;;) {
        size_t n, rlen = 0;
        vpcd_result r = vpcd_recv_frame(fd, cmd, &n, waitmask);
        ocp_card_status st;

        if (r == VPCD_STOPPED)
            return SERVE_STOPPED;
        if (r == VPCD_CLOSED)
            return SERVE_CLOSED;
        if (r == VPCD_PROTOCOL) {
            fprintf(stderr, "ocp-card: malformed frame from vpcd; "
                            "dropping the connection\n");
            return SERVE_PROTOCOL;
        }
        if (r != VPCD_OK) {
            log_at(1, "receive failed: %s", strerror(errno));
            return SERVE_CLOSED;
        }
        if (n == 1) {
            switch (cmd[0]) {
            case VPCD_CTRL_OFF:
                log_at(1, "power off");
                powered = 0;
                break;
            case VPCD_CTRL_ON:
            case VPCD_CTRL_RESET:
                log_at(1, cmd[0] == VPCD_CTRL_ON ? "power on" : "reset");
                if (power_up(card, &powered) != 0)
                    return SERVE_NVM;
                break;
            case VPCD_CTRL_ATR:
                log_at(2, "ATR requested");
                r = vpcd_send_frame(fd, atr, sizeof atr);
                if (r != VPCD_OK)
                    return SERVE_CLOSED;
                break;
            default:
                log_at(1, "unknown control byte %02X ignored", cmd[0]);
                break;
            }
            continue;
        }
        log_command(cmd, n);
        /* vpcd powers the card on before any APDU; should one come first,
         * answer it as a card that just got power would. */
        if (!powered) {
            log_at(1, "APDU while powered off: powering on");
            if (power_up(card, &powered) != 0)
                return SERVE_NVM;
        }
        st = ocp_card_process(card, cmd, n, resp, sizeof resp, &rlen);
        OPENSSL_cleanse(cmd, n); /* commands may carry PINs and keys */
        if (st == OCP_CARD_NVM_FAILURE) {
            fprintf(stderr, "ocp-card: reading or writing image failed: the "
                            "image file is broken\n");
            return SERVE_NVM;
        }
        if (st != OCP_CARD_OK || rlen < 2) {
            fprintf(stderr, "ocp-card: the applet failed (%d)\n", (int)st);
            return SERVE_NVM;
        }
        log_at(2, "< %02X %02X (+%u bytes)", resp[rlen - 2], resp[rlen - 1],
               (unsigned)(rlen - 2));
        /* Test hooks: the card may leave the field with its work done and
         * unsaid. */
        after_answer();
        r = vpcd_send_frame(fd, resp, rlen);
        OPENSSL_cleanse(resp, rlen);
        if (r != VPCD_OK)
            return SERVE_CLOSED;
    }
}

/*
 * --qemu: serves one vpcd connection by copying frames to the chip and its
 * answers back.  The chip answers exactly what a card answers (get ATR and
 * APDUs) and nothing else, so every answered frame is read back before the
 * next one goes; the chip loses power when vpcd goes away.
 */
static enum serve_end serve_qemu(int fd, int chip, const sigset_t *waitmask)
{
    static const uint8_t power_off = VPCD_CTRL_OFF;
    uint8_t cmd[VPCD_MAX_COMMAND];
    uint8_t resp[VPCD_MAX_COMMAND];
    enum serve_end end;

    for (;;) {
        size_t n, rlen = 0;
        vpcd_result r = vpcd_recv_frame(fd, cmd, &n, waitmask);
        int answered;

        if (r == VPCD_STOPPED) {
            end = SERVE_STOPPED;
            break;
        }
        if (r == VPCD_PROTOCOL) {
            fprintf(stderr, "ocp-card: malformed frame from vpcd; "
                            "dropping the connection\n");
            end = SERVE_PROTOCOL;
            break;
        }
        if (r != VPCD_OK) {
            if (r != VPCD_CLOSED)
                log_at(1, "receive failed: %s", strerror(errno));
            end = SERVE_CLOSED;
            break;
        }
        if (n == 1) {
            log_at(cmd[0] == VPCD_CTRL_ATR ? 2 : 1, "%s",
                   cmd[0] == VPCD_CTRL_OFF     ? "power off"
                   : cmd[0] == VPCD_CTRL_ON    ? "power on"
                   : cmd[0] == VPCD_CTRL_RESET ? "reset"
                   : cmd[0] == VPCD_CTRL_ATR   ? "ATR requested"
                                               : "control byte");
        } else {
            log_command(cmd, n);
        }
        answered = n > 1 || cmd[0] == VPCD_CTRL_ATR;
        r = vpcd_send_frame(chip, cmd, n);
        OPENSSL_cleanse(cmd, n); /* commands may carry PINs and keys */
        if (r != VPCD_OK)
            return SERVE_CHIP_GONE;
        if (!answered)
            continue;
        r = vpcd_recv_frame(chip, resp, &rlen, waitmask);
        if (r == VPCD_STOPPED) {
            end = SERVE_STOPPED;
            break;
        }
        if (r != VPCD_OK)
            return SERVE_CHIP_GONE;
        if (n > 1) {
            if (rlen < 2)
                return SERVE_CHIP_GONE;
            log_at(2, "< %02X %02X (+%u bytes)", resp[rlen - 2],
                   resp[rlen - 1], (unsigned)(rlen - 2));
            after_answer();
        }
        r = vpcd_send_frame(fd, resp, rlen);
        OPENSSL_cleanse(resp, rlen);
        if (r != VPCD_OK) {
            end = SERVE_CLOSED;
            break;
        }
    }
    /* The card leaves the field with the reader (or with us). */
    if (vpcd_send_frame(chip, &power_off, 1) != VPCD_OK)
        return SERVE_CHIP_GONE;
    return end;
}

/* --qemu: connects to the chip's serial port, waiting while QEMU starts.
 * Returns the socket, or -1 when a stop signal came first. */
static int connect_chip(const struct options *o, const sigset_t *waitmask)
{
    unsigned backoff = BACKOFF_FIRST_MS;
    for (;;) {
        const char *why = NULL;
        int fd;
        if (vpcd_connect(o->qemu_host, o->qemu_port, &fd, &why) == VPCD_OK) {
            log_at(1, "connected to the chip at %s:%u", o->qemu_host,
                   o->qemu_port);
            return fd;
        }
        log_at(backoff == BACKOFF_FIRST_MS ? 1 : 3,
               "cannot connect to the chip at %s:%u: %s", o->qemu_host,
               o->qemu_port, why);
        if (vpcd_sleep_ms(backoff, waitmask) != VPCD_OK)
            return -1;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}

int main(int argc, char **argv)
{
    struct options o;
    struct ocp_card card;
    struct sigaction sa;
    sigset_t stops, waitmask;
    unsigned backoff = BACKOFF_FIRST_MS;
    int rc, chip = -1;

    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    atr_init();

    /* Stop signals stay blocked except inside the waits (pselect), so a
     * signal is seen by the loop however it is timed. */
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, &waitmask);
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rc = open_image(&o, &card);
    if (rc != 0)
        return rc;
    if (o.qemu_host != NULL) {
        chip = connect_chip(&o, &waitmask);
        if (chip < 0)
            return 0;
        log_at(1, "bridging vpcd %s:%u to the chip at %s:%u (image %s)",
               o.host, o.port, o.qemu_host, o.qemu_port, o.image);
    } else {
        log_at(1, "serving %s on vpcd %s:%u", o.image, o.host, o.port);
    }

    rc = 0;
    while (!vpcd_stop_requested) {
        const char *why = NULL;
        enum serve_end end;
        int fd;

        if (vpcd_connect(o.host, o.port, &fd, &why) != VPCD_OK) {
            /* pcscd not (yet) running or restarting: try again soon. */
            log_at(backoff == BACKOFF_FIRST_MS ? 1 : 3,
                   "cannot connect to vpcd at %s:%u: %s", o.host, o.port,
                   why);
            if (vpcd_sleep_ms(backoff, &waitmask) != VPCD_OK)
                break;
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                   : backoff * 2;
            continue;
        }
        log_at(1, "connected to vpcd at %s:%u", o.host, o.port);
        backoff = BACKOFF_FIRST_MS;
        end = chip >= 0 ? serve_qemu(fd, chip, &waitmask)
                        : serve(fd, &card, &waitmask);
        close(fd);
        if (end == SERVE_NVM) {
            rc = EXIT_NVM;
            break;
        }
        if (end == SERVE_CHIP_GONE) {
            fprintf(stderr, "ocp-card: the chip at %s:%u closed its serial "
                            "port (QEMU stopped)\n",
                    o.qemu_host, o.qemu_port);
            rc = EXIT_CHIP_GONE;
            break;
        }
        if (end == SERVE_STOPPED)
            break;
        if (end == SERVE_CLOSED)
            log_at(1, "vpcd closed the connection");
        if (o.once) {
            rc = end == SERVE_PROTOCOL ? EXIT_USAGE : 0;
            break;
        }
        /* Power is lost with the reader: the card starts cold next time. */
        if (vpcd_sleep_ms(backoff, &waitmask) != VPCD_OK)
            break;
    }
    if (chip >= 0)
        close(chip);
    OPENSSL_cleanse(&card, sizeof card);
    port_host_nvm_close();
    port_host_crypto_release();
    log_at(1, "stopped");
    return rc;
}
