/*
 * ocp registry: the desk's side of the registry (docs/CLI.md, "The desk
 * and its registry"): clerks, second-clerk approvals, the desk trail.
 *
 *   ocp --db URI [--clerk LOGIN] registry clerk add LOGIN --name NAME
 *       --permissions LIST
 *   ocp --db URI --clerk LOGIN registry clerk list | clerk disable LOGIN
 *   ocp --db URI --clerk LOGIN registry approve N | approvals
 *   ocp --db URI --clerk LOGIN registry trail [--card ID] [--json]
 *   ocp --db URI --clerk LOGIN registry set approval-threshold FEN
 *
 * Each is done by a clerk who logs in, and each change is a row in the
 * trail, as the desk's card commands are (clerk.h).  The one exception is
 * the registry's first clerk, added while no one can log in.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clerk.h"
#include "output.h"

/* Long enough for a passphrase, short enough for a line. */
#define PASSWORD_CAP 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ocp [--db URI] [--clerk LOGIN] registry clerk add LOGIN "
            "--name NAME\n"
            "           --permissions LIST\n"
            "       ocp [--db URI] --clerk LOGIN registry clerk list\n"
            "       ocp [--db URI] --clerk LOGIN registry clerk disable "
            "LOGIN\n"
            "       ocp [--db URI] --clerk LOGIN registry approve N\n"
            "       ocp [--db URI] --clerk LOGIN registry approvals\n"
            "       ocp [--db URI] --clerk LOGIN registry trail [--card ID] "
            "[--json]\n"
            "       ocp [--db URI] --clerk LOGIN registry set "
            "approval-threshold FEN\n"
            "LIST: comma-separated from issue, grant, credit, pin, "
            "lifecycle, approve,\nregistry, audit.  The first clerk of a "
            "registry is added with no login and needs\nregistry.  The "
            "clerk's password: OCP_CLERK_PASSWORD, else asked; a new\n"
            "clerk's: OCP_NEW_CLERK_PASSWORD, else asked twice.\n");
}

/* A new clerk's password: the environment, else typed twice. */
static int new_password(const char *login, char out[PASSWORD_CAP])
{
    char again[PASSWORD_CAP], prompt[128];
    int ok;
    if (getenv("OCP_NEW_CLERK_PASSWORD") != NULL)
        return cli_read_secret("OCP_NEW_CLERK_PASSWORD", "", out,
                               PASSWORD_CAP);
    snprintf(prompt, sizeof prompt, "password for the new clerk %s", login);
    if (cli_read_secret("OCP_NEW_CLERK_PASSWORD", prompt, out,
                        PASSWORD_CAP) != 0)
        return -1;
    ok = cli_ask_hidden("the same again", again, sizeof again) == 0 &&
         strcmp(out, again) == 0;
    ocp_secret_wipe(again, sizeof again);
    if (!ok) {
        fprintf(stderr, "ocp registry: the two passwords differ\n");
        ocp_secret_wipe(out, PASSWORD_CAP);
        return -1;
    }
    return 0;
}

/* The trail row of a registry-side change, as desk_record writes a card
 * command's. */
static int record(struct cli *c, ocp_registry *r, const char *clerk,
                  const char *action, const uint8_t *card, int64_t approval,
                  json_t *detail)
{
    struct desk d;
    memset(&d, 0, sizeof d);
    d.r = r;
    d.clerk = clerk;
    d.action = action;
    d.approval_id = approval;
    return desk_record(c, &d, card, detail);
}

static json_t *permission_list(const char *list)
{
    json_t *a = json_array();
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return a;
}

static int count_clerk(void *ctx, const ocp_registry_clerk *k)
{
    (void)k;
    ++*(size_t *)ctx;
    return 1; /* one is enough to know */
}

/* Whether the registry has a clerk yet (a failure counts as yes, so that
 * it asks for a login); ocp_registry_add_first_clerk decides again. */
static int has_clerks(ocp_registry *r)
{
    size_t n = 0;
    return ocp_registry_list_clerks(r, count_clerk, &n) != OCP_OK || n > 0;
}

