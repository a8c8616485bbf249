/*
 * refund.c - refunds of orders (refund.h).
 */
#include "domain/refund.h"

#include <stdio.h>
#include <string.h>

#include "domain/check.h"
#include "domain/commission.h"
#include "domain/order_steps.h"
#include "domain/trust.h"
#include "domain/wechatpay.h"
#include "util/clock.h"
#include "util/names.h"

static const char *const status_names[] = {"requested", "approved", "rejected", "withdrawn"};

const char *refund_status_name(enum refund_status s)
{
    return name_of(status_names, NAMES_LEN(status_names), s);
}

NAMES_PARSE(refund_status, enum refund_status, status_names)

/* A stored status; an unknown one reads as decided (it moves nothing). */
static enum refund_status status_of(const char *s)
{
    return name_find_or(status_names, NAMES_LEN(status_names), s, REFUND_REJECTED);
}

bool refund_transition(enum refund_status from, enum refund_event ev, enum refund_status *to)
{
    static const enum refund_status result[] = {
        [REFUND_APPROVE] = REFUND_APPROVED,
        [REFUND_REJECT] = REFUND_REJECTED,
        [REFUND_WITHDRAW] = REFUND_WITHDRAWN,
    };
    if (from != REFUND_REQUESTED)
        return false; /* decided, or taken back: final */
    *to = result[ev];
    return true;
}

#define REFUND_COLS "id, order_id, amount_fen, reason, status, note, created_at, decided_at"

/* One row of REFUND_COLS. */
static enum err read_refund(struct db_stmt *st, struct arena *a, void *item)
{
    struct refund *r = item;
    r->id = db_col_int64(st, 0);
    r->order_id = db_col_int64(st, 1);
    r->amount_fen = db_col_int64(st, 2);
    r->reason = db_col_dup(st, 3, a);
    r->status = status_of(db_col_text(st, 4, NULL));
    r->note = db_col_dup(st, 5, a);
    r->created_at_ms = db_col_int64(st, 6);
    r->decided_at_ms = db_col_int64(st, 7);
    return ERR_OK;
}

enum err refund_of_order(struct db *db, int64_t order_id, size_t max, struct arena *a,
                         struct refund *out, size_t *n)
{
    static const char sql[] = "SELECT " REFUND_COLS " FROM refunds WHERE order_id = ?"
                              " ORDER BY id LIMIT 50";
    struct db_stmt *st = NULL;
    *n = 0;
    enum err e = db_query(db, sql, &st, DB_INT(order_id));
    while (e == ERR_OK && db_next(st, &e) && *n < max)
        e = read_refund(st, a, &out[(*n)++]);
    db_done(st);
    return e;
}

struct refund_args {
    int64_t refund_id, order_id, actor, amount_fen;
    bool approve;
    const char *text; /* the reason of a request, the note of a decision */
    size_t text_len;
    int64_t *out_id; /* the request made, or the withdrawn refund's order */
    struct arena *a;
    struct errinfo *ei;
};

static enum err request_tx(struct db *db, void *arg)
{
    static const char open_q[] = "SELECT COUNT(*) FROM refunds WHERE order_id = ?"
                                 " AND status = 'requested'";
    const struct refund_args *q = arg;
    struct order o;
    enum order_status to;
    int64_t open = 0, now = clock_now_ms();
    enum err e = order_load_head(db, q->order_id, q->a, &o);
    if (e)
        return e;
    if (!order_transition(o.status, EV_REFUND_ALL, &to))
        return order_illegal(q->ei, o.status, "ask a refund for");
    int64_t left = o.total_fen - o.refunded_fen;
    if (q->amount_fen < 1 || q->amount_fen > left)
        return err_set(q->ei, ERR_OUT_OF_RANGE, "amount_fen",
                       "amount_fen must be from 1 to %lld (what is left of the order)",
                       (long long)left);
    if ((e = db_value(db, open_q, &open, DB_INT(q->order_id))))
        return e;
    if (open)
        return err_set(q->ei, ERR_CONFLICT, NULL, "a refund request of this order is still open");
    static const char ins[] = "INSERT INTO refunds (shop_id, order_id, amount_fen, reason, status,"
                              " requested_by, created_at) VALUES (?, ?, ?, ?, 'requested', ?, ?)"
                              " RETURNING id";
    if ((e = db_value(db, ins, q->out_id, DB_INT(o.shop_id), DB_INT(q->order_id),
                      DB_INT(q->amount_fen), DB_TEXT(q->text, q->text_len), DB_INT(q->actor),
                      DB_INT(now))))
        return e;
    char note[64];
    snprintf(note, sizeof note, "%lld fen", (long long)q->amount_fen);
    return order_add_event(db, &o, "refund_requested", o.status, true, q->actor, note, now);
}

