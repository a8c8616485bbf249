#include "domain/wechatpay.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "domain/order.h"
#include "domain/payment.h"
#include "domain/refund.h"
#include "domain/withdrawal.h"
#include "pay/wechatpay_client.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

struct wechatpay_settings wechatpay_settings;

#define KEY_FILE_MAX (16 * 1024)

/* --- where keys are --- */

/* A key's bytes from where `spec` says: "env:QUANZI_WECHATPAY_<NAME>", or a plain file name
 * in the key folder (no folder of its own, no dot first). NULL when it is not there. */
static char *load_secret(struct arena *a, const char *spec, size_t *len)
{
    if (strncmp(spec, WECHATPAY_ENV_PREFIX, strlen(WECHATPAY_ENV_PREFIX)) == 0) {
        const char *v = getenv(spec + strlen("env:"));
        if (!v)
            return NULL;
        *len = strlen(v);
        return arena_strdup(a, v);
    }
    if (!wechatpay_settings.key_dir || !*spec || spec[0] == '.' || strchr(spec, '/') ||
        strlen(spec) > 128)
        return NULL;
    char *path = arena_printf(a, "%s/%s", wechatpay_settings.key_dir, spec);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return NULL;
    char *buf = arena_alloc(a, KEY_FILE_MAX + 1);
    ssize_t n = buf ? read(fd, buf, KEY_FILE_MAX + 1) : -1;
    close(fd);
    if (n < 0 || n > KEY_FILE_MAX)
        return NULL;
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static bool load_apiv3(struct arena *a, const char *spec, unsigned char key[WXP_APIV3_KEY_BYTES])
{
    size_t len = 0;
    char *s = load_secret(a, spec, &len);
    while (s && len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--; /* a file written with a line end */
    if (!s || len != WXP_APIV3_KEY_BYTES)
        return false;
    memcpy(key, s, WXP_APIV3_KEY_BYTES);
    return true;
}

static struct wxp_key *load_key(struct arena *a, const char *spec, bool private_key)
{
    size_t len = 0;
    char *pem = load_secret(a, spec, &len);
    return !pem ? NULL : private_key ? wxp_key_private(pem, len) : wxp_key_public(pem, len);
}

/* --- settings --- */

static bool plain(const char *s, size_t max)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return n > 0 && n <= max;
}

enum err wechatpay_merchant_set(struct db *db, const struct wechatpay_merchant *m,
                                struct errinfo *ei)
{
    const struct {
        const char *field, *value;
        size_t max;
    } ids[] = {{"mchid", m->mchid, 32},
               {"appid", m->appid, 32},
               {"serial_no", m->serial_no, 64},
               {"public_key_id", m->public_key_id, 64}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (!plain(ids[i].value, ids[i].max))
            return err_set(ei, ERR_INVALID, ids[i].field,
                           "%s must be 1 to %zu printable characters without spaces", ids[i].field,
                           ids[i].max);
    struct arena a;
    arena_init(&a, 1024 * 1024); /* three key files, with room for how the arena grows */
    unsigned char k3[WXP_APIV3_KEY_BYTES];
    struct wxp_key *priv = load_key(&a, m->private_key, true);
    struct wxp_key *pub = load_key(&a, m->public_key, false);
    bool v3 = load_apiv3(&a, m->apiv3_key, k3);
    sodium_memzero(k3, sizeof k3);
    enum err e = ERR_OK;
    const char *where =
        "a file name in the server's wechatpay_key_dir, or env:QUANZI_WECHATPAY_<NAME>";
    if (!priv)
        e = err_set(ei, ERR_UNPROCESSABLE, "private_key",
                    "private_key: no RSA private key in PEM there (%s)", where);
    else if (!v3)
        e = err_set(ei, ERR_UNPROCESSABLE, "apiv3_key",
                    "apiv3_key: no 32-byte APIv3 key there (%s)", where);
    else if (!pub)
        e = err_set(ei, ERR_UNPROCESSABLE, "public_key",
                    "public_key: no RSA public key in PEM there (%s)", where);
    size_t secret_len = 0;
    if (!e && m->app_secret && *m->app_secret &&
        (!load_secret(&a, m->app_secret, &secret_len) || secret_len == 0 || secret_len > 64))
        e = err_set(ei, ERR_UNPROCESSABLE, "app_secret",
                    "app_secret: no AppSecret (1 to 64 characters) there (%s)", where);
    wxp_key_free(priv);
    wxp_key_free(pub);
    arena_release(&a);
    if (e)
        return e;
    int64_t now = clock_now_ms();
    static const char sql[] =
        "INSERT INTO wechatpay_merchants (shop_id, mchid, appid, serial_no, private_key,"
        " apiv3_key, public_key_id, public_key, app_secret, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shop_id) DO UPDATE SET"
        " mchid = excluded.mchid, appid = excluded.appid, serial_no = excluded.serial_no,"
        " private_key = excluded.private_key, apiv3_key = excluded.apiv3_key,"
        " public_key_id = excluded.public_key_id, public_key = excluded.public_key,"
        " app_secret = excluded.app_secret, updated_at = excluded.updated_at";
    return db_run(db, sql, DB_INT(m->shop_id), DB_STR(m->mchid), DB_STR(m->appid),
                  DB_STR(m->serial_no), DB_STR(m->private_key), DB_STR(m->apiv3_key),
                  DB_STR(m->public_key_id), DB_STR(m->public_key),
                  DB_STR(m->app_secret ? m->app_secret : ""), DB_INT(now), DB_INT(now));
}

#define MERCHANT_COLUMNS                                                                           \
    "shop_id, mchid, appid, serial_no, private_key, apiv3_key, public_key_id, public_key,"         \
    " created_at, updated_at, app_secret"

static enum err read_merchant(struct db_stmt *st, struct arena *a, void *item)
{
    struct wechatpay_merchant *m = item;
    m->shop_id = db_col_int64(st, 0);
    const char **cols[] = {&m->mchid,     &m->appid,         &m->serial_no, &m->private_key,
                           &m->apiv3_key, &m->public_key_id, &m->public_key};
    for (int i = 0; i < 7; i++)
        if (!(*cols[i] = db_col_dup(st, i + 1, a)))
            return ERR_TOO_LARGE;
    m->created_at_ms = db_col_int64(st, 8);
    m->updated_at_ms = db_col_int64(st, 9);
    m->app_secret = db_col_dup(st, 10, a);
    return m->app_secret ? ERR_OK : ERR_TOO_LARGE;
}

enum err wechatpay_merchant_get(struct db *db, int64_t shop_id, struct arena *a,
                                struct wechatpay_merchant *out)
{
    return db_read_one(db, "SELECT " MERCHANT_COLUMNS " FROM wechatpay_merchants WHERE shop_id = ?",
                       read_merchant, a, out, DB_INT(shop_id));
}

void wechatpay_trade_no(int64_t order_id, char out[32])
{
    snprintf(out, 32, WECHATPAY_TRADE_PREFIX "%lld", (long long)order_id);
}

int64_t wechatpay_trade_order(const char *s)
{
    size_t p = strlen(WECHATPAY_TRADE_PREFIX);
    if (!s || strncmp(s, WECHATPAY_TRADE_PREFIX, p) != 0 || !s[p] || strlen(s + p) > 18)
        return 0;
    int64_t v = 0;
    for (const char *c = s + p; *c; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        v = v * 10 + (*c - '0');
    }
    return v;
}

/* --- anomalies --- */

enum err payment_anomaly_add(struct db *db, const struct payment_anomaly *x)
{
    static const char sql[] =
        "INSERT INTO payment_anomalies (shop_id, order_id, provider, reference, kind, amount_fen,"
        " detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (provider, reference, kind) DO NOTHING";
    return db_run(db, sql, DB_INT(x->shop_id), x->order_id ? DB_INT(x->order_id) : DB_NULL,
                  DB_STR(x->provider), DB_STR(x->reference), DB_STR(x->kind), DB_INT(x->amount_fen),
                  DB_STR(x->detail ? x->detail : ""), DB_INT(clock_now_ms()));
}

static enum err read_anomaly(struct db_stmt *st, struct arena *a, void *item)
{
    struct payment_anomaly *x = item;
    x->id = db_col_int64(st, 0);
    x->shop_id = db_col_int64(st, 1);
    x->order_id = db_col_int64(st, 2);
    x->provider = db_col_dup(st, 3, a);
    x->reference = db_col_dup(st, 4, a);
    x->kind = db_col_dup(st, 5, a);
    x->amount_fen = db_col_int64(st, 6);
    x->detail = db_col_dup(st, 7, a);
    x->created_at_ms = db_col_int64(st, 8);
    return x->provider && x->reference && x->kind && x->detail ? ERR_OK : ERR_TOO_LARGE;
}

enum err payment_anomaly_list(struct db *db, int64_t shop_id, int64_t before_id, int64_t limit,
                              struct arena *a, struct payment_anomaly **out, size_t *n, bool *more)
{
    static const char sql[] =
        "SELECT id, shop_id, COALESCE(order_id, 0), provider, reference, kind, amount_fen, detail,"
        " created_at FROM payment_anomalies WHERE shop_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
    void *items = NULL;
    enum err e =
        db_list(db, sql, limit, sizeof **out, read_anomaly, a, &items, n, more, DB_INT(shop_id),
                DB_INT(before_id ? before_id : INT64_MAX), DB_INT(limit + 1));
    *out = items;
    return e;
}

/* --- notifications --- */

static void on_refund(struct db *db, const struct wechatpay_merchant *m, const struct wxp_refund *r,
                      struct arena *a, struct wechatpay_notice *out);
static void on_transfer(struct db *db, const struct wechatpay_merchant *m,
                        const struct wxp_transfer *t, struct arena *a,
                        struct wechatpay_notice *out);

static void anomaly(struct db *db, struct wechatpay_notice *out, int64_t shop_id, int64_t order_id,
                    const char *ref, const char *kind, int64_t amount, const char *detail)
{
    struct payment_anomaly x = {.shop_id = shop_id,
                                .order_id = order_id,
                                .provider = WECHATPAY_PROVIDER,
                                .reference = ref,
                                .kind = kind,
                                .amount_fen = amount,
                                .detail = detail};
    enum err e = payment_anomaly_add(db, &x);
    out->outcome = e ? WECHATPAY_RETRY : WECHATPAY_ANOMALY;
    out->anomaly = kind;
    LOG(LOG_WARN, "wechatpay_anomaly", "shop_id=%lld order_id=%lld kind=%s", (long long)shop_id,
        (long long)order_id, kind);
}

/* TRANSACTION.SUCCESS: the order paid, once, when everything about it is the order's. */
static void on_transaction(struct db *db, const struct wechatpay_merchant *m,
                           const struct wxp_transaction *t, struct arena *a,
                           struct wechatpay_notice *out)
{
    const char *ref = t->transaction_id;
    int64_t order_id = wechatpay_trade_order(t->out_trade_no);
    out->order_id = order_id;
    if (!*ref || strlen(ref) > 64 || strcmp(t->trade_state, "SUCCESS") != 0) {
        out->outcome = WECHATPAY_IGNORED; /* nothing to apply, or nothing to apply it by */
        return;
    }
    if (strcmp(t->mchid, m->mchid) != 0 || strcmp(t->appid, m->appid) != 0)
        return anomaly(db, out, m->shop_id, 0, ref, "merchant_mismatch", t->total,
                       "the payment names another merchant or app");
    struct order o;
    enum err e = order_id ? order_get(db, order_id, a, &o) : ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND || (!e && o.shop_id != m->shop_id))
        return anomaly(db, out, m->shop_id, 0, ref, "unknown_order", t->total, t->out_trade_no);
    if (e) {
        out->outcome = WECHATPAY_RETRY;
        return;
    }
    if (t->total != o.total_fen || strcmp(t->currency, "CNY") != 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "paid %lld %.8s, the order is %lld CNY",
                 (long long)t->total, t->currency, (long long)o.total_fen);
        return anomaly(db, out, m->shop_id, order_id, ref, "amount_mismatch", t->total, detail);
    }
    struct errinfo ei = {0};
    struct payment p = {.provider = WECHATPAY_PROVIDER,
                        .reference = ref,
                        .order_id = order_id,
                        .has_amount = true,
                        .amount_fen = t->total};
    e = payment_apply(db, &p, &ei);
    if (e == ERR_OK)
        out->outcome = WECHATPAY_APPLIED;
    else if (e == ERR_ILLEGAL_TRANSITION || e == ERR_UNPROCESSABLE)
        anomaly(db, out, m->shop_id, order_id, ref, "order_not_payable", t->total, ei.message);
    else
        out->outcome = WECHATPAY_RETRY;
}

