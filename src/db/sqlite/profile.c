/*
 * profile.c - where a process's SQLite time goes, statement by statement: with
 * QUANZI_SQL_PROFILE=FILE set, every connection reports each statement's run time
 * (sqlite3_trace_v2, SQLITE_TRACE_PROFILE) and at exit FILE gets one line per statement
 * text: total ms, runs, us per run, and the pages it found in the connection's page cache
 * and those it had to read (per run), sorted by total; then the cache's hit ratio on the
 * shared writer and on the other connections. A diagnostic for the benchmarks
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
    long long runs, ns, hits, misses;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[SLOTS];
static long long conn_hits[2], conn_misses[2]; /* [1]: the shared writer */
static const char *path;

static double per_run(long long n, long long runs)
{
    return (double)n / (double)runs;
}

static double ratio(long long hits, long long misses)
{
    return hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0;
}

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
    fprintf(f,
            "page cache: shared writer %.2f%% hits (%lld hits, %lld reads); other connections"
            " %.2f%% (%lld, %lld)\n",
            ratio(conn_hits[1], conn_misses[1]), conn_hits[1], conn_misses[1],
            ratio(conn_hits[0], conn_misses[0]), conn_hits[0], conn_misses[0]);
    fprintf(f, "  total ms      runs   us/run  pages hit/read per run  statement\n");
    for (int i = 0; i < SLOTS && table[i].sql; i++)
        fprintf(f, "%10.1f %9lld %8.1f  %8.1f %6.2f  %s\n", (double)table[i].ns / 1e6,
                table[i].runs, (double)table[i].ns / 1e3 / (double)table[i].runs,
                per_run(table[i].hits, table[i].runs), per_run(table[i].misses, table[i].runs),
                table[i].sql);
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
    /* the connection's cache counters since its last statement: this one's pages */
    sqlite3 *conn = sqlite3_db_handle((sqlite3_stmt *)p);
    int hits = 0, misses = 0, high;
    sqlite3_db_status(conn, SQLITE_DBSTATUS_CACHE_HIT, &hits, &high, 1);
    sqlite3_db_status(conn, SQLITE_DBSTATUS_CACHE_MISS, &misses, &high, 1);
    int writer = conn == sq_writer.h;
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
            e->hits += hits;
            e->misses += misses;
            break;
        }
    }
    conn_hits[writer] += hits;
    conn_misses[writer] += misses;
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
