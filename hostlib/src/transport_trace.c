/*
 * The tracing wrapper (ocp/trace.h).  It sits between libocp and any other
 * transport: the round-trip and byte figures of the budgets come from here,
 * and so does `ocp --trace`.
 */
#include <stdlib.h>
#include <string.h>

#include "ocp/trace.h"

struct trace {
    ocp_transport t;
    ocp_transport *inner;
    FILE *out;
    ocp_trace_stats stats;
};

static const struct ocp_transport_ops trace_ops;

static void dump(FILE *f, const char *dir, const uint8_t *p, size_t n)
{
    size_t i;
    fprintf(f, "%s", dir);
    for (i = 0; i < n; i++)
        fprintf(f, " %02X", p[i]);
    fputc('\n', f);
}

static ocp_status trace_transmit(ocp_transport *t, const uint8_t *capdu,
                                 size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct trace *tr = t->ctx;
    /* Secure messaging (CLA bit 04): the payload is ciphertext or a key or
     * a PIN under encryption; show the shape, not the bytes. */
    int protected_ = clen >= 4 && (capdu[0] & 0x04u) != 0;
    ocp_status st = tr->inner->ops->transmit(tr->inner, capdu, clen, rapdu,
                                             rlen);
    tr->stats.exchanges++;
    tr->stats.bytes_out += clen;
    if (st == OCP_OK)
        tr->stats.bytes_in += *rlen;
    if (tr->out == NULL)
        return st;
    if (protected_) {
        fprintf(tr->out, "> %02X %02X %02X %02X [%zu bytes protected]\n",
                capdu[0], capdu[1], capdu[2], capdu[3], clen - 4);
        if (st == OCP_OK && *rlen >= 2)
            fprintf(tr->out, "< [%zu bytes protected] %02X %02X\n",
                    *rlen - 2, rapdu[*rlen - 2], rapdu[*rlen - 1]);
    } else {
        dump(tr->out, ">", capdu, clen);
        if (st == OCP_OK)
            dump(tr->out, "<", rapdu, *rlen);
    }
    if (st != OCP_OK)
        fprintf(tr->out, "< (%s)\n", ocp_strerror(st));
    return st;
}

static ocp_status trace_reset(ocp_transport *t)
{
    struct trace *tr = t->ctx;
    return tr->inner->ops->reset(tr->inner);
}

static ocp_status trace_begin(ocp_transport *t)
{
    struct trace *tr = t->ctx;
    return tr->inner->ops->begin(tr->inner);
}

static ocp_status trace_end(ocp_transport *t)
{
    struct trace *tr = t->ctx;
    return tr->inner->ops->end(tr->inner);
}

static void trace_close(ocp_transport *t)
{
    struct trace *tr = t->ctx;
    tr->inner->ops->close(tr->inner);
    free(tr);
}

static const struct ocp_transport_ops trace_ops = {
    trace_transmit, trace_reset, trace_begin, trace_end, trace_close};

ocp_status ocp_trace_wrap(ocp_transport *inner, FILE *out,
                          ocp_transport **wrapped)
{
    struct trace *tr;
    if (inner == NULL || wrapped == NULL)
        return OCP_E_ARGS;
    tr = calloc(1, sizeof *tr);
    if (tr == NULL)
        return OCP_E_NOMEM;
    tr->t.ops = &trace_ops;
    tr->t.ctx = tr;
    tr->inner = inner;
    tr->out = out;
    *wrapped = &tr->t;
    return OCP_OK;
}

void ocp_trace_get(const ocp_transport *wrapped, ocp_trace_stats *stats)
{
    if (wrapped == NULL || wrapped->ops != &trace_ops || stats == NULL)
        return;
    *stats = ((const struct trace *)wrapped->ctx)->stats;
}

void ocp_trace_reset(ocp_transport *wrapped)
{
    if (wrapped != NULL && wrapped->ops == &trace_ops)
        memset(&((struct trace *)wrapped->ctx)->stats, 0,
               sizeof(ocp_trace_stats));
}
