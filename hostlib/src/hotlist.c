/*
 * The signed hotlist (docs/HOTLIST.md).  The file is mapped read-only; a
 * lookup is a binary search over the sorted card ids in place.  The ids
 * come first as one block and the cryptograms after them, so lookups touch
 * 8 bytes per entry and a cryptogram is read only for a listed card.  Every
 * answer is exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocp/hotlist.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_port.h"
#include "ocp_wire.h"
#include "signature.h"

#define MAGIC "OCPHOT1"
#define HEADER_LEN 24u /* magic(8) version(4) issued(4) suite(1) rfu(3) n(4) */
#define ID_LEN 8u /* then, after all ids, one 8-byte cryptogram per id */
#define MAX_ENTRIES 50000000u

struct ocp_hotlist {
    const uint8_t *map;
    size_t size;
    uint32_t version, issued_at;
    size_t n;
    const uint8_t *ids;
    const uint8_t *cryptograms;
};

static int cmp_card(const void *a, const void *b)
{
    return memcmp(((const ocp_hotlist_card *)a)->card_id,
                  ((const ocp_hotlist_card *)b)->card_id, 8);
}

/* CMAC(K_card(issuer, v), "BLK1" | card id | version), first 8 bytes: the
 * cryptogram the card checks before it lets a validator block it. */
static ocp_status block_cryptogram(ocp_keystore *ks,
                                   const ocp_hotlist_card *c,
                                   uint32_t version, uint8_t out[8])
{
    uint8_t key[16], m[16], tag[16];
    ocp_status st = ks->ops->card_key(ks, c->suite, c->card_id,
                                      OCP_ROLE_ISSUER, c->issuer_key_version,
                                      key);
    if (st != OCP_OK)
        return st;
    memcpy(m, "BLK1", 4);
    memcpy(m + 4, c->card_id, 8);
    ocp_put_be32(m + 12, version);
    ocp_cmac(ocp_suite_cipher(c->suite), key, m, sizeof m, tag);
    memcpy(out, tag, 8);
    OPENSSL_cleanse(key, sizeof key);
    return OCP_OK;
}

