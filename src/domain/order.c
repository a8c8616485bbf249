#include "domain/order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/account.h"
#include "domain/catalog.h"
#include "domain/check.h"
#include "domain/commission.h"
#include "domain/idempotency.h"
#include "domain/promoter.h"
#include "domain/shop.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/money.h"

static const char *const status_names[] = {"created",   "paid",      "shipped", "delivered",
                                           "completed", "cancelled", "refunded"};

const char *order_status_name(enum order_status s)
{
    return (unsigned)s <= ORDER_REFUNDED ? status_names[s] : "created";
}

bool order_status_parse(const char *s, enum order_status *out)
{
    for (int i = 0; s && i <= ORDER_REFUNDED; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum order_status)i;
            return true;
        }
    return false;
}

bool order_transition(enum order_status from, enum order_event ev, enum order_status *to)
{
    switch (ev) {
    case EV_PAY:
        return from == ORDER_CREATED && (*to = ORDER_PAID, true);
    case EV_SHIP:
        return from == ORDER_PAID && (*to = ORDER_SHIPPED, true);
    case EV_RECEIVE:
        return from == ORDER_SHIPPED && (*to = ORDER_DELIVERED, true);
    case EV_COMPLETE:
        return from == ORDER_DELIVERED && (*to = ORDER_COMPLETED, true);
    case EV_CANCEL:
        return from == ORDER_CREATED && (*to = ORDER_CANCELLED, true);
    case EV_REFUND_ALL:
        return (from == ORDER_PAID || from == ORDER_SHIPPED || from == ORDER_DELIVERED ||
                from == ORDER_COMPLETED) &&
               (*to = ORDER_REFUNDED, true);
    }
    return false;
}

static enum err illegal(struct errinfo *ei, enum order_status cur, const char *what)
{
    return err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "cannot %s an order that is %s", what,
                   order_status_name(cur));
}

/* --- rows --- */

#define ORDER_COLS                                                                                 \
    "id, shop_id, buyer_id, status, total_fen, refunded_fen, share_token, address_name,"           \
    " address_phone, address_region, address_line, carrier, tracking, pay_deadline_at,"            \
    " created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at,"      \
    " promoter_id, attributed_via"

static const char *dup(struct arena *a, struct db_stmt *st, int col)
{
    const char *t = db_col_text(st, col, NULL);
    return t ? arena_strdup(a, t) : NULL;
}

static void read_head(struct db_stmt *st, struct arena *a, struct order *o)
{
    memset(o, 0, sizeof *o);
    o->id = db_col_int64(st, 0);
    o->shop_id = db_col_int64(st, 1);
    o->buyer_id = db_col_int64(st, 2);
    (void)order_status_parse(db_col_text(st, 3, NULL), &o->status);
    o->total_fen = db_col_int64(st, 4);
    o->refunded_fen = db_col_int64(st, 5);
    o->share_token = dup(a, st, 6);
    o->address.name = dup(a, st, 7);
    o->address.phone = dup(a, st, 8);
    o->address.region = dup(a, st, 9);
    o->address.line = dup(a, st, 10);
    o->carrier = dup(a, st, 11);
    o->tracking = dup(a, st, 12);
    o->pay_deadline_ms = db_col_int64(st, 13);
    o->created_at_ms = db_col_int64(st, 14);
    o->paid_at_ms = db_col_int64(st, 15);
    o->shipped_at_ms = db_col_int64(st, 16);
    o->delivered_at_ms = db_col_int64(st, 17);
    o->completed_at_ms = db_col_int64(st, 18);
    o->cancelled_at_ms = db_col_int64(st, 19);
    o->updated_at_ms = db_col_int64(st, 20);
    o->promoter_id = db_col_is_null(st, 21) ? 0 : db_col_int64(st, 21);
    o->attributed_via = dup(a, st, 22);
}

static enum err load_head(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    static const char sql[] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_row_by_id(db, sql, id, &st);
    if (e)
        return e;
    read_head(st, a, o);
    db_done(st);
    return a->exhausted ? ERR_TOO_LARGE : ERR_OK;
}

static enum err load_items(struct db *db, struct arena *a, struct order *o)
{
    static const char sql[] = "SELECT product_id, title, price_fen, qty, line_fen FROM order_items"
                              " WHERE order_id = ? ORDER BY product_id";
    struct db_stmt *st = NULL;
    bool row = false;
    o->items = arena_alloc(a, ORDER_ITEMS_MAX * sizeof *o->items);
    if (!o->items)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, o->id);
    while ((e = db_step(st, &row)) == ERR_OK && row && o->n_items < ORDER_ITEMS_MAX) {
        struct order_item *it = &o->items[o->n_items++];
        it->product_id = db_col_int64(st, 0);
        it->title = dup(a, st, 1);
        it->price_fen = db_col_int64(st, 2);
        it->qty = db_col_int64(st, 3);
        it->line_fen = db_col_int64(st, 4);
    }
    db_done(st);
    return e;
}

enum err order_parties(struct db *db, int64_t id, int64_t user_id, int64_t *shop_id,
                       int64_t *buyer_id, enum shop_role *role)
{
    /* one statement: each runs under the write lock for a request that writes */
    static const char sql[] = "SELECT o.shop_id, o.buyer_id, r.role FROM orders o"
                              " LEFT JOIN shop_roles r ON r.shop_id = o.shop_id AND r.user_id = ?"
                              " WHERE o.id = ?";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, user_id);
    db_bind_int64(st, 2, id);
    e = db_step(st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK) {
        *shop_id = db_col_int64(st, 0);
        *buyer_id = db_col_int64(st, 1);
        *role = shop_role_from(db_col_text(st, 2, NULL));
    }
    db_done(st);
    return e;
}

#define REFUND_COLS "id, order_id, amount_fen, reason, status, note, created_at, decided_at"

