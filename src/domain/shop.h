/*
 * shop.h - shops (the tenant boundary), their profile, settings and roles.
 *
 * Owns the tables shops and shop_roles. The member who creates a shop is its
 * owner; the owner may add staff. Owner and staff run the shop ("owner" in
 * the API); only the owner manages staff. A new shop starts a free trial.
 *
 * Settings (SHOP_SETTINGS below) are validated here with their bounds and
 * the rules between them.
 */
#ifndef QUANZI_DOMAIN_SHOP_H
#define QUANZI_DOMAIN_SHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/limits.h"

enum shop_role { SHOP_ROLE_NONE, SHOP_ROLE_OWNER, SHOP_ROLE_STAFF };

/*
 * Shop settings: one table drives parsing, checking, the update, the JSON
 * and the README's list (a unit test holds the README to it).
 *   X(field, json, kind, min, max, default, seen by, set by, about)
 * field: the struct shop_settings member and the shops column; json: the
 * API's name; kind: INT, BOOL (0/1) or FRACTION (stored in thousandths,
 * 0 to 1 in JSON); seen by: PUBLIC (everyone: what a promoter earns and may
 * withdraw is disclosed) or RUNNERS (owner and staff); set by: OWNER (money
 * terms) or RUNNERS. Rules across settings are checked after the bounds:
 *   RULE: RATE-CAPS  l1_bps + l2_bps <= PLATFORM_MAX_COMMISSION_BPS and
 *                    l2_bps <= l1_bps / 2 (level 2 never outearns level 1);
 *   withdraw_min_fen <= withdraw_daily_fen.
 */
#define SHOP_SETTINGS(X)                                                                           \
    X(l1_bps, "l1_bps", INT, 0, PLATFORM_MAX_COMMISSION_BPS, 1000, PUBLIC, OWNER,                  \
      "level-1 commission, basis points of the sale")                                              \
    X(l2_bps, "l2_bps", INT, 0, PLATFORM_MAX_COMMISSION_BPS, 500, PUBLIC, OWNER,                   \
      "level-2 commission, to the inviter of the level-1 promoter")                                \
    X(settle_days, "settle_days", INT, 7, 90, 7, PUBLIC, OWNER,                                    \
      "return window before commission settles (at least the legal 7 days)")                       \
    X(binding_days, "binding_days", INT, 1, 365, 30, PUBLIC, OWNER,                                \
      "how long a referred customer stays bound to their promoter")                                \
    X(l2_active_days, "l2_active_days", INT, 1, 365, 30, PUBLIC, OWNER,                            \
      "level 2 is paid only to an inviter who sold something themselves this recently")            \
    X(withdraw_min_fen, "withdraw_min_fen", INT, 100, 100000000, 1000, PUBLIC, OWNER,              \
      "smallest withdrawal")                                                                       \
    X(withdraw_daily_fen, "withdraw_daily_fen", INT, 100, 100000000, 500000, PUBLIC, OWNER,        \
      "most one promoter may ask to withdraw in a China calendar day")                             \
    X(similarity_milli, "similarity_min", FRACTION, 0, 1000, 300, RUNNERS, RUNNERS,                \
      "interest similarity a share's recipient needs, 0 to 1")                                     \
    X(promoter_auto_approve, "promoter_auto_approve", BOOL, 0, 1, 0, RUNNERS, RUNNERS,             \
      "approve promoter applications that meet the rules without review")                          \
    X(buyer_cap_30d, "buyer_cap_30d", INT, 1, 1000, 10, RUNNERS, RUNNERS,                          \
      "units of a product one buyer may order in 30 days, unless the product says otherwise")      \
    X(unpaid_timeout_min, "unpaid_timeout_min", INT, 5, 1440, 30, RUNNERS, RUNNERS,                \
      "minutes before an unpaid order is cancelled and its stock returns")                         \
    X(auto_receive_days, "auto_receive_days", INT, 3, 30, 10, RUNNERS, RUNNERS,                    \
      "days after shipping that an order counts as received")                                      \
    X(trust_min_milli, "trust_min", FRACTION, 0, 1000, 300, RUNNERS, RUNNERS,                      \
      "a promoter trusted less than this reaches only trust_reach members a share, 0 to 1")        \
    X(trust_reach, "trust_reach", INT, 1, 500, 20, RUNNERS, RUNNERS,                               \
      "how many of the most similar members a share of a little-trusted promoter reaches")         \
    X(feed_daily_shop, "feed_daily_shop", INT, 1, 10, 1, RUNNERS, RUNNERS,                         \
      "recommendations one member receives from this shop in a China calendar day")

struct shop_settings {
#define X(field, ...) int64_t field;
    SHOP_SETTINGS(X)
#undef X
};

enum shop_setting_id {
#define X(field, ...) SHOP_SET_##field,
    SHOP_SETTINGS(X)
#undef X
        SHOP_SETTINGS_N
};

enum shop_setting_kind { SETTING_INT, SETTING_BOOL, SETTING_FRACTION };

struct shop_setting {
    const char *field; /* the column */
    const char *json;  /* the API's name */
    enum shop_setting_kind kind;
    int64_t min, max, def;
    bool public;     /* seen by everyone, else by who runs the shop */
    bool owner_only; /* set by the owner only, else by owner and staff */
    const char *about;
    size_t offset; /* of the value in struct shop_settings */
};
extern const struct shop_setting shop_setting_table[SHOP_SETTINGS_N];

static inline int64_t *shop_setting_at(struct shop_settings *s, enum shop_setting_id id)
{
    return (int64_t *)(void *)((char *)s + shop_setting_table[id].offset);
}

static inline int64_t shop_setting_get(const struct shop_settings *s, enum shop_setting_id id)
{
    return *(const int64_t *)(const void *)((const char *)s + shop_setting_table[id].offset);
}

/* The README's line for setting id (into out, NUL-terminated). */
void shop_setting_doc(enum shop_setting_id id, char *out, size_t size);

#define SHOPS_PER_OWNER_MAX 10
#define SHOP_BUYER_CAP_MAX 1000
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

/* Fields of a PATCH; a NULL string or a false set[] leaves the field alone. */
struct shop_patch {
    const char *name;
    size_t name_len;
    const char *slug;
    size_t slug_len;
    const char *story;
    size_t story_len;
    bool set[SHOP_SETTINGS_N];
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
/* The shop a server's front page shows: `wanted` when it exists, else the oldest shop.
 * ERR_NOT_FOUND when there is no shop at all. */
MUST_CHECK enum err shop_home(struct db *db, int64_t wanted, int64_t *id);

#endif
