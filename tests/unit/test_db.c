/*
 * Contract tests for db.h, run on both drivers (SQLite, and PostgreSQL when
 * QUANZI_TEST_DB=postgres): types round-trip, NULLs, int64 extremes, UTF-8
 * text, unique violations, rollback, the statement cache under nesting,
 * changes counts, concurrent writers, migrations applied exactly once, and
 * group commit: transactions that share a batch keep their commits and drop
 * their rollbacks, and (SQLite) a lost batch is reported and leaves nothing,
 * the log starts over under steady load and takes a transaction larger
 * than walbuf gathers at once; page splits and rollbacks under the page
 * cache's wrapper (SQLite). Also the ledger's remembered account ids,
 * which must stay hints when a database reuses an id.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/migrate.h"
#include "domain/ledger.h"
#include "util/assert.h"

#include "store.h"

static int setup(void **state)
{
    struct store *f = calloc(1, sizeof *f);
    if (!f || store_create(f, "dbtest"))
        return -1;
    char *ddl = migrate_dialect(db_kind(f->db), "CREATE TABLE t (id INTEGER PRIMARY KEY,"
                                                " n BIGINT, s TEXT UNIQUE)");
    enum err e = db_exec(f->db, ddl);
    free(ddl);
    if (e)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct store *f = *state;
    store_destroy(f);
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

static int64_t scalar(struct db *db, const char *sql)
{
    struct db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_prepare_uncached(db, sql, &st), ERR_OK);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_true(row);
    int64_t v = db_col_int64(st, 0);
    db_done(st);
    return v;
}

static void round_trip(void **state)
{
    struct store *f = *state;
    const char *texts[] = {"plain", "核桃 walnut", "\xF0\x9F\x8C\xB0 emoji", "",
                           "quote ' and ? mark"};
    int64_t nums[] = {INT64_MAX, INT64_MIN, 0, -1, 42};
    for (int i = 0; i < 5; i++) {
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
        assert_int_equal(db_col_count(st), 2);
        assert_string_equal(db_col_name(st, 1), "s");
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
    assert_null(db_col_text(st, 1, NULL));
    db_done(st);
    /* a literal '?' in quoted SQL text is not a placeholder */
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE s = 'quote '' and ? mark'"), 1);
}

static void unique_violation_and_rollback(void **state)
{
    struct store *f = *state;
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
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE s = 'rolled-back'"), 0);

    /* a violation inside a transaction: the transaction is rolled back as a whole */
    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    insert(f->db, 4, "first-in-tx", &e);
    insert(f->db, 5, "dup", &e);
    assert_int_equal(e, ERR_CONFLICT);
    db_rollback(f->db);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE s = 'first-in-tx'"), 0);

    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    insert(f->db, 4, "committed", &e);
    assert_int_equal(db_commit(f->db), ERR_OK);
    db_rollback(f->db); /* harmless with no transaction */
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE s = 'committed'"), 1);
    assert_true(db_alive(f->db));
}

/*
 * INSERT ... RETURNING id answers one row, the new id, then ends, on both
 * drivers (SQLite answers a one-row insert's from its rowid; an upsert or an
 * INSERT ... SELECT goes through RETURNING as written).
 */