void wechatpay_notify(struct db *db, const struct wxp_notification *n, int64_t now_s,
                      struct arena *a, struct wechatpay_notice *out)
{
    memset(out, 0, sizeof *out);
    out->outcome = WECHATPAY_REFUSED;
    out->refusal = WXP_MISSING_HEADER;
    if (!n->serial || strlen(n->serial) > 64)
        return;
    struct wechatpay_merchant *ms = NULL;
    size_t count = 0;
    void *items = NULL;
    enum err e = db_list(db,
                         "SELECT " MERCHANT_COLUMNS " FROM wechatpay_merchants"
                         " WHERE public_key_id = ? ORDER BY shop_id LIMIT 8",
                         8, sizeof *ms, read_merchant, a, &items, &count, NULL, DB_STR(n->serial));
    ms = items;
    if (e) {
        out->outcome = WECHATPAY_RETRY;
        return;
    }
    out->refusal = WXP_BAD_SIGNATURE; /* a key id no shop has: nobody can vouch for it */
    const char *event = NULL;
    char *resource = NULL;
    size_t len = 0;
    const struct wechatpay_merchant *m = NULL;
    for (size_t i = 0; i < count && !m; i++) {
        unsigned char k3[WXP_APIV3_KEY_BYTES];
        struct wxp_key *pub = load_key(a, ms[i].public_key, false);
        if (pub && load_apiv3(a, ms[i].apiv3_key, k3)) {
            out->refusal = wxp_open(a, n, pub, k3, now_s, &event, &resource, &len);
            if (out->refusal == WXP_OK)
                m = &ms[i];
        } else {
            LOG(LOG_ERROR, "wechatpay_keys_missing", "shop_id=%lld", (long long)ms[i].shop_id);
        }
        wxp_key_free(pub);
        sodium_memzero(k3, sizeof k3);
    }
    if (!m) {
        LOG(LOG_WARN, "wechatpay_notify_refused", "reason=%s", wxp_refusal_name(out->refusal));
        return;
    }
    out->shop_id = m->shop_id;
    struct wxp_transaction t;
    struct wxp_refund rf;
    struct wxp_transfer tr;
    if (strcmp(event, "TRANSACTION.SUCCESS") == 0 &&
        wxp_transaction_parse(a, resource, len, &t) == ERR_OK)
        on_transaction(db, m, &t, a, out);
    else if (strncmp(event, "REFUND.", 7) == 0 && wxp_refund_parse(a, resource, len, &rf) == ERR_OK)
        on_refund(db, m, &rf, a, out);
    else if (strcmp(event, "MCHTRANSFER.BILL.FINISHED") == 0 &&
             wxp_transfer_parse(a, resource, len, &tr) == ERR_OK)
        on_transfer(db, m, &tr, a, out);
    else
        out->outcome = WECHATPAY_IGNORED;
    LOG(LOG_INFO, "wechatpay_notify", "event=%s shop_id=%lld order_id=%lld outcome=%d", event,
        (long long)out->shop_id, (long long)out->order_id, (int)out->outcome);
}

