/* age_delete against the real PostgreSQL: the real plugin .so, loaded by
 * the real loader and run by the host's runner, as sweepd --run does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"
#include "loader.h"
#include "result.h"
#include "runner.h"
#include "settings.h"
#include "testworld.h"

/* One test's world: a schema with an events table, a conf dir with one
 * job over it, and the loaded configuration. */
typedef tu_world world;

/* Creates schema.events with, per batch of ids: old rows matching the
 * condition (kind 'x'), old rows not matching (kind 'y'), young rows, rows
 * with a NULL time, and one row on each side of the cutoff.  With shuffle
 * the rows are inserted in random order so expired rows sit on every page. */
static void world_data(world *w, int shuffle)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.events (id bigint PRIMARY KEY, created_at"
	       " timestamptz, kind text NOT NULL, email text NOT NULL);"
	       "INSERT INTO %s.events SELECT g, CASE"
	       "  WHEN g <= 1000 THEN now() - interval '45 days'"
	       "  WHEN g <= 1300 THEN now() - interval '40 days'"
	       "  WHEN g <= 1700 THEN now() - interval '10 days'"
	       "  WHEN g <= 1710 THEN NULL"
	       "  WHEN g = 1711 THEN now() - interval '30 days' - interval '1 minute'"
	       "  ELSE now() - interval '30 days' + interval '1 minute' END,"
	       " CASE WHEN g BETWEEN 1001 AND 1300 THEN 'y' ELSE 'x' END,"
	       " 'user' || g || '@example.com'"
	       " FROM generate_series(1, 1712) g ORDER BY %s",
	       w->schema, w->schema, shuffle ? "random()" : "g");
}

/* Loads a job over schema.events with the given extra [params] lines. */
static void world_job(world *w, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
	         "table = %s.events\ntime_column = created_at\n"
	         "older_than = 30d\n%s", w->job, w->schema, extra);
	tu_world_load(w, text);
}

static int world_setup(void **state)
{
	*state = tu_world_new("age");
	return 0;
}

static int world_teardown(void **state)
{
	tu_world_free(*state);
	return 0;
}

/* Rows of events whose id is in [lo, hi]. */
static long long rows_between(world *w, int lo, int hi)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.events WHERE id"
	                  " BETWEEN %d AND %d", w->schema, lo, hi);
}

/* Checks that exactly the old rows matching kind = 'x' are gone. */
static void assert_only_expired_gone(world *w)
{
	assert_int_equal(rows_between(w, 1, 1000), 0);      /* old, x */
	assert_int_equal(rows_between(w, 1001, 1300), 300); /* old, y */
	assert_int_equal(rows_between(w, 1301, 1700), 400); /* young */
	assert_int_equal(rows_between(w, 1701, 1710), 10);  /* NULL time */
	assert_int_equal(rows_between(w, 1711, 1711), 0);   /* just older */
	assert_int_equal(rows_between(w, 1712, 1712), 1);   /* just younger */
}

static void deletes_exactly_the_expired_matching_rows(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 0);
	world_job(w, "where = kind = 'x'\nbatch_size = 100\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1001);
	assert_true(r.batches > 1);
	result_free(&r);
	assert_only_expired_gone(w);
}

static void deletes_rows_scattered_over_every_page(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 1);
	world_job(w, "where = kind = 'x'\nbatch_size = 50\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1001);
	result_free(&r);
	assert_only_expired_gone(w);
}

static void audit_rows_equal_deleted_rows(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 1);
	world_job(w, "where = kind = 'x'\nbatch_size = 100\n"
	          "audit_columns = id, email\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "audited"), 1001);
	/* One audit record per deleted id, none for a kept one, and the
	 * audited e-mail is the deleted row's. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT (data->>'id'))"
	                            " FROM sweepd.audit WHERE job = '%s'",
	                            w->job), 1001);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit a"
	                            " JOIN %s.events e ON e.id = (a.data->>'id')"
	                            "::bigint WHERE a.job = '%s'", w->schema,
	                            w->job), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND (action <> 'deleted'"
	                            " OR data->>'email' <> 'user' || (data->>'id')"
	                            " || '@example.com' OR run_id <> %lld)",
	                            w->job, (long long)r.run_id), 0);
	result_free(&r);
	assert_only_expired_gone(w);
}

static void max_rows_caps_one_run(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 0);
	world_job(w, "where = kind = 'x'\nbatch_size = 100\nmax_rows = 250\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 250);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1712 - 250);
	/* Only expired matching rows were taken. */
	assert_int_equal(rows_between(w, 1001, 1712), 712);
}

