/*
 * share.c - who may share, the audience a share reaches, and its report
 * (share.h).
 */
#include "domain/share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/catalog.h"
#include "domain/circle.h"
#include "domain/promoter.h"
#include "domain/shop.h"
#include "domain/similarity.h"
#include "domain/token.h"
#include "domain/trust.h"
#include "util/clock.h"
#include "util/names.h"
#include "util/limits.h"
#include "util/text.h"

struct share_limits share_limits = {.daily_max = 3};

static const char *const outcome_names[] = {
#define X(name, text) text,
    SHARE_OUTCOMES(X)
#undef X
};

const char *share_outcome_name(enum share_outcome o)
{
    return name_of(outcome_names, NAMES_LEN(outcome_names), o);
}

NAMES_PARSE(share_outcome, enum share_outcome, outcome_names)

static const char *const experience_names[] = {"order", "trial", "shop"};

const char *share_experience_name(enum share_experience x)
{
    return name_of(experience_names, NAMES_LEN(experience_names), x);
}

enum share_experience share_experience_parse(const char *s)
{
    return (enum share_experience)name_find_or(experience_names, NAMES_LEN(experience_names), s,
                                               EXPERIENCE_SHOP);
}

/* --- reading shares --- */

#define SHARE_COLS                                                                                 \
    "s.id, s.shop_id, s.product_id, s.sharer_id, s.promoter_id, s.parent_id, s.root_id,"           \
    " s.circle_id, s.hop, s.token, s.note, u.display_name, s.experience, s.experienced_at,"        \
    " s.trust_milli, s.candidates, s.delivered, s.created_at"
#define SHARE_FROM " FROM shares s JOIN users u ON u.id = s.sharer_id "

static enum err read_share(struct db_stmt *st, struct arena *a, void *item)
{
    struct share *s = item;
    memset(s, 0, sizeof *s);
    s->id = db_col_int64(st, 0);
    s->shop_id = db_col_int64(st, 1);
    s->product_id = db_col_int64(st, 2);
    s->sharer_id = db_col_int64(st, 3);
    s->promoter_id = db_col_int64(st, 4);
    s->parent_id = db_col_int64(st, 5);
    s->root_id = db_col_int64(st, 6);
    s->circle_id = db_col_int64(st, 7);
    s->hop = (int)db_col_int64(st, 8);
    s->token = db_col_dup(st, 9, a);
    s->note = db_col_dup(st, 10, a);
    s->sharer_name = db_col_dup(st, 11, a);
    s->experience = share_experience_parse(db_col_text(st, 12, NULL));
    s->experienced_at_ms = db_col_int64(st, 13);
    s->trust_milli = db_col_is_null(st, 14) ? -1 : db_col_int64(st, 14);
    s->report.candidates = db_col_int64(st, 15);
    s->report.count[SHARE_DELIVERED] = db_col_int64(st, 16);
    s->created_at_ms = db_col_int64(st, 17);
    return s->token && s->note && s->sharer_name ? ERR_OK : ERR_TOO_LARGE;
}

/* The filtered counts of the report, by outcome. */
static enum err read_report(struct db *db, struct share *s)
{
    static const char sql[] =
        "SELECT outcome, COUNT(*) FROM share_audience WHERE share_id = ? GROUP BY outcome";
    struct db_stmt *st = NULL;
    enum err e = db_query(db, sql, &st, DB_INT(s->id));
    while (!e && db_next(st, &e)) {
        enum share_outcome o;
        if (share_outcome_parse(db_col_text(st, 0, NULL), &o))
            s->report.count[o] = db_col_int64(st, 1);
    }
    if (st)
        db_done(st);
    return e;
}

enum err share_get(struct db *db, int64_t id, struct arena *a, struct share *out)
{
    static const char sql[] = "SELECT " SHARE_COLS SHARE_FROM "WHERE s.id = ?";
    enum err e = db_read_one(db, sql, read_share, a, out, DB_INT(id));
    return e ? e : read_report(db, out);
}

