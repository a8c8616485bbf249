/*
 * Shops against a real server: open, read (public and as owner), change
 * profile and settings within their bounds (RULE: RATE-CAPS), staff, and
 * 404 for everyone who does not run the shop - with nothing written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static char *owner, *stranger, *helper;
static int64_t owner_id, stranger_id, helper_id;

static int up(void **state)
{
    srv_group_up(state);
    owner = register_user(&S, "13800001111", "周师傅", &owner_id);
    stranger = register_user(&S, "13800002222", "路人", &stranger_id);
    helper = register_user(&S, "13800003333", "小帮手", &helper_id);
    return 0;
}

static int down(void **state)
{
    (void)state;
    free(owner);
    free(stranger);
    free(helper);
    return srv_group_down(state);
}

static void open_and_read(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "POST", "/api/v1/shops", owner,
         "{\"name\":\"山里核桃\",\"slug\":\"walnut\",\"story\":\"三十年的核桃树。\\n自然落果。\"}",
         &r);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_true(id > 0);
    assert_string_equal(jstr(r.json, "role"), "owner");
    assert_int_equal(jint(r.json, "owner.id"), owner_id);
    assert_int_equal(jint(r.json, "l1_bps"), 1000);
    assert_int_equal(jint(r.json, "l2_bps"), 500);
    assert_int_equal(jint(r.json, "settle_days"), 7);
    assert_int_equal(jint(r.json, "binding_days"), 30);
    assert_true(json_is_false(jget(r.json, "promoter_auto_approve")));
    resp_free(&r);
    /* the owner row and a 30-day trial */
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM shop_roles WHERE shop_id = %lld AND "
                                       "user_id = %lld AND role = 'owner'",
                                       (long long)id, (long long)owner_id)),
                     1);
    assert_int_equal(db_scalar(&S, fmt("SELECT trial_ends_at - created_at FROM shops WHERE id = "
                                       "%lld",
                                       (long long)id)),
                     30LL * 86400000);

    /* anyone may read the public profile; settings only for those who run it */
    http(&S, "GET", fmt("/api/v1/shops/%lld", (long long)id), NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "name"), "山里核桃");
    assert_string_equal(jstr(r.json, "story"), "三十年的核桃树。\n自然落果。");
    assert_null(jget(r.json, "role"));
    assert_null(jget(r.json, "similarity_min"));
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld", (long long)id), stranger, NULL, &r);
    assert_null(jget(r.json, "role"));
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld", (long long)id), owner, NULL, &r);
    assert_string_equal(jstr(r.json, "role"), "owner");
    assert_true(json_is_number(jget(r.json, "similarity_min")));
    resp_free(&r);
    refused(&S, "GET", "/api/v1/shops/999999", NULL, NULL, 404, "not_found", NULL);
    /* /me lists the shop */
    http(&S, "GET", "/api/v1/me", owner, NULL, &r);
    assert_int_equal(jint(r.json, "shops.0.id"), id);
    assert_string_equal(jstr(r.json, "shops.0.role"), "owner");
    resp_free(&r);
}

static void bad_creations_write_nothing(void **state)
{
    (void)state;
    int64_t shops = db_scalar(&S, "SELECT COUNT(*) FROM shops");
    struct {
        const char *body;
        long status;
        const char *code;
        const char *field;
    } bad[] = {
        {"{\"name\":\"Dup\",\"slug\":\"walnut\"}", 409, "slug_taken", "slug"},
        {"{\"name\":\"X\",\"slug\":\"Bad Slug\"}", 400, "invalid_value", "slug"},
        {"{\"name\":\"X\",\"slug\":\"ab\"}", 400, "invalid_value", "slug"},
        {"{\"name\":\"\",\"slug\":\"okay-slug\"}", 400, "invalid_value", "name"},
        {"{\"slug\":\"okay-slug\"}", 400, "missing_field", "name"},
        {"{\"name\":\"X\",\"slug\":\"okay-slug\",\"owner_id\":1}", 400, "unknown_field",
         "owner_id"},
        {"{\"name\":\"X\",\"slug\":\"okay-slug\",\"story\":5}", 400, "wrong_type", "story"},
        {"{\"name\":\"X\",\"slug\":\"okay-slug\",\"story\":\"bell\\u0007\"}", 400, "invalid_value",
         "story"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refused(&S, "POST", "/api/v1/shops", owner, bad[i].body, bad[i].status, bad[i].code,
                bad[i].field);
    }
    refused(&S, "POST", "/api/v1/shops", NULL, "{\"name\":\"X\",\"slug\":\"anon-shop\"}", 401,
            "unauthorized", NULL);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM shops"), shops);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM shop_roles"), shops);
}

