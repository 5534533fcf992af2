/* api: the services table handed to plugins, and the per-run state
 * (struct sweep_host) behind it. */
#ifndef SWEEPD_API_H
#define SWEEPD_API_H

#include <signal.h>
#include <stdbool.h>

#include <sweepd/plugin.h>

#include "jobs.h"
#include "progress.h"
#include "result.h"

/* One run of one job, as the services see it.  Owned by the runner. */
struct sweep_host {
	const job *job;
	PGconn *conn;
	const char *dsn;        /* what conn was opened with, for the batch
	                           loop's parallel sessions */
	result *result;
	bool dry_run;
	const volatile sig_atomic_t *stop;  /* nonzero: stop requested */
	char **quoted;          /* opt_ident results, one per option */
	char run_id[24];        /* "" when the run is not recorded */
	char sqlstate[6];       /* of the last failed host statement, or "" */
	int64_t started_ms;     /* monotonic: the run's start, for its rate */
	int64_t progress_ms;    /* monotonic time of the last progress line */
	int64_t reported_ms;    /* monotonic time of the last progress report
	                           to the supervisor */
	progress_point progress;/* the last progress */
	bool unreported;        /* progress is newer than the last report */
	int64_t batch_rows;     /* rows the run's batch loops changed */
	int64_t tx_audited;     /* audit records written since begin() */
	int64_t failed_rows;    /* rows they left, failed for their data and
	                           listed in the result's errors */
	char **owned;           /* strings handed to the plugin, freed at the
	                           end of the run */
	size_t nowned;
	size_t capowned;
};

const sweep_api *api_table(void);
void api_host_init(sweep_host *h, const job *j, PGconn *conn, result *r,
                   bool dry_run, const volatile sig_atomic_t *stop);
void api_host_free(sweep_host *h);
int64_t api_now_ms(void);
void api_failed(sweep_host *h, const PGresult *res);
bool api_sleep(int64_t ms, const volatile sig_atomic_t *stop);
bool api_pause(sweep_host *h, int64_t ms);
void api_progress_note(sweep_host *h, int64_t done, int64_t total,
                       int64_t ppm);

/* batch_loop, in batch.c. */
int batch_loop(sweep_host *h, const sweep_batch *spec,
               sweep_batch_stats *stats, char **errmsg);

#endif
