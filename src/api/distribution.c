/*
 * distribution.c - promoters, trials, share links and bindings, commission,
 * balances, withdrawals, the ledger and the audit.
 *
 * Promoters, withdrawals and the ledger of a shop are seen by whoever runs
 * it; a promoter sees their own. To anyone else they do not exist (404).
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/audit.h"
#include "domain/commission.h"
#include "domain/ledger.h"
#include "domain/promoter.h"
#include "domain/withdrawal.h"
#include "util/limits.h"

#define TEAM_MAX 100
#define BOUND_MAX 100

static json_t *opt_id(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

static json_t *opt_time(int64_t ms)
{
    return ms ? json_time(ms) : json_null();
}

/* The income disclosure: what a promoter of this shop earns, before joining. */
static json_t *rates_json(struct req *r, const struct shop *s)
{
    struct rate_override *ov = NULL;
    size_t n = 0;
    if (promoter_rate_overrides(r->db, s->id, &r->arena, &ov, &n) != ERR_OK)
        return NULL;
    json_t *products = json_array();
    for (size_t i = 0; products && i < n; i++)
        json_array_append_new(products, json_pack("{s:I, s:s, s:I, s:I}", "product_id",
                                                  (json_int_t)ov[i].product_id, "title",
                                                  ov[i].title, "l1_bps", (json_int_t)ov[i].l1_bps,
                                                  "l2_bps", (json_int_t)ov[i].l2_bps));
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:s}", "l1_bps",
        (json_int_t)s->settings.l1_bps, "l2_bps", (json_int_t)s->settings.l2_bps,
        "platform_max_bps", (json_int_t)PLATFORM_MAX_COMMISSION_BPS, "settle_days",
        (json_int_t)s->settings.settle_days, "binding_days", (json_int_t)s->settings.binding_days,
        "l2_active_days", (json_int_t)s->settings.l2_active_days, "withdraw_min_fen",
        (json_int_t)s->settings.withdraw_min_fen, "withdraw_daily_fen",
        (json_int_t)s->settings.withdraw_daily_fen, "entry_fee_fen", (json_int_t)0,
        "pays_for_recruiting", 0, "products", products, "rules",
        "Commission is paid only on retail sales: level 1 to the promoter whose link or "
        "binding made the sale, level 2 to the promoter who invited them if they sold "
        "something themselves within l2_active_days; never further up. Nothing is paid for "
        "inviting people and nothing is charged to join. Commission becomes withdrawable "
        "after the return window (settle_days); a refund takes back its share.");
}

static json_t *promoter_json(const struct promoter *p, bool self)
{
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)p->id, "shop_id",
        (json_int_t)p->shop_id, "user_id", (json_int_t)p->user_id, "display_name", p->display_name,
        "status", promoter_status_name(p->status), "inviter_id", opt_id(p->inviter_id),
        "created_at", json_time(p->created_at_ms), "approved_at", opt_time(p->approved_at_ms));
    if (o && self) {
        json_object_set_new(o, "invite_code", json_string(p->invite_code));
        json_object_set_new(o, "ref_token", json_string(p->ref_token));
        char link[96];
        snprintf(link, sizeof link, "/api/v1/s/%s", p->ref_token);
        json_object_set_new(o, "share_path", json_string(link));
    }
    return o;
}

/* --- trials --- */

enum err api_trial_grant(struct req *r)
{
    static const char *const fields[] = {"user_id", "product_id", NULL};
    int64_t shop_id = req_param_id(r, 0), user_id = 0, product_id = 0, id = 0;
    enum shop_role role;
    enum err e = api_shop_role(r, shop_id, false, &role);
    if (!e)
        e = req_body(r, fields);
    if (!e)
        e = req_int(r, "user_id", true, 1, INT64_MAX, &user_id, NULL);
    if (!e)
        e = req_int(r, "product_id", true, 1, INT64_MAX, &product_id, NULL);
    if (!e)
        e = trial_grant(r->db, shop_id, product_id, user_id, r->user.user_id, &id, &r->ei);
    if (e)
        return e;
    return req_reply(r, 201,
                     json_pack("{s:I, s:I, s:I, s:I}", "id", (json_int_t)id, "shop_id",
                               (json_int_t)shop_id, "user_id", (json_int_t)user_id, "product_id",
                               (json_int_t)product_id));
}

