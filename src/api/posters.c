/*
 * posters.c - a share's poster and a promoter's link poster (推广海报): PNG files
 * drawn by src/render/poster.c, kept under <data_dir>/posters by the hash of
 * everything they show (a new price or name is a new file; the same request
 * again is a file read), answered with that hash as their ETag.
 */
#include <ctype.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/catalog.h"
#include "domain/promoter.h"
#include "domain/share.h"
#include "domain/shop.h"
#include "render/poster.h"

/* The absolute address a link on paper needs: public_url when it is set, else what the
 * caller used to reach this server (a Host that is not a plain host[:port] is not used). */
static const char *absolute_link(struct req *r, const char *path)
{
    if (api_settings.public_url && *api_settings.public_url)
        return arena_printf(&r->arena, "%s%s", api_settings.public_url, path);
    const char *host = req_header(r, "Host");
    bool ok = host && *host && strlen(host) < 256;
    for (const char *c = host; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || strchr(".-:[]", *c);
    return arena_printf(&r->arena, "http://%s%s", ok ? host : "127.0.0.1", path);
}

/* Answers the poster of `p`, drawing it first unless a file of the same content is kept. */
static enum err answer_poster(struct req *r, const struct poster *p)
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    const char *parts[] = {p->shop_name, p->title,  p->image_path ? p->image_path : "",
                           p->headline,  p->note,   p->link,
                           p->caption,   "poster-2"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        crypto_hash_sha256_update(&st, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)&p->price_fen, sizeof p->price_fen);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    char hex[2 * 16 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, 16);

    r->etag = arena_printf(&r->arena, "\"%s\"", hex);
    r->cache_control = "private, no-cache";
    const char *inm = req_header(r, "If-None-Match");
    if (inm && r->etag && strcmp(inm, r->etag) == 0) {
        r->status = 304;
        r->raw_body = "";
        r->raw_len = 0;
        return ERR_OK;
    }
    char *path = arena_printf(&r->arena, "%s/posters/%s.png", api_settings.data_dir, hex);
    if (!path)
        return ERR_TOO_LARGE;
    if (access(path, R_OK) != 0) {
        enum err e = poster_render(p, path, &r->ei);
        if (e)
            return e;
    }
    return api_reply_file(r, path, "image/png", "no such poster");
}

static const char *image_of(struct req *r, const struct product *p)
{
    if (!p || !p->n_images)
        return NULL;
    return arena_printf(&r->arena, "%s/images/%s", api_settings.data_dir, p->images[0].file);
}

enum err api_share_poster(struct req *r)
{
    struct share s;
    struct product p;
    struct shop shop;
    enum err e = share_get(r->db, req_param_id(r, 0), &r->arena, &s);
    if (!e)
        e = catalog_get(r->db, s.product_id, &r->arena, &p);
    if (!e)
        e = shop_get(r->db, s.shop_id, &r->arena, &shop);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such share");
    if (e)
        return e;
    const char *headline =
        s.experience == EXPERIENCE_SHOP
            ? arena_printf(&r->arena, "店主 %s 推荐", s.sharer_name)
            : arena_printf(&r->arena, "%s %s，推荐给你", s.sharer_name,
                           s.experience == EXPERIENCE_TRIAL ? "亲自试用过" : "亲自买过、用过");
    struct poster po = {
        .shop_name = shop.name,
        .title = p.title,
        .price_fen = p.price_fen,
        .image_path = image_of(r, &p),
        .headline = headline ? headline : "",
        .note = s.note ? s.note : "",
        .link = absolute_link(r, arena_printf(&r->arena, "/s/%s", s.token)),
        .caption = "长按识别二维码",
    };
    if (!po.link)
        return ERR_TOO_LARGE;
    return answer_poster(r, &po);
}

enum err api_promoter_poster(struct req *r)
{
    int64_t shop_id = 0;
    struct promoter pr;
    struct shop shop;
    enum err e = api_my_promoter(r, &shop_id, &pr);
    if (!e)
        e = shop_get(r->db, shop_id, &r->arena, &shop);
    if (e)
        return e;
    if (pr.status != PROMOTER_ACTIVE)
        return req_fail(r, ERR_NOT_FOUND, "shop_id", "you are not an active promoter of this shop");
    /* the picture of the shop's newest product on sale, when it has one */
    struct catalog_filter f = {.shop_id = shop_id, .status = PRODUCT_ON_SALE, .limit = 1};
    struct product *items = NULL;
    size_t n = 0;
    bool more = false;
    if ((e = catalog_list(r->db, &f, &r->arena, &items, &n, &more)))
        return e;
    const char *headline = arena_printf(&r->arena, "%s 邀请你来看看", pr.display_name);
    struct poster po = {
        .shop_name = shop.name,
        .title = shop.name,
        .price_fen = -1,
        .image_path = image_of(r, n ? &items[0] : NULL),
        .headline = headline ? headline : "",
        .note = shop.story ? shop.story : "",
        .link = absolute_link(r, arena_printf(&r->arena, "/s/%s", pr.ref_token)),
        .caption = "长按识别二维码",
    };
    if (!po.link)
        return ERR_TOO_LARGE;
    return answer_poster(r, &po);
}
