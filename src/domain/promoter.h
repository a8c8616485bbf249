/*
 * promoter.h - promoters of a shop, free trials, customer bindings and the
 * attribution of orders.
 *
 * Owns trials, promoters, bindings and binding_history; a refused attempt
 * (self invite, invite cycle, self purchase) is recorded through audit.h.
 * A promoter is pending, active or suspended (promoter_transition()); only
 * an active one's links attribute and earn.
 *
 *   RULE: EXPERIENCE-FIRST  applying needs a delivered (or completed) order
 *                           from the shop or a trial the shop granted.
 *   RULE: TWO-LEVELS        a promoter stores at most its inviter (one id).
 *   RULE: NO-CYCLES / NO-SELF  an inviter is never the applicant nor anyone
 *                           the applicant invited, directly or further down.
 *   RULE: NO-ENTRY-FEE / NO-HEADCOUNT  applying costs nothing and inviting
 *                           pays nothing: no code path moves money here.
 *   RULE: BINDING           the first promoter whose link a customer opens
 *                           binds that customer for the shop's binding_days;
 *                           within it, orders are attributed to that promoter
 *                           even without (or with another) link. The customer
 *                           may unbind; every change is kept in the history.
 *   RULE: NO-SELF-COMMISSION  an order whose promoter would be its buyer is
 *                           not attributed (recorded for the audit).
 */
#ifndef QUANZI_DOMAIN_PROMOTER_H
#define QUANZI_DOMAIN_PROMOTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/arena.h"
#include "util/err.h"

enum promoter_status { PROMOTER_PENDING, PROMOTER_ACTIVE, PROMOTER_SUSPENDED };

#define PROMOTER_CODE_LEN 8
#define PROMOTER_LINE_MAX 100000 /* bound on walking an invite line */

struct promoter {
    int64_t id, shop_id, user_id;
    int64_t inviter_id; /* 0: none */
    const char *display_name;
    enum promoter_status status;
    const char *invite_code, *ref_token;
    int64_t created_at_ms, approved_at_ms;
};

enum promoter_event { PROMOTER_APPROVE, PROMOTER_SUSPEND };

const char *promoter_status_name(enum promoter_status s);
/* A stored status; an unknown one reads as suspended (earns nothing). */
enum promoter_status promoter_status_parse(const char *s);
/*
 * The pure state machine: pending or suspended --approve--> active,
 * pending or active --suspend--> suspended. False when `ev` is not allowed
 * in `from` (approving the active, suspending the suspended).
 */
bool promoter_transition(enum promoter_status from, enum promoter_event ev,
                         enum promoter_status *to);

/* RULE: EXPERIENCE-FIRST - a trial of a product with trial_available. */
MUST_CHECK enum err trial_grant(struct db *db, int64_t shop_id, int64_t product_id, int64_t user_id,
                                int64_t granted_by, int64_t *id, struct errinfo *ei);

/*
 * Applies as promoter of a shop, optionally under the promoter whose invite
 * code is given. Active at once if the shop auto-approves. A promoter that
 * has no inviter yet may name one later the same way. *created tells if the
 * record is new.
 */
MUST_CHECK enum err promoter_apply(struct db *db, int64_t shop_id, int64_t user_id,
                                   const char *invite_code, struct arena *a, struct promoter *out,
                                   bool *created, struct errinfo *ei);
MUST_CHECK enum err promoter_get(struct db *db, int64_t id, struct arena *a, struct promoter *out);
/* The member's promoter record in a shop; ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err promoter_of_user(struct db *db, int64_t shop_id, int64_t user_id,
                                     struct arena *a, struct promoter *out);
/* approve: pending or suspended -> active; suspend: pending or active -> suspended. */
MUST_CHECK enum err promoter_set_status(struct db *db, int64_t id, bool approve,
                                        struct errinfo *ei);

