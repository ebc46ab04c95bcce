/*
 * The in-process transport (ocp/inproc.h): the applet called directly, as
 * the vpcd adapter and the UART loop call it, with no daemon or socket in
 * between, so tests and fuzzers reach the card at memory speed.
 */
#include <stdlib.h>
#include <string.h>

#include "ocp/inproc.h"
#include "ocp_card.h"
#include "port_host.h"
#include "port_test.h"

struct inproc_transport {
    ocp_transport t; /* t.ctx points back at this struct */
    struct ocp_card card;
    int powered;     /* 0 after power was lost, until the next power-up */
    unsigned long card_block_calls; /* block-cipher calls inside the card */
    unsigned memory;                /* which of the test port's memories */
};

static const struct ocp_transport_ops inproc_ops;

static ocp_status power_up(struct inproc_transport *p)
{
    ocp_card_status st;
    port_test_select(p->memory);
    st = ocp_card_power_on(&p->card);
    p->powered = st == OCP_CARD_OK;
    switch (st) {
    case OCP_CARD_OK:
        return OCP_OK;
    case OCP_CARD_NO_IMAGE:
    case OCP_CARD_BAD_VERSION:
        return OCP_E_NO_CARD;
    case OCP_CARD_NVM_FAILURE:
        return OCP_E_CARD_REMOVED;
    case OCP_CARD_BAD_ARGS:
        break;
    }
    return OCP_E_ARGS;
}

static ocp_status inproc_transmit(ocp_transport *t, const uint8_t *capdu,
                                  size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct inproc_transport *p = t->ctx;
    uint8_t resp[OCP_CARD_RAPDU_MAX];
    size_t got = 0;
    ocp_card_status st;

    if (capdu == NULL || rapdu == NULL || rlen == NULL || clen < 4 ||
        clen > 261)
        return OCP_E_ARGS;
    if (!p->powered)
        return OCP_E_CARD_REMOVED;
    {
        unsigned long before = port_host_block_calls();
        port_test_select(p->memory);
        st = ocp_card_process(&p->card, capdu, clen, resp, sizeof resp,
                              &got);
        p->card_block_calls += port_host_block_calls() - before;
    }
    if (st == OCP_CARD_NVM_FAILURE) {
        /* What a terminal sees when the card leaves the field mid-command:
         * no answer at all. */
        p->powered = 0;
        memset(resp, 0, sizeof resp);
        return OCP_E_CARD_REMOVED;
    }
    if (st != OCP_CARD_OK)
        return OCP_E_ARGS;
    if (got < 2 || got > OCP_RAPDU_MAX) {
        memset(resp, 0, sizeof resp);
        return OCP_E_BAD_RESPONSE;
    }
    if (got > *rlen) {
        *rlen = got;
        memset(resp, 0, sizeof resp);
        return OCP_E_BUFFER;
    }
    memcpy(rapdu, resp, got);
    *rlen = got;
    memset(resp, 0, sizeof resp);
    return OCP_OK;
}

static ocp_status inproc_reset(ocp_transport *t)
{
    return power_up(t->ctx);
}

static ocp_status inproc_nothing(ocp_transport *t)
{
    (void)t;
    return OCP_OK;
}

static void inproc_close(ocp_transport *t)
{
    struct inproc_transport *p;
    if (t == NULL)
        return;
    p = t->ctx;
    memset(p, 0, sizeof *p); /* the card context holds session keys */
    free(p);
}

static const struct ocp_transport_ops inproc_ops = {
    inproc_transmit, inproc_reset, inproc_nothing, inproc_nothing,
    inproc_close,
};

ocp_status ocp_inproc_open(ocp_transport **out)
{
    return ocp_inproc_open_memory(0, out);
}

ocp_status ocp_inproc_open_memory(unsigned memory, ocp_transport **out)
{
    struct inproc_transport *p;
    ocp_status st;

    if (out == NULL || memory >= PORT_TEST_CARDS)
        return OCP_E_ARGS;
    *out = NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return OCP_E_NOMEM;
    p->t.ops = &inproc_ops;
    p->t.ctx = p;
    p->memory = memory;
    st = power_up(p);
    if (st != OCP_OK) {
        inproc_close(&p->t);
        return st;
    }
    *out = &p->t;
    return OCP_OK;
}

ocp_status ocp_inproc_power_cycle(ocp_transport *t)
{
    if (t == NULL || t->ops != &inproc_ops)
        return OCP_E_ARGS;
    return power_up(t->ctx);
}

unsigned long ocp_inproc_card_block_calls(const ocp_transport *t)
{
    const struct inproc_transport *p;
    if (t == NULL || t->ops != &inproc_ops)
        return 0;
    p = t->ctx;
    return p->card_block_calls;
}

const struct ocp_card *ocp_inproc_card(const ocp_transport *t)
{
    if (t == NULL || t->ops != &inproc_ops)
        return NULL;
    return &((const struct inproc_transport *)t->ctx)->card;
}
