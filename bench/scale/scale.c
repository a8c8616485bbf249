/*
 * bench_scale - propagation at a million members (issue 14, point 6).
 *
 *   bench_scale gen DB [MEMBERS]     a fresh SQLite store: MEMBERS (1,000,000) members in
 *                                    communities of 500, each one circle of one of 200
 *                                    shops; ~150 contacts each (4 in 5 within the
 *                                    community); 3-7 interests each from 300 tags, most from
 *                                    the community's topics; 5 products a shop; in each
 *                                    circle one promoter with a trial of the shop's
 *                                    products; sessions "scale<n, 38 digits>" for the first 10,000
 *                                    members (for GET /me/feed under wrk)
 *   bench_scale run DB [THREADS] [SHARES]
 *                                    1. the audience of a 500-member circle share
 *                                       (share_preview(): every check and read, nothing
 *                                       written), one at a time, over SHARES circles;
 *                                    2. whole shares (share_create(), durable: group
 *                                       commit, as the server runs it) by THREADS (8)
 *                                       sharers at once, each into circles of its own;
 *                                    p50, p99 and max of each; RSS and the store's size.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "db/migrate.h"
#include "domain/share.h"
#include "domain/token.h"
#include "util/clock.h"
#include "util/log.h"

#define COMMUNITY 500
#define SHOPS 200
#define TAGS 300
#define TOPICS 8
#define SESSIONS 10000
#define FIRST_MEMBER (SHOPS + 1) /* users 1..SHOPS own the shops */

static struct db *db;
static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng % n;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_scale: %s: %s\n", what, db ? db_errmsg(db) : "");
    exit(1);
}

static void run(const char *sql, struct db_arg a, struct db_arg b, struct db_arg c, struct db_arg d)
{
    if (db_run(db, sql, a, b, c, d))
        die(sql);
}

static void begin(void)
{
    if (db_begin(db, DB_TX_WRITE))
        die("begin");
}

static void commit(void)
{
    if (db_commit(db))
        die("commit");
}

