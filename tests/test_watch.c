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
 * The daemon helpers are those of test_daemon.c, copied (that file keeps
 * its own): start, signal, stop, wait for a row or a log line. */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testutil.h"
#include "watch.h"

/* Longest wait for a condition, and for a daemon to exit once told to. */
#define WAIT_S 20
#define STOP_WAIT_S 30
/* Most daemons one test runs. */
#define MAX_DAEMONS 2

/* A sweepd started in the background: its directory holds its log, its
 * pid and, once it exited, its exit status (written by the wrapper shell,
 * since the daemon is not our child). */
typedef struct daemon_proc {
	char *run;
	pid_t pid;
	int rc;                 /* exit status; -1 while not seen to exit */
	bool told;              /* sent a signal that stops it: may exit */
} daemon_proc;

/* What the running test set up, for teardown to clean even after a
 * failure. */
static struct {
	PGconn *db;
	char *schema;           /* also the prefix of every job name */
	char *conf;             /* scratch conf.d */
	char *stage;            /* scratch directory files are made in */
	char *plugins;          /* scratch plugin directory, or NULL */
	daemon_proc d[MAX_DAEMONS];
	size_t nd;
} T;

/* ---------------------------------------------------------------- files */

/* The content of path as a new string, or NULL when it does not exist. */
static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	buf_puts(&b, "");
	return buf_detach(&b);
}

/* Writes a printf-style text to dir/name. */
static void write_file(const char *dir, const char *name, const char *fmt,
                       ...) SWEEP_PRINTF(3, 4);

static void write_file(const char *dir, const char *name, const char *fmt,
                       ...)
{
	buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	tu_write(dir, name, buf_str(&b));
	buf_free(&b);
}

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

/* Prints the end of the log of every daemon the test started. */
static void show_logs(void)
{
	size_t i;

	for (i = 0; i < T.nd; i++) {
		printf("---- sweepd #%zu (pid %ld) log, last lines:\n", i,
		       (long)T.d[i].pid);
		fflush(stdout);
		tu_run(NULL, NULL, "tail -n 60 '%s/log'", T.d[i].run);
	}
	fflush(stdout);
}

/* True once d exited (its wrapper wrote rc); sets d->rc. */
static bool daemon_exited(daemon_proc *d)
{
	char *path, *text;

	if (d->rc >= 0)
		return true;
	path = tu_path(d->run, "rc");
	text = read_text(path);
	free(path);
	if (text == NULL)
		return false;
	d->rc = atoi(text);
	free(text);
	return true;
}

/* Fails the test when a daemon that should be running exited. */
static void check_daemons_alive(void)
{
	size_t i;

	for (i = 0; i < T.nd; i++)
		if (T.d[i].pid > 0 && !T.d[i].told && T.d[i].rc < 0 &&
		    daemon_exited(&T.d[i])) {
			show_logs();
			fail_msg("sweepd #%zu exited early with status %d", i,
			         T.d[i].rc);
		}
}

/* Starts `sweepd --log-level debug ARGS` (printf-style) in the background
 * through the shell, without core dumps, and returns it once its pid is
 * known.  Its log, pid and exit status go to files in a directory of its
 * own. */
static daemon_proc *daemon_start(const char *fmt, ...) SWEEP_PRINTF(1, 2);

static daemon_proc *daemon_start(const char *fmt, ...)
{
	daemon_proc *d;
	buf args = BUF_INIT;
	va_list ap;
	char *path, *text = NULL;
	double deadline = tu_mono() + WAIT_S;
	const char *r;

	assert_true(T.nd < MAX_DAEMONS);
	d = &T.d[T.nd++];
	d->run = tu_tempdir();
	d->pid = 0;
	d->rc = -1;
	d->told = false;
	r = d->run;
	va_start(ap, fmt);
	buf_vprintf(&args, fmt, ap);
	va_end(ap);
	assert_int_equal(tu_run(NULL, NULL, "( ulimit -c 0; " SWEEPD_BIN
	                        " --log-level debug %s </dev/null >'%s/log' 2>&1"
	                        " & echo $! >'%s/pid.new' && mv '%s/pid.new'"
	                        " '%s/pid'; wait $!; echo $? >'%s/rc.new' &&"
	                        " mv '%s/rc.new' '%s/rc' ) </dev/null >/dev/null"
	                        " 2>&1 &", buf_str(&args), r, r, r, r, r, r, r),
	                 0);
	buf_free(&args);
	path = tu_path(d->run, "pid");
	while ((text = read_text(path)) == NULL && tu_mono() < deadline)
		tu_nap_ms(10);
	free(path);
	if (text == NULL)
		fail_msg("sweepd did not start");
	d->pid = (pid_t)atol(text);
	free(text);
	assert_true(d->pid > 1);
	return d;
}

