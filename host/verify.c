/* verify: proof that a job's policy holds (sweepd --verify). */
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "db.h"
#include "log.h"
#include "runner.h"
#include "supervise.h"

/* Writes seconds as its two largest units, "3d 4h", "5m 2s", "0s". */
void verify_age_text(double seconds, char *out, size_t outlen)
{
	static const struct {
		const char *unit;
		int64_t s;
	} units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
	int64_t left = seconds > 0 ? (int64_t)seconds : 0;
	size_t i, used = 0, terms = 0;

	snprintf(out, outlen, "0s");
	for (i = 0; i < 4 && terms < 2 && used < outlen; i++) {
		int64_t n = left / units[i].s;
		int w;

		if (n == 0 && terms == 0)
			continue;
		if (n != 0) {
			w = snprintf(out + used, outlen - used, "%s%" PRId64 "%s",
			             terms ? " " : "", n, units[i].unit);
			if (w < 0)
				return;
			used += (size_t)w;
		}
		left -= n * units[i].s;
		terms++;
	}
}

/* Seconds of one period of j's schedule around now; 0 when it has none
 * (runs only when asked). */
static double verify_period_s(const job *j, time_t now)
{
	return j->cron ? (double)cron_period(j->cron, j->timezone, now)
	               : 0;
}

/* True when r, j's verified measure, found a row older than the limit
 * plus one period of j's schedule: the rows a run leaves until the next
 * are the policy's slack, older ones are not. */
bool verify_violated(const job *j, const result *r, time_t now)
{
	return r->success && r->verified && r->oldest_age_s >= 0 &&
	       r->limit_s >= 0 &&
	       r->oldest_age_s > r->limit_s + verify_period_s(j, now);
}

/* Appends the line --verify prints for j: job, table, oldest row's age,
 * limit, period and the verdict (OK, VIOLATED, not verifiable, or why
 * the measure failed). */
void verify_render(const job *j, const result *r, time_t now, buf *out)
{
	char age[32], limit[32], period[32];
	double p = verify_period_s(j, now);

	if (!r->success) {
		buf_printf(out, "%s: cannot verify: %s\n", j->name,
		           r->error ? r->error : "failed");
		return;
	}
	if (!r->verified) {
		buf_printf(out, "%s: not verifiable by its plugin (%s)\n",
		           j->name, j->plugin->desc->name);
		return;
	}
	if (r->oldest_age_s >= 0)
		verify_age_text(r->oldest_age_s, age, sizeof(age));
	else
		snprintf(age, sizeof(age), "none");
	verify_age_text(r->limit_s, limit, sizeof(limit));
	if (p > 0)
		verify_age_text(p, period, sizeof(period));
	else
		snprintf(period, sizeof(period), "none");
	buf_printf(out, "%s: table %s: oldest row %s, limit %s, period %s: "
	           "%s\n", j->name, r->verify_table ? r->verify_table : "?",
	           age, limit, period,
	           verify_violated(j, r, now) ? "VIOLATED: rows older than "
	           "the limit plus one period remain" : "OK");
}

/* Verifies j now in a supervised child (plugin code never runs in the
 * CLI's process), appending its line to out.  True when it holds or
 * cannot be verified by its plugin; false when violated or when the
 * measure failed. */
static bool verify_one(const job *j, const settings *s, buf *out)
{
	sup_opts o;

	if (j->plugin == NULL || j->params == NULL || j->nerrors > 0) {
		buf_printf(out, "%s: cannot verify: the job's configuration "
		           "has problems: run sweepd --check\n", j->name);
		return false;
	}
	memset(&o, 0, sizeof(o));
	o.dry_run = true;
	o.verify_only = true;
	o.timeout_ms = j->timeout_ms;
	o.memory_limit = j->memory_limit;
	o.render = SUP_RENDER_VERIFY;
	return sup_foreground(j, s, &o, out) == RUNNER_OK;
}

/* sweepd --verify [JOB]: each job (or only the one named) measured now.
 * Returns 0 when every policy holds, 1 when one is violated or cannot be
 * measured, 2 when only names no job. */
int verify_jobs(const jobs *js, const settings *s, const char *only,
                buf *out)
{
	size_t i;
	int rc = 0;

	if (only != NULL && jobs_find(js, only) == NULL) {
		fprintf(stderr, "sweepd: no job named '%s' in %s (sweepd "
		        "--list-jobs shows them)\n", only, s->conf_dir);
		return 2;
	}
	for (i = 0; i < jobs_count(js); i++) {
		const job *j = jobs_at(js, i);

		if (only != NULL && strcmp(j->name, only) != 0)
			continue;
		if (!verify_one(j, s, out))
			rc = 1;
	}
	return rc;
}
