/* metrics: the Prometheus text exposition of every job's runs (last run,
 * last success, last duration, runs by status, rows by counter, next run,
 * paused) and sweepd_up, written atomically to metrics_file after every
 * run for node_exporter's textfile collector.  Read from the home
 * database, so every sweepd sharing it and every `sweepd --run` writes the
 * same truth. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron.h"
#include "db.h"
#include "log.h"

/* Columns of the per-job query. */
enum {
	MJ_JOB, MJ_PAUSED, MJ_LAST_RUN, MJ_LAST_OK, MJ_LAST_DURATION,
	MJ_LAST_FAILED, MJ_OLDEST
};

/* Per job of $1: paused, the start of its last run (not a skipped or
 * released tick), the end of its last successful run, the length of its
 * last finished run, in seconds, and whether that run failed (failed,
 * timed out, crashed or abandoned, as --status counts failures). */
static const char metrics_jobs_sql[] =
	"SELECT j.job, EXISTS (SELECT 1 FROM " DB_SCHEMA ".paused p WHERE"
	" p.job = j.job)::int, extract(epoch FROM l.started_at),"
	" extract(epoch FROM s.finished_at),"
	" extract(epoch FROM d.finished_at - d.started_at),"
	" (d.status IN ('failed', 'timeout', 'crashed', 'abandoned'))::int,"
	" v.age"
	" FROM unnest($1::text[]) j(job)"
	" LEFT JOIN LATERAL (SELECT started_at FROM " DB_SCHEMA ".runs r"
	"  WHERE r.job = j.job AND r.status NOT IN ('skipped', 'released')"
	"  ORDER BY r.started_at DESC LIMIT 1) l ON true"
	" LEFT JOIN LATERAL (SELECT finished_at FROM " DB_SCHEMA ".runs r"
	"  WHERE r.job = j.job AND r.status = 'ok'"
	"  ORDER BY r.started_at DESC LIMIT 1) s ON true"
	" LEFT JOIN LATERAL (SELECT started_at, finished_at, status FROM "
	DB_SCHEMA
	".runs r WHERE r.job = j.job AND r.finished_at IS NOT NULL AND"
	"  r.status NOT IN ('skipped', 'released')"
	"  ORDER BY r.started_at DESC LIMIT 1) d ON true"
	" LEFT JOIN LATERAL (SELECT coalesce(oldest_age_s, 0) age FROM "
	DB_SCHEMA ".runs r"
	"  WHERE r.job = j.job AND r.verified_table IS NOT NULL"
	"  ORDER BY r.started_at DESC LIMIT 1) v ON true"
	" ORDER BY j.job COLLATE \"C\"";

/* Runs of each job of $1 by status, ended runs of the history plus those
 * pruned from it. */
static const char metrics_runs_sql[] =
	"SELECT job, status, sum(n) FROM (SELECT job, status, count(*) n FROM "
	DB_SCHEMA ".runs WHERE job = ANY($1::text[]) AND status <> 'running'"
	" GROUP BY 1, 2 UNION ALL SELECT job, status, runs FROM " DB_SCHEMA
	".pruned_runs WHERE job = ANY($1::text[])) x GROUP BY 1, 2"
	" ORDER BY job COLLATE \"C\", status COLLATE \"C\"";

/* Each counter of each job of $1 summed over its runs, pruned included. */
static const char metrics_rows_sql[] =
	"SELECT job, key, sum(v) FROM (SELECT r.job, e.key, e.value::numeric v"
	" FROM " DB_SCHEMA ".runs r, jsonb_each(r.counters) e WHERE r.job ="
	" ANY($1::text[]) AND jsonb_typeof(e.value) = 'number' UNION ALL"
	" SELECT job, counter, total FROM " DB_SCHEMA ".pruned_rows WHERE"
	" job = ANY($1::text[])) x GROUP BY 1, 2"
	" ORDER BY job COLLATE \"C\", key COLLATE \"C\"";

/* Appends a label value, escaped as the exposition format asks (\\, \",
 * \n). */
static void metrics_label(buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_puts(b, "\\\\");
		else if (*v == '"')
			buf_puts(b, "\\\"");
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, v, 1);
	}
}

