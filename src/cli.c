#include "cli.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "config.h"
#include "demo.h"
#include "db/copy.h"
#include "db/migrate.h"
#include "db/pool.h"
#include "domain/account.h"
#include "domain/audit.h"
#include "domain/commission.h"
#include "domain/ledger.h"
#include "domain/share.h"
#include "domain/jobs.h"
#include "domain/password.h"
#include "domain/shop.h"
#include "http/jsonmem.h"
#include "http/server.h"
#include <curl/curl.h>

#include "render/poster.h"
#include "domain/wechatpay.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

#define QUANZI_VERSION "0.1.0"

static int fail(const struct errinfo *ei)
{
    fprintf(stderr, "quanzi: %s\n", ei->message[0] ? ei->message : "failed");
    return 1;
}

static bool is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

/* Loads settings, prepares logging, crypto and the data directory. */
static int setup(struct config *cfg, int argc, char **argv, const char **rest, int *rest_len,
                 bool serving)
{
    struct errinfo ei = {0};
    if (config_load(cfg, argc, argv, rest, rest_len, &ei) != ERR_OK)
        return fail(&ei);
    log_set_level((enum log_level)log_level_parse(cfg->log_level));
    if (sodium_init() < 0) {
        fprintf(stderr, "quanzi: libsodium failed to initialise\n");
        return 1;
    }
    jsonmem_install();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    password_init(cfg->argon2_ops, cfg->argon2_memory_kib,
                  cfg->hash_concurrency ? (int)cfg->hash_concurrency : (int)cores);
    account_init(cfg->session_days * MS_PER_DAY, cfg->signups_per_ip_hour, cfg->signups_per_minute);
    /* WeChat Pay: where the shops' keys are, where WeChat Pay is, where it reaches us */
    static char keys[CONFIG_STR_MAX + 16];
    snprintf(keys, sizeof keys, "%s/keys", cfg->data_dir);
    wechatpay_settings.key_dir = cfg->wechatpay_key_dir[0] ? cfg->wechatpay_key_dir : keys;
    wechatpay_settings.api_base = cfg->wechatpay_api_base[0] ? cfg->wechatpay_api_base : NULL;
    wechatpay_settings.public_url = cfg->public_url[0] ? cfg->public_url : NULL;
    wechatpay_settings.timeout_ms = (long)cfg->wechatpay_timeout_ms;
    wechatpay_settings.oauth_base = cfg->wechat_oauth_base[0] ? cfg->wechat_oauth_base : NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!cfg->db[0] && mkdir(cfg->data_dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "quanzi: data_dir: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
        return 1;
    }
    char url[CONFIG_STR_MAX + 16];
    config_db_url(cfg, url, sizeof url);
    struct db_options opt = {.url = url,
                             .sync = strcmp(cfg->db_sync, "normal") == 0 ? DB_SYNC_NORMAL
                                                                         : DB_SYNC_FULL,
                             .busy_timeout_ms = 5000,
                             .group_commit = serving,
                             .cache_kib = cfg->db_cache_mb * 1024,
                             .mmap_bytes = cfg->db_mmap_mb << 20};
    db_pool_init(&opt);
    return 0;
}

static void teardown(void)
{
    curl_global_cleanup();
    db_pool_close_all();
    account_release();
    password_release();
}

static int open_migrated(struct db **db)
{
    struct errinfo ei = {0};
    if (db_pool_get(db) != ERR_OK) {
        fprintf(stderr, "quanzi: db: cannot open the database (see the log above)\n");
        return 1;
    }
    if (migrate_run(*db, NULL, &ei) != ERR_OK)
        return fail(&ei);
    if (db_sync_files(*db) != ERR_OK) { /* the log file a start made, for good */
        fprintf(stderr, "quanzi: db: cannot sync the database's folder\n");
        return 1;
    }
    return 0;
}

