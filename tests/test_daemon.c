/* End to end: the scheduler.  Each test runs the real sweepd daemon (no
 * command) in the background for a few seconds, with second-resolution
 * schedules, a scratch conf.d and the fixture plugin testjob (which records
 * the instant each run starts), then stops it with SIGTERM and checks its
 * exit status, what the jobs recorded and the history in sweepd.runs.
 *
 * Every test has its own schema and job names that start with it (the
 * history is shared with the other test programs: queries always filter on
 * those names), and waits on conditions, polling up to a deadline, rather
 * than sleeping a fixed time.  Nothing here asserts on speed. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testdaemon.h"
#include "testutil.h"

/* Tolerance on instants the database recorded, in seconds. */
#define EPS 0.05

/* What the running test set up, for teardown to clean even after a
 * failure. */
static struct {
	PGconn *db;
	char *schema;           /* also the prefix of every job name */
	char *conf;             /* scratch conf.d */
	char *dropdb;           /* a database the test created, or NULL */
} T;

/* How the tests run sweepd in the background: `sweepd --log-level debug
 * ARGS`, standard output and error in its log. */
static const td_opts DEBUG_LOG = {.args = "--log-level debug"};

/* ---------------------------------------------------------------- files */

/* The name of the test's job called suffix: SCHEMA-suffix. */
static void job_name(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s-%s", T.schema, suffix);
}

/* Writes conf/file: job name over testjob on schedule, recording into the
 * test's table rec; extra_job and params are more lines (may be ""). */
static void write_testjob(const char *file, const char *name,
                          const char *schedule, const char *extra_job,
                          const char *params)
{
	tu_writef(T.conf, file, "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = %s\n%s\n[params]\nrecord = %s.rec\njob = %s\n%s",
	          name, schedule, extra_job, T.schema, name, params);
}

/* ------------------------------------------------------ setup/teardown */

/* Sets up the test: a connection, schema PREFIX_PID with the record table
 * rec (job, at), and a scratch conf.d. */
static void begin(const char *prefix)
{
	memset(&T, 0, sizeof(T));
	T.db = tu_db();
	T.schema = tu_schema(T.db, prefix);
	T.conf = tu_tempdir();
	tu_sql(T.db, "CREATE TABLE %s.rec (job text NOT NULL, at timestamptz"
	       " NOT NULL)", T.schema);
	td_begin(&DEBUG_LOG);
}

/* Makes sure sweepd.runs exists (a run of a trivial job migrates the
 * schema), so that a test can put history there before starting sweepd. */
static void ensure_history(void)
{
	char *dir = tu_tempdir(), name[128];

	job_name(name, sizeof(name), "init");
	tu_writef(dir, "init.ini", "[job]\nname = %s\nplugin = testjob\n",
	          name);
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --plugin-dir " SWEEPD_FIXTURE_DIR " --run %s"
	                        " >/dev/null 2>&1", dir, name), 0);
	tu_rmtree(dir);
	free(dir);
}

/* Kills what a failed test left running and removes everything the test
 * made: daemons, directories, its history rows, schema and database. */
static int teardown(void **state)
{
	(void)state;
	td_end();
	if (T.db != NULL) {
		if (T.dropdb != NULL)
			tu_sql(T.db, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
			       T.dropdb);
		if (T.schema != NULL)
			tu_schema_drop(T.db, T.schema);
		PQfinish(T.db);
	}
	if (T.conf != NULL) {
		tu_rmtree(T.conf);
		free(T.conf);
	}
	free(T.schema);
	free(T.dropdb);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* SQL: the history rows of job (a WHERE condition on sweepd.runs). */
#define OF_JOB "job = '%s'"
/* SQL: the interval a history row covers; a run stopped before its tick
 * came has started_at (its tick) after finished_at, so it covers none. */
#define SPAN(r) "tstzrange(" r ".started_at, greatest(" r ".started_at, " \
	r ".finished_at))"

/* Epoch seconds of job's records in rec, in order; *n gets their number. */
static double *records(const char *job, int *n)
{
	PGresult *res = tu_query(T.db, "SELECT extract(epoch FROM at)::float8"
	                         " FROM %s.rec WHERE job = '%s' ORDER BY at",
	                         T.schema, job);
	double *v = calloc((size_t)PQntuples(res) + 1, sizeof(*v));
	int i;

	assert_non_null(v);
	*n = PQntuples(res);
	for (i = 0; i < *n; i++)
		v[i] = atof(PQgetvalue(res, i, 0));
	PQclear(res);
	return v;
}

/* Checks that job's records fall in consecutive seconds, one each. */
static void assert_every_second(const char *job)
{
	int n, i;
	double *at = records(job, &n);

	assert_true(n >= 2);
	for (i = 1; i < n; i++)
		if ((long long)at[i] != (long long)at[i - 1] + 1)
			fail_msg("%s: records %d and %d at %.3f and %.3f are not"
			         " in consecutive seconds", job, i - 1, i,
			         at[i - 1], at[i]);
	free(at);
}

/* ---------------------------------------------------------------- tests */

/* 1. Every tick runs at its instant, not before, once. */
static void runs_happen_at_their_due_instants(void **state)
{
	char a[128];
	td_proc *d;
	long long n;

	(void)state;
	begin("dmn_due");
	job_name(a, sizeof(a), "a");
	write_testjob("a.ini", a, "* * * * * *", "", "");
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	             T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 4 FROM %s.rec WHERE job = '%s'",
	            T.schema, a);
	assert_int_equal(td_stop(d), 0);

	n = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	               T.schema, a);
	assert_true(n >= 4);
	assert_every_second(a);
	/* Each record lies within the first second of exactly one ok
	 * scheduled tick: never before it, never late by a second. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec r"
	                            " WHERE r.job = '%s' AND (SELECT count(*)"
	                            " FROM sweepd.runs h WHERE h.job = r.job"
	                            " AND h.status = 'ok' AND h.kind ="
	                            " 'scheduled' AND r.at >= h.scheduled_at"
	                            " AND r.at < h.scheduled_at + interval"
	                            " '1 s') = 1", T.schema, a), n);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs h"
	                            " WHERE h." OF_JOB " AND h.status = 'ok' AND"
	                            " (SELECT count(*) FROM %s.rec r WHERE r.job"
	                            " = h.job AND r.at >= h.scheduled_at AND"
	                            " r.at < h.scheduled_at + interval '1 s') ="
	                            " 1", a, T.schema), n);
	/* One ok row per record, one row per tick; the only other row may
	 * be a tick that SIGTERM stopped before it came (nothing recorded). */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status = 'ok' AND"
	                            " kind = 'scheduled'", a), n);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) - count(DISTINCT"
	                            " scheduled_at) FROM sweepd.runs WHERE "
	                            OF_JOB, a), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status <> 'ok' AND"
	                            " NOT (status = 'stopped' AND scheduled_at >"
	                            " (SELECT max(at) FROM %s.rec WHERE job ="
	                            " '%s'))", a, T.schema, a), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND (scheduled_at IS NULL"
	                            " OR finished_at IS NULL OR kind <>"
	                            " 'scheduled')", a), 0);
}

