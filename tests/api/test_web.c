/*
 * test_web.c - the web front end as the server answers it: the files built into
 * the binary with their types, ETags and security headers, the shell for page
 * paths, JSON 404s for API paths, and GET /api/v1/session.
 */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "harness.h"

static void assert_header(const struct resp *r, const char *name, const char *want)
{
    char *v = resp_header(r, name);
    assert_non_null(v);
    if (!strstr(v, want))
        fail_msg("%s: %s (wanted %s)", name, v, want);
    free(v);
}

static void shell_and_files(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(http(&S, "GET", "/", NULL, NULL, &r), 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_header(&r, "Content-Security-Policy", "script-src 'self'");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    assert_header(&r, "Referrer-Policy", "same-origin");
    assert_non_null(strstr(r.body, "<script type=\"module\" src=\"/js/app.mjs\"></script>"));
    char *etag = resp_header(&r, "ETag");
    assert_non_null(etag);
    resp_free(&r);

    /* revalidated by its ETag: 304 without a body */
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *const h[] = {inm, NULL};
    assert_int_equal(http_ex(&S, "GET", "/", NULL, NULL, h, &r), 304);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    free(etag);

    /* modules must be text/javascript, or Chromium refuses them */
    assert_int_equal(http(&S, "GET", "/js/app.mjs", NULL, NULL, &r), 200);
    assert_header(&r, "Content-Type", "text/javascript");
    assert_non_null(strstr(r.body, "import"));
    resp_free(&r);
    assert_int_equal(http(&S, "GET", "/css/app.css", NULL, NULL, &r), 200);
    assert_header(&r, "Content-Type", "text/css");
    resp_free(&r);

    /* a page path the browser routes itself: the shell, query and all */
    const char *pages[] = {"/s/abcdef", "/orders/42", "/seller/audit?x=1", "/product/1"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        assert_int_equal(http(&S, "GET", pages[i], NULL, NULL, &r), 200);
        assert_non_null(strstr(r.body, "/js/app.mjs"));
        resp_free(&r);
    }
}

static void api_paths_stay_json(void **state)
{
    (void)state;
    struct resp r;
    const char *paths[] = {"/api/v1/nope", "/api/v1/products/999", "/api", "/images/nope.png"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_int_equal(http(&S, "GET", paths[i], NULL, NULL, &r), 404);
        assert_header(&r, "Content-Type", "application/json");
        assert_string_equal(jstr(r.json, "error.code"), "not_found");
        /* the same headers as a page */
        assert_header(&r, "Content-Security-Policy", "default-src 'self'");
        resp_free(&r);
    }
    /* a page path takes only GET and HEAD */
    assert_int_equal(http(&S, "POST", "/orders/42", NULL, "{}", &r), 404);
    assert_string_equal(jstr(r.json, "error.code"), "not_found");
    resp_free(&r);
}

static void session_anonymous_then_logged_in(void **state)
{
    (void)state;
    struct resp r;
    /* anonymous: 200 with user null (the page asks without an error in the console) */
    assert_int_equal(http(&S, "GET", "/api/v1/session", NULL, NULL, &r), 200);
    assert_true(json_is_null(jget(r.json, "user")));
    assert_true(json_is_null(jget(r.json, "home_shop_id")));
    resp_free(&r);

    int64_t uid = 0;
    char *tok = register_user(&S, "13920000001", "小周", &uid);
    int64_t shop = create_shop(&S, tok, "web-home");
    char *tok2 = register_user(&S, "13920000002", "小李", NULL);
    create_shop(&S, tok2, "web-second");
    assert_int_equal(http(&S, "GET", "/api/v1/session", tok, NULL, &r), 200);
    assert_int_equal(jint(r.json, "user.id"), uid);
    assert_string_equal(jstr(r.json, "user.display_name"), "小周");
    assert_int_equal(jint(r.json, "home_shop_id"), shop); /* the oldest shop */
    json_t *shops = jget(r.json, "user.shops");
    assert_int_equal(json_array_size(shops), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(shops, 0), "role")),
                        "owner");
    resp_free(&r);
    /* a stale token is browsing anonymously, not an error */
    assert_int_equal(http(&S, "GET", "/api/v1/session", "not-a-token", NULL, &r), 200);
    assert_true(json_is_null(jget(r.json, "user")));
    resp_free(&r);
    free(tok);
    free(tok2);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shell_and_files),
        cmocka_unit_test(api_paths_stay_json),
        cmocka_unit_test(session_anonymous_then_logged_in),
    };
    int rc = cmocka_run_group_tests(tests, srv_group_up, srv_group_down);
    curl_global_cleanup();
    return rc;
}
