/*
 * The crash test: concurrent clients create, pay, ship and cancel orders and ask for
 * withdrawals while the server is killed with SIGKILL at a random moment, again and again
 * on the same database. After each restart:
 *   - every acknowledged order is there in at least its acknowledged state (paid stays paid
 *     or later, a cancellation stays), and every acknowledged withdrawal is there;
 *   - an order request that got no answer, sent again with its Idempotency-Key, is answered
 *     201 and twice the same order: the orders stored are exactly the ones the clients know;
 *   - PRAGMA integrity_check (SQLite) and `quanzi ledger check` pass.
 *
 *   test_crash [--cycles N] [--seed S]   (QUANZI_CRASH_CYCLES, default 4; QUANZI_CRASH_SEED)
 * `make crash` runs 100 cycles.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "harness.h"

#define DAY 86400000LL
#define BUYERS 8
#define PROMOTERS 2
#define THREADS 6
#define ADDR                                                                                       \
    "\"address\":{\"name\":\"王五\",\"phone\":\"13800000000\",\"region\":\"杭州市\","         \
    "\"line\":\"文三路2号\"}"

enum state { CREATED, PAID, SHIPPED, CANCELLED };
static const char *const STATE_SQL = "CASE status WHEN 'created' THEN 0 WHEN 'paid' THEN 1"
                                     " WHEN 'shipped' THEN 2 WHEN 'cancelled' THEN 3 ELSE 9 END";

struct order {
    int64_t id;
    enum state acked; /* the furthest state an answer acknowledged */
    bool busy;        /* a worker is acting on it */
};

struct unanswered {
    char key[48];
    int buyer;
};

static struct {
    struct srv s;
    char url[sizeof((struct srv *)0)->db_url];
    char *owner, *buyers[BUYERS], *promoters[PROMOTERS];
    int64_t shop, product;
    pthread_mutex_t lock;
    struct order *orders;
    size_t n_orders, cap;
    struct unanswered *lost; /* order requests of this cycle without an answer */
    size_t n_lost, lost_cap;
    long withdrawals_acked, withdrawals_unanswered;
    atomic_long acks; /* answers that acknowledged a write, this cycle */
    atomic_bool stop;
    int cycle;
} W;

static unsigned long long seed;
static char first_dir[sizeof W.s.dir]; /* the first server's, which holds the database */
static int setup_orders;               /* delivered in the set-up, outside the check */

static const char *order_body(void)
{
    return fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}]," ADDR "}",
               (long long)W.shop, (long long)W.product);
}

static long create_order(int buyer, const char *key, struct resp *r)
{
    char h[96];
    snprintf(h, sizeof h, "Idempotency-Key: %s", key);
    const char *hs[] = {h, NULL};
    return http_ex(&W.s, "POST", "/api/v1/orders", W.buyers[buyer], order_body(), hs, r);
}

static void add_order(int64_t id, enum state st)
{
    pthread_mutex_lock(&W.lock);
    if (W.n_orders == W.cap) {
        W.cap = W.cap ? W.cap * 2 : 256;
        W.orders = realloc(W.orders, W.cap * sizeof *W.orders);
    }
    W.orders[W.n_orders++] = (struct order){.id = id, .acked = st};
    pthread_mutex_unlock(&W.lock);
}

/* A random order acknowledged in `st` that nobody is acting on, marked busy; -1 if none. */
static long take_order(unsigned *rs, enum state st)
{
    long found = -1;
    pthread_mutex_lock(&W.lock);
    for (int tries = 0; tries < 8 && W.n_orders && found < 0; tries++) {
        size_t i = W.n_orders - 1 - (size_t)rand_r(rs) % (W.n_orders < 64 ? W.n_orders : 64);
        if (!W.orders[i].busy && W.orders[i].acked == st) {
            W.orders[i].busy = true;
            found = (long)i;
        }
    }
    pthread_mutex_unlock(&W.lock);
    return found;
}

static void release_order(long i, long status, enum state to)
{
    pthread_mutex_lock(&W.lock);
    if (status == 200 && to > W.orders[i].acked)
        W.orders[i].acked = to;
    W.orders[i].busy = false;
    pthread_mutex_unlock(&W.lock);
}

struct worker {
    int id;
    unsigned rs;
};

