/* Unit tests for the pure rules of src/domain: logins, passwords, names,
 * slugs, shop settings (RULE: RATE-CAPS), tags, rate limits, tokens. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "domain/account.h"
#include "domain/password.h"
#include "domain/ratelimit.h"
#include "domain/shop.h"
#include "domain/similarity.h"
#include "domain/tags.h"
#include "domain/token.h"
#include "domain/trust.h"
#include "util/limits.h"

static enum err norm(const char *in, char *out)
{
    struct errinfo ei = {0};
    return account_normalize_login(in, strlen(in), out, &ei);
}

static void logins(void **state)
{
    (void)state;
    char out[LIMIT_LOGIN_BYTES + 1];
    assert_int_equal(norm("13912345678", out), ERR_OK);
    assert_string_equal(out, "13912345678");
    assert_int_equal(norm(" +86 139-1234-5678 ", out), ERR_OK);
    assert_string_equal(out, "13912345678");
    assert_int_equal(norm("+4915112345678", out), ERR_OK);
    assert_string_equal(out, "+4915112345678");
    assert_int_equal(norm("Mei.Li+shop@Example.TEST", out), ERR_OK);
    assert_string_equal(out, "mei.li+shop@example.test");
    assert_int_equal(norm("12912345678", out), ERR_INVALID); /* 12x is no mobile prefix */
    assert_int_equal(norm("1391234567", out), ERR_INVALID);
    assert_int_equal(norm("abc", out), ERR_INVALID);
    assert_int_equal(norm("a@b", out), ERR_INVALID);
    assert_int_equal(norm("a@@b.test", out), ERR_INVALID);
    assert_int_equal(norm("@b.test", out), ERR_INVALID);
    assert_int_equal(norm("@a@b.test", out), ERR_INVALID); /* found by tests/fuzz/fuzz_login */
    assert_int_equal(norm("a@b..test", out), ERR_INVALID);
    assert_int_equal(norm("a b@c.test", out), ERR_INVALID);
    assert_int_equal(norm("", out), ERR_INVALID);
    struct errinfo ei = {0};
    assert_int_equal(account_normalize_login("x", 1, out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "login");
}

static enum err pw(const char *p, const char *login)
{
    return account_check_password(p, strlen(p), login, NULL);
}

static void passwords(void **state)
{
    (void)state;
    assert_int_equal(pw("correct horse", NULL), ERR_OK);
    assert_int_equal(pw("核桃核桃核桃好吃", NULL), ERR_OK); /* 8 characters, 24 bytes */
    assert_int_equal(pw("short", NULL), ERR_WEAK_PASSWORD);
    assert_int_equal(pw("核桃核桃", NULL), ERR_WEAK_PASSWORD); /* 12 bytes but 4 characters */
    assert_int_equal(pw("aaaaaaaaaa", NULL), ERR_WEAK_PASSWORD);
    assert_int_equal(pw("12345678", NULL), ERR_WEAK_PASSWORD);
    assert_int_equal(pw("PassWord1", NULL), ERR_WEAK_PASSWORD);
    assert_int_equal(pw("woaini1314", NULL), ERR_WEAK_PASSWORD);
    assert_int_equal(pw("13912345678", "13912345678"), ERR_WEAK_PASSWORD);
    char big[LIMIT_PASSWORD_MAX_BYTES + 2];
    memset(big, 'x', sizeof big - 1);
    big[0] = 'y';
    big[sizeof big - 1] = '\0';
    assert_int_equal(pw(big, NULL), ERR_WEAK_PASSWORD);
    struct errinfo ei = {0};
    assert_int_equal(account_check_password("a", 1, NULL, &ei), ERR_WEAK_PASSWORD);
    assert_string_equal(ei.field, "password");
}

static void names(void **state)
{
    (void)state;
    assert_int_equal(account_check_name("周师傅", strlen("周师傅"), "display_name", 32, NULL),
                     ERR_OK);
    assert_int_equal(account_check_name("", 0, "display_name", 32, NULL), ERR_INVALID);
    assert_int_equal(account_check_name(" x", 2, "display_name", 32, NULL), ERR_INVALID);
    assert_int_equal(account_check_name("a\nb", 3, "display_name", 32, NULL), ERR_INVALID);
    char long_name[40];
    memset(long_name, 'n', 33);
    long_name[33] = '\0';
    assert_int_equal(account_check_name(long_name, 33, "display_name", 32, NULL), ERR_INVALID);
}

