/* Unit tests for src/config.c: sources, precedence, bounds, messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static enum err load(struct config *c, int argc, char **argv, struct errinfo *ei, int *rest_len,
                     const char **rest)
{
    return config_load(c, argc, argv, rest, rest_len, ei);
}

static void defaults(void **state)
{
    (void)state;
    struct config c;
    struct errinfo ei = {0};
    const char *rest[4];
    int n;
    unsetenv("QUANZI_PORT");
    assert_int_equal(load(&c, 0, NULL, &ei, &n, rest), ERR_OK);
    assert_string_equal(c.listen, "127.0.0.1");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.argon2_memory_kib, 19456);
    assert_int_equal(c.argon2_ops, 2);
    assert_false(c.test_clock);
    assert_true(c.access_log);
    assert_string_equal(c.db_sync, "full");
    char url[600];
    config_db_url(&c, url, sizeof url);
    assert_string_equal(url, "data/quanzi.db");
}

static void precedence(void **state)
{
    (void)state;
    char path[] = "/tmp/quanzi-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# comment\nport = 9000\nthreads=3\nlog_level = warn  # trailing\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    setenv("QUANZI_PORT", "9100", 1);
    char *argv[] = {"--config", path, "--threads=5", "--test-clock", "create", "--data-dir", "/x"};
    struct config c;
    struct errinfo ei = {0};
    const char *rest[8];
    int n = 0;
    assert_int_equal(load(&c, 7, argv, &ei, &n, rest), ERR_OK);
    assert_int_equal(c.port, 9100); /* env beats file */
    assert_int_equal(c.threads, 5); /* flag beats file */
    assert_string_equal(c.log_level, "warn");
    assert_true(c.test_clock);
    assert_string_equal(c.data_dir, "/x");
    assert_int_equal(n, 1);
    assert_string_equal(rest[0], "create");
    unsetenv("QUANZI_PORT");
    unlink(path);
}

static void bad_values_name_the_setting(void **state)
{
    (void)state;
    struct config c;
    struct errinfo ei = {0};
    const char *rest[4];
    int n;
    char *a1[] = {"--port", "70000"};
    assert_int_equal(load(&c, 2, a1, &ei, &n, rest), ERR_INVALID);
    assert_string_equal(ei.field, "port");
    assert_non_null(strstr(ei.message, "port must be a whole number from 0 to 65535"));
    char *a2[] = {"--log-level", "loud"};
    assert_int_equal(load(&c, 2, a2, &ei, &n, rest), ERR_INVALID);
    assert_string_equal(ei.field, "log_level");
    char *a3[] = {"--access-log=maybe"};
    assert_int_equal(load(&c, 1, a3, &ei, &n, rest), ERR_INVALID);
    assert_string_equal(ei.field, "access_log");
    char *a4[] = {"--threads"};
    assert_int_equal(load(&c, 1, a4, &ei, &n, rest), ERR_INVALID);
    setenv("QUANZI_ARGON2_OPS", "0", 1);
    assert_int_equal(load(&c, 0, NULL, &ei, &n, rest), ERR_INVALID);
    assert_string_equal(ei.field, "argon2_ops");
    assert_non_null(strstr(ei.message, "QUANZI_ARGON2_OPS"));
    unsetenv("QUANZI_ARGON2_OPS");
    char *a5[] = {"--config", "/nonexistent/quanzi.conf"};
    assert_int_equal(load(&c, 2, a5, &ei, &n, rest), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(precedence),
        cmocka_unit_test(bad_values_name_the_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
