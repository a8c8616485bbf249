#define _XOPEN_SOURCE 700 /* nftw */
#include "harness.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"

const char *srv_log(const struct srv *s)
{
    static char log[512 * 1024];
    size_t n = 0;
    FILE *f = fopen(s->log_path, "r");
    if (f) {
        n = fread(log, 1, sizeof log - 1, f);
        fclose(f);
    }
    log[n] = '\0';
    return log;
}

static void dump_log(const struct srv *s)
{
    FILE *f = fopen(s->log_path, "r");
    if (!f)
        return;
    fprintf(stderr, "---- server log (%s) ----\n", s->log_path);
    char line[4096];
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
    fprintf(stderr, "---- end of server log ----\n");
}

int test_on_postgres(void)
{
    const char *v = getenv("QUANZI_TEST_DB");
    return v && strcmp(v, "postgres") == 0;
}

static struct db *maintenance(void)
{
    struct db *db = NULL;
    struct errinfo ei = {0};
    struct db_options opt = {.url = "postgresql:///postgres", .sync = DB_SYNC_NORMAL};
    if (db_open(&opt, &db, &ei) != ERR_OK) {
        fprintf(stderr, "cannot reach the test PostgreSQL cluster: %s\n", ei.message);
        abort();
    }
    return db;
}

void test_db_create(const char *dir, char *url, size_t len)
{
    if (!test_on_postgres()) {
        snprintf(url, len, "%s/quanzi.db", dir);
        return;
    }
    static int counter;
    char name[64], sql[128];
    snprintf(name, sizeof name, "qz_%d_%d_%ld", (int)getpid(), ++counter, (long)time(NULL));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    struct db *db = maintenance();
    if (db_exec(db, sql) != ERR_OK) {
        fprintf(stderr, "cannot create test database: %s\n", db_errmsg(db));
        abort();
    }
    db_close(db);
    snprintf(url, len, "postgresql:///%s", name);
}

void test_db_drop(const char *url)
{
    if (!db_url_is_postgres(url))
        return;
    const char *name = strrchr(url, '/') + 1;
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    struct db *db = maintenance();
    if (db_exec(db, sql) != ERR_OK)
        fprintf(stderr, "cannot drop test database %s: %s\n", name, db_errmsg(db));
    db_close(db);
}

void srv_start(struct srv *s, const char *const *extra)
{
    srv_start_db(s, NULL, extra);
}

void srv_start_db(struct srv *s, const char *url, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    const char *bin = getenv("QUANZI_BIN");
    if (!bin) {
        fprintf(stderr, "QUANZI_BIN is not set\n");
        abort();
    }
    snprintf(s->dir, sizeof s->dir, "%s/quanzi-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        abort();
    }
    char ready[300];
    snprintf(ready, sizeof ready, "%s/ready", s->dir);
    snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);
    if (url)
        snprintf(s->db_url, sizeof s->db_url, "%s", url);
    else
        test_db_create(s->dir, s->db_url, sizeof s->db_url);
    fprintf(stderr, "# server database: %s\n", s->db_url);

    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--data-dir";
    argv[n++] = s->dir;
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    argv[n++] = "--test-clock";
    argv[n++] = "--threads";
    argv[n++] = "4";
    /* tests make many accounts from one address; test_ratelimit sets its own limits after */
    argv[n++] = "--signups-per-ip-hour";
    argv[n++] = "1000000";
    argv[n++] = "--signups-per-minute";
    argv[n++] = "1000000";
    argv[n++] = "--db";
    argv[n++] = s->db_url;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        abort();
    }
    if (pid == 0) {
        /* the server dies with its test, and never holds the test's stdout (CTest waits
         * for that pipe to close) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *log = freopen(s->log_path, "w", stderr);
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)log;
        (void)null;
        execv(bin, (char *const *)argv);
        perror("execv");
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 3000; i++) { /* up to 30 s under sanitizers */
        FILE *f = fopen(ready, "r");
        if (f) {
            int port = 0;
            if (fscanf(f, "%d", &port) == 1)
                s->port = port;
            fclose(f);
            if (s->port)
                break;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            dump_log(s);
            fprintf(stderr, "server exited before it was ready\n");
            abort();
        }
        usleep(10000);
    }
    if (!s->port) {
        dump_log(s);
        kill(pid, SIGKILL);
        fprintf(stderr, "server did not become ready\n");
        abort();
    }
    struct db_options opt = {.url = s->db_url, .sync = DB_SYNC_NORMAL, .busy_timeout_ms = 5000};
    struct errinfo ei = {0};
    if (db_open(&opt, &s->db, &ei) != ERR_OK) {
        fprintf(stderr, "cannot open test db: %s\n", ei.message);
        abort();
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void srv_remove_dir(const char *dir)
{
    /* the folder mkdtemp made: its files, images/, posters/, keys/, and itself */
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int srv_raw_connect(const struct srv *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int srv_ledger_check(const struct srv *s)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' ledger check --data-dir '%s' --db '%s' 2>&1",
             getenv("QUANZI_BIN"), s->dir, s->db_url);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, p))
        if (lines++ < 40 && strncmp(line, "ledger check: ok", 16) != 0)
            fprintf(stderr, "# %s", line);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int srv_stop(struct srv *s)
{
    if (s->db)
        db_close(s->db);
    s->db = NULL;
    int status = 0; /* a server already reaped by the test counts as a clean exit */
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 3000; i++) {
            if (waitpid(s->pid, &status, WNOHANG) == s->pid)
                break;
            usleep(10000);
            if (i == 2999) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &status, 0);
            }
        }
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (s->pid > 0 && code == 0 && srv_ledger_check(s) != 0)
        code = 99; /* DESIGN §9: the ledger's invariants hold after every test */
    test_db_drop(s->db_url);
    if (code != 0)
        dump_log(s);
    else if (getenv("QUANZI_KEEP_LOGS"))
        fprintf(stderr, "# server log kept: %s\n", s->log_path);
    else
        srv_remove_dir(s->dir);
    s->pid = 0;
    return code;
}

