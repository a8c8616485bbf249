/*
 * stats.c - per-hop figures of recommendations (stats.h). Similarities are
 * whole thousandths (0..1000), so each hop's distribution is counted in a
 * histogram read in one grouped query, and means and medians come exactly
 * from it, whatever the number of people.
 */
#include "domain/stats.h"

#include <stdlib.h>
#include <string.h>

#define SIM_BINS 1001

struct histogram {
    int64_t n[SHARE_HOPS_MAX][2][SIM_BINS]; /* [hop][delivered?][similarity] */
};

/* The shares in scope, as a subquery with its placeholders (share: id twice; shop: shop, from,
 * to). */
#define SHARE_SCOPE "(SELECT id FROM shares WHERE id = ? OR parent_id = ?)"
#define SHOP_SCOPE                                                                                 \
    "(SELECT id FROM shares WHERE shop_id = ? AND created_at >= ? AND created_at < ?)"
#define AUDIENCE(scope)                                                                            \
    "SELECT hop, outcome, similarity_milli, COUNT(*), SUM(CASE WHEN opened_at IS NULL THEN 0"      \
    " ELSE 1 END) FROM share_audience WHERE share_id IN " scope                                    \
    " GROUP BY hop, outcome, similarity_milli"
#define ORDERS(scope)                                                                              \
    "SELECT share_hop, COUNT(*), SUM(total_fen - refunded_fen) FROM orders WHERE share_id "        \
    "IN " scope " AND paid_at IS NOT NULL GROUP BY share_hop"
#define SHARES(scope) "SELECT hop, COUNT(*) FROM shares WHERE id IN " scope " GROUP BY hop"

static void summarize(const int64_t *bins, int64_t *mean, int64_t *median)
{
    int64_t n = 0, sum = 0;
    for (int s = 0; s < SIM_BINS; s++)
        n += bins[s], sum += bins[s] * s;
    *mean = *median = -1;
    if (!n)
        return;
    *mean = sum / n;
    int64_t half = (n - 1) / 2, seen = 0; /* the lower median */
    for (int s = 0; s < SIM_BINS; s++) {
        seen += bins[s];
        if (seen > half) {
            *median = s;
            return;
        }
    }
}

static bool hop_index(int64_t hop, int *i)
{
    *i = (int)hop - 1;
    return hop >= 1 && hop <= SHARE_HOPS_MAX;
}

static enum err collect(struct db *db, const char *audience, const char *orders, const char *shares,
                        struct db_arg a1, struct db_arg a2, struct db_arg a3,
                        struct propagation_stats *out)
{
    struct histogram *h = calloc(1, sizeof *h);
    struct db_stmt *st = NULL;
    int i = 0;
    if (!h)
        return ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    enum err e = db_query(db, audience, &st, a1, a2, a3);
    while (!e && db_next(st, &e)) {
        enum share_outcome o;
        int64_t sim = db_col_int64(st, 2), n = db_col_int64(st, 3);
        if (!hop_index(db_col_int64(st, 0), &i) ||
            !share_outcome_parse(db_col_text(st, 1, NULL), &o) || sim < 0 || sim >= SIM_BINS)
            continue;
        struct hop_stats *hs = &out->hop[i];
        hs->candidates += n;
        hs->count[o] += n;
        if (o != SHARE_DELIVERED)
            hs->filtered += n;
        hs->opened += db_col_int64(st, 4);
        h->n[i][o == SHARE_DELIVERED][sim] += n;
    }
    if (st)
        db_done(st), st = NULL;
    if (!e)
        e = db_query(db, orders, &st, a1, a2, a3);
    while (!e && db_next(st, &e))
        if (hop_index(db_col_int64(st, 0), &i)) {
            out->hop[i].orders = db_col_int64(st, 1);
            out->hop[i].revenue_fen = db_col_int64(st, 2);
        }
    if (st)
        db_done(st), st = NULL;
    if (!e)
        e = db_query(db, shares, &st, a1, a2, a3);
    while (!e && db_next(st, &e))
        if (hop_index(db_col_int64(st, 0), &i))
            out->hop[i].shares = db_col_int64(st, 1);
    if (st)
        db_done(st);
    for (i = 0; i < SHARE_HOPS_MAX; i++) {
        struct hop_stats *hs = &out->hop[i];
        summarize(h->n[i][1], &hs->mean_delivered_milli, &hs->median_delivered_milli);
        summarize(h->n[i][0], &hs->mean_filtered_milli, &hs->median_filtered_milli);
    }
    free(h);
    return e;
}

enum err stats_share(struct db *db, int64_t share_id, struct propagation_stats *out)
{
    static const char audience[] = AUDIENCE(SHARE_SCOPE);
    static const char orders[] = ORDERS(SHARE_SCOPE);
    static const char shares[] = SHARES(SHARE_SCOPE);
    return collect(db, audience, orders, shares, DB_INT(share_id), DB_INT(share_id), DB_SKIP, out);
}

enum err stats_shop(struct db *db, int64_t shop_id, int64_t from_ms, int64_t to_ms,
                    struct propagation_stats *out)
{
    static const char audience[] = AUDIENCE(SHOP_SCOPE);
    static const char orders[] = ORDERS(SHOP_SCOPE);
    static const char shares[] = SHARES(SHOP_SCOPE);
    return collect(db, audience, orders, shares, DB_INT(shop_id), DB_INT(from_ms), DB_INT(to_ms),
                   out);
}
