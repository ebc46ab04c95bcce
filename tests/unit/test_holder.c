/*
 * Unit tests for the desk's input files (docs/HOLDERS.md): the service
 * catalogue (hostlib/src/catalogue.c), the holder JSON
 * (hostlib/src/holder_file.c), the batch CSV (hostlib/src/batch_csv.c)
 * and the civil-date helpers (hostlib/src/date.c).
 *
 * One table per parser: input, expected status, and for an error the line,
 * the column (in characters) and a fragment of the message.  The expected
 * positions were written by marking the spot in each input by hand; the
 * loops only run the tables and name every case that fails.  The sample
 * files of docs/ and tests/unit/data/ are loaded as a desk would load them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ocp/holder.h"
#include "ocp/wire.h"

#ifndef OCP_TEST_DATA
#error "OCP_TEST_DATA must name tests/unit/data"
#endif
#ifndef OCP_DOCS
#error "OCP_DOCS must name docs/"
#endif

struct parse_case {
    const char *title;
    const char *text;
    ocp_status status;
    int line, column;     /* expected position of an error */
    const char *fragment; /* expected in the message; NULL: not checked */
};

/* 2024-03-15, the day the tables' desk issues on. */
#define TODAY 8840

/* The catalogue of the holder and CSV tables: sixteen passes 0x0101..0x0110
 * (so seventeen distinct services exist), a counter and a balance. */
static ocp_catalogue *test_catalogue(void)
{
    static char text[4096];
    ocp_catalogue *cat = NULL;
    ocp_parse_error err;
    size_t used;
    int i;

    used = (size_t)snprintf(
        text, sizeof text,
        "{\"format\": 1, \"categories\": ["
        "{\"id\": 1, \"name_zh\": \"交通出行\", \"name_en\": \"Transport\"},"
        "{\"id\": 2, \"name_zh\": \"医疗保障\", \"name_en\": \"Medical\"},"
        "{\"id\": 4, \"name_zh\": \"辅助器具\", \"name_en\": \"Devices\"}],"
        "\"services\": [");
    for (i = 1; i <= 16; i++)
        used += (size_t)snprintf(
            text + used, sizeof text - used,
            "{\"code\": %d, \"name_zh\": \"公交%d\", \"name_en\": \"%s\","
            " \"domain\": \"transit\", \"kind\": \"pass\"},",
            0x0100 + i, i, i == 1 ? "Free bus" : "Another pass");
    snprintf(text + used, sizeof text - used,
             "{\"code\": \"0x0201\", \"name_zh\": \"精神科药物\","
             " \"name_en\": \"Medication\", \"domain\": \"medical\","
             " \"kind\": \"counter\", \"period\": \"month\", \"uses\": 2,"
             " \"pin_required\": true},"
             "{\"code\": \"0x0401\", \"name_zh\": \"助听器\","
             " \"name_en\": \"Hearing aid\", \"domain\": \"assistive\","
             " \"kind\": \"balance\", \"amount_fen\": 600000,"
             " \"pin_required\": true}]}");
    if (ocp_catalogue_parse(text, strlen(text), &cat, &err) != OCP_OK)
        fail_msg("test catalogue: %d:%d: %s", err.line, err.column,
                 err.message);
    return cat;
}

/* Compares one outcome with its case; prints and counts a mismatch. */
static int check_case(const char *table, const struct parse_case *c,
                      ocp_status st, const ocp_parse_error *err)
{
    int ok = st == c->status;
    if (st != OCP_OK && ok) {
        ok = err->line == c->line && err->column == c->column &&
             (c->fragment == NULL || strstr(err->message, c->fragment));
        if (c->line > 0 && (err->line < 1 || err->column < 1))
            ok = 0;
    }
    if (!ok)
        print_error("%s \"%s\": expected %d at %d:%d \"%s\", got %d at "
                    "%d:%d \"%s\"\n",
                    table, c->title, (int)c->status, c->line, c->column,
                    c->fragment ? c->fragment : "", (int)st, err->line,
                    err->column, st != OCP_OK ? err->message : "");
    return ok ? 0 : 1;
}

