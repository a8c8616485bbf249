#include "api/common.h"

#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/experience.h"
#include "domain/ledger.h"
#include "domain/withdrawal.h"
#include "util/limits.h"
#include "util/text.h"

enum err api_shop_role_of(struct req *r, int64_t shop_id, enum shop_role *role)
{
    *role = SHOP_ROLE_NONE;
    if (!r->authed)
        return ERR_OK;
    return shop_role_of(r->db, shop_id, r->user.user_id, role);
}

enum err api_tags(struct req *r, const char *field, size_t max, struct tag **out, size_t *n,
                  bool *present)
{
    json_t *obj = r->json ? json_object_get(r->json, field) : NULL;
    *present = obj != NULL;
    *out = NULL;
    *n = 0;
    if (!obj)
        return ERR_OK;
    if (!json_is_object(obj))
        return req_fail(r, ERR_WRONG_TYPE, field,
                        "%s must be an object of tag name to weight, like {\"护肤\": 0.9}", field);
    size_t count = json_object_size(obj);
    if (count > max)
        return req_fail(r, ERR_OUT_OF_RANGE, field, "at most %zu tags", max);
    struct tag *tags = arena_alloc(&r->arena, (count ? count : 1) * sizeof *tags);
    if (!tags)
        return ERR_TOO_LARGE;
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!json_is_number(v))
            return req_fail(r, ERR_WRONG_TYPE, field, "the weight of tag \"%s\" must be a number",
                            key);
        double d = json_number_value(v);
        if (!(d > 0.0 && d <= 1.0))
            return req_fail(r, ERR_OUT_OF_RANGE, field,
                            "the weight of tag \"%s\" must be above 0 and at most 1", key);
        int64_t milli = (int64_t)(d * 1000.0 + 0.5);
        tags[i].name = key;
        tags[i].weight_milli = milli < 1 ? 1 : milli;
        i++;
    }
    *out = tags;
    *n = count;
    return ERR_OK;
}

json_t *api_tags_json(const struct tag *tags, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, tags[i].name, json_weight(tags[i].weight_milli));
    return o;
}

enum err api_page(struct req *r, int64_t *limit, int64_t *before_id)
{
    const char *l = req_query(r, "limit");
    const char *c = req_query(r, "cursor");
    *limit = 20;
    *before_id = 0;
    if (l && !text_parse_int64(l, 1, LIMIT_PAGE_SIZE, limit))
        return req_fail(r, ERR_OUT_OF_RANGE, "limit", "limit must be from 1 to %d",
                        LIMIT_PAGE_SIZE);
    if (c && *c) {
        unsigned char raw[32];
        size_t len = 0;
        if (sodium_base642bin(raw, sizeof raw - 1, c, strlen(c), NULL, &len, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
            len < 3 || raw[0] != 'c' || raw[1] != ':' ||
            !text_parse_id((const char *)raw + 2, len - 2, before_id))
            return req_fail(r, ERR_INVALID, "cursor", "cursor is not one this server gave out");
    }
    return ERR_OK;
}

json_t *api_next_cursor(struct req *r, bool more, int64_t last_id)
{
    if (!more)
        return json_null();
    char raw[32];
    int n = snprintf(raw, sizeof raw, "c:%lld", (long long)last_id);
    char *out = arena_alloc(
        &r->arena, sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING));
    if (!out)
        return NULL;
    sodium_bin2base64(
        out, sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
        (const unsigned char *)raw, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return json_string(out);
}

enum err api_reply_removed(struct req *r, enum err e, const char *done, const char *field,
                           const char *missing)
{
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, field, "%s", missing);
    return e ? e : req_reply(r, 200, json_pack("{s:b}", done, 1));
}

json_t *api_person_json(int64_t user_id, const char *name, const char *what_key, const char *what,
                        const char *since_key, int64_t since_ms)
{
    return json_pack("{s:I, s:s, s:s, s:o}", "user_id", (json_int_t)user_id, "display_name", name,
                     what_key, what, since_key, json_time(since_ms));
}

json_t *api_array(const void *items, size_t n, size_t size, api_render_fn render)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, render((const char *)items + i * size));
    return arr;
}

enum err api_reply_list(struct req *r, const void *items, size_t n, size_t size,
                        api_render_fn render)
{
    return req_reply(r, 200, json_pack("{s:o}", "items", api_array(items, n, size, render)));
}

enum err api_reply_items(struct req *r, const void *items, size_t n, size_t size,
                         api_render_fn render, bool more, int64_t last_id)
{
    return api_reply_page(r, api_array(items, n, size, render), more, last_id);
}

enum err api_reply_page(struct req *r, json_t *items, bool more, int64_t last_id)
{
    return req_reply(
        r, 200,
        json_pack("{s:o, s:o}", "items", items, "next_cursor", api_next_cursor(r, more, last_id)));
}

enum err api_nullable_int(struct req *r, const char *field, int64_t min, int64_t max, int64_t *v,
                          bool *is_null, bool *present)
{
    json_t *j = r->json ? json_object_get(r->json, field) : NULL;
    *is_null = j && json_is_null(j);
    if (*is_null) {
        *present = true;
        return ERR_OK;
    }
    return req_int(r, field, false, min, max, v, present);
}

enum err api_query_id(struct req *r, const char *name, int64_t *id)
{
    const char *v = req_query(r, name);
    if (!v || !*v)
        return req_fail(r, ERR_MISSING_FIELD, name, "?%s= is required", name);
    if (!text_parse_id(v, strlen(v), id))
        return req_fail(r, ERR_INVALID, name, "%s must be a positive integer id", name);
    return ERR_OK;
}

json_t *api_opt_id(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

json_t *api_opt_time(int64_t ms)
{
    return ms ? json_time(ms) : json_null();
}

enum err api_my_promoter(struct req *r, int64_t *shop_id, struct promoter *p)
{
    enum err e = api_query_id(r, "shop_id", shop_id);
    if (!e)
        e = promoter_of_user(r->db, *shop_id, r->user.user_id, &r->arena, p);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, "shop_id", "you are not a promoter of this shop");
    return e;
}

enum err api_balance(struct req *r, int64_t shop_id, int64_t promoter_id, struct api_balance *b)
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

json_t *api_balance_json(const struct api_balance *b)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "pending_fen", (json_int_t)b->pending, "available_fen",
                     (json_int_t)b->available, "withdrawing_fen", (json_int_t)b->withdrawing,
                     "withdrawn_fen", (json_int_t)b->withdrawn);
}

json_t *api_lines_json(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, len));
        p = end ? end + 1 : NULL;
    }
    return a;
}

json_t *api_feedback_json(const void *item)
{
    const struct feedback *f = item;
    return json_pack("{s:I, s:I, s:{s:I, s:s}, s:i, s:s, s:o}", "id", (json_int_t)f->id, "order_id",
                     (json_int_t)f->order_id, "buyer", "id", (json_int_t)f->buyer_id,
                     "display_name", f->buyer_name, "rating", f->rating, "text", f->text,
                     "created_at", json_time(f->created_at_ms));
}

enum err api_reply_file(struct req *r, const char *path, const char *type, const char *missing)
{
    int fd = path ? open(path, O_RDONLY) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return req_fail(r, ERR_NOT_FOUND, NULL, "%s", missing);
    }
    r->has_file = true;
    r->file_fd = fd;
    r->file_size = (uint64_t)st.st_size;
    r->content_type = type;
    r->status = 200;
    return ERR_OK;
}
