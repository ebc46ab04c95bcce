/*
 * The /api handlers of ocp serve: a JSON body in, a status and a JSON
 * answer out (docs/KIOSK.md section 1.3).  The checks that every request
 * passes (Host, Origin, token) are done before, in serve_http.c.
 */
#include <string.h>

#include "cli.h"
#include "serve.h"

/* {"error":code} */
static unsigned err(json_t **out, unsigned status, const char *code)
{
    *out = json_pack("{s:s}", "error", code);
    return status;
}

static unsigned ok(json_t **out)
{
    *out = json_pack("{s:b}", "ok", 1);
    return 200;
}

/* A libocp failure as the page sees it (docs/KIOSK.md 1.4). */
static unsigned fail(ocp_status st, int tries_left, json_t **out)
{
    switch (st) {
    case OCP_E_NO_SERVICE:
    case OCP_E_NO_READER:
        return err(out, 503, "no_reader");
    case OCP_E_SHARING:
        return err(out, 503, "busy");
    case OCP_E_NO_CARD:
    case OCP_E_CARD_REMOVED:
    case OCP_E_CARD_RESET:
        return err(out, 409, "no_card");
    case OCP_E_NOT_OCP:
        return err(out, 409, "not_ocp");
    case OCP_E_TIMEOUT:
        return err(out, 504, "card_timeout");
    case OCP_E_PIN_WRONG:
        *out = json_pack("{s:s, s:i}", "error", "wrong_pin", "tries_left",
                         tries_left);
        return 401;
    case OCP_E_PIN_BLOCKED:
        return err(out, 423, "pin_blocked");
    case OCP_E_CARD_BLOCKED:
    case OCP_E_CARD_TERMINATED:
        return err(out, 423, "card_blocked");
    case OCP_E_DENIED:
        return err(out, 401, "pin_required");
    case OCP_E_KEY_MISSING:
        return err(out, 500, "keys");
    default:
        return err(out, 502, "card");
    }
}

/* 4 to 8 ASCII digits, as the card wants them (docs/PROTOCOL.md 2.7). */
static int pin_ok(const char *pin)
{
    size_t n = pin ? strlen(pin) : 0;
    return n >= 4 && n <= 8 && strspn(pin, "0123456789") == n;
}

/* Copies a PIN out of the parsed body into a buffer the caller wipes. */
static int take_pin(json_t *body, const char *key, char out[9])
{
    const char *v = json_string_value(json_object_get(body, key));
    if (v == NULL)
        return -1;
    if (!pin_ok(v))
        return 0;
    strcpy(out, v);
    return 1;
}

static unsigned readers(struct serve *sv, json_t *body, json_t **out)
{
    ocp_status st = card_readers(sv, out);
    (void)body;
    return st == OCP_OK ? 200 : fail(st, 0, out);
}

static unsigned card(struct serve *sv, json_t *body, json_t **out)
{
    ocp_status st = card_public(sv, out);
    (void)body;
    return st == OCP_OK ? 200 : fail(st, 0, out);
}

static unsigned pin_verify(struct serve *sv, json_t *body, json_t **out)
{
    char pin[9];
    int left = -1, got = take_pin(body, "pin", pin);
    ocp_status st;
    if (got < 0)
        return err(out, 400, "bad_request");
    if (got == 0)
        return err(out, 400, "pin_format");
    st = card_view_open(sv, pin, &left);
    ocp_secret_wipe(pin, sizeof pin);
    return st == OCP_OK ? ok(out) : fail(st, left, out);
}

static unsigned holder(struct serve *sv, json_t *body, json_t **out)
{
    ocp_status st = card_view_holder(sv, out);
    (void)body;
    return st == OCP_OK ? 200 : fail(st, 0, out);
}

static unsigned log_(struct serve *sv, json_t *body, json_t **out)
{
    ocp_status st = card_view_log(sv, out);
    (void)body;
    return st == OCP_OK ? 200 : fail(st, 0, out);
}

