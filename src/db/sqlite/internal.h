/*
 * sqlite/internal.h - what the files of the SQLite driver share; nothing
 * outside src/db/sqlite/ includes it (nor sqlite3.h).
 *
 *   driver.c  connections, statements, transactions: the db_driver table
 *   group.c   the one shared writer and its lock, group commit (batches, the
 *             syncer, checkpoints), durability waits, the writer's statistics
 *   backup.c  online backup
 *   walbuf.c  the VFS that writes a commit's log frames in one call
 *   pcache.c  the page cache: SQLite's own, without a walk of it at each commit
 *   profile.c QUANZI_SQL_PROFILE: time and pages of each statement
 */
#ifndef QUANZI_DB_SQLITE_INTERNAL_H
#define QUANZI_DB_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "db/stmtcache.h"

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

/* --- group.c --- */

/*
 * SQLite has one writer at a time. Within this process, writers queue on a
 * mutex (sq_lock_writer) instead of polling through SQLite's busy handler.
 */
void sq_lock_writer(void);
void sq_unlock_writer(void);
/* The shared writer's connection: used only under the writer lock. */
extern struct sq_conn sq_writer;
/* The writer's own control statements. */
enum gc_ctl { GC_BEGIN, GC_COMMIT, GC_ROLLBACK, GC_SAVE, GC_RELEASE, GC_UNDO, GC_CTLS };
/* Runs one on the writer (under the lock); SQLite's result code. */
int sq_writer_run(enum gc_ctl c);
/* Takes the shared writer for this connection, inside the batch. */
MUST_CHECK enum err sq_take_writer(struct sqlite_db *d);
/* Lets it go; the batch this connection must wait for (0: none). */
uint64_t sq_release_writer(struct sqlite_db *d);
/* Waits for batch b now, or (deferred) before the answer; ERR_UNAVAILABLE: it was lost. */
enum err sq_settle(uint64_t b);
/* Under the lock, for a connection of its own about to write: the open batch goes first. */
void sq_flush_batch(void);
/* This thread's request reads on the writer; it defers its durability waits. */
bool sq_reads_warm(void);
bool sq_deferring(void);
/* A write that a batch carried (statistics). */
void sq_count_write(void);
/* A group-committed connection of the database at `path` comes and goes. */
/* With QUANZI_SQL_PROFILE=FILE: this connection's statements are timed (profile.c). */
void sq_profile(sqlite3 *h);
/* Puts pcache.c's wrapper around SQLite's page cache; before SQLite's first use.
 * false: SQLite's own is used as it is. */
bool sq_pcache_install(void);
MUST_CHECK enum err sq_group_attach(const char *path, int64_t checkpoint_bytes, int64_t cache_kib,
                                    int64_t mmap_bytes);
/* How many times opening a database synced its folder (after its log file was made). */
int64_t sq_dir_syncs(void);
void sq_group_detach(void);
/* The driver's durability and statistics operations. */
void sq_defer_durable(struct db *db);
void sq_warm_reads(struct db *db);
MUST_CHECK enum err sq_await_durable(struct db *db);
void sq_writer_stats(struct db *db, struct db_stats *out);

/* --- driver.c --- */

/* SQLite's result code as an error (logged). */
enum err sq_map_rc(struct sqlite_db *d, int rc);
/* Frees a cached statement (a stmt_cache value). */
void sq_free_stmt(void *p);

/* --- backup.c --- */

MUST_CHECK enum err sq_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei);

#endif
