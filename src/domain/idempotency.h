/*
 * idempotency.h - writes run under an Idempotency-Key (POST /orders now, the
 * money endpoints next): the one owner of claiming a key, running the work,
 * recording its answer and replaying it.
 *
 * Owns idempotency_keys, keyed by (member, key). idem_run() decides a key in
 * the transaction that does the work, so that a create is one commit:
 *   - a request with the same key running in this process: IDEM_IN_FLIGHT
 *     (409), nothing run;
 *   - first use (IDEM_NEW): the work runs; its answer is recorded with it,
 *     a success as the id of what it made (rendered after the commit, and
 *     again for a replay from that row as it was made), a refusal (a 4xx) as
 *     its rendered body, its writes undone but the record kept;
 *   - the same key and body answered before (IDEM_REPLAY): that answer;
 *   - the key used with another body (IDEM_MISMATCH): 422;
 *   - another process's request holds the key (IDEM_IN_FLIGHT, PostgreSQL,
 *     where a claim row is written at once for the twin to wait on).
 * A work that fails otherwise (5xx) leaves no record, so the same key may be
 * tried again. A 'pending' record (kept by versions that claimed in a
 * transaction of their own) counts as in flight until IDEM_STALE_MS, then is
 * taken over. Keys are kept IDEM_KEEP_MS, then purged by a job.
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

/* A write under a key: what to run, and (out) how it was answered. */
struct idem_call {
    int64_t user_id;
    const char *key;  /* valid (idem_key_valid) */
    const char *hash; /* of the request (idem_hash) */
    enum db_tx kind;  /* of the work's transaction */
    int status;       /* in: that of a success (201 for a create); out: that of the answer */
    void *ctx;        /* the callbacks' */
    /* The work, inside the transaction (it may run again: db_tx_run): ERR_OK and
     * *ref, the id of what it made, or a refusal (a 4xx) explained in ctx. */
    enum err (*work)(struct db *db, void *ctx, int64_t *ref);
    /* A replay: reads what the work made (ref) back into ctx, as it was made. */
    enum err (*reload)(struct db *db, void *ctx, int64_t ref);
    /* The answer of a success, from ctx (in `a`), after the commit; NULL: too large. */
    const char *(*render)(void *ctx, struct arena *a);
    /* The answer of the refusal e; NULL: too large (then nothing is recorded). */
    const char *(*refusal)(void *ctx, enum err e, struct arena *a);

    enum idem_state state; /* out */
    const char *rendered;  /* out: the answer of a success or replay, in `a` */
};

/*
 * Runs c->work under c->key (see above). Returns ERR_OK with c->state:
 * IDEM_NEW or IDEM_REPLAY with c->status and c->rendered the answer,
 * IDEM_MISMATCH or IDEM_IN_FLIGHT with nothing run; or the work's refusal
 * (recorded, and the same answer for a replay: c->rendered holds it too), or
 * a store error (nothing recorded).
 */
MUST_CHECK enum err idem_run(struct db *db, struct idem_call *c, struct arena *a);
MUST_CHECK enum err idem_purge(struct db *db, int64_t now_ms, int64_t *deleted);

#endif
