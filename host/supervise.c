/* supervise: a run in a child process, and everything its parent does
 * for it.
 *
 * The child runs the job through the runner with its stdout and stderr on
 * pipes, its data size under memory_limit, and a third pipe on which it
 * reports (report.h) its history row, each backend it opens and the
 * plugin phase it is in.  It dies with its parent (PR_SET_PDEATHSIG).
 *
 * The parent reads the pipes (output becomes log lines, capture.h), asks
 * the run to stop at its timeout or when told (SIGTERM to the child, and
 * a cancel of the statements its backends are running, so that a run
 * stuck in the database stops too), kills it after stop_grace, and once
 * the child is gone ends whatever backend it left and records an ending
 * the child could not record itself: "crashed in teardown: signal 11
 * (Segmentation fault)", "timed out in run after 2s". */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "duration.h"
#include "isotime.h"
#include "live.h"
#include "log.h"
#include "result.h"
#include "runner.h"
#include "size.h"
#include "tz.h"
#include "verify.h"

/* The plugin's start is reported just before it happens, so its timeout
 * counts from the report plus this much: a run is never asked to stop
 * before it ran its timeout, whatever the plugin's first statement took
 * to reach the server. */
#define SUP_TIMEOUT_SLACK_MS 50

/* Stop flag of a child process, set by its SIGTERM/SIGINT handler. */
static volatile sig_atomic_t sup_child_stop;

static void sup_on_stop(int sig)
{
	(void)sig;
	sup_child_stop = 1;
}

/* In the child: SIGTERM and SIGINT ask the run to stop between batches,
 * SIGHUP is the daemon's business, the rest is as a new process has it;
 * nothing is blocked. */
static void sup_child_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sup_on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: sweepd's own log lines keep going to the parent's
 * standard error; the plugin's stdout and stderr go to the pipes out and
 * err, stdout line-buffered so that lines arrive as they are written. */
static void sup_child_streams(int out, int err)
{
	int logfd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

	if (logfd >= 0)
		log_set_fd(logfd);
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	close(out);
	close(err);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* The child's side: runs j once through the runner and ends the process
 * with the runner's outcome as its status.  _exit(), not exit(): the
 * parent's atexit handlers and stdio buffers are not the child's. */
static void sup_child(const job *j, const settings *s, const sup_opts *o,
                      pid_t parent, int rep, int out, int err)
{
	runner_opts ro = {o->dry_run, o->tick, o->retries, o->catch_up,
	                  o->schema_ready, o->verify_only, o->run_id};
	struct rlimit lim = {(rlim_t)o->memory_limit, (rlim_t)o->memory_limit};
	buf text = BUF_INIT;
	result r;
	runner_outcome rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(RUNNER_FAILED);
	sup_child_signals();
	if (o->child_close)
		o->child_close(o->arg);
	sup_child_streams(out, err);
	if (o->memory_limit > 0)
		setrlimit(RLIMIT_DATA, &lim);
	report_attach(rep, o->live);
	if (o->live)
		log_set_sink(report_log);
	tz_restore();
	rc = runner_run(j, s, &ro, &sup_child_stop, &r);
	if (o->render == SUP_RENDER_JSON)
		result_json(&r, &text);
	else if (o->render == SUP_RENDER_TEXT)
		result_text(&r, &text);
	else if (o->render == SUP_RENDER_VERIFY) {
		verify_render(j, &r, time(NULL), &text);
		if (verify_violated(j, &r, time(NULL)))
			rc = RUNNER_FAILED;
	}
	if (o->render != SUP_RENDER_NONE)
		report_output(&text);
	buf_free(&text);
	result_free(&r);
	fflush(stdout);
	report_end((int)rc);
	_exit((int)rc);
}

/* Closes fd if open and marks it closed. */
static void sup_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Milliseconds of the wall clock. */
static int64_t sup_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts a run of j in a child process (see sup_child()); r is then the
 * caller's until sup_free().  Its timeout counts from o->tick (up to the
 * lead the caller starts it with) and again from the plugin's start once
 * the child reports it.  Returns 0, or -1 (logged) when no process could
 * be started. */
