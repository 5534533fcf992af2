/* reload: generations of the daemon's configuration.  A new generation
 * is adopted job by job: a sound job replaces (or adds) the job of its
 * name, a broken one keeps the job on its last good configuration, a job
 * whose file is gone is dropped; runs in progress are processes of their
 * own and finish on the code they started with.  Each job's next instant
 * is computed again from now. */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "log.h"

/* Remembers how many problems the load of conf.d found, and the first
 * (d NULL: conf.d could not be read at all). */
static void reload_note(reload_set *rs, const diag *d, const settings *s)
{
	buf b = BUF_INIT;

	free(rs->problem);
	rs->problem = NULL;
	rs->problems = d ? d->count : 1;
	if (d == NULL) {
		buf_printf(&b, "%s: cannot read the configuration",
		           s->conf_dir);
		rs->problem = buf_detach(&b);
	} else if (d->count > 0) {
		rs->problem = diag_format(&d->items[0]);
	}
}

/* Loads the plugins and jobs of the configuration into a new generation,
 * logging every problem (and noting them in rs).  NULL when conf.d
 * cannot be read at all. */
static reload_gen *reload_gen_load(reload_set *rs, const settings *s)
{
	reload_gen *g = calloc(1, sizeof(*g));
	diag d = DIAG_INIT;
	size_t i;

	if (g == NULL || (g->l = loader_new()) == NULL) {
		free(g);
		return NULL;
	}
	g->js = jobs_load(s, g->l, &d);
	for (i = 0; i < d.count; i++) {
		char *line = diag_format(&d.items[i]);
		log_msg(SWEEP_LOG_ERROR, "configuration problem", "problem",
		        line, LOG_END);
		free(line);
	}
	reload_note(rs, g->js ? &d : NULL, s);
	diag_free(&d);
	if (g->js == NULL) {
		loader_free(g->l);
		free(g);
		return NULL;
	}
	return g;
}

/* Frees every generation no scheduled job uses. */
static void reload_collect(reload_set *rs)
{
	reload_gen **p = &rs->gens;

	while (*p != NULL) {
		reload_gen *g = *p;
		if (g->refs > 0) {
			p = &g->next;
			continue;
		}
		*p = g->next;
		jobs_free(g->js);
		loader_free(g->l);
		free(g);
	}
}

/* The scheduled job called name, or NULL. */
reload_job *reload_find(reload_set *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->njobs; i++)
		if (strcmp(rs->jobs[i].job->name, name) == 0)
			return &rs->jobs[i];
	return NULL;
}

/* Makes generation g the configuration: each of its sound jobs replaces
 * (or adds) the job of that name; a broken one leaves the job of that name
 * on its last good configuration; jobs whose files are gone are dropped.
 * A job whose schedule did not change keeps its next tick. */
static int reload_adopt(reload_set *rs, reload_gen *g, time_t now)
{
	size_t n = jobs_count(g->js), i, k = 0;
	reload_job *v = calloc(n ? n : 1, sizeof(*v));

	if (v == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const job *j = jobs_at(g->js, i);
		reload_job *old = reload_find(rs, j->name);

		if (j->nerrors > 0 && old == NULL)
			continue;
		if (j->nerrors > 0) {
			log_msg(SWEEP_LOG_ERROR, "job keeps its last good "
			        "configuration", "job", j->name, "file", j->file,
			        LOG_END);
			v[k] = *old;
			v[k].gen->refs++;
			k++;
			continue;
		}
		v[k].job = j;
		v[k].gen = g;
		g->refs++;
		/* Every job's next instant is computed again (after a step of
		 * the clock, SIGHUP sets it right), but a tick already due and
		 * not yet handled is kept. */
		if (old && old->next && old->next <= now &&
		    jobs_next(j, old->next - 1) == old->next)
			v[k].next = old->next;
		else
			v[k].next = jobs_next(j, now);
		v[k].pending = old ? old->pending : 0;
		v[k].catch_up = old ? old->catch_up : false;
		k++;
	}
	for (i = 0; i < rs->njobs; i++) {
		size_t m;
		for (m = 0; m < k; m++)
			if (strcmp(v[m].job->name, rs->jobs[i].job->name) == 0)
				break;
		if (m == k)
			log_msg(SWEEP_LOG_INFO, "job removed", "job",
			        rs->jobs[i].job->name, LOG_END);
		rs->jobs[i].gen->refs--;
	}
	free(rs->jobs);
	rs->jobs = v;
	rs->njobs = k;
	reload_collect(rs);
	return 0;
}

/* Loads conf.d into a new generation and adopts it (at start and on
 * SIGHUP): new, changed and removed files take effect.  Returns 0, or -1
 * (logged) when conf.d cannot be read or memory runs out, keeping the
 * configuration rs had. */
int reload_load(reload_set *rs, const settings *s, time_t now)
{
	reload_gen *g = reload_gen_load(rs, s);
	char n[32];

	if (g == NULL) {
		log_msg(SWEEP_LOG_ERROR, "cannot read the configuration; keeping "
		        "the running one", "dir", s->conf_dir, LOG_END);
		return -1;
	}
	g->next = rs->gens;
	rs->gens = g;
	if (reload_adopt(rs, g, now) != 0) {
		log_msg(SWEEP_LOG_ERROR, "configuration not loaded: out of "
		        "memory", LOG_END);
		reload_collect(rs);
		return -1;
	}
	snprintf(n, sizeof(n), "%zu", rs->njobs);
	log_msg(SWEEP_LOG_INFO, "configuration loaded", "jobs", n, LOG_END);
	return 0;
}

/* Frees every job and generation rs holds. */
void reload_free(reload_set *rs)
{
	size_t i;

	for (i = 0; i < rs->njobs; i++)
		rs->jobs[i].gen->refs--;
	free(rs->jobs);
	rs->jobs = NULL;
	rs->njobs = 0;
	free(rs->problem);
	rs->problem = NULL;
	reload_collect(rs);
}
