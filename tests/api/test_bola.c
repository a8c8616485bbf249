/*
 * The BOLA matrix, generated from the route table: every route that takes
 * an object id is called on shop A's objects by an outsider (the owner of
 * shop B, who has no part in A) and anonymously. Routes that take ids must
 * be classified below; a new route without a class fails this test, so the
 * matrix grows with the API.
 *
 *   PRIVATE - only those who run the shop, or the order's buyer, or the
 *             circle's members: an outsider gets 404, exactly as if the
 *             object did not exist; anonymous callers get 401.
 *   PUBLIC  - readable by anyone (a storefront): an outsider gets 200.
 *   SELF    - the id names another member in the caller's own relations
 *             (contacts): an outsider with no such relation gets 404.
 *   APPLY   - any member may ask (to become the shop's promoter); an outsider
 *             without experience of the shop gets 403 experience_required.
 * After the outsider's pass, nothing of shop A has changed.
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

#include "api/api.h"
#include "harness.h"

enum klass { PRIVATE, PUBLIC, SELF, APPLY, SKIP };

static const struct {
    const char *method, *pattern;
    enum klass k;
} classes[] = {
    {"GET", "/api/v1/shops/{id}", PUBLIC},
    {"PATCH", "/api/v1/shops/{id}", PRIVATE},
    {"GET", "/api/v1/shops/{id}/staff", PRIVATE},
    {"POST", "/api/v1/shops/{id}/staff", PRIVATE},
    {"DELETE", "/api/v1/shops/{id}/staff/{user_id}", PRIVATE},
    {"POST", "/api/v1/shops/{id}/products", PRIVATE},
    {"GET", "/api/v1/shops/{id}/products", PUBLIC},
    {"GET", "/api/v1/products/{id}", PUBLIC},
    {"PATCH", "/api/v1/products/{id}", PRIVATE},
    {"POST", "/api/v1/products/{id}/images", PRIVATE},
    {"DELETE", "/api/v1/products/{id}/images/{image_id}", PRIVATE},
    {"GET", "/images/{file}", SKIP}, /* content-addressed public files; tested in products */
    {"POST", "/api/v1/shops/{id}/circles", PRIVATE},
    {"GET", "/api/v1/shops/{id}/circles", PRIVATE},
    {"GET", "/api/v1/circles/{id}", PRIVATE},
    {"PATCH", "/api/v1/circles/{id}", PRIVATE},
    {"POST", "/api/v1/circles/{id}/invite-code", PRIVATE},
    {"POST", "/api/v1/circles/{id}/leave", PRIVATE},
    {"GET", "/api/v1/circles/{id}/members", PRIVATE},
    {"PATCH", "/api/v1/circles/{id}/members/{user_id}", PRIVATE},
    {"DELETE", "/api/v1/circles/{id}/members/{user_id}", PRIVATE},
    {"POST", "/api/v1/me/contacts/{user_id}/accept", SELF},
    {"DELETE", "/api/v1/me/contacts/{user_id}", SELF},
    {"GET", "/api/v1/orders/{id}", PRIVATE},
    {"GET", "/api/v1/shops/{id}/orders", PRIVATE},
    {"POST", "/api/v1/orders/{id}/confirm-payment", PRIVATE},
    {"POST", "/api/v1/orders/{id}/ship", PRIVATE},
    {"POST", "/api/v1/orders/{id}/receive", PRIVATE},
    {"POST", "/api/v1/orders/{id}/cancel", PRIVATE},
    {"POST", "/api/v1/orders/{id}/refunds", PRIVATE},
    {"GET", "/api/v1/shops/{id}/refunds", PRIVATE},
    {"POST", "/api/v1/refunds/{id}/withdraw", PRIVATE},
    {"POST", "/api/v1/refunds/{id}/approve", PRIVATE},
    {"POST", "/api/v1/refunds/{id}/reject", PRIVATE},
    {"POST", "/api/v1/shops/{id}/trials", PRIVATE},
    {"GET", "/api/v1/shops/{id}/promoter-terms", PUBLIC},
    {"POST", "/api/v1/shops/{id}/promoters", APPLY},
    {"GET", "/api/v1/shops/{id}/promoters", PRIVATE},
    {"POST", "/api/v1/promoters/{id}/approve", PRIVATE},
    {"POST", "/api/v1/promoters/{id}/suspend", PRIVATE},
    {"GET", "/api/v1/s/{token}", PUBLIC}, /* a share link is for anyone; it may bind them */
    {"GET", "/api/v1/shops/{id}/withdrawals", PRIVATE},
    {"POST", "/api/v1/withdrawals/{id}/approve", PRIVATE},
    {"POST", "/api/v1/withdrawals/{id}/pay", PRIVATE},
    {"POST", "/api/v1/withdrawals/{id}/reject", PRIVATE},
    {"GET", "/api/v1/shops/{id}/ledger", PRIVATE},
    {"GET", "/api/v1/shops/{id}/audit", PRIVATE},
};

