/*
 * Schema version 3: each stored use is kept as the 41 bytes its terminal
 * signed (`uses.rec`), and every other column of `uses` that tells what
 * happened (card, service, amount, date, outcome, counter, remaining,
 * flags, certificate) is a generated column the database computes from
 * those bytes.  The report, the carry-over of a replacement and the
 * debits read those columns; the audit checks `rec` against the signed
 * batches.  So a row edited in the database either changes `rec`, which
 * the audit finds, or cannot be written at all: there is no unsigned copy
 * that could disagree with what the terminal signed (docs/BACKOFFICE.md
 * section 2).
 *
 * Reading three values per record instead of twelve is also what lets
 * the audit keep up with raw CMAC on PostgreSQL (docs/PERFORMANCE.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_record.h"
#include "registry_internal.h"

/* A growing SQL text. */
struct sql {
    char *s;
    size_t len, cap;
    int failed;
};

static void add(struct sql *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct sql *q, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (q->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(q->s + q->len, q->cap - q->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            q->failed = 1;
            return;
        }
        if ((size_t)n < q->cap - q->len) {
            q->len += (size_t)n;
            return;
        }
        {
            size_t cap = (q->cap + (size_t)n + 1) * 2;
            char *p = realloc(q->s, cap);
            if (p == NULL) {
                q->failed = 1;
                return;
            }
            q->s = p;
            q->cap = cap;
        }
    }
}

/* The record's fields: where each sits in the 41 bytes (batch.c). */
static const struct field {
    const char *name;
    unsigned offset, len;
} fields[] = {
    {"domain", 12, 1},  {"service", 13, 2},   {"amount", 15, 4},
    {"datetime", 19, 4}, {"outcome", 23, 1},  {"counter", 24, 4},
    {"remaining", 28, 4}, {"flags", 32, 1},
};
#define SEQ_OFFSET 0
#define CARD_OFFSET 4
#define CERT_OFFSET 33

/*
 * The byte at offset as an integer.  PostgreSQL has get_byte().  SQLite
 * has no function from a byte to its value, but instr() over the 256
 * bytes 00..FF finds each at one more than its value.
 */
static void byte_expr(struct sql *q, int pg, unsigned offset)
{
    unsigned i;
    if (pg) {
        add(q, "get_byte(rec, %u)::bigint", offset);
        return;
    }
    add(q, "(instr(X'");
    for (i = 0; i < 256; i++)
        add(q, "%02X", i);
    add(q, "', substr(rec, %u, 1)) - 1)", offset + 1);
}

/* A big-endian unsigned number of len bytes at offset. */
static void number_expr(struct sql *q, int pg, unsigned offset, unsigned len)
{
    unsigned i;
    add(q, "(");
    for (i = 0; i < len; i++) {
        if (i > 0)
            add(q, " | ");
        add(q, "(");
        byte_expr(q, pg, offset + i);
        add(q, " << %u)", 8 * (len - 1 - i));
    }
    add(q, ")");
}

/* The generated columns' definitions, comma first. */
static void generated_columns(struct sql *q, int pg, const char *prefix)
{
    size_t i;
    add(q, ", %scard_id TEXT GENERATED ALWAYS AS (%s) STORED", prefix,
        pg ? "upper(encode(substring(rec from 5 for 8), 'hex'))"
           : "hex(substr(rec, 5, 8))");
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        add(q, ", %s%s BIGINT GENERATED ALWAYS AS (", prefix, fields[i].name);
        number_expr(q, pg, fields[i].offset, fields[i].len);
        add(q, ") STORED");
    }
    add(q, ", %scert %s GENERATED ALWAYS AS (%s) STORED", prefix,
        pg ? "BYTEA" : "BLOB",
        pg ? "substring(rec from 34 for 8)" : "substr(rec, 34, 8)");
}

/* rec has the record's length and its sequence number is the row's. */
static void shape_check(struct sql *q, int pg)
{
    add(q, "CHECK (%s AND seq = ",
        pg ? "octet_length(rec) = 41"
           : "typeof(rec) = 'blob' AND length(rec) = 41");
    number_expr(q, pg, SEQ_OFFSET, 4);
    add(q, ")");
}

/* PostgreSQL changes the table in place, so its grants and row-level
 * security (registry_access.c) stay; the bytes are made by SQL. */
static void postgresql_steps(struct sql *q)
{
    size_t i;
    /* int8send: the fields are unsigned 32-bit, past int4's range. */
    add(q, "ALTER TABLE uses ADD COLUMN rec BYTEA;"
           "UPDATE uses SET rec = substring(int8send(seq) from 5) || "
           "decode(card_id, 'hex') || substring(int8send(domain) from 8) || "
           "substring(int8send(service) from 7) || "
           "substring(int8send(amount) from 5) || "
           "substring(int8send(datetime) from 5) || "
           "substring(int8send(outcome) from 8) || "
           "substring(int8send(counter) from 5) || "
           "substring(int8send(remaining) from 5) || "
           "substring(int8send(flags) from 8) || cert;"
           "DROP INDEX uses_card;"
           "ALTER TABLE uses ALTER COLUMN rec SET NOT NULL, "
           "DROP COLUMN card_id, DROP COLUMN cert");
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
        add(q, ", DROP COLUMN %s", fields[i].name);
    generated_columns(q, 1, "ADD COLUMN ");
    add(q, ", ADD CONSTRAINT uses_rec_shape ");
    shape_check(q, 1);
    add(q, ";");
}

