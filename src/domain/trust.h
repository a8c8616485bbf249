/*
 * trust.h - a promoter's trust in one shop, from the outcomes of what they
 * recommended (RULE: TRUST-REACH).
 *
 *     trust = (good + 1) / (good + bad + 2)
 *
 * in thousandths, rounded down: 0.5 with no history. Good: an order through
 * their shares or links completed without a refund (sale_kept); feedback of
 * 4-5 on such an order (good_feedback). Bad: an approved refund on such an
 * order (refund); a member muting them (muted); a report on their share
 * upheld by the shop (report_upheld); feedback of 1-2 (bad_feedback).
 *
 * Owns trust_events: one row per (promoter, kind, object), so an event
 * recorded twice counts once.
 */
#ifndef QUANZI_DOMAIN_TRUST_H
#define QUANZI_DOMAIN_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum trust_kind {
    TRUST_SALE_KEPT,
    TRUST_GOOD_FEEDBACK,
    TRUST_REFUND,
    TRUST_MUTED,
    TRUST_REPORT_UPHELD,
    TRUST_BAD_FEEDBACK,
};
const char *trust_kind_name(enum trust_kind k);
bool trust_kind_good(enum trust_kind k);

struct trust {
    int64_t good, bad;
    int64_t score_milli;
};
/* The score from counts (pure). */
int64_t trust_score_milli(int64_t good, int64_t bad);

struct trust_event {
    int64_t id;
    enum trust_kind kind;
    bool good;
    int64_t ref_id, at_ms;
};

MUST_CHECK enum err trust_of(struct db *db, int64_t promoter_id, struct trust *out);
/* Records one event in the caller's transaction; a repeat of one already there is a no-op. */
MUST_CHECK enum err trust_record(struct db *db, int64_t shop_id, int64_t promoter_id,
                                 enum trust_kind kind, int64_t ref_id, int64_t now);
/* The events, newest first, before `before_id` (0: from the newest). */
MUST_CHECK enum err trust_events(struct db *db, int64_t promoter_id, int64_t before_id,
                                 int64_t limit, struct arena *a, struct trust_event **out,
                                 size_t *n, bool *more);

#endif
