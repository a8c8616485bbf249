/*
 * driver.c - the SQLite driver of db.h.
 *
 * One sqlite3 connection per struct db, opened without SQLite's own mutexes
 * (a connection is used by one thread at a time). WAL journal, foreign keys
 * on, a busy timeout, and `synchronous` as configured (FULL for durable money
 * paths). Prepared statements are cached per connection by SQL address.
 * Write transactions of connections opened with group commit run on the
 * shared writer (group.c).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/sqlite/internal.h"
#include "util/arena.h"
#include "util/assert.h"
#include "util/log.h"

#include <unistd.h>

enum err sq_map_rc(struct sqlite_db *d, int rc)
{
    switch (rc & 0xFF) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return ERR_OK;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return ERR_CONFLICT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        LOG(LOG_WARN, "db_busy", "msg=\"%s\"", sqlite3_errmsg(d->cur->h));
        return ERR_UNAVAILABLE;
    default:
        break;
    }
    LOG(LOG_ERROR, "db_error", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(d->cur->h));
    return ERR_DB;
}

static enum err sq_exec(struct db *db, const char *sql)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (d->cur == &sq_writer)
        d->wrote = true; /* a script may write (migrations); a savepoint costs nothing */
    char *msg = NULL;
    int rc = sqlite3_exec(d->cur->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        LOG(LOG_ERROR, "db_exec_failed", "rc=%d msg=\"%s\"", rc, msg ? msg : "?");
        sqlite3_free(msg);
        return sq_map_rc(d, rc);
    }
    return ERR_OK;
}

/*
 * Before SQLite's first use in the process. SQLite keeps memory statistics by
 * default, and to keep them it takes one process-wide mutex at every malloc
 * and free, of every connection: the threads would queue on it tens of times
 * per statement. Nothing here reads those statistics. The page cache is
 * SQLite's own behind a wrapper (pcache.c) that spares it a walk of all its
 * pages at every commit.
 */
static void configure_once(void)
{
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        LOG(LOG_WARN, "sqlite_config", "msg=\"memory statistics stay on\"");
    if (!sq_pcache_install())
        LOG(LOG_WARN, "sqlite_config", "msg=\"the page cache walks itself at commits\"");
}

static _Atomic int64_t dir_syncs;

int64_t sq_dir_syncs(void)
{
    return atomic_load(&dir_syncs);
}

/*
 * The log file (<db>-wal) is in the folder only as far as the folder was synced: a clean
 * stop deletes the log, the next start makes it again (at open, or at a new database's first
 * write), and until something syncs the folder (the first checkpoint, 16 MiB of log later) a
 * power cut could take the log, and every commit acknowledged in it, away. db_sync_files()
 * syncs it once the store is migrated, before anything is served.
 */
static enum err sq_sync_files(struct db *db)
{
    const char *path = sqlite3_db_filename(((struct sqlite_db *)db)->own.h, "main");
    if (!path || !*path)
        return ERR_OK; /* in memory */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ERR_UNAVAILABLE;
    int rc = fsync(fd);
    close(fd);
    if (rc != 0)
        return ERR_UNAVAILABLE;
    atomic_fetch_add(&dir_syncs, 1);
    return ERR_OK;
}