/* Runs a refund's transaction `fn` with its own arena. */
static enum err refund_run(struct db *db, enum db_tx kind, db_tx_fn fn, struct refund_args *q)
{
    struct arena a;
    arena_init(&a, 256 * 1024);
    q->a = &a;
    enum err e = db_tx_run(db, kind, fn, q);
    arena_release(&a);
    return e;
}

enum err refund_request(struct db *db, int64_t order_id, int64_t buyer, int64_t amount_fen,
                        const char *reason, size_t reason_len, int64_t *refund_id,
                        struct errinfo *ei)
{
    enum err e = check_name(reason, reason_len, "reason", 200, ei);
    if (e)
        return e;
    struct refund_args q = {.order_id = order_id,
                            .actor = buyer,
                            .amount_fen = amount_fen,
                            .text = reason,
                            .text_len = reason_len,
                            .out_id = refund_id,
                            .ei = ei};
    return refund_run(db, DB_TX_WRITE, request_tx, &q);
}

enum err refund_order(struct db *db, int64_t refund_id, int64_t *order_id, int64_t *shop_id)
{
    static const char sql[] = "SELECT order_id, shop_id FROM refunds WHERE id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_first(db, sql, &st, DB_INT(refund_id));
    if (e)
        return e;
    *order_id = db_col_int64(st, 0);
    *shop_id = db_col_int64(st, 1);
    db_done(st);
    return ERR_OK;
}

static enum err withdraw_tx(struct db *db, void *arg)
{
    static const char get[] = "SELECT r.order_id, r.amount_fen, r.status, o.buyer_id FROM refunds r"
                              " JOIN orders o ON o.id = r.order_id WHERE r.id = ?";
    const struct refund_args *q = arg;
    struct order o;
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms(), amount = 0, changed = 0;
    enum refund_status from = REFUND_REJECTED, to;
    enum err e = db_first(db, get, &st, DB_INT(q->refund_id));
    if (e)
        return e;
    bool own = db_col_int64(st, 3) == q->actor; /* only the buyer's own request */
    if (own) {
        *q->out_id = db_col_int64(st, 0);
        amount = db_col_int64(st, 1);
        from = status_of(db_col_text(st, 2, NULL));
    }
    db_done(st);
    if (!own)
        return ERR_NOT_FOUND;
    static const char withdraw[] = "UPDATE refunds SET status = ?, decided_at = ?,"
                                   " decided_by = ? WHERE id = ? AND status = ?";
    if (!refund_transition(from, REFUND_WITHDRAW, &to))
        return err_set(q->ei, ERR_ILLEGAL_TRANSITION, "status",
                       "this refund is %s already, no longer open to withdraw",
                       refund_status_name(from));
    bool on_its_way = false;
    if ((e = wechatpay_refund_pending(db, q->refund_id, &on_its_way)))
        return e;
    if (on_its_way)
        return err_set(q->ei, ERR_CONFLICT, "status",
                       "the shop approved it and the money is on its way back through WeChat Pay");
    if ((e = order_load_head(db, *q->out_id, q->a, &o)) ||
        (e = db_run_changes(db, withdraw, &changed, DB_STR(refund_status_name(to)), DB_INT(now),
                            DB_INT(q->actor), DB_INT(q->refund_id),
                            DB_STR(refund_status_name(from)))))
        return e;
    if (changed != 1)
        return ERR_RETRY; /* decided meanwhile: run again to see how */
    char what[64];
    snprintf(what, sizeof what, "%lld fen", (long long)amount);
    return order_add_event(db, &o, "refund_withdrawn", o.status, true, q->actor, what, now);
}

enum err refund_withdraw(struct db *db, int64_t refund_id, int64_t buyer, int64_t *order_id,
                         struct errinfo *ei)
{
    struct refund_args q = {.refund_id = refund_id, .actor = buyer, .out_id = order_id, .ei = ei};
    return refund_run(db, DB_TX_WRITE, withdraw_tx, &q);
}

