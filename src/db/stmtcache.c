#include "db/stmtcache.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/arena.h"

static size_t slot_of(size_t cap, const char *key)
{
    uintptr_t x = (uintptr_t)key;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(x >> 7) & (cap - 1);
}

void stmt_cache_init(struct stmt_cache *c)
{
    c->cap = 64;
    c->len = 0;
    c->keys = xcalloc(c->cap, sizeof *c->keys);
    c->values = xcalloc(c->cap, sizeof *c->values);
}

void *stmt_cache_get(const struct stmt_cache *c, const char *key)
{
    for (size_t j = slot_of(c->cap, key); c->keys[j]; j = (j + 1) & (c->cap - 1))
        if (c->keys[j] == key)
            return c->values[j];
    return NULL;
}

static void insert(const char **keys, void **values, size_t cap, const char *key, void *value)
{
    size_t j = slot_of(cap, key);
    while (keys[j])
        j = (j + 1) & (cap - 1);
    keys[j] = key;
    values[j] = value;
}

void stmt_cache_put(struct stmt_cache *c, const char *key, void *value)
{
    insert(c->keys, c->values, c->cap, key, value);
    if (++c->len * 2 <= c->cap)
        return;
    size_t cap = c->cap * 2;
    const char **keys = xcalloc(cap, sizeof *keys);
    void **values = xcalloc(cap, sizeof *values);
    for (size_t i = 0; i < c->cap; i++)
        if (c->keys[i])
            insert(keys, values, cap, c->keys[i], c->values[i]);
    free(c->keys);
    free(c->values);
    c->keys = keys;
    c->values = values;
    c->cap = cap;
}

void stmt_cache_release(struct stmt_cache *c, void (*fn)(void *value))
{
    for (size_t i = 0; i < c->cap; i++)
        if (c->keys[i])
            fn(c->values[i]);
    free(c->keys);
    free(c->values);
    c->keys = NULL;
    c->values = NULL;
    c->cap = c->len = 0;
}
