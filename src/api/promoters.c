/*
 * promoters.c - trials, the income disclosure, applying, the shop's
 * promoters and their approval, and a promoter's own centre.
 *
 * A shop's promoters are seen by whoever runs it; a promoter sees their own
 * record. To anyone else they do not exist (404).
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/promoter.h"
#include "util/limits.h"

#define TEAM_MAX 100
#define BOUND_MAX 100

/* The income disclosure: what a promoter of this shop earns, before joining. */
static json_t *override_json(const void *item)
{
    const struct rate_override *ov = item;
    return json_pack("{s:I, s:s, s:I, s:I}", "product_id", (json_int_t)ov->product_id, "title",
                     ov->title, "l1_bps", (json_int_t)ov->l1_bps, "l2_bps", (json_int_t)ov->l2_bps);
}

static json_t *rates_json(struct req *r, const struct shop *s)
{
    struct rate_override *ov = NULL;
    size_t n = 0;
    if (promoter_rate_overrides(r->db, s->id, &r->arena, &ov, &n) != ERR_OK)
        return NULL;
    json_t *products = api_array(ov, n, sizeof *ov, override_json);
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
        "status", promoter_status_name(p->status), "inviter_id", api_opt_id(p->inviter_id),
        "created_at", json_time(p->created_at_ms), "approved_at", api_opt_time(p->approved_at_ms));
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
    int64_t shop_id = req_param_id(r, 0), user_id = 0, product_id = 0, id = 0;
    enum err e = req_read(r, REQ_INTEGER("user_id", true, 1, INT64_MAX, &user_id),
                          REQ_INTEGER("product_id", true, 1, INT64_MAX, &product_id));
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
    struct promoter_row *rows = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = promoter_list(r->db, shop_id, 0, before, limit, &r->arena, &rows, &n, &more);
    if (e)
        return e;
    return api_reply_page(r, promoter_rows_json(rows, n, true), more, n ? rows[n - 1].p.id : 0);
}

static enum err set_status(struct req *r, bool approve)
{
    int64_t id = req_param_id(r, 0); /* of the caller's shop: the route's access */
    struct promoter p;
    enum err e = promoter_set_status(r->db, id, approve, &r->ei);
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

static json_t *customer_json(const void *item)
{
    const struct binding *b = item;
    return json_pack("{s:I, s:s, s:o, s:o}", "user_id", (json_int_t)b->customer_id, "display_name",
                     b->customer_name, "bound_at", json_time(b->bound_at_ms), "expires_at",
                     json_time(b->expires_at_ms));
}

enum err api_me_promoter(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter p;
    struct shop s;
    struct api_balance b;
    struct promoter_row *team = NULL;
    struct binding *bound = NULL;
    size_t n_team = 0, n_bound = 0;
    bool more = false;
    enum err e = api_my_promoter(r, &shop_id, &p);
    if (!e)
        e = shop_get(r->db, shop_id, &r->arena, &s);
    if (!e)
        e = api_balance(r, shop_id, p.id, &b);
    /* RULE: TWO-LEVELS - the team is one level down, no further */
    if (!e)
        e = promoter_list(r->db, shop_id, p.id, 0, TEAM_MAX, &r->arena, &team, &n_team, &more);
    if (!e)
        e = binding_list(r->db, p.id, BOUND_MAX, &r->arena, &bound, &n_bound);
    if (e)
        return e;
    json_t *o = promoter_json(&p, true);
    json_t *customers = api_array(bound, n_bound, sizeof *bound, customer_json);
    if (o) {
        json_object_set_new(o, "balance", api_balance_json(&b));
        json_object_set_new(o, "team", promoter_rows_json(team, n_team, false));
        json_object_set_new(o, "customers", customers);
        json_object_set_new(o, "rates", rates_json(r, &s));
    }
    return req_reply(r, 200, o);
}