/* 2. A run that outlasts its period is never overlapped: the ticks in
 * between are skipped, and recorded as such. */
static void slow_job_is_not_overlapped(void **state)
{
	char s[128];
	td_proc *d;
	double *at;
	int n, i;

	(void)state;
	begin("dmn_slow");
	job_name(s, sizeof(s), "slow");
	write_testjob("slow.ini", s, "* * * * * *", "",
	              "mode = sleep\nduration = 2500ms\n");
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	             T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 3 FROM %s.rec WHERE job = '%s'",
	            T.schema, s);
	assert_int_equal(td_stop(d), 0);

	at = records(s, &n);
	assert_true(n >= 3);
	for (i = 1; i < n; i++)
		if (at[i] < at[i - 1] + 2.5 - EPS)
			fail_msg("run %d started at %.3f, %.3f s after run %d"
			         " which sleeps 2.5 s: they overlapped", i, at[i],
			         at[i] - at[i - 1], i - 1);
	free(at);
	/* The history agrees: no two runs' spans overlap. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs a"
	                            " JOIN sweepd.runs b ON b.job = a.job AND"
	                            " a.id < b.id WHERE a." OF_JOB " AND"
	                            " a.status <> 'skipped' AND b.status <>"
	                            " 'skipped' AND " SPAN("a") " && "
	                            SPAN("b"), s), 0);
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                       OF_JOB " AND status = 'ok'", s) >= 2);
	/* Ticks that came while it ran are skipped, saying why. */
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                       OF_JOB " AND status = 'skipped' AND message LIKE"
	                       " '%%still going%%'", s) >= 2);
	/* ... and only those: each skipped tick came while a run went on
	 * (or as it was ending). */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs k"
	                            " WHERE k." OF_JOB " AND k.status ="
	                            " 'skipped' AND NOT EXISTS (SELECT 1 FROM"
	                            " sweepd.runs r WHERE r.job = k.job AND"
	                            " r.status IN ('ok', 'stopped') AND"
	                            " r.scheduled_at < k.scheduled_at AND"
	                            " k.scheduled_at <= r.finished_at +"
	                            " interval '1 s')", s), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN ('ok',"
	                            " 'skipped', 'stopped', 'released')", s), 0);
}

/* 3. A plugin that crashes, one that calls exit() and one that never
 * returns are contained: a healthy job goes on every second, each bad run
 * is recorded for what it was, and the daemon still exits 0. */
static void misbehaving_plugins_do_not_stop_the_others(void **state)
{
	char ok[128], segv[128], ex[128], loop[128];
	td_proc *d;

	(void)state;
	begin("dmn_bad");
	job_name(ok, sizeof(ok), "healthy");
	job_name(segv, sizeof(segv), "segv");
	job_name(ex, sizeof(ex), "exit");
	job_name(loop, sizeof(loop), "loop");
	write_testjob("healthy.ini", ok, "* * * * * *", "", "");
	write_testjob("segv.ini", segv, "* * * * * *", "", "mode = segv\n");
	write_testjob("exit.ini", ex, "* * * * * *", "", "mode = exit\n");
	write_testjob("loop.ini", loop, "* * * * * *", "timeout = 1s\n",
	              "mode = loop\n");
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR
	             " --stop-grace 1s", T.conf);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'crashed')", segv);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'crashed')", ex);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'timeout')", loop);
	/* The healthy job went on after the first timeout too. */
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM %s.rec WHERE job = '%s' AND"
	            " at > (SELECT min(finished_at) FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'timeout')", T.schema, ok, loop);
	td_wait_for(T.db, "SELECT count(*) >= 5 FROM %s.rec WHERE job = '%s'",
	            T.schema, ok);
	assert_int_equal(td_stop(d), 0);

	assert_every_second(ok);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN ('ok',"
	                            " 'stopped', 'released')", ok), 0);
	/* Each bad plugin did start (it records first). */
	assert_true(tu_sql_int(T.db, "SELECT count(DISTINCT job) FROM %s.rec"
	                       " WHERE job IN ('%s', '%s', '%s')", T.schema,
	                       segv, ex, loop) == 3);
	/* (Under AddressSanitizer a SIGSEGV ends the process with a status
	 * rather than the signal: either way, a crash.) */
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                       OF_JOB " AND status = 'crashed' AND error LIKE"
	                       " '%%crash%%'", segv) >= 1);
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                       OF_JOB " AND status = 'crashed' AND error LIKE"
	                       " '%%crash%%' AND error LIKE '%%exit%%'", ex) >= 1);
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                       OF_JOB " AND status = 'timeout' AND (error LIKE"
	                       " '%%timed out%%' OR error LIKE '%%killed%%')",
	                       loop) >= 1);
	/* No bad run is left "running", nor recorded as a success. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job IN ('%s', '%s', '%s') AND"
	                            " (status IN ('running', 'ok') OR"
	                            " finished_at IS NULL)", segv, ex, loop), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job IN ('%s', '%s') AND status NOT IN"
	                            " ('crashed', 'skipped', 'stopped')", segv,
	                            ex), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN"
	                            " ('timeout', 'skipped', 'stopped')", loop),
	                 0);
}

/* 4. SIGHUP loads a new plugin and job; a broken edit keeps the job on
 * its last good configuration; removing the file removes the job.  A job
 * the reloads do not concern misses no tick. */
