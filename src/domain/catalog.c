#include "domain/catalog.h"

#include <string.h>

#include "domain/check.h"
#include "domain/memo.h"
#include "domain/shop.h"
#include "util/assert.h"
#include "util/clock.h"
#include "util/log.h"

static const char *const status_names[] = {"draft", "on_sale", "off"};

const char *product_status_name(enum product_status s)
{
    return (unsigned)s <= PRODUCT_OFF ? status_names[s] : "draft";
}

bool product_status_parse(const char *name, enum product_status *out)
{
    for (int i = 0; i <= PRODUCT_OFF; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum product_status)i;
            return true;
        }
    return false;
}

/* Checks the fields present in `in`; on create, title and price are required. */
static enum err validate(struct arena *a, struct product_input *in, bool create, struct errinfo *ei)
{
    enum err e;
    if (create && !in->title)
        return err_set(ei, ERR_MISSING_FIELD, "title", "title is required");
    if (create && !in->has_price)
        return err_set(ei, ERR_MISSING_FIELD, "price_fen", "price_fen is required");
    if (in->title && (e = check_name(in->title, in->title_len, "title", PRODUCT_TITLE_CHARS, ei)))
        return e;
    if (in->description && (e = check_text(in->description, in->description_len, "description",
                                           PRODUCT_DESCRIPTION_CHARS, ei)))
        return e;
    if (in->has_price && (in->price_fen < 1 || in->price_fen > PRODUCT_PRICE_MAX_FEN))
        return err_set(ei, ERR_OUT_OF_RANGE, "price_fen", "price_fen must be from 1 to %lld (fen)",
                       PRODUCT_PRICE_MAX_FEN);
    if (in->has_stock && (in->stock < 0 || in->stock > PRODUCT_STOCK_MAX))
        return err_set(ei, ERR_OUT_OF_RANGE, "stock", "stock must be from 0 to %lld",
                       PRODUCT_STOCK_MAX);
    if (in->has_buyer_cap && !in->buyer_cap_null &&
        (in->buyer_cap_30d < 1 || in->buyer_cap_30d > SHOP_BUYER_CAP_MAX))
        return err_set(ei, ERR_OUT_OF_RANGE, "buyer_cap_30d",
                       "buyer_cap_30d must be from 1 to %d, or null for the shop's default",
                       SHOP_BUYER_CAP_MAX);
    if (in->has_repurchase &&
        (in->repurchase_days < 0 || in->repurchase_days > PRODUCT_REPURCHASE_DAYS_MAX))
        return err_set(ei, ERR_OUT_OF_RANGE, "repurchase_days",
                       "repurchase_days must be from 0 (not a consumable) to %d",
                       PRODUCT_REPURCHASE_DAYS_MAX);
    /* RULE: RATE-CAPS */
    if (in->has_rates && !in->rates_null && (e = shop_check_rates(in->l1_bps, in->l2_bps, ei)))
        return e;
    if (in->has_tags) {
        if (in->n_tags > PRODUCT_TAGS_MAX)
            return err_set(ei, ERR_OUT_OF_RANGE, "tags", "a product has at most %d tags",
                           PRODUCT_TAGS_MAX);
        if ((e = tags_validate(a, in->tags, in->n_tags, "tags", ei)))
            return e;
    }
    return ERR_OK;
}

static enum err write_tags(struct db *db, int64_t shop_id, int64_t id, const struct tag *tags,
                           size_t n)
{
    static const char del[] = "DELETE FROM product_tags WHERE product_id = ?";
    static const char ins[] = "INSERT INTO product_tags (shop_id, product_id, tag, weight_milli)"
                              " VALUES (?, ?, ?, ?)";
    return tags_replace(db, del, ins, shop_id, id, tags, n);
}

/* An integer, or NULL when `is_null`. */
static struct db_arg nullable(bool is_null, int64_t v)
{
    return is_null ? DB_NULL : DB_INT(v);
}

struct write_args {
    int64_t shop_id, id; /* id: the product (update), or the one created */
    const struct product_input *in;
    struct arena *a;
};