static void *worker(void *arg)
{
    struct worker *wk = arg;
    struct resp r;
    for (int i = 0; !atomic_load(&W.stop); i++) {
        int op = rand_r(&wk->rs) % 10;
        long status;
        if (op < 4) { /* a new order */
            int b = rand_r(&wk->rs) % BUYERS;
            char key[48];
            snprintf(key, sizeof key, "c%d-t%d-%d", W.cycle, wk->id, i);
            status = create_order(b, key, &r);
            if (status == 201) {
                add_order(jint(r.json, "id"), CREATED);
                atomic_fetch_add(&W.acks, 1);
            } else if (status < 0) {
                pthread_mutex_lock(&W.lock);
                if (W.n_lost == W.lost_cap) {
                    W.lost_cap = W.lost_cap ? W.lost_cap * 2 : 16;
                    W.lost = realloc(W.lost, W.lost_cap * sizeof *W.lost);
                }
                struct unanswered *u = &W.lost[W.n_lost++];
                snprintf(u->key, sizeof u->key, "%s", key);
                u->buyer = b;
                pthread_mutex_unlock(&W.lock);
            }
            resp_free(&r);
        } else if (op < 8) { /* pay, ship or cancel */
            enum state from = op < 6 ? CREATED : op == 6 ? PAID : CREATED;
            enum state to = op < 6 ? PAID : op == 6 ? SHIPPED : CANCELLED;
            long k = take_order(&wk->rs, from);
            if (k < 0)
                continue;
            int64_t id = W.orders[k].id;
            if (to == PAID)
                status =
                    http(&W.s, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)id),
                         W.owner, NULL, &r);
            else if (to == SHIPPED)
                status = http(&W.s, "POST", fmt("/api/v1/orders/%lld/ship", (long long)id), W.owner,
                              "{\"carrier\":\"顺丰\",\"tracking\":\"SF1\"}", &r);
            else /* the shop cancels for the buyer: either may */
                status = http(&W.s, "POST", fmt("/api/v1/orders/%lld/cancel", (long long)id),
                              W.owner, NULL, &r);
            resp_free(&r);
            release_order(k, status, to);
            if (status == 200)
                atomic_fetch_add(&W.acks, 1);
        } else if (op == 8) { /* a promoter asks for 10 yuan */
            status = http(&W.s, "POST", "/api/v1/me/withdrawals",
                          W.promoters[rand_r(&wk->rs) % PROMOTERS],
                          fmt("{\"shop_id\":%lld,\"amount_fen\":1000}", (long long)W.shop), &r);
            resp_free(&r);
            pthread_mutex_lock(&W.lock);
            W.withdrawals_acked += status == 201;
            W.withdrawals_unanswered += status < 0;
            pthread_mutex_unlock(&W.lock);
            if (status == 201)
                atomic_fetch_add(&W.acks, 1);
        } else {
            status = http(&W.s, "GET", "/healthz", NULL, NULL, &r);
            resp_free(&r);
        }
        if (status < 0)
            break; /* the server is gone */
    }
    return NULL;
}

static int64_t scalar(const char *sql)
{
    return db_scalar(&W.s, sql);
}

/* Everything acknowledged is there, the lost requests replay to one order each, the store
 * is sound. */
