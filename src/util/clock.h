/*
 * clock.h - the one source of time.
 *
 * All business time is milliseconds since the Unix epoch, from clock_now_ms().
 * A test server (`--test-clock`) may move the clock forward with
 * clock_advance(); it never moves backwards.
 */
#ifndef QUANZI_UTIL_CLOCK_H
#define QUANZI_UTIL_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t clock_now_ms(void);
/* Adds `ms` (>= 0) to every later reading of clock_now_ms(). */
void clock_advance(int64_t ms);
int64_t clock_offset_ms(void);
/* The machine's own time, never moved by the test clock: for freshness checks with the
 * other side of a protocol (WeChat Pay's five-minute window), which lives in real time. */
int64_t clock_real_ms(void);
/* Monotonic time for measuring durations, in microseconds. */
int64_t clock_mono_us(void);

/* The start of China calendar day "YYYY-MM-DD" (UTC+8) as a UTC instant; false when `s` is
 * not such a date. */
bool clock_parse_china_date(const char *s, int64_t *ms);
/* "2026-11-22T06:36:00.123Z" into buf (at least 25 bytes). */
void clock_format_iso(int64_t ms, char *buf, size_t len);

#define MS_PER_DAY (24LL * 60 * 60 * 1000)
#define CHINA_OFFSET_MS (8LL * 60 * 60 * 1000)

/* Midnight of the China calendar day (UTC+8) that `ms` falls in, as a UTC instant. */
static inline int64_t clock_china_day_start(int64_t ms)
{
    int64_t local = ms + CHINA_OFFSET_MS;
    return local - local % MS_PER_DAY - CHINA_OFFSET_MS;
}

#endif