static enum err create_tx(struct db *db, void *arg)
{
    static const char sql[] =
        "INSERT INTO products (shop_id, title, description, price_fen, stock, sold, stock_in,"
        " status, buyer_cap_30d, repurchase_days, trial_available, l1_bps, l2_bps, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    struct write_args *q = arg;
    const struct product_input *in = q->in;
    int64_t now = clock_now_ms();
    int64_t stock = in->has_stock ? in->stock : 0;
    bool no_cap = !in->has_buyer_cap || in->buyer_cap_null;
    bool no_rates = !in->has_rates || in->rates_null;
    enum err e = db_value(
        db, sql, &q->id, DB_INT(q->shop_id), DB_TEXT(in->title, in->title_len),
        in->description ? DB_TEXT(in->description, in->description_len) : DB_STR(""),
        DB_INT(in->price_fen), DB_INT(stock), DB_INT(stock),
        DB_STR(product_status_name(in->has_status ? in->status : PRODUCT_DRAFT)),
        nullable(no_cap, in->buyer_cap_30d), DB_INT(in->has_repurchase ? in->repurchase_days : 0),
        DB_INT(in->has_trial && in->trial_available), nullable(no_rates, in->l1_bps),
        nullable(no_rates, in->l2_bps), DB_INT(now), DB_INT(now));
    if (e == ERR_OK && in->has_tags)
        e = write_tags(db, q->shop_id, q->id, in->tags, in->n_tags);
    return e;
}

enum err catalog_create(struct db *db, int64_t shop_id, struct product_input *in, struct arena *a,
                        int64_t *id, struct errinfo *ei)
{
    enum err e = validate(a, in, true, ei);
    if (e)
        return e;
    struct write_args q = {.shop_id = shop_id, .in = in, .a = a};
    e = db_tx_run(db, DB_TX_WRITE, create_tx, &q);
    memo_invalidate(MEMO_PRODUCT);
    if (e == ERR_OK) {
        *id = q.id;
        LOG(LOG_INFO, "product_created", "shop_id=%lld product_id=%lld", (long long)shop_id,
            (long long)*id);
    }
    return e;
}

#define PRODUCT_COLS                                                                               \
    "id, shop_id, title, description, price_fen, stock, sold, stock_in, status, buyer_cap_30d,"    \
    " repurchase_days, trial_available, l1_bps, l2_bps, created_at, updated_at"

static enum err read_row(struct db_stmt *st, struct arena *a, void *item)
{
    struct product *p = item;
    memset(p, 0, sizeof *p);
    p->id = db_col_int64(st, 0);
    p->shop_id = db_col_int64(st, 1);
    p->title = db_col_dup(st, 2, a);
    p->description = db_col_dup(st, 3, a);
    p->price_fen = db_col_int64(st, 4);
    p->stock = db_col_int64(st, 5);
    p->sold = db_col_int64(st, 6);
    p->stock_in = db_col_int64(st, 7);
    (void)product_status_parse(db_col_text(st, 8, NULL), &p->status);
    p->has_buyer_cap = !db_col_is_null(st, 9);
    p->buyer_cap_30d = db_col_int64(st, 9);
    p->repurchase_days = db_col_int64(st, 10);
    p->trial_available = db_col_int64(st, 11) != 0;
    p->has_rates = !db_col_is_null(st, 12);
    p->l1_bps = db_col_int64(st, 12);
    p->l2_bps = db_col_int64(st, 13);
    p->created_at_ms = db_col_int64(st, 14);
    p->updated_at_ms = db_col_int64(st, 15);
    return p->title && p->description ? ERR_OK : ERR_TOO_LARGE;
}

static enum err read_extras(struct db *db, struct arena *a, struct product *p)
{
    static const char sql_tags[] = "SELECT tag, weight_milli FROM product_tags"
                                   " WHERE product_id = ? ORDER BY weight_milli DESC, tag";
    static const char sql_imgs[] = "SELECT id, file, content_type, bytes FROM product_images"
                                   " WHERE product_id = ? ORDER BY position, id";
    struct db_stmt *st = NULL;
    enum err e = tags_read(db, sql_tags, p->id, PRODUCT_TAGS_MAX, a, &p->tags, &p->n_tags);
    if (e)
        return e;
    p->images = arena_alloc(a, PRODUCT_IMAGES_MAX * sizeof *p->images);
    if (!p->images)
        return ERR_TOO_LARGE;
    e = db_query(db, sql_imgs, &st, DB_INT(p->id));
    while (e == ERR_OK && db_next(st, &e) && p->n_images < PRODUCT_IMAGES_MAX) {
        struct product_image *im = &p->images[p->n_images++];
        im->id = db_col_int64(st, 0);
        im->file = db_col_dup(st, 1, a);
        im->content_type = db_col_dup(st, 2, a);
        im->bytes = db_col_int64(st, 3);
    }
    db_done(st);
    return a->exhausted ? ERR_TOO_LARGE : e;
}