static void dry_run_counts_samples_and_changes_nothing(void **state)
{
	world *w = *state;
	result r;
	char *before, *after;

	world_data(w, 0);
	world_job(w, "where = kind = 'x'\naudit_columns = id, email\n");
	before = tu_sql_text(w->db, "SELECT md5(string_agg(e::text, ',' ORDER"
	                     " BY id)) FROM %s.events e", w->schema);
	assert_int_equal(tu_world_run_count(w, true, &r, "would_delete"), 1001);
	assert_int_equal(r.nsamples, 5);
	assert_non_null(strstr(r.samples[0], "\"email\""));
	assert_non_null(r.message);
	result_free(&r);
	after = tu_sql_text(w->db, "SELECT md5(string_agg(e::text, ',' ORDER"
	                    " BY id)) FROM %s.events e", w->schema);
	assert_string_equal(before, after);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 0);
	free(before);
	free(after);
}

static void quotes_and_spaces_in_names_are_safe(void **state)
{
	world *w = *state;
	result r;
	char text[1024];

	tu_sql(w->db, "CREATE TABLE %s.\"odd\"\"name\" (\"made at\" timestamptz,"
	       " n int); INSERT INTO %s.\"odd\"\"name\" VALUES"
	       " (now() - interval '2 days', 1), (now(), 2)", w->schema,
	       w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n[params]\n"
	         "table = %s.odd\"name\ntime_column = made at\n"
	         "older_than = 1d\n", w->job, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT n FROM %s.\"odd\"\"name\"",
	                            w->schema), 2);
}

static void a_failing_batch_fails_the_run_and_keeps_the_data(void **state)
{
	world *w = *state;
	result r;
	char *status;

	world_data(w, 0);
	/* A condition that errors at run time: division by zero. */
	world_job(w, "where = 1 / (id - id) = 1\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_non_null(strstr(r.error, "division by zero"));
	status = tu_sql_text(w->db, "SELECT status FROM sweepd.runs WHERE id ="
	                     " %lld", (long long)r.run_id);
	assert_string_equal(status, "failed");
	free(status);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1712);
}

static void parallel_sessions_delete_exactly_the_expired_rows(void **state)
{
	world *w = *state;
	result r;
	char extra[512];

	world_data(w, 1);
	tu_world_seen(w);
	snprintf(extra, sizeof(extra),
	         "where = kind = 'x' AND %s.seen(pg_backend_pid())\n"
	         "batch_size = 20\nparallel = 3\naudit_columns = id\n",
	         w->schema);
	world_job(w, extra);
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1001);
	assert_int_equal(tu_counter(&r, "audited"), 1001);
	assert_true(r.batches > 3);
	result_free(&r);
	assert_only_expired_gone(w);
	assert_int_equal(tu_world_sessions(w), 3);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT data->>'id')"
	                            " FROM sweepd.audit WHERE job = '%s'",
	                            w->job), 1001);
}

static void parallel_with_max_rows_uses_one_session(void **state)
{
	world *w = *state;
	result r;
	char extra[512];

	world_data(w, 1);
	tu_world_seen(w);
	snprintf(extra, sizeof(extra),
	         "where = kind = 'x' AND %s.seen(pg_backend_pid())\n"
	         "batch_size = 20\nparallel = 4\nmax_rows = 250\n", w->schema);
	world_job(w, extra);
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 250);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1712 - 250);
	assert_int_equal(tu_world_sessions(w), 1);
}

