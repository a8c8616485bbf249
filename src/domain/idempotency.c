#include "domain/idempotency.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/arena.h"
#include "util/clock.h"

bool idem_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return true;
}

void idem_hash(const char *body, size_t len, char out[65])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)body, len);
    sodium_bin2hex(out, 65, d, sizeof d);
}

/*
 * Requests being served, by (user, key). A handful at a time (one per
 * server thread at most), so a short array under a mutex.
 */
struct held {
    int64_t user_id;
    char key[IDEM_KEY_MAX + 1];
};
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *held;
static size_t n_held, cap_held;

/* Marks (user, key) as being served in this process; false if it already is. */
static bool idem_hold(int64_t user_id, const char *key)
{
    bool ok = true;
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < n_held && ok; i++)
        ok = !(held[i].user_id == user_id && strcmp(held[i].key, key) == 0);
    if (ok) {
        if (n_held == cap_held) {
            cap_held = cap_held ? cap_held * 2 : 64;
            held = xrealloc(held, cap_held * sizeof *held);
        }
        held[n_held].user_id = user_id;
        snprintf(held[n_held].key, sizeof held[n_held].key, "%s", key);
        n_held++;
    }
    pthread_mutex_unlock(&held_lock);
    return ok;
}

static void idem_unhold(int64_t user_id, const char *key)
{
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < n_held; i++)
        if (held[i].user_id == user_id && strcmp(held[i].key, key) == 0) {
            held[i] = held[--n_held];
            break;
        }
    pthread_mutex_unlock(&held_lock);
}

/*
 * In the work's write transaction. On IDEM_REPLAY, *status holds the stored
 * answer's status and *response (in `a`) its body, or NULL and *ref what the
 * work made. On IDEM_IN_FLIGHT the transaction may be unusable (PostgreSQL).
 */
static enum err idem_claim(struct db *db, int64_t user_id, const char *key, const char *hash,
                           struct arena *a, enum idem_state *state, int *status,
                           const char **response, int64_t *order_id)
{
    static const char get[] = "SELECT request_hash, state, status_code, response, created_at,"
                              " order_id FROM idempotency_keys WHERE user_id = ? AND idem_key = ?";
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t now = clock_now_ms();
    enum err e = db_prepare(db, get, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, user_id);
    db_bind_str(st, 2, key);
    e = db_step(st, &row);
    if (e == ERR_OK && row) {
        bool same = strcmp(db_col_text(st, 0, NULL), hash) == 0;
        bool done = strcmp(db_col_text(st, 1, NULL), "done") == 0;
        int64_t at = db_col_int64(st, 4);
        if (!same)
            *state = IDEM_MISMATCH;
        else if (done) {
            *state = IDEM_REPLAY;
            *status = (int)db_col_int64(st, 2);
            *order_id = db_col_is_null(st, 5) ? 0 : db_col_int64(st, 5);
            *response =
                db_col_is_null(st, 3) && *order_id
                    ? NULL
                    : arena_strdup(a, db_col_text(st, 3, NULL) ? db_col_text(st, 3, NULL) : "");
        } else
            *state = now - at < IDEM_STALE_MS ? IDEM_IN_FLIGHT : IDEM_NEW;
    }
    db_done(st);
    if (e || (row && *state != IDEM_NEW))
        return e;
    static const char retake[] = "UPDATE idempotency_keys SET created_at = ?"
                                 " WHERE user_id = ? AND idem_key = ? AND state = 'pending'";
    if (row) /* a stale claim: its request never finished */
        return db_run(db, retake, DB_INT(now), DB_INT(user_id), DB_STR(key));
    *state = IDEM_NEW;
    /* where writes run one at a time (across processes too), nobody could see a
     * claim before the answer, which idem_store() inserts */
    if (db_caps(db)->serial_writes)
        return ERR_OK;
    static const char ins[] = "INSERT INTO idempotency_keys (user_id, idem_key, request_hash,"
                              " state, created_at) VALUES (?, ?, ?, 'pending', ?)";
    e = db_run(db, ins, DB_INT(user_id), DB_STR(key), DB_STR(hash), DB_INT(now));
    if (e == ERR_CONFLICT) { /* another process's twin request holds it */
        *state = IDEM_IN_FLIGHT;
        e = ERR_OK;
    }
    return e;
}

