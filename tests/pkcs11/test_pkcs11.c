/*
 * The PKCS#11 key store against SoftHSM2 (label `pkcs11`; run.sh makes the
 * token and passes its URI as argv[1]).
 *
 * The test also opens the module itself, to look at what the store made
 * and to import master keys of known value: masters made by the token are
 * random, so only known ones let us compare the token's card keys with
 * AN10922 computed here.  The direct handle initialises the module before
 * any store does, and its sessions are closed after each use, so a store's
 * own C_Login is never skipped as "already logged in".
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "card_fixture.h"
#include "ocp/pkcs11.h"
#include "ocp_crypto.h"
#include "ocp_port.h"

static const char *uri;
static char module_path[1024], token[64], pin[64];
static void *dl;
static CK_FUNCTION_LIST_PTR p11;

static const uint8_t batch_key[16] = {0, 1, 2, 3, 4, 5, 6, 7,
                                      8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t test_root[16] = {'P', 'K', 'C', 'S', '1', '1', '-', 'T',
                                      'E', 'S', 'T', '-', 'R', 'O', 'O', 'T'};

/* The known master of (slot, version) this test imports. */
static void known_master(uint8_t slot, uint8_t version, uint8_t out[16])
{
    uint8_t m[6] = {'K', 'N', 'O', 'W', slot, version};
    ocp_cmac(OCP_CIPHER_AES128, test_root, m, sizeof m, out);
}

/* ---- the module, opened directly -------------------------------------- */

/* The value of `name=` in the URI (test URIs are not percent-encoded). */
static void uri_value(const char *name, char *out, size_t cap,
                      const char *fallback)
{
    const char *p = strstr(uri, name);
    size_t n;
    if (p == NULL) {
        snprintf(out, cap, "%s", fallback);
        return;
    }
    p += strlen(name);
    n = strcspn(p, ";&?");
    snprintf(out, cap, "%.*s", (int)n, p);
}

static CK_SESSION_HANDLE direct_open(void)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16, i;
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv;

    assert_int_equal(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        size_t len = strlen(token);
        assert_int_equal(p11->C_GetTokenInfo(slots[i], &ti), CKR_OK);
        if (memcmp(ti.label, token, len) == 0 &&
            (len == 32 || ti.label[len] == ' '))
            break;
    }
    assert_true(i < n);
    assert_int_equal(p11->C_OpenSession(slots[i],
                                        CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                        NULL, NULL, &h),
                     CKR_OK);
    rv = p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    return h;
}

static void direct_close(CK_SESSION_HANDLE h)
{
    assert_int_equal(p11->C_CloseSession(h), CKR_OK);
}

/* Objects labelled `label` (all objects for NULL), up to cap. */
static CK_ULONG direct_find(CK_SESSION_HANDLE h, const char *label,
                            CK_OBJECT_HANDLE *out, CK_ULONG cap)
{
    CK_ATTRIBUTE a = {CKA_LABEL, (void *)label, label ? strlen(label) : 0};
    CK_ULONG n = 0;
    assert_int_equal(p11->C_FindObjectsInit(h, label ? &a : NULL,
                                            label ? 1 : 0),
                     CKR_OK);
    assert_int_equal(p11->C_FindObjects(h, out, cap, &n), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

static void destroy_labelled(const char *label)
{
    CK_SESSION_HANDLE h = direct_open();
    CK_OBJECT_HANDLE obj[256];
    CK_ULONG n = direct_find(h, label, obj, 256), i;
    for (i = 0; i < n; i++)
        assert_int_equal(p11->C_DestroyObject(h, obj[i]), CKR_OK);
    direct_close(h);
}

/* Imports an AES key as the store expects its keys: sign only,
 * sensitive, and (unless `extractable`) never to leave the token. */
static void import_aes(const char *label, const uint8_t key[16],
                       CK_BBOOL extractable)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE, (void *)key, 16},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &extractable, sizeof extractable},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_ENCRYPT, &no, sizeof no},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
    };
    CK_SESSION_HANDLE h = direct_open();
    CK_OBJECT_HANDLE obj;
    assert_int_equal(p11->C_CreateObject(h, t, sizeof t / sizeof t[0], &obj),
                     CKR_OK);
    direct_close(h);
}

