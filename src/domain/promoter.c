#include "domain/promoter.h"

#include <string.h>

#include "domain/audit.h"
#include "domain/shop.h"
#include "domain/token.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/names.h"

static const char *const status_names[] = {"pending", "active", "suspended"};

/* an unknown status earns nothing */
NAMES_FUNCTIONS(promoter_status, enum promoter_status, status_names, PROMOTER_SUSPENDED)

bool promoter_transition(enum promoter_status from, enum promoter_event ev,
                         enum promoter_status *to)
{
    switch (ev) {
    case PROMOTER_APPROVE:
        return from != PROMOTER_ACTIVE && (*to = PROMOTER_ACTIVE, true);
    case PROMOTER_SUSPEND:
        return from != PROMOTER_SUSPENDED && (*to = PROMOTER_SUSPENDED, true);
    }
    return false;
}

/* --- audit events: what the rules refused --- */

struct refusal_args {
    int64_t shop_id, user_id, ref_id;
    const char *kind, *detail;
};

static enum err refusal_tx(struct db *db, void *arg)
{
    const struct refusal_args *q = arg;
    return audit_event_add(db, q->shop_id, q->kind, q->user_id, q->ref_id, q->detail);
}

/* A refused attempt is kept for the audit in a transaction of its own. */
static void audit_refusal(struct db *db, int64_t shop_id, const char *kind, int64_t user_id,
                          int64_t ref_id, const char *detail)
{
    struct refusal_args q = {
        .shop_id = shop_id, .user_id = user_id, .ref_id = ref_id, .kind = kind, .detail = detail};
    enum err e = db_tx_run(db, DB_TX_WRITE, refusal_tx, &q);
    LOG(LOG_INFO, "rule_refused", "kind=%s shop_id=%lld user_id=%lld result=%s", kind,
        (long long)shop_id, (long long)user_id, e ? "not_recorded" : "recorded");
}

/* --- trials --- */

struct trial_args {
    int64_t shop_id, product_id, user_id, granted_by, *id;
    struct errinfo *ei;
};

static enum err trial_tx(struct db *db, void *arg)
{
    static const char product[] = "SELECT shop_id, trial_available FROM products WHERE id = ?";
    const struct trial_args *q = arg;
    struct db_stmt *st = NULL;
    int64_t one;
    enum err e = db_first(db, product, &st, DB_INT(q->product_id));
    if (e && e != ERR_NOT_FOUND)
        return e;
    bool mine = e == ERR_OK && db_col_int64(st, 0) == q->shop_id;
    bool offered = mine && db_col_int64(st, 1) != 0;
    db_done(st);
    if (!mine)
        return err_set(q->ei, ERR_NOT_FOUND, "product_id", "this shop has no such product");
    if (!offered)
        return err_set(q->ei, ERR_UNPROCESSABLE, "product_id",
                       "this product offers no trial (set trial_available first)");
    static const char user[] = "SELECT 1 FROM users WHERE id = ?";
    e = db_value(db, user, &one, DB_INT(q->user_id));
    if (e == ERR_NOT_FOUND)
        return err_set(q->ei, ERR_NOT_FOUND, "user_id", "no such member");
    if (e)
        return e;
    static const char ins[] = "INSERT INTO trials (shop_id, product_id, user_id, granted_by,"
                              " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id";
    e = db_value(db, ins, q->id, DB_INT(q->shop_id), DB_INT(q->product_id), DB_INT(q->user_id),
                 DB_INT(q->granted_by), DB_INT(clock_now_ms()));
    if (e == ERR_CONFLICT)
        e = err_set(q->ei, ERR_CONFLICT, "user_id",
                    "this member already has a trial of this product");
    return e;
}

enum err trial_grant(struct db *db, int64_t shop_id, int64_t product_id, int64_t user_id,
                     int64_t granted_by, int64_t *id, struct errinfo *ei)
{
    struct trial_args q = {.shop_id = shop_id,
                           .product_id = product_id,
                           .user_id = user_id,
                           .granted_by = granted_by,
                           .id = id,
                           .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, trial_tx, &q);
}

/* --- promoters --- */

#define PROMOTER_COLS                                                                              \
    "p.id, p.shop_id, p.user_id, p.inviter_id, u.display_name, p.status, p.invite_code,"           \
    " p.ref_token, p.created_at, p.approved_at"

