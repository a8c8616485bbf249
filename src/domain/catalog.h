/*
 * catalog.h - a shop's products: their text, price, stock, status, interest
 * tags, images, buying limits and commission overrides.
 *
 * Owns products, product_tags and product_images. Prices are int64 fen.
 * Stock accounting: `stock` units are available, `sold` are held by live
 * orders, `stock_in` were ever added; stock + sold = stock_in always, and
 * none is negative. Orders take stock with catalog_take_stock(), a
 * conditional update that cannot oversell.
 *
 *   RULE: RATE-CAPS  a product's l1_bps/l2_bps override comes as a pair that
 *                    obeys the shop's caps (sum <= platform max, l2 <= l1/2).
 */
#ifndef QUANZI_DOMAIN_CATALOG_H
#define QUANZI_DOMAIN_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/tags.h"
#include "util/arena.h"
#include "util/err.h"

enum product_status { PRODUCT_DRAFT, PRODUCT_ON_SALE, PRODUCT_OFF };

#define PRODUCT_TITLE_CHARS 60
#define PRODUCT_DESCRIPTION_CHARS 5000
#define PRODUCT_PRICE_MAX_FEN 100000000LL /* 1,000,000 yuan */
#define PRODUCT_STOCK_MAX 1000000LL
#define PRODUCT_TAGS_MAX 10
#define PRODUCT_IMAGES_MAX 9
#define PRODUCT_IMAGE_BYTES_MAX (2 * 1024 * 1024)
#define PRODUCT_REPURCHASE_DAYS_MAX 365

struct product_image {
    int64_t id;
    const char *file; /* <sha256>.<ext> */
    const char *content_type;
    int64_t bytes;
};

struct product {
    int64_t id;
    int64_t shop_id;
    const char *title;
    const char *description;
    int64_t price_fen;
    int64_t stock, sold, stock_in;
    enum product_status status;
    bool has_buyer_cap; /* false: the shop's default applies */
    int64_t buyer_cap_30d;
    int64_t repurchase_days;
    bool trial_available;
    bool has_rates; /* false: the shop's rates apply */
    int64_t l1_bps, l2_bps;
    int64_t created_at_ms, updated_at_ms;
    struct tag *tags;
    size_t n_tags;
    struct product_image *images;
    size_t n_images;
};

/* A create or a patch: fields with has_* false (or NULL strings) are left alone. */
struct product_input {
    const char *title;
    size_t title_len;
    const char *description;
    size_t description_len;
    bool has_price, has_stock, has_status, has_buyer_cap, has_repurchase, has_trial, has_rates,
        has_tags;
    int64_t price_fen, stock;
    enum product_status status;
    bool buyer_cap_null; /* with has_buyer_cap: back to the shop default */
    int64_t buyer_cap_30d;
    int64_t repurchase_days;
    bool trial_available;
    bool rates_null; /* with has_rates: back to the shop's rates */
    int64_t l1_bps, l2_bps;
    struct tag *tags;
    size_t n_tags;
};

const char *product_status_name(enum product_status s);
/* false when `name` is not draft, on_sale or off */
bool product_status_parse(const char *name, enum product_status *out);

MUST_CHECK enum err catalog_create(struct db *db, int64_t shop_id, struct product_input *in,
                                   struct arena *a, int64_t *id, struct errinfo *ei);
/* ERR_NOT_FOUND when there is no such product. Tags and images included. */
MUST_CHECK enum err catalog_get(struct db *db, int64_t id, struct arena *a, struct product *out);
MUST_CHECK enum err catalog_update(struct db *db, int64_t id, struct product_input *in,
                                   struct arena *a, struct errinfo *ei);

struct catalog_filter {
    int64_t shop_id;
    bool any_status; /* false: only `status` */
    enum product_status status;
    const char *tag;   /* NULL: any */
    int64_t before_id; /* paging: ids below this one (0: from the newest) */
    int64_t limit;
};
/* Newest first; *more tells whether another page follows. */
MUST_CHECK enum err catalog_list(struct db *db, const struct catalog_filter *f, struct arena *a,
                                 struct product **out, size_t *n, bool *more);

/* Adds an image file (already stored) at the end; ERR_CONFLICT past PRODUCT_IMAGES_MAX. */
MUST_CHECK enum err catalog_image_add(struct db *db, int64_t product_id, const char *file,
                                      const char *content_type, int64_t bytes, int64_t *id,
                                      struct errinfo *ei);
MUST_CHECK enum err catalog_image_remove(struct db *db, int64_t product_id, int64_t image_id);

/*
 * Takes `qty` units of an on-sale product of `shop_id` for an order, in the
 * caller's transaction: ERR_CONFLICT (with a message) when the product is not
 * on sale or short of stock. Never oversells: one conditional update.
 */
MUST_CHECK enum err catalog_take_stock(struct db *db, int64_t shop_id, int64_t product_id,
                                       int64_t qty, struct errinfo *ei);
/* Gives `qty` units back (cancelled or returned), in the caller's transaction. */
MUST_CHECK enum err catalog_return_stock(struct db *db, int64_t product_id, int64_t qty);

#endif
