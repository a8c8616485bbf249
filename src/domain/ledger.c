#include "domain/ledger.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "domain/commission.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/money.h"

static const char *const kind_names[] = {"external", "revenue",   "commission",
                                         "pending",  "available", "withdrawing"};

const char *ledger_kind_name(enum ledger_kind k)
{
    return kind_names[k];
}

static bool per_promoter(enum ledger_kind k)
{
    return k == LEDGER_PENDING || k == LEDGER_AVAILABLE || k == LEDGER_WITHDRAWING;
}

/*
 * Accounts' ids, remembered: an account keeps its id for good (none is ever
 * deleted), and a payment then adds to its two or three accounts by id
 * instead of looking each up by name. A remembered id is only a hint: the
 * update by id names the account's shop, kind and promoter too, so a stale
 * one (its opening rolled back, the id since taken by another account, or
 * another database of the same process) changes no row, and the posting
 * falls back to the lookup by name. Direct-mapped; a collision forgets.
 */
#define ACCOUNT_SLOTS 1024

struct account_slot {
    int64_t shop_id, promoter_id, id;
    enum ledger_kind kind;
};

static struct account_slot account_slots[ACCOUNT_SLOTS];
static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;

static struct account_slot *slot_of(int64_t shop_id, enum ledger_kind kind, int64_t promoter_id)
{
    uint64_t h =
        (uint64_t)shop_id * 0x9e3779b97f4a7c15u ^ (uint64_t)promoter_id * 0xc2b2ae3d27d4eb4fu;
    return &account_slots[(h ^ (h >> 29) ^ (uint64_t)kind) % ACCOUNT_SLOTS];
}

static int64_t remembered(int64_t shop_id, enum ledger_kind kind, int64_t promoter_id)
{
    pthread_mutex_lock(&account_lock);
    const struct account_slot *s = slot_of(shop_id, kind, promoter_id);
    int64_t id =
        s->shop_id == shop_id && s->kind == kind && s->promoter_id == promoter_id ? s->id : 0;
    pthread_mutex_unlock(&account_lock);
    return id;
}

static void remember(int64_t shop_id, enum ledger_kind kind, int64_t promoter_id, int64_t id)
{
    pthread_mutex_lock(&account_lock);
    *slot_of(shop_id, kind, promoter_id) = (struct account_slot){
        .shop_id = shop_id, .promoter_id = promoter_id, .id = id, .kind = kind};
    pthread_mutex_unlock(&account_lock);
}

/* Adds to the account by its remembered id; *acc stays 0 if there is none or it changed nothing. */
static enum err add_by_hint(struct db *db, int64_t shop_id, const struct ledger_entry *en,
                            bool guard, int64_t *acc)
{
    static const char add[] = "UPDATE ledger_accounts SET balance_fen = balance_fen + ?"
                              " WHERE id = ? AND shop_id = ? AND kind = ? AND promoter_id = ?";
    static const char add_nonneg[] =
        "UPDATE ledger_accounts SET balance_fen = balance_fen + ? WHERE id = ? AND shop_id = ?"
        " AND kind = ? AND promoter_id = ? AND balance_fen + ? >= 0";
    int64_t owner = per_promoter(en->kind) ? en->promoter_id : 0;
    int64_t hint = remembered(shop_id, en->kind, owner);
    int64_t changed = 0;
    *acc = 0;
    if (!hint)
        return ERR_OK;
    enum err e = db_run_changes(db, guard ? add_nonneg : add, &changed, DB_INT(en->amount_fen),
                                DB_INT(hint), DB_INT(shop_id), DB_STR(kind_names[en->kind]),
                                DB_INT(owner), guard ? DB_INT(en->amount_fen) : DB_SKIP);
    if (e == ERR_OK && changed == 1)
        *acc = hint;
    return e;
}

