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

bool idem_hold(int64_t user_id, const char *key)
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

void idem_unhold(int64_t user_id, const char *key)
{
    pthread_mutex_lock(&held_lock);
    for (size_t i = 0; i < n_held; i++)
        if (held[i].user_id == user_id && strcmp(held[i].key, key) == 0) {
            held[i] = held[--n_held];
            break;
        }
    pthread_mutex_unlock(&held_lock);
}

enum err idem_claim(struct db *db, int64_t user_id, const char *key, const char *hash,
                    struct arena *a, enum idem_state *state, int *status, const char **response,
                    int64_t *order_id)
{
    static const char get[] = "SELECT request_hash, state, status_code, response, created_at,"
                              " order_id FROM idempotency_keys WHERE user_id = ? AND idem_key = ?";
    static const char ins[] = "INSERT INTO idempotency_keys (user_id, idem_key, request_hash,"
                              " state, created_at) VALUES (?, ?, ?, 'pending', ?)";
    static const char retake[] = "UPDATE idempotency_keys SET created_at = ?"
                                 " WHERE user_id = ? AND idem_key = ? AND state = 'pending'";
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
    if (row) /* a stale claim: its request never finished */
        return db_run(db, retake, DB_INT(now), DB_INT(user_id), DB_STR(key));
    *state = IDEM_NEW;
    /* SQLite runs write transactions one at a time, across processes too: nobody could
     * see a claim before the answer, which idem_store() inserts */
    if (db_kind(db) == DB_SQLITE)
        return ERR_OK;
    e = db_run(db, ins, DB_INT(user_id), DB_STR(key), DB_STR(hash), DB_INT(now));
    if (e == ERR_CONFLICT) { /* another process's twin request holds it */
        *state = IDEM_IN_FLIGHT;
        e = ERR_OK;
    }
    return e;
}

enum err idem_store(struct db *db, int64_t user_id, const char *key, const char *hash, int status,
                    const char *response, int64_t order_id)
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
