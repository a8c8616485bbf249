/*
 * payments.c - WeChat Pay: a shop's merchant settings, the notification endpoint
 * WeChat Pay calls, and the payments reported that could not be applied.
 */
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "domain/wechatpay.h"
#include "util/clock.h"

#define NOTIFY_PATH "/api/v1/payments/wechatpay/notify"

static json_t *merchant_json(const struct wechatpay_merchant *m)
{
    /* where the keys are, never what they are */
    return json_pack("{s:I, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "shop_id",
                     (json_int_t)m->shop_id, "configured", 1, "app_secret", m->app_secret, "mchid",
                     m->mchid, "appid", m->appid, "serial_no", m->serial_no, "private_key",
                     m->private_key, "apiv3_key", m->apiv3_key, "public_key_id", m->public_key_id,
                     "public_key", m->public_key, "notify_path", NOTIFY_PATH, "created_at",
                     json_time(m->created_at_ms), "updated_at", json_time(m->updated_at_ms));
}

enum err api_wechatpay_get(struct req *r)
{
    struct wechatpay_merchant m;
    int64_t shop_id = req_param_id(r, 0);
    enum err e = wechatpay_merchant_get(r->db, shop_id, &r->arena, &m);
    if (e == ERR_NOT_FOUND) /* not set up yet: a state, not an error */
        return req_reply(r, 200,
                         json_pack("{s:I, s:b, s:s}", "shop_id", (json_int_t)shop_id, "configured",
                                   0, "notify_path", NOTIFY_PATH));
    if (e)
        return e;
    return req_reply(r, 200, merchant_json(&m));
}

enum err api_wechatpay_put(struct req *r)
{
    struct wechatpay_merchant m = {.shop_id = req_param_id(r, 0)};
    size_t len = 0;
    enum err e = req_read(r, REQ_STRING("mchid", true, &m.mchid, &len),
                          REQ_STRING("appid", true, &m.appid, &len),
                          REQ_STRING("serial_no", true, &m.serial_no, &len),
                          REQ_STRING("private_key", true, &m.private_key, &len),
                          REQ_STRING("apiv3_key", true, &m.apiv3_key, &len),
                          REQ_STRING("public_key_id", true, &m.public_key_id, &len),
                          REQ_STRING("public_key", true, &m.public_key, &len),
                          REQ_STRING("app_secret", false, &m.app_secret, &len));
    if (!e)
        e = wechatpay_merchant_set(r->db, &m, &r->ei);
    if (!e)
        e = wechatpay_merchant_get(r->db, m.shop_id, &r->arena, &m);
    if (e)
        return e;
    return req_reply(r, 200, merchant_json(&m));
}

/* What WeChat Pay expects back: 200 with nothing on success; otherwise a 4xx or 5xx with
 * {"code": "FAIL", "message": ...}, which makes it send the notification again later. */
static enum err notify_answer(struct req *r, int status, const char *message)
{
    r->status = status;
    if (status == 200) {
        r->raw_body = "";
        r->raw_len = 0;
        return ERR_OK;
    }
    char *body = arena_printf(&r->arena, "{\"code\":\"FAIL\",\"message\":\"%s\"}", message);
    r->raw_body = body ? body : "{\"code\":\"FAIL\",\"message\":\"fail\"}";
    r->raw_len = strlen(r->raw_body);
    return ERR_OK;
}

enum err api_wechatpay_notify(struct req *r)
{
    struct wxp_notification n = {
        .serial = req_header(r, "Wechatpay-Serial"),
        .signature = req_header(r, "Wechatpay-Signature"),
        .timestamp = req_header(r, "Wechatpay-Timestamp"),
        .nonce = req_header(r, "Wechatpay-Nonce"),
        .body = r->body ? r->body : "",
        .body_len = r->body_len,
    };
    struct wechatpay_notice out;
    wechatpay_notify(r->db, &n, clock_real_ms() / 1000, &r->arena, &out);
    switch (out.outcome) {
    case WECHATPAY_APPLIED:
    case WECHATPAY_ANOMALY:
    case WECHATPAY_IGNORED:
        return notify_answer(r, 200, "");
    case WECHATPAY_REFUSED:
        return notify_answer(r, 401, wxp_refusal_name(out.refusal));
    case WECHATPAY_RETRY:
        break;
    }
    return notify_answer(r, 500, "busy");
}

enum err api_order_wechatpay(struct req *r)
{
    const char *type_s = NULL;
    size_t len = 0;
    enum wechatpay_trade type;
    enum err e = req_read(r, REQ_STRING("trade_type", true, &type_s, &len));
    if (e)
        return e;
    if (!wechatpay_trade_parse(type_s, &type))
        return req_fail(r, ERR_INVALID, "trade_type",
                        "trade_type must be JSAPI (inside WeChat) or H5 (a phone's browser)");
    struct wechatpay_prepay p;
    e = wechatpay_prepay(r->db, req_param_id(r, 0), r->user.user_id, type, r->client_ip, &r->arena,
                         &p, &r->ei);
    if (e)
        return e;
    json_t *o = json_pack("{s:s, s:s}", "trade_type", wechatpay_trade_name(p.type), "out_trade_no",
                          p.out_trade_no);
    if (o && p.type == WECHATPAY_H5)
        json_object_set_new(o, "h5_url", json_string(p.h5_url));
    else if (o) /* what WeixinJSBridge's getBrandWCPayRequest takes, as it names them */
        json_object_set_new(o, "jsapi",
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "appId", p.app_id,
                                      "timeStamp", p.time_stamp, "nonceStr", p.nonce_str, "package",
                                      p.package, "signType", p.sign_type, "paySign", p.pay_sign));
    return req_reply(r, 200, o);
}

static json_t *anomaly_json(const void *item)
{
    const struct payment_anomaly *x = item;
    return json_pack("{s:I, s:o, s:s, s:s, s:s, s:I, s:s, s:o}", "id", (json_int_t)x->id,
                     "order_id", api_opt_id(x->order_id), "provider", x->provider, "reference",
                     x->reference, "kind", x->kind, "amount_fen", (json_int_t)x->amount_fen,
                     "detail", x->detail, "created_at", json_time(x->created_at_ms));
}

enum err api_payment_anomalies(struct req *r)
{
    int64_t limit = 0, before = 0;
    struct payment_anomaly *items = NULL;
    size_t n = 0;
    bool more = false;
    enum err e = api_page(r, &limit, &before);
    if (!e)
        e = payment_anomaly_list(r->db, req_param_id(r, 0), before, limit, &r->arena, &items, &n,
                                 &more);
    if (e)
        return e;
    return api_reply_items(r, items, n, sizeof *items, anomaly_json, more, n ? items[n - 1].id : 0);
}
