/*
 * The card behind ocp serve.  Everything that talks to the card goes
 * through here and runs on the card thread (serve_card_thread.c), so two
 * browser requests never interleave their APDUs.
 *
 * The holder's view is a kiosk-role secure-messaging session in which the
 * card has verified the PIN.  It stays open between requests (the PIN is
 * not kept: it was wiped right after VERIFY), and each request reads
 * through it, inside a PC/SC transaction of its own.  Whatever ends the
 * card's side of it (the card leaving, another program selecting, a reset)
 * makes the next read fail, and the view is then dropped here too.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ocp/issue.h"
#include "ocp/pcsc.h"
#include "ocp/wire.h"
#include "output.h"
#include "serve.h"

static ocp_status connect_card(struct serve_card *c, ocp_transport **t)
{
    char name[256];
    ocp_status st = ocp_pcsc_find_reader(c->reader_spec, name, sizeof name);
    if (st != OCP_OK)
        return st;
    st = ocp_pcsc_connect_timeout(name, c->card_timeout_ms, t);
    if (st != OCP_OK)
        return st;
    st = (*t)->ops->begin(*t);
    if (st != OCP_OK) {
        (*t)->ops->close(*t);
        *t = NULL;
    }
    return st;
}

static void disconnect(ocp_transport *t)
{
    if (t != NULL) {
        (void)t->ops->end(t);
        t->ops->close(t);
    }
}

static void view_drop(struct serve_card *c)
{
    ocp_session_close(c->s);
    c->s = NULL;
    if (c->t != NULL)
        c->t->ops->close(c->t);
    c->t = NULL;
    memset(&c->pub, 0, sizeof c->pub);
    c->signature_valid = 0;
}

/* A failure that means the card's side of the view is gone. */
static int view_lost(ocp_status st)
{
    switch (st) {
    case OCP_E_NO_SERVICE:
    case OCP_E_NO_READER:
    case OCP_E_NO_CARD:
    case OCP_E_CARD_REMOVED:
    case OCP_E_CARD_RESET:
    case OCP_E_TIMEOUT:
    case OCP_E_TRANSPORT:
    case OCP_E_SM:
    case OCP_E_DENIED:
        return 1;
    default:
        return 0;
    }
}

/* Reads the public data and checks the issuer signature with the key
 * store's public key of the card's suite, as `ocp info` does. */
static ocp_status read_public(struct serve_card *c, ocp_transport *t,
                              ocp_public_info *pub, int *valid)
{
    uint8_t der[256];
    size_t der_len = sizeof der;
    ocp_status st = ocp_read_public(t, pub);
    if (st != OCP_OK)
        return st;
    st = c->ks->ops->public_key(c->ks, pub->suite, der, &der_len);
    if (st != OCP_OK)
        return OCP_E_KEY_MISSING;
    st = ocp_verify_public(pub, der, der_len);
    *valid = st == OCP_OK;
    return st == OCP_OK || st == OCP_E_SIGNATURE ? OCP_OK : st;
}

static json_t *public_json(const ocp_public_info *pub, uint8_t state,
                           int valid, const ocp_card_status_info *status,
                           int view)
{
    json_t *o = json_object();
    json_object_set_new(o, "card_id", out_hex(pub->card_id, 8));
    json_object_set_new(o, "suite", json_string(out_suite_name(pub->suite)));
    json_object_set_new(o, "state", json_string(out_state_name(state)));
    json_object_set_new(o, "issued", out_date(pub->issue_date));
    json_object_set_new(o, "expires", out_date(pub->expiry_date));
    json_object_set_new(o, "issuer_signature",
                        json_string(valid ? "valid" : "invalid"));
    json_object_set_new(o, "pin_tries_left",
                        status ? json_integer(status->pin_tries) : json_null());
    json_object_set_new(o, "pin_tries_max",
                        status ? json_integer(status->pin_max) : json_null());
    json_object_set_new(o, "view", json_boolean(view));
    return o;
}

static ocp_status public_through_view(struct serve *sv, json_t **out)
{
    struct serve_card *c = &sv->card;
    ocp_card_status_info status;
    ocp_status st = c->t->ops->begin(c->t);
    if (st == OCP_OK) {
        st = ocp_read_status(c->s, &status);
        (void)c->t->ops->end(c->t);
    }
    if (st == OCP_OK)
        *out = public_json(&c->pub, status.state, c->signature_valid,
                           &status, 1);
    return st;
}

