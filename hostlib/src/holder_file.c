/*
 * One holder: the JSON holder file and a CSV row's cells, both turned
 * into an ocp_issue_request (docs/HOLDERS.md).  The checks on each value
 * are shared, so a name or an entitlement is judged the same way whatever
 * file it came from; only the way an error finds its line and column
 * differs (a JSON path, or a cell and a byte in it).
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holder_internal.h"
#include "ocp_wire.h"

const char *const hl_field_names[HL_F_COUNT] = {
    "name", "certificate", "district", "suite",
    "pin",  "valid_years", "entitlements"};

#define DEFAULT_YEARS 10

/* What is wrong with one value, and where in it (a byte offset). */
typedef struct {
    size_t off;
    char msg[168];
} problem;

static int bad(problem *p, size_t off, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int bad(problem *p, size_t off, const char *fmt, ...)
{
    va_list ap;
    p->off = off;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ---- the holder's values ------------------------------------------------- */

typedef int (*checker)(const char *s, size_t len, ocp_issue_request *req,
                       problem *p);

static int check_name(const char *s, size_t len, ocp_issue_request *req,
                      problem *p)
{
    const char *why;
    size_t at;
    if (len == 0)
        return bad(p, 0, "is empty");
    why = hl_text_problem(s, len, &at);
    if (why != NULL)
        return bad(p, at, "%s", why);
    if (len > OCP_NAME_MAX) {
        at = OCP_NAME_MAX;
        while (at > 0 && ((unsigned char)s[at] & 0xC0u) == 0x80u)
            at--; /* point at the character that does not fit */
        return bad(p, at, "is %zu bytes of UTF-8; the card holds %u", len,
                   OCP_NAME_MAX);
    }
    if (s[0] == ' ')
        return bad(p, 0, "begins with a space");
    if (s[len - 1] == ' ')
        return bad(p, len - 1, "ends with a space");
    memcpy(req->holder.name, s, len);
    req->holder.name[len] = '\0';
    return 0;
}

/* The disability certificate number: the 18-character national id
 * (GB 11643: 17 digits and an ISO 7064 MOD 11-2 check character), then
 * the category and the grade. */
static int check_certificate(const char *s, size_t len,
                             ocp_issue_request *req, problem *p)
{
    static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6,
                                   3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    int sum = 0;
    size_t i;

    if (len != OCP_CERT_NO_LEN)
        return bad(p, 0,
                   "must be 20 characters (18-character national id, "
                   "category digit, grade digit), not %zu",
                   len);
    for (i = 0; i < 17; i++) {
        if (!is_digit(s[i]))
            return bad(p, i, "character %zu must be a digit", i + 1);
        sum += weight[i] * (s[i] - '0');
    }
    if (!is_digit(s[17]) && s[17] != 'X')
        return bad(p, 17, "character 18 must be a digit or X");
    if (s[18] < '1' || s[18] > '7')
        return bad(p, 18, "character 19 is the disability category, 1 to 7");
    if (s[19] < '1' || s[19] > '4')
        return bad(p, 19, "character 20 is the disability grade, 1 to 4");
    if (s[17] != check[sum % 11])
        return bad(p, 17,
                   "the national id's check character is %c; its first 17 "
                   "digits give %c (a digit mistyped?)",
                   s[17], check[sum % 11]);
    memcpy(req->holder.cert_no, s, len);
    req->holder.cert_no[len] = '\0';
    req->holder.category = (uint8_t)(s[18] - '0');
    req->holder.grade = (uint8_t)(s[19] - '0');
    return 0;
}

static int check_district(const char *s, size_t len, ocp_issue_request *req,
                          problem *p)
{
    uint32_t v = 0;
    size_t i;
    if (len != 6)
        return bad(p, 0, "must be a six-digit GB/T 2260 code such as "
                         "\"110105\"");
    for (i = 0; i < 6; i++) {
        if (!is_digit(s[i]))
            return bad(p, i, "must be a six-digit GB/T 2260 code such as "
                             "\"110105\"");
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    if (v < 110000u)
        return bad(p, 0, "%06lu is not a district (110000..999999)",
                   (unsigned long)v);
    req->holder.district = v;
    return 0;
}

static int check_suite(const char *s, size_t len, ocp_issue_request *req,
                       problem *p)
{
    if (len == 3 && (s[0] == 'A' || s[0] == 'a') &&
        (s[1] == 'E' || s[1] == 'e') && (s[2] == 'S' || s[2] == 's'))
        req->suite = OCP_SUITE_AES;
    else if (len == 2 && (s[0] == 'S' || s[0] == 's') &&
             (s[1] == 'M' || s[1] == 'm'))
        req->suite = OCP_SUITE_SM;
    else
        return bad(p, 0, "must be AES or SM");
    return 0;
}

/* Never echoes the PIN. */
static int check_pin(const char *s, size_t len, ocp_issue_request *req,
                     problem *p)
{
    size_t i;
    if (len < OCP_PIN_MIN || len > OCP_PIN_MAX)
        return bad(p, 0, "must be %u to %u digits", OCP_PIN_MIN,
                   OCP_PIN_MAX);
    for (i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return bad(p, i, "must be %u to %u digits", OCP_PIN_MIN,
                       OCP_PIN_MAX);
    memcpy(req->pin, s, len);
    req->pin[len] = '\0';
    return 0;
}

/* ---- validity ------------------------------------------------------------- */

/* The same calendar date `years` later (28 February for 29 February). */
static int add_years(uint16_t day, unsigned years, uint16_t *out)
{
    int y, m, d;
    ocp_date_to_civil(day, &y, &m, &d);
    y += (int)years;
    if (m == 2 && d == 29 && ocp_date_from_civil(y, 2, 29, out) == -1)
        d = 28;
    return ocp_date_from_civil(y, m, d, out);
}

/* Which value of the validity an error is about. */
enum { V_ISSUE, V_EXPIRY, V_YEARS };

static int check_validity(ocp_issue_request *req, int have_expiry,
                          unsigned years, uint16_t today, int *which,
                          problem *p)
{
    char a[11], b[11];
    *which = V_ISSUE;
    if (req->issue_date < 1)
        return bad(p, 0, "the issue date must be after 2000-01-01");
    if (!have_expiry) {
        *which = V_YEARS;
        ocp_date_format(req->issue_date, a);
        if (add_years(req->issue_date, years, &req->expiry_date) != 0)
            return bad(p, 0, "%s plus %u years is after 2179-06-06, the "
                             "last day a card can hold",
                       a, years);
    }
    ocp_date_format(req->issue_date, a);
    ocp_date_format(req->expiry_date, b);
    if (req->expiry_date <= req->issue_date) {
        *which = V_EXPIRY;
        return bad(p, 0, "the expiry date %s is not after the issue date %s",
                   b, a);
    }
    if (req->expiry_date <= today) {
        *which = have_expiry ? V_EXPIRY : V_YEARS;
        ocp_date_format(today, a);
        return bad(p, 0, "the card would have expired on %s (today is %s)",
                   b, a);
    }
    return 0;
}

/* ---- entitlements --------------------------------------------------------- */

enum { AMT_NONE, AMT_USES, AMT_FEN, AMT_ANY };
/* Which part of an entitlement an error is about. */
enum { P_SERVICE, P_FROM, P_TO, P_AMOUNT };

typedef struct {
    uint16_t code;
    int amount_kind; /* AMT_*: which key gave the amount (CSV: any) */
    long long amount;
    int has_from, has_to;
    uint16_t from, to;
    int pin; /* -1: as the catalogue says */
} ent_spec;

static int add_entitlement(const ocp_catalogue *cat, ocp_issue_request *req,
                           ocp_entitlement *ents, const ent_spec *sp,
                           int *part, problem *p)
{
    const ocp_service *svc;
    ocp_entitlement *e;
    long long n;
    size_t i;
    char a[11], b[11];

    *part = P_SERVICE;
    if (req->n_entitlements == OCP_HOLDER_MAX_ENTITLEMENTS)
        return bad(p, 0, "more than %d entitlements; a card holds %d",
                   OCP_HOLDER_MAX_ENTITLEMENTS, OCP_HOLDER_MAX_ENTITLEMENTS);
    svc = ocp_catalogue_find(cat, sp->code);
    if (svc == NULL)
        return bad(p, 0, "service 0x%04X is not in the catalogue",
                   (unsigned)sp->code);
    for (i = 0; i < req->n_entitlements; i++)
        if (ents[i].service == sp->code)
            return bad(p, 0,
                       "service 0x%04X is granted twice (also entitlement "
                       "%zu)",
                       (unsigned)sp->code, i + 1);

    e = &ents[req->n_entitlements];
    memset(e, 0, sizeof *e);
    e->service = svc->code;
    e->domain = svc->domain;
    e->kind = svc->kind;

    *part = P_AMOUNT;
    if (svc->kind == OCP_KIND_PASS) {
        if (sp->amount_kind != AMT_NONE)
            return bad(p, 0, "0x%04X (%.60s) is a pass: it takes no amount",
                       (unsigned)svc->code, svc->name_en);
    } else if (svc->kind == OCP_KIND_COUNTER) {
        if (sp->amount_kind == AMT_FEN)
            return bad(p, 0, "0x%04X (%.60s) is a counter: give uses, not "
                             "balance_fen",
                       (unsigned)svc->code, svc->name_en);
        n = sp->amount_kind == AMT_NONE ? (long long)svc->default_uses
                                        : sp->amount;
        if (n < 1 || n > (long long)HL_USES_MAX)
            return bad(p, 0, "uses must be 1..%u, not %lld", HL_USES_MAX, n);
        e->period = svc->period;
        e->limit = (uint32_t)n;
        e->remaining = (uint32_t)n;
    } else {
        if (sp->amount_kind == AMT_USES)
            return bad(p, 0, "0x%04X (%.60s) is a balance: give balance_fen, "
                             "not uses",
                       (unsigned)svc->code, svc->name_en);
        n = sp->amount_kind == AMT_NONE ? (long long)svc->default_fen
                                        : sp->amount;
        if (n < 1 || n > (long long)HL_FEN_MAX)
            return bad(p, 0,
                       "a balance must be 1..%u fen (100 000 yuan), not %lld",
                       HL_FEN_MAX, n);
        e->remaining = (uint32_t)n;
    }

    e->valid_from = sp->has_from ? sp->from : req->issue_date;
    e->valid_to = sp->has_to ? sp->to : req->expiry_date;
    ocp_date_format(e->valid_from, a);
    ocp_date_format(e->valid_to, b);
    if (e->valid_from < req->issue_date) {
        *part = P_FROM;
        ocp_date_format(req->issue_date, b);
        return bad(p, 0, "starts %s, before the card's issue date %s", a, b);
    }
    if (e->valid_to > req->expiry_date) {
        *part = P_TO;
        ocp_date_format(req->expiry_date, a);
        return bad(p, 0, "ends %s, after the card's expiry date %s", b, a);
    }
    if (e->valid_from > e->valid_to) {
        *part = sp->has_to ? P_TO : P_FROM;
        return bad(p, 0, "ends %s, before it starts (%s)", b, a);
    }
    if (sp->pin >= 0 ? sp->pin : svc->pin_required)
        e->flags = OCP_ENT_FLAG_PIN;
    req->n_entitlements++;
    return 0;
}

static void clear(ocp_issue_request *req, ocp_entitlement *ents)
{
    OPENSSL_cleanse(req, sizeof *req);
    memset(ents, 0, OCP_HOLDER_MAX_ENTITLEMENTS * sizeof *ents);
    req->entitlements = ents;
}

/* ---- JSON ----------------------------------------------------------------- */

/* Reads member `idx` named `key` as a string and checks it. */
static int json_text(hl_json *j, const json_t *v, int idx, const char *key,
                     checker check, ocp_issue_request *req)
{
    const char *s;
    size_t len;
    problem p;
    int rc;
    hl_json_push(j, idx, key);
    rc = hl_json_string(j, v, &s, &len);
    if (rc == 0 && check(s, len, req, &p) != 0)
        rc = hl_json_fail(j, 0, p.off, "%s", p.msg);
    hl_json_pop(j);
    return rc;
}

static int json_date(hl_json *j, const json_t *v, int idx, const char *key,
                     uint16_t *day)
{
    const char *s;
    size_t len;
    int rc;
    hl_json_push(j, idx, key);
    rc = hl_json_string(j, v, &s, &len);
    if (rc == 0) {
        rc = len == 10 ? ocp_date_parse(s, day) : -1;
        if (rc == -1)
            rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                              "\"%.24s\" is not a date written YYYY-MM-DD",
                              s);
        else if (rc == -2)
            rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                              "%s is outside 2000-01-01..2179-06-06, the "
                              "days a card can hold",
                              s);
    }
    hl_json_pop(j);
    return rc;
}

enum { E_SERVICE, E_FROM, E_TO, E_USES, E_FEN, E_PIN, E_COUNT };

static int json_entitlement(hl_json *j, json_t *obj, const ocp_catalogue *cat,
                            ocp_issue_request *req, ocp_entitlement *ents)
{
    static const char *const keys[E_COUNT] = {
        "service", "from", "to", "uses", "balance_fen", "pin_required"};
    json_t *v[E_COUNT];
    int idx[E_COUNT], part, at, rc = 0;
    ent_spec sp;
    problem p;

    if (req->n_entitlements == OCP_HOLDER_MAX_ENTITLEMENTS)
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "more than %d entitlements; a card holds %d",
                            OCP_HOLDER_MAX_ENTITLEMENTS,
                            OCP_HOLDER_MAX_ENTITLEMENTS);
    if (!json_is_object(obj))
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "an entitlement is an object such as "
                            "{\"service\": \"0x0101\"}");
    if (hl_json_members(j, obj, keys, E_COUNT, v, idx) != 0)
        return -1;
    if (v[E_SERVICE] == NULL)
        return hl_json_fail(j, 0, HL_NO_OFFSET, "missing \"service\"");
    memset(&sp, 0, sizeof sp);
    sp.pin = -1;
    hl_json_push(j, idx[E_SERVICE], keys[E_SERVICE]);
    rc = hl_json_code(j, v[E_SERVICE], &sp.code);
    hl_json_pop(j);
    if (rc == 0 && v[E_FROM] != NULL) {
        sp.has_from = 1;
        rc = json_date(j, v[E_FROM], idx[E_FROM], keys[E_FROM], &sp.from);
    }
    if (rc == 0 && v[E_TO] != NULL) {
        sp.has_to = 1;
        rc = json_date(j, v[E_TO], idx[E_TO], keys[E_TO], &sp.to);
    }
    if (rc == 0 && v[E_USES] != NULL && v[E_FEN] != NULL) {
        hl_json_push(j, idx[E_FEN], keys[E_FEN]);
        rc = hl_json_fail(j, 1, HL_NO_OFFSET,
                          "give uses or balance_fen, not both");
        hl_json_pop(j);
    }
    at = v[E_USES] != NULL ? E_USES : E_FEN;
    if (rc == 0 && v[at] != NULL) {
        hl_json_push(j, idx[at], keys[at]);
        if (!json_is_integer(v[at]))
            rc = hl_json_fail(j, 0, HL_NO_OFFSET,
                              "must be a whole number");
        hl_json_pop(j);
        sp.amount_kind = at == E_USES ? AMT_USES : AMT_FEN;
        sp.amount = (long long)json_integer_value(v[at]);
    }
    if (rc == 0 && v[E_PIN] != NULL) {
        hl_json_push(j, idx[E_PIN], keys[E_PIN]);
        rc = hl_json_bool(j, v[E_PIN], &sp.pin);
        hl_json_pop(j);
    }
    if (rc != 0)
        return -1;
    if (add_entitlement(cat, req, ents, &sp, &part, &p) == 0)
        return 0;
    at = part == P_FROM ? E_FROM : part == P_TO ? E_TO
         : part == P_AMOUNT ? at : E_SERVICE;
    if (v[at] == NULL)
        return hl_json_fail(j, 0, HL_NO_OFFSET, "%s", p.msg);
    hl_json_push(j, idx[at], keys[at]);
    hl_json_fail(j, 0, HL_NO_OFFSET, "%s", p.msg);
    hl_json_pop(j);
    return -1;
}