/* The account's id, opening it on first use. */
static enum err account_id(struct db *db, int64_t shop_id, enum ledger_kind kind,
                           int64_t promoter_id, int64_t *id)
{
    static const char find[] = "SELECT id FROM ledger_accounts"
                               " WHERE shop_id = ? AND kind = ? AND promoter_id = ?";
    static const char open[] = "INSERT INTO ledger_accounts (shop_id, kind, promoter_id)"
                               " VALUES (?, ?, ?) ON CONFLICT (shop_id, kind, promoter_id)"
                               " DO NOTHING";
    int64_t owner = per_promoter(kind) ? promoter_id : 0;
    enum err e = db_value(db, find, id, DB_INT(shop_id), DB_STR(kind_names[kind]), DB_INT(owner));
    if (e != ERR_NOT_FOUND)
        return e;
    if ((e = db_run(db, open, DB_INT(shop_id), DB_STR(kind_names[kind]), DB_INT(owner))))
        return e;
    e = db_value(db, find, id, DB_INT(shop_id), DB_STR(kind_names[kind]), DB_INT(owner));
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* Adds to the account found by its name, opening it on first use; remembers its id. */
static enum err add_by_name(struct db *db, int64_t shop_id, const struct ledger_entry *en,
                            bool guard, int64_t *acc)
{
    static const char add[] = "UPDATE ledger_accounts SET balance_fen = balance_fen + ?"
                              " WHERE id = ?";
    /* the usual case in one statement: the account exists and takes the amount */
    static const char add_to[] = "UPDATE ledger_accounts SET balance_fen = balance_fen + ?"
                                 " WHERE shop_id = ? AND kind = ? AND promoter_id = ? RETURNING id";
    static const char add_to_nonneg[] =
        "UPDATE ledger_accounts SET balance_fen = balance_fen + ?"
        " WHERE shop_id = ? AND kind = ? AND promoter_id = ? AND balance_fen + ? >= 0"
        " RETURNING id";
    int64_t owner = per_promoter(en->kind) ? en->promoter_id : 0;
    struct db_arg guarded = guard ? DB_INT(en->amount_fen) : DB_SKIP;
    int64_t changed = 0;
    *acc = 0;
    enum err e = db_value(db, guard ? add_to_nonneg : add_to, acc, DB_INT(en->amount_fen),
                          DB_INT(shop_id), DB_STR(kind_names[en->kind]), DB_INT(owner), guarded);
    if (e && e != ERR_NOT_FOUND)
        return e;
    static const char add_nonneg[] = "UPDATE ledger_accounts SET balance_fen = balance_fen + ?"
                                     " WHERE id = ? AND balance_fen + ? >= 0";
    if (!*acc) { /* no such account yet, or the guard refused: open it, then by id */
        if ((e = account_id(db, shop_id, en->kind, en->promoter_id, acc)) ||
            (e = db_run_changes(db, guard ? add_nonneg : add, &changed, DB_INT(en->amount_fen),
                                DB_INT(*acc), guarded)))
            return e;
        if (changed != 1)
            return ERR_INSUFFICIENT_BALANCE;
    }
    remember(shop_id, en->kind, owner, *acc);
    return ERR_OK;
}

enum err ledger_post(struct db *db, int64_t shop_id, const char *kind, int64_t ref_id,
                     const char *memo, const struct ledger_entry *en, size_t n, int64_t now)
{
    static const char txn[] = "INSERT INTO ledger_txns (shop_id, kind, ref_id, memo, created_at)"
                              " VALUES (?, ?, ?, ?, ?) RETURNING id";
    static const char ins[] = "INSERT INTO ledger_entries (txn_id, shop_id, account_id, amount_fen)"
                              " VALUES (?, ?, ?, ?)";
    int64_t sum = 0, txn_id = 0;
    size_t nonzero = 0;
    bool summed = true;
    for (size_t i = 0; i < n && summed; i++) {
        summed = money_add(sum, en[i].amount_fen, &sum);
        nonzero += en[i].amount_fen != 0;
    }
    /* every transaction balances, and fits */
    if (!INVARIANT(summed && sum == 0) || !INVARIANT(n <= LEDGER_ENTRIES_MAX)) {
        LOG(LOG_ERROR, "ledger_unbalanced", "shop_id=%lld kind=%s ref_id=%lld sum=%lld",
            (long long)shop_id, kind, (long long)ref_id, (long long)sum);
        return ERR_INTERNAL;
    }
    if (nonzero == 0)
        return ERR_OK; /* nothing moved: no transaction */
    enum err e = db_value(db, txn, &txn_id, DB_INT(shop_id), DB_STR(kind), DB_INT(ref_id),
                          DB_STR(memo ? memo : ""), DB_INT(now));
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        int64_t acc = 0;
        if (en[i].amount_fen == 0)
            continue;
        bool guard = en[i].keep_nonneg && en[i].amount_fen < 0;
        if ((e = add_by_hint(db, shop_id, &en[i], guard, &acc)))
            break;
        if (!acc && (e = add_by_name(db, shop_id, &en[i], guard, &acc)))
            break;
        e = db_run(db, ins, DB_INT(txn_id), DB_INT(shop_id), DB_INT(acc), DB_INT(en[i].amount_fen));
    }
    return e;
}

