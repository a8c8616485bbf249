#include "domain/account.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain/check.h"
#include "domain/password.h"
#include "domain/ratelimit.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

static int64_t session_lifetime_ms = 30 * MS_PER_DAY;
static struct ratelimit *fails_by_account;
static struct ratelimit *fails_by_ip;
static struct ratelimit *signups_by_ip; /* accounts made from one address in an hour */
static struct ratelimit *signups_all;   /* and by anyone in a minute (key "all") */

/*
 * Sessions this process looked up, so that a request need not read them
 * again: on SQLite each lookup ran under the write lock for requests that
 * write, two per order. An entry is good while its session is unexpired, for
 * at most SESSION_CACHE_MS, and while nothing that revokes or changes a
 * session (a logout, a change to a user's rights: session_changed()) happened
 * in this process since it was filled. Only stores with one server process
 * use it (db_caps: SQLite), which makes those changes itself. Several processes sharing a
 * PostgreSQL database would each miss the others' logouts, so they read the
 * table every time. Direct-mapped by the token's hash, which is uniform.
 */
#define SESSION_CACHE_SLOTS 4096
#define SESSION_CACHE_MS (10 * 1000)

struct session_slot {
    char hash[TOKEN_HASH_HEX];
    int64_t user_id;
    int64_t expires_at_ms;
    int64_t filled_at_ms;
    uint64_t gen;
    bool is_admin;
};

static struct session_slot session_cache[SESSION_CACHE_SLOTS];
static pthread_mutex_t session_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t session_gen = 1; /* a slot filled under an older one is stale */

static void session_changed(void)
{
    atomic_fetch_add(&session_gen, 1);
}

