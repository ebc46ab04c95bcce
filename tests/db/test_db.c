/*
 * The storage layer (hostlib/src/db.h) on both backends.
 *
 * One table of test bodies runs twice: on SQLite (a file in a temporary
 * directory) and on PostgreSQL (the private server of the ctest fixture
 * `postgres`, whose URI tests/db/fixture.sh puts in OCP_TEST_PG_URI).  A
 * few tests belong to one backend: opening files, reaching a server, and
 * what only PostgreSQL refuses.  Without OCP_TEST_PG_URI the program
 * fails: the scripts install and start PostgreSQL, so a missing server is
 * a fault, not a reason to skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <netinet/in.h>

#include "db.h"

typedef struct {
    const char *name;
    char uri[512];
    char dir[64]; /* scratch directory of this backend's tests */
    int pg;
    ocp_db *db;   /* opened by the per-test setup */
} backend;

static backend sqlite_be = {"sqlite", "", "", 0, NULL};
static backend pg_be = {"postgresql", "", "", 1, NULL};

/* Every table a test makes; each test starts without them. */
static const char drop_all[] =
    "DROP TABLE IF EXISTS t_types; DROP TABLE IF EXISTS t_pairs;"
    "DROP TABLE IF EXISTS t_keys; DROP TABLE IF EXISTS t_tx;"
    "DROP TABLE IF EXISTS t_stream; DROP TABLE IF EXISTS t_shared;"
    "DROP TABLE IF EXISTS t_secret; DROP TABLE IF EXISTS t_mig;"
    "DROP TABLE IF EXISTS t_changes; DROP TABLE IF EXISTS t_copy;";

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ocp_db *open_ok(const char *uri)
{
    char err[512];
    ocp_db *db = NULL;
    ocp_status st = db_open(uri, &db, err, sizeof err);
    if (st != OCP_OK)
        fail_msg("db_open: %s (%s)", ocp_strerror(st), err);
    return db;
}

static void exec_ok(ocp_db *db, const char *sql)
{
    ocp_status st = db_exec(db, sql);
    if (st != OCP_OK)
        fail_msg("db_exec: %s: %s", ocp_strerror(st), db_last_error(db));
}

static void query_ok(ocp_db *db, const char *sql, const db_value *params,
                     size_t n, db_row_fn fn, void *ctx, int64_t *changes)
{
    ocp_status st = db_query(db, sql, params, n, fn, ctx, changes);
    if (st != OCP_OK)
        fail_msg("db_query: %s: %s\n  %s", ocp_strerror(st),
                 db_last_error(db), sql);
}

/* A deep copy of a small result, to compare after the callback. */
typedef struct {
    db_type type;
    int64_t i;
    char *s;
    uint8_t *b;
    size_t len;
} cell;

#define GRID_ROWS 16
#define GRID_COLS 8

typedef struct {
    size_t rows, cols;
    cell c[GRID_ROWS][GRID_COLS];
} grid;

static int collect(void *ctx, const db_value *v, size_t n)
{
    grid *g = ctx;
    size_t k;
    assert_true(g->rows < GRID_ROWS);
    assert_true(n <= GRID_COLS);
    g->cols = n;
    for (k = 0; k < n; k++) {
        cell *c = &g->c[g->rows][k];
        c->type = v[k].type;
        c->i = v[k].i;
        c->len = v[k].len;
        if (v[k].type == DB_TEXT) {
            assert_non_null(v[k].s);
            assert_int_equal(strlen(v[k].s), v[k].len);
            c->s = malloc(v[k].len + 1);
            assert_non_null(c->s);
            memcpy(c->s, v[k].s, v[k].len + 1);
        } else if (v[k].type == DB_BLOB) {
            /* db.h: never NULL, even for 0 bytes. */
            assert_non_null(v[k].b);
            c->b = malloc(v[k].len + 1);
            assert_non_null(c->b);
            memcpy(c->b, v[k].b, v[k].len);
        }
    }
    g->rows++;
    return 0;
}

static void grid_free(grid *g)
{
    size_t r, k;
    for (r = 0; r < g->rows; r++)
        for (k = 0; k < g->cols; k++) {
            free(g->c[r][k].s);
            free(g->c[r][k].b);
        }
    memset(g, 0, sizeof *g);
}

/* The single integer a query returns. */
static int64_t one_int(ocp_db *db, const char *sql, const db_value *params,
                       size_t n)
{
    grid g;
    int64_t v;
    memset(&g, 0, sizeof g);
    query_ok(db, sql, params, n, collect, &g, NULL);
    assert_int_equal(g.rows, 1);
    assert_int_equal(g.c[0][0].type, DB_INT);
    v = g.c[0][0].i;
    grid_free(&g);
    return v;
}