static enum err sq_open(const struct db_options *opt, struct db **out, struct errinfo *ei)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, configure_once);
    const char *path = opt->url;
    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(
        path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        enum err e = err_set(ei, ERR_UNAVAILABLE, "db", "cannot open SQLite database %s: %s", path,
                             h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return e;
    }
    struct sqlite_db *d = xcalloc(1, sizeof *d);
    d->base.drv = &db_sqlite_driver;
    d->base.kind = DB_SQLITE;
    d->own.h = h;
    d->cur = &d->own;
    stmt_cache_init(&d->own.cache);
    sqlite3_busy_timeout(h, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000);
    sq_profile(h);
    sqlite3_extended_result_codes(h, 1);

    d->group_commit = opt->group_commit && opt->sync == DB_SYNC_FULL;
    char pragmas[320];
    /* A new database gets 2 KiB pages (an existing one keeps its own): a commit writes
     * each page it touched whole to the log, and an order touches a row or two on each
     * of ~25 pages. Measured (bench_store_orders, 8 threads): 2 KiB pages cost 20% less
     * CPU per order than 4 KiB, and 1 KiB more than 2 KiB (deeper trees, overflow). */
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA page_size=2048; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             " PRAGMA foreign_keys=ON;"
             "PRAGMA temp_store=MEMORY;%s",
             d->group_commit             ? "OFF"
             : opt->sync == DB_SYNC_FULL ? "FULL"
                                         : "NORMAL",
             d->group_commit ? " PRAGMA wal_autocheckpoint=0;" : "");
    if (sq_exec(&d->base, pragmas) != ERR_OK) {
        enum err e = err_set(ei, ERR_UNAVAILABLE, "db", "cannot set up SQLite database %s: %s",
                             path, sqlite3_errmsg(h));
        db_sqlite_driver.close(&d->base);
        return e;
    }

    /* The page cache, sized from the machine unless set (with group commit this connection
     * only reads: the shared writer writes), and reads through a mapping of the file when
     * asked for. */
    int64_t cache_kib = opt->cache_kib > 0 ? opt->cache_kib : db_default_cache_kib();
    int64_t mmap_bytes = opt->mmap_bytes > 0 ? opt->mmap_bytes : 0;
    char sizes[96];
    snprintf(sizes, sizeof sizes, "PRAGMA cache_size=-%lld; PRAGMA mmap_size=%lld;",
             (long long)(d->group_commit ? cache_kib / 8 : cache_kib), (long long)mmap_bytes);
    if (sq_exec(&d->base, sizes) != ERR_OK) {
        enum err e = err_set(ei, ERR_UNAVAILABLE, "db", "cannot size the cache of %s: %s", path,
                             sqlite3_errmsg(h));
        db_sqlite_driver.close(&d->base);
        return e;
    }
    if (d->group_commit &&
        sq_group_attach(path, opt->checkpoint_bytes, cache_kib, mmap_bytes) != ERR_OK) {
        enum err e =
            err_set(ei, ERR_UNAVAILABLE, "db", "cannot start the commit syncer for %s", path);
        db_sqlite_driver.close(&d->base);
        return e;
    }
    *out = &d->base;
    return ERR_OK;
}

static void sq_close(struct db *db)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (d->group_commit) {
        /* a checkpoint on close must sync the database file */
        sqlite3_exec(d->own.h, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    stmt_cache_release(&d->own.cache, sq_free_stmt);
    sqlite3_close_v2(d->own.h);
    bool detach = d->group_commit;
    free(d);
    if (detach)
        sq_group_detach();
}

static const char *sq_errmsg(const struct db *db)
{
    return sqlite3_errmsg(((const struct sqlite_db *)db)->cur->h);
}

static bool sq_alive(struct db *db)
{
    (void)db;
    return true; /* an open file does not go away */
}

static int sq_col_count(struct db_stmt *st)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)st;
    return s->rowid_returning ? 1 : sqlite3_column_count(s->s);
}

static const char *sq_col_name(struct db_stmt *st, int col)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)st;
    return s->rowid_returning ? (col == 0 ? "id" : NULL) : sqlite3_column_name(s->s, col);
}

void sq_free_stmt(void *p)
{
    struct sqlite_stmt *st = p;
    sqlite3_finalize(st->s);
    free(st);
}

static enum err prepare_on(struct sqlite_db *d, struct sq_conn *c, const char *sql, bool cache,
                           struct sqlite_stmt **out);
static void unuse(struct sqlite_stmt *s);

