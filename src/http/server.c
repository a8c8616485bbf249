#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db/db.h"
#include "db/pool.h"
#include "http/jsonmem.h"
#include "http/metrics.h"
#include "http/req.h"
#include "http/web.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"

/*
 * The guard: libmicrohttpd's idle timeout starts again with every byte, so a client that
 * trickles a request's head a byte at a time holds its connection for ever, and a few
 * hundred of them hold all. The guard gives each request's head a deadline from when the
 * connection began waiting for it, and a body a minimum rate; past them, and for waiting
 * connections when the limit is near (the oldest first), it shuts the socket, which
 * libmicrohttpd then closes as any broken connection.
 */
struct guard_conn {
    struct guard_conn *prev, *next;
    MHD_socket fd;
    int64_t since_ms; /* waiting for a head since (connect, or the last answer) */
    int64_t body_ms;  /* the head arrived then; its body is being read (0: not) */
    uint64_t body_bytes;
    bool in_request; /* a head arrived and its answer is not yet done */
    bool cut;
};

/* A body in flight is counted at this many times its length against body_memory: its buffer
 * and the parse of it (jansson's tree in the request's arena). */
#define BODY_MEMORY_FACTOR 4
/* a body this large (counted) leaves memory to give back once the bodies are done */
#define BODY_TRIM_BYTES (256 * 1024)
#define GUARD_BODY_MIN_BYTES_PER_S 1024 /* past the head's deadline, a body must keep this pace */

struct server {
    struct MHD_Daemon *d;
    pthread_mutex_t guard_lock;
    struct guard_conn guard; /* the list's sentinel */
    size_t guard_n;
    pthread_t guard_thread;
    bool guard_running, guard_stop;
    int64_t head_deadline_ms;
    unsigned max_connections;
    const struct route *routes;
    size_t n_routes;
    size_t body_limit;
    size_t body_memory;           /* bytes that bodies in flight and their parse may take */
    _Atomic size_t body_reserved; /* ... taken now (BODY_MEMORY_FACTOR per body byte) */
    _Atomic bool body_trim;       /* memory was taken since the last trim */
    _Atomic bool stopping;        /* server_stop() began: new requests are answered 503 */
    bool access_log;
    uint16_t port;
    char proxies[SERVER_PROXIES_MAX][INET6_ADDRSTRLEN]; /* trusted, normalized */
    size_t n_proxies;
};

/* Per-request state kept between libmicrohttpd callbacks. */
struct conn_state {
    struct req r;
    struct buf body;
    enum err early;             /* routing or size error found before dispatch */
    bool responded;             /* a response was queued early (413) */
    size_t discarded;           /* bytes dropped after the body passed its limit */
    size_t reserved;            /* of the server's body memory, this request's */
    bool over_budget;           /* a body without a Content-Length ran past that memory */
    struct guard_conn *g;       /* the connection's, for the guard */
    const struct web_file *web; /* a page or a file of the front end answers */
};

static _Atomic long in_flight;
static _Atomic uint64_t next_rid;

static const char FALLBACK_BODY[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}";

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '"')
            *p = '\'';
    LOG(LOG_WARN, "httpd", "msg=\"%s\"", msg);
}

/* What every answer carries, JSON or page: no sniffing, no framing, scripts and styles
 * from this server only, and no share token leaking to other sites in a Referer. */
static void security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

static enum MHD_Result queue(struct server *s, struct conn_state *cs, enum err e)
{
    struct req *r = &cs->r;
    const char *body = NULL;
    size_t len = 0;
    char *dumped = NULL;
    int status;
    jsonmem_use(&r->arena); /* error bodies built here live in the request arena too */

