/* anonymize against the real PostgreSQL: the real plugin .so, loaded by
 * the real loader and run by the host's runner, as sweepd --run does (and
 * once through the real binary). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "loader.h"
#include "result.h"
#include "runner.h"
#include "settings.h"
#include "testworld.h"

/* The changes most tests ask for: two columns to NULL, a text and an
 * integer column to fixed values, three keys out of a jsonb column. */
#define CHANGES                                                            \
	"set_null = user_id, ip\n"                                         \
	"set = display_name = [Deleted User], karma = 0\n"                 \
	"json_column = meta\njson_strip_keys = email, name, phone\n"

/* What an anonymized row of world_data looks like, as a SQL condition on
 * the alias e. */
#define ANONYMIZED                                                         \
	"e.user_id IS NULL AND e.ip IS NULL AND e.display_name ="          \
	" '[Deleted User]' AND e.karma = 0 AND e.meta = jsonb_build_object(" \
	"'n', e.id, 'profile', '{\"city\": \"Oslo\"}'::jsonb, 'list',"      \
	" '[{}, 1, [{}]]'::jsonb)"

/* One test's world: a schema with a logs table, a conf dir with one job
 * over it, and the loaded configuration. */
typedef tu_world world;

/* Creates schema.logs with, by id: 1-1000 old rows matching the
 * condition (kind 'x'), 1001-1300 old rows not matching (kind 'y'),
 * 1301-1700 young rows, 1701-1710 rows with a NULL time, 1711 just older
 * than the cutoff, 1712 just younger.  Each row has personal data in
 * user_id, ip, display_name, karma and in meta at several depths.  With
 * shuffle the rows are inserted in random order, so that rows to change
 * sit on every page. */
static void world_data(world *w, int shuffle)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.logs (id bigint PRIMARY KEY, created_at"
	       " timestamptz, kind text NOT NULL, user_id bigint, ip text,"
	       " display_name text, karma int, meta jsonb);"
	       "INSERT INTO %s.logs SELECT g, CASE"
	       "  WHEN g <= 1300 THEN now() - interval '400 days'"
	       "  WHEN g <= 1700 THEN now() - interval '10 days'"
	       "  WHEN g <= 1710 THEN NULL"
	       "  WHEN g = 1711 THEN now() - interval '365 days' - interval '1 minute'"
	       "  ELSE now() - interval '365 days' + interval '1 minute' END,"
	       " CASE WHEN g BETWEEN 1001 AND 1300 THEN 'y' ELSE 'x' END,"
	       " g, '10.0.' || g, 'user ' || g, g,"
	       " jsonb_build_object('email', 'u' || g || '@example.com',"
	       "  'n', g, 'profile', jsonb_build_object('name', 'U' || g,"
	       "  'city', 'Oslo', 'phone', '555'), 'list', jsonb_build_array("
	       "  jsonb_build_object('email', 'x', 'emails', 2), 1,"
	       "  jsonb_build_array(jsonb_build_object('phone', g))))"
	       " FROM generate_series(1, 1712) g ORDER BY %s",
	       w->schema, w->schema, shuffle ? "random()" : "g");
}

/* Loads a job over schema.table with the given extra [params] lines. */
static void world_job_on(world *w, const char *table, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\n\n[params]\n"
	         "table = %s.%s\ntime_column = created_at\n"
	         "older_than = 365d\n%s", w->job, w->schema, table, extra);
	tu_world_load(w, text);
}

/* Loads a job over schema.logs with the given extra [params] lines. */
static void world_job(world *w, const char *extra)
{
	world_job_on(w, "logs", extra);
}

static int world_setup(void **state)
{
	*state = tu_world_new("anon");
	return 0;
}

static int world_teardown(void **state)
{
	unsetenv("PGOPTIONS"); /* set by some tests for the run's session */
	tu_world_free(*state);
	return 0;
}

/* Runs the job, which must fail in init, and checks the error names
 * what is wrong. */
static void assert_init_refuses(world *w, const char *why)
{
	result r;

	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_contains(r.error, "init: ");
	assert_contains(r.error, why);
	result_free(&r);
}

/* md5 of the rows of schema.logs meeting cond (alias e), with their
 * system columns xmin and ctid when sys: equal before and after means
 * not even rewritten. */
static char *logs_md5(world *w, const char *cond, int sys)
{
	return tu_sql_text(w->db, "SELECT coalesce(md5(string_agg(e::text%s,"
	                   " ',' ORDER BY id)), 'none') FROM %s.logs e"
	                   " WHERE %s", sys ? " || e.xmin || e.ctid" : "",
	                   w->schema, cond);
}

/* Rows of logs meeting cond (alias e). */
static long long logs_count(world *w, const char *cond)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.logs e WHERE %s",
	                  w->schema, cond);
}

/* The rows world_data makes that a job with where = kind = 'x' changes. */
#define DUE "(e.id <= 1000 OR e.id = 1711)"

