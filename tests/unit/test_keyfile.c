/*
 * Unit tests for the key-file store (hostlib/src/keystore_file.c,
 * ocp/keyfile.h, docs/KEYFILE.md).
 *
 * The store never lets a master key out, so the derivations are checked
 * through a second, deliberately independent implementation of the file
 * format written here from docs/KEYFILE.md: it derives the file key with
 * OpenSSL's EVP_PBE_scrypt (the store uses EVP_KDF), decrypts with
 * AES-256-GCM, walks the payload by hand and hands back the master keys,
 * so card keys and check values are compared with ocp_an10922 and
 * ocp_key_check_value over the real masters.  The same code writes files,
 * so a file made outside libocp must open, and a table of payloads that
 * break one rule each must be refused.
 *
 * Files are made with scrypt N = 2^10 through the store's test-only hook
 * (one test checks that the default is 2^15), so the suite runs quickly
 * under valgrind.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "ocp/issue.h"
#include "ocp/keyfile.h"
#include "ocp/keystore.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"
#include "signature.h"

/* Test-only hook of keystore_file.c: the scrypt cost of new files. */
void hl_keyfile_test_log2n(uint8_t log2n);

#define PASS "correct horse battery staple"
#define HDR 45u
#define TAGLEN 16u
#define TEST_LOG2N 10u

static char dir[64];
static char golden[128]; /* a store made once, copied by read-only tests */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static void path_in(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Replaces path with the bytes given, mode 0600. */
static void write_all_to(const char *path, const uint8_t *p, size_t len)
{
    int fd;
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *b = read_all(from, &len);
    write_all_to(to, b, len);
    free(b);
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle,
                    size_t m)
{
    size_t i;
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static ocp_keystore *open_ok(const char *path)
{
    ocp_keystore *ks = NULL;
    ocp_status st = ocp_keyfile_open(path, PASS, &ks);
    if (st != OCP_OK)
        fail_msg("open %s: %d: %s", path, st, ocp_keyfile_last_error());
    return ks;
}

/* The refusal of a file: a status, no store, and a message containing
 * `want` (NULL: any non-empty message). */
static void expect_refused(const char *path, ocp_status want_st,
                           const char *want)
{
    ocp_keystore *ks = (ocp_keystore *)&ks;
    ocp_status st = ocp_keyfile_open(path, PASS, &ks);
    if (st == OCP_OK)
        fail_msg("%s opened, expected status %d", path, want_st);
    assert_null(ks);
    if (want_st != OCP_OK)
        assert_int_equal(st, want_st);
    assert_true(strlen(ocp_keyfile_last_error()) > 0);
    if (want != NULL && strstr(ocp_keyfile_last_error(), want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", ocp_keyfile_last_error(),
                 want);
}

/* ------------------------------------------------------------------------ */
/* An independent reader and writer of docs/KEYFILE.md                      */

static void file_key_by_hand(const char *pass, const uint8_t *salt,
                             uint8_t log2n, uint8_t r, uint8_t p,
                             uint8_t key[32])
{
    assert_int_equal(EVP_PBE_scrypt(pass, strlen(pass), salt, 16,
                                    (uint64_t)1 << log2n, r, p,
                                    (uint64_t)512 << 20, key, 32),
                     1);
}

/* Decrypts a key file; returns the payload (malloc'd) and its length. */
static uint8_t *decrypt_by_hand(const char *path, size_t *plen)
{
    size_t len;
    uint8_t *f = read_all(path, &len), key[32], *plain;
    uint32_t ct_len;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;

    assert_true(len >= HDR + TAGLEN);
    assert_memory_equal(f, "OCPKEYS1", 8);
    assert_int_equal(f[8], 1);
    assert_int_equal(f[9], 1);
    ct_len = ocp_get_be32(f + 41);
    assert_int_equal(len, HDR + ct_len + TAGLEN);
    file_key_by_hand(PASS, f + 13, f[10], f[11], f[12], key);
    plain = malloc(ct_len + 1u);
    assert_non_null(plain);
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key,
                                        f + 29),
                     1);
    assert_int_equal(EVP_DecryptUpdate(c, NULL, &n, f, (int)HDR), 1);
    assert_int_equal(EVP_DecryptUpdate(c, plain, &n, f + HDR, (int)ct_len),
                     1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
                                         f + HDR + ct_len),
                     1);
    assert_int_equal(EVP_DecryptFinal_ex(c, plain + ct_len, &n), 1);
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(key, sizeof key);
    free(f);
    *plen = ct_len;
    return plain;
}

/* Finds master (suite, slot, version) in a payload; 1 if found. */
static int master_by_hand(const uint8_t *p, size_t len, uint8_t suite,
                          uint8_t slot, uint8_t version, uint8_t key[16],
                          uint8_t *current)
{
    size_t i = 0;
    while (i + 3 <= len) {
        size_t n = ocp_get_be16(p + i + 1);
        const uint8_t *v = p + i + 3;
        assert_true(i + 3 + n <= len);
        if (p[i] == 0x01 && n == 20 && v[0] == suite && v[1] == slot &&
            v[2] == version) {
            memcpy(key, v + 4, 16);
            if (current != NULL)
                *current = v[3];
            return 1;
        }
        i += 3 + n;
    }
    assert_int_equal(i, len);
    return 0;
}