enum {
    H_NAME,
    H_CERT,
    H_DISTRICT,
    H_SUITE,
    H_PIN,
    H_ISSUE,
    H_EXPIRY,
    H_YEARS,
    H_ENTS,
    H_COUNT
};

static int json_holder(hl_json *j, json_t *root, const ocp_catalogue *cat,
                       uint16_t today, ocp_issue_request *req,
                       ocp_entitlement *ents)
{
    static const char *const keys[H_COUNT] = {
        "name",       "certificate", "district",    "suite",
        "pin",        "issue_date",  "expiry_date", "valid_years",
        "entitlements"};
    static const checker checks[H_PIN + 1] = {
        check_name, check_certificate, check_district, check_suite,
        check_pin};
    json_t *v[H_COUNT], *item;
    int idx[H_COUNT], which, at;
    uint32_t years = DEFAULT_YEARS;
    size_t i;
    problem p;

    if (!json_is_object(root))
        return hl_json_fail(j, 0, HL_NO_OFFSET,
                            "a holder file is one JSON object");
    if (hl_json_members(j, root, keys, H_COUNT, v, idx) != 0)
        return -1;
    for (i = H_NAME; i <= H_DISTRICT; i++)
        if (v[i] == NULL)
            return hl_json_fail(j, 0, HL_NO_OFFSET, "missing \"%s\"",
                                keys[i]);
    req->suite = OCP_SUITE_AES;
    for (i = H_NAME; i <= H_PIN; i++)
        if (v[i] != NULL &&
            json_text(j, v[i], idx[i], keys[i], checks[i], req) != 0)
            return -1;

    req->issue_date = today;
    if (v[H_ISSUE] != NULL &&
        json_date(j, v[H_ISSUE], idx[H_ISSUE], keys[H_ISSUE],
                  &req->issue_date) != 0)
        return -1;
    if (v[H_EXPIRY] != NULL && v[H_YEARS] != NULL) {
        at = idx[H_EXPIRY] > idx[H_YEARS] ? H_EXPIRY : H_YEARS;
        hl_json_push(j, idx[at], keys[at]);
        hl_json_fail(j, 1, HL_NO_OFFSET,
                     "give expiry_date or valid_years, not both");
        hl_json_pop(j);
        return -1;
    }
    if (v[H_EXPIRY] != NULL &&
        json_date(j, v[H_EXPIRY], idx[H_EXPIRY], keys[H_EXPIRY],
                  &req->expiry_date) != 0)
        return -1;
    if (v[H_YEARS] != NULL) {
        hl_json_push(j, idx[H_YEARS], keys[H_YEARS]);
        at = hl_json_uint(j, v[H_YEARS], 1, 20, &years);
        hl_json_pop(j);
        if (at != 0)
            return -1;
    }
    if (check_validity(req, v[H_EXPIRY] != NULL, years, today, &which,
                       &p) != 0) {
        at = which == V_ISSUE ? H_ISSUE : which == V_EXPIRY ? H_EXPIRY
                                                            : H_YEARS;
        if (v[at] == NULL)
            return hl_json_fail(j, 0, HL_NO_OFFSET, "%s", p.msg);
        hl_json_push(j, idx[at], keys[at]);
        hl_json_fail(j, 0, HL_NO_OFFSET, "%s", p.msg);
        hl_json_pop(j);
        return -1;
    }

    if (v[H_ENTS] == NULL)
        return 0;
    hl_json_push(j, idx[H_ENTS], keys[H_ENTS]);
    if (!json_is_array(v[H_ENTS])) {
        hl_json_fail(j, 0, HL_NO_OFFSET,
                     "must be an array of entitlements");
        hl_json_pop(j);
        return -1;
    }
    json_array_foreach(v[H_ENTS], i, item) {
        int rc;
        hl_json_push(j, (int)i, NULL);
        rc = json_entitlement(j, item, cat, req, ents);
        hl_json_pop(j);
        if (rc != 0) {
            hl_json_pop(j);
            return -1;
        }
    }
    hl_json_pop(j);
    return 0;
}

