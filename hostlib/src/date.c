/*
 * Civil dates <-> days since 2000-01-01, the card's 16-bit day count
 * (docs/PROTOCOL.md, "Dates").  H. Hinnant's days_from_civil and
 * civil_from_days, in integers, on a year that starts in March so the leap
 * day is the last of its year.
 */
#include <stddef.h>
#include <stdint.h>

#include "ocp/holder.h"
#include "ocp_calendar.h"

#define DAYS_0000_03_01_TO_2000_01_01 730425L
#define LAST_DAY 65535L /* 2179-06-06 */

static int leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(long y, long m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

int ocp_date_from_civil(int year, int month, int mday, uint16_t *day)
{
    long y = year, m = month, d = mday, era, yoe, doy, doe, n;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return -1;
    if (y < 2000 || y > 2179)
        return -2;
    y -= m <= 2;
    era = y / 400; /* y >= 1999 here, so no negative division */
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    n = era * 146097 + doe - DAYS_0000_03_01_TO_2000_01_01;
    if (n < 0 || n > LAST_DAY)
        return -2;
    *day = (uint16_t)n;
    return 0;
}

void ocp_date_to_civil(uint16_t day, int *year, int *month, int *mday)
{
    uint16_t y;
    uint8_t m, d;
    ocp_civil_from_days(day, &y, &m, &d);
    *year = y;
    *month = m;
    *mday = d;
}

static int digits(const char *s, int n, int *out)
{
    int i, v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ocp_date_parse(const char *ymd, uint16_t *day)
{
    int y, m, d;
    if (ymd == NULL || day == NULL)
        return -1;
    /* Checked in order, so a short string stops at its NUL. */
    if (digits(ymd, 4, &y) != 0 || ymd[4] != '-' ||
        digits(ymd + 5, 2, &m) != 0 || ymd[7] != '-' ||
        digits(ymd + 8, 2, &d) != 0 || ymd[10] != '\0')
        return -1;
    return ocp_date_from_civil(y, m, d, day);
}

void ocp_date_format(uint16_t day, char out[11])
{
    int y, m, d, i;
    ocp_date_to_civil(day, &y, &m, &d);
    for (i = 3; i >= 0; i--, y /= 10)
        out[i] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}
