/*
 * refund.h - refunds: the buyer asks for part or all of what is left of an
 * order, the shop decides.
 *
 * Owns refunds. One open request per order at a time, while the order is
 * paid, shipped, delivered or completed (after-sales). An approval adds to
 * the order's refunded_fen and claws commission back (commission.h) in the
 * same transaction; when everything is refunded the order is `refunded`,
 * and if it had not shipped its stock comes back. The buyer may withdraw a
 * request the shop has not decided.
 */
#ifndef QUANZI_DOMAIN_REFUND_H
#define QUANZI_DOMAIN_REFUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum refund_status { REFUND_REQUESTED, REFUND_APPROVED, REFUND_REJECTED, REFUND_WITHDRAWN };
enum refund_event { REFUND_APPROVE, REFUND_REJECT, REFUND_WITHDRAW };

const char *refund_status_name(enum refund_status s);
/* false when `s` names no status */
bool refund_status_parse(const char *s, enum refund_status *out);
/*
 * The pure state machine: requested --approve--> approved, --reject-->
 * rejected, --withdraw--> withdrawn; the other states are final. False when
 * `ev` is not allowed in `from`.
 */
bool refund_transition(enum refund_status from, enum refund_event ev, enum refund_status *to);

struct refund {
    int64_t id, order_id, amount_fen;
    enum refund_status status;
    const char *reason, *note;
    int64_t created_at_ms, decided_at_ms;
};

/* Errors name their field; ERR_CONFLICT while another request of the order is open. */
MUST_CHECK enum err refund_request(struct db *db, int64_t order_id, int64_t buyer,
                                   int64_t amount_fen, const char *reason, size_t reason_len,
                                   int64_t *refund_id, struct errinfo *ei);
/* The order the refund belongs to (for authorization). */
MUST_CHECK enum err refund_order(struct db *db, int64_t refund_id, int64_t *order_id,
                                 int64_t *shop_id);
/* The buyer takes back a request the shop has not decided (status 'withdrawn', a
 * timeline event); *order_id is its order. ERR_NOT_FOUND unless it is the buyer's own,
 * ERR_ILLEGAL_TRANSITION once it was approved, rejected or withdrawn. */
MUST_CHECK enum err refund_withdraw(struct db *db, int64_t refund_id, int64_t buyer,
                                    int64_t *order_id, struct errinfo *ei);
MUST_CHECK enum err refund_decide(struct db *db, int64_t refund_id, bool approve, int64_t actor,
                                  const char *note, size_t note_len, struct errinfo *ei);
/* An order's refunds, oldest first, at most `max` (in `a`). */
MUST_CHECK enum err refund_of_order(struct db *db, int64_t order_id, size_t max, struct arena *a,
                                    struct refund *out, size_t *n);

/* A shop's refunds, newest first: all of them, or those in one status, from before_id on. */
struct refund_filter {
    int64_t shop_id;
    bool any_status;
    enum refund_status status;
    int64_t before_id;
    int64_t limit;
};
MUST_CHECK enum err refund_list(struct db *db, const struct refund_filter *f, struct arena *a,
                                struct refund **out, size_t *n, bool *more);

#endif