/* --- paying --- */

static const char *const trade_names[] = {"JSAPI", "H5"};

const char *wechatpay_trade_name(enum wechatpay_trade t)
{
    return trade_names[t == WECHATPAY_H5];
}

bool wechatpay_trade_parse(const char *s, enum wechatpay_trade *out)
{
    for (int i = 0; i < 2; i++)
        if (strcasecmp(s, trade_names[i]) == 0) {
            *out = (enum wechatpay_trade)i;
            return true;
        }
    return false;
}

/* A merchant's keys, loaded for a call, and a client that uses them. */
struct merchant_keys {
    struct wxp_key *priv, *pub;
    unsigned char v3[WXP_APIV3_KEY_BYTES];
    struct wxp_client client;
};

static enum err keys_open(struct arena *a, const struct wechatpay_merchant *m,
                          struct merchant_keys *k, struct errinfo *ei)
{
    memset(k, 0, sizeof *k);
    if (!wechatpay_settings.api_base || !*wechatpay_settings.api_base)
        return err_set(ei, ERR_UNAVAILABLE, NULL,
                       "WeChat Pay's address is not set on this server (wechatpay_api_base)");
    k->priv = load_key(a, m->private_key, true);
    k->pub = load_key(a, m->public_key, false);
    if (!k->priv || !k->pub || !load_apiv3(a, m->apiv3_key, k->v3)) {
        LOG(LOG_ERROR, "wechatpay_keys_missing", "shop_id=%lld", (long long)m->shop_id);
        return err_set(ei, ERR_UNAVAILABLE, NULL,
                       "the shop's WeChat Pay keys cannot be read on this server");
    }
    k->client = (struct wxp_client){.base = wechatpay_settings.api_base,
                                    .mchid = m->mchid,
                                    .serial_no = m->serial_no,
                                    .merchant = k->priv,
                                    .platform = k->pub,
                                    .platform_key_id = m->public_key_id,
                                    .timeout_ms = wechatpay_settings.timeout_ms};
    return ERR_OK;
}

static void keys_close(struct merchant_keys *k)
{
    wxp_key_free(k->priv);
    wxp_key_free(k->pub);
    sodium_memzero(k->v3, sizeof k->v3);
}

static enum err read_open_payment(struct db_stmt *st, struct arena *a, void *item)
{
    struct wechatpay_prepay *p = item;
    (void)wechatpay_trade_parse(db_col_text(st, 0, NULL), &p->type);
    const char *prepay = db_col_dup(st, 1, a);
    if (!prepay)
        return ERR_TOO_LARGE;
    if (p->type == WECHATPAY_JSAPI)
        p->prepay_id = prepay;
    else
        p->h5_url = prepay;
    return ERR_OK;
}

/* JSAPI: what getBrandWCPayRequest takes, signed with the merchant's key. */
static enum err jsapi_args(struct arena *a, const struct wechatpay_merchant *m,
                           const struct wxp_key *priv, struct wechatpay_prepay *p)
{
    unsigned char raw[16];
    char nonce[33];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(nonce, sizeof nonce, raw, sizeof raw);
    p->app_id = m->appid;
    p->time_stamp = arena_printf(a, "%lld", (long long)(clock_real_ms() / 1000));
    p->nonce_str = arena_strdup(a, nonce);
    p->package = arena_printf(a, "prepay_id=%s", p->prepay_id);
    p->sign_type = "RSA";
    p->pay_sign = p->package && p->time_stamp && p->nonce_str
                      ? wxp_pay_sign(a, priv, m->appid, p->time_stamp, p->nonce_str, p->package)
                      : NULL;
    return p->pay_sign ? ERR_OK : ERR_INTERNAL;
}

/* WeChat Pay's {"code": ..., "message": ...} of a refusal, for the caller (never a secret). */
static enum err refused_by_wechat(struct errinfo *ei, const struct wxp_answer *ans)
{
    json_error_t je;
    json_t *o = json_loads(ans->body ? ans->body : "", 0, &je);
    const char *code = json_string_value(json_object_get(o, "code"));
    const char *msg = json_string_value(json_object_get(o, "message"));
    enum err e = err_set(ei, ans->status >= 500 ? ERR_UNAVAILABLE : ERR_UNPROCESSABLE, NULL,
                         "WeChat Pay refused: %s %s", code ? code : "", msg ? msg : "(no message)");
    json_decref(o);
    return e;
}

