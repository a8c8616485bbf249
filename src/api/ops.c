/*
 * ops.c - operations endpoints: /healthz, /metrics, the OpenAPI document
 * (generated from the route table, so it cannot drift from it), and the
 * test clock.
 */
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "domain/jobs.h"
#include "http/metrics.h"
#include "util/buf.h"
#include "util/clock.h"

enum err api_healthz(struct req *r)
{
    static const char sql[] = "SELECT 1";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare(r->db, sql, &st);
    if (!e) {
        e = db_step(st, &row);
        db_done(st);
    }
    if (e || !row)
        return req_fail(r, ERR_UNAVAILABLE, "db", "the database does not answer");
    return req_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* True when the request carries "Bearer <token>" (compared in constant time). */
static bool bearer_is(const struct req *r, const char *token)
{
    const char *h = req_header(r, "Authorization");
    size_t n = strlen(token);
    return h && strncmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == n &&
           sodium_memcmp(h + 7, token, n) == 0;
}

enum err api_metrics(struct req *r)
{
    if (api_settings.metrics_token && !bearer_is(r, api_settings.metrics_token))
        return req_fail(r, ERR_UNAUTHORIZED, "Authorization",
                        "GET /metrics needs the metrics token: Authorization: Bearer <token>");
    struct buf b;
    buf_init(&b, 4 * 1024 * 1024);
    metrics_render(&b, r->db);
    r->raw_body = arena_strndup(&r->arena, b.ptr ? b.ptr : "", b.len);
    r->raw_len = b.len;
    buf_release(&b);
    if (!r->raw_body)
        return ERR_TOO_LARGE;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->status = 200;
    return ERR_OK;
}

static json_t *operation(const struct route *rt)
{
    json_t *op = json_pack("{s:s, s:{s:{s:s}}}", "summary", rt->summary, "responses", "default",
                           "description", "JSON body; errors are {\"error\":{code,message,field}}");
    json_t *params = json_array();
    const char *p = rt->pattern;
    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        char name[64];
        size_t len = (size_t)(end - p - 1);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, p + 1, len);
        name[len] = '\0';
        bool is_int = !strcmp(name, "id") || (len > 3 && !strcmp(name + len - 3, "_id"));
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in",
                                                "path", "required", 1, "schema", "type",
                                                is_int ? "integer" : "string"));
        p = end;
    }
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    if (rt->auth == AUTH_USER)
        json_object_set_new(op, "security", json_pack("[{s:[]}, {s:[]}]", "bearer", "cookie"));
    return op;
}

enum err api_openapi(struct req *r)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < api_routes_len; i++) {
        const struct route *rt = &api_routes[i];
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        char method[8];
        size_t k = 0;
        for (; rt->method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(rt->method[k] | 0x20);
        method[k] = '\0';
        json_object_set_new(item, method, operation(rt));
    }
    json_t *doc =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}}}", "openapi",
                  "3.0.3", "info", "title", "quanzi API", "version", "1", "paths", paths,
                  "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
                  "cookie", "type", "apiKey", "in", "cookie", "name", "qz_session");
    return req_reply(r, 200, doc);
}

enum err api_test_clock(struct req *r)
{
    if (!api_settings.test_clock)
        return req_fail(r, ERR_NOT_FOUND, NULL, "not found");
    int64_t advance = 0;
    enum err e = req_read(r, REQ_INTEGER("advance_ms", true, 0, 10 * 366 * MS_PER_DAY, &advance));
    if (e)
        return e;
    clock_advance(advance);
    struct job_run runs[JOBS_MAX];
    size_t n = jobs_run_due(r->db, runs);
    json_t *jobs = json_array();
    for (size_t i = 0; jobs && i < n; i++)
        json_array_append_new(jobs, json_pack("{s:s, s:I, s:s}", "name", runs[i].name, "affected",
                                              (json_int_t)runs[i].affected, "result",
                                              err_code(runs[i].result)));
    int64_t now = clock_now_ms();
    return req_reply(r, 200,
                     json_pack("{s:o, s:I, s:I, s:o}", "now_at", json_time(now), "now_ms",
                               (json_int_t)now, "offset_ms", (json_int_t)clock_offset_ms(), "jobs",
                               jobs));
}
