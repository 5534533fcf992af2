/* status: sweepd --status: each job's last run, its result, next run and
 * last failure, from the run history and the configuration. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abandon.h"
#include "cron.h"
#include "db.h"
#include "isotime.h"
#include "redact.h"
#include "log.h"
#include "pause.h"
#include "verify.h"

/* Columns of db_status(). */
enum {
	ST_JOB, ST_STARTED, ST_FINISHED, ST_STATUS, ST_MS, ST_COUNTERS,
	ST_MESSAGE, ST_ERROR, ST_SCHEDULED, ST_FAIL_AT, ST_FAIL_STATUS,
	ST_FAIL_ERROR, ST_OLDEST, ST_LIMIT, ST_VTABLE
};

/* The next run of j after now as ISO 8601 UTC text, or "" when it has
 * none (no schedule, disabled, or no instant ahead). */
void status_next_run(const job *j, time_t now, char *out, size_t len)
{
	struct timespec ts = {jobs_next(j, now), 0};

	out[0] = '\0';
	if (ts.tv_sec != 0)
		isotime_format(&ts, out, len);
}

/* Appends the names of the jobs working in database db (NULL: home),
 * comma-separated (text) or as JSON strings; returns how many. */
static size_t status_db_jobs(const jobs *js, const char *db, bool json,
                             buf *out)
{
	size_t k, listed = 0;

	for (k = 0; k < jobs_count(js); k++) {
		const job *j = jobs_at(js, k);

		if ((db == NULL) != (j->database == NULL) ||
		    (db && strcmp(j->database, db) != 0))
			continue;
		if (json) {
			buf_puts(out, listed++ ? "," : "");
			buf_json_string(out, j->name);
		} else {
			buf_printf(out, "%s %s", listed++ ? "," : "", j->name);
		}
	}
	return listed;
}

/* True when the i-th job names a database no job before it names. */
static bool status_db_first(const jobs *js, size_t i)
{
	const char *db = jobs_at(js, i)->database;
	size_t k;

	if (db == NULL)
		return false;
	for (k = 0; k < i; k++)
		if (jobs_at(js, k)->database &&
		    strcmp(jobs_at(js, k)->database, db) == 0)
			return false;
	return true;
}

/* Appends which jobs work in which database, for --check: as text one
 * line "database NAME: JOB, JOB" per database named by a job, then
 * "home database: ..." (nothing when no job names a database); as JSON
 * an object {"NAME": ["JOB", ...], ..., "home": [...]}. */
void status_databases(const jobs *js, bool json, buf *out)
{
	size_t i, n = jobs_count(js);
	bool any = false;

	for (i = 0; i < n; i++)
		any |= jobs_at(js, i)->database != NULL;
	if (!any && !json)
		return;
	buf_puts(out, json ? "{" : "");
	for (i = 0; i <= n; i++) {
		const char *db = i < n ? jobs_at(js, i)->database : NULL;

		if (i < n && !status_db_first(js, i))
			continue;
		if (json) {
			buf_json_string(out, db ? db : "home");
			buf_puts(out, ":[");
			status_db_jobs(js, db, true, out);
			buf_puts(out, i < n ? "]," : "]}");
			continue;
		}
		buf_printf(out, db ? "database %s:" : "home database:", db);
		buf_puts(out, status_db_jobs(js, db, false, out) ? "\n"
		                                                 : " none\n");
	}
}

/* The row of res for job name, or -1. */
static int status_row(const PGresult *res, const char *name)
{
	int i;

	for (i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, ST_JOB), name) == 0)
			return i;
	return -1;
}

/* Column col of row i as a new string (the caller frees it), with every
 * password masked (redact.c) in the columns that hold a run's message or
 * error: a row written before sweepd masked them may hold one.  NULL when
 * out of memory. */
static char *status_text(const PGresult *res, int i, int col)
{
	const char *v = PQgetvalue(res, i, col);
	size_t len = strlen(v) * 3 + 1;  /* a mask may outgrow its secret */
	char *out;

	if (col != ST_MESSAGE && col != ST_ERROR && col != ST_FAIL_ERROR)
		return strdup(v);
	if ((out = malloc(len)) != NULL)
		redact_conninfo(v, out, len);
	return out;
}

/* A column of row i as a JSON value: NULL as null, jsonb as itself. */
static void status_json_field(buf *b, const PGresult *res, int i, int col)
{
	char *text;

	if (i < 0 || PQgetisnull(res, i, col)) {
		buf_puts(b, "null");
	} else if (col == ST_COUNTERS || col == ST_MS) {
		buf_puts(b, PQgetvalue(res, i, col));
	} else {
		text = status_text(res, i, col);
		if (text == NULL)
			b->oom = 1;
		buf_json_string(b, text);
		free(text);
	}
}

