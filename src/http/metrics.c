#include "http/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/clock.h"

static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
                               409, 413, 415, 422, 429, 500, 503};
#define N_STATUS (sizeof statuses / sizeof statuses[0])
#define STATUS_OTHER N_STATUS

/* upper bounds in microseconds */
static const int64_t buckets_us[] = {100,   250,   500,    1000,   2500,   5000,   10000,
                                     25000, 50000, 100000, 250000, 500000, 1000000};
#define N_BUCKETS (sizeof buckets_us / sizeof buckets_us[0])

struct route_metrics {
    _Atomic uint64_t by_status[N_STATUS + 1];
    _Atomic uint64_t buckets[N_BUCKETS + 1]; /* non-cumulative; last is +Inf */
    _Atomic uint64_t sum_us;
};

static const struct route *m_routes;
static size_t m_n;
static struct route_metrics *m;
static int64_t start_ms;

void metrics_init(const struct route *routes, size_t n)
{
    m_routes = routes;
    m_n = n;
    free(m);
    m = xcalloc(n + 2, sizeof *m);
    start_ms = clock_now_ms();
}

void metrics_release(void)
{
    free(m);
    m = NULL;
}

void metrics_observe(int route_idx, int status, int64_t duration_us)
{
    if (!m)
        return;
    struct route_metrics *rm = &m[route_idx >= 0 && (size_t)route_idx < m_n ? (size_t)route_idx
                                  : route_idx == METRICS_WEB                ? m_n + 1
                                                                            : m_n];
    size_t s = STATUS_OTHER;
    for (size_t i = 0; i < N_STATUS; i++)
        if (statuses[i] == status) {
            s = i;
            break;
        }
    atomic_fetch_add_explicit(&rm->by_status[s], 1, memory_order_relaxed);
    size_t b = N_BUCKETS;
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (duration_us <= buckets_us[i]) {
            b = i;
            break;
        }
    atomic_fetch_add_explicit(&rm->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rm->sum_us, (uint64_t)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

static void route_label(size_t i, struct buf *out)
{
    if (i < m_n)
        buf_printf(out, "route=\"%s %s\"", m_routes[i].method, m_routes[i].pattern);
    else if (i == m_n)
        buf_printf(out, "route=\"unmatched\"");
    else
        buf_printf(out, "route=\"web\"");
}

void metrics_render(struct buf *out, struct db *db)
{
    buf_printf(out, "# HELP quanzi_http_requests_total HTTP requests by route and status.\n"
                    "# TYPE quanzi_http_requests_total counter\n");
    for (size_t i = 0; i <= m_n + 1; i++) {
        for (size_t s = 0; s <= N_STATUS; s++) {
            uint64_t v = atomic_load_explicit(&m[i].by_status[s], memory_order_relaxed);
            if (!v)
                continue;
            buf_printf(out, "quanzi_http_requests_total{");
            route_label(i, out);
            if (s < N_STATUS)
                buf_printf(out, ",status=\"%d\"} %llu\n", statuses[s], (unsigned long long)v);
            else
                buf_printf(out, ",status=\"other\"} %llu\n", (unsigned long long)v);
        }
    }
    buf_printf(out, "# HELP quanzi_http_request_duration_seconds Time to answer a request.\n"
                    "# TYPE quanzi_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m_n + 1; i++) {
        uint64_t total = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++)
            total += atomic_load_explicit(&m[i].buckets[b], memory_order_relaxed);
        if (!total)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++) {
            cum += atomic_load_explicit(&m[i].buckets[b], memory_order_relaxed);
            buf_printf(out, "quanzi_http_request_duration_seconds_bucket{");
            route_label(i, out);
            if (b < N_BUCKETS)
                buf_printf(out, ",le=\"%lld.%06lld\"} %llu\n", (long long)(buckets_us[b] / 1000000),
                           (long long)(buckets_us[b] % 1000000), (unsigned long long)cum);
            else
                buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        uint64_t sum = atomic_load_explicit(&m[i].sum_us, memory_order_relaxed);
        buf_printf(out, "quanzi_http_request_duration_seconds_sum{");
        route_label(i, out);
        buf_printf(out, "} %llu.%06llu\n", (unsigned long long)(sum / 1000000),
                   (unsigned long long)(sum % 1000000));
        buf_printf(out, "quanzi_http_request_duration_seconds_count{");
        route_label(i, out);
        buf_printf(out, "} %llu\n", (unsigned long long)total);
    }
    struct db_stats w;
    db_stats(db, &w);
    int64_t db_us = w.time_us;
    buf_printf(out,
               "# HELP quanzi_db_time_seconds_total Time spent in the database.\n"
               "# TYPE quanzi_db_time_seconds_total counter\n"
               "quanzi_db_time_seconds_total %lld.%06lld\n",
               (long long)(db_us / 1000000), (long long)(db_us % 1000000));
    buf_printf(out,
               "# HELP quanzi_sqlite_writer_held_seconds_total Time SQLite's one writer was held"
               " (its share of wall time bounds write throughput).\n"
               "# TYPE quanzi_sqlite_writer_held_seconds_total counter\n"
               "quanzi_sqlite_writer_held_seconds_total %lld.%06lld\n"
               "# HELP quanzi_sqlite_commit_batches_total Batches committed by group commit.\n"
               "# TYPE quanzi_sqlite_commit_batches_total counter\n"
               "quanzi_sqlite_commit_batches_total %llu\n"
               "# HELP quanzi_sqlite_batched_writes_total Writes those batches carried.\n"
               "# TYPE quanzi_sqlite_batched_writes_total counter\n"
               "quanzi_sqlite_batched_writes_total %llu\n",
               (long long)(w.writer_held_us / 1000000), (long long)(w.writer_held_us % 1000000),
               (unsigned long long)w.batches, (unsigned long long)w.writes);
    buf_printf(out,
               "# HELP quanzi_start_time_seconds When the server started (server clock).\n"
               "# TYPE quanzi_start_time_seconds gauge\n"
               "quanzi_start_time_seconds %lld\n",
               (long long)(start_ms / 1000));
}
