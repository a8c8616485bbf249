/*
 * products.c - the catalogue: create, read, list, change products, their
 * images, and the tag vocabulary. Buyers see products on sale; owner and
 * staff see every status. A product of a shop the caller does not run is
 * 404 to every owner call, and a product not on sale is 404 to buyers.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/experience.h"
#include "domain/catalog.h"
#include "domain/memo.h"
#include "util/log.h"

static json_t *product_json(const struct product *p, const struct shop *s, enum shop_role role)
{
    json_t *images = json_array();
    for (size_t i = 0; images && i < p->n_images; i++)
        json_array_append_new(
            images, json_pack("{s:I, s:s+, s:s, s:I}", "id", (json_int_t)p->images[i].id, "url",
                              "/images/", p->images[i].file, "content_type",
                              p->images[i].content_type, "bytes", (json_int_t)p->images[i].bytes));
    int64_t l1 = p->has_rates ? p->l1_bps : s->settings.l1_bps;
    int64_t l2 = p->has_rates ? p->l2_bps : s->settings.l2_bps;
    json_t *o = json_pack(
        "{s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:I, s:I, s:b, s:I, s:I, s:o, s:o}", "id",
        (json_int_t)p->id, "shop_id", (json_int_t)p->shop_id, "title", p->title, "description",
        p->description, "price_fen", (json_int_t)p->price_fen, "stock", (json_int_t)p->stock,
        "status", product_status_name(p->status), "tags", api_tags_json(p->tags, p->n_tags),
        "images", images, "buyer_cap_30d",
        (json_int_t)(p->has_buyer_cap ? p->buyer_cap_30d : s->settings.buyer_cap_30d),
        "repurchase_days", (json_int_t)p->repurchase_days, "trial_available", p->trial_available,
        "l1_bps", (json_int_t)l1, "l2_bps", (json_int_t)l2, "created_at",
        json_time(p->created_at_ms), "updated_at", json_time(p->updated_at_ms));
    if (o && role != SHOP_ROLE_NONE) {
        json_object_set_new(o, "sold", json_integer(p->sold));
        json_object_set_new(o, "stock_in", json_integer(p->stock_in));
        json_object_set_new(o, "buyer_cap_30d_override",
                            p->has_buyer_cap ? json_integer(p->buyer_cap_30d) : json_null());
        json_object_set_new(o, "rates_override",
                            p->has_rates ? json_pack("{s:I, s:I}", "l1_bps", (json_int_t)p->l1_bps,
                                                     "l2_bps", (json_int_t)p->l2_bps)
                                         : json_null());
    }
    return o;
}

/* Reads the product fields of the body into `in`. */
static enum err read_input(struct req *r, struct product_input *in)
{
    static const char *const fields[] = {
        "title",         "description",     "price_fen",       "stock",  "status", "tags",
        "buyer_cap_30d", "repurchase_days", "trial_available", "l1_bps", "l2_bps", NULL};
    const char *status = NULL;
    size_t status_len = 0;
    bool l1_null = false, l2_null = false, has_l1 = false, has_l2 = false;
    memset(in, 0, sizeof *in);
    enum err e = req_body(r, fields);
    if (!e)
        e = req_str(r, "title", false, &in->title, &in->title_len);
    if (!e)
        e = req_str(r, "description", false, &in->description, &in->description_len);
    if (!e)
        e = req_int(r, "price_fen", false, INT64_MIN, INT64_MAX, &in->price_fen, &in->has_price);
    if (!e)
        e = req_int(r, "stock", false, INT64_MIN, INT64_MAX, &in->stock, &in->has_stock);
    if (!e)
        e = req_str(r, "status", false, &status, &status_len);
    if (!e && status) {
        in->has_status = true;
        if (!product_status_parse(status, &in->status))
            e = req_fail(r, ERR_INVALID, "status", "status must be draft, on_sale or off");
    }
    if (!e)
        e = api_nullable_int(r, "buyer_cap_30d", INT64_MIN, INT64_MAX, &in->buyer_cap_30d,
                             &in->buyer_cap_null, &in->has_buyer_cap);
    if (!e)
        e = req_int(r, "repurchase_days", false, INT64_MIN, INT64_MAX, &in->repurchase_days,
                    &in->has_repurchase);
    if (!e)
        e = req_bool(r, "trial_available", false, &in->trial_available, &in->has_trial);
    if (!e)
        e = api_nullable_int(r, "l1_bps", 0, 10000, &in->l1_bps, &l1_null, &has_l1);
    if (!e)
        e = api_nullable_int(r, "l2_bps", 0, 10000, &in->l2_bps, &l2_null, &has_l2);
    if (!e && (has_l1 != has_l2 || l1_null != l2_null))
        e = req_fail(r, ERR_INVALID, has_l1 ? "l2_bps" : "l1_bps",
                     "l1_bps and l2_bps override the shop's rates together (both numbers, or "
                     "both null)");
    in->has_rates = has_l1;
    in->rates_null = l1_null;
    if (!e)
        e = api_tags(r, "tags", 1000, &in->tags, &in->n_tags, &in->has_tags);
    return e;
}