static void sighup_reloads_jobs_and_plugins(void **state)
{
	char age[128], nu[128];
	td_proc *d;
	long long c, a;

	(void)state;
	begin("dmn_hup");
	job_name(age, sizeof(age), "age");
	job_name(nu, sizeof(nu), "new");
	tu_sql(T.db, "CREATE TABLE %s.t AS SELECT g AS id, now() - interval"
	       " '2 days' AS at FROM generate_series(1, 10) g", T.schema);
	tu_writef(T.conf, "age.ini", "[job]\nname = %s\nplugin = age_delete\n"
	          "schedule = * * * * * *\n[params]\ntable = %s.t\n"
	          "time_column = at\nolder_than = 1d\n", age, T.schema);
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_PLUGIN_DIR,
	             T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok'", age);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.t",
	                            T.schema), 0);

	/* A new plugin and a job over it. */
	tu_copy(SWEEPD_FIXTURE_DIR "/testjob.so", T.conf, "testjob.so");
	write_testjob("new.ini", nu, "* * * * * *", "", "");
	td_signal(d, SIGHUP);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM %s.rec WHERE job = '%s'",
	            T.schema, nu);

	/* A broken edit: the job keeps running as it was.  A job dropped at
	 * the reload could add one record at most (a run already started). */
	write_testjob("new.ini", nu, "* * * * * * * *", "", "");
	td_signal(d, SIGHUP);
	td_wait_log(d, "job keeps its last good");
	c = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	               T.schema, nu);
	td_wait_for(T.db, "SELECT count(*) >= %lld FROM %s.rec WHERE job = '%s'",
	            c + 3, T.schema, nu);

	/* The file removed: the job goes.  The other job, still running
	 * every second, is the clock. */
	assert_int_equal(tu_run(NULL, NULL, "rm '%s/new.ini'", T.conf), 0);
	td_signal(d, SIGHUP);
	c = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	               T.schema, nu);
	a = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE " OF_JOB
	               " AND status = 'ok'", age);
	td_wait_for(T.db, "SELECT count(*) >= %lld FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok'", a + 3, age);
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job ="
	                       " '%s'", T.schema, nu) <= c + 1);
	assert_int_equal(td_stop(d), 0);

	/* The unchanged job went through three reloads missing no tick. */
	assert_int_equal(tu_sql_int(T.db, "SELECT (extract(epoch FROM"
	                            " max(scheduled_at) - min(scheduled_at)) + 1"
	                            " - count(DISTINCT scheduled_at))::int8 FROM"
	                            " sweepd.runs WHERE " OF_JOB, age), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN ('ok',"
	                            " 'skipped', 'stopped', 'released')", age), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN ('ok',"
	                            " 'skipped', 'stopped', 'released')", nu), 0);
}

/* 5. Two daemons on one database run each tick once between them. */
static void two_daemons_run_each_tick_once(void **state)
{
	char j[128];
	td_proc *d1, *d2;
	long long n, ok, stopped;
	int rc1, rc2;

	(void)state;
	begin("dmn_two");
	job_name(j, sizeof(j), "shared");
	write_testjob("shared.ini", j, "* * * * * *", "", "");
	d1 = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	              T.conf);
	d2 = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	              T.conf);
	/* Both take part in the ticks from the second daemon's first one. */
	td_wait_log(d2, "scheduler started");
	n = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	               T.schema, j);
	td_wait_for(T.db, "SELECT count(*) >= %lld FROM %s.rec WHERE job = '%s'",
	            n + 5, T.schema, j);
	td_signal(d1, SIGTERM);
	td_signal(d2, SIGTERM);
	rc1 = td_wait(d1);
	rc2 = td_wait(d2);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, 0);

	n = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	               T.schema, j);
	assert_true(n >= 5);
	/* At most one record a second, and none missing. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM (SELECT"
	                            " floor(extract(epoch FROM at)) FROM %s.rec"
	                            " WHERE job = '%s' GROUP BY 1 HAVING count(*)"
	                            " > 1) x", T.schema, j), 0);
	assert_every_second(j);
	/* One history row per tick, and a run per record: an ok one, or
	 * one that the SIGTERM reached after its record, which is stopped
	 * (under ASan a run lasts long enough for that, once in a while). */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) - count(DISTINCT"
	                            " scheduled_at) FROM sweepd.runs WHERE "
	                            OF_JOB, j), 0);
	ok = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE " OF_JOB
	                " AND status = 'ok'", j);
	stopped = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                     OF_JOB " AND status = 'stopped'", j);
	if (n < ok || n > ok + stopped)
		fail_msg("%lld records, %lld ok runs, %lld stopped", n, ok,
		         stopped);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN ('ok',"
	                            " 'stopped', 'released')", j), 0);
}

/* 6. SIGTERM during a batched delete: the run stops between batches, is
 * recorded as stopped with what it deleted, and the daemon exits 0. */
static void sigterm_stops_a_batched_delete_cleanly(void **state)
{
	char j[128];
	td_proc *d;
	long long left;

	(void)state;
	begin("dmn_term");
	job_name(j, sizeof(j), "purge");
	/* 20000 rows in batches of about 100, 50 ms apart: seconds. */
	tu_sql(T.db, "CREATE TABLE %s.t AS SELECT g AS id, now() - interval"
	       " '2 days' AS at FROM generate_series(1, 20000) g", T.schema);
	tu_writef(T.conf, "purge.ini", "[job]\nname = %s\nplugin = age_delete\n"
	          "schedule = * * * * * *\n[params]\ntable = %s.t\n"
	          "time_column = at\nolder_than = 1d\nbatch_size = 100\n"
	          "batch_pause = 50ms\n", j, T.schema);
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_PLUGIN_DIR,
	             T.conf);
	td_wait_for(T.db, "SELECT count(*) < 20000 FROM %s.t", T.schema);
	assert_int_equal(td_stop(d), 0);

	left = tu_sql_int(T.db, "SELECT count(*) FROM %s.t", T.schema);
	assert_true(left > 0 && left < 20000);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status <> 'skipped'",
	                            j), 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status = 'stopped'"
	                            " AND finished_at IS NOT NULL AND"
	                            " (counters->>'deleted')::int8 = %lld",
	                            j, 20000 - left), 1);
}

/* Hosts whose clocks disagree by seconds still run each tick once: the
 * second daemon runs with libfaketime, its clock 2.5 s ahead. */
static void skewed_clocks_run_each_tick_once(void **state)
{
	/* libfaketime preloaded into sweepd itself (the faketime command
	 * would fork, and signals would reach it instead); a sanitizer
	 * build accepts a library loaded before its runtime. */
	static const td_opts skewed = {
		.prefix = "env LD_PRELOAD=\"$(ls /usr/lib/*/faketime/"
		          "libfaketime.so.1 | head -n 1)\" FAKETIME=+2.5s"
		          " ASAN_OPTIONS=verify_asan_link_order=0",
		.args = "--log-level debug",
	};
	char j[128];
	td_proc *d1, *d2;
	long long n;

	(void)state;
	begin("dmn_skew");
	job_name(j, sizeof(j), "skew");
	write_testjob("skew.ini", j, "* * * * * *", "", "");
	d1 = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	              T.conf);
	d2 = td_start_with(&skewed, "--conf-dir '%s' --plugin-dir "
	                   SWEEPD_FIXTURE_DIR, T.conf);
	td_wait_log(d2, "scheduler started");
	n = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	               T.schema, j);
	td_wait_for(T.db, "SELECT count(*) >= %lld FROM %s.rec WHERE job = '%s'",
	            n + 6, T.schema, j);
	assert_int_equal(td_stop(d1), 0);
	assert_int_equal(td_stop(d2), 0);
	/* Both hosts ran ticks, and no tick ran twice. */
	assert_true(tu_sql_int(T.db, "SELECT count(DISTINCT pid) FROM"
	                       " sweepd.runs WHERE " OF_JOB " AND status = 'ok'",
	                       j) >= 2);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) - count(DISTINCT"
	                            " scheduled_at) FROM sweepd.runs WHERE "
	                            OF_JOB, j), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status = 'ok'", j),
	                 tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE"
	                            " job = '%s'", T.schema, j));
}