static void returning_ids(void **state)
{
    struct store *f = *state;
    static const char upsert[] = "INSERT INTO t (n, s) VALUES (?, ?) ON CONFLICT (s) DO NOTHING"
                                 " RETURNING id";
    static const char copy[] = "INSERT INTO t (n, s) SELECT n + 1, s || '-copy' FROM t"
                               " WHERE s = ? RETURNING id";
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t ids[3] = {insert(f->db, 1, "r1", NULL)};
    for (int i = 1; i <= 2; i++) { /* twice: the cached statement starts over */
        assert_int_equal(db_prepare(f->db, SQL_INS, &st), ERR_OK);
        db_bind_int64(st, 1, 2);
        db_bind_str(st, 2, i == 1 ? "r2" : "r3");
        assert_int_equal(db_step(st, &row), ERR_OK);
        assert_true(row);
        assert_int_equal(db_col_count(st), 1);
        assert_false(db_col_is_null(st, 0));
        ids[i] = db_col_int64(st, 0);
        assert_int_equal(db_step(st, &row), ERR_OK);
        assert_false(row);
        assert_int_equal(db_changes(st), 1);
        db_done(st);
    }
    assert_true(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1]);
    assert_int_equal(scalar(f->db, "SELECT id FROM t WHERE s = 'r2'"), ids[1]);
    assert_int_equal(scalar(f->db, "SELECT id FROM t WHERE s = 'r3'"), ids[2]);
    /* an upsert that inserts nothing answers no row */
    assert_int_equal(db_prepare(f->db, upsert, &st), ERR_OK);
    db_bind_int64(st, 1, 9);
    db_bind_str(st, 2, "r1");
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_false(row);
    db_done(st);
    assert_int_equal(db_prepare(f->db, copy, &st), ERR_OK);
    db_bind_str(st, 1, "r2");
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_true(row);
    int64_t copied = db_col_int64(st, 0);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_false(row);
    db_done(st);
    assert_int_equal(scalar(f->db, "SELECT id FROM t WHERE s = 'r2-copy'"), copied);
    /* a refused insert answers no id, and leaves its statement usable */
    enum err e;
    assert_int_equal(insert(f->db, 5, "r1", &e), 0);
    assert_int_equal(e, ERR_CONFLICT);
    int64_t last = insert(f->db, 5, "r4", &e);
    assert_int_equal(e, ERR_OK);
    assert_int_equal(scalar(f->db, "SELECT id FROM t WHERE s = 'r4'"), last);
}

static void nested_use_of_one_statement(void **state)
{
    struct store *f = *state;
    insert(f->db, 10, "outer-1", NULL);
    insert(f->db, 11, "outer-2", NULL);
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
    assert_int_equal(db_step(a, &row), ERR_OK);
    assert_true(row);
    db_done(a);
    /* and the cached one is reusable after db_done */
    assert_int_equal(db_prepare(f->db, sql, &b), ERR_OK);
    assert_ptr_equal(a, b);
    db_done(b);
}

/* Text of the first column of `sql`'s first row, in `out`. */
static void text_of(struct db *db, const char *sql, char *out, size_t size)
{
    struct db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_prepare_uncached(db, sql, &st), ERR_OK);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_true(row);
    snprintf(out, size, "%s", db_col_text(st, 0, NULL));
    db_done(st);
}

static void insert_many(struct db *db, int from, int n)
{
    char s[40];
    for (int i = from; i < from + n; i++) {
        /* keys in no order: the unique index splits its pages all over */
        snprintf(s, sizeof s, "%08x-%d", (unsigned)i * 2654435761u, i);
        enum err e;
        insert(db, i, s, &e);
        assert_int_equal(e, ERR_OK);
    }
}

/*
 * Page splits renumber pages through a spare number far past the end of the
 * file, and the SQLite page cache is spared the walk that number cost at each
 * commit (src/db/sqlite/pcache.c), while what it must drop (a rolled-back
 * growth of the file, every page when another connection wrote: the tests
 * of group commit) still goes. Commits, a rollback and a savepoint's rollback
 * in turn over an index split all over: the rows are exactly the committed
 * ones and the file is sound.
 */
static void page_splits_and_rollbacks(void **state)
{
    struct store *f = *state;
    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    insert_many(f->db, 0, 3000);
    assert_int_equal(db_commit(f->db), ERR_OK);
    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    insert_many(f->db, 3000, 3000); /* grows the file, then is gone */
    db_rollback(f->db);
    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    insert_many(f->db, 6000, 2000);
    if (!store_on_postgres()) { /* a savepoint's rollback, inside a transaction */
        assert_int_equal(db_exec(f->db, "SAVEPOINT inner_part"), ERR_OK);
        insert_many(f->db, 8000, 2000);
        assert_int_equal(db_exec(f->db, "ROLLBACK TO inner_part"), ERR_OK);
        assert_int_equal(db_exec(f->db, "RELEASE inner_part"), ERR_OK);
    }
    insert_many(f->db, 10000, 2000);
    assert_int_equal(db_commit(f->db), ERR_OK);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t"), 7000);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE n >= 3000 AND n < 6000"), 0);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE n >= 8000 AND n < 10000"), 0);
    assert_int_equal(scalar(f->db, "SELECT COUNT(DISTINCT s) FROM t"), 7000);
    if (!store_on_postgres()) {
        char verdict[64];
        text_of(f->db, "PRAGMA integrity_check", verdict, sizeof verdict);
        assert_string_equal(verdict, "ok");
    }
}

