/*
 * Memory for ocp serve that may hold a secret: request bodies with PINs,
 * every JSON value (jansson is given these two functions), answers with
 * the holder's data, the page with the token.  Each block is overwritten
 * when freed, so a PIN does not linger in the heap for the next malloc to
 * hand out.  Plus the bridge's clock.
 */
#include <stdlib.h>
#include <time.h>

#include "ocp/card.h"
#include "serve.h"

/* A size in front of every block, so free() knows how much to wipe; the
 * union keeps the block aligned for anything. */
union wipe_header {
    size_t size;
    long double ld;
    void *p;
    long long ll;
};

void *serve_wipe_malloc(size_t n)
{
    union wipe_header *h;
    if (n > (size_t)-1 - sizeof *h)
        return NULL;
    h = malloc(sizeof *h + n);
    if (h == NULL)
        return NULL;
    h->size = n;
    return h + 1;
}

void serve_wipe_free(void *p)
{
    union wipe_header *h;
    if (p == NULL)
        return;
    h = (union wipe_header *)p - 1;
    ocp_secret_wipe(p, h->size);
    free(h);
}

long long serve_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

