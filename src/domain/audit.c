#include "domain/audit.h"

#include <string.h>

#include "domain/order.h"
#include "util/clock.h"
#include "util/limits.h"

#define PROMOTER_ACCOUNTS "('pending', 'available', 'withdrawing')"

/* Runs `sql` with the int64 parameters `p` and reads its first row's columns into v. */
static enum err scalar(struct db *db, const char *sql, const int64_t *p, int np, int64_t *v, int nv)
{
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    for (int i = 0; i < np; i++)
        db_bind_int64(st, i + 1, p[i]);
    e = db_step(st, &row);
    for (int i = 0; i < nv; i++)
        v[i] = e == ERR_OK && row && !db_col_is_null(st, i) ? db_col_int64(st, i) : 0;
    db_done(st);
    return e;
}

/* Collects the rows of `sql` (at most AUDIT_ROWS_MAX kept, all counted). */
static enum err rows(struct db *db, const char *sql, const int64_t *p, int np,
                     struct audit_finding *f, struct arena *a)
{
    struct db_stmt *st = NULL;
    bool row = false;
    f->rows = arena_alloc(a, AUDIT_ROWS_MAX * sizeof *f->rows);
    if (!f->rows)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    for (int i = 0; i < np; i++)
        db_bind_int64(st, i + 1, p[i]);
    while ((e = db_step(st, &row)) == ERR_OK && row) {
        if (f->n_rows < AUDIT_ROWS_MAX) {
            for (int c = 0; c < AUDIT_COLS; c++)
                f->rows[f->n_rows][c] = f->cols[c] && c < db_col_count(st) && !db_col_is_null(st, c)
                                            ? db_col_int64(st, c)
                                            : 0;
            f->n_rows++;
        }
        f->count++;
    }
    db_done(st);
    return e;
}

static void describe(struct audit_finding *f, const char *name, const char *rule, const char *about,
                     bool required, const char *c0, const char *c1, const char *c2, const char *c3)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    f->rule = rule;
    f->about = about;
    f->required = required;
    f->ok = true;
    f->cols[0] = c0;
    f->cols[1] = c1;
    f->cols[2] = c2;
    f->cols[3] = c3;
}

static int64_t share_bps(int64_t num, int64_t den)
{
    return den > 0 ? num * 10000 / den : 0;
}

