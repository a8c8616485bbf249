#include "http/req.h"

#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/clock.h"

int64_t req_param_id(const struct req *r, int i)
{
    return i < r->params.n ? r->params.ids[i] : 0;
}

const char *req_param_str(const struct req *r, int i)
{
    return i < r->params.n ? r->params.strs[i] : NULL;
}

const char *req_query(const struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_cookie(const struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *req_header(const struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

enum err req_fail(struct req *r, enum err e, const char *field, const char *fmt, ...)
{
    r->ei.field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->ei.message, sizeof r->ei.message, fmt, ap);
    va_end(ap);
    return e;
}

enum err req_reply(struct req *r, int status, json_t *body)
{
    r->status = status;
    r->resp = body ? body : json_object();
    return ERR_OK;
}

enum err req_body(struct req *r, const char *const *allowed)
{
    if (!r->json)
        return req_fail(r, ERR_BAD_JSON, NULL, "the request needs a JSON object body");
    if (!json_is_object(r->json))
        return req_fail(r, ERR_BAD_JSON, NULL, "the request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(r->json, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        if (!ok) {
            /* the key must outlive this loop: it points into the arena-held object */
            return req_fail(r, ERR_UNKNOWN_FIELD, key, "unknown field \"%s\"", key);
        }
    }
    return ERR_OK;
}

static enum err field_get(struct req *r, const char *field, bool required, json_t **out,
                          bool *present)
{
    json_t *v = r->json ? json_object_get(r->json, field) : NULL;
    if (present)
        *present = v != NULL;
    *out = v;
    if (!v && required)
        return req_fail(r, ERR_MISSING_FIELD, field, "%s is required", field);
    return ERR_OK;
}

enum err req_str(struct req *r, const char *field, bool required, const char **s, size_t *len)
{
    json_t *v;
    enum err e = field_get(r, field, required, &v, NULL);
    if (e || !v)
        return e;
    if (!json_is_string(v))
        return req_fail(r, ERR_WRONG_TYPE, field, "%s must be a string", field);
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*s, '\0', *len))
        return req_fail(r, ERR_INVALID, field, "%s may not contain NUL characters", field);
    return ERR_OK;
}

enum err req_int(struct req *r, const char *field, bool required, int64_t min, int64_t max,
                 int64_t *out, bool *present)
{
    json_t *v;
    enum err e = field_get(r, field, required, &v, present);
    if (e || !v)
        return e;
    if (!json_is_integer(v))
        return req_fail(r, ERR_WRONG_TYPE, field, "%s must be a whole number", field);
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return req_fail(r, ERR_OUT_OF_RANGE, field, "%s must be from %lld to %lld", field,
                        (long long)min, (long long)max);
    *out = x;
    return ERR_OK;
}

enum err req_bool(struct req *r, const char *field, bool required, bool *out, bool *present)
{
    json_t *v;
    enum err e = field_get(r, field, required, &v, present);
    if (e || !v)
        return e;
    if (!json_is_boolean(v))
        return req_fail(r, ERR_WRONG_TYPE, field, "%s must be true or false", field);
    *out = json_is_true(v);
    return ERR_OK;
}

enum err req_fraction_milli(struct req *r, const char *field, bool required, bool allow_zero,
                            int64_t *out, bool *present)
{
    json_t *v;
    enum err e = field_get(r, field, required, &v, present);
    if (e || !v)
        return e;
    if (!json_is_number(v))
        return req_fail(r, ERR_WRONG_TYPE, field, "%s must be a number", field);
    double d = json_number_value(v);
    if (!isfinite(d) || d > 1.0 || d < 0.0 || (!allow_zero && d <= 0.0))
        return req_fail(r, ERR_OUT_OF_RANGE, field, "%s must be %s 0 and at most 1", field,
                        allow_zero ? "from" : "above");
    int64_t m = (int64_t)llround(d * 1000.0);
    if (!allow_zero && m < 1)
        m = 1;
    *out = m;
    return ERR_OK;
}

json_t *json_time(int64_t ms)
{
    char buf[40];
    clock_format_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *json_weight(int64_t milli)
{
    return json_real((double)milli / 1000.0);
}

json_t *req_error_json(struct req *r, enum err e)
{
    const char *msg = r->ei.message[0] ? r->ei.message : err_default_message(e);
    if (e == ERR_INTERNAL || e == ERR_DB)
        msg = err_default_message(e); /* never leak internals */
    json_t *inner = json_pack("{s:s, s:s}", "code", err_code(e), "message", msg);
    if (inner && r->ei.field)
        json_object_set_new(inner, "field", json_string(r->ei.field));
    return inner ? json_pack("{s:o}", "error", inner) : NULL;
}
