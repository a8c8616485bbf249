/*
 * payment.h - payments: the one way an order becomes paid.
 *
 * Owns payments. payment_apply() has one effect per (provider, reference):
 * the same notification again changes nothing (and answers the order as
 * it is); the amount must equal the order's total. The order moves from
 * created to paid, the buyer's learned interests grow by the products'
 * tags, and commission is earned (commission.h), in one transaction.
 * Providers: "offline" (the shop confirms a transfer); WeChat Pay next.
 */
#ifndef QUANZI_DOMAIN_PAYMENT_H
#define QUANZI_DOMAIN_PAYMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/order.h"
#include "util/arena.h"
#include "util/err.h"

struct payment {
    const char *provider;
    const char *reference; /* NULL for offline: one is made from the order id */
    int64_t order_id;
    bool has_amount;
    int64_t amount_fen;
    int64_t actor_id; /* 0: the provider */
    /* the actor confirms for the shop: ERR_NOT_FOUND unless they run the order's shop
     * (checked in the payment's own transaction, not in one of its own before it) */
    bool by_shop;
    /* optional: the order as the payment leaves it, read in its transaction (in out_arena) */
    struct order *out;
    struct arena *out_arena;
};
MUST_CHECK enum err payment_apply(struct db *db, const struct payment *p, struct errinfo *ei);

#endif
