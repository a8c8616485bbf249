#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/limits.h"
#include "util/log.h"
#include "util/text.h"

enum cfg_type { CFG_INT, CFG_STR, CFG_BOOL };

struct cfg_entry {
    const char *name; /* also the flag (--name, '_' as '-') and env (QUANZI_NAME) */
    enum cfg_type type;
    size_t offset;
    int64_t min, max;    /* CFG_INT bounds */
    const char *def;     /* default, as text */
    const char *choices; /* CFG_STR: '|'-separated allowed values, or NULL */
    const char *help;
};

#define F(field) offsetof(struct config, field)

static const struct cfg_entry table[] = {
    {"listen", CFG_STR, F(listen), 0, 0, "127.0.0.1", NULL, "address to listen on"},
    {"port", CFG_INT, F(port), 0, 65535, "8080", NULL, "TCP port (0: any free port)"},
    {"data_dir", CFG_STR, F(data_dir), 0, 0, "data", NULL, "directory for the database and files"},
    {"db", CFG_STR, F(db), 0, 0, "", NULL, "database: SQLite path (default <data_dir>/quanzi.db)"},
    {"threads", CFG_INT, F(threads), 0, 256, "0", NULL, "HTTP worker threads (0: four per core)"},
    {"log_level", CFG_STR, F(log_level), 0, 0, "info", "debug|info|warn|error|off", "log level"},
    {"access_log", CFG_BOOL, F(access_log), 0, 1, "true", NULL, "one log line per request"},
    {"body_limit_bytes", CFG_INT, F(body_limit_bytes), 1024, LIMIT_BODY_BYTES_MAX, "1048576", NULL,
     "largest request body"},
    {"session_days", CFG_INT, F(session_days), 1, 365, "30", NULL, "session lifetime in days"},
    {"argon2_ops", CFG_INT, F(argon2_ops), 1, 10, "2", NULL, "argon2id passes (OWASP: 2)"},
    {"argon2_memory_kib", CFG_INT, F(argon2_memory_kib), 8, 1048576, "19456", NULL,
     "argon2id memory in KiB (OWASP: 19456)"},
    {"hash_concurrency", CFG_INT, F(hash_concurrency), 0, 64, "0", NULL,
     "password hashes computed at once (0: one per core)"},
    {"trial_days", CFG_INT, F(trial_days), 0, 365, "30", NULL, "free trial of a new shop"},
    {"feed_daily_max", CFG_INT, F(feed_daily_max), 1, 50, "3", NULL,
     "recommendations one member receives in a China calendar day, from all shops"},
    {"signups_per_ip_hour", CFG_INT, F(signups_per_ip_hour), 1, 1000000, "20", NULL,
     "new accounts one client address may make in an hour (then 429 with Retry-After)"},
    {"signups_per_minute", CFG_INT, F(signups_per_minute), 1, 1000000, "120", NULL,
     "new accounts the whole server makes in a minute (then 429 with Retry-After)"},
    {"home_shop", CFG_INT, F(home_shop), 0, INT64_MAX, "0", NULL,
     "the shop whose home the front page (/) shows (0: the oldest shop)"},
    {"body_memory_mb", CFG_INT, F(body_memory_mb), 8, 65536, "128", NULL,
     "memory that request bodies in flight and their parse may take, in MiB (each counted at "
     "4 times its length); past it, 503 with Retry-After"},
    {"max_connections", CFG_INT, F(max_connections), 16, 65536, "1024", NULL,
     "open connections at most"},
    {"max_connections_per_ip", CFG_INT, F(max_connections_per_ip), 1, 65536, "256", NULL,
     "open connections per client address at most"},
    {"request_head_timeout_s", CFG_INT, F(request_head_timeout_s), 1, 600, "10", NULL,
     "a request's head must arrive whole within it, however slowly it trickles (and a body "
     "must keep 1 KiB/s after it)"},
    {"connection_timeout_s", CFG_INT, F(connection_timeout_s), 1, 3600, "30", NULL,
     "idle connection timeout in seconds"},
    {"cookie_secure", CFG_BOOL, F(cookie_secure), 0, 1, "false", NULL,
     "mark the session cookie Secure (behind HTTPS)"},
    {"db_cache_mb", CFG_INT, F(db_cache_mb), 0, 65536, "0", NULL,
     "SQLite page cache of the writer, in MiB (readers get an eighth); 0: a sixteenth of "
     "the machine's memory, 16 to 1024"},
    {"db_mmap_mb", CFG_INT, F(db_mmap_mb), 0, 2048, "0", NULL,
     "SQLite: the part of the database read through a memory mapping, in MiB (0: none; it "
     "costs more than it saves, see the README)"},
    {"db_sync", CFG_STR, F(db_sync), 0, 0, "full", "full|normal",
     "SQLite durability: full (fsync per commit) or normal"},
    {"test_clock", CFG_BOOL, F(test_clock), 0, 1, "false", NULL,
     "allow POST /api/v1/test-clock (tests only; loopback only)"},
    {"ready_file", CFG_STR, F(ready_file), 0, 0, "", NULL,
     "write the listening port to this file once serving"},
    {"metrics_token", CFG_STR, F(metrics_token), 0, 0, "", NULL,
     "bearer token that GET /metrics requires (16+ characters; empty: none)"},
    {"wechatpay_key_dir", CFG_STR, F(wechatpay_key_dir), 0, 0, "", NULL,
     "the folder of the WeChat Pay key files shops' settings name (empty: <data_dir>/keys)"},
    {"wechatpay_api_base", CFG_STR, F(wechatpay_api_base), 0, 0, "", NULL,
     "WeChat Pay's API address, from its documents (https, no trailing slash); empty: shops "
     "cannot take WeChat Pay"},
    {"wechatpay_timeout_ms", CFG_INT, F(wechatpay_timeout_ms), 100, 60000, "10000", NULL,
     "the longest one call to WeChat Pay may take (then it is treated as not answered)"},
    {"wechat_oauth_base", CFG_STR, F(wechat_oauth_base), 0, 0, "", NULL,
     "WeChat's OAuth API address, from its documents (https, no trailing slash); empty: no "
     "sign-in with WeChat"},
    {"public_url", CFG_STR, F(public_url), 0, 0, "", NULL,
     "the address people reach this server at, like https://shop.example.com (the links on "
     "posters; empty: the address the request came to)"},
    {"trusted_proxies", CFG_STR, F(trusted_proxies), 0, 0, "", NULL,
     "comma-separated addresses of reverse proxies whose X-Forwarded-For names the client"},
};