static unsigned pin_change(struct serve *sv, json_t *body, json_t **out)
{
    char old_pin[9], new_pin[9];
    int left = -1, got_old, got_new;
    unsigned status;
    ocp_status st;
    got_old = take_pin(body, "old", old_pin);
    got_new = take_pin(body, "new", new_pin);
    if (got_old < 0 || got_new < 0)
        status = err(out, 400, "bad_request");
    else if (got_old == 0 || got_new == 0 || strcmp(old_pin, new_pin) == 0)
        status = err(out, 400, "pin_format");
    else if (!card_view_is_open(sv))
        status = err(out, 401, "pin_required");
    else {
        st = card_view_change_pin(sv, old_pin, new_pin, &left);
        status = st == OCP_OK ? ok(out) : fail(st, left, out);
    }
    ocp_secret_wipe(old_pin, sizeof old_pin);
    ocp_secret_wipe(new_pin, sizeof new_pin);
    return status;
}

static unsigned end(struct serve *sv, json_t *body, json_t **out)
{
    (void)body;
    card_view_end(sv, END_FINISHED);
    return ok(out);
}

static unsigned speak(struct serve *sv, json_t *body, json_t **out)
{
    const char *text = json_string_value(json_object_get(body, "text"));
    const char *lang = json_string_value(json_object_get(body, "lang"));
    json_t *pin_screen = json_object_get(body, "pin_screen");
    const char *voice;
    int pin_entry;
    if (text == NULL || lang == NULL ||
        (pin_screen != NULL && !json_is_boolean(pin_screen)))
        return err(out, 400, "bad_request");
    if (strcmp(lang, "zh") == 0)
        voice = "cmn";
    else if (strcmp(lang, "en") == 0)
        voice = "en";
    else
        return err(out, 400, "speak_lang");
    /* PIN entry: a card is in and no view open (the page asks for the
     * PIN), or the page says it shows a PIN field.  Refusing any run of 4
     * digits then is cruder than knowing the PIN, which the bridge never
     * keeps, and errs on the safe side. */
    pin_entry = json_is_true(pin_screen) ||
                (events_card_present(&sv->ev) && !card_view_is_open(sv));
    if (pin_entry && speech_has_digit_run(text))
        return err(out, 400, "speak_digits");
    if (speech_say(&sv->speech, voice, text) != 0)
        return err(out, 503, "no_speech");
    return ok(out);
}

static const struct {
    const char *method, *path;
    unsigned (*run)(struct serve *, json_t *, json_t **);
} routes[] = {
    {"GET", "/api/readers", readers},
    {"GET", "/api/card", card},
    {"POST", "/api/pin/verify", pin_verify},
    {"GET", "/api/holder", holder},
    {"GET", "/api/log", log_},
    {"POST", "/api/pin/change", pin_change},
    {"POST", "/api/end", end},
    {"POST", "/api/speak", speak},
};

unsigned api_handle(struct serve *sv, const char *method, const char *path,
                    const char *body, size_t body_len, json_t **out)
{
    size_t i;
    int known_path = 0;
    *out = NULL;
    for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        json_t *in = NULL;
        unsigned status;
        if (strcmp(path, routes[i].path) != 0)
            continue;
        known_path = 1;
        if (strcmp(method, routes[i].method) != 0)
            continue;
        if (strcmp(method, "POST") == 0) {
            /* The values are wiped when freed (the wiping allocator), as
             * the body they came from is. */
            in = body_len == 0 ? json_object() /* POST /api/end */
                               : json_loadb(body, body_len,
                                            JSON_REJECT_DUPLICATES, NULL);
            if (!json_is_object(in)) {
                json_decref(in);
                return err(out, 400, "bad_request");
            }
        }
        status = routes[i].run(sv, in, out);
        json_decref(in);
        return status;
    }
    return known_path ? err(out, 405, "method") : err(out, 404, "not_found");
}