static void slugs(void **state)
{
    (void)state;
    struct errinfo ei = {0};
    assert_int_equal(shop_check_slug("shanli-walnut", 13, &ei), ERR_OK);
    assert_int_equal(shop_check_slug("ab", 2, &ei), ERR_INVALID);
    assert_int_equal(shop_check_slug("Upper", 5, &ei), ERR_INVALID);
    assert_int_equal(shop_check_slug("-abc", 4, &ei), ERR_INVALID);
    assert_int_equal(shop_check_slug("abc-", 4, &ei), ERR_INVALID);
    assert_int_equal(shop_check_slug("a--b", 4, &ei), ERR_INVALID);
    assert_int_equal(shop_check_slug("核桃店", strlen("核桃店"), &ei), ERR_INVALID);
    assert_string_equal(ei.field, "slug");
}

/* RULE: RATE-CAPS */
static void settings_rate_caps(void **state)
{
    (void)state;
    struct shop_settings s;
    struct errinfo ei = {0};
    shop_settings_default(&s);
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OK);
    s.l1_bps = 2000;
    s.l2_bps = 1000;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OK); /* exactly 30%, l2 = l1/2 */
    s.l2_bps = 1001;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE); /* sum > 3000 */
    assert_string_equal(ei.field, "l2_bps");
    s.l1_bps = 1000;
    s.l2_bps = 501;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE); /* l2 > l1/2 */
    s.l1_bps = 3001;
    s.l2_bps = 0;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE);
    assert_string_equal(ei.field, "l1_bps");
    shop_settings_default(&s);
    s.settle_days = 6;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE);
    assert_string_equal(ei.field, "settle_days");
    shop_settings_default(&s);
    s.binding_days = 0;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE);
    assert_string_equal(ei.field, "binding_days");
    shop_settings_default(&s);
    s.similarity_milli = 1001;
    assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE);
    assert_string_equal(ei.field, "similarity_min");
}

/* The settings table: bounds hold the defaults, names are unique, every value just
 * outside the bounds is refused naming the setting, and the README lists each one as the
 * table says (shop_setting_doc). */
static void settings_table_and_readme(void **state)
{
    (void)state;
    struct shop_settings s;
    struct errinfo ei = {0};
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/README.md", QUANZI_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char readme[256 * 1024];
    size_t n = fread(readme, 1, sizeof readme - 1, f);
    fclose(f);
    readme[n] = '\0';
    for (int i = 0; i < SHOP_SETTINGS_N; i++) {
        const struct shop_setting *t = &shop_setting_table[i];
        assert_true(t->min <= t->def && t->def <= t->max);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(shop_setting_table[j].json, t->json);
        int64_t outside[] = {t->min - 1, t->max + 1};
        for (int k = 0; k < 2; k++) {
            shop_settings_default(&s);
            *shop_setting_at(&s, i) = outside[k];
            ei.field = NULL;
            assert_int_equal(shop_check_settings(&s, &ei), ERR_OUT_OF_RANGE);
            assert_string_equal(ei.field, t->json);
        }
        shop_setting_doc(i, line, sizeof line);
        if (!strstr(readme, line))
            fail_msg("README.md does not list %s as the table says:\n%s", t->json, line);
    }
}

