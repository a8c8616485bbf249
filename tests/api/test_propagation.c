/*
 * Precise propagation against a real server, one test per RULE (the tag is
 * in each test's comment): who may share, two hops and no third, no
 * crossing out of the circle or the contacts, similarity (the README's
 * worked example), the daily caps, mutes, not twice, "not interested",
 * trust and its reach, reports, bad input, and no reward for sharing.
 * Each test starts on a new China day with new members, so the daily caps
 * of one do not reach into another.
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

#define DAY 86400000LL
#define ADDR                                                                                       \
    "\"address\":{\"name\":\"张三\",\"phone\":\"13800000000\",\"region\":\"上海市\","         \
    "\"line\":\"梧桐路1号\"}"
#define TEA_TAGS "{\"茶\":1,\"养生\":0.5}"

static char *owner, *outsider;
static int64_t shop, other_shop, tea, herbal, coffee;
static int seq;

struct member {
    char *token;
    int64_t id;
};

/* A new member with declared interests (a JSON object of tags, or NULL for none). */
static struct member member(const char *name, const char *interests)
{
    struct member m;
    char login[32];
    snprintf(login, sizeof login, "1370000%04d", ++seq);
    m.token = register_user(&S, login, name, &m.id);
    if (interests)
        answers(&S, "PUT", "/api/v1/me/interests", m.token, fmt("{\"tags\":%s}", interests), 200);
    return m;
}

static void forget(struct member *m)
{
    free(m->token);
    m->token = NULL;
}

struct circle {
    int64_t id;
    char code[16];
};

/* A circle of `shop_id`, opened by `by` (who runs that shop), with tags (JSON or NULL). */
static struct circle circle_of(const char *by, int64_t shop_id, const char *tags)
{
    struct circle c;
    struct resp r;
    http(&S, "POST", fmt("/api/v1/shops/%lld/circles", (long long)shop_id), by,
         fmt("{\"name\":\"圈子%d\",\"kind\":\"interest\"%s%s}", ++seq, tags ? ",\"tags\":" : "",
             tags ? tags : ""),
         &r);
    assert_int_equal(r.status, 201);
    c.id = jint(r.json, "id");
    snprintf(c.code, sizeof c.code, "%s", jstr(r.json, "invite_code"));
    resp_free(&r);
    return c;
}

static struct circle circle(const char *tags)
{
    return circle_of(owner, shop, tags);
}

static void join(const struct member *m, const struct circle *c)
{
    answers(&S, "POST", "/api/v1/circles/join", m->token, fmt("{\"invite_code\":\"%s\"}", c->code),
            201);
}

static void advance(long long ms)
{
    answers(&S, "POST", "/api/v1/test-clock", owner, fmt("{\"advance_ms\":%lld}", ms), 200);
}

/* To the next China calendar day: the daily caps start again. */
static void next_day(void)
{
    advance(DAY);
}

static void trial(const struct member *m, int64_t product_id)
{
    answers(&S, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
            fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)m->id, (long long)product_id),
            201);
}

/* A member with a trial of tea who became an active promoter; their promoter id in *pid. */
static struct member promoter(const char *name, const char *interests, int64_t *pid)
{
    struct member m = member(name, interests);
    trial(&m, tea);
    int64_t id = create(&S, fmt("/api/v1/shops/%lld/promoters", (long long)shop), m.token, NULL);
    if (pid)
        *pid = id;
    return m;
}

/* A paid order of one unit of `product_id` by `m`; its id. */
static int64_t buy(const struct member *m, int64_t product_id, const char *share_token)
{
    char key[48];
    snprintf(key, sizeof key, "Idempotency-Key: prop-%d", ++seq);
    const char *h[] = {key, NULL};
    struct resp r;
    http_ex(&S, "POST", "/api/v1/orders", m->token,
            fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}]%s%s%s," ADDR "}",
                (long long)shop, (long long)product_id, share_token ? ",\"share_token\":\"" : "",
                share_token ? share_token : "", share_token ? "\"" : ""),
            h, &r);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    resp_free(&r);
    answers(&S, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)id), owner, NULL,
            200);
    return id;
}

/* Shares; the answer is left in *r (201 expected by the callers that go on). */
static long share(const char *token, const char *body, struct resp *r)
{
    return http(&S, "POST", "/api/v1/shares", token, body, r);
}

static const char *to_circle(int64_t product_id, const struct circle *c)
{
    return fmt("{\"product_id\":%lld,\"circle_id\":%lld}", (long long)product_id, (long long)c->id);
}

/* Shares and must succeed: the share's id; its report stays readable in *r. */
static int64_t shared(const char *token, const char *body, struct resp *r)
{
    if (share(token, body, r) != 201)
        fprintf(stderr, "share: %ld %s\n", r->status, r->body);
    assert_int_equal(r->status, 201);
    return jint(r->json, "id");
}

/* What became of one member in a share: the outcome's count (0 or 1) by name. */
static int64_t outcome(int64_t share_id, const struct member *m, const char *what)
{
    return db_scalar(&S, fmt("SELECT COUNT(*) FROM share_audience WHERE share_id = %lld AND"
                             " user_id = %lld AND outcome = '%s'",
                             (long long)share_id, (long long)m->id, what));
}

static int64_t similarity(int64_t share_id, const struct member *m)
{
    return db_scalar(&S, fmt("SELECT similarity_milli FROM share_audience WHERE share_id = %lld"
                             " AND user_id = %lld",
                             (long long)share_id, (long long)m->id));
}

static int64_t feed_size(const struct member *m)
{
    struct resp r;
    http(&S, "GET", "/api/v1/me/feed", m->token, NULL, &r);
    assert_int_equal(r.status, 200);
    int64_t n = (int64_t)json_array_size(jget(r.json, "items"));
    resp_free(&r);
    return n;
}

static int64_t count(const char *sql)
{
    return db_scalar(&S, sql);
}

static int up(void **state)
{
    (void)state;
    const char *extra[] = {"--session-days", "365", "--max-connections-per-ip", "1000", NULL};
    srv_start(&S, extra);
    owner = register_user(&S, "13500000001", "茶园主", NULL);
    outsider = register_user(&S, "13500000002", "别家店主", NULL);
    shop = create_shop(&S, owner, "prop-shop");
    other_shop = create_shop(&S, outsider, "prop-other");
    answers(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
            "{\"promoter_auto_approve\":true}", 200);
    const char *path = fmt("/api/v1/shops/%lld/products", (long long)shop);
    tea = create(&S, path, owner,
                 "{\"title\":\"明前龙井\",\"price_fen\":5000,\"stock\":100000,\"status\":\"on_"
                 "sale\",\"trial_available\":true,"
                 "\"repurchase_days\":20,\"tags\":" TEA_TAGS "}");
    herbal = create(&S, path, owner,
                    "{\"title\":\"养生茶包\",\"price_fen\":2000,\"stock\":100000,"
                    "\"status\":\"on_sale\",\"tags\":{\"养生\":1}}");
    coffee = create(&S, path, owner,
                    "{\"title\":\"云南咖啡\",\"price_fen\":3000,\"stock\":100000,"
                    "\"status\":\"on_sale\",\"tags\":{\"咖啡\":1}}");
    return 0;
}

static int down(void **state)
{
    free_all(owner, outsider);
    return srv_group_down(state);
}

