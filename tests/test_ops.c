/* End to end: what operators see and steer.  Real sweepd daemons and
 * commands against the real database: --pause and --resume across two
 * daemons sharing it, --history, the Prometheus metrics file, log lines
 * under journald.
 *
 * Every test has its own schema and job names that start with it, and
 * waits on conditions, polling up to a deadline, never a fixed time. */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testdaemon.h"
#include "testutil.h"

static struct {
	PGconn *db;
	char *schema;           /* also the prefix of every job name */
	char *conf;             /* scratch conf.d */
	char *scratch;          /* another scratch directory, or NULL */
} T;

/* ------------------------------------------------------------- helpers */

/* Writes conf/NAME.ini: job SCHEMA-NAME over testjob on schedule (NULL:
 * run by hand only), with more [params] lines extra (may be ""). */
static void write_job(const char *name, const char *schedule,
                      const char *extra)
{
	buf b = BUF_INIT, f = BUF_INIT;

	buf_printf(&f, "%s.ini", name);
	buf_printf(&b, "[job]\nname = %s-%s\nplugin = testjob\n%s%s\n"
	           "\n[params]\nrecord = %s.rec\njob = %s-%s\n%s", T.schema,
	           name, schedule ? "schedule = " : "", schedule ? schedule : "",
	           T.schema, T.schema, name, extra);
	tu_write(T.conf, buf_str(&f), buf_str(&b));
	buf_free(&b);
	buf_free(&f);
}

/* Sets up the test: a connection, schema PREFIX_PID with the table rec
 * (job, at) that testjob records into, and a scratch conf.d. */
static void begin(const char *prefix)
{
	memset(&T, 0, sizeof(T));
	T.db = tu_db();
	T.schema = tu_schema(T.db, prefix);
	T.conf = tu_tempdir();
	tu_sql(T.db, "CREATE TABLE %s.rec (job text NOT NULL, at timestamptz"
	       " NOT NULL)", T.schema);
	/* sweepd's schema, which any command reading the history creates. */
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --history >/dev/null", T.conf), 0);
	td_begin(NULL);
}

