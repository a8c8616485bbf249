/*
 * WeChat Pay through the API: a shop's merchant settings (every key named must be there;
 * none is ever answered), and payment notifications as WeChat Pay sends them, signed with
 * "WeChat Pay's" test key and encrypted with the APIv3 key (tests/fixtures/wechatpay):
 * applied once however often and however concurrently they come, refused when not
 * believed, and listed for the shop when believed but not the order's. Then payments
 * started through a stand-in for WeChat Pay (tests/wechatpay/standin.mjs: it checks our
 * signatures, signs its answers, sends notifications, and misbehaves on request). The
 * ledger check runs when the server stops (the harness).
 */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "db/db.h"
#include "harness.h"
#include "pay/wechatpay.h"
#include "util/clock.h"

#define KEY_ID "PUB_KEY_ID_0114232134912410000000000000"
static char *owner, *buyer;
static int64_t shop, product;
static struct wxp_key *platform; /* "WeChat Pay's" private key: it signs notifications */
static unsigned char apiv3[WXP_APIV3_KEY_BYTES];
static struct arena A;
static struct srv W; /* the stand-in for WeChat Pay: only its port is used */
static pid_t standin_pid;

/* Starts the stand-in (node) on a free port of 127.0.0.1. */
static void standin_start(void)
{
    char port_file[256];
    snprintf(port_file, sizeof port_file, "/tmp/quanzi-standin-%d", (int)getpid());
    unlink(port_file);
    char script[512];
    snprintf(script, sizeof script, "%s/tests/wechatpay/standin.mjs", QUANZI_SOURCE_DIR);
    standin_pid = fork();
    assert_true(standin_pid >= 0);
    if (standin_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execlp("node", "node", script, port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && W.port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &W.port) != 1)
                W.port = 0;
            fclose(f);
        }
        if (!W.port)
            usleep(50 * 1000);
    }
    unlink(port_file);
    assert_true(W.port > 0);
}

/* A control call to the stand-in; its answer's JSON in r. */
static long standin(const char *path, const char *body, struct resp *r)
{
    return http(&W, "POST", path, NULL, body, r);
}

