/* Proof that a policy holds (sweepd --verify, SDK 1.9): the real binary,
 * the real age_delete plugin and the real database.  A table with rows
 * older than the job's limit is a violated policy, named with its job,
 * table and oldest row's age, until a run deletes them; a paused job's
 * rows stay violated; --status and the metrics file show the age the
 * last run left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "testworld.h"

static int world_setup(void **state)
{
	*state = tu_world_new("verify");
	return 0;
}

static int world_teardown(void **state)
{
	tu_world_free(*state);
	return 0;
}

/* schema.events: 10 rows 40 days old (kind 'a'), 10 rows 1 day old. */
static void world_data(tu_world *w)
{
	tu_sql(w->db, "CREATE TABLE %s.events (id int, kind text,"
	       " created_at timestamptz)", w->schema);
	tu_sql(w->db, "CREATE INDEX ON %s.events (created_at)", w->schema);
	tu_sql(w->db, "INSERT INTO %s.events SELECT g, 'a', now() -"
	       " interval '40 days' FROM generate_series(1, 10) g", w->schema);
	tu_sql(w->db, "INSERT INTO %s.events SELECT g, 'b', now() -"
	       " interval '1 day' FROM generate_series(11, 20) g", w->schema);
}

/* A daily job over schema.events: 30d, with extra [params] lines. */
static void world_job(tu_world *w, const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\nschedule = @daily\n\n"
	         "[params]\ntable = %s.events\ntime_column = created_at\n"
	         "older_than = 30d\n%s", w->job, w->schema, extra);
	tu_world_load(w, text);
}

/* Runs sweepd ARGS over w's conf.d; its exit status, output in *out. */
static int sweepd(tu_world *w, char **out, const char *args)
{
	char *err = NULL;
	int rc = tu_run(out, &err, SWEEPD_BIN " --conf-dir '%s' --plugin-dir "
	                SWEEPD_PLUGIN_DIR " --metrics-file '%s/metrics' %s",
	                w->dir, w->dir, args);

	free(err);
	return rc;
}

static void old_rows_violate_until_a_run_deletes_them(void **state)
{
	tu_world *w = *state;
	char args[256], *out, *metrics;

	world_data(w);
	world_job(w, "");
	snprintf(args, sizeof(args), "--verify %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 1);
	assert_contains(out, w->job);
	assert_contains(out, ".events: oldest row 40d");
	assert_contains(out, "limit 30d, period 1d: VIOLATED");
	free(out);
	snprintf(args, sizeof(args), "--run %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 0);
	free(out);
	snprintf(args, sizeof(args), "--verify %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 0);
	assert_contains(out, "oldest row 1d, limit 30d, period 1d: OK");
	free(out);
	snprintf(args, sizeof(args), "--status %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 0);
	assert_contains(out, "oldest row:   1d (limit 30d) in ");
	free(out);
	metrics = tu_path(w->dir, "metrics");
	assert_int_equal(tu_run(&out, NULL, "cat '%s'", metrics), 0);
	assert_contains(out, "sweepd_job_oldest_row_age_seconds{job_name=\"");
	free(out);
	free(metrics);
}

static void a_paused_job_leaves_its_policy_violated(void **state)
{
	tu_world *w = *state;
	char args[256], *out;

	world_data(w);
	world_job(w, "");
	snprintf(args, sizeof(args), "--pause %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 0);
	free(out);
	snprintf(args, sizeof(args), "--run %s", w->job);
	sweepd(w, &out, args);
	free(out);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 20);
	snprintf(args, sizeof(args), "--verify %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 1);
	assert_contains(out, "VIOLATED");
	free(out);
}

/* verify measures the rows the job's condition matches: a where that
 * leaves the old rows out makes them no rows of the policy. */
static void verify_measures_the_rows_where_matches(void **state)
{
	tu_world *w = *state;
	char args[256], *out;

	world_data(w);
	world_job(w, "where = kind = 'b'\n");
	snprintf(args, sizeof(args), "--verify %s", w->job);
	assert_int_equal(sweepd(w, &out, args), 0);
	assert_contains(out, "oldest row 1d");
	free(out);
	assert_int_equal(sweepd(w, &out, "--verify no_such_job_here"), 2);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(old_rows_violate_until_a_run_deletes_them),
		T(a_paused_job_leaves_its_policy_violated),
		T(verify_measures_the_rows_where_matches),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
