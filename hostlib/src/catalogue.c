/*
 * The city's service catalogue (docs/HOLDERS.md, "The service catalogue"),
 * and the text and JSON helpers the desk's other input parsers share:
 * reading a file, positions in characters, and JSON errors that point at
 * the offending value although jansson keeps no positions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holder_internal.h"
#include "ocp_wire.h"

struct ocp_catalogue {
    ocp_service *services;              /* sorted by code */
    size_t n_services;
    ocp_service_category *categories;   /* sorted by id */
    size_t n_categories;
    char edition[64];
};

/* ---- text ------------------------------------------------------------------ */

ocp_status hl_read_file(const char *path, size_t max, char **text,
                        size_t *len, ocp_parse_error *err)
{
    FILE *f;
    char *buf;
    size_t n = 0, cap = 4096, got;
    ocp_status st = OCP_OK;

    *text = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        hl_error(err, 0, 0, "cannot open %.120s: %s", path, strerror(errno));
        return OCP_E_IO;
    }
    buf = malloc(cap + 1);
    if (buf == NULL) {
        fclose(f);
        hl_error(err, 0, 0, "out of memory");
        return OCP_E_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            char *bigger;
            if (cap > max) {
                hl_error(err, 0, 0, "%.120s is larger than %zu bytes", path,
                         max);
                st = OCP_E_IO;
                break;
            }
            bigger = realloc(buf, cap * 2 + 1);
            if (bigger == NULL) {
                hl_error(err, 0, 0, "out of memory");
                st = OCP_E_NOMEM;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                hl_error(err, 0, 0, "cannot read %.120s: %s", path,
                         strerror(errno));
                st = OCP_E_IO;
            } else if (n > max) {
                hl_error(err, 0, 0, "%.120s is larger than %zu bytes", path,
                         max);
                st = OCP_E_IO;
            }
            break;
        }
    }
    fclose(f);
    if (st != OCP_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return OCP_OK;
}

size_t hl_bom(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

void hl_position(const char *text, size_t start, int start_line, size_t off,
                 int *line, int *column)
{
    size_t i;
    int l = start_line, c = 1;
    for (i = start; i < off; i++) {
        unsigned char b = (unsigned char)text[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0u) != 0x80u) {
            c++; /* continuation bytes belong to the character before */
        }
    }
    *line = l;
    *column = c;
}

void hl_verror(ocp_parse_error *err, int line, int column, const char *fmt,
               va_list ap)
{
    if (err == NULL)
        return;
    err->line = line;
    err->column = column;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
}

void hl_error(ocp_parse_error *err, int line, int column, const char *fmt,
              ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl_verror(err, line, column, fmt, ap);
    va_end(ap);
}

const char *hl_text_problem(const char *s, size_t len, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = u[i];
        size_t more, k;
        unsigned long cp;
        *bad = i;
        if (c < 0x80u) {
            if (c < 0x20u || c == 0x7Fu)
                return "has a control character";
            i++;
            continue;
        }
        if ((c & 0xE0u) == 0xC0u) {
            more = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0u) == 0xE0u) {
            more = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8u) == 0xF0u) {
            more = 3;
            cp = c & 0x07u;
        } else {
            return "is not valid UTF-8";
        }
        if (len - i <= more)
            return "is not valid UTF-8";
        for (k = 1; k <= more; k++) {
            if ((u[i + k] & 0xC0u) != 0x80u)
                return "is not valid UTF-8";
            cp = (cp << 6) | (u[i + k] & 0x3Fu);
        }
        if ((more == 1 && cp < 0x80u) || (more == 2 && cp < 0x800u) ||
            (more == 3 && cp < 0x10000ul) || (cp >= 0xD800u && cp <= 0xDFFFu) ||
            cp > 0x10FFFFul)
            return "is not valid UTF-8";
        if (cp >= 0x80u && cp <= 0x9Fu)
            return "has a control character";
        i += more + 1;
    }
    return NULL;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint16_t hl_parse_code(const char *s, size_t len)
{
    unsigned long v = 0;
    size_t i;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (len > 6)
            return 0;
        for (i = 2; i < len; i++) {
            int d = hex_digit(s[i]);
            if (d < 0)
                return 0;
            v = v * 16u + (unsigned)d;
        }
        return (uint16_t)v;
    }
    if (len == 0 || len > 5)
        return 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10u + (unsigned)(s[i] - '0');
    }
    return v > 0xFFFFu ? 0 : (uint16_t)v;
}

