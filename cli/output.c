/* Output of the ocp command; see output.h. */
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocp/holder.h"
#include "ocp/wire.h"

json_t *out_hex(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    size_t i;
    if (n > 64)
        n = 64;
    for (i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02X", p[i]);
    buf[2 * n] = '\0';
    return json_string(buf);
}

json_t *out_date(uint16_t day)
{
    char buf[11];
    ocp_date_format(day, buf);
    return json_string(buf);
}

json_t *out_datetime(uint32_t minutes)
{
    char buf[32];
    uint32_t day = minutes / 1440u, min = minutes % 1440u;
    ocp_date_format(day > 0xFFFFu ? 0xFFFFu : (uint16_t)day, buf);
    snprintf(buf + 10, sizeof buf - 10, "T%02u:%02u", min / 60u, min % 60u);
    return json_string(buf);
}

void out_utc(int64_t t, char out[24])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, 24, "-");
        return;
    }
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *out_time(int64_t t)
{
    char buf[24];
    if (t == 0)
        return json_null();
    out_utc(t, buf);
    return json_string(buf);
}

const char *out_state_name(uint8_t s)
{
    static const char *const n[] = {"blank", "personalised", "active",
                                    "blocked", "terminated"};
    return s <= OCP_STATE_TERMINATED ? n[s] : "unknown";
}

const char *out_suite_name(uint8_t s)
{
    return s == OCP_SUITE_AES ? "AES" : s == OCP_SUITE_SM ? "SM" : "none";
}

const char *out_kind_name(uint8_t k)
{
    return k == OCP_KIND_PASS      ? "pass"
           : k == OCP_KIND_COUNTER ? "counter"
           : k == OCP_KIND_BALANCE ? "balance"
                                   : "unknown";
}

const char *out_period_name(uint8_t p)
{
    return p == OCP_PERIOD_MONTH ? "month"
           : p == OCP_PERIOD_YEAR ? "year"
                                  : "none";
}

const char *out_category_name(uint8_t c)
{
    static const char *const n[] = {"?",        "visual",       "hearing",
                                    "speech",   "physical",     "intellectual",
                                    "psychosocial", "multiple"};
    return c >= 1 && c <= 7 ? n[c] : "?";
}

static const char *role_name(uint8_t r)
{
    static const char *const n[] = {"?",       "issuer",    "transit",
                                    "medical", "rehab",     "assistive",
                                    "subsidy", "venue",     "kiosk"};
    return r <= 8 ? n[r] : "?";
}

json_t *out_holder(const ocp_holder *h)
{
    json_t *o = json_object();
    if (h->name[0])
        json_object_set_new(o, "name", json_string(h->name));
    if (h->cert_no[0])
        json_object_set_new(o, "certificate", json_string(h->cert_no));
    if (h->category) {
        json_object_set_new(o, "category", json_integer(h->category));
        json_object_set_new(o, "category_name",
                            json_string(out_category_name(h->category)));
    }
    if (h->grade)
        json_object_set_new(o, "grade", json_integer(h->grade));
    if (h->district) {
        char d[16];
        snprintf(d, sizeof d, "%06u", (unsigned)h->district);
        json_object_set_new(o, "district", json_string(d));
    }
    return o;
}

json_t *out_entitlement(const ocp_entitlement *e)
{
    char code[8];
    json_t *o = json_object();
    snprintf(code, sizeof code, "0x%04X", e->service);
    json_object_set_new(o, "slot", json_integer(e->slot));
    json_object_set_new(o, "service", json_string(code));
    json_object_set_new(o, "domain", json_string(role_name(e->domain)));
    json_object_set_new(o, "kind", json_string(out_kind_name(e->kind)));
    json_object_set_new(o, "pin_required",
                        json_boolean(e->flags & OCP_ENT_FLAG_PIN));
    json_object_set_new(o, "valid_from", out_date(e->valid_from));
    json_object_set_new(o, "valid_to", out_date(e->valid_to));
    if (e->kind == OCP_KIND_COUNTER) {
        json_object_set_new(o, "period",
                            json_string(out_period_name(e->period)));
        json_object_set_new(o, "limit", json_integer(e->limit));
        json_object_set_new(o, "remaining", json_integer(e->remaining));
    } else if (e->kind == OCP_KIND_BALANCE) {
        json_object_set_new(o, "balance_fen", json_integer(e->remaining));
    }
    return o;
}

