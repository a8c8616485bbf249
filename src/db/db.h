/*
 * db.h - the whole store contract: connections, cached prepared statements,
 * typed binding and columns, queries as one call, transactions run (and run
 * again) by db_tx_run(), what a store can do (db_caps), the durability of a
 * request's writes, statistics and online backup.
 *
 * Domain code writes SQL once, in the portable subset (DESIGN.md §4): `?`
 * placeholders, integer millisecond timestamps, 0/1 booleans, RETURNING and
 * ON CONFLICT allowed, no backend-specific functions. It asks a store what
 * it can do (db_caps), never which store it is. Two drivers implement this
 * interface, src/db/sqlite/ and src/db/postgres.c, and a third wraps either
 * to fail on purpose in tests (src/db/fault.c); nothing else includes a
 * driver's header. db.c dispatches, and counts the time spent in the store.
 *
 * A connection belongs to one thread at a time. Statements come from a
 * per-connection cache keyed by the address of the SQL text, so `sql` must be
 * a string with static storage (a literal). Every statement obtained with
 * db_prepare() or db_query() is given back with db_done(), which resets it.
 *
 * Errors: ERR_CONFLICT for a unique or primary-key violation, ERR_RETRY when a
 * write transaction lost a serialization race (PostgreSQL) and must be run
 * again from its start (db_tx_run() does), ERR_UNAVAILABLE when the store is
 * busy past its timeout or unreachable, ERR_DB otherwise (the driver's
 * message is logged, never sent to clients).
 */
#ifndef QUANZI_DB_DB_H
#define QUANZI_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/arena.h"
#include "util/err.h"

enum db_kind { DB_SQLITE, DB_POSTGRES };

/*
 * What a store does, for the domain to ask; the domain never asks which
 * store it is.
 */
struct db_caps {
    /*
     * Write transactions run one at a time, whole (SQLite): no other writer
     * can interleave, so an explicit row lock, or a claim row that another
     * writer should see before the commit, buys nothing. Without it writes
     * run concurrently, and a read-then-write locks what it reads.
     */
    bool serial_writes;
    /*
     * One server process makes every change to the store (SQLite: the
     * server owns its file): a cache in this process's memory sees every
     * change made to what it caches. Without it, other processes write too.
     */
    bool one_server;
    /* db_backup() copies the store online (SQLite). */
    bool online_backup;
};
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
    /* SQLite: the page cache of the connection that writes (a group commit's shared writer,
     * or a connection of its own), in KiB; connections that only read get an eighth (they
     * read through the mapping). 0: db_default_cache_kib(). */
    int64_t cache_kib;
    /* SQLite: how much of the database file is read through a memory mapping instead of
     * copied by read() calls, in bytes; 0: none. Off by default: measured, it cost the
     * order path 200 us per order (a page the writer changes is first copied out of the
     * mapping, and the mapping follows the file as checkpoints grow it). */
    int64_t mmap_bytes;
};

/* From the machine: a sixteenth of its memory, 16 MiB to 1 GiB. */
int64_t db_default_cache_kib(void);

MUST_CHECK enum err db_open(const struct db_options *opt, struct db **out, struct errinfo *ei);
void db_close(struct db *db);
enum db_kind db_kind(const struct db *db);
const struct db_caps *db_caps(const struct db *db);
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

/* Runs a statement that returns no rows (or ignores them). */
MUST_CHECK enum err db_step_done(struct db_stmt *st);

/*
 * One call per query. The shapes that are one thought - prepare, bind, step,
 * give back - are one call each, with the values to bind listed after the
 * out-parameters, in placeholder order:
 *
 *     e = db_run(db, "UPDATE t SET x = ? WHERE id = ?", DB_STR(x), DB_INT(id));
 *     e = db_first(db, "SELECT a, b FROM t WHERE id = ?", &st, DB_INT(id));
 *     ... db_col_int64(st, 0) ...; db_done(st);
 *     e = db_value(db, "SELECT COUNT(*) FROM t WHERE k = ?", &n, DB_INT(k));
 *
 * A value is DB_INT(v), DB_STR(s) (NULL binds NULL), DB_TEXT(s, len),
 * DB_REF(id) (an optional reference: 0 binds NULL), DB_NULL, or DB_SKIP (binds
 * nothing, for a placeholder only some variants of a query have).
 * A statement left to the caller (db_query, db_first on ERR_OK) is given back
 * with db_done(); on an error nothing is left to give back.
 */