/* --- promoters --- */

enum err api_promoter_terms(struct req *r)
{
    struct shop s;
    enum err e = shop_get(r->db, req_param_id(r, 0), &r->arena, &s);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such shop");
    if (e)
        return e;
    json_t *rates = rates_json(r, &s);
    return rates ? req_reply(r, 200, rates) : ERR_TOO_LARGE;
}

enum err api_promoter_apply(struct req *r)
{
    static const char *const fields[] = {"invite_code", NULL};
    int64_t shop_id = req_param_id(r, 0);
    const char *code = NULL;
    size_t code_len = 0;
    struct promoter p;
    struct shop s;
    bool created = false;
    enum err e = shop_get(r->db, shop_id, &r->arena, &s);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such shop");
    if (!e && r->body_len)
        e = req_body(r, fields);
    if (!e && r->body_len)
        e = req_str(r, "invite_code", false, &code, &code_len);
    if (!e && code && (code_len < 1 || code_len > 16))
        e = req_fail(r, ERR_INVALID, "invite_code", "invite_code is not a valid code");
    if (!e)
        e = promoter_apply(r->db, shop_id, r->user.user_id, code, &r->arena, &p, &created, &r->ei);
    if (e)
        return e;
    json_t *o = promoter_json(&p, true);
    if (o)
        json_object_set_new(o, "rates", rates_json(r, &s));
    return req_reply(r, created ? 201 : 200, o);
}

static json_t *promoter_rows_json(const struct promoter_row *rows, size_t n, bool runs)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = promoter_json(&rows[i].p, false);
        if (!o)
            continue;
        json_object_set_new(o, "inviter_name",
                            rows[i].inviter_name ? json_string(rows[i].inviter_name) : json_null());
        json_object_set_new(o, "orders", json_integer(rows[i].orders));
        json_object_set_new(o, "sales_fen", json_integer(rows[i].sales_fen));
        if (!runs)
            json_object_del(o, "user_id");
        json_array_append_new(arr, o);
    }
    return arr;
}

enum err api_promoter_list(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0), limit = 0, before = 0;
    enum shop_role role;
    struct promoter_row *rows = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_shop_role(r, shop_id, false, &role);
    if (!e)
        e = api_page(r, &limit, &before);
    if (!e)
        e = promoter_list(r->db, shop_id, 0, before, limit, &r->arena, &rows, &n, &more);
    if (e)
        return e;
    return api_reply_page(r, promoter_rows_json(rows, n, true), more, n ? rows[n - 1].p.id : 0);
}

/* The promoter for a shop-side action: 404 unless the caller runs its shop. */
static enum err shop_promoter(struct req *r, int64_t id, struct promoter *p)
{
    enum shop_role role;
    enum err e = promoter_get(r->db, id, &r->arena, p);
    if (!e)
        e = api_shop_role(r, p->shop_id, false, &role);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such promoter");
    return e;
}

static enum err set_status(struct req *r, bool approve)
{
    int64_t id = req_param_id(r, 0);
    struct promoter p;
    enum err e = shop_promoter(r, id, &p);
    if (!e)
        e = promoter_set_status(r->db, id, approve, &r->ei);
    if (!e)
        e = promoter_get(r->db, id, &r->arena, &p);
    if (e)
        return e;
    return req_reply(r, 200, promoter_json(&p, false));
}

enum err api_promoter_approve(struct req *r)
{
    return set_status(r, true);
}

enum err api_promoter_suspend(struct req *r)
{
    return set_status(r, false);
}

struct balance {
    int64_t pending, available, withdrawing, withdrawn;
};

