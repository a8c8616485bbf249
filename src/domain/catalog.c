#include "domain/catalog.h"

#include <string.h>

#include "domain/check.h"
#include "domain/memo.h"
#include "domain/shop.h"
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

static void bind_nullable(struct db_stmt *st, int idx, bool is_null, int64_t v)
{
    if (is_null)
        db_bind_null(st, idx);
    else
        db_bind_int64(st, idx, v);
}

enum err catalog_create(struct db *db, int64_t shop_id, struct product_input *in, struct arena *a,
                        int64_t *id, struct errinfo *ei)
{
    static const char sql[] =
        "INSERT INTO products (shop_id, title, description, price_fen, stock, sold, stock_in,"
        " status, buyer_cap_30d, repurchase_days, trial_available, l1_bps, l2_bps, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = validate(a, in, true, ei);
    if (e)
        return e;
    int64_t now = clock_now_ms();
    int64_t stock = in->has_stock ? in->stock : 0;
    bool no_cap = !in->has_buyer_cap || in->buyer_cap_null;
    bool no_rates = !in->has_rates || in->rates_null;
    if ((e = db_begin(db, DB_TX_WRITE)))
        return e;
    if ((e = db_prepare(db, sql, &st)))
        goto out;
    db_bind_int64(st, 1, shop_id);
    db_bind_text(st, 2, in->title, in->title_len);
    if (in->description)
        db_bind_text(st, 3, in->description, in->description_len);
    else
        db_bind_str(st, 3, "");
    db_bind_int64(st, 4, in->price_fen);
    db_bind_int64(st, 5, stock);
    db_bind_int64(st, 6, stock);
    db_bind_str(st, 7, product_status_name(in->has_status ? in->status : PRODUCT_DRAFT));
    bind_nullable(st, 8, no_cap, in->buyer_cap_30d);
    db_bind_int64(st, 9, in->has_repurchase ? in->repurchase_days : 0);
    db_bind_int64(st, 10, in->has_trial && in->trial_available);
    bind_nullable(st, 11, no_rates, in->l1_bps);
    bind_nullable(st, 12, no_rates, in->l2_bps);
    db_bind_int64(st, 13, now);
    db_bind_int64(st, 14, now);
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        *id = db_col_int64(st, 0);
    db_done(st);
    if (e == ERR_OK && in->has_tags)
        e = write_tags(db, shop_id, *id, in->tags, in->n_tags);
    if (e == ERR_OK)
        e = db_commit(db);
    memo_invalidate(MEMO_PRODUCT);
out:
    db_rollback(db);
    if (e == ERR_OK)
        LOG(LOG_INFO, "product_created", "shop_id=%lld product_id=%lld", (long long)shop_id,
            (long long)*id);
    return e;
}

#define PRODUCT_COLS                                                                               \
    "id, shop_id, title, description, price_fen, stock, sold, stock_in, status, buyer_cap_30d,"    \
    " repurchase_days, trial_available, l1_bps, l2_bps, created_at, updated_at"

static enum err read_row(struct db_stmt *st, struct arena *a, struct product *p)
{
    memset(p, 0, sizeof *p);
    p->id = db_col_int64(st, 0);
    p->shop_id = db_col_int64(st, 1);
    p->title = arena_strdup(a, db_col_text(st, 2, NULL));
    p->description = arena_strdup(a, db_col_text(st, 3, NULL));
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
    bool row = false;
    enum err e = tags_read(db, sql_tags, p->id, PRODUCT_TAGS_MAX, a, &p->tags, &p->n_tags);
    if (e)
        return e;
    p->images = arena_alloc(a, PRODUCT_IMAGES_MAX * sizeof *p->images);
    if (!p->images)
        return ERR_TOO_LARGE;
    if ((e = db_prepare(db, sql_imgs, &st)))
        return e;
    db_bind_int64(st, 1, p->id);
    while ((e = db_step(st, &row)) == ERR_OK && row && p->n_images < PRODUCT_IMAGES_MAX) {
        struct product_image *im = &p->images[p->n_images++];
        im->id = db_col_int64(st, 0);
        im->file = arena_strdup(a, db_col_text(st, 1, NULL));
        im->content_type = arena_strdup(a, db_col_text(st, 2, NULL));
        im->bytes = db_col_int64(st, 3);
    }
    db_done(st);
    return a->exhausted ? ERR_TOO_LARGE : e;
}

