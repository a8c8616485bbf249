/*
 * idempotency.h - Idempotency-Key records for creates (POST /orders).
 *
 * Owns idempotency_keys, keyed by (member, key). idem_claim() runs in its
 * own transaction and decides what a request with a key may do:
 *   IDEM_NEW       - first use: go ahead; store the answer with idem_store()
 *                    inside the transaction that does the work;
 *   IDEM_REPLAY    - the same key and body were answered: send that answer;
 *   IDEM_MISMATCH  - the key was used with another body: 422;
 *   IDEM_IN_FLIGHT - the first request is still being served: 409.
 * A claim whose request never finished (crash) is taken over after
 * IDEM_STALE_MS. idem_release() drops a claim whose request failed in a way
 * worth retrying (5xx). Keys are kept IDEM_KEEP_MS, then purged by a job.
 */
#ifndef QUANZI_DOMAIN_IDEMPOTENCY_H
#define QUANZI_DOMAIN_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

#define IDEM_KEY_MAX 128
#define IDEM_STALE_MS (60 * 1000)
#define IDEM_KEEP_MS (24LL * 60 * 60 * 1000)

enum idem_state { IDEM_NEW, IDEM_REPLAY, IDEM_MISMATCH, IDEM_IN_FLIGHT };

/* false when `key` is empty, longer than IDEM_KEY_MAX or not printable ASCII */
bool idem_key_valid(const char *key);
/* hex SHA-256 of the request body into out[65] */
void idem_hash(const char *body, size_t len, char out[65]);

/* On IDEM_REPLAY, *status and *response (in `a`) hold the stored answer. */
MUST_CHECK enum err idem_claim(struct db *db, int64_t user_id, const char *key, const char *hash,
                               struct arena *a, enum idem_state *state, int *status,
                               const char **response);
/* Stores the answer (in the caller's transaction, or alone). */
MUST_CHECK enum err idem_store(struct db *db, int64_t user_id, const char *key, int status,
                               const char *response);
MUST_CHECK enum err idem_release(struct db *db, int64_t user_id, const char *key);
MUST_CHECK enum err idem_purge(struct db *db, int64_t now_ms, int64_t *deleted);

#endif