/* The message must not contain any of the secrets given. */
static void assert_hidden(const char *msg, ...)
{
    va_list ap;
    const char *secret;
    va_start(ap, msg);
    while ((secret = va_arg(ap, const char *)) != NULL)
        if (strstr(msg, secret) != NULL)
            fail_msg("the error text \"%s\" shows \"%s\"", msg, secret);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

static int open_db(void **state)
{
    backend *be = *state;
    char err[512];
    if (db_open(be->uri, &be->db, err, sizeof err) != OCP_OK) {
        fprintf(stderr, "%s: db_open: %s\n", be->name, err);
        return -1;
    }
    if (db_exec(be->db, drop_all) != OCP_OK) {
        fprintf(stderr, "%s: %s\n", be->name, db_last_error(be->db));
        return -1;
    }
    return 0;
}

static int close_db(void **state)
{
    backend *be = *state;
    db_close(be->db);
    be->db = NULL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Both backends                                                            */

static void test_backend_name(void **state)
{
    backend *be = *state;
    assert_string_equal(db_backend(be->db), be->name);
    assert_string_equal(db_last_error(be->db), "");
}

/* Every type, NULL apart from empty, extreme integers, every byte value
 * and UTF-8 beyond ASCII round-trip exactly, as results and as keys. */
static void test_types(void **state)
{
    backend *be = *state;
    static const char zh[] = "一卡通：一卡在手，服务全有 — ü ✓ 𠀋";
    uint8_t all[256 * 3], zero = 0, *big;
    const size_t big_len = 1u << 20;
    struct {
        db_value n, s, b;
    } rows[5];
    grid g;
    size_t i, r;

    for (i = 0; i < sizeof all; i++)
        all[i] = (uint8_t)(i * 7 + i / 256); /* every value, in 3 orders */
    big = malloc(big_len);
    assert_non_null(big);
    for (i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);

    rows[0].n = db_null(), rows[0].s = db_null(), rows[0].b = db_null();
    rows[1].n = db_int(INT64_MIN), rows[1].s = db_text(""),
    rows[1].b = db_blob(NULL, 0);
    rows[2].n = db_int(INT64_MAX), rows[2].s = db_text(zh),
    rows[2].b = db_blob(all, sizeof all);
    rows[3].n = db_int(0), rows[3].s = db_text("x"), rows[3].b = db_blob(&zero, 1);
    rows[4].n = db_int(-1), rows[4].s = db_text("big"),
    rows[4].b = db_blob(big, big_len);

    exec_ok(be->db, "CREATE TABLE t_types(id {SERIAL}, n BIGINT, s TEXT, "
                    "b {BLOB})");
    for (r = 0; r < 5; r++) {
        db_value p[3];
        p[0] = rows[r].n, p[1] = rows[r].s, p[2] = rows[r].b;
        memset(&g, 0, sizeof g);
        query_ok(be->db, "INSERT INTO t_types(n, s, b) VALUES ($1, $2, $3) "
                         "RETURNING id",
                 p, 3, collect, &g, NULL);
        /* {SERIAL} numbers from 1 on both. */
        assert_int_equal(g.rows, 1);
        assert_int_equal(g.c[0][0].type, DB_INT);
        assert_int_equal(g.c[0][0].i, (int64_t)r + 1);
        grid_free(&g);
    }

    memset(&g, 0, sizeof g);
    query_ok(be->db, "SELECT id, n, s, b FROM t_types ORDER BY id", NULL, 0,
             collect, &g, NULL);
    assert_int_equal(g.rows, 5);
    assert_int_equal(g.cols, 4);
    for (r = 0; r < 5; r++) {
        const db_value *want[3];
        want[0] = &rows[r].n, want[1] = &rows[r].s, want[2] = &rows[r].b;
        assert_int_equal(g.c[r][0].i, (int64_t)r + 1);
        for (i = 0; i < 3; i++) {
            const cell *got = &g.c[r][i + 1];
            assert_int_equal(got->type, want[i]->type);
            if (got->type == DB_INT)
                assert_true(got->i == want[i]->i);
            if (got->type == DB_TEXT)
                assert_string_equal(got->s, want[i]->s);
            if (got->type == DB_BLOB) {
                assert_int_equal(got->len, want[i]->len);
                if (got->len > 0)
                    assert_memory_equal(got->b, want[i]->b, got->len);
            }
        }
    }
    grid_free(&g);

    /* As parameters in WHERE: each finds its own row. */
    assert_int_equal(one_int(be->db, "SELECT id FROM t_types WHERE n = $1",
                             (db_value[]){db_int(INT64_MIN)}, 1), 2);
    assert_int_equal(one_int(be->db, "SELECT id FROM t_types WHERE n = $1",
                             (db_value[]){db_int(INT64_MAX)}, 1), 3);
    assert_int_equal(one_int(be->db, "SELECT id FROM t_types WHERE s = $1",
                             (db_value[]){db_text(zh)}, 1), 3);
    assert_int_equal(one_int(be->db, "SELECT id FROM t_types WHERE b = $1",
                             (db_value[]){db_blob(all, sizeof all)}, 1), 3);
    assert_int_equal(one_int(be->db, "SELECT id FROM t_types WHERE b = $1",
                             (db_value[]){db_blob(NULL, 0)}, 1), 2);
    assert_int_equal(one_int(be->db, "SELECT id FROM t_types WHERE b = $1",
                             (db_value[]){db_blob(&zero, 1)}, 1), 4);
    /* The length in characters, not bytes: the server and SQLite both
     * took the text as UTF-8. */
    for (i = 0, r = 0; zh[i] != '\0'; i++)
        r += ((uint8_t)zh[i] & 0xC0) != 0x80; /* not a continuation byte */
    assert_int_equal(r, 21);
    assert_int_equal(one_int(be->db, "SELECT length(s) FROM t_types "
                                     "WHERE id = 3", NULL, 0), (int64_t)r);
    /* COUNT is BIGINT on PostgreSQL, SUM(BIGINT) NUMERIC: both come back
     * as integers, as on SQLite. */
    memset(&g, 0, sizeof g);
    query_ok(be->db, "SELECT COUNT(*), SUM(n) FROM t_types "
                     "WHERE n BETWEEN -5 AND 5", NULL, 0, collect, &g, NULL);
    assert_int_equal(g.c[0][0].type, DB_INT);
    assert_int_equal(g.c[0][0].i, 2);
    assert_int_equal(g.c[0][1].type, DB_INT);
    assert_int_equal(g.c[0][1].i, -1);
    grid_free(&g);
    free(big);
}

/* $N may repeat and come in any order; the count must match exactly and
 * only $N placeholders exist, on both backends. */
static void test_placeholders(void **state)
{
    backend *be = *state;
    grid g;
    exec_ok(be->db, "CREATE TABLE t_pairs(a BIGINT, b BIGINT, c TEXT)");
    query_ok(be->db, "INSERT INTO t_pairs(a, b, c) VALUES ($1, $1, $2)",
             (db_value[]){db_int(42), db_text("x")}, 2, NULL, NULL, NULL);
    memset(&g, 0, sizeof g);
    query_ok(be->db, "SELECT a, b, c FROM t_pairs", NULL, 0, collect, &g,
             NULL);
    assert_int_equal(g.rows, 1);
    assert_int_equal(g.c[0][0].i, 42);
    assert_int_equal(g.c[0][1].i, 42);
    assert_string_equal(g.c[0][2].s, "x");
    grid_free(&g);
    /* $2 before $1, and $2 three times. */
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_pairs "
                                     "WHERE a = $2 AND b = $2 AND c = $1 "
                                     "AND a + b = $2 * 2",
                             (db_value[]){db_text("x"), db_int(42)}, 2), 1);

    /* Too few, too many. */
    assert_int_equal(db_query(be->db, "SELECT a FROM t_pairs WHERE a = $1",
                              NULL, 0, NULL, NULL, NULL), OCP_E_ARGS);
    assert_int_equal(db_query(be->db, "SELECT a FROM t_pairs WHERE a = $1",
                              (db_value[]){db_int(1), db_int(2)}, 2, NULL,
                              NULL, NULL), OCP_E_ARGS);
    assert_non_null(strstr(db_last_error(be->db), "parameters"));
    /* Faults of the SQL text: a gap in the numbers, another placeholder
     * style, two statements. */
    assert_int_equal(db_query(be->db, "SELECT a FROM t_pairs WHERE a = $1 "
                                      "OR a = $3",
                              (db_value[]){db_int(1), db_int(2), db_int(3)},
                              3, NULL, NULL, NULL), OCP_E_DB);
    assert_int_equal(db_query(be->db, "SELECT a FROM t_pairs WHERE a = ?",
                              (db_value[]){db_int(1)}, 1, NULL, NULL, NULL),
                     OCP_E_DB);
    assert_int_equal(db_query(be->db, "SELECT 1; SELECT 2", NULL, 0, NULL,
                              NULL, NULL), OCP_E_DB);
    assert_true(strlen(db_last_error(be->db)) > 0);
    /* The handle is fine afterwards. */
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_pairs", NULL, 0),
                     1);
}

