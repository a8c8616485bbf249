/*
 * Orders against a real server: the lifecycle with the test clock, the
 * timeline, idempotency (replay, reuse with another body, a claim in flight,
 * a stale claim), every illegal transition, unpaid timeout, auto-receive,
 * refunds, the per-buyer cap, bad input, who may see and act on an order,
 * and 500 concurrent single-unit orders against a stock of 100.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "harness.h"

#define DAY 86400000LL
#define ADDR                                                                                        \
    "\"address\":{\"name\":\"李梅\",\"phone\":\"13912340002\",\"region\":\"北京市朝阳区\"," \
    "\"line\":\"幸福小区3-201\"}"

static char *owner, *buyer, *other_buyer, *other_owner;
static int64_t shop, other_shop, walnut, buyer_id;
static int key_seq;

static int up(void **state)
{
    (void)state;
    /* the tests move the clock ~2 months: sessions must outlive that */
    const char *extra[] = {"--max-connections-per-ip",
                           "1000",
                           "--max-connections",
                           "2000",
                           "--session-days",
                           "365",
                           NULL};
    srv_start(&S, extra);
    owner = register_user(&S, "13100000001", "周师傅", NULL);
    buyer = register_user(&S, "13100000002", "李梅", &buyer_id);
    other_buyer = register_user(&S, "13100000003", "王芳", NULL);
    other_owner = register_user(&S, "13100000004", "别家", NULL);
    shop = create_shop(&S, owner, "order-shop");
    other_shop = create_shop(&S, other_owner, "other-order-shop");
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), owner,
         "{\"title\":\"薄皮核桃\",\"price_fen\":12800,\"stock\":50,\"status\":\"on_sale\","
         "\"tags\":{\"nuts\":0.9}}",
         &r);
    assert_int_equal(r.status, 201);
    walnut = jint(r.json, "id");
    resp_free(&r);
    return 0;
}

static int down(void **state)
{
    free_all(owner, buyer, other_buyer, other_owner);
    return srv_group_down(state);
}

static int64_t product(int64_t stock, const char *extra)
{
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), owner,
         fmt("{\"title\":\"商品\",\"price_fen\":1000,\"stock\":%lld,\"status\":\"on_sale\"%s}",
             (long long)stock, extra ? extra : ""),
         &r);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    resp_free(&r);
    return id;
}

static long order_with_key(const char *token, const char *key, const char *body, struct resp *r)
{
    char h[160];
    snprintf(h, sizeof h, "Idempotency-Key: %s", key);
    const char *hs[] = {h, NULL};
    return http_ex(&S, "POST", "/api/v1/orders", token, body, hs, r);
}

static const char *order_body(int64_t shop_id, int64_t product_id, int64_t qty)
{
    return fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":%lld}]," ADDR "}",
               (long long)shop_id, (long long)product_id, (long long)qty);
}

/* Places an order and returns its id (fails the test otherwise). */
static int64_t order(const char *token, int64_t product_id, int64_t qty)
{
    char key[32];
    snprintf(key, sizeof key, "k-%d", ++key_seq);
    struct resp r;
    order_with_key(token, key, order_body(shop, product_id, qty), &r);
    if (r.status != 201)
        fprintf(stderr, "order: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    resp_free(&r);
    return id;
}

static long act(const char *token, int64_t id, const char *what, const char *body, struct resp *r)
{
    return http(&S, "POST", fmt("/api/v1/orders/%lld/%s", (long long)id, what), token, body, r);
}

static void expect_act(const char *token, int64_t id, const char *what, const char *body,
                       long status, const char *code)
{
    struct resp r;
    act(token, id, what, body, &r);
    if (r.status != status)
        fprintf(stderr, "%s order %lld: %ld %s\n", what, (long long)id, r.status, r.body);
    assert_int_equal(r.status, status);
    if (code)
        assert_string_equal(jstr(r.json, "error.code"), code);
    resp_free(&r);
}

static void advance(long long ms)
{
    answers(&S, "POST", "/api/v1/test-clock", owner, fmt("{\"advance_ms\":%lld}", ms), 200);
}

static const char *status_of(int64_t id)
{
    static char buf[32];
    struct resp r;
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), owner, NULL, &r);
    snprintf(buf, sizeof buf, "%s", jstr(r.json, "status") ? jstr(r.json, "status") : "?");
    resp_free(&r);
    return buf;
}

static int64_t stock_of(int64_t product_id)
{
    return db_scalar(&S, fmt("SELECT stock FROM products WHERE id = %lld", (long long)product_id));
}