enum err catalog_get(struct db *db, int64_t id, struct arena *a, struct product *out)
{
    static const char sql[] = "SELECT " PRODUCT_COLS " FROM products WHERE id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_row_by_id(db, sql, id, &st);
    if (e)
        return e;
    e = read_row(st, a, out);
    db_done(st);
    return e ? e : read_extras(db, a, out);
}

enum err catalog_update(struct db *db, int64_t id, struct product_input *in, struct arena *a,
                        struct errinfo *ei)
{
    static const char sql[] =
        "UPDATE products SET title = ?, description = ?, price_fen = ?,"
        " stock_in = stock_in + (? - stock), stock = ?, status = ?, buyer_cap_30d = ?,"
        " repurchase_days = ?, trial_available = ?, l1_bps = ?, l2_bps = ?, updated_at = ?"
        " WHERE id = ?";
    struct product cur;
    struct db_stmt *st = NULL;
    enum err e = validate(a, in, false, ei);
    if (e)
        return e;
    if ((e = db_begin(db, DB_TX_WRITE)))
        return e;
    if ((e = catalog_get(db, id, a, &cur)))
        goto out;
    if ((e = db_prepare(db, sql, &st)))
        goto out;
    if (in->title)
        db_bind_text(st, 1, in->title, in->title_len);
    else
        db_bind_str(st, 1, cur.title);
    if (in->description)
        db_bind_text(st, 2, in->description, in->description_len);
    else
        db_bind_str(st, 2, cur.description);
    db_bind_int64(st, 3, in->has_price ? in->price_fen : cur.price_fen);
    int64_t stock = in->has_stock ? in->stock : cur.stock;
    db_bind_int64(st, 4, stock);
    db_bind_int64(st, 5, stock);
    db_bind_str(st, 6, product_status_name(in->has_status ? in->status : cur.status));
    if (in->has_buyer_cap)
        bind_nullable(st, 7, in->buyer_cap_null, in->buyer_cap_30d);
    else
        bind_nullable(st, 7, !cur.has_buyer_cap, cur.buyer_cap_30d);
    db_bind_int64(st, 8, in->has_repurchase ? in->repurchase_days : cur.repurchase_days);
    db_bind_int64(st, 9, in->has_trial ? in->trial_available : cur.trial_available);
    bool no_rates = in->has_rates ? in->rates_null : !cur.has_rates;
    bind_nullable(st, 10, no_rates, in->has_rates ? in->l1_bps : cur.l1_bps);
    bind_nullable(st, 11, no_rates, in->has_rates ? in->l2_bps : cur.l2_bps);
    db_bind_int64(st, 12, clock_now_ms());
    db_bind_int64(st, 13, id);
    e = db_step_done(st);
    db_done(st);
    if (e == ERR_OK && in->has_tags)
        e = write_tags(db, cur.shop_id, id, in->tags, in->n_tags);
    if (e == ERR_OK)
        e = db_commit(db);
    memo_invalidate(MEMO_PRODUCT);
out:
    db_rollback(db);
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
    struct db_stmt *st = NULL;
    bool row = false;
    size_t len = 0;
    struct product *items = arena_alloc(a, (size_t)(f->limit + 1) * sizeof *items);
    if (!items)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, f->shop_id);
    db_bind_int64(st, 2, f->before_id > 0 ? f->before_id : INT64_MAX);
    db_bind_int64(st, 3, f->any_status);
    db_bind_str(st, 4, product_status_name(f->status));
    db_bind_str(st, 5, f->tag ? f->tag : "");
    db_bind_int64(st, 6, f->shop_id);
    db_bind_str(st, 7, f->tag ? f->tag : "");
    db_bind_int64(st, 8, f->limit + 1);
    while ((e = db_step(st, &row)) == ERR_OK && row && len <= (size_t)f->limit)
        if ((e = read_row(st, a, &items[len++])))
            break;
    db_done(st);
    *more = len > (size_t)f->limit;
    if (*more)
        len = (size_t)f->limit;
    for (size_t i = 0; e == ERR_OK && i < len; i++)
        e = read_extras(db, a, &items[i]);
    *out = items;
    *n = len;
    return e;
}