enum err catalog_get(struct db *db, int64_t id, struct arena *a, struct product *out)
{
    static const char sql[] = "SELECT " PRODUCT_COLS " FROM products WHERE id = ?";
    enum err e = db_read_one(db, sql, read_row, a, out, DB_INT(id));
    return e ? e : read_extras(db, a, out);
}

static enum err update_tx(struct db *db, void *arg)
{
    static const char sql[] =
        "UPDATE products SET title = ?, description = ?, price_fen = ?,"
        " stock_in = stock_in + (? - stock), stock = ?, status = ?, buyer_cap_30d = ?,"
        " repurchase_days = ?, trial_available = ?, l1_bps = ?, l2_bps = ?, updated_at = ?"
        " WHERE id = ?";
    const struct write_args *q = arg;
    const struct product_input *in = q->in;
    struct product cur;
    enum err e = catalog_get(db, q->id, q->a, &cur);
    if (e)
        return e;
    int64_t stock = in->has_stock ? in->stock : cur.stock;
    bool no_rates = in->has_rates ? in->rates_null : !cur.has_rates;
    e = db_run(db, sql, in->title ? DB_TEXT(in->title, in->title_len) : DB_STR(cur.title),
               in->description ? DB_TEXT(in->description, in->description_len)
                               : DB_STR(cur.description),
               DB_INT(in->has_price ? in->price_fen : cur.price_fen), DB_INT(stock), DB_INT(stock),
               DB_STR(product_status_name(in->has_status ? in->status : cur.status)),
               in->has_buyer_cap ? nullable(in->buyer_cap_null, in->buyer_cap_30d)
                                 : nullable(!cur.has_buyer_cap, cur.buyer_cap_30d),
               DB_INT(in->has_repurchase ? in->repurchase_days : cur.repurchase_days),
               DB_INT(in->has_trial ? in->trial_available : cur.trial_available),
               nullable(no_rates, in->has_rates ? in->l1_bps : cur.l1_bps),
               nullable(no_rates, in->has_rates ? in->l2_bps : cur.l2_bps), DB_INT(clock_now_ms()),
               DB_INT(q->id));
    if (e == ERR_OK && in->has_tags)
        e = write_tags(db, cur.shop_id, q->id, in->tags, in->n_tags);
    return e;
}

enum err catalog_update(struct db *db, int64_t id, struct product_input *in, struct arena *a,
                        struct errinfo *ei)
{
    enum err e = validate(a, in, false, ei);
    if (e)
        return e;
    struct write_args q = {.id = id, .in = in, .a = a};
    e = db_tx_run(db, DB_TX_WRITE, update_tx, &q);
    memo_invalidate(MEMO_PRODUCT);
    return e;
}

enum err catalog_list(struct db *db, const struct catalog_filter *f, struct arena *a,
                      struct product **out, size_t *n, bool *more)
{
    static const char sql[] =
        "SELECT " PRODUCT_COLS " FROM products WHERE shop_id = ? AND id < ?"
        " AND (? = 1 OR status = ?)"
        " AND (? = '' OR id IN (SELECT product_id FROM product_tags WHERE shop_id = ? AND tag = ?))"
        " ORDER BY id DESC LIMIT ?";
    void *items = NULL;
    const char *tag = f->tag ? f->tag : "";
    enum err e = db_list(db, sql, f->limit, sizeof **out, read_row, a, &items, n, more,
                         DB_INT(f->shop_id), DB_INT(f->before_id > 0 ? f->before_id : INT64_MAX),
                         DB_INT(f->any_status), DB_STR(product_status_name(f->status)), DB_STR(tag),
                         DB_INT(f->shop_id), DB_STR(tag), DB_INT(f->limit + 1));
    *out = items;
    for (size_t i = 0; e == ERR_OK && i < *n; i++)
        e = read_extras(db, a, &(*out)[i]);
    return e;
}

