/*
 * Big working tables (the audit's signed set and rows: tens of megabytes,
 * shared by threads and touched in no useful order).
 *
 * calloc's fresh pages cost the audit twice (docs/PERFORMANCE.md): a page
 * first read maps the kernel's shared zero page, and the first write to
 * it then faults again and flushes every other thread's TLB with an
 * interrupt to each core (11 % of the audit's client time).  Writing the
 * table once here, before any thread shares it, costs one plain fault a
 * page.  (Transparent huge pages were tried: clearing a 2 MB page cost
 * from 0.1 to 3 ms on a virtual machine, more than they saved.)
 */
#ifndef OCP_BIG_TABLE_H
#define OCP_BIG_TABLE_H

#include <stddef.h>

/* bytes of zeros, every page written; NULL out of memory.  free() it. */
void *hl_big_table(size_t bytes);

#endif
