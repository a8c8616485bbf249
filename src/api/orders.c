/*
 * orders.c - direct orders: create (with Idempotency-Key), read with the
 * timeline, lists for the buyer and the shop, and every transition:
 * payment confirmed by the shop (offline provider), shipping, receipt,
 * cancellation, refunds. An order is visible to its buyer and to whoever
 * runs its shop; to anyone else it does not exist (404).
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/idempotency.h"
#include "domain/wechatpay.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "util/log.h"

static json_t *refund_json(const void *item)
{
    const struct refund *f = item;
    return json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)f->id,
                     "order_id", (json_int_t)f->order_id, "amount_fen", (json_int_t)f->amount_fen,
                     "reason", f->reason, "status", refund_status_name(f->status), "note",
                     f->note ? f->note : "", "created_at", json_time(f->created_at_ms),
                     "decided_at", api_opt_time(f->decided_at_ms));
}

static json_t *line_json(const void *item)
{
    const struct order_item *it = item;
    return json_pack("{s:I, s:s, s:I, s:I, s:I}", "product_id", (json_int_t)it->product_id, "title",
                     it->title, "price_fen", (json_int_t)it->price_fen, "qty", (json_int_t)it->qty,
                     "line_fen", (json_int_t)it->line_fen);
}

static json_t *event_json(const void *item)
{
    const struct order_timeline_event *t = item;
    return json_pack("{s:o, s:s, s:o, s:s, s:s, s:o}", "at", json_time(t->at_ms), "kind", t->kind,
                     "from", t->from ? json_string(t->from) : json_null(), "to", t->to, "note",
                     t->note ? t->note : "", "by",
                     t->actor_id ? json_integer(t->actor_id) : json_string("system"));
}

static json_t *order_json(const void *item)
{
    const struct order *o = item;
    json_t *items = api_array(o->items, o->n_items, sizeof *o->items, line_json);
    json_t *o_json = json_pack(
        "{s:I, s:I, s:I, s:s, s:I, s:I, s:o, s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:o, s:o, "
        "s:o, s:o, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)o->id, "shop_id", (json_int_t)o->shop_id, "buyer_id",
        (json_int_t)o->buyer_id, "status", order_status_name(o->status), "total_fen",
        (json_int_t)o->total_fen, "refunded_fen", (json_int_t)o->refunded_fen, "items", items,
        "address", "name", o->address.name, "phone", o->address.phone, "region", o->address.region,
        "line", o->address.line, "share_token",
        o->share_token ? json_string(o->share_token) : json_null(), "carrier",
        o->carrier ? json_string(o->carrier) : json_null(), "tracking",
        o->tracking ? json_string(o->tracking) : json_null(), "pay_deadline_at",
        json_time(o->pay_deadline_ms), "created_at", json_time(o->created_at_ms), "paid_at",
        api_opt_time(o->paid_at_ms), "shipped_at", api_opt_time(o->shipped_at_ms), "delivered_at",
        api_opt_time(o->delivered_at_ms), "completed_at", api_opt_time(o->completed_at_ms),
        "cancelled_at", api_opt_time(o->cancelled_at_ms), "updated_at",
        json_time(o->updated_at_ms));
    if (o_json) /* RULE: BINDING - whose sale this is, and why */
        json_object_set_new(o_json, "attribution",
                            o->promoter_id
                                ? json_pack("{s:I, s:s}", "promoter_id", (json_int_t)o->promoter_id,
                                            "via", o->attributed_via ? o->attributed_via : "link")
                                : json_null());
    if (o_json) /* the recommendation it came through */
        json_object_set_new(o_json, "share",
                            o->share_id ? json_pack("{s:I, s:i}", "id", (json_int_t)o->share_id,
                                                    "hop", o->share_hop)
                                        : json_null());
    if (!o_json || !o->events)
        return o_json;
    json_object_set_new(o_json, "timeline",
                        api_array(o->events, o->n_events, sizeof *o->events, event_json));
    json_object_set_new(o_json, "refunds",
                        api_array(o->refunds, o->n_refunds, sizeof *o->refunds, refund_json));
    return o_json;
}

/* The answer of an order created under its key (order_create_keyed()). */
static const char *create_render(struct order_keyed *k, struct arena *a)
{
    (void)a; /* jansson allocates from the request arena already */
    json_t *j = order_json(&k->out);
    return j ? json_dumps(j, JSON_DUMP_FLAGS) : NULL;
}

