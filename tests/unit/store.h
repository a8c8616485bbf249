/*
 * A store of a unit test's own: a SQLite file in a fresh temporary folder,
 * or (QUANZI_TEST_DB=postgres) a database of its own on the test cluster,
 * dropped again at the end.
 */
#ifndef QUANZI_TESTS_UNIT_STORE_H
#define QUANZI_TESTS_UNIT_STORE_H

#include <stdbool.h>

#include "db/db.h"

struct store {
    char dir[64];
    char url[160];
    struct db *db;
};

/* Whether this run is the PostgreSQL one. */
bool store_on_postgres(void);
/* Opens `url` (normal durability, a 10 s busy timeout); NULL, said on stderr, on failure. */
struct db *store_connect(const char *url);
/* Runs `sql` on the cluster's postgres database (CREATE/DROP DATABASE); fails the test. */
void store_admin(const char *sql);
/* A fresh, empty store named after `name`: 0, or -1 (said on stderr). */
int store_create(struct store *s, const char *name);
/* Closes the store and removes its files or its database. */
void store_destroy(struct store *s);

#endif
