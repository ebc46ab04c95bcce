/*
 * Who may see what (DESIGN.md section 3, docs/PROTOCOL.md "Roles").  A bus
 * validator never learns the holder's disability; a service role sees only
 * its own domain; the kiosk sees everything of its holder, after the PIN.
 */
#include "card_internal.h"

int role_sees_domain(uint8_t role, uint8_t domain)
{
    return role == OCP_ROLE_ISSUER || role == OCP_ROLE_KIOSK ||
           role == domain;
}

int role_sees_disability(uint8_t role)
{
    return role == OCP_ROLE_ISSUER || role == OCP_ROLE_KIOSK ||
           role == OCP_ROLE_MEDICAL || role == OCP_ROLE_REHAB ||
           role == OCP_ROLE_ASSIST;
}

int role_sees_identity(uint8_t role)
{
    return role == OCP_ROLE_ISSUER || role == OCP_ROLE_KIOSK;
}

int session_may_read(const struct ocp_card *card)
{
    if (card->session_role == 0)
        return 0;
    return card->session_role != OCP_ROLE_KIOSK || card->pin_verified;
}
