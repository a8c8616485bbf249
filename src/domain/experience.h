/*
 * experience.h - the sale as the start of a service (DESIGN.md §1): buyers'
 * feedback on what was delivered to them, and the shop's follow-up tasks.
 *
 * Owns feedback, feedback_products and followups.
 *   Feedback: once per order, by its buyer, once it was delivered; a rating
 *   of 1-5 and up to FEEDBACK_TEXT_CHARS of text. It is public on the
 *   product page; a sharer's own feedback shows in the feeds their shares
 *   reach. A rating of 4-5 adds a fifth of each product's tag weights to the
 *   buyer's learned interests (at most 1000), 1-2 takes as much away (a tag
 *   that falls to 0 is forgotten); on an order a promoter sold it is a good
 *   or bad trust event for them (trust.h). It closes the order's open
 *   experience follow-up.
 *   Follow-ups: on delivery, an experience check FOLLOWUP_EXPERIENCE_DAYS
 *   later, and for each consumable product (repurchase_days > 0) a
 *   repurchase reminder that many days later. Due when their time came;
 *   done with a note by whoever runs the shop.
 */
#ifndef QUANZI_DOMAIN_EXPERIENCE_H
#define QUANZI_DOMAIN_EXPERIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

#define FEEDBACK_TEXT_CHARS 500
#define FOLLOWUP_NOTE_CHARS 200
#define FOLLOWUP_EXPERIENCE_DAYS 3
#define FEEDBACK_LEARN_DIV 5

struct feedback {
    int64_t id, shop_id, order_id, buyer_id;
    const char *buyer_name;
    int rating;
    const char *text;
    int64_t created_at_ms;
};

MUST_CHECK enum err feedback_add(struct db *db, int64_t order_id, int64_t buyer_id, int rating,
                                 const char *text, size_t text_len, struct arena *a,
                                 struct feedback *out, struct errinfo *ei);
/* A product's feedback, newest first. */
MUST_CHECK enum err feedback_list_product(struct db *db, int64_t product_id, int64_t before_id,
                                          int64_t limit, struct arena *a, struct feedback **out,
                                          size_t *n, bool *more);

/* Schedules the follow-ups of an order delivered at `now`, in the caller's transaction. */
MUST_CHECK enum err followups_schedule(struct db *db, int64_t order_id, int64_t now);

enum followup_kind { FOLLOWUP_EXPERIENCE, FOLLOWUP_REPURCHASE };
const char *followup_kind_name(enum followup_kind k);
/* Which follow-ups to list: open and due, open and not yet due, done. */
enum followup_view { FOLLOWUPS_DUE, FOLLOWUPS_UPCOMING, FOLLOWUPS_DONE };
bool followup_view_parse(const char *s, enum followup_view *out);

struct followup {
    int64_t id, shop_id, order_id, buyer_id;
    const char *buyer_name;
    int64_t product_id; /* 0: the whole order */
    const char *product_title;
    enum followup_kind kind;
    bool done;
    const char *note;
    int64_t due_at_ms, done_at_ms;
};

MUST_CHECK enum err followup_list(struct db *db, int64_t shop_id, enum followup_view view,
                                  int64_t now, int64_t after_id, int64_t limit, struct arena *a,
                                  struct followup **out, size_t *n, bool *more);
MUST_CHECK enum err followup_get(struct db *db, int64_t id, struct arena *a, struct followup *out);
/* Marks an open follow-up done (ERR_ILLEGAL_TRANSITION when it was already). */
MUST_CHECK enum err followup_done(struct db *db, int64_t id, int64_t by, const char *note,
                                  size_t note_len, struct errinfo *ei);

#endif
