#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/text.h"

static const int statuses[] = {
#define X(name, status, code) status,
    ERR_TABLE(X)
#undef X
};

static const char *const codes[] = {
#define X(name, status, code) code,
    ERR_TABLE(X)
#undef X
};

_Static_assert(sizeof statuses / sizeof statuses[0] == ERR__COUNT, "error table");

int err_status(enum err e)
{
    return (unsigned)e < ERR__COUNT ? statuses[e] : 500;
}

const char *err_code(enum err e)
{
    return (unsigned)e < ERR__COUNT ? codes[e] : "internal";
}

const char *err_default_message(enum err e)
{
    switch (e) {
    case ERR_OK:
        return "ok";
    case ERR_BAD_JSON:
        return "the request body is not valid JSON";
    case ERR_UNAUTHORIZED:
        return "log in first";
    case ERR_CSRF:
        return "cookie-authenticated writes need the X-Requested-With header";
    case ERR_FORBIDDEN:
        return "not allowed";
    case ERR_NOT_FOUND:
        return "not found";
    case ERR_METHOD_NOT_ALLOWED:
        return "this path does not take that method";
    case ERR_TOO_LARGE:
        return "the request body is too large";
    case ERR_UNSUPPORTED_MEDIA:
        return "send the body as application/json";
    case ERR_RATE_LIMITED:
        return "too many attempts; try again later";
    case ERR_RETRY:
        return "too many concurrent changes; try again";
    case ERR_UNAVAILABLE:
        return "the service is unavailable; try again shortly";
    case ERR_DB:
    case ERR_INTERNAL:
        return "internal error";
    default:
        return "the request is invalid";
    }
}

enum err err_set(struct errinfo *ei, enum err e, const char *field, const char *fmt, ...)
{
    if (ei) {
        ei->field = field;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ei->message, sizeof ei->message, fmt, ap);
        va_end(ap);
        text_utf8_repair(ei->message); /* input quoted in it may be cut mid-character */
    }
    return e;
}