struct image_args {
    int64_t product_id, bytes, *id;
    const char *file, *content_type;
    struct errinfo *ei;
};

static enum err image_add_tx(struct db *db, void *arg)
{
    static const char count[] = "SELECT COUNT(*), COALESCE(MAX(position), 0) FROM product_images"
                                " WHERE product_id = ?";
    const struct image_args *q = arg;
    struct db_stmt *st = NULL;
    enum err e = db_first(db, count, &st, DB_INT(q->product_id));
    if (e)
        return e;
    int64_t n = db_col_int64(st, 0), pos = db_col_int64(st, 1);
    db_done(st);
    if (n >= PRODUCT_IMAGES_MAX)
        return err_set(q->ei, ERR_CONFLICT, "image", "a product has at most %d images",
                       PRODUCT_IMAGES_MAX);
    static const char ins[] =
        "INSERT INTO product_images (shop_id, product_id, position, file, content_type, bytes,"
        " created_at) SELECT shop_id, id, ?, ?, ?, ?, ? FROM products WHERE id = ? RETURNING id";
    return db_value(db, ins, q->id, DB_INT(pos + 1), DB_STR(q->file), DB_STR(q->content_type),
                    DB_INT(q->bytes), DB_INT(clock_now_ms()), DB_INT(q->product_id));
}

enum err catalog_image_add(struct db *db, int64_t product_id, const char *file,
                           const char *content_type, int64_t bytes, int64_t *id, struct errinfo *ei)
{
    struct image_args q = {.product_id = product_id,
                           .bytes = bytes,
                           .id = id,
                           .file = file,
                           .content_type = content_type,
                           .ei = ei};
    enum err e = db_tx_run(db, DB_TX_WRITE, image_add_tx, &q);
    memo_invalidate(MEMO_PRODUCT);
    return e;
}

enum err catalog_image_remove(struct db *db, int64_t product_id, int64_t image_id)
{
    memo_invalidate(MEMO_PRODUCT);
    static const char sql[] = "DELETE FROM product_images WHERE id = ? AND product_id = ?";
    int64_t changed = 0;
    enum err e = db_run_changes(db, sql, &changed, DB_INT(image_id), DB_INT(product_id));
    return e == ERR_OK && changed == 0 ? ERR_NOT_FOUND : e;
}

enum err catalog_take_stock(struct db *db, int64_t shop_id, int64_t product_id, int64_t qty,
                            struct errinfo *ei)
{
    memo_invalidate(MEMO_PRODUCT); /* the page shows stock */
    static const char take[] = "UPDATE products SET stock = stock - ?, sold = sold + ?"
                               " WHERE id = ? AND shop_id = ? AND status = 'on_sale'"
                               " AND stock >= ?";
    int64_t changed = 0;
    enum err e = db_run_changes(db, take, &changed, DB_INT(qty), DB_INT(qty), DB_INT(product_id),
                                DB_INT(shop_id), DB_INT(qty));
    if (e == ERR_OK && changed != 1)
        e = err_set(ei, ERR_CONFLICT, "items",
                    "product %lld is not on sale or has fewer than %lld left",
                    (long long)product_id, (long long)qty);
    return e;
}

enum err catalog_return_stock(struct db *db, int64_t product_id, int64_t qty)
{
    memo_invalidate(MEMO_PRODUCT);
    static const char give[] = "UPDATE products SET stock = stock + ?, sold = sold - ?"
                               " WHERE id = ? AND sold >= ?";
    int64_t changed = 0;
    enum err e = db_run_changes(db, give, &changed, DB_INT(qty), DB_INT(qty), DB_INT(product_id),
                                DB_INT(qty));
    /* stock + sold = stock_in, never negative: what comes back was sold */
    if (e == ERR_OK && !INVARIANT(changed == 1))
        e = ERR_INTERNAL;
    return e;
}
