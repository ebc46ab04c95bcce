/*
 * The two registries a back-office test runs against: an SQLite file in a
 * scratch directory, and a database of its own on the PostgreSQL server of
 * the ctest fixture `postgres` (OCP_TEST_PG_URI), dropped at the end.
 * Use them as cmocka group set-ups; the group state is the backend.
 */
#ifndef OCP_TEST_BACKENDS_H
#define OCP_TEST_BACKENDS_H

struct backend {
    char uri[512];
    char dir[64]; /* scratch directory for the test's files */
};

int backend_sqlite_setup(void **state);
int backend_sqlite_teardown(void **state);
int backend_pg_setup(void **state);
int backend_pg_teardown(void **state);

/* Turns a registry of this version back into schema version 2, as the
 * release before version 3 left it (uses as plain columns, approvals
 * without a request time), for the migration tests; db is a handle of
 * db.h on it. */
struct ocp_db;
int registry_back_to_v2(struct ocp_db *db);

/* main() of a test over both: the group named `name` runs on each. */
int backends_run(const char *name, const struct CMUnitTest *tests,
                 size_t count);

#endif