enum err api_product_create(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0), id = 0;
    enum shop_role role = r->party.role; /* owner or staff: the route's access */
    struct product_input in;
    struct product p;
    struct shop s;
    enum err e = read_input(r, &in);
    if (!e)
        e = catalog_create(r->db, shop_id, &in, &r->arena, &id, &r->ei);
    if (!e)
        e = catalog_get(r->db, id, &r->arena, &p);
    if (!e)
        e = shop_get(r->db, shop_id, &r->arena, &s);
    if (e)
        return e;
    return req_reply(r, 201, product_json(&p, &s, role));
}

/* The product as the caller may see it: 404 when it is not on sale and they do not run its
 * shop (a public route: its access is the handler's). */
static enum err visible_product(struct req *r, int64_t id, struct product *p, struct shop *s,
                                enum shop_role *role)
{
    enum err e = catalog_get(r->db, id, &r->arena, p);
    if (!e)
        e = api_shop_role_of(r, p->shop_id, role);
    if (e == ERR_NOT_FOUND || (!e && *role == SHOP_ROLE_NONE && p->status != PRODUCT_ON_SALE))
        return req_fail(r, ERR_NOT_FOUND, NULL, "no such product");
    if (!e)
        e = shop_get_cached(r->db, p->shop_id, &r->arena, s);
    return e;
}

enum err api_product_get(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    struct product p;
    struct shop s;
    enum shop_role role;
    size_t len = 0;
    /* visitors all see the same page: served as rendered while the memo entry is fresh */
    const char *cached = r->authed ? NULL : memo_get(MEMO_PRODUCT, id, &len);
    if (cached) {
        r->raw_body = cached; /* copied into the response before this thread moves on */
        r->raw_len = len;
        r->status = 200;
        return ERR_OK;
    }
    enum err e = visible_product(r, id, &p, &s, &role);
    if (e)
        return e;
    json_t *body = product_json(&p, &s, role);
    if (!r->authed && body) {
        char *text = json_dumps(body, JSON_DUMP_FLAGS);
        if (text)
            memo_put(MEMO_PRODUCT, id, text, strlen(text));
    }
    return req_reply(r, 200, body);
}

enum err api_product_patch(struct req *r)
{
    int64_t id = req_param_id(r, 0);
    struct product p;
    struct shop s;
    struct product_input in;
    enum err e = read_input(r, &in); /* the product is the caller's shop's: the route's access */
    if (!e)
        e = catalog_update(r->db, id, &in, &r->arena, &r->ei);
    if (!e)
        e = catalog_get(r->db, id, &r->arena, &p);
    if (!e)
        e = shop_get_cached(r->db, p.shop_id, &r->arena, &s);
    if (e)
        return e;
    return req_reply(r, 200, product_json(&p, &s, r->party.role));
}

enum err api_product_list(struct req *r)
{
    int64_t shop_id = req_param_id(r, 0);
    struct catalog_filter f = {.shop_id = shop_id, .status = PRODUCT_ON_SALE};
    enum shop_role role;
    struct shop s;
    struct product *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = shop_get_cached(r->db, shop_id, &r->arena, &s);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such shop");
    if (!e)
        e = api_shop_role_of(r, shop_id, &role);
    if (!e)
        e = api_page(r, &f.limit, &f.before_id);
    if (e)
        return e;
    /* ?status: a product status, or "any" (the query's own word, not a status) */
    const char *status = req_query(r, "status");
    bool any = status && !strcmp(status, "any");
    if (status && !any && !product_status_parse(status, &f.status))
        return req_fail(r, ERR_INVALID, "status", "status must be draft, on_sale, off or any");
    if (status && role == SHOP_ROLE_NONE && (any || f.status != PRODUCT_ON_SALE))
        return req_fail(r, ERR_INVALID, "status", "only products on sale are listed publicly");
    if (role != SHOP_ROLE_NONE)
        f.any_status = !status || any;
    const char *tag = req_query(r, "tag");
    if (tag && (e = tag_normalize(&r->arena, tag, strlen(tag), "tag", &f.tag, &r->ei)))
        return e;
    if ((e = catalog_list(r->db, &f, &r->arena, &items, &n, &more)))
        return e;
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, product_json(&items[i], &s, role));
    return api_reply_page(r, list, more, n ? items[n - 1].id : 0);
}

/* --- images --- */

struct image_kind {
    const char *ext;
    const char *type;
};

