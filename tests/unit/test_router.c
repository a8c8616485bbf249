/* Unit tests for src/http/router.c and the route table's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "http/router.h"
#include "util/arena.h"

static enum err h(struct req *r)
{
    (void)r;
    return ERR_OK;
}

static const struct route table[] = {
    {"GET", "/api/v1/shops/{id}", h, AUTH_NONE, 0, "a", false, ACCESS_ANYONE, OBJECT_NONE},
    {"PATCH", "/api/v1/shops/{id}", h, AUTH_NONE, 0, "b", false, ACCESS_ANYONE, OBJECT_NONE},
    {"DELETE", "/api/v1/shops/{id}/staff/{user_id}", h, AUTH_NONE, 0, "c", false, ACCESS_ANYONE,
     OBJECT_NONE},
    {"GET", "/s/{token}", h, AUTH_NONE, 0, "d", false, ACCESS_ANYONE, OBJECT_NONE},
    {"GET", "/api/v1/me", h, AUTH_NONE, 0, "e", false, ACCESS_ANYONE, OBJECT_NONE},
};
#define N (sizeof table / sizeof table[0])

static int match(const char *method, const char *path, struct route_params *p)
{
    static char copy[256];
    strcpy(copy, path);
    return router_match(table, N, method, copy, p);
}

static void matches_params(void **state)
{
    (void)state;
    struct route_params p;
    assert_int_equal(match("GET", "/api/v1/shops/17", &p), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.ids[0], 17);
    assert_int_equal(match("PATCH", "/api/v1/shops/17", &p), 1);
    assert_int_equal(match("DELETE", "/api/v1/shops/3/staff/9", &p), 2);
    assert_int_equal(p.ids[0], 3);
    assert_int_equal(p.ids[1], 9);
    assert_int_equal(match("GET", "/s/abc_DEF-1", &p), 3);
    assert_string_equal(p.strs[0], "abc_DEF-1");
    assert_int_equal(match("GET", "/api/v1/me", &p), 4);
}

static void rejects(void **state)
{
    (void)state;
    struct route_params p;
    assert_int_equal(match("GET", "/api/v1/shops/abc", &p), -1); /* id must be an integer */
    assert_int_equal(match("GET", "/api/v1/shops/0", &p), -1);
    assert_int_equal(match("GET", "/api/v1/shops/-1", &p), -1);
    assert_int_equal(match("GET", "/api/v1/shops/", &p), -1);
    assert_int_equal(match("GET", "/api/v1/shops/1/", &p), -1);
    assert_int_equal(match("GET", "/api/v1/me/x", &p), -1);
    assert_int_equal(match("GET", "/s/", &p), -1);
    assert_int_equal(match("GET", "relative", &p), -1);
    assert_int_equal(match("GET", "/a/b/c/d/e/f/g/h/i/j/k", &p), -1);
    assert_int_equal(match("POST", "/api/v1/shops/1", &p), -2); /* 405 */
}

static void allow_header(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1 << 16);
    assert_string_equal(router_allow(table, N, "/api/v1/shops/5", &a), "GET, PATCH");
    arena_release(&a);
}

/* Every route of the real table: a known method, an absolute path, a summary,
 * no duplicate method+pattern. */
static void api_table_is_sane(void **state)
{
    (void)state;
    for (size_t i = 0; i < api_routes_len; i++) {
        const struct route *r = &api_routes[i];
        assert_true(!strcmp(r->method, "GET") || !strcmp(r->method, "POST") ||
                    !strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH") ||
                    !strcmp(r->method, "DELETE"));
        assert_int_equal(r->pattern[0], '/');
        assert_non_null(r->summary);
        assert_non_null(r->handler);
        for (size_t j = 0; j < i; j++)
            assert_false(!strcmp(r->method, api_routes[j].method) &&
                         !strcmp(r->pattern, api_routes[j].pattern));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_params),
        cmocka_unit_test(rejects),
        cmocka_unit_test(allow_header),
        cmocka_unit_test(api_table_is_sane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