static void lifecycle_and_timeline(void **state)
{
    (void)state;
    struct resp r;
    order_with_key(buyer, "life-1", order_body(shop, walnut, 2), &r);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_string_equal(jstr(r.json, "status"), "created");
    assert_int_equal(jint(r.json, "total_fen"), 25600);
    assert_int_equal(jint(r.json, "items.0.price_fen"), 12800); /* copied */
    assert_string_equal(jstr(r.json, "address.region"), "北京市朝阳区");
    resp_free(&r);
    assert_int_equal(stock_of(walnut), 48);
    /* visitors see the stock an order took at once */
    http(&S, "GET", fmt("/api/v1/products/%lld", (long long)walnut), NULL, NULL, &r);
    assert_int_equal(jint(r.json, "stock"), 48);
    resp_free(&r);
    /* a later price change does not touch the order */
    http(&S, "PATCH", fmt("/api/v1/products/%lld", (long long)walnut), owner,
         "{\"price_fen\":13800}", &r);
    assert_int_equal(r.status, 200); /* a set-up call did its part */
    resp_free(&r);

    expect_act(owner, id, "confirm-payment", "{\"reference\":\"转账 0317\",\"amount_fen\":25600}",
               200, NULL);
    /* the buyer learned: walnuts are nuts */
    http(&S, "GET", "/api/v1/me", buyer, NULL, &r);
    assert_non_null(jget(r.json, "learned_interests.坚果"));
    resp_free(&r);
    expect_act(owner, id, "ship", "{\"carrier\":\"顺丰\",\"tracking\":\"SF1234567890\"}", 200,
               NULL);
    expect_act(buyer, id, "receive", NULL, 200, NULL);
    assert_string_equal(status_of(id), "delivered");
    /* the return window (settle_days 7) closes, then it completes */
    advance(6 * DAY);
    assert_string_equal(status_of(id), "delivered");
    advance(1 * DAY + 60000);
    assert_string_equal(status_of(id), "completed");

    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), buyer, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "items.0.price_fen"), 12800);
    json_t *tl = jget(r.json, "timeline");
    const char *kinds[] = {"created", "paid", "shipped", "received", "completed"};
    assert_int_equal(json_array_size(tl), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(jstr(json_array_get(tl, i), "kind"), kinds[i]);
    assert_string_equal(jstr(tl, "4.by"), "system");
    assert_string_equal(jstr(r.json, "carrier"), "顺丰");
    assert_non_null(jstr(r.json, "completed_at"));
    resp_free(&r);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)),
        1);
    /* listed for the buyer and for the shop */
    http(&S, "GET", "/api/v1/me/orders?status=completed", buyer, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.id"), id);
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld/orders", (long long)shop), owner, NULL, &r);
    assert_true(json_array_size(jget(r.json, "items")) >= 1);
    resp_free(&r);
}

/* Pages through GET `path` (limit 2): every item has `status` (NULL: any), ids strictly
 * fall, and the count is returned. */
static int64_t walk_pages(const char *path, const char *token, const char *status)
{
    int64_t count = 0, last = INT64_MAX;
    char cursor[64] = "", first[128];
    snprintf(first, sizeof first, "%s", path); /* fmt()'s results do not last */
    path = first;
    for (int pages = 0; pages < 1000; pages++) {
        struct resp r;
        const char *sep = strchr(path, '?') ? "&" : "?";
        http(&S, "GET", fmt("%s%slimit=2%s%s", path, sep, *cursor ? "&cursor=" : "", cursor), token,
             NULL, &r);
        assert_int_equal(r.status, 200);
        json_t *items = jget(r.json, "items");
        assert_true(json_array_size(items) <= 2);
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *it = json_array_get(items, i);
            if (status)
                assert_string_equal(jstr(it, "status"), status);
            assert_true(jint(it, "id") < last);
            last = jint(it, "id");
            count++;
        }
        const char *next = jstr(r.json, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        resp_free(&r);
        if (!*cursor)
            return count;
    }
    fail_msg("more than 1000 pages");
    return count;
}

/*
 * A seller filters the shop's orders by status (to ship: paid), page by page: each status
 * gives exactly its orders, newest first, through the index kept for it (every status but
 * completed) or, for completed, through the shop's own.
 */
static void shop_lists_by_status(void **state)
{
    (void)state;
    int64_t p = product(50, NULL);
    int64_t ids[7];
    for (int i = 0; i < 7; i++)
        ids[i] = order(buyer, p, 1);
    for (int i = 0; i < 5; i++)
        expect_act(owner, ids[i], "confirm-payment", NULL, 200, NULL);
    expect_act(owner, ids[0], "ship", "{\"carrier\":\"顺丰\",\"tracking\":\"SF1\"}", 200, NULL);
    expect_act(owner, ids[1], "ship", "{\"carrier\":\"顺丰\",\"tracking\":\"SF2\"}", 200, NULL);
    expect_act(buyer, ids[1], "receive", NULL, 200, NULL);
    expect_act(buyer, ids[6], "cancel", NULL, 200, NULL);
    char list[64];
    snprintf(list, sizeof list, "/api/v1/shops/%lld/orders", (long long)shop);
    const char *statuses[] = {"created", "paid", "shipped", "delivered", "cancelled", "completed"};
    int64_t listed = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        int64_t n = walk_pages(fmt("%s?status=%s", list, statuses[i]), owner, statuses[i]);
        assert_int_equal(n, db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE shop_id = %lld"
                                              " AND status = '%s'",
                                              (long long)shop, statuses[i])));
        listed += n;
    }
    /* this test's orders are among them */
    assert_true(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE id >= %lld AND status = 'paid'",
                          (long long)ids[0])) == 3);
    /* and no status is left out: the lists add up to the whole */
    int64_t all = walk_pages(list, owner, NULL);
    assert_int_equal(all, db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE shop_id = %lld",
                                            (long long)shop)));
    assert_int_equal(listed + db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE shop_id = %lld"
                                                " AND status = 'refunded'",
                                                (long long)shop)),
                     all);
    /* a page carries each order's items as the order itself does, in product order: 25 orders
     * (items are read 20 orders at a time), one of them of two products */
    int64_t p2 = product(50, NULL);
    int64_t p3 = product(50, NULL), p4 = product(50, NULL);
    for (int i = 0; i < 16; i++) /* the cap: 10 of a product a buyer */
        order(buyer, i % 2 ? p3 : p4, 1);
    struct resp r;
    const char *two = fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":2},"
                          "{\"product_id\":%lld,\"qty\":1}]," ADDR "}",
                          (long long)shop, (long long)p2, (long long)p);
    assert_int_equal(order_with_key(buyer, "two-products", two, &r), 201);
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld/orders?limit=25", (long long)shop), owner, NULL, &r);
    json_t *page = jget(r.json, "items");
    assert_int_equal(json_array_size(page), 25);
    assert_int_equal(json_array_size(jget(json_array_get(page, 0), "items")), 2);
    for (size_t i = 0; i < json_array_size(page); i++) {
        json_t *o = json_array_get(page, i);
        struct resp one;
        http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)jint(o, "id")), owner, NULL, &one);
        assert_int_equal(one.status, 200);
        assert_true(json_equal(jget(o, "items"), jget(one.json, "items")));
        resp_free(&one);
    }
    resp_free(&r);
    /* a buyer's own list filters the same way */
    int64_t mine = walk_pages("/api/v1/me/orders?status=shipped", buyer, "shipped");
    assert_int_equal(mine, db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE buyer_id = %lld"
                                             " AND status = 'shipped'",
                                             (long long)buyer_id)));
}

