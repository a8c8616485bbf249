/*
 * wechatpay.h - a shop as a WeChat Pay merchant: its settings, and the payment
 * notifications WeChat Pay sends (POST /api/v1/payments/wechatpay/notify).
 *
 * A notification is believed only when the WeChat Pay public key its
 * Wechatpay-Serial names verifies it (src/pay/wechatpay.h), and is applied
 * once: payment_apply() has one effect per transaction id, however many
 * times, and however concurrently, the same notification arrives. What is
 * verified but cannot be applied (an amount or currency not the order's, an
 * order that can no longer be paid, another merchant's) is recorded for the
 * shop as a payment anomaly, once, and not applied.
 *
 * Keys are never stored in the database nor returned nor logged: the settings
 * say where they are, a file name in wechatpay_settings.key_dir or
 * "env:QUANZI_WECHATPAY_<NAME>", read when needed.
 */
#ifndef QUANZI_DOMAIN_WECHATPAY_H
#define QUANZI_DOMAIN_WECHATPAY_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "pay/wechatpay.h"
#include "util/arena.h"
#include "util/err.h"

#define WECHATPAY_PROVIDER "wechatpay"
#define WECHATPAY_TRADE_PREFIX "QZ" /* out_trade_no: QZ<order id> */
#define WECHATPAY_ENV_PREFIX "env:QUANZI_WECHATPAY_"

struct wechatpay_settings {
    const char *key_dir;    /* where key files named by the settings are */
    const char *api_base;   /* WeChat Pay's API address (wechatpay_api_base); NULL: not set */
    const char *public_url; /* where WeChat Pay reaches this server (the notify URL) */
    long timeout_ms;        /* per call to WeChat Pay; 0: the client's default */
    const char *oauth_base; /* WeChat's OAuth API address (wechat_oauth_base); NULL: not set */
};
extern struct wechatpay_settings wechatpay_settings;

struct wechatpay_merchant {
    int64_t shop_id;
    const char *mchid, *appid, *serial_no;
    const char *private_key, *apiv3_key, *public_key_id, *public_key; /* where, not what */
    const char *app_secret; /* where the AppSecret is; "": no sign-in with WeChat */
    int64_t created_at_ms, updated_at_ms;
};

/* Sets a shop's merchant settings, after checking that every key named is there and is
 * what it should be (ERR_UNPROCESSABLE naming the field otherwise). */
MUST_CHECK enum err wechatpay_merchant_set(struct db *db, const struct wechatpay_merchant *m,
                                           struct errinfo *ei);
MUST_CHECK enum err wechatpay_merchant_get(struct db *db, int64_t shop_id, struct arena *a,
                                           struct wechatpay_merchant *out);

/* The out_trade_no of an order, and the order of one (0: not one of ours). */
void wechatpay_trade_no(int64_t order_id, char out[32]);
int64_t wechatpay_trade_order(const char *out_trade_no);

/* --- paying --- */

enum wechatpay_trade { WECHATPAY_JSAPI, WECHATPAY_H5 };
const char *wechatpay_trade_name(enum wechatpay_trade t);
bool wechatpay_trade_parse(const char *s, enum wechatpay_trade *out);

/* What the page needs to open WeChat's payment sheet. */
struct wechatpay_prepay {
    enum wechatpay_trade type;
    char out_trade_no[32];
    const char *prepay_id; /* JSAPI */
    const char *h5_url;    /* H5 */
    /* JSAPI: the arguments of WeixinJSBridge's getBrandWCPayRequest */
    const char *app_id, *time_stamp, *nonce_str, *package, *sign_type, *pay_sign;
};

/*
 * Starts (or gives again) the WeChat Pay payment of a created order of `buyer_id`: one per
 * order, the amount from the order. JSAPI needs the buyer's openid (sign-in with WeChat),
 * H5 the buyer's address. No database lock is held while WeChat Pay is asked.
 */
MUST_CHECK enum err wechatpay_prepay(struct db *db, int64_t order_id, int64_t buyer_id,
                                     enum wechatpay_trade type, const char *client_ip,
                                     struct arena *a, struct wechatpay_prepay *out,
                                     struct errinfo *ei);

/* Reconciliation: asks WeChat Pay about open payments started more than `min_age_ms` ago
 * (negative: all, whatever their age)
 * and applies the paid ones as a notification would; closes those of cancelled orders.
 * *affected: payments settled one way or the other. */
