/*
 * GET DATA and PUT DATA: public information, the holder record, the card
 * status, and the issuer's personalisation objects.
 */
#include <string.h>

#include "card_internal.h"

/* ---- holder record ------------------------------------------------------
 * REC_HOLDER1: cert no(20) | category | grade | district(4) | name length |
 *              name bytes 0..28;  REC_HOLDER2: name bytes 29..47. */
#define NAME_IN_FIRST 29u

struct holder {
    uint8_t cert[OCP_CERT_NO_LEN];
    uint8_t category, grade;
    uint32_t district;
    uint8_t name_len;
    uint8_t name[OCP_NAME_MAX];
};

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t more, k;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F)
                return 0; /* no control characters in a name */
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            more = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            more = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            more = 3;
            cp = c & 0x07u;
        } else {
            return 0;
        }
        if (n - i <= more)
            return 0;
        for (k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        /* Reject overlong forms, surrogates and values past U+10FFFF. */
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
            (more == 3 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
            cp > 0x10FFFF)
            return 0;
        i += more + 1;
    }
    return 1;
}

/* Certificate number: 17 digits, a digit or X (the national id check
 * character), then the category digit and the grade digit. */
static int cert_valid(const uint8_t *c, uint8_t category, uint8_t grade)
{
    unsigned i;
    for (i = 0; i < 17; i++)
        if (c[i] < '0' || c[i] > '9')
            return 0;
    if (!((c[17] >= '0' && c[17] <= '9') || c[17] == 'X'))
        return 0;
    return c[18] == (uint8_t)('0' + category) &&
           c[19] == (uint8_t)('0' + grade);
}

static int holder_load(const struct ocp_card *card, struct holder *h)
{
    uint8_t r1[STORE_PAYLOAD], r2[STORE_PAYLOAD];
    int got = store_read(card, REC_HOLDER1, r1);
    if (got <= 0 || store_read(card, REC_HOLDER2, r2) < 0)
        return got < 0 ? -1 : 0;
    memcpy(h->cert, r1, OCP_CERT_NO_LEN);
    h->category = r1[20];
    h->grade = r1[21];
    h->district = ocp_get_be32(r1 + 22);
    h->name_len = r1[26] > OCP_NAME_MAX ? OCP_NAME_MAX : r1[26];
    memcpy(h->name, r1 + 27, NAME_IN_FIRST);
    memcpy(h->name + NAME_IN_FIRST, r2, OCP_NAME_MAX - NAME_IN_FIRST);
    return 1;
}

/* Checks holder TLVs and encodes the two holder records. */
static uint16_t holder_encode(const uint8_t *data, size_t len,
                              uint8_t r1[STORE_PAYLOAD],
                              uint8_t r2[STORE_PAYLOAD])
{
    struct holder h;
    unsigned seen = 0;
    ocp_reader r;

    memset(&h, 0, sizeof h);
    ocp_reader_init(&r, data, len);
    while (r.ok && ocp_reader_left(&r) > 0) {
        uint8_t tag = ocp_get_u8(&r), l = ocp_get_u8(&r);
        const uint8_t *v = ocp_get_span(&r, l);
        if (v == NULL)
            break;
        if (tag < OCP_HT_NAME || tag > OCP_HT_DISTRICT ||
            (seen & (1u << tag)))
            return OCP_SW_WRONG_DATA;
        seen |= 1u << tag;
        switch (tag) {
        case OCP_HT_NAME:
            if (l == 0 || l > OCP_NAME_MAX || !utf8_valid(v, l))
                return OCP_SW_WRONG_DATA;
            h.name_len = l;
            memcpy(h.name, v, l);
            break;
        case OCP_HT_CERT_NO:
            if (l != OCP_CERT_NO_LEN)
                return OCP_SW_WRONG_DATA;
            memcpy(h.cert, v, l);
            break;
        case OCP_HT_CATEGORY:
            if (l != 1 || v[0] < 1 || v[0] > 7)
                return OCP_SW_WRONG_DATA;
            h.category = v[0];
            break;
        case OCP_HT_GRADE:
            if (l != 1 || v[0] < 1 || v[0] > 4)
                return OCP_SW_WRONG_DATA;
            h.grade = v[0];
            break;
        default: /* district: GB/T 2260 six-digit code */
            if (l != 4)
                return OCP_SW_WRONG_DATA;
            h.district = ocp_get_be32(v);
            if (h.district < 110000u || h.district > 999999u)
                return OCP_SW_WRONG_DATA;
            break;
        }
    }
    if (!r.ok)
        return OCP_SW_WRONG_LENGTH;
    if (seen != 0x3Eu || !cert_valid(h.cert, h.category, h.grade))
        return OCP_SW_WRONG_DATA;

    memset(r1, 0, STORE_PAYLOAD);
    memset(r2, 0, STORE_PAYLOAD);
    memcpy(r1, h.cert, OCP_CERT_NO_LEN);
    r1[20] = h.category;
    r1[21] = h.grade;
    ocp_put_be32(r1 + 22, h.district);
    r1[26] = h.name_len;
    memcpy(r1 + 27, h.name, NAME_IN_FIRST);
    memcpy(r2, h.name + NAME_IN_FIRST, OCP_NAME_MAX - NAME_IN_FIRST);
    return OCP_SW_OK;
}

