/* Proof that a policy holds (sweepd --verify, SDK 1.9): the real binary,
 * the real age_delete, anonymize and orphan_files plugins, the real
 * database and a real directory of files.  A table with rows older than
 * the job's limit is a violated policy, named with its job, table and
 * oldest row's age, until a run deletes (or anonymizes) them; a paused
 * job's rows stay violated; --status and the metrics file show the age
 * the last run left. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* Runs sweepd CMD JOB (w's job) and returns its output (the caller frees
 * it), failing the test unless it exits with want (-1: any status). */
static char *job_cmd(tu_world *w, const char *cmd, int want)
{
	char args[256], *out;
	int rc;

	snprintf(args, sizeof(args), "%s %s", cmd, w->job);
	rc = sweepd(w, &out, args);
	if (want >= 0 && rc != want)
		fail_msg("sweepd %s exited %d, not %d:\n%s", args, rc, want, out);
	return out;
}

/* Checks that w's job holds its 30-day policy now: --verify says "WHAT:
 * oldest row AGE, limit 30d, period 1d: OK" and --status shows AGE.
 * Returns --status's output (the caller frees it). */
static char *assert_policy_holds(tu_world *w, const char *what,
                                 const char *age)
{
	char want[256];
	char *out = job_cmd(w, "--verify", 0);

	snprintf(want, sizeof(want), "%s: oldest row %s, limit 30d, period"
	         " 1d: OK", what, age);
	assert_contains(out, want);
	free(out);
	out = job_cmd(w, "--status", 0);
	snprintf(want, sizeof(want), "oldest row:   %s (limit 30d) in ", age);
	assert_contains(out, want);
	return out;
}

static void old_rows_violate_until_a_run_deletes_them(void **state)
{
	tu_world *w = *state;
	char *out, *metrics;

	world_data(w);
	world_job(w, "");
	out = job_cmd(w, "--verify", 1);
	assert_contains(out, w->job);
	assert_contains(out, ".events: oldest row 40d");
	assert_contains(out, "limit 30d, period 1d: VIOLATED");
	free(out);
	out = job_cmd(w, "--run", 0);
	free(out);
	free(assert_policy_holds(w, ".events", "1d"));
	metrics = tu_path(w->dir, "metrics");
	assert_int_equal(tu_run(&out, NULL, "cat '%s'", metrics), 0);
	assert_contains(out, "sweepd_job_oldest_row_age_seconds{job_name=\"");
	free(out);
	free(metrics);
}

static void a_paused_job_leaves_its_policy_violated(void **state)
{
	tu_world *w = *state;
	char *out;

	world_data(w);
	world_job(w, "");
	out = job_cmd(w, "--pause", 0);
	free(out);
	out = job_cmd(w, "--run", -1);
	free(out);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 20);
	out = job_cmd(w, "--verify", 1);
	assert_contains(out, "VIOLATED");
	free(out);
}

/* verify measures the rows the job's condition matches: a where that
 * leaves the old rows out makes them no rows of the policy. */
static void verify_measures_the_rows_where_matches(void **state)
{
	tu_world *w = *state;
	char *out;

	world_data(w);
	world_job(w, "where = kind = 'b'\n");
	out = job_cmd(w, "--verify", 0);
	assert_contains(out, "oldest row 1d");
	free(out);
	assert_int_equal(sweepd(w, &out, "--verify no_such_job_here"), 2);
	free(out);
}

/* Index entries the scans of index `name` in schema read so far, once
 * the sessions that used it have reported (it has been scanned). */
static long long index_reads(tu_world *w, const char *name)
{
	double deadline = tu_mono() + 20;
	long long reads;

	for (;;) {
		tu_sql(w->db, "SELECT pg_stat_clear_snapshot()");
		reads = tu_sql_int(w->db, "SELECT CASE WHEN idx_scan > 0 THEN"
		                   " idx_tup_read ELSE -1 END FROM"
		                   " pg_stat_user_indexes WHERE schemaname ="
		                   " '%s' AND indexrelname = '%s'", w->schema,
		                   name);
		if (reads >= 0 || tu_mono() > deadline)
			return reads;
		tu_nap_ms(50);
	}
}

