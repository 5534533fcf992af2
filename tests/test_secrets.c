/* Secrets and least privilege, end to end.
 *
 * Secrets: a password in the DSN never shows, however libpq words its
 * complaint about the DSN (a malformed URI is echoed whole), on stderr,
 * in --json output or in --status; and --dsn is wiped from the command
 * line that /proc/PID/cmdline shows of the daemon and of a run's child.
 *
 * Least privilege: a job's `role` puts every session of its run (the dry
 * run's and parallel sessions included) under that role, so that a
 * function with effects outside the transaction (pg_terminate_backend,
 * lo_export, COPY ... TO PROGRAM) is refused by the server in a dry run,
 * and a table the role may not touch stays as it was. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "redact.h"
#include "testworld.h"

#define SECRET "S3cretPW"
/* Longest wait for an event, in seconds. */
#define WAIT_S 30

/* ------------------------------------------------------------ helpers */

/* Fails the test when text holds the secret (or a part of it). */
static void assert_no_secret(const char *where, const char *text)
{
	if (text != NULL && (strstr(text, SECRET) != NULL ||
	                     strstr(text, "3cret") != NULL))
		fail_msg("the password shows in %s: %s", where, text);
}

/* A scratch conf dir holding one job over the testjob fixture; the
 * caller tu_rmtree()s and frees it. */
static char *conf_with_testjob(const char *name, const char *schedule,
                               const char *params)
{
	char *dir = tu_tempdir();
	buf b = BUF_INIT;

	buf_printf(&b, "[job]\nname = %s\nplugin = " SWEEPD_FIXTURE_DIR
	           "/testjob.so\n%s%s\n[params]\n%s", name,
	           schedule ? "schedule = " : "", schedule ? schedule : "",
	           params);
	tu_write(dir, "job.ini", buf_str(&b));
	buf_free(&b);
	return dir;
}

/* DATABASE_URL (postgresql://postgres@HOST:PORT/DB) with the secret as
 * the password, which trust authentication ignores.  New string. */
static char *dsn_with_password(void)
{
	const char *url = getenv("DATABASE_URL");
	const char *at = url ? strchr(url, '@') : NULL;
	buf b = BUF_INIT;

	if (at == NULL || strncmp(url, "postgresql://", 13) != 0)
		fail_msg("DATABASE_URL must be a postgresql:// URI with a user");
	buf_printf(&b, "%.*s:" SECRET "%s", (int)(at - url), url, at);
	return buf_detach(&b);
}

/* /proc/PID/cmdline with its NULs as spaces; a new string, or NULL when
 * the process is gone. */
static char *cmdline(pid_t pid)
{
	char path[64], chunk[4096];
	buf b = BUF_INIT;
	size_t n, i;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		for (i = 0; i < n; i++)
			if (chunk[i] == '\0')
				chunk[i] = ' ';
		buf_append(&b, chunk, n);
	}
	fclose(fp);
	if (b.len == 0)
		return NULL;  /* a zombie */
	return buf_detach(&b);
}

/* Checks the command line of every child process of parent (a run, or a
 * skipped tick's short-lived process) that is still there; returns how
 * many it read. */
static int check_children(pid_t parent)
{
	char path[64];
	long child;
	int seen = 0;
	char *line;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	         (long)parent, (long)parent);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fscanf(fp, "%ld", &child) == 1) {
		if ((line = cmdline((pid_t)child)) == NULL)
			continue;
		assert_contains(line, "xxxxxxxx");
		assert_no_secret("a run's cmdline", line);
		free(line);
		seen++;
	}
	fclose(fp);
	return seen;
}

/* Starts sweepd with argv (NULL-terminated, argv[0] included), its
 * output to dir/log; returns its pid. */
static pid_t spawn_sweepd(char *const argv[], const char *dir)
{
	char *log = tu_path(dir, "log");
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;

	assert_true(fd >= 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(0);
		execv(SWEEPD_BIN, argv);
		_exit(127);
	}
	close(fd);
	free(log);
	return pid;
}

/* The daemon a test started and has not stopped yet, for teardown. */
static pid_t running_daemon;

/* Stops pid with SIGTERM and reaps it. */
static void stop_sweepd(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	running_daemon = 0;
}

/* Stops the daemon a failed test left running. */
static int daemon_teardown(void **state)
{
	(void)state;
	if (running_daemon > 0)
		stop_sweepd(running_daemon);
	return 0;
}

/* ------------------------------------------------------ redaction */

/* Every shape of password a conninfo, a URI or libpq's message about
 * them may hold is masked; the rest of the text is kept. */
