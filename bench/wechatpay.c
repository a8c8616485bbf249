/*
 * bench_wechatpay - the CPU that WeChat Pay's cryptography costs quanzi, per operation:
 * opening a notification (RSA-2048 signature check, then AES-256-GCM), signing a request
 * (RSA-2048 private key), checking an answer. Keys made here; nothing leaves the process.
 *
 *   build/release/bench_wechatpay [N]        (sh bench/wechatpay.sh; make bench runs it)
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pay/wechatpay.h"
#include "util/clock.h"

static struct wxp_key *key_of(EVP_PKEY *k, bool private_key)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (private_key)
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(b, k);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    struct wxp_key *out =
        private_key ? wxp_key_private(pem, (size_t)n) : wxp_key_public(pem, (size_t)n);
    BIO_free(b);
    return out;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    struct wxp_key *priv = key_of(k, true), *pub = key_of(k, false);
    static const unsigned char apiv3[WXP_APIV3_KEY_BYTES] = "0123456789abcdef0123456789abcdef";
    struct arena a;
    arena_init(&a, 64 << 20);
    const char *plain =
        "{\"mchid\":\"1900000001\",\"appid\":\"wx8888888888888888\",\"out_trade_no\":"
        "\"QZ1\",\"transaction_id\":\"4200000001\",\"trade_state\":\"SUCCESS\","
        "\"amount\":{\"total\":12800,\"currency\":\"CNY\"}}";
    char *ct = wxp_encrypt(&a, apiv3, "transaction", "fdasflkja484", plain, strlen(plain));
    char *body =
        arena_printf(&a,
                     "{\"id\":\"EV-1\",\"event_type\":\"TRANSACTION.SUCCESS\",\"resource\":"
                     "{\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"%s\","
                     "\"associated_data\":\"transaction\",\"nonce\":\"fdasflkja484\"}}",
                     ct);
    char *msg = wxp_message(&a, NULL, NULL, "1765000000", "nonce", body, strlen(body));
    struct wxp_notification note = {.serial = "K",
                                    .signature = wxp_sign(&a, priv, msg, strlen(msg)),
                                    .timestamp = "1765000000",
                                    .nonce = "nonce",
                                    .body = body,
                                    .body_len = strlen(body)};

    int64_t t0 = clock_mono_us();
    for (int i = 0; i < n; i++) {
        struct arena x;
        arena_init(&x, 1 << 20);
        const char *event;
        char *res;
        size_t len;
        if (wxp_open(&x, &note, pub, apiv3, 1765000000, &event, &res, &len) != WXP_OK)
            return 1;
        arena_release(&x);
    }
    int64_t t1 = clock_mono_us();
    for (int i = 0; i < n / 10; i++) {
        struct arena x;
        arena_init(&x, 1 << 20);
        if (!wxp_authorization(&x, priv, "1900000001", "SERIAL", "POST", "/v3/pay/transactions/h5",
                               "1765000000", "nonce", body, strlen(body)))
            return 1;
        arena_release(&x);
    }
    int64_t t2 = clock_mono_us();
    printf("%-44s %10.1f µs\n", "open a notification (verify + decrypt)", (double)(t1 - t0) / n);
    printf("%-44s %10.1f µs\n", "sign a request (Authorization)", (double)(t2 - t1) / (n / 10));
    arena_release(&a);
    wxp_key_free(priv);
    wxp_key_free(pub);
    EVP_PKEY_free(k);
    return 0;
}
