/* Unit tests for src/util: arena, buf, text, err table, clock formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/arena.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/text.h"

static void arena_caps_and_aligns(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 64 * 1024);
    char *p = arena_alloc(&a, 3);
    char *q = arena_alloc(&a, 5);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_null(arena_alloc(&a, 128 * 1024)); /* past the cap */
    assert_true(a.exhausted);
    arena_reset(&a);
    assert_false(a.exhausted);
    assert_non_null(arena_alloc(&a, 1000));
    assert_string_equal(arena_printf(&a, "%d-%s", 7, "x"), "7-x");
    assert_string_equal(arena_strndup(&a, "hello", 3), "hel");
    arena_release(&a);
}

static void buf_caps(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_true(buf_add(&b, "hello", 5));
    assert_true(buf_printf(&b, "%d", 1234));
    assert_string_equal(b.ptr, "hello1234");
    assert_false(buf_add(&b, "xy", 2)); /* 11 > 10 */
    assert_true(b.overflow);
    assert_string_equal(b.ptr, "hello1234");
    buf_release(&b);
}

static void text_utf8(void **state)
{
    (void)state;
    assert_int_equal(text_utf8_chars("abc", 3), 3);
    assert_int_equal(text_utf8_chars("核桃", strlen("核桃")), 2);
    assert_int_equal(text_utf8_chars("\xF0\x9F\x8C\xB0", 4), 1); /* chestnut emoji */
    assert_int_equal(text_utf8_chars("\xC0\xAF", 2), -1);        /* overlong */
    assert_int_equal(text_utf8_chars("\xED\xA0\x80", 3), -1);    /* surrogate */
    assert_int_equal(text_utf8_chars("\xE6\xA0", 2), -1);        /* truncated */
    char cut[] = "ab\xE9\x94";                                   /* 键 cut short */
    text_utf8_repair(cut);
    assert_string_equal(cut, "ab");
    char bad[] = "a\xFF"
                 "b\xC0\xAF"
                 "核桃\xED\xA0\x80"
                 "c";
    text_utf8_repair(bad);
    assert_string_equal(bad, "a?b??核桃???c");
    char fine[] = "核桃 ok \xF0\x9F\x8C\xB0";
    text_utf8_repair(fine);
    assert_string_equal(fine, "核桃 ok \xF0\x9F\x8C\xB0");
    assert_true(text_has_control("a\tb", 3));
    assert_false(text_has_control_but_newline("a\tb\nc", 5));
    assert_true(text_has_control("a\xC2\x85", 3)); /* NEL, a C1 control */
    assert_false(text_has_control("核桃", strlen("核桃")));
}

