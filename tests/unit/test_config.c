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

/* One load of the configuration: what it made, what it refused, the words it left. */
struct loaded {
    struct config c;
    struct errinfo ei;
    const char *rest[8];
    int n;
};

static enum err load(struct loaded *l, int argc, char **argv)
{
    memset(l, 0, sizeof *l);
    return config_load(&l->c, argc, argv, l->rest, &l->n, &l->ei);
}

static void defaults(void **state)
{
    (void)state;
    struct loaded l;
    unsetenv("QUANZI_PORT");
    assert_int_equal(load(&l, 0, NULL), ERR_OK);
    assert_string_equal(l.c.listen, "127.0.0.1");
    assert_int_equal(l.c.port, 8080);
    assert_int_equal(l.c.argon2_memory_kib, 19456);
    assert_int_equal(l.c.argon2_ops, 2);
    assert_false(l.c.test_clock);
    assert_true(l.c.access_log);
    assert_string_equal(l.c.db_sync, "full");
    char url[600];
    config_db_url(&l.c, url, sizeof url);
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
    struct loaded l;
    assert_int_equal(load(&l, 7, argv), ERR_OK);
    assert_int_equal(l.c.port, 9100); /* env beats file */
    assert_int_equal(l.c.threads, 5); /* flag beats file */
    assert_string_equal(l.c.log_level, "warn");
    assert_true(l.c.test_clock);
    assert_string_equal(l.c.data_dir, "/x");
    assert_int_equal(l.n, 1);
    assert_string_equal(l.rest[0], "create");
    unsetenv("QUANZI_PORT");
    unlink(path);
}

/* A setting that is refused: from flags, or from the environment (env = "NAME=value"). */
struct bad_setting {
    char *argv[2];
    const char *env;
    const char *field;   /* the setting the refusal names */
    const char *message; /* words it must say; NULL: any */
};

static void bad_values_name_the_setting(void **state)
{
    (void)state;
    static const struct bad_setting cases[] = {
        {{"--port", "70000"}, NULL, "port", "port must be a whole number from 0 to 65535"},
        {{"--log-level", "loud"}, NULL, "log_level", NULL},
        {{"--access-log=maybe"}, NULL, "access_log", NULL},
        {{"--threads"}, NULL, "threads", NULL},
        {{NULL}, "QUANZI_ARGON2_OPS=0", "argon2_ops", "QUANZI_ARGON2_OPS"},
        {{"--config", "/nonexistent/quanzi.conf"}, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_setting *k = &cases[i];
        char env[64];
        if (k->env) {
            snprintf(env, sizeof env, "%s", k->env);
            *strchr(env, '=') = '\0';
            setenv(env, strchr(k->env, '=') + 1, 1);
        }
        int argc = !k->argv[0] ? 0 : !k->argv[1] ? 1 : 2;
        struct loaded l;
        assert_int_equal(load(&l, argc, (char **)k->argv), ERR_INVALID);
        if (k->env)
            unsetenv(env);
        if (k->field)
            assert_string_equal(l.ei.field, k->field);
        if (k->message)
            assert_non_null(strstr(l.ei.message, k->message));
    }
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