/* Appends "  LABEL VALUE\n" for column col of row i, when not NULL. */
static void status_line(buf *b, const char *label, const PGresult *res,
                        int i, int col)
{
	char *text;

	if (PQgetisnull(res, i, col))
		return;
	text = status_text(res, i, col);
	if (text == NULL)
		b->oom = 1;
	else
		buf_printf(b, "  %-13s %s\n", label, text);
	free(text);
}

/* "STATUS: ERROR" for a failure, or ERROR alone when it already starts
 * with the status ("crashed in run: signal 11 ...").  Returns out. */
static const char *status_failure(const char *state, const char *error,
                                  char *out, size_t len)
{
	const char *word = strcmp(state, "timeout") == 0 ? "timed out" : state;

	if (strncmp(error, word, strlen(word)) == 0)
		snprintf(out, len, "%s", error);
	else
		snprintf(out, len, "%s: %s", state, error);
	return out;
}

/* True when row i's last run did not succeed: failed, crashed, timed out
 * or abandoned (skipped, stopped and running are not failures). */
static bool status_failed(const PGresult *res, int i)
{
	static const char *const bad[] = {"failed", "crashed", "timeout",
	                                  "abandoned"};
	size_t k;

	for (k = 0; i >= 0 && k < sizeof(bad) / sizeof(bad[0]); k++)
		if (strcmp(PQgetvalue(res, i, ST_STATUS), bad[k]) == 0)
			return true;
	return false;
}

/* Appends "oldest row: 3d 4h (limit 30d) in TABLE" of history row i,
 * what its plugin's verify measured after the run (ABI 1.9); nothing
 * when it measured nothing. */
static void status_oldest(buf *b, const PGresult *res, int i)
{
	char age[32], limit[32];

	if (PQgetisnull(res, i, ST_VTABLE))
		return;
	if (PQgetisnull(res, i, ST_OLDEST))
		snprintf(age, sizeof(age), "none");
	else
		verify_age_text(strtod(PQgetvalue(res, i, ST_OLDEST), NULL),
		                age, sizeof(age));
	if (PQgetisnull(res, i, ST_LIMIT))
		snprintf(limit, sizeof(limit), "none");
	else
		verify_age_text(strtod(PQgetvalue(res, i, ST_LIMIT), NULL),
		                limit, sizeof(limit));
	buf_printf(b, "  oldest row:   %s (limit %s) in %s\n", age, limit,
	           PQgetvalue(res, i, ST_VTABLE));
}

/* Appends one job: name, the database it works in (NULL: home; for a
 * job no longer configured, not known), then its history row i (-1:
 * none), next run, and whether it is paused (row p of paused, -1: not). */
static void status_one(buf *b, const char *name, const char *database,
                       const PGresult *res, int i, const char *next,
                       const PGresult *paused, int p, bool json, bool first)
{
	static const struct {
		const char *key;
		int col;
	} fields[] = {
		{"last_run", ST_STARTED}, {"finished", ST_FINISHED},
		{"status", ST_STATUS}, {"duration_ms", ST_MS},
		{"counters", ST_COUNTERS}, {"message", ST_MESSAGE},
		{"error", ST_ERROR}, {"scheduled_at", ST_SCHEDULED},
		{"last_failure", ST_FAIL_AT}, {"last_failure_status",
		ST_FAIL_STATUS}, {"last_failure_error", ST_FAIL_ERROR},
	};
	size_t k;
	char why[1024];

	if (json) {
		buf_puts(b, first ? "{\"job\":" : ",{\"job\":");
		buf_json_string(b, name);
		buf_puts(b, ",\"database\":");
		buf_json_string(b, database ? database : "home");
		for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			buf_printf(b, ",\"%s\":", fields[k].key);
			status_json_field(b, res, i, fields[k].col);
		}
		buf_printf(b, ",\"paused\":%s,\"paused_since\":",
		           p >= 0 ? "true" : "false");
		buf_json_string(b, p >= 0 ? PQgetvalue(paused, p, 1) : NULL);
		buf_puts(b, ",\"paused_by\":");
		buf_json_string(b, p >= 0 ? PQgetvalue(paused, p, 2) : NULL);
		buf_puts(b, ",\"next_run\":");
		buf_json_string(b, *next ? next : NULL);
		buf_puts(b, "}");
		return;
	}
	buf_printf(b, "%s\n", name);
	buf_printf(b, "  database:     %s\n", database ? database : "home");
	if (i < 0) {
		buf_puts(b, "  last run:     never\n");
	} else {
		buf_printf(b, "  last run:     %s, %s in %s ms\n",
		           PQgetvalue(res, i, ST_STARTED),
		           PQgetvalue(res, i, ST_STATUS),
		           PQgetisnull(res, i, ST_MS) ? "?" :
		           PQgetvalue(res, i, ST_MS));
		buf_printf(b, "  counters:     %s\n",
		           PQgetvalue(res, i, ST_COUNTERS));
		status_line(b, "message:", res, i, ST_MESSAGE);
		status_line(b, "error:", res, i, ST_ERROR);
		status_oldest(b, res, i);
	}
	if (p >= 0)
		buf_printf(b, "  paused:       since %s by %s (sweepd --resume "
		           "%s)\n", PQgetvalue(paused, p, 1),
		           PQgetvalue(paused, p, 2), name);
	buf_printf(b, "  next run:     %s%s\n", *next ? next : "none",
	           p >= 0 && *next ? " (skipped while paused)" : "");
	if (i >= 0 && !PQgetisnull(res, i, ST_FAIL_AT) &&
	    strcmp(PQgetvalue(res, i, ST_FAIL_AT),
	           PQgetvalue(res, i, ST_STARTED)) != 0) {
		char *error = status_text(res, i, ST_FAIL_ERROR);

		buf_printf(b, "  last failure: %s, %s\n",
		           PQgetvalue(res, i, ST_FAIL_AT),
		           status_failure(PQgetvalue(res, i, ST_FAIL_STATUS),
		                          error ? error : "", why, sizeof(why)));
		free(error);
	}
}

