#include "db/fault.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/log.h"

struct fault_db {
    struct db base;
    struct db_driver drv; /* the template below, with the inner store's capabilities */
    struct db *inner;
    struct db_fault *plan;
};

struct fault_stmt {
    struct db_stmt base;
    struct db_stmt *inner;
};

static struct fault_db *fdb(const struct db *db)
{
    return (struct fault_db *)db;
}

static struct db_stmt *inner_of(struct db_stmt *st)
{
    return ((struct fault_stmt *)st)->inner;
}

/* Counts a call that can fail; true when it is the one to fail. */
static bool strike(struct fault_db *d, const char *what)
{
    struct db_fault *p = d->plan;
    if (p->commits_only && strcmp(what, "commit") != 0)
        return false;
    if (++p->calls != p->fail_at)
        return false;
    p->fired = true;
    LOG(LOG_INFO, "db_fault", "call=%lld what=%s error=%s", (long long)p->calls, what,
        err_code(p->error));
    return true;
}

static void fault_close(struct db *db)
{
    free(fdb(db));
}

static const char *fault_errmsg(const struct db *db)
{
    return db_errmsg(fdb(db)->inner);
}

static bool fault_alive(struct db *db)
{
    return db_alive(fdb(db)->inner);
}

static enum err fault_exec(struct db *db, const char *sql)
{
    struct fault_db *d = fdb(db);
    return strike(d, "exec") ? d->plan->error : db_exec(d->inner, sql);
}

static enum err fault_prepare(struct db *db, const char *sql, bool cache, struct db_stmt **out)
{
    struct fault_db *d = fdb(db);
    struct db_stmt *in = NULL;
    if (strike(d, "prepare"))
        return d->plan->error;
    enum err e = cache ? db_prepare(d->inner, sql, &in) : db_prepare_uncached(d->inner, sql, &in);
    if (e)
        return e;
    struct fault_stmt *st = xcalloc(1, sizeof *st);
    st->base.db = db;
    st->inner = in;
    *out = &st->base;
    return ERR_OK;
}

static void fault_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
    db_bind_int64(inner_of(st), idx, v);
}

static void fault_bind_text(struct db_stmt *st, int idx, const char *s, size_t len)
{
    db_bind_text(inner_of(st), idx, s, len);
}

static void fault_bind_null(struct db_stmt *st, int idx)
{
    db_bind_null(inner_of(st), idx);
}

static enum err fault_step(struct db_stmt *st, bool *row)
{
    struct fault_db *d = fdb(st->db);
    if (strike(d, "step")) {
        *row = false;
        return d->plan->error;
    }
    return db_step(inner_of(st), row);
}

static int64_t fault_col_int64(struct db_stmt *st, int col)
{
    return db_col_int64(inner_of(st), col);
}

static const char *fault_col_text(struct db_stmt *st, int col, size_t *len)
{
    return db_col_text(inner_of(st), col, len);
}

static bool fault_col_is_null(struct db_stmt *st, int col)
{
    return db_col_is_null(inner_of(st), col);
}

static int fault_col_count(struct db_stmt *st)
{
    return db_col_count(inner_of(st));
}

static const char *fault_col_name(struct db_stmt *st, int col)
{
    return db_col_name(inner_of(st), col);
}

static int64_t fault_changes(struct db_stmt *st)
{
    return db_changes(inner_of(st));
}

static void fault_done(struct db_stmt *st)
{
    db_done(inner_of(st));
    free(st);
}

static enum err fault_begin(struct db *db, enum db_tx kind)
{
    struct fault_db *d = fdb(db);
    return strike(d, "begin") ? d->plan->error : db_begin(d->inner, kind);
}

/* A commit that fails here never reaches the store: db_commit() then rolls back. */
static enum err fault_commit(struct db *db)
{
    struct fault_db *d = fdb(db);
    return strike(d, "commit") ? d->plan->error : db_commit(d->inner);
}

static void fault_rollback(struct db *db)
{
    db_rollback(fdb(db)->inner);
}

static void fault_defer_durable(struct db *db)
{
    db_defer_durable(fdb(db)->inner);
}

static enum err fault_await_durable(struct db *db)
{
    return db_await_durable(fdb(db)->inner);
}

static void fault_warm_reads(struct db *db)
{
    db_warm_reads(fdb(db)->inner);
}

static void fault_writer_stats(struct db *db, struct db_stats *out)
{
    db_stats(fdb(db)->inner, out);
}

static enum err fault_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei)
{
    return db_backup(fdb(db)->inner, dest, bytes, ei);
}

static const struct db_driver fault_driver = {
    .name = "fault",
    .close = fault_close,
    .errmsg = fault_errmsg,
    .alive = fault_alive,
    .exec = fault_exec,
    .prepare = fault_prepare,
    .bind_int64 = fault_bind_int64,
    .bind_text = fault_bind_text,
    .bind_null = fault_bind_null,
    .step = fault_step,
    .col_int64 = fault_col_int64,
    .col_text = fault_col_text,
    .col_is_null = fault_col_is_null,
    .col_count = fault_col_count,
    .col_name = fault_col_name,
    .changes = fault_changes,
    .done = fault_done,
    .begin = fault_begin,
    .commit = fault_commit,
    .rollback = fault_rollback,
    .defer_durable = fault_defer_durable,
    .await_durable = fault_await_durable,
    .warm_reads = fault_warm_reads,
    .writer_stats = fault_writer_stats,
    .backup = fault_backup,
};

enum err db_fault_wrap(struct db *inner, struct db_fault *plan, struct db **out)
{
    struct fault_db *d = xcalloc(1, sizeof *d);
    d->drv = fault_driver;
    d->drv.caps = *db_caps(inner);
    d->base.drv = &d->drv;
    d->base.kind = db_kind(inner);
    d->inner = inner;
    d->plan = plan;
    *out = &d->base;
    return ERR_OK;
}