static void changes_count(void **state)
{
    struct store *f = *state;
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

/* A truth value reads as 1 or 0 on both stores (PostgreSQL returns booleans as 't'/'f'). */
static void booleans_read_as_integers(void **state)
{
    struct store *f = *state;
    insert(f->db, 5, "b1", NULL);
    static const char sql[] = "SELECT EXISTS (SELECT 1 FROM t WHERE n = 5),"
                              " EXISTS (SELECT 1 FROM t WHERE n = 6), 1 = 1";
    struct db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_prepare(f->db, sql, &st), ERR_OK);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(st, 0), 1);
    assert_int_equal(db_col_int64(st, 1), 0);
    assert_int_equal(db_col_int64(st, 2), 1);
    db_done(st);
}

struct writer {
    const char *url;
    int increments;
    int retries;
    int failures;
};

/* Read-modify-write in a write transaction: never loses an update. */
static void *write_loop(void *arg)
{
    struct writer *w = arg;
    struct db *db = store_connect(w->url);
    static const char get[] = "SELECT n FROM t WHERE s = 'counter'";
    static const char put[] = "UPDATE t SET n = ? WHERE s = 'counter'";
    for (int i = 0; i < w->increments; i++) {
        for (int attempt = 0;; attempt++) {
            struct db_stmt *st = NULL;
            bool row = false;
            enum err e = db_begin(db, DB_TX_WRITE);
            int64_t n = 0;
            if (!e)
                e = db_prepare(db, get, &st);
            if (!e) {
                e = db_step(st, &row);
                n = db_col_int64(st, 0);
                db_done(st);
            }
            if (!e)
                e = db_prepare(db, put, &st);
            if (!e) {
                db_bind_int64(st, 1, n + 1);
                e = db_step_done(st);
                db_done(st);
            }
            if (!e)
                e = db_commit(db);
            db_rollback(db);
            if (e == ERR_OK)
                break;
            if ((e == ERR_RETRY || e == ERR_UNAVAILABLE) && attempt < 50) {
                w->retries++;
                usleep(1000 + (unsigned)(rand() % 2000));
                continue;
            }
            w->failures++;
            break;
        }
    }
    db_close(db);
    return NULL;
}

