/*
 * ratelimit.h - fixed-window failure counters kept in memory.
 *
 * Keys are hashed with a random per-process key (SipHash), so nobody can
 * aim collisions at another key. The table is fixed-size, two candidate
 * slots per key: a fresh key takes an empty or expired slot, or one whose
 * key has a single hit; a key with two or more hits in its window is never
 * evicted (under a flood, fresh keys then go uncounted until windows end).
 * Thread-safe.
 */
#ifndef QUANZI_DOMAIN_RATELIMIT_H
#define QUANZI_DOMAIN_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(size_t slots, int64_t window_ms, int64_t max_hits);
void ratelimit_free(struct ratelimit *rl);
/* True when `key` used up its hits in the current window; *retry_after_ms (may be NULL). */
bool ratelimit_blocked(struct ratelimit *rl, const char *key, size_t len, int64_t now_ms,
                       int64_t *retry_after_ms);
void ratelimit_hit(struct ratelimit *rl, const char *key, size_t len, int64_t now_ms);
void ratelimit_clear(struct ratelimit *rl, const char *key, size_t len);

#endif
