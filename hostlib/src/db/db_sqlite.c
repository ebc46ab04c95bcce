/*
 * The SQLite backend of the storage layer (db.h).  Rows stream by nature:
 * sqlite3_step() produces one at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_backend.h"

typedef struct {
    sqlite3 *h;
    db_value *cols; /* one row's columns, reused from row to row */
    size_t cols_cap;
} db_sqlite;

/* A prepared statement and, for each $N, SQLite's index of it: SQLite
 * numbers named parameters in order of first appearance, so "$2 ... $1"
 * gives $2 index 1. */
typedef struct {
    sqlite3_stmt *st;
    int nparams;
    int *index; /* index[N - 1] for $N */
} db_sqlite_stmt;

/* An empty BLOB comes back with a NULL pointer from SQLite; db.h promises
 * a non-NULL one so that it cannot be mistaken for SQL NULL. */
static const uint8_t db_sqlite_empty[1] = {0};

static sqlite3 *db_sqlite_handle(const ocp_db *db)
{
    return ((const db_sqlite *)db->impl)->h;
}

static ocp_status db_sqlite_fail(ocp_db *db)
{
    sqlite3 *h = db_sqlite_handle(db);
    int ext = sqlite3_extended_errcode(h);
    db_set_error(db, "%s", sqlite3_errmsg(h));
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
        return OCP_E_DB_CONFLICT;
    case SQLITE_NOMEM:
        return OCP_E_NOMEM;
    default:
        return OCP_E_DB;
    }
}