static ocp_status card_public_now(struct serve *sv, json_t **out)
{
    struct serve_card *c = &sv->card;
    ocp_transport *t = NULL;
    ocp_session *s = NULL;
    ocp_select_info info;
    ocp_public_info pub;
    ocp_card_status_info status;
    int valid = 0, have_status = 0, ended = 0;
    ocp_status st;

    *out = NULL;
    if (c->s != NULL) {
        st = public_through_view(sv, out);
        if (st == OCP_OK || !view_lost(st))
            goto out;
        view_drop(c);
        ended = 1;
    }
    st = connect_card(c, &t);
    if (st == OCP_OK)
        st = ocp_select(t, &info);
    if (st == OCP_OK && info.state == OCP_STATE_BLANK)
        st = OCP_E_NOT_OCP;
    if (st == OCP_OK)
        st = read_public(c, t, &pub, &valid);
    /* The PIN tries are in the status, which needs a session: the kiosk
     * role opens one only on an active card. */
    if (st == OCP_OK && info.state == OCP_STATE_ACTIVE) {
        st = ocp_open_role(t, c->ks, OCP_ROLE_KIOSK, c->terminal_id, cli_now(),
                           NULL, NULL, &s);
        if (st == OCP_OK)
            st = ocp_read_status(s, &status);
        have_status = st == OCP_OK;
    }
    if (st == OCP_OK)
        *out = public_json(&pub, info.state, valid,
                           have_status ? &status : NULL, 0);
    ocp_session_close(s);
    disconnect(t);
out:
    if (ended)
        events_session_ended(&sv->ev, END_REMOVED);
    return st;
}

static ocp_status card_view_open_now(struct serve *sv, const char *pin,
                                     int *tries_left)
{
    struct serve_card *c = &sv->card;
    ocp_transport *t = NULL;
    ocp_session *s = NULL;
    ocp_select_info info;
    ocp_public_info pub;
    int valid = 0;
    ocp_status st;

    /* A second PIN entry starts over: one view at a time. */
    view_drop(c);
    st = connect_card(c, &t);
    if (st == OCP_OK)
        st = ocp_select(t, &info);
    if (st == OCP_OK && info.state == OCP_STATE_BLANK)
        st = OCP_E_NOT_OCP;
    if (st == OCP_OK && info.state != OCP_STATE_ACTIVE)
        st = info.state == OCP_STATE_TERMINATED ? OCP_E_CARD_TERMINATED
                                                 : OCP_E_CARD_BLOCKED;
    if (st == OCP_OK)
        st = read_public(c, t, &pub, &valid);
    if (st == OCP_OK)
        st = ocp_open_role(t, c->ks, OCP_ROLE_KIOSK, c->terminal_id, cli_now(),
                           &info, NULL, &s);
    if (st == OCP_OK)
        st = ocp_verify_pin(s, pin, tries_left);
    if (st == OCP_OK) {
        /* Keep the connection, leave the transaction: other programs may
         * look at the reader between the page's requests. */
        (void)t->ops->end(t);
        c->t = t;
        c->s = s;
        c->pub = pub;
        c->signature_valid = valid;
    } else {
        ocp_session_close(s);
        disconnect(t);
    }
    return st;
}

/* "110101********1234": enough for the holder to recognise it on the
 * screen, not enough for someone looking over their shoulder. */
static json_t *masked(const char *cert)
{
    char buf[32];
    size_t n = strlen(cert), i;
    if (n < 10 || n >= sizeof buf)
        return json_string("");
    for (i = 0; i < n; i++)
        buf[i] = i < 6 || i >= n - 4 ? cert[i] : '*';
    buf[n] = '\0';
    return json_string(buf);
}

static void service_names(const ocp_catalogue *cat, uint16_t code, json_t *o)
{
    const ocp_service *svc = cat ? ocp_catalogue_find(cat, code) : NULL;
    if (svc != NULL) {
        json_object_set_new(o, "name", json_string(svc->name_en));
        json_object_set_new(o, "name_zh", json_string(svc->name_zh));
    }
}

