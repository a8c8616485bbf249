/*
 * assert.h - what must never happen.
 *
 * ASSERT(cond): a programmer error (a statement used after its connection
 * moved on, a lock released twice); kept on in release builds: abort.
 *
 * INVARIANT(cond): a rule of the data that the code guarantees and that a
 * bug or a tampered database could still break - a ledger transaction that
 * does not sum to zero, a commission level other than 1 or 2, a chain of
 * more than two levels, stock returned beyond what was sold. As in SQLite
 * (NEVER) and Redis (serverAssert in tests, logged in production): test
 * builds abort at once, naming the place (invariants_abort, on in the
 * sanitizer builds `make test` uses); release builds log it (event
 * `invariant_failed`) and the expression is false, so that the caller
 * refuses the operation with ERR_INTERNAL instead of writing it:
 *     if (!INVARIANT(sum == 0))
 *         return ERR_INTERNAL;
 */
#ifndef QUANZI_UTIL_ASSERT_H
#define QUANZI_UTIL_ASSERT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fatal: assertion failed: %s at %s:%d\n", #cond, __FILE__, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Abort on a broken invariant (test builds); else log it and go on refusing. */
extern bool invariants_abort;
bool invariant_failed(const char *what, const char *file, int line);
#define INVARIANT(cond) ((cond) ? true : invariant_failed(#cond, __FILE__, __LINE__))

#endif