/* jansson frees strings without wiping them; the PIN is wiped here. */
static void wipe_pin(json_t *root)
{
    json_t *pin = json_object_get(root, "pin");
    if (json_is_string(pin))
        OPENSSL_cleanse((char *)(uintptr_t)json_string_value(pin),
                        json_string_length(pin));
}

ocp_status ocp_holder_json_parse(const char *text, size_t len,
                                 const ocp_catalogue *cat, uint16_t today,
                                 ocp_issue_request *req,
                                 ocp_entitlement ents[16],
                                 ocp_parse_error *err)
{
    hl_json j;
    json_t *root;
    ocp_status st;

    if (req == NULL || ents == NULL || text == NULL || cat == NULL) {
        if (req != NULL && ents != NULL)
            clear(req, ents);
        hl_error(err, 0, 0, "no text, catalogue or request");
        return OCP_E_ARGS;
    }
    clear(req, ents);
    st = hl_json_load(&j, text, len, err, &root);
    if (st != OCP_OK)
        return st;
    if (json_holder(&j, root, cat, today, req, ents) != 0) {
        clear(req, ents);
        st = OCP_E_ARGS;
    }
    wipe_pin(root);
    json_decref(root);
    return st;
}

ocp_status ocp_holder_file_load(const char *path, const ocp_catalogue *cat,
                                uint16_t today, ocp_issue_request *req,
                                ocp_entitlement ents[16],
                                ocp_parse_error *err)
{
    char *text;
    size_t len;
    ocp_status st;

    if (path == NULL || req == NULL || ents == NULL) {
        if (req != NULL && ents != NULL)
            clear(req, ents);
        hl_error(err, 0, 0, "no path or no request");
        return OCP_E_ARGS;
    }
    clear(req, ents);
    st = hl_read_file(path, HL_HOLDER_FILE_MAX, &text, &len, err);
    if (st != OCP_OK)
        return st;
    st = ocp_holder_json_parse(text, len, cat, today, req, ents, err);
    OPENSSL_cleanse(text, len);
    free(text);
    return st;
}

