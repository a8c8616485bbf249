/*
 * feed.h - what a member receives and how they answer it: the feed (the
 * delivered rows of share_audience), opening an item, "not interested",
 * mutes, and reports with the shop's decision on them.
 *
 * Owns mutes and reports, and the recipient's marks on share_audience.
 *   RULE: MUTES  a member who muted a person or a shop no longer sees their
 *                items in the feed, and no later share of theirs reaches them
 *                (share.h). Muting a promoter who recommended something to
 *                them is a bad trust event (one per muting member).
 *                "Not interested" hides the item, keeps this product from
 *                reaching them again, and lowers the weight of the product's
 *                tags in their learned interests by half the product's weight
 *                (a tag that falls to 0 is forgotten).
 */
#ifndef QUANZI_DOMAIN_FEED_H
#define QUANZI_DOMAIN_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/share.h"
#include "util/arena.h"
#include "util/err.h"

#define REPORT_REASON_CHARS 200

struct feed_item {
    int64_t id, share_id, shop_id, product_id;
    int hop;
    const char *shop_name, *product_title, *image; /* image: NULL when none */
    int64_t price_fen;
    int64_t sharer_id;
    const char *sharer_name, *note, *token;
    enum share_experience experience;
    int64_t experienced_at_ms;
    int sharer_rating;          /* the sharer's latest feedback on the product; 0: none */
    const char *sharer_comment; /* its text */
    const char *matched;        /* the interests that matched, one per line */
    int64_t similarity_milli;
    int64_t at_ms, opened_at_ms;
};

MUST_CHECK enum err feed_list(struct db *db, int64_t user_id, int64_t before_id, int64_t limit,
                              struct arena *a, struct feed_item **out, size_t *n, bool *more);
/* Marks an item of the member's feed opened (once); ERR_NOT_FOUND when it is not theirs. */
MUST_CHECK enum err feed_open(struct db *db, int64_t user_id, int64_t item_id);
MUST_CHECK enum err feed_not_interested(struct db *db, int64_t user_id, int64_t item_id);

struct mute {
    int64_t id;
    int64_t user_id, shop_id; /* one of them: who or which shop is muted */
    const char *name;
    int64_t created_at_ms;
};
/* Mutes a member or a shop (one of muted_user, muted_shop); muting again answers the mute that
 * is there, *created false. */
MUST_CHECK enum err mute_add(struct db *db, int64_t user_id, int64_t muted_user, int64_t muted_shop,
                             struct arena *a, struct mute *out, bool *created, struct errinfo *ei);
MUST_CHECK enum err mute_list(struct db *db, int64_t user_id, int64_t before_id, int64_t limit,
                              struct arena *a, struct mute **out, size_t *n, bool *more);
/* ERR_NOT_FOUND when the member has no such mute. */
MUST_CHECK enum err mute_remove(struct db *db, int64_t user_id, int64_t mute_id);

enum report_status { REPORT_OPEN, REPORT_UPHELD, REPORT_DISMISSED };
const char *report_status_name(enum report_status s);
bool report_status_parse(const char *s, enum report_status *out);

struct report {
    int64_t id, shop_id, share_id, reporter_id;
    const char *reporter_name, *reason;
    enum report_status status;
    int64_t sharer_id;
    const char *sharer_name;
    int64_t product_id;
    int64_t created_at_ms, decided_at_ms;
};
/* A report on a share the member received; ERR_NOT_FOUND when they did not, ERR_CONFLICT when
 * they reported it already. The item leaves their feed. */
MUST_CHECK enum err report_add(struct db *db, int64_t user_id, int64_t share_id, const char *reason,
                               size_t reason_len, struct arena *a, struct report *out,
                               struct errinfo *ei);
MUST_CHECK enum err report_get(struct db *db, int64_t id, struct arena *a, struct report *out);
MUST_CHECK enum err report_list_shop(struct db *db, int64_t shop_id, enum report_status status,
                                     int64_t before_id, int64_t limit, struct arena *a,
                                     struct report **out, size_t *n, bool *more);
/* The shop's decision: uphold (a bad trust event for a promoter's share) or dismiss; an open
 * report only (ERR_ILLEGAL_TRANSITION otherwise). */
MUST_CHECK enum err report_decide(struct db *db, int64_t id, bool uphold, int64_t decided_by,
                                  struct errinfo *ei);

#endif
