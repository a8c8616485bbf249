#include "db/copy.h"

#include <stdlib.h>
#include <string.h>

#include "db/migrate.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"

#define MAX_TABLES 128
#define BATCH_PARAMS 4000

/* `in` between two `q`s, any `q` in it doubled; false when it does not fit. */
static bool quote_with(const char *in, char q, char *out, size_t size)
{
    size_t k = 0;
    if (size < 3)
        return false;
    out[k++] = q;
    for (const char *c = in; *c; c++) {
        if (k + (*c == q ? 2 : 1) + 2 > size)
            return false;
        if (*c == q)
            out[k++] = q;
        out[k++] = *c;
    }
    out[k++] = q;
    out[k] = '\0';
    return true;
}

/*
 * An identifier read from the source file, quoted for SQL: a file made to
 * inject SQL through a table or column name gets a name that matches nothing.
 */
static bool quote_ident(const char *name, char *out, size_t size)
{
    return quote_with(name, '"', out, size);
}

/* The same quoted identifier inside a string literal. */
static bool quote_ident_literal(const char *name, char *out, size_t size)
{
    char ident[256];
    return quote_ident(name, ident, sizeof ident) && quote_with(ident, '\'', out, size);
}

/* Names of the source's tables in creation order, except the migrations table. */
static enum err list_tables(struct db *from, char **names, int *n)
{
    static const char sql[] = "SELECT name FROM sqlite_master WHERE type = 'table'"
                              " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"
                              " ORDER BY rowid";
    struct db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    enum err e = db_prepare_uncached(from, sql, &st);
    if (e)
        return e;
    while ((e = db_step(st, &row)) == ERR_OK && row && *n < MAX_TABLES)
        names[(*n)++] = xstrdup(db_col_text(st, 0, NULL));
    db_done(st);
    return e;
}

static enum err count_rows(struct db *db, const char *table, int64_t *count)
{
    char sql[512], name[256];
    if (!quote_ident(table, name, sizeof name))
        return ERR_INVALID;
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", name);
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare_uncached(db, sql, &st);
    if (e)
        return e;
    e = db_step(st, &row);
    *count = (e == ERR_OK && row) ? db_col_int64(st, 0) : 0;
    db_done(st);
    return e;
}

struct pending {
    struct buf sql;
    char **vals; /* NULL entries bind NULL */
    size_t *lens;
    int n;
};

static enum err flush(struct db *to, struct pending *p)
{
    if (p->n == 0)
        return ERR_OK;
    struct db_stmt *st = NULL;
    enum err e = db_prepare_uncached(to, p->sql.ptr, &st);
    if (e == ERR_OK) {
        for (int i = 0; i < p->n; i++) {
            if (p->vals[i])
                db_bind_text(st, i + 1, p->vals[i], p->lens[i]);
            else
                db_bind_null(st, i + 1);
        }
        e = db_step_done(st);
        db_done(st);
    }
    for (int i = 0; i < p->n; i++) {
        free(p->vals[i]);
        p->vals[i] = NULL;
    }
    p->n = 0;
    return e;
}

