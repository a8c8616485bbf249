/*
 * group.c - SQLite's one writer in this process, and group commit.
 *
 * The server's connections share one more connection for every write
 * transaction: writes are serialised anyway, and a reader connection drops
 * its whole page cache whenever another connection has written, so a
 * per-thread writer would start each transaction cold.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/sqlite/internal.h"
#include "db/sqlite/walbuf.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

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

void sq_lock_writer(void)
{
    pthread_mutex_lock(&write_lock);
    write_lock_since = clock_mono_us();
}

void sq_unlock_writer(void)
{
    atomic_fetch_add_explicit(&stat_held_us, clock_mono_us() - write_lock_since,
                              memory_order_relaxed);
    pthread_mutex_unlock(&write_lock);
}

void sq_writer_stats(struct db *db, struct db_stats *out)
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
struct sq_conn sq_writer;                       /* used only under write_lock */
static int64_t gc_checkpoint_bytes;
static int64_t gc_page_size = 4096;
static _Atomic int64_t gc_log_bytes; /* in the log since it last started over */

/* The writer's own statements, prepared once. */
static const char *const gc_ctl_sql[GC_CTLS] = {
    [GC_BEGIN] = "BEGIN IMMEDIATE",     [GC_COMMIT] = "COMMIT",
    [GC_ROLLBACK] = "ROLLBACK",         [GC_SAVE] = "SAVEPOINT quanzi_tx",
    [GC_RELEASE] = "RELEASE quanzi_tx", [GC_UNDO] = "ROLLBACK TO quanzi_tx",
};
static sqlite3_stmt *gc_ctl_stmt[GC_CTLS];

/* Runs one of them on the writer (under write_lock); SQLite's result code. */
int sq_writer_run(enum gc_ctl c)
{
    if (!gc_ctl_stmt[c] &&
        sqlite3_prepare_v3(sq_writer.h, gc_ctl_sql[c], -1, SQLITE_PREPARE_PERSISTENT,
                           &gc_ctl_stmt[c], NULL) != SQLITE_OK)
        return sqlite3_extended_errcode(sq_writer.h);
    int rc = sqlite3_step(gc_ctl_stmt[c]);
    sqlite3_reset(gc_ctl_stmt[c]);
    return rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(sq_writer.h);
}

