#include "domain/shop.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "domain/account.h"
#include "domain/check.h"
#include "domain/memo.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/names.h"
#include "util/text.h"

#define SETTING_PUBLIC true
#define SETTING_RUNNERS false
#define SETTING_OWNER true

const struct shop_setting shop_setting_table[SHOP_SETTINGS_N] = {
#define X(f_, j_, k_, lo_, hi_, d_, seen_, set_, text_)                                            \
    [SHOP_SET_##f_] = {.field = #f_,                                                               \
                       .json = j_,                                                                 \
                       .kind = SETTING_##k_,                                                       \
                       .min = lo_,                                                                 \
                       .max = hi_,                                                                 \
                       .def = d_,                                                                  \
                       .public = SETTING_##seen_,                                                  \
                       .owner_only = SETTING_##set_,                                               \
                       .about = text_,                                                             \
                       .offset = offsetof(struct shop_settings, f_)},
    SHOP_SETTINGS(X)
#undef X
};

void shop_settings_default(struct shop_settings *s)
{
    for (int i = 0; i < SHOP_SETTINGS_N; i++)
        *shop_setting_at(s, i) = shop_setting_table[i].def;
}

/* A value as the API writes it: 0.3 for 300 thousandths. */
static void setting_value(const struct shop_setting *t, int64_t v, char *out, size_t size)
{
    if (t->kind == SETTING_FRACTION)
        snprintf(out, size, "%lld.%03lld", (long long)(v / 1000), (long long)(v % 1000));
    else if (t->kind == SETTING_BOOL)
        snprintf(out, size, "%s", v ? "true" : "false");
    else
        snprintf(out, size, "%lld", (long long)v);
    if (t->kind == SETTING_FRACTION) { /* 0.300 -> 0.3, 1.000 -> 1 */
        size_t n = strlen(out);
        while (n > 1 && out[n - 1] == '0')
            out[--n] = '\0';
        if (n > 1 && out[n - 1] == '.')
            out[--n] = '\0';
    }
}

void shop_setting_doc(enum shop_setting_id id, char *out, size_t size)
{
    const struct shop_setting *t = &shop_setting_table[id];
    char lo[24], hi[24], def[24];
    setting_value(t, t->min, lo, sizeof lo);
    setting_value(t, t->max, hi, sizeof hi);
    setting_value(t, t->def, def, sizeof def);
    if (t->kind == SETTING_BOOL)
        snprintf(out, size, "| `%s` | true or false | %s | %s | %s | %s |", t->json, def,
                 t->public ? "everyone" : "owner, staff", t->owner_only ? "owner" : "owner, staff",
                 t->about);
    else
        snprintf(out, size, "| `%s` | %s–%s | %s | %s | %s | %s |", t->json, lo, hi, def,
                 t->public ? "everyone" : "owner, staff", t->owner_only ? "owner" : "owner, staff",
                 t->about);
}

const char *shop_role_name(enum shop_role role)
{
    static const char *const names[] = {
        [SHOP_ROLE_NONE] = "none", [SHOP_ROLE_OWNER] = "owner", [SHOP_ROLE_STAFF] = "staff"};
    return name_of(names, NAMES_LEN(names), role);
}

enum err shop_check_slug(const char *slug, size_t len, struct errinfo *ei)
{
    if (len < LIMIT_SLUG_MIN || len > LIMIT_SLUG_MAX)
        return err_set(ei, ERR_INVALID, "slug", "slug must have %d to %d characters",
                       LIMIT_SLUG_MIN, LIMIT_SLUG_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = slug[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok)
            return err_set(ei, ERR_INVALID, "slug",
                           "slug may use only lower-case letters a-z, digits and '-'");
        if (c == '-' && (i == 0 || i == len - 1 || slug[i - 1] == '-'))
            return err_set(ei, ERR_INVALID, "slug",
                           "slug may not start or end with '-' or repeat it");
    }
    return ERR_OK;
}

enum err shop_check_story(const char *story, size_t len, struct errinfo *ei)
{
    return check_text(story, len, "story", LIMIT_STORY_CHARS, ei);
}

