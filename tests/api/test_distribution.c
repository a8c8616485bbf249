/*
 * Two-level distribution against a real server, one test per RULE (the tag
 * is in each test's comment): experience before promoting, two levels and no
 * further, no invite cycles, no fees and no pay for recruiting, the level-2
 * active-seller condition, rate caps and rounding, no self-commission, the
 * personal-use cap, customer binding, pending-then-settled, clawback (also
 * below zero after a payout), withdrawals and their race, the audit, bad
 * input and who may see what. Every test file ends with `quanzi ledger check`
 * (the harness), so each of these also proves the ledger balanced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "db/db.h"
#include "harness.h"

#define DAY 86400000LL
#define ADDR                                                                                       \
    "\"address\":{\"name\":\"张三\",\"phone\":\"13800000000\",\"region\":\"上海市\","         \
    "\"line\":\"梧桐路1号\"}"

/* The audit's finding `name` (by name: their order may change); fails when there is none. */
static json_t *finding(json_t *audit_json, const char *name)
{
    json_t *list = json_object_get(audit_json, "findings");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *f = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            return f;
    }
    fail_msg("the audit has no finding %s", name);
    return NULL;
}

static char *owner, *outsider;
static int64_t shop, walnut, gift, trial_product;
static int seq; /* logins and idempotency keys */

struct member {
    char *token;
    int64_t user_id;
};

struct promoter {
    struct member m;
    int64_t id;
    char code[16];
    char ref[64];
};

static struct member member(const char *name)
{
    struct member m;
    char login[32];
    snprintf(login, sizeof login, "1390000%04d", ++seq);
    m.token = register_user(&S, login, name, &m.user_id);
    return m;
}

/* expect_error(), then the answer is done with */
static void expect_err(struct resp *r, long status, const char *code, const char *field)
{
    expect_error(r, status, code, field);
    resp_free(r);
}

static void advance(long long ms)
{
    answers(&S, "POST", "/api/v1/test-clock", owner, fmt("{\"advance_ms\":%lld}", ms), 200);
}

static int64_t product(const char *json)
{
    return create(&S, fmt("/api/v1/shops/%lld/products", (long long)shop), owner, json);
}

static int up(void **state)
{
    (void)state;
    /* the tests move the clock by months: sessions must outlive that */
    const char *extra[] = {"--session-days", "365", "--max-connections-per-ip", "1000", NULL};
    srv_start(&S, extra);
    owner = register_user(&S, "13600000001", "核桃店主", NULL);
    outsider = register_user(&S, "13600000002", "别家店主", NULL);
    shop = create_shop(&S, owner, "dist-shop");
    create_shop(&S, outsider, "dist-other");
    answers(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
            "{\"promoter_auto_approve\":true,\"buyer_cap_30d\":10}", 200);
    walnut =
        product("{\"title\":\"核桃\",\"price_fen\":10000,\"stock\":100000,\"status\":\"on_sale\"}");
    gift = product("{\"title\":\"礼盒\",\"price_fen\":999,\"stock\":100000,\"status\":\"on_sale\","
                   "\"l1_bps\":2000,\"l2_bps\":1000}");
    trial_product = product("{\"title\":\"试吃装\",\"price_fen\":100,\"stock\":1000,"
                            "\"status\":\"on_sale\",\"trial_available\":true}");
    return 0;
}

static int down(void **state)
{
    free_all(owner, outsider);
    return srv_group_down(state);
}

/* Orders (one line or two) and returns the order id; `share` may be NULL. */
static int64_t order_lines(const struct member *b, int64_t p1, int64_t q1, int64_t p2, int64_t q2,
                           const char *share)
{
    char key[48], items[160], body[600];
    snprintf(key, sizeof key, "Idempotency-Key: dist-%d", ++seq);
    if (p2)
        snprintf(items, sizeof items,
                 "[{\"product_id\":%lld,\"qty\":%lld},{\"product_id\":%lld,\"qty\":%lld}]",
                 (long long)p1, (long long)q1, (long long)p2, (long long)q2);
    else
        snprintf(items, sizeof items, "[{\"product_id\":%lld,\"qty\":%lld}]", (long long)p1,
                 (long long)q1);
    snprintf(body, sizeof body, "{\"shop_id\":%lld,\"items\":%s%s%s%s," ADDR "}", (long long)shop,
             items, share ? ",\"share_token\":\"" : "", share ? share : "", share ? "\"" : "");
    const char *h[] = {key, NULL};
    struct resp r;
    http_ex(&S, "POST", "/api/v1/orders", b->token, body, h, &r);
    if (r.status != 201)
        fprintf(stderr, "order: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    resp_free(&r);
    return id;
}

static int64_t order(const struct member *b, int64_t product_id, int64_t qty, const char *share)
{
    return order_lines(b, product_id, qty, 0, 0, share);
}

#define act(token, path, body, status) answers(&S, "POST", (path), (token), (body), (status))

static void pay(int64_t id)
{
    act(owner, fmt("/api/v1/orders/%lld/confirm-payment", (long long)id), NULL, 200);
}

static void deliver(int64_t id, const struct member *b)
{
    act(owner, fmt("/api/v1/orders/%lld/ship", (long long)id),
        "{\"carrier\":\"顺丰\",\"tracking\":\"SF100\"}", 200);
    act(b->token, fmt("/api/v1/orders/%lld/receive", (long long)id), NULL, 200);
}

/* A paid order of one walnut (10000 fen) through `share`. */
static int64_t sale(const char *share)
{
    struct member c = member("顾客");
    int64_t id = order(&c, walnut, 1, share);
    pay(id);
    free(c.token);
    return id;
}

static void refund(const struct member *b, int64_t order_id, int64_t amount)
{
    struct resp r;
    http(&S, "POST", fmt("/api/v1/orders/%lld/refunds", (long long)order_id), b->token,
         fmt("{\"amount_fen\":%lld,\"reason\":\"不想要了\"}", (long long)amount), &r);
    assert_int_equal(r.status, 201);
    int64_t rid = jint(r.json, "refund_id");
    resp_free(&r);
    act(owner, fmt("/api/v1/refunds/%lld/approve", (long long)rid), NULL, 200);
}

/* Applies with `code` (may be NULL); the answer's status. */
static long apply(const struct member *m, const char *code, struct resp *r)
{
    return http(&S, "POST", fmt("/api/v1/shops/%lld/promoters", (long long)shop), m->token,
                code ? fmt("{\"invite_code\":\"%s\"}", code) : NULL, r);
}

static void grant_trial(const struct member *m)
{
    act(owner, fmt("/api/v1/shops/%lld/trials", (long long)shop),
        fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)m->user_id,
            (long long)trial_product),
        201);
}