static void anonymizes_exactly_the_old_matching_rows(void **state)
{
	world *w = *state;
	char *kept_before, *kept_after;
	result r;

	world_data(w, 1);
	world_job(w, CHANGES "where = kind = 'x'\nbatch_size = 100\n");
	kept_before = logs_md5(w, "NOT " DUE, 1);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 1001);
	assert_true(r.batches > 1);
	assert_contains(r.message, "anonymized 1001 rows of ");
	result_free(&r);
	/* Every due row lost all its personal data, and kept the rest. */
	assert_int_equal(logs_count(w, DUE " AND " ANONYMIZED), 1001);
	assert_int_equal(logs_count(w, DUE " AND e.kind = 'x' AND"
	                            " e.created_at IS NOT NULL"), 1001);
	/* Old rows not matching, young rows, NULL times and the row just
	 * younger than the cutoff are untouched, not even rewritten. */
	kept_after = logs_md5(w, "NOT " DUE, 1);
	assert_string_equal(kept_before, kept_after);
	assert_int_equal(logs_count(w, "e.user_id = e.id"), 1712 - 1001);
	free(kept_before);
	free(kept_after);
}

static void nulls_only_and_where_absent_take_every_old_row(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 0);
	/* No where: old rows of both kinds; only set_null. */
	world_job(w, "set_null = ip\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 1301);
	result_free(&r);
	assert_int_equal(logs_count(w, "e.ip IS NULL"), 1301);
	assert_int_equal(logs_count(w, "e.ip IS NULL AND (e.id <= 1300 OR"
	                            " e.id = 1711)"), 1301);
	/* Nothing else changed in those rows. */
	assert_int_equal(logs_count(w, "e.user_id = e.id AND e.karma = e.id"
	                            " AND e.meta ? 'email'"), 1712);
}

/* Rows of schema.docs: each meta, and what it must become once the keys
 * email, name, phone, address and a"b c are stripped at any depth. */
static const char *const docs[][2] = {
	/* a key at the top, and one at depth 3 */
	{"{\"email\": 1, \"a\": {\"b\": {\"c\": {\"name\": 2, \"d\": 3}}}}",
	 "{\"a\": {\"b\": {\"c\": {\"d\": 3}}}}"},
	/* objects inside arrays inside arrays */
	{"[{\"x\": [{\"email\": 2, \"y\": 1}]}, [[{\"phone\": 3}]], 4]",
	 "[{\"x\": [{\"y\": 1}]}, [[{}]], 4]"},
	/* a removed key takes its whole value, nested keys with it */
	{"{\"name\": {\"email\": 1, \"keep\": 2}, \"k\": 1}",
	 "{\"k\": 1}"},
	/* the variants of issue 15: case, camelCase, snake and kebab case,
	 * plurals (arrays of values go whole), digits, dots */
	{"{\"Email\": 1, \"userEmail\": 2, \"firstName\": 3, \"phoneNumber\": "
	 "4, \"emails\": [\"a@x\", \"b@x\"], \"EMAIL_ADDRESS\": 5, \"last-name\": "
	 "6, \"HTMLEmail\": 7, \"address2\": 8, \"home.addresses\": [{\"x\": "
	 "1}], \"keep\": 9}",
	 "{\"keep\": 9}"},
	/* a plain entry never matches inside a word */
	{"{\"username\": 1, \"filename\": 2, \"namespace\": 3, \"hostname\": "
	 "4, \"emailer\": 5, \"telephone\": 6, \"e_mail\": 7, \"nam\": 8}",
	 "{\"username\": 1, \"filename\": 2, \"namespace\": 3, \"hostname\": "
	 "4, \"emailer\": 5, \"telephone\": 6, \"e_mail\": 7, \"nam\": 8}"},
	/* a key with a quote and a space, at depth 2 */
	{"{\"o\": {\"a\\\"b c\": 1, \"a\": 2}}",
	 "{\"o\": {\"a\": 2}}"},
	/* values that are not objects, even when they spell a key */
	{"\"email\"",
	 "\"email\""},
	{"42",
	 "42"},
	{"null",
	 "null"},
	{"[]",
	 "[]"},
	{"{}",
	 "{}"},
	{"[\"email\", {\"v\": \"name\"}]",
	 "[\"email\", {\"v\": \"name\"}]"},
	/* every key goes, the object stays */
	{"{\"email\": null, \"phone\": [1, 2]}",
	 "{}"},
	/* array order is kept around the changed element */
	{"[1, {\"email\": 1}, \"2\", [3, {\"name\": 4, \"z\": 5}], true]",
	 "[1, {}, \"2\", [3, {\"z\": 5}], true]"},
	/* a JSON document held in a string is stripped and stays a string */
	{"{\"context\": \"{\\\"email\\\": \\\"a@x\\\", \\\"ok\\\": 1}\", \"n\": "
	 "\"[1, 2]\"}",
	 "{\"context\": \"{\\\"ok\\\": 1}\", \"n\": \"[1, 2]\"}"},
	/* a string in an array in a string */
	{"[\"[{\\\"phone\\\": 1}, \\\"{\\\\\\\"name\\\\\\\": 2}\\\"]\"]",
	 "[\"[{}, \\\"{}\\\"]\"]"},
	/* strings that are not JSON objects or arrays (or that jsonb refuses)
	 * stay as they are, byte for byte */
	{"{\"a\": \"{ \\\"ok\\\" :1 }\", \"b\": \"\\\"email\\\"\", \"c\": \"{\\\"email\\\": "
	 "1,}\", \"d\": \"[S]\", \"e\": \"{email: 1}\", \"f\": \"[\\\"\\\\u0000\\\", "
	 "{\\\"email\\\": 1}]\", \"g\": \"[1e99999, {\\\"email\\\": 1}]\"}",
	 "{\"a\": \"{ \\\"ok\\\" :1 }\", \"b\": \"\\\"email\\\"\", \"c\": \"{\\\"email\\\": "
	 "1,}\", \"d\": \"[S]\", \"e\": \"{email: 1}\", \"f\": \"[\\\"\\\\u0000\\\", "
	 "{\\\"email\\\": 1}]\", \"g\": \"[1e99999, {\\\"email\\\": 1}]\"}"},
};