enum err shop_check_settings(const struct shop_settings *s, struct errinfo *ei)
{
    for (int i = 0; i < SHOP_SETTINGS_N; i++) {
        const struct shop_setting *t = &shop_setting_table[i];
        int64_t v = shop_setting_get(s, i);
        char lo[24], hi[24];
        if (v >= t->min && v <= t->max)
            continue;
        setting_value(t, t->min, lo, sizeof lo);
        setting_value(t, t->max, hi, sizeof hi);
        return err_set(ei, ERR_OUT_OF_RANGE, t->json, "%s must be from %s to %s (%s)", t->json, lo,
                       hi, t->about);
    }
    enum err e = shop_check_rates(s->l1_bps, s->l2_bps, ei);
    if (e)
        return e;
    if (s->withdraw_min_fen > s->withdraw_daily_fen)
        return err_set(ei, ERR_OUT_OF_RANGE, "withdraw_min_fen",
                       "withdraw_min_fen must be at most withdraw_daily_fen (%lld)",
                       (long long)s->withdraw_daily_fen);
    return ERR_OK;
}

enum err shop_check_rates(int64_t l1_bps, int64_t l2_bps, struct errinfo *ei)
{
    if (l1_bps < 0 || l1_bps > PLATFORM_MAX_COMMISSION_BPS)
        return err_set(ei, ERR_OUT_OF_RANGE, "l1_bps", "l1_bps must be from 0 to %d",
                       PLATFORM_MAX_COMMISSION_BPS);
    if (l2_bps < 0 || l2_bps > PLATFORM_MAX_COMMISSION_BPS)
        return err_set(ei, ERR_OUT_OF_RANGE, "l2_bps", "l2_bps must be from 0 to %d",
                       PLATFORM_MAX_COMMISSION_BPS);
    /* RULE: RATE-CAPS */
    if (l1_bps + l2_bps > PLATFORM_MAX_COMMISSION_BPS)
        return err_set(ei, ERR_OUT_OF_RANGE, "l2_bps",
                       "l1_bps + l2_bps must not exceed %d (the platform maximum)",
                       PLATFORM_MAX_COMMISSION_BPS);
    if (l2_bps > l1_bps / 2)
        return err_set(ei, ERR_OUT_OF_RANGE, "l2_bps",
                       "l2_bps must be at most half of l1_bps (%lld)", (long long)(l1_bps / 2));
    return ERR_OK;
}

/*
 * The statements that name every setting, made once from the table: the
 * select (settings from column 9 on), the create and the update. The
 * statement cache keys them by their (static) address.
 */
#define SETTINGS_SQL_MAX 2048
static char shop_select[SETTINGS_SQL_MAX], shop_select_by_slug[SETTINGS_SQL_MAX];
static char shop_insert[SETTINGS_SQL_MAX], shop_update_sql[SETTINGS_SQL_MAX];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static void make_sql(void)
{
    char cols[1024] = "", bare[1024] = "", marks[256] = "", sets[1024] = "";
    size_t c = 0, b = 0, m = 0, u = 0;
    for (int i = 0; i < SHOP_SETTINGS_N; i++) {
        const char *f = shop_setting_table[i].field;
        c += (size_t)snprintf(cols + c, sizeof cols - c, ", s.%s", f);
        b += (size_t)snprintf(bare + b, sizeof bare - b, ", %s", f);
        m += (size_t)snprintf(marks + m, sizeof marks - m, ", ?");
        u += (size_t)snprintf(sets + u, sizeof sets - u, "%s = ?, ", f);
    }
    static const char head[] = "SELECT s.id, s.owner_id, u.display_name, s.name, s.slug, s.story,"
                               " s.trial_ends_at, s.created_at, s.updated_at";
    snprintf(shop_select, sizeof shop_select,
             "%s%s FROM shops s JOIN users u ON u.id = s.owner_id WHERE s.id = ?", head, cols);
    snprintf(shop_select_by_slug, sizeof shop_select_by_slug,
             "%s%s FROM shops s JOIN users u ON u.id = s.owner_id WHERE s.slug = ?", head, cols);
    snprintf(shop_insert, sizeof shop_insert,
             "INSERT INTO shops (owner_id, name, slug, story, trial_ends_at, created_at,"
             " updated_at%s) VALUES (?, ?, ?, ?, ?, ?, ?%s) RETURNING id",
             bare, marks);
    snprintf(shop_update_sql, sizeof shop_update_sql,
             "UPDATE shops SET name = ?, slug = ?, story = ?, %supdated_at = ? WHERE id = ?", sets);
}