/* One row of REFUND_COLS. */
static void read_refund(struct db_stmt *st, struct arena *a, struct refund *r)
{
    r->id = db_col_int64(st, 0);
    r->order_id = db_col_int64(st, 1);
    r->amount_fen = db_col_int64(st, 2);
    r->reason = dup(a, st, 3);
    r->status = dup(a, st, 4);
    r->note = dup(a, st, 5);
    r->created_at_ms = db_col_int64(st, 6);
    r->decided_at_ms = db_col_int64(st, 7);
}

static enum err order_read(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    static const char ev[] = "SELECT at, kind, from_status, to_status, actor_id, note"
                             " FROM order_events WHERE order_id = ? ORDER BY id LIMIT 100";
    static const char rf[] = "SELECT " REFUND_COLS " FROM refunds WHERE order_id = ?"
                             " ORDER BY id LIMIT 50";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = load_head(db, id, a, o);
    if (!e)
        e = load_items(db, a, o);
    if (e)
        return e;
    o->events = arena_alloc(a, 100 * sizeof *o->events);
    o->refunds = arena_alloc(a, 50 * sizeof *o->refunds);
    if (!o->events || !o->refunds)
        return ERR_TOO_LARGE;
    if ((e = db_prepare(db, ev, &st)))
        return e;
    db_bind_int64(st, 1, id);
    while ((e = db_step(st, &row)) == ERR_OK && row && o->n_events < 100) {
        struct order_timeline_event *t = &o->events[o->n_events++];
        t->at_ms = db_col_int64(st, 0);
        t->kind = dup(a, st, 1);
        t->from = dup(a, st, 2);
        t->to = dup(a, st, 3);
        t->actor_id = db_col_int64(st, 4);
        t->note = dup(a, st, 5);
    }
    db_done(st);
    if (e || (e = db_prepare(db, rf, &st)))
        return e;
    db_bind_int64(st, 1, id);
    while ((e = db_step(st, &row)) == ERR_OK && row && o->n_refunds < 50)
        read_refund(st, a, &o->refunds[o->n_refunds++]);
    db_done(st);
    return e ? e : a->exhausted ? ERR_TOO_LARGE : ERR_OK;
}

enum err order_get(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    if (db_in_tx(db))
        return order_read(db, id, a, o);
    /* one snapshot for the four reads (and one lock and cache check, not four) */
    enum err e = db_begin(db, DB_TX_READ);
    if (!e)
        e = order_read(db, id, a, o);
    db_rollback(db);
    return e;
}

static enum err add_event(struct db *db, const struct order *o, const char *kind,
                          enum order_status to, bool has_from, int64_t actor, const char *note,
                          int64_t now)
{
    static const char sql[] = "INSERT INTO order_events (shop_id, order_id, at, kind, from_status,"
                              " to_status, actor_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, o->shop_id);
    db_bind_int64(st, 2, o->id);
    db_bind_int64(st, 3, now);
    db_bind_str(st, 4, kind);
    db_bind_str(st, 5, has_from ? order_status_name(o->status) : NULL);
    db_bind_str(st, 6, order_status_name(to));
    if (actor)
        db_bind_int64(st, 7, actor);
    else
        db_bind_null(st, 7);
    db_bind_str(st, 8, note ? note : "");
    e = db_step_done(st);
    db_done(st);
    return e;
}

/* Moves o from its current status to `to` (conditional: a racing change loses). */
static enum err move(struct db *db, struct order *o, enum order_status to, const char *kind,
                     int64_t actor, const char *note, int64_t now, struct errinfo *ei)
{
    static const char *const sql[] = {
        [ORDER_PAID] = "UPDATE orders SET status = 'paid', paid_at = ?, updated_at = ?"
                       " WHERE id = ? AND status = ?",
        [ORDER_SHIPPED] = "UPDATE orders SET status = 'shipped', shipped_at = ?, updated_at = ?"
                          " WHERE id = ? AND status = ?",
        [ORDER_DELIVERED] = "UPDATE orders SET status = 'delivered', delivered_at = ?,"
                            " updated_at = ? WHERE id = ? AND status = ?",
        [ORDER_COMPLETED] = "UPDATE orders SET status = 'completed', completed_at = ?,"
                            " updated_at = ? WHERE id = ? AND status = ?",
        [ORDER_CANCELLED] = "UPDATE orders SET status = 'cancelled', cancelled_at = ?,"
                            " updated_at = ? WHERE id = ? AND status = ?",
        [ORDER_REFUNDED] = "UPDATE orders SET status = 'refunded', updated_at = ?"
                           " WHERE id = ? AND status = ?",
    };
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql[to], &st);
    if (e)
        return e;
    int k = 1;
    db_bind_int64(st, k++, now);
    if (to != ORDER_REFUNDED) /* the others also stamp their own column */
        db_bind_int64(st, k++, now);
    db_bind_int64(st, k++, o->id);
    db_bind_str(st, k, order_status_name(o->status));
    e = db_step_done(st);
    int64_t changed = e == ERR_OK ? db_changes(st) : 0;
    db_done(st);
    if (e == ERR_OK && changed != 1)
        return illegal(ei, o->status, kind);
    if (e == ERR_OK && (to == ORDER_CANCELLED || to == ORDER_REFUNDED)) {
        /* RULE: NO-STOCKPILING - units of a dead order no longer count */
        static const char uncount[] =
            "DELETE FROM buyer_cap_units WHERE buyer_id = ? AND created_at = ? AND order_id = ?"
            " AND product_id IN (SELECT product_id FROM order_items WHERE order_id = ?)";
        if ((e = db_prepare(db, uncount, &st)))
            return e;
        db_bind_int64(st, 1, o->buyer_id);
        db_bind_int64(st, 2, o->created_at_ms);
        db_bind_int64(st, 3, o->id);
        db_bind_int64(st, 4, o->id);
        e = db_step_done(st);
        db_done(st);
    }
    if (e == ERR_OK)
        e = add_event(db, o, kind, to, true, actor, note, now);
    if (e == ERR_OK)
        o->status = to;
    return e;
}