ocp_status ocp_hotlist_write(const char *path, ocp_keystore *ks,
                             uint32_t version, uint32_t issued_at,
                             uint8_t sign_suite,
                             const ocp_hotlist_card *cards, size_t n)
{
    ocp_hotlist_card *sorted = NULL;
    uint8_t *buf = NULL;
    size_t len, i, at;
    char tmp[4096];
    ocp_status st = OCP_OK;
    int fd = -1;

    if (path == NULL || ks == NULL || (n > 0 && cards == NULL) ||
        n > MAX_ENTRIES || ocp_suite_cipher(sign_suite) == 0 ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return OCP_E_ARGS;
    len = HEADER_LEN + n * 2u * ID_LEN + OCP_SIGNATURE_LEN;
    sorted = malloc(n ? n * sizeof *sorted : 1);
    buf = malloc(len);
    if (sorted == NULL || buf == NULL) {
        st = OCP_E_NOMEM;
        goto out;
    }
    if (n)
        memcpy(sorted, cards, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_card);
    memcpy(buf, MAGIC, 8);
    ocp_put_be32(buf + 8, version);
    ocp_put_be32(buf + 12, issued_at);
    buf[16] = sign_suite;
    memset(buf + 17, 0, 3);
    ocp_put_be32(buf + 20, (uint32_t)n);
    for (i = 0; i < n; i++) {
        if (i > 0 && memcmp(sorted[i].card_id, sorted[i - 1].card_id, 8) == 0) {
            st = OCP_E_ARGS; /* a card listed twice */
            goto out;
        }
        memcpy(buf + HEADER_LEN + i * ID_LEN, sorted[i].card_id, 8);
        st = block_cryptogram(ks, &sorted[i], version,
                              buf + HEADER_LEN + (n + i) * ID_LEN);
        if (st != OCP_OK)
            goto out;
    }
    at = HEADER_LEN + 2u * n * ID_LEN;
    st = ks->ops->sign(ks, sign_suite, buf, at, buf + at);
    if (st != OCP_OK)
        goto out;
    /* Atomic replacement: terminals never read half a hotlist. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0 ||
        close(fd) != 0 || rename(tmp, path) != 0) {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        st = OCP_E_IO;
    }
out:
    free(sorted);
    free(buf);
    return st;
}

ocp_status ocp_hotlist_open(const char *path, const uint8_t *der,
                            size_t der_len, ocp_hotlist **out)
{
    struct stat sb;
    ocp_hotlist *h = NULL;
    const unsigned char *p = der;
    EVP_PKEY *key = NULL;
    uint8_t *map = MAP_FAILED;
    ocp_status st = OCP_E_BAD_RESPONSE;
    uint8_t suite;
    size_t n, i;
    int fd;

    if (path == NULL || der == NULL || out == NULL || der_len > 0x7fffffff)
        return OCP_E_ARGS;
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return OCP_E_IO;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return OCP_E_IO;
    }
    if (sb.st_size < (off_t)(HEADER_LEN + OCP_SIGNATURE_LEN)) {
        close(fd);
        return OCP_E_BAD_RESPONSE;
    }
    map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return OCP_E_IO;
    /* Every length comes from the file: check them all before use. */
    n = ocp_get_be32(map + 20);
    suite = map[16];
    if (memcmp(map, MAGIC, 8) != 0 || n > MAX_ENTRIES ||
        (size_t)sb.st_size != HEADER_LEN + 2u * n * ID_LEN + OCP_SIGNATURE_LEN ||
        ocp_suite_cipher(suite) == 0)
        goto fail;
    for (i = 1; i < n; i++)
        if (memcmp(map + HEADER_LEN + (i - 1) * ID_LEN,
                   map + HEADER_LEN + i * ID_LEN, 8) >= 0)
            goto fail; /* not strictly sorted: binary search would lie */
    key = d2i_PUBKEY(NULL, &p, (long)der_len);
    if (key == NULL) {
        st = OCP_E_ARGS;
        goto fail;
    }
    if (hl_verify(key, suite, map, (size_t)sb.st_size - OCP_SIGNATURE_LEN,
                  map + sb.st_size - OCP_SIGNATURE_LEN) != OCP_OK) {
        st = OCP_E_SIGNATURE;
        goto fail;
    }
    EVP_PKEY_free(key);
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        munmap(map, (size_t)sb.st_size);
        return OCP_E_NOMEM;
    }
    h->map = map;
    h->size = (size_t)sb.st_size;
    h->version = ocp_get_be32(map + 8);
    h->issued_at = ocp_get_be32(map + 12);
    h->n = n;
    h->ids = map + HEADER_LEN;
    h->cryptograms = map + HEADER_LEN + n * ID_LEN;
    *out = h;
    return OCP_OK;
fail:
    EVP_PKEY_free(key);
    munmap(map, (size_t)sb.st_size);
    return st;
}

void ocp_hotlist_close(ocp_hotlist *h)
{
    if (h == NULL)
        return;
    munmap((void *)h->map, h->size);
    free(h);
}

uint32_t ocp_hotlist_version(const ocp_hotlist *h)
{
    return h ? h->version : 0;
}

uint32_t ocp_hotlist_issued_at(const ocp_hotlist *h)
{
    return h ? h->issued_at : 0;
}

size_t ocp_hotlist_count(const ocp_hotlist *h)
{
    return h ? h->n : 0;
}

int ocp_hotlist_lookup(const ocp_hotlist *h, const uint8_t id[8],
                       uint8_t cryptogram[8])
{
    size_t lo = 0, hi;
    if (h == NULL || id == NULL)
        return 0;
    hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(h->ids + mid * ID_LEN, id, 8);
        if (c == 0) {
            if (cryptogram)
                memcpy(cryptogram, h->cryptograms + mid * ID_LEN, 8);
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