static const char *sql_of(const char *sql)
{
    pthread_once(&sql_once, make_sql);
    return sql;
}

/* The values of every setting, in the table's order (for the create and the update). */
static void setting_args(const struct shop_settings *s, struct db_arg *out)
{
    for (int i = 0; i < SHOP_SETTINGS_N; i++)
        out[i] = DB_INT(shop_setting_get(s, i));
}

static enum err read_shop(struct db_stmt *st, struct arena *a, void *item)
{
    struct shop *out = item;
    out->id = db_col_int64(st, 0);
    out->owner_id = db_col_int64(st, 1);
    out->owner_name = db_col_dup(st, 2, a);
    out->name = db_col_dup(st, 3, a);
    out->slug = db_col_dup(st, 4, a);
    out->story = db_col_dup(st, 5, a);
    out->trial_ends_at_ms = db_col_int64(st, 6);
    out->created_at_ms = db_col_int64(st, 7);
    out->updated_at_ms = db_col_int64(st, 8);
    for (int i = 0; i < SHOP_SETTINGS_N; i++)
        *shop_setting_at(&out->settings, i) = db_col_int64(st, 9 + i);
    if (!out->owner_name || !out->name || !out->slug || !out->story)
        return ERR_TOO_LARGE;
    return ERR_OK;
}

static enum err get_by(struct db *db, const char *sql, int64_t id, const char *slug,
                       struct arena *a, struct shop *out)
{
    return db_read_one(db, sql, read_shop, a, out, slug ? DB_STR(slug) : DB_INT(id));
}

enum err shop_get(struct db *db, int64_t id, struct arena *a, struct shop *out)
{
    return get_by(db, sql_of(shop_select), id, NULL, a, out);
}

/* --- the per-thread cache of public shop profiles --- */

#define CACHE_SLOTS 256

struct cache_entry {
    int64_t id; /* 0: empty */
    uint64_t gen;
    int64_t filled_us;
    struct shop s;
    char *strings; /* one block holding every string of s */
};

static _Atomic uint64_t shops_written = 1; /* bumped by every shop write */
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    struct cache_entry *c = p;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(c[i].strings);
    }
    free(c);
}

static void cache_key_make(void)
{
    (void)pthread_key_create(&cache_key, cache_free);
}

static void shops_changed(void)
{
    atomic_fetch_add_explicit(&shops_written, 1, memory_order_release);
    memo_invalidate(MEMO_SHOP);
    memo_invalidate(MEMO_PRODUCT); /* product pages show the shop's rates and caps */
}

static char *pack(char **dst, const char *src)
{
    size_t n = strlen(src) + 1;
    memcpy(*dst, src, n);
    char *at = *dst;
    *dst += n;
    return at;
}

static struct cache_entry *cache_slot(int64_t id)
{
    pthread_once(&cache_once, cache_key_make);
    struct cache_entry *cache = pthread_getspecific(cache_key);
    if (!cache) {
        cache = xcalloc(CACHE_SLOTS, sizeof *cache);
        (void)pthread_setspecific(cache_key, cache);
    }
    return &cache[(uint64_t)id % CACHE_SLOTS];
}

static bool cache_fresh(const struct cache_entry *c, int64_t id)
{
    return c->id == id && c->gen == atomic_load_explicit(&shops_written, memory_order_acquire) &&
           clock_mono_us() - c->filled_us < SHOP_CACHE_TTL_MS * 1000;
}

