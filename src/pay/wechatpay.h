/*
 * wechatpay.h - the WeChat Pay API v3 protocol, without the network: the message
 * that is signed, signing it with the merchant's key (SHA256 with RSA, PKCS #1
 * v1.5, base64), verifying WeChat Pay's signature on an answer or a notification,
 * opening a notification's resource (AEAD_AES_256_GCM with the APIv3 key), the
 * Authorization header and the JSAPI paySign.
 *
 * Nothing here believes a notification that it did not verify first: open() checks
 * the signature, refuses WECHATPAY/SIGNTEST/ probes and timestamps more than five
 * minutes off, and only then decrypts.
 */
#ifndef QUANZI_PAY_WECHATPAY_H
#define QUANZI_PAY_WECHATPAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

#define WXP_APIV3_KEY_BYTES 32
#define WXP_MAX_SKEW_S 300 /* a notification's timestamp at most this far from now */
#define WXP_SIGNTEST_PREFIX "WECHATPAY/SIGNTEST/"

struct wxp_key; /* an RSA key, private (ours) or public (WeChat Pay's) */

/* A key from PEM text (a file's content); NULL when it is not one. */
struct wxp_key *wxp_key_private(const char *pem, size_t len);
struct wxp_key *wxp_key_public(const char *pem, size_t len);
void wxp_key_free(struct wxp_key *k);

/* "METHOD\nPATH\nTIMESTAMP\nNONCE\nBODY\n" (an answer or a notification: the first two
 * lines are left out when method is NULL). In `a`; NULL when it runs out. */
char *wxp_message(struct arena *a, const char *method, const char *path, const char *timestamp,
                  const char *nonce, const char *body, size_t body_len);

/* The base64 signature of `msg` with a private key, in `a`; NULL on failure. */
char *wxp_sign(struct arena *a, const struct wxp_key *k, const char *msg, size_t len);
/* Whether sig_b64 is the public key's signature of `msg`. */
bool wxp_verify(const struct wxp_key *k, const char *msg, size_t len, const char *sig_b64);

/* The Authorization header's value for one request. */
char *wxp_authorization(struct arena *a, const struct wxp_key *k, const char *mchid,
                        const char *serial_no, const char *method, const char *path,
                        const char *timestamp, const char *nonce, const char *body,
                        size_t body_len);

/* JSAPI's paySign: the signature of "appId\ntimeStamp\nnonceStr\npackage\n". */
char *wxp_pay_sign(struct arena *a, const struct wxp_key *k, const char *appid,
                   const char *timestamp, const char *nonce, const char *package);

/* AEAD_AES_256_GCM: the plaintext of base64 `ciphertext` (its last 16 bytes the tag),
 * NUL-terminated in `a`; ERR_INVALID when the tag or the encoding is wrong. */
MUST_CHECK enum err wxp_decrypt(struct arena *a, const unsigned char key[WXP_APIV3_KEY_BYTES],
                                const char *associated_data, const char *nonce,
                                const char *ciphertext, char **out, size_t *out_len);
/* The opposite, for the tests' stand-in: base64 of ciphertext and tag. */
char *wxp_encrypt(struct arena *a, const unsigned char key[WXP_APIV3_KEY_BYTES],
                  const char *associated_data, const char *nonce, const char *plain,
                  size_t plain_len);

/* A notification as it arrived: the four Wechatpay-* headers and the body. */
struct wxp_notification {
    const char *serial, *signature, *timestamp, *nonce;
    const char *body;
    size_t body_len;
};

/* Why a notification was not believed (for the log and the answer; never the content). */
enum wxp_refusal {
    WXP_OK,
    WXP_MISSING_HEADER,
    WXP_SIGNTEST,
    WXP_STALE,
    WXP_BAD_SIGNATURE,
    WXP_BAD_BODY,
    WXP_BAD_CIPHERTEXT,
};
const char *wxp_refusal_name(enum wxp_refusal r);

/*
 * Verifies a notification with WeChat Pay's public key `pub` and opens its resource with
 * the APIv3 key: the event type (TRANSACTION.SUCCESS, REFUND.SUCCESS, ...) and the
 * decrypted resource as text, in `a`. now_s: the clock, for the five-minute window.
 */
enum wxp_refusal wxp_open(struct arena *a, const struct wxp_notification *n,
                          const struct wxp_key *pub, const unsigned char key[WXP_APIV3_KEY_BYTES],
                          int64_t now_s, const char **event_type, char **resource,
                          size_t *resource_len);

/* A decrypted TRANSACTION resource: what quanzi reads of it. Strings it lacks are "";
 * total is -1 unless it is an integer. ERR_INVALID when it is not a JSON object. */
struct wxp_transaction {
    const char *mchid, *appid, *out_trade_no, *transaction_id, *trade_state, *currency;
    int64_t total;
};
MUST_CHECK enum err wxp_transaction_parse(struct arena *a, const char *text, size_t len,
                                          struct wxp_transaction *out);

/* A refund as WeChat Pay describes it: a decrypted REFUND resource (refund_status) or the
 * answer of a refund call or query (status). Same rules as above. */
struct wxp_refund {
    const char *mchid, *out_refund_no, *refund_id, *status;
    int64_t refund, total;
};
MUST_CHECK enum err wxp_refund_parse(struct arena *a, const char *text, size_t len,
                                     struct wxp_refund *out);

/* A merchant transfer (商家转账) as WeChat Pay describes it: a decrypted
 * MCHTRANSFER.BILL.FINISHED resource, or the answer of a transfer call or query. */
struct wxp_transfer {
    const char *mchid, *out_bill_no, *transfer_bill_no, *state, *fail_reason;
    int64_t amount; /* transfer_amount, or -1 */
};
MUST_CHECK enum err wxp_transfer_parse(struct arena *a, const char *text, size_t len,
                                       struct wxp_transfer *out);

#endif