static ocp_status db_sqlite_exec(ocp_db *db, const char *sql)
{
    if (sqlite3_exec(db_sqlite_handle(db), sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_sqlite_fail(db);
    return OCP_OK;
}

static ocp_status db_sqlite_open(ocp_db *db, const char *path)
{
    db_sqlite *s;
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    ocp_status result;
    int fd, rc;

    s = calloc(1, sizeof *s);
    if (s == NULL) {
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    db->impl = s;
    /* SQLite would create the file 0644; the registry holds personal data.
     * Its -wal and -shm files take the database file's mode. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        db_set_error(db, "cannot open %s: %s", path, strerror(errno));
        return OCP_E_DB;
    }
    close(fd);
    /* One handle serves one thread (db.h): no mutex needed. */
    rc = sqlite3_open_v2(path, &s->h,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        db_set_error(db, "cannot open %s: %s", path,
                     s->h != NULL ? sqlite3_errmsg(s->h) : sqlite3_errstr(rc));
        return OCP_E_DB;
    }
    sqlite3_extended_result_codes(s->h, 1);
    /* A sync or a second desk may hold the write lock for a moment. */
    sqlite3_busy_timeout(s->h, 5000);
    /* The first read of the file: a file that is not a database fails
     * here.  journal_mode answers with the mode it got, which is not WAL
     * on a file system without shared memory: refuse rather than run
     * without it. */
    rc = sqlite3_prepare_v2(s->h, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        result = db_sqlite_fail(db);
        sqlite3_finalize(st);
        return result == OCP_E_DB_CONFLICT ? OCP_E_DB : result;
    }
    mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
        db_set_error(db, "%s: cannot use WAL journal mode (got %s)", path,
                     mode != NULL ? (const char *)mode : "nothing");
        sqlite3_finalize(st);
        return OCP_E_DB;
    }
    sqlite3_finalize(st);
    /* FULL: a commit survives a power cut, not just a crash of ocp. */
    /* mmap_size: reads map the file instead of copying each page into
     * the connection's cache (an audit reads every page of a large index
     * once, on several connections).  Writes still go through the WAL. */
    return db_sqlite_exec(db, "PRAGMA synchronous=FULL;"
                              "PRAGMA foreign_keys=ON;"
                              "PRAGMA mmap_size=1073741824;");
}

static void db_sqlite_close(ocp_db *db)
{
    db_sqlite *s = db->impl;
    if (s == NULL)
        return;
    sqlite3_close(s->h); /* db.c finalized every statement before */
    free(s->cols);
    free(s);
    db->impl = NULL;
}

static void db_sqlite_finalize(ocp_db *db, void *stmt)
{
    db_sqlite_stmt *q = stmt;
    (void)db;
    sqlite3_finalize(q->st);
    free(q->index);
    free(q);
}

/* N for a parameter named "$N" (N from 1 to max, no leading zero); 0 for
 * any other name, including the nameless "?". */
static int db_sqlite_param_number(const char *name, int max)
{
    long n = 0;
    const char *p;
    if (name == NULL || name[0] != '$' || name[1] < '1' || name[1] > '9')
        return 0;
    for (p = name + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || n > max)
            return 0;
        n = n * 10 + (*p - '0');
    }
    return n <= max ? (int)n : 0;
}

static ocp_status db_sqlite_prepare(ocp_db *db, const char *sql, void **out)
{
    sqlite3 *h = db_sqlite_handle(db);
    sqlite3_stmt *st = NULL;
    db_sqlite_stmt *q;
    const char *tail = NULL;
    int i, count;

    /* PERSISTENT: the statement lives in the cache and is run often. */
    if (sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           &tail) != SQLITE_OK)
        return db_sqlite_fail(db);
    if (st == NULL) {
        db_set_error(db, "no statement in the SQL text");
        return OCP_E_DB;
    }
    /* PostgreSQL prepares one statement only; so do we, rather than
     * silently dropping the rest of the text.  Like a syntax error, a
     * fault of the SQL text is OCP_E_DB on both backends. */
    while (tail != NULL && (*tail == ' ' || *tail == '\n' || *tail == '\t' ||
                            *tail == '\r' || *tail == ';'))
        tail++;
    if (tail != NULL && *tail != '\0') {
        sqlite3_finalize(st);
        db_set_error(db, "db_query takes one statement; use db_exec for "
                         "several");
        return OCP_E_DB;
    }
    q = calloc(1, sizeof *q);
    count = sqlite3_bind_parameter_count(st);
    if (q == NULL || (count > 0 && (q->index = calloc((size_t)count,
                                                      sizeof *q->index)) == NULL)) {
        free(q);
        sqlite3_finalize(st);
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    q->st = st;
    q->nparams = count;
    /* Every parameter must be some $N with N <= count; as the names are
     * distinct, they are then exactly $1..$count. */
    for (i = 1; i <= count; i++) {
        int n = db_sqlite_param_number(sqlite3_bind_parameter_name(st, i),
                                       count);
        if (n == 0 || q->index[n - 1] != 0) {
            db_sqlite_finalize(db, q);
            db_set_error(db, "placeholders must be $1..$n, each number "
                             "used, written without leading zeros");
            return OCP_E_DB;
        }
        q->index[n - 1] = i;
    }
    *out = q;
    return OCP_OK;
}

static ocp_status db_sqlite_bind(ocp_db *db, db_sqlite_stmt *q,
                                 const db_value *params, size_t nparams)
{
    size_t i;
    for (i = 0; i < nparams; i++) {
        const db_value *v = &params[i];
        int idx = q->index[i], rc;
        switch (v->type) {
        case DB_INT:
            rc = sqlite3_bind_int64(q->st, idx, v->i);
            break;
        case DB_TEXT:
            rc = sqlite3_bind_text(q->st, idx, v->s, -1, SQLITE_STATIC);
            break;
        case DB_BLOB:
            /* A NULL pointer would bind SQL NULL, not an empty BLOB. */
            rc = v->len == 0
                     ? sqlite3_bind_zeroblob(q->st, idx, 0)
                     : sqlite3_bind_blob64(q->st, idx, v->b,
                                           (sqlite3_uint64)v->len,
                                           SQLITE_STATIC);
            break;
        case DB_NULL:
        default:
            rc = sqlite3_bind_null(q->st, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return db_sqlite_fail(db);
    }
    return OCP_OK;
}

/* Fills s->cols from the current row. */
static ocp_status db_sqlite_row(ocp_db *db, sqlite3_stmt *st, size_t ncols)
{
    db_sqlite *s = db->impl;
    size_t c;
    for (c = 0; c < ncols; c++) {
        db_value *v = &s->cols[c];
        /* One sqlite3_column_* call per column: each takes the
         * connection's error state on the way out, and a million-row
         * audit felt two per column.  The value is the statement's own
         * until the next step. */
        sqlite3_value *x = sqlite3_column_value(st, (int)c);
        memset(v, 0, sizeof *v);
        switch (sqlite3_value_type(x)) {
        case SQLITE_INTEGER:
            v->type = DB_INT;
            v->i = sqlite3_value_int64(x);
            break;
        case SQLITE_BLOB:
            v->type = DB_BLOB;
            v->b = sqlite3_value_blob(x);
            v->len = (size_t)sqlite3_value_bytes(x);
            if (v->b == NULL && v->len > 0)
                return db_sqlite_fail(db);
            if (v->b == NULL)
                v->b = db_sqlite_empty;
            break;
        case SQLITE_NULL:
            v->type = DB_NULL;
            break;
        default: /* TEXT, and REAL as SQLite spells it (db.h) */
            v->type = DB_TEXT;
            v->s = (const char *)sqlite3_value_text(x);
            if (v->s == NULL)
                return db_sqlite_fail(db);
            v->len = (size_t)sqlite3_value_bytes(x);
            break;
        }
    }
    return OCP_OK;
}

static ocp_status db_sqlite_run(ocp_db *db, void *stmt,
                                const db_value *params, size_t nparams,
                                db_row_fn fn, void *ctx, int64_t *changes)
{
    db_sqlite *s = db->impl;
    db_sqlite_stmt *q = stmt;
    size_t ncols = (size_t)sqlite3_column_count(q->st);
    sqlite3_int64 before = sqlite3_total_changes64(s->h);
    ocp_status st;
    int rc;

    if (nparams != (size_t)q->nparams) {
        db_set_error(db, "the statement takes %d parameters, %zu were given",
                     q->nparams, nparams);
        return OCP_E_ARGS;
    }
    if (fn != NULL && ncols > s->cols_cap) {
        db_value *cols = realloc(s->cols, ncols * sizeof *cols);
        if (cols == NULL) {
            db_set_error(db, "out of memory");
            return OCP_E_NOMEM;
        }
        s->cols = cols;
        s->cols_cap = ncols;
    }
    st = db_sqlite_bind(db, q, params, nparams);
    while (st == OCP_OK && (rc = sqlite3_step(q->st)) != SQLITE_DONE) {
        if (rc != SQLITE_ROW) {
            st = db_sqlite_fail(db);
            break;
        }
        if (fn == NULL)
            continue;
        st = db_sqlite_row(db, q->st, ncols);
        if (st == OCP_OK && fn(ctx, s->cols, ncols) != 0)
            break;
    }
    /* sqlite3_changes64 keeps the count of the last INSERT, UPDATE or
     * DELETE, even when this statement was a SELECT or DDL: only trust it
     * when this statement changed something. */
    if (st == OCP_OK && !sqlite3_stmt_readonly(q->st) &&
        sqlite3_total_changes64(s->h) != before)
        *changes = sqlite3_changes64(s->h);
    /* Ends the statement (a write's transaction too, outside one). */
    sqlite3_reset(q->st);
    sqlite3_clear_bindings(q->st);
    return st;
}

/* Online backup: pages are copied in one step while holding a read lock,
 * so the copy is one consistent state.  Restore copies the other way. */
static ocp_status db_sqlite_backup(ocp_db *db, const char *path, int restore)
{
    sqlite3 *h = db_sqlite_handle(db), *file = NULL;
    sqlite3_backup *b;
    int rc = sqlite3_open_v2(path, &file,
                             restore ? SQLITE_OPEN_READONLY
                                     : SQLITE_OPEN_READWRITE |
                                           SQLITE_OPEN_CREATE,
                             NULL);
    if (rc != SQLITE_OK) {
        db_set_error(db, "cannot open %s: %s", path,
                     file != NULL ? sqlite3_errmsg(file) : "out of memory");
        sqlite3_close(file);
        return OCP_E_IO;
    }
    b = restore ? sqlite3_backup_init(h, "main", file, "main")
                : sqlite3_backup_init(file, "main", h, "main");
    if (b == NULL) {
        db_set_error(db, "backup: %s",
                     sqlite3_errmsg(restore ? h : file));
        sqlite3_close(file);
        return OCP_E_IO;
    }
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        db_set_error(db, "backup: %s", sqlite3_errstr(rc));
        sqlite3_close(file);
        return OCP_E_IO;
    }
    if (!restore)
        chmod(path, 0600); /* holders' data: not for everyone to read */
    return sqlite3_close(file) == SQLITE_OK ? OCP_OK : OCP_E_IO;
}

const db_ops db_sqlite_ops = {
    "sqlite",
    "BLOB",
    "INTEGER PRIMARY KEY",
    /* Takes the write lock at once: a deferred transaction that reads and
     * then writes fails with SQLITE_BUSY instead of waiting when another
     * writer went first. */
    "BEGIN IMMEDIATE",
    /* Deferred: the snapshot is taken by the first read, and a reader in
     * WAL mode holds no lock that stops writers. */
    "BEGIN",
    NULL,
    NULL,
    db_sqlite_open,
    db_sqlite_close,
    db_sqlite_exec,
    db_sqlite_prepare,
    db_sqlite_finalize,
    db_sqlite_run,
    db_sqlite_backup,
    NULL, /* streams as an ordinary query: rows come one step at a time */
};
