/*
 * router.h - the route table: method, path pattern, handler, auth, body limit.
 *
 * Patterns are literal segments and parameters in braces. A parameter named
 * `id` or ending in `_id` matches a positive decimal integer; any other
 * parameter matches one non-empty segment. The table is the single source of
 * the API's paths: the OpenAPI document and the BOLA tests are checked
 * against it.
 */
#ifndef QUANZI_HTTP_ROUTER_H
#define QUANZI_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

struct req;

enum route_auth {
    AUTH_NONE,     /* no session looked up */
    AUTH_OPTIONAL, /* a valid session is used when present */
    AUTH_USER,     /* a valid session is required (401) */
};

typedef enum err (*route_handler)(struct req *r);

struct route {
    const char *method;
    const char *pattern;
    route_handler handler;
    enum route_auth auth;
    size_t body_limit; /* 0: the configured default */
    const char *summary;
    bool raw_body; /* the body is not JSON: handed to the handler as bytes */
};

struct route_params {
    int n;
    int64_t ids[LIMIT_PATH_SEGMENTS];      /* integer value, or 0 */
    const char *strs[LIMIT_PATH_SEGMENTS]; /* segment text (in the arena), NUL-terminated */
};

/*
 * Finds the route for method and path. Returns its index, -1 when no
 * pattern matches the path (404), -2 when patterns match but not the method
 * (405). `path` is modified (split) in place.
 */
int router_match(const struct route *routes, size_t n, const char *method, char *path,
                 struct route_params *params);

struct arena;
/* "GET, POST" - the methods whose patterns match `path` (a 405's Allow). */
const char *router_allow(const struct route *routes, size_t n, const char *path, struct arena *a);

#endif