static enum err return_all_stock(struct db *db, struct arena *a, struct order *o)
{
    enum err e = o->items ? ERR_OK : load_items(db, a, o);
    for (size_t i = 0; e == ERR_OK && i < o->n_items; i++)
        e = catalog_return_stock(db, o->items[i].product_id, o->items[i].qty);
    return e;
}

/* --- create --- */

static enum err check_address(const struct address *ad, struct errinfo *ei)
{
    enum err e;
    char phone[LIMIT_LOGIN_BYTES + 1];
    if (!ad->name || !ad->phone || !ad->region || !ad->line)
        return err_set(ei, ERR_MISSING_FIELD, "address",
                       "address needs name, phone, region and line");
    if ((e = check_name(ad->name, ad->name_len, "address.name", 30, ei)) ||
        (e = check_name(ad->region, ad->region_len, "address.region", 60, ei)) ||
        (e = check_name(ad->line, ad->line_len, "address.line", 200, ei)))
        return e;
    if (ad->phone_len > 32 || memchr(ad->phone, '@', ad->phone_len) ||
        account_normalize_login(ad->phone, ad->phone_len, phone, NULL) != ERR_OK)
        return err_set(ei, ERR_INVALID, "address.phone",
                       "address.phone must be a mobile number the courier can call");
    return ERR_OK;
}

static enum err check_items(const struct order_new *in, struct errinfo *ei)
{
    if (in->n_items < 1 || in->n_items > ORDER_ITEMS_MAX)
        return err_set(ei, ERR_OUT_OF_RANGE, "items", "an order has 1 to %d items",
                       ORDER_ITEMS_MAX);
    for (size_t i = 0; i < in->n_items; i++) {
        if (in->items[i].qty < 1 || in->items[i].qty > ORDER_QTY_MAX)
            return err_set(ei, ERR_OUT_OF_RANGE, "items", "items[%zu].qty must be from 1 to %d", i,
                           ORDER_QTY_MAX);
        for (size_t j = 0; j < i; j++)
            if (in->items[j].product_id == in->items[i].product_id)
                return err_set(ei, ERR_INVALID, "items",
                               "product %lld is listed twice; give one item with its qty",
                               (long long)in->items[i].product_id);
    }
    return ERR_OK;
}

static int by_product(const void *x, const void *y)
{
    const struct order_item *a = x, *b = y;
    return (a->product_id > b->product_id) - (a->product_id < b->product_id);
}

/* The order as its create answered it: what it was created with, in its first state. */
static void as_created(struct order *o)
{
    o->status = ORDER_CREATED;
    o->refunded_fen = 0;
    o->carrier = o->tracking = NULL;
    o->paid_at_ms = o->shipped_at_ms = o->delivered_at_ms = o->completed_at_ms =
        o->cancelled_at_ms = 0;
    o->updated_at_ms = o->created_at_ms;
    o->events[0] = (struct order_timeline_event){.at_ms = o->created_at_ms,
                                                 .kind = "created",
                                                 .to = order_status_name(ORDER_CREATED),
                                                 .note = "",
                                                 .actor_id = o->buyer_id};
    o->n_events = 1;
    o->n_refunds = 0;
}

/* The order just inserted, as order_get() reads it back, without reading it back. */
static enum err created_order(const struct order_new *in, int64_t id, const char **titles,
                              const int64_t *prices, int64_t total, int64_t deadline,
                              int64_t promoter, const char *via, int64_t now, struct arena *a,
                              struct order *o)
{
    memset(o, 0, sizeof *o);
    o->id = id;
    o->shop_id = in->shop_id;
    o->buyer_id = in->buyer_id;
    o->total_fen = total;
    o->share_token = in->share_token ? arena_strdup(a, in->share_token) : NULL;
    o->address.name = arena_strndup(a, in->address.name, in->address.name_len);
    o->address.phone = arena_strndup(a, in->address.phone, in->address.phone_len);
    o->address.region = arena_strndup(a, in->address.region, in->address.region_len);
    o->address.line = arena_strndup(a, in->address.line, in->address.line_len);
    o->pay_deadline_ms = deadline;
    o->created_at_ms = now;
    o->promoter_id = promoter;
    o->attributed_via = via ? arena_strdup(a, via) : NULL;
    o->items = arena_alloc(a, (in->n_items + 1) * sizeof *o->items);
    o->events = arena_alloc(a, sizeof *o->events);
    o->refunds = arena_alloc(a, sizeof *o->refunds);
    if (!o->items || !o->events || !o->refunds || a->exhausted)
        return ERR_TOO_LARGE;
    for (size_t i = 0; i < in->n_items; i++)
        o->items[i] = (struct order_item){.product_id = in->items[i].product_id,
                                          .title = titles[i],
                                          .price_fen = prices[i],
                                          .qty = in->items[i].qty,
                                          .line_fen = prices[i] * in->items[i].qty};
    o->n_items = in->n_items;
    qsort(o->items, o->n_items, sizeof *o->items, by_product);
    as_created(o);
    return ERR_OK;
}

enum err order_as_created(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    enum err e = load_head(db, id, a, o);
    if (!e)
        e = load_items(db, a, o);
    if (e)
        return e;
    o->events = arena_alloc(a, sizeof *o->events);
    o->refunds = arena_alloc(a, sizeof *o->refunds);
    if (!o->events || !o->refunds)
        return ERR_TOO_LARGE;
    as_created(o);
    return ERR_OK;
}

enum err order_check_new(const struct order_new *in, struct errinfo *ei)
{
    enum err e = check_items(in, ei);
    return e ? e : check_address(&in->address, ei);
}

struct create_args {
    const struct order_new *in;
    struct arena *a;
    struct order *out;
    struct errinfo *ei;
};