    if (e != ERR_OK) {
        status = err_status(e);
        r->resp = req_error_json(r, e);
        r->raw_body = NULL;
    } else {
        status = r->status ? r->status : 200;
    }
    if (r->raw_body) {
        body = r->raw_body;
        len = r->raw_len;
    } else if (r->resp) {
        dumped = json_dumps(r->resp, JSON_DUMP_FLAGS);
        if (dumped) {
            body = dumped;
            len = strlen(dumped);
        }
    }
    char plain[256];
    if (!body && e != ERR_OK) {
        /* the error body could not be built (the request's arena ran out): the same
         * error without its details, from constants (no quotes: tests/unit/test_util) */
        len = (size_t)snprintf(plain, sizeof plain,
                               "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", err_code(e),
                               err_default_message(e));
        body = plain;
    } else if (!body && !(e == ERR_OK && r->has_file)) {
        status = 500;
        body = FALLBACK_BODY;
        len = sizeof FALLBACK_BODY - 1;
    }
    struct MHD_Response *resp;
    if (e == ERR_OK && r->has_file) {
        resp = MHD_create_response_from_fd((uint64_t)r->file_size, r->file_fd);
        if (!resp)
            close(r->file_fd);
        r->has_file = false; /* the response owns the descriptor now */
    } else {
        resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json; charset=utf-8");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    security_headers(resp);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->cache_control && e == ERR_OK ? r->cache_control : "no-store");
    if (r->replayed)
        MHD_add_response_header(resp, "Idempotent-Replayed", r->replayed);
    if (r->etag && e == ERR_OK)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    if (r->set_cookie)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if ((status == 429 || status == 503) && r->retry_after_s > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)r->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (e == ERR_METHOD_NOT_ALLOWED && r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    jsonmem_use(NULL);

    int64_t dur = clock_mono_us() - r->t0_us;
    metrics_observe(r->route_idx, status, dur);
    if (s->access_log)
        LOG(LOG_INFO, "access", "method=%s path=%s route=\"%s\" status=%d us=%lld ip=%s%s%s",
            r->method ? r->method : "-", r->path ? r->path : "-",
            r->route ? r->route->pattern : "-", status, (long long)dur, r->client_ip,
            e ? " code=" : "", e ? err_code(e) : "");
    return ret;
}

/* An address in its normal text form (inet_ntop of inet_pton); false if it is none. */
static bool normal_ip(const char *in, size_t n, char out[INET6_ADDRSTRLEN])
{
    char text[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (n == 0 || n >= sizeof text)
        return false;
    memcpy(text, in, n);
    text[n] = '\0';
    if (inet_pton(AF_INET, text, bin) == 1)
        return inet_ntop(AF_INET, bin, out, INET6_ADDRSTRLEN) != NULL;
    if (inet_pton(AF_INET6, text, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN) != NULL;
    return false;
}

bool server_parse_proxies(const char *list, char out[][INET6_ADDRSTRLEN], size_t *n, char *bad,
                          size_t bad_len)
{
    *n = 0;
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        if (!len)
            break;
        if (*n == SERVER_PROXIES_MAX || !normal_ip(p, len, out[*n])) {
            snprintf(bad, bad_len, "%.*s", (int)len, p);
            return false;
        }
        (*n)++;
        p += len;
    }
    return true;
}

static bool is_proxy(const char proxies[][INET6_ADDRSTRLEN], size_t n, const char *ip)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(proxies[i], ip) == 0)
            return true;
    return false;
}

void server_forwarded_ip(const char proxies[][INET6_ADDRSTRLEN], size_t n, const char *xff,
                         size_t xff_len, char *out, size_t len)
{
    for (size_t end = xff_len; end > 0;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t from = start;
        while (from < end && xff[from] == ' ')
            from++;
        size_t to = end;
        while (to > from && xff[to - 1] == ' ')
            to--;
        char ip[INET6_ADDRSTRLEN];
        if (!normal_ip(xff + from, to - from, ip))
            break;
        snprintf(out, len, "%s", ip);
        if (!is_proxy(proxies, n, ip))
            break;
        end = start ? start - 1 : 0;
    }
}

/* Every X-Forwarded-For header of the request, in order, joined with commas. */
static enum MHD_Result gather_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    struct buf *b = cls;
    if (value && strcasecmp(key, "X-Forwarded-For") == 0)
        buf_printf(b, "%s%s", b->len ? "," : "", value);
    return MHD_YES;
}

/*
 * The client's address: the peer's, or, when the peer is a trusted proxy, the
 * rightmost address of X-Forwarded-For that is not itself a trusted proxy
 * (what is left of it was written by the client and proves nothing). An
 * entry that is not an address ends the walk at the last good one.
 */
static void client_ip(const struct server *s, struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
    if (!s->n_proxies || !is_proxy(s->proxies, s->n_proxies, out))
        return;
    struct buf xff;
    buf_init(&xff, 4096);
    MHD_get_connection_values(c, MHD_HEADER_KIND, gather_xff, &xff);
    server_forwarded_ip(s->proxies, s->n_proxies, xff.ptr, xff.len, out, len);
    buf_release(&xff);
}