static enum err read_address(struct req *r, struct address *ad)
{
    static const char *const keys[] = {"name", "phone", "region", "line"};
    const char **vals[] = {&ad->name, &ad->phone, &ad->region, &ad->line};
    size_t *lens[] = {&ad->name_len, &ad->phone_len, &ad->region_len, &ad->line_len};
    static const char *const fields[] = {"address.name", "address.phone", "address.region",
                                         "address.line"};
    json_t *o = json_object_get(r->json, "address");
    memset(ad, 0, sizeof *ad);
    if (!o)
        return req_fail(r, ERR_MISSING_FIELD, "address", "address is required");
    if (!json_is_object(o))
        return req_fail(r, ERR_WRONG_TYPE, "address",
                        "address must be an object {name, phone, region, line}");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < 4; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            return req_fail(r, ERR_UNKNOWN_FIELD, "address", "unknown field \"address.%s\"", k);
    }
    for (size_t i = 0; i < 4; i++) {
        v = json_object_get(o, keys[i]);
        if (!v)
            return req_fail(r, ERR_MISSING_FIELD, fields[i], "%s is required", fields[i]);
        if (!json_is_string(v))
            return req_fail(r, ERR_WRONG_TYPE, fields[i], "%s must be a string", fields[i]);
        *vals[i] = json_string_value(v);
        *lens[i] = json_string_length(v);
    }
    return ERR_OK;
}

static enum err read_items(struct req *r, struct order_item_in **out, size_t *n)
{
    json_t *arr = json_object_get(r->json, "items");
    if (!arr)
        return req_fail(r, ERR_MISSING_FIELD, "items", "items is required");
    if (!json_is_array(arr))
        return req_fail(r, ERR_WRONG_TYPE, "items", "items must be a list of {product_id, qty}");
    size_t count = json_array_size(arr);
    if (count < 1 || count > ORDER_ITEMS_MAX)
        return req_fail(r, ERR_OUT_OF_RANGE, "items", "an order has 1 to %d items",
                        ORDER_ITEMS_MAX);
    struct order_item_in *items = arena_alloc(&r->arena, count * sizeof *items);
    if (!items)
        return ERR_TOO_LARGE;
    for (size_t i = 0; i < count; i++) {
        json_t *it = json_array_get(arr, i);
        json_t *pid = json_object_get(it, "product_id"), *qty = json_object_get(it, "qty");
        if (!json_is_object(it) || json_object_size(it) != 2 || !pid || !qty)
            return req_fail(r, ERR_INVALID, "items", "items[%zu] must be exactly {product_id, qty}",
                            i);
        if (!json_is_integer(pid) || !json_is_integer(qty))
            return req_fail(r, ERR_WRONG_TYPE, "items",
                            "items[%zu].product_id and .qty must be whole numbers", i);
        items[i].product_id = json_integer_value(pid);
        items[i].qty = json_integer_value(qty);
        if (items[i].product_id < 1)
            return req_fail(r, ERR_OUT_OF_RANGE, "items", "items[%zu].product_id must be above 0",
                            i);
    }
    *out = items;
    *n = count;
    return ERR_OK;
}

static enum err in_flight(struct req *r)
{
    return req_fail(r, ERR_IDEMPOTENCY_IN_FLIGHT, "Idempotency-Key",
                    "a request with this Idempotency-Key is still being handled");
}

static const char *create_refusal(struct order_keyed *k, enum err e, struct arena *a)
{
    (void)a; /* as create_render() */
    json_t *body = req_error_json(k->ctx, e);
    return body ? json_dumps(body, JSON_DUMP_FLAGS) : NULL;
}

enum err api_order_input(struct req *r, struct order_new *in)
{
    static const char *const fields[] = {"shop_id", "items", "share_token", "address", NULL};
    struct order_item_in *items = NULL;
    const char *token = NULL;
    size_t token_len = 0;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_int(r, "shop_id", true, 1, INT64_MAX, &in->shop_id, NULL);
    if (!e)
        e = read_items(r, &items, &in->n_items);
    if (!e)
        e = req_str(r, "share_token", false, &token, &token_len);
    if (!e && token && (token_len < 1 || token_len > 64))
        e = req_fail(r, ERR_INVALID, "share_token", "share_token is not a valid token");
    if (!e)
        e = read_address(r, &in->address);
    if (e)
        return e;
    in->items = items;
    in->share_token = token;
    return ERR_OK;
}