static uint8_t *master_of(const char *path, uint8_t suite, uint8_t slot,
                          uint8_t version, uint8_t key[16])
{
    size_t len;
    uint8_t *p = decrypt_by_hand(path, &len);
    assert_true(master_by_hand(p, len, suite, slot, version, key, NULL));
    OPENSSL_cleanse(p, len);
    free(p);
    return key;
}

/* Writes a key file from a payload, as another implementation would. */
static void write_by_hand(const char *path, uint8_t log2n, const uint8_t *pl,
                          size_t plen)
{
    size_t len = HDR + plen + TAGLEN;
    uint8_t *f = malloc(len), key[32];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;

    assert_non_null(f);
    memcpy(f, "OCPKEYS1", 8);
    f[8] = 1;
    f[9] = 1;
    f[10] = log2n;
    f[11] = 8;
    f[12] = 1;
    assert_int_equal(RAND_bytes(f + 13, 16 + 12), 1);
    ocp_put_be32(f + 41, (uint32_t)plen);
    file_key_by_hand(PASS, f + 13, log2n, 8, 1, key);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key,
                                        f + 29),
                     1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, f, (int)HDR), 1);
    if (plen > 0)
        assert_int_equal(
            EVP_EncryptUpdate(c, f + HDR, &n, pl, (int)plen), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, f + HDR + plen, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
                                         f + HDR + plen),
                     1);
    EVP_CIPHER_CTX_free(c);
    write_all_to(path, f, len);
    free(f);
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */

