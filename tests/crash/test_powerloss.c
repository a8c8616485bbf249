/*
 * The power-loss test. A server runs under tests/crash/powercut.so, which records every
 * write, truncation and sync of its database and log, and every sync of their folder,
 * while clients order and pay concurrently; it is killed with SIGKILL. From the database as
 * it was before that run and the records, the test rebuilds the files a power cut at the
 * kill could leave:
 *   - synced: only what a sync made durable;
 *   - torn (four, by seed): that, plus the writes after each file's last sync up to a random
 *     one, which is cut at a random 512-byte boundary;
 *   - folder: synced, but a file created since the last sync of the folder is missing
 *     (without that sync its name is not durable: issue 17 point 5).
 * Each image must hold every acknowledged order and payment and pass PRAGMA
 * integrity_check and `quanzi ledger check`. (SQLite only: PostgreSQL keeps its own files.)
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "harness.h"
#include "powercut.h"

#define THREADS 4
#define MAX_ACKS 20000

struct image {
    unsigned char *p;
    size_t len;
    bool exists;
};

struct file_state {
    struct image durable, current;
    const struct pc_rec **pending; /* since the last sync, in order */
    size_t n_pending, cap;
    bool name_durable; /* its name survives a power cut (not created since a folder sync) */
};

static struct {
    struct srv s;
    char *owner, *buyer;
    int64_t shop, product;
    pthread_mutex_t lock;
    int64_t orders[MAX_ACKS], paid[MAX_ACKS];
    size_t n_orders, n_paid;
    atomic_bool stop;
} L;

static void img_set(struct image *im, const unsigned char *p, size_t len, bool exists)
{
    free(im->p);
    im->p = len ? malloc(len) : NULL;
    if (len)
        memcpy(im->p, p, len);
    im->len = len;
    im->exists = exists;
}

static void img_resize(struct image *im, size_t len)
{
    if (len > im->len) {
        im->p = realloc(im->p, len);
        memset(im->p + im->len, 0, len - im->len);
    }
    im->len = len;
}

/* Applies a record's effect on the file's contents, its write cut to `limit` bytes. */
static void img_apply(struct image *im, const struct pc_rec *r, uint64_t limit)
{
    if (r->op == PC_WRITE) {
        uint64_t n = r->len < limit ? r->len : limit;
        im->exists = true;
        if (r->off + n > im->len)
            img_resize(im, (size_t)(r->off + n));
        memcpy(im->p + r->off, (const unsigned char *)(r + 1), (size_t)n);
    } else if (r->op == PC_TRUNCATE) {
        img_resize(im, (size_t)r->off);
    }
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(p, 1, (size_t)(n > 0 ? n : 0), f);
    fclose(f);
    return p;
}

static void write_file(const char *path, const struct image *im)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (im->len)
        assert_int_equal(fwrite(im->p, 1, im->len, f), im->len);
    fclose(f);
}

static long order(const char *key, struct resp *r)
{
    char h[96];
    snprintf(h, sizeof h, "Idempotency-Key: %s", key);
    const char *hs[] = {h, NULL};
    return http_ex(&L.s, "POST", "/api/v1/orders", L.buyer,
                   fmt("{\"shop_id\":%lld,\"items\":[{\"product_id\":%lld,\"qty\":1}],"
                       "\"address\":{\"name\":\"A\",\"phone\":\"13600003333\",\"region\":\"R\","
                       "\"line\":\"L\"}}",
                       (long long)L.shop, (long long)L.product),
                   hs, r);
}

static void *client(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; !atomic_load(&L.stop); i++) {
        struct resp r;
        long st = order(fmt("pl-%d-%d", id, i), &r);
        int64_t oid = st == 201 ? jint(r.json, "id") : 0;
        resp_free(&r);
        if (st < 0)
            break;
        if (!oid)
            continue;
        pthread_mutex_lock(&L.lock);
        if (L.n_orders < MAX_ACKS)
            L.orders[L.n_orders++] = oid;
        pthread_mutex_unlock(&L.lock);
        if (i % 2)
            continue;
        st = http(&L.s, "POST", fmt("/api/v1/orders/%lld/confirm-payment", (long long)oid), L.owner,
                  NULL, &r);
        resp_free(&r);
        if (st < 0)
            break;
        if (st == 200) {
            pthread_mutex_lock(&L.lock);
            if (L.n_paid < MAX_ACKS)
                L.paid[L.n_paid++] = oid;
            pthread_mutex_unlock(&L.lock);
        }
    }
    return NULL;
}

