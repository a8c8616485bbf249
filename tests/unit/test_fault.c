/*
 * The order and money paths through a store that fails on purpose
 * (db/fault.h), on SQLite and (QUANZI_TEST_DB=postgres) PostgreSQL.
 *
 * A scenario of 24 steps - orders created (and one replayed) under their
 * Idempotency-Keys through promoters' links at both levels, payments,
 * shipping, receipt, a partial and a full refund, a cancellation, the jobs
 * that complete orders and settle commission, withdrawals asked, approved,
 * paid and rejected - runs first on a store that never fails, which gives
 * each step's fingerprint (row counts, statuses, stock, balances per
 * account kind: nothing that ids or times change) and its count of calls.
 *
 * Then, on a second store, each step runs with its 1st, 2nd ... call failing
 * with a fatal error, until it runs whole (and then as in the clean run).
 * After every failure the step must have answered an error and, for a step
 * that is one transaction, left the fingerprint as it was (nothing
 * half-written); the job that completes orders, one transaction per order,
 * must leave only whole ones. After every attempt the ledger check finds
 * nothing.
 *
 * Last, on fresh stores, the scenario runs three more times with one call of
 * every step lost to a serialization race (its first call, one in the
 * middle, its first commit): db_tx_run() runs the transaction again, and
 * every step succeeds with the clean run's fingerprint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/fault.h"
#include "db/migrate.h"
#include "domain/catalog.h"
#include "domain/commission.h"
#include "domain/idempotency.h"
#include "domain/ledger.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/promoter.h"
#include "domain/shop.h"
#include "domain/withdrawal.h"
#include "util/clock.h"
#include "util/log.h"

#include "store.h"

#define DAY_MS (24LL * 60 * 60 * 1000)
#define FP_BYTES 4096

/* A fresh, migrated store of its own. */
static void store_open(struct store *s)
{
    int applied = 0;
    struct errinfo ei = {0};
    assert_int_equal(store_create(s, "fault"), 0);
    assert_int_equal(migrate_run(s->db, &applied, &ei), ERR_OK);
}

/* --- the fingerprint: what a step changes, without ids or times --- */

static const char *const fp_queries[] = {
    "SELECT COUNT(*) FROM orders",
    "SELECT COUNT(*) FROM order_items",
    "SELECT COUNT(*) FROM order_events",
    "SELECT COUNT(*) FROM payments",
    "SELECT COUNT(*) FROM buyer_cap_units",
    "SELECT COUNT(*) FROM idempotency_keys",
    "SELECT COUNT(*) FROM bindings",
    "SELECT COUNT(*) FROM binding_history",
    "SELECT COUNT(*) FROM audit_events",
    "SELECT COUNT(*) FROM ledger_txns",
    "SELECT COUNT(*) FROM ledger_entries",
    "SELECT COUNT(*) FROM ledger_accounts",
    "SELECT COUNT(*), COALESCE(SUM(weight_milli), 0) FROM member_interests",
    "SELECT status, COUNT(*), SUM(total_fen), SUM(refunded_fen) FROM orders GROUP BY status"
    " ORDER BY status",
    "SELECT status, COUNT(*), SUM(amount_fen) FROM refunds GROUP BY status ORDER BY status",
    "SELECT status, level, COUNT(*), SUM(amount_fen) FROM commissions GROUP BY status, level"
    " ORDER BY status, level",
    "SELECT status, COUNT(*), SUM(amount_fen) FROM withdrawals GROUP BY status ORDER BY status",
    "SELECT SUM(stock), SUM(sold), SUM(stock_in) FROM products",
    "SELECT kind, SUM(balance_fen) FROM ledger_accounts GROUP BY kind ORDER BY kind",
    "SELECT carrier, tracking FROM orders WHERE carrier IS NOT NULL ORDER BY carrier, tracking",
};

