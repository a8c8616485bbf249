#include "domain/circle.h"

#include <sodium.h>
#include <string.h>

#include "domain/check.h"
#include "domain/token.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/log.h"

static const char *const kinds[] = {"parents", "neighbourhood", "fitness", "interest", "other"};
static const char *const roles[] = {"none", "owner", "admin", "member"};

const char *circle_kind_name(enum circle_kind k)
{
    return (unsigned)k <= CIRCLE_OTHER ? kinds[k] : "other";
}

bool circle_kind_parse(const char *s, enum circle_kind *out)
{
    for (int i = 0; i <= CIRCLE_OTHER; i++)
        if (s && strcmp(s, kinds[i]) == 0) {
            *out = (enum circle_kind)i;
            return true;
        }
    return false;
}

const char *circle_role_name(enum circle_role r)
{
    return (unsigned)r <= CIRCLE_ROLE_MEMBER ? roles[r] : "none";
}

bool circle_role_parse(const char *s, enum circle_role *out)
{
    for (int i = CIRCLE_ROLE_OWNER; i <= CIRCLE_ROLE_MEMBER; i++)
        if (s && strcmp(s, roles[i]) == 0) {
            *out = (enum circle_role)i;
            return true;
        }
    return false;
}

static void new_code(char *out)
{
    token_code(out, CIRCLE_CODE_LEN);
}

static enum err validate(struct arena *a, struct circle_input *in, bool create, struct errinfo *ei)
{
    enum err e;
    if (create && !in->name)
        return err_set(ei, ERR_MISSING_FIELD, "name", "name is required");
    if (create && !in->has_kind)
        return err_set(ei, ERR_MISSING_FIELD, "kind", "kind is required");
    if (in->name && (e = check_name(in->name, in->name_len, "name", CIRCLE_NAME_CHARS, ei)))
        return e;
    if (in->has_capacity && (in->capacity < 2 || in->capacity > LIMIT_CIRCLE_CAPACITY))
        return err_set(ei, ERR_OUT_OF_RANGE, "capacity",
                       "capacity must be from 2 to %d: circles stay small", LIMIT_CIRCLE_CAPACITY);
    if (in->has_tags) {
        if (in->n_tags > CIRCLE_TAGS_MAX)
            return err_set(ei, ERR_OUT_OF_RANGE, "tags", "a circle has at most %d tags",
                           CIRCLE_TAGS_MAX);
        if ((e = tags_validate(a, in->tags, in->n_tags, "tags", ei)))
            return e;
    }
    return ERR_OK;
}

static enum err write_tags(struct db *db, int64_t shop_id, int64_t id, const struct tag *tags,
                           size_t n)
{
    static const char del[] = "DELETE FROM circle_tags WHERE circle_id = ?";
    static const char ins[] = "INSERT INTO circle_tags (shop_id, circle_id, tag, weight_milli)"
                              " VALUES (?, ?, ?, ?)";
    return tags_replace(db, del, ins, shop_id, id, tags, n);
}

struct write_args {
    int64_t shop_id, owner_id, id; /* id: the circle (update), or the one created */
    const struct circle_input *in;
    struct arena *a;
    struct errinfo *ei;
};

static enum err create_tx(struct db *db, void *arg)
{
    static const char count[] = "SELECT COUNT(*) FROM circles WHERE shop_id = ?";
    struct write_args *q = arg;
    const struct circle_input *in = q->in;
    int64_t n = 0, now = clock_now_ms();
    enum err e = db_value(db, count, &n, DB_INT(q->shop_id));
    if (e)
        return e;
    if (n >= LIMIT_CIRCLES_PER_SHOP)
        return err_set(q->ei, ERR_CONFLICT, NULL, "a shop has at most %d circles",
                       LIMIT_CIRCLES_PER_SHOP);
    char code[CIRCLE_CODE_LEN + 1];
    static const char ins[] =
        "INSERT INTO circles (shop_id, name, kind, capacity, member_count, invite_code,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?) RETURNING id";
    static const char member[] = "INSERT INTO circle_members (shop_id, circle_id, user_id, role,"
                                 " joined_at) VALUES (?, ?, ?, 'owner', ?)";
    new_code(code); /* 31^8 codes: a clash is practically impossible and fails loudly */
    if ((e = db_value(db, ins, &q->id, DB_INT(q->shop_id), DB_TEXT(in->name, in->name_len),
                      DB_STR(circle_kind_name(in->kind)),
                      DB_INT(in->has_capacity ? in->capacity : LIMIT_CIRCLE_CAPACITY), DB_STR(code),
                      DB_INT(now), DB_INT(now))) ||
        (e = db_run(db, member, DB_INT(q->shop_id), DB_INT(q->id), DB_INT(q->owner_id),
                    DB_INT(now))))
        return e;
    return in->has_tags ? write_tags(db, q->shop_id, q->id, in->tags, in->n_tags) : ERR_OK;
}

