#include "pay/wechatpay_client.h"

#include <curl/curl.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

#define ANSWER_MAX (1024 * 1024)

struct reply {
    struct buf body;
    char timestamp[24], nonce[80], serial[80], signature[600];
};

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    buf_add(&r->body, p, size * n);
    return r->body.overflow ? 0 : size * n;
}

/* The Wechatpay-* headers of the answer, by name. */
static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    size_t len = size * n;
    const struct {
        const char *name;
        char *to;
        size_t cap;
    } wanted[] = {{"Wechatpay-Timestamp:", r->timestamp, sizeof r->timestamp},
                  {"Wechatpay-Nonce:", r->nonce, sizeof r->nonce},
                  {"Wechatpay-Serial:", r->serial, sizeof r->serial},
                  {"Wechatpay-Signature:", r->signature, sizeof r->signature}};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        size_t k = strlen(wanted[i].name);
        if (len <= k || strncasecmp(p, wanted[i].name, k) != 0)
            continue;
        const char *v = p + k;
        size_t vl = len - k;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < wanted[i].cap) {
            memcpy(wanted[i].to, v, vl);
            wanted[i].to[vl] = '\0';
        }
    }
    return len;
}

enum err wxp_call(const struct wxp_client *c, struct arena *a, const char *method,
                  const char *path_query, const char *body, struct wxp_answer *out,
                  struct errinfo *ei)
{
    memset(out, 0, sizeof *out);
    char ts[24], nonce[33];
    unsigned char raw[16];
    snprintf(ts, sizeof ts, "%lld", (long long)(clock_real_ms() / 1000));
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(nonce, sizeof nonce, raw, sizeof raw);
    const char *b = body ? body : "";
    char *auth = wxp_authorization(a, c->merchant, c->mchid, c->serial_no, method, path_query, ts,
                                   nonce, b, strlen(b));
    char *url = arena_printf(a, "%s%s", c->base, path_query);
    char *auth_line = auth ? arena_printf(a, "Authorization: %s", auth) : NULL;
    if (!auth_line || !url)
        return err_set(ei, ERR_INTERNAL, NULL, "the request to WeChat Pay could not be signed");

    struct reply r;
    memset(&r, 0, sizeof r);
    buf_init(&r.body, ANSWER_MAX);
    CURL *h = curl_easy_init();
    struct curl_slist *hs = NULL;
    hs = curl_slist_append(hs, auth_line);
    hs = curl_slist_append(hs, "Accept: application/json");
    hs = curl_slist_append(hs, "Content-Type: application/json");
    hs = curl_slist_append(hs, "User-Agent: quanzi");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)WXP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms ? c->timeout_ms : (long)WXP_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);

    enum err e = ERR_OK;
    if (rc != CURLE_OK) {
        LOG(LOG_WARN, "wechatpay_call_failed", "method=%s path=%s curl=%d", method, path_query,
            (int)rc);
        e = err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat Pay did not answer; try again later");
    } else {
        /* believed only with WeChat Pay's signature over timestamp, nonce and body; an answer
         * more than five minutes off is not believed either */
        const char *text = r.body.ptr ? r.body.ptr : "";
        struct wxp_notification n = {.serial = r.serial,
                                     .signature = r.signature,
                                     .timestamp = r.timestamp,
                                     .nonce = r.nonce,
                                     .body = text,
                                     .body_len = r.body.len};
        char *msg = wxp_message(a, NULL, NULL, n.timestamp, n.nonce, text, r.body.len);
        long long t = strtoll(r.timestamp, NULL, 10), now = clock_real_ms() / 1000;
        bool ok = msg && r.signature[0] && strcmp(r.serial, c->platform_key_id) == 0 &&
                  t > now - WXP_MAX_SKEW_S && t < now + WXP_MAX_SKEW_S &&
                  wxp_verify(c->platform, msg, strlen(msg), r.signature);
        if (!ok) {
            LOG(LOG_WARN, "wechatpay_answer_unverified", "method=%s path=%s status=%ld", method,
                path_query, status);
            e = err_set(ei, ERR_UNAVAILABLE, NULL,
                        "WeChat Pay's answer could not be verified; nothing was changed");
        } else {
            out->status = status;
            out->len = r.body.len;
            out->body = arena_alloc(a, r.body.len + 1);
            if (out->body) {
                memcpy(out->body, text, r.body.len);
                out->body[r.body.len] = '\0';
            } else {
                e = ERR_TOO_LARGE;
            }
        }
    }
    buf_release(&r.body);
    return e;
}

enum err wxp_get_plain(const char *url, long timeout_ms, struct arena *a, struct wxp_answer *out)
{
    memset(out, 0, sizeof *out);
    struct reply r;
    memset(&r, 0, sizeof r);
    buf_init(&r.body, ANSWER_MAX);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)WXP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : (long)WXP_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    enum err e = ERR_OK;
    if (rc != CURLE_OK) {
        LOG(LOG_WARN, "wechat_oauth_failed", "curl=%d", (int)rc); /* never the URL: a secret */
        e = ERR_UNAVAILABLE;
    } else if ((out->body = arena_alloc(a, r.body.len + 1)) != NULL) {
        memcpy(out->body, r.body.ptr ? r.body.ptr : "", r.body.len);
        out->body[r.body.len] = '\0';
        out->len = r.body.len;
    } else {
        e = ERR_TOO_LARGE;
    }
    buf_release(&r.body);
    return e;
}
