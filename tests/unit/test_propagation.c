/*
 * The propagation property test, on both stores: over random graphs, circles,
 * contacts, interests, mutes, trust, thresholds and daily caps, random shares
 * and re-shares (some of them not allowed) through share_create(), checked
 * after each one by code of the test's own:
 *
 *   RULE: NO-CROSSING     its rows are exactly the circle's members (or the
 *                         sharer's accepted contacts) but the sharer, the root
 *                         sharer and the shop's people, each once;
 *   RULE: SIMILARITY      each similarity is the cosine the README defines,
 *                         recomputed here; nobody below the threshold (at hop 2
 *                         also to the root sharer) is delivered to;
 *   RULE: FREQUENCY-CAP   nobody has more deliveries in a China day than the caps;
 *   RULE: MUTES           nobody who muted the sharer, the root sharer or the shop
 *                         is delivered to;
 *   RULE: NOT-TWICE       nobody is delivered one chain twice;
 *   RULE: TWO-HOPS        no share has a hop above 2; a refused share wrote nothing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "domain/share.h"
#include "domain/similarity.h"
#include "util/clock.h"
#include "util/log.h"

#include "store.h"

#define MEMBERS 24
#define FIRST_MEMBER 3 /* users 1 and 2 own shops 1 and 2 */
#define TAGS 6
#define SHARES 30
#define SEEDS 12

static struct db *db;
static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng % n;
}

static void exec(const char *f, ...) __attribute__((format(printf, 1, 2)));
static void exec(const char *f, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(sql, sizeof sql, f, ap);
    va_end(ap);
    if (db_exec(db, sql) != ERR_OK)
        fail_msg("%s: %s", sql, db_errmsg(db));
}

/* The first column of a query's rows (at most max) into out; how many. */
static size_t column_v(int64_t *out, size_t max, const char *f, va_list ap)
    __attribute__((format(printf, 3, 0)));
static size_t column_v(int64_t *out, size_t max, const char *f, va_list ap)
{
    char sql[2048];
    vsnprintf(sql, sizeof sql, f, ap);
    struct db_stmt *st = NULL;
    enum err e = db_prepare_uncached(db, sql, &st);
    assert_int_equal(e, ERR_OK);
    size_t n = 0;
    while (n < max && db_next(st, &e))
        out[n++] = db_col_int64(st, 0);
    assert_int_equal(e, ERR_OK);
    db_done(st);
    return n;
}

/* One integer (0 when there is no row). */
static int64_t scalar(const char *f, ...) __attribute__((format(printf, 1, 2)));
static int64_t scalar(const char *f, ...)
{
    int64_t v = 0;
    va_list ap;
    va_start(ap, f);
    column_v(&v, 1, f, ap);
    va_end(ap);
    return v;
}

