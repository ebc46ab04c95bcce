/*
 * Non-volatile store: records with two shadow copies, a cyclic log, and a
 * commit root in a small ring.  docs/NVM.md describes the layout.
 *
 * Every page is stamp(4) | payload(56) | CRC-32(4) over the first 60 bytes.
 * A transaction takes stamp s = root.stamp + 1, writes each changed record
 * into the copy that is not current, appends log pages, and commits by
 * writing a root page with stamp s.  A copy counts only when its CRC holds
 * and its stamp is at most the committed root's, so a transaction cut short
 * is invisible; power-up wipes its pages before stamp s can be reused.
 */
#include <string.h>

#include "card_internal.h"

#define PAGE OCP_NVM_PAGE_SIZE
#define HEADER_PAGE 0u
#define ROOT_FIRST 1u
#define ROOT_SLOTS 4u
#define REC_FIRST (ROOT_FIRST + ROOT_SLOTS)
#define LOG_FIRST (REC_FIRST + 2u * REC_COUNT)
/* One spare log page, so an uncommitted append never overwrites one of the
 * OCP_LOG_RECORDS committed records that must stay readable. */
#define LOG_SLOTS (OCP_LOG_RECORDS + 2u)
#define FORMAT_MAGIC "OCPN"
#define FORMAT_VERSION OCP_CARD_FORMAT_VERSION

typedef char layout_fits[(LOG_FIRST + LOG_SLOTS <= OCP_NVM_PAGES) ? 1 : -1];

static int page_read(uint32_t page, uint8_t buf[PAGE])
{
    return port_nvm_read(page * PAGE, buf, PAGE);
}

/* Returns 1 and the stamp when the page holds a valid copy. */
static int page_valid(const uint8_t buf[PAGE], uint32_t *stamp)
{
    if (ocp_crc32(buf, PAGE - 4) != ocp_get_be32(buf + PAGE - 4))
        return 0;
    *stamp = ocp_get_be32(buf);
    return 1;
}

static int page_write(struct ocp_card *card, uint32_t page, uint32_t stamp,
                      const uint8_t payload[STORE_PAYLOAD])
{
    uint8_t buf[PAGE];
    ocp_put_be32(buf, stamp);
    memcpy(buf + 4, payload, STORE_PAYLOAD);
    ocp_put_be32(buf + PAGE - 4, ocp_crc32(buf, PAGE - 4));
    if (port_nvm_write_page(page, buf) != 0) {
        card->dead = 1;
        return -1;
    }
    return 0;
}

/* Committed copy of a page pair: index 0/1 of the current copy, or -1. */
static int current_copy(const struct ocp_card *card, uint32_t first,
                        uint8_t buf[PAGE], int *err)
{
    uint8_t other[PAGE];
    uint32_t s0 = 0, s1 = 0;
    int v0, v1;

    *err = 0;
    if (page_read(first, buf) != 0 || page_read(first + 1, other) != 0) {
        *err = 1;
        return -1;
    }
    v0 = page_valid(buf, &s0) && s0 <= card->root.stamp;
    v1 = page_valid(other, &s1) && s1 <= card->root.stamp;
    if (v1 && (!v0 || s1 > s0)) {
        memcpy(buf, other, PAGE);
        return 1;
    }
    return v0 ? 0 : -1;
}

int store_read(const struct ocp_card *card, unsigned rec,
               uint8_t payload[STORE_PAYLOAD])
{
    uint8_t buf[PAGE];
    int err, which;

    if (rec >= REC_COUNT)
        return -1;
    which = current_copy(card, REC_FIRST + 2u * rec, buf, &err);
    if (err)
        return -1;
    if (which < 0) {
        memset(payload, 0, STORE_PAYLOAD);
        return 0;
    }
    memcpy(payload, buf + 4, STORE_PAYLOAD);
    return 1;
}

static void root_decode(const uint8_t *p, struct ocp_card_root *r)
{
    ocp_reader rd;
    ocp_reader_init(&rd, p, STORE_PAYLOAD);
    r->state = ocp_get_u8(&rd);
    r->pin_tries = ocp_get_u8(&rd);
    r->tx_counter = ocp_get_u32(&rd);
    r->drbg_counter = ocp_get_u32(&rd);
    r->last_date = ocp_get_u16(&rd);
    r->pending_date = ocp_get_u16(&rd);
    r->pending_terminal = ocp_get_u32(&rd);
}