/* A run failing for a transient reason (here a lock timeout, while the
 * test holds the table locked) is tried again and succeeds once the lock
 * is gone: one history row, ok, with the attempts it took. */
static void transient_failure_is_retried(void **state)
{
	char j[128];
	td_proc *d;
	PGconn *locker = tu_db();

	(void)state;
	begin("dmn_retry");
	job_name(j, sizeof(j), "retry");
	tu_sql(T.db, "CREATE TABLE %s.t AS SELECT g AS id, now() - interval"
	       " '2 days' AS at FROM generate_series(1, 100) g", T.schema);
	tu_sql(locker, "BEGIN; LOCK TABLE %s.t IN ACCESS EXCLUSIVE MODE",
	       T.schema);
	tu_writef(T.conf, "retry.ini", "[job]\nname = %s\nplugin = age_delete\n"
	          "schedule = */10 * * * * *\nretries = 5\ncatch_up = 0\n"
	          "[params]\ntable = %s.t\ntime_column = at\nolder_than = 1d\n"
	          "lock_timeout = 200ms\n", j, T.schema);
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_PLUGIN_DIR,
	             T.conf);
	td_wait_log(d, "run failed, trying again");
	tu_sql(locker, "ROLLBACK");
	PQfinish(locker);
	td_wait_for(T.db, "SELECT count(*) = 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok' AND attempts >= 2", j);
	assert_int_equal(td_stop(d), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.t",
	                            T.schema), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status = 'failed'",
	                            j), 0);
}

/* Seconds from now to the next whole hour. */
static int to_next_hour(void)
{
	time_t now = time(NULL);

	return (int)(3600 - now % 3600);
}

/* 7. Catch-up: a job that ran before runs the tick it missed while no
 * sweepd ran, once; a job new to the database, or with catch_up = 0,
 * does not. */
static void missed_tick_is_caught_up_once(void **state)
{
	char a[128], b[128], c[128], s[128], hour[64], *out, *err;
	td_proc *d;
	int i;

	(void)state;
	begin("dmn_catch");
	/* The current hour's tick must stay the latest one throughout. */
	if (to_next_hour() < 60 || to_next_hour() > 3600 - 3) {
		int wait = to_next_hour() < 60 ? to_next_hour() + 3 : 3;
		printf("waiting %d s, away from an hour boundary\n", wait);
		fflush(stdout);
		sleep((unsigned)wait);
	}
	job_name(a, sizeof(a), "known");
	job_name(b, sizeof(b), "new");
	job_name(c, sizeof(c), "off");
	job_name(s, sizeof(s), "clock");
	ensure_history();
	tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind, status,"
	       " finished_at) VALUES ('%s', 'test', 1, 'run', 'ok', now()),"
	       " ('%s', 'test', 1, 'run', 'ok', now())", a, c);
	tu_copy(SWEEPD_FIXTURE_DIR "/testjob.so", T.conf, "testjob.so");
	write_testjob("known.ini", a, "every 1h", "", "");
	write_testjob("new.ini", b, "every 1h", "", "");
	write_testjob("off.ini", c, "every 1h", "catch_up = 0\n", "");
	write_testjob("clock.ini", s, "* * * * * *", "", "");
	snprintf(hour, sizeof(hour), "to_timestamp(%lld)",
	         (long long)(time(NULL) / 3600 * 3600));

	for (i = 0; i < 2; i++) {
		long long n;

		d = td_start("--conf-dir '%s' --plugin-dir "
		             SWEEPD_PLUGIN_DIR, T.conf);
		if (i == 0)
			td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs"
			            " WHERE " OF_JOB " AND kind = 'catch-up' AND"
			            " scheduled_at = %s AND status = 'ok')", a, hour);
		/* The other jobs had as long to start: the clock job runs
		 * three times after the daemon started. */
		n = tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job ="
		               " '%s'", T.schema, s);
		td_wait_for(T.db, "SELECT count(*) >= %lld FROM %s.rec WHERE job ="
		            " '%s'", n + 3, T.schema, s);
		assert_int_equal(td_stop(d), 0);

		assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
		                            " sweepd.runs WHERE " OF_JOB " AND"
		                            " scheduled_at IS NOT NULL", a), 1);
		assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
		                            " sweepd.runs WHERE " OF_JOB " AND"
		                            " kind = 'catch-up' AND scheduled_at ="
		                            " %s AND status = 'ok'", a, hour), 1);
		assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec"
		                            " WHERE job = '%s'", T.schema, a), 1);
		assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
		                            " sweepd.runs WHERE " OF_JOB, b), 0);
		assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
		                            " sweepd.runs WHERE " OF_JOB, c), 1);
		assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec"
		                            " WHERE job IN ('%s', '%s')", T.schema,
		                            b, c), 0);
	}
	/* Still the same hour: the checks above meant what they say. */
	assert_int_equal(tu_sql_int(T.db, "SELECT (%s = to_timestamp(%lld))::int",
	                            hour, (long long)(time(NULL) / 3600 * 3600)),
	                 1);
	/* ... and every job was loaded: one refused for a problem in its
	 * file would not have run either. */
	if (tu_run(&out, &err, SWEEPD_BIN " --conf-dir '%s' --plugin-dir "
	           SWEEPD_PLUGIN_DIR " --check", T.conf) != 0)
		fail_msg("the job files do not validate:\n%s%s", out, err);
	free(out);
	free(err);
}

/* 8. No database at start is not fatal: sweepd says so, keeps going, and
 * runs the jobs once the database is there. */