static int cmd_serve(const struct config *cfg, const char **rest, int rest_len)
{
    (void)rest, (void)rest_len;
    if (cfg->metrics_token[0] && strlen(cfg->metrics_token) < 16) {
        fprintf(stderr, "quanzi: metrics_token must have at least 16 characters\n");
        return 1;
    }
    if (cfg->test_clock && !is_loopback(cfg->listen)) {
        fprintf(stderr,
                "quanzi: test_clock is only allowed with a loopback listen address "
                "(listen is %s)\n",
                cfg->listen);
        return 1;
    }
    /* Keep freed memory instead of handing it back after every request: on
     * some virtual machines each madvise() or munmap() is a TLB shootdown on
     * every core, and the next request only grows the heap again. */
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    struct db *db = NULL;
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    api_settings.metrics_token = cfg->metrics_token[0] ? cfg->metrics_token : NULL;
    if (!api_settings.metrics_token && !is_loopback(cfg->listen))
        LOG(LOG_WARN, "metrics_open",
            "msg=\"GET /metrics answers anyone who reaches %s; set metrics_token\"", cfg->listen);
    api_settings.test_clock = cfg->test_clock;
    api_settings.cookie_secure = cfg->cookie_secure;
    api_settings.session_ms = cfg->session_days * MS_PER_DAY;
    api_settings.trial_days = cfg->trial_days;
    api_settings.home_shop = cfg->home_shop;
    api_settings.public_url = cfg->public_url[0] ? cfg->public_url : NULL;
    share_limits.daily_max = cfg->feed_daily_max;
    api_settings.data_dir = cfg->data_dir;
    /* the data directory, its uploaded images and its cache of drawn posters */
    char images[CONFIG_STR_MAX + 16], posters[CONFIG_STR_MAX + 16];
    snprintf(images, sizeof images, "%s/images", cfg->data_dir);
    snprintf(posters, sizeof posters, "%s/posters", cfg->data_dir);
    const char *dirs[] = {cfg->data_dir, images, posters};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (mkdir(dirs[i], 0750) != 0 && errno != EEXIST) {
            fprintf(stderr, "quanzi: data_dir: cannot create %s: %s\n", dirs[i], strerror(errno));
            return 1;
        }
    jobs_posters_dir = posters;
    /* the shops' WeChat Pay keys: readable by the server alone */
    if (mkdir(wechatpay_settings.key_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "quanzi: wechatpay_key_dir: cannot create %s: %s\n",
                wechatpay_settings.key_dir, strerror(errno));
        return 1;
    }
    if (cfg->test_clock)
        LOG(LOG_WARN, "test_clock_enabled",
            "msg=\"POST /api/v1/test-clock can move this server's clock; tests only\"");

    /* signals are taken by this thread alone, with sigwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct server_options so = {
        .listen = cfg->listen,
        .port = (uint16_t)cfg->port,
        /* more workers than cores: a worker waits on the network (PostgreSQL) or for its
         * group commit's fsync (SQLite) while others run */
        .threads = (unsigned)(cfg->threads ? cfg->threads : 4 * (cores > 0 ? cores : 1)),
        .body_limit = (size_t)cfg->body_limit_bytes,
        .body_memory = (size_t)cfg->body_memory_mb << 20,
        .max_connections = (unsigned)cfg->max_connections,
        .max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
        .connection_timeout_s = (unsigned)cfg->connection_timeout_s,
        .request_head_timeout_s = (unsigned)cfg->request_head_timeout_s,
        .access_log = cfg->access_log,
        .trusted_proxies = cfg->trusted_proxies,
    };
    struct server *srv = NULL;
    struct errinfo ei = {0};
    if (server_start(&so, api_routes, api_routes_len, &srv, &ei) != ERR_OK)
        return fail(&ei);
    uint16_t port = server_port(srv);
    LOG(LOG_INFO, "listening", "addr=%s port=%u threads=%u db=%s", cfg->listen, (unsigned)port,
        so.threads, cfg->db[0] ? "custom" : cfg->data_dir);
    if (cfg->ready_file[0]) {
        char tmp[CONFIG_STR_MAX + 8];
        snprintf(tmp, sizeof tmp, "%s.tmp", cfg->ready_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", (unsigned)port) < 0 || fclose(f) != 0 ||
            rename(tmp, cfg->ready_file) != 0) {
            fprintf(stderr, "quanzi: ready_file: cannot write %s\n", cfg->ready_file);
            server_stop(srv, 0);
            return 1;
        }
    }
    jobs_start();

    int sig = 0;
    sigwait(&set, &sig);
    LOG(LOG_INFO, "shutdown", "signal=%d", sig);
    server_stop(srv, 10000);
    jobs_stop();
    jobs_posters_dir = NULL;
    poster_shutdown();
    LOG(LOG_INFO, "stopped", "msg=\"bye\"");
    return 0;
}