static struct session_slot *session_slot(const char hash[TOKEN_HASH_HEX])
{
    unsigned idx = 0;
    for (int i = 0; i < 8; i++)
        idx = idx << 4 | (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return &session_cache[idx % SESSION_CACHE_SLOTS];
}

static bool session_cached(const char hash[TOKEN_HASH_HEX], int64_t now, struct session_user *out)
{
    struct session_slot *s = session_slot(hash);
    bool hit = false;
    pthread_mutex_lock(&session_cache_lock);
    if (s->gen == atomic_load(&session_gen) && now < s->expires_at_ms &&
        now - s->filled_at_ms < SESSION_CACHE_MS && now >= s->filled_at_ms &&
        memcmp(s->hash, hash, TOKEN_HASH_HEX) == 0) {
        out->user_id = s->user_id;
        out->is_admin = s->is_admin;
        hit = true;
    }
    pthread_mutex_unlock(&session_cache_lock);
    return hit;
}

static void session_remember(const char hash[TOKEN_HASH_HEX], uint64_t gen, int64_t now,
                             int64_t expires_at, const struct session_user *u)
{
    struct session_slot *s = session_slot(hash);
    pthread_mutex_lock(&session_cache_lock);
    memcpy(s->hash, hash, TOKEN_HASH_HEX);
    s->user_id = u->user_id;
    s->is_admin = u->is_admin;
    s->expires_at_ms = expires_at;
    s->filled_at_ms = now;
    s->gen = gen; /* read before the row: a logout meanwhile leaves the slot stale */
    pthread_mutex_unlock(&session_cache_lock);
}

void account_init(int64_t lifetime_ms, int64_t signups_per_ip_hour, int64_t signups_per_minute)
{
    session_changed();
    session_lifetime_ms = lifetime_ms;
    ratelimit_free(fails_by_account);
    ratelimit_free(fails_by_ip);
    ratelimit_free(signups_by_ip);
    ratelimit_free(signups_all);
    signups_by_ip = ratelimit_new(16384, 60 * 60 * 1000, signups_per_ip_hour);
    signups_all = ratelimit_new(64, 60 * 1000, signups_per_minute);
    fails_by_account = ratelimit_new(16384, LIMIT_LOGIN_WINDOW_MS, LIMIT_LOGIN_FAILS_PER_ACCOUNT);
    fails_by_ip = ratelimit_new(16384, LIMIT_LOGIN_WINDOW_MS, LIMIT_LOGIN_FAILS_PER_IP);
}

void account_release(void)
{
    ratelimit_free(fails_by_account);
    ratelimit_free(fails_by_ip);
    ratelimit_free(signups_by_ip);
    ratelimit_free(signups_all);
    fails_by_account = fails_by_ip = signups_by_ip = signups_all = NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool email_char(char c, bool domain)
{
    if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.')
        return true;
    return !domain && (c == '_' || c == '+' || c == '%');
}

enum err account_normalize_login(const char *in, size_t len, char out[LIMIT_LOGIN_BYTES + 1],
                                 struct errinfo *ei)
{
    static const char field[] = "login";
    text_trim(&in, &len);
    if (len == 0)
        return err_set(ei, ERR_INVALID, field,
                       "login must be a mobile number or an e-mail address");
    if (len > LIMIT_LOGIN_BYTES)
        return err_set(ei, ERR_INVALID, field, "login is longer than %d characters",
                       LIMIT_LOGIN_BYTES);
    if (memchr(in, '@', len)) {
        size_t at = 0, dots_after = 0, n = 0;
        bool seen_at = false; /* at alone cannot tell: an '@' may come first */
        for (size_t i = 0; i < len; i++) {
            char c = in[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c == '@') {
                if (seen_at)
                    goto bad_email;
                seen_at = true;
                at = i;
            } else if (!email_char(c, seen_at)) {
                goto bad_email;
            } else if (seen_at && c == '.') {
                if (in[i - 1] == '.' || in[i - 1] == '@')
                    goto bad_email;
                dots_after++;
            }
            out[n++] = c;
        }
        out[n] = '\0';
        if (at == 0 || at > 64 || dots_after == 0 || out[n - 1] == '.' || out[n - 1] == '-' ||
            out[at + 1] == '-')
            goto bad_email;
        return ERR_OK;
    bad_email:
        return err_set(ei, ERR_INVALID, field, "login is not a valid e-mail address");
    }
    /* a mobile number: digits, optionally +86 or another +country prefix */
    size_t n = 0;
    bool plus = false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '-')
            continue;
        if (c == '+' && n == 0 && !plus) {
            plus = true;
            continue;
        }
        if (!is_digit(c) || n >= 20)
            return err_set(ei, ERR_INVALID, field,
                           "login must be a mobile number or an e-mail address");
        out[n++] = c;
    }
    out[n] = '\0';
    if (plus && n > 2 && out[0] == '8' && out[1] == '6') {
        memmove(out, out + 2, n - 1);
        n -= 2;
        plus = false;
    }
    if (!plus && n == 11 && out[0] == '1' && out[1] >= '3' && out[1] <= '9')
        return ERR_OK;
    if (plus && n >= 8 && n <= 15) {
        memmove(out + 1, out, n + 1);
        out[0] = '+';
        return ERR_OK;
    }
    return err_set(ei, ERR_INVALID, field,
                   "login must be an 11-digit mobile number (1xxxxxxxxxx), +<country><number>, "
                   "or an e-mail address");
}

/* The passwords most often seen in leaks, Chinese sites included. */
static const char *const common_passwords[] = {
    "12345678",  "123456789", "1234567890", "password", "password1",   "11111111",
    "00000000",  "88888888",  "66666666",   "12341234", "87654321",    "qwertyui",
    "qwerty123", "abc12345",  "a1234567",   "iloveyou", "woaini1314",  "aa123456",
    "123123123", "1q2w3e4r",  "qwerty12",   "abcd1234", "password123", "11223344",
};

enum err account_check_password(const char *pw, size_t len, const char *login, struct errinfo *ei)
{
    static const char field[] = "password";
    if (len > LIMIT_PASSWORD_MAX_BYTES)
        return err_set(ei, ERR_WEAK_PASSWORD, field, "password is longer than %d bytes",
                       LIMIT_PASSWORD_MAX_BYTES);
    long chars = text_utf8_chars(pw, len);
    if (chars < LIMIT_PASSWORD_MIN_CHARS)
        return err_set(ei, ERR_WEAK_PASSWORD, field, "password needs at least %d characters",
                       LIMIT_PASSWORD_MIN_CHARS);
    if (memchr(pw, '\0', len))
        return err_set(ei, ERR_WEAK_PASSWORD, field, "password may not contain NUL");
    bool same = true;
    for (size_t i = 1; i < len; i++)
        if (pw[i] != pw[0])
            same = false;
    if (same)
        return err_set(ei, ERR_WEAK_PASSWORD, field, "password may not repeat one character");
    for (size_t i = 0; i < sizeof common_passwords / sizeof common_passwords[0]; i++)
        if (strlen(common_passwords[i]) == len && strncasecmp(common_passwords[i], pw, len) == 0)
            return err_set(ei, ERR_WEAK_PASSWORD, field,
                           "password is one of the most common ones; choose another");
    if (login && strlen(login) == len && strncasecmp(login, pw, len) == 0)
        return err_set(ei, ERR_WEAK_PASSWORD, field, "password may not be the login");
    return ERR_OK;
}

