/*
 * The command line: migrate, demo (idempotent), admin create, jobs run,
 * config errors that name the setting, the test clock refused off loopback,
 * a graceful shutdown that lets a request in flight finish, and an online
 * backup taken while members keep registering.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "harness.h"

static char dir[128];
static char db_url[256];
static char db_arg[300]; /* "--db '<url>'": SQLite file or a fresh PostgreSQL database */

static int up(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/quanzi-cli-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    test_db_create(dir, db_url, sizeof db_url);
    snprintf(db_arg, sizeof db_arg, "--db '%s'", db_url);
    return 0;
}

static int down(void **state)
{
    (void)state;
    test_db_drop(db_url);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs `quanzi ARGS` (a shell fragment) with optional stdin; returns exit code. */
static int run(const char *args, const char *input, char *out, size_t out_len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s'%s' %s 2>&1", input ? "printf '%s\\n' \"$QZ_INPUT\" | " : "",
             getenv("QUANZI_BIN"), args);
    if (input)
        setenv("QZ_INPUT", input, 1);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, out_len - 1, p);
    out[n] = '\0';
    char rest[4096]; /* the rest is read too: a command cut off mid-write dies of SIGPIPE */
    while (fread(rest, 1, sizeof rest, p) > 0)
        ;
    int status = pclose(p);
    unsetenv("QZ_INPUT");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void migrate_and_demo(void **state)
{
    (void)state;
    char out[4096];
    char args[512];
    snprintf(args, sizeof args, "migrate %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "migrations applied: "));
    assert_null(strstr(out, "migrations applied: 0"));
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "migrations applied: 0"));

    snprintf(args, sizeof args, "demo %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "demo shop created"));
    {
        struct srv view = {0}; /* just a connection to the same database */
        struct db_options opt = {.url = db_url, .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 5000};
        struct errinfo ei = {0};
        assert_int_equal(db_open(&opt, &view.db, &ei), ERR_OK);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM products WHERE status = 'on_sale'"),
                         8);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM circles"), 2);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM circle_members"), 9);
        assert_int_equal(
            db_scalar(&view, "SELECT COUNT(*) FROM contacts WHERE status = 'accepted'"), 4);
        /* two promoters, the second invited by the first; a paid order with commission */
        assert_int_equal(
            db_scalar(&view, "SELECT COUNT(*) FROM promoters WHERE inviter_id IS NOT NULL"), 1);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM commissions WHERE level = 1"
                                          " AND status = 'pending' AND amount_fen > 0"),
                         1);
        /* a received order with a partial refund awaiting the shop's decision */
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM refunds r JOIN orders o"
                                          " ON o.id = r.order_id WHERE r.status = 'requested'"
                                          " AND o.status = 'delivered' AND r.amount_fen > 0"
                                          " AND r.amount_fen < o.total_fen"),
                         1);
        /* the first promoter's share into the parents' group: one member reached, the others
         * left out, each for a reason; the reached one's feed holds it */
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM shares"), 1);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM share_audience"), 4);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(DISTINCT outcome) FROM share_audience"), 4);
        assert_int_equal(db_scalar(&view, "SELECT COUNT(*) FROM share_audience a JOIN users u"
                                          " ON u.id = a.user_id WHERE a.outcome = 'delivered'"
                                          " AND u.login = '13910000006'"),
                         1);
        db_close(view.db);
    }
    assert_non_null(strstr(out, "果果妈: in their feed"));
    assert_non_null(strstr(out, "小雨: left out: muted"));
    /* the operator's money commands on the demo */
    snprintf(args, sizeof args, "ledger check %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "ledger check: ok (0 problems)"));
    snprintf(args, sizeof args, "settle %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "settle: ok, 0 commissions")); /* the order is not complete */
    snprintf(args, sizeof args, "audit --shop 1 %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "shop 1: ok"));
    assert_non_null(strstr(out, "max_chain_depth"));
    snprintf(args, sizeof args, "audit --json %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"name\": \"recruiting_commission_fen\""));
    snprintf(args, sizeof args, "audit --shop x %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 2);
    snprintf(args, sizeof args, "ledger %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 2);
    snprintf(args, sizeof args, "demo %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "is there"));

    snprintf(args, sizeof args, "jobs run %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "purge_sessions: ok"));
    snprintf(args, sizeof args, "jobs run no_such_job %s", db_arg);
    assert_int_equal(run(args, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "no job named no_such_job"));
}

static void admin_create(void **state)
{
    (void)state;
    char out[4096];
    char args[512];
    snprintf(args, sizeof args,
             "admin create --login ops@example.test --name Ops --data-dir '%s/a'", dir);
    assert_int_equal(run(args, "a long admin password", out, sizeof out), 0);
    assert_non_null(strstr(out, "created admin"));
    /* the password never shows in the output */
    assert_null(strstr(out, "a long admin password"));
    /* again: the member exists and stays admin */
    assert_int_equal(run(args, "whatever it is", out, sizeof out), 0);
    assert_non_null(strstr(out, "made existing member admin"));
    snprintf(args, sizeof args, "admin create --login ops2@example.test %s", db_arg);
    assert_int_equal(run(args, "short", out, sizeof out), 1);
    assert_non_null(strstr(out, "password needs at least 8 characters"));
    snprintf(args, sizeof args, "admin create %s", db_arg);
    assert_int_equal(run(args, "x", out, sizeof out), 2);
    assert_non_null(strstr(out, "--login is required"));
}

static void config_errors_name_the_setting(void **state)
{
    (void)state;
    char out[16384];
    char args[512];
    snprintf(args, sizeof args, "serve --port 99999 --data-dir '%s/b'", dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "port must be a whole number from 0 to 65535"));
    snprintf(args, sizeof args, "serve --listen 0.0.0.0 --port 0 --test-clock --data-dir '%s/b'",
             dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "test_clock is only allowed with a loopback listen address"));
    snprintf(args, sizeof args, "serve --listen nowhere --port 0 --data-dir '%s/b'", dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "listen must be an IPv4 or IPv6 address"));
    snprintf(args, sizeof args, "serve --port 0 --metrics-token short --data-dir '%s/b'", dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "metrics_token must have at least 16 characters"));
    snprintf(args, sizeof args,
             "serve --port 0 --trusted-proxies '10.0.0.1, proxy' --data-dir '%s/b'", dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "trusted_proxies: \"proxy\" is not an IPv4 or IPv6 address"));
    /* a config file line too long to read whole is refused, not read as two lines */
    char path[512];
    snprintf(path, sizeof path, "%s/long.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "port = 0\n# %01100d threads = 1\n", 0);
    fclose(f);
    snprintf(args, sizeof args, "serve --config '%s/long.conf' --data-dir '%s/b'", dir, dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "long.conf:2: line longer than 1022 bytes"));
    assert_int_equal(run("frobnicate", NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown command"));
    assert_int_equal(run("help", NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "argon2_memory_kib"));
    /* the settings derived from the machine say what they come to here */
    assert_non_null(strstr(out, "body_memory_mb"));
    assert_non_null(strstr(out, "On this machine db_cache_mb 0 is "));
}

struct slow_call {
    struct srv *s;
    long status;
};

static void *register_slowly(void *arg)
{
    struct slow_call *c = arg;
    struct resp r;
    c->status = http(c->s, "POST", "/api/v1/auth/register", NULL,
                     "{\"login\":\"13700001111\",\"password\":\"" TEST_PASSWORD
                     "\",\"display_name\":\"Slow\"}",
                     &r);
    resp_free(&r);
    return NULL;
}

/* SIGTERM while a request is being served: it completes, then the server exits 0. */
static void graceful_shutdown(void **state)
{
    (void)state;
    struct srv s;
    /* a costly hash (256 MiB, 3 passes) keeps the registration in flight for a while */
    const char *extra[] = {"--argon2-memory-kib", "262144", "--argon2-ops", "3", NULL};
    srv_start(&s, extra);
    struct slow_call c = {.s = &s, .status = 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, register_slowly, &c), 0);
    /* wait until the request is in flight: its argon2 memory shows in the server's RSS */
    char statm[64];
    snprintf(statm, sizeof statm, "/proc/%d/statm", (int)s.pid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(statm, "r");
        long size = 0, rss = 0;
        if (f) {
            if (fscanf(f, "%ld %ld", &size, &rss) != 2)
                rss = 0;
            fclose(f);
        }
        if (rss * 4096 > 200L * 1024 * 1024)
            break;
        usleep(2000);
    }
    kill(s.pid, SIGTERM);
    /* meanwhile a new request is told to come back, not left without an answer */
    bool told = false;
    for (int i = 0; i < 100 && !told; i++) {
        struct resp r;
        if (http(&s, "GET", "/healthz", NULL, NULL, &r) == 503) {
            assert_string_equal(jstr(r.json, "error.code"), "unavailable");
            char *ra = resp_header(&r, "Retry-After");
            assert_string_equal(ra, "1");
            free(ra);
            told = true;
        }
        resp_free(&r);
        usleep(5000);
    }
    assert_true(told);
    pthread_join(t, NULL);
    assert_int_equal(c.status, 201);
    int status = 0;
    assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    s.pid = 0;
    /* the member was written before the server went away */
    assert_int_equal(db_scalar(&s, "SELECT COUNT(*) FROM users WHERE login = '13700001111'"), 1);
    srv_stop(&s);
}

/* SQLite file -> fresh PostgreSQL database; the copy serves, ids continue. */
static void migrate_data_to_postgres(void **state)
{
    (void)state;
    if (!test_on_postgres()) {
        skip(); /* needs the PostgreSQL test cluster: runs as api/test_cli@pg */
        return;
    }
    char out[8192], args[1024], target[256];
    snprintf(args, sizeof args, "demo --data-dir '%s/src'", dir);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    test_db_create(dir, target, sizeof target);
    snprintf(args, sizeof args, "migrate-data --from '%s/src/quanzi.db' --to '%s'", dir, target);
    assert_int_equal(run(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "users"));
    assert_non_null(strstr(out, "row counts verified"));
    assert_null(strstr(out, "MISMATCH"));
    /* a second copy into the same database is refused and changes nothing */
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "the destination is not empty"));
    snprintf(args, sizeof args, "migrate-data --from '%s/none.db' --to '%s'", dir, target);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_int_equal(run("migrate-data --from a.db", NULL, out, sizeof out), 2);

    struct srv s;
    srv_start_db(&s, target, NULL);
    assert_int_equal(db_scalar(&s, "SELECT COUNT(*) FROM users"), 8); /* owner + 7 members */
    assert_int_equal(db_scalar(&s, "SELECT COUNT(*) FROM share_audience"), 4);
    assert_int_equal(db_scalar(&s, "SELECT COUNT(*) FROM shops WHERE slug = 'shanli-walnut'"), 1);
    struct resp r;
    http(&s, "POST", "/api/v1/auth/login", NULL,
         "{\"login\":\"demo@quanzi.test\",\"password\":\"walnut-demo-2026\"}", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    int64_t copied_max = db_scalar(&s, "SELECT MAX(id) FROM users");
    int64_t id = 0;
    char *t = register_user(&s, "13500001111", "After the move", &id);
    assert_int_equal(id, copied_max + 1); /* the identity continues after the copied ids */
    free(t);
    assert_int_equal(srv_stop(&s), 0);
}

