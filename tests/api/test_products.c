/*
 * The catalogue against a real server: products (create, read, change,
 * list with paging and filters), what buyers and strangers may see, the
 * RATE-CAPS rule on overrides, stock accounting, images, and that refused
 * requests write nothing.
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

#include "harness.h"

static char *owner, *staff, *other, *buyer;
static int64_t shop, other_shop;

static int up(void **state)
{
    srv_group_up(state);
    int64_t staff_id;
    owner = register_user(&S, "13700000001", "周师傅", NULL);
    staff = register_user(&S, "13700000002", "小周", &staff_id);
    other = register_user(&S, "13700000003", "别家", NULL);
    buyer = register_user(&S, "13700000004", "买家", NULL);
    shop = create_shop(&S, owner, "walnuts");
    other_shop = create_shop(&S, other, "teashop");
    answers(&S, "POST", fmt("/api/v1/shops/%lld/staff", (long long)shop), owner,
            fmt("{\"user_id\":%lld}", (long long)staff_id), 201);
    return 0;
}

static int down(void **state)
{
    free_all(owner, staff, other, buyer);
    return srv_group_down(state);
}

static int64_t add_product(const char *token, int64_t shop_id, const char *body)
{
    return create(&S, fmt("/api/v1/shops/%lld/products", (long long)shop_id), token, body);
}

static void create_and_read(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), staff,
         "{\"title\":\"薄皮核桃 2.5kg\",\"description\":\"今年新果。\\n自然晾晒。\","
         "\"price_fen\":12800,\"stock\":50,\"status\":\"on_sale\","
         "\"tags\":{\"nuts\":0.9,\"农产品\":0.6},\"repurchase_days\":60,"
         "\"trial_available\":true}",
         &r);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_int_equal(jint(r.json, "shop_id"), shop);
    assert_int_equal(jint(r.json, "price_fen"), 12800);
    assert_int_equal(jint(r.json, "stock"), 50);
    assert_string_equal(jstr(r.json, "status"), "on_sale");
    assert_non_null(jget(r.json, "tags.坚果"));          /* "nuts" is 坚果 */
    assert_int_equal(jint(r.json, "buyer_cap_30d"), 10); /* the shop's default */
    assert_int_equal(jint(r.json, "l1_bps"), 1000);      /* the shop's rates */
    assert_true(json_is_null(jget(r.json, "rates_override")));
    assert_int_equal(jint(r.json, "stock_in"), 50);
    resp_free(&r);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM product_tags WHERE product_id = %lld",
                                       (long long)id)),
                     2);

    /* buyers see it without the owner's fields; weights read as written */
    http(&S, "GET", fmt("/api/v1/products/%lld", (long long)id), NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"坚果\":0.9,"));
    assert_string_equal(jstr(r.json, "title"), "薄皮核桃 2.5kg");
    assert_null(jget(r.json, "stock_in"));
    resp_free(&r);

    /* a draft is the shop's own business */
    int64_t draft = add_product(owner, shop, "{\"title\":\"新品\",\"price_fen\":100}");
    refused(&S, "GET", fmt("/api/v1/products/%lld", (long long)draft), buyer, NULL, 404,
            "not_found", NULL);
    http(&S, "GET", fmt("/api/v1/products/%lld", (long long)draft), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "draft");
    resp_free(&r);
    refused(&S, "GET", "/api/v1/products/999999", NULL, NULL, 404, "not_found", NULL);
}