/*
 * Outside a transaction, a group connection runs a statement on the writer
 * (the lock is released by sq_done() with its last statement) when the
 * request reads warm, or when the statement writes: on its own connection it
 * would wait for the batch's lock.
 */
static enum err sq_prepare(struct db *db, const char *sql, bool cache, struct db_stmt **out)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    struct sqlite_stmt *st = NULL;
    enum err e;
    if (d->group_commit && !d->holds_write_lock && d->own.busy == 0 &&
        sqlite3_get_autocommit(d->own.h)) {
        if (!sq_reads_warm()) {
            if ((e = prepare_on(d, &d->own, sql, cache, &st)))
                return e;
            if (sqlite3_stmt_readonly(st->s)) {
                *out = &st->base;
                return ERR_OK;
            }
            unuse(st);
        }
        if ((e = sq_take_writer(d)))
            return e;
        d->auto_on_writer = true;
    }
    e = prepare_on(d, d->cur, sql, cache, &st);
    if (e == ERR_OK)
        *out = &st->base;
    return e;
}

/*
 * SQLite runs a RETURNING clause through a temporary table that it builds and
 * then reads back, a fifth of what inserting an order costs. An INSERT of one
 * row whose RETURNING asks only for "id", the table's INTEGER PRIMARY KEY
 * (its rowid), needs none of that: its answer is sqlite3_last_insert_rowid()
 * once the insert is done. Returns the length of the SQL without the clause
 * when `sql` is such an insert: INSERT INTO t (...) VALUES (...) RETURNING id,
 * one row of VALUES, no ON CONFLICT (an upsert may insert nothing or update),
 * no SELECT; and 0 otherwise (the SQL is prepared as it is).
 */
static size_t rowid_returning(sqlite3 *h, const char *sql)
{
    static const char head[] = "INSERT INTO ", tail[] = " RETURNING id";
    size_t n = strlen(sql), hn = sizeof head - 1, tn = sizeof tail - 1;
    if (n <= hn + tn || strncmp(sql, head, hn) != 0 || strcmp(sql + n - tn, tail) != 0)
        return 0;
    const char *values = strstr(sql, " VALUES (");
    if (!values || strstr(sql, "ON CONFLICT") || strstr(sql, "SELECT") || strstr(values, "), (") ||
        strstr(values, "),("))
        return 0;
    char table[64];
    size_t tl = strcspn(sql + hn, " (");
    if (tl == 0 || tl >= sizeof table)
        return 0;
    memcpy(table, sql + hn, tl);
    table[tl] = '\0';
    const char *type = NULL;
    int pk = 0;
    if (sqlite3_table_column_metadata(h, NULL, table, "id", &type, NULL, NULL, &pk, NULL) !=
            SQLITE_OK ||
        !pk || !type || sqlite3_stricmp(type, "INTEGER") != 0)
        return 0;
    return n - tn;
}

static enum err prepare_on(struct sqlite_db *d, struct sq_conn *c, const char *sql, bool cache,
                           struct sqlite_stmt **out)
{
    struct sqlite_stmt *cached = stmt_cache_get(&c->cache, sql);
    struct sqlite_stmt *st = cache ? cached : NULL;
    if (st && !st->in_use) {
        st->base.db = &d->base; /* the shared writer's statements serve every thread */
        st->in_use = true;
        st->changes = 0;
        c->busy++;
        *out = st;
        return ERR_OK;
    }
    sqlite3_stmt *s = NULL;
    size_t rowid_len = rowid_returning(c->h, sql);
    int rc = sqlite3_prepare_v3(c->h, sql, rowid_len ? (int)rowid_len : -1,
                                cache ? SQLITE_PREPARE_PERSISTENT : 0, &s, NULL);
    if (rc != SQLITE_OK) {
        LOG(LOG_ERROR, "db_prepare_failed", "msg=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(c->h), sql);
        if (d->auto_on_writer && c->busy == 0)
            (void)sq_settle(sq_release_writer(d));
        return ERR_DB;
    }
    struct sqlite_stmt *n = xcalloc(1, sizeof *n);
    n->base.db = &d->base;
    n->conn = c;
    n->s = s;
    n->sql = cache ? sql : NULL;
    n->in_use = true;
    n->rowid_returning = rowid_len > 0;
    if (cache && !cached) { /* not cached yet: keep it; a busy one gets a one-off twin */
        n->cached = true;
        stmt_cache_put(&c->cache, sql, n);
    }
    c->busy++;
    *out = n;
    return ERR_OK;
}

static void sq_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
    int rc = sqlite3_bind_int64(((struct sqlite_stmt *)st)->s, idx, v);
    ASSERT(rc == SQLITE_OK);
}