/* Sends sig to d, which must be running; after a signal that stops it,
 * d may exit without failing the test (the others still may not). */
static void daemon_signal(daemon_proc *d, int sig)
{
	check_daemons_alive();
	d->told = d->told || sig == SIGTERM || sig == SIGINT || sig == SIGKILL;
	assert_int_equal(kill(d->pid, sig), 0);
}

/* Waits for d to exit after a signal; returns its exit status. */
static int daemon_wait(daemon_proc *d)
{
	double deadline = tu_mono() + STOP_WAIT_S;

	while (!daemon_exited(d)) {
		if (tu_mono() > deadline) {
			kill(d->pid, SIGKILL);
			show_logs();
			fail_msg("sweepd did not exit within %d s of SIGTERM",
			         STOP_WAIT_S);
		}
		tu_nap_ms(20);
	}
	return d->rc;
}

/* Stops d with SIGTERM; returns its exit status. */
static int daemon_stop(daemon_proc *d)
{
	daemon_signal(d, SIGTERM);
	return daemon_wait(d);
}

/* CPU time (user + system, in clock ticks) pid has used so far. */
static long cpu_ticks(pid_t pid)
{
	char path[64], *text, *p;
	long utime = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = read_text(path);
	assert_non_null(text);
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	p = strrchr(text, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u"
	                        " %*u %*u %ld %ld", &utime, &stime), 2);
	free(text);
	return utime + stime;
}

/* d's log so far, a new string. */
static char *log_text(daemon_proc *d)
{
	char *path = tu_path(d->run, "log");
	char *text = read_text(path);

	free(path);
	return text ? text : strdup("");
}

