#include "db/db.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

static _Atomic int64_t time_us_total;

void db_stats(struct db *db, struct db_stats *out)
{
    memset(out, 0, sizeof *out);
    if (db->drv->writer_stats)
        db->drv->writer_stats(db, out);
    out->time_us = atomic_load(&time_us_total);
}

void db_defer_durable(struct db *db)
{
    if (db->drv->defer_durable)
        db->drv->defer_durable(db);
}

enum err db_await_durable(struct db *db)
{
    return db->drv->await_durable ? db->drv->await_durable(db) : ERR_OK;
}

void db_warm_reads(struct db *db)
{
    if (db->drv->warm_reads)
        db->drv->warm_reads(db);
}

enum err db_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei)
{
    if (!db->drv->backup)
        return err_set(ei, ERR_UNPROCESSABLE, "db", "this store has no online backup");
    return db->drv->backup(db, dest, bytes, ei);
}

enum err db_sync_files(struct db *db)
{
    return db->drv->sync_files ? db->drv->sync_files(db) : ERR_OK;
}

static int64_t machine_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : (int64_t)1 << 30;
}

int64_t db_default_cache_kib(void)
{
    int64_t kib = machine_memory() / 16 / 1024;
    return kib < 16 * 1024 ? 16 * 1024 : kib > 1024 * 1024 ? 1024 * 1024 : kib;
}

enum err db_open(const struct db_options *opt, struct db **out, struct errinfo *ei)
{
    if (db_url_is_postgres(opt->url))
        return db_postgres_driver.open(opt, out, ei);
    return db_sqlite_driver.open(opt, out, ei);
}

void db_close(struct db *db)
{
    if (db)
        db->drv->close(db);
}

bool db_url_is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

bool db_alive(struct db *db)
{
    return db->drv->alive(db);
}

int db_col_count(struct db_stmt *st)
{
    return st->db->drv->col_count(st);
}

const char *db_col_name(struct db_stmt *st, int col)
{
    return st->db->drv->col_name(st, col);
}

const struct db_caps *db_caps(const struct db *db)
{
    return &db->drv->caps;
}

enum db_kind db_kind(const struct db *db)
{
    return db->kind;
}

const char *db_errmsg(const struct db *db)
{
    return db->drv->errmsg(db);
}

enum err db_exec(struct db *db, const char *sql)
{
    int64_t t0 = clock_mono_us();
    enum err e = db->drv->exec(db, sql);
    atomic_fetch_add(&time_us_total, clock_mono_us() - t0);
    return e;
}

enum err db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    return db->drv->prepare(db, sql, true, out);
}

enum err db_prepare_uncached(struct db *db, const char *sql, struct db_stmt **out)
{
    return db->drv->prepare(db, sql, false, out);
}

void db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
    st->db->drv->bind_int64(st, idx, v);
}

void db_bind_text(struct db_stmt *st, int idx, const char *s, size_t len)
{
    st->db->drv->bind_text(st, idx, s, len);
}

void db_bind_str(struct db_stmt *st, int idx, const char *s)
{
    if (s)
        st->db->drv->bind_text(st, idx, s, strlen(s));
    else
        st->db->drv->bind_null(st, idx);
}

void db_bind_null(struct db_stmt *st, int idx)
{
    st->db->drv->bind_null(st, idx);
}

enum err db_step(struct db_stmt *st, bool *row)
{
    int64_t t0 = clock_mono_us();
    enum err e = st->db->drv->step(st, row);
    atomic_fetch_add(&time_us_total, clock_mono_us() - t0);
    return e;
}

enum err db_step_done(struct db_stmt *st)
{
    bool row;
    enum err e;
    do {
        e = db_step(st, &row);
    } while (e == ERR_OK && row);
    return e;
}

static void bind_args(struct db_stmt *st, const struct db_arg *args, size_t n)
{
    int idx = 1;
    for (size_t k = 0; k < n; k++) {
        const struct db_arg *v = &args[k];
        switch (v->kind) {
        case DB_ARG_SKIP:
            continue;
        case DB_ARG_NULL:
            db_bind_null(st, idx);
            break;
        case DB_ARG_INT:
            db_bind_int64(st, idx, v->i);
            break;
        case DB_ARG_TEXT:
            db_bind_text(st, idx, v->s, v->len);
            break;
        }
        idx++;
    }
}

enum err db_query_(struct db *db, const char *sql, struct db_stmt **st, const struct db_arg *args,
                   size_t n)
{
    *st = NULL;
    enum err e = db_prepare(db, sql, st);
    if (e == ERR_OK)
        bind_args(*st, args, n);
    return e;
}

enum err db_run_(struct db *db, const char *sql, int64_t *changes, const struct db_arg *args,
                 size_t n)
{
    struct db_stmt *st = NULL;
    enum err e = db_query_(db, sql, &st, args, n);
    if (e == ERR_OK)
        e = db_step_done(st);
    if (changes)
        *changes = e == ERR_OK ? db_changes(st) : 0;
    db_done(st);
    return e;
}

