/*
 * The state machines as truth tables: for every state (a row) and every
 * event (a column) of orders, refunds, withdrawals, commissions and
 * promoters, where the event leads, or NO. Each row is written through a
 * macro of the machine's event count, so a row that leaves a cell out does
 * not compile; each test walks every (state, event) pair against the
 * machine's own transition function. Also every status name round-trips
 * through its owner's parser.
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

/* A machine's transition function, its enums as ints. */
typedef bool (*machine_fn)(int from, int ev, int *to);

/* Every state and every event of a machine against its table (states x events), both ways. */
static void check_machine(const char *name, machine_fn fn, int states, int events, const int *table)
{
    for (int from = 0; from < states; from++)
        for (int ev = 0; ev < events; ev++) {
            int to = NO, want = table[from * events + ev];
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

/* A row of a table, one cell per event: the wrong count does not compile. */
/* clang-format off */
#define ROW2(a, b) {a, b}
#define ROW3(a, b, c) {a, b, c}
#define ROW6(a, b, c, d, e, f) {a, b, c, d, e, f}
/* clang-format on */

static void orders(void **state)
{
    (void)state;
    enum { C = ORDER_CREATED, P = ORDER_PAID, S = ORDER_SHIPPED, D = ORDER_DELIVERED };
    enum { F = ORDER_COMPLETED, X = ORDER_CANCELLED, R = ORDER_REFUNDED };
    /*                               pay  ship recv done cancel refund-all */
    static const int t[R + 1][6] = {[C] = ROW6(P, NO, NO, NO, X, NO),
                                    [P] = ROW6(NO, S, NO, NO, NO, R),
                                    [S] = ROW6(NO, NO, D, NO, NO, R),
                                    [D] = ROW6(NO, NO, NO, F, NO, R),
                                    /* completed: after-sales refunds only */
                                    [F] = ROW6(NO, NO, NO, NO, NO, R),
                                    /* cancelled and refunded are final */
                                    [X] = ROW6(NO, NO, NO, NO, NO, NO),
                                    [R] = ROW6(NO, NO, NO, NO, NO, NO)};
    check_machine("orders", order_fn, R + 1, EV_REFUND_ALL + 1, &t[0][0]);
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
    /*                               approve reject withdraw */
    static const int t[W + 1][3] = {[Q] = ROW3(A, J, W),
                                    [A] = ROW3(NO, NO, NO),
                                    [J] = ROW3(NO, NO, NO),
                                    [W] = ROW3(NO, NO, NO)};
    check_machine("refunds", refund_fn, W + 1, REFUND_WITHDRAW + 1, &t[0][0]);
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
    enum { Q = WITHDRAWAL_REQUESTED, A = WITHDRAWAL_APPROVED, P = WITHDRAWAL_PAID };
    enum { J = WITHDRAWAL_REJECTED };
    /*                               approve pay reject */
    static const int t[J + 1][3] = {
        [Q] = ROW3(A, P, J), [A] = ROW3(NO, P, J), [P] = ROW3(NO, NO, NO), [J] = ROW3(NO, NO, NO)};
    check_machine("withdrawals", withdrawal_fn, J + 1, WITHDRAWAL_REJECT + 1, &t[0][0]);
    assert_string_equal(withdrawal_status_name(WITHDRAWAL_PAID), "paid");
}

static void commissions(void **state)
{
    (void)state;
    enum { P = COMMISSION_PENDING, A = COMMISSION_AVAILABLE, R = COMMISSION_REVERSED };
    enum { H = COMMISSION_WITHHELD };
    /* RULE: PENDING-THEN-SETTLED, RULE: CLAWBACK: a settled share is clawed back from
     * available, which may go negative; withheld and reversed never move.
     *                               settle claw claw-all */
    static const int t[H + 1][3] = {
        [P] = ROW3(A, P, R), [A] = ROW3(NO, A, A), [R] = ROW3(NO, NO, NO), [H] = ROW3(NO, NO, NO)};
    check_machine("commissions", commission_fn, H + 1, COMMISSION_CLAW_ALL + 1, &t[0][0]);
    assert_string_equal(commission_status_name(COMMISSION_WITHHELD), "withheld");
}

static void promoters(void **state)
{
    (void)state;
    enum { Q = PROMOTER_PENDING, A = PROMOTER_ACTIVE, S = PROMOTER_SUSPENDED };
    /*                               approve suspend */
    static const int t[S + 1][2] = {[Q] = ROW2(A, S), [A] = ROW2(NO, S), [S] = ROW2(A, NO)};
    check_machine("promoters", promoter_fn, S + 1, PROMOTER_SUSPEND + 1, &t[0][0]);
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