/* A new member who got a trial and became a promoter, invited by `inviter` (or nobody). */
static struct promoter promoter(const char *name, const struct promoter *inviter)
{
    struct promoter p;
    struct resp r;
    p.m = member(name);
    grant_trial(&p.m);
    apply(&p.m, inviter ? inviter->code : NULL, &r);
    if (r.status != 201)
        fprintf(stderr, "apply: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "status"), "active");
    p.id = jint(r.json, "id");
    snprintf(p.code, sizeof p.code, "%s", jstr(r.json, "invite_code"));
    snprintf(p.ref, sizeof p.ref, "%s", jstr(r.json, "ref_token"));
    if (inviter)
        assert_int_equal(jint(r.json, "inviter_id"), inviter->id);
    resp_free(&r);
    return p;
}

static int64_t commission(int64_t order_id, int level, const char *col)
{
    return db_scalar(&S, fmt("SELECT COALESCE(MAX(%s), -1) FROM commissions WHERE order_id = %lld"
                             " AND level = %d",
                             col, (long long)order_id, level));
}

static int64_t balance(const struct member *m, const char *field)
{
    struct resp r;
    http(&S, "GET", fmt("/api/v1/me/balance?shop_id=%lld", (long long)shop), m->token, NULL, &r);
    assert_int_equal(r.status, 200);
    int64_t v = jint(r.json, field);
    resp_free(&r);
    return v;
}

/* RULE: EXPERIENCE-FIRST - a delivered order or a trial first; review when the shop asks. */
static void experience_first(void **state)
{
    (void)state;
    struct resp r;
    struct member u = member("新人");
    apply(&u, NULL, &r);
    expect_err(&r, 403, "experience_required", NULL);
    int64_t id = order(&u, walnut, 1, NULL);
    pay(id);
    apply(&u, NULL, &r); /* paid is not experienced */
    expect_err(&r, 403, "experience_required", NULL);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM promoters WHERE user_id = %lld",
                                       (long long)u.user_id)),
                     0);
    deliver(id, &u);
    apply(&u, NULL, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "status"), "active");
    /* the income disclosure comes with the application */
    assert_int_equal(jint(r.json, "rates.l1_bps"), 1000);
    assert_int_equal(jint(r.json, "rates.entry_fee_fen"), 0);
    assert_int_equal(jint(r.json, "rates.products.0.product_id"), gift);
    resp_free(&r);
    apply(&u, NULL, &r);
    expect_err(&r, 409, "already_promoter", NULL);

    /* and before applying, to anyone */
    http(&S, "GET", fmt("/api/v1/shops/%lld/promoter-terms", (long long)shop), NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "l2_bps"), 500);
    assert_true(json_is_false(jget(r.json, "pays_for_recruiting")));
    resp_free(&r);

    /* trials: only of a product that offers one, once, to a member who exists */
    struct member t = member("试用者");
    http(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
         fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)t.user_id, (long long)walnut),
         &r);
    expect_err(&r, 422, "unprocessable", "product_id");
    http(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
         fmt("{\"user_id\":999999,\"product_id\":%lld}", (long long)trial_product), &r);
    expect_err(&r, 404, "not_found", "user_id");
    grant_trial(&t);
    http(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
         fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)t.user_id,
             (long long)trial_product),
         &r);
    expect_err(&r, 409, "conflict", "user_id");
    apply(&t, NULL, &r);
    assert_int_equal(r.status, 201);
    resp_free(&r);

    /* a shop that reviews: pending until approved, and a pending link attributes nothing */
    http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
         "{\"promoter_auto_approve\":false}", &r);
    assert_int_equal(r.status, 200); /* a set-up call did its part */
    resp_free(&r);
    struct member w = member("待审");
    grant_trial(&w);
    apply(&w, NULL, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "status"), "pending");
    int64_t pid = jint(r.json, "id");
    char ref[64];
    snprintf(ref, sizeof ref, "%s", jstr(r.json, "ref_token"));
    resp_free(&r);
    int64_t o = sale(ref);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld AND"
                                       " promoter_id IS NULL",
                                       (long long)o)),
                     1);
    act(owner, fmt("/api/v1/promoters/%lld/approve", (long long)pid), NULL, 200);
    act(owner, fmt("/api/v1/promoters/%lld/approve", (long long)pid), NULL, 409);
    o = sale(ref);
    assert_int_equal(commission(o, 1, "promoter_id"), pid);
    /* suspended: the link leads nowhere and attributes nothing */
    act(owner, fmt("/api/v1/promoters/%lld/suspend", (long long)pid), NULL, 200);
    http(&S, "GET", fmt("/api/v1/s/%s", ref), NULL, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    o = sale(ref);
    assert_int_equal(commission(o, 1, "promoter_id"), -1);
    http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
         "{\"promoter_auto_approve\":true}", &r);
    assert_int_equal(r.status, 200); /* a set-up call did its part */
    resp_free(&r);
    free(u.token);
    free(t.token);
    free(w.token);
}

