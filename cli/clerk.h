/*
 * The clerk at a desk that has a registry (--db or OCP_DB; docs/CLI.md,
 * "The desk and its registry").  Every command that changes a card goes
 * through the same three steps:
 *
 *   struct desk d;
 *   rc = desk_login(c, &d, "credit", "credit");     before the card is
 *   if (rc != 0)                                    opened at all
 *       return rc;
 *   ... open the card, learn its id ...
 *   rc = desk_approval(c, &d, id, amount, approval); before it changes
 *   ... change the card ...
 *   rc = desk_record(c, &d, id, detail);             after it changed
 *   desk_close(&d);
 *
 * Without a registry each step passes and nothing is written, so a desk
 * without one works as it always did.
 */
#ifndef OCP_CLI_CLERK_H
#define OCP_CLI_CLERK_H

#include <jansson.h>
#include <stdint.h>

#include "cli.h"

struct desk {
    ocp_registry *r;     /* NULL: no registry, nothing checked or written */
    const char *clerk;   /* who logged in */
    const char *action;  /* the trail's and the approvals' word for it */
    int64_t approval_id; /* spent on this command; 0: none */
    int admin;           /* the registry changed, not a card */
};

/*
 * Logs the clerk (--clerk or OCP_CLERK; password OCP_CLERK_PASSWORD or
 * asked) in with `permission` when there is a registry.  0, or the exit
 * code after a message: EXIT_REFUSED for no clerk, a wrong password, a
 * disabled clerk or a missing permission; EXIT_REGISTRY.
 */
int desk_login(struct cli *c, struct desk *d, const char *action,
               const char *permission);

/*
 * Before the card changes: spends approval `approval` (nonzero: given with
 * --approval) on exactly this action, card and amount, or, when none is
 * given and the registry wants a second clerk for it, records a request
 * and says how to go on.  0 to go on; EXIT_APPROVAL after a request;
 * EXIT_REFUSED when the approval does not cover this; EXIT_REGISTRY.
 */
int desk_approval(struct cli *c, struct desk *d, const uint8_t card[8],
                  int64_t amount, int64_t approval);

/*
 * After the card changed: one row in the desk trail, with detail (taken
 * over; never a PIN, a key or holder fields).  The card is the truth: when
 * the row cannot be written, the row is printed on stderr to be entered by
 * hand and the result is EXIT_REGISTRY; else 0.
 */
int desk_record(struct cli *c, struct desk *d, const uint8_t card[8],
                json_t *detail);

void desk_close(struct desk *d);

/* The trail's detail of an issuance: suite, dates and entitlements (slots
 * numbered as the card numbers them), never the holder fields or PIN. */
json_t *desk_issue_detail(const ocp_issue_request *req);

/*
 * Logs --clerk in on an open registry, holding `permission` or, when
 * `alternative` is not NULL, that one instead; permission NULL: any
 * active clerk.  0, or the exit code after a message (as desk_login).
 */
int cli_clerk_login(struct cli *c, ocp_registry *r, const char *permission,
                    const char *alternative);

/*
 * Opens the registry for its administration (terminals, published files,
 * the hotlist, backup, restore, purge): once the registry has a clerk, a
 * clerk with the registry permission must be logged in.  0, or the exit
 * code after a message (the registry is then closed).
 */
int cli_registry_open_admin(struct cli *c, ocp_registry **r);

/* The --approval option's value: a positive number, else -1 after a
 * message. */
int cli_parse_approval(const char *prog, const char *arg, int64_t *id);

/*
 * After an administration command changed the registry: one row in the
 * trail under the clerk cli_registry_open_admin logged in, or "-" while
 * the registry has no clerk yet (being set up, nobody to name).  card may
 * be NULL; detail is taken over.  0, or EXIT_REGISTRY after printing the
 * row to be entered by hand (the change is done either way).
 */
int cli_admin_record(struct cli *c, ocp_registry *r, const char *action,
                     const uint8_t *card, json_t *detail);

#endif