static void master_label(uint8_t slot, uint8_t version, char out[32])
{
    snprintf(out, 32, "ocp-master-aes-%02u-%02u", (unsigned)slot,
             (unsigned)version);
}

/* Replaces the token's AES masters by known ones, versions 1..max. */
static void import_known_masters(uint8_t max_version)
{
    uint8_t slot, v, key[16];
    char label[32];
    for (slot = 1; slot <= OCP_KEY_HOLDER; slot++)
        for (v = 1; v <= 3; v++) {
            master_label(slot, v, label);
            destroy_labelled(label);
            if (v > max_version)
                continue;
            known_master(slot, v, key);
            import_aes(label, key, CK_FALSE);
        }
}

static int group_setup(void **state)
{
    CK_C_GetFunctionList get;
    CK_C_INITIALIZE_ARGS args;
    (void)state;
    if (uri == NULL)
        return -1;
    uri_value("module-path=", module_path, sizeof module_path,
              OCP_PKCS11_DEFAULT_MODULE);
    uri_value("token=", token, sizeof token, "");
    uri_value("pin-value=", pin, sizeof pin, "");
    dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL)
        return -1;
    get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (get == NULL || get(&p11) != CKR_OK)
        return -1;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    return p11->C_Initialize(&args) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    p11->C_Finalize(NULL);
    dlclose(dl);
    return 0;
}

/* Every test starts from an empty token. */
static int empty_token(void **state)
{
    (void)state;
    destroy_labelled(NULL);
    return 0;
}

/* Stores a test opened: the teardown closes them, so a failed test leaves
 * no logged-in session behind (it would let a wrong PIN through, as
 * PKCS#11 login is per application). */
static ocp_keystore *stores[4];

static ocp_keystore *open_store(void)
{
    ocp_keystore *ks = NULL;
    size_t i;
    ocp_status st = ocp_pkcs11_open(uri, &ks);
    if (st != OCP_OK)
        print_error("ocp_pkcs11_open: %s\n", ocp_pkcs11_last_error());
    assert_int_equal(st, OCP_OK);
    for (i = 0; stores[i] != NULL; i++)
        assert_true(i + 1 < sizeof stores / sizeof stores[0]);
    stores[i] = ks;
    return ks;
}

static void close_store(ocp_keystore *ks)
{
    size_t i;
    for (i = 0; i < sizeof stores / sizeof stores[0]; i++)
        if (stores[i] == ks)
            stores[i] = NULL;
    ocp_keystore_close(ks);
}

static int close_stores(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof stores / sizeof stores[0]; i++)
        close_store(stores[i]);
    return 0;
}

/* A token holding the known masters (version 1..max), the development
 * batch key and an issuer key pair made by the store. */
static ocp_keystore *open_known_store(uint8_t max_version)
{
    ocp_keystore *ks = open_store();
    assert_int_equal(ocp_pkcs11_init_keys(ks), OCP_OK);
    import_known_masters(max_version);
    import_aes("ocp-batch-4F435000", batch_key, CK_FALSE);
    return ks;
}

/* ---- a software store computing from the same known masters ----------- */

struct soft_store {
    ocp_keystore *signer; /* the dev store, for issuer signatures only */
    uint8_t skew;         /* nonzero: use wrong masters */
};

static ocp_status soft_card_key(ocp_keystore *ks, uint8_t suite,
                                const uint8_t card_id[8], uint8_t slot,
                                uint8_t version, uint8_t out[16])
{
    struct soft_store *s = ks->ctx;
    uint8_t master[16], div[OCP_DIV_INPUT_LEN];
    if (suite != OCP_SUITE_AES)
        return OCP_E_KEY_MISSING;
    known_master(slot, version, master);
    master[0] ^= s->skew;
    ocp_div_input(card_id, slot, version, div);
    ocp_an10922(OCP_CIPHER_AES128, master, div, sizeof div, out);
    return OCP_OK;
}

