/*
 * UART0 of mps2-an385: an ARM CMSDK APB UART at 0x40004000 (CMSDK
 * technical reference manual, ARM DDI 0479; QEMU hw/char/cmsdk-apb-uart.c).
 * Its receive interrupt is IRQ 0 of the NVIC.
 *
 * Polled, with one exception: while waiting for a byte the core sleeps in
 * WFI, so an idle card costs the host no CPU.  Interrupts stay masked
 * (PRIMASK, set at reset): a pending interrupt still ends WFI, but no
 * handler runs.  The pending bit is cleared before the status is read
 * again, so a byte that arrives between the check and WFI leaves the
 * interrupt pending and WFI returns at once.
 */
#include "port_cortexm.h"

#define UART0_BASE 0x40004000u
#define UART_DATA      (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE     (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL      (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0_BASE + 0x0Cu))
#define UART_BAUDDIV   (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define STATE_TX_FULL  0x1u
#define STATE_RX_FULL  0x2u
#define CTRL_TX_EN     0x1u
#define CTRL_RX_EN     0x2u
#define CTRL_RX_INT_EN 0x8u
#define INT_RX         0x2u

#define UART0_RX_IRQ 0u
#define NVIC_ISER (*(volatile uint32_t *)0xE000E100u)
#define NVIC_ICPR (*(volatile uint32_t *)0xE000E280u)

/* 25 MHz / 217 = 115200 baud on the board; QEMU ignores the rate but
 * refuses to move data while the divider is below 16. */
#define BAUD_DIVIDER 217u

void uart_init(void)
{
    UART_CTRL = 0;
    UART_BAUDDIV = BAUD_DIVIDER;
    UART_INTSTATUS = INT_RX;
    NVIC_ICPR = 1u << UART0_RX_IRQ;
    NVIC_ISER = 1u << UART0_RX_IRQ;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
}

uint8_t uart_getc(void)
{
    for (;;) {
        UART_INTSTATUS = INT_RX;
        NVIC_ICPR = 1u << UART0_RX_IRQ;
        if (UART_STATE & STATE_RX_FULL)
            return (uint8_t)UART_DATA;
        __asm__ volatile("wfi" ::: "memory");
    }
}

void uart_putc(uint8_t c)
{
    while (UART_STATE & STATE_TX_FULL)
        ;
    UART_DATA = c;
}