static int group_setup(void **state)
{
    ocp_keystore *ks = NULL;
    (void)state;
    strcpy(dir, "/tmp/test_keyfile.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    hl_keyfile_test_log2n(TEST_LOG2N);
    path_in(golden, sizeof golden, "golden.keys");
    if (ocp_keyfile_create(golden, PASS, &ks) != OCP_OK)
        return -1;
    ocp_keystore_close(ks);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const uint8_t card_a[8] = {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1};
static const uint8_t card_b[8] = {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 2};

/* ------------------------------------------------------------------------ */
/* Create and open                                                          */

static void test_create_open_round_trip(void **state)
{
    char path[128];
    ocp_keystore *a, *b = NULL;
    ocp_key_info la[32], lb[32];
    size_t na = 32, nb = 32, i;
    uint8_t ka[16], kb[16], suite, slot;
    uint8_t da[128], db[128];
    size_t dla, dlb;
    struct stat st;
    mode_t old;
    (void)state;

    path_in(path, sizeof path, "round.keys");
    old = umask(0); /* the file must be 0600 whatever the umask */
    assert_int_equal(ocp_keyfile_create(path, PASS, &a), OCP_OK);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(ocp_keyfile_open(path, PASS, &b), OCP_OK);

    assert_int_equal(a->ops->list(a, la, &na), OCP_OK);
    assert_int_equal(b->ops->list(b, lb, &nb), OCP_OK);
    assert_int_equal(na, 20);
    assert_int_equal(nb, 20);
    assert_memory_equal(la, lb, na * sizeof la[0]);
    for (i = 0; i < na; i++) {
        assert_int_equal(la[i].version, 1);
        assert_int_equal(la[i].current, 1);
    }
    for (suite = OCP_SUITE_AES; suite <= OCP_SUITE_SM; suite++) {
        for (slot = 1; slot <= OCP_KEY_HOLDER; slot++) {
            assert_int_equal(a->ops->version(a, suite, slot), 1);
            assert_int_equal(a->ops->card_key(a, suite, card_a, slot, 1, ka),
                             OCP_OK);
            assert_int_equal(b->ops->card_key(b, suite, card_a, slot, 1, kb),
                             OCP_OK);
            assert_memory_equal(ka, kb, 16);
        }
        dla = sizeof da;
        dlb = sizeof db;
        assert_int_equal(a->ops->public_key(a, suite, da, &dla), OCP_OK);
        assert_int_equal(b->ops->public_key(b, suite, db, &dlb), OCP_OK);
        assert_int_equal(dla, dlb);
        assert_memory_equal(da, db, dla);
    }
    /* No slot 0 or 11, no suite 3. */
    assert_int_equal(a->ops->version(a, OCP_SUITE_AES, 0), 0);
    assert_int_equal(a->ops->version(a, OCP_SUITE_AES, 11), 0);
    assert_int_equal(a->ops->version(a, 3, 1), 0);
    assert_int_equal(a->ops->card_key(a, 3, card_a, 1, 1, ka), OCP_E_ARGS);
    assert_int_equal(a->ops->card_key(a, OCP_SUITE_AES, card_a, 11, 1, ka),
                     OCP_E_ARGS);
    assert_int_equal(a->ops->card_key(a, OCP_SUITE_AES, card_a, 2, 2, ka),
                     OCP_E_KEY_MISSING);
    /* list reports the size it needs. */
    na = 3;
    assert_int_equal(a->ops->list(a, la, &na), OCP_E_BUFFER);
    assert_int_equal(na, 20);
    ocp_keystore_close(a);
    ocp_keystore_close(b);
    /* No temporary file is left behind. */
    strcat(path, ".tmp");
    assert_int_equal(access(path, F_OK), -1);
}

static void test_header_default_cost(void **state)
{
    char path[128];
    ocp_keystore *ks;
    uint8_t *f;
    size_t len;
    (void)state;

    path_in(path, sizeof path, "default.keys");
    hl_keyfile_test_log2n(15);
    assert_int_equal(ocp_keyfile_create(path, PASS, &ks), OCP_OK);
    hl_keyfile_test_log2n(TEST_LOG2N);
    ocp_keystore_close(ks);
    f = read_all(path, &len);
    assert_memory_equal(f, "OCPKEYS1", 8);
    assert_int_equal(f[8], 1);  /* format */
    assert_int_equal(f[9], 1);  /* scrypt */
    assert_int_equal(f[10], 15);
    assert_int_equal(f[11], 8);
    assert_int_equal(f[12], 1);
    assert_int_equal(ocp_get_be32(f + 41) + HDR + TAGLEN, len);
    free(f);
    ks = open_ok(path);
    ocp_keystore_close(ks);
}

static void test_create_refuses_existing(void **state)
{
    ocp_keystore *ks = (ocp_keystore *)&ks;
    size_t l1, l2;
    uint8_t *before = read_all(golden, &l1), *after;
    (void)state;

    errno = 0;
    assert_int_equal(ocp_keyfile_create(golden, "other", &ks), OCP_E_IO);
    assert_int_equal(errno, EEXIST);
    assert_null(ks);
    assert_non_null(strstr(ocp_keyfile_last_error(), "exists already"));
    after = read_all(golden, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(before, after, l1);
    free(before);
    free(after);
    assert_int_equal(ocp_keyfile_create(golden, "", &ks), OCP_E_ARGS);
    assert_int_equal(ocp_keyfile_create(NULL, PASS, &ks), OCP_E_ARGS);
}

/* ------------------------------------------------------------------------ */
/* Refusals before the passphrase is tried                                  */

static void test_mode_refused(void **state)
{
    static const struct {
        mode_t mode;
        const char *msg; /* NULL: opens */
    } cases[] = {
        {0640, "is readable by group or others (mode 0640): chmod 600 "},
        {0604, "is readable by group or others (mode 0604): chmod 600 "},
        {0644, "is readable by group or others (mode 0644): chmod 600 "},
        {0660, "is readable by group or others (mode 0660): chmod 600 "},
        {0620, "is accessible to group or others"},
        {0602, "is accessible to group or others"},
        {0610, "is accessible to group or others"},
        {0601, "is accessible to group or others"},
        {0600, NULL},
        {0400, NULL},
    };
    char path[128], want[320];
    size_t i;
    (void)state;

    path_in(path, sizeof path, "mode.keys");
    copy_file(golden, path);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(chmod(path, cases[i].mode), 0);
        if (cases[i].msg == NULL) {
            ocp_keystore_close(open_ok(path));
            continue;
        }
        snprintf(want, sizeof want, "key file %s %s", path, cases[i].msg);
        expect_refused(path, OCP_E_IO, want);
        if (cases[i].mode & 044) {
            snprintf(want, sizeof want, "chmod 600 %s", path);
            expect_refused(path, OCP_E_IO, want);
        }
    }
}

static void test_owner_refused(void **state)
{
    char path[128];
    (void)state;
    if (geteuid() == 0) {
        path_in(path, sizeof path, "owner.keys");
        copy_file(golden, path);
        assert_int_equal(chown(path, 4242, 4242), 0);
        expect_refused(path, OCP_E_IO, "belongs to uid 4242");
    } else {
        /* Not root: a root-owned file shows the same refusal. */
        expect_refused("/etc/hostname", OCP_E_IO, "belongs to uid 0");
    }
    path_in(path, sizeof path, "missing.keys");
    expect_refused(path, OCP_E_IO, "cannot open key file");
    expect_refused(dir, OCP_E_IO, "not a regular file");
}

static void test_wrong_passphrase(void **state)
{
    ocp_keystore *ks = (ocp_keystore *)&ks;
    char want[256];
    (void)state;
    assert_int_equal(ocp_keyfile_open(golden, "Correct horse battery staple",
                                      &ks),
                     OCP_E_AUTH);
    assert_null(ks);
    snprintf(want, sizeof want, "wrong passphrase or damaged key file %s",
             golden);
    assert_string_equal(ocp_keyfile_last_error(), want);
    assert_int_equal(ocp_keyfile_open(golden, "", &ks), OCP_E_AUTH);
}

/* ------------------------------------------------------------------------ */
/* Damaged files                                                            */

/* What a flipped byte at `off` is refused as (len: file length). */
static ocp_status flip_status(size_t off, size_t len, const char **msg)
{
    (void)len;
    *msg = "wrong passphrase or damaged key file";
    if (off < 8) {
        *msg = "is not a One-Card Pass key file";
        return OCP_E_IO;
    }
    if (off == 8) {
        *msg = "unknown format version";
        return OCP_E_IO;
    }
    if (off == 9) {
        *msg = "unknown key derivation function";
        return OCP_E_IO;
    }
    if (off >= 41 && off < 45) {
        *msg = NULL; /* length: truncated, or over the limit */
        return OCP_E_IO;
    }
    if (off >= 10 && off < 13) {
        *msg = NULL; /* scrypt: out of range, or another key */
        return OCP_OK;
    }
    return OCP_E_AUTH;
}

static void test_every_flip_refused(void **state)
{
    static const uint8_t masks[] = {0x01, 0x80};
    char path[128];
    size_t len, off, k, tried = 0;
    uint8_t *orig = read_all(golden, &len), *f = malloc(len);
    (void)state;

    assert_non_null(f);
    path_in(path, sizeof path, "flip.keys");
    for (off = 0; off < len; off++) {
        /* Every header and tag byte; ciphertext bytes at a stride, with
         * its first and last. */
        int in_ct = off >= HDR && off < len - TAGLEN;
        if (in_ct && off != HDR && off != len - TAGLEN - 1 &&
            (off - HDR) % 29 != 0)
            continue;
        for (k = 0; k < sizeof masks; k++) {
            const char *msg;
            ocp_status want = flip_status(off, len, &msg);
            memcpy(f, orig, len);
            f[off] ^= masks[k];
            write_all_to(path, f, len);
            expect_refused(path, want, msg);
            tried++;
        }
    }
    assert_true(tried > 2 * (HDR + TAGLEN));
    free(orig);
    free(f);
}

static void test_truncated_refused(void **state)
{
    char path[128];
    size_t len, i;
    uint8_t *f = read_all(golden, &len);
    const size_t cuts[] = {0, 1, 7, 8, 9, 12, 40, 44, 45, 46, 60, 61,
                           len / 2, len - TAGLEN - 1, len - TAGLEN,
                           len - 1};
    (void)state;

    path_in(path, sizeof path, "cut.keys");
    for (i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *msg = cuts[i] < 8 ? "not a One-Card Pass key file"
                          : cuts[i] < HDR ? "is truncated ("
                                          : "is truncated: ";
        write_all_to(path, f, cuts[i]);
        expect_refused(path, OCP_E_IO, msg);
    }
    /* One byte too many. */
    f = realloc(f, len + 1);
    assert_non_null(f);
    f[len] = 0;
    write_all_to(path, f, len + 1);
    expect_refused(path, OCP_E_IO, "1 bytes follow its tag");
    free(f);
}

static void test_header_fields_refused(void **state)
{
    static const struct {
        size_t off;
        uint8_t value;
        const char *msg;
    } cases[] = {
        {8, 0, "unknown format version 0"},
        {8, 2, "unknown format version 2"},
        {8, 255, "unknown format version 255"},
        {9, 0, "unknown key derivation function 0"},
        {9, 2, "unknown key derivation function 2"},
        {10, 9, "scrypt parameters out of range (N=2^9, r=8, p=1)"},
        {10, 21, "scrypt parameters out of range"},
        {10, 255, "scrypt parameters out of range"},
        {11, 0, "scrypt parameters out of range"},
        {11, 17, "scrypt parameters out of range"},
        {12, 0, "scrypt parameters out of range"},
        {12, 17, "scrypt parameters out of range"},
        {41, 0x01, "over the limit"},
    };
    char path[128], want[256];
    size_t len, i;
    uint8_t *orig = read_all(golden, &len), *f = malloc(len);
    (void)state;

    assert_non_null(f);
    path_in(path, sizeof path, "hdr.keys");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(f, orig, len);
        f[cases[i].off] = cases[i].value;
        write_all_to(path, f, len);
        if (i == 1) { /* the whole sentence, once */
            snprintf(want, sizeof want, "key file %s: %s", path,
                     cases[i].msg);
            expect_refused(path, OCP_E_IO, want);
        }
        expect_refused(path, OCP_E_IO, cases[i].msg);
    }
    free(orig);
    free(f);
}

/* ------------------------------------------------------------------------ */
/* Payloads written by the independent writer                               */

struct payload {
    uint8_t b[4096];
    size_t n;
};

static void put_entry(struct payload *p, uint8_t tag, const uint8_t *v,
                      size_t n)
{
    assert_true(p->n + 3 + n <= sizeof p->b);
    p->b[p->n] = tag;
    ocp_put_be16(p->b + p->n + 1, (uint16_t)n);
    memcpy(p->b + p->n + 3, v, n);
    p->n += 3 + n;
}

static void put_master(struct payload *p, uint8_t suite, uint8_t slot,
                       uint8_t version, uint8_t current)
{
    uint8_t v[20] = {suite, slot, version, current};
    memset(v + 4, (suite << 4) | slot, 16);
    v[19] = version;
    put_entry(p, 0x01, v, sizeof v);
}

static void put_issuer(struct payload *p, uint8_t suite, const char *type)
{
    EVP_PKEY *k = strcmp(type, "SM2") == 0
                      ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
    unsigned char *der = NULL;
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    uint8_t v[1 + 1024];
    assert_true(n > 0 && (size_t)n < sizeof v);
    v[0] = suite;
    memcpy(v + 1, der, (size_t)n);
    put_entry(p, 0x02, v, 1 + (size_t)n);
    OPENSSL_free(der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(k);
}

static void put_batch(struct payload *p, uint8_t id0)
{
    uint8_t v[20] = {id0, 0, 0, 0};
    memset(v + 4, 0xBA, 16);
    put_entry(p, 0x03, v, sizeof v);
}

enum mutation {
    M_NONE,
    M_MISSING_SLOT,      /* AES slot 7 absent */
    M_DUP_VERSION,       /* AES slot 2 version 1 twice */
    M_TWO_CURRENT,       /* AES slot 2 versions 1 and 2 both current */
    M_NO_CURRENT,        /* AES slot 2 version 1 not current */
    M_OLD_CURRENT,       /* AES slot 2: version 1 current, 2 not */
    M_SLOT_11,
    M_SLOT_0,
    M_SUITE_3,
    M_VERSION_0,
    M_VERSION_255,
    M_CURRENT_2,
    M_UNKNOWN_TAG,
    M_SHORT_MASTER,
    M_ENTRY_PAST_END,
    M_NO_SM_ISSUER,
    M_TWO_AES_ISSUERS,
    M_SM_ISSUER_IS_P256,
    M_AES_ISSUER_IS_P384,
    M_AES_ISSUER_IS_SM2,
    M_ISSUER_JUNK,
    M_DUP_BATCH,
    M_SHORT_BATCH,
    M_EMPTY,
    M_SHUFFLED,          /* valid: entries in another order */
    M_V254               /* valid: AES slot 2 at version 254 */
};

static void build(struct payload *p, enum mutation m)
{
    uint8_t suite, slot;
    memset(p, 0, sizeof *p);
    if (m == M_EMPTY)
        return;
    if (m == M_SHUFFLED) {
        put_batch(p, 9);
        put_issuer(p, 2, "SM2");
    }
    for (suite = 1; suite <= 2; suite++)
        for (slot = 1; slot <= 10; slot++) {
            uint8_t s = m == M_SHUFFLED ? (uint8_t)(3 - suite) : suite;
            if (s == 1 && slot == 7 && m == M_MISSING_SLOT)
                continue;
            if (s == 1 && slot == 2) {
                switch (m) {
                case M_DUP_VERSION:
                    put_master(p, 1, 2, 1, 0);
                    put_master(p, 1, 2, 1, 1);
                    continue;
                case M_TWO_CURRENT:
                    put_master(p, 1, 2, 1, 1);
                    put_master(p, 1, 2, 2, 1);
                    continue;
                case M_NO_CURRENT:
                    put_master(p, 1, 2, 1, 0);
                    continue;
                case M_OLD_CURRENT:
                    put_master(p, 1, 2, 1, 1);
                    put_master(p, 1, 2, 2, 0);
                    continue;
                case M_V254:
                    put_master(p, 1, 2, 1, 0);
                    put_master(p, 1, 2, 254, 1);
                    continue;
                case M_SHUFFLED:
                    put_master(p, 1, 2, 2, 1);
                    put_master(p, 1, 2, 1, 0);
                    continue;
                default:
                    break;
                }
            }
            put_master(p, s, slot, 1, 1);
        }
    switch (m) {
    case M_SLOT_11: put_master(p, 1, 11, 1, 1); break;
    case M_SLOT_0: put_master(p, 1, 0, 1, 1); break;
    case M_SUITE_3: put_master(p, 3, 1, 1, 1); break;
    case M_VERSION_0: put_master(p, 1, 3, 0, 0); break;
    case M_VERSION_255: put_master(p, 1, 3, 255, 0); break;
    case M_CURRENT_2: put_master(p, 1, 3, 2, 2); break;
    case M_UNKNOWN_TAG: put_entry(p, 0x04, (const uint8_t *)"x", 1); break;
    case M_SHORT_MASTER: put_entry(p, 0x01, (const uint8_t *)"\1\1\2\1", 4);
        break;
    case M_DUP_BATCH: put_batch(p, 5); put_batch(p, 5); break;
    case M_SHORT_BATCH: put_entry(p, 0x03, (const uint8_t *)"abcd", 4); break;
    default: break;
    }
    if (m == M_AES_ISSUER_IS_P384)
        put_issuer(p, 1, "P-384");
    else if (m == M_AES_ISSUER_IS_SM2)
        put_issuer(p, 1, "SM2");
    else if (m == M_ISSUER_JUNK)
        put_entry(p, 0x02, (const uint8_t *)"\1\x30\x03\x02\x01\x00", 6);
    else
        put_issuer(p, 1, "P-256");
    if (m == M_TWO_AES_ISSUERS)
        put_issuer(p, 1, "P-256");
    if (m == M_SM_ISSUER_IS_P256)
        put_issuer(p, 2, "P-256");
    else if (m != M_NO_SM_ISSUER && m != M_SHUFFLED)
        put_issuer(p, 2, "SM2");
    if (m != M_SHUFFLED)
        put_batch(p, 1);
    if (m == M_ENTRY_PAST_END) {
        uint8_t v[20] = {0};
        put_entry(p, 0x03, v, sizeof v);
        p->n -= 1; /* the last entry claims one byte more than is there */
    }
}

static void test_payload_rules(void **state)
{
    static const struct {
        enum mutation m;
        const char *msg; /* NULL: opens */
    } cases[] = {
        {M_NONE, NULL},
        {M_SHUFFLED, NULL},
        {M_V254, NULL},
        {M_MISSING_SLOT, "master keys are missing for a slot"},
        {M_DUP_VERSION, "appears twice"},
        {M_TWO_CURRENT, "current master key"},
        {M_NO_CURRENT, "current master key"},
        {M_OLD_CURRENT, "current master key"},
        {M_SLOT_11, "invalid suite, slot"},
        {M_SLOT_0, "invalid suite, slot"},
        {M_SUITE_3, "invalid suite, slot"},
        {M_VERSION_0, "invalid suite, slot"},
        {M_VERSION_255, "invalid suite, slot"},
        {M_CURRENT_2, "invalid suite, slot"},
        {M_UNKNOWN_TAG, "unknown type"},
        {M_SHORT_MASTER, "master key entry has the wrong length"},
        {M_ENTRY_PAST_END, "runs past the end"},
        {M_NO_SM_ISSUER, "issuer key is missing"},
        {M_TWO_AES_ISSUERS, "two issuer keys"},
        {M_SM_ISSUER_IS_P256, "does not decode as its suite's kind"},
        {M_AES_ISSUER_IS_P384, "does not decode as its suite's kind"},
        {M_AES_ISSUER_IS_SM2, "does not decode as its suite's kind"},
        {M_ISSUER_JUNK, "does not decode as its suite's kind"},
        {M_DUP_BATCH, "batch id appears twice"},
        {M_SHORT_BATCH, "batch key entry has the wrong length"},
        {M_EMPTY, "issuer key is missing"},
    };
    struct payload *p = malloc(sizeof *p);
    char path[128];
    size_t i;
    (void)state;

    assert_non_null(p);
    path_in(path, sizeof path, "hand.keys");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        build(p, cases[i].m);
        write_by_hand(path, TEST_LOG2N, p->b, p->n);
        if (cases[i].msg == NULL) {
            ocp_keystore *ks = open_ok(path);
            uint8_t k[16], want[16], div[OCP_DIV_INPUT_LEN];
            uint8_t v = cases[i].m == M_V254 ? 254 : 1;
            /* Our own masters are known here: the key by hand. */
            assert_int_equal(ks->ops->version(ks, 1, 2),
                             cases[i].m == M_SHUFFLED ? 2 : v);
            assert_int_equal(ks->ops->card_key(ks, 1, card_a, 3, 1, k),
                             OCP_OK);
            memset(want, (1 << 4) | 3, 16);
            want[15] = 1;
            ocp_div_input(card_a, 3, 1, div);
            ocp_an10922(OCP_CIPHER_AES128, want, div, sizeof div, want);
            assert_memory_equal(k, want, 16);
            if (cases[i].m == M_V254) {
                uint8_t nv = 0;
                assert_int_equal(ks->ops->rotate(ks, 1, 2, &nv), OCP_E_ARGS);
                assert_non_null(strstr(ocp_keyfile_last_error(),
                                       "version 254, the last one"));
                assert_int_equal(ks->ops->version(ks, 1, 2), 254);
            }
            ocp_keystore_close(ks);
        } else {
            expect_refused(path, OCP_E_IO, cases[i].msg);
            assert_non_null(strstr(ocp_keyfile_last_error(), "is damaged"));
        }
    }
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Derivations                                                              */

static void test_card_keys_by_hand(void **state)
{
    static const struct {
        uint8_t suite, slot;
    } cases[] = {
        {OCP_SUITE_AES, OCP_ROLE_ISSUER}, {OCP_SUITE_AES, OCP_ROLE_TRANSIT},
        {OCP_SUITE_AES, OCP_ROLE_KIOSK},  {OCP_SUITE_AES, OCP_KEY_TXMAC},
        {OCP_SUITE_AES, OCP_KEY_HOLDER},  {OCP_SUITE_SM, OCP_ROLE_ISSUER},
        {OCP_SUITE_SM, OCP_ROLE_MEDICAL}, {OCP_SUITE_SM, OCP_KEY_HOLDER},
    };
    ocp_keystore *ks = open_ok(golden);
    ocp_key_info info[20];
    size_t n = 20, i, j;
    uint8_t master[16], div[OCP_DIV_INPUT_LEN], want[16], got[16], kcv[3];
    uint8_t other[16];
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t cipher = ocp_suite_cipher(cases[i].suite);
        master_of(golden, cases[i].suite, cases[i].slot, 1, master);
        ocp_div_input(card_a, cases[i].slot, 1, div);
        ocp_an10922(cipher, master, div, sizeof div, want);
        assert_int_equal(ks->ops->card_key(ks, cases[i].suite, card_a,
                                           cases[i].slot, 1, got),
                         OCP_OK);
        assert_memory_equal(got, want, 16);
        /* Another card gets another key. */
        assert_int_equal(ks->ops->card_key(ks, cases[i].suite, card_b,
                                           cases[i].slot, 1, other),
                         OCP_OK);
        assert_memory_not_equal(got, other, 16);
    }
    /* Every slot and suite gives a different key for one card. */
    {
        uint8_t keys[20][16];
        for (i = 0; i < 20; i++)
            assert_int_equal(ks->ops->card_key(ks, (uint8_t)(1 + i / 10),
                                               card_a, (uint8_t)(1 + i % 10),
                                               1, keys[i]),
                             OCP_OK);
        for (i = 0; i < 20; i++)
            for (j = i + 1; j < 20; j++)
                assert_memory_not_equal(keys[i], keys[j], 16);
    }
    /* list() gives the check value of each master, never the master. */
    assert_int_equal(ks->ops->list(ks, info, &n), OCP_OK);
    for (i = 0; i < n; i++) {
        master_of(golden, info[i].suite, info[i].slot, info[i].version,
                  master);
        ocp_key_check_value(ocp_suite_cipher(info[i].suite), master, kcv);
        assert_memory_equal(info[i].kcv, kcv, 3);
        if (i > 0) /* sorted by suite, slot, version */
            assert_true(info[i - 1].suite < info[i].suite ||
                        info[i - 1].slot < info[i].slot);
    }
    OPENSSL_cleanse(master, sizeof master);
    ocp_keystore_close(ks);
}

static void test_rotate(void **state)
{
    char path[128];
    ocp_keystore *ks;
    uint8_t v1[16], v1_after[16], v2[16], master[16], want[16], nv = 0;
    uint8_t div[OCP_DIV_INPUT_LEN];
    ocp_key_info info[32];
    size_t n = 32, i, current = 0;
    (void)state;

    path_in(path, sizeof path, "rotate.keys");
    copy_file(golden, path);
    ks = open_ok(path);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_SM, card_a,
                                       OCP_ROLE_TRANSIT, 1, v1),
                     OCP_OK);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_SM, OCP_ROLE_TRANSIT, &nv),
                     OCP_OK);
    assert_int_equal(nv, 2);
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_SM, OCP_ROLE_TRANSIT), 2);
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, OCP_ROLE_TRANSIT),
                     1);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_SM, card_a,
                                       OCP_ROLE_TRANSIT, 1, v1_after),
                     OCP_OK);
    assert_memory_equal(v1, v1_after, 16);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_SM, card_a,
                                       OCP_ROLE_TRANSIT, 2, v2),
                     OCP_OK);
    assert_memory_not_equal(v1, v2, 16);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_SM, OCP_ROLE_TRANSIT, &nv),
                     OCP_OK);
    assert_int_equal(nv, 3);
    /* The holder-digest key stays at version 1; bad suite or slot. */
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_AES, OCP_KEY_HOLDER, &nv),
                     OCP_E_ARGS);
    assert_int_equal(ks->ops->rotate(ks, 3, 1, &nv), OCP_E_ARGS);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_AES, 0, &nv), OCP_E_ARGS);
    ocp_keystore_close(ks);

    /* Everything persists, and the file holds what the store said. */
    ks = open_ok(path);
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_SM, OCP_ROLE_TRANSIT), 3);
    assert_int_equal(ks->ops->card_key(ks, OCP_SUITE_SM, card_a,
                                       OCP_ROLE_TRANSIT, 2, v1_after),
                     OCP_OK);
    assert_memory_equal(v2, v1_after, 16);
    assert_int_equal(ks->ops->list(ks, info, &n), OCP_OK);
    assert_int_equal(n, 22);
    for (i = 0; i < n; i++)
        if (info[i].suite == OCP_SUITE_SM &&
            info[i].slot == OCP_ROLE_TRANSIT) {
            assert_int_equal(info[i].version, current + 1);
            assert_int_equal(info[i].current, info[i].version == 3);
            current++;
        }
    assert_int_equal(current, 3);
    master_of(path, OCP_SUITE_SM, OCP_ROLE_TRANSIT, 2, master);
    ocp_div_input(card_a, OCP_ROLE_TRANSIT, 2, div);
    ocp_an10922(OCP_CIPHER_SM4, master, div, sizeof div, want);
    assert_memory_equal(v2, want, 16);
    ocp_keystore_close(ks);
}

