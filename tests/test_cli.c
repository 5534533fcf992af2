/* End to end: the built sweepd binary run as a user runs it, against the
 * real PostgreSQL, with the shipped conf.d examples and scratch ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CONF SWEEPD_SOURCE_DIR "/conf.d"

/* Runs sweepd with args; captures stdout/stderr; returns the exit code. */
#define SWEEPD(out, err, ...) \
	tu_run(out, err, SWEEPD_BIN " " __VA_ARGS__)

static void version_and_help_exit_0(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--version"), 0);
	assert_non_null(strstr(out, "plugin ABI 1."));
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--help"), 0);
	assert_non_null(strstr(out, "--dry-run JOB"));
	free(out);
	free(err);
}

static void usage_errors_exit_2(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir " CONF " --run"), 2);
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--list-jobs --now yesterday"), 2);
	assert_contains(err, "--now 'yesterday' is not an ISO 8601 instant");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--check --list-jobs"), 2);
	assert_non_null(strstr(err, "one command"));
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--no-such-option"), 2);
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir " CONF
	                        " --log-level loud --check"), 2);
	assert_non_null(strstr(err, "--log-level"));
	free(out);
	free(err);
}

static void check_accepts_the_shipped_examples(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir " CONF " --check"), 0);
	assert_non_null(strstr(out, "0 problems, 1 warning\n"));
	/* message-cleanup deletes messages whose expires_at has passed: an
	 * age of 0 it means, warned of as a likely slip elsewhere */
	assert_contains(err, "message-cleanup.ini:24: warning: older_than = "
	                "0s");
	free(out);
	free(err);
}

static void check_names_file_and_line_of_each_problem(void **state)
{
	char *dir = tu_tempdir(), *out, *err, *expect;

	(void)state;
	tu_copy(CONF "/cleanup-unverified-users.ini", dir, "a-good.ini");
	tu_copy(CONF "/sweepd.ini", dir, "sweepd.ini");  /* its database */
	tu_write(dir, "b-broken.ini",
	         "[job]\nname = broken\nplugin = age_delete\n\n[params]\n"
	         "table = users\ntime_colum = created_at\nolder_than = 30\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check", dir), 2);
	expect = tu_path(dir, "b-broken.ini:7: plugin age_delete has no "
	                 "parameter 'time_colum'; did you mean 'time_column'?");
	assert_non_null(strstr(err, expect));
	free(expect);
	expect = tu_path(dir, "b-broken.ini:8: older_than (duration)");
	assert_non_null(strstr(err, expect));
	free(expect);
	assert_non_null(strstr(out, "2 jobs"));
	free(out);
	free(err);
	/* The good job still lists as sound next to the broken one. */
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --json --list-jobs", dir), 0);
	assert_non_null(strstr(out, "\"name\":\"cleanup-unverified-users\","));
	assert_non_null(strstr(out, "\"enabled\":true,\"errors\":0"));
	free(out);
	free(err);
	tu_rmtree(dir);
	free(dir);
}

/* Values that every run would refuse are refused by --check at their
 * FILE:LINE with exit 2; warnings print as FILE:LINE: warning: and exit 0,
 * or 2 with --strict. */
static void check_refuses_out_of_range_and_warns_of_slips(void **state)
{
	char *dir = tu_tempdir(), *out, *err, *expect;

	(void)state;
	tu_write(dir, "a.ini", "[job]\nname = a\nplugin = age_delete\n\n"
	         "[params]\ntable = t\ntime_column = at\nolder_than = 1d\n"
	         "batch_size = 0\nparallel = 100000\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check", dir), 2);
	expect = tu_path(dir, "a.ini:9: batch_size (integer): 0 is too small: "
	                 "write at least 1");
	assert_contains(err, expect);
	free(expect);
	expect = tu_path(dir, "a.ini:10: parallel (integer): 100000 is out of "
	                 "range: write 1 to 16");
	assert_contains(err, expect);
	free(expect);
	assert_contains(out, "1 job, 6 plugins, 2 problems, 0 warnings");
	free(out);
	free(err);
	tu_write(dir, "a.ini", "[job]\nname = a\nplugin = age_delete\n"
	         "schedule = 0 0 30 2 *\n[params]\ntable = t\n"
	         "time_column = at\nolder_than = 0s\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check", dir), 0);
	expect = tu_path(dir, "a.ini:8: warning: older_than = 0s: "
	                 "everything goes once its time has passed");
	assert_contains(err, expect);
	free(expect);
	assert_contains(out, "0 problems, 2 warnings");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check --strict", dir), 2);
	assert_contains(out, "0 problems, 2 warnings");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check --json", dir), 0);
	assert_contains(out, "\"ok\":true");
	assert_contains(out, "\"warnings\":[{\"file\":");
	assert_contains(out, "\"line\":8,\"message\":\"older_than = 0s");
	free(out);
	free(err);
	tu_rmtree(dir);
	free(dir);
}