static const struct image_kind *sniff(const unsigned char *b, size_t n)
{
    static const struct image_kind png = {"png", "image/png"}, jpg = {"jpg", "image/jpeg"},
                                   webp = {"webp", "image/webp"};
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return &png;
    if (n >= 3 && memcmp(b, "\xFF\xD8\xFF", 3) == 0)
        return &jpg;
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return &webp;
    return NULL;
}

enum err api_product_image_add(struct req *r)
{
    int64_t id = req_param_id(r, 0), image_id = 0; /* the caller's shop's: the route's access */
    enum err e;
    const struct image_kind *k = sniff((const unsigned char *)r->body, r->body_len);
    if (!r->body_len)
        return req_fail(r, ERR_BAD_REQUEST, "image", "send the image file as the request body");
    if (!k)
        return req_fail(r, ERR_UNSUPPORTED_MEDIA, "image",
                        "the image must be a PNG, JPEG or WebP file");
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof digest + 1];
    crypto_hash_sha256(digest, (const unsigned char *)r->body, r->body_len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    char *file = arena_printf(&r->arena, "%s.%s", hex, k->ext);
    char *path = arena_printf(&r->arena, "%s/images/%s", api_settings.data_dir, file);
    char *tmp = arena_printf(&r->arena, "%s/images/.%s.%s.tmp", api_settings.data_dir, hex, r->rid);
    if (!file || !path || !tmp)
        return ERR_TOO_LARGE;
    struct stat st;
    if (stat(path, &st) != 0) { /* content-addressed: the same bytes are stored once */
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
        bool ok =
            fd >= 0 && write(fd, r->body, r->body_len) == (ssize_t)r->body_len && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok || rename(tmp, path) != 0) {
            LOG(LOG_ERROR, "image_write_failed", "errno=%d", errno);
            unlink(tmp);
            return ERR_INTERNAL;
        }
    }
    e = catalog_image_add(r->db, id, file, k->type, (int64_t)r->body_len, &image_id, &r->ei);
    if (e)
        return e;
    return req_reply(r, 201,
                     json_pack("{s:I, s:s+, s:s, s:I}", "id", (json_int_t)image_id, "url",
                               "/images/", file, "content_type", k->type, "bytes",
                               (json_int_t)r->body_len));
}

enum err api_product_image_remove(struct req *r)
{
    /* the product is the caller's shop's (the route's access): only the image may be missing */
    enum err e = catalog_image_remove(r->db, req_param_id(r, 0), req_param_id(r, 1));
    return api_reply_removed(r, e, "removed", "image_id", "the product has no such image");
}

enum err api_image_get(struct req *r)
{
    const char *name = req_param_str(r, 0);
    size_t n = strlen(name);
    const char *dot = strchr(name, '.');
    bool ok = dot && dot - name == 64;
    for (const char *c = name; ok && c < dot; c++)
        ok = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f');
    const char *type = NULL;
    if (ok && !strcmp(dot, ".png"))
        type = "image/png";
    else if (ok && !strcmp(dot, ".jpg"))
        type = "image/jpeg";
    else if (ok && !strcmp(dot, ".webp"))
        type = "image/webp";
    if (!type || n > 70)
        return req_fail(r, ERR_NOT_FOUND, NULL, "no such image");
    char *etag = arena_printf(&r->arena, "\"%.64s\"", name);
    const char *inm = req_header(r, "If-None-Match");
    r->cache_control = "public, max-age=31536000, immutable";
    r->etag = etag;
    if (inm && etag && strcmp(inm, etag) == 0) {
        r->status = 304;
        r->raw_body = "";
        r->raw_len = 0;
        return ERR_OK;
    }
    char *path = arena_printf(&r->arena, "%s/images/%s", api_settings.data_dir, name);
    return api_reply_file(r, path, type, "no such image");
}

enum err api_tags_vocab(struct req *r)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < tags_vocab_len(); i++)
        json_array_append_new(
            items, json_pack("{s:s, s:s}", "name", tags_vocab(i)->name, "en", tags_vocab(i)->en));
    return req_reply(r, 200, json_pack("{s:o}", "items", items));
}

/* Buyers' feedback on a product, public as the product is (domain/experience.h). */
enum err api_product_feedback(struct req *r)
{
    int64_t limit = 0, before = 0;
    struct feedback *items = NULL;
    size_t n = 0;
    bool more = false;
    struct product p;
    struct shop s;
    enum shop_role role;
    /* a product the caller cannot see has no feedback to show either */
    enum err e = visible_product(r, req_param_id(r, 0), &p, &s, &role);
    if (!e)
        e = api_page(r, &limit, &before);
    if (!e)
        e = feedback_list_product(r->db, req_param_id(r, 0), before, limit, &r->arena, &items, &n,
                                  &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, api_feedback_json, more,
                           n ? items[n - 1].id : 0);
}
