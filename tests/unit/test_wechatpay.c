/*
 * The WeChat Pay API v3 protocol (src/pay/wechatpay.c) without the network:
 * known-answer vectors for signing and for decryption, verification, and a
 * notification refused for every single-bit flip of its timestamp, nonce, body,
 * signature or GCM tag, for a SIGNTEST probe and for a timestamp out of the window.
 * Keys: tests/fixtures/wechatpay (made for these tests only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "pay/wechatpay.h"

static struct arena A;
static struct wxp_key *merchant, *merchant_pub, *platform, *platform_pub;
static unsigned char apiv3[WXP_APIV3_KEY_BYTES];

static char *fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/wechatpay/%s", QUANZI_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4][8192];
    static int next;
    char *b = buf[next++ % 4];
    *len = fread(b, 1, sizeof buf[0] - 1, f);
    b[*len] = '\0';
    fclose(f);
    return b;
}

static int up(void **state)
{
    (void)state;
    arena_init(&A, 64 << 20);
    size_t n;
    const char *pem = fixture("merchant_key.pem", &n);
    merchant = wxp_key_private(pem, n);
    pem = fixture("merchant_pub.pem", &n);
    merchant_pub = wxp_key_public(pem, n);
    pem = fixture("platform_key.pem", &n);
    platform = wxp_key_private(pem, n);
    pem = fixture("platform_pub.pem", &n);
    platform_pub = wxp_key_public(pem, n);
    const char *k = fixture("apiv3_key.txt", &n);
    if (n != WXP_APIV3_KEY_BYTES || !merchant || !merchant_pub || !platform || !platform_pub)
        return -1;
    memcpy(apiv3, k, n);
    return 0;
}

static int down(void **state)
{
    (void)state;
    wxp_key_free(merchant);
    wxp_key_free(merchant_pub);
    wxp_key_free(platform);
    wxp_key_free(platform_pub);
    arena_release(&A);
    return 0;
}

/* The documents' example request, signed with the test merchant key (openssl dgst -sha256
 * -sign merchant_key.pem | base64): PKCS #1 v1.5 signatures are deterministic. */
static const char KAT_SIGNATURE[] =
    "l0VakvX3NSbEs1BGHBUZLNEkki33bMJr8nBBSKWVyHqDwo5369rJYdq/BBxcx3Ms87KW7edEp3pLPbkbBL8sZ01geI9"
    "ge5Kit7vudibBzOJky6vdn/W2mYDdaMVAKlDbhZi0DElotdlNtI4oOx5qF2VAMsfFzKSwHWCCa0L1rQLeDWR5TisEY9Wj"
    "/61V+AGHAU9p95w8y0ZBhb6Dc/MpM166sc5C8/2RGDfZXCTLyWH9CFVPMHpxDIhVh2nw2InygDQjKnvXWeJw5ceCedq4"
    "w1wlQpQmW4YCx0DIgldSvMBjSGYJzyCLfML50d9RSyZtJ8a8bjRi3rmTR0wbGz+OsQ==";