static void redact_masks_every_shape_of_password(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"password=S3cretPW port=99999", "password=*** port=99999"},
		{"host=h PASSWORD = 'S3cret PW\\' x' dbname=d",
		 "host=h PASSWORD = '***' dbname=d"},
		{"sslpassword=S3cretPW", "sslpassword=***"},
		{"invalid URI: \"postgresql://u:S3cretPW@[bad/db\"",
		 "invalid URI: \"postgresql://u:***@[bad/db\""},
		{"postgresql://u:S3c@retPW@h1:5432,h2/db",
		 "postgresql://u:***@h1:5432,h2/db"},
		{"postgres://h/db?user=u&password=S3cretPW&sslmode=x",
		 "postgres://h/db?user=u&password=***"},
		{"password authentication failed for user \"u\"",
		 "password authentication failed for user \"u\""},
		{"postgresql://u@h:5432/db", "postgresql://u@h:5432/db"},
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		redact_conninfo(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
	}
	/* A password remembered from the DSN goes wherever libpq puts it. */
	redact_dsn("postgresql://u:S3%ZZcretPW@h/db");
	redact_conninfo("invalid percent-encoded token: \"S3%ZZcretPW\"", out,
	                sizeof(out));
	assert_string_equal(out, "invalid percent-encoded token: \"***\"");
	/* In place, and cut to fit. */
	snprintf(out, sizeof(out), "password=S3cretPW");
	redact_conninfo(out, out, 12);
	assert_string_equal(out, "password=**");
}

/* A DSN that libpq refuses or cannot reach never shows its password: not
 * on stderr (logfmt and JSON logs), not in --json, not from --status. */
static void bad_dsns_never_show_the_password(void **state)
{
	static const char *const dsns[] = {
		"postgresql://u:" SECRET "@[bad/db",
		"postgresql://u:S3%ZZcretPW@127.0.0.1/db",
		"password=" SECRET " port=99999",
		"host=127.0.0.1 password=" SECRET " sslmode=bogus",
		"postgresql://u:" SECRET "@127.0.0.1:1/db?sslmode=bogus",
		"host=127.0.0.1 port=1 password='" SECRET " x'",
		"postgresql://u:" SECRET "@127.0.0.1:1/db",
	};
	char *dir = conf_with_testjob("secret-job", NULL, "mode = ok\n");
	char *out, *err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(dsns) / sizeof(dsns[0]); i++) {
		rc = tu_run(&out, &err, SWEEPD_BIN " --conf-dir '%s' --dsn \"%s\""
		            " --json --run secret-job", dir, dsns[i]);
		assert_int_equal(rc, 1);
		assert_contains(out, "\"success\":false");
		assert_contains(out, "cannot connect");
		assert_no_secret("--json output", out);
		assert_no_secret("stderr", err);
		free(out);
		free(err);
		rc = tu_run(&out, &err, SWEEPD_BIN " --conf-dir '%s' --dsn \"%s\""
		            " --log-format json --dry-run secret-job", dir,
		            dsns[i]);
		assert_int_equal(rc, 1);
		assert_no_secret("the dry run's output", out);
		assert_no_secret("JSON logs", err);
		free(out);
		free(err);
		rc = tu_run(&out, &err, SWEEPD_BIN " --conf-dir '%s' --dsn \"%s\""
		            " --status", dir, dsns[i]);
		assert_int_not_equal(rc, 0);
		assert_contains(err, "cannot connect");
		assert_no_secret("--status output", out);
		assert_no_secret("--status errors", err);
		free(out);
		free(err);
	}
	tu_rmtree(dir);
	free(dir);
}

/* An error recorded in sweepd.runs with a password in it (an older
 * sweepd did not mask them) is masked by --status, as text and JSON. */
static void status_masks_recorded_errors(void **state)
{
	PGconn *db = tu_db();
	char *dir = conf_with_testjob("secret-status", NULL, "mode = ok\n");
	char *out;

	(void)state;
	/* A run migrates sweepd's schema. */
	assert_int_equal(tu_run(NULL, NULL, SWEEPD_BIN " --conf-dir '%s' --run"
	                        " secret-status >/dev/null 2>&1", dir), 0);
	tu_sql(db, "INSERT INTO sweepd.runs (job, host, pid, kind, status,"
	       " finished_at, error) VALUES ('secret-status', 'h', 1, 'run',"
	       " 'failed', clock_timestamp(), 'cannot connect: invalid URI:"
	       " \"postgresql://u:" SECRET "@[x/db\" password=" SECRET "')");
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --status secret-status 2>/dev/null", dir), 1);
	assert_contains(out, "postgresql://u:***@[x/db");
	assert_no_secret("--status", out);
	free(out);
	assert_int_equal(tu_run(&out, NULL, SWEEPD_BIN " --conf-dir '%s'"
	                        " --json --status secret-status 2>/dev/null",
	                        dir), 1);
	assert_contains(out, "password=***");
	assert_no_secret("--status --json", out);
	free(out);
	tu_sql(db, "DELETE FROM sweepd.runs WHERE job = 'secret-status'");
	PQfinish(db);
	tu_rmtree(dir);
	free(dir);
}

