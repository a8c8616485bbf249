#include "domain/promoter.h"

#include <string.h>

#include "domain/audit.h"
#include "domain/shop.h"
#include "domain/token.h"
#include "util/clock.h"
#include "util/log.h"

static const char *const status_names[] = {"pending", "active", "suspended"};

const char *promoter_status_name(enum promoter_status s)
{
    return status_names[s];
}

static enum promoter_status parse_status(const char *s)
{
    for (int i = 0; i <= PROMOTER_SUSPENDED; i++)
        if (s && strcmp(s, status_names[i]) == 0)
            return (enum promoter_status)i;
    return PROMOTER_SUSPENDED; /* unknown: earns nothing */
}

/* --- audit events: what the rules refused --- */

/* A refused attempt is kept for the audit in a transaction of its own. */
static void audit_refusal(struct db *db, int64_t shop_id, const char *kind, int64_t user_id,
                          int64_t ref_id, const char *detail)
{
    enum err e = db_begin(db, DB_TX_WRITE);
    if (!e)
        e = audit_event_add(db, shop_id, kind, user_id, ref_id, detail);
    if (!e)
        e = db_commit(db);
    db_rollback(db);
    LOG(LOG_INFO, "rule_refused", "kind=%s shop_id=%lld user_id=%lld result=%s", kind,
        (long long)shop_id, (long long)user_id, e ? "not_recorded" : "recorded");
}

/* --- trials --- */

enum err trial_grant(struct db *db, int64_t shop_id, int64_t product_id, int64_t user_id,
                     int64_t granted_by, int64_t *id, struct errinfo *ei)
{
    static const char product[] = "SELECT shop_id, trial_available FROM products WHERE id = ?";
    static const char user[] = "SELECT 1 FROM users WHERE id = ?";
    static const char ins[] = "INSERT INTO trials (shop_id, product_id, user_id, granted_by,"
                              " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        return e;
    if ((e = db_prepare(db, product, &st)))
        goto out;
    db_bind_int64(st, 1, product_id);
    e = db_step(st, &row);
    bool mine = row && db_col_int64(st, 0) == shop_id;
    bool offered = mine && db_col_int64(st, 1) != 0;
    db_done(st);
    if (e == ERR_OK && !mine)
        e = err_set(ei, ERR_NOT_FOUND, "product_id", "this shop has no such product");
    if (e == ERR_OK && !offered)
        e = err_set(ei, ERR_UNPROCESSABLE, "product_id",
                    "this product offers no trial (set trial_available first)");
    if (e || (e = db_prepare(db, user, &st)))
        goto out;
    db_bind_int64(st, 1, user_id);
    e = db_step(st, &row);
    db_done(st);
    if (e == ERR_OK && !row)
        e = err_set(ei, ERR_NOT_FOUND, "user_id", "no such member");
    if (e || (e = db_prepare(db, ins, &st)))
        goto out;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, product_id);
    db_bind_int64(st, 3, user_id);
    db_bind_int64(st, 4, granted_by);
    db_bind_int64(st, 5, clock_now_ms());
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        *id = db_col_int64(st, 0);
    db_done(st);
    if (e == ERR_CONFLICT)
        e = err_set(ei, ERR_CONFLICT, "user_id", "this member already has a trial of this product");
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
    return e;
}

/* --- promoters --- */

#define PROMOTER_COLS                                                                              \
    "p.id, p.shop_id, p.user_id, p.inviter_id, u.display_name, p.status, p.invite_code,"           \
    " p.ref_token, p.created_at, p.approved_at"

static enum err read_promoter(struct db_stmt *st, struct arena *a, struct promoter *p)
{
    p->id = db_col_int64(st, 0);
    p->shop_id = db_col_int64(st, 1);
    p->user_id = db_col_int64(st, 2);
    p->inviter_id = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3);
    p->display_name = arena_strdup(a, db_col_text(st, 4, NULL));
    p->status = parse_status(db_col_text(st, 5, NULL));
    p->invite_code = arena_strdup(a, db_col_text(st, 6, NULL));
    p->ref_token = arena_strdup(a, db_col_text(st, 7, NULL));
    p->created_at_ms = db_col_int64(st, 8);
    p->approved_at_ms = db_col_is_null(st, 9) ? 0 : db_col_int64(st, 9);
    return p->display_name && p->invite_code && p->ref_token ? ERR_OK : ERR_TOO_LARGE;
}

