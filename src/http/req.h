/*
 * req.h - one HTTP request as handlers see it, and the helpers handlers use
 * to read JSON input strictly and to reply.
 *
 * Everything hanging off a request (parsed body, strings, the response JSON)
 * lives in r->arena and is gone when the request ends. Handlers return
 * ERR_OK after req_reply(), or an error, usually through req_fail(), which
 * records the field and message for the JSON error body.
 */
#ifndef QUANZI_HTTP_REQ_H
#define QUANZI_HTTP_REQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/account.h"
#include "http/router.h"
#include "domain/party.h"
#include "util/arena.h"
#include "util/err.h"

struct MHD_Connection;

struct req {
    struct arena arena;
    struct MHD_Connection *conn;
    const struct route *route;
    int route_idx; /* -1: none */
    const char *method;
    char *path;
    struct route_params params;

    char *body; /* NUL-terminated, or NULL */
    size_t body_len;
    json_t *json; /* parsed body, when there was one */

    struct db *db;
    bool authed;
    bool via_cookie;
    struct session_user user;
    /* who the caller is to the object the route's {id} names (api_access()) */
    struct party party;
    const char *token; /* the presented session token (for logout) */
    size_t token_len;
    char client_ip[64];
    char rid[20];
    int64_t t0_us;

    /* response */
    int status;
    json_t *resp;
    const char *raw_body; /* non-JSON response (metrics) */
    size_t raw_len;
    const char *content_type;
    const char *set_cookie;
    const char *allow;         /* Allow header of a 405 */
    const char *cache_control; /* NULL: no-store */
    const char *etag;
    const char *replayed; /* Idempotent-Replayed header */
    bool has_file;        /* respond with file_fd (closed by the server) */
    int file_fd;
    uint64_t file_size;
    int64_t retry_after_s;
    struct errinfo ei;
};

/* Path parameter i (in pattern order). */
int64_t req_param_id(const struct req *r, int i);
const char *req_param_str(const struct req *r, int i);
/* Query-string argument, or NULL. */
const char *req_query(const struct req *r, const char *name);
/* Cookie value, or NULL. */
const char *req_cookie(const struct req *r, const char *name);
/* Request header, or NULL. */
const char *req_header(const struct req *r, const char *name);

/* Records `e` with its field and message; returns `e`. */
enum err req_fail(struct req *r, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The JSON error body for `e` with the recorded field and message. */
json_t *req_error_json(struct req *r, enum err e);
/* Sets the response; `body` may be NULL for an empty object. Returns ERR_OK. */
enum err req_reply(struct req *r, int status, json_t *body);

/*
 * Parses r->body (r->body_len bytes) into r->json, in the request's arena. An
 * empty body is no JSON (r->json stays NULL). Errors: 415 unless content_type
 * is application/json; 400 bad_json for invalid JSON or a duplicate key; 400
 * too_deep past LIMIT_JSON_DEPTH; 413 when the parse outgrows the arena.
 */
MUST_CHECK enum err req_parse_body(struct req *r, const char *content_type);

/*
 * The body must be a JSON object whose keys are all in `allowed`
 * (NULL-terminated). Errors: missing body, not an object (400 bad_json),
 * unknown field (400 unknown_field, naming it).
 */
MUST_CHECK enum err req_body(struct req *r, const char *const *allowed);
/* Typed fields of the body object. *present (may be NULL) tells if given. */
MUST_CHECK enum err req_str(struct req *r, const char *field, bool required, const char **s,
                            size_t *len);
MUST_CHECK enum err req_int(struct req *r, const char *field, bool required, int64_t min,
                            int64_t max, int64_t *v, bool *present);
MUST_CHECK enum err req_bool(struct req *r, const char *field, bool required, bool *v,
                             bool *present);

/*
 * A body whose fields are each named once, with what they must be and where
 * they go: req_body() with these names, then each field in order (the first
 * refusal wins).
 *     e = req_read(r, REQ_STRING("login", true, &login, &login_len),
 *                  REQ_INTEGER("shop_id", true, 1, INT64_MAX, &shop_id));
 */
enum req_kind { REQ_KIND_STRING, REQ_KIND_INTEGER };
struct req_field {
    const char *name;
    enum req_kind kind;
    bool required;
    int64_t min, max; /* integers */
    void *out;        /* const char ** or int64_t * */
    size_t *len;      /* strings */
};
#define REQ_STRING(name, required, s, len)                                                         \
    ((struct req_field){(name), REQ_KIND_STRING, (required), 0, 0, (s), (len)})
#define REQ_INTEGER(name, required, min, max, v)                                                   \
    ((struct req_field){(name), REQ_KIND_INTEGER, (required), (min), (max), (v), NULL})
MUST_CHECK enum err req_read_(struct req *r, const struct req_field *fields, size_t n);
#define req_read(r, ...)                                                                           \
    req_read_((r), (const struct req_field[]){__VA_ARGS__},                                        \
              sizeof((const struct req_field[]){__VA_ARGS__}) / sizeof(struct req_field))

/* A number in [0, 1] (or (0, 1] when !allow_zero) as thousandths. */
MUST_CHECK enum err req_fraction_milli(struct req *r, const char *field, bool required,
                                       bool allow_zero, int64_t *v, bool *present);

/* How every JSON answer is written: compact, reals (tag weights) to 6 significant digits
 * so that 0.9 reads 0.9 and not 0.90000000000000002. */
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6))

/* JSON building helpers (values live in the request arena). */
json_t *json_time(int64_t ms);
json_t *json_weight(int64_t milli);

#endif