static enum err read_promoter(struct db_stmt *st, struct arena *a, void *item)
{
    struct promoter *p = item;
    p->id = db_col_int64(st, 0);
    p->shop_id = db_col_int64(st, 1);
    p->user_id = db_col_int64(st, 2);
    p->inviter_id = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3);
    p->display_name = db_col_dup(st, 4, a);
    p->status = promoter_status_parse(db_col_text(st, 5, NULL));
    p->invite_code = db_col_dup(st, 6, a);
    p->ref_token = db_col_dup(st, 7, a);
    p->created_at_ms = db_col_int64(st, 8);
    p->approved_at_ms = db_col_is_null(st, 9) ? 0 : db_col_int64(st, 9);
    return p->display_name && p->invite_code && p->ref_token ? ERR_OK : ERR_TOO_LARGE;
}

/* The one promoter `sql` finds with its values, read with PROMOTER_COLS. */
static enum err find_one(struct db *db, const char *sql, const struct db_arg *args, size_t n,
                         struct arena *a, struct promoter *out)
{
    return db_read_one_(db, sql, read_promoter, a, out, args, n);
}

enum err promoter_get(struct db *db, int64_t id, struct arena *a, struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id WHERE p.id = ?";
    return find_one(db, sql, DB_ARGV_(DB_INT(id)), a, out);
}

enum err promoter_of_user(struct db *db, int64_t shop_id, int64_t user_id, struct arena *a,
                          struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id"
                              " WHERE p.shop_id = ? AND p.user_id = ?";
    return find_one(db, sql, DB_ARGV_(DB_INT(shop_id), DB_INT(user_id)), a, out);
}

static enum err by_invite_code(struct db *db, int64_t shop_id, const char *code, struct arena *a,
                               struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id"
                              " WHERE p.shop_id = ? AND p.invite_code = ?";
    return find_one(db, sql, DB_ARGV_(DB_INT(shop_id), DB_STR(code)), a, out);
}

/* RULE: EXPERIENCE-FIRST - a delivered order from the shop, or a trial it granted. */
static enum err has_experience(struct db *db, int64_t shop_id, int64_t user_id, bool *yes)
{
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM orders WHERE shop_id = ? AND buyer_id = ?"
        " AND delivered_at IS NOT NULL AND status <> 'refunded')"
        " OR EXISTS (SELECT 1 FROM trials WHERE shop_id = ? AND user_id = ?)";
    int64_t v = 0;
    enum err e =
        db_value(db, sql, &v, DB_INT(shop_id), DB_INT(user_id), DB_INT(shop_id), DB_INT(user_id));
    *yes = e == ERR_OK && v != 0;
    return e;
}

/* RULE: NO-CYCLES - is `who` the inviter `from`, or anywhere above it? */
static enum err in_line_above(struct db *db, int64_t from, int64_t who, bool *found)
{
    static const char up[] = "SELECT inviter_id FROM promoters WHERE id = ?";
    *found = false;
    for (int64_t cur = from, steps = 0; cur && steps < PROMOTER_LINE_MAX; steps++) {
        if (cur == who) {
            *found = true;
            return ERR_OK;
        }
        enum err e = db_value(db, up, &cur, DB_INT(cur)); /* NULL reads as 0: the top */
        if (e)
            return e == ERR_NOT_FOUND ? ERR_OK : e;
    }
    return ERR_OK;
}

static enum err insert_promoter(struct db *db, int64_t shop_id, int64_t user_id, int64_t inviter,
                                bool active, int64_t now, int64_t *id)
{
    static const char sql[] = "INSERT INTO promoters (shop_id, user_id, inviter_id, status,"
                              " invite_code, ref_token, created_at, approved_at, updated_at)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    char code[PROMOTER_CODE_LEN + 1], ref[TOKEN_LEN + 1];
    enum err e = ERR_CONFLICT;
    /* a clash of random codes is retried: the first try almost always wins */
    for (int attempt = 0; attempt < 4 && e == ERR_CONFLICT; attempt++) {
        token_code(code, PROMOTER_CODE_LEN);
        token_new(ref);
        e = db_value(db, sql, id, DB_INT(shop_id), DB_INT(user_id), DB_REF(inviter),
                     DB_STR(promoter_status_name(active ? PROMOTER_ACTIVE : PROMOTER_PENDING)),
                     DB_STR(code), DB_STR(ref), DB_INT(now), active ? DB_INT(now) : DB_NULL,
                     DB_INT(now));
    }
    return e;
}