static int clerk_add(struct cli *c, ocp_registry *r, const char *login,
                     const char *name, const char *permissions)
{
    char password[PASSWORD_CAP];
    const char *by;
    int64_t now;
    ocp_status st;
    int rc, first = !has_clerks(r);
    json_t *detail;
    /* The bootstrap: while the registry has no clerk, no one can log in,
     * so the first is added without a login (--clerk is not asked for).
     * The registry decides again in one statement, in case another desk
     * added one since. */
    if (!first && (rc = cli_clerk_login(c, r, "registry", NULL)) != 0)
        return rc;
    if (new_password(login, password) != 0)
        return EXIT_USAGE;
    st = ocp_registry_now(r, &now);
    if (st == OCP_OK)
        st = first ? ocp_registry_add_first_clerk(r, login, name, permissions,
                                                  password, now)
                   : ocp_registry_add_clerk(r, login, name, permissions,
                                            password, now);
    ocp_secret_wipe(password, sizeof password);
    if (st == OCP_E_DENIED && first) {
        fprintf(stderr, "ocp registry: %s: log in with --clerk LOGIN (or "
                        "OCP_CLERK) and try again\n",
                ocp_registry_error(r));
        return EXIT_REFUSED;
    }
    if (st == OCP_E_DB_CONFLICT) {
        fprintf(stderr, "ocp registry: %s\n", ocp_registry_error(r));
        return EXIT_FAILURE_;
    }
    if (st != OCP_OK)
        return cli_registry_fail(r, "adding the clerk", st);
    by = first ? login : c->clerk;
    detail = json_object();
    json_object_set_new(detail, "login", json_string(login));
    json_object_set_new(detail, "permissions", permission_list(permissions));
    if (first)
        json_object_set_new(detail, "first_clerk", json_true());
    if (c->json) {
        json_t *v = json_object();
        json_object_set_new(v, "clerk", json_string(login));
        json_object_set_new(v, "name", json_string(name));
        json_object_set_new(v, "permissions", permission_list(permissions));
        json_object_set_new(v, "first_clerk", json_boolean(first));
        out_print(1, v, NULL);
    } else if (!c->quiet) {
        printf("clerk %s added (%s)%s\n", login, permissions,
               first ? ", the registry's first" : "");
    }
    return record(c, r, by, "clerk-add", NULL, 0, detail);
}

struct listing {
    int json;
    size_t n;
};

static int clerk_row(void *ctx, const ocp_registry_clerk *k)
{
    struct listing *l = ctx;
    char disabled[24];
    if (l->json) {
        json_t *v = json_object();
        json_object_set_new(v, "clerk", json_string(k->login));
        json_object_set_new(v, "name", json_string(k->display_name));
        json_object_set_new(v, "permissions", permission_list(k->permissions));
        json_object_set_new(v, "disabled_at", out_time(k->disabled_at));
        out_print(1, v, NULL);
    } else {
        if (l->n == 0)
            printf("%-16s %-20s %-20s %s\n", "CLERK", "DISABLED", "NAME",
                   "PERMISSIONS");
        out_utc(k->disabled_at, disabled);
        printf("%-16s %-20s %-20s %s\n", k->login, disabled, k->display_name,
               k->permissions);
    }
    l->n++;
    return 0;
}

static int clerk_list(struct cli *c, ocp_registry *r)
{
    struct listing l = {c->json, 0};
    ocp_status st;
    int rc;
    if ((rc = cli_clerk_login(c, r, "registry", "audit")) != 0)
        return rc;
    st = ocp_registry_list_clerks(r, clerk_row, &l);
    if (st != OCP_OK)
        return cli_registry_fail(r, "listing the clerks", st);
    return EXIT_OK;
}

static int clerk_disable(struct cli *c, ocp_registry *r, const char *login)
{
    ocp_status st;
    int64_t now;
    int rc;
    if ((rc = cli_clerk_login(c, r, "registry", NULL)) != 0)
        return rc;
    st = ocp_registry_now(r, &now);
    if (st == OCP_OK)
        st = ocp_registry_disable_clerk(r, login, now);
    if (st == OCP_E_ARGS || st == OCP_E_DENIED) {
        fprintf(stderr, "ocp registry: %s\n", ocp_registry_error(r));
        return EXIT_FAILURE_;
    }
    if (st != OCP_OK)
        return cli_registry_fail(r, "disabling the clerk", st);
    if (c->json)
        printf("{\"clerk\":\"%s\",\"disabled\":true}\n", login);
    else if (!c->quiet)
        printf("clerk %s disabled: no later login succeeds\n", login);
    return record(c, r, c->clerk, "clerk-disable", NULL, 0,
                  json_pack("{s:s}", "login", login));
}

