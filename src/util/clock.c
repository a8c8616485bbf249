#include "util/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static _Atomic int64_t offset_ms;

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&offset_ms);
}

void clock_advance(int64_t ms)
{
    if (ms > 0)
        atomic_fetch_add(&offset_ms, ms);
}

int64_t clock_offset_ms(void)
{
    return atomic_load(&offset_ms);
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/*
 * Every answer carries several timestamps; gmtime_r() and snprintf() cost
 * about 3,600 instructions each, this a tenth of it. The date is the
 * proleptic Gregorian calendar from a day count (H. Hinnant's
 * civil_from_days); years outside 0..9999 take the slow path.
 */
void clock_format_iso(int64_t ms, char *buf, size_t len)
{
    int64_t s = ms / 1000;
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        s -= 1;
    }
    int64_t days = s / 86400, sec = s % 86400;
    if (sec < 0) {
        sec += 86400;
        days -= 1;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999 || len < 25) {
        time_t t = (time_t)s;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        return;
    }
    char *p = put_digits(buf, (int)year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, (int)(sec / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (int)(sec / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (int)(sec % 60), 2);
    *p++ = '.';
    p = put_digits(p, frac, 3);
    *p++ = 'Z';
    *p = '\0';
}