/* Appends the HELP and TYPE lines of a family. */
static void metrics_family(buf *b, const char *name, const char *type,
                           const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Appends one sample: name{job="JOB"[,label="value"]} value. */
static void metrics_sample(buf *b, const char *name, const char *jobname,
                           const char *label, const char *lvalue,
                           const char *value)
{
	buf_printf(b, "%s{job_name=\"", name);
	metrics_label(b, jobname);
	if (label != NULL) {
		buf_printf(b, "\",%s=\"", label);
		metrics_label(b, lvalue);
	}
	buf_printf(b, "\"} %s\n", value);
}

/* The text array literal {"a","b"} of the jobs' names, for $1. */
static void metrics_names(buf *b, const metrics_job *js, size_t n)
{
	size_t i;

	buf_puts(b, "{");
	for (i = 0; i < n; i++) {
		const char *p;

		buf_puts(b, i ? ",\"" : "\"");
		for (p = js[i].name; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_puts(b, "\\");
			buf_append(b, p, 1);
		}
		buf_puts(b, "\"");
	}
	buf_puts(b, "}");
}

/* Runs one of the queries above over names; NULL (logged) on error. */
static PGresult *metrics_query(PGconn *c, const char *sql, const char *names)
{
	const char *args[1] = {names};
	PGresult *res = PQexecParams(c, sql, 1, NULL, args, NULL, NULL, 0);
	char err[1024];

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	db_error(res, c, "reading the metrics", err, sizeof(err));
	log_msg(SWEEP_LOG_WARN, "metrics not read", "error", err, LOG_END);
	PQclear(res);
	return NULL;
}

/* Appends the family of column col of the per-job result, one sample per
 * job where it is not NULL. */
static void metrics_job_family(buf *b, const PGresult *res, int col,
                               const char *name, const char *help)
{
	int i;

	metrics_family(b, name, "gauge", help);
	for (i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, col))
			metrics_sample(b, name, PQgetvalue(res, i, MJ_JOB), NULL,
			               NULL, PQgetvalue(res, i, col));
}

/* Appends a counter family of rows (job, label value, value). */
static void metrics_counter(buf *b, const PGresult *res, const char *name,
                            const char *label, const char *help)
{
	int i;

	metrics_family(b, name, "counter", help);
	for (i = 0; i < PQntuples(res); i++)
		metrics_sample(b, name, PQgetvalue(res, i, 0), label,
		               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
}

/* Appends the families read from the database; 0, or -1 (logged) when
 * it does not answer. */
static int metrics_history(PGconn *c, const metrics_job *js, size_t n,
                           buf *out)
{
	buf names = BUF_INIT;
	PGresult *jr = NULL, *rr = NULL, *cr = NULL;
	int rc = -1;

	metrics_names(&names, js, n);
	if (names.oom || (jr = metrics_query(c, metrics_jobs_sql,
	                                     buf_str(&names))) == NULL ||
	    (rr = metrics_query(c, metrics_runs_sql, buf_str(&names))) == NULL ||
	    (cr = metrics_query(c, metrics_rows_sql, buf_str(&names))) == NULL)
		goto out;
	metrics_job_family(out, jr, MJ_PAUSED, "sweepd_job_paused",
	                   "1 while an operator has paused the job "
	                   "(sweepd --pause).");
	metrics_job_family(out, jr, MJ_LAST_RUN,
	                   "sweepd_job_last_run_timestamp_seconds",
	                   "Start of the job's last run.");
	metrics_job_family(out, jr, MJ_LAST_OK,
	                   "sweepd_job_last_success_timestamp_seconds",
	                   "End of the job's last successful run.");
	metrics_job_family(out, jr, MJ_LAST_DURATION,
	                   "sweepd_job_last_duration_seconds",
	                   "Length of the job's last finished run.");
	metrics_job_family(out, jr, MJ_LAST_FAILED,
	                   "sweepd_job_last_run_failed",
	                   "1 when the job's last finished run failed, timed "
	                   "out, crashed or was abandoned.");
	metrics_job_family(out, jr, MJ_OLDEST,
	                   "sweepd_job_oldest_row_age_seconds",
	                   "Age, when the job's last run ended, of the oldest "
	                   "row its condition still matched (0: none); alert "
	                   "when it exceeds the job's limit plus a period.");
	metrics_counter(out, rr, "sweepd_job_runs_total", "status",
	                "Runs of the job that ended, by status (ok, failed, "
	                "skipped, timeout, crashed, stopped, abandoned, "
	                "released).");
	metrics_counter(out, cr, "sweepd_job_rows_total", "counter",
	                "Counters the job's runs reported (deleted, examined, "
	                "...), summed.");
	rc = 0;
out:
	PQclear(jr);
	PQclear(rr);
	PQclear(cr);
	buf_free(&names);
	return rc;
}

/* Appends each scheduled job's next run, or (period) its period. */
static void metrics_schedule(buf *out, const metrics_job *js, size_t n,
                             bool period)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char v[32];

		if (js[i].next == 0 || (period && js[i].period <= 0))
			continue;
		snprintf(v, sizeof(v), "%lld", period ? (long long)js[i].period
		         : (long long)js[i].next);
		metrics_sample(out, period ? "sweepd_job_period_seconds"
		               : "sweepd_job_next_run_timestamp_seconds",
		               js[i].name, NULL, NULL, v);
	}
}

/* Renders the whole exposition into out: sweepd_up (1 when up and c
 * answers), the families read from c (none when c is NULL or fails) and
 * each job's next run and period.  Returns 0, or -1 when out ran out of
 * memory. */
