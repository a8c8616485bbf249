/*
 * payment.c - payments applied to orders (payment.h).
 */
#include "domain/payment.h"

#include <stdio.h>

#include "domain/commission.h"
#include "domain/order_steps.h"
#include "domain/shop.h"
#include "util/clock.h"

/* Adds the purchased product's tags to the buyer's learned interests (bounded). */
static enum err learn_interests(struct db *db, int64_t order_id, int64_t buyer, int64_t now)
{
    static const char sql[] =
        "INSERT INTO member_interests (user_id, source, tag, weight_milli, updated_at)"
        " SELECT ?, 'learned', t.tag, CASE WHEN t.weight_milli * 3 / 10 < 1 THEN 1"
        " ELSE t.weight_milli * 3 / 10 END, ? FROM order_items i"
        " JOIN product_tags t ON t.product_id = i.product_id WHERE i.order_id = ?"
        " ON CONFLICT (user_id, source, tag) DO UPDATE SET weight_milli ="
        " CASE WHEN member_interests.weight_milli + excluded.weight_milli > 1000 THEN 1000"
        " ELSE member_interests.weight_milli + excluded.weight_milli END,"
        " updated_at = excluded.updated_at";
    return db_run(db, sql, DB_INT(buyer), DB_INT(now), DB_INT(order_id));
}

struct pay_args {
    const struct payment *p;
    const char *ref;
    struct arena *a;
    struct errinfo *ei;
};

static enum err pay_tx(struct db *db, void *arg)
{
    static const char find[] = "SELECT order_id FROM payments"
                               " WHERE shop_id = ? AND provider = ? AND reference = ?";
    const struct pay_args *q = arg;
    const struct payment *p = q->p;
    struct errinfo *ei = q->ei;
    struct order o;
    enum order_status to;
    int64_t now = clock_now_ms(), paid_order = 0;
    enum err e = order_load_head(db, p->order_id, q->a, &o);
    if (e == ERR_NOT_FOUND)
        return err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
    if (e)
        return e;
    if (p->by_shop) {
        enum shop_role role;
        if ((e = shop_role_of(db, o.shop_id, p->actor_id, &role)))
            return e;
        if (role == SHOP_ROLE_NONE)
            return err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
    }
    /* a reference is unique per shop and provider: another shop's says nothing here */
    e = db_value(db, find, &paid_order, DB_INT(o.shop_id), DB_STR(p->provider), DB_STR(q->ref));
    if (e == ERR_OK) { /* this notification was applied before: no second effect */
        if (paid_order != p->order_id)
            return err_set(ei, ERR_UNPROCESSABLE, "reference",
                           "this payment reference belongs to another order");
        return p->out ? order_read(db, p->order_id, p->out_arena, p->out) : ERR_OK;
    }
    if (e != ERR_NOT_FOUND)
        return e;
    if (!order_transition(o.status, EV_PAY, &to))
        return order_illegal(ei, o.status, "confirm payment of");
    int64_t amount = p->has_amount ? p->amount_fen : o.total_fen;
    if (amount != o.total_fen)
        return err_set(ei, ERR_UNPROCESSABLE, "amount_fen",
                       "the payment of %lld fen does not match the order total of %lld fen",
                       (long long)amount, (long long)o.total_fen);
    static const char ins[] = "INSERT INTO payments (shop_id, order_id, provider, reference,"
                              " amount_fen, created_at) VALUES (?, ?, ?, ?, ?, ?)";
    e = db_run(db, ins, DB_INT(o.shop_id), DB_INT(o.id), DB_STR(p->provider), DB_STR(q->ref),
               DB_INT(amount), DB_INT(now));
    if (e == ERR_CONFLICT)
        return ERR_RETRY; /* the same payment, applied meanwhile: run again to see it */
    if (e)
        return e;
    char note[160];
    snprintf(note, sizeof note, "%s %s", p->provider, q->ref);
    if ((e = order_move(db, &o, to, "paid", p->actor_id, note, now, ei)) ||
        (e = learn_interests(db, o.id, o.buyer_id, now)))
        return e;
    /* RULE: PENDING-THEN-SETTLED - commission is earned (pending) when the order is paid */
    if ((e = commission_on_paid(db, &o, o.promoter_id, now)))
        return e;
    return p->out ? order_read(db, o.id, p->out_arena, p->out) : ERR_OK;
}

enum err payment_apply(struct db *db, const struct payment *p, struct errinfo *ei)
{
    struct arena a;
    char ref[96];
    if (p->reference)
        snprintf(ref, sizeof ref, "%s", p->reference);
    else
        snprintf(ref, sizeof ref, "%s-%lld", p->provider, (long long)p->order_id);
    arena_init(&a, 256 * 1024);
    struct pay_args q = {.p = p, .ref = ref, .a = &a, .ei = ei};
    /* Hot rows: every payment of a shop adds to the shop's ledger accounts. On
     * PostgreSQL this runs at READ COMMITTED: the balance updates wait for the
     * row and add to what is there; the order moves only from the status read
     * (a conditional update), and the payment is unique by (shop, provider, reference). */
    enum err e = db_tx_run(db, DB_TX_WRITE_LOCKED, pay_tx, &q);
    arena_release(&a);
    return e;
}
