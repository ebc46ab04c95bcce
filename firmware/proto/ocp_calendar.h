/*
 * The civil calendar of the protocol's day numbers (days since 2000-01-01),
 * shared by the card (renewal periods) and libocp (dates in files and on
 * screen), so both count months and years the same way.  Integers only,
 * no tables: Howard Hinnant's days-to-civil algorithm.
 */
#ifndef OCP_CALENDAR_H
#define OCP_CALENDAR_H

#include <stdint.h>

/* Year (2000..2179), month (1..12) and day of month of a day number. */
void ocp_civil_from_days(uint16_t day, uint16_t *year, uint8_t *month,
                         uint8_t *mday);

/*
 * The period a day falls in, for OCP_PERIOD_*: months since 2000-01 plus
 * one, years since 1999, or 0 for no period (docs/PROTOCOL.md 2.8).
 */
uint16_t ocp_period_of(uint16_t day, uint8_t period);

#endif