static ocp_status put_key(ocp_db *db, const char *k, int64_t v)
{
    return db_query(db, "INSERT INTO t_keys(k, v) VALUES ($1, $2)",
                    (db_value[]){db_text(k), db_int(v)}, 2, NULL, NULL, NULL);
}

static int64_t count_key(ocp_db *db, const char *k)
{
    return one_int(db, "SELECT COUNT(*) FROM t_keys WHERE k = $1",
                   (db_value[]){db_text(k)}, 1);
}

/* A unique violation is OCP_E_DB_CONFLICT, on a primary key and on a
 * UNIQUE column; inside a transaction it fails the transaction on both
 * backends, and after db_rollback the handle works as before. */
static void test_conflict(void **state)
{
    backend *be = *state;
    int64_t changes = -1;

    exec_ok(be->db, "CREATE TABLE t_keys(k TEXT PRIMARY KEY, "
                    "v BIGINT UNIQUE)");
    /* Outside a transaction: each statement stands alone. */
    assert_int_equal(put_key(be->db, "a", 1), OCP_OK);
    assert_int_equal(put_key(be->db, "a", 2), OCP_E_DB_CONFLICT);
    assert_true(strlen(db_last_error(be->db)) > 0);
    assert_int_equal(put_key(be->db, "b", 1), OCP_E_DB_CONFLICT);
    assert_int_equal(put_key(be->db, "b", 2), OCP_OK);

    /* Inside one: the failure sticks until db_rollback. */
    assert_int_equal(db_begin(be->db), OCP_OK);
    assert_int_equal(put_key(be->db, "c", 3), OCP_OK);
    assert_int_equal(put_key(be->db, "c", 4), OCP_E_DB_CONFLICT);
    assert_int_equal(put_key(be->db, "d", 5), OCP_E_ARGS);
    assert_non_null(strstr(db_last_error(be->db), "roll"));
    assert_int_equal(db_begin(be->db), OCP_E_ARGS);
    assert_int_equal(db_rollback(be->db), OCP_OK);
    assert_int_equal(count_key(be->db, "c"), 0);
    assert_int_equal(count_key(be->db, "d"), 0);

    /* db_commit of a failed transaction rolls back and says so. */
    assert_int_equal(db_begin(be->db), OCP_OK);
    assert_int_equal(put_key(be->db, "e", 6), OCP_OK);
    assert_int_equal(put_key(be->db, "a", 7), OCP_E_DB_CONFLICT);
    assert_int_equal(db_commit(be->db), OCP_E_DB);
    assert_non_null(strstr(db_last_error(be->db), "rolled back"));
    assert_int_equal(db_rollback(be->db), OCP_E_ARGS); /* already over */
    assert_int_equal(count_key(be->db, "e"), 0);

    /* The same work again, now without the duplicate, commits. */
    assert_int_equal(db_begin(be->db), OCP_OK);
    assert_int_equal(put_key(be->db, "e", 6), OCP_OK);
    assert_int_equal(db_commit(be->db), OCP_OK);
    assert_int_equal(count_key(be->db, "e"), 1);

    /* The idempotent insert a sync uses inside its transaction. */
    assert_int_equal(db_begin(be->db), OCP_OK);
    query_ok(be->db, "INSERT INTO t_keys(k, v) VALUES ($1, $2) "
                     "ON CONFLICT DO NOTHING",
             (db_value[]){db_text("a"), db_int(8)}, 2, NULL, NULL, &changes);
    assert_int_equal(changes, 0);
    query_ok(be->db, "INSERT INTO t_keys(k, v) VALUES ($1, $2) "
                     "ON CONFLICT DO NOTHING",
             (db_value[]){db_text("f"), db_int(9)}, 2, NULL, NULL, &changes);
    assert_int_equal(changes, 1);
    assert_int_equal(db_commit(be->db), OCP_OK);
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_keys", NULL, 0),
                     4); /* a, b, e, f and nothing else */
}