static void json_keys_go_at_every_depth_and_nothing_else(void **state)
{
	world *w = *state;
	size_t i, n = sizeof(docs) / sizeof(docs[0]);
	long long due = 0;
	char *lit, *want, *kept_before, *kept_after;
	result r;

	tu_sql(w->db, "CREATE TABLE %s.docs (id int PRIMARY KEY, created_at"
	       " timestamptz, meta jsonb, want jsonb, unchanged bool)", w->schema);
	for (i = 0; i < n; i++) {
		lit = PQescapeLiteral(w->db, docs[i][0], strlen(docs[i][0]));
		want = PQescapeLiteral(w->db, docs[i][1], strlen(docs[i][1]));
		assert_non_null(lit);
		assert_non_null(want);
		tu_sql(w->db, "INSERT INTO %s.docs VALUES (%zu, now() - interval"
		       " '2 years', %s, %s)", w->schema, i + 1, lit, want);
		PQfreemem(lit);
		PQfreemem(want);
		if (strcmp(docs[i][0], docs[i][1]) != 0)
			due++;
	}
	/* A NULL document, and a young one holding every key. */
	tu_sql(w->db, "INSERT INTO %s.docs VALUES (100, now() - interval"
	       " '2 years', NULL, NULL), (101, now(), '{\"email\": 1}',"
	       " '{\"email\": 1}')", w->schema);
	/* Documents that hold no key to strip must not even be rewritten. */
	tu_sql(w->db, "UPDATE %s.docs SET unchanged = meta IS NOT DISTINCT FROM"
	       " want", w->schema);
	kept_before = tu_sql_text(w->db, "SELECT string_agg(id || ':' || xmin,"
	                          " ',' ORDER BY id) FROM %s.docs WHERE"
	                          " unchanged", w->schema);
	world_job_on(w, "docs", "json_column = meta\njson_strip_keys ="
	             " email, name, phone, address, a\"b c\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), due);
	result_free(&r);
	for (i = 0; i < n; i++) {
		char *got = tu_sql_text(w->db, "SELECT meta::text || CASE WHEN"
		                        " meta = want THEN '' ELSE ' (want ' ||"
		                        " want::text || ')' END FROM %s.docs"
		                        " WHERE id = %zu", w->schema, i + 1);
		if (strstr(got, "(want "))
			fail_msg("doc %zu: %s became %s", i + 1, docs[i][0], got);
		free(got);
	}
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.docs"
	                            " WHERE meta IS NOT DISTINCT FROM want",
	                            w->schema), n + 2);
	kept_after = tu_sql_text(w->db, "SELECT string_agg(id || ':' || xmin,"
	                         " ',' ORDER BY id) FROM %s.docs WHERE"
	                         " unchanged", w->schema);
	assert_contains(kept_after, "101:");
	assert_string_equal(kept_before, kept_after);
	free(kept_before);
	free(kept_after);
}

/* Runs the job and checks that a dry run and a run count n rows, and a
 * second run none. */
static void assert_changes(world *w, long long n)
{
	result r;

	assert_int_equal(tu_world_run_count(w, true, &r, "would_anonymize"), n);
	result_free(&r);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), n);
	result_free(&r);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 0);
	result_free(&r);
}

