/*
 * Issuing a card: personalisation from blank under the transport key, the
 * holder digest and the issuer signature; and opening a role's session
 * with a key store.  docs/PROTOCOL.md, "Personalisation", lists the steps.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "hostlib_internal.h"
#include "ocp/issue.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"

/* The holder record as PUT DATA carries it; also the digest's input. */
size_t hl_holder_tlv(const ocp_holder *h, uint8_t *out, size_t cap)
{
    ocp_writer w;
    size_t name_len = strlen(h->name);
    ocp_writer_init(&w, out, cap);
    ocp_put_u8(&w, OCP_HT_NAME);
    ocp_put_u8(&w, (uint8_t)name_len);
    ocp_put_bytes(&w, (const uint8_t *)h->name, name_len);
    ocp_put_u8(&w, OCP_HT_CERT_NO);
    ocp_put_u8(&w, OCP_CERT_NO_LEN);
    ocp_put_bytes(&w, (const uint8_t *)h->cert_no, OCP_CERT_NO_LEN);
    ocp_put_u8(&w, OCP_HT_CATEGORY);
    ocp_put_u8(&w, 1);
    ocp_put_u8(&w, h->category);
    ocp_put_u8(&w, OCP_HT_GRADE);
    ocp_put_u8(&w, 1);
    ocp_put_u8(&w, h->grade);
    ocp_put_u8(&w, OCP_HT_DISTRICT);
    ocp_put_u8(&w, 4);
    ocp_put_u32(&w, h->district);
    return w.short_by ? 0 : ocp_writer_len(&w, out);
}

ocp_status ocp_holder_digest(ocp_keystore *ks, uint8_t suite,
                             const uint8_t card_id[8], const ocp_holder *h,
                             uint8_t out[16])
{
    uint8_t key[16], tlv[128];
    size_t n;
    ocp_cmac_ctx c;
    ocp_status st;

    if (ks == NULL || h == NULL || strlen(h->name) > OCP_NAME_MAX ||
        strlen(h->cert_no) != OCP_CERT_NO_LEN)
        return OCP_E_ARGS;
    n = hl_holder_tlv(h, tlv, sizeof tlv);
    if (n == 0)
        return OCP_E_ARGS;
    /* The holder key is never rotated: its version is not on the card,
     * and it protects no card, only the digest from brute force. */
    st = ks->ops->card_key(ks, suite, card_id, OCP_KEY_HOLDER, 1, key);
    if (st != OCP_OK)
        return st;
    ocp_cmac_init(&c, ocp_suite_cipher(suite), key);
    ocp_cmac_update(&c, (const uint8_t *)"HLD1", 4);
    ocp_cmac_update(&c, card_id, 8);
    ocp_cmac_update(&c, tlv, n);
    ocp_cmac_final(&c, out);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(tlv, sizeof tlv);
    return OCP_OK;
}

ocp_status hl_open_selected(ocp_transport *t, ocp_keystore *ks, uint8_t role,
                            uint32_t terminal_id, uint32_t datetime,
                            const ocp_select_info *info, ocp_last_tx *last,
                            ocp_session **out)
{
    uint8_t key[16], version;
    ocp_status st;

    if (info->state == OCP_STATE_TERMINATED)
        return OCP_E_CARD_TERMINATED;
    if (info->state == OCP_STATE_BLOCKED && role != OCP_ROLE_ISSUER)
        return OCP_E_CARD_BLOCKED;
    version = info->key_versions[role - 1];
    if (version == 0xFF)
        return OCP_E_KEY_MISSING;
    if (version == OCP_KEY_VERSION_TRANSPORT)
        st = ks->ops->transport_key(ks, info->card_id, key);
    else
        st = ks->ops->card_key(ks, info->suite, info->card_id, role, version,
                               key);
    if (st != OCP_OK)
        return st;
    st = ocp_open_session(t, info, role, version, key, terminal_id, datetime,
                          last, out);
    OPENSSL_cleanse(key, sizeof key);
    return st;
}

ocp_status ocp_open_role(ocp_transport *t, ocp_keystore *ks, uint8_t role,
                         uint32_t terminal_id, uint32_t datetime,
                         ocp_select_info *info, ocp_last_tx *last,
                         ocp_session **out)
{
    ocp_select_info local;
    ocp_status st;

    if (ks == NULL || role < 1 || role > OCP_ROLE_COUNT)
        return OCP_E_ARGS;
    if (info == NULL)
        info = &local;
    st = ocp_select(t, info);
    if (st != OCP_OK)
        return st;
    return hl_open_selected(t, ks, role, terminal_id, datetime, info, last,
                            out);
}

/* PUT KEY for one slot: the key is encrypted by secure messaging and
 * checked by its KCV before the card stores it. */
ocp_status hl_put_key(ocp_session *s, ocp_keystore *ks, uint8_t suite,
                          uint8_t slot)
{
    uint8_t data[19], version = ks->ops->version(ks, suite, slot);
    uint16_t sw;
    ocp_status st = version == 0 ? OCP_E_KEY_MISSING
                                 : ks->ops->card_key(ks, suite, s->card_id,
                                                     slot, version, data);
    if (st != OCP_OK)
        return st;
    ocp_key_check_value(ocp_suite_cipher(suite), data, data + 16);
    st = ocp_session_transmit(s, OCP_CLA_PROP, OCP_INS_PUT_KEY, version, slot,
                              data, sizeof data, NULL, NULL, &sw);
    OPENSSL_cleanse(data, sizeof data);
    return st != OCP_OK ? st : ocp_status_from_sw(sw);
}

