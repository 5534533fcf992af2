/* End to end: a running daemon picks up what is dropped into conf.d or the
 * plugin directory by itself, without a signal (host/watch.c).  Each test
 * runs the real sweepd in the background over a scratch conf.d, with the
 * fixture plugin testjob (which records each run's start in the test's
 * table rec), changes files the way people and tools do (cp, an editor, mv,
 * a Kubernetes ConfigMap's symlink swap, rm), and waits for the effect: a
 * job's records in the database, a line of the daemon's log.
 *
 * Every test has its own schema and job names that start with it, and
 * waits on conditions up to a deadline rather than sleeping a fixed time;
 * the one sleep is a writer pausing in the middle of a file, which is the
 * thing tested.
 *
 * The first tests drive the watch module itself, on real directories and
 * real inotify, with the clock given: the quiet period, the names that
 * count, a writer holding the reload back.
 *
 * The daemon helpers (start, signal, stop, wait for a row or a log line)
 * are testdaemon.c's, shared with test_daemon.c and the others. */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testdaemon.h"
#include "testutil.h"
#include "watch.h"

/* What the running test set up, for teardown to clean even after a
 * failure. */
static struct {
	PGconn *db;
	char *schema;           /* also the prefix of every job name */
	char *conf;             /* scratch conf.d */
	char *stage;            /* scratch directory files are made in */
	char *plugins;          /* scratch plugin directory, or NULL */
} T;

/* How the tests run sweepd in the background: `sweepd --log-level debug
 * ARGS`, standard output and error in its log. */
static const td_opts DEBUG_LOG = {.args = "--log-level debug"};

/* ---------------------------------------------------------------- files */

/* The name of the test's job called suffix: SCHEMA-suffix. */
static void job_name(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s-%s", T.schema, suffix);
}

/* The text of a job file: job name over testjob every second, recording
 * into the test's table rec under the label tag. */
static void testjob_text(buf *b, const char *name, const char *tag)
{
	buf_printf(b, "[job]\nname = %s\nplugin = testjob\nschedule = "
	           "* * * * * *\n[params]\nrecord = %s.rec\njob = %s\n", name,
	           T.schema, tag);
}

/* Writes dir/file: the job of testjob_text(). */
static void write_testjob(const char *dir, const char *file,
                          const char *name, const char *tag)
{
	buf b = BUF_INIT;

	testjob_text(&b, name, tag);
	tu_write(dir, file, buf_str(&b));
	buf_free(&b);
}

/* Runs a shell command (printf-style), which must succeed. */
static void sh(const char *fmt, ...) SWEEP_PRINTF(1, 2);

static void sh(const char *fmt, ...)
{
	buf cmd = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	if (tu_run(NULL, NULL, "%s", buf_str(&cmd)) != 0)
		fail_msg("command failed: %s", buf_str(&cmd));
	buf_free(&cmd);
}

/* ------------------------------------------------------------- daemons */

/* How many times needle occurs in d's log. */
static int log_count(td_proc *d, const char *needle)
{
	char *text = td_log(d);
	const char *p = text;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	free(text);
	return n;
}

/* Fails the test, showing the logs, unless needle occurs in d's log
 * exactly n times. */
static void assert_log_count(td_proc *d, const char *needle, int n)
{
	int got = log_count(d, needle);

	if (got != n) {
		td_show_logs();
		fail_msg("\"%s\" is %d times in the log, not %d", needle, got, n);
	}
}

/* Records of rec labelled tag. */
static long long records(const char *tag)
{
	return tu_sql_int(T.db, "SELECT count(*) FROM %s.rec WHERE job = '%s'",
	                  T.schema, tag);
}

/* Waits until tag has at least n records. */
static void wait_records(const char *tag, long long n)
{
	td_wait_for(T.db, "SELECT count(*) >= %lld FROM %s.rec WHERE job = '%s'",
	            n, T.schema, tag);
}

/* ------------------------------------------------------ setup/teardown */

/* Sets up the test: a connection, schema PREFIX_PID with the record table
 * rec (job, at), a scratch conf.d and a staging directory. */
static void begin(const char *prefix)
{
	memset(&T, 0, sizeof(T));
	T.db = tu_db();
	T.schema = tu_schema(T.db, prefix);
	T.conf = tu_tempdir();
	T.stage = tu_tempdir();
	tu_sql(T.db, "CREATE TABLE %s.rec (job text NOT NULL, at timestamptz"
	       " NOT NULL)", T.schema);
	td_begin(&DEBUG_LOG);
}

