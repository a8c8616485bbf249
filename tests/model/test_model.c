/*
 * The model test: a seeded random workload against a real server, checked
 * after every step against an in-memory model of what the rules say must
 * happen, and against the ledger's invariants (ledger_check(), the code of
 * `quanzi ledger check`, run on the server's own database).
 *
 * Steps: members, trials, promoter applications with and without invite
 * codes (cycles included), share links and unbinding, orders through links
 * and bindings, payments, shipping, receipt, cancellation, refunds (partial
 * and full, before and after settlement) approved or rejected, suspensions,
 * withdrawals requested, approved, paid and rejected, and the clock moving
 * (which runs the unpaid timeout, auto-receive, completion and settlement).
 *
 *   test_model [--steps N] [--seed S]   (QUANZI_MODEL_STEPS, QUANZI_MODEL_SEED)
 *
 * On a mismatch it prints the seed, the step and what differed; rerun with
 * that seed to replay the same workload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db/db.h"
#include "domain/ledger.h"
#include "util/money.h"
#include "harness.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define MEMBERS 36
#define PROMOTERS_MAX 24
#define ORDERS_MAX 4096
#define WITHDRAWALS_MAX 1024
#define RELOGIN_DAYS 300 /* sessions last 365 days: everyone logs in again before that */
#define L1_BPS 1000
#define L2_BPS 500
#define GIFT_L1 2000
#define GIFT_L2 1000
#define SETTLE_DAYS 7
#define BINDING_DAYS 30
#define L2_ACTIVE_DAYS 30
#define AUTO_RECEIVE_DAYS 10
#define WITHDRAW_MIN 1000

static long steps = 1500;
static unsigned long long seed;
static long step;
static const char *op = "setup";

/* xorshift64*: the whole workload follows from the seed */
static unsigned long long rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static int pick(int n)
{
    return n > 0 ? (int)(rnd() % (uint64_t)n) : 0;
}

static void fail_at(const char *what, long long got, long long want)
{
    fprintf(stderr,
            "MODEL MISMATCH at step %ld (%s): %s: got %lld, the model says %lld\n"
            "replay: test_model --seed %llu --steps %ld\n",
            step, op, what, got, want, seed, steps);
    fail();
}

#define EXPECT_EQ(what, got, want)                                                                 \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_)                                                                              \
            fail_at(what, g_, w_);                                                                 \
    } while (0)

/* --- the model --- */

enum ostatus { CREATED, PAID, SHIPPED, DELIVERED, COMPLETED, CANCELLED, REFUNDED };
static const char *const ostatus_names[] = {"created",   "paid",      "shipped", "delivered",
                                            "completed", "cancelled", "refunded"};
enum cstatus { C_NONE, C_PENDING, C_AVAILABLE, C_REVERSED, C_WITHHELD };
enum wstatus { W_REQUESTED, W_APPROVED, W_PAID, W_REJECTED };

struct member {
    char login[24];
    char *token;
    int64_t user_id;
    int promoter; /* index, or -1 */
    bool trial;
    int bound;        /* promoter index, or -1 */
    int64_t bound_at; /* virtual time */
};

struct promoter {
    int member;
    int64_t id;
    int inviter; /* index, or -1 */
    bool active;
    char code[16], ref[64];
    int64_t pending, available, withdrawing, withdrawn;
};

struct commission {
    enum cstatus status;
    int promoter;
    int64_t weighted, amount;
};

struct order {
    int64_t id;
    int buyer;
    enum ostatus status;
    int64_t total, refunded;
    int64_t w1, w2; /* sum of line x bps per level */
    int promoter;   /* attributed level 1, or -1 */
    int64_t created_at, paid_at, shipped_at, delivered_at;
    bool delivered; /* delivered_at set */
    int64_t open_refund, open_amount;
    struct commission c[2];
};

struct withdrawal {
    int64_t id;
    int promoter;
    int64_t amount;
    enum wstatus status;
};

