/*
 * bench_db: the storage layer (hostlib/src/db.h) on both backends.
 *
 *   OCP_TEST_PG_URI=postgresql://... bench_db [ROWS]
 *
 * (tests/bench/db.sh starts a private server and runs it.)  For SQLite (a
 * file in a temporary directory) and PostgreSQL in turn: ROWS rows shaped
 * like the registry's uploaded records (terminal, sequence, card, amount,
 * certificate) inserted in one transaction through the cached statement,
 * the commit included; then all of them read back in key order through
 * the row callback.  For scale, a tenth as many inserts with a different
 * SQL text each, so that every one is prepared anew: what the statement
 * cache saves.  Prints `name value unit` lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char schema[] =
    "DROP TABLE IF EXISTS bench_uses;"
    "CREATE TABLE bench_uses(terminal_id BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " card_id {BLOB} NOT NULL, amount BIGINT NOT NULL, cert {BLOB} NOT NULL,"
    " PRIMARY KEY (terminal_id, seq));";

static const char insert_sql[] =
    "INSERT INTO bench_uses(terminal_id, seq, card_id, amount, cert) "
    "VALUES ($1, $2, $3, $4, $5)";

typedef struct {
    long rows;
    long long amount;
    int bad;
} reader;

static int read_row(void *ctx, const db_value *c, size_t n)
{
    reader *r = ctx;
    /* Touch what an audit would: every column, in order. */
    if (n != 5 || c[2].type != DB_BLOB || c[2].len != 8 ||
        c[4].type != DB_BLOB || c[4].len != 8 || c[1].i != r->rows % 1000)
        r->bad = 1;
    r->amount += c[3].i;
    r->rows++;
    return 0;
}

static int fail(ocp_db *db, const char *what)
{
    fprintf(stderr, "bench_db: %s on %s: %s\n", what, db_backend(db),
            db_last_error(db));
    return 1;
}

static void record(long i, uint8_t card[8], uint8_t cert[8])
{
    int k;
    for (k = 0; k < 8; k++) {
        card[k] = (uint8_t)(i * 31 + k);
        cert[k] = (uint8_t)(i * 2654435761u >> (k * 3));
    }
}

static int bench(const char *uri, const char *label, long rows)
{
    char err[512], sql[256];
    ocp_db *db = NULL;
    uint8_t card[8], cert[8];
    reader r;
    double t0, t;
    long i, uncached = rows / 10;

    if (db_open(uri, &db, err, sizeof err) != OCP_OK) {
        fprintf(stderr, "bench_db: %s: %s\n", label, err);
        return 1;
    }
    if (db_exec(db, schema) != OCP_OK)
        return fail(db, "schema");

    t0 = now_s();
    if (db_begin(db) != OCP_OK)
        return fail(db, "begin");
    for (i = 0; i < rows; i++) {
        db_value p[5];
        record(i, card, cert);
        p[0] = db_int(1000 + i / 1000);
        p[1] = db_int(i % 1000);
        p[2] = db_blob(card, 8);
        p[3] = db_int(i % 500);
        p[4] = db_blob(cert, 8);
        if (db_query(db, insert_sql, p, 5, NULL, NULL, NULL) != OCP_OK)
            return fail(db, "insert");
    }
    if (db_commit(db) != OCP_OK)
        return fail(db, "commit");
    t = now_s() - t0;
    printf("db_%s_insert_rows_per_s %.0f rows/s\n", label, (double)rows / t);

    memset(&r, 0, sizeof r);
    t0 = now_s();
    if (db_query(db, "SELECT terminal_id, seq, card_id, amount, cert "
                     "FROM bench_uses ORDER BY terminal_id, seq",
                 NULL, 0, read_row, &r, NULL) != OCP_OK)
        return fail(db, "select");
    t = now_s() - t0;
    if (r.rows != rows || r.bad) {
        fprintf(stderr, "bench_db: %s read %ld rows of %ld%s\n", label, r.rows,
                rows, r.bad ? ", some wrong" : "");
        return 1;
    }
    printf("db_%s_read_rows_per_s %.0f rows/s\n", label, (double)rows / t);

    t0 = now_s();
    if (db_begin(db) != OCP_OK)
        return fail(db, "begin");
    for (i = 0; i < uncached; i++) {
        db_value p[5];
        record(i, card, cert);
        p[0] = db_int(9);
        p[1] = db_int(i);
        p[2] = db_blob(card, 8);
        p[3] = db_int(1);
        p[4] = db_blob(cert, 8);
        /* A comment makes each text new to the cache. */
        snprintf(sql, sizeof sql, "%s /* %ld */", insert_sql, i);
        if (db_query(db, sql, p, 5, NULL, NULL, NULL) != OCP_OK)
            return fail(db, "insert");
    }
    if (db_commit(db) != OCP_OK)
        return fail(db, "commit");
    t = now_s() - t0;
    printf("db_%s_insert_uncached_rows_per_s %.0f rows/s\n", label,
           (double)uncached / t);

    if (db_exec(db, "DROP TABLE bench_uses") != OCP_OK)
        return fail(db, "drop");
    db_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    const char *pg = getenv("OCP_TEST_PG_URI");
    long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    char dir[] = "/tmp/ocp-bench-db.XXXXXX", uri[128], cmd[160];
    int rc;

    if (pg == NULL || rows < 10) {
        fprintf(stderr, "usage: OCP_TEST_PG_URI=postgresql://... bench_db "
                        "[ROWS >= 10]\n(tests/bench/db.sh starts a server)\n");
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("bench_db: mkdtemp");
        return 1;
    }
    snprintf(uri, sizeof uri, "sqlite:%s/bench.db", dir);
    rc = bench(uri, "sqlite", rows);
    if (rc == 0)
        rc = bench(pg, "pgsql", rows);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_db: could not remove %s\n", dir);
    return rc;
}