enum err account_check_name(const char *name, size_t len, const char *field, int max_chars,
                            struct errinfo *ei)
{
    return check_name(name, len, field, max_chars, ei);
}

static enum err session_create(struct db *db, int64_t user_id, int64_t now,
                               struct session_new *sess)
{
    static const char sql[] = "INSERT INTO sessions (user_id, token_hash, created_at, expires_at)"
                              " VALUES (?, ?, ?, ?)";
    char hash[TOKEN_HASH_HEX];
    token_new(sess->token);
    token_hash(sess->token, TOKEN_LEN, hash);
    sess->expires_at_ms = now + session_lifetime_ms;
    return db_run(db, sql, DB_INT(user_id), DB_STR(hash), DB_INT(now), DB_INT(sess->expires_at_ms));
}

struct register_args {
    const char *login, *hash, *name;
    size_t name_len;
    int64_t now;
    struct account *out;
    struct session_new *sess;
    struct errinfo *ei;
};

static enum err register_tx(struct db *db, void *arg)
{
    static const char sql[] = "INSERT INTO users (login, password_hash, display_name, is_admin,"
                              " created_at) VALUES (?, ?, ?, 0, ?) RETURNING id";
    const struct register_args *q = arg;
    enum err e = db_value(db, sql, &q->out->id, DB_STR(q->login), DB_STR(q->hash),
                          DB_TEXT(q->name, q->name_len), DB_INT(q->now));
    if (e == ERR_CONFLICT)
        return err_set(q->ei, ERR_LOGIN_TAKEN, "login", "this login is already registered");
    return e ? e : session_create(db, q->out->id, q->now, q->sess);
}

enum err account_register(struct db *db, const char *login, size_t login_len, const char *password,
                          size_t password_len, const char *name, size_t name_len,
                          const char *client_ip, struct arena *a, struct account *out,
                          struct session_new *sess, int64_t *retry_after_ms, struct errinfo *ei)
{
    char norm[LIMIT_LOGIN_BYTES + 1];
    char hash[PASSWORD_HASH_MAX];
    int64_t now = clock_now_ms();
    size_t ip_len = client_ip ? strlen(client_ip) : 0;
    /* before any work: a flood of sign-ups costs a lookup each, not a password hash */
    if (client_ip && (ratelimit_blocked(signups_by_ip, client_ip, ip_len, now, retry_after_ms) ||
                      ratelimit_blocked(signups_all, "all", 3, now, retry_after_ms))) {
        LOG(LOG_WARN, "signup_limited", "ip=%s", client_ip);
        return err_set(ei, ERR_RATE_LIMITED, NULL,
                       "too many new accounts from here just now; try again later");
    }
    enum err e = account_normalize_login(login, login_len, norm, ei);
    if (!e)
        e = account_check_password(password, password_len, norm, ei);
    if (!e)
        e = account_check_name(name, name_len, "display_name", LIMIT_NAME_CHARS, ei);
    if (e)
        return e;
    if (client_ip) { /* a well-formed attempt counts, made or not (a taken login too) */
        ratelimit_hit(signups_by_ip, client_ip, ip_len, now);
        ratelimit_hit(signups_all, "all", 3, now);
    }
    e = password_hash(password, password_len, hash);
    if (e == ERR_RETRY && retry_after_ms)
        *retry_after_ms = 1000;
    if (e == ERR_RETRY)
        return err_set(ei, ERR_RETRY, NULL, "too many sign-ups at once; try again in a second");
    if (e)
        return e;
    struct register_args q = {.login = norm,
                              .hash = hash,
                              .name = name,
                              .name_len = name_len,
                              .now = now,
                              .out = out,
                              .sess = sess,
                              .ei = ei};
    e = db_tx_run(db, DB_TX_WRITE, register_tx, &q);
    if (e == ERR_OK) {
        out->login = arena_strdup(a, norm);
        out->display_name = arena_strndup(a, name, name_len);
        out->is_admin = false;
        out->created_at_ms = q.now;
        if (!out->login || !out->display_name)
            e = ERR_TOO_LARGE;
        LOG(LOG_INFO, "account_registered", "user_id=%lld", (long long)out->id);
    }
    return e;
}