static int cmd_migrate(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg, (void)rest, (void)rest_len; /* it takes none: the table says so */
    struct db *db = NULL;
    struct errinfo ei = {0};
    int applied = 0;
    int64_t version = 0;
    if (db_pool_get(&db) != ERR_OK) {
        fprintf(stderr, "quanzi: db: cannot open the database\n");
        return 1;
    }
    if (migrate_run(db, &applied, &ei) != ERR_OK)
        return fail(&ei);
    if (migrate_version(db, &version) != ERR_OK)
        return 1;
    printf("migrations applied: %d; schema version: %lld\n", applied, (long long)version);
    return 0;
}

static int cmd_demo(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg, (void)rest, (void)rest_len; /* it takes none: the table says so */
    struct db *db = NULL;
    int rc = open_migrated(&db);
    return rc ? rc : demo_seed(db, stdout);
}

static int cmd_admin(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg;
    const char *login = NULL, *name = "Admin";
    if (rest_len < 1 || strcmp(rest[0], "create") != 0) {
        fprintf(stderr, "usage: quanzi admin create --login LOGIN [--name NAME] < password\n");
        return 2;
    }
    for (int i = 1; i < rest_len; i++) {
        if (!strcmp(rest[i], "--login") && i + 1 < rest_len)
            login = rest[++i];
        else if (!strcmp(rest[i], "--name") && i + 1 < rest_len)
            name = rest[++i];
        else {
            fprintf(stderr, "quanzi: admin create: unknown argument %s\n", rest[i]);
            return 2;
        }
    }
    if (!login) {
        fprintf(stderr, "quanzi: admin create: --login is required\n");
        return 2;
    }
    char password[LIMIT_PASSWORD_MAX_BYTES + 2] = "";
    const char *env = getenv("QUANZI_ADMIN_PASSWORD");
    if (env) {
        snprintf(password, sizeof password, "%s", env);
    } else if (!fgets(password, sizeof password, stdin)) {
        password[0] = '\0';
    }
    password[strcspn(password, "\r\n")] = '\0';
    struct db *db = NULL;
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    int64_t id = 0;
    bool created = false;
    struct errinfo ei = {0};
    enum err e = account_admin_create(db, login, password, name, &id, &created, &ei);
    sodium_memzero(password, sizeof password);
    if (e)
        return fail(&ei);
    printf("%s admin: user id %lld\n", created ? "created" : "made existing member", (long long)id);
    return 0;
}

static int cmd_migrate_data(const struct config *cfg, const char **rest, int rest_len)
{
    const char *from = NULL, *to = NULL;
    for (int i = 0; i < rest_len; i++) {
        if (!strcmp(rest[i], "--from") && i + 1 < rest_len)
            from = rest[++i];
        else if (!strcmp(rest[i], "--to") && i + 1 < rest_len)
            to = rest[++i];
        else {
            fprintf(stderr, "quanzi: migrate-data: unknown argument %s\n", rest[i]);
            return 2;
        }
    }
    if (!from || !to || db_url_is_postgres(from) || !db_url_is_postgres(to)) {
        fprintf(stderr, "usage: quanzi migrate-data --from SQLITE_FILE --to postgresql://...\n");
        return 2;
    }
    if (access(from, R_OK) != 0) {
        fprintf(stderr, "quanzi: migrate-data: cannot read %s: %s\n", from, strerror(errno));
        return 1;
    }
    struct db *src = NULL, *dst = NULL;
    struct errinfo ei = {0};
    struct db_options so = {.url = from, .sync = DB_SYNC_FULL, .busy_timeout_ms = 5000};
    struct db_options to_opt = {.url = to, .sync = DB_SYNC_FULL, .busy_timeout_ms = 5000};
    (void)cfg;
    int rc = 1;
    if (db_open(&so, &src, &ei) != ERR_OK || db_open(&to_opt, &dst, &ei) != ERR_OK) {
        rc = fail(&ei);
        goto out;
    }
    if (db_copy(src, dst, stdout, &ei) != ERR_OK) {
        rc = fail(&ei);
        goto out;
    }
    printf("copied %s into PostgreSQL; row counts verified\n", from);
    rc = 0;
out:
    db_close(src);
    db_close(dst);
    return rc;
}