/*
 * The create answers the order it built without reading it back, and the
 * payment answers the order read in its own transaction: both must be what
 * GET shows (items in product order, the timeline, the address, the times).
 */
static void answers_are_what_is_stored(void **state)
{
    (void)state;
    int64_t p1 = product(10, NULL), p2 = product(10, NULL);
    struct resp made, got, paid;
    const char *body = fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":2},"
                           "{\"product_id\":%lld,\"qty\":1}]," ADDR "}",
                           (long long)shop, (long long)p2, (long long)p1);
    assert_int_equal(order_with_key(buyer, "stored-1", body, &made), 201);
    int64_t id = jint(made.json, "id");
    assert_int_equal(jint(made.json, "items.0.product_id"), p1);
    assert_int_equal(jint(made.json, "total_fen"), 3000);
    /* a shop that does not take WeChat Pay: the transfer only */
    struct resp opts;
    assert_int_equal(http(&S, "GET", fmt("/api/v1/orders/%lld/payment-options", (long long)id),
                          buyer, NULL, &opts),
                     200);
    assert_true(json_is_true(jget(opts.json, "offline")));
    assert_true(json_is_false(jget(opts.json, "wechatpay")));
    resp_free(&opts);
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), buyer, NULL, &got);
    assert_int_equal(got.status, 200);
    assert_string_equal(made.body, got.body);
    resp_free(&got);
    assert_int_equal(act(owner, id, "confirm-payment", NULL, &paid), 200);
    assert_string_equal(jstr(paid.json, "status"), "paid");
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), owner, NULL, &got);
    assert_string_equal(paid.body, got.body);
    resp_free(&got);
    resp_free(&paid);
    /* the same payment again: no second effect, the same order */
    assert_int_equal(act(owner, id, "confirm-payment", NULL, &paid), 200);
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), owner, NULL, &got);
    assert_string_equal(paid.body, got.body);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)),
        1);
    resp_free(&got);
    resp_free(&paid);
    resp_free(&made);
}

static void idempotency(void **state)
{
    (void)state;
    int64_t p = product(10, NULL);
    int64_t orders = db_scalar(&S, "SELECT COUNT(*) FROM orders");
    char body[1024];
    snprintf(body, sizeof body, "%s", order_body(shop, p, 1));
    struct resp r1, r2;
    assert_int_equal(order_with_key(buyer, "same-1", body, &r1), 201);
    assert_int_equal(order_with_key(buyer, "same-1", body, &r2), 201);
    assert_string_equal(r1.body, r2.body); /* the stored answer */
    char *replayed = resp_header(&r2, "Idempotent-Replayed");
    assert_string_equal(replayed, "true");
    free(replayed);
    resp_free(&r2);
    /* still the first answer once the order has moved on: paid, shipped, a refund asked */
    int64_t made = jint(r1.json, "id");
    expect_act(owner, made, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, made, "ship", "{\"carrier\":\"SF\",\"tracking\":\"SF1\"}", 200, NULL);
    expect_act(buyer, made, "refunds", "{\"amount_fen\":100,\"reason\":\"一袋破了\"}", 201, NULL);
    assert_int_equal(order_with_key(buyer, "same-1", body, &r2), 201);
    assert_string_equal(r1.body, r2.body);
    assert_string_equal(jstr(r2.json, "status"), "created");
    resp_free(&r1);
    resp_free(&r2);
    /* the record names the order; the text of the answer is not kept twice */
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = %lld"
                                       " AND idem_key = 'same-1' AND order_id = %lld"
                                       " AND response IS NULL",
                                       (long long)buyer_id, (long long)made)),
                     1);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM orders"), orders + 1);
    assert_int_equal(stock_of(p), 9);
    /* the same key with another body */
    assert_int_equal(order_with_key(buyer, "same-1", order_body(shop, p, 2), &r1), 422);
    assert_string_equal(jstr(r1.json, "error.code"), "idempotency_key_reused");
    resp_free(&r1);
    /* keys belong to their member */
    assert_int_equal(order_with_key(other_buyer, "same-1", body, &r1), 201);
    resp_free(&r1);
    /* no key at all */
    http(&S, "POST", "/api/v1/orders", buyer, body, &r1);
    expect_error(&r1, 400, "missing_field", "Idempotency-Key");
    resp_free(&r1);
    /* a refusal is replayed too */
    assert_int_equal(order_with_key(buyer, "big-1", order_body(shop, p, 9), &r1), 409);
    assert_string_equal(jstr(r1.json, "error.code"), "out_of_stock");
    assert_int_equal(order_with_key(buyer, "big-1", order_body(shop, p, 9), &r2), 409);
    assert_string_equal(r1.body, r2.body);
    resp_free(&r1);
    resp_free(&r2);
    /* a claim still in flight: 409; one left behind by a crash (> 60 s): taken over */
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = %lld"
                                       " AND idem_key = 'same-1' AND state = 'done'",
                                       (long long)buyer_id)),
                     1);
    struct db_stmt *st = NULL;
    assert_int_equal(
        db_prepare_uncached(S.db,
                            fmt("INSERT INTO idempotency_keys (user_id, idem_key,"
                                " request_hash, state, created_at) SELECT %lld,"
                                " 'flying', request_hash, 'pending', %lld FROM"
                                " idempotency_keys WHERE idem_key = 'same-1' AND"
                                " user_id = %lld",
                                (long long)buyer_id, 4102444800000LL, (long long)buyer_id),
                            &st),
        ERR_OK);
    assert_int_equal(db_step_done(st), ERR_OK);
    db_done(st);
    assert_int_equal(order_with_key(buyer, "flying", body, &r1), 409);
    assert_string_equal(jstr(r1.json, "error.code"), "idempotency_in_flight");
    resp_free(&r1);
    assert_int_equal(db_prepare_uncached(S.db,
                                         "UPDATE idempotency_keys SET created_at = 0 WHERE"
                                         " idem_key = 'flying'",
                                         &st),
                     ERR_OK);
    assert_int_equal(db_step_done(st), ERR_OK);
    db_done(st);
    assert_int_equal(order_with_key(buyer, "flying", body, &r1), 201);
    resp_free(&r1);
}