static ocp_status soft_transport_key(ocp_keystore *ks,
                                     const uint8_t card_id[8],
                                     uint8_t out[16])
{
    uint8_t div[OCP_DIV_INPUT_LEN];
    (void)ks;
    ocp_div_input(card_id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, batch_key, div, sizeof div, out);
    return OCP_OK;
}

static ocp_status soft_sign(ocp_keystore *ks, uint8_t suite,
                            const uint8_t *msg, size_t len, uint8_t sig[64])
{
    ocp_keystore *d = ((struct soft_store *)ks->ctx)->signer;
    return d->ops->sign(d, suite, msg, len, sig);
}

static ocp_status soft_public_key(ocp_keystore *ks, uint8_t suite,
                                  uint8_t *der, size_t *len)
{
    ocp_keystore *d = ((struct soft_store *)ks->ctx)->signer;
    return d->ops->public_key(d, suite, der, len);
}

static uint8_t soft_version(ocp_keystore *ks, uint8_t suite, uint8_t slot)
{
    (void)ks;
    (void)slot;
    return suite == OCP_SUITE_AES ? 1 : 0;
}

static void soft_close(ocp_keystore *ks)
{
    (void)ks; /* on the stack; the signer belongs to the fixture */
}

static const struct ocp_keystore_ops soft_ops = {
    soft_card_key, soft_transport_key, soft_sign, soft_public_key,
    soft_version,  NULL,               NULL,      soft_close};

/* ---- (a) masters cannot be read --------------------------------------- */

static void test_masters_not_extractable(void **state)
{
    static const char *const labels[] = {"ocp-master-aes-01-01",
                                         "ocp-master-aes-02-01",
                                         "ocp-master-aes-10-01"};
    ocp_keystore *ks = open_store();
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE obj[4];
    size_t i;
    (void)state;

    assert_int_equal(ocp_pkcs11_init_keys(ks), OCP_OK);
    h = direct_open();
    for (i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        uint8_t value[32];
        CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE,
                 encrypt = CK_TRUE, derive = CK_TRUE, sign = CK_FALSE,
                 never = CK_FALSE, yes = CK_TRUE;
        CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof value};
        CK_ATTRIBUTE flags[] = {
            {CKA_EXTRACTABLE, &extractable, sizeof extractable},
            {CKA_SENSITIVE, &sensitive, sizeof sensitive},
            {CKA_ENCRYPT, &encrypt, sizeof encrypt},
            {CKA_DERIVE, &derive, sizeof derive},
            {CKA_SIGN, &sign, sizeof sign},
            {CKA_NEVER_EXTRACTABLE, &never, sizeof never},
        };
        CK_ATTRIBUTE enable = {CKA_ENCRYPT, &yes, sizeof yes};
        CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};

        assert_int_equal(direct_find(h, labels[i], obj, 4), 1);
        assert_int_equal(p11->C_GetAttributeValue(h, obj[0], &v, 1),
                         CKR_ATTRIBUTE_SENSITIVE);
        assert_int_equal(p11->C_GetAttributeValue(h, obj[0], flags, 6),
                         CKR_OK);
        assert_int_equal(extractable, CK_FALSE);
        assert_int_equal(sensitive, CK_TRUE);
        assert_int_equal(never, CK_TRUE);
        assert_int_equal(encrypt, CK_FALSE);
        assert_int_equal(derive, CK_FALSE);
        assert_int_equal(sign, CK_TRUE);
        /* Nor can the key be turned into an encryption oracle. */
        assert_int_not_equal(p11->C_SetAttributeValue(h, obj[0], &enable, 1),
                             CKR_OK);
        assert_int_not_equal(p11->C_EncryptInit(h, &ecb, obj[0]), CKR_OK);
    }
    {
        uint8_t value[64];
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE find[] = {
            {CKA_CLASS, &cls, sizeof cls},
            {CKA_LABEL, (void *)"ocp-issuer-aes", 14},
        };
        CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof value};
        CK_ULONG n = 0;
        assert_int_equal(p11->C_FindObjectsInit(h, find, 2), CKR_OK);
        assert_int_equal(p11->C_FindObjects(h, obj, 4, &n), CKR_OK);
        assert_int_equal(p11->C_FindObjectsFinal(h), CKR_OK);
        assert_int_equal(n, 1);
        assert_int_equal(p11->C_GetAttributeValue(h, obj[0], &v, 1),
                         CKR_ATTRIBUTE_SENSITIVE);
    }
    direct_close(h);

    /* Made once: a second run refuses rather than replace them. */
    assert_int_equal(ocp_pkcs11_init_keys(ks), OCP_E_ARGS);
    assert_non_null(strstr(ocp_pkcs11_last_error(), "refusing"));
    close_store(ks);
}

