/*
 * bench_settle - the settlement job over many pending commissions.
 *
 *   bench_settle DB_URL [N]   (N commissions, default 1000000)
 *
 * Seeds an empty database (migrated here) with one shop, 1,000 promoters and
 * N completed orders, each with a pending level-1 commission of 1,000 fen and
 * the matching pending balances, then times commission_settle() (what
 * `quanzi settle` and the scheduled job run) and checks that every
 * commission moved and every pending balance went to available.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/migrate.h"
#include "domain/commission.h"
#include "util/clock.h"

#define PROMOTERS 1000

static int64_t scalar(struct db *db, const char *sql)
{
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t v = -1;
    if (db_prepare_uncached(db, sql, &st) == ERR_OK) {
        if (db_step(st, &row) == ERR_OK && row)
            v = db_col_int64(st, 0);
        db_done(st);
    }
    return v;
}

static int run(struct db *db, const char *sql, int64_t n)
{
    struct db_stmt *st = NULL;
    if (db_prepare_uncached(db, sql, &st) != ERR_OK)
        return 1;
    if (n)
        db_bind_int64(st, 1, n);
    enum err e = db_step_done(st);
    db_done(st);
    if (e)
        fprintf(stderr, "bench_settle: %s: %s\n", err_code(e), db_errmsg(db));
    return e != ERR_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_settle DB_URL [N]\n");
        return 2;
    }
    int64_t n = argc > 2 ? strtoll(argv[2], NULL, 10) : 1000000;
    struct db_options opt = {.url = argv[1], .sync = DB_SYNC_FULL, .busy_timeout_ms = 5000};
    struct errinfo ei = {0};
    struct db *db = NULL;
    int applied = 0;
    if (db_open(&opt, &db, &ei) != ERR_OK || migrate_run(db, &applied, &ei) != ERR_OK) {
        fprintf(stderr, "bench_settle: %s\n", ei.message);
        return 1;
    }
    if (db_kind(db) == DB_SQLITE && db_exec(db, "PRAGMA cache_size=-262144") != ERR_OK)
        return 1;
        /* portable SQL (SQLite and PostgreSQL): recursive counters make the rows */
#define COUNT_TO(lim)                                                                              \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " lim ")"
    static const char *const seed[] = {
        "INSERT INTO users (login, password_hash, display_name, is_admin, created_at) " COUNT_TO(
            "1001") " SELECT 'bench' || x, 'x', 'P' || x, 0, 0 FROM c",
        "INSERT INTO shops (owner_id, name, slug, story, trial_ends_at, l1_bps, l2_bps,"
        " settle_days, binding_days, similarity_milli, promoter_auto_approve, created_at,"
        " updated_at) VALUES (1, 'Bench', 'bench', '', 0, 1000, 500, 7, 30, 300, 1, 0, 0)",
        "INSERT INTO products (shop_id, title, description, price_fen, stock, sold, stock_in,"
        " status, created_at, updated_at) VALUES (1, 'W', '', 10000, 0, 0, 0, 'on_sale', 0, 0)",
        "INSERT INTO promoters (shop_id, user_id, status, invite_code, ref_token, created_at,"
        " updated_at) " COUNT_TO("1000") " SELECT 1, x + 1, 'active', 'C' || x, 'R' || x, 0, 0"
                                         " FROM c",
    };
    static const char orders[] =
        "INSERT INTO orders (shop_id, buyer_id, status, total_fen, address_name, address_phone,"
        " address_region, address_line, pay_deadline_at, created_at, paid_at, delivered_at,"
        " completed_at, updated_at, promoter_id, attributed_via) " COUNT_TO(
            "?") " SELECT 1, 1, 'completed', 10000, 'a', 'p', 'r', 'l', 0, 0, 0, 0, 0, 0,"
                 " 1 + x % 1000, 'link' FROM c";
    static const char commissions[] =
        "INSERT INTO commissions (shop_id, order_id, level, promoter_id, weighted_bps_fen,"
        " earned_fen, amount_fen, status, created_at) SELECT 1, id, 1, promoter_id, 10000000,"
        " 1000, 1000, 'pending', 0 FROM orders";
    static const char accounts[] =
        "INSERT INTO ledger_accounts (shop_id, kind, promoter_id, balance_fen) SELECT 1,"
        " 'pending', promoter_id, SUM(amount_fen) FROM commissions GROUP BY promoter_id";
    int64_t t0 = clock_mono_us();
    int rc = db_begin(db, DB_TX_WRITE) != ERR_OK;
    for (size_t i = 0; !rc && i < sizeof seed / sizeof seed[0]; i++)
        rc = run(db, seed[i], 0);
    if (!rc)
        rc = run(db, orders, n) || run(db, commissions, 0) || run(db, accounts, 0);
    if (!rc)
        rc = db_commit(db) != ERR_OK;
    db_rollback(db);
    if (rc)
        return 1;
    printf("seeded %lld completed orders with pending commission in %.1f s\n", (long long)n,
           (double)(clock_mono_us() - t0) / 1e6);

    /* start from a checkpointed database (SQLite), with statistics (PostgreSQL), as a
     * long-running server's would be */
    if (db_exec(db, db_kind(db) == DB_SQLITE ? "PRAGMA wal_checkpoint(TRUNCATE)" : "ANALYZE") !=
        ERR_OK)
        return 1;
    int64_t moved = 0;
    t0 = clock_mono_us();
    enum err e = commission_settle(db, clock_now_ms(), COMMISSION_SETTLE_BATCH, &moved);
    int64_t us = clock_mono_us() - t0;
    int64_t left = scalar(db, "SELECT COUNT(*) FROM commissions WHERE status = 'pending'");
    int64_t pending = scalar(db, "SELECT SUM(balance_fen) FROM ledger_accounts"
                                 " WHERE kind = 'pending'");
    int64_t available = scalar(db, "SELECT SUM(balance_fen) FROM ledger_accounts"
                                   " WHERE kind = 'available'");
    printf("settle %s: %lld commissions in %.2f s (%.0f per second); left pending %lld; pending"
           " balance %lld fen, available %lld fen\n",
           err_code(e), (long long)moved, (double)us / 1e6, (double)moved * 1e6 / (double)us,
           (long long)left, (long long)pending, (long long)available);
    db_close(db);
    return e != ERR_OK || moved != n || left != 0 || pending != 0 || available != n * 1000;
}