static enum err balance_of(struct req *r, int64_t shop_id, int64_t promoter_id, struct balance *b)
{
    struct ledger_promoter_balance lb;
    enum err e = ledger_promoter_balance(r->db, shop_id, promoter_id, &lb);
    b->pending = lb.pending;
    b->available = lb.available;
    b->withdrawing = lb.withdrawing;
    if (!e)
        e = withdrawal_paid_total(r->db, promoter_id, &b->withdrawn);
    return e;
}

static json_t *balance_json(const struct balance *b)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "pending_fen", (json_int_t)b->pending, "available_fen",
                     (json_int_t)b->available, "withdrawing_fen", (json_int_t)b->withdrawing,
                     "withdrawn_fen", (json_int_t)b->withdrawn);
}

/* The caller's promoter record in ?shop_id=, or 404. */
static enum err my_promoter(struct req *r, int64_t *shop_id, struct promoter *p)
{
    enum err e = api_query_id(r, "shop_id", shop_id);
    if (!e)
        e = promoter_of_user(r->db, *shop_id, r->user.user_id, &r->arena, p);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, "shop_id", "you are not a promoter of this shop");
    return e;
}

enum err api_me_promoter(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter p;
    struct shop s;
    struct balance b;
    struct promoter_row *team = NULL;
    struct binding *bound = NULL;
    size_t n_team = 0, n_bound = 0;
    bool more = false;
    enum err e = my_promoter(r, &shop_id, &p);
    if (!e)
        e = shop_get(r->db, shop_id, &r->arena, &s);
    if (!e)
        e = balance_of(r, shop_id, p.id, &b);
    /* RULE: TWO-LEVELS - the team is one level down, no further */
    if (!e)
        e = promoter_list(r->db, shop_id, p.id, 0, TEAM_MAX, &r->arena, &team, &n_team, &more);
    if (!e)
        e = binding_list(r->db, p.id, BOUND_MAX, &r->arena, &bound, &n_bound);
    if (e)
        return e;
    json_t *o = promoter_json(&p, true);
    json_t *customers = json_array();
    for (size_t i = 0; customers && i < n_bound; i++)
        json_array_append_new(customers, json_pack("{s:I, s:s, s:o, s:o}", "user_id",
                                                   (json_int_t)bound[i].customer_id, "display_name",
                                                   bound[i].customer_name, "bound_at",
                                                   json_time(bound[i].bound_at_ms), "expires_at",
                                                   json_time(bound[i].expires_at_ms)));
    if (o) {
        json_object_set_new(o, "balance", balance_json(&b));
        json_object_set_new(o, "team", promoter_rows_json(team, n_team, false));
        json_object_set_new(o, "customers", customers);
        json_object_set_new(o, "rates", rates_json(r, &s));
    }
    return req_reply(r, 200, o);
}

/* --- share links and bindings --- */

enum err api_share_open(struct req *r)
{
    const char *token = req_param_str(r, 0);
    struct landing l;
    struct shop s;
    if (strlen(token) > 64)
        return req_fail(r, ERR_NOT_FOUND, NULL, "no such link");
    enum err e = promoter_open_link(r->db, token, r->user.user_id, &r->arena, &l);
    if (!e)
        e = shop_get(r->db, l.shop_id, &r->arena, &s);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such link");
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:{s:I, s:s, s:s, s:s}, s:{s:I, s:s}, s:b, s:s}", "shop", "id",
                               (json_int_t)s.id, "name", s.name, "slug", s.slug, "story", s.story,
                               "promoter", "id", (json_int_t)l.promoter_id, "display_name",
                               l.promoter_name, "bound", l.bound, "share_token", token));
}

enum err api_me_binding(struct req *r)
{
    int64_t shop_id = 0;
    struct binding b;
    enum err e = api_query_id(r, "shop_id", &shop_id);
    if (!e)
        e = binding_get(r->db, shop_id, r->user.user_id, &r->arena, &b);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, "shop_id", "you are not bound to a promoter of this shop");
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:{s:I, s:s}, s:o, s:o}", "shop_id", (json_int_t)shop_id,
                               "promoter", "id", (json_int_t)b.promoter_id, "display_name",
                               b.promoter_name, "bound_at", json_time(b.bound_at_ms), "expires_at",
                               json_time(b.expires_at_ms)));
}