/* Checks one rebuilt image: every acknowledged write, integrity, the ledger. */
static void check_image(const char *base, const char *name_in, const struct image files[2])
{
    char name[32];
    snprintf(name, sizeof name, "%s", name_in); /* fmt()'s buffers are reused below */
    struct srv im;
    memset(&im, 0, sizeof im);
    snprintf(im.dir, sizeof im.dir, "%s/img-%s", base, name);
    assert_int_equal(mkdir(im.dir, 0700), 0);
    snprintf(im.db_url, sizeof im.db_url, "%s/" PC_DB_NAME, im.dir);
    char wal[sizeof im.db_url + 8];
    snprintf(wal, sizeof wal, "%s-wal", im.db_url);
    if (files[PC_FILE_DB].exists)
        write_file(im.db_url, &files[PC_FILE_DB]);
    if (files[PC_FILE_WAL].exists)
        write_file(wal, &files[PC_FILE_WAL]);
    struct db_options opt = {.url = im.db_url, .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 5000};
    struct errinfo ei = {0};
    if (db_open(&opt, &im.db, &ei) != ERR_OK)
        fail_msg("image %s: cannot open: %s", name, ei.message);
    size_t lost = 0, unpaid = 0;
    for (size_t i = 0; i < L.n_orders; i++)
        lost += db_scalar(&im, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld",
                                   (long long)L.orders[i])) != 1;
    for (size_t i = 0; i < L.n_paid; i++)
        unpaid += db_scalar(&im, fmt("SELECT COUNT(*) FROM orders WHERE id = %lld"
                                     " AND status = 'paid'",
                                     (long long)L.paid[i])) != 1;
    int64_t bad = db_scalar(&im, "SELECT COUNT(*) FROM pragma_integrity_check"
                                 " WHERE integrity_check <> 'ok'");
    int64_t stored = db_scalar(&im, "SELECT COUNT(*) FROM orders");
    db_close(im.db);
    im.db = NULL;
    int ledger = srv_ledger_check(&im);
    fprintf(stderr,
            "# image %-7s db %8zu B, log %8zu B%s: %lld orders; of %zu acknowledged orders "
            "%zu lost, of %zu payments %zu lost; integrity %s, ledger %s\n",
            name, files[PC_FILE_DB].len, files[PC_FILE_WAL].len,
            files[PC_FILE_WAL].exists ? "" : " (gone)", (long long)stored, L.n_orders, lost,
            L.n_paid, unpaid, bad ? "BAD" : "ok", ledger ? "BAD" : "ok");
    if (lost || unpaid || bad || ledger)
        fail_msg("image %s does not hold what was acknowledged (files kept in %s)", name, im.dir);
    srv_remove_dir(im.dir);
}

