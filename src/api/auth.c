/*
 * auth.c - register, login, logout, the member's own profile, and how every
 * request is authenticated (bearer token or session cookie + CSRF header).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ctype.h>

#include "api/api.h"
#include "domain/wechatpay.h"
#include "api/common.h"
#include "domain/account.h"
#include "domain/shop.h"
#include "http/server.h"
#include "util/clock.h"

static void set_session_cookie(struct req *r, const char *token, int64_t max_age_s)
{
    r->set_cookie =
        arena_printf(&r->arena,
                     SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; "
                                    "Max-Age=%lld%s",
                     token, (long long)max_age_s, api_settings.cookie_secure ? "; Secure" : "");
}

static json_t *session_json(const struct account *acc, const struct session_new *sess)
{
    return json_pack("{s:s, s:o, s:{s:I, s:s}}", "token", sess->token, "expires_at",
                     json_time(sess->expires_at_ms), "user", "id", (json_int_t)acc->id,
                     "display_name", acc->display_name);
}

enum err api_authenticate(struct req *r)
{
    if (r->route->auth == AUTH_NONE)
        return ERR_OK;
    const char *token = NULL;
    const char *authz = req_header(r, "Authorization");
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return req_fail(r, ERR_UNAUTHORIZED, NULL,
                            "the Authorization header must be \"Bearer <token>\"");
        token = authz + 7;
        while (*token == ' ')
            token++;
    } else {
        token = req_cookie(r, SESSION_COOKIE);
        r->via_cookie = token != NULL;
    }
    if (!token || !*token) {
        if (r->route->auth == AUTH_USER)
            return req_fail(r, ERR_UNAUTHORIZED, NULL, "log in first");
        return ERR_OK;
    }
    enum err e = account_session_lookup(r->db, token, strlen(token), &r->user);
    if (e == ERR_UNAUTHORIZED) {
        if (r->route->auth == AUTH_OPTIONAL) {
            r->via_cookie = false;
            return ERR_OK; /* browse anonymously with a stale cookie */
        }
        return req_fail(r, ERR_UNAUTHORIZED, NULL,
                        "the session is invalid or has expired; log in again");
    }
    if (e)
        return e;
    if (r->via_cookie && strcmp(r->method, "GET") != 0) {
        const char *xrw = req_header(r, "X-Requested-With");
        if (!xrw || !*xrw)
            return req_fail(r, ERR_CSRF, NULL,
                            "requests authenticated by cookie must send X-Requested-With");
    }
    r->authed = true;
    r->token = token;
    r->token_len = strlen(token);
    return ERR_OK;
}

enum err api_register(struct req *r)
{
    const char *login = NULL, *password = NULL, *name = NULL;
    size_t login_len = 0, password_len = 0, name_len = 0;
    struct account acc;
    struct session_new sess;
    int64_t retry_ms = 0;
    enum err e = req_read(r, REQ_STRING("login", true, &login, &login_len),
                          REQ_STRING("password", true, &password, &password_len),
                          REQ_STRING("display_name", true, &name, &name_len));
    if (!e)
        e = account_register(r->db, login, login_len, password, password_len, name, name_len,
                             r->client_ip, &r->arena, &acc, &sess, &retry_ms, &r->ei);
    if (e == ERR_RATE_LIMITED || e == ERR_RETRY) /* limited, or the hash queue is full */
        r->retry_after_s = (retry_ms + 999) / 1000;
    if (e)
        return e;
    set_session_cookie(r, sess.token, api_settings.session_ms / 1000);
    return req_reply(r, 201, session_json(&acc, &sess));
}

enum err api_login(struct req *r)
{
    const char *login = NULL, *password = NULL;
    size_t login_len = 0, password_len = 0;
    struct account acc;
    struct session_new sess;
    int64_t retry_ms = 0;
    enum err e = req_read(r, REQ_STRING("login", true, &login, &login_len),
                          REQ_STRING("password", true, &password, &password_len));
    if (!e)
        e = account_login(r->db, login, login_len, password, password_len, r->client_ip, &r->arena,
                          &acc, &sess, &retry_ms, &r->ei);
    if (e == ERR_RATE_LIMITED || e == ERR_RETRY) /* limited, or the hash queue is full */
        r->retry_after_s = (retry_ms + 999) / 1000;
    if (e)
        return e;
    set_session_cookie(r, sess.token, api_settings.session_ms / 1000);
    return req_reply(r, 200, session_json(&acc, &sess));
}

enum err api_logout(struct req *r)
{
    enum err e = account_logout(r->db, r->token, r->token_len);
    if (e)
        return e;
    set_session_cookie(r, "", 0);
    return req_reply(r, 200, json_pack("{s:b}", "logged_out", 1));
}

static json_t *interests_json(const struct tag *tags, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, tags[i].name, json_weight(tags[i].weight_milli));
    return o;
}

static json_t *membership_json(const void *item)
{
    const struct shop_membership *m = item;
    return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)m->shop_id, "name", m->name, "slug",
                     m->slug, "role", shop_role_name(m->role));
}

