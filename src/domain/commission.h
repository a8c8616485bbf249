/*
 * commission.h - level-1 and level-2 commission of attributed orders: earned
 * when paid, settled when the order completes, clawed back by refunds.
 *
 * Owns commissions; posts to the ledger (ledger.h).
 *
 *   RULE: TWO-LEVELS     L1 = the order's promoter, L2 = that promoter's
 *                        inviter; nobody further up (level is 1 or 2 in the
 *                        schema).
 *   RULE: L2-ACTIVE-SELLER  L2 is paid only if the inviter had an attributed
 *                        retail sale of their own in the shop within its
 *                        l2_active_days; otherwise the row is `withheld` and
 *                        the share stays with the shop.
 *   RULE: NO-SELF-COMMISSION  nobody earns on their own purchase, at either
 *                        level.
 *   RULE: PENDING-THEN-SETTLED  pending at payment; available once the order
 *                        is completed (return window closed, no refund
 *                        open), by commission_settle().
 *   RULE: CLAWBACK       an approved refund lowers each level to what the
 *                        remaining amount earns; from pending if not yet
 *                        settled, else from available, which may go
 *                        negative and is netted against later commission.
 *
 * Rounding: per level, commission = floor(weighted x net / (total x 10000))
 * where weighted = sum over items of line_fen x bps (the product's override
 * or the shop's rate, at payment), total = the order total and net = total -
 * refunded. With one rate this is floor(net x bps / 10000). The remainder
 * stays with the shop.
 */
#ifndef QUANZI_DOMAIN_COMMISSION_H
#define QUANZI_DOMAIN_COMMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

struct order;

enum commission_status {
    COMMISSION_PENDING,   /* earned, the return window open */
    COMMISSION_AVAILABLE, /* settled: the promoter may withdraw it */
    COMMISSION_REVERSED,  /* refunded whole before it settled */
    COMMISSION_WITHHELD,  /* never earned (own purchase, L2 without a recent sale) */
};
/* SETTLE: the order completed; CLAW: a refund lowers it; CLAW_ALL: to nothing. */
enum commission_event { COMMISSION_SETTLE, COMMISSION_CLAW, COMMISSION_CLAW_ALL };

const char *commission_status_name(enum commission_status s);
/* A stored status; an unknown one reads as withheld (it never moves). */
enum commission_status commission_status_parse(const char *s);
/*
 * The pure state machine: pending --settle--> available; pending --claw-->
 * pending, --claw all--> reversed; available --claw, claw all--> available
 * (a settled share may go negative, netted against later commission).
 * Withheld and reversed rows never move. False when `ev` is not allowed.
 */
bool commission_transition(enum commission_status from, enum commission_event ev,
                           enum commission_status *to);

/* Inside payment_apply()'s transaction, once the order is paid. */
MUST_CHECK enum err commission_on_paid(struct db *db, const struct order *o, int64_t promoter_id,
                                       int64_t now);
/* Inside refund_decide()'s transaction, once refunded_fen includes the refund. */
MUST_CHECK enum err commission_on_refund(struct db *db, const struct order *o, int64_t refund_id,
                                         int64_t amount_fen, int64_t now);

/*
 * The settlement job: pending commission of completed orders becomes
 * available, in batches of `batch` commissions, each batch one transaction
 * (one ledger transaction per shop in it). *moved counts commissions.
 */
MUST_CHECK enum err commission_settle(struct db *db, int64_t now, int64_t batch, int64_t *moved);
#define COMMISSION_SETTLE_BATCH 20000

struct commission {
    int64_t id, shop_id, order_id, level, promoter_id;
    int64_t earned_fen, amount_fen;
    enum commission_status status;
    const char *note;
    int64_t created_at_ms, settled_at_ms;
};
/* A promoter's (promoter_id) or a member's in all shops (user_id), newest first. */
MUST_CHECK enum err commission_list(struct db *db, int64_t promoter_id, int64_t user_id,
                                    int64_t before_id, int64_t limit, struct arena *a,
                                    struct commission **out, size_t *n, bool *more);
/* An order's commission rows (at most two). */
MUST_CHECK enum err commission_of_order(struct db *db, int64_t order_id, struct arena *a,
                                        struct commission *out, size_t *n);

#endif