/* RULE: SHARE-NEEDS-EXPERIENCE - the shop's people, or an active promoter who received or tried
 * the product. */
static void share_needs_experience(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    int64_t pid = 0;
    struct member plain = member("路人", "{\"茶\":1}");
    struct member p = promoter("推广员甲", "{\"茶\":1}", &pid);
    struct member buyer = member("老顾客", "{\"茶\":1}");
    join(&plain, &c);
    join(&p, &c);
    join(&buyer, &c);
    int64_t before = count("SELECT COUNT(*) FROM shares");
    struct resp r;

    share(plain.token, to_circle(tea, &c), &r);
    expect_error(&r, 403, "experience_required", "product_id");
    resp_free(&r);
    /* a promoter who tried tea has not experienced coffee */
    share(p.token, to_circle(coffee, &c), &r);
    expect_error(&r, 403, "experience_required", "product_id");
    resp_free(&r);
    /* a buyer who received tea, but is no promoter */
    int64_t o = buy(&buyer, tea, NULL);
    answers(&S, "POST", fmt("/api/v1/orders/%lld/ship", (long long)o), owner,
            "{\"carrier\":\"顺丰\",\"tracking\":\"SF1\"}", 200);
    answers(&S, "POST", fmt("/api/v1/orders/%lld/receive", (long long)o), buyer.token, NULL, 200);
    share(buyer.token, to_circle(tea, &c), &r);
    expect_error(&r, 403, "experience_required", "product_id");
    resp_free(&r);
    /* a suspended promoter */
    answers(&S, "POST", fmt("/api/v1/promoters/%lld/suspend", (long long)pid), owner, NULL, 200);
    share(p.token, to_circle(tea, &c), &r);
    expect_error(&r, 403, "experience_required", "product_id");
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM shares"), before);

    answers(&S, "POST", fmt("/api/v1/promoters/%lld/approve", (long long)pid), owner, NULL, 200);
    shared(p.token, to_circle(tea, &c), &r);
    assert_int_equal(jint(r.json, "hop"), 1);
    assert_string_equal(jstr(r.json, "sharer.experience"), "trial");
    assert_non_null(jstr(r.json, "sharer.experienced_at"));
    assert_true(strlen(jstr(r.json, "token")) >= 40);
    resp_free(&r);
    /* the buyer, now a promoter, shows their delivered order */
    create(&S, fmt("/api/v1/shops/%lld/promoters", (long long)shop), buyer.token, NULL);
    next_day();
    shared(buyer.token, to_circle(tea, &c), &r);
    assert_string_equal(jstr(r.json, "sharer.experience"), "order");
    resp_free(&r);
    /* the owner needs no experience: the shop speaks for its own products */
    shared(owner, to_circle(coffee, &c), &r);
    assert_string_equal(jstr(r.json, "sharer.experience"), "shop");
    assert_true(json_is_null(jget(r.json, "sharer.experienced_at")));
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM shares"), before + 3);
    forget(&plain), forget(&p), forget(&buyer);
}

/* RULE: SIMILARITY - the README's worked example: cosine of the member's vector (declared, plus
 * learned at half weight) with the product's tags; the circle's tags as a weaker prior. */
static void similarity_decides(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    struct member p = promoter("推广员乙", "{\"茶\":1}", NULL);
    struct member a = member("甲", "{\"茶\":0.8,\"咖啡\":0.6}");
    struct member b = member("乙", "{\"茶\":0.8,\"咖啡\":0.6}");
    struct member blank = member("丙", NULL);
    struct member far = member("丁", "{\"咖啡\":1}");
    buy(&b, herbal, NULL); /* learned 养生 0.3, counted at half */
    struct member *all[] = {&p, &a, &b, &blank, &far};
    for (int i = 0; i < 5; i++)
        join(all[i], &c);
    struct resp r;
    /* the preview says the same, and writes nothing */
    int64_t before = count("SELECT COUNT(*) FROM shares") + count("SELECT COUNT(*) FROM "
                                                                  "share_audience");
    http(&S, "POST", "/api/v1/shares/preview", p.token, to_circle(tea, &c), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "report.candidates"), 4);
    assert_int_equal(jint(r.json, "report.delivered"), 3);
    assert_int_equal(jint(r.json, "report.filtered.similarity"), 1);
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM shares") +
                         count("SELECT COUNT(*) FROM share_audience"),
                     before);
    refused(&S, "POST", "/api/v1/shares/preview", far.token, to_circle(tea, &c), 403,
            "experience_required", "product_id");
    int64_t s = shared(p.token, to_circle(tea, &c), &r);
    assert_int_equal(jint(r.json, "report.candidates"), 4);
    assert_int_equal(jint(r.json, "report.delivered"), 3);
    assert_int_equal(jint(r.json, "report.filtered.similarity"), 1);
    assert_int_equal(jint(r.json, "report.filtered.muted"), 0);
    resp_free(&r);
    assert_int_equal(similarity(s, &a), 715);     /* 800000 / sqrt(1000000 * 1250000) */
    assert_int_equal(similarity(s, &b), 773);     /* 875000 / sqrt(1022500 * 1250000) */
    assert_int_equal(similarity(s, &blank), 715); /* the circle's 894, times 4/5 */
    assert_int_equal(similarity(s, &far), 0);
    assert_int_equal(outcome(s, &far, "similarity"), 1);

    /* the recipient's feed: who, that they tried it, why, and the product */
    http(&S, "GET", "/api/v1/me/feed", a.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    assert_int_equal(jint(r.json, "items.0.share_id"), s);
    assert_int_equal(jint(r.json, "items.0.hop"), 1);
    assert_string_equal(jstr(r.json, "items.0.sharer.display_name"), "推广员乙");
    assert_string_equal(jstr(r.json, "items.0.sharer.experience"), "trial");
    assert_string_equal(jstr(r.json, "items.0.matched_interests.0"), "茶");
    assert_string_equal(jstr(r.json, "items.0.product.title"), "明前龙井");
    assert_int_equal(jint(r.json, "items.0.product.price_fen"), 5000);
    assert_true(json_is_null(jget(r.json, "items.0.opened_at")));
    int64_t item = jint(r.json, "items.0.id");
    resp_free(&r);
    assert_int_equal(feed_size(&far), 0);
    answers(&S, "POST", fmt("/api/v1/feed/%lld/open", (long long)item), a.token, NULL, 200);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM share_audience WHERE id = %lld"
                               " AND opened_at IS NOT NULL",
                               (long long)item)),
                     1);
    /* another member's item is not theirs to open */
    refused(&S, "POST", fmt("/api/v1/feed/%lld/open", (long long)item), b.token, NULL, 404,
            "not_found", NULL);
    refused(&S, "POST", fmt("/api/v1/feed/%lld/not-interested", (long long)item), b.token, NULL,
            404, "not_found", NULL);
    /* the shop sees each person and why; the sharer sees the counts only */
    http(&S, "GET", fmt("/api/v1/shares/%lld/audience?limit=3", (long long)s), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 3);
    char cursor[64];
    assert_non_null(jstr(r.json, "next_cursor"));
    snprintf(cursor, sizeof cursor, "%s", jstr(r.json, "next_cursor"));
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shares/%lld/audience?limit=3&cursor=%s", (long long)s, cursor),
         owner, NULL, &r);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    assert_true(json_is_null(jget(r.json, "next_cursor")));
    resp_free(&r);
    /* the sharer's own list, with each report */
    http(&S, "GET", "/api/v1/me/shares", p.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    assert_int_equal(jint(r.json, "items.0.id"), s);
    assert_int_equal(jint(r.json, "items.0.report.delivered"), 3);
    assert_int_equal(jint(r.json, "items.0.report.filtered.similarity"), 1);
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shares/%lld/audience", (long long)s), p.token, NULL, 404,
            "not_found", NULL);
    answers(&S, "GET", fmt("/api/v1/shares/%lld", (long long)s), p.token, NULL, 200);
    refused(&S, "GET", fmt("/api/v1/shares/%lld", (long long)s), a.token, NULL, 404, "not_found",
            NULL);
    forget(&p), forget(&a), forget(&b), forget(&blank), forget(&far);
}