enum err share_by_token(struct db *db, const char *token, struct arena *a, struct share *out)
{
    static const char sql[] = "SELECT " SHARE_COLS SHARE_FROM "WHERE s.token = ?";
    return db_read_one(db, sql, read_share, a, out, DB_STR(token));
}

enum err share_matched_for(struct db *db, int64_t share_id, int64_t user_id, struct arena *a,
                           const char **matched)
{
    static const char sql[] = "SELECT matched FROM share_audience WHERE share_id = ?"
                              " AND user_id = ? AND outcome = 'delivered'";
    struct db_stmt *st = NULL;
    *matched = "";
    enum err e = db_first(db, sql, &st, DB_INT(share_id), DB_INT(user_id));
    if (e)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    *matched = db_col_dup(st, 0, a);
    db_done(st);
    return *matched ? ERR_OK : ERR_TOO_LARGE;
}

enum err share_list_mine(struct db *db, int64_t user_id, int64_t before_id, int64_t limit,
                         struct arena *a, struct share **out, size_t *n, bool *more)
{
    static const char sql[] = "SELECT " SHARE_COLS SHARE_FROM
                              "WHERE s.sharer_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT ?";
    void *items = NULL;
    enum err e =
        db_list(db, sql, limit, sizeof **out, read_share, a, &items, n, more, DB_INT(user_id),
                DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    if (e || !*n)
        return e;
    /* the page's filtered counts in one query, not one per share */
    static const char counts[] =
        "SELECT share_id, outcome, COUNT(*) FROM share_audience WHERE share_id >= ?"
        " AND share_id <= ? AND share_id IN (SELECT id FROM shares WHERE sharer_id = ?)"
        " GROUP BY share_id, outcome";
    struct db_stmt *st = NULL;
    e = db_query(db, counts, &st, DB_INT((*out)[*n - 1].id), DB_INT((*out)[0].id), DB_INT(user_id));
    while (!e && db_next(st, &e)) {
        int64_t id = db_col_int64(st, 0);
        enum share_outcome o;
        for (size_t i = 0; i < *n; i++)
            if ((*out)[i].id == id && share_outcome_parse(db_col_text(st, 1, NULL), &o))
                (*out)[i].report.count[o] = db_col_int64(st, 2);
    }
    if (st)
        db_done(st);
    return e;
}

static enum err read_audience_row(struct db_stmt *st, struct arena *a, void *item)
{
    struct share_audience_row *x = item;
    x->id = db_col_int64(st, 0);
    x->user_id = db_col_int64(st, 1);
    x->display_name = db_col_dup(st, 2, a);
    if (!share_outcome_parse(db_col_text(st, 3, NULL), &x->outcome))
        x->outcome = SHARE_SIMILARITY;
    x->similarity_milli = db_col_int64(st, 4);
    x->root_similarity_milli = db_col_int64(st, 5);
    return x->display_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err share_audience(struct db *db, int64_t share_id, int64_t after_id, int64_t limit,
                        struct arena *a, struct share_audience_row **out, size_t *n, bool *more)
{
    static const char sql[] =
        "SELECT a.id, a.user_id, u.display_name, a.outcome, a.similarity_milli,"
        " a.root_similarity_milli FROM share_audience a JOIN users u ON u.id = a.user_id"
        " WHERE a.share_id = ? AND a.id > ? ORDER BY a.id LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_audience_row, a, &items, n, more,
                         DB_INT(share_id), DB_INT(after_id), DB_INT(limit + 1));
    *out = items;
    return e;
}

/* --- who may share --- */

/* RULE: SHARE-NEEDS-EXPERIENCE - the member's latest delivered (not refunded) order of the
 * product, else a trial of it. *found false when neither. */
static enum err experience_of(struct db *db, int64_t product_id, int64_t user_id,
                              enum share_experience *kind, int64_t *at, bool *found)
{
    static const char order[] =
        "SELECT MAX(o.delivered_at) FROM order_items i JOIN orders o ON o.id = i.order_id"
        " WHERE i.product_id = ? AND o.buyer_id = ? AND o.delivered_at IS NOT NULL"
        " AND o.status <> 'refunded'";
    static const char trial[] =
        "SELECT created_at FROM trials WHERE product_id = ? AND user_id = ?";
    *found = false;
    enum err e = db_value(db, order, at, DB_INT(product_id), DB_INT(user_id));
    if (e == ERR_OK && *at) {
        *kind = EXPERIENCE_ORDER;
        *found = true;
        return ERR_OK;
    }
    if (e && e != ERR_NOT_FOUND)
        return e;
    e = db_value(db, trial, at, DB_INT(product_id), DB_INT(user_id));
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    *kind = EXPERIENCE_TRIAL;
    *found = e == ERR_OK;
    return e;
}

/* --- the audience --- */

struct candidate {
    int64_t user_id;
    bool muted, reached, bought;
    int64_t today, today_shop;
    struct ivec vec; /* empty: no interests */
    int64_t sim, root_sim;
    enum share_outcome outcome;
    const char *matched[SIM_MATCHED_MAX];
    size_t n_matched;
};

/*
 * Per candidate, probed in the store: bought the product since `since`; deliveries today, and
 * from this shop today; their interest vector (kept on their users row, migration 013).
 * Placeholders: product, since, day, day, shop, then the audience's own. What is the same for every
 * candidate of a share (who muted the sharers or the shop, who hid the product, whom the chain
 * reached) is read once, as sets (mark_sets()).
 */
#define CANDIDATE_FACTS                                                                            \
    "SELECT m.user_id,"                                                                            \
    " CASE WHEN EXISTS (SELECT 1 FROM orders o JOIN order_items i ON i.order_id = o.id"            \
    "  WHERE o.buyer_id = m.user_id AND i.product_id = ? AND o.paid_at >= ?) THEN 1 ELSE 0 END,"   \
    " (SELECT COUNT(*) FROM share_audience a WHERE a.user_id = m.user_id"                          \
    "  AND a.outcome = 'delivered' AND a.at >= ?),"                                                \
    " (SELECT COUNT(*) FROM share_audience a WHERE a.user_id = m.user_id"                          \
    "  AND a.outcome = 'delivered' AND a.at >= ? AND a.shop_id = ?),"                              \
    " (SELECT u.interest_vector FROM users u WHERE u.id = m.user_id)"
/* RULE: NO-CROSSING - the only two sets a share may reach. Placeholders: the circle, or the
 * sharer twice; then the sharer, the root sharer and the shop, whose people are not candidates
 * either: a shop does not recommend its products to itself. */
#define CIRCLE_SET " FROM circle_members m WHERE m.circle_id = ?"
#define CONTACT_SET                                                                                \
    " FROM (SELECT user_hi AS user_id FROM contacts WHERE user_lo = ? AND status = 'accepted'"     \
    " UNION ALL SELECT user_lo FROM contacts WHERE user_hi = ? AND status = 'accepted') m"         \
    " WHERE 1 = 1"
#define NOT_SHARERS                                                                                \
    " AND m.user_id <> ? AND m.user_id <> ? AND NOT EXISTS (SELECT 1 FROM shop_roles w"            \
    " WHERE w.shop_id = ? AND w.user_id = m.user_id) ORDER BY m.user_id"

struct create_args {
    const struct share_input *in;
    int64_t now;
    struct arena *a;
    struct share *out;
    struct errinfo *ei;
};

struct audience {
    struct candidate *c;
    size_t n;
};

/* A vector as stored on a users row: lines of "tag<TAB>weight"; weights of 0 are left out. */
static enum err parse_vector(const char *text, struct arena *a, struct ivec *out)
{
    size_t n = 0;
    *out = (struct ivec){0};
    if (!text || !*text)
        return ERR_OK;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    if (!(out->t = arena_alloc(a, (n + 1) * sizeof *out->t)))
        return ERR_TOO_LARGE;
    for (const char *p = text; *p;) {
        const char *tab = strchr(p, '\t'), *end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
        if (tab && tab < end) {
            int64_t w = strtoll(tab + 1, NULL, 10);
            char *tag = w > 0 ? arena_strndup(a, p, (size_t)(tab - p)) : NULL;
            if (w > 0 && !tag)
                return ERR_TOO_LARGE;
            if (w > 0)
                out->t[out->n++] = (struct tag){tag, w};
        }
        p = *end ? end + 1 : end;
    }
    sim_normalize(out);
    return ERR_OK;
}

static enum err read_candidates(struct db *db, const struct create_args *q, const struct share *s,
                                int64_t root_sharer, int64_t since, struct audience *au)
{
    static const char in_circle[] = CANDIDATE_FACTS CIRCLE_SET NOT_SHARERS;
    static const char in_contacts[] = CANDIDATE_FACTS CONTACT_SET NOT_SHARERS;
    int64_t day = clock_china_day_start(q->now);
    bool circle = s->circle_id != 0;
    struct db_stmt *st = NULL;
    size_t cap = 64;
    au->n = 0;
    if (!(au->c = arena_alloc(q->a, cap * sizeof *au->c)))
        return ERR_TOO_LARGE;
    enum err e = db_query(db, circle ? in_circle : in_contacts, &st, DB_INT(s->product_id),
                          DB_INT(since), DB_INT(day), DB_INT(day), DB_INT(s->shop_id),
                          DB_INT(circle ? s->circle_id : s->sharer_id),
                          circle ? DB_SKIP : DB_INT(s->sharer_id), DB_INT(s->sharer_id),
                          DB_INT(root_sharer), DB_INT(s->shop_id));
    while (!e && db_next(st, &e)) {
        if (au->n == cap) {
            struct candidate *bigger = arena_alloc(q->a, 2 * cap * sizeof *bigger);
            if (!bigger) {
                e = ERR_TOO_LARGE;
                break;
            }
            memcpy(bigger, au->c, cap * sizeof *bigger);
            au->c = bigger;
            cap *= 2;
        }
        struct candidate *c = &au->c[au->n++];
        memset(c, 0, sizeof *c);
        c->user_id = db_col_int64(st, 0);
        c->bought = db_col_int64(st, 1) != 0;
        c->today = db_col_int64(st, 2);
        c->today_shop = db_col_int64(st, 3);
        if ((e = parse_vector(db_col_text(st, 4, NULL), q->a, &c->vec)))
            break;
    }
    if (st)
        db_done(st);
    return e;
}

static int by_user(const void *key, const void *item);

/*
 * RULE: MUTES - who muted the sharer, the root sharer or the shop, or hid this product ("not
 * interested"); RULE: NOT-TWICE - whom this chain reached already. Each a range of an index,
 * read once for the share, marked on the candidates (sorted by user id).
 */
static enum err mark_sets(struct db *db, const struct share *s, int64_t root_sharer,
                          struct audience *au)
{
    static const char muted[] = "SELECT user_id FROM mutes WHERE muted_user_id IN (?, ?)"
                                " UNION ALL SELECT user_id FROM mutes WHERE muted_shop_id = ?"
                                " UNION ALL SELECT user_id FROM share_audience WHERE product_id = ?"
                                " AND hidden_at IS NOT NULL AND outcome = 'delivered'";
    static const char reached[] =
        "SELECT user_id FROM share_audience WHERE root_id = ? AND outcome = 'delivered'";
    for (int pass = 0; pass < 2; pass++) {
        struct db_stmt *st = NULL;
        enum err e = pass ? db_query(db, reached, &st, DB_INT(s->root_id))
                          : db_query(db, muted, &st, DB_INT(s->sharer_id), DB_INT(root_sharer),
                                     DB_INT(s->shop_id), DB_INT(s->product_id));
        while (!e && db_next(st, &e)) {
            int64_t user = db_col_int64(st, 0);
            struct candidate *c = bsearch(&user, au->c, au->n, sizeof *au->c, by_user);
            if (c)
                *(pass ? &c->reached : &c->muted) = true;
        }
        if (st)
            db_done(st);
        if (e)
            return e;
    }
    return ERR_OK;
}

static int by_user(const void *key, const void *item)
{
    int64_t k = *(const int64_t *)key, u = ((const struct candidate *)item)->user_id;
    return k < u ? -1 : k > u;
}

/* A member's vector alone (the sharer, the root sharer). */
static enum err member_vector(struct db *db, int64_t user_id, struct arena *a, struct ivec *out)
{
    static const char sql[] = "SELECT interest_vector FROM users WHERE id = ?";
    struct db_stmt *st = NULL;
    *out = (struct ivec){0};
    enum err e = db_first(db, sql, &st, DB_INT(user_id));
    if (e)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    e = parse_vector(db_col_text(st, 0, NULL), a, out);
    db_done(st);
    return e;
}

static int by_similarity(const void *x, const void *y)
{
    const struct candidate *a = *(struct candidate *const *)x, *b = *(struct candidate *const *)y;
    if (a->sim != b->sim)
        return a->sim > b->sim ? -1 : 1;
    return a->user_id < b->user_id ? -1 : a->user_id > b->user_id;
}

struct policy {
    int64_t similarity_min, daily_shop, daily_max;
    int64_t reach; /* 0: no trust cap */
    bool hop2;
};

/* Decides each candidate's outcome (the order of share.h). */
static enum err decide(struct audience *au, const struct policy *p, const struct ivec *product,
                       const struct ivec *root, const struct ivec *prior, struct arena *a)
{
    size_t eligible = 0;
    for (size_t i = 0; i < au->n; i++) {
        struct candidate *c = &au->c[i];
        bool from_prior = c->vec.n == 0;
        const struct ivec *v = from_prior ? prior : &c->vec;
        c->sim = sim_cosine_milli(v, product);
        c->root_sim = sim_cosine_milli(v, root);
        if (from_prior) {
            c->sim = sim_prior_milli(c->sim);
            c->root_sim = sim_prior_milli(c->root_sim);
        }
        if (c->muted)
            c->outcome = SHARE_MUTED;
        else if (c->reached)
            c->outcome = SHARE_ALREADY_REACHED;
        else if (c->bought)
            c->outcome = SHARE_RECENTLY_BOUGHT;
        else if (c->sim < p->similarity_min || (p->hop2 && c->root_sim < p->similarity_min))
            c->outcome = SHARE_SIMILARITY;
        else if (c->today >= p->daily_max || c->today_shop >= p->daily_shop)
            c->outcome = SHARE_FREQUENCY;
        else
            c->outcome = SHARE_DELIVERED, eligible++;
        if (c->outcome == SHARE_DELIVERED)
            c->n_matched = sim_matched(v, product, c->matched, SIM_MATCHED_MAX);
    }
    if (!p->reach || eligible <= (size_t)p->reach)
        return ERR_OK;
    /* RULE: TRUST-REACH - only the `reach` most similar of the eligible */
    struct candidate **order = arena_alloc(a, eligible * sizeof *order);
    if (!order)
        return ERR_TOO_LARGE;
    size_t k = 0;
    for (size_t i = 0; i < au->n; i++)
        if (au->c[i].outcome == SHARE_DELIVERED)
            order[k++] = &au->c[i];
    qsort(order, k, sizeof *order, by_similarity);
    for (size_t i = (size_t)p->reach; i < k; i++)
        order[i]->outcome = SHARE_TRUST_CAP;
    return ERR_OK;
}

/* The audience's rows go in DELIVER_BATCH at a time: one statement for many rows costs a
 * fraction of as many statements. */
#define DELIVER_BATCH 16
#define AUDIENCE_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define AUDIENCE_ROWS4 AUDIENCE_ROW ", " AUDIENCE_ROW ", " AUDIENCE_ROW ", " AUDIENCE_ROW
#define AUDIENCE_INSERT                                                                            \
    "INSERT INTO share_audience (share_id, root_id, shop_id, product_id, hop, user_id,"            \
    " outcome, similarity_milli, root_similarity_milli, matched, at) VALUES "

static enum err deliver(struct db *db, const struct create_args *q, const struct share *s,
                        const struct audience *au, int64_t *delivered)
{
    static const char one[] = AUDIENCE_INSERT AUDIENCE_ROW;
    static const char batch[] =
        AUDIENCE_INSERT AUDIENCE_ROWS4 ", " AUDIENCE_ROWS4 ", " AUDIENCE_ROWS4 ", " AUDIENCE_ROWS4;
    enum err e = ERR_OK;
    *delivered = 0;
    for (size_t i = 0; !e && i < au->n;) {
        size_t rows = au->n - i >= DELIVER_BATCH ? DELIVER_BATCH : 1;
        struct db_stmt *st = NULL;
        if ((e = db_prepare(db, rows == 1 ? one : batch, &st)))
            break;
        for (size_t r = 0; r < rows; r++, i++) {
            const struct candidate *c = &au->c[i];
            char matched[SIM_MATCHED_MAX * (LIMIT_TAG_CHARS * 4 + 1) + 1];
            size_t len = 0;
            for (size_t j = 0; j < c->n_matched; j++)
                len += (size_t)snprintf(matched + len, sizeof matched - len, "%s%s", j ? "\n" : "",
                                        c->matched[j]);
            int k = (int)r * 11;
            db_bind_int64(st, k + 1, s->id);
            db_bind_int64(st, k + 2, s->root_id);
            db_bind_int64(st, k + 3, s->shop_id);
            db_bind_int64(st, k + 4, s->product_id);
            db_bind_int64(st, k + 5, s->hop);
            db_bind_int64(st, k + 6, c->user_id);
            db_bind_str(st, k + 7, share_outcome_name(c->outcome));
            db_bind_int64(st, k + 8, c->sim);
            db_bind_int64(st, k + 9, c->root_sim);
            db_bind_text(st, k + 10, matched, len);
            db_bind_int64(st, k + 11, q->now);
            *delivered += c->outcome == SHARE_DELIVERED;
        }
        e = db_step_done(st);
        db_done(st);
    }
    return e;
}

/* The parent share, which the sharer must have received; the hop it makes. */
static enum err check_parent(struct db *db, const struct create_args *q, struct share *s,
                             int64_t *root_sharer)
{
    static const char received[] = "SELECT COUNT(*) FROM share_audience WHERE share_id = ?"
                                   " AND user_id = ? AND outcome = 'delivered'";
    const struct share_input *in = q->in;
    struct share parent;
    int64_t got = 0;
    enum err e = share_get(db, in->parent_id, q->a, &parent);
    if (!e)
        e = db_value(db, received, &got, DB_INT(parent.id), DB_INT(in->sharer_id));
    if (e == ERR_NOT_FOUND || (!e && !got))
        return err_set(q->ei, ERR_NOT_FOUND, "parent_share_id", "no such share in your feed");
    if (e)
        return e;
    /* RULE: TWO-HOPS */
    if (parent.hop >= SHARE_HOPS_MAX)
        return err_set(q->ei, ERR_HOP_LIMIT, "parent_share_id",
                       "a recommendation can be passed on once; this one already was");
    if (in->product_id && in->product_id != parent.product_id)
        return err_set(q->ei, ERR_INVALID, "product_id", "the parent share is of another product");
    s->parent_id = parent.id;
    s->root_id = parent.root_id;
    s->hop = parent.hop + 1;
    s->product_id = parent.product_id;
    /* the chain's root sharer */
    if (parent.root_id == parent.id) {
        *root_sharer = parent.sharer_id;
    } else {
        struct share root;
        if ((e = share_get(db, parent.root_id, q->a, &root)))
            return e;
        *root_sharer = root.sharer_id;
    }
    return ERR_OK;
}

/* RULE: NO-CROSSING - the circle must be of the product's shop, and the sharer in it or running
 * the shop; to anyone else it does not exist. */
static enum err check_circle(struct db *db, const struct create_args *q, int64_t shop_id,
                             enum shop_role role, struct circle *c)
{
    enum circle_role member = CIRCLE_ROLE_NONE;
    enum err e = circle_get(db, q->in->circle_id, q->a, c);
    if (!e && c->shop_id == shop_id && role == SHOP_ROLE_NONE)
        e = circle_role_of(db, c->id, q->in->sharer_id, &member);
    if (e == ERR_NOT_FOUND || (!e && c->shop_id != shop_id) ||
        (!e && role == SHOP_ROLE_NONE && member == CIRCLE_ROLE_NONE))
        return err_set(q->ei, ERR_NOT_FOUND, "circle_id",
                       "no such circle of this product's shop among yours");
    return e;
}

/* Everything a share decides before it writes: who may, where, and each candidate's outcome.
 * At hop 1 the share's id (its own root) is not known yet: root_id stays 0, which no earlier
 * delivery has. */
static enum err plan(struct db *db, struct create_args *q, struct share *out, struct audience *au)
{
    const struct share_input *in = q->in;
    struct share s = {.sharer_id = in->sharer_id, .product_id = in->product_id, .hop = 1};
    int64_t root_sharer = in->sharer_id;
    enum err e = ERR_OK;
    if (in->parent_id && (e = check_parent(db, q, &s, &root_sharer)))
        return e;
    struct product p;
    struct shop shop;
    e = catalog_get(db, s.product_id, q->a, &p);
    if (e == ERR_NOT_FOUND)
        return err_set(q->ei, e, "product_id", "no such product");
    if (e || (e = shop_get(db, p.shop_id, q->a, &shop)))
        return e;
    if (p.status != PRODUCT_ON_SALE)
        return err_set(q->ei, ERR_PRODUCT_UNAVAILABLE, "product_id",
                       "the product is not on sale; there is nothing to recommend");
    s.shop_id = p.shop_id;