static void tags(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1 << 16);
    struct errinfo ei = {0};
    struct tag t[3] = {{" Running ", 500}, {"护肤", 900}, {"Knitting", 1000}};
    assert_int_equal(tags_validate(&a, t, 3, "tags", &ei), ERR_OK);
    assert_string_equal(t[0].name, "跑步");     /* English alias -> canonical name */
    assert_string_equal(t[2].name, "knitting"); /* outside the vocabulary: kept */
    struct tag alias[2] = {{"skincare", 500}, {"护肤", 400}};
    assert_int_equal(tags_validate(&a, alias, 2, "tags", &ei), ERR_INVALID); /* same tag */
    for (size_t i = 0; i < tags_vocab_len(); i++)
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(tags_vocab(i)->name, tags_vocab(j)->name);
            assert_string_not_equal(tags_vocab(i)->en, tags_vocab(j)->en);
        }
    struct tag dup[2] = {{"Tea", 500}, {"tea", 400}};
    assert_int_equal(tags_validate(&a, dup, 2, "tags", &ei), ERR_INVALID);
    struct tag zero[1] = {{"tea", 0}};
    assert_int_equal(tags_validate(&a, zero, 1, "tags", &ei), ERR_OUT_OF_RANGE);
    struct tag empty[1] = {{"  ", 10}};
    assert_int_equal(tags_validate(&a, empty, 1, "tags", &ei), ERR_INVALID);
    struct tag longer[1] = {{"abcdefghijklmnopqrstu", 10}}; /* 21 characters */
    assert_int_equal(tags_validate(&a, longer, 1, "tags", &ei), ERR_INVALID);
    arena_release(&a);
}

static void ratelimits(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(64, 1000, 3);
    int64_t retry = 0;
    for (int i = 0; i < 3; i++) {
        assert_false(ratelimit_blocked(rl, "k", 1, 100, &retry));
        ratelimit_hit(rl, "k", 1, 100);
    }
    assert_true(ratelimit_blocked(rl, "k", 1, 500, &retry));
    assert_int_equal(retry, 600);
    assert_false(ratelimit_blocked(rl, "other", 5, 500, &retry));
    assert_false(ratelimit_blocked(rl, "k", 1, 1100, &retry)); /* window over */
    ratelimit_hit(rl, "k", 1, 1100);
    ratelimit_clear(rl, "k", 1);
    assert_false(ratelimit_blocked(rl, "k", 1, 1101, &retry));
    ratelimit_free(rl);
    /* a flood of fresh keys never evicts a key that is being counted up; each limiter
     * has its own random hash key, so try many */
    for (int round = 0; round < 50; round++) {
        rl = ratelimit_new(64, 1000, 3);
        for (int i = 0; i < 3; i++)
            ratelimit_hit(rl, "hot", 3, 2000);
        char key[16];
        for (int i = 0; i < 1000; i++) {
            int n = snprintf(key, sizeof key, "k%d", i);
            ratelimit_hit(rl, key, (size_t)n, 2000);
        }
        assert_true(ratelimit_blocked(rl, "hot", 3, 2001, &retry));
        ratelimit_free(rl);
    }
}

/* RULE: SIMILARITY - the README's worked example, and the edges. */
static void similarity(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 64 * 1024);
    struct tag product_tags[] = {{"养生", 500}, {"茶", 1000}};
    struct ivec product = {product_tags, 2};
    sim_normalize(&product);
    struct tag declared[] = {{"茶", 800}, {"咖啡", 600}};
    struct tag learned[] = {{"养生", 300}, {"茶", 1}}; /* 1 / 2 rounds to nothing */
    struct ivec m = sim_member_vector(declared, 2, NULL, 0, &a);
    assert_int_equal(sim_cosine_milli(&m, &product), 715);
    m = sim_member_vector(declared, 2, learned, 2, &a);
    assert_int_equal(m.n, 3);
    assert_int_equal(sim_cosine_milli(&m, &product), 773);
    assert_int_equal(sim_cosine_milli(&product, &m), 773); /* symmetric */
    struct tag circle_tags[] = {{"茶", 1000}};
    struct ivec circle = {circle_tags, 1};
    assert_int_equal(sim_prior_milli(sim_cosine_milli(&circle, &product)), 715); /* 894 * 4/5 */
    assert_int_equal(sim_cosine_milli(&product, &product), 1000);
    struct ivec empty = {0};
    assert_int_equal(sim_cosine_milli(&empty, &product), 0);
    struct tag other[] = {{"咖啡", 1000}};
    struct ivec coffee = {other, 1};
    assert_int_equal(sim_cosine_milli(&coffee, &product), 0);
    /* duplicates merge; matched tags come by contribution */
    struct tag dup[] = {{"b", 100}, {"a", 200}, {"b", 300}};
    struct ivec d = {dup, 3};
    sim_normalize(&d);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.t[1].name, "b");
    assert_int_equal(d.t[1].weight_milli, 400);
    const char *matched[SIM_MATCHED_MAX];
    assert_int_equal(sim_matched(&m, &product, matched, SIM_MATCHED_MAX), 2);
    assert_string_equal(matched[0], "茶");
    assert_string_equal(matched[1], "养生");
    assert_int_equal(sim_matched(&m, &product, matched, 1), 1);
    assert_string_equal(matched[0], "茶");
    arena_release(&a);
}