enum db_arg_kind { DB_ARG_SKIP, DB_ARG_NULL, DB_ARG_INT, DB_ARG_TEXT };
struct db_arg {
    enum db_arg_kind kind;
    int64_t i;
    const char *s;
    size_t len;
};
static inline struct db_arg db_arg_str(const char *s)
{
    return s ? (struct db_arg){.kind = DB_ARG_TEXT, .s = s, .len = strlen(s)}
             : (struct db_arg){.kind = DB_ARG_NULL};
}
static inline struct db_arg db_arg_ref(int64_t id)
{
    return id ? (struct db_arg){.kind = DB_ARG_INT, .i = id} : (struct db_arg){.kind = DB_ARG_NULL};
}
#define DB_INT(value) ((struct db_arg){.kind = DB_ARG_INT, .i = (value)})
#define DB_STR(s) db_arg_str(s)
#define DB_TEXT(text, n) ((struct db_arg){.kind = DB_ARG_TEXT, .s = (text), .len = (n)})
#define DB_REF(id) db_arg_ref(id)
#define DB_NULL ((struct db_arg){.kind = DB_ARG_NULL})
/* No value at all: for a placeholder that only some variants of a query have. */
#define DB_SKIP ((struct db_arg){.kind = DB_ARG_SKIP})
/* The list of values: a leading placeholder (skipped) keeps an empty list valid C. */
#define DB_ARGV_(...)                                                                              \
    (const struct db_arg[]){{.kind = DB_ARG_SKIP}, __VA_ARGS__},                                   \
        sizeof((const struct db_arg[]){{.kind = DB_ARG_SKIP}, __VA_ARGS__}) /                      \
            sizeof(struct db_arg)

/* Runs a statement to its end; *changes (if not NULL): the rows it changed. */
MUST_CHECK enum err db_run_(struct db *db, const char *sql, int64_t *changes,
                            const struct db_arg *args, size_t n);
/* Prepares and binds; the caller steps (db_next) and gives it back. */
MUST_CHECK enum err db_query_(struct db *db, const char *sql, struct db_stmt **st,
                              const struct db_arg *args, size_t n);
/* Prepares, binds and steps to the first row: ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err db_first_(struct db *db, const char *sql, struct db_stmt **st,
                              const struct db_arg *args, size_t n);
/* The first column of the first row as an integer: ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err db_value_(struct db *db, const char *sql, int64_t *out,
                              const struct db_arg *args, size_t n);
#define db_run(db, sql, ...) db_run_((db), (sql), NULL, DB_ARGV_(__VA_ARGS__))
#define db_run_changes(db, sql, changes, ...) db_run_((db), (sql), (changes), DB_ARGV_(__VA_ARGS__))
#define db_query(db, sql, st, ...) db_query_((db), (sql), (st), DB_ARGV_(__VA_ARGS__))
#define db_first(db, sql, st, ...) db_first_((db), (sql), (st), DB_ARGV_(__VA_ARGS__))
#define db_value(db, sql, out, ...) db_value_((db), (sql), (out), DB_ARGV_(__VA_ARGS__))

/*
 * Steps a query: true when a row is there to read; false at the end or on an
 * error, which it leaves in *e (ERR_OK at the end).
 *     while (db_next(st, &e)) { ... }
 */
bool db_next(struct db_stmt *st, enum err *e);
/* A text column copied into `a`; NULL stays NULL. */
const char *db_col_dup(struct db_stmt *st, int col, struct arena *a);

/* Reads the row a statement is on into `item`, allocating in `a`. */
typedef enum err (*db_row_fn)(struct db_stmt *st, struct arena *a, void *item);

/*
 * The first row of a query read by `read` into `item` (allocating in `a`),
 * the statement given back: one call for "get this object".
 *     e = db_read_one(db, "SELECT ... WHERE id = ?", read_row, a, out, DB_INT(id));
 * ERR_NOT_FOUND when there is no row; the reader's error otherwise.
 */
MUST_CHECK enum err db_read_one_(struct db *db, const char *sql, db_row_fn read, struct arena *a,
                                 void *item, const struct db_arg *args, size_t n);
#define db_read_one(db, sql, read, a, item, ...)                                                   \
    db_read_one_((db), (sql), (read), (a), (item), DB_ARGV_(__VA_ARGS__))

/*
 * A page of a list, one call: the rows of `sql` with its values (a query
 * that asks for limit + 1: an extra row says there are more, *more), each read
 * by `read` into an array of `size`-byte items allocated in `a` (*items, *n of
 * them). ERR_TOO_LARGE when `a` ran out. With `more` NULL: the first `limit`
 * rows of a list that is bounded anyway.
 *     void *items = NULL;
 *     e = db_list(db, sql, limit, sizeof **out, read_row, a, &items, n, more, DB_INT(id));
 *     *out = items;
 */
MUST_CHECK enum err db_list_(struct db *db, const char *sql, int64_t limit, size_t size,
                             db_row_fn read, struct arena *a, void **items, size_t *n, bool *more,
                             const struct db_arg *args, size_t nargs);