int sup_start(sup_run *r, const job *j, const settings *s,
              const sup_opts *o)
{
	int rep[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	pid_t parent = getpid();
	int64_t ahead;

	memset(r, 0, sizeof(*r));
	r->report_fd = r->out_fd = r->err_fd = -1;
	if (pipe2(rep, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0 || (r->job = strdup(j->name)) == NULL ||
	    (r->pid = fork()) < 0) {
		log_msg(SWEEP_LOG_ERROR, "cannot start run", "job", j->name,
		        "error", strerror(errno), LOG_END);
		goto fail;
	}
	if (r->pid == 0) {
		close(rep[0]);
		close(out[0]);
		close(err[0]);
		sup_child(j, s, o, parent, rep[1], out[1], err[1]);
	}
	close(rep[1]);
	close(out[1]);
	close(err[1]);
	r->report_fd = rep[0];
	r->out_fd = out[0];
	r->err_fd = err[0];
	fcntl(r->report_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->err_fd, F_SETFL, O_NONBLOCK);
	r->tick = o->tick;
	r->opts = *o;
	r->stop_grace_ms = s->stop_grace_ms;
	report_init(&r->rep);
	capture_init(&r->cap, r->job);
	if (o->run_id) {        /* its ending is recorded even if the child
	                           dies before it reports the row */
		r->rep.run_id = o->run_id;
		r->rep.run_at = o->tick;
		snprintf(r->cap.run, sizeof(r->cap.run), "%lld",
		         (long long)o->run_id);
	}
	r->started_ms = api_now_ms();
	clock_gettime(CLOCK_REALTIME, &r->started_at);
	ahead = o->tick ? (int64_t)o->tick * 1000 - sup_wall_ms() : 0;
	if (o->timeout_ms > 0)
		r->deadline_ms = r->started_ms + (ahead > 0 ? ahead : 0) +
		                 o->timeout_ms;
	return 0;
fail:
	sup_close(&rep[0]);
	sup_close(&rep[1]);
	sup_close(&out[0]);
	sup_close(&out[1]);
	sup_close(&err[0]);
	sup_close(&err[1]);
	free(r->job);
	r->job = NULL;
	return -1;
}

/* Fills fds with the run's open pipes (at most 3), for poll(); returns
 * how many. */
size_t sup_pollfds(const sup_run *r, struct pollfd *fds)
{
	const int v[3] = {r->report_fd, r->out_fd, r->err_fd};
	size_t i, n = 0;

	for (i = 0; i < 3; i++)
		if (v[i] >= 0) {
			fds[n].fd = v[i];
			fds[n].events = POLLIN;
			fds[n].revents = 0;
			n++;
		}
	return n;
}

/* Takes what the child reported: the run id names its output lines, and
 * the plugin's start is where its timeout counts from; its log lines (a
 * live run's) are written and its progress drawn live. */
static void sup_on_report(sup_run *r, const char *data, size_t n)
{
	bool started = r->rep.phase[0] != '\0';

	if (report_feed(&r->rep, data, n) != 0)
		log_msg(SWEEP_LOG_WARN, "unreadable report from a run", "job",
		        r->job, LOG_END);
	if (r->rep.log.len > 0) {
		log_write(buf_str(&r->rep.log), r->rep.log.len);
		buf_reset(&r->rep.log);
	}
	if (r->opts.live && r->rep.progress_seq != r->progress_seen) {
		r->progress_seen = r->rep.progress_seq;
		live_show(&r->rep.progress);
	}
	if (r->rep.run_id && r->claimed_ms == 0) {
		r->claimed_ms = api_now_ms();
		snprintf(r->cap.run, sizeof(r->cap.run), "%lld",
		         (long long)r->rep.run_id);
	}
	if (!started && r->rep.phase[0] && r->opts.timeout_ms > 0 &&
	    r->stop == SUP_RUNNING)
		r->deadline_ms = api_now_ms() + r->opts.timeout_ms +
		                 SUP_TIMEOUT_SLACK_MS;
}

/* Most bytes read from one pipe of a run per pass of the loop: a run
 * writing without end must not keep the daemon from its other work. */
#define SUP_READ_MAX (4 * 65536)
/* Most bytes read from one output pipe once the run's process is gone (a
 * process it left behind may hold the pipe and go on writing). */
#define SUP_REAP_READ_MAX (16 * 65536)

/* Reads what is waiting on *fd, up to limit bytes (0: all of it), closing
 * it at its end, and hands it to the report or the capture. */
static void sup_drain(sup_run *r, int *fd, size_t limit)
{
	char chunk[65536];
	size_t got = 0;

	while (*fd >= 0 && (limit == 0 || got < limit)) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			sup_close(fd);
			return;
		}
		got += (size_t)n;
		if (fd == &r->report_fd)
			sup_on_report(r, chunk, (size_t)n);
		else
			capture_feed(&r->cap, fd == &r->out_fd ? &r->cap.out
			             : &r->cap.err, chunk, (size_t)n);
	}
}