/* Right after a run that walked the whole table, the measure starts at
 * that run's cutoff: it does not step over the index entries of the 5,000
 * rows the run just deleted (each a heap visit; seconds on a large
 * shuffled table), and still finds the oldest row left. */
static void the_measure_after_a_whole_run_starts_at_its_cutoff(void **st)
{
	tu_world *w = *st;
	char *out;
	long long reads;

	tu_sql(w->db, "CREATE TABLE %s.events (id int, kind text, created_at"
	       " timestamptz)", w->schema);
	tu_sql(w->db, "INSERT INTO %s.events SELECT g, 'a', now() - interval"
	       " '40 days' - g * interval '1 s' FROM generate_series(1, 5000)"
	       " g", w->schema);
	tu_sql(w->db, "INSERT INTO %s.events SELECT g, 'b', now() - interval"
	       " '2 days' FROM generate_series(5001, 5010) g", w->schema);
	tu_sql(w->db, "CREATE INDEX events_at ON %s.events (created_at)",
	       w->schema);
	world_job(w, "");
	out = job_cmd(w, "--run", 0);
	free(out);
	reads = index_reads(w, "events_at");
	if (reads < 0 || reads > 100)
		fail_msg("the measure after the run read %lld index entries"
		         " (the run left 5,000 dead ones; -1: never scanned)",
		         reads);
	out = job_cmd(w, "--status", 0);
	assert_contains(out, "oldest row:   2d (limit 30d) in ");
	free(out);
}

/* A run cut short by max_rows leaves old rows: its measure starts at the
 * oldest end and shows them. */
static void a_run_cut_short_is_measured_from_the_oldest_row(void **state)
{
	tu_world *w = *state;
	char *out;

	world_data(w);
	world_job(w, "max_rows = 5\n");
	out = job_cmd(w, "--run", 0);
	free(out);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events",
	                            w->schema), 15);
	out = job_cmd(w, "--status", -1);
	assert_contains(out, "oldest row:   40d (limit 30d) in ");
	free(out);
}

/* The value anonymize sets name to, as the job writes it and as SQL: a
 * quote and a backslash, which verify's literal must keep as they are. */
#define GONE "it's \\gone"
#define GONE_SQL "'it''s \\gone'"

/* schema.people for anonymize: 10 rows 60 days old already anonymized
 * (ids 1-10), 10 rows 40 days old with personal data in user_id, name
 * and meta (11-20), 10 such rows 1 day old (21-30). */
static void anon_data(tu_world *w)
{
	tu_sql(w->db, "CREATE TABLE %s.people (id int, created_at"
	       " timestamptz, user_id int, name text, meta jsonb)", w->schema);
	tu_sql(w->db, "CREATE INDEX ON %s.people (created_at)", w->schema);
	tu_sql(w->db, "INSERT INTO %s.people SELECT g, now() - interval"
	       " '60 days', NULL, " GONE_SQL ", '{\"n\": 1}' FROM"
	       " generate_series(1, 10) g", w->schema);
	tu_sql(w->db, "INSERT INTO %s.people SELECT g, now() - CASE WHEN"
	       " g <= 20 THEN interval '40 days' ELSE interval '1 day' END,"
	       " g, 'user ' || g, jsonb_build_object('n', g, 'profile',"
	       " jsonb_build_object('email', 'u@example.com'))"
	       " FROM generate_series(11, 30) g", w->schema);
}

/* A daily anonymize job over schema.people: 30d, user_id to NULL, name to
 * GONE, email out of meta. */
static void anon_job(tu_world *w)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\nschedule = @daily\n\n"
	         "[params]\ntable = %s.people\ntime_column = created_at\n"
	         "older_than = 30d\nset_null = user_id\nset = name = " GONE
	         "\n"
	         "json_column = meta\njson_strip_keys = email\n", w->job,
	         w->schema);
	tu_world_load(w, text);
}

/* anonymize's policy is rows past the limit without personal data: the
 * rows already anonymized (older still) are not its rows, young ones are
 * within it, and the old ones with personal data break it until a run. */
