/*
 * db.h - the storage interface: connections, cached prepared statements,
 * typed binding and columns, transactions.
 *
 * Domain code writes SQL once, in the portable subset (DESIGN.md §4): `?`
 * placeholders, integer millisecond timestamps, 0/1 booleans, RETURNING and
 * ON CONFLICT allowed, no backend-specific functions. Two drivers implement
 * this interface (SQLite now, PostgreSQL next); nothing else includes a
 * driver's header.
 *
 * A connection belongs to one thread at a time. Statements come from a
 * per-connection cache keyed by the address of the SQL text, so `sql` must be
 * a string with static storage (a literal). Every statement obtained with
 * db_prepare() is given back with db_done(), which resets it.
 *
 * Errors: ERR_CONFLICT for a unique or primary-key violation, ERR_RETRY when a
 * write transaction lost a serialization race (PostgreSQL) and must be run
 * again from its start, ERR_UNAVAILABLE
 * when the store is busy past its timeout or unreachable, ERR_DB otherwise
 * (the driver's message is logged, never sent to clients).
 */
#ifndef QUANZI_DB_DB_H
#define QUANZI_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum db_kind { DB_SQLITE, DB_POSTGRES };
/*
 * DB_TX_WRITE is serializable: the domain may read, decide, then write.
 * DB_TX_WRITE_LOCKED is for hot rows: on PostgreSQL it runs READ COMMITTED,
 * so a conditional UPDATE waits for the row and re-checks its condition
 * instead of failing; its correctness must rest on conditional updates and
 * on row locks the transaction takes itself. On SQLite (one writer) both are
 * the same.
 */
enum db_tx { DB_TX_READ, DB_TX_WRITE, DB_TX_WRITE_LOCKED };
enum db_sync { DB_SYNC_NORMAL, DB_SYNC_FULL };

struct db;
struct db_stmt;

struct db_options {
    const char *url;   /* "sqlite:PATH", a plain path, or "postgres://…" */
    enum db_sync sync; /* durability of commits (SQLite) */
    int busy_timeout_ms;
    /*
     * SQLite with DB_SYNC_FULL: commit without fsync, then wait until a shared
     * syncer thread has fsynced the WAL after this commit (group commit). A
     * commit returns only once durable; one fsync serves many commits.
     */
    bool group_commit;
    /* group commit: the log size that starts a checkpoint; 0 is 16 MiB (tests set less) */
    int64_t checkpoint_bytes;
};

MUST_CHECK enum err db_open(const struct db_options *opt, struct db **out, struct errinfo *ei);
void db_close(struct db *db);
enum db_kind db_kind(const struct db *db);
/* Last driver error message (for logs). */
const char *db_errmsg(const struct db *db);
/* False once the connection is lost; the pool then opens a new one. */
bool db_alive(struct db *db);

/* Runs a script of one or more statements without results (migrations). */
MUST_CHECK enum err db_exec(struct db *db, const char *sql);

MUST_CHECK enum err db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/* A statement for SQL built at run time: not cached, finalised by db_done(). */
MUST_CHECK enum err db_prepare_uncached(struct db *db, const char *sql, struct db_stmt **out);
/* Placeholder indexes start at 1. Text is copied. */
void db_bind_int64(struct db_stmt *st, int idx, int64_t v);
void db_bind_text(struct db_stmt *st, int idx, const char *s, size_t len);
void db_bind_str(struct db_stmt *st, int idx, const char *s); /* NULL binds NULL */
void db_bind_null(struct db_stmt *st, int idx);
/* *row is true when a row is available for the column getters. */
MUST_CHECK enum err db_step(struct db_stmt *st, bool *row);
/* Column indexes start at 0; text stays valid until the next step or db_done(). */
int64_t db_col_int64(struct db_stmt *st, int col);
const char *db_col_text(struct db_stmt *st, int col, size_t *len);
bool db_col_is_null(struct db_stmt *st, int col);
/* Result columns of a statement that has been stepped (for generic copies). */
int db_col_count(struct db_stmt *st);
const char *db_col_name(struct db_stmt *st, int col);
/* Rows changed by the last completed INSERT/UPDATE/DELETE of this statement. */
int64_t db_changes(struct db_stmt *st);
void db_done(struct db_stmt *st);

