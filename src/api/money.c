/*
 * money.c - a promoter's commission and balance, withdrawals asked and
 * decided, and a shop's ledger.
 *
 * Withdrawals and the ledger of a shop are seen by whoever runs it; a
 * promoter sees their own. To anyone else they do not exist (404).
 */
#include "api/api.h"
#include "api/common.h"
#include "domain/commission.h"
#include "domain/ledger.h"
#include "domain/promoter.h"
#include "domain/withdrawal.h"
#include "domain/wechatpay.h"

static json_t *commission_json(const void *item)
{
    const struct commission *c = item;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "id",
                     (json_int_t)c->id, "shop_id", (json_int_t)c->shop_id, "order_id",
                     (json_int_t)c->order_id, "level", (json_int_t)c->level, "promoter_id",
                     (json_int_t)c->promoter_id, "earned_fen", (json_int_t)c->earned_fen,
                     "amount_fen", (json_int_t)c->amount_fen, "status",
                     commission_status_name(c->status), "note", c->note, "created_at",
                     json_time(c->created_at_ms), "settled_at", api_opt_time(c->settled_at_ms));
}

enum err api_me_commissions(struct req *r)
{
    int64_t limit = 0, before = 0, promoter = 0, shop_id = 0;
    struct commission *c = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e && req_query(r, "shop_id")) {
        struct promoter p;
        if (!(e = api_my_promoter(r, &shop_id, &p)))
            promoter = p.id;
    }
    if (!e)
        e = commission_list(r->db, promoter, promoter ? 0 : r->user.user_id, before, limit,
                            &r->arena, &c, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, c, n, sizeof *c, commission_json, more, n ? c[n - 1].id : 0);
}

enum err api_me_balance(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter p;
    struct api_balance b;
    enum err e = api_my_promoter(r, &shop_id, &p);
    if (!e)
        e = api_balance(r, shop_id, p.id, &b);
    if (e)
        return e;
    json_t *o = api_balance_json(&b);
    if (o)
        json_object_set_new(o, "shop_id", json_integer(shop_id));
    return req_reply(r, 200, o);
}

/* --- withdrawals --- */

static json_t *withdrawal_json(const void *item)
{
    const struct withdrawal *w = item;
    return json_pack("{s:I, s:I, s:I, s:s, s:I, s:s, s:o, s:s, s:o, s:o, s:o}", "id",
                     (json_int_t)w->id, "shop_id", (json_int_t)w->shop_id, "promoter_id",
                     (json_int_t)w->promoter_id, "promoter_name", w->promoter_name, "amount_fen",
                     (json_int_t)w->amount_fen, "status", withdrawal_status_name(w->status),
                     "reference", w->reference ? json_string(w->reference) : json_null(), "note",
                     w->note, "created_at", json_time(w->created_at_ms), "decided_at",
                     api_opt_time(w->decided_at_ms), "paid_at", api_opt_time(w->paid_at_ms));
}

enum err api_withdrawal_request(struct req *r)
{
    int64_t shop_id = 0, amount = 0, id = 0;
    struct withdrawal w;
    enum err e = req_read(r, REQ_INTEGER("shop_id", true, 1, INT64_MAX, &shop_id),
                          REQ_INTEGER("amount_fen", true, 1, SHOP_WITHDRAW_DAILY_MAX, &amount));
    if (!e)
        e = withdrawal_request(r->db, shop_id, r->user.user_id, amount, &id, &r->ei);
    if (!e)
        e = withdrawal_get(r->db, id, &r->arena, &w);
    if (e)
        return e;
    return req_reply(r, 201, withdrawal_json(&w));
}

static enum err withdrawal_page(struct req *r, int64_t shop_id, int64_t promoter)
{
    int64_t limit = 0, before = 0;
    struct withdrawal *w = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = withdrawal_list(r->db, shop_id, promoter, before, limit, &r->arena, &w, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, w, n, sizeof *w, withdrawal_json, more, n ? w[n - 1].id : 0);
}

enum err api_me_withdrawals(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter p;
    enum err e = api_my_promoter(r, &shop_id, &p);
    return e ? e : withdrawal_page(r, shop_id, p.id);
}

