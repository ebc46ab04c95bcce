/*
 * Internals of the Cortex-M port: the board (CMSDK UART of mps2-an385),
 * ARM semihosting, and what the NVM port and the main loop share.
 * Nothing here is seen by the applet, which knows only ocp_port.h.
 */
#ifndef OCP_PORT_CORTEXM_H
#define OCP_PORT_CORTEXM_H

#include <stddef.h>
#include <stdint.h>

/* ---- uart_cmsdk.c: UART0 of the board, polled, sleeping while idle ---- */

/** Enables UART0 (transmit, receive, the receive wake-up). */
void uart_init(void);
/** Waits (WFI) for one byte. */
uint8_t uart_getc(void);
/** Sends one byte, waiting while the transmit buffer is full. */
void uart_putc(uint8_t c);

/* ---- semihost.c: ARM semihosting (bkpt 0xab on ARMv6-M/ARMv7-M) ------ */

/** Opens a host file; mode as fopen's index (3 = "r+b").
 *  @return the host handle, or -1. */
int32_t semihost_open(const char *path, uint32_t mode);
/** @return 0, or -1. */
int semihost_seek(int32_t handle, uint32_t pos);
/** Reads exactly len bytes; @return 0, or -1 on a short read. */
int semihost_read(int32_t handle, uint8_t *dst, uint32_t len);
/** Writes exactly len bytes; @return 0, or -1 on a short write. */
int semihost_write(int32_t handle, const uint8_t *src, uint32_t len);
/** @return the file's length, or -1. */
int32_t semihost_flen(int32_t handle);
/** Copies the command line QEMU was given (-append, or
 *  -semihosting-config arg=...) into buf, NUL-terminated; @return 0 or -1. */
int semihost_cmdline(char *buf, uint32_t cap);
/** Writes a NUL-terminated string to the debug console (QEMU's stderr). */
void semihost_puts(const char *s);
/** Ends the emulation with an exit code (0 success). */
void semihost_exit(uint32_t code) __attribute__((noreturn));

/* ---- nvm_semihost.c: the NVM image in a host file ---------------------- */

/**
 * Opens the image file named by the last word of the command line (other
 * than the test option cut=N[:B]) and checks that it holds OCP_NVM_SIZE
 * bytes.  Idempotent.
 * @return 0, or -1 (reason written to the debug console).
 */
int nvm_semihost_open(void);

/* ---- startup.c: the stack painted at reset ------------------------------ */

/** Bytes of the stack ever used since reset (the painted pattern gone). */
uint32_t stack_high_water(void);
/** The stack's size in bytes. */
uint32_t stack_size(void);

#endif