/* Stops what a failed test left running and removes what it made. */
static int teardown(void **state)
{
	(void)state;
	td_end();
	if (T.db != NULL && T.schema != NULL) {
		tu_sql(T.db, "DELETE FROM sweepd.paused WHERE starts_with(job,"
		       " '%s-')", T.schema);
		tu_sql(T.db, "DELETE FROM sweepd.pruned_runs WHERE"
		       " starts_with(job, '%s-')", T.schema);
		tu_sql(T.db, "DELETE FROM sweepd.pruned_rows WHERE"
		       " starts_with(job, '%s-')", T.schema);
		tu_schema_drop(T.db, T.schema);
	}
	PQfinish(T.db);
	if (T.conf != NULL)
		tu_rmtree(T.conf);
	if (T.scratch != NULL)
		tu_rmtree(T.scratch);
	free(T.conf);
	free(T.scratch);
	free(T.schema);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* Runs `sweepd --conf-dir CONF --plugin-dir FIXTURES ARGS`; returns its
 * exit status, its output in *out and its standard error in *err. */
static int sweepd(char **out, char **err, const char *fmt, ...)
	SWEEP_PRINTF(3, 4);

static int sweepd(char **out, char **err, const char *fmt, ...)
{
	buf args = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vprintf(&args, fmt, ap);
	va_end(ap);
	rc = tu_run(out, err, SWEEPD_BIN " --conf-dir '%s' --plugin-dir "
	            SWEEPD_FIXTURE_DIR " %s", T.conf, buf_str(&args));
	buf_free(&args);
	return rc;
}

/* ---------------------------------------------------------------- tests */

/* --pause: two daemons sharing the database skip the job's ticks from
 * then on, each skipped tick recorded with who paused it; --status,
 * --list-jobs and --history show it; --resume: its ticks run again. */
static void pause_and_resume_across_two_daemons(void **state)
{
	char j[128], *out, *err;
	long long paused_at, resumed_at;
	td_proc *d1, *d2;

	(void)state;
	begin("ops_pause");
	snprintf(j, sizeof(j), "%s-p", T.schema);
	write_job("p", "* * * * * *", "");
	d1 = td_start("--conf-dir '%s' --plugin-dir "
	              SWEEPD_FIXTURE_DIR, T.conf);
	d2 = td_start("--conf-dir '%s' --plugin-dir "
	              SWEEPD_FIXTURE_DIR, T.conf);
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE job = '%s' AND"
	            " status = 'ok'", j);

	assert_int_equal(sweepd(&out, NULL, "--pause %s", j), 0);
	assert_contains(out, "paused");
	free(out);
	paused_at = tu_sql_int(T.db, "SELECT ceil(extract(epoch FROM"
	                       " clock_timestamp()))::int8");
	/* Three ticks in a row skipped, each saying why. */
	td_wait_for(T.db, "SELECT count(*) >= 3 FROM sweepd.runs WHERE job = '%s' AND"
	            " status = 'skipped' AND message LIKE 'paused by %%' AND"
	            " scheduled_at > to_timestamp(%lld)", j, paused_at);
	/* No tick after the pause ran: not on either daemon. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE"
	                            " job = '%s' AND at >= to_timestamp(%lld)",
	                            T.schema, j, paused_at), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(DISTINCT host || pid)"
	                            " FROM sweepd.runs WHERE job = '%s' AND"
	                            " status = 'skipped'", j) >= 1, 1);

	/* --status, --list-jobs and --history show it. */
	assert_int_equal(sweepd(&out, NULL, "--status %s", j), 0);
	assert_contains(out, "paused:       since ");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "--status --json %s", j), 0);
	assert_contains(out, "\"paused\":true");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "--list-jobs"), 0);
	assert_contains(out, " paused ");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "--list-jobs --json"), 0);
	assert_contains(out, "\"paused\":true");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "--history %s --limit 2", j), 0);
	assert_contains(out, "skipped");
	assert_contains(out, "paused by ");
	free(out);
	/* --run of a paused job is skipped too, and says why. */
	assert_int_equal(sweepd(&out, &err, "--run %s", j), 1);
	assert_contains(out, "skipped");
	assert_contains(out, "sweepd --resume");
	free(out);
	free(err);

	assert_int_equal(sweepd(&out, NULL, "--resume %s", j), 0);
	assert_contains(out, "resumed");
	free(out);
	resumed_at = tu_sql_int(T.db, "SELECT ceil(extract(epoch FROM"
	                        " clock_timestamp()))::int8");
	td_wait_for(T.db, "SELECT count(*) >= 2 FROM sweepd.runs WHERE job = '%s' AND"
	            " status = 'ok' AND scheduled_at > to_timestamp(%lld)", j,
	            resumed_at);
	assert_int_equal(sweepd(&out, NULL, "--status --json %s", j), 0);
	assert_contains(out, "\"paused\":false");
	free(out);
	assert_int_equal(td_stop(d1), 0);
	assert_int_equal(td_stop(d2), 0);
	/* Resuming again changes nothing and says so. */
	assert_int_equal(sweepd(&out, NULL, "--resume %s", j), 0);
	assert_contains(out, "was not paused");
	free(out);
	/* An unknown job is refused. */
	assert_int_equal(sweepd(NULL, NULL, "--pause %s-nope >/dev/null"
	                        " 2>&1", T.schema), 2);
}

/* --history lists past runs newest first, --limit bounds them, --json
 * has numbers as numbers and counters as an object. */
