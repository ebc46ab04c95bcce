/*
 * The PKCS#11 key store (ocp/pkcs11.h, docs/PKCS11.md).  Master keys are
 * AES keys in the token that may only sign: a card key is
 * C_Sign(CKM_AES_CMAC, master, 01 || m), which is AN10922 because 01 || m
 * is 19 bytes (docs/PROTOCOL.md 1.1), so no master ever leaves the token.
 * The issuer key of the AES suite is a P-256 pair in the token; CKM_ECDSA
 * signs a SHA-256 digest made here and returns r || s, the card's format.
 *
 * The module is loaded with dlopen, so libocp does not depend on any one
 * PKCS#11 library.  Objects are found by label on every use rather than
 * cached: a rotation made by another desk is seen at once.
 */
#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* From libp11-kit-dev (pkg-config p11-kit-1 gives the include path). */
#include <p11-kit/pkcs11.h>

#include "ocp/pkcs11.h"
#include "ocp_crypto.h"
#include "ocp_wire.h"

#define LABEL_MAX 64        /* longest label we read back */
#define PIN_MAX 256
#define MAX_MODULES 8       /* distinct modules open at once in a process */

static const char master_prefix[] = "ocp-master-aes-";
static const char issuer_label[] = "ocp-issuer-aes";
/* DER of the OID prime256v1 (1.2.840.10045.3.1.7), as CKA_EC_PARAMS. */
static const uint8_t p256_params[] = {0x06, 0x08, 0x2A, 0x86, 0x48,
                                      0xCE, 0x3D, 0x03, 0x01, 0x07};

struct p11_store {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE session;
    int has_session;
    char token[33];
};

/* ---- errors ------------------------------------------------------------ */

static __thread char last_error[320];