static void illegal_transitions(void **state)
{
    (void)state;
    int64_t p = product(20, NULL);
    int64_t id = order(buyer, p, 1);
    /* from created */
    expect_act(owner, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"E1\"}", 409,
               "illegal_transition");
    expect_act(buyer, id, "receive", NULL, 409, "illegal_transition");
    expect_act(buyer, id, "refunds", "{\"amount_fen\":100,\"reason\":\"不要了\"}", 409,
               "illegal_transition");
    expect_act(owner, id, "confirm-payment", "{\"amount_fen\":999}", 422, "unprocessable");
    expect_act(owner, id, "confirm-payment", NULL, 200, NULL);
    /* from paid: paying again with the same notification has no second effect */
    expect_act(owner, id, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, id, "confirm-payment", "{\"reference\":\"another\"}", 409,
               "illegal_transition");
    expect_act(buyer, id, "cancel", NULL, 409, "illegal_transition");
    expect_act(buyer, id, "receive", NULL, 409, "illegal_transition");
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)),
        1);
    expect_act(owner, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"E1\"}", 200, NULL);
    expect_act(owner, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"E2\"}", 409,
               "illegal_transition");
    expect_act(owner, id, "confirm-payment", NULL, 200, NULL); /* same notification again */
    /* bad input on transitions: refused, nothing changes */
    int64_t fresh = order(buyer, p, 1);
    expect_act(owner, fresh, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, fresh, "ship", "{\"carrier\":\"\",\"tracking\":\"E9\"}", 400,
               "invalid_value");
    expect_act(owner, fresh, "ship", "{\"carrier\":\"EMS\"}", 400, "missing_field");
    expect_act(owner, fresh, "ship", "{\"carrier\":\"EMS\",\"tracking\":7}", 400, "wrong_type");
    expect_act(buyer, fresh, "refunds", "{\"amount_fen\":100,\"reason\":\"\"}", 400,
               "invalid_value");
    expect_act(buyer, fresh, "refunds", "{\"amount_fen\":0,\"reason\":\"x\"}", 400, "out_of_range");
    expect_act(owner, fresh, "confirm-payment", "{\"reference\":\"\"}", 400, "invalid_value");
    expect_act(owner, fresh, "confirm-payment", "{\"amount_fen\":0}", 400, "out_of_range");
    expect_act(owner, fresh, "confirm-payment", "{\"paid\":true}", 400, "unknown_field");
    assert_string_equal(status_of(fresh), "paid");
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM refunds WHERE order_id = %lld", (long long)fresh)),
        0);
    /* a cancelled order stays cancelled */
    int64_t gone = order(buyer, p, 1);
    expect_act(buyer, gone, "cancel", NULL, 200, NULL);
    expect_act(buyer, gone, "cancel", NULL, 409, "illegal_transition");
    expect_act(owner, gone, "confirm-payment", NULL, 409, "illegal_transition");
    struct resp r;
    act(owner, gone, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"E3\"}", &r);
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(jstr(r.json, "error.message"), "cancelled")); /* names the state */
    resp_free(&r);
}

/* A payment reference is unique per shop and provider: shop B confirms its own order with a
 * reference shop A used (it learns nothing of A's), while within one shop it stays one order's. */
static void payment_references_are_per_shop(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)other_shop), other_owner,
         "{\"title\":\"红枣\",\"price_fen\":3000,\"stock\":10,\"status\":\"on_sale\"}", &r);
    assert_int_equal(r.status, 201);
    int64_t dates = jint(r.json, "id");
    resp_free(&r);
    char key[32];
    snprintf(key, sizeof key, "k-%d", ++key_seq);
    order_with_key(buyer, key, order_body(other_shop, dates, 1), &r);
    assert_int_equal(r.status, 201);
    int64_t theirs = jint(r.json, "id");
    resp_free(&r);
    int64_t p = product(10, NULL);
    int64_t mine = order(buyer, p, 1), mine_too = order(buyer, p, 1);
    const char *ref = "{\"reference\":\"转账 REF-0417\"}";
    expect_act(owner, mine, "confirm-payment", ref, 200, NULL);
    expect_act(other_owner, theirs, "confirm-payment", ref, 200, NULL);
    expect_act(owner, mine_too, "confirm-payment", ref, 422, "unprocessable");
    assert_string_equal(status_of(mine_too), "created");
    assert_int_equal(
        db_scalar(&S, "SELECT COUNT(*) FROM payments WHERE reference = '转账 REF-0417'"), 2);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld"
                                       " AND shop_id = %lld",
                                       (long long)theirs, (long long)other_shop)),
                     1);
}

