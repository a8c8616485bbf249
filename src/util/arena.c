#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_FIRST_CHUNK (16 * 1024)
#define ALIGN 16

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t off;
    _Alignas(ALIGN) unsigned char data[];
};

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("fatal: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("fatal: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("fatal: out of memory\n", stderr);
        abort();
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

void arena_init(struct arena *a, size_t cap_bytes)
{
    a->head = NULL;
    a->used_bytes = 0;
    a->cap_bytes = cap_bytes;
    a->exhausted = false;
}

void arena_release(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used_bytes = 0;
    a->exhausted = false;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head;
    if (!c)
        return;
    /* keep the oldest (first) chunk: it is the last in the list */
    struct arena_chunk *keep = c;
    while (keep->next)
        keep = keep->next;
    while (c != keep) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    keep->off = 0;
    a->head = keep;
    a->used_bytes = keep->size;
    a->exhausted = false;
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n)
        goto fail;
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->off < need) {
        size_t size = c ? c->size * 2 : ARENA_FIRST_CHUNK;
        if (size < need)
            size = need;
        if (a->used_bytes + size > a->cap_bytes) {
            size = need; /* last resort: exactly what is needed */
            if (a->used_bytes + size > a->cap_bytes || size > a->cap_bytes)
                goto fail;
        }
        c = xmalloc(sizeof *c + size);
        c->next = a->head;
        c->size = size;
        c->off = 0;
        a->head = c;
        a->used_bytes += size;
    }
    void *p = c->data + c->off;
    c->off += need;
    return p;
fail:
    a->exhausted = true;
    return NULL;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