    /* RULE: SHARE-NEEDS-EXPERIENCE */
    enum shop_role role = SHOP_ROLE_NONE;
    struct promoter pr;
    bool promoter = false, experienced = false;
    if ((e = shop_role_of(db, s.shop_id, in->sharer_id, &role)))
        return e;
    e = promoter_of_user(db, s.shop_id, in->sharer_id, q->a, &pr);
    if (e && e != ERR_NOT_FOUND)
        return e;
    promoter = e == ERR_OK && pr.status == PROMOTER_ACTIVE;
    if ((e = experience_of(db, s.product_id, in->sharer_id, &s.experience, &s.experienced_at_ms,
                           &experienced)))
        return e;
    if (!experienced && role != SHOP_ROLE_NONE) {
        s.experience = EXPERIENCE_SHOP;
        s.experienced_at_ms = 0;
    }
    bool may = role != SHOP_ROLE_NONE || (experienced && (promoter || s.hop == 2));
    if (!may)
        return err_set(q->ei, ERR_EXPERIENCE_REQUIRED, "product_id",
                       s.hop == 2 ? "only those who have received or tried this product may pass "
                                    "it on"
                       : experienced ? "only the shop's active promoters may recommend its products"
                                     : "only those who have received or tried this product may "
                                       "recommend it");
    s.promoter_id = promoter ? pr.id : 0;

