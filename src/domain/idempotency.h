/*
 * idempotency.h - Idempotency-Key records for creates (POST /orders).
 *
 * Owns idempotency_keys, keyed by (member, key). A request with a key is
 * decided in the transaction that does its work, so that a create is one
 * commit:
 *   idem_hold()     - first, outside any transaction: false when a request
 *                     with the same key is running in this process (409);
 *   idem_claim()    - in the work's write transaction (on PostgreSQL it
 *                     inserts a 'pending' row there, so that another
 *                     process's twin waits on it and then sees it held):
 *     IDEM_NEW       first use: go ahead, and store the answer with
 *                    idem_store() before committing;
 *     IDEM_REPLAY    the same key and body were answered: send that answer
 *                    (stored whole, or, for a created order, the order as
 *                    it was created: its caller renders it again);
 *     IDEM_MISMATCH  the key was used with another body: 422;
 *     IDEM_IN_FLIGHT another process's request holds the key (409);
 *   idem_unhold()   - when the request is answered.
 * A work that fails leaves no record (its transaction rolls back), so the
 * same key may be tried again. A 'pending' record (kept by versions that
 * claimed in a transaction of their own) counts as in flight until
 * IDEM_STALE_MS, then is taken over. Keys are kept IDEM_KEEP_MS, then purged
 * by a job.
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

/* Marks (user, key) as being served in this process; false if it already is. */
bool idem_hold(int64_t user_id, const char *key);
void idem_unhold(int64_t user_id, const char *key);
/*
 * In the caller's write transaction. On IDEM_REPLAY, *status holds the stored
 * answer's status and *response (in `a`) its body, or NULL and *order_id the
 * order it created. On IDEM_IN_FLIGHT the transaction may be unusable
 * (PostgreSQL): roll it back.
 */
MUST_CHECK enum err idem_claim(struct db *db, int64_t user_id, const char *key, const char *hash,
                               struct arena *a, enum idem_state *state, int *status,
                               const char **response, int64_t *order_id);
/*
 * Stores the answer (`hash`: the request's), in the claim's transaction: its
 * body, or (response NULL) the order it created (order_id).
 */
MUST_CHECK enum err idem_store(struct db *db, int64_t user_id, const char *key, const char *hash,
                               int status, const char *response, int64_t order_id);
MUST_CHECK enum err idem_purge(struct db *db, int64_t now_ms, int64_t *deleted);

#endif