int metrics_render(PGconn *c, const metrics_job *js, size_t n, bool up,
                   buf *out)
{
	buf hist = BUF_INIT;

	if (c == NULL || metrics_history(c, js, n, &hist) != 0)
		up = false;
	metrics_family(out, "sweepd_up", "gauge", "1 while sweepd runs and "
	               "its home database answers.");
	buf_printf(out, "sweepd_up %d\n", up ? 1 : 0);
	buf_append(out, buf_str(&hist), hist.len);
	metrics_family(out, "sweepd_job_next_run_timestamp_seconds", "gauge",
	               "When the job runs next on its schedule.");
	metrics_schedule(out, js, n, false);
	metrics_family(out, "sweepd_job_period_seconds", "gauge",
	               "Time between two runs of the job on its schedule.");
	metrics_schedule(out, js, n, true);
	buf_free(&hist);
	return out->oom ? -1 : 0;
}

/* Writes text to path atomically: a temporary file beside it (which
 * node_exporter ignores: its name does not end in .prom), flushed to
 * disk, renamed over path.  Readers see the old file or the new one,
 * never a part.  0, or -1 with err set. */
int metrics_write(const char *path, const buf *text, char *err,
                  size_t errlen)
{
	buf tmp = BUF_INIT;
	int fd = -1, rc = -1;

	buf_printf(&tmp, "%s.XXXXXX", path);
	if (tmp.oom || (fd = mkstemp(tmp.data)) < 0) {
		snprintf(err, errlen, "cannot create a file beside %s: %s",
		         path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) != 0 ||
	    write(fd, buf_str(text), text->len) != (ssize_t)text->len ||
	    fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", buf_str(&tmp),
		         strerror(errno));
		fd = -1;
		unlink(buf_str(&tmp));
		goto out;
	}
	fd = -1;
	if (rename(buf_str(&tmp), path) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s",
		         buf_str(&tmp), path, strerror(errno));
		unlink(buf_str(&tmp));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&tmp);
	return rc;
}

/* Seconds between two runs of j around now; 0 when it has no schedule. */
static int64_t metrics_period(const job *j, time_t now)
{
	return j->cron ? cron_period(j->cron, j->timezone, now) : 0;
}

/* Renders the metrics and writes them to the metrics file of s, when it
 * has one (a failure is logged); out, when not NULL, gets the text. */
static void metrics_publish(const settings *s, PGconn *c,
                            const metrics_job *js, size_t n, bool up,
                            buf *out)
{
	buf text = BUF_INIT;
	char err[1024];

	if (metrics_render(c, js, n, up, &text) != 0)
		snprintf(err, sizeof(err), "out of memory");
	if (s->metrics_file != NULL && *s->metrics_file != '\0' &&
	    (text.oom || metrics_write(s->metrics_file, &text, err,
	                               sizeof(err)) != 0))
		log_msg(SWEEP_LOG_WARN, "metrics not written", "file",
		        s->metrics_file, "error", err, LOG_END);
	if (out != NULL)
		buf_append(out, buf_str(&text), text.len);
	buf_free(&text);
}

/* The daemon's metrics: its jobs and their next runs; up while it runs
 * (false once it stops).  Written to metrics_file when set; text, when
 * not NULL, gets the very same exposition (the caller frees it). */
void metrics_daemon(const settings *s, PGconn *c, const reload_set *rs,
                    bool up, buf *text)
{
	metrics_job *js;
	size_t i;

	if (text == NULL && (s->metrics_file == NULL ||
	                     *s->metrics_file == '\0'))
		return;
	js = calloc(rs->njobs + 1, sizeof(*js));
	if (js == NULL)
		return;
	for (i = 0; i < rs->njobs; i++) {
		js[i].name = rs->jobs[i].job->name;
		js[i].next = rs->jobs[i].next;
		js[i].period = metrics_period(rs->jobs[i].job, time(NULL));
	}
	metrics_publish(s, c, js, rs->njobs, up, text);
	free(js);
}

/* After `sweepd --run`: the metrics of every configured job, with its own
 * session, as a one-shot run under a timer or a CronJob leaves them. */
void metrics_cli(const settings *s, const jobs *js, time_t now)
{
	metrics_job *mj;
	char err[1024];
	PGconn *c;
	size_t i, n = jobs_count(js);

	if (s->metrics_file == NULL || *s->metrics_file == '\0')
		return;
	mj = calloc(n + 1, sizeof(*mj));
	if (mj == NULL)
		return;
	for (i = 0; i < n; i++) {
		mj[i].name = jobs_at(js, i)->name;
		mj[i].next = jobs_next(jobs_at(js, i), now);
		mj[i].period = metrics_period(jobs_at(js, i), now);
	}
	c = db_connect(s->dsn, NULL, err, sizeof(err));
	if (c == NULL)
		log_msg(SWEEP_LOG_WARN, "database unavailable for the metrics",
		        "error", err, LOG_END);
	metrics_publish(s, c, mj, n, true, NULL);
	PQfinish(c);
	free(mj);
}