/* Removes dir (may be NULL) and frees its name. */
static void drop_dir(char *dir)
{
	if (dir == NULL)
		return;
	tu_rmtree(dir);
	free(dir);
}

/* Kills what a failed test left running and removes everything the test
 * made: daemons, directories, its history rows and schema. */
static int teardown(void **state)
{
	(void)state;
	td_end();
	if (T.db != NULL) {
		if (T.schema != NULL)
			tu_schema_drop(T.db, T.schema);
		PQfinish(T.db);
	}
	drop_dir(T.conf);
	drop_dir(T.stage);
	drop_dir(T.plugins);
	free(T.schema);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* Starts sweepd over the test's conf.d with the fixtures as its plugin
 * directory (testjob is there) and more ARGS, and waits until it runs. */
static td_proc *start(const char *args)
{
	td_proc *d = td_start("--conf-dir '%s' --plugin-dir "
	                          SWEEPD_FIXTURE_DIR " %s", T.conf, args);

	td_wait_log(d, "scheduler started");
	return d;
}

/* ------------------------------------------------------- watch module */

/* Directories and a watch of them, for the module's tests. */
static struct {
	char *conf;
	char *plugins;
	settings s;
	watch *w;
} W;

/* Watches two new scratch directories (plugin_dir the conf dir itself
 * when same). */
static void watch_begin(bool same)
{
	memset(&W, 0, sizeof(W));
	W.conf = tu_tempdir();
	W.plugins = tu_tempdir();
	W.s.conf_dir = W.conf;
	W.s.plugin_dir = same ? W.conf : W.plugins;
	W.s.watch = true;
	W.w = watch_open(&W.s);
	assert_non_null(W.w);
	assert_true(watch_fd(W.w) >= 0);
}

static int watch_teardown(void **state)
{
	(void)state;
	watch_close(W.w);
	drop_dir(W.conf);
	drop_dir(W.plugins);
	memset(&W, 0, sizeof(W));
	return 0;
}

/* Fails unless the reload is due at now_ms with exactly reason. */
static void assert_due(int64_t now_ms, const char *reason)
{
	char got[512];

	assert_true(watch_due(W.w, now_ms, got, sizeof(got)));
	assert_string_equal(got, reason);
}

/* Each change starts the quiet period anew; the reload is due once it
 * ends, once, naming what changed. */
static void quiet_period_starts_anew_with_each_change(void **state)
{
	char reason[256];

	(void)state;
	watch_begin(false);
	assert_int_equal(watch_poll_ms(W.w, 0, -1), -1);
	tu_write(W.conf, "a.ini", "[job]\n");
	assert_true(watch_read(W.w, 0));
	assert_int_equal(watch_poll_ms(W.w, 0, -1), WATCH_QUIET_MS);
	assert_int_equal(watch_poll_ms(W.w, 0, 300), 300);
	tu_write(W.conf, "b.so", "not really\n");
	tu_write(W.plugins, "c.so", "not really\n");
	tu_write(W.conf, "a.ini", "[job]\nname = a\n");
	assert_true(watch_read(W.w, 600));
	assert_int_equal(watch_poll_ms(W.w, 600, -1), WATCH_QUIET_MS);
	assert_false(watch_due(W.w, 600 + WATCH_QUIET_MS - 1, reason,
	                       sizeof(reason)));
	assert_due(600 + WATCH_QUIET_MS, "conf.d changed: a.ini, b.so; "
	           "plugin_dir changed: c.so");
	assert_false(watch_due(W.w, 100000, reason, sizeof(reason)));
	assert_int_equal(watch_poll_ms(W.w, 100000, -1), -1);
}

/* Editors' and tools' files, and job files in the plugin dir, are no
 * change; a job file's rename, deletion and touch are. */
static void only_what_the_loader_reads_counts(void **state)
{
	static const char *const ignored[] = {".a.ini.swp", "a.ini~",
	                                      ".#a.ini", "4913", "#a.ini#",
	                                      ".a.ini.tmp", "notes.txt",
	                                      "a.ini.bak", "..data_tmp"};
	size_t i;

	(void)state;
	watch_begin(false);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		tu_write(W.conf, ignored[i], "x\n");
	tu_write(W.plugins, "a.ini", "[job]\n");
	sh("mkdir '%s/sub.ini' && rm '%s/4913'", W.conf, W.conf);
	assert_false(watch_read(W.w, 0));
	assert_int_equal(watch_poll_ms(W.w, 0, -1), -1);
	sh("mv '%s/.a.ini.tmp' '%s/a.ini'", W.conf, W.conf);
	assert_true(watch_read(W.w, 0));
	assert_due(WATCH_QUIET_MS, "conf.d changed: a.ini");
	sh("touch '%s/a.ini'", W.conf);
	assert_true(watch_read(W.w, 0));
	assert_due(WATCH_QUIET_MS, "conf.d changed: a.ini");
	sh("mv '%s/a.ini' '%s/b.ini.off' && rm '%s/a.ini~'", W.conf, W.conf,
	   W.conf);
	assert_true(watch_read(W.w, 0));
	assert_due(WATCH_QUIET_MS, "conf.d changed: a.ini");
}

/* A file open for writing holds the reload until it is closed, or its
 * writer was silent WATCH_HOLD_MS. */
static void file_being_written_holds_the_reload(void **state)
{
	char *path;
	int fd;

	(void)state;
	watch_begin(false);
	path = tu_path(W.conf, "h.ini");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[job]\n", 6), 6);
	assert_true(watch_read(W.w, 0));
	tu_write(W.conf, "o.ini", "[job]\n");
	assert_true(watch_read(W.w, 100));
	assert_int_equal(watch_poll_ms(W.w, 100, -1), WATCH_HOLD_MS - 100);
	assert_int_equal(write(fd, "name = h\n", 9), 9);
	assert_false(watch_read(W.w, 5000));
	assert_int_equal(watch_poll_ms(W.w, 5000, -1), WATCH_HOLD_MS);
	assert_int_equal(close(fd), 0);
	assert_true(watch_read(W.w, 6000));
	assert_int_equal(watch_poll_ms(W.w, 6000, -1), WATCH_QUIET_MS);
	assert_due(6000 + WATCH_QUIET_MS, "conf.d changed: h.ini, o.ini");

	/* A writer that stays silent no longer holds it. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[job]\n", 6), 6);
	tu_write(W.conf, "o.ini", "[job]\n");
	assert_true(watch_read(W.w, 0));
	assert_int_equal(watch_poll_ms(W.w, 0, -1), WATCH_HOLD_MS);
	assert_due(WATCH_HOLD_MS, "conf.d changed: o.ini");
	assert_int_equal(close(fd), 0);
	assert_true(watch_read(W.w, 20000));
	assert_due(20000 + WATCH_QUIET_MS, "conf.d changed: h.ini");
	free(path);
}

/* One directory for both: watched once, as the conf dir.  watch = false:
 * no watch, and the NULL watch is inert. */
static void one_dir_for_both_and_watch_false(void **state)
{
	char reason[64];

	(void)state;
	watch_begin(true);
	tu_write(W.conf, "a.ini", "[job]\n");
	tu_write(W.conf, "p.so", "x\n");
	assert_true(watch_read(W.w, 0));
	assert_due(WATCH_QUIET_MS, "conf.d changed: a.ini, p.so");
	W.s.watch = false;
	assert_null(watch_open(&W.s));
	assert_int_equal(watch_fd(NULL), -1);
	assert_false(watch_read(NULL, 0));
	assert_int_equal(watch_poll_ms(NULL, 0, 7), 7);
	assert_false(watch_due(NULL, 0, reason, sizeof(reason)));
}

/* ---------------------------------------------------------------- tests */

/* 1. The issue: a .so and an .ini copied into the conf.d of a running
 * daemon (the .ini first, the order that would break a reload in
 * between) load together, once, and the job runs at its next tick. */
static void copied_plugin_and_job_run_without_a_signal(void **state)
{
	char nu[128];
	td_proc *d;

	(void)state;
	begin("wch_cp");
	job_name(nu, sizeof(nu), "new");
	write_testjob(T.stage, "new.ini", nu, nu);
	/* The shipped plugins only: testjob comes with the drop. */
	d = td_start("--conf-dir '%s' --plugin-dir " SWEEPD_PLUGIN_DIR,
	             T.conf);
	td_wait_log(d, "scheduler started");
	sh("cp '%s/new.ini' '%s/' && cp " SWEEPD_FIXTURE_DIR "/testjob.so"
	   " '%s/'", T.stage, T.conf, T.conf);
	wait_records(nu, 1);
	assert_log_count(d, "reason=\"conf.d changed: new.ini, testjob.so\"",
	                 1);
	assert_log_count(d, "event=reloading", 1);
	assert_log_count(d, "configuration problem", 0);
	assert_int_equal(td_stop(d), 0);
}

/* 2. A writer that pauses in the middle of a job file (longer than the
 * quiet period) while another file is dropped: the reload waits for the
 * file to be closed, so the half (which would parse, as another job) is
 * never loaded. */
static void file_written_in_two_parts_never_loads_half(void **state)
{
	char half[128], other[128], whole[160];
	buf b = BUF_INIT;
	td_proc *d;
	char *path;
	int fd;

	(void)state;
	begin("wch_half");
	job_name(half, sizeof(half), "half");
	job_name(other, sizeof(other), "other");
	snprintf(whole, sizeof(whole), "%s-whole", half);
	write_testjob(T.stage, "other.ini", other, other);
	d = start("");
	/* The first part ends in the middle of the label. */
	testjob_text(&b, half, half);
	b.len--;
	path = tu_path(T.conf, "half.ini");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	sh("cp '%s/other.ini' '%s/'", T.stage, T.conf);
	tu_nap_ms(2500);
	assert_int_equal(write(fd, "-whole\n", 7), 7);
	assert_int_equal(close(fd), 0);
	wait_records(whole, 1);
	wait_records(other, 1);
	assert_int_equal(records(half), 0);
	assert_log_count(d, "event=reloading", 1);
	assert_log_count(d, "reason=\"conf.d changed: half.ini, other.ini\"",
	                 1);
	assert_log_count(d, "configuration problem", 0);
	assert_int_equal(td_stop(d), 0);
	buf_free(&b);
	free(path);
}

/* 3. Written aside under a dot name and moved into place, among an
 * editor's leftovers (swap, backup, lock, vim's probe file): one reload,
 * for the file moved in only. */
static void file_moved_into_place_loads_and_editor_files_do_not(void **state)
{
	char nu[128];
	td_proc *d;

	(void)state;
	begin("wch_mv");
	job_name(nu, sizeof(nu), "new");
	d = start("");
	tu_writef(T.conf, ".new.ini.swp", "swap\n");
	tu_writef(T.conf, "new.ini~", "backup\n");
	tu_writef(T.conf, ".#new.ini", "lock\n");
	tu_write(T.conf, "4913", "");
	sh("rm '%s/4913'", T.conf);
	write_testjob(T.conf, ".new.ini", nu, nu);
	sh("mv '%s/.new.ini' '%s/new.ini'", T.conf, T.conf);
	wait_records(nu, 1);
	assert_log_count(d, "event=reloading", 1);
	assert_log_count(d, "reason=\"conf.d changed: new.ini\"", 1);
	assert_int_equal(td_stop(d), 0);
}

/* 4. A Kubernetes ConfigMap volume: the files are symlinks into ..data,
 * itself a symlink to a timestamped directory, and an update writes a new
 * directory and swaps ..data by a rename, as kubelet's atomic writer
 * does; a new key then gets its symlink, a removed key loses it. */
static void configmap_symlink_swap_reloads(void **state)
{
	char j[128], a[160], b[160], k[128];
	const char *c;
	td_proc *d;

	(void)state;
	begin("wch_cm");
	c = T.conf;
	job_name(j, sizeof(j), "cm");
	job_name(k, sizeof(k), "key");
	snprintf(a, sizeof(a), "%s-a", j);
	snprintf(b, sizeof(b), "%s-b", j);
	sh("mkdir '%s/..2026_01_01_00_00_00.1'", c);
	write_testjob(c, "..2026_01_01_00_00_00.1/job.ini", j, a);
	sh("cd '%s' && ln -s ..2026_01_01_00_00_00.1 ..data &&"
	   " ln -s ..data/job.ini job.ini", c);
	d = start("");
	wait_records(a, 1);

	/* An update of job.ini: only ..data changes in conf.d. */
	sh("mkdir '%s/..2026_01_01_00_00_00.2'", c);
	write_testjob(c, "..2026_01_01_00_00_00.2/job.ini", j, b);
	write_testjob(c, "..2026_01_01_00_00_00.2/key.ini", k, k);
	sh("cd '%s' && ln -s ..2026_01_01_00_00_00.2 ..data_tmp &&"
	   " mv -T ..data_tmp ..data && rm -rf ..2026_01_01_00_00_00.1", c);
	wait_records(b, 1);
	assert_int_equal(records(k), 0);

	/* A new key: its symlink appears. */
	sh("cd '%s' && ln -s ..data/key.ini key.ini", c);
	wait_records(k, 1);

	/* A removed key: a new directory without it, the swap, the symlink
	 * removed. */
	sh("cd '%s' && mkdir ..2026_01_01_00_00_00.3 &&"
	   " cp ..data/key.ini ..2026_01_01_00_00_00.3/ &&"
	   " ln -s ..2026_01_01_00_00_00.3 ..data_tmp && mv -T ..data_tmp ..data"
	   " && rm job.ini && rm -rf ..2026_01_01_00_00_00.2", c);
	td_wait_log(d, "event=\"job removed\"");
	assert_log_count(d, "configuration problem", 0);
	assert_int_equal(td_stop(d), 0);
}

/* 5. A job file deleted: its job goes; the other job, running every
 * second, is the clock. */
static void deleted_file_removes_its_job(void **state)
{
	char gone[128], clock[128];
	td_proc *d;
	long long g, n;

	(void)state;
	begin("wch_rm");
	job_name(gone, sizeof(gone), "gone");
	job_name(clock, sizeof(clock), "clock");
	write_testjob(T.conf, "gone.ini", gone, gone);
	write_testjob(T.conf, "clock.ini", clock, clock);
	d = start("");
	wait_records(gone, 1);
	sh("rm '%s/gone.ini'", T.conf);
	td_wait_log(d, "event=\"job removed\"");
	assert_log_count(d, "reason=\"conf.d changed: gone.ini\"", 1);
	/* A run already started when the job went may still record. */
	g = records(gone);
	n = records(clock);
	wait_records(clock, n + 3);
	assert_true(records(gone) <= g + 1);
	assert_int_equal(td_stop(d), 0);
}

/* A job dropped into conf.d of a daemon started with args and the
 * sweepd.ini text ini (NULL: none) is not loaded while the clock job
 * runs three more ticks; SIGHUP loads it. */
static void dropped_job_waits_for_sighup(const char *prefix,
                                         const char *args, const char *ini)
{
	char nu[128], clock[128];
	td_proc *d;

	begin(prefix);
	job_name(nu, sizeof(nu), "new");
	job_name(clock, sizeof(clock), "clock");
	if (ini != NULL)
		tu_writef(T.conf, "sweepd.ini", "%s", ini);
	write_testjob(T.conf, "clock.ini", clock, clock);
	d = start(args);
	td_wait_log(d, "event=\"conf.d not watched\"");
	wait_records(clock, 1);
	write_testjob(T.conf, "new.ini", nu, nu);
	wait_records(clock, records(clock) + 3);
	assert_int_equal(records(nu), 0);
	assert_log_count(d, "event=reloading", 0);
	td_signal(d, SIGHUP);
	wait_records(nu, 1);
	assert_log_count(d, "event=reloading reason=SIGHUP", 1);
	assert_int_equal(td_stop(d), 0);
}

/* 6. [sweepd] watch = false: nothing changes until SIGHUP. */
static void watch_false_waits_for_sighup(void **state)
{
	(void)state;
	dropped_job_waits_for_sighup("wch_off", "",
	                             "[sweepd]\nwatch = false\n");
}

/* 7. --no-watch: the same. */
static void no_watch_flag_waits_for_sighup(void **state)
{
	(void)state;
	dropped_job_waits_for_sighup("wch_flag", "--no-watch", NULL);
}

/* 8. A plugin copied into the plugin directory loads the job that was
 * waiting for it; job files are not read there, so an .ini there is no
 * change. */
static void plugin_dropped_into_plugin_dir_loads(void **state)
{
	char nu[128];
	td_proc *d;

	(void)state;
	begin("wch_pdir");
	T.plugins = tu_tempdir();
	job_name(nu, sizeof(nu), "new");
	write_testjob(T.conf, "new.ini", nu, nu);
	d = td_start("--conf-dir '%s' --plugin-dir '%s'", T.conf,
	             T.plugins);
	td_wait_log(d, "plugin 'testjob' not found");
	tu_writef(T.plugins, "stray.ini", "[job]\n");
	tu_copy(SWEEPD_FIXTURE_DIR "/testjob.so", T.plugins, "testjob.so");
	wait_records(nu, 1);
	assert_log_count(d, "reason=\"plugin_dir changed: testjob.so\"", 1);
	assert_log_count(d, "event=reloading", 1);
	assert_int_equal(td_stop(d), 0);
}

/* 9. A change while the daemon stops (waiting for a run that ignores the
 * stop) is let go, without the daemon spinning on it once it falls due. */
static void stopping_daemon_lets_changes_go_without_spinning(void **state)
{
	char j[128], nu[128];
	td_proc *d;
	long before, used;

	(void)state;
	begin("wch_spin");
	job_name(j, sizeof(j), "stubborn");
	job_name(nu, sizeof(nu), "new");
	tu_writef(T.conf, "stubborn.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = * * * * * *\n[params]\nrecord = %s.rec\n"
	          "job = %s\nmode = loop\n", j, T.schema, j);
	d = start("--stop-grace 4s");
	wait_records(j, 1);
	td_signal(d, SIGTERM);
	td_wait_log(d, "event=stopping");
	write_testjob(T.conf, "new.ini", nu, nu);
	before = tu_cpu_ticks(d->pid);
	tu_nap_ms(2500);
	used = tu_cpu_ticks(d->pid) - before;
	assert_int_equal(td_wait(d), 0);
	/* Spinning from the change's due instant on would be about 150
	 * ticks (100 a second). */
	if (used > 25)
		fail_msg("the stopping daemon used %ld clock ticks in 2.5 s", used);
	assert_log_count(d, "event=reloading", 0);
	assert_int_equal(records(nu), 0);
}

/* 10. A watch value that is not a boolean is refused, naming where. */
static void bad_watch_value_is_refused(void **state)
{
	char *dir = tu_tempdir(), *err = NULL;

	(void)state;
	tu_writef(dir, "sweepd.ini", "[sweepd]\nwatch = sometimes\n");
	assert_int_equal(tu_run(NULL, &err, SWEEPD_BIN " --conf-dir '%s'"
	                        " --check", dir), 2);
	assert_contains(err, "sweepd.ini:2: watch: 'sometimes' is not a "
	                "boolean; write true or false");
	free(err);
	err = NULL;
	assert_int_equal(tu_run(NULL, &err, SWEEPD_BIN " --conf-dir '%s'"
	                        " --watch=perhaps --list-jobs", dir), 2);
	assert_contains(err, "--watch: watch: 'perhaps' is not a boolean");
	free(err);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			quiet_period_starts_anew_with_each_change,
			watch_teardown),
		cmocka_unit_test_teardown(only_what_the_loader_reads_counts,
		                          watch_teardown),
		cmocka_unit_test_teardown(file_being_written_holds_the_reload,
		                          watch_teardown),
		cmocka_unit_test_teardown(one_dir_for_both_and_watch_false,
		                          watch_teardown),
		cmocka_unit_test(bad_watch_value_is_refused),
		cmocka_unit_test_teardown(
			copied_plugin_and_job_run_without_a_signal, teardown),
		cmocka_unit_test_teardown(
			file_written_in_two_parts_never_loads_half, teardown),
		cmocka_unit_test_teardown(
			file_moved_into_place_loads_and_editor_files_do_not,
			teardown),
		cmocka_unit_test_teardown(configmap_symlink_swap_reloads,
		                          teardown),
		cmocka_unit_test_teardown(deleted_file_removes_its_job,
		                          teardown),
		cmocka_unit_test_teardown(watch_false_waits_for_sighup,
		                          teardown),
		cmocka_unit_test_teardown(no_watch_flag_waits_for_sighup,
		                          teardown),
		cmocka_unit_test_teardown(plugin_dropped_into_plugin_dir_loads,
		                          teardown),
		cmocka_unit_test_teardown(
			stopping_daemon_lets_changes_go_without_spinning,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