/* ---- CSV cells ------------------------------------------------------------ */

/* Blanks around the parts of a list, line breaks included: a spreadsheet
 * cell may hold one entitlement per line. */
static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* "SERVICE[:AMOUNT];..." with blanks allowed around the parts. */
static int cell_entitlements(const char *s, size_t len,
                             const ocp_catalogue *cat, ocp_issue_request *req,
                             ocp_entitlement *ents, problem *p)
{
    size_t i = 0;
    while (i <= len) {
        size_t start, end, colon, a, b;
        ent_spec sp;
        int part;

        for (end = i; end < len && s[end] != ';'; end++)
            continue;
        start = i;
        while (start < end && blank(s[start]))
            start++;
        b = end;
        while (b > start && blank(s[b - 1]))
            b--;
        if (start == b)
            return bad(p, start, "an empty entry in the list (\";;\" or a "
                                 "\";\" at the end?)");
        for (colon = start; colon < b && s[colon] != ':'; colon++)
            continue;
        memset(&sp, 0, sizeof sp);
        sp.pin = -1;
        a = colon;
        while (a > start && blank(s[a - 1]))
            a--;
        sp.code = hl_parse_code(s + start, a - start);
        if (sp.code == 0)
            return bad(p, start, "\"%.*s\" is not a service code such as "
                                 "0x0101 or 257",
                       (int)(a - start > 24 ? 24 : a - start), s + start);
        if (colon < b) {
            size_t k;
            unsigned long long v = 0;
            a = colon + 1;
            while (a < b && blank(s[a]))
                a++;
            if (a == b)
                return bad(p, colon, "an amount must follow the ':'");
            for (k = a; k < b; k++) {
                if (!is_digit(s[k]))
                    return bad(p, a, "the amount must be a whole number "
                                     "(uses, or fen for a balance)");
                v = v * 10u + (unsigned)(s[k] - '0');
                if (v > 0xFFFFFFFFull)
                    return bad(p, a, "the amount %.*s is far too large",
                               (int)(b - a > 24 ? 24 : b - a), s + a);
            }
            sp.amount_kind = AMT_ANY;
            sp.amount = (long long)v;
        }
        if (add_entitlement(cat, req, ents, &sp, &part, p) != 0) {
            p->off = part == P_AMOUNT && colon < b ? a : start;
            return -1;
        }
        i = end + 1;
    }
    return 0;
}

