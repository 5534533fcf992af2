/* The sql plugin against the real PostgreSQL: the real plugin .so, loaded
 * by the real loader and run by the host's runner, as sweepd --run does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "loader.h"
#include "result.h"
#include "runner.h"
#include "settings.h"
#include "testworld.h"

/* One test's world: a schema with an items table, a conf dir with one
 * job over it, and the loaded configuration. */
typedef tu_world world;

/* Creates schema.items: 2500 rows, n = 0, the 1234 whose id is not a
 * multiple of 2 below 2469 needing a fix; note NULL for id 1. */
static void world_data(world *w)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.items (id int PRIMARY KEY, needs_fix bool NOT"
	       " NULL, n int NOT NULL, note text);"
	       "INSERT INTO %s.items SELECT g, g %% 2 = 1 AND g < 2469, 0,"
	       " CASE WHEN g > 1 THEN 'item ' || g END"
	       " FROM generate_series(1, 2500) g",
	       w->schema, w->schema);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.items"
	                            " WHERE needs_fix", w->schema), 1234);
}

/* Loads a sql job with the given [params] lines, in which every "S."
 * stands for the test's schema. */
static void world_job(world *w, const char *params)
{
	char text[4096];
	size_t n;
	const char *p;

	n = (size_t)snprintf(text, sizeof(text), "[job]\nname = %s\n"
	                     "plugin = sql\n\n[params]\n", w->job);
	for (p = params; *p && n + 64 < sizeof(text); p++) {
		if (p[0] == 'S' && p[1] == '.')
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
			                      w->schema);
		else
			text[n++] = *p;
	}
	text[n] = '\0';
	tu_world_load(w, text);
}

static int world_setup(void **state)
{
	*state = tu_world_new("sqlp");
	return 0;
}

static int world_teardown(void **state)
{
	tu_world_free(*state);
	return 0;
}

/* A number a query on the world answers. */
#define ITEMS(w, cond) \
	tu_sql_int((w)->db, "SELECT count(*) FROM %s.items WHERE " cond, \
	           (w)->schema)

/* md5 of the whole contents of schema.items. */
static char *items_md5(world *w)
{
	return tu_sql_text(w->db, "SELECT md5(string_agg(x::text, ',' ORDER"
	                   " BY id)) FROM %s.items x", w->schema);
}

static void a_one_shot_update_runs_once(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	/* It would change rows every time: once means n = 1. */
	world_job(w, "statement = UPDATE S.items SET n = n + 1 WHERE id <= 10\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "affected"), 10);
	assert_int_equal(tu_counter(&r, "repetitions"), 1);
	assert_contains(r.message, "changed 10 rows (repetitions: 1)");
	result_free(&r);
	assert_int_equal(ITEMS(w, "n = 1 AND id <= 10"), 10);
	assert_int_equal(ITEMS(w, "n <> 0 AND id > 10"), 0);
}

static void a_repeated_update_converges_in_several_repetitions(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "repeat = true\nbatch_size = 100\nbatch_pause = 1ms\n"
	          "statement = UPDATE S.items SET needs_fix = false, n = n + 1\n"
	          "  WHERE id IN (SELECT id FROM S.items WHERE needs_fix\n"
	          "  ORDER BY id LIMIT $1)\n");
	tu_world_run_ok(w, false, &r);
	/* 12 repetitions of 100, one of 34, one that finds nothing. */
	assert_int_equal(tu_counter(&r, "affected"), 1234);
	assert_int_equal(tu_counter(&r, "repetitions"), 14);
	assert_int_equal(r.batches, 14);
	result_free(&r);
	assert_int_equal(ITEMS(w, "needs_fix"), 0);
	/* Every fixed row was changed exactly once, no other row at all. */
	assert_int_equal(ITEMS(w, "n = 1"), 1234);
	assert_int_equal(ITEMS(w, "n = 1 AND (id %% 2 = 0 OR id >= 2469)"), 0);
}