static enum err create_tx(struct db *db, void *arg)
{
    static const char product[] = "SELECT shop_id, title, price_fen, status, buyer_cap_30d"
                                  " FROM products WHERE id = ?";
    static const char bought[] = "SELECT COALESCE(SUM(qty), 0) FROM buyer_cap_units"
                                 " WHERE buyer_id = ? AND product_id = ? AND created_at > ?";
    static const char counted[] = "INSERT INTO buyer_cap_units (buyer_id, product_id, created_at,"
                                  " order_id, qty) VALUES (?, ?, ?, ?, ?)";
    static const char ins_order[] =
        "INSERT INTO orders (shop_id, buyer_id, status, total_fen, share_token, address_name,"
        " address_phone, address_region, address_line, pay_deadline_at, created_at, updated_at,"
        " promoter_id, attributed_via) VALUES (?, ?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id";
    static const char lock_buyer[] = "UPDATE users SET id = id WHERE id = ?"; /* a row lock */
    static const char ins_item[] = "INSERT INTO order_items (shop_id, order_id, product_id, title,"
                                   " price_fen, qty, line_fen) VALUES (?, ?, ?, ?, ?, ?, ?)";
    const struct create_args *q = arg;
    const struct order_new *in = q->in;
    struct arena *a = q->a;
    struct errinfo *ei = q->ei;
    struct shop shop;
    struct db_stmt *st = NULL;
    int64_t total = 0, id = 0, now = clock_now_ms();
    const char **titles = arena_alloc(a, (in->n_items + 1) * sizeof *titles);
    int64_t *prices = arena_alloc(a, (in->n_items + 1) * sizeof *prices);
    enum err e;
    if (!titles || !prices)
        return ERR_TOO_LARGE;
    /* Hot rows: many buyers order the same product at once. The stock is taken with a
     * conditional update (never oversells at any isolation); the per-buyer cap is a
     * read-then-write, so where writes run concurrently the buyer's own row is locked
     * first: two orders of one buyer queue, orders of different buyers do not. */
    if (!db_caps(db)->serial_writes && (e = db_run(db, lock_buyer, DB_INT(in->buyer_id))))
        return e;
    e = shop_get(db, in->shop_id, a, &shop);
    if (e == ERR_NOT_FOUND)
        return err_set(ei, ERR_NOT_FOUND, "shop_id", "no such shop");
    if (e)
        return e;
    /* RULE: BINDING - a bound customer's order is their promoter's, else the link's */
    int64_t promoter = 0;
    const char *via = NULL;
    if ((e = promoter_attribute(db, in->shop_id, in->buyer_id, in->share_token, now, &promoter,
                                &via)))
        return e;
    for (size_t i = 0; i < in->n_items; i++) {
        const struct order_item_in *it = &in->items[i];
        e = db_first(db, product, &st, DB_INT(it->product_id));
        if (e && e != ERR_NOT_FOUND)
            return e;
        bool ok = e == ERR_OK && db_col_int64(st, 0) == in->shop_id &&
                  strcmp(db_col_text(st, 3, NULL), "on_sale") == 0;
        int64_t cap =
            ok && !db_col_is_null(st, 4) ? db_col_int64(st, 4) : shop.settings.buyer_cap_30d;
        if (ok) {
            titles[i] = db_col_dup(st, 1, a);
            prices[i] = db_col_int64(st, 2);
        }
        db_done(st);
        if (!ok)
            return err_set(ei, ERR_PRODUCT_UNAVAILABLE, "items",
                           "product %lld is not on sale in this shop", (long long)it->product_id);
        /* RULE: NO-STOCKPILING - the per-buyer cap over 30 days */
        int64_t used = 0;
        if ((e = db_value(db, bought, &used, DB_INT(in->buyer_id), DB_INT(it->product_id),
                          DB_INT(now - ORDER_CAP_WINDOW_MS))))
            return e;
        if (used + it->qty > cap)
            return err_set(ei, ERR_QUANTITY_CAP, "items",
                           "one buyer may order at most %lld of product %lld in 30 days "
                           "(%lld ordered so far)",
                           (long long)cap, (long long)it->product_id, (long long)used);
        int64_t line;
        if (!money_mul(prices[i], it->qty, &line) || !money_add(total, line, &total))
            return err_set(ei, ERR_OUT_OF_RANGE, "items", "the order total is too large");
    }
    int64_t deadline = now + shop.settings.unpaid_timeout_min * 60 * 1000;
    if ((e = db_value(db, ins_order, &id, DB_INT(in->shop_id), DB_INT(in->buyer_id),
                      DB_INT(total), DB_STR(in->share_token),
                      DB_TEXT(in->address.name, in->address.name_len),
                      DB_TEXT(in->address.phone, in->address.phone_len),
                      DB_TEXT(in->address.region, in->address.region_len),
                      DB_TEXT(in->address.line, in->address.line_len), DB_INT(deadline),
                      DB_INT(now), DB_INT(now), DB_REF(promoter), DB_STR(via))))
        return e;
    for (size_t i = 0; i < in->n_items; i++) {
        const struct order_item_in *it = &in->items[i];
        e = catalog_take_stock(db, in->shop_id, it->product_id, it->qty, NULL);
        if (e == ERR_CONFLICT)
            e = err_set(ei, ERR_OUT_OF_STOCK, "items", "product %lld has fewer than %lld left",
                        (long long)it->product_id, (long long)it->qty);
        if (e ||
            (e = db_run(db, ins_item, DB_INT(in->shop_id), DB_INT(id), DB_INT(it->product_id),
                        DB_STR(titles[i]), DB_INT(prices[i]), DB_INT(it->qty),
                        DB_INT(prices[i] * it->qty))) ||
            (e = db_run(db, counted, DB_INT(in->buyer_id), DB_INT(it->product_id), DB_INT(now),
                        DB_INT(id), DB_INT(it->qty))))
            return e;
    }
    struct order o = {.id = id, .shop_id = in->shop_id};
    if ((e = add_event(db, &o, "created", ORDER_CREATED, false, in->buyer_id, NULL, now)))
        return e;
    return created_order(in, id, titles, prices, total, deadline, promoter, via, now, a, q->out);
}

