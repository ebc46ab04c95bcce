/*
 * Terminals' own logins to a PostgreSQL registry (ocp/registry_access.h,
 * docs/BACKOFFICE.md section 9b): the role `ocp_terminal` may do what
 * `ocp sync` does and nothing else, and row-level security keeps each
 * login to its own terminal's rows.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "ocp/registry_access.h"
#include "registry_internal.h"

/*
 * Idempotent: run again after a schema migration, it grants on what the
 * new version added.  A login's terminal id comes from its name, so no
 * table maps logins to terminals (one a login could not be trusted to
 * read anyway).
 */
static const char terminal_role_sql[] =
    "DO $$ BEGIN "
    "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ocp_terminal') "
    "THEN CREATE ROLE ocp_terminal NOLOGIN; END IF; END $$;"
    "CREATE OR REPLACE FUNCTION ocp_login_terminal() RETURNS BIGINT "
    "LANGUAGE sql STABLE AS $f$ SELECT CASE WHEN current_user ~ "
    "'^ocp_t_[0-9a-f]{8}$' THEN ('x' || substr(current_user, 7))::bit(32)"
    "::bigint END $f$;"
    /* What a sync reads and writes (registry_upload.c, sync.c,
     * registry_replace.c): column by column where a table holds more. */
    "GRANT SELECT ON meta, published TO ocp_terminal;"
    "GRANT SELECT (terminal_id, public_key, revoked_at, hotlist_version), "
    "UPDATE (last_sync, clock_offset_s, hotlist_version) ON terminals "
    "TO ocp_terminal;"
    "GRANT SELECT, INSERT ON batches, replacement_debits TO ocp_terminal;"
    "GRANT SELECT, INSERT, UPDATE ON uses TO ocp_terminal;"
    "GRANT INSERT ON use_conflicts TO ocp_terminal;"
    "GRANT SELECT (card_id, state, replaced_by, carried_counter) ON cards "
    "TO ocp_terminal;"
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ocp_terminal;";

/* Each table a terminal writes: its own rows only.  The owner (desks,
 * back office) is not subject to these policies. */
static const char *const own_rows_tables[] = {
    "terminals", "batches", "uses", "use_conflicts", "replacement_debits"};

static ocp_status set_up_role(ocp_registry *r)
{
    char sql[400];
    size_t i;
    ocp_status st = db_exec(r->db, terminal_role_sql);
    for (i = 0; st == OCP_OK && i < sizeof own_rows_tables /
                                        sizeof own_rows_tables[0];
         i++) {
        snprintf(sql, sizeof sql,
                 "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;"
                 "DROP POLICY IF EXISTS ocp_terminal_own ON %s;"
                 "CREATE POLICY ocp_terminal_own ON %s TO ocp_terminal "
                 "USING (terminal_id = ocp_login_terminal()) "
                 "WITH CHECK (terminal_id = ocp_login_terminal());",
                 own_rows_tables[i], own_rows_tables[i], own_rows_tables[i]);
        st = db_exec(r->db, sql);
    }
    return st;
}

static int postgresql_only(ocp_registry *r)
{
    if (reg_is_postgresql(r))
        return 1;
    snprintf(r->error, sizeof r->error,
             "terminal logins are for a PostgreSQL registry; an SQLite "
             "registry is one file, protected by the machine's accounts");
    return 0;
}

static void login_name(uint32_t terminal_id, char out[OCP_TERMINAL_LOGIN_CAP])
{
    snprintf(out, OCP_TERMINAL_LOGIN_CAP, "ocp_t_%08x", terminal_id);
}

ocp_status ocp_registry_terminal_login(
    ocp_registry *r, uint32_t terminal_id,
    char login[OCP_TERMINAL_LOGIN_CAP],
    char password[OCP_TERMINAL_PASSWORD_CAP])
{
    uint8_t secret[16];
    char sql[400];
    size_t i;
    ocp_status st;
    if (r == NULL || login == NULL || password == NULL)
        return OCP_E_ARGS;
    login[0] = password[0] = '\0';
    if (!postgresql_only(r))
        return OCP_E_ARGS;
    st = ocp_registry_check_terminal(r, terminal_id);
    if (st != OCP_OK)
        return st == OCP_E_DENIED ? OCP_E_ARGS : st;
    if (RAND_bytes(secret, sizeof secret) != 1)
        return OCP_E_CRYPTO;
    for (i = 0; i < sizeof secret; i++)
        snprintf(password + 2 * i, 3, "%02x", secret[i]);
    login_name(terminal_id, login);
    /* Role statements take no parameters: the name and the password are
     * hex digits made here, nothing a caller wrote. */
    snprintf(sql, sizeof sql,
             "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
             "rolname = '%s') THEN CREATE ROLE %s; END IF; END $$;"
             "ALTER ROLE %s LOGIN PASSWORD '%s';"
             "GRANT ocp_terminal TO %s;",
             login, login, login, password, login);
    st = db_begin(r->db);
    if (st == OCP_OK)
        st = set_up_role(r);
    if (st == OCP_OK)
        st = db_exec(r->db, sql);
    if (st == OCP_OK)
        st = db_commit(r->db);
    else
        db_rollback(r->db);
    db_redact_secret(r->db, password, strlen(password));
    memset(sql, 0, sizeof sql);
    if (st != OCP_OK) {
        memset(password, 0, OCP_TERMINAL_PASSWORD_CAP);
        reg_set_error(r, "giving the terminal a login");
    }
    return st;
}

ocp_status ocp_registry_terminal_logout(ocp_registry *r,
                                        uint32_t terminal_id)
{
    char login[OCP_TERMINAL_LOGIN_CAP], sql[200];
    ocp_status st;
    if (r == NULL)
        return OCP_E_ARGS;
    if (!postgresql_only(r))
        return OCP_E_ARGS;
    login_name(terminal_id, login);
    snprintf(sql, sizeof sql,
             "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
             "'%s') THEN ALTER ROLE %s NOLOGIN; END IF; END $$;",
             login, login);
    st = db_exec(r->db, sql);
    if (st != OCP_OK)
        reg_set_error(r, "taking the terminal's login away");
    return st;
}