static void check_after_restart(void)
{
    for (size_t i = 0; i < W.n_orders; i++) {
        const struct order *o = &W.orders[i];
        int64_t st =
            scalar(fmt("SELECT %s FROM orders WHERE id = %lld", STATE_SQL, (long long)o->id));
        bool ok = o->acked == CREATED   ? st >= CREATED && st <= CANCELLED
                  : o->acked == PAID    ? st == PAID || st == SHIPPED
                  : o->acked == SHIPPED ? st == SHIPPED
                                        : st == CANCELLED;
        if (!ok)
            fail_msg("cycle %d: order %lld acknowledged in state %d is in state %lld", W.cycle,
                     (long long)o->id, (int)o->acked, (long long)st);
    }
    /* the requests that got no answer, sent again: one order each, whatever happened */
    for (size_t i = 0; i < W.n_lost; i++) {
        int64_t ids[2];
        for (int k = 0; k < 2; k++) {
            struct resp r;
            create_order(W.lost[i].buyer, W.lost[i].key, &r);
            if (r.status != 201)
                fail_msg("cycle %d: replaying %s: %ld %s", W.cycle, W.lost[i].key, r.status,
                         r.body ? r.body : "");
            ids[k] = jint(r.json, "id");
            resp_free(&r);
        }
        assert_int_equal(ids[0], ids[1]);
        add_order(ids[0], CREATED);
    }
    int64_t stored = scalar("SELECT COUNT(*) FROM orders") - setup_orders;
    if (stored != (int64_t)W.n_orders)
        fail_msg("cycle %d: %lld orders stored, the clients know of %zu", W.cycle,
                 (long long)stored, W.n_orders);
    int64_t w = scalar("SELECT COUNT(*) FROM withdrawals");
    assert_true(w >= W.withdrawals_acked);
    assert_true(w <= W.withdrawals_acked + W.withdrawals_unanswered);
    W.withdrawals_acked = w; /* what the next cycle builds on */
    W.withdrawals_unanswered = 0;
    W.n_lost = 0;
    if (!test_on_postgres())
        assert_int_equal(scalar("SELECT COUNT(*) FROM pragma_integrity_check"
                                " WHERE integrity_check <> 'ok'"),
                         0);
    assert_int_equal(srv_ledger_check(&W.s), 0);
}

/* A shop with one product, BUYERS buyers (each may buy 1,000 in 30 days) and PROMOTERS
 * promoters with 1,000 yuan each to withdraw. */
static void world_up(void)
{
    const char *extra[] = {"--max-connections-per-ip", "1000", "--session-days", "365", NULL};
    srv_start(&W.s, extra);
    snprintf(W.url, sizeof W.url, "%s", W.s.db_url);
    pthread_mutex_init(&W.lock, NULL);
    W.owner = register_user(&W.s, "13500000001", "店主", NULL);
    W.shop = create_shop(&W.s, W.owner, "crash-shop");
    answers(&W.s, "PATCH", fmt("/api/v1/shops/%lld", (long long)W.shop), W.owner,
            "{\"promoter_auto_approve\":true,\"buyer_cap_30d\":1000,"
            "\"withdraw_daily_fen\":100000000}",
            200);
    W.product = create(&W.s, fmt("/api/v1/shops/%lld/products", (long long)W.shop), W.owner,
                       "{\"title\":\"核桃\",\"price_fen\":10000,\"stock\":1000000,"
                       "\"status\":\"on_sale\"}");
    int64_t trial = create(&W.s, fmt("/api/v1/shops/%lld/products", (long long)W.shop), W.owner,
                           "{\"title\":\"试吃\",\"price_fen\":100,\"stock\":100,"
                           "\"status\":\"on_sale\",\"trial_available\":true}");
    for (int i = 0; i < BUYERS; i++)
        W.buyers[i] = register_user(&W.s, fmt("1350000%04d", 100 + i), "买家", NULL);
    for (int i = 0; i < PROMOTERS; i++) {
        int64_t uid;
        W.promoters[i] = register_user(&W.s, fmt("1350000%04d", 200 + i), "推广员", &uid);
        answers(&W.s, "POST", fmt("/api/v1/shops/%lld/trials", (long long)W.shop), W.owner,
                fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)uid, (long long)trial),
                201);
        struct resp r;
        http(&W.s, "POST", fmt("/api/v1/shops/%lld/promoters", (long long)W.shop), W.promoters[i],
             NULL, &r);
        assert_int_equal(r.status, 201);
        char ref[64];
        snprintf(ref, sizeof ref, "%s", jstr(r.json, "ref_token"));
        resp_free(&r);
        /* a customer of theirs buys 100 (1,000,000 fen; 10%: 100,000 fen to them) */
        char *c = register_user(&W.s, fmt("1350000%04d", 300 + i), "顾客", NULL);
        const char *h[] = {fmt("Idempotency-Key: setup-%d", i), NULL};
        http_ex(&W.s, "POST", "/api/v1/orders", c,
                fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":100}],"
                    "\"share_token\":\"%s\"," ADDR "}",
                    (long long)W.shop, (long long)W.product, ref),
                h, &r);
        assert_int_equal(r.status, 201);
        int64_t o = jint(r.json, "id");
        resp_free(&r);
        answers(&W.s, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)o), W.owner,
                NULL, 200);
        answers(&W.s, "POST", fmt("/api/v1/orders/%lld/ship", (long long)o), W.owner,
                "{\"carrier\":\"顺丰\",\"tracking\":\"SF0\"}", 200);
        answers(&W.s, "POST", fmt("/api/v1/orders/%lld/receive", (long long)o), c, NULL, 200);
        free(c);
        setup_orders++;
    }
    answers(&W.s, "POST", "/api/v1/test-clock", W.owner, fmt("{\"advance_ms\":%lld}", 8 * DAY),
            200);
    struct resp r;
    http(&W.s, "GET", fmt("/api/v1/me/balance?shop_id=%lld", (long long)W.shop), W.promoters[0],
         NULL, &r);
    assert_int_equal(jint(r.json, "available_fen"), 100000);
    resp_free(&r);
}

