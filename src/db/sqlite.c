/*
 * sqlite.c - the SQLite driver of db.h.
 *
 * One sqlite3 connection per struct db, opened without SQLite's own mutexes
 * (a connection is used by one thread at a time). WAL journal, foreign keys
 * on, a busy timeout, and `synchronous` as configured (FULL for durable money
 * paths). Prepared statements are cached per connection by SQL address.
 *
 * The server's connections (group commit, below) share one more connection
 * for every write transaction: writes are serialised anyway, and a reader
 * connection drops its whole page cache whenever another connection has
 * written, so a per-thread writer would start each transaction cold.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/stmtcache.h"
#include "db/walbuf.h"
#include "util/arena.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

struct sq_conn {
    sqlite3 *h;
    struct stmt_cache cache;
    int busy; /* statements prepared and not yet done */
};

struct sqlite_stmt {
    struct db_stmt base;
    struct sq_conn *conn;
    sqlite3_stmt *s;
    const char *sql; /* cache key */
    int64_t changes;
    bool in_use;
    bool cached;
    /* an INSERT of one row "... RETURNING id", run without its RETURNING (see
     * rowid_returning()): the one row it answers is the new rowid */
    bool rowid_returning;
    bool rowid_pending; /* the row is answered: the next step is the end */
    int64_t rowid;
    char rowid_text[24];
};

struct sqlite_db {
    struct db base;
    struct sq_conn own;
    struct sq_conn *cur; /* own, or the shared writer during a write transaction */
    bool holds_write_lock;
    bool in_savepoint;   /* a transaction of this connection's, within the writer's batch */
    bool wrote;          /* it ran a statement that may write, while holding the writer */
    bool auto_on_writer; /* a statement outside a transaction runs on the writer */
    bool group_commit;
};

/*
 * SQLite has one writer at a time. Within this process, writers queue on a
 * mutex instead of polling through SQLite's busy handler, whose sleeps (up to
 * 100 ms each) would otherwise decide throughput and tail latency. Other
 * processes (CLI commands) still meet the busy timeout.
 */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t write_lock_since; /* under write_lock: when it was taken */
static _Atomic int64_t stat_held_us;
static _Atomic uint64_t stat_batches, stat_writes;

static void lock_writer(void)
{
    pthread_mutex_lock(&write_lock);
    write_lock_since = clock_mono_us();
}

static void unlock_writer(void)
{
    atomic_fetch_add_explicit(&stat_held_us, clock_mono_us() - write_lock_since,
                              memory_order_relaxed);
    pthread_mutex_unlock(&write_lock);
}

static void sq_writer_stats(struct db *db, struct db_stats *out)
{
    (void)db;
    out->writer_held_us = atomic_load_explicit(&stat_held_us, memory_order_relaxed);
    out->batches = atomic_load_explicit(&stat_batches, memory_order_relaxed);
    out->writes = atomic_load_explicit(&stat_writes, memory_order_relaxed);
}

/*
 * Group commit. Connections opened with group_commit run every write
 * transaction on the shared writer, inside one open SQLite transaction, the
 * batch: a transaction of theirs is a savepoint in it, released at their
 * commit and rolled back to at their rollback. Whoever uses the writer opens
 * the batch if none is open. The syncer thread commits the batch (walbuf.h:
 * its frames go to the kernel in one write; the writer's readers run
 * synchronous=OFF and write nothing), fdatasync()s the log, and only then
 * tells the batch's transactions that they are durable; meanwhile the next
 * batch fills. So a commit returns only once it is on disk, one fsync
 * serves many transactions, and so does one write of each page they share
 * (the tails of the orders, events and ledger tables, a product's row...),
 * where a commit per transaction wrote each of those pages again.
 *
 * A transaction that read or wrote on the writer while the batch held
 * writes waits for the batch: what it saw may not be on disk yet. The other
 * connections see a batch once it is committed, as a reader of the log sees
 * any commit. If the batch is lost (its commit failed, or an error made
 * SQLite roll it back whole: a full disk, an I/O error), every transaction
 * in it is told so when it waits, and nothing of it is acknowledged.
 *
 * Checkpoints (the only writes to the database file) are done by the syncer
 * on its own synchronous=FULL connection, which syncs the database file
 * before the WAL may be rewound; group connections never checkpoint
 * (wal_autocheckpoint=0) and switch to FULL before closing. An fsync failure
 * stops the process: acknowledging after it would be a lie.
 */