static void text_trim_and_ids(void **state)
{
    (void)state;
    const char *s = "  hi there \n";
    size_t n = strlen(s);
    text_trim(&s, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(s, "hi there", 8);
    int64_t v;
    assert_true(text_parse_id("42", 2, &v));
    assert_int_equal(v, 42);
    assert_false(text_parse_id("042", 3, &v));
    assert_false(text_parse_id("0", 1, &v));
    assert_false(text_parse_id("-1", 2, &v));
    assert_false(text_parse_id("1x", 2, &v));
    assert_false(text_parse_id("9999999999999999999", 19, &v));
    assert_true(text_parse_int64("-5", -10, 10, &v));
    assert_int_equal(v, -5);
    assert_false(text_parse_int64("11", -10, 10, &v));
    assert_false(text_parse_int64("", 0, 10, &v));
    char hex[7];
    text_hex((const unsigned char *)"\x01\xab\xff", 3, hex);
    assert_string_equal(hex, "01abff");
}

static void err_table(void **state)
{
    (void)state;
    assert_int_equal(err_status(ERR_OK), 200);
    assert_int_equal(err_status(ERR_UNKNOWN_FIELD), 400);
    assert_string_equal(err_code(ERR_UNKNOWN_FIELD), "unknown_field");
    assert_int_equal(err_status(ERR_NOT_FOUND), 404);
    assert_int_equal(err_status(ERR_TOO_LARGE), 413);
    assert_int_equal(err_status(ERR_RATE_LIMITED), 429);
    assert_int_equal(err_status(ERR_UNAVAILABLE), 503);
    assert_int_equal(err_status((enum err)9999), 500);
    struct errinfo ei = {0};
    assert_int_equal(err_set(&ei, ERR_INVALID, "slug", "bad %s", "slug"), ERR_INVALID);
    assert_string_equal(ei.field, "slug");
    assert_string_equal(ei.message, "bad slug");
    assert_int_equal(err_set(NULL, ERR_INVALID, "x", "y"), ERR_INVALID);
    /* the server writes codes and default messages into JSON as they are, when an error
     * body cannot be built: none may need escaping, and all must be UTF-8 */
    for (int e = 0; e < ERR__COUNT; e++) {
        const char *texts[] = {err_code((enum err)e), err_default_message((enum err)e)};
        for (int k = 0; k < 2; k++) {
            assert_non_null(texts[k]);
            assert_true(texts[k][0] != '\0');
            assert_null(strpbrk(texts[k], "\"\\"));
            assert_true(text_utf8_chars(texts[k], strlen(texts[k])) > 0);
            assert_false(text_has_control(texts[k], strlen(texts[k])));
        }
    }
}

static void clock_iso(void **state)
{
    (void)state;
    char buf[40];
    clock_format_iso(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    clock_format_iso(1795329300123LL, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-22T06:35:00.123Z");
    clock_format_iso(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    clock_format_iso(951782400000LL, buf, sizeof buf); /* a leap day of a century's leap year */
    assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
    clock_format_iso(253402300799999LL, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    /* the same as gmtime_r() over many days, both sides of the epoch */
    for (int64_t ms = -62135596800000LL; ms < 253402300800000LL; ms += 86399999LL * 37 + 12345) {
        char want[80];
        time_t t = (time_t)(ms >= 0 || ms % 1000 == 0 ? ms / 1000 : ms / 1000 - 1);
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(((ms % 1000) + 1000) % 1000));
        clock_format_iso(ms, buf, sizeof buf);
        assert_string_equal(buf, want);
    }
    int64_t before = clock_now_ms();
    clock_advance(MS_PER_DAY);
    assert_true(clock_now_ms() - before >= MS_PER_DAY);
    clock_advance(-5); /* never backwards */
    assert_int_equal(clock_offset_ms(), MS_PER_DAY);
}

/* INVARIANT aborts in test builds (this one), naming what broke; in release it is false. */
/* China calendar days: parsed to their start in UTC, and back; impossible dates refused. */
static void clock_china_days(void **state)
{
    (void)state;
    int64_t ms = 0;
    char iso[32];
    assert_true(clock_parse_china_date("2026-12-06", &ms));
    clock_format_iso(ms, iso, sizeof iso);
    assert_string_equal(iso, "2026-12-05T16:00:00.000Z");
    assert_int_equal(clock_china_day_start(ms + MS_PER_DAY - 1), ms);
    assert_int_equal(clock_china_day_start(ms + MS_PER_DAY), ms + MS_PER_DAY);
    assert_true(clock_parse_china_date("2024-02-29", &ms));
    clock_format_iso(ms, iso, sizeof iso);
    assert_string_equal(iso, "2024-02-28T16:00:00.000Z");
    assert_true(clock_parse_china_date("2000-03-01", &ms));
    clock_format_iso(ms, iso, sizeof iso);
    assert_string_equal(iso, "2000-02-29T16:00:00.000Z");
    const char *bad[] = {"2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01",  "2026-01-01x",
                         "20260101",   "",           "1969-12-31", "2100-02-29", "2026-04-31"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(clock_parse_china_date(bad[i], &ms));
}

static void invariants_abort_in_test_builds(void **state)
{
    (void)state;
    assert_true(invariants_abort);
    assert_true(INVARIANT(1 + 1 == 2));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        (void)freopen("/dev/null", "w", stderr);
        (void)INVARIANT(1 + 1 == 3);
        _exit(0); /* not reached when it aborts */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    invariants_abort = false;
    assert_false(INVARIANT(1 + 1 == 3));
    invariants_abort = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_caps_and_aligns),
        cmocka_unit_test(buf_caps),
        cmocka_unit_test(text_utf8),
        cmocka_unit_test(text_trim_and_ids),
        cmocka_unit_test(err_table),
        cmocka_unit_test(clock_iso),
        cmocka_unit_test(clock_china_days),
        cmocka_unit_test(invariants_abort_in_test_builds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