/* ---- JSON with positions ------------------------------------------------- */

ocp_status hl_json_load(hl_json *j, const char *text, size_t len,
                        ocp_parse_error *err, json_t **root)
{
    json_error_t je;
    size_t b = hl_bom(text, len);

    memset(j, 0, sizeof *j);
    j->text = text + b;
    j->len = len - b;
    j->err = err;
    *root = json_loadb(j->text, j->len, JSON_REJECT_DUPLICATES, &je);
    if (*root != NULL)
        return OCP_OK;
    if (json_error_code(&je) == json_error_out_of_memory) {
        hl_error(err, 0, 0, "out of memory");
        return OCP_E_NOMEM;
    }
    hl_error(err, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
             "%s", je.text);
    return OCP_E_ARGS;
}

void hl_json_push(hl_json *j, int index, const char *key)
{
    if (j->depth < HL_JSON_DEPTH) {
        j->index[j->depth] = index;
        j->key[j->depth] = key;
    }
    j->depth++;
}

void hl_json_pop(hl_json *j)
{
    j->depth--;
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const char *t, size_t n, size_t p)
{
    while (p < n && json_space(t[p]))
        p++;
    return p;
}

/* p at the opening quote; returns the byte after the closing one. */
static size_t skip_string(const char *t, size_t n, size_t p)
{
    for (p++; p < n && t[p] != '"'; p++)
        if (t[p] == '\\')
            p++;
    return p < n ? p + 1 : n;
}

