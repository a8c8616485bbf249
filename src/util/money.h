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

/*
 * floor(a * b / c) for a, b >= 0 and c > 0, exact: the product is taken in
 * 128 bits. False when the result does not fit in int64_t.
 */
__extension__ typedef unsigned __int128 money_u128;

static inline bool money_muldiv_floor(int64_t a, int64_t b, int64_t c, int64_t *out)
{
    if (a < 0 || b < 0 || c <= 0)
        return false;
    money_u128 q = (money_u128)a * (money_u128)b / (money_u128)c;
    if (q > (money_u128)INT64_MAX)
        return false;
    *out = (int64_t)q;
    return true;
}

#endif
