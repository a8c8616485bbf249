#include "pay/wechatpay.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include <jansson.h>

#include "util/arena.h"

struct wxp_key {
    EVP_PKEY *pkey;
};

static struct wxp_key *key_from(const char *pem, size_t len, bool private_key)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return NULL;
    EVP_PKEY *k = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                              : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return NULL;
    }
    struct wxp_key *out = xcalloc(1, sizeof *out);
    out->pkey = k;
    return out;
}

struct wxp_key *wxp_key_private(const char *pem, size_t len)
{
    return key_from(pem, len, true);
}

struct wxp_key *wxp_key_public(const char *pem, size_t len)
{
    return key_from(pem, len, false);
}

void wxp_key_free(struct wxp_key *k)
{
    if (k) {
        EVP_PKEY_free(k->pkey);
        free(k);
    }
}

char *wxp_message(struct arena *a, const char *method, const char *path, const char *timestamp,
                  const char *nonce, const char *body, size_t body_len)
{
    if (method)
        return arena_printf(a, "%s\n%s\n%s\n%s\n%.*s\n", method, path, timestamp, nonce,
                            (int)body_len, body);
    return arena_printf(a, "%s\n%s\n%.*s\n", timestamp, nonce, (int)body_len, body);
}

/* base64 without line breaks, in `a` */
static char *b64(struct arena *a, const unsigned char *in, size_t n)
{
    char *out = arena_alloc(a, 4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

/* decoded base64 in `a` (exact length, padding accounted for); NULL when it is not base64 */
static unsigned char *unb64(struct arena *a, const char *in, size_t *n)
{
    size_t len = strlen(in);
    if (len == 0 || len % 4 != 0 || len > (1u << 24))
        return NULL;
    unsigned char *out = arena_alloc(a, len / 4 * 3 + 1);
    if (!out)
        return NULL;
    int got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (got < 0)
        return NULL;
    size_t pad = (in[len - 1] == '=') + (in[len - 2] == '=');
    *n = (size_t)got - pad;
    return out;
}

char *wxp_sign(struct arena *a, const struct wxp_key *k, const char *msg, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t sig_len = sizeof sig;
    bool ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
              EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? b64(a, sig, sig_len) : NULL;
}

bool wxp_verify(const struct wxp_key *k, const char *msg, size_t len, const char *sig_b64)
{
    struct arena a;
    arena_init(&a, 4096);
    size_t n = 0;
    unsigned char *sig = sig_b64 ? unb64(&a, sig_b64, &n) : NULL;
    EVP_MD_CTX *ctx = sig ? EVP_MD_CTX_new() : NULL;
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
              EVP_DigestVerify(ctx, sig, n, (const unsigned char *)msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    arena_release(&a);
    return ok;
}

char *wxp_authorization(struct arena *a, const struct wxp_key *k, const char *mchid,
                        const char *serial_no, const char *method, const char *path,
                        const char *timestamp, const char *nonce, const char *body, size_t body_len)
{
    char *msg = wxp_message(a, method, path, timestamp, nonce, body, body_len);
    char *sig = msg ? wxp_sign(a, k, msg, strlen(msg)) : NULL;
    if (!sig)
        return NULL;
    return arena_printf(a,
                        "WECHATPAY2-SHA256-RSA2048 mchid=\"%s\",nonce_str=\"%s\",signature=\"%s\","
                        "timestamp=\"%s\",serial_no=\"%s\"",
                        mchid, nonce, sig, timestamp, serial_no);
}

char *wxp_pay_sign(struct arena *a, const struct wxp_key *k, const char *appid,
                   const char *timestamp, const char *nonce, const char *package)
{
    char *msg = arena_printf(a, "%s\n%s\n%s\n%s\n", appid, timestamp, nonce, package);
    return msg ? wxp_sign(a, k, msg, strlen(msg)) : NULL;
}

#define GCM_TAG 16

/* AES-256-GCM one way or the other; false when the tag does not match */
static bool gcm(bool enc, const unsigned char key[WXP_APIV3_KEY_BYTES], const char *aad,
                const char *nonce, const unsigned char *in, size_t n, unsigned char *out,
                unsigned char tag[GCM_TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    size_t nonce_len = strlen(nonce);
    bool ok = c && nonce_len > 0 && nonce_len <= 64 &&
              EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)nonce_len, NULL) == 1 &&
              EVP_CipherInit_ex(c, NULL, NULL, key, (const unsigned char *)nonce, enc) == 1 &&
              EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
              EVP_CipherUpdate(c, out, &len, in, (int)n) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + len, &len) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

enum err wxp_decrypt(struct arena *a, const unsigned char key[WXP_APIV3_KEY_BYTES],
                     const char *associated_data, const char *nonce, const char *ciphertext,
                     char **out, size_t *out_len)
{
    size_t n = 0;
    unsigned char *raw = unb64(a, ciphertext, &n);
    if (!raw || n < GCM_TAG)
        return ERR_INVALID;
    size_t body = n - GCM_TAG;
    char *plain = arena_alloc(a, body + 1);
    if (!plain)
        return ERR_TOO_LARGE;
    if (!gcm(false, key, associated_data, nonce, raw, body, (unsigned char *)plain, raw + body))
        return ERR_INVALID;
    plain[body] = '\0';
    *out = plain;
    *out_len = body;
    return ERR_OK;
}

char *wxp_encrypt(struct arena *a, const unsigned char key[WXP_APIV3_KEY_BYTES],
                  const char *associated_data, const char *nonce, const char *plain,
                  size_t plain_len)
{
    unsigned char *buf = arena_alloc(a, plain_len + GCM_TAG);
    if (!buf || !gcm(true, key, associated_data, nonce, (const unsigned char *)plain, plain_len,
                     buf, buf + plain_len))
        return NULL;
    return b64(a, buf, plain_len + GCM_TAG);
}

/* a string member, copied into `a`; "" when absent or not a string */
static const char *member(struct arena *a, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return arena_strdup(a, s ? s : "");
}

enum err wxp_transaction_parse(struct arena *a, const char *text, size_t len,
                               struct wxp_transaction *out)
{
    json_error_t je;
    json_t *t = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(t)) {
        json_decref(t);
        return ERR_INVALID;
    }
    json_t *amount = json_object_get(t, "amount");
    json_t *total = json_object_get(amount, "total");
    out->mchid = member(a, t, "mchid");
    out->appid = member(a, t, "appid");
    out->out_trade_no = member(a, t, "out_trade_no");
    out->transaction_id = member(a, t, "transaction_id");
    out->trade_state = member(a, t, "trade_state");
    out->currency = member(a, amount, "currency");
    out->total = json_is_integer(total) && json_integer_value(total) >= 0
                     ? (int64_t)json_integer_value(total)
                     : -1;
    json_decref(t);
    bool ok = out->mchid && out->appid && out->out_trade_no && out->transaction_id &&
              out->trade_state && out->currency;
    return ok ? ERR_OK : ERR_TOO_LARGE;
}

static int64_t amount_of(json_t *amount, const char *key)
{
    json_t *v = json_object_get(amount, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : -1;
}

enum err wxp_refund_parse(struct arena *a, const char *text, size_t len, struct wxp_refund *out)
{
    json_error_t je;
    json_t *t = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(t)) {
        json_decref(t);
        return ERR_INVALID;
    }
    json_t *amount = json_object_get(t, "amount");
    out->mchid = member(a, t, "mchid");
    out->out_refund_no = member(a, t, "out_refund_no");
    out->refund_id = member(a, t, "refund_id");
    out->status = member(a, t, json_object_get(t, "refund_status") ? "refund_status" : "status");
    out->refund = amount_of(amount, "refund");
    out->total = amount_of(amount, "total");
    json_decref(t);
    return out->mchid && out->out_refund_no && out->refund_id && out->status ? ERR_OK
                                                                             : ERR_TOO_LARGE;
}

enum err wxp_transfer_parse(struct arena *a, const char *text, size_t len, struct wxp_transfer *out)
{
    json_error_t je;
    json_t *t = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(t)) {
        json_decref(t);
        return ERR_INVALID;
    }
    out->mchid = member(a, t, "mchid");
    out->out_bill_no = member(a, t, "out_bill_no");
    out->transfer_bill_no = member(a, t, "transfer_bill_no");
    out->state = member(a, t, "state");
    out->fail_reason = member(a, t, "fail_reason");
    out->amount = amount_of(t, "transfer_amount");
    json_decref(t);
    return out->mchid && out->out_bill_no && out->transfer_bill_no && out->state && out->fail_reason
               ? ERR_OK
               : ERR_TOO_LARGE;
}