enum err wechatpay_prepay(struct db *db, int64_t order_id, int64_t buyer_id,
                          enum wechatpay_trade type, const char *client_ip, struct arena *a,
                          struct wechatpay_prepay *out, struct errinfo *ei)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    wechatpay_trade_no(order_id, out->out_trade_no);
    struct order o;
    enum err e = order_get(db, order_id, a, &o);
    if (e == ERR_NOT_FOUND || (!e && o.buyer_id != buyer_id))
        return err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
    if (e)
        return e;
    if (o.status != ORDER_CREATED)
        return err_set(ei, ERR_ILLEGAL_TRANSITION, NULL, "this order is not waiting for payment");
    struct wechatpay_merchant m;
    e = wechatpay_merchant_get(db, o.shop_id, a, &m);
    if (e == ERR_NOT_FOUND)
        return err_set(ei, ERR_UNPROCESSABLE, NULL,
                       "this shop does not take WeChat Pay; pay as the shop says");
    if (e)
        return e;
    /* the same payment again: what WeChat Pay gave the first time */
    struct wechatpay_prepay had = {0};
    e = db_read_one(db, "SELECT trade_type, prepay FROM wechatpay_payments WHERE order_id = ?",
                    read_open_payment, a, &had, DB_INT(order_id));
    if (e && e != ERR_NOT_FOUND)
        return e;
    if (!e && had.type != type)
        return err_set(ei, ERR_CONFLICT, "trade_type",
                       "this order's WeChat Pay payment was started as %s; pay it that way",
                       wechatpay_trade_name(had.type));
    const char *openid = NULL;
    if (type == WECHATPAY_JSAPI &&
        wechatpay_identity_openid(db, m.appid, buyer_id, a, &openid) != ERR_OK)
        return err_set(ei, ERR_UNPROCESSABLE, "trade_type",
                       "paying inside WeChat needs a sign-in with WeChat first");
    struct merchant_keys k;
    if ((e = keys_open(a, &m, &k, ei))) {
        keys_close(&k);
        return e;
    }
    if (had.prepay_id || had.h5_url) {
        out->prepay_id = had.prepay_id;
        out->h5_url = had.h5_url;
        e = type == WECHATPAY_JSAPI ? jsapi_args(a, &m, k.priv, out) : ERR_OK;
        keys_close(&k);
        return e;
    }
    if (!wechatpay_settings.public_url || !*wechatpay_settings.public_url) {
        keys_close(&k);
        return err_set(ei, ERR_UNAVAILABLE, NULL,
                       "this server's public_url is not set: WeChat Pay could not tell it");
    }
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:s+, s:{s:I, s:s}}", "appid", m.appid, "mchid", m.mchid,
                  "description", "圈子订单", "out_trade_no", out->out_trade_no, "notify_url",
                  wechatpay_settings.public_url, "/api/v1/payments/wechatpay/notify", "amount",
                  "total", (json_int_t)o.total_fen, "currency", "CNY");
    if (body && type == WECHATPAY_JSAPI)
        json_object_set_new(body, "payer", json_pack("{s:s}", "openid", openid));
    else if (body)
        json_object_set_new(body, "scene_info",
                            json_pack("{s:s, s:{s:s}}", "payer_client_ip",
                                      client_ip && *client_ip ? client_ip : "127.0.0.1", "h5_info",
                                      "type", "Wap"));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct wxp_answer ans;
    e = text ? wxp_call(&k.client, a, "POST",
                        type == WECHATPAY_JSAPI ? "/v3/pay/transactions/jsapi"
                                                : "/v3/pay/transactions/h5",
                        text, &ans, ei)
             : ERR_INTERNAL;
    json_free_t release = NULL;
    json_get_alloc_funcs(NULL, &release); /* the request's arena, or malloc (jobs, CLI) */
    if (text)
        release(text);
    if (!e && (ans.status < 200 || ans.status > 299))
        e = refused_by_wechat(ei, &ans);
    const char *prepay = NULL;
    if (!e) {
        json_error_t je;
        json_t *r = json_loadb(ans.body, ans.len, 0, &je);
        const char *v =
            json_string_value(json_object_get(r, type == WECHATPAY_JSAPI ? "prepay_id" : "h5_url"));
        prepay = v && strlen(v) < 512 ? arena_strdup(a, v) : NULL;
        json_decref(r);
        if (!prepay)
            e = err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat Pay's answer had no %s",
                        type == WECHATPAY_JSAPI ? "prepay_id" : "h5_url");
    }
    if (!e)
        e = db_run(db,
                   "INSERT INTO wechatpay_payments (order_id, shop_id, trade_type, prepay,"
                   " created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
                   DB_INT(order_id), DB_INT(o.shop_id), DB_STR(wechatpay_trade_name(type)),
                   DB_STR(prepay), DB_INT(clock_now_ms()));
    if (!e) {
        if (type == WECHATPAY_JSAPI) {
            out->prepay_id = prepay;
            e = jsapi_args(a, &m, k.priv, out);
        } else {
            out->h5_url = prepay;
        }
    }
    keys_close(&k);
    return e;
}

/* --- reconciliation --- */

/* What differs between refunds and transfers on their way through WeChat Pay. */
struct pending_kind {
    const char *select; /* rows sending, or sent and checked before ? */
    size_t size;
    db_row_fn read;
    const char *(*state)(const void *row);
    int64_t (*shop)(const void *row);
    enum err (*send)(struct db *db, const void *row, struct arena *a, struct errinfo *ei);
    char *(*query)(struct arena *a, const void *row); /* the path that asks about one */
    enum err (*answer)(struct db *db, const void *row, const struct wxp_answer *ans,
                       struct arena *a);
};
static const struct pending_kind refunds_pending, transfers_pending;
static enum err reconcile_pending(struct db *db, const struct pending_kind *k, int64_t min_age_ms,
                                  struct arena *a, int64_t *affected);

struct open_payment {
    int64_t order_id, shop_id;
    const char *order_status;
};

static enum err read_open(struct db_stmt *st, struct arena *a, void *item)
{
    struct open_payment *p = item;
    p->order_id = db_col_int64(st, 0);
    p->shop_id = db_col_int64(st, 1);
    p->order_status = db_col_dup(st, 2, a);
    return p->order_status ? ERR_OK : ERR_TOO_LARGE;
}

/* Asks WeChat Pay about one open payment and acts on what it says. */
static enum err reconcile_one(struct db *db, const struct open_payment *p, struct arena *a,
                              int64_t *affected)
{
    struct wechatpay_merchant m;
    struct errinfo ei = {0};
    enum err e = wechatpay_merchant_get(db, p->shop_id, a, &m);
    struct merchant_keys k;
    if (!e && (e = keys_open(a, &m, &k, &ei)) != ERR_OK)
        keys_close(&k);
    if (e)
        return e;
    char no[32];
    wechatpay_trade_no(p->order_id, no);
    struct wxp_answer ans;
    char *path = arena_printf(a, "/v3/pay/transactions/out-trade-no/%s?mchid=%s", no, m.mchid);
    e = path ? wxp_call(&k.client, a, "GET", path, NULL, &ans, &ei) : ERR_TOO_LARGE;
    const char *state = NULL;
    if (!e && ans.status == 200) {
        struct wxp_transaction t;
        if (wxp_transaction_parse(a, ans.body, ans.len, &t) == ERR_OK) {
            state = t.trade_state;
            if (strcmp(t.trade_state, "SUCCESS") == 0) {
                struct wechatpay_notice out = {.shop_id = m.shop_id};
                on_transaction(db, &m, &t, a, &out);
                if (out.outcome == WECHATPAY_RETRY)
                    e = ERR_UNAVAILABLE;
            }
        }
    } else if (!e && ans.status == 404) {
        state = "NOTEXIST";
    }
    /* a cancelled order's payment that is still open: closed, so that it can no longer be paid */
    if (!e && state && strcmp(p->order_status, "cancelled") == 0 &&
        (strcmp(state, "NOTPAY") == 0 || strcmp(state, "USERPAYING") == 0)) {
        char *close = arena_printf(a, "/v3/pay/transactions/out-trade-no/%s/close", no);
        char *body = arena_printf(a, "{\"mchid\":\"%s\"}", m.mchid);
        e = close && body ? wxp_call(&k.client, a, "POST", close, body, &ans, &ei) : ERR_TOO_LARGE;
        state = !e && ans.status < 300 ? "CLOSED" : NULL;
    }
    keys_close(&k);
    if (e)
        return e;
    const char *to = !state                      ? "open"
                     : !strcmp(state, "SUCCESS") ? "paid"
                     : !strcmp(state, "CLOSED") || !strcmp(state, "NOTEXIST") ||
                             !strcmp(state, "REVOKED") || !strcmp(state, "PAYERROR")
                         ? "closed"
                         : "open";
    if (strcmp(to, "open") != 0)
        (*affected)++;
    return db_run(db, "UPDATE wechatpay_payments SET state = ?, checked_at = ? WHERE order_id = ?",
                  DB_STR(to), DB_INT(clock_now_ms()), DB_INT(p->order_id));
}