static enum err find_one(struct db *db, const char *sql, int64_t a1, int64_t a2, const char *s,
                         struct arena *a, struct promoter *out)
{
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    int i = 1;
    if (a1)
        db_bind_int64(st, i++, a1);
    if (a2)
        db_bind_int64(st, i++, a2);
    if (s)
        db_bind_str(st, i, s);
    e = db_step(st, &row);
    if (e == ERR_OK)
        e = row ? read_promoter(st, a, out) : ERR_NOT_FOUND;
    db_done(st);
    return e;
}

enum err promoter_get(struct db *db, int64_t id, struct arena *a, struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id WHERE p.id = ?";
    return find_one(db, sql, id, 0, NULL, a, out);
}

enum err promoter_of_user(struct db *db, int64_t shop_id, int64_t user_id, struct arena *a,
                          struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id"
                              " WHERE p.shop_id = ? AND p.user_id = ?";
    return find_one(db, sql, shop_id, user_id, NULL, a, out);
}

static enum err by_invite_code(struct db *db, int64_t shop_id, const char *code, struct arena *a,
                               struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id"
                              " WHERE p.shop_id = ? AND p.invite_code = ?";
    return find_one(db, sql, shop_id, 0, code, a, out);
}

/* RULE: EXPERIENCE-FIRST - a delivered order from the shop, or a trial it granted. */
static enum err has_experience(struct db *db, int64_t shop_id, int64_t user_id, bool *yes)
{
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM orders WHERE shop_id = ? AND buyer_id = ?"
        " AND delivered_at IS NOT NULL AND status <> 'refunded')"
        " OR EXISTS (SELECT 1 FROM trials WHERE shop_id = ? AND user_id = ?)";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, user_id);
    db_bind_int64(st, 3, shop_id);
    db_bind_int64(st, 4, user_id);
    e = db_step(st, &row);
    *yes = e == ERR_OK && row && db_col_int64(st, 0) != 0;
    db_done(st);
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
        struct db_stmt *st = NULL;
        enum err e = db_row_by_id(db, up, cur, &st);
        if (e == ERR_NOT_FOUND)
            return ERR_OK;
        if (e)
            return e;
        cur = db_col_is_null(st, 0) ? 0 : db_col_int64(st, 0);
        db_done(st);
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
        struct db_stmt *st = NULL;
        bool row = false;
        token_code(code, PROMOTER_CODE_LEN);
        token_new(ref);
        if ((e = db_prepare(db, sql, &st)))
            return e;
        db_bind_int64(st, 1, shop_id);
        db_bind_int64(st, 2, user_id);
        if (inviter)
            db_bind_int64(st, 3, inviter);
        else
            db_bind_null(st, 3);
        db_bind_str(st, 4, active ? "active" : "pending");
        db_bind_str(st, 5, code);
        db_bind_str(st, 6, ref);
        db_bind_int64(st, 7, now);
        if (active)
            db_bind_int64(st, 8, now);
        else
            db_bind_null(st, 8);
        db_bind_int64(st, 9, now);
        e = db_step(st, &row);
        if (e == ERR_OK && row)
            *id = db_col_int64(st, 0);
        db_done(st);
    }
    return e;
}