static char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/wechatpay/%s", QUANZI_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = arena_alloc(&A, 16384);
    *len = fread(buf, 1, 16383, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* The shop's keys where the server looks for them: <data_dir>/keys. */
static void install_key(const char *name)
{
    size_t n = 0;
    char *content = read_fixture(name, &n);
    char dir[400], path[512];
    snprintf(dir, sizeof dir, "%s/keys", S.dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(content, 1, n, f);
    fclose(f);
}

static const char *settings(const char *private_key, const char *apiv3_key, const char *public_key)
{
    return fmt("{\"mchid\":\"1900000001\",\"appid\":\"wx8888888888888888\","
               "\"serial_no\":\"5157F09EFDC096DE15EBE81A47057A72\",\"private_key\":\"%s\","
               "\"apiv3_key\":\"%s\",\"public_key_id\":\"" KEY_ID "\",\"public_key\":\"%s\","
               "\"app_secret\":\"app_secret.txt\"}",
               private_key, apiv3_key, public_key);
}

static int up(void **state)
{
    (void)state;
    arena_init(&A, 16 << 20);
    standin_start();
    static char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", W.port);
    const char *extra[] = {"--wechatpay-api-base",
                           base,
                           "--wechat-oauth-base",
                           base,
                           "--public-url",
                           "http://127.0.0.1",
                           "--wechatpay-timeout-ms",
                           "1000",
                           NULL};
    srv_start(&S, extra);
    struct resp r;
    assert_int_equal(
        standin("/_standin/notify-url",
                fmt("{\"url\":\"http://127.0.0.1:%d/api/v1/payments/wechatpay/notify\"}", S.port),
                &r),
        200);
    resp_free(&r);
    owner = register_user(&S, "13930000001", "周师傅", NULL);
    buyer = register_user(&S, "13930000002", "王芳", NULL);
    shop = create_shop(&S, owner, "wxpay");
    product = create(&S, fmt("/api/v1/shops/%lld/products", (long long)shop), owner,
                     "{\"title\":\"核桃\",\"price_fen\":12800,\"stock\":1000,\"status\":\"on_"
                     "sale\",\"buyer_cap_30d\":1000,\"trial_available\":true}");
    install_key("merchant_key.pem");
    install_key("platform_pub.pem");
    install_key("apiv3_key.txt");
    install_key("merchant_pub.pem");
    install_key("app_secret.txt");
    size_t n = 0;
    const char *pem = read_fixture("platform_key.pem", &n);
    platform = wxp_key_private(pem, n);
    const char *k = read_fixture("apiv3_key.txt", &n);
    memcpy(apiv3, k, WXP_APIV3_KEY_BYTES);
    return platform ? 0 : -1;
}

static int down(void **state)
{
    if (standin_pid > 0) {
        kill(standin_pid, SIGTERM);
        waitpid(standin_pid, NULL, 0);
    }
    free(owner);
    free(buyer);
    wxp_key_free(platform);
    arena_release(&A);
    return srv_group_down(state);
}

static int64_t order(void)
{
    static int seq;
    char key[64];
    snprintf(key, sizeof key, "Idempotency-Key: wx-order-%d", ++seq);
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", buyer);
    const char *h[] = {auth, key, NULL};
    struct resp r;
    assert_int_equal(
        http_ex(&S, "POST", "/api/v1/orders", NULL,
                fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                    "\"address\":{\"name\":\"王芳\",\"phone\":\"13930000002\",\"region\":\"河北\","
                    "\"line\":\"阳光小区\"}}",
                    (long long)shop, (long long)product),
                h, &r),
        201);
    int64_t id = jint(r.json, "id");
    resp_free(&r);
    return id;
}

/* A TRANSACTION.SUCCESS notification for an order, signed at `ts` (0: the server's now). */
static const char *notice_headers(const char *body, long long ts, const char *signature_prefix)
{
    if (!ts)
        ts = (long long)(clock_now_ms() / 1000); /* the tests' clock is the server's (no offset) */
    char *t = arena_printf(&A, "%lld", ts);
    const char *nonce = "5K8264ILTKCH16CQ2502";
    char *msg = wxp_message(&A, NULL, NULL, t, nonce, body, strlen(body));
    char *sig = wxp_sign(&A, platform, msg, strlen(msg));
    return arena_printf(&A,
                        "Content-Type: application/json\nWechatpay-Serial: " KEY_ID
                        "\nWechatpay-Timestamp: %s\nWechatpay-Nonce: %s\nWechatpay-Signature: %s%s",
                        t, nonce, signature_prefix, sig);
}

static const char *transaction(int64_t order_id, const char *txid, int64_t total,
                               const char *currency, const char *mchid)
{
    char *plain = arena_printf(
        &A,
        "{\"mchid\":\"%s\",\"appid\":\"wx8888888888888888\",\"out_trade_no\":\"QZ%lld\","
        "\"transaction_id\":\"%s\",\"trade_type\":\"JSAPI\",\"trade_state\":\"SUCCESS\","
        "\"trade_state_desc\":\"支付成功\",\"bank_type\":\"CMC\",\"success_time\":"
        "\"2026-12-06T10:34:56+08:00\",\"payer\":{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\"},"
        "\"amount\":{\"total\":%lld,\"payer_total\":%lld,\"currency\":\"%s\",\"payer_currency\":"
        "\"CNY\"}}",
        mchid, (long long)order_id, txid, (long long)total, (long long)total, currency);
    char *ct = wxp_encrypt(&A, apiv3, "transaction", "fdasflkja484", plain, strlen(plain));
    return arena_printf(
        &A,
        "{\"id\":\"EV-%s\",\"create_time\":\"2026-12-06T10:34:56+08:00\","
        "\"resource_type\":\"encrypt-resource\",\"event_type\":\"TRANSACTION.SUCCESS\","
        "\"summary\":\"支付成功\",\"resource\":{\"original_type\":\"transaction\","
        "\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"%s\","
        "\"associated_data\":\"transaction\",\"nonce\":\"fdasflkja484\"}}",
        txid, ct);
}

static long notify(const char *body, const char *headers, struct resp *r)
{
    const char *h[9] = {NULL};
    char *lines = arena_strdup(&A, headers);
    size_t n = 0;
    for (char *save = NULL, *x = strtok_r(lines, "\n", &save); x && n < 8;
         x = strtok_r(NULL, "\n", &save))
        h[n++] = x;
    return http_bytes(&S, "POST", "/api/v1/payments/wechatpay/notify", body, strlen(body), h, r);
}

static int64_t count(const char *sql)
{
    return db_scalar(&S, sql);
}

/* The same notification ten times at once: how many answered 200 (and 500 in *busy). */
static int ten_at_once(const char *body, int *busy)
{
    const char *h = notice_headers(body, 0, "");
    struct call calls[10];
    for (int i = 0; i < 10; i++)
        calls[i] = (struct call){.method = "POST",
                                 .path = "/api/v1/payments/wechatpay/notify",
                                 .body = body,
                                 .header = h};
    http_all(&S, calls, 10);
    *busy = count_answers(calls, 10, 500, NULL);
    return count_answers(calls, 10, 200, NULL);
}

/* One payment of the order and one ledger transaction of it, however often it was told. */
static void paid_once(int64_t id)
{
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)), 1);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM ledger_txns WHERE kind = 'order_paid'"
                               " AND ref_id = %lld",
                               (long long)id)),
                     1);
}

static void settings_name_keys_that_are_there(void **state)
{
    (void)state;
    const char *path = arena_strdup(&A, fmt("/api/v1/shops/%lld/wechatpay", (long long)shop));
    struct resp r;
    assert_int_equal(http(&S, "GET", path, owner, NULL, &r), 200);
    assert_false(json_is_true(jget(r.json, "configured")));
    resp_free(&r);
    /* each key named must be there, and be what it should */
    refused(&S, "PUT", path, owner, settings("nope.pem", "apiv3_key.txt", "platform_pub.pem"), 422,
            "unprocessable", "private_key");
    refused(&S, "PUT", path, owner,
            settings("merchant_pub.pem", "apiv3_key.txt", "platform_pub.pem"), 422, "unprocessable",
            "private_key");
    refused(&S, "PUT", path, owner,
            settings("../merchant_key.pem", "apiv3_key.txt", "platform_pub.pem"), 422,
            "unprocessable", "private_key");
    refused(&S, "PUT", path, owner, settings("/etc/passwd", "apiv3_key.txt", "platform_pub.pem"),
            422, "unprocessable", "private_key");
    refused(&S, "PUT", path, owner,
            settings("merchant_key.pem", "merchant_key.pem", "platform_pub.pem"), 422,
            "unprocessable", "apiv3_key");
    refused(&S, "PUT", path, owner,
            settings("merchant_key.pem", "env:QUANZI_WECHATPAY_NOT_SET", "platform_pub.pem"), 422,
            "unprocessable", "apiv3_key");
    refused(&S, "PUT", path, owner,
            settings("merchant_key.pem", "apiv3_key.txt", "merchant_key.pem"), 422, "unprocessable",
            "public_key");
    char *no_secret =
        arena_strdup(&A, settings("merchant_key.pem", "apiv3_key.txt", "platform_pub.pem"));
    memcpy(strstr(no_secret, "app_secret.txt"), "nosecret.txt..", 14);
    refused(&S, "PUT", path, owner, no_secret, 422, "unprocessable", "app_secret");
    refused(&S, "PUT", path, owner, "{\"mchid\":\"1\"}", 400, "missing_field", "appid");
    char *spaced =
        arena_strdup(&A, settings("merchant_key.pem", "apiv3_key.txt", "platform_pub.pem"));
    memcpy(strstr(spaced, "1900000001"), "19000 0001", 10);
    refused(&S, "PUT", path, owner, spaced, 400, "invalid_value", "mchid");
    assert_int_equal(count("SELECT COUNT(*) FROM wechatpay_merchants"), 0);

    assert_int_equal(http(&S, "PUT", path, owner,
                          settings("merchant_key.pem", "apiv3_key.txt", "platform_pub.pem"), &r),
                     200);
    assert_string_equal(jstr(r.json, "public_key_id"), KEY_ID);
    assert_string_equal(jstr(r.json, "notify_path"), "/api/v1/payments/wechatpay/notify");
    assert_null(strstr(r.body, "BEGIN")); /* where the keys are, never what */
    resp_free(&r);
    assert_int_equal(http(&S, "GET", path, owner, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "private_key"), "merchant_key.pem");
    assert_null(strstr(r.body, "quanzi-test-apiv3"));
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM wechatpay_merchants"), 1);
}

