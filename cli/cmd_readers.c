/* ocp readers: the PC/SC readers, one per line, and whether a card is in. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/pcsc.h"
#include "output.h"

static void text(json_t *v)
{
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(v, "readers"), i, r)
        printf("%lld: %s%s\n", json_integer_value(json_object_get(r, "index")),
               json_string_value(json_object_get(r, "name")),
               json_is_true(json_object_get(r, "card")) ? " (card present)"
                                                        : "");
    if (json_array_size(json_object_get(v, "readers")) == 0)
        printf("no PC/SC reader found\n");
}

int cmd_readers(struct cli *c, int argc, char **argv)
{
    char names[4096];
    size_t len = sizeof names;
    const char *p;
    int i = 0;
    ocp_status st;
    json_t *v, *arr;

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
    arr = json_array();
    for (p = names; *p; p += strlen(p) + 1, i++) {
        json_t *r = json_object();
        json_object_set_new(r, "index", json_integer(i));
        json_object_set_new(r, "name", json_string(p));
        json_object_set_new(r, "card",
                            json_boolean(ocp_pcsc_wait_card(p, 0) == OCP_OK));
        json_array_append_new(arr, r);
    }
    v = json_object();
    json_object_set_new(v, "readers", arr);
    /* No USB CCID transport in this release: say so, not nothing. */
    json_object_set_new(v, "usb_ccid", json_string("not supported"));
    out_print(c->json, v, text);
    return EXIT_OK;
}