/* Rollback discards, commit persists across close and reopen, closing
 * with a transaction open discards it, and misuse is refused. */
static void test_transactions(void **state)
{
    backend *be = *state;
    exec_ok(be->db, "CREATE TABLE t_tx(n BIGINT)");
    assert_int_equal(db_commit(be->db), OCP_E_ARGS);
    assert_int_equal(db_rollback(be->db), OCP_E_ARGS);

    assert_int_equal(db_begin(be->db), OCP_OK);
    query_ok(be->db, "INSERT INTO t_tx(n) VALUES ($1)",
             (db_value[]){db_int(1)}, 1, NULL, NULL, NULL);
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_tx", NULL, 0), 1);
    assert_int_equal(db_rollback(be->db), OCP_OK);
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_tx", NULL, 0), 0);

    assert_int_equal(db_begin(be->db), OCP_OK);
    query_ok(be->db, "INSERT INTO t_tx(n) VALUES ($1)",
             (db_value[]){db_int(2)}, 1, NULL, NULL, NULL);
    assert_int_equal(db_commit(be->db), OCP_OK);

    assert_int_equal(db_begin(be->db), OCP_OK);
    query_ok(be->db, "INSERT INTO t_tx(n) VALUES ($1)",
             (db_value[]){db_int(3)}, 1, NULL, NULL, NULL);
    db_close(be->db); /* no commit */

    be->db = open_ok(be->uri);
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_tx", NULL, 0), 1);
    assert_int_equal(one_int(be->db, "SELECT n FROM t_tx", NULL, 0), 2);
}

/* db_exec runs its whole text or none of it, outside a transaction, and
 * replaces the DDL tokens. */
static void test_exec_atomic(void **state)
{
    backend *be = *state;
    assert_int_equal(db_exec(be->db, "CREATE TABLE t_mig(a {BLOB});"
                                     "INSERT INTO t_mig(a) VALUES (NULL);"
                                     "INSERT INTO t_nosuch VALUES (1);"),
                     OCP_E_DB);
    assert_true(strlen(db_last_error(be->db)) > 0);
    /* The table of the first statement is gone with the rest. */
    assert_int_equal(db_query(be->db, "SELECT COUNT(*) FROM t_mig", NULL, 0,
                              NULL, NULL, NULL), OCP_E_DB);
    exec_ok(be->db, "CREATE TABLE t_mig(a {BLOB}, id {SERIAL});"
                    "INSERT INTO t_mig(a) VALUES (NULL);");
    assert_int_equal(one_int(be->db, "SELECT id FROM t_mig", NULL, 0), 1);
}

/* `changes` counts rows written by the statement, and nothing else. */
static void test_changes(void **state)
{
    backend *be = *state;
    int64_t n = -1;
    grid g;

    exec_ok(be->db, "CREATE TABLE t_changes(k BIGINT PRIMARY KEY, v BIGINT)");
    query_ok(be->db, "INSERT INTO t_changes(k, v) VALUES (1, 0), (2, 0), "
                     "(3, 0), (4, 1)", NULL, 0, NULL, NULL, &n);
    assert_int_equal(n, 4);
    query_ok(be->db, "UPDATE t_changes SET v = v + 10 WHERE v = $1",
             (db_value[]){db_int(0)}, 1, NULL, NULL, &n);
    assert_int_equal(n, 3);
    query_ok(be->db, "SELECT k FROM t_changes", NULL, 0, NULL, NULL, &n);
    assert_int_equal(n, 0);
    query_ok(be->db, "DELETE FROM t_changes WHERE k > $1",
             (db_value[]){db_int(2)}, 1, NULL, NULL, &n);
    assert_int_equal(n, 2);
    query_ok(be->db, "CREATE INDEX t_changes_v ON t_changes(v)", NULL, 0,
             NULL, NULL, &n);
    assert_int_equal(n, 0);
    memset(&g, 0, sizeof g);
    query_ok(be->db, "INSERT INTO t_changes(k, v) VALUES ($1, $2) "
                     "RETURNING k, v",
             (db_value[]){db_int(9), db_int(99)}, 2, collect, &g, &n);
    assert_int_equal(n, 1);
    assert_int_equal(g.rows, 1);
    assert_int_equal(g.c[0][1].i, 99);
    grid_free(&g);
    /* Nothing matched: 0, not the count of the statement before. */
    query_ok(be->db, "UPDATE t_changes SET v = 0 WHERE k = $1",
             (db_value[]){db_int(1000)}, 1, NULL, NULL, &n);
    assert_int_equal(n, 0);
}

#define STREAM_ROWS 100000

typedef struct {
    int64_t rows, sum, stop_at;
    int in_order;
    backend *be;
    ocp_db *watcher; /* PostgreSQL: a second session to look at the first */
    int64_t pid;     /* the first session's server process */
    char state[32];  /* what pg_stat_activity said during the first row */
} stream_ctx;

static int stream_row(void *ctx, const db_value *v, size_t n)
{
    stream_ctx *s = ctx;
    if (n != 2 || v[0].type != DB_INT || v[0].i != s->rows ||
        v[1].i != 3 * v[0].i)
        s->in_order = 0;
    s->sum += v[1].i;
    if (s->rows++ == 0 && s->watcher != NULL) {
        grid g;
        memset(&g, 0, sizeof g);
        /* Had libpq gathered the whole result before handing over the
         * first row, the server would be done (idle) by now.  Streaming,
         * it is still sending (active), blocked on a full socket. */
        if (db_query(s->watcher, "SELECT state FROM pg_stat_activity "
                                 "WHERE pid = $1",
                     (db_value[]){db_int(s->pid)}, 1, collect, &g,
                     NULL) == OCP_OK &&
            g.rows == 1 && g.c[0][0].type == DB_TEXT)
            snprintf(s->state, sizeof s->state, "%s", g.c[0][0].s);
        grid_free(&g);
    }
    return s->stop_at > 0 && s->rows >= s->stop_at;
}

