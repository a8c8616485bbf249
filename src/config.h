/*
 * config.h - every setting of the server, from one table.
 *
 * Sources, later ones winning: built-in defaults, the config file
 * (`--config FILE` or QUANZI_CONFIG; lines `name = value`, `#` comments),
 * environment variables (QUANZI_<NAME>), command-line flags (--name value or
 * --name=value; booleans may stand alone). Every value is checked against its
 * bounds; a bad one stops the program with a message naming the setting.
 */
#ifndef QUANZI_CONFIG_H
#define QUANZI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CONFIG_STR_MAX 512

struct config {
    char listen[64];
    int64_t port;
    char data_dir[CONFIG_STR_MAX];
    char db[CONFIG_STR_MAX]; /* empty: <data_dir>/quanzi.db */
    int64_t threads;         /* 0: one per core */
    char log_level[16];
    bool access_log;
    int64_t body_limit_bytes;
    int64_t session_days;
    int64_t argon2_ops;
    int64_t argon2_memory_kib;
    int64_t hash_concurrency; /* 0: one per core */
    int64_t trial_days;
    int64_t feed_daily_max;
    int64_t home_shop;           /* the shop the front page shows; 0: the oldest */
    int64_t signups_per_ip_hour; /* new accounts one client address may make in an hour */
    int64_t signups_per_minute;  /* new accounts the whole server makes in a minute */
    int64_t max_connections;
    int64_t max_connections_per_ip;
    int64_t connection_timeout_s;
    int64_t request_head_timeout_s;
    int64_t body_memory_mb;
    int64_t db_cache_mb, db_mmap_mb;
    bool cookie_secure;
    char db_sync[16]; /* "full" or "normal" */
    bool test_clock;
    char ready_file[CONFIG_STR_MAX];         /* written with the port once serving */
    char metrics_token[CONFIG_STR_MAX];      /* GET /metrics needs it as a bearer token; "": open */
    char trusted_proxies[CONFIG_STR_MAX];    /* X-Forwarded-For is believed from these peers */
    char wechatpay_key_dir[CONFIG_STR_MAX];  /* WeChat Pay key files; empty: <data_dir>/keys */
    char wechatpay_api_base[CONFIG_STR_MAX]; /* WeChat Pay's API address; empty: not used */
    int64_t wechatpay_timeout_ms;            /* one call to WeChat Pay at most */
    char wechat_oauth_base[CONFIG_STR_MAX];  /* WeChat's OAuth API address; empty: no sign-in */
    char public_url[CONFIG_STR_MAX];         /* where people reach the server: links on posters */
};

/*
 * Fills `cfg` from all sources. Flags not in the table are left in order in
 * rest/rest_len (pointing into argv) for the subcommand. On error, `ei` names
 * the setting and the source.
 */
MUST_CHECK enum err config_load(struct config *cfg, int argc, char **argv, const char **rest,
                                int *rest_len, struct errinfo *ei);
/* The database URL or path this configuration opens. */
void config_db_url(const struct config *cfg, char *out, size_t len);
/* Writes the table (name, default, env, description) for `quanzi help`. */
void config_print_help(void);

#endif