enum err shop_get_cached(struct db *db, int64_t id, struct arena *a, struct shop *out)
{
    struct cache_entry *c = cache_slot(id);
    uint64_t gen = atomic_load_explicit(&shops_written, memory_order_acquire);
    int64_t now_us = clock_mono_us();
    if (cache_fresh(c, id)) {
        *out = c->s; /* strings stay valid until this thread refills the slot */
        return ERR_OK;
    }
    enum err e = shop_get(db, id, a, out);
    if (e)
        return e;
    size_t n =
        strlen(out->owner_name) + strlen(out->name) + strlen(out->slug) + strlen(out->story) + 4;
    free(c->strings);
    c->strings = xmalloc(n);
    char *p = c->strings;
    c->s = *out;
    c->s.owner_name = pack(&p, out->owner_name);
    c->s.name = pack(&p, out->name);
    c->s.slug = pack(&p, out->slug);
    c->s.story = pack(&p, out->story);
    c->id = id;
    c->gen = gen;
    c->filled_us = now_us;
    return ERR_OK;
}

enum err shop_get_by_slug(struct db *db, const char *slug, struct arena *a, struct shop *out)
{
    return get_by(db, sql_of(shop_select_by_slug), 0, slug, a, out);
}

struct create_args {
    int64_t owner_id, trial_days, now;
    const char *name, *slug, *story;
    size_t name_len, slug_len, story_len;
    int64_t *id;
    struct errinfo *ei;
};

static enum err create_tx(struct db *db, void *arg)
{
    static const char sql_count[] = "SELECT COUNT(*) FROM shop_roles WHERE user_id = ?"
                                    " AND role = 'owner'";
    const struct create_args *q = arg;
    struct shop_settings s;
    int64_t owned = 0, now = q->now;
    shop_settings_default(&s);
    enum err e = db_value(db, sql_count, &owned, DB_INT(q->owner_id));
    if (e)
        return e;
    if (owned >= SHOPS_PER_OWNER_MAX)
        return err_set(q->ei, ERR_CONFLICT, NULL, "a member may own at most %d shops",
                       SHOPS_PER_OWNER_MAX);
    struct db_arg args[7 + SHOP_SETTINGS_N] = {DB_INT(q->owner_id),
                                               DB_TEXT(q->name, q->name_len),
                                               DB_TEXT(q->slug, q->slug_len),
                                               DB_TEXT(q->story, q->story_len),
                                               DB_INT(now + q->trial_days * MS_PER_DAY),
                                               DB_INT(now),
                                               DB_INT(now)};
    setting_args(&s, args + 7);
    e = db_value_(db, sql_of(shop_insert), q->id, args, NAMES_LEN(args));
    if (e == ERR_CONFLICT)
        return err_set(q->ei, ERR_SLUG_TAKEN, "slug", "this slug is taken by another shop");
    if (e)
        return e;
    static const char sql_role[] = "INSERT INTO shop_roles (shop_id, user_id, role, created_at)"
                                   " VALUES (?, ?, 'owner', ?)";
    return db_run(db, sql_role, DB_INT(*q->id), DB_INT(q->owner_id), DB_INT(now));
}

enum err shop_create(struct db *db, int64_t owner_id, const char *name, size_t name_len,
                     const char *slug, size_t slug_len, const char *story, size_t story_len,
                     int64_t trial_days, struct arena *a, struct shop *out, struct errinfo *ei)
{
    int64_t id = 0;
    enum err e = account_check_name(name, name_len, "name", LIMIT_SHOP_NAME_CHARS, ei);
    if (!e)
        e = shop_check_slug(slug, slug_len, ei);
    if (!e)
        e = shop_check_story(story, story_len, ei);
    if (e)
        return e;
    struct create_args q = {.owner_id = owner_id,
                            .trial_days = trial_days,
                            .now = clock_now_ms(),
                            .name = name,
                            .name_len = name_len,
                            .slug = slug,
                            .slug_len = slug_len,
                            .story = story,
                            .story_len = story_len,
                            .id = &id,
                            .ei = ei};
    e = db_tx_run(db, DB_TX_WRITE, create_tx, &q);
    if (e == ERR_OK) {
        shops_changed();
        LOG(LOG_INFO, "shop_created", "shop_id=%lld owner_id=%lld", (long long)id,
            (long long)owner_id);
        e = shop_get(db, id, a, out);
    }
    return e;
}