/* The approval asked for, found among those not spent yet. */
struct wanted {
    int64_t id;
    int found;
    char action[16], requested_by[65];
    uint8_t card[8];
    int64_t amount;
};

static int find_approval(void *ctx, const ocp_registry_approval *a)
{
    struct wanted *w = ctx;
    if (a->id != w->id)
        return 0;
    w->found = 1;
    snprintf(w->action, sizeof w->action, "%s", a->action);
    snprintf(w->requested_by, sizeof w->requested_by, "%s", a->requested_by);
    memcpy(w->card, a->card_id, 8);
    w->amount = a->amount;
    return 1;
}

static int approve(struct cli *c, ocp_registry *r, int64_t id)
{
    struct wanted w;
    ocp_status st;
    int64_t now;
    json_t *detail;
    int rc;
    if ((rc = cli_clerk_login(c, r, "approve", NULL)) != 0)
        return rc;
    memset(&w, 0, sizeof w);
    w.id = id;
    st = ocp_registry_list_approvals(r, find_approval, &w);
    if (st == OCP_OK)
        st = ocp_registry_now(r, &now);
    if (st == OCP_OK)
        st = ocp_registry_approve(r, c->clerk, id, now);
    /* The library decides (the requester never approves their own); the
     * listing above only says what was approved. */
    if (st == OCP_E_DENIED) {
        fprintf(stderr, "ocp registry: %s\n", ocp_registry_error(r));
        return EXIT_REFUSED;
    }
    if (st != OCP_OK)
        return cli_registry_fail(r, "approving", st);
    detail = json_object();
    json_object_set_new(detail, "approval", json_integer(id));
    json_object_set_new(detail, "approves", json_string(w.action));
    json_object_set_new(detail, "amount", json_integer(w.amount));
    json_object_set_new(detail, "requested_by", json_string(w.requested_by));
    if (c->json) {
        json_t *v = json_object();
        json_object_set_new(v, "approval", json_integer(id));
        json_object_set_new(v, "action", json_string(w.action));
        json_object_set_new(v, "card_id", out_hex(w.card, 8));
        json_object_set_new(v, "amount", json_integer(w.amount));
        json_object_set_new(v, "requested_by", json_string(w.requested_by));
        json_object_set_new(v, "approved_by", json_string(c->clerk));
        out_print(1, v, NULL);
    } else if (!c->quiet) {
        printf("approval %lld given: %s on card ", (long long)id, w.action);
        cli_hex(stdout, w.card, 8);
        if (strcmp(w.action, "credit") == 0)
            printf(" of %lld", (long long)w.amount);
        printf(", for %s to run with --approval %lld\n", w.requested_by,
               (long long)id);
    }
    return record(c, r, c->clerk, "approve", w.found ? w.card : NULL, id,
                  detail);
}

static int approval_row(void *ctx, const ocp_registry_approval *a)
{
    struct listing *l = ctx;
    char card[17], at[24], asked[24];
    size_t i;
    for (i = 0; i < 8; i++)
        snprintf(card + 2 * i, 3, "%02X", a->card_id[i]);
    if (l->json) {
        json_t *v = json_object();
        json_object_set_new(v, "approval", json_integer(a->id));
        json_object_set_new(v, "action", json_string(a->action));
        json_object_set_new(v, "card_id", json_string(card));
        json_object_set_new(v, "amount", json_integer(a->amount));
        json_object_set_new(v, "requested_by", json_string(a->requested_by));
        json_object_set_new(v, "requested_at", out_time(a->requested_at));
        json_object_set_new(v, "approved_by", a->approved_by
                                                  ? json_string(a->approved_by)
                                                  : json_null());
        json_object_set_new(v, "approved_at", out_time(a->approved_at));
        out_print(1, v, NULL);
    } else {
        if (l->n == 0)
            printf("%-8s %-12s %-16s %10s  %-16s %-20s %-16s %s\n",
                   "APPROVAL", "ACTION", "CARD", "AMOUNT", "REQUESTED BY",
                   "REQUESTED AT", "APPROVED BY", "APPROVED AT");
        out_utc(a->approved_at, at);
        out_utc(a->requested_at, asked);
        printf("%-8lld %-12s %-16s %10lld  %-16s %-20s %-16s %s\n",
               (long long)a->id, a->action, card, (long long)a->amount,
               a->requested_by, asked, a->approved_by ? a->approved_by : "-",
               at);
    }
    l->n++;
    return 0;
}