static void fingerprint(struct db *db, char *out)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t q = 0; q < sizeof fp_queries / sizeof fp_queries[0]; q++) {
        struct db_stmt *st = NULL;
        enum err e = db_prepare_uncached(db, fp_queries[q], &st);
        assert_int_equal(e, ERR_OK);
        while (db_next(st, &e))
            for (int c = 0; c < db_col_count(st); c++) {
                const char *t = db_col_text(st, c, NULL);
                len += (size_t)snprintf(out + len, FP_BYTES - len, "%s,", t ? t : "null");
                assert_true(len < FP_BYTES);
            }
        assert_int_equal(e, ERR_OK);
        db_done(st);
        len += (size_t)snprintf(out + len, FP_BYTES - len, "|");
    }
}

static void ledger_clean(struct db *db)
{
    int64_t problems = -1;
    assert_int_equal(ledger_check(db, stderr, &problems), ERR_OK);
    assert_int_equal(problems, 0);
}

/* --- the shop and its people, made without faults --- */

struct world {
    struct arena a;
    int64_t owner, buyer, buyer2, p1_user, p2_user, shop, product;
    const char *p1_token, *p2_token;
    int64_t order_a, order_d, order_e, order_f, refund_a, refund_f, withdrawal, withdrawal2;
    int64_t future; /* past every return window: the jobs' "now" */
    struct errinfo ei;
};

static int64_t add_user(struct db *db, const char *login, const char *name)
{
    static const char sql[] = "INSERT INTO users (login, password_hash, display_name, is_admin,"
                              " created_at) VALUES (?, 'x', ?, 0, ?) RETURNING id";
    int64_t id = 0;
    assert_int_equal(db_value(db, sql, &id, DB_STR(login), DB_STR(name), DB_INT(clock_now_ms())),
                     ERR_OK);
    return id;
}

static void world_make(struct db *db, struct world *w)
{
    struct errinfo ei = {0};
    struct shop shop;
    struct promoter p1, p2;
    bool created = false;
    int64_t trial = 0;
    memset(w, 0, sizeof *w);
    arena_init(&w->a, 4 << 20);
    w->owner = add_user(db, "13900000001", "老周");
    w->buyer = add_user(db, "13900000002", "王老师");
    w->buyer2 = add_user(db, "13900000003", "李阿姨");
    w->p1_user = add_user(db, "13900000004", "小陈");
    w->p2_user = add_user(db, "13900000005", "小刘");
    assert_int_equal(
        shop_create(db, w->owner, "山里核桃", 12, "walnuts", 7, "", 0, 30, &w->a, &shop, &ei),
        ERR_OK);
    w->shop = shop.id;
    struct shop_patch patch = {.set[SHOP_SET_promoter_auto_approve] = true};
    patch.settings.promoter_auto_approve = true;
    assert_int_equal(shop_update(db, w->shop, &patch, &ei), ERR_OK);
    struct product_input in = {.title = "核桃",
                               .title_len = 6,
                               .has_price = true,
                               .price_fen = 50000,
                               .has_stock = true,
                               .stock = 100,
                               .has_status = true,
                               .status = PRODUCT_ON_SALE,
                               .has_trial = true,
                               .trial_available = true};
    assert_int_equal(catalog_create(db, w->shop, &in, &w->a, &w->product, &ei), ERR_OK);
    assert_int_equal(trial_grant(db, w->shop, w->product, w->p1_user, w->owner, &trial, &ei),
                     ERR_OK);
    assert_int_equal(trial_grant(db, w->shop, w->product, w->p2_user, w->owner, &trial, &ei),
                     ERR_OK);
    assert_int_equal(promoter_apply(db, w->shop, w->p1_user, NULL, &w->a, &p1, &created, &ei),
                     ERR_OK);
    assert_true(created);
    assert_int_equal(
        promoter_apply(db, w->shop, w->p2_user, p1.invite_code, &w->a, &p2, &created, &ei), ERR_OK);
    assert_int_equal(p2.inviter_id, p1.id);
    w->p1_token = p1.ref_token;
    w->p2_token = p2.ref_token;
    w->future = clock_now_ms() + 120 * DAY_MS;
}

/* --- the steps --- */

/* The answer of a create: the order's id. */
static const char *create_render(struct order_keyed *k, struct arena *a)
{
    char *s = arena_alloc(a, 32);
    if (s)
        snprintf(s, 32, "%lld", (long long)k->out.id);
    return s;
}