static void concurrent_writers(void **state)
{
    struct store *f = *state;
    insert(f->db, 0, "counter", NULL);
    enum { THREADS = 4, EACH = 50 };
    pthread_t t[THREADS];
    struct writer w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){.url = f->url, .increments = EACH};
        assert_int_equal(pthread_create(&t[i], NULL, write_loop, &w[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0);
    assert_int_equal(scalar(f->db, "SELECT n FROM t WHERE s = 'counter'"), THREADS * EACH);
}

/*
 * Group commit under steady load: writers that never pause and readers that
 * never stop must still let the log start over, or it grows without bound.
 */
enum { LOG_CHECKPOINT_BYTES = 128 * 1024 };

struct log_load {
    const char *url;
    atomic_bool stop;
    int writes, failures;
};

static struct db *open_group(const char *url)
{
    struct db_options opt = {.url = url,
                             .sync = DB_SYNC_FULL,
                             .busy_timeout_ms = 10000,
                             .group_commit = true,
                             .checkpoint_bytes = LOG_CHECKPOINT_BYTES};
    struct errinfo ei = {0};
    struct db *db = NULL;
    return db_open(&opt, &db, &ei) == ERR_OK ? db : NULL;
}

static void *log_reader(void *arg)
{
    struct log_load *l = arg;
    struct db *db = open_group(l->url);
    while (db && !atomic_load(&l->stop)) {
        struct db_stmt *st = NULL;
        bool row = false;
        if (db_begin(db, DB_TX_READ) == ERR_OK &&
            db_prepare(db, "SELECT COUNT(*) FROM t", &st) == ERR_OK) {
            if (db_step(st, &row) != ERR_OK || !row)
                l->failures++;
            db_done(st);
        }
        db_rollback(db);
    }
    if (db)
        db_close(db);
    return NULL;
}

static void *log_writer(void *arg)
{
    struct log_load *l = arg;
    struct db *db = open_group(l->url);
    char text[2001];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    for (int i = 0; db && i < 500; i++) {
        struct db_stmt *st = NULL;
        enum err e = db_begin(db, DB_TX_WRITE);
        if (!e)
            e = db_prepare(db, "INSERT INTO t (n, s) VALUES (?, ?)", &st);
        if (!e) {
            db_bind_int64(st, 1, i);
            snprintf(text, 24, "%p-%06d", (void *)&i, i); /* unique per thread and row */
            text[strlen(text)] = 'x';
            db_bind_text(st, 2, text, sizeof text - 1);
            e = db_step_done(st);
            db_done(st);
        }
        if (!e)
            e = db_commit(db);
        db_rollback(db);
        if (e)
            l->failures++;
        else
            l->writes++;
    }
    if (db)
        db_close(db);
    return NULL;
}

static void log_starts_over_under_load(void **state)
{
    struct store *f = *state;
    if (store_on_postgres())
        skip(); /* SQLite's log */
    struct log_load l = {.url = f->url};
    struct log_load w2 = {.url = f->url};
    pthread_t r[2], w[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, log_reader, &l), 0);
    assert_int_equal(pthread_create(&w[0], NULL, log_writer, &l), 0);
    assert_int_equal(pthread_create(&w[1], NULL, log_writer, &w2), 0);
    pthread_join(w[0], NULL);
    pthread_join(w[1], NULL);
    atomic_store(&l.stop, true);
    pthread_join(r[0], NULL);
    pthread_join(r[1], NULL);
    assert_int_equal(l.failures + w2.failures, 0);
    assert_int_equal(l.writes + w2.writes, 1000);
    /* 1,000 rows of 2 kB wrote about 4 MB of log; it was rewound, not grown */
    char wal[200];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", f->url);
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size < 8 * LOG_CHECKPOINT_BYTES);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t"), 1000);
}

/*
 * Group commit writes the log through walbuf (one write per commit): a
 * transaction far larger than one write call of the default VFS, and one
 * with a page cache so small that pages spill to the log and are read back
 * before the commit.
 */
