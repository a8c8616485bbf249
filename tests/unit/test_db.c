/*
 * Contract tests for db.h on the SQLite driver: types round-trip, NULLs,
 * int64 extremes, UTF-8 text, unique violations, rollback, the statement
 * cache under nesting, and migrations applied exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/migrate.h"

struct fixture {
    char dir[64];
    char path[128];
    struct db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/quanzi-dbtest-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    struct db_options opt = {.url = f->path, .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 1000};
    struct errinfo ei = {0};
    if (db_open(&opt, &f->db, &ei) != ERR_OK)
        return -1;
    if (db_exec(f->db, "CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT, s TEXT UNIQUE)"))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    db_close(f->db);
    char p[160];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static const char SQL_INS[] = "INSERT INTO t (n, s) VALUES (?, ?) RETURNING id";
static const char SQL_GET[] = "SELECT n, s FROM t WHERE id = ?";

static int64_t insert(struct db *db, int64_t n, const char *s, enum err *e_out)
{
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t id = 0;
    enum err e = db_prepare(db, SQL_INS, &st);
    assert_int_equal(e, ERR_OK);
    db_bind_int64(st, 1, n);
    db_bind_str(st, 2, s);
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        id = db_col_int64(st, 0);
    db_done(st);
    if (e_out)
        *e_out = e;
    return id;
}

static void round_trip(void **state)
{
    struct fixture *f = *state;
    const char *texts[] = {"plain", "核桃 walnut", "\xF0\x9F\x8C\xB0 emoji", ""};
    int64_t nums[] = {INT64_MAX, INT64_MIN, 0, -1};
    for (int i = 0; i < 4; i++) {
        int64_t id = insert(f->db, nums[i], texts[i], NULL);
        assert_true(id > 0);
        struct db_stmt *st = NULL;
        bool row = false;
        assert_int_equal(db_prepare(f->db, SQL_GET, &st), ERR_OK);
        db_bind_int64(st, 1, id);
        assert_int_equal(db_step(st, &row), ERR_OK);
        assert_true(row);
        assert_int_equal(db_col_int64(st, 0), nums[i]);
        size_t len = 0;
        assert_string_equal(db_col_text(st, 1, &len), texts[i]);
        assert_int_equal(len, strlen(texts[i]));
        assert_false(db_col_is_null(st, 1));
        assert_int_equal(db_step(st, &row), ERR_OK);
        assert_false(row);
        db_done(st);
    }
    int64_t id = insert(f->db, 5, NULL, NULL);
    struct db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_prepare(f->db, SQL_GET, &st), ERR_OK);
    db_bind_int64(st, 1, id);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_true(db_col_is_null(st, 1));
    db_done(st);
}

static void unique_violation_and_rollback(void **state)
{
    struct fixture *f = *state;
    enum err e;
    insert(f->db, 1, "dup", &e);
    assert_int_equal(e, ERR_OK);
    insert(f->db, 2, "dup", &e);
    assert_int_equal(e, ERR_CONFLICT);

    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    assert_true(db_in_tx(f->db));
    insert(f->db, 3, "rolled-back", &e);
    assert_int_equal(e, ERR_OK);
    db_rollback(f->db);
    assert_false(db_in_tx(f->db));
    struct db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(
        db_prepare_uncached(f->db, "SELECT COUNT(*) FROM t WHERE s = 'rolled-back'", &st), ERR_OK);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_int_equal(db_col_int64(st, 0), 0);
    db_done(st);

    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    insert(f->db, 4, "committed", &e);
    assert_int_equal(db_commit(f->db), ERR_OK);
    db_rollback(f->db); /* harmless with no transaction */
}

static void nested_use_of_one_statement(void **state)
{
    struct fixture *f = *state;
    insert(f->db, 10, "outer-1", NULL);
    static const char sql[] = "SELECT id FROM t ORDER BY id";
    struct db_stmt *a = NULL, *b = NULL;
    bool row = false;
    assert_int_equal(db_prepare(f->db, sql, &a), ERR_OK);
    assert_int_equal(db_step(a, &row), ERR_OK);
    assert_true(row);
    /* the cached statement is busy: a second one is made for the same SQL */
    assert_int_equal(db_prepare(f->db, sql, &b), ERR_OK);
    assert_ptr_not_equal(a, b);
    assert_int_equal(db_step(b, &row), ERR_OK);
    assert_true(row);
    db_done(b);
    db_done(a);
}

static void changes_count(void **state)
{
    struct fixture *f = *state;
    insert(f->db, 77, "c1", NULL);
    insert(f->db, 77, "c2", NULL);
    static const char sql[] = "UPDATE t SET n = 78 WHERE n = ?";
    struct db_stmt *st = NULL;
    assert_int_equal(db_prepare(f->db, sql, &st), ERR_OK);
    db_bind_int64(st, 1, 77);
    assert_int_equal(db_step_done(st), ERR_OK);
    assert_int_equal(db_changes(st), 2);
    db_done(st);
}

static void migrations_once(void **state)
{
    struct fixture *f = *state;
    int applied = -1;
    struct errinfo ei = {0};
    assert_int_equal(migrate_run(f->db, &applied, &ei), ERR_OK);
    assert_true(applied >= 1);
    int64_t v1 = 0;
    assert_int_equal(migrate_version(f->db, &v1), ERR_OK);
    assert_true(v1 >= 1);
    assert_int_equal(migrate_run(f->db, &applied, &ei), ERR_OK);
    assert_int_equal(applied, 0);
    int64_t v2 = 0;
    assert_int_equal(migrate_version(f->db, &v2), ERR_OK);
    assert_int_equal(v1, v2);
}

static void bad_path_is_unavailable(void **state)
{
    (void)state;
    struct db *db = NULL;
    struct errinfo ei = {0};
    struct db_options opt = {.url = "/nonexistent-dir/x/y.db", .sync = DB_SYNC_FULL};
    assert_int_equal(db_open(&opt, &db, &ei), ERR_UNAVAILABLE);
    assert_string_equal(ei.field, "db");
    assert_null(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(unique_violation_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_use_of_one_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_count, setup, teardown),
        cmocka_unit_test_setup_teardown(migrations_once, setup, teardown),
        cmocka_unit_test(bad_path_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