static ocp_status put_data(ocp_session *s, uint16_t tag, const uint8_t *d,
                           size_t len)
{
    uint16_t sw;
    ocp_status st = ocp_session_transmit(s, OCP_CLA_ISO, OCP_INS_PUT_DATA,
                                         (uint8_t)(tag >> 8), (uint8_t)tag, d,
                                         len, NULL, NULL, &sw);
    return st != OCP_OK ? st : ocp_status_from_sw(sw);
}

/* The card is past blank: it is ours when its public data is what this
 * request would have written; then only the activation may be missing. */
static ocp_status finish_retry(ocp_transport *t, ocp_keystore *ks,
                               const ocp_issue_request *req,
                               const ocp_select_info *sel, ocp_session *s)
{
    ocp_public_info pub;
    uint8_t digest[16];
    ocp_status st = ocp_read_public(t, &pub);
    if (st != OCP_OK)
        return st;
    st = ocp_holder_digest(ks, req->suite, sel->card_id, &req->holder,
                           digest);
    if (st != OCP_OK)
        return st;
    if (pub.suite != req->suite || pub.issue_date != req->issue_date ||
        pub.expiry_date != req->expiry_date ||
        CRYPTO_memcmp(pub.holder_digest, digest, 16) != 0)
        return OCP_E_DENIED; /* another holder's card: not blank */
    if (sel->state == OCP_STATE_PERSONALISED)
        return ocp_set_state(s, OCP_STATE_ACTIVE);
    return OCP_OK;
}

ocp_status ocp_issue_card(ocp_transport *t, ocp_keystore *ks,
                          const ocp_issue_request *req, ocp_select_info *info)
{
    ocp_select_info sel;
    ocp_session *s = NULL;
    ocp_public_info pub;
    uint8_t buf[128], sig[64];
    size_t n, i;
    uint8_t slot;
    ocp_status st;

    if (t == NULL || ks == NULL || req == NULL ||
        ocp_suite_cipher(req->suite) == 0 ||
        req->expiry_date <= req->issue_date)
        return OCP_E_ARGS;
    st = ocp_open_role(t, ks, OCP_ROLE_ISSUER, req->terminal_id,
                       req->datetime, &sel, NULL, &s);
    if (st != OCP_OK)
        return st;
    if (sel.state == OCP_STATE_PERSONALISED ||
        sel.state == OCP_STATE_ACTIVE) {
        /* A retry after a cut near the end: finish the job if the card
         * already carries this very holder, refuse anything else. */
        st = finish_retry(t, ks, req, &sel, s);
        goto out;
    }
    if (sel.state != OCP_STATE_BLANK) {
        st = OCP_E_DENIED; /* only a blank card can be issued */
        goto out;
    }

    /* Identity first: it fixes the suite the keys are made for. */
    buf[0] = req->suite;
    ocp_put_be16(buf + 1, req->issue_date);
    ocp_put_be16(buf + 3, req->expiry_date);
    if ((st = put_data(s, OCP_TAG_IDENTITY, buf, 5)) != OCP_OK)
        goto out;
    n = hl_holder_tlv(&req->holder, buf, sizeof buf);
    if (n == 0 || strlen(req->holder.cert_no) != OCP_CERT_NO_LEN) {
        st = OCP_E_ARGS;
        goto out;
    }
    if ((st = put_data(s, OCP_TAG_HOLDER, buf, n)) != OCP_OK)
        goto out;

    memset(&pub, 0, sizeof pub);
    memcpy(pub.card_id, sel.card_id, 8);
    pub.suite = req->suite;
    pub.issue_date = req->issue_date;
    pub.expiry_date = req->expiry_date;
    if ((st = ocp_holder_digest(ks, req->suite, sel.card_id, &req->holder,
                                pub.holder_digest)) != OCP_OK)
        goto out;
    ocp_public_message(&pub, buf);
    if ((st = ks->ops->sign(ks, req->suite, buf, 33, sig)) != OCP_OK)
        goto out;
    memcpy(buf, pub.holder_digest, 16);
    memcpy(buf + 16, sig, 64);
    if ((st = put_data(s, OCP_TAG_SIGNATURE, buf, 80)) != OCP_OK)
        goto out;

    if ((st = ocp_unblock_pin(s, req->pin)) != OCP_OK)
        goto out;
    for (i = 0; i < req->n_entitlements; i++) {
        ocp_entitlement e = req->entitlements[i];
        e.slot = 0;
        if ((st = ocp_grant(s, &e, NULL)) != OCP_OK)
            goto out;
    }
    if (RAND_bytes(buf, 32) != 1) {
        st = OCP_E_CRYPTO;
        goto out;
    }
    if ((st = put_data(s, OCP_TAG_DRBG_SEED, buf, 32)) != OCP_OK)
        goto out;
    ocp_put_be16(buf, (uint16_t)(req->datetime / 1440u));
    if ((st = put_data(s, OCP_TAG_DATE, buf, 2)) != OCP_OK)
        goto out;
    /* Role keys, the transaction key, and the issuer key last: until then
     * a cut leaves a card the transport key still opens. */
    for (slot = 2; slot <= OCP_KEY_SLOTS; slot++)
        if ((st = hl_put_key(s, ks, req->suite, slot)) != OCP_OK)
            goto out;
    if ((st = hl_put_key(s, ks, req->suite, OCP_ROLE_ISSUER)) != OCP_OK)
        goto out;
    if ((st = ocp_set_state(s, OCP_STATE_PERSONALISED)) != OCP_OK)
        goto out;
    st = ocp_set_state(s, OCP_STATE_ACTIVE);
out:
    ocp_session_close(s);
    OPENSSL_cleanse(buf, sizeof buf);
    if (st == OCP_OK && info != NULL)
        st = ocp_select(t, info);
    return st;
}