enum err promoter_apply(struct db *db, int64_t shop_id, int64_t user_id, const char *invite_code,
                        struct arena *a, struct promoter *out, bool *created, struct errinfo *ei)
{
    static const char set_inviter[] = "UPDATE promoters SET inviter_id = ?, updated_at = ?"
                                      " WHERE id = ? AND inviter_id IS NULL";
    struct shop shop;
    struct promoter mine, inviter = {0};
    const char *refused = NULL;
    int64_t id = 0, now = clock_now_ms();
    *created = false;
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        return e;
    if ((e = shop_get(db, shop_id, a, &shop)))
        goto out;
    if (invite_code) {
        e = by_invite_code(db, shop_id, invite_code, a, &inviter);
        if (e == ERR_NOT_FOUND)
            e = err_set(ei, ERR_NOT_FOUND, "invite_code",
                        "no promoter of this shop has this invite code");
        if (e == ERR_OK && inviter.status != PROMOTER_ACTIVE)
            e = err_set(ei, ERR_UNPROCESSABLE, "invite_code",
                        "the promoter of this invite code is not active");
        if (e)
            goto out;
    }
    e = promoter_of_user(db, shop_id, user_id, a, &mine);
    if (e == ERR_OK) { /* already a promoter: only an inviter may still be added */
        bool cycle = false;
        if (!invite_code || mine.inviter_id) {
            e = err_set(ei, ERR_ALREADY_PROMOTER, invite_code ? "invite_code" : NULL,
                        invite_code ? "you already have an inviter in this shop"
                                    : "you are already a promoter of this shop");
            goto out;
        }
        /* RULE: NO-SELF */
        if (inviter.id == mine.id) {
            refused = "self_invite";
            e = err_set(ei, ERR_SELF_INVITE, "invite_code", "this is your own invite code");
            goto out;
        }
        /* RULE: NO-CYCLES - the inviter may not be someone in the applicant's own line */
        if ((e = in_line_above(db, inviter.id, mine.id, &cycle)))
            goto out;
        if (cycle) {
            refused = "invite_cycle";
            e = err_set(ei, ERR_INVITE_CYCLE, "invite_code",
                        "this promoter joined through your own invitations; an invite line "
                        "cannot loop");
            goto out;
        }
        struct db_stmt *st = NULL;
        if ((e = db_prepare(db, set_inviter, &st)))
            goto out;
        db_bind_int64(st, 1, inviter.id);
        db_bind_int64(st, 2, now);
        db_bind_int64(st, 3, mine.id);
        e = db_step_done(st);
        db_done(st);
        id = mine.id;
    } else if (e == ERR_NOT_FOUND) {
        bool ok = false;
        if ((e = has_experience(db, shop_id, user_id, &ok)))
            goto out;
        if (!ok) {
            e = err_set(ei, ERR_EXPERIENCE_REQUIRED, NULL,
                        "recommend only what you know: a delivered order from this shop or a "
                        "trial it granted comes first");
            goto out;
        }
        /* RULE: NO-ENTRY-FEE - nothing is charged, and the inviter is paid nothing for this */
        e = insert_promoter(db, shop_id, user_id, inviter.id, shop.settings.promoter_auto_approve,
                            now, &id);
        *created = e == ERR_OK;
    }
    if (e == ERR_OK)
        e = promoter_get(db, id, a, out);
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
    if (refused)
        audit_refusal(db, shop_id, refused, user_id, inviter.id, invite_code);
    if (e == ERR_OK && *created)
        LOG(LOG_INFO, "promoter_applied", "shop_id=%lld promoter_id=%lld status=%s",
            (long long)shop_id, (long long)id, promoter_status_name(out->status));
    return e;
}

enum err promoter_set_status(struct db *db, int64_t id, bool approve, struct errinfo *ei)
{
    static const char sql[] =
        "UPDATE promoters SET status = ?, updated_at = ?,"
        " approved_at = CASE WHEN ? = 'active' AND approved_at IS NULL THEN ? ELSE approved_at END"
        " WHERE id = ? AND status <> ?";
    struct db_stmt *st = NULL;
    const char *to = approve ? "active" : "suspended";
    int64_t now = clock_now_ms();
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        return e;
    if ((e = db_prepare(db, sql, &st)))
        goto out;
    db_bind_str(st, 1, to);
    db_bind_int64(st, 2, now);
    db_bind_str(st, 3, to);
    db_bind_int64(st, 4, now);
    db_bind_int64(st, 5, id);
    db_bind_str(st, 6, to);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = err_set(ei, ERR_ILLEGAL_TRANSITION, "status", "this promoter is already %s", to);
    db_done(st);
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
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
    struct db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    *more = false;
    struct promoter_row *rows = arena_alloc(a, (size_t)(limit + 1) * sizeof *rows);
    if (!rows)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, inviter_id);
    db_bind_int64(st, 3, inviter_id);
    db_bind_int64(st, 4, before_id > 0 ? before_id : INT64_MAX);
    db_bind_int64(st, 5, limit + 1);
    while ((e = db_step(st, &row)) == ERR_OK && row) {
        if (*n == (size_t)limit) {
            *more = true;
            break;
        }
        struct promoter_row *r = &rows[(*n)++];
        if ((e = read_promoter(st, a, &r->p)))
            break;
        r->inviter_name =
            db_col_is_null(st, 10) ? NULL : arena_strdup(a, db_col_text(st, 10, NULL));
        r->orders = db_col_int64(st, 11);
        r->sales_fen = db_col_int64(st, 12);
    }
    db_done(st);
    *out = rows;
    return e;
}

/* --- bindings --- */

static enum err history(struct db *db, int64_t shop_id, int64_t customer, int64_t promoter,
                        const char *kind, int64_t now, int64_t expires)
{
    static const char sql[] = "INSERT INTO binding_history (shop_id, customer_id, promoter_id,"
                              " kind, at, expires_at) VALUES (?, ?, ?, ?, ?, ?)";
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, customer);
    db_bind_int64(st, 3, promoter);
    db_bind_str(st, 4, kind);
    db_bind_int64(st, 5, now);
    if (expires)
        db_bind_int64(st, 6, expires);
    else
        db_bind_null(st, 6);
    e = db_step_done(st);
    db_done(st);
    return e;
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
    bool row = false;
    *promoter = 0;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, customer);
    e = db_step(st, &row);
    *row_exists = e == ERR_OK && row;
    if (*row_exists && db_col_int64(st, 1) > now && strcmp(db_col_text(st, 2, NULL), "active") == 0)
        *promoter = db_col_int64(st, 0);
    db_done(st);
    return e;
}

