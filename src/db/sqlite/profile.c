/*
 * profile.c - where a process's SQLite time goes, statement by statement: with
 * QUANZI_SQL_PROFILE=FILE set, every connection reports each statement's run time
 * (sqlite3_trace_v2, SQLITE_TRACE_PROFILE) and at exit FILE gets one line per statement
 * text: total ms, runs, us per run, sorted by total. A diagnostic for the benchmarks
 * (bench/growth.sh); off, it costs nothing.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/sqlite/internal.h"

#define SLOTS 4096

struct entry {
    char *sql;
    long long runs, ns;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[SLOTS];
static const char *path;

static int by_total(const void *a, const void *b)
{
    long long x = ((const struct entry *)a)->ns, y = ((const struct entry *)b)->ns;
    return (x < y) - (x > y);
}

static void write_report(void)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    pthread_mutex_lock(&lock);
    qsort(table, SLOTS, sizeof table[0], by_total);
    for (int i = 0; i < SLOTS && table[i].sql; i++)
        fprintf(f, "%10.1f ms %9lld runs %8.1f us  %s\n", (double)table[i].ns / 1e6, table[i].runs,
                (double)table[i].ns / 1e3 / (double)table[i].runs, table[i].sql);
    pthread_mutex_unlock(&lock);
    fclose(f);
}

static int on_profile(unsigned type, void *ctx, void *p, void *x)
{
    (void)type;
    (void)ctx;
    const char *sql = sqlite3_sql((sqlite3_stmt *)p);
    if (!sql)
        return 0;
    unsigned long h = 5381;
    for (const char *c = sql; *c; c++)
        h = h * 33 + (unsigned char)*c;
    pthread_mutex_lock(&lock);
    for (unsigned long i = 0; i < SLOTS; i++) {
        struct entry *e = &table[(h + i) % SLOTS];
        if (!e->sql) {
            e->sql = strdup(sql);
            if (!e->sql)
                break;
        }
        if (strcmp(e->sql, sql) == 0) {
            e->runs++;
            e->ns += *(long long *)x;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

static void setup(void)
{
    path = getenv("QUANZI_SQL_PROFILE");
    if (path && *path)
        atexit(write_report);
    else
        path = NULL;
}

void sq_profile(sqlite3 *h)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, setup);
    if (path)
        sqlite3_trace_v2(h, SQLITE_TRACE_PROFILE, on_profile, NULL);
}
