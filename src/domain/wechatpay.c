#include "domain/wechatpay.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/order.h"
#include "domain/payment.h"
#include "util/clock.h"
#include "util/log.h"

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
    wxp_key_free(priv);
    wxp_key_free(pub);
    arena_release(&a);
    if (e)
        return e;
    int64_t now = clock_now_ms();
    static const char sql[] =
        "INSERT INTO wechatpay_merchants (shop_id, mchid, appid, serial_no, private_key,"
        " apiv3_key, public_key_id, public_key, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shop_id) DO UPDATE SET"
        " mchid = excluded.mchid, appid = excluded.appid, serial_no = excluded.serial_no,"
        " private_key = excluded.private_key, apiv3_key = excluded.apiv3_key,"
        " public_key_id = excluded.public_key_id, public_key = excluded.public_key,"
        " updated_at = excluded.updated_at";
    return db_run(db, sql, DB_INT(m->shop_id), DB_STR(m->mchid), DB_STR(m->appid),
                  DB_STR(m->serial_no), DB_STR(m->private_key), DB_STR(m->apiv3_key),
                  DB_STR(m->public_key_id), DB_STR(m->public_key), DB_INT(now), DB_INT(now));
}

#define MERCHANT_COLUMNS                                                                           \
    "shop_id, mchid, appid, serial_no, private_key, apiv3_key, public_key_id, public_key,"         \
    " created_at, updated_at"

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
    return ERR_OK;
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
    if (strcmp(event, "TRANSACTION.SUCCESS") == 0 &&
        wxp_transaction_parse(a, resource, len, &t) == ERR_OK)
        on_transaction(db, m, &t, a, out);
    else
        out->outcome = WECHATPAY_IGNORED;
    LOG(LOG_INFO, "wechatpay_notify", "event=%s shop_id=%lld order_id=%lld outcome=%d", event,
        (long long)out->shop_id, (long long)out->order_id, (int)out->outcome);
}