static void sq_bind_text(struct db_stmt *st, int idx, const char *s, size_t len)
{
    int rc = sqlite3_bind_text64(((struct sqlite_stmt *)st)->s, idx, s, len, SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    ASSERT(rc == SQLITE_OK);
}

static void sq_bind_null(struct db_stmt *st, int idx)
{
    int rc = sqlite3_bind_null(((struct sqlite_stmt *)st)->s, idx);
    ASSERT(rc == SQLITE_OK);
}

static enum err sq_step(struct db_stmt *st, bool *row)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)st;
    struct sqlite_db *d = (struct sqlite_db *)st->db;
    ASSERT(s->conn == d->cur); /* a statement does not outlive its transaction's connection */
    if (d->cur == &sq_writer) {
        if (sqlite3_get_autocommit(sq_writer.h))
            return ERR_UNAVAILABLE; /* the batch was rolled back on an error: nothing may run
                                     * outside it (the release reports the batch lost) */
        if (!sqlite3_stmt_readonly(s->s))
            d->wrote = true;
    }
    if (s->rowid_pending) { /* the insert's one row was answered */
        s->rowid_pending = false;
        *row = false;
        return ERR_OK;
    }
    int rc = sqlite3_step(s->s);
    if (rc == SQLITE_ROW) {
        *row = true;
        return ERR_OK;
    }
    *row = false;
    if (rc == SQLITE_DONE) {
        s->changes = sqlite3_changes64(s->conn->h);
        if (s->rowid_returning) {
            s->rowid = sqlite3_last_insert_rowid(s->conn->h);
            s->rowid_pending = *row = true;
        }
        return ERR_OK;
    }
    return sq_map_rc(d, sqlite3_extended_errcode(s->conn->h));
}

static int64_t sq_col_int64(struct db_stmt *st, int col)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)st;
    if (s->rowid_returning)
        return col == 0 ? s->rowid : 0;
    return sqlite3_column_int64(s->s, col);
}

static const char *sq_col_text(struct db_stmt *st, int col, size_t *len)
{
    struct sqlite_stmt *rs = (struct sqlite_stmt *)st;
    if (rs->rowid_returning) {
        int n = snprintf(rs->rowid_text, sizeof rs->rowid_text, "%lld", (long long)rs->rowid);
        if (len)
            *len = col == 0 ? (size_t)n : 0;
        return col == 0 ? rs->rowid_text : NULL;
    }
    sqlite3_stmt *s = rs->s;
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (len)
        *len = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
    return t;
}

static bool sq_col_is_null(struct db_stmt *st, int col)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)st;
    if (s->rowid_returning)
        return col != 0;
    return sqlite3_column_type(s->s, col) == SQLITE_NULL;
}

static int64_t sq_changes(struct db_stmt *st)
{
    return ((struct sqlite_stmt *)st)->changes;
}

/* Gives a statement back to its connection's cache (or frees a one-off). */
static void unuse(struct sqlite_stmt *s)
{
    s->rowid_pending = false;
    sqlite3_reset(s->s);
    sqlite3_clear_bindings(s->s);
    s->conn->busy--;
    if (s->cached) {
        s->in_use = false;
    } else {
        sqlite3_finalize(s->s);
        free(s);
    }
}

