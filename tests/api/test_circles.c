/*
 * Circles and contacts against a real server: opening circles, who sees
 * them and their invite codes, joining (codes, capacity, races), leaving,
 * roles, and contact requests - with refused requests writing nothing.
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

static char *owner, *stranger, *mom, *dad;
static int64_t shop, owner_id, mom_id, dad_id, stranger_id;

static int up(void **state)
{
    srv_group_up(state);
    owner = register_user(&S, "13300000001", "周师傅", &owner_id);
    stranger = register_user(&S, "13300000002", "路人", &stranger_id);
    mom = register_user(&S, "13300000003", "乐乐妈", &mom_id);
    dad = register_user(&S, "13300000004", "乐乐爸", &dad_id);
    shop = create_shop(&S, owner, "circle-shop");
    return 0;
}

static int down(void **state)
{
    free_all(owner, stranger, mom, dad);
    return srv_group_down(state);
}

static int64_t open_circle(const char *body, char *code, size_t code_len)
{
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/circles", (long long)shop), owner, body, &r);
    if (r.status != 201)
        fprintf(stderr, "open circle: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    if (code)
        snprintf(code, code_len, "%s", jstr(r.json, "invite_code"));
    resp_free(&r);
    return id;
}

static long join(const char *token, const char *code, struct resp *r)
{
    return http(&S, "POST", "/api/v1/circles/join", token, fmt("{\"invite_code\":\"%s\"}", code),
                r);
}

static void open_join_and_see(void **state)
{
    (void)state;
    char code[16];
    int64_t id = open_circle("{\"name\":\"阳光小区宝妈群\",\"kind\":\"parents\","
                             "\"tags\":{\"parenting\":0.9,\"早教\":0.5}}",
                             code, sizeof code);
    assert_int_equal(strlen(code), 8);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT member_count FROM circles WHERE id = %lld", (long long)id)),
        1); /* the owner */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/circles/%lld", (long long)id);
    struct resp r;
    /* strangers do not see it at all */
    refused(&S, "GET", path, stranger, NULL, 404, "not_found", NULL);
    /* join with the code as people type it: lower case, with a dash */
    char typed[16];
    for (int i = 0; i < 8; i++)
        typed[i + (i >= 4)] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]);
    typed[4] = '-';
    typed[9] = '\0';
    assert_int_equal(join(mom, typed, &r), 201);
    assert_int_equal(jint(r.json, "id"), id);
    assert_string_equal(jstr(r.json, "my_role"), "member");
    assert_null(jget(r.json, "invite_code")); /* members do not hand out the code */
    assert_int_equal(jint(r.json, "member_count"), 2);
    assert_non_null(jget(r.json, "tags.母婴"));
    resp_free(&r);
    assert_int_equal(join(mom, code, &r), 409);
    assert_string_equal(jstr(r.json, "error.code"), "already_member");
    resp_free(&r);
    assert_int_equal(join(mom, "ZZZZZZZZ", &r), 404);
    resp_free(&r);
    assert_int_equal(join(mom, "AB$%CDEF", &r), 404);
    resp_free(&r);
    assert_int_equal(join(mom, "ABCDEFGHJKMNPQ", &r), 404);
    resp_free(&r);
    refused(&S, "POST", "/api/v1/circles/join", mom, "{}", 400, "missing_field", "invite_code");
    /* members see it and its members; the owner sees the code */
    answers(&S, "GET", path, mom, NULL, 200);
    http(&S, "GET", fmt("%s/members", path), mom, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 2);
    assert_string_equal(jstr(r.json, "items.0.role"), "owner");
    resp_free(&r);
    refused(&S, "GET", fmt("%s/members?limit=0", path), mom, NULL, 400, "out_of_range", "limit");
    refused(&S, "GET", fmt("%s/members", path), stranger, NULL, 404, "not_found", NULL);
    http(&S, "GET", path, owner, NULL, &r);
    assert_string_equal(jstr(r.json, "invite_code"), code);
    resp_free(&r);
    /* the member's own list, across shops */
    http(&S, "GET", "/api/v1/me/circles", mom, NULL, &r);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    resp_free(&r);

    /* rotating the code retires the old one */
    refused(&S, "POST", fmt("%s/invite-code", path), mom, NULL, 404, "not_found", NULL);
    http(&S, "POST", fmt("%s/invite-code", path), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    char fresh[16];
    snprintf(fresh, sizeof fresh, "%s", jstr(r.json, "invite_code"));
    resp_free(&r);
    assert_int_equal(join(dad, code, &r), 404);
    resp_free(&r);
    assert_int_equal(join(dad, fresh, &r), 201);
    resp_free(&r);

    /* roles: the owner stays owner; an admin may remove members */
    answers(&S, "PATCH", fmt("%s/members/%lld", path, (long long)mom_id), owner,
            "{\"role\":\"admin\"}", 200);
    refused(&S, "PATCH", fmt("%s/members/%lld", path, (long long)dad_id), owner,
            "{\"role\":\"owner\"}", 400, "invalid_value", "role");
    refused(&S, "PATCH", path, owner, "{\"kind\":\"pyramid\"}", 400, "invalid_value", "kind");
    refused(&S, "PATCH", path, owner, "{\"name\":\"\"}", 400, "invalid_value", "name");
    refused(&S, "PATCH", fmt("%s/members/%lld", path, (long long)owner_id), owner,
            "{\"role\":\"member\"}", 409, "conflict", "user_id");
    http(&S, "PATCH", fmt("%s/members/%lld", path, (long long)dad_id), mom, "{\"role\":\"admin\"}",
         &r); /* admins do not make admins */
    expect_error(&r, 404, "not_found", NULL);
    resp_free(&r);
    answers(&S, "DELETE", fmt("%s/members/%lld", path, (long long)dad_id), mom, NULL, 200);
    /* leaving; the owner cannot */
    refused(&S, "POST", fmt("%s/leave", path), owner, NULL, 409, "conflict", NULL);
    answers(&S, "POST", fmt("%s/leave", path), mom, NULL, 200);
    refused(&S, "POST", fmt("%s/leave", path), mom, NULL, 404, "not_found", NULL);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT member_count FROM circles WHERE id = %lld", (long long)id)), 1);
    assert_int_equal(db_scalar(&S,
                               "SELECT COUNT(*) FROM circles c WHERE member_count <>"
                               " (SELECT COUNT(*) FROM circle_members m WHERE m.circle_id = c.id)"),
                     0);
}