struct wechat_args {
    const char *appid, *openid;
    int64_t now;
    struct account *out;
    struct session_new *sess;
    bool *created;
};

static enum err wechat_tx(struct db *db, void *arg)
{
    const struct wechat_args *q = arg;
    enum err e =
        db_value(db, "SELECT user_id FROM wechat_identities WHERE appid = ? AND openid = ?",
                 &q->out->id, DB_STR(q->appid), DB_STR(q->openid));
    *q->created = e == ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND) {
        /* a login of its own (not a phone, not an address that receives mail), and a
         * password hash that no password verifies */
        unsigned char digest[crypto_generichash_BYTES];
        char hex[2 * 16 + 1], login[64];
        char key[160];
        snprintf(key, sizeof key, "%s/%s", q->appid, q->openid);
        crypto_generichash(digest, sizeof digest, (const unsigned char *)key, strlen(key), NULL, 0);
        sodium_bin2hex(hex, sizeof hex, digest, 16);
        snprintf(login, sizeof login, "wx-%s@wechat.invalid", hex);
        e = db_value(db,
                     "INSERT INTO users (login, password_hash, display_name, is_admin, created_at)"
                     " VALUES (?, '!wechat', '微信用户', 0, ?) RETURNING id",
                     &q->out->id, DB_STR(login), DB_INT(q->now));
        if (!e)
            e = db_run(db,
                       "INSERT INTO wechat_identities (appid, openid, user_id, created_at)"
                       " VALUES (?, ?, ?, ?)",
                       DB_STR(q->appid), DB_STR(q->openid), DB_INT(q->out->id), DB_INT(q->now));
        if (e == ERR_CONFLICT)
            return ERR_RETRY; /* signed in meanwhile: run again to find them */
    }
    return e ? e : session_create(db, q->out->id, q->now, q->sess);
}

enum err account_wechat_signin(struct db *db, const char *appid, const char *openid,
                               struct arena *a, struct account *out, struct session_new *sess,
                               bool *created)
{
    struct wechat_args q = {appid, openid, clock_now_ms(), out, sess, created};
    enum err e = db_tx_run(db, DB_TX_WRITE, wechat_tx, &q);
    if (!e)
        e = account_get(db, out->id, a, out);
    if (!e && *created)
        LOG(LOG_INFO, "account_registered", "user_id=%lld via=wechat", (long long)out->id);
    return e;
}

enum err account_login(struct db *db, const char *login, size_t login_len, const char *password,
                       size_t password_len, const char *client_ip, struct arena *a,
                       struct account *out, struct session_new *sess, int64_t *retry_after_ms,
                       struct errinfo *ei)
{
    static const char sql[] =
        "SELECT id, password_hash, display_name, is_admin, created_at FROM users WHERE login = ?";
    char norm[LIMIT_LOGIN_BYTES + 1];
    struct db_stmt *st = NULL;
    int64_t now = clock_now_ms();
    size_t ip_len = client_ip ? strlen(client_ip) : 0;
    *retry_after_ms = 0;

    if (account_normalize_login(login, login_len, norm, NULL) != ERR_OK)
        snprintf(norm, sizeof norm, "%.*s", (int)(login_len < 200 ? login_len : 200), login);
    size_t norm_len = strlen(norm);
    if (ratelimit_blocked(fails_by_account, norm, norm_len, now, retry_after_ms) ||
        (ip_len && ratelimit_blocked(fails_by_ip, client_ip, ip_len, now, retry_after_ms))) {
        LOG(LOG_WARN, "login_rate_limited", "ip=%s", client_ip ? client_ip : "-");
        return err_set(ei, ERR_RATE_LIMITED, "login",
                       "too many failed logins; try again in %lld minutes",
                       (long long)(*retry_after_ms + 59999) / 60000);
    }