static char *owner;
static int64_t shop, walnut, gift, trial_product;
static int64_t now; /* virtual time: the sum of the clock's advances */
static int64_t logged_in_at;
static struct member members[MEMBERS];
static int n_members;
static struct promoter promoters[PROMOTERS_MAX];
static int n_promoters;
static struct order orders[ORDERS_MAX];
static int n_orders;
static struct withdrawal withdrawals[WITHDRAWALS_MAX];
static int n_withdrawals;
static int keys;

static long call(const char *token, const char *method, const char *path, const char *body,
                 struct resp *r)
{
    return http(&S, method, path, token, body, r);
}

static void expect_status(struct resp *r, long want)
{
    if (r->status != want)
        fprintf(stderr, "answer: %s\n", r->body ? r->body : "");
    EXPECT_EQ("HTTP status", r->status, want);
}

/* --- the rules, as the model states them --- */

static bool binding_holds(const struct member *m)
{
    return m->bound >= 0 && now - m->bound_at < BINDING_DAYS * DAY && promoters[m->bound].active;
}

static bool sold_recently(int p)
{
    for (int i = 0; i < n_orders; i++) {
        const struct order *o = &orders[i];
        if (o->promoter == p && o->paid_at >= 0 && now - o->paid_at < L2_ACTIVE_DAYS * DAY &&
            o->status != REFUNDED && o->status != CANCELLED)
            return true;
    }
    return false;
}

static bool experienced(int m)
{
    if (members[m].trial)
        return true;
    for (int i = 0; i < n_orders; i++)
        if (orders[i].buyer == m && orders[i].delivered && orders[i].status != REFUNDED)
            return true;
    return false;
}

static void settle_commission(struct commission *c)
{
    if (c->status != C_PENDING)
        return;
    promoters[c->promoter].pending -= c->amount;
    promoters[c->promoter].available += c->amount;
    c->status = C_AVAILABLE;
}

static int64_t floor_div(int64_t a, int64_t b, int64_t c)
{
    int64_t q = 0;
    assert_true(money_muldiv_floor(a, b, c, &q));
    return q;
}

/* --- steps --- */

static void op_member(void)
{
    op = "register";
    if (n_members == MEMBERS)
        return;
    struct member *m = &members[n_members];
    snprintf(m->login, sizeof m->login, "1370000%04d", n_members);
    m->token = register_user(&S, m->login, "成员", &m->user_id);
    m->promoter = m->bound = -1;
    n_members++;
}

static void op_trial(void)
{
    op = "trial";
    int m = pick(n_members);
    struct resp r;
    call(owner, "POST", fmt("/api/v1/shops/%lld/trials", (long long)shop),
         fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)members[m].user_id,
             (long long)trial_product),
         &r);
    expect_status(&r, members[m].trial ? 409 : 201);
    members[m].trial = true;
    resp_free(&r);
}

static bool in_line_above(int from, int who)
{
    for (int cur = from, n = 0; cur >= 0 && n <= PROMOTERS_MAX; n++, cur = promoters[cur].inviter)
        if (cur == who)
            return true;
    return false;
}

static void op_apply(void)
{
    op = "apply";
    int m = pick(n_members);
    int inv = n_promoters && pick(3) ? pick(n_promoters) : -1;
    struct member *mb = &members[m];
    struct resp r;
    if (mb->promoter < 0 && n_promoters == PROMOTERS_MAX)
        return; /* the model holds no more */
    call(mb->token, "POST", fmt("/api/v1/shops/%lld/promoters", (long long)shop),
         inv >= 0 ? fmt("{\"invite_code\":\"%s\"}", promoters[inv].code) : NULL, &r);
    long want;
    if (inv >= 0 && !promoters[inv].active)
        want = 422; /* the inviter must be active */
    else if (mb->promoter >= 0) {
        struct promoter *p = &promoters[mb->promoter];
        if (inv < 0 || p->inviter >= 0)
            want = 409;
        else if (inv == mb->promoter || in_line_above(inv, mb->promoter))
            want = 422; /* RULE: NO-CYCLES / NO-SELF */
        else {
            want = 200;
            p->inviter = inv;
        }
    } else if (!experienced(m)) {
        want = 403; /* RULE: EXPERIENCE-FIRST */
    } else {
        want = 201;
    }
    expect_status(&r, want);
    if (want == 201) {
        struct promoter *p = &promoters[n_promoters];
        memset(p, 0, sizeof *p);
        p->member = m;
        p->id = jint(r.json, "id");
        p->inviter = inv;
        p->active = true;
        snprintf(p->code, sizeof p->code, "%s", jstr(r.json, "invite_code"));
        snprintf(p->ref, sizeof p->ref, "%s", jstr(r.json, "ref_token"));
        mb->promoter = n_promoters++;
    }
    resp_free(&r);
}

