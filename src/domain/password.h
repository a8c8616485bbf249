/*
 * password.h - argon2id password hashing through libsodium.
 *
 * Costs come from the config (OWASP: m = 19 MiB, t = 2, p = 1). At most
 * `concurrency` hashes run at once, so a burst of logins cannot take all
 * memory or all cores, and at most as many more wait their turn: past that a
 * hash is refused at once (ERR_RETRY: 503 with Retry-After), so that a flood
 * of logins or sign-ups holds few of the server's workers and reads go on.
 */
#ifndef QUANZI_DOMAIN_PASSWORD_H
#define QUANZI_DOMAIN_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define PASSWORD_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES */

void password_init(int64_t ops, int64_t memory_kib, int concurrency);
void password_release(void);
/* ERR_RETRY when the hash queue is full; ERR_INTERNAL only if libsodium fails (memory). */
MUST_CHECK enum err password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX]);
/* *ok: whether `password` is the one `hash` was made of. ERR_RETRY when the queue is full. */
MUST_CHECK enum err password_verify(const char *hash, const char *password, size_t len, bool *ok);
/* Burns the time of one verification (used when the login does not exist). */
MUST_CHECK enum err password_verify_dummy(const char *password, size_t len);
/* Hashes that wait for a slot, at most; the rest are refused (ERR_RETRY). */
#define PASSWORD_QUEUE_PER_SLOT 1

#endif
