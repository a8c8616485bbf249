/*
 * circles.c - a shop's circles: open, read, change, invite codes, join and
 * leave, members and their roles. A circle is visible to its members and to
 * whoever runs its shop; to anyone else it does not exist (404). The invite
 * code is shown to whoever runs the shop and to the circle's owner and admins.
 */
#include <ctype.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/circle.h"
#include "domain/contact.h"

static json_t *circle_json(const struct circle *c, enum shop_role shop_role, enum circle_role role)
{
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:s}", "id", (json_int_t)c->id,
                  "shop_id", (json_int_t)c->shop_id, "name", c->name, "kind",
                  circle_kind_name(c->kind), "capacity", (json_int_t)c->capacity, "member_count",
                  (json_int_t)c->member_count, "tags", api_tags_json(c->tags, c->n_tags),
                  "created_at", json_time(c->created_at_ms), "my_role", circle_role_name(role));
    if (o &&
        (shop_role != SHOP_ROLE_NONE || role == CIRCLE_ROLE_OWNER || role == CIRCLE_ROLE_ADMIN))
        json_object_set_new(o, "invite_code", json_string(c->invite_code));
    return o;
}

/* The circle the route names (who may see it is the route's access, already checked). */
static enum err load_circle(struct req *r, int64_t id, struct circle *c)
{
    enum err e = circle_get(r->db, id, &r->arena, c);
    return e == ERR_NOT_FOUND ? req_fail(r, e, NULL, "no such circle") : e;
}

static enum err read_input(struct req *r, struct circle_input *in)
{
    static const char *const fields[] = {"name", "kind", "capacity", "tags", NULL};
    const char *kind = NULL;
    size_t kind_len = 0;
    memset(in, 0, sizeof *in);
    enum err e = req_body(r, fields);
    if (!e)
        e = req_str(r, "name", false, &in->name, &in->name_len);
    if (!e)
        e = req_str(r, "kind", false, &kind, &kind_len);
    if (!e && kind && !(in->has_kind = circle_kind_parse(kind, &in->kind)))
        e = req_fail(r, ERR_INVALID, "kind",
                     "kind must be parents, neighbourhood, fitness, interest or other");
    if (!e)
        e = req_int(r, "capacity", false, INT64_MIN, INT64_MAX, &in->capacity, &in->has_capacity);
    if (!e)
        e = api_tags(r, "tags", 1000, &in->tags, &in->n_tags, &in->has_tags);
    return e;
}

enum err api_circle_create(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0), id = 0;
    enum shop_role shop_role = r->party.role;
    struct circle_input in;
    struct circle c;
    enum err e = read_input(r, &in);
    if (!e)
        e = circle_create(r->db, shop_id, r->user.user_id, &in, &r->arena, &id, &r->ei);
    if (!e)
        e = circle_get(r->db, id, &r->arena, &c);
    if (e)
        return e;
    return req_reply(r, 201, circle_json(&c, shop_role, CIRCLE_ROLE_OWNER));
}

enum err api_circle_list(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0);
    enum shop_role shop_role = r->party.role;
    struct circle *list = NULL;
    size_t n = 0;
    enum err e = circle_list_shop(r->db, shop_id, &r->arena, &list, &n);
    if (e)
        return e;
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        enum circle_role role;
        if ((e = circle_role_of(r->db, list[i].id, r->user.user_id, &role)))
            return e;
        json_array_append_new(items, circle_json(&list[i], shop_role, role));
    }
    return req_reply(r, 200, json_pack("{s:o}", "items", items));
}

enum err api_circle_get(struct req *r)
{
    struct circle c;
    enum err e = load_circle(r, req_param_id(r, 0), &c);
    if (e)
        return e;
    return req_reply(r, 200, circle_json(&c, r->party.role, r->party.circle));
}

enum err api_circle_patch(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    struct circle c;
    struct circle_input in;
    enum err e = read_input(r, &in);
    if (!e)
        e = circle_update(r->db, id, &in, &r->arena, &r->ei);
    if (!e)
        e = load_circle(r, id, &c);
    if (e)
        return e;
    return req_reply(r, 200, circle_json(&c, r->party.role, r->party.circle));
}

enum err api_circle_rotate_code(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    char code[CIRCLE_CODE_LEN + 1];
    enum err e = circle_rotate_code(r->db, id, code);
    if (e)
        return e;
    return req_reply(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "invite_code", code));
}

