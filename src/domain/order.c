#include "domain/order.h"
#include "domain/order_steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/account.h"
#include "domain/catalog.h"
#include "domain/check.h"
#include "domain/experience.h"
#include "domain/promoter.h"
#include "domain/shop.h"
#include "domain/trust.h"
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

enum err order_illegal(struct errinfo *ei, enum order_status cur, const char *what)
{
    return err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "cannot %s an order that is %s", what,
                   order_status_name(cur));
}

/* --- rows --- */

#define ORDER_COLS                                                                                 \
    "id, shop_id, buyer_id, status, total_fen, refunded_fen, share_token, address_name,"           \
    " address_phone, address_region, address_line, carrier, tracking, pay_deadline_at,"            \
    " created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at,"      \
    " promoter_id, attributed_via, share_id, share_hop"

static void read_head(struct db_stmt *st, struct arena *a, struct order *o)
{
    memset(o, 0, sizeof *o);
    o->id = db_col_int64(st, 0);
    o->shop_id = db_col_int64(st, 1);
    o->buyer_id = db_col_int64(st, 2);
    (void)order_status_parse(db_col_text(st, 3, NULL), &o->status);
    o->total_fen = db_col_int64(st, 4);
    o->refunded_fen = db_col_int64(st, 5);
    o->share_token = db_col_dup(st, 6, a);
    o->address.name = db_col_dup(st, 7, a);
    o->address.phone = db_col_dup(st, 8, a);
    o->address.region = db_col_dup(st, 9, a);
    o->address.line = db_col_dup(st, 10, a);
    o->carrier = db_col_dup(st, 11, a);
    o->tracking = db_col_dup(st, 12, a);
    o->pay_deadline_ms = db_col_int64(st, 13);
    o->created_at_ms = db_col_int64(st, 14);
    o->paid_at_ms = db_col_int64(st, 15);
    o->shipped_at_ms = db_col_int64(st, 16);
    o->delivered_at_ms = db_col_int64(st, 17);
    o->completed_at_ms = db_col_int64(st, 18);
    o->cancelled_at_ms = db_col_int64(st, 19);
    o->updated_at_ms = db_col_int64(st, 20);
    o->promoter_id = db_col_is_null(st, 21) ? 0 : db_col_int64(st, 21);
    o->attributed_via = db_col_dup(st, 22, a);
    o->share_id = db_col_int64(st, 23);
    o->share_hop = (int)db_col_int64(st, 24);
}

/* read_head() as a db_row_fn. */
static enum err read_head_row(struct db_stmt *st, struct arena *a, void *item)
{
    read_head(st, a, item);
    return ERR_OK;
}

enum err order_load_head(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    static const char sql[] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?";
    enum err e = db_read_one(db, sql, read_head_row, a, o, DB_INT(id));
    return e == ERR_OK && a->exhausted ? ERR_TOO_LARGE : e;
}

/* An item from columns c.. of a row: product_id, title, price_fen, qty, line_fen. */
static void read_item(struct db_stmt *st, int c, struct arena *a, struct order_item *it)
{
    it->product_id = db_col_int64(st, c);
    it->title = db_col_dup(st, c + 1, a);
    it->price_fen = db_col_int64(st, c + 2);
    it->qty = db_col_int64(st, c + 3);
    it->line_fen = db_col_int64(st, c + 4);
}

enum err order_load_items(struct db *db, struct arena *a, struct order *o)
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
    while ((e = db_step(st, &row)) == ERR_OK && row && o->n_items < ORDER_ITEMS_MAX)
        read_item(st, 0, a, &o->items[o->n_items++]);
    db_done(st);
    return e;
}

/*
 * The items of a page of orders: one statement for up to ITEMS_AT_ONCE orders where each
 * order took one (a page of 20: 20 statements run, bound and reset, for 20 descents of the
 * index either way). Places past the page's end bind 0, no order's id.
 */