static void globs_and_exceptions_ignore_case(void **state)
{
	world *w = *state;

	tu_sql(w->db, "CREATE TABLE %s.docs (id int, created_at timestamptz,"
	       " meta jsonb); INSERT INTO %s.docs VALUES (1, now() - interval"
	       " '2 years', '{\"accessToken\": 1, \"TOKEN\": 2, \"tokens\": 3,"
	       " \"phoneNumber\": 4, \"phone_type\": 5, \"Phone\": 6, \"myphone\":"
	       " 7, \"emailVerified\": true, \"email_verified\": true, \"email\":"
	       " 8, \"a_b1\": 9, \"axb1\": 10, \"o\": {\"phone_type\": {\"phone\":"
	       " 11}}}')", w->schema, w->schema);
	world_job_on(w, "docs", "json_column = meta\njson_strip_keys ="
	             " *token*, phone*, email, a_b*\n"
	             "json_keep_keys = phone_type, emailVerified\n");
	assert_changes(w, 1);
	/* A kept key keeps its place, and is looked into. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.docs WHERE"
	                            " meta = '{\"phone_type\": 5, \"myphone\": 7,"
	                            " \"emailVerified\": true, \"email_verified\":"
	                            " true, \"axb1\": 10, \"o\": {\"phone_type\":"
	                            " {}}}'", w->schema), 1);
}

static void json_in_text_and_json_columns_keeps_its_type(void **state)
{
	world *w = *state;
	char *got;

	/* t: JSON with keys to strip (1, 5 deep in 60 arrays), JSON
	 * without (2, kept byte for byte), text that is not JSON (3, 4), JSON
	 * deeper than the checker goes (6), NULL (7); j the same as json. */
	tu_sql(w->db, "CREATE TABLE %s.docs (id int, created_at timestamptz,"
	       " t text, j json); INSERT INTO %s.docs SELECT id, now() -"
	       " interval '2 years', t, CASE WHEN id IN (1, 2, 5, 6) THEN"
	       " t::json END FROM (VALUES (1, '{\"userEmail\": \"a@x\", \"k\":"
	       " [1, {\"Name\": 2}]}'), (2, '{ \"k\" : 1 }'), (3, 'call me'),"
	       " (4, '{\"email\": 1,}'), (5, repeat('[', 60) || '{\"email\": 1}'"
	       " || repeat(']', 60)), (6, repeat('[', 70) || '{\"email\": 1}' ||"
	       " repeat(']', 70)), (7, NULL)) v(id, t)", w->schema, w->schema);
	world_job_on(w, "docs", "json_column = t\n"
	             "json_strip_keys = email, name\n");
	assert_changes(w, 2);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.docs WHERE"
	                            " (id = 1 AND t = '{\"k\": [1, {}]}') OR (id"
	                            " = 5 AND t = repeat('[', 60) || '{}' ||"
	                            " repeat(']', 60)) OR (id IN (2, 3, 4, 6, 7)"
	                            " AND t IS NOT DISTINCT FROM coalesce(j::text,"
	                            " CASE id WHEN 3 THEN 'call me' WHEN 4 THEN"
	                            " '{\"email\": 1,}' END))", w->schema), 7);
	/* In a json column, 6 is JSON however deep: it loses its key. */
	world_job_on(w, "docs", "json_column = j\n"
	             "json_strip_keys = email, name\n");
	assert_changes(w, 3);
	got = tu_sql_text(w->db, "SELECT string_agg(id::text, ',' ORDER BY id)"
	                  " FROM %s.docs WHERE j::text = t", w->schema);
	assert_string_equal(got, "1,2,5");
	free(got);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.docs WHERE"
	                            " id = 6 AND j::text = repeat('[', 70) || '{}'"
	                            " || repeat(']', 70)", w->schema), 1);
	got = tu_sql_text(w->db, "SELECT pg_typeof(j)::text || j::text FROM"
	                  " %s.docs WHERE id = 1", w->schema);
	assert_string_equal(got, "json{\"k\": [1, {}]}");
	free(got);
}

/* The checker of JSON held in strings (json_keys.h) against jsonb's own
 * parser: 6000 texts made by mutating JSON documents one to three
 * characters at a time.  The run must not fail (the checker never takes
 * for JSON what jsonb refuses), and every valid document with an "email"
 * at its top must lose it. */