static int cmd_jobs(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg;
    if (rest_len < 1 || strcmp(rest[0], "run") != 0) {
        fprintf(stderr, "usage: quanzi jobs run [NAME]\n");
        return 2;
    }
    struct db *db = NULL;
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    struct job_run runs[JOBS_MAX];
    size_t n = 0;
    if (rest_len > 1) {
        if (jobs_run_now(db, rest[1], &runs[0]) == ERR_NOT_FOUND) {
            fprintf(stderr, "quanzi: no job named %s; jobs:", rest[1]);
            for (size_t i = 0; i < jobs_count(); i++)
                fprintf(stderr, " %s", jobs_name(i));
            fputc('\n', stderr);
            return 2;
        }
        n = 1;
    } else {
        n = jobs_run_due(db, runs);
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        printf("%s: %s, %lld rows\n", runs[i].name, err_code(runs[i].result),
               (long long)runs[i].affected);
        failed |= runs[i].result != ERR_OK;
    }
    return failed;
}

static int cmd_settle(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg, (void)rest, (void)rest_len; /* it takes none: the table says so */
    struct db *db = NULL;
    int64_t moved = 0;
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    int64_t t0 = clock_mono_us();
    enum err e = commission_settle(db, clock_now_ms(), COMMISSION_SETTLE_BATCH, &moved);
    printf("settle: %s, %lld commissions now available (%lld ms)\n", err_code(e), (long long)moved,
           (long long)((clock_mono_us() - t0) / 1000));
    return e != ERR_OK;
}

static int cmd_backup(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg;
    if (rest_len != 1 || rest[0][0] == '-' || !rest[0][0]) {
        fprintf(stderr, "usage: quanzi backup FILE\n");
        return 2;
    }
    struct db *db = NULL;
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    struct errinfo ei = {0};
    int64_t bytes = 0, t0 = clock_mono_us();
    if (db_backup(db, rest[0], &bytes, &ei) != ERR_OK)
        return fail(&ei);
    printf("backup: %s, %lld KiB, checked (%lld ms)\n", rest[0], (long long)(bytes / 1024),
           (long long)((clock_mono_us() - t0) / 1000));
    return 0;
}

/* quanzi payments reconcile: what the reconcile_wechatpay job does, now, for any age */
static int cmd_payments(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg;
    if (rest_len != 1 || strcmp(rest[0], "reconcile") != 0) {
        fprintf(stderr, "usage: quanzi payments reconcile\n");
        return 2;
    }
    struct db *db = NULL;
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    int64_t affected = 0;
    enum err e = wechatpay_reconcile(db, -1, &affected); /* whatever their age */
    if (e) {
        fprintf(stderr, "quanzi: payments reconcile: %s\n", err_code(e));
        return 1;
    }
    printf("payments reconcile: %lld settled\n", (long long)affected);
    return 0;
}

static int cmd_ledger(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg;
    struct db *db = NULL;
    int64_t problems = 0;
    if (rest_len != 1 || strcmp(rest[0], "check") != 0) {
        fprintf(stderr, "usage: quanzi ledger check\n");
        return 2;
    }
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    enum err e = ledger_check(db, stdout, &problems);
    if (e) {
        fprintf(stderr, "quanzi: ledger check: %s\n", err_code(e));
        return 1;
    }
    printf("ledger check: %s (%lld problems)\n", problems ? "FAILED" : "ok", (long long)problems);
    return problems ? 1 : 0;
}

static void print_audit(const struct audit *a)
{
    printf("shop %lld: %s\n", (long long)a->shop_id, a->ok ? "ok" : "FAILED");
    for (int i = 0; i < AUDIT_FINDINGS; i++) {
        const struct audit_finding *f = &a->f[i];
        printf("  %-30s %12lld  %s  (RULE: %s) %s\n", f->name, (long long)f->value,
               f->required ? (f->ok ? "ok  " : "FAIL") : (f->ok ? "    " : "flag"), f->rule,
               f->about);
        for (size_t j = 0; j < f->n_rows; j++) {
            printf("    ");
            for (int c = 0; c < AUDIT_COLS; c++)
                if (f->cols[c])
                    printf(" %s=%lld", f->cols[c], (long long)f->rows[j][c]);
            putchar('\n');
        }
        if ((int64_t)f->n_rows < f->count)
            printf("     ... %lld rows in all\n", (long long)f->count);
    }
}

