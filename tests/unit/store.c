#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

bool store_on_postgres(void)
{
    const char *v = getenv("QUANZI_TEST_DB");
    return v && strcmp(v, "postgres") == 0;
}

struct db *store_connect(const char *url)
{
    struct db_options opt = {.url = url, .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 10000};
    struct errinfo ei = {0};
    struct db *db = NULL;
    if (db_open(&opt, &db, &ei) != ERR_OK) {
        fprintf(stderr, "db_open %s: %s\n", url, ei.message);
        return NULL;
    }
    return db;
}

void store_admin(const char *sql)
{
    struct db *db = store_connect("postgresql:///postgres");
    assert_non_null(db);
    assert_int_equal(db_exec(db, sql), ERR_OK);
    db_close(db);
}

int store_create(struct store *s, const char *name)
{
    static int counter;
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/quanzi-%s-XXXXXX", name);
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        return -1;
    }
    if (store_on_postgres()) {
        char sql[128];
        snprintf(s->url, sizeof s->url, "postgresql:///qz_%s_%d_%d", name, (int)getpid(),
                 ++counter);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", strrchr(s->url, '/') + 1);
        store_admin(sql);
    } else {
        snprintf(s->url, sizeof s->url, "%s/%s.db", s->dir, name);
    }
    s->db = store_connect(s->url);
    return s->db ? 0 : -1;
}

void store_destroy(struct store *s)
{
    db_close(s->db);
    s->db = NULL;
    if (store_on_postgres()) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", strrchr(s->url, '/') + 1);
        store_admin(sql);
    } else {
        static const char *const suffix[] = {"", "-wal", "-shm"};
        char p[200];
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", s->url, suffix[i]);
            unlink(p);
        }
    }
    rmdir(s->dir);
}