enum err order_create(struct db *db, const struct order_new *in, struct arena *a,
                      struct order *out, struct errinfo *ei)
{
    enum err e = order_check_new(in, ei);
    if (e)
        return e;
    struct create_args q = {.in = in, .a = a, .out = out, .ei = ei};
    if ((e = db_tx_run(db, DB_TX_WRITE_LOCKED, create_tx, &q)))
        return e;
    LOG(LOG_INFO, "order_created", "shop_id=%lld order_id=%lld total_fen=%lld",
        (long long)in->shop_id, (long long)out->id, (long long)out->total_fen);
    return ERR_OK;
}

/* --- transitions --- */

/* Adds the purchased product's tags to the buyer's learned interests (bounded). */
static enum err learn_interests(struct db *db, int64_t order_id, int64_t buyer, int64_t now)
{
    static const char sql[] =
        "INSERT INTO member_interests (user_id, source, tag, weight_milli, updated_at)"
        " SELECT ?, 'learned', t.tag, CASE WHEN t.weight_milli * 3 / 10 < 1 THEN 1"
        " ELSE t.weight_milli * 3 / 10 END, ? FROM order_items i"
        " JOIN product_tags t ON t.product_id = i.product_id WHERE i.order_id = ?"
        " ON CONFLICT (user_id, source, tag) DO UPDATE SET weight_milli ="
        " CASE WHEN member_interests.weight_milli + excluded.weight_milli > 1000 THEN 1000"
        " ELSE member_interests.weight_milli + excluded.weight_milli END,"
        " updated_at = excluded.updated_at";
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, buyer);
    db_bind_int64(st, 2, now);
    db_bind_int64(st, 3, order_id);
    e = db_step_done(st);
    db_done(st);
    return e;
}

struct pay_args {
    const struct payment *p;
    const char *ref;
    struct arena *a;
    struct errinfo *ei;
};

static enum err pay_tx(struct db *db, void *arg)
{
    static const char find[] = "SELECT order_id FROM payments WHERE provider = ? AND reference = ?";
    static const char ins[] = "INSERT INTO payments (shop_id, order_id, provider, reference,"
                              " amount_fen, created_at) VALUES (?, ?, ?, ?, ?, ?)";
    const struct pay_args *q = arg;
    const struct payment *p = q->p;
    struct errinfo *ei = q->ei;
    struct order o;
    enum order_status to;
    int64_t now = clock_now_ms(), paid_order = 0;
    enum err e = load_head(db, p->order_id, q->a, &o);
    if (e == ERR_NOT_FOUND)
        return err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
    if (e)
        return e;
    if (p->by_shop) {
        enum shop_role role;
        if ((e = shop_role_of(db, o.shop_id, p->actor_id, &role)))
            return e;
        if (role == SHOP_ROLE_NONE)
            return err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
    }
    e = db_value(db, find, &paid_order, DB_STR(p->provider), DB_STR(q->ref));
    if (e == ERR_OK) { /* this notification was applied before: no second effect */
        if (paid_order != p->order_id)
            return err_set(ei, ERR_UNPROCESSABLE, "reference",
                           "this payment reference belongs to another order");
        return p->out ? order_read(db, p->order_id, p->out_arena, p->out) : ERR_OK;
    }
    if (e != ERR_NOT_FOUND)
        return e;
    if (!order_transition(o.status, EV_PAY, &to))
        return illegal(ei, o.status, "confirm payment of");
    int64_t amount = p->has_amount ? p->amount_fen : o.total_fen;
    if (amount != o.total_fen)
        return err_set(ei, ERR_UNPROCESSABLE, "amount_fen",
                       "the payment of %lld fen does not match the order total of %lld fen",
                       (long long)amount, (long long)o.total_fen);
    e = db_run(db, ins, DB_INT(o.shop_id), DB_INT(o.id), DB_STR(p->provider), DB_STR(q->ref),
               DB_INT(amount), DB_INT(now));
    if (e == ERR_CONFLICT)
        return ERR_RETRY; /* the same payment, applied meanwhile: run again to see it */
    if (e)
        return e;
    char note[160];
    snprintf(note, sizeof note, "%s %s", p->provider, q->ref);
    if ((e = move(db, &o, to, "paid", p->actor_id, note, now, ei)) ||
        (e = learn_interests(db, o.id, o.buyer_id, now)))
        return e;
    /* RULE: PENDING-THEN-SETTLED - commission is earned (pending) when the order is paid */
    if ((e = commission_on_paid(db, &o, o.promoter_id, now)))
        return e;
    return p->out ? order_read(db, o.id, p->out_arena, p->out) : ERR_OK;
}

enum err payment_apply(struct db *db, const struct payment *p, struct errinfo *ei)
{
    struct arena a;
    char ref[96];
    if (p->reference)
        snprintf(ref, sizeof ref, "%s", p->reference);
    else
        snprintf(ref, sizeof ref, "%s-%lld", p->provider, (long long)p->order_id);
    arena_init(&a, 256 * 1024);
    struct pay_args q = {.p = p, .ref = ref, .a = &a, .ei = ei};
    /* Hot rows: every payment of a shop adds to the shop's ledger accounts. On
     * PostgreSQL this runs at READ COMMITTED: the balance updates wait for the
     * row and add to what is there; the order moves only from the status read
     * (a conditional update), and the payment is unique by (provider, reference). */
    enum err e = db_tx_run(db, DB_TX_WRITE_LOCKED, pay_tx, &q);
    arena_release(&a);
    return e;
}

/* One event on one order, in a transaction of its own. */
struct step_args {
    int64_t id, actor;
    enum order_event ev;
    const char *kind, *what, *note;
    struct errinfo *ei;
    enum err (*extra)(struct db *, struct arena *, struct order *, void *);
    void *ctx;
    struct arena *a;
};

