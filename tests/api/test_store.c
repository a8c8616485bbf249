/*
 * How the server behaves when the store pushes back: concurrent writes to
 * one row all succeed (on PostgreSQL through the serialization retry), and a
 * lost PostgreSQL connection answers a clear 503 once, then reconnects.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "harness.h"

static char *owner;
static int64_t shop;

static int up(void **state)
{
    srv_group_up(state);
    owner = register_user(&S, "13600001111", "Owner", NULL);
    shop = create_shop(&S, owner, "store-test");
    return 0;
}

static int down(void **state)
{
    free(owner);
    return srv_group_down(state);
}

struct patcher {
    int index;
    int ok;
    int other;
};

static void *patch_many(void *arg)
{
    struct patcher *p = arg;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/shops/%lld", (long long)shop);
    for (int i = 0; i < 6; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"binding_days\":%d}", 10 + p->index * 6 + i);
        struct resp r;
        http(&S, "PATCH", path, owner, body, &r);
        if (r.status == 200)
            p->ok++;
        else {
            fprintf(stderr, "PATCH -> %ld %s\n", r.status, r.body ? r.body : "");
            p->other++;
        }
        resp_free(&r);
    }
    return NULL;
}

/* 8 clients x 6 writes to the same row at once: every one is applied. */
static void concurrent_writes_all_succeed(void **state)
{
    (void)state;
    enum { N = 8 };
    pthread_t t[N];
    struct patcher p[N];
    for (int i = 0; i < N; i++) {
        p[i] = (struct patcher){.index = i};
        assert_int_equal(pthread_create(&t[i], NULL, patch_many, &p[i]), 0);
    }
    int ok = 0, other = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += p[i].ok;
        other += p[i].other;
    }
    assert_int_equal(other, 0);
    assert_int_equal(ok, N * 6);
    int64_t days =
        db_scalar(&S, fmt("SELECT binding_days FROM shops WHERE id = %lld", (long long)shop));
    assert_true(days >= 10 && days < 10 + N * 6);
}

/* PostgreSQL only: SQLite has no connection to lose (a file stays open). */
static void lost_connection_is_503_then_recovers(void **state)
{
    (void)state;
    if (!test_on_postgres()) {
        skip();
        return;
    }
    int64_t mine = db_scalar(&S, "SELECT pg_backend_pid()");
    struct db *admin = NULL;
    struct errinfo ei = {0};
    struct db_options opt = {.url = "postgresql:///postgres", .sync = DB_SYNC_NORMAL};
    assert_int_equal(db_open(&opt, &admin, &ei), ERR_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
             " AND pid <> %lld",
             strrchr(S.db_url, '/') + 1, (long long)mine);
    assert_int_equal(db_exec(admin, sql), ERR_OK);
    db_close(admin);

    /* each worker thread notices once (503), then reconnects */
    int unavailable = 0, ok_in_a_row = 0;
    for (int i = 0; i < 40 && ok_in_a_row < 10; i++) {
        struct resp r;
        http(&S, "GET", "/api/v1/me", owner, NULL, &r);
        if (r.status == 503) {
            assert_string_equal(jstr(r.json, "error.code"), "unavailable");
            unavailable++;
            ok_in_a_row = 0;
        } else {
            assert_int_equal(r.status, 200);
            ok_in_a_row++;
        }
        resp_free(&r);
    }
    fprintf(stderr, "# 503 answers after the connections were cut: %d\n", unavailable);
    assert_int_equal(ok_in_a_row, 10);
    assert_true(unavailable >= 1);
    assert_true(unavailable <= 6); /* at most one per connection that was cut */
}

/* A server of its own, to be killed: a shop (1,000 units a buyer), a product, two members. */
struct crash_site {
    struct srv s;
    char url[sizeof((struct srv *)0)->db_url];
    char *owner, *buyer;
    int64_t shop, product;
};

static void crash_site_up(struct crash_site *c, const char *slug, int64_t stock)
{
    static int n;
    srv_start(&c->s, NULL);
    snprintf(c->url, sizeof c->url, "%s", c->s.db_url);
    c->owner = register_user(&c->s, fmt("136000%05d", ++n), "Owner", NULL);
    c->buyer = register_user(&c->s, fmt("136000%05d", ++n), "Buyer", NULL);
    c->shop = create_shop(&c->s, c->owner, slug);
    struct resp r;
    http(&c->s, "PATCH", fmt("/api/v1/shops/%lld", (long long)c->shop), c->owner,
         "{\"buyer_cap_30d\":1000}", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(&c->s, "POST", fmt("/api/v1/shops/%lld/products", (long long)c->shop), c->owner,
         fmt("{\"title\":\"x\",\"price_fen\":100,\"stock\":%lld,\"status\":\"on_sale\"}",
             (long long)stock),
         &r);
    c->product = jint(r.json, "id");
    resp_free(&r);
}

/* kill -9 (no shutdown, no checkpoint), then a new server on the same database. */
static void crash_site_restart(struct crash_site *c, struct srv *again)
{
    kill(c->s.pid, SIGKILL);
    int status;
    waitpid(c->s.pid, &status, 0);
    c->s.pid = 0;
    db_close(c->s.db);
    c->s.db = NULL;
    srv_start_db(again, c->url, NULL);
}

static void crash_site_down(struct crash_site *c)
{
    srv_stop(&c->s); /* removes the first server's directory */
    free(c->owner);
    free(c->buyer);
}

/* An order of one unit under an Idempotency-Key; returns its id, 0 if not created. */
static int64_t crash_order(struct crash_site *c, const char *key)
{
    char h[96];
    snprintf(h, sizeof h, "Idempotency-Key: %s", key);
    const char *hs[] = {h, NULL};
    struct resp r;
    http_ex(&c->s, "POST", "/api/v1/orders", c->buyer,
            fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                "\"address\":{\"name\":\"A\",\"phone\":\"13600003333\",\"region\":\"R\","
                "\"line\":\"L\"}}",
                (long long)c->shop, (long long)c->product),
            hs, &r);
    int64_t id = r.status == 201 ? jint(r.json, "id") : 0;
    resp_free(&r);
    return id;
}

