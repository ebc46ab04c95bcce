/*
 * Between db.c and the two backends (db_sqlite.c, db_pgsql.c); nothing
 * outside the storage layer includes this.
 *
 * db.c owns what both backends share: URI dispatch, the DDL tokens, the
 * statement cache, parameter checks, the transaction state and the error
 * text.  A backend only talks to its library.
 */
#ifndef OCP_DB_BACKEND_H
#define OCP_DB_BACKEND_H

#include "../db.h"

#define DB_CACHE_SLOTS 64

typedef struct {
    char *sql;     /* NULL: free slot */
    uint32_t hash;
    uint64_t used; /* db->tick at the last use, for LRU eviction */
    void *stmt;    /* the backend's prepared statement */
} db_cached;

typedef struct db_ops {
    const char *name;
    const char *blob_type;   /* {BLOB} */
    const char *serial_type; /* {SERIAL} */
    const char *begin_sql;
    /* A read-only transaction that sees one state of the database. */
    const char *begin_read_sql;
    /* Several connections sharing that state: the statement that names
     * it, and the one (a printf format for the name) that adopts it in
     * another connection's read transaction.  NULL: not possible. */
    const char *snapshot_export_sql;
    const char *snapshot_import_fmt;

    /* target: the file path (SQLite) or the whole URI (PostgreSQL).
     * On failure, sets the message with db_set_error and leaves
     * db->impl NULL or freeable by close. */
    ocp_status (*open)(ocp_db *db, const char *target);
    void (*close)(ocp_db *db);
    /* Several statements, no parameters, tokens already replaced. */
    ocp_status (*exec)(ocp_db *db, const char *sql);
    /* One statement; *stmt is cached by db.c until finalize. */
    ocp_status (*prepare)(ocp_db *db, const char *sql, void **stmt);
    void (*finalize)(ocp_db *db, void *stmt);
    /* Binds params (already checked: TEXT is UTF-8), streams the rows
     * to fn until it returns nonzero, and ends the statement cleanly. */
    ocp_status (*run)(ocp_db *db, void *stmt, const db_value *params,
                      size_t nparams, db_row_fn fn, void *ctx,
                      int64_t *changes);
    /* A whole-database copy to the file at path (restore: from it, over
     * this database).  See db_backup() in db.h. */
    ocp_status (*backup)(ocp_db *db, const char *path, int restore);
    /* db_stream(): stmt is sql prepared; NULL: run it as db_query. */
    ocp_status (*stream)(ocp_db *db, void *stmt, const char *sql,
                         db_row_fn fn, void *ctx);
} db_ops;

struct ocp_db {
    const db_ops *ops;
    void *impl;
    int in_tx;     /* between db_begin and db_commit/db_rollback */
    int tx_failed; /* a call failed inside the transaction */
    int busy;      /* inside db_query: a row callback is running */
    uint64_t tick;
    db_cached cache[DB_CACHE_SLOTS];
    char *err;     /* db_set_error; NULL: no failure yet */
};

extern const db_ops db_sqlite_ops;
extern const db_ops db_pgsql_ops;

/* printf-style into db->err, on one line (line breaks become spaces). */
void db_set_error(ocp_db *db, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Decodes a decimal 64-bit integer spanning exactly s[0..len-1];
 * 0 if it is not one or does not fit. */
int db_parse_int64(const char *s, size_t len, int64_t *out);

#endif
