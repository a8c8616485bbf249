/*
 * The state machines as truth tables: for every state and every event of
 * orders, refunds, withdrawals, commissions and promoters, whether the event
 * is allowed and where it leads. A cell left out of a table is a failure:
 * each test walks every (state, event) pair and finds it in its table.
 * Also every status name round-trips through its owner's parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/commission.h"
#include "domain/order.h"
#include "domain/promoter.h"
#include "domain/refund.h"
#include "domain/withdrawal.h"

#define NO (-1) /* not allowed */

/* One cell: from, event, and where it leads (NO: refused). */
struct cell {
    int from, ev, to;
};

/* Finds (from, ev) in the table; fails when the table has no such cell. */
static int expected(const struct cell *t, size_t n, int from, int ev)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].from == from && t[i].ev == ev)
            return t[i].to;
    fail_msg("the table has no cell for state %d, event %d", from, ev);
    return NO;
}

#define CELLS(t) (sizeof(t) / sizeof((t)[0]))

/* A machine's transition function, its enums as ints. */
typedef bool (*machine_fn)(int from, int ev, int *to);

/* Every state and every event of a machine against its table, both ways. */
static void check_machine(const char *name, machine_fn fn, int states, int events,
                          const struct cell *t, size_t n)
{
    for (int from = 0; from < states; from++)
        for (int ev = 0; ev < events; ev++) {
            int to = NO, want = expected(t, n, from, ev);
            bool ok = fn(from, ev, &to);
            if (ok != (want != NO) || (ok && to != want))
                fail_msg("%s: from %d by event %d the machine says %s %d, the table %d", name, from,
                         ev, ok ? "to" : "no", to, want);
        }
}

/* NAME_fn: the transition function of TYPE as a machine_fn. */
#define MACHINE(name, type, first)                                                                 \
    static bool name##_fn(int from, int ev, int *to)                                               \
    {                                                                                              \
        enum type t = first;                                                                       \
        bool ok = name##_transition(from, ev, &t);                                                 \
        return *to = (int)t, ok;                                                                   \
    }
MACHINE(order, order_status, ORDER_CREATED)
MACHINE(refund, refund_status, REFUND_REQUESTED)
MACHINE(withdrawal, withdrawal_status, WITHDRAWAL_REQUESTED)
MACHINE(commission, commission_status, COMMISSION_PENDING)
MACHINE(promoter, promoter_status, PROMOTER_PENDING)

static void orders(void **state)
{
    (void)state;
    enum {
        C = ORDER_CREATED,
        P = ORDER_PAID,
        S = ORDER_SHIPPED,
        D = ORDER_DELIVERED,
        F = ORDER_COMPLETED,
        X = ORDER_CANCELLED,
        R = ORDER_REFUNDED
    };
    static const struct cell t[] = {
        /* created */
        {C, EV_PAY, P},
        {C, EV_SHIP, NO},
        {C, EV_RECEIVE, NO},
        {C, EV_COMPLETE, NO},
        {C, EV_CANCEL, X},
        {C, EV_REFUND_ALL, NO},
        /* paid */
        {P, EV_PAY, NO},
        {P, EV_SHIP, S},
        {P, EV_RECEIVE, NO},
        {P, EV_COMPLETE, NO},
        {P, EV_CANCEL, NO},
        {P, EV_REFUND_ALL, R},
        /* shipped */
        {S, EV_PAY, NO},
        {S, EV_SHIP, NO},
        {S, EV_RECEIVE, D},
        {S, EV_COMPLETE, NO},
        {S, EV_CANCEL, NO},
        {S, EV_REFUND_ALL, R},
        /* delivered */
        {D, EV_PAY, NO},
        {D, EV_SHIP, NO},
        {D, EV_RECEIVE, NO},
        {D, EV_COMPLETE, F},
        {D, EV_CANCEL, NO},
        {D, EV_REFUND_ALL, R},
        /* completed: after-sales refunds only */
        {F, EV_PAY, NO},
        {F, EV_SHIP, NO},
        {F, EV_RECEIVE, NO},
        {F, EV_COMPLETE, NO},
        {F, EV_CANCEL, NO},
        {F, EV_REFUND_ALL, R},
        /* cancelled and refunded are final */
        {X, EV_PAY, NO},
        {X, EV_SHIP, NO},
        {X, EV_RECEIVE, NO},
        {X, EV_COMPLETE, NO},
        {X, EV_CANCEL, NO},
        {X, EV_REFUND_ALL, NO},
        {R, EV_PAY, NO},
        {R, EV_SHIP, NO},
        {R, EV_RECEIVE, NO},
        {R, EV_COMPLETE, NO},
        {R, EV_CANCEL, NO},
        {R, EV_REFUND_ALL, NO},
    };
    check_machine("orders", order_fn, R + 1, EV_REFUND_ALL + 1, t, CELLS(t));
    for (int s = C; s <= R; s++) {
        enum order_status back;
        assert_true(order_status_parse(order_status_name(s), &back));
        assert_int_equal(back, s);
    }
    enum order_status none;
    assert_false(order_status_parse("lost", &none));
}

