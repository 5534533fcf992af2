/* reload: the daemon's configuration as generations.  Each load of
 * conf.d (at start, on SIGHUP) is a generation of plugins and jobs; each
 * job the scheduler keeps points at the generation it came from, so a
 * broken edit keeps a job on its last good configuration and a
 * generation is freed once no job uses it. */
#ifndef SWEEPD_RELOAD_H
#define SWEEPD_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jobs.h"
#include "loader.h"
#include "settings.h"

/* Plugins and jobs loaded together; kept while a scheduled job uses it. */
typedef struct reload_gen {
	loader *l;
	jobs *js;
	int refs;
	struct reload_gen *next;
} reload_gen;

/* A job as the scheduler keeps it. */
typedef struct reload_job {
	const job *job;
	reload_gen *gen;
	time_t next;            /* next due tick; 0: none (disabled, manual) */
	time_t pending;         /* due tick waiting to start; 0: none */
	bool catch_up;          /* pending is a tick missed during downtime */
} reload_job;

/* The scheduled jobs and the generations they use. */
typedef struct reload_set {
	reload_gen *gens;
	reload_job *jobs;
	size_t njobs;
	size_t problems;        /* errors the last load of conf.d found */
	char *problem;          /* the first of them, "FILE:LINE: message";
	                           NULL when none */
} reload_set;

int reload_load(reload_set *rs, const settings *s, time_t now);
reload_job *reload_find(reload_set *rs, const char *name);
void reload_free(reload_set *rs);

#endif
