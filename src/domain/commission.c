#include "domain/commission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/ledger.h"
#include "domain/order.h"
#include "domain/promoter.h"
#include "util/clock.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/money.h"
#include "util/names.h"

static const char *const status_names[] = {"pending", "available", "reversed", "withheld"};

/* an unknown status never moves */
NAMES_FUNCTIONS(commission_status, enum commission_status, status_names, COMMISSION_WITHHELD)

bool commission_transition(enum commission_status from, enum commission_event ev,
                           enum commission_status *to)
{
    switch (from) {
    case COMMISSION_PENDING:
        *to = ev == COMMISSION_SETTLE ? COMMISSION_AVAILABLE
              : ev == COMMISSION_CLAW ? COMMISSION_PENDING
                                      : COMMISSION_REVERSED;
        return true;
    case COMMISSION_AVAILABLE:
        return ev != COMMISSION_SETTLE && (*to = COMMISSION_AVAILABLE, true);
    case COMMISSION_REVERSED:
    case COMMISSION_WITHHELD:
        break;
    }
    return false;
}

/* The order's weighted rates: sum of line_fen x bps over its items, per level. */
static enum err weighted_rates(struct db *db, int64_t order_id, int64_t *w1, int64_t *w2)
{
    static const char sql[] =
        "SELECT i.line_fen, COALESCE(p.l1_bps, s.l1_bps), COALESCE(p.l2_bps, s.l2_bps)"
        " FROM order_items i JOIN products p ON p.id = i.product_id"
        " JOIN shops s ON s.id = i.shop_id WHERE i.order_id = ?";
    struct db_stmt *st = NULL;
    *w1 = *w2 = 0;
    enum err e = db_query(db, sql, &st, DB_INT(order_id));
    while (e == ERR_OK && db_next(st, &e)) {
        int64_t line = db_col_int64(st, 0), a = 0, b = 0;
        if (!money_mul(line, db_col_int64(st, 1), &a) || !money_add(*w1, a, w1) ||
            !money_mul(line, db_col_int64(st, 2), &b) || !money_add(*w2, b, w2)) {
            e = ERR_OUT_OF_RANGE;
            break;
        }
    }
    db_done(st);
    return e;
}

struct earner {
    int64_t id, user_id, inviter_id;
    bool active;
};

static enum err read_earner(struct db_stmt *st, struct arena *a, void *item)
{
    (void)a;
    struct earner *out = item;
    out->id = db_col_int64(st, 0);
    out->user_id = db_col_int64(st, 1);
    out->inviter_id = db_col_is_null(st, 2) ? 0 : db_col_int64(st, 2);
    out->active = promoter_status_parse(db_col_text(st, 3, NULL)) == PROMOTER_ACTIVE;
    return ERR_OK;
}

static enum err earner(struct db *db, int64_t id, struct earner *out)
{
    static const char sql[] = "SELECT id, user_id, inviter_id, status FROM promoters WHERE id = ?";
    memset(out, 0, sizeof *out);
    return db_read_one(db, sql, read_earner, NULL, out, DB_INT(id));
}

/* RULE: L2-ACTIVE-SELLER - an attributed retail sale of the inviter's own, recently. */
static enum err sold_recently(struct db *db, int64_t shop_id, int64_t promoter_id, int64_t since,
                              bool *yes)
{
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM orders WHERE promoter_id = ? AND shop_id = ?"
        " AND paid_at >= ? AND status <> 'refunded' AND status <> 'cancelled')";
    int64_t v = 0;
    enum err e = db_value(db, sql, &v, DB_INT(promoter_id), DB_INT(shop_id), DB_INT(since));
    *yes = e == ERR_OK && v != 0;
    return e;
}

static enum err insert_row(struct db *db, const struct order *o, int level, int64_t promoter,
                           int64_t weighted, int64_t amount, enum commission_status status,
                           const char *note, int64_t now)
{
    /* RULE: TWO-LEVELS - the schema's CHECK agrees; nothing may even try a third */
    if (!INVARIANT(level == 1 || level == 2) || !INVARIANT(amount >= 0))
        return ERR_INTERNAL;
    static const char sql[] =
        "INSERT INTO commissions (shop_id, order_id, level, promoter_id, weighted_bps_fen,"
        " earned_fen, amount_fen, status, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    return db_run(db, sql, DB_INT(o->shop_id), DB_INT(o->id), DB_INT(level), DB_INT(promoter),
                  DB_INT(weighted), DB_INT(amount), DB_INT(amount),
                  DB_STR(commission_status_name(status)), DB_STR(note), DB_INT(now));
}

