/* Shared set-up for the applet tests; see card_fixture.h. */
#include "card_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocp_crypto.h"
#include "ocp_card.h"
#include "port_test.h"

const ocp_holder fixture_holder = {
    "张三丰", "11010119800101123X42", 4, 2, 110105};

static const uint8_t batch_key[16] = {0, 1, 2, 3, 4, 5, 6, 7,
                                      8, 9, 10, 11, 12, 13, 14, 15};

int fixture_blank(struct card_fixture *f)
{
    uint8_t transport[16], div[OCP_DIV_INPUT_LEN], seed[16] = {0};
    static const uint8_t id[8] = {0x4F, 0x43, 0x50, 0x00,
                                  0x00, 0x00, 0x00, 0x2A};

    memset(f, 0, sizeof *f);
    memcpy(f->card_id, id, 8);
    port_test_erase();
    ocp_div_input(id, OCP_ROLE_ISSUER, OCP_KEY_VERSION_TRANSPORT, div);
    ocp_an10922(OCP_CIPHER_AES128, batch_key, div, sizeof div, transport);
    if (ocp_card_manufacture(id, transport, seed) != OCP_CARD_OK)
        return -1;
    port_test_reset_counters();
    strcpy(f->dir, "/tmp/ocp-unit-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    if (ocp_keystore_dev_open(f->dir, &f->ks) != OCP_OK)
        return -1;
    return ocp_inproc_open(&f->t) == OCP_OK ? 0 : -1;
}

int fixture_issued(struct card_fixture *f, uint8_t suite)
{
    if (fixture_blank(f) != 0)
        return -1;
    return fixture_issue(f, suite);
}

int fixture_issue(struct card_fixture *f, uint8_t suite)
{
    static const ocp_entitlement ents[] = {
        {0, SVC_BUS, OCP_ROLE_TRANSIT, OCP_KIND_PASS, 0, 9800, 10200,
         OCP_PERIOD_NONE, 0, 0, 0},
        {0, SVC_REFILL, OCP_ROLE_MEDICAL, OCP_KIND_COUNTER, 0, 9800, 10200,
         OCP_PERIOD_MONTH, 2, 2, 0},
        {0, SVC_REHAB, OCP_ROLE_REHAB, OCP_KIND_COUNTER, OCP_ENT_FLAG_PIN,
         9800, 10200, OCP_PERIOD_YEAR, 10, 10, 0},
        {0, SVC_DEVICE, OCP_ROLE_ASSIST, OCP_KIND_BALANCE, 0, 9800, 10200,
         OCP_PERIOD_NONE, 0, 500000, 0},
    };
    ocp_issue_request req;
    memset(&req, 0, sizeof req);
    req.suite = suite;
    req.issue_date = FIX_DAY;
    req.expiry_date = FIX_DAY + 3650;
    req.holder = fixture_holder;
    strcpy(req.pin, "2468");
    req.entitlements = ents;
    req.n_entitlements = sizeof ents / sizeof ents[0];
    req.terminal_id = 0xD0000001u;
    req.datetime = FIX_NOW;
    return ocp_issue_card(f->t, f->ks, &req, NULL) == OCP_OK ? 0 : -1;
}

void fixture_free(struct card_fixture *f)
{
    char cmd[128];
    if (f->t)
        f->t->ops->close(f->t);
    ocp_keystore_close(f->ks);
    if (f->dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", f->dir);
    }
    memset(f, 0, sizeof *f);
}

uint16_t fixture_raw(struct card_fixture *f, const uint8_t *apdu, size_t n,
                     uint8_t *r, size_t *rlen)
{
    size_t len = 258;
    if (f->t->ops->transmit(f->t, apdu, n, r, &len) != OCP_OK || len < 2)
        return 0;
    *rlen = len - 2;
    return (uint16_t)((r[len - 2] << 8) | r[len - 1]);
}

ocp_status fixture_session_at(struct card_fixture *f, uint8_t role,
                              uint32_t terminal, uint32_t datetime,
                              ocp_last_tx *last, ocp_session **s)
{
    return ocp_open_role(f->t, f->ks, role, terminal, datetime, NULL, last,
                         s);
}

ocp_status fixture_session(struct card_fixture *f, uint8_t role,
                           ocp_session **s)
{
    return fixture_session_at(f, role, 0x1000u + role, FIX_NOW, NULL, s);
}
