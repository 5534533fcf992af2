/* testworld: a plugin test's world (schema, conf dir, job) and running its
 * job through the real loader and runner, as sweepd --run does. */
#include "testworld.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* A new world for prefix (free with tu_world_free()): schema PREFIX_PID,
 * a scratch conf dir, and a job name unique within the test program. */
tu_world *tu_world_new(const char *prefix)
{
	static int seq;
	tu_world *w = calloc(1, sizeof(*w));
	buf name = BUF_INIT;

	assert_non_null(w);
	w->db = tu_db();
	w->schema = tu_schema(w->db, prefix);
	w->dir = tu_tempdir();
	buf_printf(&name, "%s-job-%d", w->schema, ++seq);
	w->job = buf_detach(&name);
	assert_non_null(w->job);
	return w;
}

/* Deletes what sweepd recorded of the world's job, drops its schema and
 * conf dir, and frees it. */
void tu_world_free(tu_world *w)
{
	if (tu_sql_int(w->db, "SELECT count(*) FROM pg_tables WHERE schemaname"
	               " = 'sweepd' AND tablename IN ('audit', 'runs')") == 2)
		tu_sql(w->db, "DELETE FROM sweepd.audit WHERE job = '%s';"
		       "DELETE FROM sweepd.runs WHERE job = '%s'", w->job, w->job);
	tu_sql(w->db, "DROP SCHEMA %s CASCADE", w->schema);
	PQfinish(w->db);
	tu_rmtree(w->dir);
	jobs_free(w->js);
	loader_free(w->l);
	settings_free(&w->s);
	diag_free(&w->d);
	free(w->schema);
	free(w->dir);
	free(w->job);
	free(w);
}

/* Writes text as the world's job file and loads the configuration around
 * it with the build's plugins, as sweepd does; problems stay in w->d. */
void tu_world_load_diag(tu_world *w, const char *text)
{
	settings_cli cli;

	jobs_free(w->js);
	loader_free(w->l);
	settings_free(&w->s);
	diag_free(&w->d);
	tu_write(w->dir, "job.ini", text);
	memset(&cli, 0, sizeof(cli));
	cli.conf_dir = w->dir;
	cli.plugin_dir = SWEEPD_PLUGIN_DIR;
	settings_load(&cli, &w->s, &w->d);
	w->l = loader_new();
	w->js = jobs_load(&w->s, w->l, &w->d);
	assert_non_null(w->js);
}

/* tu_world_load_diag(), failing the test on any problem. */
void tu_world_load(tu_world *w, const char *text)
{
	tu_world_load_diag(w, text);
	if (w->d.count)
		fail_msg("config problem: %s", w->d.items[0].message);
}

/* Runs the world's job as sweepd --run (or --dry-run) does. */
runner_outcome tu_world_run(tu_world *w, bool dry, result *r)
{
	static volatile sig_atomic_t no_stop;
	runner_opts o;

	memset(&o, 0, sizeof(o));
	o.dry_run = dry;
	return runner_run(jobs_find(w->js, w->job), &w->s, &o, &no_stop, r);
}

/* Runs the world's job as tu_world_run() does, failing the test with the
 * run's error unless it succeeded. */
void tu_world_run_ok(tu_world *w, bool dry, result *r)
{
	if (tu_world_run(w, dry, r) != RUNNER_OK || !r->success)
		fail_msg("run failed: %s", r->error ? r->error : "(no error)");
}

/* Runs the world's job as tu_world_run() does, failing the test unless
 * the run failed for exactly n failed items, and nothing else: "N items
 * failed; see errors". */
void tu_world_run_items(tu_world *w, bool dry, result *r, long long n)
{
	char want[64];

	snprintf(want, sizeof(want), "%lld item%s failed; see errors", n,
	         n == 1 ? "" : "s");
	if (tu_world_run(w, dry, r) != RUNNER_FAILED || r->success ||
	    r->error == NULL || strcmp(r->error, want) != 0)
		fail_msg("expected the run to fail with \"%s\", got %s: %s",
		         want, r->success ? "success" : "failure",
		         r->error ? r->error : "(no error)");
	assert_int_equal(tu_counter(r, "errors"), n);
}

/* tu_world_run_ok(), then the value of r's counter (which must exist). */
long long tu_world_run_count(tu_world *w, bool dry, result *r,
                             const char *counter)
{
	tu_world_run_ok(w, dry, r);
	return tu_counter(r, counter);
}

/* The value of the counter name of r; fails the test when there is none. */
long long tu_counter(const result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return r->counters[i].value;
	fail_msg("no counter %s", name);
	return -1;
}

/* Makes schema.seen(pid), true for every row, which records in
 * schema.sessions each backend that evaluated it: put
 * "seen(pg_backend_pid())" in a job's condition to learn how many sessions
 * ran its batches. */
void tu_world_seen(tu_world *w)
{
	tu_sql(w->db,
	       "CREATE TABLE %s.sessions (pid int PRIMARY KEY);"
	       "CREATE FUNCTION %s.seen(p int) RETURNS boolean LANGUAGE sql"
	       " AS 'INSERT INTO %s.sessions VALUES (p) ON CONFLICT DO NOTHING;"
	       " SELECT true'",
	       w->schema, w->schema, w->schema);
}

/* The sessions seen() recorded (see tu_world_seen()). */
long long tu_world_sessions(tu_world *w)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.sessions", w->schema);
}
