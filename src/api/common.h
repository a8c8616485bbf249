/*
 * common.h - helpers the resource files share: the caller's role in a shop
 * (for public routes; the others' access is checked before they run), tag
 * objects, paging, nullable numbers, ids and times, the caller's promoter
 * record and balance.
 */
#ifndef QUANZI_API_COMMON_H
#define QUANZI_API_COMMON_H

#include "domain/promoter.h"
#include "domain/shop.h"
#include "domain/tags.h"
#include "http/req.h"

/* The caller's role, NONE for anonymous callers; never fails with 404. */
MUST_CHECK enum err api_shop_role_of(struct req *r, int64_t shop_id, enum shop_role *role);

/* Field `field` of the body as {"name": weight, ...}; *present tells if it was given. */
MUST_CHECK enum err api_tags(struct req *r, const char *field, size_t max, struct tag **out,
                             size_t *n, bool *present);
json_t *api_tags_json(const struct tag *tags, size_t n);

/* ?limit= (1..100, default 20) and ?cursor= (opaque; 0 when absent). */
MUST_CHECK enum err api_page(struct req *r, int64_t *limit, int64_t *before_id);
/* The cursor that continues after `last_id`, or JSON null when there is no more. */
json_t *api_next_cursor(struct req *r, bool more, int64_t last_id);
/* Replies 200 {"items": items, "next_cursor": ...}: a page of a list, its last id last_id. */
enum err api_reply_page(struct req *r, json_t *items, bool more, int64_t last_id);
/* The answer of a removal: 200 {"<done>": true}, or when there was nothing to remove
 * (ERR_NOT_FOUND) 404 naming `field` with `missing`; any other error as it is. */
enum err api_reply_removed(struct req *r, enum err e, const char *done, const char *field,
                           const char *missing);

/* A person in a list (a circle's member, a contact, a shop's staff): who, what they are
 * there (`what_key`: `what`), and since when (`since_key`). */
json_t *api_person_json(int64_t user_id, const char *name, const char *what_key, const char *what,
                        const char *since_key, int64_t since_ms);

/* How one item of a list is written as JSON. */
typedef json_t *(*api_render_fn)(const void *item);
/* The JSON array of n items of `size` bytes each, every one rendered by `render`. */
json_t *api_array(const void *items, size_t n, size_t size, api_render_fn render);
/* Replies 200 {"items": [...]}: a whole (bounded) list. */
enum err api_reply_list(struct req *r, const void *items, size_t n, size_t size,
                        api_render_fn render);
/* A page of such items (api_reply_page()). */
enum err api_reply_items(struct req *r, const void *items, size_t n, size_t size,
                         api_render_fn render, bool more, int64_t last_id);

/* ?NAME= as a positive id; ERR_MISSING_FIELD / ERR_INVALID name it. */
MUST_CHECK enum err api_query_id(struct req *r, const char *name, int64_t *id);

/* An integer field that may also be null (*is_null); see req_int(). */
MUST_CHECK enum err api_nullable_int(struct req *r, const char *field, int64_t min, int64_t max,
                                     int64_t *v, bool *is_null, bool *present);

/* The lines of `text` (NULL: none) as a JSON array of strings: the matched interests. */
json_t *api_lines_json(const char *text);

/* A buyer's feedback (struct feedback, domain/experience.h) as JSON. */
json_t *api_feedback_json(const void *item);

/* Answers the file at `path` as `type` (the server sends it from its descriptor);
 * ERR_NOT_FOUND when it cannot be opened, with `missing` as the message. */
MUST_CHECK enum err api_reply_file(struct req *r, const char *path, const char *type,
                                   const char *missing);

/* An id or a time that may be absent (0): JSON null then. */
json_t *api_opt_id(int64_t id);
json_t *api_opt_time(int64_t ms);

/* The caller's promoter record in ?shop_id=; ERR_NOT_FOUND (named) when they are none. */
MUST_CHECK enum err api_my_promoter(struct req *r, int64_t *shop_id, struct promoter *p);
/* A promoter's money in a shop: from the ledger, and what was paid out. */
struct api_balance {
    int64_t pending, available, withdrawing, withdrawn;
};
MUST_CHECK enum err api_balance(struct req *r, int64_t shop_id, int64_t promoter_id,
                                struct api_balance *b);
json_t *api_balance_json(const struct api_balance *b);

#endif
