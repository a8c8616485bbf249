/*
 * fuzz_wechatpay.c - what WeChat Pay's notifications bring, before and after they are
 * believed: the notification as it arrives (headers and body, checked with a key the
 * input cannot know), and a decrypted TRANSACTION resource as quanzi reads it.
 *
 * Invariants: no input is believed (a signature cannot be forged); a refusal is one of
 * the named ones; a resource read has every string (maybe empty) and a total that is
 * an amount or -1.
 *
 * Input: the first byte chooses; for a notification the rest is split at '\n' into
 * timestamp, nonce, signature and body.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "fuzz.h"
#include "pay/wechatpay.h"

static struct wxp_key *pub;

static struct wxp_key *a_public_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    struct wxp_key *out = wxp_key_public(pem, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[WXP_APIV3_KEY_BYTES] = "0123456789abcdef0123456789abcdef";
    if (!pub)
        pub = a_public_key();
    if (size < 1)
        return 0;
    struct arena a;
    arena_init(&a, 4 << 20);
    char *text = arena_alloc(&a, size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        struct wxp_transaction t;
        if (wxp_transaction_parse(&a, text, size - 1, &t) == ERR_OK) {
            FUZZ_CHECK(t.mchid && t.appid && t.out_trade_no && t.transaction_id && t.trade_state &&
                       t.currency);
            FUZZ_CHECK(t.total >= -1);
        }
    } else {
        const char *parts[4] = {"", "", "", ""};
        char *p = text;
        for (int i = 0; i < 3 && p; i++) {
            parts[i] = p;
            p = strchr(p, '\n');
            if (p)
                *p++ = '\0';
        }
        parts[3] = p ? p : "";
        struct wxp_notification n = {.serial = "PUB_KEY_ID_FUZZ",
                                     .timestamp = parts[0],
                                     .nonce = parts[1],
                                     .signature = parts[2],
                                     .body = parts[3],
                                     .body_len = strlen(parts[3])};
        const char *event = NULL;
        char *resource = NULL;
        size_t len = 0;
        long long now = strtoll(parts[0], NULL, 10); /* inside the window, so the rest is read */
        enum wxp_refusal r = wxp_open(&a, &n, pub, key, now, &event, &resource, &len);
        FUZZ_CHECK(r != WXP_OK);
        FUZZ_CHECK(strcmp(wxp_refusal_name(r), "unknown") != 0);
    }
    arena_release(&a);
    return 0;
}
