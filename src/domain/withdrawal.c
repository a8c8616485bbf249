#include "domain/withdrawal.h"

#include <stdio.h>
#include <string.h>

#include "domain/check.h"
#include "domain/ledger.h"
#include "domain/promoter.h"
#include "domain/shop.h"
#include "domain/wechatpay.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/names.h"

static const char *const status_names[] = {"requested", "approved", "paid", "rejected"};

const char *withdrawal_status_name(enum withdrawal_status s)
{
    return name_of(status_names, NAMES_LEN(status_names), s);
}

bool withdrawal_transition(enum withdrawal_status from, enum withdrawal_action act,
                           enum withdrawal_status *to)
{
    bool open = from == WITHDRAWAL_REQUESTED || from == WITHDRAWAL_APPROVED;
    switch (act) {
    case WITHDRAWAL_APPROVE:
        return from == WITHDRAWAL_REQUESTED && (*to = WITHDRAWAL_APPROVED, true);
    case WITHDRAWAL_PAY:
        return open && (*to = WITHDRAWAL_PAID, true);
    case WITHDRAWAL_REJECT:
        return open && (*to = WITHDRAWAL_REJECTED, true);
    }
    return false;
}

struct request_args {
    int64_t shop_id, user_id, amount_fen, now;
    int64_t *id;
    struct arena *a;
    struct errinfo *ei;
};

static enum err request_tx(struct db *db, void *arg)
{
    static const char lock[] = "UPDATE promoters SET id = id WHERE id = ?"; /* a row lock */
    static const char today[] =
        "SELECT COALESCE(SUM(amount_fen), 0) FROM withdrawals WHERE promoter_id = ?"
        " AND created_at >= ? AND status <> 'rejected'";
    const struct request_args *q = arg;
    struct shop shop;
    struct promoter p;
    int64_t used, amount = q->amount_fen;
    enum err e = shop_get(db, q->shop_id, q->a, &shop);
    if (e == ERR_OK)
        e = promoter_of_user(db, q->shop_id, q->user_id, q->a, &p);
    if (e == ERR_NOT_FOUND)
        e = err_set(q->ei, ERR_NOT_FOUND, "shop_id", "you are not a promoter of this shop");
    if (e || (e = db_run(db, lock, DB_INT(p.id))))
        return e;
    if (amount < shop.settings.withdraw_min_fen)
        return err_set(q->ei, ERR_OUT_OF_RANGE, "amount_fen",
                       "this shop pays out at least %lld fen at a time",
                       (long long)shop.settings.withdraw_min_fen);
    if ((e = db_value(db, today, &used, DB_INT(p.id), DB_INT(clock_china_day_start(q->now)))))
        return e;
    if (amount > shop.settings.withdraw_daily_fen - used)
        return err_set(q->ei, ERR_DAILY_LIMIT, "amount_fen",
                       "at most %lld fen a day may be withdrawn; %lld fen are left today",
                       (long long)shop.settings.withdraw_daily_fen,
                       (long long)(shop.settings.withdraw_daily_fen - used));
    static const char ins[] = "INSERT INTO withdrawals (shop_id, promoter_id, amount_fen, status,"
                              " created_at) VALUES (?, ?, ?, 'requested', ?) RETURNING id";
    if ((e = db_value(db, ins, q->id, DB_INT(q->shop_id), DB_INT(p.id), DB_INT(amount),
                      DB_INT(q->now))))
        return e;
    struct ledger_entry en[] = {
        {.kind = LEDGER_AVAILABLE, .promoter_id = p.id, .amount_fen = -amount, .keep_nonneg = true},
        {.kind = LEDGER_WITHDRAWING, .promoter_id = p.id, .amount_fen = amount},
    };
    e = ledger_post(db, q->shop_id, "withdraw_request", *q->id, "withdrawal requested", en, 2,
                    q->now);
    if (e == ERR_INSUFFICIENT_BALANCE)
        e = err_set(q->ei, e, "amount_fen", "more than your available balance");
    return e;
}

