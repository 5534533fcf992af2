/* End to end: jobs that work in a database of their own ([database NAME]
 * of sweepd.ini, `database = NAME` in the job).  The real sweepd binary,
 * the real age_delete plugin, two real databases of the test cluster:
 * the home one (DATABASE_URL) and JOBDB.  The job's rows and its audit
 * records are in JOBDB; its history, tick claims, pauses and advisory
 * lock in the home database.
 *
 * Every test has its own schema (in both databases) and a job named
 * after it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"

/* The job database every test uses; created when absent. */
#define JOBDB "sweepd_test_jobdb"

static struct {
	PGconn *home;
	PGconn *job;            /* connection to JOBDB */
	char *schema;           /* in both databases; also the job's name */
	char *conf;             /* scratch conf.d */
} T;

/* ------------------------------------------------------------- helpers */

/* A connection to JOBDB, the database created first when absent. */
static PGconn *job_db(PGconn *home)
{
	PGconn *c;

	if (tu_sql_int(home, "SELECT count(*) FROM pg_database WHERE datname"
	               " = '" JOBDB "'") == 0)
		PQclear(PQexec(home, "CREATE DATABASE " JOBDB));
	c = PQconnectdb("dbname=" JOBDB);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to " JOBDB ": %s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

/* Writes sweepd.ini declaring database job-db with dsn, and the job
 * SCHEMA over SCHEMA.events in database `database` (NULL: none) with
 * more [params] lines extra. */
static void write_conf(const char *dsn, const char *database,
                       const char *extra)
{
	buf ini = BUF_INIT, job = BUF_INIT, file = BUF_INIT;

	buf_printf(&ini, "[sweepd]\nlog_level = warn\n\n[database job-db]\n"
	           "dsn = %s\n", dsn);
	tu_write(T.conf, "sweepd.ini", buf_str(&ini));
	buf_printf(&job, "[job]\nname = %s\nplugin = age_delete\n%s%s%s\n"
	           "[params]\ntable = %s.events\ntime_column = created_at\n"
	           "older_than = 30d\n%s", T.schema,
	           database ? "database = " : "", database ? database : "",
	           database ? "\n" : "", T.schema, extra);
	buf_printf(&file, "%s.ini", T.schema);
	tu_write(T.conf, buf_str(&file), buf_str(&job));
	buf_free(&ini);
	buf_free(&job);
	buf_free(&file);
}

/* Creates SCHEMA.events in c: rows 1-30 are 45 days old, 31-40 new. */
static void make_events(PGconn *c)
{
	tu_sql(c, "CREATE TABLE %s.events (id bigint PRIMARY KEY, created_at"
	       " timestamptz NOT NULL);"
	       "INSERT INTO %s.events SELECT g, now() - CASE WHEN g <= 30"
	       " THEN interval '45 days' ELSE interval '1 day' END"
	       " FROM generate_series(1, 40) g", T.schema, T.schema);
}

/* Sets up: both connections, the same schema in both databases, events in
 * the job database only unless home_too, and a scratch conf.d. */
static void begin(const char *prefix, bool home_too)
{
	memset(&T, 0, sizeof(T));
	T.home = tu_db();
	T.job = job_db(T.home);
	T.schema = tu_schema(T.home, prefix);
	tu_sql(T.job, "CREATE SCHEMA %s", T.schema);
	make_events(T.job);
	if (home_too)
		make_events(T.home);
	T.conf = tu_tempdir();
}

/* Removes what a test made, in both databases. */
static int teardown(void **state)
{
	(void)state;
	if (T.schema != NULL) {
		tu_sql(T.home, "DELETE FROM sweepd.runs WHERE job = '%s'",
		       T.schema);
		tu_sql(T.home, "DELETE FROM sweepd.paused WHERE job = '%s'",
		       T.schema);
		tu_sql(T.home, "DROP SCHEMA IF EXISTS %s CASCADE", T.schema);
		tu_sql(T.job, "DROP SCHEMA IF EXISTS %s CASCADE", T.schema);
	}
	PQfinish(T.home);
	PQfinish(T.job);
	if (T.conf != NULL)
		tu_rmtree(T.conf);
	free(T.conf);
	free(T.schema);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* Runs `[env] sweepd --conf-dir CONF --plugin-dir PLUGINS ARGS`; returns
 * its exit status, its output in *out and its standard error in *err. */
static int sweepd(char **out, char **err, const char *env, const char *fmt,
                  ...) SWEEP_PRINTF(4, 5);

static int sweepd(char **out, char **err, const char *env, const char *fmt,
                  ...)
{
	buf args = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vprintf(&args, fmt, ap);
	va_end(ap);
	rc = tu_run(out, err, "%s " SWEEPD_BIN " --conf-dir '%s' --plugin-dir "
	            SWEEPD_PLUGIN_DIR " %s", env, T.conf, buf_str(&args));
	buf_free(&args);
	return rc;
}

/* Rows of SCHEMA.events left in c. */
static long long events(PGconn *c)
{
	return tu_sql_int(c, "SELECT count(*) FROM %s.events", T.schema);
}

/* Audit records of the job in c (0 when c has no sweepd schema). */
static long long audits(PGconn *c)
{
	if (tu_sql_int(c, "SELECT count(*) FROM pg_tables WHERE schemaname ="
	               " 'sweepd' AND tablename = 'audit'") == 0)
		return 0;
	return tu_sql_int(c, "SELECT count(*) FROM sweepd.audit WHERE job ="
	                  " '%s'", T.schema);
}

/* ---------------------------------------------------------------- tests */

/* The job deletes in its own database, not in the home one where the
 * same table exists; its audit records are there, one per deleted row;
 * its history row is in the home database only. */
static void a_job_deletes_and_audits_in_its_database(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	begin("dbs_run", true);
	write_conf("dbname=" JOBDB, "job-db", "batch_size = 7\n"
	           "audit_columns = id\n");
	if (sweepd(&out, &err, "", "--json --run %s", T.schema) != 0)
		fail_msg("run failed: %s %s", out, err);
	assert_contains(out, "\"deleted\":30");
	assert_int_equal(events(T.job), 10);
	assert_int_equal(events(T.home), 40);
	assert_int_equal(audits(T.job), 30);
	assert_int_equal(audits(T.home), 0);
	assert_int_equal(tu_sql_int(T.home, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = '%s' AND status = 'ok'",
	                            T.schema), 1);
	assert_int_equal(tu_sql_int(T.job, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = '%s'", T.schema), 0);
	/* Each audit record names the run of the home history. */
	assert_int_equal(tu_sql_int(T.job, "SELECT count(DISTINCT run_id) FROM"
	                            " sweepd.audit WHERE job = '%s' AND run_id"
	                            " = %lld", T.schema,
	                            tu_sql_int(T.home, "SELECT max(id) FROM"
	                                       " sweepd.runs WHERE job = '%s'",
	                                       T.schema)), 1);
	free(out);
	free(err);
}

/* A batch that fails in the job's database leaves neither its deletions
 * nor its audit records: they are one transaction there. */
static void a_failing_batch_leaves_neither_rows_nor_audits(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	begin("dbs_fail", false);
	tu_sql(T.job, "CREATE FUNCTION %s.refuse() RETURNS trigger LANGUAGE"
	       " plpgsql AS $$BEGIN IF OLD.id = 12 THEN RAISE EXCEPTION"
	       " 'row 12 is held'; END IF; RETURN OLD; END$$;"
	       "CREATE TRIGGER refuse BEFORE DELETE ON %s.events FOR EACH ROW"
	       " EXECUTE FUNCTION %s.refuse()", T.schema, T.schema, T.schema);
	write_conf("dbname=" JOBDB, "job-db", "batch_size = 5\n"
	           "audit_columns = id\n");
	assert_int_not_equal(sweepd(&out, &err, "", "--json --run %s",
	                            T.schema), 0);
	assert_int_equal(tu_sql_int(T.job, "SELECT count(*) FROM %s.events"
	                            " WHERE id = 12", T.schema), 1);
	assert_int_equal(tu_sql_int(T.job, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = '%s' AND data->>'id' = '12'",
	                            T.schema), 0);
	/* Every row that went has its record; every record, its row gone. */
	assert_int_equal(audits(T.job), 40 - events(T.job));
	assert_int_equal(tu_sql_int(T.job, "SELECT count(*) FROM sweepd.audit a"
	                            " JOIN %s.events e ON e.id ="
	                            " (a.data->>'id')::bigint WHERE a.job ="
	                            " '%s'", T.schema, T.schema), 0);
	free(out);
	free(err);
}

/* The job's advisory lock and its pause are taken in the home database:
 * a lock held there, or a pause written there, keeps the run from
 * touching the job's database. */
static void locks_and_pauses_stay_home(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	begin("dbs_lock", false);
	write_conf("dbname=" JOBDB, "job-db", "");
	tu_sql(T.home, "SELECT pg_advisory_lock(hashtextextended('sweepd.job:'"
	       " || '%s', 0))", T.schema);
	sweepd(&out, &err, "", "--json --run %s", T.schema);
	assert_contains(out, "still going");
	assert_int_equal(events(T.job), 40);
	tu_sql(T.home, "SELECT pg_advisory_unlock_all()");
	free(out);
	free(err);
	assert_int_equal(sweepd(NULL, NULL, "", "--pause %s", T.schema), 0);
	assert_int_equal(tu_sql_int(T.home, "SELECT count(*) FROM sweepd.paused"
	                            " WHERE job = '%s'", T.schema), 1);
	sweepd(&out, &err, "", "--json --run %s", T.schema);
	assert_int_equal(events(T.job), 40);
	assert_int_equal(sweepd(NULL, NULL, "", "--resume %s", T.schema), 0);
	assert_int_equal(sweepd(NULL, NULL, "", "--run %s", T.schema), 0);
	assert_int_equal(events(T.job), 10);
	free(out);
	free(err);
}

/* --check, --list-jobs and --status name each job's database, "home"
 * for a job that names none. */
static void listings_show_the_database(void **state)
{
	char *out = NULL, *line;

	(void)state;
	begin("dbs_list", false);
	write_conf("dbname=" JOBDB, "job-db", "");
	tu_write(T.conf, "other.ini", "[job]\nname = other-job\nplugin ="
	         " age_delete\n\n[params]\ntable = t\ntime_column = c\n"
	         "older_than = 1d\n");
	assert_int_equal(sweepd(&out, NULL, "", "--check"), 0);
	line = tu_sql_text(T.home, "SELECT 'database job-db: %s'", T.schema);
	assert_contains(out, line);
	assert_contains(out, "home database: other-job\n");
	free(line);
	free(out);
	assert_int_equal(sweepd(&out, NULL, "", "--check --json"), 0);
	assert_contains(out, "\"databases\":{\"job-db\":[\"");
	assert_contains(out, "\"home\":[\"other-job\"]}");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "", "--list-jobs"), 0);
	assert_contains(out, "DATABASE");
	assert_contains(out, "job-db");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "", "--list-jobs --json"), 0);
	assert_contains(out, "\"database\":\"job-db\"");
	assert_contains(out, "\"database\":\"home\"");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "", "--status %s", T.schema), 0);
	assert_contains(out, "database:     job-db");
	free(out);
	assert_int_equal(sweepd(&out, NULL, "", "--status --json"), 0);
	assert_contains(out, "\"database\":\"job-db\"");
	free(out);
}