/* The longest age sweepd takes, 5000y, runs against the real server, in
 * an instant column and a wall-clock one in a zone east of UTC; an age
 * whose cutoff would fall before PostgreSQL's first timestamp (a valid
 * interval, but now() - it is "timestamp out of range") is refused by
 * --check. */
static void longest_age_runs_and_a_longer_is_refused(void **state)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "cli_age"), *dir = tu_tempdir(), *out;
	char *err, *expect, text[512];
	PGresult *res;

	(void)state;
	tu_sql(db, "CREATE TABLE %s.t (at timestamptz, wall timestamp);"
	       "INSERT INTO %s.t VALUES ('3100-01-01 BC', '3100-01-01 BC'),"
	       " ('2900-01-01 BC', '2900-01-01 BC')", schema, schema);
	snprintf(text, sizeof(text), "[job]\nname = i\nplugin = age_delete\n"
	         "[params]\ntable = %s.t\ntime_column = at\n"
	         "older_than = 5000y\n", schema);
	tu_write(dir, "i.ini", text);
	snprintf(text, sizeof(text), "[job]\nname = w\nplugin = age_delete\n"
	         "[params]\ntable = %s.t\ntime_column = wall\n"
	         "older_than = 1826250d\nnaive_timezone = Pacific/Kiritimati\n",
	         schema);
	tu_write(dir, "w.ini", text);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --json --dry-run w", dir), 0);
	assert_contains(out, "\"success\":true");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --json --run i", dir), 0);
	assert_contains(out, "\"deleted\":1");
	free(out);
	free(err);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM %s.t WHERE at >"
	                            " '3000-01-01 BC'", schema), 1);
	/* What --check refuses: a valid interval whose cutoff the server
	 * cannot compute. */
	res = PQexec(db, "SELECT now() - interval '2147483647 days'");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_contains(PQerrorMessage(db), "timestamp out of range");
	PQclear(res);
	tu_write(dir, "i.ini", "[job]\nname = i\nplugin = age_delete\n"
	         "[params]\ntable = t\ntime_column = at\n"
	         "older_than = 2147483647d\n");
	tu_write(dir, "w.ini", "[job]\nname = w\nplugin = age_delete\n"
	         "[params]\ntable = t\ntime_column = at\n"
	         "older_than = 5001y\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check", dir), 2);
	expect = tu_path(dir, "i.ini:7: older_than (duration): duration "
	                 "'2147483647d' is too long: at most 5000y");
	assert_contains(err, expect);
	free(expect);
	expect = tu_path(dir, "w.ini:7: older_than (duration): duration "
	                 "'5001y' is too long");
	assert_contains(err, expect);
	free(expect);
	free(out);
	free(err);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	tu_rmtree(dir);
	free(dir);
	free(schema);
	PQfinish(db);
}

static void list_plugins_shows_options_and_users(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir " CONF
	                        " --json --list-plugins"), 0);
	assert_non_null(strstr(out, "{\"name\":\"age_delete\",\"version\":"));
	assert_non_null(strstr(out, "{\"key\":\"older_than\",\"type\":"
	                       "\"duration\",\"default\":null,\"required\":"
	                       "true"));
	assert_contains(out, "\"jobs\":[\"cleanup-invitations\","
	                "\"cleanup-push-tokens\",\"cleanup-unverified-users\","
	                "\"delete-audit-logs\",\"message-cleanup\"]");
	free(out);
	free(err);
}