static void history_lists_past_runs(void **state)
{
	char j[128], *out;

	(void)state;
	begin("ops_hist");
	snprintf(j, sizeof(j), "%s-h", T.schema);
	write_job("h", "@daily", "");
	assert_int_equal(sweepd(NULL, NULL, "--history %s", j), 0);
	assert_int_equal(sweepd(NULL, NULL, "--run %s >/dev/null", j), 0);
	assert_int_equal(sweepd(NULL, NULL, "--run %s >/dev/null", j), 0);
	assert_int_equal(sweepd(NULL, NULL, "--run %s >/dev/null", j), 0);
	assert_int_equal(sweepd(&out, NULL, "--history %s --limit 2", j), 0);
	assert_contains(out, "STARTED (UTC)");
	/* A header and two runs. */
	assert_int_equal(tu_run(NULL, NULL, "test $(printf '%%s' '%s' | wc -l)"
	                        " -eq 3", out), 0);
	free(out);
	assert_int_equal(sweepd(&out, NULL, "--history --json %s", j), 0);
	tu_sql(T.db, "CREATE TABLE %s.h AS SELECT '%s'::jsonb AS v",
	       T.schema, out);
	free(out);
	assert_int_equal(tu_sql_int(T.db, "SELECT jsonb_array_length(v) FROM"
	                            " %s.h", T.schema), 3);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.h,"
	                            " jsonb_array_elements(v) e WHERE"
	                            " jsonb_typeof(e->'duration_ms') = 'number'"
	                            " AND jsonb_typeof(e->'run_id') = 'number'"
	                            " AND jsonb_typeof(e->'counters') = 'object'"
	                            " AND e->>'status' = 'ok' AND e->>'kind' ="
	                            " 'run'", T.schema), 3);
	/* Newest first. */
	assert_int_equal(tu_sql_int(T.db, "SELECT ((v->0->>'run_id')::int8 >"
	                            " (v->2->>'run_id')::int8)::int FROM %s.h",
	                            T.schema), 1);
	assert_int_equal(sweepd(NULL, NULL, "--history %s-nope 2>/dev/null",
	                        T.schema), 2);
	assert_int_equal(sweepd(NULL, NULL, "--history --limit 0 2>/dev/null"),
	                 2);
}

/* Parses the metrics file path with the reference parser into the table
 * SCHEMA.m (name, type, job, label, value), replacing it, and checks it
 * with promtool's linter. */
static void load_metrics(const char *path)
{
	char *out = NULL, *err = NULL;
	int rc;

	rc = tu_run(&out, &err, "/usr/bin/python3 '" SWEEPD_SOURCE_DIR
	            "/tests/scripts/prom2json.py' '%s'", path);
	if (rc != 0)
		fail_msg("%s does not parse: %s", path, err);
	tu_sql(T.db, "DROP TABLE IF EXISTS %s.m", T.schema);
	tu_sql(T.db, "CREATE TABLE %s.m AS SELECT * FROM jsonb_to_recordset("
	       "$j$%s$j$::jsonb) AS (name text, type text, job text, label"
	       " text, value float8)", T.schema, out);
	free(out);
	free(err);
	rc = tu_run(&out, &err, "promtool check metrics <'%s'", path);
	if (rc != 0)
		fail_msg("promtool check metrics %s: %s%s", path, out, err);
	free(out);
	free(err);
}

/* The value of sample name{job_name=job[,label]} in SCHEMA.m, as SQL. */
#define SAMPLE "(SELECT value FROM %s.m WHERE name = '%s' AND job = '%s'" \
	" AND label IS NOT DISTINCT FROM %s)"

/* The metrics file follows every run: it parses (the reference parser,
 * promtool), every value matches the history, a stopped daemon says
 * sweepd_up 0, no temporary file is left, and pruning the history never
 * makes a counter go back. */