#define db_list(db, sql, limit, size, read, a, items, n, more, ...)                                \
    db_list_((db), (sql), (limit), (size), (read), (a), (items), (n), (more), DB_ARGV_(__VA_ARGS__))

/*
 * Runs fn(db, ctx) as one transaction of `kind`: begins, commits when fn
 * returns ERR_OK, rolls back otherwise, and when fn or the commit lost a
 * serialization race (ERR_RETRY: PostgreSQL, or a domain rule that saw a
 * racing change) runs it again from its start after a random pause, in a
 * window that doubles from 1 ms to 64 ms (DB_TX_ATTEMPTS in all, about 0.4 s
 * at most): contenders on one row spread out instead of colliding again in
 * step. fn must therefore be safe to run again: it reads what it decides on
 * inside the transaction and writes its results only through ctx.
 * Every transaction of the domain, for requests, jobs and the CLI alike,
 * runs through here. Inside an open transaction fn simply joins it (the
 * outer one commits and retries). Returns fn's error, the commit's, or
 * ERR_RETRY once the attempts are spent (logged as retries_exhausted).
 */
#define DB_TX_ATTEMPTS 12
typedef enum err (*db_tx_fn)(struct db *db, void *ctx);
MUST_CHECK enum err db_tx_run(struct db *db, enum db_tx kind, db_tx_fn fn, void *ctx);

/* The steps db_tx_run() is made of; migrations and copies use them directly. */
MUST_CHECK enum err db_begin(struct db *db, enum db_tx kind);
MUST_CHECK enum err db_commit(struct db *db);
/* Safe to call when no transaction is open. */
void db_rollback(struct db *db);
bool db_in_tx(const struct db *db);

/*
 * Durability of a request's writes (a store's mode, asked of it, never of
 * which store it is). Between db_defer_durable() and db_await_durable() a
 * commit of this thread that the store batches with others (SQLite's group
 * commit) returns as soon as it is in the batch; db_await_durable() returns
 * once the batch is on disk. The server awaits before it answers, so nothing
 * is acknowledged before it is durable; without a deferral each commit
 * waits itself. No-ops on stores whose every commit is durable when it
 * returns (PostgreSQL).
 */
void db_defer_durable(struct db *db);
/* ERR_UNAVAILABLE: a commit of this thread's was lost (storage failure); answer that. */
MUST_CHECK enum err db_await_durable(struct db *db);
/*
 * From here to db_await_durable(), this thread's reads may run where its
 * writes do (SQLite with group commit: on the shared writer, under its lock,
 * whose page cache is warm, where a reader connection's is dropped whenever
 * anyone writes). For requests that write (the server marks every one but
 * GET): their reads are a few short lookups. Keep slow work out of
 * transactions then. No-op elsewhere.
 */
void db_warm_reads(struct db *db);

/*
 * What the store did in this process: the time spent in it, and (SQLite,
 * zeros elsewhere) how long its one writer was held, in microseconds (its
 * share of the time bounds write throughput), how many batches group commit
 * committed, and how many writes they carried.
 */
struct db_stats {
    int64_t time_us;
    int64_t writer_held_us;
    uint64_t batches;
    uint64_t writes;
};
void db_stats(struct db *db, struct db_stats *out);

/*
 * An online backup into a new file `dest`, while others go on reading and
 * writing: one consistent snapshot, written next to `dest`, verified, synced,
 * and only then renamed to `dest` (SQLite: a single self-contained file).
 * ERR_CONFLICT if `dest` exists; ERR_UNPROCESSABLE, naming what to use
 * instead, where the store is backed up by its own tools (PostgreSQL).
 * `bytes`, if not NULL, gets the size of the copy.
 */
MUST_CHECK enum err db_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei);

/*
 * Makes the store's files themselves durable, not only what is in them: SQLite syncs the
 * folder, so that the log file a start made (a clean stop deletes it) cannot vanish in a
 * power cut with the commits acknowledged in it. Called once the store is migrated, before
 * anything is served. Nothing to do on PostgreSQL.
 */
MUST_CHECK enum err db_sync_files(struct db *db);

/* --- driver interface (db.c dispatches; drivers implement) --- */
struct db_driver {
    const char *name;
    struct db_caps caps;
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
    /* optional (NULL: nothing to do, zeros) */
    void (*defer_durable)(struct db *db);
    enum err (*await_durable)(struct db *db);
    void (*warm_reads)(struct db *db);
    void (*writer_stats)(struct db *db, struct db_stats *out);
    enum err (*backup)(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei);
    enum err (*sync_files)(struct db *db);
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