static void bad_circles_write_nothing(void **state)
{
    (void)state;
    int64_t before = db_scalar(&S, "SELECT COUNT(*) FROM circles");
    const struct bad_case bad[] = {
        {"{\"kind\":\"parents\"}", "missing_field", "name"},
        {"{\"name\":\"x\"}", "missing_field", "kind"},
        {"{\"name\":\"x\",\"kind\":\"mlm\"}", "invalid_value", "kind"},
        {"{\"name\":\"x\",\"kind\":\"other\",\"capacity\":501}", "out_of_range", "capacity"},
        {"{\"name\":\"x\",\"kind\":\"other\",\"capacity\":1}", "out_of_range", "capacity"},
        {"{\"name\":\"x\",\"kind\":\"other\",\"capacity\":\"10\"}", "wrong_type", "capacity"},
        {"{\"name\":\"x\",\"kind\":\"other\",\"invite_code\":\"AAAA\"}", "unknown_field",
         "invite_code"},
    };
    struct resp r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http(&S, "POST", fmt("/api/v1/shops/%lld/circles", (long long)shop), owner, bad[i].body,
             &r);
        expect_error(&r, 400, bad[i].code, bad[i].field);
        resp_free(&r);
    }
    refused(&S, "POST", fmt("/api/v1/shops/%lld/circles", (long long)shop), stranger,
            "{\"name\":\"x\",\"kind\":\"other\"}", 404, "not_found", NULL);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/circles", (long long)shop), stranger, NULL, 404,
            "not_found", NULL);
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM circles"), before);
}

/* 20 members race for the 9 free seats of a circle of 10: exactly 9 get in. */
static void capacity_holds_under_a_race(void **state)
{
    (void)state;
    char code[16];
    int64_t id =
        open_circle("{\"name\":\"跑团\",\"kind\":\"fitness\",\"capacity\":10}", code, sizeof code);
    enum { N = 20 };
    char *tokens[N];
    struct call x[N];
    const char *body = strdup(fmt("{\"invite_code\":\"%s\"}", code));
    for (int i = 0; i < N; i++) {
        tokens[i] = register_user(&S, fmt("1320000%04d", i), fmt("邻居%d", i), NULL);
        x[i] = (struct call){
            .method = "POST", .path = "/api/v1/circles/join", .token = tokens[i], .body = body};
    }
    http_all(&S, x, N);
    assert_int_equal(count_answers(x, N, 201, NULL), 9);
    assert_int_equal(count_answers(x, N, 409, "circle_full"), N - 9);
    for (int i = 0; i < N; i++)
        free(tokens[i]);
    free((void *)body);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM circle_members WHERE circle_id = %lld",
                                       (long long)id)),
                     10);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT member_count FROM circles WHERE id = %lld", (long long)id)), 10);
    /* and it cannot shrink below its members */
    refused(&S, "PATCH", fmt("/api/v1/circles/%lld", (long long)id), owner, "{\"capacity\":9}", 400,
            "out_of_range", "capacity");
}

