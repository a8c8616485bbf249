#include "domain/party.h"

#include "util/names.h"

static const char *const object_names[] = {"shop",   "product",  "circle",     "order",
                                           "refund", "promoter", "withdrawal", "share",
                                           "report", "follow-up"};

const char *party_object_name(enum party_object kind)
{
    return name_of(object_names, NAMES_LEN(object_names), kind);
}

/* Each answers the object's shop, the member's role there, whose it is and their circle role;
 * its placeholders are (member, id), a circle's (member, member, id). */
#define ROLE_OF(shop) " LEFT JOIN shop_roles r ON r.shop_id = " shop " AND r.user_id = ?"
static const char *const sql[] = {
    [PARTY_SHOP] = "SELECT s.id, r.role, 0, NULL FROM shops s" ROLE_OF("s.id") " WHERE s.id = ?",
    [PARTY_PRODUCT] =
        "SELECT p.shop_id, r.role, 0, NULL FROM products p" ROLE_OF("p.shop_id") " WHERE p.id = ?",
    [PARTY_CIRCLE] = "SELECT c.shop_id, r.role, 0, (SELECT m.role FROM circle_members m"
                     " WHERE m.circle_id = c.id AND m.user_id = ?) FROM circles c" ROLE_OF(
                         "c.shop_id") " WHERE c.id = ?",
    [PARTY_ORDER] = "SELECT o.shop_id, r.role, o.buyer_id, NULL FROM orders o" ROLE_OF(
        "o.shop_id") " WHERE o.id = ?",
    [PARTY_REFUND] = "SELECT f.shop_id, r.role, o.buyer_id, NULL FROM refunds f"
                     " JOIN orders o ON o.id = f.order_id" ROLE_OF("f.shop_id") " WHERE f.id = ?",
    [PARTY_PROMOTER] = "SELECT p.shop_id, r.role, p.user_id, NULL FROM promoters p" ROLE_OF(
        "p.shop_id") " WHERE p.id = ?",
    [PARTY_WITHDRAWAL] = "SELECT w.shop_id, r.role, 0, NULL FROM withdrawals w" ROLE_OF(
        "w.shop_id") " WHERE w.id = ?",
    [PARTY_SHARE] = "SELECT s.shop_id, r.role, s.sharer_id, NULL FROM shares s" ROLE_OF(
        "s.shop_id") " WHERE s.id = ?",
    [PARTY_REPORT] = "SELECT x.shop_id, r.role, x.reporter_id, NULL FROM reports x" ROLE_OF(
        "x.shop_id") " WHERE x.id = ?",
    [PARTY_FOLLOWUP] =
        "SELECT f.shop_id, r.role, 0, NULL FROM followups f" ROLE_OF("f.shop_id") " WHERE f.id = ?",
};
#undef ROLE_OF

enum err party_of(struct db *db, enum party_object kind, int64_t id, int64_t user_id,
                  struct party *out)
{
    struct db_stmt *st = NULL;
    enum err e = db_first(db, sql[kind], &st, kind == PARTY_CIRCLE ? DB_INT(user_id) : DB_SKIP,
                          DB_INT(user_id), DB_INT(id));
    if (e)
        return e;
    out->shop_id = db_col_int64(st, 0);
    out->role = shop_role_from(db_col_text(st, 1, NULL));
    out->own = user_id && db_col_int64(st, 2) == user_id;
    out->circle = CIRCLE_ROLE_NONE;
    (void)circle_role_parse(db_col_text(st, 3, NULL), &out->circle);
    db_done(st);
    return ERR_OK;
}
