/*
 * order_steps.h - what moves an order, shared by the three files that own
 * its parts: order.c (orders), payment.c (payments) and refund.c (refunds).
 * Nothing else includes it. Each runs inside its caller's transaction.
 */
#ifndef QUANZI_DOMAIN_ORDER_STEPS_H
#define QUANZI_DOMAIN_ORDER_STEPS_H

#include <stdbool.h>

#include "domain/order.h"

/* ERR_ILLEGAL_TRANSITION: "cannot WHAT an order that is CUR". */
enum err order_illegal(struct errinfo *ei, enum order_status cur, const char *what);
/* The order's row (no items, timeline or refunds). ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err order_load_head(struct db *db, int64_t id, struct arena *a, struct order *o);
MUST_CHECK enum err order_load_items(struct db *db, struct arena *a, struct order *o);
/* The whole order: items, timeline and refunds. */
MUST_CHECK enum err order_read(struct db *db, int64_t id, struct arena *a, struct order *o);
/* A timeline event: from the order's status (has_from) to `to`; actor 0 is the system. */
MUST_CHECK enum err order_add_event(struct db *db, const struct order *o, const char *kind,
                                    enum order_status to, bool has_from, int64_t actor,
                                    const char *note, int64_t now);
/* Moves o from its current status to `to`, conditional on it (a racing change loses:
 * ERR_ILLEGAL_TRANSITION), stamped, on the timeline; a dead order's units leave the cap. */
MUST_CHECK enum err order_move(struct db *db, struct order *o, enum order_status to,
                               const char *kind, int64_t actor, const char *note, int64_t now,
                               struct errinfo *ei);
/* Every item's units back into stock. */
MUST_CHECK enum err order_return_stock(struct db *db, struct arena *a, struct order *o);

#endif
