/*
 * ledger.h - the double-entry ledger of a shop's money, in fen.
 *
 * Owns ledger_accounts, ledger_txns and ledger_entries. Append-only: a
 * correction is a new transaction. Every business event is one transaction
 * whose entries sum to zero. Each account caches its balance (the sum of its
 * entries), updated in the same transaction and verified by ledger_check().
 *
 * Accounts, per shop:
 *   external     money outside the system: buyers' payments come from it,
 *                refunds and payouts go back to it (negative while the shop
 *                holds money that came in)
 *   revenue      what buyers paid, net of refunds
 *   commission   commission expense (negative: owed or paid to promoters)
 * and per promoter of the shop:
 *   pending      commission earned, inside the return window
 *   available    settled commission that may be withdrawn; may go below zero
 *                only when a refund claws back commission already settled or
 *                withdrawn (carried forward against future commission)
 *   withdrawing  asked to be paid out, not yet paid or rejected
 * There is no platform account: quanzi takes no cut, so no money of the
 * platform's ever enters a shop's books.
 */
#ifndef QUANZI_DOMAIN_LEDGER_H
#define QUANZI_DOMAIN_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum ledger_kind {
    LEDGER_EXTERNAL,
    LEDGER_REVENUE,
    LEDGER_COMMISSION,
    LEDGER_PENDING,
    LEDGER_AVAILABLE,
    LEDGER_WITHDRAWING,
};

const char *ledger_kind_name(enum ledger_kind k);

struct ledger_entry {
    enum ledger_kind kind;
    int64_t promoter_id; /* for the promoter accounts */
    int64_t amount_fen;  /* signed; zero entries are skipped */
    bool keep_nonneg;    /* refuse (ERR_INSUFFICIENT_BALANCE) if the balance would go below 0 */
};

#define LEDGER_ENTRIES_MAX 16

/*
 * Posts one balanced transaction inside the caller's write transaction.
 * ERR_INTERNAL if the entries do not sum to zero (a bug, never a user's
 * error); ERR_INSUFFICIENT_BALANCE if a keep_nonneg entry would overdraw.
 */
MUST_CHECK enum err ledger_post(struct db *db, int64_t shop_id, const char *kind, int64_t ref_id,
                                const char *memo, const struct ledger_entry *e, size_t n,
                                int64_t now);

/* A promoter's cached balances in a shop (0 for an account not opened yet). */
struct ledger_promoter_balance {
    int64_t pending, available, withdrawing;
};
MUST_CHECK enum err ledger_promoter_balance(struct db *db, int64_t shop_id, int64_t promoter_id,
                                            struct ledger_promoter_balance *out);

struct ledger_line {
    const char *account; /* kind */
    int64_t promoter_id; /* 0: a shop account */
    int64_t amount_fen;
};
struct ledger_txn {
    int64_t id;
    const char *kind, *memo;
    int64_t ref_id, created_at_ms;
    struct ledger_line *lines;
    size_t n_lines;
};
struct ledger_account {
    const char *kind;
    int64_t promoter_id, balance_fen;
};
/* A shop's transactions, newest first, with their entries. */
MUST_CHECK enum err ledger_list(struct db *db, int64_t shop_id, int64_t before_id, int64_t limit,
                                struct arena *a, struct ledger_txn **out, size_t *n, bool *more);
/* A shop's accounts and their balances. */
MUST_CHECK enum err ledger_accounts(struct db *db, int64_t shop_id, struct arena *a,
                                    struct ledger_account **out, size_t *n);

/*
 * Verifies the invariants of DESIGN.md §9 over the whole database and writes
 * one line per broken row to `out`: transactions sum to zero; cached
 * balances equal their entries; pending and withdrawing balances equal their
 * commissions and withdrawals and are never negative; available is negative
 * only after a clawback; each order's commission is floor(weighted rate x
 * (total - refunded)) at levels 1 and 2 only; one ledger transaction per
 * payment and refund; stock + sold = stock_in. *problems counts them.
 */
MUST_CHECK enum err ledger_check(struct db *db, FILE *out, int64_t *problems);

#endif