static void database_down_at_start_is_not_fatal(void **state)
{
	char j[128], dsn[512];
	const char *keys[] = {"host", "port", "user", "dbname", NULL};
	const char *vals[5];
	td_proc *d;
	PGconn *other;

	(void)state;
	begin("dmn_nodb");
	job_name(j, sizeof(j), "job");
	T.dropdb = strdup(T.schema);
	assert_non_null(T.dropdb);
	tu_sql(T.db, "DROP DATABASE IF EXISTS %s WITH (FORCE)", T.dropdb);
	snprintf(dsn, sizeof(dsn), "host=%s port=%s user=%s dbname=%s",
	         PQhost(T.db), PQport(T.db), PQuser(T.db), T.dropdb);
	tu_writef(T.conf, "job.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = */2 * * * * *\n", j);
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR
	             " --dsn '%s'", T.conf, dsn);
	td_wait_log(d, "does not exist");
	/* Let a tick or two fail meanwhile. */
	td_wait_log(d, "run failed");
	td_check_alive();
	tu_sql(T.db, "CREATE DATABASE %s", T.dropdb);

	vals[0] = PQhost(T.db);
	vals[1] = PQport(T.db);
	vals[2] = PQuser(T.db);
	vals[3] = T.dropdb;
	vals[4] = NULL;
	other = PQconnectdbParams(keys, vals, 0);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	td_wait_for(other, "SELECT to_regclass('sweepd.runs') IS NOT NULL");
	td_wait_for(other, "SELECT count(*) >= 2 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok'", j);
	assert_int_equal(td_stop(d), 0);
	assert_int_equal(tu_sql_int(other, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status NOT IN ('ok',"
	                            " 'skipped', 'stopped', 'released')", j), 0);
	PQfinish(other);
}

/* 9. history_keep: finished rows older than it go when sweepd starts;
 * younger ones stay. */
static void history_keep_prunes_old_rows(void **state)
{
	char j[128];
	td_proc *d;

	(void)state;
	begin("dmn_keep");
	job_name(j, sizeof(j), "old");
	ensure_history();
	tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind, status,"
	       " at, started_at, finished_at, message) SELECT '%s', 'test', 1,"
	       " 'run', 'ok', s, s, f, m FROM (VALUES (now() - interval"
	       " '40 days 1 min', now() - interval '40 days', 'old'), (now() -"
	       " interval '1 day 1 min', now() - interval '1 day', 'recent'))"
	       " v(s, f, m)", j);
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR
	             " --history-keep 30d", T.conf);
	td_wait_for(T.db, "SELECT NOT EXISTS (SELECT 1 FROM sweepd.runs WHERE "
	            OF_JOB " AND message = 'old')", j);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND message = 'recent'",
	                            j), 1);
	assert_int_equal(td_stop(d), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND message = 'recent'",
	                            j), 1);
}

/* 10. max_concurrent bounds the runs in progress across jobs; the ticks
 * that find no free slot are skipped, saying why. */
static void max_concurrent_bounds_runs(void **state)
{
	char x[3][128], file[32];
	td_proc *d;
	PGresult *res;
	int i, n;

	(void)state;
	begin("dmn_max");
	for (i = 0; i < 3; i++) {
		char suffix[8];

		snprintf(suffix, sizeof(suffix), "j%d", i);
		snprintf(file, sizeof(file), "j%d.ini", i);
		job_name(x[i], sizeof(x[i]), suffix);
		write_testjob(file, x[i], "* * * * * *", "",
		              "mode = sleep\nduration = 1500ms\n");
	}
#define OF_JOBS "job IN ('%s', '%s', '%s')"
#define JOBS x[0], x[1], x[2]
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR
	             " --max-concurrent 1", T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 4 FROM sweepd.runs WHERE " OF_JOBS
	            " AND status = 'ok'", JOBS);
	td_wait_for(T.db, "SELECT count(*) >= 1 FROM sweepd.runs WHERE " OF_JOBS
	            " AND status = 'skipped' AND message LIKE"
	            " '%%max_concurrent%%'", JOBS);
	assert_int_equal(td_stop(d), 0);

	/* No two runs of any of the jobs were in progress at once. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs a"
	                            " JOIN sweepd.runs b ON a.id < b.id WHERE"
	                            " a." OF_JOBS " AND b." OF_JOBS " AND"
	                            " a.status <> 'skipped' AND b.status <>"
	                            " 'skipped' AND " SPAN("a") " && "
	                            SPAN("b"), JOBS, JOBS), 0);
	res = tu_query(T.db, "SELECT extract(epoch FROM at)::float8, job FROM"
	               " %s.rec ORDER BY at", T.schema);
	n = PQntuples(res);
	assert_true(n >= 4);
	for (i = 1; i < n; i++) {
		double t0 = atof(PQgetvalue(res, i - 1, 0));
		double t1 = atof(PQgetvalue(res, i, 0));

		if (t1 < t0 + 1.5 - EPS)
			fail_msg("%s started at %.3f, %.3f s after %s, which"
			         " sleeps 1.5 s: two ran at once",
			         PQgetvalue(res, i, 1), t1, t1 - t0,
			         PQgetvalue(res, i - 1, 1));
	}
	PQclear(res);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOBS " AND status NOT IN ('ok',"
	                            " 'skipped', 'stopped', 'released')", JOBS), 0);
#undef OF_JOBS
#undef JOBS
}

/* 11. A run its timeout stopped is recorded as timed out, also when the
 * plugin heeds should_stop() and returns normally. */
static void run_stopped_at_its_timeout_is_recorded_as_timeout(void **state)
{
	char j[128], *first;
	td_proc *d;

	(void)state;
	begin("dmn_tmo");
	job_name(j, sizeof(j), "sleepy");
	write_testjob("sleepy.ini", j, "* * * * * *", "timeout = 1s\n",
	              "mode = sleep\nduration = 10s\n");
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	             T.conf);
	/* Its first run ends, then sweepd stops (reaping that run first). */
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status <> 'skipped' AND finished_at IS NOT NULL)", j);
	assert_int_equal(td_stop(d), 0);

	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE"
	                            " job = '%s'", T.schema, j) >= 1, 1);
	/* The first run would have slept far past its timeout: it cannot be
	 * "ok". */
	first = tu_sql_text(T.db, "SELECT status || ': ' || coalesce(error, '')"
	                    " FROM sweepd.runs WHERE " OF_JOB " AND status <>"
	                    " 'skipped' ORDER BY scheduled_at LIMIT 1", j);
	if (strncmp(first, "timeout: ", 9) != 0 ||
	    strstr(first, "timed out") == NULL)
		fail_msg("the run its timeout stopped is recorded as \"%s\"",
		         first);
	free(first);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE " OF_JOB " AND status = 'ok'", j), 0);
}

/* Wall-clock seconds. */
static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 12. No history row finishes before it starts, not even that of a tick
 * whose run was set up ahead of it and stopped before it came (SIGTERM
 * in the moments before a tick, while its process waits for it). */