/* ---- (b) card keys equal AN10922 of the master ------------------------ */

static void test_card_keys_match_an10922(void **state)
{
    static const uint8_t cards[][8] = {
        {0x4F, 0x43, 0x50, 0x00, 0x00, 0x00, 0x00, 0x2A},
        {0x4F, 0x43, 0x50, 0x00, 0x00, 0x00, 0x00, 0x2B},
        {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88},
        {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
    };
    ocp_keystore *ks = open_known_store(3);
    size_t c;
    uint8_t slot, v, div[OCP_DIV_INPUT_LEN], master[16], want[16], got[16];
    (void)state;

    for (c = 0; c < sizeof cards / sizeof cards[0]; c++)
        for (slot = 1; slot <= OCP_KEY_HOLDER; slot++)
            for (v = 1; v <= 3; v++) {
                known_master(slot, v, master);
                ocp_div_input(cards[c], slot, v, div);
                ocp_an10922(OCP_CIPHER_AES128, master, div, sizeof div, want);
                assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES,
                                                   cards[c], slot, v, got),
                                 OCP_OK);
                assert_memory_equal(got, want, 16);
            }
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, 4), 3);

    /* A version the token lacks, and the SM suite, are missing keys. */
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, cards[0], 2, 4,
                                       got),
                     OCP_E_KEY_MISSING);
    assert_non_null(strstr(ocp_pkcs11_last_error(), "ocp-master-aes-02-04"));
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_SM, cards[0], 2, 1, got),
                     OCP_E_KEY_MISSING);
    assert_non_null(strstr(ocp_pkcs11_last_error(), "SM4"));
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_SM, 2), 0);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, cards[0], 11, 1,
                                       got),
                     OCP_E_ARGS);

    /* A master the token would reveal is refused, not used. */
    known_master(5, 1, master);
    destroy_labelled("ocp-master-aes-05-01");
    import_aes("ocp-master-aes-05-01", master, CK_TRUE);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, cards[0], 5, 1,
                                       got),
                     OCP_E_KEY_MISSING);
    assert_non_null(strstr(ocp_pkcs11_last_error(), "extractable"));
    close_store(ks);
}

/* ---- (c) a card issued by one store works with the other -------------- */

static void issue_then_use(int issue_with_token)
{
    struct card_fixture f;
    struct soft_store soft = {NULL, 0};
    ocp_keystore soft_ks = {&soft_ops, &soft};
    ocp_keystore *token_ks, *dev_ks, *issuer, *user;
    ocp_public_info pub;
    ocp_session *s;
    ocp_tx_result tx;
    uint8_t der[128];
    size_t der_len = sizeof der;

    assert_int_equal(fixture_blank(&f), 0);
    dev_ks = f.ks;
    soft.signer = dev_ks;
    token_ks = open_known_store(1);
    issuer = issue_with_token ? token_ks : &soft_ks;
    user = issue_with_token ? &soft_ks : token_ks;

    f.ks = issuer;
    assert_int_equal(fixture_issue(&f, OCP_SUITE_AES), 0);
    assert_int_equal(ocp_read_public(f.t, &pub), OCP_OK);
    assert_int_equal(issuer->ops->public_key(issuer, OCP_SUITE_AES, der,
                                             &der_len),
                     OCP_OK);
    assert_int_equal(ocp_verify_public(&pub, der, der_len), OCP_OK);

    f.ks = user;
    assert_int_equal(fixture_session(&f, OCP_ROLE_TRANSIT, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_BUS, 1, 7, &tx), OCP_OK);
    ocp_session_close(s);
    assert_int_equal(fixture_session(&f, OCP_ROLE_MEDICAL, &s), OCP_OK);
    assert_int_equal(ocp_consume(s, SVC_REFILL, 1, 8, &tx), OCP_OK);
    assert_int_equal(tx.remaining, 1);
    ocp_session_close(s);

    /* The comparison can fail: other masters do not open the card. */
    soft.skew = 0x5A;
    f.ks = &soft_ks;
    assert_int_equal(fixture_session(&f, OCP_ROLE_TRANSIT, &s), OCP_E_AUTH);

    close_store(token_ks);
    f.ks = dev_ks;
    fixture_free(&f);
}

