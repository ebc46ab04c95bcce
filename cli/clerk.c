/* The clerk at a desk that has a registry; see clerk.h. */
#include "clerk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocp/wire.h"
#include "output.h"

int cli_clerk_login(struct cli *c, ocp_registry *r, const char *permission,
                    const char *alternative)
{
    char password[256], prompt[128];
    ocp_status st;
    int may = 0;
    if (c->clerk == NULL) {
        if (permission == NULL)
            fprintf(stderr, "ocp: the registry (--db or OCP_DB) wants a "
                            "clerk logged in: --clerk LOGIN or OCP_CLERK\n");
        else
            fprintf(stderr, "ocp: the registry (--db or OCP_DB) wants a "
                            "clerk logged in with the %s%s%s permission: "
                            "--clerk LOGIN or OCP_CLERK\n",
                    permission, alternative ? " or the " : "",
                    alternative ? alternative : "");
        return EXIT_REFUSED;
    }
    snprintf(prompt, sizeof prompt, "password of clerk %s", c->clerk);
    if (cli_read_secret("OCP_CLERK_PASSWORD", prompt, password,
                        sizeof password) != 0) {
        ocp_secret_wipe(password, sizeof password);
        fprintf(stderr, "ocp: clerk %s is not logged in\n", c->clerk);
        return EXIT_REFUSED;
    }
    /* The password first, each permission after: one scrypt, and a
     * message that says which of the two failed. */
    st = ocp_registry_login(r, c->clerk, password, NULL);
    ocp_secret_wipe(password, sizeof password);
    if (st == OCP_E_DENIED) {
        fprintf(stderr, "ocp: clerk %s is not logged in: %s\n", c->clerk,
                ocp_registry_error(r));
        return EXIT_REFUSED;
    }
    if (st == OCP_OK && permission != NULL)
        st = ocp_registry_clerk_may(r, c->clerk, permission, &may);
    if (st == OCP_OK && permission != NULL && !may && alternative != NULL)
        st = ocp_registry_clerk_may(r, c->clerk, alternative, &may);
    if (st != OCP_OK)
        return cli_registry_fail(r, "logging the clerk in", st);
    if (permission != NULL && !may) {
        fprintf(stderr, "ocp: clerk %s may not do this: it needs the %s%s%s "
                        "permission\n",
                c->clerk, permission, alternative ? " or the " : "",
                alternative ? alternative : "");
        return EXIT_REFUSED;
    }
    return 0;
}

int desk_login(struct cli *c, struct desk *d, const char *action,
               const char *permission)
{
    int rc;
    memset(d, 0, sizeof *d);
    d->action = action;
    if (!c->db_given)
        return 0;
    if ((rc = cli_registry_open(c, &d->r)) != 0)
        return rc;
    if ((rc = cli_clerk_login(c, d->r, permission, NULL)) != 0) {
        desk_close(d);
        return rc;
    }
    d->clerk = c->clerk;
    return 0;
}

int cli_parse_approval(const char *prog, const char *arg, int64_t *id)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v <= 0) {
        fprintf(stderr, "%s: an approval is the number its request "
                        "printed\n",
                prog);
        return -1;
    }
    *id = (int64_t)v;
    return 0;
}

int desk_approval(struct cli *c, struct desk *d, const uint8_t card[8],
                  int64_t amount, int64_t approval)
{
    ocp_status st;
    int64_t now, id;
    int needed;
    if (d->r == NULL)
        return 0;
    st = ocp_registry_now(d->r, &now);
    if (st != OCP_OK)
        return cli_registry_fail(d->r, "the registry's clock", st);
    if (approval > 0) {
        /* Spent before the card changes: a command that then fails on
         * the card needs a new approval, never the reverse (a change
         * made on an approval that was not there). */
        st = ocp_registry_use_approval(d->r, d->clerk, approval, d->action,
                                       card, amount, now);
        if (st == OCP_E_DENIED) {
            fprintf(stderr, "ocp: %s\n", ocp_registry_error(d->r));
            return EXIT_REFUSED;
        }
        if (st != OCP_OK)
            return cli_registry_fail(d->r, "using the approval", st);
        d->approval_id = approval;
        return 0;
    }
    st = ocp_registry_needs_approval(d->r, d->action, amount, &needed);
    if (st != OCP_OK)
        return cli_registry_fail(d->r, "asking whether to approve", st);
    if (!needed)
        return 0;
    st = ocp_registry_request_approval(d->r, d->clerk, d->action, card,
                                       amount, now, &id);
    if (st != OCP_OK)
        return cli_registry_fail(d->r, "requesting the approval", st);
    if (c->json) {
        json_t *v = json_object();
        json_object_set_new(v, "approval_needed", json_integer(id));
        json_object_set_new(v, "action", json_string(d->action));
        json_object_set_new(v, "card_id", out_hex(card, 8));
        json_object_set_new(v, "amount", json_integer(amount));
        json_object_set_new(v, "requested_by", json_string(d->clerk));
        out_print(1, v, NULL);
    }
    fprintf(stderr,
            "approval %lld needed: a second clerk runs `ocp --clerk OTHER "
            "registry approve %lld`,\nthen run this command again with "
            "--approval %lld (nothing was done to the card)\n",
            (long long)id, (long long)id, (long long)id);
    return EXIT_APPROVAL;
}