static void the_json_checker_agrees_with_jsonb(void **state)
{
	world *w = *state;
	result r;

	tu_sql(w->db,
	       "CREATE FUNCTION %s.ok(t text) RETURNS boolean LANGUAGE plpgsql"
	       " AS $$ BEGIN RETURN jsonb_typeof(t::jsonb) IN ('object',"
	       " 'array'); EXCEPTION WHEN others THEN RETURN false; END $$;"
	       "CREATE FUNCTION %s.mutate(t text, n int) RETURNS text LANGUAGE"
	       " sql AS $$ SELECT CASE WHEN n = 0 THEN t ELSE %s.mutate(overlay("
	       "t PLACING substr(a, 1 + floor(random() * length(a))::int, (random()"
	       " * 2)::int) FROM 1 + floor(random() * (length(t) + 1))::int FOR"
	       " floor(random() * 2)::int), n - 1) END FROM (SELECT E'{}[]:,\""
	       "\\\\ \\t\\ntfnul0123456789-.eE+SVxu' AS a) x $$;"
	       "SELECT setseed(0.15);"
	       "CREATE TABLE %s.fz AS SELECT g AS id, now() - interval '2 years'"
	       " AS created_at, t AS o, t FROM (SELECT g, %s.mutate((ARRAY["
	       "'{\"email\": \"a@x\", \"a\": [1, -2.5e3, true, false, null]}',"
	       "'{\"email\": {\"b\": \"c\\\"d\\\\e\\u00e9\"}, \"s\": \"\\ud83d\\ude00\"}',"
	       "'{\"email\": 0, \"n\": [[], {}, [0.5E-7]], \"x\": \"\\/\\b\\f\\n\\r\\t\"}',"
	       "'[{\"email\": 1}, \"{\\\"email\\\": 2}\", 3]'])[1 + g %% 4],"
	       " 1 + g %% 3) AS t FROM generate_series(1, 6000) g) s",
	       w->schema, w->schema, w->schema, w->schema, w->schema);
	/* Both kinds are there in numbers. */
	assert_true(tu_sql_int(w->db, "SELECT count(*) FROM %s.fz WHERE"
	                       " %s.ok(o)", w->schema, w->schema) > 1000);
	assert_true(tu_sql_int(w->db, "SELECT count(*) FROM %s.fz WHERE NOT"
	                       " %s.ok(o)", w->schema, w->schema) > 1000);
	world_job_on(w, "fz", "json_column = t\njson_strip_keys = email\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_OK);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.fz WHERE"
	                            " t IS DISTINCT FROM o AND NOT %s.ok(o)",
	                            w->schema, w->schema), 0);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.fz WHERE"
	                            " t = o AND CASE WHEN %s.ok(o) THEN o::jsonb ?"
	                            " 'email' ELSE false END",
	                            w->schema, w->schema), 0);
}

static void a_second_run_changes_and_counts_nothing(void **state)
{
	world *w = *state;
	char *before, *after, *already;
	result r;

	world_data(w, 1);
	/* Rows 1-100 are already anonymized, rows 101-150 only in part. */
	tu_sql(w->db, "UPDATE %s.logs e SET user_id = NULL, ip = NULL,"
	       " display_name = '[Deleted User]', karma = 0, meta = meta -"
	       " 'email' - 'profile' - 'list' || jsonb_build_object('profile',"
	       " '{\"city\": \"Oslo\"}'::jsonb, 'list', '[{}, 1, [{}]]'::jsonb)"
	       " WHERE id <= 100; UPDATE %s.logs SET user_id ="
	       " NULL WHERE id BETWEEN 101 AND 150", w->schema, w->schema);
	world_job(w, CHANGES "where = kind = 'x'\nbatch_size = 100\n"
	          "audit_columns = id\n");
	already = logs_md5(w, "e.id <= 100", 1);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"),
	                 1001 - 100);
	result_free(&r);
	after = logs_md5(w, "e.id <= 100", 1);
	assert_string_equal(already, after);
	free(after);
	assert_int_equal(logs_count(w, DUE " AND " ANONYMIZED), 1001);

	before = logs_md5(w, "true", 1);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 0);
	assert_int_equal(tu_counter(&r, "audited"), 0);
	result_free(&r);
	after = logs_md5(w, "true", 1);
	assert_string_equal(before, after);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 1001 - 100);
	/* And a dry run now finds nothing to do either. */
	assert_int_equal(tu_world_run_count(w, true, &r, "would_anonymize"), 0);
	assert_int_equal(tu_counter(&r, "examined"), 1001);
	assert_int_equal(r.nsamples, 0);
	result_free(&r);
	free(before);
	free(after);
	free(already);
}

static void set_values_take_the_column_types(void **state)
{
	world *w = *state;
	result r;

	tu_sql(w->db, "CREATE TABLE %s.users (id int PRIMARY KEY, created_at"
	       " timestamptz, email varchar(40), karma int, born date, note text,"
	       " active boolean); INSERT INTO %s.users VALUES"
	       " (1, now() - interval '2 years', 'a@x.org', 7, '1990-01-02',"
	       " 'hi', true), (2, now(), 'b@x.org', 8, '1991-01-02', 'yo', true)",
	       w->schema, w->schema);
	world_job_on(w, "users", "set = email = deleted@invalid, karma = -1,"
	             " born = 1970-01-01, note = it's = \"fine\","
	             " active = false\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 1);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.users WHERE"
	                            " id = 1 AND email = 'deleted@invalid' AND"
	                            " karma = -1 AND born = '1970-01-01' AND"
	                            " note = 'it''s = \"fine\"' AND NOT active",
	                            w->schema), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.users WHERE"
	                            " id = 2 AND email = 'b@x.org' AND karma = 8"
	                            " AND note = 'yo' AND active", w->schema), 1);
	/* Typed: the integer compares as an integer, so -1 is -1 and a second
	 * run finds the row done. */
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 0);
	result_free(&r);
}

