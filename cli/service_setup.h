/* The options shared by the service-point commands (use, terminal). */
#ifndef OCP_CLI_SERVICE_SETUP_H
#define OCP_CLI_SERVICE_SETUP_H

#include "cli.h"
#include "ocp/tap.h"

struct service_setup {
    ocp_tap_params params;
    ocp_keystore *ks;
    ocp_journal *journal;
    ocp_hotlist *hotlist;
    int large, bell;
    char pin[9];     /* --ask-pin: the holder's PIN for this tap */
};

/*
 * Parses --role --service --amount --journal --hotlist --hotlist-max-age
 * --passback --large --bell --count, opens the key store, the journal and
 * the hotlist (refusing a hotlist with a bad signature or older than the
 * last one this terminal saw, warning when it is stale).
 * Returns EXIT_OK, -1 after --help, or an exit code.
 */
int service_setup_parse(struct cli *c, int argc, char **argv,
                        const char *cmd, struct service_setup *svc,
                        long *count);
void service_setup_free(struct service_setup *svc);

#endif
