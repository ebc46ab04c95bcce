/*
 * The PostgreSQL backend of the storage layer (db.h), through libpq.
 *
 * - Statements are prepared once under a name (ocp_1, ocp_2, ...) and
 *   cached by db.c; PQdescribePrepared gives their parameter count, so a
 *   wrong count is refused here as on SQLite.
 * - Rows stream in single-row mode (PQsetSingleRowMode): libpq hands over
 *   one row at a time instead of building the whole result, so an audit
 *   over a million rows holds one row in memory.
 * - Parameters go as text, except BLOBs, which go in binary format (the
 *   raw bytes, no escaping).  Results come in binary format when every
 *   column's type has a simple one (integers, bool, bytea, text: most
 *   statements); otherwise (a SUM is NUMERIC) as text, decoded by column
 *   type: integers parsed, bytea hex-decoded (bytea_output is set to hex
 *   at connect time, whatever the server's default).
 */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db_backend.h"

/* Type OIDs, fixed since PostgreSQL 7 (catalog/pg_type.dat); the server
 * headers that name them are not part of libpq-dev. */
enum {
    DB_PG_BOOL = 16,
    DB_PG_BYTEA = 17,
    DB_PG_INT8 = 20,
    DB_PG_INT2 = 21,
    DB_PG_INT4 = 23,
    DB_PG_TEXT = 25,
    DB_PG_OID = 26,
    DB_PG_VARCHAR = 1043,
    DB_PG_NUMERIC = 1700
};

typedef struct {
    uint8_t *p;
    size_t cap;
} db_pgsql_buf;

typedef struct {
    PGconn *conn;
    unsigned long long next_name;
    /* One row's columns and the decoded bytea of each, reused. */
    db_value *cols;
    db_pgsql_buf *blobs;
    size_t cols_cap;
    /* PQexecPrepared's parallel arrays, reused. */
    const char **values;
    int *lengths;
    int *formats;
    char (*ints)[24];
    size_t params_cap;
} db_pgsql;

typedef struct {
    char name[32];
    int nparams;
    /* Results in binary format: every column is of a type whose binary
     * form is simple (integers, bool, bytea, text).  A million-row audit
     * then skips the server's hex encoding of bytea, the parsing of
     * every integer and half the bytes on the wire. */
    int binary;
    /* Its columns' types, for COPY's binary rows (which carry none). */
    Oid *types;
    int ncols;
} db_pgsql_stmt;

static const uint8_t db_pgsql_empty[1] = {0};

static PGconn *db_pgsql_conn(const ocp_db *db)
{
    return ((const db_pgsql *)db->impl)->conn;
}

/*
 * The message of a failed result.  Only the primary message and the
 * SQLSTATE: the DETAIL of a unique violation is "Key (card_id)=(...)
 * already exists", a bound value.  Failures of libpq itself (the server
 * went away) have no SQLSTATE and come from the connection.
 */
static ocp_status db_pgsql_fail(ocp_db *db, const PGresult *res)
{
    const char *state = NULL, *primary = NULL;
    if (res != NULL) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    }
    if (state != NULL && primary != NULL) {
        db_set_error(db, "%s (SQLSTATE %s)", primary, state);
        /* 23505 unique_violation: primary keys and UNIQUE alike. */
        return strcmp(state, "23505") == 0 ? OCP_E_DB_CONFLICT : OCP_E_DB;
    }
    if (PQstatus(db_pgsql_conn(db)) == CONNECTION_BAD)
        db_set_error(db, "connection to the PostgreSQL server lost: %s",
                     PQerrorMessage(db_pgsql_conn(db)));
    else
        db_set_error(db, "%s", *PQerrorMessage(db_pgsql_conn(db)) != '\0'
                                   ? PQerrorMessage(db_pgsql_conn(db))
                                   : "PostgreSQL request failed");
    return OCP_E_DB;
}

static ocp_status db_pgsql_exec(ocp_db *db, const char *sql)
{
    PGresult *res = PQexec(db_pgsql_conn(db), sql);
    ocp_status st = OCP_OK;
    /* With several statements PQexec returns the error if one failed,
     * else the last result. */
    switch (res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        break;
    default:
        st = db_pgsql_fail(db, res);
    }
    PQclear(res);
    return st;
}