static int64_t guard_now_ms(void)
{
    return clock_mono_us() / 1000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct guard_conn *g = xcalloc(1, sizeof *g);
        g->fd = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
        g->since_ms = guard_now_ms();
        pthread_mutex_lock(&s->guard_lock);
        g->next = s->guard.next;
        g->prev = &s->guard;
        s->guard.next->prev = g;
        s->guard.next = g;
        s->guard_n++;
        pthread_mutex_unlock(&s->guard_lock);
        *socket_context = g;
    } else if (*socket_context) { /* closed: before libmicrohttpd closes the socket */
        struct guard_conn *g = *socket_context;
        pthread_mutex_lock(&s->guard_lock);
        g->prev->next = g->next;
        g->next->prev = g->prev;
        s->guard_n--;
        pthread_mutex_unlock(&s->guard_lock);
        free(g);
        *socket_context = NULL;
    }
}

/* A request's head arrived: its body is read from now. */
static void guard_head(struct server *s, struct guard_conn *g)
{
    pthread_mutex_lock(&s->guard_lock);
    g->in_request = true;
    g->body_ms = guard_now_ms();
    g->body_bytes = 0;
    pthread_mutex_unlock(&s->guard_lock);
}

/* Its body grew by n bytes, or is all there (done). */
static void guard_body(struct server *s, struct guard_conn *g, size_t n, bool done)
{
    pthread_mutex_lock(&s->guard_lock);
    g->body_bytes += n;
    if (done)
        g->body_ms = 0;
    pthread_mutex_unlock(&s->guard_lock);
}

/* Its answer is done: the connection waits for the next head from now. */
static void guard_answered(struct server *s, struct guard_conn *g)
{
    pthread_mutex_lock(&s->guard_lock);
    g->in_request = false;
    g->body_ms = 0;
    g->since_ms = guard_now_ms();
    pthread_mutex_unlock(&s->guard_lock);
}

static void guard_cut(struct guard_conn *g)
{
    if (!g->cut && g->fd != MHD_INVALID_SOCKET)
        shutdown(g->fd, SHUT_RDWR);
    g->cut = true;
}

static void *guard_loop(void *arg)
{
    struct server *s = arg;
    int64_t last_trim_ms = 0;
    for (;;) {
        usleep(200 * 1000);
        pthread_mutex_lock(&s->guard_lock);
        if (s->guard_stop) {
            pthread_mutex_unlock(&s->guard_lock);
            return NULL;
        }
        int64_t now = guard_now_ms();
        size_t live = 0;
        for (struct guard_conn *g = s->guard.next; g != &s->guard; g = g->next) {
            bool late_head = !g->in_request && now - g->since_ms > s->head_deadline_ms;
            int64_t body_allowance =
                s->head_deadline_ms + (int64_t)(g->body_bytes * 1000 / GUARD_BODY_MIN_BYTES_PER_S);
            bool slow_body = g->body_ms && now - g->body_ms > body_allowance;
            if (late_head || slow_body)
                guard_cut(g);
            live += !g->cut;
        }
        /* near the limit, the connections waiting for a head go first, the oldest first (the
         * list is newest first: from its end) */
        size_t room = s->max_connections / 10 + 1;
        for (struct guard_conn *g = s->guard.prev;
             g != &s->guard && live + room > s->max_connections; g = g->prev)
            if (!g->cut && !g->in_request) {
                guard_cut(g);
                live--;
            }
        pthread_mutex_unlock(&s->guard_lock);
        /* Large bodies are done (or nearly): give their memory back to the system, at most
         * once a second. glibc keeps what its per-thread arenas freed, so a burst of big
         * bodies would otherwise hold its peak for good. */
        if (now - last_trim_ms >= 1000 && atomic_load(&s->body_reserved) < s->body_memory / 8 &&
            atomic_exchange(&s->body_trim, false)) {
            malloc_trim(0);
            last_trim_ms = now;
        }
    }
}

/* A file of the front end, or its shell: no database, no session. Revalidated by ETag
 * on every use (no-cache), so a new binary's pages are seen at once. */
static enum MHD_Result serve_web(struct server *s, struct conn_state *cs)
{
    struct req *r = &cs->r;
    const struct web_file *f = cs->web;
    const char *inm = req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && strstr(inm, f->etag) != NULL;
    int status = fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        fresh ? 0 : f->len, fresh ? NULL : (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, web_content_type(f->path));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    security_headers(resp);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    int64_t dur = clock_mono_us() - r->t0_us;
    metrics_observe(METRICS_WEB, status, dur);
    if (s->access_log)
        LOG(LOG_INFO, "access", "method=%s path=%s route=\"web\" status=%d us=%lld ip=%s",
            r->method, r->path ? r->path : "-", status, (long long)dur, r->client_ip);
    return ret;
}

