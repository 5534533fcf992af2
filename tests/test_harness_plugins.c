/* The six shipped plugins tested as a third party tests a plugin: through
 * the installed harness only (sweepd/testing.h and libsweepd_testing, no
 * header of the host), each .so loaded by the real loader, run and dry-run
 * by the host's runner and services against the real PostgreSQL.  The
 * per-plugin test files go deeper; this one proves the harness carries
 * every shipped plugin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sweepd/testing.h>

static char schema[64];

/* Runs printf-style SQL on t's session, failing the test on error. */
static void sql(sweep_test *t, const char *fmt, ...) SWEEP_PRINTF(2, 3);

static void sql(sweep_test *t, const char *fmt, ...)
{
	char text[4096], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sweep_test_exec(t, text, &err) != 0)
		fail_msg("%s: %s", text, err);
}

/* The integer a printf-style query returns. */
static int64_t num(sweep_test *t, const char *fmt, ...) SWEEP_PRINTF(2, 3);

static int64_t num(sweep_test *t, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return sweep_test_int(t, text);
}

/* A harness over the shipped plugin name, with a fresh schema. */
static sweep_test *open_plugin(const char *name)
{
	char path[512], *err = NULL;
	sweep_test *t;

	snprintf(path, sizeof(path), "%s/%s.so", SWEEPD_PLUGIN_DIR, name);
	t = sweep_test_open(NULL, path, &err);
	if (t == NULL)
		fail_msg("%s", err);
	snprintf(schema, sizeof(schema), "hp_%ld", (long)getpid());
	sql(t, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
	    schema);
	return t;
}

static void close_plugin(sweep_test *t)
{
	sql(t, "DROP SCHEMA %s CASCADE", schema);
	sweep_test_free(t);
}

/* Sets params (printf-style), failing the test when refused. */
static void params(sweep_test *t, const char *fmt, ...) SWEEP_PRINTF(2, 3);

static void params(sweep_test *t, const char *fmt, ...)
{
	char text[2048], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sweep_test_params(t, text, &err) != 0)
		fail_msg("params refused: %s", err);
}

static void ok(sweep_test *t, int rc)
{
	if (rc != 0)
		fail_msg("run failed: %s", sweep_test_error(t));
}

static void age_delete(void **state)
{
	sweep_test *t = open_plugin("age_delete");

	(void)state;
	sql(t, "CREATE TABLE %s.events (id int PRIMARY KEY, created_at"
	    " timestamptz); INSERT INTO %s.events SELECT i, now() - CASE WHEN"
	    " i <= 10 THEN interval '40 days' ELSE interval '1 day' END FROM"
	    " generate_series(1, 15) i", schema, schema);
	params(t, "table = %s.events\ntime_column = created_at\n"
	       "older_than = 30d\naudit_columns = id\n", schema);
	ok(t, sweep_test_dry_run(t));
	assert_int_equal(sweep_test_counter(t, "would_delete"), 10);
	assert_true(sweep_test_sample_count(t) > 0);
	assert_int_equal(num(t, "SELECT count(*) FROM %s.events", schema), 15);
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_counter(t, "deleted"), 10);
	assert_int_equal(sweep_test_counter(t, "audited"), 10);
	assert_int_equal(sweep_test_audit_count(t), 10);
	assert_string_equal(sweep_test_audit_action(t, 0), "deleted");
	assert_non_null(strstr(sweep_test_audit_data(t, 0), "\"id\""));
	assert_int_equal(num(t, "SELECT count(*) FROM %s.events", schema), 5);
	close_plugin(t);
}

static void match_delete(void **state)
{
	sweep_test *t = open_plugin("match_delete");

	(void)state;
	sql(t, "CREATE TABLE %s.users (email text); CREATE TABLE %s.pending"
	    " (id int PRIMARY KEY, email text);"
	    "INSERT INTO %s.users VALUES ('a@x'), ('b@x'), ('c@x');"
	    "INSERT INTO %s.pending VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x'),"
	    " (4, 'd@x'), (5, 'e@x'), (6, NULL)", schema, schema, schema,
	    schema);
	params(t, "table = %s.pending\nkey_column = email\nref_table = %s.users"
	       "\nref_column = email\nmode = missing\n", schema, schema);
	ok(t, sweep_test_dry_run(t));
	assert_int_equal(sweep_test_counter(t, "would_delete"), 2);
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_counter(t, "deleted"), 2);
	/* A NULL key never goes. */
	assert_int_equal(num(t, "SELECT count(*) FROM %s.pending", schema), 4);
	close_plugin(t);
}