static void bad_products_write_nothing(void **state)
{
    (void)state;
    int64_t before = db_scalar(&S, "SELECT COUNT(*) FROM products");
    int64_t tags = db_scalar(&S, "SELECT COUNT(*) FROM product_tags");
    const struct bad_case bad[] = {
        {"{\"price_fen\":100}", "missing_field", "title"},
        {"{\"title\":\"x\"}", "missing_field", "price_fen"},
        {"{\"title\":\"x\",\"price_fen\":0}", "out_of_range", "price_fen"},
        {"{\"title\":\"x\",\"price_fen\":100000001}", "out_of_range", "price_fen"},
        {"{\"title\":\"x\",\"price_fen\":12.5}", "wrong_type", "price_fen"},
        {"{\"title\":\"x\",\"price_fen\":100,\"stock\":-1}", "out_of_range", "stock"},
        {"{\"title\":\"x\",\"price_fen\":100,\"status\":\"sold\"}", "invalid_value", "status"},
        {"{\"title\":\"\",\"price_fen\":100}", "invalid_value", "title"},
        {"{\"title\":\"x\",\"price_fen\":100,\"tags\":{\"a\":2}}", "out_of_range", "tags"},
        {"{\"title\":\"x\",\"price_fen\":100,\"tags\":{\"a\":0.1,\"b\":0.1,\"c\":0.1,\"d\":0.1,"
         "\"e\":0.1,\"f\":0.1,\"g\":0.1,\"h\":0.1,\"i\":0.1,\"j\":0.1,\"k\":0.1}}",
         "out_of_range", "tags"},
        {"{\"title\":\"x\",\"price_fen\":100,\"buyer_cap_30d\":0}", "out_of_range",
         "buyer_cap_30d"},
        {"{\"title\":\"x\",\"price_fen\":100,\"l1_bps\":1000}", "invalid_value", "l2_bps"},
        /* RULE: RATE-CAPS */
        {"{\"title\":\"x\",\"price_fen\":100,\"l1_bps\":2500,\"l2_bps\":1000}", "out_of_range",
         "l2_bps"},
        {"{\"title\":\"x\",\"price_fen\":100,\"l1_bps\":1000,\"l2_bps\":600}", "out_of_range",
         "l2_bps"},
        {"{\"title\":\"x\",\"price_fen\":100,\"shop_id\":1}", "unknown_field", "shop_id"},
    };
    struct resp r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), owner, bad[i].body,
             &r);
        expect_error(&r, 400, bad[i].code, bad[i].field);
        resp_free(&r);
    }
    /* another shop's owner, a buyer, nobody: 404 / 401 */
    refused(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), other,
            "{\"title\":\"x\",\"price_fen\":100}", 404, "not_found", NULL);
    refused(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), NULL,
            "{\"title\":\"x\",\"price_fen\":100}", 401, "unauthorized", NULL);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM products"), before);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM product_tags"), tags);
}

static void patch_stock_and_overrides(void **state)
{
    (void)state;
    int64_t id = add_product(owner, shop,
                             "{\"title\":\"核桃仁\",\"price_fen\":5800,\"stock\":10,"
                             "\"status\":\"on_sale\"}");
    char p[64];
    snprintf(p, sizeof p, "/api/v1/products/%lld", (long long)id);
    struct resp r;
    http(&S, "PATCH", p, owner,
         "{\"stock\":25,\"price_fen\":6800,\"l1_bps\":2000,\"l2_bps\":1000,"
         "\"buyer_cap_30d\":3,\"tags\":{\"snacks\":1}}",
         &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "stock"), 25);
    assert_int_equal(jint(r.json, "stock_in"), 25);
    assert_int_equal(jint(r.json, "l1_bps"), 2000);
    assert_int_equal(jint(r.json, "rates_override.l2_bps"), 1000);
    assert_int_equal(jint(r.json, "buyer_cap_30d"), 3);
    assert_non_null(jget(r.json, "tags.零食"));
    assert_int_equal(json_object_size(jget(r.json, "tags")), 1);
    resp_free(&r);
    /* back to the shop's defaults */
    http(&S, "PATCH", p, owner, "{\"l1_bps\":null,\"l2_bps\":null,\"buyer_cap_30d\":null}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "l1_bps"), 1000);
    assert_true(json_is_null(jget(r.json, "rates_override")));
    assert_int_equal(jint(r.json, "buyer_cap_30d"), 10);
    resp_free(&r);
    /* refused patches change nothing; strangers get 404 */
    refused(&S, "PATCH", p, owner, "{\"stock\":-5}", 400, "out_of_range", "stock");
    refused(&S, "PATCH", p, owner, "{\"tags\":\"nuts\"}", 400, "wrong_type", "tags");
    refused(&S, "PATCH", p, owner, "{\"status\":\"sold\"}", 400, "invalid_value", "status");
    refused(&S, "PATCH", p, owner, "{\"l2_bps\":null}", 400, "invalid_value", "l1_bps");
    refused(&S, "PATCH", p, other, "{\"price_fen\":1}", 404, "not_found", NULL);
    refused(&S, "PATCH", p, buyer, "{\"price_fen\":1}", 404, "not_found", NULL);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT price_fen FROM products WHERE id = %lld", (long long)id)), 6800);
    /* stock accounting holds for every product */
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM products WHERE stock + sold <> stock_in"
                                   " OR stock < 0 OR sold < 0"),
                     0);
}