enum err api_me_unbind(struct req *r)
{
    int64_t shop_id = 0;
    enum err e = api_query_id(r, "shop_id", &shop_id);
    if (!e)
        e = binding_remove(r->db, shop_id, r->user.user_id);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, "shop_id", "you are not bound to a promoter of this shop");
    if (e)
        return e;
    return req_reply(r, 200, json_pack("{s:I, s:b}", "shop_id", (json_int_t)shop_id, "bound", 0));
}

/* --- commission and balance --- */

static json_t *commission_json(const struct commission *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "id",
                     (json_int_t)c->id, "shop_id", (json_int_t)c->shop_id, "order_id",
                     (json_int_t)c->order_id, "level", (json_int_t)c->level, "promoter_id",
                     (json_int_t)c->promoter_id, "earned_fen", (json_int_t)c->earned_fen,
                     "amount_fen", (json_int_t)c->amount_fen, "status",
                     commission_status_name(c->status), "note", c->note,
                     "created_at", json_time(c->created_at_ms), "settled_at",
                     opt_time(c->settled_at_ms));
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
        if (!(e = my_promoter(r, &shop_id, &p)))
            promoter = p.id;
    }
    if (!e)
        e = commission_list(r->db, promoter, promoter ? 0 : r->user.user_id, before, limit,
                            &r->arena, &c, &n, &more);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, commission_json(&c[i]));
    return api_reply_page(r, arr, more, n ? c[n - 1].id : 0);
}

enum err api_me_balance(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter p;
    struct balance b;
    enum err e = my_promoter(r, &shop_id, &p);
    if (!e)
        e = balance_of(r, shop_id, p.id, &b);
    if (e)
        return e;
    json_t *o = balance_json(&b);
    if (o)
        json_object_set_new(o, "shop_id", json_integer(shop_id));
    return req_reply(r, 200, o);
}

/* --- withdrawals --- */

static json_t *withdrawal_json(const struct withdrawal *w)
{
    return json_pack("{s:I, s:I, s:I, s:s, s:I, s:s, s:o, s:s, s:o, s:o, s:o}", "id",
                     (json_int_t)w->id, "shop_id", (json_int_t)w->shop_id, "promoter_id",
                     (json_int_t)w->promoter_id, "promoter_name", w->promoter_name, "amount_fen",
                     (json_int_t)w->amount_fen, "status", withdrawal_status_name(w->status), "reference",
                     w->reference ? json_string(w->reference) : json_null(), "note", w->note,
                     "created_at", json_time(w->created_at_ms), "decided_at",
                     opt_time(w->decided_at_ms), "paid_at", opt_time(w->paid_at_ms));
}

enum err api_withdrawal_request(struct req *r)
{
    static const char *const fields[] = {"shop_id", "amount_fen", NULL};
    int64_t shop_id = 0, amount = 0, id = 0;
    struct withdrawal w;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_int(r, "shop_id", true, 1, INT64_MAX, &shop_id, NULL);
    if (!e)
        e = req_int(r, "amount_fen", true, 1, SHOP_WITHDRAW_DAILY_MAX, &amount, NULL);
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
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, withdrawal_json(&w[i]));
    return api_reply_page(r, arr, more, n ? w[n - 1].id : 0);
}

enum err api_me_withdrawals(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter p;
    enum err e = my_promoter(r, &shop_id, &p);
    return e ? e : withdrawal_page(r, shop_id, p.id);
}

enum err api_shop_withdrawals(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0);
    enum shop_role role;
    enum err e = api_shop_role(r, shop_id, false, &role);
    return e ? e : withdrawal_page(r, shop_id, 0);
}