static void max_repeats_lets_a_converging_statement_finish(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "repeat = true\nbatch_size = 500\nmax_repeats = 4\n"
	          "statement = UPDATE S.items SET needs_fix = false\n"
	          "  WHERE id IN (SELECT id FROM S.items WHERE needs_fix\n"
	          "  LIMIT $1)\n");
	tu_world_run_ok(w, false, &r);
	/* 500, 500, 234, 0: the fourth finds nothing, which is converging. */
	assert_int_equal(tu_counter(&r, "affected"), 1234);
	assert_int_equal(tu_counter(&r, "repetitions"), 4);
	result_free(&r);
	assert_int_equal(ITEMS(w, "needs_fix"), 0);
}

static void a_statement_that_never_converges_stops_at_max_repeats(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "repeat = true\nbatch_size = 5\nmax_repeats = 3\n"
	          "statement = UPDATE S.items SET n = n + 1\n"
	          "  WHERE id IN (SELECT id FROM S.items ORDER BY id LIMIT $1)\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_contains(r.error, "max_repeats = 3 reached");
	assert_contains(r.error, "may never converge");
	assert_int_equal(tu_counter(&r, "affected"), 15);
	assert_int_equal(tu_counter(&r, "repetitions"), 3);
	result_free(&r);
	/* What the three repetitions committed stays. */
	assert_int_equal(ITEMS(w, "n = 3"), 5);
	assert_int_equal(ITEMS(w, "n <> 0"), 5);
}