enum err ledger_promoter_balance(struct db *db, int64_t shop_id, int64_t promoter_id,
                                 struct ledger_promoter_balance *out)
{
    static const char sql[] = "SELECT kind, balance_fen FROM ledger_accounts"
                              " WHERE shop_id = ? AND promoter_id = ?"
                              " AND kind IN ('pending', 'available', 'withdrawing')";
    struct db_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    enum err e = db_query(db, sql, &st, DB_INT(shop_id), DB_INT(promoter_id));
    while (e == ERR_OK && db_next(st, &e)) {
        const char *kind = db_col_text(st, 0, NULL);
        int64_t *to = !strcmp(kind, "pending")     ? &out->pending
                      : !strcmp(kind, "available") ? &out->available
                                                   : &out->withdrawing;
        *to = db_col_int64(st, 1);
    }
    db_done(st);
    return e;
}

/* One ledger transaction's row, without its lines. */
static enum err read_txn(struct db_stmt *st, struct arena *a, void *item)
{
    struct ledger_txn *x = item;
    x->id = db_col_int64(st, 0);
    x->kind = db_col_dup(st, 1, a);
    x->ref_id = db_col_int64(st, 2);
    x->memo = db_col_dup(st, 3, a);
    x->created_at_ms = db_col_int64(st, 4);
    return x->kind && x->memo ? ERR_OK : ERR_TOO_LARGE;
}

static enum err read_line(struct db_stmt *st, struct arena *a, void *item)
{
    struct ledger_line *l = item;
    l->account = db_col_dup(st, 0, a);
    l->promoter_id = db_col_int64(st, 1);
    l->amount_fen = db_col_int64(st, 2);
    return l->account ? ERR_OK : ERR_TOO_LARGE;
}

enum err ledger_list(struct db *db, int64_t shop_id, int64_t before_id, int64_t limit,
                     struct arena *a, struct ledger_txn **out, size_t *n, bool *more)
{
    static const char txns[] = "SELECT id, kind, ref_id, memo, created_at FROM ledger_txns"
                               " WHERE shop_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
    static const char lines[] =
        "SELECT a.kind, a.promoter_id, e.amount_fen FROM ledger_entries e"
        " JOIN ledger_accounts a ON a.id = e.account_id WHERE e.txn_id = ? ORDER BY e.id";
    void *items = NULL;
    enum err e =
        db_list(db, txns, limit, sizeof **out, read_txn, a, &items, n, more, DB_INT(shop_id),
                DB_INT(before_id > 0 ? before_id : INT64_MAX), DB_INT(limit + 1));
    struct ledger_txn *t = *out = items;
    for (size_t i = 0; e == ERR_OK && i < *n; i++) {
        e = db_list(db, lines, LEDGER_ENTRIES_MAX, sizeof *t[i].lines, read_line, a, &items,
                    &t[i].n_lines, NULL, DB_INT(t[i].id));
        t[i].lines = items;
    }
    return e;
}

