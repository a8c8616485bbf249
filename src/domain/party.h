/*
 * party.h - who a member is to one object of a shop: the object's shop,
 * their role there, whether it is theirs (an order or a refund's order they
 * bought, a share they made, their promoter record)
 * and their role in it (a circle). One statement per kind of object, run
 * before a handler by the API's one access check (api/access.c), which the
 * route table's access column drives.
 */
#ifndef QUANZI_DOMAIN_PARTY_H
#define QUANZI_DOMAIN_PARTY_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/circle.h"
#include "domain/shop.h"
#include "util/err.h"

enum party_object {
    PARTY_SHOP,
    PARTY_PRODUCT,
    PARTY_CIRCLE,
    PARTY_ORDER,
    PARTY_REFUND,
    PARTY_PROMOTER,
    PARTY_WITHDRAWAL,
    PARTY_SHARE,
    PARTY_REPORT,
    PARTY_FOLLOWUP,
};

struct party {
    int64_t shop_id;
    enum shop_role role;     /* the member's role in the object's shop */
    bool own;                /* it is theirs: they bought the order (of the refund), made the
                                share, or are the promoter */
    enum circle_role circle; /* their role in the circle */
};

/* The object's name for messages: "shop", "order" ... */
const char *party_object_name(enum party_object kind);
/* ERR_NOT_FOUND when there is no such object; user_id 0 is nobody. */
MUST_CHECK enum err party_of(struct db *db, enum party_object kind, int64_t id, int64_t user_id,
                             struct party *out);

#endif