static struct {
    int64_t shop, staff, product, image, circle, member, order, refund, promoter, withdrawal;
    char token[64];
} A;
static char *outsider;

static const char PNG[] = "\x89PNG\r\n\x1a\n----not-really-but-sniffed";

/* A set-up call must have done what it was for: a failed one would make a 404 pass. */
static void done(struct resp *r, long status)
{
    if (r->status != status)
        fprintf(stderr, "set-up: %ld %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    resp_free(r);
}

static int64_t created(struct resp *r, const char *field)
{
    if (r->status != 201)
        fprintf(stderr, "set-up: %ld %s\n", r->status, r->body);
    assert_int_equal(r->status, 201);
    int64_t id = jint(r->json, field);
    assert_true(id > 0);
    resp_free(r);
    return id;
}

static int up(void **state)
{
    srv_group_up(state);
    char *owner = register_user(&S, "13000000001", "A店主", NULL);
    char *buyer = register_user(&S, "13000000002", "A买家", &A.member);
    char *staff = register_user(&S, "13000000003", "A店员", &A.staff);
    outsider = register_user(&S, "13000000009", "B店主", NULL);
    A.shop = create_shop(&S, owner, "shop-a");
    create_shop(&S, outsider, "shop-b");
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/staff", (long long)A.shop), owner,
         fmt("{\"user_id\":%lld}", (long long)A.staff), &r);
    done(&r, 201);
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)A.shop), owner,
         "{\"title\":\"A的核桃\",\"price_fen\":1000,\"stock\":10,\"status\":\"on_sale\"}", &r);
    A.product = created(&r, "id");
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", owner);
    const char *h[] = {auth, NULL};
    http_bytes(&S, "POST", fmt("/api/v1/products/%lld/images", (long long)A.product), PNG,
               sizeof PNG - 1, h, &r);
    A.image = created(&r, "id");
    http(&S, "POST", fmt("/api/v1/shops/%lld/circles", (long long)A.shop), owner,
         "{\"name\":\"A的圈子\",\"kind\":\"parents\"}", &r);
    char code[16];
    assert_non_null(jstr(r.json, "invite_code"));
    snprintf(code, sizeof code, "%s", jstr(r.json, "invite_code"));
    A.circle = created(&r, "id");
    http(&S, "POST", "/api/v1/circles/join", buyer, fmt("{\"invite_code\":\"%s\"}", code), &r);
    done(&r, 201);
    const char *hk[] = {"Idempotency-Key: bola-1", NULL};
    http_ex(&S, "POST", "/api/v1/orders", buyer,
            fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],\"address\":"
                "{\"name\":\"A\",\"phone\":\"13000000002\",\"region\":\"R\",\"line\":\"L\"}}",
                (long long)A.shop, (long long)A.product),
            hk, &r);
    A.order = created(&r, "id");
    http(&S, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)A.order), owner, NULL,
         &r);
    done(&r, 200);
    http(&S, "POST", fmt("/api/v1/orders/%lld/refunds", (long long)A.order), buyer,
         "{\"amount_fen\":100,\"reason\":\"BOLA\"}", &r);
    A.refund = created(&r, "refund_id");

    /* a promoter with a withdrawal: experience, a sale through their link, settlement */
    http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)A.shop), owner,
         "{\"promoter_auto_approve\":true}", &r);
    done(&r, 200);
    http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)A.shop), owner,
         "{\"title\":\"A的礼盒\",\"price_fen\":20000,\"stock\":10,\"status\":\"on_sale\"}", &r);
    int64_t gift = created(&r, "id");
    char *promoter = register_user(&S, "13000000004", "A推广员", NULL);
    char *customer = register_user(&S, "13000000005", "A顾客", NULL);
    const char *buyers[] = {promoter, customer};
    for (int i = 0; i < 2; i++) {
        const char *hk2[] = {i ? "Idempotency-Key: bola-3" : "Idempotency-Key: bola-2", NULL};
        http_ex(&S, "POST", "/api/v1/orders", buyers[i],
                fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}]%s%s%s,"
                    "\"address\":{\"name\":\"A\",\"phone\":\"13000000002\",\"region\":\"R\","
                    "\"line\":\"L\"}}",
                    (long long)A.shop, (long long)gift, i ? ",\"share_token\":\"" : "",
                    i ? A.token : "", i ? "\"" : ""),
                hk2, &r);
        int64_t o = created(&r, "id");
        http(&S, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)o), owner, NULL, &r);
        done(&r, 200);
        http(&S, "POST", fmt("/api/v1/orders/%lld/ship", (long long)o), owner,
             "{\"carrier\":\"顺丰\",\"tracking\":\"SF1\"}", &r);
        done(&r, 200);
        http(&S, "POST", fmt("/api/v1/orders/%lld/receive", (long long)o), buyers[i], NULL, &r);
        done(&r, 200);
        if (i == 0) {
            http(&S, "POST", fmt("/api/v1/shops/%lld/promoters", (long long)A.shop), promoter, NULL,
                 &r);
            assert_non_null(jstr(r.json, "ref_token"));
            snprintf(A.token, sizeof A.token, "%s", jstr(r.json, "ref_token"));
            A.promoter = created(&r, "id");
        }
    }
    http(&S, "POST", "/api/v1/test-clock", owner, "{\"advance_ms\":691200000}", &r); /* 8 days */
    done(&r, 200);
    http(&S, "POST", "/api/v1/me/withdrawals", promoter,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1000}", (long long)A.shop), &r);
    A.withdrawal = created(&r, "id");
    free(promoter);
    free(customer);
    free(owner);
    free(buyer);
    free(staff);
    return 0;
}

