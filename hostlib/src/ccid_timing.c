/* The reader's silence limit from its descriptor and the ATR: see
 * ccid_timing.h for the rule. */
#include "ccid_timing.h"

#include <string.h>

#define DEFAULT_CLOCK_KHZ 4000u
#define DEFAULT_DATA_RATE_BPS 9600u
#define DEFAULT_FI 372u
#define DEFAULT_WI 10u
#define DEFAULT_BWI 4u
#define MAX_BWI 9u
#define DEFAULT_IFS 32u
#define MAX_IFS 254u
/* The longest OCP exchange: a 261-byte command, a 258-byte response. */
#define CAPDU_BYTES 261u
#define RAPDU_BYTES 258u
/* Headers, procedure bytes and T=1 prologues and epilogues, roughly. */
#define FRAMING_BYTES 20u
#define MARGIN_MS 1000u
#define SILENCE_MAX 0x7FFFFFFFu

/* ISO/IEC 7816-3 table 7: Fi by the high nibble of TA1 (0: RFU, read as
 * the default). */
static const unsigned fi_table[16] = {372,  372,  558,  744,  1116, 1488,
                                      1860, 0,    0,    512,  768,  1024,
                                      1536, 2048, 0,    0};

int ccid_atr_timing(const uint8_t *atr, size_t n, struct ccid_atr_timing *t)
{
    size_t pos = 2;
    unsigned group = 1, y, protocol = 0;
    int seen_td = 0, t1_ta = 0, t1_tb = 0;

    memset(t, 0, sizeof *t);
    t->fi = DEFAULT_FI;
    t->wi = DEFAULT_WI;
    t->bwi = DEFAULT_BWI;
    t->ifsc = DEFAULT_IFS;
    if (atr == NULL || n < 2) {
        t->offers_t0 = 1;
        return -1;
    }
    y = atr[1] >> 4;
    for (;;) {
        uint8_t ta = 0, tb = 0, tc = 0, td = 0;
        int has_ta = (y & 1u) != 0, has_tb = (y & 2u) != 0,
            has_tc = (y & 4u) != 0, has_td = (y & 8u) != 0;
        size_t need = (size_t)has_ta + (size_t)has_tb + (size_t)has_tc +
                      (size_t)has_td;
        if (n - pos < need) {
            if (!seen_td || t->offers_t0 + t->offers_t1 == 0)
                t->offers_t0 = 1;
            return -1;
        }
        if (has_ta)
            ta = atr[pos++];
        if (has_tb)
            tb = atr[pos++];
        if (has_tc)
            tc = atr[pos++];
        if (has_td)
            td = atr[pos++];
        if (group == 1 && has_ta && fi_table[ta >> 4] != 0)
            t->fi = fi_table[ta >> 4];
        if (group == 2 && has_tc && tc != 0)
            t->wi = tc; /* TC2 is the T=0 waiting integer */
        /* From group 3 on, the bytes belong to the protocol named by the
         * TD before them; T=1 reads its first TA and first TB. */
        if (group >= 3 && protocol == 1) {
            if (has_ta && !t1_ta) {
                t1_ta = 1;
                if (ta != 0 && ta != 0xFF)
                    t->ifsc = ta > MAX_IFS ? MAX_IFS : ta;
            }
            if (has_tb && !t1_tb) {
                t1_tb = 1;
                t->bwi = (unsigned)(tb >> 4) > MAX_BWI ? MAX_BWI
                                                       : (unsigned)(tb >> 4);
            }
        }
        if (!has_td)
            break;
        seen_td = 1;
        protocol = td & 0x0Fu;
        if (protocol == 0)
            t->offers_t0 = 1;
        else if (protocol == 1)
            t->offers_t1 = 1;
        y = td >> 4;
        group++;
    }
    if (!t->offers_t0 && !t->offers_t1)
        t->offers_t0 = 1; /* no TD1, or only global ones: T=0 */
    return 0;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1u) / b;
}

uint32_t ccid_silence_ms(const struct ccid_features *f,
                         const struct ccid_atr_timing *t,
                         unsigned multiplier)
{
    uint64_t clock = f->default_clock ? f->default_clock : DEFAULT_CLOCK_KHZ;
    uint64_t rate = f->data_rate ? f->data_rate : DEFAULT_DATA_RATE_BPS;
    uint64_t ifsd = f->max_ifsd == 0         ? DEFAULT_IFS
                    : f->max_ifsd > MAX_IFS ? MAX_IFS
                                            : f->max_ifsd;
    uint64_t card = 0, wire, total;

    if (multiplier == 0)
        multiplier = 1;
    if (t->offers_t1) {
        uint64_t bwt = ceil_div((1ull << t->bwi) * 960u * 372u, clock);
        uint64_t blocks = ceil_div(CAPDU_BYTES, t->ifsc ? t->ifsc : 1u) +
                          ceil_div(RAPDU_BYTES, ifsd);
        card = blocks * bwt;
    }
    if (t->offers_t0) {
        uint64_t wt = ceil_div((uint64_t)t->wi * 960u * t->fi, clock);
        if (6u * wt > card)
            card = 6u * wt;
    }
    wire = ceil_div((CAPDU_BYTES + RAPDU_BYTES + FRAMING_BYTES) * 12u *
                        1000u,
                    rate);
    total = card * multiplier + wire + MARGIN_MS;
    return total > SILENCE_MAX ? SILENCE_MAX : (uint32_t)total;
}