#define ITEMS_AT_ONCE 20
static enum err load_items_of(struct db *db, struct arena *a, struct order *list, size_t n)
{
    static const char sql[] = "SELECT order_id, product_id, title, price_fen, qty, line_fen"
                              " FROM order_items WHERE order_id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                              " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ORDER BY order_id, product_id";
    enum err e = ERR_OK;
    for (size_t at = 0; e == ERR_OK && at < n; at += ITEMS_AT_ONCE) {
        size_t k = n - at < ITEMS_AT_ONCE ? n - at : ITEMS_AT_ONCE;
        struct order *part = list + at;
        for (size_t i = 0; i < k; i++) {
            part[i].n_items = 0;
            if (!(part[i].items = arena_alloc(a, ORDER_ITEMS_MAX * sizeof *part[i].items)))
                return ERR_TOO_LARGE;
        }
        struct db_stmt *st = NULL;
        if ((e = db_prepare(db, sql, &st)))
            return e;
        for (size_t i = 0; i < ITEMS_AT_ONCE; i++)
            db_bind_int64(st, (int)i + 1, i < k ? part[i].id : 0);
        bool row = false;
        size_t j = 0; /* the order of the last row: rows come by order id */
        while ((e = db_step(st, &row)) == ERR_OK && row) {
            int64_t id = db_col_int64(st, 0);
            if (j == k || part[j].id != id)
                for (j = 0; j < k && part[j].id != id; j++)
                    ;
            if (j == k) /* not asked for: cannot be */
                continue;
            if (part[j].n_items < ORDER_ITEMS_MAX)
                read_item(st, 1, a, &part[j].items[part[j].n_items++]);
        }
        db_done(st);
    }
    return e;
}

enum err order_read(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    static const char ev[] = "SELECT at, kind, from_status, to_status, actor_id, note"
                             " FROM order_events WHERE order_id = ? ORDER BY id LIMIT 100";
    struct db_stmt *st = NULL;
    enum err e = order_load_head(db, id, a, o);
    if (!e)
        e = order_load_items(db, a, o);
    if (e)
        return e;
    o->events = arena_alloc(a, 100 * sizeof *o->events);
    o->refunds = arena_alloc(a, 50 * sizeof *o->refunds);
    if (!o->events || !o->refunds)
        return ERR_TOO_LARGE;
    e = db_query(db, ev, &st, DB_INT(id));
    while (e == ERR_OK && db_next(st, &e) && o->n_events < 100) {
        struct order_timeline_event *t = &o->events[o->n_events++];
        t->at_ms = db_col_int64(st, 0);
        t->kind = db_col_dup(st, 1, a);
        t->from = db_col_dup(st, 2, a);
        t->to = db_col_dup(st, 3, a);
        t->actor_id = db_col_int64(st, 4);
        t->note = db_col_dup(st, 5, a);
    }
    db_done(st);
    if (e || (e = refund_of_order(db, id, 50, a, o->refunds, &o->n_refunds)))
        return e;
    return e ? e : a->exhausted ? ERR_TOO_LARGE : ERR_OK;
}

struct get_args {
    int64_t id;
    struct arena *a;
    struct order *o;
};

static enum err get_tx(struct db *db, void *arg)
{
    const struct get_args *q = arg;
    return order_read(db, q->id, q->a, q->o);
}

enum err order_get(struct db *db, int64_t id, struct arena *a, struct order *o)
{
    /* one snapshot for the four reads (and one lock and cache check, not four); inside a
     * transaction, that one's */
    struct get_args q = {.id = id, .a = a, .o = o};
    return db_tx_run(db, DB_TX_READ, get_tx, &q);
}