static void unpaid_timeout_and_auto_receive(void **state)
{
    (void)state;
    int64_t p = product(5, NULL);
    int64_t id = order(buyer, p, 2);
    assert_int_equal(stock_of(p), 3);
    advance(29 * 60 * 1000);
    assert_string_equal(status_of(id), "created");
    advance(2 * 60 * 1000);
    assert_string_equal(status_of(id), "cancelled");
    assert_int_equal(stock_of(p), 5); /* back on the shelf */
    assert_int_equal(db_scalar(&S, fmt("SELECT stock + sold - stock_in FROM products WHERE id = "
                                       "%lld",
                                       (long long)p)),
                     0);

    int64_t shipped = order(buyer, p, 1);
    expect_act(owner, shipped, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, shipped, "ship", "{\"carrier\":\"中通\",\"tracking\":\"ZT9\"}", 200, NULL);
    advance(9 * DAY);
    assert_string_equal(status_of(shipped), "shipped");
    advance(1 * DAY + 60000);
    assert_string_equal(status_of(shipped), "delivered");
}

static void refunds(void **state)
{
    (void)state;
    int64_t p = product(10, NULL);
    /* a partial refund, then the rest: refunded, stock stays out (it shipped) */
    int64_t id = order(buyer, p, 3);
    expect_act(owner, id, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"R1\"}", 200, NULL);
    expect_act(buyer, id, "receive", NULL, 200, NULL);
    struct resp r;
    act(buyer, id, "refunds", "{\"amount_fen\":1000,\"reason\":\"一袋破了\"}", &r);
    assert_int_equal(r.status, 201);
    int64_t refund = jint(r.json, "refund_id");
    resp_free(&r);
    expect_act(buyer, id, "refunds", "{\"amount_fen\":500,\"reason\":\"再退\"}", 409, "conflict");
    /* an open refund holds completion */
    advance(8 * DAY);
    assert_string_equal(status_of(id), "delivered");
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), other_owner, NULL,
            404, "not_found", NULL);
    http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "refunded_fen"), 1000);
    assert_string_equal(jstr(r.json, "status"), "delivered");
    resp_free(&r);
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/reject", (long long)refund), owner, NULL, 409,
            "illegal_transition", "status");
    expect_act(buyer, id, "refunds", "{\"amount_fen\":2001,\"reason\":\"全退\"}", 400,
               "out_of_range");
    act(buyer, id, "refunds", "{\"amount_fen\":2000,\"reason\":\"全退\"}", &r);
    refund = jint(r.json, "refund_id");
    resp_free(&r);
    http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), owner, NULL, &r);
    assert_string_equal(jstr(r.json, "status"), "refunded");
    assert_int_equal(jint(r.json, "refunded_fen"), 3000);
    resp_free(&r);
    assert_int_equal(stock_of(p), 7);

    /* a full refund before shipping returns the stock */
    int64_t unshipped = order(buyer, p, 2);
    expect_act(owner, unshipped, "confirm-payment", NULL, 200, NULL);
    assert_int_equal(stock_of(p), 5);
    act(buyer, unshipped, "refunds", "{\"amount_fen\":2000,\"reason\":\"买错了\"}", &r);
    refund = jint(r.json, "refund_id");
    resp_free(&r);
    /* a rejected one first */
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/reject", (long long)refund), owner,
            fmt("{\"note\":\"%0201d\"}", 0), 400, "invalid_value", "note");
    http(&S, "POST", fmt("/api/v1/refunds/%lld/reject", (long long)refund), owner,
         "{\"note\":\"请先联系客服\"}", &r);
    assert_string_equal(jstr(r.json, "status"), "paid");
    resp_free(&r);
    act(buyer, unshipped, "refunds", "{\"amount_fen\":2000,\"reason\":\"买错了\"}", &r);
    refund = jint(r.json, "refund_id");
    resp_free(&r);
    http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), owner, NULL, &r);
    assert_string_equal(jstr(r.json, "status"), "refunded");
    resp_free(&r);
    assert_int_equal(stock_of(p), 7);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM products WHERE stock + sold <> stock_in"),
                     0);
}

/* The seller's after-sales queue: open refunds first to hand, decided ones by status,
 * paged; nobody else sees it. */
