/*
 * NVM port on the Cortex-M image under QEMU: the board has no flash or
 * EEPROM that keeps anything across a restart, so the 8 KB image lives in
 * a host file, reached through semihosting, one seek and one write per
 * page.  The file is the one ocp-card makes (same format), named by the
 * last word of the command line QEMU passes to the image:
 *
 *     qemu-system-arm -M mps2-an385 -kernel ocp-card-cortexm.elf \
 *         -semihosting-config enable=on,target=native -append card.img
 *
 * As on the host, the file gives no atomicity and none is assumed: each
 * page write is one write(2) by QEMU, and the applet's journal makes every
 * change all-or-nothing whenever QEMU is killed.
 *
 * Test only: a word `cut=N` or `cut=N:B` on the command line cuts the power
 * at page write N since reset: only the first B bytes (default 0) of that
 * page reach the file, and the image ends the emulation with exit code 9,
 * as the chip would stop when it leaves the field (tests/qemu).
 */
#include "ocp_port.h"
#include "port_cortexm.h"

#define MODE_READ_WRITE_BINARY 3u /* "r+b": the file must exist */
#define CMDLINE_MAX 256u
#define EXIT_POWER_CUT 9u

static int32_t nvm_handle = -1;
static uint32_t writes;      /* page writes since reset */
static uint32_t cut_write;   /* test only: the write the power is cut at */
static uint32_t cut_bytes;   /* test only: bytes of it that get through */

/* Parses decimal digits at *p; returns the value, *p moved past them. */
static uint32_t number(const char **p)
{
    uint32_t v = 0;
    while (**p >= '0' && **p <= '9' && v < 100000u)
        v = v * 10u + (uint32_t)(*(*p)++ - '0');
    return v;
}

/* Splits the command line into words in place: the last one that is not
 * a `cut=` option names the image; returns it ("" when there is none). */
static const char *parse_cmdline(char *s)
{
    const char *path = "";
    char *p = s;
    while (*p != '\0') {
        char *word;
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        word = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if (*p == ' ')
            *p++ = '\0';
        if (word[0] == 'c' && word[1] == 'u' && word[2] == 't' &&
            word[3] == '=') {
            const char *q = word + 4;
            cut_write = number(&q);
            if (*q == ':') {
                q++;
                cut_bytes = number(&q);
            }
            if (cut_bytes > OCP_NVM_PAGE_SIZE)
                cut_bytes = OCP_NVM_PAGE_SIZE;
        } else {
            path = word;
        }
    }
    return path;
}

int nvm_semihost_open(void)
{
    char cmdline[CMDLINE_MAX];
    const char *path;
    int32_t h;

    if (nvm_handle >= 0)
        return 0;
    if (semihost_cmdline(cmdline, sizeof cmdline) != 0) {
        semihost_puts("ocp-fw: no command line (is semihosting enabled?)\n");
        return -1;
    }
    path = parse_cmdline(cmdline);
    if (path[0] == '\0') {
        semihost_puts("ocp-fw: no image path on the command line\n");
        return -1;
    }
    h = semihost_open(path, MODE_READ_WRITE_BINARY);
    if (h < 0) {
        semihost_puts("ocp-fw: cannot open the image file\n");
        return -1;
    }
    if (semihost_flen(h) != (int32_t)OCP_NVM_SIZE) {
        semihost_puts("ocp-fw: the image file is not 8192 bytes long\n");
        return -1;
    }
    nvm_handle = h;
    return 0;
}

int port_nvm_read(uint32_t offset, uint8_t *dst, uint32_t len)
{
    if (nvm_handle < 0 || offset > OCP_NVM_SIZE || len > OCP_NVM_SIZE - offset)
        return -1;
    if (len == 0)
        return 0;
    if (semihost_seek(nvm_handle, offset) != 0)
        return -1;
    return semihost_read(nvm_handle, dst, len);
}

int port_nvm_write_page(uint32_t page, const uint8_t src[OCP_NVM_PAGE_SIZE])
{
    if (nvm_handle < 0 || page >= OCP_NVM_PAGES)
        return -1;
    if (semihost_seek(nvm_handle, page * OCP_NVM_PAGE_SIZE) != 0)
        return -1;
    if (cut_write != 0 && ++writes == cut_write) {
        if (cut_bytes > 0)
            (void)semihost_write(nvm_handle, src, cut_bytes);
        semihost_puts("ocp-fw: test: power cut at this page write\n");
        semihost_exit(EXIT_POWER_CUT);
    }
    return semihost_write(nvm_handle, src, OCP_NVM_PAGE_SIZE);
}