static void a_payment_is_applied_once(void **state)
{
    (void)state;
    int64_t id = order();
    const char *body = transaction(id, "4200000001202612061111111111", 12800, "CNY", "1900000001");
    struct resp r;
    assert_int_equal(notify(body, notice_headers(body, 0, ""), &r), 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    assert_int_equal(http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), buyer, NULL, &r),
                     200);
    assert_string_equal(jstr(r.json, "status"), "paid");
    resp_free(&r);
    /* the same notification again, ten times at once: 200 each, no second effect */
    int busy = 0;
    assert_int_equal(ten_at_once(body, &busy), 10);
    paid_once(id);
}

static void a_fresh_order_paid_by_ten_at_once(void **state)
{
    (void)state;
    /* the first arrival of a notification, ten copies racing: one payment */
    int64_t id = order();
    const char *body = transaction(id, "4200000001202612062222222222", 12800, "CNY", "1900000001");
    /* each answered 200, or 500 (WeChat Pay sends it again): never a second payment */
    int busy = 0, ok = ten_at_once(body, &busy);
    assert_int_equal(ok + busy, 10);
    assert_true(ok >= 1);
    paid_once(id);
}

static void unbelieved_notifications_change_nothing(void **state)
{
    (void)state;
    int64_t id = order();
    const char *body = transaction(id, "4200000001202612063333333333", 12800, "CNY", "1900000001");
    /* a minute past the allowed skew: the server reads its clock a moment later than this,
     * and one second past it was accepted whenever a second ticked in between */
    long long now = (long long)(clock_now_ms() / 1000), beyond = WXP_MAX_SKEW_S + 60;
    const char *cases[] = {
        notice_headers(body, 0, WXP_SIGNTEST_PREFIX), /* a probe */
        notice_headers(body, now - beyond, ""),       /* too old */
        notice_headers(body, now + beyond, ""),       /* from the future */
    };
    struct resp r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(notify(body, cases[i], &r), 401);
        assert_string_equal(jstr(r.json, "code"), "FAIL");
        resp_free(&r);
    }
    /* a body other than the one signed */
    const char *other = transaction(id, "4200000001202612063333333334", 12800, "CNY", "1900000001");
    assert_int_equal(notify(other, notice_headers(body, 0, ""), &r), 401);
    resp_free(&r);
    /* a key id no shop has */
    const char *h = notice_headers(body, 0, "");
    char *swapped = arena_strdup(&A, h);
    memcpy(strstr(swapped, "PUB_KEY_ID_"), "PUB_KEY_ID_9", 12);
    assert_int_equal(notify(body, swapped, &r), 401);
    resp_free(&r);
    /* no headers at all */
    assert_int_equal(notify(body, "Content-Type: application/json", &r), 401);
    resp_free(&r);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM payment_anomalies"), 0);
}

static void anomalies_are_listed_once(void **state)
{
    (void)state;
    int64_t id = order();
    struct resp r;
    /* paid a different amount: not applied, listed for the shop, once */
    const char *body = transaction(id, "4200000001202612064444444444", 100, "CNY", "1900000001");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(notify(body, notice_headers(body, 0, ""), &r), 200);
        resp_free(&r);
    }
    /* another currency, another merchant, an order of no shop of ours */
    const char *usd = transaction(id, "4200000001202612065555555555", 12800, "USD", "1900000001");
    assert_int_equal(notify(usd, notice_headers(usd, 0, ""), &r), 200);
    resp_free(&r);
    const char *other = transaction(id, "4200000001202612066666666666", 12800, "CNY", "1900000099");
    assert_int_equal(notify(other, notice_headers(other, 0, ""), &r), 200);
    resp_free(&r);
    const char *nowhere =
        transaction(999999, "4200000001202612067777777777", 12800, "CNY", "1900000001");
    assert_int_equal(notify(nowhere, notice_headers(nowhere, 0, ""), &r), 200);
    resp_free(&r);
    assert_int_equal(http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), buyer, NULL, &r),
                     200);
    assert_string_equal(jstr(r.json, "status"), "created");
    resp_free(&r);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)), 0);
    assert_int_equal(http(&S, "GET", fmt("/api/v1/shops/%lld/payment-anomalies", (long long)shop),
                          owner, NULL, &r),
                     200);
    json_t *items = jget(r.json, "items");
    assert_int_equal(json_array_size(items), 4);
    const char *kinds[] = {"unknown_order", "merchant_mismatch", "amount_mismatch",
                           "amount_mismatch"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "kind")),
                            kinds[i]);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 3), "amount_fen")),
                     100);
    resp_free(&r);

    /* a cancelled order that WeChat Pay says was paid: listed, not revived */
    int64_t late = order();
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/orders/%lld/cancel", (long long)late), buyer, "{}", &r), 200);
    resp_free(&r);
    const char *b = transaction(late, "4200000001202612068888888888", 12800, "CNY", "1900000001");
    assert_int_equal(notify(b, notice_headers(b, 0, ""), &r), 200);
    resp_free(&r);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM payment_anomalies WHERE order_id = %lld"
                               " AND kind = 'order_not_payable'",
                               (long long)late)),
                     1);
}