/* on_uri's mark for a request whose target is refused (see there) */
static const char bad_target;

static int hex_digit(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* The request target as it came, before libmicrohttpd decodes it for routing, where an
 * encoded "/" would become a separator and %00 the end of the path: an encoded "/" or
 * control character in the path, or a NUL anywhere, marks the request refused (400). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    bool in_path = true;
    for (const char *p = uri; *p; p++) {
        if (*p == '?')
            in_path = false;
        if (*p != '%' || !isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
            continue;
        int v = hex_digit((unsigned char)p[1]) * 16 + hex_digit((unsigned char)p[2]);
        if (v == 0 || (in_path && (v == '/' || v < 0x20 || v == 0x7f)))
            return (void *)&bad_target;
    }
    return NULL;
}

/* How a request says where its body ends. */
struct framing {
    int lengths;     /* Content-Length headers */
    bool chunked;    /* a Transfer-Encoding header */
    bool has_length; /* the one Content-Length is a number: */
    unsigned long long length;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->lengths++;
        char *end;
        f->length = value ? strtoull(value, &end, 10) : 0;
        f->has_length = value && *value && *end == '\0';
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->chunked = true;
    }
    return MHD_YES;
}

/* Takes memory for a body of `len` bytes (what this request holds already counts), or
 * false if the server's body memory would be passed. */
static bool body_reserve(struct server *s, struct conn_state *cs, size_t len)
{
    size_t want = len > SIZE_MAX / BODY_MEMORY_FACTOR ? SIZE_MAX : len * BODY_MEMORY_FACTOR;
    if (want <= cs->reserved)
        return true;
    size_t more = want - cs->reserved;
    size_t before = atomic_fetch_add(&s->body_reserved, more);
    if (before + more > s->body_memory || before + more < before) {
        atomic_fetch_sub(&s->body_reserved, more);
        return false;
    }
    cs->reserved = want;
    if (want >= BODY_TRIM_BYTES)
        atomic_store(&s->body_trim, true);
    return true;
}

/* Answers a request from its head, before its body is read (libmicrohttpd then closes the
 * connection, the body unread). */
static enum MHD_Result answer_now(struct server *s, struct conn_state *cs, enum err e)
{
    log_set_request_id(cs->r.rid);
    enum MHD_Result ret = queue(s, cs, e);
    log_set_request_id(NULL);
    cs->responded = true;
    return ret;
}

