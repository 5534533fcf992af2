/* End to end: how `sweepd --run` shows a run's progress.  On a terminal
 * (a pseudo-terminal here) one live line, redrawn in place with the rate
 * and the time left, log lines written around it, ending in a summary;
 * on a pipe no escape code at all, and progress log lines that carry the
 * rate and the estimate. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "testutil.h"

/* What the live line erases itself with: \r, then erase to the end of
 * the line. */
#define ERASE "\r\033[K"

/* Runs the shell command cmd on a new pseudo-terminal 200 columns wide
 * (its standard input, output and error) and returns all it wrote, once
 * it ended (the terminal's EOF, then its exit), as a new string; sets
 * *status to its exit status.  With interrupt_at, sends SIGINT to the
 * command's process once that text was written. */
static char *run_on_pty(const char *cmd, const char *interrupt_at,
                        int *status)
{
	struct winsize ws = {.ws_row = 50, .ws_col = 200};
	buf b = BUF_INIT;
	char chunk[4096];
	int master, ws_status;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		ssize_t n = read(master, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)     /* EIO once the last writer closed it */
			break;
		buf_append(&b, chunk, (size_t)n);
		if (interrupt_at && strstr(buf_str(&b), interrupt_at)) {
			kill(pid, SIGINT);
			interrupt_at = NULL;
		}
	}
	close(master);
	assert_int_equal(waitpid(pid, &ws_status, 0), pid);
	*status = WIFEXITED(ws_status) ? WEXITSTATUS(ws_status) : -1;
	buf_puts(&b, "");
	return buf_detach(&b);
}

/* A scratch schema with n rows two days old in t, and a job named as the
 * schema (unique: other test programs run jobs at the same time, and a
 * job's lock and history are shared by name) in a
 * scratch conf dir that deletes them in batches of 200, 20 ms apart (n =
 * 20000: about 100 batches, two seconds or more). */
typedef struct slow_job {
	PGconn *db;
	char *schema;
	char *dir;
} slow_job;

static void slow_job_make(slow_job *s, int n)
{
	char text[512];

	s->db = tu_db();
	s->schema = tu_schema(s->db, "progress");
	s->dir = tu_tempdir();
	tu_sql(s->db, "CREATE TABLE %s.t AS SELECT g AS id, now() - interval"
	       " '2 days' AS at FROM generate_series(1, %d) g", s->schema, n);
	snprintf(text, sizeof(text), "[job]\nname = %s\nplugin = age_delete\n"
	         "[params]\ntable = %s.t\ntime_column = at\nolder_than = 1d\n"
	         "batch_size = 200\nbatch_pause = 20ms\n", s->schema, s->schema);
	tu_write(s->dir, "slow.ini", text);
}

static void slow_job_free(slow_job *s)
{
	tu_sql(s->db, "DROP SCHEMA %s CASCADE", s->schema);
	PQfinish(s->db);
	tu_rmtree(s->dir);
	free(s->dir);
	free(s->schema);
}

/* before, s's job name, then after, in want (256 bytes). */
static const char *job_text(const slow_job *s, char *want, const char *before,
                            const char *after)
{
	snprintf(want, 256, "%s%s%s", before, s->schema, after);
	return want;
}

/* Fails unless every log line of out ("ts=<24 characters> level=...")
 * starts a line of the terminal or follows the live line's erasure: the
 * live line never garbles one. */
static void assert_log_lines_whole(const char *out)
{
	const size_t head = strlen("ts=2026-11-28T11:19:31.892Z");
	const char *p = out;
	int lines = 0;

	while ((p = strstr(p, " level=")) != NULL) {
		size_t at = (size_t)(p - out) - head;

		if (p - out < (ptrdiff_t)head || strncmp(out + at, "ts=", 3) != 0 ||
		    !(at == 0 || out[at - 1] == '\n' ||
		      (at >= strlen(ERASE) &&
		       strncmp(out + at - strlen(ERASE), ERASE,
		               strlen(ERASE)) == 0)))
			fail_msg("a log line is garbled at byte %zu of \"%s\"",
			         (size_t)(p - out), out);
		lines++;
		p++;
	}
	assert_true(lines >= 3);
}

/* The last live line of out: what follows its last erasure. */
static const char *last_line(const char *out)
{
	const char *last = strstr(out, ERASE);

	assert_non_null(last);
	while (strstr(last + 1, ERASE) != NULL)
		last = strstr(last + 1, ERASE);
	return last;
}

