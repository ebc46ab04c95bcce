/*
 * The card's date rules (docs/PROTOCOL.md, "Dates").  The card has no
 * clock: it trusts an authenticated terminal's date within limits.
 *
 * - A date before the latest one seen is accepted and flagged BACKDATED.
 * - A date up to OCP_DATE_JUMP_DAYS after it is plausible: it becomes the
 *   card's date and may renew counters.
 * - A date further ahead is flagged AHEAD and may not renew, unless a second,
 *   different terminal confirms it (a date within the jump of the pending
 *   one): two independent clocks agreeing are trusted.  This keeps a card
 *   that was unused for months from being stuck, while one terminal with a
 *   wrong clock cannot fill counters for future periods.
 * - An issuer session sets the date outright (PUT DATA date).
 */
#include "card_internal.h"
#include "ocp_calendar.h"

uint16_t date_of(uint32_t datetime)
{
    uint32_t day = datetime / 1440u;
    return day > 0xFFFFu ? 0xFFFFu : (uint16_t)day;
}

uint16_t date_period(uint16_t day, uint8_t period)
{
    return ocp_period_of(day, period);
}

uint8_t date_observe(struct ocp_card *card, struct ocp_card_root *root,
                     uint32_t datetime, uint32_t terminal, int *trusted)
{
    uint16_t d = date_of(datetime);
    (void)card;
    *trusted = 0;
    if (root->last_date != 0 && d < root->last_date)
        return OCP_TXF_BACKDATED;
    if (root->last_date == 0 ||
        (uint32_t)d <= (uint32_t)root->last_date + OCP_DATE_JUMP_DAYS) {
        root->last_date = d;
        *trusted = 1;
        return 0;
    }
    if (root->pending_date != 0 && root->pending_terminal != terminal &&
        d >= root->pending_date &&
        (uint32_t)d <= (uint32_t)root->pending_date + OCP_DATE_JUMP_DAYS) {
        root->last_date = d;
        root->pending_date = 0;
        root->pending_terminal = 0;
        *trusted = 1;
        return 0;
    }
    root->pending_date = d;
    root->pending_terminal = terminal;
    return OCP_TXF_AHEAD;
}