/* SQLite cannot add a stored generated column: the table is made again
 * and the rows are copied by registry_records.c's own loop (SQLite has
 * no function from a number to its bytes). */
static void sqlite_new_table(struct sql *q)
{
    add(q, "CREATE TABLE uses_v3("
           "terminal_id BIGINT NOT NULL, seq BIGINT NOT NULL, "
           "rec BLOB NOT NULL, batch_id BIGINT NOT NULL REFERENCES batches");
    generated_columns(q, 0, "");
    add(q, ", ");
    shape_check(q, 0);
    add(q, ", PRIMARY KEY(terminal_id, seq));");
}

struct old_rows {
    struct old_row {
        int64_t terminal, seq, batch;
        uint8_t rec[OCP_BATCH_RECORD_LEN];
    } *v;
    size_t n, cap;
    int malformed;
};

static int old_row(void *ctx, const db_value *c, size_t n)
{
    struct old_rows *o = ctx;
    ocp_use_record u;
    struct old_row *row;
    size_t i;
    if (n < 13 || c[2].type != DB_TEXT || reg_unhex(c[2].s, u.card_id) != 0 ||
        c[11].type != DB_BLOB || c[11].len != 8) {
        o->malformed = 1;
        return 1;
    }
    for (i = 0; i < 13; i++)
        if (i != 2 && i != 11 && c[i].type != DB_INT) {
            o->malformed = 1;
            return 1;
        }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1024;
        struct old_row *p = realloc(o->v, cap * sizeof *p);
        if (p == NULL) {
            o->malformed = 1;
            return 1;
        }
        o->v = p;
        o->cap = cap;
    }
    row = &o->v[o->n++];
    row->terminal = c[0].i;
    u.seq = (uint32_t)c[1].i;
    u.domain = (uint8_t)c[3].i;
    u.service = (uint16_t)c[4].i;
    u.amount = (uint32_t)c[5].i;
    u.datetime = (uint32_t)c[6].i;
    u.outcome = (uint8_t)c[7].i;
    u.counter = (uint32_t)c[8].i;
    u.remaining = (uint32_t)c[9].i;
    u.flags = (uint8_t)c[10].i;
    memcpy(u.cert, c[11].b, 8);
    row->seq = u.seq;
    row->batch = c[12].i;
    hl_record_encode(&u, row->rec);
    return 0;
}

static ocp_status sqlite_copy_rows(ocp_registry *r)
{
    struct old_rows o;
    ocp_status st;
    size_t i;
    memset(&o, 0, sizeof o);
    st = db_query(r->db,
                  "SELECT terminal_id, seq, card_id, domain, service, amount, "
                  "datetime, outcome, counter, remaining, flags, cert, "
                  "batch_id FROM uses",
                  NULL, 0, old_row, &o, NULL);
    if (st == OCP_OK && o.malformed) {
        snprintf(r->error, sizeof r->error,
                 "a stored use cannot be written as a record: the "
                 "registry was edited by hand");
        st = OCP_E_DB;
    }
    for (i = 0; st == OCP_OK && i < o.n; i++)
        st = db_query(r->db,
                      "INSERT INTO uses_v3(terminal_id, seq, rec, batch_id) "
                      "VALUES($1, $2, $3, $4)",
                      (db_value[]){db_int(o.v[i].terminal),
                                   db_int(o.v[i].seq),
                                   db_blob(o.v[i].rec, sizeof o.v[i].rec),
                                   db_int(o.v[i].batch)},
                      4, NULL, NULL, NULL);
    free(o.v);
    return st;
}

ocp_status reg_schema_v3(ocp_registry *r)
{
    int pg = reg_is_postgresql(r);
    struct sql q;
    ocp_status st;
    memset(&q, 0, sizeof q);
    if (pg)
        postgresql_steps(&q);
    else
        sqlite_new_table(&q);
    if (q.failed) {
        free(q.s);
        return OCP_E_NOMEM;
    }
    st = db_exec(r->db, q.s);
    free(q.s);
    if (st == OCP_OK && !pg)
        st = sqlite_copy_rows(r);
    if (st == OCP_OK && !pg)
        st = db_exec(r->db, "DROP TABLE uses;"
                            "ALTER TABLE uses_v3 RENAME TO uses;");
    if (st == OCP_OK)
        st = db_exec(r->db,
                     /* What the desk, the report and the debits look up
                      * by card; the audit reads the table in any order. */
                     "CREATE INDEX uses_card ON uses(card_id, counter);"
                     "ALTER TABLE approvals ADD COLUMN requested_at BIGINT;"
                     "UPDATE meta SET value = '3' WHERE key = "
                     "'schema_version';");
    return st;
}
