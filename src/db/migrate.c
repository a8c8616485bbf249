#include "db/migrate.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"

static const char SQL_CREATE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " version BIGINT PRIMARY KEY,"
                                 " name TEXT NOT NULL,"
                                 " applied_at BIGINT NOT NULL)";
static const char SQL_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char SQL_HAS[] = "SELECT 1 FROM schema_migrations WHERE version = ?";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";

static bool is_pg_variant(const char *name)
{
    size_t n = strlen(name);
    return n > 7 && strcmp(name + n - 7, ".pg.sql") == 0;
}

/* The file to run for index i on this backend, or NULL to skip it. */
static const struct migration_file *pick(enum db_kind kind, size_t i)
{
    const struct migration_file *f = &migration_files[i];
    bool pg = is_pg_variant(f->name);
    if (kind != DB_POSTGRES)
        return pg ? NULL : f;
    if (pg)
        return f;
    /* a generic file is skipped on PostgreSQL when a .pg.sql of its version exists */
    for (size_t j = 0; j < migration_files_len; j++)
        if (j != i && is_pg_variant(migration_files[j].name) &&
            strncmp(migration_files[j].name, f->name, 4) == 0)
            return NULL;
    return f;
}

enum err migrate_version(struct db *db, int64_t *version)
{
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_exec(db, SQL_CREATE);
    if (e)
        return e;
    e = db_prepare(db, SQL_VERSION, &st);
    if (e)
        return e;
    e = db_step(st, &row);
    *version = (e == ERR_OK && row) ? db_col_int64(st, 0) : 0;
    db_done(st);
    return e;
}

enum err migrate_run(struct db *db, int *applied, struct errinfo *ei)
{
    int count = 0;
    enum err e = db_exec(db, SQL_CREATE);
    if (e)
        return err_set(ei, e, "db", "cannot create schema_migrations: %s", db_errmsg(db));
    for (size_t i = 0; i < migration_files_len; i++) {
        const struct migration_file *f = pick(db_kind(db), i);
        if (!f)
            continue;
        int64_t version = strtoll(f->name, NULL, 10);
        if (version <= 0)
            return err_set(ei, ERR_INTERNAL, "migrations", "bad migration name %s", f->name);
        struct db_stmt *st = NULL;
        bool row = false;
        e = db_begin(db, DB_TX_WRITE);
        if (e)
            return err_set(ei, e, "db", "cannot start a migration: %s", db_errmsg(db));
        e = db_prepare(db, SQL_HAS, &st);
        if (e == ERR_OK) {
            db_bind_int64(st, 1, version);
            e = db_step(st, &row);
            db_done(st);
        }
        if (e == ERR_OK && !row) {
            e = db_exec(db, f->sql);
            if (e == ERR_OK)
                e = db_prepare(db, SQL_RECORD, &st);
            if (e == ERR_OK) {
                db_bind_int64(st, 1, version);
                db_bind_str(st, 2, f->name);
                db_bind_int64(st, 3, clock_now_ms());
                e = db_step_done(st);
                db_done(st);
            }
            if (e == ERR_OK)
                e = db_commit(db);
            if (e == ERR_OK) {
                count++;
                LOG(LOG_INFO, "migration_applied", "name=%s", f->name);
            }
        } else {
            db_rollback(db);
        }
        if (e) {
            db_rollback(db);
            return err_set(ei, e, "db", "migration %s failed: %s", f->name, db_errmsg(db));
        }
    }
    if (applied)
        *applied = count;
    return ERR_OK;
}