static void parallel_out_of_range_is_refused(void **state)
{
	world *w = *state;
	static const char *const bad[] = {"0", "17", "-1"};
	char text[2048];
	size_t i;

	world_data(w, 0);
	/* Refused when the configuration loads (the declared range), at
	 * its line: the job never gets to run. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[job]\nname = %s\nplugin = "
		         "age_delete\n\n[params]\ntable = %s.events\n"
		         "time_column = created_at\nolder_than = 30d\n"
		         "parallel = %s\n", w->job, w->schema, bad[i]);
		tu_world_load_diag(w, text);
		assert_int_equal(w->d.count, 1);
		assert_int_equal(w->d.items[0].line, 9);
		assert_contains(w->d.items[0].message, "write 1 to 16");
		assert_contains(w->d.items[0].message, bad[i]);
		assert_null(jobs_at(w->js, 0)->params);
	}
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1712);
}

/* A role that may hold one connection only: the run's own session
 * connects, every parallel one is refused by the server. */
static void parallel_goes_on_when_sessions_cannot_connect(void **state)
{
	world *w = *state;
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
	const char *db = getenv("PGDATABASE");
	result r;
	char *role = w->schema, dsn[512], extra[512];

	assert_non_null(host);
	world_data(w, 1);
	tu_world_seen(w);
	tu_sql(w->db,
	       "CREATE ROLE %s LOGIN CONNECTION LIMIT 1;"
	       "GRANT CREATE ON DATABASE %s TO %s;"
	       "GRANT ALL ON SCHEMA sweepd, %s TO %s;"
	       "GRANT ALL ON ALL TABLES IN SCHEMA sweepd, %s TO %s;"
	       "GRANT ALL ON ALL SEQUENCES IN SCHEMA sweepd TO %s",
	       role, db ? db : "sweepd", role, w->schema, role, w->schema,
	       role, role);
	snprintf(extra, sizeof(extra),
	         "where = kind = 'x' AND %s.seen(pg_backend_pid())\n"
	         "batch_size = 20\nparallel = 2\n", w->schema);
	world_job(w, extra);
	snprintf(dsn, sizeof(dsn), "host=%s port=%s dbname=%s user=%s", host,
	         port ? port : "5432", db ? db : "sweepd", role);
	free(w->s.dsn);
	w->s.dsn = strdup(dsn);
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1001);
	result_free(&r);
	assert_only_expired_gone(w);
	/* All of it in the run's own session: the second was refused. */
	assert_int_equal(tu_world_sessions(w), 1);
	tu_sql(w->db, "DROP OWNED BY %s; DROP ROLE %s", role, role);
}

static void a_failing_batch_in_parallel_sessions_fails_the_run(void **state)
{
	world *w = *state;
	result r;
	long long open = -1;
	int i;

	world_data(w, 0);
	world_job(w, "where = 1 / (id - id) = 1\nbatch_size = 20\n"
	          "parallel = 3\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_non_null(strstr(r.error, "division by zero"));
	assert_non_null(strstr(r.error, "(session "));
	/* Every row fails alike: after a few the failure is the statement's
	 * (the where), not each row's. */
	assert_contains(r.error, "20 rows failed before it in this run and"
	                " none went, so the failure is taken as the"
	                " statement's");
	assert_int_equal(tu_counter(&r, "errors"), 20);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1712);
	/* Every session was closed: none is left in the server once the
	 * backends had time to exit (they do so after the client left). */
	for (i = 0; i < 50; i++) {
		open = tu_sql_int(w->db, "SELECT count(*) FROM pg_stat_activity"
		                  " WHERE application_name = 'sweepd/%s'", w->job);
		if (open == 0)
			break;
		usleep(100 * 1000);
	}
	assert_int_equal(open, 0);
}

static void a_view_or_a_missing_table_is_refused_with_its_name(void **state)
{
	static const char *const cases[][2] = {
		{"recent", "recent\" is not a plain table (relkind 'v')"},
		{"nowhere", "nowhere\" does not exist (SQLSTATE 42P01)"},
	};
	world *w = *state;
	result r;
	char text[1024];
	size_t i;

	world_data(w, 0);
	tu_sql(w->db, "CREATE VIEW %s.recent AS SELECT * FROM %s.events",
	       w->schema, w->schema);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
		         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
		         "table = %s.%s\ntime_column = created_at\n"
		         "older_than = 30d\n", w->job, w->schema, cases[i][0]);
		tu_world_load(w, text);
		assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
		assert_contains(r.error, cases[i][1]);
		result_free(&r);
	}
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1712);
}