/*
 * Prepares `sql`, whose one placeholder is an id, and steps to its row:
 * ERR_NOT_FOUND when there is none. On ERR_OK *st is on the row; give it back
 * with db_done(). On error nothing is left to give back.
 */
MUST_CHECK enum err db_row_by_id(struct db *db, const char *sql, int64_t id, struct db_stmt **st);

/* Runs a statement that returns no rows (or ignores them). */
MUST_CHECK enum err db_step_done(struct db_stmt *st);

MUST_CHECK enum err db_begin(struct db *db, enum db_tx kind);
MUST_CHECK enum err db_commit(struct db *db);
/* Safe to call when no transaction is open. */
void db_rollback(struct db *db);
bool db_in_tx(const struct db *db);

/*
 * One fsync wait per request instead of one per commit. Between
 * db_defer_durable() and db_await_durable() a group-committed SQLite commit on
 * this thread returns as soon as it is in the writer's batch;
 * db_await_durable() returns once an fsync covers the batch. The server
 * awaits before it answers, so nothing is acknowledged before it is on disk.
 * Without a deferral each commit waits itself. No-op for other stores.
 */
void db_defer_durable(void);
/* ERR_UNAVAILABLE: a commit of this thread's was lost (storage failure); answer that. */
MUST_CHECK enum err db_await_durable(void);
/*
 * From here to db_await_durable(), this thread's reads on SQLite with group
 * commit run on the shared writer too, under its lock: its page cache is warm,
 * where a reader connection's is dropped whenever anyone writes. For requests
 * that write (the server marks every one but GET): their reads are a few
 * short lookups. Keep slow work out of transactions then. No-op elsewhere.
 */
void db_warm_reads(void);

/* Total time spent inside the store by this process, in microseconds. */
int64_t db_time_us_total(void);

/*
 * SQLite's one writer in this process (zeros on other stores): how long it was
 * held, in microseconds (its share of the time bounds write throughput), how
 * many batches group commit committed, and how many writes they carried.
 */
struct db_writer_stats {
    int64_t held_us;
    uint64_t batches;
    uint64_t writes;
};
void db_writer_stats(struct db_writer_stats *out);

/*
 * An online backup of a SQLite database into a new file `dest`, while others
 * go on reading and writing it: one consistent snapshot (SQLite's backup API
 * in one step, under one read transaction), written to a temporary file next
 * to `dest`, verified (quick_check), synced, and only then renamed to `dest`;
 * the result is a single self-contained file (rollback journal, not WAL).
 * ERR_CONFLICT if `dest` exists; ERR_UNPROCESSABLE on PostgreSQL (whose own
 * tools back it up). `bytes`, if not NULL, gets the size of the copy.
 */
MUST_CHECK enum err db_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei);

/* --- driver interface (db.c dispatches; drivers implement) --- */
struct db_driver {
    const char *name;
    enum err (*open)(const struct db_options *opt, struct db **out, struct errinfo *ei);
    void (*close)(struct db *db);
    const char *(*errmsg)(const struct db *db);
    bool (*alive)(struct db *db);
    enum err (*exec)(struct db *db, const char *sql);
    enum err (*prepare)(struct db *db, const char *sql, bool cache, struct db_stmt **out);
    void (*bind_int64)(struct db_stmt *st, int idx, int64_t v);
    void (*bind_text)(struct db_stmt *st, int idx, const char *s, size_t len);
    void (*bind_null)(struct db_stmt *st, int idx);
    enum err (*step)(struct db_stmt *st, bool *row);
    int64_t (*col_int64)(struct db_stmt *st, int col);
    const char *(*col_text)(struct db_stmt *st, int col, size_t *len);
    bool (*col_is_null)(struct db_stmt *st, int col);
    int (*col_count)(struct db_stmt *st);
    const char *(*col_name)(struct db_stmt *st, int col);
    int64_t (*changes)(struct db_stmt *st);
    void (*done)(struct db_stmt *st);
    enum err (*begin)(struct db *db, enum db_tx kind);
    enum err (*commit)(struct db *db);
    void (*rollback)(struct db *db);
};

/* Every driver's connection and statement start with these headers. */
struct db {
    const struct db_driver *drv;
    enum db_kind kind;
    bool in_tx;
};

struct db_stmt {
    struct db *db;
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_postgres_driver;

/* True when `url` names a PostgreSQL database (postgres:// or postgresql://). */
bool db_url_is_postgres(const char *url);

#endif