enum err shop_role_of(struct db *db, int64_t shop_id, int64_t user_id, enum shop_role *out)
{
    static const char sql[] = "SELECT role FROM shop_roles WHERE shop_id = ? AND user_id = ?";
    struct db_stmt *st = NULL;
    *out = SHOP_ROLE_NONE;
    enum err e = db_first(db, sql, &st, DB_INT(shop_id), DB_INT(user_id));
    if (e)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    *out = shop_role_from(db_col_text(st, 0, NULL));
    db_done(st);
    return ERR_OK;
}

enum shop_role shop_role_from(const char *role)
{
    if (!role)
        return SHOP_ROLE_NONE;
    return strcmp(role, "owner") == 0 ? SHOP_ROLE_OWNER : SHOP_ROLE_STAFF;
}

struct update_args {
    int64_t id;
    const struct shop_patch *p;
    struct arena *a;
    struct errinfo *ei;
};

static enum err update_tx(struct db *db, void *arg)
{
    const struct update_args *q = arg;
    const struct shop_patch *p = q->p;
    int64_t id = q->id;
    struct shop cur;
    enum err e = shop_get(db, id, q->a, &cur);
    if (e)
        return e;
    struct shop_settings s = cur.settings;
    for (int i = 0; i < SHOP_SETTINGS_N; i++)
        if (p->set[i])
            *shop_setting_at(&s, i) = shop_setting_get(&p->settings, i);
    if ((e = shop_check_settings(&s, q->ei)))
        return e;
    struct db_arg args[5 + SHOP_SETTINGS_N] = {
        p->name ? DB_TEXT(p->name, p->name_len) : DB_STR(cur.name),
        p->slug ? DB_TEXT(p->slug, p->slug_len) : DB_STR(cur.slug),
        p->story ? DB_TEXT(p->story, p->story_len) : DB_STR(cur.story)};
    setting_args(&s, args + 3);
    args[3 + SHOP_SETTINGS_N] = DB_INT(clock_now_ms());
    args[4 + SHOP_SETTINGS_N] = DB_INT(id);
    e = db_run_(db, sql_of(shop_update_sql), NULL, args, NAMES_LEN(args));
    if (e == ERR_CONFLICT)
        e = err_set(q->ei, ERR_SLUG_TAKEN, "slug", "this slug is taken by another shop");
    return e;
}

enum err shop_update(struct db *db, int64_t id, const struct shop_patch *p, struct errinfo *ei)
{
    enum err e;
    if (p->name &&
        (e = account_check_name(p->name, p->name_len, "name", LIMIT_SHOP_NAME_CHARS, ei)) != ERR_OK)
        return e;
    if (p->slug && (e = shop_check_slug(p->slug, p->slug_len, ei)) != ERR_OK)
        return e;
    if (p->story && (e = shop_check_story(p->story, p->story_len, ei)) != ERR_OK)
        return e;
    struct arena a;
    arena_init(&a, 64 * 1024);
    struct update_args q = {.id = id, .p = p, .a = &a, .ei = ei};
    e = db_tx_run(db, DB_TX_WRITE, update_tx, &q);
    if (e == ERR_OK)
        shops_changed();
    arena_release(&a);
    return e;
}

struct staff_args {
    int64_t shop_id, user_id;
    struct errinfo *ei;
};