/* --- through the stand-in --- */

static long pay_with(int64_t id, const char *type, struct resp *r)
{
    return http(&S, "POST", fmt("/api/v1/orders/%lld/wechatpay", (long long)id), buyer,
                fmt("{\"trade_type\":\"%s\"}", type), r);
}

static int64_t standin_requests(void)
{
    struct resp r;
    assert_int_equal(http(&W, "GET", "/_standin/requests", NULL, NULL, &r), 200);
    int64_t n = (int64_t)json_array_size(jget(r.json, "requests"));
    resp_free(&r);
    return n;
}

static const char *status_of(int64_t id)
{
    struct resp r;
    assert_int_equal(http(&S, "GET", fmt("/api/v1/orders/%lld", (long long)id), buyer, NULL, &r),
                     200);
    const char *s = arena_strdup(&A, jstr(r.json, "status"));
    resp_free(&r);
    return s;
}

static void h5_payment_end_to_end(void **state)
{
    (void)state;
    int64_t id = order();
    struct resp r;
    /* the page offers WeChat Pay: the shop takes it here */
    assert_int_equal(
        http(&S, "GET", fmt("/api/v1/orders/%lld/payment-options", (long long)id), buyer, NULL, &r),
        200);
    assert_true(json_is_true(jget(r.json, "wechatpay")));
    assert_true(json_is_true(jget(r.json, "offline")));
    resp_free(&r);
    int64_t before = standin_requests();
    assert_int_equal(pay_with(id, "H5", &r), 200);
    const char *url = arena_strdup(&A, jstr(r.json, "h5_url"));
    assert_non_null(strstr(url, "prepay_id=wx"));
    assert_string_equal(jstr(r.json, "out_trade_no"), fmt("QZ%lld", (long long)id));
    resp_free(&r);
    /* the same again: what WeChat Pay gave the first time, without asking it again */
    assert_int_equal(pay_with(id, "h5", &r), 200);
    assert_string_equal(jstr(r.json, "h5_url"), url);
    resp_free(&r);
    assert_int_equal(standin_requests(), before + 1);
    /* another way for the same order, or a way that is none */
    refused(&S, "POST", fmt("/api/v1/orders/%lld/wechatpay", (long long)id), buyer,
            "{\"trade_type\":\"JSAPI\"}", 409, "conflict", "trade_type");
    refused(&S, "POST", fmt("/api/v1/orders/%lld/wechatpay", (long long)id), buyer,
            "{\"trade_type\":\"NATIVE\"}", 400, "invalid_value", "trade_type");
    /* the buyer pays in WeChat; WeChat Pay tells quanzi five times at once */
    assert_int_equal(standin("/_standin/pay",
                             fmt("{\"out_trade_no\":\"QZ%lld\",\"copies\":5}", (long long)id), &r),
                     200);
    json_t *statuses = jget(r.json, "statuses");
    for (size_t i = 0; i < json_array_size(statuses); i++)
        assert_int_equal(json_integer_value(json_array_get(statuses, i)), 200);
    resp_free(&r);
    assert_string_equal(status_of(id), "paid");
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld"
                               " AND provider = 'wechatpay'",
                               (long long)id)),
                     1);
    /* paid: no second payment can be started */
    refused(&S, "POST", fmt("/api/v1/orders/%lld/wechatpay", (long long)id), buyer,
            "{\"trade_type\":\"H5\"}", 409, "illegal_transition", NULL);
}

static void jsapi_needs_and_uses_the_openid(void **state)
{
    (void)state;
    int64_t id = order();
    struct resp r;
    refused(&S, "POST", fmt("/api/v1/orders/%lld/wechatpay", (long long)id), buyer,
            "{\"trade_type\":\"JSAPI\"}", 422, "unprocessable", "trade_type");
    /* as sign-in with WeChat leaves it */
    assert_int_equal(db_run(S.db,
                            "INSERT INTO wechat_identities (appid, openid, user_id, created_at)"
                            " SELECT 'wx8888888888888888', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', id, 0"
                            " FROM users WHERE login = '13930000002'"),
                     ERR_OK);
    assert_int_equal(pay_with(id, "JSAPI", &r), 200);
    json_t *j = jget(r.json, "jsapi");
    assert_string_equal(json_string_value(json_object_get(j, "appId")), "wx8888888888888888");
    assert_string_equal(json_string_value(json_object_get(j, "signType")), "RSA");
    const char *package = json_string_value(json_object_get(j, "package"));
    assert_true(strncmp(package, "prepay_id=wx", 12) == 0);
    /* paySign: the merchant's signature over appId, timeStamp, nonceStr, package */
    size_t n = 0;
    const char *pem = read_fixture("merchant_pub.pem", &n);
    struct wxp_key *pub = wxp_key_public(pem, n);
    char *msg = arena_printf(&A, "%s\n%s\n%s\n%s\n", "wx8888888888888888",
                             json_string_value(json_object_get(j, "timeStamp")),
                             json_string_value(json_object_get(j, "nonceStr")), package);
    assert_true(
        wxp_verify(pub, msg, strlen(msg), json_string_value(json_object_get(j, "paySign"))));
    wxp_key_free(pub);
    resp_free(&r);
}