static void big_transaction_through_the_writer(void **state)
{
    struct store *f = *state;
    if (store_on_postgres())
        skip(); /* SQLite's log */
    struct db *g = open_group(f->url);
    assert_non_null(g);
    char text[2001];
    memset(text, 'y', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_int_equal(db_begin(g, DB_TX_WRITE), ERR_OK);
    for (int i = 0; i < 2500; i++) { /* 5 MB: more than walbuf gathers at once */
        struct db_stmt *st = NULL;
        assert_int_equal(db_prepare(g, "INSERT INTO t (n, s) VALUES (?, ?)", &st), ERR_OK);
        db_bind_int64(st, 1, i);
        snprintf(text, 16, "%06d", i);
        text[6] = 'y';
        db_bind_text(st, 2, text, sizeof text - 1);
        assert_int_equal(db_step_done(st), ERR_OK);
        db_done(st);
    }
    assert_int_equal(db_commit(g), ERR_OK);
    assert_int_equal(db_begin(g, DB_TX_WRITE), ERR_OK);
    assert_int_equal(db_exec(g, "PRAGMA cache_size=8"), ERR_OK);
    assert_int_equal(db_exec(g, "UPDATE t SET n = n + 1"), ERR_OK); /* reads spilled pages */
    assert_int_equal(db_commit(g), ERR_OK);
    assert_int_equal(db_exec(g, "PRAGMA cache_size=-65536"), ERR_OK);
    /* another connection sees all of it, and so does the file after the writer closes */
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t"), 2500);
    assert_int_equal(scalar(f->db, "SELECT SUM(n) FROM t"), 2500 * 2501 / 2);
    db_close(g);
    assert_int_equal(scalar(f->db, "SELECT SUM(LENGTH(s)) FROM t"), 2500 * 2000);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE n = 2500"), 1);
}

/*
 * Group commit: threads that commit and roll back at once share batches (on
 * SQLite). Each keeps exactly its commits, a refused statement inside a
 * transaction costs only itself (SQLite), and every answer is durable when
 * awaited.
 */
struct batch_load {
    const char *url;
    int id;
    int committed;
    int failures;
};

static void *batch_worker(void *arg)
{
    struct batch_load *b = arg;
    struct db *db = open_group(b->url);
    for (int i = 0; db && i < 60; i++) {
        char s[32];
        enum err e, dup = ERR_OK;
        db_defer_durable(db); /* as the server does for a request */
        db_warm_reads(db);
        e = db_begin(db, DB_TX_WRITE);
        snprintf(s, sizeof s, "b%d-%d", b->id, i);
        if (!e)
            insert(db, i % 3 == 0 ? -1 : b->id, s, &e);
        bool refused = i % 3 == 1 && !store_on_postgres(); /* PostgreSQL aborts the transaction */
        if (!e && refused)
            insert(db, -2, "taken", &dup); /* the fixture's row: a unique violation */
        if (!e && i % 3 == 0) {
            db_rollback(db); /* n = -1 rows are never kept */
        } else if (!e) {
            e = db_commit(db);
        }
        db_rollback(db);
        enum err durable = db_await_durable(db);
        if (e || durable || (refused && dup != ERR_CONFLICT))
            b->failures++;
        else if (i % 3)
            b->committed++;
    }
    if (db)
        db_close(db);
    return NULL;
}

static void batch_keeps_commits_drops_rollbacks(void **state)
{
    struct store *f = *state;
    insert(f->db, 0, "taken", NULL);
    enum { THREADS = 6 };
    pthread_t t[THREADS];
    struct batch_load b[THREADS];
    for (int i = 0; i < THREADS; i++) {
        b[i] = (struct batch_load){.url = f->url, .id = i + 1};
        assert_int_equal(pthread_create(&t[i], NULL, batch_worker, &b[i]), 0);
    }
    int committed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(b[i].failures, 0);
        assert_int_equal(b[i].committed, 40);
        committed += b[i].committed;
    }
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE n > 0"), committed);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE n < 0"), 0);
    for (int i = 0; i < THREADS; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM t WHERE n = %d AND s LIKE 'b%d-%%'", i + 1,
                 i + 1);
        assert_int_equal(scalar(f->db, sql), 40);
    }
}

/*
 * A batch whose commit fails (here: a foreign key left dangling under
 * defer_foreign_keys, checked only when the batch commits) is lost whole: a
 * transaction in it hears ERR_UNAVAILABLE at its commit, or, deferred, when
 * it awaits; none of its rows stay; the next transaction works.
 */
static void lost_batch_is_reported(void **state)
{
    struct store *f = *state;
    if (store_on_postgres())
        skip(); /* SQLite's batches */
    assert_int_equal(db_exec(f->db, "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                                    "CREATE TABLE child (id INTEGER PRIMARY KEY,"
                                    " parent_id BIGINT NOT NULL REFERENCES parent(id))"),
                     ERR_OK);
    struct db *g = open_group(f->url);
    assert_non_null(g);
    static const char dangling[] = "INSERT INTO child (parent_id) VALUES (42)";
    /* a commit that waits for its batch */
    assert_int_equal(db_begin(g, DB_TX_WRITE), ERR_OK);
    assert_int_equal(db_exec(g, "PRAGMA defer_foreign_keys=ON"), ERR_OK);
    assert_int_equal(db_exec(g, dangling), ERR_OK);
    insert(g, 7, "lost-1", NULL);
    assert_int_equal(db_commit(g), ERR_UNAVAILABLE);
    /* a deferred one (a request) */
    db_defer_durable(g);
    assert_int_equal(db_begin(g, DB_TX_WRITE), ERR_OK);
    assert_int_equal(db_exec(g, "PRAGMA defer_foreign_keys=ON"), ERR_OK);
    assert_int_equal(db_exec(g, dangling), ERR_OK);
    insert(g, 7, "lost-2", NULL);
    assert_int_equal(db_commit(g), ERR_OK);
    assert_int_equal(db_await_durable(g), ERR_UNAVAILABLE);
    /* the writer goes on */
    assert_int_equal(db_begin(g, DB_TX_WRITE), ERR_OK);
    insert(g, 8, "kept", NULL);
    assert_int_equal(db_commit(g), ERR_OK);
    db_close(g);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM child"), 0);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE n = 7"), 0);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM t WHERE s = 'kept'"), 1);
}