enum err circle_create(struct db *db, int64_t shop_id, int64_t owner_id, struct circle_input *in,
                       struct arena *a, int64_t *id, struct errinfo *ei)
{
    enum err e = validate(a, in, true, ei);
    if (e)
        return e;
    struct write_args q = {.shop_id = shop_id, .owner_id = owner_id, .in = in, .a = a, .ei = ei};
    if ((e = db_tx_run(db, DB_TX_WRITE, create_tx, &q)))
        return e;
    *id = q.id;
    LOG(LOG_INFO, "circle_created", "shop_id=%lld circle_id=%lld", (long long)shop_id,
        (long long)*id);
    return ERR_OK;
}

#define CIRCLE_COLS                                                                                \
    "id, shop_id, name, kind, capacity, member_count, invite_code, created_at, updated_at"

static enum err read_row(struct db_stmt *st, struct arena *a, void *item)
{
    struct circle *c = item;
    memset(c, 0, sizeof *c);
    c->id = db_col_int64(st, 0);
    c->shop_id = db_col_int64(st, 1);
    c->name = db_col_dup(st, 2, a);
    (void)circle_kind_parse(db_col_text(st, 3, NULL), &c->kind);
    c->capacity = db_col_int64(st, 4);
    c->member_count = db_col_int64(st, 5);
    c->invite_code = db_col_dup(st, 6, a);
    c->created_at_ms = db_col_int64(st, 7);
    c->updated_at_ms = db_col_int64(st, 8);
    return c->name && c->invite_code ? ERR_OK : ERR_TOO_LARGE;
}

static enum err read_tags(struct db *db, struct arena *a, struct circle *c)
{
    static const char sql[] = "SELECT tag, weight_milli FROM circle_tags WHERE circle_id = ?"
                              " ORDER BY weight_milli DESC, tag";
    return tags_read(db, sql, c->id, CIRCLE_TAGS_MAX, a, &c->tags, &c->n_tags);
}

enum err circle_get(struct db *db, int64_t id, struct arena *a, struct circle *out)
{
    static const char sql[] = "SELECT " CIRCLE_COLS " FROM circles WHERE id = ?";
    enum err e = db_read_one(db, sql, read_row, a, out, DB_INT(id));
    return e ? e : read_tags(db, a, out);
}

static enum err update_tx(struct db *db, void *arg)
{
    static const char sql[] = "UPDATE circles SET name = ?, kind = ?, capacity = ?,"
                              " updated_at = ? WHERE id = ?";
    const struct write_args *q = arg;
    const struct circle_input *in = q->in;
    struct circle cur;
    enum err e = circle_get(db, q->id, q->a, &cur);
    if (e)
        return e;
    if (in->has_capacity && in->capacity < cur.member_count)
        return err_set(q->ei, ERR_OUT_OF_RANGE, "capacity",
                       "capacity cannot go below the %lld members the circle has",
                       (long long)cur.member_count);
    if ((e = db_run(db, sql, in->name ? DB_TEXT(in->name, in->name_len) : DB_STR(cur.name),
                    DB_STR(circle_kind_name(in->has_kind ? in->kind : cur.kind)),
                    DB_INT(in->has_capacity ? in->capacity : cur.capacity), DB_INT(clock_now_ms()),
                    DB_INT(q->id))))
        return e;
    return in->has_tags ? write_tags(db, cur.shop_id, q->id, in->tags, in->n_tags) : ERR_OK;
}

enum err circle_update(struct db *db, int64_t id, struct circle_input *in, struct arena *a,
                       struct errinfo *ei)
{
    enum err e = validate(a, in, false, ei);
    if (e)
        return e;
    struct write_args q = {.id = id, .in = in, .a = a, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, update_tx, &q);
}

