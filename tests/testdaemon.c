/* testdaemon: the real sweepd run in the background by a test (see
 * testdaemon.h): start, signal, wait for its exit, for a row or a log
 * line, and stop what a failed test left running. */
#include "testdaemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* The processes the running test started, and how td_start() runs one. */
static struct {
	td_proc p[TD_MAX];
	size_t n;
	td_opts def;
} D;

/* Forgets every process and takes defaults (NULL: a daemon, run as
 * `sweepd ARGS` with both outputs in its log) for td_start(); the strings
 * in defaults must live until td_end(). */
void td_begin(const td_opts *defaults)
{
	memset(&D, 0, sizeof(D));
	if (defaults != NULL)
		D.def = *defaults;
}

/* Prints the end of the log of every process the test started. */
void td_show_logs(void)
{
	size_t i;

	for (i = 0; i < D.n && D.p[i].run != NULL; i++) {
		printf("---- sweepd #%zu (pid %ld) log, last lines:\n", i,
		       (long)D.p[i].pid);
		fflush(stdout);
		tu_run(NULL, NULL, "tail -n 60 '%s/log' | cut -c 1-400 | cat -v",
		       D.p[i].run);
	}
	fflush(stdout);
}

/* True once p exited (its wrapper wrote rc); sets p->rc. */
bool td_exited(td_proc *p)
{
	char *text;

	if (p->rc >= 0)
		return true;
	text = tu_read_in(p->run, "rc", NULL);
	if (text == NULL)
		return false;
	p->rc = atoi(text);
	free(text);
	return true;
}

/* Fails the test, with the logs, when a daemon that was not told to stop
 * exited. */
void td_check_alive(void)
{
	size_t i;

	for (i = 0; i < D.n; i++) {
		td_proc *p = &D.p[i];

		if (p->daemon && !p->told && p->pid > 0 && p->rc < 0 &&
		    td_exited(p)) {
			td_show_logs();
			fail_msg("sweepd #%zu exited early with status %d", i,
			         p->rc);
		}
	}
}

/* Starts `[o->prefix] sweepd [o->args] ARGS` in the background through
 * the shell, without core dumps, in a new directory p->run; returns p
 * once its pid is known.  The table keeps p until td_end(). */
static td_proc *td_vstart(const td_opts *o, const char *fmt, va_list ap)
	SWEEP_PRINTF(2, 0);

static td_proc *td_vstart(const td_opts *o, const char *fmt, va_list ap)
{
	buf args = BUF_INIT;
	double deadline = tu_mono() + TD_WAIT_S;
	char *text;
	td_proc *p;
	const char *r;

	assert_true(D.n < TD_MAX);
	p = &D.p[D.n++];
	memset(p, 0, sizeof(*p));
	p->run = tu_tempdir();
	p->rc = -1;
	p->daemon = !o->once;
	r = p->run;
	buf_vprintf(&args, fmt, ap);
	assert_int_equal(tu_run(NULL, NULL, "( ulimit -c 0; %s " SWEEPD_BIN
	                        " %s %s </dev/null >'%s/%s' 2>'%s/log' & echo"
	                        " $! >'%s/pid.new' && mv '%s/pid.new' '%s/pid';"
	                        " wait $!; echo $? >'%s/rc.new' && mv"
	                        " '%s/rc.new' '%s/rc' ) </dev/null >/dev/null"
	                        " 2>&1 &", o->prefix ? o->prefix : "",
	                        o->args ? o->args : "", buf_str(&args), r,
	                        o->split ? "out" : "log", r, r, r, r, r, r, r),
	                 0);
	buf_free(&args);
	while ((text = tu_read_in(r, "pid", NULL)) == NULL &&
	       tu_mono() < deadline)
		tu_nap_ms(10);
	if (text == NULL)
		fail_msg("sweepd did not start");
	p->pid = (pid_t)atol(text);
	free(text);
	assert_true(p->pid > 1);
	return p;
}

/* td_vstart() with the defaults of td_begin(); ARGS printf-style. */
td_proc *td_start(const char *fmt, ...)
{
	va_list ap;
	td_proc *p;

	va_start(ap, fmt);
	p = td_vstart(&D.def, fmt, ap);
	va_end(ap);
	return p;
}

/* td_vstart() with the options o instead of the defaults. */
td_proc *td_start_with(const td_opts *o, const char *fmt, ...)
{
	va_list ap;
	td_proc *p;

	va_start(ap, fmt);
	p = td_vstart(o, fmt, ap);
	va_end(ap);
	return p;
}

/* Sends sig to p, which must be running, after checking that no daemon
 * exited early; after SIGTERM, SIGINT or SIGKILL p may exit without
 * failing the test (the others still may not). */
void td_signal(td_proc *p, int sig)
{
	td_check_alive();
	p->told = p->told || sig == SIGTERM || sig == SIGINT || sig == SIGKILL;
	assert_int_equal(kill(p->pid, sig), 0);
}

