/*
 * The card's main loop on the Cortex-M image: frames from UART0 in, frames
 * out, with the framing of the vsmartcard vpcd socket (firmware/sim/
 * vpcd_link.h), so a bridge (ocp-card --qemu) only copies frames between
 * vpcd and QEMU's serial port:
 *
 *   frame   = length (2 bytes, big-endian) || body
 *   body    = 1 byte: a control byte (00 power off, 01 power on, 02 reset,
 *             04 get ATR; only get ATR is answered, with the ATR)
 *           | 2..261 bytes: a command APDU, answered with the response APDU
 *
 * A frame of another length is read to its end and dropped unanswered, so
 * the stream stays in step.  When the NVM fails the image ends the
 * emulation (exit code 3): a card that lost its memory stays mute.
 *
 * At every power-off the stack's high-water mark is written to the
 * semihosting console when it has grown: "ocp-fw: stack N of M bytes".
 */
#include <string.h>

#include "ocp_card.h"
#include "port_cortexm.h"

#define CTRL_OFF   0x00u
#define CTRL_ON    0x01u
#define CTRL_RESET 0x02u
#define CTRL_ATR   0x04u

#define COMMAND_MAX 261u /* short APDU: header, Lc, 255 bytes, Le */
#define EXIT_NVM 3u

/*
 * The ATR of ocp-card (firmware/sim/ocp_card_main.c, where its bytes are
 * explained), so terminals cannot tell the two cards apart: T=1, and the
 * historical bytes carry the application identifier.  The last byte is
 * TCK, the XOR of every byte after TS.
 */
static const uint8_t atr[] = {0x3B, 0x8B, 0x80, 0x01, 0x80, 0x53,
                              0x4F, 0x43, 0x50, 0xF5, 0xF0, 0x4F,
                              0x43, 0x50, 0x01, 0xDD};

static struct ocp_card card;
static uint8_t command[COMMAND_MAX];
static uint8_t response[OCP_CARD_RAPDU_MAX];
static uint32_t reported_stack;

static void send_frame(const uint8_t *body, size_t len)
{
    size_t i;
    uart_putc((uint8_t)(len >> 8));
    uart_putc((uint8_t)len);
    for (i = 0; i < len; i++)
        uart_putc(body[i]);
}

__attribute__((noreturn)) static void stop(const char *why)
{
    semihost_puts(why);
    semihost_exit(EXIT_NVM);
}

static void power_up(int *powered)
{
    if (nvm_semihost_open() != 0)
        stop("ocp-fw: no card image\n");
    if (ocp_card_power_on(&card) != OCP_CARD_OK)
        stop("ocp-fw: power-up failed: the image is damaged or of "
             "another format\n");
    *powered = 1;
}

/* Writes n in decimal into buf (at least 11 bytes); returns buf. */
static char *decimal(uint32_t n, char *buf)
{
    char tmp[10];
    size_t i = 0, j = 0;
    do {
        tmp[i++] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0 && i < sizeof tmp);
    while (i > 0)
        buf[j++] = tmp[--i];
    buf[j] = '\0';
    return buf;
}

static void report_stack(void)
{
    char num[11];
    uint32_t used = stack_high_water();
    if (used <= reported_stack)
        return;
    reported_stack = used;
    semihost_puts("ocp-fw: stack ");
    semihost_puts(decimal(used, num));
    semihost_puts(" of ");
    semihost_puts(decimal(stack_size(), num));
    semihost_puts(" bytes\n");
}

static void control(uint8_t c, int *powered)
{
    switch (c) {
    case CTRL_OFF:
        *powered = 0;
        report_stack();
        break;
    case CTRL_ON:
    case CTRL_RESET:
        power_up(powered);
        break;
    case CTRL_ATR:
        send_frame(atr, sizeof atr);
        break;
    default:
        break;
    }
}

int main(void)
{
    int powered = 0;

    uart_init();
    semihost_puts("ocp-fw: ready\n");
    for (;;) {
        size_t len, i, rlen = 0;
        ocp_card_status st;

        len = (size_t)uart_getc() << 8;
        len |= uart_getc();
        if (len == 0)
            continue;
        if (len > COMMAND_MAX) {
            for (i = 0; i < len; i++)
                (void)uart_getc();
            continue;
        }
        for (i = 0; i < len; i++)
            command[i] = uart_getc();
        if (len == 1) {
            control(command[0], &powered);
            continue;
        }
        if (!powered)
            power_up(&powered);
        st = ocp_card_process(&card, command, len, response, sizeof response,
                              &rlen);
        memset(command, 0, len); /* commands may carry PINs and keys */
        if (st == OCP_CARD_NVM_FAILURE)
            stop("ocp-fw: the image could not be read or written\n");
        if (st != OCP_CARD_OK || rlen < 2)
            stop("ocp-fw: the applet failed\n");
        send_frame(response, rlen);
        memset(response, 0, rlen);
    }
}