/* RULE: NO-CROSSING - into a circle of the product's shop the sharer is in, or to their
 * accepted contacts; nobody else is ever a candidate. */
static void no_crossing(void **state)
{
    (void)state;
    next_day();
    struct member p = promoter("推广员丙", "{\"茶\":1}", NULL);
    struct circle foreign = circle_of(outsider, other_shop, "{\"茶\":1}");
    struct circle not_mine = circle("{\"茶\":1}");
    join(&p, &foreign); /* a member there, but it is another shop's circle */
    struct resp r;
    share(p.token, to_circle(tea, &foreign), &r);
    expect_error(&r, 404, "not_found", "circle_id");
    resp_free(&r);
    share(p.token, to_circle(tea, &not_mine), &r);
    expect_error(&r, 404, "not_found", "circle_id");
    resp_free(&r);

    /* contacts: one accepted, one still pending, one a stranger; all like tea */
    struct member friend = member("好友", "{\"茶\":1}");
    struct member pending = member("待确认", "{\"茶\":1}");
    struct member stranger = member("陌生人", "{\"茶\":1}");
    answers(&S, "POST", "/api/v1/me/contacts", p.token,
            fmt("{\"user_id\":%lld}", (long long)friend.id), 201);
    answers(&S, "POST", fmt("/api/v1/me/contacts/%lld/accept", (long long)p.id), friend.token, NULL,
            200);
    answers(&S, "POST", "/api/v1/me/contacts", p.token,
            fmt("{\"user_id\":%lld}", (long long)pending.id), 201);
    int64_t s =
        shared(p.token, fmt("{\"product_id\":%lld,\"audience\":\"contacts\"}", (long long)tea), &r);
    assert_string_equal(jstr(r.json, "audience"), "contacts");
    assert_true(json_is_null(jget(r.json, "circle_id")));
    assert_int_equal(jint(r.json, "report.candidates"), 1);
    assert_int_equal(jint(r.json, "report.delivered"), 1);
    resp_free(&r);
    assert_int_equal(outcome(s, &friend, "delivered"), 1);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM share_audience WHERE share_id = %lld"
                               " AND user_id <> %lld",
                               (long long)s, (long long)friend.id)),
                     0);
    assert_int_equal(feed_size(&pending) + feed_size(&stranger), 0);
    /* the owner runs the shop: any of its circles */
    shared(owner, to_circle(tea, &not_mine), &r);
    resp_free(&r);
    forget(&p), forget(&friend), forget(&pending), forget(&stranger);
}

/* RULE: TWO-HOPS - a recipient who experienced the product passes it on once; there is no
 * third hop. RULE: NOT-TWICE - nobody gets one chain twice. RULE: NO-REWARD-FOR-SHARING. */
