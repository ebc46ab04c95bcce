/*
 * The batch CSV (docs/HOLDERS.md, "The batch CSV"): RFC 4180 records, a
 * header naming the columns, one holder per row.  The file is read whole,
 * so every position is a byte offset into it, turned into a line and a
 * column only when an error needs one.  A record's end is found even when
 * the record is malformed, so one bad row never hides the next.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "holder_internal.h"

#define MAX_FIELDS 16

typedef struct {
    size_t start; /* first byte: the opening quote of a quoted field */
    size_t end;   /* after the last byte (the closing quote) */
    int quoted;
} raw_field;

typedef struct {
    size_t start;   /* first byte of the record, at the start of a line */
    int line;       /* its line */
    int n;          /* fields in the record (only MAX_FIELDS are kept) */
    raw_field f[MAX_FIELDS];
    const char *error; /* a syntax error, at error_at */
    size_t error_at;
} record;

struct ocp_csv {
    char *text; /* the whole file, NUL-terminated, wiped on close */
    size_t len;
    size_t pos; /* the next record */
    int line;   /* the line of pos */
    int ncols;
    int field_of[MAX_FIELDS]; /* column -> HL_F_* */
    size_t rows;
};

static int line_end(const char *t, size_t n, size_t p)
{
    return t[p] == '\n' || (t[p] == '\r' && p + 1 < n && t[p + 1] == '\n');
}

/* Splits the record at c->pos and moves past it, even when it is
 * malformed (then past the physical line where the error is). */
static void split(ocp_csv *c, record *r)
{
    const char *t = c->text;
    size_t n = c->len, p = c->pos, i;

    r->start = p;
    r->line = c->line;
    r->n = 0;
    r->error = NULL;
    for (;;) {
        raw_field fld;
        fld.start = p;
        fld.quoted = p < n && t[p] == '"';
        if (fld.quoted) {
            for (p++;; p++) {
                if (p >= n) {
                    r->error = "this quoted field is never closed";
                    r->error_at = fld.start;
                    break;
                }
                if (t[p] == '"' && p + 1 < n && t[p + 1] == '"')
                    p++;
                else if (t[p] == '"')
                    break;
            }
            if (r->error != NULL)
                break;
            p++;
            if (p < n && t[p] != ',' && !line_end(t, n, p)) {
                r->error = "text after a closing quote (write \"\" for a "
                           "quote inside a quoted field)";
                r->error_at = p;
                break;
            }
        } else {
            while (p < n && t[p] != ',' && t[p] != '"' && t[p] != '\n' &&
                   t[p] != '\r')
                p++;
            if (p < n && t[p] == '"') {
                r->error = "a quote inside an unquoted field (quote the "
                           "whole field and write \"\" for the quote)";
                r->error_at = p;
                break;
            }
            if (p < n && t[p] == '\r' && !line_end(t, n, p)) {
                r->error = "a carriage return without a line feed";
                r->error_at = p;
                break;
            }
        }
        fld.end = p;
        if (r->n < MAX_FIELDS)
            r->f[r->n] = fld;
        r->n++;
        if (p >= n)
            break;
        if (t[p] == ',') {
            p++;
            continue;
        }
        p += t[p] == '\r' ? 2 : 1;
        break;
    }
    if (r->error != NULL) {
        p = r->error_at;
        while (p < n && t[p] != '\n')
            p++;
        if (p < n)
            p++;
    }
    for (i = r->start; i < p; i++)
        if (t[i] == '\n')
            c->line++;
    c->pos = p;
}

/* An empty line, or a row of empty cells as spreadsheets write them. */
static int blank_record(const record *r)
{
    int i;
    if (r->error != NULL)
        return 0;
    for (i = 0; i < r->n && i < MAX_FIELDS; i++)
        if (r->f[i].end - r->f[i].start > (r->f[i].quoted ? 2u : 0u))
            return 0;
    return r->n <= MAX_FIELDS;
}

/* Decodes a field ("" -> ") into out; returns its length. */
static size_t decode(const char *t, const raw_field *f, char *out)
{
    size_t p = f->start, end = f->end, n = 0;
    if (f->quoted) {
        p++;
        end--;
    }
    while (p < end) {
        out[n++] = t[p];
        p += f->quoted && t[p] == '"' ? 2 : 1;
    }
    return n;
}