/* A job naming a database sweepd.ini does not declare is a --check error
 * at its file and line, with the closest declared name. */
static void an_unknown_database_is_a_check_error(void **state)
{
	char *out = NULL, *err = NULL, *where;

	(void)state;
	begin("dbs_check", false);
	write_conf("dbname=" JOBDB, "job-dbb", "");
	assert_int_not_equal(sweepd(&out, &err, "", "--check"), 0);
	where = tu_sql_text(T.home, "SELECT '%s/%s.ini:4'", T.conf, T.schema);
	assert_contains(err, where);
	assert_contains(err, "no [database job-dbb]");
	assert_contains(err, "did you mean 'job-db'?");
	free(where);
	free(out);
	free(err);
	/* A [database] without a dsn is a problem of sweepd.ini. */
	tu_write(T.conf, "sweepd.ini", "[sweepd]\n\n[database job-dbb]\n");
	assert_int_not_equal(sweepd(&out, &err, "", "--check"), 0);
	assert_contains(err, "sweepd.ini:3");
	assert_contains(err, "SWEEPD_DB_JOB_DBB_DSN");
	free(out);
	free(err);
}

/* SWEEPD_DB_<NAME>_DSN overrides the dsn of [database NAME]: the file
 * names a database that does not exist, the variable the right one. */