/* NOTICEs ("relation already exists, skipping") would go to stderr. */
static void db_pgsql_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A libpq message about the URI may quote part of it: cut the password
 * as written there, in the user information or as password=. */
static void db_pgsql_redact_uri(ocp_db *db, const char *uri)
{
    const char *auth = strstr(uri, "://"), *end, *at = NULL, *colon, *q, *p;
    if (auth != NULL) {
        auth += 3;
        end = auth + strcspn(auth, "/?");
        for (p = auth; p < end; p++)
            if (*p == '@')
                at = p;
        colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon != NULL)
            db_redact_secret(db, colon + 1, (size_t)(at - colon - 1));
    }
    for (q = strchr(uri, '?'); q != NULL; q = strchr(q, '&')) {
        q++;
        if (strncmp(q, "password=", 9) == 0)
            db_redact_secret(db, q + 9, strcspn(q + 9, "&"));
    }
}

static ocp_status db_pgsql_open(ocp_db *db, const char *uri)
{
    /* connect_timeout first: the URI, expanded in place of dbname, may
     * set its own.  10 s covers a slow link; a dead host never hangs. */
    static const char *const keys[] = {"connect_timeout",
                                       "fallback_application_name", "dbname",
                                       NULL};
    const char *values[] = {"10", "ocp", uri, NULL};
    PQconninfoOption *opts, *o;
    char *perr = NULL, *password = NULL;
    db_pgsql *p;
    ocp_status st = OCP_OK;

    p = calloc(1, sizeof *p);
    if (p == NULL) {
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    db->impl = p;
    opts = PQconninfoParse(uri, &perr);
    if (opts == NULL) {
        db_set_error(db, "malformed PostgreSQL URI: %s",
                     perr != NULL ? perr : "out of memory");
        PQfreemem(perr);
        db_pgsql_redact_uri(db, uri);
        return OCP_E_ARGS;
    }
    for (o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
            password = strdup(o->val);
    PQconninfoFree(opts);

    p->conn = PQconnectdbParams(keys, values, 1);
    if (p->conn == NULL) {
        db_set_error(db, "out of memory");
        st = OCP_E_NOMEM;
    } else if (PQstatus(p->conn) != CONNECTION_OK) {
        db_set_error(db, "%s", PQerrorMessage(p->conn));
        st = OCP_E_DB;
    }
    if (st != OCP_OK) {
        if (password != NULL)
            db_redact_secret(db, password, strlen(password));
        db_pgsql_redact_uri(db, uri);
        free(password);
        return st;
    }
    free(password);
    PQsetNoticeProcessor(p->conn, db_pgsql_quiet, NULL);
    if (PQsetClientEncoding(p->conn, "UTF8") != 0)
        return db_pgsql_fail(db, NULL);
    return db_pgsql_exec(db, "SET bytea_output = 'hex'");
}

static void db_pgsql_close(ocp_db *db)
{
    db_pgsql *p = db->impl;
    size_t i;
    if (p == NULL)
        return;
    PQfinish(p->conn);
    for (i = 0; i < p->cols_cap; i++)
        free(p->blobs[i].p);
    free(p->blobs);
    free(p->cols);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->ints);
    free(p);
    db->impl = NULL;
}

/* Can every column of the statement described in res come in binary? */
static int db_pgsql_binary_ok(const PGresult *res)
{
    int c, n = PQnfields(res);
    for (c = 0; c < n; c++) {
        switch (PQftype(res, c)) {
        case DB_PG_BOOL:
        case DB_PG_BYTEA:
        case DB_PG_INT8:
        case DB_PG_INT2:
        case DB_PG_INT4:
        case DB_PG_OID:
        case DB_PG_TEXT:
        case DB_PG_VARCHAR:
            break;
        default:
            return 0; /* NUMERIC (a SUM) and the rest: text */
        }
    }
    return n > 0;
}

static ocp_status db_pgsql_prepare(ocp_db *db, const char *sql, void **out)
{
    db_pgsql *p = db->impl;
    db_pgsql_stmt *q = calloc(1, sizeof *q);
    PGresult *res;
    ocp_status st = OCP_OK;

    if (q == NULL) {
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    snprintf(q->name, sizeof q->name, "ocp_%llu", ++p->next_name);
    res = PQprepare(p->conn, q->name, sql, 0, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        st = db_pgsql_fail(db, res);
    PQclear(res);
    if (st == OCP_OK) {
        res = PQdescribePrepared(p->conn, q->name);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
            st = db_pgsql_fail(db, res);
        else
            q->nparams = PQnparams(res);
        if (st == OCP_OK)
            q->binary = db_pgsql_binary_ok(res);
        if (st == OCP_OK && q->binary) {
            int c;
            q->ncols = PQnfields(res);
            q->types = calloc((size_t)q->ncols, sizeof *q->types);
            if (q->types == NULL) {
                db_set_error(db, "out of memory");
                st = OCP_E_NOMEM;
            }
            for (c = 0; st == OCP_OK && c < q->ncols; c++)
                q->types[c] = PQftype(res, c);
        }
        PQclear(res);
    }
    if (st != OCP_OK) {
        free(q->types);
        free(q);
        return st;
    }
    *out = q;
    return OCP_OK;
}

static void db_pgsql_finalize(ocp_db *db, void *stmt)
{
    db_pgsql_stmt *q = stmt;
    char sql[48];
    /* PostgreSQL 15's libpq has no call to close a prepared statement
     * (PQclosePrepared came in 17).  A failure leaves a statement on a
     * server session that ends with the handle anyway: not worth an
     * error, nor overwriting the message of a real one. */
    snprintf(sql, sizeof sql, "DEALLOCATE %s", q->name);
    PQclear(PQexec(db_pgsql_conn(db), sql));
    free(q->types);
    free(q);
}

static ocp_status db_pgsql_grow(ocp_db *db, size_t nparams, size_t ncols)
{
    db_pgsql *p = db->impl;
    if (nparams > p->params_cap) {
        const char **values = realloc(p->values, nparams * sizeof *values);
        int *lengths, *formats;
        char(*ints)[24];
        if (values != NULL)
            p->values = values;
        lengths = realloc(p->lengths, nparams * sizeof *lengths);
        if (lengths != NULL)
            p->lengths = lengths;
        formats = realloc(p->formats, nparams * sizeof *formats);
        if (formats != NULL)
            p->formats = formats;
        ints = realloc(p->ints, nparams * sizeof *ints);
        if (ints != NULL)
            p->ints = ints;
        if (values == NULL || lengths == NULL || formats == NULL ||
            ints == NULL)
            goto nomem;
        p->params_cap = nparams;
    }
    if (ncols > p->cols_cap) {
        db_value *cols = realloc(p->cols, ncols * sizeof *cols);
        db_pgsql_buf *blobs;
        if (cols != NULL)
            p->cols = cols;
        blobs = realloc(p->blobs, ncols * sizeof *blobs);
        if (cols == NULL || blobs == NULL)
            goto nomem;
        p->blobs = blobs;
        memset(blobs + p->cols_cap, 0, (ncols - p->cols_cap) * sizeof *blobs);
        p->cols_cap = ncols;
    }
    return OCP_OK;
nomem:
    db_set_error(db, "out of memory");
    return OCP_E_NOMEM;
}

static int db_pgsql_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* bytea in hex output format: "\x" then two digits per byte. */
static ocp_status db_pgsql_bytea(ocp_db *db, db_pgsql_buf *buf,
                                 const char *text, size_t len, db_value *v)
{
    size_t n, i;
    if (len < 2 || len % 2 != 0 || text[0] != '\\' || text[1] != 'x') {
        db_set_error(db, "the server sent bytea not in hex format");
        return OCP_E_DB;
    }
    n = (len - 2) / 2;
    if (n > buf->cap) {
        uint8_t *grown = realloc(buf->p, n);
        if (grown == NULL) {
            db_set_error(db, "out of memory");
            return OCP_E_NOMEM;
        }
        buf->p = grown;
        buf->cap = n;
    }
    for (i = 0; i < n; i++) {
        int hi = db_pgsql_nibble(text[2 + 2 * i]);
        int lo = db_pgsql_nibble(text[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            db_set_error(db, "the server sent malformed bytea");
            return OCP_E_DB;
        }
        buf->p[i] = (uint8_t)(hi << 4 | lo);
    }
    v->type = DB_BLOB;
    v->b = n > 0 ? buf->p : db_pgsql_empty;
    v->len = n;
    return OCP_OK;
}

/* A big-endian signed integer of len bytes (2, 4 or 8). */
static int db_pgsql_be_int(const char *s, size_t len, int64_t *out)
{
    const unsigned char *b = (const unsigned char *)s;
    uint64_t u = 0;
    size_t i;
    if (len != 2 && len != 4 && len != 8)
        return 0;
    for (i = 0; i < len; i++)
        u = u << 8 | b[i];
    if (len < 8 && (b[0] & 0x80)) /* sign-extend */
        u |= ~(uint64_t)0 << (8 * len);
    *out = (int64_t)u;
    return 1;
}

/* Makes buf hold at least n bytes. */
static ocp_status db_pgsql_reserve(ocp_db *db, db_pgsql_buf *buf, size_t n)
{
    uint8_t *grown;
    if (n <= buf->cap)
        return OCP_OK;
    grown = realloc(buf->p, n);
    if (grown == NULL) {
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    buf->p = grown;
    buf->cap = n;
    return OCP_OK;
}

/*
 * One value in binary format (only the types db_pgsql_binary_ok accepts).
 * Text must be a C string for db.h: libpq's results end every value with
 * a NUL (checked); COPY's rows do not, so text is copied into buf then.
 */
static ocp_status db_pgsql_binary_value(ocp_db *db, Oid type,
                                        const char *val, size_t len,
                                        int nul_ended, db_pgsql_buf *buf,
                                        db_value *v)
{
    memset(v, 0, sizeof *v);
    if (type == DB_PG_BYTEA) {
        v->type = DB_BLOB;
        v->b = len > 0 ? (const uint8_t *)val : db_pgsql_empty;
        v->len = len;
    } else if (type == DB_PG_TEXT || type == DB_PG_VARCHAR) {
        if (!nul_ended) {
            ocp_status st = db_pgsql_reserve(db, buf, len + 1);
            if (st != OCP_OK)
                return st;
            memcpy(buf->p, val, len);
            buf->p[len] = 0;
            val = (const char *)buf->p;
        }
        if (val[len] != '\0' || memchr(val, '\0', len) != NULL) {
            db_set_error(db, "the server sent a malformed text value");
            return OCP_E_DB;
        }
        v->type = DB_TEXT;
        v->s = val;
        v->len = len;
    } else if (type == DB_PG_BOOL) {
        if (len != 1) {
            db_set_error(db, "the server sent a malformed bool");
            return OCP_E_DB;
        }
        v->type = DB_INT;
        v->i = val[0] != 0;
    } else if (type == DB_PG_OID) {
        int64_t i;
        if (len != 4 || !db_pgsql_be_int(val, len, &i)) {
            db_set_error(db, "the server sent a malformed oid");
            return OCP_E_DB;
        }
        v->type = DB_INT;
        v->i = (int64_t)(uint32_t)i;
    } else {
        if (!db_pgsql_be_int(val, len, &v->i)) {
            db_set_error(db, "the server sent a malformed integer");
            return OCP_E_DB;
        }
        v->type = DB_INT;
    }
    return OCP_OK;
}

/* Fills p->cols from the single row of res in binary format. */
static ocp_status db_pgsql_row_binary(ocp_db *db, const PGresult *res,
                                      size_t ncols)
{
    db_pgsql *p = db->impl;
    size_t c;
    for (c = 0; c < ncols; c++) {
        int col = (int)c;
        ocp_status st;
        if (PQgetisnull(res, 0, col)) {
            memset(&p->cols[c], 0, sizeof p->cols[c]);
            p->cols[c].type = DB_NULL;
            continue;
        }
        st = db_pgsql_binary_value(db, PQftype(res, col),
                                   PQgetvalue(res, 0, col),
                                   (size_t)PQgetlength(res, 0, col), 1,
                                   &p->blobs[c], &p->cols[c]);
        if (st != OCP_OK)
            return st;
    }
    return OCP_OK;
}

/* Fills p->cols from the single row of res (db.h says which SQL types
 * become which db_type). */
static ocp_status db_pgsql_row(ocp_db *db, const PGresult *res, size_t ncols)
{
    db_pgsql *p = db->impl;
    size_t c;
    for (c = 0; c < ncols; c++) {
        db_value *v = &p->cols[c];
        int col = (int)c;
        const char *text;
        size_t len;
        memset(v, 0, sizeof *v);
        if (PQgetisnull(res, 0, col)) {
            v->type = DB_NULL;
            continue;
        }
        text = PQgetvalue(res, 0, col);
        len = (size_t)PQgetlength(res, 0, col);
        switch (PQftype(res, col)) {
        case DB_PG_INT8:
        case DB_PG_INT4:
        case DB_PG_INT2:
        case DB_PG_OID:
            if (!db_parse_int64(text, len, &v->i)) {
                db_set_error(db, "the server sent a malformed integer");
                return OCP_E_DB;
            }
            v->type = DB_INT;
            break;
        case DB_PG_BOOL:
            v->type = DB_INT;
            v->i = text[0] == 't';
            break;
        case DB_PG_BYTEA: {
            ocp_status st = db_pgsql_bytea(db, &p->blobs[c], text, len, v);
            if (st != OCP_OK)
                return st;
            break;
        }
        case DB_PG_NUMERIC:
            /* SUM(BIGINT) is NUMERIC here and INTEGER on SQLite; a
             * fraction, or a number beyond 64 bits, stays text. */
            if (db_parse_int64(text, len, &v->i)) {
                v->type = DB_INT;
            } else {
                v->type = DB_TEXT;
                v->s = text;
                v->len = len;
            }
            break;
        default:
            v->type = DB_TEXT;
            v->s = text;
            v->len = len;
            break;
        }
    }
    return OCP_OK;
}

/* Rows written by the statement itself, from its command tag ("INSERT 0
 * 5", "UPDATE 3"); a SELECT's tag counts rows read, which db.h does not
 * call changes. */
static int64_t db_pgsql_changes(const PGresult *res)
{
    const char *tag = PQcmdStatus((PGresult *)res);
    int64_t n = 0;
    const char *tuples;
    if (tag == NULL ||
        (strncmp(tag, "INSERT", 6) != 0 && strncmp(tag, "UPDATE", 6) != 0 &&
         strncmp(tag, "DELETE", 6) != 0 && strncmp(tag, "MERGE", 5) != 0))
        return 0;
    tuples = PQcmdTuples((PGresult *)res);
    if (!db_parse_int64(tuples, strlen(tuples), &n))
        return 0;
    return n;
}

static ocp_status db_pgsql_run(ocp_db *db, void *stmt,
                               const db_value *params, size_t nparams,
                               db_row_fn fn, void *ctx, int64_t *changes)
{
    db_pgsql *p = db->impl;
    db_pgsql_stmt *q = stmt;
    PGresult *res;
    ocp_status st;
    size_t i;
    int stopped = 0;

    if (nparams != (size_t)q->nparams) {
        db_set_error(db, "the statement takes %d parameters, %zu were given",
                     q->nparams, nparams);
        return OCP_E_ARGS;
    }
    st = db_pgsql_grow(db, nparams, 0);
    if (st != OCP_OK)
        return st;
    for (i = 0; i < nparams; i++) {
        const db_value *v = &params[i];
        p->lengths[i] = 0;
        p->formats[i] = 0;
        switch (v->type) {
        case DB_INT:
            snprintf(p->ints[i], sizeof p->ints[i], "%lld", (long long)v->i);
            p->values[i] = p->ints[i];
            break;
        case DB_TEXT:
            p->values[i] = v->s;
            break;
        case DB_BLOB:
            if (v->len > INT_MAX) {
                db_set_error(db, "parameter $%zu: BLOB too large", i + 1);
                return OCP_E_ARGS;
            }
            /* Binary format: the bytes as they are.  NULL would mean SQL
             * NULL, so an empty BLOB points at a real byte. */
            p->values[i] = v->len > 0 ? (const char *)v->b : "";
            p->lengths[i] = (int)v->len;
            p->formats[i] = 1;
            break;
        case DB_NULL:
        default:
            p->values[i] = NULL;
            break;
        }
    }
    if (!PQsendQueryPrepared(p->conn, q->name, (int)nparams, p->values,
                             p->lengths, p->formats, q->binary))
        return db_pgsql_fail(db, NULL);
    /* Only fails when called at the wrong moment, which the line above
     * rules out; then rows still come, all at once. */
    (void)PQsetSingleRowMode(p->conn);

    /* Every result is read to the end, also after an error or an early
     * stop: the connection serves nothing else until then. */
    while ((res = PQgetResult(p->conn)) != NULL) {
        switch (PQresultStatus(res)) {
        case PGRES_SINGLE_TUPLE:
            if (fn != NULL && !stopped && st == OCP_OK) {
                size_t ncols = (size_t)PQnfields(res);
                st = db_pgsql_grow(db, 0, ncols);
                if (st == OCP_OK)
                    st = q->binary ? db_pgsql_row_binary(db, res, ncols)
                                   : db_pgsql_row(db, res, ncols);
                if (st == OCP_OK && fn(ctx, p->cols, ncols) != 0)
                    stopped = 1;
            }
            break;
        case PGRES_TUPLES_OK: /* the end of the rows, with the tag */
        case PGRES_COMMAND_OK:
            if (st == OCP_OK)
                *changes = db_pgsql_changes(res);
            break;
        case PGRES_EMPTY_QUERY:
            if (st == OCP_OK) {
                db_set_error(db, "no statement in the SQL text");
                st = OCP_E_DB;
            }
            break;
        default:
            if (st == OCP_OK)
                st = db_pgsql_fail(db, res);
            break;
        }
        PQclear(res);
    }
    if (st == OCP_OK && PQstatus(p->conn) == CONNECTION_BAD)
        st = db_pgsql_fail(db, NULL);
    return st;
}

/*
 * A large read as COPY (…) TO STDOUT in binary format: one buffer per row
 * where single-row mode builds a whole result per row, which dominated an
 * audit's million rows.  For statements with no parameter (COPY takes
 * none) whose columns have simple binary forms; anything else runs as an
 * ordinary query.  Rows: the signature and header, then per row a field
 * count (-1 ends) and each field's length (-1: NULL) and bytes.
 */
static ocp_status db_pgsql_stream(ocp_db *db, void *stmt, const char *sql,
                                  db_row_fn fn, void *ctx)
{
    static const char signature[11] = "PGCOPY\n\377\r\n";
    db_pgsql *p = db->impl;
    db_pgsql_stmt *q = stmt;
    char *copy_sql, *buf = NULL;
    int64_t changes;
    int header = 0, stopped = 0, ended = 0, len;
    ocp_status st = OCP_OK;
    PGresult *res;
    size_t n;

    if (!q->binary || q->nparams != 0)
        return db_pgsql_run(db, stmt, NULL, 0, fn, ctx, &changes);
    n = strlen(sql) + 48;
    copy_sql = malloc(n);
    if (copy_sql == NULL) {
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    snprintf(copy_sql, n, "COPY (%s) TO STDOUT (FORMAT binary)", sql);
    res = PQexec(p->conn, copy_sql);
    free(copy_sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT) {
        st = db_pgsql_fail(db, res);
        PQclear(res);
        return st;
    }
    PQclear(res);
    st = db_pgsql_grow(db, 0, (size_t)q->ncols);
    /* Every row is read, also after an error or an early stop: the
     * connection serves nothing else until the copy ends. */
    while ((len = PQgetCopyData(p->conn, &buf, 0)) > 0) {
        const unsigned char *b = (const unsigned char *)buf;
        size_t at = 0, size = (size_t)len;
        if (st == OCP_OK && !stopped && !ended) {
            if (!header) {
                uint32_t ext;
                if (size < 19 || memcmp(b, signature, 11) != 0)
                    goto malformed;
                ext = (uint32_t)b[15] << 24 | (uint32_t)b[16] << 16 |
                      (uint32_t)b[17] << 8 | b[18];
                if (ext > size - 19)
                    goto malformed;
                at = 19 + ext;
                header = 1;
            }
            while (at < size && st == OCP_OK && !stopped && !ended) {
                int fields, c;
                if (size - at < 2)
                    goto malformed;
                fields = (int16_t)(b[at] << 8 | b[at + 1]);
                at += 2;
                if (fields == -1) {
                    ended = 1;
                    break;
                }
                if (fields != q->ncols)
                    goto malformed;
                for (c = 0; c < fields && st == OCP_OK; c++) {
                    int32_t flen;
                    if (size - at < 4)
                        goto malformed;
                    flen = (int32_t)((uint32_t)b[at] << 24 |
                                     (uint32_t)b[at + 1] << 16 |
                                     (uint32_t)b[at + 2] << 8 | b[at + 3]);
                    at += 4;
                    if (flen == -1) {
                        memset(&p->cols[c], 0, sizeof p->cols[c]);
                        p->cols[c].type = DB_NULL;
                        continue;
                    }
                    if (flen < 0 || (size_t)flen > size - at)
                        goto malformed;
                    st = db_pgsql_binary_value(db, q->types[c],
                                               (const char *)b + at,
                                               (size_t)flen, 0, &p->blobs[c],
                                               &p->cols[c]);
                    at += (size_t)flen;
                }
                if (st == OCP_OK && fn != NULL &&
                    fn(ctx, p->cols, (size_t)fields) != 0)
                    stopped = 1;
            }
        }
        PQfreemem(buf);
        buf = NULL;
        continue;
    malformed:
        PQfreemem(buf);
        buf = NULL;
        db_set_error(db, "the server sent a malformed COPY row");
        st = OCP_E_DB;
    }
    if (len == -2 && st == OCP_OK)
        st = db_pgsql_fail(db, NULL);
    while ((res = PQgetResult(p->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == OCP_OK)
            st = db_pgsql_fail(db, res);
        PQclear(res);
    }
    if (st == OCP_OK && !ended && !stopped) {
        db_set_error(db, "the server's COPY ended without its trailer");
        st = OCP_E_DB;
    }
    return st;
}

/* The newest pg_dump or pg_restore of the installed servers, else the one
 * on PATH (Debian's wrapper). */
static void db_pgsql_tool(const char *name, char *out, size_t cap)
{
    glob_t g;
    char pattern[96];
    snprintf(pattern, sizeof pattern, "/usr/lib/postgresql/*/bin/%s", name);
    snprintf(out, cap, "%s", name);
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0)
        snprintf(out, cap, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
}

/*
 * pg_dump -Fc (restore: pg_restore --clean --if-exists) of this
 * connection's database.  The connection's parameters go to the tool in
 * its environment (PGHOST, PGPORT, PGUSER, PGPASSWORD), so the password
 * never appears on a command line that other users can list.
 */
static ocp_status db_pgsql_backup(ocp_db *db, const char *path, int restore)
{
    static const struct {
        const char *keyword, *env;
    } params[] = {{"host", "PGHOST"},
                  {"port", "PGPORT"},
                  {"user", "PGUSER"},
                  {"password", "PGPASSWORD"}};
    PQconninfoOption *info = PQconninfo(db_pgsql_conn(db));
    char tool[256], dbname[256] = "";
    PQconninfoOption *o;
    pid_t pid;
    int status = 0;
    size_t i;
    if (info == NULL) {
        db_set_error(db, "backup: out of memory");
        return OCP_E_NOMEM;
    }
    db_pgsql_tool(restore ? "pg_restore" : "pg_dump", tool, sizeof tool);
    for (o = info; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "dbname") == 0 && o->val != NULL)
            snprintf(dbname, sizeof dbname, "%s", o->val);
    pid = fork();
    if (pid == 0) {
        for (o = info; o->keyword != NULL; o++)
            for (i = 0; i < sizeof params / sizeof params[0]; i++)
                if (strcmp(o->keyword, params[i].keyword) == 0 &&
                    o->val != NULL && o->val[0] != '\0')
                    setenv(params[i].env, o->val, 1);
        if (restore)
            execl(tool, tool, "--clean", "--if-exists", "--no-owner",
                  "--single-transaction", "-d", dbname, path, (char *)NULL);
        else
            execl(tool, tool, "-Fc", "--no-owner", "-f", path, dbname,
                  (char *)NULL);
        _exit(127);
    }
    PQconninfoFree(info);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        db_set_error(db, "%s failed (%s)", tool,
                     pid < 0 ? "cannot start it"
                     : WIFEXITED(status) && WEXITSTATUS(status) == 127
                         ? "not installed"
                         : "see its message above");
        return OCP_E_IO;
    }
    if (!restore)
        chmod(path, 0600);
    return OCP_OK;
}

const db_ops db_pgsql_ops = {
    "postgresql",
    "BYTEA",
    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    "BEGIN",
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    "SELECT pg_export_snapshot()",
    "SET TRANSACTION SNAPSHOT '%s'",
    db_pgsql_open,
    db_pgsql_close,
    db_pgsql_exec,
    db_pgsql_prepare,
    db_pgsql_finalize,
    db_pgsql_run,
    db_pgsql_backup,
    db_pgsql_stream,
};
