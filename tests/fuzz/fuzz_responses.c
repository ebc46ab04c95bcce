/*
 * Fuzz target: libocp against a hostile card.  Every answer libocp parses
 * comes from the fuzz input, through a fake transport; the host code must
 * refuse what it cannot trust and never read or write out of bounds.
 *
 * The hard part is secure messaging: a random answer never carries a valid
 * R-MAC, so the protected parsers would stay unreached.  The fake card
 * therefore plays the real applet for the first `forward` commands (so a
 * genuine session is opened with the issued test card), then takes over
 * with a mirror of the applet's secure-messaging state: it checks and
 * decrypts each protected command like the card would, and wraps the
 * answer chosen by the fuzz input with a valid R-MAC.  Past the MAC, the
 * host's TLV and record parsers see whatever the input says.
 *
 * libocp never parses an ATR (the application is found by its AID, and the
 * PC/SC layer hands the ATR to nobody), so there is no ATR to fuzz: the
 * first answer libocp reads is SELECT's.
 *
 * Input: scenario(1) forward(1), then answers, each
 *   flags(1) sw1(1) sw2(1) len(1) data[len]
 * flags bit 0: send the data as is even to a protected command (a card
 * that does not protect its answer); otherwise protect it when the
 * command was protected.
 *
 * Seeds: with OCP_FUZZ_RECORD=FILE in the environment, the real card
 * answers everything and the run writes the input that replays those very
 * answers to FILE (the committed corpus was made this way, one file per
 * scenario and forward count).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "card_fixture.h"
#include "ocp/inproc.h"
#include "ocp/tap.h"
#include "card_internal.h"
#include "ocp_card.h"
#include "ocp_sm.h"
#include "port_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct card_fixture fx;
static uint8_t image[OCP_NVM_SIZE];
static ocp_journal *journal;
static uint8_t issuer_der[256];
static size_t issuer_len;
static char journal_path[64];
static int ready;
static const char *record_path;
static uint8_t record[8192];
static size_t record_len;

/* The hostile card: the real one first, then the fuzz input. */
struct hostile {
    ocp_transport t;
    const uint8_t *in;
    size_t left;
    unsigned forward;     /* commands still passed to the real card */
    int taken;            /* the fuzz input answers from now on */
    int mirrored;         /* sm holds the applet's session state */
    ocp_sm_session sm;
};

static void take_over(struct hostile *h)
{
    const struct ocp_card *card = ocp_inproc_card(fx.t);
    h->mirrored = card->session_role != 0;
    if (h->mirrored)
        h->sm = card->sm;
}

/* Seed recording: the real card answers; its answer, in plaintext when it
 * was protected, goes into the seed exactly as the fuzz input encodes it. */
static ocp_status record_answer(struct hostile *h, const uint8_t *capdu,
                                size_t clen, uint8_t *rapdu, size_t *rlen)
{
    uint8_t body[OCP_RAPDU_MAX];
    size_t n, plain;
    ocp_status st;
    uint8_t flags;
    int counted = h->forward > 0;
    if (counted)
        h->forward--;
    else if (!h->taken) {
        take_over(h); /* the card's state before this command */
        h->taken = 1;
    }
    st = fx.t->ops->transmit(fx.t, capdu, clen, rapdu, rlen);
    if (counted)
        return st;
    if (st != OCP_OK || record_len + 4 + *rlen > sizeof record)
        return st;
    n = *rlen - 2;
    memcpy(body, rapdu, n);
    flags = 1; /* as it came, unless it unwraps below */
    if (h->mirrored && clen > 5 && (capdu[0] & OCP_CLA_SM_BIT)) {
        uint16_t sw = (uint16_t)(rapdu[n] << 8 | rapdu[n + 1]);
        uint8_t cmd[256];
        memcpy(cmd, capdu + 5, capdu[4]);
        if (ocp_sm_unwrap_command(&h->sm, capdu, cmd, capdu[4], &plain) != 0)
            abort(); /* libocp's own command: it must unwrap */
        /* Unwrapping as the host leaves the chaining value where the card's
         * wrap left it, so the mirror stays in step. */
        if (ocp_sm_unwrap_response(&h->sm, body, n, sw, &plain) == 0) {
            n = plain;
            flags = 0;
        } else {
            h->mirrored = 0; /* a plain error: the card ended the session */
        }
    }
    record[record_len++] = flags;
    record[record_len++] = rapdu[*rlen - 2];
    record[record_len++] = rapdu[*rlen - 1];
    record[record_len++] = (uint8_t)n;
    memcpy(record + record_len, body, n);
    record_len += n;
    return st;
}