static json_t *holder_json(struct serve_card *c, const ocp_holder *h,
                           const ocp_entitlement *ents, size_t n)
{
    json_t *o = json_object(), *src = out_holder(h), *d = json_object();
    json_t *arr = json_array(), *v;
    size_t i;
    json_object_set_new(o, "card_id", out_hex(c->pub.card_id, 8));
    /* The same fields `ocp read --role kiosk --json` prints. */
    if ((v = json_object_get(src, "name")) != NULL)
        json_object_set(o, "name", v);
    if ((v = json_object_get(src, "district")) != NULL)
        json_object_set(o, "district", v);
    if ((v = json_object_get(src, "certificate")) != NULL) {
        json_object_set(o, "certificate", v);
        json_object_set_new(o, "cert_number_masked",
                            masked(json_string_value(v)));
    }
    if ((v = json_object_get(src, "category")) != NULL)
        json_object_set(d, "category", v);
    if ((v = json_object_get(src, "category_name")) != NULL)
        json_object_set(d, "category_name", v);
    if ((v = json_object_get(src, "grade")) != NULL)
        json_object_set(d, "grade", v);
    json_object_set_new(o, "disability", d);
    json_object_set_new(o, "valid_until", out_date(c->pub.expiry_date));
    json_object_set_new(o, "issuer_signature",
                        json_string(c->signature_valid ? "valid" : "invalid"));
    for (i = 0; i < n; i++) {
        json_t *e = out_entitlement(&ents[i]);
        service_names(c->cat, ents[i].service, e);
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "entitlements", arr);
    json_decref(src);
    return o;
}

/* Runs op inside a transaction on the view.  A view whose card side is
 * gone is dropped and the page told; so is one whose PIN op blocked (the
 * card will not serve it again until the desk unblocks the PIN).
 * OCP_E_DENIED (no view, or the card forgot the PIN): the page asks for
 * the PIN again. */
static ocp_status through_view(struct serve *sv,
                               ocp_status (*op)(struct serve *, void *),
                               void *arg)
{
    struct serve_card *c = &sv->card;
    ocp_status st;
    if (c->s == NULL)
        return OCP_E_DENIED;
    st = c->t->ops->begin(c->t);
    if (st == OCP_OK) {
        st = op(sv, arg);
        (void)c->t->ops->end(c->t);
    }
    if (st != OCP_OK && (view_lost(st) || st == OCP_E_PIN_BLOCKED)) {
        view_drop(c);
        events_session_ended(&sv->ev, st == OCP_E_PIN_BLOCKED ? END_FINISHED
                                                              : END_REMOVED);
    }
    return st;
}

static ocp_status read_holder(struct serve *sv, void *arg)
{
    struct serve_card *c = &sv->card;
    json_t **out = arg;
    ocp_holder h;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    size_t n = OCP_MAX_ENTITLEMENTS;
    ocp_status st = ocp_read_holder(c->s, &h);
    if (st == OCP_OK)
        st = ocp_read_entitlements(c->s, ents, &n);
    if (st == OCP_OK)
        *out = holder_json(c, &h, ents, n);
    ocp_secret_wipe(&h, sizeof h);
    ocp_secret_wipe(ents, sizeof ents);
    return st;
}

static ocp_status read_log(struct serve *sv, void *arg)
{
    struct serve_card *c = &sv->card;
    json_t **out = arg;
    ocp_log_record log[OCP_LOG_RECORDS];
    size_t n = OCP_LOG_RECORDS, i;
    json_t *arr;
    ocp_status st = ocp_read_log(c->s, log, &n);
    if (st != OCP_OK)
        return st;
    arr = json_array();
    for (i = 0; i < n; i++) {
        json_t *l = out_log(&log[i]);
        service_names(c->cat, log[i].service, l);
        json_array_append_new(arr, l);
    }
    *out = json_pack("{s:o}", "uses", arr);
    ocp_secret_wipe(log, sizeof log);
    return OCP_OK;
}

static ocp_status card_view_holder_now(struct serve *sv, json_t **out)
{
    *out = NULL;
    return through_view(sv, read_holder, out);
}

static ocp_status card_view_log_now(struct serve *sv, json_t **out)
{
    *out = NULL;
    return through_view(sv, read_log, out);
}

struct pin_change {
    const char *old_pin, *new_pin;
    int *tries_left;
};

static ocp_status change_pin(struct serve *sv, void *arg)
{
    const struct pin_change *p = arg;
    return ocp_change_pin(sv->card.s, p->old_pin, p->new_pin, p->tries_left);
}

static ocp_status card_view_change_pin_now(struct serve *sv,
                                           const char *old_pin,
                                           const char *new_pin,
                                           int *tries_left)
{
    struct pin_change p = {old_pin, new_pin, tries_left};
    return through_view(sv, change_pin, &p);
}

