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

/* kill -9 right after answers: every acknowledged order is there after a restart. */
static void acknowledged_orders_survive_kill_9(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, NULL);
    char url[sizeof s.db_url];
    snprintf(url, sizeof url, "%s", s.db_url);
    char *o = register_user(&s, "13600002222", "Owner", NULL);
    char *b = register_user(&s, "13600003333", "Buyer", NULL);
    int64_t shop_id = create_shop(&s, o, "crash-test");
    struct resp r;
    http(&s, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop_id), o, "{\"buyer_cap_30d\":1000}",
         &r);
    resp_free(&r);
    http(&s, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop_id), o,
         "{\"title\":\"x\",\"price_fen\":100,\"stock\":500,\"status\":\"on_sale\"}", &r);
    int64_t product = jint(r.json, "id");
    resp_free(&r);
    enum { N = 40 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        char h[64];
        snprintf(h, sizeof h, "Idempotency-Key: crash-%d", i);
        const char *hs[] = {h, NULL};
        http_ex(&s, "POST", "/api/v1/orders", b,
                fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                    "\"address\":{\"name\":\"A\",\"phone\":\"13600003333\",\"region\":\"R\","
                    "\"line\":\"L\"}}",
                    (long long)shop_id, (long long)product),
                hs, &r);
        assert_int_equal(r.status, 201);
        ids[i] = jint(r.json, "id");
        resp_free(&r);
    }
    kill(s.pid, SIGKILL); /* no shutdown, no checkpoint */
    int status;
    waitpid(s.pid, &status, 0);
    s.pid = 0;
    db_close(s.db);
    s.db = NULL;
    free(o);
    free(b);

    struct srv again;
    srv_start_db(&again, url, NULL);
    for (int i = 0; i < N; i++)
        assert_int_equal(db_scalar(&again, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld",
                                               (long long)ids[i])),
                         1);
    assert_int_equal(
        db_scalar(&again, fmt("SELECT stock FROM products WHERE id = %lld", (long long)product)),
        500 - N);
    assert_int_equal(
        db_scalar(&again, "SELECT COUNT(*) FROM products WHERE stock + sold <> stock_in"), 0);
    if (!test_on_postgres())
        assert_int_equal(db_scalar(&again, "SELECT COUNT(*) FROM pragma_integrity_check"
                                           " WHERE integrity_check <> 'ok'"),
                         0);
    assert_int_equal(srv_stop(&again), 0);
    srv_stop(&s); /* removes the first server's directory */
}

/*
 * kill -9 in the middle of concurrent orders and payments, whose
 * transactions share the server's commit batches: every acknowledged order
 * and payment is there after a restart, and nothing half done is (each
 * order took its unit of stock and is counted against its buyer's cap once).
 */
struct crash_load {
    struct srv *s;
    const char *buyer, *owner;
    int64_t shop, product;
    int id;
    atomic_int *acked;
    int64_t orders[160], paid[160];
    atomic_bool done;
    int n_orders, n_paid;
};

static void *crash_worker(void *arg)
{
    struct crash_load *l = arg;
    for (int i = 0; l->n_orders < 160; i++) {
        char h[64];
        snprintf(h, sizeof h, "Idempotency-Key: crash-%d-%d", l->id, i);
        const char *hs[] = {h, NULL};
        struct resp r;
        http_ex(l->s, "POST", "/api/v1/orders", l->buyer,
                fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                    "\"address\":{\"name\":\"A\",\"phone\":\"13600003333\",\"region\":\"R\","
                    "\"line\":\"L\"}}",
                    (long long)l->shop, (long long)l->product),
                hs, &r);
        int64_t id = r.status == 201 ? jint(r.json, "id") : 0;
        resp_free(&r);
        if (!id)
            break; /* the server is gone */
        l->orders[l->n_orders++] = id;
        atomic_fetch_add(l->acked, 1);
        if (i % 2)
            continue;
        http(l->s, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)id), l->owner,
             NULL, &r);
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
    struct srv s;
    srv_start(&s, NULL);
    char url[sizeof s.db_url];
    snprintf(url, sizeof url, "%s", s.db_url);
    char *o = register_user(&s, "13600004444", "Owner", NULL);
    char *b = register_user(&s, "13600005555", "Buyer", NULL);
    int64_t shop_id = create_shop(&s, o, "crash-batch");
    struct resp r;
    http(&s, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop_id), o, "{\"buyer_cap_30d\":1000}",
         &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(&s, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop_id), o,
         "{\"title\":\"x\",\"price_fen\":100,\"stock\":100000,\"status\":\"on_sale\"}", &r);
    int64_t product = jint(r.json, "id");
    resp_free(&r);
    enum { THREADS = 6 };
    atomic_int acked = 0;
    static struct crash_load l[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        l[i] = (struct crash_load){.s = &s,
                                   .buyer = b,
                                   .owner = o,
                                   .shop = shop_id,
                                   .product = product,
                                   .id = i,
                                   .acked = &acked};
        assert_int_equal(pthread_create(&t[i], NULL, crash_worker, &l[i]), 0);
    }
    for (int running = THREADS; running && atomic_load(&acked) < 120;) {
        usleep(2000);
        running = 0;
        for (int i = 0; i < THREADS; i++)
            running += !atomic_load(&l[i].done);
    }
    assert_true(atomic_load(&acked) >= 120); /* the load was still running at the kill */
    kill(s.pid, SIGKILL); /* mid-flight: no shutdown, no last batch, no checkpoint */
    int status;
    waitpid(s.pid, &status, 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    s.pid = 0;
    db_close(s.db);
    s.db = NULL;

    struct srv again;
    srv_start_db(&again, url, NULL);
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
    int64_t kept = db_scalar(&again, "SELECT COUNT(*) FROM orders");
    assert_true(kept >= orders);
    assert_int_equal(
        db_scalar(&again, fmt("SELECT stock FROM products WHERE id = %lld", (long long)product)),
        100000 - kept);
    assert_int_equal(db_scalar(&again, "SELECT COUNT(*) FROM buyer_cap_units"), kept);
    assert_int_equal(db_scalar(&again, "SELECT COUNT(*) FROM order_items"), kept);
    assert_int_equal(db_scalar(&again, "SELECT COUNT(*) FROM ledger_txns"),
                     db_scalar(&again, "SELECT COUNT(*) FROM orders WHERE status = 'paid'"));
    if (!test_on_postgres())
        assert_int_equal(db_scalar(&again, "SELECT COUNT(*) FROM pragma_integrity_check"
                                           " WHERE integrity_check <> 'ok'"),
                         0);
    assert_int_equal(srv_stop(&again), 0); /* the ledger check runs at the stop too */
    srv_stop(&s);
    free(o);
    free(b);
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
