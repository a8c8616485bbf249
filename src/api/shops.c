/*
 * shops.c - open a shop, read its profile, change profile and settings,
 * manage staff. Who may call what is the route table's (routes.c): a shop
 * the caller does not run answers 404 to its owner-only calls, as if it did
 * not exist, before a handler here runs.
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/memo.h"
#include "domain/shop.h"

/* A setting's value as the API writes it. */
static json_t *setting_json(const struct shop_setting *t, int64_t v)
{
    switch (t->kind) {
    case SETTING_BOOL:
        return json_boolean(v);
    case SETTING_FRACTION:
        return json_weight(v);
    case SETTING_INT:
        break;
    }
    return json_integer(v);
}

static json_t *shop_json(const struct shop *s, enum shop_role role)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:{s:I, s:s}, s:o, s:o}", "id", (json_int_t)s->id, "name",
                  s->name, "slug", s->slug, "story", s->story, "owner", "id",
                  (json_int_t)s->owner_id, "display_name", s->owner_name, "trial_ends_at",
                  json_time(s->trial_ends_at_ms), "created_at", json_time(s->created_at_ms));
    /* what a promoter earns and may withdraw is public: the income disclosure */
    for (int i = 0; o && i < SHOP_SETTINGS_N; i++) {
        const struct shop_setting *t = &shop_setting_table[i];
        if (t->public || role != SHOP_ROLE_NONE)
            json_object_set_new(o, t->json, setting_json(t, shop_setting_get(&s->settings, i)));
    }
    if (o && role != SHOP_ROLE_NONE) {
        json_object_set_new(o, "role", json_string(shop_role_name(role)));
        json_object_set_new(o, "updated_at", json_time(s->updated_at_ms));
    }
    return o;
}

enum err api_shop_create(struct req *r)
{
    const char *name = NULL, *slug = NULL, *story = "";
    size_t name_len = 0, slug_len = 0, story_len = 0;
    struct shop s;
    enum err e = req_read(r, REQ_STRING("name", true, &name, &name_len),
                          REQ_STRING("slug", true, &slug, &slug_len),
                          REQ_STRING("story", false, &story, &story_len));
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

/* One setting of a PATCH body, read by its kind and bounded by the table. */
static enum err read_setting(struct req *r, int id, struct shop_patch *p)
{
    const struct shop_setting *t = &shop_setting_table[id];
    int64_t *v = shop_setting_at(&p->settings, id);
    bool b = false;
    enum err e;
    switch (t->kind) {
    case SETTING_BOOL:
        e = req_bool(r, t->json, false, &b, &p->set[id]);
        *v = b;
        return e;
    case SETTING_FRACTION:
        return req_fraction_milli(r, t->json, false, true, v, &p->set[id]);
    case SETTING_INT:
        break;
    }
    return req_int(r, t->json, false, t->min, t->max, v, &p->set[id]);
}

enum err api_shop_patch(struct req *r)
{
    const char *fields[3 + SHOP_SETTINGS_N + 1] = {"name", "slug", "story"};
    for (int i = 0; i < SHOP_SETTINGS_N; i++)
        fields[3 + i] = shop_setting_table[i].json;
    int64_t id = req_param_id(r, 0);
    struct shop_patch p;
    struct shop s;
    enum shop_role role = r->party.role; /* owner or staff: the route's access */
    memset(&p, 0, sizeof p);
    enum err e = req_body(r, fields);
    if (!e)
        e = req_str(r, "name", false, &p.name, &p.name_len);
    if (!e)
        e = req_str(r, "slug", false, &p.slug, &p.slug_len);
    if (!e)
        e = req_str(r, "story", false, &p.story, &p.story_len);
    for (int i = 0; !e && i < SHOP_SETTINGS_N; i++) {
        e = read_setting(r, i, &p);
        /* the money terms promoters are told are the owner's to change */
        if (!e && p.set[i] && shop_setting_table[i].owner_only && role != SHOP_ROLE_OWNER)
            e = req_fail(r, ERR_FORBIDDEN, shop_setting_table[i].json,
                         "only the shop's owner may change %s", shop_setting_table[i].json);
    }
    if (!e)
        e = shop_update(r->db, id, &p, &r->ei);
    if (!e)
        e = shop_get(r->db, id, &r->arena, &s);
    if (e)
        return e;
    return req_reply(r, 200, shop_json(&s, role));
}

static json_t *staff_json(const void *item)
{
    const struct shop_staff *m = item;
    return api_person_json(m->user_id, m->display_name, "role", shop_role_name(m->role), "since",
                           m->since_ms);
}

enum err api_shop_staff_list(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    struct shop_staff *list = NULL;
    size_t n = 0;
    enum err e = shop_staff_list(r->db, id, &r->arena, &list, &n);
    return e ? e : api_reply_list(r, list, n, sizeof *list, staff_json);
}

enum err api_shop_staff_add(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    int64_t user_id = 0;
    enum err e = req_read(r, REQ_INTEGER("user_id", true, 1, INT64_MAX, &user_id));
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
    enum err e = shop_staff_remove(r->db, id, req_param_id(r, 1));
    return api_reply_removed(r, e, "removed", "user_id", "this member is not staff of the shop");
}
