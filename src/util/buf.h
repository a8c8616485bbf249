/*
 * buf.h - growable byte buffers with a hard cap (git's strbuf, curl's dynbuf).
 *
 * A buffer is always NUL-terminated once anything was added. Growing past
 * `max` fails and sets `overflow`; the contents stay as they were.
 */
#ifndef QUANZI_UTIL_BUF_H
#define QUANZI_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max;
    bool overflow;
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* false (and overflow set) when the cap would be passed */
bool buf_add(struct buf *b, const void *data, size_t n);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