static uint16_t holder_get(const struct ocp_card *card, card_apdu *a)
{
    struct holder h;
    ocp_writer w;
    uint8_t role = card->session_role;
    int got;

    if (!role_sees_disability(role) || !session_may_read(card))
        return OCP_SW_SECURITY_STATUS;
    got = holder_load(card, &h);
    if (got < 0)
        return OCP_SW_MEMORY_FAILURE;
    if (got == 0)
        return OCP_SW_REF_NOT_FOUND;
    ocp_writer_init(&w, a->out, a->out_cap);
    if (role_sees_identity(role)) {
        ocp_put_u8(&w, OCP_HT_NAME);
        ocp_put_u8(&w, h.name_len);
        ocp_put_bytes(&w, h.name, h.name_len);
        ocp_put_u8(&w, OCP_HT_CERT_NO);
        ocp_put_u8(&w, OCP_CERT_NO_LEN);
        ocp_put_bytes(&w, h.cert, OCP_CERT_NO_LEN);
    }
    ocp_put_u8(&w, OCP_HT_CATEGORY);
    ocp_put_u8(&w, 1);
    ocp_put_u8(&w, h.category);
    ocp_put_u8(&w, OCP_HT_GRADE);
    ocp_put_u8(&w, 1);
    ocp_put_u8(&w, h.grade);
    if (role_sees_identity(role)) {
        ocp_put_u8(&w, OCP_HT_DISTRICT);
        ocp_put_u8(&w, 4);
        ocp_put_u32(&w, h.district);
    }
    a->out_len = ocp_writer_len(&w, a->out);
    return OCP_SW_OK;
}

/* ---- identity, signature, public data ----------------------------------
 * REC_IDENT: suite | issue date(2) | expiry date(2)
 * REC_SIG1: digest(16) | signature 0..39;  REC_SIG2: signature 40..63 */

static uint16_t public_get(const struct ocp_card *card, card_apdu *a)
{
    uint8_t ident[STORE_PAYLOAD], s1[STORE_PAYLOAD], s2[STORE_PAYLOAD];
    ocp_writer w;
    if (store_read(card, REC_IDENT, ident) < 0 ||
        store_read(card, REC_SIG1, s1) < 0 ||
        store_read(card, REC_SIG2, s2) < 0)
        return OCP_SW_MEMORY_FAILURE;
    ocp_writer_init(&w, a->out, a->out_cap);
    ocp_put_bytes(&w, card->card_id, OCP_CARD_ID_LEN);
    ocp_put_bytes(&w, ident, 5);
    ocp_put_bytes(&w, s1, OCP_DIGEST_LEN + 40u);
    ocp_put_bytes(&w, s2, OCP_SIGNATURE_LEN - 40u);
    a->out_len = ocp_writer_len(&w, a->out);
    return OCP_SW_OK;
}

