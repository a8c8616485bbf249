/*
 * Accounts against a real server: register, login, logout, /me, interests;
 * bearer and cookie authentication with the CSRF header; missing, forged
 * and expired tokens; what is stored (argon2id hashes, token hashes only)
 * and that refused requests store nothing.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "domain/token.h"
#include "harness.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void register_stores_hashes_only(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "POST", "/api/v1/auth/register", NULL,
         "{\"login\":\" +86 139-0000-1111 \",\"password\":\"" TEST_PASSWORD
         "\",\"display_name\":\"李梅\"}",
         &r);
    assert_int_equal(r.status, 201);
    const char *token = jstr(r.json, "token");
    assert_non_null(token);
    assert_int_equal(strlen(token), TOKEN_LEN);
    int64_t id = jint(r.json, "user.id");
    assert_true(id > 0);
    assert_string_equal(jstr(r.json, "user.display_name"), "李梅");
    assert_non_null(jstr(r.json, "expires_at"));
    char *cookie = resp_header(&r, "Set-Cookie");
    assert_non_null(cookie);
    assert_non_null(strstr(cookie, "qz_session="));
    assert_non_null(strstr(cookie, token));
    assert_non_null(strstr(cookie, "HttpOnly"));
    assert_non_null(strstr(cookie, "SameSite=Lax"));
    free(cookie);

    /* the login is normalised; the password is argon2id with the OWASP cost */
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM users WHERE id = %lld AND login = "
                                       "'13900001111'",
                                       (long long)id)),
                     1);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM users WHERE id = %lld AND "
                                       "password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%%'",
                                       (long long)id)),
                     1);
    /* the session row holds SHA-256(token), never the token */
    char hash[TOKEN_HASH_HEX];
    token_hash(token, strlen(token), hash);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM sessions WHERE user_id = %lld AND "
                                       "token_hash = '%s'",
                                       (long long)id, hash)),
                     1);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM sessions WHERE token_hash = '%s'", token)), 0);
    resp_free(&r);
}

static void duplicate_and_invalid_registrations_write_nothing(void **state)
{
    (void)state;
    int64_t users = db_scalar(&S, "SELECT COUNT(*) FROM users");
    int64_t sessions = db_scalar(&S, "SELECT COUNT(*) FROM sessions");
    struct resp r;
    /* the same login in another spelling */
    http(&S, "POST", "/api/v1/auth/register", NULL,
         "{\"login\":\"13900001111\",\"password\":\"" TEST_PASSWORD "\",\"display_name\":\"x\"}",
         &r);
    expect_error(&r, 409, "login_taken", "login");
    resp_free(&r);
    refused(&S, "POST", "/api/v1/auth/register", NULL,
            "{\"login\":\"13900002222\",\"password\":\"short\",\"display_name\":\"x\"}", 400,
            "weak_password", "password");
    refused(&S, "POST", "/api/v1/auth/register", NULL,
            "{\"login\":\"13900002222\",\"password\":\"12345678\",\"display_name\":\"x\"}", 400,
            "weak_password", "password");
    http(&S, "POST", "/api/v1/auth/register", NULL,
         "{\"login\":\"not a login\",\"password\":\"" TEST_PASSWORD "\",\"display_name\":\"x\"}",
         &r);
    expect_error(&r, 400, "invalid_value", "login");
    resp_free(&r);
    http(&S, "POST", "/api/v1/auth/register", NULL,
         "{\"login\":\"13900002222\",\"password\":\"" TEST_PASSWORD
         "\",\"display_name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
         &r);
    expect_error(&r, 400, "invalid_value", "display_name");
    resp_free(&r);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM users"), users);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM sessions"), sessions);
}

