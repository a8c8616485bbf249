/*
 * Abuse, measured from a fresh client (issue 17 points 1-3): while slow clients trickle
 * their heads, while a sign-up flood and while a login flood run, GET /healthz is timed
 * every 100 ms. The figures are printed; the test asserts only that every read is answered
 * and within a generous bound (2 s: the suite runs on 2 cores under the sanitizers).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BOUND_MS 2000.0
#define READS 20

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* READS reads of `path`, 100 ms apart, during the attack: each answered 200, the slowest
 * within BOUND_MS; prints p50 and the slowest. */
static void reads_during(struct srv *s, const char *attack, const char *path)
{
    double t[READS];
    for (int i = 0; i < READS; i++) {
        struct resp r;
        double t0 = now_ms();
        long st = http(s, "GET", path, NULL, NULL, &r);
        t[i] = now_ms() - t0;
        resp_free(&r);
        if (st != 200)
            fail_msg("%s: GET %s answered %ld", attack, path, st);
        usleep(100 * 1000);
    }
    qsort(t, READS, sizeof t[0], by_value);
    fprintf(stderr, "# during %s: GET %s p50 %.1f ms, slowest %.1f ms (%d reads)\n", attack, path,
            t[READS / 2], t[READS - 1], READS);
    assert_true(t[READS - 1] < BOUND_MS);
}

struct flood {
    struct srv *s;
    atomic_bool stop;
    atomic_int sent;
    int id;
    bool signup; /* sign-ups, else wrong logins */
};

static void *flooder(void *arg)
{
    struct flood *f = arg;
    for (int i = 0; !atomic_load(&f->stop); i++) {
        char xff[64];
        snprintf(xff, sizeof xff, "X-Forwarded-For: 198.51.%d.%d", f->id, i % 200 + 1);
        const char *h[] = {xff, NULL};
        struct resp r;
        if (f->signup)
            http_ex(f->s, "POST", "/api/v1/auth/register", NULL,
                    fmt("{\"login\":\"flood%d-%d@example.test\",\"password\":\"a long enough "
                        "one\",\"display_name\":\"f\"}",
                        f->id, i),
                    h, &r);
        else
            http_ex(f->s, "POST", "/api/v1/auth/login", NULL,
                    "{\"login\":\"13955550000\",\"password\":\"not the password\"}", h, &r);
        resp_free(&r);
        atomic_fetch_add(&f->sent, 1);
    }
    return NULL;
}

enum { FLOODERS = 8 };

static void flood(bool signup)
{
    /* the default limits: sign-ups per address and per minute, hashing one per core */
    const char *const extra[] = {"--trusted-proxies",
                                 "127.0.0.1",
                                 "--signups-per-ip-hour",
                                 "20",
                                 "--signups-per-minute",
                                 "120",
                                 NULL};
    struct srv s;
    srv_start(&s, extra);
    if (!signup)
        free(register_user(&s, "13955550000", "Target", NULL));
    static struct flood f[FLOODERS];
    pthread_t t[FLOODERS];
    for (int i = 0; i < FLOODERS; i++) {
        f[i] = (struct flood){.s = &s, .id = i + 1, .signup = signup};
        assert_int_equal(pthread_create(&t[i], NULL, flooder, &f[i]), 0);
    }
    usleep(300 * 1000);
    reads_during(&s, signup ? "a sign-up flood" : "a login flood", "/healthz");
    int sent = 0;
    for (int i = 0; i < FLOODERS; i++) {
        atomic_store(&f[i].stop, true);
        pthread_join(t[i], NULL);
        sent += atomic_load(&f[i].sent);
    }
    int64_t users = db_scalar(&s, "SELECT COUNT(*) FROM users");
    fprintf(stderr, "# %s: %d requests from %d clients; %lld accounts exist\n",
            signup ? "sign-up flood" : "login flood", sent, FLOODERS, (long long)users);
    if (signup)
        assert_true(users <= 120); /* the server's minute */
    assert_int_equal(srv_stop(&s), 0);
}

static void signup_flood(void **state)
{
    (void)state;
    flood(true);
}

static void login_flood(void **state)
{
    (void)state;
    flood(false);
}

struct trickle {
    struct srv *s;
    atomic_bool stop;
    atomic_int opened;
};

/* Keeps SLOW connections trickling a head a byte each per 200 ms, opening new ones as the
 * server cuts them. */
enum { SLOW = 150 };

static void *trickler(void *arg)
{
    struct trickle *tr = arg;
    int fd[SLOW];
    for (int i = 0; i < SLOW; i++)
        fd[i] = -1;
    while (!atomic_load(&tr->stop)) {
        for (int i = 0; i < SLOW; i++) {
            if (fd[i] >= 0 && send(fd[i], "a", 1, MSG_NOSIGNAL) != 1) {
                close(fd[i]);
                fd[i] = -1;
            }
            if (fd[i] < 0 && (fd[i] = srv_raw_connect(tr->s)) >= 0) {
                atomic_fetch_add(&tr->opened, 1);
                const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
                (void)send(fd[i], head, strlen(head), MSG_NOSIGNAL);
            }
        }
        usleep(200 * 1000);
    }
    for (int i = 0; i < SLOW; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    return NULL;
}

static void slow_clients(void **state)
{
    (void)state;
    /* 150 trickling connections against a limit of 128: without the guard, nobody else
     * would get in */
    const char *const extra[] = {"--max-connections",
                                 "128",
                                 "--max-connections-per-ip",
                                 "1000",
                                 "--request-head-timeout-s",
                                 "2",
                                 NULL};
    struct srv s;
    srv_start(&s, extra);
    signal(SIGPIPE, SIG_IGN);
    struct trickle tr = {.s = &s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, trickler, &tr), 0);
    usleep(500 * 1000);
    reads_during(&s, "150 trickling connections", "/healthz");
    atomic_store(&tr.stop, true);
    pthread_join(t, NULL);
    fprintf(stderr, "# slow clients: %d connections opened in all (the server cut the rest)\n",
            atomic_load(&tr.opened));
    assert_int_equal(srv_stop(&s), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slow_clients),
        cmocka_unit_test(signup_flood),
        cmocka_unit_test(login_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