static int nested_row(void *ctx, const db_value *v, size_t n)
{
    stream_ctx *s = ctx;
    (void)v;
    (void)n;
    /* The handle is busy with the statement that called us. */
    if (db_query(s->be->db, "SELECT 1", NULL, 0, NULL, NULL, NULL) ==
        OCP_E_ARGS)
        s->rows++;
    return 0;
}

/* 100 000 rows inserted in one transaction through the cached statement,
 * streamed back in order, a stop after 1000 rows that leaves the handle
 * usable, and (PostgreSQL) proof that the rows came while the server was
 * still sending. */
static void test_stream(void **state)
{
    backend *be = *state;
    stream_ctx s;
    double t0;
    int64_t i;

    exec_ok(be->db, "CREATE TABLE t_stream(id BIGINT PRIMARY KEY, v BIGINT)");
    t0 = now_s();
    assert_int_equal(db_begin(be->db), OCP_OK);
    for (i = 0; i < STREAM_ROWS; i++)
        query_ok(be->db, "INSERT INTO t_stream(id, v) VALUES ($1, $2)",
                 (db_value[]){db_int(i), db_int(3 * i)}, 2, NULL, NULL, NULL);
    assert_int_equal(db_commit(be->db), OCP_OK);
    print_message("%s: %d inserts in %.2f s\n", be->name, STREAM_ROWS,
                  now_s() - t0);

    memset(&s, 0, sizeof s);
    s.in_order = 1;
    s.stop_at = 1000;
    s.be = be;
    if (be->pg) {
        s.pid = one_int(be->db, "SELECT pg_backend_pid()", NULL, 0);
        s.watcher = open_ok(be->uri);
    }
    query_ok(be->db, "SELECT id, v FROM t_stream ORDER BY id", NULL, 0,
             stream_row, &s, NULL);
    assert_int_equal(s.rows, 1000);
    assert_true(s.in_order);
    if (be->pg) {
        assert_string_equal(s.state, "active");
        db_close(s.watcher);
    }
    /* After the early stop, the handle answers the next statement. */
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_stream", NULL, 0),
                     STREAM_ROWS);

    memset(&s, 0, sizeof s);
    s.in_order = 1;
    t0 = now_s();
    query_ok(be->db, "SELECT id, v FROM t_stream ORDER BY id", NULL, 0,
             stream_row, &s, NULL);
    print_message("%s: %d rows read in %.2f s\n", be->name, STREAM_ROWS,
                  now_s() - t0);
    assert_int_equal(s.rows, STREAM_ROWS);
    assert_true(s.in_order);
    assert_true(s.sum == 3 * ((int64_t)STREAM_ROWS * (STREAM_ROWS - 1) / 2));

    /* A callback may not use the handle it is called from. */
    memset(&s, 0, sizeof s);
    s.be = be;
    query_ok(be->db, "SELECT id FROM t_stream WHERE id < 3", NULL, 0,
             nested_row, &s, NULL);
    assert_int_equal(s.rows, 3);
}

/* What db_stream handed over: each row's values, rendered. */
struct copied {
    char rows[8][160];
    size_t n, stop_after;
};

static int copy_row(void *ctx, const db_value *c, size_t n)
{
    struct copied *k = ctx;
    char *out;
    size_t i, at = 0;
    assert_true(k->n < 8);
    out = k->rows[k->n++];
    for (i = 0; i < n; i++) {
        switch (c[i].type) {
        case DB_NULL:
            at += (size_t)snprintf(out + at, 160 - at, "null|");
            break;
        case DB_INT:
            at += (size_t)snprintf(out + at, 160 - at, "%lld|",
                                   (long long)c[i].i);
            break;
        case DB_TEXT:
            assert_int_equal(strlen(c[i].s), c[i].len); /* a C string */
            at += (size_t)snprintf(out + at, 160 - at, "'%s'|", c[i].s);
            break;
        case DB_BLOB: {
            size_t j;
            at += (size_t)snprintf(out + at, 160 - at, "x");
            for (j = 0; j < c[i].len; j++)
                at += (size_t)snprintf(out + at, 160 - at, "%02x", c[i].b[j]);
            at += (size_t)snprintf(out + at, 160 - at, "|");
            break;
        }
        }
    }
    return k->stop_after != 0 && k->n == k->stop_after;
}

/* db_stream gives the same values as db_query, for every type a stream
 * can carry (on PostgreSQL as binary COPY rows), NULLs, an empty BLOB,
 * negative and 64-bit integers; a statement with a NUMERIC column falls
 * back to an ordinary query; an early stop leaves the handle usable. */
static void test_db_stream(void **state)
{
    static const char sql[] =
        "SELECT id, small, big, name, data FROM t_copy ORDER BY id";
    backend *be = *state;
    struct copied a, b;
    size_t i;

    exec_ok(be->db, "CREATE TABLE t_copy(id BIGINT PRIMARY KEY, small "
                    "INTEGER, big BIGINT, name TEXT, data {BLOB})");
    query_ok(be->db,
             "INSERT INTO t_copy VALUES (1, -7, 9223372036854775807, "
             "'4F43500000000A01', $1), (2, NULL, -9223372036854775807, '', "
             "$2), (3, 2147483647, 0, NULL, NULL)",
             (db_value[]){db_blob((const uint8_t *)"\x00\xff\x80", 3),
                          db_blob((const uint8_t *)"", 0)},
             2, NULL, NULL, NULL);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    query_ok(be->db, sql, NULL, 0, copy_row, &a, NULL);
    assert_int_equal(db_stream(be->db, sql, copy_row, &b), OCP_OK);
    assert_int_equal(a.n, 3);
    assert_int_equal(b.n, 3);
    for (i = 0; i < 3; i++)
        assert_string_equal(a.rows[i], b.rows[i]);
    assert_string_equal(b.rows[0],
                        "1|-7|9223372036854775807|'4F43500000000A01'|x00ff80|");
    assert_string_equal(b.rows[1], "2|null|-9223372036854775807|''|x|");
    assert_string_equal(b.rows[2], "3|2147483647|0|null|null|");

    memset(&b, 0, sizeof b);
    b.stop_after = 1;
    assert_int_equal(db_stream(be->db, sql, copy_row, &b), OCP_OK);
    assert_int_equal(b.n, 1);
    assert_int_equal(one_int(be->db, "SELECT COUNT(*) FROM t_copy", NULL, 0),
                     3);

    memset(&b, 0, sizeof b);
    assert_int_equal(db_stream(be->db,
                               "SELECT SUM(big) FROM t_copy WHERE id = 3",
                               copy_row, &b),
                     OCP_OK);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.rows[0], "0|");
}