static void a_lost_notification_is_found_by_reconciliation(void **state)
{
    (void)state;
    int64_t id = order();
    struct resp r;
    assert_int_equal(pay_with(id, "H5", &r), 200);
    resp_free(&r);
    /* paid in WeChat, and the notification never arrives */
    assert_int_equal(standin("/_standin/pay",
                             fmt("{\"out_trade_no\":\"QZ%lld\",\"notify\":false}", (long long)id),
                             &r),
                     200);
    resp_free(&r);
    assert_string_equal(status_of(id), "created");
    /* five minutes on, the job asks WeChat Pay and applies what it says */
    assert_int_equal(http(&S, "POST", "/api/v1/test-clock", owner, "{\"advance_ms\":360000}", &r),
                     200);
    resp_free(&r);
    assert_string_equal(status_of(id), "paid");
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM wechatpay_payments WHERE order_id = %lld"
                               " AND state = 'paid'",
                               (long long)id)),
                     1);
    /* its notification, late, changes nothing */
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)), 1);

    /* the same by hand, at once: quanzi payments reconcile */
    int64_t now_id = order();
    assert_int_equal(pay_with(now_id, "H5", &r), 200);
    resp_free(&r);
    assert_int_equal(
        standin("/_standin/pay",
                fmt("{\"out_trade_no\":\"QZ%lld\",\"notify\":false}", (long long)now_id), &r),
        200);
    resp_free(&r);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' payments reconcile --data-dir '%s' --db '%s' --wechatpay-api-base "
             "http://127.0.0.1:%d --log-level error > /dev/null",
             getenv("QUANZI_BIN"), S.dir, S.db_url, W.port);
    assert_int_equal(system(cmd), 0);
    assert_string_equal(status_of(now_id), "paid");
}

static void a_misbehaving_wechat_pay_changes_nothing(void **state)
{
    (void)state;
    struct resp r;
    /* an answer signed wrongly, a 500, an answer slower than wechatpay_timeout_ms */
    const char *modes[] = {"{\"bad_signature\":true}",
                           "{\"fail_next\":1,\"fail_path\":\"/v3/pay/transactions/h5\"}",
                           "{\"slow_ms\":1500}"};
    for (size_t i = 0; i < 3; i++) {
        int64_t id = order();
        assert_int_equal(standin("/_standin/mode", modes[i], &r), 200);
        resp_free(&r);
        refused(&S, "POST", fmt("/api/v1/orders/%lld/wechatpay", (long long)id), buyer,
                "{\"trade_type\":\"H5\"}", 503, "unavailable", NULL);
        assert_int_equal(standin("/_standin/mode",
                                 "{\"bad_signature\":false,\"fail_next\":0,\"slow_ms\":0}", &r),
                         200);
        resp_free(&r);
        assert_int_equal(count(fmt("SELECT COUNT(*) FROM wechatpay_payments WHERE order_id = %lld",
                                   (long long)id)),
                         0);
        /* and once it behaves, the same order can be paid */
        assert_int_equal(pay_with(id, "H5", &r), 200);
        resp_free(&r);
    }
}

/* --- refunds through WeChat Pay --- */

static int64_t paid_by_wechat(void)
{
    int64_t id = order();
    struct resp r;
    assert_int_equal(pay_with(id, "H5", &r), 200);
    resp_free(&r);
    assert_int_equal(
        standin("/_standin/pay", fmt("{\"out_trade_no\":\"QZ%lld\"}", (long long)id), &r), 200);
    resp_free(&r);
    assert_string_equal(status_of(id), "paid");
    return id;
}

static int64_t ask_refund(int64_t order_id, int64_t fen)
{
    struct resp r;
    assert_int_equal(http(&S, "POST", fmt("/api/v1/orders/%lld/refunds", (long long)order_id),
                          buyer, fmt("{\"amount_fen\":%lld,\"reason\":\"压碎了\"}", (long long)fen),
                          &r),
                     201);
    int64_t id = jint(r.json, "refund_id");
    resp_free(&r);
    return id;
}

static int64_t refunded_fen(int64_t order_id)
{
    return count(fmt("SELECT refunded_fen FROM orders WHERE id = %lld", (long long)order_id));
}

/* Waits (up to 3 s) for the stand-in's own notification to have been applied. */
static void wait_refunded(int64_t order_id, int64_t fen)
{
    for (int i = 0; i < 60 && refunded_fen(order_id) != fen; i++)
        usleep(50 * 1000);
    assert_int_equal(refunded_fen(order_id), fen);
}