enum err api_order_create(struct req *r)
{
    const char *key = req_header(r, "Idempotency-Key");
    struct order_new in = {.buyer_id = r->user.user_id};
    char hash[65];
    if (!key)
        return req_fail(r, ERR_MISSING_FIELD, "Idempotency-Key",
                        "send an Idempotency-Key header (a unique value per order you mean)");
    if (!idem_key_valid(key))
        return req_fail(r, ERR_INVALID, "Idempotency-Key",
                        "Idempotency-Key must be 1 to %d printable characters", IDEM_KEY_MAX);
    enum err e = api_order_input(r, &in);
    if (e)
        return e;
    idem_hash(r->body, r->body_len, hash);
    struct order_keyed k = {.in = &in,
                            .a = &r->arena,
                            .ei = &r->ei,
                            .render = create_render,
                            .refusal = create_refusal,
                            .ctx = r};
    struct idem_call *idem = &k.call;
    e = order_create_keyed(r->db, &k, key, hash);
    if (e)
        return e; /* a refusal was stored as rendered here, and is answered the same */
    switch (idem->state) {
    case IDEM_REPLAY:
        r->replayed = "true";
        break;
    case IDEM_MISMATCH:
        return req_fail(r, ERR_IDEMPOTENCY_MISMATCH, "Idempotency-Key",
                        "this Idempotency-Key was used with a different request");
    case IDEM_IN_FLIGHT:
        return in_flight(r);
    case IDEM_NEW:
        break;
    }
    /* the answer: the order created (rendered once, after the commit), or what was stored */
    r->status = idem->status;
    r->raw_body = idem->rendered;
    r->raw_len = strlen(idem->rendered);
    return ERR_OK;
}

/* Replies with the order as it is now. */
static enum err reply_order(struct req *r, int64_t id)
{
    struct order o;
    enum err e = order_get(r->db, id, &r->arena, &o);
    if (e)
        return e;
    return req_reply(r, 200, order_json(&o));
}

enum err api_order_get(struct req *r)
{
    return reply_order(r, req_param_id(r, 0)); /* its buyer's or its shop's: the route's access */
}

/* How an order can be paid: offline always (the shop confirms a transfer); WeChat Pay when
 * its shop takes it on this server. */
enum err api_order_payment_options(struct req *r)
{
    struct order o;
    struct wechatpay_merchant m;
    enum err e = order_get(r->db, req_param_id(r, 0), &r->arena, &o);
    if (e)
        return e;
    bool wechat = wechatpay_settings.api_base &&
                  wechatpay_merchant_get(r->db, o.shop_id, &r->arena, &m) == ERR_OK;
    return req_reply(r, 200,
                     json_pack("{s:I, s:b, s:b}", "order_id", (json_int_t)o.id, "offline", 1,
                               "wechatpay", wechat));
}

static enum err list(struct req *r, struct order_filter *f)
{
    struct order *items = NULL;
    size_t n = 0;
    bool more = false;
    const char *status = req_query(r, "status");
    enum err e = api_page(r, &f->limit, &f->before_id);
    if (e)
        return e;
    f->any_status = !status;
    if (status && !order_status_parse(status, &f->status))
        return req_fail(r, ERR_INVALID, "status",
                        "status must be created, paid, shipped, delivered, completed, cancelled "
                        "or refunded");
    if ((e = order_list(r->db, f, &r->arena, &items, &n, &more)))
        return e;
    return api_reply_items(r, items, n, sizeof *items, order_json, more, n ? items[n - 1].id : 0);
}

enum err api_me_orders(struct req *r)
{
    struct order_filter f = {.buyer_id = r->user.user_id};
    return list(r, &f);
}

enum err api_shop_orders(struct req *r)
{
    struct order_filter f = {.shop_id = req_param_id(r, 0)};
    return list(r, &f);
}

/* The shop's after-sales queue: its refunds, newest first, in ?status= if given. */
enum err api_shop_refunds(struct req *r)
{
    const char *status = req_query(r, "status");
    struct refund_filter f = {.shop_id = req_param_id(r, 0), .any_status = !status};
    struct refund *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &f.limit, &f.before_id);
    if (!e && status && !refund_status_parse(status, &f.status))
        e = req_fail(r, ERR_INVALID, "status",
                     "status must be requested, approved, rejected or withdrawn");
    if (!e)
        e = refund_list(r->db, &f, &r->arena, &items, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, refund_json, more, n ? items[n - 1].id : 0);
}

enum err api_order_confirm_payment(struct req *r)
{
    static const char *const fields[] = {"reference", "amount_fen", NULL};
    int64_t id = req_param_id(r, 0);
    const char *ref = NULL;
    size_t ref_len = 0;
    struct payment p = {
        .provider = "offline", .order_id = id, .actor_id = r->user.user_id, .by_shop = true};
    /* who may confirm is checked in the payment's own transaction (one lock hold, not two);
     * the body is read first, and what it says does not depend on the order */
    enum err e = r->json ? req_body(r, fields) : ERR_OK;
    if (!e)
        e = req_str(r, "reference", false, &ref, &ref_len);
    if (!e && ref && (ref_len < 1 || ref_len > 64))
        e = req_fail(r, ERR_INVALID, "reference", "reference must have 1 to 64 characters");
    if (!e)
        e = req_int(r, "amount_fen", false, 1, INT64_MAX, &p.amount_fen, &p.has_amount);
    p.reference = ref;
    if (!e)
        e = payment_apply(r->db, &p, &r->ei);
    /* The answer is read once the payment is on disk, on this thread's own connection:
     * not under the write lock, which every write of the process waits for. */
    if (!e)
        e = db_await_durable(r->db);
    return e ? e : reply_order(r, id);
}