struct apply_args {
    int64_t shop_id, user_id, now, id;
    const char *invite_code;
    struct arena *a;
    struct promoter *out, inviter;
    bool created;
    const char *refused; /* a refusal the audit keeps: its kind */
    struct errinfo *ei;
};

static enum err apply_tx(struct db *db, void *arg)
{
    static const char set_inviter[] = "UPDATE promoters SET inviter_id = ?, updated_at = ?"
                                      " WHERE id = ? AND inviter_id IS NULL";
    struct apply_args *q = arg;
    struct errinfo *ei = q->ei;
    const char *invite_code = q->invite_code;
    struct shop shop;
    struct promoter mine;
    memset(&q->inviter, 0, sizeof q->inviter);
    q->created = false;
    q->refused = NULL;
    enum err e = shop_get(db, q->shop_id, q->a, &shop);
    if (e)
        return e;
    if (invite_code) {
        e = by_invite_code(db, q->shop_id, invite_code, q->a, &q->inviter);
        if (e == ERR_NOT_FOUND)
            return err_set(ei, ERR_NOT_FOUND, "invite_code",
                           "no promoter of this shop has this invite code");
        if (e == ERR_OK && q->inviter.status != PROMOTER_ACTIVE)
            return err_set(ei, ERR_UNPROCESSABLE, "invite_code",
                           "the promoter of this invite code is not active");
        if (e)
            return e;
    }
    e = promoter_of_user(db, q->shop_id, q->user_id, q->a, &mine);
    if (e == ERR_OK) { /* already a promoter: only an inviter may still be added */
        bool cycle = false;
        if (!invite_code || mine.inviter_id)
            return err_set(ei, ERR_ALREADY_PROMOTER, invite_code ? "invite_code" : NULL,
                           invite_code ? "you already have an inviter in this shop"
                                       : "you are already a promoter of this shop");
        /* RULE: NO-SELF */
        if (q->inviter.id == mine.id) {
            q->refused = "self_invite";
            return err_set(ei, ERR_SELF_INVITE, "invite_code", "this is your own invite code");
        }
        /* RULE: NO-CYCLES - the inviter may not be someone in the applicant's own line */
        if ((e = in_line_above(db, q->inviter.id, mine.id, &cycle)))
            return e;
        if (cycle) {
            q->refused = "invite_cycle";
            return err_set(ei, ERR_INVITE_CYCLE, "invite_code",
                           "this promoter joined through your own invitations; an invite line "
                           "cannot loop");
        }
        if ((e = db_run(db, set_inviter, DB_INT(q->inviter.id), DB_INT(q->now), DB_INT(mine.id))))
            return e;
        q->id = mine.id;
    } else if (e == ERR_NOT_FOUND) {
        bool ok = false;
        if ((e = has_experience(db, q->shop_id, q->user_id, &ok)))
            return e;
        if (!ok)
            return err_set(ei, ERR_EXPERIENCE_REQUIRED, NULL,
                           "recommend only what you know: a delivered order from this shop or a "
                           "trial it granted comes first");
        /* RULE: NO-ENTRY-FEE - nothing is charged, and the inviter is paid nothing for this */
        if ((e = insert_promoter(db, q->shop_id, q->user_id, q->inviter.id,
                                 shop.settings.promoter_auto_approve, q->now, &q->id)))
            return e;
        q->created = true;
    } else {
        return e;
    }
    return promoter_get(db, q->id, q->a, q->out);
}

enum err promoter_apply(struct db *db, int64_t shop_id, int64_t user_id, const char *invite_code,
                        struct arena *a, struct promoter *out, bool *created, struct errinfo *ei)
{
    struct apply_args q = {.shop_id = shop_id,
                           .user_id = user_id,
                           .now = clock_now_ms(),
                           .invite_code = invite_code,
                           .a = a,
                           .out = out,
                           .ei = ei};
    enum err e = db_tx_run(db, DB_TX_WRITE, apply_tx, &q);
    *created = e == ERR_OK && q.created;
    if (e && q.refused)
        audit_refusal(db, shop_id, q.refused, user_id, q.inviter.id, invite_code);
    if (*created)
        LOG(LOG_INFO, "promoter_applied", "shop_id=%lld promoter_id=%lld status=%s",
            (long long)shop_id, (long long)q.id, promoter_status_name(out->status));
    return e;
}

