/*
 * ocp readers: the PC/SC readers, one per line, and whether a card is in;
 * then the USB CCID readers libocp can drive directly (-r usb:VID:PID:N).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/ccid.h"
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
    if (json_is_string(json_object_get(v, "pcsc_error")))
        printf("no PC/SC reader found (%s)\n",
               json_string_value(json_object_get(v, "pcsc_error")));
    else if (json_array_size(json_object_get(v, "readers")) == 0)
        printf("no PC/SC reader found\n");
    json_array_foreach(json_object_get(v, "usb_ccid"), i, r)
        printf("%s: USB CCID reader on bus %lld, device %lld%s\n",
               json_string_value(json_object_get(r, "spec")),
               json_integer_value(json_object_get(r, "bus")),
               json_integer_value(json_object_get(r, "address")),
               json_is_true(json_object_get(r, "supported"))
                   ? ""
                   : " (needs TPDU or character level: not supported)");
    if (json_array_size(json_object_get(v, "usb_ccid")) == 0)
        printf("no USB CCID reader found\n");
}

/* The USB CCID readers; none (an empty array) when there is no USB. */
static json_t *usb_readers(void)
{
    ocp_ccid_reader found[16];
    size_t n = 0, i;
    json_t *arr = json_array();
    if (ocp_ccid_list(found, sizeof found / sizeof found[0], &n) != OCP_OK)
        return arr;
    for (i = 0; i < n && i < sizeof found / sizeof found[0]; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "spec", json_string(found[i].spec));
        json_object_set_new(r, "bus", json_integer(found[i].bus));
        json_object_set_new(r, "address", json_integer(found[i].address));
        json_object_set_new(r, "supported",
                            json_boolean(found[i].supported));
        json_array_append_new(arr, r);
    }
    return arr;
}

int cmd_readers(struct cli *c, int argc, char **argv)
{
    char names[4096];
    size_t len = sizeof names;
    const char *p;
    int i = 0;
    ocp_status st;
    json_t *v, *arr, *usb;
    size_t n_usb;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: ocp readers\nLists the PC/SC readers with their "
                   "index and whether a card is present, then the USB CCID\n"
                   "readers (-r usb:VID:PID:N) libocp drives without "
                   "pcscd.\n");
            return EXIT_OK;
        }
        fprintf(stderr, "usage: ocp readers\n");
        return EXIT_USAGE;
    }
    st = ocp_pcsc_list_readers(names, &len);
    /* A terminal without pcscd still has its USB readers to list; any
     * other PC/SC failure is one. */
    if (st != OCP_OK && st != OCP_E_NO_SERVICE)
        return cli_fail("listing readers", st);
    if (st != OCP_OK)
        names[0] = '\0';
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
    if (st != OCP_OK)
        json_object_set_new(v, "pcsc_error", json_string(ocp_strerror(st)));
    usb = usb_readers();
    n_usb = json_array_size(usb);
    json_object_set_new(v, "usb_ccid", usb);
    out_print(c->json, v, text);
    /* No pcscd and no USB reader: nothing to reach a card through. */
    if (st != OCP_OK && n_usb == 0)
        return cli_fail("listing readers", st);
    return EXIT_OK;
}