static void two_hops(void **state)
{
    (void)state;
    next_day();
    int64_t ledger = count("SELECT COUNT(*) FROM ledger_entries");
    int64_t commissions = count("SELECT COUNT(*) FROM commissions");
    struct circle c1 = circle("{\"茶\":1}"), c2 = circle("{\"茶\":1}");
    struct member p = promoter("推广员丁", "{\"茶\":1}", NULL);
    struct member r2 = member("转发者", "{\"茶\":1}");
    struct member m = member("只看看", "{\"茶\":1}");
    struct member t = member("第二跳", "{\"茶\":1}");
    struct member u = member("第二跳乙", "{\"茶\":1}");
    trial(&r2, tea);
    trial(&t, tea);
    join(&p, &c1), join(&r2, &c1), join(&m, &c1);
    join(&r2, &c2), join(&t, &c2), join(&u, &c2), join(&m, &c2);
    struct resp r;
    int64_t s1 = shared(p.token, to_circle(tea, &c1), &r);
    assert_int_equal(jint(r.json, "report.delivered"), 2);
    resp_free(&r);

    /* someone who did not receive it cannot pass it on */
    share(u.token,
          fmt("{\"parent_share_id\":%lld,\"circle_id\":%lld}", (long long)s1, (long long)c2.id),
          &r);
    expect_error(&r, 404, "not_found", "parent_share_id");
    resp_free(&r);
    /* nor someone who received it without having experienced it */
    share(m.token,
          fmt("{\"parent_share_id\":%lld,\"circle_id\":%lld}", (long long)s1, (long long)c2.id),
          &r);
    expect_error(&r, 403, "experience_required", "product_id");
    resp_free(&r);
    /* nor as another product */
    share(r2.token,
          fmt("{\"parent_share_id\":%lld,\"product_id\":%lld,\"circle_id\":%lld}", (long long)s1,
              (long long)coffee, (long long)c2.id),
          &r);
    expect_error(&r, 400, "invalid_value", "product_id");
    resp_free(&r);

    /* hop 2: m is in c2 too, and was reached by the chain already */
    int64_t s2 = shared(r2.token,
                        fmt("{\"parent_share_id\":%lld,\"circle_id\":%lld,\"note\":\"真的好喝\"}",
                            (long long)s1, (long long)c2.id),
                        &r);
    assert_int_equal(jint(r.json, "hop"), 2);
    assert_int_equal(jint(r.json, "parent_share_id"), s1);
    assert_int_equal(jint(r.json, "root_share_id"), s1);
    assert_int_equal(jint(r.json, "product_id"), tea);
    assert_int_equal(jint(r.json, "report.candidates"), 3);
    assert_int_equal(jint(r.json, "report.delivered"), 2);
    assert_int_equal(jint(r.json, "report.filtered.already_reached"), 1);
    resp_free(&r);
    assert_int_equal(outcome(s2, &m, "already_reached"), 1);
    http(&S, "GET", "/api/v1/me/feed", t.token, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.hop"), 2);
    assert_string_equal(jstr(r.json, "items.0.note"), "真的好喝");
    resp_free(&r);

    /* no hop 3, whoever asks */
    int64_t shares = count("SELECT COUNT(*) FROM shares");
    share(t.token,
          fmt("{\"parent_share_id\":%lld,\"circle_id\":%lld}", (long long)s2, (long long)c2.id),
          &r);
    expect_error(&r, 422, "hop_limit", "parent_share_id");
    resp_free(&r);
    share(t.token, fmt("{\"parent_share_id\":%lld,\"audience\":\"contacts\"}", (long long)s2), &r);
    expect_error(&r, 422, "hop_limit", "parent_share_id");
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM shares"), shares);
    assert_int_equal(count("SELECT COUNT(*) FROM shares WHERE hop > 2"), 0);

    /* sharing, opening and passing on moved no money */
    assert_int_equal(count("SELECT COUNT(*) FROM ledger_entries"), ledger);
    assert_int_equal(count("SELECT COUNT(*) FROM commissions"), commissions);
    forget(&p), forget(&r2), forget(&m), forget(&t), forget(&u);
}

/* RULE: FREQUENCY-CAP - one a day from a shop (feed_daily_shop), three a day from all
 * (feed_daily_max), per China calendar day. */
static void frequency_cap(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    struct member f = member("常客", "{\"茶\":1,\"咖啡\":1}");
    join(&f, &c);
    struct resp r;
    int64_t s1 = shared(owner, to_circle(tea, &c), &r);
    resp_free(&r);
    int64_t s2 = shared(owner, to_circle(coffee, &c), &r);
    assert_int_equal(jint(r.json, "report.filtered.frequency"), 1);
    resp_free(&r);
    assert_int_equal(outcome(s1, &f, "delivered") + outcome(s2, &f, "frequency"), 2);

    /* two more shops reach f today; a third is one too many */
    int64_t delivered = 0;
    for (int i = 0; i < 3; i++) {
        char *o = register_user(&S, fmt("1350010%04d", i), "别的店主", NULL);
        int64_t sh = create_shop(&S, o, fmt("prop-freq-%d", i));
        int64_t prod = create(&S, fmt("/api/v1/shops/%lld/products", (long long)sh), o,
                              "{\"title\":\"茶\",\"price_fen\":100,\"stock\":10,"
                              "\"status\":\"on_sale\",\"tags\":{\"茶\":1}}");
        struct circle oc = circle_of(o, sh, NULL);
        join(&f, &oc);
        int64_t s = shared(o, to_circle(prod, &oc), &r);
        resp_free(&r);
        delivered += outcome(s, &f, "delivered");
        if (i == 2)
            assert_int_equal(outcome(s, &f, "frequency"), 1);
        free(o);
    }
    assert_int_equal(delivered, 2);
    assert_int_equal(feed_size(&f), 3);
    /* a new day */
    next_day();
    int64_t s3 = shared(owner, to_circle(coffee, &c), &r);
    resp_free(&r);
    assert_int_equal(outcome(s3, &f, "delivered"), 1);
    forget(&f);
}

/* RULE: MUTES - a member who muted the sharer or the shop never receives their shares; what
 * they muted leaves their feed; muting a promoter who reached them counts against trust. */
static void mutes(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    int64_t pid = 0;
    struct member p = promoter("推广员戊", "{\"茶\":1}", &pid);
    struct member g1 = member("屏蔽人", "{\"茶\":1}");
    struct member g2 = member("屏蔽店", "{\"茶\":1}");
    struct member g3 = member("都收", "{\"茶\":1}");
    join(&p, &c), join(&g1, &c), join(&g2, &c), join(&g3, &c);
    struct resp r;
    http(&S, "POST", "/api/v1/mutes", g1.token, fmt("{\"user_id\":%lld}", (long long)p.id), &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "name"), "推广员戊");
    int64_t m1 = jint(r.json, "id");
    resp_free(&r);
    /* muting again answers the same mute */
    http(&S, "POST", "/api/v1/mutes", g1.token, fmt("{\"user_id\":%lld}", (long long)p.id), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "id"), m1);
    resp_free(&r);
    answers(&S, "POST", "/api/v1/mutes", g2.token, fmt("{\"shop_id\":%lld}", (long long)shop), 201);
    /* nobody had received anything from p: no trust event yet */
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM trust_events WHERE promoter_id = %lld", (long long)pid)),
        0);
    int64_t s = shared(p.token, to_circle(tea, &c), &r);
    assert_int_equal(jint(r.json, "report.filtered.muted"), 2);
    assert_int_equal(jint(r.json, "report.delivered"), 1);
    resp_free(&r);
    assert_int_equal(outcome(s, &g1, "muted") + outcome(s, &g2, "muted"), 2);
    assert_int_equal(feed_size(&g1) + feed_size(&g2), 0);

    /* g3 mutes p after receiving: the item leaves the feed, and p's trust takes a bad event */
    assert_int_equal(feed_size(&g3), 1);
    http(&S, "POST", "/api/v1/mutes", g3.token, fmt("{\"user_id\":%lld}", (long long)p.id), &r);
    int64_t m3 = jint(r.json, "id");
    resp_free(&r);
    assert_int_equal(feed_size(&g3), 0);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM trust_events WHERE promoter_id = %lld"
                               " AND kind = 'muted' AND good = 0",
                               (long long)pid)),
                     1);
    http(&S, "GET", "/api/v1/me/mutes", g3.token, NULL, &r);
    assert_int_equal(json_array_size(jget(r.json, "items")), 1);
    assert_int_equal(jint(r.json, "items.0.user_id"), p.id);
    resp_free(&r);
    /* unmuting brings the item back; another member cannot remove the mute */
    refused(&S, "DELETE", fmt("/api/v1/mutes/%lld", (long long)m3), g1.token, NULL, 404,
            "not_found", NULL);
    answers(&S, "DELETE", fmt("/api/v1/mutes/%lld", (long long)m3), g3.token, NULL, 200);
    assert_int_equal(feed_size(&g3), 1);
    refused(&S, "DELETE", fmt("/api/v1/mutes/%lld", (long long)m3), g3.token, NULL, 404,
            "not_found", NULL);

    /* bad input changes nothing */
    int64_t before = count("SELECT COUNT(*) FROM mutes");
    const struct bad_case bad[] = {
        {"{}", "missing_field", "user_id"},
        {fmt("{\"user_id\":%lld,\"shop_id\":%lld}", (long long)p.id, (long long)shop),
         "invalid_value", "shop_id"},
        {"{\"user_id\":\"x\"}", "wrong_type", "user_id"},
        {"{\"shop_id\":0}", "out_of_range", "shop_id"},
        {"{\"user_id\":1,\"why\":1}", "unknown_field", "why"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(&S, "POST", "/api/v1/mutes", g3.token, bad[i].body, 400, bad[i].code, bad[i].field);
    refused(&S, "POST", "/api/v1/mutes", g3.token, fmt("{\"user_id\":%lld}", (long long)g3.id), 422,
            "unprocessable", "user_id");
    refused(&S, "POST", "/api/v1/mutes", g3.token, "{\"user_id\":999999999}", 404, "not_found",
            "user_id");
    refused(&S, "POST", "/api/v1/mutes", g3.token, "{\"shop_id\":999999999}", 404, "not_found",
            "shop_id");
    assert_int_equal(count("SELECT COUNT(*) FROM mutes"), before);
    forget(&p), forget(&g1), forget(&g2), forget(&g3);
}

/* RULE: NOT-TWICE - nobody who bought the product within its repurchase_days receives it. */
static void recently_bought(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    struct member h1 = member("刚买过", "{\"茶\":1}");
    struct member h2 = member("没买过", "{\"茶\":1}");
    join(&h1, &c), join(&h2, &c);
    buy(&h1, tea, NULL);
    struct resp r;
    int64_t s = shared(owner, to_circle(tea, &c), &r);
    assert_int_equal(jint(r.json, "report.filtered.recently_bought"), 1);
    resp_free(&r);
    assert_int_equal(outcome(s, &h1, "recently_bought") + outcome(s, &h2, "delivered"), 2);
    advance(21 * DAY); /* tea's repurchase_days is 20 */
    s = shared(owner, to_circle(tea, &c), &r);
    resp_free(&r);
    assert_int_equal(outcome(s, &h1, "delivered"), 1);
    forget(&h1), forget(&h2);
}

/* RULE: MUTES - "not interested" hides the item, lowers the product's tags in the member's
 * learned interests, and the product does not come again. */
static void not_interested(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    struct member n = member("不感兴趣", "{\"茶\":1}");
    join(&n, &c);
    buy(&n, herbal, NULL); /* learned 养生 = 300 */
    advance(DAY);
    struct resp r;
    shared(owner, to_circle(tea, &c), &r);
    resp_free(&r);
    http(&S, "GET", "/api/v1/me/feed", n.token, NULL, &r);
    int64_t item = jint(r.json, "items.0.id");
    resp_free(&r);
    answers(&S, "POST", fmt("/api/v1/feed/%lld/not-interested", (long long)item), n.token, NULL,
            200);
    assert_int_equal(feed_size(&n), 0);
    /* 300 - 500 / 2 */
    assert_int_equal(count(fmt("SELECT weight_milli FROM member_interests WHERE user_id = %lld"
                               " AND source = 'learned' AND tag = '养生'",
                               (long long)n.id)),
                     50);
    /* declared interests are the member's own word: unchanged */
    assert_int_equal(count(fmt("SELECT weight_milli FROM member_interests WHERE user_id = %lld"
                               " AND source = 'declared' AND tag = '茶'",
                               (long long)n.id)),
                     1000);
    next_day();
    int64_t s = shared(owner, to_circle(tea, &c), &r);
    resp_free(&r);
    assert_int_equal(outcome(s, &n, "muted"), 1);
    /* another product still reaches them */
    s = shared(owner, to_circle(herbal, &c), &r);
    resp_free(&r);
    assert_int_equal(outcome(s, &n, "muted"), 0);
    forget(&n);
}

/* RULE: TRUST-REACH - upheld reports (and the other bad outcomes) lower trust; below trust_min
 * a share reaches only the trust_reach most similar members. */
static void trust_reach(void **state)
{
    (void)state;
    next_day();
    answers(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
            "{\"trust_reach\":2,\"trust_min\":0.3}", 200);
    int64_t pid = 0;
    struct member q = promoter("推广员己", "{\"茶\":1}", &pid);
    struct circle c1 = circle("{\"茶\":1}");
    join(&q, &c1);
    struct member rep[3];
    for (int i = 0; i < 3; i++) {
        rep[i] = member("举报人", "{\"茶\":1}");
        join(&rep[i], &c1);
    }
    struct resp r;
    int64_t s1 = shared(q.token, to_circle(tea, &c1), &r);
    assert_true(json_real_value(jget(r.json, "trust")) == 0.5); /* no history yet */
    resp_free(&r);
    int64_t reports[3];
    for (int i = 0; i < 3; i++)
        reports[i] = create(&S, "/api/v1/reports", rep[i].token,
                            fmt("{\"share_id\":%lld,\"reason\":\"刷屏广告\"}", (long long)s1));
    /* a report leaves the reporter's feed; once per share and member; only by a recipient */
    assert_int_equal(feed_size(&rep[0]), 0);
    refused(&S, "POST", "/api/v1/reports", rep[0].token,
            fmt("{\"share_id\":%lld,\"reason\":\"again\"}", (long long)s1), 409, "conflict",
            "share_id");
    refused(&S, "POST", "/api/v1/reports", owner,
            fmt("{\"share_id\":%lld,\"reason\":\"x\"}", (long long)s1), 404, "not_found",
            "share_id");
    refused(&S, "POST", "/api/v1/reports", rep[1].token,
            fmt("{\"share_id\":%lld,\"reason\":\"  \"}", (long long)s1), 400, "invalid_value",
            "reason");
    http(&S, "GET", fmt("/api/v1/shops/%lld/reports", (long long)shop), owner, NULL, &r);
    assert_int_equal(json_array_size(jget(r.json, "items")), 3);
    assert_string_equal(jstr(r.json, "items.0.status"), "open");
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/reports", (long long)shop), outsider, NULL, 404,
            "not_found", NULL);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/reports?status=maybe", (long long)shop), owner, NULL,
            400, "invalid_value", "status");
    /* upheld counts against trust; dismissed does not; a decision is final */
    answers(&S, "POST", fmt("/api/v1/reports/%lld/dismiss", (long long)reports[0]), owner, NULL,
            200);
    refused(&S, "POST", fmt("/api/v1/reports/%lld/uphold", (long long)reports[0]), owner, NULL, 409,
            "illegal_transition", NULL);
    answers(&S, "POST", fmt("/api/v1/reports/%lld/uphold", (long long)reports[1]), owner, NULL,
            200);
    answers(&S, "POST", fmt("/api/v1/reports/%lld/uphold", (long long)reports[2]), owner, NULL,
            200);
    /* a mute from a recipient is the third bad event: (0 + 1) / (0 + 3 + 2) = 0.2 */
    answers(&S, "POST", "/api/v1/mutes", rep[0].token, fmt("{\"user_id\":%lld}", (long long)q.id),
            201);
    http(&S, "GET", fmt("/api/v1/promoters/%lld/trust", (long long)pid), q.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "bad"), 3);
    assert_int_equal(jint(r.json, "good"), 0);
    assert_true(json_real_value(jget(r.json, "score")) == 0.2);
    assert_true(json_is_true(jget(r.json, "reach_limited")));
    assert_int_equal(json_array_size(jget(r.json, "items")), 3);
    assert_string_equal(jstr(r.json, "items.0.kind"), "muted");
    resp_free(&r);
    answers(&S, "GET", fmt("/api/v1/promoters/%lld/trust", (long long)pid), owner, NULL, 200);
    refused(&S, "GET", fmt("/api/v1/promoters/%lld/trust", (long long)pid), rep[1].token, NULL, 404,
            "not_found", NULL);

    /* four fresh members, from most to least alike: only the two most alike are reached */
    next_day();
    struct circle c2 = circle("{\"茶\":1}");
    join(&q, &c2);
    const char *likes[] = {"{\"茶\":1,\"养生\":0.5}", "{\"茶\":1}", "{\"茶\":1,\"咖啡\":1}",
                           "{\"茶\":0.5,\"咖啡\":1}"};
    struct member w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = member("新圈友", likes[i]);
        join(&w[i], &c2);
    }
    int64_t s2 = shared(q.token, to_circle(tea, &c2), &r);
    assert_int_equal(jint(r.json, "report.delivered"), 2);
    assert_int_equal(jint(r.json, "report.filtered.trust_cap"), 2);
    assert_true(json_real_value(jget(r.json, "trust")) == 0.2);
    resp_free(&r);
    assert_int_equal(outcome(s2, &w[0], "delivered") + outcome(s2, &w[1], "delivered"), 2);
    assert_int_equal(outcome(s2, &w[2], "trust_cap") + outcome(s2, &w[3], "trust_cap"), 2);
    /* the shop's own shares are not capped (q, in the circle too, is the fifth) */
    next_day();
    int64_t s3 = shared(owner, to_circle(tea, &c2), &r);
    assert_int_equal(jint(r.json, "report.delivered"), 5);
    assert_true(json_is_null(jget(r.json, "trust")));
    resp_free(&r);
    (void)s3;
    answers(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner, "{\"trust_reach\":20}",
            200);
    forget(&q);
    for (int i = 0; i < 3; i++)
        forget(&rep[i]);
    for (int i = 0; i < 4; i++)
        forget(&w[i]);
}