const char *ocp_pkcs11_last_error(void)
{
    return last_error;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

static const char *rv_name(CK_RV rv)
{
    static const struct {
        CK_RV rv;
        const char *name;
    } names[] = {
        {CKR_OK, "CKR_OK"},
        {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
        {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
        {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
        {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
        {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
        {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
        {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
        {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
        {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
        {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
        {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
        {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
        {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
        {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
        {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
        {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
        {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
        {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
        {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
        {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
        {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
        {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
        {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
        {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
        {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
        {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
        {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
        {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
        {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
        {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
        {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
        {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
        {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
        {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
        {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].rv == rv)
            return names[i].name;
    return "an unlisted CKR code";
}

/* Records a failed PKCS#11 call; returns OCP_E_CRYPTO for convenience. */
static ocp_status p11_fail(const char *what, const char *label, CK_RV rv)
{
    set_error("PKCS#11 %s%s%s failed: %s (0x%lx)", what,
              label ? " of " : "", label ? label : "", rv_name(rv),
              (unsigned long)rv);
    return OCP_E_CRYPTO;
}

static ocp_status sm_refused(void)
{
    set_error("the PKCS#11 key store holds AES-suite keys only: SoftHSM "
              "has no SM4 or SM2, SM cards need a GM/T 0018 HSM or the "
              "key-file store");
    return OCP_E_KEY_MISSING;
}

/* OCP_OK for the AES suite; OCP_E_KEY_MISSING for SM; else OCP_E_ARGS. */
static ocp_status check_suite(uint8_t suite)
{
    if (suite == OCP_SUITE_AES)
        return OCP_OK;
    if (suite == OCP_SUITE_SM)
        return sm_refused();
    set_error("unknown cipher suite %u", (unsigned)suite);
    return OCP_E_ARGS;
}

/* ---- modules ----------------------------------------------------------- */

/* A module is initialised once per process however many stores use it;
 * the last store to close finalises it, unless someone else in the
 * process had initialised it first (then it is theirs to finalise). */
static struct {
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    int ours;
} modules[MAX_MODULES];
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

static ocp_status module_acquire(CK_FUNCTION_LIST_PTR f, const char *path)
{
    CK_C_INITIALIZE_ARGS args;
    ocp_status st = OCP_OK;
    size_t i, free_i = MAX_MODULES;
    CK_RV rv;

    pthread_mutex_lock(&modules_lock);
    for (i = 0; i < MAX_MODULES; i++) {
        if (modules[i].f == f) {
            modules[i].refs++;
            goto out;
        }
        if (modules[i].f == NULL && free_i == MAX_MODULES)
            free_i = i;
    }
    if (free_i == MAX_MODULES) {
        set_error("more than %d PKCS#11 modules open", MAX_MODULES);
        st = OCP_E_NOMEM;
        goto out;
    }
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        set_error("PKCS#11 module %s: C_Initialize failed: %s (0x%lx)", path,
                  rv_name(rv), (unsigned long)rv);
        st = OCP_E_CRYPTO;
        goto out;
    }
    modules[free_i].f = f;
    modules[free_i].refs = 1;
    modules[free_i].ours = rv == CKR_OK;
out:
    pthread_mutex_unlock(&modules_lock);
    return st;
}

static void module_release(CK_FUNCTION_LIST_PTR f)
{
    size_t i;
    pthread_mutex_lock(&modules_lock);
    for (i = 0; i < MAX_MODULES; i++) {
        if (modules[i].f != f)
            continue;
        if (--modules[i].refs == 0) {
            if (modules[i].ours)
                f->C_Finalize(NULL);
            modules[i].f = NULL;
        }
        break;
    }
    pthread_mutex_unlock(&modules_lock);
}

/* ---- objects ----------------------------------------------------------- */

static struct p11_store *store_of(ocp_keystore *ks)
{
    return ks->ctx;
}

/* Every object matching `tmpl`; *out is malloc'd (NULL when none). */
static ocp_status find_all(struct p11_store *s, CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, CK_OBJECT_HANDLE **out, size_t *count)
{
    CK_OBJECT_HANDLE *h = NULL, *grown;
    size_t cap = 0, len = 0;
    CK_ULONG got;
    CK_RV rv;
    ocp_status st = OCP_OK;

    *out = NULL;
    *count = 0;
    rv = s->f->C_FindObjectsInit(s->session, tmpl, n);
    if (rv != CKR_OK)
        return p11_fail("C_FindObjectsInit", NULL, rv);
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 32;
            grown = realloc(h, cap * sizeof *h);
            if (grown == NULL) {
                set_error("out of memory listing token objects");
                st = OCP_E_NOMEM;
                break;
            }
            h = grown;
        }
        rv = s->f->C_FindObjects(s->session, h + len, cap - len, &got);
        if (rv != CKR_OK) {
            st = p11_fail("C_FindObjects", NULL, rv);
            break;
        }
        if (got == 0)
            break;
        len += got;
    }
    s->f->C_FindObjectsFinal(s->session);
    if (st != OCP_OK) {
        free(h);
        return st;
    }
    *out = h;
    *count = len;
    return OCP_OK;
}

/* The one object of `cls` labelled `label`. */
static ocp_status find_one(struct p11_store *s, CK_OBJECT_CLASS cls,
                           const char *label, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_OBJECT_HANDLE *h;
    size_t n;
    ocp_status st = find_all(s, tmpl, 2, &h, &n);

    if (st != OCP_OK)
        return st;
    if (n == 1)
        *out = h[0];
    free(h);
    if (n == 0) {
        set_error("token '%s' has no key labelled %s", s->token, label);
        return OCP_E_KEY_MISSING;
    }
    if (n > 1) {
        set_error("token '%s' has %zu keys labelled %s; remove all but one",
                  s->token, n, label);
        return OCP_E_KEY_MISSING;
    }
    return OCP_OK;
}

/* A key we use must be one the token will never reveal. */
static ocp_status check_protected(struct p11_store *s, CK_OBJECT_HANDLE h,
                                  const char *label)
{
    CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_SENSITIVE, &sensitive, sizeof sensitive},
        {CKA_EXTRACTABLE, &extractable, sizeof extractable},
    };
    CK_RV rv = s->f->C_GetAttributeValue(s->session, h, tmpl, 2);
    if (rv != CKR_OK)
        return p11_fail("C_GetAttributeValue", label, rv);
    if (sensitive != CK_TRUE || extractable != CK_FALSE) {
        set_error("key %s in token '%s' is %s: refusing to use it "
                  "(docs/PKCS11.md)", label, s->token,
                  sensitive != CK_TRUE ? "not sensitive" : "extractable");
        return OCP_E_KEY_MISSING;
    }
    return OCP_OK;
}

static ocp_status find_key(struct p11_store *s, CK_OBJECT_CLASS cls,
                           const char *label, CK_OBJECT_HANDLE *out)
{
    ocp_status st = find_one(s, cls, label, out);
    return st != OCP_OK ? st : check_protected(s, *out, label);
}

static void master_label(uint8_t slot, uint8_t version, char out[LABEL_MAX])
{
    snprintf(out, LABEL_MAX, "%s%02u-%02u", master_prefix, (unsigned)slot,
             (unsigned)version);
}

/* Parses a master label; 0 if it is not one in canonical form. */
static int parse_master_label(const char *label, uint8_t *slot,
                              uint8_t *version)
{
    const size_t plen = sizeof master_prefix - 1;
    unsigned long sl, ver;
    char *end, canon[LABEL_MAX];

    if (strncmp(label, master_prefix, plen) != 0 ||
        label[plen] < '0' || label[plen] > '9')
        return 0;
    sl = strtoul(label + plen, &end, 10);
    if (*end != '-' || end[1] < '0' || end[1] > '9')
        return 0;
    ver = strtoul(end + 1, &end, 10);
    if (*end != '\0' || sl < 1 || sl > OCP_KEY_HOLDER || ver < 1 ||
        ver > 254)
        return 0;
    master_label((uint8_t)sl, (uint8_t)ver, canon);
    if (strcmp(canon, label) != 0)
        return 0;
    *slot = (uint8_t)sl;
    *version = (uint8_t)ver;
    return 1;
}

struct master {
    CK_OBJECT_HANDLE h;
    uint8_t slot, version;
};

/* Every AES master key in the token, by label; *out is malloc'd. */
static ocp_status scan_masters(struct p11_store *s, struct master **out,
                               size_t *count)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
    };
    CK_OBJECT_HANDLE *h;
    struct master *m;
    size_t n, i, k = 0;
    ocp_status st = find_all(s, tmpl, 2, &h, &n);

    *out = NULL;
    *count = 0;
    if (st != OCP_OK)
        return st;
    m = malloc((n ? n : 1) * sizeof *m);
    if (m == NULL) {
        free(h);
        return OCP_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        char label[LABEL_MAX];
        CK_ATTRIBUTE a = {CKA_LABEL, label, sizeof label - 1};
        CK_RV rv = s->f->C_GetAttributeValue(s->session, h[i], &a, 1);
        /* Too long (CKR_BUFFER_TOO_SMALL) or absent: not one of ours. */
        if (rv != CKR_OK || a.ulValueLen >= sizeof label)
            continue;
        label[a.ulValueLen] = '\0';
        if (parse_master_label(label, &m[k].slot, &m[k].version)) {
            m[k].h = h[i];
            k++;
        }
    }
    free(h);
    *out = m;
    *count = k;
    return OCP_OK;
}

static int master_cmp(const void *a, const void *b)
{
    const struct master *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* The highest version present for a slot (0 if none). */
static ocp_status current_version(struct p11_store *s, uint8_t slot,
                                  uint8_t *out)
{
    struct master *m;
    size_t n, i;
    ocp_status st = scan_masters(s, &m, &n);
    *out = 0;
    if (st != OCP_OK)
        return st;
    for (i = 0; i < n; i++)
        if (m[i].slot == slot && m[i].version > *out)
            *out = m[i].version;
    free(m);
    return OCP_OK;
}

/* ---- key generation ---------------------------------------------------- */

/* A master key: AES-128 that can only compute CMACs, and whose attributes
 * cannot be changed later (CKA_MODIFIABLE false), so no one holding the
 * user PIN can turn it into an encryption or derivation oracle. */
static ocp_status gen_master(struct p11_store *s, uint8_t slot,
                             uint8_t version, CK_OBJECT_HANDLE *out)
{
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = 16;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    char label[LABEL_MAX];
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_LABEL, label, 0},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_VERIFY, &no, sizeof no},
        {CKA_ENCRYPT, &no, sizeof no},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_WRAP, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_MODIFIABLE, &no, sizeof no},
    };
    CK_RV rv;

    master_label(slot, version, label);
    tmpl[3].ulValueLen = strlen(label);
    rv = s->f->C_GenerateKey(s->session, &mech, tmpl,
                             sizeof tmpl / sizeof tmpl[0], out);
    return rv == CKR_OK ? OCP_OK : p11_fail("C_GenerateKey", label, rv);
}

static ocp_status gen_issuer(struct p11_store *s, CK_OBJECT_HANDLE *pub,
                             CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_KEY_TYPE type = CKK_EC;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE pub_tmpl[] = {
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_LABEL, (void *)issuer_label, sizeof issuer_label - 1},
        {CKA_ID, (void *)issuer_label, sizeof issuer_label - 1},
        {CKA_EC_PARAMS, (void *)p256_params, sizeof p256_params},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_ENCRYPT, &no, sizeof no},
        {CKA_WRAP, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_MODIFIABLE, &no, sizeof no},
    };
    CK_ATTRIBUTE priv_tmpl[] = {
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_LABEL, (void *)issuer_label, sizeof issuer_label - 1},
        {CKA_ID, (void *)issuer_label, sizeof issuer_label - 1},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_MODIFIABLE, &no, sizeof no},
    };
    CK_RV rv = s->f->C_GenerateKeyPair(
        s->session, &mech, pub_tmpl, sizeof pub_tmpl / sizeof pub_tmpl[0],
        priv_tmpl, sizeof priv_tmpl / sizeof priv_tmpl[0], pub, priv);
    return rv == CKR_OK ? OCP_OK
                        : p11_fail("C_GenerateKeyPair", issuer_label, rv);
}

/* ---- operations -------------------------------------------------------- */

/* CMAC-AES of the key `label` over data, computed by the token. */
static ocp_status token_cmac(struct p11_store *s, const char *label,
                             uint8_t *data, size_t len, uint8_t out[16])
{
    CK_MECHANISM mech = {CKM_AES_CMAC, NULL, 0};
    CK_OBJECT_HANDLE h;
    CK_ULONG out_len = 16;
    CK_RV rv;
    ocp_status st = find_key(s, CKO_SECRET_KEY, label, &h);

    if (st != OCP_OK)
        return st;
    rv = s->f->C_SignInit(s->session, &mech, h);
    if (rv != CKR_OK)
        return p11_fail("C_SignInit(CKM_AES_CMAC)", label, rv);
    rv = s->f->C_Sign(s->session, data, len, out, &out_len);
    if (rv != CKR_OK)
        return p11_fail("C_Sign(CKM_AES_CMAC)", label, rv);
    if (out_len != 16) {
        OPENSSL_cleanse(out, 16);
        set_error("CKM_AES_CMAC with %s gave %lu bytes, not 16", label,
                  (unsigned long)out_len);
        return OCP_E_CRYPTO;
    }
    return OCP_OK;
}

/* AN10922 of the key `label` over m, as CMAC(key, 01 || m). */
static ocp_status token_an10922(struct p11_store *s, const char *label,
                                const uint8_t card_id[8], uint8_t slot,
                                uint8_t version, uint8_t out[16])
{
    uint8_t d[1 + OCP_DIV_INPUT_LEN];
    d[0] = 0x01;
    ocp_div_input(card_id, slot, version, d + 1);
    return token_cmac(s, label, d, sizeof d, out);
}

static ocp_status p11_card_key(ocp_keystore *ks, uint8_t suite,
                               const uint8_t card_id[8], uint8_t slot,
                               uint8_t version, uint8_t out[16])
{
    char label[LABEL_MAX];
    ocp_status st = check_suite(suite);
    if (st != OCP_OK)
        return st;
    if (card_id == NULL || slot < 1 || slot > OCP_KEY_HOLDER ||
        version == 0 || version == 0xFF) {
        set_error("no card key for slot %u version %u", (unsigned)slot,
                  (unsigned)version);
        return OCP_E_ARGS;
    }
    master_label(slot, version, label);
    return token_an10922(store_of(ks), label, card_id, slot, version, out);
}

static ocp_status p11_transport_key(ocp_keystore *ks,
                                    const uint8_t card_id[8], uint8_t out[16])
{
    char label[LABEL_MAX];
    if (card_id == NULL)
        return OCP_E_ARGS;
    snprintf(label, sizeof label, "ocp-batch-%02X%02X%02X%02X",
             (unsigned)card_id[0], (unsigned)card_id[1],
             (unsigned)card_id[2], (unsigned)card_id[3]);
    return token_an10922(store_of(ks), label, card_id, OCP_ROLE_ISSUER,
                         OCP_KEY_VERSION_TRANSPORT, out);
}

static ocp_status p11_sign(ocp_keystore *ks, uint8_t suite,
                           const uint8_t *msg, size_t len, uint8_t sig[64])
{
    struct p11_store *s = store_of(ks);
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_OBJECT_HANDLE h;
    uint8_t digest[32];
    unsigned int dlen = 0;
    CK_ULONG sig_len = 64;
    CK_RV rv;
    ocp_status st = check_suite(suite);

    if (st != OCP_OK)
        return st;
    if (msg == NULL && len != 0)
        return OCP_E_ARGS;
    if (EVP_Digest(msg, len, digest, &dlen, EVP_sha256(), NULL) != 1 ||
        dlen != sizeof digest) {
        set_error("SHA-256 failed");
        return OCP_E_CRYPTO;
    }
    st = find_key(s, CKO_PRIVATE_KEY, issuer_label, &h);
    if (st != OCP_OK)
        return st;
    rv = s->f->C_SignInit(s->session, &mech, h);
    if (rv != CKR_OK)
        return p11_fail("C_SignInit(CKM_ECDSA)", issuer_label, rv);
    rv = s->f->C_Sign(s->session, digest, sizeof digest, sig, &sig_len);
    if (rv != CKR_OK)
        return p11_fail("C_Sign(CKM_ECDSA)", issuer_label, rv);
    if (sig_len != 64) {
        set_error("CKM_ECDSA with %s gave %lu bytes, not r || s of P-256",
                  issuer_label, (unsigned long)sig_len);
        return OCP_E_CRYPTO;
    }
    return OCP_OK;
}

/* CKA_EC_POINT is a DER OCTET STRING around the point; a few tokens give
 * the bare point.  Either way *point is the 65-byte uncompressed point. */
static const uint8_t *ec_point(const uint8_t *a, size_t len)
{
    if (len == 67 && a[0] == 0x04 && a[1] == 65 && a[2] == 0x04)
        return a + 2;
    if (len == 65 && a[0] == 0x04)
        return a;
    return NULL;
}

static ocp_status p11_public_key(ocp_keystore *ks, uint8_t suite,
                                 uint8_t *der, size_t *len)
{
    struct p11_store *s = store_of(ks);
    CK_OBJECT_HANDLE h;
    uint8_t params[32], point_attr[80];
    CK_ATTRIBUTE tmpl[] = {
        {CKA_EC_PARAMS, params, sizeof params},
        {CKA_EC_POINT, point_attr, sizeof point_attr},
    };
    char group[] = "prime256v1";
    const uint8_t *point;
    OSSL_PARAM ossl[3];
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *key = NULL;
    unsigned char *buf = NULL;
    int n;
    CK_RV rv;
    ocp_status st = check_suite(suite);

    if (st != OCP_OK)
        return st;
    if (der == NULL || len == NULL)
        return OCP_E_ARGS;
    if ((st = find_one(s, CKO_PUBLIC_KEY, issuer_label, &h)) != OCP_OK)
        return st;
    rv = s->f->C_GetAttributeValue(s->session, h, tmpl, 2);
    if (rv != CKR_OK)
        return p11_fail("C_GetAttributeValue(CKA_EC_POINT)", issuer_label,
                        rv);
    point = ec_point(point_attr, tmpl[1].ulValueLen);
    if (tmpl[0].ulValueLen != sizeof p256_params ||
        memcmp(params, p256_params, sizeof p256_params) != 0 ||
        point == NULL) {
        set_error("%s in token '%s' is not an uncompressed P-256 key",
                  issuer_label, s->token);
        return OCP_E_KEY_MISSING;
    }
    ossl[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               group, 0);
    ossl[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                (void *)point, 65);
    ossl[2] = OSSL_PARAM_construct_end();
    st = OCP_E_CRYPTO;
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, ossl) != 1 ||
        (n = i2d_PUBKEY(key, &buf)) <= 0) {
        set_error("%s: OpenSSL refused the token's public point",
                  issuer_label);
        goto out;
    }
    if ((size_t)n > *len) {
        st = OCP_E_BUFFER;
    } else {
        memcpy(der, buf, (size_t)n);
        st = OCP_OK;
    }
    *len = (size_t)n;
out:
    OPENSSL_free(buf);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(pctx);
    return st;
}

static uint8_t p11_version(ocp_keystore *ks, uint8_t suite, uint8_t slot)
{
    uint8_t v;
    if (check_suite(suite) != OCP_OK || slot < 1 || slot > OCP_KEY_HOLDER)
        return 0;
    return current_version(store_of(ks), slot, &v) == OCP_OK ? v : 0;
}

static ocp_status p11_list(ocp_keystore *ks, ocp_key_info *out,
                           size_t *count)
{
    struct p11_store *s = store_of(ks);
    struct master *m;
    size_t n, i, cap;
    ocp_status st;

    if (count == NULL || (out == NULL && *count != 0))
        return OCP_E_ARGS;
    cap = *count;
    if ((st = scan_masters(s, &m, &n)) != OCP_OK)
        return st;
    qsort(m, n, sizeof *m, master_cmp);
    for (i = 0; i < n && i < cap; i++) {
        uint8_t kcv[3];
        CK_ATTRIBUTE a = {CKA_CHECK_VALUE, kcv, sizeof kcv};
        CK_RV rv = s->f->C_GetAttributeValue(s->session, m[i].h, &a, 1);
        if (rv != CKR_OK || a.ulValueLen != sizeof kcv) {
            char label[LABEL_MAX];
            master_label(m[i].slot, m[i].version, label);
            st = rv != CKR_OK
                     ? p11_fail("C_GetAttributeValue(CKA_CHECK_VALUE)", label,
                                rv)
                     : OCP_E_CRYPTO;
            if (rv == CKR_OK)
                set_error("token gives no 3-byte CKA_CHECK_VALUE for %s",
                          label);
            break;
        }
        out[i].suite = OCP_SUITE_AES;
        out[i].slot = m[i].slot;
        out[i].version = m[i].version;
        /* Sorted: the next entry is a later version of the same slot
         * unless this one is the highest, which is current. */
        out[i].current =
            (uint8_t)(i + 1 == n || m[i + 1].slot != m[i].slot);
        memcpy(out[i].kcv, kcv, sizeof kcv);
    }
    free(m);
    if (st != OCP_OK)
        return st;
    *count = n;
    return n > cap ? OCP_E_BUFFER : OCP_OK;
}

static ocp_status p11_rotate(ocp_keystore *ks, uint8_t suite, uint8_t slot,
                             uint8_t *new_version)
{
    struct p11_store *s = store_of(ks);
    CK_OBJECT_HANDLE h;
    uint8_t v;
    ocp_status st = check_suite(suite);

    if (st != OCP_OK)
        return st;
    if (slot < 1 || slot > OCP_KEY_SLOTS) {
        set_error("slot %u cannot be rotated (slots 1..9; the holder-digest "
                  "key stays at version 1, docs/KEYS.md)",
                  (unsigned)slot);
        return OCP_E_ARGS;
    }
    if ((st = current_version(s, slot, &v)) != OCP_OK)
        return st;
    if (v >= 254) {
        set_error("slot %u is at version 254, the last one", (unsigned)slot);
        return OCP_E_ARGS;
    }
    if ((st = gen_master(s, slot, (uint8_t)(v + 1), &h)) != OCP_OK)
        return st;
    if (new_version != NULL)
        *new_version = (uint8_t)(v + 1);
    return OCP_OK;
}

static void p11_close(ocp_keystore *ks)
{
    struct p11_store *s = store_of(ks);
    if (s->has_session)
        s->f->C_CloseSession(s->session);
    if (s->f != NULL)
        module_release(s->f);
    if (s->dl != NULL)
        dlclose(s->dl);
    free(s);
    free(ks);
}

static const struct ocp_keystore_ops p11_ops = {
    p11_card_key, p11_transport_key, p11_sign,   p11_public_key,
    p11_version,  p11_list,          p11_rotate, p11_close};

ocp_status ocp_pkcs11_init_keys(ocp_keystore *ks)
{
    struct p11_store *s;
    CK_OBJECT_HANDLE made[OCP_KEY_HOLDER + 2], *found;
    CK_ATTRIBUTE issuer_any = {CKA_LABEL, (void *)issuer_label,
                               sizeof issuer_label - 1};
    size_t n_made = 0, n, i;
    struct master *m;
    uint8_t slot;
    ocp_status st;

    if (ks == NULL || ks->ops != &p11_ops) {
        set_error("not a PKCS#11 key store");
        return OCP_E_ARGS;
    }
    s = store_of(ks);
    if ((st = scan_masters(s, &m, &n)) != OCP_OK)
        return st;
    free(m);
    if (n > 0) {
        set_error("token '%s' already holds AES master keys; refusing to "
                  "make new ones (rotate instead)", s->token);
        return OCP_E_ARGS;
    }
    if ((st = find_all(s, &issuer_any, 1, &found, &n)) != OCP_OK)
        return st;
    free(found);
    if (n > 0) {
        set_error("token '%s' already holds %s; refusing to replace the "
                  "issuer key", s->token, issuer_label);
        return OCP_E_ARGS;
    }
    for (slot = 1; slot <= OCP_KEY_HOLDER; slot++) {
        if ((st = gen_master(s, slot, 1, &made[n_made])) != OCP_OK)
            goto undo;
        n_made++;
    }
    if ((st = gen_issuer(s, &made[n_made], &made[n_made + 1])) != OCP_OK)
        goto undo;
    return OCP_OK;
undo:
    for (i = 0; i < n_made; i++)
        s->f->C_DestroyObject(s->session, made[i]);
    return st;
}

/* ---- the URI ----------------------------------------------------------- */

struct p11_uri {
    char token[33], serial[17], manufacturer[33], model[17];
    char module[4096];
    char pin[PIN_MAX + 1];
    char pin_source[4096];
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [p, end) into out (cap bytes with the NUL); -1 for a bad
 * escape, an embedded NUL or a value too long. */
static int pct_decode(const char *p, const char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (p < end) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi, lo;
            if (end - p < 3 || (hi = hexval(p[1])) < 0 ||
                (lo = hexval(p[2])) < 0)
                return -1;
            c = hi * 16 + lo;
            p += 3;
        } else {
            p++;
        }
        if (c == 0 || n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* One name=value of the URI into the matching field of u. */
static ocp_status uri_attr(struct p11_uri *u, const char *p, const char *end,
                           int query)
{
    static const char *const path_names[] = {"token", "serial",
                                             "manufacturer", "model"};
    static const char *const query_names[] = {"pin-value", "pin-source",
                                              "module-path"};
    char *path_fields[4], *query_fields[3];
    size_t path_caps[4], query_caps[3];
    const char *eq = memchr(p, '=', (size_t)(end - p));
    size_t name_len, i;
    char *field = NULL;
    size_t cap = 0;

    path_fields[0] = u->token;
    path_caps[0] = sizeof u->token;
    path_fields[1] = u->serial;
    path_caps[1] = sizeof u->serial;
    path_fields[2] = u->manufacturer;
    path_caps[2] = sizeof u->manufacturer;
    path_fields[3] = u->model;
    path_caps[3] = sizeof u->model;
    query_fields[0] = u->pin;
    query_caps[0] = sizeof u->pin;
    query_fields[1] = u->pin_source;
    query_caps[1] = sizeof u->pin_source;
    query_fields[2] = u->module;
    query_caps[2] = sizeof u->module;

    if (p == end)
        return OCP_OK; /* an empty component, as in "token=x;" */
    if (eq == NULL) {
        set_error("PKCS#11 URI: '%.*s' has no '='", (int)(end - p), p);
        return OCP_E_ARGS;
    }
    name_len = (size_t)(eq - p);
    for (i = 0; i < 4; i++)
        if (strlen(path_names[i]) == name_len &&
            memcmp(p, path_names[i], name_len) == 0) {
            if (query) {
                set_error("PKCS#11 URI: '%s' belongs in the path, before "
                          "'?'", path_names[i]);
                return OCP_E_ARGS;
            }
            field = path_fields[i];
            cap = path_caps[i];
        }
    for (i = 0; i < 3; i++)
        if (strlen(query_names[i]) == name_len &&
            memcmp(p, query_names[i], name_len) == 0) {
            if (!query) {
                set_error("PKCS#11 URI: '%s' is a query attribute: write "
                          "it after '?' (RFC 7512)", query_names[i]);
                return OCP_E_ARGS;
            }
            field = query_fields[i];
            cap = query_caps[i];
        }
    if (field == NULL) {
        set_error("PKCS#11 URI: attribute '%.*s' is not supported here",
                  (int)name_len, p);
        return OCP_E_ARGS;
    }
    if (field[0] != '\0') {
        set_error("PKCS#11 URI: '%.*s' given twice", (int)name_len, p);
        return OCP_E_ARGS;
    }
    if (pct_decode(eq + 1, end, field, cap) != 0 || field[0] == '\0') {
        /* Never echo the value: it may be the PIN. */
        set_error("PKCS#11 URI: the value of '%.*s' is empty, too long or "
                  "badly percent-encoded", (int)name_len, p);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

static ocp_status parse_uri(const char *uri, struct p11_uri *u)
{
    const char *p, *q, *end, *sep;
    ocp_status st;

    memset(u, 0, sizeof *u);
    if (uri == NULL || strncasecmp(uri, "pkcs11:", 7) != 0) {
        set_error("not a PKCS#11 URI (it must start with 'pkcs11:')");
        return OCP_E_ARGS;
    }
    p = uri + 7;
    q = strchr(p, '?');
    end = q ? q : p + strlen(p);
    while (p <= end) {
        sep = memchr(p, ';', (size_t)(end - p));
        if (sep == NULL)
            sep = end;
        if ((st = uri_attr(u, p, sep, 0)) != OCP_OK)
            return st;
        p = sep + 1;
    }
    if (q != NULL) {
        p = q + 1;
        end = p + strlen(p);
        while (p <= end) {
            sep = memchr(p, '&', (size_t)(end - p));
            if (sep == NULL)
                sep = end;
            if ((st = uri_attr(u, p, sep, 1)) != OCP_OK)
                return st;
            p = sep + 1;
        }
    }
    if (u->token[0] == '\0') {
        set_error("PKCS#11 URI: 'token=LABEL' is required");
        return OCP_E_ARGS;
    }
    if ((u->pin[0] != '\0') == (u->pin_source[0] != '\0')) {
        set_error("PKCS#11 URI: give exactly one of 'pin-value' and "
                  "'pin-source'");
        return OCP_E_ARGS;
    }
    if (u->module[0] == '\0')
        strcpy(u->module, OCP_PKCS11_DEFAULT_MODULE);
    return OCP_OK;
}

/* Reads the PIN from the first line of the pin-source file. */
static ocp_status read_pin(struct p11_uri *u)
{
    const char *path = u->pin_source;
    FILE *f;
    size_t n;

    if (strncmp(path, "file://", 7) == 0)
        path += 7;
    else if (strncmp(path, "file:", 5) == 0)
        path += 5;
    if (path[0] != '/') {
        set_error("PKCS#11 URI: pin-source must be file:/ABSOLUTE/PATH");
        return OCP_E_ARGS;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        set_error("cannot read the PIN file %s", path);
        return OCP_E_IO;
    }
    if (fgets(u->pin, sizeof u->pin, f) == NULL)
        u->pin[0] = '\0';
    fclose(f);
    n = strcspn(u->pin, "\r\n");
    u->pin[n] = '\0';
    if (n == 0) {
        set_error("the PIN file %s is empty", path);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

/* ---- opening ----------------------------------------------------------- */

/* Compares a blank-padded token-info field with a wanted value. */
static int field_is(const unsigned char *field, size_t len,
                    const char *want)
{
    size_t n = len;
    while (n > 0 && field[n - 1] == ' ')
        n--;
    return strlen(want) == n && memcmp(field, want, n) == 0;
}

static ocp_status find_slot(struct p11_store *s, const struct p11_uri *u,
                            CK_SLOT_ID *out)
{
    CK_SLOT_ID *slots;
    CK_ULONG n = 0, i;
    CK_RV rv = s->f->C_GetSlotList(CK_TRUE, NULL, &n);
    size_t found = 0;

    if (rv != CKR_OK)
        return p11_fail("C_GetSlotList", NULL, rv);
    slots = malloc((n ? n : 1) * sizeof *slots);
    if (slots == NULL)
        return OCP_E_NOMEM;
    rv = s->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK) {
        free(slots);
        return p11_fail("C_GetSlotList", NULL, rv);
    }
    for (i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (s->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if (!field_is(ti.label, sizeof ti.label, u->token) ||
            (u->serial[0] &&
             !field_is(ti.serialNumber, sizeof ti.serialNumber,
                       u->serial)) ||
            (u->manufacturer[0] &&
             !field_is(ti.manufacturerID, sizeof ti.manufacturerID,
                       u->manufacturer)) ||
            (u->model[0] &&
             !field_is(ti.model, sizeof ti.model, u->model)))
            continue;
        if (found++ == 0)
            *out = slots[i];
    }
    free(slots);
    if (found == 0) {
        set_error("no token labelled '%s' in PKCS#11 module %s", u->token,
                  u->module);
        return OCP_E_ARGS;
    }
    if (found > 1) {
        set_error("%zu tokens labelled '%s' in %s: add serial= to the URI",
                  found, u->token, u->module);
        return OCP_E_ARGS;
    }
    return OCP_OK;
}

static ocp_status login(struct p11_store *s, const struct p11_uri *u)
{
    CK_RV rv = s->f->C_Login(s->session, CKU_USER,
                             (CK_UTF8CHAR_PTR)(void *)u->pin,
                             strlen(u->pin));
    switch (rv) {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN: /* by another session of ours */
        return OCP_OK;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
        set_error("wrong PIN for PKCS#11 token '%s' (%s)", s->token,
                  rv_name(rv));
        return OCP_E_AUTH;
    case CKR_PIN_LOCKED:
        set_error("the user PIN of PKCS#11 token '%s' is locked: its "
                  "security officer must reset it", s->token);
        return OCP_E_AUTH;
    case CKR_USER_PIN_NOT_INITIALIZED:
        set_error("PKCS#11 token '%s' has no user PIN yet", s->token);
        return OCP_E_AUTH;
    default:
        return p11_fail("C_Login", s->token, rv);
    }
}

ocp_status ocp_pkcs11_open(const char *uri, ocp_keystore **out)
{
    struct p11_uri *u = NULL;
    struct p11_store *s = NULL;
    ocp_keystore *ks = NULL;
    CK_C_GetFunctionList get_list;
    CK_SLOT_ID slot = 0;
    CK_RV rv;
    ocp_status st;

    set_error("%s", "");
    if (out == NULL)
        return OCP_E_ARGS;
    *out = NULL;
    u = calloc(1, sizeof *u);
    s = calloc(1, sizeof *s);
    ks = calloc(1, sizeof *ks);
    if (u == NULL || s == NULL || ks == NULL) {
        st = OCP_E_NOMEM;
        goto fail;
    }
    ks->ops = &p11_ops;
    ks->ctx = s;
    if ((st = parse_uri(uri, u)) != OCP_OK)
        goto fail;
    if (u->pin_source[0] != '\0' && (st = read_pin(u)) != OCP_OK)
        goto fail;
    strcpy(s->token, u->token);

    s->dl = dlopen(u->module, RTLD_NOW | RTLD_LOCAL);
    if (s->dl == NULL) {
        set_error("cannot load PKCS#11 module %s: %s", u->module, dlerror());
        st = OCP_E_IO;
        goto fail;
    }
    /* POSIX guarantees a function pointer survives the trip through
     * dlsym's void *. */
    get_list = (CK_C_GetFunctionList)dlsym(s->dl, "C_GetFunctionList");
    if (get_list == NULL) {
        set_error("%s is not a PKCS#11 module (no C_GetFunctionList)",
                  u->module);
        st = OCP_E_IO;
        goto fail;
    }
    rv = get_list(&s->f);
    if (rv != CKR_OK || s->f == NULL) {
        s->f = NULL;
        st = p11_fail("C_GetFunctionList", u->module, rv);
        goto fail;
    }
    if ((st = module_acquire(s->f, u->module)) != OCP_OK) {
        s->f = NULL;
        goto fail;
    }
    if ((st = find_slot(s, u, &slot)) != OCP_OK)
        goto fail;
    rv = s->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                             NULL, &s->session);
    if (rv != CKR_OK) {
        st = p11_fail("C_OpenSession", u->token, rv);
        goto fail;
    }
    s->has_session = 1;
    if ((st = login(s, u)) != OCP_OK)
        goto fail;
    OPENSSL_cleanse(u, sizeof *u);
    free(u);
    *out = ks;
    return OCP_OK;
fail:
    if (u != NULL)
        OPENSSL_cleanse(u, sizeof *u);
    free(u);
    if (ks != NULL && s != NULL)
        p11_close(ks);
    else {
        free(s);
        free(ks);
    }
    return st;
}