enum err wechatpay_reconcile(struct db *db, int64_t min_age_ms, int64_t *affected)
{
    *affected = 0;
    if (!wechatpay_settings.api_base || !*wechatpay_settings.api_base)
        return ERR_OK; /* nothing can have been started */
    struct arena a;
    arena_init(&a, 4 << 20);
    int64_t now = clock_now_ms();
    /* oldest checked first; an order paid meanwhile by another way leaves its row open
     * until WeChat Pay says it was not paid there */
    static const char sql[] = "SELECT w.order_id, w.shop_id, o.status FROM wechatpay_payments w"
                              " JOIN orders o ON o.id = w.order_id"
                              " WHERE w.state = 'open' AND w.created_at < ? AND w.checked_at < ?"
                              " ORDER BY w.checked_at, w.order_id LIMIT 100";
    struct open_payment *items = NULL;
    size_t n = 0;
    void *rows = NULL;
    enum err e = db_list(db, sql, 100, sizeof *items, read_open, &a, &rows, &n, NULL,
                         DB_INT(min_age_ms < 0 ? INT64_MAX : now - min_age_ms),
                         DB_INT(min_age_ms < 0 ? INT64_MAX : now - min_age_ms));
    items = rows;
    bool away = false;
    for (size_t i = 0; !e && i < n; i++) {
        enum err one = reconcile_one(db, &items[i], &a, affected);
        if (one == ERR_UNAVAILABLE) { /* WeChat Pay is down: the next run tries again */
            away = true;
            break;
        }
        e = one == ERR_NOT_FOUND ? ERR_OK : one;
    }
    if (!e && !away)
        e = reconcile_pending(db, &refunds_pending, min_age_ms, &a, affected);
    if (!e && !away)
        e = reconcile_pending(db, &transfers_pending, min_age_ms, &a, affected);
    arena_release(&a);
    return e;
}

/* --- WeChat identities --- */

enum err wechatpay_identity_link(struct db *db, const char *appid, const char *openid,
                                 int64_t user_id)
{
    int64_t owner = 0;
    enum err e = db_run(db,
                        "INSERT INTO wechat_identities (appid, openid, user_id, created_at)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (appid, openid) DO NOTHING",
                        DB_STR(appid), DB_STR(openid), DB_INT(user_id), DB_INT(clock_now_ms()));
    if (!e)
        e = db_value(db, "SELECT user_id FROM wechat_identities WHERE appid = ? AND openid = ?",
                     &owner, DB_STR(appid), DB_STR(openid));
    return e ? e : owner == user_id ? ERR_OK : ERR_CONFLICT; /* another member's WeChat */
}

static enum err read_text(struct db_stmt *st, struct arena *a, void *item)
{
    const char **s = item;
    *s = db_col_dup(st, 0, a);
    return *s ? ERR_OK : ERR_TOO_LARGE;
}

enum err wechatpay_identity_openid(struct db *db, const char *appid, int64_t user_id,
                                   struct arena *a, const char **openid)
{
    return db_read_one(db,
                       "SELECT openid FROM wechat_identities WHERE appid = ? AND user_id = ?"
                       " ORDER BY created_at LIMIT 1",
                       read_text, a, openid, DB_STR(appid), DB_INT(user_id));
}

/* --- refunds --- */

#define REFUND_PREFIX "QZR" /* out_refund_no: QZR<refund id> */

enum err wechatpay_paid(struct db *db, int64_t order_id, struct arena *a,
                        const char **transaction_id)
{
    return db_read_one(
        db,
        "SELECT reference FROM payments WHERE order_id = ? AND provider = '" WECHATPAY_PROVIDER "'",
        read_text, a, transaction_id, DB_INT(order_id));
}

enum err wechatpay_refund_pending(struct db *db, int64_t refund_id, bool *pending)
{
    int64_t n = 0;
    enum err e = db_value(db,
                          "SELECT COUNT(*) FROM wechatpay_refunds WHERE refund_id = ?"
                          " AND state IN ('sending', 'sent')",
                          &n, DB_INT(refund_id));
    *pending = n > 0;
    return e;
}

struct refund_row {
    int64_t refund_id, order_id, shop_id, amount_fen, decided_by;
    const char *state, *note;
};

static enum err read_refund_row(struct db_stmt *st, struct arena *a, void *item)
{
    struct refund_row *x = item;
    x->refund_id = db_col_int64(st, 0);
    x->order_id = db_col_int64(st, 1);
    x->shop_id = db_col_int64(st, 2);
    x->amount_fen = db_col_int64(st, 3);
    x->decided_by = db_col_int64(st, 4);
    x->state = db_col_dup(st, 5, a);
    x->note = db_col_dup(st, 6, a);
    return x->state && x->note ? ERR_OK : ERR_TOO_LARGE;
}

#define REFUND_COLUMNS "refund_id, order_id, shop_id, amount_fen, decided_by, state, note"

static enum err set_refund_state(struct db *db, int64_t refund_id, const char *state)
{
    return db_run(db,
                  "UPDATE wechatpay_refunds SET state = ?, checked_at = ? WHERE refund_id = ?"
                  " AND state <> 'done'",
                  DB_STR(state), DB_INT(clock_now_ms()), DB_INT(refund_id));
}

/* WeChat Pay says the refund succeeded: applied as any approved refund is (refunded_fen,
 * clawback, ledger), once. */
static enum err refund_succeeded(struct db *db, const struct refund_row *x)
{
    struct errinfo ei = {0};
    enum err e =
        refund_decide(db, x->refund_id, true, x->decided_by, x->note, strlen(x->note), &ei);
    if (e == ERR_ILLEGAL_TRANSITION) /* applied before: this is the same news again */
        e = ERR_OK;
    return e ? e : set_refund_state(db, x->refund_id, "done");
}

static enum err refund_failed(struct db *db, const struct refund_row *x, const char *why)
{
    struct payment_anomaly a = {.shop_id = x->shop_id,
                                .order_id = x->order_id,
                                .provider = WECHATPAY_PROVIDER,
                                .reference = "",
                                .kind = "refund_failed",
                                .amount_fen = x->amount_fen,
                                .detail = why};
    char ref[32];
    snprintf(ref, sizeof ref, REFUND_PREFIX "%lld", (long long)x->refund_id);
    a.reference = ref;
    enum err e = payment_anomaly_add(db, &a);
    return e ? e : set_refund_state(db, x->refund_id, "failed");
}

/* Acts on what WeChat Pay says of a refund (its answer, its notification, a query). */
static enum err refund_news(struct db *db, const struct refund_row *x, const struct wxp_refund *r)
{
    if (r->refund >= 0 && r->refund != x->amount_fen)
        return refund_failed(db, x, "WeChat Pay refunded another amount");
    if (!strcmp(r->status, "SUCCESS"))
        return refund_succeeded(db, x);
    if (!strcmp(r->status, "CLOSED") || !strcmp(r->status, "ABNORMAL"))
        return refund_failed(db, x, r->status);
    return set_refund_state(db, x->refund_id, "sent"); /* PROCESSING */
}

