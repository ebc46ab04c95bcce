/* The two registries of the back-office tests; see backends.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends.h"
#include "db.h"

static struct backend sqlite_be, pg_be;
static char pg_admin_uri[512], pg_db_name[64];

int backend_sqlite_setup(void **state)
{
    snprintf(sqlite_be.dir, sizeof sqlite_be.dir, "/tmp/ocp-reg-XXXXXX");
    if (mkdtemp(sqlite_be.dir) == NULL)
        return -1;
    snprintf(sqlite_be.uri, sizeof sqlite_be.uri, "sqlite:%s/registry.db",
             sqlite_be.dir);
    *state = &sqlite_be;
    return 0;
}

int backend_sqlite_teardown(void **state)
{
    struct backend *be = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", be->dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs one statement on the fixture's server (CREATE and DROP DATABASE
 * cannot run inside a transaction, so not through db_exec). */
static int admin(const char *fmt, const char *name)
{
    char statement[128], err[256];
    ocp_db *db;
    ocp_status st;
    if (db_open(pg_admin_uri, &db, err, sizeof err) != OCP_OK)
        return -1;
    snprintf(statement, sizeof statement, fmt, name);
    st = db_query(db, statement, NULL, 0, NULL, NULL, NULL);
    db_close(db);
    return st == OCP_OK ? 0 : -1;
}

int backend_pg_setup(void **state)
{
    const char *uri = getenv("OCP_TEST_PG_URI");
    const char *at;
    if (uri == NULL || strlen(uri) >= sizeof pg_admin_uri)
        return -1;
    snprintf(pg_admin_uri, sizeof pg_admin_uri, "%s", uri);
    snprintf(pg_db_name, sizeof pg_db_name, "ocp_test_%d", (int)getpid());
    if (admin("CREATE DATABASE %s", pg_db_name) != 0)
        return -1;
    /* postgresql://user:pw@/ocp?host=DIR -> .../ocp_test_PID?host=DIR */
    at = strstr(uri, "/ocp?");
    if (at == NULL)
        return -1;
    snprintf(pg_be.uri, sizeof pg_be.uri, "%.*s/%s%s", (int)(at - uri), uri,
             pg_db_name, at + 4);
    snprintf(pg_be.dir, sizeof pg_be.dir, "/tmp/ocp-reg-pg-XXXXXX");
    if (mkdtemp(pg_be.dir) == NULL)
        return -1;
    *state = &pg_be;
    return 0;
}

int backend_pg_teardown(void **state)
{
    int rc = backend_sqlite_teardown(state);
    return admin("DROP DATABASE %s", pg_db_name) == 0 ? rc : -1;
}

int backends_run(const char *name, const struct CMUnitTest *tests,
                 size_t count)
{
    char group[64];
    int failed;
    if (getenv("OCP_TEST_PG_URI") == NULL) {
        fprintf(stderr, "%s: OCP_TEST_PG_URI is not set; run it through "
                        "ctest (fixture postgres)\n",
                name);
        return 1;
    }
    snprintf(group, sizeof group, "%s_sqlite", name);
    failed = _cmocka_run_group_tests(group, tests, count,
                                     backend_sqlite_setup,
                                     backend_sqlite_teardown);
    snprintf(group, sizeof group, "%s_postgresql", name);
    failed += _cmocka_run_group_tests(group, tests, count, backend_pg_setup,
                                      backend_pg_teardown);
    return failed != 0;
}

int registry_back_to_v2(struct ocp_db *db)
{
    /* The v1 table and its covering index, filled from the generated
     * columns. */
    return db_exec(db,
                   "CREATE TABLE uses_v2("
                   "  terminal_id BIGINT NOT NULL, seq BIGINT NOT NULL,"
                   "  card_id TEXT NOT NULL, domain BIGINT NOT NULL,"
                   "  service BIGINT NOT NULL, amount BIGINT NOT NULL,"
                   "  datetime BIGINT NOT NULL, outcome BIGINT NOT NULL,"
                   "  counter BIGINT NOT NULL, remaining BIGINT NOT NULL,"
                   "  flags BIGINT NOT NULL, cert {BLOB} NOT NULL,"
                   "  batch_id BIGINT NOT NULL REFERENCES batches,"
                   "  PRIMARY KEY(terminal_id, seq));"
                   "INSERT INTO uses_v2 SELECT terminal_id, seq, card_id, "
                   "domain, service, amount, datetime, outcome, counter, "
                   "remaining, flags, cert, batch_id FROM uses;"
                   "DROP TABLE uses;"
                   "ALTER TABLE uses_v2 RENAME TO uses;"
                   "CREATE INDEX uses_card ON uses(card_id, counter, "
                   "terminal_id, seq, domain, service, amount, datetime, "
                   "outcome, remaining, flags, cert);"
                   "ALTER TABLE approvals DROP COLUMN requested_at;"
                   "UPDATE meta SET value = '2' WHERE key = "
                   "'schema_version';") == OCP_OK
               ? 0
               : -1;
}
