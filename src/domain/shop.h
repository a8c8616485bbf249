/*
 * shop.h - shops (the tenant boundary), their profile, settings and roles.
 *
 * Owns the tables shops and shop_roles. The member who creates a shop is its
 * owner; the owner may add staff. Owner and staff run the shop ("owner" in
 * the API); only the owner manages staff. A new shop starts a free trial.
 *
 * Settings are validated here with their bounds:
 *   RULE: RATE-CAPS  l1_bps + l2_bps <= PLATFORM_MAX_COMMISSION_BPS and
 *                    l2_bps <= l1_bps / 2 (level 2 never outearns level 1).
 */
#ifndef QUANZI_DOMAIN_SHOP_H
#define QUANZI_DOMAIN_SHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum shop_role { SHOP_ROLE_NONE, SHOP_ROLE_OWNER, SHOP_ROLE_STAFF };

struct shop_settings {
    int64_t l1_bps;           /* level-1 commission rate */
    int64_t l2_bps;           /* level-2 commission rate */
    int64_t settle_days;      /* return window before commission settles */
    int64_t binding_days;     /* customer protection period */
    int64_t similarity_milli; /* share audience threshold, 0..1000 */
    bool promoter_auto_approve;
    int64_t buyer_cap_30d;      /* default units one buyer may order per product in 30 days */
    int64_t unpaid_timeout_min; /* an unpaid order is cancelled after this */
    int64_t auto_receive_days;  /* a shipped order counts as received after this */
    int64_t l2_active_days;     /* RULE: L2-ACTIVE-SELLER: an inviter's own sale this recent */
    int64_t withdraw_min_fen;   /* smallest withdrawal */
    int64_t withdraw_daily_fen; /* most one promoter may ask to withdraw per day */
};

#define SHOP_SETTLE_DAYS_MIN 7 /* China's 7-day no-reason return period */
#define SHOP_SETTLE_DAYS_MAX 90
#define SHOP_BINDING_DAYS_MIN 1
#define SHOP_BINDING_DAYS_MAX 365
#define SHOPS_PER_OWNER_MAX 10
#define SHOP_BUYER_CAP_MAX 1000
#define SHOP_UNPAID_MIN_MIN 5
#define SHOP_UNPAID_MIN_MAX 1440
#define SHOP_AUTO_RECEIVE_MIN 3
#define SHOP_AUTO_RECEIVE_MAX 30
#define SHOP_L2_ACTIVE_DAYS_MIN 1
#define SHOP_L2_ACTIVE_DAYS_MAX 365
#define SHOP_WITHDRAW_MIN_MIN 100           /* 1 yuan */
#define SHOP_WITHDRAW_DAILY_MAX 100000000LL /* 1,000,000 yuan */

struct shop {
    int64_t id;
    int64_t owner_id;
    const char *owner_name;
    const char *name;
    const char *slug;
    const char *story;
    int64_t trial_ends_at_ms;
    int64_t created_at_ms;
    int64_t updated_at_ms;
    struct shop_settings settings;
};

/* Fields of a PATCH; a NULL string or a false has_* leaves the field alone. */
struct shop_patch {
    const char *name;
    size_t name_len;
    const char *slug;
    size_t slug_len;
    const char *story;
    size_t story_len;
    bool has_l1_bps, has_l2_bps, has_settle_days, has_binding_days, has_similarity,
        has_auto_approve, has_buyer_cap, has_unpaid_timeout, has_auto_receive, has_l2_active_days,
        has_withdraw_min, has_withdraw_daily;
    struct shop_settings settings;
};

struct shop_staff {
    int64_t user_id;
    const char *display_name;
    enum shop_role role;
    int64_t since_ms;
};

void shop_settings_default(struct shop_settings *s);
MUST_CHECK enum err shop_check_slug(const char *slug, size_t len, struct errinfo *ei);
MUST_CHECK enum err shop_check_story(const char *story, size_t len, struct errinfo *ei);
MUST_CHECK enum err shop_check_settings(const struct shop_settings *s, struct errinfo *ei);
/* RULE: RATE-CAPS for one pair of rates (a shop's or a product's override). */
MUST_CHECK enum err shop_check_rates(int64_t l1_bps, int64_t l2_bps, struct errinfo *ei);
const char *shop_role_name(enum shop_role role);

MUST_CHECK enum err shop_create(struct db *db, int64_t owner_id, const char *name, size_t name_len,
                                const char *slug, size_t slug_len, const char *story,
                                size_t story_len, int64_t trial_days, struct arena *a,
                                struct shop *out, struct errinfo *ei);
/* ERR_NOT_FOUND when there is no such shop. */
MUST_CHECK enum err shop_get(struct db *db, int64_t id, struct arena *a, struct shop *out);
/*
 * The shop for public display, from a per-thread cache: an entry is used
 * while no shop was written by this process since it was filled and it is
 * younger than SHOP_CACHE_TTL_MS (the bound on staleness across processes).
 * Never use it for decisions about money or permissions.
 */
MUST_CHECK enum err shop_get_cached(struct db *db, int64_t id, struct arena *a, struct shop *out);
#define SHOP_CACHE_TTL_MS 1000
MUST_CHECK enum err shop_get_by_slug(struct db *db, const char *slug, struct arena *a,
                                     struct shop *out);
MUST_CHECK enum err shop_role_of(struct db *db, int64_t shop_id, int64_t user_id,
                                 enum shop_role *out);
/* A shop_roles.role value (NULL: no role). */
enum shop_role shop_role_from(const char *role);
/* Applies a patch (validated as a whole against the current settings). */
MUST_CHECK enum err shop_update(struct db *db, int64_t id, const struct shop_patch *p,
                                struct errinfo *ei);

/* Staff management: ERR_NOT_FOUND for an unknown login or member. */
MUST_CHECK enum err shop_staff_add(struct db *db, int64_t shop_id, int64_t user_id,
                                   struct errinfo *ei);
MUST_CHECK enum err shop_staff_remove(struct db *db, int64_t shop_id, int64_t user_id);
MUST_CHECK enum err shop_staff_list(struct db *db, int64_t shop_id, struct arena *a,
                                    struct shop_staff **out, size_t *n);
/* Shops the member runs, with their role (for GET /me). */
struct shop_membership {
    int64_t shop_id;
    const char *name;
    const char *slug;
    enum shop_role role;
};
MUST_CHECK enum err shop_list_for_user(struct db *db, int64_t user_id, struct arena *a,
                                       struct shop_membership **out, size_t *n);

#endif
