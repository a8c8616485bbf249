#include "domain/audit.h"

#include <string.h>

#include "domain/order.h"
#include "util/clock.h"
#include "util/limits.h"

#define PROMOTER_ACCOUNTS "('pending', 'available', 'withdrawing')"

static int64_t share_bps(int64_t num, int64_t den)
{
    return den > 0 ? num * 10000 / den : 0;
}

/* The statements behind the findings; each takes the shop first. */
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
/* RULE: TWO-HOPS - the longest share chain, and how much went through its second hop */
static const char hop_v[] = "SELECT MAX(hop) FROM shares WHERE shop_id = ?";
static const char hop_r[] = "SELECT id, hop, parent_id FROM shares WHERE shop_id = ? AND hop > 2";
static const char hop_deliveries_v[] =
    "SELECT SUM(CASE WHEN hop = 2 THEN delivered ELSE 0 END), SUM(delivered) FROM shares"
    " WHERE shop_id = ?";
static const char hop_orders_v[] =
    "SELECT SUM(CASE WHEN share_hop = 2 THEN 1 ELSE 0 END), COUNT(*) FROM orders"
    " WHERE shop_id = ? AND share_id IS NOT NULL AND paid_at IS NOT NULL";

/* What a finding's value is, and when it holds. */
enum value_of { VALUE_FIRST, VALUE_SUM_OF_COL3, VALUE_ROWS, VALUE_SHARE };
enum holds_when { HOLDS_ALWAYS, HOLDS_NO_ROWS, HOLDS_AT_MOST_LIMIT, HOLDS_AT_MOST_LIMIT_NO_ROWS };
/* The values a rows statement takes after the shop. */
enum rows_args { ARGS_SHOP, ARGS_SINCE_30_DAYS, ARGS_RATE_CAP };

/*
 * The findings, one row each (as the ledger's checks): its name, the rule it
 * checks, a line for people, whether it must hold and its limit, the names
 * of its rows' columns, the statement of its value (VALUE_FIRST: the first
 * column; VALUE_SHARE: columns num_col of den_col, in basis points) and of
 * its rows, and when it holds.
 */
