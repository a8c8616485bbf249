/*
 * copy.h - `quanzi migrate-data`: copy a SQLite database into PostgreSQL.
 *
 * Both databases are first brought to the binary's schema version. The
 * destination must be empty. Tables are copied in creation order (parents
 * before children) inside one destination transaction, in multi-row batches,
 * with every value as text; identity sequences are then moved past the
 * copied ids. Afterwards every table's row count is compared.
 */
#ifndef QUANZI_DB_COPY_H
#define QUANZI_DB_COPY_H

#include <stdint.h>
#include <stdio.h>

#include "db/db.h"

/* Copies `from` (SQLite) into `to` (PostgreSQL); writes a report line per table to `out`. */
MUST_CHECK enum err db_copy(struct db *from, struct db *to, FILE *out, struct errinfo *ei);

#endif
