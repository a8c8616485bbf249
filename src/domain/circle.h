/*
 * circle.h - a shop's circles (社群): small groups of members around a kind
 * of life (parents, a neighbourhood, a running club) and their interests.
 *
 * Owns circles, circle_tags and circle_members. A circle never has more
 * members than its capacity, and no capacity is above LIMIT_CIRCLE_CAPACITY
 * (500, a chat group): joining takes a seat with one conditional update, so
 * concurrent joins cannot overfill it. Members join with the circle's invite
 * code, which the shop can rotate; the member who opened the circle is its
 * owner and cannot leave it. A member may belong to circles of many shops.
 */
#ifndef QUANZI_DOMAIN_CIRCLE_H
#define QUANZI_DOMAIN_CIRCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/tags.h"
#include "util/arena.h"
#include "util/err.h"

enum circle_kind {
    CIRCLE_PARENTS,
    CIRCLE_NEIGHBOURHOOD,
    CIRCLE_FITNESS,
    CIRCLE_INTEREST,
    CIRCLE_OTHER
};
enum circle_role { CIRCLE_ROLE_NONE, CIRCLE_ROLE_OWNER, CIRCLE_ROLE_ADMIN, CIRCLE_ROLE_MEMBER };

#define CIRCLE_NAME_CHARS 30
#define CIRCLE_TAGS_MAX 10
#define CIRCLE_CODE_LEN 8

struct circle {
    int64_t id;
    int64_t shop_id;
    const char *name;
    enum circle_kind kind;
    int64_t capacity;
    int64_t member_count;
    const char *invite_code;
    int64_t created_at_ms, updated_at_ms;
    struct tag *tags;
    size_t n_tags;
};

struct circle_member {
    int64_t user_id;
    const char *display_name;
    enum circle_role role;
    int64_t joined_at_ms;
};

/* A create or patch; NULL name / has_* false leave a field alone. */
struct circle_input {
    const char *name;
    size_t name_len;
    bool has_kind, has_capacity, has_tags;
    enum circle_kind kind;
    int64_t capacity;
    struct tag *tags;
    size_t n_tags;
};

const char *circle_kind_name(enum circle_kind k);
bool circle_kind_parse(const char *s, enum circle_kind *out);
const char *circle_role_name(enum circle_role r);
bool circle_role_parse(const char *s, enum circle_role *out);

MUST_CHECK enum err circle_create(struct db *db, int64_t shop_id, int64_t owner_id,
                                  struct circle_input *in, struct arena *a, int64_t *id,
                                  struct errinfo *ei);
MUST_CHECK enum err circle_get(struct db *db, int64_t id, struct arena *a, struct circle *out);
MUST_CHECK enum err circle_update(struct db *db, int64_t id, struct circle_input *in,
                                  struct arena *a, struct errinfo *ei);
/* A new invite code (the old one stops working); written to code[CIRCLE_CODE_LEN + 1]. */
MUST_CHECK enum err circle_rotate_code(struct db *db, int64_t id, char *code);
/* ERR_NOT_FOUND (unknown code), ERR_ALREADY_MEMBER, ERR_CIRCLE_FULL. */
MUST_CHECK enum err circle_join(struct db *db, int64_t user_id, const char *code,
                                int64_t *circle_id, struct errinfo *ei);
/* ERR_NOT_FOUND when not a member, ERR_CONFLICT for the owner. */
MUST_CHECK enum err circle_leave(struct db *db, int64_t circle_id, int64_t user_id,
                                 struct errinfo *ei);
MUST_CHECK enum err circle_role_of(struct db *db, int64_t circle_id, int64_t user_id,
                                   enum circle_role *out);
/* Sets admin or member; the owner's role does not change (ERR_CONFLICT). */
MUST_CHECK enum err circle_set_role(struct db *db, int64_t circle_id, int64_t user_id,
                                    enum circle_role role, struct errinfo *ei);
/* Members by user id after `after_user_id`; *more when another page follows. */
MUST_CHECK enum err circle_members(struct db *db, int64_t circle_id, int64_t after_user_id,
                                   int64_t limit, struct arena *a, struct circle_member **out,
                                   size_t *n, bool *more);
/* A shop's circles (all, newest first), or a member's circles in every shop. */
MUST_CHECK enum err circle_list_shop(struct db *db, int64_t shop_id, struct arena *a,
                                     struct circle **out, size_t *n);
MUST_CHECK enum err circle_list_member(struct db *db, int64_t user_id, struct arena *a,
                                       struct circle **out, enum circle_role **roles, size_t *n);

#endif