static void anonymize_violates_until_a_run_strips_old_rows(void **state)
{
	tu_world *w = *state;
	char *out;

	anon_data(w);
	anon_job(w);
	out = job_cmd(w, "--verify", 1);
	assert_contains(out, w->job);
	assert_contains(out, ".people: oldest row 40d");
	assert_contains(out, "limit 30d, period 1d: VIOLATED");
	free(out);
	out = job_cmd(w, "--run", 0);
	free(out);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.people"
	                            " WHERE user_id IS NULL", w->schema), 20);
	free(assert_policy_holds(w, ".people", "1d"));
}

/* A row missing one change is a row still to anonymize: each of set_null,
 * set and a key deep in json_column alone keeps an old row in the
 * policy's measure. */
static void anonymize_counts_a_row_missing_any_one_change(void **state)
{
	static const char *const partial[] = {
		"user_id = 7, name = " GONE_SQL ", meta = '{}'",
		"user_id = NULL, name = 'Ann', meta = '{}'",
		"user_id = NULL, name = " GONE_SQL ", meta ="
		" '{\"a\": [{\"b\": {\"Email\": 1}}]}'",
	};
	tu_world *w = *state;
	char *out;
	size_t i;

	anon_data(w);
	anon_job(w);
	out = job_cmd(w, "--run", 0);
	free(out);
	for (i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		tu_sql(w->db, "UPDATE %s.people SET %s WHERE id = 5",
		       w->schema, partial[i]);
		out = job_cmd(w, "--verify", 1);
		assert_contains(out, ".people: oldest row 60d");
		free(out);
		tu_sql(w->db, "UPDATE %s.people SET user_id = NULL, name ="
		       " " GONE_SQL ", meta = '{}' WHERE id = 5", w->schema);
		out = job_cmd(w, "--verify", 0);
		assert_contains(out, "oldest row 1d");
		free(out);
	}
}

/* Writes the empty file dir/name, its mtime days ago. */
static void put_file(const char *dir, const char *name, int days)
{
	char *path = tu_path(dir, name);
	FILE *fp = fopen(path, "w");
	struct timespec t[2];

	if (!fp)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	else
		assert_int_equal(fclose(fp), 0);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= (time_t)days * 24 * 3600;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	free(path);
}

/* schema.uploads (records of the files in dir/up) and schema.members,
 * whose avatar references them; the age in days of each record:
 *   old.png      40, unreferenced: an orphan past the limit
 *   ref.png      60, a member's avatar: referenced
 *   kept.png     70, kind 'keep', which where leaves out
 *   link.png     50, the file is a symbolic link: the run skips it
 *   shared.png   55 and 2: its file goes when both records do
 *   nulltime.png 80 and NULL: a record without a time never goes
 *   young.png     1
 * Every path but link.png has its file. */
static void orphan_data(tu_world *w)
{
	static const char *const files[] = {
		"old.png", "ref.png", "kept.png", "shared.png",
		"nulltime.png", "young.png",
	};
	char *up = tu_path(w->dir, "up"), *link;
	size_t i;

	assert_int_equal(mkdir(up, 0755), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put_file(up, files[i], 0);
	link = tu_path(up, "link.png");
	assert_int_equal(symlink("ref.png", link), 0);
	tu_sql(w->db, "CREATE TABLE %s.members (avatar text)", w->schema);
	tu_sql(w->db, "INSERT INTO %s.members VALUES ('ref.png')",
	       w->schema);
	tu_sql(w->db, "CREATE TABLE %s.uploads (id int, kind text, path text,"
	       " created_at timestamptz)", w->schema);
	tu_sql(w->db, "INSERT INTO %s.uploads SELECT id, kind, path, now() -"
	       " make_interval(days => d) FROM (VALUES (1, 'a', 'old.png',"
	       " 40), (2, 'a', 'ref.png', 60), (3, 'keep', 'kept.png', 70),"
	       " (4, 'a', 'link.png', 50), (5, 'a', 'shared.png', 55),"
	       " (6, 'a', 'shared.png', 2), (7, 'a', 'nulltime.png', 80),"
	       " (8, 'a', 'nulltime.png', NULL), (9, 'a', 'young.png', 1))"
	       " v(id, kind, path, d)", w->schema);
	free(link);
	free(up);
}

/* A daily orphan_files job in the records mode over schema.uploads and
 * dir/up, 30d, leaving out the records of kind 'keep'; one path a batch,
 * so that verify reads its paths in several. */
static void orphan_job(tu_world *w)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = orphan_files\nschedule = @daily\n"
	         "\n[params]\ndirectory = %s/up\nolder_than = 30d\n"
	         "references = %s.members.avatar\nfile_table = %s.uploads\n"
	         "file_path_column = path\ntime_column = created_at\n"
	         "where = kind <> 'keep'\nbatch_size = 1\n", w->job, w->dir,
	         w->schema,
	         w->schema);
	tu_world_load(w, text);
}

