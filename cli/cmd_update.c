/*
 * ocp update: change fields of the holder record and re-sign, in one
 * atomic card command.  Fields not given keep their value.
 *
 *   ocp --keys URI update [--name NAME] [--cert NUMBER] [--district CODE]
 *
 * With a registry a clerk with the issue permission logs in first; the
 * trail names the fields changed, never their values.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "cli.h"
#include "ocp/wire.h"
#include "output.h"

int cmd_update(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"cert", required_argument, NULL, 'c'},
        {"district", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *name = NULL, *cert = NULL, *district = NULL;
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_select_info info;
    ocp_holder h;
    ocp_status st;
    struct desk d;
    int o, rc;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            name = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'd':
            district = optarg;
            break;
        case 'h':
            printf("usage: ocp --keys URI update [--name NAME] [--cert "
                   "NUMBER] [--district CODE]\n");
            return EXIT_OK;
        default:
            return EXIT_USAGE;
        }
    }
    if ((!name && !cert && !district) || optind != argc) {
        fprintf(stderr, "usage: ocp --keys URI update [--name NAME] [--cert "
                        "NUMBER] [--district CODE]\n");
        return EXIT_USAGE;
    }
    if ((name && (strlen(name) == 0 || strlen(name) > OCP_NAME_MAX)) ||
        (cert && strlen(cert) != OCP_CERT_NO_LEN)) {
        fprintf(stderr, "ocp update: a name has 1 to %u bytes, a "
                        "certificate number 20 characters\n",
                OCP_NAME_MAX);
        return EXIT_USAGE;
    }
    rc = desk_login(c, &d, "update", "issue");
    if (rc != EXIT_OK)
        return rc;
    rc = cli_open(c, OCP_ROLE_ISSUER, &t, &ks, &s, &info);
    if (rc != EXIT_OK) {
        desk_close(&d);
        return rc;
    }
    st = ocp_read_holder(s, &h);
    ocp_session_close(s);
    s = NULL;
    if (st == OCP_OK) {
        if (name)
            strcpy(h.name, name);
        if (cert) {
            strcpy(h.cert_no, cert);
            h.category = (uint8_t)(cert[18] - '0');
            h.grade = (uint8_t)(cert[19] - '0');
        }
        if (district)
            h.district = (uint32_t)strtoul(district, NULL, 10);
        st = ocp_update_holder(t, ks, &h, c->terminal_id, cli_now());
    }
    if (st != OCP_OK) {
        rc = cli_fail("updating the holder", st);
    } else if (c->json) {
        out_print(1, out_holder(&h), NULL);
    } else {
        printf("holder record updated and re-signed\n");
    }
    memset(&h, 0, sizeof h);
    if (st == OCP_OK) {
        json_t *fields = json_array();
        if (name)
            json_array_append_new(fields, json_string("name"));
        if (cert)
            json_array_append_new(fields, json_string("cert"));
        if (district)
            json_array_append_new(fields, json_string("district"));
        rc = desk_record(c, &d, info.card_id,
                         json_pack("{s:o}", "fields", fields));
    }
    cli_close(t, ks, s);
    desk_close(&d);
    return rc;
}