static uint16_t status_get(const struct ocp_card *card, card_apdu *a)
{
    uint8_t ident[STORE_PAYLOAD], pin[STORE_PAYLOAD], ent[STORE_PAYLOAD];
    ocp_writer w;
    unsigned i, free_slots = 0;

    if (store_read(card, REC_IDENT, ident) < 0 ||
        store_read(card, REC_PIN, pin) < 0)
        return OCP_SW_MEMORY_FAILURE;
    for (i = 0; i < OCP_MAX_ENTITLEMENTS; i++) {
        int got = store_read(card, REC_ENT0 + i, ent);
        if (got < 0)
            return OCP_SW_MEMORY_FAILURE;
        if (got == 0 || ent[0] == 0)
            free_slots++;
    }
    ocp_writer_init(&w, a->out, a->out_cap);
    ocp_put_u8(&w, card->root.state);
    ocp_put_u32(&w, card->root.tx_counter);
    ocp_put_u16(&w, card->root.last_date);
    ocp_put_u8(&w, card->root.pin_tries);
    ocp_put_u8(&w, pin[9]);
    ocp_put_u16(&w, ocp_get_be16(ident + 3));
    ocp_put_u8(&w, (uint8_t)free_slots);
    a->out_len = ocp_writer_len(&w, a->out);
    return OCP_SW_OK;
}

uint16_t cmd_get_data(struct ocp_card *card, card_apdu *a)
{
    uint16_t tag = (uint16_t)((a->p1 << 8) | a->p2);
    int protected_tag = tag == OCP_TAG_HOLDER || tag == OCP_TAG_STATUS;
    /* A protected object asked in plain is refused before anything else is
     * looked at, as for every protected command. */
    if (protected_tag && !a->sm) {
        if (card->session_role != 0) {
            channel_close(card); /* plain command inside a session */
            return OCP_SW_SM_MISSING;
        }
        return OCP_SW_SECURITY_STATUS;
    }
    if (!a->has_le || a->len != 0)
        return OCP_SW_WRONG_LENGTH;
    if (tag == OCP_TAG_PUBLIC)
        return public_get(card, a);
    if (!protected_tag)
        return OCP_SW_REF_NOT_FOUND;
    if (tag == OCP_TAG_HOLDER)
        return holder_get(card, a);
    return status_get(card, a);
}

