/*
 * fault.h - a store that fails on purpose, for tests only (it is not linked
 * into the quanzi binary).
 *
 * db_fault_wrap() puts a connection behind one that passes every call of
 * db.h through to it, counting the calls that can fail in a real store
 * (prepare, exec, step, begin, commit; or only the commits) and failing the
 * plan's Nth with the plan's error, without passing that one on: ERR_RETRY (a lost
 * serialization race, which db_tx_run() runs again) or ERR_DB (a fault that
 * nothing retries). A failed commit is rolled back, as db_commit() does with
 * any. The curl "torture" idea: run an operation with N = 1, 2, ... until it
 * no longer reaches N, and check after each failure that nothing of it was
 * written.
 *
 * The wrapper has the inner store's kind and capabilities. It owns neither
 * the inner connection nor the plan: close the wrapper, then the inner one.
 */
#ifndef QUANZI_DB_FAULT_H
#define QUANZI_DB_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

struct db_fault {
    int64_t fail_at;   /* the call that fails, 1 for the first; 0: none */
    enum err error;    /* ERR_RETRY or ERR_DB */
    bool commits_only; /* count commits only: fail_at 1 fails the first commit */
    int64_t calls;     /* out: the calls counted so far */
    bool fired;        /* out: the Nth call was reached and failed */
};

MUST_CHECK enum err db_fault_wrap(struct db *inner, struct db_fault *plan, struct db **out);

#endif
