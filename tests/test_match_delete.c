/* match_delete against the real PostgreSQL: the real plugin .so, loaded by
 * the real loader and run by the host's runner, as sweepd --run does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "loader.h"
#include "result.h"
#include "runner.h"
#include "settings.h"
#include "testworld.h"

/* One test's world: a schema with users and pending_users (seed 001), a
 * conf dir with one job, and the loaded configuration. */
typedef tu_world world;

/* Creates schema.users and schema.pending_users, the pending rows in
 * random order so that matches sit on every page:
 *   1..600     e-mail of a user, same case          (exists)
 *   601..800   e-mail of a user, other case         (exists ignoring case)
 *   801..1200  e-mail of no user                    (missing)
 *   1201..1210 NULL e-mail                          (never deleted)
 *   1211       e-mail of a user whose own is mixed case
 * Users also hold a NULL e-mail, which must match nothing. */
static void world_data(world *w)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.users (id bigint PRIMARY KEY, email text);"
	       "INSERT INTO %s.users SELECT g, 'user' || g || '@example.com'"
	       " FROM generate_series(1, 1000) g;"
	       "INSERT INTO %s.users VALUES (1001, NULL),"
	       " (1002, 'MiXed@Example.com');"
	       "CREATE TABLE %s.pending_users (id bigint PRIMARY KEY,"
	       " email text, note text);"
	       "INSERT INTO %s.pending_users SELECT g, CASE"
	       "  WHEN g <= 600 THEN 'user' || g || '@example.com'"
	       "  WHEN g <= 800 THEN 'User' || g || '@Example.COM'"
	       "  WHEN g <= 1200 THEN 'new' || g || '@example.com'"
	       "  WHEN g <= 1210 THEN NULL"
	       "  ELSE 'mixed@example.com' END, 'pending ' || g"
	       " FROM generate_series(1, 1211) g ORDER BY random()",
	       w->schema, w->schema, w->schema, w->schema, w->schema);
}

/* Loads a job deleting pending_users by their e-mail in users, with the
 * given extra [params] lines. */
static void world_job(world *w, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n\n[params]\n"
	         "table = %s.pending_users\nkey_column = email\n"
	         "ref_table = %s.users\nref_column = email\n"
	         "batch_size = 100\n%s", w->job, w->schema, w->schema, extra);
	tu_world_load(w, text);
}

static int world_setup(void **state)
{
	*state = tu_world_new("md");
	return 0;
}

static int world_teardown(void **state)
{
	tu_world_free(*state);
	return 0;
}

/* Pending rows whose id is in [lo, hi]. */
static long long rows_between(world *w, int lo, int hi)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.pending_users"
	                  " WHERE id BETWEEN %d AND %d", w->schema, lo, hi);
}

/* md5 of the whole contents of schema.table, in id order. */
static char *table_md5(world *w, const char *table)
{
	return tu_sql_text(w->db, "SELECT md5(string_agg(x::text, ',' ORDER"
	                   " BY id)) FROM %s.%s x", w->schema, table);
}