static void history_rows_never_finish_before_they_start(void **state)
{
	char j[128];
	int attempt;
	bool seen = false;

	(void)state;
	begin("dmn_order");
	job_name(j, sizeof(j), "tick");
	write_testjob("tick.ini", j, "* * * * * *", "", "");
	for (attempt = 0; attempt < TD_MAX && !seen; attempt++) {
		td_proc *d = td_start("--conf-dir '%s' --plugin-dir "
		                          SWEEPD_FIXTURE_DIR, T.conf);
		long long n = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
		                         " WHERE " OF_JOB " AND status = 'ok'", j);
		double now, at;

		td_wait_for(T.db, "SELECT count(*) > %lld FROM sweepd.runs WHERE "
		            OF_JOB " AND status = 'ok'", n, j);
		/* SIGTERM 80 ms before a tick: its process is waiting. */
		now = wall();
		at = (double)(long long)now + 0.92;
		if (at < now + 0.05)
			at += 1;
		tu_nap_ms((long)((at - now) * 1000));
		assert_int_equal(td_stop(d), 0);
		seen = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
		                  OF_JOB " AND status IN ('stopped', 'released')",
		                  j) > 0;
	}
	if (!seen)
		skip();
	if (tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE " OF_JOB
	               " AND finished_at < started_at", j) > 0) {
		char *row = tu_sql_text(T.db, "SELECT format('%%s, started %%s,"
		                        " finished %%s: %%s', status, started_at,"
		                        " finished_at, message) FROM sweepd.runs"
		                        " WHERE " OF_JOB " AND finished_at <"
		                        " started_at LIMIT 1", j);
		fail_msg("a history row finished before it started: %s", row);
	}
}

/* 13. A run's timeout counts from its start: the run is not asked to stop
 * before it ran that long. */
static void timeout_counts_from_the_run_start(void **state)
{
	char j[128];
	td_proc *d;

	(void)state;
	begin("dmn_tmo2");
	job_name(j, sizeof(j), "sleepy");
	write_testjob("sleepy.ini", j, "*/5 * * * * *", "timeout = 1s\n",
	              "mode = sleep\nduration = 10s\n");
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	             T.conf);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE " OF_JOB
	            " AND status <> 'skipped' AND finished_at IS NOT NULL)", j);
	assert_int_equal(td_stop(d), 0);

	/* The plugin records its start first; it sleeps until asked to
	 * stop, which must not come within its 1 s. */
	if (tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs h JOIN %s.rec r"
	               " ON r.job = h.job AND r.at >= h.scheduled_at AND r.at <"
	               " h.scheduled_at + interval '1 s' WHERE h." OF_JOB " AND"
	               " h.finished_at < r.at + interval '1 s'", T.schema,
	               j) > 0) {
		char *row = tu_sql_text(T.db, "SELECT format('plugin started %%s,"
		                        " run ended %%s (%%s)', r.at,"
		                        " h.finished_at, h.status) FROM"
		                        " sweepd.runs h JOIN %s.rec r ON r.job ="
		                        " h.job AND r.at >= h.scheduled_at AND"
		                        " r.at < h.scheduled_at + interval '1 s'"
		                        " WHERE h." OF_JOB " AND h.finished_at <"
		                        " r.at + interval '1 s' LIMIT 1",
		                        T.schema, j);
		fail_msg("a run with timeout = 1s was stopped sooner: %s", row);
	}
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job ="
	                       " '%s'", T.schema, j) >= 1);
}

/* 14. A stopping daemon waits for a run that ignores the stop without
 * spinning, though a job it no longer starts falls due every second. */
static void stopping_daemon_waits_without_spinning(void **state)
{
	char j[128];
	td_proc *d;
	long before, used;

	(void)state;
	begin("dmn_spin");
	job_name(j, sizeof(j), "stubborn");
	write_testjob("stubborn.ini", j, "* * * * * *", "", "mode = loop\n");
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR
	             " --stop-grace 3s", T.conf);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM %s.rec WHERE job = '%s')",
	            T.schema, j);
	td_signal(d, SIGTERM);
	before = tu_cpu_ticks(d->pid);
	tu_nap_ms(2500);
	used = tu_cpu_ticks(d->pid) - before;
	assert_int_equal(td_wait(d), 0);
	/* Spinning would be about 250 ticks (100 a second). */
	if (used > 25)
		fail_msg("the stopping daemon used %ld clock ticks in 2.5 s", used);
}

/* Sets the fake clock of the daemons started with clock_wrapper() to the
 * real one plus offset seconds. */
static void set_fake_offset(const char *file, long offset)
{
	char text[32];
	char *dir = strdup(file), *slash;

	assert_non_null(dir);
	slash = strrchr(dir, '/');
	*slash = '\0';
	snprintf(text, sizeof(text), "%+ld\n", offset);
	tu_writef(dir, "offset.new", "%s", text);
	assert_int_equal(tu_run(NULL, NULL, "mv '%s/offset.new' '%s'", dir,
	                        file), 0);
	free(dir);
}

/* The tick of job's latest successful run (epoch seconds), or 0. */
static long long last_tick(const char *job)
{
	return tu_sql_int(T.db, "SELECT coalesce((SELECT extract(epoch FROM"
	                  " scheduled_at)::int8 FROM sweepd.runs WHERE " OF_JOB
	                  " AND status = 'ok' ORDER BY id DESC LIMIT 1), 0)",
	                  job);
}

/* 15. A step of the wall clock (libfaketime: the monotonic clock keeps
 * going, as in a real step) reschedules every job from the new time:
 * forward 2 h runs the last missed tick once, not a burst; back 1 h does
 * not stall the job for the hour it already covered and runs no instant
 * twice; forward 30 s likewise.  The daemon never spins meanwhile. */
