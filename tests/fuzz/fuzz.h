/*
 * fuzz.h - the one entry point of a fuzz target. Each tests/fuzz/fuzz_*.c
 * defines it; it is linked either with libFuzzer (`make fuzz`, clang) or with
 * replay.c, which runs it over the target's corpus in the normal suite.
 * A target must never crash, leak or trip a sanitizer, whatever the input;
 * it checks its own invariants with FUZZ_CHECK (abort, so both drivers see it).
 */
#ifndef QUANZI_TESTS_FUZZ_H
#define QUANZI_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