enum err order_add_event(struct db *db, const struct order *o, const char *kind,
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
enum err order_move(struct db *db, struct order *o, enum order_status to, const char *kind,
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
        return order_illegal(ei, o->status, kind);
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
    /* the experience loop: what the shop should ask after a delivery */
    if (e == ERR_OK && to == ORDER_DELIVERED)
        e = followups_schedule(db, o->id, now);
    /* RULE: TRUST-REACH - a sale through a promoter kept without a refund */
    if (e == ERR_OK && to == ORDER_COMPLETED && o->promoter_id && o->refunded_fen == 0)
        e = trust_record(db, o->shop_id, o->promoter_id, TRUST_SALE_KEPT, o->id, now);
    if (e == ERR_OK)
        e = order_add_event(db, o, kind, to, true, actor, note, now);
    if (e == ERR_OK)
        o->status = to;
    return e;
}

enum err order_return_stock(struct db *db, struct arena *a, struct order *o)
{
    enum err e = o->items ? ERR_OK : order_load_items(db, a, o);
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
                              const struct attribution *at, int64_t now, struct arena *a,
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
    o->promoter_id = at->promoter_id;
    o->attributed_via = at->via ? arena_strdup(a, at->via) : NULL;
    o->share_id = at->share_id;
    o->share_hop = at->share_hop;
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
    enum err e = order_load_head(db, id, a, o);
    if (!e)
        e = order_load_items(db, a, o);
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
    static const char lock_buyer[] = "UPDATE users SET id = id WHERE id = ?"; /* a row lock */
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
    struct attribution at;
    if ((e = promoter_attribute(db, in->shop_id, in->buyer_id, in->share_token, now, &at)))
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
        static const char bought[] = "SELECT COALESCE(SUM(qty), 0) FROM buyer_cap_units"
                                     " WHERE buyer_id = ? AND product_id = ? AND created_at > ?";
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
    static const char ins_order[] =
        "INSERT INTO orders (shop_id, buyer_id, status, total_fen, share_token, address_name,"
        " address_phone, address_region, address_line, pay_deadline_at, created_at, updated_at,"
        " promoter_id, attributed_via, share_id, share_hop)"
        " VALUES (?, ?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    if ((e = db_value(db, ins_order, &id, DB_INT(in->shop_id), DB_INT(in->buyer_id), DB_INT(total),
                      DB_STR(in->share_token), DB_TEXT(in->address.name, in->address.name_len),
                      DB_TEXT(in->address.phone, in->address.phone_len),
                      DB_TEXT(in->address.region, in->address.region_len),
                      DB_TEXT(in->address.line, in->address.line_len), DB_INT(deadline),
                      DB_INT(now), DB_INT(now), DB_REF(at.promoter_id), DB_STR(at.via),
                      DB_REF(at.share_id), at.share_hop ? DB_INT(at.share_hop) : DB_NULL)))
        return e;
    for (size_t i = 0; i < in->n_items; i++) {
        const struct order_item_in *it = &in->items[i];
        e = catalog_take_stock(db, in->shop_id, it->product_id, it->qty, NULL);
        if (e == ERR_CONFLICT)
            e = err_set(ei, ERR_OUT_OF_STOCK, "items", "product %lld has fewer than %lld left",
                        (long long)it->product_id, (long long)it->qty);
        static const char ins_item[] =
            "INSERT INTO order_items (shop_id, order_id, product_id, title, price_fen, qty,"
            " line_fen) VALUES (?, ?, ?, ?, ?, ?, ?)";
        static const char counted[] = "INSERT INTO buyer_cap_units (buyer_id, product_id,"
                                      " created_at, order_id, qty) VALUES (?, ?, ?, ?, ?)";
        if (e ||
            (e = db_run(db, ins_item, DB_INT(in->shop_id), DB_INT(id), DB_INT(it->product_id),
                        DB_STR(titles[i]), DB_INT(prices[i]), DB_INT(it->qty),
                        DB_INT(prices[i] * it->qty))) ||
            (e = db_run(db, counted, DB_INT(in->buyer_id), DB_INT(it->product_id), DB_INT(now),
                        DB_INT(id), DB_INT(it->qty))))
            return e;
    }
    struct order o = {.id = id, .shop_id = in->shop_id};
    if ((e = order_add_event(db, &o, "created", ORDER_CREATED, false, in->buyer_id, NULL, now)))
        return e;
    return created_order(in, id, titles, prices, total, deadline, &at, now, a, q->out);
}

enum err order_create(struct db *db, const struct order_new *in, struct arena *a, struct order *out,
                      struct errinfo *ei)
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

/* --- create under a key --- */

static enum err keyed_work(struct db *db, void *ctx, int64_t *ref)
{
    struct order_keyed *k = ctx;
    enum err e = order_create(db, k->in, k->a, &k->out, k->ei);
    *ref = k->out.id;
    return e;
}

static enum err keyed_reload(struct db *db, void *ctx, int64_t ref)
{
    struct order_keyed *k = ctx;
    return order_as_created(db, ref, k->a, &k->out);
}

static const char *keyed_render(void *ctx, struct arena *a)
{
    struct order_keyed *k = ctx;
    return k->render(k, a);
}

