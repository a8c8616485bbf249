#include "domain/jobs.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "db/pool.h"
#include "domain/account.h"
#include "domain/commission.h"
#include "domain/idempotency.h"
#include "domain/order.h"
#include "domain/wechatpay.h"
#include "render/poster.h"
#include "util/clock.h"
#include "util/log.h"

typedef enum err (*job_fn)(struct db *db, int64_t now_ms, int64_t *affected);

struct job {
    const char *name;
    int64_t interval_ms;
    job_fn fn;
};

static enum err job_purge_sessions(struct db *db, int64_t now_ms, int64_t *affected)
{
    return account_purge_sessions(db, now_ms, affected);
}

static enum err job_purge_idempotency(struct db *db, int64_t now_ms, int64_t *affected)
{
    return idem_purge(db, now_ms, affected);
}

/* RULE: PENDING-THEN-SETTLED - scheduled, and `quanzi settle` */
static enum err job_settle(struct db *db, int64_t now_ms, int64_t *affected)
{
    return commission_settle(db, now_ms, COMMISSION_SETTLE_BATCH, affected);
}

/* Posters are a cache: one not asked for again is drawn again when it is. */
const char *jobs_posters_dir;
static enum err job_prune_posters(struct db *db, int64_t now_ms, int64_t *affected)
{
    (void)db;
    if (!jobs_posters_dir)
        return ERR_OK;
    return poster_prune(jobs_posters_dir, now_ms - JOBS_POSTER_DAYS * MS_PER_DAY, affected);
}

/* WeChat Pay payments nobody told us about: asked of WeChat Pay after five minutes */
static enum err job_reconcile_wechatpay(struct db *db, int64_t now_ms, int64_t *affected)
{
    (void)now_ms;
    return wechatpay_reconcile(db, WECHATPAY_RECONCILE_AGE_MS, affected);
}

#define MINUTE (60 * 1000)

static const struct job table[] = {
    {"cancel_unpaid_orders", MINUTE, order_cancel_unpaid},
    {"auto_receive_orders", 10 * MINUTE, order_auto_receive},
    {"complete_orders", 10 * MINUTE, order_complete_due},
    {"settle_commissions", 10 * MINUTE, job_settle},
    {"purge_sessions", 60 * MINUTE, job_purge_sessions},
    {"purge_idempotency_keys", 60 * MINUTE, job_purge_idempotency},
    {"prune_posters", 24 * 60 * MINUTE, job_prune_posters},
    {"reconcile_wechatpay", 5 * MINUTE, job_reconcile_wechatpay},
};
#define N_JOBS (sizeof table / sizeof table[0])
_Static_assert(N_JOBS <= JOBS_MAX, "job table");

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t next_due_ms[N_JOBS]; /* 0: due at once */

static pthread_t thread;
static bool running;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stopping;

size_t jobs_count(void)
{
    return N_JOBS;
}

const char *jobs_name(size_t i)
{
    return i < N_JOBS ? table[i].name : NULL;
}

static void run_one(struct db *db, size_t i, int64_t now, struct job_run *run)
{
    int64_t t0 = clock_mono_us();
    run->name = table[i].name;
    run->affected = 0;
    run->result = table[i].fn(db, now, &run->affected);
    next_due_ms[i] = now + table[i].interval_ms;
    LOG(run->result ? LOG_ERROR : LOG_INFO, "job_run", "job=%s affected=%lld result=%s us=%lld",
        run->name, (long long)run->affected, err_code(run->result),
        (long long)(clock_mono_us() - t0));
}

size_t jobs_run_due(struct db *db, struct job_run runs[JOBS_MAX])
{
    size_t n = 0;
    pthread_mutex_lock(&run_lock);
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < N_JOBS; i++)
        if (next_due_ms[i] <= now)
            run_one(db, i, now, &runs[n++]);
    pthread_mutex_unlock(&run_lock);
    return n;
}

enum err jobs_run_now(struct db *db, const char *name, struct job_run *run)
{
    for (size_t i = 0; i < N_JOBS; i++) {
        if (strcmp(table[i].name, name) == 0) {
            pthread_mutex_lock(&run_lock);
            run_one(db, i, clock_now_ms(), run);
            pthread_mutex_unlock(&run_lock);
            return run->result;
        }
    }
    return ERR_NOT_FOUND;
}

static void *scheduler(void *arg)
{
    (void)arg;
    struct job_run runs[JOBS_MAX];
    pthread_mutex_lock(&wake_lock);
    while (!stopping) {
        pthread_mutex_unlock(&wake_lock);
        struct db *db = NULL;
        if (db_pool_get(&db) == ERR_OK)
            (void)jobs_run_due(db, runs);
        pthread_mutex_lock(&wake_lock);
        if (stopping)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&wake, &wake_lock, &ts);
    }
    pthread_mutex_unlock(&wake_lock);
    return NULL;
}

void jobs_start(void)
{
    stopping = false;
    if (pthread_create(&thread, NULL, scheduler, NULL) == 0)
        running = true;
}

void jobs_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&wake_lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&wake_lock);
    pthread_join(thread, NULL);
    running = false;
}
