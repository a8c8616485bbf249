/*
 * log.h - structured logs: one `key=value` line per event on stderr.
 *
 * LOG() checks the level before formatting anything. Each line carries the
 * time, the level, the request id of the calling thread (when it serves a
 * request) and the event name. Never log passwords, tokens or payment data.
 */
#ifndef QUANZI_UTIL_LOG_H
#define QUANZI_UTIL_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

extern enum log_level log_min_level;

void log_set_level(enum log_level level);
/* "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* Request id shown on this thread's lines (NULL: none). Not copied. */
void log_set_request_id(const char *rid);

void log_write(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG(level, event, ...)                                                                     \
    do {                                                                                           \
        if ((level) >= log_min_level)                                                              \
            log_write((level), (event), __VA_ARGS__);                                              \
    } while (0)

#endif