/* Reads what the run's pipes hold now, without blocking: all of its
 * reports, and up to SUP_READ_MAX of each output stream (the rest waits
 * for the next pass, or sup_reap()). */
void sup_read(sup_run *r)
{
	sup_drain(r, &r->report_fd, 0);
	sup_drain(r, &r->out_fd, SUP_READ_MAX);
	sup_drain(r, &r->err_fd, SUP_READ_MAX);
}

/* Cancels the statements of (terminate: ends) the backends the run
 * reported, through the supervisor's own session. */
static void sup_backends(sup_run *r, bool terminate)
{
	PGconn *db;
	char err[1024];

	if (r->rep.nbackends == 0 || r->opts.db == NULL ||
	    (db = r->opts.db(r->opts.arg)) == NULL)
		return;
	if (db_backends_signal(db, r->rep.backends, r->rep.nbackends, r->job,
	                       terminate, err, sizeof(err)) < 0)
		log_msg(SWEEP_LOG_WARN, terminate ? "run's backends not ended"
		        : "run's statements not cancelled", "job", r->job,
		        "error", err, LOG_END);
}

/* Asks the run to stop (why: asked, or its timeout): SIGTERM to the child,
 * which stops between batches, and a cancel of the statement each of its
 * backends is running; SIGKILL follows after stop_grace.  Once only. */
void sup_stop(sup_run *r, sup_stop_why why)
{
	if (r->stop != SUP_RUNNING || r->reaped)
		return;
	r->stop = why;
	snprintf(r->stop_phase, sizeof(r->stop_phase), "%s",
	         r->rep.phase[0] ? r->rep.phase : "setup");
	r->kill_ms = api_now_ms() + r->stop_grace_ms;
	kill(r->pid, SIGTERM);
	log_msg(SWEEP_LOG_WARN, why == SUP_STOP_TIMEOUT ? "run timed out; "
	        "stopping it" : "stopping run", "job", r->job, "run",
	        r->cap.run, LOG_END);
	sup_backends(r, false);
}

/* Acts on the run's deadlines at monotonic now_ms: its timeout, then its
 * stop_grace. */
void sup_enforce(sup_run *r, int64_t now_ms)
{
	if (r->reaped)
		return;
	if (r->stop == SUP_RUNNING && r->deadline_ms &&
	    now_ms >= r->deadline_ms)
		sup_stop(r, SUP_STOP_TIMEOUT);
	else if (r->kill_ms && r->kill_ms != INT64_MAX && now_ms >= r->kill_ms) {
		kill(r->pid, SIGKILL);
		r->kill_ms = INT64_MAX;
	}
}

