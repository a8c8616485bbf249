/*
 * Login rate limits against a real server: per account (5 failures in
 * 15 minutes) and per client address (30), answered with 429 and
 * Retry-After, even with the right password; lifted when the window ends.
 * Behind a trusted proxy the address is the one X-Forwarded-For gives, and
 * from anyone else that header counts for nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "util/limits.h"

static long login(const char *who, const char *password, struct resp *r)
{
    return http(&S, "POST", "/api/v1/auth/login", NULL,
                fmt("{\"login\":\"%s\",\"password\":\"%s\"}", who, password), r);
}

static void advance(const char *token, long long ms)
{
    struct resp r;
    http(&S, "POST", "/api/v1/test-clock", token, fmt("{\"advance_ms\":%lld}", ms), &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void per_account(void **state)
{
    (void)state;
    char *t = register_user(&S, "13911110000", "Target", NULL);
    struct resp r;
    for (int i = 0; i < LIMIT_LOGIN_FAILS_PER_ACCOUNT; i++) {
        assert_int_equal(login("13911110000", "wrong password", &r), 401);
        resp_free(&r);
    }
    int64_t sessions = db_scalar(&S, "SELECT COUNT(*) FROM sessions");
    /* now even the right password is refused, with a hint when to retry */
    assert_int_equal(login("+86 139 1111 0000", TEST_PASSWORD, &r), 429);
    assert_string_equal(jstr(r.json, "error.code"), "rate_limited");
    char *ra = resp_header(&r, "Retry-After");
    assert_non_null(ra);
    assert_true(atoi(ra) > 0 && atoi(ra) <= 15 * 60);
    free(ra);
    resp_free(&r);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM sessions"), sessions);
    /* other accounts are not affected */
    char *u = register_user(&S, "13911112222", "Other", NULL);
    assert_int_equal(login("13911112222", TEST_PASSWORD, &r), 200);
    resp_free(&r);
    /* the window ends */
    advance(u, LIMIT_LOGIN_WINDOW_MS + 1000);
    assert_int_equal(login("13911110000", TEST_PASSWORD, &r), 200);
    resp_free(&r);
    free(t);
    free(u);
}

static void per_address(void **state)
{
    (void)state;
    char *t = register_user(&S, "13922220000", "Spray", NULL);
    struct resp r;
    /* spray many accounts from one address: 5 per account stays under that limit */
    int fails = 0;
    for (int a = 0; fails < LIMIT_LOGIN_FAILS_PER_IP; a++) {
        for (int i = 0; i < LIMIT_LOGIN_FAILS_PER_ACCOUNT - 1 && fails < LIMIT_LOGIN_FAILS_PER_IP;
             i++, fails++) {
            char who[32];
            snprintf(who, sizeof who, "1393333%04d", a);
            assert_int_equal(login(who, "wrong password", &r), 401);
            resp_free(&r);
        }
    }
    assert_int_equal(login("13922220000", TEST_PASSWORD, &r), 429);
    assert_string_equal(jstr(r.json, "error.code"), "rate_limited");
    resp_free(&r);
    advance(t, LIMIT_LOGIN_WINDOW_MS + 1000);
    assert_int_equal(login("13922220000", TEST_PASSWORD, &r), 200);
    resp_free(&r);
    free(t);
}

static long login_via(struct srv *s, const char *xff, const char *who, const char *password,
                      struct resp *r)
{
    char h[128];
    snprintf(h, sizeof h, "X-Forwarded-For: %s", xff);
    const char *const headers[] = {h, NULL};
    return http_ex(s, "POST", "/api/v1/auth/login", NULL,
                   fmt("{\"login\":\"%s\",\"password\":\"%s\"}", who, password), headers, r);
}

/* Reads a server's log into a static buffer. */
static const char *server_log(const struct srv *s)
{
    static char log[512 * 1024];
    FILE *f = fopen(s->log_path, "r");
    assert_non_null(f);
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = '\0';
    fclose(f);
    return log;
}

static void per_address_behind_a_proxy(void **state)
{
    (void)state;
    /* from a peer that is not a trusted proxy the header is the client's word: ignored */
    struct resp r;
    login_via(&S, "198.51.100.50", "13944440000", "wrong password", &r);
    resp_free(&r);
    assert_null(strstr(server_log(&S), "ip=198.51.100.50"));

    const char *const extra[] = {"--trusted-proxies", "127.0.0.1", NULL};
    struct srv s;
    srv_start(&s, extra);
    free(register_user(&s, "13955550000", "Behind", NULL));
    /* one client behind the proxy sprays; a prefix it writes itself changes nothing */
    int fails = 0;
    for (int a = 0; fails < LIMIT_LOGIN_FAILS_PER_IP; a++) {
        for (int i = 0; i < LIMIT_LOGIN_FAILS_PER_ACCOUNT - 1 && fails < LIMIT_LOGIN_FAILS_PER_IP;
             i++, fails++) {
            char who[32];
            snprintf(who, sizeof who, "1396666%04d", a);
            const char *xff = fails % 2 ? "203.0.113.1, 198.51.100.7" : "198.51.100.7";
            assert_int_equal(login_via(&s, xff, who, "wrong password", &r), 401);
            resp_free(&r);
        }
    }
    assert_int_equal(login_via(&s, "198.51.100.7", "13955550000", TEST_PASSWORD, &r), 429);
    resp_free(&r);
    assert_int_equal(login_via(&s, "203.0.113.1, 198.51.100.7", "13955550000", TEST_PASSWORD, &r),
                     429);
    resp_free(&r);
    /* the other clients of the same proxy are not blocked with it */
    assert_int_equal(login_via(&s, "198.51.100.8", "13955550000", TEST_PASSWORD, &r), 200);
    resp_free(&r);
    assert_non_null(strstr(server_log(&s), "ip=198.51.100.7"));
    assert_int_equal(srv_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_account),
        cmocka_unit_test(per_address),
        cmocka_unit_test(per_address_behind_a_proxy),
    };
    return cmocka_run_group_tests(tests, srv_group_up, srv_group_down);
}
