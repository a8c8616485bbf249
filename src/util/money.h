/*
 * money.h - int64 fen arithmetic that refuses to overflow. Every helper
 * returns false (and leaves *out alone) when the exact result does not fit.
 */
#ifndef QUANZI_UTIL_MONEY_H
#define QUANZI_UTIL_MONEY_H

#include <stdbool.h>
#include <stdint.h>

static inline bool money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

static inline bool money_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

#endif