static void op_suspend(void)
{
    op = "suspend/approve";
    if (!n_promoters)
        return;
    int p = pick(n_promoters);
    bool approve = !promoters[p].active;
    struct resp r;
    call(owner, "POST",
         fmt("/api/v1/promoters/%lld/%s", (long long)promoters[p].id,
             approve ? "approve" : "suspend"),
         NULL, &r);
    expect_status(&r, 200);
    promoters[p].active = approve;
    resp_free(&r);
}

static void bind(struct member *m, int p)
{
    m->bound = p;
    m->bound_at = now;
}

static void op_open_link(void)
{
    op = "open link";
    if (!n_promoters)
        return;
    int m = pick(n_members), p = pick(n_promoters);
    struct member *mb = &members[m];
    struct resp r;
    call(mb->token, "POST", fmt("/api/v1/s/%s/visit", promoters[p].ref), NULL, &r);
    if (!promoters[p].active) {
        expect_status(&r, 404);
    } else {
        expect_status(&r, 200);
        bool self = promoters[p].member == m;
        if (!self && !binding_holds(mb))
            bind(mb, p);
        EXPECT_EQ("bound", json_is_true(jget(r.json, "bound")), !self && mb->bound == p);
    }
    resp_free(&r);
}

static void op_unbind(void)
{
    op = "unbind";
    int m = pick(n_members);
    struct member *mb = &members[m];
    struct resp r;
    call(mb->token, "DELETE", fmt("/api/v1/me/binding?shop_id=%lld", (long long)shop), NULL, &r);
    bool live = mb->bound >= 0 && now - mb->bound_at < BINDING_DAYS * DAY;
    expect_status(&r, live ? 200 : 404);
    if (live)
        mb->bound = -1;
    resp_free(&r);
}