enum err audit_shop(struct db *db, int64_t shop_id, struct arena *a, struct audit *out)
{
    /* RULE: TWO-LEVELS */
    static const char depth_v[] =
        "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM commissions WHERE shop_id = ?"
        " AND status <> 'withheld' AND earned_fen > 0 GROUP BY order_id) t";
    static const char depth_r[] =
        "SELECT order_id, COUNT(*) FROM commissions WHERE shop_id = ? AND status <> 'withheld'"
        " AND earned_fen > 0 GROUP BY order_id HAVING COUNT(*) > 2";
    /* RULE: NO-HEADCOUNT - promoters are credited only by sales, settlement and returned
     * withdrawals */
    static const char recruit_r[] =
        "SELECT e.txn_id, e.id, a.promoter_id, e.amount_fen FROM ledger_entries e"
        " JOIN ledger_accounts a ON a.id = e.account_id JOIN ledger_txns t ON t.id = e.txn_id"
        " WHERE e.shop_id = ? AND a.kind IN " PROMOTER_ACCOUNTS " AND e.amount_fen > 0"
        " AND t.kind NOT IN ('order_paid', 'settle', 'withdraw_request', 'withdraw_reject')";
    /* RULE: NO-ENTRY-FEE - promoters are debited only by settlement, clawback and payouts */
    static const char fee_r[] =
        "SELECT e.txn_id, e.id, a.promoter_id, -e.amount_fen FROM ledger_entries e"
        " JOIN ledger_accounts a ON a.id = e.account_id JOIN ledger_txns t ON t.id = e.txn_id"
        " WHERE e.shop_id = ? AND a.kind IN " PROMOTER_ACCOUNTS " AND e.amount_fen < 0"
        " AND t.kind NOT IN ('settle', 'refund', 'withdraw_request', 'withdraw_reject',"
        " 'withdraw_paid')";
    static const char consumer_v[] =
        "SELECT SUM(i.qty), SUM(CASE WHEN p.id IS NULL THEN i.qty ELSE 0 END), SUM(i.line_fen),"
        " SUM(CASE WHEN p.id IS NULL THEN i.line_fen ELSE 0 END) FROM order_items i"
        " JOIN orders o ON o.id = i.order_id"
        " LEFT JOIN promoters p ON p.shop_id = o.shop_id AND p.user_id = o.buyer_id"
        " WHERE o.shop_id = ? AND o.paid_at IS NOT NULL AND o.status <> 'refunded'";
    static const char consumer_r[] =
        "SELECT p.id, p.user_id, COUNT(*), SUM(o.total_fen - o.refunded_fen) FROM orders o"
        " JOIN promoters p ON p.shop_id = o.shop_id AND p.user_id = o.buyer_id"
        " WHERE o.shop_id = ? AND o.paid_at IS NOT NULL AND o.status <> 'refunded'"
        " GROUP BY p.id, p.user_id ORDER BY 4 DESC";
    static const char l2_v[] =
        "SELECT SUM(CASE WHEN level = 2 THEN amount_fen ELSE 0 END), SUM(amount_fen)"
        " FROM commissions WHERE shop_id = ?";
    /* RULE: NO-SELF-COMMISSION */
    static const char self_r[] = "SELECT id, user_id, ref_id FROM audit_events"
                                 " WHERE shop_id = ? AND kind = 'self_purchase' ORDER BY id DESC";
    /* RULE: NO-STOCKPILING - promoters at or over the per-buyer cap of a product */
    static const char stock_r[] =
        "SELECT p.id, p.user_id, i.product_id, SUM(i.qty) FROM promoters p"
        " JOIN orders o ON o.buyer_id = p.user_id AND o.shop_id = p.shop_id"
        " JOIN order_items i ON i.order_id = o.id JOIN products pr ON pr.id = i.product_id"
        " JOIN shops s ON s.id = p.shop_id WHERE p.shop_id = ? AND o.created_at > ?"
        " AND o.status <> 'cancelled' AND o.status <> 'refunded'"
        " GROUP BY p.id, p.user_id, i.product_id, pr.buyer_cap_30d, s.buyer_cap_30d"
        " HAVING SUM(i.qty) >= COALESCE(pr.buyer_cap_30d, s.buyer_cap_30d)";
    /* RULE: NO-CYCLES / NO-SELF */
    static const char cycle_r[] = "SELECT id, user_id, ref_id FROM audit_events WHERE shop_id = ?"
                                  " AND kind IN ('invite_cycle', 'self_invite') ORDER BY id DESC";
    /* RULE: RATE-CAPS - what each order paid out, as a rate of its total */
    static const char rate_v[] =
        "SELECT MAX(r) FROM (SELECT SUM(c.earned_fen) * 10000 / o.total_fen AS r"
        " FROM commissions c JOIN orders o ON o.id = c.order_id WHERE c.shop_id = ?"
        " GROUP BY c.order_id, o.total_fen) t";
    static const char rate_r[] =
        "SELECT c.order_id, SUM(c.earned_fen) * 10000 / o.total_fen FROM commissions c"
        " JOIN orders o ON o.id = c.order_id WHERE c.shop_id = ? GROUP BY c.order_id, o.total_fen"
        " HAVING SUM(c.earned_fen) * 10000 / o.total_fen > ?";

    int64_t now = clock_now_ms();
    int64_t p1[] = {shop_id};
    int64_t p_since[] = {shop_id, now - ORDER_CAP_WINDOW_MS};
    int64_t p_rate[] = {shop_id, PLATFORM_MAX_COMMISSION_BPS};
    int64_t v[4];
    struct audit_finding *f = out->f;
    memset(out, 0, sizeof *out);
    out->shop_id = shop_id;
    out->at_ms = now;

    enum err e = db_begin(db, DB_TX_READ);
    if (e)
        return e;

    describe(&f[0], "max_chain_depth", "TWO-LEVELS",
             "most people paid commission on one order (at most 2)", true, "order_id", "levels",
             NULL, NULL);
    f[0].limit = 2;
    if (!(e = scalar(db, depth_v, p1, 1, v, 1)) && !(e = rows(db, depth_r, p1, 1, &f[0], a))) {
        f[0].value = v[0];
        f[0].ok = v[0] <= 2 && f[0].count == 0;
    }

    describe(&f[1], "recruiting_commission_fen", "NO-HEADCOUNT",
             "money credited to promoters for anything but retail sales (must be 0)", true,
             "txn_id", "entry_id", "promoter_id", "amount_fen");
    if (!e && !(e = rows(db, recruit_r, p1, 1, &f[1], a))) {
        for (size_t i = 0; i < f[1].n_rows; i++)
            f[1].value += f[1].rows[i][3];
        f[1].ok = f[1].count == 0;
    }