static enum err staff_add_tx(struct db *db, void *arg)
{
    static const char sql_count[] = "SELECT COUNT(*) FROM shop_roles WHERE shop_id = ?";
    const struct staff_args *q = arg;
    int64_t one, n;
    static const char sql_user[] = "SELECT 1 FROM users WHERE id = ?";
    enum err e = db_value(db, sql_user, &one, DB_INT(q->user_id));
    if (e == ERR_NOT_FOUND)
        return err_set(q->ei, ERR_NOT_FOUND, "user_id", "no member has this id");
    if (e || (e = db_value(db, sql_count, &n, DB_INT(q->shop_id))))
        return e;
    if (n >= LIMIT_STAFF_PER_SHOP)
        return err_set(q->ei, ERR_CONFLICT, "user_id", "a shop has at most %d staff",
                       LIMIT_STAFF_PER_SHOP);
    static const char sql_ins[] = "INSERT INTO shop_roles (shop_id, user_id, role, created_at)"
                                  " VALUES (?, ?, 'staff', ?)";
    e = db_run(db, sql_ins, DB_INT(q->shop_id), DB_INT(q->user_id), DB_INT(clock_now_ms()));
    if (e == ERR_CONFLICT)
        e = err_set(q->ei, ERR_ALREADY_MEMBER, "user_id", "this member already runs the shop");
    return e;
}

enum err shop_staff_add(struct db *db, int64_t shop_id, int64_t user_id, struct errinfo *ei)
{
    struct staff_args q = {.shop_id = shop_id, .user_id = user_id, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, staff_add_tx, &q);
}

enum err shop_staff_remove(struct db *db, int64_t shop_id, int64_t user_id)
{
    static const char sql[] =
        "DELETE FROM shop_roles WHERE shop_id = ? AND user_id = ? AND role = 'staff'";
    int64_t changed = 0;
    enum err e = db_run_changes(db, sql, &changed, DB_INT(shop_id), DB_INT(user_id));
    return e == ERR_OK && changed == 0 ? ERR_NOT_FOUND : e;
}

static enum err read_staff(struct db_stmt *st, struct arena *a, void *item)
{
    struct shop_staff *s = item;
    s->user_id = db_col_int64(st, 0);
    s->display_name = db_col_dup(st, 1, a);
    s->role = shop_role_from(db_col_text(st, 2, NULL));
    s->since_ms = db_col_int64(st, 3);
    return s->display_name ? ERR_OK : ERR_TOO_LARGE;
}

static enum err read_membership(struct db_stmt *st, struct arena *a, void *item)
{
    struct shop_membership *m = item;
    m->shop_id = db_col_int64(st, 0);
    m->name = db_col_dup(st, 1, a);
    m->slug = db_col_dup(st, 2, a);
    m->role = shop_role_from(db_col_text(st, 3, NULL));
    return m->name && m->slug ? ERR_OK : ERR_TOO_LARGE;
}

enum err shop_staff_list(struct db *db, int64_t shop_id, struct arena *a, struct shop_staff **out,
                         size_t *n)
{
    static const char sql[] = "SELECT r.user_id, u.display_name, r.role, r.created_at"
                              " FROM shop_roles r JOIN users u ON u.id = r.user_id"
                              " WHERE r.shop_id = ? ORDER BY r.role, r.created_at, r.user_id";
    void *items = NULL;
    enum err e = db_list(db, sql, LIMIT_STAFF_PER_SHOP + 1, sizeof **out, read_staff, a, &items, n,
                         NULL, DB_INT(shop_id));
    *out = items;
    return e;
}

enum err shop_home(struct db *db, int64_t wanted, int64_t *id)
{
    return db_value(db,
                    "SELECT id FROM shops WHERE id = ? OR NOT EXISTS"
                    " (SELECT 1 FROM shops WHERE id = ?) ORDER BY id LIMIT 1",
                    id, DB_INT(wanted), DB_INT(wanted));
}

enum err shop_list_for_user(struct db *db, int64_t user_id, struct arena *a,
                            struct shop_membership **out, size_t *n)
{
    static const char sql[] = "SELECT s.id, s.name, s.slug, r.role FROM shop_roles r"
                              " JOIN shops s ON s.id = r.shop_id WHERE r.user_id = ?"
                              " ORDER BY s.id LIMIT 100";
    void *items = NULL;
    enum err e =
        db_list(db, sql, 100, sizeof **out, read_membership, a, &items, n, NULL, DB_INT(user_id));
    *out = items;
    return e;
}
