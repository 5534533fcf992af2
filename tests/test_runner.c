/* The runner contains a misbehaving plugin (the fixture rogue.so): a dry
 * run cannot change data even when the plugin tries, and a run that leaves
 * a transaction open is rolled back and failed.  Real PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Creates schema.t with 10 rows and a job file using rogue's trick;
 * returns the exit code of sweepd ARGS JOB, leaving its stdout in *out. */
static int rogue(PGconn *db, const char *schema, const char *dir,
                 const char *trick, const char *command, char **out)
{
	char text[512], *err;
	int rc;

	tu_sql(db, "DROP TABLE IF EXISTS %s.t; CREATE TABLE %s.t AS SELECT g"
	       " FROM generate_series(1, 10) g", schema, schema);
	snprintf(text, sizeof(text), "[job]\nname = rogue\nplugin = rogue\n"
	         "[params]\ntable = %s.t\ntrick = %s\n", schema, trick);
	tu_write(dir, "rogue.ini", text);
	rc = tu_run(out, &err, SWEEPD_BIN " --conf-dir %s --plugin-dir "
	            SWEEPD_FIXTURE_DIR " --json %s rogue", dir, command);
	free(err);
	return rc;
}

/* Plays trick under command in a fresh schema and checks that sweepd
 * exits 1 with expect in its result while the table keeps its 10 rows. */
static void contained(const char *trick, const char *command,
                      const char *expect)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "rogue"), *dir = tu_tempdir(), *out;

	assert_int_equal(rogue(db, schema, dir, trick, command, &out), 1);
	assert_contains(out, expect);
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM %s.t", schema),
	                 10);
	free(out);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	tu_rmtree(dir);
	free(dir);
	free(schema);
	PQfinish(db);
}

static void dry_run_cannot_delete(void **state)
{
	(void)state;
	contained("delete", "--dry-run", "read-only transaction");
}

static void dry_run_cannot_delete_after_committing(void **state)
{
	(void)state;
	contained("commit-delete", "--dry-run", "read-only transaction");
}

static void run_leaving_a_transaction_open_is_rolled_back(void **state)
{
	(void)state;
	contained("leave-open", "--run", "transaction open");
}

static void plugin_built_for_an_older_minor_runs(void **state)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "old_minor"), *dir = tu_tempdir(), *out;
	char text[256];

	(void)state;
	tu_sql(db, "CREATE TABLE %s.t AS SELECT g FROM generate_series(1, 50) g",
	       schema);
	snprintf(text, sizeof(text), "[job]\nname = old\nplugin = old_minor\n"
	         "[params]\ntable = %s.t\n", schema);
	tu_write(dir, "old.ini", text);
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_FIXTURE_DIR " --json"
	                        " --run old", dir), 0);
	assert_contains(out, "\"deleted\":50");
	assert_int_equal(tu_sql_int(db, "SELECT count(*) FROM %s.t", schema), 0);
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
		cmocka_unit_test(dry_run_cannot_delete),
		cmocka_unit_test(dry_run_cannot_delete_after_committing),
		cmocka_unit_test(run_leaving_a_transaction_open_is_rolled_back),
		cmocka_unit_test(plugin_built_for_an_older_minor_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
