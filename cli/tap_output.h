/* How a service point shows a tap: one line, JSON, or large; and bells. */
#ifndef OCP_CLI_TAP_OUTPUT_H
#define OCP_CLI_TAP_OUTPUT_H

#include "cli.h"
#include "ocp/tap.h"

/* Bell patterns (docs/SERVICE.md): accepted and already validated ring
 * once, refused rings three times. */
#define TAP_BELLS_ACCEPTED 1
#define TAP_BELLS_REFUSED 3

void tap_show(struct cli *c, const ocp_tap_params *p,
              const ocp_tap_result *r, int large, int bell);
/* Exit code of a decided tap. */
int tap_exit_code(const ocp_tap_result *r);

#endif