/* The monotonic instant sup_enforce() next has something to do; 0: none. */
int64_t sup_wake_at(const sup_run *r)
{
	if (r->reaped)
		return 0;
	if (r->kill_ms)
		return r->kill_ms == INT64_MAX ? 0 : r->kill_ms;
	return r->deadline_ms;
}

/* "; it used N MiB of memory_limit = L" when the run's peak memory came
 * near its limit (so the limit is the likely cause of its end), else "". */
static void sup_memory_note(const sup_run *r, char *out, size_t len)
{
	int64_t used = (int64_t)r->ru.ru_maxrss * 1024;
	char limit[32];

	out[0] = '\0';
	if (r->opts.memory_limit <= 0 || used < r->opts.memory_limit / 4 * 3)
		return;
	size_format(r->opts.memory_limit, limit, sizeof(limit));
	snprintf(out, len, "; it used %lld MiB of memory_limit = %s",
	         (long long)(used >> 20), limit);
}

/* Decides, from the wait status and what the child reported, how the run
 * ended when it could not say so itself: sets r->state and r->why. */
static void sup_classify(sup_run *r)
{
	const char *phase = r->rep.phase[0] ? r->rep.phase : "setup";
	char mem[96], limit[32];
	int sig = WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0;

	sup_memory_note(r, mem, sizeof(mem));
	duration_format(r->opts.timeout_ms, limit, sizeof(limit));
	if (r->stop == SUP_STOP_TIMEOUT) {
		r->state = DB_TIMEOUT;
		snprintf(r->why, sizeof(r->why), "timed out in %s after %s%s",
		         r->stop_phase, limit,
		         sig ? "; killed after stop_grace" : "");
	} else if (sig && r->stop == SUP_STOP_ASKED) {
		r->state = DB_STOPPED;
		snprintf(r->why, sizeof(r->why), "stopped in %s: killed after "
		         "stop_grace", r->stop_phase);
	} else if (sig) {
		r->state = DB_CRASHED;
		snprintf(r->why, sizeof(r->why), "crashed in %s: signal %d (%s)%s",
		         phase, sig, strsignal(sig), mem);
	} else if (!r->rep.ended) {
		r->state = DB_CRASHED;
		snprintf(r->why, sizeof(r->why), "crashed in %s: the process "
		         "exited with status %d%s", phase,
		         WEXITSTATUS(r->status), mem);
	}
}