static void dry_run_reports_the_dry_run_statement(void **state)
{
	world *w = *state;
	result r;
	char *before, *after;

	world_data(w);
	world_job(w, "repeat = true\n"
	          "statement = UPDATE S.items SET needs_fix = false\n"
	          "  WHERE id IN (SELECT id FROM S.items WHERE needs_fix\n"
	          "  LIMIT $1)\n"
	          "dry_run_statement = SELECT id, note FROM S.items\n"
	          "  WHERE needs_fix ORDER BY id\n");
	before = items_md5(w);
	tu_world_run_ok(w, true, &r);
	assert_int_equal(tu_counter(&r, "rows"), 1234);
	assert_int_equal(r.nsamples, 5);
	assert_string_equal(r.samples[0], "id=1, note=NULL");
	assert_string_equal(r.samples[1], "id=3, note=item 3");
	assert_string_equal(r.samples[4], "id=9, note=item 9");
	assert_contains(r.message, "returned 1234 rows");
	result_free(&r);
	after = items_md5(w);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void dry_run_explains_the_statement_without_running_it(void **state)
{
	world *w = *state;
	result r;
	char *before, *after;

	world_data(w);
	world_job(w, "statement = UPDATE S.items SET n = n + 1\n"
	          "  WHERE id IN (SELECT id FROM S.items LIMIT $1)\n");
	before = items_md5(w);
	tu_world_run_ok(w, true, &r);
	assert_true(r.nsamples > 1);
	assert_contains(r.samples[0], "Update on items");
	assert_contains(r.message, "its plan is the sample");
	result_free(&r);
	after = items_md5(w);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void a_dry_run_statement_that_writes_is_refused(void **state)
{
	world *w = *state;
	result r;
	char *before, *after;

	world_data(w);
	world_job(w, "statement = DELETE FROM S.items\n"
	          "dry_run_statement = DELETE FROM S.items RETURNING id\n");
	before = items_md5(w);
	assert_int_equal(tu_world_run(w, true, &r), RUNNER_FAILED);
	assert_contains(r.error, "read-only transaction");
	result_free(&r);
	after = items_md5(w);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void a_failing_statement_fails_with_the_server_message(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "statement = UPDATE S.items SET n = n + 1 / (id - id)\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_contains(r.error, "statement: division by zero (SQLSTATE 22012)");
	result_free(&r);
	assert_int_equal(ITEMS(w, "n <> 0"), 0);
}

static void lock_timeout_applies_to_each_transaction(void **state)
{
	world *w = *state;
	PGconn *locker = tu_db();
	result r;

	world_data(w);
	world_job(w, "lock_timeout = 100ms\n"
	          "statement = UPDATE S.items SET n = 1 WHERE id = 1\n");
	tu_sql(locker, "BEGIN; LOCK TABLE %s.items IN ACCESS EXCLUSIVE MODE",
	       w->schema);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "lock timeout (SQLSTATE 55P03)");
	result_free(&r);
	tu_sql(locker, "ROLLBACK");
	PQfinish(locker);
	assert_int_equal(ITEMS(w, "n <> 0"), 0);
}

/* Runs the world's job with the real binary, --run --json, logging at
 * level; returns what it logged (caller frees) after checking it
 * succeeded. */
static char *binary_run_log(world *w, const char *level)
{
	char *out, *err;

	if (tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s --plugin-dir "
	           SWEEPD_PLUGIN_DIR " --log-format logfmt --log-level %s"
	           " --json --run %s", w->dir, level, w->job) != 0)
		fail_msg("sweepd --run failed: %s %s", out, err);
	free(out);
	return err;
}

static void returned_rows_are_logged_with_their_columns(void **state)
{
	world *w = *state;
	char *log;

	world_data(w);
	world_job(w, "statement = UPDATE S.items SET n = n + 1 WHERE id <= 4\n"
	          "  RETURNING id, n - 1 AS old_n, n AS new_n, note\n");
	/* Per-row detail is for debug: at info, no row line. */
	log = binary_run_log(w, "info");
	assert_int_equal(tu_occurrences(log, "event=row "), 0);
	assert_contains(log, "level=info event=\"run finished\"");
	free(log);
	assert_int_equal(ITEMS(w, "n = 1"), 4);
	/* At debug, one line per returned row, its columns as key=value
	 * pairs. */
	log = binary_run_log(w, "debug");
	assert_int_equal(tu_occurrences(log, "level=debug event=row "), 4);
	assert_contains(log, " id=1 old_n=1 new_n=2 note=NULL\n");
	assert_contains(log, " id=3 old_n=1 new_n=2 note=\"item 3\"\n");
	assert_int_equal(tu_occurrences(log, "rows not logged"), 0);
	free(log);
	assert_int_equal(ITEMS(w, "n = 2"), 4);
}

static void rows_past_log_rows_are_counted_in_one_line(void **state)
{
	world *w = *state;
	char *log;

	world_data(w);
	/* 1234 rows in slices of 500: 3 logged of each, the rest counted. */
	world_job(w, "repeat = true\nbatch_size = 500\nlog_rows = 3\n"
	          "statement = UPDATE S.items SET needs_fix = false\n"
	          "  WHERE id IN (SELECT id FROM S.items WHERE needs_fix\n"
	          "  ORDER BY id LIMIT $1) RETURNING id\n");
	log = binary_run_log(w, "debug");
	assert_int_equal(tu_occurrences(log, "level=debug event=row "), 9);
	assert_int_equal(tu_occurrences(log, "level=info event=\"rows not logged\""),
	                 3);
	assert_contains(log, "logged=3 not_logged=497 ");
	assert_contains(log, "logged=3 not_logged=231 ");
	/* The first slice's first rows. */
	assert_contains(log, " id=1\n");
	assert_contains(log, " id=5\n");
	free(log);
	assert_int_equal(ITEMS(w, "needs_fix"), 0);
}

/* Audit records of the world's job: count of those matching cond. */
#define AUDITED(w, cond) \
	tu_sql_int((w)->db, "SELECT count(*) FROM sweepd.audit WHERE job ="  \
	           " '%s' AND " cond, (w)->job)

static void audit_returning_records_every_returned_row(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "repeat = true\nbatch_size = 100\nlog_rows = 1\n"
	          "audit_returning = true\naudit_action = fixed\n"
	          "audit_table = S.items\n"
	          "statement = UPDATE S.items SET needs_fix = false, n = n + 1\n"
	          "  WHERE id IN (SELECT id FROM S.items WHERE needs_fix\n"
	          "  ORDER BY id LIMIT $1) RETURNING id, n - 1 AS old_n, n,"
	          " note\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "affected"), 1234);
	assert_int_equal(tu_counter(&r, "audited"), 1234);
	assert_int_equal(tu_counter(&r, "repetitions"), 14);
	assert_true(r.run_id > 0);
	/* One record per changed row, of this run, with the row's columns
	 * typed as JSON. */
	assert_int_equal(AUDITED(w, "true"), 1234);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND run_id = %lld AND"
	                            " action = 'fixed' AND table_name ="
	                            " '%s.items'", w->job,
	                            (long long)r.run_id, w->schema), 1234);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT data->'id')"
	                            " FROM sweepd.audit WHERE job = '%s' AND"
	                            " jsonb_typeof(data->'id') = 'number' AND"
	                            " data->'old_n' = '0' AND data->'n' = '1'",
	                            w->job), 1234);
	assert_int_equal(AUDITED(w, "data = '{\"id\": 1, \"n\": 1, \"old_n\": 0,"
	                         " \"note\": null}'"), 1);
	assert_int_equal(AUDITED(w, "data->>'note' = 'item 3'"), 1);
	result_free(&r);
	assert_int_equal(ITEMS(w, "n = 1"), 1234);
}