static ocp_status hostile_transmit(ocp_transport *t, const uint8_t *capdu,
                                   size_t clen, uint8_t *rapdu, size_t *rlen)
{
    struct hostile *h = t->ctx;
    uint8_t body[OCP_RAPDU_MAX + 16];
    size_t n, out;
    uint8_t flags;
    int protect;

    if (record_path != NULL)
        return record_answer(h, capdu, clen, rapdu, rlen);
    if (h->forward > 0) {
        h->forward--;
        return fx.t->ops->transmit(fx.t, capdu, clen, rapdu, rlen);
    }
    if (!h->taken) {
        take_over(h);
        h->taken = 1;
    }
    if (h->left < 4)
        return OCP_E_CARD_REMOVED; /* the card left the field */
    flags = h->in[0];
    n = h->in[3];
    if (h->left - 4 < n)
        n = h->left - 4;
    memcpy(body, h->in + 4, n);
    {
        uint16_t sw = (uint16_t)(h->in[1] << 8 | h->in[2]);
        h->in += 4 + n;
        h->left -= 4 + n;
        protect = h->mirrored && clen > 5 && (capdu[0] & OCP_CLA_SM_BIT);
        if (protect) {
            uint8_t cmd[256];
            size_t plain;
            memcpy(cmd, capdu + 5, clen - 5);
            /* Lc is capdu[4]; a trailing Le is not part of the body. */
            if (capdu[4] > clen - 5 ||
                ocp_sm_unwrap_command(&h->sm, capdu, cmd, capdu[4],
                                      &plain) != 0) {
                h->mirrored = 0; /* the card would end its session */
            } else if (flags & 1) {
                h->mirrored = 0; /* a plain answer ends it too */
            } else {
                if (n > CARD_SM_DATA_MAX)
                    n = CARD_SM_DATA_MAX;
                n = ocp_sm_wrap_response(&h->sm, body, n, sw);
            }
        }
        out = n;
        if (*rlen < out + 2)
            return OCP_E_BUFFER;
        memcpy(rapdu, body, out);
        rapdu[out] = (uint8_t)(sw >> 8);
        rapdu[out + 1] = (uint8_t)sw;
        *rlen = out + 2;
    }
    return OCP_OK;
}

static ocp_status nothing(ocp_transport *t)
{
    (void)t;
    return OCP_OK;
}

static void no_close(ocp_transport *t)
{
    (void)t;
}

static const struct ocp_transport_ops hostile_ops = {
    hostile_transmit, nothing, nothing, nothing, no_close,
};

static void cleanup(void)
{
    ocp_journal_close(journal);
    unlink(journal_path);
    fixture_free(&fx);
}

static void init_once(void)
{
    if (ready)
        return;
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        abort();
    port_test_get_image(image);
    issuer_len = sizeof issuer_der;
    if (fx.ks->ops->public_key(fx.ks, 1, issuer_der, &issuer_len) != OCP_OK)
        abort();
    /* In memory where there is a RAM file system: a tap syncs its journal. */
    snprintf(journal_path, sizeof journal_path, "%s/ocp-fuzz-journal-%d",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
             (int)getpid());
    unlink(journal_path);
    if (ocp_journal_open(journal_path, 0x0B00F022u, &journal) != OCP_OK)
        abort();
    record_path = getenv("OCP_FUZZ_RECORD");
    atexit(cleanup);
    ready = 1;
}