enum err ledger_accounts(struct db *db, int64_t shop_id, struct arena *a,
                         struct ledger_account **out, size_t *n)
{
    static const char count[] = "SELECT COUNT(*) FROM ledger_accounts WHERE shop_id = ?";
    static const char sql[] = "SELECT kind, promoter_id, balance_fen FROM ledger_accounts"
                              " WHERE shop_id = ? ORDER BY promoter_id, id";
    struct db_stmt *st = NULL;
    int64_t count_of = 0;
    *n = 0;
    enum err e = db_value(db, count, &count_of, DB_INT(shop_id));
    if (e)
        return e;
    size_t cap = (size_t)count_of;
    struct ledger_account *acc = arena_alloc(a, (cap + 1) * sizeof *acc);
    if (!acc)
        return ERR_TOO_LARGE;
    e = db_query(db, sql, &st, DB_INT(shop_id));
    while (e == ERR_OK && db_next(st, &e) && *n < cap) {
        struct ledger_account *x = &acc[(*n)++];
        x->kind = db_col_dup(st, 0, a);
        x->promoter_id = db_col_int64(st, 1);
        x->balance_fen = db_col_int64(st, 2);
        if (!x->kind)
            e = ERR_TOO_LARGE;
    }
    db_done(st);
    *out = acc;
    return e;
}

/* --- ledger check --- */

/* Writes `fmt` with %0, %1, %2 replaced by v[0], v[1], v[2]. */
static void print_row(FILE *out, const char *fmt, const long long *v)
{
    for (const char *c = fmt; *c; c++) {
        if (c[0] == '%' && c[1] >= '0' && c[1] <= '2')
            fprintf(out, "%lld", v[*++c - '0']);
        else
            fputc(*c, out);
    }
    fputc('\n', out);
}

/*
 * Runs `sql` (no parameters) and reports each row it returns with `fmt`
 * (see print_row), given the row's first three integer columns.
 */
static enum err report(struct db *db, FILE *out, int64_t *problems, const char *sql,
                       const char *fmt)
{
    struct db_stmt *st = NULL;
    enum err e = db_prepare_uncached(db, sql, &st);
    while (e == ERR_OK && db_next(st, &e)) {
        int cols = db_col_count(st);
        long long v[3] = {0, 0, 0};
        for (int i = 0; i < cols && i < 3; i++)
            v[i] = db_col_int64(st, i);
        print_row(out, fmt, v);
        (*problems)++;
    }
    db_done(st);
    return e;
}

/* Each commission equals floor(weighted x (total - refunded) / (total x 10000)). */
static enum err check_commissions(struct db *db, FILE *out, int64_t *problems)
{
    static const char sql[] =
        "SELECT c.id, c.order_id, c.weighted_bps_fen, c.earned_fen, c.amount_fen, c.status,"
        " o.total_fen, o.refunded_fen FROM commissions c JOIN orders o ON o.id = c.order_id";
    struct db_stmt *st = NULL;
    enum err e = db_prepare_uncached(db, sql, &st);
    while (e == ERR_OK && db_next(st, &e)) {
        int64_t id = db_col_int64(st, 0), order = db_col_int64(st, 1);
        int64_t weighted = db_col_int64(st, 2), earned = db_col_int64(st, 3);
        int64_t amount = db_col_int64(st, 4), total = db_col_int64(st, 6);
        int64_t refunded = db_col_int64(st, 7), want = 0, first = 0;
        bool withheld = commission_status_parse(db_col_text(st, 5, NULL)) == COMMISSION_WITHHELD;
        bool ok = total > 0 &&
                  money_muldiv_floor(weighted, total - refunded, total * 10000, &want) &&
                  money_muldiv_floor(weighted, 1, 10000, &first);
        if (withheld)
            want = first = 0;
        if (!ok || amount != want || earned != first) {
            fprintf(out,
                    "commission %" PRId64 " of order %" PRId64 ": amount %" PRId64
                    " fen, earned %" PRId64 " fen; the rates and refunds give %" PRId64
                    " and %" PRId64 "\n",
                    id, order, amount, earned, want, first);
            (*problems)++;
        }
    }
    db_done(st);
    return e;
}

