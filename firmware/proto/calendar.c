/* The civil calendar of day numbers; see ocp_calendar.h. */
#include "ocp_calendar.h"

#include "ocp_wire.h"

/* Days from 0000-03-01 (the start of a March-based era) to 2000-01-01. */
#define DAYS_TO_2000 730425u

void ocp_civil_from_days(uint16_t day, uint16_t *year, uint8_t *month,
                         uint8_t *mday)
{
    uint32_t z = (uint32_t)day + DAYS_TO_2000;
    uint32_t era = z / 146097u;
    uint32_t doe = z - era * 146097u;
    uint32_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    uint32_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    uint32_t mp = (5u * doy + 2u) / 153u;
    uint32_t m = mp < 10u ? mp + 3u : mp - 9u;
    *year = (uint16_t)(yoe + era * 400u + (m <= 2u ? 1u : 0u));
    *month = (uint8_t)m;
    *mday = (uint8_t)(doy - (153u * mp + 2u) / 5u + 1u);
}

uint16_t ocp_period_of(uint16_t day, uint8_t period)
{
    uint16_t y;
    uint8_t m, d;
    if (period != OCP_PERIOD_MONTH && period != OCP_PERIOD_YEAR)
        return 0;
    ocp_civil_from_days(day, &y, &m, &d);
    if (period == OCP_PERIOD_YEAR)
        return (uint16_t)(y - 1999u);
    return (uint16_t)((y - 2000u) * 12u + m);
}