static void login_logout_and_me(void **state)
{
    (void)state;
    int64_t id;
    char *t0 = register_user(&S, "wang@example.test", "王芳", &id);
    struct resp r;
    http(&S, "POST", "/api/v1/auth/login", NULL,
         "{\"login\":\"WANG@example.test\",\"password\":\"" TEST_PASSWORD "\"}", &r);
    assert_int_equal(r.status, 200);
    char *t1 = strdup(jstr(r.json, "token"));
    assert_int_equal(jint(r.json, "user.id"), id);
    assert_string_not_equal(t0, t1);
    resp_free(&r);

    http(&S, "GET", "/api/v1/me", t1, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "id"), id);
    assert_string_equal(jstr(r.json, "login"), "wang@example.test");
    assert_string_equal(jstr(r.json, "display_name"), "王芳");
    assert_true(json_is_false(jget(r.json, "is_admin")));
    assert_true(json_is_object(jget(r.json, "interests")));
    assert_int_equal(json_array_size(jget(r.json, "shops")), 0);
    resp_free(&r);

    /* wrong password: 401 and no new session */
    int64_t sessions = db_scalar(&S, "SELECT COUNT(*) FROM sessions");
    refused(&S, "POST", "/api/v1/auth/login", NULL,
            "{\"login\":\"wang@example.test\",\"password\":\"wrong password\"}", 401,
            "bad_credentials", "password");
    refused(&S, "POST", "/api/v1/auth/login", NULL,
            "{\"login\":\"nobody@example.test\",\"password\":\"wrong password\"}", 401,
            "bad_credentials", "password");
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM sessions"), sessions);

    /* logout ends this session only */
    http(&S, "POST", "/api/v1/auth/logout", t1, NULL, &r);
    assert_int_equal(r.status, 200);
    char *cookie = resp_header(&r, "Set-Cookie");
    assert_non_null(strstr(cookie, "Max-Age=0"));
    free(cookie);
    resp_free(&r);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM sessions"), sessions - 1);
    refused(&S, "GET", "/api/v1/me", t1, NULL, 401, "unauthorized", NULL);
    answers(&S, "GET", "/api/v1/me", t0, NULL, 200);
    free(t0);
    free(t1);
}

struct busy_session {
    const char *token;
    atomic_bool logged_out, stop;
    atomic_int sent, ok_before, refused_after, ok_after, other;
};

static void *use_session(void *arg)
{
    struct busy_session *b = arg;
    while (!atomic_load(&b->stop)) {
        bool after = atomic_load(&b->logged_out);       /* read before the request is sent */
        bool write = atomic_fetch_add(&b->sent, 1) % 2; /* reads look up on a reader, writes
                                                         * on the writer */
        struct resp r;
        long status = write ? http(&S, "PUT", "/api/v1/me/interests", b->token,
                                   "{\"tags\":{\"knitting\":1}}", &r)
                            : http(&S, "GET", "/api/v1/me", b->token, NULL, &r);
        resp_free(&r);
        if (status == 200 && !after)
            atomic_fetch_add(&b->ok_before, 1);
        else if (status == 200)
            atomic_fetch_add(&b->ok_after, 1);
        else if (status == 401 && after)
            atomic_fetch_add(&b->refused_after, 1);
        else if (status != 401)
            atomic_fetch_add(&b->other, 1);
    }
    return NULL;
}

/*
 * Sessions are remembered in memory on SQLite: a logout must still end one
 * that four threads keep using, for every request sent after it answered
 * (none may be served from a copy read before the logout was committed).
 */
static void logout_ends_a_busy_session(void **state)
{
    (void)state;
    char *t = register_user(&S, "busy@example.test", "忙", NULL);
    struct busy_session b = {.token = t};
    enum { N = 4 };
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, use_session, &b), 0);
    sleep_ms(150);
    answers(&S, "POST", "/api/v1/auth/logout", t, NULL, 200);
    atomic_store(&b.logged_out, true);
    sleep_ms(300);
    atomic_store(&b.stop, true);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&b.ok_before) > 0);
    assert_true(atomic_load(&b.refused_after) > 0);
    assert_int_equal(atomic_load(&b.ok_after), 0);
    assert_int_equal(atomic_load(&b.other), 0);
    assert_int_equal(db_scalar(&S,
                               "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id"
                               " WHERE u.login = 'busy@example.test'"),
                     0);
    free(t);
}