/* The ledger's invariants: each query answers the rows that break one, in the words of fmt. */
static const struct {
    const char *sql, *fmt;
} checks[] = {
    {"SELECT txn_id, SUM(amount_fen) FROM ledger_entries GROUP BY txn_id"
     " HAVING SUM(amount_fen) <> 0",
     "ledger txn %0: entries sum to %1 fen, not 0"},
    {"SELECT t.id, COUNT(e.id) FROM ledger_txns t LEFT JOIN ledger_entries e ON e.txn_id = t.id"
     " GROUP BY t.id HAVING COUNT(e.id) < 2",
     "ledger txn %0: %1 entries (a transaction moves money between two accounts at least)"},
    {"SELECT e.id, e.txn_id FROM ledger_entries e JOIN ledger_txns t ON t.id = e.txn_id"
     " WHERE e.shop_id <> t.shop_id",
     "ledger entry %0: another shop's than its txn %1"},
    {"SELECT a.id, a.balance_fen, COALESCE(s.total, 0) FROM ledger_accounts a LEFT JOIN"
     " (SELECT account_id, SUM(amount_fen) AS total FROM ledger_entries GROUP BY account_id) s"
     " ON s.account_id = a.id WHERE a.balance_fen <> COALESCE(s.total, 0)",
     "ledger account %0: cached balance %1 fen, entries sum to %2 fen"},
    {"SELECT a.id, a.balance_fen FROM ledger_accounts a"
     " WHERE a.kind IN ('pending', 'withdrawing') AND a.balance_fen < 0",
     "ledger account %0: pending or withdrawing balance %1 fen is negative"},
    {"SELECT a.id, a.balance_fen FROM ledger_accounts a WHERE a.kind = 'available'"
     " AND a.balance_fen < 0 AND NOT EXISTS (SELECT 1 FROM ledger_entries e"
     " JOIN ledger_txns t ON t.id = e.txn_id WHERE e.account_id = a.id AND t.kind = 'refund'"
     " AND e.amount_fen < 0)",
     "ledger account %0: available balance %1 fen is negative without a clawback"},
    {"SELECT a.id, a.balance_fen, COALESCE(c.total, 0) FROM ledger_accounts a LEFT JOIN"
     " (SELECT promoter_id, shop_id, SUM(amount_fen) AS total FROM commissions"
     " WHERE status = 'pending' GROUP BY promoter_id, shop_id) c"
     " ON c.promoter_id = a.promoter_id AND c.shop_id = a.shop_id"
     " WHERE a.kind = 'pending' AND a.balance_fen <> COALESCE(c.total, 0)",
     "ledger account %0: pending balance %1 fen, pending commissions sum to %2 fen"},
    {"SELECT a.id, a.balance_fen, COALESCE(w.total, 0) FROM ledger_accounts a LEFT JOIN"
     " (SELECT promoter_id, shop_id, SUM(amount_fen) AS total FROM withdrawals"
     " WHERE status IN ('requested', 'approved') GROUP BY promoter_id, shop_id) w"
     " ON w.promoter_id = a.promoter_id AND w.shop_id = a.shop_id"
     " WHERE a.kind = 'withdrawing' AND a.balance_fen <> COALESCE(w.total, 0)",
     "ledger account %0: withdrawing balance %1 fen, open withdrawals sum to %2 fen"},
    {"SELECT order_id, COUNT(*) FROM commissions GROUP BY order_id HAVING COUNT(*) > 2"
     " OR MAX(level) > 2 OR MIN(level) < 1",
     "order %0: commission at %1 levels (at most two)"},
    {"SELECT c.order_id, c.level FROM commissions c JOIN promoters p ON p.id = c.promoter_id"
     " JOIN orders o ON o.id = c.order_id WHERE p.user_id = o.buyer_id AND c.earned_fen > 0",
     "order %0: its buyer earns level-%1 commission on it"},
    {"SELECT c.order_id, c.level, c.promoter_id FROM commissions c JOIN orders o"
     " ON o.id = c.order_id WHERE c.level = 1 AND (o.promoter_id IS NULL"
     " OR o.promoter_id <> c.promoter_id)",
     "order %0: level-%1 commission to promoter %2, who is not the order's promoter"},
    {"SELECT c.order_id, c.promoter_id, p.id FROM commissions c JOIN commissions c1"
     " ON c1.order_id = c.order_id AND c1.level = 1 JOIN promoters p ON p.id = c1.promoter_id"
     " WHERE c.level = 2 AND (p.inviter_id IS NULL OR p.inviter_id <> c.promoter_id)",
     "order %0: level-2 commission to promoter %1, who did not invite %2"},
    {"SELECT ref_id, COUNT(*) FROM ledger_txns WHERE kind = 'order_paid' GROUP BY shop_id,"
     " ref_id HAVING COUNT(*) > 1",
     "order %0: paid %1 times in the ledger"},
    {"SELECT ref_id, COUNT(*) FROM ledger_txns WHERE kind = 'refund' GROUP BY shop_id, ref_id"
     " HAVING COUNT(*) > 1",
     "refund %0: %1 ledger transactions"},
    /* one pass over each table, not a walk of the payments per commission. Not NOT IN
     * (SELECT ...) either: PostgreSQL hashes that list only while it fits in work_mem
     * (4 MB) and otherwise scans it for each commission. At a million orders that took
     * more than its 30 s; this, 1.5 s (SQLite: 0.7 s, 1.1 s with NOT IN). */
    {"SELECT c.order_id, c.id FROM commissions c JOIN (SELECT shop_id, order_id FROM"
     " commissions EXCEPT SELECT shop_id, ref_id FROM ledger_txns WHERE kind = 'order_paid')"
     " m ON m.shop_id = c.shop_id AND m.order_id = c.order_id",
     "order %0: commission %1 without the payment in the ledger"},
    {"SELECT id, stock, sold FROM products WHERE stock < 0 OR sold < 0"
     " OR stock + sold <> stock_in",
     "product %0: stock %1 and sold %2 do not add up to stock_in"},
    /* RULE: NO-STOCKPILING - the cap counts exactly the units of live orders */
    {"SELECT i.order_id, i.product_id, i.qty FROM order_items i JOIN orders o"
     " ON o.id = i.order_id WHERE o.status <> 'cancelled' AND o.status <> 'refunded'"
     " AND NOT EXISTS (SELECT 1 FROM buyer_cap_units u WHERE u.order_id = i.order_id"
     " AND u.product_id = i.product_id AND u.buyer_id = o.buyer_id"
     " AND u.created_at = o.created_at AND u.qty = i.qty)",
     "order %0: %2 of product %1 not counted against the buyer's cap"},
    {"SELECT u.order_id, u.product_id FROM buyer_cap_units u LEFT JOIN orders o"
     " ON o.id = u.order_id WHERE o.id IS NULL OR o.status = 'cancelled'"
     " OR o.status = 'refunded'",
     "order %0: product %1 counted against the buyer's cap, but not for a live order"},
    {"SELECT order_id, product_id FROM buyer_cap_units GROUP BY order_id, product_id"
     " HAVING COUNT(*) > 1",
     "order %0: product %1 counted against the buyer's cap more than once"},
};

struct check_args {
    FILE *out;
    int64_t *problems;
};

static enum err check_tx(struct db *db, void *arg)
{
    const struct check_args *q = arg;
    enum err e = ERR_OK;
    *q->problems = 0;
    /* the operator's check of the whole history: on PostgreSQL, without the session's
     * limit of 30 s a statement, which one statement over millions of orders can pass */
    if (db_kind(db) == DB_POSTGRES)
        e = db_exec(db, "SET LOCAL statement_timeout = 0");
    for (size_t i = 0; e == ERR_OK && i < sizeof checks / sizeof checks[0]; i++)
        e = report(db, q->out, q->problems, checks[i].sql, checks[i].fmt);
    return e ? e : check_commissions(db, q->out, q->problems);
}

enum err ledger_check(struct db *db, FILE *out, int64_t *problems)
{
    struct check_args q = {.out = out, .problems = problems};
    return db_tx_run(db, DB_TX_READ, check_tx, &q); /* one snapshot */
}