const char *wxp_refusal_name(enum wxp_refusal r)
{
    static const char *const names[] = {
        "ok", "missing_header", "signtest", "stale", "bad_signature", "bad_body", "bad_ciphertext"};
    return (size_t)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

static const char *str_at(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

enum wxp_refusal wxp_open(struct arena *a, const struct wxp_notification *n,
                          const struct wxp_key *pub, const unsigned char key[WXP_APIV3_KEY_BYTES],
                          int64_t now_s, const char **event_type, char **resource,
                          size_t *resource_len)
{
    if (!n->serial || !n->signature || !n->timestamp || !n->nonce || !n->body)
        return WXP_MISSING_HEADER;
    /* a probe WeChat Pay sends to see that signatures are checked: never believed */
    if (strncmp(n->signature, WXP_SIGNTEST_PREFIX, strlen(WXP_SIGNTEST_PREFIX)) == 0)
        return WXP_SIGNTEST;
    /* seconds since the epoch: 1 to 12 digits (no sign), so that nothing below overflows */
    size_t digits = strspn(n->timestamp, "0123456789");
    if (digits == 0 || digits > 12 || n->timestamp[digits] || now_s < 0 || now_s > 999999999999)
        return WXP_STALE;
    long long ts = strtoll(n->timestamp, NULL, 10);
    if (ts < now_s - WXP_MAX_SKEW_S || ts > now_s + WXP_MAX_SKEW_S)
        return WXP_STALE;
    char *msg = wxp_message(a, NULL, NULL, n->timestamp, n->nonce, n->body, n->body_len);
    if (!msg || !wxp_verify(pub, msg, strlen(msg), n->signature))
        return WXP_BAD_SIGNATURE;
    /* only now is the body worth reading */
    json_error_t je;
    json_t *root = json_loadb(n->body, n->body_len, JSON_REJECT_DUPLICATES, &je);
    json_t *res = json_object_get(root, "resource");
    const char *type = str_at(root, "event_type");
    const char *alg = str_at(res, "algorithm");
    const char *ct = str_at(res, "ciphertext");
    const char *nonce = str_at(res, "nonce");
    const char *aad = str_at(res, "associated_data");
    enum wxp_refusal r = WXP_OK;
    if (!json_is_object(root) || !type || !ct || !nonce || !alg ||
        strcmp(alg, "AEAD_AES_256_GCM") != 0)
        r = WXP_BAD_BODY;
    else if (wxp_decrypt(a, key, aad ? aad : "", nonce, ct, resource, resource_len) != ERR_OK)
        r = WXP_BAD_CIPHERTEXT;
    else if (!(*event_type = arena_strdup(a, type)))
        r = WXP_BAD_BODY;
    json_decref(root);
    return r;
}
