/*
 * bench_growth - grows a store to N orders for bench/growth.sh (issue 18), through the
 * store's own code, and says what to measure on it.
 *
 *   bench_growth grow DB N        grows the store at DB (a SQLite path or a postgresql:// URL;
 *                                 a new one is migrated and given its first shops) to N
 *                                 orders, from what is there
 *   bench_growth targets DB DIR   fresh sessions and the ids to measure, as shell assignments
 *                                 on stdout; DIR/tokens: LOAD_BUYERS buyers' session tokens
 *
 * The shape, decided order by order (xorshift from a seed kept with the count, so a grown
 * store is the same however it was grown in stages):
 *   - shops: 10 at first, then one more every 5,000 orders; each order's shop is drawn as
 *     floor(shops * u^3), so the oldest shops are large and most are small (at 200 shops the
 *     largest takes 1 order in 6); 3-30 products a shop; 1-4 promoters a shop (a trial, then
 *     promoter_apply);
 *   - buyers: a new one for 1 order in 4, else floor(buyers * u^2): most have a handful of
 *     orders, the oldest hundreds;
 *   - 3 in 10 orders come through a promoter's link (commission, and a binding after it);
 *   - 6% are never paid (the unpaid-order job cancels them), 2% are cancelled by the buyer;
 *     the rest are paid, shipped a day later and received two days after that (1 in 20 is
 *     left for the auto-receive job); 1 in 25 received orders is refunded, half of them in
 *     part; completion, settlement, the purge of idempotency keys older than 24 hours and
 *     the other jobs run every three simulated hours.
 * Time: the clock advances 9.6 s per order (9,000 orders a day: 10 million in three years);
 * it starts at the machine's time and runs ahead of it. The store is grown in batches of 20
 * orders (GROWTH_BATCH), each one transaction around the domain's own calls
 * (order_create_keyed, payment_apply, order_ship, order_receive, order_cancel,
 * refund_request, refund_decide), on one connection without group commit and with db_sync
 * normal: the same rows, indexes and constraints as the server writes, without waiting for
 * the disk. The statement journal (the first image of each page a statement changes,
 * inside the batch's savepoints) is one 16 MiB piece of memory here (temp_store default and
 * SQLITE_CONFIG_STMTJRNL_SPILL; beyond it, a file: see split_vfs), not the 1 KiB pieces of
 * temp_store=MEMORY, which the end of each statement walks from the start (memjrnlTruncate): with
 * those, the walk and their malloc/free took 23% of the grower at 4.4M orders, and longer batches
 * cost more per order (at 1.1M orders, batches of 100 ran at 354 orders/s, of 20 at 936, of 4 at
 * 859).
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "db/migrate.h"
#include "domain/catalog.h"
#include "domain/idempotency.h"
#include "domain/jobs.h"
#include "domain/order.h"
#include "domain/payment.h"
#include "domain/promoter.h"
#include "domain/refund.h"
#include "domain/shop.h"
#include "domain/token.h"
#include "util/clock.h"
#include "util/log.h"

#define MS_PER_ORDER 9600LL
static int BATCH = 20; /* orders a transaction; GROWTH_BATCH */
#define JOBS_EVERY (3 * HOUR)
#define FIRST_SHOPS 10
#define ORDERS_PER_SHOP 5000
#define HOUR (60LL * 60 * 1000)
#define DAY (24 * HOUR)
/* The buyers of the measured order loads, all of one product. With 200, each 10 s load put
 * about 110 units on each buyer within the 30 days the per-buyer cap sums over, and by the
 * fourth load that sum read 450 rows: 25 us, more than the order's INSERT. */
#define LOAD_BUYERS 1000

struct shop_w {
    int64_t id, owner;
    int64_t products[30];
    int n_products;
    char refs[4][48];
    int n_refs;
};

static struct db *db;
static struct shop_w *shops;
static size_t n_shops, cap_shops;
static int64_t *buyers;
static size_t n_buyers, cap_buyers;
static int64_t n_orders;
static uint64_t rng;

struct due {
    int64_t order_id, buyer, at;
    int step; /* 1: ship, 2: receive */
};
static struct due *dues; /* a min-heap by `at` */
static size_t n_dues, cap_dues;

static void die(const char *what)
{
    fprintf(stderr, "bench_growth: %s: %s\n", what, db_errmsg(db));
    exit(1);
}

