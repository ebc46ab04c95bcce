/*
 * The storage layer's shared half (db.h): URI dispatch, DDL tokens, the
 * prepared-statement cache, parameter checks, transaction state and error
 * text.  The backends (db_sqlite.c, db_pgsql.c) only talk to their
 * libraries, so both behave the same wherever the behaviour is decided
 * here.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_backend.h"

/* ------------------------------------------------------------------------ */
/* Error text                                                               */

/* Used when the message itself cannot be allocated. */
static char db_oom_message[] = "out of memory";

static void db_free_error(ocp_db *db)
{
    if (db->err != db_oom_message)
        free(db->err);
    db->err = NULL;
}

/* One line: libpq's messages span lines and end in a newline, and a log
 * line should not. */
static void db_one_line(char *s)
{
    char *r = s, *w = s;
    int space = 0;
    for (; *r != '\0'; r++) {
        if (*r == '\n' || *r == '\t' || *r == '\r' || *r == ' ') {
            space = 1;
            continue;
        }
        if (space && w != s)
            *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = '\0';
}

void db_set_error(ocp_db *db, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *msg;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    db_free_error(db);
    if (n < 0 || (msg = malloc((size_t)n + 1)) == NULL) {
        db->err = db_oom_message;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    db_one_line(msg);
    db->err = msg;
}

const char *db_last_error(const ocp_db *db)
{
    return db != NULL && db->err != NULL ? db->err : "";
}

/* Replaces in msg each occurrence of needle[0..nlen-1] (only those between
 * double quotes if quoted) by "..."; returns the new message, or msg
 * itself when nothing matched or memory ran out (then the value is cut by
 * ending the message before it, which loses words, not secrecy). */
static char *db_cut(char *msg, const char *needle, size_t nlen, int quoted)
{
    static const char mark[] = "...";
    size_t len = strlen(msg), w = 0;
    const char *r = msg, *p;
    char *out;

    if (nlen == 0 || strstr(msg, needle) == NULL)
        return msg;
    /* Each match of at least 1 byte becomes 3: at most 3 times as long. */
    out = malloc(3 * len + 1);
    if (out == NULL) {
        *strstr(msg, needle) = '\0';
        return msg;
    }
    while ((p = strstr(r, needle)) != NULL) {
        int cut = !quoted || (p > msg && p[-1] == '"' && p[nlen] == '"');
        size_t keep = (size_t)(p - r) + (cut ? 0 : 1);
        memcpy(out + w, r, keep);
        w += keep;
        if (cut) {
            memcpy(out + w, mark, sizeof mark - 1);
            w += sizeof mark - 1;
            r = p + nlen;
        } else {
            r = p + 1;
        }
    }
    memcpy(out + w, r, strlen(r) + 1);
    free(msg);
    return out;
}

/* Byte dumps such as PostgreSQL's "invalid byte sequence for encoding
 * \"UTF8\": 0xe4 0xb8" are made of a value's bytes. */
static void db_cut_hex_bytes(char *msg)
{
    char *p = msg;
    while ((p = strstr(p, "0x")) != NULL) {
        char *q = p + 2;
        while ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
               (*q >= 'A' && *q <= 'F'))
            q++;
        if (q > p + 2) {
            p[2] = '.';
            p[3] = '.';
            memmove(p + 4, q, strlen(q) + 1);
        }
        p += 2;
    }
}

/*
 * Keeps bound values out of the message (db.h, db_last_error).  Backends
 * already leave out PostgreSQL's DETAIL, where key values are quoted; this
 * catches primary messages that echo an input ("invalid input syntax for
 * type bigint: \"...\"").  A quoted value is always cut, a value of 6
 * bytes or more wherever it appears; a shorter unquoted one could not be
 * told apart from the words of the message.
 */
static void db_redact(ocp_db *db, const db_value *params, size_t nparams)
{
    size_t i;
    char num[24];
    if (db->err == NULL || db->err == db_oom_message)
        return;
    for (i = 0; i < nparams; i++) {
        const char *needle = NULL;
        size_t nlen;
        if (params[i].type == DB_TEXT && params[i].s != NULL) {
            needle = params[i].s;
        } else if (params[i].type == DB_INT) {
            snprintf(num, sizeof num, "%lld", (long long)params[i].i);
            needle = num;
        }
        if (needle == NULL)
            continue;
        nlen = strlen(needle);
        db->err = db_cut(db->err, needle, nlen, nlen < 6);
    }
    db_cut_hex_bytes(db->err);
}

void db_redact_secret(ocp_db *db, const char *secret, size_t len)
{
    char *needle;
    if (db->err == NULL || db->err == db_oom_message || len == 0)
        return;
    needle = malloc(len + 1);
    if (needle == NULL) {
        db_set_error(db, "out of memory (message withheld)");
        return;
    }
    memcpy(needle, secret, len);
    needle[len] = '\0';
    db->err = db_cut(db->err, needle, len, 0);
    free(needle);
}

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */

int db_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, limit;
    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return 0;
    limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (limit - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    /* -(2^63) has no positive twin: it cannot go through int64_t. */
    if (neg && v == (uint64_t)INT64_MAX + 1u)
        *out = INT64_MIN;
    else
        *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF.  PostgreSQL would refuse such text and SQLite would store it;
 * refusing it here makes both refuse, without echoing the bytes. */
static int db_utf8_valid(const unsigned char *s)
{
    while (*s != 0) {
        unsigned c = *s, lo = 0x80, hi = 0xBF;
        int more;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else {
            return 0;
        }
        s++;
        if (*s < lo || *s > hi)
            return 0;
        for (s++, more--; more > 0; s++, more--)
            if (*s < 0x80 || *s > 0xBF)
                return 0;
    }
    return 1;
}

static ocp_status db_check_params(ocp_db *db, const db_value *params,
                                  size_t nparams)
{
    size_t i;
    for (i = 0; i < nparams; i++) {
        const db_value *v = &params[i];
        switch (v->type) {
        case DB_NULL:
        case DB_INT:
            break;
        case DB_TEXT:
            if (v->s == NULL) {
                db_set_error(db, "parameter $%zu: TEXT without a string", i + 1);
                return OCP_E_ARGS;
            }
            if (!db_utf8_valid((const unsigned char *)v->s)) {
                db_set_error(db, "parameter $%zu is not valid UTF-8", i + 1);
                return OCP_E_ARGS;
            }
            break;
        case DB_BLOB:
            if (v->b == NULL && v->len != 0) {
                db_set_error(db, "parameter $%zu: BLOB without bytes", i + 1);
                return OCP_E_ARGS;
            }
            break;
        default:
            db_set_error(db, "parameter $%zu has no valid type", i + 1);
            return OCP_E_ARGS;
        }
    }
    return OCP_OK;
}

/* ------------------------------------------------------------------------ */
/* DDL tokens                                                               */

/* The text with {BLOB} and {SERIAL} replaced (db.h); NULL if out of
 * memory. */
static char *db_expand_tokens(const ocp_db *db, const char *sql)
{
    const struct {
        const char *token;
        const char *with;
    } tokens[] = {{"{BLOB}", db->ops->blob_type},
                  {"{SERIAL}", db->ops->serial_type}};
    size_t cap = strlen(sql) + 1, len = 0, i;
    char *out;
    const char *p;

    /* Worst case: every byte starts a token; count instead of guessing. */
    for (p = sql; (p = strchr(p, '{')) != NULL; p++)
        for (i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
            if (strncmp(p, tokens[i].token, strlen(tokens[i].token)) == 0)
                cap += strlen(tokens[i].with);
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (p = sql; *p != '\0';) {
        int replaced = 0;
        if (*p == '{') {
            for (i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
                size_t tl = strlen(tokens[i].token);
                if (strncmp(p, tokens[i].token, tl) == 0) {
                    size_t wl = strlen(tokens[i].with);
                    memcpy(out + len, tokens[i].with, wl);
                    len += wl;
                    p += tl;
                    replaced = 1;
                    break;
                }
            }
        }
        if (!replaced)
            out[len++] = *p++;
    }
    out[len] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Statement cache                                                          */

static uint32_t db_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void db_cache_clear(ocp_db *db)
{
    size_t i;
    for (i = 0; i < DB_CACHE_SLOTS; i++) {
        if (db->cache[i].sql == NULL)
            continue;
        db->ops->finalize(db, db->cache[i].stmt);
        free(db->cache[i].sql);
        db->cache[i].sql = NULL;
        db->cache[i].stmt = NULL;
    }
}

/* The prepared statement for sql, from the cache or prepared now; when
 * the cache is full the least recently used statement makes room. */
static ocp_status db_cache_get(ocp_db *db, const char *sql, void **stmt)
{
    uint32_t h = db_hash(sql);
    db_cached *victim = &db->cache[0];
    size_t i;
    char *copy;
    void *fresh = NULL;
    ocp_status st;

    for (i = 0; i < DB_CACHE_SLOTS; i++) {
        db_cached *c = &db->cache[i];
        if (c->sql != NULL && c->hash == h && strcmp(c->sql, sql) == 0) {
            c->used = ++db->tick;
            *stmt = c->stmt;
            return OCP_OK;
        }
        if (victim->sql != NULL && (c->sql == NULL || c->used < victim->used))
            victim = c;
    }
    copy = strdup(sql);
    if (copy == NULL) {
        db_set_error(db, "out of memory");
        return OCP_E_NOMEM;
    }
    st = db->ops->prepare(db, sql, &fresh);
    if (st != OCP_OK) {
        free(copy);
        return st;
    }
    if (victim->sql != NULL) {
        db->ops->finalize(db, victim->stmt);
        free(victim->sql);
    }
    victim->sql = copy;
    victim->hash = h;
    victim->stmt = fresh;
    victim->used = ++db->tick;
    *stmt = fresh;
    return OCP_OK;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

static void db_copy_error(char *err, size_t cap, const char *msg)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s", msg);
}

static int db_scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-';
}

ocp_status db_open(const char *uri, ocp_db **out, char *err, size_t err_cap)
{
    const db_ops *ops = &db_sqlite_ops;
    const char *target = uri;
    size_t n = 0;
    ocp_db *db;
    ocp_status st;

    db_copy_error(err, err_cap, "");
    if (out == NULL) {
        db_copy_error(err, err_cap, "no place for the handle");
        return OCP_E_ARGS;
    }
    *out = NULL;
    if (uri == NULL || *uri == '\0') {
        db_copy_error(err, err_cap, "no database URI given");
        return OCP_E_ARGS;
    }
    while (db_scheme_char(uri[n]))
        n++;
    /* A "scheme:" prefix of two or more characters is a URI, never a file
     * name: a mistyped "postgress://" must not quietly become an SQLite
     * file.  Only the scheme is echoed, since the rest may hold a
     * password. */
    if (uri[n] == ':' && n >= 2) {
        if (n == 6 && strncmp(uri, "sqlite", 6) == 0) {
            target = uri + 7;
            if (*target == '\0') {
                db_copy_error(err, err_cap, "sqlite: needs a file path");
                return OCP_E_ARGS;
            }
        } else if ((n == 10 && strncmp(uri, "postgresql", 10) == 0) ||
                   (n == 8 && strncmp(uri, "postgres", 8) == 0)) {
            if (strncmp(uri + n, "://", 3) != 0) {
                db_copy_error(err, err_cap,
                              "a PostgreSQL URI starts postgresql://");
                return OCP_E_ARGS;
            }
            ops = &db_pgsql_ops;
        } else {
            if (err != NULL && err_cap > 0)
                snprintf(err, err_cap,
                         "unknown database URI scheme \"%.*s\" (use "
                         "sqlite:PATH or postgresql://...)",
                         n > 32 ? 32 : (int)n, uri);
            return OCP_E_ARGS;
        }
    }

    db = calloc(1, sizeof *db);
    if (db == NULL) {
        db_copy_error(err, err_cap, "out of memory");
        return OCP_E_NOMEM;
    }
    db->ops = ops;
    st = ops->open(db, target);
    if (st != OCP_OK) {
        db_copy_error(err, err_cap, db_last_error(db));
        ops->close(db);
        db_free_error(db);
        free(db);
        return st;
    }
    *out = db;
    return OCP_OK;
}

void db_close(ocp_db *db)
{
    if (db == NULL)
        return;
    /* Statements first: SQLite will not close under a live statement.
     * An open transaction dies with the connection on both backends. */
    db_cache_clear(db);
    db->ops->close(db);
    db_free_error(db);
    free(db);
}

const char *db_backend(const ocp_db *db)
{
    return db != NULL ? db->ops->name : "";
}

/* ------------------------------------------------------------------------ */
/* Statements and transactions                                              */

/* What every statement call checks first; leaves the transaction alone,
 * since a misuse of the handle is not a failure of the work in it. */
static ocp_status db_guard(ocp_db *db)
{
    if (db->busy) {
        db_set_error(db, "the handle was used from inside a row callback");
        return OCP_E_ARGS;
    }
    if (db->in_tx && db->tx_failed) {
        db_set_error(db, "the transaction has failed; roll it back first");
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

static void db_failed(ocp_db *db)
{
    if (db->in_tx)
        db->tx_failed = 1;
}

/* ROLLBACK that keeps the message of the failure that caused it. */
static void db_quiet_rollback(ocp_db *db)
{
    char *saved = db->err;
    db->err = NULL;
    (void)db->ops->exec(db, "ROLLBACK");
    db_free_error(db);
    db->err = saved;
}

ocp_status db_exec(ocp_db *db, const char *sql)
{
    char *text;
    ocp_status st;
    int own_tx;

    if (db == NULL || sql == NULL)
        return OCP_E_ARGS;
    st = db_guard(db);
    if (st != OCP_OK)
        return st;
    text = db_expand_tokens(db, sql);
    if (text == NULL) {
        db_set_error(db, "out of memory");
        db_failed(db);
        return OCP_E_NOMEM;
    }
    db_cache_clear(db);
    /* SQLite's sqlite3_exec commits statement by statement and a
     * multi-statement PQexec runs as one implicit transaction: an explicit
     * one gives both the same all-or-nothing. */
    own_tx = !db->in_tx;
    st = own_tx ? db->ops->exec(db, db->ops->begin_sql) : OCP_OK;
    if (st == OCP_OK)
        st = db->ops->exec(db, text);
    if (own_tx && st == OCP_OK) {
        st = db->ops->exec(db, "COMMIT");
        if (st != OCP_OK)
            db_quiet_rollback(db);
    } else if (own_tx) {
        db_quiet_rollback(db);
    }
    free(text);
    if (st != OCP_OK)
        db_failed(db);
    return st;
}

ocp_status db_query(ocp_db *db, const char *sql, const db_value *params,
                    size_t nparams, db_row_fn fn, void *ctx,
                    int64_t *changes)
{
    void *stmt = NULL;
    int64_t n = 0;
    ocp_status st;

    if (changes != NULL)
        *changes = 0;
    if (db == NULL || sql == NULL || (params == NULL && nparams > 0))
        return OCP_E_ARGS;
    st = db_guard(db);
    if (st != OCP_OK)
        return st;
    st = db_check_params(db, params, nparams);
    if (st == OCP_OK)
        st = db_cache_get(db, sql, &stmt);
    if (st == OCP_OK) {
        db->busy = 1;
        st = db->ops->run(db, stmt, params, nparams, fn, ctx, &n);
        db->busy = 0;
    }
    if (st != OCP_OK) {
        db_redact(db, params, nparams);
        db_failed(db);
        return st;
    }
    if (changes != NULL)
        *changes = n;
    return OCP_OK;
}

ocp_status db_stream(ocp_db *db, const char *sql, db_row_fn fn, void *ctx)
{
    void *stmt = NULL;
    ocp_status st;
    if (db == NULL || sql == NULL)
        return OCP_E_ARGS;
    if (db->ops->stream == NULL)
        return db_query(db, sql, NULL, 0, fn, ctx, NULL);
    st = db_guard(db);
    if (st == OCP_OK)
        st = db_cache_get(db, sql, &stmt);
    if (st == OCP_OK) {
        db->busy = 1;
        st = db->ops->stream(db, stmt, sql, fn, ctx);
        db->busy = 0;
    }
    if (st != OCP_OK)
        db_failed(db);
    return st;
}

static ocp_status db_begin_with(ocp_db *db, const char *sql)
{
    ocp_status st;
    if (db == NULL)
        return OCP_E_ARGS;
    if (db->busy || db->in_tx) {
        db_set_error(db, db->busy ? "db_begin from inside a row callback"
                                  : "a transaction is already open");
        return OCP_E_ARGS;
    }
    st = db->ops->exec(db, sql);
    if (st == OCP_OK) {
        db->in_tx = 1;
        db->tx_failed = 0;
    }
    return st;
}

ocp_status db_begin(ocp_db *db)
{
    return db_begin_with(db, db != NULL ? db->ops->begin_sql : NULL);
}

ocp_status db_begin_read(ocp_db *db)
{
    return db_begin_with(db, db != NULL ? db->ops->begin_read_sql : NULL);
}

static int db_copy_name(void *ctx, const db_value *c, size_t n)
{
    char *out = ctx;
    if (n >= 1 && c[0].type == DB_TEXT && c[0].len < DB_SNAPSHOT_CAP)
        snprintf(out, DB_SNAPSHOT_CAP, "%s", c[0].s);
    return 1;
}

ocp_status db_snapshot_export(ocp_db *db, char name[DB_SNAPSHOT_CAP])
{
    ocp_status st;
    if (db == NULL || name == NULL || !db->in_tx)
        return OCP_E_ARGS;
    name[0] = '\0';
    if (db->ops->snapshot_export_sql == NULL)
        return OCP_OK;
    st = db_query(db, db->ops->snapshot_export_sql, NULL, 0, db_copy_name,
                  name, NULL);
    if (st == OCP_OK && name[0] == '\0') {
        db_set_error(db, "the server named no snapshot");
        st = OCP_E_DB;
    }
    return st;
}

ocp_status db_snapshot_import(ocp_db *db, const char *name)
{
    char sql[DB_SNAPSHOT_CAP + 64];
    size_t i;
    if (db == NULL || name == NULL || !db->in_tx ||
        db->ops->snapshot_import_fmt == NULL || name[0] == '\0' ||
        strlen(name) >= DB_SNAPSHOT_CAP)
        return OCP_E_ARGS;
    /* The name goes into the statement's text (SET takes no parameter):
     * only what a server's snapshot names are made of. */
    for (i = 0; name[i] != '\0'; i++)
        if (!isxdigit((unsigned char)name[i]) && name[i] != '-')
            return OCP_E_ARGS;
    snprintf(sql, sizeof sql, db->ops->snapshot_import_fmt, name);
    /* Not db_exec: emptying the statement cache would send DEALLOCATEs,
     * and SET TRANSACTION SNAPSHOT must come before any other statement
     * of the transaction. */
    if (db->busy || db->tx_failed)
        return OCP_E_ARGS;
    return db->ops->exec(db, sql);
}

ocp_status db_commit(ocp_db *db)
{
    ocp_status st;
    if (db == NULL)
        return OCP_E_ARGS;
    if (db->busy || !db->in_tx) {
        db_set_error(db, db->busy ? "db_commit from inside a row callback"
                                  : "no transaction is open");
        return OCP_E_ARGS;
    }
    db->in_tx = 0;
    if (db->tx_failed) {
        char *first = db->err;
        db->err = NULL;
        (void)db->ops->exec(db, "ROLLBACK");
        db_set_error(db, "the transaction had failed and was rolled back: %s",
                     first != NULL ? first : "");
        if (first != db_oom_message)
            free(first);
        db->tx_failed = 0;
        return OCP_E_DB;
    }
    st = db->ops->exec(db, "COMMIT");
    /* SQLite can leave the transaction open after a failed COMMIT (a busy
     * checkpoint); PostgreSQL ends it.  Either way it is over now. */
    if (st != OCP_OK)
        db_quiet_rollback(db);
    return st;
}

ocp_status db_rollback(ocp_db *db)
{
    ocp_status st;
    if (db == NULL)
        return OCP_E_ARGS;
    if (db->busy || !db->in_tx) {
        db_set_error(db, db->busy ? "db_rollback from inside a row callback"
                                  : "no transaction is open");
        return OCP_E_ARGS;
    }
    st = db->ops->exec(db, "ROLLBACK");
    db->in_tx = 0;
    db->tx_failed = 0;
    return st;
}

int db_in_transaction(const ocp_db *db)
{
    return db != NULL && db->in_tx;
}

static ocp_status db_copy(ocp_db *db, const char *path, int restore)
{
    ocp_status st;
    if (db == NULL || path == NULL || db->in_tx || db->busy)
        return OCP_E_ARGS;
    /* A restore replaces the schema under every prepared statement. */
    db_cache_clear(db);
    st = db->ops->backup(db, path, restore);
    if (st == OCP_OK)
        db_free_error(db);
    return st;
}

ocp_status db_backup(ocp_db *db, const char *path)
{
    return db_copy(db, path, 0);
}

ocp_status db_restore(ocp_db *db, const char *path)
{
    return db_copy(db, path, 1);
}
