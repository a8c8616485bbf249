/*
 * fuzz_forwarded.c - the client's address behind trusted proxies: the
 * trusted_proxies setting and the X-Forwarded-For walk.
 *
 * Input: up to the first newline, a trusted_proxies list; the rest, the
 * X-Forwarded-For headers as joined. Invariants: an accepted list holds at
 * most SERVER_PROXIES_MAX addresses, each one an address; the client's
 * address is then the peer's or an address taken from the header.
 */
#include <arpa/inet.h>
#include <string.h>

#include "fuzz.h"
#include "http/server.h"

static bool is_address(const char *s)
{
    unsigned char bin[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t list_len = nl ? (size_t)(nl - (const char *)data) : size;
    char list[512];
    if (list_len >= sizeof list || memchr(data, '\0', list_len))
        return 0;
    memcpy(list, data, list_len);
    list[list_len] = '\0';
    char proxies[SERVER_PROXIES_MAX][INET6_ADDRSTRLEN];
    size_t n = 0;
    char bad[64];
    if (!server_parse_proxies(list, proxies, &n, bad, sizeof bad))
        return 0;
    FUZZ_CHECK(n <= SERVER_PROXIES_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(is_address(proxies[i]));

    const char *xff = nl ? nl + 1 : "";
    size_t xff_len = nl ? size - list_len - 1 : 0;
    char out[64] = "192.0.2.1"; /* the peer (TEST-NET-1: never in a corpus by chance) */
    server_forwarded_ip(proxies, n, xff, xff_len, out, sizeof out);
    if (strcmp(out, "192.0.2.1") != 0)
        FUZZ_CHECK(is_address(out));
    return 0;
}