static void terminal_shows_one_live_line_with_rate_and_estimate(void **state)
{
	slow_job s;
	char want[256];
	char cmd[1024];
	char *out;
	const char *last;
	int status;

	(void)state;
	slow_job_make(&s, 20000);
	snprintf(cmd, sizeof(cmd), "TERM=xterm exec " SWEEPD_BIN " --conf-dir"
	         " %s --plugin-dir " SWEEPD_PLUGIN_DIR " --log-format logfmt"
	         " --run %s", s.dir, s.schema);
	out = run_on_pty(cmd, NULL, &status);
	if (status != 0)
		fail_msg("sweepd exited %d saying:\n%s", status, out);
	assert_int_equal(tu_sql_int(s.db, "SELECT count(*) FROM %s.t", s.schema),
	                 0);
	/* Redrawn in place, many times, with the rate, the part done and
	 * the time left (the heap's size is known). */
	assert_true(tu_occurrences(out, job_text(&s, want, ERASE, ": ")) >= 5);
	assert_contains(out, " done, ");
	assert_contains(out, "/s, ");
	assert_contains(out, "%, ETA ");
	/* No periodic progress log line: the live line shows it. */
	assert_int_equal(tu_occurrences(out, "event=progress"), 0);
	/* Log lines meanwhile are whole: the line is erased before each. */
	assert_contains(out, "event=\"run finished\"");
	assert_log_lines_whole(out);
	/* It ends in one summary line: rows, duration, rate. */
	last = last_line(out);
	assert_contains(last, job_text(&s, want, ERASE, ": 20,000 done in "));
	assert_contains(last, "/s\r\n");
	/* ... before the result, which is not drawn over. */
	assert_contains(last, job_text(&s, want, "\r\nrun ", ": ok in "));
	free(out);
	slow_job_free(&s);
}

static void interrupted_run_ends_its_line_with_a_summary(void **state)
{
	slow_job s;
	char want[256];
	char cmd[1024];
	char *out;
	const char *last;
	int status;
	long long left;

	(void)state;
	slow_job_make(&s, 20000);
	snprintf(cmd, sizeof(cmd), "TERM=xterm exec " SWEEPD_BIN " --conf-dir"
	         " %s --plugin-dir " SWEEPD_PLUGIN_DIR " --log-format logfmt"
	         " --run %s", s.dir, s.schema);
	/* Interrupted (as Ctrl-C does) once the line is drawn. */
	out = run_on_pty(cmd, "%, ETA ", &status);
	if (status != 0)
		fail_msg("sweepd exited %d saying:\n%s", status, out);
	left = tu_sql_int(s.db, "SELECT count(*) FROM %s.t", s.schema);
	assert_true(left > 0);
	assert_contains(out, "event=\"stopping run\"");
	assert_log_lines_whole(out);
	/* The summary counts what was done, the result says it stopped. */
	last = last_line(out);
	assert_contains(last, " done in ");
	assert_contains(last, job_text(&s, want, "/s\r\nrun ",
	                               ": ok (stopped early) in "));
	free(out);
	slow_job_free(&s);
}

static void pipe_gets_progress_log_lines_without_escape_codes(void **state)
{
	slow_job s;
	char want[256];
	char *out, *err;
	int rc;

	(void)state;
	slow_job_make(&s, 20000);
	rc = tu_run(&out, &err, "TERM=xterm " SWEEPD_BIN " --conf-dir %s"
	            " --plugin-dir " SWEEPD_PLUGIN_DIR " --log-format logfmt"
	            " --run %s", s.dir, s.schema);
	if (rc != 0)
		fail_msg("sweepd exited %d saying:\n%s%s", rc, out, err);
	assert_null(strchr(err, '\r'));
	assert_null(strchr(err, '\033'));
	assert_null(strchr(out, '\033'));
	/* Progress log lines carry the rate, the part done and the time
	 * left. */
	assert_contains(err, job_text(&s, want, "level=info event=progress"
	                              " job=", " run="));
	assert_contains(err, " rate=");
	assert_contains(err, " percent=");
	assert_contains(err, " eta_s=");
	free(out);
	free(err);
	slow_job_free(&s);
}

static void json_log_on_a_terminal_has_no_live_line(void **state)
{
	slow_job s;
	char cmd[1024];
	char *out;
	int status;

	(void)state;
	slow_job_make(&s, 2000);
	snprintf(cmd, sizeof(cmd), "TERM=xterm exec " SWEEPD_BIN " --conf-dir"
	         " %s --plugin-dir " SWEEPD_PLUGIN_DIR " --log-format json"
	         " --run %s", s.dir, s.schema);
	out = run_on_pty(cmd, NULL, &status);
	if (status != 0)
		fail_msg("sweepd exited %d saying:\n%s", status, out);
	assert_null(strchr(out, '\033'));
	/* Its progress line's measures are JSON numbers. */
	assert_contains(out, "\"event\":\"progress\"");
	assert_contains(out, "\"rate\":");
	assert_null(strstr(out, "\"rate\":\""));
	assert_null(strstr(out, "\"eta_s\":\""));
	free(out);
	slow_job_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(terminal_shows_one_live_line_with_rate_and_estimate),
		cmocka_unit_test(interrupted_run_ends_its_line_with_a_summary),
		cmocka_unit_test(pipe_gets_progress_log_lines_without_escape_codes),
		cmocka_unit_test(json_log_on_a_terminal_has_no_live_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
