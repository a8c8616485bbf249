/*
 * assert.h - ASSERT for programmer errors; kept on in release builds.
 */
#ifndef QUANZI_UTIL_ASSERT_H
#define QUANZI_UTIL_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fatal: assertion failed: %s at %s:%d\n", #cond, __FILE__, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