static int approvals(struct cli *c, ocp_registry *r)
{
    struct listing l = {c->json, 0};
    ocp_status st;
    int rc;
    /* Any clerk: the one who asked wants to know whether it is done. */
    if ((rc = cli_clerk_login(c, r, NULL, NULL)) != 0)
        return rc;
    st = ocp_registry_list_approvals(r, approval_row, &l);
    if (st != OCP_OK)
        return cli_registry_fail(r, "listing the approvals", st);
    if (!c->json && !c->quiet && l.n == 0)
        printf("no approval is waiting or unspent\n");
    return EXIT_OK;
}

static int action_row(void *ctx, const ocp_registry_action *a)
{
    struct listing *l = ctx;
    char at[24], card[17] = "-";
    size_t i;
    if (a->has_card)
        for (i = 0; i < 8; i++)
            snprintf(card + 2 * i, 3, "%02X", a->card_id[i]);
    if (l->json) {
        json_t *v = json_object(), *detail;
        detail = json_loads(a->detail, 0, NULL);
        json_object_set_new(v, "id", json_integer(a->id));
        json_object_set_new(v, "at", out_time(a->at));
        json_object_set_new(v, "clerk", json_string(a->clerk));
        json_object_set_new(v, "action", json_string(a->action));
        json_object_set_new(v, "card_id",
                            a->has_card ? json_string(card) : json_null());
        /* A row entered by hand may hold text that is not JSON: kept as
         * it is rather than dropped. */
        json_object_set_new(v, "detail",
                            detail ? detail : json_string(a->detail));
        json_object_set_new(v, "approval_id", a->approval_id
                                                  ? json_integer(a->approval_id)
                                                  : json_null());
        out_print(1, v, NULL);
    } else {
        char approval[24] = "-";
        if (l->n == 0)
            printf("%-6s %-20s %-12s %-14s %-16s %-8s %s\n", "ID", "AT",
                   "CLERK", "ACTION", "CARD", "APPROVAL", "DETAIL");
        out_utc(a->at, at);
        if (a->approval_id)
            snprintf(approval, sizeof approval, "%lld",
                     (long long)a->approval_id);
        printf("%-6lld %-20s %-12s %-14s %-16s %-8s %s\n", (long long)a->id,
               at, a->clerk, a->action, card, approval, a->detail);
    }
    l->n++;
    return 0;
}

static int trail(struct cli *c, ocp_registry *r, const char *card_hex)
{
    struct listing l = {c->json, 0};
    uint8_t card[8];
    ocp_status st;
    int64_t now;
    size_t i;
    int rc;
    if (card_hex != NULL) {
        unsigned v;
        if (strlen(card_hex) != 16 ||
            strspn(card_hex, "0123456789abcdefABCDEF") != 16) {
            fprintf(stderr, "ocp registry: --card takes a card id, 16 hex "
                            "digits\n");
            return EXIT_USAGE;
        }
        for (i = 0; i < 8; i++) {
            sscanf(card_hex + 2 * i, "%2x", &v);
            card[i] = (uint8_t)v;
        }
    }
    if ((rc = cli_clerk_login(c, r, "audit", "registry")) != 0)
        return rc;
    /* The details name the services granted, which tell of the holder's
     * health: who read them is logged first, and nothing is shown when
     * that fails. */
    st = ocp_registry_now(r, &now);
    if (st == OCP_OK)
        st = ocp_registry_log_access(r, c->clerk, "desk trail",
                                     card_hex ? card : NULL, now);
    if (st == OCP_OK)
        st = ocp_registry_list_actions(r, card_hex ? card : NULL, action_row,
                                       &l);
    if (st != OCP_OK)
        return cli_registry_fail(r, "reading the desk trail", st);
    if (!c->json && !c->quiet && l.n == 0)
        printf("the desk trail is empty%s\n", card_hex ? " for this card" : "");
    return EXIT_OK;
}