struct status_args {
    int64_t id;
    enum promoter_event ev;
    struct errinfo *ei;
};

static enum err status_tx(struct db *db, void *arg)
{
    static const char get[] = "SELECT status FROM promoters WHERE id = ?";
    const struct status_args *q = arg;
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms(), changed = 0;
    enum promoter_status from, to;
    enum err e = db_first(db, get, &st, DB_INT(q->id));
    if (e)
        return e;
    from = promoter_status_parse(db_col_text(st, 0, NULL));
    db_done(st);
    if (!promoter_transition(from, q->ev, &to))
        return err_set(q->ei, ERR_ILLEGAL_TRANSITION, "status", "this promoter is already %s",
                       promoter_status_name(from));
    const char *name = promoter_status_name(to);
    static const char set[] =
        "UPDATE promoters SET status = ?, updated_at = ?,"
        " approved_at = CASE WHEN ? = 'active' AND approved_at IS NULL THEN ? ELSE approved_at END"
        " WHERE id = ? AND status = ?";
    if ((e = db_run_changes(db, set, &changed, DB_STR(name), DB_INT(now), DB_STR(name), DB_INT(now),
                            DB_INT(q->id), DB_STR(promoter_status_name(from)))))
        return e;
    return changed == 1 ? ERR_OK : ERR_RETRY; /* changed meanwhile: run again */
}

enum err promoter_set_status(struct db *db, int64_t id, bool approve, struct errinfo *ei)
{
    struct status_args q = {
        .id = id, .ev = approve ? PROMOTER_APPROVE : PROMOTER_SUSPEND, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, status_tx, &q);
}

/* One row of promoter_list(): the promoter, who invited them, their sales. */
static enum err read_promoter_row(struct db_stmt *st, struct arena *a, void *item)
{
    struct promoter_row *r = item;
    enum err e = read_promoter(st, a, &r->p);
    r->inviter_name = db_col_dup(st, 10, a);
    r->orders = db_col_int64(st, 11);
    r->sales_fen = db_col_int64(st, 12);
    return e;
}