static enum err step_tx(struct db *db, void *arg)
{
    const struct step_args *q = arg;
    struct order o;
    enum order_status to;
    enum err e = load_head(db, q->id, q->a, &o);
    if (e)
        return e;
    if (!order_transition(o.status, q->ev, &to))
        return illegal(q->ei, o.status, q->what);
    if (q->extra && (e = q->extra(db, q->a, &o, q->ctx)))
        return e;
    return move(db, &o, to, q->kind, q->actor, q->note, clock_now_ms(), q->ei);
}

static enum err step(struct db *db, int64_t id, enum order_event ev, const char *kind,
                     const char *what, int64_t actor, const char *note, struct errinfo *ei,
                     enum err (*extra)(struct db *, struct arena *, struct order *, void *),
                     void *ctx)
{
    struct arena a;
    arena_init(&a, 256 * 1024);
    struct step_args q = {.id = id, .actor = actor, .ev = ev, .kind = kind, .what = what,
                          .note = note, .ei = ei, .extra = extra, .ctx = ctx, .a = &a};
    enum err e = db_tx_run(db, DB_TX_WRITE, step_tx, &q);
    arena_release(&a);
    return e;
}

struct ship_ctx {
    const char *carrier, *tracking;
    size_t carrier_len, tracking_len;
};

static enum err set_shipping(struct db *db, struct arena *a, struct order *o, void *ctx)
{
    static const char sql[] = "UPDATE orders SET carrier = ?, tracking = ? WHERE id = ?";
    (void)a;
    struct ship_ctx *c = ctx;
    return db_run(db, sql, DB_TEXT(c->carrier, c->carrier_len),
                  DB_TEXT(c->tracking, c->tracking_len), DB_INT(o->id));
}

enum err order_ship(struct db *db, int64_t id, const char *carrier, size_t carrier_len,
                    const char *tracking, size_t tracking_len, int64_t actor, struct errinfo *ei)
{
    enum err e = check_name(carrier, carrier_len, "carrier", 30, ei);
    if (!e)
        e = check_name(tracking, tracking_len, "tracking", 40, ei);
    if (e)
        return e;
    struct ship_ctx c = {carrier, tracking, carrier_len, tracking_len};
    char note[128];
    snprintf(note, sizeof note, "%.*s %.*s", (int)carrier_len, carrier, (int)tracking_len,
             tracking);
    return step(db, id, EV_SHIP, "shipped", "ship", actor, note, ei, set_shipping, &c);
}

enum err order_receive(struct db *db, int64_t id, int64_t actor, struct errinfo *ei)
{
    return step(db, id, EV_RECEIVE, actor ? "received" : "auto_received", "receive", actor, NULL,
                ei, NULL, NULL);
}

static enum err give_back(struct db *db, struct arena *a, struct order *o, void *ctx)
{
    (void)ctx;
    return return_all_stock(db, a, o);
}

enum err order_cancel(struct db *db, int64_t id, int64_t actor, const char *note,
                      struct errinfo *ei)
{
    return step(db, id, EV_CANCEL, "cancelled", "cancel", actor, note, ei, give_back, NULL);
}

/* --- refunds --- */

struct refund_args {
    int64_t refund_id, order_id, actor, amount_fen;
    bool approve;
    const char *text; /* the reason of a request, the note of a decision */
    size_t text_len;
    int64_t *out_id; /* the request made, or the withdrawn refund's order */
    struct arena *a;
    struct errinfo *ei;
};

static enum err request_tx(struct db *db, void *arg)
{
    static const char open_q[] = "SELECT COUNT(*) FROM refunds WHERE order_id = ?"
                                 " AND status = 'requested'";
    static const char ins[] = "INSERT INTO refunds (shop_id, order_id, amount_fen, reason, status,"
                              " requested_by, created_at) VALUES (?, ?, ?, ?, 'requested', ?, ?)"
                              " RETURNING id";
    const struct refund_args *q = arg;
    struct order o;
    enum order_status to;
    int64_t open = 0, now = clock_now_ms();
    enum err e = load_head(db, q->order_id, q->a, &o);
    if (e)
        return e;
    if (!order_transition(o.status, EV_REFUND_ALL, &to))
        return illegal(q->ei, o.status, "ask a refund for");
    int64_t left = o.total_fen - o.refunded_fen;
    if (q->amount_fen < 1 || q->amount_fen > left)
        return err_set(q->ei, ERR_OUT_OF_RANGE, "amount_fen",
                       "amount_fen must be from 1 to %lld (what is left of the order)",
                       (long long)left);
    if ((e = db_value(db, open_q, &open, DB_INT(q->order_id))))
        return e;
    if (open)
        return err_set(q->ei, ERR_CONFLICT, NULL, "a refund request of this order is still open");
    if ((e = db_value(db, ins, q->out_id, DB_INT(o.shop_id), DB_INT(q->order_id),
                      DB_INT(q->amount_fen), DB_TEXT(q->text, q->text_len), DB_INT(q->actor),
                      DB_INT(now))))
        return e;
    char note[64];
    snprintf(note, sizeof note, "%lld fen", (long long)q->amount_fen);
    return add_event(db, &o, "refund_requested", o.status, true, q->actor, note, now);
}

/* Runs a refund's transaction `fn` with its own arena. */
static enum err refund_run(struct db *db, enum db_tx kind, db_tx_fn fn, struct refund_args *q)
{
    struct arena a;
    arena_init(&a, 256 * 1024);
    q->a = &a;
    enum err e = db_tx_run(db, kind, fn, q);
    arena_release(&a);
    return e;
}