static void clock_steps_reschedule_every_job(void **state)
{
	char j[128], *file;
	static char wrapper[512];
	td_proc *d;
	long long t0, t1, t2;
	long before, used;

	(void)state;
	begin("dmn_step");
	job_name(j, sizeof(j), "every2");
	write_testjob("every2.ini", j, "*/2 * * * * *", "", "");
	file = tu_path(T.conf, "offset");
	set_fake_offset(file, 0);
	snprintf(wrapper, sizeof(wrapper), "env LD_PRELOAD=\"$(ls /usr/lib/*/"
	         "faketime/libfaketime.so.1 | head -n 1)\""
	         " FAKETIME_TIMESTAMP_FILE='%s' FAKETIME_NO_CACHE=1"
	         " FAKETIME_DONT_FAKE_MONOTONIC=1"
	         " ASAN_OPTIONS=verify_asan_link_order=0 ", file);
	d = td_start_with(&(td_opts){.prefix = wrapper, .args = DEBUG_LOG.args},
	                  "--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR
	                  " --stop-grace 1s", T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok'", j);
	before = tu_cpu_ticks(d->pid);

	/* Forward 2 h: the job goes on from the new time, with at most the
	 * last missed tick caught up, never the 3600 missed ones. */
	t0 = last_tick(j);
	set_fake_offset(file, 7200);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok' AND scheduled_at > to_timestamp(%lld)",
	            j, t0 + 7200);
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE "
	                       OF_JOB " AND scheduled_at > to_timestamp(%lld)"
	                       " AND scheduled_at < to_timestamp(%lld)", j,
	                       t0, t0 + 7200 - 10) <= 1);

	/* Back 1 h: the job runs in the hour it already covered. */
	t1 = last_tick(j);
	set_fake_offset(file, 3600);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok' AND scheduled_at BETWEEN to_timestamp(%lld)"
	            " AND to_timestamp(%lld)", j, t1 - 3700, t1 - 3000);

	/* Forward 30 s. */
	t2 = last_tick(j);
	set_fake_offset(file, 3630);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok' AND scheduled_at > to_timestamp(%lld)",
	            j, t2 + 30);
	used = tu_cpu_ticks(d->pid) - before;
	assert_int_equal(td_stop(d), 0);
	td_wait_log(d, "system clock stepped");

	/* No instant ran twice, and the daemon never spun (a spinning loop
	 * uses about 100 ticks a second). */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) - count(DISTINCT"
	                            " scheduled_at) FROM sweepd.runs WHERE "
	                            OF_JOB " AND status NOT IN ('released',"
	                            " 'abandoned')", j), 0);
	if (used > 200)
		fail_msg("the daemon used %ld clock ticks across three clock"
		         " steps", used);
	free(file);
}

/* The parent's pid of process pid, or 0. */
static pid_t parent_of(pid_t pid)
{
	char path[64], *text, *p;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((text = tu_read(path, NULL)) == NULL)
		return 0;
	p = strrchr(text, ')');
	if (p == NULL || sscanf(p + 2, "%*c %d", &ppid) != 1)
		ppid = 0;
	free(text);
	return (pid_t)ppid;
}

/* Which of the n daemons d runs the process that claimed job's tick
 * (epoch seconds); fails the test when none does. */
static int claimant(td_proc **d, int n, const char *job, long long tick)
{
	pid_t pid = 0, parent;
	int k;

	/* The claim comes about 150 ms before the tick; wait up to 50 ms
	 * before it. */
	while ((pid = (pid_t)tu_sql_int(T.db, "SELECT coalesce((SELECT pid FROM"
	                                " sweepd.runs WHERE " OF_JOB " AND"
	                                " scheduled_at = to_timestamp(%lld)),"
	                                " 0)", job, tick)) == 0 &&
	       wall() < (double)tick - 0.05)
		tu_nap_ms(5);
	parent = pid ? parent_of(pid) : 0;

	/* The daemon claims the tick; its run's process takes the row over
	 * once connected. */
	for (k = 0; k < n; k++)
		if ((parent != 0 && d[k]->pid == parent) ||
		    (pid != 0 && d[k]->pid == pid))
			return k;
	fail_msg("no daemon's process (pid %d, parent %d) holds the claim of"
	         " tick %lld", (int)pid, (int)parent, tick);
	return -1;
}

/* 16. A rolling restart: two daemons share the database; each in turn is
 * stopped just before a tick (its run's process has claimed it) and
 * started again.  An every-second job loses no tick and runs none twice:
 * a daemon stopped before a tick gives it back, and the other runs it. */
static void rolling_restart_loses_no_tick(void **state)
{
	char j[128];
	td_proc *d[2];
	long long first, last, ran, distinct, restarted;
	int round;

	(void)state;
	begin("dmn_roll");
	job_name(j, sizeof(j), "roll");
	write_testjob("roll.ini", j, "* * * * * *", "", "");
	d[0] = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	                T.conf);
	d[1] = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	                T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok'", j);
	first = last_tick(j);
	for (round = 0; round < 2; round++) {
		double now = wall(), at = (double)(long long)now + 0.9;
		int k;

		if (at < now + 0.05)
			at += 1;
		/* SIGTERM 100 ms before a tick to the daemon whose run has
		 * claimed it (its process waits for the instant). */
		tu_nap_ms((long)((at - now) * 1000));
		k = claimant(d, 2, j, (long long)at + 1);
		assert_int_equal(td_stop(d[k]), 0);
		d[k] = td_start("--conf-dir '%s' --plugin-dir "
		                SWEEPD_FIXTURE_DIR, T.conf);
		td_wait_log(d[k], "scheduler started");
	}
	restarted = (long long)wall();
	td_wait_for(T.db, "SELECT count(*) >= 3 FROM sweepd.runs WHERE " OF_JOB
	            " AND status = 'ok' AND scheduled_at > to_timestamp(%lld)", j,
	            restarted);
	last = last_tick(j);
	assert_int_equal(td_stop(d[0]), 0);
	assert_int_equal(td_stop(d[1]), 0);
	ran = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE " OF_JOB
	                 " AND status = 'ok' AND scheduled_at BETWEEN"
	                 " to_timestamp(%lld) AND to_timestamp(%lld)", j, first,
	                 last);
	distinct = tu_sql_int(T.db, "SELECT count(DISTINCT scheduled_at) FROM"
	                      " sweepd.runs WHERE " OF_JOB " AND status = 'ok'"
	                      " AND scheduled_at BETWEEN to_timestamp(%lld) AND"
	                      " to_timestamp(%lld)", j, first, last);
	if (ran != last - first + 1 || distinct != ran) {
		char *missing = tu_sql_text(T.db, "SELECT coalesce(string_agg("
		                            "t::text, ', '), '') FROM"
		                            " generate_series(to_timestamp(%lld),"
		                            " to_timestamp(%lld), interval '1 s') t"
		                            " WHERE NOT EXISTS (SELECT 1 FROM"
		                            " sweepd.runs WHERE " OF_JOB " AND"
		                            " status = 'ok' AND scheduled_at = t)",
		                            first, last, j);
		fail_msg("%lld ticks from %lld to %lld: %lld ran ok, %lld"
		         " distinct; missing: %s", last - first + 1, first, last,
		         ran, distinct, missing);
	}
}

/* Sessions the server opened on database db so far (counted by backends
 * as they flush their statistics: all have once they exited). */
static long long sessions(const char *db)
{
	return tu_sql_int(T.db, "SELECT sessions FROM pg_stat_database WHERE"
	                  " datname = '%s'", db);
}