static int down(void **state)
{
    free(outsider);
    return srv_group_down(state);
}

/* The pattern with A's ids in place of its parameters. */
static void fill(const char *pattern, char *out, size_t len)
{
    size_t k = 0;
    const char *p = pattern;
    bool first = true;
    while (*p && k + 24 < len) {
        if (*p != '{') {
            out[k++] = *p++;
            continue;
        }
        const char *end = strchr(p, '}');
        size_t n = (size_t)(end - p + 1);
        int64_t v = 0;
        if (!strncmp(p, "{id}", n)) {
            if (strstr(pattern, "/shops/"))
                v = A.shop;
            else if (strstr(pattern, "/products/"))
                v = A.product;
            else if (strstr(pattern, "/circles/"))
                v = A.circle;
            else if (strstr(pattern, "/orders/"))
                v = A.order;
            else if (strstr(pattern, "/refunds/"))
                v = A.refund;
            else if (strstr(pattern, "/promoters/"))
                v = A.promoter;
            else if (strstr(pattern, "/withdrawals/"))
                v = A.withdrawal;
        } else if (!strncmp(p, "{token}", n)) {
            k += (size_t)snprintf(out + k, len - k, "%s", A.token);
            p = end + 1;
            continue;
        } else if (!strncmp(p, "{image_id}", n)) {
            v = A.image;
        } else if (!strncmp(p, "{user_id}", n)) {
            v = strstr(pattern, "/staff/") ? A.staff : A.member;
        }
        assert_true(v > 0);
        k += (size_t)snprintf(out + k, len - k, "%lld", (long long)v);
        p = end + 1;
        first = false;
    }
    (void)first;
    out[k] = '\0';
}