/* A save that cannot happen leaves the store as the file is. */
static void test_failed_save_changes_nothing(void **state)
{
    char path[128], tmp[140];
    ocp_keystore *ks;
    uint8_t nv = 0, id[4] = {7, 7, 7, 7}, key[16];
    size_t n = 0, l1, l2;
    uint8_t *before, *after;
    FILE *f;
    (void)state;

    path_in(path, sizeof path, "stuck.keys");
    copy_file(golden, path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fclose(f);
    ks = open_ok(path);
    before = read_all(path, &l1);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_AES, 4, &nv), OCP_E_IO);
    assert_non_null(strstr(ocp_keyfile_last_error(), ".tmp exists"));
    assert_int_equal(ks->ops->version(ks, OCP_SUITE_AES, 4), 1);
    assert_int_equal(ks->ops->list(ks, NULL, &n), OCP_E_BUFFER);
    assert_int_equal(n, 20);
    assert_int_equal(ocp_keyfile_add_batch(ks, id, key), OCP_E_IO);
    assert_int_equal(ocp_keyfile_batch_key(ks, id, key), OCP_E_KEY_MISSING);
    after = read_all(path, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(before, after, l1);
    /* The stale file was not ours to remove. */
    assert_int_equal(access(tmp, F_OK), 0);
    unlink(tmp);
    assert_int_equal(ks->ops->rotate(ks, OCP_SUITE_AES, 4, &nv), OCP_OK);
    assert_int_equal(nv, 2);
    assert_int_equal(ocp_keyfile_add_batch(ks, id, key), OCP_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    ocp_keystore_close(ks);
    free(before);
    free(after);
}

static void test_batches(void **state)
{
    static const uint8_t ids[][4] = {
        {0x11, 0x22, 0x33, 0x44}, {0x00, 0x00, 0x00, 0x01},
        {0xFF, 0xFF, 0xFF, 0xFF}, {0x11, 0x22, 0x33, 0x43},
        {0x80, 0x00, 0x00, 0x00},
    };
    enum { NB = sizeof ids / sizeof ids[0] };
    char path[128];
    ocp_keystore *ks, *dev;
    uint8_t keys[NB][16], k[16], want[16], card[8], div[OCP_DIV_INPUT_LEN];
    uint8_t master[16], *file;
    size_t i, len;
    (void)state;

    path_in(path, sizeof path, "batch.keys");
    copy_file(golden, path);
    ks = open_ok(path);
    for (i = 0; i < NB; i++)
        assert_int_equal(ocp_keyfile_add_batch(ks, ids[i], keys[i]), OCP_OK);
    assert_int_equal(ocp_keyfile_add_batch(ks, ids[0], k), OCP_E_ARGS);
    assert_non_null(strstr(ocp_keyfile_last_error(), "has a key already"));
    memcpy(card, card_b, 8);
    card[0] = 0x12;
    assert_int_equal(ks->ops->transport_key(ks, card, k), OCP_E_KEY_MISSING);
    assert_int_equal(ocp_keyfile_batch_key(ks, card, k), OCP_E_KEY_MISSING);
    ocp_keystore_close(ks);

    ks = open_ok(path); /* persisted */
    for (i = 0; i < NB; i++) {
        memcpy(card, ids[i], 4);
        memcpy(card + 4, "\x00\x00\x2A\x01", 4);
        ocp_div_input(card, 1, 0, div);
        ocp_an10922(OCP_CIPHER_AES128, keys[i], div, sizeof div, want);
        assert_int_equal(ks->ops->transport_key(ks, card, k), OCP_OK);
        assert_memory_equal(k, want, 16);
        assert_int_equal(ocp_keyfile_batch_key(ks, ids[i], k), OCP_OK);
        assert_memory_equal(k, keys[i], 16);
    }
    ocp_keystore_close(ks);

    /* No key is in the file in clear. */
    file = read_all(path, &len);
    for (i = 0; i < NB; i++)
        assert_false(contains(file, len, keys[i], 16));
    for (i = 0; i < 20; i++) {
        master_of(path, (uint8_t)(1 + i / 10), (uint8_t)(1 + i % 10), 1,
                  master);
        assert_false(contains(file, len, master, 16));
    }
    free(file);

    /* Only a key-file store has batches. */
    assert_int_equal(ocp_keystore_dev_open(dir, &dev), OCP_OK);
    assert_int_equal(ocp_keyfile_add_batch(dev, ids[0], k), OCP_E_ARGS);
    assert_int_equal(ocp_keyfile_batch_key(dev, ids[0], k), OCP_E_ARGS);
    assert_int_equal(ocp_keyfile_add_batch(NULL, ids[0], k), OCP_E_ARGS);
    ocp_keystore_close(dev);
}

static void test_signatures(void **state)
{
    static const uint8_t suites[] = {OCP_SUITE_AES, OCP_SUITE_SM};
    ocp_keystore *ks = open_ok(golden);
    size_t i;
    (void)state;

    for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        ocp_public_info pub;
        uint8_t der[128], msg[33], small[8];
        size_t dlen = sizeof der, slen = sizeof small;
        const unsigned char *q = der;
        EVP_PKEY *key;

        memset(&pub, 0, sizeof pub);
        memcpy(pub.card_id, card_a, 8);
        pub.suite = suites[i];
        pub.issue_date = 9000;
        pub.expiry_date = 12000;
        memset(pub.holder_digest, 0x5A, 16);
        ocp_public_message(&pub, msg);
        assert_int_equal(ks->ops->sign(ks, suites[i], msg, sizeof msg,
                                       pub.signature),
                         OCP_OK);
        assert_int_equal(ks->ops->public_key(ks, suites[i], der, &dlen),
                         OCP_OK);
        assert_int_equal(ks->ops->public_key(ks, suites[i], small, &slen),
                         OCP_E_BUFFER);
        assert_int_equal(slen, dlen);
        assert_int_equal(ocp_verify_public(&pub, der, dlen), OCP_OK);
        key = d2i_PUBKEY(NULL, &q, (long)dlen);
        assert_non_null(key);
        assert_int_equal(EVP_PKEY_is_a(key, suites[i] == OCP_SUITE_SM
                                                ? "SM2"
                                                : "EC"),
                         1);
        assert_int_equal(hl_verify(key, suites[i], msg, sizeof msg,
                                   pub.signature),
                         OCP_OK);
        msg[5] ^= 1;
        assert_int_equal(hl_verify(key, suites[i], msg, sizeof msg,
                                   pub.signature),
                         OCP_E_SIGNATURE);
        pub.expiry_date++;
        assert_int_equal(ocp_verify_public(&pub, der, dlen),
                         OCP_E_SIGNATURE);
        EVP_PKEY_free(key);
    }
    assert_int_equal(ks->ops->sign(ks, 3, (const uint8_t *)"x", 1,
                                   (uint8_t[64]){0}),
                     OCP_E_ARGS);
    ocp_keystore_close(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_open_round_trip),
        cmocka_unit_test(test_header_default_cost),
        cmocka_unit_test(test_create_refuses_existing),
        cmocka_unit_test(test_mode_refused),
        cmocka_unit_test(test_owner_refused),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_every_flip_refused),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_header_fields_refused),
        cmocka_unit_test(test_payload_rules),
        cmocka_unit_test(test_card_keys_by_hand),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_failed_save_changes_nothing),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_signatures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