static void missing_forged_and_malformed_tokens(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "GET", "/api/v1/me", NULL, NULL, &r);
    expect_error(&r, 401, "unauthorized", NULL);
    char *www = resp_header(&r, "WWW-Authenticate");
    assert_string_equal(www, "Bearer");
    free(www);
    resp_free(&r);
    char forged[TOKEN_LEN + 1];
    token_new(forged);
    refused(&S, "GET", "/api/v1/me", forged, NULL, 401, "unauthorized", NULL);
    refused(&S, "GET", "/api/v1/me", "short", NULL, 401, "unauthorized", NULL);
    const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    http_ex(&S, "GET", "/api/v1/me", NULL, NULL, basic, &r);
    expect_error(&r, 401, "unauthorized", NULL);
    resp_free(&r);
}

/* Cookie sessions work for reads; writes need X-Requested-With (CSRF). */
static void cookie_auth_and_csrf(void **state)
{
    (void)state;
    char *t = register_user(&S, "13900003333", "Cookie", NULL);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "Cookie: qz_session=%s", t);
    const char *h_read[] = {cookie, NULL};
    struct resp r;
    http_ex(&S, "GET", "/api/v1/me", NULL, NULL, h_read, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    const char *body = "{\"tags\":{\"tea\":0.5}}";
    http_ex(&S, "PUT", "/api/v1/me/interests", NULL, body, h_read, &r);
    expect_error(&r, 403, "csrf_header_required", NULL);
    resp_free(&r);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM member_interests WHERE tag = 'tea'"), 0);

    const char *h_write[] = {cookie, "X-Requested-With: fetch", NULL};
    http_ex(&S, "PUT", "/api/v1/me/interests", NULL, body, h_write, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM member_interests WHERE tag = '茶'"),
                     1); /* "tea" is 茶 */
    free(t);
}