static void refunds_go_back_through_wechat_pay(void **state)
{
    (void)state;
    int64_t id = paid_by_wechat();
    struct resp r;
    assert_int_equal(standin("/_standin/mode", "{\"refund_notify\":false}", &r), 200);
    resp_free(&r);
    /* a part: approved, sent, and nothing of the money moves until WeChat Pay says so */
    int64_t first = ask_refund(id, 5000);
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)first), owner, "{}", &r),
        200);
    assert_string_equal(jstr(r.json, "wechatpay_refund"), "sent");
    resp_free(&r);
    assert_int_equal(refunded_fen(id), 0);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM refunds WHERE id = %lld AND status = 'requested'",
                  (long long)first)),
        1);
    /* on its way: not withdrawn, not refused, not sent twice */
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/withdraw", (long long)first), buyer, NULL, 409,
            "conflict", "status");
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/reject", (long long)first), owner, "{}", 409,
            "conflict", "status");
    refused(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)first), owner, "{}", 409,
            "conflict", "status");
    /* WeChat Pay says it is done, five times at once: applied once */
    assert_int_equal(
        standin("/_standin/refund",
                fmt("{\"out_refund_no\":\"QZR%lld\",\"status\":\"SUCCESS\",\"copies\":5}",
                    (long long)first),
                &r),
        200);
    json_t *statuses = jget(r.json, "statuses");
    for (size_t i = 0; i < json_array_size(statuses); i++)
        assert_int_equal(json_integer_value(json_array_get(statuses, i)), 200);
    resp_free(&r);
    assert_int_equal(refunded_fen(id), 5000);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM ledger_txns WHERE kind = 'refund' AND ref_id = %lld",
                  (long long)first)),
        1);
    /* the payment's notification again, after the refund: no second payment, nothing undone */
    assert_int_equal(standin("/_standin/repay",
                             fmt("{\"out_trade_no\":\"QZ%lld\",\"copies\":3}", (long long)id), &r),
                     200);
    resp_free(&r);
    assert_string_equal(status_of(id), "paid");
    assert_int_equal(refunded_fen(id), 5000);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM payments WHERE order_id = %lld", (long long)id)), 1);
    /* the rest, and WeChat Pay tells of it by itself: the order is refunded */
    assert_int_equal(standin("/_standin/mode", "{\"refund_notify\":true}", &r), 200);
    resp_free(&r);
    int64_t rest = ask_refund(id, 7800);
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)rest), owner, "{}", &r),
        200);
    resp_free(&r);
    wait_refunded(id, 12800);
    assert_string_equal(status_of(id), "refunded");
}

static void a_refund_wechat_pay_cannot_take_now_is_sent_later(void **state)
{
    (void)state;
    int64_t id = paid_by_wechat();
    int64_t rid = ask_refund(id, 12800);
    struct resp r;
    assert_int_equal(
        standin("/_standin/mode",
                "{\"fail_next\":1,\"fail_path\":\"/v3/refund/\",\"refund_notify\":true}", &r),
        200);
    resp_free(&r);
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)rid), owner, "{}", &r),
        200);
    assert_string_equal(jstr(r.json, "wechatpay_refund"), "sending");
    resp_free(&r);
    assert_int_equal(refunded_fen(id), 0);
    /* the job sends it again; WeChat Pay then says it is done */
    assert_int_equal(http(&S, "POST", "/api/v1/test-clock", owner, "{\"advance_ms\":360000}", &r),
                     200);
    resp_free(&r);
    wait_refunded(id, 12800);
}

static void a_refund_wechat_pay_gives_up_on_is_listed(void **state)
{
    (void)state;
    int64_t id = paid_by_wechat();
    int64_t rid = ask_refund(id, 3000);
    struct resp r;
    assert_int_equal(standin("/_standin/mode", "{\"refund_notify\":false}", &r), 200);
    resp_free(&r);
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/refunds/%lld/approve", (long long)rid), owner, "{}", &r),
        200);
    resp_free(&r);
    assert_int_equal(
        standin("/_standin/refund",
                fmt("{\"out_refund_no\":\"QZR%lld\",\"status\":\"ABNORMAL\"}", (long long)rid), &r),
        200);
    resp_free(&r);
    assert_int_equal(refunded_fen(id), 0);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM payment_anomalies WHERE kind = 'refund_failed'"
                               " AND order_id = %lld",
                               (long long)id)),
                     1);
    /* the request is open again: the shop may refuse it (and settle with the buyer otherwise) */
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/refunds/%lld/reject", (long long)rid), owner, "{}", &r), 200);
    resp_free(&r);
}

/* --- payouts by merchant transfer --- */

static int64_t withdrawal(const char *who, int64_t fen)
{
    int64_t id =
        create(&S, "/api/v1/me/withdrawals", who,
               fmt("{\"shop_id\":%lld,\"amount_fen\":%lld}", (long long)shop, (long long)fen));
    struct resp r;
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/withdrawals/%lld/approve", (long long)id), owner, NULL, &r),
        200);
    resp_free(&r);
    return id;
}