/* The order's attribution and share, from its answer. */
static void attributed(int64_t order_id, int64_t promoter_id, const char *via, int64_t share_id,
                       int hop)
{
    struct resp r;
    http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)order_id), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    if (promoter_id) {
        assert_int_equal(jint(r.json, "attribution.promoter_id"), promoter_id);
        assert_string_equal(jstr(r.json, "attribution.via"), via);
    } else {
        assert_true(json_is_null(jget(r.json, "attribution")));
    }
    assert_int_equal(jint(r.json, "share.id"), share_id);
    assert_int_equal(jint(r.json, "share.hop"), hop);
    resp_free(&r);
}

/* Attribution: an order through a share goes to the nearest active promoter on its chain (the
 * re-sharer if they are one, else the hop-1 sharer), under BINDING and NO-SELF-COMMISSION, and
 * records the share and its hop. The landing page says who, that they used it, and why. */
static void attribution(void **state)
{
    (void)state;
    next_day();
    struct circle c1 = circle("{\"茶\":1}"), c2 = circle("{\"茶\":1}");
    int64_t pid = 0, rid = 0;
    struct member p = promoter("推广员庚", "{\"茶\":1}", &pid);
    struct member x = member("买家甲", "{\"茶\":1}");
    struct member re = member("转发者乙", "{\"茶\":1}");
    struct member y = member("买家乙", "{\"茶\":1}");
    struct member z = member("买家丙", "{\"茶\":1}");
    trial(&re, tea);
    join(&p, &c1), join(&x, &c1), join(&re, &c1);
    join(&re, &c2), join(&y, &c2), join(&z, &c2);
    struct resp r;
    int64_t s1 = shared(p.token, to_circle(tea, &c1), &r);
    char t1[64];
    snprintf(t1, sizeof t1, "%s", jstr(r.json, "token"));
    resp_free(&r);

    /* the landing, for a recipient: who, that they tried it, why; reading it binds nobody */
    http(&S, "GET", fmt("/api/v1/s/%s", t1), x.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "share.id"), s1);
    assert_string_equal(jstr(r.json, "sharer.display_name"), "推广员庚");
    assert_string_equal(jstr(r.json, "sharer.experience"), "trial");
    assert_string_equal(jstr(r.json, "product.title"), "明前龙井");
    assert_string_equal(jstr(r.json, "matched_interests.0"), "茶");
    resp_free(&r);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM bindings WHERE customer_id = %lld", (long long)x.id)), 0);
    refused(&S, "GET", "/api/v1/s/no-such-token", x.token, NULL, 404, "not_found", NULL);

    int64_t o1 = buy(&x, tea, t1);
    attributed(o1, pid, "share", s1, 1);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM bindings WHERE customer_id = %lld"
                               " AND promoter_id = %lld",
                               (long long)x.id, (long long)pid)),
                     1);

    /* hop 2 by a member who is no promoter: the root's promoter gets it */
    int64_t s2 = shared(
        re.token,
        fmt("{\"parent_share_id\":%lld,\"circle_id\":%lld}", (long long)s1, (long long)c2.id), &r);
    char t2[64];
    snprintf(t2, sizeof t2, "%s", jstr(r.json, "token"));
    resp_free(&r);
    int64_t o2 = buy(&y, tea, t2);
    attributed(o2, pid, "share", s2, 2);
    /* once the re-sharer is a promoter, the nearest is theirs */
    rid = create(&S, fmt("/api/v1/shops/%lld/promoters", (long long)shop), re.token, NULL);
    int64_t o3 = buy(&z, tea, t2);
    attributed(o3, rid, "share", s2, 2);
    /* a visit through a share's link binds to the same nearest promoter (a write of its own) */
    struct member w = member("路过的", NULL);
    http(&S, "POST", fmt("/api/v1/s/%s/visit", t2), w.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "promoter.id"), rid);
    assert_true(json_is_true(jget(r.json, "bound")));
    resp_free(&r);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM bindings WHERE customer_id = %lld AND"
                               " promoter_id = %lld",
                               (long long)w.id, (long long)rid)),
                     1);
    forget(&w);
    /* the promoter buying through their own share earns nothing, and it is audited */
    int64_t audits = count("SELECT COUNT(*) FROM audit_events WHERE kind = 'self_purchase'");
    int64_t o4 = buy(&p, tea, t1);
    attributed(o4, 0, NULL, s1, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_events WHERE kind = 'self_purchase'"),
                     audits + 1);

    /* trust: a sale kept past its window is good; an approved refund is bad */
    struct member *buyers[] = {&x, &y};
    int64_t orders[] = {o1, o2};
    for (int i = 0; i < 2; i++) {
        answers(&S, "POST", fmt("/api/v1/orders/%lld/ship", (long long)orders[i]), owner,
                "{\"carrier\":\"顺丰\",\"tracking\":\"SF2\"}", 200);
        answers(&S, "POST", fmt("/api/v1/orders/%lld/receive", (long long)orders[i]),
                buyers[i]->token, NULL, 200);
    }
    http(&S, "POST", fmt("/api/v1/orders/%lld/refunds", (long long)o2), y.token,
         "{\"amount_fen\":1000,\"reason\":\"有点潮\"}", &r);
    int64_t refund = jint(r.json, "refund_id");
    resp_free(&r);
    answers(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)refund), owner, NULL, 200);
    advance(8 * DAY); /* past settle_days: o1 completes */
    http(&S, "GET", fmt("/api/v1/promoters/%lld/trust", (long long)pid), p.token, NULL, &r);
    assert_int_equal(jint(r.json, "good"), 1);
    assert_int_equal(jint(r.json, "bad"), 1);
    assert_true(json_real_value(jget(r.json, "score")) == 0.5);
    resp_free(&r);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM trust_events WHERE promoter_id = %lld"
                               " AND kind = 'sale_kept' AND ref_id = %lld",
                               (long long)pid, (long long)o1)),
                     1);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM trust_events WHERE promoter_id = %lld"
                               " AND kind = 'refund' AND ref_id = %lld",
                               (long long)pid, (long long)refund)),
                     1);
    forget(&p), forget(&x), forget(&re), forget(&y), forget(&z);
}