enum err promoter_list(struct db *db, int64_t shop_id, int64_t inviter_id, int64_t before_id,
                       int64_t limit, struct arena *a, struct promoter_row **out, size_t *n,
                       bool *more)
{
    static const char sql[] =
        "SELECT " PROMOTER_COLS ", iu.display_name,"
        " (SELECT COUNT(*) FROM orders o WHERE o.promoter_id = p.id AND o.paid_at IS NOT NULL"
        "  AND o.status <> 'refunded'),"
        " (SELECT COALESCE(SUM(o.total_fen - o.refunded_fen), 0) FROM orders o"
        "  WHERE o.promoter_id = p.id AND o.paid_at IS NOT NULL)"
        " FROM promoters p JOIN users u ON u.id = p.user_id"
        " LEFT JOIN promoters ip ON ip.id = p.inviter_id LEFT JOIN users iu ON iu.id = ip.user_id"
        " WHERE p.shop_id = ? AND (? = 0 OR p.inviter_id = ?) AND p.id < ?"
        " ORDER BY p.id DESC LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_promoter_row, a, &items, n, more,
                         DB_INT(shop_id), DB_INT(inviter_id), DB_INT(inviter_id),
                         DB_INT(before_id > 0 ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

/* --- bindings --- */

static enum err history(struct db *db, int64_t shop_id, int64_t customer, int64_t promoter,
                        const char *kind, int64_t now, int64_t expires)
{
    static const char sql[] = "INSERT INTO binding_history (shop_id, customer_id, promoter_id,"
                              " kind, at, expires_at) VALUES (?, ?, ?, ?, ?, ?)";
    return db_run(db, sql, DB_INT(shop_id), DB_INT(customer), DB_INT(promoter), DB_STR(kind),
                  DB_INT(now), DB_REF(expires));
}

/*
 * The customer's current promoter in the shop (0: none): a binding that has
 * not expired and whose promoter is active.
 */
static enum err bound_promoter(struct db *db, int64_t shop_id, int64_t customer, int64_t now,
                               int64_t *promoter, bool *row_exists)
{
    static const char sql[] = "SELECT b.promoter_id, b.expires_at, p.status FROM bindings b"
                              " JOIN promoters p ON p.id = b.promoter_id"
                              " WHERE b.shop_id = ? AND b.customer_id = ?";
    struct db_stmt *st = NULL;
    *promoter = 0;
    enum err e = db_first(db, sql, &st, DB_INT(shop_id), DB_INT(customer));
    *row_exists = e == ERR_OK;
    if (e)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    if (db_col_int64(st, 1) > now &&
        promoter_status_parse(db_col_text(st, 2, NULL)) == PROMOTER_ACTIVE)
        *promoter = db_col_int64(st, 0);
    db_done(st);
    return ERR_OK;
}

/* RULE: BINDING - binds `customer` to `promoter` unless an active binding holds. */
static enum err bind_if_free(struct db *db, int64_t shop_id, int64_t customer, int64_t promoter,
                             int64_t now, bool *bound)
{
    static const char days[] = "SELECT binding_days FROM shops WHERE id = ?";
    int64_t current = 0, days_of = 0;
    bool exists = false;
    enum err e = bound_promoter(db, shop_id, customer, now, &current, &exists);
    if (e || current) {
        *bound = current == promoter;
        return e;
    }
    if ((e = db_value(db, days, &days_of, DB_INT(shop_id))))
        return e;
    int64_t expires = now + days_of * MS_PER_DAY;
    static const char upd[] = "UPDATE bindings SET promoter_id = ?, bound_at = ?, expires_at = ?"
                              " WHERE shop_id = ? AND customer_id = ?";
    static const char ins[] = "INSERT INTO bindings (shop_id, customer_id, promoter_id, bound_at,"
                              " expires_at) VALUES (?, ?, ?, ?, ?)";
    if (exists)
        e = db_run(db, upd, DB_INT(promoter), DB_INT(now), DB_INT(expires), DB_INT(shop_id),
                   DB_INT(customer));
    else
        e = db_run(db, ins, DB_INT(shop_id), DB_INT(customer), DB_INT(promoter), DB_INT(now),
                   DB_INT(expires));
    if (e == ERR_CONFLICT)
        e = ERR_RETRY; /* bound by a racing request: run again to see by whom */
    if (e == ERR_OK)
        e = history(db, shop_id, customer, promoter, exists ? "replaced" : "bound", now, expires);
    *bound = e == ERR_OK;
    return e;
}

#define BINDING_SELECT                                                                             \
    "SELECT b.shop_id, b.customer_id, b.promoter_id, pu.display_name, cu.display_name,"            \
    " b.bound_at, b.expires_at FROM bindings b JOIN promoters p ON p.id = b.promoter_id"           \
    " JOIN users pu ON pu.id = p.user_id JOIN users cu ON cu.id = b.customer_id "

static enum err read_binding(struct db_stmt *st, struct arena *a, void *item)
{
    struct binding *b = item;
    b->shop_id = db_col_int64(st, 0);
    b->customer_id = db_col_int64(st, 1);
    b->promoter_id = db_col_int64(st, 2);
    b->promoter_name = db_col_dup(st, 3, a);
    b->customer_name = db_col_dup(st, 4, a);
    b->bound_at_ms = db_col_int64(st, 5);
    b->expires_at_ms = db_col_int64(st, 6);
    return b->promoter_name && b->customer_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err binding_get(struct db *db, int64_t shop_id, int64_t customer_id, struct arena *a,
                     struct binding *out)
{
    static const char sql[] = BINDING_SELECT "WHERE b.shop_id = ? AND b.customer_id = ?"
                                             " AND b.expires_at > ? AND p.status = 'active'";
    return db_read_one(db, sql, read_binding, a, out, DB_INT(shop_id), DB_INT(customer_id),
                       DB_INT(clock_now_ms()));
}

struct unbind_args {
    int64_t shop_id, customer_id;
};

static enum err unbind_tx(struct db *db, void *arg)
{
    static const char sql[] = "DELETE FROM bindings WHERE shop_id = ? AND customer_id = ?"
                              " AND expires_at > ? RETURNING promoter_id";
    const struct unbind_args *q = arg;
    int64_t now = clock_now_ms(), promoter = 0;
    enum err e =
        db_value(db, sql, &promoter, DB_INT(q->shop_id), DB_INT(q->customer_id), DB_INT(now));
    return e ? e : history(db, q->shop_id, q->customer_id, promoter, "unbound", now, 0);
}

enum err binding_remove(struct db *db, int64_t shop_id, int64_t customer_id)
{
    struct unbind_args q = {.shop_id = shop_id, .customer_id = customer_id};
    return db_tx_run(db, DB_TX_WRITE, unbind_tx, &q);
}

enum err binding_list(struct db *db, int64_t promoter_id, int64_t limit, struct arena *a,
                      struct binding **out, size_t *n)
{
    static const char sql[] = BINDING_SELECT "WHERE b.promoter_id = ? AND b.expires_at > ?"
                                             " ORDER BY b.bound_at DESC LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_binding, a, &items, n, NULL,
                         DB_INT(promoter_id), DB_INT(clock_now_ms()), DB_INT(limit));
    *out = items;
    return e;
}

static enum err by_token(struct db *db, const char *token, struct arena *a, struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id WHERE p.ref_token = ?";
    enum err e = find_one(db, sql, DB_ARGV_(DB_STR(token)), a, out);
    if (e == ERR_OK && out->status != PROMOTER_ACTIVE)
        e = ERR_NOT_FOUND; /* a suspended promoter's links lead nowhere */
    return e;
}

struct link_args {
    const char *token;
    int64_t visitor;
    struct arena *a;
    struct landing *out;
};

/* Reads the link's promoter and whether the visitor is bound to them. */
static enum err link_read_tx(struct db *db, void *arg)
{
    struct link_args *q = arg;
    struct promoter p;
    bool exists = false;
    int64_t current = 0;
    enum err e = by_token(db, q->token, q->a, &p);
    if (e)
        return e;
    if (q->visitor && q->visitor != p.user_id &&
        (e = bound_promoter(db, p.shop_id, q->visitor, clock_now_ms(), &current, &exists)))
        return e;
    q->out->shop_id = p.shop_id;
    q->out->promoter_id = p.id;
    q->out->promoter_name = p.display_name;
    q->out->bound = current && current == p.id;
    return ERR_OK;
}

/* RULE: BINDING - binds the visitor to the link's promoter unless someone holds them. */
static enum err link_bind_tx(struct db *db, void *arg)
{
    struct link_args *q = arg;
    struct promoter p;
    enum err e = by_token(db, q->token, q->a, &p);
    if (e)
        return e;
    if (q->visitor != p.user_id &&
        (e = bind_if_free(db, p.shop_id, q->visitor, p.id, clock_now_ms(), &q->out->bound)))
        return e;
    q->out->shop_id = p.shop_id;
    q->out->promoter_id = p.id;
    q->out->promoter_name = p.display_name;
    return ERR_OK;
}

enum err promoter_open_link(struct db *db, const char *token, int64_t visitor, struct arena *a,
                            struct landing *out)
{
    memset(out, 0, sizeof *out);
    struct link_args q = {.token = token, .visitor = visitor, .a = a, .out = out};
    return db_tx_run(db, DB_TX_READ, link_read_tx, &q);
}

static enum err share_of_token(struct db *db, int64_t shop_id, const char *token,
                               struct attribution *out, int64_t *promoter);

/* A share's token: its shop and nearest active promoter, bound if free. */
static enum err visit_share_tx(struct db *db, void *arg)
{
    static const char shop[] = "SELECT shop_id FROM shares WHERE token = ?";
    struct link_args *q = arg;
    struct attribution at;
    struct promoter p;
    int64_t shop_id = 0, promoter = 0;
    enum err e = db_value(db, shop, &shop_id, DB_STR(q->token));
    if (!e)
        e = share_of_token(db, shop_id, q->token, &at, &promoter);
    if (e)
        return e;
    q->out->shop_id = shop_id;
    if (!promoter)
        return ERR_OK; /* the shop's own share: nobody to bind to */
    if ((e = promoter_get(db, promoter, q->a, &p)))
        return e;
    q->out->promoter_id = p.id;
    q->out->promoter_name = p.display_name;
    if (q->visitor == p.user_id)
        return ERR_OK;
    return bind_if_free(db, shop_id, q->visitor, p.id, clock_now_ms(), &q->out->bound);
}

enum err promoter_visit_link(struct db *db, const char *token, int64_t visitor, struct arena *a,
                             struct landing *out)
{
    memset(out, 0, sizeof *out);
    struct link_args q = {.token = token, .visitor = visitor, .a = a, .out = out};
    enum err e = db_tx_run(db, DB_TX_WRITE, link_bind_tx, &q);
    if (e == ERR_NOT_FOUND)
        e = db_tx_run(db, DB_TX_WRITE, visit_share_tx, &q);
    return e;
}

/* A share of the shop by its token: its id, hop, and the nearest active promoter on its chain
 * now (the sharer, if an active promoter, else at hop 2 the root sharer, if one); ERR_NOT_FOUND
 * when there is no such share. */
static enum err share_of_token(struct db *db, int64_t shop_id, const char *token,
                               struct attribution *out, int64_t *promoter)
{
    static const char sql[] =
        "SELECT s.id, s.hop, (SELECT p.id FROM promoters p WHERE p.shop_id = s.shop_id"
        "  AND p.user_id = s.sharer_id AND p.status = 'active'),"
        " (SELECT p.id FROM promoters p JOIN shares r ON r.sharer_id = p.user_id"
        "  WHERE r.id = s.root_id AND p.shop_id = r.shop_id AND p.status = 'active')"
        " FROM shares s WHERE s.token = ? AND s.shop_id = ?";
    struct db_stmt *st = NULL;
    enum err e = db_first(db, sql, &st, DB_STR(token), DB_INT(shop_id));
    if (e)
        return e;
    out->share_id = db_col_int64(st, 0);
    out->share_hop = (int)db_col_int64(st, 1);
    *promoter = db_col_int64(st, 2) ? db_col_int64(st, 2) : db_col_int64(st, 3);
    db_done(st);
    return ERR_OK;
}

enum err promoter_attribute(struct db *db, int64_t shop_id, int64_t buyer_id,
                            const char *share_token, int64_t now, struct attribution *out)
{
    struct promoter p;
    struct arena a;
    bool exists = false;
    int64_t bound = 0, from_share = 0;
    memset(out, 0, sizeof *out);
    enum err e =
        share_token ? share_of_token(db, shop_id, share_token, out, &from_share) : ERR_NOT_FOUND;
    bool is_share = e == ERR_OK;
    if (e && e != ERR_NOT_FOUND)
        return e;
    if ((e = bound_promoter(db, shop_id, buyer_id, now, &bound, &exists)))
        return e;
    if (bound) {
        out->promoter_id = bound;
        out->via = "binding";
        return ERR_OK;
    }
    if (!share_token || (is_share && !from_share))
        return ERR_OK;
    arena_init(&a, 16 * 1024);
    e = is_share ? promoter_get(db, from_share, &a, &p) : by_token(db, share_token, &a, &p);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && p.shop_id != shop_id)) {
        e = ERR_OK; /* an old or foreign link does not stop a purchase */
    } else if (e == ERR_OK && p.user_id == buyer_id) {
        /* RULE: NO-SELF-COMMISSION - buying through your own link earns nothing */
        e = audit_event_add(db, shop_id, "self_purchase", buyer_id, p.id,
                            is_share ? "own share" : "own referral link");
    } else if (e == ERR_OK) {
        bool now_bound = false;
        out->promoter_id = p.id;
        out->via = is_share ? "share" : "link";
        e = bind_if_free(db, shop_id, buyer_id, p.id, now, &now_bound);
    }
    arena_release(&a);
    return e;
}

static enum err read_override(struct db_stmt *st, struct arena *a, void *item)
{
    struct rate_override *x = item;
    x->product_id = db_col_int64(st, 0);
    x->title = db_col_dup(st, 1, a);
    x->l1_bps = db_col_int64(st, 2);
    x->l2_bps = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3);
    return x->title ? ERR_OK : ERR_TOO_LARGE;
}

enum err promoter_rate_overrides(struct db *db, int64_t shop_id, struct arena *a,
                                 struct rate_override **out, size_t *n)
{
    static const char sql[] = "SELECT id, title, l1_bps, l2_bps FROM products WHERE shop_id = ?"
                              " AND status = 'on_sale' AND l1_bps IS NOT NULL ORDER BY id LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, PROMOTER_OVERRIDES_MAX, sizeof **out, read_override, a, &items, n,
                         NULL, DB_INT(shop_id), DB_INT(PROMOTER_OVERRIDES_MAX));
    *out = items;
    return e;
}