struct grow {
    char *p;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct grow *g = ud;
    size_t n = size * nmemb;
    char *q = realloc(g->p, g->len + n + 1);
    if (!q)
        return 0;
    memcpy(q + g->len, ptr, n);
    g->p = q;
    g->len += n;
    g->p[g->len] = '\0';
    return n;
}

static long request(struct srv *s, const char *method, const char *path, const char *token,
                    const char *body, size_t body_len, bool json, const char *const *headers,
                    struct resp *out);

long http_ex(struct srv *s, const char *method, const char *path, const char *token,
             const char *body, const char *const *headers, struct resp *out)
{
    return request(s, method, path, token, body, body ? strlen(body) : 0, true, headers, out);
}

long http_bytes(struct srv *s, const char *method, const char *path, const char *body, size_t n,
                const char *const *headers, struct resp *out)
{
    return request(s, method, path, NULL, body, n, false, headers, out);
}

static long request(struct srv *s, const char *method, const char *path, const char *token,
                    const char *body, size_t body_len, bool json, const char *const *headers,
                    struct resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    struct grow b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    char auth[256];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
    }
    bool custom_type = false;
    for (int i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], "Content-Type:", 13) == 0)
            custom_type = true;
    if (body && json && !custom_type)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    bool custom_expect = false;
    for (int i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], "Expect:", 7) == 0)
            custom_expect = true;
    if (!custom_expect)
        hl = curl_slist_append(hl, "Expect:");
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
        out->status = -1;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    out->body = b.p;
    out->len = b.len;
    out->headers = h.p;
    if (b.p && b.len) {
        json_error_t je;
        out->json = json_loadb(b.p, b.len, 0, &je);
    }
    return out->status;
}

long http(struct srv *s, const char *method, const char *path, const char *token, const char *body,
          struct resp *out)
{
    return http_ex(s, method, path, token, body, NULL, out);
}