/* The id of the order's follow-up of `kind` in the shop's list ?status=view; 0 when absent. */
static int64_t followup(const char *view, int64_t order_id, const char *kind)
{
    struct resp r;
    int64_t id = 0;
    http(&S, "GET", fmt("/api/v1/shops/%lld/followups?status=%s&limit=100", (long long)shop, view),
         owner, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *items = jget(r.json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *f = json_array_get(items, i);
        if (jint(f, "order_id") == order_id && !strcmp(jstr(f, "kind"), kind))
            id = jint(f, "id");
    }
    resp_free(&r);
    return id;
}

/* The scenario, on the test clock: a share reaches a member, who opens it, buys through it, is
 * followed up, leaves feedback (trust, learned interests, the product page), passes it on to a
 * contact (hop 2, with their feedback in the contact's feed), who cannot pass it on again. */
static void experience_loop(void **state)
{
    (void)state;
    next_day();
    struct circle c = circle("{\"茶\":1}");
    int64_t pid = 0;
    struct member p = promoter("推广员辛", "{\"茶\":1}", &pid);
    struct member x = member("体验者", "{\"茶\":1}");
    struct member y = member("体验者的朋友", "{\"茶\":1}");
    join(&p, &c), join(&x, &c);
    answers(&S, "POST", "/api/v1/me/contacts", x.token, fmt("{\"user_id\":%lld}", (long long)y.id),
            201);
    answers(&S, "POST", fmt("/api/v1/me/contacts/%lld/accept", (long long)x.id), y.token, NULL,
            200);
    struct resp r;
    int64_t s1 = shared(p.token, to_circle(tea, &c), &r);
    char t1[64];
    snprintf(t1, sizeof t1, "%s", jstr(r.json, "token"));
    resp_free(&r);
    http(&S, "GET", "/api/v1/me/feed", x.token, NULL, &r);
    int64_t item = jint(r.json, "items.0.id");
    assert_true(json_is_null(jget(r.json, "items.0.sharer.feedback")));
    resp_free(&r);
    answers(&S, "POST", fmt("/api/v1/feed/%lld/open", (long long)item), x.token, NULL, 200);
    int64_t o = buy(&x, tea, t1);
    attributed(o, pid, "share", s1, 1);

    /* feedback waits for the delivery */
    refused(&S, "POST", fmt("/api/v1/orders/%lld/feedback", (long long)o), x.token,
            "{\"rating\":5}", 409, "illegal_transition", NULL);
    answers(&S, "POST", fmt("/api/v1/orders/%lld/ship", (long long)o), owner,
            "{\"carrier\":\"顺丰\",\"tracking\":\"SF3\"}", 200);
    answers(&S, "POST", fmt("/api/v1/orders/%lld/receive", (long long)o), x.token, NULL, 200);
    /* follow-ups: the experience check in 3 days, the repurchase reminder at 20 */
    assert_int_equal(followup("due", o, "experience"), 0);
    assert_true(followup("upcoming", o, "experience") > 0);
    advance(3 * DAY);
    assert_true(followup("due", o, "experience") > 0);
    assert_int_equal(followup("due", o, "repurchase"), 0);
    int64_t reminder = followup("upcoming", o, "repurchase");
    assert_true(reminder > 0);

    /* bad feedback changes nothing */
    const struct bad_case bad[] = {
        {"{}", "missing_field", "rating"},
        {"{\"rating\":6}", "out_of_range", "rating"},
        {"{\"rating\":0}", "out_of_range", "rating"},
        {"{\"rating\":\"5\"}", "wrong_type", "rating"},
        {"{\"rating\":5,\"stars\":5}", "unknown_field", "stars"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(&S, "POST", fmt("/api/v1/orders/%lld/feedback", (long long)o), x.token, bad[i].body,
                400, bad[i].code, bad[i].field);
    char long_text[1700];
    size_t k = 0;
    for (int i = 0; i < 501; i++)
        k += (size_t)snprintf(long_text + k, sizeof long_text - k, "好");
    refused(&S, "POST", fmt("/api/v1/orders/%lld/feedback", (long long)o), x.token,
            fmt("{\"rating\":5,\"text\":\"%s\"}", long_text), 400, "invalid_value", "text");
    refused(&S, "POST", fmt("/api/v1/orders/%lld/feedback", (long long)o), y.token,
            "{\"rating\":1}", 404, "not_found", NULL);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM feedback WHERE order_id = %lld", (long long)o)), 0);

    http(&S, "POST", fmt("/api/v1/orders/%lld/feedback", (long long)o), x.token,
         "{\"rating\":5,\"text\":\"很香，回甘明显\"}", &r);
    assert_int_equal(r.status, 201);
    assert_int_equal(jint(r.json, "rating"), 5);
    resp_free(&r);
    refused(&S, "POST", fmt("/api/v1/orders/%lld/feedback", (long long)o), x.token,
            "{\"rating\":4}", 409, "conflict", NULL);
    /* it answered the experience check, counts for the promoter, and teaches x's interests:
     * 茶 0.3 from paying + 0.2 from the rating; 养生 0.15 + 0.1 */
    assert_int_equal(followup("due", o, "experience"), 0);
    assert_true(followup("done", o, "experience") > 0);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM trust_events WHERE promoter_id = %lld"
                               " AND kind = 'good_feedback'",
                               (long long)pid)),
                     1);
    assert_int_equal(count(fmt("SELECT weight_milli FROM member_interests WHERE user_id = %lld"
                               " AND source = 'learned' AND tag = '茶'",
                               (long long)x.id)),
                     500);
    assert_int_equal(count(fmt("SELECT weight_milli FROM member_interests WHERE user_id = %lld"
                               " AND source = 'learned' AND tag = '养生'",
                               (long long)x.id)),
                     250);
    /* public on the product page */
    http(&S, "GET", fmt("/api/v1/products/%lld/feedback", (long long)tea), NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "items.0.order_id"), o);
    assert_string_equal(jstr(r.json, "items.0.text"), "很香，回甘明显");
    assert_string_equal(jstr(r.json, "items.0.buyer.display_name"), "体验者");
    resp_free(&r);

    /* x has experienced tea now: hop 2 to a contact, whose feed shows x's order and words */
    int64_t s2 = shared(
        x.token, fmt("{\"parent_share_id\":%lld,\"audience\":\"contacts\"}", (long long)s1), &r);
    assert_int_equal(jint(r.json, "hop"), 2);
    assert_string_equal(jstr(r.json, "sharer.experience"), "order");
    assert_int_equal(jint(r.json, "report.delivered"), 1);
    resp_free(&r);
    http(&S, "GET", "/api/v1/me/feed", y.token, NULL, &r);
    assert_int_equal(jint(r.json, "items.0.share_id"), s2);
    assert_string_equal(jstr(r.json, "items.0.sharer.experience"), "order");
    assert_int_equal(jint(r.json, "items.0.sharer.feedback.rating"), 5);
    assert_string_equal(jstr(r.json, "items.0.sharer.feedback.text"), "很香，回甘明显");
    resp_free(&r);
    refused(&S, "POST", "/api/v1/shares", y.token,
            fmt("{\"parent_share_id\":%lld,\"audience\":\"contacts\"}", (long long)s2), 422,
            "hop_limit", "parent_share_id");

    /* the repurchase reminder, done with a note, once */
    http(&S, "POST", fmt("/api/v1/followups/%lld/done", (long long)reminder), owner,
         "{\"note\":\"已微信提醒\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "done");
    assert_string_equal(jstr(r.json, "note"), "已微信提醒");
    assert_int_equal(jint(r.json, "product.id"), tea);
    resp_free(&r);
    refused(&S, "POST", fmt("/api/v1/followups/%lld/done", (long long)reminder), owner, NULL, 409,
            "illegal_transition", NULL);
    int64_t check = followup("done", o, "experience");
    char long_note[700];
    memset(long_note, 'x', 201);
    long_note[201] = '\0';
    refused(&S, "POST", fmt("/api/v1/followups/%lld/done", (long long)check), owner,
            fmt("{\"note\":\"%s\"}", long_note), 400, "invalid_value", "note");
    refused(&S, "POST", fmt("/api/v1/followups/%lld/done", (long long)check), owner, "{\"note\":1}",
            400, "wrong_type", "note");
    /* feedback of a product nobody may see is not there either */
    refused(&S, "GET", "/api/v1/products/999999/feedback", NULL, NULL, 404, "not_found", NULL);
    refused(&S, "POST", fmt("/api/v1/followups/%lld/done", (long long)reminder), outsider, NULL,
            404, "not_found", NULL);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/followups?status=late", (long long)shop), owner,
            NULL, 400, "invalid_value", "status");

    /* the share's figures, per hop; the sharer sees them, a recipient does not */
    http(&S, "GET", fmt("/api/v1/shares/%lld/stats", (long long)s1), p.token, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "hops.0.hop"), 1);
    assert_int_equal(jint(r.json, "hops.0.shares"), 1);
    assert_int_equal(jint(r.json, "hops.0.candidates"), 1);
    assert_int_equal(jint(r.json, "hops.0.delivered"), 1);
    assert_int_equal(jint(r.json, "hops.0.opened"), 1);
    assert_int_equal(jint(r.json, "hops.0.orders"), 1);
    assert_int_equal(jint(r.json, "hops.0.revenue_fen"), 5000);
    assert_true(json_real_value(jget(r.json, "hops.0.similarity_delivered.median")) == 0.894);
    assert_true(json_is_null(jget(r.json, "hops.0.similarity_filtered.median")));
    assert_true(json_real_value(jget(r.json, "hops.0.conversion")) == 1.0);
    assert_int_equal(jint(r.json, "hops.1.shares"), 1);
    assert_int_equal(jint(r.json, "hops.1.delivered"), 1);
    assert_int_equal(jint(r.json, "hops.1.orders"), 0);
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shares/%lld/stats", (long long)s1), y.token, NULL, 404,
            "not_found", NULL);
    /* the shop's, over days; and the audit's hop findings */
    http(&S, "GET", fmt("/api/v1/shops/%lld/stats", (long long)shop), owner, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(jint(r.json, "hops.0.delivered") > jint(r.json, "hops.1.delivered"));
    assert_true(jint(r.json, "hops.1.orders") >= 2); /* the attribution test's */
    resp_free(&r);
    http(&S, "GET", fmt("/api/v1/shops/%lld/stats?from=2000-01-01&to=2000-01-31", (long long)shop),
         owner, NULL, &r);
    assert_int_equal(jint(r.json, "hops.0.candidates"), 0);
    assert_true(json_is_null(jget(r.json, "hops.0.conversion")));
    resp_free(&r);
    refused(&S, "GET", fmt("/api/v1/shops/%lld/stats?from=2026-02-30", (long long)shop), owner,
            NULL, 400, "invalid_value", "from");
    refused(&S, "GET",
            fmt("/api/v1/shops/%lld/stats?from=2026-03-02&to=2026-03-01", (long long)shop), owner,
            NULL, 400, "invalid_value", "to");
    http(&S, "GET", fmt("/api/v1/shops/%lld/audit", (long long)shop), owner, NULL, &r);
    json_t *findings = jget(r.json, "findings");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(findings); i++) {
        json_t *f = json_array_get(findings, i);
        const char *name = jstr(f, "name");
        if (!strcmp(name, "max_share_hop")) {
            assert_int_equal(jint(f, "value"), 2);
            assert_true(json_is_true(jget(f, "ok")));
            seen++;
        } else if (!strcmp(name, "hop2_delivery_share_bps") ||
                   !strcmp(name, "hop2_order_share_bps")) {
            assert_true(jint(f, "value") > 0 && jint(f, "value") < 10000);
            seen++;
        }
    }
    assert_int_equal(seen, 3);
    resp_free(&r);
    forget(&p), forget(&x), forget(&y);
}

