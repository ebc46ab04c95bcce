/*
 * One tap at a service point (ocp/tap.h).  The order matters:
 *
 *  1. SELECT: a blocked or terminated card is refused at once;
 *  2. the hotlist: a listed card is blocked with its cryptogram, refused;
 *  3. anti-passback: a retap within the window is answered, not charged;
 *  4. the journal: the attempt and its sequence number are on disk before
 *     the card is asked for anything that changes it;
 *  5. MUTUAL AUTHENTICATE: its answer carries the domain's last
 *     transaction, so a torn earlier attempt of ours is recognised and
 *     finished without a further round trip;
 *  6. CONSUME with the journal's sequence number (idempotent on the card).
 */
#include <string.h>

#include "hostlib_internal.h"
#include "ocp/issue.h"
#include "ocp/tap.h"
#include "ocp/wire.h"

static ocp_status refuse_note(const ocp_tap_params *p, ocp_tap_result *res,
                              ocp_status why, const char *text)
{
    res->outcome = OCP_TAP_REFUSED;
    res->reason = why;
    return ocp_journal_note(p->journal, res->card_id, p->role, p->service,
                            p->datetime, "refused", text);
}

ocp_status ocp_tap(ocp_transport *t, const ocp_tap_params *p,
                   ocp_tap_result *res)
{
    ocp_select_info info;
    ocp_session *s = NULL;
    ocp_last_tx last;
    uint8_t cryptogram[8];
    uint32_t when = 0;
    int found = 0, retry = 0;
    ocp_status st;

    if (t == NULL || p == NULL || res == NULL || p->ks == NULL ||
        p->journal == NULL)
        return OCP_E_ARGS;
    memset(res, 0, sizeof *res);
    st = ocp_select(t, &info);
    if (st != OCP_OK)
        return st;
    memcpy(res->card_id, info.card_id, 8);
    if (info.state == OCP_STATE_BLOCKED || info.state == OCP_STATE_TERMINATED)
        return refuse_note(p, res,
                           info.state == OCP_STATE_BLOCKED
                               ? OCP_E_CARD_BLOCKED
                               : OCP_E_CARD_TERMINATED,
                           "card blocked or terminated");
    if (info.state != OCP_STATE_ACTIVE)
        return refuse_note(p, res, OCP_E_DENIED, "card not active");

    if (p->hotlist != NULL &&
        ocp_hotlist_lookup(p->hotlist, info.card_id, cryptogram)) {
        /* Stop it for every terminal, not only this one. */
        st = hl_open_selected(t, p->ks, p->role, p->terminal_id,
                              p->datetime, &info, NULL, &s);
        if (st == OCP_OK)
            st = ocp_block_with_cryptogram(
                s, ocp_hotlist_version(p->hotlist), cryptogram);
        ocp_session_close(s);
        res->blocked_now = st == OCP_OK;
        return refuse_note(p, res, OCP_E_CARD_BLOCKED,
                           res->blocked_now ? "hotlisted, blocked now"
                                            : "hotlisted");
    }

    if (p->passback_minutes > 0) {
        st = ocp_journal_last_accepted(p->journal, info.card_id, &when,
                                       &found);
        if (st != OCP_OK)
            return st;
        if (found && p->datetime >= when &&
            p->datetime - when < p->passback_minutes) {
            res->outcome = OCP_TAP_ALREADY;
            return ocp_journal_note(p->journal, info.card_id, p->role,
                                    p->service, p->datetime, "passback",
                                    "retap inside the passback window");
        }
    }

    st = ocp_journal_begin(p->journal, info.card_id, p->role, p->service,
                           p->amount, p->datetime, &res->seq, &retry);
    if (st != OCP_OK)
        return st;
    /* The SELECT above gave the challenge: three round trips in all. */
    st = hl_open_selected(t, p->ks, p->role, p->terminal_id, p->datetime,
                          &info, &last, &s);
    if (st == OCP_OK && retry && last.counter != 0 &&
        last.terminal_id == p->terminal_id && last.seq == res->seq) {
        /* Our torn attempt did reach the card: its answer is here. */
        res->tx.counter = last.counter;
        res->tx.remaining = last.remaining;
        res->tx.flags = last.flags;
        memcpy(res->tx.cert, last.cert, 8);
        res->recovered = 1;
    } else if (st == OCP_OK) {
        if (p->pin != NULL)
            st = ocp_verify_pin(s, p->pin, NULL);
        if (st == OCP_OK)
            st = ocp_consume(s, p->service, p->amount, res->seq, &res->tx);
        res->recovered = retry && (res->tx.flags & OCP_TXF_REPEAT);
    }
    ocp_session_close(s);
    switch (st) {
    case OCP_OK:
        res->outcome = OCP_TAP_ACCEPTED;
        return ocp_journal_accept(p->journal, res->seq, &res->tx);
    case OCP_E_NOT_ENTITLED:
    case OCP_E_DENIED:
    case OCP_E_PIN_WRONG:
    case OCP_E_PIN_BLOCKED:
    case OCP_E_KEY_MISSING:
    case OCP_E_AUTH:
    case OCP_E_CARD_STATUS:
        /* The card answered, MAC-verified (or refused the session): the
         * attempt is over and nothing was consumed. */
        res->outcome = OCP_TAP_REFUSED;
        res->reason = st;
        return ocp_journal_refuse(p->journal, res->seq, ocp_strerror(st));
    default:
        return st; /* card gone mid-tap: stays pending, retried next tap */
    }
}