enum err commission_on_paid(struct db *db, const struct order *o, int64_t promoter_id, int64_t now)
{
    static const char days[] = "SELECT l2_active_days FROM shops WHERE id = ?";
    struct ledger_entry en[5] = {
        {.kind = LEDGER_EXTERNAL, .amount_fen = -o->total_fen},
        {.kind = LEDGER_REVENUE, .amount_fen = o->total_fen},
    };
    size_t n = 2;
    struct earner l1, l2;
    int64_t w1 = 0, w2 = 0, c1 = 0, c2 = 0;
    enum err e = ERR_OK;
    if (promoter_id && (e = earner(db, promoter_id, &l1)) == ERR_OK && l1.active &&
        l1.user_id != o->buyer_id) {
        if ((e = weighted_rates(db, o->id, &w1, &w2)))
            return e;
        c1 = w1 / 10000;
        if ((e = insert_row(db, o, 1, l1.id, w1, c1, COMMISSION_PENDING, "", now)))
            return e;
        en[n++] =
            (struct ledger_entry){.kind = LEDGER_PENDING, .promoter_id = l1.id, .amount_fen = c1};
        /* RULE: TWO-LEVELS - the inviter of the level-1 promoter, and nobody above */
        /* RULE: NO-CYCLES - an invite line never loops back to its own start */
        if (!INVARIANT(l1.inviter_id != l1.id))
            return ERR_INTERNAL;
        if (l1.inviter_id && (e = earner(db, l1.inviter_id, &l2)) == ERR_OK && l2.active) {
            bool active_seller = false;
            int64_t active_days = 0;
            if ((e = db_value(db, days, &active_days, DB_INT(o->shop_id))))
                return e;
            int64_t since = now - active_days * MS_PER_DAY;
            if ((e = sold_recently(db, o->shop_id, l2.id, since, &active_seller)))
                return e;
            if (l2.user_id == o->buyer_id) {
                /* RULE: NO-SELF-COMMISSION - not at level 2 either */
                e = insert_row(db, o, 2, l2.id, w2, 0, COMMISSION_WITHHELD, "own purchase", now);
                if (e == ERR_OK)
                    e = audit_event_add(db, o->shop_id, "self_purchase", o->buyer_id, l2.id,
                                        "level 2 of own purchase");
            } else if (!active_seller) {
                /* RULE: L2-ACTIVE-SELLER - the share stays with the shop */
                e = insert_row(db, o, 2, l2.id, w2, 0, COMMISSION_WITHHELD,
                               "no recent sale of their own", now);
            } else {
                c2 = w2 / 10000;
                e = insert_row(db, o, 2, l2.id, w2, c2, COMMISSION_PENDING, "", now);
                en[n++] = (struct ledger_entry){
                    .kind = LEDGER_PENDING, .promoter_id = l2.id, .amount_fen = c2};
            }
        }
        if (e)
            return e;
        en[n++] = (struct ledger_entry){.kind = LEDGER_COMMISSION, .amount_fen = -(c1 + c2)};
    }
    if (e)
        return e;
    char memo[64];
    snprintf(memo, sizeof memo, "order %lld paid", (long long)o->id);
    return ledger_post(db, o->shop_id, "order_paid", o->id, memo, en, n, now);
}