/* The ids a query answers (first column), into out; how many. */
static size_t ids(int64_t *out, size_t max, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static size_t ids(int64_t *out, size_t max, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    size_t n = column_v(out, max, f, ap);
    va_end(ap);
    return n;
}

/* A vector as the README defines it, read here with the test's own query: declared weight
 * plus half the learned one, by tag t0..t5. */
static void vector_of(int64_t user, int64_t v[TAGS])
{
    memset(v, 0, TAGS * sizeof *v);
    for (int t = 0; t < TAGS; t++) {
        v[t] = scalar("SELECT COALESCE(SUM(CASE WHEN source = 'declared' THEN weight_milli"
                      " ELSE weight_milli / 2 END), 0) FROM member_interests WHERE user_id = %lld"
                      " AND tag = 't%d'",
                      (long long)user, t);
    }
}

static void tags_of(const char *table, const char *col, int64_t id, int64_t v[TAGS])
{
    for (int t = 0; t < TAGS; t++)
        v[t] = scalar("SELECT COALESCE(SUM(weight_milli), 0) FROM %s WHERE %s = %lld AND"
                      " tag = 't%d'",
                      table, col, (long long)id, t);
}

static bool empty(const int64_t v[TAGS])
{
    for (int t = 0; t < TAGS; t++)
        if (v[t])
            return false;
    return true;
}

static int64_t cosine(const int64_t a[TAGS], const int64_t b[TAGS])
{
    double dot = 0, na = 0, nb = 0;
    for (int t = 0; t < TAGS; t++)
        dot += (double)a[t] * (double)b[t], na += (double)a[t] * (double)a[t],
            nb += (double)b[t] * (double)b[t];
    if (dot <= 0)
        return 0;
    int64_t s = (int64_t)floor(1000.0 * dot / sqrt(na * nb) + 1e-9);
    return s > 1000 ? 1000 : s;
}

/* A random world: two shops, members with interests, circles, contacts, promoters with
 * trials, mutes, some bad trust, random thresholds and caps. */
static void world(void)
{
    exec("INSERT INTO users (id, login, password_hash, display_name, created_at) VALUES"
         " (1, 'o1', 'x', 'o1', 0), (2, 'o2', 'x', 'o2', 0)");
    for (int s = 1; s <= 2; s++) {
        exec("INSERT INTO shops (id, owner_id, name, slug, trial_ends_at, l1_bps, l2_bps,"
             " settle_days, binding_days, similarity_milli, created_at, updated_at,"
             " feed_daily_shop, trust_reach) VALUES (%d, %d, 's', 's%d', 0, 1000, 500, 7, 30,"
             " %d, 0, 0, %d, %d)",
             s, s, s, (int)rnd(4) * 200, 1 + (int)rnd(3), rnd(2) ? 2 : 20);
        exec("INSERT INTO shop_roles (shop_id, user_id, role, created_at) VALUES (%d, %d,"
             " 'owner', 0)",
             s, s);
        for (int p = 0; p < 2; p++) {
            int id = s * 10 + p;
            exec("INSERT INTO products (id, shop_id, title, price_fen, stock, stock_in, status,"
                 " created_at, updated_at) VALUES (%d, %d, 'p', 100, 10, 10, 'on_sale', 0, 0)",
                 id, s);
            for (int t = 0; t < TAGS; t++)
                if (rnd(3) == 0)
                    exec("INSERT INTO product_tags (shop_id, product_id, tag, weight_milli)"
                         " VALUES (%d, %d, 't%d', %d)",
                         s, id, t, 100 + (int)rnd(901));
        }
    }
    for (int u = FIRST_MEMBER; u < FIRST_MEMBER + MEMBERS; u++) {
        exec("INSERT INTO users (id, login, password_hash, display_name, created_at) VALUES"
             " (%d, 'u%d', 'x', 'u', 0)",
             u, u);
        for (int t = 0; t < TAGS; t++) {
            if (rnd(3) == 0)
                exec("INSERT INTO member_interests (user_id, source, tag, weight_milli,"
                     " updated_at) VALUES (%d, 'declared', 't%d', %d, 0)",
                     u, t, 1 + (int)rnd(1000));
            if (rnd(5) == 0)
                exec("INSERT INTO member_interests (user_id, source, tag, weight_milli,"
                     " updated_at) VALUES (%d, 'learned', 't%d', %d, 0)",
                     u, t, 1 + (int)rnd(1000));
        }
        for (int s = 1; s <= 2; s++)
            if (rnd(2)) {
                exec("INSERT INTO promoters (shop_id, user_id, status, invite_code, ref_token,"
                     " created_at, updated_at) VALUES (%d, %d, '%s', 'c%d-%d', 'r%d-%d', 0, 0)",
                     s, u, rnd(5) ? "active" : "suspended", s, u, s, u);
                if (rnd(4) == 0) /* a bad outcome or two: trust 0.33 or 0.25 */
                    for (int k = 0; k <= (int)rnd(2); k++)
                        exec("INSERT INTO trust_events (shop_id, promoter_id, kind, good, ref_id,"
                             " at) SELECT %d, id, 'refund', 0, %d, 0 FROM promoters WHERE"
                             " shop_id = %d AND user_id = %d",
                             s, k + 1, s, u);
            }
        for (int s = 1; s <= 2; s++)
            for (int p = 0; p < 2; p++)
                if (rnd(2))
                    exec("INSERT INTO trials (shop_id, product_id, user_id, granted_by,"
                         " created_at) VALUES (%d, %d, %d, %d, 0)",
                         s, s * 10 + p, u, s);
    }
    for (int c = 1; c <= 4; c++) {
        int s = c <= 3 ? 1 : 2;
        exec("INSERT INTO circles (id, shop_id, name, kind, capacity, member_count, invite_code,"
             " created_at, updated_at) VALUES (%d, %d, 'c', 'other', 500, 0, 'C%d', 0, 0)",
             c, s, c);
        exec("INSERT INTO circle_members (shop_id, circle_id, user_id, role, joined_at) VALUES"
             " (%d, %d, %d, 'owner', 0)",
             s, c, s);
        for (int t = 0; t < TAGS; t++)
            if (rnd(3) == 0)
                exec("INSERT INTO circle_tags (shop_id, circle_id, tag, weight_milli) VALUES"
                     " (%d, %d, 't%d', %d)",
                     s, c, t, 100 + (int)rnd(901));
        for (int u = FIRST_MEMBER; u < FIRST_MEMBER + MEMBERS; u++)
            if (rnd(5) < 2)
                exec("INSERT INTO circle_members (shop_id, circle_id, user_id, role, joined_at)"
                     " VALUES (%d, %d, %d, 'member', 0)",
                     s, c, u);
    }
    for (int a = FIRST_MEMBER; a < FIRST_MEMBER + MEMBERS; a++)
        for (int b = a + 1; b < FIRST_MEMBER + MEMBERS; b++) {
            uint64_t r = rnd(20);
            if (r < 4)
                exec("INSERT INTO contacts (user_lo, user_hi, requested_by, status, created_at)"
                     " VALUES (%d, %d, %d, '%s', 0)",
                     a, b, a, r < 3 ? "accepted" : "pending");
        }
    for (int u = FIRST_MEMBER; u < FIRST_MEMBER + MEMBERS; u++) {
        if (rnd(12) == 0)
            exec("INSERT INTO mutes (user_id, muted_shop_id, created_at) VALUES (%d, %d, 0)", u,
                 1 + (int)rnd(2));
        for (int v = FIRST_MEMBER; v < FIRST_MEMBER + MEMBERS; v++)
            if (v != u && rnd(30) == 0)
                exec("INSERT INTO mutes (user_id, muted_user_id, created_at) VALUES (%d, %d, 0)"
                     " ON CONFLICT DO NOTHING",
                     u, v);
    }
    share_limits.daily_max = 2 + (int64_t)rnd(3);
}

/* A column (or expression) of one member's row of a share. */
static int64_t row(int64_t share_id, int64_t user_id, const char *expr)
{
    return scalar("SELECT %s FROM share_audience WHERE share_id = %lld AND user_id = %lld", expr,
                  (long long)share_id, (long long)user_id);
}

/* Everything the test knows of one share that was made, checked against the rules. */
static void check_share(int64_t id)
{
    int64_t shop = scalar("SELECT shop_id FROM shares WHERE id = %lld", (long long)id);
    int64_t product = scalar("SELECT product_id FROM shares WHERE id = %lld", (long long)id);
    int64_t sharer = scalar("SELECT sharer_id FROM shares WHERE id = %lld", (long long)id);
    int64_t circle =
        scalar("SELECT COALESCE(circle_id, 0) FROM shares WHERE id = %lld", (long long)id);
    int64_t hop = scalar("SELECT hop FROM shares WHERE id = %lld", (long long)id);
    int64_t root = scalar("SELECT root_id FROM shares WHERE id = %lld", (long long)id);
    int64_t at = scalar("SELECT created_at FROM shares WHERE id = %lld", (long long)id);
    int64_t root_sharer = scalar("SELECT sharer_id FROM shares WHERE id = %lld", (long long)root);
    int64_t min = scalar("SELECT similarity_milli FROM shops WHERE id = %lld", (long long)shop);
    int64_t per_shop = scalar("SELECT feed_daily_shop FROM shops WHERE id = %lld", (long long)shop);
    int64_t runs = scalar("SELECT COUNT(*) FROM shop_roles WHERE shop_id = %lld AND user_id = %lld",
                          (long long)shop, (long long)sharer);
    assert_true(hop == 1 || hop == 2);
    assert_true(product / 10 == shop);
    /* RULE: NO-CROSSING - the set it may reach */
    int64_t set[64];
    size_t n;
    if (circle) {
        assert_int_equal(scalar("SELECT shop_id FROM circles WHERE id = %lld", (long long)circle),
                         shop);
        assert_true(runs || scalar("SELECT COUNT(*) FROM circle_members WHERE circle_id = %lld"
                                   " AND user_id = %lld",
                                   (long long)circle, (long long)sharer));
        n = ids(set, 64, "SELECT user_id FROM circle_members WHERE circle_id = %lld",
                (long long)circle);
    } else {
        n = ids(set, 64,
                "SELECT user_hi FROM contacts WHERE user_lo = %lld AND status = 'accepted'"
                " UNION SELECT user_lo FROM contacts WHERE user_hi = %lld AND status = 'accepted'",
                (long long)sharer, (long long)sharer);
    }
    size_t expected = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t u = set[i];
        bool excluded = u == sharer || u == root_sharer ||
                        scalar("SELECT COUNT(*) FROM shop_roles WHERE shop_id = %lld AND"
                               " user_id = %lld",
                               (long long)shop, (long long)u);
        int64_t rows = scalar("SELECT COUNT(*) FROM share_audience WHERE share_id = %lld AND"
                              " user_id = %lld",
                              (long long)id, (long long)u);
        assert_int_equal(rows, excluded ? 0 : 1);
        expected += !excluded;
    }
    assert_int_equal(
        scalar("SELECT COUNT(*) FROM share_audience WHERE share_id = %lld", (long long)id),
        (int64_t)expected);

    /* each row: its similarities, and delivered only within every rule */
    int64_t pv[TAGS], rv[TAGS], cv[TAGS], v[TAGS];
    tags_of("product_tags", "product_id", product, pv);
    vector_of(root_sharer, rv);
    if (empty(rv))
        memcpy(rv, pv, sizeof rv);
    memset(cv, 0, sizeof cv);
    if (circle)
        tags_of("circle_tags", "circle_id", circle, cv);
    int64_t rows[64];
    size_t nr =
        ids(rows, 64, "SELECT user_id FROM share_audience WHERE share_id = %lld", (long long)id);
    int64_t day = clock_china_day_start(at);
    for (size_t i = 0; i < nr; i++) {
        int64_t u = rows[i];
        vector_of(u, v);
        bool prior = empty(v);
        int64_t sim = cosine(prior ? cv : v, pv), rsim = cosine(prior ? cv : v, rv);
        if (prior)
            sim = sim * 4 / 5, rsim = rsim * 4 / 5;
        assert_int_equal(row(id, u, "similarity_milli"), sim);
        assert_int_equal(row(id, u, "root_similarity_milli"), rsim);
        bool delivered = row(id, u, "CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END") == 1;
        bool muted =
            scalar("SELECT COUNT(*) FROM mutes WHERE user_id = %lld AND"
                   " (muted_user_id IN (%lld, %lld) OR muted_shop_id = %lld)",
                   (long long)u, (long long)sharer, (long long)root_sharer, (long long)shop) > 0;
        bool below = sim < min || (hop == 2 && rsim < min);
        /* the reason given for leaving someone out by similarity is true */
        if (row(id, u, "CASE WHEN outcome = 'similarity' THEN 1 ELSE 0 END"))
            assert_true(below);
        if (!delivered)
            continue;
        assert_false(below);
        assert_false(muted);
        assert_int_equal(scalar("SELECT COUNT(*) FROM share_audience WHERE root_id = %lld AND"
                                " user_id = %lld AND outcome = 'delivered'",
                                (long long)root, (long long)u),
                         1);
        assert_true(scalar("SELECT COUNT(*) FROM share_audience WHERE user_id = %lld AND"
                           " outcome = 'delivered' AND at >= %lld AND at < %lld",
                           (long long)u, (long long)day,
                           (long long)(day + MS_PER_DAY)) <= share_limits.daily_max);
        assert_true(scalar("SELECT COUNT(*) FROM share_audience WHERE user_id = %lld AND"
                           " outcome = 'delivered' AND at >= %lld AND at < %lld AND"
                           " shop_id = %lld",
                           (long long)u, (long long)day, (long long)(day + MS_PER_DAY),
                           (long long)shop) <= per_shop);
    }
}

