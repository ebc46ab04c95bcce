/*
 * Big working tables (the audit's signed set, rows and sort items: tens
 * of megabytes, shared by threads and touched in no useful order).
 *
 * Fresh pages cost the audit in two ways (docs/PERFORMANCE.md).  A page
 * first read maps the kernel's shared zero page, and the first write to
 * it then faults again and flushes every other thread's TLB with an
 * interrupt to each core (11 % of the audit's client time).  And a fault
 * per 4 KB page costs about 2.7 us on a virtual machine, where asking the
 * kernel for the whole range at once (MADV_POPULATE_WRITE, Linux 5.14)
 * costs about 1.6 us a page.  (Transparent huge pages were tried:
 * clearing a 2 MB page cost from 0.1 to 3 ms, more than they saved.)
 */
#ifndef OCP_BIG_TABLE_H
#define OCP_BIG_TABLE_H

#include <stddef.h>

/* bytes of zeros, every page present and writable; NULL out of memory.
 * free() it. */
void *hl_big_table(size_t bytes);

/* Makes the pages of [p, p + bytes) present and writable at once, their
 * contents unchanged; a hint (an older kernel faults them one by one
 * later). */
void hl_populate(void *p, size_t bytes);

#endif