/* Generated from the marked inputs; see the comment above. */
static const struct parse_case holder_cases[] = {
    {"minimal",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\"}",
     OCP_OK, 0, 0, NULL},
    {"everything",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"suite\": \"SM\", \"pin\": \"00"
        "42\", \"issue_date\": \"2024-03-01\", \"expiry_date\": \"203"
        "0-12-31\", \"entitlements\": [{\"service\": \"0x0101\"}, {\""
        "service\": 513, \"uses\": 4, \"pin_required\": false}, {\"se"
        "rvice\": \"0x0401\", \"balance_fen\": 1, \"from\": \"2024-04"
        "-01\", \"to\": \"2024-04-30\"}]}",
     OCP_OK, 0, 0, NULL},
    {"syntax: trailing comma",
     "{\"name\": \"x\",\n"
        "  \"district\": \"110105\",\n"
        "}",
     OCP_E_ARGS, 3, 1, "string or '}' expected"},
    {"syntax: duplicate key",
     "{\"name\": \"x\", \"name\": \"y\"}",
     OCP_E_ARGS, 1, 20, "duplicate object key"},
    {"syntax: not UTF-8 (jansson points before the byte)",
     "{\"name\": \"\377\"}",
     OCP_E_ARGS, 1, 10, "unable to decode byte 0xff"},
    {"syntax: empty",
     "",
     OCP_E_ARGS, 1, 1, "'[' or '{' expected"},
    {"not an object",
     "  [\"x\"]",
     OCP_E_ARGS, 1, 3, "one JSON object"},
    {"unknown key",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"nmae\": \"x\"}",
     OCP_E_ARGS, 1, 77, "nmae: unknown key (expected name, certificate"},
    {"missing certificate",
     "\n"
        "  {\"name\": \"x\", \"district\": \"110105\"}",
     OCP_E_ARGS, 2, 3, "missing \"certificate\""},
    {"name a number",
     "{\"name\": 42, \"certificate\": \"11010519491231002X41\", \""
        "district\": \"110105\"}",
     OCP_E_ARGS, 1, 10, "name: must be a string, not an integer"},
    {"name empty",
     "{\"name\": \"\", \"certificate\": \"11010519491231002X41\", "
        "\"district\": \"110105\"}",
     OCP_E_ARGS, 1, 11, "name: is empty"},
    {"name 49 bytes",
     "{\"name\": \"一二三四五六七八九十一二三四五六x\", \"certificate\": \"1101051"
        "9491231002X41\", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 27, "is 49 bytes of UTF-8; the card holds 48"},
    {"name 48 bytes",
     "{\"name\": \"一二三四五六七八九十一二三四五六\", \"certificate\": \"11010519"
        "491231002X41\", \"district\": \"110105\"}",
     OCP_OK, 0, 0, NULL},
    {"name tab",
     "{\"name\": \"张\\t三\", \"certificate\": \"11010519491231002X4"
        "1\", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 12, "name: has a control character"},
    {"name C1 control",
     "{\"name\": \"ab\\u0085\", \"certificate\": \"110105194912310"
        "02X41\", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 13, "name: has a control character"},
    {"name escaped, then tab",
     "{\"name\": \"\\u5f20\\ud83d\\ude00\\u0009\", \"certificate\""
        ": \"11010519491231002X41\", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 29, "control character"},
    {"name leading space",
     "{\"name\": \" 张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 11, "begins with a space"},
    {"certificate short",
     "{\"name\": \"张三\", \"certificate\": \"1101051949123100241\","
        " \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 32, "certificate: must be 20 characters"},
    {"certificate letter",
     "{\"name\": \"张三\", \"certificate\": \"1101A519491231002X41\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 36, "character 5 must be a digit"},
    {"certificate lower-case x",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002x41\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 49, "character 18 must be a digit or X"},
    {"certificate category 8",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X81\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 50, "category, 1 to 7"},
    {"certificate category 0",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X01\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 50, "category, 1 to 7"},
    {"certificate grade 5",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X45\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 51, "grade, 1 to 4"},
    {"certificate check character",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002141\""
        ", \"district\": \"110105\"}",
     OCP_E_ARGS, 1, 49, "check character is 1; its first 17 digits give X"},
    {"district short",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"11010\"}",
     OCP_E_ARGS, 1, 68, "district: must be a six-digit"},
    {"district letter",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"1101O5\"}",
     OCP_E_ARGS, 1, 72, "six-digit"},
    {"district too low",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"010105\"}",
     OCP_E_ARGS, 1, 68, "010105 is not a district"},
    {"district a number",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": 110105}",
     OCP_E_ARGS, 1, 67, "district: must be a string, not an integer"},
    {"suite unknown",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"suite\": \"RSA\"}",
     OCP_E_ARGS, 1, 87, "suite: must be AES or SM"},
    {"pin letters",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"pin\": \"12a4\"}",
     OCP_E_ARGS, 1, 87, "pin: must be 4 to 8 digits"},
    {"pin short",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"pin\": \"123\"}",
     OCP_E_ARGS, 1, 85, "pin: must be 4 to 8 digits"},
    {"pin long",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"pin\": \"123456789\"}",
     OCP_E_ARGS, 1, 85, "pin: must be 4 to 8 digits"},
    {"pin a number",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"pin\": 1234}",
     OCP_E_ARGS, 1, 84, "pin: must be a string"},
    {"issue date 30 February",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"2024-02-30\"}",
     OCP_E_ARGS, 1, 91, "issue_date: \"2024-02-30\" is not a date"},
    {"issue date short form",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"2024-3-1\"}",
     OCP_E_ARGS, 1, 91, "is not a date written YYYY-MM-DD"},
    {"issue date 1999",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"1999-12-31\"}",
     OCP_E_ARGS, 1, 91, "outside 2000-01-01..2179-06-06"},
    {"issue date 2000-01-01",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"2000-01-01\"}",
     OCP_E_ARGS, 1, 91, "issue date must be after 2000-01-01"},
    {"expiry 2179-06-07",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"expiry_date\": \"2179-06-07\"}",
     OCP_E_ARGS, 1, 92, "outside 2000-01-01..2179-06-06"},
    {"expiry 2179-06-06",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"expiry_date\": \"2179-06-06\"}",
     OCP_OK, 0, 0, NULL},
    {"expiry equals issue",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"2024-03-15\", "
        "\"expiry_date\": \"2024-03-15\"}",
     OCP_E_ARGS, 1, 120, "expiry date 2024-03-15 is not after the issue date 2024-03-1"
        "5"},
    {"expiry and years",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"expiry_date\": \"2030-01-01\","
        "\n"
        "  \"valid_years\": 5}",
     OCP_E_ARGS, 2, 3, "give expiry_date or valid_years, not both"},
    {"years 21",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"valid_years\": 21}",
     OCP_E_ARGS, 1, 92, "valid_years: 21 is out of range 1..20"},
    {"years 0",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"valid_years\": 0}",
     OCP_E_ARGS, 1, 92, "out of range 1..20"},
    {"years a string",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"valid_years\": \"10\"}",
     OCP_E_ARGS, 1, 92, "valid_years: must be an integer"},
    {"years past 2179",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"2170-01-01\", "
        "\"valid_years\": 10}",
     OCP_E_ARGS, 1, 120, "2170-01-01 plus 10 years is after 2179-06-06"},
    {"already expired",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"issue_date\": \"2010-01-01\", "
        "\"valid_years\": 5}",
     OCP_E_ARGS, 1, 120, "would have expired on 2015-01-01"},
    {"entitlements not an array",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": {\"service\": "
        "257}}",
     OCP_E_ARGS, 1, 93, "entitlements: must be an array"},
    {"entitlement not an object",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257}, \"0x0102\"]}",
     OCP_E_ARGS, 1, 112, "entitlements[1]: an entitlement is an object"},
    {"entitlement without service",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [\n"
        "    {\"uses\": 2}]}",
     OCP_E_ARGS, 2, 5, "entitlements[0]: missing \"service\""},
    {"entitlement unknown key",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257, \"pin\": true}]}",
     OCP_E_ARGS, 1, 111, "entitlements[0].pin: unknown key"},
    {"service unknown",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257}, {\"service\": \"0x0999\"}]}",
     OCP_E_ARGS, 1, 124, "entitlements[1].service: service 0x0999 is not in the catalo"
        "gue"},
    {"service not a code",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"bus\"}]}",
     OCP_E_ARGS, 1, 106, "must be a service code"},
    {"service 0",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 0}]}",
     OCP_E_ARGS, 1, 106, "out of range 1..65535"},
    {"service 0x10000",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x10000\"}]}",
     OCP_E_ARGS, 1, 106, "must be a service code"},
    {"service twice",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0101\"},\n"
        "    {\"service\": 257}]}",
     OCP_E_ARGS, 2, 17, "service 0x0101 is granted twice (also entitlement 1)"},
    {"17 entitlements",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257}, {\"service\": 258}, {\"service\": 259}, {\"service\":"
        " 260}, {\"service\": 261}, {\"service\": 262}, {\"service\":"
        " 263}, {\"service\": 264}, {\"service\": 265}, {\"service\":"
        " 266}, {\"service\": 267}, {\"service\": 268}, {\"service\":"
        " 269}, {\"service\": 270}, {\"service\": 271}, {\"service\":"
        " 272}, {\"service\": 513}]}",
     OCP_E_ARGS, 1, 382, "entitlements[16]: more than 16 entitlements"},
    {"16 entitlements",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257}, {\"service\": 258}, {\"service\": 259}, {\"service\":"
        " 260}, {\"service\": 261}, {\"service\": 262}, {\"service\":"
        " 263}, {\"service\": 264}, {\"service\": 265}, {\"service\":"
        " 266}, {\"service\": 267}, {\"service\": 268}, {\"service\":"
        " 269}, {\"service\": 270}, {\"service\": 271}, {\"service\":"
        " 513}]}",
     OCP_OK, 0, 0, NULL},
    {"uses on a pass",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0101\", \"uses\": 3}]}",
     OCP_E_ARGS, 1, 124, "0x0101 (Free bus) is a pass: it takes no amount"},
    {"balance on a counter",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0201\", \"balance_fen\": 3}]}",
     OCP_E_ARGS, 1, 131, "is a counter: give uses, not balance_fen"},
    {"uses on a balance",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0401\", \"uses\": 3}]}",
     OCP_E_ARGS, 1, 124, "is a balance: give balance_fen, not uses"},
    {"uses and balance",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0401\", \"uses\": 3, \"balance_fen\": 5}]}",
     OCP_E_ARGS, 1, 127, "give uses or balance_fen, not both"},
    {"uses 0",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0201\", \"uses\": 0}]}",
     OCP_E_ARGS, 1, 124, "uses must be 1..9999, not 0"},
    {"uses negative",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0201\", \"uses\": -2}]}",
     OCP_E_ARGS, 1, 124, "uses must be 1..9999, not -2"},
    {"uses 10000",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0201\", \"uses\": 10000}]}",
     OCP_E_ARGS, 1, 124, "uses must be 1..9999, not 10000"},
    {"uses 2.5",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0201\", \"uses\": 2.5}]}",
     OCP_E_ARGS, 1, 124, "uses: must be a whole number"},
    {"balance too large",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " \"0x0401\", \"balance_fen\": 10000001}]}",
     OCP_E_ARGS, 1, 131, "a balance must be 1..10000000 fen"},
    {"from not a date",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257, \"from\": \"2024-13-01\"}]}",
     OCP_E_ARGS, 1, 119, "entitlements[0].from: \"2024-13-01\" is not a date"},
    {"from before issue",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257, \"from\": \"2024-03-14\"}]}",
     OCP_E_ARGS, 1, 119, "starts 2024-03-14, before the card's issue date 2024-03-15"},
    {"to after expiry",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"valid_years\": 2, \"entitlemen"
        "ts\": [{\"service\": 257, \"to\": \"2026-03-16\"}]}",
     OCP_E_ARGS, 1, 135, "ends 2026-03-16, after the card's expiry date 2026-03-15"},
    {"from after to",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257, \"from\": \"2025-01-01\", \"to\": \"2024-12-31\"}]}",
     OCP_E_ARGS, 1, 139, "ends 2024-12-31, before it starts (2025-01-01)"},
    {"pin_required not bool",
     "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\""
        ", \"district\": \"110105\", \"entitlements\": [{\"service\":"
        " 257, \"pin_required\": \"yes\"}]}",
     OCP_E_ARGS, 1, 127, "must be true or false, not a string"},
    {"byte order mark",
     "﻿{\"name\": \"张三\", \"x\": 1}",
     OCP_E_ARGS, 1, 16, "x: unknown key"},
    {"CRLF lines",
     "{\"name\": \"张三\",\r\n"
        " \"certificate\": \"11010519491231002X41\",\r\n"
        " \"district\": \"11\"}",
     OCP_E_ARGS, 3, 15, "six-digit"},
};

static const struct parse_case catalogue_cases[] = {
    {"minimal",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\"}]}",
     OCP_OK, 0, 0, NULL},
    {"syntax",
     "{\"format\": 1,\n"
        " \"categories\": [}",
     OCP_E_ARGS, 2, 17, "expected"},
    {"not an object",
     "[]",
     OCP_E_ARGS, 1, 1, "a catalogue is an object, not an array"},
    {"missing services",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "a\", \"name_en\": \"b\"}]}",
     OCP_E_ARGS, 1, 1, "missing \"services\""},
    {"format 2",
     "{\"format\": 2, \"categories\": [], \"services\": []}",
     OCP_E_ARGS, 1, 12, "format: format 2 is not one this libocp reads (1)"},
    {"unknown top key",
     "{\"format\": 1, \"version\": 2, \"categories\": [], \"servic"
        "es\": []}",
     OCP_E_ARGS, 1, 15, "version: unknown key (expected format, edition, categories o"
        "r services)"},
    {"no categories",
     "{\"format\": 1, \"categories\": [], \"services\": []}",
     OCP_E_ARGS, 1, 29, "categories: must be an array of 1 to 255"},
    {"category id 0",
     "{\"format\": 1, \"categories\": [{\"id\": 0, \"name_zh\": \""
        "a\", \"name_en\": \"b\"}], \"services\": []}",
     OCP_E_ARGS, 1, 37, "categories[0].id: 0 is out of range 1..255"},
    {"category twice",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "a\", \"name_en\": \"b\"},\n"
        " {\"id\": 1, \"name_zh\": \"c\", \"name_en\": \"d\"}], \"ser"
        "vices\": []}",
     OCP_E_ARGS, 2, 9, "categories[1].id: category 1 twice"},
    {"category name empty",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "\", \"name_en\": \"b\"}], \"services\": []}",
     OCP_E_ARGS, 1, 51, "categories[0].name_zh: must not be empty"},
    {"no services",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": []}",
     OCP_E_ARGS, 1, 97, "services: must be an array of at least one service"},
    {"service not an object",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [\"0x010"
        "1\"]}",
     OCP_E_ARGS, 1, 98, "services[0]: a service must be an object"},
    {"service unknown key",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\", \"price\": 2}]}",
     OCP_E_ARGS, 1, 189, "services[0].price: unknown key"},
    {"service without kind",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\"}]}",
     OCP_E_ARGS, 1, 98, "services[0]: missing \"kind\""},
    {"code item 0",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0100\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 1, 107, "0x0100: the item (low byte) must be 1..255"},
    {"code category unknown",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0201\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 1, 107, "category 2 is not in \"categories\""},
    {"code twice",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\"},\n"
        "  {\"code\": 257, \"name_zh\": \"公交\", \"name_en\": \"Bus\","
        " \"domain\": \"transit\", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 2, 12, "services[1].code: 0x0101 appears twice"},
    {"code not a code",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"bus\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \"do"
        "main\": \"transit\", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 1, 107, "must be a service code"},
    {"domain kiosk",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"kiosk\", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 1, 162, "\"kiosk\" is not transit, medical, rehab, assistive, subsidy"
        " or venue"},
    {"kind voucher",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"voucher\"}]}",
     OCP_E_ARGS, 1, 181, "\"voucher\" is not pass, counter or balance"},
    {"counter without uses",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"counter\", \"period\": \""
        "month\"}]}",
     OCP_E_ARGS, 1, 98, "a counter needs \"uses\""},
    {"counter without period",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"counter\", \"uses\": 2}]}",
     OCP_E_ARGS, 1, 98, "a counter needs \"period\""},
    {"counter period week",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"counter\", \"period\": \""
        "week\", \"uses\": 2}]}",
     OCP_E_ARGS, 1, 202, "\"week\" is not none, month or year"},
    {"counter uses 0",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"counter\", \"period\": \""
        "year\", \"uses\": 0}]}",
     OCP_E_ARGS, 1, 218, "uses: 0 is out of range 1..9999"},
    {"pass with uses",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\", \"uses\": 2}]}",
     OCP_E_ARGS, 1, 189, "a pass has no uses"},
    {"balance with period",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"balance\", \"amount_fen\""
        ": 5, \"period\": \"year\"}]}",
     OCP_E_ARGS, 1, 209, "a balance has no period"},
    {"balance too large",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"balance\", \"amount_fen\""
        ": 10000001}]}",
     OCP_E_ARGS, 1, 206, "amount_fen: 10000001 is out of range 1..10000000"},
    {"pin_required 1",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"公交\", \"name_en\": \"Bus\", \""
        "domain\": \"transit\", \"kind\": \"pass\", \"pin_required\":"
        " 1}]}",
     OCP_E_ARGS, 1, 205, "pin_required: must be true or false, not an integer"},
    {"name too long",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"长长长长长长长长长长长长长长长长长长长长长长长长长长长长长"
        "长长长长长长长长长长长长长长\", \"name_en\": \"b\", \"domain\": \"transit\""
        ", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 1, 128, "name_zh: is 129 bytes; at most 127"},
    {"name newline",
     "{\"format\": 1, \"categories\": [{\"id\": 1, \"name_zh\": \""
        "交通出行\", \"name_en\": \"Transport\"}], \"services\": [{\"code"
        "\": \"0x0101\", \"name_zh\": \"a\", \"name_en\": \"b\\n\", \""
        "domain\": \"transit\", \"kind\": \"pass\"}]}",
     OCP_E_ARGS, 1, 146, "name_en: has a control character"},
};

static const struct parse_case csv_cases[] = {
    {"one row",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0101;0x0201:3;0"
        "x0401:50000\n",
     OCP_OK, 0, 0, NULL},
    {"no final newline, CRLF",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\r\n"
        "张三,11010519491231002X41,110105,AES,1234,10,\"0x0101\"",
     OCP_OK, 0, 0, NULL},
    {"columns in any order, some absent",
     "district,name,certificate\n"
        "110105,\"张三\",11010519491231002X41\n",
     OCP_OK, 0, 0, NULL},
    {"empty file",
     "",
     OCP_E_ARGS, 1, 1, "the file is empty"},
    {"only a BOM",
     "﻿",
     OCP_E_ARGS, 1, 1, "the file is empty"},
    {"header unknown column",
     "name,certificat,district\n",
     OCP_E_ARGS, 1, 6, "unknown column certificat"},
    {"header column twice",
     "name,certificate,district,Name\n",
     OCP_E_ARGS, 1, 27, "column \"name\" twice"},
    {"header without district",
     "name,certificate,pin\n",
     OCP_E_ARGS, 1, 1, "the header has no \"district\" column"},
    {"header too many columns",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        ",x\n",
     OCP_E_ARGS, 1, 62, "the header has 8 columns"},
    {"BOM and unknown column",
     "﻿name,certificate,district,note\n",
     OCP_E_ARGS, 1, 27, "unknown column note"},
    {"too few fields",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10\n",
     OCP_E_ARGS, 2, 43, "the row has 6 fields; the header has 7"},
    {"too many fields",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0101,extra\n",
     OCP_E_ARGS, 2, 51, "the row has 8 fields; the header has 7"},
    {"quote in unquoted field",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张\"三\",11010519491231002X41,110105,,,,\n",
     OCP_E_ARGS, 2, 2, "a quote inside an unquoted field"},
    {"text after closing quote",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "\"张三\" ,11010519491231002X41,110105,,,,\n",
     OCP_E_ARGS, 2, 5, "text after a closing quote"},
    {"quote never closed",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "李四,11010219800101123911,110102,,,,\"0x0101\n",
     OCP_E_ARGS, 2, 35, "this quoted field is never closed"},
    {"carriage return alone",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三\r,11010519491231002X41,110105,,,,\n",
     OCP_E_ARGS, 2, 3, "a carriage return without a line feed"},
    {"name required",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        ",11010519491231002X41,110105,,,,\n",
     OCP_E_ARGS, 2, 1, "name: is required"},
    {"name with quotes is fine",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "\"张\"\"三\"\"\",11010519491231002X41,110105,,,,\n",
     OCP_OK, 0, 0, NULL},
    {"name control character",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "\"张\t三\",11010519491231002X41,110105,,,,\n",
     OCP_E_ARGS, 2, 3, "name: has a control character"},
    {"name not UTF-8",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张\377,11010519491231002X41,110105,,,,\n",
     OCP_E_ARGS, 2, 2, "name: is not valid UTF-8"},
    {"certificate check",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002141,110105,,,,\n",
     OCP_E_ARGS, 2, 21, "certificate: the national id's check character"},
    {"certificate as Excel shows it",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,1.10105E+19,110105,,,,\n",
     OCP_E_ARGS, 2, 4, "certificate: must be 20 characters"},
    {"district",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,99,,,,\n",
     OCP_E_ARGS, 2, 25, "district: must be a six-digit"},
    {"suite",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,DES,,,\n",
     OCP_E_ARGS, 2, 32, "suite: must be AES or SM"},
    {"pin",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,SM,1x34,,\n",
     OCP_E_ARGS, 2, 36, "pin: must be 4 to 8 digits"},
    {"years",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,,,21,\n",
     OCP_E_ARGS, 2, 34, "valid_years: must be a whole number of years, 1 to 20"},
    {"years not a number",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,,,ten,\n",
     OCP_E_ARGS, 2, 34, "valid_years"},
    {"service unknown, quoted",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,\"0x0101; 0x0999\""
        "\n",
     OCP_E_ARGS, 2, 53, "entitlements: service 0x0999 is not in the catalogue"},
    {"service unknown after a quote",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "\"张\"\"三\",11010519491231002X41,110105,,,,\"0x0101;bus\"\n",
     OCP_E_ARGS, 2, 47, "entitlements: \"bus\" is not a service code"},
    {"amount on a pass",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0101:5\n",
     OCP_E_ARGS, 2, 51, "is a pass: it takes no amount"},
    {"amount not a number",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0201:two\n",
     OCP_E_ARGS, 2, 51, "the amount must be a whole number"},
    {"amount missing",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0201:\n",
     OCP_E_ARGS, 2, 50, "an amount must follow"},
    {"amount 0",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0201:0\n",
     OCP_E_ARGS, 2, 51, "uses must be 1..9999, not 0"},
    {"balance too large",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0401:10000001\n",
     OCP_E_ARGS, 2, 51, "a balance must be 1..10000000 fen (100 000 yuan), not 100000"
        "01"},
    {"amount overflows",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0401:9999999999"
        "9999999999\n",
     OCP_E_ARGS, 2, 51, "the amount 99999999999999999999 is far too large"},
    {"empty entry",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0101;;0x0102\n",
     OCP_E_ARGS, 2, 51, "an empty entry"},
    {"trailing semicolon",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,0x0101;\n",
     OCP_E_ARGS, 2, 51, "an empty entry"},
    {"service twice",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,257; 0x0101\n",
     OCP_E_ARGS, 2, 49, "service 0x0101 is granted twice"},
    {"17 entitlements",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,257;258;259;260;2"
        "61;262;263;264;265;266;267;268;269;270;271;272;513\n",
     OCP_E_ARGS, 2, 108, "more than 16 entitlements"},
    {"newline inside a quoted list",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "张三,11010519491231002X41,110105,AES,1234,10,\"0x0101;\n"
        "  0x0102;\n"
        "0x0999\"\n",
     OCP_E_ARGS, 4, 1, "0x0999 is not in the catalogue"},
    {"blank lines skipped",
     "name,certificate,district,suite,pin,valid_years,entitlements"
        "\n"
        "\n"
        ",,,,,,\n"
        "\n"
        "张三,11010519491231002X41,1,,,,\n",
     OCP_E_ARGS, 5, 25, "district"},
};


/* ---- the tables ------------------------------------------------------------ */

static int setup_catalogue(void **state)
{
    *state = test_catalogue();
    return *state != NULL ? 0 : -1;
}

static int teardown_catalogue(void **state)
{
    ocp_catalogue_free(*state);
    return 0;
}

static void test_holder_table(void **state)
{
    const ocp_catalogue *cat = *state;
    size_t i;
    int failed = 0;

    for (i = 0; i < sizeof holder_cases / sizeof holder_cases[0]; i++) {
        const struct parse_case *c = &holder_cases[i];
        ocp_issue_request req;
        ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
        ocp_parse_error err;
        ocp_status st;

        memset(&err, 0, sizeof err);
        st = ocp_holder_json_parse(c->text, strlen(c->text), cat, TODAY,
                                   &req, ents, &err);
        failed += check_case("holder", c, st, &err);
        assert_ptr_equal(req.entitlements, ents);
        if (st != OCP_OK) {
            /* Nothing half-read is left behind, the PIN least of all. */
            assert_int_equal(req.n_entitlements, 0);
            assert_int_equal(req.pin[0], 0);
            assert_int_equal(req.holder.name[0], 0);
            assert_int_equal(ents[0].service, 0);
        }
    }
    assert_int_equal(failed, 0);
}

static void test_catalogue_table(void **state)
{
    size_t i;
    int failed = 0;
    (void)state;

    for (i = 0; i < sizeof catalogue_cases / sizeof catalogue_cases[0]; i++) {
        const struct parse_case *c = &catalogue_cases[i];
        ocp_catalogue *cat = NULL;
        ocp_parse_error err;
        ocp_status st;

        memset(&err, 0, sizeof err);
        st = ocp_catalogue_parse(c->text, strlen(c->text), &cat, &err);
        failed += check_case("catalogue", c, st, &err);
        assert_true((st == OCP_OK) == (cat != NULL));
        ocp_catalogue_free(cat);
    }
    assert_int_equal(failed, 0);
}

static void test_csv_table(void **state)
{
    const ocp_catalogue *cat = *state;
    size_t i;
    int failed = 0;

    for (i = 0; i < sizeof csv_cases / sizeof csv_cases[0]; i++) {
        const struct parse_case *c = &csv_cases[i];
        ocp_issue_request req;
        ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
        ocp_parse_error err;
        ocp_csv *csv = NULL;
        ocp_status st;
        int line = 0, done = 0;

        memset(&err, 0, sizeof err);
        st = ocp_batch_open_buffer(c->text, strlen(c->text), &csv, &err);
        if (st == OCP_OK) {
            assert_int_equal(ocp_batch_rows(csv), 1);
            st = ocp_batch_next(csv, cat, TODAY, &req, ents, &line, &done,
                                &err);
            assert_int_equal(done, 0);
            if (st == OCP_OK)
                assert_int_equal(req.issue_date, TODAY);
            else
                assert_int_equal(req.pin[0], 0);
        }
        failed += check_case("csv", c, st, &err);
        ocp_batch_close(csv);
    }
    assert_int_equal(failed, 0);
}

/* ---- what a good file gives -------------------------------------------------- */

static void test_holder_values(void **state)
{
    const ocp_catalogue *cat = *state;
    ocp_issue_request req;
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    ocp_parse_error err;
    const struct parse_case *c = &holder_cases[1]; /* "everything" */

    assert_string_equal(c->title, "everything");
    assert_int_equal(ocp_holder_json_parse(c->text, strlen(c->text), cat,
                                           TODAY, &req, ents, &err),
                     OCP_OK);
    assert_string_equal(req.holder.name, "张三");
    assert_string_equal(req.holder.cert_no, "11010519491231002X41");
    assert_int_equal(req.holder.category, 4);
    assert_int_equal(req.holder.grade, 1);
    assert_int_equal(req.holder.district, 110105);
    assert_int_equal(req.suite, OCP_SUITE_SM);
    assert_string_equal(req.pin, "0042");
    assert_int_equal(req.issue_date, 8826);   /* 2024-03-01 */
    assert_int_equal(req.expiry_date, 11322); /* 2030-12-31 */
    assert_int_equal(req.terminal_id, 0);
    assert_int_equal(req.datetime, 0);
    assert_ptr_equal(req.entitlements, ents);
    assert_int_equal(req.n_entitlements, 3);

    /* A pass from the catalogue, over the card's validity. */
    assert_int_equal(ents[0].slot, 0);
    assert_int_equal(ents[0].service, 0x0101);
    assert_int_equal(ents[0].domain, OCP_ROLE_TRANSIT);
    assert_int_equal(ents[0].kind, OCP_KIND_PASS);
    assert_int_equal(ents[0].flags, 0);
    assert_int_equal(ents[0].valid_from, 8826);
    assert_int_equal(ents[0].valid_to, 11322);
    assert_int_equal(ents[0].period, OCP_PERIOD_NONE);
    assert_int_equal(ents[0].limit, 0);
    assert_int_equal(ents[0].remaining, 0);

    /* A counter with its uses and the PIN requirement overridden. */
    assert_int_equal(ents[1].service, 0x0201);
    assert_int_equal(ents[1].domain, OCP_ROLE_MEDICAL);
    assert_int_equal(ents[1].kind, OCP_KIND_COUNTER);
    assert_int_equal(ents[1].period, OCP_PERIOD_MONTH);
    assert_int_equal(ents[1].limit, 4);
    assert_int_equal(ents[1].remaining, 4);
    assert_int_equal(ents[1].flags, 0);

    /* A balance in its own window, PIN as the catalogue says. */
    assert_int_equal(ents[2].service, 0x0401);
    assert_int_equal(ents[2].domain, OCP_ROLE_ASSIST);
    assert_int_equal(ents[2].kind, OCP_KIND_BALANCE);
    assert_int_equal(ents[2].remaining, 1);
    assert_int_equal(ents[2].limit, 0);
    assert_int_equal(ents[2].flags, OCP_ENT_FLAG_PIN);
    assert_int_equal(ents[2].valid_from, 8857); /* 2024-04-01 */
    assert_int_equal(ents[2].valid_to, 8886);   /* 2024-04-30 */
    assert_int_equal(ents[3].service, 0);
}

static void test_holder_defaults(void **state)
{
    const ocp_catalogue *cat = *state;
    static const char text[] =
        "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\","
        " \"district\": \"110105\", \"entitlements\": [{\"service\": 513}]}";
    static const char leap[] =
        "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\","
        " \"district\": \"110105\", \"issue_date\": \"2024-02-29\","
        " \"valid_years\": 1}";
    ocp_issue_request req;
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    ocp_parse_error err;

    assert_int_equal(ocp_holder_json_parse(text, strlen(text), cat, TODAY,
                                           &req, ents, &err),
                     OCP_OK);
    assert_int_equal(req.suite, OCP_SUITE_AES);
    assert_string_equal(req.pin, ""); /* the desk asks for it */
    assert_int_equal(req.issue_date, TODAY);
    assert_int_equal(req.expiry_date, 12492); /* 2034-03-15 */
    assert_int_equal(ents[0].limit, 2);       /* the catalogue's uses */
    assert_int_equal(ents[0].flags, OCP_ENT_FLAG_PIN);

    /* Ten years on the calendar, and 29 February becomes 28 February. */
    assert_int_equal(ocp_holder_json_parse(leap, strlen(leap), cat, TODAY,
                                           &req, ents, &err),
                     OCP_OK);
    assert_int_equal(req.issue_date, 8825);  /* 2024-02-29 */
    assert_int_equal(req.expiry_date, 9190); /* 2025-02-28 */
}

/* A wrong PIN is described, never quoted. */
static void test_pin_never_in_messages(void **state)
{
    const ocp_catalogue *cat = *state;
    static const char json[] =
        "{\"name\": \"张三\", \"certificate\": \"11010519491231002X41\","
        " \"district\": \"110105\", \"pin\": \"98a7654\"}";
    static const char csv[] =
        "name,certificate,district,pin\n张三,11010519491231002X41,110105,"
        "98a7654\n";
    ocp_issue_request req;
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    ocp_parse_error err;
    ocp_csv *c;
    int line, done;

    assert_int_equal(ocp_holder_json_parse(json, strlen(json), cat, TODAY,
                                           &req, ents, &err),
                     OCP_E_ARGS);
    assert_null(strstr(err.message, "98a"));
    assert_null(strstr(err.message, "7654"));
    assert_int_equal(ocp_batch_open_buffer(csv, strlen(csv), &c, &err),
                     OCP_OK);
    assert_int_equal(ocp_batch_next(c, cat, TODAY, &req, ents, &line, &done,
                                    &err),
                     OCP_E_ARGS);
    assert_int_equal(line, 2);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 34);
    assert_null(strstr(err.message, "98a"));
    assert_null(strstr(err.message, "7654"));
    ocp_batch_close(c);
}

/* ---- dates -------------------------------------------------------------------- */

static const struct {
    const char *text;
    int rc;
    uint16_t day;
} date_cases[] = {
    {"2000-01-01", 0, 0},     {"2000-01-02", 0, 1},
    {"2000-02-29", 0, 59},    {"2000-03-01", 0, 60},
    {"2024-02-29", 0, 8825},  {"2024-03-15", 0, 8840},
    {"2179-06-06", 0, 65535}, {"2179-06-07", -2, 0},
    {"2179-12-31", -2, 0},    {"2180-01-01", -2, 0},
    {"1999-12-31", -2, 0},    {"0000-01-01", -2, 0},
    {"2023-02-29", -1, 0},    {"2100-02-29", -1, 0},
    {"2024-04-31", -1, 0},    {"2024-13-01", -1, 0},
    {"2024-00-10", -1, 0},    {"2024-01-00", -1, 0},
    {"2024-1-01", -1, 0},     {"2024-01-011", -1, 0},
    {"2024/01/01", -1, 0},    {" 2024-01-01", -1, 0},
    {"2024-01-0", -1, 0},     {"", -1, 0},
    {"+024-01-01", -1, 0},    {"2024-01-01\n", -1, 0},
};

static void test_date_table(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof date_cases / sizeof date_cases[0]; i++) {
        uint16_t day = 0xABCD;
        int rc = ocp_date_parse(date_cases[i].text, &day);
        if (rc != date_cases[i].rc)
            fail_msg("\"%s\": %d, expected %d", date_cases[i].text, rc,
                     date_cases[i].rc);
        assert_int_equal(day, rc == 0 ? date_cases[i].day : 0xABCD);
    }
}

/* Every day the card can hold, against a calendar counted one day at a
 * time. */
static void test_date_every_day(void **state)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int y = 2000, m = 1, d = 1;
    long n;
    (void)state;

    for (n = 0; n <= 65535; n++) {
        char text[11], want[40];
        uint16_t back;
        int yy, mm, dd, leap, len;
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        ocp_date_format((uint16_t)n, text);
        if (strcmp(text, want) != 0)
            fail_msg("day %ld: %s, expected %s", n, text, want);
        assert_int_equal(ocp_date_parse(text, &back), 0);
        assert_int_equal(back, n);
        ocp_date_to_civil((uint16_t)n, &yy, &mm, &dd);
        assert_true(yy == y && mm == m && dd == d);
        leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        len = m == 2 && leap ? 29 : mdays[m - 1];
        if (++d > len) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(ocp_date_from_civil(y, m, d, &(uint16_t){0}), -2);
}

/* ---- the shipped catalogue and the sample files -------------------------------- */

static void test_city_catalogue(void **state)
{
    ocp_catalogue *cat;
    ocp_parse_error err;
    const ocp_service *s;
    size_t i, per_category[12] = {0};
    (void)state;

    if (ocp_catalogue_load(OCP_DOCS "/catalogue.json", &cat, &err) != OCP_OK)
        fail_msg("docs/catalogue.json:%d:%d: %s", err.line, err.column,
                 err.message);
    assert_int_equal(ocp_catalogue_category_count(cat), 11);
    assert_int_equal(ocp_catalogue_count(cat), 99);
    for (i = 0; i < 11; i++) {
        const ocp_service_category *c = ocp_catalogue_category(cat, i);
        assert_int_equal(c->id, i + 1);
        assert_true(c->name_zh[0] != '\0' && c->name_en[0] != '\0');
    }
    assert_null(ocp_catalogue_category(cat, 11));
    for (i = 0; i < 99; i++) {
        s = ocp_catalogue_service(cat, i);
        assert_non_null(s);
        if (i > 0)
            assert_true(ocp_catalogue_service(cat, i - 1)->code < s->code);
        assert_ptr_equal(ocp_catalogue_find(cat, s->code), s);
        assert_in_range(s->code >> 8, 1, 11);
        per_category[s->code >> 8]++;
        assert_in_range(s->domain, OCP_ROLE_TRANSIT, OCP_ROLE_VENUE);
        assert_in_range(s->kind, OCP_KIND_PASS, OCP_KIND_BALANCE);
        assert_true(s->kind == OCP_KIND_COUNTER ? s->default_uses > 0
                                                : s->default_uses == 0);
        assert_true(s->kind == OCP_KIND_BALANCE ? s->default_fen > 0
                                                : s->default_fen == 0);
        assert_true(s->kind == OCP_KIND_COUNTER ||
                    s->period == OCP_PERIOD_NONE);
        assert_true(s->name_zh[0] != '\0' && s->name_en[0] != '\0');
    }
    assert_null(ocp_catalogue_service(cat, 99));
    for (i = 1; i <= 11; i++)
        assert_true(per_category[i] > 0);

    /* The services the design brief names, where it puts them. */
    s = ocp_catalogue_find(cat, 0x0101);
    assert_non_null(s);
    assert_int_equal(s->domain, OCP_ROLE_TRANSIT);
    assert_int_equal(s->kind, OCP_KIND_PASS);
    assert_int_equal(s->pin_required, 0);
    s = ocp_catalogue_find(cat, 0x0201);
    assert_non_null(s);
    assert_int_equal(s->domain, OCP_ROLE_MEDICAL);
    assert_int_equal(s->kind, OCP_KIND_COUNTER);
    assert_int_equal(s->period, OCP_PERIOD_MONTH);
    assert_int_equal(s->pin_required, 1);
    s = ocp_catalogue_find(cat, 0x0401);
    assert_non_null(s);
    assert_int_equal(s->domain, OCP_ROLE_ASSIST);
    assert_int_equal(s->kind, OCP_KIND_BALANCE);
    assert_null(ocp_catalogue_find(cat, 0x0C01));
    assert_null(ocp_catalogue_find(cat, 0));
    assert_string_equal(ocp_catalogue_edition(cat), "2024-01 (sample)");
    ocp_catalogue_free(cat);
}

static ocp_catalogue *city_catalogue(void)
{
    ocp_catalogue *cat = NULL;
    ocp_parse_error err;
    if (ocp_catalogue_load(OCP_DOCS "/catalogue.json", &cat, &err) != OCP_OK)
        fail_msg("docs/catalogue.json: %s", err.message);
    return cat;
}

static void test_sample_holders(void **state)
{
    ocp_catalogue *cat = city_catalogue();
    ocp_issue_request req;
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    ocp_parse_error err;
    (void)state;

    if (ocp_holder_file_load(OCP_TEST_DATA "/holder_ok.json", cat, TODAY,
                             &req, ents, &err) != OCP_OK)
        fail_msg("holder_ok.json:%d:%d: %s", err.line, err.column,
                 err.message);
    assert_string_equal(req.holder.name, "张三");
    assert_int_equal(req.suite, OCP_SUITE_AES);
    assert_string_equal(req.pin, "204816");
    assert_int_equal(req.expiry_date, 12492); /* 2034-03-15 */
    assert_int_equal(req.n_entitlements, 6);
    assert_int_equal(ents[2].limit, 3);
    assert_int_equal(ents[3].valid_from, 8857); /* 2024-04-01 */
    assert_int_equal(ents[3].valid_to, 9221);   /* 2025-03-31 */
    assert_int_equal(ents[4].remaining, 450000);
    assert_int_equal(ents[5].service, 0x0901);
    assert_int_equal(ents[5].domain, OCP_ROLE_VENUE);
    assert_int_equal(ents[5].flags, OCP_ENT_FLAG_PIN);

    if (ocp_holder_file_load(OCP_TEST_DATA "/holder_sm.json", cat, TODAY,
                             &req, ents, &err) != OCP_OK)
        fail_msg("holder_sm.json:%d:%d: %s", err.line, err.column,
                 err.message);
    assert_int_equal(req.suite, OCP_SUITE_SM);
    assert_string_equal(req.pin, "");
    assert_int_equal(req.holder.category, 2);
    assert_int_equal(req.holder.grade, 2);
    assert_int_equal(req.issue_date, TODAY);
    assert_int_equal(req.expiry_date, 10957); /* 2029-12-31 */
    assert_int_equal(req.n_entitlements, 4);
    assert_int_equal(ents[2].valid_to, 9861); /* 2026-12-31 */

    assert_int_equal(ocp_holder_file_load(OCP_TEST_DATA "/absent.json", cat,
                                          TODAY, &req, ents, &err),
                     OCP_E_IO);
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.message, "absent.json"));
    assert_int_equal(ocp_holder_file_load(NULL, cat, TODAY, &req, ents,
                                          &err),
                     OCP_E_ARGS);
    assert_int_equal(err.line, 0);
    assert_int_equal(ocp_holder_json_parse("{}", 2, NULL, TODAY, &req, ents,
                                           &err),
                     OCP_E_ARGS);
    ocp_catalogue_free(cat);
}

/* Reads a whole batch; the i-th row must give want[i] (OCP_OK or the line
 * and column of its error). */
struct row_want {
    ocp_status status;
    int row_line, line, column;
    const char *fragment;
};

static void run_batch(const char *path, const ocp_catalogue *cat,
                      const struct row_want *want, size_t n)
{
    ocp_issue_request req;
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    ocp_parse_error err;
    ocp_csv *csv;
    size_t i;
    int line, done;

    if (ocp_batch_open(path, &csv, &err) != OCP_OK)
        fail_msg("%s:%d:%d: %s", path, err.line, err.column, err.message);
    assert_int_equal(ocp_batch_rows(csv), n);
    for (i = 0; i < n; i++) {
        ocp_status st = ocp_batch_next(csv, cat, TODAY, &req, ents, &line,
                                       &done, &err);
        if (st != want[i].status || line != want[i].row_line ||
            (st != OCP_OK &&
             (err.line != want[i].line || err.column != want[i].column ||
              strstr(err.message, want[i].fragment) == NULL)))
            fail_msg("row %zu: %d at line %d, %d:%d %s", i + 1, (int)st,
                     line, err.line, err.column, err.message);
        assert_int_equal(done, 0);
    }
    assert_int_equal(ocp_batch_next(csv, cat, TODAY, &req, ents, &line,
                                    &done, &err),
                     OCP_OK);
    assert_int_equal(done, 1);
    assert_int_equal(ocp_batch_next(csv, cat, TODAY, &req, ents, &line,
                                    &done, &err),
                     OCP_OK);
    assert_int_equal(done, 1);
    ocp_batch_close(csv);
}

static void test_sample_batches(void **state)
{
    static const struct row_want ok[] = {
        {OCP_OK, 2, 0, 0, NULL},
        {OCP_OK, 3, 0, 0, NULL},
        {OCP_OK, 4, 0, 0, NULL},
        {OCP_OK, 5, 0, 0, NULL},
    };
    static const struct row_want bad[] = {
        {OCP_OK, 2, 0, 0, NULL},
        {OCP_E_ARGS, 3, 3, 21, "check character is 4; its first 17 digits "
                               "give 9"},
        {OCP_E_ARGS, 4, 4, 35, "pin: must be 4 to 8 digits"},
        {OCP_E_ARGS, 5, 6, 1, "service 0x0C01 is not in the catalogue"},
        {OCP_OK, 7, 0, 0, NULL},
        {OCP_E_ARGS, 9, 9, 42, "is a pass: it takes no amount"},
        {OCP_E_ARGS, 10, 10, 35, "the row has 4 fields; the header has 7"},
        {OCP_OK, 11, 0, 0, NULL},
    };
    ocp_catalogue *cat = city_catalogue();
    ocp_csv *csv;
    ocp_parse_error err;
    ocp_issue_request req;
    ocp_entitlement ents[OCP_HOLDER_MAX_ENTITLEMENTS];
    int line, done;
    (void)state;

    run_batch(OCP_TEST_DATA "/batch_ok.csv", cat, ok, 4);
    run_batch(OCP_TEST_DATA "/batch_bad.csv", cat, bad, 8);

    /* The second row of batch_ok.csv, quoted, in detail. */
    assert_int_equal(ocp_batch_open(OCP_TEST_DATA "/batch_ok.csv", &csv,
                                    &err),
                     OCP_OK);
    assert_int_equal(ocp_batch_next(csv, cat, TODAY, &req, ents, &line,
                                    &done, &err),
                     OCP_OK);
    assert_int_equal(ocp_batch_next(csv, cat, TODAY, &req, ents, &line,
                                    &done, &err),
                     OCP_OK);
    assert_string_equal(req.holder.name, "Wang, Fang");
    assert_int_equal(req.suite, OCP_SUITE_SM);
    assert_string_equal(req.pin, "");
    assert_int_equal(req.n_entitlements, 2);
    assert_int_equal(ents[0].service, 0x0301);
    assert_int_equal(ents[0].limit, 24);
    assert_int_equal(ents[1].remaining, 450000);
    assert_int_equal(req.expiry_date, 10666); /* 2029-03-15 */
    ocp_batch_close(csv);

    assert_int_equal(ocp_batch_open(OCP_TEST_DATA "/absent.csv", &csv, &err),
                     OCP_E_IO);
    assert_null(csv);
    assert_int_equal(ocp_batch_next(NULL, cat, TODAY, &req, ents, &line,
                                    &done, &err),
                     OCP_E_ARGS);
    ocp_batch_close(NULL);
    ocp_catalogue_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_holder_table, setup_catalogue,
                                        teardown_catalogue),
        cmocka_unit_test(test_catalogue_table),
        cmocka_unit_test_setup_teardown(test_csv_table, setup_catalogue,
                                        teardown_catalogue),
        cmocka_unit_test_setup_teardown(test_holder_values, setup_catalogue,
                                        teardown_catalogue),
        cmocka_unit_test_setup_teardown(test_holder_defaults,
                                        setup_catalogue, teardown_catalogue),
        cmocka_unit_test_setup_teardown(test_pin_never_in_messages,
                                        setup_catalogue, teardown_catalogue),
        cmocka_unit_test(test_date_table),
        cmocka_unit_test(test_date_every_day),
        cmocka_unit_test(test_city_catalogue),
        cmocka_unit_test(test_sample_holders),
        cmocka_unit_test(test_sample_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