static void test_issue_with_token_use_in_software(void **state)
{
    (void)state;
    issue_then_use(1);
}

static void test_issue_in_software_use_with_token(void **state)
{
    (void)state;
    issue_then_use(0);
}

/* ---- (d) transport keys come from the batch key ----------------------- */

static void test_transport_key(void **state)
{
    static const uint8_t other_batch[16] = {0xA5, 0x5A, 0xA5, 0x5A, 1, 2, 3,
                                            4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t card_a[8] = {0x4F, 0x43, 0x50, 0x00, 0, 0, 0, 0x2A};
    static const uint8_t card_b[8] = {0x4F, 0x43, 0x50, 0x00, 0, 0, 1, 0x00};
    static const uint8_t card_c[8] = {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0x01};
    static const uint8_t card_x[8] = {0xA1, 0xB2, 0xC3, 0xD4, 0, 0, 0, 0x01};
    ocp_keystore *ks = open_store();
    uint8_t div[OCP_DIV_INPUT_LEN], want[16], got[16];
    (void)state;

    import_aes("ocp-batch-4F435000", batch_key, CK_FALSE);
    import_aes("ocp-batch-11223344", other_batch, CK_FALSE);

    ocp_div_input(card_a, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, batch_key, div, sizeof div, want);
    assert_int_equal(ks->ops->transport_key(ks, card_a, got), OCP_OK);
    assert_memory_equal(got, want, 16);

    ocp_div_input(card_b, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, batch_key, div, sizeof div, want);
    assert_int_equal(ks->ops->transport_key(ks, card_b, got), OCP_OK);
    assert_memory_equal(got, want, 16);

    ocp_div_input(card_c, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, other_batch, div, sizeof div, want);
    assert_int_equal(ks->ops->transport_key(ks, card_c, got), OCP_OK);
    assert_memory_equal(got, want, 16);

    assert_int_equal(ks->ops->transport_key(ks, card_x, got),
                     OCP_E_KEY_MISSING);
    assert_non_null(strstr(ocp_pkcs11_last_error(), "ocp-batch-A1B2C3D4"));
    close_store(ks);
}

/* ---- (e) the token's signatures verify -------------------------------- */

static void test_signature_verifies(void **state)
{
    ocp_keystore *ks = open_store();
    ocp_public_info pub;
    uint8_t msg[33], der[128], small[16];
    size_t der_len = sizeof der, small_len = sizeof small;
    int i;
    (void)state;

    assert_int_equal(ks->ops->sign(ks, OCP_SUITE_AES, msg, 33,
                                   pub.signature),
                     OCP_E_KEY_MISSING);
    assert_int_equal(ocp_pkcs11_init_keys(ks), OCP_OK);
    assert_int_equal(ks->ops->public_key(ks, OCP_SUITE_AES, der, &der_len),
                     OCP_OK);
    assert_int_equal(der_len, 91); /* SubjectPublicKeyInfo of P-256 */
    assert_int_equal(ks->ops->public_key(ks, OCP_SUITE_AES, small,
                                         &small_len),
                     OCP_E_BUFFER);
    assert_int_equal(small_len, 91);

    for (i = 0; i < 8; i++) {
        memset(&pub, 0, sizeof pub);
        memcpy(pub.card_id, "OCP\0\0\0\0", 8);
        pub.card_id[7] = (uint8_t)i;
        pub.suite = OCP_SUITE_AES;
        pub.issue_date = (uint16_t)(9000 + i);
        pub.expiry_date = (uint16_t)(12000 + i);
        memset(pub.holder_digest, 0x30 + i, 16);
        ocp_public_message(&pub, msg);
        assert_int_equal(ks->ops->sign(ks, OCP_SUITE_AES, msg, sizeof msg,
                                       pub.signature),
                         OCP_OK);
        assert_int_equal(ocp_verify_public(&pub, der, der_len), OCP_OK);
        pub.expiry_date++;
        assert_int_equal(ocp_verify_public(&pub, der, der_len),
                         OCP_E_SIGNATURE);
    }
    assert_int_equal(ks->ops->sign(ks, OCP_SUITE_SM, msg, sizeof msg,
                                   pub.signature),
                     OCP_E_KEY_MISSING);
    der_len = sizeof der;
    assert_int_equal(ks->ops->public_key(ks, OCP_SUITE_SM, der, &der_len),
                     OCP_E_KEY_MISSING);
    close_store(ks);
}

/* ---- (f) rotation and the key list ------------------------------------ */

/* The PKCS#11 check value: E(key, 00*16), first 3 bytes. */
static void check_value(const uint8_t key[16], uint8_t kcv[3])
{
    uint8_t zero[16] = {0}, out[32];
    int n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key,
                                        NULL),
                     1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, out, &n, zero, 16), 1);
    EVP_CIPHER_CTX_free(c);
    memcpy(kcv, out, 3);
}