static void a_value_of_the_wrong_type_fails_and_changes_nothing(void **state)
{
	world *w = *state;
	char *before, *after;
	result r;

	world_data(w, 0);
	world_job(w, "set_null = ip\nset = karma = none\n");
	before = logs_md5(w, "true", 1);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "invalid input syntax for type integer");
	assert_contains(r.error, "none");
	result_free(&r);
	after = logs_md5(w, "true", 1);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void audit_rows_equal_changes_with_values_before(void **state)
{
	world *w = *state;
	result r;

	world_data(w, 1);
	world_job(w, CHANGES "where = kind = 'x'\nbatch_size = 100\n"
	          "audit_columns = id, ip, display_name\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 1001);
	assert_int_equal(tu_counter(&r, "audited"), 1001);
	/* One audit record per changed id and none for a kept one... */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 1001);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT data->>'id')"
	                            " FROM sweepd.audit a JOIN %s.logs e ON"
	                            " e.id = (a.data->>'id')::bigint WHERE"
	                            " a.job = '%s' AND " DUE, w->schema, w->job),
	                 1001);
	/* ... holding the values as they were before the change. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND (action <>"
	                            " 'anonymized' OR table_name <> '%s.logs'"
	                            " OR data->>'ip' IS DISTINCT FROM '10.0.' ||"
	                            " (data->>'id') OR data->>'display_name'"
	                            " IS DISTINCT FROM 'user ' || (data->>'id')"
	                            " OR run_id <> %lld)", w->job, w->schema,
	                            (long long)r.run_id), 0);
	result_free(&r);
	assert_int_equal(logs_count(w, DUE " AND " ANONYMIZED), 1001);
}

static void dry_run_counts_samples_and_changes_nothing(void **state)
{
	world *w = *state;
	char *before, *after;
	result r;

	world_data(w, 0);
	tu_sql(w->db, "UPDATE %s.logs e SET user_id = NULL, ip = NULL,"
	       " display_name = '[Deleted User]', karma = 0, meta = meta -"
	       " 'email' - 'profile' - 'list' || jsonb_build_object('profile',"
	       " '{\"city\": \"Oslo\"}'::jsonb, 'list', '[{}, 1, [{}]]'::jsonb)"
	       " WHERE id <= 10", w->schema);
	world_job(w, CHANGES "where = kind = 'x'\naudit_columns = id, ip\n");
	before = logs_md5(w, "true", 1);
	assert_int_equal(tu_world_run_count(w, true, &r, "would_anonymize"),
	                 1001 - 10);
	assert_int_equal(tu_counter(&r, "examined"), 1001);
	assert_int_equal(r.nsamples, 5);
	assert_contains(r.samples[0], "\"ip\": \"10.0.");
	assert_contains(r.message, "would anonymize 991 of the 1001 rows");
	result_free(&r);
	after = logs_md5(w, "true", 1);
	assert_string_equal(before, after);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 0);
	free(before);
	free(after);
}

static void quotes_and_spaces_in_names_are_safe(void **state)
{
	world *w = *state;
	char text[1024];
	result r;

	tu_sql(w->db, "CREATE TABLE %s.\"odd\"\"name\" (\"made at\" timestamptz,"
	       " \"user \"\"id\" int, \"display name\" text, \"meta data\" jsonb,"
	       " n int); INSERT INTO %s.\"odd\"\"name\" VALUES"
	       " (now() - interval '2 days', 1, 'A', '{\"x\": {\"e mail\": 1}}',"
	       " 1), (now(), 2, 'B', '{\"e mail\": 2}', 2)", w->schema,
	       w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\n[params]\n"
	         "table = %s.odd\"name\ntime_column = made at\n"
	         "older_than = 1d\nset_null = user \"id\n"
	         "set = display name = gone\njson_column = meta data\n"
	         "json_strip_keys = e mail\naudit_columns = n, made at\n",
	         w->job, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run_count(w, true, &r, "would_anonymize"), 1);
	result_free(&r);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 1);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.\"odd\"\"name\" WHERE n = 1 AND"
	                            " \"user \"\"id\" IS NULL AND \"display"
	                            " name\" = 'gone' AND \"meta data\" ="
	                            " '{\"x\": {}}'", w->schema), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM"
	                            " %s.\"odd\"\"name\" WHERE n = 2 AND"
	                            " \"user \"\"id\" = 2 AND \"display"
	                            " name\" = 'B'", w->schema), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND data->>'n' = '1' AND"
	                            " data ? 'made at' AND table_name ="
	                            " '%s.odd\"name'", w->job, w->schema), 1);
}

static void the_cutoff_instant_itself_is_kept(void **state)
{
	world *w = *state;
	char opts[256], text[512], *expect, *cutoff;
	result r;

	/* Pins now() for the run's session: a now() in this schema, first on
	 * its search_path (libpq reads PGOPTIONS), reads a fixed instant, so
	 * the cutoff is known to the microsecond.  Rows 1 microsecond before,
	 * at and 1 microsecond after it, and one with a NULL time. */
	tu_sql(w->db, "CREATE TABLE %s.clock (t timestamptz);"
	       "INSERT INTO %s.clock VALUES (now());"
	       "CREATE FUNCTION %s.now() RETURNS timestamptz LANGUAGE sql"
	       " STABLE AS 'SELECT t FROM %s.clock';"
	       "CREATE TABLE %s.t (id int, created_at timestamptz, who text);"
	       "INSERT INTO %s.t SELECT 1, t - interval '24 hours' - interval"
	       " '1 microsecond', 'a' FROM %s.clock UNION ALL SELECT 2, t -"
	       " interval '24 hours', 'b' FROM %s.clock UNION ALL SELECT 3, t -"
	       " interval '24 hours' + interval '1 microsecond', 'c' FROM"
	       " %s.clock UNION ALL SELECT 4, NULL, 'd'", w->schema, w->schema,
	       w->schema, w->schema, w->schema, w->schema, w->schema,
	       w->schema, w->schema);
	cutoff = tu_sql_text(w->db, "SELECT t - interval '24 hours' FROM"
	                     " %s.clock", w->schema);
	snprintf(opts, sizeof(opts), "-c search_path=%s,pg_catalog", w->schema);
	assert_int_equal(setenv("PGOPTIONS", opts, 1), 0);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\n[params]\n"
	         "table = %s.t\ntime_column = created_at\n"
	         "older_than = 24h\nset_null = who\n", w->job, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run_count(w, true, &r, "would_anonymize"), 1);
	result_free(&r);
	assert_int_equal(tu_world_run_count(w, false, &r, "anonymized"), 1);
	unsetenv("PGOPTIONS");
	expect = malloc(strlen(cutoff) + 16);
	assert_non_null(expect);
	sprintf(expect, "older than %s", cutoff);
	assert_contains(r.message, expect);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.t WHERE"
	                            " who IS NULL", w->schema), 1);
	assert_int_equal(tu_sql_int(w->db, "SELECT id FROM %s.t WHERE who IS"
	                            " NULL", w->schema), 1);
	free(expect);
	free(cutoff);
}