/* RULE: TWO-LEVELS - a chain A->B->C->D: a sale through D pays D and C only. */
static void two_levels_chain(void **state)
{
    (void)state;
    struct promoter a = promoter("甲", NULL);
    struct promoter b = promoter("乙", &a);
    struct promoter c = promoter("丙", &b);
    struct promoter d = promoter("丁", &c);
    /* everyone upstream is an active seller: that is not why they earn nothing */
    sale(a.ref);
    sale(b.ref);
    sale(c.ref);
    int64_t o = sale(d.ref);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM commissions WHERE order_id = %lld", (long long)o)),
        2);
    assert_int_equal(commission(o, 1, "promoter_id"), d.id);
    assert_int_equal(commission(o, 1, "amount_fen"), 1000); /* 10% of 10000 */
    assert_int_equal(commission(o, 2, "promoter_id"), c.id);
    assert_int_equal(commission(o, 2, "amount_fen"), 500); /* 5% */
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM commissions WHERE order_id = %lld"
                                       " AND promoter_id IN (%lld, %lld)",
                                       (long long)o, (long long)a.id, (long long)b.id)),
                     0);
    /* A earned only on A's own sale, B on B's own sale and C's (as C's inviter) */
    assert_int_equal(balance(&a.m, "pending_fen"), 1000 + 500);
    assert_int_equal(balance(&b.m, "pending_fen"), 1000 + 500);
    assert_int_equal(balance(&c.m, "pending_fen"), 1000 + 500);
    assert_int_equal(balance(&d.m, "pending_fen"), 1000);
    /* the team is one level down: B sees C, not D */
    struct resp r;
    http(&S, "GET", fmt("/api/v1/me/promoter?shop_id=%lld", (long long)shop), b.m.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "team")), 1);
    assert_int_equal(jint(r.json, "team.0.id"), c.id);
    assert_int_equal(jint(r.json, "team.0.orders"), 1);
    assert_string_equal(jstr(r.json, "invite_code"), b.code);
    assert_int_equal(jint(r.json, "balance.pending_fen"), 1500);
    resp_free(&r);
    /* nothing in the schema reaches further up than one inviter */
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM commissions WHERE level NOT IN (1, 2)"),
                     0);
    free(a.m.token);
    free(b.m.token);
    free(c.m.token);
    free(d.m.token);
}

/* RULE: NO-CYCLES / NO-SELF - your own code, or anyone in your own line, is refused. */
static void no_cycles(void **state)
{
    (void)state;
    struct resp r;
    struct promoter e = promoter("戊", NULL);
    struct promoter f = promoter("己", &e);
    struct promoter g = promoter("庚", &f);
    int64_t events = db_scalar(&S, "SELECT COUNT(*) FROM audit_events");
    apply(&e.m, e.code, &r);
    expect_err(&r, 422, "self_invite", "invite_code");
    apply(&e.m, g.code, &r); /* G was invited by F, whom E invited */
    expect_err(&r, 422, "invite_cycle", "invite_code");
    apply(&e.m, f.code, &r);
    expect_err(&r, 422, "invite_cycle", "invite_code");
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM promoters WHERE id = %lld AND"
                                       " inviter_id IS NULL",
                                       (long long)e.id)),
                     1);
    /* the refusals are kept for the audit */
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM audit_events") - events, 3);
    /* someone outside the line may still become E's inviter, once */
    struct promoter h = promoter("辛", NULL);
    apply(&e.m, h.code, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "inviter_id"), h.id);
    resp_free(&r);
    apply(&e.m, g.code, &r);
    expect_err(&r, 409, "already_promoter", "invite_code");
    apply(&f.m, h.code, &r); /* F has an inviter */
    expect_err(&r, 409, "already_promoter", "invite_code");
    apply(&e.m, "NOSUCHCODE", &r);
    expect_err(&r, 404, "not_found", "invite_code");
    free(e.m.token);
    free(f.m.token);
    free(g.m.token);
    free(h.m.token);
}

/* RULE: NO-ENTRY-FEE / NO-HEADCOUNT - joining costs nothing, inviting earns nothing. */
static void no_fee_no_headcount(void **state)
{
    (void)state;
    int64_t txns = db_scalar(&S, "SELECT COUNT(*) FROM ledger_txns");
    struct promoter boss = promoter("招募者", NULL);
    struct promoter x1 = promoter("下线一", &boss);
    struct promoter x2 = promoter("下线二", &boss);
    struct promoter x3 = promoter("下线三", &boss);
    /* four applications and three invitations moved no money at all */
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM ledger_txns"), txns);
    assert_int_equal(balance(&boss.m, "pending_fen"), 0);
    assert_int_equal(balance(&boss.m, "available_fen"), 0);
    struct resp r;
    http(&S, "GET", fmt("/api/v1/shops/%lld/audit", (long long)shop), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(finding(r.json, "recruiting_commission_fen"), "value"), 0);
    assert_int_equal(jint(finding(r.json, "entry_fees_fen"), "value"), 0);
    resp_free(&r);
    free(boss.m.token);
    free(x1.m.token);
    free(x2.m.token);
    free(x3.m.token);
}

/* RULE: L2-ACTIVE-SELLER - the inviter earns level 2 only with a recent sale of their own. */
static void l2_active_seller(void **state)
{
    (void)state;
    struct promoter p = promoter("上线", NULL);
    struct promoter q = promoter("下线", &p);
    int64_t o1 = sale(q.ref); /* P has sold nothing */
    assert_int_equal(commission(o1, 1, "amount_fen"), 1000);
    assert_int_equal(commission(o1, 2, "amount_fen"), 0);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM commissions WHERE order_id = %lld"
                                       " AND level = 2 AND status = 'withheld'",
                                       (long long)o1)),
                     1);
    assert_int_equal(balance(&p.m, "pending_fen"), 0);
    sale(p.ref); /* now P sells */
    int64_t o2 = sale(q.ref);
    assert_int_equal(commission(o2, 2, "amount_fen"), 500);
    assert_int_equal(balance(&p.m, "pending_fen"), 1000 + 500);
    advance(31 * DAY); /* P's sale is older than l2_active_days (30) */
    int64_t o3 = sale(q.ref);
    assert_int_equal(commission(o3, 1, "amount_fen"), 1000);
    assert_int_equal(commission(o3, 2, "amount_fen"), 0);
    free(p.m.token);
    free(q.m.token);
}

