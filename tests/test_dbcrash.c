/* PostgreSQL crashing under a run (pg_ctl stop -m immediate), then coming
 * back: the run is not left `running`, every deleted row has its audit
 * record, and the next run finishes the job.  The test has a cluster of
 * its own (scripts/pg.sh --dir), since crashing the suite's shared one
 * would fail the tests running beside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testutil.h"

#define PG SWEEPD_SOURCE_DIR "/scripts/pg.sh"
#define ROWS 60000
#define WAIT_S 30

static struct {
	char *pgdir;     /* the test's own cluster */
	char *conf;      /* scratch conf.d */
	char *run;       /* files of the background sweepd */
	char *dsn;
	PGconn *db;
} T;

/* Starts (again) the test's cluster and connects to it. */
static void cluster_start(void)
{
	char *out = NULL, *err = NULL;
	size_t n;
	int rc, tries;

	/* A second try: a port pg.sh found free may be taken by the time the
	 * server binds it, when other clusters start beside this one. */
	for (tries = 0; tries < 2; tries++) {
		free(out);
		free(err);
		rc = tu_run(&out, &err, "bash " PG " start --dir '%s'", T.pgdir);
		if (rc == 0)
			break;
		fprintf(stderr, "pg.sh start failed, trying again: %s", err);
		tu_nap_ms(500);
	}
	if (rc != 0)
		fail_msg("pg.sh start --dir %s: exit %d: %s", T.pgdir, rc, err);
	free(err);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	free(T.dsn);
	T.dsn = out;
	PQfinish(T.db);
	T.db = PQconnectdb(T.dsn);
	assert_int_equal(PQstatus(T.db), CONNECTION_OK);
	tu_sql(T.db, "SET client_min_messages = warning");
}

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	T.pgdir = tu_tempdir();
	T.conf = tu_tempdir();
	T.run = tu_tempdir();
	cluster_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(T.db);
	tu_run(NULL, NULL, "bash " PG " stop --dir '%s' 2>/dev/null", T.pgdir);
	tu_rmtree(T.pgdir);
	tu_rmtree(T.conf);
	tu_rmtree(T.run);
	free(T.pgdir);
	free(T.conf);
	free(T.run);
	free(T.dsn);
	return 0;
}

/* Polls until the boolean query holds on the test's cluster. */
static void wait_for(const char *sql)
{
	double deadline = tu_mono() + WAIT_S;

	while (tu_sql_int(T.db, "SELECT coalesce((%s), false)::int", sql) != 1) {
		if (tu_mono() > deadline)
			fail_msg("waited %d s in vain for: %s", WAIT_S, sql);
		tu_nap_ms(50);
	}
}

/* Waits until the background sweepd wrote its exit status; returns it. */
static int bg_wait(void)
{
	char *path = tu_path(T.run, "rc");
	double deadline = tu_mono() + WAIT_S;
	FILE *fp;
	int rc = -1;

	while ((fp = fopen(path, "r")) == NULL) {
		if (tu_mono() > deadline)
			fail_msg("sweepd --run did not end within %d s of the"
			         " crash", WAIT_S);
		tu_nap_ms(50);
	}
	if (fscanf(fp, "%d", &rc) != 1)
		rc = -1;
	fclose(fp);
	free(path);
	return rc;
}

/* A run of an audited age_delete is under way when the server crashes; the
 * server comes back.  --status then shows the run abandoned (it exits 1),
 * every row gone has its audit record, and the next run deletes the
 * rest. */
static void server_crash_mid_run_leaves_a_true_history(void **state)
{
	char *out = NULL;
	long long gone, audited;

	(void)state;
	tu_sql(T.db, "CREATE TABLE ev (id int PRIMARY KEY, created_at"
	       " timestamptz NOT NULL);"
	       "INSERT INTO ev SELECT g, now() - interval '40 days'"
	       " FROM generate_series(1, %d) g", ROWS);
	tu_write(T.conf, "crash.ini", "[job]\nname = crash\nplugin = age_delete"
	         "\n\n[params]\ntable = ev\ntime_column = created_at\n"
	         "older_than = 30d\nbatch_size = 500\nbatch_pause = 30ms\n"
	         "audit_columns = id\n");
	assert_int_equal(tu_run(NULL, NULL, "( " SWEEPD_BIN " --conf-dir '%s'"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --dsn '%s'"
	                        " --run crash >'%s/log' 2>&1; echo $? >'%s/rc.new'"
	                        " && mv '%s/rc.new' '%s/rc' ) </dev/null"
	                        " >/dev/null 2>&1 &", T.conf, T.dsn, T.run,
	                        T.run, T.run, T.run), 0);
	/* Mid-run: some batches committed, most rows still there. */
	wait_for("SELECT to_regclass('sweepd.audit') IS NOT NULL");
	wait_for("SELECT count(*) >= 3000 FROM sweepd.audit WHERE job ="
	         " 'crash'");
	assert_int_equal(tu_run(NULL, NULL, "bash " PG " crash --dir '%s'"
	                        " 2>/dev/null", T.pgdir), 0);
	assert_int_equal(bg_wait(), 1);
	cluster_start();

	/* The run's process is gone: its row says so, not `running`. */
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --dsn '%s'"
	                        " --status crash 2>/dev/null", T.conf, T.dsn),
	                 1);
	assert_contains(out, "abandoned");
	free(out);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = 'crash' AND status ="
	                            " 'running'"), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = 'crash' AND status ="
	                            " 'abandoned' AND error LIKE '%%process%%'"),
	                 1);
	/* Whatever committed before the crash committed with its audit
	 * records, and nothing else did. */
	gone = ROWS - tu_sql_int(T.db, "SELECT count(*) FROM ev");
	audited = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.audit WHERE"
	                     " job = 'crash'");
	assert_true(gone > 0 && gone < ROWS);
	assert_int_equal(gone, audited);

	/* The next run finishes the job. */
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR " --dsn '%s'"
	                        " --run crash >/dev/null 2>&1", T.conf, T.dsn),
	                 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM ev"), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(DISTINCT (data->>'id'))"
	                            " FROM sweepd.audit WHERE job = 'crash'"),
	                 ROWS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_crash_mid_run_leaves_a_true_history),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