static void list_pages_and_filters(void **state)
{
    (void)state;
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] =
            add_product(other, other_shop,
                        fmt("{\"title\":\"茶 %d\",\"price_fen\":%d,\"status\":\"%s\","
                            "\"tags\":{\"%s\":0.8}}",
                            i, 1000 + i, i == 2 ? "draft" : "on_sale", i % 2 ? "tea" : "teaware"));
    (void)ids;
    /* public pages of 2, newest first, drafts hidden */
    int seen = 0;
    char cursor[128] = "";
    int64_t last = INT64_MAX;
    for (int page = 0; page < 5; page++) {
        struct resp r;
        http(&S, "GET",
             fmt("/api/v1/shops/%lld/products?limit=2%s%s", (long long)other_shop,
                 cursor[0] ? "&cursor=" : "", cursor),
             NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        json_t *items = jget(r.json, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            int64_t id = jint(json_array_get(items, i), "id");
            assert_true(id < last);
            last = id;
            assert_string_equal(jstr(json_array_get(items, i), "status"), "on_sale");
            seen++;
        }
        const char *next = jstr(r.json, "next_cursor");
        if (!next) {
            resp_free(&r);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        resp_free(&r);
    }
    assert_int_equal(seen, 4);
    struct resp r;
    /* by tag, with the English alias */
    http(&S, "GET", fmt("/api/v1/shops/%lld/products?tag=tea", (long long)other_shop), NULL, NULL,
         &r);
    assert_int_equal(json_array_size(jget(r.json, "items")), 2); /* 1 and 3 */
    resp_free(&r);
    /* the owner may list drafts; others may not */
    http(&S, "GET", fmt("/api/v1/shops/%lld/products?status=draft", (long long)other_shop), other,
         NULL, &r);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/products?status=draft", (long long)other_shop),
            buyer, NULL, 400, "invalid_value", "status");
    http(&S, "GET", fmt("/api/v1/shops/%lld/products?limit=0", (long long)other_shop), NULL, NULL,
         &r);
    expect_error(&r, 400, "out_of_range", "limit");
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld/products?limit=101", (long long)other_shop), NULL, NULL,
         &r);
    expect_error(&r, 400, "out_of_range", "limit");
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/products?cursor=bogus", (long long)other_shop), NULL,
            NULL, 400, "invalid_value", "cursor");
    refused(&S, "GET", "/api/v1/shops/999999/products", NULL, NULL, 404, "not_found", NULL);
}

/* A valid 1x1 grey PNG. */
static const unsigned char PNG_BYTES[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
    0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0x68, 0x00, 0x00, 0x00, 0x82, 0x00, 0x81, 0x77, 0xcd, 0x72, 0xb6, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};
#define PNG ((const char *)PNG_BYTES)
#define PNG_LEN sizeof PNG_BYTES

static long upload(const char *token, int64_t product, const char *bytes, size_t n, struct resp *r)
{
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = {auth, "Content-Type: image/png", NULL};
    return http_bytes(&S, "POST", fmt("/api/v1/products/%lld/images", (long long)product), bytes, n,
                      h, r);
}