/* RULE: RATE-CAPS - caps on the shop and on overrides; rounding down, per the README. */
static void rate_caps_and_rounding(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
         "{\"l1_bps\":2500,\"l2_bps\":1000}", &r);
    expect_err(&r, 400, "out_of_range", "l2_bps");
    http(&S, "PATCH", fmt("/api/v1/products/%lld", (long long)gift), owner,
         "{\"l1_bps\":2000,\"l2_bps\":1500}", &r);
    expect_err(&r, 400, "out_of_range", "l2_bps");
    assert_int_equal(
        db_scalar(&S, fmt("SELECT l2_bps FROM products WHERE id = %lld", (long long)gift)), 1000);
    struct promoter p = promoter("算账", NULL);
    struct member c = member("买礼盒");
    int64_t o = order(&c, gift, 1, p.ref); /* 999 fen at the product's 20% */
    pay(o);
    assert_int_equal(commission(o, 1, "amount_fen"), 199); /* floor(199.8) */
    o = order(&c, walnut, 1, NULL);                        /* bound to P now */
    pay(o);
    assert_int_equal(commission(o, 1, "amount_fen"), 1000);
    /* two rates in one order: floor of the weighted sum, not a sum of floors */
    o = order_lines(&c, gift, 1, trial_product, 1, NULL); /* 999 at 20%, 100 at 10% */
    pay(o);
    assert_int_equal(commission(o, 1, "amount_fen"), 209); /* floor(199.8 + 10) */
    free(p.m.token);
    free(c.token);
}

/* RULE: NO-SELF-COMMISSION - through your own link, or as the inviter of your promoter. */
static void no_self_commission(void **state)
{
    (void)state;
    struct promoter s1 = promoter("自买", NULL);
    struct promoter s2 = promoter("自买的下线", &s1);
    sale(s1.ref); /* S1 is an active seller */
    int64_t before =
        db_scalar(&S, "SELECT COUNT(*) FROM audit_events WHERE kind = 'self_purchase'");
    int64_t o = order(&s1.m, walnut, 1, s1.ref);
    pay(o);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld AND"
                                       " promoter_id IS NULL",
                                       (long long)o)),
                     1);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM commissions WHERE order_id = %lld", (long long)o)),
        0);
    /* S1 buys through S2: S2 earns level 1, S1 nothing at level 2 */
    o = order(&s1.m, walnut, 1, s2.ref);
    pay(o);
    assert_int_equal(commission(o, 1, "promoter_id"), s2.id);
    assert_int_equal(commission(o, 1, "amount_fen"), 1000);
    assert_int_equal(commission(o, 2, "amount_fen"), 0);
    assert_int_equal(
        db_scalar(&S, "SELECT COUNT(*) FROM audit_events WHERE kind = 'self_purchase'") - before,
        2);
    free(s1.m.token);
    free(s2.m.token);
}

/* RULE: NO-STOCKPILING - promoters buy within the personal-use cap; the audit flags the cap. */
static void no_stockpiling(void **state)
{
    (void)state;
    struct resp r;
    struct promoter n = promoter("囤货", NULL);
    order(&n.m, walnut, 10, NULL);
    char key[48];
    snprintf(key, sizeof key, "Idempotency-Key: stock-%d", ++seq);
    const char *h[] = {key, NULL};
    http_ex(&S, "POST", "/api/v1/orders", n.m.token,
            fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}]," ADDR "}",
                (long long)shop, (long long)walnut),
            h, &r);
    expect_err(&r, 409, "quantity_cap", "items");
    http(&S, "GET", fmt("/api/v1/shops/%lld/audit", (long long)shop), owner, NULL, &r);
    bool flagged = false;
    json_t *rows = jget(finding(r.json, "promoters_over_personal_use"), "rows");
    for (size_t i = 0; i < json_array_size(rows); i++)
        flagged |=
            json_integer_value(json_object_get(json_array_get(rows, i), "promoter_id")) == n.id;
    assert_true(flagged);
    assert_true(json_is_false(jget(finding(r.json, "promoters_over_personal_use"), "ok")));
    resp_free(&r);
    free(n.m.token);
}

/* RULE: BINDING - the first link binds for binding_days; unbinding and history. */
static void binding(void **state)
{
    (void)state;
    struct resp r;
    struct promoter p1 = promoter("先到", NULL);
    struct promoter p2 = promoter("后到", NULL);
    struct member k = member("被绑定");
    http(&S, "GET", fmt("/api/v1/s/%s", p1.ref), NULL, NULL, &r); /* anonymous: no binding */
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(jget(r.json, "bound")));
    assert_int_equal(jint(r.json, "shop.id"), shop);
    resp_free(&r);
    /* reading a link binds nobody, even logged in (a cross-site page could make the visitor's
     * browser read it); the visit is a write of its own */
    http(&S, "GET", fmt("/api/v1/s/%s", p1.ref), k.token, NULL, &r);
    assert_true(json_is_false(jget(r.json, "bound")));
    resp_free(&r);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM bindings WHERE customer_id = %lld",
                                       (long long)k.user_id)),
                     0);
    http(&S, "POST", fmt("/api/v1/s/%s/visit", p1.ref), k.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(jget(r.json, "bound")));
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/s/%s", p1.ref), k.token, NULL, &r);
    assert_true(json_is_true(jget(r.json, "bound"))); /* as it now reads */
    resp_free(&r);
    http(&S, "POST", fmt("/api/v1/s/%s/visit", p2.ref), k.token, NULL, &r);
    assert_true(json_is_false(jget(r.json, "bound"))); /* the first link holds */
    resp_free(&r);
    http(&S, "POST", fmt("/api/v1/s/%s/visit", p1.ref), NULL, NULL, &r);
    expect_err(&r, 401, "unauthorized", NULL);
    http(&S, "POST", "/api/v1/s/no-such-token/visit", k.token, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "GET", fmt("/api/v1/me/binding?shop_id=%lld", (long long)shop), k.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "promoter.id"), p1.id);
    assert_non_null(jstr(r.json, "expires_at"));
    resp_free(&r);
    int64_t o = order(&k, walnut, 1, p2.ref); /* another link: the binding wins */
    assert_int_equal(
        db_scalar(&S, fmt("SELECT promoter_id FROM orders WHERE id = %lld", (long long)o)), p1.id);
    o = order(&k, walnut, 1, NULL); /* no link at all */
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)o), k.token, NULL, &r);
    assert_int_equal(jint(r.json, "attribution.promoter_id"), p1.id);
    assert_string_equal(jstr(r.json, "attribution.via"), "binding");
    resp_free(&r);
    /* P1 sees the customer */
    http(&S, "GET", fmt("/api/v1/me/promoter?shop_id=%lld", (long long)shop), p1.m.token, NULL, &r);
    assert_int_equal(jint(r.json, "customers.0.user_id"), k.user_id);
    resp_free(&r);
    /* unbind; the next link binds anew */
    http(&S, "DELETE", fmt("/api/v1/me/binding?shop_id=%lld", (long long)shop), k.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(jget(r.json, "bound")));
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/me/binding?shop_id=%lld", (long long)shop), k.token, NULL, &r);
    expect_err(&r, 404, "not_found", "shop_id");
    http(&S, "DELETE", fmt("/api/v1/me/binding?shop_id=%lld", (long long)shop), k.token, NULL, &r);
    expect_err(&r, 404, "not_found", "shop_id");
    o = order(&k, walnut, 1, p2.ref);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT promoter_id FROM orders WHERE id = %lld", (long long)o)), p2.id);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM binding_history WHERE customer_id ="
                                       " %lld",
                                       (long long)k.user_id)),
                     3); /* bound, unbound, bound */
    /* a promoter visiting through their own link binds nobody */
    http(&S, "POST", fmt("/api/v1/s/%s/visit", p1.ref), p1.m.token, NULL, &r);
    assert_true(json_is_false(jget(r.json, "bound")));
    resp_free(&r);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM bindings WHERE customer_id = %lld",
                                       (long long)p1.m.user_id)),
                     0);
    http(&S, "GET", "/api/v1/s/no-such-token", NULL, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    /* the protection period ends */
    advance(31 * DAY);
    http(&S, "GET", fmt("/api/v1/me/binding?shop_id=%lld", (long long)shop), k.token, NULL, &r);
    expect_err(&r, 404, "not_found", "shop_id");
    o = order(&k, walnut, 1, NULL);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld AND"
                                       " promoter_id IS NULL",
                                       (long long)o)),
                     1);
    free(p1.m.token);
    free(p2.m.token);
    free(k.token);
}