static void op_order(void)
{
    op = "order";
    if (n_orders == ORDERS_MAX)
        return;
    int m = pick(n_members);
    struct member *mb = &members[m];
    int p = n_promoters && pick(2) ? pick(n_promoters) : -1;
    bool two = pick(4) == 0;
    int64_t q1 = 1 + pick(3), q2 = 1;
    char key[48], body[700], share[96] = "";
    snprintf(key, sizeof key, "Idempotency-Key: model-%d", ++keys);
    if (p >= 0)
        snprintf(share, sizeof share, ",\"share_token\":\"%s\"", promoters[p].ref);
    if (two)
        snprintf(body, sizeof body,
                 "{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":%lld},"
                 "{\"product_id\":%lld,\"qty\":%lld}]%s,\"address\":{\"name\":\"模\","
                 "\"phone\":\"13700000000\",\"region\":\"杭州\",\"line\":\"一号\"}}",
                 (long long)shop, (long long)walnut, (long long)q1, (long long)gift, (long long)q2,
                 share);
    else
        snprintf(body, sizeof body,
                 "{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":%lld}]%s,"
                 "\"address\":{\"name\":\"模\",\"phone\":\"13700000000\",\"region\":\"杭州\","
                 "\"line\":\"一号\"}}",
                 (long long)shop, (long long)(pick(2) ? walnut : gift), (long long)q1, share);
    const char *h[] = {key, NULL};
    struct resp r;
    http_ex(&S, "POST", "/api/v1/orders", mb->token, body, h, &r);
    expect_status(&r, 201);
    struct order *o = &orders[n_orders++];
    memset(o, 0, sizeof *o);
    o->id = jint(r.json, "id");
    o->buyer = m;
    o->status = CREATED;
    o->total = jint(r.json, "total_fen");
    o->paid_at = o->shipped_at = o->delivered_at = -1;
    o->created_at = now;
    for (size_t i = 0; i < json_array_size(jget(r.json, "items")); i++) {
        json_t *it = json_array_get(jget(r.json, "items"), i);
        bool is_gift = json_integer_value(json_object_get(it, "product_id")) == gift;
        int64_t line = json_integer_value(json_object_get(it, "line_fen"));
        o->w1 += line * (is_gift ? GIFT_L1 : L1_BPS);
        o->w2 += line * (is_gift ? GIFT_L2 : L2_BPS);
    }
    /* RULE: BINDING - a holding binding first, then the link */
    o->promoter = -1;
    if (binding_holds(mb)) {
        o->promoter = mb->bound;
    } else if (p >= 0 && promoters[p].active && promoters[p].member != m) {
        o->promoter = p;
        bind(mb, p);
    }
    json_t *attr = jget(r.json, "attribution");
    EXPECT_EQ("order's promoter", json_is_object(attr) ? jint(attr, "promoter_id") : -1,
              o->promoter >= 0 ? promoters[o->promoter].id : -1);
    resp_free(&r);
}

static struct order *order_in(enum ostatus a, enum ostatus b)
{
    int start = pick(n_orders);
    for (int k = 0; k < n_orders; k++) {
        struct order *o = &orders[(start + k) % n_orders];
        if (o->status == a || o->status == b)
            return o;
    }
    return NULL;
}

static void op_pay(void)
{
    op = "pay";
    struct order *o = order_in(CREATED, CREATED);
    if (!o)
        return;
    struct resp r;
    call(owner, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)o->id), NULL, &r);
    expect_status(&r, 200);
    resp_free(&r);
    o->status = PAID;
    o->paid_at = now;
    int l1 = o->promoter;
    if (l1 < 0 || !promoters[l1].active)
        return;
    o->c[0] = (struct commission){C_PENDING, l1, o->w1, o->w1 / 10000};
    promoters[l1].pending += o->c[0].amount;
    int l2 = promoters[l1].inviter; /* RULE: TWO-LEVELS - and no further */
    if (l2 < 0 || !promoters[l2].active)
        return;
    if (promoters[l2].member == o->buyer || !sold_recently(l2)) {
        o->c[1] = (struct commission){C_WITHHELD, l2, o->w2, 0};
        return;
    }
    o->c[1] = (struct commission){C_PENDING, l2, o->w2, o->w2 / 10000};
    promoters[l2].pending += o->c[1].amount;
}

static void op_ship_receive(void)
{
    op = "ship/receive";
    struct order *o = order_in(PAID, SHIPPED);
    if (!o)
        return;
    struct resp r;
    if (o->status == PAID) {
        call(owner, "POST", fmt("/api/v1/orders/%lld/ship", (long long)o->id),
             "{\"carrier\":\"圆通\",\"tracking\":\"YT1\"}", &r);
        expect_status(&r, 200);
        o->status = SHIPPED;
        o->shipped_at = now;
    } else {
        call(members[o->buyer].token, "POST", fmt("/api/v1/orders/%lld/receive", (long long)o->id),
             NULL, &r);
        expect_status(&r, 200);
        o->status = DELIVERED;
        o->delivered = true;
        o->delivered_at = now;
    }
    resp_free(&r);
}

static void op_cancel(void)
{
    op = "cancel";
    if (!n_orders)
        return;
    struct order *o = &orders[pick(n_orders)];
    struct resp r;
    call(members[o->buyer].token, "POST", fmt("/api/v1/orders/%lld/cancel", (long long)o->id), NULL,
         &r);
    expect_status(&r, o->status == CREATED ? 200 : 409);
    if (o->status == CREATED)
        o->status = CANCELLED;
    resp_free(&r);
}