json_t *out_log(const ocp_log_record *l)
{
    char code[8], term[12];
    json_t *o = json_object();
    snprintf(code, sizeof code, "0x%04X", l->service);
    snprintf(term, sizeof term, "0x%08X", l->terminal_id);
    json_object_set_new(o, "counter", json_integer(l->counter));
    json_object_set_new(o, "time", out_datetime(l->datetime));
    json_object_set_new(o, "terminal", json_string(term));
    json_object_set_new(o, "service", json_string(code));
    json_object_set_new(o, "domain", json_string(role_name(l->domain)));
    json_object_set_new(o, "amount", json_integer(l->amount));
    json_object_set_new(o, "remaining", json_integer(l->remaining));
    json_object_set_new(o, "flags", json_integer(l->flags));
    return o;
}

json_t *out_tx(const ocp_tx_result *tx)
{
    json_t *o = json_object();
    json_object_set_new(o, "counter", json_integer(tx->counter));
    json_object_set_new(o, "remaining", json_integer(tx->remaining));
    json_object_set_new(o, "repeat",
                        json_boolean(tx->flags & OCP_TXF_REPEAT));
    json_object_set_new(o, "flags", json_integer(tx->flags & 0x7F));
    json_object_set_new(o, "certificate", out_hex(tx->cert, 8));
    return o;
}

void out_print(int json, json_t *v, void (*text)(json_t *v))
{
    if (json || text == NULL) {
        char *s = json_dumps(v, JSON_COMPACT);
        if (s) {
            puts(s);
            free(s);
        }
    } else {
        text(v);
    }
    json_decref(v);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

void out_text_entitlement(json_t *e)
{
    const char *kind = str(e, "kind");
    printf("  %s  %-9s %-8s %s..%s", str(e, "service"), str(e, "domain"),
           kind, str(e, "valid_from"), str(e, "valid_to"));
    if (strcmp(kind, "counter") == 0)
        printf("  %lld of %lld left (per %s)",
               json_integer_value(json_object_get(e, "remaining")),
               json_integer_value(json_object_get(e, "limit")),
               str(e, "period"));
    else if (strcmp(kind, "balance") == 0) {
        long long fen = json_integer_value(json_object_get(e, "balance_fen"));
        printf("  %lld.%02lld yuan", fen / 100, fen % 100);
    }
    if (json_is_true(json_object_get(e, "pin_required")))
        printf("  (PIN)");
    putchar('\n');
}

void out_text_log(json_t *l)
{
    printf("  #%lld  %s  %s  %s  terminal %s  amount %lld  remaining %lld\n",
           json_integer_value(json_object_get(l, "counter")), str(l, "time"),
           str(l, "domain"), str(l, "service"), str(l, "terminal"),
           json_integer_value(json_object_get(l, "amount")),
           json_integer_value(json_object_get(l, "remaining")));
}

void out_text_holder(json_t *h)
{
    if (json_object_get(h, "name"))
        printf("name         %s\n", str(h, "name"));
    if (json_object_get(h, "certificate"))
        printf("certificate  %s\n", str(h, "certificate"));
    if (json_object_get(h, "category"))
        printf("category     %lld (%s), grade %lld\n",
               json_integer_value(json_object_get(h, "category")),
               str(h, "category_name"),
               json_integer_value(json_object_get(h, "grade")));
    if (json_object_get(h, "district"))
        printf("district     %s\n", str(h, "district"));
}
