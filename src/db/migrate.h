/*
 * migrate.h - numbered schema migrations, embedded in the binary.
 *
 * src/db/migrations/NNN_name.sql runs on every backend unless a
 * NNN_name.pg.sql variant exists, which then runs on PostgreSQL instead.
 * Applied versions are recorded in schema_migrations and never re-applied;
 * each migration runs in its own write transaction.
 */
#ifndef QUANZI_DB_MIGRATE_H
#define QUANZI_DB_MIGRATE_H

#include <stddef.h>

#include "db/db.h"

struct migration_file {
    const char *name; /* file name, e.g. "001_accounts.sql" */
    const char *sql;
    size_t len;
};

extern const struct migration_file migration_files[];
extern const size_t migration_files_len;

/* Applies pending migrations; *applied (may be NULL) counts them. */
MUST_CHECK enum err migrate_run(struct db *db, int *applied, struct errinfo *ei);
/* Highest applied version, 0 on a fresh database. */
MUST_CHECK enum err migrate_version(struct db *db, int64_t *version);

#endif
