#include "domain/contact.h"

#include "util/clock.h"
#include "util/limits.h"

const char *contact_state_name(enum contact_state s)
{
    switch (s) {
    case CONTACT_ACCEPTED:
        return "accepted";
    case CONTACT_INCOMING:
        return "incoming";
    default:
        return "outgoing";
    }
}

enum err contact_request(struct db *db, int64_t me, int64_t other, enum contact_state *state,
                         struct errinfo *ei)
{
    static const char user[] = "SELECT 1 FROM users WHERE id = ?";
    static const char get[] = "SELECT requested_by, status FROM contacts"
                              " WHERE user_lo = ? AND user_hi = ?";
    static const char count[] = "SELECT COUNT(*) FROM contacts WHERE user_lo = ? OR user_hi = ?";
    static const char ins[] = "INSERT INTO contacts (user_lo, user_hi, requested_by, status,"
                              " created_at) VALUES (?, ?, ?, 'pending', ?)";
    static const char acc[] = "UPDATE contacts SET status = 'accepted', accepted_at = ?"
                              " WHERE user_lo = ? AND user_hi = ?";
    if (other == me)
        return err_set(ei, ERR_INVALID, "user_id", "you cannot add yourself");
    int64_t lo = me < other ? me : other, hi = me < other ? other : me;
    struct db_stmt *st = NULL;
    bool row = false;
    enum err e = db_begin(db, DB_TX_WRITE);
    if (e)
        return e;
    if ((e = db_prepare(db, user, &st)))
        goto out;
    db_bind_int64(st, 1, other);
    e = db_step(st, &row);
    db_done(st);
    if (e == ERR_OK && !row)
        e = err_set(ei, ERR_NOT_FOUND, "user_id", "no member has this id");
    if (e || (e = db_prepare(db, get, &st)))
        goto out;
    db_bind_int64(st, 1, lo);
    db_bind_int64(st, 2, hi);
    e = db_step(st, &row);
    int64_t by = row ? db_col_int64(st, 0) : 0;
    bool accepted = row && db_col_text(st, 1, NULL)[0] == 'a';
    db_done(st);
    if (e)
        goto out;
    if (row && (accepted || by == me)) {
        e = err_set(ei, ERR_ALREADY_CONTACT, "user_id",
                    accepted ? "you are already contacts" : "you have already asked");
        goto out;
    }
    if (row) { /* they asked first: this is a yes */
        if ((e = db_prepare(db, acc, &st)))
            goto out;
        db_bind_int64(st, 1, clock_now_ms());
        db_bind_int64(st, 2, lo);
        db_bind_int64(st, 3, hi);
        e = db_step_done(st);
        db_done(st);
        *state = CONTACT_ACCEPTED;
    } else {
        if ((e = db_prepare(db, count, &st)))
            goto out;
        db_bind_int64(st, 1, me);
        db_bind_int64(st, 2, me);
        e = db_step(st, &row);
        int64_t n = db_col_int64(st, 0);
        db_done(st);
        if (e == ERR_OK && n >= LIMIT_CONTACTS)
            e = err_set(ei, ERR_CONFLICT, "user_id", "a member has at most %d contacts",
                        LIMIT_CONTACTS);
        if (e || (e = db_prepare(db, ins, &st)))
            goto out;
        db_bind_int64(st, 1, lo);
        db_bind_int64(st, 2, hi);
        db_bind_int64(st, 3, me);
        db_bind_int64(st, 4, clock_now_ms());
        e = db_step_done(st);
        db_done(st);
        *state = CONTACT_OUTGOING;
    }
    if (e == ERR_OK)
        e = db_commit(db);
out:
    db_rollback(db);
    return e;
}

enum err contact_accept(struct db *db, int64_t me, int64_t other, struct errinfo *ei)
{
    static const char sql[] = "UPDATE contacts SET status = 'accepted', accepted_at = ?"
                              " WHERE user_lo = ? AND user_hi = ? AND status = 'pending'"
                              " AND requested_by = ?";
    int64_t lo = me < other ? me : other, hi = me < other ? other : me;
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, clock_now_ms());
    db_bind_int64(st, 2, lo);
    db_bind_int64(st, 3, hi);
    db_bind_int64(st, 4, other);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = err_set(ei, ERR_NOT_FOUND, "user_id", "this member has not asked you");
    db_done(st);
    return e;
}

enum err contact_remove(struct db *db, int64_t me, int64_t other)
{
    static const char sql[] = "DELETE FROM contacts WHERE user_lo = ? AND user_hi = ?";
    int64_t lo = me < other ? me : other, hi = me < other ? other : me;
    struct db_stmt *st = NULL;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, lo);
    db_bind_int64(st, 2, hi);
    e = db_step_done(st);
    if (e == ERR_OK && db_changes(st) != 1)
        e = ERR_NOT_FOUND;
    db_done(st);
    return e;
}

enum err contact_list(struct db *db, int64_t me, int64_t limit, struct arena *a,
                      struct contact **out, size_t *n)
{
    static const char sql[] =
        "SELECT u.id, u.display_name, c.status, c.requested_by, c.created_at, c.accepted_at"
        " FROM contacts c JOIN users u ON u.id = CASE WHEN c.user_lo = ? THEN c.user_hi"
        " ELSE c.user_lo END WHERE c.user_lo = ? OR c.user_hi = ?"
        " ORDER BY CASE WHEN c.status = 'accepted' THEN 0 ELSE 1 END, u.id LIMIT ?";
    struct db_stmt *st = NULL;
    bool row = false;
    size_t len = 0;
    struct contact *list = arena_alloc(a, (size_t)limit * sizeof *list);
    if (!list)
        return ERR_TOO_LARGE;
    enum err e = db_prepare(db, sql, &st);
    if (e)
        return e;
    db_bind_int64(st, 1, me);
    db_bind_int64(st, 2, me);
    db_bind_int64(st, 3, me);
    db_bind_int64(st, 4, limit);
    while ((e = db_step(st, &row)) == ERR_OK && row && len < (size_t)limit) {
        struct contact *c = &list[len++];
        c->user_id = db_col_int64(st, 0);
        c->display_name = arena_strdup(a, db_col_text(st, 1, NULL));
        bool accepted = db_col_text(st, 2, NULL)[0] == 'a';
        int64_t by = db_col_int64(st, 3);
        c->state = accepted ? CONTACT_ACCEPTED : by == me ? CONTACT_OUTGOING : CONTACT_INCOMING;
        c->since_ms = accepted ? db_col_int64(st, 5) : db_col_int64(st, 4);
    }
    db_done(st);
    *out = list;
    *n = len;
    return a->exhausted ? ERR_TOO_LARGE : e;
}