static void unknown_job_exits_2_with_a_suggestion(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir " CONF
	                        " --run message-clenup"), 2);
	assert_non_null(strstr(err, "did you mean 'message-cleanup'?"));
	free(out);
	free(err);
}

static void failing_job_exits_1_with_the_reason(void **state)
{
	char *dir = tu_tempdir(), *out, *err;

	(void)state;
	tu_write(dir, "gone.ini", "[job]\nname = gone\nplugin = age_delete\n"
	         "[params]\ntable = no_such_table\ntime_column = t\n"
	         "older_than = 1d\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --json --run gone", dir), 1);
	assert_non_null(strstr(out, "\"success\":false"));
	assert_non_null(strstr(out, "no_such_table"));
	free(out);
	free(err);
	/* A database that cannot be reached is a failed run, not a crash. */
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --dsn 'host=127.0.0.1 "
	                        "port=1 connect_timeout=2' --run gone", dir), 1);
	assert_non_null(strstr(out, "cannot connect"));
	free(out);
	free(err);
	tu_rmtree(dir);
	free(dir);
}

/* The text of expr over the JSON document json (as j), computed by
 * PostgreSQL's own jsonb parser, so a document that is not valid JSON
 * fails the test; "(null)" for SQL NULL.  New string. */
static char *json_eval(PGconn *db, const char *json, const char *expr)
{
	const char *values[1] = {json};
	char sql[512];
	PGresult *res;
	char *v;

	snprintf(sql, sizeof(sql), "SELECT (%s)::text FROM (SELECT $1::jsonb"
	         " AS j) x", expr);
	res = PQexecParams(db, sql, 1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s on %s: %s", expr, json, PQerrorMessage(db));
	v = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

/* Asserts that expr over the JSON document json is want. */
#define assert_json(db, json, expr, want)                                   \
	do {                                                                \
		char *got_ = json_eval(db, json, expr);                     \
		if (strcmp(got_, want) != 0)                                \
			fail_msg("%s is %s, not %s, in %s", expr, got_,     \
			         want, json);                               \
		free(got_);                                                 \
	} while (0)

/* Asserts the seed's result shape {success, deleted_count, timestamp} at
 * the top of a --run --json result, beside today's keys: success a
 * boolean, deleted_count the "deleted" counter (0 without one), timestamp
 * the run's end in ISO 8601 UTC. */
static void assert_seed_shape(PGconn *db, const char *json,
                              const char *success, const char *deleted)
{
	assert_json(db, json, "jsonb_typeof(j->'success')", "boolean");
	assert_json(db, json, "j->>'success'", success);
	assert_json(db, json, "jsonb_typeof(j->'deleted_count')", "number");
	assert_json(db, json, "j->>'deleted_count'", deleted);
	assert_json(db, json, "j->>'deleted_count' = coalesce(j->'counters'"
	            "->>'deleted', '0')", "true");
	assert_json(db, json, "j->>'timestamp' ~ '^\\d{4}-\\d\\d-\\d\\dT"
	            "\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$'", "true");
	assert_json(db, json, "j->>'timestamp' = j->>'finished'", "true");
	assert_json(db, json, "(j->>'timestamp')::timestamptz >="
	            " (j->>'started')::timestamptz", "true");
	/* Today's keys stay. */
	assert_json(db, json, "j ?& array['job', 'dry_run', 'stopped',"
	            " 'status', 'counters', 'message', 'error', 'sample',"
	            " 'errors', 'batches', 'longest_batch_ms', 'started',"
	            " 'finished', 'duration_ms']", "true");
}

static void run_json_has_the_seed_result_shape_for_every_job(void **state)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "cli_shape"), *dir = tu_tempdir(), *out;
	char text[1024];

	(void)state;
	tu_sql(db, "CREATE TABLE %s.t AS SELECT g AS id, now() - interval"
	       " '2 days' * (g %% 2) AS at FROM generate_series(1, 7) g", schema);
	snprintf(text, sizeof(text), "[job]\nname = shape-del\nplugin ="
	         " age_delete\n[params]\ntable = %s.t\ntime_column = at\n"
	         "older_than = 1d\n", schema);
	tu_write(dir, "del.ini", text);
	snprintf(text, sizeof(text), "[job]\nname = shape-sql\nplugin = sql\n"
	         "[params]\nstatement = UPDATE %s.t SET id = id\n", schema);
	tu_write(dir, "sql.ini", text);
	tu_write(dir, "gone.ini", "[job]\nname = shape-gone\nplugin ="
	         " age_delete\n[params]\ntable = no_such_table\n"
	         "time_column = t\nolder_than = 1d\n");
	/* A deleting job: 4 of the 7 rows are two days old. */
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run shape-del 2>/dev/null", dir), 0);
	assert_seed_shape(db, out, "true", "4");
	free(out);
	/* A job that deletes nothing: deleted_count 0. */
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run shape-sql 2>/dev/null", dir), 0);
	assert_seed_shape(db, out, "true", "0");
	assert_json(db, out, "j->'counters'->>'affected'", "3");
	free(out);
	/* A failed run has the shape too. */
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run shape-gone 2>/dev/null", dir), 1);
	assert_seed_shape(db, out, "false", "0");
	free(out);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	tu_rmtree(dir);
	free(dir);
	free(schema);
	PQfinish(db);
}

