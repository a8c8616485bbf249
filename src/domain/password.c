#include "domain/password.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sodium.h>
#include <string.h>

#include "util/assert.h"

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer");

static unsigned long long cost_ops = 2;
static size_t cost_mem = 19 * 1024 * 1024;
static sem_t slots;
static bool slots_ready;
static _Atomic int waiting; /* hashes waiting for a slot */
static int waiting_max = 1; /* PASSWORD_QUEUE_PER_SLOT per slot */
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
    waiting_max = PASSWORD_QUEUE_PER_SLOT * (concurrency > 0 ? concurrency : 1);
    slots_ready = true;
}

void password_release(void)
{
    if (slots_ready)
        sem_destroy(&slots);
    slots_ready = false;
}

/* A slot at once, or after a wait when few others wait; false when the queue is full. */
static bool slot_take(void)
{
    if (sem_trywait(&slots) == 0)
        return true;
    if (atomic_fetch_add(&waiting, 1) >= waiting_max) {
        atomic_fetch_sub(&waiting, 1);
        return false;
    }
    while (sem_wait(&slots) != 0) {
    }
    atomic_fetch_sub(&waiting, 1);
    return true;
}

enum err password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX])
{
    ASSERT(slots_ready);
    if (!slot_take())
        return ERR_RETRY;
    int rc =
        crypto_pwhash_str_alg(out, password, len, cost_ops, cost_mem, crypto_pwhash_ALG_ARGON2ID13);
    sem_post(&slots);
    return rc == 0 ? ERR_OK : ERR_INTERNAL;
}

enum err password_verify(const char *hash, const char *password, size_t len, bool *ok)
{
    ASSERT(slots_ready);
    *ok = false;
    if (!slot_take())
        return ERR_RETRY;
    *ok = crypto_pwhash_str_verify(hash, password, len) == 0;
    sem_post(&slots);
    return ERR_OK;
}

static void make_dummy(void)
{
    char pw[16];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str_alg(dummy_hash, pw, sizeof pw, cost_ops, cost_mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy_hash[0] = '\0';
}

enum err password_verify_dummy(const char *password, size_t len)
{
    pthread_once(&dummy_once, make_dummy);
    bool ok = false;
    return dummy_hash[0] ? password_verify(dummy_hash, password, len, &ok) : ERR_OK;
}