static void migrations_once(void **state)
{
    struct store *f = *state;
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
    /* ids are generated on both backends */
    assert_int_equal(db_exec(f->db, "INSERT INTO users (login, password_hash, display_name,"
                                    " created_at) VALUES ('a@b.test', 'x', 'A', 1)"),
                     ERR_OK);
    assert_true(scalar(f->db, "SELECT MAX(id) FROM users") >= 1);
}

/* Posts a sale of `fen` to a shop's external and revenue accounts, and commits or not. */
static void post_sale(struct db *db, int64_t shop_id, int64_t fen, bool commit)
{
    struct ledger_entry en[2] = {
        {.kind = LEDGER_EXTERNAL, .amount_fen = -fen},
        {.kind = LEDGER_REVENUE, .amount_fen = fen},
    };
    assert_int_equal(db_begin(db, DB_TX_WRITE), ERR_OK);
    assert_int_equal(ledger_post(db, shop_id, "order_paid", 1, "", en, 2, 1), ERR_OK);
    if (commit)
        assert_int_equal(db_commit(db), ERR_OK);
    db_rollback(db);
}

/* The schema, one owner (user 1) and shops 1..n of theirs, for the ledger's tests. */
static void migrate_with_shops(struct db *db, int n)
{
    int applied = 0;
    struct errinfo ei = {0};
    assert_int_equal(migrate_run(db, &applied, &ei), ERR_OK);
    assert_int_equal(db_exec(db, "INSERT INTO users (id, login, password_hash, display_name,"
                                 " created_at) VALUES (1, 'a@b.test', 'x', 'A', 1)"),
                     ERR_OK);
    for (int shop = 1; shop <= n; shop++) {
        char sql[320];
        snprintf(sql, sizeof sql,
                 "INSERT INTO shops (id, owner_id, name, slug, trial_ends_at, l1_bps, l2_bps,"
                 " settle_days, binding_days, similarity_milli, created_at, updated_at)"
                 " VALUES (%d, 1, 'S', 's%d', 1, 1000, 500, 7, 30, 300, 1, 1)",
                 shop, shop);
        assert_int_equal(db_exec(db, sql), ERR_OK);
    }
}

/*
 * The ledger remembers accounts' ids, and a remembered id must never move
 * money into another account: here shop 1's accounts are opened in a
 * transaction that rolls back, SQLite gives their ids to shop 2's, and shop
 * 1's next sale must still land in accounts of shop 1's own.
 */
static void ledger_ids_are_only_hints(void **state)
{
    struct store *f = *state;
    migrate_with_shops(f->db, 2);
    post_sale(f->db, 1, 100, false);
    post_sale(f->db, 2, 5, true);
    post_sale(f->db, 1, 100, true);
    post_sale(f->db, 2, 5, true);
    assert_int_equal(scalar(f->db, "SELECT balance_fen FROM ledger_accounts"
                                   " WHERE shop_id = 2 AND kind = 'revenue'"),
                     10);
    assert_int_equal(scalar(f->db, "SELECT balance_fen FROM ledger_accounts"
                                   " WHERE shop_id = 1 AND kind = 'revenue'"),
                     100);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM ledger_accounts"), 4);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM ledger_entries e JOIN ledger_accounts a"
                                   " ON a.id = e.account_id WHERE a.shop_id <> e.shop_id"),
                     0);
}

/*
 * A ledger transaction that does not sum to zero is an INVARIANT: in a
 * release build it is logged and refused, and nothing of it is written (in
 * test builds it aborts: test_util's invariants_abort_in_test_builds).
 */
