#include "domain/withdrawal.h"

#include <stdio.h>
#include <string.h>

#include "domain/check.h"
#include "domain/ledger.h"
#include "domain/promoter.h"
#include "domain/shop.h"
#include "util/clock.h"
#include "util/log.h"

#define CHINA_OFFSET_MS (8LL * 60 * 60 * 1000)

/* Midnight of the China calendar day that `now` falls in, as a UTC instant. */
static int64_t china_day_start(int64_t now)
{
    int64_t local = now + CHINA_OFFSET_MS;
    return local - local % MS_PER_DAY - CHINA_OFFSET_MS;
}

enum err withdrawal_request(struct db *db, int64_t shop_id, int64_t user_id, int64_t amount_fen,
                            int64_t *id, struct errinfo *ei)
{
    static const char lock[] = "UPDATE promoters SET id = id WHERE id = ?"; /* a row lock */
    static const char today[] =
        "SELECT COALESCE(SUM(amount_fen), 0) FROM withdrawals WHERE promoter_id = ?"
        " AND created_at >= ? AND status <> 'rejected'";
    static const char ins[] = "INSERT INTO withdrawals (shop_id, promoter_id, amount_fen, status,"
                              " created_at) VALUES (?, ?, ?, 'requested', ?) RETURNING id";
    struct arena a;
    struct shop shop;
    struct promoter p;
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t now = clock_now_ms();
    arena_init(&a, 64 * 1024);
    /* requests of one promoter queue on the promoter's row; the balance is a
     * conditional update, so none can take what another took */
    enum err e = db_begin(db, DB_TX_WRITE_LOCKED);
    if (e)
        goto done;
    e = shop_get(db, shop_id, &a, &shop);
    if (e == ERR_OK)
        e = promoter_of_user(db, shop_id, user_id, &a, &p);
    if (e == ERR_NOT_FOUND)
        e = err_set(ei, ERR_NOT_FOUND, "shop_id", "you are not a promoter of this shop");
    if (e || (e = db_prepare(db, lock, &st)))
        goto out;
    db_bind_int64(st, 1, p.id);
    e = db_step_done(st);
    db_done(st);
    if (e)
        goto out;
    if (amount_fen < shop.settings.withdraw_min_fen) {
        e = err_set(ei, ERR_OUT_OF_RANGE, "amount_fen",
                    "this shop pays out at least %lld fen at a time",
                    (long long)shop.settings.withdraw_min_fen);
        goto out;
    }
    if ((e = db_prepare(db, today, &st)))
        goto out;
    db_bind_int64(st, 1, p.id);
    db_bind_int64(st, 2, china_day_start(now));
    e = db_step(st, &row);
    int64_t used = db_col_int64(st, 0);
    db_done(st);
    if (e)
        goto out;
    if (amount_fen > shop.settings.withdraw_daily_fen - used) {
        e = err_set(ei, ERR_DAILY_LIMIT, "amount_fen",
                    "at most %lld fen a day may be withdrawn; %lld fen are left today",
                    (long long)shop.settings.withdraw_daily_fen,
                    (long long)(shop.settings.withdraw_daily_fen - used));
        goto out;
    }
    if ((e = db_prepare(db, ins, &st)))
        goto out;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, p.id);
    db_bind_int64(st, 3, amount_fen);
    db_bind_int64(st, 4, now);
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        *id = db_col_int64(st, 0);
    db_done(st);
    if (e)
        goto out;
    struct ledger_entry en[] = {
        {.kind = LEDGER_AVAILABLE,
         .promoter_id = p.id,
         .amount_fen = -amount_fen,
         .keep_nonneg = true},
        {.kind = LEDGER_WITHDRAWING, .promoter_id = p.id, .amount_fen = amount_fen},
    };
    e = ledger_post(db, shop_id, "withdraw_request", *id, "withdrawal requested", en, 2, now);
    if (e == ERR_INSUFFICIENT_BALANCE)
        e = err_set(ei, e, "amount_fen", "more than your available balance");
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
done:
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