enum err db_first_(struct db *db, const char *sql, struct db_stmt **st, const struct db_arg *args,
                   size_t n)
{
    bool row = false;
    enum err e = db_query_(db, sql, st, args, n);
    if (e == ERR_OK)
        e = db_step(*st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e) {
        db_done(*st);
        *st = NULL;
    }
    return e;
}

enum err db_value_(struct db *db, const char *sql, int64_t *out, const struct db_arg *args,
                   size_t n)
{
    struct db_stmt *st = NULL;
    enum err e = db_first_(db, sql, &st, args, n);
    if (e == ERR_OK) {
        *out = db_col_int64(st, 0);
        db_done(st);
    }
    return e;
}

enum err db_read_one_(struct db *db, const char *sql, db_row_fn read, struct arena *a, void *item,
                      const struct db_arg *args, size_t n)
{
    struct db_stmt *st = NULL;
    enum err e = db_first_(db, sql, &st, args, n);
    if (e == ERR_OK) {
        e = read(st, a, item);
        db_done(st);
    }
    return e;
}

bool db_next(struct db_stmt *st, enum err *e)
{
    bool row = false;
    *e = db_step(st, &row);
    return *e == ERR_OK && row;
}

const char *db_col_dup(struct db_stmt *st, int col, struct arena *a)
{
    size_t len = 0;
    const char *t = db_col_text(st, col, &len);
    return t ? arena_strndup(a, t, len) : NULL;
}

enum err db_list_(struct db *db, const char *sql, int64_t limit, size_t size, db_row_fn read,
                  struct arena *a, void **items, size_t *n, bool *more, const struct db_arg *args,
                  size_t nargs)
{
    struct db_stmt *st = NULL;
    enum err e = db_query_(db, sql, &st, args, nargs);
    char *list = arena_alloc(a, (size_t)(limit + 1) * size);
    bool more_ignored;
    if (!more)
        more = &more_ignored;
    *items = list;
    *n = 0;
    *more = false;
    if (!list) {
        db_done(st);
        return ERR_TOO_LARGE;
    }
    while (e == ERR_OK && db_next(st, &e)) {
        if (*n == (size_t)limit) {
            *more = true;
            break;
        }
        if ((e = read(st, a, list + (*n)++ * size)))
            break;
    }
    db_done(st);
    return e ? e : a->exhausted ? ERR_TOO_LARGE : ERR_OK;
}

int64_t db_col_int64(struct db_stmt *st, int col)
{
    return st->db->drv->col_int64(st, col);
}

const char *db_col_text(struct db_stmt *st, int col, size_t *len)
{
    return st->db->drv->col_text(st, col, len);
}

bool db_col_is_null(struct db_stmt *st, int col)
{
    return st->db->drv->col_is_null(st, col);
}

int64_t db_changes(struct db_stmt *st)
{
    return st->db->drv->changes(st);
}

void db_done(struct db_stmt *st)
{
    if (st)
        st->db->drv->done(st);
}

enum err db_begin(struct db *db, enum db_tx kind)
{
    ASSERT(!db->in_tx);
    int64_t t0 = clock_mono_us();
    enum err e = db->drv->begin(db, kind);
    atomic_fetch_add(&time_us_total, clock_mono_us() - t0);
    if (e == ERR_OK)
        db->in_tx = true;
    return e;
}

enum err db_commit(struct db *db)
{
    ASSERT(db->in_tx);
    int64_t t0 = clock_mono_us();
    enum err e = db->drv->commit(db);
    atomic_fetch_add(&time_us_total, clock_mono_us() - t0);
    if (e != ERR_OK)
        db->drv->rollback(db);
    db->in_tx = false;
    return e;
}

void db_rollback(struct db *db)
{
    if (!db->in_tx)
        return;
    db->drv->rollback(db);
    db->in_tx = false;
}

bool db_in_tx(const struct db *db)
{
    return db->in_tx;
}

enum err db_tx_run(struct db *db, enum db_tx kind, db_tx_fn fn, void *ctx)
{
    if (db->in_tx)
        return fn(db, ctx);
    enum err e = ERR_OK;
    for (int attempt = 1;; attempt++) {
        if ((e = db_begin(db, kind)) == ERR_OK) {
            e = fn(db, ctx);
            if (e == ERR_OK)
                e = db_commit(db); /* rolls back when it fails */
            else
                db_rollback(db);
        }
        if (e != ERR_RETRY)
            return e;
        if (attempt == DB_TX_ATTEMPTS) {
            LOG(LOG_WARN, "retries_exhausted", "attempts=%d", attempt);
            return e;
        }
        /* full jitter in a window that doubles: 1, 2, 4 ... 64 ms */
        uint32_t window = attempt < 7 ? 1000u << (attempt - 1) : 64000u;
        usleep((useconds_t)(100 + randombytes_uniform(window)));
    }
}