/* RULE: PENDING-THEN-SETTLED and RULE: CLAWBACK - before and after settlement, below zero. */
static void settle_and_clawback(void **state)
{
    (void)state;
    struct promoter w = promoter("结算", NULL);
    struct member m = member("退款顾客");
    int64_t o = order(&m, walnut, 2, w.ref); /* 20000 fen */
    pay(o);
    assert_int_equal(balance(&w.m, "pending_fen"), 2000);
    assert_int_equal(balance(&w.m, "available_fen"), 0);
    refund(&m, o, 5000); /* before settlement: pending comes down in proportion */
    assert_int_equal(balance(&w.m, "pending_fen"), 1500);
    assert_int_equal(commission(o, 1, "earned_fen"), 2000);
    deliver(o, &m);
    advance(6 * DAY); /* the return window (settle_days = 7) is still open */
    assert_int_equal(balance(&w.m, "pending_fen"), 1500);
    advance(2 * DAY);
    assert_int_equal(balance(&w.m, "pending_fen"), 0);
    assert_int_equal(balance(&w.m, "available_fen"), 1500);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM commissions WHERE order_id = %lld"
                                       " AND status = 'available' AND settled_at IS NOT NULL",
                                       (long long)o)),
                     1);
    /* an after-sales refund of the rest takes the settled commission back */
    refund(&m, o, 15000);
    assert_int_equal(balance(&w.m, "available_fen"), 0);
    assert_int_equal(commission(o, 1, "amount_fen"), 0);

    /* paid out, then refunded: the balance goes negative and later commission nets it */
    o = order(&m, walnut, 1, NULL); /* still bound to W */
    pay(o);
    deliver(o, &m);
    advance(8 * DAY);
    assert_int_equal(balance(&w.m, "available_fen"), 1000);
    struct resp r;
    http(&S, "POST", "/api/v1/me/withdrawals", w.m.token,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1000}", (long long)shop), &r);
    assert_int_equal(r.status, 201);
    int64_t wid = jint(r.json, "id");
    resp_free(&r);
    act(owner, fmt("/api/v1/withdrawals/%lld/pay", (long long)wid), "{\"reference\":\"转账 88\"}",
        200);
    assert_int_equal(balance(&w.m, "withdrawn_fen"), 1000);
    refund(&m, o, 10000);
    assert_int_equal(balance(&w.m, "available_fen"), -1000);
    o = order(&m, walnut, 1, NULL);
    pay(o);
    deliver(o, &m);
    advance(8 * DAY);
    assert_int_equal(balance(&w.m, "available_fen"), 0); /* netted, not lost, not paid twice */
    http(&S, "POST", "/api/v1/me/withdrawals", w.m.token,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1000}", (long long)shop), &r);
    expect_err(&r, 409, "insufficient_balance", "amount_fen");
    /* the commission list tells the story */
    http(&S, "GET", fmt("/api/v1/me/commissions?shop_id=%lld", (long long)shop), w.m.token, NULL,
         &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 3);
    resp_free(&r);
    /* the ledger: every transaction balances, as the owner sees it */
    http(&S, "GET", fmt("/api/v1/shops/%lld/ledger?limit=100", (long long)shop), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *items = jget(r.json, "items");
    assert_true(json_array_size(items) > 5);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *entries = json_object_get(json_array_get(items, i), "entries");
        json_int_t sum = 0;
        for (size_t j = 0; j < json_array_size(entries); j++)
            sum += json_integer_value(json_object_get(json_array_get(entries, j), "amount_fen"));
        assert_int_equal(sum, 0);
    }
    resp_free(&r);
    free(w.m.token);
    free(m.token);
}

/* Payments at once all add to the same ledger rows (the shop's, the promoter's): none is
 * refused as busy, none is lost, and confirming one payment twice at once pays once. */