/* RULE: TRUST-REACH - (good + 1) / (good + bad + 2), in thousandths. */
static void trust_scores(void **state)
{
    (void)state;
    assert_int_equal(trust_score_milli(0, 0), 500);
    assert_int_equal(trust_score_milli(0, 3), 200);
    assert_int_equal(trust_score_milli(1, 1), 500);
    assert_int_equal(trust_score_milli(8, 0), 900);
    assert_int_equal(trust_score_milli(0, 1), 333);
    assert_true(trust_kind_good(TRUST_SALE_KEPT) && trust_kind_good(TRUST_GOOD_FEEDBACK));
    assert_false(trust_kind_good(TRUST_MUTED) || trust_kind_good(TRUST_REFUND) ||
                 trust_kind_good(TRUST_REPORT_UPHELD) || trust_kind_good(TRUST_BAD_FEEDBACK));
}

static void tokens_and_hashes(void **state)
{
    (void)state;
    char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];
    token_new(a);
    token_new(b);
    assert_int_equal(strlen(a), TOKEN_LEN);
    assert_string_not_equal(a, b);
    char h[TOKEN_HASH_HEX];
    token_hash("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    password_init(1, 8, 1); /* smallest cost: this only checks the round trip */
    char hash[PASSWORD_HASH_MAX];
    assert_int_equal(password_hash("correct horse", 13, hash), ERR_OK);
    assert_non_null(strstr(hash, "$argon2id$"));
    bool ok = false;
    assert_int_equal(password_verify(hash, "correct horse", 13, &ok), ERR_OK);
    assert_true(ok);
    assert_int_equal(password_verify(hash, "correct horsf", 13, &ok), ERR_OK);
    assert_false(ok);
    password_release();
}

static pthread_barrier_t hash_start;
static void *hash_at_once(void *arg)
{
    char hash[PASSWORD_HASH_MAX];
    pthread_barrier_wait(&hash_start);
    *(enum err *)arg = password_hash("correct horse", 13, hash);
    return NULL;
}

/* Hashes are a bounded queue: one slot and one waiting, and the rest refused at once
 * (ERR_RETRY), so that a flood holds few of the server's workers. */
static void hash_queue_refuses_when_full(void **state)
{
    (void)state;
    password_init(3, 32 * 1024, 1); /* slow enough that four arrive while one runs */
    enum err got[4];
    pthread_t t[4];
    pthread_barrier_init(&hash_start, NULL, 4);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hash_at_once, &got[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&hash_start);
    int done = 0, refused = 0;
    for (int i = 0; i < 4; i++) {
        done += got[i] == ERR_OK;
        refused += got[i] == ERR_RETRY;
    }
    assert_int_equal(done + refused, 4);
    assert_true(done >= 1 && done <= 2); /* the one in the slot, and the one waiting */
    assert_true(refused >= 2);
    password_release();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logins),
        cmocka_unit_test(hash_queue_refuses_when_full),
        cmocka_unit_test(passwords),
        cmocka_unit_test(names),
        cmocka_unit_test(slugs),
        cmocka_unit_test(settings_rate_caps),
        cmocka_unit_test(settings_table_and_readme),
        cmocka_unit_test(tags),
        cmocka_unit_test(ratelimits),
        cmocka_unit_test(tokens_and_hashes),
        cmocka_unit_test(similarity),
        cmocka_unit_test(trust_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