enum err api_circle_join(struct req *r)
{
    const char *code = NULL;
    size_t len = 0;
    int64_t id = 0;
    struct circle c;
    enum err e = req_read(r, REQ_STRING("invite_code", true, &code, &len));
    if (e)
        return e;
    char norm[CIRCLE_CODE_LEN + 1];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (code[i] == ' ' || code[i] == '-')
            continue;
        if (k == CIRCLE_CODE_LEN || !isalnum((unsigned char)code[i]))
            return req_fail(r, ERR_NOT_FOUND, "invite_code", "no circle has this invite code");
        norm[k++] = (char)toupper((unsigned char)code[i]);
    }
    norm[k] = '\0';
    if ((e = circle_join(r->db, r->user.user_id, norm, &id, &r->ei)))
        return e;
    if ((e = circle_get(r->db, id, &r->arena, &c)))
        return e;
    return req_reply(r, 201, circle_json(&c, SHOP_ROLE_NONE, CIRCLE_ROLE_MEMBER));
}

enum err api_circle_leave(struct req *r)
{
    enum err e = circle_leave(r->db, req_param_id(r, 0), r->user.user_id, &r->ei);
    return api_reply_removed(r, e, "left", NULL, "no such circle");
}

static json_t *member_json(const void *item)
{
    const struct circle_member *m = item;
    return api_person_json(m->user_id, m->display_name, "role", circle_role_name(m->role),
                           "joined_at", m->joined_at_ms);
}

enum err api_circle_members(struct req *r)
{
    int64_t id = req_param_id(r, 0), limit = 0, after = 0;
    struct circle_member *list = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &after);
    if (!e)
        e = circle_members(r->db, id, after, limit, &r->arena, &list, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, list, n, sizeof *list, member_json, more,
                           n ? list[n - 1].user_id : 0);
}

enum err api_circle_member_patch(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    enum circle_role to;
    const char *name = NULL;
    size_t len = 0;
    enum err e = req_read(r, REQ_STRING("role", true, &name, &len));
    if (!e && !circle_role_parse(name, &to))
        e = req_fail(r, ERR_INVALID, "role", "role must be admin or member");
    if (!e)
        e = circle_set_role(r->db, id, req_param_id(r, 1), to, &r->ei);
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:s}", "user_id", (json_int_t)req_param_id(r, 1), "role",
                               circle_role_name(to)));
}

enum err api_circle_member_remove(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    enum err e = circle_leave(r->db, id, req_param_id(r, 1), &r->ei);
    return api_reply_removed(r, e, "removed", "user_id", "not a member of this circle");
}

enum err api_me_circles(struct req *r)
{
    struct circle *list = NULL;
    enum circle_role *roles = NULL;
    size_t n = 0;
    enum err e = circle_list_member(r->db, r->user.user_id, &r->arena, &list, &roles, &n);
    if (e)
        return e;
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, circle_json(&list[i], SHOP_ROLE_NONE, roles[i]));
    return req_reply(r, 200, json_pack("{s:o}", "items", items));
}

/* --- contacts --- */

enum err api_contact_request(struct req *r)
{
    int64_t other = 0;
    enum contact_state state;
    enum err e = req_read(r, REQ_INTEGER("user_id", true, 1, INT64_MAX, &other));
    if (!e)
        e = contact_request(r->db, r->user.user_id, other, &state, &r->ei);
    if (e)
        return e;
    return req_reply(
        r, 201,
        json_pack("{s:I, s:s}", "user_id", (json_int_t)other, "state", contact_state_name(state)));
}

enum err api_contact_accept(struct req *r)
{
    int64_t other = req_param_id(r, 0);
    enum err e = contact_accept(r->db, r->user.user_id, other, &r->ei);
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:s}", "user_id", (json_int_t)other, "state", "accepted"));
}

enum err api_contact_remove(struct req *r)
{
    enum err e = contact_remove(r->db, r->user.user_id, req_param_id(r, 0));
    return api_reply_removed(r, e, "removed", "user_id", "no contact or request with this member");
}

static json_t *contact_json(const void *item)
{
    const struct contact *c = item;
    return api_person_json(c->user_id, c->display_name, "state", contact_state_name(c->state),
                           "since", c->since_ms);
}

enum err api_contact_list(struct req *r)
{
    struct contact *list = NULL;
    size_t n = 0;
    int64_t limit = 0, after = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &after);
    if (!e)
        e = contact_list(r->db, r->user.user_id, after, limit, &r->arena, &list, &n, &more);
    if (e)
        return e;
    return api_reply_items(r, list, n, sizeof *list, contact_json, more,
                           n ? list[n - 1].user_id : 0);
}