static const struct finding_def {
    const char *name, *rule, *about;
    bool required;
    int64_t limit;
    const char *cols[AUDIT_COLS];
    enum value_of value;
    const char *value_sql;
    int num_col, den_col;
    const char *rows_sql;
    enum rows_args rows_args;
    enum holds_when holds;
} findings[AUDIT_FINDINGS] = {
    {"max_chain_depth",
     "TWO-LEVELS",
     "most people paid commission on one order (at most 2)",
     true,
     2,
     {"order_id", "levels"},
     VALUE_FIRST,
     depth_v,
     0,
     0,
     depth_r,
     ARGS_SHOP,
     HOLDS_AT_MOST_LIMIT_NO_ROWS},
    {"recruiting_commission_fen",
     "NO-HEADCOUNT",
     "money credited to promoters for anything but retail sales (must be 0)",
     true,
     0,
     {"txn_id", "entry_id", "promoter_id", "amount_fen"},
     VALUE_SUM_OF_COL3,
     NULL,
     0,
     0,
     recruit_r,
     ARGS_SHOP,
     HOLDS_NO_ROWS},
    {"entry_fees_fen",
     "NO-ENTRY-FEE",
     "money taken from promoters except clawbacks and payouts (must be 0)",
     true,
     0,
     {"txn_id", "entry_id", "promoter_id", "amount_fen"},
     VALUE_SUM_OF_COL3,
     NULL,
     0,
     0,
     fee_r,
     ARGS_SHOP,
     HOLDS_NO_ROWS},
    {"consumer_share_bps",
     "NO-STOCKPILING",
     "share of the amount sold to buyers who are not promoters of the shop "
     "(rows: promoters who bought)",
     false,
     0,
     {"promoter_id", "user_id", "orders", "amount_fen"},
     VALUE_SHARE,
     consumer_v,
     3,
     2,
     consumer_r,
     ARGS_SHOP,
     HOLDS_ALWAYS},
    {"l2_commission_share_bps",
     "L2-ACTIVE-SELLER",
     "share of all commission paid at level 2",
     false,
     0,
     {NULL},
     VALUE_SHARE,
     l2_v,
     0,
     1,
     NULL,
     ARGS_SHOP,
     HOLDS_ALWAYS},
    {"self_purchases_blocked",
     "NO-SELF-COMMISSION",
     "purchases through the buyer's own link or line that earned nothing",
     false,
     0,
     {"event_id", "user_id", "promoter_id"},
     VALUE_ROWS,
     NULL,
     0,
     0,
     self_r,
     ARGS_SHOP,
     HOLDS_ALWAYS},
    {"promoters_over_personal_use",
     "NO-STOCKPILING",
     "promoters who bought a product up to its per-buyer cap in the last 30 days",
     false,
     0,
     {"promoter_id", "user_id", "product_id", "units"},
     VALUE_ROWS,
     NULL,
     0,
     0,
     stock_r,
     ARGS_SINCE_30_DAYS,
     HOLDS_NO_ROWS},
    {"invite_cycles_rejected",
     "NO-CYCLES",
     "invitations refused because they would loop or invite oneself",
     false,
     0,
     {"event_id", "user_id", "inviter_id"},
     VALUE_ROWS,
     NULL,
     0,
     0,
     cycle_r,
     ARGS_SHOP,
     HOLDS_ALWAYS},
    {"max_commission_bps",
     "RATE-CAPS",
     "most commission one order paid, as a rate of its total",
     true,
     PLATFORM_MAX_COMMISSION_BPS,
     {"order_id", "bps"},
     VALUE_FIRST,
     rate_v,
     0,
     0,
     rate_r,
     ARGS_RATE_CAP,
     HOLDS_AT_MOST_LIMIT},
    {"max_share_hop",
     "TWO-HOPS",
     "longest chain a recommendation was passed along (at most 2)",
     true,
     2,
     {"share_id", "hop", "parent_share_id"},
     VALUE_FIRST,
     hop_v,
     0,
     0,
     hop_r,
     ARGS_SHOP,
     HOLDS_AT_MOST_LIMIT_NO_ROWS},
    {"hop2_delivery_share_bps",
     "TWO-HOPS",
     "share of recommendations delivered at hop 2 (the rest at hop 1)",
     false,
     0,
     {NULL},
     VALUE_SHARE,
     hop_deliveries_v,
     0,
     1,
     NULL,
     ARGS_SHOP,
     HOLDS_ALWAYS},
    {"hop2_order_share_bps",
     "TWO-HOPS",
     "share of the paid orders through recommendations that came through hop 2",
     false,
     0,
     {NULL},
     VALUE_SHARE,
     hop_orders_v,
     0,
     1,
     NULL,
     ARGS_SHOP,
     HOLDS_ALWAYS},
};

/* The first row's first four columns (NULL reads 0) of a statement on the shop. */
static enum err values(struct db *db, const char *sql, int64_t shop_id, int64_t v[4])
{
    struct db_stmt *st = NULL;
    memset(v, 0, 4 * sizeof *v);
    enum err e = db_first(db, sql, &st, DB_INT(shop_id));
    if (e)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    for (int i = 0; i < 4 && i < db_col_count(st); i++)
        v[i] = db_col_is_null(st, i) ? 0 : db_col_int64(st, i);
    db_done(st);
    return ERR_OK;
}

