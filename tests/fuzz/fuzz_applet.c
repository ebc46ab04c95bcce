/*
 * Fuzz target: the applet's dispatcher.
 *
 * The card starts each run from the same issued image.  With
 * FUZZ_IN_SESSION defined, a session is first opened (as the role in the
 * input's first byte) and every following command is wrapped in valid
 * secure messaging, so the protected commands are reached; without it the
 * input is a series of raw APDUs with no session.
 *
 * Input: [role byte, session build only] then records of
 * len(1) | bytes[len], each one APDU (raw) or CLA INS P1 P2 data (session).
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target; otherwise the
 * replay main in fuzz_replay.c feeds it the committed corpus.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "card_fixture.h"
#include "ocp_card.h"
#include "port_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct card_fixture fx;
static uint8_t image[OCP_NVM_SIZE];
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
    port_test_get_image(image);
    atexit(cleanup);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    init_once();
    port_test_set_image(image);
    port_test_power_up();
    if (ocp_inproc_power_cycle(fx.t) != OCP_OK)
        abort();
#ifdef FUZZ_IN_SESSION
    {
        ocp_session *s = NULL;
        uint8_t role;
        if (size < 1)
            return 0;
        role = (uint8_t)(1u + data[0] % OCP_ROLE_COUNT);
        at = 1;
        if (fixture_session(&fx, role, &s) != OCP_OK)
            abort(); /* every role opens a session on the issued card */
        if (role == OCP_ROLE_KIOSK && ocp_verify_pin(s, "2468", NULL) != OCP_OK)
            abort();
        while (at < size) {
            size_t len = data[at++];
            uint8_t resp[256];
            size_t rlen = sizeof resp;
            uint16_t sw;
            if (len < 4 || size - at < len)
                break;
            (void)ocp_session_transmit(s, data[at], data[at + 1],
                                       data[at + 2], data[at + 3],
                                       data + at + 4, len - 4, resp, &rlen,
                                       &sw);
            at += len;
        }
        ocp_session_close(s);
    }
#else
    while (at < size) {
        size_t len = data[at++];
        uint8_t resp[OCP_RAPDU_MAX];
        size_t rlen = sizeof resp;
        if (size - at < len)
            break;
        if (len >= 4)
            (void)fx.t->ops->transmit(fx.t, data + at, len, resp, &rlen);
        at += len;
    }
#endif
    return 0;
}