#undef F

static const size_t table_len = sizeof table / sizeof table[0];

static enum err set_value(struct config *cfg, const struct cfg_entry *e, const char *value,
                          const char *source, struct errinfo *ei)
{
    char *base = (char *)cfg + e->offset;
    switch (e->type) {
    case CFG_INT: {
        int64_t v;
        if (!text_parse_int64(value, e->min, e->max, &v))
            return err_set(ei, ERR_INVALID, e->name,
                           "config: %s must be a whole number from %lld to %lld (got \"%s\" from "
                           "%s)",
                           e->name, (long long)e->min, (long long)e->max, value, source);
        *(int64_t *)base = v;
        return ERR_OK;
    }
    case CFG_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes") ||
            !strcmp(value, "on"))
            *(bool *)base = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no") ||
                 !strcmp(value, "off"))
            *(bool *)base = false;
        else
            return err_set(ei, ERR_INVALID, e->name,
                           "config: %s must be true or false (got \"%s\" from %s)", e->name, value,
                           source);
        return ERR_OK;
    case CFG_STR: {
        size_t cap = e->offset == offsetof(struct config, listen)      ? sizeof cfg->listen
                     : e->offset == offsetof(struct config, log_level) ? sizeof cfg->log_level
                     : e->offset == offsetof(struct config, db_sync)   ? sizeof cfg->db_sync
                                                                       : CONFIG_STR_MAX;
        if (strlen(value) >= cap)
            return err_set(ei, ERR_INVALID, e->name, "config: %s is too long (from %s)", e->name,
                           source);
        if (e->choices) {
            size_t n = strlen(value);
            const char *c = e->choices;
            bool ok = false;
            while (*c) {
                const char *bar = strchr(c, '|');
                size_t len = bar ? (size_t)(bar - c) : strlen(c);
                if (len == n && strncmp(c, value, n) == 0)
                    ok = true;
                c += len + (bar ? 1 : 0);
            }
            if (!ok)
                return err_set(ei, ERR_INVALID, e->name,
                               "config: %s must be one of %s (got \"%s\" from %s)", e->name,
                               e->choices, value, source);
        }
        memcpy(base, value, strlen(value) + 1);
        return ERR_OK;
    }
    }
    return ERR_INTERNAL;
}