static void concurrent_payments(void **state)
{
    (void)state;
    enum { N = 24 };
    struct promoter p = promoter("热门", NULL);
    struct member c[4] = {member("连买一"), member("连买二"), member("连买三"), member("连买四")};
    struct call x[N];
    char paths[N][64];
    int64_t first = 0;
    for (int i = 0; i < N; i++) { /* 20 orders of four buyers, and 4 repeats of the first */
        int64_t o = i < N - 4 ? order(&c[i % 4], walnut, 1, p.ref) : first;
        first = first ? first : o;
        snprintf(paths[i], sizeof paths[i], "/api/v1/orders/%lld/confirm-payment", (long long)o);
        x[i] = (struct call){.method = "POST", .path = paths[i], .token = owner};
    }
    http_all(&S, x, N);
    assert_int_equal(count_answers(x, N, 200, NULL), N);
    assert_int_equal(balance(&p.m, "pending_fen"), (N - 4) * 1000);
    assert_int_equal(
        db_scalar(&S, fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)first)),
        1);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM ledger_txns WHERE kind = 'order_paid'"
                                       " AND ref_id = %lld",
                                       (long long)first)),
                     1);
    free(p.m.token);
    for (int i = 0; i < 4; i++)
        free(c[i].token);
}

/* Withdrawals: minimum, balance, daily limit, approve, pay, reject, and a race of 50. */
static void withdrawals(void **state)
{
    (void)state;
    struct resp r;
    struct promoter v = promoter("提现", NULL);
    struct member c = member("大单");
    int64_t o = order(&c, walnut, 5, v.ref); /* 50000 fen: 5000 commission */
    pay(o);
    deliver(o, &c);
    advance(8 * DAY);
    assert_int_equal(balance(&v.m, "available_fen"), 5000);
    const char *path = "/api/v1/me/withdrawals";
    int64_t rows = db_scalar(&S, "SELECT COUNT(*) FROM withdrawals");
    http(&S, "POST", path, v.m.token, fmt("{\"shop_id\":%lld,\"amount_fen\":500}", (long long)shop),
         &r);
    expect_err(&r, 400, "out_of_range", "amount_fen"); /* below withdraw_min_fen (1000) */
    http(&S, "POST", path, v.m.token,
         fmt("{\"shop_id\":%lld,\"amount_fen\":6000}", (long long)shop), &r);
    expect_err(&r, 409, "insufficient_balance", "amount_fen");
    assert_int_equal(db_scalar(&S, "SELECT COUNT(*) FROM withdrawals"), rows);
    answers(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
            "{\"withdraw_daily_fen\":3000}", 200);
    http(&S, "POST", path, v.m.token,
         fmt("{\"shop_id\":%lld,\"amount_fen\":2000}", (long long)shop), &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "status"), "requested");
    int64_t w1 = jint(r.json, "id");
    resp_free(&r);
    assert_int_equal(balance(&v.m, "withdrawing_fen"), 2000);
    http(&S, "POST", path, v.m.token,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1500}", (long long)shop), &r);
    expect_err(&r, 409, "daily_limit", "amount_fen");
    act(owner, fmt("/api/v1/withdrawals/%lld/reject", (long long)w1), "{\"note\":\"信息不全\"}",
        200);
    assert_int_equal(balance(&v.m, "available_fen"), 5000); /* back */
    act(owner, fmt("/api/v1/withdrawals/%lld/reject", (long long)w1), NULL, 409);
    http(&S, "POST", path, v.m.token,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1500}", (long long)shop), &r);
    assert_int_equal(r.status, 201); /* a rejected request does not use up the day */
    int64_t w2 = jint(r.json, "id");
    resp_free(&r);
    act(owner, fmt("/api/v1/withdrawals/%lld/approve", (long long)w2), NULL, 200);
    http(&S, "POST", fmt("/api/v1/withdrawals/%lld/pay", (long long)w2), owner, "{}", &r);
    expect_err(&r, 400, "missing_field", "reference");
    act(owner, fmt("/api/v1/withdrawals/%lld/pay", (long long)w2), "{\"reference\":\"转账 1\"}",
        200);
    act(owner, fmt("/api/v1/withdrawals/%lld/approve", (long long)w2), NULL, 409);
    assert_int_equal(balance(&v.m, "withdrawn_fen"), 1500);
    assert_int_equal(balance(&v.m, "available_fen"), 3500);
    http(&S, "GET", fmt("/api/v1/shops/%lld/withdrawals", (long long)shop), owner, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.id"), w2);
    assert_string_equal(jstr(r.json, "items.0.reference"), "转账 1");
    resp_free(&r);

    /* 50 requests for the whole balance at once: exactly one gets it */
    http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
         "{\"withdraw_daily_fen\":500000}", &r);
    assert_int_equal(r.status, 200); /* a set-up call did its part */
    resp_free(&r);
    enum { N = 50 };
    struct call x[N];
    const char *all = fmt("{\"shop_id\":%lld,\"amount_fen\":3500}", (long long)shop);
    for (int i = 0; i < N; i++)
        x[i] = (struct call){.method = "POST", .path = path, .token = v.m.token, .body = all};
    http_all(&S, x, N);
    assert_int_equal(count_answers(x, N, 201, NULL), 1);
    assert_int_equal(count_answers(x, N, 409, "insufficient_balance"), N - 1);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM withdrawals WHERE promoter_id = %lld"
                                       " AND status = 'requested'",
                                       (long long)v.id)),
                     1);
    assert_int_equal(balance(&v.m, "available_fen"), 0);
    free(v.m.token);
    free(c.token);
}

/* The audit, as the API and `quanzi audit` give it. */
static void audit(void **state)
{
    (void)state;
    struct resp r;
    http(&S, "GET", fmt("/api/v1/shops/%lld/audit", (long long)shop), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(jget(r.json, "ok")));
    assert_int_equal(jint(finding(r.json, "max_chain_depth"), "value"), 2);
    /* most volume reaches consumers; self purchases blocked; invite cycles refused */
    assert_true(jint(finding(r.json, "consumer_share_bps"), "value") > 0);
    assert_true(jint(finding(r.json, "self_purchases_blocked"), "count") >= 2);
    assert_true(jint(finding(r.json, "invite_cycles_rejected"), "count") >= 3);
    assert_true(jint(finding(r.json, "max_commission_bps"), "value") <= 3000);
    resp_free(&r);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' audit --shop %lld --json --data-dir '%s' --db '%s' >/dev/null",
             getenv("QUANZI_BIN"), (long long)shop, S.dir, S.db_url);
    int status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Runs `quanzi ledger check` on the server's database; its exit status and output. */