static void the_environment_overrides_the_dsn(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	begin("dbs_env", false);
	write_conf("dbname=sweepd_no_such_db", "job-db", "");
	assert_int_not_equal(sweepd(&out, &err, "", "--json --run %s",
	                            T.schema), 0);
	assert_contains(out, "database job-db: cannot connect");
	assert_int_equal(events(T.job), 40);
	free(out);
	free(err);
	if (sweepd(&out, &err, "SWEEPD_DB_JOB_DB_DSN=dbname=" JOBDB, "--json"
	           " --run %s", T.schema) != 0)
		fail_msg("run failed: %s %s", out, err);
	assert_int_equal(events(T.job), 10);
	free(out);
	free(err);
}

/* Parallel sessions of the batch loop connect to the job's database:
 * each records its backend there, and deletes rows that exist only
 * there. */
static void parallel_sessions_go_to_the_job_database(void **state)
{
	char *out = NULL, *err = NULL, extra[256];

	(void)state;
	begin("dbs_par", false);
	tu_sql(T.job, "CREATE TABLE %s.sessions (pid int PRIMARY KEY,"
	       " db text NOT NULL);"
	       "CREATE FUNCTION %s.seen(p int) RETURNS boolean LANGUAGE sql"
	       " AS 'INSERT INTO %s.sessions VALUES (p, current_database())"
	       " ON CONFLICT DO NOTHING; SELECT true'", T.schema, T.schema,
	       T.schema);
	tu_sql(T.job, "INSERT INTO %s.events SELECT g, now() - interval"
	       " '45 days' FROM generate_series(41, 400) g", T.schema);
	tu_sql(T.job, "GRANT ALL ON SCHEMA %s TO PUBLIC", T.schema);
	snprintf(extra, sizeof(extra), "where = %s.seen(pg_backend_pid())\n"
	         "batch_size = 10\nparallel = 3\naudit_columns = id\n",
	         T.schema);
	write_conf("dbname=" JOBDB, "job-db", extra);
	if (sweepd(&out, &err, "", "--json --run %s", T.schema) != 0)
		fail_msg("run failed: %s %s", out, err);
	assert_int_equal(events(T.job), 10);
	assert_int_equal(audits(T.job), 390);
	assert_int_equal(tu_sql_int(T.job, "SELECT count(*) FROM %s.sessions"
	                            " WHERE db = '" JOBDB "'", T.schema), 3);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			a_job_deletes_and_audits_in_its_database, teardown),
		cmocka_unit_test_teardown(
			a_failing_batch_leaves_neither_rows_nor_audits, teardown),
		cmocka_unit_test_teardown(locks_and_pauses_stay_home,
		                          teardown),
		cmocka_unit_test_teardown(listings_show_the_database,
		                          teardown),
		cmocka_unit_test_teardown(an_unknown_database_is_a_check_error,
		                          teardown),
		cmocka_unit_test_teardown(the_environment_overrides_the_dsn,
		                          teardown),
		cmocka_unit_test_teardown(
			parallel_sessions_go_to_the_job_database, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
