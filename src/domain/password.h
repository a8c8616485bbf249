/*
 * password.h - argon2id password hashing through libsodium.
 *
 * Costs come from the config (OWASP: m = 19 MiB, t = 2, p = 1). At most
 * `concurrency` hashes run at once, so a burst of logins cannot take all
 * memory or all cores; others wait their turn.
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
/* ERR_INTERNAL only if libsodium fails (out of memory). */
MUST_CHECK enum err password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX]);
bool password_verify(const char *hash, const char *password, size_t len);
/* Burns the time of one verification (used when the login does not exist). */
void password_verify_dummy(const char *password, size_t len);

#endif