/* --dsn VALUE and --dsn=VALUE are wiped from /proc/PID/cmdline of the
 * daemon and of the child that runs a job (a testjob sleeping in its
 * run, which it records in a table first). */
static void dsn_is_wiped_from_the_command_line(void **state)
{
	PGconn *db = tu_db();
	char *schema = tu_schema(db, "secrets_argv");
	char *dsn = dsn_with_password(), *params, *dir, *line, name[96];
	buf arg = BUF_INIT, p = BUF_INIT;
	pid_t pid;
	double deadline;
	int form;

	(void)state;
	snprintf(name, sizeof(name), "%s-job", schema);
	tu_sql(db, "CREATE TABLE %s.rec (job text, at timestamptz)", schema);
	buf_printf(&p, "mode = sleep\nduration = 60s\nrecord = %s.rec\n"
	           "job = argv\n", schema);
	params = buf_detach(&p);
	for (form = 0; form < 2; form++) {
		char *argv[8] = {"sweepd", "--conf-dir", NULL, NULL, NULL, NULL,
		                 NULL, NULL};

		dir = conf_with_testjob(name, "every 1s", params);
		argv[2] = dir;
		buf_reset(&arg);
		if (form == 0) {
			argv[3] = "--dsn";
			argv[4] = dsn;
		} else {
			buf_printf(&arg, "--dsn=%s", dsn);
			argv[3] = (char *)buf_str(&arg);
		}
		pid = running_daemon = spawn_sweepd(argv, dir);
		deadline = tu_mono() + WAIT_S;
		/* The run records its start, then sleeps in its process. */
		while ((tu_sql_int(db, "SELECT count(*) FROM %s.rec", schema) == 0
		        || check_children(pid) == 0) && tu_mono() < deadline)
			tu_nap_ms(50);
		if (tu_mono() >= deadline) {
			tu_run(NULL, NULL, "cat '%s/log'", dir);
			fail_msg("no run seen");
		}
		line = cmdline(pid);
		assert_non_null(line);
		assert_contains(line, "--dsn");
		assert_contains(line, "xxxxxxxx");
		assert_no_secret("the daemon's cmdline", line);
		free(line);
		stop_sweepd(pid);
		tu_sql(db, "DELETE FROM %s.rec; DELETE FROM sweepd.runs WHERE"
		       " job = '%s'", schema, name);
		tu_rmtree(dir);
		free(dir);
	}
	buf_free(&arg);
	free(params);
	free(dsn);
	tu_sql(db, "DROP SCHEMA %s CASCADE", schema);
	free(schema);
	PQfinish(db);
}

/* ------------------------------------------------------------ roles */

/* A world whose table t (2000 rows older than 30 days, 10 newer) the
 * role ROLE may read and delete from, and nothing else; the login role
 * (a superuser here) may SET ROLE to it. */
typedef struct role_world {
	tu_world *w;
	char role[64];
} role_world;

static int role_setup(void **state)
{
	role_world *rw = calloc(1, sizeof(*rw));

	assert_non_null(rw);
	rw->w = tu_world_new("secrets_role");
	snprintf(rw->role, sizeof(rw->role), "sweepd_test_job_%ld",
	         (long)getpid());
	tu_sql(rw->w->db, "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE"
	       " rolname = '%s') THEN EXECUTE 'DROP OWNED BY %s'; EXECUTE"
	       " 'DROP ROLE %s'; END IF; END $$", rw->role, rw->role, rw->role);
	tu_sql(rw->w->db, "CREATE ROLE %s NOLOGIN;"
	       "CREATE TABLE %s.t (id serial PRIMARY KEY, created_at"
	       " timestamptz NOT NULL, pad text);"
	       "INSERT INTO %s.t (created_at, pad) SELECT now() - interval"
	       " '60 days', repeat('x', 200) FROM generate_series(1, 2000);"
	       "INSERT INTO %s.t (created_at) SELECT now() FROM"
	       " generate_series(1, 10);"
	       "CREATE TABLE %s.locked (id int, created_at timestamptz);"
	       "INSERT INTO %s.locked VALUES (1, now() - interval '60 days');"
	       "GRANT USAGE ON SCHEMA %s TO %s;"
	       "GRANT SELECT, DELETE ON %s.t TO %s",
	       rw->role, rw->w->schema, rw->w->schema, rw->w->schema,
	       rw->w->schema, rw->w->schema, rw->w->schema, rw->role,
	       rw->w->schema, rw->role);
	*state = rw;
	return 0;
}

