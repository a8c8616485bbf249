/*
 * pool.h - one database connection per worker thread.
 *
 * db_pool_get() returns the calling thread's connection, opening it on first
 * use. Connections are registered so that db_pool_close_all() can close them
 * all at shutdown, after the threads that used them have stopped.
 */
#ifndef QUANZI_DB_POOL_H
#define QUANZI_DB_POOL_H

#include "db/db.h"

void db_pool_init(const struct db_options *opt);
/* The calling thread's connection; ERR_UNAVAILABLE when it cannot be opened. */
MUST_CHECK enum err db_pool_get(struct db **out);
void db_pool_close_all(void);

#endif