    enum err e = db_first(db, sql, &st, DB_STR(norm));
    bool row = e == ERR_OK;
    char hash[PASSWORD_HASH_MAX] = "";
    if (row) {
        size_t hlen = 0;
        const char *h = db_col_text(st, 1, &hlen);
        if (h && hlen < sizeof hash)
            memcpy(hash, h, hlen + 1);
        out->id = db_col_int64(st, 0);
        out->display_name = db_col_dup(st, 2, a);
        out->is_admin = db_col_int64(st, 3) != 0;
        out->created_at_ms = db_col_int64(st, 4);
        out->login = arena_strdup(a, norm);
        db_done(st);
    }
    if (e && e != ERR_NOT_FOUND)
        return e;

    bool ok = false;
    e = row && hash[0] ? password_verify(hash, password, password_len, &ok)
                       : password_verify_dummy(password, password_len); /* same time */
    if (e == ERR_RETRY) { /* the hash queue is full: nothing counted, come back in a second */
        *retry_after_ms = 1000;
        return err_set(ei, ERR_RETRY, NULL, "too many logins at once; try again in a second");
    }
    if (e)
        return e;
    if (!ok) {
        ratelimit_hit(fails_by_account, norm, norm_len, now);
        if (ip_len)
            ratelimit_hit(fails_by_ip, client_ip, ip_len, now);
        LOG(LOG_INFO, "login_failed", "ip=%s", client_ip ? client_ip : "-");
        return err_set(ei, ERR_BAD_CREDENTIALS, "password", "wrong login or password");
    }
    if (!out->display_name || !out->login)
        return ERR_TOO_LARGE;
    ratelimit_clear(fails_by_account, norm, norm_len);
    e = session_create(db, out->id, now, sess);
    if (e == ERR_OK)
        LOG(LOG_INFO, "login", "user_id=%lld", (long long)out->id);
    return e;
}

enum err account_session_lookup(struct db *db, const char *token, size_t len,
                                struct session_user *out)
{
    static const char sql[] = "SELECT s.user_id, s.expires_at, u.is_admin FROM sessions s"
                              " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?";
    if (len != TOKEN_LEN)
        return ERR_UNAUTHORIZED;
    char hash[TOKEN_HASH_HEX];
    token_hash(token, len, hash);
    int64_t now = clock_now_ms();
    bool cache = db_caps(db)->one_server;
    if (cache && session_cached(hash, now, out))
        return ERR_OK;
    uint64_t gen = atomic_load(&session_gen);
    struct db_stmt *st = NULL;
    int64_t expires_at = 0;
    enum err e = db_first(db, sql, &st, DB_STR(hash));
    if (e == ERR_NOT_FOUND)
        return ERR_UNAUTHORIZED;
    if (e)
        return e;
    if ((expires_at = db_col_int64(st, 1)) > now) {
        out->user_id = db_col_int64(st, 0);
        out->is_admin = db_col_int64(st, 2) != 0;
    } else {
        e = ERR_UNAUTHORIZED;
    }
    db_done(st);
    if (e == ERR_OK && cache)
        session_remember(hash, gen, now, expires_at, out);
    return e;
}

enum err account_logout(struct db *db, const char *token, size_t len)
{
    static const char sql[] = "DELETE FROM sessions WHERE token_hash = ?";
    char hash[TOKEN_HASH_HEX];
    token_hash(token, len, hash);
    enum err e = db_run(db, sql, DB_STR(hash));
    /* Once the delete is committed, no lookup can read the session any more; only then
     * may cached slots go: one filled from a reader that had not yet seen the delete
     * would otherwise outlive it. (It waits for the fsync too: the logout's answer does.) */
    if (e == ERR_OK)
        e = db_await_durable(db);
    session_changed();
    return e;
}

static enum err read_account(struct db_stmt *st, struct arena *a, void *item)
{
    struct account *out = item;
    out->id = db_col_int64(st, 0);
    out->login = db_col_dup(st, 1, a);
    out->display_name = db_col_dup(st, 2, a);
    out->is_admin = db_col_int64(st, 3) != 0;
    out->created_at_ms = db_col_int64(st, 4);
    return out->login && out->display_name ? ERR_OK : ERR_TOO_LARGE;
}

