/*
 * err.h - the one error table of quanzi.
 *
 * Every expected failure has an enum value, an HTTP status and a stable
 * snake_case code that clients may rely on. Handlers and domain functions
 * return `enum err` (ERR_OK is 0) and never choose HTTP statuses by hand.
 * Details for the client (which field, a readable message) travel in a
 * `struct errinfo` filled with err_set().
 */
#ifndef QUANZI_UTIL_ERR_H
#define QUANZI_UTIL_ERR_H

#include <stddef.h>

#define MUST_CHECK __attribute__((warn_unused_result))

/*      name                 status code */
#define ERR_TABLE(X)                                                                               \
    X(OK, 200, "ok")                                                                               \
    X(BAD_JSON, 400, "bad_json")                                                                   \
    X(BAD_REQUEST, 400, "bad_request")                                                             \
    X(UNKNOWN_FIELD, 400, "unknown_field")                                                         \
    X(MISSING_FIELD, 400, "missing_field")                                                         \
    X(WRONG_TYPE, 400, "wrong_type")                                                               \
    X(OUT_OF_RANGE, 400, "out_of_range")                                                           \
    X(INVALID, 400, "invalid_value")                                                               \
    X(TOO_DEEP, 400, "too_deep")                                                                   \
    X(WEAK_PASSWORD, 400, "weak_password")                                                         \
    X(UNAUTHORIZED, 401, "unauthorized")                                                           \
    X(BAD_CREDENTIALS, 401, "bad_credentials")                                                     \
    X(CSRF, 403, "csrf_header_required")                                                           \
    X(FORBIDDEN, 403, "forbidden")                                                                 \
    X(NOT_FOUND, 404, "not_found")                                                                 \
    X(METHOD_NOT_ALLOWED, 405, "method_not_allowed")                                               \
    X(CONFLICT, 409, "conflict")                                                                   \
    X(LOGIN_TAKEN, 409, "login_taken")                                                             \
    X(SLUG_TAKEN, 409, "slug_taken")                                                               \
    X(ALREADY_MEMBER, 409, "already_member")                                                       \
    X(ALREADY_CONTACT, 409, "already_contact")                                                     \
    X(CIRCLE_FULL, 409, "circle_full")                                                             \
    X(OUT_OF_STOCK, 409, "out_of_stock")                                                           \
    X(PRODUCT_UNAVAILABLE, 409, "product_unavailable")                                             \
    X(QUANTITY_CAP, 409, "quantity_cap")                                                           \
    X(ILLEGAL_TRANSITION, 409, "illegal_transition")                                               \
    X(IDEMPOTENCY_IN_FLIGHT, 409, "idempotency_in_flight")                                         \
    X(IDEMPOTENCY_MISMATCH, 422, "idempotency_key_reused")                                         \
    X(EXPERIENCE_REQUIRED, 403, "experience_required")                                             \
    X(ALREADY_PROMOTER, 409, "already_promoter")                                                   \
    X(SELF_INVITE, 422, "self_invite")                                                             \
    X(INVITE_CYCLE, 422, "invite_cycle")                                                           \
    X(INSUFFICIENT_BALANCE, 409, "insufficient_balance")                                           \
    X(DAILY_LIMIT, 409, "daily_limit")                                                             \
    X(HOP_LIMIT, 422, "hop_limit")                                                                 \
    X(RETRY, 503, "busy_retry")                                                                    \
    X(TOO_LARGE, 413, "body_too_large")                                                            \
    X(UNSUPPORTED_MEDIA, 415, "unsupported_media_type")                                            \
    X(UNPROCESSABLE, 422, "unprocessable")                                                         \
    X(RATE_LIMITED, 429, "rate_limited")                                                           \
    X(INTERNAL, 500, "internal")                                                                   \
    X(DB, 500, "db_error")                                                                         \
    X(UNAVAILABLE, 503, "unavailable")

enum err {
#define X(name, status, code) ERR_##name,
    ERR_TABLE(X)
#undef X
        ERR__COUNT
};

/* Details of an error for the client. `field` points to static storage. */
struct errinfo {
    const char *field;
    char message[192];
};

int err_status(enum err e);
const char *err_code(enum err e);
const char *err_default_message(enum err e);

/*
 * Records field and message in `ei` (which may be NULL) and returns `e`, so
 * that callers can write `return err_set(ei, ERR_INVALID, "slug", "...")`.
 */
enum err err_set(struct errinfo *ei, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
