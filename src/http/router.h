/*
 * router.h - the route table: method, path pattern, handler, authentication,
 * body limit, summary, raw body, and who may call it (access, object).
 *
 * Patterns are literal segments and parameters in braces. A parameter named
 * `id` or ending in `_id` matches a positive decimal integer; any other
 * parameter matches one non-empty segment. The table is the single source of
 * the API's paths and of who may call them: the OpenAPI document and the
 * authorization matrix (tests/api/test_bola.c) are checked against it.
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

/*
 * Who may call a route beyond its authentication: checked in one place
 * (api_access(), before the handler runs) against the object its first
 * {id} names. Anyone else gets 404, exactly as if the object did not exist.
 */
enum route_access {
    ACCESS_ANYONE,       /* no check: the handler shows each caller what is theirs to see */
    ACCESS_SELF,         /* the {id} is looked for among the caller's own relations only */
    ACCESS_RUNNER,       /* the owner or staff of the object's shop */
    ACCESS_OWNER,        /* the owner of the object's shop */
    ACCESS_PARTY,        /* the object's own member (an order's buyer, a share's sharer, the
                            promoter), or who runs its shop */
    ACCESS_BUYER,        /* the order's buyer (a refund's: its order's) */
    ACCESS_CIRCLE,       /* a member of the circle, or who runs its shop */
    ACCESS_CIRCLE_ADMIN, /* who runs the shop, or the circle's owner or admins */
    /* as ACCESS_RUNNER, checked by the handler's own transaction (one write-lock hold for a
     * payment instead of two); the authorization matrix holds it to the same answers */
    ACCESS_RUNNER_IN_TX,
};

/* What the first {id} of a route names, for its access check. */
enum route_object {
    OBJECT_NONE,
    OBJECT_SHOP,
    OBJECT_PRODUCT,
    OBJECT_CIRCLE,
    OBJECT_ORDER,
    OBJECT_REFUND,
    OBJECT_PROMOTER,
    OBJECT_WITHDRAWAL,
    OBJECT_SHARE,
    OBJECT_REPORT,
    OBJECT_FOLLOWUP,
};

/* What a route's body is: JSON its handler reads field by field; bytes handed over as they
 * are (an image); or nothing: then the server itself refuses anything but no body or an
 * empty object, before the handler runs (unknown_field naming it, or bad_json). */
enum route_body { BODY_JSON, BODY_RAW, BODY_NONE };

typedef enum err (*route_handler)(struct req *r);

struct route {
    const char *method;
    const char *pattern;
    route_handler handler;
    enum route_auth auth;
    size_t body_limit; /* 0: the configured default */
    const char *summary;
    enum route_body body; /* JSON (checked by the handler), raw bytes, or none at all */
    enum route_access access;
    enum route_object object;
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