enum err account_get(struct db *db, int64_t id, struct arena *a, struct account *out)
{
    static const char sql[] =
        "SELECT id, login, display_name, is_admin, created_at FROM users WHERE id = ?";
    return db_read_one(db, sql, read_account, a, out, DB_INT(id));
}

struct interests_args {
    int64_t user_id;
    const struct tag *tags;
    size_t n;
};

static enum err interests_tx(struct db *db, void *arg)
{
    static const char sql_del[] =
        "DELETE FROM member_interests WHERE user_id = ? AND source = 'declared'";
    static const char sql_ins[] = "INSERT INTO member_interests (user_id, source, tag,"
                                  " weight_milli, updated_at) VALUES (?, 'declared', ?, ?, ?)";
    const struct interests_args *q = arg;
    int64_t now = clock_now_ms();
    enum err e = db_run(db, sql_del, DB_INT(q->user_id));
    for (size_t i = 0; e == ERR_OK && i < q->n; i++)
        e = db_run(db, sql_ins, DB_INT(q->user_id), DB_STR(q->tags[i].name),
                   DB_INT(q->tags[i].weight_milli), DB_INT(now));
    return e;
}

enum err account_set_interests(struct db *db, int64_t user_id, struct arena *a, struct tag *tags,
                               size_t n, struct errinfo *ei)
{
    enum err e = tags_validate(a, tags, n, "tags", ei);
    if (e)
        return e;
    struct interests_args q = {.user_id = user_id, .tags = tags, .n = n};
    return db_tx_run(db, DB_TX_WRITE, interests_tx, &q);
}

enum err account_interests(struct db *db, int64_t user_id, struct arena *a, struct tag **out,
                           size_t *n)
{
    static const char sql[] = "SELECT tag, weight_milli FROM member_interests"
                              " WHERE user_id = ? AND source = 'declared'"
                              " ORDER BY weight_milli DESC, tag";
    return tags_read(db, sql, user_id, LIMIT_TAGS, a, out, n);
}

enum err account_learned_interests(struct db *db, int64_t user_id, struct arena *a,
                                   struct tag **out, size_t *n)
{
    static const char sql[] = "SELECT tag, weight_milli FROM member_interests"
                              " WHERE user_id = ? AND source = 'learned'"
                              " ORDER BY weight_milli DESC, tag LIMIT 200";
    return tags_read(db, sql, user_id, 200, a, out, n);
}

enum err account_admin_create(struct db *db, const char *login, const char *password,
                              const char *name, int64_t *id, bool *created, struct errinfo *ei)
{
    static const char sql_find[] = "SELECT id FROM users WHERE login = ?";
    static const char sql_promote[] = "UPDATE users SET is_admin = 1 WHERE id = ?";
    static const char sql_ins[] = "INSERT INTO users (login, password_hash, display_name,"
                                  " is_admin, created_at) VALUES (?, ?, ?, 1, ?) RETURNING id";
    char norm[LIMIT_LOGIN_BYTES + 1];
    char hash[PASSWORD_HASH_MAX];
    enum err e = account_normalize_login(login, strlen(login), norm, ei);
    if (e)
        return e;
    e = db_value(db, sql_find, id, DB_STR(norm));
    if (e && e != ERR_NOT_FOUND)
        return e;
    if (e == ERR_OK) {
        *created = false;
        e = db_run(db, sql_promote, DB_INT(*id));
        session_changed(); /* their sessions carry is_admin */
        return e;
    }
    e = account_check_password(password, strlen(password), norm, ei);
    if (!e)
        e = account_check_name(name, strlen(name), "display_name", LIMIT_NAME_CHARS, ei);
    if (!e)
        e = password_hash(password, strlen(password), hash);
    if (e)
        return e;
    e = db_value(db, sql_ins, id, DB_STR(norm), DB_STR(hash), DB_STR(name), DB_INT(clock_now_ms()));
    if (e == ERR_CONFLICT)
        e = err_set(ei, ERR_LOGIN_TAKEN, "login", "this login is already registered");
    *created = e == ERR_OK;
    return e;
}

enum err account_purge_sessions(struct db *db, int64_t now_ms, int64_t *deleted)
{
    static const char sql[] = "DELETE FROM sessions WHERE expires_at <= ?";
    return db_run_changes(db, sql, deleted, DB_INT(now_ms));
}