enum err commission_on_refund(struct db *db, const struct order *o, int64_t refund_id,
                              int64_t amount_fen, int64_t now)
{
    static const char rows[] =
        "SELECT id, promoter_id, weighted_bps_fen, amount_fen, status FROM commissions"
        " WHERE order_id = ? AND status IN ('pending', 'available') ORDER BY level";
    /* conditional on what was read: a settlement that ran meanwhile makes this rerun */
    static const char upd[] = "UPDATE commissions SET amount_fen = ?, status = ? WHERE id = ?"
                              " AND status = ? AND amount_fen = ?";
    struct ledger_entry en[6] = {
        {.kind = LEDGER_EXTERNAL, .amount_fen = amount_fen},
        {.kind = LEDGER_REVENUE, .amount_fen = -amount_fen},
    };
    struct {
        int64_t id, amount, was_amount;
        enum commission_status status, was;
    } change[2];
    size_t n = 2, changes = 0;
    int64_t back = 0, net = o->total_fen - o->refunded_fen;
    struct db_stmt *st = NULL;
    enum err e = db_query(db, rows, &st, DB_INT(o->id));
    while (e == ERR_OK && db_next(st, &e) && changes < 2) {
        int64_t id = db_col_int64(st, 0), promoter = db_col_int64(st, 1);
        int64_t weighted = db_col_int64(st, 2), amount = db_col_int64(st, 3), want = 0;
        enum commission_status from = commission_status_parse(db_col_text(st, 4, NULL)), to;
        if (!money_muldiv_floor(weighted, net, o->total_fen * 10000, &want)) {
            e = ERR_OUT_OF_RANGE;
            break;
        }
        if (want >= amount ||
            !commission_transition(from, want == 0 ? COMMISSION_CLAW_ALL : COMMISSION_CLAW, &to))
            continue;
        /* RULE: CLAWBACK - in proportion to what was refunded; a settled share may go negative */
        en[n++] = (struct ledger_entry){.kind = from == COMMISSION_PENDING ? LEDGER_PENDING
                                                                           : LEDGER_AVAILABLE,
                                        .promoter_id = promoter,
                                        .amount_fen = want - amount};
        back += amount - want;
        change[changes].id = id;
        change[changes].amount = want;
        change[changes].was_amount = amount;
        change[changes].was = from;
        change[changes].status = to;
        changes++;
    }
    db_done(st);
    if (e)
        return e;
    for (size_t i = 0; i < changes; i++) {
        int64_t changed = 0;
        if ((e = db_run_changes(db, upd, &changed, DB_INT(change[i].amount),
                                DB_STR(commission_status_name(change[i].status)),
                                DB_INT(change[i].id), DB_STR(commission_status_name(change[i].was)),
                                DB_INT(change[i].was_amount))))
            return e;
        if (changed != 1)
            return ERR_RETRY;
    }
    if (back)
        en[n++] = (struct ledger_entry){.kind = LEDGER_COMMISSION, .amount_fen = back};
    char memo[80];
    snprintf(memo, sizeof memo, "refund %lld of order %lld", (long long)refund_id,
             (long long)o->id);
    return ledger_post(db, o->shop_id, "refund", refund_id, memo, en, n, now);
}

/* --- settlement --- */

struct due {
    int64_t id, shop_id, promoter_id, amount;
};

/* Sums of one shop's due commissions per promoter, posted as one transaction. */
static enum err post_settlement(struct db *db, const struct due *d, size_t n, int64_t batch_ref,
                                int64_t now)
{
    struct ledger_entry en[LEDGER_ENTRIES_MAX];
    size_t k = 0;
    enum err e = ERR_OK;
    for (size_t i = 0; i < n && e == ERR_OK; i++) {
        size_t j = 0;
        while (j < k && en[j].promoter_id != d[i].promoter_id)
            j += 2;
        if (j == k) {
            if (k + 2 > LEDGER_ENTRIES_MAX) { /* a full transaction: post it, start another */
                e = ledger_post(db, d[0].shop_id, "settle", batch_ref, "commission settled", en, k,
                                now);
                k = j = 0;
                if (e)
                    break;
            }
            en[k] = (struct ledger_entry){.kind = LEDGER_PENDING, .promoter_id = d[i].promoter_id};
            en[k + 1] =
                (struct ledger_entry){.kind = LEDGER_AVAILABLE, .promoter_id = d[i].promoter_id};
            k += 2;
        }
        en[j].amount_fen -= d[i].amount;
        en[j + 1].amount_fen += d[i].amount;
    }
    if (e == ERR_OK && k)
        e = ledger_post(db, d[0].shop_id, "settle", batch_ref, "commission settled", en, k, now);
    return e;
}

struct settle_args {
    int64_t now, batch, after; /* after: the last id settled so far */
    int64_t n, last;           /* out: due commissions in this batch, its last id */
    struct due *d;
};