static void refunds(void **state)
{
    (void)state;
    enum { Q = REFUND_REQUESTED, A = REFUND_APPROVED, J = REFUND_REJECTED, W = REFUND_WITHDRAWN };
    static const struct cell t[] = {
        {Q, REFUND_APPROVE, A},  {Q, REFUND_REJECT, J},  {Q, REFUND_WITHDRAW, W},
        {A, REFUND_APPROVE, NO}, {A, REFUND_REJECT, NO}, {A, REFUND_WITHDRAW, NO},
        {J, REFUND_APPROVE, NO}, {J, REFUND_REJECT, NO}, {J, REFUND_WITHDRAW, NO},
        {W, REFUND_APPROVE, NO}, {W, REFUND_REJECT, NO}, {W, REFUND_WITHDRAW, NO},
    };
    check_machine("refunds", refund_fn, W + 1, REFUND_WITHDRAW + 1, t, CELLS(t));
    for (int s = Q; s <= W; s++) {
        enum refund_status back;
        assert_true(refund_status_parse(refund_status_name(s), &back));
        assert_int_equal(back, s);
    }
    enum refund_status none;
    assert_false(refund_status_parse("pending", &none));
}

static void withdrawals(void **state)
{
    (void)state;
    enum {
        Q = WITHDRAWAL_REQUESTED,
        A = WITHDRAWAL_APPROVED,
        P = WITHDRAWAL_PAID,
        J = WITHDRAWAL_REJECTED
    };
    static const struct cell t[] = {
        {Q, WITHDRAWAL_APPROVE, A},  {Q, WITHDRAWAL_PAY, P},  {Q, WITHDRAWAL_REJECT, J},
        {A, WITHDRAWAL_APPROVE, NO}, {A, WITHDRAWAL_PAY, P},  {A, WITHDRAWAL_REJECT, J},
        {P, WITHDRAWAL_APPROVE, NO}, {P, WITHDRAWAL_PAY, NO}, {P, WITHDRAWAL_REJECT, NO},
        {J, WITHDRAWAL_APPROVE, NO}, {J, WITHDRAWAL_PAY, NO}, {J, WITHDRAWAL_REJECT, NO},
    };
    check_machine("withdrawals", withdrawal_fn, J + 1, WITHDRAWAL_REJECT + 1, t, CELLS(t));
    assert_string_equal(withdrawal_status_name(WITHDRAWAL_PAID), "paid");
}

static void commissions(void **state)
{
    (void)state;
    enum {
        P = COMMISSION_PENDING,
        A = COMMISSION_AVAILABLE,
        R = COMMISSION_REVERSED,
        H = COMMISSION_WITHHELD
    };
    static const struct cell t[] = {
        /* RULE: PENDING-THEN-SETTLED, RULE: CLAWBACK */
        {P, COMMISSION_SETTLE, A},
        {P, COMMISSION_CLAW, P},
        {P, COMMISSION_CLAW_ALL, R},
        /* a settled share is clawed back from available, which may go negative */
        {A, COMMISSION_SETTLE, NO},
        {A, COMMISSION_CLAW, A},
        {A, COMMISSION_CLAW_ALL, A},
        {R, COMMISSION_SETTLE, NO},
        {R, COMMISSION_CLAW, NO},
        {R, COMMISSION_CLAW_ALL, NO},
        {H, COMMISSION_SETTLE, NO},
        {H, COMMISSION_CLAW, NO},
        {H, COMMISSION_CLAW_ALL, NO},
    };
    check_machine("commissions", commission_fn, H + 1, COMMISSION_CLAW_ALL + 1, t, CELLS(t));
    assert_string_equal(commission_status_name(COMMISSION_WITHHELD), "withheld");
}

static void promoters(void **state)
{
    (void)state;
    enum { Q = PROMOTER_PENDING, A = PROMOTER_ACTIVE, S = PROMOTER_SUSPENDED };
    static const struct cell t[] = {
        {Q, PROMOTER_APPROVE, A}, {Q, PROMOTER_SUSPEND, S}, {A, PROMOTER_APPROVE, NO},
        {A, PROMOTER_SUSPEND, S}, {S, PROMOTER_APPROVE, A}, {S, PROMOTER_SUSPEND, NO},
    };
    check_machine("promoters", promoter_fn, S + 1, PROMOTER_SUSPEND + 1, t, CELLS(t));
    for (int s = Q; s <= S; s++)
        assert_int_equal(promoter_status_parse(promoter_status_name(s)), s);
    assert_int_equal(promoter_status_parse("banned"), PROMOTER_SUSPENDED); /* earns nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orders),      cmocka_unit_test(refunds),   cmocka_unit_test(withdrawals),
        cmocka_unit_test(commissions), cmocka_unit_test(promoters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