static void interests_replace_and_validate(void **state)
{
    (void)state;
    int64_t id;
    char *t = register_user(&S, "13900004444", "Tags", &id);
    struct resp r;
    http(&S, "PUT", "/api/v1/me/interests", t,
         "{\"tags\":{\"护肤\":0.9,\"Parenting\":0.4,\"knitting\":1}}", &r);
    assert_int_equal(r.status, 200);
    assert_true(jget(r.json, "interests.护肤") != NULL);
    assert_true(jget(r.json, "interests.母婴") != NULL); /* "Parenting", normalised */
    assert_true(jget(r.json, "interests.knitting") != NULL);
    resp_free(&r);
    const char *q =
        fmt("SELECT COUNT(*) FROM member_interests WHERE user_id = %lld", (long long)id);
    char count_sql[256];
    snprintf(count_sql, sizeof count_sql, "%s", q);
    assert_int_equal(db_scalar(&S, count_sql), 3);
    assert_int_equal(db_scalar(&S, fmt("SELECT weight_milli FROM member_interests WHERE user_id = "
                                       "%lld AND tag = '护肤'",
                                       (long long)id)),
                     900);

    struct {
        const char *body;
        const char *code;
    } bad[] = {
        {"{\"tags\":{\"tea\":0}}", "out_of_range"},
        {"{\"tags\":{\"tea\":1.5}}", "out_of_range"},
        {"{\"tags\":{\"tea\":-0.1}}", "out_of_range"},
        {"{\"tags\":{\"tea\":\"high\"}}", "wrong_type"},
        {"{\"tags\":[\"tea\"]}", "wrong_type"},
        {"{\"tags\":{\"Tea\":0.5,\"tea\":0.4}}", "invalid_value"},
        {"{\"tags\":{\"\":0.5}}", "invalid_value"},
        {"{\"tags\":{\"tea\":0.5},\"extra\":1}", "unknown_field"},
        {"{}", "missing_field"},
        {"{\"tags\":{\"a1\":1,\"a2\":1,\"a3\":1,\"a4\":1,\"a5\":1,\"a6\":1,\"a7\":1,"
         "\"a8\":1,\"a9\":1,\"a10\":1,\"a11\":1,\"a12\":1,\"a13\":1,\"a14\":1,\"a15\":1,"
         "\"a16\":1,\"a17\":1,\"a18\":1,\"a19\":1,\"a20\":1,\"a21\":1,\"a22\":1,\"a23\":1,"
         "\"a24\":1,\"a25\":1,\"a26\":1,\"a27\":1,\"a28\":1,\"a29\":1,\"a30\":1,\"a31\":1,"
         "\"a32\":1,\"a33\":1,\"a34\":1,\"a35\":1,\"a36\":1,\"a37\":1,\"a38\":1,\"a39\":1,"
         "\"a40\":1,\"a41\":1,\"a42\":1,\"a43\":1,\"a44\":1,\"a45\":1,\"a46\":1,\"a47\":1,"
         "\"a48\":1,\"a49\":1,\"a50\":1,\"a51\":1}}",
         "out_of_range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http(&S, "PUT", "/api/v1/me/interests", t, bad[i].body, &r);
        if (r.status != 400)
            fprintf(stderr, "case %zu: %ld %s\n", i, r.status, r.body);
        assert_int_equal(r.status, 400);
        assert_string_equal(jstr(r.json, "error.code"), bad[i].code);
        resp_free(&r);
    }
    /* nothing of the refused bodies was written; the profile is as before */
    assert_int_equal(db_scalar(&S, count_sql), 3);

    http(&S, "GET", "/api/v1/me", t, NULL, &r);
    assert_int_equal(json_object_size(jget(r.json, "interests")), 3);
    resp_free(&r);
    answers(&S, "PUT", "/api/v1/me/interests", t, "{\"tags\":{}}", 200);
    assert_int_equal(db_scalar(&S, count_sql), 0);
    free(t);
}

/* Sessions expire; the purge job then deletes their rows. */
static void sessions_expire(void **state)
{
    (void)state;
    int64_t id;
    char *t = register_user(&S, "13900005555", "Expiring", &id);
    char *other = register_user(&S, "13900006666", "Clock", NULL);
    struct resp r;
    answers(&S, "GET", "/api/v1/me", t, NULL, 200);
    /* 29 days: still valid */
    answers(&S, "POST", "/api/v1/test-clock", t, fmt("{\"advance_ms\":%lld}", 29LL * 86400000),
            200);
    answers(&S, "GET", "/api/v1/me", t, NULL, 200);
    /* 2 more days: past the 30-day lifetime. The call itself was authenticated before the
     * clock moved; the purge job, due again, deletes every expired session. */
    http(&S, "POST", "/api/v1/test-clock", t, fmt("{\"advance_ms\":%lld}", 2LL * 86400000), &r);
    assert_int_equal(r.status, 200);
    json_t *jobs = jget(r.json, "jobs");
    int64_t purged = -1;
    for (size_t i = 0; i < json_array_size(jobs); i++)
        if (!strcmp(jstr(json_array_get(jobs, i), "name"), "purge_sessions"))
            purged = jint(json_array_get(jobs, i), "affected");
    assert_true(purged >= 2);
    resp_free(&r);
    char *fresh = register_user(&S, "13900007777", "Fresh", NULL);
    refused(&S, "GET", "/api/v1/me", t, NULL, 401, "unauthorized", NULL);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM sessions WHERE user_id = %lld", (long long)id)), 0);
    /* bad input to the test clock */
    refused(&S, "POST", "/api/v1/test-clock", fresh, "{\"advance_ms\":-1}", 400, "out_of_range",
            "advance_ms");
    refused(&S, "POST", "/api/v1/test-clock", NULL, "{\"advance_ms\":1}", 401, "unauthorized",
            NULL);
    free(t);
    free(other);
    free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_stores_hashes_only),
        cmocka_unit_test(duplicate_and_invalid_registrations_write_nothing),
        cmocka_unit_test(login_logout_and_me),
        cmocka_unit_test(logout_ends_a_busy_session),
        cmocka_unit_test(missing_forged_and_malformed_tokens),
        cmocka_unit_test(cookie_auth_and_csrf),
        cmocka_unit_test(interests_replace_and_validate),
        cmocka_unit_test(sessions_expire),
    };
    return cmocka_run_group_tests(tests, srv_group_up, srv_group_down);
}
