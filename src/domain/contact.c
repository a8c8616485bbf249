#include "domain/contact.h"

#include "util/clock.h"
#include "util/limits.h"
#include "util/names.h"

const char *contact_state_name(enum contact_state s)
{
    static const char *const names[] = {
        [CONTACT_ACCEPTED] = "accepted",
        [CONTACT_INCOMING] = "incoming",
        [CONTACT_OUTGOING] = "outgoing",
    };
    return name_of(names, NAMES_LEN(names), s);
}

struct contact_req {
    int64_t me, other;
    enum contact_state *state;
    struct errinfo *ei;
};

static enum err request_tx(struct db *db, void *arg)
{
    static const char user[] = "SELECT 1 FROM users WHERE id = ?";
    const struct contact_req *q = arg;
    int64_t me = q->me, other = q->other;
    int64_t lo = me < other ? me : other, hi = me < other ? other : me, one, n;
    struct db_stmt *st = NULL;
    enum err e = db_value(db, user, &one, DB_INT(other));
    if (e == ERR_NOT_FOUND)
        return err_set(q->ei, ERR_NOT_FOUND, "user_id", "no member has this id");
    if (e)
        return e;
    static const char get[] = "SELECT requested_by, status FROM contacts"
                              " WHERE user_lo = ? AND user_hi = ?";
    e = db_first(db, get, &st, DB_INT(lo), DB_INT(hi));
    if (e && e != ERR_NOT_FOUND)
        return e;
    bool row = e == ERR_OK;
    int64_t by = row ? db_col_int64(st, 0) : 0;
    bool accepted = row && db_col_text(st, 1, NULL)[0] == 'a';
    db_done(st);
    if (row && (accepted || by == me))
        return err_set(q->ei, ERR_ALREADY_CONTACT, "user_id",
                       accepted ? "you are already contacts" : "you have already asked");
    if (row) { /* they asked first: this is a yes */
        *q->state = CONTACT_ACCEPTED;
        static const char acc[] = "UPDATE contacts SET status = 'accepted', accepted_at = ?"
                                  " WHERE user_lo = ? AND user_hi = ?";
        return db_run(db, acc, DB_INT(clock_now_ms()), DB_INT(lo), DB_INT(hi));
    }
    static const char count[] = "SELECT COUNT(*) FROM contacts WHERE user_lo = ? OR user_hi = ?";
    if ((e = db_value(db, count, &n, DB_INT(me), DB_INT(me))))
        return e;
    if (n >= LIMIT_CONTACTS)
        return err_set(q->ei, ERR_CONFLICT, "user_id", "a member has at most %d contacts",
                       LIMIT_CONTACTS);
    *q->state = CONTACT_OUTGOING;
    static const char ins[] = "INSERT INTO contacts (user_lo, user_hi, requested_by, status,"
                              " created_at) VALUES (?, ?, ?, 'pending', ?)";
    return db_run(db, ins, DB_INT(lo), DB_INT(hi), DB_INT(me), DB_INT(clock_now_ms()));
}

enum err contact_request(struct db *db, int64_t me, int64_t other, enum contact_state *state,
                         struct errinfo *ei)
{
    if (other == me)
        return err_set(ei, ERR_INVALID, "user_id", "you cannot add yourself");
    struct contact_req q = {.me = me, .other = other, .state = state, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, request_tx, &q);
}

enum err contact_accept(struct db *db, int64_t me, int64_t other, struct errinfo *ei)
{
    static const char sql[] = "UPDATE contacts SET status = 'accepted', accepted_at = ?"
                              " WHERE user_lo = ? AND user_hi = ? AND status = 'pending'"
                              " AND requested_by = ?";
    int64_t lo = me < other ? me : other, hi = me < other ? other : me, changed;
    enum err e = db_run_changes(db, sql, &changed, DB_INT(clock_now_ms()), DB_INT(lo), DB_INT(hi),
                                DB_INT(other));
    if (e == ERR_OK && changed != 1)
        e = err_set(ei, ERR_NOT_FOUND, "user_id", "this member has not asked you");
    return e;
}

enum err contact_remove(struct db *db, int64_t me, int64_t other)
{
    static const char sql[] = "DELETE FROM contacts WHERE user_lo = ? AND user_hi = ?";
    int64_t lo = me < other ? me : other, hi = me < other ? other : me, changed;
    enum err e = db_run_changes(db, sql, &changed, DB_INT(lo), DB_INT(hi));
    return e == ERR_OK && changed != 1 ? ERR_NOT_FOUND : e;
}

static enum err read_contact(struct db_stmt *st, struct arena *a, void *item)
{
    struct contact *c = item;
    bool accepted = db_col_text(st, 2, NULL)[0] == 'a';
    c->user_id = db_col_int64(st, 0);
    c->display_name = db_col_dup(st, 1, a);
    c->state = accepted              ? CONTACT_ACCEPTED
               : db_col_int64(st, 3) ? CONTACT_OUTGOING
                                     : CONTACT_INCOMING;
    c->since_ms = accepted ? db_col_int64(st, 5) : db_col_int64(st, 4);
    return c->display_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err contact_list(struct db *db, int64_t me, int64_t after_user_id, int64_t limit,
                      struct arena *a, struct contact **out, size_t *n, bool *more)
{
    /* the pairs where `me` is the lower id, and those where it is the higher: each half an
     * index range (the primary key, contacts_hi) */
    static const char sql[] =
        "SELECT u.id, u.display_name, c.status, CASE WHEN c.requested_by = ? THEN 1 ELSE 0 END,"
        " c.created_at, c.accepted_at FROM"
        " (SELECT user_hi AS other, status, requested_by, created_at, accepted_at FROM contacts"
        "  WHERE user_lo = ? AND user_hi > ?"
        "  UNION ALL"
        "  SELECT user_lo AS other, status, requested_by, created_at, accepted_at FROM contacts"
        "  WHERE user_hi = ? AND user_lo > ?) c"
        " JOIN users u ON u.id = c.other ORDER BY u.id LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_contact, a, &items, n, more, DB_INT(me),
                         DB_INT(me), DB_INT(after_user_id), DB_INT(me), DB_INT(after_user_id),
                         DB_INT(limit + 1));
    *out = items;
    return e;
}