static void crash_cycles(void **state)
{
    (void)state;
    int cycles = 4;
    if (getenv("QUANZI_CRASH_CYCLES"))
        cycles = atoi(getenv("QUANZI_CRASH_CYCLES"));
    seed = getenv("QUANZI_CRASH_SEED") ? strtoull(getenv("QUANZI_CRASH_SEED"), NULL, 10)
                                       : (unsigned long long)time(NULL);
    fprintf(stderr, "# seed %llu (QUANZI_CRASH_SEED=%llu replays the kill times)\n", seed, seed);
    srand((unsigned)seed);
    world_up();
    long total_acks = 0, total_lost = 0;
    for (W.cycle = 1; W.cycle <= cycles; W.cycle++) {
        atomic_store(&W.stop, false);
        atomic_store(&W.acks, 0);
        pthread_t t[THREADS];
        struct worker wk[THREADS];
        for (int i = 0; i < THREADS; i++) {
            wk[i] =
                (struct worker){.id = i, .rs = (unsigned)seed * 31u + (unsigned)(W.cycle * 7 + i)};
            assert_int_equal(pthread_create(&t[i], NULL, worker, &wk[i]), 0);
        }
        /* the kill comes 100-700 ms into the load, once something was acknowledged */
        usleep((useconds_t)(100000 + rand() % 600000));
        while (atomic_load(&W.acks) == 0)
            usleep(10000);
        kill(W.s.pid, SIGKILL);
        int status;
        waitpid(W.s.pid, &status, 0);
        atomic_store(&W.stop, true);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        total_acks += atomic_load(&W.acks);
        total_lost += (long)W.n_lost;
        /* a new server on the same database (its own folder for its log) */
        char old_dir[sizeof W.s.dir];
        snprintf(old_dir, sizeof old_dir, "%s", W.s.dir);
        bool first = W.cycle == 1;
        db_close(W.s.db);
        W.s.db = NULL;
        const char *extra[] = {"--max-connections-per-ip", "1000", "--session-days", "365", NULL};
        srv_start_db(&W.s, W.url, extra);
        if (!first)
            srv_remove_dir(old_dir);
        else
            snprintf(first_dir, sizeof first_dir, "%s", old_dir);
        check_after_restart();
        fprintf(stderr, "# cycle %d: %ld writes acknowledged, %zu orders known, killed\n", W.cycle,
                (long)atomic_load(&W.acks), W.n_orders);
    }
    fprintf(stderr,
            "# %d kills: %ld writes acknowledged, %ld order requests unanswered and replayed,"
            " %zu orders, %ld withdrawals; nothing lost or doubled\n",
            cycles, total_acks, total_lost, W.n_orders, W.withdrawals_acked);
    assert_int_equal(srv_stop(&W.s), 0);
    srv_remove_dir(first_dir); /* the database's folder */
    free(W.owner);
    for (int i = 0; i < BUYERS; i++)
        free(W.buyers[i]);
    for (int i = 0; i < PROMOTERS; i++)
        free(W.promoters[i]);
    free(W.orders);
    free(W.lost);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--cycles") == 0)
            setenv("QUANZI_CRASH_CYCLES", argv[++i], 1);
        else if (strcmp(argv[i], "--seed") == 0)
            setenv("QUANZI_CRASH_SEED", argv[++i], 1);
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(crash_cycles)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
