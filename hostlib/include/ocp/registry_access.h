/**
 * @file ocp/registry_access.h
 * Who may do what in a city's PostgreSQL registry (docs/BACKOFFICE.md
 * section 9b).  The desks and the back office connect as the registry's
 * owner.  A terminal's `ocp sync` connects with a login of its own,
 * `ocp_t_` and its id in 8 lower-case hex digits, member of the role
 * `ocp_terminal`, which may only do what a sync does, and only for that
 * terminal (row-level security): add its own batches and records, read
 * its own row, the published files and the card states a debit needs.  It
 * reads no holder, clerk, trail or access-log row, and cannot write
 * another terminal's records even with a valid signature of its own.
 *
 * SQLite has no logins: a district's registry file is protected by the
 * machine's accounts (mode 0600).
 */
#ifndef OCP_REGISTRY_ACCESS_H
#define OCP_REGISTRY_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "ocp/export.h"
#include "ocp/registry.h"
#include "ocp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a login name: "ocp_t_" and 8 hex digits. */
#define OCP_TERMINAL_LOGIN_CAP 16
/** Room for a generated password: 32 hex digits. */
#define OCP_TERMINAL_PASSWORD_CAP 33

/**
 * Give an enrolled terminal a login (or a new password for the one it
 * has), creating the role `ocp_terminal`, its grants and its policies when
 * they are missing.  Needs an owner's connection with CREATEROLE.
 * @param[out] login     the login name
 * @param[out] password  a new random password (give it to the terminal,
 *                       then forget it: the server keeps only its hash)
 * @return OCP_OK; OCP_E_ARGS for SQLite or a terminal that is not enrolled
 *         or is revoked (ocp_registry_error() says which); OCP_E_DB.
 */
OCP_API ocp_status ocp_registry_terminal_login(
    ocp_registry *r, uint32_t terminal_id,
    char login[OCP_TERMINAL_LOGIN_CAP],
    char password[OCP_TERMINAL_PASSWORD_CAP]);

/**
 * Take a terminal's login away (NOLOGIN; its sessions end at the next
 * statement that needs it).  ocp_registry_revoke_terminal calls this on
 * PostgreSQL too.  OCP_OK also when it has none.
 */
OCP_API ocp_status ocp_registry_terminal_logout(ocp_registry *r,
                                                uint32_t terminal_id);

#ifdef __cplusplus
}
#endif

#endif
