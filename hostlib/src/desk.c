/*
 * The desk's jobs after issuance: holder updates, renewal in place and onto
 * a new card.  Each is written so that repeating it after a cut at any
 * point finishes the job (docs/DESK.md).
 */
#include <openssl/crypto.h>
#include <string.h>

#include "hostlib_internal.h"
#include "ocp/issue.h"
#include "ocp_bytes.h"
#include "ocp_calendar.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"


static ocp_status put(ocp_session *s, uint16_t tag, const uint8_t *d,
                      size_t len)
{
    uint16_t sw;
    ocp_status st = ocp_session_transmit(s, OCP_CLA_ISO, OCP_INS_PUT_DATA,
                                         (uint8_t)(tag >> 8), (uint8_t)tag, d,
                                         len, NULL, NULL, &sw);
    return st != OCP_OK ? st : ocp_status_from_sw(sw);
}

/* Digest and signature over `pub` (whose digest is already set). */
static ocp_status sign_public(ocp_keystore *ks, const ocp_public_info *pub,
                              uint8_t out[80])
{
    uint8_t msg[33];
    ocp_public_message(pub, msg);
    memcpy(out, pub->holder_digest, 16);
    return ks->ops->sign(ks, pub->suite, msg, sizeof msg, out + 16);
}

ocp_status ocp_update_holder(ocp_transport *t, ocp_keystore *ks,
                             const ocp_holder *holder, uint32_t terminal_id,
                             uint32_t datetime)
{
    ocp_session *s = NULL;
    ocp_public_info pub;
    uint8_t buf[239];
    size_t n;
    ocp_status st;

    if (t == NULL || ks == NULL || holder == NULL)
        return OCP_E_ARGS;
    n = hl_holder_tlv(holder, buf, sizeof buf - 80);
    if (n == 0)
        return OCP_E_ARGS;
    st = ocp_read_public(t, &pub);
    if (st == OCP_OK)
        st = ocp_open_role(t, ks, OCP_ROLE_ISSUER, terminal_id, datetime,
                           NULL, NULL, &s);
    if (st == OCP_OK)
        st = ocp_holder_digest(ks, pub.suite, pub.card_id, holder,
                               pub.holder_digest);
    if (st == OCP_OK)
        st = sign_public(ks, &pub, buf + n);
    if (st == OCP_OK)
        st = put(s, OCP_TAG_HOLDER_SIGNED, buf, n + 80);
    ocp_session_close(s);
    OPENSSL_cleanse(buf, sizeof buf);
    return st;
}

/* Extends the entitlements that end with the card (old_expiry) to the new
 * expiry; those already extended are left alone, so it can be repeated. */
static ocp_status extend_entitlements(ocp_session *s, uint16_t old_expiry,
                                      uint16_t new_expiry)
{
    ocp_entitlement e[OCP_MAX_ENTITLEMENTS];
    size_t n = OCP_MAX_ENTITLEMENTS, i;
    ocp_status st = ocp_read_entitlements(s, e, &n);
    for (i = 0; st == OCP_OK && i < n; i++) {
        if (e[i].valid_to != old_expiry)
            continue;
        e[i].valid_to = new_expiry;
        st = ocp_grant(s, &e[i], NULL);
    }
    return st;
}

ocp_status ocp_renew_in_place(ocp_transport *t, ocp_keystore *ks,
                              uint16_t new_expiry, uint32_t terminal_id,
                              uint32_t datetime)
{
    ocp_session *s = NULL;
    ocp_public_info pub;
    uint8_t buf[5 + 80];
    ocp_status st;

    if (t == NULL || ks == NULL)
        return OCP_E_ARGS;
    st = ocp_read_public(t, &pub);
    if (st != OCP_OK)
        return st;
    if (new_expiry <= pub.issue_date)
        return OCP_E_ARGS;
    if (pub.expiry_date == new_expiry)
        return OCP_OK; /* done already */
    st = ocp_open_role(t, ks, OCP_ROLE_ISSUER, terminal_id, datetime, NULL,
                       NULL, &s);
    if (st == OCP_OK)
        st = extend_entitlements(s, pub.expiry_date, new_expiry);
    /* The card's own expiry last: until it changes, a repeat finds the
     * entitlements still to extend by the old date. */
    if (st == OCP_OK) {
        pub.expiry_date = new_expiry;
        buf[0] = pub.suite;
        ocp_put_be16(buf + 1, pub.issue_date);
        ocp_put_be16(buf + 3, pub.expiry_date);
        st = sign_public(ks, &pub, buf + 5);
    }
    if (st == OCP_OK)
        st = put(s, OCP_TAG_IDENTITY_SIGNED, buf, sizeof buf);
    ocp_session_close(s);
    return st;
}