/* orphan_files' policy is its orphans: the oldest record the run would
 * take at some age.  A referenced record, one where leaves out, one whose
 * file is a link (skipped), one whose path a record without a time keeps
 * and an old record whose file a young record still shares are not
 * orphans past the limit; the 40-day orphan is, until a run takes it. */
static void orphan_files_violates_until_a_run_takes_old_orphans(void **st)
{
	tu_world *w = *st;
	char *out, *up;

	orphan_data(w);
	orphan_job(w);
	out = job_cmd(w, "--verify", 1);
	assert_contains(out, w->job);
	assert_contains(out, ".uploads: oldest row 40d");
	assert_contains(out, "limit 30d, period 1d: VIOLATED");
	free(out);
	out = job_cmd(w, "--run", 0);
	free(out);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.uploads",
	                            w->schema), 8);
	up = tu_path(w->dir, "up/old.png");
	assert_int_equal(access(up, F_OK), -1);
	free(up);
	free(assert_policy_holds(w, ".uploads", "2d"));
}

/* The walk mode's policy is its orphans too: the oldest file that no
 * reference holds, by mtime; a referenced file (one with a quote and a
 * backslash in its name too), one that pattern leaves out and a link
 * (which the run skips) are not its files.  A name that is not UTF-8 is
 * one no reference can hold: it counts and does not stop the measure.
 * Two paths a batch: the references are checked in several.  The measure
 * after the run walks the directory again and leaves the run's counters
 * as they were. */
static void orphan_files_walk_mode_violates_until_a_run(void **state)
{
	tu_world *w = *state;
	char *out, *dir, *path, text[1024];

	dir = tu_path(w->dir, "walk");
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(dir, "old.png", 40);
	put_file(dir, "ref.png", 60);
	put_file(dir, "old.txt", 70);
	put_file(dir, "young.png", 1);
	put_file(dir, "q\"uo\\te.png", 50);
	put_file(dir, "latin1-\xe9.png", 3);
	path = tu_path(dir, "link.png");
	assert_int_equal(symlink("ref.png", path), 0);
	free(path);
	tu_sql(w->db, "CREATE TABLE %s.members (avatar text)", w->schema);
	tu_sql(w->db, "INSERT INTO %s.members VALUES ('ref.png'),"
	       " (E'q\"uo\\\\te.png')", w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = orphan_files\nschedule = @daily\n"
	         "\n[params]\ndirectory = %s\nolder_than = 30d\n"
	         "pattern = *.png\nreferences = %s.members.avatar\n"
	         "batch_size = 2\n", w->job, dir, w->schema);
	tu_world_load(w, text);
	out = job_cmd(w, "--verify", 1);
	assert_contains(out, "/walk: oldest row 40d, limit 30d, period 1d:"
	                " VIOLATED");
	free(out);
	out = job_cmd(w, "--run", 0);
	free(out);
	out = assert_policy_holds(w, "/walk", "3d");
	/* the run's counters, not doubled by the measure after it */
	assert_contains(out, "\"examined\": 6,");
	assert_contains(out, "\"skipped\": 1,");
	free(out);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(old_rows_violate_until_a_run_deletes_them),
		T(a_paused_job_leaves_its_policy_violated),
		T(verify_measures_the_rows_where_matches),
		T(the_measure_after_a_whole_run_starts_at_its_cutoff),
		T(a_run_cut_short_is_measured_from_the_oldest_row),
		T(anonymize_violates_until_a_run_strips_old_rows),
		T(anonymize_counts_a_row_missing_any_one_change),
		T(orphan_files_violates_until_a_run_takes_old_orphans),
		T(orphan_files_walk_mode_violates_until_a_run),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