enum err api_order_ship(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    const char *carrier = NULL, *tracking = NULL;
    size_t cl = 0, tl = 0;
    enum err e = req_read(r, REQ_STRING("carrier", true, &carrier, &cl),
                          REQ_STRING("tracking", true, &tracking, &tl));
    if (!e)
        e = order_ship(r->db, id, carrier, cl, tracking, tl, r->user.user_id, &r->ei);
    return e ? e : reply_order(r, id);
}

enum err api_order_receive(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    enum err e = order_receive(r->db, id, r->user.user_id, &r->ei);
    return e ? e : reply_order(r, id);
}

enum err api_order_cancel(struct req *r)
{
    static const char *const fields[] = {"reason", NULL};
    int64_t id = req_param_id(r, 0);
    bool buyer = r->party.own; /* or who runs the shop: the route's access */
    const char *reason = NULL;
    size_t len = 0;
    enum err e = r->json ? req_body(r, fields) : ERR_OK;
    if (!e)
        e = req_str(r, "reason", false, &reason, &len);
    if (!e && reason && len > 200)
        e = req_fail(r, ERR_INVALID, "reason", "reason must have at most 200 characters");
    if (!e)
        e = order_cancel(r->db, id, r->user.user_id,
                         reason ? arena_strndup(&r->arena, reason, len)
                                : (buyer ? "by the buyer" : "by the shop"),
                         &r->ei);
    return e ? e : reply_order(r, id);
}

enum err api_refund_request(struct req *r)
{
    int64_t id = req_param_id(r, 0), amount = 0, refund_id = 0;
    const char *reason = NULL;
    size_t len = 0;
    enum err e = req_read(r, REQ_INTEGER("amount_fen", true, 1, INT64_MAX, &amount),
                          REQ_STRING("reason", true, &reason, &len));
    if (!e)
        e = refund_request(r->db, id, r->user.user_id, amount, reason, len, &refund_id, &r->ei);
    if (e)
        return e;
    struct order now;
    if ((e = order_get(r->db, id, &r->arena, &now)))
        return e;
    json_t *body = order_json(&now);
    json_object_set_new(body, "refund_id", json_integer(refund_id));
    return req_reply(r, 201, body);
}

static enum err decide(struct req *r, bool approve)
{
    static const char *const fields[] = {"note", NULL};
    int64_t refund_id = req_param_id(r, 0), order_id = 0, shop_id = 0;
    const char *note = NULL;
    size_t len = 0;
    /* the refund is the caller's shop's: the route's access */
    enum err e = refund_order(r->db, refund_id, &order_id, &shop_id);
    if (!e && r->json)
        e = req_body(r, fields);
    if (!e)
        e = req_str(r, "note", false, &note, &len);
    /* an order paid with WeChat Pay is refunded through it: applied when WeChat Pay says so */
    const char *txid = NULL, *state = NULL;
    bool via_wechat = false;
    if (!e && approve) {
        enum err paid = wechatpay_paid(r->db, order_id, &r->arena, &txid);
        via_wechat = paid == ERR_OK;
        e = paid == ERR_NOT_FOUND ? ERR_OK : paid;
    }
    if (!e && via_wechat)
        e = wechatpay_refund_start(r->db, refund_id, r->user.user_id, note, len, &r->arena, &state,
                                   &r->ei);
    else if (!e)
        e = refund_decide(r->db, refund_id, approve, r->user.user_id, note, len, &r->ei);
    if (e)
        return e;
    e = reply_order(r, order_id);
    if (!e && state && r->resp) /* "sent", "done", or "sending" (WeChat Pay is told later) */
        json_object_set_new(r->resp, "wechatpay_refund", json_string(state));
    return e;
}

enum err api_refund_withdraw(struct req *r)
{
    int64_t order_id = 0; /* it takes no body: the route table's */
    enum err e = refund_withdraw(r->db, req_param_id(r, 0), r->user.user_id, &order_id, &r->ei);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such refund");
    return e ? e : reply_order(r, order_id);
}

enum err api_refund_approve(struct req *r)
{
    return decide(r, true);
}

enum err api_refund_reject(struct req *r)
{
    return decide(r, false);
}