static void test_rotate_and_list(void **state)
{
    static const uint8_t card[8] = {0x4F, 0x43, 0x50, 0x00, 0, 0, 0, 0x2A};
    ocp_keystore *ks = open_known_store(1);
    ocp_key_info info[16];
    size_t n = sizeof info / sizeof info[0], i;
    uint8_t v = 0, master[16], kcv[3], k1[16], k2[16];
    (void)state;

    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, 2), 1);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_AES, 2, &v), OCP_OK);
    assert_int_equal(v, 2);
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, 2), 2);
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, 3), 1);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, card, 2, 1, k1),
                     OCP_OK);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_AES, card, 2, 2, k2),
                     OCP_OK);
    assert_memory_not_equal(k1, k2, 16);

    assert_int_equal(ks->ops->list(ks, info, &n), OCP_OK);
    assert_int_equal(n, 11);
    for (i = 0; i < n; i++) {
        assert_int_equal(info[i].suite, OCP_SUITE_AES);
        if (info[i].version == 1) {
            known_master(info[i].slot, 1, master);
            check_value(master, kcv);
            assert_memory_equal(info[i].kcv, kcv, 3);
        }
    }
    /* Sorted by slot then version: slot 2 has 1 (old) and 2 (current). */
    assert_int_equal(info[1].slot, 2);
    assert_int_equal(info[1].version, 1);
    assert_int_equal(info[1].current, 0);
    assert_int_equal(info[2].slot, 2);
    assert_int_equal(info[2].version, 2);
    assert_int_equal(info[2].current, 1);
    assert_int_equal(info[3].slot, 3);
    assert_int_equal(info[3].current, 1);
    assert_memory_not_equal(info[1].kcv, info[2].kcv, 3);

    /* Too small a buffer says how many there are. */
    n = 4;
    assert_int_equal(ks->ops->list(ks, info, &n), OCP_E_BUFFER);
    assert_int_equal(n, 11);

    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_AES, OCP_KEY_HOLDER, &v),
                     OCP_E_ARGS);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_SM, 2, &v),
                     OCP_E_KEY_MISSING);
    close_store(ks);
}

/* ---- (g) opening errors ----------------------------------------------- */

struct open_case {
    const char *uri;
    ocp_status status;
    const char *message; /* a part of ocp_pkcs11_last_error() */
};