static void exists_mode_deletes_exact_matches_only(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 600);
	assert_true(r.batches > 1);
	assert_contains(r.message, "whose email has a match in");
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 600), 0);
	assert_int_equal(rows_between(w, 601, 800), 200);   /* other case */
	assert_int_equal(rows_between(w, 801, 1200), 400);  /* no user */
	assert_int_equal(rows_between(w, 1201, 1210), 10);  /* NULL e-mail */
	assert_int_equal(rows_between(w, 1211, 1211), 1);   /* other case */
	/* The reference table is left alone. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.users",
	                            w->schema), 1002);
}

static void ignore_case_matches_mixed_case_emails(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "mode = exists\nignore_case = true\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 801);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 800), 0);
	assert_int_equal(rows_between(w, 801, 1200), 400);
	assert_int_equal(rows_between(w, 1201, 1210), 10);
	assert_int_equal(rows_between(w, 1211, 1211), 0);
}

static void missing_mode_deletes_orphans_and_keeps_null_keys(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "mode = missing\nignore_case = true\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 400);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 800), 800);
	assert_int_equal(rows_between(w, 801, 1200), 0);
	assert_int_equal(rows_between(w, 1201, 1210), 10);
	assert_int_equal(rows_between(w, 1211, 1211), 1);
}

static void missing_mode_is_case_sensitive_by_default(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "mode = missing\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 601);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 600), 600);
	assert_int_equal(rows_between(w, 601, 1200), 0);
	assert_int_equal(rows_between(w, 1201, 1210), 10);
	assert_int_equal(rows_between(w, 1211, 1211), 0);
}

static void where_narrows_the_rows(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "ignore_case = true\nwhere = t.id % 2 = 0 AND note"
	          " LIKE 'pending %'\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 400);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.pending_users WHERE id <= 800 AND"
	                            " id %% 2 = 0", w->schema), 0);
	assert_int_equal(rows_between(w, 1, 800), 400);
	assert_int_equal(rows_between(w, 801, 1211), 411);
}

static void audit_rows_equal_deleted_rows(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "ignore_case = true\naudit_columns = id, email\n");
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 801);
	assert_int_equal(tu_counter(&r, "audited"), 801);
	/* One audit record per deleted id, none for a kept one, each with
	 * the deleted row's e-mail, this run and the table as written. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT"
	                            " (data->>'id')) FROM sweepd.audit WHERE"
	                            " job = '%s'", w->job), 801);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " a JOIN %s.pending_users p ON p.id ="
	                            " (a.data->>'id')::bigint WHERE a.job ="
	                            " '%s'", w->schema, w->job), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND (action <> 'deleted'"
	                            " OR table_name <> '%s.pending_users'"
	                            " OR lower(data->>'email') <> 'user' ||"
	                            " (data->>'id') || '@example.com' AND"
	                            " data->>'id' <> '1211' OR run_id <> %lld)",
	                            w->job, w->schema, (long long)r.run_id), 0);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 800), 0);
	assert_int_equal(rows_between(w, 801, 1211), 410);
}

static void dry_run_counts_samples_and_changes_nothing(void **state)
{
	world *w = *state;
	result r;
	char *before, *refs, *after, *first;

	world_data(w);
	world_job(w, "ignore_case = true\n");
	before = table_md5(w, "pending_users");
	refs = table_md5(w, "users");
	tu_world_run_ok(w, true, &r);
	assert_int_equal(tu_counter(&r, "would_delete"), 801);
	assert_int_equal(tu_counter(&r, "examined"), 1211);
	assert_int_equal(r.nsamples, 5);
	/* The sample is the key column of the first rows that would go, in
	 * key order. */
	first = tu_sql_text(w->db, "SELECT min(email) FROM %s.pending_users"
	                    " WHERE id <= 800 OR id = 1211", w->schema);
	assert_string_equal(r.samples[0], first);
	assert_contains(r.message, "would delete 801 of 1211 rows");
	result_free(&r);
	after = table_md5(w, "pending_users");
	assert_string_equal(before, after);
	free(after);
	after = table_md5(w, "users");
	assert_string_equal(refs, after);
	free(first);
	free(before);
	free(refs);
	free(after);
}

static void quotes_and_spaces_in_names_are_safe(void **state)
{
	world *w = *state;
	result r;
	char text[1024];

	tu_sql(w->db, "CREATE TABLE %s.\"odd\"\"name\" (id int PRIMARY KEY,"
	       " \"e mail\" text);"
	       "CREATE TABLE %s.\"ref table\" (\"the \"\"key\"\"\" text);"
	       "INSERT INTO %s.\"odd\"\"name\" VALUES (1, 'a'), (2, 'b'),"
	       " (3, NULL), (4, 'A');"
	       "INSERT INTO %s.\"ref table\" VALUES ('a'), (NULL)",
	       w->schema, w->schema, w->schema, w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n[params]\n"
	         "table = %s.odd\"name\nkey_column = e mail\n"
	         "ref_table = %s.\"ref table\"\nref_column = the \"key\"\n"
	         "audit_columns = id, e mail\n", w->job, w->schema,
	         w->schema);
	tu_world_load(w, text);
	tu_world_run_ok(w, true, &r);
	assert_int_equal(tu_counter(&r, "would_delete"), 1);
	assert_int_equal(r.nsamples, 1);
	assert_string_equal(r.samples[0], "{\"id\": 1, \"e mail\": \"a\"}");
	result_free(&r);
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT sum(id) FROM"
	                            " %s.\"odd\"\"name\"", w->schema), 9);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND data ="
	                            " '{\"id\": 1, \"e mail\": \"a\"}'",
	                            w->job), 1);
}