static int set_threshold(struct cli *c, ocp_registry *r, const char *value)
{
    int64_t was = 0;
    long long fen;
    ocp_status st;
    char *end;
    int rc;
    errno = 0;
    fen = strtoll(value, &end, 10);
    if (errno || end == value || *end || fen < 0) {
        fprintf(stderr, "ocp registry: approval-threshold takes an amount in "
                        "fen, 0 or more\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_clerk_login(c, r, "registry", NULL)) != 0)
        return rc;
    st = ocp_registry_approval_threshold(r, &was);
    if (st == OCP_OK)
        st = ocp_registry_set_approval_threshold(r, (int64_t)fen);
    if (st != OCP_OK)
        return cli_registry_fail(r, "setting the approval threshold", st);
    if (c->json)
        printf("{\"approval_threshold_fen\":%lld,\"was\":%lld}\n", fen,
               (long long)was);
    else if (!c->quiet)
        printf("approval threshold: credits above %lld fen need a second "
               "clerk (was %lld)\n",
               fen, (long long)was);
    return record(c, r, c->clerk, "set-approval-threshold", NULL, 0,
                  json_pack("{s:I,s:I}", "fen", (json_int_t)fen, "was",
                            (json_int_t)was));
}

int cli_registry_desk(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"permissions", required_argument, NULL, 'p'},
        {"card", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *verb = argv[0], *object = NULL, *name = NULL;
    const char *permissions = NULL, *card = NULL;
    ocp_registry *r = NULL;
    int o, rc, nargs = 1;

    /* "clerk" and "set" take a second word before their options. */
    if ((strcmp(verb, "clerk") == 0 || strcmp(verb, "set") == 0) &&
        argc >= 2 && argv[1][0] != '-') {
        object = argv[1];
        nargs = 2;
    }
    argc -= nargs - 1;
    argv += nargs - 1;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            name = optarg;
            break;
        case 'p':
            permissions = optarg;
            break;
        case 'c':
            card = optarg;
            break;
        case 'j':
            c->json = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    /* The form first: a mistake costs no login. */
    if (strcmp(verb, "clerk") == 0 && object != NULL &&
        strcmp(object, "add") == 0) {
        if (argc != 1 || name == NULL || permissions == NULL ||
            name[0] == '\0') {
            fprintf(stderr, "ocp registry: clerk add LOGIN needs --name and "
                            "--permissions\n");
            return EXIT_USAGE;
        }
    } else if (name != NULL || permissions != NULL ||
               (card != NULL && strcmp(verb, "trail") != 0) ||
               !((strcmp(verb, "clerk") == 0 && object != NULL &&
                  ((strcmp(object, "list") == 0 && argc == 0) ||
                   (strcmp(object, "disable") == 0 && argc == 1))) ||
                 (strcmp(verb, "approve") == 0 && argc == 1) ||
                 (strcmp(verb, "approvals") == 0 && argc == 0) ||
                 (strcmp(verb, "trail") == 0 && argc == 0) ||
                 (strcmp(verb, "set") == 0 && object != NULL &&
                  strcmp(object, "approval-threshold") == 0 && argc == 1))) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((rc = cli_registry_open(c, &r)) != 0)
        return rc;
    if (strcmp(verb, "clerk") == 0 && strcmp(object, "add") == 0)
        rc = clerk_add(c, r, argv[0], name, permissions);
    else if (strcmp(verb, "clerk") == 0 && strcmp(object, "list") == 0)
        rc = clerk_list(c, r);
    else if (strcmp(verb, "clerk") == 0)
        rc = clerk_disable(c, r, argv[0]);
    else if (strcmp(verb, "approve") == 0) {
        int64_t id;
        rc = cli_parse_approval("ocp registry approve", argv[0], &id) == 0
                 ? approve(c, r, id)
                 : EXIT_USAGE;
    } else if (strcmp(verb, "approvals") == 0)
        rc = approvals(c, r);
    else if (strcmp(verb, "trail") == 0)
        rc = trail(c, r, card);
    else
        rc = set_threshold(c, r, argv[0]);
    ocp_registry_close(r);
    return rc;
}