static enum err read_withdrawal(struct db_stmt *st, struct arena *a, struct withdrawal *w)
{
    w->id = db_col_int64(st, 0);
    w->shop_id = db_col_int64(st, 1);
    w->promoter_id = db_col_int64(st, 2);
    w->amount_fen = db_col_int64(st, 3);
    w->status = arena_strdup(a, db_col_text(st, 4, NULL));
    w->reference = db_col_is_null(st, 5) ? NULL : arena_strdup(a, db_col_text(st, 5, NULL));
    w->note = arena_strdup(a, db_col_text(st, 6, NULL));
    w->created_at_ms = db_col_int64(st, 7);
    w->decided_at_ms = db_col_is_null(st, 8) ? 0 : db_col_int64(st, 8);
    w->paid_at_ms = db_col_is_null(st, 9) ? 0 : db_col_int64(st, 9);
    w->promoter_name = arena_strdup(a, db_col_text(st, 10, NULL));
    return w->status && w->note && w->promoter_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err withdrawal_get(struct db *db, int64_t id, struct arena *a, struct withdrawal *out)
{
    static const char sql[] = WITHDRAWAL_SELECT "WHERE w.id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_row_by_id(db, sql, id, &st);
    if (e)
        return e;
    e = read_withdrawal(st, a, out);
    db_done(st);
    return e;
}

enum err withdrawal_decide(struct db *db, int64_t id, enum withdrawal_action act, int64_t actor,
                           const char *text, size_t text_len, struct errinfo *ei)
{
    static const char upd[] =
        "UPDATE withdrawals SET status = ?, decided_at = COALESCE(decided_at, ?),"
        " decided_by = COALESCE(decided_by, ?), paid_at = ?, reference = COALESCE(?, reference),"
        " note = COALESCE(?, note) WHERE id = ? AND status = ?";
    static const char *const to_names[] = {"approved", "paid", "rejected"};
    static const char *const verbs[] = {"approve", "mark paid", "reject"};
    struct arena a;
    struct withdrawal w;
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms();
    arena_init(&a, 16 * 1024);
    enum err e = ERR_OK;
    if (act == WITHDRAWAL_PAY)
        e = text ? check_name(text, text_len, "reference", 64, ei)
                 : err_set(ei, ERR_MISSING_FIELD, "reference",
                           "reference is required: the transfer's number");
    else if (act == WITHDRAWAL_REJECT && text)
        e = check_text(text, text_len, "note", 200, ei);
    /* READ COMMITTED on PostgreSQL: payouts touch the shop's ledger rows too; the
     * status moves only from what was read */
    if (e || (e = db_begin(db, DB_TX_WRITE_LOCKED)))
        goto done;
    if ((e = withdrawal_get(db, id, &a, &w)))
        goto out;
    bool open = !strcmp(w.status, "requested") || !strcmp(w.status, "approved");
    if (!open || (act == WITHDRAWAL_APPROVE && strcmp(w.status, "requested") != 0)) {
        e = err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "cannot %s a withdrawal that is %s",
                    verbs[act], w.status);
        goto out;
    }
    if ((e = db_prepare(db, upd, &st)))
        goto out;
    db_bind_str(st, 1, to_names[act]);
    db_bind_int64(st, 2, now);
    db_bind_int64(st, 3, actor);
    if (act == WITHDRAWAL_PAY)
        db_bind_int64(st, 4, now);
    else
        db_bind_null(st, 4);
    if (act == WITHDRAWAL_PAY)
        db_bind_text(st, 5, text, text_len);
    else
        db_bind_null(st, 5);
    if (act == WITHDRAWAL_REJECT && text)
        db_bind_text(st, 6, text, text_len);
    else
        db_bind_null(st, 6);
    db_bind_int64(st, 7, id);
    db_bind_str(st, 8, w.status);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = ERR_RETRY; /* changed under us: run again */
    db_done(st);
    if (e)
        goto out;
    if (act == WITHDRAWAL_PAY) {
        struct ledger_entry en[] = {
            {.kind = LEDGER_WITHDRAWING, .promoter_id = w.promoter_id, .amount_fen = -w.amount_fen},
            {.kind = LEDGER_EXTERNAL, .amount_fen = w.amount_fen},
        };
        e = ledger_post(db, w.shop_id, "withdraw_paid", id, "withdrawal paid", en, 2, now);
    } else if (act == WITHDRAWAL_REJECT) {
        struct ledger_entry en[] = {
            {.kind = LEDGER_WITHDRAWING, .promoter_id = w.promoter_id, .amount_fen = -w.amount_fen},
            {.kind = LEDGER_AVAILABLE, .promoter_id = w.promoter_id, .amount_fen = w.amount_fen},
        };
        e = ledger_post(db, w.shop_id, "withdraw_reject", id, "withdrawal rejected", en, 2, now);
    }
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
done:
    arena_release(&a);
    return e;
}

enum err withdrawal_list(struct db *db, int64_t shop_id, int64_t promoter_id, int64_t before_id,
                         int64_t limit, struct arena *a, struct withdrawal **out, size_t *n,
                         bool *more)
{
    static const char sql[] =
        WITHDRAWAL_SELECT "WHERE w.shop_id = ? AND (? = 0 OR w.promoter_id = ?) AND w.id < ?"
                          " ORDER BY w.id DESC LIMIT ?";
    struct db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    *more = false;
    struct withdrawal *w = arena_alloc(a, (size_t)(limit + 1) * sizeof *w);
    if (!w)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, promoter_id);
    db_bind_int64(st, 3, promoter_id);
    db_bind_int64(st, 4, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(st, 5, limit + 1);
    while ((e = db_step(st, &row)) == ERR_OK && row) {
        if (*n == (size_t)limit) {
            *more = true;
            break;
        }
        if ((e = read_withdrawal(st, a, &w[(*n)++])))
            break;
    }
    db_done(st);
    *out = w;
    return e;
}

enum err withdrawal_paid_total(struct db *db, int64_t promoter_id, int64_t *fen)
{
    static const char sql[] = "SELECT COALESCE(SUM(amount_fen), 0) FROM withdrawals"
                              " WHERE promoter_id = ? AND status = 'paid'";
    struct db_stmt *st = NULL;
    enum err e = db_row_by_id(db, sql, promoter_id, &st);
    if (e)
        return e;
    *fen = db_col_int64(st, 0);
    db_done(st);
    return ERR_OK;
}