static void op_refund_request(void)
{
    op = "refund request";
    if (!n_orders)
        return;
    struct order *o = &orders[pick(n_orders)];
    bool can = (o->status == PAID || o->status == SHIPPED || o->status == DELIVERED ||
                o->status == COMPLETED) &&
               !o->open_refund;
    int64_t left = o->total - o->refunded;
    int64_t amount = left > 0 ? (pick(3) == 0 ? left : 1 + (int64_t)(rnd() % (uint64_t)left)) : 1;
    struct resp r;
    call(members[o->buyer].token, "POST", fmt("/api/v1/orders/%lld/refunds", (long long)o->id),
         fmt("{\"amount_fen\":%lld,\"reason\":\"模型\"}", (long long)amount), &r);
    expect_status(&r, can ? 201 : 409);
    if (can) {
        o->open_refund = jint(r.json, "refund_id");
        o->open_amount = amount;
    }
    resp_free(&r);
}

/* RULE: CLAWBACK - each level down to what the remaining amount earns. */
static void clawback(struct order *o)
{
    for (int l = 0; l < 2; l++) {
        struct commission *c = &o->c[l];
        if (c->status != C_PENDING && c->status != C_AVAILABLE)
            continue;
        int64_t want = floor_div(c->weighted, o->total - o->refunded, o->total * 10000);
        if (want >= c->amount)
            continue;
        if (c->status == C_PENDING)
            promoters[c->promoter].pending -= c->amount - want;
        else
            promoters[c->promoter].available -= c->amount - want;
        c->amount = want;
        if (want == 0 && c->status == C_PENDING)
            c->status = C_REVERSED;
    }
}

static void op_refund_decide(void)
{
    op = "refund decision";
    struct order *o = NULL;
    int start = pick(n_orders);
    for (int k = 0; k < n_orders && !o; k++)
        if (orders[(start + k) % n_orders].open_refund)
            o = &orders[(start + k) % n_orders];
    if (!o)
        return;
    bool approve = pick(4) != 0;
    struct resp r;
    call(owner, "POST",
         fmt("/api/v1/refunds/%lld/%s", (long long)o->open_refund, approve ? "approve" : "reject"),
         NULL, &r);
    expect_status(&r, 200);
    resp_free(&r);
    if (approve) {
        o->refunded += o->open_amount;
        clawback(o);
        if (o->refunded == o->total)
            o->status = REFUNDED;
    }
    o->open_refund = 0;
}

static void op_withdraw(void)
{
    op = "withdrawal request";
    if (!n_promoters || n_withdrawals == WITHDRAWALS_MAX)
        return;
    int p = pick(n_promoters);
    struct promoter *pr = &promoters[p];
    int64_t amount = pick(5) == 0 ? 500
                     : pr->available > 0 && pick(4)
                         ? 1 + pick((int)(pr->available > 1000000 ? 1000000 : pr->available))
                         : 1500;
    struct resp r;
    call(members[pr->member].token, "POST", "/api/v1/me/withdrawals",
         fmt("{\"shop_id\":%lld,\"amount_fen\":%lld}", (long long)shop, (long long)amount), &r);
    long want = amount < WITHDRAW_MIN ? 400 : amount > pr->available ? 409 : 201;
    expect_status(&r, want);
    if (want == 201) {
        struct withdrawal *w = &withdrawals[n_withdrawals++];
        w->id = jint(r.json, "id");
        w->promoter = p;
        w->amount = amount;
        w->status = W_REQUESTED;
        pr->available -= amount;
        pr->withdrawing += amount;
    }
    resp_free(&r);
}

