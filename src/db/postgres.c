/*
 * postgres.c - the PostgreSQL driver of db.h, on libpq.
 *
 * One libpq connection per struct db (one per worker thread). `?`
 * placeholders are numbered `$1..$n` once, at prepare time, skipping quoted
 * text. Statements from the cache become named server-side prepared
 * statements of their connection; uncached ones use PQexecParams. Values are
 * sent and read in text format. A step runs the statement on first call and
 * then walks the rows of its result.
 *
 * Transactions: reads are REPEATABLE READ READ ONLY (one snapshot); writes
 * are SERIALIZABLE, which gives the "one writer at a time" semantics the
 * domain relies on with SQLite's BEGIN IMMEDIATE. A serialization failure or
 * deadlock is ERR_RETRY: the caller reruns the whole transaction.
 *
 * Errors: 23505 (unique) -> ERR_CONFLICT; 40001/40P01 -> ERR_RETRY; a lost
 * connection (class 08, 57P0x, or a bad connection status) -> ERR_UNAVAILABLE
 * and db_alive() turns false so that the pool reconnects.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/stmtcache.h"
#include "util/arena.h"
#include "util/assert.h"
#include "util/log.h"

#define PG_MAX_PARAMS 32767 /* the protocol's limit */

struct pg_stmt {
    struct db_stmt base;
    const char *key; /* cache key (SQL address), or NULL when uncached */
    char *sql;       /* with $n placeholders */
    char name[24];   /* server-side name, "" when not prepared */
    int nparams;
    char **values; /* nparams entries */
    int *lengths;
    PGresult *res;
    int row; /* next row to return */
    int nrows;
    int64_t changes;
    bool executed;
    bool in_use;
    bool cached;
};

struct pg_db {
    struct db base;
    PGconn *conn;
    bool broken;
    unsigned next_name;
    struct stmt_cache cache;
    char errmsg[256];
};

static void set_errmsg(struct pg_db *d, const char *msg)
{
    snprintf(d->errmsg, sizeof d->errmsg, "%s", msg ? msg : "");
    size_t n = strlen(d->errmsg);
    while (n && (d->errmsg[n - 1] == '\n' || d->errmsg[n - 1] == ' '))
        d->errmsg[--n] = '\0';
    for (char *p = d->errmsg; *p; p++)
        if (*p == '"' || *p == '\n')
            *p = '\'';
}

static void free_cached(void *p);

static enum err map_result(struct pg_db *d, PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
        return ERR_OK;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    set_errmsg(d, res ? PQresultErrorMessage(res) : PQerrorMessage(d->conn));
    if (PQstatus(d->conn) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P0", 4) == 0) {
        d->broken = true;
        LOG(LOG_ERROR, "db_connection_lost", "msg=\"%s\"", d->errmsg);
        return ERR_UNAVAILABLE;
    }
    if (strcmp(state, "23505") == 0)
        return ERR_CONFLICT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        LOG(LOG_INFO, "db_retry", "sqlstate=%s", state);
        return ERR_RETRY;
    }
    LOG(LOG_ERROR, "db_error", "sqlstate=%s msg=\"%s\"", state, d->errmsg);
    return ERR_DB;
}

static enum err pg_exec(struct db *db, const char *sql)
{
    struct pg_db *d = (struct pg_db *)db;
    PGresult *res = PQexec(d->conn, sql);
    enum err e = map_result(d, res);
    PQclear(res);
    return e;
}

static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs (e.g. "relation already exists, skipping") are not errors */
}

static enum err pg_open(const struct db_options *opt, struct db **out, struct errinfo *ei)
{
    PGconn *conn = PQconnectdb(opt->url);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s", conn ? PQerrorMessage(conn) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(conn);
        return err_set(ei, ERR_UNAVAILABLE, "db", "cannot connect to PostgreSQL: %s", msg);
    }
    PQsetNoticeProcessor(conn, notice_quiet, NULL);
    struct pg_db *d = xcalloc(1, sizeof *d);
    d->base.drv = &db_postgres_driver;
    d->base.kind = DB_POSTGRES;
    d->conn = conn;
    stmt_cache_init(&d->cache);
    /* UTC, UTF-8, and no statement runs forever */
    if (pg_exec(&d->base, "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC';"
                          " SET statement_timeout = '30s'") != ERR_OK) {
        enum err e = err_set(ei, ERR_UNAVAILABLE, "db", "cannot set up the PostgreSQL session: %s",
                             d->errmsg);
        db_postgres_driver.close(&d->base);
        return e;
    }
    *out = &d->base;
    return ERR_OK;
}