static const char *create_refusal(struct order_keyed *k, enum err e, struct arena *a)
{
    (void)k;
    return arena_strdup(a, err_code(e));
}

/* Creates an order of one unit under `key`, as POST /orders does; *id on success. */
static enum err create(struct db *db, struct world *w, int64_t buyer, const char *token,
                       const char *key, int64_t *id, enum idem_state want)
{
    struct order_item_in item = {.product_id = w->product, .qty = 1};
    struct order_new in = {.shop_id = w->shop,
                           .buyer_id = buyer,
                           .items = &item,
                           .n_items = 1,
                           .share_token = token,
                           .address = {"王老师", "13900000002", "北京", "1号", 9, 11, 6, 4}};
    char hash[65];
    idem_hash(key, strlen(key), hash);
    struct errinfo ei = {0};
    struct order_keyed k = {
        .in = &in, .a = &w->a, .ei = &ei, .render = create_render, .refusal = create_refusal};
    enum err e = order_create_keyed(db, &k, key, hash);
    const struct idem_call *call = &k.call;
    if (e == ERR_OK) {
        assert_int_equal(call->state, want);
        assert_int_equal(call->status, 201);
        assert_int_equal(strtoll(call->rendered, NULL, 10), k.out.id);
        if (want == IDEM_REPLAY)
            assert_int_equal(k.out.id, *id);
        *id = k.out.id;
    }
    return e;
}

static enum err pay(struct db *db, struct world *w, int64_t order)
{
    struct errinfo ei = {0};
    struct payment p = {
        .provider = "offline", .order_id = order, .actor_id = w->owner, .by_shop = true};
    return payment_apply(db, &p, &ei);
}

static enum err s_create_a(struct db *db, struct world *w)
{
    return create(db, w, w->buyer, w->p1_token, "order-a", &w->order_a, IDEM_NEW);
}

static enum err s_replay_a(struct db *db, struct world *w)
{
    return create(db, w, w->buyer, w->p1_token, "order-a", &w->order_a, IDEM_REPLAY);
}

static enum err s_pay_a(struct db *db, struct world *w)
{
    return pay(db, w, w->order_a);
}

static enum err s_create_d(struct db *db, struct world *w)
{
    return create(db, w, w->buyer2, w->p2_token, "order-d", &w->order_d, IDEM_NEW);
}

static enum err s_pay_d(struct db *db, struct world *w)
{
    return pay(db, w, w->order_d); /* level 1 to p2, level 2 to p1, who sold recently */
}

static enum err s_ship_a(struct db *db, struct world *w)
{
    return order_ship(db, w->order_a, "顺丰", 6, "SF1001", 6, w->owner, &w->ei);
}

static enum err s_receive_a(struct db *db, struct world *w)
{
    return order_receive(db, w->order_a, w->buyer, &w->ei);
}

static enum err s_refund_ask_a(struct db *db, struct world *w)
{
    return refund_request(db, w->order_a, w->buyer, 5000, "一袋压碎了", 15, &w->refund_a, &w->ei);
}

static enum err s_refund_approve_a(struct db *db, struct world *w)
{
    return refund_decide(db, w->refund_a, true, w->owner, "抱歉", 6, &w->ei);
}

static enum err s_ship_d(struct db *db, struct world *w)
{
    return order_ship(db, w->order_d, "圆通", 6, "YT2002", 6, w->owner, &w->ei);
}

static enum err s_receive_d(struct db *db, struct world *w)
{
    return order_receive(db, w->order_d, w->buyer2, &w->ei);
}

static enum err s_complete(struct db *db, struct world *w)
{
    int64_t moved = 0;
    return order_complete_due(db, w->future, &moved);
}

static enum err s_settle(struct db *db, struct world *w)
{
    int64_t moved = 0;
    return commission_settle(db, w->future, 1000, &moved);
}

static enum err s_withdraw(struct db *db, struct world *w)
{
    return withdrawal_request(db, w->shop, w->p1_user, 2000, &w->withdrawal, &w->ei);
}