/* Tells WeChat Pay about a refund (again: the same out_refund_no is one refund). */
static enum err refund_send(struct db *db, const struct refund_row *x, struct arena *a,
                            struct errinfo *ei)
{
    struct wechatpay_merchant m;
    const char *txid = NULL;
    struct order o;
    enum err e = wechatpay_merchant_get(db, x->shop_id, a, &m);
    if (!e)
        e = wechatpay_paid(db, x->order_id, a, &txid);
    if (!e)
        e = order_get(db, x->order_id, a, &o);
    if (e)
        return e;
    if (!wechatpay_settings.public_url || !*wechatpay_settings.public_url)
        return err_set(ei, ERR_UNAVAILABLE, NULL,
                       "this server's public_url is not set: WeChat Pay could not tell it");
    struct merchant_keys k;
    if ((e = keys_open(a, &m, &k, ei))) {
        keys_close(&k);
        return e;
    }
    char *body = arena_printf(a,
                              "{\"transaction_id\":\"%s\",\"out_refund_no\":\"" REFUND_PREFIX
                              "%lld\",\"notify_url\":\"%s/api/v1/payments/wechatpay/notify\","
                              "\"amount\":{\"refund\":%lld,\"total\":%lld,\"currency\":\"CNY\"}}",
                              txid, (long long)x->refund_id, wechatpay_settings.public_url,
                              (long long)x->amount_fen, (long long)o.total_fen);
    struct wxp_answer ans;
    e = body ? wxp_call(&k.client, a, "POST", "/v3/refund/domestic/refunds", body, &ans, ei)
             : ERR_TOO_LARGE;
    keys_close(&k);
    if (e)
        return e; /* not told: stays 'sending', the job tries again */
    if (ans.status >= 500)
        return err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat Pay is busy; quanzi will try again");
    if (ans.status < 200 || ans.status > 299) {
        enum err refusal = refused_by_wechat(ei, &ans);
        e = refund_failed(db, x, ei->message);
        return e ? e : refusal;
    }
    struct wxp_refund r;
    if (wxp_refund_parse(a, ans.body, ans.len, &r) != ERR_OK)
        return err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat Pay's answer was not a refund");
    return refund_news(db, x, &r);
}

struct start_args {
    int64_t refund_id, actor;
    const char *note;
    size_t note_len;
};

/* The approval recorded (nothing of the money yet): one refund under way at a time. */
static enum err start_tx(struct db *db, void *arg)
{
    const struct start_args *q = arg;
    struct db_stmt *st = NULL;
    enum err e =
        db_first(db, "SELECT order_id, shop_id, amount_fen, status FROM refunds WHERE id = ?", &st,
                 DB_INT(q->refund_id));
    if (e)
        return e;
    int64_t order_id = db_col_int64(st, 0), shop_id = db_col_int64(st, 1),
            amount = db_col_int64(st, 2);
    bool requested = strcmp(db_col_text(st, 3, NULL), "requested") == 0;
    db_done(st);
    if (!requested)
        return ERR_ILLEGAL_TRANSITION;
    int64_t changed = 0;
    e = db_run_changes(
        db,
        "INSERT INTO wechatpay_refunds (refund_id, order_id, shop_id, amount_fen, decided_by,"
        " note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (refund_id) DO UPDATE SET"
        " state = 'sending', decided_by = excluded.decided_by, note = excluded.note"
        " WHERE wechatpay_refunds.state = 'failed'",
        &changed, DB_INT(q->refund_id), DB_INT(order_id), DB_INT(shop_id), DB_INT(amount),
        DB_INT(q->actor), q->note ? DB_TEXT(q->note, q->note_len) : DB_STR(""),
        DB_INT(clock_now_ms()));
    return e ? e : changed == 1 ? ERR_OK : ERR_CONFLICT;
}

enum err wechatpay_refund_start(struct db *db, int64_t refund_id, int64_t actor, const char *note,
                                size_t note_len, struct arena *a, const char **state,
                                struct errinfo *ei)
{
    struct start_args q = {refund_id, actor, note, note_len};
    enum err e = db_tx_run(db, DB_TX_WRITE, start_tx, &q);
    if (e == ERR_ILLEGAL_TRANSITION)
        return err_set(ei, e, "status", "this refund was already decided");
    if (e == ERR_CONFLICT)
        return err_set(ei, e, "status",
                       "this refund is already on its way back through WeChat Pay");
    if (e)
        return e;
    struct refund_row x;
    if ((e = db_read_one(db, "SELECT " REFUND_COLUMNS " FROM wechatpay_refunds WHERE refund_id = ?",
                         read_refund_row, a, &x, DB_INT(refund_id))))
        return e;
    struct errinfo quiet = {0};
    e = refund_send(db, &x, a, &quiet);
    if (e == ERR_UNAVAILABLE) { /* approved; WeChat Pay is told as soon as it answers */
        *state = "sending";
        return ERR_OK;
    }
    if (e) {
        *ei = quiet;
        return e;
    }
    e = db_read_one(db, "SELECT " REFUND_COLUMNS " FROM wechatpay_refunds WHERE refund_id = ?",
                    read_refund_row, a, &x, DB_INT(refund_id));
    if (!e)
        *state = x.state;
    return e;
}

/* REFUND.* notifications */
static void on_refund(struct db *db, const struct wechatpay_merchant *m, const struct wxp_refund *r,
                      struct arena *a, struct wechatpay_notice *out)
{
    size_t p = strlen(REFUND_PREFIX);
    int64_t id = 0;
    if (strncmp(r->out_refund_no, REFUND_PREFIX, p) != 0 ||
        !text_parse_id(r->out_refund_no + p, strlen(r->out_refund_no + p), &id)) {
        out->outcome = WECHATPAY_IGNORED;
        return;
    }
    struct refund_row x;
    enum err e = db_read_one(db,
                             "SELECT " REFUND_COLUMNS " FROM wechatpay_refunds WHERE refund_id = ?"
                             " AND shop_id = ?",
                             read_refund_row, a, &x, DB_INT(id), DB_INT(m->shop_id));
    if (e == ERR_NOT_FOUND || (!e && strcmp(r->mchid, m->mchid) != 0)) {
        out->outcome = WECHATPAY_IGNORED;
        return;
    }
    out->order_id = e ? 0 : x.order_id;
    e = e ? e : refund_news(db, &x, r);
    out->outcome = e ? WECHATPAY_RETRY : WECHATPAY_APPLIED;
}

/* Refunds and transfers alike: told to WeChat Pay, then waited for. */
static const char *refund_state_of(const void *row)
{
    return ((const struct refund_row *)row)->state;
}
static int64_t refund_shop_of(const void *row)
{
    return ((const struct refund_row *)row)->shop_id;
}
static enum err refund_send_row(struct db *db, const void *row, struct arena *a, struct errinfo *ei)
{
    return refund_send(db, row, a, ei);
}
static char *refund_query(struct arena *a, const void *row)
{
    return arena_printf(a, "/v3/refund/domestic/refunds/" REFUND_PREFIX "%lld",
                        (long long)((const struct refund_row *)row)->refund_id);
}
static enum err refund_answer(struct db *db, const void *row, const struct wxp_answer *ans,
                              struct arena *a)
{
    const struct refund_row *x = row;
    struct wxp_refund r;
    if (ans->status == 200 && wxp_refund_parse(a, ans->body, ans->len, &r) == ERR_OK)
        return refund_news(db, x, &r);
    return set_refund_state(db, x->refund_id, "sent");
}

static const struct pending_kind refunds_pending = {
    .select = "SELECT " REFUND_COLUMNS " FROM wechatpay_refunds WHERE state = 'sending' OR"
              " (state = 'sent' AND checked_at < ?) ORDER BY checked_at, refund_id LIMIT 100",
    .size = sizeof(struct refund_row),
    .read = read_refund_row,
    .state = refund_state_of,
    .shop = refund_shop_of,
    .send = refund_send_row,
    .query = refund_query,
    .answer = refund_answer,
};

/* --- payouts --- */

#define TRANSFER_PREFIX "QZW" /* out_bill_no: QZW<withdrawal id> */

enum err wechatpay_payout_pending(struct db *db, int64_t withdrawal_id, bool *pending)
{
    int64_t n = 0;
    enum err e = db_value(db,
                          "SELECT COUNT(*) FROM wechatpay_transfers WHERE withdrawal_id = ?"
                          " AND state IN ('sending', 'sent')",
                          &n, DB_INT(withdrawal_id));
    *pending = n > 0;
    return e;
}

