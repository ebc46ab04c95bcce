/* ocp issue from files: one holder (JSON) or a batch (CSV). */
#ifndef OCP_CLI_ISSUE_BATCH_H
#define OCP_CLI_ISSUE_BATCH_H

#include "clerk.h"
#include "cli.h"

/* d: the clerk logged in for "issue" (desk_login); each card issued is a
 * row in its trail. */
int issue_holder_file(struct cli *c, struct desk *d, const char *path,
                      const char *catalogue, const char *pin);
int issue_batch(struct cli *c, struct desk *d, const char *path,
                const char *catalogue);

#endif