enum err refund_request(struct db *db, int64_t order_id, int64_t buyer, int64_t amount_fen,
                        const char *reason, size_t reason_len, int64_t *refund_id,
                        struct errinfo *ei)
{
    enum err e = check_name(reason, reason_len, "reason", 200, ei);
    if (e)
        return e;
    struct refund_args q = {.order_id = order_id, .actor = buyer, .amount_fen = amount_fen,
                            .text = reason, .text_len = reason_len, .out_id = refund_id,
                            .ei = ei};
    return refund_run(db, DB_TX_WRITE, request_tx, &q);
}

enum err refund_order(struct db *db, int64_t refund_id, int64_t *order_id, int64_t *shop_id)
{
    static const char sql[] = "SELECT order_id, shop_id FROM refunds WHERE id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_first(db, sql, &st, DB_INT(refund_id));
    if (e)
        return e;
    *order_id = db_col_int64(st, 0);
    *shop_id = db_col_int64(st, 1);
    db_done(st);
    return ERR_OK;
}

static enum err withdraw_tx(struct db *db, void *arg)
{
    static const char get[] = "SELECT r.order_id, r.amount_fen, r.status, o.buyer_id FROM refunds r"
                              " JOIN orders o ON o.id = r.order_id WHERE r.id = ?";
    static const char withdraw[] = "UPDATE refunds SET status = 'withdrawn', decided_at = ?,"
                                   " decided_by = ? WHERE id = ? AND status = 'requested'";
    const struct refund_args *q = arg;
    struct order o;
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms(), amount = 0, changed = 0;
    char status[16] = "";
    enum err e = db_first(db, get, &st, DB_INT(q->refund_id));
    if (e)
        return e;
    if (db_col_int64(st, 3) == q->actor) { /* only the buyer's own request */
        *q->out_id = db_col_int64(st, 0);
        amount = db_col_int64(st, 1);
        snprintf(status, sizeof status, "%s", db_col_text(st, 2, NULL));
    }
    db_done(st);
    if (!status[0])
        return ERR_NOT_FOUND;
    if (strcmp(status, "requested") != 0)
        return err_set(q->ei, ERR_ILLEGAL_TRANSITION, "status",
                       "this refund is %s already, no longer open to withdraw", status);
    if ((e = load_head(db, *q->out_id, q->a, &o)) ||
        (e = db_run_changes(db, withdraw, &changed, DB_INT(now), DB_INT(q->actor),
                            DB_INT(q->refund_id))))
        return e;
    if (changed != 1)
        return ERR_RETRY; /* decided meanwhile: run again to see how */
    char what[64];
    snprintf(what, sizeof what, "%lld fen", (long long)amount);
    return add_event(db, &o, "refund_withdrawn", o.status, true, q->actor, what, now);
}

enum err refund_withdraw(struct db *db, int64_t refund_id, int64_t buyer, int64_t *order_id,
                         struct errinfo *ei)
{
    struct refund_args q = {.refund_id = refund_id, .actor = buyer, .out_id = order_id, .ei = ei};
    return refund_run(db, DB_TX_WRITE, withdraw_tx, &q);
}

static enum err decide_tx(struct db *db, void *arg)
{
    static const char get[] = "SELECT order_id, amount_fen, status FROM refunds WHERE id = ?";
    static const char decide[] = "UPDATE refunds SET status = ?, decided_at = ?, decided_by = ?,"
                                 " note = ? WHERE id = ? AND status = 'requested'";
    static const char add[] = "UPDATE orders SET refunded_fen = refunded_fen + ?, updated_at = ?"
                              " WHERE id = ? AND refunded_fen + ? <= total_fen";
    const struct refund_args *q = arg;
    struct errinfo *ei = q->ei;
    struct order o;
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms(), changed = 0, actor = q->actor;
    enum err e = db_first(db, get, &st, DB_INT(q->refund_id));
    if (e)
        return e;
    int64_t order_id = db_col_int64(st, 0), amount = db_col_int64(st, 1);
    bool open = strcmp(db_col_text(st, 2, NULL), "requested") == 0;
    db_done(st);
    if (!open)
        return err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "this refund was already decided");
    if ((e = load_head(db, order_id, q->a, &o)) ||
        (e = db_run_changes(db, decide, &changed, DB_STR(q->approve ? "approved" : "rejected"),
                            DB_INT(now), DB_INT(actor),
                            q->text ? DB_TEXT(q->text, q->text_len) : DB_STR(""),
                            DB_INT(q->refund_id))))
        return e;
    if (changed != 1)
        return ERR_RETRY; /* decided meanwhile: run again to see how */
    char what[64];
    snprintf(what, sizeof what, "%lld fen", (long long)amount);
    if (!q->approve)
        return add_event(db, &o, "refund_rejected", o.status, true, actor, what, now);
    if ((e = db_run_changes(db, add, &changed, DB_INT(amount), DB_INT(now), DB_INT(order_id),
                            DB_INT(amount))))
        return e;
    if (changed != 1)
        return err_set(ei, ERR_CONFLICT, "amount_fen", "the refund exceeds what is left");
    o.refunded_fen += amount;
    /* RULE: CLAWBACK */
    if ((e = commission_on_refund(db, &o, q->refund_id, amount, now)))
        return e;
    if (o.refunded_fen < o.total_fen)
        return add_event(db, &o, "refund_approved", o.status, true, actor, what, now);
    bool unshipped = o.status == ORDER_PAID;
    if (unshipped && (e = return_all_stock(db, q->a, &o)))
        return e;
    return move(db, &o, ORDER_REFUNDED, "refunded", actor, what, now, ei);
}

enum err refund_decide(struct db *db, int64_t refund_id, bool approve, int64_t actor,
                       const char *note, size_t note_len, struct errinfo *ei)
{
    enum err e = note ? check_text(note, note_len, "note", 200, ei) : ERR_OK;
    if (e)
        return e;
    struct refund_args q = {.refund_id = refund_id, .actor = actor, .approve = approve,
                            .text = note, .text_len = note_len, .ei = ei};
    /* READ COMMITTED on PostgreSQL, as payment_apply(): the ledger's hot rows */
    return refund_run(db, DB_TX_WRITE_LOCKED, decide_tx, &q);
}