static void payouts_by_merchant_transfer(void **state)
{
    (void)state;
    struct resp r;
    /* a promoter who tried the walnuts, with two sales through her link, settled */
    int64_t uid = 0;
    char *promoter = register_user(&S, "13930000009", "乐乐妈", &uid);
    create(&S, fmt("/api/v1/shops/%lld/trials", (long long)shop), owner,
           fmt("{\"user_id\":%lld,\"product_id\":%lld}", (long long)uid, (long long)product));
    int64_t pid = create(&S, fmt("/api/v1/shops/%lld/promoters", (long long)shop), promoter, "{}");
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/promoters/%lld/approve", (long long)pid), owner, NULL, &r),
        200);
    resp_free(&r);
    assert_int_equal(http(&S, "GET", fmt("/api/v1/me/promoter?shop_id=%lld", (long long)shop),
                          promoter, NULL, &r),
                     200);
    const char *token = arena_strdup(&A, jstr(r.json, "ref_token"));
    resp_free(&r);
    for (int i = 0; i < 2; i++) {
        char auth[160], key[64];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", buyer);
        snprintf(key, sizeof key, "Idempotency-Key: wx-sale-%d", i);
        const char *h[] = {auth, key, NULL};
        assert_int_equal(
            http_ex(&S, "POST", "/api/v1/orders", NULL,
                    fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                        "\"share_token\":\"%s\",\"address\":{\"name\":\"王芳\",\"phone\":"
                        "\"13930000002\",\"region\":\"河北\",\"line\":\"阳光小区\"}}",
                        (long long)shop, (long long)product, token),
                    h, &r),
            201);
        int64_t oid = jint(r.json, "id");
        resp_free(&r);
        const char *steps[][3] = {{"confirm-payment", "{}", ""},
                                  {"ship", "{\"carrier\":\"顺丰\",\"tracking\":\"SF1\"}", ""}};
        for (int k = 0; k < 2; k++) {
            assert_int_equal(http(&S, "POST",
                                  fmt("/api/v1/orders/%lld/%s", (long long)oid, steps[k][0]), owner,
                                  steps[k][1], &r),
                             200);
            resp_free(&r);
        }
        assert_int_equal(
            http(&S, "POST", fmt("/api/v1/orders/%lld/receive", (long long)oid), buyer, NULL, &r),
            200);
        resp_free(&r);
    }
    assert_int_equal(
        http(&S, "POST", "/api/v1/test-clock", owner, "{\"advance_ms\":691200000}", &r), 200);
    resp_free(&r);
    assert_int_equal(http(&S, "GET", fmt("/api/v1/me/balance?shop_id=%lld", (long long)shop),
                          promoter, NULL, &r),
                     200);
    assert_int_equal(jint(r.json, "available_fen"), 2560);
    resp_free(&r);

    /* paid to her WeChat balance: she must have signed in with WeChat */
    int64_t w1 = withdrawal(promoter, 1280);
    const char *path = arena_strdup(&A, fmt("/api/v1/withdrawals/%lld/wechatpay", (long long)w1));
    refused(&S, "POST", path, owner, NULL, 422, "unprocessable", NULL);
    assert_int_equal(db_run(S.db,
                            "INSERT INTO wechat_identities (appid, openid, user_id, created_at)"
                            " VALUES ('wx8888888888888888', 'o-lele', ?, 0)",
                            DB_INT(uid)),
                     ERR_OK);
    assert_int_equal(http(&S, "POST", path, owner, NULL, &r), 200);
    assert_string_equal(jstr(r.json, "wechatpay_transfer"), "sent");
    assert_string_equal(jstr(r.json, "status"), "approved");
    resp_free(&r);
    /* on its way: no second transfer, no payment or refusal by hand */
    refused(&S, "POST", path, owner, NULL, 409, "conflict", "status");
    refused(&S, "POST", fmt("/api/v1/withdrawals/%lld/pay", (long long)w1), owner,
            "{\"reference\":\"TR-1\"}", 409, "conflict", "status");
    refused(&S, "POST", fmt("/api/v1/withdrawals/%lld/reject", (long long)w1), owner, "{}", 409,
            "conflict", "status");
    /* she confirms in WeChat; WeChat Pay says so three times */
    assert_int_equal(standin("/_standin/transfer",
                             fmt("{\"out_bill_no\":\"QZW%lld\",\"state\":\"SUCCESS\",\"copies\":3}",
                                 (long long)w1),
                             &r),
                     200);
    resp_free(&r);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM withdrawals WHERE id = %lld AND status = 'paid'"
                  " AND reference LIKE 'wechatpay %%'",
                  (long long)w1)),
        1);
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM ledger_txns WHERE kind = 'withdraw_paid'"
                               " AND ref_id = %lld",
                               (long long)w1)),
                     1);
    /* a transfer that fails: the withdrawal is rejected and the money is available again */
    int64_t w2 = withdrawal(promoter, 1280);
    assert_int_equal(
        http(&S, "POST", fmt("/api/v1/withdrawals/%lld/wechatpay", (long long)w2), owner, NULL, &r),
        200);
    resp_free(&r);
    assert_int_equal(standin("/_standin/transfer",
                             fmt("{\"out_bill_no\":\"QZW%lld\",\"state\":\"FAIL\",\"fail_reason\":"
                                 "\"ACCOUNT_FROZEN\"}",
                                 (long long)w2),
                             &r),
                     200);
    resp_free(&r);
    assert_int_equal(
        count(fmt("SELECT COUNT(*) FROM withdrawals WHERE id = %lld AND status = 'rejected'",
                  (long long)w2)),
        1);
    assert_int_equal(http(&S, "GET", fmt("/api/v1/me/balance?shop_id=%lld", (long long)shop),
                          promoter, NULL, &r),
                     200);
    assert_int_equal(jint(r.json, "available_fen"), 1280);
    assert_int_equal(jint(r.json, "withdrawn_fen"), 1280);
    resp_free(&r);
    free(promoter);
}

/* --- sign-in with WeChat --- */

static long wechat_signin(const char *token, const char *code, struct resp *r)
{
    return http(&S, "POST", "/api/v1/auth/wechat", token,
                fmt("{\"shop_id\":%lld,\"code\":\"%s\"}", (long long)shop, code), r);
}

static void oauth_code(const char *code, const char *openid)
{
    struct resp r;
    assert_int_equal(standin("/_standin/oauth-code",
                             fmt("{\"code\":\"%s\",\"openid\":\"%s\"}", code, openid), &r),
                     200);
    resp_free(&r);
}

