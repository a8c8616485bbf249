/*
 * order.h - orders: cart-less direct orders from one shop, their state
 * machine, shipping and timeline. Payments (payment.h) and refunds
 * (refund.h) move orders through order_steps.h.
 *
 * Owns orders, order_items, order_events and buyer_cap_units.
 *
 *   created --pay--> paid --ship--> shipped --receive--> delivered
 *      |               |                                     |
 *      +--cancel--> cancelled          refunded <--(full refund)   --complete--> completed
 *
 * - create copies prices into the order, takes stock with a conditional
 *   update (never oversells) and checks the per-buyer cap: units of a
 *   product in the buyer's live orders of the last 30 days.
 * - an unpaid order is cancelled by a job after the shop's timeout; stock
 *   comes back. A shipped order counts as received after auto_receive_days.
 *   A delivered order completes once the shop's return window (settle_days)
 *   has passed with no refund open.
 * - refunds: the buyer asks for part or all of what is left (one open
 *   request at a time) while the order is paid, shipped or delivered; the
 *   shop approves or rejects; after-sales refunds of a completed order too
 *   (commission already settled is clawed back). When everything is refunded the order is
 *   `refunded`; if it had not shipped, its stock comes back.
 * - every transition is checked by order_transition() (ERR_ILLEGAL_TRANSITION
 *   names the current state), timestamped and written to the timeline.
 */
#ifndef QUANZI_DOMAIN_ORDER_H
#define QUANZI_DOMAIN_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/idempotency.h"
#include "domain/refund.h"
#include "domain/shop.h"
#include "util/arena.h"
#include "util/err.h"

enum order_status {
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    ORDER_COMPLETED,
    ORDER_CANCELLED,
    ORDER_REFUNDED,
};

enum order_event { EV_PAY, EV_SHIP, EV_RECEIVE, EV_COMPLETE, EV_CANCEL, EV_REFUND_ALL };

#define ORDER_ITEMS_MAX 20
#define ORDER_QTY_MAX 1000
#define ORDER_CAP_WINDOW_MS (30LL * 24 * 60 * 60 * 1000)

const char *order_status_name(enum order_status s);
bool order_status_parse(const char *s, enum order_status *out);
/* The pure state machine: false when `ev` is not allowed in `from`. */
bool order_transition(enum order_status from, enum order_event ev, enum order_status *to);

struct address {
    const char *name, *phone, *region, *line;
    size_t name_len, phone_len, region_len, line_len;
};

struct order_item_in {
    int64_t product_id;
    int64_t qty;
};

struct order_new {
    int64_t shop_id;
    int64_t buyer_id;
    const struct order_item_in *items;
    size_t n_items;
    const char *share_token; /* NULL: none */
    struct address address;
};

struct order_item {
    int64_t product_id;
    const char *title;
    int64_t price_fen, qty, line_fen;
};

struct order_timeline_event {
    int64_t at_ms;
    const char *kind, *from, *to, *note;
    int64_t actor_id; /* 0: the system */
};

struct order {
    int64_t id, shop_id, buyer_id;
    enum order_status status;
    int64_t total_fen, refunded_fen;
    const char *share_token;
    struct address address;
    const char *carrier, *tracking;
    int64_t pay_deadline_ms, created_at_ms, paid_at_ms, shipped_at_ms, delivered_at_ms,
        completed_at_ms, cancelled_at_ms, updated_at_ms;
    struct order_item *items;
    size_t n_items;
    struct order_timeline_event *events;
    size_t n_events;
    struct refund *refunds;
    size_t n_refunds;
    int64_t promoter_id;        /* level 1 of the order's commission; 0: none */
    const char *attributed_via; /* "link", "share", "binding" or NULL */
    int64_t share_id;           /* the share it came through; 0: none */
    int share_hop;
};

/* The checks of an order's input that need no data (1..ORDER_ITEMS_MAX items, each once,
 * quantities, the address); order_create() runs them first. Errors name their field. */
MUST_CHECK enum err order_check_new(const struct order_new *in, struct errinfo *ei);
/*
 * Creates the order, in a transaction of its own or the caller's (under an
 * Idempotency-Key: idem_run()); *out is the order as created, in `a`.
 * Errors name their field: items, address.*, or ERR_OUT_OF_STOCK /
 * ERR_QUANTITY_CAP / ERR_PRODUCT_UNAVAILABLE with the item.
 */
MUST_CHECK enum err order_create(struct db *db, const struct order_new *in, struct arena *a,
                                 struct order *out, struct errinfo *ei);
/*
 * An order created under an Idempotency-Key (idem_run()): the key's work is
 * order_create(), a replay reads the order back as created; the caller says
 * how the answer is written. On ERR_OK, k->call says what happened (state,
 * status, the answer rendered); a refusal is returned, recorded with its key.
 */
struct order_keyed {
    const struct order_new *in;
    struct arena *a;
    struct errinfo *ei;
    /* the answer of the order (k->out: created, or read back for a replay), and of a
     * refusal; NULL when too large */
    const char *(*render)(struct order_keyed *k, struct arena *a);
    const char *(*refusal)(struct order_keyed *k, enum err e, struct arena *a);
    void *ctx;             /* the caller's */
    struct order out;      /* out */
    struct idem_call call; /* out */
};
MUST_CHECK enum err order_create_keyed(struct db *db, struct order_keyed *k, const char *key,
                                       const char *hash);
/* An order as its create answered it (a replay of the create): what it was created with, in
 * its first state. */
MUST_CHECK enum err order_as_created(struct db *db, int64_t id, struct arena *a, struct order *out);
/* With items, timeline and refunds. ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err order_get(struct db *db, int64_t id, struct arena *a, struct order *out);

MUST_CHECK enum err order_ship(struct db *db, int64_t id, const char *carrier, size_t carrier_len,
                               const char *tracking, size_t tracking_len, int64_t actor,
                               struct errinfo *ei);
MUST_CHECK enum err order_receive(struct db *db, int64_t id, int64_t actor, struct errinfo *ei);
MUST_CHECK enum err order_cancel(struct db *db, int64_t id, int64_t actor, const char *note,
                                 struct errinfo *ei);

struct order_filter {
    int64_t shop_id;  /* or */
    int64_t buyer_id; /* one of the two */
    bool any_status;
    enum order_status status;
    int64_t before_id;
    int64_t limit;
};
/* Newest first, without timeline and refunds. */
MUST_CHECK enum err order_list(struct db *db, const struct order_filter *f, struct arena *a,
                               struct order **out, size_t *n, bool *more);

/* Jobs: each returns how many orders it moved. */
MUST_CHECK enum err order_cancel_unpaid(struct db *db, int64_t now_ms, int64_t *moved);
MUST_CHECK enum err order_auto_receive(struct db *db, int64_t now_ms, int64_t *moved);
MUST_CHECK enum err order_complete_due(struct db *db, int64_t now_ms, int64_t *moved);

#endif
