/* runner: one run (or dry run) of one job: connect, claim, lock, call the
 * plugin's init / run or dry_run / teardown, retry what may pass, and
 * record the result. */
#ifndef SWEEPD_RUNNER_H
#define SWEEPD_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "jobs.h"
#include "result.h"
#include "settings.h"

/* How a run ended; also the exit status of a scheduled run's process. */
typedef enum runner_outcome {
	RUNNER_OK = 0,          /* ran (possibly stopped early on request) */
	RUNNER_FAILED = 1,      /* ran and failed, r->error says why */
	RUNNER_NOT_CLAIMED = 3, /* the tick was claimed by another sweepd */
	RUNNER_SKIPPED = 4,     /* the job was still running: not run */
	RUNNER_STOPPED = 5      /* asked to stop before the plugin started */
} runner_outcome;

typedef struct runner_opts {
	bool dry_run;           /* report only; changes and records nothing */
	time_t scheduled_at;    /* the tick this run is for; 0: run now */
	int retries;            /* transient failures tried again */
	bool catch_up;          /* the tick was missed: run it only if the job
	                           ran before and the tick did not */
	bool schema_ready;      /* sweepd's schema is known to be current */
	bool verify_only;       /* with dry_run: init, verify, teardown
	                           (sweepd --verify) */
	int64_t run_id;         /* the tick's history row, claimed by the
	                           daemon: the run takes it over rather than
	                           claim the tick itself; 0: none */
} runner_opts;

runner_outcome runner_run(const job *j, const settings *s,
                          const runner_opts *o,
                          const volatile sig_atomic_t *stop, result *r);

#endif
