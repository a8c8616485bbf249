/*
 * api.h - the route table (routes.c) and the handlers behind it, one file per
 * resource: auth.c, shops.c, products.c, circles.c, orders.c, promoters.c,
 * bindings.c, money.c, audit.c, shares.c, posters.c, payments.c, ops.c; common.c has what they
 * share. A handler validates its input strictly, calls the domain, and renders JSON. No SQL here:
 * the domain's transactions are its own (db_tx_run).
 */
#ifndef QUANZI_API_API_H
#define QUANZI_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/req.h"
#include "http/router.h"

struct api_settings {
    bool test_clock;           /* POST /api/v1/test-clock is served */
    bool cookie_secure;        /* session cookie gets the Secure attribute */
    int64_t session_ms;        /* cookie Max-Age */
    int64_t trial_days;        /* free trial of a new shop */
    const char *data_dir;      /* images live in <data_dir>/images */
    const char *metrics_token; /* GET /metrics needs "Authorization: Bearer <it>"; NULL: open */
    int64_t home_shop;         /* the front page's shop; 0: the oldest */
    const char *public_url;    /* links on posters start with it; NULL: the request's Host */
};

extern struct api_settings api_settings;
extern const struct route api_routes[];
extern const size_t api_routes_len;

/* access.c: the route's access column, checked against r->party before its handler runs;
 * 404 ("no such shop", ...) when the caller may not, as if the object did not exist. */
MUST_CHECK enum err api_access(struct req *r);

/* auth.c */
enum err api_register(struct req *r);
enum err api_login(struct req *r);
enum err api_logout(struct req *r);
enum err api_me(struct req *r);
enum err api_session(struct req *r);
enum err api_auth_wechat(struct req *r);
enum err api_me_interests(struct req *r);

/* shops.c */
enum err api_shop_create(struct req *r);
enum err api_shop_get(struct req *r);
enum err api_shop_patch(struct req *r);
enum err api_shop_staff_list(struct req *r);
enum err api_shop_staff_add(struct req *r);
enum err api_shop_staff_remove(struct req *r);

/* products.c */
enum err api_product_create(struct req *r);
enum err api_product_get(struct req *r);
enum err api_product_patch(struct req *r);
enum err api_product_list(struct req *r);
enum err api_product_image_add(struct req *r);
enum err api_product_image_remove(struct req *r);
enum err api_image_get(struct req *r);
enum err api_tags_vocab(struct req *r);

/* circles.c (circles and contacts) */
enum err api_circle_create(struct req *r);
enum err api_circle_list(struct req *r);
enum err api_circle_get(struct req *r);
enum err api_circle_patch(struct req *r);
enum err api_circle_rotate_code(struct req *r);
enum err api_circle_join(struct req *r);
enum err api_circle_leave(struct req *r);
enum err api_circle_members(struct req *r);
enum err api_circle_member_patch(struct req *r);
enum err api_circle_member_remove(struct req *r);
enum err api_me_circles(struct req *r);
enum err api_contact_request(struct req *r);
enum err api_contact_accept(struct req *r);
enum err api_contact_remove(struct req *r);
enum err api_contact_list(struct req *r);

/* orders.c */
enum err api_order_create(struct req *r);
enum err api_order_get(struct req *r);
enum err api_me_orders(struct req *r);
enum err api_shop_orders(struct req *r);
enum err api_shop_refunds(struct req *r);
/* The body of POST /orders read strictly into `in` (pointing into the request's JSON);
 * the domain's own checks (order_check_new) come after. Also driven by tests/fuzz. */
struct order_new;
MUST_CHECK enum err api_order_input(struct req *r, struct order_new *in);
enum err api_order_confirm_payment(struct req *r);
enum err api_order_ship(struct req *r);
enum err api_order_receive(struct req *r);
enum err api_order_cancel(struct req *r);
enum err api_refund_request(struct req *r);
enum err api_refund_withdraw(struct req *r);
enum err api_refund_approve(struct req *r);
enum err api_refund_reject(struct req *r);

/* promoters.c */
enum err api_trial_grant(struct req *r);
enum err api_promoter_terms(struct req *r);
enum err api_promoter_apply(struct req *r);
enum err api_promoter_list(struct req *r);
enum err api_promoter_approve(struct req *r);
enum err api_promoter_suspend(struct req *r);
enum err api_me_promoter(struct req *r);

/* payments.c */
enum err api_wechatpay_get(struct req *r);
enum err api_wechatpay_put(struct req *r);
enum err api_wechatpay_notify(struct req *r);
enum err api_payment_anomalies(struct req *r);
enum err api_order_wechatpay(struct req *r);
enum err api_order_payment_options(struct req *r);
enum err api_withdrawal_wechatpay(struct req *r);

/* posters.c */
enum err api_share_poster(struct req *r);
enum err api_promoter_poster(struct req *r);

/* shares.c */
enum err api_share_create(struct req *r);
enum err api_share_preview(struct req *r);
enum err api_share_get(struct req *r);
enum err api_share_audience(struct req *r);
enum err api_me_shares(struct req *r);
enum err api_me_feed(struct req *r);
enum err api_feed_open(struct req *r);
enum err api_feed_not_interested(struct req *r);
enum err api_mute_add(struct req *r);
enum err api_me_mutes(struct req *r);
enum err api_mute_remove(struct req *r);
enum err api_report_add(struct req *r);
enum err api_shop_reports(struct req *r);
enum err api_report_uphold(struct req *r);
enum err api_report_dismiss(struct req *r);
enum err api_promoter_trust(struct req *r);
enum err api_share_stats(struct req *r);
enum err api_shop_stats(struct req *r);
enum err api_feedback_add(struct req *r);
enum err api_product_feedback(struct req *r);
enum err api_shop_followups(struct req *r);
enum err api_followup_done(struct req *r);

/* bindings.c */
enum err api_share_open(struct req *r);
enum err api_share_visit(struct req *r);
enum err api_me_binding(struct req *r);
enum err api_me_unbind(struct req *r);

/* money.c */
enum err api_me_commissions(struct req *r);
enum err api_me_balance(struct req *r);
enum err api_withdrawal_request(struct req *r);
enum err api_me_withdrawals(struct req *r);
enum err api_shop_withdrawals(struct req *r);
enum err api_withdrawal_approve(struct req *r);
enum err api_withdrawal_pay(struct req *r);
enum err api_withdrawal_reject(struct req *r);
enum err api_shop_ledger(struct req *r);

/* audit.c */
enum err api_shop_audit(struct req *r);
struct audit;
/* The audit as JSON (the API and `quanzi audit --json` print the same). */
json_t *api_audit_json(const struct audit *a);

/* ops.c */
enum err api_healthz(struct req *r);
enum err api_metrics(struct req *r);
enum err api_openapi(struct req *r);
enum err api_test_clock(struct req *r);

#endif