static void broken_job_is_refused_by_run(void **state)
{
	char *dir = tu_tempdir(), *out, *err, *expect;

	(void)state;
	tu_write(dir, "bad.ini", "[job]\nname = bad\nplugin = age_delete\n"
	         "[params]\ntable = t\ntime_column = t\nolder_than = 1d\n"
	         "where = 1 = 1; DROP TABLE users\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --run bad", dir), 2);
	expect = tu_path(dir, "bad.ini:8: where (sql-condition): condition "
	                 "contains ';'");
	assert_non_null(strstr(err, expect));
	free(expect);
	free(out);
	free(err);
	tu_rmtree(dir);
	free(dir);
}

/* Interrupts a run of age_delete (with the extra [params] lines) part way
 * and checks that it stopped between batches, counting every committed
 * one. */
static void interrupt_a_run(const char *extra)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "cli_int"), *dir = tu_tempdir(), *out;
	char text[512];
	long long deleted, left;
	const char *p;

	/* About 110 batches, 50 ms apart, take seconds. */
	tu_sql(db, "CREATE TABLE %s.t AS SELECT g AS id, now() - interval"
	       " '2 days' AS at FROM generate_series(1, 20000) g", schema);
	snprintf(text, sizeof(text), "[job]\nname = slow\nplugin = age_delete\n"
	         "[params]\ntable = %s.t\ntime_column = at\nolder_than = 1d\n"
	         "batch_size = 100\nbatch_pause = 50ms\n%s", schema, extra);
	tu_write(dir, "slow.ini", text);
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run slow 2>/dev/null & pid=$!; sleep 1;"
	                        " kill -INT $pid; wait $pid", dir), 0);
	assert_contains(out, "\"success\":true,\"stopped\":true");
	p = strstr(out, "\"deleted\":");
	assert_non_null(p);
	deleted = strtoll(p + strlen("\"deleted\":"), NULL, 10);
	left = tu_sql_int(db, "SELECT count(*) FROM %s.t", schema);
	/* Stopped part way, and every committed batch is counted. */
	assert_true(deleted > 0 && left > 0);
	assert_int_equal(deleted + left, 20000);
	free(out);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	tu_rmtree(dir);
	free(dir);
	free(schema);
	PQfinish(db);
}

static void sigint_stops_between_batches_keeping_committed_ones(void **state)
{
	(void)state;
	interrupt_a_run("");
}

static void sigint_stops_parallel_sessions_keeping_committed_ones(void **state)
{
	(void)state;
	interrupt_a_run("parallel = 3\n");
}

static void lock_timeout_fails_a_batch_instead_of_waiting(void **state)
{
	PGconn *db = tu_db(), *locker = tu_db();
	char *schema = tu_schema(db, "cli_lock"), *dir = tu_tempdir(), *out;
	char text[512];

	(void)state;
	tu_sql(db, "CREATE TABLE %s.t AS SELECT now() - interval '2 days' AS at",
	       schema);
	tu_sql(locker, "BEGIN; LOCK TABLE %s.t IN ACCESS EXCLUSIVE MODE", schema);
	snprintf(text, sizeof(text), "[job]\nname = locked\nplugin = age_delete\n"
	         "[params]\ntable = %s.t\ntime_column = at\nolder_than = 1d\n"
	         "lock_timeout = 100ms\n", schema);
	tu_write(dir, "locked.ini", text);
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run locked", dir), 1);
	assert_contains(out, "lock timeout");
	assert_contains(out, "55P03");
	free(out);
	tu_sql(locker, "ROLLBACK");
	PQfinish(locker);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM %s.t", schema), 1);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	tu_rmtree(dir);
	free(dir);
	free(schema);
	PQfinish(db);
}