static enum err s_withdraw_approve(struct db *db, struct world *w)
{
    return withdrawal_decide(db, w->withdrawal, WITHDRAWAL_APPROVE, w->owner, NULL, 0, &w->ei);
}

static enum err s_withdraw_pay(struct db *db, struct world *w)
{
    return withdrawal_decide(db, w->withdrawal, WITHDRAWAL_PAY, w->owner, "TR-1", 4, &w->ei);
}

static enum err s_withdraw_again(struct db *db, struct world *w)
{
    return withdrawal_request(db, w->shop, w->p1_user, 1000, &w->withdrawal2, &w->ei);
}

static enum err s_withdraw_reject(struct db *db, struct world *w)
{
    return withdrawal_decide(db, w->withdrawal2, WITHDRAWAL_REJECT, w->owner, "再等等", 9, &w->ei);
}

static enum err s_create_e(struct db *db, struct world *w)
{
    return create(db, w, w->buyer2, NULL, "order-e", &w->order_e, IDEM_NEW);
}

static enum err s_cancel_e(struct db *db, struct world *w)
{
    return order_cancel(db, w->order_e, w->buyer2, "不要了", &w->ei);
}

static enum err s_create_f(struct db *db, struct world *w)
{
    return create(db, w, w->buyer, NULL, "order-f", &w->order_f, IDEM_NEW);
}

static enum err s_pay_f(struct db *db, struct world *w)
{
    return pay(db, w, w->order_f);
}

static enum err s_refund_ask_f(struct db *db, struct world *w)
{
    return refund_request(db, w->order_f, w->buyer, 50000, "买错了", 9, &w->refund_f, &w->ei);
}

static enum err s_refund_approve_f(struct db *db, struct world *w)
{
    return refund_decide(db, w->refund_f, true, w->owner, NULL, 0, &w->ei);
}

static const struct step {
    const char *name;
    enum err (*fn)(struct db *db, struct world *w);
    bool whole; /* one transaction: a failure leaves nothing; else whole transactions only */
} steps[] = {
    {"create A through p1's link", s_create_a, true},
    {"replay the create of A", s_replay_a, true},
    {"pay A", s_pay_a, true},
    {"create D through p2's link", s_create_d, true},
    {"pay D (two levels)", s_pay_d, true},
    {"ship A", s_ship_a, true},
    {"receive A", s_receive_a, true},
    {"ask a partial refund of A", s_refund_ask_a, true},
    {"approve it (clawback)", s_refund_approve_a, true},
    {"ship D", s_ship_d, true},
    {"receive D", s_receive_d, true},
    {"complete the orders due", s_complete, false},
    {"settle commission", s_settle, true},
    {"ask a withdrawal", s_withdraw, true},
    {"approve it", s_withdraw_approve, true},
    {"pay it", s_withdraw_pay, true},
    {"ask another withdrawal", s_withdraw_again, true},
    {"reject it", s_withdraw_reject, true},
    {"create E", s_create_e, true},
    {"cancel E", s_cancel_e, true},
    {"create F", s_create_f, true},
    {"pay F", s_pay_f, true},
    {"ask a full refund of F", s_refund_ask_f, true},
    {"approve it (stock back, commission reversed)", s_refund_approve_f, true},
};
#define STEPS (sizeof steps / sizeof steps[0])

/* One run of step k through the fault store with `plan`. */
static enum err run_step(struct db *inner, struct world *w, size_t k, struct db_fault *plan)
{
    struct db *db = NULL;
    plan->calls = 0;
    plan->fired = false;
    assert_int_equal(db_fault_wrap(inner, plan, &db), ERR_OK);
    enum err e = steps[k].fn(db, w);
    assert_false(db_in_tx(db)); /* nothing left open, whatever failed */
    db_close(db);
    return e;
}

static char clean_fp[STEPS][FP_BYTES];
static int64_t clean_calls[STEPS];