#define GC_CHECKPOINT_BYTES (16 * 1024 * 1024)
#define GC_LOST_SLOTS 1024 /* lost batches remembered for their waiters */

static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gc_done = PTHREAD_COND_INITIALIZER;
static pthread_cond_t gc_work = PTHREAD_COND_INITIALIZER;
/* under gc_lock */
static uint64_t gc_synced;              /* the last batch committed and on disk */
static uint64_t gc_lost[GC_LOST_SLOTS]; /* batch b lost: gc_lost[b % GC_LOST_SLOTS] == b */
static bool gc_pending;                 /* a batch may be open: the syncer has work */
static int gc_users;
static bool gc_stop;
/* under write_lock */
static bool gc_open;          /* the writer's batch transaction is open */
static bool gc_dirty;         /* ... and holds writes */
static uint64_t gc_batch = 1; /* the open batch's number, or the next one's */
static pthread_t gc_thread;
static char gc_db_path[512];
static char gc_wal_path[sizeof gc_db_path + 8]; /* its log */
static struct sq_conn gc_writer;                /* used only under write_lock */
static int64_t gc_checkpoint_bytes;
static int64_t gc_page_size = 4096;
static _Atomic int64_t gc_log_bytes; /* in the log since it last started over */

/* The writer's own statements, prepared once. */
enum gc_ctl { GC_BEGIN, GC_COMMIT, GC_ROLLBACK, GC_SAVE, GC_RELEASE, GC_UNDO, GC_CTLS };
static const char *const gc_ctl_sql[GC_CTLS] = {
    [GC_BEGIN] = "BEGIN IMMEDIATE",     [GC_COMMIT] = "COMMIT",
    [GC_ROLLBACK] = "ROLLBACK",         [GC_SAVE] = "SAVEPOINT quanzi_tx",
    [GC_RELEASE] = "RELEASE quanzi_tx", [GC_UNDO] = "ROLLBACK TO quanzi_tx",
};
static sqlite3_stmt *gc_ctl_stmt[GC_CTLS];

/* Runs one of them on the writer (under write_lock); SQLite's result code. */
static int gc_run(enum gc_ctl c)
{
    if (!gc_ctl_stmt[c] &&
        sqlite3_prepare_v3(gc_writer.h, gc_ctl_sql[c], -1, SQLITE_PREPARE_PERSISTENT,
                           &gc_ctl_stmt[c], NULL) != SQLITE_OK)
        return sqlite3_extended_errcode(gc_writer.h);
    int rc = sqlite3_step(gc_ctl_stmt[c]);
    sqlite3_reset(gc_ctl_stmt[c]);
    return rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(gc_writer.h);
}

/* Under write_lock: opens the batch unless it is open. */
static int gc_enter(void)
{
    if (gc_open)
        return SQLITE_OK;
    if (!sqlite3_get_autocommit(gc_writer.h))
        gc_run(GC_ROLLBACK); /* left by a failed rollback: start clean */
    int rc = gc_run(GC_BEGIN);
    if (rc == SQLITE_OK) {
        gc_open = true;
        gc_dirty = false;
    }
    return rc;
}

/*
 * Under write_lock: commits the open batch, if any, and returns its number
 * (0: none was open). *dirty: it held writes (its frames want an fsync);
 * *lost: its commit failed and it is rolled back.
 */
static uint64_t gc_close_batch(bool *dirty, bool *lost)
{
    *dirty = *lost = false;
    if (!gc_open)
        return 0;
    uint64_t b = gc_batch++;
    *dirty = gc_dirty;
    int rc = gc_run(GC_COMMIT);
    if (rc == SQLITE_OK && *dirty)
        atomic_fetch_add_explicit(&stat_batches, 1, memory_order_relaxed);
    if (rc != SQLITE_OK) {
        LOG(LOG_ERROR, "db_batch_lost", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(gc_writer.h));
        if (!sqlite3_get_autocommit(gc_writer.h))
            gc_run(GC_ROLLBACK);
        *lost = true;
    }
    gc_open = gc_dirty = false;
    return b;
}

