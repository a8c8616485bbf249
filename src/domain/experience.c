/*
 * experience.c - feedback and follow-ups (experience.h).
 */
#include "domain/experience.h"

#include <stdio.h>
#include <string.h>

#include "domain/order.h"
#include "domain/order_steps.h"
#include "domain/trust.h"
#include "util/clock.h"
#include "util/names.h"
#include "util/text.h"

/* --- feedback --- */

#define FEEDBACK_SELECT                                                                            \
    "SELECT f.id, f.shop_id, f.order_id, f.buyer_id, u.display_name, f.rating, f.text,"            \
    " f.created_at FROM feedback f JOIN users u ON u.id = f.buyer_id "

static enum err read_feedback(struct db_stmt *st, struct arena *a, void *item)
{
    struct feedback *f = item;
    f->id = db_col_int64(st, 0);
    f->shop_id = db_col_int64(st, 1);
    f->order_id = db_col_int64(st, 2);
    f->buyer_id = db_col_int64(st, 3);
    f->buyer_name = db_col_dup(st, 4, a);
    f->rating = (int)db_col_int64(st, 5);
    f->text = db_col_dup(st, 6, a);
    f->created_at_ms = db_col_int64(st, 7);
    return f->buyer_name && f->text ? ERR_OK : ERR_TOO_LARGE;
}

struct feedback_args {
    int64_t order_id, buyer_id, now;
    int rating;
    const char *text;
    size_t text_len;
    int64_t id;
    struct arena *a;
    struct errinfo *ei;
};

static enum err feedback_tx(struct db *db, void *arg)
{
    static const char ins[] = "INSERT INTO feedback (shop_id, order_id, buyer_id, rating, text,"
                              " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id";
    static const char products[] =
        "INSERT INTO feedback_products (product_id, feedback_id, buyer_id)"
        " SELECT product_id, ?, ? FROM order_items WHERE order_id = ?";
    /* the order's tags, a fifth of their weight, into or out of the learned interests */
    static const char learn[] =
        "INSERT INTO member_interests (user_id, source, tag, weight_milli, updated_at)"
        " SELECT ?, 'learned', t.tag, MAX(CASE WHEN t.weight_milli / 5 < 1 THEN 1"
        " ELSE t.weight_milli / 5 END), ? FROM order_items i"
        " JOIN product_tags t ON t.product_id = i.product_id WHERE i.order_id = ? GROUP BY t.tag"
        " ON CONFLICT (user_id, source, tag) DO UPDATE SET weight_milli ="
        " CASE WHEN member_interests.weight_milli + excluded.weight_milli > 1000 THEN 1000"
        " ELSE member_interests.weight_milli + excluded.weight_milli END,"
        " updated_at = excluded.updated_at";
    static const char unlearn_gone[] =
        "DELETE FROM member_interests WHERE user_id = ? AND source = 'learned' AND tag IN"
        " (SELECT t.tag FROM order_items i JOIN product_tags t ON t.product_id = i.product_id"
        "  WHERE i.order_id = ? AND t.weight_milli / 5 >= member_interests.weight_milli)";
    static const char unlearn[] =
        "UPDATE member_interests SET weight_milli = weight_milli - (SELECT MAX(t.weight_milli / 5)"
        " FROM order_items i JOIN product_tags t ON t.product_id = i.product_id"
        " WHERE i.order_id = ? AND t.tag = member_interests.tag), updated_at = ?"
        " WHERE user_id = ? AND source = 'learned' AND tag IN (SELECT t.tag FROM order_items i"
        " JOIN product_tags t ON t.product_id = i.product_id WHERE i.order_id = ?)";
    static const char close[] =
        "UPDATE followups SET status = 'done', done_at = ?, note = ? WHERE order_id = ?"
        " AND kind = 'experience' AND status = 'open'";
    struct feedback_args *q = arg;
    struct order o;
    enum err e = order_load_head(db, q->order_id, q->a, &o);
    if (e == ERR_NOT_FOUND || (!e && o.buyer_id != q->buyer_id))
        return err_set(q->ei, ERR_NOT_FOUND, NULL, "no such order");
    if (e)
        return e;
    if (!o.delivered_at_ms)
        return err_set(q->ei, ERR_ILLEGAL_TRANSITION, NULL,
                       "feedback comes once the order was delivered; it is %s",
                       order_status_name(o.status));
    e = db_value(db, ins, &q->id, DB_INT(o.shop_id), DB_INT(o.id), DB_INT(q->buyer_id),
                 DB_INT(q->rating), DB_TEXT(q->text, q->text_len), DB_INT(q->now));
    if (e == ERR_CONFLICT)
        return err_set(q->ei, e, NULL, "this order has feedback already");
    if (e || (e = db_run(db, products, DB_INT(q->id), DB_INT(q->buyer_id), DB_INT(o.id))))
        return e;
    if (q->rating >= 4)
        e = db_run(db, learn, DB_INT(q->buyer_id), DB_INT(q->now), DB_INT(o.id));
    else if (q->rating <= 2 && !(e = db_run(db, unlearn_gone, DB_INT(q->buyer_id), DB_INT(o.id))))
        e = db_run(db, unlearn, DB_INT(o.id), DB_INT(q->now), DB_INT(q->buyer_id), DB_INT(o.id));
    if (e)
        return e;
    /* RULE: TRUST-REACH - feedback on a promoter's sale */
    if (o.promoter_id && q->rating != 3 &&
        (e = trust_record(db, o.shop_id, o.promoter_id,
                          q->rating >= 4 ? TRUST_GOOD_FEEDBACK : TRUST_BAD_FEEDBACK, q->id,
                          q->now)))
        return e;
    char note[48];
    snprintf(note, sizeof note, "买家已评价 %d 星", q->rating);
    return db_run(db, close, DB_INT(q->now), DB_STR(note), DB_INT(o.id));
}