/* Two handles on one database see each other's committed rows, and not
 * the uncommitted ones (SQLite in WAL mode, PostgreSQL). */
static void test_two_connections(void **state)
{
    backend *be = *state;
    ocp_db *other;
    exec_ok(be->db, "CREATE TABLE t_shared(n BIGINT)");
    other = open_ok(be->uri);
    assert_int_equal(db_begin(be->db), OCP_OK);
    query_ok(be->db, "INSERT INTO t_shared(n) VALUES (1)", NULL, 0, NULL,
             NULL, NULL);
    assert_int_equal(one_int(other, "SELECT COUNT(*) FROM t_shared", NULL, 0),
                     0);
    assert_int_equal(db_commit(be->db), OCP_OK);
    assert_int_equal(one_int(other, "SELECT COUNT(*) FROM t_shared", NULL, 0),
                     1);
    query_ok(other, "INSERT INTO t_shared(n) VALUES (2)", NULL, 0, NULL, NULL,
             NULL);
    assert_int_equal(one_int(be->db, "SELECT SUM(n) FROM t_shared", NULL, 0),
                     3);
    db_close(other);
}

/* No error text carries a bound value: not a duplicate key, not a value a
 * CHECK or a foreign key refused, not text that is not UTF-8. */
static void test_errors_hide_values(void **state)
{
    backend *be = *state;
    ocp_status st;

    exec_ok(be->db, "CREATE TABLE t_secret(k TEXT PRIMARY KEY, "
                    "n BIGINT CHECK (n < 100), "
                    "ref TEXT REFERENCES t_secret(k))");
    query_ok(be->db, "INSERT INTO t_secret(k, n, ref) VALUES ($1, $2, $3)",
             (db_value[]){db_text("secret-key-4711"), db_int(1), db_null()},
             3, NULL, NULL, NULL);

    st = db_query(be->db, "INSERT INTO t_secret(k, n, ref) VALUES ($1, $2, $3)",
                  (db_value[]){db_text("secret-key-4711"), db_int(2),
                               db_null()},
                  3, NULL, NULL, NULL);
    assert_int_equal(st, OCP_E_DB_CONFLICT);
    /* Readable: it names the table or its key. */
    assert_non_null(strstr(db_last_error(be->db), "t_secret"));
    assert_hidden(db_last_error(be->db), "secret-key", "4711", NULL);

    st = db_query(be->db, "INSERT INTO t_secret(k, n, ref) VALUES ($1, $2, $3)",
                  (db_value[]){db_text("other-secret-0815"), db_int(123456),
                               db_null()},
                  3, NULL, NULL, NULL);
    assert_int_equal(st, OCP_E_DB);
    assert_true(strlen(db_last_error(be->db)) > 0);
    assert_hidden(db_last_error(be->db), "other-secret", "0815", "123456",
                  NULL);

    st = db_query(be->db, "INSERT INTO t_secret(k, n, ref) VALUES ($1, $2, $3)",
                  (db_value[]){db_text("k2"), db_int(3),
                               db_text("missing-parent-9931")},
                  3, NULL, NULL, NULL);
    assert_int_equal(st, OCP_E_DB);
    assert_true(strlen(db_last_error(be->db)) > 0);
    assert_hidden(db_last_error(be->db), "missing-parent", "9931", NULL);

    st = db_query(be->db, "SELECT COUNT(*) FROM t_secret WHERE k = $1",
                  (db_value[]){db_text("\xff\xfe secret-bytes")}, 1, NULL,
                  NULL, NULL);
    assert_int_equal(st, OCP_E_ARGS);
    assert_non_null(strstr(db_last_error(be->db), "UTF-8"));
    assert_hidden(db_last_error(be->db), "secret-bytes", "\xff", NULL);
    /* Overlong form, surrogate, beyond U+10FFFF: refused as well. */
    assert_int_equal(db_query(be->db, "SELECT COUNT(*) FROM t_secret WHERE "
                                      "k = $1",
                              (db_value[]){db_text("\xc0\xaf")}, 1, NULL,
                              NULL, NULL), OCP_E_ARGS);
    assert_int_equal(db_query(be->db, "SELECT COUNT(*) FROM t_secret WHERE "
                                      "k = $1",
                              (db_value[]){db_text("\xed\xa0\x80")}, 1, NULL,
                              NULL, NULL), OCP_E_ARGS);
    assert_int_equal(db_query(be->db, "SELECT COUNT(*) FROM t_secret WHERE "
                                      "k = $1",
                              (db_value[]){db_text("\xf4\x90\x80\x80")}, 1,
                              NULL, NULL, NULL), OCP_E_ARGS);
}

/* Neither backend takes an unknown scheme as a file name, and no message
 * repeats a password from the URI. */
