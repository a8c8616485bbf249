/*
 * shops.c - open a shop, read its profile, change profile and settings,
 * manage staff. A shop the caller does not run answers 404 to every
 * owner-only call, as if it did not exist.
 */
#include <string.h>

#include "api/api.h"
#include "domain/memo.h"
#include "domain/shop.h"

static json_t *shop_json(const struct shop *s, enum shop_role role)
{
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:{s:I, s:s}, s:o, s:o, s:I, s:I, s:I, s:I}", "id", (json_int_t)s->id,
        "name", s->name, "slug", s->slug, "story", s->story, "owner", "id", (json_int_t)s->owner_id,
        "display_name", s->owner_name, "trial_ends_at", json_time(s->trial_ends_at_ms),
        "created_at", json_time(s->created_at_ms), "l1_bps", (json_int_t)s->settings.l1_bps,
        "l2_bps", (json_int_t)s->settings.l2_bps, "settle_days",
        (json_int_t)s->settings.settle_days, "binding_days", (json_int_t)s->settings.binding_days);
    if (o) { /* what a promoter earns and may withdraw is public: the income disclosure */
        json_object_set_new(o, "l2_active_days", json_integer(s->settings.l2_active_days));
        json_object_set_new(o, "withdraw_min_fen", json_integer(s->settings.withdraw_min_fen));
        json_object_set_new(o, "withdraw_daily_fen", json_integer(s->settings.withdraw_daily_fen));
    }
    if (o && role != SHOP_ROLE_NONE) {
        json_object_set_new(o, "role", json_string(shop_role_name(role)));
        json_object_set_new(o, "similarity_min", json_weight(s->settings.similarity_milli));
        json_object_set_new(o, "promoter_auto_approve",
                            json_boolean(s->settings.promoter_auto_approve));
        json_object_set_new(o, "buyer_cap_30d", json_integer(s->settings.buyer_cap_30d));
        json_object_set_new(o, "unpaid_timeout_min", json_integer(s->settings.unpaid_timeout_min));
        json_object_set_new(o, "auto_receive_days", json_integer(s->settings.auto_receive_days));
        json_object_set_new(o, "updated_at", json_time(s->updated_at_ms));
    }
    return o;
}

/* The caller's role in shop `id`; a shop they do not run is ERR_NOT_FOUND. */
static enum err require_role(struct req *r, int64_t id, bool owner_only, enum shop_role *role)
{
    enum err e = shop_role_of(r->db, id, r->user.user_id, role);
    if (e)
        return e;
    if (*role == SHOP_ROLE_NONE || (owner_only && *role != SHOP_ROLE_OWNER))
        return req_fail(r, ERR_NOT_FOUND, NULL, "no such shop");
    return ERR_OK;
}

enum err api_shop_create(struct req *r)
{
    static const char *const fields[] = {"name", "slug", "story", NULL};
    const char *name = NULL, *slug = NULL, *story = "";
    size_t name_len = 0, slug_len = 0, story_len = 0;
    struct shop s;
    enum err e = req_body(r, fields);
    if (!e)
        e = req_str(r, "name", true, &name, &name_len);
    if (!e)
        e = req_str(r, "slug", true, &slug, &slug_len);
    if (!e)
        e = req_str(r, "story", false, &story, &story_len);
    if (!e)
        e = shop_create(r->db, r->user.user_id, name, name_len, slug, slug_len, story, story_len,
                        api_settings.trial_days, &r->arena, &s, &r->ei);
    if (e)
        return e;
    return req_reply(r, 201, shop_json(&s, SHOP_ROLE_OWNER));
}

enum err api_shop_get(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    struct shop s;
    enum shop_role role = SHOP_ROLE_NONE;
    size_t len = 0;
    if (r->authed) {
        enum err e = shop_role_of(r->db, id, r->user.user_id, &role);
        if (e)
            return e;
    }
    /* the public profile is the same for everyone who does not run the shop: served as
     * rendered last time while the cache entry is fresh */
    const char *cached = role == SHOP_ROLE_NONE ? memo_get(MEMO_SHOP, id, &len) : NULL;
    if (cached) {
        r->raw_body = cached; /* copied into the response before this thread moves on */
        r->raw_len = len;
        r->status = 200;
        return ERR_OK;
    }
    enum err e = shop_get_cached(r->db, id, &r->arena, &s);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such shop");
    if (e)
        return e;
    json_t *body = shop_json(&s, role);
    if (role == SHOP_ROLE_NONE && body) {
        char *text = json_dumps(body, JSON_DUMP_FLAGS);
        if (text)
            memo_put(MEMO_SHOP, id, text, strlen(text));
    }
    return req_reply(r, 200, body);
}

