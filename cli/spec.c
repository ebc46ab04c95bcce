/* Entitlement specifications on the command line: SERVICE:DOMAIN:KIND[...]. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ocp/wire.h"

int cli_parse_entitlement(const char *spec, uint16_t from, uint16_t to,
                             ocp_entitlement *e)
{
    char buf[128], *parts[5] = {NULL};
    char *save = NULL, *tok;
    int n = 0;
    unsigned long v;

    if (strlen(spec) >= sizeof buf)
        return -1;
    strcpy(buf, spec);
    for (tok = strtok_r(buf, ":", &save); tok && n < 5;
         tok = strtok_r(NULL, ":", &save))
        parts[n++] = tok;
    if (n < 3)
        return -1;
    memset(e, 0, sizeof *e);
    v = strtoul(parts[0], &tok, 0);
    if (*tok || v == 0 || v > 0xFFFF)
        return -1;
    e->service = (uint16_t)v;
    e->domain = cli_role(parts[1]);
    if (e->domain < OCP_ROLE_TRANSIT || e->domain > OCP_ROLE_VENUE)
        return -1;
    e->valid_from = from;
    e->valid_to = to;
    if (strcmp(parts[2], "pass") == 0) {
        e->kind = OCP_KIND_PASS;
        return n == 3 ? 0 : -1;
    }
    if (n < 4)
        return -1;
    v = strtoul(parts[3], &tok, 10);
    if (*tok || v == 0 || v > 0xFFFFFFFFul)
        return -1;
    e->remaining = (uint32_t)v;
    if (strcmp(parts[2], "balance") == 0) {
        e->kind = OCP_KIND_BALANCE;
        return n == 4 ? 0 : -1;
    }
    if (strcmp(parts[2], "counter") != 0)
        return -1;
    e->kind = OCP_KIND_COUNTER;
    e->limit = e->remaining;
    if (n == 5 && strcmp(parts[4], "month") == 0)
        e->period = OCP_PERIOD_MONTH;
    else if (n == 5 && strcmp(parts[4], "year") == 0)
        e->period = OCP_PERIOD_YEAR;
    else if (n != 4)
        return -1;
    return 0;
}