enum err api_me(struct req *r)
{
    struct account acc;
    struct tag *tags = NULL;
    size_t n_tags = 0;
    struct shop_membership *shops = NULL;
    size_t n_shops = 0;
    enum err e = account_get(r->db, r->user.user_id, &r->arena, &acc);
    if (!e)
        e = account_interests(r->db, r->user.user_id, &r->arena, &tags, &n_tags);
    struct tag *learned = NULL;
    size_t n_learned = 0;
    if (!e)
        e = account_learned_interests(r->db, r->user.user_id, &r->arena, &learned, &n_learned);
    if (!e)
        e = shop_list_for_user(r->db, r->user.user_id, &r->arena, &shops, &n_shops);
    if (e)
        return e;
    json_t *list = api_array(shops, n_shops, sizeof *shops, membership_json);
    json_t *body = json_pack("{s:I, s:s, s:s, s:b, s:o, s:o, s:o}", "id", (json_int_t)acc.id,
                             "login", acc.login, "display_name", acc.display_name, "is_admin",
                             acc.is_admin, "created_at", json_time(acc.created_at_ms), "interests",
                             interests_json(tags, n_tags), "shops", list);
    if (body)
        json_object_set_new(body, "learned_interests", interests_json(learned, n_learned));
    return req_reply(r, 200, body);
}

/* Sign-in with WeChat: the code a shop's page got from WeChat's OAuth (snsapi_base) is
 * exchanged for the member's openid. A logged-in member links it to their account; anyone
 * else is signed in as the member it is linked to, or as a new one made for it. */
enum err api_auth_wechat(struct req *r)
{
    int64_t shop_id = 0;
    const char *code = NULL, *appid = NULL, *openid = NULL;
    size_t len = 0;
    enum err e = req_read(r, REQ_INTEGER("shop_id", true, 1, INT64_MAX, &shop_id),
                          REQ_STRING("code", true, &code, &len));
    bool plain = len > 0 && len <= 128;
    for (size_t i = 0; !e && plain && i < len; i++)
        plain = isalnum((unsigned char)code[i]) || code[i] == '_' || code[i] == '-';
    if (!e && !plain)
        return req_fail(r, ERR_INVALID, "code", "code must be the code WeChat gave the page");
    if (!e)
        e = wechatpay_oauth_openid(r->db, shop_id, code, &r->arena, &appid, &openid, &r->ei);
    if (e)
        return e;
    if (r->authed) {
        e = wechatpay_identity_link(r->db, appid, openid, r->user.user_id);
        if (e == ERR_CONFLICT)
            return req_fail(r, e, "code", "this WeChat is linked to another account");
        return e ? e
                 : req_reply(r, 200,
                             json_pack("{s:I, s:b}", "user_id", (json_int_t)r->user.user_id,
                                       "linked", 1));
    }
    struct account acc;
    struct session_new sess;
    bool created = false;
    if ((e = account_wechat_signin(r->db, appid, openid, &r->arena, &acc, &sess, &created)))
        return e;
    set_session_cookie(r, sess.token, api_settings.session_ms / 1000);
    return req_reply(r, created ? 201 : 200, session_json(&acc, &sess));
}

/* What the web front end needs first: who is logged in (or null: anonymous, not a 401)
 * and which shop the front page shows. */
enum err api_session(struct req *r)
{
    int64_t home = 0;
    enum err e = shop_home(r->db, api_settings.home_shop, &home);
    if (e && e != ERR_NOT_FOUND)
        return e;
    json_t *user = json_null();
    if (r->authed) {
        struct account acc;
        struct shop_membership *shops = NULL;
        size_t n_shops = 0;
        e = account_get(r->db, r->user.user_id, &r->arena, &acc);
        if (!e)
            e = shop_list_for_user(r->db, r->user.user_id, &r->arena, &shops, &n_shops);
        if (e)
            return e;
        user = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)acc.id, "login", acc.login,
                         "display_name", acc.display_name, "shops",
                         api_array(shops, n_shops, sizeof *shops, membership_json));
    }
    return req_reply(r, 200,
                     json_pack("{s:o, s:o}", "user", user, "home_shop_id", api_opt_id(home)));
}

enum err api_me_interests(struct req *r)
{
    static const char *const fields[] = {"tags", NULL};
    enum err e = req_body(r, fields);
    if (e)
        return e;
    json_t *obj = json_object_get(r->json, "tags");
    if (!obj)
        return req_fail(r, ERR_MISSING_FIELD, "tags", "tags is required");
    if (!json_is_object(obj))
        return req_fail(r, ERR_WRONG_TYPE, "tags",
                        "tags must be an object of tag name to weight, like {\"护肤\": 0.9}");
    size_t n = json_object_size(obj);
    if (n > LIMIT_TAGS)
        return req_fail(r, ERR_OUT_OF_RANGE, "tags", "at most %d tags", LIMIT_TAGS);
    struct tag *tags = arena_alloc(&r->arena, (n ? n : 1) * sizeof *tags);
    if (!tags)
        return ERR_TOO_LARGE;
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (!json_is_number(v))
            return req_fail(r, ERR_WRONG_TYPE, "tags", "the weight of tag \"%s\" must be a number",
                            key);
        double d = json_number_value(v);
        if (!(d > 0.0 && d <= 1.0))
            return req_fail(r, ERR_OUT_OF_RANGE, "tags",
                            "the weight of tag \"%s\" must be above 0 and at most 1", key);
        int64_t milli = (int64_t)(d * 1000.0 + 0.5);
        tags[i].name = key;
        tags[i].weight_milli = milli < 1 ? 1 : milli;
        i++;
    }
    e = account_set_interests(r->db, r->user.user_id, &r->arena, tags, n, &r->ei);
    if (e)
        return e;
    e = account_interests(r->db, r->user.user_id, &r->arena, &tags, &n);
    if (e)
        return e;
    return req_reply(r, 200, json_pack("{s:o}", "interests", interests_json(tags, n)));
}
