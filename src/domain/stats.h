/*
 * stats.h - how well recommendations worked, per hop: whom they considered,
 * reached and left out (by reason), how alike those were to the product
 * (mean and median similarity, delivered and filtered apart), how many
 * opened, ordered and paid, and the revenue (paid, less refunds).
 *
 * For one share (with its re-shares: hop 1 is the share, hop 2 what was
 * passed on from it) or for a shop's shares made in [from, to).
 */
#ifndef QUANZI_DOMAIN_STATS_H
#define QUANZI_DOMAIN_STATS_H

#include <stdint.h>

#include "db/db.h"
#include "domain/share.h"
#include "util/err.h"

struct hop_stats {
    int64_t shares;
    int64_t candidates;
    int64_t count[SHARE_OUTCOMES_N]; /* [SHARE_DELIVERED]: delivered */
    int64_t filtered;
    int64_t mean_delivered_milli, median_delivered_milli; /* -1: none */
    int64_t mean_filtered_milli, median_filtered_milli;
    int64_t opened;
    int64_t orders;
    int64_t revenue_fen;
};

struct propagation_stats {
    struct hop_stats hop[SHARE_HOPS_MAX]; /* [0]: hop 1 */
};

MUST_CHECK enum err stats_share(struct db *db, int64_t share_id, struct propagation_stats *out);
MUST_CHECK enum err stats_shop(struct db *db, int64_t shop_id, int64_t from_ms, int64_t to_ms,
                               struct propagation_stats *out);

#endif