static void metrics_file_matches_the_history(void **state)
{
	char ok[128], bad[128], man[128], *dir, *prom, *text, *got, *want;
	td_proc *d;
	const char *S;

	(void)state;
	begin("ops_metrics");
	S = T.schema;
	dir = T.scratch = tu_tempdir();
	prom = tu_path(dir, "sweepd.prom");
	snprintf(ok, sizeof(ok), "%s-ok", S);
	snprintf(bad, sizeof(bad), "%s-bad", S);
	snprintf(man, sizeof(man), "%s-manual", S);
	write_job("ok", "* * * * * *", "");
	write_job("bad", "* * * * * *", "mode = fail\n");
	{
		buf b = BUF_INIT;
		buf_printf(&b, "[job]\nname = %s\nplugin = testjob\n", man);
		tu_write(T.conf, "manual.ini", buf_str(&b));
		buf_free(&b);
		buf_reset(&b);
		buf_printf(&b, "[sweepd]\nmetrics_file = %s\n", prom);
		tu_write(T.conf, "sweepd.ini", buf_str(&b));
		buf_free(&b);
	}
	d = td_start("--conf-dir '%s' --plugin-dir "
	             SWEEPD_FIXTURE_DIR, T.conf);
	td_wait_for(T.db, "SELECT count(*) FILTER (WHERE status = 'ok') >= 3 AND"
	            " count(*) FILTER (WHERE status = 'failed') >= 2 FROM"
	            " sweepd.runs WHERE job IN ('%s', '%s')", ok, bad);
	free(td_wait_file(prom, "status=\"failed\""));
	load_metrics(prom);
	assert_int_equal(tu_sql_int(T.db, "SELECT value::int FROM %s.m WHERE"
	                            " name = 'sweepd_up'", S), 1);
	assert_int_equal(td_stop(d), 0);

	/* The file a stopped daemon leaves: everything, sweepd_up 0. */
	text = tu_read(prom, NULL);
	assert_non_null(text);
	printf("---- the metrics file after the daemon stopped:\n%s", text);
	free(text);
	load_metrics(prom);
	assert_int_equal(tu_sql_int(T.db, "SELECT value::int FROM %s.m WHERE"
	                            " name = 'sweepd_up'", S), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT (" SAMPLE " = (SELECT"
	                            " count(*) FROM sweepd.runs WHERE job = '%s'"
	                            " AND status = 'ok'))::int", S,
	                            "sweepd_job_runs_total", ok, "'ok'", ok), 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT (" SAMPLE " = (SELECT"
	                            " count(*) FROM sweepd.runs WHERE job = '%s'"
	                            " AND status = 'failed'))::int", S,
	                            "sweepd_job_runs_total", bad, "'failed'",
	                            bad), 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT (" SAMPLE " = (SELECT"
	                            " sum((counters->>'runs')::int) FROM"
	                            " sweepd.runs WHERE job = '%s'))::int", S,
	                            "sweepd_job_rows_total", ok, "'runs'", ok),
	                 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT (abs(" SAMPLE " - (SELECT"
	                            " extract(epoch FROM max(finished_at)) FROM"
	                            " sweepd.runs WHERE job = '%s' AND status ="
	                            " 'ok')) < 0.001)::int", S,
	                            "sweepd_job_last_success_timestamp_seconds",
	                            ok, "NULL", ok), 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT (abs(" SAMPLE " - (SELECT"
	                            " extract(epoch FROM max(started_at)) FROM"
	                            " sweepd.runs WHERE job = '%s' AND status <>"
	                            " 'skipped')) < 0.001)::int", S,
	                            "sweepd_job_last_run_timestamp_seconds",
	                            bad, "NULL", bad), 1);
	/* A job that never succeeded has no last success; a manual job no
	 * next run; each scheduled one its next second. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.m WHERE"
	                            " name = 'sweepd_job_last_success_timestamp"
	                            "_seconds' AND job = '%s'", S, bad), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.m WHERE"
	                            " name = 'sweepd_job_next_run_timestamp"
	                            "_seconds' AND job IN ('%s', '%s', '%s')", S,
	                            ok, bad, man), 2);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.m WHERE"
	                            " name = 'sweepd_job_last_duration_seconds'"
	                            " AND job = '%s' AND value >= 0 AND value"
	                            " < 5", S, ok), 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT value::int FROM %s.m WHERE"
	                            " name = 'sweepd_job_paused' AND job = '%s'",
	                            S, ok), 0);
	got = tu_sql_text(T.db, "SELECT string_agg(job || '=' || value, ','"
	                  " ORDER BY job) FROM %s.m WHERE name ="
	                  " 'sweepd_job_last_run_failed'", S);
	want = tu_sql_text(T.db, "SELECT '%s=1,%s=0'", bad, ok);
	assert_string_equal(got, want);
	free(got);
	free(want);
	assert_int_equal(tu_sql_int(T.db, "SELECT value::int FROM %s.m WHERE"
	                            " name = 'sweepd_job_period_seconds' AND"
	                            " job = '%s'", S, ok), 1);
	/* Written by rename: nothing else is left beside it. */
	assert_int_equal(tu_run(NULL, NULL, "test \"$(ls -A '%s')\" ="
	                        " sweepd.prom", dir), 0);

	/* History older than history_keep (moved 60 days back, tick and
	 * day included) is pruned at the next start; the counters keep what
	 * it counted. */
	tu_sql(T.db, "CREATE TABLE %s.before AS SELECT * FROM %s.m", S, S);
	tu_sql(T.db, "UPDATE sweepd.runs SET at = at - interval '60 days',"
	       " scheduled_at = scheduled_at - interval '60 days', started_at"
	       " = started_at - interval '60 days', finished_at = finished_at"
	       " - interval '60 days' WHERE job IN ('%s', '%s')", ok, bad);
	write_job("ok", NULL, "");
	write_job("bad", NULL, "mode = fail\n");
	d = td_start("--conf-dir '%s' --plugin-dir "
	             SWEEPD_FIXTURE_DIR, T.conf);
	free(td_wait_file(prom, "\nsweepd_up 1\n"));
	if (tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE job IN"
	               " ('%s', '%s')", ok, bad) != 0) {
		td_show_logs();
		fail_msg("not pruned: %s", tu_sql_text(T.db, "SELECT"
		         " string_agg(concat_ws(' ', job, status, started_at,"
		         " finished_at), '; ') FROM sweepd.runs WHERE job IN"
		         " ('%s', '%s')", ok, bad));
	}
	load_metrics(prom);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.before b"
	                            " WHERE b.type = 'counter' AND b.job IN"
	                            " ('%s', '%s') AND b.value IS DISTINCT FROM"
	                            " (SELECT value FROM %s.m m WHERE m.name ="
	                            " b.name AND m.job = b.job AND m.label ="
	                            " b.label)", S, ok, bad, S), 0);
	assert_true(tu_sql_int(T.db, "SELECT count(*) FROM %s.before WHERE"
	                       " type = 'counter' AND job IN ('%s', '%s')", S,
	                       ok, bad) >= 3);
	assert_int_equal(td_stop(d), 0);
	free(prom);
}

/* Under journald (JOURNAL_STREAM naming standard error) every line starts
 * with its syslog priority and carries no time of its own; elsewhere it
 * starts with the time.  A run logs one line at its start and one at its
 * end with the run id, duration, attempts and counters; in JSON, numbers
 * are numbers. */
static void logs_fit_journald_and_json(void **state)
{
	char ok[128], bad[128], *log, *text;
	const char *S;

	(void)state;
	begin("ops_logs");
	S = T.schema;
	T.scratch = tu_tempdir();
	log = tu_path(T.scratch, "log");
	snprintf(ok, sizeof(ok), "%s-ok", S);
	snprintf(bad, sizeof(bad), "%s-bad", S);
	write_job("ok", NULL, "");
	write_job("bad", NULL, "mode = fail\n");
	assert_int_equal(tu_run(NULL, NULL, ": >'%s' && JOURNAL_STREAM=$(stat"
	                        " -c %%d:%%i '%s') " SWEEPD_BIN " --conf-dir"
	                        " '%s' --plugin-dir " SWEEPD_FIXTURE_DIR " --run"
	                        " %s >/dev/null 2>>'%s'; JOURNAL_STREAM=$(stat"
	                        " -c %%d:%%i '%s') " SWEEPD_BIN " --conf-dir"
	                        " '%s' --plugin-dir " SWEEPD_FIXTURE_DIR " --run"
	                        " %s >/dev/null 2>>'%s'; test $? = 1", log, log,
	                        T.conf, ok, log, log, T.conf, bad, log), 0);
	text = tu_read(log, NULL);
	printf("---- the log lines of two runs under journald:\n%s", text);
	/* Every line: a priority, no time. */
	assert_int_equal(tu_run(NULL, NULL, "! grep -v '^<[0-7]>level=' '%s'"
	                        " && ! grep -qE '(^|[> ])ts=' '%s'", log, log), 0);
	assert_contains(text, "<6>level=info event=\"run started\"");
	assert_contains(text, "<6>level=info event=\"run finished\" job=");
	assert_contains(text, "<3>level=error event=\"run finished\" job=");
	assert_int_equal(tu_run(NULL, NULL, "grep '^<6>.*run finished.* job=%s"
	                        " run=[0-9]* status=ok duration_ms=[0-9]*"
	                        " attempts=1 runs=1' '%s' >/dev/null", ok, log),
	                 0);
	free(text);

	/* JOURNAL_STREAM naming another stream: lines keep their time. */
	assert_int_equal(tu_run(NULL, NULL, "JOURNAL_STREAM=1:1 " SWEEPD_BIN
	                        " --conf-dir '%s' --plugin-dir "
	                        SWEEPD_FIXTURE_DIR " --run %s >/dev/null"
	                        " 2>'%s'", T.conf, ok, log), 0);
	assert_int_equal(tu_run(NULL, NULL, "! grep -v '^ts=' '%s'", log), 0);

	/* JSON: each line parses; counts and durations are numbers. */
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --plugin-dir " SWEEPD_FIXTURE_DIR
	                        " --log-format json --run %s >/dev/null"
	                        " 2>'%s'", T.conf, ok, log), 0);
	text = tu_read(log, NULL);
	tu_sql(T.db, "CREATE TABLE %s.l AS SELECT l::jsonb AS v FROM"
	       " regexp_split_to_table(rtrim($j$%s$j$, E'\\n'), E'\\n') l", S,
	       text);
	free(text);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM %s.l WHERE"
	                            " v->>'event' = 'run finished' AND"
	                            " jsonb_typeof(v->'duration_ms') = 'number'"
	                            " AND jsonb_typeof(v->'run') = 'number' AND"
	                            " jsonb_typeof(v->'runs') = 'number' AND"
	                            " v->>'job' = '%s' AND v->>'status' = 'ok'"
	                            " AND v ? 'ts'", S, ok), 1);
	free(log);
}

