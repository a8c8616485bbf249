/*
 * withdrawal.h - promoters moving settled commission out; the shop pays by
 * transfer and records it.
 *
 * Owns withdrawals; posts to the ledger. requested -> approved -> paid, or
 * requested/approved -> rejected (the money returns to available). A request
 * is at least the shop's withdraw_min_fen, at most what is available (taken
 * with a conditional update, so concurrent requests cannot overdraw), and
 * within withdraw_daily_fen per China calendar day (UTC+8) counting every
 * request of that day not rejected.
 */
#ifndef QUANZI_DOMAIN_WITHDRAWAL_H
#define QUANZI_DOMAIN_WITHDRAWAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum withdrawal_status {
    WITHDRAWAL_REQUESTED,
    WITHDRAWAL_APPROVED,
    WITHDRAWAL_PAID,
    WITHDRAWAL_REJECTED,
};
enum withdrawal_action { WITHDRAWAL_APPROVE, WITHDRAWAL_PAY, WITHDRAWAL_REJECT };

const char *withdrawal_status_name(enum withdrawal_status s);
/*
 * The pure state machine: requested --approve--> approved; requested or
 * approved --pay--> paid, --reject--> rejected. False when `act` is not
 * allowed in `from`.
 */
bool withdrawal_transition(enum withdrawal_status from, enum withdrawal_action act,
                           enum withdrawal_status *to);

struct withdrawal {
    int64_t id, shop_id, promoter_id, amount_fen;
    enum withdrawal_status status;
    const char *reference, *note, *promoter_name;
    int64_t created_at_ms, decided_at_ms, paid_at_ms;
};

MUST_CHECK enum err withdrawal_request(struct db *db, int64_t shop_id, int64_t user_id,
                                       int64_t amount_fen, int64_t *id, struct errinfo *ei);
MUST_CHECK enum err withdrawal_get(struct db *db, int64_t id, struct arena *a,
                                   struct withdrawal *out);
/* `text`: the payment reference (pay, required) or a note (reject, optional). */
MUST_CHECK enum err withdrawal_decide(struct db *db, int64_t id, enum withdrawal_action act,
                                      int64_t actor, const char *text, size_t text_len,
                                      struct errinfo *ei);
/* A provider's transfer of the withdrawal succeeded (paid) or failed (rejected: the money
 * back to available), as withdrawal_decide() but on the provider's word while its transfer
 * is under way (which keeps anyone else from deciding it). */
MUST_CHECK enum err withdrawal_settle_transfer(struct db *db, int64_t id, bool paid, int64_t actor,
                                               const char *text, size_t text_len,
                                               struct errinfo *ei);
/* A shop's (promoter_id 0) or one promoter's withdrawals, newest first. */
MUST_CHECK enum err withdrawal_list(struct db *db, int64_t shop_id, int64_t promoter_id,
                                    int64_t before_id, int64_t limit, struct arena *a,
                                    struct withdrawal **out, size_t *n, bool *more);
/* What a promoter has been paid out in total. */
MUST_CHECK enum err withdrawal_paid_total(struct db *db, int64_t promoter_id, int64_t *fen);

#endif