void resp_free(struct resp *r)
{
    json_decref(r->json);
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

char *resp_header(const struct resp *r, const char *name)
{
    if (!r->headers)
        return NULL;
    size_t n = strlen(name);
    const char *p = r->headers;
    while (p && *p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            char *out = malloc(len + 1);
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

json_t *jget(json_t *o, const char *path)
{
    char key[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if (json_is_array(o))
            o = json_array_get(o, (size_t)atoi(key));
        else
            o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

const char *jstr(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t jint(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
}

struct caller {
    struct srv *s;
    struct call *c;
    pthread_barrier_t *go;
};

static void *call_one(void *arg)
{
    struct caller *x = arg;
    struct call *c = x->c;
    /* header: one line, or several separated by '\n' */
    char lines[2048];
    const char *headers[9] = {NULL};
    snprintf(lines, sizeof lines, "%s", c->header ? c->header : "");
    size_t nh = 0;
    for (char *save = NULL, *h = strtok_r(lines, "\n", &save); h && nh < 8;
         h = strtok_r(NULL, "\n", &save))
        headers[nh++] = h;
    struct resp r;
    pthread_barrier_wait(x->go);
    c->status = http_ex(x->s, c->method, c->path, c->token, c->body, headers, &r);
    const char *code = r.json ? jstr(r.json, "error.code") : NULL;
    snprintf(c->code, sizeof c->code, "%s", code ? code : "");
    int64_t id = r.json ? jint(r.json, "id") : INT64_MIN;
    c->id = id == INT64_MIN ? 0 : id;
    resp_free(&r);
    return NULL;
}

void http_all(struct srv *s, struct call *calls, size_t n)
{
    pthread_t *t = calloc(n, sizeof *t);
    struct caller *x = calloc(n, sizeof *x);
    pthread_barrier_t go;
    pthread_attr_t attr;
    assert_non_null(t);
    assert_non_null(x);
    assert_int_equal(pthread_barrier_init(&go, NULL, (unsigned)n), 0);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* hundreds of callers at once */
    for (size_t i = 0; i < n; i++) {
        x[i] = (struct caller){.s = s, .c = &calls[i], .go = &go};
        assert_int_equal(pthread_create(&t[i], &attr, call_one, &x[i]), 0);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&go);
    free(x);
    free(t);
}

int count_answers(const struct call *calls, size_t n, long status, const char *code)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += calls[i].status == status && (!code || !strcmp(calls[i].code, code));
    return k;
}

const char *fmt(const char *f, ...)
{
    /* a ring of buffers per thread, so that one call's arguments may use fmt() several
     * times and test threads never share one */
    static _Thread_local char bufs[8][16384];
    static _Thread_local int next;
    char *buf = bufs[next];
    next = (next + 1) % 8;
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof bufs[0], f, ap);
    va_end(ap);
    return buf;
}

int64_t db_scalar(struct srv *s, const char *sql)
{
    struct db_stmt *st = NULL;
    bool row = false;
    int64_t v = INT64_MIN;
    if (db_prepare_uncached(s->db, sql, &st) != ERR_OK) {
        fprintf(stderr, "bad test SQL: %s\n", sql);
        fail();
    }
    if (db_step(st, &row) == ERR_OK && row)
        v = db_col_int64(st, 0);
    db_done(st);
    return v;
}

char *register_user(struct srv *s, const char *login, const char *name, int64_t *id)
{
    struct resp r;
    http(s, "POST", "/api/v1/auth/register", NULL,
         fmt("{\"login\":\"%s\",\"password\":\"%s\",\"display_name\":\"%s\"}", login, TEST_PASSWORD,
             name),
         &r);
    if (r.status != 201)
        fprintf(stderr, "register %s: %ld %s\n", login, r.status, r.body ? r.body : "");
    assert_int_equal(r.status, 201);
    char *token = strdup(jstr(r.json, "token"));
    if (id)
        *id = jint(r.json, "user.id");
    resp_free(&r);
    return token;
}

int64_t create(struct srv *s, const char *path, const char *token, const char *body)
{
    struct resp r;
    http(s, "POST", path, token, body, &r);
    if (r.status != 201)
        fprintf(stderr, "create %s: %ld %s\n", path, r.status, r.body ? r.body : "");
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_true(id > 0);
    resp_free(&r);
    return id;
}

int64_t create_shop(struct srv *s, const char *token, const char *slug)
{
    return create(s, "/api/v1/shops", token,
                  fmt("{\"name\":\"Shop %s\",\"slug\":\"%s\",\"story\":\"A story.\"}", slug, slug));
}

void expect_error_at(const char *file, int line, struct resp *r, long status, const char *code,
                     const char *field)
{
    if (r->status != status || !r->json)
        fprintf(stderr, "%s:%d: got %ld %s\n", file, line, r->status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    assert_non_null(r->json);
    assert_string_equal(jstr(r->json, "error.code"), code);
    assert_non_null(jstr(r->json, "error.message"));
    if (field)
        assert_string_equal(jstr(r->json, "error.field"), field);
    else if (jget(r->json, "error.field") && !json_is_null(jget(r->json, "error.field")))
        fail_msg("%s:%d: expected no error.field, got \"%s\" (%s)", file, line,
                 jstr(r->json, "error.field"), r->body);
}

void refused_at(const char *file, int line, struct srv *s, const char *method, const char *path,
                const char *token, const char *body, long status, const char *code,
                const char *field)
{
    struct resp r;
    http(s, method, path, token, body, &r);
    expect_error_at(file, line, &r, status, code, field);
    resp_free(&r);
}

void answers_at(const char *file, int line, struct srv *s, const char *method, const char *path,
                const char *token, const char *body, long status)
{
    struct resp r;
    http(s, method, path, token, body, &r);
    if (r.status != status)
        fprintf(stderr, "%s:%d: %s %s: got %ld %s\n", file, line, method, path, r.status,
                r.body ? r.body : "");
    assert_int_equal(r.status, status);
    resp_free(&r);
}

struct srv S;

int srv_group_up(void **state)
{
    (void)state;
    srv_start(&S, NULL);
    return 0;
}

int srv_group_down(void **state)
{
    (void)state;
    return srv_stop(&S) == 0 ? 0 : -1; /* a clean, sanitizer-quiet shutdown */
}