/* One batch: the next `batch` due commissions after `after`, in one transaction. */
static enum err settle_tx(struct db *db, void *arg)
{
    /* RULE: PENDING-THEN-SETTLED - completed: return window closed and no refund open.
     * A batch is the next `batch` due commissions in id order (the pending index);
     * its sums and its update are set-based over that id range. */
#define DUE                                                                                        \
    " c.status = 'pending' AND c.id > ? AND EXISTS (SELECT 1 FROM orders o"                        \
    " WHERE o.id = c.order_id AND o.status = 'completed')"
    static const char range_q[] = "SELECT COUNT(*), MAX(id) FROM (SELECT c.id FROM commissions c"
                                  " WHERE" DUE " ORDER BY c.id LIMIT ?) t";
    static const char sums_q[] =
        "SELECT c.shop_id, c.promoter_id, SUM(c.amount_fen) FROM commissions c WHERE" DUE
        " AND c.id <= ? GROUP BY c.shop_id, c.promoter_id ORDER BY c.shop_id, c.promoter_id";
    static const char upd[] =
        "UPDATE commissions SET status = 'available', settled_at = ? WHERE status = 'pending'"
        " AND id > ? AND id <= ? AND EXISTS (SELECT 1 FROM orders o WHERE o.id ="
        " commissions.order_id AND o.status = 'completed')";
#undef DUE
    struct settle_args *q = arg;
    struct db_stmt *st = NULL;
    struct due *d = q->d;
    int64_t changed = 0;
    size_t k = 0;
    q->n = q->last = 0;
    enum err e = db_first(db, range_q, &st, DB_INT(q->after), DB_INT(q->batch));
    if (e)
        return e; /* COUNT(*) always answers a row */
    q->n = db_col_int64(st, 0);
    q->last = q->n ? db_col_int64(st, 1) : 0;
    db_done(st);
    if (q->n == 0)
        return ERR_OK;
    e = db_query(db, sums_q, &st, DB_INT(q->after), DB_INT(q->last));
    while (e == ERR_OK && db_next(st, &e) && k < (size_t)q->batch) {
        d[k].shop_id = db_col_int64(st, 0);
        d[k].promoter_id = db_col_int64(st, 1);
        d[k].amount = db_col_int64(st, 2);
        d[k].id = q->last;
        k++;
    }
    db_done(st);
    if (e ||
        (e = db_run_changes(db, upd, &changed, DB_INT(q->now), DB_INT(q->after), DB_INT(q->last))))
        return e;
    if (changed != q->n)
        return ERR_CONFLICT;
    /* per shop (rows come ordered by shop, then promoter) */
    for (size_t i = 0, j; e == ERR_OK && i < k; i = j) {
        for (j = i; j < k && d[j].shop_id == d[i].shop_id;)
            j++;
        e = post_settlement(db, d + i, j - i, q->last, q->now);
    }
    return e;
}

enum err commission_settle(struct db *db, int64_t now, int64_t batch, int64_t *moved)
{
    struct settle_args q = {.now = now, .batch = batch, .d = calloc((size_t)batch, sizeof *q.d)};
    enum err e = ERR_OK;
    *moved = 0;
    if (!q.d)
        return ERR_INTERNAL;
    /* the pending index is walked once, in id order */
    while ((e = db_tx_run(db, DB_TX_WRITE, settle_tx, &q)) == ERR_OK && q.n > 0) {
        q.after = q.last;
        *moved += q.n;
        if (q.n < batch)
            break;
    }
    free(q.d);
    return e;
}

/* --- reads --- */

#define COMMISSION_COLS                                                                            \
    "c.id, c.shop_id, c.order_id, c.level, c.promoter_id, c.earned_fen, c.amount_fen, c.status,"   \
    " c.note, c.created_at, c.settled_at"

static enum err read_commission(struct db_stmt *st, struct arena *a, void *item)
{
    struct commission *c = item;
    c->id = db_col_int64(st, 0);
    c->shop_id = db_col_int64(st, 1);
    c->order_id = db_col_int64(st, 2);
    c->level = db_col_int64(st, 3);
    c->promoter_id = db_col_int64(st, 4);
    c->earned_fen = db_col_int64(st, 5);
    c->amount_fen = db_col_int64(st, 6);
    c->status = commission_status_parse(db_col_text(st, 7, NULL));
    c->note = db_col_dup(st, 8, a);
    c->created_at_ms = db_col_int64(st, 9);
    c->settled_at_ms = db_col_is_null(st, 10) ? 0 : db_col_int64(st, 10);
    return c->note ? ERR_OK : ERR_TOO_LARGE;
}

enum err commission_list(struct db *db, int64_t promoter_id, int64_t user_id, int64_t before_id,
                         int64_t limit, struct arena *a, struct commission **out, size_t *n,
                         bool *more)
{
    static const char sql[] =
        "SELECT " COMMISSION_COLS " FROM commissions c JOIN promoters p ON p.id = c.promoter_id"
        " WHERE (? = 0 OR c.promoter_id = ?) AND (? = 0 OR p.user_id = ?) AND c.id < ?"
        " ORDER BY c.id DESC LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_commission, a, &items, n, more,
                         DB_INT(promoter_id), DB_INT(promoter_id), DB_INT(user_id), DB_INT(user_id),
                         DB_INT(before_id > 0 ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

enum err commission_of_order(struct db *db, int64_t order_id, struct arena *a,
                             struct commission *out, size_t *n)
{
    static const char sql[] =
        "SELECT " COMMISSION_COLS " FROM commissions c WHERE c.order_id = ? ORDER BY c.level";
    struct db_stmt *st = NULL;
    *n = 0;
    enum err e = db_query(db, sql, &st, DB_INT(order_id));
    while (e == ERR_OK && db_next(st, &e) && *n < 2)
        if ((e = read_commission(st, a, &out[(*n)++])))
            break;
    db_done(st);
    return e;
}