/* Bad input to POST /shares: a clear error naming the field, and nothing written. */
static void bad_shares(void **state)
{
    (void)state;
    struct circle c = circle(NULL);
    int64_t before = count("SELECT COUNT(*) FROM shares") + count("SELECT COUNT(*) FROM "
                                                                  "share_audience");
    char note[700];
    memset(note, 'x', 201);
    note[201] = '\0';
    const struct bad_case bad[] = {
        {fmt("{\"product_id\":%lld}", (long long)tea), "missing_field", "circle_id"},
        {fmt("{\"circle_id\":%lld}", (long long)c.id), "missing_field", "product_id"},
        {fmt("{\"product_id\":\"%lld\",\"circle_id\":%lld}", (long long)tea, (long long)c.id),
         "wrong_type", "product_id"},
        {fmt("{\"product_id\":0,\"circle_id\":%lld}", (long long)c.id), "out_of_range",
         "product_id"},
        {fmt("{\"product_id\":%lld,\"audience\":\"everyone\"}", (long long)tea), "invalid_value",
         "audience"},
        {fmt("{\"product_id\":%lld,\"audience\":\"contacts\",\"circle_id\":%lld}", (long long)tea,
             (long long)c.id),
         "invalid_value", "circle_id"},
        {fmt("{\"product_id\":%lld,\"circle_id\":%lld,\"note\":\"%s\"}", (long long)tea,
             (long long)c.id, note),
         "invalid_value", "note"},
        {fmt("{\"product_id\":%lld,\"circle_id\":%lld,\"reward\":1}", (long long)tea,
             (long long)c.id),
         "unknown_field", "reward"},
        {"[1]", "bad_json", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(&S, "POST", "/api/v1/shares", owner, bad[i].body, 400, bad[i].code, bad[i].field);
    refused(&S, "POST", "/api/v1/shares", owner,
            fmt("{\"product_id\":999999,\"circle_id\":%lld}", (long long)c.id), 404, "not_found",
            "product_id");
    refused(&S, "POST", "/api/v1/shares", owner,
            fmt("{\"parent_share_id\":999999,\"circle_id\":%lld}", (long long)c.id), 404,
            "not_found", "parent_share_id");
    refused(&S, "POST", "/api/v1/shares", NULL, to_circle(tea, &c), 401, "unauthorized", NULL);
    /* a product off sale is not recommended */
    int64_t off = create(&S, fmt("/api/v1/shops/%lld/products", (long long)shop), owner,
                         "{\"title\":\"下架品\",\"price_fen\":100}");
    refused(&S, "POST", "/api/v1/shares", owner, to_circle(off, &c), 409, "product_unavailable",
            "product_id");
    assert_int_equal(count("SELECT COUNT(*) FROM shares") +
                         count("SELECT COUNT(*) FROM share_audience"),
                     before);
    refused(&S, "GET", "/api/v1/me/feed?limit=0", owner, NULL, 400, "out_of_range", "limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(share_needs_experience),
        cmocka_unit_test(similarity_decides),
        cmocka_unit_test(no_crossing),
        cmocka_unit_test(two_hops),
        cmocka_unit_test(frequency_cap),
        cmocka_unit_test(mutes),
        cmocka_unit_test(recently_bought),
        cmocka_unit_test(not_interested),
        cmocka_unit_test(trust_reach),
        cmocka_unit_test(attribution),
        cmocka_unit_test(experience_loop),
        cmocka_unit_test(bad_shares),
    };
    return cmocka_run_group_tests(tests, up, down);
}