/* Marks the runs whose process is gone abandoned before showing them, so
 * --status never shows a dead run as running.  0, or -1 with err set. */
static int status_sweep(PGconn *c, char *err, size_t errlen)
{
	abandon_tick *ticks;
	size_t n;

	if (abandon_sweep(c, &ticks, &n, err, errlen) != 0)
		return -1;
	abandon_ticks_free(ticks, n);
	return 0;
}

/* Appends to out the status of every configured job, or of the job
 * called only (which may have history but no file any more).  Returns 0
 * when every job shown last ran well (or never ran), 1 when one's last
 * run failed, crashed, timed out or was abandoned, 2 when only names no
 * job, configured or recorded; -1 with err set when the history cannot be
 * read. */
int status_report(const jobs *js, const settings *s, const char *only,
                  time_t now, bool json, buf *out, char *err, size_t errlen)
{
	PGconn *c = db_connect(s->dsn, NULL, err, errlen);
	PGresult *res = NULL, *paused = NULL;
	char next[ISOTIME_LEN];
	size_t i;
	int shown = 0, rc = -1, failed = 0;

	if (c == NULL || db_migrate(c, err, errlen) != 0 ||
	    status_sweep(c, err, errlen) != 0 ||
	    (res = db_status(c, only, err, errlen)) == NULL ||
	    (paused = pause_list(c, err, errlen)) == NULL)
		goto out;
	if (json)
		buf_puts(out, "[");
	for (i = 0; i < jobs_count(js); i++) {
		const job *j = jobs_at(js, i);
		int row;

		if (only && strcmp(only, j->name) != 0)
			continue;
		row = status_row(res, j->name);
		failed |= status_failed(res, row);
		status_next_run(j, now, next, sizeof(next));
		status_one(out, j->name, j->database, res, row, next, paused,
		           pause_find(paused, j->name), json, shown++ == 0);
	}
	/* A job no longer configured that has history (db_status gave its
	 * one row). */
	if (only && jobs_find(js, only) == NULL && PQntuples(res) > 0) {
		failed |= status_failed(res, 0);
		status_one(out, only, NULL, res, 0, "", paused,
		           pause_find(paused, only), json, shown++ == 0);
	}
	if (json)
		buf_puts(out, "]\n");
	rc = only && shown == 0 ? 2 : failed ? 1 : 0;
out:
	PQclear(res);
	PQclear(paused);
	PQfinish(c);
	return rc;
}

/* The paused jobs (pause_list()) for --list-jobs, or NULL when the
 * database does not answer (logged at debug: listing jobs needs none).
 * The caller PQclear()s it. */
PGresult *status_paused(const settings *s)
{
	char err[1024];
	PGconn *c = db_connect(s->dsn, NULL, err, sizeof(err));
	PGresult *res = NULL;

	if (c != NULL && db_migrate(c, err, sizeof(err)) == 0)
		res = pause_list(c, err, sizeof(err));
	if (res == NULL)
		log_msg(SWEEP_LOG_DEBUG, "paused jobs not known", "error", err,
		        LOG_END);
	PQfinish(c);
	return res;
}