static size_t skip_value(const char *t, size_t n, size_t p)
{
    size_t depth = 0;
    if (p < n && t[p] == '"')
        return skip_string(t, n, p);
    if (p < n && (t[p] == '{' || t[p] == '[')) {
        while (p < n) {
            if (t[p] == '"') {
                p = skip_string(t, n, p);
                continue;
            }
            if (t[p] == '{' || t[p] == '[')
                depth++;
            else if ((t[p] == '}' || t[p] == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return n;
    }
    while (p < n && !json_space(t[p]) && t[p] != ',' && t[p] != ']' &&
           t[p] != '}')
        p++;
    return p;
}

/* The byte offset of the current value (or key) in text that jansson has
 * accepted, so the walk needs no error handling beyond staying in bounds. */
static size_t json_offset(const hl_json *j, int at_key)
{
    const char *t = j->text;
    size_t n = j->len, p = skip_space(t, n, 0);
    int d, depth = j->depth < HL_JSON_DEPTH ? j->depth : HL_JSON_DEPTH;

    for (d = 0; d < depth; d++) {
        int i, last = d == depth - 1;
        char open = p < n ? t[p] : '\0';
        if (open != '{' && open != '[')
            return p;
        p++;
        for (i = 0;; i++) {
            p = skip_space(t, n, p);
            if (open == '{') {
                if (i == j->index[d] && last && at_key)
                    return p;
                p = skip_space(t, n, skip_string(t, n, p));
                if (p < n && t[p] == ':')
                    p = skip_space(t, n, p + 1);
            }
            if (i == j->index[d])
                break;
            p = skip_space(t, n, skip_value(t, n, p));
            if (p >= n || t[p] != ',')
                return p;
            p++;
        }
    }
    return p;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        int d = hex_digit(s[i]);
        v = v * 16u + (d < 0 ? 0u : (unsigned)d);
    }
    return v;
}

/* The byte offset in the text of decoded byte k of the string literal
 * whose opening quote is at p. */
static size_t string_offset(const char *t, size_t n, size_t p, size_t k)
{
    size_t got = 0;
    for (p++; p < n && t[p] != '"';) {
        size_t raw = 1, made = 1;
        if (t[p] == '\\' && p + 1 < n) {
            raw = 2;
            if (t[p + 1] == 'u' && n - p >= 6) {
                unsigned cp = hex4(t + p + 2);
                raw = 6;
                if (cp >= 0xD800u && cp <= 0xDBFFu && n - p >= 12) {
                    raw = 12;
                    made = 4;
                } else {
                    made = cp < 0x80u ? 1 : cp < 0x800u ? 2 : 3;
                }
            }
        }
        if (got + made > k)
            return p;
        got += made;
        p += raw;
    }
    return p;
}

int hl_json_fail(hl_json *j, int at_key, size_t str_off, const char *fmt,
                 ...)
{
    char where[96], what[200];
    size_t off, used = 0;
    int d, line, column;
    va_list ap;

    where[0] = '\0';
    for (d = 0; d < j->depth && d < HL_JSON_DEPTH; d++) {
        int w;
        if (j->key[d] != NULL)
            w = snprintf(where + used, sizeof where - used, "%s%.40s",
                         d > 0 ? "." : "", j->key[d]);
        else
            w = snprintf(where + used, sizeof where - used, "[%d]",
                         j->index[d]);
        if (w < 0 || (size_t)w >= sizeof where - used)
            break;
        used += (size_t)w;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);

    off = json_offset(j, at_key);
    if (str_off != HL_NO_OFFSET && off < j->len && j->text[off] == '"')
        off = string_offset(j->text, j->len, off, str_off);
    hl_position(j->text, 0, 1, off, &line, &column);
    if (used > 0)
        hl_error(j->err, line, column, "%s: %s", where, what);
    else
        hl_error(j->err, line, column, "%s", what);
    return -1;
}

/* "a, b or c" */
static void join_names(const char *const *names, size_t n, char *out,
                       size_t cap)
{
    size_t used = 0, i;
    out[0] = '\0';
    for (i = 0; i < n && used < cap; i++) {
        int w = snprintf(out + used, cap - used, "%s%s",
                         i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int hl_json_members(hl_json *j, json_t *obj, const char *const *keys,
                    size_t n, json_t **vals, int *index)
{
    const char *k;
    json_t *v;
    int i = 0;
    size_t m;

    for (m = 0; m < n; m++) {
        vals[m] = NULL;
        index[m] = -1;
    }
    json_object_foreach(obj, k, v) {
        for (m = 0; m < n && strcmp(keys[m], k) != 0; m++)
            continue;
        if (m == n) {
            char list[160];
            join_names(keys, n, list, sizeof list);
            hl_json_push(j, i, k);
            hl_json_fail(j, 1, HL_NO_OFFSET, "unknown key (expected %s)",
                         list);
            hl_json_pop(j);
            return -1;
        }
        vals[m] = v;
        index[m] = i++;
    }
    return 0;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

int hl_json_string(hl_json *j, const json_t *v, const char **s, size_t *len)
{
    if (!json_is_string(v))
        return hl_json_fail(j, 0, HL_NO_OFFSET, "must be a string, not %s",
                            type_name(v));
    *s = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

int hl_json_uint(hl_json *j, const json_t *v, uint32_t min, uint32_t max,
                 uint32_t *out)
{
    json_int_t x;
    if (!json_is_integer(v))
        return hl_json_fail(j, 0, HL_NO_OFFSET, "must be an integer, not %s",
                            type_name(v));
    x = json_integer_value(v);
    if (x < (json_int_t)min || x > (json_int_t)max)
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "%" JSON_INTEGER_FORMAT " is out of range "
                            "%lu..%lu",
                            x, (unsigned long)min, (unsigned long)max);
    *out = (uint32_t)x;
    return 0;
}

int hl_json_bool(hl_json *j, const json_t *v, int *out)
{
    if (!json_is_boolean(v))
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "must be true or false, not %s", type_name(v));
    *out = json_is_true(v);
    return 0;
}

int hl_json_code(hl_json *j, const json_t *v, uint16_t *code)
{
    uint32_t n;
    if (json_is_integer(v)) {
        if (hl_json_uint(j, v, 1, 0xFFFF, &n) != 0)
            return -1;
        *code = (uint16_t)n;
        return 0;
    }
    if (json_is_string(v)) {
        *code = hl_parse_code(json_string_value(v), json_string_length(v));
        if (*code != 0)
            return 0;
    }
    return hl_json_fail(j, 0, HL_NO_OFFSET,
                        "must be a service code such as \"0x0101\" or 257");
}

/* ---- the catalogue ------------------------------------------------------- */

static const char *const domain_names[] = {"transit", "medical", "rehab",
                                           "assistive", "subsidy", "venue"};
static const char *const kind_names[] = {"pass", "counter", "balance"};
static const char *const period_names[] = {"none", "month", "year"};

/* The index of the current string value in names[], or -1 (reported). */
static int json_enum(hl_json *j, const json_t *v, const char *const *names,
                     size_t n)
{
    const char *s;
    char list[160];
    size_t len, i;
    if (hl_json_string(j, v, &s, &len) != 0)
        return -1;
    for (i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    join_names(names, n, list, sizeof list);
    return hl_json_fail(j, 0, HL_NO_OFFSET, "\"%.32s\" is not %s", s, list);
}

/* A name: non-empty UTF-8 text without control characters, copied. */
static int json_name(hl_json *j, const json_t *v, char *out, size_t cap)
{
    const char *s, *problem;
    size_t len, bad;
    if (hl_json_string(j, v, &s, &len) != 0)
        return -1;
    if (len == 0)
        return hl_json_fail(j, 0, HL_NO_OFFSET, "must not be empty");
    if (len >= cap)
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "is %zu bytes; at most %zu", len, cap - 1);
    problem = hl_text_problem(s, len, &bad);
    if (problem != NULL)
        return hl_json_fail(j, 0, bad, "%s", problem);
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

enum { FIELD_CAT = 3 };

static int load_category(hl_json *j, json_t *obj, ocp_catalogue *cat)
{
    static const char *const keys[FIELD_CAT] = {"id", "name_zh", "name_en"};
    json_t *v[FIELD_CAT];
    int idx[FIELD_CAT], rc = 0;
    uint32_t id;
    size_t i;
    ocp_service_category *c = &cat->categories[cat->n_categories];

    if (!json_is_object(obj))
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "a category must be an object, not %s",
                            type_name(obj));
    if (hl_json_members(j, obj, keys, FIELD_CAT, v, idx) != 0)
        return -1;
    for (i = 0; i < FIELD_CAT; i++)
        if (v[i] == NULL)
            return hl_json_fail(j, 0, HL_NO_OFFSET, "missing \"%s\"",
                                keys[i]);
    hl_json_push(j, idx[0], keys[0]);
    rc = hl_json_uint(j, v[0], 1, 255, &id);
    for (i = 0; rc == 0 && i < cat->n_categories; i++)
        if (cat->categories[i].id == id)
            rc = hl_json_fail(j, 0, HL_NO_OFFSET, "category %lu twice",
                              (unsigned long)id);
    hl_json_pop(j);
    if (rc != 0)
        return -1;
    c->id = (uint8_t)id;
    hl_json_push(j, idx[1], keys[1]);
    rc = json_name(j, v[1], c->name_zh, sizeof c->name_zh);
    hl_json_pop(j);
    if (rc != 0)
        return -1;
    hl_json_push(j, idx[2], keys[2]);
    rc = json_name(j, v[2], c->name_en, sizeof c->name_en);
    hl_json_pop(j);
    if (rc != 0)
        return -1;
    cat->n_categories++;
    return 0;
}

enum {
    S_CODE,
    S_NAME_ZH,
    S_NAME_EN,
    S_DOMAIN,
    S_KIND,
    S_PERIOD,
    S_USES,
    S_AMOUNT,
    S_PIN,
    S_COUNT
};

static int load_service(hl_json *j, json_t *obj, ocp_catalogue *cat,
                        uint8_t *seen)
{
    static const char *const keys[S_COUNT] = {
        "code", "name_zh", "name_en", "domain", "kind",
        "period", "uses", "amount_fen", "pin_required"};
    json_t *v[S_COUNT];
    int idx[S_COUNT], rc = 0, e, pin = 0;
    size_t i;
    uint16_t code = 0;
    ocp_service *s = &cat->services[cat->n_services];

    if (!json_is_object(obj))
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "a service must be an object, not %s",
                            type_name(obj));
    if (hl_json_members(j, obj, keys, S_COUNT, v, idx) != 0)
        return -1;
    for (i = S_CODE; i <= S_KIND; i++)
        if (v[i] == NULL)
            return hl_json_fail(j, 0, HL_NO_OFFSET, "missing \"%s\"",
                                keys[i]);

    hl_json_push(j, idx[S_CODE], keys[S_CODE]);
    rc = hl_json_code(j, v[S_CODE], &code);
    if (rc == 0 && (code & 0xFFu) == 0)
        rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                          "0x%04X: the item (low byte) must be 1..255",
                          (unsigned)code);
    if (rc == 0) {
        for (i = 0; i < cat->n_categories; i++)
            if (cat->categories[i].id == code >> 8)
                break;
        if (i == cat->n_categories)
            rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                              "0x%04X: category %u is not in \"categories\"",
                              (unsigned)code, (unsigned)(code >> 8));
    }
    if (rc == 0 && (seen[code >> 3] & (1u << (code & 7u)))) {
        rc = hl_json_fail(j, 0, HL_NO_OFFSET, "0x%04X appears twice",
                          (unsigned)code);
    }
    hl_json_pop(j);
    if (rc != 0)
        return -1;
    seen[code >> 3] = (uint8_t)(seen[code >> 3] | (1u << (code & 7u)));
    s->code = code;

    hl_json_push(j, idx[S_NAME_ZH], keys[S_NAME_ZH]);
    rc = json_name(j, v[S_NAME_ZH], s->name_zh, sizeof s->name_zh);
    hl_json_pop(j);
    if (rc != 0)
        return -1;
    hl_json_push(j, idx[S_NAME_EN], keys[S_NAME_EN]);
    rc = json_name(j, v[S_NAME_EN], s->name_en, sizeof s->name_en);
    hl_json_pop(j);
    if (rc != 0)
        return -1;

    hl_json_push(j, idx[S_DOMAIN], keys[S_DOMAIN]);
    e = json_enum(j, v[S_DOMAIN], domain_names, 6);
    hl_json_pop(j);
    if (e < 0)
        return -1;
    s->domain = (uint8_t)(OCP_ROLE_TRANSIT + (unsigned)e);

    hl_json_push(j, idx[S_KIND], keys[S_KIND]);
    e = json_enum(j, v[S_KIND], kind_names, 3);
    hl_json_pop(j);
    if (e < 0)
        return -1;
    s->kind = (uint8_t)(OCP_KIND_PASS + (unsigned)e);

    /* Each kind has its own keys; another kind's key is a mistake worth
     * naming rather than ignoring. */
    for (i = S_PERIOD; i <= S_AMOUNT; i++) {
        int wanted = s->kind == OCP_KIND_COUNTER ? i != S_AMOUNT
                     : s->kind == OCP_KIND_BALANCE ? i == S_AMOUNT
                                                   : 0;
        if (wanted && v[i] == NULL)
            return hl_json_fail(j, 0, HL_NO_OFFSET, "a %s needs \"%s\"",
                                kind_names[e], keys[i]);
        if (!wanted && v[i] != NULL) {
            hl_json_push(j, idx[i], keys[i]);
            hl_json_fail(j, 1, HL_NO_OFFSET, "a %s has no %s",
                         kind_names[e], keys[i]);
            hl_json_pop(j);
            return -1;
        }
    }
    if (s->kind == OCP_KIND_COUNTER) {
        hl_json_push(j, idx[S_PERIOD], keys[S_PERIOD]);
        e = json_enum(j, v[S_PERIOD], period_names, 3);
        hl_json_pop(j);
        if (e < 0)
            return -1;
        s->period = (uint8_t)e; /* OCP_PERIOD_NONE, _MONTH, _YEAR */
        hl_json_push(j, idx[S_USES], keys[S_USES]);
        rc = hl_json_uint(j, v[S_USES], 1, HL_USES_MAX, &s->default_uses);
        hl_json_pop(j);
    } else if (s->kind == OCP_KIND_BALANCE) {
        hl_json_push(j, idx[S_AMOUNT], keys[S_AMOUNT]);
        rc = hl_json_uint(j, v[S_AMOUNT], 1, HL_FEN_MAX, &s->default_fen);
        hl_json_pop(j);
    }
    if (rc != 0)
        return -1;
    if (v[S_PIN] != NULL) {
        hl_json_push(j, idx[S_PIN], keys[S_PIN]);
        rc = hl_json_bool(j, v[S_PIN], &pin);
        hl_json_pop(j);
        if (rc != 0)
            return -1;
    }
    s->pin_required = pin ? 1u : 0u;
    cat->n_services++;
    return 0;
}

enum { T_FORMAT, T_EDITION, T_CATEGORIES, T_SERVICES, T_COUNT };

static int load_catalogue(hl_json *j, json_t *root, ocp_catalogue *cat,
                          uint8_t *seen)
{
    static const char *const keys[T_COUNT] = {"format", "edition",
                                              "categories", "services"};
    json_t *v[T_COUNT], *item;
    int idx[T_COUNT], rc = 0;
    uint32_t format;
    size_t i;

    if (!json_is_object(root))
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "a catalogue is an object, not %s",
                            type_name(root));
    if (hl_json_members(j, root, keys, T_COUNT, v, idx) != 0)
        return -1;
    for (i = 0; i < T_COUNT; i++)
        if (i != T_EDITION && v[i] == NULL)
            return hl_json_fail(j, 0, HL_NO_OFFSET, "missing \"%s\"",
                                keys[i]);

    hl_json_push(j, idx[T_FORMAT], keys[T_FORMAT]);
    rc = hl_json_uint(j, v[T_FORMAT], 0, 0xFFFFFFFFu, &format);
    if (rc == 0 && format != 1)
        rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                          "format %lu is not one this libocp reads (1)",
                          (unsigned long)format);
    hl_json_pop(j);
    if (rc != 0)
        return -1;
    if (v[T_EDITION] != NULL) {
        hl_json_push(j, idx[T_EDITION], keys[T_EDITION]);
        rc = json_name(j, v[T_EDITION], cat->edition, sizeof cat->edition);
        hl_json_pop(j);
        if (rc != 0)
            return -1;
    }

    hl_json_push(j, idx[T_CATEGORIES], keys[T_CATEGORIES]);
    if (!json_is_array(v[T_CATEGORIES]) ||
        json_array_size(v[T_CATEGORIES]) == 0 ||
        json_array_size(v[T_CATEGORIES]) > 255)
        rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                          "must be an array of 1 to 255 categories");
    json_array_foreach(v[T_CATEGORIES], i, item) {
        if (rc != 0)
            break;
        hl_json_push(j, (int)i, NULL);
        rc = load_category(j, item, cat);
        hl_json_pop(j);
    }
    hl_json_pop(j);
    if (rc != 0)
        return -1;

    hl_json_push(j, idx[T_SERVICES], keys[T_SERVICES]);
    if (!json_is_array(v[T_SERVICES]) || json_array_size(v[T_SERVICES]) == 0)
        rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                          "must be an array of at least one service");
    json_array_foreach(v[T_SERVICES], i, item) {
        if (rc != 0)
            break;
        hl_json_push(j, (int)i, NULL);
        rc = load_service(j, item, cat, seen);
        hl_json_pop(j);
    }
    hl_json_pop(j);
    return rc;
}