static void signing_known_answer(void **state)
{
    (void)state;
    char *msg = wxp_message(&A, "GET", "/v3/certificates", "1554208460",
                            "593BEC0C930BF1AFEB40B4A08C8FB242", "", 0);
    assert_string_equal(msg,
                        "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n");
    assert_string_equal(wxp_sign(&A, merchant, msg, strlen(msg)), KAT_SIGNATURE);
    assert_true(wxp_verify(merchant_pub, msg, strlen(msg), KAT_SIGNATURE));
    assert_false(wxp_verify(platform_pub, msg, strlen(msg), KAT_SIGNATURE)); /* another key */
    assert_false(wxp_verify(merchant_pub, msg, strlen(msg) - 1, KAT_SIGNATURE));
    assert_false(wxp_verify(merchant_pub, msg, strlen(msg), "not base64!"));
    assert_false(wxp_verify(merchant_pub, msg, strlen(msg), ""));

    char *auth = wxp_authorization(&A, merchant, "1900000001", "5157F09EFDC096DE15EBE81A47057A72",
                                   "GET", "/v3/certificates", "1554208460",
                                   "593BEC0C930BF1AFEB40B4A08C8FB242", "", 0);
    char want[1024];
    snprintf(
        want, sizeof want,
        "WECHATPAY2-SHA256-RSA2048 "
        "mchid=\"1900000001\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\","
        "signature=\"%s\",timestamp=\"1554208460\",serial_no=\"5157F09EFDC096DE15EBE81A47057A72\"",
        KAT_SIGNATURE);
    assert_string_equal(auth, want);

    /* JSAPI's paySign: appId, timeStamp, nonceStr, package, each line ended */
    char *ps =
        wxp_pay_sign(&A, merchant, "wx8888888888888888", "1414561699", "5K8264ILTKCH16CQ2502",
                     "prepay_id=wx201410272009395522657a690389285100");
    const char *m = "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502\n"
                    "prepay_id=wx201410272009395522657a690389285100\n";
    assert_true(wxp_verify(merchant_pub, m, strlen(m), ps));
    /* keys that are not RSA keys in PEM */
    assert_null(
        wxp_key_private("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 60));
    assert_null(wxp_key_public("hello", 5));
}

/* AES-256-GCM under the test APIv3 key (made with Node's crypto): nonce "fdasflkja484",
 * associated data "transaction". */
static const char KAT_CIPHERTEXT[] =
    "sG8+j7XbTfqoee71xyQJBTAWknoizZireW+bVhkHQmifmg0GACGEkK2tUvkqiUbY9Kq5aAhN8M1iq6oKyC8h";

static void decryption_known_answer(void **state)
{
    (void)state;
    char *plain = NULL;
    size_t n = 0;
    assert_int_equal(
        wxp_decrypt(&A, apiv3, "transaction", "fdasflkja484", KAT_CIPHERTEXT, &plain, &n), ERR_OK);
    assert_string_equal(plain, "{\"out_trade_no\":\"qz1\",\"amount\":{\"total\":12800}}");
    assert_int_equal(n, strlen(plain));
    /* the associated data and the nonce are part of it */
    assert_int_equal(wxp_decrypt(&A, apiv3, "refund", "fdasflkja484", KAT_CIPHERTEXT, &plain, &n),
                     ERR_INVALID);
    assert_int_equal(
        wxp_decrypt(&A, apiv3, "transaction", "fdasflkja485", KAT_CIPHERTEXT, &plain, &n),
        ERR_INVALID);
    assert_int_equal(wxp_decrypt(&A, apiv3, "transaction", "fdasflkja484", "AAAA", &plain, &n),
                     ERR_INVALID);
    assert_int_equal(wxp_decrypt(&A, apiv3, "transaction", "fdasflkja484", "%%%%", &plain, &n),
                     ERR_INVALID);
    /* and our own encryption is the same cipher */
    const char *text = "{\"refund_status\":\"SUCCESS\"}";
    char *ct = wxp_encrypt(&A, apiv3, "refund", "0123456789ab", text, strlen(text));
    assert_int_equal(wxp_decrypt(&A, apiv3, "refund", "0123456789ab", ct, &plain, &n), ERR_OK);
    assert_string_equal(plain, text);
}

#define NOW 1765000000LL

/* A notification as WeChat Pay sends it: the resource encrypted, the whole signed. */
static struct wxp_notification notification(const char *timestamp, const char *resource_ct)
{
    struct wxp_notification n = {.serial = "PUB_KEY_ID_0114232134912410000000000000",
                                 .timestamp = timestamp,
                                 .nonce = "fdasfwe4r5t2g34t"};
    n.body = arena_printf(
        &A,
        "{\"id\":\"EV-2018022511223320873\",\"create_time\":\"2015-05-20T13:29:35+08:00\","
        "\"resource_type\":\"encrypt-resource\",\"event_type\":\"TRANSACTION.SUCCESS\","
        "\"summary\":\"支付成功\",\"resource\":{\"original_type\":\"transaction\","
        "\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"%s\","
        "\"associated_data\":\"transaction\",\"nonce\":\"fdasflkja484\"}}",
        resource_ct);
    n.body_len = strlen(n.body);
    char *msg = wxp_message(&A, NULL, NULL, n.timestamp, n.nonce, n.body, n.body_len);
    n.signature = wxp_sign(&A, platform, msg, strlen(msg));
    return n;
}

static enum wxp_refusal open_it(const struct wxp_notification *n)
{
    const char *type = NULL;
    char *res = NULL;
    size_t len = 0;
    return wxp_open(&A, n, platform_pub, apiv3, NOW, &type, &res, &len);
}

static void notification_opens(void **state)
{
    (void)state;
    struct wxp_notification n = notification("1765000000", KAT_CIPHERTEXT);
    const char *type = NULL;
    char *res = NULL;
    size_t len = 0;
    assert_int_equal(wxp_open(&A, &n, platform_pub, apiv3, NOW, &type, &res, &len), WXP_OK);
    assert_string_equal(type, "TRANSACTION.SUCCESS");
    assert_string_equal(res, "{\"out_trade_no\":\"qz1\",\"amount\":{\"total\":12800}}");
    /* the five-minute window, both ways */
    struct wxp_notification edge = notification("1764999700", KAT_CIPHERTEXT);
    assert_int_equal(open_it(&edge), WXP_OK);
    struct wxp_notification old = notification("1764999699", KAT_CIPHERTEXT);
    assert_int_equal(open_it(&old), WXP_STALE);
    struct wxp_notification ahead = notification("1765000301", KAT_CIPHERTEXT);
    assert_int_equal(open_it(&ahead), WXP_STALE);
    struct wxp_notification junk = notification("17650x0000", KAT_CIPHERTEXT);
    assert_int_equal(open_it(&junk), WXP_STALE);
    /* a probe: its signature is never believed */
    struct wxp_notification probe = n;
    probe.signature = arena_printf(&A, "%s%s", WXP_SIGNTEST_PREFIX, n.signature);
    assert_int_equal(open_it(&probe), WXP_SIGNTEST);
    /* a header missing */
    struct wxp_notification bare = n;
    bare.nonce = NULL;
    assert_int_equal(open_it(&bare), WXP_MISSING_HEADER);
    /* signed by someone else's key */
    struct wxp_notification forged = n;
    char *msg = wxp_message(&A, NULL, NULL, n.timestamp, n.nonce, n.body, n.body_len);
    forged.signature = wxp_sign(&A, merchant, msg, strlen(msg));
    assert_int_equal(open_it(&forged), WXP_BAD_SIGNATURE);
    /* a signed body that is not a notification, or whose resource is not ours */
    struct wxp_notification wrong = notification("1765000000", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(open_it(&wrong), WXP_BAD_CIPHERTEXT);
}

static char *flipped(const char *s, size_t bit)
{
    char *c = arena_strdup(&A, s);
    c[bit / 8] = (char)(c[bit / 8] ^ (1 << (bit % 8)));
    return c;
}

static void every_bit_flip_is_refused(void **state)
{
    (void)state;
    struct wxp_notification n = notification("1765000000", KAT_CIPHERTEXT);
    assert_int_equal(open_it(&n), WXP_OK);
    size_t tried = 0;
    for (size_t bit = 0; bit < 8 * strlen(n.timestamp); bit++, tried++) {
        struct wxp_notification m = n;
        m.timestamp = flipped(n.timestamp, bit);
        assert_int_not_equal(open_it(&m), WXP_OK);
    }
    for (size_t bit = 0; bit < 8 * strlen(n.nonce); bit++, tried++) {
        struct wxp_notification m = n;
        m.nonce = flipped(n.nonce, bit);
        assert_int_equal(open_it(&m), WXP_BAD_SIGNATURE);
    }
    for (size_t bit = 0; bit < 8 * n.body_len; bit++, tried++) {
        struct wxp_notification m = n;
        m.body = flipped(n.body, bit);
        assert_int_equal(open_it(&m), WXP_BAD_SIGNATURE);
    }
    /* the signature's own bits (decoded, flipped, encoded again) */
    unsigned char sig[512];
    int len = EVP_DecodeBlock(sig, (const unsigned char *)n.signature, (int)strlen(n.signature));
    assert_int_equal(len, 258); /* 256 bytes and the two of the "==" padding */
    for (size_t bit = 0; bit < 8 * 256; bit++, tried++) {
        sig[bit / 8] ^= (unsigned char)(1 << (bit % 8));
        char enc[512];
        EVP_EncodeBlock((unsigned char *)enc, sig, 256);
        sig[bit / 8] ^= (unsigned char)(1 << (bit % 8));
        struct wxp_notification m = n;
        m.signature = enc;
        assert_int_equal(open_it(&m), WXP_BAD_SIGNATURE);
    }
    /* the GCM tag's bits, in a notification signed again over the changed body: the
     * signature holds, the resource does not open */
    unsigned char ct[256];
    int ct_len =
        EVP_DecodeBlock(ct, (const unsigned char *)KAT_CIPHERTEXT, (int)strlen(KAT_CIPHERTEXT));
    assert_int_equal(ct_len, 63); /* no padding: 84 characters */
    for (size_t bit = 0; bit < 8 * 16; bit++, tried++) {
        size_t at = (size_t)ct_len - 16 + bit / 8;
        ct[at] ^= (unsigned char)(1 << (bit % 8));
        char enc[512];
        EVP_EncodeBlock((unsigned char *)enc, ct, ct_len);
        ct[at] ^= (unsigned char)(1 << (bit % 8));
        struct wxp_notification m = notification("1765000000", enc);
        assert_int_equal(open_it(&m), WXP_BAD_CIPHERTEXT);
    }
    assert_true(tried > 4000);
    arena_release(&A);
    arena_init(&A, 64 << 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signing_known_answer),
        cmocka_unit_test(decryption_known_answer),
        cmocka_unit_test(notification_opens),
        cmocka_unit_test(every_bit_flip_is_refused),
    };
    return cmocka_run_group_tests(tests, up, down);
}