static void ref_table_may_be_the_table_itself(void **state)
{
	world *w = *state;
	result r;
	char text[1024];

	/* A tree: 1 and 2 are roots (NULL parent), 3..6 have a parent,
	 * 7 and 8 lost theirs (90, 91 are gone). */
	tu_sql(w->db, "CREATE TABLE %s.nodes (id int PRIMARY KEY, parent int);"
	       "INSERT INTO %s.nodes VALUES (1, NULL), (2, NULL), (3, 1),"
	       " (4, 1), (5, 2), (6, 3), (7, 90), (8, 91)", w->schema,
	       w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n[params]\n"
	         "table = %s.nodes\nkey_column = parent\n"
	         "ref_table = %s.nodes\nref_column = id\nmode = missing\n",
	         w->job, w->schema, w->schema);
	tu_world_load(w, text);
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 2);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.nodes"
	                            " WHERE id IN (7, 8)", w->schema), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.nodes",
	                            w->schema), 6);
}

static void an_unknown_mode_is_refused_by_init(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	world_job(w, "mode = sometimes\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_contains(r.error, "mode = 'sometimes': must be exists");
	assert_contains(r.error, "or missing");
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 1211), 1211);
}

static void a_where_with_a_semicolon_is_refused_at_load(void **state)
{
	world *w = *state;
	char text[1024], *s, *expect;

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n\n[params]\n"
	         "table = p\nkey_column = email\nref_table = u\n"
	         "ref_column = email\nwhere = 1 = 1; DROP TABLE u\n", w->job);
	tu_world_load_diag(w, text);
	assert_int_equal(w->d.count, 1);
	s = diag_format(&w->d.items[0]);
	expect = tu_path(w->dir, "job.ini:10: where (sql-condition):"
	                 " condition contains ';'");
	assert_contains(s, expect);
	free(expect);
	free(s);
}

static void a_failing_batch_fails_the_run_with_the_server_message(void **state)
{
	world *w = *state;
	result r;
	char text[1024];

	world_data(w);
	/* A key of type bigint looked up in a text column. */
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n[params]\n"
	         "table = %s.pending_users\nkey_column = id\n"
	         "ref_table = %s.users\nref_column = email\n",
	         w->job, w->schema, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "operator does not exist: text = bigint");
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 1211), 1211);
}

static void missing_mode_in_parallel_sessions_deletes_the_same_rows(void **state)
{
	world *w = *state;
	result r;
	char extra[256];

	world_data(w);
	tu_world_seen(w);
	snprintf(extra, sizeof(extra), "mode = missing\nparallel = 2\n"
	         "where = %s.seen(pg_backend_pid())\n", w->schema);
	world_job(w, extra);
	tu_world_run_ok(w, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 601);
	assert_true(r.batches > 2);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 600), 600);
	assert_int_equal(rows_between(w, 601, 1200), 0);
	assert_int_equal(rows_between(w, 1201, 1210), 10);
	assert_int_equal(rows_between(w, 1211, 1211), 0);
	assert_int_equal(tu_world_sessions(w), 2);
}

/* Makes three due pending rows (with ignore_case) fail their DELETE for
 * their own data: 5 and 700 are referenced by a foreign key of
 * schema.holds, and a trigger refuses 300. */