struct transfer_row {
    int64_t withdrawal_id, shop_id, amount_fen, decided_by;
    const char *openid, *state;
};

static enum err read_transfer_row(struct db_stmt *st, struct arena *a, void *item)
{
    struct transfer_row *x = item;
    x->withdrawal_id = db_col_int64(st, 0);
    x->shop_id = db_col_int64(st, 1);
    x->amount_fen = db_col_int64(st, 2);
    x->decided_by = db_col_int64(st, 3);
    x->openid = db_col_dup(st, 4, a);
    x->state = db_col_dup(st, 5, a);
    return x->openid && x->state ? ERR_OK : ERR_TOO_LARGE;
}

#define TRANSFER_COLUMNS "withdrawal_id, shop_id, amount_fen, decided_by, openid, state"

static enum err set_transfer_state(struct db *db, int64_t id, const char *state)
{
    return db_run(db,
                  "UPDATE wechatpay_transfers SET state = ?, checked_at = ? WHERE withdrawal_id = ?"
                  " AND state <> 'done'",
                  DB_STR(state), DB_INT(clock_now_ms()), DB_INT(id));
}

/* Acts on what WeChat Pay says of a transfer: the withdrawal decided first (its ledger in
 * the same transaction), then the transfer marked; between the two, the transfer is still
 * on its way, and the job asks again (the decision is then already made: the same news). */
static enum err transfer_news(struct db *db, const struct transfer_row *x,
                              const struct wxp_transfer *t, struct arena *a)
{
    struct errinfo ei = {0};
    bool ok = !strcmp(t->state, "SUCCESS");
    if (!ok && strcmp(t->state, "FAIL") != 0 && strcmp(t->state, "CANCELLED") != 0)
        return set_transfer_state(db, x->withdrawal_id, "sent"); /* accepted, waiting, moving */
    char *text =
        ok ? arena_printf(a, "wechatpay %s", t->transfer_bill_no)
           : arena_printf(a, "微信转账未成功：%.120s", *t->fail_reason ? t->fail_reason : t->state);
    enum err e = withdrawal_settle_transfer(db, x->withdrawal_id, ok, x->decided_by, text,
                                            text ? strlen(text) : 0, &ei);
    if (e && e != ERR_ILLEGAL_TRANSITION) /* decided before: the same news again */
        return e;
    return set_transfer_state(db, x->withdrawal_id, ok ? "done" : "failed");
}

static enum err transfer_send(struct db *db, const struct transfer_row *x, struct arena *a,
                              struct errinfo *ei)
{
    struct wechatpay_merchant m;
    enum err e = wechatpay_merchant_get(db, x->shop_id, a, &m);
    if (e)
        return e;
    if (!wechatpay_settings.public_url || !*wechatpay_settings.public_url)
        return err_set(ei, ERR_UNAVAILABLE, NULL,
                       "this server's public_url is not set: WeChat Pay could not tell it");
    struct merchant_keys k;
    if ((e = keys_open(a, &m, &k, ei))) {
        keys_close(&k);
        return e;
    }
    json_t *body = json_pack(
        "{s:s, s:s+, s:s, s:s, s:I, s:s, s:s+, s:[{s:s, s:s}, {s:s, s:s}]}", "appid", m.appid,
        "out_bill_no", TRANSFER_PREFIX, arena_printf(a, "%lld", (long long)x->withdrawal_id),
        "transfer_scene_id", "1005", "openid", x->openid, "transfer_amount",
        (json_int_t)x->amount_fen, "transfer_remark", "圈子推广佣金", "notify_url",
        wechatpay_settings.public_url, "/api/v1/payments/wechatpay/notify",
        "transfer_scene_report_infos", "info_type", "岗位类型", "info_content", "推广员",
        "info_type", "报酬说明", "info_content", "零售推广佣金");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct wxp_answer ans;
    e = text ? wxp_call(&k.client, a, "POST", "/v3/fund-app/mch-transfer/transfer-bills", text,
                        &ans, ei)
             : ERR_INTERNAL;
    json_free_t release = NULL;
    json_get_alloc_funcs(NULL, &release);
    if (text)
        release(text);
    keys_close(&k);
    if (e)
        return e;
    if (ans.status >= 500)
        return err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat Pay is busy; quanzi will try again");
    if (ans.status < 200 || ans.status > 299) {
        enum err refusal = refused_by_wechat(ei, &ans);
        struct wxp_transfer failed = {
            .state = "FAIL", .fail_reason = ei->message, .transfer_bill_no = ""};
        e = transfer_news(db, x, &failed, a);
        return e ? e : refusal;
    }
    struct wxp_transfer t;
    if (wxp_transfer_parse(a, ans.body, ans.len, &t) != ERR_OK)
        return err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat Pay's answer was not a transfer");
    return transfer_news(db, x, &t, a);
}

enum err wechatpay_payout_start(struct db *db, int64_t withdrawal_id, int64_t actor,
                                struct arena *a, const char **state, struct errinfo *ei)
{
    struct withdrawal w;
    struct wechatpay_merchant m;
    enum err e = withdrawal_get(db, withdrawal_id, a, &w);
    if (e)
        return e;
    if (w.status != WITHDRAWAL_APPROVED)
        return err_set(ei, ERR_ILLEGAL_TRANSITION, "status",
                       "only an approved withdrawal can be paid by WeChat Pay");
    e = wechatpay_merchant_get(db, w.shop_id, a, &m);
    if (e == ERR_NOT_FOUND)
        return err_set(ei, ERR_UNPROCESSABLE, NULL, "this shop has no WeChat Pay settings");
    const char *openid = NULL;
    int64_t user_id = 0;
    if (!e)
        e = db_value(db, "SELECT user_id FROM promoters WHERE id = ?", &user_id,
                     DB_INT(w.promoter_id));
    if (!e && wechatpay_identity_openid(db, m.appid, user_id, a, &openid) != ERR_OK)
        return err_set(ei, ERR_UNPROCESSABLE, NULL,
                       "the promoter has not signed in with WeChat: pay by hand instead");
    if (e)
        return e;
    int64_t changed = 0;
    e = db_run_changes(
        db,
        "INSERT INTO wechatpay_transfers (withdrawal_id, shop_id, amount_fen, openid, decided_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (withdrawal_id) DO UPDATE SET"
        " state = 'sending', decided_by = excluded.decided_by WHERE wechatpay_transfers.state ="
        " 'failed'",
        &changed, DB_INT(withdrawal_id), DB_INT(w.shop_id), DB_INT(w.amount_fen), DB_STR(openid),
        DB_INT(actor), DB_INT(clock_now_ms()));
    if (!e && changed != 1)
        return err_set(ei, ERR_CONFLICT, "status",
                       "this withdrawal is already on its way by WeChat Pay");
    struct transfer_row x;
    if (!e)
        e = db_read_one(
            db, "SELECT " TRANSFER_COLUMNS " FROM wechatpay_transfers WHERE withdrawal_id = ?",
            read_transfer_row, a, &x, DB_INT(withdrawal_id));
    if (e)
        return e;
    struct errinfo quiet = {0};
    e = transfer_send(db, &x, a, &quiet);
    if (e == ERR_UNAVAILABLE) {
        *state = "sending";
        return ERR_OK;
    }
    if (e) {
        *ei = quiet;
        return e;
    }
    e = db_read_one(db,
                    "SELECT " TRANSFER_COLUMNS " FROM wechatpay_transfers WHERE withdrawal_id = ?",
                    read_transfer_row, a, &x, DB_INT(withdrawal_id));
    if (!e)
        *state = x.state;
    return e;
}