static int64_t member_id(int64_t i)
{
    return FIRST_MEMBER + i;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void gen(const char *path, int64_t members)
{
    int applied = 0;
    struct errinfo ei = {0};
    int64_t t0 = clock_mono_us();
    if (migrate_run(db, &applied, &ei))
        die(ei.message);
    int64_t communities = (members + COMMUNITY - 1) / COMMUNITY;
    int(*topics)[TOPICS] = calloc((size_t)communities, sizeof *topics);
    for (int64_t c = 0; c < communities; c++)
        for (int k = 0; k < TOPICS; k++) /* skewed: low tag numbers are the popular ones */
            topics[c][k] = (int)(rnd(TAGS) * rnd(TAGS) / TAGS);
    static const char user[] = "INSERT INTO users (id, login, password_hash, display_name,"
                               " created_at) VALUES (?, ?, 'x', ?, 0)";
    static const char shop[] =
        "INSERT INTO shops (id, owner_id, name, slug, trial_ends_at, l1_bps, l2_bps, settle_days,"
        " binding_days, similarity_milli, created_at, updated_at) VALUES (?, ?, 's', ?, 0, 1000,"
        " 500, 7, 30, 300, 0, 0)";
    static const char role[] = "INSERT INTO shop_roles (shop_id, user_id, role, created_at)"
                               " VALUES (?, ?, 'owner', 0)";
    static const char product[] =
        "INSERT INTO products (id, shop_id, title, price_fen, stock, stock_in, status,"
        " created_at, updated_at) VALUES (?, ?, 'p', 1000, 1000000, 1000000, 'on_sale', 0, 0)";
    static const char ptag[] = "INSERT INTO product_tags (shop_id, product_id, tag, weight_milli)"
                               " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING";
    begin();
    for (int s = 1; s <= SHOPS; s++) {
        char login[32];
        snprintf(login, sizeof login, "owner%d", s);
        run(user, DB_INT(s), DB_STR(login), DB_STR(login), DB_SKIP);
        run(shop, DB_INT(s), DB_INT(s), DB_STR(login), DB_SKIP);
        run(role, DB_INT(s), DB_INT(s), DB_SKIP, DB_SKIP);
        for (int p = 0; p < 5; p++) {
            int64_t id = s * 10 + p;
            run(product, DB_INT(id), DB_INT(s), DB_SKIP, DB_SKIP);
            /* tagged with the topics of one of the shop's communities */
            int64_t c =
                (s - 1 + (int64_t)rnd((uint64_t)(communities / SHOPS + 1)) * SHOPS) % communities;
            for (int k = 0; k < 3; k++) {
                char tag[16];
                snprintf(tag, sizeof tag, "t%03d", topics[c][rnd(TOPICS)]);
                run(ptag, DB_INT(s), DB_INT(id), DB_STR(tag), DB_INT(1000 - k * 250));
            }
        }
    }
    commit();

    static const char interest[] =
        "INSERT INTO member_interests (user_id, source, tag, weight_milli, updated_at)"
        " VALUES (?, 'declared', ?, ?, 0) ON CONFLICT DO NOTHING";
    static const char circle[] =
        "INSERT INTO circles (id, shop_id, name, kind, capacity, member_count, invite_code,"
        " created_at, updated_at) VALUES (?, ?, 'c', 'interest', 500, ?, ?, 0, 0)";
    static const char ctag[] = "INSERT INTO circle_tags (shop_id, circle_id, tag, weight_milli)"
                               " VALUES (?, ?, ?, 1000) ON CONFLICT DO NOTHING";
    static const char member[] = "INSERT INTO circle_members (shop_id, circle_id, user_id, role,"
                                 " joined_at) VALUES (?, ?, ?, 'member', 0)";
    for (int64_t c = 0; c < communities; c++) {
        begin();
        int64_t first = c * COMMUNITY,
                n = members - first < COMMUNITY ? members - first : COMMUNITY;
        int64_t shop_id = 1 + c % SHOPS;
        char code[24];
        snprintf(code, sizeof code, "S%lld", (long long)c);
        run(circle, DB_INT(c + 1), DB_INT(shop_id), DB_INT(n), DB_STR(code));
        for (int k = 0; k < 3; k++) {
            char tag[16];
            snprintf(tag, sizeof tag, "t%03d", topics[c][k]);
            run(ctag, DB_INT(shop_id), DB_INT(c + 1), DB_STR(tag), DB_SKIP);
        }
        for (int64_t i = first; i < first + n; i++) {
            char login[32];
            snprintf(login, sizeof login, "m%lld", (long long)i);
            run(user, DB_INT(member_id(i)), DB_STR(login), DB_STR(login), DB_SKIP);
            run(member, DB_INT(shop_id), DB_INT(c + 1), DB_INT(member_id(i)), DB_SKIP);
            int tags = 3 + (int)rnd(5);
            for (int k = 0; k < tags; k++) {
                char tag[16];
                snprintf(tag, sizeof tag, "t%03d",
                         rnd(10) < 7 ? topics[c][rnd(TOPICS)]
                                     : (int)(rnd(TAGS) * rnd(TAGS) / TAGS));
                run(interest, DB_INT(member_id(i)), DB_STR(tag), DB_INT(200 + (int64_t)rnd(801)),
                    DB_SKIP);
            }
        }
        commit();
        if (c % 200 == 199)
            fprintf(stderr, "  %lld members\n", (long long)(first + n));
    }

    /* contacts: ~150 each, 4 in 5 within the community; (lo, hi) pairs sorted, loaded
     * with the second index built after */
    size_t cap = (size_t)members * 75, n = 0;
    uint64_t *pairs = malloc(cap * sizeof *pairs);
    if (!pairs)
        die("memory");
    for (int64_t i = 0; i < members; i++)
        for (int k = 0; k < 75; k++) {
            int64_t j = rnd(5) ? (i / COMMUNITY) * COMMUNITY + (int64_t)rnd(COMMUNITY)
                               : (int64_t)rnd((uint64_t)members);
            if (j >= members || j == i)
                continue;
            uint64_t lo = (uint64_t)member_id(i < j ? i : j),
                     hi = (uint64_t)member_id(i < j ? j : i);
            pairs[n++] = lo << 32 | hi;
        }
    qsort(pairs, n, sizeof *pairs, cmp_u64);
    if (db_exec(db, "DROP INDEX contacts_hi"))
        die("drop index");
    static const char contact[] =
        "INSERT INTO contacts (user_lo, user_hi, requested_by, status, created_at, accepted_at)"
        " VALUES (?, ?, ?, 'accepted', 0, 0)";
    size_t stored = 0;
    begin();
    for (size_t k = 0; k < n; k++) {
        if (k && pairs[k] == pairs[k - 1])
            continue;
        int64_t lo = (int64_t)(pairs[k] >> 32), hi = (int64_t)(pairs[k] & 0xffffffffu);
        run(contact, DB_INT(lo), DB_INT(hi), DB_INT(lo), DB_SKIP);
        if (++stored % 5000000 == 0) {
            commit(), begin();
            fprintf(stderr, "  %zu contacts\n", stored);
        }
    }
    commit();
    free(pairs);
    if (db_exec(db, "CREATE INDEX contacts_hi ON contacts (user_hi)"))
        die("create index");

    /* in each circle, its first member promotes the shop's products, having tried them */
    static const char prom[] =
        "INSERT INTO promoters (shop_id, user_id, status, invite_code, ref_token, created_at,"
        " updated_at) VALUES (?, ?, 'active', ?, ?, 0, 0)";
    static const char trial[] = "INSERT INTO trials (shop_id, product_id, user_id, granted_by,"
                                " created_at) VALUES (?, ?, ?, ?, 0)";
    static const char session[] = "INSERT INTO sessions (user_id, token_hash, created_at,"
                                  " expires_at) VALUES (?, ?, 0, ?)";
    begin();
    for (int64_t c = 0; c < communities; c++) {
        int64_t shop_id = 1 + c % SHOPS, u = member_id(c * COMMUNITY);
        char code[24], ref[24];
        snprintf(code, sizeof code, "P%lld", (long long)c);
        snprintf(ref, sizeof ref, "R%lld", (long long)c);
        run(prom, DB_INT(shop_id), DB_INT(u), DB_STR(code), DB_STR(ref));
        for (int p = 0; p < 5; p++)
            run(trial, DB_INT(shop_id), DB_INT(shop_id * 10 + p), DB_INT(u), DB_INT(shop_id));
    }
    for (int64_t i = 0; i < SESSIONS && i < members; i++) {
        char token[TOKEN_LEN + 1], hash[TOKEN_HASH_HEX]; /* a session token's length */
        snprintf(token, sizeof token, "scale%038lld", (long long)i);
        token_hash(token, strlen(token), hash);
        run(session, DB_INT(member_id(i)), DB_STR(hash), DB_INT(4102444800000LL), DB_SKIP);
    }
    commit();
    if (db_exec(db, "ANALYZE"))
        die("analyze");
    struct stat sb;
    stat(path, &sb);
    fprintf(stderr, "generated %lld members, %zu contacts, %lld circles in %.0f s: %.0f MB\n",
            (long long)members, stored, (long long)communities,
            (double)(clock_mono_us() - t0) / 1e6, (double)sb.st_size / 1e6);
    free(topics);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static void print_latency(const char *what, int64_t *us, size_t n)
{
    qsort(us, n, sizeof *us, cmp_i64);
    printf("| %s | %zu | %.2f | %.2f | %.2f |\n", what, n, (double)us[n / 2] / 1000,
           (double)us[n * 99 / 100] / 1000, (double)us[n - 1] / 1000);
}

static struct share_input input_for(int64_t circle)
{
    int64_t shop_id = 1 + (circle - 1) % SHOPS;
    return (struct share_input){.sharer_id = member_id((circle - 1) * COMMUNITY),
                                .product_id = shop_id * 10 + (int64_t)rnd(5),
                                .circle_id = circle};
}

static const char *db_path;
static int64_t circles_n, per_thread;
static int64_t *lat;
static atomic_long failures;
static atomic_llong delivered_total;

static void *sharer(void *arg)
{
    int t = (int)(intptr_t)arg;
    struct db_options opt = {.url = db_path,
                             .sync = DB_SYNC_FULL,
                             .busy_timeout_ms = 10000,
                             .group_commit = true,
                             .checkpoint_bytes = getenv("BENCH_CHECKPOINT_BYTES")
                                                     ? atoll(getenv("BENCH_CHECKPOINT_BYTES"))
                                                     : 0};
    struct errinfo ei = {0};
    struct db *mine = NULL;
    if (db_open(&opt, &mine, &ei))
        die(ei.message);
    for (int64_t k = 0; k < per_thread; k++) {
        /* circles of its own: thread t takes t+1, t+1+T, ... from the far half */
        int64_t circle = circles_n / 2 + 1 + (k * 8 + t) % (circles_n / 2);
        struct share_input in = input_for(circle);
        struct arena a;
        struct share s;
        arena_init(&a, 8 << 20);
        int64_t t0 = clock_mono_us();
        db_defer_durable(mine);
        db_warm_reads(mine);
        enum err e = share_create(mine, &in, &a, &s, &ei);
        enum err d = db_await_durable(mine);
        lat[t * per_thread + k] = clock_mono_us() - t0;
        if (e || d)
            atomic_fetch_add(&failures, 1);
        else
            atomic_fetch_add(&delivered_total, s.report.count[SHARE_DELIVERED]);
        arena_release(&a);
    }
    db_close(mine);
    return NULL;
}

static void bench(const char *path, int threads, int64_t shares)
{
    db_path = path;
    if (db_value(db, "SELECT COUNT(*) FROM circles", &circles_n))
        die("count");
    /* 1. the audience alone, one at a time, over circles of the near half */
    int64_t *us = calloc((size_t)shares, sizeof *us);
    int64_t candidates = 0, delivered = 0;
    for (int64_t k = 0; k < shares; k++) {
        int64_t circle = 1 + (int64_t)rnd((uint64_t)(circles_n / 2));
        struct share_input in = input_for(circle);
        struct arena a;
        struct share s;
        struct errinfo ei = {0};
        arena_init(&a, 8 << 20);
        int64_t t0 = clock_mono_us();
        enum err e = share_preview(db, &in, &a, &s, &ei);
        us[k] = clock_mono_us() - t0;
        if (e)
            fprintf(stderr, "preview: %s %s\n", err_code(e), ei.message);
        candidates += s.report.candidates;
        delivered += s.report.count[SHARE_DELIVERED];
        arena_release(&a);
    }
    printf("| what | n | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
    print_latency("audience of a circle share (share_preview)", us, (size_t)shares);
    fprintf(stderr, "  mean candidates %.0f, would deliver %.0f\n",
            (double)candidates / (double)shares, (double)delivered / (double)shares);
    /* 2. whole shares, durable, `threads` at once */
    per_thread = shares / threads;
    lat = calloc((size_t)(per_thread * threads), sizeof *lat);
    pthread_t th[64];
    int64_t t0 = clock_mono_us();
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, sharer, (void *)(intptr_t)t);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    int64_t wall = clock_mono_us() - t0;
    char what[96];
    snprintf(what, sizeof what, "whole share, durable, %d sharers at once", threads);
    print_latency(what, lat, (size_t)(per_thread * threads));
    /* 3. (untimed) ten days of shares into the circles of the members with sessions, whose
     * feeds GET /me/feed then reads under wrk */
    for (int day = 0; day < 10; day++) {
        clock_advance(MS_PER_DAY);
        for (int64_t c = 1; c <= (SESSIONS + COMMUNITY - 1) / COMMUNITY; c++) {
            struct share_input in = input_for(c);
            struct arena a;
            struct share sh;
            struct errinfo ei = {0};
            arena_init(&a, 8 << 20);
            if (share_create(db, &in, &a, &sh, &ei))
                fprintf(stderr, "fill: %s\n", ei.message);
            arena_release(&a);
        }
    }
    /* who of them now has something in their feed, for the wrk script: PATH.readers */
    char readers[1024];
    snprintf(readers, sizeof readers, "%s.readers", path);
    FILE *rf = fopen(readers, "w");
    struct db_stmt *st = NULL;
    enum err e = db_query(db,
                          "SELECT DISTINCT user_id FROM share_audience WHERE outcome = 'delivered'"
                          " AND user_id BETWEEN ? AND ? ORDER BY user_id",
                          &st, DB_INT(member_id(0)), DB_INT(member_id(SESSIONS - 1)));
    while (rf && !e && db_next(st, &e))
        fprintf(rf, "%lld,", (long long)(db_col_int64(st, 0) - member_id(0)));
    if (st)
        db_done(st);
    if (rf)
        fclose(rf);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct stat sb;
    stat(path, &sb);
    printf("\n%lld shares in %.1f s (%.0f/s), %.0f delivered each, %ld failed; max RSS %.0f MB;"
           " store %.0f MB\n",
           (long long)(per_thread * threads), (double)wall / 1e6,
           (double)(per_thread * threads) * 1e6 / (double)wall,
           (double)atomic_load(&delivered_total) / (double)(per_thread * threads),
           atomic_load(&failures), (double)ru.ru_maxrss / 1024, (double)sb.st_size / 1e6);
    free(us);
    free(lat);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "gen") && strcmp(argv[1], "run"))) {
        fprintf(stderr, "usage: bench_scale gen DB [MEMBERS] | run DB [THREADS] [SHARES]\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    bool generate = !strcmp(argv[1], "gen");
    if (generate)
        unlink(argv[2]);
    struct db_options opt = {.url = argv[2], .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 10000};
    struct errinfo ei = {0};
    if (db_open(&opt, &db, &ei))
        die(ei.message);
    if (generate)
        gen(argv[2], argc > 3 ? atoll(argv[3]) : 1000000);
    else
        bench(argv[2], argc > 3 ? atoi(argv[3]) : 8, argc > 4 ? atoll(argv[4]) : 800);
    db_close(db);
    return 0;
}
