/*
 * How the server behaves when the store pushes back: concurrent writes to
 * one row all succeed (on PostgreSQL through the serialization retry), and a
 * lost PostgreSQL connection answers a clear 503 once, then reconnects.
 */
#include <pthread.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_writes_all_succeed),
        cmocka_unit_test(lost_connection_is_503_then_recovers),
    };
    return cmocka_run_group_tests(tests, up, down);
}