static uint16_t put_records(struct ocp_card *card, const uint8_t *h1,
                            const uint8_t *h2)
{
    struct ocp_card_root root = card->root;
    store_begin(card);
    if (store_put(card, REC_HOLDER1, h1) != 0 ||
        store_put(card, REC_HOLDER2, h2) != 0 ||
        store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    return OCP_SW_OK;
}

static uint16_t put_record(struct ocp_card *card, unsigned rec,
                           const uint8_t *payload)
{
    struct ocp_card_root root = card->root;
    store_begin(card);
    if (store_put(card, rec, payload) != 0 || store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    return OCP_SW_OK;
}

/* Checks an identity object and encodes its record. */
static uint16_t identity_encode(const struct ocp_card *card,
                                const uint8_t *data, size_t len,
                                uint8_t rec[STORE_PAYLOAD])
{
    uint8_t old[STORE_PAYLOAD];
    uint8_t suite;
    uint16_t issue, expiry;
    ocp_reader r;

    ocp_reader_init(&r, data, len);
    suite = ocp_get_u8(&r);
    issue = ocp_get_u16(&r);
    expiry = ocp_get_u16(&r);
    if (!ocp_reader_done(&r))
        return OCP_SW_WRONG_LENGTH;
    if (ocp_suite_cipher(suite) == 0 || issue == 0 || expiry <= issue)
        return OCP_SW_WRONG_DATA;
    if (store_read(card, REC_IDENT, old) < 0)
        return OCP_SW_MEMORY_FAILURE;
    /* The suite is fixed once the card leaves the blank state. */
    if (card->root.state != OCP_STATE_BLANK && old[0] != suite)
        return OCP_SW_CONDITIONS;
    memset(rec, 0, STORE_PAYLOAD);
    memcpy(rec, data, 5);
    return OCP_SW_OK;
}

#define SIG_OBJECT_LEN (OCP_DIGEST_LEN + OCP_SIGNATURE_LEN)

/*
 * Writes the signature object (digest and signature, `sig`) together with
 * whatever it signs that changed: the holder records, the identity record,
 * or nothing.  One transaction, so a card never shows a signature that
 * does not match its data.
 */
static uint16_t signed_put(struct ocp_card *card, const uint8_t *sig,
                           const uint8_t *h1, const uint8_t *h2,
                           const uint8_t *ident)
{
    uint8_t s1[STORE_PAYLOAD], s2[STORE_PAYLOAD];
    struct ocp_card_root root = card->root;
    memset(s1, 0, sizeof s1);
    memset(s2, 0, sizeof s2);
    memcpy(s1, sig, OCP_DIGEST_LEN + 40u);
    memcpy(s2, sig + OCP_DIGEST_LEN + 40u, OCP_SIGNATURE_LEN - 40u);
    store_begin(card);
    if ((h1 && (store_put(card, REC_HOLDER1, h1) != 0 ||
                store_put(card, REC_HOLDER2, h2) != 0)) ||
        (ident && store_put(card, REC_IDENT, ident) != 0) ||
        store_put(card, REC_SIG1, s1) != 0 ||
        store_put(card, REC_SIG2, s2) != 0 || store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    return OCP_SW_OK;
}

static uint16_t date_put(struct ocp_card *card, const uint8_t *data,
                         size_t len)
{
    struct ocp_card_root root = card->root;
    if (len != 2)
        return OCP_SW_WRONG_LENGTH;
    root.last_date = ocp_get_be16(data);
    root.pending_date = 0;
    root.pending_terminal = 0;
    store_begin(card);
    if (store_commit(card, &root) != 0)
        return OCP_SW_MEMORY_FAILURE;
    return OCP_SW_OK;
}

uint16_t cmd_put_data(struct ocp_card *card, card_apdu *a)
{
    uint16_t tag = (uint16_t)((a->p1 << 8) | a->p2);
    uint8_t r1[STORE_PAYLOAD], r2[STORE_PAYLOAD];
    uint16_t sw;
    size_t body = a->len >= SIG_OBJECT_LEN ? a->len - SIG_OBJECT_LEN : 0;

    if (card->session_role != OCP_ROLE_ISSUER)
        return OCP_SW_SECURITY_STATUS;
    if (card->root.state == OCP_STATE_TERMINATED)
        return OCP_SW_CONDITIONS;
    switch (tag) {
    case OCP_TAG_IDENTITY:
        sw = identity_encode(card, a->data, a->len, r1);
        return sw != OCP_SW_OK ? sw : put_record(card, REC_IDENT, r1);
    case OCP_TAG_SIGNATURE:
        if (a->len != SIG_OBJECT_LEN)
            return OCP_SW_WRONG_LENGTH;
        return signed_put(card, a->data, NULL, NULL, NULL);
    case OCP_TAG_HOLDER:
        sw = holder_encode(a->data, a->len, r1, r2);
        return sw != OCP_SW_OK ? sw : put_records(card, r1, r2);
    case OCP_TAG_HOLDER_SIGNED:
        if (a->len <= SIG_OBJECT_LEN)
            return OCP_SW_WRONG_LENGTH;
        sw = holder_encode(a->data, body, r1, r2);
        return sw != OCP_SW_OK
                   ? sw
                   : signed_put(card, a->data + body, r1, r2, NULL);
    case OCP_TAG_IDENTITY_SIGNED:
        if (a->len != 5 + SIG_OBJECT_LEN)
            return OCP_SW_WRONG_LENGTH;
        sw = identity_encode(card, a->data, 5, r1);
        return sw != OCP_SW_OK
                   ? sw
                   : signed_put(card, a->data + 5, NULL, NULL, r1);
    case OCP_TAG_DRBG_SEED:
        return cmd_put_drbg_seed(card, a->data, a->len);
    case OCP_TAG_DATE:
        return date_put(card, a->data, a->len);
    default:
        return OCP_SW_REF_NOT_FOUND;
    }
}