/* After a restart: stock, items and cap units agree with the orders kept; the file is sound. */
static void crash_site_consistent(struct srv *again, int64_t product, int64_t stock)
{
    int64_t kept = db_scalar(again, "SELECT COUNT(*) FROM orders");
    assert_int_equal(
        db_scalar(again, fmt("SELECT stock FROM products WHERE id = %lld", (long long)product)),
        stock - kept);
    assert_int_equal(
        db_scalar(again, "SELECT COUNT(*) FROM products WHERE stock + sold <> stock_in"), 0);
    assert_int_equal(db_scalar(again, "SELECT COUNT(*) FROM order_items"), kept);
    assert_int_equal(db_scalar(again, "SELECT COUNT(*) FROM buyer_cap_units"), kept);
    assert_int_equal(db_scalar(again, "SELECT COUNT(*) FROM ledger_txns"),
                     db_scalar(again, "SELECT COUNT(*) FROM orders WHERE status = 'paid'"));
    if (!test_on_postgres())
        assert_int_equal(db_scalar(again, "SELECT COUNT(*) FROM pragma_integrity_check"
                                          " WHERE integrity_check <> 'ok'"),
                         0);
}

/* kill -9 right after answers: every acknowledged order is there after a restart. */
static void acknowledged_orders_survive_kill_9(void **state)
{
    (void)state;
    struct crash_site c;
    crash_site_up(&c, "crash-test", 500);
    enum { N = 40 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = crash_order(&c, fmt("crash-%d", i));
        assert_true(ids[i] > 0);
    }
    struct srv again;
    crash_site_restart(&c, &again);
    for (int i = 0; i < N; i++)
        assert_int_equal(db_scalar(&again, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld",
                                               (long long)ids[i])),
                         1);
    assert_int_equal(db_scalar(&again, "SELECT COUNT(*) FROM orders"), N);
    crash_site_consistent(&again, c.product, 500);
    assert_int_equal(srv_stop(&again), 0);
    crash_site_down(&c);
}

/*
 * kill -9 in the middle of concurrent orders and payments, whose
 * transactions share the server's commit batches: every acknowledged order
 * and payment is there after a restart, and nothing half done is (each
 * order took its unit of stock and is counted against its buyer's cap once).
 */
struct crash_load {
    struct crash_site *c;
    int id;
    atomic_int *acked;
    int64_t orders[160], paid[160];
    int n_orders, n_paid;
    atomic_bool done;
};

static void *crash_worker(void *arg)
{
    struct crash_load *l = arg;
    for (int i = 0; l->n_orders < 160; i++) {
        int64_t id = crash_order(l->c, fmt("crash-%d-%d", l->id, i));
        if (!id)
            break; /* the server is gone */
        l->orders[l->n_orders++] = id;
        atomic_fetch_add(l->acked, 1);
        if (i % 2)
            continue;
        struct resp r;
        http(&l->c->s, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)id),
             l->c->owner, NULL, &r);
        long status = r.status;
        resp_free(&r);
        if (status != 200)
            break;
        l->paid[l->n_paid++] = id;
    }
    atomic_store(&l->done, true);
    return NULL;
}

static void concurrent_acknowledged_writes_survive_kill_9(void **state)
{
    (void)state;
    struct crash_site c;
    crash_site_up(&c, "crash-batch", 100000);
    enum { THREADS = 6 };
    atomic_int acked = 0;
    static struct crash_load l[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        l[i] = (struct crash_load){.c = &c, .id = i, .acked = &acked};
        assert_int_equal(pthread_create(&t[i], NULL, crash_worker, &l[i]), 0);
    }
    for (int running = THREADS; running && atomic_load(&acked) < 120;) {
        usleep(2000);
        running = 0;
        for (int i = 0; i < THREADS; i++)
            running += !atomic_load(&l[i].done);
    }
    assert_true(atomic_load(&acked) >= 120); /* the load was still running at the kill */
    struct srv again;
    crash_site_restart(&c, &again); /* mid-flight: the open batch dies with the process */
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int orders = 0, paid = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < l[i].n_orders; k++, orders++)
            assert_int_equal(db_scalar(&again, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld",
                                                   (long long)l[i].orders[k])),
                             1);
        for (int k = 0; k < l[i].n_paid; k++, paid++)
            assert_int_equal(db_scalar(&again, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld"
                                                   " AND status = 'paid'",
                                                   (long long)l[i].paid[k])),
                             1);
    }
    fprintf(stderr, "# acknowledged before the kill: %d orders, %d payments\n", orders, paid);
    assert_true(db_scalar(&again, "SELECT COUNT(*) FROM orders") >= orders);
    crash_site_consistent(&again, c.product, 100000);
    assert_int_equal(srv_stop(&again), 0); /* the ledger check runs at the stop too */
    crash_site_down(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_writes_all_succeed),
        cmocka_unit_test(lost_connection_is_503_then_recovers),
        cmocka_unit_test(acknowledged_orders_survive_kill_9),
        cmocka_unit_test(concurrent_acknowledged_writes_survive_kill_9),
    };
    return cmocka_run_group_tests(tests, up, down);
}