static void sign_in_with_wechat(void **state)
{
    (void)state;
    struct resp r;
    /* a code WeChat never gave, or that is no code */
    refused(&S, "POST", "/api/v1/auth/wechat", NULL,
            fmt("{\"shop_id\":%lld,\"code\":\"never-given\"}", (long long)shop), 401,
            "bad_credentials", "code");
    refused(&S, "POST", "/api/v1/auth/wechat", NULL,
            fmt("{\"shop_id\":%lld,\"code\":\"a b\"}", (long long)shop), 400, "invalid_value",
            "code");
    /* a shop that has not set it up */
    char *other = register_user(&S, "13930000020", "别的店主", NULL);
    int64_t plain_shop = create_shop(&S, other, "no-wechat");
    refused(&S, "POST", "/api/v1/auth/wechat", NULL,
            fmt("{\"shop_id\":%lld,\"code\":\"x1\"}", (long long)plain_shop), 422, "unprocessable",
            "shop_id");
    free(other);

    /* someone new: a member is made for them and signed in */
    int64_t users = count("SELECT COUNT(*) FROM users");
    oauth_code("code-1", "o-newcomer");
    assert_int_equal(wechat_signin(NULL, "code-1", &r), 201);
    int64_t uid = jint(r.json, "user.id");
    assert_string_equal(jstr(r.json, "user.display_name"), "微信用户");
    char *token = strdup(jstr(r.json, "token"));
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM users"), users + 1);
    assert_int_equal(http(&S, "GET", "/api/v1/me", token, NULL, &r), 200);
    assert_int_equal(jint(r.json, "id"), uid);
    resp_free(&r);
    /* a code works once */
    refused(&S, "POST", "/api/v1/auth/wechat", NULL,
            fmt("{\"shop_id\":%lld,\"code\":\"code-1\"}", (long long)shop), 401, "bad_credentials",
            "code");
    /* the same WeChat again: the same member */
    oauth_code("code-2", "o-newcomer");
    assert_int_equal(wechat_signin(NULL, "code-2", &r), 200);
    assert_int_equal(jint(r.json, "user.id"), uid);
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM users"), users + 1);
    /* no password opens such an account */
    assert_int_equal(count(fmt("SELECT COUNT(*) FROM users WHERE id = %lld AND password_hash ="
                               " '!wechat'",
                               (long long)uid)),
                     1);
    /* a member who is logged in links their WeChat; another member's WeChat is refused */
    oauth_code("code-3", "o-wangfang");
    assert_int_equal(wechat_signin(buyer, "code-3", &r), 200);
    assert_true(json_is_true(jget(r.json, "linked")));
    resp_free(&r);
    assert_int_equal(count("SELECT COUNT(*) FROM wechat_identities WHERE openid = 'o-wangfang'"),
                     1);
    oauth_code("code-4", "o-newcomer");
    refused(&S, "POST", "/api/v1/auth/wechat", buyer,
            fmt("{\"shop_id\":%lld,\"code\":\"code-4\"}", (long long)shop), 409, "conflict",
            "code");
    free(token);
}

/* A REFUND.SUCCESS notification as WeChat Pay sends it. */
static const char *refund_notice(const char *out_refund_no, int64_t refund, int64_t total)
{
    char *plain = arena_printf(
        &A,
        "{\"mchid\":\"1900000001\",\"out_trade_no\":\"QZ1\",\"transaction_id\":\"4200000001\","
        "\"out_refund_no\":\"%s\",\"refund_id\":\"50300000001\",\"refund_status\":\"SUCCESS\","
        "\"success_time\":\"2026-12-06T10:34:56+08:00\",\"user_received_account\":\"支付用户零钱\","
        "\"amount\":{\"total\":%lld,\"refund\":%lld,\"payer_total\":%lld,\"payer_refund\":%lld}}",
        out_refund_no, (long long)total, (long long)refund, (long long)total, (long long)refund);
    char *ct = wxp_encrypt(&A, apiv3, "refund", "0123456789ab", plain, strlen(plain));
    return arena_printf(&A,
                        "{\"id\":\"EV-R\",\"create_time\":\"2026-12-06T10:34:56+08:00\","
                        "\"resource_type\":\"encrypt-resource\",\"event_type\":\"REFUND.SUCCESS\","
                        "\"summary\":\"退款成功\",\"resource\":{\"original_type\":\"refund\","
                        "\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"%s\","
                        "\"associated_data\":\"refund\",\"nonce\":\"0123456789ab\"}}",
                        ct);
}

static void a_refund_notice_before_its_payment_changes_nothing(void **state)
{
    (void)state;
    int64_t id = order();
    struct resp r;
    /* news of a refund quanzi never asked for arrives before the payment's: nothing happens */
    const char *refund = refund_notice("QZR987654", 12800, 12800);
    assert_int_equal(notify(refund, notice_headers(refund, 0, ""), &r), 200);
    resp_free(&r);
    assert_string_equal(status_of(id), "created");
    assert_int_equal(count("SELECT COUNT(*) FROM ledger_txns WHERE kind = 'refund'"
                           " AND ref_id = 987654"),
                     0);
    /* then the payment's: applied as any */
    const char *body = transaction(id, "4200000001202612069999999999", 12800, "CNY", "1900000001");
    assert_int_equal(notify(body, notice_headers(body, 0, ""), &r), 200);
    resp_free(&r);
    assert_string_equal(status_of(id), "paid");
    assert_int_equal(refunded_fen(id), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_name_keys_that_are_there),
        cmocka_unit_test(a_payment_is_applied_once),
        cmocka_unit_test(a_fresh_order_paid_by_ten_at_once),
        cmocka_unit_test(unbelieved_notifications_change_nothing),
        cmocka_unit_test(anomalies_are_listed_once),
        cmocka_unit_test(h5_payment_end_to_end),
        cmocka_unit_test(jsapi_needs_and_uses_the_openid),
        cmocka_unit_test(a_lost_notification_is_found_by_reconciliation),
        cmocka_unit_test(a_misbehaving_wechat_pay_changes_nothing),
        cmocka_unit_test(refunds_go_back_through_wechat_pay),
        cmocka_unit_test(a_refund_wechat_pay_cannot_take_now_is_sent_later),
        cmocka_unit_test(a_refund_wechat_pay_gives_up_on_is_listed),
        cmocka_unit_test(a_refund_notice_before_its_payment_changes_nothing),
        cmocka_unit_test(sign_in_with_wechat),
        cmocka_unit_test(payouts_by_merchant_transfer), /* moves the clock 8 days: last */
    };
    int rc = cmocka_run_group_tests(tests, up, down);
    curl_global_cleanup();
    return rc;
}