/* Under write_lock: opens the batch unless it is open. */
static int gc_enter(void)
{
    if (gc_open)
        return SQLITE_OK;
    if (!sqlite3_get_autocommit(sq_writer.h))
        sq_writer_run(GC_ROLLBACK); /* left by a failed rollback: start clean */
    int rc = sq_writer_run(GC_BEGIN);
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
    int rc = sq_writer_run(GC_COMMIT);
    if (rc == SQLITE_OK && *dirty)
        atomic_fetch_add_explicit(&stat_batches, 1, memory_order_relaxed);
    if (rc != SQLITE_OK) {
        LOG(LOG_ERROR, "db_batch_lost", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(sq_writer.h));
        if (!sqlite3_get_autocommit(sq_writer.h))
            sq_writer_run(GC_ROLLBACK);
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
void sq_flush_batch(void)
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
    sq_lock_writer();
    bool dirty, lost; /* the batch filled meanwhile: it goes first, then the log may start over */
    uint64_t b = gc_close_batch(&dirty, &lost);
    int rc = sqlite3_wal_checkpoint_v2(*ck, NULL, SQLITE_CHECKPOINT_RESTART, &log_frames, &copied);
    sq_unlock_writer();
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
        sq_lock_writer();
        bool dirty, lost;
        uint64_t b = gc_close_batch(&dirty, &lost);
        sq_unlock_writer();
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

static enum err gc_open_writer(const char *path, int64_t cache_kib, int64_t mmap_bytes)
{
    /* Through walbuf, "syncing" the log at a commit writes its frames in one call.
     * temp_store is SQLite's default (a file) here, not MEMORY: each transaction is a
     * savepoint, whose sub-journal keeps the first image of every page it changes. With
     * MEMORY that journal grows in 1 KiB pieces, three allocations a page; otherwise it
     * is one 64 KiB buffer (an order's transaction fits in half of it) that goes to a
     * temporary file only beyond that. 8% of an order's instructions in the lock. */
    const char *vfs = walbuf_vfs();
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=ON;"
             "PRAGMA temp_store=DEFAULT; PRAGMA cache_size=-%lld; PRAGMA mmap_size=%lld",
             (long long)cache_kib, (long long)mmap_bytes);
    if (!vfs ||
        sqlite3_open_v2(path, &sq_writer.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) !=
            SQLITE_OK ||
        sqlite3_exec(sq_writer.h, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close_v2(sq_writer.h);
        sq_writer.h = NULL;
        return ERR_UNAVAILABLE;
    }
    sqlite3_busy_timeout(sq_writer.h, 5000);
    sq_profile(sq_writer.h);
    sqlite3_extended_result_codes(sq_writer.h, 1);
    sqlite3_stmt *ps = NULL;
    if (sqlite3_prepare_v2(sq_writer.h, "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK &&
        sqlite3_step(ps) == SQLITE_ROW)
        gc_page_size = sqlite3_column_int64(ps, 0);
    sqlite3_finalize(ps);
    sqlite3_wal_hook(sq_writer.h, gc_log_hook, NULL);
    stmt_cache_init(&sq_writer.cache);
    sq_writer.busy = 0;
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
    stmt_cache_release(&sq_writer.cache, sq_free_stmt);
    sqlite3_close_v2(sq_writer.h);
    sq_writer.h = NULL;
}

enum err sq_group_attach(const char *path, int64_t checkpoint_bytes, int64_t cache_kib,
                         int64_t mmap_bytes)
{
    enum err e = ERR_OK;
    pthread_mutex_lock(&gc_lock);
    if (gc_users == 0) {
        snprintf(gc_db_path, sizeof gc_db_path, "%s", path);
        snprintf(gc_wal_path, sizeof gc_wal_path, "%s-wal", path);
        gc_checkpoint_bytes = checkpoint_bytes > 0 ? checkpoint_bytes : GC_CHECKPOINT_BYTES;
        gc_stop = false;
        e = gc_open_writer(path, cache_kib, mmap_bytes);
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

void sq_group_detach(void)
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
enum err sq_settle(uint64_t b)
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

void sq_defer_durable(struct db *db)
{
    (void)db;
    gc_deferring = true;
}

void sq_warm_reads(struct db *db)
{
    (void)db;
    gc_warm = true;
}

enum err sq_await_durable(struct db *db)
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

bool sq_reads_warm(void)
{
    return gc_warm;
}

bool sq_deferring(void)
{
    return gc_deferring;
}

void sq_count_write(void)
{
    atomic_fetch_add_explicit(&stat_writes, 1, memory_order_relaxed);
}

/* Takes the shared writer for this connection, inside the batch. */
enum err sq_take_writer(struct sqlite_db *d)
{
    sq_lock_writer();
    d->holds_write_lock = true;
    d->wrote = false;
    d->cur = &sq_writer;
    int rc = gc_enter();
    if (rc != SQLITE_OK) {
        enum err e = sq_map_rc(d, rc);
        (void)sq_settle(sq_release_writer(d));
        return e;
    }
    return ERR_OK;
}

/*
 * Lets the shared writer go. Returns the batch this connection must wait
 * for: the open one if it holds writes (this connection's, or others' it may
 * have read), the lost one if an error just made SQLite roll it back whole;
 * 0 if none.
 */
uint64_t sq_release_writer(struct sqlite_db *d)
{
    if (!d->holds_write_lock)
        return 0;
    /* nothing may touch the shared writer once the lock is gone */
    ASSERT(d->cur->busy == 0);
    uint64_t owe = 0, lost = 0;
    bool open = false;
    if (d->cur == &sq_writer) {
        if (gc_open && sqlite3_get_autocommit(sq_writer.h)) {
            LOG(LOG_ERROR, "db_batch_lost", "msg=\"%s\"", sqlite3_errmsg(sq_writer.h));
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
    sq_unlock_writer();
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