static int by_code(const void *a, const void *b)
{
    const ocp_service *x = a, *y = b;
    return (x->code > y->code) - (x->code < y->code);
}

static int by_id(const void *a, const void *b)
{
    const ocp_service_category *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

ocp_status ocp_catalogue_parse(const char *text, size_t len,
                               ocp_catalogue **out, ocp_parse_error *err)
{
    hl_json j;
    json_t *root = NULL;
    ocp_catalogue *cat = NULL;
    uint8_t *seen = NULL;
    ocp_status st;
    size_t n_cat, n_svc;

    if (out != NULL)
        *out = NULL;
    if (text == NULL || out == NULL) {
        hl_error(err, 0, 0, "no text or no place for the catalogue");
        return OCP_E_ARGS;
    }
    st = hl_json_load(&j, text, len, err, &root);
    if (st != OCP_OK)
        return st;
    /* Room for every array element, whatever its type: the loaders check. */
    n_cat = json_array_size(json_object_get(root, "categories"));
    n_svc = json_array_size(json_object_get(root, "services"));
    cat = calloc(1, sizeof *cat);
    seen = calloc(65536u / 8u, 1);
    if (cat != NULL) {
        cat->categories = calloc(n_cat ? n_cat : 1, sizeof *cat->categories);
        cat->services = calloc(n_svc ? n_svc : 1, sizeof *cat->services);
    }
    if (cat == NULL || seen == NULL || cat->categories == NULL ||
        cat->services == NULL) {
        hl_error(err, 0, 0, "out of memory");
        st = OCP_E_NOMEM;
        goto out;
    }
    if (load_catalogue(&j, root, cat, seen) != 0) {
        st = OCP_E_ARGS;
        goto out;
    }
    qsort(cat->services, cat->n_services, sizeof *cat->services, by_code);
    qsort(cat->categories, cat->n_categories, sizeof *cat->categories, by_id);
    *out = cat;
    cat = NULL;
out:
    ocp_catalogue_free(cat);
    free(seen);
    json_decref(root);
    return st;
}

ocp_status ocp_catalogue_load(const char *path, ocp_catalogue **out,
                              ocp_parse_error *err)
{
    char *text;
    size_t len;
    ocp_status st;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL) {
        hl_error(err, 0, 0, "no path or no place for the catalogue");
        return OCP_E_ARGS;
    }
    st = hl_read_file(path, HL_CATALOGUE_FILE_MAX, &text, &len, err);
    if (st != OCP_OK)
        return st;
    st = ocp_catalogue_parse(text, len, out, err);
    free(text);
    return st;
}