static void refund_queue(void **state)
{
    (void)state;
    struct resp r;
    int64_t p = product(10, NULL);
    int64_t a = order(buyer, p, 1), b = order(other_buyer, p, 2);
    expect_act(owner, a, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, b, "confirm-payment", NULL, 200, NULL);
    act(buyer, a, "refunds", "{\"amount_fen\":1000,\"reason\":\"拍错了\"}", &r);
    int64_t ra = jint(r.json, "refund_id");
    resp_free(&r);
    act(other_buyer, b, "refunds", "{\"amount_fen\":500,\"reason\":\"少了一袋\"}", &r);
    int64_t rb = jint(r.json, "refund_id");
    resp_free(&r);
    char queue[96];
    snprintf(queue, sizeof queue, "/api/v1/shops/%lld/refunds?status=requested", (long long)shop);

    http(&S, "GET", fmt("%s&limit=1", queue), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    assert_int_equal(jint(r.json, "items.0.id"), rb); /* newest first */
    assert_int_equal(jint(r.json, "items.0.order_id"), b);
    assert_int_equal(jint(r.json, "items.0.amount_fen"), 500);
    assert_string_equal(jstr(r.json, "items.0.reason"), "少了一袋");
    assert_string_equal(jstr(r.json, "items.0.status"), "requested");
    assert_true(json_is_null(jget(r.json, "items.0.decided_at")));
    char *next = strdup(jstr(r.json, "next_cursor"));
    resp_free(&r);
    http(&S, "GET", fmt("%s&limit=1&cursor=%s", queue, next), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "items.0.id"), ra);
    resp_free(&r);
    free(next);

    /* decided: out of the queue, into its status */
    answers(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)ra), owner, NULL, 200);
    http(&S, "GET", queue, owner, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.id"), rb);
    for (size_t i = 0; i < json_array_size(jget(r.json, "items")); i++)
        assert_int_not_equal(jint(r.json, fmt("items.%zu.id", i)), ra);
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld/refunds?status=approved", (long long)shop), owner, NULL,
         &r);
    assert_int_equal(jint(r.json, "items.0.id"), ra);
    assert_false(json_is_null(jget(r.json, "items.0.decided_at")));
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld/refunds", (long long)shop), owner, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.id"), rb);
    assert_int_equal(jint(r.json, "items.1.id"), ra);
    resp_free(&r);
    /* the order carries its refunds too, naming it */
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)a), buyer, NULL, &r);
    assert_int_equal(jint(r.json, "refunds.0.order_id"), a);
    resp_free(&r);

    /* bad input, and people who do not run the shop */
    http(&S, "GET", fmt("/api/v1/shops/%lld/refunds?status=open", (long long)shop), owner, NULL,
         &r);
    expect_error(&r, 400, "invalid_value", "status");
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/refunds?limit=0", (long long)shop), owner, NULL, 400,
            "out_of_range", "limit");
    refused(&S, "GET", queue, buyer, NULL, 404, "not_found", NULL);
    refused(&S, "GET", queue, other_owner, NULL, 404, "not_found", NULL);
    http(&S, "GET", fmt("/api/v1/shops/%lld/refunds", (long long)other_shop), other_owner, NULL,
         &r);
    assert_int_equal(r.status, 200);
    for (size_t i = 0; i < json_array_size(jget(r.json, "items")); i++) {
        int64_t id = jint(r.json, fmt("items.%zu.id", i));
        assert_true(id != ra && id != rb);
    }
    resp_free(&r);
}

/* The buyer takes back an undecided request: the shop can no longer decide it, the
 * order is free to complete, and a new request may follow. */
static void refund_withdrawn(void **state)
{
    (void)state;
    struct resp r;
    int64_t p = product(10, NULL);
    int64_t id = order(buyer, p, 2);
    expect_act(owner, id, "confirm-payment", NULL, 200, NULL);
    expect_act(owner, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"W1\"}", 200, NULL);
    expect_act(buyer, id, "receive", NULL, 200, NULL);
    act(buyer, id, "refunds", "{\"amount_fen\":1000,\"reason\":\"少了一袋\"}", &r);
    int64_t refund = jint(r.json, "refund_id");
    resp_free(&r);
    const char *path = fmt("/api/v1/refunds/%lld/withdraw", (long long)refund);
    char withdraw[64];
    snprintf(withdraw, sizeof withdraw, "%s", path);

    /* only the buyer: the shop, another buyer and strangers get 404; bad bodies 400 */
    const char *others[] = {owner, other_buyer, other_owner};
    for (size_t i = 0; i < 3; i++) {
        refused(&S, "POST", withdraw, others[i], NULL, 404, "not_found", NULL);
    }
    refused(&S, "POST", withdraw, buyer, "{\"reason\":\"x\"}", 400, "unknown_field", "reason");
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM refunds WHERE id = %lld"
                                       " AND status = 'requested'",
                                       (long long)refund)),
                     1);

    http(&S, "POST", withdraw, buyer, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "delivered");
    assert_int_equal(jint(r.json, "refunded_fen"), 0);
    assert_string_equal(jstr(r.json, "refunds.0.status"), "withdrawn");
    assert_false(json_is_null(jget(r.json, "refunds.0.decided_at")));
    size_t n = json_array_size(jget(r.json, "timeline"));
    assert_string_equal(jstr(r.json, fmt("timeline.%zu.kind", n - 1)), "refund_withdrawn");
    assert_int_equal(jint(r.json, fmt("timeline.%zu.by", n - 1)), buyer_id);
    resp_free(&r);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT decided_by FROM refunds WHERE id = %lld", (long long)refund)),
        buyer_id);

    /* no longer open: not again, and the shop cannot decide it */
    refused(&S, "POST", withdraw, buyer, NULL, 409, "illegal_transition", "status");
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), owner, NULL, 409,
            "illegal_transition", "status");
    http(&S, "GET", fmt("/api/v1/shops/%lld/refunds?status=withdrawn", (long long)shop), owner,
         NULL, &r);
    assert_int_equal(jint(r.json, "items.0.id"), refund);
    resp_free(&r);

    /* a new request may follow; once it is decided, withdrawing it is refused */
    act(buyer, id, "refunds", "{\"amount_fen\":1000,\"reason\":\"还是少了一袋\"}", &r);
    assert_int_equal(r.status, 201);
    int64_t second = jint(r.json, "refund_id");
    resp_free(&r);
    answers(&S, "POST", fmt("/api/v1/refunds/%lld/reject", (long long)second), owner, NULL, 200);
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/withdraw", (long long)second), buyer, NULL, 409,
            "illegal_transition", "status");

    /* with nothing open the order completes when its return window closes */
    advance(8 * DAY);
    assert_string_equal(status_of(id), "completed");
}