enum err feedback_add(struct db *db, int64_t order_id, int64_t buyer_id, int rating,
                      const char *text, size_t text_len, struct arena *a, struct feedback *out,
                      struct errinfo *ei)
{
    static const char get[] = FEEDBACK_SELECT "WHERE f.id = ?";
    if (rating < 1 || rating > 5)
        return err_set(ei, ERR_OUT_OF_RANGE, "rating", "rating must be from 1 to 5");
    if (!text)
        text = "", text_len = 0;
    text_trim(&text, &text_len);
    long chars = text_utf8_chars(text, text_len);
    if (chars < 0 || chars > FEEDBACK_TEXT_CHARS || text_has_control_but_newline(text, text_len))
        return err_set(ei, ERR_INVALID, "text", "text must be at most %d characters of plain text",
                       FEEDBACK_TEXT_CHARS);
    struct feedback_args q = {.order_id = order_id,
                              .buyer_id = buyer_id,
                              .now = clock_now_ms(),
                              .rating = rating,
                              .text = text,
                              .text_len = text_len,
                              .a = a,
                              .ei = ei};
    enum err e = db_tx_run(db, DB_TX_WRITE, feedback_tx, &q);
    return e ? e : db_read_one(db, get, read_feedback, a, out, DB_INT(q.id));
}