static void on_transfer(struct db *db, const struct wechatpay_merchant *m,
                        const struct wxp_transfer *t, struct arena *a, struct wechatpay_notice *out)
{
    size_t p = strlen(TRANSFER_PREFIX);
    int64_t id = 0;
    struct transfer_row x;
    if (strncmp(t->out_bill_no, TRANSFER_PREFIX, p) != 0 ||
        !text_parse_id(t->out_bill_no + p, strlen(t->out_bill_no + p), &id) ||
        strcmp(t->mchid, m->mchid) != 0) {
        out->outcome = WECHATPAY_IGNORED;
        return;
    }
    enum err e = db_read_one(db,
                             "SELECT " TRANSFER_COLUMNS " FROM wechatpay_transfers"
                             " WHERE withdrawal_id = ? AND shop_id = ?",
                             read_transfer_row, a, &x, DB_INT(id), DB_INT(m->shop_id));
    if (e == ERR_NOT_FOUND) {
        out->outcome = WECHATPAY_IGNORED;
        return;
    }
    if (!e && t->amount >= 0 && t->amount != x.amount_fen) {
        struct payment_anomaly an = {.shop_id = x.shop_id,
                                     .provider = WECHATPAY_PROVIDER,
                                     .reference = t->out_bill_no,
                                     .kind = "transfer_mismatch",
                                     .amount_fen = t->amount,
                                     .detail = "WeChat Pay transferred another amount"};
        e = payment_anomaly_add(db, &an);
        out->outcome = e ? WECHATPAY_RETRY : WECHATPAY_ANOMALY;
        return;
    }
    e = e ? e : transfer_news(db, &x, t, a);
    out->outcome = e ? WECHATPAY_RETRY : WECHATPAY_APPLIED;
}

static const char *transfer_state_of(const void *row)
{
    return ((const struct transfer_row *)row)->state;
}
static int64_t transfer_shop_of(const void *row)
{
    return ((const struct transfer_row *)row)->shop_id;
}
static enum err transfer_send_row(struct db *db, const void *row, struct arena *a,
                                  struct errinfo *ei)
{
    return transfer_send(db, row, a, ei);
}
static char *transfer_query(struct arena *a, const void *row)
{
    return arena_printf(
        a, "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/" TRANSFER_PREFIX "%lld",
        (long long)((const struct transfer_row *)row)->withdrawal_id);
}
static enum err transfer_answer(struct db *db, const void *row, const struct wxp_answer *ans,
                                struct arena *a)
{
    const struct transfer_row *x = row;
    struct wxp_transfer t;
    if (ans->status == 200 && wxp_transfer_parse(a, ans->body, ans->len, &t) == ERR_OK)
        return transfer_news(db, x, &t, a);
    return set_transfer_state(db, x->withdrawal_id, "sent");
}

static const struct pending_kind transfers_pending = {
    .select = "SELECT " TRANSFER_COLUMNS " FROM wechatpay_transfers WHERE state = 'sending' OR"
              " (state = 'sent' AND checked_at < ?) ORDER BY checked_at, withdrawal_id LIMIT 100",
    .size = sizeof(struct transfer_row),
    .read = read_transfer_row,
    .state = transfer_state_of,
    .shop = transfer_shop_of,
    .send = transfer_send_row,
    .query = transfer_query,
    .answer = transfer_answer,
};

/* The job's part for refunds and transfers: those not yet told to WeChat Pay are sent again;
 * those told more than `min_age_ms` ago (negative: any) without news are asked about. */
static enum err reconcile_pending(struct db *db, const struct pending_kind *k, int64_t min_age_ms,
                                  struct arena *a, int64_t *affected)
{
    int64_t before = min_age_ms < 0 ? INT64_MAX : clock_now_ms() - min_age_ms;
    size_t n = 0;
    void *items = NULL;
    enum err e = db_list(db, k->select, 100, k->size, k->read, a, &items, &n, NULL, DB_INT(before));
    for (size_t i = 0; !e && i < n; i++) {
        const void *row = (const char *)items + i * k->size;
        struct errinfo ei = {0};
        enum err one;
        if (!strcmp(k->state(row), "sending")) {
            one = k->send(db, row, a, &ei);
        } else {
            struct wechatpay_merchant m;
            struct merchant_keys keys = {0};
            struct wxp_answer ans;
            one = wechatpay_merchant_get(db, k->shop(row), a, &m);
            if (!one && !(one = keys_open(a, &m, &keys, &ei))) {
                char *path = k->query(a, row);
                one =
                    path ? wxp_call(&keys.client, a, "GET", path, NULL, &ans, &ei) : ERR_TOO_LARGE;
                if (!one)
                    one = k->answer(db, row, &ans, a);
            }
            keys_close(&keys);
        }
        if (one == ERR_UNAVAILABLE)
            break; /* WeChat Pay is away: the next run */
        if (!one)
            (*affected)++;
        e = one == ERR_NOT_FOUND || one == ERR_UNPROCESSABLE ? ERR_OK : one;
    }
    return e;
}

/* --- sign-in with WeChat --- */

enum err wechatpay_oauth_openid(struct db *db, int64_t shop_id, const char *code, struct arena *a,
                                const char **appid, const char **openid, struct errinfo *ei)
{
    struct wechatpay_merchant m;
    enum err e = wechatpay_merchant_get(db, shop_id, a, &m);
    if (e == ERR_NOT_FOUND || (!e && !*m.app_secret))
        return err_set(ei, ERR_UNPROCESSABLE, "shop_id",
                       "this shop has not set up sign-in with WeChat");
    if (e)
        return e;
    if (!wechatpay_settings.oauth_base || !*wechatpay_settings.oauth_base)
        return err_set(ei, ERR_UNAVAILABLE, NULL,
                       "WeChat's OAuth address is not set on this server (wechat_oauth_base)");
    size_t len = 0;
    char *secret = load_secret(a, m.app_secret, &len);
    while (secret && len && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
        secret[--len] = '\0';
    if (!secret || !len)
        return err_set(ei, ERR_UNAVAILABLE, NULL, "the shop's AppSecret cannot be read here");
    char *url = arena_printf(a,
                             "%s/sns/oauth2/access_token?appid=%s&secret=%s&code=%s"
                             "&grant_type=authorization_code",
                             wechatpay_settings.oauth_base, m.appid, secret, code);
    struct wxp_answer ans;
    e = url ? wxp_get_plain(url, wechatpay_settings.timeout_ms, a, &ans) : ERR_TOO_LARGE;
    sodium_memzero(secret, len);
    if (e)
        return err_set(ei, ERR_UNAVAILABLE, NULL, "WeChat did not answer; try again");
    json_error_t je;
    json_t *o = ans.status == 200 ? json_loadb(ans.body, ans.len, 0, &je) : NULL;
    const char *id = json_string_value(json_object_get(o, "openid"));
    if (id && *id && strlen(id) <= 64) {
        *openid = arena_strdup(a, id);
        *appid = m.appid;
        e = *openid ? ERR_OK : ERR_TOO_LARGE;
    } else {
        e = err_set(ei, ERR_BAD_CREDENTIALS, "code",
                    "WeChat does not know this code (used or expired): sign in again");
    }
    json_decref(o);
    return e;
}
