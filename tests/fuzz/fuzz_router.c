/*
 * fuzz_router.c - the route table against any method and path: matching,
 * path parameters, and the Allow list of a 405.
 *
 * Input: byte 0 picks the method, the rest is the path (as libmicrohttpd
 * hands it over, query removed). Invariants: a match is a route of that
 * method whose `id` and `*_id` parameters are positive integers and whose
 * other parameters are non-empty segments; a 405 names the methods that
 * do match, and a 404 has none.
 */
#include <string.h>

#include "api/api.h"
#include "fuzz.h"
#include "http/router.h"
#include "util/arena.h"

static const char *const methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                      "DELETE", "HEAD", "OPTIONS", "get"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    struct arena a;
    arena_init(&a, 1024 * 1024);
    char *path = arena_strndup(&a, (const char *)data + 1, size - 1);
    char *copy = arena_strndup(&a, path, strlen(path)); /* router_match splits its path */
    struct route_params p;
    memset(&p, 0, sizeof p);
    int idx = router_match(api_routes, api_routes_len, method, path, &p);
    FUZZ_CHECK(idx >= -2 && idx < (int)api_routes_len);
    if (idx >= 0) {
        const struct route *rt = &api_routes[idx];
        FUZZ_CHECK(strcmp(rt->method, method) == 0);
        FUZZ_CHECK(p.n >= 0 && p.n <= LIMIT_PATH_SEGMENTS);
        int k = 0;
        for (const char *q = strchr(rt->pattern, '{'); q; q = strchr(q + 1, '{'), k++) {
            FUZZ_CHECK(k < p.n);
            const char *end = strchr(q, '}');
            size_t n = (size_t)(end - q - 1);
            bool is_id =
                (n == 2 && !strncmp(q + 1, "id", 2)) || (n > 3 && !strncmp(end - 3, "_id", 3));
            if (is_id)
                FUZZ_CHECK(p.ids[k] > 0);
            else
                FUZZ_CHECK(p.strs[k] && p.strs[k][0] != '\0' && !strchr(p.strs[k], '/'));
        }
        FUZZ_CHECK(k == p.n);
    }
    const char *allow = router_allow(api_routes, api_routes_len, copy, &a);
    if (idx == -2)
        FUZZ_CHECK(allow && allow[0] != '\0' && !strstr(allow, method));
    else if (idx == -1)
        FUZZ_CHECK(!allow || allow[0] == '\0');
    arena_release(&a);
    return 0;
}