/* A promoter with what their retail sales brought (paid orders they were level 1 of). */
struct promoter_row {
    struct promoter p;
    const char *inviter_name; /* NULL: none */
    int64_t orders, sales_fen;
};
/* A shop's promoters (newest first), or those invited by `inviter_id` (if not 0). */
MUST_CHECK enum err promoter_list(struct db *db, int64_t shop_id, int64_t inviter_id,
                                  int64_t before_id, int64_t limit, struct arena *a,
                                  struct promoter_row **out, size_t *n, bool *more);

/* Products of the shop on sale whose commission rates differ from the shop's. */
struct rate_override {
    int64_t product_id, l1_bps, l2_bps;
    const char *title;
};
MUST_CHECK enum err promoter_rate_overrides(struct db *db, int64_t shop_id, struct arena *a,
                                            struct rate_override **out, size_t *n);
#define PROMOTER_OVERRIDES_MAX 100

struct binding {
    int64_t shop_id, customer_id, promoter_id;
    const char *promoter_name, *customer_name;
    int64_t bound_at_ms, expires_at_ms;
};
/* The customer's binding in a shop while it lasts; ERR_NOT_FOUND otherwise. */
MUST_CHECK enum err binding_get(struct db *db, int64_t shop_id, int64_t customer_id,
                                struct arena *a, struct binding *out);
/* Ends the binding now (history: unbound); ERR_NOT_FOUND when there is none. */
MUST_CHECK enum err binding_remove(struct db *db, int64_t shop_id, int64_t customer_id);
/* Customers bound to a promoter now, newest first (at most `limit`). */
MUST_CHECK enum err binding_list(struct db *db, int64_t promoter_id, int64_t limit, struct arena *a,
                                 struct binding **out, size_t *n);

/* What a share link leads to. */
struct landing {
    int64_t shop_id, promoter_id; /* promoter_id 0: a share with no active promoter */
    const char *promoter_name;
    bool bound; /* the visitor is bound to this link's promoter */
};
/*
 * Reads a referral link: the promoter behind `token` (active ones only;
 * ERR_NOT_FOUND otherwise) and whether a logged-in visitor (`visitor` not 0)
 * is bound to them. Changes nothing: a GET.
 */
MUST_CHECK enum err promoter_open_link(struct db *db, const char *token, int64_t visitor,
                                       struct arena *a, struct landing *out);
/*
 * The visitor's deliberate visit through a link (a write: POST, with the CSRF
 * rule): a promoter's referral token, or a share's token (its nearest active
 * promoter on the chain, as an order would be attributed). RULE: BINDING -
 * binds the visitor to that promoter unless someone holds them; never the
 * promoter to themselves. ERR_NOT_FOUND when the token is neither.
 */
MUST_CHECK enum err promoter_visit_link(struct db *db, const char *token, int64_t visitor,
                                        struct arena *a, struct landing *out);

/* Who an order is attributed to, and through what. */
struct attribution {
    int64_t promoter_id; /* level 1 of the order's commission; 0: none */
    const char *via;     /* "binding", "link", "share", or NULL */
    int64_t share_id;    /* the share the order came through; 0: none */
    int share_hop;       /* its hop (1 or 2); 0: none */
};
/*
 * Inside the order-create transaction: the attribution of a new order, from
 * `share_token` (a promoter's referral token, or a share's token) and the
 * buyer's binding. RULE: BINDING - a bound buyer's order is their promoter's;
 * else a share's nearest active promoter on its chain (the re-sharer if they
 * are one, else the hop-1 sharer), else the link's promoter; the buyer is
 * then bound to them if free. RULE: NO-SELF-COMMISSION - never the buyer's
 * own record (an audit event instead). A share's id and hop are recorded
 * whoever gets the commission, for the per-hop figures.
 */
MUST_CHECK enum err promoter_attribute(struct db *db, int64_t shop_id, int64_t buyer_id,
                                       const char *share_token, int64_t now,
                                       struct attribution *out);

#endif
