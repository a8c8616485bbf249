/*
 * feed.c - the feed, mutes and reports (feed.h).
 */
#include "domain/feed.h"

#include <string.h>

#include "domain/trust.h"
#include "util/clock.h"
#include "util/names.h"
#include "util/text.h"

/* --- the feed --- */

static enum err read_item(struct db_stmt *st, struct arena *a, void *item)
{
    struct feed_item *f = item;
    f->id = db_col_int64(st, 0);
    f->share_id = db_col_int64(st, 1);
    f->shop_id = db_col_int64(st, 2);
    f->product_id = db_col_int64(st, 3);
    f->hop = (int)db_col_int64(st, 4);
    f->shop_name = db_col_dup(st, 5, a);
    f->product_title = db_col_dup(st, 6, a);
    f->image = db_col_dup(st, 7, a);
    f->price_fen = db_col_int64(st, 8);
    f->sharer_id = db_col_int64(st, 9);
    f->sharer_name = db_col_dup(st, 10, a);
    f->note = db_col_dup(st, 11, a);
    f->token = db_col_dup(st, 12, a);
    f->experience = share_experience_parse(db_col_text(st, 13, NULL));
    f->experienced_at_ms = db_col_int64(st, 14);
    f->matched = db_col_dup(st, 15, a);
    f->similarity_milli = db_col_int64(st, 16);
    f->at_ms = db_col_int64(st, 17);
    f->opened_at_ms = db_col_int64(st, 18);
    f->sharer_rating = (int)db_col_int64(st, 19);
    f->sharer_comment = db_col_dup(st, 20, a);
    return f->shop_name && f->product_title && f->sharer_name && f->note && f->token && f->matched
               ? ERR_OK
               : ERR_TOO_LARGE;
}

/* The sharer's latest feedback on the product (the feedback_products_buyer index). */
#define SHARER_FEEDBACK                                                                            \
    " FROM feedback_products q JOIN feedback f ON f.id = q.feedback_id"                            \
    " WHERE q.buyer_id = s.sharer_id AND q.product_id = a.product_id"                              \
    " ORDER BY q.feedback_id DESC LIMIT 1"