static enum err copy_table(struct db *from, struct db *to, const char *table, int64_t *copied)
{
    char sql[512], name[256], col[256];
    if (!quote_ident(table, name, sizeof name))
        return ERR_INVALID;
    snprintf(sql, sizeof sql, "SELECT * FROM %s", name);
    struct db_stmt *st = NULL;
    bool row = false;
    struct pending p = {0};
    struct buf head;
    buf_init(&head, 64 * 1024);
    buf_init(&p.sql, 16 * 1024 * 1024);
    p.vals = xcalloc(BATCH_PARAMS, sizeof *p.vals);
    p.lens = xcalloc(BATCH_PARAMS, sizeof *p.lens);
    int ncols = 0, rows_in_batch = 0, batch_rows = 0;
    bool has_id = false;
    *copied = 0;
    enum err e = db_prepare_uncached(from, sql, &st);
    if (e)
        goto out;
    while ((e = db_step(st, &row)) == ERR_OK && row) {
        if (ncols == 0) {
            ncols = db_col_count(st);
            batch_rows = BATCH_PARAMS / ncols;
            buf_printf(&head, "INSERT INTO %s (", name);
            for (int c = 0; c < ncols; c++) {
                if (!quote_ident(db_col_name(st, c), col, sizeof col)) {
                    e = ERR_INVALID;
                    break;
                }
                buf_printf(&head, "%s%s", c ? ", " : "", col);
                has_id |= strcmp(db_col_name(st, c), "id") == 0;
            }
            if (e)
                break;
            buf_printf(&head, ") VALUES ");
        }
        if (rows_in_batch == 0) {
            p.sql.len = 0;
            buf_add(&p.sql, head.ptr, head.len);
        }
        buf_printf(&p.sql, "%s(", rows_in_batch ? ", " : "");
        for (int c = 0; c < ncols; c++) {
            size_t len = 0;
            const char *v = db_col_text(st, c, &len);
            p.vals[p.n] = v ? xmalloc(len + 1) : NULL;
            if (v) {
                memcpy(p.vals[p.n], v, len);
                p.vals[p.n][len] = '\0';
            }
            p.lens[p.n] = len;
            p.n++;
            buf_printf(&p.sql, "%s?", c ? ", " : "");
        }
        buf_add(&p.sql, ")", 1);
        (*copied)++;
        if (++rows_in_batch == batch_rows) {
            e = flush(to, &p);
            rows_in_batch = 0;
            if (e)
                break;
        }
    }
    if (e == ERR_OK)
        e = flush(to, &p);
    db_done(st);
    /* identity columns continue after the copied ids */
    if (e == ERR_OK && has_id) {
        char fix[1024], literal[512];
        if (!quote_ident_literal(table, literal, sizeof literal))
            e = ERR_INVALID;
        else {
            snprintf(fix, sizeof fix,
                     "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM %s))",
                     literal, name);
            e = db_exec(to, fix);
        }
    }
out:
    for (int i = 0; i < p.n; i++)
        free(p.vals[i]);
    free(p.vals);
    free(p.lens);
    buf_release(&p.sql);
    buf_release(&head);
    return e;
}

enum err db_copy(struct db *from, struct db *to, FILE *out, struct errinfo *ei)
{
    char *tables[MAX_TABLES];
    int n = 0;
    enum err e;
    if (db_kind(from) != DB_SQLITE || db_kind(to) != DB_POSTGRES)
        return err_set(ei, ERR_INVALID, "from",
                       "migrate-data copies a SQLite file into PostgreSQL");
    if ((e = migrate_run(from, NULL, ei)) != ERR_OK || (e = migrate_run(to, NULL, ei)) != ERR_OK)
        return e;
    e = list_tables(from, tables, &n);
    if (e)
        return err_set(ei, e, "from", "cannot list the tables of the source: %s", db_errmsg(from));
    for (int i = 0; i < n && e == ERR_OK; i++) {
        int64_t rows = 0;
        e = count_rows(to, tables[i], &rows);
        if (e)
            e = err_set(ei, e, "to", "table %s is missing in the destination: %s", tables[i],
                        db_errmsg(to));
        else if (rows)
            e = err_set(ei, ERR_CONFLICT, "to",
                        "the destination is not empty (%s has %lld rows); copy into a new "
                        "database",
                        tables[i], (long long)rows);
    }
    if (e == ERR_OK)
        e = db_begin(to, DB_TX_WRITE);
    for (int i = 0; i < n && e == ERR_OK; i++) {
        int64_t copied = 0;
        e = copy_table(from, to, tables[i], &copied);
        if (e)
            e = err_set(ei, e, "to", "copying %s failed: %s", tables[i], db_errmsg(to));
    }
    if (e == ERR_OK)
        e = db_commit(to);
    db_rollback(to);
    for (int i = 0; i < n && e == ERR_OK; i++) {
        int64_t a = 0, b = 0;
        if ((e = count_rows(from, tables[i], &a)) == ERR_OK &&
            (e = count_rows(to, tables[i], &b)) == ERR_OK) {
            fprintf(out, "%-24s %10lld rows %s\n", tables[i], (long long)b,
                    a == b ? "ok" : "MISMATCH");
            if (a != b)
                e = err_set(ei, ERR_INTERNAL, "to", "row counts differ for %s: %lld vs %lld",
                            tables[i], (long long)a, (long long)b);
        }
    }
    for (int i = 0; i < n; i++)
        free(tables[i]);
    return e;
}