static int64_t walnut(void)
{
    return db_scalar(&S, "SELECT id FROM shops WHERE slug = 'walnut'");
}

static void patch_settings_with_caps(void **state)
{
    (void)state;
    int64_t id = walnut();
    const char *path = fmt("/api/v1/shops/%lld", (long long)id);
    char p[64];
    snprintf(p, sizeof p, "%s", path);
    struct resp r;
    http(&S, "PATCH", p, owner,
         "{\"l1_bps\":2000,\"l2_bps\":1000,\"settle_days\":10,\"binding_days\":60,"
         "\"similarity_min\":0.45,\"promoter_auto_approve\":true,\"story\":\"新故事\"}",
         &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "l1_bps"), 2000);
    assert_int_equal(jint(r.json, "l2_bps"), 1000);
    assert_true(json_is_true(jget(r.json, "promoter_auto_approve")));
    assert_string_equal(jstr(r.json, "story"), "新故事");
    resp_free(&r);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT similarity_milli FROM shops WHERE id = %lld", (long long)id)),
        450);

    /* RULE: RATE-CAPS - every refused patch leaves the row as it was */
    const struct bad_case bad[] = {
        {"{\"l2_bps\":1001}", "out_of_range", "l2_bps"}, /* 2000 + 1001 > 3000 */
        {"{\"l1_bps\":1000}", "out_of_range", "l2_bps"}, /* l2 1000 > l1/2 */
        {"{\"l1_bps\":3001,\"l2_bps\":0}", "out_of_range", "l1_bps"},
        {"{\"l1_bps\":-1}", "out_of_range", "l1_bps"},
        {"{\"settle_days\":6}", "out_of_range", "settle_days"},
        {"{\"binding_days\":400}", "out_of_range", "binding_days"},
        {"{\"similarity_min\":1.5}", "out_of_range", "similarity_min"},
        {"{\"l1_bps\":\"2000\"}", "wrong_type", "l1_bps"},
        {"{\"l1_bps\":20.5}", "wrong_type", "l1_bps"},
        {"{\"promoter_auto_approve\":1}", "wrong_type", "promoter_auto_approve"},
        {"{\"trial_ends_at\":0}", "unknown_field", "trial_ends_at"},
        {"{\"story\":\"x\",\"l2_bps\":2000}", "out_of_range", "l2_bps"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refused(&S, "PATCH", p, owner, bad[i].body, 400, bad[i].code, bad[i].field);
    }
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM shops WHERE id = %lld AND l1_bps = "
                                       "2000 AND l2_bps = 1000 AND settle_days = 10 AND "
                                       "binding_days = 60 AND story = '新故事'",
                                       (long long)id)),
                     1);
}

/* Objects of another shop answer 404, not 403, and nothing changes. */
static void others_get_404(void **state)
{
    (void)state;
    int64_t id = walnut();
    int64_t updated =
        db_scalar(&S, fmt("SELECT updated_at FROM shops WHERE id = %lld", (long long)id));
    char p[64], staff[80];
    snprintf(p, sizeof p, "/api/v1/shops/%lld", (long long)id);
    snprintf(staff, sizeof staff, "/api/v1/shops/%lld/staff", (long long)id);
    refused(&S, "PATCH", p, stranger, "{\"name\":\"Hijacked\"}", 404, "not_found", NULL);
    /* even a malformed body from a stranger learns nothing but 404 */
    refused(&S, "PATCH", p, stranger, "{\"nonsense\":1}", 404, "not_found", NULL);
    refused(&S, "GET", staff, stranger, NULL, 404, "not_found", NULL);
    refused(&S, "POST", staff, stranger, fmt("{\"user_id\":%lld}", (long long)stranger_id), 404,
            "not_found", NULL);
    refused(&S, "PATCH", p, NULL, "{\"name\":\"Hijacked\"}", 401, "unauthorized", NULL);
    refused(&S, "PATCH", "/api/v1/shops/999999", owner, "{\"name\":\"Ghost\"}", 404, "not_found",
            NULL);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT updated_at FROM shops WHERE id = %lld", (long long)id)), updated);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM shop_roles WHERE shop_id = %lld", (long long)id)),
        1);
}

