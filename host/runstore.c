/* runstore: the days of sweepd.runs, the run history.  The table is
 * partitioned by day of `at`, a scheduled row's tick or a run by hand's
 * start (schema 7, db.c; days made ahead by days.c).  history_keep drops
 * the days wholly older than it whose runs all finished before it, as
 * audit_keep does sweepd.audit's, and deletes in short statements the
 * older rows that no day holds (the DEFAULT and legacy partitions).
 * Either way the rows' totals (runs by status, counters summed) reach
 * pruned_runs and pruned_rows in the same transaction: the metrics'
 * counters, history plus pruned, never go back.  Totalling a day when it
 * goes costs about 4 us a run, once; keeping totals as runs end (a
 * trigger) cost 2 ms of every run's new backend (docs/performance.md). */
#include "runstore.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "days.h"
#include "db.h"

/* History rows deleted per statement outside whole days. */
#define RUNSTORE_BATCH 5000
#define RUNSTORE_STR_(x) #x
#define RUNSTORE_STR(x) RUNSTORE_STR_(x)
/* Tries of a day whose locks are not had within DAYS_LOCK_MS. */
#define RUNSTORE_TRIES 5

/* The end of a statement whose CTE `gone` holds the rows going (job,
 * status, counters): adds their totals to pruned_runs and pruned_rows
 * and returns how many there are. */
#define RUNSTORE_TOTALS                                                   \
	", r AS (INSERT INTO " DB_SCHEMA ".pruned_runs SELECT job, status,"  \
	" count(*) FROM gone GROUP BY 1, 2 ON CONFLICT (job, status) DO"     \
	" UPDATE SET runs = pruned_runs.runs + excluded.runs), w AS (INSERT" \
	" INTO " DB_SCHEMA ".pruned_rows SELECT g.job, e.key,"               \
	" sum(e.value::numeric) FROM gone g, jsonb_each(g.counters) e WHERE" \
	" jsonb_typeof(e.value) = 'number' GROUP BY 1, 2 ON CONFLICT (job,"  \
	" counter) DO UPDATE SET total = pruned_rows.total +"                \
	" excluded.total) SELECT count(*) FROM gone"

/* Runs sql (one text argument, cutoff, unless NULL) that returns one
 * count; the count, or -1 with err set to "pruning the run history:
 * reason". */
static int64_t runstore_count(PGconn *c, const char *sql, const char *cutoff,
                              char *err, size_t errlen)
{
	const char *args[1] = {cutoff};
	PGresult *res = PQexecParams(c, sql, cutoff ? 1 : 0, NULL, args, NULL,
	                             NULL, 0);
	int64_t n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		db_error(res, c, "pruning the run history", err, errlen);
	PQclear(res);
	return n;
}

/* One try at dropping day (quoted) in one transaction: its rows are
 * locked against change (SHARE: readers go on, and the statements on one
 * run name its day, db.c), checked all finished before cutoff and
 * totalled, then the day is detached and dropped; the history's own
 * lock, which a DETACH beside a DEFAULT partition takes exclusively, is
 * held from there to the COMMIT only, and each lock is waited for at
 * most DAYS_LOCK_MS.  Returns the rows dropped, 0 with *kept set when a
 * run of the day finished too late (nothing done), or -1 with err set
 * (rolled back). */
static int64_t runstore_day_try(PGconn *c, const char *day,
                                const char *cutoff, bool *kept, char *err,
                                size_t errlen)
{
	buf sql = BUF_INIT;
	int64_t n = -1;

	*kept = false;
	buf_printf(&sql, "SET LOCAL lock_timeout = %d; LOCK TABLE %s IN SHARE"
	           " MODE", DAYS_LOCK_MS, day);
	if (db_exec(c, "BEGIN", err, errlen) != 0)
		goto out;
	if (sql.oom || db_exec(c, buf_str(&sql), err, errlen) != 0)
		goto fail;
	buf_reset(&sql);
	buf_printf(&sql, "SELECT count(*) FROM %s WHERE finished_at IS NULL OR"
	           " finished_at >= $1::timestamptz", day);
	n = sql.oom ? -1 : runstore_count(c, buf_str(&sql), cutoff, err,
	                                  errlen);
	if (n != 0) {
		*kept = n > 0;
		n = n > 0 ? 0 : -1;
		goto fail;
	}
	buf_reset(&sql);
	buf_printf(&sql, "WITH gone AS (SELECT job, status, counters FROM %s)"
	           RUNSTORE_TOTALS, day);
	n = sql.oom ? -1 : runstore_count(c, buf_str(&sql), NULL, err, errlen);
	if (n < 0)
		goto fail;
	buf_reset(&sql);
	buf_printf(&sql, "ALTER TABLE " DB_SCHEMA ".runs DETACH PARTITION %s;"
	           " DROP TABLE %s", day, day);
	if (sql.oom || db_exec(c, buf_str(&sql), err, errlen) != 0 ||
	    db_exec(c, "COMMIT", err, errlen) != 0) {
		n = -1;
		goto fail;
	}
	goto out;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
out:
	buf_free(&sql);
	return n;
}

