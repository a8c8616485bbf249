/*
 * harness.h - API tests against a real server.
 *
 * srv_start() runs the quanzi binary (QUANZI_BIN) as `serve` on 127.0.0.1
 * with port 0, a fresh temporary data directory and the test clock, and
 * waits for its ready file. http() sends one request with libcurl and
 * parses the JSON answer. db_count() reads the server's own database to
 * check which rows were (or were not) written. srv_stop() sends SIGTERM
 * and returns the exit status: a clean, leak-free shutdown is 0.
 */
#ifndef QUANZI_TESTS_HARNESS_H
#define QUANZI_TESTS_HARNESS_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct db;

struct srv {
    pid_t pid;
    int port;
    char dir[256];
    char db_url[320];
    char log_path[320];
    struct db *db; /* the test's own connection to the server's database */
};

struct resp {
    long status;
    json_t *json; /* parsed body, or NULL */
    char *body;
    size_t len;
    char *headers; /* raw response headers */
};

/*
 * A fresh, empty database for one test: a SQLite file in `dir`, or, when
 * QUANZI_TEST_DB=postgres, a new database on the test cluster (libpq finds it
 * through PGHOST/PGPORT/PGUSER). test_db_drop() deletes a PostgreSQL one.
 */
void test_db_create(const char *dir, char *url, size_t len);
void test_db_drop(const char *url);
int test_on_postgres(void);

/* extra: NULL-terminated extra arguments for `quanzi serve`, or NULL */
void srv_start(struct srv *s, const char *const *extra);
/* Like srv_start() on an existing database (url), which srv_stop() then drops. */
void srv_start_db(struct srv *s, const char *url, const char *const *extra);
int srv_stop(struct srv *s);
/* Runs `quanzi ledger check` on the server's database; its exit status. */
int srv_ledger_check(const struct srv *s);
/* A TCP connection to the server (a socket), or -1: for requests written by hand. */
int srv_raw_connect(const struct srv *s);
/* Removes a server's folder (its log, ready file and SQLite files). */
void srv_remove_dir(const char *dir);

/*
 * Sends method path with an optional bearer token and JSON body.
 * headers: NULL-terminated "Name: value" strings, or NULL.
 * The response must be released with resp_free().
 */
long http_ex(struct srv *s, const char *method, const char *path, const char *token,
             const char *body, const char *const *headers, struct resp *out);
long http(struct srv *s, const char *method, const char *path, const char *token, const char *body,
          struct resp *out);
/* Like http_ex() with a binary body of n bytes (no Content-Type added). */
long http_bytes(struct srv *s, const char *method, const char *path, const char *body, size_t n,
                const char *const *headers, struct resp *out);
void resp_free(struct resp *r);

/* One of the requests http_all() sends at once: what to send, and what came back. */
struct call {
    const char *method, *path, *token, *body;
    const char *header; /* extra "Name: value" lines (separated by '\n'), or NULL */
    long status;
    char code[48]; /* the answer's error.code; "" when it has none */
    int64_t id;    /* the answer's "id"; 0 when it has none */
};
/* Sends each call from its own thread, all released together, and returns when every one has
 * answered: for races. Nothing is asserted in the threads; the caller reads the answers. */
void http_all(struct srv *s, struct call *calls, size_t n);
/* How many calls answered `status` (and, when `code` is not NULL, with that error code). */
int count_answers(const struct call *calls, size_t n, long status, const char *code);
/* Value of response header `name` (case-insensitive), malloc'd, or NULL. */
char *resp_header(const struct resp *r, const char *name);

/* "error.code"-style lookups into a JSON object; NULL/INT64_MIN when missing. */
json_t *jget(json_t *o, const char *path);
const char *jstr(json_t *o, const char *path);
int64_t jint(json_t *o, const char *path);

/* printf-style builder; the result stays valid for the next 7 calls. */
const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* One integer from the server's database, e.g. "SELECT COUNT(*) FROM users". */
int64_t db_scalar(struct srv *s, const char *sql);
/* The server's log so far (stderr), in a buffer of the harness's (the last 512 KiB read). */
const char *srv_log(const struct srv *s);

/* Registers a member; returns its token (malloc'd) and id. Fails the test on error. */
char *register_user(struct srv *s, const char *login, const char *name, int64_t *id);
/* Creates a shop owned by `token`; returns its id. */
int64_t create_shop(struct srv *s, const char *token, const char *slug);
/* POSTs `body` to `path`: it must answer 201 with an id, which it returns. */
int64_t create(struct srv *s, const char *path, const char *token, const char *body);

/* Asserts an error answer: status, stable code, and the field it names (NULL: none). */
void expect_error_at(const char *file, int line, struct resp *r, long status, const char *code,
                     const char *field);
#define expect_error(r, status, code, field)                                                       \
    expect_error_at(__FILE__, __LINE__, (r), (status), (code), (field))
/* Sends a request that must be refused: its status, code and field (expect_error). */
void refused_at(const char *file, int line, struct srv *s, const char *method, const char *path,
                const char *token, const char *body, long status, const char *code,
                const char *field);
#define refused(s, method, path, token, body, status, code, field)                                 \
    refused_at(__FILE__, __LINE__, (s), (method), (path), (token), (body), (status), (code),       \
               (field))

/* Sends a request that must answer `status` (a set-up step, an action that is allowed);
 * another answer is printed with the caller's line and fails the test. */
void answers_at(const char *file, int line, struct srv *s, const char *method, const char *path,
                const char *token, const char *body, long status);
#define answers(s, method, path, token, body, status)                                              \
    answers_at(__FILE__, __LINE__, (s), (method), (path), (token), (body), (status))

/* A request body that must be refused, and how (data-driven tests). */
struct bad_case {
    const char *body;
    const char *code;
    const char *field;
};

/* Frees every pointer listed (the tokens a test file registered). */
#define free_all(...)                                                                              \
    do {                                                                                           \
        void *const free_all_[] = {__VA_ARGS__};                                                   \
        for (size_t free_i_ = 0; free_i_ < sizeof free_all_ / sizeof free_all_[0]; free_i_++)      \
            free(free_all_[free_i_]);                                                              \
    } while (0)

/* The server most test files share, started and stopped around the whole group. */
extern struct srv S;
int srv_group_up(void **state);
int srv_group_down(void **state);

#define TEST_PASSWORD "correct horse battery"

#endif