int desk_record(struct cli *c, struct desk *d, const uint8_t card[8],
                json_t *detail)
{
    ocp_status st;
    int64_t now = 0;
    char *text;
    int rc = 0;
    (void)c;
    if (d->r == NULL) {
        json_decref(detail);
        return 0;
    }
    text = json_dumps(detail, JSON_COMPACT);
    st = text != NULL ? ocp_registry_now(d->r, &now) : OCP_E_NOMEM;
    if (st == OCP_OK)
        st = ocp_registry_record_action(d->r, d->clerk, d->action, card, text,
                                        d->approval_id, now);
    if (st != OCP_OK) {
        /* The card has changed and cannot be changed back from here: the
         * card is the truth, and the row must not be lost silently.  Say
         * so, and give the row whole, to be entered once the registry
         * works again. */
        json_t *row = json_object();
        char at[24];
        time_t t = now != 0 ? (time_t)now : time(NULL);
        struct tm tm;
        char *line;
        if (gmtime_r(&t, &tm) != NULL)
            strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        else
            snprintf(at, sizeof at, "?");
        json_object_set_new(row, "at", json_string(at));
        json_object_set_new(row, "clerk", json_string(d->clerk));
        json_object_set_new(row, "action", json_string(d->action));
        json_object_set_new(row, "card_id",
                            card ? out_hex(card, 8) : json_null());
        json_object_set_new(row, "detail", json_incref(detail));
        json_object_set_new(row, "approval_id",
                            d->approval_id ? json_integer(d->approval_id)
                                           : json_null());
        line = json_dumps(row, JSON_COMPACT);
        fprintf(stderr, "ocp: the %s changed, but the desk trail did not "
                        "record it: %s\n"
                        "ocp: %s; enter this row in the trail once the "
                        "registry works:\n%s\n",
                d->admin ? "registry" : "card",
                ocp_registry_error(d->r)[0] ? ocp_registry_error(d->r)
                                            : ocp_strerror(st),
                d->admin ? "the change is done" : "the card is the truth",
                line ? line : "(out of memory)");
        free(line);
        json_decref(row);
        rc = EXIT_REGISTRY;
    }
    free(text);
    json_decref(detail);
    return rc;
}

json_t *desk_issue_detail(const ocp_issue_request *req)
{
    json_t *v = json_object(), *list = json_array();
    size_t i;
    json_object_set_new(v, "suite", json_string(out_suite_name(req->suite)));
    json_object_set_new(v, "issue_date", out_date(req->issue_date));
    json_object_set_new(v, "expiry_date", out_date(req->expiry_date));
    for (i = 0; i < req->n_entitlements; i++) {
        ocp_entitlement e = req->entitlements[i];
        e.slot = (uint8_t)(i + 1);
        json_array_append_new(list, out_entitlement(&e));
    }
    json_object_set_new(v, "entitlements", list);
    return v;
}

void desk_close(struct desk *d)
{
    ocp_registry_close(d->r);
    d->r = NULL;
}

static int count_clerk(void *ctx, const ocp_registry_clerk *k)
{
    (void)k;
    ++*(int *)ctx;
    return 1; /* one is enough */
}

int cli_registry_open_admin(struct cli *c, ocp_registry **r)
{
    int rc = cli_registry_open(c, r), clerks = 0;
    ocp_status st;
    if (rc != 0)
        return rc;
    /* A registry without clerks is being set up: nobody could log in.
     * Once it has one, its administration is a clerk's with `registry`
     * (a restore replaces the clerks themselves). */
    st = ocp_registry_list_clerks(*r, count_clerk, &clerks);
    if (st != OCP_OK)
        rc = cli_registry_fail(*r, "reading the clerks", st);
    else if (clerks > 0) {
        rc = cli_clerk_login(c, *r, "registry", NULL);
        c->clerk_logged_in = rc == 0;
    }
    if (rc != 0) {
        ocp_registry_close(*r);
        *r = NULL;
    }
    return rc;
}


int cli_admin_record(struct cli *c, ocp_registry *r, const char *action,
                     const uint8_t *card, json_t *detail)
{
    struct desk d;
    memset(&d, 0, sizeof d);
    d.r = r;
    d.clerk = c->clerk_logged_in && c->clerk != NULL ? c->clerk : "-";
    d.action = action;
    d.admin = 1;
    return desk_record(c, &d, card, detail);
}