/* A new database of the test's own, named as its schema (dropped by
 * teardown), with the schema and its table rec; returns a session on it
 * and its DSN in dsn. */
static PGconn *own_database(char *dsn, size_t len)
{
	const char *keys[] = {"host", "port", "user", "dbname", NULL};
	const char *vals[5];
	PGconn *c;

	T.dropdb = strdup(T.schema);
	assert_non_null(T.dropdb);
	tu_sql(T.db, "CREATE DATABASE %s", T.dropdb);
	snprintf(dsn, len, "host=%s port=%s user=%s dbname=%s", PQhost(T.db),
	         PQport(T.db), PQuser(T.db), T.dropdb);
	vals[0] = PQhost(T.db);
	vals[1] = PQport(T.db);
	vals[2] = PQuser(T.db);
	vals[3] = T.dropdb;
	vals[4] = NULL;
	c = PQconnectdbParams(keys, vals, 0);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	tu_sql(c, "CREATE SCHEMA %s; CREATE TABLE %s.rec (job text NOT NULL,"
	       " at timestamptz NOT NULL)", T.schema, T.schema);
	return c;
}

/* Fails, listing them, when a tick has two history rows that both claim
 * it (neither given back nor abandoned) or when a job recorded two runs in
 * one second. */
static void assert_no_twice(PGconn *db)
{
	char *rows = tu_sql_text(db, "SELECT coalesce(string_agg(format("
	                         "'%%s %%s: id %%s %%s pid %%s %%s..%%s %%s %%s',"
	                         " job, scheduled_at, id, status, pid,"
	                         " started_at, finished_at, message, error),"
	                         " E'\\n' ORDER BY job, scheduled_at, id), '')"
	                         " FROM sweepd.runs r WHERE (SELECT count(*)"
	                         " FROM sweepd.runs o WHERE o.job = r.job AND"
	                         " o.scheduled_at = r.scheduled_at AND o.status"
	                         " NOT IN ('released', 'abandoned')) > 1");

	if (*rows != '\0')
		fail_msg("ticks with two claiming history rows:\n%s", rows);
	free(rows);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM (SELECT 1 FROM"
	                            " %s.rec GROUP BY job, floor(extract(epoch"
	                            " FROM at)) HAVING count(*) > 1) x",
	                            T.schema), 0);
}

/* 17. A fleet that scales: three daemons share twenty every-second jobs.
 * A daemon claims its ticks over the session it keeps and forks only the
 * runs it won, so each tick run costs one new database session (its run's
 * own), not one per daemon; and no tick runs twice.  The daemons use a
 * database of the test's own, so that the server's count of sessions is
 * theirs (other test programs may run meanwhile). */
static void fleet_pays_one_session_per_tick(void **state)
{
	char j[128], f[32], dsn[512];
	td_proc *d[3];
	long long before, opened, ran;
	PGconn *db;
	int i;

	(void)state;
	begin("dmn_fleet");
	db = own_database(dsn, sizeof(dsn));
	for (i = 0; i < 20; i++) {
		snprintf(f, sizeof(f), "f%02d", i);
		job_name(j, sizeof(j), f);
		snprintf(f, sizeof(f), "f%02d.ini", i);
		write_testjob(f, j, "* * * * * *", "", "");
	}
	before = sessions(T.dropdb);
	for (i = 0; i < 3; i++)
		d[i] = td_start("--conf-dir '%s' --plugin-dir "
		                SWEEPD_FIXTURE_DIR " --dsn '%s'", T.conf,
		                dsn);
	for (i = 0; i < 3; i++)
		td_wait_log(d[i], "scheduler started");
	td_wait_for(db, "SELECT count(*) >= 200 FROM %s.rec", T.schema);
	for (i = 0; i < 3; i++)
		td_signal(d[i], SIGTERM);
	for (i = 0; i < 3; i++)
		assert_int_equal(td_wait(d[i]), 0);
	td_wait_for(T.db, "SELECT count(*) = 0 FROM pg_stat_activity WHERE"
	            " datname = '%s' AND application_name LIKE 'sweepd%%'",
	            T.dropdb);
	opened = sessions(T.dropdb) - before;
	ran = tu_sql_int(db, "SELECT count(*) FROM sweepd.runs WHERE"
	                 " status = 'ok'");
	printf("fleet: %lld runs, %lld sessions opened (%.2f a run)\n", ran,
	       opened, (double)opened / (double)ran);
	assert_true(ran >= 200);
	/* One session a run, the three daemons' own, a few for slack (this
	 * test's session, a daemon reconnecting); one a daemon a tick would
	 * be three times as many. */
	if (opened > ran + ran / 5 + 10)
		fail_msg("%lld runs opened %lld sessions", ran, opened);
	assert_no_twice(db);
	PQfinish(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(runs_happen_at_their_due_instants,
		                          teardown),
		cmocka_unit_test_teardown(slow_job_is_not_overlapped, teardown),
		cmocka_unit_test_teardown(
			misbehaving_plugins_do_not_stop_the_others, teardown),
		cmocka_unit_test_teardown(sighup_reloads_jobs_and_plugins,
		                          teardown),
		cmocka_unit_test_teardown(two_daemons_run_each_tick_once,
		                          teardown),
		cmocka_unit_test_teardown(skewed_clocks_run_each_tick_once,
		                          teardown),
		cmocka_unit_test_teardown(sigterm_stops_a_batched_delete_cleanly,
		                          teardown),
		cmocka_unit_test_teardown(missed_tick_is_caught_up_once,
		                          teardown),
		cmocka_unit_test_teardown(transient_failure_is_retried,
		                          teardown),
		cmocka_unit_test_teardown(database_down_at_start_is_not_fatal,
		                          teardown),
		cmocka_unit_test_teardown(history_keep_prunes_old_rows,
		                          teardown),
		cmocka_unit_test_teardown(max_concurrent_bounds_runs, teardown),
		cmocka_unit_test_teardown(
			run_stopped_at_its_timeout_is_recorded_as_timeout,
			teardown),
		cmocka_unit_test_teardown(
			history_rows_never_finish_before_they_start, teardown),
		cmocka_unit_test_teardown(timeout_counts_from_the_run_start,
		                          teardown),
		cmocka_unit_test_teardown(clock_steps_reschedule_every_job,
		                          teardown),
		cmocka_unit_test_teardown(rolling_restart_loses_no_tick,
		                          teardown),
		cmocka_unit_test_teardown(stopping_daemon_waits_without_spinning,
		                          teardown),
		cmocka_unit_test_teardown(fleet_pays_one_session_per_tick,
		                          teardown),
	};

	/* TEST_FILTER=clock* runs the matching tests only. */
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