/* A datagram socket bound at dir/notify, for NOTIFY_SOCKET; its fd. */
static int notify_socket(const char *dir)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads datagrams from fd until one contains needle (failing after
 * TD_WAIT_S); appends every one read to seen, a line each. */
static void wait_notify(int fd, const char *needle, buf *seen)
{
	double deadline = tu_mono() + TD_WAIT_S;
	char msg[1024];

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (tu_mono() > deadline) {
			td_show_logs();
			fail_msg("no \"%s\" from sweepd; got:\n%s", needle,
			         buf_str(seen));
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		assert_true(n >= 0);
		msg[n] = '\0';
		buf_printf(seen, "%s\n", msg);
		if (strstr(msg, needle) != NULL)
			return;
	}
}

/* Under systemd (Type=notify): READY=1 once conf.d is loaded, with
 * STATUS= naming the jobs and the next run; RELOADING=1 then READY=1 on
 * SIGHUP; WATCHDOG=1 pings at half WatchdogSec; STOPPING=1 on SIGTERM. */
static void systemd_is_told_ready_status_watchdog_and_stop(void **state)
{
	buf seen = BUF_INIT, env = BUF_INIT;
	td_proc *d;
	double t0, t1;
	int fd;

	(void)state;
	begin("ops_notify");
	T.scratch = tu_tempdir();
	fd = notify_socket(T.scratch);
	write_job("n", "0 3 * * *", "");
	buf_printf(&env, "NOTIFY_SOCKET='%s/notify' WATCHDOG_USEC=600000",
	           T.scratch);
	d = td_start_with(&(td_opts){.prefix = buf_str(&env)}, "--conf-dir '%s'"
	                  " --plugin-dir " SWEEPD_FIXTURE_DIR, T.conf);
	wait_notify(fd, "READY=1", &seen);
	assert_contains(buf_str(&seen), "STATUS=1 job; next run: ");
	assert_contains(buf_str(&seen), "-n at ");
	assert_contains(buf_str(&seen), "T03:00:00");
	/* Two pings 0.3 s apart, give or take the loop's wake. */
	wait_notify(fd, "WATCHDOG=1", &seen);
	t0 = tu_mono();
	wait_notify(fd, "WATCHDOG=1", &seen);
	t1 = tu_mono();
	assert_true(t1 - t0 < 0.6);
	td_signal(d, SIGHUP);
	wait_notify(fd, "RELOADING=1", &seen);
	wait_notify(fd, "READY=1", &seen);
	td_signal(d, SIGTERM);
	wait_notify(fd, "STOPPING=1", &seen);
	assert_int_equal(td_wait(d), 0);
	close(fd);
	buf_free(&seen);
	buf_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(pause_and_resume_across_two_daemons,
		                          teardown),
		cmocka_unit_test_teardown(history_lists_past_runs, teardown),
		cmocka_unit_test_teardown(metrics_file_matches_the_history,
		                          teardown),
		cmocka_unit_test_teardown(logs_fit_journald_and_json, teardown),
		cmocka_unit_test_teardown(
			systemd_is_told_ready_status_watchdog_and_stop, teardown),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