static void stmt_clear_values(struct pg_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
        s->lengths[i] = 0;
    }
}

static void stmt_free(struct pg_stmt *s)
{
    stmt_clear_values(s);
    free(s->values);
    free(s->lengths);
    PQclear(s->res);
    free(s->sql);
    free(s);
}

static void pg_close(struct db *db)
{
    struct pg_db *d = (struct pg_db *)db;
    stmt_cache_release(&d->cache, free_cached);
    PQfinish(d->conn);
    free(d);
}

static const char *pg_errmsg(const struct db *db)
{
    return ((const struct pg_db *)db)->errmsg;
}

static bool pg_alive(struct db *db)
{
    struct pg_db *d = (struct pg_db *)db;
    return !d->broken && PQstatus(d->conn) == CONNECTION_OK;
}

/* `?` -> `$n` outside quoted text and comments; returns the parameter count or -1. */
static int number_placeholders(const char *in, char **out)
{
    size_t len = strlen(in);
    char *o = xmalloc(len * 6 + 1); /* "?" -> "$32767" */
    size_t k = 0;
    int n = 0;
    char quote = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (quote) {
            o[k++] = c;
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
            o[k++] = c;
        } else if (c == '-' && in[i + 1] == '-') {
            while (i < len && in[i] != '\n')
                o[k++] = in[i++];
            if (i < len)
                o[k++] = '\n';
        } else if (c == '?') {
            if (++n > PG_MAX_PARAMS) {
                free(o);
                return -1;
            }
            k += (size_t)sprintf(o + k, "$%d", n);
        } else {
            o[k++] = c;
        }
    }
    o[k] = '\0';
    *out = o;
    return n;
}

static void free_cached(void *p)
{
    stmt_free(p);
}

static enum err pg_prepare(struct db *db, const char *sql, bool cache, struct db_stmt **out)
{
    struct pg_db *d = (struct pg_db *)db;
    struct pg_stmt *cached = stmt_cache_get(&d->cache, sql);
    struct pg_stmt *st = cache ? cached : NULL;
    if (st && !st->in_use) {
        st->in_use = true;
        *out = &st->base;
        return ERR_OK;
    }
    struct pg_stmt *n = xcalloc(1, sizeof *n);
    n->base.db = db;
    n->nparams = number_placeholders(sql, &n->sql);
    if (n->nparams < 0) {
        free(n);
        LOG(LOG_ERROR, "db_prepare_failed", "msg=\"too many parameters\" sql=\"%.80s\"", sql);
        return ERR_DB;
    }
    n->values = xcalloc((size_t)n->nparams + 1, sizeof *n->values);
    n->lengths = xcalloc((size_t)n->nparams + 1, sizeof *n->lengths);
    n->in_use = true;
    if (cache && !cached) {
        /* a named server-side statement, prepared once per connection */
        snprintf(n->name, sizeof n->name, "q%u", ++d->next_name);
        PGresult *res = PQprepare(d->conn, n->name, n->sql, 0, NULL);
        enum err e = map_result(d, res);
        PQclear(res);
        if (e) {
            LOG(LOG_ERROR, "db_prepare_failed", "msg=\"%s\" sql=\"%.80s\"", d->errmsg, sql);
            stmt_free(n);
            return e;
        }
        n->key = sql;
        n->cached = true;
        stmt_cache_put(&d->cache, sql, n);
    }
    *out = &n->base;
    return ERR_OK;
}

static void set_value(struct pg_stmt *s, int idx, char *v, int len)
{
    ASSERT(idx >= 1 && idx <= s->nparams);
    free(s->values[idx - 1]);
    s->values[idx - 1] = v;
    s->lengths[idx - 1] = len;
}