static void test_open_errors(void **state)
{
    char wrong_pin[2048], no_module[2048], no_token[2048];
    const struct open_case cases[] = {
        {wrong_pin, OCP_E_AUTH, "wrong PIN"},
        {no_module, OCP_E_IO, "/nonexistent/libnothing.so"},
        {no_token, OCP_E_ARGS, "no token labelled 'no-such-token'"},
        {"file:/tmp/x", OCP_E_ARGS, "pkcs11:"},
        {"pkcs11:token=ocp-test;pin-value=1234", OCP_E_ARGS,
         "query attribute"},
        {"pkcs11:?pin-value=1234", OCP_E_ARGS, "'token=LABEL'"},
        {"pkcs11:token=ocp-test", OCP_E_ARGS, "pin"},
        {"pkcs11:token=ocp-test?pin-value=1%2", OCP_E_ARGS,
         "percent-encoded"},
        {"pkcs11:token=ocp-test;object=x?pin-value=1234", OCP_E_ARGS,
         "'object'"},
        {"pkcs11:token=ocp-test?pin-value=1&pin-value=2", OCP_E_ARGS,
         "twice"},
        {"pkcs11:token=ocp-test?pin-source=file:/nonexistent/pin",
         OCP_E_IO, "PIN file"},
    };
    ocp_keystore *ks;
    size_t i;
    (void)state;

    snprintf(wrong_pin, sizeof wrong_pin,
             "pkcs11:token=%s?pin-value=%s9&module-path=%s", token, pin,
             module_path);
    snprintf(no_module, sizeof no_module,
             "pkcs11:token=%s?pin-value=%s&module-path=/nonexistent/"
             "libnothing.so",
             token, pin);
    snprintf(no_token, sizeof no_token,
             "pkcs11:token=no-such-token?pin-value=%s&module-path=%s", pin,
             module_path);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ks = (ocp_keystore *)&ks;
        assert_int_equal(ocp_pkcs11_open(cases[i].uri, &ks),
                         cases[i].status);
        assert_null(ks);
        if (strstr(ocp_pkcs11_last_error(), cases[i].message) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
                     ocp_pkcs11_last_error(), cases[i].message);
        /* Messages never repeat the PIN. */
        assert_null(strstr(ocp_pkcs11_last_error(), "12349"));
    }
}

/* The PIN can come from a file, and a percent-encoded token label. */
static void test_pin_source(void **state)
{
    char path[] = "/tmp/ocp-pin-XXXXXX", u[2048], label[200];
    int fd = mkstemp(path);
    ocp_keystore *ks = NULL;
    size_t i, n = 0;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, pin, strlen(pin)), (ssize_t)strlen(pin));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    for (i = 0; token[i] != '\0' && n + 4 < sizeof label; i++)
        n += (size_t)snprintf(label + n, sizeof label - n, "%%%02X",
                              (unsigned)(unsigned char)token[i]);
    snprintf(u, sizeof u, "pkcs11:token=%s?pin-source=file:%s&module-path=%s",
             label, path, module_path);
    assert_int_equal(ocp_pkcs11_open(u, &ks), OCP_OK);
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, 1), 0);
    ocp_keystore_close(ks);
    unlink(path);
}

/* Two stores on one module: closing one leaves the other working. */
static void test_two_stores(void **state)
{
    ocp_keystore *a = open_known_store(1), *b = open_store();
    static const uint8_t card[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t ka[16], kb[16];
    (void)state;

    assert_int_equal(a->ops->card_key(a, OCP_SUITE_AES, card, 3, 1, ka),
                     OCP_OK);
    close_store(a);
    assert_int_equal(b->ops->card_key(b, OCP_SUITE_AES, card, 3, 1, kb),
                     OCP_OK);
    assert_memory_equal(ka, kb, 16);
    close_store(b);
}

/* Each test: an empty token first, no store left open after. */
#define TOKEN_TEST(f) \
    cmocka_unit_test_setup_teardown(f, empty_token, close_stores)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        TOKEN_TEST(test_masters_not_extractable),
        TOKEN_TEST(test_card_keys_match_an10922),
        TOKEN_TEST(test_issue_with_token_use_in_software),
        TOKEN_TEST(test_issue_in_software_use_with_token),
        TOKEN_TEST(test_transport_key),
        TOKEN_TEST(test_signature_verifies),
        TOKEN_TEST(test_rotate_and_list),
        TOKEN_TEST(test_open_errors),
        TOKEN_TEST(test_pin_source),
        TOKEN_TEST(test_two_stores),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s PKCS11-URI (tests/pkcs11/run.sh makes "
                        "the token)\n", argv[0]);
        return 2;
    }
    uri = argv[1];
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
