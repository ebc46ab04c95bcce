/* The reader a command works with, PC/SC or USB CCID: see reader.h. */
#include <stdio.h>
#include <string.h>

#include "ocp/ccid.h"
#include "ocp/pcsc.h"
#include "ocp/trace.h"
#include "reader.h"

ocp_status cli_reader_find(const struct cli *c, struct cli_reader *r)
{
    memset(r, 0, sizeof *r);
    if (c->reader != NULL && strncmp(c->reader, "usb:", 4) == 0) {
        if (strlen(c->reader) >= sizeof r->name)
            return OCP_E_ARGS;
        strcpy(r->name, c->reader);
        r->usb = 1;
        return OCP_OK;
    }
    return ocp_pcsc_find_reader(c->reader, r->name, sizeof r->name);
}

ocp_status cli_reader_wait_card(const struct cli_reader *r, long timeout_ms)
{
    return r->usb ? ocp_ccid_wait_card(r->name, timeout_ms)
                  : ocp_pcsc_wait_card(r->name, timeout_ms);
}

ocp_status cli_reader_wait_removal(const struct cli_reader *r,
                                   long timeout_ms)
{
    return r->usb ? ocp_ccid_wait_removal(r->name, timeout_ms)
                  : ocp_pcsc_wait_removal(r->name, timeout_ms);
}

const char *cli_reader_detail(const struct cli_reader *r)
{
    return r->usb ? ocp_ccid_last_error() : "";
}

ocp_status cli_reader_connect(struct cli *c, const struct cli_reader *r,
                              ocp_transport **t)
{
    ocp_status st;
    *t = NULL;
    st = r->usb ? ocp_ccid_open_timeout(r->name, c->card_timeout_ms, t)
                : ocp_pcsc_connect_timeout(r->name, c->card_timeout_ms, t);
    if (st != OCP_OK) {
        *t = NULL;
        return st;
    }
    /* One subcommand (one tap, one card of a batch) is one exclusive
     * transaction: no other program's APDUs can interleave with it. */
    st = (*t)->ops->begin(*t);
    if (st == OCP_OK && c->trace) {
        ocp_transport *traced;
        st = ocp_trace_wrap(*t, stderr, &traced);
        if (st == OCP_OK)
            *t = traced;
    }
    if (st != OCP_OK) {
        (*t)->ops->close(*t);
        *t = NULL;
    }
    return st;
}

ocp_status cli_connect(struct cli *c, ocp_transport **t)
{
    struct cli_reader r;
    ocp_status st;

    *t = NULL;
    st = cli_reader_find(c, &r);
    if (st == OCP_OK) {
        st = cli_reader_wait_card(&r, c->wait_ms);
        if (st == OCP_E_TIMEOUT)
            st = OCP_E_NO_CARD;
    }
    if (st == OCP_OK && c->verbose)
        fprintf(stderr, "ocp: reader %s\n", r.name);
    if (st == OCP_OK)
        st = cli_reader_connect(c, &r, t);
    /* What the USB layer saw comes with cli_fail()'s message. */
    return st;
}