static void pg_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
    char *buf = xmalloc(24);
    int n = snprintf(buf, 24, "%" PRId64, v);
    set_value((struct pg_stmt *)st, idx, buf, n);
}

static void pg_bind_text(struct db_stmt *st, int idx, const char *s, size_t len)
{
    char *buf = xmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    set_value((struct pg_stmt *)st, idx, buf, (int)len);
}

static void pg_bind_null(struct db_stmt *st, int idx)
{
    set_value((struct pg_stmt *)st, idx, NULL, 0);
}

static enum err pg_step(struct db_stmt *st, bool *row)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    struct pg_db *d = (struct pg_db *)st->db;
    *row = false;
    if (!s->executed) {
        s->executed = true;
        const char *const *values = (const char *const *)s->values;
        if (s->name[0])
            s->res = PQexecPrepared(d->conn, s->name, s->nparams, values, s->lengths, NULL, 0);
        else
            s->res = PQexecParams(d->conn, s->sql, s->nparams, NULL, values, s->lengths, NULL, 0);
        enum err e = map_result(d, s->res);
        if (e) {
            PQclear(s->res);
            s->res = NULL;
            return e;
        }
        s->nrows = PQntuples(s->res);
        s->row = -1;
        const char *ct = PQcmdTuples(s->res);
        s->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
    }
    if (s->row + 1 < s->nrows) {
        s->row++;
        *row = true;
    }
    return ERR_OK;
}

static int64_t pg_col_int64(struct db_stmt *st, int col)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    if (PQgetisnull(s->res, s->row, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == 16) /* boolean ('t'/'f'), as SQLite's 1/0 */
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_col_text(struct db_stmt *st, int col, size_t *len)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    if (PQgetisnull(s->res, s->row, col)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = (size_t)PQgetlength(s->res, s->row, col);
    return PQgetvalue(s->res, s->row, col);
}

static bool pg_col_is_null(struct db_stmt *st, int col)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    return PQgetisnull(s->res, s->row, col) != 0;
}

static int pg_col_count(struct db_stmt *st)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    return s->res ? PQnfields(s->res) : 0;
}

static const char *pg_col_name(struct db_stmt *st, int col)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    return s->res ? PQfname(s->res, col) : NULL;
}

static int64_t pg_changes(struct db_stmt *st)
{
    return ((struct pg_stmt *)st)->changes;
}

static void pg_done(struct db_stmt *st)
{
    struct pg_stmt *s = (struct pg_stmt *)st;
    PQclear(s->res);
    s->res = NULL;
    s->executed = false;
    s->nrows = 0;
    s->row = -1;
    s->changes = 0;
    stmt_clear_values(s);
    if (s->cached)
        s->in_use = false;
    else
        stmt_free(s);
}

static enum err pg_begin(struct db *db, enum db_tx kind)
{
    switch (kind) {
    case DB_TX_WRITE:
        return pg_exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    case DB_TX_WRITE_LOCKED:
        return pg_exec(db, "BEGIN ISOLATION LEVEL READ COMMITTED");
    default:
        return pg_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    }
}

static enum err pg_commit(struct db *db)
{
    return pg_exec(db, "COMMIT");
}

static void pg_rollback(struct db *db)
{
    struct pg_db *d = (struct pg_db *)db;
    if (PQtransactionStatus(d->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(d->conn, "ROLLBACK");
        PQclear(res);
    }
}

static enum err pg_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei)
{
    (void)db, (void)dest, (void)bytes;
    return err_set(ei, ERR_UNPROCESSABLE, "db",
                   "backup copies a SQLite database; back PostgreSQL up with its own tools"
                   " (pg_dump, or base backups and WAL archiving)");
}

const struct db_driver db_postgres_driver = {
    .name = "postgres",
    .caps = {.serial_writes = false, .one_server = false, .online_backup = false},
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .alive = pg_alive,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_int64 = pg_col_int64,
    .col_text = pg_col_text,
    .col_is_null = pg_col_is_null,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .changes = pg_changes,
    .done = pg_done,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .backup = pg_backup,
};