enum err feed_list(struct db *db, int64_t user_id, int64_t before_id, int64_t limit,
                   struct arena *a, struct feed_item **out, size_t *n, bool *more)
{
    /* RULE: MUTES - what the member muted since is gone from the feed too */
    static const char sql[] =
        "SELECT a.id, a.share_id, a.shop_id, a.product_id, a.hop, h.name, p.title,"
        " (SELECT i.file FROM product_images i WHERE i.product_id = p.id"
        "  ORDER BY i.position LIMIT 1), p.price_fen, s.sharer_id, u.display_name, s.note,"
        " s.token, s.experience, s.experienced_at, a.matched, a.similarity_milli, a.at,"
        " a.opened_at, (SELECT f.rating" SHARER_FEEDBACK "), (SELECT f.text" SHARER_FEEDBACK ")"
        " FROM share_audience a JOIN shares s ON s.id = a.share_id"
        " JOIN users u ON u.id = s.sharer_id JOIN products p ON p.id = a.product_id"
        " JOIN shops h ON h.id = a.shop_id"
        " WHERE a.user_id = ? AND a.outcome = 'delivered' AND a.id < ? AND a.hidden_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM mutes x WHERE x.muted_user_id = s.sharer_id"
        "  AND x.user_id = a.user_id)"
        " AND NOT EXISTS (SELECT 1 FROM mutes x WHERE x.muted_shop_id = a.shop_id"
        "  AND x.user_id = a.user_id)"
        " ORDER BY a.id DESC LIMIT ?";
    void *items = NULL;
    enum err e =
        db_list(db, sql, limit, sizeof **out, read_item, a, &items, n, more, DB_INT(user_id),
                DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

enum err feed_open(struct db *db, int64_t user_id, int64_t item_id)
{
    static const char mark[] = "UPDATE share_audience SET opened_at = ? WHERE id = ?"
                               " AND user_id = ? AND outcome = 'delivered' AND opened_at IS NULL";
    static const char mine[] = "SELECT COUNT(*) FROM share_audience WHERE id = ? AND user_id = ?"
                               " AND outcome = 'delivered'";
    int64_t changed = 0, found = 0;
    enum err e = db_run_changes(db, mark, &changed, DB_INT(clock_now_ms()), DB_INT(item_id),
                                DB_INT(user_id));
    if (e || changed)
        return e;
    if ((e = db_value(db, mine, &found, DB_INT(item_id), DB_INT(user_id))))
        return e;
    return found ? ERR_OK : ERR_NOT_FOUND;
}

struct item_args {
    int64_t user_id, item_id, now;
};

static enum err not_interested_tx(struct db *db, void *arg)
{
    static const char product[] = "SELECT product_id FROM share_audience WHERE id = ?"
                                  " AND user_id = ? AND outcome = 'delivered'";
    static const char hide[] = "UPDATE share_audience SET hidden_at = ? WHERE id = ?"
                               " AND hidden_at IS NULL";
    /* learned weights fall by half the product's; those that would reach 0 go */
    static const char forget[] =
        "DELETE FROM member_interests WHERE user_id = ? AND source = 'learned'"
        " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = ?"
        "  AND t.tag = member_interests.tag AND t.weight_milli / 2 >= "
        "member_interests.weight_milli)";
    static const char lower[] =
        "UPDATE member_interests SET weight_milli = weight_milli - (SELECT t.weight_milli / 2"
        " FROM product_tags t WHERE t.product_id = ? AND t.tag = member_interests.tag),"
        " updated_at = ? WHERE user_id = ? AND source = 'learned'"
        " AND tag IN (SELECT tag FROM product_tags WHERE product_id = ?)";
    const struct item_args *q = arg;
    int64_t product_id = 0;
    enum err e = db_value(db, product, &product_id, DB_INT(q->item_id), DB_INT(q->user_id));
    if (!e)
        e = db_run(db, hide, DB_INT(q->now), DB_INT(q->item_id));
    if (!e)
        e = db_run(db, forget, DB_INT(q->user_id), DB_INT(product_id));
    if (!e)
        e = db_run(db, lower, DB_INT(product_id), DB_INT(q->now), DB_INT(q->user_id),
                   DB_INT(product_id));
    return e;
}

enum err feed_not_interested(struct db *db, int64_t user_id, int64_t item_id)
{
    struct item_args q = {.user_id = user_id, .item_id = item_id, .now = clock_now_ms()};
    return db_tx_run(db, DB_TX_WRITE, not_interested_tx, &q);
}

/* --- mutes --- */

#define MUTE_SELECT                                                                                \
    "SELECT x.id, x.muted_user_id, x.muted_shop_id, COALESCE(u.display_name, h.name),"             \
    " x.created_at FROM mutes x LEFT JOIN users u ON u.id = x.muted_user_id"                       \
    " LEFT JOIN shops h ON h.id = x.muted_shop_id "

static enum err read_mute(struct db_stmt *st, struct arena *a, void *item)
{
    struct mute *m = item;
    m->id = db_col_int64(st, 0);
    m->user_id = db_col_int64(st, 1);
    m->shop_id = db_col_int64(st, 2);
    m->name = db_col_dup(st, 3, a);
    m->created_at_ms = db_col_int64(st, 4);
    return m->name ? ERR_OK : ERR_TOO_LARGE;
}

struct mute_args {
    int64_t user_id, muted_user, muted_shop, now;
    struct arena *a;
    struct mute *out;
    bool *created;
    struct errinfo *ei;
};

static enum err mute_tx(struct db *db, void *arg)
{
    static const char user_exists[] = "SELECT COUNT(*) FROM users WHERE id = ?";
    static const char shop_exists[] = "SELECT COUNT(*) FROM shops WHERE id = ?";
    static const char by_user[] = MUTE_SELECT "WHERE x.user_id = ? AND x.muted_user_id = ?";
    static const char by_shop[] = MUTE_SELECT "WHERE x.user_id = ? AND x.muted_shop_id = ?";
    static const char ins[] = "INSERT INTO mutes (user_id, muted_user_id, muted_shop_id,"
                              " created_at) VALUES (?, ?, ?, ?)";
    /* a bad trust event for each shop in which the muted member, as its promoter, had
     * recommended something to the muting one; one per muting member */
    static const char blame[] =
        "INSERT INTO trust_events (shop_id, promoter_id, kind, good, ref_id, at)"
        " SELECT p.shop_id, p.id, 'muted', 0, ?, ? FROM promoters p WHERE p.user_id = ?"
        " AND EXISTS (SELECT 1 FROM share_audience a JOIN shares s ON s.id = a.share_id"
        "  WHERE a.user_id = ? AND a.shop_id = p.shop_id AND a.outcome = 'delivered'"
        "  AND s.sharer_id = p.user_id)"
        " ON CONFLICT (promoter_id, kind, ref_id) DO NOTHING";
    struct mute_args *q = arg;
    bool user = q->muted_user != 0;
    int64_t exists = 0;
    enum err e = db_value(db, user ? user_exists : shop_exists, &exists,
                          DB_INT(user ? q->muted_user : q->muted_shop));
    if (!e && !exists)
        return err_set(q->ei, ERR_NOT_FOUND, user ? "user_id" : "shop_id",
                       user ? "no such member" : "no such shop");
    const char *find = user ? by_user : by_shop;
    struct db_arg target = DB_INT(user ? q->muted_user : q->muted_shop);
    e = e ? e : db_read_one(db, find, read_mute, q->a, q->out, DB_INT(q->user_id), target);
    *q->created = false;
    if (e != ERR_NOT_FOUND)
        return e; /* muted already: the mute that is there */
    *q->created = true;
    if ((e = db_run(db, ins, DB_INT(q->user_id), DB_REF(q->muted_user), DB_REF(q->muted_shop),
                    DB_INT(q->now))))
        return e;
    if (user && (e = db_run(db, blame, DB_INT(q->user_id), DB_INT(q->now), DB_INT(q->muted_user),
                            DB_INT(q->user_id))))
        return e;
    return db_read_one(db, find, read_mute, q->a, q->out, DB_INT(q->user_id), target);
}

enum err mute_add(struct db *db, int64_t user_id, int64_t muted_user, int64_t muted_shop,
                  struct arena *a, struct mute *out, bool *created, struct errinfo *ei)
{
    if (!muted_user && !muted_shop)
        return err_set(ei, ERR_MISSING_FIELD, "user_id", "say whom to mute: user_id or shop_id");
    if (muted_user && muted_shop)
        return err_set(ei, ERR_INVALID, "shop_id", "mute a member or a shop, one at a time");
    if (muted_user == user_id)
        return err_set(ei, ERR_UNPROCESSABLE, "user_id", "you cannot mute yourself");
    struct mute_args q = {.user_id = user_id,
                          .muted_user = muted_user,
                          .muted_shop = muted_shop,
                          .now = clock_now_ms(),
                          .a = a,
                          .out = out,
                          .created = created,
                          .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, mute_tx, &q);
}

enum err mute_list(struct db *db, int64_t user_id, int64_t before_id, int64_t limit,
                   struct arena *a, struct mute **out, size_t *n, bool *more)
{
    static const char sql[] = MUTE_SELECT "WHERE x.user_id = ? AND x.id < ? ORDER BY x.id DESC"
                                          " LIMIT ?";
    void *items = NULL;
    enum err e =
        db_list(db, sql, limit, sizeof **out, read_mute, a, &items, n, more, DB_INT(user_id),
                DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

enum err mute_remove(struct db *db, int64_t user_id, int64_t mute_id)
{
    static const char sql[] = "DELETE FROM mutes WHERE id = ? AND user_id = ?";
    int64_t changed = 0;
    enum err e = db_run_changes(db, sql, &changed, DB_INT(mute_id), DB_INT(user_id));
    return e ? e : changed ? ERR_OK : ERR_NOT_FOUND;
}

/* --- reports --- */

static const char *const report_names[] = {"open", "upheld", "dismissed"};

const char *report_status_name(enum report_status s)
{
    return name_of(report_names, NAMES_LEN(report_names), s);
}

NAMES_PARSE(report_status, enum report_status, report_names)

#define REPORT_SELECT                                                                              \
    "SELECT r.id, r.shop_id, r.share_id, r.reporter_id, w.display_name, r.reason, r.status,"       \
    " s.sharer_id, u.display_name, s.product_id, r.created_at, r.decided_at FROM reports r"        \
    " JOIN shares s ON s.id = r.share_id JOIN users u ON u.id = s.sharer_id"                       \
    " JOIN users w ON w.id = r.reporter_id "

static enum err read_report(struct db_stmt *st, struct arena *a, void *item)
{
    struct report *r = item;
    r->id = db_col_int64(st, 0);
    r->shop_id = db_col_int64(st, 1);
    r->share_id = db_col_int64(st, 2);
    r->reporter_id = db_col_int64(st, 3);
    r->reporter_name = db_col_dup(st, 4, a);
    r->reason = db_col_dup(st, 5, a);
    if (!report_status_parse(db_col_text(st, 6, NULL), &r->status))
        r->status = REPORT_OPEN;
    r->sharer_id = db_col_int64(st, 7);
    r->sharer_name = db_col_dup(st, 8, a);
    r->product_id = db_col_int64(st, 9);
    r->created_at_ms = db_col_int64(st, 10);
    r->decided_at_ms = db_col_int64(st, 11);
    return r->reporter_name && r->reason && r->sharer_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err report_get(struct db *db, int64_t id, struct arena *a, struct report *out)
{
    static const char sql[] = REPORT_SELECT "WHERE r.id = ?";
    return db_read_one(db, sql, read_report, a, out, DB_INT(id));
}

struct report_args {
    int64_t user_id, share_id, now;
    const char *reason;
    size_t reason_len;
    int64_t id;
    struct errinfo *ei;
};

static enum err report_tx(struct db *db, void *arg)
{
    static const char received[] =
        "SELECT id, shop_id FROM share_audience WHERE share_id = ? AND user_id = ?"
        " AND outcome = 'delivered'";
    static const char ins[] = "INSERT INTO reports (shop_id, share_id, reporter_id, reason,"
                              " status, created_at) VALUES (?, ?, ?, ?, 'open', ?) RETURNING id";
    static const char hide[] = "UPDATE share_audience SET hidden_at = ? WHERE id = ?"
                               " AND hidden_at IS NULL";
    struct report_args *q = arg;
    struct db_stmt *st = NULL;
    enum err e = db_first(db, received, &st, DB_INT(q->share_id), DB_INT(q->user_id));
    if (e == ERR_NOT_FOUND)
        return err_set(q->ei, e, "share_id", "no such share in your feed");
    if (e)
        return e;
    int64_t item = db_col_int64(st, 0), shop_id = db_col_int64(st, 1);
    db_done(st);
    e = db_value(db, ins, &q->id, DB_INT(shop_id), DB_INT(q->share_id), DB_INT(q->user_id),
                 DB_TEXT(q->reason, q->reason_len), DB_INT(q->now));
    if (e == ERR_CONFLICT)
        return err_set(q->ei, e, "share_id", "you reported this share already");
    return e ? e : db_run(db, hide, DB_INT(q->now), DB_INT(item));
}

enum err report_add(struct db *db, int64_t user_id, int64_t share_id, const char *reason,
                    size_t reason_len, struct arena *a, struct report *out, struct errinfo *ei)
{
    text_trim(&reason, &reason_len);
    long chars = text_utf8_chars(reason, reason_len);
    if (chars < 1 || chars > REPORT_REASON_CHARS || text_has_control(reason, reason_len))
        return err_set(ei, ERR_INVALID, "reason",
                       "reason must be 1 to %d characters of plain text, on one line",
                       REPORT_REASON_CHARS);
    struct report_args q = {.user_id = user_id,
                            .share_id = share_id,
                            .now = clock_now_ms(),
                            .reason = reason,
                            .reason_len = reason_len,
                            .ei = ei};
    enum err e = db_tx_run(db, DB_TX_WRITE, report_tx, &q);
    return e ? e : report_get(db, q.id, a, out);
}

enum err report_list_shop(struct db *db, int64_t shop_id, enum report_status status,
                          int64_t before_id, int64_t limit, struct arena *a, struct report **out,
                          size_t *n, bool *more)
{
    static const char sql[] = REPORT_SELECT "WHERE r.shop_id = ? AND r.status = ? AND r.id < ?"
                                            " ORDER BY r.id DESC LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_report, a, &items, n, more,
                         DB_INT(shop_id), DB_STR(report_status_name(status)),
                         DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

struct decide_args {
    int64_t id, by, now;
    bool uphold;
    struct errinfo *ei;
};

static enum err decide_tx(struct db *db, void *arg)
{
    static const char sql[] = "UPDATE reports SET status = ?, decided_at = ?, decided_by = ?"
                              " WHERE id = ? AND status = 'open'";
    static const char share[] = "SELECT s.shop_id, s.promoter_id FROM reports r"
                                " JOIN shares s ON s.id = r.share_id WHERE r.id = ?";
    const struct decide_args *q = arg;
    int64_t changed = 0;
    enum err e = db_run_changes(
        db, sql, &changed, DB_STR(report_status_name(q->uphold ? REPORT_UPHELD : REPORT_DISMISSED)),
        DB_INT(q->now), DB_INT(q->by), DB_INT(q->id));
    if (e)
        return e;
    if (!changed)
        return err_set(q->ei, ERR_ILLEGAL_TRANSITION, NULL, "this report was decided already");
    if (!q->uphold)
        return ERR_OK;
    struct db_stmt *st = NULL;
    if ((e = db_first(db, share, &st, DB_INT(q->id))))
        return e;
    int64_t shop_id = db_col_int64(st, 0), promoter_id = db_col_int64(st, 1);
    db_done(st);
    /* RULE: TRUST-REACH - an upheld report on a promoter's share */
    return promoter_id ? trust_record(db, shop_id, promoter_id, TRUST_REPORT_UPHELD, q->id, q->now)
                       : ERR_OK;
}

enum err report_decide(struct db *db, int64_t id, bool uphold, int64_t decided_by,
                       struct errinfo *ei)
{
    struct decide_args q = {
        .id = id, .by = decided_by, .now = clock_now_ms(), .uphold = uphold, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, decide_tx, &q);
}