static void quantity_cap(void **state)
{
    (void)state;
    int64_t p = product(100, ",\"buyer_cap_30d\":3");
    int64_t a = order(buyer, p, 2);
    struct resp r;
    order_with_key(buyer, "cap-1", order_body(shop, p, 2), &r);
    expect_error(&r, 409, "quantity_cap", "items");
    resp_free(&r);
    order(buyer, p, 1); /* exactly at the cap */
    /* a cancelled order does not count; other buyers have their own cap */
    expect_act(buyer, a, "cancel", NULL, 200, NULL);
    order(buyer, p, 2);
    order(other_buyer, p, 3);
    /* a wholly refunded order stops counting; a partly refunded one does not */
    int64_t q = product(100, ",\"buyer_cap_30d\":2");
    int64_t x = order(buyer, q, 2);
    expect_act(owner, x, "confirm-payment", NULL, 200, NULL);
    for (int part = 0; part < 2; part++) {
        act(buyer, x, "refunds", "{\"amount_fen\":1000,\"reason\":\"不要了\"}", &r);
        assert_int_equal(r.status, 201);
        int64_t refund = jint(r.json, "refund_id");
        resp_free(&r);
        answers(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), owner, NULL,
                200);
        if (part == 0) {
            order_with_key(buyer, "cap-2", order_body(shop, q, 1), &r);
            expect_error(&r, 409, "quantity_cap", "items");
            resp_free(&r);
        }
    }
    assert_string_equal(status_of(x), "refunded");
    order(buyer, q, 2);
    assert_int_equal(db_scalar(&S, fmt("SELECT COALESCE(SUM(qty), 0) FROM buyer_cap_units"
                                       " WHERE product_id = %lld",
                                       (long long)q)),
                     2);
    /* after 30 days the window has moved on */
    advance(31 * DAY);
    order(buyer, p, 3);
}

static void bad_orders_write_nothing(void **state)
{
    (void)state;
    int64_t draft;
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), owner,
         "{\"title\":\"草稿\",\"price_fen\":100,\"stock\":5}", &r);
    draft = jint(r.json, "id");
    resp_free(&r);
    int64_t foreign;
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)other_shop), other_owner,
         "{\"title\":\"别家的\",\"price_fen\":100,\"stock\":5,\"status\":\"on_sale\"}", &r);
    foreign = jint(r.json, "id");
    resp_free(&r);
    int64_t orders = db_scalar(&S, "SELECT COUNT(*) FROM orders");
    int64_t stock = db_scalar(&S, "SELECT SUM(stock) FROM products");
    struct {
        const char *body;
        long status;
        const char *code;
        const char *field;
    } bad[] = {
        {"{\"shop_id\":%lld,\"items\":[]," ADDR "}", 400, "out_of_range", "items"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":0}]," ADDR "}", 400,
         "out_of_range", "items"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1},{\"product_id\":%lld,"
         "\"qty\":1}]," ADDR "}",
         400, "invalid_value", "items"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld}]," ADDR "}", 400, "invalid_value",
         "items"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1.5}]," ADDR "}", 400,
         "wrong_type", "items"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}]}", 400, "missing_field",
         "address"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],\"address\":{\"name\":"
         "\"x\",\"phone\":\"123\",\"region\":\"r\",\"line\":\"l\"}}",
         400, "invalid_value", "address.phone"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],\"address\":{\"name\":"
         "\"x\",\"region\":\"r\",\"line\":\"l\"}}",
         400, "missing_field", "address.phone"},
        {"{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],\"price_fen\":1," ADDR "}",
         400, "unknown_field", "price_fen"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "bad-%zu", i);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the cases are literals above */
        order_with_key(buyer, key,
                       fmt(bad[i].body, (long long)shop, (long long)walnut, (long long)walnut), &r);
#pragma GCC diagnostic pop
        expect_error(&r, bad[i].status, bad[i].code, bad[i].field);
        resp_free(&r);
    }
    order_with_key(buyer, "bad-token",
                   fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                       "\"share_token\":\"%065d\"," ADDR "}",
                       (long long)shop, (long long)walnut, 0),
                   &r);
    expect_error(&r, 400, "invalid_value", "share_token");
    resp_free(&r);
    order_with_key(buyer, "bad-draft", order_body(shop, draft, 1), &r);
    expect_error(&r, 409, "product_unavailable", "items");
    resp_free(&r);
    order_with_key(buyer, "bad-foreign", order_body(shop, foreign, 1), &r);
    expect_error(&r, 409, "product_unavailable", "items");
    resp_free(&r);
    order_with_key(buyer, "bad-shop", order_body(999999, walnut, 1), &r);
    expect_error(&r, 404, "not_found", "shop_id");
    resp_free(&r);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM orders"), orders);
    assert_int_equal(db_scalar(&S, "SELECT SUM(stock) FROM products"), stock);
    /* list filters */
    refused(&S, "GET", "/api/v1/me/orders?status=lost", buyer, NULL, 400, "invalid_value",
            "status");
    refused(&S, "GET", fmt("/api/v1/shops/%lld/orders?cursor=nope", (long long)shop), owner, NULL,
            400, "invalid_value", "cursor");
    refused(&S, "GET", "/api/v1/me/orders?limit=1000", buyer, NULL, 400, "out_of_range", "limit");
}

static void only_buyer_and_shop_see_and_act(void **state)
{
    (void)state;
    int64_t id = order(buyer, walnut, 1);
    const char *outsiders[] = {other_buyer, other_owner};
    for (int i = 0; i < 2; i++) {
        refused(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), outsiders[i], NULL, 404,
                "not_found", NULL);
        expect_act(outsiders[i], id, "confirm-payment", NULL, 404, "not_found");
        expect_act(outsiders[i], id, "cancel", NULL, 404, "not_found");
    }
    refused(&S, "GET", fmt("/api/v1/shops/%lld/orders", (long long)shop), other_owner, NULL, 404,
            "not_found", NULL);
    /* the buyer does not act for the shop, nor the shop for the buyer */
    expect_act(buyer, id, "confirm-payment", NULL, 404, "not_found");
    expect_act(owner, id, "confirm-payment", NULL, 200, NULL);
    expect_act(buyer, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"X\"}", 404, "not_found");
    expect_act(owner, id, "ship", "{\"carrier\":\"EMS\",\"tracking\":\"X\"}", 200, NULL);
    expect_act(owner, id, "receive", NULL, 404, "not_found");
    expect_act(owner, id, "refunds", "{\"amount_fen\":1,\"reason\":\"x\"}", 404, "not_found");
    refused(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), NULL, NULL, 401, "unauthorized",
            NULL);
}