enum err api_shop_patch(struct req *r)
{
    static const char *const fields[] = {"name",
                                         "slug",
                                         "story",
                                         "l1_bps",
                                         "l2_bps",
                                         "settle_days",
                                         "binding_days",
                                         "similarity_min",
                                         "promoter_auto_approve",
                                         "buyer_cap_30d",
                                         "unpaid_timeout_min",
                                         "auto_receive_days",
                                         "l2_active_days",
                                         "withdraw_min_fen",
                                         "withdraw_daily_fen",
                                         NULL};
    int64_t id = req_param_id(r, 0);
    struct shop_patch p;
    struct shop s;
    enum shop_role role;
    memset(&p, 0, sizeof p);
    enum err e = require_role(r, id, false, &role);
    if (!e)
        e = req_body(r, fields);
    if (!e)
        e = req_str(r, "name", false, &p.name, &p.name_len);
    if (!e)
        e = req_str(r, "slug", false, &p.slug, &p.slug_len);
    if (!e)
        e = req_str(r, "story", false, &p.story, &p.story_len);
    if (!e)
        e = req_int(r, "l1_bps", false, 0, 10000, &p.settings.l1_bps, &p.has_l1_bps);
    if (!e)
        e = req_int(r, "l2_bps", false, 0, 10000, &p.settings.l2_bps, &p.has_l2_bps);
    if (!e)
        e = req_int(r, "settle_days", false, 0, 3650, &p.settings.settle_days, &p.has_settle_days);
    if (!e)
        e = req_int(r, "binding_days", false, 0, 3650, &p.settings.binding_days,
                    &p.has_binding_days);
    if (!e)
        e = req_fraction_milli(r, "similarity_min", false, true, &p.settings.similarity_milli,
                               &p.has_similarity);
    if (!e)
        e = req_bool(r, "promoter_auto_approve", false, &p.settings.promoter_auto_approve,
                     &p.has_auto_approve);
    if (!e)
        e = req_int(r, "buyer_cap_30d", false, 0, 100000, &p.settings.buyer_cap_30d,
                    &p.has_buyer_cap);
    if (!e)
        e = req_int(r, "unpaid_timeout_min", false, 0, 100000, &p.settings.unpaid_timeout_min,
                    &p.has_unpaid_timeout);
    if (!e)
        e = req_int(r, "auto_receive_days", false, 0, 100000, &p.settings.auto_receive_days,
                    &p.has_auto_receive);
    if (!e)
        e = req_int(r, "l2_active_days", false, 0, 100000, &p.settings.l2_active_days,
                    &p.has_l2_active_days);
    if (!e)
        e = req_int(r, "withdraw_min_fen", false, 0, INT64_MAX, &p.settings.withdraw_min_fen,
                    &p.has_withdraw_min);
    if (!e)
        e = req_int(r, "withdraw_daily_fen", false, 0, INT64_MAX, &p.settings.withdraw_daily_fen,
                    &p.has_withdraw_daily);
    if (!e)
        e = shop_update(r->db, id, &p, &r->ei);
    if (!e)
        e = shop_get(r->db, id, &r->arena, &s);
    if (e)
        return e;
    return req_reply(r, 200, shop_json(&s, role));
}

enum err api_shop_staff_list(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    enum shop_role role;
    struct shop_staff *list = NULL;
    size_t n = 0;
    enum err e = require_role(r, id, false, &role);
    if (!e)
        e = shop_staff_list(r->db, id, &r->arena, &list, &n);
    if (e)
        return e;
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(
            items, json_pack("{s:I, s:s, s:s, s:o}", "user_id", (json_int_t)list[i].user_id,
                             "display_name", list[i].display_name, "role",
                             shop_role_name(list[i].role), "since", json_time(list[i].since_ms)));
    return req_reply(r, 200, json_pack("{s:o}", "items", items));
}

enum err api_shop_staff_add(struct req *r)
{
    static const char *const fields[] = {"user_id", NULL};
    int64_t id = req_param_id(r, 0);
    int64_t user_id = 0;
    enum shop_role role;
    enum err e = require_role(r, id, true, &role);
    if (!e)
        e = req_body(r, fields);
    if (!e)
        e = req_int(r, "user_id", true, 1, INT64_MAX, &user_id, NULL);
    if (!e)
        e = shop_staff_add(r->db, id, user_id, &r->ei);
    if (e)
        return e;
    return req_reply(r, 201,
                     json_pack("{s:I, s:I, s:s}", "shop_id", (json_int_t)id, "user_id",
                               (json_int_t)user_id, "role", "staff"));
}

enum err api_shop_staff_remove(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    enum shop_role role;
    enum err e = require_role(r, id, true, &role);
    if (!e)
        e = shop_staff_remove(r->db, id, req_param_id(r, 1));
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, "user_id", "this member is not staff of the shop");
    if (e)
        return e;
    return req_reply(r, 200, json_pack("{s:b}", "removed", 1));
}