static int role_teardown(void **state)
{
	role_world *rw = *state;
	PGconn *db = tu_db();

	tu_world_free(rw->w);
	tu_sql(db, "DROP OWNED BY %s; DROP ROLE %s", rw->role, rw->role);
	PQfinish(db);
	free(rw);
	return 0;
}

/* Loads an age_delete job over table of the world under its role. */
static void role_job(role_world *rw, const char *table, const char *extra)
{
	buf b = BUF_INIT;

	buf_printf(&b, "[job]\nname = %s\nplugin = age_delete\nrole = %s\n"
	           "[params]\ntable = %s.%s\ntime_column = created_at\n"
	           "older_than = 30d\n%s", rw->w->job, rw->role, rw->w->schema,
	           table, extra);
	tu_world_load(rw->w, buf_str(&b));
	buf_free(&b);
}

/* The role's job does its work, audit records included: the host grants
 * the role what writing them needs. */
static void job_runs_under_its_role(void **state)
{
	role_world *rw = *state;
	result r;

	role_job(rw, "t", "audit_columns = id\nbatch_size = 500\n");
	assert_int_equal(tu_world_run_count(rw->w, false, &r, "deleted"), 2000);
	assert_int_equal(tu_counter(&r, "audited"), 2000);
	result_free(&r);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM %s.t",
	                            rw->w->schema), 10);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM"
	                            " sweepd.audit WHERE job = '%s'",
	                            rw->w->job), 2000);
	/* The history is written as the login role, which it must be. */
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM"
	                            " sweepd.runs WHERE job = '%s' AND status"
	                            " = 'ok'", rw->w->job), 1);
	assert_false(tu_sql_int(rw->w->db, "SELECT has_table_privilege('%s',"
	                        " 'sweepd.runs', 'INSERT')::int", rw->role));
}

/* A dry run whose condition would end another session is refused by the
 * server: the role may not, and the other session lives on. */
static void dry_run_cannot_end_another_session(void **state)
{
	role_world *rw = *state;
	PGconn *other = tu_db();
	char extra[128];
	result r;

	snprintf(extra, sizeof(extra), "where = pg_terminate_backend(%d)\n",
	         PQbackendPID(other));
	role_job(rw, "t", extra);
	assert_int_equal(tu_world_run(rw->w, true, &r), RUNNER_FAILED);
	assert_contains(r.error, "to terminate superuser process (SQLSTATE"
	                " 42501)");
	result_free(&r);
	assert_int_equal(tu_sql_int(other, "SELECT 1"), 1);
	PQfinish(other);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM %s.t",
	                            rw->w->schema), 2010);
}

/* A dry run whose condition would write a file on the server with
 * lo_export is refused: no file. */
static void dry_run_cannot_write_server_files(void **state)
{
	role_world *rw = *state;
	char path[128], extra[256];
	long long lo;
	result r;

	snprintf(path, sizeof(path), "/tmp/sweepd-lo-export-%ld",
	         (long)getpid());
	unlink(path);
	lo = tu_sql_int(rw->w->db, "SELECT lo_from_bytea(0, 'x')");
	snprintf(extra, sizeof(extra), "where = lo_export(%lld, '%s') = 1\n",
	         lo, path);
	role_job(rw, "t", extra);
	assert_int_equal(tu_world_run(rw->w, true, &r), RUNNER_FAILED);
	assert_contains(r.error, "permission denied for function lo_export");
	result_free(&r);
	assert_int_not_equal(access(path, F_OK), 0);
	tu_sql(rw->w->db, "SELECT lo_unlink(%lld)", lo);
}

/* sql's dry_run_statement running a program on the server is refused:
 * the program never runs. */