static void cascade_delete(void **state)
{
	sweep_test *t = open_plugin("cascade_delete");

	(void)state;
	sql(t, "CREATE TABLE %s.parents (id int PRIMARY KEY, gone boolean);"
	    "CREATE TABLE %s.kids (id int PRIMARY KEY, parent_id int"
	    " REFERENCES %s.parents);"
	    "INSERT INTO %s.parents SELECT i, i <= 2 FROM generate_series(1, 5) i;"
	    "INSERT INTO %s.kids SELECT i, 1 + i %% 5 FROM generate_series(1, 10)"
	    " i", schema, schema, schema, schema, schema);
	params(t, "table = %s.parents\nkey_column = id\nwhere = gone\n"
	       "children = %s.kids.parent_id\n", schema, schema);
	ok(t, sweep_test_dry_run(t));
	assert_int_equal(num(t, "SELECT count(*) FROM %s.kids", schema), 10);
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_audit_count(t), 2);
	assert_int_equal(num(t, "SELECT count(*) FROM %s.parents", schema), 3);
	assert_int_equal(num(t, "SELECT count(*) FROM %s.kids", schema), 6);
	close_plugin(t);
}

static void anonymize(void **state)
{
	sweep_test *t = open_plugin("anonymize");

	(void)state;
	sql(t, "CREATE TABLE %s.people (id int PRIMARY KEY, created_at"
	    " timestamptz, email text);"
	    "INSERT INTO %s.people SELECT i, now() - CASE WHEN i <= 4 THEN"
	    " interval '2 years' ELSE interval '1 day' END, 'p' || i || '@x'"
	    " FROM generate_series(1, 6) i", schema, schema);
	params(t, "table = %s.people\ntime_column = created_at\n"
	       "older_than = 1y\nset_null = email\n", schema);
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_counter(t, "anonymized"), 4);
	assert_int_equal(num(t, "SELECT count(*) FROM %s.people WHERE email"
	                     " IS NULL", schema), 4);
	/* Idempotent: an anonymized row is not touched or counted again. */
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_counter(t, "anonymized"), 0);
	close_plugin(t);
}

/* Writes dir/name with mtime age_s seconds ago. */
static void put(const char *dir, const char *name, long age_s)
{
	char path[512];
	struct timeval tv[2];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("x", fp);
	fclose(fp);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age_s;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void remove_file(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static void orphan_files(void **state)
{
	sweep_test *t = open_plugin("orphan_files");
	char dir[] = "/tmp/sweepd-hp-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	put(dir, "orphan.png", 40L * 86400);
	put(dir, "kept.png", 40L * 86400);
	put(dir, "new.png", 60);
	sql(t, "CREATE TABLE %s.users (id int, avatar text);"
	    "INSERT INTO %s.users VALUES (1, 'kept.png')", schema, schema);
	params(t, "directory = %s\nolder_than = 30d\nreferences = %s.users."
	       "avatar\n", dir, schema);
	ok(t, sweep_test_dry_run(t));
	assert_true(exists(dir, "orphan.png"));
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_counter(t, "deleted"), 1);
	assert_false(exists(dir, "orphan.png"));
	assert_true(exists(dir, "kept.png"));
	assert_true(exists(dir, "new.png"));
	remove_file(dir, "kept.png");
	remove_file(dir, "new.png");
	rmdir(dir);
	close_plugin(t);
}

static void sql_plugin(void **state)
{
	sweep_test *t = open_plugin("sql");

	(void)state;
	sql(t, "CREATE TABLE %s.t (id int PRIMARY KEY);"
	    "INSERT INTO %s.t SELECT generate_series(1, 10)", schema, schema);
	params(t, "statement = DELETE FROM %s.t WHERE id <= 3\n", schema);
	/* Its dry run, in the host's READ ONLY transaction, changes
	 * nothing. */
	ok(t, sweep_test_dry_run(t));
	assert_int_equal(num(t, "SELECT count(*) FROM %s.t", schema), 10);
	ok(t, sweep_test_run(t));
	assert_int_equal(sweep_test_counter(t, "affected"), 3);
	assert_int_equal(num(t, "SELECT count(*) FROM %s.t", schema), 7);
	close_plugin(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(age_delete),
		cmocka_unit_test(match_delete),
		cmocka_unit_test(cascade_delete),
		cmocka_unit_test(anonymize),
		cmocka_unit_test(orphan_files),
		cmocka_unit_test(sql_plugin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