static int card_view_is_open_now(struct serve *sv)
{
    return sv->card.s != NULL;
}

static void card_view_end_now(struct serve *sv, enum serve_end_reason why)
{
    view_drop(&sv->card);
    events_session_ended(&sv->ev, why);
}

ocp_status card_readers(struct serve *sv, json_t **out)
{
    char names[4096], mine[256];
    size_t len = sizeof names;
    const char *p;
    json_t *arr;
    ocp_status st = ocp_pcsc_list_readers(names, &len);
    *out = NULL;
    if (st != OCP_OK)
        return st;
    arr = json_array();
    for (p = names; *p; p += strlen(p) + 1)
        json_array_append_new(
            arr, json_pack("{s:s, s:b}", "name", p, "card",
                           ocp_pcsc_wait_card(p, 0) == OCP_OK));
    *out = json_pack("{s:o}", "readers", arr);
    if (ocp_pcsc_find_reader(sv->card.reader_spec, mine, sizeof mine) == OCP_OK)
        json_object_set_new(*out, "reader", json_string(mine));
    else
        json_object_set_new(*out, "reader", json_null());
    return OCP_OK;
}

void card_cleanup(struct serve *sv)
{
    view_drop(&sv->card);
}

/* ---- the entry points: each runs its *_now on the card thread ---------- */

struct args {
    json_t **out;
    const char *pin, *pin2;
    int *tries;
    enum serve_end_reason why;
    int open;
    ocp_status st;
};

static void do_public(struct serve *sv, void *a)
{
    struct args *x = a;
    x->st = card_public_now(sv, x->out);
}

static void do_open(struct serve *sv, void *a)
{
    struct args *x = a;
    x->st = card_view_open_now(sv, x->pin, x->tries);
}

static void do_holder(struct serve *sv, void *a)
{
    struct args *x = a;
    x->st = card_view_holder_now(sv, x->out);
}

static void do_log(struct serve *sv, void *a)
{
    struct args *x = a;
    x->st = card_view_log_now(sv, x->out);
}

static void do_change(struct serve *sv, void *a)
{
    struct args *x = a;
    x->st = card_view_change_pin_now(sv, x->pin, x->pin2, x->tries);
}

static void do_is_open(struct serve *sv, void *a)
{
    struct args *x = a;
    x->open = card_view_is_open_now(sv);
}

static void do_end(struct serve *sv, void *a)
{
    struct args *x = a;
    card_view_end_now(sv, x->why);
}

/* OCP_E_NO_SERVICE when the bridge is stopping and the call did not run. */
static ocp_status call(struct serve *sv, void (*fn)(struct serve *, void *),
                       struct args *x)
{
    if (x->out != NULL)
        *x->out = NULL;
    return card_thread_call(sv, fn, x) == 0 ? x->st : OCP_E_NO_SERVICE;
}

ocp_status card_public(struct serve *sv, json_t **out)
{
    struct args x = {out, NULL, NULL, NULL, END_FINISHED, 0, OCP_OK};
    return call(sv, do_public, &x);
}

ocp_status card_view_open(struct serve *sv, const char *pin, int *tries_left)
{
    struct args x = {NULL, pin, NULL, tries_left, END_FINISHED, 0, OCP_OK};
    return call(sv, do_open, &x);
}

ocp_status card_view_holder(struct serve *sv, json_t **out)
{
    struct args x = {out, NULL, NULL, NULL, END_FINISHED, 0, OCP_OK};
    return call(sv, do_holder, &x);
}

ocp_status card_view_log(struct serve *sv, json_t **out)
{
    struct args x = {out, NULL, NULL, NULL, END_FINISHED, 0, OCP_OK};
    return call(sv, do_log, &x);
}

ocp_status card_view_change_pin(struct serve *sv, const char *old_pin,
                                const char *new_pin, int *tries_left)
{
    struct args x = {NULL, old_pin, new_pin, tries_left, END_FINISHED, 0,
                     OCP_OK};
    return call(sv, do_change, &x);
}

int card_view_is_open(struct serve *sv)
{
    struct args x = {NULL, NULL, NULL, NULL, END_FINISHED, 0, OCP_OK};
    (void)call(sv, do_is_open, &x);
    return x.open;
}

void card_view_end(struct serve *sv, enum serve_end_reason why)
{
    struct args x = {NULL, NULL, NULL, NULL, why, 0, OCP_OK};
    (void)call(sv, do_end, &x);
}
