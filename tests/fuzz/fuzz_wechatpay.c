/*
 * fuzz_wechatpay.c - what WeChat Pay's notifications bring, before and after they are
 * believed: the notification as it arrives (headers and body, checked with a key the
 * input cannot know), and decrypted TRANSACTION, REFUND and MCHTRANSFER resources as quanzi
 * reads them.
 *
 * Invariants: no input is believed (a signature cannot be forged); a refusal is one of
 * the named ones; a resource read has every string (maybe empty) and a total that is
 * an amount or -1.
 *
 * Input: the first byte chooses (its low two bits: a notification, a transaction, a refund,
 * a transfer); for a notification the rest is split at '\n' into timestamp, nonce,
 * signature and body.
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
    struct wxp_transaction t;
    struct wxp_refund rf;
    struct wxp_transfer tr;
    switch (data[0] & 3) {
    case 1:
        if (wxp_transaction_parse(&a, text, size - 1, &t) == ERR_OK) {
            FUZZ_CHECK(t.mchid && t.appid && t.out_trade_no && t.transaction_id && t.trade_state &&
                       t.currency);
            FUZZ_CHECK(t.total >= -1);
        }
        break;
    case 2:
        if (wxp_refund_parse(&a, text, size - 1, &rf) == ERR_OK) {
            FUZZ_CHECK(rf.mchid && rf.out_refund_no && rf.refund_id && rf.status);
            FUZZ_CHECK(rf.refund >= -1 && rf.total >= -1);
        }
        break;
    case 3:
        if (wxp_transfer_parse(&a, text, size - 1, &tr) == ERR_OK) {
            FUZZ_CHECK(tr.mchid && tr.out_bill_no && tr.transfer_bill_no && tr.state &&
                       tr.fail_reason);
            FUZZ_CHECK(tr.amount >= -1);
        }
        break;
    default: {
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
    }
    arena_release(&a);
    return 0;
}
