/*
 * jobs.h - background jobs: a table of periodic domain tasks.
 *
 * A scheduler thread wakes every second and runs each job whose time has
 * come by clock_now_ms(), on its own database connection. With the test
 * clock, jobs_run_due() runs the jobs that became due right away, on the
 * caller's connection, so that a test sees their effect in the same request.
 * Job runs never overlap: one lock serialises them.
 */
#ifndef QUANZI_DOMAIN_JOBS_H
#define QUANZI_DOMAIN_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

#define JOBS_MAX 16

struct job_run {
    const char *name;
    int64_t affected; /* rows the job changed */
    enum err result;
};

/* Where the server keeps its drawn posters (<data_dir>/posters), pruned of those older than
 * JOBS_POSTER_DAYS once a day; NULL (the default): no such job runs. */
extern const char *jobs_posters_dir;
#define JOBS_POSTER_DAYS 30

/* Names of every job, for docs and metrics. */
size_t jobs_count(void);
const char *jobs_name(size_t i);

/* Runs every job due at clock_now_ms(); fills runs[] (JOBS_MAX entries). */
size_t jobs_run_due(struct db *db, struct job_run runs[JOBS_MAX]);
/* Runs the named job now, whether due or not. ERR_NOT_FOUND for an unknown name. */
MUST_CHECK enum err jobs_run_now(struct db *db, const char *name, struct job_run *run);

/* Starts and stops the scheduler thread (serve only). */
void jobs_start(void);
void jobs_stop(void);

#endif