static void a_row_refused_by_a_trigger_fails_alone_within_max_rows(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 0);
	tu_sql(w->db,
	       "CREATE FUNCTION %s.hold() RETURNS trigger LANGUAGE plpgsql"
	       " AS $$ BEGIN IF OLD.id = 10 THEN RAISE EXCEPTION"
	       " 'event %% is on legal hold', OLD.id; END IF; RETURN OLD;"
	       " END $$;"
	       "CREATE TRIGGER hold BEFORE DELETE ON %s.events FOR EACH ROW"
	       " EXECUTE FUNCTION %s.hold()", w->schema, w->schema, w->schema);
	world_job(w, "max_rows = 100\nbatch_size = 30\naudit_columns = id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "1 of 101 rows failed; see errors");
	assert_int_equal(tu_counter(&r, "deleted"), 100);
	assert_int_equal(tu_counter(&r, "audited"), 100);
	assert_int_equal(tu_counter(&r, "errors"), 1);
	assert_int_equal(r.nerrors, 1);
	assert_string_equal(r.errors[0], "row {\"id\": 10}: event 10 is on"
	                    " legal hold (SQLSTATE P0001)");
	result_free(&r);
	/* The 100 oldest deletable rows went, 10 stayed, max_rows held. */
	assert_int_equal(rows_between(w, 1, 101), 1);
	assert_int_equal(rows_between(w, 10, 10), 1);
	assert_int_equal(rows_between(w, 102, 1712), 1611);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND (data->>'id')::int"
	                            " BETWEEN 1 AND 101 AND data->>'id' <> '10'",
	                            w->job), 100);
}

/* Batch size of the layout tests below, and the most rows one of their
 * batches may change: about twice that. */
#define LAYOUT_BATCH 1000
#define LAYOUT_MOST (2 * LAYOUT_BATCH)

/* Creates schema.events of n rows, with autovacuum off so that the heap
 * stays as laid out: row g expired (45 days old) when the SQL condition
 * old over g holds, else young (10 days), inserted in the order of g, or
 * in random order with shuffle. */
static void layout_table(world *w, int n, const char *old, int shuffle)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.events (id bigint PRIMARY KEY, created_at"
	       " timestamptz, kind text NOT NULL, email text NOT NULL)"
	       " WITH (autovacuum_enabled = false);"
	       "INSERT INTO %s.events SELECT g, CASE WHEN %s"
	       " THEN now() - interval '45 days'"
	       " ELSE now() - interval '10 days' END, 'x',"
	       " 'user' || g || '@example.com'"
	       " FROM generate_series(1, %d) g ORDER BY %s",
	       w->schema, w->schema, old, n, shuffle ? "random()" : "g");
}

/* The layout of a run interrupted after deleting part of the expired
 * rows: 60,000 rows, the first 45,000 expired, of which the first 30,000
 * are deleted and not vacuumed (their dead tuples fill the heap's first
 * half). */
static void layout_interrupted(world *w)
{
	layout_table(w, 60000, "g <= 45000", 0);
	tu_sql(w->db, "DELETE FROM %s.events WHERE id <= 30000", w->schema);
}

/* Expired rows left in schema.events. */
static long long expired_left(world *w)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.events WHERE"
	                  " created_at < now() - interval '30 days'",
	                  w->schema);
}

/* Loads a job over schema.events with batch_size LAYOUT_BATCH and the
 * extra [params] lines, runs it, and checks that the run went and deleted
 * want rows, none of its batches more than LAYOUT_MOST.  r is the caller's
 * to free. */
static void layout_run(world *w, const char *extra, long long want,
                       result *r)
{
	char text[512];

	snprintf(text, sizeof(text), "batch_size = %d\n%s", LAYOUT_BATCH,
	         extra);
	world_job(w, text);
	assert_int_equal(tu_world_run_count(w, false, r, "deleted"), want);
	if (r->largest_batch_rows > LAYOUT_MOST)
		fail_msg("a batch deleted %lld rows, more than %d (batch_size"
		         " %d; %lld batches)", (long long)r->largest_batch_rows,
		         LAYOUT_MOST, LAYOUT_BATCH, (long long)r->batches);
	assert_true(r->largest_batch_rows > 0);
}

static void batches_stay_short_after_an_interrupted_run(void **state)
{
	world *w = *state;
	result r;

	layout_interrupted(w);
	layout_run(w, "", 15000, &r);
	result_free(&r);
	assert_int_equal(expired_left(w), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 15000);
}