static int64_t written(void)
{
    return scalar("SELECT COUNT(*) FROM shares") * 100000 +
           scalar("SELECT COUNT(*) FROM share_audience");
}

static void random_shares(void **state)
{
    (void)state;
    int made = 0, refused = 0, hop2 = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        struct store s;
        int applied = 0;
        struct errinfo ei = {0};
        assert_int_equal(store_create(&s, "propagation"), 0);
        db = s.db;
        assert_int_equal(migrate_run(db, &applied, &ei), ERR_OK);
        rng = 0x9E3779B97F4A7C15ULL * (uint64_t)seed;
        world();
        for (int k = 0; k < SHARES; k++) {
            clock_advance((int64_t)rnd(30) * 60 * 60 * 1000); /* 0 to 29 hours */
            struct share_input in = {0};
            int64_t delivered[256];
            size_t nd = ids(delivered, 256,
                            "SELECT id FROM share_audience WHERE"
                            " outcome = 'delivered'");
            if (nd && rnd(2)) { /* pass on something received */
                int64_t row = delivered[rnd(nd)];
                in.sharer_id =
                    scalar("SELECT user_id FROM share_audience WHERE id = %lld", (long long)row);
                in.parent_id =
                    scalar("SELECT share_id FROM share_audience WHERE id = %lld", (long long)row);
            } else {
                in.sharer_id =
                    rnd(6) == 0 ? 1 + (int64_t)rnd(2) : FIRST_MEMBER + (int64_t)rnd(MEMBERS);
                in.product_id = (1 + (int64_t)rnd(2)) * 10 + (int64_t)rnd(2);
            }
            /* mostly what the sharer could do; sometimes what they may not */
            int64_t own[8];
            size_t no = ids(own, 8, "SELECT product_id FROM trials WHERE user_id = %lld",
                            (long long)in.sharer_id);
            if (in.product_id && no && rnd(4))
                in.product_id = own[rnd(no)];
            no = ids(own, 8, "SELECT circle_id FROM circle_members WHERE user_id = %lld",
                     (long long)in.sharer_id);
            if (rnd(3) == 0)
                in.contacts = true;
            else
                in.circle_id = no && rnd(4) ? own[rnd(no)] : 1 + (int64_t)rnd(4);
            struct arena a;
            arena_init(&a, 1 << 20);
            struct share out;
            int64_t before = written();
            enum err e = share_create(db, &in, &a, &out, &ei);
            arena_release(&a);
            if (e) {
                assert_true(e == ERR_NOT_FOUND || e == ERR_EXPERIENCE_REQUIRED ||
                            e == ERR_HOP_LIMIT);
                assert_int_equal(written(), before);
                refused++;
                continue;
            }
            made++;
            hop2 += out.hop == 2;
            check_share(out.id);
        }
        assert_int_equal(scalar("SELECT COUNT(*) FROM shares WHERE hop > 2"), 0);
        store_destroy(&s);
    }
    fprintf(stderr, "# %d shares checked (%d at hop 2), %d refused, over %d random worlds\n", made,
            hop2, refused, SEEDS);
    assert_true(made > SEEDS * 5 && hop2 > SEEDS && refused > SEEDS);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