static void test_bad_uri(void **state)
{
    char err[256];
    ocp_db *db = (ocp_db *)1;
    (void)state;
    assert_int_equal(db_open("mysql://u:pw-secret-77@h/db", &db, err,
                             sizeof err), OCP_E_ARGS);
    assert_null(db);
    assert_non_null(strstr(err, "mysql"));
    assert_hidden(err, "pw-secret-77", NULL);
    assert_int_equal(db_open("postgress://x", &db, err, sizeof err),
                     OCP_E_ARGS);
    assert_int_equal(db_open("", &db, err, sizeof err), OCP_E_ARGS);
    assert_int_equal(db_open("sqlite:", &db, err, sizeof err), OCP_E_ARGS);
    assert_int_equal(db_open(NULL, &db, err, sizeof err), OCP_E_ARGS);
    /* libpq's own parser refuses this one; its message is cleaned. */
    assert_int_equal(db_open("postgresql://u:pw-secret-78@[::1/db", &db, err,
                             sizeof err), OCP_E_ARGS);
    assert_true(strlen(err) > 0);
    assert_hidden(err, "pw-secret-78", NULL);
}

/* ------------------------------------------------------------------------ */
/* SQLite only: the file                                                    */

static void test_sqlite_file(void **state)
{
    backend *be = *state;
    char path[128], uri[160], err[256];
    struct stat sb;
    ocp_db *db = NULL;
    int fd;

    /* A new file is 0600, and so are its WAL and shared-memory files. */
    snprintf(path, sizeof path, "%s/new.db", be->dir);
    db = open_ok(path); /* a bare path is SQLite too */
    assert_string_equal(db_backend(db), "sqlite");
    exec_ok(db, "CREATE TABLE x(a BIGINT); INSERT INTO x VALUES (1);");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(uri, sizeof uri, "%s-wal", path);
    assert_int_equal(stat(uri, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(one_int(db, "PRAGMA foreign_keys", NULL, 0), 1);
    assert_int_equal(one_int(db, "PRAGMA synchronous", NULL, 0), 2); /* FULL */
    db_close(db);

    snprintf(uri, sizeof uri, "sqlite:%s/no/such/dir/x.db", be->dir);
    assert_int_equal(db_open(uri, &db, err, sizeof err), OCP_E_DB);
    assert_null(db);
    assert_non_null(strstr(err, "No such file"));

    /* A file that is not a database is refused at open, not at first use. */
    snprintf(path, sizeof path, "%s/text.db", be->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    {
        char junk[4096];
        memset(junk, 'x', sizeof junk);
        assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    }
    close(fd);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    assert_int_equal(db_open(uri, &db, err, sizeof err), OCP_E_DB);
    assert_null(db);
    assert_non_null(strstr(err, "not a database"));
}

/* ------------------------------------------------------------------------ */
/* PostgreSQL only: reaching the server                                     */

/* host, password and dbname of the fixture's URI, through libpq's own
 * parser. */
static void pg_parts(char *host, char *password, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *o, *opts = PQconninfoParse(pg_be.uri, &err);
    assert_non_null(opts);
    host[0] = password[0] = '\0';
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            snprintf(host, cap, "%s", o->val);
        if (strcmp(o->keyword, "password") == 0)
            snprintf(password, cap, "%s", o->val);
    }
    PQconninfoFree(opts);
    assert_true(host[0] != '\0' && password[0] != '\0');
}

/* Opens uri, expecting OCP_E_DB within max_s seconds and a message with
 * `want` in it that does not show any of the passwords. */
static void open_fails(const char *uri, double max_s, const char *want,
                       const char *password)
{
    char err[512];
    ocp_db *db = NULL;
    double t0 = now_s(), took;
    ocp_status st = db_open(uri, &db, err, sizeof err);
    took = now_s() - t0;
    if (st != OCP_E_DB || db != NULL || took > max_s ||
        strstr(err, want) == NULL)
        fail_msg("db_open(%s): %s after %.1f s: \"%s\" (wanted \"%s\")", uri,
                 ocp_strerror(st), took, err, want);
    assert_hidden(err, password, "pw-wrong-secret", NULL);
}

/* A free TCP port on 127.0.0.1, bound to fd and (when listening) with a
 * backlog nobody accepts from. */
static int tcp_port(int *fd, int listening)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    if (listening)
        assert_int_equal(listen(*fd, 8), 0);
    return ntohs(a.sin_port);
}

/* Wrong password, user, database, host; a server that is stopped (no
 * socket), crashed (a socket nobody listens on), gone from a TCP port, or
 * hung (accepts and never answers): each an OCP_E_DB with a message that
 * says which, quickly, and never the password. */
static void test_pg_connect_errors(void **state)
{
    backend *be = *state;
    char host[256], pw[128], uri[768];
    struct sockaddr_un addr;
    int fd, port;
    (void)be;

    pg_parts(host, pw, sizeof host);
    snprintf(uri, sizeof uri, "postgresql://postgres:pw-wrong-secret@/ocp"
                              "?host=%s", host);
    open_fails(uri, 5, "password authentication failed", pw);
    snprintf(uri, sizeof uri, "postgresql://nobody:%s@/ocp?host=%s", pw, host);
    open_fails(uri, 5, "nobody", pw);
    snprintf(uri, sizeof uri, "postgresql://postgres:%s@/ocp_nosuch?host=%s",
             pw, host);
    open_fails(uri, 5, "does not exist", pw);
    snprintf(uri, sizeof uri, "postgresql://postgres:%s@/ocp?host=%s/nosuch",
             pw, be->dir);
    open_fails(uri, 5, "No such file", pw);

    /* Stopped: pg_ctl stop removes the socket; the directory stays. */
    snprintf(uri, sizeof uri, "postgresql://postgres:%s@/ocp?host=%s", pw,
             be->dir);
    open_fails(uri, 5, "No such file", pw);

    /* Crashed: the socket file is left, nobody listens on it. */
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/.s.PGSQL.5432", be->dir);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    open_fails(uri, 5, "refused", pw);
    close(fd);
    unlink(addr.sun_path);

    /* A TCP port with no server. */
    port = tcp_port(&fd, 0);
    snprintf(uri, sizeof uri, "postgresql://postgres:%s@127.0.0.1:%d/ocp", pw,
             port);
    open_fails(uri, 5, "refused", pw);
    close(fd);

    /* Hung: the kernel completes the handshake, no one ever answers.
     * Without connect_timeout in the URI the default of 10 s applies. */
    port = tcp_port(&fd, 1);
    snprintf(uri, sizeof uri, "postgresql://postgres:%s@127.0.0.1:%d/ocp", pw,
             port);
    open_fails(uri, 15, "timeout", pw);
    close(fd);
}

/* The server ends our session (as when it is stopped or restarted):
 * the next statement fails at once with a message, as does every one
 * after it, and closing the handle is clean. */
static void test_pg_server_gone(void **state)
{
    backend *be = *state;
    ocp_db *admin = open_ok(be->uri);
    int64_t pid = one_int(be->db, "SELECT pg_backend_pid()", NULL, 0);
    double t0;
    ocp_status st;

    /* With a timeout, pg_terminate_backend returns once the session is
     * gone, so the next statement meets a closed connection. */
    assert_int_equal(one_int(admin, "SELECT pg_terminate_backend("
                                    "CAST($1 AS INTEGER), 5000)",
                             (db_value[]){db_int(pid)}, 1), 1);
    db_close(admin);
    t0 = now_s();
    st = db_query(be->db, "SELECT 1", NULL, 0, NULL, NULL, NULL);
    assert_int_equal(st, OCP_E_DB);
    assert_true(now_s() - t0 < 5);
    assert_true(strlen(db_last_error(be->db)) > 0);
    print_message("server gone: %s\n", db_last_error(be->db));
    assert_int_equal(db_query(be->db, "SELECT 2", NULL, 0, NULL, NULL, NULL),
                     OCP_E_DB);
    assert_int_equal(db_begin(be->db), OCP_E_DB);
}

/* Only PostgreSQL checks a text's form against a column type; the value
 * it quotes in its message ("invalid input syntax for type bigint: ...")
 * is cut, short or long.  SQLite stores the text as given. */
static void test_pg_input_syntax_hidden(void **state)
{
    backend *be = *state;
    const char *values[] = {"not-a-number-secret", "ab"};
    size_t i;
    for (i = 0; i < 2; i++) {
        ocp_status st = db_query(be->db, "SELECT CAST($1 AS BIGINT) + 1",
                                 (db_value[]){db_text(values[i])}, 1, NULL,
                                 NULL, NULL);
        assert_int_equal(st, OCP_E_DB);
        assert_non_null(strstr(db_last_error(be->db), "bigint"));
        if (i == 0)
            assert_hidden(db_last_error(be->db), values[i], NULL);
        else
            assert_hidden(db_last_error(be->db), "\"ab\"", NULL);
    }
}

/* ------------------------------------------------------------------------ */

static int make_dir(backend *be)
{
    snprintf(be->dir, sizeof be->dir, "/tmp/ocp-dbtest.XXXXXX");
    return mkdtemp(be->dir) == NULL ? -1 : 0;
}

static void remove_dir(backend *be)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", be->dir);
    if (be->dir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", be->dir);
}

static int group_sqlite(void **state)
{
    (void)state;
    if (make_dir(&sqlite_be) != 0)
        return -1;
    snprintf(sqlite_be.uri, sizeof sqlite_be.uri, "sqlite:%s/test.db",
             sqlite_be.dir);
    return 0;
}

static int group_pg(void **state)
{
    (void)state;
    return make_dir(&pg_be);
}

static int group_end(void **state)
{
    (void)state;
    remove_dir(&sqlite_be);
    remove_dir(&pg_be);
    return 0;
}

#define BOTH(be)                                                              \
    cmocka_unit_test_prestate_setup_teardown(test_backend_name, open_db,      \
                                             close_db, &be),                  \
        cmocka_unit_test_prestate_setup_teardown(test_types, open_db,         \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_placeholders, open_db,  \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_conflict, open_db,      \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_transactions, open_db,  \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_exec_atomic, open_db,   \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_changes, open_db,       \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_stream, open_db,        \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_db_stream, open_db,     \
                                                 close_db, &be),              \
        cmocka_unit_test_prestate_setup_teardown(test_two_connections,        \
                                                 open_db, close_db, &be),     \
        cmocka_unit_test_prestate_setup_teardown(test_errors_hide_values,     \
                                                 open_db, close_db, &be)

int main(void)
{
    const char *pg_uri = getenv("OCP_TEST_PG_URI");
    const struct CMUnitTest sqlite_tests[] = {
        BOTH(sqlite_be),
        cmocka_unit_test_prestate(test_sqlite_file, &sqlite_be),
        /* URI dispatch, before either backend is involved. */
        cmocka_unit_test(test_bad_uri),
    };
    const struct CMUnitTest pg_tests[] = {
        BOTH(pg_be),
        cmocka_unit_test_prestate_setup_teardown(test_pg_input_syntax_hidden,
                                                 open_db, close_db, &pg_be),
        cmocka_unit_test_prestate(test_pg_connect_errors, &pg_be),
        cmocka_unit_test_prestate_setup_teardown(test_pg_server_gone, open_db,
                                                 close_db, &pg_be),
    };
    int failed;

    if (pg_uri == NULL || *pg_uri == '\0' ||
        strlen(pg_uri) >= sizeof pg_be.uri) {
        fprintf(stderr, "test_db: OCP_TEST_PG_URI is not set; run it through "
                        "ctest (fixture postgres) or tests/db/fixture.sh run\n");
        return 1;
    }
    snprintf(pg_be.uri, sizeof pg_be.uri, "%s", pg_uri);
    failed = cmocka_run_group_tests_name("db_sqlite", sqlite_tests,
                                         group_sqlite, NULL);
    failed += cmocka_run_group_tests_name("db_postgresql", pg_tests, group_pg,
                                          NULL);
    group_end(NULL);
    return failed != 0;
}