static void staff_run_the_shop_but_not_its_staff(void **state)
{
    (void)state;
    int64_t id = walnut();
    char p[64], staff[80];
    snprintf(p, sizeof p, "/api/v1/shops/%lld", (long long)id);
    snprintf(staff, sizeof staff, "/api/v1/shops/%lld/staff", (long long)id);
    struct resp r;
    answers(&S, "POST", staff, owner, fmt("{\"user_id\":%lld}", (long long)helper_id), 201);
    refused(&S, "POST", staff, owner, fmt("{\"user_id\":%lld}", (long long)helper_id), 409,
            "already_member", "user_id");
    refused(&S, "POST", staff, owner, "{\"user_id\":999999}", 404, "not_found", "user_id");
    refused(&S, "POST", staff, owner, "{\"user_id\":0}", 400, "out_of_range", "user_id");
    refused(&S, "POST", staff, owner, "{}", 400, "missing_field", "user_id");

    /* staff may change the profile and see staff, not manage staff */
    http(&S, "PATCH", p, helper, "{\"name\":\"山里核桃 · 老周家\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "role"), "staff");
    resp_free(&r);
    /* the money terms are the owner's: a staff member's change of them is refused whole */
    int64_t l1 = db_scalar(&S, fmt("SELECT l1_bps FROM shops WHERE id = %lld", (long long)id));
    int64_t cap =
        db_scalar(&S, fmt("SELECT buyer_cap_30d FROM shops WHERE id = %lld", (long long)id));
    assert_true(cap != 20 && l1 != 1200);
    char row_sql[200];
    snprintf(
        row_sql, sizeof row_sql,
        "SELECT COUNT(*) FROM shops WHERE id = %lld AND l1_bps = %lld AND buyer_cap_30d = %lld",
        (long long)id, (long long)l1, (long long)cap);
    assert_int_equal(db_scalar(&S, row_sql), 1);
    refused(&S, "PATCH", p, helper, "{\"buyer_cap_30d\":20,\"l1_bps\":1200}", 403, "forbidden",
            "l1_bps");
    assert_int_equal(db_scalar(&S, row_sql), 1);
    http(&S, "PATCH", p, helper, "{\"buyer_cap_30d\":20}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "buyer_cap_30d"), 20);
    resp_free(&r);
    answers(&S, "PATCH", p, owner,
            fmt("{\"buyer_cap_30d\":%lld,\"l1_bps\":%lld}", (long long)cap, (long long)l1), 200);
    assert_int_equal(db_scalar(&S, row_sql), 1);
    http(&S, "GET", staff, helper, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 2);
    resp_free(&r);
    refused(&S, "POST", staff, helper, fmt("{\"user_id\":%lld}", (long long)stranger_id), 404,
            "not_found", NULL);
    refused(&S, "DELETE", fmt("/api/v1/shops/%lld/staff/%lld", (long long)id, (long long)owner_id),
            helper, NULL, 404, "not_found", NULL);
    /* the owner cannot be removed as staff; the helper can */
    refused(&S, "DELETE", fmt("/api/v1/shops/%lld/staff/%lld", (long long)id, (long long)owner_id),
            owner, NULL, 404, "not_found", "user_id");
    answers(&S, "DELETE", fmt("/api/v1/shops/%lld/staff/%lld", (long long)id, (long long)helper_id),
            owner, NULL, 200);
    refused(&S, "PATCH", p, helper, "{\"name\":\"Gone\"}", 404, "not_found", NULL);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM shop_roles WHERE shop_id = %lld", (long long)id)),
        1);
}

/* The public profile is cached per server thread: a write is visible at once on all. */
static void reads_see_writes_at_once(void **state)
{
    (void)state;
    int64_t id = walnut();
    char p[64];
    snprintf(p, sizeof p, "/api/v1/shops/%lld", (long long)id);
    struct resp r;
    for (int round = 0; round < 3; round++) {
        char name[32];
        snprintf(name, sizeof name, "核桃 第%d版", round);
        /* fill every worker thread's cache (each request is a new connection) */
        for (int i = 0; i < 8; i++) {
            answers(&S, "GET", p, NULL, NULL, 200);
        }
        answers(&S, "PATCH", p, owner, fmt("{\"name\":\"%s\"}", name), 200);
        for (int i = 0; i < 8; i++) {
            http(&S, "GET", p, NULL, NULL, &r);
            assert_string_equal(jstr(r.json, "name"), name);
            resp_free(&r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_and_read),
        cmocka_unit_test(bad_creations_write_nothing),
        cmocka_unit_test(patch_settings_with_caps),
        cmocka_unit_test(others_get_404),
        cmocka_unit_test(staff_run_the_shop_but_not_its_staff),
        cmocka_unit_test(reads_see_writes_at_once),
    };
    return cmocka_run_group_tests(tests, up, down);
}
