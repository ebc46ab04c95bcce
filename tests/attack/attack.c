/* Shared pieces of the protocol attack suite; see attack.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "attack.h"
#include "ocp_bytes.h"
#include "ocp_crypto.h"
#include "ocp_proto.h"
#include "port_test.h"

struct card_fixture fx;
struct mitm mm;
uint8_t issued_image[OCP_NVM_SIZE];

int attack_setup(void **state)
{
    (void)state;
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        return -1;
    mitm_init(&mm, fx.t);
    port_test_select(0);
    port_test_get_image(issued_image);
    return 0;
}

int attack_teardown(void **state)
{
    (void)state;
    fixture_free(&fx);
    return 0;
}

void restore(const uint8_t image[OCP_NVM_SIZE])
{
    port_test_select(0);
    port_test_set_image(image);
    /* The card's RAM caches the root: only a power-up rereads the image. */
    assert_int_equal(ocp_inproc_power_cycle(fx.t), OCP_OK);
    mitm_clear(&mm);
}

void snap(uint8_t image[OCP_NVM_SIZE])
{
    port_test_select(0);
    port_test_get_image(image);
}

void assert_same_image(const uint8_t *a, const uint8_t *b, const char *what)
{
    size_t i;
    for (i = 0; i < OCP_NVM_SIZE; i++)
        if (a[i] != b[i])
            fail_msg("%s: NVM differs at page %zu byte %zu", what,
                     i / OCP_NVM_PAGE_SIZE, i % OCP_NVM_PAGE_SIZE);
}

/* docs/NVM.md: pages 1..4 are the root ring, each stamp(4) | payload(56)
 * | CRC-32(4); the valid one with the highest stamp is committed. */
void image_root(const uint8_t image[OCP_NVM_SIZE], struct image_root *r)
{
    unsigned page;
    int found = 0;
    memset(r, 0, sizeof *r);
    for (page = 1; page <= 4; page++) {
        const uint8_t *p = image + page * OCP_NVM_PAGE_SIZE;
        uint32_t stamp = ocp_get_be32(p);
        if (ocp_crc32(p, 60) != ocp_get_be32(p + 60))
            continue;
        if (!found || stamp > r->stamp) {
            found = 1;
            r->page = page;
            r->stamp = stamp;
            memcpy(r->payload, p + 4, sizeof r->payload);
        }
    }
    assert_true(found);
}

ocp_session *open_role_at(uint8_t role, uint32_t terminal, uint32_t datetime,
                          ocp_last_tx *last)
{
    ocp_session *s = NULL;
    assert_int_equal(ocp_open_role(&mm.t, fx.ks, role, terminal, datetime,
                                   NULL, last, &s),
                     OCP_OK);
    return s;
}

ocp_session *open_role(uint8_t role)
{
    return open_role_at(role, 0x1000u + role, FIX_NOW, NULL);
}

uint16_t inject(const uint8_t *apdu, size_t len, size_t *rlen)
{
    uint8_t r[OCP_RAPDU_MAX];
    size_t n = sizeof r;
    uint16_t sw = mitm_inject(&mm, apdu, len, r, &n);
    if (rlen != NULL)
        *rlen = n;
    return sw;
}

uint16_t rterm_open(struct rterm *rt, uint8_t role, uint32_t terminal,
                    uint32_t datetime, const uint8_t *key_card)
{
    static const uint8_t rh[8] = {0xA1, 0x7A, 0xC4, 0x00,
                                  0x00, 0x00, 0x00, 0x01};
    uint8_t sel[5 + OCP_AID_LEN + 1] = {0x00, 0xA4, 0x04, 0x00, OCP_AID_LEN};
    uint8_t r[OCP_RAPDU_MAX], ma[5 + OCP_AUTH_DATA_LEN + 1];
    uint8_t key[16], context[OCP_SM_CONTEXT_LEN], cryptogram[8];
    uint8_t suite, version;
    size_t n = sizeof r, plain;
    uint16_t sw;

    memset(rt, 0, sizeof *rt);
    memcpy(sel + 5, ocp_aid, OCP_AID_LEN);
    sel[sizeof sel - 1] = 0x00;
    sw = mitm_inject(&mm, sel, sizeof sel, r, &n);
    assert_int_equal(sw, OCP_SW_OK);
    assert_int_equal(n, OCP_SELECT_RESP_LEN + 2);
    memcpy(rt->card_id, r + 1, 8);
    suite = r[9];
    version = r[11 + role - 1];
    assert_int_equal(fx.ks->ops->card_key(fx.ks, suite,
                                          key_card ? key_card : rt->card_id,
                                          role, version, key),
                     OCP_OK);
    ocp_sm_context(rh, r + 20, role, terminal, datetime, context);
    ocp_sm_begin(&rt->sm, ocp_suite_cipher(suite), key, context, cryptogram);

    ma[0] = OCP_CLA_ISO;
    ma[1] = OCP_INS_MUTUAL_AUTH;
    ma[2] = suite;
    ma[3] = role;
    ma[4] = OCP_AUTH_DATA_LEN;
    ma[5] = version;
    memcpy(ma + 6, rh, 8);
    ocp_put_be32(ma + 14, terminal);
    ocp_put_be32(ma + 18, datetime);
    memcpy(ma + 22, cryptogram, 8);
    ma[30] = 0x00;
    n = sizeof r;
    sw = mitm_inject(&mm, ma, sizeof ma, r, &n);
    if (sw != OCP_SW_OK)
        return sw;
    if (rterm_unwrap(rt, r, n, &plain) != 0 || plain != OCP_LASTTX_LEN)
        return 0x0001;
    return sw;
}

size_t rterm_wrap(struct rterm *rt, uint8_t cla, uint8_t ins, uint8_t p1,
                  uint8_t p2, const uint8_t *data, size_t len,
                  uint8_t apdu[MITM_CAPDU_MAX])
{
    const uint8_t hdr[4] = {cla, ins, p1, p2};
    size_t n = ocp_sm_wrap_command(&rt->sm, hdr, data, len, apdu,
                                   MITM_CAPDU_MAX);
    assert_true(n > 0);
    return n;
}

int rterm_unwrap(struct rterm *rt, uint8_t *r, size_t rlen, size_t *plain)
{
    uint16_t sw;
    if (rlen < 2)
        return -1;
    sw = (uint16_t)((r[rlen - 2] << 8) | r[rlen - 1]);
    return ocp_sm_unwrap_response(&rt->sm, r, rlen - 2, sw, plain);
}