static void world_holds(world *w)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.holds (pending_id bigint REFERENCES"
	       " %s.pending_users (id));"
	       "INSERT INTO %s.holds VALUES (5), (700);"
	       "CREATE FUNCTION %s.refuse() RETURNS trigger LANGUAGE plpgsql"
	       " AS $$ BEGIN IF OLD.id = 300 THEN RAISE EXCEPTION"
	       " 'pending user %% is under review', OLD.id; END IF;"
	       " RETURN OLD; END $$;"
	       "CREATE TRIGGER refuse BEFORE DELETE ON %s.pending_users"
	       " FOR EACH ROW EXECUTE FUNCTION %s.refuse()",
	       w->schema, w->schema, w->schema, w->schema, w->schema,
	       w->schema);
}

/* Fails the test unless one of r's errors holds both a and b. */
static void assert_error_item(const result *r, const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < r->nerrors; i++)
		if (strstr(r->errors[i], a) && strstr(r->errors[i], b))
			return;
	fail_msg("no error item with \"%s\" and \"%s\" among %zu (first: %s)",
	         a, b, r->nerrors, r->nerrors ? r->errors[0] : "none");
}

/* Runs the job of a world_holds() world and checks that the three rows
 * failed alone: every other due row went with its audit record, the
 * three stayed without one, the errors name each by key with the
 * server's reason, and the run says how many failed. */
static void assert_three_failed_alone(world *w)
{
	result r;

	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_contains(r.error, "3 of 801 rows failed; see errors");
	assert_contains(r.message, "deleted 798 rows");
	assert_int_equal(tu_counter(&r, "deleted"), 798);
	assert_int_equal(tu_counter(&r, "audited"), 798);
	assert_int_equal(tu_counter(&r, "errors"), 3);
	assert_int_equal(r.nerrors, 3);
	assert_error_item(&r, "row {\"id\": 5}: update or delete on table"
	                  " \"pending_users\" violates foreign key constraint",
	                  "(SQLSTATE 23503)");
	assert_error_item(&r, "row {\"id\": 700}: update or delete on table",
	                  "(SQLSTATE 23503)");
	assert_error_item(&r, "row {\"id\": 300}: pending user 300 is under"
	                  " review", "(SQLSTATE P0001)");
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 800), 3);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.pending_users WHERE id IN (5, 300, 700)",
	                            w->schema), 3);
	assert_int_equal(rows_between(w, 801, 1211), 410);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 798);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " a JOIN %s.pending_users p ON p.id ="
	                            " (a.data->>'id')::bigint WHERE a.job ="
	                            " '%s'", w->schema, w->job), 0);
}

static void rows_failing_for_their_data_fail_alone(void **state)
{
	world *w = *state;

	world_data(w);
	world_holds(w);
	world_job(w, "ignore_case = true\naudit_columns = id, email\n");
	assert_three_failed_alone(w);
}

static void rows_failing_for_their_data_fail_alone_in_parallel(void **state)
{
	world *w = *state;
	char extra[256];

	world_data(w);
	world_holds(w);
	tu_world_seen(w);
	snprintf(extra, sizeof(extra), "ignore_case = true\nparallel = 2\n"
	         "audit_columns = id, email\n"
	         "where = %s.seen(pg_backend_pid())\n", w->schema);
	world_job(w, extra);
	assert_three_failed_alone(w);
	assert_int_equal(tu_world_sessions(w), 2);
}

static void a_row_mid_way_in_one_big_batch_fails_alone(void **state)
{
	world *w = *state;
	result r;
	long long mid;
	char text[1024];

	world_data(w);
	/* The due row in the middle of the heap is held by a foreign key;
	 * batch_size covers the whole table in one batch. */
	mid = tu_sql_int(w->db, "SELECT id FROM %s.pending_users WHERE id <="
	                 " 800 ORDER BY ctid OFFSET 400 LIMIT 1", w->schema);
	tu_sql(w->db, "CREATE TABLE %s.holds (pending_id bigint REFERENCES"
	       " %s.pending_users (id)); INSERT INTO %s.holds VALUES (%lld)",
	       w->schema, w->schema, w->schema, mid);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n[params]\n"
	         "table = %s.pending_users\nkey_column = email\n"
	         "ref_table = %s.users\nref_column = email\n"
	         "ignore_case = true\nbatch_size = 100000\n"
	         "audit_columns = id\n", w->job, w->schema, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "1 of 801 rows failed; see errors");
	assert_int_equal(tu_counter(&r, "deleted"), 800);
	assert_int_equal(tu_counter(&r, "audited"), 800);
	assert_int_equal(tu_counter(&r, "errors"), 1);
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "violates foreign key constraint");
	/* Halving the failed batch: a few statements per level, not one per
	 * row. */
	assert_true(r.batches <= 30);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 800), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.pending_users WHERE id = %lld",
	                            w->schema, mid), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 800);
}