enum err withdrawal_request(struct db *db, int64_t shop_id, int64_t user_id, int64_t amount_fen,
                            int64_t *id, struct errinfo *ei)
{
    struct arena a;
    arena_init(&a, 64 * 1024);
    struct request_args q = {.shop_id = shop_id,
                             .user_id = user_id,
                             .amount_fen = amount_fen,
                             .now = clock_now_ms(),
                             .id = id,
                             .a = &a,
                             .ei = ei};
    /* requests of one promoter queue on the promoter's row; the balance is a
     * conditional update, so none can take what another took */
    enum err e = db_tx_run(db, DB_TX_WRITE_LOCKED, request_tx, &q);
    arena_release(&a);
    if (e == ERR_OK)
        LOG(LOG_INFO, "withdrawal_requested", "shop_id=%lld withdrawal_id=%lld amount_fen=%lld",
            (long long)shop_id, (long long)*id, (long long)amount_fen);
    return e;
}

#define WITHDRAWAL_SELECT                                                                          \
    "SELECT w.id, w.shop_id, w.promoter_id, w.amount_fen, w.status, w.reference, w.note,"          \
    " w.created_at, w.decided_at, w.paid_at, u.display_name FROM withdrawals w"                    \
    " JOIN promoters p ON p.id = w.promoter_id JOIN users u ON u.id = p.user_id "

