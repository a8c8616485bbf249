#include "domain/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

struct slot {
    uint64_t key_hash; /* 0: empty */
    int64_t window_start_ms;
    int64_t hits;
};

struct ratelimit {
    pthread_mutex_t lock;
    struct slot *slots;
    size_t len; /* power of two */
    int64_t window_ms;
    int64_t max_hits;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

struct ratelimit *ratelimit_new(size_t slots, int64_t window_ms, int64_t max_hits)
{
    struct ratelimit *rl = xcalloc(1, sizeof *rl);
    size_t n = 64;
    while (n < slots)
        n *= 2;
    rl->slots = xcalloc(n, sizeof *rl->slots);
    rl->len = n;
    rl->window_ms = window_ms;
    rl->max_hits = max_hits;
    crypto_shorthash_keygen(rl->hash_key);
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->slots);
    free(rl);
}

static uint64_t hash_of(const struct ratelimit *rl, const char *key, size_t len)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)key, len, rl->hash_key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h ? h : 1;
}

/* Two candidate slots per key; returns the one holding it, or NULL. */
static struct slot *lookup(struct ratelimit *rl, uint64_t h, struct slot **free_slot,
                           int64_t now_ms)
{
    struct slot *a = &rl->slots[h & (rl->len - 1)];
    struct slot *b = &rl->slots[(h >> 32) & (rl->len - 1)];
    if (a->key_hash == h)
        return a;
    if (b->key_hash == h)
        return b;
    if (free_slot) {
        bool a_dead = !a->key_hash || now_ms - a->window_start_ms >= rl->window_ms;
        bool b_dead = !b->key_hash || now_ms - b->window_start_ms >= rl->window_ms;
        *free_slot = a_dead ? a : b_dead ? b : (a->hits <= b->hits ? a : b);
    }
    return NULL;
}

bool ratelimit_blocked(struct ratelimit *rl, const char *key, size_t len, int64_t now_ms,
                       int64_t *retry_after_ms)
{
    uint64_t h = hash_of(rl, key, len);
    bool blocked = false;
    pthread_mutex_lock(&rl->lock);
    struct slot *s = lookup(rl, h, NULL, now_ms);
    if (s && now_ms - s->window_start_ms < rl->window_ms && s->hits >= rl->max_hits) {
        blocked = true;
        if (retry_after_ms)
            *retry_after_ms = s->window_start_ms + rl->window_ms - now_ms;
    }
    pthread_mutex_unlock(&rl->lock);
    return blocked;
}

void ratelimit_hit(struct ratelimit *rl, const char *key, size_t len, int64_t now_ms)
{
    uint64_t h = hash_of(rl, key, len);
    pthread_mutex_lock(&rl->lock);
    struct slot *victim = NULL;
    struct slot *s = lookup(rl, h, &victim, now_ms);
    if (!s) {
        s = victim;
        bool live = s->key_hash && now_ms - s->window_start_ms < rl->window_ms;
        if (live && s->hits > 1) {
            /* never evict a key that is being counted up for a fresh one */
            pthread_mutex_unlock(&rl->lock);
            return;
        }
        s->key_hash = h;
        s->window_start_ms = now_ms;
        s->hits = 0;
    } else if (now_ms - s->window_start_ms >= rl->window_ms) {
        s->window_start_ms = now_ms;
        s->hits = 0;
    }
    s->hits++;
    pthread_mutex_unlock(&rl->lock);
}

void ratelimit_clear(struct ratelimit *rl, const char *key, size_t len)
{
    uint64_t h = hash_of(rl, key, len);
    pthread_mutex_lock(&rl->lock);
    struct slot *s = lookup(rl, h, NULL, 0);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&rl->lock);
}
