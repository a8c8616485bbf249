/*
 * access.c - who may call a route, checked in one place: the route table's
 * access column (router.h) against who the caller is to the object the
 * route's first {id} names (domain/party.h). A caller who may not gets 404,
 * as if the object did not exist; handlers find the facts in r->party.
 */
#include <string.h>

#include "api/api.h"

static const enum party_object kinds[] = {
    [OBJECT_SHOP] = PARTY_SHOP,
    [OBJECT_PRODUCT] = PARTY_PRODUCT,
    [OBJECT_CIRCLE] = PARTY_CIRCLE,
    [OBJECT_ORDER] = PARTY_ORDER,
    [OBJECT_REFUND] = PARTY_REFUND,
    [OBJECT_PROMOTER] = PARTY_PROMOTER,
    [OBJECT_WITHDRAWAL] = PARTY_WITHDRAWAL,
    [OBJECT_SHARE] = PARTY_SHARE,
    [OBJECT_REPORT] = PARTY_REPORT,
    [OBJECT_FOLLOWUP] = PARTY_FOLLOWUP,
};

/* Whether `p` lets the caller through `access`. */
static bool allowed(enum route_access access, const struct party *p)
{
    bool runs = p->role != SHOP_ROLE_NONE;
    switch (access) {
    case ACCESS_RUNNER:
        return runs;
    case ACCESS_OWNER:
        return p->role == SHOP_ROLE_OWNER;
    case ACCESS_PARTY:
        return runs || p->own;
    case ACCESS_BUYER:
        return p->own;
    case ACCESS_CIRCLE:
        return runs || p->circle != CIRCLE_ROLE_NONE;
    case ACCESS_CIRCLE_ADMIN:
        return runs || p->circle == CIRCLE_ROLE_OWNER || p->circle == CIRCLE_ROLE_ADMIN;
    case ACCESS_ANYONE:
    case ACCESS_SELF:
    case ACCESS_RUNNER_IN_TX:
        break;
    }
    return true;
}

enum err api_access(struct req *r)
{
    const struct route *rt = r->route;
    memset(&r->party, 0, sizeof r->party);
    if (rt->object == OBJECT_NONE || rt->access == ACCESS_ANYONE || rt->access == ACCESS_SELF ||
        rt->access == ACCESS_RUNNER_IN_TX)
        return ERR_OK;
    enum party_object kind = kinds[rt->object];
    enum err e =
        party_of(r->db, kind, req_param_id(r, 0), r->authed ? r->user.user_id : 0, &r->party);
    if (e == ERR_OK && !allowed(rt->access, &r->party))
        e = ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND)
        return req_fail(r, e, NULL, "no such %s", party_object_name(kind));
    return e;
}
