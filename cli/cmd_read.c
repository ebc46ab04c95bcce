/*
 * ocp read: what a role may see of a card — its status, the holder record
 * (only the fields the role may read) and the entitlements of its domain.
 * The kiosk role asks for the holder's PIN first.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/wire.h"
#include "output.h"

static void text(json_t *v)
{
    json_t *h = json_object_get(v, "holder"), *e;
    size_t i;
    printf("card         %s (%s, %s), expires %s\n",
           json_string_value(json_object_get(v, "card_id")),
           json_string_value(json_object_get(v, "suite")),
           json_string_value(json_object_get(v, "state")),
           json_string_value(json_object_get(v, "expiry_date")));
    if (h)
        out_text_holder(h);
    printf("entitlements\n");
    json_array_foreach(json_object_get(v, "entitlements"), i, e)
        out_text_entitlement(e);
}

static int role_option(int argc, char **argv, const char *cmd, uint8_t *role)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    *role = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'r') {
            *role = cli_role(optarg);
        } else if (o == 'h') {
            printf("usage: ocp --keys URI %s --role ROLE\n"
                   "ROLE: issuer, transit, medical, rehab, assistive, "
                   "subsidy, venue, kiosk\n(kiosk: the holder's PIN from "
                   "OCP_PIN or asked on the terminal)\n",
                   cmd);
            return -1;
        } else {
            return -2;
        }
    }
    if (*role == 0 || optind != argc) {
        fprintf(stderr, "usage: ocp --keys URI %s --role ROLE\n", cmd);
        return -2;
    }
    return 0;
}

int cmd_read(struct cli *c, int argc, char **argv)
{
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_select_info info;
    ocp_card_status_info status;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    size_t n = OCP_MAX_ENTITLEMENTS, i;
    ocp_holder holder;
    json_t *v, *arr;
    uint8_t role;
    ocp_status st;
    int rc;

    rc = role_option(argc, argv, "read", &role);
    if (rc < 0)
        return rc == -1 ? EXIT_OK : EXIT_USAGE;
    rc = cli_open(c, role, &t, &ks, &s, &info);
    if (rc != EXIT_OK)
        return rc;
    st = ocp_read_status(s, &status);
    if (st == OCP_OK)
        st = ocp_read_entitlements(s, ents, &n);
    if (st != OCP_OK) {
        rc = cli_fail("reading the card", st);
        goto out;
    }
    v = json_object();
    json_object_set_new(v, "card_id", out_hex(info.card_id, 8));
    json_object_set_new(v, "suite", json_string(out_suite_name(info.suite)));
    json_object_set_new(v, "state", json_string(out_state_name(status.state)));
    json_object_set_new(v, "expiry_date", out_date(status.expiry_date));
    json_object_set_new(v, "role", json_string(cli_role_name(role)));
    /* Transit and the other non-medical roles may not read the holder at
     * all: the card refuses, and the output has no holder field. */
    st = ocp_read_holder(s, &holder);
    if (st == OCP_OK)
        json_object_set_new(v, "holder", out_holder(&holder));
    else if (st != OCP_E_DENIED) {
        json_decref(v);
        rc = cli_fail("reading the holder", st);
        goto out;
    }
    memset(&holder, 0, sizeof holder);
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, out_entitlement(&ents[i]));
    json_object_set_new(v, "entitlements", arr);
    out_print(c->json, v, text);
out:
    cli_close(t, ks, s);
    return rc;
}

static void log_text(json_t *v)
{
    json_t *l;
    size_t i;
    json_array_foreach(json_object_get(v, "log"), i, l)
        out_text_log(l);
    if (json_array_size(json_object_get(v, "log")) == 0)
        printf("no transactions this role may see\n");
}

int cmd_log(struct cli *c, int argc, char **argv)
{
    ocp_transport *t;
    ocp_keystore *ks;
    ocp_session *s;
    ocp_log_record log[OCP_LOG_RECORDS];
    size_t n = OCP_LOG_RECORDS, i;
    json_t *v, *arr;
    uint8_t role;
    ocp_status st;
    int rc = role_option(argc, argv, "log", &role);

    if (rc < 0)
        return rc == -1 ? EXIT_OK : EXIT_USAGE;
    rc = cli_open(c, role, &t, &ks, &s, NULL);
    if (rc != EXIT_OK)
        return rc;
    st = ocp_read_log(s, log, &n);
    if (st != OCP_OK) {
        rc = cli_fail("reading the log", st);
        goto out;
    }
    v = json_object();
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, out_log(&log[i]));
    json_object_set_new(v, "log", arr);
    out_print(c->json, v, log_text);
out:
    cli_close(t, ks, s);
    return rc;
}
