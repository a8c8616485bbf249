/*
 * account.h - members: registration, login, sessions, interest profiles,
 * platform admins.
 *
 * Owns the tables users, sessions and member_interests. Logins are
 * normalised (an e-mail address lower-cased, a mobile number as digits) and
 * unique. Passwords are stored as argon2id strings; session tokens are
 * returned once and only their SHA-256 is stored. Failed logins are counted
 * per account and per client address; past the limit, login answers
 * ERR_RATE_LIMITED until the window ends, even with the right password.
 */
#ifndef QUANZI_DOMAIN_ACCOUNT_H
#define QUANZI_DOMAIN_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/tags.h"
#include "domain/token.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/limits.h"

struct account {
    int64_t id;
    const char *login;
    const char *display_name;
    bool is_admin;
    int64_t created_at_ms;
};

struct session_user {
    int64_t user_id;
    bool is_admin;
};

struct session_new {
    char token[TOKEN_LEN + 1];
    int64_t expires_at_ms;
};

/* Sessions last session_lifetime_ms; sign-ups are limited per client address (an hour) and
 * for the whole server (a minute). */
void account_init(int64_t session_lifetime_ms, int64_t signups_per_ip_hour,
                  int64_t signups_per_minute);
void account_release(void);

/* Pure checks, each naming its field on error. */
MUST_CHECK enum err account_normalize_login(const char *in, size_t len,
                                            char out[LIMIT_LOGIN_BYTES + 1], struct errinfo *ei);
MUST_CHECK enum err account_check_password(const char *pw, size_t len, const char *login,
                                           struct errinfo *ei);
MUST_CHECK enum err account_check_name(const char *name, size_t len, const char *field,
                                       int max_chars, struct errinfo *ei);

/* Creates the member and a first session. ERR_LOGIN_TAKEN if the login exists;
 * ERR_RATE_LIMITED (*retry_after_ms set) past the sign-up limits, checked before any
 * password is hashed. client_ip NULL: a local tool (the demo), not limited. */
MUST_CHECK enum err account_register(struct db *db, const char *login, size_t login_len,
                                     const char *password, size_t password_len, const char *name,
                                     size_t name_len, const char *client_ip, struct arena *a,
                                     struct account *out, struct session_new *sess,
                                     int64_t *retry_after_ms, struct errinfo *ei);
/*
 * Sign-in with WeChat: a session for the member an app's openid is linked to, or for a new
 * member made for it ("微信用户", no password: a login of its own that no password opens);
 * *created tells which. One transaction: two sign-ins of one new openid make one member.
 */
MUST_CHECK enum err account_wechat_signin(struct db *db, const char *appid, const char *openid,
                                          struct arena *a, struct account *out,
                                          struct session_new *sess, bool *created);
/* ERR_BAD_CREDENTIALS or ERR_RATE_LIMITED (*retry_after_ms set) on failure. */
MUST_CHECK enum err account_login(struct db *db, const char *login, size_t login_len,
                                  const char *password, size_t password_len, const char *client_ip,
                                  struct arena *a, struct account *out, struct session_new *sess,
                                  int64_t *retry_after_ms, struct errinfo *ei);
/* ERR_UNAUTHORIZED when the token is unknown or expired. */
MUST_CHECK enum err account_session_lookup(struct db *db, const char *token, size_t len,
                                           struct session_user *out);
MUST_CHECK enum err account_logout(struct db *db, const char *token, size_t len);
MUST_CHECK enum err account_get(struct db *db, int64_t id, struct arena *a, struct account *out);

/* Declared interests (source 'declared'), replaced as a whole. */
MUST_CHECK enum err account_set_interests(struct db *db, int64_t user_id, struct arena *a,
                                          struct tag *tags, size_t n, struct errinfo *ei);
/* Declared interests ordered by weight, then name. */
MUST_CHECK enum err account_interests(struct db *db, int64_t user_id, struct arena *a,
                                      struct tag **out, size_t *n);
/* Interests learned from purchases (bounded weights), ordered like the declared ones. */
MUST_CHECK enum err account_learned_interests(struct db *db, int64_t user_id, struct arena *a,
                                              struct tag **out, size_t *n);

/* Creates an admin, or makes an existing member one (*created false). */
MUST_CHECK enum err account_admin_create(struct db *db, const char *login, const char *password,
                                         const char *name, int64_t *id, bool *created,
                                         struct errinfo *ei);

/* Deletes expired sessions; returns how many through *deleted. */
MUST_CHECK enum err account_purge_sessions(struct db *db, int64_t now_ms, int64_t *deleted);

#endif
