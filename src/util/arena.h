/*
 * arena.h - bump allocation with a hard cap, one per request.
 *
 * Everything parsed or built for a request lives in its arena and is freed
 * at once when the request ends. The arena never grows past its cap:
 * arena_alloc() then returns NULL and sets `exhausted`, which the HTTP layer
 * turns into 413 instead of letting one request take the machine's memory.
 * Out-of-memory of the process itself aborts (xmalloc).
 */
#ifndef QUANZI_UTIL_ARENA_H
#define QUANZI_UTIL_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
    size_t used_bytes; /* sum of chunk sizes allocated so far */
    size_t cap_bytes;
    bool exhausted;
};

void arena_init(struct arena *a, size_t cap_bytes);
/* Frees every chunk; the arena can be used again after arena_init(). */
void arena_release(struct arena *a);
/* Frees all but the first chunk and rewinds it; keeps the arena usable. */
void arena_reset(struct arena *a);

/* 16-byte aligned memory, or NULL when the cap would be passed. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process-wide allocation that aborts on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