/* Logs and records the ending sup_classify() found. */
static void sup_record(sup_run *r)
{
	char at[32] = "", err[1024];
	PGconn *db;

	if (r->tick) {
		struct timespec ts = {r->tick, 0};
		isotime_format(&ts, at, sizeof(at));
	}
	log_msg(SWEEP_LOG_ERROR, "run ended abnormally", "job", r->job, "run",
	        r->cap.run, "tick", at, "status", r->state, "error", r->why,
	        LOG_END);
	if (r->rep.run_id == 0 || r->opts.db == NULL ||
	    (db = r->opts.db(r->opts.arg)) == NULL)
		return;
	if (db_run_outcome(db, r->rep.run_id, r->rep.run_at, r->state, r->why,
	                   err, sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "outcome not recorded", "job", r->job,
		        "error", err, LOG_END);
}

/* Reaps the run's child if it ended: reads what is left in its pipes,
 * ends any backend it left behind, and records an ending it could not.
 * Returns true once the child is gone. */
bool sup_reap(sup_run *r)
{
	pid_t pid;

	if (r->reaped)
		return true;
	pid = wait4(r->pid, &r->status, WNOHANG, &r->ru);
	if (pid == 0 || (pid < 0 && errno == EINTR))
		return false;
	r->reaped = true;
	if (pid < 0)
		r->status = W_EXITCODE(RUNNER_FAILED, 0);
	sup_drain(r, &r->report_fd, 0);
	sup_drain(r, &r->out_fd, SUP_REAP_READ_MAX);
	sup_drain(r, &r->err_fd, SUP_REAP_READ_MAX);
	sup_close(&r->report_fd);
	sup_close(&r->out_fd);
	sup_close(&r->err_fd);
	capture_flush(&r->cap);
	sup_classify(r);
	if (r->state != NULL || WIFSIGNALED(r->status))
		sup_backends(r, true);
	if (r->state != NULL)
		sup_record(r);
	return true;
}

/* Frees what r holds (the child must have been reaped). */
void sup_free(sup_run *r)
{
	sup_close(&r->report_fd);
	sup_close(&r->out_fd);
	sup_close(&r->err_fd);
	report_free(&r->rep);
	capture_free(&r->cap);
	free(r->job);
	r->job = NULL;
}

/* In the CLI: what the run printed, or, when it could not print (a crash,
 * a kill), its ending as the CLI prints a failed run. */
static void sup_render_end(const sup_run *r, const job *j, buf *out)
{
	result res;

	if (r->state == NULL && r->rep.ended) {
		buf_append(out, buf_str(&r->rep.output), r->rep.output.len);
		return;
	}
	if (r->opts.render == SUP_RENDER_VERIFY) {
		buf_printf(out, "%s: cannot verify: %s\n", j->name, r->why[0]
		           ? r->why : "the process ended without a result");
		return;
	}
	result_init(&res, j->name, r->opts.dry_run);
	res.started = r->started_at;
	res.run_id = r->rep.run_id;
	result_fail(&res, r->why[0] ? r->why : "the run's process ended "
	            "without a result");
	result_finish(&res);
	if (r->opts.render == SUP_RENDER_JSON)
		result_json(&res, out);
	else if (r->opts.render == SUP_RENDER_TEXT)
		result_text(&res, out);
	result_free(&res);
}

/* Waits on the run's pipes and on sigfd until its child is gone, stopping
 * it on SIGINT or SIGTERM. */
static void sup_wait(sup_run *r, int sigfd)
{
	while (!sup_reap(r)) {
		struct pollfd fds[4] = {{sigfd, POLLIN, 0}};
		struct signalfd_siginfo si;
		int64_t now = api_now_ms(), at;
		int wait = -1;

		sup_enforce(r, now);
		if ((at = sup_wake_at(r)) != 0)
			wait = at <= now ? 0 : (int)(at - now > INT32_MAX
			                             ? INT32_MAX : at - now);
		if (poll(fds, 1 + sup_pollfds(r, fds + 1), wait) < 0 &&
		    errno != EINTR)
			break;
		while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				sup_stop(r, SUP_STOP_ASKED);
		sup_read(r);
	}
}

/* `sweepd --run` and `--dry-run`: runs j in a supervised child in the
 * foreground, stops it on SIGINT or SIGTERM (between batches), draws its
 * progress live when o->live (ending in a summary line), and appends to
 * out what the CLI prints.  Returns the runner_outcome. */
int sup_foreground(const job *j, const settings *s, const sup_opts *o,
                   buf *out)
{
	sigset_t set, old;
	sup_run r;
	int sigfd, rc = RUNNER_FAILED;
	int64_t took_ms = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, &old) != 0 ||
	    (sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_msg(SWEEP_LOG_ERROR, "cannot watch signals", "error",
		        strerror(errno), LOG_END);
		return RUNNER_FAILED;
	}
	if (o->live)
		live_begin(j->name);
	if (sup_start(&r, j, s, o) == 0) {
		sup_wait(&r, sigfd);
		took_ms = api_now_ms() - r.started_ms;
		sup_render_end(&r, j, out);
		if (r.state == NULL && r.rep.ended)
			rc = r.rep.outcome;
		sup_free(&r);
	}
	live_end(took_ms);
	close(sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