static enum MHD_Result dispatch(struct server *s, struct conn_state *cs)
{
    struct req *r = &cs->r;
    jsonmem_use(&r->arena);
    log_set_request_id(r->rid);
    enum err e = cs->early;
    if (!e && cs->body.overflow)
        e = req_fail(r, ERR_TOO_LARGE, NULL, "the request body is larger than %zu bytes",
                     s->body_limit);
    if (!e && cs->over_budget) {
        r->retry_after_s = 1;
        e = req_fail(r, ERR_RETRY, NULL,
                     "the server is busy receiving other requests' bodies; try again in a "
                     "moment");
    }
    if (!e) {
        r->body = cs->body.ptr;
        r->body_len = cs->body.len;
        e = db_pool_get(&r->db);
    }
    if (!e) {
        db_defer_durable(r->db); /* answered once durable: see below */
        if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
            db_warm_reads(r->db); /* a write's own lookups and answer read a warm cache */
        e = api_authenticate(r);
    }
    if (!e) /* who may call the route: the table's access column, checked here only */
        e = api_access(r);
    if (!e && strcmp(r->method, "GET") != 0 && r->route->body != BODY_RAW)
        e = req_parse_body(r, req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE));
    /* a route that takes no body: nothing, or {} (a client that always sends one) */
    if (!e && r->route->body == BODY_NONE && r->json)
        e = req_body(r, (const char *const[]){NULL});
    /* A transaction that loses a serialization race is run again by db_tx_run(), which
     * every transaction of the domain goes through: the handler runs once. */
    if (!e)
        e = r->route->handler(r);
    if (r->db)
        db_rollback(r->db); /* a handler that failed mid-transaction leaves nothing behind */
    if (e == ERR_OK && r->arena.exhausted)
        e = ERR_TOO_LARGE;
    if (e == ERR_DB || e == ERR_INTERNAL)
        LOG(LOG_ERROR, "request_failed", "code=%s", err_code(e));
    /* answer nothing that is not yet on disk, and no success that did not get there */
    if (r->db && db_await_durable(r->db) != ERR_OK && e == ERR_OK) {
        e = err_set(&r->ei, ERR_UNAVAILABLE, NULL,
                    "the change could not be stored; nothing was saved, try again");
        r->set_cookie = NULL;
    }
    enum MHD_Result ret = queue(s, cs, e);
    log_set_request_id(NULL);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct server *s = cls;
    struct conn_state *cs = *con_cls;

    if (!cs || cs == (void *)&bad_target) {
        bool bad = cs != NULL;
        cs = xcalloc(1, sizeof *cs);
        *con_cls = cs;
        atomic_fetch_add(&in_flight, 1);
        const union MHD_ConnectionInfo *sc =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        cs->g = sc ? sc->socket_context : NULL;
        if (cs->g)
            guard_head(s, cs->g);
        struct req *r = &cs->r;
        arena_init(&r->arena, LIMIT_ARENA_BYTES);
        r->t0_us = clock_mono_us();
        r->conn = conn;
        r->route_idx = -1;
        snprintf(r->rid, sizeof r->rid, "%llx",
                 (unsigned long long)atomic_fetch_add(&next_rid, 1) + 1);
        client_ip(s, conn, r->client_ip, sizeof r->client_ip);
        r->method = arena_strdup(&r->arena, method);
        r->path = arena_strdup(&r->arena, url);
        char *path = arena_strdup(&r->arena, url);
        size_t limit = s->body_limit;
        int idx = path ? router_match(s->routes, s->n_routes, method, path, &r->params) : -1;
        if (idx >= 0) {
            r->route = &s->routes[idx];
            r->route_idx = idx;
            if (r->route->body_limit)
                limit = r->route->body_limit;
        } else if (idx == -1 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
                   (cs->web = web_lookup(url)) != NULL) {
            limit = 0; /* a page's GET carries no body */
        } else {
            cs->early = idx == -2 ? ERR_METHOD_NOT_ALLOWED : ERR_NOT_FOUND;
            if (idx == -2)
                r->allow = router_allow(s->routes, s->n_routes, url, &r->arena);
        }
        buf_init(&cs->body, limit);
        if (atomic_load(&s->stopping)) {
            r->retry_after_s = 1;
            return answer_now(s, cs,
                              req_fail(r, ERR_UNAVAILABLE, NULL,
                                       "the server is stopping; try again in a moment"));
        }
        if (bad)
            return answer_now(s, cs,
                              req_fail(r, ERR_BAD_REQUEST, "path",
                                       "the path encodes a \"/\" or a control character, or the "
                                       "address a NUL (%%2F, %%00): send them as they are"));
        struct framing f = {0};
        MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
        if (f.lengths > 1 || (f.lengths && f.chunked))
            return answer_now(s, cs,
                              req_fail(r, ERR_BAD_REQUEST, "Content-Length",
                                       f.chunked ? "send Content-Length or Transfer-Encoding, "
                                                   "not both"
                                                 : "send one Content-Length header"));
        if (f.has_length && f.length > limit)
            return answer_now(s, cs,
                              req_fail(r, ERR_TOO_LARGE, NULL,
                                       "the request body is larger than %zu bytes", limit));
        if (f.has_length && !body_reserve(s, cs, (size_t)f.length)) {
            r->retry_after_s = 1;
            return answer_now(s, cs,
                              req_fail(r, ERR_RETRY, NULL,
                                       "the server is busy receiving other requests' bodies; "
                                       "try again in a moment"));
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        if (cs->g)
            guard_body(s, cs->g, *upload_data_size, false);
        if (!cs->responded && !cs->body.overflow && !cs->over_budget) {
            /* a body without a Content-Length takes its memory as it grows */
            if (body_reserve(s, cs, cs->body.len + *upload_data_size))
                buf_add(&cs->body, upload_data, *upload_data_size);
            else
                cs->over_budget = true;
        }
        if (cs->body.overflow || cs->over_budget) {
            /* A body without (or beyond) its Content-Length passed the limit. libmicrohttpd
             * cannot answer mid-upload, so the rest is read and dropped, up to a hard cap,
             * and the 413 goes out after the last byte; past the cap the connection is cut.
             * So too for one that ran past the server's body memory (503). */
            cs->discarded += *upload_data_size;
            if (cs->discarded > LIMIT_DISCARD_BYTES)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (cs->responded)
        return MHD_YES;
    cs->responded = true;
    if (cs->g)
        guard_body(s, cs->g, 0, true); /* all of it arrived: the handler's time is its own */
    return cs->web ? serve_web(s, cs) : dispatch(s, cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (!cs)
        return;
    struct server *s = cls;
    if (cs == (void *)&bad_target) { /* refused by its target before it began */
        *con_cls = NULL;
        return;
    }
    if (cs->g)
        guard_answered(s, cs->g);
    if (cs->reserved)
        atomic_fetch_sub(&s->body_reserved, cs->reserved);
    buf_release(&cs->body);
    arena_release(&cs->r.arena);
    free(cs);
    *con_cls = NULL;
    atomic_fetch_sub(&in_flight, 1);
}

enum err server_start(const struct server_options *o, const struct route *routes, size_t n,
                      struct server **out, struct errinfo *ei)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, o->listen, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(o->port);
    } else if (inet_pton(AF_INET6, o->listen, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(o->port);
        flags |= MHD_USE_IPv6;
    } else {
        return err_set(ei, ERR_INVALID, "listen",
                       "config: listen must be an IPv4 or IPv6 address (got \"%s\")", o->listen);
    }
    jsonmem_install();
    struct server *s = xcalloc(1, sizeof *s);
    s->routes = routes;
    s->n_routes = n;
    s->body_limit = o->body_limit;
    /* the largest body one request may send fits, whatever the setting */
    size_t largest = o->body_limit;
    for (size_t i = 0; i < n; i++)
        if (routes[i].body_limit > largest)
            largest = routes[i].body_limit;
    s->body_memory = o->body_memory ? o->body_memory : (size_t)128 << 20;
    if (s->body_memory < largest * BODY_MEMORY_FACTOR)
        s->body_memory = largest * BODY_MEMORY_FACTOR;
    /* Blocks from 128 KiB (bodies, their parse) are mapped on their own and unmapped when
     * freed; the fixed threshold stops glibc from raising it after the first free. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    s->access_log = o->access_log;
    pthread_mutex_init(&s->guard_lock, NULL);
    s->guard.next = s->guard.prev = &s->guard;
    s->head_deadline_ms =
        (int64_t)(o->request_head_timeout_s ? o->request_head_timeout_s : 10) * 1000;
    s->max_connections = o->max_connections;
    char bad[INET6_ADDRSTRLEN + 1];
    if (!server_parse_proxies(o->trusted_proxies, s->proxies, &s->n_proxies, bad, sizeof bad)) {
        free(s);
        return err_set(ei, ERR_INVALID, "trusted_proxies",
                       "trusted_proxies: \"%s\" is not an IPv4 or IPv6 address (at most %d)", bad,
                       SERVER_PROXIES_MAX);
    }
    metrics_init(routes, n);
    s->d = MHD_start_daemon(
        flags, o->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(o->threads ? o->threads : 1), MHD_OPTION_CONNECTION_TIMEOUT,
        o->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!s->d) {
        metrics_release();
        free(s);
        return err_set(ei, ERR_UNAVAILABLE, "port", "cannot listen on %s port %u (in use?)",
                       o->listen, (unsigned)o->port);
    }
    s->guard_running = pthread_create(&s->guard_thread, NULL, guard_loop, s) == 0;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return ERR_OK;
}

uint16_t server_port(const struct server *s)
{
    return s->port;
}

void server_stop(struct server *s, int64_t grace_ms)
{
    if (!s)
        return;
    /* Not MHD_quiesce_daemon(): with a thread pool on epoll, libmicrohttpd 0.9.75 races
     * its own workers taking the listening socket out of their epoll sets and aborts the
     * process ("Failed to remove listen FD from epoll set"). New requests are answered
     * 503 instead while those in flight finish. */
    atomic_store(&s->stopping, true);
    int64_t deadline = clock_mono_us() + grace_ms * 1000;
    while (atomic_load(&in_flight) > 0 && clock_mono_us() < deadline)
        usleep(10 * 1000);
    long left = atomic_load(&in_flight);
    if (left > 0)
        LOG(LOG_WARN, "shutdown_timeout", "requests_in_flight=%ld", left);
    if (s->guard_running) {
        pthread_mutex_lock(&s->guard_lock);
        s->guard_stop = true;
        pthread_mutex_unlock(&s->guard_lock);
        pthread_join(s->guard_thread, NULL);
    }
    MHD_stop_daemon(s->d);
    metrics_release();
    pthread_mutex_destroy(&s->guard_lock);
    free(s);
}