/* Records the answer (`hash`: the request's): its body, or (response NULL) what the work made. */
static enum err idem_store(struct db *db, int64_t user_id, const char *key, const char *hash,
                           int status, const char *response, int64_t order_id)
{
    static const char sql[] =
        "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, state, status_code,"
        " response, created_at, order_id) VALUES (?, ?, ?, 'done', ?, ?, ?, ?)"
        " ON CONFLICT (user_id, idem_key) DO UPDATE SET state = 'done',"
        " status_code = excluded.status_code, response = excluded.response,"
        " order_id = excluded.order_id";
    return db_run(db, sql, DB_INT(user_id), DB_STR(key), DB_STR(hash), DB_INT(status),
                  DB_STR(response), DB_INT(clock_now_ms()), DB_REF(order_id));
}

enum err idem_purge(struct db *db, int64_t now_ms, int64_t *deleted)
{
    static const char sql[] = "DELETE FROM idempotency_keys WHERE created_at < ?";
    return db_run_changes(db, sql, deleted, DB_INT(now_ms - IDEM_KEEP_MS));
}

struct idem_tx {
    struct idem_call *c;
    struct arena *a;
    enum err refused; /* the work's refusal, recorded */
    bool reloaded;    /* a replay read back what the work made */
};

static enum err run_tx(struct db *db, void *arg)
{
    struct idem_tx *t = arg;
    struct idem_call *c = t->c;
    int64_t ref = 0;
    t->refused = ERR_OK;
    t->reloaded = false;
    c->state = IDEM_NEW;
    c->rendered = NULL;
    enum err e = idem_claim(db, c->user_id, c->key, c->hash, t->a, &c->state, &c->status,
                            &c->rendered, &ref);
    if (e)
        return e;
    switch (c->state) {
    case IDEM_REPLAY:
        if (c->rendered)
            return ERR_OK;
        /* orders are never deleted: a missing one is a bug, not a 404 */
        e = c->reload(db, c->ctx, ref);
        t->reloaded = e == ERR_OK;
        return e == ERR_NOT_FOUND ? ERR_INTERNAL : e;
    case IDEM_MISMATCH:
        return ERR_IDEMPOTENCY_MISMATCH; /* nothing to keep */
    case IDEM_IN_FLIGHT:
        return ERR_IDEMPOTENCY_IN_FLIGHT; /* and the transaction may be unusable */
    case IDEM_NEW:
        break;
    }
    if ((e = db_exec(db, "SAVEPOINT idem_work")))
        return e;
    e = c->work(db, c->ctx, &ref);
    if (e == ERR_OK)
        return idem_store(db, c->user_id, c->key, c->hash, c->status, NULL, ref);
    if (err_status(e) >= 500)
        return e; /* nothing is recorded: the same key may try again */
    /* a refusal is an answer too: the same request gets it again */
    enum err refusal = e;
    const char *body = NULL;
    if ((e = db_exec(db, "ROLLBACK TO SAVEPOINT idem_work")))
        return e;
    if (!(body = c->refusal(c->ctx, refusal, t->a)))
        return refusal; /* too large to keep: answered, not recorded */
    if ((e = idem_store(db, c->user_id, c->key, c->hash, err_status(refusal), body, 0)))
        return e;
    t->refused = refusal;
    c->status = err_status(refusal);
    c->rendered = body;
    return ERR_OK;
}

enum err idem_run(struct db *db, struct idem_call *c, struct arena *a)
{
    struct idem_tx t = {.c = c, .a = a};
    int success = c->status;
    if (!idem_hold(c->user_id, c->key)) {
        c->state = IDEM_IN_FLIGHT;
        return ERR_OK;
    }
    enum err e = db_tx_run(db, c->kind, run_tx, &t);
    idem_unhold(c->user_id, c->key);
    if (e == ERR_IDEMPOTENCY_MISMATCH || e == ERR_IDEMPOTENCY_IN_FLIGHT)
        return ERR_OK; /* c->state says which */
    if (e)
        return e;
    if (t.refused)
        return t.refused;
    if (c->state == IDEM_NEW || t.reloaded) {
        if (c->state == IDEM_NEW)
            c->status = success;
        if (!(c->rendered = c->render(c->ctx, a)))
            return ERR_TOO_LARGE;
    }
    return ERR_OK;
}