enum err circle_rotate_code(struct db *db, int64_t id, char *code)
{
    static const char sql[] = "UPDATE circles SET invite_code = ?, updated_at = ? WHERE id = ?";
    int64_t changed = 0;
    new_code(code);
    enum err e =
        db_run_changes(db, sql, &changed, DB_STR(code), DB_INT(clock_now_ms()), DB_INT(id));
    return e == ERR_OK && changed != 1 ? ERR_NOT_FOUND : e;
}

struct join_args {
    int64_t user_id, *circle_id;
    const char *code;
    struct errinfo *ei;
};

static enum err join_tx(struct db *db, void *arg)
{
    static const char find[] = "SELECT id, shop_id FROM circles WHERE invite_code = ?";
    const struct join_args *q = arg;
    struct db_stmt *st = NULL;
    int64_t changed = 0;
    enum err e = db_first(db, find, &st, DB_STR(q->code));
    if (e == ERR_NOT_FOUND)
        return err_set(q->ei, ERR_NOT_FOUND, "invite_code", "no circle has this invite code");
    if (e)
        return e;
    int64_t circle_id = *q->circle_id = db_col_int64(st, 0), shop_id = db_col_int64(st, 1);
    db_done(st);
    static const char ins[] = "INSERT INTO circle_members (shop_id, circle_id, user_id, role,"
                              " joined_at) VALUES (?, ?, ?, 'member', ?)";
    e = db_run(db, ins, DB_INT(shop_id), DB_INT(circle_id), DB_INT(q->user_id),
               DB_INT(clock_now_ms()));
    if (e == ERR_CONFLICT)
        return err_set(q->ei, ERR_ALREADY_MEMBER, "invite_code", "you are already in this circle");
    static const char seat[] = "UPDATE circles SET member_count = member_count + 1"
                               " WHERE id = ? AND member_count < capacity";
    if (e || (e = db_run_changes(db, seat, &changed, DB_INT(circle_id))))
        return e;
    if (changed != 1)
        return err_set(q->ei, ERR_CIRCLE_FULL, "invite_code",
                       "this circle is full; ask the shop about another circle");
    return ERR_OK;
}

enum err circle_join(struct db *db, int64_t user_id, const char *code, int64_t *circle_id,
                     struct errinfo *ei)
{
    struct join_args q = {.user_id = user_id, .circle_id = circle_id, .code = code, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, join_tx, &q);
}

enum err circle_role_of(struct db *db, int64_t circle_id, int64_t user_id, enum circle_role *out)
{
    static const char sql[] = "SELECT role FROM circle_members WHERE circle_id = ? AND user_id = ?";
    struct db_stmt *st = NULL;
    *out = CIRCLE_ROLE_NONE;
    enum err e = db_first(db, sql, &st, DB_INT(circle_id), DB_INT(user_id));
    if (e)
        return e == ERR_NOT_FOUND ? ERR_OK : e;
    (void)circle_role_parse(db_col_text(st, 0, NULL), out);
    db_done(st);
    return ERR_OK;
}

struct leave_args {
    int64_t circle_id, user_id;
    struct errinfo *ei;
};

static enum err leave_tx(struct db *db, void *arg)
{
    static const char del[] = "DELETE FROM circle_members WHERE circle_id = ? AND user_id = ?"
                              " AND role <> 'owner'";
    const struct leave_args *q = arg;
    enum circle_role role;
    enum err e = circle_role_of(db, q->circle_id, q->user_id, &role);
    if (e)
        return e;
    if (role == CIRCLE_ROLE_NONE)
        return err_set(q->ei, ERR_NOT_FOUND, NULL, "not a member of this circle");
    if (role == CIRCLE_ROLE_OWNER)
        return err_set(q->ei, ERR_CONFLICT, NULL, "the circle's owner cannot leave it");
    if ((e = db_run(db, del, DB_INT(q->circle_id), DB_INT(q->user_id))))
        return e;
    static const char seat[] = "UPDATE circles SET member_count = member_count - 1 WHERE id = ?";
    return db_run(db, seat, DB_INT(q->circle_id));
}