enum err catalog_image_add(struct db *db, int64_t product_id, const char *file,
                           const char *content_type, int64_t bytes, int64_t *id, struct errinfo *ei)
{
    static const char count[] = "SELECT COUNT(*), COALESCE(MAX(position), 0) FROM product_images"
                                " WHERE product_id = ?";
    static const char ins[] =
        "INSERT INTO product_images (shop_id, product_id, position, file, content_type, bytes,"
        " created_at) SELECT shop_id, id, ?, ?, ?, ?, ? FROM products WHERE id = ? RETURNING id";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        return e;
    if ((e = db_prepare(db, count, &st)))
        goto out;
    db_bind_int64(st, 1, product_id);
    e = db_step(st, &row);
    int64_t n = db_col_int64(st, 0), pos = db_col_int64(st, 1);
    db_done(st);
    if (e == ERR_OK && n >= PRODUCT_IMAGES_MAX)
        e = err_set(ei, ERR_CONFLICT, "image", "a product has at most %d images",
                    PRODUCT_IMAGES_MAX);
    if (e || (e = db_prepare(db, ins, &st)))
        goto out;
    db_bind_int64(st, 1, pos + 1);
    db_bind_str(st, 2, file);
    db_bind_str(st, 3, content_type);
    db_bind_int64(st, 4, bytes);
    db_bind_int64(st, 5, clock_now_ms());
    db_bind_int64(st, 6, product_id);
    e = db_step(st, &row);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        *id = db_col_int64(st, 0);
    db_done(st);
    if (e == ERR_OK)
        e = db_commit(db);
    memo_invalidate(MEMO_PRODUCT);
out:
    db_rollback(db);
    return e;
}

enum err catalog_image_remove(struct db *db, int64_t product_id, int64_t image_id)
{
    memo_invalidate(MEMO_PRODUCT);
    static const char sql[] = "DELETE FROM product_images WHERE id = ? AND product_id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, image_id);
    db_bind_int64(st, 2, product_id);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) == 0)
        e = ERR_NOT_FOUND;
    db_done(st);
    return e;
}

enum err catalog_take_stock(struct db *db, int64_t shop_id, int64_t product_id, int64_t qty,
                            struct errinfo *ei)
{
    memo_invalidate(MEMO_PRODUCT); /* the page shows stock */
    static const char take[] = "UPDATE products SET stock = stock - ?, sold = sold + ?"
                               " WHERE id = ? AND shop_id = ? AND status = 'on_sale'"
                               " AND stock >= ?";
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, take, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, qty);
    db_bind_int64(st, 2, qty);
    db_bind_int64(st, 3, product_id);
    db_bind_int64(st, 4, shop_id);
    db_bind_int64(st, 5, qty);
    e = db_step_done(st);
    int64_t changed = e == ERR_OK ? db_changes(st) : 0;
    db_done(st);
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
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, give, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, qty);
    db_bind_int64(st, 2, qty);
    db_bind_int64(st, 3, product_id);
    db_bind_int64(st, 4, qty);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = ERR_INTERNAL; /* would break stock + sold = stock_in */
    db_done(st);
    return e;
}
