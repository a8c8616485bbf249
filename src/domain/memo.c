#include "domain/memo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/clock.h"

#define SLOTS 512

struct entry {
    int64_t id; /* 0: empty */
    uint64_t gen;
    int64_t stored_us;
    char *bytes;
    size_t len;
};

static _Atomic uint64_t generation[MEMO_KINDS];
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void free_table(void *p)
{
    struct entry *t = p;
    for (size_t i = 0; i < MEMO_KINDS * SLOTS; i++)
        free(t[i].bytes);
    free(t);
}

static void make_key(void)
{
    (void)pthread_key_create(&key, free_table);
}

static struct entry *slot(enum memo_kind k, int64_t id)
{
    pthread_once(&once, make_key);
    struct entry *t = pthread_getspecific(key);
    if (!t) {
        t = xcalloc(MEMO_KINDS * SLOTS, sizeof *t);
        (void)pthread_setspecific(key, t);
    }
    return &t[(size_t)k * SLOTS + (uint64_t)id % SLOTS];
}

void memo_invalidate(enum memo_kind k)
{
    atomic_fetch_add_explicit(&generation[k], 1, memory_order_release);
}

const char *memo_get(enum memo_kind k, int64_t id, size_t *len)
{
    struct entry *e = slot(k, id);
    if (e->id != id || !e->bytes ||
        e->gen != atomic_load_explicit(&generation[k], memory_order_acquire) ||
        clock_mono_us() - e->stored_us >= MEMO_TTL_MS * 1000)
        return NULL;
    *len = e->len;
    return e->bytes;
}

void memo_put(enum memo_kind k, int64_t id, const char *bytes, size_t len)
{
    struct entry *e = slot(k, id);
    free(e->bytes);
    e->bytes = xmalloc(len + 1);
    memcpy(e->bytes, bytes, len);
    e->bytes[len] = '\0';
    e->len = len;
    e->id = id;
    e->gen = atomic_load_explicit(&generation[k], memory_order_acquire);
    e->stored_us = clock_mono_us();
}