/* The scenario on a store that never fails: each step's fingerprint and calls. */
static void clean_run(void **state)
{
    (void)state;
    struct store s;
    struct world w;
    store_open(&s);
    world_make(s.db, &w);
    for (size_t k = 0; k < STEPS; k++) {
        struct db_fault plan = {0};
        enum err e = run_step(s.db, &w, k, &plan);
        if (e)
            fail_msg("step %zu (%s): %s", k, steps[k].name, err_code(e));
        assert_false(plan.fired);
        clean_calls[k] = plan.calls;
        fingerprint(s.db, clean_fp[k]);
        ledger_clean(s.db);
    }
    /* the scenario did what it says: two levels paid, settled, paid out, refunded */
    assert_string_not_equal(clean_fp[4], clean_fp[3]);
    assert_non_null(strstr(clean_fp[STEPS - 1], "paid,1,2000,"));
    assert_non_null(strstr(clean_fp[STEPS - 1], "rejected,1,1000,"));
    assert_non_null(strstr(clean_fp[STEPS - 1], "refunded,1,50000,50000,"));
    assert_non_null(strstr(clean_fp[STEPS - 1], "cancelled,1,50000,0,"));
    arena_release(&w.a);
    store_destroy(&s);
}

/*
 * Every call of every step fails once, fatally, until the step runs whole; in
 * a second store each step's first commit is lost to a race once.
 */
static void fatal_faults(void **state)
{
    (void)state;
    struct store s;
    struct world w;
    char before[FP_BYTES], after[FP_BYTES];
    int64_t failures = 0;
    store_open(&s);
    world_make(s.db, &w);
    for (size_t k = 0; k < STEPS; k++) {
        for (int64_t n = 1;; n++) {
            struct db_fault plan = {.fail_at = n, .error = ERR_DB};
            /* how many calls a step makes varies a little with what the process
             * remembers (the ledger's account ids): bounded well above the clean run's */
            assert_true(n <= 2 * clean_calls[k] + 10);
            fingerprint(s.db, before);
            enum err e = run_step(s.db, &w, k, &plan);
            fingerprint(s.db, after);
            if (!plan.fired) { /* it ran whole */
                if (e)
                    fail_msg("step %zu (%s): %s", k, steps[k].name, err_code(e));
                assert_string_equal(after, clean_fp[k]);
                break;
            }
            if (e == ERR_OK)
                fail_msg("step %zu (%s): call %lld failed, and the step answered ok", k,
                         steps[k].name, (long long)n);
            if (steps[k].whole && strcmp(before, after) != 0)
                fail_msg("step %zu (%s): call %lld failed and left a change:\n%s\n%s", k,
                         steps[k].name, (long long)n, before, after);
            ledger_clean(s.db);
            failures++;
        }
        ledger_clean(s.db);
    }
    print_message("%lld runs with a failing call; none answered ok, none left a part\n",
                  (long long)failures);
    arena_release(&w.a);
    store_destroy(&s);
}

/*
 * The scenario again on fresh stores, one call of every step lost to a race:
 * its first call, one in the middle, its first commit. db_tx_run() runs the
 * transaction again, and the step ends as in the clean run.
 */
static void lost_races(void **state)
{
    (void)state;
    for (int pass = 0; pass < 3; pass++) {
        struct store s;
        struct world w;
        char after[FP_BYTES];
        store_open(&s);
        world_make(s.db, &w);
        for (size_t k = 0; k < STEPS; k++) {
            struct db_fault plan = {.fail_at = pass == 1 ? 1 + clean_calls[k] / 2 : 1,
                                    .error = ERR_RETRY,
                                    .commits_only = pass == 2};
            int64_t n = plan.fail_at;
            enum err e = run_step(s.db, &w, k, &plan);
            assert_true(plan.fired || pass == 1);
            if (e == ERR_RETRY && !steps[k].whole) {
                /* a job's own reads are outside its transactions: it stops, and runs again */
                plan = (struct db_fault){0};
                e = run_step(s.db, &w, k, &plan);
            }
            if (e)
                fail_msg("step %zu (%s): call %lld lost a race: %s", k, steps[k].name, (long long)n,
                         err_code(e));
            fingerprint(s.db, after);
            assert_string_equal(after, clean_fp[k]);
            ledger_clean(s.db);
        }
        arena_release(&w.a);
        store_destroy(&s);
    }
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_run),
        cmocka_unit_test(fatal_faults),
        cmocka_unit_test(lost_races),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