enum err feedback_list_product(struct db *db, int64_t product_id, int64_t before_id, int64_t limit,
                               struct arena *a, struct feedback **out, size_t *n, bool *more)
{
    static const char sql[] =
        FEEDBACK_SELECT "JOIN feedback_products p ON p.feedback_id = f.id WHERE p.product_id = ?"
                        " AND p.feedback_id < ? ORDER BY p.feedback_id DESC LIMIT ?";
    void *items = NULL;
    enum err e =
        db_list(db, sql, limit, sizeof **out, read_feedback, a, &items, n, more, DB_INT(product_id),
                DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

/* --- follow-ups --- */

static const char *const kind_names[] = {"experience", "repurchase"};
static const char *const view_names[] = {"due", "upcoming", "done"};

const char *followup_kind_name(enum followup_kind k)
{
    return name_of(kind_names, NAMES_LEN(kind_names), k);
}

NAMES_PARSE(followup_view, enum followup_view, view_names)

enum err followups_schedule(struct db *db, int64_t order_id, int64_t now)
{
    static const char experience[] =
        "INSERT INTO followups (shop_id, order_id, buyer_id, kind, due_at, status, created_at)"
        " SELECT shop_id, id, buyer_id, 'experience', ?, 'open', ? FROM orders WHERE id = ?";
    static const char repurchase[] =
        "INSERT INTO followups (shop_id, order_id, buyer_id, product_id, kind, due_at, status,"
        " created_at) SELECT o.shop_id, o.id, o.buyer_id, p.id, 'repurchase',"
        " ? + p.repurchase_days * 86400000, 'open', ? FROM orders o"
        " JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id"
        " WHERE o.id = ? AND p.repurchase_days > 0";
    enum err e = db_run(db, experience, DB_INT(now + FOLLOWUP_EXPERIENCE_DAYS * MS_PER_DAY),
                        DB_INT(now), DB_INT(order_id));
    return e ? e : db_run(db, repurchase, DB_INT(now), DB_INT(now), DB_INT(order_id));
}

#define FOLLOWUP_SELECT                                                                            \
    "SELECT f.id, f.shop_id, f.order_id, f.buyer_id, u.display_name, f.product_id,"                \
    " p.title, f.kind, f.status, f.note, f.due_at, f.done_at FROM followups f"                     \
    " JOIN users u ON u.id = f.buyer_id LEFT JOIN products p ON p.id = f.product_id "

static enum err read_followup(struct db_stmt *st, struct arena *a, void *item)
{
    struct followup *f = item;
    f->id = db_col_int64(st, 0);
    f->shop_id = db_col_int64(st, 1);
    f->order_id = db_col_int64(st, 2);
    f->buyer_id = db_col_int64(st, 3);
    f->buyer_name = db_col_dup(st, 4, a);
    f->product_id = db_col_int64(st, 5);
    f->product_title = db_col_dup(st, 6, a);
    f->kind = (enum followup_kind)name_find_or(kind_names, NAMES_LEN(kind_names),
                                               db_col_text(st, 7, NULL), FOLLOWUP_EXPERIENCE);
    const char *status = db_col_text(st, 8, NULL);
    f->done = status && !strcmp(status, "done");
    f->note = db_col_dup(st, 9, a);
    f->due_at_ms = db_col_int64(st, 10);
    f->done_at_ms = db_col_int64(st, 11);
    return f->buyer_name && f->note ? ERR_OK : ERR_TOO_LARGE;
}

enum err followup_list(struct db *db, int64_t shop_id, enum followup_view view, int64_t now,
                       int64_t after_id, int64_t limit, struct arena *a, struct followup **out,
                       size_t *n, bool *more)
{
    static const char *const sql[] = {
        [FOLLOWUPS_DUE] = FOLLOWUP_SELECT "WHERE f.shop_id = ? AND f.status = 'open'"
                                          " AND f.due_at <= ? AND f.id > ? ORDER BY f.id LIMIT ?",
        [FOLLOWUPS_UPCOMING] = FOLLOWUP_SELECT
        "WHERE f.shop_id = ? AND f.status = 'open' AND f.due_at > ? AND f.id > ?"
        " ORDER BY f.id LIMIT ?",
        [FOLLOWUPS_DONE] = FOLLOWUP_SELECT "WHERE f.shop_id = ? AND f.status = 'done'"
                                           " AND f.id > ? ORDER BY f.id LIMIT ?",
    };
    void *items = NULL;
    enum err e = db_list(db, sql[view], limit, sizeof **out, read_followup, a, &items, n, more,
                         DB_INT(shop_id), view == FOLLOWUPS_DONE ? DB_SKIP : DB_INT(now),
                         DB_INT(after_id), DB_INT(limit + 1));
    *out = items;
    return e;
}

enum err followup_get(struct db *db, int64_t id, struct arena *a, struct followup *out)
{
    static const char sql[] = FOLLOWUP_SELECT "WHERE f.id = ?";
    return db_read_one(db, sql, read_followup, a, out, DB_INT(id));
}

enum err followup_done(struct db *db, int64_t id, int64_t by, const char *note, size_t note_len,
                       struct errinfo *ei)
{
    static const char sql[] = "UPDATE followups SET status = 'done', done_at = ?, done_by = ?,"
                              " note = ? WHERE id = ? AND status = 'open'";
    if (!note)
        note = "", note_len = 0;
    text_trim(&note, &note_len);
    long chars = text_utf8_chars(note, note_len);
    if (chars < 0 || chars > FOLLOWUP_NOTE_CHARS || text_has_control_but_newline(note, note_len))
        return err_set(ei, ERR_INVALID, "note", "note must be at most %d characters of plain text",
                       FOLLOWUP_NOTE_CHARS);
    int64_t changed = 0;
    enum err e = db_run_changes(db, sql, &changed, DB_INT(clock_now_ms()), DB_INT(by),
                                DB_TEXT(note, note_len), DB_INT(id));
    if (!e && !changed)
        e = err_set(ei, ERR_ILLEGAL_TRANSITION, NULL, "this follow-up is done already");
    return e;
}