/* The byte of the file holding decoded byte k of a field. */
static size_t raw_offset(const char *t, const raw_field *f, size_t k)
{
    size_t p = f->start + (f->quoted ? 1u : 0u);
    for (; k > 0 && p < f->end; k--)
        p += f->quoted && t[p] == '"' ? 2 : 1;
    return p;
}

static void record_error(const ocp_csv *c, const record *r, size_t off,
                         ocp_parse_error *err, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void record_error(const ocp_csv *c, const record *r, size_t off,
                         ocp_parse_error *err, const char *fmt, ...)
{
    int line, column;
    va_list ap;
    hl_position(c->text, r->start, r->line, off, &line, &column);
    va_start(ap, fmt);
    hl_verror(err, line, column, fmt, ap);
    va_end(ap);
}

static int same_name(const char *s, size_t len, const char *name)
{
    size_t i;
    if (strlen(name) != len)
        return 0;
    for (i = 0; i < len; i++) {
        char ch = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (ch != name[i])
            return 0;
    }
    return 1;
}

static ocp_status read_header(ocp_csv *c, ocp_parse_error *err)
{
    record r;
    int i, k, seen[HL_F_COUNT] = {0};

    if (c->pos >= c->len) {
        hl_error(err, 1, 1, "the file is empty; the first line must name "
                            "the columns (name,certificate,district,...)");
        return OCP_E_ARGS;
    }
    split(c, &r);
    if (r.error != NULL) {
        record_error(c, &r, r.error_at, err, "%s", r.error);
        return OCP_E_ARGS;
    }
    if (r.n > HL_F_COUNT) {
        record_error(c, &r, r.f[HL_F_COUNT].start, err,
                     "the header has %d columns; there are only %d kinds",
                     r.n, HL_F_COUNT);
        return OCP_E_ARGS;
    }
    for (i = 0; i < r.n; i++) {
        char name[32];
        size_t len = 0;
        if (r.f[i].end - r.f[i].start < sizeof name) /* else no name fits */
            len = decode(c->text, &r.f[i], name);
        for (k = 0; k < HL_F_COUNT; k++)
            if (same_name(name, len, hl_field_names[k]))
                break;
        if (k == HL_F_COUNT) {
            record_error(c, &r, r.f[i].start, err,
                         "unknown column %.*s (expected name, certificate, "
                         "district, suite, pin, valid_years, entitlements)",
                         (int)(r.f[i].end - r.f[i].start > 32
                                   ? 32
                                   : r.f[i].end - r.f[i].start),
                         c->text + r.f[i].start);
            return OCP_E_ARGS;
        }
        if (seen[k]) {
            record_error(c, &r, r.f[i].start, err, "column \"%s\" twice",
                         hl_field_names[k]);
            return OCP_E_ARGS;
        }
        seen[k] = 1;
        c->field_of[i] = k;
    }
    for (k = HL_F_NAME; k <= HL_F_DISTRICT; k++) {
        if (!seen[k]) {
            record_error(c, &r, r.start, err,
                         "the header has no \"%s\" column",
                         hl_field_names[k]);
            return OCP_E_ARGS;
        }
    }
    c->ncols = r.n;
    return OCP_OK;
}

ocp_status ocp_batch_open_buffer(const char *text, size_t len, ocp_csv **out,
                                 ocp_parse_error *err)
{
    ocp_csv *c;
    ocp_status st;
    size_t body;
    int body_line;
    record r;

    if (out != NULL)
        *out = NULL;
    if (text == NULL || out == NULL) {
        hl_error(err, 0, 0, "no text or no place for the reader");
        return OCP_E_ARGS;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL || (c->text = malloc(len + 1)) == NULL) {
        free(c);
        hl_error(err, 0, 0, "out of memory");
        return OCP_E_NOMEM;
    }
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    c->len = len;
    c->pos = hl_bom(text, len);
    c->line = 1;
    st = read_header(c, err);
    if (st != OCP_OK) {
        ocp_batch_close(c);
        return st;
    }
    /* Count the rows the way ocp_batch_next() will meet them. */
    body = c->pos;
    body_line = c->line;
    while (c->pos < c->len) {
        split(c, &r);
        if (!blank_record(&r))
            c->rows++;
    }
    c->pos = body;
    c->line = body_line;
    *out = c;
    return OCP_OK;
}

ocp_status ocp_batch_open(const char *path, ocp_csv **out,
                          ocp_parse_error *err)
{
    char *text;
    size_t len;
    ocp_status st;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL) {
        hl_error(err, 0, 0, "no path or no place for the reader");
        return OCP_E_ARGS;
    }
    st = hl_read_file(path, HL_CSV_FILE_MAX, &text, &len, err);
    if (st != OCP_OK)
        return st;
    st = ocp_batch_open_buffer(text, len, out, err);
    OPENSSL_cleanse(text, len);
    free(text);
    return st;
}