ocp_status ocp_renew_onto(ocp_transport *old_t, ocp_transport *new_t,
                          ocp_keystore *ks, uint16_t new_expiry,
                          const char *pin, uint32_t terminal_id,
                          uint32_t datetime, ocp_select_info *new_info)
{
    ocp_entitlement e[OCP_MAX_ENTITLEMENTS];
    ocp_select_info old_info, fresh;
    ocp_issue_request req;
    ocp_public_info old_pub;
    ocp_session *s = NULL;
    size_t n = OCP_MAX_ENTITLEMENTS, i;
    uint16_t today = (uint16_t)(datetime / 1440u);
    ocp_status st;

    if (old_t == NULL || new_t == NULL || ks == NULL || pin == NULL ||
        strlen(pin) >= sizeof req.pin)
        return OCP_E_ARGS;
    memset(&req, 0, sizeof req);
    st = ocp_read_public(old_t, &old_pub);
    if (st == OCP_OK)
        st = ocp_open_role(old_t, ks, OCP_ROLE_ISSUER, terminal_id, datetime,
                           &old_info, NULL, &s);
    if (st != OCP_OK)
        goto out;
    if (old_info.state == OCP_STATE_ACTIVE)
        st = ocp_set_state(s, OCP_STATE_BLOCKED);
    else if (old_info.state != OCP_STATE_BLOCKED)
        st = OCP_E_DENIED; /* nothing to renew from */
    if (st == OCP_OK)
        st = ocp_read_holder(s, &req.holder);
    if (st == OCP_OK)
        st = ocp_read_entitlements(s, e, &n);
    if (st != OCP_OK)
        goto out;

    /* A counter of the current period keeps what is left; one of an
     * earlier period starts full, as the old card would have renewed it. */
    for (i = 0; i < n; i++) {
        if (e[i].valid_to == old_pub.expiry_date)
            e[i].valid_to = new_expiry;
        if (e[i].kind == OCP_KIND_COUNTER && e[i].period != OCP_PERIOD_NONE &&
            e[i].period_id != ocp_period_of(today, e[i].period))
            e[i].remaining = e[i].limit;
        e[i].slot = 0;
    }
    req.suite = old_pub.suite;
    req.issue_date = today;
    req.expiry_date = new_expiry;
    strcpy(req.pin, pin);
    req.entitlements = e;
    req.n_entitlements = n;
    req.terminal_id = terminal_id;
    req.datetime = datetime;
    /* A repeat finds the new card already issued for this holder: then
     * ocp_issue_card recognises it and only the termination remains. */
    st = ocp_issue_card(new_t, ks, &req, &fresh);
    if (st != OCP_OK)
        goto out;
    if (memcmp(fresh.card_id, old_info.card_id, 8) == 0) {
        st = OCP_E_ARGS; /* the same card in both readers */
        goto out;
    }
    st = ocp_set_state(s, OCP_STATE_TERMINATED);
    if (st == OCP_OK && new_info != NULL)
        *new_info = fresh;
out:
    ocp_session_close(s);
    OPENSSL_cleanse(req.pin, sizeof req.pin);
    return st;
}

ocp_status ocp_update_card_keys(ocp_transport *t, ocp_keystore *ks,
                                uint32_t terminal_id, uint32_t datetime,
                                unsigned *changed)
{
    ocp_select_info info;
    ocp_session *s = NULL;
    ocp_status st;
    unsigned n = 0;
    uint8_t slot;

    if (t == NULL || ks == NULL)
        return OCP_E_ARGS;
    st = ocp_open_role(t, ks, OCP_ROLE_ISSUER, terminal_id, datetime, &info,
                       NULL, &s);
    /* Slots 2..9 first and the issuer key last: the session in use was
     * opened with the old issuer key, and a repeat must still open one. */
    for (slot = 2; st == OCP_OK && slot <= OCP_KEY_SLOTS + 1; slot++) {
        uint8_t which = slot == OCP_KEY_SLOTS + 1 ? OCP_ROLE_ISSUER : slot;
        uint8_t want = ks->ops->version(ks, info.suite, which);
        if (want == 0 || info.key_versions[which - 1] == want)
            continue;
        st = hl_put_key(s, ks, info.suite, which);
        n++;
    }
    ocp_session_close(s);
    if (changed != NULL)
        *changed = n;
    return st;
}