static enum err read_withdrawal(struct db_stmt *st, struct arena *a, void *item)
{
    struct withdrawal *w = item;
    w->id = db_col_int64(st, 0);
    w->shop_id = db_col_int64(st, 1);
    w->promoter_id = db_col_int64(st, 2);
    w->amount_fen = db_col_int64(st, 3);
    /* an unknown status moves nothing */
    w->status = name_find_or(status_names, NAMES_LEN(status_names), db_col_text(st, 4, NULL),
                             WITHDRAWAL_REJECTED);
    w->reference = db_col_dup(st, 5, a);
    w->note = db_col_dup(st, 6, a);
    w->created_at_ms = db_col_int64(st, 7);
    w->decided_at_ms = db_col_is_null(st, 8) ? 0 : db_col_int64(st, 8);
    w->paid_at_ms = db_col_is_null(st, 9) ? 0 : db_col_int64(st, 9);
    w->promoter_name = db_col_dup(st, 10, a);
    return w->note && w->promoter_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err withdrawal_get(struct db *db, int64_t id, struct arena *a, struct withdrawal *out)
{
    static const char sql[] = WITHDRAWAL_SELECT "WHERE w.id = ?";
    return db_read_one(db, sql, read_withdrawal, a, out, DB_INT(id));
}

struct decide_args {
    int64_t id, actor, now;
    enum withdrawal_action act;
    bool by_provider; /* the payment provider's word on its own transfer */
    const char *text;
    size_t text_len;
    struct arena *a;
    struct errinfo *ei;
};

static enum err decide_tx(struct db *db, void *arg)
{
    static const char upd[] =
        "UPDATE withdrawals SET status = ?, decided_at = COALESCE(decided_at, ?),"
        " decided_by = COALESCE(decided_by, ?), paid_at = ?, reference = COALESCE(?, reference),"
        " note = COALESCE(?, note) WHERE id = ? AND status = ?";
    static const char *const verbs[] = {"approve", "mark paid", "reject"};
    const struct decide_args *q = arg;
    enum withdrawal_action act = q->act;
    struct withdrawal w;
    enum withdrawal_status to;
    int64_t changed, now = q->now;
    enum err e = withdrawal_get(db, q->id, q->a, &w);
    if (e)
        return e;
    if (!withdrawal_transition(w.status, act, &to))
        return err_set(q->ei, ERR_ILLEGAL_TRANSITION, "status", "cannot %s a withdrawal that is %s",
                       verbs[act], withdrawal_status_name(w.status));
    bool on_its_way = false; /* a WeChat Pay transfer decides it: not a hand as well */
    if (act != WITHDRAWAL_APPROVE && !q->by_provider &&
        (e = wechatpay_payout_pending(db, q->id, &on_its_way)))
        return e;
    if (on_its_way)
        return err_set(q->ei, ERR_CONFLICT, "status",
                       "this withdrawal is on its way by WeChat Pay; it is decided when WeChat Pay "
                       "says how it went");
    struct db_arg none = DB_NULL;
    e = db_run_changes(db, upd, &changed, DB_STR(withdrawal_status_name(to)), DB_INT(now),
                       DB_INT(q->actor), act == WITHDRAWAL_PAY ? DB_INT(now) : none,
                       act == WITHDRAWAL_PAY ? DB_TEXT(q->text, q->text_len) : none,
                       act == WITHDRAWAL_REJECT && q->text ? DB_TEXT(q->text, q->text_len) : none,
                       DB_INT(q->id), DB_STR(withdrawal_status_name(w.status)));
    if (e == ERR_OK && changed != 1)
        e = ERR_RETRY; /* changed under us: run again */
    if (e)
        return e;
    if (to == WITHDRAWAL_PAID) {
        struct ledger_entry en[] = {
            {.kind = LEDGER_WITHDRAWING, .promoter_id = w.promoter_id, .amount_fen = -w.amount_fen},
            {.kind = LEDGER_EXTERNAL, .amount_fen = w.amount_fen},
        };
        e = ledger_post(db, w.shop_id, "withdraw_paid", q->id, "withdrawal paid", en, 2, now);
    } else if (to == WITHDRAWAL_REJECTED) {
        struct ledger_entry en[] = {
            {.kind = LEDGER_WITHDRAWING, .promoter_id = w.promoter_id, .amount_fen = -w.amount_fen},
            {.kind = LEDGER_AVAILABLE, .promoter_id = w.promoter_id, .amount_fen = w.amount_fen},
        };
        e = ledger_post(db, w.shop_id, "withdraw_reject", q->id, "withdrawal rejected", en, 2, now);
    }
    return e;
}

static enum err decide(struct db *db, int64_t id, enum withdrawal_action act, int64_t actor,
                       const char *text, size_t text_len, bool by_provider, struct errinfo *ei)
{
    struct arena a;
    enum err e = ERR_OK;
    if (act == WITHDRAWAL_PAY)
        e = text ? check_name(text, text_len, "reference", 64, ei)
                 : err_set(ei, ERR_MISSING_FIELD, "reference",
                           "reference is required: the transfer's number");
    else if (act == WITHDRAWAL_REJECT && text)
        e = check_text(text, text_len, "note", 200, ei);
    if (e)
        return e;
    arena_init(&a, 16 * 1024);
    struct decide_args q = {.id = id,
                            .actor = actor,
                            .now = clock_now_ms(),
                            .act = act,
                            .by_provider = by_provider,
                            .text = text,
                            .text_len = text_len,
                            .a = &a,
                            .ei = ei};
    /* READ COMMITTED on PostgreSQL: payouts touch the shop's ledger rows too; the
     * status moves only from what was read */
    e = db_tx_run(db, DB_TX_WRITE_LOCKED, decide_tx, &q);
    arena_release(&a);
    return e;
}

enum err withdrawal_decide(struct db *db, int64_t id, enum withdrawal_action act, int64_t actor,
                           const char *text, size_t text_len, struct errinfo *ei)
{
    return decide(db, id, act, actor, text, text_len, false, ei);
}

enum err withdrawal_settle_transfer(struct db *db, int64_t id, bool paid, int64_t actor,
                                    const char *text, size_t text_len, struct errinfo *ei)
{
    return decide(db, id, paid ? WITHDRAWAL_PAY : WITHDRAWAL_REJECT, actor, text, text_len, true,
                  ei);
}

enum err withdrawal_list(struct db *db, int64_t shop_id, int64_t promoter_id, int64_t before_id,
                         int64_t limit, struct arena *a, struct withdrawal **out, size_t *n,
                         bool *more)
{
    static const char sql[] =
        WITHDRAWAL_SELECT "WHERE w.shop_id = ? AND (? = 0 OR w.promoter_id = ?) AND w.id < ?"
                          " ORDER BY w.id DESC LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_withdrawal, a, &items, n, more,
                         DB_INT(shop_id), DB_INT(promoter_id), DB_INT(promoter_id),
                         DB_INT(before_id > 0 ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

enum err withdrawal_paid_total(struct db *db, int64_t promoter_id, int64_t *fen)
{
    static const char sql[] = "SELECT COALESCE(SUM(amount_fen), 0) FROM withdrawals"
                              " WHERE promoter_id = ? AND status = 'paid'";
    return db_value(db, sql, fen, DB_INT(promoter_id));
}
