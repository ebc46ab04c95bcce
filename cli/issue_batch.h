/* ocp issue from files: one holder (JSON) or a batch (CSV). */
#ifndef OCP_CLI_ISSUE_BATCH_H
#define OCP_CLI_ISSUE_BATCH_H

#include "cli.h"

int issue_holder_file(struct cli *c, const char *path, const char *catalogue,
                      const char *pin);
int issue_batch(struct cli *c, const char *path, const char *catalogue);

#endif