static void a_failed_commit_takes_its_audit_records_back(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	/* A deferred unique check fails at COMMIT, after the records. */
	tu_sql(w->db, "CREATE TABLE %s.u (k int UNIQUE DEFERRABLE INITIALLY"
	       " DEFERRED); INSERT INTO %s.u VALUES (1), (2), (3)", w->schema,
	       w->schema);
	world_job(w, "audit_returning = true\naudit_table = S.u\n"
	          "statement = UPDATE S.u SET k = 1 WHERE k > 1 RETURNING k\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "committing");
	assert_contains(r.error, "SQLSTATE 23505");
	assert_int_equal(tu_counter(&r, "audited"), 0);
	result_free(&r);
	assert_int_equal(AUDITED(w, "true"), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.u WHERE"
	                            " k = 1", w->schema), 1);
}

static void audit_returning_needs_a_statement_returning_rows(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "audit_returning = true\naudit_table = S.items\n"
	          "statement = UPDATE S.items SET n = n + 1\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "audit_returning = true but the statement "
	                "returns no rows");
	assert_contains(r.error, "RETURNING");
	result_free(&r);
	/* The dry run says so too, before anything ran. */
	assert_int_equal(tu_world_run(w, true, &r), RUNNER_FAILED);
	assert_contains(r.error, "audit_returning = true but the statement "
	                "returns no rows");
	result_free(&r);
	assert_int_equal(ITEMS(w, "n <> 0"), 0);
	world_job(w, "audit_returning = true\n"
	          "statement = UPDATE S.items SET n = n + 1 RETURNING id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "audit_table is unset");
	result_free(&r);
	world_job(w, "audit_table = S.items\n"
	          "statement = UPDATE S.items SET n = n + 1 RETURNING id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "audit_table is set but audit_returning");
	result_free(&r);
	assert_int_equal(ITEMS(w, "n <> 0"), 0);
	assert_int_equal(AUDITED(w, "true"), 0);
}

static void options_are_checked_by_init(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "max_repeats = 3\n"
	          "statement = UPDATE S.items SET n = n + 1\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "max_repeats = 3: must be 0");
	assert_contains(r.error, "with repeat = true");
	result_free(&r);
	assert_int_equal(ITEMS(w, "n <> 0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(a_one_shot_update_runs_once),
		T(a_repeated_update_converges_in_several_repetitions),
		T(max_repeats_lets_a_converging_statement_finish),
		T(a_statement_that_never_converges_stops_at_max_repeats),
		T(dry_run_reports_the_dry_run_statement),
		T(dry_run_explains_the_statement_without_running_it),
		T(a_dry_run_statement_that_writes_is_refused),
		T(a_failing_statement_fails_with_the_server_message),
		T(lock_timeout_applies_to_each_transaction),
		T(returned_rows_are_logged_with_their_columns),
		T(rows_past_log_rows_are_counted_in_one_line),
		T(audit_returning_records_every_returned_row),
		T(a_failed_commit_takes_its_audit_records_back),
		T(audit_returning_needs_a_statement_returning_rows),
		T(options_are_checked_by_init),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