enum err circle_leave(struct db *db, int64_t circle_id, int64_t user_id, struct errinfo *ei)
{
    struct leave_args q = {.circle_id = circle_id, .user_id = user_id, .ei = ei};
    return db_tx_run(db, DB_TX_WRITE, leave_tx, &q);
}

enum err circle_set_role(struct db *db, int64_t circle_id, int64_t user_id, enum circle_role role,
                         struct errinfo *ei)
{
    static const char sql[] = "UPDATE circle_members SET role = ? WHERE circle_id = ?"
                              " AND user_id = ? AND role <> 'owner'";
    enum circle_role cur;
    if (role != CIRCLE_ROLE_ADMIN && role != CIRCLE_ROLE_MEMBER)
        return err_set(ei, ERR_INVALID, "role", "role must be admin or member");
    enum err e = circle_role_of(db, circle_id, user_id, &cur);
    if (e)
        return e;
    if (cur == CIRCLE_ROLE_NONE)
        return err_set(ei, ERR_NOT_FOUND, "user_id", "not a member of this circle");
    if (cur == CIRCLE_ROLE_OWNER)
        return err_set(ei, ERR_CONFLICT, "user_id", "the circle's owner stays its owner");
    return db_run(db, sql, DB_STR(circle_role_name(role)), DB_INT(circle_id), DB_INT(user_id));
}

static enum err read_member(struct db_stmt *st, struct arena *a, void *item)
{
    struct circle_member *m = item;
    m->user_id = db_col_int64(st, 0);
    m->display_name = db_col_dup(st, 1, a);
    (void)circle_role_parse(db_col_text(st, 2, NULL), &m->role);
    m->joined_at_ms = db_col_int64(st, 3);
    return ERR_OK;
}

enum err circle_members(struct db *db, int64_t circle_id, int64_t after_user_id, int64_t limit,
                        struct arena *a, struct circle_member **out, size_t *n, bool *more)
{
    static const char sql[] = "SELECT m.user_id, u.display_name, m.role, m.joined_at"
                              " FROM circle_members m JOIN users u ON u.id = m.user_id"
                              " WHERE m.circle_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?";
    void *items = NULL;
    enum err e = db_list(db, sql, limit, sizeof **out, read_member, a, &items, n, more,
                         DB_INT(circle_id), DB_INT(after_user_id), DB_INT(limit + 1));
    *out = items;
    return e;
}

enum err circle_list_shop(struct db *db, int64_t shop_id, struct arena *a, struct circle **out,
                          size_t *n)
{
    static const char sql[] =
        "SELECT " CIRCLE_COLS " FROM circles WHERE shop_id = ? ORDER BY id DESC LIMIT 200";
    void *items = NULL;
    enum err e = db_list(db, sql, LIMIT_CIRCLES_PER_SHOP, sizeof **out, read_row, a, &items, n,
                         NULL, DB_INT(shop_id));
    *out = items;
    for (size_t i = 0; e == ERR_OK && i < *n; i++)
        e = read_tags(db, a, &(*out)[i]);
    return e;
}

enum err circle_list_member(struct db *db, int64_t user_id, struct arena *a, struct circle **out,
                            enum circle_role **roles_out, size_t *n)
{
    static const char sql[] = "SELECT c.id, c.shop_id, c.name, c.kind, c.capacity, c.member_count,"
                              " c.invite_code, c.created_at, c.updated_at, m.role"
                              " FROM circle_members m JOIN circles c ON c.id = m.circle_id"
                              " WHERE m.user_id = ? ORDER BY c.id LIMIT 200";
    struct db_stmt *st = NULL;
    size_t len = 0, cap = 200;
    struct circle *list = arena_alloc(a, cap * sizeof *list);
    enum circle_role *r = arena_alloc(a, cap * sizeof *r);
    if (!list || !r)
        return ERR_TOO_LARGE;
    enum err e = db_query(db, sql, &st, DB_INT(user_id));
    while (e == ERR_OK && db_next(st, &e) && len < cap) {
        if ((e = read_row(st, a, &list[len])))
            break;
        (void)circle_role_parse(db_col_text(st, 9, NULL), &r[len]);
        len++;
    }
    db_done(st);
    *out = list;
    *roles_out = r;
    *n = len;
    return e;
}