/* Waits up to TD_STOP_WAIT_S for p to exit (told to, or a run that ends by
 * itself); returns its exit status.  Fails the test, killing p, when it
 * does not exit. */
int td_wait(td_proc *p)
{
	double deadline = tu_mono() + TD_STOP_WAIT_S;

	while (!td_exited(p)) {
		if (tu_mono() > deadline) {
			kill(p->pid, SIGKILL);
			td_show_logs();
			fail_msg("sweepd (pid %ld) did not exit within %d s",
			         (long)p->pid, TD_STOP_WAIT_S);
		}
		tu_nap_ms(20);
	}
	return p->rc;
}

/* Stops p with SIGTERM; returns its exit status. */
int td_stop(td_proc *p)
{
	td_signal(p, SIGTERM);
	return td_wait(p);
}

/* Polls, every 100 ms up to TD_WAIT_S, until the boolean query
 * (printf-style; a whole SELECT returning one row) holds on c, failing the
 * test (with the logs) when it does not, or when a daemon exits early. */
void td_wait_for(PGconn *c, const char *fmt, ...)
{
	buf sql = BUF_INIT;
	va_list ap;
	double deadline = tu_mono() + TD_WAIT_S;

	va_start(ap, fmt);
	buf_vprintf(&sql, fmt, ap);
	va_end(ap);
	while (tu_sql_int(c, "SELECT coalesce((%s), false)::int",
	                  buf_str(&sql)) != 1) {
		td_check_alive();
		if (tu_mono() > deadline) {
			td_show_logs();
			fail_msg("waited %d s in vain for: %s", TD_WAIT_S,
			         buf_str(&sql));
		}
		tu_nap_ms(100);
	}
	buf_free(&sql);
}

/* Polls, up to TD_WAIT_S, until the file path exists and holds needle;
 * returns its text (the caller frees it).  Fails the test, with the logs
 * and what the file holds, when it does not, or when a daemon exits
 * early. */
char *td_wait_file(const char *path, const char *needle)
{
	double deadline = tu_mono() + TD_WAIT_S;
	char *text;

	while ((text = tu_read(path, NULL)) == NULL ||
	       strstr(text, needle) == NULL) {
		td_check_alive();
		if (tu_mono() > deadline) {
			td_show_logs();
			fail_msg("waited %d s in vain for \"%s\" in %s, which"
			         " holds:\n%s", TD_WAIT_S, needle, path,
			         text ? text : "(nothing)");
		}
		free(text);
		tu_nap_ms(50);
	}
	return text;
}

/* Polls, up to TD_WAIT_S, until p's log holds needle. */
void td_wait_log(td_proc *p, const char *needle)
{
	char *path = tu_path(p->run, "log");

	free(td_wait_file(path, needle));
	free(path);
}

/* p's log so far, a new string ("" before there is one). */
char *td_log(td_proc *p)
{
	char *text = tu_read_in(p->run, "log", NULL);

	if (text == NULL)
		text = strdup("");
	assert_non_null(text);
	return text;
}

/* True once p exited, or is gone without its wrapper saying so (the
 * wrapper was killed too). */
static bool td_gone(td_proc *p)
{
	return td_exited(p) || (kill(p->pid, 0) != 0 && errno == ESRCH);
}

/* Waits up to TD_STOP_WAIT_S for p to go; true when it did. */
static bool td_wait_gone(td_proc *p)
{
	double deadline = tu_mono() + TD_STOP_WAIT_S;

	while (!td_gone(p)) {
		if (tu_mono() > deadline)
			return false;
		tu_nap_ms(20);
	}
	return true;
}

/* Stops p if it is still running, SIGTERM first (sweepd then stops its
 * runs' processes, which SIGKILL would leave behind), SIGKILL when that
 * does not do. */
static void td_put_down(td_proc *p, size_t i)
{
	if (p->pid <= 0 || td_gone(p))
		return;
	printf("teardown: sweepd #%zu still running; stopping it\n", i);
	kill(p->pid, SIGTERM);
	if (td_wait_gone(p))
		return;
	kill(p->pid, SIGKILL);
	if (!td_wait_gone(p))
		printf("teardown: sweepd #%zu (pid %ld) survived SIGKILL\n", i,
		       (long)p->pid);
}

/* Shows the logs when the test left a process running and stops it,
 * then removes every process's directory (only after the last look at
 * the logs) and forgets them all. */
void td_end(void)
{
	size_t i;

	for (i = 0; i < D.n; i++)
		if (D.p[i].pid > 0 && !td_gone(&D.p[i])) {
			td_show_logs();
			break;
		}
	for (i = 0; i < D.n; i++)
		td_put_down(&D.p[i], i);
	for (i = 0; i < D.n; i++) {
		if (D.p[i].run != NULL)
			tu_rmtree(D.p[i].run);
		free(D.p[i].run);
	}
	memset(&D, 0, sizeof(D));
}
