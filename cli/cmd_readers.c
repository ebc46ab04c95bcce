/* ocp readers: the PC/SC readers, one per line, and whether a card is in. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/pcsc.h"

int cmd_readers(struct cli *c, int argc, char **argv)
{
    char names[4096];
    size_t len = sizeof names;
    const char *p;
    int i = 0;
    ocp_status st;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: ocp readers\nLists the PC/SC readers with their "
                   "index and whether a card is present.\n");
            return EXIT_OK;
        }
        fprintf(stderr, "usage: ocp readers\n");
        return EXIT_USAGE;
    }
    st = ocp_pcsc_list_readers(names, &len);
    if (st != OCP_OK)
        return cli_fail("listing readers", st);
    if (c->json)
        printf("{\"readers\":[");
    for (p = names; *p; p += strlen(p) + 1, i++) {
        int present = ocp_pcsc_wait_card(p, 0) == OCP_OK;
        if (c->json)
            printf("%s{\"index\":%d,\"name\":\"%s\",\"card\":%s}",
                   i ? "," : "", i, p, present ? "true" : "false");
        else
            printf("%d: %s%s\n", i, p, present ? " (card present)" : "");
    }
    if (c->json)
        printf("]}\n");
    else if (i == 0)
        printf("no PC/SC reader found\n");
    return EXIT_OK;
}