/* How many times needle occurs in d's log. */
static int log_count(daemon_proc *d, const char *needle)
{
	char *text = log_text(d);
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
static void assert_log_count(daemon_proc *d, const char *needle, int n)
{
	int got = log_count(d, needle);

	if (got != n) {
		show_logs();
		fail_msg("\"%s\" is %d times in the log, not %d", needle, got, n);
	}
}

/* Polls, every 100 ms up to WAIT_S, until the boolean query (printf-style;
 * a whole SELECT returning one row) holds on c, failing the test (with the
 * daemons' logs) when it does not, or when a daemon exits meanwhile. */
static void wait_for(PGconn *c, const char *fmt, ...) SWEEP_PRINTF(2, 3);

static void wait_for(PGconn *c, const char *fmt, ...)
{
	buf sql = BUF_INIT;
	va_list ap;
	double deadline = tu_mono() + WAIT_S;

	va_start(ap, fmt);
	buf_vprintf(&sql, fmt, ap);
	va_end(ap);
	for (;;) {
		if (tu_sql_int(c, "SELECT coalesce((%s), false)::int",
		               buf_str(&sql)) == 1)
			break;
		check_daemons_alive();
		if (tu_mono() > deadline) {
			show_logs();
			fail_msg("waited %d s in vain for: %s", WAIT_S,
			         buf_str(&sql));
		}
		tu_nap_ms(100);
	}
	buf_free(&sql);
}

/* Polls, up to WAIT_S, until d's log contains needle. */
static void wait_log(daemon_proc *d, const char *needle)
{
	double deadline = tu_mono() + WAIT_S;

	while (log_count(d, needle) == 0) {
		check_daemons_alive();
		if (tu_mono() > deadline) {
			show_logs();
			fail_msg("waited %d s in vain for \"%s\" in the log",
			         WAIT_S, needle);
		}
		tu_nap_ms(100);
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
	wait_for(T.db, "SELECT count(*) >= %lld FROM %s.rec WHERE job = '%s'",
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
	size_t i;

	(void)state;
	for (i = 0; i < T.nd; i++) {
		daemon_proc *d = &T.d[i];

		if (d->pid > 0 && !daemon_exited(d)) {
			double deadline = tu_mono() + STOP_WAIT_S;

			printf("teardown: sweepd #%zu still running; stopping it\n",
			       i);
			show_logs();
			kill(d->pid, SIGTERM);
			while (!daemon_exited(d) && tu_mono() < deadline)
				tu_nap_ms(20);
			if (!daemon_exited(d)) {
				kill(d->pid, SIGKILL);
				while (!daemon_exited(d))
					tu_nap_ms(20);
			}
		}
		drop_dir(d->run);
	}
	if (T.db != NULL) {
		if (T.schema != NULL) {
			if (tu_sql_int(T.db, "SELECT (to_regclass('sweepd.runs')"
			               " IS NOT NULL)::int") == 1)
				tu_sql(T.db, "DELETE FROM sweepd.runs WHERE"
				       " starts_with(job, '%s-')", T.schema);
			tu_sql(T.db, "DROP SCHEMA IF EXISTS %s CASCADE", T.schema);
		}
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
static daemon_proc *start(const char *args)
{
	daemon_proc *d = daemon_start("--conf-dir '%s' --plugin-dir "
	                              SWEEPD_FIXTURE_DIR " %s", T.conf, args);

	wait_log(d, "scheduler started");
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
	daemon_proc *d;

	(void)state;
	begin("wch_cp");
	job_name(nu, sizeof(nu), "new");
	write_testjob(T.stage, "new.ini", nu, nu);
	/* The shipped plugins only: testjob comes with the drop. */
	d = daemon_start("--conf-dir '%s' --plugin-dir " SWEEPD_PLUGIN_DIR,
	                 T.conf);
	wait_log(d, "scheduler started");
	sh("cp '%s/new.ini' '%s/' && cp " SWEEPD_FIXTURE_DIR "/testjob.so"
	   " '%s/'", T.stage, T.conf, T.conf);
	wait_records(nu, 1);
	assert_log_count(d, "reason=\"conf.d changed: new.ini, testjob.so\"",
	                 1);
	assert_log_count(d, "event=reloading", 1);
	assert_log_count(d, "configuration problem", 0);
	assert_int_equal(daemon_stop(d), 0);
}

/* 2. A writer that pauses in the middle of a job file (longer than the
 * quiet period) while another file is dropped: the reload waits for the
 * file to be closed, so the half (which would parse, as another job) is
 * never loaded. */
static void file_written_in_two_parts_never_loads_half(void **state)
{
	char half[128], other[128], whole[160];
	buf b = BUF_INIT;
	daemon_proc *d;
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
	assert_int_equal(daemon_stop(d), 0);
	buf_free(&b);
	free(path);
}

/* 3. Written aside under a dot name and moved into place, among an
 * editor's leftovers (swap, backup, lock, vim's probe file): one reload,
 * for the file moved in only. */
static void file_moved_into_place_loads_and_editor_files_do_not(void **state)
{
	char nu[128];
	daemon_proc *d;

	(void)state;
	begin("wch_mv");
	job_name(nu, sizeof(nu), "new");
	d = start("");
	write_file(T.conf, ".new.ini.swp", "swap\n");
	write_file(T.conf, "new.ini~", "backup\n");
	write_file(T.conf, ".#new.ini", "lock\n");
	tu_write(T.conf, "4913", "");
	sh("rm '%s/4913'", T.conf);
	write_testjob(T.conf, ".new.ini", nu, nu);
	sh("mv '%s/.new.ini' '%s/new.ini'", T.conf, T.conf);
	wait_records(nu, 1);
	assert_log_count(d, "event=reloading", 1);
	assert_log_count(d, "reason=\"conf.d changed: new.ini\"", 1);
	assert_int_equal(daemon_stop(d), 0);
}

/* 4. A Kubernetes ConfigMap volume: the files are symlinks into ..data,
 * itself a symlink to a timestamped directory, and an update writes a new
 * directory and swaps ..data by a rename, as kubelet's atomic writer
 * does; a new key then gets its symlink, a removed key loses it. */
static void configmap_symlink_swap_reloads(void **state)
{
	char j[128], a[160], b[160], k[128];
	const char *c;
	daemon_proc *d;

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
	wait_log(d, "event=\"job removed\"");
	assert_log_count(d, "configuration problem", 0);
	assert_int_equal(daemon_stop(d), 0);
}

/* 5. A job file deleted: its job goes; the other job, running every
 * second, is the clock. */
static void deleted_file_removes_its_job(void **state)
{
	char gone[128], clock[128];
	daemon_proc *d;
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
	wait_log(d, "event=\"job removed\"");
	assert_log_count(d, "reason=\"conf.d changed: gone.ini\"", 1);
	/* A run already started when the job went may still record. */
	g = records(gone);
	n = records(clock);
	wait_records(clock, n + 3);
	assert_true(records(gone) <= g + 1);
	assert_int_equal(daemon_stop(d), 0);
}

/* A job dropped into conf.d of a daemon started with args and the
 * sweepd.ini text ini (NULL: none) is not loaded while the clock job
 * runs three more ticks; SIGHUP loads it. */
static void dropped_job_waits_for_sighup(const char *prefix,
                                         const char *args, const char *ini)
{
	char nu[128], clock[128];
	daemon_proc *d;

	begin(prefix);
	job_name(nu, sizeof(nu), "new");
	job_name(clock, sizeof(clock), "clock");
	if (ini != NULL)
		write_file(T.conf, "sweepd.ini", "%s", ini);
	write_testjob(T.conf, "clock.ini", clock, clock);
	d = start(args);
	wait_log(d, "event=\"conf.d not watched\"");
	wait_records(clock, 1);
	write_testjob(T.conf, "new.ini", nu, nu);
	wait_records(clock, records(clock) + 3);
	assert_int_equal(records(nu), 0);
	assert_log_count(d, "event=reloading", 0);
	daemon_signal(d, SIGHUP);
	wait_records(nu, 1);
	assert_log_count(d, "event=reloading reason=SIGHUP", 1);
	assert_int_equal(daemon_stop(d), 0);
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
	daemon_proc *d;

	(void)state;
	begin("wch_pdir");
	T.plugins = tu_tempdir();
	job_name(nu, sizeof(nu), "new");
	write_testjob(T.conf, "new.ini", nu, nu);
	d = daemon_start("--conf-dir '%s' --plugin-dir '%s'", T.conf,
	                 T.plugins);
	wait_log(d, "plugin 'testjob' not found");
	write_file(T.plugins, "stray.ini", "[job]\n");
	tu_copy(SWEEPD_FIXTURE_DIR "/testjob.so", T.plugins, "testjob.so");
	wait_records(nu, 1);
	assert_log_count(d, "reason=\"plugin_dir changed: testjob.so\"", 1);
	assert_log_count(d, "event=reloading", 1);
	assert_int_equal(daemon_stop(d), 0);
}

/* 9. A change while the daemon stops (waiting for a run that ignores the
 * stop) is let go, without the daemon spinning on it once it falls due. */
static void stopping_daemon_lets_changes_go_without_spinning(void **state)
{
	char j[128], nu[128];
	daemon_proc *d;
	long before, used;

	(void)state;
	begin("wch_spin");
	job_name(j, sizeof(j), "stubborn");
	job_name(nu, sizeof(nu), "new");
	write_file(T.conf, "stubborn.ini", "[job]\nname = %s\nplugin = testjob\n"
	           "schedule = * * * * * *\n[params]\nrecord = %s.rec\n"
	           "job = %s\nmode = loop\n", j, T.schema, j);
	d = start("--stop-grace 4s");
	wait_records(j, 1);
	daemon_signal(d, SIGTERM);
	wait_log(d, "event=stopping");
	write_testjob(T.conf, "new.ini", nu, nu);
	before = cpu_ticks(d->pid);
	tu_nap_ms(2500);
	used = cpu_ticks(d->pid) - before;
	assert_int_equal(daemon_wait(d), 0);
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
	write_file(dir, "sweepd.ini", "[sweepd]\nwatch = sometimes\n");
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
