#include "domain/password.h"

#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <string.h>

#include "util/assert.h"

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer");

static unsigned long long cost_ops = 2;
static size_t cost_mem = 19 * 1024 * 1024;
static sem_t slots;
static bool slots_ready;
static char dummy_hash[PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

void password_init(int64_t ops, int64_t memory_kib, int concurrency)
{
    ASSERT(sodium_init() >= 0);
    cost_ops = (unsigned long long)ops;
    cost_mem = (size_t)memory_kib * 1024;
    if (slots_ready)
        sem_destroy(&slots);
    ASSERT(sem_init(&slots, 0, (unsigned)(concurrency > 0 ? concurrency : 1)) == 0);
    slots_ready = true;
}

void password_release(void)
{
    if (slots_ready)
        sem_destroy(&slots);
    slots_ready = false;
}

static void slot_take(void)
{
    while (sem_wait(&slots) != 0) {
    }
}

enum err password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX])
{
    ASSERT(slots_ready);
    slot_take();
    int rc =
        crypto_pwhash_str_alg(out, password, len, cost_ops, cost_mem, crypto_pwhash_ALG_ARGON2ID13);
    sem_post(&slots);
    return rc == 0 ? ERR_OK : ERR_INTERNAL;
}

bool password_verify(const char *hash, const char *password, size_t len)
{
    ASSERT(slots_ready);
    slot_take();
    int rc = crypto_pwhash_str_verify(hash, password, len);
    sem_post(&slots);
    return rc == 0;
}

static void make_dummy(void)
{
    char pw[16];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str_alg(dummy_hash, pw, sizeof pw, cost_ops, cost_mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy_hash[0] = '\0';
}

void password_verify_dummy(const char *password, size_t len)
{
    pthread_once(&dummy_once, make_dummy);
    if (dummy_hash[0])
        (void)password_verify(dummy_hash, password, len);
}
