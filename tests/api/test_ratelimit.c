/*
 * Login rate limits against a real server: per account (5 failures in
 * 15 minutes) and per client address (30), answered with 429 and
 * Retry-After, even with the right password; lifted when the window ends.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_account),
        cmocka_unit_test(per_address),
    };
    return cmocka_run_group_tests(tests, srv_group_up, srv_group_down);
}