/* The calls of a race: POST /orders of one unit of `product` by tokens[i % n_tokens], the
 * Idempotency-Key race-<first_key + step * i> held in keys[i]: step 0 sends one request n times. */
static void order_race(struct call *x, char (*keys)[40], int n, char **tokens, int n_tokens,
                       int64_t product, int first_key, int step)
{
    const char *body =
        strdup(fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}]," ADDR "}",
                   (long long)shop, (long long)product));
    assert_non_null(body);
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "Idempotency-Key: race-%d", first_key + step * i);
        x[i] = (struct call){.method = "POST",
                             .path = "/api/v1/orders",
                             .token = tokens[i % n_tokens],
                             .body = body,
                             .header = keys[i]};
    }
    http_all(&S, x, (size_t)n);
    free((void *)body);
}

/*
 * Twins: one request sent 12 times at once with one Idempotency-Key. One
 * order is made; every other twin is told it is in flight (409) or gets the
 * stored answer (the same order).
 */
static void twins_make_one_order(void **state)
{
    (void)state;
    enum { N = 12 };
    int64_t p = product(100, NULL);
    char *twin = register_user(&S, "13100008888", "双击", NULL);
    struct call x[N];
    char keys[N][40];
    order_race(x, keys, N, &twin, 1, p, 77777, 0);
    int created = count_answers(x, N, 201, NULL);
    int in_flight = count_answers(x, N, 409, "idempotency_in_flight");
    assert_true(created >= 1);
    assert_int_equal(created + in_flight, N);
    int64_t id = 0;
    for (int i = 0; i < N; i++)
        if (x[i].status == 201) {
            id = id ? id : x[i].id;
            assert_int_equal(x[i].id, id); /* every answer is the one order */
        }
    assert_int_equal(stock_of(p), 99);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM order_items WHERE product_id = %lld",
                                       (long long)p)),
                     1);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM idempotency_keys WHERE"
                                   " idem_key = 'race-77777'"),
                     1);
    /* and later the same request is the same order */
    struct resp r;
    assert_int_equal(order_with_key(twin, "race-77777", order_body(shop, p, 1), &r), 201);
    assert_int_equal(jint(r.json, "id"), id);
    resp_free(&r);
    free(twin);
}

/* One buyer races themselves: 10 concurrent orders against a cap of 3 -> exactly 3. */
static void quantity_cap_holds_under_a_race(void **state)
{
    (void)state;
    enum { N = 10 };
    int64_t p = product(100, ",\"buyer_cap_30d\":3");
    char *racer = register_user(&S, "13100009999", "心急", NULL);
    struct call x[N];
    char keys[N][40];
    order_race(x, keys, N, &racer, 1, p, 1000, 1);
    assert_int_equal(count_answers(x, N, 201, NULL), 3);
    assert_int_equal(count_answers(x, N, 409, "quantity_cap"), N - 3);
    assert_int_equal(stock_of(p), 97);
    free(racer);
}

/* 500 concurrent single-unit orders (50 buyers x 10) against a stock of 100. */
static void no_oversell_under_a_race(void **state)
{
    (void)state;
    enum { BUYERS = 50, EACH = 10, N = BUYERS * EACH };
    int64_t p = product(100, NULL);
    char *tokens[BUYERS];
    for (int b = 0; b < BUYERS; b++)
        tokens[b] = register_user(&S, fmt("1390000%04d", b), fmt("抢购%d", b), NULL);
    struct call *x = calloc(N, sizeof *x);
    char(*keys)[40] = calloc(N, sizeof *keys);
    assert_non_null(x);
    assert_non_null(keys);
    order_race(x, keys, N, tokens, BUYERS, p, 0, 1);
    int created = count_answers(x, N, 201, NULL);
    int sold_out = count_answers(x, N, 409, "out_of_stock");
    int busy = count_answers(x, N, 503, NULL); /* lost every serialization retry: nothing written */
    fprintf(stderr, "# race: %d created, %d sold out, %d busy\n", created, sold_out, busy);
    assert_int_equal(created, 100);
    assert_int_equal(created + sold_out + busy, N);
    assert_int_equal(stock_of(p), 0);
    assert_int_equal(db_scalar(&S, fmt("SELECT sold FROM products WHERE id = %lld", (long long)p)),
                     100);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM order_items WHERE product_id = %lld",
                                       (long long)p)),
                     100);
    for (int b = 0; b < BUYERS; b++)
        free(tokens[b]);
    free(keys);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lifecycle_and_timeline),
        cmocka_unit_test(answers_are_what_is_stored),
        cmocka_unit_test(shop_lists_by_status),
        cmocka_unit_test(idempotency),
        cmocka_unit_test(illegal_transitions),
        cmocka_unit_test(payment_references_are_per_shop),
        cmocka_unit_test(unpaid_timeout_and_auto_receive),
        cmocka_unit_test(refunds),
        cmocka_unit_test(refund_queue),
        cmocka_unit_test(refund_withdrawn),
        cmocka_unit_test(quantity_cap),
        cmocka_unit_test(bad_orders_write_nothing),
        cmocka_unit_test(only_buyer_and_shop_see_and_act),
        cmocka_unit_test(no_oversell_under_a_race),
        cmocka_unit_test(quantity_cap_holds_under_a_race),
        cmocka_unit_test(twins_make_one_order),
    };
    return cmocka_run_group_tests(tests, up, down);
}