static void power_cut_keeps_acknowledged_writes(void **state)
{
    (void)state;
    const char *shim = getenv("QUANZI_POWERCUT");
    assert_non_null(shim);
    /* a store with a shop, stopped cleanly: the state the recorded run starts from */
    const char *extra[] = {"--max-connections-per-ip", "1000", NULL};
    srv_start(&L.s, extra);
    L.owner = register_user(&L.s, "13700000001", "店主", NULL);
    L.buyer = register_user(&L.s, "13700000002", "买家", NULL);
    L.shop = create_shop(&L.s, L.owner, "power-shop");
    answers(&L.s, "PATCH", fmt("/api/v1/shops/%lld", (long long)L.shop), L.owner,
            "{\"buyer_cap_30d\":1000}", 200);
    L.product = create(&L.s, fmt("/api/v1/shops/%lld/products", (long long)L.shop), L.owner,
                       "{\"title\":\"x\",\"price_fen\":100,\"stock\":100000,"
                       "\"status\":\"on_sale\"}");
    char url[sizeof L.s.db_url], dir[sizeof L.s.dir], wal[sizeof url + 8], log[sizeof dir + 32];
    snprintf(url, sizeof url, "%s", L.s.db_url);
    snprintf(dir, sizeof dir, "%s", L.s.dir);
    snprintf(wal, sizeof wal, "%s-wal", url);
    snprintf(log, sizeof log, "%s/powercut.log", dir);
    db_close(L.s.db);
    L.s.db = NULL;
    kill(L.s.pid, SIGTERM);
    int status;
    waitpid(L.s.pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct file_state fs[2];
    memset(fs, 0, sizeof fs);
    size_t len;
    unsigned char *p = read_file(url, &len);
    assert_non_null(p);
    img_set(&fs[PC_FILE_DB].durable, p, len, true);
    free(p);
    p = read_file(wal, &len); /* a clean stop leaves none; if it did, it is part of the start */
    img_set(&fs[PC_FILE_WAL].durable, p, len, p != NULL);
    free(p);
    for (int f = 0; f < 2; f++) {
        img_set(&fs[f].current, fs[f].durable.p, fs[f].durable.len, fs[f].durable.exists);
        fs[f].name_durable = fs[f].durable.exists;
    }

    /* the recorded run: a new server on that database under the shim, clients, SIGKILL */
    const char *asan = getenv("ASAN_OPTIONS");
    char *asan_saved = asan ? strdup(asan) : NULL;
    setenv("ASAN_OPTIONS", fmt("%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : ""),
           1);
    setenv("LD_PRELOAD", shim, 1);
    setenv("POWERCUT_DIR", dir, 1);
    setenv("POWERCUT_LOG", log, 1);
    setenv("POWERCUT_SYNC_DELAY_US", "3000", 1); /* a kill mostly finds unsynced writes */
    struct srv first = L.s;
    srv_start_db(&L.s, url, extra);
    unsetenv("LD_PRELOAD");
    unsetenv("POWERCUT_DIR");
    unsetenv("POWERCUT_LOG");
    unsetenv("POWERCUT_SYNC_DELAY_US");
    if (asan_saved)
        setenv("ASAN_OPTIONS", asan_saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(asan_saved);
    pthread_mutex_init(&L.lock, NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, client, (void *)(intptr_t)i), 0);
    unsigned seed = (unsigned)time(NULL);
    if (getenv("QUANZI_POWERLOSS_SEED"))
        seed = (unsigned)strtoul(getenv("QUANZI_POWERLOSS_SEED"), NULL, 10);
    fprintf(stderr, "# seed %u (QUANZI_POWERLOSS_SEED replays the cuts)\n", seed);
    srand(seed);
    usleep((useconds_t)(1200000 + rand() % 600000));
    kill(L.s.pid, SIGKILL);
    waitpid(L.s.pid, &status, 0);
    atomic_store(&L.stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    db_close(L.s.db);
    L.s.db = NULL;
    assert_true(L.n_orders > 0);

    /* the records, replayed onto the starting files */
    unsigned char *recs = read_file(log, &len);
    assert_non_null(recs);
    size_t writes = 0, syncs = 0, dirsyncs = 0, creates = 0;
    for (size_t off = 0; off + sizeof(struct pc_rec) <= len;) {
        const struct pc_rec *r = (const struct pc_rec *)(void *)(recs + off);
        if (off + sizeof *r + r->len > len)
            break; /* cut by the kill */
        off += sizeof *r + r->len;
        if (r->file == PC_FILE_DIR) {
            if (r->op == PC_DIRSYNC) {
                dirsyncs++;
                for (int f = 0; f < 2; f++)
                    fs[f].name_durable = fs[f].current.exists;
            }
            continue;
        }
        assert_true(r->file < 2);
        struct file_state *f = &fs[r->file];
        switch (r->op) {
        case PC_CREATE:
            creates++;
            f->current.exists = true;
            img_resize(&f->current, 0);
            f->name_durable = false;
            f->n_pending = 0;
            img_set(&f->durable, NULL, 0, true); /* an empty file, once its name is */
            break;
        case PC_UNLINK:
            f->current.exists = f->durable.exists = false;
            f->n_pending = 0;
            break;
        case PC_SYNC:
            syncs++;
            img_set(&f->durable, f->current.p, f->current.len, f->current.exists);
            f->n_pending = 0;
            break;
        case PC_WRITE:
        case PC_TRUNCATE:
            writes += r->op == PC_WRITE;
            img_apply(&f->current, r, UINT64_MAX);
            if (f->n_pending == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 1024;
                f->pending = realloc(f->pending, f->cap * sizeof *f->pending);
            }
            f->pending[f->n_pending++] = r;
            break;
        default:
            fail_msg("unknown record %u", r->op);
        }
    }
    fprintf(stderr,
            "# recorded: %zu writes, %zu file syncs, %zu folder syncs, %zu files made;"
            " acknowledged %zu orders and %zu payments; unsynced at the kill: db %zu, log %zu"
            " writes\n",
            writes, syncs, dirsyncs, creates, L.n_orders, L.n_paid, fs[0].n_pending,
            fs[1].n_pending);
    assert_true(writes > 0 && syncs > 0);

    struct image img[2];
    memset(img, 0, sizeof img);
    for (int f = 0; f < 2; f++)
        img_set(&img[f], fs[f].durable.p, fs[f].durable.len, fs[f].durable.exists);
    check_image(dir, "synced", img);
    for (int k = 0; k < 4; k++) {
        for (int f = 0; f < 2; f++) {
            img_set(&img[f], fs[f].durable.p, fs[f].durable.len, fs[f].durable.exists);
            size_t n = fs[f].n_pending, cut = n ? (size_t)rand() % (n + 1) : 0;
            for (size_t i = 0; i < cut && i < n; i++)
                img_apply(&img[f], fs[f].pending[i], UINT64_MAX);
            if (cut < n && fs[f].pending[cut]->op == PC_WRITE) /* torn inside a sector run */
                img_apply(&img[f], fs[f].pending[cut],
                          (uint64_t)(rand() % (int)(fs[f].pending[cut]->len / 512 + 1)) * 512);
        }
        check_image(dir, fmt("torn-%d", k + 1), img);
    }
    for (int f = 0; f < 2; f++)
        img_set(&img[f], fs[f].durable.p, fs[f].durable.len,
                fs[f].durable.exists && fs[f].name_durable);
    check_image(dir, "folder", img);

    for (int f = 0; f < 2; f++) {
        free(img[f].p);
        free(fs[f].durable.p);
        free(fs[f].current.p);
        free(fs[f].pending);
    }
    free(recs);
    srv_remove_dir(L.s.dir);
    srv_remove_dir(first.dir);
    free(L.owner);
    free(L.buyer);
}

int main(void)
{
    if (test_on_postgres())
        return 0;
    const struct CMUnitTest tests[] = {cmocka_unit_test(power_cut_keeps_acknowledged_writes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