/* Batch b is on disk, or lost: its waiters may go. */
static void gc_resolve(uint64_t b, bool lost)
{
    pthread_mutex_lock(&gc_lock);
    if (lost)
        gc_lost[b % GC_LOST_SLOTS] = b;
    else if (b > gc_synced)
        gc_synced = b;
    pthread_cond_broadcast(&gc_done);
    pthread_mutex_unlock(&gc_lock);
}

static void gc_sync_log(void);

/*
 * After gc_close_batch() gave batch b: fsyncs the log if `sync` (and the
 * batch was not lost), then lets the batch's waiters go.
 */
static void gc_finish_batch(uint64_t b, bool sync, bool lost)
{
    if (!b)
        return;
    if (sync && !lost)
        gc_sync_log();
    gc_resolve(b, lost);
}

/*
 * Under write_lock, for a connection of its own that is about to write in a
 * process with group connections: the open batch is committed and synced
 * here, as the syncer would; even a clean one, since its number tells its
 * waiters that every batch before it is on disk.
 */
static void gc_flush_batch(void)
{
    bool dirty, lost;
    uint64_t b = gc_close_batch(&dirty, &lost);
    gc_finish_batch(b, true, lost);
}

/* The writer's commit hook: how much the log holds (its file keeps its size). */
static int gc_log_hook(void *arg, sqlite3 *h, const char *db, int frames)
{
    (void)arg, (void)h, (void)db;
    atomic_store(&gc_log_bytes, frames * gc_page_size);
    return SQLITE_OK;
}

/*
 * A passive checkpoint copies the log into the database while writers go on,
 * but under steady writes it never catches up, and SQLite rewinds the log
 * only once every frame is copied: the log would grow without bound (1.2 GB
 * in a 40 s order bench), and with it every fsync (the file's size changes)
 * and every reader's search of the log. So the bulk is copied passively, then
 * the in-process writers are held on write_lock while a RESTART checkpoint
 * copies the rest and waits for readers to leave the log; the next writer
 * starts the log again from its beginning, overwriting it in place. A reader
 * in another process that stays longer than GC_RESTART_WAIT_MS defers the
 * restart until the log has grown by another quarter of the threshold,
 * rather than stall the writers again at every fsync meanwhile.
 */
#define GC_RESTART_WAIT_MS 200