static void sq_done(struct db_stmt *st)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)st;
    struct sqlite_db *d = (struct sqlite_db *)st->db;
    unuse(s);
    if (d->auto_on_writer && d->cur->busy == 0) {
        if (d->wrote)
            sq_count_write();
        /* a statement outside a transaction is in the batch; if the batch is lost, the
         * request hears it when it awaits (a thread that does not defer, only here) */
        if (sq_settle(sq_release_writer(d)) != ERR_OK)
            LOG(LOG_ERROR, "db_not_durable", "msg=\"a statement's batch was lost\"");
    }
}

/*
 * A read transaction of a warm request (db_warm_reads) runs on the shared
 * writer under the write lock; any other on the thread's own connection.
 */
static enum err sq_begin(struct db *db, enum db_tx kind)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    ASSERT(!d->holds_write_lock); /* no statement left open across a begin */
    if (d->group_commit && (kind != DB_TX_READ || sq_reads_warm())) {
        enum err e = sq_take_writer(d);
        if (e)
            return e;
        int rc = sq_writer_run(GC_SAVE);
        if (rc != SQLITE_OK) {
            e = sq_map_rc(d, rc);
            (void)sq_settle(sq_release_writer(d));
            return e;
        }
        d->in_savepoint = true;
        return ERR_OK;
    }
    if (kind == DB_TX_READ)
        return sq_exec(db, "BEGIN");
    sq_lock_writer(); /* a connection of its own: queue here, not in SQLite */
    d->holds_write_lock = true;
    sq_flush_batch(); /* the batch would hold SQLite's lock, and the syncer wait on ours */
    enum err e = sq_exec(db, "BEGIN IMMEDIATE");
    if (e)
        sq_release_writer(d);
    return e;
}

static enum err sq_commit(struct db *db)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (d->in_savepoint) {
        int rc = sq_writer_run(GC_RELEASE);
        if (rc != SQLITE_OK)
            return sq_map_rc(d, rc); /* db_commit() rolls back, which releases the writer */
        d->in_savepoint = false;
        if (d->wrote)
            sq_count_write();
        return sq_settle(sq_release_writer(d));
    }
    enum err e = sq_exec(db, "COMMIT");
    if (e != ERR_OK)
        return e;
    sq_release_writer(d);
    return ERR_OK;
}

static void sq_rollback(struct db *db)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (d->cur == &sq_writer) {
        if (d->in_savepoint && !sqlite3_get_autocommit(sq_writer.h) &&
            (sq_writer_run(GC_UNDO) != SQLITE_OK || sq_writer_run(GC_RELEASE) != SQLITE_OK))
            LOG(LOG_ERROR, "db_rollback_failed", "msg=\"%s\"", sqlite3_errmsg(sq_writer.h));
        uint64_t b = sq_release_writer(d);
        /* nothing of this transaction stays, but an answer from what it read waits */
        if (sq_deferring())
            (void)sq_settle(b);
        return;
    }
    if (!sqlite3_get_autocommit(d->cur->h))
        sqlite3_exec(d->cur->h, "ROLLBACK", NULL, NULL, NULL);
    sq_release_writer(d);
}

const struct db_driver db_sqlite_driver = {
    .name = "sqlite",
    .caps = {.serial_writes = true, .one_server = true, .online_backup = true},
    .open = sq_open,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .alive = sq_alive,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_int64 = sq_col_int64,
    .col_text = sq_col_text,
    .col_is_null = sq_col_is_null,
    .col_count = sq_col_count,
    .col_name = sq_col_name,
    .changes = sq_changes,
    .done = sq_done,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .defer_durable = sq_defer_durable,
    .await_durable = sq_await_durable,
    .warm_reads = sq_warm_reads,
    .writer_stats = sq_writer_stats,
    .backup = sq_backup,
    .sync_files = sq_sync_files,
};