/* What an issuer's or a service point's software does with a card. */
static void read_everything(ocp_session *s)
{
    ocp_card_status_info st;
    ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
    ocp_log_record log[OCP_LOG_RECORDS];
    ocp_holder holder;
    size_t n;
    (void)ocp_read_status(s, &st);
    n = OCP_MAX_ENTITLEMENTS;
    (void)ocp_read_entitlements(s, ents, &n);
    n = OCP_LOG_RECORDS;
    (void)ocp_read_log(s, log, &n);
    (void)ocp_read_holder(s, &holder);
}

static void change_things(ocp_session *s)
{
    ocp_tx_result tx;
    ocp_entitlement e;
    int tries;
    uint8_t slot;
    (void)ocp_consume(s, SVC_BUS, 1, 42, &tx);
    (void)ocp_verify_pin(s, "2468", &tries);
    (void)ocp_change_pin(s, "2468", "8642", &tries);
    memset(&e, 0, sizeof e);
    e.service = 0x0701;
    e.domain = OCP_ROLE_VENUE;
    e.kind = OCP_KIND_COUNTER;
    e.valid_from = FIX_DAY;
    e.valid_to = FIX_DAY + 365;
    e.period = OCP_PERIOD_YEAR;
    e.limit = 12;
    e.remaining = 12;
    (void)ocp_grant(s, &e, &slot);
    (void)ocp_credit(s, 4, 100);
    (void)ocp_set_card_date(s, FIX_DAY + 1);
    (void)ocp_set_state(s, OCP_STATE_BLOCKED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hostile h;
    ocp_select_info info;
    ocp_session *s = NULL;
    init_once();
    if (size < 2)
        return 0;
    port_test_set_image(image);
    port_test_power_up();
    if (ocp_inproc_power_cycle(fx.t) != OCP_OK)
        abort();
    memset(&h, 0, sizeof h);
    h.t.ops = &hostile_ops;
    h.t.ctx = &h;
    h.forward = data[1] % 4; /* 0: even SELECT's answer is hostile */
    h.in = data + 2;
    h.left = size - 2;

    switch (data[0] % 4) {
    case 0: { /* anyone: public data and its signature */
        ocp_public_info pub;
        if (ocp_select(&h.t, &info) == OCP_OK &&
            ocp_read_public(&h.t, &pub) == OCP_OK)
            (void)ocp_verify_public(&pub, issuer_der, issuer_len);
        break;
    }
    case 1: { /* a bus validator's tap */
        ocp_tap_params p;
        ocp_tap_result r;
        memset(&p, 0, sizeof p);
        p.role = OCP_ROLE_TRANSIT;
        p.service = SVC_BUS;
        p.amount = 1;
        p.terminal_id = 0x0B00F022u;
        p.datetime = FIX_NOW;
        p.ks = fx.ks;
        p.journal = journal;
        p.passback_minutes = 5;
        (void)ocp_tap(&h.t, &p, &r);
        break;
    }
    case 2: /* the desk reads a card */
        if (ocp_open_role(&h.t, fx.ks, OCP_ROLE_ISSUER, 0x1001, FIX_NOW,
                          &info, NULL, &s) == OCP_OK)
            read_everything(s);
        break;
    default: /* the desk and the kiosk change a card */
        if (ocp_open_role(&h.t, fx.ks,
                          data[1] & 4 ? OCP_ROLE_KIOSK : OCP_ROLE_ISSUER,
                          0x1001, FIX_NOW, &info, NULL, &s) == OCP_OK)
            change_things(s);
        break;
    }
    ocp_session_close(s);
    if (record_path != NULL) {
        FILE *f = fopen(record_path, "wb");
        if (f == NULL || fwrite(data, 1, 2, f) != 2 ||
            fwrite(record, 1, record_len, f) != record_len || fclose(f) != 0)
            abort();
        record_len = 0;
    }
    return 0;
}
