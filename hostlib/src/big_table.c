/* Big working tables; see big_table.h. */
#include <stdlib.h>
#include <string.h>

#include "big_table.h"

void *hl_big_table(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p != NULL)
        memset(p, 0, bytes); /* written now: no zero page to copy later */
    return p;
}
