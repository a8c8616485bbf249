/*
 * The HTTP layer against a real server: health, metrics, OpenAPI, routing
 * errors, body limits, strict JSON (broken, duplicate keys, depth, types),
 * media type, request ids, keep-alive, and that bad input writes nothing.
 */
#include <curl/curl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "harness.h"

static void healthz_and_request_id(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(http(&S, "GET", "/healthz", NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    char *rid = resp_header(&r, "X-Request-Id");
    assert_non_null(rid);
    assert_true(strlen(rid) > 0);
    free(rid);
    char *ct = resp_header(&r, "Content-Type");
    assert_string_equal(ct, "application/json; charset=utf-8");
    free(ct);
    resp_free(&r);
}

/* A request's headers share 16 KiB per connection: a few KiB of cookies fit, a flood does not. */
static void header_room(void **state)
{
    (void)state;
    static char big[6 * 1024], huge[20 * 1024];
    snprintf(big, sizeof big, "Cookie: other_site=%0*d", (int)sizeof big - 40, 0);
    snprintf(huge, sizeof huge, "X-Flood: %0*d", (int)sizeof huge - 20, 0);
    const char *const fits[] = {big, NULL}, *const too_big[] = {huge, NULL};
    struct resp r;
    assert_int_equal(http_ex(&S, "GET", "/healthz", NULL, NULL, fits, &r), 200);
    resp_free(&r);
    assert_int_equal(http_ex(&S, "GET", "/healthz", NULL, NULL, too_big, &r), 431);
    resp_free(&r);
}

static void metrics_prometheus(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200); /* a set-up call did its part */
    resp_free(&r);
    http(&S, "GET", "/api/v1/nope", NULL, NULL, &r);
    assert_int_equal(r.status, 404); /* a set-up call did its part */
    resp_free(&r);
    assert_int_equal(http(&S, "GET", "/metrics", NULL, NULL, &r), 200);
    char *ct = resp_header(&r, "Content-Type");
    assert_non_null(strstr(ct, "text/plain; version=0.0.4"));
    free(ct);
    assert_non_null(
        strstr(r.body, "quanzi_http_requests_total{route=\"GET /healthz\",status=\"200\"}"));
    assert_non_null(
        strstr(r.body, "quanzi_http_requests_total{route=\"unmatched\",status=\"404\"}"));
    assert_non_null(strstr(
        r.body, "quanzi_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "quanzi_db_time_seconds_total "));
    resp_free(&r);
}

static double metric(const char *body, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(body, key);
    assert_non_null(at);
    return strtod(at + strlen(key), NULL);
}

/* The writer's counters: writes (a registration, a logout) are batched writes, in
 * committed batches, under the lock. */
static void metrics_writer(void **state)
{
    (void)state;
    static const char *const names[] = {"quanzi_sqlite_writer_held_seconds_total",
                                        "quanzi_sqlite_commit_batches_total",
                                        "quanzi_sqlite_batched_writes_total"};
    double before[3], after[3];
    struct resp r;
    assert_int_equal(http(&S, "GET", "/metrics", NULL, NULL, &r), 200);
    for (int i = 0; i < 3; i++)
        before[i] = metric(r.body, names[i]);
    resp_free(&r);
    char *t = register_user(&S, "metrics@example.test", "Metrics", NULL);
    http(&S, "POST", "/api/v1/auth/logout", t, NULL, &r); /* leaves no session behind */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    free(t);
    assert_int_equal(http(&S, "GET", "/metrics", NULL, NULL, &r), 200);
    for (int i = 0; i < 3; i++)
        after[i] = metric(r.body, names[i]);
    resp_free(&r);
    if (test_on_postgres()) {
        for (int i = 0; i < 3; i++)
            assert_true(after[i] == 0);
        return;
    }
    assert_true(after[0] > before[0]);
    assert_true(after[1] >= before[1] + 1);
    assert_true(after[2] >= before[2] + 2);
}

/* With metrics_token set, /metrics answers only that bearer token, and never logs it. */
static void metrics_token(void **state)
{
    (void)state;
    static const char token[] = "metrics-0123456789abcdef";
    const char *const extra[] = {"--metrics-token", token, NULL};
    const char *const wrong[] = {"Authorization: Bearer metrics-0123456789abcdeF", NULL};
    const char *const shorter[] = {"Authorization: Bearer metrics-0123456789abcde", NULL};
    const char *const right[] = {"Authorization: Bearer metrics-0123456789abcdef", NULL};
    struct srv s;
    srv_start(&s, extra);
    struct resp r;
    http(&s, "GET", "/metrics", NULL, NULL, &r);
    expect_error(&r, 401, "unauthorized", "Authorization");
    resp_free(&r);
    http_ex(&s, "GET", "/metrics", NULL, NULL, wrong, &r);
    expect_error(&r, 401, "unauthorized", "Authorization");
    resp_free(&r);
    http_ex(&s, "GET", "/metrics", NULL, NULL, shorter, &r);
    expect_error(&r, 401, "unauthorized", "Authorization");
    resp_free(&r);
    assert_int_equal(http_ex(&s, "GET", "/metrics", NULL, NULL, right, &r), 200);
    assert_non_null(strstr(r.body, "quanzi_http_requests_total"));
    resp_free(&r);
    assert_int_equal(http(&s, "GET", "/healthz", NULL, NULL, &r), 200); /* the rest is open */
    resp_free(&r);
    assert_non_null(strstr(srv_log(&s), "path=/metrics")); /* the requests were logged */
    assert_null(strstr(srv_log(&s), "0123456789abcde"));
    assert_int_equal(srv_stop(&s), 0);
}

/* The OpenAPI document lists exactly the route table: every route, no other. */
static void openapi_matches_route_table(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(http(&S, "GET", "/api/v1/openapi.json", NULL, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "openapi"), "3.0.3");
    json_t *paths = jget(r.json, "paths");
    assert_true(json_is_object(paths));
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) ops += json_object_size(item);
    assert_int_equal(ops, api_routes_len);
    for (size_t i = 0; i < api_routes_len; i++) {
        char method[8];
        size_t k = 0;
        for (; api_routes[i].method[k]; k++)
            method[k] = (char)(api_routes[i].method[k] | 0x20);
        method[k] = '\0';
        json_t *op = jget(json_object_get(paths, api_routes[i].pattern), method);
        assert_non_null(op);
        assert_string_equal(jstr(op, "summary"), api_routes[i].summary);
        if (strchr(api_routes[i].pattern, '{'))
            assert_true(json_array_size(json_object_get(op, "parameters")) >= 1);
    }
    resp_free(&r);
}

static void unknown_path_and_method(void **state)
{
    (void)state;
    struct resp r;
    refused(&S, "GET", "/api/v1/nothing-here", NULL, NULL, 404, "not_found", NULL);
    refused(&S, "GET", "/api/v1/shops/not-a-number", NULL, NULL, 404, "not_found", NULL);
    http(&S, "DELETE", "/api/v1/me", NULL, NULL, &r);
    expect_error(&r, 405, "method_not_allowed", NULL);
    char *allow = resp_header(&r, "Allow");
    assert_string_equal(allow, "GET");
    free(allow);
    resp_free(&r);
}

static const char REG_SQL[] = "SELECT COUNT(*) FROM users";

/* A body over the limit is refused from its Content-Length, before it is read. */
static void oversized_body(void **state)
{
    (void)state;
    int64_t before = db_scalar(&S, REG_SQL);
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n + 64);
    strcpy(big, "{\"login\":\"13900000001\",\"password\":\"");
    size_t off = strlen(big);
    memset(big + off, 'x', n);
    strcpy(big + off + n, "\",\"display_name\":\"x\"}");
    struct resp r;
    /* a careful client waits for the verdict before sending the body: without it the
     * server's early answer and close can race curl's upload */
    const char *careful[] = {"Expect: 100-continue", NULL};
    http_ex(&S, "POST", "/api/v1/auth/register", NULL, big, careful, &r);
    expect_error(&r, 413, "body_too_large", NULL);
    resp_free(&r);
    /* a route with the 16 KiB limit */
    memset(big, ' ', 20000);
    strcpy(big + 20000, "{}");
    refused(&S, "POST", "/api/v1/auth/login", NULL, big, 413, "body_too_large", NULL);
    free(big);
    assert_int_equal(db_scalar(&S, REG_SQL), before);
}

/* A body within the size limit whose parse outgrows the request's memory (a million
 * bytes of empty arrays) is 413 too, in JSON, and changes nothing. */
static void too_complex_body(void **state)
{
    (void)state;
    char *t = register_user(&S, "complex@example.test", "Complex", NULL);
    int64_t before = db_scalar(&S, "SELECT COUNT(*) FROM member_interests");
    enum { ARRAYS = 340000 };
    char *big = malloc(ARRAYS * 3 + 32);
    size_t off = (size_t)sprintf(big, "{\"interests\":[");
    for (int i = 0; i < ARRAYS; i++)
        off += (size_t)sprintf(big + off, "%s[]", i ? "," : "");
    strcpy(big + off, "]}");
    refused(&S, "PUT", "/api/v1/me/interests", t, big, 413, "body_too_large", NULL);
    free(big);
    free(t);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM member_interests"), before);
}

/* A chunked body (no Content-Length) is cut off once it passes the limit. */
static void oversized_chunked_body(void **state)
{
    (void)state;
    int64_t before = db_scalar(&S, REG_SQL);
    size_t n = 64 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    const char *h[] = {"Transfer-Encoding: chunked", NULL};
    struct resp r;
    http_ex(&S, "POST", "/api/v1/auth/login", NULL, big, h, &r);
    expect_error(&r, 413, "body_too_large", NULL);
    resp_free(&r);
    free(big);
    assert_int_equal(db_scalar(&S, REG_SQL), before);
}

struct http_case {
    const char *body;
    long status;
    const char *code;
    const char *field;
};

/* Every malformed registration answers 4xx with a stable code and writes no row. */
static void bad_json_changes_nothing(void **state)
{
    (void)state;
    static char deep[200];
    for (int i = 0; i < 40; i++)
        deep[i] = '[';
    for (int i = 0; i < 40; i++)
        deep[40 + i] = ']';
    deep[80] = '\0';
    static char deep_obj[400];
    snprintf(deep_obj, sizeof deep_obj,
             "{\"login\":\"13900000002\",\"password\":\"correct horse\",\"display_name\":%s}",
             deep);
    /* an unknown key too long for the error message: cut between characters, not inside one */
    static char long_key[80 * 3 + 1], long_key_obj[400];
    for (int i = 0; i < 80; i++)
        memcpy(long_key + 3 * i, "键", 3);
    snprintf(long_key_obj, sizeof long_key_obj,
             "{\"login\":\"13900000002\",\"password\":\"correct horse\",\"display_name\":\"x\","
             "\"%s\":1}",
             long_key);
    const struct http_case cases[] = {
        {"{", 400, "bad_json", NULL},
        {long_key_obj, 400, "unknown_field", long_key},
        {"{\"login\":tru\xe9\x94\xae}", 400, "bad_json", NULL},
        {"{\"login\":\"\xe9\x94", 400, "bad_json", NULL},
        {"not json", 400, "bad_json", NULL},
        {"[1,2]", 400, "bad_json", NULL},
        {"\"a string\"", 400, "bad_json", NULL},
        {"{\"login\":\"13900000002\",\"login\":\"13900000003\",\"password\":\"correct horse\","
         "\"display_name\":\"x\"}",
         400, "bad_json", NULL},
        {deep_obj, 400, "too_deep", NULL},
        {"{\"login\":\"13900000002\",\"password\":\"correct horse\",\"display_name\":\"x\","
         "\"is_admin\":true}",
         400, "unknown_field", "is_admin"},
        {"{\"login\":13900000002,\"password\":\"correct horse\",\"display_name\":\"x\"}", 400,
         "wrong_type", "login"},
        {"{\"login\":\"13900000002\",\"password\":\"correct horse\"}", 400, "missing_field",
         "display_name"},
        {"{\"login\":\"13900000002\",\"password\":\"correct horse\",\"display_name\":null}", 400,
         "wrong_type", "display_name"},
        {"{\"login\":\"13900000002\",\"password\":\"correct "
         "horse\",\"display_name\":\"a\\u0000b\"}",
         400, "bad_json", NULL},
        {"{\"login\":\"13900000002\",\"password\":\"correct horse\",\"display_name\":\"\"}", 400,
         "invalid_value", "display_name"},
        {"{\"login\":\"13900000002\",\"password\":\"correct horse\",\"display_name\":\"x\"} "
         "trailing",
         400, "bad_json", NULL},
        {"{\"n\":123456789012345678901234567890}", 400, "bad_json", NULL},
        {"{\"login\":\"\xff\xfe\",\"password\":\"correct horse\",\"display_name\":\"x\"}", 400,
         "bad_json", NULL},
    };
    int64_t before = db_scalar(&S, REG_SQL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r;
        http(&S, "POST", "/api/v1/auth/register", NULL, cases[i].body, &r);
        if (r.status != cases[i].status)
            fprintf(stderr, "case %zu: %s -> %ld %s\n", i, cases[i].body, r.status,
                    r.body ? r.body : "");
        expect_error(&r, cases[i].status, cases[i].code, cases[i].field);
        resp_free(&r);
    }
    assert_int_equal(db_scalar(&S, REG_SQL), before);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM sessions"), 0);
}

static void wrong_media_type(void **state)
{
    (void)state;
    const char *h[] = {"Content-Type: text/plain", NULL};
    struct resp r;
    /* http_ex adds application/json for bodies; a later header of the same name wins */
    http_ex(&S, "POST", "/api/v1/auth/login", NULL, "{}", h, &r);
    expect_error(&r, 415, "unsupported_media_type", NULL);
    resp_free(&r);
}

/* Several requests on one connection: keep-alive stays on. */
/* One connection serves many requests, after a POST with a body too (DESIGN §7: a
 * response queued before the upload is read answers "Connection: close"). */
static void keep_alive(void **state)
{
    (void)state;
    CURL *c = curl_easy_init();
    char url[64], post_url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", S.port);
    snprintf(post_url, sizeof post_url, "http://127.0.0.1:%d/api/v1/auth/register", S.port);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    long total_connects = 0;
    for (int i = 0; i < 6; i++) {
        bool post = i % 2 == 1;
        curl_easy_setopt(c, CURLOPT_URL, post ? post_url : url);
        if (post) { /* a body to read, answered with its 400 once it is read */
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"login\":\"13900000000\"}");
        } else {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        long status = 0, n = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n);
        assert_int_equal(status, post ? 400 : 200);
        total_connects += n;
    }
    assert_int_equal(total_connects, 1); /* the first request's; the five after reused it */
    curl_slist_free_all(h);
    fclose(devnull);
    curl_easy_cleanup(c);
}

