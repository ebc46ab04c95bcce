/*
 * The card thread of ocp serve: every card call of every HTTP connection
 * runs here, one after the other.
 *
 * One thread, not a mutex around the card: libocp's host crypto keeps a
 * cipher context per thread (re-keyed, not re-made, at each block), and
 * libmicrohttpd starts a new thread per connection.  Card work on those
 * threads would leave two contexts behind with every connection that ends;
 * on this one thread there are two for the bridge's whole life.  It is the
 * main thread, which also makes the order of the card's calls the order
 * in which the requests asked.
 */
#include "serve.h"

void card_thread_init(struct serve *sv)
{
    struct serve_card *c = &sv->card;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->posted, NULL);
    pthread_cond_init(&c->finished, NULL);
}

int card_thread_call(struct serve *sv, void (*fn)(struct serve *, void *),
                     void *arg)
{
    struct serve_card *c = &sv->card;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    /* Wait for the slot: another connection's call may be in it. */
    while (c->busy && !c->stopped)
        pthread_cond_wait(&c->finished, &c->lock);
    if (c->stopped) {
        rc = -1;
        goto out;
    }
    c->busy = 1;
    c->done = 0;
    c->fn = fn;
    c->arg = arg;
    pthread_cond_signal(&c->posted);
    while (!c->done) {
        /* Stopped before the card thread took the call (or with no loop
         * running at all): take it back rather than wait for ever. */
        if (c->stopped && c->fn == fn && c->arg == arg) {
            c->fn = NULL;
            rc = -1;
            break;
        }
        pthread_cond_wait(&c->finished, &c->lock);
    }
    c->busy = 0;
    /* Wake the next caller waiting for the slot. */
    pthread_cond_broadcast(&c->finished);
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void card_thread_loop(struct serve *sv)
{
    struct serve_card *c = &sv->card;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->stopped && (c->fn == NULL))
            pthread_cond_wait(&c->posted, &c->lock);
        if (c->fn == NULL)
            break; /* stopped, nothing left to run */
        {
            void (*fn)(struct serve *, void *) = c->fn;
            void *arg = c->arg;
            c->fn = NULL;
            /* The caller waits on `finished`, not on the mutex: let go of
             * it while the card works. */
            pthread_mutex_unlock(&c->lock);
            fn(sv, arg);
            pthread_mutex_lock(&c->lock);
            c->done = 1;
            pthread_cond_broadcast(&c->finished);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void card_thread_stop(struct serve *sv)
{
    struct serve_card *c = &sv->card;
    pthread_mutex_lock(&c->lock);
    c->stopped = 1;
    pthread_cond_broadcast(&c->posted);
    pthread_cond_broadcast(&c->finished);
    pthread_mutex_unlock(&c->lock);
}