MUST_CHECK enum err wechatpay_reconcile(struct db *db, int64_t min_age_ms, int64_t *affected);
#define WECHATPAY_RECONCILE_AGE_MS (5 * 60 * 1000)

/* --- refunds --- */

/* The WeChat Pay transaction that paid an order: ERR_NOT_FOUND when it was paid otherwise
 * (or not at all). */
MUST_CHECK enum err wechatpay_paid(struct db *db, int64_t order_id, struct arena *a,
                                   const char **transaction_id);

/* The shop approves a refund of an order paid with WeChat Pay: it is sent back through
 * WeChat Pay (once per refund) and applied when WeChat Pay says it succeeded (at once, or
 * by its notification, or when the job asks). *state: "sent", "done", or "sending" when
 * WeChat Pay could not be told now (the job tries again). ERR_CONFLICT while it is under
 * way; ERR_UNPROCESSABLE with WeChat Pay's words when it refuses. */
MUST_CHECK enum err wechatpay_refund_start(struct db *db, int64_t refund_id, int64_t actor,
                                           const char *note, size_t note_len, struct arena *a,
                                           const char **state, struct errinfo *ei);
/* Whether a refund is under way through WeChat Pay (the buyer may not withdraw it then,
 * nor the shop reject it). */
MUST_CHECK enum err wechatpay_refund_pending(struct db *db, int64_t refund_id, bool *pending);

/* --- payouts --- */

/* The shop pays an approved withdrawal by merchant transfer to the promoter's WeChat
 * balance (scene 佣金报酬; the promoter must have signed in with WeChat): paid when WeChat
 * Pay says it succeeded, rejected (the money back to available) when it failed. *state as
 * wechatpay_refund_start()'s. */
MUST_CHECK enum err wechatpay_payout_start(struct db *db, int64_t withdrawal_id, int64_t actor,
                                           struct arena *a, const char **state, struct errinfo *ei);
/* Whether a withdrawal's transfer is under way (it may not be paid or rejected by hand). */
MUST_CHECK enum err wechatpay_payout_pending(struct db *db, int64_t withdrawal_id, bool *pending);

/* Sign-in with WeChat (OAuth snsapi_base): the openid the app's `code` stands for, asked of
 * WeChat's OAuth endpoint (wechatpay_settings.oauth_base) with the shop's AppSecret.
 * ERR_BAD_CREDENTIALS when WeChat does not know the code (wrong, used or expired). */
MUST_CHECK enum err wechatpay_oauth_openid(struct db *db, int64_t shop_id, const char *code,
                                           struct arena *a, const char **appid, const char **openid,
                                           struct errinfo *ei);

/* Links a WeChat openid of an app to a member (sign-in with WeChat); ERR_CONFLICT when it
 * is linked to another member already. */
MUST_CHECK enum err wechatpay_identity_link(struct db *db, const char *appid, const char *openid,
                                            int64_t user_id);
MUST_CHECK enum err wechatpay_identity_openid(struct db *db, const char *appid, int64_t user_id,
                                              struct arena *a, const char **openid);

enum wechatpay_outcome {
    WECHATPAY_APPLIED, /* the payment was applied, now or before */
    WECHATPAY_ANOMALY, /* verified, not applied, recorded for the shop */
    WECHATPAY_IGNORED, /* verified, an event quanzi does not act on */
    WECHATPAY_REFUSED, /* not believed: nothing read, nothing done */
    WECHATPAY_RETRY,   /* believed, but could not be stored now: WeChat Pay sends it again */
};

struct wechatpay_notice {
    enum wechatpay_outcome outcome;
    enum wxp_refusal refusal; /* REFUSED: why */
    const char *anomaly;      /* ANOMALY: its kind */
    int64_t shop_id, order_id;
};

/* Handles one notification as it arrived; now_s: the clock. */
void wechatpay_notify(struct db *db, const struct wxp_notification *n, int64_t now_s,
                      struct arena *a, struct wechatpay_notice *out);

/* --- payment anomalies (any provider) --- */

struct payment_anomaly {
    int64_t id, shop_id, order_id; /* order_id 0: none matched */
    const char *provider, *reference, *kind, *detail;
    int64_t amount_fen, created_at_ms;
};
/* Records one, once per (provider, reference, kind). */
MUST_CHECK enum err payment_anomaly_add(struct db *db, const struct payment_anomaly *x);
MUST_CHECK enum err payment_anomaly_list(struct db *db, int64_t shop_id, int64_t before_id,
                                         int64_t limit, struct arena *a,
                                         struct payment_anomaly **out, size_t *n, bool *more);

#endif
