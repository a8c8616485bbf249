#include "db/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "util/arena.h"
#include "util/log.h"

static struct db_options pool_opt;
static char *pool_url;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db **pool_conns;
static size_t pool_len, pool_cap;
static _Thread_local struct db *tls_db;
static _Thread_local unsigned tls_generation;
static _Atomic unsigned pool_generation = 1; /* bumped when connections are closed */

void db_pool_init(const struct db_options *opt)
{
    pthread_mutex_lock(&pool_lock);
    free(pool_url);
    pool_opt = *opt;
    pool_url = xstrdup(opt->url);
    pool_opt.url = pool_url;
    pool_generation++;
    pthread_mutex_unlock(&pool_lock);
}

enum err db_pool_get(struct db **out)
{
    unsigned gen = atomic_load_explicit(&pool_generation, memory_order_acquire);
    if (tls_db && tls_generation == gen) {
        if (db_alive(tls_db)) {
            *out = tls_db;
            return ERR_OK;
        }
        /* the connection was lost: drop it and open a new one */
        pthread_mutex_lock(&pool_lock);
        for (size_t i = 0; i < pool_len; i++)
            if (pool_conns[i] == tls_db) {
                pool_conns[i] = pool_conns[--pool_len];
                break;
            }
        pthread_mutex_unlock(&pool_lock);
        db_close(tls_db);
        tls_db = NULL;
        LOG(LOG_WARN, "db_reconnect", "msg=\"reopening a lost database connection\"");
    }
    struct errinfo ei = {0};
    struct db *db = NULL;
    enum err e = db_open(&pool_opt, &db, &ei);
    if (e != ERR_OK) {
        LOG(LOG_ERROR, "db_open_failed", "msg=\"%s\"", ei.message);
        return ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&pool_lock);
    if (pool_len == pool_cap) {
        pool_cap = pool_cap ? pool_cap * 2 : 16;
        pool_conns = xrealloc(pool_conns, pool_cap * sizeof *pool_conns);
    }
    pool_conns[pool_len++] = db;
    pthread_mutex_unlock(&pool_lock);
    tls_db = db;
    tls_generation = gen;
    *out = db;
    return ERR_OK;
}

void db_pool_close_all(void)
{
    pthread_mutex_lock(&pool_lock);
    for (size_t i = 0; i < pool_len; i++)
        db_close(pool_conns[i]);
    free(pool_conns);
    pool_conns = NULL;
    pool_len = pool_cap = 0;
    free(pool_url);
    pool_url = NULL;
    pool_generation++; /* stale thread-locals are never used again */
    pthread_mutex_unlock(&pool_lock);
}