/* Drops day as runstore_day_try() does, trying again while its locks are
 * not had in time.  Same returns. */
static int64_t runstore_day(PGconn *c, const char *day, const char *cutoff,
                            bool *kept, char *err, size_t errlen)
{
	int64_t n = -1;
	int tries;

	for (tries = 0; tries < RUNSTORE_TRIES; tries++) {
		n = runstore_day_try(c, day, cutoff, kept, err, errlen);
		if (n >= 0 || strstr(err, "SQLSTATE 55P03") == NULL)
			break;
	}
	return n;
}

/* Deletes one batch of part's (quoted) rows of runs that started and
 * finished before cutoff, at most RUNSTORE_BATCH, in one statement (row
 * locks on the rows going, for milliseconds) that totals them.  Returns
 * how many, or -1 with err set. */
static int64_t runstore_batch(PGconn *c, const char *part, const char *cutoff,
                              char *err, size_t errlen)
{
	buf sql = BUF_INIT;
	int64_t n = -1;

	buf_printf(&sql, "WITH gone AS (DELETE FROM %s WHERE id IN (SELECT id"
	           " FROM %s WHERE started_at < $1::timestamptz AND finished_at"
	           " < $1::timestamptz LIMIT " RUNSTORE_STR(RUNSTORE_BATCH) ")"
	           " RETURNING job, status, counters)" RUNSTORE_TOTALS, part,
	           part);
	if (!sql.oom)
		n = runstore_count(c, buf_str(&sql), cutoff, err, errlen);
	buf_free(&sql);
	return n;
}

/* Whether relation name (schema-qualified) exists; false also when the
 * question fails (the statements after it then say why). */
static bool runstore_exists(PGconn *c, const char *name)
{
	const char *args[1] = {name};
	PGresult *res = PQexecParams(c, "SELECT to_regclass($1) IS NOT NULL",
	                             1, NULL, args, NULL, NULL, 0);
	bool yes = PQresultStatus(res) == PGRES_TUPLES_OK &&
	           strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return yes;
}

/* Deletes the history rows older than cutoff that no day holds: those of
 * the DEFAULT partition (days not made when they were written) and of
 * runs_legacy (before schema 7, until it goes whole), in batches
 * (runstore_batch()).  Returns how many, or -1 with err set. */
static int64_t runstore_rows(PGconn *c, const char *cutoff, char *err,
                             size_t errlen)
{
	static const char *const parts[] = {"runs_default", "runs_legacy"};
	char part[64];
	int64_t total = 0, n;
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(part, sizeof(part), DB_SCHEMA ".%s", parts[i]);
		if (!runstore_exists(c, part))
			continue;
		do {
			n = runstore_batch(c, part, cutoff, err, errlen);
			if (n < 0)
				return -1;
			total += n;
		} while (n == RUNSTORE_BATCH);
	}
	return total;
}

/* Removes the history of runs that finished more than keep_ms ago: the
 * days wholly older, each whole, then the older rows outside the days.
 * A row younger than that, or of a run still going, is never removed; an
 * older one in a day goes with the last run of its day, within a day.
 * Audit records are kept.  Sets *out; 0, or -1 with err set (what went
 * before the failure is counted). */
int runstore_prune(PGconn *c, int64_t keep_ms, runstore_pruned *out,
                   char *err, size_t errlen)
{
	char cutoff[DAYS_CUTOFF_LEN];
	PGresult *days = NULL;
	int64_t n;
	bool kept;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	if (days_cutoff(c, keep_ms, cutoff, err, errlen) != 0)
		return -1;
	days = days_expired(c, "runs", cutoff, err, errlen);
	if (days == NULL)
		goto out;
	for (i = 0; i < PQntuples(days); i++) {
		n = runstore_day(c, PQgetvalue(days, i, 0), cutoff, &kept, err,
		                 errlen);
		if (n < 0)
			goto out;
		out->days += !kept;
		out->rows += n;
	}
	n = runstore_rows(c, cutoff, err, errlen);
	if (n < 0)
		goto out;
	out->rows += n;
	rc = 0;
out:
	PQclear(days);
	return rc;
}