static void gc_checkpoint(sqlite3 **ck)
{
    static int64_t retry_at; /* after a deferred restart: hold the writers again only here */
    int64_t log_bytes = atomic_load(&gc_log_bytes);
    if (log_bytes < gc_checkpoint_bytes || log_bytes < retry_at)
        return;
    if (!*ck && sqlite3_open_v2(gc_db_path, ck, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                NULL) == SQLITE_OK) {
        sqlite3_exec(*ck, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    }
    if (!*ck)
        return;
    int log_frames = 0, copied = 0;
    sqlite3_busy_timeout(*ck, 5000);
    sqlite3_wal_checkpoint_v2(*ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    sqlite3_busy_timeout(*ck, GC_RESTART_WAIT_MS);
    lock_writer();
    bool dirty, lost; /* the batch filled meanwhile: it goes first, then the log may start over */
    uint64_t b = gc_close_batch(&dirty, &lost);
    int rc = sqlite3_wal_checkpoint_v2(*ck, NULL, SQLITE_CHECKPOINT_RESTART, &log_frames, &copied);
    unlock_writer();
    gc_finish_batch(b, dirty, lost);
    if (rc == SQLITE_OK) {
        atomic_store(&gc_log_bytes, 0); /* until the next commit says otherwise */
        retry_at = 0;
    } else {
        retry_at = log_bytes + gc_checkpoint_bytes / 4;
        LOG(LOG_INFO, "wal_restart_deferred", "rc=%d frames=%d copied=%d", rc, log_frames, copied);
    }
}

/* fdatasync()s the log file; a failure stops the process (durability is unknown). */
static void gc_sync_log(void)
{
    int fd = open(gc_wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fdatasync(fd) != 0) {
        LOG(LOG_ERROR, "fsync_failed", "file=%s errno=%d", gc_wal_path, errno);
        abort(); /* stop rather than acknowledge */
    }
    close(fd);
}

static void *gc_syncer(void *arg)
{
    (void)arg;
    sqlite3 *ck = NULL;
    pthread_mutex_lock(&gc_lock);
    for (;;) {
        while (!gc_pending && !gc_stop)
            pthread_cond_wait(&gc_work, &gc_lock);
        bool last = gc_stop; /* every connection is gone: close what they left */
        gc_pending = false;
        pthread_mutex_unlock(&gc_lock);
        lock_writer();
        bool dirty, lost;
        uint64_t b = gc_close_batch(&dirty, &lost);
        unlock_writer();
        gc_finish_batch(b, dirty, lost); /* the next batch fills meanwhile */
        gc_checkpoint(&ck);
        pthread_mutex_lock(&gc_lock);
        if (last && !gc_pending)
            break;
    }
    pthread_mutex_unlock(&gc_lock);
    if (ck) {
        sqlite3_exec(ck, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
        sqlite3_close_v2(ck);
    }
    return NULL;
}

static void free_stmt(void *p);
static uint64_t release_write_lock(struct sqlite_db *d);

static enum err gc_open_writer(const char *path)
{
    /* Through walbuf, "syncing" the log at a commit writes its frames in one call.
     * temp_store is SQLite's default (a file) here, not MEMORY: each transaction is a
     * savepoint, whose sub-journal keeps the first image of every page it changes. With
     * MEMORY that journal grows in 1 KiB pieces, three allocations a page; otherwise it
     * is one 64 KiB buffer (an order's transaction fits in half of it) that goes to a
     * temporary file only beyond that. 8% of an order's instructions in the lock. */
    const char *vfs = walbuf_vfs();
    if (!vfs ||
        sqlite3_open_v2(path, &gc_writer.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) !=
            SQLITE_OK ||
        sqlite3_exec(gc_writer.h,
                     "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=ON;"
                     "PRAGMA temp_store=DEFAULT; PRAGMA cache_size=-65536",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close_v2(gc_writer.h);
        gc_writer.h = NULL;
        return ERR_UNAVAILABLE;
    }
    sqlite3_busy_timeout(gc_writer.h, 5000);
    sqlite3_extended_result_codes(gc_writer.h, 1);
    sqlite3_stmt *ps = NULL;
    if (sqlite3_prepare_v2(gc_writer.h, "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK &&
        sqlite3_step(ps) == SQLITE_ROW)
        gc_page_size = sqlite3_column_int64(ps, 0);
    sqlite3_finalize(ps);
    sqlite3_wal_hook(gc_writer.h, gc_log_hook, NULL);
    stmt_cache_init(&gc_writer.cache);
    gc_writer.busy = 0;
    return ERR_OK;
}

static void gc_close_writer(void)
{
    /* A checkpoint on close syncs the database file, but walbuf's log sync does not
     * fsync: the log is made durable here first, as the checkpoint needs. */
    bool dirty, lost; /* none is open: the syncer closed the last one (this is a safeguard) */
    gc_close_batch(&dirty, &lost);
    gc_sync_log();
    for (int c = 0; c < GC_CTLS; c++) {
        sqlite3_finalize(gc_ctl_stmt[c]);
        gc_ctl_stmt[c] = NULL;
    }
    stmt_cache_release(&gc_writer.cache, free_stmt);
    sqlite3_close_v2(gc_writer.h);
    gc_writer.h = NULL;
}

static enum err gc_attach(const char *path, int64_t checkpoint_bytes)
{
    enum err e = ERR_OK;
    pthread_mutex_lock(&gc_lock);
    if (gc_users == 0) {
        snprintf(gc_db_path, sizeof gc_db_path, "%s", path);
        snprintf(gc_wal_path, sizeof gc_wal_path, "%s-wal", path);
        gc_checkpoint_bytes = checkpoint_bytes > 0 ? checkpoint_bytes : GC_CHECKPOINT_BYTES;
        gc_stop = false;
        e = gc_open_writer(path);
        if (e == ERR_OK && pthread_create(&gc_thread, NULL, gc_syncer, NULL) != 0) {
            gc_close_writer();
            e = ERR_UNAVAILABLE;
        }
    } else if (strcmp(gc_db_path, path) != 0) {
        e = ERR_INVALID; /* one group-committed database per process */
    }
    if (e == ERR_OK)
        gc_users++;
    pthread_mutex_unlock(&gc_lock);
    return e;
}

static void gc_detach(void)
{
    pthread_mutex_lock(&gc_lock);
    bool last = --gc_users == 0;
    if (last) {
        gc_stop = true;
        pthread_cond_signal(&gc_work);
    }
    pthread_mutex_unlock(&gc_lock);
    if (last) {
        pthread_join(gc_thread, NULL);
        gc_close_writer();
    }
}

static _Thread_local bool gc_deferring;
static _Thread_local bool gc_warm;     /* this request reads on the shared writer too */
static _Thread_local uint64_t gc_owed; /* the last batch this thread used, not yet awaited */

/* Returns once batch b is on disk: ERR_OK, or ERR_UNAVAILABLE if it was lost. */
static enum err gc_wait(uint64_t b)
{
    pthread_mutex_lock(&gc_lock);
    while (gc_synced < b && gc_lost[b % GC_LOST_SLOTS] != b)
        pthread_cond_wait(&gc_done, &gc_lock);
    bool lost = gc_lost[b % GC_LOST_SLOTS] == b;
    pthread_mutex_unlock(&gc_lock);
    return lost ? ERR_UNAVAILABLE : ERR_OK;
}

/*
 * This thread used batch b (0: none that held writes): it waits for it now,
 * or (deferred) before the answer. A deferred thread reads on the writer from
 * here on: its own connection would not see the batch until it is committed.
 */
static enum err gc_settle(uint64_t b)
{
    if (!b)
        return ERR_OK;
    if (gc_deferring) {
        if (b > gc_owed)
            gc_owed = b;
        gc_warm = true;
        return ERR_OK;
    }
    return gc_wait(b);
}

static void sq_defer_durable(struct db *db)
{
    (void)db;
    gc_deferring = true;
}

static void sq_warm_reads(struct db *db)
{
    (void)db;
    gc_warm = true;
}

static enum err sq_await_durable(struct db *db)
{
    (void)db;
    enum err e = ERR_OK;
    gc_deferring = false;
    gc_warm = false;
    if (gc_owed) {
        e = gc_wait(gc_owed);
        gc_owed = 0;
        if (e)
            LOG(LOG_ERROR, "db_not_durable", "msg=\"the batch of this request was lost\"");
    }
    return e;
}

static enum err map_rc(struct sqlite_db *d, int rc)
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
    if (d->cur == &gc_writer)
        d->wrote = true; /* a script may write (migrations); a savepoint costs nothing */
    char *msg = NULL;
    int rc = sqlite3_exec(d->cur->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        LOG(LOG_ERROR, "db_exec_failed", "rc=%d msg=\"%s\"", rc, msg ? msg : "?");
        sqlite3_free(msg);
        return map_rc(d, rc);
    }
    return ERR_OK;
}

/*
 * Before SQLite's first use in the process. SQLite keeps memory statistics by
 * default, and to keep them it takes one process-wide mutex at every malloc
 * and free, of every connection: the threads would queue on it tens of times
 * per statement. Nothing here reads those statistics.
 */
static void configure_once(void)
{
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        LOG(LOG_WARN, "sqlite_config", "msg=\"memory statistics stay on\"");
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
    if (d->group_commit && gc_attach(path, opt->checkpoint_bytes) != ERR_OK) {
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
    stmt_cache_release(&d->own.cache, free_stmt);
    sqlite3_close_v2(d->own.h);
    bool detach = d->group_commit;
    free(d);
    if (detach)
        gc_detach();
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

static void free_stmt(void *p)
{
    struct sqlite_stmt *st = p;
    sqlite3_finalize(st->s);
    free(st);
}

static enum err prepare_on(struct sqlite_db *d, struct sq_conn *c, const char *sql, bool cache,
                           struct sqlite_stmt **out);
static void unuse(struct sqlite_stmt *s);

/* Takes the shared writer for this connection, inside the batch. */
static enum err take_writer(struct sqlite_db *d)
{
    lock_writer();
    d->holds_write_lock = true;
    d->wrote = false;
    d->cur = &gc_writer;
    int rc = gc_enter();
    if (rc != SQLITE_OK) {
        enum err e = map_rc(d, rc);
        (void)gc_settle(release_write_lock(d));
        return e;
    }
    return ERR_OK;
}

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
        if (!gc_warm) {
            if ((e = prepare_on(d, &d->own, sql, cache, &st)))
                return e;
            if (sqlite3_stmt_readonly(st->s)) {
                *out = &st->base;
                return ERR_OK;
            }
            unuse(st);
        }
        if ((e = take_writer(d)))
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
            (void)gc_settle(release_write_lock(d));
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
    if (d->cur == &gc_writer) {
        if (sqlite3_get_autocommit(gc_writer.h))
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
    return map_rc(d, sqlite3_extended_errcode(s->conn->h));
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
            atomic_fetch_add_explicit(&stat_writes, 1, memory_order_relaxed);
        /* a statement outside a transaction is in the batch; if the batch is lost, the
         * request hears it when it awaits (a thread that does not defer, only here) */
        if (gc_settle(release_write_lock(d)) != ERR_OK)
            LOG(LOG_ERROR, "db_not_durable", "msg=\"a statement's batch was lost\"");
    }
}

/*
 * Lets the shared writer go. Returns the batch this connection must wait
 * for: the open one if it holds writes (this connection's, or others' it may
 * have read), the lost one if an error just made SQLite roll it back whole;
 * 0 if none.
 */
static uint64_t release_write_lock(struct sqlite_db *d)
{
    if (!d->holds_write_lock)
        return 0;
    /* nothing may touch the shared writer once the lock is gone */
    ASSERT(d->cur->busy == 0);
    uint64_t owe = 0, lost = 0;
    bool open = false;
    if (d->cur == &gc_writer) {
        if (gc_open && sqlite3_get_autocommit(gc_writer.h)) {
            LOG(LOG_ERROR, "db_batch_lost", "msg=\"%s\"", sqlite3_errmsg(gc_writer.h));
            lost = gc_batch++;
            gc_open = gc_dirty = false;
        } else if (gc_open) {
            gc_dirty = gc_dirty || d->wrote;
            owe = gc_dirty ? gc_batch : 0;
            open = true;
        }
    }
    d->cur = &d->own;
    d->holds_write_lock = d->in_savepoint = d->wrote = d->auto_on_writer = false;
    unlock_writer();
    if (lost)
        gc_resolve(lost, true);
    if (open) {
        pthread_mutex_lock(&gc_lock); /* the syncer closes the batch */
        if (!gc_pending) {
            gc_pending = true;
            pthread_cond_signal(&gc_work);
        }
        pthread_mutex_unlock(&gc_lock);
    }
    return lost ? lost : owe;
}

/*
 * A read transaction of a warm request (db_warm_reads) runs on the shared
 * writer under the write lock; any other on the thread's own connection.
 */
static enum err sq_begin(struct db *db, enum db_tx kind)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    ASSERT(!d->holds_write_lock); /* no statement left open across a begin */
    if (d->group_commit && (kind != DB_TX_READ || gc_warm)) {
        enum err e = take_writer(d);
        if (e)
            return e;
        int rc = gc_run(GC_SAVE);
        if (rc != SQLITE_OK) {
            e = map_rc(d, rc);
            (void)gc_settle(release_write_lock(d));
            return e;
        }
        d->in_savepoint = true;
        return ERR_OK;
    }
    if (kind == DB_TX_READ)
        return sq_exec(db, "BEGIN");
    lock_writer(); /* a connection of its own: queue here, not in SQLite */
    d->holds_write_lock = true;
    gc_flush_batch(); /* the batch would hold SQLite's lock, and the syncer wait on ours */
    enum err e = sq_exec(db, "BEGIN IMMEDIATE");
    if (e)
        release_write_lock(d);
    return e;
}

static enum err sq_commit(struct db *db)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (d->in_savepoint) {
        int rc = gc_run(GC_RELEASE);
        if (rc != SQLITE_OK)
            return map_rc(d, rc); /* db_commit() rolls back, which releases the writer */
        d->in_savepoint = false;
        if (d->wrote)
            atomic_fetch_add_explicit(&stat_writes, 1, memory_order_relaxed);
        return gc_settle(release_write_lock(d));
    }
    enum err e = sq_exec(db, "COMMIT");
    if (e != ERR_OK)
        return e;
    release_write_lock(d);
    return ERR_OK;
}

static void sq_rollback(struct db *db)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (d->cur == &gc_writer) {
        if (d->in_savepoint && !sqlite3_get_autocommit(gc_writer.h) &&
            (gc_run(GC_UNDO) != SQLITE_OK || gc_run(GC_RELEASE) != SQLITE_OK))
            LOG(LOG_ERROR, "db_rollback_failed", "msg=\"%s\"", sqlite3_errmsg(gc_writer.h));
        uint64_t b = release_write_lock(d);
        /* nothing of this transaction stays, but an answer from what it read waits */
        if (gc_deferring)
            (void)gc_settle(b);
        return;
    }
    if (!sqlite3_get_autocommit(d->cur->h))
        sqlite3_exec(d->cur->h, "ROLLBACK", NULL, NULL, NULL);
    release_write_lock(d);
}

/* Fsyncs the directory that holds `path`, so that a rename in it is durable. */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

static enum err sq_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (access(dest, F_OK) == 0)
        return err_set(ei, ERR_CONFLICT, "file", "%s exists: choose a new name", dest);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.partial-%ld", dest, (long)getpid()) >= (int)sizeof tmp)
        return err_set(ei, ERR_INVALID, "file", "the file name is too long");
    unlink(tmp);
    sqlite3 *out = NULL;
    sqlite3_backup *b = NULL;
    sqlite3_stmt *st = NULL;
    enum err e = ERR_OK;
    if (sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        e = err_set(ei, ERR_UNAVAILABLE, "file", "cannot create %s: %s", tmp,
                    out ? sqlite3_errmsg(out) : "out of memory");
        goto out;
    }
    /* every page in one step: one snapshot, which a writer elsewhere cannot restart */
    if (!(b = sqlite3_backup_init(out, "main", d->own.h, "main")) ||
        sqlite3_backup_step(b, -1) != SQLITE_DONE) {
        e = err_set(ei, ERR_UNAVAILABLE, "db", "the copy failed: %s", sqlite3_errmsg(out));
        goto out;
    }
    int64_t pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    b = NULL;
    if (sqlite3_errcode(out) != SQLITE_OK ||
        sqlite3_exec(out, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(out, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        e = err_set(ei, ERR_UNAVAILABLE, "db", "the copy does not check out: %s",
                    st && sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
                                                     : sqlite3_errmsg(out));
        goto out;
    }
    int64_t page_size = 0;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(out, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page_size = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    /* the journal-mode change committed with a sync; the file is complete on disk */
    if (sqlite3_close(out) != SQLITE_OK) {
        e = err_set(ei, ERR_UNAVAILABLE, "file", "cannot close %s", tmp);
        goto out;
    }
    out = NULL;
    if (rename(tmp, dest) != 0 || sync_dir_of(dest) != 0) {
        e = err_set(ei, ERR_UNAVAILABLE, "file", "cannot move the copy to %s: %s", dest,
                    strerror(errno));
        goto out;
    }
    if (bytes)
        *bytes = pages * page_size;
out:
    if (b)
        sqlite3_backup_finish(b);
    sqlite3_finalize(st);
    if (out)
        sqlite3_close(out);
    if (e)
        unlink(tmp);
    return e;
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
};