/* RULE: BINDING - binds `customer` to `promoter` unless an active binding holds. */
static enum err bind_if_free(struct db *db, int64_t shop_id, int64_t customer, int64_t promoter,
                             int64_t now, bool *bound)
{
    static const char days[] = "SELECT binding_days FROM shops WHERE id = ?";
    static const char ins[] = "INSERT INTO bindings (shop_id, customer_id, promoter_id, bound_at,"
                              " expires_at) VALUES (?, ?, ?, ?, ?)";
    static const char upd[] = "UPDATE bindings SET promoter_id = ?, bound_at = ?, expires_at = ?"
                              " WHERE shop_id = ? AND customer_id = ?";
    struct db_stmt *st = NULL;
    int64_t current = 0;
    bool exists = false;
    enum err e = bound_promoter(db, shop_id, customer, now, &current, &exists);
    if (e || current) {
        *bound = current == promoter;
        return e;
    }
    if ((e = db_row_by_id(db, days, shop_id, &st)))
        return e;
    int64_t expires = now + db_col_int64(st, 0) * MS_PER_DAY;
    db_done(st);
    if ((e = db_prepare(db, exists ? upd : ins, &st)))
        return e;
    if (exists) {
        db_bind_int64(st, 1, promoter);
        db_bind_int64(st, 2, now);
        db_bind_int64(st, 3, expires);
        db_bind_int64(st, 4, shop_id);
        db_bind_int64(st, 5, customer);
    } else {
        db_bind_int64(st, 1, shop_id);
        db_bind_int64(st, 2, customer);
        db_bind_int64(st, 3, promoter);
        db_bind_int64(st, 4, now);
        db_bind_int64(st, 5, expires);
    }
    e = db_step_done(st);
    db_done(st);
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

static enum err read_binding(struct db_stmt *st, struct arena *a, struct binding *b)
{
    b->shop_id = db_col_int64(st, 0);
    b->customer_id = db_col_int64(st, 1);
    b->promoter_id = db_col_int64(st, 2);
    b->promoter_name = arena_strdup(a, db_col_text(st, 3, NULL));
    b->customer_name = arena_strdup(a, db_col_text(st, 4, NULL));
    b->bound_at_ms = db_col_int64(st, 5);
    b->expires_at_ms = db_col_int64(st, 6);
    return b->promoter_name && b->customer_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err binding_get(struct db *db, int64_t shop_id, int64_t customer_id, struct arena *a,
                     struct binding *out)
{
    static const char sql[] = BINDING_SELECT "WHERE b.shop_id = ? AND b.customer_id = ?"
                                             " AND b.expires_at > ? AND p.status = 'active'";
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, customer_id);
    db_bind_int64(st, 3, clock_now_ms());
    e = db_step(st, &row);
    if (e == ERR_OK)
        e = row ? read_binding(st, a, out) : ERR_NOT_FOUND;
    db_done(st);
    return e;
}

enum err binding_remove(struct db *db, int64_t shop_id, int64_t customer_id)
{
    static const char sql[] = "DELETE FROM bindings WHERE shop_id = ? AND customer_id = ?"
                              " AND expires_at > ? RETURNING promoter_id";
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t now = clock_now_ms(), promoter = 0;
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        return e;
    if ((e = db_prepare(db, sql, &st)))
        goto out;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, customer_id);
    db_bind_int64(st, 3, now);
    e = db_step(st, &row);
    if (e == ERR_OK && row)
        promoter = db_col_int64(st, 0);
    db_done(st);
    if (e == ERR_OK && !row)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        e = history(db, shop_id, customer_id, promoter, "unbound", now, 0);
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
    return e;
}

enum err binding_list(struct db *db, int64_t promoter_id, int64_t limit, struct arena *a,
                      struct binding **out, size_t *n)
{
    static const char sql[] = BINDING_SELECT "WHERE b.promoter_id = ? AND b.expires_at > ?"
                                             " ORDER BY b.bound_at DESC LIMIT ?";
    struct db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    struct binding *rows = arena_alloc(a, (size_t)limit * sizeof *rows + 1);
    if (!rows)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, promoter_id);
    db_bind_int64(st, 2, clock_now_ms());
    db_bind_int64(st, 3, limit);
    while ((e = db_step(st, &row)) == ERR_OK && row && *n < (size_t)limit)
        if ((e = read_binding(st, a, &rows[(*n)++])))
            break;
    db_done(st);
    *out = rows;
    return e;
}

