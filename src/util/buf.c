#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

void buf_init(struct buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->overflow = false;
}

void buf_release(struct buf *b)
{
    free(b->ptr);
    buf_init(b, b->max);
}

static bool reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) {
        b->overflow = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->ptr = xrealloc(b->ptr, cap);
    b->cap = cap;
    return true;
}

bool buf_add(struct buf *b, const void *data, size_t n)
{
    if (!reserve(b, n))
        return false;
    if (n)
        memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return true;
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}