static void op_withdraw_decide(void)
{
    op = "withdrawal decision";
    if (!n_withdrawals)
        return;
    struct withdrawal *w = &withdrawals[pick(n_withdrawals)];
    struct promoter *p = &promoters[w->promoter];
    int act = pick(3); /* approve, pay, reject */
    static const char *const paths[] = {"approve", "pay", "reject"};
    bool open = w->status == W_REQUESTED || w->status == W_APPROVED;
    bool ok = act == 0 ? w->status == W_REQUESTED : open;
    struct resp r;
    call(owner, "POST", fmt("/api/v1/withdrawals/%lld/%s", (long long)w->id, paths[act]),
         act == 1 ? "{\"reference\":\"转账\"}" : NULL, &r);
    expect_status(&r, ok ? 200 : 409);
    resp_free(&r);
    if (!ok)
        return;
    if (act == 0) {
        w->status = W_APPROVED;
    } else if (act == 1) {
        w->status = W_PAID;
        p->withdrawing -= w->amount;
        p->withdrawn += w->amount;
    } else {
        w->status = W_REJECTED;
        p->withdrawing -= w->amount;
        p->available += w->amount;
    }
}

static char *login(const char *who)
{
    struct resp r;
    call(NULL, "POST", "/api/v1/auth/login",
         fmt("{\"login\":\"%s\",\"password\":\"%s\"}", who, TEST_PASSWORD), &r);
    expect_status(&r, 200);
    char *token = strdup(jstr(r.json, "token"));
    resp_free(&r);
    return token;
}

/* New sessions for everyone, long before the old ones end. */
static void relogin(void)
{
    op = "log in again";
    free(owner);
    owner = login("13700009999");
    for (int i = 0; i < n_members; i++) {
        free(members[i].token);
        members[i].token = login(members[i].login);
    }
    logged_in_at = now;
}

static void op_advance(void)
{
    op = "advance";
    static const int64_t choices[] = {HOUR, 6 * HOUR, DAY, 3 * DAY, 8 * DAY, 11 * DAY};
    int64_t ms = choices[pick(6)];
    if (now + ms - logged_in_at > RELOGIN_DAYS * DAY)
        relogin();
    op = "advance";
    struct resp r;
    call(owner, "POST", "/api/v1/test-clock", fmt("{\"advance_ms\":%lld}", (long long)ms), &r);
    expect_status(&r, 200);
    resp_free(&r);
    now += ms;
    /* the jobs, in the server's order: unpaid timeout, auto-receive, completion, settlement */
    for (int i = 0; i < n_orders; i++)
        if (orders[i].status == CREATED) /* 30 minutes to pay; every advance is longer */
            orders[i].status = CANCELLED;
    for (int i = 0; i < n_orders; i++) {
        struct order *o = &orders[i];
        if (o->status == SHIPPED && now - o->shipped_at >= AUTO_RECEIVE_DAYS * DAY) {
            o->status = DELIVERED;
            o->delivered = true;
            o->delivered_at = now;
        }
    }
    for (int i = 0; i < n_orders; i++) {
        struct order *o = &orders[i];
        if (o->status == DELIVERED && now - o->delivered_at >= SETTLE_DAYS * DAY && !o->open_refund)
            o->status = COMPLETED;
    }
    for (int i = 0; i < n_orders; i++) /* RULE: PENDING-THEN-SETTLED */
        if (orders[i].status == COMPLETED) {
            settle_commission(&orders[i].c[0]);
            settle_commission(&orders[i].c[1]);
        }
}

/* --- the check after every step --- */

static int find_promoter(int64_t id)
{
    for (int p = 0; p < n_promoters; p++)
        if (promoters[p].id == id)
            return p;
    return -1;
}

