/*
 * Reset and exceptions of the Cortex-M image: the vector table, the copy
 * of initialised data, the zeroing of .bss, and the stack painted with a
 * pattern so that its high-water mark can be read back later.
 *
 * ARMv6-M code (it runs on the M0+ it is built for and on the M3 of
 * mps2-an385).  The linker script (mps2_an385.ld) places .vectors at 0x0
 * and defines the section symbols used here.
 */
#include "port_cortexm.h"

#define STACK_PAINT 0x5AC3A53Cu
#define EXIT_FAULT 4u

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];

int main(void);
void reset_handler(void) __attribute__((noreturn));
static void fault_handler(void);

/* ARMv7-M: 16 system entries, then the board's 32 interrupts (AN385). */
struct vector_table {
    uint32_t *initial_sp;
    void (*reset)(void);
    void (*system[14])(void);
    void (*irq[32])(void);
};

__attribute__((section(".vectors"), used))
static const struct vector_table vectors = {
    __stack_top,
    reset_handler,
    {
        fault_handler, /* NMI */
        fault_handler, /* HardFault */
        fault_handler, /* MemManage (ARMv7-M) */
        fault_handler, /* BusFault (ARMv7-M) */
        fault_handler, /* UsageFault (ARMv7-M) */
        0, 0, 0, 0,
        fault_handler, /* SVCall */
        0, 0,
        fault_handler, /* PendSV */
        fault_handler, /* SysTick */
    },
    /* Interrupts stay masked by PRIMASK (the UART only wakes WFI), so no
     * handler runs; should one ever be taken, it is a fault. */
    {
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
    },
};

void reset_handler(void)
{
    uint32_t *src = __data_load, *dst = __data_start, *sp;

    __asm__ volatile("cpsid i" ::: "memory");
    while (dst < __data_end)
        *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end; dst++)
        *dst = 0;
    /* Paint the stack below this frame; the words above it hold this
     * function's own frame and count as used. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = __stack_bottom; dst < sp - 8; dst++)
        *dst = STACK_PAINT;
    (void)main();
    semihost_exit(0);
}

static void fault_handler(void)
{
    semihost_puts("ocp-fw: fault\n");
    semihost_exit(EXIT_FAULT);
}

uint32_t stack_high_water(void)
{
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == STACK_PAINT)
        p++;
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

uint32_t stack_size(void)
{
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom);
}