static void where_with_a_semicolon_is_refused_at_load(void **state)
{
	world *w = *state;
	char text[512], *expect, *got;

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\n[params]\n"
	         "table = %s.logs\ntime_column = created_at\n"
	         "older_than = 1d\nset_null = ip\n"
	         "where = true; DROP TABLE %s.logs\n", w->job, w->schema,
	         w->schema);
	tu_world_load_diag(w, text);
	assert_int_equal(w->d.count, 1);
	got = diag_format(&w->d.items[0]);
	expect = tu_path(w->dir, "job.ini:9: where (sql-condition): condition"
	                 " contains ';'");
	assert_contains(got, expect);
	assert_null(jobs_find(w->js, w->job)->params);
	free(got);
	free(expect);
}

static void jobs_that_cannot_work_are_refused_in_init(void **state)
{
	world *w = *state;

	world_data(w, 0);
	world_job(w, "where = kind = 'x'\n");
	assert_init_refuses(w, "nothing to anonymize");
	world_job(w, "json_strip_keys = email\n");
	assert_init_refuses(w, "json_strip_keys needs json_column");
	world_job(w, "json_column = meta\nset_null = ip\n");
	assert_init_refuses(w, "json_column needs json_strip_keys");
	world_job(w, "set = display_name [Deleted User]\n");
	assert_init_refuses(w, "set: 'display_name [Deleted User]' is not a"
	                    " pair 'column = value'");
	world_job(w, "set = karma = 0, = x\n");
	assert_init_refuses(w, "set: '= x' names no column");
	world_job(w, "set_null = ip\nset = ip = 0.0.0.0\n");
	assert_init_refuses(w, "set: column 'ip' is named twice");
	world_job(w, "set_null = ip, user_id, ip\n");
	assert_init_refuses(w, "set_null: column 'ip' is named twice");
	world_job(w, "json_column = karma\njson_strip_keys = email\n");
	assert_init_refuses(w, "json_column 'karma' is of type integer:"
	                    " it must be jsonb, json or text");
	world_job(w, "set_null = ip\njson_keep_keys = fileName\n");
	assert_init_refuses(w, "json_keep_keys needs json_strip_keys");
	world_job(w, "json_column = metadata\njson_strip_keys = email\n");
	assert_init_refuses(w, "json_column 'metadata'");
	/* Nothing ran. */
	assert_int_equal(logs_count(w, "e.ip IS NULL"), 0);
}