static void dry_run_cannot_run_programs(void **state)
{
	role_world *rw = *state;
	char path[128];
	buf b = BUF_INIT;
	result r;

	snprintf(path, sizeof(path), "/tmp/sweepd-program-%ld", (long)getpid());
	unlink(path);
	buf_printf(&b, "[job]\nname = %s\nplugin = sql\nrole = %s\n[params]\n"
	           "statement = DELETE FROM %s.t WHERE false\n"
	           "dry_run_statement = COPY (SELECT 1) TO PROGRAM 'touch %s'\n",
	           rw->w->job, rw->role, rw->w->schema, path);
	tu_world_load(rw->w, buf_str(&b));
	buf_free(&b);
	assert_int_equal(tu_world_run(rw->w, true, &r), RUNNER_FAILED);
	assert_contains(r.error, "pg_execute_server_program role to COPY to or"
	                " from an external program (SQLSTATE 42501)");
	result_free(&r);
	assert_int_not_equal(access(path, F_OK), 0);
}

/* A table the role may not touch fails the run and keeps its rows. */
static void table_out_of_the_role_is_refused(void **state)
{
	role_world *rw = *state;
	result r;

	role_job(rw, "locked", "");
	assert_int_equal(tu_world_run(rw->w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "permission denied for table locked");
	result_free(&r);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM"
	                            " %s.locked", rw->w->schema), 1);
}

/* Parallel sessions run as the role too: every session that evaluated
 * the condition recorded current_user, and each is the role. */
static void parallel_sessions_run_as_the_role(void **state)
{
	role_world *rw = *state;
	const char *s = rw->w->schema;
	char extra[256];
	result r;

	tu_sql(rw->w->db, "CREATE TABLE %s.seen (pid int, usr text,"
	       " UNIQUE (pid, usr));"
	       "CREATE FUNCTION %s.seen_as(p int, u text) RETURNS boolean"
	       " LANGUAGE sql AS 'INSERT INTO %s.seen VALUES (p, u)"
	       " ON CONFLICT DO NOTHING; SELECT true';"
	       "GRANT INSERT ON %s.seen TO %s", s, s, s, s, rw->role);
	snprintf(extra, sizeof(extra), "where = %s.seen_as(pg_backend_pid(),"
	         " current_user::text)\nbatch_size = 50\nparallel = 2\n", s);
	role_job(rw, "t", extra);
	assert_int_equal(tu_world_run_count(rw->w, false, &r, "deleted"), 2000);
	result_free(&r);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(DISTINCT pid)"
	                            " FROM %s.seen", s), 2);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM %s.seen"
	                            " WHERE usr <> '%s'", s, rw->role), 0);
}

/* SQL that steps back to the login role is not stopped (SET ROLE is no
 * wall against set_config('role', ...)), but the run fails saying so,
 * and the history is still written. */
static void leaving_the_role_fails_the_run(void **state)
{
	role_world *rw = *state;
	result r;

	role_job(rw, "t", "where = set_config('role', 'none', false) <> ''\n");
	assert_int_equal(tu_world_run(rw->w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "the session's role changed");
	result_free(&r);
	assert_int_equal(tu_sql_int(rw->w->db, "SELECT count(*) FROM"
	                            " sweepd.runs WHERE job = '%s' AND status"
	                            " = 'failed'", rw->w->job), 1);
}

/* `role` is checked as a name: "none", "public" and pg_* are refused at
 * their line. */
static void bad_roles_are_refused(void **state)
{
	role_world *rw = *state;
	static const char *const bad[] = {"none", "PUBLIC",
	                                  "pg_write_server_files"};
	buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		buf_printf(&b, "[job]\nname = %s\nplugin = age_delete\nrole = %s"
		           "\n[params]\ntable = t\ntime_column = c\nolder_than ="
		           " 1d\n", rw->w->job, bad[i]);
		tu_world_load_diag(rw->w, buf_str(&b));
		assert_int_equal(rw->w->d.count, 1);
		assert_int_equal(rw->w->d.items[0].line, 4);
		assert_contains(rw->w->d.items[0].message, "role:");
	}
	buf_free(&b);
}

int main(void)
{
#define R(f) cmocka_unit_test_setup_teardown(f, role_setup, role_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redact_masks_every_shape_of_password),
		cmocka_unit_test(bad_dsns_never_show_the_password),
		cmocka_unit_test(status_masks_recorded_errors),
		cmocka_unit_test_teardown(dsn_is_wiped_from_the_command_line,
		                          daemon_teardown),
		R(job_runs_under_its_role),
		R(dry_run_cannot_end_another_session),
		R(dry_run_cannot_write_server_files),
		R(dry_run_cannot_run_programs),
		R(table_out_of_the_role_is_refused),
		R(parallel_sessions_run_as_the_role),
		R(leaving_the_role_fails_the_run),
		R(bad_roles_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