static void list_jobs_answers_when_a_job_would_run(void **state)
{
	char *dir = tu_tempdir(), *out, *err;

	(void)state;
	/* 02:30 does not exist in Berlin on 2026-03-29: the run comes at the
	 * jump, 03:00 CEST = 01:00Z. */
	tu_write(dir, "berlin.ini", "[job]\nname = berlin\nplugin = age_delete\n"
	         "schedule = 30 2 * * *\ntimezone = Europe/Berlin\n[params]\n"
	         "table = t\ntime_column = at\nolder_than = 1d\n");
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --json --list-jobs --now"
	                        " 2026-03-28T12:00:00Z", dir), 0);
	assert_contains(out, "\"next_run\":\"2026-03-29T01:00:00.000Z\"");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --json --list-jobs --now"
	                        " 2026-03-29T03:00:00+02:00", dir), 0);
	assert_contains(out, "\"next_run\":\"2026-03-30T00:30:00.000Z\"");
	free(out);
	free(err);
	tu_rmtree(dir);
	free(dir);
}

static void status_shows_last_run_failure_and_next_run(void **state)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "cli_status"), *dir = tu_tempdir(), *out;
	char text[512];

	(void)state;
	tu_sql(db, "CREATE TABLE %s.t AS SELECT now() - interval '2 days' AS at",
	       schema);
	snprintf(text, sizeof(text), "[job]\nname = %s-st\nplugin = age_delete\n"
	         "schedule = 0 3 * * *\n[params]\ntable = %s.t\n"
	         "time_column = at\nolder_than = 1d\n", schema, schema);
	tu_write(dir, "st.ini", text);
	/* A failure (the table is gone), then a success. */
	tu_sql(db, "ALTER TABLE %s.t RENAME TO t2", schema);
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --run %s-st"
	                        " >/dev/null 2>&1", dir, schema), 1);
	tu_sql(db, "ALTER TABLE %s.t2 RENAME TO t", schema);
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --run %s-st"
	                        " >/dev/null 2>&1", dir, schema), 0);
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --status %s-st", dir, schema), 0);
	assert_contains(out, "\"status\":\"ok\"");
	assert_contains(out, "\"counters\":{\"deleted\": 1}");
	assert_contains(out, "\"last_failure_status\":\"failed\"");
	assert_contains(out, "does not exist");
	assert_contains(out, "T03:00:00.000Z\"}");
	free(out);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	tu_rmtree(dir);
	free(dir);
	free(schema);
	PQfinish(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_and_help_exit_0),
		cmocka_unit_test(usage_errors_exit_2),
		cmocka_unit_test(check_accepts_the_shipped_examples),
		cmocka_unit_test(check_names_file_and_line_of_each_problem),
		cmocka_unit_test(check_refuses_out_of_range_and_warns_of_slips),
		cmocka_unit_test(longest_age_runs_and_a_longer_is_refused),
		cmocka_unit_test(list_plugins_shows_options_and_users),
		cmocka_unit_test(unknown_job_exits_2_with_a_suggestion),
		cmocka_unit_test(failing_job_exits_1_with_the_reason),
		cmocka_unit_test(run_json_has_the_seed_result_shape_for_every_job),
		cmocka_unit_test(broken_job_is_refused_by_run),
		cmocka_unit_test(sigint_stops_between_batches_keeping_committed_ones),
		cmocka_unit_test(sigint_stops_parallel_sessions_keeping_committed_ones),
		cmocka_unit_test(lock_timeout_fails_a_batch_instead_of_waiting),
		cmocka_unit_test(list_jobs_answers_when_a_job_would_run),
		cmocka_unit_test(status_shows_last_run_failure_and_next_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