static enum err decide_tx(struct db *db, void *arg)
{
    static const char get[] = "SELECT order_id, amount_fen, status FROM refunds WHERE id = ?";
    const struct refund_args *q = arg;
    struct errinfo *ei = q->ei;
    struct order o;
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms(), changed = 0, actor = q->actor;
    enum err e = db_first(db, get, &st, DB_INT(q->refund_id));
    if (e)
        return e;
    int64_t order_id = db_col_int64(st, 0), amount = db_col_int64(st, 1);
    enum refund_status from = status_of(db_col_text(st, 2, NULL)), to;
    db_done(st);
    if (!refund_transition(from, q->approve ? REFUND_APPROVE : REFUND_REJECT, &to))
        return err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "this refund was already decided");
    bool on_its_way = false;
    if (!q->approve && (e = wechatpay_refund_pending(db, q->refund_id, &on_its_way)))
        return e;
    if (on_its_way)
        return err_set(ei, ERR_CONFLICT, "status",
                       "this refund is on its way back through WeChat Pay; it cannot be refused");
    static const char decide[] = "UPDATE refunds SET status = ?, decided_at = ?, decided_by = ?,"
                                 " note = ? WHERE id = ? AND status = ?";
    if ((e = order_load_head(db, order_id, q->a, &o)) ||
        (e = db_run_changes(db, decide, &changed, DB_STR(refund_status_name(to)), DB_INT(now),
                            DB_INT(actor), q->text ? DB_TEXT(q->text, q->text_len) : DB_STR(""),
                            DB_INT(q->refund_id), DB_STR(refund_status_name(from)))))
        return e;
    if (changed != 1)
        return ERR_RETRY; /* decided meanwhile: run again to see how */
    char what[64];
    snprintf(what, sizeof what, "%lld fen", (long long)amount);
    if (to == REFUND_REJECTED)
        return order_add_event(db, &o, "refund_rejected", o.status, true, actor, what, now);
    static const char add[] = "UPDATE orders SET refunded_fen = refunded_fen + ?, updated_at = ?"
                              " WHERE id = ? AND refunded_fen + ? <= total_fen";
    if ((e = db_run_changes(db, add, &changed, DB_INT(amount), DB_INT(now), DB_INT(order_id),
                            DB_INT(amount))))
        return e;
    if (changed != 1)
        return err_set(ei, ERR_CONFLICT, "amount_fen", "the refund exceeds what is left");
    o.refunded_fen += amount;
    /* RULE: CLAWBACK */
    if ((e = commission_on_refund(db, &o, q->refund_id, amount, now)))
        return e;
    /* RULE: TRUST-REACH - an approved refund on a promoter's sale */
    if (o.promoter_id &&
        (e = trust_record(db, o.shop_id, o.promoter_id, TRUST_REFUND, q->refund_id, now)))
        return e;
    if (o.refunded_fen < o.total_fen)
        return order_add_event(db, &o, "refund_approved", o.status, true, actor, what, now);
    bool unshipped = o.status == ORDER_PAID;
    if (unshipped && (e = order_return_stock(db, q->a, &o)))
        return e;
    return order_move(db, &o, ORDER_REFUNDED, "refunded", actor, what, now, ei);
}

enum err refund_decide(struct db *db, int64_t refund_id, bool approve, int64_t actor,
                       const char *note, size_t note_len, struct errinfo *ei)
{
    enum err e = note ? check_text(note, note_len, "note", 200, ei) : ERR_OK;
    if (e)
        return e;
    struct refund_args q = {.refund_id = refund_id,
                            .actor = actor,
                            .approve = approve,
                            .text = note,
                            .text_len = note_len,
                            .ei = ei};
    /* READ COMMITTED on PostgreSQL, as payment_apply(): the ledger's hot rows */
    return refund_run(db, DB_TX_WRITE_LOCKED, decide_tx, &q);
}

enum err refund_list(struct db *db, const struct refund_filter *f, struct arena *a,
                     struct refund **out, size_t *n, bool *more)
{
    static const char any[] = "SELECT " REFUND_COLS " FROM refunds WHERE shop_id = ? AND id < ?"
                              " ORDER BY id DESC LIMIT ?";
    static const char in_status[] = "SELECT " REFUND_COLS " FROM refunds WHERE shop_id = ?"
                                    " AND status = ? AND id < ? ORDER BY id DESC LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, f->any_status ? any : in_status, f->limit, sizeof **out, read_refund,
                         a, &items, n, more, DB_INT(f->shop_id),
                         f->any_status ? DB_SKIP : DB_STR(refund_status_name(f->status)),
                         DB_INT(f->before_id > 0 ? f->before_id : INT64_MAX), DB_INT(f->limit + 1));
    *out = items;
    return e;
}