void ocp_catalogue_free(ocp_catalogue *cat)
{
    if (cat == NULL)
        return;
    free(cat->services);
    free(cat->categories);
    free(cat);
}

const ocp_service *ocp_catalogue_find(const ocp_catalogue *cat,
                                      uint16_t code)
{
    ocp_service key;
    if (cat == NULL)
        return NULL;
    key.code = code;
    return bsearch(&key, cat->services, cat->n_services,
                   sizeof *cat->services, by_code);
}

size_t ocp_catalogue_count(const ocp_catalogue *cat)
{
    return cat != NULL ? cat->n_services : 0;
}

const ocp_service *ocp_catalogue_service(const ocp_catalogue *cat,
                                         size_t index)
{
    return cat != NULL && index < cat->n_services ? &cat->services[index]
                                                  : NULL;
}

size_t ocp_catalogue_category_count(const ocp_catalogue *cat)
{
    return cat != NULL ? cat->n_categories : 0;
}

const ocp_service_category *ocp_catalogue_category(const ocp_catalogue *cat,
                                                   size_t index)
{
    return cat != NULL && index < cat->n_categories
               ? &cat->categories[index]
               : NULL;
}

const char *ocp_catalogue_edition(const ocp_catalogue *cat)
{
    return cat != NULL ? cat->edition : "";
}