    describe(&f[2], "entry_fees_fen", "NO-ENTRY-FEE",
             "money taken from promoters except clawbacks and payouts (must be 0)", true, "txn_id",
             "entry_id", "promoter_id", "amount_fen");
    if (!e && !(e = rows(db, fee_r, p1, 1, &f[2], a))) {
        for (size_t i = 0; i < f[2].n_rows; i++)
            f[2].value += f[2].rows[i][3];
        f[2].ok = f[2].count == 0;
    }

    describe(&f[3], "consumer_share_bps", "NO-STOCKPILING",
             "share of the amount sold to buyers who are not promoters of the shop "
             "(rows: promoters who bought)",
             false, "promoter_id", "user_id", "orders", "amount_fen");
    if (!e && !(e = scalar(db, consumer_v, p1, 1, v, 4)) &&
        !(e = rows(db, consumer_r, p1, 1, &f[3], a))) {
        f[3].num = v[3];
        f[3].den = v[2];
        f[3].value = share_bps(v[3], v[2]);
    }

    describe(&f[4], "l2_commission_share_bps", "L2-ACTIVE-SELLER",
             "share of all commission paid at level 2", false, NULL, NULL, NULL, NULL);
    if (!e && !(e = scalar(db, l2_v, p1, 1, v, 2))) {
        f[4].num = v[0];
        f[4].den = v[1];
        f[4].value = share_bps(v[0], v[1]);
    }

    describe(&f[5], "self_purchases_blocked", "NO-SELF-COMMISSION",
             "purchases through the buyer's own link or line that earned nothing", false,
             "event_id", "user_id", "promoter_id", NULL);
    if (!e && !(e = rows(db, self_r, p1, 1, &f[5], a)))
        f[5].value = f[5].count;

    describe(&f[6], "promoters_over_personal_use", "NO-STOCKPILING",
             "promoters who bought a product up to its per-buyer cap in the last 30 days", false,
             "promoter_id", "user_id", "product_id", "units");
    if (!e && !(e = rows(db, stock_r, p_since, 2, &f[6], a))) {
        f[6].value = f[6].count;
        f[6].ok = f[6].count == 0;
    }

    describe(&f[7], "invite_cycles_rejected", "NO-CYCLES",
             "invitations refused because they would loop or invite oneself", false, "event_id",
             "user_id", "inviter_id", NULL);
    if (!e && !(e = rows(db, cycle_r, p1, 1, &f[7], a)))
        f[7].value = f[7].count;

    describe(&f[8], "max_commission_bps", "RATE-CAPS",
             "most commission one order paid, as a rate of its total", true, "order_id", "bps",
             NULL, NULL);
    f[8].limit = PLATFORM_MAX_COMMISSION_BPS;
    if (!e && !(e = scalar(db, rate_v, p1, 1, v, 1)) &&
        !(e = rows(db, rate_r, p_rate, 2, &f[8], a))) {
        f[8].value = v[0];
        f[8].ok = v[0] <= PLATFORM_MAX_COMMISSION_BPS;
    }

    db_rollback(db);
    out->ok = true;
    for (int i = 0; i < AUDIT_FINDINGS; i++)
        if (f[i].required && !f[i].ok)
            out->ok = false;
    return e;
}

enum err audit_event_add(struct db *db, int64_t shop_id, const char *kind, int64_t user_id,
                         int64_t ref_id, const char *detail)
{
    static const char sql[] = "INSERT INTO audit_events (shop_id, kind, user_id, ref_id, detail,"
                              " at) VALUES (?, ?, ?, ?, ?, ?)";
    return db_run(db, sql, DB_INT(shop_id), DB_STR(kind), DB_INT(user_id), DB_REF(ref_id),
                  DB_STR(detail), DB_INT(clock_now_ms()));
}

enum err audit_shop_ids(struct db *db, struct arena *a, int64_t **ids, size_t *n)
{
    static const char count[] = "SELECT COUNT(*) FROM shops";
    static const char sql[] = "SELECT id FROM shops ORDER BY id";
    int64_t total = 0;
    struct db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    enum err e = scalar(db, count, NULL, 0, &total, 1);
    if (e)
        return e;
    *ids = arena_alloc(a, (size_t)(total + 1) * sizeof **ids);
    if (!*ids)
        return ERR_TOO_LARGE;
    if ((e = db_prepare(db, sql, &st)))
        return e;
    while ((e = db_step(st, &row)) == ERR_OK && row && *n < (size_t)total)
        (*ids)[(*n)++] = db_col_int64(st, 0);
    db_done(st);
    return e;
}