enum err api_shop_withdrawals(struct req *r)
{
    return withdrawal_page(r, req_param_id(r, 0), 0);
}

static enum err decide(struct req *r, enum withdrawal_action act)
{
    static const char *const pay_fields[] = {"reference", NULL};
    static const char *const reject_fields[] = {"note", NULL};
    static const char *const no_fields[] = {NULL};
    int64_t id = req_param_id(r, 0); /* of the caller's shop: the route's access */
    struct withdrawal w;
    const char *text = NULL;
    size_t len = 0;
    enum err e = ERR_OK;
    const char *const *fields = act == WITHDRAWAL_PAY      ? pay_fields
                                : act == WITHDRAWAL_REJECT ? reject_fields
                                                           : no_fields;
    if (!e && (r->body_len || act == WITHDRAWAL_PAY))
        e = req_body(r, fields);
    if (!e && fields[0] && r->body_len)
        e = req_str(r, fields[0], false, &text, &len);
    if (!e)
        e = withdrawal_decide(r->db, id, act, r->user.user_id, text, len, &r->ei);
    if (!e)
        e = withdrawal_get(r->db, id, &r->arena, &w);
    if (e)
        return e;
    return req_reply(r, 200, withdrawal_json(&w));
}

enum err api_withdrawal_wechatpay(struct req *r)
{
    int64_t id = req_param_id(r, 0); /* of the caller's shop: the route's access */
    const char *state = NULL;
    struct withdrawal w;
    enum err e = wechatpay_payout_start(r->db, id, r->user.user_id, &r->arena, &state, &r->ei);
    if (!e)
        e = withdrawal_get(r->db, id, &r->arena, &w);
    if (e)
        return e;
    json_t *o = withdrawal_json(&w);
    if (o) /* "sent", "done", or "sending" (WeChat Pay is told later) */
        json_object_set_new(o, "wechatpay_transfer", json_string(state));
    return req_reply(r, 200, o);
}

enum err api_withdrawal_approve(struct req *r)
{
    return decide(r, WITHDRAWAL_APPROVE);
}

enum err api_withdrawal_pay(struct req *r)
{
    return decide(r, WITHDRAWAL_PAY);
}

enum err api_withdrawal_reject(struct req *r)
{
    return decide(r, WITHDRAWAL_REJECT);
}

static json_t *account_json(const void *item)
{
    const struct ledger_account *a = item;
    return json_pack("{s:s, s:o, s:I}", "kind", a->kind, "promoter_id", api_opt_id(a->promoter_id),
                     "balance_fen", (json_int_t)a->balance_fen);
}

static json_t *entry_json(const void *item)
{
    const struct ledger_line *l = item;
    return json_pack("{s:s, s:o, s:I}", "account", l->account, "promoter_id",
                     api_opt_id(l->promoter_id), "amount_fen", (json_int_t)l->amount_fen);
}

static json_t *txn_json(const void *item)
{
    const struct ledger_txn *t = item;
    return json_pack("{s:I, s:s, s:I, s:s, s:o, s:o}", "id", (json_int_t)t->id, "kind", t->kind,
                     "ref_id", (json_int_t)t->ref_id, "memo", t->memo, "created_at",
                     json_time(t->created_at_ms), "entries",
                     api_array(t->lines, t->n_lines, sizeof *t->lines, entry_json));
}

enum err api_shop_ledger(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0), limit = 0, before = 0;
    struct ledger_txn *t = NULL;
    struct ledger_account *acc = NULL;
    size_t n = 0, n_acc = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = ledger_accounts(r->db, shop_id, &r->arena, &acc, &n_acc);
    if (!e)
        e = ledger_list(r->db, shop_id, before, limit, &r->arena, &t, &n, &more);
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:o, s:o, s:o}", "accounts",
                               api_array(acc, n_acc, sizeof *acc, account_json), "items",
                               api_array(t, n, sizeof *t, txn_json), "next_cursor",
                               api_next_cursor(r, more, n ? t[n - 1].id : 0)));
}