static void die_ei(const char *what, enum err e, const struct errinfo *ei)
{
    fprintf(stderr, "bench_growth: %s: %s %s\n", what, err_code(e), ei->message);
    exit(1);
}

static uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static void *grow_array(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 1024;
    p = realloc(p, *cap * size);
    if (!p) {
        fputs("bench_growth: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static int64_t new_user(const char *kind)
{
    static int64_t seq;
    if (!seq && db_value(db, "SELECT COALESCE(MAX(id), 0) FROM users", &seq, DB_SKIP) != ERR_OK)
        die("users");
    char login[48];
    snprintf(login, sizeof login, "g%s%" PRId64 "@growth.test", kind, ++seq);
    int64_t id;
    /* accounts are not what grows here: no password hash is computed for them */
    if (db_value(db,
                 "INSERT INTO users (login, password_hash, display_name, is_admin, created_at)"
                 " VALUES (?, 'x', ?, 0, ?) RETURNING id",
                 &id, DB_STR(login), DB_STR(kind), DB_INT(clock_now_ms())) != ERR_OK)
        die("insert user");
    return id;
}

static void new_shop(void)
{
    struct errinfo ei = {0};
    struct arena a;
    arena_init(&a, 1 << 20);
    shops = grow_array(shops, &cap_shops, n_shops, sizeof *shops);
    struct shop_w *s = &shops[n_shops];
    memset(s, 0, sizeof *s);
    s->owner = new_user("owner");
    char name[32], slug[32];
    snprintf(name, sizeof name, "店%zu", n_shops + 1);
    snprintf(slug, sizeof slug, "growth-%zu", n_shops + 1);
    struct shop out;
    enum err e =
        shop_create(db, s->owner, name, strlen(name), slug, strlen(slug), "", 0, 30, &a, &out, &ei);
    if (e)
        die_ei("shop_create", e, &ei);
    s->id = out.id;
    /* the bench's buyers order often: the personal-use cap is the shop's to raise */
    if (db_run(db, "UPDATE shops SET buyer_cap_30d = 1000, promoter_auto_approve = 1 WHERE id = ?",
               DB_INT(s->id)) != ERR_OK)
        die("shop settings");
    s->n_products = 3 + (int)below(28);
    for (int p = 0; p < s->n_products; p++) {
        char title[32];
        snprintf(title, sizeof title, "商品%d", p + 1);
        struct product_input in = {.title = title,
                                   .title_len = strlen(title),
                                   .description = "",
                                   .has_price = true,
                                   .price_fen = 990 + (int64_t)below(50) * 500,
                                   .has_stock = true,
                                   .stock = 1000000,
                                   .has_status = true,
                                   .status = PRODUCT_ON_SALE,
                                   .has_trial = true,
                                   .trial_available = p == 0};
        if ((e = catalog_create(db, s->id, &in, &a, &s->products[p], &ei)))
            die_ei("catalog_create", e, &ei);
    }
    s->n_refs = 1 + (int)below(4);
    for (int k = 0; k < s->n_refs; k++) {
        int64_t u = new_user("promoter"), trial;
        struct promoter pr;
        bool created;
        if ((e = trial_grant(db, s->id, s->products[0], u, s->owner, &trial, &ei)) ||
            (e = promoter_apply(db, s->id, u, NULL, &a, &pr, &created, &ei)))
            die_ei("promoter", e, &ei);
        snprintf(s->refs[k], sizeof s->refs[k], "%s", pr.ref_token);
    }
    n_shops++;
    arena_release(&a);
}

static void add_due(int64_t order_id, int64_t buyer, int64_t at, int step)
{
    dues = grow_array(dues, &cap_dues, n_dues, sizeof *dues);
    size_t i = n_dues++;
    struct due d = {.order_id = order_id, .buyer = buyer, .at = at, .step = step};
    while (i > 0 && dues[(i - 1) / 2].at > at) {
        dues[i] = dues[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    dues[i] = d;
}

static struct due pop_due(void)
{
    struct due top = dues[0], last = dues[--n_dues];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n_dues)
            break;
        if (c + 1 < n_dues && dues[c + 1].at < dues[c].at)
            c++;
        if (dues[c].at >= last.at)
            break;
        dues[i] = dues[c];
        i = c;
    }
    if (n_dues)
        dues[i] = last;
    return top;
}

static const char *render(struct order_keyed *k, struct arena *a)
{
    (void)k;
    return arena_strdup(a, "{}");
}

static const char *refusal(struct order_keyed *k, enum err e, struct arena *a)
{
    (void)k;
    return arena_strdup(a, err_code(e));
}

/* Who runs the shop of an order: who ships it and decides its refunds. */
static int64_t owner_of(int64_t order_id)
{
    int64_t owner = 0;
    if (db_value(db,
                 "SELECT s.owner_id FROM orders o JOIN shops s ON s.id = o.shop_id WHERE o.id = ?",
                 &owner, DB_INT(order_id)) != ERR_OK)
        die("owner of order");
    return owner;
}

/* The steps that came due by now: shipping, then receiving (and now and then a refund). */
static void run_dues(int64_t now)
{
    struct errinfo ei = {0};
    while (n_dues && dues[0].at <= now) {
        struct due d = pop_due();
        enum err e;
        if (d.step == 1) {
            if ((e = order_ship(db, d.order_id, "顺丰", strlen("顺丰"), "SF1234567890", 12,
                                owner_of(d.order_id), &ei)))
                die_ei("order_ship", e, &ei);
            if (below(20)) /* else the auto-receive job takes it */
                add_due(d.order_id, d.buyer, now + 2 * DAY, 2);
        } else {
            if ((e = order_receive(db, d.order_id, d.buyer, &ei)))
                die_ei("order_receive", e, &ei);
            if (below(25) == 0) {
                int64_t total = 0, shop_owner = owner_of(d.order_id), refund_id = 0;
                if (db_value(db, "SELECT total_fen FROM orders WHERE id = ?", &total,
                             DB_INT(d.order_id)) != ERR_OK)
                    die("refund of order");
                int64_t amount = below(2) ? total : total / 2;
                if ((e = refund_request(db, d.order_id, d.buyer, amount, "不合适", strlen("不合适"),
                                        &refund_id, &ei)) ||
                    (e = refund_decide(db, refund_id, true, shop_owner, "", 0, &ei)))
                    die_ei("refund", e, &ei);
            }
        }
    }
}

static void one_order(struct arena *a)
{
    struct errinfo ei = {0};
    if (n_shops < FIRST_SHOPS + (size_t)(n_orders / ORDERS_PER_SHOP))
        new_shop();
    double u = unit();
    struct shop_w *s = &shops[(size_t)((double)n_shops * u * u * u)];
    int64_t buyer;
    if (n_buyers == 0 || below(4) == 0) {
        buyers = grow_array(buyers, &cap_buyers, n_buyers, sizeof *buyers);
        buyer = buyers[n_buyers++] = new_user("buyer");
    } else {
        double v = unit();
        buyer = buyers[(size_t)((double)n_buyers * v * v)];
    }
    struct order_item_in item = {.product_id = s->products[below((uint64_t)s->n_products)],
                                 .qty = 1 + (int64_t)below(3)};
    struct order_new in = {.shop_id = s->id,
                           .buyer_id = buyer,
                           .items = &item,
                           .n_items = 1,
                           .share_token =
                               below(10) < 3 ? s->refs[below((uint64_t)s->n_refs)] : NULL,
                           .address = {.name = "张三",
                                       .name_len = strlen("张三"),
                                       .phone = "13800000000",
                                       .phone_len = 11,
                                       .region = "浙江省杭州市",
                                       .region_len = strlen("浙江省杭州市"),
                                       .line = "文三路 1 号",
                                       .line_len = strlen("文三路 1 号")}};
    char key[40], hash[65];
    snprintf(key, sizeof key, "growth-%" PRId64, n_orders);
    idem_hash(key, strlen(key), hash);
    struct order_keyed k = {.in = &in, .a = a, .ei = &ei, .render = render, .refusal = refusal};
    enum err e = order_create_keyed(db, &k, key, hash);
    if (e || k.call.state != IDEM_NEW)
        die_ei("order_create_keyed", e ? e : ERR_CONFLICT, &ei);
    int64_t id = k.out.id, now = clock_now_ms();
    n_orders++;
    uint64_t fate = below(100);
    if (fate < 6)
        return; /* never paid: the unpaid-order job cancels it */
    if (fate < 8) {
        if ((e = order_cancel(db, id, buyer, "不要了", &ei)))
            die_ei("order_cancel", e, &ei);
        return;
    }
    struct payment p = {
        .provider = "offline", .order_id = id, .actor_id = s->owner, .by_shop = true};
    if ((e = payment_apply(db, &p, &ei)))
        die_ei("payment_apply", e, &ei);
    add_due(id, buyer, now + DAY, 1);
}

/* The jobs, in one transaction around them all (each job's own transactions nest into it):
 * the same rows, one commit instead of one per order moved. */
static int64_t job_us[JOBS_MAX], job_rows[JOBS_MAX]; /* time and rows of each job, summed */

static void run_jobs(void)
{
    if (db_begin(db, DB_TX_WRITE) != ERR_OK)
        die("begin jobs");
    for (size_t i = 0; i < jobs_count(); i++) {
        const char *name = jobs_name(i);
        if (strcmp(name, "reconcile_wechatpay") == 0 || strcmp(name, "prune_posters") == 0)
            continue; /* nothing of theirs here */
        struct job_run run;
        int64_t t0 = clock_mono_us();
        if (jobs_run_now(db, name, &run) != ERR_OK)
            die(name);
        job_us[i] += clock_mono_us() - t0;
        job_rows[i] += run.affected;
    }
    if (db_commit(db) != ERR_OK)
        die("commit jobs");
}

/* What a continued run needs: the shops, their products and links, the buyers, the clock,
 * the steps still due. */
static void load_world(void)
{
    struct db_stmt *st;
    bool row;
    if (db_query(db, "SELECT id, owner_id FROM shops ORDER BY id", &st, DB_SKIP))
        die("shops");
    while (db_step(st, &row) == ERR_OK && row) {
        shops = grow_array(shops, &cap_shops, n_shops, sizeof *shops);
        struct shop_w *s = &shops[n_shops++];
        memset(s, 0, sizeof *s);
        s->id = db_col_int64(st, 0);
        s->owner = db_col_int64(st, 1);
    }
    db_done(st);
    for (size_t i = 0; i < n_shops; i++) {
        struct shop_w *s = &shops[i];
        if (db_query(db, "SELECT id FROM products WHERE shop_id = ? ORDER BY id", &st,
                     DB_INT(s->id)))
            die("products");
        while (db_step(st, &row) == ERR_OK && row && s->n_products < 30)
            s->products[s->n_products++] = db_col_int64(st, 0);
        db_done(st);
        if (db_query(db, "SELECT ref_token FROM promoters WHERE shop_id = ? ORDER BY id", &st,
                     DB_INT(s->id)))
            die("promoters");
        while (db_step(st, &row) == ERR_OK && row && s->n_refs < 4)
            snprintf(s->refs[s->n_refs++], sizeof s->refs[0], "%s", db_col_text(st, 0, NULL));
        db_done(st);
    }
    if (db_query(db, "SELECT id FROM users WHERE display_name = 'buyer' ORDER BY id", &st, DB_SKIP))
        die("buyers");
    while (db_step(st, &row) == ERR_OK && row) {
        buyers = grow_array(buyers, &cap_buyers, n_buyers, sizeof *buyers);
        buyers[n_buyers++] = db_col_int64(st, 0);
    }
    db_done(st);
    int64_t last = 0;
    if (db_value(db, "SELECT COUNT(*) FROM orders", &n_orders, DB_SKIP) ||
        db_value(db, "SELECT COALESCE(MAX(created_at), 0) FROM orders", &last, DB_SKIP))
        die("orders");
    if (last > clock_now_ms())
        clock_advance(last - clock_now_ms() + MS_PER_ORDER);
    /* shipping and receiving still due: the orders paid or shipped */
    if (db_query(db,
                 "SELECT id, buyer_id, status, COALESCE(shipped_at, paid_at) FROM orders"
                 " WHERE status IN ('paid', 'shipped') ORDER BY id",
                 &st, DB_SKIP))
        die("due");
    while (db_step(st, &row) == ERR_OK && row) {
        bool shipped = strcmp(db_col_text(st, 2, NULL), "shipped") == 0;
        add_due(db_col_int64(st, 0), db_col_int64(st, 1),
                db_col_int64(st, 3) + (shipped ? 2 : 1) * DAY, shipped ? 2 : 1);
    }
    db_done(st);
    rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n_orders * 0xBF58476D1CE4E5B9ULL;
    if (!rng)
        rng = 1;
}

static void grow(int64_t target)
{
    load_world();
    int64_t t0 = clock_mono_us(), from = n_orders, last_jobs = clock_now_ms(), shown = n_orders;
    if (n_shops < FIRST_SHOPS) { /* a new store: its first shops, even for no orders */
        if (db_begin(db, DB_TX_WRITE) != ERR_OK)
            die("begin");
        while (n_shops < FIRST_SHOPS)
            new_shop();
        if (db_commit(db) != ERR_OK)
            die("commit");
    }
    if (n_orders >= target)
        fprintf(stderr, "bench_growth: the store has %" PRId64 " orders already\n", n_orders);
    while (n_orders < target) {
        struct arena a;
        arena_init(&a, 4 << 20);
        if (db_begin(db, DB_TX_WRITE) != ERR_OK)
            die("begin");
        for (int i = 0; i < BATCH && n_orders < target; i++) {
            clock_advance(MS_PER_ORDER);
            run_dues(clock_now_ms());
            one_order(&a);
            arena_reset(&a);
        }
        if (db_commit(db) != ERR_OK)
            die("commit");
        arena_release(&a);
        if (clock_now_ms() - last_jobs >= JOBS_EVERY) {
            run_jobs();
            last_jobs = clock_now_ms();
        }
        if (n_orders - shown >= 20000 || n_orders == target) {
            shown = n_orders;
            double s = (double)(clock_mono_us() - t0) / 1e6;
            fprintf(stderr,
                    "\rbench_growth: %" PRId64 " orders (%.0f%%), %zu shops, %zu buyers, day %lld"
                    ", %.0f orders/s   ",
                    n_orders, 100.0 * (double)n_orders / (double)target, n_shops, n_buyers,
                    (long long)(clock_offset_ms() / DAY),
                    s > 0 ? (double)(n_orders - from) / s : 0.0);
        }
    }
    run_jobs();
    fputc('\n', stderr);
    double total = (double)(clock_mono_us() - t0) / 1e3;
    for (size_t i = 0; i < jobs_count(); i++)
        if (job_us[i])
            fprintf(stderr,
                    "bench_growth: job %s: %.0f ms (%.1f%% of the growth), %" PRId64 " rows\n",
                    jobs_name(i), (double)job_us[i] / 1e3, 100.0 * (double)job_us[i] / 1e3 / total,
                    job_rows[i]);
}

static void session_for(int64_t user, char token[TOKEN_LEN + 1])
{
    char hash[TOKEN_HASH_HEX];
    token_new(token);
    token_hash(token, TOKEN_LEN, hash);
    if (db_run(db,
               "INSERT INTO sessions (user_id, token_hash, created_at, expires_at)"
               " VALUES (?, ?, ?, ?)",
               DB_INT(user), DB_STR(hash), DB_INT(clock_now_ms()),
               DB_INT(clock_now_ms() + 3650 * DAY)) != ERR_OK)
        die("session");
}

/* The first column of the query's first row; 0 when there is none. */
static int64_t scalar_(const char *sql, const struct db_arg *args, size_t n)
{
    int64_t v = 0;
    if (db_value_(db, sql, &v, args, n) != ERR_OK)
        v = 0;
    return v;
}
#define scalar(sql, ...) scalar_((sql), DB_ARGV_(__VA_ARGS__))

static void targets(const char *dir)
{
    int64_t last = scalar("SELECT COALESCE(MAX(created_at), 0) FROM orders", DB_SKIP);
    int64_t offset = last > clock_now_ms() ? last - clock_now_ms() + HOUR : 0;
    clock_advance(offset);
    int64_t shop = scalar("SELECT shop_id FROM orders GROUP BY shop_id ORDER BY COUNT(*) DESC"
                          " LIMIT 1",
                          DB_SKIP);
    if (!shop) { /* an empty store: its first shop */
        shop = scalar("SELECT COALESCE(MIN(id), 0) FROM shops", DB_SKIP);
    }
    int64_t owner = scalar("SELECT owner_id FROM shops WHERE id = ?", DB_INT(shop));
    int64_t product = scalar("SELECT MIN(id) FROM products WHERE shop_id = ?", DB_INT(shop));
    /* restocked, as its seller would: a store measured again sells it out (a million units
     * by the 60th load), and the loads would time "out of stock" answers, not orders */
    struct product_input restock = {.has_stock = true, .stock = 1000000};
    struct errinfo ei = {0};
    struct arena a;
    arena_init(&a, 1 << 16);
    enum err e = product ? catalog_update(db, product, &restock, &a, &ei) : ERR_OK;
    if (e)
        die_ei("catalog_update", e, &ei);
    arena_release(&a);
    int64_t buyer = scalar("SELECT buyer_id FROM orders GROUP BY buyer_id ORDER BY COUNT(*) DESC"
                           " LIMIT 1",
                           DB_SKIP);
    if (!buyer)
        buyer = scalar("SELECT COALESCE(MIN(id), 0) FROM users", DB_SKIP);
    int64_t order =
        scalar("SELECT COALESCE(MIN(id), 0) FROM orders WHERE buyer_id = ?", DB_INT(buyer));
    /* deep pages: the cursors that list the oldest 20 of the shop's and the buyer's orders */
    int64_t shop_deep =
        scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM (SELECT id FROM orders WHERE shop_id = ?"
               " ORDER BY id LIMIT 20) AS o",
               DB_INT(shop));
    int64_t buyer_deep =
        scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM (SELECT id FROM orders WHERE buyer_id = ?"
               " ORDER BY id LIMIT 20) AS o",
               DB_INT(buyer));
    /* a rare status's oldest page: the refunds, scattered over the shop's history */
    int64_t refunded_deep =
        scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM (SELECT id FROM orders WHERE shop_id = ?"
               " AND status = 'refunded' ORDER BY id LIMIT 20) AS o",
               DB_INT(shop));
    char owner_token[TOKEN_LEN + 1], buyer_token[TOKEN_LEN + 1];
    session_for(owner, owner_token);
    session_for(buyer, buyer_token);
    char path[4096];
    snprintf(path, sizeof path, "%s/tokens", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    struct db_stmt *st;
    bool row;
    int64_t ids[LOAD_BUYERS];
    int n = 0;
    /* buyers of a few orders each, as most are (new ones on an empty store), and none of
     * the product in the cap's 30 days: a store measured again would otherwise hand the
     * same buyers to every run, and the cap's sum read every unit the earlier runs put
     * there (618 a buyer, on average, on a 10M store measured all day: 80 us of an
     * order's CPU, against 5 on a fresh one), which no growth of the store brings */
    if (db_query(db,
                 "SELECT u.id FROM users u WHERE u.display_name = 'buyer' AND NOT EXISTS"
                 " (SELECT 1 FROM buyer_cap_units c WHERE c.buyer_id = u.id AND c.product_id = ?"
                 " AND c.created_at > ?) ORDER BY u.id DESC LIMIT ?",
                 &st, DB_INT(product), DB_INT(clock_now_ms() - ORDER_CAP_WINDOW_MS),
                 DB_INT(LOAD_BUYERS)))
        die("buyers");
    while (db_step(st, &row) == ERR_OK && row)
        ids[n++] = db_col_int64(st, 0);
    db_done(st);
    while (n < LOAD_BUYERS)
        ids[n++] = new_user("buyer");
    for (int i = 0; i < n; i++) {
        char t[TOKEN_LEN + 1];
        session_for(ids[i], t);
        fprintf(f, "%s\n", t);
    }
    fclose(f);
    printf("SHOP=%" PRId64 "\nPRODUCT=%" PRId64 "\nOWNER_TOKEN=%s\nBUYER_TOKEN=%s\n"
           "ORDER=%" PRId64 "\nSHOP_DEEP=%" PRId64 "\nBUYER_DEEP=%" PRId64
           "\nREFUNDED_DEEP=%" PRId64 "\nCLOCK_OFFSET_MS=%" PRId64 "\nBUYER_ORDERS=%" PRId64
           "\nSHOP_ORDERS=%" PRId64 "\n",
           shop, product, owner_token, buyer_token, order, shop_deep, buyer_deep, refunded_deep,
           offset, scalar("SELECT COUNT(*) FROM orders WHERE buyer_id = ?", DB_INT(buyer)),
           scalar("SELECT COUNT(*) FROM orders WHERE shop_id = ?", DB_INT(shop)));
}

/*
 * The statement journal in one piece (SPILL, see the top): past that size SQLite moves it to
 * a temporary file, and writes the piece there in one call. The default VFS writes at most
 * 128 KiB - 1 bytes a call (os_unix.c masks the length) and calls a shorter write a full
 * disk: a batch whose journal passed 16 MiB failed with "database or disk is full" (it
 * did, after the server's loads at size 0). Temporary files are opened here through a VFS
 * that is the default one but for their writes, which it hands on in 64 KiB steps.
 */
#define SPILL (16 << 20)
#define SPLIT_STEP (64 * 1024)

static sqlite3_vfs *base_vfs;
static sqlite3_vfs split_vfs;
static const sqlite3_io_methods *base_methods; /* a temporary file's, from the default VFS */
static sqlite3_io_methods split_methods;       /* the same, but xWrite */

static int split_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    int rc = SQLITE_OK;
    for (int at = 0; rc == SQLITE_OK && at < n; at += SPLIT_STEP)
        rc = base_methods->xWrite(f, (const char *)p + at,
                                  n - at < SPLIT_STEP ? n - at : SPLIT_STEP, off + at);
    return rc;
}

/* The default VFS's file, with its methods but xWrite when it is a temporary one. */
static int split_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                      int *out_flags)
{
    (void)vfs;
    int rc = base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
    if (rc != SQLITE_OK || !f->pMethods ||
        !(flags & (SQLITE_OPEN_SUBJOURNAL | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_TEMP_DB |
                   SQLITE_OPEN_TRANSIENT_DB)))
        return rc;
    if (!base_methods) { /* every file of the default VFS has the same methods */
        base_methods = f->pMethods;
        split_methods = *base_methods;
        split_methods.xWrite = split_write;
    }
    if (f->pMethods == base_methods)
        f->pMethods = &split_methods;
    return rc;
}

/* split_vfs as the default VFS, for the connections opened after this */
static int split_vfs_register(void)
{
    base_vfs = sqlite3_vfs_find(NULL);
    if (!base_vfs)
        return SQLITE_ERROR;
    split_vfs = *base_vfs;
    split_vfs.zName = "growth_split";
    split_vfs.pNext = NULL;
    split_vfs.xOpen = split_open;
    return sqlite3_vfs_register(&split_vfs, 1);
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "grow") != 0 && strcmp(argv[1], "targets") != 0)) {
        fprintf(stderr, "usage: bench_growth grow DB N | bench_growth targets DB DIR\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    if (getenv("GROWTH_BATCH") && atoi(getenv("GROWTH_BATCH")) > 0)
        BATCH = atoi(getenv("GROWTH_BATCH"));
    /* GROWTH_CACHE_MB: the page cache (the server's db_cache_mb; 0: from the machine) */
    const char *cache = getenv("GROWTH_CACHE_MB");
    struct db_options opt = {.url = argv[2],
                             .sync = DB_SYNC_NORMAL,
                             .busy_timeout_ms = 10000,
                             .cache_kib = cache ? strtoll(cache, NULL, 10) * 1024 : 0};
    struct errinfo ei = {0};
    int applied = 0;
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, SPILL); /* before SQLite starts */
    if (db_open(&opt, &db, &ei) != ERR_OK || migrate_run(db, &applied, &ei) != ERR_OK) {
        fprintf(stderr, "bench_growth: %s\n", ei.message);
        return 1;
    }
    if (db_kind(db) == DB_SQLITE) { /* again, through split_vfs (SQLite is set up now) */
        db_close(db);
        if (split_vfs_register() != SQLITE_OK || db_open(&opt, &db, &ei) != ERR_OK) {
            fprintf(stderr, "bench_growth: %s\n", ei.message[0] ? ei.message : "split_vfs");
            return 1;
        }
    }
    /* a checkpoint every 16 MiB of log, as the server's group commit does, not SQLite's
     * default of 2 MiB */
    if (db_kind(db) == DB_SQLITE && db_exec(db, "PRAGMA wal_autocheckpoint=8192") != ERR_OK)
        die("wal_autocheckpoint");
    if (db_kind(db) == DB_SQLITE && db_exec(db, "PRAGMA temp_store=DEFAULT") != ERR_OK)
        die("temp_store");
    if (strcmp(argv[1], "grow") == 0)
        grow(strtoll(argv[3], NULL, 10));
    else
        targets(argv[3]);
    db_close(db);
    return 0;
}