static uint64_t fingerprint(void)
{
    /* anything an outsider's call could have changed in shop A */
    uint64_t sum = 0; /* unsigned: wraps by definition */
    const char *const q[] = {
        "SELECT COUNT(*) * 7 + COALESCE(SUM(updated_at), 0) FROM shops",
        "SELECT COUNT(*) * 7 + COALESCE(SUM(updated_at + stock), 0) FROM products",
        "SELECT COUNT(*) FROM product_images",
        "SELECT COUNT(*) FROM shop_roles",
        "SELECT COUNT(*) * 7 + COALESCE(SUM(updated_at + member_count), 0) FROM circles",
        "SELECT COUNT(*) FROM circle_members",
        "SELECT COUNT(*) FROM order_events",
        "SELECT COUNT(*) * 7 + COALESCE(SUM(updated_at), 0) FROM orders",
        "SELECT COUNT(*) FROM refunds WHERE status = 'requested'",
        "SELECT COUNT(*) FROM contacts",
        "SELECT COUNT(*) * 7 + COALESCE(SUM(updated_at), 0) FROM promoters",
        "SELECT COUNT(*) FROM trials",
        "SELECT COUNT(*) FROM withdrawals WHERE status = 'requested'",
        "SELECT COUNT(*) FROM ledger_entries",
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        sum = sum * 31 + (uint64_t)db_scalar(&S, q[i]);
    return sum;
}

static void every_id_route_is_classified_and_closed(void **state)
{
    (void)state;
    uint64_t before = fingerprint();
    int checked = 0;
    for (size_t i = 0; i < api_routes_len; i++) {
        const struct route *rt = &api_routes[i];
        if (!strchr(rt->pattern, '{'))
            continue;
        int k = -1;
        for (size_t j = 0; j < sizeof classes / sizeof classes[0]; j++)
            if (!strcmp(classes[j].method, rt->method) && !strcmp(classes[j].pattern, rt->pattern))
                k = (int)classes[j].k;
        if (k < 0)
            fprintf(stderr, "route %s %s takes an id but has no BOLA class\n", rt->method,
                    rt->pattern);
        assert_true(k >= 0);
        if (k == SKIP)
            continue;
        char path[256];
        fill(rt->pattern, path, sizeof path);
        const char *body = strcmp(rt->method, "GET") && strcmp(rt->method, "DELETE") ? "{}" : NULL;
        struct resp r;
        http(&S, rt->method, path, outsider, body, &r);
        long want = k == PUBLIC ? 200 : k == APPLY ? 403 : 404;
        if (r.status != want)
            fprintf(stderr, "outsider %s %s -> %ld %s\n", rt->method, path, r.status,
                    r.body ? r.body : "");
        assert_int_equal(r.status, want);
        if (want == 404)
            assert_string_equal(jstr(r.json, "error.code"), "not_found");
        if (want == 403)
            assert_string_equal(jstr(r.json, "error.code"), "experience_required");
        resp_free(&r);
        http(&S, rt->method, path, NULL, body, &r);
        long anon = rt->auth == AUTH_USER ? 401 : (k == PUBLIC ? 200 : 404);
        if (r.status != anon)
            fprintf(stderr, "anonymous %s %s -> %ld %s\n", rt->method, path, r.status,
                    r.body ? r.body : "");
        assert_int_equal(r.status, anon);
        resp_free(&r);
        checked++;
    }
    fprintf(stderr, "# BOLA: %d id-taking routes checked as outsider and anonymous\n", checked);
    assert_true(checked >= 25);
    assert_true(fingerprint() == before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_id_route_is_classified_and_closed),
    };
    return cmocka_run_group_tests(tests, up, down);
}