static void contacts(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "POST", "/api/v1/me/contacts", mom, fmt("{\"user_id\":%lld}", (long long)dad_id), &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "state"), "outgoing");
    resp_free(&r);
    refused(&S, "POST", "/api/v1/me/contacts", mom, fmt("{\"user_id\":%lld}", (long long)dad_id),
            409, "already_contact", "user_id");
    http(&S, "GET", "/api/v1/me/contacts", dad, NULL, &r);
    assert_string_equal(jstr(r.json, "items.0.state"), "incoming");
    resp_free(&r);
    /* only the one asked can accept */
    refused(&S, "POST", fmt("/api/v1/me/contacts/%lld/accept", (long long)dad_id), mom, NULL, 404,
            "not_found", "user_id");
    answers(&S, "POST", fmt("/api/v1/me/contacts/%lld/accept", (long long)mom_id), dad, NULL, 200);
    http(&S, "GET", "/api/v1/me/contacts", mom, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.user_id"), dad_id);
    assert_string_equal(jstr(r.json, "items.0.state"), "accepted");
    resp_free(&r);
    /* asking someone who asked you is a yes */
    http(&S, "POST", "/api/v1/me/contacts", stranger, fmt("{\"user_id\":%lld}", (long long)mom_id),
         &r);
    assert_int_equal(r.status, 201); /* a set-up call did its part */
    resp_free(&r);
    http(&S, "POST", "/api/v1/me/contacts", mom, fmt("{\"user_id\":%lld}", (long long)stranger_id),
         &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "state"), "accepted");
    resp_free(&r);
    /* refused: yourself, nobody, bad types - nothing written */
    int64_t rows = db_scalar(&S, "SELECT COUNT(*) FROM contacts");
    refused(&S, "POST", "/api/v1/me/contacts", mom, fmt("{\"user_id\":%lld}", (long long)mom_id),
            400, "invalid_value", "user_id");
    refused(&S, "POST", "/api/v1/me/contacts", mom, "{\"user_id\":999999}", 404, "not_found",
            "user_id");
    refused(&S, "POST", "/api/v1/me/contacts", mom, "{\"user_id\":\"3\"}", 400, "wrong_type",
            "user_id");
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM contacts"), rows);
    /* removing */
    answers(&S, "DELETE", fmt("/api/v1/me/contacts/%lld", (long long)mom_id), stranger, NULL, 200);
    refused(&S, "DELETE", fmt("/api/v1/me/contacts/%lld", (long long)mom_id), stranger, NULL, 404,
            "not_found", "user_id");
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM contacts"), rows - 1);
}

/* A member's contacts come a page at a time, by user id, the cursor continuing where the page
 * ended: a member may have up to LIMIT_CONTACTS of them. */
static void contacts_are_paged(void **state)
{
    (void)state;
    enum { N = 5 };
    int64_t hub_id = 0, ids[N];
    char *hub = register_user(&S, "13500000000", "多友", &hub_id);
    char *askers[N];
    for (int i = 0; i < N; i++) {
        askers[i] = register_user(&S, fmt("1350000000%d", i + 1), fmt("友%d", i), &ids[i]);
        answers(&S, "POST", "/api/v1/me/contacts", askers[i],
                fmt("{\"user_id\":%lld}", (long long)hub_id), 201);
    }
    char cursor[128] = "";
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        struct resp r;
        http(&S, "GET", fmt("/api/v1/me/contacts?limit=2%s%s", *cursor ? "&cursor=" : "", cursor),
             hub, NULL, &r);
        assert_int_equal(r.status, 200);
        size_t n = json_array_size(jget(r.json, "items"));
        assert_int_equal(n, page < 2 ? 2 : 1);
        for (size_t i = 0; i < n; i++, seen++) {
            assert_int_equal(jint(r.json, fmt("items.%zu.user_id", i)), ids[seen]);
            assert_string_equal(jstr(r.json, fmt("items.%zu.state", i)), "incoming");
        }
        const char *next = jstr(r.json, "next_cursor");
        if (page < 2) {
            assert_non_null(next);
            snprintf(cursor, sizeof cursor, "%s", next);
        } else {
            assert_null(next);
        }
        resp_free(&r);
    }
    assert_int_equal(seen, N);
    refused(&S, "GET", "/api/v1/me/contacts?cursor=nonsense", hub, NULL, 400, "invalid_value",
            "cursor");
    refused(&S, "GET", "/api/v1/me/contacts?limit=0", hub, NULL, 400, "out_of_range", "limit");
    for (int i = 0; i < N; i++)
        free(askers[i]);
    free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_join_and_see),           cmocka_unit_test(bad_circles_write_nothing),
        cmocka_unit_test(capacity_holds_under_a_race), cmocka_unit_test(contacts),
        cmocka_unit_test(contacts_are_paged),
    };
    return cmocka_run_group_tests(tests, up, down);
}