    /* RULE: NO-CROSSING */
    struct circle circle;
    struct ivec prior = {0};
    if (!in->contacts) {
        if ((e = check_circle(db, q, s.shop_id, role, &circle)))
            return e;
        s.circle_id = circle.id;
        prior = (struct ivec){circle.tags, circle.n_tags};
        sim_normalize(&prior);
    }

    /* RULE: TRUST-REACH - the shop's own people are not capped */
    struct policy pol = {.similarity_min = shop.settings.similarity_milli,
                         .daily_shop = shop.settings.feed_daily_shop,
                         .daily_max = share_limits.daily_max,
                         .hop2 = s.hop == 2};
    s.trust_milli = -1;
    if (promoter && role == SHOP_ROLE_NONE) {
        struct trust t;
        if ((e = trust_of(db, pr.id, &t)))
            return e;
        s.trust_milli = t.score_milli;
        if (t.score_milli < shop.settings.trust_min_milli)
            pol.reach = shop.settings.trust_reach;
    }

    /* the audience and its outcomes */
    struct ivec product = {p.tags, p.n_tags}, root;
    sim_normalize(&product);
    int64_t days = p.repurchase_days ? p.repurchase_days : SHARE_RECENT_BUY_DAYS;
    if ((e = read_candidates(db, q, &s, root_sharer, q->now - days * MS_PER_DAY, au)) ||
        (e = mark_sets(db, &s, root_sharer, au)) ||
        (e = member_vector(db, root_sharer, q->a, &root)))
        return e;
    if (!root.n)
        root = product; /* a root sharer who told nothing of themselves stands for the product */
    if ((e = decide(au, &pol, &product, &root, &prior, q->a)))
        return e;
    s.report.candidates = (int64_t)au->n;
    for (size_t i = 0; i < au->n; i++)
        s.report.count[au->c[i].outcome]++;
    *out = s;
    return ERR_OK;
}

static enum err create_tx(struct db *db, void *arg)
{
    static const char ins[] =
        "INSERT INTO shares (shop_id, product_id, sharer_id, promoter_id, parent_id, root_id, hop,"
        " circle_id, token, note, trust_milli, experience, experienced_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    static const char counts[] =
        "UPDATE shares SET root_id = ?, candidates = ?, delivered = ? WHERE id = ?";
    struct create_args *q = arg;
    const struct share_input *in = q->in;
    struct share s;
    struct audience au;
    enum err e = plan(db, q, &s, &au);
    if (e)
        return e;
    char token[TOKEN_LEN + 1];
    token_new(token);
    if ((e = db_value(db, ins, &s.id, DB_INT(s.shop_id), DB_INT(s.product_id),
                      DB_INT(in->sharer_id), DB_REF(s.promoter_id), DB_REF(s.parent_id),
                      DB_INT(s.root_id), DB_INT(s.hop), DB_REF(s.circle_id), DB_STR(token),
                      in->note ? DB_TEXT(in->note, in->note_len) : DB_STR(""),
                      s.trust_milli >= 0 ? DB_INT(s.trust_milli) : DB_NULL,
                      DB_STR(share_experience_name(s.experience)), DB_REF(s.experienced_at_ms),
                      DB_INT(q->now))))
        return e;
    if (!s.parent_id)
        s.root_id = s.id;
    int64_t delivered = 0;
    if ((e = deliver(db, q, &s, &au, &delivered)) ||
        (e = db_run(db, counts, DB_INT(s.root_id), DB_INT((int64_t)au.n), DB_INT(delivered),
                    DB_INT(s.id))))
        return e;
    /* the row as stored; its report is the plan's (no need to count the rows just written) */
    static const char get[] = "SELECT " SHARE_COLS SHARE_FROM "WHERE s.id = ?";
    if ((e = db_read_one(db, get, read_share, q->a, q->out, DB_INT(s.id))))
        return e;
    q->out->report = s.report;
    return ERR_OK;
}

static enum err preview_tx(struct db *db, void *arg)
{
    struct create_args *q = arg;
    struct audience au;
    return plan(db, q, q->out, &au);
}

static enum err check_input(const struct share_input *in, struct errinfo *ei)
{
    if (in->note) {
        long chars = text_utf8_chars(in->note, in->note_len);
        if (chars < 0 || chars > SHARE_NOTE_CHARS ||
            text_has_control_but_newline(in->note, in->note_len))
            return err_set(ei, ERR_INVALID, "note",
                           "note must be at most %d characters of plain text", SHARE_NOTE_CHARS);
    }
    if (!in->contacts && !in->circle_id)
        return err_set(ei, ERR_MISSING_FIELD, "circle_id",
                       "say where to share: circle_id, or audience \"contacts\"");
    if (!in->product_id && !in->parent_id)
        return err_set(ei, ERR_MISSING_FIELD, "product_id", "product_id is required");
    return ERR_OK;
}

enum err share_create(struct db *db, const struct share_input *in, struct arena *a,
                      struct share *out, struct errinfo *ei)
{
    struct create_args q = {.in = in, .now = clock_now_ms(), .a = a, .out = out, .ei = ei};
    enum err e = check_input(in, ei);
    return e ? e : db_tx_run(db, DB_TX_WRITE, create_tx, &q);
}

enum err share_preview(struct db *db, const struct share_input *in, struct arena *a,
                       struct share *out, struct errinfo *ei)
{
    struct create_args q = {.in = in, .now = clock_now_ms(), .a = a, .out = out, .ei = ei};
    enum err e = check_input(in, ei);
    return e ? e : db_tx_run(db, DB_TX_READ, preview_tx, &q);
}