static const char *keyed_refusal(void *ctx, enum err e, struct arena *a)
{
    struct order_keyed *k = ctx;
    return k->refusal(k, e, a);
}

enum err order_create_keyed(struct db *db, struct order_keyed *k, const char *key, const char *hash)
{
    k->call = (struct idem_call){.user_id = k->in->buyer_id,
                                 .key = key,
                                 .hash = hash,
                                 .kind = DB_TX_WRITE_LOCKED,
                                 .status = 201,
                                 .ctx = k,
                                 .work = keyed_work,
                                 .reload = keyed_reload,
                                 .render = keyed_render,
                                 .refusal = keyed_refusal};
    return idem_run(db, &k->call, k->a);
}

/* --- transitions --- */

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
    enum err e = order_load_head(db, q->id, q->a, &o);
    if (e)
        return e;
    if (!order_transition(o.status, q->ev, &to))
        return order_illegal(q->ei, o.status, q->what);
    if (q->extra && (e = q->extra(db, q->a, &o, q->ctx)))
        return e;
    return order_move(db, &o, to, q->kind, q->actor, q->note, clock_now_ms(), q->ei);
}

static enum err step(struct db *db, int64_t id, enum order_event ev, const char *kind,
                     const char *what, int64_t actor, const char *note, struct errinfo *ei,
                     enum err (*extra)(struct db *, struct arena *, struct order *, void *),
                     void *ctx)
{
    struct arena a;
    arena_init(&a, 256 * 1024);
    struct step_args q = {.id = id,
                          .actor = actor,
                          .ev = ev,
                          .kind = kind,
                          .what = what,
                          .note = note,
                          .ei = ei,
                          .extra = extra,
                          .ctx = ctx,
                          .a = &a};
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
    return order_return_stock(db, a, o);
}

enum err order_cancel(struct db *db, int64_t id, int64_t actor, const char *note,
                      struct errinfo *ei)
{
    return step(db, id, EV_CANCEL, "cancelled", "cancel", actor, note, ei, give_back, NULL);
}

/* --- lists --- */

enum err order_list(struct db *db, const struct order_filter *f, struct arena *a,
                    struct order **out, size_t *n, bool *more)
{
    static const char by_shop[] = "SELECT " ORDER_COLS " FROM orders WHERE shop_id = ?"
                                  " AND id < ? ORDER BY id DESC LIMIT ?";
    /* any status but completed: orders_shop_status, whose condition is repeated here for
     * the planner to take it (016_shop_orders_by_status.sql) */
    static const char by_shop_status[] = "SELECT " ORDER_COLS " FROM orders WHERE shop_id = ?"
                                         " AND status = ? AND status <> 'completed' AND id < ?"
                                         " ORDER BY id DESC LIMIT ?";
    /* completed: most of a history, found in orders_shop */
    static const char by_shop_completed[] = "SELECT " ORDER_COLS " FROM orders WHERE shop_id = ?"
                                            " AND status = ? AND id < ? ORDER BY id DESC LIMIT ?";
    static const char by_buyer[] = "SELECT " ORDER_COLS " FROM orders WHERE buyer_id = ?"
                                   " AND id < ? ORDER BY id DESC LIMIT ?";
    static const char by_buyer_status[] = "SELECT " ORDER_COLS " FROM orders WHERE buyer_id = ?"
                                          " AND status = ? AND id < ? ORDER BY id DESC LIMIT ?";
    const char *sql = f->shop_id ? (f->any_status                  ? by_shop
                                    : f->status == ORDER_COMPLETED ? by_shop_completed
                                                                   : by_shop_status)
                                 : (f->any_status ? by_buyer : by_buyer_status);
    void *items = NULL;
    enum err e = db_list(db, sql, f->limit, sizeof **out, read_head_row, a, &items, n, more,
                         DB_INT(f->shop_id ? f->shop_id : f->buyer_id),
                         f->any_status ? DB_SKIP : DB_STR(order_status_name(f->status)),
                         DB_INT(f->before_id > 0 ? f->before_id : INT64_MAX), DB_INT(f->limit + 1));
    *out = items;
    if (e == ERR_OK)
        e = load_items_of(db, a, *out, *n);
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