/* Collects the rows of `sql` (at most AUDIT_ROWS_MAX kept, all counted). */
static enum err rows(struct db *db, const char *sql, struct db_arg arg, int64_t shop_id,
                     struct audit_finding *f, struct arena *a)
{
    struct db_stmt *st = NULL;
    f->rows = arena_alloc(a, AUDIT_ROWS_MAX * sizeof *f->rows);
    if (!f->rows)
        return ERR_TOO_LARGE;
    enum err e = db_query(db, sql, &st, DB_INT(shop_id), arg);
    while (e == ERR_OK && db_next(st, &e)) {
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

/* One finding, measured. */
static enum err measure(struct db *db, const struct finding_def *d, int64_t shop_id, int64_t now,
                        struct arena *a, struct audit_finding *f)
{
    int64_t v[4] = {0};
    enum err e;
    memset(f, 0, sizeof *f);
    f->name = d->name;
    f->rule = d->rule;
    f->about = d->about;
    f->required = d->required;
    f->limit = d->limit;
    memcpy(f->cols, d->cols, sizeof f->cols);
    if (d->value_sql && (e = values(db, d->value_sql, shop_id, v)))
        return e;
    if (d->rows_sql) {
        struct db_arg arg = d->rows_args == ARGS_SINCE_30_DAYS ? DB_INT(now - ORDER_CAP_WINDOW_MS)
                            : d->rows_args == ARGS_RATE_CAP    ? DB_INT(PLATFORM_MAX_COMMISSION_BPS)
                                                               : DB_SKIP;
        if ((e = rows(db, d->rows_sql, arg, shop_id, f, a)))
            return e;
    }
    switch (d->value) {
    case VALUE_FIRST:
        f->value = v[0];
        break;
    case VALUE_SUM_OF_COL3:
        for (size_t i = 0; i < f->n_rows; i++)
            f->value += f->rows[i][3];
        break;
    case VALUE_ROWS:
        f->value = f->count;
        break;
    case VALUE_SHARE:
        f->num = v[d->num_col];
        f->den = v[d->den_col];
        f->value = share_bps(f->num, f->den);
        break;
    }
    switch (d->holds) {
    case HOLDS_ALWAYS:
        f->ok = true;
        break;
    case HOLDS_NO_ROWS:
        f->ok = f->count == 0;
        break;
    case HOLDS_AT_MOST_LIMIT:
        f->ok = f->value <= d->limit;
        break;
    case HOLDS_AT_MOST_LIMIT_NO_ROWS:
        f->ok = f->value <= d->limit && f->count == 0;
        break;
    }
    return ERR_OK;
}

struct audit_args {
    int64_t shop_id;
    struct arena *a;
    struct audit *out;
};

static enum err audit_tx(struct db *db, void *arg)
{
    const struct audit_args *q = arg;
    enum err e = ERR_OK;
    for (int i = 0; e == ERR_OK && i < AUDIT_FINDINGS; i++)
        e = measure(db, &findings[i], q->shop_id, q->out->at_ms, q->a, &q->out->f[i]);
    return e;
}

enum err audit_shop(struct db *db, int64_t shop_id, struct arena *a, struct audit *out)
{
    memset(out, 0, sizeof *out);
    out->shop_id = shop_id;
    out->at_ms = clock_now_ms();
    struct audit_args q = {.shop_id = shop_id, .a = a, .out = out};
    enum err e = db_tx_run(db, DB_TX_READ, audit_tx, &q); /* one snapshot */
    out->ok = true;
    for (int i = 0; i < AUDIT_FINDINGS; i++)
        if (out->f[i].required && !out->f[i].ok)
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
    int64_t total = 0;
    struct db_stmt *st = NULL;
    *n = 0;
    enum err e = db_value(db, count, &total);
    if (e)
        return e;
    *ids = arena_alloc(a, (size_t)(total + 1) * sizeof **ids);
    if (!*ids)
        return ERR_TOO_LARGE;
    static const char sql[] = "SELECT id FROM shops ORDER BY id";
    e = db_query(db, sql, &st);
    while (e == ERR_OK && db_next(st, &e) && *n < (size_t)total)
        (*ids)[(*n)++] = db_col_int64(st, 0);
    db_done(st);
    return e;
}
