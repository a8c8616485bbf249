/*
 * bindings.c - share links opened, and a buyer's binding to the promoter
 * who referred them (RULE: BINDING).
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/catalog.h"
#include "domain/promoter.h"
#include "domain/share.h"

/* A share's landing: who recommended what, that they used it, and why this visitor sees it.
 * Reading it changes nothing; an order with the token is what attributes and binds. */
static enum err share_landing(struct req *r, const char *token)
{
    struct share s;
    struct product p;
    struct shop shop;
    const char *matched = "";
    enum err e = share_by_token(r->db, token, &r->arena, &s);
    if (!e)
        e = catalog_get(r->db, s.product_id, &r->arena, &p);
    if (!e)
        e = shop_get(r->db, s.shop_id, &r->arena, &shop);
    if (!e && r->authed)
        e = share_matched_for(r->db, s.id, r->user.user_id, &r->arena, &matched);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such link");
    if (e)
        return e;
    return req_reply(
        r, 200,
        json_pack("{s:{s:I, s:s, s:s, s:s}, s:{s:I, s:i, s:s, s:o}, s:{s:I, s:s, s:I, s:s},"
                  " s:{s:I, s:s, s:s, s:o}, s:o, s:s}",
                  "shop", "id", (json_int_t)shop.id, "name", shop.name, "slug", shop.slug, "story",
                  shop.story, "share", "id", (json_int_t)s.id, "hop", s.hop, "note", s.note,
                  "created_at", json_time(s.created_at_ms), "product", "id", (json_int_t)p.id,
                  "title", p.title, "price_fen", (json_int_t)p.price_fen, "status",
                  product_status_name(p.status), "sharer", "id", (json_int_t)s.sharer_id,
                  "display_name", s.sharer_name, "experience", share_experience_name(s.experience),
                  "experienced_at", api_opt_time(s.experienced_at_ms), "matched_interests",
                  api_lines_json(matched), "share_token", token));
}

enum err api_share_open(struct req *r)
{
    const char *token = req_param_str(r, 0);
    struct landing l;
    struct shop s;
    if (strlen(token) > 64)
        return req_fail(r, ERR_NOT_FOUND, NULL, "no such link");
    enum err e = promoter_open_link(r->db, token, r->user.user_id, &r->arena, &l);
    if (e == ERR_NOT_FOUND)
        return share_landing(r, token);
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

enum err api_share_visit(struct req *r)
{
    const char *token = req_param_str(r, 0);
    struct landing l;
    enum err e = strlen(token) > 64
                     ? ERR_NOT_FOUND
                     : promoter_visit_link(r->db, token, r->user.user_id, &r->arena, &l);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such link");
    if (e)
        return e;
    return req_reply(r, 200,
                     json_pack("{s:I, s:o, s:b}", "shop_id", (json_int_t)l.shop_id, "promoter",
                               l.promoter_id
                                   ? json_pack("{s:I, s:s}", "id", (json_int_t)l.promoter_id,
                                               "display_name", l.promoter_name)
                                   : json_null(),
                               "bound", l.bound));
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