static int ledger_check_cli(char *out, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' ledger check --data-dir '%s' --db '%s' 2>&1",
             getenv("QUANZI_BIN"), S.dir, S.db_url);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `quanzi ledger check` names what is broken, and exits non-zero. */
static void ledger_check_names_broken_rows(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(ledger_check_cli(out, sizeof out), 0);
    assert_non_null(strstr(out, "ledger check: ok (0 problems)"));
    int64_t acc = db_scalar(&S, "SELECT MIN(id) FROM ledger_accounts WHERE kind = 'pending'"
                                " AND balance_fen > 0");
    int64_t entry = db_scalar(&S, "SELECT MAX(id) FROM ledger_entries");
    int64_t c = db_scalar(&S, "SELECT MAX(id) FROM commissions WHERE amount_fen > 0");
    assert_true(acc > 0 && entry > 0 && c > 0);
    /* a cached balance off by one fen, an unbalanced entry, a commission over its rate */
    assert_int_equal(db_exec(S.db, fmt("UPDATE ledger_accounts SET balance_fen = balance_fen + 1"
                                       " WHERE id = %lld",
                                       (long long)acc)),
                     ERR_OK);
    assert_int_equal(db_exec(S.db, fmt("UPDATE ledger_entries SET amount_fen = amount_fen + 7"
                                       " WHERE id = %lld",
                                       (long long)entry)),
                     ERR_OK);
    assert_int_equal(db_exec(S.db, fmt("UPDATE commissions SET amount_fen = amount_fen + 1,"
                                       " earned_fen = earned_fen + 1 WHERE id = %lld",
                                       (long long)c)),
                     ERR_OK);
    /* a commission whose payment is not in the ledger, a cap unit counted twice */
    int64_t paid_order =
        db_scalar(&S, fmt("SELECT order_id FROM commissions WHERE id = %lld", (long long)c));
    int64_t unit = db_scalar(&S, "SELECT MAX(id) FROM buyer_cap_units");
    assert_int_equal(db_exec(S.db, fmt("UPDATE ledger_txns SET ref_id = ref_id + 1000000000"
                                       " WHERE kind = 'order_paid' AND ref_id = %lld",
                                       (long long)paid_order)),
                     ERR_OK);
    assert_int_equal(db_exec(S.db, fmt("INSERT INTO buyer_cap_units (buyer_id, product_id,"
                                       " created_at, order_id, qty) SELECT buyer_id, product_id,"
                                       " created_at, order_id, qty FROM buyer_cap_units"
                                       " WHERE id = %lld",
                                       (long long)unit)),
                     ERR_OK);
    assert_int_equal(ledger_check_cli(out, sizeof out), 1);
    assert_non_null(strstr(out, fmt("order %lld: commission %lld without the payment in the ledger",
                                    (long long)paid_order, (long long)c)));
    assert_non_null(strstr(out, "counted against the buyer's cap more than once"));
    assert_int_equal(db_exec(S.db, fmt("UPDATE ledger_txns SET ref_id = ref_id - 1000000000"
                                       " WHERE kind = 'order_paid' AND ref_id = %lld",
                                       (long long)paid_order + 1000000000)),
                     ERR_OK);
    assert_int_equal(
        db_exec(S.db, fmt("DELETE FROM buyer_cap_units WHERE id > %lld", (long long)unit)), ERR_OK);
    assert_non_null(strstr(out, fmt("ledger account %lld: cached balance", (long long)acc)));
    assert_non_null(strstr(out, "entries sum to 7 fen, not 0"));
    assert_non_null(strstr(out, fmt("commission %lld of order", (long long)c)));
    assert_non_null(strstr(out, "ledger check: FAILED"));
    /* put it back: the harness checks the ledger once more at the end */
    assert_int_equal(db_exec(S.db, fmt("UPDATE ledger_accounts SET balance_fen = balance_fen - 1"
                                       " WHERE id = %lld",
                                       (long long)acc)),
                     ERR_OK);
    assert_int_equal(db_exec(S.db, fmt("UPDATE ledger_entries SET amount_fen = amount_fen - 7"
                                       " WHERE id = %lld",
                                       (long long)entry)),
                     ERR_OK);
    assert_int_equal(db_exec(S.db, fmt("UPDATE commissions SET amount_fen = amount_fen - 1,"
                                       " earned_fen = earned_fen - 1 WHERE id = %lld",
                                       (long long)c)),
                     ERR_OK);
    assert_int_equal(ledger_check_cli(out, sizeof out), 0);
}

