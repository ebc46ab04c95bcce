/*
 * The parts of ocp serve that decide alone, table by table: which paths
 * the page directory serves and as what, the token put into index.html,
 * and which text may not be read aloud during PIN entry.  The whole bridge
 * is tested over HTTP in tests/e2e/kiosk_bridge*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serve.h"

static const struct {
    const char *path;
    int ok;
} paths[] = {
    {"/index.html", 1},
    {"/js/app.js", 1},
    {"/a-b_c.1/d.css", 1},
    {"/..", 0},
    {"/../etc/passwd", 0},
    {"/js/../../etc/passwd", 0},
    {"/js/..", 0},
    {"/.", 0},
    {"/./index.html", 0},
    {"/.hidden.js", 0},
    {"/js/.git/config", 0},
    {"//etc/passwd", 0},
    {"/js//app.js", 0},
    {"/js/", 0},
    {"/", 0}, /* static_response maps "/" to /index.html before */
    {"", 0},
    {"index.html", 0},
    {"/a\\..\\b.js", 0},
    {"/index.html%00.js", 0},
    {"/%2e%2e/x.js", 0},
    {"/a b.js", 0},
    {"/a\tb.js", 0},
    {"/\x7f.js", 0},
    {"/caf\xc3\xa9.js", 0},
};

static void test_paths(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (static_path_ok(paths[i].path) != paths[i].ok)
            fail_msg("path \"%s\": %d, expected %d", paths[i].path,
                     static_path_ok(paths[i].path), paths[i].ok);
}

static const struct {
    const char *path, *type;
} types[] = {
    {"/index.html", "text/html; charset=utf-8"},
    {"/k.js", "text/javascript; charset=utf-8"},
    {"/k.css", "text/css; charset=utf-8"},
    {"/i.svg", "image/svg+xml"},
    {"/i.png", "image/png"},
    {"/m.json", "application/json; charset=utf-8"},
    {"/f.woff2", "font/woff2"},
    {"/favicon.ico", "image/x-icon"},
    {"/notes.txt", NULL},
    {"/k.js.map", NULL},
    {"/k.JS", NULL},
    {"/.js", "text/javascript; charset=utf-8"}, /* static_path_ok refuses it */
    {"/js", NULL},
    {"/x.html.bak", NULL},
};

static void test_types(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        const char *got = static_content_type(types[i].path);
        if ((got == NULL) != (types[i].type == NULL) ||
            (got != NULL && strcmp(got, types[i].type) != 0))
            fail_msg("type of %s: %s, expected %s", types[i].path,
                     got ? got : "(none)",
                     types[i].type ? types[i].type : "(none)");
    }
}

#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
    const char *in, *out;
} pages[] = {
    {"", ""},
    {"<p>no token</p>", "<p>no token</p>"},
    {"<meta name=\"ocp-token\" content=\"__OCP_TOKEN__\">",
     "<meta name=\"ocp-token\" content=\"" TOK "\">"},
    {"__OCP_TOKEN____OCP_TOKEN__", TOK TOK},
    {"a__OCP_TOKEN__b__OCP_TOKEN__", "a" TOK "b" TOK},
    {"__OCP_TOKEN_", "__OCP_TOKEN_"},
    {"___OCP_TOKEN__", "_" TOK},
    {"__ocp_token__", "__ocp_token__"},
};

static void test_token(void **state)
{
    size_t i, n;
    (void)state;
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char *got =
            static_inject_token(pages[i].in, strlen(pages[i].in), TOK, &n);
        assert_non_null(got);
        if (n != strlen(pages[i].out) || memcmp(got, pages[i].out, n) != 0)
            fail_msg("page \"%s\": \"%.*s\"", pages[i].in, (int)n, got);
        serve_wipe_free(got);
    }
}

static const struct {
    const char *text;
    int run;
} texts[] = {
    {"", 0},
    {"1234", 1},
    {"123", 0},
    {"Your PIN is 1234.", 1},
    {"12 34", 0},
    {"12.34 yuan", 0},
    {"2034-01-14", 1},
    {"2034年1月14日", 1},
    {"1月14日", 0},
    {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94", 1}, /* fullwidth 1234 */
    {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93", 0},
    {"12\xef\xbc\x93" "4", 1}, /* mixed */
    {"请输入密码", 0},
    {"3 tries left", 0},
    {"card 4F4350000000A001", 1},
    {"一二三四", 0}, /* digits in words are the page's business */
    {"\xef\xbc", 0},  /* a cut UTF-8 sequence at the end */
};

static void test_digit_runs(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (speech_has_digit_run(texts[i].text) != texts[i].run)
            fail_msg("\"%s\": %d, expected %d", texts[i].text,
                     speech_has_digit_run(texts[i].text), texts[i].run);
}

static void test_wipe_alloc(void **state)
{
    unsigned char *p = serve_wipe_malloc(40);
    (void)state;
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % sizeof(long double), 0);
    memset(p, 0x5A, 40);
    serve_wipe_free(p);
    serve_wipe_free(NULL);
    assert_null(serve_wipe_malloc((size_t)-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),        cmocka_unit_test(test_types),
        cmocka_unit_test(test_token),        cmocka_unit_test(test_digit_runs),
        cmocka_unit_test(test_wipe_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