static void unbalanced_ledger_is_refused(void **state)
{
    struct store *f = *state;
    migrate_with_shops(f->db, 1);
    struct ledger_entry en[2] = {
        {.kind = LEDGER_EXTERNAL, .amount_fen = -100},
        {.kind = LEDGER_REVENUE, .amount_fen = 99},
    };
    bool was = invariants_abort;
    invariants_abort = false; /* as in a release build */
    assert_int_equal(db_begin(f->db, DB_TX_WRITE), ERR_OK);
    assert_int_equal(ledger_post(f->db, 1, "order_paid", 1, "", en, 2, 1), ERR_INTERNAL);
    en[1].amount_fen = INT64_MAX; /* and one whose sum overflows */
    en[0].amount_fen = INT64_MAX;
    assert_int_equal(ledger_post(f->db, 1, "order_paid", 1, "", en, 2, 1), ERR_INTERNAL);
    assert_int_equal(db_commit(f->db), ERR_OK);
    invariants_abort = was;
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM ledger_txns"), 0);
    assert_int_equal(scalar(f->db, "SELECT COUNT(*) FROM ledger_entries"), 0);
}

static void dialect_mapping(void **state)
{
    (void)state;
    char *pg = migrate_dialect(DB_POSTGRES, "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);"
                                            "CREATE TABLE b (id INTEGER PRIMARY KEY)");
    assert_string_equal(pg, "CREATE TABLE a (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY "
                            "KEY, x TEXT);CREATE TABLE b (id BIGINT GENERATED BY DEFAULT AS "
                            "IDENTITY PRIMARY KEY)");
    free(pg);
    char *lite = migrate_dialect(DB_SQLITE, "CREATE TABLE a (id INTEGER PRIMARY KEY)");
    assert_string_equal(lite, "CREATE TABLE a (id INTEGER PRIMARY KEY)");
    free(lite);
}

static void bad_target_is_unavailable(void **state)
{
    (void)state;
    struct db *db = NULL;
    struct errinfo ei = {0};
    struct db_options opt = {.url = store_on_postgres() ? "postgresql:///no_such_database_here"
                                                        : "/nonexistent-dir/x/y.db",
                             .sync = DB_SYNC_FULL};
    assert_int_equal(db_open(&opt, &db, &ei), ERR_UNAVAILABLE);
    assert_string_equal(ei.field, "db");
    assert_null(db);
}

/* A database's log file is in its folder for good before anything is served: once the store
 * is migrated (the log exists by then), db_sync_files() syncs the folder (a clean stop
 * deletes the log; until the folder is synced, a power cut could take the new one and
 * what it holds). `quanzi serve` calls it before it listens. */
int64_t sq_dir_syncs(void);
static void folder_synced_after_the_log_is_made(void **state)
{
    (void)state;
    if (store_on_postgres())
        skip(); /* PostgreSQL keeps its own files */
    char dir[] = "/tmp/quanzi-dirsync-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[128], wal[128];
    snprintf(url, sizeof url, "%s/fresh.db", dir);
    snprintf(wal, sizeof wal, "%s/fresh.db-wal", dir);
    int64_t before = sq_dir_syncs();
    struct db *db = store_connect(url);
    assert_non_null(db);
    struct errinfo ei = {0};
    assert_int_equal(migrate_run(db, NULL, &ei), ERR_OK); /* a new database's first writes */
    assert_int_equal(db_sync_files(db), ERR_OK);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);  /* the log exists... */
    assert_true(sq_dir_syncs() > before); /* ...and its folder was synced after */
    db_close(db);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folder_synced_after_the_log_is_made),
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(unique_violation_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(returning_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_use_of_one_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_count, setup, teardown),
        cmocka_unit_test_setup_teardown(page_splits_and_rollbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(booleans_read_as_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_keeps_commits_drops_rollbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_batch_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(log_starts_over_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(big_transaction_through_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(migrations_once, setup, teardown),
        cmocka_unit_test_setup_teardown(ledger_ids_are_only_hints, setup, teardown),
        cmocka_unit_test_setup_teardown(unbalanced_ledger_is_refused, setup, teardown),
        cmocka_unit_test(dialect_mapping),
        cmocka_unit_test(bad_target_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