/* A raw connection to s, or -1. */

/* Whether the server closed it: a read sees the end (or the connection reset). */
static bool closed_by_server(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Slow clients: a head trickled a byte at a time is cut at its deadline however lively it
 * looks, and near the connection limit the connections waiting for a head go first, so a
 * fresh client is answered. (Before, every byte restarted the idle timeout, and 1,100 such
 * connections kept the server from answering anyone for as long as they liked.) */
static void slow_clients_are_cut(void **state)
{
    (void)state;
    const char *const extra[] = {"--request-head-timeout-s",
                                 "1",
                                 "--max-connections",
                                 "30",
                                 "--max-connections-per-ip",
                                 "100",
                                 NULL};
    struct srv s;
    srv_start(&s, extra);
    signal(SIGPIPE, SIG_IGN);
    enum { SLOW = 6 };
    int slow[SLOW];
    for (int i = 0; i < SLOW; i++) {
        slow[i] = srv_raw_connect(&s);
        assert_true(slow[i] >= 0);
        const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        assert_true(send(slow[i], head, strlen(head), 0) > 0);
    }
    struct resp r;
    for (int tick = 0; tick < 15; tick++) { /* a byte each per 200 ms, for 3 s */
        for (int i = 0; i < SLOW; i++)
            (void)send(slow[i], "a", 1, MSG_NOSIGNAL);
        if (tick == 3) { /* meanwhile a fresh client is answered */
            assert_int_equal(http(&s, "GET", "/healthz", NULL, NULL, &r), 200);
            resp_free(&r);
        }
        usleep(200 * 1000);
    }
    for (int i = 0; i < SLOW; i++) {
        assert_true(closed_by_server(slow[i]));
        close(slow[i]);
    }
    /* thirty idle connections fill the limit; the guard makes room for a thirty-first */
    enum { IDLE = 30 };
    int idle[IDLE];
    for (int i = 0; i < IDLE; i++)
        idle[i] = srv_raw_connect(&s);
    usleep(450 * 1000); /* two rounds of the guard, well within the head's deadline */
    assert_int_equal(http(&s, "GET", "/healthz", NULL, NULL, &r), 200);
    resp_free(&r);
    int shed = 0;
    for (int i = 0; i < IDLE; i++) {
        shed += idle[i] >= 0 && closed_by_server(idle[i]);
        if (idle[i] >= 0)
            close(idle[i]);
    }
    assert_true(shed >= 3);
    assert_int_equal(srv_stop(&s), 0);
}

/* Sends a whole request on a fresh connection and reads the answer until the server closes
 * it (Connection: close); returns the status, the answer in out (len bytes). */
static int raw_exchange(const struct srv *s, const char *request, char *out, size_t len)
{
    int fd = srv_raw_connect(s);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
    size_t got = 0;
    ssize_t n;
    while (got + 1 < len && (n = recv(fd, out + got, len - 1 - got, 0)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
    int status = 0;
    sscanf(out, "HTTP/1.%*d %d", &status);
    return status;
}

/* What libmicrohttpd would let through: a path whose encoded "/" or NUL its decoding would
 * turn into another path (/shops%2F1 was shop 1), a NUL in a query, and a body framed twice
 * (two Content-Lengths, or one and chunked: what a proxy and quanzi could read differently).
 * Each is 400 naming what is wrong, and writes nothing. */
static void targets_and_framing(void **state)
{
    (void)state;
    char out[4096];
    const char *bad_paths[] = {"/api/v1/shops%2F1", "/api/v1/shops%2f1", "/api/v1/shops/1%00x",
                               "/api/v1/me%0a", "/healthz?x=a%00b"};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        int st = raw_exchange(
            &S, fmt("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", bad_paths[i]), out,
            sizeof out);
        if (st != 400)
            fprintf(stderr, "%s: %s\n", bad_paths[i], out);
        assert_int_equal(st, 400);
        assert_non_null(strstr(out, "\"code\":\"bad_request\""));
        assert_non_null(strstr(out, "\"field\":\"path\""));
    }
    /* an encoded "/" in a query is a value like any other */
    assert_int_equal(raw_exchange(&S,
                                  "GET /healthz?next=%2Fshop HTTP/1.1\r\nHost: x\r\n"
                                  "Connection: close\r\n\r\n",
                                  out, sizeof out),
                     200);
    int64_t before = db_scalar(&S, REG_SQL);
    const char *body = "{\"login\":\"13900000077\",\"password\":\"correct horse\","
                       "\"display_name\":\"x\"}";
    const char *framings[] = {
        fmt("Content-Length: %zu\r\nContent-Length: 2\r\n", strlen(body)),
        fmt("Content-Length: %zu\r\nContent-Length: %zu\r\n", strlen(body), strlen(body)),
        fmt("Content-Length: %zu\r\nTransfer-Encoding: chunked\r\n", strlen(body)),
    };
    for (size_t i = 0; i < sizeof framings / sizeof framings[0]; i++) {
        int st = raw_exchange(&S,
                              fmt("POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: application/json\r\nConnection: close\r\n%s\r\n%s",
                                  framings[i], body),
                              out, sizeof out);
        if (st != 400)
            fprintf(stderr, "framing %zu: %s\n", i, out);
        assert_int_equal(st, 400);
        assert_non_null(strstr(out, "\"field\":\"Content-Length\""));
    }
    assert_int_equal(db_scalar(&S, REG_SQL), before);
    /* the same body framed once is taken */
    assert_int_equal(raw_exchange(&S,
                                  fmt("POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
                                      "Content-Type: application/json\r\nConnection: close\r\n"
                                      "Content-Length: %zu\r\n\r\n%s",
                                      strlen(body), body),
                                  out, sizeof out),
                     201);
    assert_int_equal(db_scalar(&S, REG_SQL), before + 1);
}

/* Nesting: 32 levels are parsed (the field then has the wrong type), 33 are too deep, and so
 * is any depth past the parser's own limit of 2,048 (it was bad_json there). */
static void json_depth_limits(void **state)
{
    (void)state;
    const int depths[] = {32, 33, 3000};
    const char *codes[] = {"wrong_type", "too_deep", "too_deep"};
    const char *fields[] = {"display_name", NULL, NULL};
    int64_t before = db_scalar(&S, REG_SQL);
    for (int c = 0; c < 3; c++) {
        int arrays = depths[c] - 1; /* the object around them is a level */
        char *b = malloc((size_t)arrays * 2 + 128);
        size_t off = (size_t)sprintf(b, "{\"login\":\"13900000078\",\"password\":\"correct horse\","
                                        "\"display_name\":");
        memset(b + off, '[', (size_t)arrays);
        memset(b + off + arrays, ']', (size_t)arrays);
        strcpy(b + off + 2 * (size_t)arrays, "}");
        struct resp r;
        http(&S, "POST", "/api/v1/auth/register", NULL, b, &r);
        if (r.status != 400 || strcmp(jstr(r.json, "error.code"), codes[c]) != 0)
            fprintf(stderr, "depth %d: %ld %s\n", depths[c], r.status, r.body);
        expect_error(&r, 400, codes[c], fields[c]);
        resp_free(&r);
        free(b);
    }
    assert_int_equal(db_scalar(&S, REG_SQL), before);
}

/* Bodies in flight share body_memory (each counted at 4 times its length): past it a body is
 * refused with 503 and Retry-After before it is read, or, without a Content-Length, once it
 * passes it; the memory comes back when they are done. */
static void body_memory_is_bounded(void **state)
{
    (void)state;
    const char *const extra[] = {"--body-memory-mb", "8", NULL};
    struct srv s;
    srv_start(&s, extra);
    signal(SIGPIPE, SIG_IGN);
    enum { MB = 1000 * 1000 };
    /* two bodies of a megabyte on their way take the 8 MiB */
    int held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = srv_raw_connect(&s);
        assert_true(held[i] >= 0);
        const char *head = fmt("PUT /api/v1/me/interests HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
                               MB);
        assert_true(send(held[i], head, strlen(head), MSG_NOSIGNAL) > 0);
    }
    usleep(300 * 1000);
    char *t = register_user(&s, "13900000079", "Big", NULL);
    char *big = malloc(MB + 1);
    memset(big, ' ', MB);
    memcpy(big, "{\"zzz\":1", 8);
    big[MB - 1] = '}';
    big[MB] = '\0';
    const char *count = "SELECT COUNT(*) FROM member_interests";
    struct resp r;
    const char *careful[] = {"Expect: 100-continue", NULL};
    http_ex(&s, "PUT", "/api/v1/me/interests", t, big, careful, &r);
    expect_error(&r, 503, "busy_retry", NULL);
    char *ra = resp_header(&r, "Retry-After");
    assert_string_equal(ra, "1");
    free(ra);
    resp_free(&r);
    /* without a Content-Length: refused once it passes what is left */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    http_ex(&s, "PUT", "/api/v1/me/interests", t, big, chunked, &r);
    expect_error(&r, 503, "busy_retry", NULL);
    resp_free(&r);
    /* small bodies still pass meanwhile */
    answers(&s, "PUT", "/api/v1/me/interests", t, "{\"tags\":{\"茶\":0.5}}", 200);
    assert_int_equal(db_scalar(&s, count), 1);
    for (int i = 0; i < 2; i++)
        close(held[i]);
    usleep(300 * 1000);
    /* their memory is back: the big body is read (and refused for what it says) */
    http_ex(&s, "PUT", "/api/v1/me/interests", t, big, careful, &r);
    expect_error(&r, 400, "unknown_field", "zzz");
    resp_free(&r);
    free(big);
    free(t);
    assert_int_equal(db_scalar(&s, count), 1);
    assert_int_equal(srv_stop(&s), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthz_and_request_id),  cmocka_unit_test(header_room),
        cmocka_unit_test(metrics_prometheus),      cmocka_unit_test(metrics_writer),
        cmocka_unit_test(metrics_token),           cmocka_unit_test(openapi_matches_route_table),
        cmocka_unit_test(unknown_path_and_method), cmocka_unit_test(oversized_body),
        cmocka_unit_test(oversized_chunked_body),  cmocka_unit_test(bad_json_changes_nothing),
        cmocka_unit_test(wrong_media_type),        cmocka_unit_test(keep_alive),
        cmocka_unit_test(too_complex_body), /* logs in: after the tests that count sessions */
        cmocka_unit_test(slow_clients_are_cut),    cmocka_unit_test(targets_and_framing),
        cmocka_unit_test(json_depth_limits),       cmocka_unit_test(body_memory_is_bounded),
    };
    int rc = cmocka_run_group_tests(tests, srv_group_up, srv_group_down);
    curl_global_cleanup();
    return rc;
}
