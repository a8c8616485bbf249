/*
 * wechatpay_client.h - calls to the WeChat Pay API v3 over HTTPS (libcurl): each
 * request signed with the merchant's key, each answer believed only when WeChat
 * Pay's key verifies it (an unsigned or wrongly signed 2xx is a failure, as the
 * documents say), with timeouts, so that a slow or absent WeChat Pay holds no
 * request for long.
 */
#ifndef QUANZI_PAY_WECHATPAY_CLIENT_H
#define QUANZI_PAY_WECHATPAY_CLIENT_H

#include "pay/wechatpay.h"

#define WXP_CONNECT_TIMEOUT_MS 3000
#define WXP_TIMEOUT_MS 10000

struct wxp_client {
    const char *base; /* the API's address, without a trailing slash */
    const char *mchid, *serial_no;
    const struct wxp_key *merchant; /* signs requests */
    const struct wxp_key *platform; /* verifies answers */
    const char *platform_key_id;    /* the Wechatpay-Serial answers must name */
    long timeout_ms;                /* 0: WXP_TIMEOUT_MS */
};

struct wxp_answer {
    long status; /* HTTP status; 0 when there was no answer */
    char *body;  /* in the arena, NUL-terminated */
    size_t len;
};

/*
 * Sends method path_query (with body, JSON, or NULL) and reads the answer. ERR_OK with
 * out->status set for any verified answer, 2xx or not; ERR_UNAVAILABLE when there was
 * none (connection, timeout) or it was not signed by WeChat Pay's key.
 */
MUST_CHECK enum err wxp_call(const struct wxp_client *c, struct arena *a, const char *method,
                             const char *path_query, const char *body, struct wxp_answer *out,
                             struct errinfo *ei);

/* A plain HTTPS GET of `url` (WeChat's OAuth API, which signs nothing), same timeouts. */
MUST_CHECK enum err wxp_get_plain(const char *url, long timeout_ms, struct arena *a,
                                  struct wxp_answer *out);

#endif