static void root_encode(const struct ocp_card_root *r,
                        uint8_t p[STORE_PAYLOAD])
{
    ocp_writer w;
    memset(p, 0, STORE_PAYLOAD);
    ocp_writer_init(&w, p, STORE_PAYLOAD);
    ocp_put_u8(&w, r->state);
    ocp_put_u8(&w, r->pin_tries);
    ocp_put_u32(&w, r->tx_counter);
    ocp_put_u32(&w, r->drbg_counter);
    ocp_put_u16(&w, r->last_date);
    ocp_put_u16(&w, r->pending_date);
    ocp_put_u32(&w, r->pending_terminal);
}

/* Wipes a page whose valid copy carries an uncommitted stamp. */
static int wipe_if_uncommitted(struct ocp_card *card, uint32_t page)
{
    uint8_t buf[PAGE];
    uint32_t stamp;
    if (page_read(page, buf) != 0)
        return -1;
    if (!page_valid(buf, &stamp) || stamp <= card->root.stamp)
        return 0;
    memset(buf, 0, PAGE); /* CRC of zeros is not zero: invalid */
    if (port_nvm_write_page(page, buf) != 0)
        return -1;
    return 0;
}

ocp_card_status store_open(struct ocp_card *card)
{
    uint8_t buf[PAGE];
    uint32_t stamp, best = 0, page;
    int found = 0;
    unsigned i;

    if (page_read(HEADER_PAGE, buf) != 0)
        return OCP_CARD_NVM_FAILURE;
    if (ocp_crc32(buf, PAGE - 4) != ocp_get_be32(buf + PAGE - 4) ||
        ocp_ct_compare(buf, (const uint8_t *)FORMAT_MAGIC, 4) != 0)
        return OCP_CARD_NO_IMAGE;
    if (buf[4] != FORMAT_VERSION)
        return OCP_CARD_BAD_VERSION;
    memcpy(card->card_id, buf + 5, 8);

    for (i = 0; i < ROOT_SLOTS; i++) {
        if (page_read(ROOT_FIRST + i, buf) != 0)
            return OCP_CARD_NVM_FAILURE;
        if (page_valid(buf, &stamp) && (!found || stamp > best)) {
            found = 1;
            best = stamp;
            card->root.slot = (uint8_t)i;
            root_decode(buf + 4, &card->root);
        }
    }
    if (!found)
        return OCP_CARD_NO_IMAGE;
    card->root.stamp = best;

    /* Undo whatever a cut transaction wrote.  Cut again here, the next
     * power-up simply does the rest. */
    for (page = REC_FIRST; page < LOG_FIRST + LOG_SLOTS; page++)
        if (wipe_if_uncommitted(card, page) != 0)
            return OCP_CARD_NVM_FAILURE;
    return OCP_CARD_OK;
}

void store_begin(struct ocp_card *card)
{
    card->tx_stamp = card->root.stamp + 1u;
    card->log_pending = 0;
}

int store_put(struct ocp_card *card, unsigned rec,
              const uint8_t payload[STORE_PAYLOAD])
{
    uint8_t buf[PAGE];
    int err, which;
    uint32_t first = REC_FIRST + 2u * rec;

    if (card->dead || rec >= REC_COUNT)
        return -1;
    which = current_copy(card, first, buf, &err);
    if (err) {
        card->dead = 1;
        return -1;
    }
    /* Overwrite the copy that is not current (either when none is). */
    return page_write(card, which == 0 ? first + 1 : first, card->tx_stamp,
                      payload);
}

/* Slot of the newest committed log page and its stamp; -1 when empty. */
static int log_newest(struct ocp_card *card, uint32_t *newest_stamp)
{
    uint8_t buf[PAGE];
    uint32_t stamp;
    int newest = -1;
    unsigned i;
    if (card->log_known) {
        *newest_stamp = card->log_stamp;
        return card->log_slot;
    }
    for (i = 0; i < LOG_SLOTS; i++) {
        if (page_read(LOG_FIRST + i, buf) != 0)
            return -2;
        if (page_valid(buf, &stamp) && stamp <= card->root.stamp &&
            (newest < 0 || stamp > *newest_stamp)) {
            newest = (int)i;
            *newest_stamp = stamp;
        }
    }
    card->log_slot = (int8_t)newest;
    card->log_stamp = newest >= 0 ? *newest_stamp : 0;
    card->log_known = 1;
    return newest;
}