static int cmd_audit(const struct config *cfg, const char **rest, int rest_len)
{
    (void)cfg;
    struct db *db = NULL;
    int64_t shop = 0;
    bool as_json = false;
    for (int i = 0; i < rest_len; i++) {
        if (!strcmp(rest[i], "--json"))
            as_json = true;
        else if (!strcmp(rest[i], "--shop") && i + 1 < rest_len &&
                 text_parse_id(rest[i + 1], strlen(rest[i + 1]), &shop))
            i++;
        else {
            fprintf(stderr, "usage: quanzi audit [--shop ID] [--json]\n");
            return 2;
        }
    }
    int rc = open_migrated(&db);
    if (rc)
        return rc;
    struct arena a;
    arena_init(&a, 64 * 1024 * 1024);
    int64_t *ids = &shop;
    size_t n = 1;
    enum err e = shop ? ERR_OK : audit_shop_ids(db, &a, &ids, &n);
    json_t *all = json_array();
    bool ok = true;
    for (size_t i = 0; e == ERR_OK && i < n; i++) {
        struct audit au;
        if ((e = audit_shop(db, ids[i], &a, &au)))
            break;
        ok = ok && au.ok;
        if (as_json)
            json_array_append_new(all, api_audit_json(&au));
        else
            print_audit(&au);
    }
    if (e == ERR_OK && as_json) {
        json_dumpf(all, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(all);
    arena_release(&a);
    if (e) {
        fprintf(stderr, "quanzi: audit: %s\n", err_code(e));
        return 1;
    }
    return ok ? 0 : 1;
}

/*
 * The commands, one table (git.c's): name, what it runs, how it is called,
 * what it does (the help text is made from it), and whether it serves (its
 * connections commit in groups).
 */
static const struct cli_command {
    const char *name;
    int (*run)(const struct config *cfg, const char **rest, int rest_len);
    const char *args; /* "": it takes none, and is refused any */
    const char *about;
    bool serves;
} commands[] = {
    {"serve", cmd_serve, "", "run the HTTP server", true},
    {"migrate", cmd_migrate, "", "apply pending database migrations", false},
    {"demo", cmd_demo, "", "create the demo shop if it is missing", false},
    {"admin", cmd_admin, "create --login L --name N", "create a platform admin (password on stdin)",
     false},
    {"jobs", cmd_jobs, "run [NAME]", "run background jobs now (all due, or NAME)", false},
    {"settle", cmd_settle, "", "make commission of completed orders withdrawable", false},
    {"payments", cmd_payments, "reconcile",
     "ask WeChat Pay about every open payment, refund and transfer now, and apply what it says",
     false},
    {"ledger", cmd_ledger, "check",
     "verify the ledger's invariants; non-zero exit and one line per broken row if any fails",
     false},
    {"audit", cmd_audit, "[--shop ID] [--json]",
     "the compliance audit of one shop or all; non-zero exit if a required finding fails", false},
    {"migrate-data", cmd_migrate_data, "--from FILE --to URL",
     "copy a SQLite database into PostgreSQL", false},
    {"backup", cmd_backup, "FILE",
     "an online backup of the SQLite database into FILE (new), while the server runs", false},
};
#define COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: quanzi <command> [settings]\n\ncommands:\n");
    for (size_t i = 0; i < COMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", commands[i].name, commands[i].args[0] ? " " : "",
                 commands[i].args);
        /* the text wrapped at 80 columns, under itself */
        const char *t = commands[i].about;
        bool first = true;
        while (*t) {
            int w = (int)strlen(t);
            if (w > 43) {
                w = 43;
                while (w > 0 && t[w] != ' ')
                    w--;
                if (w == 0)
                    w = 43;
            }
            fprintf(f, "  %-34s %.*s\n", first ? head : "", w, t);
            first = false;
            t += w;
            while (*t == ' ')
                t++;
        }
    }
    fprintf(f, "  %-34s %s\n  %-34s %s\n\n", "version", "print the version", "help",
            "this text and every setting");
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("quanzi %s\n", QUANZI_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        config_print_help();
        printf("On this machine db_cache_mb 0 is %lld MiB.\n",
               (long long)(db_default_cache_kib() / 1024));
        return 0;
    }
    const struct cli_command *c = NULL;
    for (size_t i = 0; i < COMMANDS && !c; i++)
        if (!strcmp(cmd, commands[i].name))
            c = &commands[i];
    if (!c) {
        fprintf(stderr, "quanzi: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    struct config cfg;
    const char **rest = calloc((size_t)argc, sizeof *rest);
    int rest_len = 0;
    int rc = setup(&cfg, argc - 2, argv + 2, rest, &rest_len, c->serves);
    if (!rc && !c->args[0] && rest_len > 0) {
        fprintf(stderr, "usage: quanzi %s (it takes no arguments)\n", c->name);
        rc = 2;
    }
    if (!rc)
        rc = c->run(&cfg, rest, rest_len);
    teardown();
    free(rest);
    return rc;
}