/* Expired rows only at the two ends of the heap, the pages between them
 * emptied by a VACUUM. */
static void layout_two_ends(world *w)
{
	layout_table(w, 60000, "true", 0);
	tu_sql(w->db, "DELETE FROM %s.events WHERE id BETWEEN 5001 AND 55000",
	       w->schema);
	tu_sql(w->db, "VACUUM %s.events", w->schema);
}

static void batches_stay_short_across_a_long_empty_stretch(void **state)
{
	world *w = *state;
	result r;

	layout_two_ends(w);
	layout_run(w, "", 10000, &r);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 0);
}

static void batches_stay_short_on_a_shuffled_heap(void **state)
{
	world *w = *state;
	result r;

	layout_table(w, 40000, "g % 2 = 0", 1);
	layout_run(w, "audit_columns = id\n", 20000, &r);
	assert_int_equal(tu_counter(&r, "audited"), 20000);
	result_free(&r);
	assert_int_equal(expired_left(w), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 20000);
}

static void batches_stay_short_under_max_rows(void **state)
{
	world *w = *state;
	result r;

	layout_interrupted(w);
	layout_run(w, "max_rows = 12000\n", 12000, &r);
	result_free(&r);
	assert_int_equal(expired_left(w), 15000 - 12000);
}

static void batches_stay_short_in_parallel_sessions(void **state)
{
	world *w = *state;
	result r;

	layout_interrupted(w);
	layout_run(w, "parallel = 2\naudit_columns = id\n", 15000, &r);
	assert_int_equal(tu_counter(&r, "audited"), 15000);
	result_free(&r);
	assert_int_equal(expired_left(w), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT data->>'id')"
	                            " FROM sweepd.audit WHERE job = '%s'",
	                            w->job), 15000);
}

/* A row refused past a long empty stretch fails alone, and taking its
 * batch apart makes no batch larger. */
static void a_row_failing_past_an_empty_stretch_fails_alone(void **state)
{
	world *w = *state;
	result r;
	char text[512];

	layout_two_ends(w);
	tu_sql(w->db,
	       "CREATE FUNCTION %s.hold() RETURNS trigger LANGUAGE plpgsql"
	       " AS $$ BEGIN IF OLD.id = 57000 THEN RAISE EXCEPTION"
	       " 'event %% is on legal hold', OLD.id; END IF; RETURN OLD;"
	       " END $$;"
	       "CREATE TRIGGER hold BEFORE DELETE ON %s.events FOR EACH ROW"
	       " EXECUTE FUNCTION %s.hold()", w->schema, w->schema, w->schema);
	snprintf(text, sizeof(text), "batch_size = %d\n", LAYOUT_BATCH);
	world_job(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "1 of 10000 rows failed; see errors");
	assert_int_equal(tu_counter(&r, "deleted"), 9999);
	assert_int_equal(r.nerrors, 1);
	assert_string_equal(r.errors[0], "row {\"id\": 57000}: event 57000 is"
	                    " on legal hold (SQLSTATE P0001)");
	assert_true(r.largest_batch_rows <= LAYOUT_MOST);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(deletes_exactly_the_expired_matching_rows),
		T(deletes_rows_scattered_over_every_page),
		T(audit_rows_equal_deleted_rows),
		T(max_rows_caps_one_run),
		T(dry_run_counts_samples_and_changes_nothing),
		T(quotes_and_spaces_in_names_are_safe),
		T(a_failing_batch_fails_the_run_and_keeps_the_data),
		T(parallel_sessions_delete_exactly_the_expired_rows),
		T(parallel_with_max_rows_uses_one_session),
		T(parallel_out_of_range_is_refused),
		T(parallel_goes_on_when_sessions_cannot_connect),
		T(a_failing_batch_in_parallel_sessions_fails_the_run),
		T(a_view_or_a_missing_table_is_refused_with_its_name),
		T(a_row_refused_by_a_trigger_fails_alone_within_max_rows),
		T(batches_stay_short_after_an_interrupted_run),
		T(batches_stay_short_across_a_long_empty_stretch),
		T(batches_stay_short_on_a_shuffled_heap),
		T(batches_stay_short_under_max_rows),
		T(batches_stay_short_in_parallel_sessions),
		T(a_row_failing_past_an_empty_stretch_fails_alone),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
