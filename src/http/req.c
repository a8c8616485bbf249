#include "http/req.h"

#include <math.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"
#include "util/limits.h"
#include "util/text.h"

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
    text_utf8_repair(r->ei.message); /* input quoted in it may be cut mid-character */
    return e;
}

enum err req_reply(struct req *r, int status, json_t *body)
{
    r->status = status;
    r->resp = body ? body : json_object();
    return ERR_OK;
}

/* The deepest nesting of arrays and objects in a JSON text (strings skipped), counted up to
 * past `max` only: checked before parsing, so that any depth, even one past the parser's
 * own limit, is refused as too deep and not as bad JSON. */
static int json_text_depth(const char *p, size_t n, int max)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest && (deepest = depth) > max)
                break;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return deepest;
}

enum err req_parse_body(struct req *r, const char *ct)
{
    if (r->body_len == 0)
        return ERR_OK;
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
        return req_fail(r, ERR_UNSUPPORTED_MEDIA, NULL,
                        "send the body as Content-Type: application/json");
    if (json_text_depth(r->body, r->body_len, LIMIT_JSON_DEPTH) > LIMIT_JSON_DEPTH)
        return req_fail(r, ERR_TOO_DEEP, NULL, "JSON is nested deeper than %d levels",
                        LIMIT_JSON_DEPTH);
    json_error_t jerr;
    r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->json) {
        if (r->arena.exhausted || json_error_code(&jerr) == json_error_out_of_memory)
            return req_fail(r, ERR_TOO_LARGE, NULL, "the request body is too complex");
        if (json_error_code(&jerr) == json_error_duplicate_key)
            return req_fail(r, ERR_BAD_JSON, NULL, "duplicate key in JSON at line %d column %d",
                            jerr.line, jerr.column);
        return req_fail(r, ERR_BAD_JSON, NULL, "invalid JSON at line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
    }
    return ERR_OK;
}

/* The body is an object whose every key is_known(key) says is one of its fields. */
static enum err body_object(struct req *r, bool (*is_known)(const char *key, const void *ctx),
                            const void *ctx)
{
    if (!r->json)
        return req_fail(r, ERR_BAD_JSON, NULL, "the request needs a JSON object body");
    if (!json_is_object(r->json))
        return req_fail(r, ERR_BAD_JSON, NULL, "the request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(r->json, key, v)
    {
        /* the key outlives this loop: it points into the arena-held object */
        if (!is_known(key, ctx))
            return req_fail(r, ERR_UNKNOWN_FIELD, key, "unknown field \"%s\"", key);
    }
    return ERR_OK;
}

static bool in_names(const char *key, const void *ctx)
{
    for (const char *const *a = ctx; *a; a++)
        if (strcmp(*a, key) == 0)
            return true;
    return false;
}

enum err req_body(struct req *r, const char *const *allowed)
{
    return body_object(r, in_names, allowed);
}

struct field_list {
    const struct req_field *f;
    size_t n;
};

static bool in_fields(const char *key, const void *ctx)
{
    const struct field_list *l = ctx;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->f[i].name, key) == 0)
            return true;
    return false;
}

enum err req_read_(struct req *r, const struct req_field *fields, size_t n)
{
    enum err e = body_object(r, in_fields, &(struct field_list){fields, n});
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        const struct req_field *f = &fields[i];
        e = f->kind == REQ_KIND_STRING
                ? req_str(r, f->name, f->required, f->out, f->len)
                : req_int(r, f->name, f->required, f->min, f->max, f->out, NULL);
    }
    return e;
}

/* What a field must be, and how a refusal says so. */
enum field_kind { FIELD_STRING, FIELD_INTEGER, FIELD_BOOLEAN, FIELD_NUMBER };

/*
 * The body's field of that kind: *out NULL when it is absent (ERR_MISSING_FIELD
 * if required), ERR_WRONG_TYPE naming what it must be when it is of another.
 */
static enum err field_get(struct req *r, const char *field, bool required, enum field_kind kind,
                          json_t **out, bool *present)
{
    static const char *const must_be[] = {[FIELD_STRING] = "a string",
                                          [FIELD_INTEGER] = "a whole number",
                                          [FIELD_BOOLEAN] = "true or false",
                                          [FIELD_NUMBER] = "a number"};
    json_t *v = r->json ? json_object_get(r->json, field) : NULL;
    if (present)
        *present = v != NULL;
    *out = v;
    if (!v)
        return required ? req_fail(r, ERR_MISSING_FIELD, field, "%s is required", field) : ERR_OK;
    bool ok = kind == FIELD_STRING    ? json_is_string(v)
              : kind == FIELD_INTEGER ? json_is_integer(v)
              : kind == FIELD_BOOLEAN ? json_is_boolean(v)
                                      : json_is_number(v);
    return ok ? ERR_OK : req_fail(r, ERR_WRONG_TYPE, field, "%s must be %s", field, must_be[kind]);
}

enum err req_str(struct req *r, const char *field, bool required, const char **s, size_t *len)
{
    json_t *v;
    enum err e = field_get(r, field, required, FIELD_STRING, &v, NULL);
    if (e || !v)
        return e;
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
    enum err e = field_get(r, field, required, FIELD_INTEGER, &v, present);
    if (e || !v)
        return e;
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
    enum err e = field_get(r, field, required, FIELD_BOOLEAN, &v, present);
    if (e || !v)
        return e;
    *out = json_is_true(v);
    return ERR_OK;
}

enum err req_fraction_milli(struct req *r, const char *field, bool required, bool allow_zero,
                            int64_t *out, bool *present)
{
    json_t *v;
    enum err e = field_get(r, field, required, FIELD_NUMBER, &v, present);
    if (e || !v)
        return e;
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
    if (!inner) /* a message that is not UTF-8 after all: the code still answers */
        inner = json_pack("{s:s, s:s}", "code", err_code(e), "message", err_default_message(e));
    if (inner && r->ei.field)
        json_object_set_new(inner, "field", json_string(r->ei.field));
    return inner ? json_pack("{s:o}", "error", inner) : NULL;
}