static void lock_timeout_applies_to_each_batch(void **state)
{
	world *w = *state;
	PGconn *locker = tu_db();
	struct timespec t0, t1;
	long ms;
	result r;

	world_data(w, 0);
	/* One due row is locked.  A lock_timeout of 10 s on the session
	 * keeps the test from hanging should the job's own be ignored. */
	tu_sql(locker, "BEGIN; SELECT * FROM %s.logs WHERE id = 5 FOR UPDATE",
	       w->schema);
	assert_int_equal(setenv("PGOPTIONS", "-c lock_timeout=10s", 1), 0);
	world_job(w, "set_null = ip\nlock_timeout = 100ms\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsetenv("PGOPTIONS");
	ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_contains(r.error, "batch 1");
	assert_contains(r.error, "lock timeout");
	if (ms > 5000)
		fail_msg("the run waited %ld ms for the lock", ms);
	result_free(&r);
	tu_sql(locker, "ROLLBACK");
	PQfinish(locker);
	assert_int_equal(logs_count(w, "e.ip IS NULL"), 0);
}

static void the_binary_runs_and_dry_runs_the_job(void **state)
{
	world *w = *state;
	char *out, *err;

	world_data(w, 0);
	world_job(w, CHANGES "where = kind = 'x'\n");
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --dry-run %s", w->dir, w->job), 0);
	assert_contains(out, "\"counters\":{\"examined\":1001,"
	                "\"would_anonymize\":1001}");
	free(out);
	free(err);
	assert_int_equal(logs_count(w, "e.ip IS NULL"), 0);
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --json"
	                        " --run %s", w->dir, w->job), 0);
	assert_contains(out, "\"counters\":{\"anonymized\":1001}");
	free(out);
	free(err);
	assert_int_equal(logs_count(w, DUE " AND " ANONYMIZED), 1001);
}

/* Issue 15, point 3: a row whose UPDATE breaks a check constraint fails
 * alone; the other rows are anonymized with their audit records. */
static void a_row_failing_a_check_is_left_and_listed_alone(void **state)
{
	world *w = *state;
	result r;
	int i, first7;

	world_data(w, 1);
	tu_sql(w->db, "ALTER TABLE %s.logs ADD CONSTRAINT keep_ip CHECK (ip IS"
	       " NOT NULL OR id NOT IN (7, 500))", w->schema);
	world_job(w, "set_null = ip\nwhere = kind = 'x'\nbatch_size = 100\n"
	          "audit_columns = id\n");
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "2 of 1001 rows failed; see errors");
	assert_int_equal(tu_counter(&r, "anonymized"), 999);
	assert_int_equal(tu_counter(&r, "audited"), 999);
	assert_int_equal(tu_counter(&r, "errors"), 2);
	assert_int_equal(r.nerrors, 2);
	for (i = 0; i < 2; i++)
		assert_contains(r.errors[i], "new row for relation \"logs\""
		                " violates check constraint \"keep_ip\""
		                " (SQLSTATE 23514)");
	/* Each names its row by primary key, in heap order. */
	first7 = strncmp(r.errors[0], "row {\"id\": 7}: ", 15) == 0;
	assert_contains(r.errors[first7 ? 0 : 1], "row {\"id\": 7}: ");
	assert_contains(r.errors[first7 ? 1 : 0], "row {\"id\": 500}: ");
	result_free(&r);
	assert_int_equal(logs_count(w, DUE " AND ip IS NULL"), 999);
	assert_int_equal(logs_count(w, "e.id IN (7, 500) AND e.ip = '10.0.' ||"
	                            " e.id"), 2);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND data->>'id' NOT IN"
	                            " ('7', '500')", w->job), 999);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s'", w->job), 999);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(anonymizes_exactly_the_old_matching_rows),
		T(nulls_only_and_where_absent_take_every_old_row),
		T(json_keys_go_at_every_depth_and_nothing_else),
		T(globs_and_exceptions_ignore_case),
		T(json_in_text_and_json_columns_keeps_its_type),
		T(the_json_checker_agrees_with_jsonb),
		T(a_second_run_changes_and_counts_nothing),
		T(set_values_take_the_column_types),
		T(a_value_of_the_wrong_type_fails_and_changes_nothing),
		T(audit_rows_equal_changes_with_values_before),
		T(dry_run_counts_samples_and_changes_nothing),
		T(quotes_and_spaces_in_names_are_safe),
		T(the_cutoff_instant_itself_is_kept),
		T(where_with_a_semicolon_is_refused_at_load),
		T(jobs_that_cannot_work_are_refused_in_init),
		T(lock_timeout_applies_to_each_batch),
		T(the_binary_runs_and_dry_runs_the_job),
		T(a_row_failing_a_check_is_left_and_listed_alone),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