static const struct cfg_entry *find(const char *name, size_t len)
{
    for (size_t i = 0; i < table_len; i++) {
        const char *n = table[i].name;
        if (strlen(n) != len)
            continue;
        size_t k = 0;
        for (; k < len; k++) {
            char c = name[k] == '-' ? '_' : name[k];
            if (c != n[k])
                break;
        }
        if (k == len)
            return &table[i];
    }
    return NULL;
}

static enum err load_file(struct config *cfg, const char *path, struct errinfo *ei)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(ei, ERR_INVALID, "config", "config: cannot read %s: %s", path,
                       strerror(errno));
    char line[1024];
    int lineno = 0;
    enum err e = ERR_OK;
    while (e == ERR_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) { /* the rest would be read as a line of its own */
            e = err_set(ei, ERR_INVALID, "config", "config: %s:%d: line longer than %zu bytes",
                        path, lineno, sizeof line - 2);
            break;
        }
        const char *s = line;
        size_t len = strcspn(line, "#\n");
        text_trim(&s, &len);
        if (len == 0)
            continue;
        const char *eq = memchr(s, '=', len);
        if (!eq) {
            e = err_set(ei, ERR_INVALID, "config", "config: %s:%d: expected name = value", path,
                        lineno);
            break;
        }
        const char *name = s;
        size_t name_len = (size_t)(eq - s);
        text_trim(&name, &name_len);
        const char *val = eq + 1;
        size_t val_len = len - (size_t)(eq + 1 - s);
        text_trim(&val, &val_len);
        const struct cfg_entry *ent = find(name, name_len);
        if (!ent) {
            e = err_set(ei, ERR_INVALID, "config", "config: %s:%d: unknown setting \"%.*s\"", path,
                        lineno, (int)name_len, name);
            break;
        }
        char value[CONFIG_STR_MAX + 1];
        if (val_len > CONFIG_STR_MAX)
            val_len = CONFIG_STR_MAX;
        memcpy(value, val, val_len);
        value[val_len] = '\0';
        char source[CONFIG_STR_MAX + 32];
        snprintf(source, sizeof source, "%s:%d", path, lineno);
        e = set_value(cfg, ent, value, source, ei);
    }
    fclose(f);
    return e;
}

enum err config_load(struct config *cfg, int argc, char **argv, const char **rest, int *rest_len,
                     struct errinfo *ei)
{
    enum err e;
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < table_len; i++) {
        e = set_value(cfg, &table[i], table[i].def, "default", ei);
        if (e)
            return e;
    }

    /* the config file: --config FILE wins over QUANZI_CONFIG */
    const char *file = getenv("QUANZI_CONFIG");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            file = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            file = argv[i] + 9;
    }
    if (file && *file) {
        e = load_file(cfg, file, ei);
        if (e)
            return e;
    }

    for (size_t i = 0; i < table_len; i++) {
        char env[64] = "QUANZI_";
        size_t k = 7;
        for (const char *c = table[i].name; *c && k < sizeof env - 1; c++)
            env[k++] = (char)toupper((unsigned char)*c);
        env[k] = '\0';
        const char *v = getenv(env);
        if (v) {
            e = set_value(cfg, &table[i], v, env, ei);
            if (e)
                return e;
        }
    }

    *rest_len = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9))
            continue;
        const struct cfg_entry *ent = NULL;
        const char *value = NULL;
        if (!strncmp(a, "--", 2)) {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            ent = find(name, eq ? (size_t)(eq - name) : strlen(name));
            if (ent && eq) {
                value = eq + 1;
            } else if (ent && ent->type == CFG_BOOL) {
                value = "true";
            } else if (ent) {
                if (i + 1 >= argc)
                    return err_set(ei, ERR_INVALID, ent->name, "config: %s needs a value", a);
                value = argv[++i];
            }
        }
        if (!ent) {
            rest[(*rest_len)++] = a;
            continue;
        }
        char source[96];
        snprintf(source, sizeof source, "--%s", ent->name);
        e = set_value(cfg, ent, value, source, ei);
        if (e)
            return e;
    }
    return ERR_OK;
}

void config_db_url(const struct config *cfg, char *out, size_t len)
{
    if (cfg->db[0])
        snprintf(out, len, "%s", cfg->db);
    else
        snprintf(out, len, "%s/quanzi.db", cfg->data_dir);
}

void config_print_help(void)
{
    printf("Settings (flag --name, environment QUANZI_NAME, config file name = value):\n");
    for (size_t i = 0; i < table_len; i++) {
        const struct cfg_entry *e = &table[i];
        printf("  %-24s %s (default: %s)\n", e->name, e->help, *e->def ? e->def : "none");
    }
}
