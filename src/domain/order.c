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

/* A replayed create: the order it created, read back as it was created. */
static enum err replayed_order(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    enum err e = load_head(db, id, a, o);
    if (!e)
        e = load_items(db, a, o);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_INTERNAL : e; /* orders are never deleted */
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

enum err order_create(struct db *db, const struct order_new *in, struct order_idem *idem,
                      struct arena *a, int64_t *id, struct errinfo *ei)
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
    struct shop shop;
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t total = 0, now = clock_now_ms();
    const char **titles = arena_alloc(a, (in->n_items + 1) * sizeof *titles);
    int64_t *prices = arena_alloc(a, (in->n_items + 1) * sizeof *prices);
    enum err e = order_check_new(in, ei);
    if (e)
        return e;
    if (!titles || !prices)
        return ERR_TOO_LARGE;
    /* Hot rows: many buyers order the same product at once. The stock is taken with a
     * conditional update (never oversells at any isolation); the per-buyer cap is a
     * read-then-write, so the buyer's own row is locked first: two orders of one buyer
     * queue, orders of different buyers do not. */
    if ((e = db_begin(db, DB_TX_WRITE_LOCKED)))
        return e;
    bool claimed = false; /* a refusal is stored as the key's answer */
    /* the created order's answer is rendered after the commit, out of the write lock */
    struct order full;
    bool render = false;
    if (idem && idem->key) {
        int64_t replayed = 0;
        idem->state = IDEM_NEW;
        idem->rendered = NULL;
        e = idem_claim(db, in->buyer_id, idem->key, idem->hash, a, &idem->state, &idem->status,
                       &idem->rendered, &replayed);
        if (!e && idem->state == IDEM_REPLAY && !idem->rendered)
            render = (e = replayed_order(db, replayed, a, &full)) == ERR_OK;
        if (e || idem->state != IDEM_NEW)
            goto out;
        if ((e = db_exec(db, "SAVEPOINT order_work")))
            goto out;
        claimed = true;
    }
    if (db_kind(db) != DB_SQLITE) { /* SQLite's write transactions queue whole anyway */
        if ((e = db_prepare(db, lock_buyer, &st)))
            goto out;
        db_bind_int64(st, 1, in->buyer_id);
        e = db_step_done(st);
        db_done(st);
        if (e)
            goto out;
    }
    e = shop_get(db, in->shop_id, a, &shop);
    if (e == ERR_NOT_FOUND)
        e = err_set(ei, ERR_NOT_FOUND, "shop_id", "no such shop");
    if (e)
        goto out;
    /* RULE: BINDING - a bound customer's order is their promoter's, else the link's */
    int64_t promoter = 0;
    const char *via = NULL;
    if ((e = promoter_attribute(db, in->shop_id, in->buyer_id, in->share_token, now, &promoter,
                                &via)))
        goto out;
    for (size_t i = 0; i < in->n_items; i++) {
        const struct order_item_in *it = &in->items[i];
        if ((e = db_prepare(db, product, &st)))
            goto out;
        db_bind_int64(st, 1, it->product_id);
        e = db_step(st, &row);
        bool ok = e == ERR_OK && row && db_col_int64(st, 0) == in->shop_id &&
                  strcmp(db_col_text(st, 3, NULL), "on_sale") == 0;
        int64_t cap =
            ok && !db_col_is_null(st, 4) ? db_col_int64(st, 4) : shop.settings.buyer_cap_30d;
        if (ok) {
            titles[i] = arena_strdup(a, db_col_text(st, 1, NULL));
            prices[i] = db_col_int64(st, 2);
        }
        db_done(st);
        if (e)
            goto out;
        if (!ok) {
            e = err_set(ei, ERR_PRODUCT_UNAVAILABLE, "items",
                        "product %lld is not on sale in this shop", (long long)it->product_id);
            goto out;
        }
        /* RULE: NO-STOCKPILING - the per-buyer cap over 30 days */
        if ((e = db_prepare(db, bought, &st)))
            goto out;
        db_bind_int64(st, 1, in->buyer_id);
        db_bind_int64(st, 2, it->product_id);
        db_bind_int64(st, 3, now - ORDER_CAP_WINDOW_MS);
        e = db_step(st, &row);
        int64_t used = db_col_int64(st, 0);
        db_done(st);
        if (e)
            goto out;
        if (used + it->qty > cap) {
            e = err_set(ei, ERR_QUANTITY_CAP, "items",
                        "one buyer may order at most %lld of product %lld in 30 days "
                        "(%lld ordered so far)",
                        (long long)cap, (long long)it->product_id, (long long)used);
            goto out;
        }
        int64_t line;
        if (!money_mul(prices[i], it->qty, &line) || !money_add(total, line, &total)) {
            e = err_set(ei, ERR_OUT_OF_RANGE, "items", "the order total is too large");
            goto out;
        }
    }
    if ((e = db_prepare(db, ins_order, &st)))
        goto out;
    db_bind_int64(st, 1, in->shop_id);
    db_bind_int64(st, 2, in->buyer_id);
    db_bind_int64(st, 3, total);
    db_bind_str(st, 4, in->share_token);
    db_bind_text(st, 5, in->address.name, in->address.name_len);
    db_bind_text(st, 6, in->address.phone, in->address.phone_len);
    db_bind_text(st, 7, in->address.region, in->address.region_len);
    db_bind_text(st, 8, in->address.line, in->address.line_len);
    int64_t deadline = now + shop.settings.unpaid_timeout_min * 60 * 1000;
    db_bind_int64(st, 9, deadline);
    db_bind_int64(st, 10, now);
    db_bind_int64(st, 11, now);
    if (promoter)
        db_bind_int64(st, 12, promoter);
    else
        db_bind_null(st, 12);
    db_bind_str(st, 13, via);
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        *id = db_col_int64(st, 0);
    db_done(st);
    if (e)
        goto out;
    for (size_t i = 0; i < in->n_items; i++) {
        const struct order_item_in *it = &in->items[i];
        e = catalog_take_stock(db, in->shop_id, it->product_id, it->qty, NULL);
        if (e == ERR_CONFLICT)
            e = err_set(ei, ERR_OUT_OF_STOCK, "items", "product %lld has fewer than %lld left",
                        (long long)it->product_id, (long long)it->qty);
        if (e || (e = db_prepare(db, ins_item, &st)))
            goto out;
        db_bind_int64(st, 1, in->shop_id);
        db_bind_int64(st, 2, *id);
        db_bind_int64(st, 3, it->product_id);
        db_bind_str(st, 4, titles[i]);
        db_bind_int64(st, 5, prices[i]);
        db_bind_int64(st, 6, it->qty);
        db_bind_int64(st, 7, prices[i] * it->qty);
        e = db_step_done(st);
        db_done(st);
        if (e || (e = db_prepare(db, counted, &st)))
            goto out;
        db_bind_int64(st, 1, in->buyer_id);
        db_bind_int64(st, 2, it->product_id);
        db_bind_int64(st, 3, now);
        db_bind_int64(st, 4, *id);
        db_bind_int64(st, 5, it->qty);
        e = db_step_done(st);
        db_done(st);
        if (e)
            goto out;
    }
    struct order o = {.id = *id, .shop_id = in->shop_id};
    if ((e = add_event(db, &o, "created", ORDER_CREATED, false, in->buyer_id, NULL, now)))
        goto out;
    if (idem && idem->key) {
        if ((e = created_order(in, *id, titles, prices, total, deadline, promoter, via, now, a,
                               &full)) ||
            (e = idem_store(db, in->buyer_id, idem->key, idem->hash, 201, NULL, *id)))
            goto out;
        idem->status = 201;
        render = true;
    }
    e = db_commit(db);
out:
    if (e && claimed && err_status(e) < 500) {
        /* a refusal is an answer too: the same request gets it again */
        const char *body = NULL;
        if (db_exec(db, "ROLLBACK TO SAVEPOINT order_work") == ERR_OK &&
            (body = idem->refusal(idem->ctx, e, a)) &&
            idem_store(db, in->buyer_id, idem->key, idem->hash, err_status(e), body, 0) == ERR_OK &&
            db_commit(db) == ERR_OK) {
            idem->status = err_status(e);
            idem->rendered = body;
        }
    }
    db_rollback(db);
    if (e == ERR_OK && render && !(idem->rendered = idem->render(idem->ctx, &full, a)))
        e = ERR_TOO_LARGE;
    if (e == ERR_OK && !(idem && idem->key && idem->state != IDEM_NEW))
        LOG(LOG_INFO, "order_created", "shop_id=%lld order_id=%lld total_fen=%lld",
            (long long)in->shop_id, (long long)*id, (long long)total);
    return e;
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

enum err payment_apply(struct db *db, const struct payment *p, struct errinfo *ei)
{
    static const char find[] = "SELECT order_id FROM payments WHERE provider = ? AND reference = ?";
    static const char ins[] = "INSERT INTO payments (shop_id, order_id, provider, reference,"
                              " amount_fen, created_at) VALUES (?, ?, ?, ?, ?, ?)";
    struct arena a;
    struct order o;
    struct db_stmt *st = NULL;
    bool row = false;
    enum order_status to;
    char ref[96];
    int64_t now = clock_now_ms();
    arena_init(&a, 256 * 1024);
    if (p->reference)
        snprintf(ref, sizeof ref, "%s", p->reference);
    else
        snprintf(ref, sizeof ref, "%s-%lld", p->provider, (long long)p->order_id);
    /* Hot rows: every payment of a shop adds to the shop's ledger accounts. On
     * PostgreSQL this runs at READ COMMITTED: the balance updates wait for the
     * row and add to what is there; the order moves only from the status read
     * (a conditional update), and the payment is unique by (provider, reference). */
    enum err e = db_begin(db, DB_TX_WRITE_LOCKED);
    if (e)
        goto done;
    if ((e = load_head(db, p->order_id, &a, &o))) {
        if (e == ERR_NOT_FOUND)
            e = err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
        goto out;
    }
    if (p->by_shop) {
        enum shop_role role;
        if ((e = shop_role_of(db, o.shop_id, p->actor_id, &role)))
            goto out;
        if (role == SHOP_ROLE_NONE) {
            e = err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
            goto out;
        }
    }
    if ((e = db_prepare(db, find, &st)))
        goto out;
    db_bind_str(st, 1, p->provider);
    db_bind_str(st, 2, ref);
    e = db_step(st, &row);
    int64_t paid_order = row ? db_col_int64(st, 0) : 0;
    db_done(st);
    if (e)
        goto out;
    if (row) { /* this notification was applied before: no second effect */
        if (paid_order != p->order_id)
            e = err_set(ei, ERR_UNPROCESSABLE, "reference",
                        "this payment reference belongs to another order");
        else if (p->out)
            e = order_read(db, p->order_id, p->out_arena, p->out);
        goto out;
    }
    if (!order_transition(o.status, EV_PAY, &to)) {
        e = illegal(ei, o.status, "confirm payment of");
        goto out;
    }
    int64_t amount = p->has_amount ? p->amount_fen : o.total_fen;
    if (amount != o.total_fen) {
        e = err_set(ei, ERR_UNPROCESSABLE, "amount_fen",
                    "the payment of %lld fen does not match the order total of %lld fen",
                    (long long)amount, (long long)o.total_fen);
        goto out;
    }
    if ((e = db_prepare(db, ins, &st)))
        goto out;
    db_bind_int64(st, 1, o.shop_id);
    db_bind_int64(st, 2, o.id);
    db_bind_str(st, 3, p->provider);
    db_bind_str(st, 4, ref);
    db_bind_int64(st, 5, amount);
    db_bind_int64(st, 6, now);
    e = db_step_done(st);
    db_done(st);
    if (e == ERR_CONFLICT)
        e = ERR_RETRY; /* the same payment, applied meanwhile: run again to see it */
    char note[160];
    snprintf(note, sizeof note, "%s %s", p->provider, ref);
    if (e == ERR_OK)
        e = move(db, &o, to, "paid", p->actor_id, note, now, ei);
    if (e == ERR_OK)
        e = learn_interests(db, o.id, o.buyer_id, now);
    /* RULE: PENDING-THEN-SETTLED - commission is earned (pending) when the order is paid */
    if (e == ERR_OK)
        e = commission_on_paid(db, &o, o.promoter_id, now);
    if (e == ERR_OK && p->out)
        e = order_read(db, o.id, p->out_arena, p->out);
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
done:
    arena_release(&a);
    return e;
}

/* Runs one event on one order in its own transaction. */
static enum err step(struct db *db, int64_t id, enum order_event ev, const char *kind,
                     const char *what, int64_t actor, const char *note, struct errinfo *ei,
                     enum err (*extra)(struct db *, struct arena *, struct order *, void *),
                     void *ctx)
{
    struct arena a;
    struct order o;
    enum order_status to;
    arena_init(&a, 256 * 1024);
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        goto done;
    if ((e = load_head(db, id, &a, &o)))
        goto out;
    if (!order_transition(o.status, ev, &to)) {
        e = illegal(ei, o.status, what);
        goto out;
    }
    if (extra && (e = extra(db, &a, &o, ctx)))
        goto out;
    if ((e = move(db, &o, to, kind, actor, note, clock_now_ms(), ei)))
        goto out;
    e = db_commit(db);
out:
    db_rollback(db);
done:
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
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_text(st, 1, c->carrier, c->carrier_len);
    db_bind_text(st, 2, c->tracking, c->tracking_len);
    db_bind_int64(st, 3, o->id);
    e = db_step_done(st);
    db_done(st);
    return e;
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

enum err refund_request(struct db *db, int64_t order_id, int64_t buyer, int64_t amount_fen,
                        const char *reason, size_t reason_len, int64_t *refund_id,
                        struct errinfo *ei)
{
    static const char open_q[] = "SELECT COUNT(*) FROM refunds WHERE order_id = ?"
                                 " AND status = 'requested'";
    static const char ins[] = "INSERT INTO refunds (shop_id, order_id, amount_fen, reason, status,"
                              " requested_by, created_at) VALUES (?, ?, ?, ?, 'requested', ?, ?)"
                              " RETURNING id";
    struct arena a;
    struct order o;
    struct db_stmt *st = NULL;
    bool row = false;
    enum order_status to;
    arena_init(&a, 256 * 1024);
    enum err e = check_name(reason, reason_len, "reason", 200, ei);
    if (e)
        goto done;
    if ((e = db_begin(db, DB_TX_WRITE)))
        goto done;
    if ((e = load_head(db, order_id, &a, &o)))
        goto out;
    if (!order_transition(o.status, EV_REFUND_ALL, &to)) {
        e = illegal(ei, o.status, "ask a refund for");
        goto out;
    }
    int64_t left = o.total_fen - o.refunded_fen;
    if (amount_fen < 1 || amount_fen > left) {
        e = err_set(ei, ERR_OUT_OF_RANGE, "amount_fen",
                    "amount_fen must be from 1 to %lld (what is left of the order)",
                    (long long)left);
        goto out;
    }
    if ((e = db_prepare(db, open_q, &st)))
        goto out;
    db_bind_int64(st, 1, order_id);
    e = db_step(st, &row);
    int64_t open = db_col_int64(st, 0);
    db_done(st);
    if (e == ERR_OK && open)
        e = err_set(ei, ERR_CONFLICT, NULL, "a refund request of this order is still open");
    if (e || (e = db_prepare(db, ins, &st)))
        goto out;
    int64_t now = clock_now_ms();
    db_bind_int64(st, 1, o.shop_id);
    db_bind_int64(st, 2, order_id);
    db_bind_int64(st, 3, amount_fen);
    db_bind_text(st, 4, reason, reason_len);
    db_bind_int64(st, 5, buyer);
    db_bind_int64(st, 6, now);
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        *refund_id = db_col_int64(st, 0);
    db_done(st);
    char note[64];
    snprintf(note, sizeof note, "%lld fen", (long long)amount_fen);
    if (e == ERR_OK)
        e = add_event(db, &o, "refund_requested", o.status, true, buyer, note, now);
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
done:
    arena_release(&a);
    return e;
}

enum err refund_order(struct db *db, int64_t refund_id, int64_t *order_id, int64_t *shop_id)
{
    static const char sql[] = "SELECT order_id, shop_id FROM refunds WHERE id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_row_by_id(db, sql, refund_id, &st);
    if (e)
        return e;
    *order_id = db_col_int64(st, 0);
    *shop_id = db_col_int64(st, 1);
    db_done(st);
    return ERR_OK;
}

enum err refund_withdraw(struct db *db, int64_t refund_id, int64_t buyer, int64_t *order_id,
                         struct errinfo *ei)
{
    static const char get[] = "SELECT r.order_id, r.amount_fen, r.status, o.buyer_id FROM refunds r"
                              " JOIN orders o ON o.id = r.order_id WHERE r.id = ?";
    static const char withdraw[] = "UPDATE refunds SET status = 'withdrawn', decided_at = ?,"
                                   " decided_by = ? WHERE id = ? AND status = 'requested'";
    struct arena a;
    struct order o;
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t now = clock_now_ms(), amount = 0;
    char status[16] = "";
    arena_init(&a, 256 * 1024);
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        goto done;
    if ((e = db_prepare(db, get, &st)))
        goto out;
    db_bind_int64(st, 1, refund_id);
    e = db_step(st, &row);
    if (row && db_col_int64(st, 3) == buyer) { /* only the buyer's own request */
        *order_id = db_col_int64(st, 0);
        amount = db_col_int64(st, 1);
        snprintf(status, sizeof status, "%s", db_col_text(st, 2, NULL));
    }
    db_done(st);
    if (e == ERR_OK && !status[0])
        e = ERR_NOT_FOUND;
    if (e == ERR_OK && strcmp(status, "requested") != 0)
        e = err_set(ei, ERR_ILLEGAL_TRANSITION, "status",
                    "this refund is %s already, no longer open to withdraw", status);
    if (e || (e = load_head(db, *order_id, &a, &o)))
        goto out;
    if ((e = db_prepare(db, withdraw, &st)))
        goto out;
    db_bind_int64(st, 1, now);
    db_bind_int64(st, 2, buyer);
    db_bind_int64(st, 3, refund_id);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = ERR_RETRY; /* decided meanwhile: run again to see how */
    db_done(st);
    char what[64];
    snprintf(what, sizeof what, "%lld fen", (long long)amount);
    if (e == ERR_OK)
        e = add_event(db, &o, "refund_withdrawn", o.status, true, buyer, what, now);
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
done:
    arena_release(&a);
    return e;
}

enum err refund_decide(struct db *db, int64_t refund_id, bool approve, int64_t actor,
                       const char *note, size_t note_len, struct errinfo *ei)
{
    static const char get[] = "SELECT order_id, amount_fen, status FROM refunds WHERE id = ?";
    static const char decide[] = "UPDATE refunds SET status = ?, decided_at = ?, decided_by = ?,"
                                 " note = ? WHERE id = ? AND status = 'requested'";
    static const char add[] = "UPDATE orders SET refunded_fen = refunded_fen + ?, updated_at = ?"
                              " WHERE id = ? AND refunded_fen + ? <= total_fen";
    struct arena a;
    struct order o;
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t now = clock_now_ms();
    arena_init(&a, 256 * 1024);
    enum err e = note ? check_text(note, note_len, "note", 200, ei) : ERR_OK;
    if (e)
        goto done;
    /* READ COMMITTED on PostgreSQL, as payment_apply(): the ledger's hot rows */
    if ((e = db_begin(db, DB_TX_WRITE_LOCKED)))
        goto done;
    if ((e = db_prepare(db, get, &st)))
        goto out;
    db_bind_int64(st, 1, refund_id);
    e = db_step(st, &row);
    int64_t order_id = row ? db_col_int64(st, 0) : 0, amount = row ? db_col_int64(st, 1) : 0;
    bool open = row && strcmp(db_col_text(st, 2, NULL), "requested") == 0;
    db_done(st);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK && !open)
        e = err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "this refund was already decided");
    if (e || (e = load_head(db, order_id, &a, &o)))
        goto out;
    if ((e = db_prepare(db, decide, &st)))
        goto out;
    db_bind_str(st, 1, approve ? "approved" : "rejected");
    db_bind_int64(st, 2, now);
    db_bind_int64(st, 3, actor);
    if (note)
        db_bind_text(st, 4, note, note_len);
    else
        db_bind_str(st, 4, "");
    db_bind_int64(st, 5, refund_id);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = ERR_RETRY; /* decided meanwhile: run again to see how */
    db_done(st);
    char what[64];
    snprintf(what, sizeof what, "%lld fen", (long long)amount);
    if (e == ERR_OK && !approve)
        e = add_event(db, &o, "refund_rejected", o.status, true, actor, what, now);
    if (e == ERR_OK && approve) {
        if ((e = db_prepare(db, add, &st)))
            goto out;
        db_bind_int64(st, 1, amount);
        db_bind_int64(st, 2, now);
        db_bind_int64(st, 3, order_id);
        db_bind_int64(st, 4, amount);
        e = db_step_done(st);
        if (e == ERR_OK && db_changes(st) != 1)
            e = err_set(ei, ERR_CONFLICT, "amount_fen", "the refund exceeds what is left");
        db_done(st);
        if (e)
            goto out;
        o.refunded_fen += amount;
        /* RULE: CLAWBACK */
        if ((e = commission_on_refund(db, &o, refund_id, amount, now)))
            goto out;
        if (o.refunded_fen == o.total_fen) {
            bool unshipped = o.status == ORDER_PAID;
            if (unshipped && (e = return_all_stock(db, &a, &o)))
                goto out;
            e = move(db, &o, ORDER_REFUNDED, "refunded", actor, what, now, ei);
        } else {
            e = add_event(db, &o, "refund_approved", o.status, true, actor, what, now);
        }
    }
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
done:
    arena_release(&a);
    return e;
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
    bool row = false;
    size_t len = 0;
    struct order *list = arena_alloc(a, (size_t)(f->limit + 1) * sizeof *list);
    if (!list)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, f->shop_id ? by_shop : by_buyer, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, f->shop_id ? f->shop_id : f->buyer_id);
    db_bind_int64(st, 2, f->before_id > 0 ? f->before_id : INT64_MAX);
    db_bind_int64(st, 3, f->any_status);
    db_bind_str(st, 4, order_status_name(f->status));
    db_bind_int64(st, 5, f->limit + 1);
    while ((e = db_step(st, &row)) == ERR_OK && row && len <= (size_t)f->limit)
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
    bool row = false;
    size_t len = 0;
    struct refund *list = arena_alloc(a, (size_t)(f->limit + 1) * sizeof *list);
    if (!list)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, f->status ? in_status : any, &st);
    if (e)
        return e;
    int i = 1;
    db_bind_int64(st, i++, f->shop_id);
    if (f->status)
        db_bind_str(st, i++, f->status);
    db_bind_int64(st, i++, f->before_id > 0 ? f->before_id : INT64_MAX);
    db_bind_int64(st, i, f->limit + 1);
    while ((e = db_step(st, &row)) == ERR_OK && row && len <= (size_t)f->limit)
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
        bool row = false;
        size_t n = 0;
        enum err e = db_prepare(db, sql, &st);
        if (e)
            return e;
        db_bind_int64(st, 1, now);
        db_bind_int64(st, 2, BATCH);
        while ((e = db_step(st, &row)) == ERR_OK && row && n < BATCH)
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