static struct order *find_order(int64_t id)
{
    /* ids grow with the index: a binary search */
    int lo = 0, hi = n_orders - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (orders[mid].id == id)
            return &orders[mid];
        if (orders[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static void check_ledger(void)
{
    int64_t problems = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(ledger_check(S.db, out, &problems), ERR_OK);
    fclose(out);
    if (problems)
        fprintf(stderr, "%s", text);
    free(text);
    EXPECT_EQ("ledger check problems", problems, 0);
    if (db_kind(S.db) == DB_POSTGRES) { /* the check lifts the statement limit for itself only */
        int64_t limit_s = 0;
        assert_int_equal(db_value(S.db,
                                  "SELECT CAST(EXTRACT(EPOCH FROM CAST(current_setting("
                                  "'statement_timeout') AS interval)) AS bigint)",
                                  &limit_s, DB_SKIP),
                         ERR_OK);
        assert_int_equal(limit_s, 30);
    }
}

/* Every promoter account's balance equals the model's. */
static void check_balances(void)
{
    struct db_stmt *st = NULL;
    bool row = false;
    int seen = 0;
    assert_int_equal(db_prepare(S.db,
                                "SELECT promoter_id, kind, balance_fen FROM ledger_accounts"
                                " WHERE kind IN ('pending', 'available', 'withdrawing')",
                                &st),
                     ERR_OK);
    while (db_step(st, &row) == ERR_OK && row) {
        int p = find_promoter(db_col_int64(st, 0));
        const char *kind = db_col_text(st, 1, NULL);
        int64_t got = db_col_int64(st, 2);
        if (p < 0) {
            EXPECT_EQ("balance of a promoter the model does not know", got, 0);
            continue;
        }
        const struct promoter *pr = &promoters[p];
        int64_t want = !strcmp(kind, "pending")     ? pr->pending
                       : !strcmp(kind, "available") ? pr->available
                                                    : pr->withdrawing;
        char what[80];
        snprintf(what, sizeof what, "promoter %lld %s_fen", (long long)pr->id, kind);
        if (got != want)
            db_done(st);
        EXPECT_EQ(what, got, want);
        seen++;
    }
    db_done(st);
    /* accounts open on first use: a promoter without one must be all zero */
    int64_t nonzero = 0;
    for (int p = 0; p < n_promoters; p++)
        nonzero += promoters[p].pending != 0 || promoters[p].available != 0 ||
                   promoters[p].withdrawing != 0;
    if (seen < nonzero)
        EXPECT_EQ("promoter accounts with a balance", seen, nonzero);
}

/* Every order's status and commission equal the model's. */
static void check_orders(void)
{
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t n = 0;
    assert_int_equal(db_prepare(S.db, "SELECT id, status, refunded_fen FROM orders", &st), ERR_OK);
    while (db_step(st, &row) == ERR_OK && row) {
        const struct order *o = find_order(db_col_int64(st, 0));
        if (!o)
            continue;
        n++;
        int64_t id = o->id, refunded = db_col_int64(st, 2);
        bool same = !strcmp(db_col_text(st, 1, NULL), ostatus_names[o->status]);
        if (!same || refunded != o->refunded)
            db_done(st);
        if (!same)
            fprintf(stderr, "order %lld: the model says %s\n", (long long)id,
                    ostatus_names[o->status]);
        EXPECT_EQ("order status matches", same, 1);
        EXPECT_EQ("order refunded_fen", refunded, o->refunded);
    }
    db_done(st);
    EXPECT_EQ("orders", n, n_orders);
    int64_t rows = 0, want_rows = 0;
    assert_int_equal(db_prepare(S.db, "SELECT order_id, level, amount_fen FROM commissions", &st),
                     ERR_OK);
    while (db_step(st, &row) == ERR_OK && row) {
        const struct order *o = find_order(db_col_int64(st, 0));
        int level = (int)db_col_int64(st, 1);
        int64_t got = db_col_int64(st, 2);
        rows++;
        char what[80];
        snprintf(what, sizeof what, "order %lld level-%d commission_fen",
                 (long long)db_col_int64(st, 0), level);
        int64_t want = o && level >= 1 && level <= 2 && o->c[level - 1].status != C_NONE
                           ? o->c[level - 1].amount
                           : -1;
        if (got != want)
            db_done(st);
        EXPECT_EQ(what, got, want);
    }
    db_done(st);
    for (int i = 0; i < n_orders; i++)
        want_rows += (orders[i].c[0].status != C_NONE) + (orders[i].c[1].status != C_NONE);
    EXPECT_EQ("commission rows", rows, want_rows);
}

static void check_step(void)
{
    check_balances();
    check_ledger();
    if (step % 20 == 0 || step == steps || !strcmp(op, "advance"))
        check_orders();
}

static void model_run(void **state)
{
    (void)state;
    rng_state = seed ? seed : 1;
    for (int i = 0; i < 6; i++)
        op_member();
    for (step = 1; step <= steps; step++) {
        int dice = pick(100);
        if (dice < 4)
            op_member();
        else if (dice < 9)
            op_trial();
        else if (dice < 16)
            op_apply();
        else if (dice < 18)
            op_suspend();
        else if (dice < 23)
            op_open_link();
        else if (dice < 25)
            op_unbind();
        else if (dice < 45)
            op_order();
        else if (dice < 58)
            op_pay();
        else if (dice < 70)
            op_ship_receive();
        else if (dice < 72)
            op_cancel();
        else if (dice < 78)
            op_refund_request();
        else if (dice < 83)
            op_refund_decide();
        else if (dice < 88)
            op_withdraw();
        else if (dice < 94)
            op_withdraw_decide();
        else
            op_advance();
        check_step();
    }
    int64_t paid = 0;
    for (int p = 0; p < n_promoters; p++)
        paid += promoters[p].withdrawn;
    fprintf(stderr,
            "# model: seed %llu, %ld steps, %d members, %d promoters, %d orders, %d withdrawals"
            " (%lld fen paid out), %lld virtual days\n",
            seed, steps, n_members, n_promoters, n_orders, n_withdrawals, (long long)paid,
            (long long)(now / DAY));
}

static int up(void **state)
{
    (void)state;
    const char *extra[] = {"--session-days", "365", NULL};
    srv_start(&S, extra);
    owner = register_user(&S, "13700009999", "模型店主", NULL);
    shop = create_shop(&S, owner, "model-shop");
    struct resp r;
    http(&S, "PATCH", fmt("/api/v1/shops/%lld", (long long)shop), owner,
         "{\"promoter_auto_approve\":true,\"buyer_cap_30d\":1000,\"withdraw_daily_fen\":100000000}",
         &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    const char *products[] = {
        "{\"title\":\"核桃\",\"price_fen\":10000,\"stock\":1000000,\"status\":\"on_sale\"}",
        "{\"title\":\"礼盒\",\"price_fen\":999,\"stock\":1000000,\"status\":\"on_sale\","
        "\"l1_bps\":2000,\"l2_bps\":1000}",
        "{\"title\":\"试吃\",\"price_fen\":100,\"stock\":10,\"status\":\"draft\","
        "\"trial_available\":true}",
    };
    int64_t *ids[] = {&walnut, &gift, &trial_product};
    for (int i = 0; i < 3; i++) {
        http(&S, "POST", fmt("/api/v1/shops/%lld/products", (long long)shop), owner, products[i],
             &r);
        assert_int_equal(r.status, 201);
        *ids[i] = jint(r.json, "id");
        resp_free(&r);
    }
    return 0;
}

static int down(void **state)
{
    for (int i = 0; i < n_members; i++)
        free(members[i].token);
    free(owner);
    return srv_group_down(state);
}

int main(int argc, char **argv)
{
    const char *env_steps = getenv("QUANZI_MODEL_STEPS");
    const char *env_seed = getenv("QUANZI_MODEL_SEED");
    if (env_steps)
        steps = strtol(env_steps, NULL, 10);
    seed = env_seed ? strtoull(env_seed, NULL, 10) : (unsigned long long)time(NULL);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
    }
    fprintf(stderr, "# model: seed %llu, %ld steps\n", seed, steps);
    const struct CMUnitTest tests[] = {cmocka_unit_test(model_run)};
    return cmocka_run_group_tests(tests, up, down);
}