static enum err decide(struct req *r, enum withdrawal_action act)
{
    static const char *const pay_fields[] = {"reference", NULL};
    static const char *const reject_fields[] = {"note", NULL};
    static const char *const no_fields[] = {NULL};
    int64_t id = req_param_id(r, 0);
    struct withdrawal w;
    enum shop_role role;
    const char *text = NULL;
    size_t len = 0;
    enum err e = withdrawal_get(r->db, id, &r->arena, &w);
    if (!e)
        e = api_shop_role(r, w.shop_id, false, &role);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such withdrawal");
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

/* --- ledger and audit --- */

enum err api_shop_ledger(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0), limit = 0, before = 0;
    enum shop_role role;
    struct ledger_txn *t = NULL;
    struct ledger_account *acc = NULL;
    size_t n = 0, n_acc = 0;
    bool more = false;
    enum err e = api_shop_role(r, shop_id, false, &role);
    if (!e)
        e = api_page(r, &limit, &before);
    if (!e)
        e = ledger_accounts(r->db, shop_id, &r->arena, &acc, &n_acc);
    if (!e)
        e = ledger_list(r->db, shop_id, before, limit, &r->arena, &t, &n, &more);
    if (e)
        return e;
    json_t *accounts = json_array();
    for (size_t i = 0; accounts && i < n_acc; i++)
        json_array_append_new(accounts, json_pack("{s:s, s:o, s:I}", "kind", acc[i].kind,
                                                  "promoter_id", opt_id(acc[i].promoter_id),
                                                  "balance_fen", (json_int_t)acc[i].balance_fen));
    json_t *txns = json_array();
    for (size_t i = 0; txns && i < n; i++) {
        json_t *lines = json_array();
        for (size_t j = 0; lines && j < t[i].n_lines; j++)
            json_array_append_new(lines,
                                  json_pack("{s:s, s:o, s:I}", "account", t[i].lines[j].account,
                                            "promoter_id", opt_id(t[i].lines[j].promoter_id),
                                            "amount_fen", (json_int_t)t[i].lines[j].amount_fen));
        json_array_append_new(
            txns, json_pack("{s:I, s:s, s:I, s:s, s:o, s:o}", "id", (json_int_t)t[i].id, "kind",
                            t[i].kind, "ref_id", (json_int_t)t[i].ref_id, "memo", t[i].memo,
                            "created_at", json_time(t[i].created_at_ms), "entries", lines));
    }
    return req_reply(r, 200,
                     json_pack("{s:o, s:o, s:o}", "accounts", accounts, "items", txns,
                               "next_cursor", api_next_cursor(r, more, n ? t[n - 1].id : 0)));
}

json_t *api_audit_json(const struct audit *a)
{
    json_t *findings = json_array();
    for (int i = 0; findings && i < AUDIT_FINDINGS; i++) {
        const struct audit_finding *f = &a->f[i];
        json_t *rows = json_array();
        for (size_t j = 0; rows && j < f->n_rows; j++) {
            json_t *row = json_object();
            for (int c = 0; row && c < AUDIT_COLS; c++)
                if (f->cols[c])
                    json_object_set_new(row, f->cols[c], json_integer(f->rows[j][c]));
            json_array_append_new(rows, row);
        }
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:o}", "name", f->name, "rule", f->rule,
                      "about", f->about, "required", f->required, "ok", f->ok, "value",
                      (json_int_t)f->value, "count", (json_int_t)f->count, "rows", rows);
        if (o && f->required)
            json_object_set_new(o, "limit", json_integer(f->limit));
        if (o && f->den)
            json_object_set_new(
                o, "of",
                json_pack("{s:I, s:I}", "num", (json_int_t)f->num, "den", (json_int_t)f->den));
        json_array_append_new(findings, o);
    }
    return json_pack("{s:I, s:o, s:b, s:o}", "shop_id", (json_int_t)a->shop_id, "at",
                     json_time(a->at_ms), "ok", a->ok, "findings", findings);
}

enum err api_shop_audit(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0);
    enum shop_role role;
    struct audit a;
    enum err e = api_shop_role(r, shop_id, false, &role);
    if (!e)
        e = audit_shop(r->db, shop_id, &r->arena, &a);
    if (e)
        return e;
    return req_reply(r, 200, api_audit_json(&a));
}
