/*
 * share.h - recommendations: who may share a product, to whom it goes, and
 * the report of everyone it considered (DESIGN.md §1, README "Propagation").
 *
 * Owns shares and the writing of share_audience (feed.h reads and marks it).
 * A share picks its audience in its own write transaction, from the store:
 * candidates are the members of the circle (or the sharer's accepted
 * contacts) but the sharer, the chain's root sharer and the shop's own
 * people (owner and staff); each gets exactly one
 * outcome, checked in this order:
 *
 *   RULE: MUTES           muted the sharer, the root sharer or the shop, or said "not
 *                         interested" to this product
 *   RULE: NOT-TWICE       already received this chain (root and re-shares), or
 *                         bought the product within its repurchase_days (30 when
 *                         it has none)
 *   RULE: SIMILARITY      similarity to the product below the shop's similarity_min;
 *                         at hop 2, also similarity to the root sharer below it
 *   RULE: FREQUENCY-CAP   already had `daily_max` recommendations this China day,
 *                         or the shop's feed_daily_shop from this shop
 *   RULE: TRUST-REACH     the sharer is a promoter trusted below the shop's
 *                         trust_min: only the trust_reach most similar of those
 *                         left are delivered
 *
 * and the rest are delivered. Who may share:
 *   RULE: SHARE-NEEDS-EXPERIENCE  the shop's owner or staff, or an active
 *                  promoter with an order of the product delivered to them (not
 *                  refunded) or a trial of it; a re-sharer needs the same
 *                  experience and to have received the parent share.
 *   RULE: TWO-HOPS  a share without a parent is hop 1; a re-share of a hop-1
 *                  share is hop 2; a re-share of a hop-2 share is refused
 *                  (ERR_HOP_LIMIT).
 *   RULE: NO-CROSSING  a circle share goes into a circle of the product's shop
 *                  that the sharer is a member of (or runs); a contacts share
 *                  to the sharer's accepted contacts. No one else is a candidate.
 *   RULE: NO-REWARD-FOR-SHARING  nothing here moves money.
 */
#ifndef QUANZI_DOMAIN_SHARE_H
#define QUANZI_DOMAIN_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

#define SHARE_NOTE_CHARS 200
#define SHARE_RECENT_BUY_DAYS 30 /* NOT-TWICE for a product without repurchase_days */
#define SHARE_HOPS_MAX 2

/* What became of one candidate; the order of the checks above. */
#define SHARE_OUTCOMES(X)                                                                          \
    X(DELIVERED, "delivered")                                                                      \
    X(MUTED, "muted")                                                                              \
    X(ALREADY_REACHED, "already_reached")                                                          \
    X(RECENTLY_BOUGHT, "recently_bought")                                                          \
    X(SIMILARITY, "similarity")                                                                    \
    X(FREQUENCY, "frequency")                                                                      \
    X(TRUST_CAP, "trust_cap")

enum share_outcome {
#define X(name, text) SHARE_##name,
    SHARE_OUTCOMES(X)
#undef X
        SHARE_OUTCOMES_N
};
const char *share_outcome_name(enum share_outcome o);
bool share_outcome_parse(const char *s, enum share_outcome *out);

enum share_experience { EXPERIENCE_ORDER, EXPERIENCE_TRIAL, EXPERIENCE_SHOP };
const char *share_experience_name(enum share_experience x);
enum share_experience share_experience_parse(const char *s);

struct share_report {
    int64_t candidates;
    int64_t count[SHARE_OUTCOMES_N]; /* [SHARE_DELIVERED] delivered, the rest filtered */
};

struct share {
    int64_t id, shop_id, product_id, sharer_id;
    int64_t promoter_id; /* 0: the sharer is not an active promoter */
    int64_t parent_id;   /* 0 at hop 1 */
    int64_t root_id;
    int64_t circle_id; /* 0: the sharer's contacts */
    int hop;
    const char *token, *note, *sharer_name;
    enum share_experience experience;
    int64_t experienced_at_ms; /* 0 for the shop's people */
    int64_t trust_milli;       /* -1: not a promoter */
    int64_t created_at_ms;
    struct share_report report;
};

struct share_input {
    int64_t sharer_id;
    int64_t product_id; /* 0: the parent's */
    int64_t circle_id;  /* 0 with contacts */
    bool contacts;
    int64_t parent_id; /* 0: hop 1 */
    const char *note;
    size_t note_len;
};

/* What holds across shops: set from the server's configuration. */
struct share_limits {
    int64_t daily_max; /* recommendations one member receives in a China day */
};
extern struct share_limits share_limits;

/* Decides the audience, delivers, and reads the share back into *out. */
MUST_CHECK enum err share_create(struct db *db, const struct share_input *in, struct arena *a,
                                 struct share *out, struct errinfo *ei);
/* What share_create() would do now, written nowhere: the checks, and in out->report whom it
 * would reach and leave out (no id, token or time). */
MUST_CHECK enum err share_preview(struct db *db, const struct share_input *in, struct arena *a,
                                  struct share *out, struct errinfo *ei);
/* A share with its report. */
MUST_CHECK enum err share_get(struct db *db, int64_t id, struct arena *a, struct share *out);
/* A share by its token (ERR_NOT_FOUND when there is none). */
MUST_CHECK enum err share_by_token(struct db *db, const char *token, struct arena *a,
                                   struct share *out);
/* Why `user_id` received the share: the interests that matched, one per line ("" when they
 * did not receive it). */
MUST_CHECK enum err share_matched_for(struct db *db, int64_t share_id, int64_t user_id,
                                      struct arena *a, const char **matched);
/* The member's shares, newest first, before `before_id` (0: from the newest). */
MUST_CHECK enum err share_list_mine(struct db *db, int64_t user_id, int64_t before_id,
                                    int64_t limit, struct arena *a, struct share **out, size_t *n,
                                    bool *more);

/* One person a share considered (for the shop's view of a share). */
struct share_audience_row {
    int64_t id; /* the row's, for paging */
    int64_t user_id;
    const char *display_name;
    enum share_outcome outcome;
    int64_t similarity_milli, root_similarity_milli;
};
MUST_CHECK enum err share_audience(struct db *db, int64_t share_id, int64_t after_id, int64_t limit,
                                   struct arena *a, struct share_audience_row **out, size_t *n,
                                   bool *more);

#endif