size_t ocp_batch_rows(const ocp_csv *csv)
{
    return csv != NULL ? csv->rows : 0;
}

/* Checks and decodes one record into a request. */
static ocp_status read_row(ocp_csv *c, const record *r,
                           const ocp_catalogue *cat, uint16_t today,
                           ocp_issue_request *req, ocp_entitlement *ents,
                           ocp_parse_error *err)
{
    const char *cells[HL_F_COUNT] = {NULL};
    size_t lens[HL_F_COUNT] = {0}, offset = 0, used = 0, off;
    char *buf, msg[200];
    int i, field = 0, col;
    ocp_status st;

    if (r->error != NULL) {
        record_error(c, r, r->error_at, err, "%s", r->error);
        return OCP_E_ARGS;
    }
    if (r->n != c->ncols) {
        off = r->n > c->ncols ? r->f[c->ncols].start
                              : r->f[r->n - 1].end;
        record_error(c, r, off, err,
                     "the row has %d fields; the header has %d (a missing "
                     "or extra comma, or a comma not quoted?)",
                     r->n, c->ncols);
        return OCP_E_ARGS;
    }
    /* Decoded cells are never longer than the raw record. */
    buf = malloc(r->f[r->n - 1].end - r->start + 1);
    if (buf == NULL) {
        hl_error(err, 0, 0, "out of memory");
        return OCP_E_NOMEM;
    }
    for (i = 0; i < r->n; i++) {
        int f = c->field_of[i];
        cells[f] = buf + used;
        lens[f] = decode(c->text, &r->f[i], buf + used);
        used += lens[f];
    }
    st = hl_holder_from_fields(cells, lens, cat, today, req, ents, &field,
                               &offset, msg, sizeof msg);
    if (st == OCP_E_ARGS) {
        for (col = 0; col < r->n && c->field_of[col] != field; col++)
            continue;
        /* A defaulted (absent) column has no place: point at the row. */
        off = col < r->n ? raw_offset(c->text, &r->f[col], offset)
                         : r->start;
        record_error(c, r, off, err, "%s", msg);
    }
    OPENSSL_cleanse(buf, used);
    free(buf);
    return st;
}

ocp_status ocp_batch_next(ocp_csv *csv, const ocp_catalogue *cat,
                          uint16_t today, ocp_issue_request *req,
                          ocp_entitlement ents[16], int *line, int *done,
                          ocp_parse_error *err)
{
    record r;

    if (done != NULL)
        *done = 0;
    if (req != NULL && ents != NULL) {
        OPENSSL_cleanse(req, sizeof *req);
        memset(ents, 0, OCP_HOLDER_MAX_ENTITLEMENTS * sizeof *ents);
        req->entitlements = ents;
    }
    if (csv == NULL || cat == NULL || req == NULL || ents == NULL ||
        done == NULL) {
        hl_error(err, 0, 0, "no reader, catalogue, request or done flag");
        return OCP_E_ARGS;
    }
    do {
        if (csv->pos >= csv->len) {
            *done = 1;
            return OCP_OK;
        }
        split(csv, &r);
    } while (blank_record(&r));
    if (line != NULL)
        *line = r.line;
    return read_row(csv, &r, cat, today, req, ents, err);
}

void ocp_batch_close(ocp_csv *csv)
{
    if (csv == NULL)
        return;
    OPENSSL_cleanse(csv->text, csv->len);
    free(csv->text);
    free(csv);
}