int store_log_append(struct ocp_card *card,
                     const uint8_t payload[STORE_PAYLOAD])
{
    uint32_t stamp = 0;
    int newest;
    if (card->dead)
        return -1;
    newest = log_newest(card, &stamp);
    if (newest < -1) {
        card->dead = 1;
        return -1;
    }
    /* The new record becomes the newest only when the commit lands. */
    card->log_pending_slot = (int8_t)((newest + 1) % (int)LOG_SLOTS);
    card->log_pending = 1;
    return page_write(card, LOG_FIRST + (uint32_t)card->log_pending_slot,
                      card->tx_stamp, payload);
}

int store_log_walk(struct ocp_card *card, struct store_log_walk *w,
                   uint8_t payload[STORE_PAYLOAD])
{
    uint8_t buf[PAGE];
    uint32_t stamp = 0;

    if (w->count == 0) {
        /* The newest record: one pass over the ring, once per walk. */
        w->slot = log_newest(card, &stamp);
        if (w->slot < -1)
            return -1;
        w->prev = stamp + 1u;
    } else {
        w->slot = (w->slot + (int)LOG_SLOTS - 1) % (int)LOG_SLOTS;
    }
    if (w->slot < 0 || w->count >= OCP_LOG_RECORDS)
        return 0;
    /* Appends go round the ring in order, so older records sit behind the
     * newest with strictly smaller stamps. */
    if (page_read(LOG_FIRST + (uint32_t)w->slot, buf) != 0)
        return -1;
    if (!page_valid(buf, &stamp) || stamp >= w->prev)
        return 0;
    w->prev = stamp;
    w->count++;
    memcpy(payload, buf + 4, STORE_PAYLOAD);
    return 1;
}

int store_commit(struct ocp_card *card, const struct ocp_card_root *root)
{
    uint8_t payload[STORE_PAYLOAD];
    uint8_t slot = (uint8_t)((card->root.slot + 1u) % ROOT_SLOTS);

    if (card->dead)
        return -1;
    root_encode(root, payload);
    if (page_write(card, ROOT_FIRST + slot, card->tx_stamp, payload) != 0)
        return -1;
    card->root = *root;
    card->root.stamp = card->tx_stamp;
    card->root.slot = slot;
    if (card->log_pending && card->log_known) {
        card->log_slot = card->log_pending_slot;
        card->log_stamp = card->tx_stamp;
    }
    card->log_pending = 0;
    return 0;
}

ocp_card_status store_format(const uint8_t card_id[8],
                             const uint8_t transport_key[16],
                             const uint8_t seed[16])
{
    struct ocp_card card;
    struct ocp_card_root root;
    uint8_t buf[PAGE], payload[STORE_PAYLOAD];
    uint32_t page;

    memset(&card, 0, sizeof card);
    /* Erase everything first so no page of an earlier image survives. */
    memset(buf, 0, PAGE);
    for (page = 0; page < OCP_NVM_PAGES; page++)
        if (port_nvm_write_page(page, buf) != 0)
            return OCP_CARD_NVM_FAILURE;

    memcpy(buf, FORMAT_MAGIC, 4);
    buf[4] = FORMAT_VERSION;
    memcpy(buf + 5, card_id, 8);
    ocp_put_be32(buf + PAGE - 4, ocp_crc32(buf, PAGE - 4));
    if (port_nvm_write_page(HEADER_PAGE, buf) != 0)
        return OCP_CARD_NVM_FAILURE;

    card.root.slot = ROOT_SLOTS - 1u;
    store_begin(&card);
    memset(payload, 0, sizeof payload);
    payload[0] = 1; /* slot 1 (issuer) present, transport version */
    payload[1] = OCP_KEY_VERSION_TRANSPORT;
    memcpy(payload + 2, transport_key, 16);
    if (store_put(&card, REC_KEYS1, payload) != 0)
        return OCP_CARD_NVM_FAILURE;
    memset(payload, 0, sizeof payload);
    memcpy(payload, seed, 16);
    if (store_put(&card, REC_DRBG, payload) != 0)
        return OCP_CARD_NVM_FAILURE;
    memset(&root, 0, sizeof root);
    root.state = OCP_STATE_BLANK;
    if (store_commit(&card, &root) != 0)
        return OCP_CARD_NVM_FAILURE;
    ocp_wipe(payload, sizeof payload);
    return OCP_CARD_OK;
}
