/*
 * How long the CCID transport lets a reader stay silent (ccid_timing.c):
 * the per-transfer libusb timeout, derived from what the reader's class
 * descriptor and the card's ATR say about the card's waiting times.  No
 * USB, no clock: a pure function, tested from a table.
 *
 * The rule (docs/CCID.md, "How long a read may take"):
 *   f      the reader's dwDefaultClock (kHz; 4000 when 0)
 *   T=1    BWT = 2^BWI x 960 x 372 / f, BWI from the ATR's first TB after
 *          a TD naming T=1 (default 4, values over 9 read as 9); one
 *          exchange is at most ceil(261 / IFSC) + ceil(258 / IFSD) blocks,
 *          IFSC from the ATR's TA for T=1 (default 32), IFSD the reader's
 *          dwMaxIFSD (at most 254; 32 when 0), each block one BWT
 *   T=0    WT = WI x 960 x Fi / f, WI from TC2 (default 10), Fi from TA1
 *          (default 372); one exchange is at most 6 WT (procedure byte and
 *          status words of the command and of the reader's GET RESPONSE)
 *   wire   (261 + 258 + 20) characters of 12 bits at the reader's
 *          dwDataRate (bps; 9600 when 0)
 * silence = the larger of the T=0 and T=1 waits for the protocols the ATR
 * offers (T=0 alone when it names none), times the card's time-extension
 * multiplier (bError of the last time extension; 1 before any), plus the
 * wire time, plus 1000 ms for USB and the reader's firmware.
 */
#ifndef OCP_CCID_TIMING_H
#define OCP_CCID_TIMING_H

#include <stddef.h>
#include <stdint.h>

#include "ccid_codec.h"

/* What the timing rule reads from the ATR. */
struct ccid_atr_timing {
    int offers_t0, offers_t1;
    unsigned fi;   /* clock rate conversion factor, from TA1 */
    unsigned wi;   /* T=0 waiting integer, from TC2 */
    unsigned bwi;  /* T=1 block waiting integer */
    unsigned ifsc; /* T=1 card's information field size */
};

/*
 * Read the interface bytes of an ATR (ISO/IEC 7816-3, 8.2), bounded by n.
 * Absent bytes keep their defaults.  0, or -1 when the ATR ends inside its
 * interface bytes (the defaults are filled in then too).
 */
int ccid_atr_timing(const uint8_t *atr, size_t n, struct ccid_atr_timing *t);

/*
 * How many milliseconds one read may wait for the reader's next message,
 * with `multiplier` the last time extension's bError (0 counts as 1).
 * Never below 1000; at most 0x7FFFFFFF.
 */
uint32_t ccid_silence_ms(const struct ccid_features *f,
                         const struct ccid_atr_timing *t,
                         unsigned multiplier);

#endif