static void a_statement_that_fails_for_every_batch_fails_the_run(void **state)
{
	world *w = *state;
	result r;

	world_data(w);
	/* A statement trigger refuses every DELETE: no row is to blame, so
	 * the run fails at once, as before, and names no row. */
	tu_sql(w->db,
	       "CREATE FUNCTION %s.frozen() RETURNS trigger LANGUAGE plpgsql"
	       " AS $$ BEGIN RAISE EXCEPTION 'pending_users is frozen'; END $$;"
	       "CREATE TRIGGER frozen BEFORE DELETE ON %s.pending_users"
	       " FOR EACH STATEMENT EXECUTE FUNCTION %s.frozen()",
	       w->schema, w->schema, w->schema);
	world_job(w, "ignore_case = true\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "pending_users is frozen (SQLSTATE P0001)");
	assert_int_equal(r.nerrors, 0);
	assert_int_equal(r.batches, 0);
	result_free(&r);
	assert_int_equal(rows_between(w, 1, 1211), 1211);
}

static void a_failed_row_without_a_primary_key_is_named_by_ctid(void **state)
{
	world *w = *state;
	result r;
	char text[1024], *tid;

	tu_sql(w->db, "CREATE TABLE %s.codes (code text UNIQUE);"
	       "CREATE TABLE %s.used (code text REFERENCES %s.codes (code));"
	       "CREATE TABLE %s.gone (code text);"
	       "INSERT INTO %s.codes VALUES ('a'), ('b'), ('c');"
	       "INSERT INTO %s.gone VALUES ('a'), ('b'), ('c');"
	       "INSERT INTO %s.used VALUES ('b')", w->schema, w->schema,
	       w->schema, w->schema, w->schema, w->schema, w->schema);
	tid = tu_sql_text(w->db, "SELECT ctid::text FROM %s.codes WHERE code ="
	                  " 'b'", w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = match_delete\n[params]\n"
	         "table = %s.codes\nkey_column = code\n"
	         "ref_table = %s.gone\nref_column = code\n", w->job,
	         w->schema, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "1 of 3 rows failed; see errors");
	assert_int_equal(tu_counter(&r, "deleted"), 2);
	assert_int_equal(r.nerrors, 1);
	snprintf(text, sizeof(text), "row {\"ctid\": \"%s\"}: update or"
	         " delete on table \"codes\" violates foreign key", tid);
	assert_contains(r.errors[0], text);
	result_free(&r);
	free(tid);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.codes",
	                            w->schema), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(exists_mode_deletes_exact_matches_only),
		T(ignore_case_matches_mixed_case_emails),
		T(missing_mode_deletes_orphans_and_keeps_null_keys),
		T(missing_mode_is_case_sensitive_by_default),
		T(where_narrows_the_rows),
		T(audit_rows_equal_deleted_rows),
		T(dry_run_counts_samples_and_changes_nothing),
		T(quotes_and_spaces_in_names_are_safe),
		T(ref_table_may_be_the_table_itself),
		T(an_unknown_mode_is_refused_by_init),
		T(a_where_with_a_semicolon_is_refused_at_load),
		T(a_failing_batch_fails_the_run_with_the_server_message),
		T(missing_mode_in_parallel_sessions_deletes_the_same_rows),
		T(rows_failing_for_their_data_fail_alone),
		T(rows_failing_for_their_data_fail_alone_in_parallel),
		T(a_row_mid_way_in_one_big_batch_fails_alone),
		T(a_statement_that_fails_for_every_batch_fails_the_run),
		T(a_failed_row_without_a_primary_key_is_named_by_ctid),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