static ocp_status cell_error(int f, const problem *p, int *field,
                             size_t *offset, char *msg, size_t cap)
{
    *field = f;
    *offset = p->off;
    snprintf(msg, cap, "%s: %s", hl_field_names[f], p->msg);
    return OCP_E_ARGS;
}

static ocp_status from_fields(const char *const cells[HL_F_COUNT],
                              const size_t lens[HL_F_COUNT],
                              const ocp_catalogue *cat, uint16_t today,
                              ocp_issue_request *req, ocp_entitlement *ents,
                              int *field, size_t *offset, char *msg,
                              size_t cap)
{
    static const checker checks[HL_F_PIN + 1] = {
        check_name, check_certificate, check_district, check_suite,
        check_pin};
    const char *s;
    unsigned years = DEFAULT_YEARS;
    problem p;
    size_t len, k;
    int f, which;

    req->suite = OCP_SUITE_AES;
    req->issue_date = today;
    for (f = HL_F_NAME; f <= HL_F_PIN; f++) {
        len = cells[f] != NULL ? lens[f] : 0;
        if (len == 0 && f <= HL_F_DISTRICT)
            bad(&p, 0, "is required");
        if ((len == 0 && f <= HL_F_DISTRICT) ||
            (len > 0 && checks[f](cells[f], len, req, &p) != 0))
            return cell_error(f, &p, field, offset, msg, cap);
    }

    s = cells[HL_F_VALID_YEARS];
    len = s != NULL ? lens[HL_F_VALID_YEARS] : 0;
    if (len > 0) {
        years = 0;
        for (k = 0; k < len && is_digit(s[k]) && years <= 20; k++)
            years = years * 10u + (unsigned)(s[k] - '0');
        if (k < len || years < 1 || years > 20) {
            bad(&p, 0, "must be a whole number of years, 1 to 20");
            return cell_error(HL_F_VALID_YEARS, &p, field, offset, msg, cap);
        }
    }
    if (check_validity(req, 0, years, today, &which, &p) != 0)
        return cell_error(HL_F_VALID_YEARS, &p, field, offset, msg, cap);

    s = cells[HL_F_ENTITLEMENTS];
    len = s != NULL ? lens[HL_F_ENTITLEMENTS] : 0;
    if (len > 0 && cell_entitlements(s, len, cat, req, ents, &p) != 0)
        return cell_error(HL_F_ENTITLEMENTS, &p, field, offset, msg, cap);
    return OCP_OK;
}

ocp_status hl_holder_from_fields(const char *const cells[HL_F_COUNT],
                                 const size_t lens[HL_F_COUNT],
                                 const ocp_catalogue *cat, uint16_t today,
                                 ocp_issue_request *req,
                                 ocp_entitlement *ents, int *field,
                                 size_t *offset, char *msg, size_t cap)
{
    ocp_status st;
    clear(req, ents);
    st = from_fields(cells, lens, cat, today, req, ents, field, offset, msg,
                     cap);
    if (st != OCP_OK)
        clear(req, ents);
    return st;
}
