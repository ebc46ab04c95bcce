/*
 * ARM semihosting: the debugger (here QEMU, with -semihosting-config
 * enable=on,target=native) performs host file I/O for the target.  The
 * target puts an operation number in r0 and a pointer to its argument block
 * in r1 and executes `bkpt 0xab` (ARMv6-M and ARMv7-M); the result comes
 * back in r0.  Operation numbers and argument blocks: "Semihosting for
 * AArch32 and AArch64", ARM, version 3.
 */
#include "port_cortexm.h"

#define SYS_OPEN          0x01u
#define SYS_WRITE0        0x04u
#define SYS_WRITE         0x05u
#define SYS_READ          0x06u
#define SYS_SEEK          0x0Au
#define SYS_FLEN          0x0Cu
#define SYS_GET_CMDLINE   0x15u
#define SYS_EXIT_EXTENDED 0x20u

#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    /* "memory": the host reads and writes the blocks r1 points to. */
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static uint32_t length(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

int32_t semihost_open(const char *path, uint32_t mode)
{
    uint32_t block[3];
    block[0] = (uint32_t)(uintptr_t)path;
    block[1] = mode;
    block[2] = length(path);
    return (int32_t)semihost_call(SYS_OPEN, block);
}

int semihost_seek(int32_t handle, uint32_t pos)
{
    uint32_t block[2];
    block[0] = (uint32_t)handle;
    block[1] = pos;
    return semihost_call(SYS_SEEK, block) == 0 ? 0 : -1;
}

/* SYS_READ and SYS_WRITE return the number of bytes NOT transferred. */
int semihost_read(int32_t handle, uint8_t *dst, uint32_t len)
{
    uint32_t block[3];
    block[0] = (uint32_t)handle;
    block[1] = (uint32_t)(uintptr_t)dst;
    block[2] = len;
    return semihost_call(SYS_READ, block) == 0 ? 0 : -1;
}

int semihost_write(int32_t handle, const uint8_t *src, uint32_t len)
{
    uint32_t block[3];
    block[0] = (uint32_t)handle;
    block[1] = (uint32_t)(uintptr_t)src;
    block[2] = len;
    return semihost_call(SYS_WRITE, block) == 0 ? 0 : -1;
}

int32_t semihost_flen(int32_t handle)
{
    uint32_t block[1];
    block[0] = (uint32_t)handle;
    return (int32_t)semihost_call(SYS_FLEN, block);
}

int semihost_cmdline(char *buf, uint32_t cap)
{
    uint32_t block[2];
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = cap;
    if (cap == 0 || semihost_call(SYS_GET_CMDLINE, block) != 0)
        return -1;
    buf[cap - 1] = '\0';
    return 0;
}

void semihost_puts(const char *s)
{
    (void)semihost_call(SYS_WRITE0, s);
}

void semihost_exit(uint32_t code)
{
    uint32_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = code;
    (void)semihost_call(SYS_EXIT_EXTENDED, block);
    for (;;) /* without a semihosting host there is nowhere to go */
        __asm__ volatile("wfi");
}
