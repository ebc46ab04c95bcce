/*
 * Fuzz target: the card image loader.  Power-up reads whatever the NVM
 * holds (a damaged chip, a tampered or foreign image file given to
 * ocp-card --image) and must either refuse it or recover a consistent card
 * that then answers commands, never read or write out of bounds.
 *
 * Every page ends with a CRC-32, so random pages would all be discarded as
 * torn and the record parsers behind them never reached.  The harness
 * therefore seals each page with a valid CRC unless the input's first byte
 * asks for the raw bytes.  Pages the input does not cover come from a real
 * issued card, so small inputs mutate a real image rather than an empty one.
 *
 * Input: mode(1), then image bytes from page `start` on, where start is the
 * second byte (mod the page count).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card_fixture.h"
#include "ocp_bytes.h"
#include "ocp_card.h"
#include "ocp_crypto.h"
#include "port_test.h"

#define PAGE 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct card_fixture fx;
static uint8_t issued[OCP_NVM_SIZE];
static int ready;

static void cleanup(void)
{
    fixture_free(&fx);
}

static void init_once(void)
{
    if (ready)
        return;
    if (fixture_issued(&fx, OCP_SUITE_AES) != 0)
        abort();
    port_test_get_image(issued);
    atexit(cleanup);
    ready = 1;
}

/* A terminal's first exchanges with a card it does not trust yet. */
static void use_card(void)
{
    static const uint8_t commands[][16] = {
        {11, 0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0, 0x4F, 0x43, 0x50, 0x01, 0x00},
        {5, 0x80, 0xCA, 0x01, 0x01, 0x00},
        {5, 0x00, 0x84, 0x00, 0x00, 0x08},
    };
    ocp_session *s = NULL;
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        uint8_t r[OCP_RAPDU_MAX];
        size_t rlen = sizeof r;
        (void)fx.t->ops->transmit(fx.t, commands[i] + 1, commands[i][0], r,
                                  &rlen);
    }
    /* A session needs the card's keys to be the issuer's: with a mutated
     * image that rarely holds, and the refusal path is what runs. */
    if (fixture_session(&fx, OCP_ROLE_ISSUER, &s) == OCP_OK) {
        ocp_card_status_info st;
        ocp_entitlement ents[OCP_MAX_ENTITLEMENTS];
        ocp_tx_result tx;
        size_t n = OCP_MAX_ENTITLEMENTS;
        (void)ocp_read_status(s, &st);
        (void)ocp_read_entitlements(s, ents, &n);
        (void)ocp_consume(s, SVC_DEVICE, 1, 7, &tx);
        ocp_session_close(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t img[OCP_NVM_SIZE];
    size_t start, n, p;
    int seal;
    init_once();
    if (size < 2)
        return 0;
    seal = !(data[0] & 1);
    start = (size_t)data[1] % (OCP_NVM_SIZE / PAGE) * PAGE;
    memcpy(img, issued, sizeof img);
    n = size - 2;
    if (n > OCP_NVM_SIZE - start)
        n = OCP_NVM_SIZE - start;
    memcpy(img + start, data + 2, n);
    if (seal)
        for (p = start; p < start + n; p += PAGE)
            ocp_put_be32(img + p + PAGE - 4, ocp_crc32(img + p, PAGE - 4));
    port_test_set_image(img);
    port_test_power_up();
    if (ocp_inproc_power_cycle(fx.t) == OCP_OK)
        use_card();
    return 0;
}