static enum err by_token(struct db *db, const char *token, struct arena *a, struct promoter *out)
{
    static const char sql[] = "SELECT " PROMOTER_COLS " FROM promoters p"
                              " JOIN users u ON u.id = p.user_id WHERE p.ref_token = ?";
    enum err e = find_one(db, sql, 0, 0, token, a, out);
    if (e == ERR_OK && out->status != PROMOTER_ACTIVE)
        e = ERR_NOT_FOUND; /* a suspended promoter's links lead nowhere */
    return e;
}

enum err promoter_open_link(struct db *db, const char *token, int64_t visitor, struct arena *a,
                            struct landing *out)
{
    struct promoter p;
    int64_t current = 0;
    bool exists = false, write = false;
    memset(out, 0, sizeof *out);
    /* Links are opened far more often than they bind: a read first, and a write
     * transaction only when a binding is to be made. */
    for (int pass = 0; pass < 2; pass++) {
        enum err e = db_begin(db, write ? DB_TX_WRITE : DB_TX_READ);
        if (e)
            return e;
        e = by_token(db, token, a, &p);
        bool self = e == ERR_OK && visitor == p.user_id;
        if (e == ERR_OK && visitor && !self && !write)
            e = bound_promoter(db, p.shop_id, visitor, clock_now_ms(), &current, &exists);
        if (e == ERR_OK && visitor && !self && write)
            e = bind_if_free(db, p.shop_id, visitor, p.id, clock_now_ms(), &out->bound);
        if (e == ERR_OK) {
            out->shop_id = p.shop_id;
            out->promoter_id = p.id;
            out->promoter_name = p.display_name;
            if (!write)
                out->bound = current && current == p.id;
            e = db_commit(db);
        }
        db_rollback(db);
        /* RULE: BINDING - nobody holds the visitor: bind them, in a write transaction */
        if (e || write || !visitor || self || current)
            return e;
        write = true;
    }
    return ERR_OK;
}

enum err promoter_attribute(struct db *db, int64_t shop_id, int64_t buyer_id,
                            const char *share_token, int64_t now, int64_t *promoter_id,
                            const char **via)
{
    struct promoter p;
    struct arena a;
    bool exists = false;
    *via = NULL;
    enum err e = bound_promoter(db, shop_id, buyer_id, now, promoter_id, &exists);
    if (e || *promoter_id) {
        *via = *promoter_id ? "binding" : NULL;
        return e;
    }
    if (!share_token)
        return ERR_OK;
    arena_init(&a, 16 * 1024);
    e = by_token(db, share_token, &a, &p);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && p.shop_id != shop_id)) {
        e = ERR_OK; /* an old or foreign link does not stop a purchase */
    } else if (e == ERR_OK && p.user_id == buyer_id) {
        /* RULE: NO-SELF-COMMISSION - buying through your own link earns nothing */
        e = audit_event_add(db, shop_id, "self_purchase", buyer_id, p.id, "own referral link");
    } else if (e == ERR_OK) {
        bool bound = false;
        *promoter_id = p.id;
        *via = "link";
        e = bind_if_free(db, shop_id, buyer_id, p.id, now, &bound);
    }
    arena_release(&a);
    return e;
}

enum err promoter_rate_overrides(struct db *db, int64_t shop_id, struct arena *a,
                                 struct rate_override **out, size_t *n)
{
    static const char sql[] = "SELECT id, title, l1_bps, l2_bps FROM products WHERE shop_id = ?"
                              " AND status = 'on_sale' AND l1_bps IS NOT NULL ORDER BY id LIMIT ?";
    struct db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    struct rate_override *o = arena_alloc(a, PROMOTER_OVERRIDES_MAX * sizeof *o);
    if (!o)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, shop_id);
    db_bind_int64(st, 2, PROMOTER_OVERRIDES_MAX);
    while ((e = db_step(st, &row)) == ERR_OK && row && *n < PROMOTER_OVERRIDES_MAX) {
        struct rate_override *x = &o[(*n)++];
        x->product_id = db_col_int64(st, 0);
        x->title = arena_strdup(a, db_col_text(st, 1, NULL));
        x->l1_bps = db_col_int64(st, 2);
        x->l2_bps = db_col_is_null(st, 3) ? 0 : db_col_int64(st, 3);
        if (!x->title)
            e = ERR_TOO_LARGE;
    }
    db_done(st);
    *out = o;
    return e;
}