/* Bad input changes nothing; another shop's money is not there (404). */
static void bad_input_and_authorization(void **state)
{
    (void)state;
    struct resp r;
    int64_t before = db_scalar(&S, "SELECT (SELECT COUNT(*) FROM withdrawals) * 1000 +"
                                   " (SELECT COUNT(*) FROM promoters)");
    http(&S, "GET", fmt("/api/v1/shops/%lld/ledger", (long long)shop), outsider, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "GET", fmt("/api/v1/shops/%lld/audit", (long long)shop), outsider, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "GET", fmt("/api/v1/shops/%lld/promoters", (long long)shop), outsider, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "GET", "/api/v1/me/balance", outsider, NULL, &r);
    expect_err(&r, 400, "missing_field", "shop_id");
    http(&S, "GET", "/api/v1/me/balance?shop_id=abc", outsider, NULL, &r);
    expect_err(&r, 400, "invalid_value", "shop_id");
    http(&S, "GET", fmt("/api/v1/me/balance?shop_id=%lld", (long long)shop), outsider, NULL, &r);
    expect_err(&r, 404, "not_found", "shop_id");
    http(&S, "GET", fmt("/api/v1/me/promoter?shop_id=%lld", (long long)shop), outsider, NULL, &r);
    expect_err(&r, 404, "not_found", "shop_id");
    http(&S, "POST", "/api/v1/me/withdrawals", outsider,
         fmt("{\"shop_id\":%lld,\"amount_fen\":\"x\"}", (long long)shop), &r);
    expect_err(&r, 400, "wrong_type", "amount_fen");
    http(&S, "POST", "/api/v1/me/withdrawals", outsider, fmt("{\"shop_id\":%lld}", (long long)shop),
         &r);
    expect_err(&r, 400, "missing_field", "amount_fen");
    http(&S, "POST", "/api/v1/me/withdrawals", outsider,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1000,\"to\":\"me\"}", (long long)shop), &r);
    expect_err(&r, 400, "unknown_field", "to");
    http(&S, "POST", "/api/v1/me/withdrawals", outsider,
         fmt("{\"shop_id\":%lld,\"amount_fen\":1000}", (long long)shop), &r);
    expect_err(&r, 404, "not_found", "shop_id");
    http(&S, "POST", fmt("/api/v1/shops/%lld/promoters", (long long)shop), outsider,
         "{\"invite_code\":5}", &r);
    expect_err(&r, 400, "wrong_type", "invite_code");
    http(&S, "POST", fmt("/api/v1/shops/%lld/promoters", (long long)shop), outsider,
         "{\"invite_code\":\"\"}", &r);
    expect_err(&r, 400, "invalid_value", "invite_code");
    http(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
         "{\"user_id\":0,\"product_id\":1}", &r);
    expect_err(&r, 400, "out_of_range", "user_id");
    http(&S, "POST", "/api/v1/shops/999999/promoters", outsider, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "GET", "/api/v1/me/commissions?shop_id=0", outsider, NULL, &r);
    expect_err(&r, 400, "invalid_value", "shop_id");
    http(&S, "GET", "/api/v1/me/binding", outsider, NULL, &r);
    expect_err(&r, 400, "missing_field", "shop_id");
    http(&S, "GET", "/api/v1/me/withdrawals", outsider, NULL, &r);
    expect_err(&r, 400, "missing_field", "shop_id");
    http(&S, "GET", fmt("/api/v1/me/withdrawals?shop_id=%lld", (long long)shop), outsider, NULL,
         &r);
    expect_err(&r, 404, "not_found", "shop_id");
    http(&S, "GET", fmt("/api/v1/shops/%lld/ledger?limit=0", (long long)shop), owner, NULL, &r);
    expect_err(&r, 400, "out_of_range", "limit");
    http(&S, "GET", fmt("/api/v1/shops/%lld/promoters?cursor=nope", (long long)shop), owner, NULL,
         &r);
    expect_err(&r, 400, "invalid_value", "cursor");
    http(&S, "GET", "/api/v1/shops/999999/promoter-terms", NULL, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "GET", "/api/v1/me/commissions?limit=500", outsider, NULL, &r);
    expect_err(&r, 400, "out_of_range", "limit");
    http(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
         fmt("{\"user_id\":1,\"product_id\":%lld,\"extra\":1}", (long long)trial_product), &r);
    expect_err(&r, 400, "unknown_field", "extra");
    int64_t other_product = db_scalar(&S, "SELECT COUNT(*) FROM products") + 1000;
    http(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
         fmt("{\"user_id\":1,\"product_id\":%lld}", (long long)other_product), &r);
    expect_err(&r, 404, "not_found", "product_id");
    int64_t w = db_scalar(&S, "SELECT MAX(id) FROM withdrawals WHERE status = 'requested'");
    assert_true(w > 0);
    char longref[200];
    memset(longref, 'x', sizeof longref - 1);
    longref[sizeof longref - 1] = '\0';
    http(&S, "POST", fmt("/api/v1/withdrawals/%lld/pay", (long long)w), owner,
         fmt("{\"reference\":\"%s\"}", longref), &r);
    expect_err(&r, 400, "invalid_value", "reference");
    http(&S, "POST", fmt("/api/v1/withdrawals/%lld/pay", (long long)w), owner,
         "{\"reference\":\"ok\",\"amount\":1}", &r);
    expect_err(&r, 400, "unknown_field", "amount");
    http(&S, "POST", fmt("/api/v1/withdrawals/%lld/pay", (long long)w), outsider,
         "{\"reference\":\"ok\"}", &r);
    expect_err(&r, 404, "not_found", NULL);
    char longnote[700];
    memset(longnote, 'n', sizeof longnote - 1);
    longnote[sizeof longnote - 1] = '\0';
    http(&S, "POST", fmt("/api/v1/withdrawals/%lld/reject", (long long)w), owner,
         fmt("{\"note\":\"%s\"}", longnote), &r);
    expect_err(&r, 400, "invalid_value", "note");
    http(&S, "POST", fmt("/api/v1/withdrawals/%lld/approve", (long long)w), owner, "{\"x\":1}", &r);
    expect_err(&r, 400, "unknown_field", "x");
    http(&S, "POST", "/api/v1/withdrawals/999999/approve", owner, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    http(&S, "POST", "/api/v1/promoters/999999/suspend", owner, NULL, &r);
    expect_err(&r, 404, "not_found", NULL);
    assert_int_equal(db_scalar(&S, fmt("SELECT COUNT(*) FROM withdrawals WHERE id = %lld AND"
                                       " status = 'requested'",
                                       (long long)w)),
                     1);
    assert_int_equal(db_scalar(&S, "SELECT (SELECT COUNT(*) FROM withdrawals) * 1000 +"
                                   " (SELECT COUNT(*) FROM promoters)"),
                     before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(experience_first),
        cmocka_unit_test(two_levels_chain),
        cmocka_unit_test(no_cycles),
        cmocka_unit_test(no_fee_no_headcount),
        cmocka_unit_test(l2_active_seller),
        cmocka_unit_test(rate_caps_and_rounding),
        cmocka_unit_test(no_self_commission),
        cmocka_unit_test(no_stockpiling),
        cmocka_unit_test(binding),
        cmocka_unit_test(settle_and_clawback),
        cmocka_unit_test(concurrent_payments),
        cmocka_unit_test(withdrawals),
        cmocka_unit_test(audit),
        cmocka_unit_test(ledger_check_names_broken_rows),
        cmocka_unit_test(bad_input_and_authorization),
    };
    return cmocka_run_group_tests(tests, up, down);
}
