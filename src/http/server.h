/*
 * server.h - the HTTP server: libmicrohttpd with its internal thread pool
 * on epoll, one route table, limits on bodies, connections and time.
 *
 * For each request: route match (404/405), body cap checked on the
 * Content-Length in the first callback (413) and again while reading,
 * authentication through the route's auth mode, strict JSON decoding
 * (duplicate keys, depth > LIMIT_JSON_DEPTH -> 400), the handler, the JSON
 * response or error body, metrics and one access-log line. The response is
 * queued only after the last upload callback, which keeps keep-alive working
 * on libmicrohttpd 0.9.75.
 */
#ifndef QUANZI_HTTP_SERVER_H
#define QUANZI_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "http/router.h"
#include "util/err.h"

#define SESSION_COOKIE "qz_session"

struct server_options {
    const char *listen;
    uint16_t port;
    unsigned threads;
    size_t body_limit;
    size_t body_memory; /* bodies in flight and their parse at most (0: 128 MiB) */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned connection_timeout_s;
    unsigned request_head_timeout_s; /* a request's head must arrive within it (0: 10) */
    bool access_log;
    /* comma-separated addresses of reverse proxies: from these peers the client's
     * address is taken from X-Forwarded-For (NULL or "": from none) */
    const char *trusted_proxies;
};

#define SERVER_PROXIES_MAX 8

/* Parses a trusted_proxies list into normalized addresses; false (naming the entry in
 * `bad`) if an entry is not an IPv4 or IPv6 address or there are too many. */
bool server_parse_proxies(const char *list, char out[][INET6_ADDRSTRLEN], size_t *n, char *bad,
                          size_t bad_len);
/* The client's address behind `n` trusted proxies, from X-Forwarded-For (all of its
 * headers joined with commas, xff_len bytes): the rightmost entry that is not a proxy,
 * walking left over proxies; an entry that is not an address ends the walk. `out`
 * (len bytes) holds the peer's address on entry and is left alone if none is taken. */
void server_forwarded_ip(const char proxies[][INET6_ADDRSTRLEN], size_t n, const char *xff,
                         size_t xff_len, char *out, size_t len);

struct server;

/* Authenticates a request, then checks the route's access column (provided by the api
 * layer: api/auth.c, api/access.c). */
enum err api_authenticate(struct req *r);
MUST_CHECK enum err api_access(struct req *r);

MUST_CHECK enum err server_start(const struct server_options *o, const struct route *routes,
                                 size_t n, struct server **out, struct errinfo *ei);
uint16_t server_port(const struct server *s);
/* Answers new requests 503 with Retry-After, lets those in flight finish (up to grace_ms),
 * then stops. */
void server_stop(struct server *s, int64_t grace_ms);

#endif
