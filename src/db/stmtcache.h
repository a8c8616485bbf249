/*
 * stmtcache.h - a connection's prepared statements, keyed by the address of
 * their SQL text (open addressing, grows at half full). Shared by the
 * drivers; the values are the drivers' own statement objects.
 */
#ifndef QUANZI_DB_STMTCACHE_H
#define QUANZI_DB_STMTCACHE_H

#include <stddef.h>

struct stmt_cache {
    const char **keys;
    void **values;
    size_t cap, len;
};

void stmt_cache_init(struct stmt_cache *c);
/* The value stored for `key`, or NULL. */
void *stmt_cache_get(const struct stmt_cache *c, const char *key);
/* Stores `value` for a key not yet present. */
void stmt_cache_put(struct stmt_cache *c, const char *key, void *value);
/* Calls `fn` on every value, then frees the table. */
void stmt_cache_release(struct stmt_cache *c, void (*fn)(void *value));

#endif
