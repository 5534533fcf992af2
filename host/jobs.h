/* jobs: every job file of the configuration directory, each with its
 * plugin loaded and its parameters checked. */
#ifndef SWEEPD_JOBS_H
#define SWEEPD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cron.h"
#include "diag.h"
#include "loader.h"
#include "params.h"
#include "settings.h"

/* Timeout of a job that sets none. */
#define JOBS_DEFAULT_TIMEOUT_MS INT64_C(3600000)
/* Retries of a job that sets none. */
#define JOBS_DEFAULT_RETRIES 3

typedef struct job {
	char *file;
	int line;                  /* line of [job] */
	char *name;
	char *plugin_ref;          /* as written after plugin = */
	const loader_plugin *plugin; /* NULL when it could not be loaded */
	char *schedule;            /* NULL: runs only when asked (--run) */
	cron_expr *cron;           /* the parsed schedule, or NULL */
	char *timezone;
	int64_t timeout_ms;        /* 0: none */
	int64_t catch_up_ms;       /* -1: the job's period */
	int retries;               /* transient failures tried again */
	int64_t memory_limit;      /* bytes of data a run may map; 0: none */
	char *role;                /* database role the job's SQL runs as
	                              (SET ROLE); NULL: the login role */
	char *database;            /* [database NAME] of sweepd.ini the job
	                              works in; NULL: the home database */
	bool enabled;
	param_set *params;            /* NULL when they do not validate */
	size_t nerrors;            /* problems found in this job's file */
} job;

typedef struct jobs jobs;

jobs *jobs_load(const settings *s, loader *l, diag *d);
size_t jobs_count(const jobs *js);
const job *jobs_at(const jobs *js, size_t i);
const job *jobs_find(const jobs *js, const char *name);
time_t jobs_next(const job *j, time_t after);
void jobs_free(jobs *js);
const char *jobs_dsn(const job *j, const settings *s);

#endif
