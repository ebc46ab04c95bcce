/* Big working tables; see big_table.h. */
#define _GNU_SOURCE /* madvise */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "big_table.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older headers lack it */
#endif

/* The whole pages inside [p, p + bytes) made present; 0 when the kernel
 * did it (or there was nothing to do). */
static int populate(void *p, size_t bytes)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(page - 1);
    if (page == 0 || (page & (page - 1)) != 0 || end <= start)
        return 0;
    return madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

void hl_populate(void *p, size_t bytes)
{
    if (p != NULL)
        (void)populate(p, bytes);
}

void *hl_big_table(size_t bytes)
{
    /* calloc clears memory it reuses, and maps fresh memory untouched. */
    void *p = calloc(1, bytes > 0 ? bytes : 1);
    if (p != NULL && populate(p, bytes) != 0)
        memset(p, 0, bytes); /* written now: no zero page later */
    return p;
}