static void images(void **state)
{
    (void)state;
    int64_t id = add_product(owner, shop,
                             "{\"title\":\"带图\",\"price_fen\":100,"
                             "\"status\":\"on_sale\"}");
    struct resp r;
    assert_int_equal(upload(owner, id, PNG, PNG_LEN, &r), 201);
    const char *url = jstr(r.json, "url");
    assert_non_null(url);
    assert_string_equal(jstr(r.json, "content_type"), "image/png");
    char path[128];
    snprintf(path, sizeof path, "%s", url);
    int64_t image_id = jint(r.json, "id");
    resp_free(&r);

    assert_int_equal(http(&S, "GET", path, NULL, NULL, &r), 200);
    assert_int_equal(r.len, PNG_LEN);
    assert_memory_equal(r.body, PNG, PNG_LEN);
    char *cc = resp_header(&r, "Cache-Control");
    assert_string_equal(cc, "public, max-age=31536000, immutable");
    free(cc);
    char *etag = resp_header(&r, "ETag");
    assert_non_null(etag);
    char inm[160];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    free(etag);
    char *ct = resp_header(&r, "Content-Type");
    assert_string_equal(ct, "image/png");
    free(ct);
    resp_free(&r);
    const char *h[] = {inm, NULL};
    assert_int_equal(http_ex(&S, "GET", path, NULL, NULL, h, &r), 304);
    resp_free(&r);

    /* the product shows it */
    http(&S, "GET", fmt("/api/v1/products/%lld", (long long)id), NULL, NULL, &r);
    assert_string_equal(jstr(r.json, "images.0.url"), path);
    resp_free(&r);

    /* larger than 2 MiB: refused before it is read */
    char *big = calloc(1, 2 * 1024 * 1024 + 16);
    memcpy(big, PNG, PNG_LEN);
    {
        /* as a careful client does: wait for the verdict before sending 2 MiB */
        char auth[128];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", owner);
        const char *careful[] = {auth, "Content-Type: image/png", "Expect: 100-continue", NULL};
        assert_int_equal(http_bytes(&S, "POST", fmt("/api/v1/products/%lld/images", (long long)id),
                                    big, 2 * 1024 * 1024 + 16, careful, &r),
                         413);
    }
    resp_free(&r);
    free(big);
    /* not an image, another shop's owner, too many */
    assert_int_equal(upload(owner, id, "hello", 5, &r), 415);
    assert_string_equal(jstr(r.json, "error.code"), "unsupported_media_type");
    resp_free(&r);
    assert_int_equal(upload(other, id, PNG, PNG_LEN, &r), 404);
    resp_free(&r);
    for (int i = 1; i < 9; i++) {
        assert_int_equal(upload(staff, id, PNG, PNG_LEN, &r), 201);
        resp_free(&r);
    }
    assert_int_equal(upload(owner, id, PNG, PNG_LEN, &r), 409);
    resp_free(&r);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM product_images WHERE product_id = "
                                       "%lld",
                                       (long long)id)),
                     9);
    /* remove one */
    http(&S, "DELETE", fmt("/api/v1/products/%lld/images/%lld", (long long)id, (long long)image_id),
         other, NULL, &r);
    expect_error(&r, 404, "not_found", NULL); /* "no such product": nothing about its images */
    resp_free(&r);
    answers(&S, "DELETE",
            fmt("/api/v1/products/%lld/images/%lld", (long long)id, (long long)image_id), owner,
            NULL, 200);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM product_images WHERE product_id = "
                                       "%lld",
                                       (long long)id)),
                     8);
    /* names are content hashes; anything else is not found, and an encoded "/" is refused
     * before any file is looked for */
    assert_int_equal(http(&S, "GET", "/images/..%2f..%2fquanzi.db", NULL, NULL, &r), 400);
    resp_free(&r);
    assert_int_equal(http(&S, "GET", "/images/..%252f..%252fquanzi.db", NULL, NULL, &r), 404);
    resp_free(&r);
    assert_int_equal(http(&S, "GET", "/images/abc.png", NULL, NULL, &r), 404);
    resp_free(&r);
}

/* Product pages are memoised for visitors: every write shows at once, on every thread. */
static void visitors_see_writes_at_once(void **state)
{
    (void)state;
    int64_t id = add_product(owner, shop,
                             "{\"title\":\"热卖\",\"price_fen\":1000,\"stock\":9,"
                             "\"status\":\"on_sale\"}");
    char p[64];
    snprintf(p, sizeof p, "/api/v1/products/%lld", (long long)id);
    struct resp r;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) { /* fill every worker's memo */
            answers(&S, "GET", p, NULL, NULL, 200);
        }
        if (round == 0) {
            http(&S, "PATCH", p, owner, "{\"price_fen\":1500}", &r);
            assert_int_equal(r.status, 200); /* a set-up call did its part */
            resp_free(&r);
        } else if (round == 1) {
            http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
                 "{\"buyer_cap_30d\":7}", &r);
            assert_int_equal(r.status, 200); /* a set-up call did its part */
            resp_free(&r);
        } else {
            http(&S, "PATCH", p, owner, "{\"status\":\"off\"}", &r);
            assert_int_equal(r.status, 200); /* a set-up call did its part */
            resp_free(&r);
        }
        for (int i = 0; i < 8; i++) {
            http(&S, "GET", p, NULL, NULL, &r);
            if (round == 0)
                assert_int_equal(jint(r.json, "price_fen"), 1500);
            else if (round == 1)
                assert_int_equal(jint(r.json, "buyer_cap_30d"), 7);
            else
                assert_int_equal(r.status, 404); /* off sale: gone for visitors */
            resp_free(&r);
        }
    }
}

static void vocabulary(void **state)
{
    (void)state;
    struct resp r;
    assert_int_equal(http(&S, "GET", "/api/v1/tags", NULL, NULL, &r), 200);
    json_t *items = jget(r.json, "items");
    assert_true(json_array_size(items) >= 20);
    bool found = false;
    for (size_t i = 0; i < json_array_size(items); i++)
        if (!strcmp(jstr(json_array_get(items, i), "en"), "skincare"))
            found = !strcmp(jstr(json_array_get(items, i), "name"), "护肤");
    assert_true(found);
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_and_read),
        cmocka_unit_test(bad_products_write_nothing),
        cmocka_unit_test(patch_stock_and_overrides),
        cmocka_unit_test(list_pages_and_filters),
        cmocka_unit_test(images),
        cmocka_unit_test(visitors_see_writes_at_once),
        cmocka_unit_test(vocabulary),
    };
    return cmocka_run_group_tests(tests, up, down);
}
