/*
 * bench_store_orders - the order path without HTTP: what the store alone can do.
 *
 *   bench_store_orders DB_PATH [SECONDS] [THREADS]
 *
 * Seeds an empty SQLite database (migrated here) with one shop, one product
 * and 200 buyers, then runs THREADS threads (default 8, as the server on 2
 * cores) for SECONDS (default 5). Each thread does what the server does for
 * the order flow of bench/orders.sh, request by request, with the server's
 * group commit (durable before each "answer"): create an order under a fresh
 * Idempotency-Key (the order read back and stored as the answer), then look
 * up who may act on it, confirm its payment and read it back. Prints orders/s
 * and this process's CPU time per order; the gap to bench/orders.sh is the
 * cost of HTTP, JSON, authentication and the load generator.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "db/db.h"
#include "db/migrate.h"
#include "domain/idempotency.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "util/clock.h"
#include "util/log.h"

#define BUYERS 200

static const char *db_path;
static atomic_bool stop;
static atomic_long orders, failures;

/* The create under its key, as the server runs it (api/orders.c), with a small answer. */
static const char *render(struct order_keyed *k, struct arena *a)
{
    char *s = arena_alloc(a, 64);
    if (s)
        snprintf(s, 64, "{\"id\":%lld,\"total_fen\":%lld}", (long long)k->out.id,
                 (long long)k->out.total_fen);
    return s;
}

static const char *refusal(struct order_keyed *k, enum err e, struct arena *a)
{
    (void)k;
    return arena_strdup(a, err_code(e));
}

static void *worker(void *arg)
{
    int tid = (int)(intptr_t)arg;
    struct db_options opt = {
        .url = db_path, .sync = DB_SYNC_FULL, .busy_timeout_ms = 5000, .group_commit = true};
    struct errinfo ei = {0};
    struct db *db = NULL;
    if (db_open(&opt, &db, &ei) != ERR_OK) {
        fprintf(stderr, "bench_store_orders: %s\n", ei.message);
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    struct order_item_in item = {.product_id = 1, .qty = 1};
    for (long n = 0; !atomic_load(&stop); n++) {
        struct arena a;
        arena_init(&a, 1 << 20);
        char key[48], hash[65];
        snprintf(key, sizeof key, "s-%d-%ld", tid, n);
        struct order_new in = {.shop_id = 1,
                               .buyer_id = 2 + (tid * 7 + n) % BUYERS,
                               .items = &item,
                               .n_items = 1,
                               .address = {.name = "压测",
                                           .name_len = 6,
                                           .phone = "13800000000",
                                           .phone_len = 11,
                                           .region = "北京",
                                           .region_len = 6,
                                           .line = "1号",
                                           .line_len = 4}};
        idem_hash(key, strlen(key), hash);
        struct order_keyed k = {
            .in = &in, .a = &a, .ei = &ei, .render = render, .refusal = refusal};
        int64_t id = 0;
        struct order o;
        /* request 1: the create */
        db_defer_durable(db);
        db_warm_reads(db);
        enum err e = order_create_keyed(db, &k, key, hash);
        id = k.out.id;
        enum err durable = db_await_durable(db);
        if (!e)
            e = durable;
        /* request 2: the shop confirms the payment, and is answered the order */
        db_defer_durable(db);
        db_warm_reads(db);
        /* who may confirm is checked in the payment's transaction, as the server does */
        struct payment p = {.provider = "offline",
                            .order_id = id,
                            .actor_id = 1,
                            .by_shop = true,
                            .out = &o,
                            .out_arena = &a};
        if (!e)
            e = payment_apply(db, &p, &ei);
        durable = db_await_durable(db);
        if (!e)
            e = durable;
        arena_release(&a);
        if (e) {
            if (atomic_fetch_add(&failures, 1) < 3)
                fprintf(stderr, "bench_store_orders: %s %s\n", err_code(e), ei.message);
        } else {
            atomic_fetch_add(&orders, 1);
        }
    }
    db_close(db);
    return NULL;
}

static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_store_orders DB_PATH [SECONDS] [THREADS]\n");
        return 2;
    }
    db_path = argv[1];
    log_set_level(LOG_WARN); /* the server's bench runs without an access log too */
    int secs = argc > 2 ? atoi(argv[2]) : 5;
    int threads = argc > 3 ? atoi(argv[3]) : 8;
    if (secs < 1 || threads < 1 || threads > 256)
        return 2;
    struct db_options opt = {.url = db_path, .sync = DB_SYNC_FULL, .busy_timeout_ms = 5000};
    struct errinfo ei = {0};
    struct db *db = NULL;
    int applied = 0;
    if (db_open(&opt, &db, &ei) != ERR_OK || migrate_run(db, &applied, &ei) != ERR_OK) {
        fprintf(stderr, "bench_store_orders: %s\n", ei.message);
        return 1;
    }
    static const char seed[] =
        "INSERT INTO users (login, password_hash, display_name, is_admin, created_at)"
        " WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 201)"
        " SELECT 'bench' || x, 'x', 'B' || x, 0, 0 FROM c;"
        "INSERT INTO shops (owner_id, name, slug, story, trial_ends_at, l1_bps, l2_bps,"
        " settle_days, binding_days, similarity_milli, promoter_auto_approve, created_at,"
        " updated_at, buyer_cap_30d, unpaid_timeout_min)"
        " VALUES (1, 'Bench', 'bench', '', 0, 1000, 500, 7, 30, 300, 1, 0, 0, 1000000, 1440);"
        "INSERT INTO shop_roles (shop_id, user_id, role, created_at) VALUES (1, 1, 'owner', 0);"
        "INSERT INTO products (shop_id, title, description, price_fen, stock, sold, stock_in,"
        " status, created_at, updated_at) VALUES (1, '核桃', '', 1000, 100000000, 0, 100000000,"
        " 'on_sale', 0, 0)";
    if (db_exec(db, seed) != ERR_OK) {
        fprintf(stderr, "bench_store_orders: seed: %s\n", db_errmsg(db));
        return 1;
    }
    db_close(db);

    pthread_t *t = calloc((size_t)threads, sizeof *t);
    int64_t cpu0 = cpu_us(), t0 = clock_mono_us();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    struct timespec ts = {.tv_sec = secs};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    int64_t us = clock_mono_us() - t0, cpu = cpu_us() - cpu0;
    long n = atomic_load(&orders);
    printf("store only (SQLite, durable group commit), %d threads, %d s: %ld orders, %.0f orders/s,"
           " %lld us CPU per order, %ld failures\n",
           threads, secs, n, (double)n * 1e6 / (double)us, n ? (long long)(cpu / n) : 0LL,
           atomic_load(&failures));
    free(t);
    return atomic_load(&failures) != 0;
}