/* --- lists --- */

enum err order_list(struct db *db, const struct order_filter *f, struct arena *a,
                    struct order **out, size_t *n, bool *more)
{
    static const char by_shop[] = "SELECT " ORDER_COLS " FROM orders WHERE shop_id = ?"
                                  " AND id < ? AND (? = 1 OR status = ?) ORDER BY id DESC LIMIT ?";
    static const char by_buyer[] = "SELECT " ORDER_COLS " FROM orders WHERE buyer_id = ?"
                                   " AND id < ? AND (? = 1 OR status = ?) ORDER BY id DESC LIMIT ?";
    struct db_stmt *st = NULL;
    size_t len = 0;
    struct order *list = arena_alloc(a, (size_t)(f->limit + 1) * sizeof *list);
    if (!list)
        return ERR_TOO_LARGE;
    enum err e = db_query(db, f->shop_id ? by_shop : by_buyer, &st,
                          DB_INT(f->shop_id ? f->shop_id : f->buyer_id),
                          DB_INT(f->before_id > 0 ? f->before_id : INT64_MAX),
                          DB_INT(f->any_status), DB_STR(order_status_name(f->status)),
                          DB_INT(f->limit + 1));
    while (e == ERR_OK && db_next(st, &e) && len <= (size_t)f->limit)
        read_head(st, a, &list[len++]);
    db_done(st);
    *more = len > (size_t)f->limit;
    *n = *more ? (size_t)f->limit : len;
    for (size_t i = 0; e == ERR_OK && i < *n; i++)
        e = load_items(db, a, &list[i]);
    *out = list;
    return e ? e : a->exhausted ? ERR_TOO_LARGE : ERR_OK;
}

enum err refund_list(struct db *db, const struct refund_filter *f, struct arena *a,
                     struct refund **out, size_t *n, bool *more)
{
    static const char any[] = "SELECT " REFUND_COLS " FROM refunds WHERE shop_id = ? AND id < ?"
                              " ORDER BY id DESC LIMIT ?";
    static const char in_status[] = "SELECT " REFUND_COLS " FROM refunds WHERE shop_id = ?"
                                    " AND status = ? AND id < ? ORDER BY id DESC LIMIT ?";
    struct db_stmt *st = NULL;
    size_t len = 0;
    struct refund *list = arena_alloc(a, (size_t)(f->limit + 1) * sizeof *list);
    if (!list)
        return ERR_TOO_LARGE;
    enum err e = db_query(db, f->status ? in_status : any, &st, DB_INT(f->shop_id),
                          f->status ? DB_STR(f->status) : DB_SKIP,
                          DB_INT(f->before_id > 0 ? f->before_id : INT64_MAX), DB_INT(f->limit + 1));
    while (e == ERR_OK && db_next(st, &e) && len <= (size_t)f->limit)
        read_refund(st, a, &list[len++]);
    db_done(st);
    *more = len > (size_t)f->limit;
    *n = *more ? (size_t)f->limit : len;
    *out = list;
    return e ? e : a->exhausted ? ERR_TOO_LARGE : ERR_OK;
}

/* --- jobs --- */

typedef enum err (*order_fn)(struct db *, int64_t, struct errinfo *);

/* Runs `fn` on every order the query finds due, in batches; each in its own transaction. */
static enum err sweep(struct db *db, const char *sql, int64_t now, order_fn fn, int64_t *moved)
{
    enum { BATCH = 200 };
    int64_t ids[BATCH];
    *moved = 0;
    for (;;) {
        struct db_stmt *st = NULL;
        size_t n = 0;
        enum err e = db_query(db, sql, &st, DB_INT(now), DB_INT(BATCH));
        while (e == ERR_OK && db_next(st, &e) && n < BATCH)
            ids[n++] = db_col_int64(st, 0);
        db_done(st);
        if (e)
            return e;
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            struct errinfo ei = {0};
            e = fn(db, ids[i], &ei);
            if (e == ERR_OK)
                done++;
            else if (e != ERR_ILLEGAL_TRANSITION) /* a racing request got there first: fine */
                return e;
        }
        *moved += (int64_t)done;
        if (n < BATCH || done == 0)
            return ERR_OK;
    }
}

static enum err cancel_unpaid_one(struct db *db, int64_t id, struct errinfo *ei)
{
    return order_cancel(db, id, 0, "not paid in time", ei);
}

static enum err receive_one(struct db *db, int64_t id, struct errinfo *ei)
{
    return order_receive(db, id, 0, ei);
}

static enum err complete_one(struct db *db, int64_t id, struct errinfo *ei)
{
    return step(db, id, EV_COMPLETE, "completed", "complete", 0, "return window closed", ei, NULL,
                NULL);
}

enum err order_cancel_unpaid(struct db *db, int64_t now_ms, int64_t *moved)
{
    static const char sql[] = "SELECT id FROM orders WHERE status = 'created'"
                              " AND pay_deadline_at <= ? ORDER BY id LIMIT ?";
    return sweep(db, sql, now_ms, cancel_unpaid_one, moved);
}

enum err order_auto_receive(struct db *db, int64_t now_ms, int64_t *moved)
{
    static const char sql[] =
        "SELECT o.id FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.status = 'shipped'"
        " AND o.shipped_at + s.auto_receive_days * 86400000 <= ? ORDER BY o.id LIMIT ?";
    return sweep(db, sql, now_ms, receive_one, moved);
}

enum err order_complete_due(struct db *db, int64_t now_ms, int64_t *moved)
{
    static const char sql[] =
        "SELECT o.id FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.status = 'delivered'"
        " AND o.delivered_at + s.settle_days * 86400000 <= ?"
        " AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id"
        " AND r.status = 'requested') ORDER BY o.id LIMIT ?";
    return sweep(db, sql, now_ms, complete_one, moved);
}