struct registrar {
    struct srv *s;
    atomic_bool stop;
    atomic_int made;
};

static void *register_until_stopped(void *arg)
{
    struct registrar *g = arg;
    for (int i = 0; !atomic_load(&g->stop); i++) {
        char login[32];
        snprintf(login, sizeof login, "1360000%04d", i);
        int64_t id = 0;
        free(register_user(g->s, login, "Busy", &id));
        atomic_fetch_add(&g->made, 1);
    }
    return NULL;
}

/* quanzi backup FILE: a checked, self-contained copy of the live database. */
static void online_backup(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, NULL);
    char out[4096], args[1024], file[300];
    snprintf(file, sizeof file, "%s/backup.db", dir);
    snprintf(args, sizeof args, "backup '%s' --db '%s'", file, s.db_url);
    if (test_on_postgres()) { /* PostgreSQL is backed up with its own tools */
        assert_int_equal(run(args, NULL, out, sizeof out), 1);
        assert_non_null(strstr(out, "pg_dump"));
        assert_int_equal(access(file, F_OK), -1);
        assert_int_equal(srv_stop(&s), 0);
        return;
    }
    struct registrar g = {.s = &s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, register_until_stopped, &g), 0);
    while (atomic_load(&g.made) < 3)
        usleep(1000);
    int64_t before = db_scalar(&s, "SELECT COUNT(*) FROM users");
    int rc = run(args, NULL, out, sizeof out);
    int64_t after = db_scalar(&s, "SELECT COUNT(*) FROM users");
    atomic_store(&g.stop, true);
    pthread_join(t, NULL);
    if (rc != 0)
        fprintf(stderr, "%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "checked"));
    /* one file, no log or leftover beside it, and a snapshot taken between the two counts */
    char side[340];
    snprintf(side, sizeof side, "%s-wal", file);
    assert_int_equal(access(side, F_OK), -1);
    struct db_options o = {.url = file, .sync = DB_SYNC_FULL, .busy_timeout_ms = 1000};
    struct errinfo ei = {0};
    struct db *copy = NULL;
    assert_int_equal(db_open(&o, &copy, &ei), ERR_OK);
    struct db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_prepare_uncached(copy, "SELECT COUNT(*) FROM users", &st), ERR_OK);
    assert_int_equal(db_step(st, &row), ERR_OK);
    assert_true(row);
    int64_t copied = db_col_int64(st, 0);
    db_done(st);
    db_close(copy);
    assert_true(copied >= before && copied <= after);
    /* an existing file is never overwritten; a missing name is a usage error */
    struct stat was, now;
    assert_int_equal(stat(file, &was), 0);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "exists"));
    assert_int_equal(stat(file, &now), 0);
    assert_int_equal((long long)now.st_size, (long long)was.st_size);
    assert_int_equal((long long)now.st_mtime, (long long)was.st_mtime);
    snprintf(args, sizeof args, "backup --db '%s'", s.db_url);
    assert_int_equal(run(args, NULL, out, sizeof out), 2);
    /* a folder that is not there: the file is named, and nothing is left behind */
    snprintf(args, sizeof args, "backup '%s/no/such/dir/b.db' --db '%s'", dir, s.db_url);
    assert_int_equal(run(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "no/such/dir/b.db"));
    snprintf(side, sizeof side, "%s/no", dir);
    assert_int_equal(access(side, F_OK), -1);
    assert_int_equal(srv_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrate_and_demo),
        cmocka_unit_test(admin_create),
        cmocka_unit_test(config_errors_name_the_setting),
        cmocka_unit_test(graceful_shutdown),
        cmocka_unit_test(migrate_data_to_postgres),
        cmocka_unit_test(online_backup),
    };
    return cmocka_run_group_tests(tests, up, down);
}
