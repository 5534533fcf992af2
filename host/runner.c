/* runner: one run (or dry run) of one job: connect, claim, lock, call the
 * plugin's init / run or dry_run / teardown, retry what may pass, and
 * record the result. */
#include "runner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "loader.h"
#include "log.h"
#include "pause.h"
#include "report.h"

/* Longest wait between two attempts. */
#define RUNNER_MAX_BACKOFF_MS 60000

/* The sessions a run works in, kept across attempts: the home database's
 * (claim, pause, lock, history) and, for a job with `database = NAME`,
 * its own database's (the plugin's work and its audit records). */
typedef struct runner_session {
	PGconn *conn;           /* home database */
	bool locked;            /* holds the job's advisory lock */
	PGconn *job_conn;       /* the job's database; NULL: works in conn */
	bool job_ready;         /* sweepd's schema is current in job_conn */
	bool owned;             /* the run's history row is this process's
	                           and its tick came */
} runner_session;

/* Fails r with "what: plugin's message" and frees the message. */
static void runner_plugin_error(result *r, const char *what, char *msg)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s: %s", what,
	         msg ? msg : "failed without a message");
	result_fail(r, text);
	free(msg);
}

/* Fails r, whose plugin returned success, when the batch loops of its
 * run h left rows that failed for their own data (listed in the result's
 * errors): "N of M rows failed; see errors", as cascade_delete fails a run
 * with failed parents; likewise a run whose plugin listed failed items
 * itself ("N items failed; see errors"), so that every plugin's run with
 * failed items fails the same way (a dry run only lists them).  The rest of the work is done and committed; the
 * failure is not retried (the rows fail the same way until someone
 * fixes them). */
static void runner_items_failed(const sweep_host *h, result *r)
{
	char text[128];
	int64_t items = 0;
	size_t i;

	for (i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, "errors") == 0)
			items = r->counters[i].value;
	if (h->failed_rows > 0)
		snprintf(text, sizeof(text), "%" PRId64 " of %" PRId64 " rows "
		         "failed; see errors", h->failed_rows,
		         h->failed_rows + h->batch_rows);
	else if (items > 0 && !h->dry_run)
		snprintf(text, sizeof(text), "%" PRId64 " item%s failed; see "
		         "errors", items, items == 1 ? "" : "s");
	else
		return;
	result_fail(r, text);
}

/* Puts the job's SQL under j's role (when it has one) for the plugin's
 * calls: a real run first has the role given what audit records need
 * (db_role_grants).  0, or -1 with r failed. */
static int runner_enter_role(const job *j, sweep_host *h, result *r)
{
	char err[1024];

	if (j->role == NULL)
		return 0;
	if ((!h->dry_run && db_role_grants(h->conn, j->role, err,
	                                   sizeof(err)) != 0) ||
	    db_set_role(h->conn, j->role, err, sizeof(err)) != 0) {
		result_fail(r, err);
		return -1;
	}
	return 0;
}

/* Fails r when the session no longer runs as j's role (the job's SQL or
 * plugin stepped back to the login role: too late to undo, but never
 * silent).  Not checked in a failed transaction, which runs nothing. */
static void runner_check_role(const job *j, sweep_host *h, result *r)
{
	char err[1024];

	if (j->role == NULL || PQstatus(h->conn) != CONNECTION_OK ||
	    PQtransactionStatus(h->conn) == PQTRANS_INERROR)
		return;
	if (db_role_check(h->conn, j->role, err, sizeof(err)) != 0)
		result_fail(r, err);
}

/* Puts the session back to the login role, which writes the run's
 * history, once the plugin's transactions are over. */
static void runner_leave_role(const job *j, sweep_host *h, result *r)
{
	char err[1024];

	if (j->role == NULL || PQstatus(h->conn) != CONNECTION_OK)
		return;
	if (db_exec(h->conn, "RESET ROLE", err, sizeof(err)) != 0)
		result_fail(r, err);
}

/* Calls the plugin's verify (ABI 1.9), when it has one, in a READ ONLY
 * transaction of its own that is rolled back (a dry run's is already
 * open), and keeps what it measured in r.  A verify that fails is logged
 * and leaves r's run as it was: the policy's measure is not the run. */
static void runner_verify(const job *j, sweep_host *h, void *state,
                          result *r)
{
	sweep_verify_fn verify = loader_verify_fn(j->plugin->desc);
	sweep_verify v = {sizeof(v), 0, -1, -1, NULL};
	char *msg = NULL, err[1024];

	if (verify == NULL || (!h->dry_run &&
	                       PQtransactionStatus(h->conn) != PQTRANS_IDLE))
		return;
	if (!h->dry_run &&
	    db_exec(h->conn, "BEGIN READ ONLY", err, sizeof(err)) != 0) {
		log_msg(SWEEP_LOG_WARN, "policy not verified", "job", j->name,
		        "error", err, LOG_END);
		return;
	}
	report_phase("verify");
	if (verify(api_table(), h, state, &v, &msg) != 0) {
		log_msg(SWEEP_LOG_WARN, "policy not verified", "job", j->name,
		        "error", msg ? msg : "failed without a message",
		        LOG_END);
		if (h->dry_run)
			runner_plugin_error(r, "verify", msg);
		else
			free(msg);
	} else {
		free(msg);
		r->verified = true;
		r->oldest_age_s = v.oldest_age_s;
		r->limit_s = v.limit_s;
		r->verify_table = v.table ? strdup(v.table) : NULL;
	}
	if (!h->dry_run)
		PQclear(PQexec(h->conn, "ROLLBACK"));
}

/* Calls init, then run or dry_run, then teardown, under the job's role
 * when it has one (runner_enter_role).  A dry run executes inside a READ
 * ONLY transaction in a session whose transactions default to read-only,
 * and is always rolled back: a plugin cannot change table data in a dry
 * run, even by committing; what functions do outside the transaction is
 * bounded only by the role's rights.  A run that returns with a
 * transaction open is rolled back and failed. */
static void runner_call(const job *j, sweep_host *h, bool verify_only,
                        result *r)
{
	const sweep_plugin *p = j->plugin->desc;
	const sweep_api *api = api_table();
	void *state = NULL;
	char *msg = NULL, err[1024];

	if (runner_enter_role(j, h, r) != 0)
		goto out;
	if (h->dry_run &&
	    (db_exec(h->conn, "SET default_transaction_read_only = on", err,
	             sizeof(err)) != 0 ||
	     db_exec(h->conn, "BEGIN READ ONLY", err, sizeof(err)) != 0)) {
		result_fail(r, err);
		goto out;
	}
	report_phase("init");
	if (p->init(api, h, &state, &msg) != 0) {
		runner_plugin_error(r, "init", msg);
		goto out;
	}
	msg = NULL;
	if (verify_only) {
		runner_verify(j, h, state, r);
		goto teardown;
	}
	report_phase(h->dry_run ? "dry_run" : "run");
	if ((h->dry_run ? p->dry_run : p->run)(api, h, state, &msg) != 0)
		runner_plugin_error(r, h->dry_run ? "dry_run" : "run", msg);
	else {
		free(msg);
		runner_items_failed(h, r);
		if (!h->dry_run && r->success && !*h->stop)
			runner_verify(j, h, state, r);
	}
teardown:
	report_phase("teardown");
	p->teardown(api, h, state);
	runner_check_role(j, h, r);
out:
	if (h->dry_run) {
		PQclear(PQexec(h->conn, "ROLLBACK"));
		PQclear(PQexec(h->conn, "SET default_transaction_read_only = off"));
	} else if (PQstatus(h->conn) == CONNECTION_OK &&
	           PQtransactionStatus(h->conn) != PQTRANS_IDLE) {
		PQclear(PQexec(h->conn, "ROLLBACK"));
		result_fail(r, "the plugin returned with a transaction open; "
		            "it was rolled back");
	}
	runner_leave_role(j, h, r);
}

/* Sleeps until the wall-clock instant at_ms (milliseconds; 0: none), or
 * until a stop is requested. */
static void runner_wait_ms(int64_t at_ms, const volatile sig_atomic_t *stop)
{
	struct timespec ts = {(time_t)(at_ms / 1000),
	                      (long)(at_ms % 1000) * 1000000L};

	while (at_ms > 0 && !*stop &&
	       clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Sleeps until the wall-clock instant at (0: none), or until a stop is
 * requested. */
static void runner_wait(time_t at, const volatile sig_atomic_t *stop)
{
	runner_wait_ms((int64_t)at * 1000, stop);
}

/* Gives ss a working connection for j: keeps the one it has, or opens a
 * new one (a lost session also lost the job's lock).  0, or -1 with err
 * set and ss->conn NULL. */
static int runner_connect(runner_session *ss, const job *j,
                          const settings *s, char *err, size_t errlen)
{
	if (ss->conn != NULL && PQstatus(ss->conn) == CONNECTION_OK)
		return 0;
	PQfinish(ss->conn);
	ss->locked = false;
	ss->conn = db_connect(s->dsn, j->name, err, errlen);
	return ss->conn != NULL ? 0 : -1;
}

/* The session j's plugin works in: its own database's, else home. */
static PGconn *runner_work_conn(const runner_session *ss)
{
	return ss->job_conn ? ss->job_conn : ss->conn;
}

/* Gives ss a working session in j's own database when j names one,
 * keeping the one it has.  A real run first brings sweepd's schema there
 * to the current version (db_migrate, the same migrations as home): the
 * job's audit records go to that database's sweepd.audit, in the job's
 * own transactions.  0, or -1 with err set. */
static int runner_connect_job(runner_session *ss, const job *j,
                              const settings *s, bool dry_run, char *err,
                              size_t errlen)
{
	char why[768];

	if (j->database == NULL)
		return 0;
	if (ss->job_conn == NULL || PQstatus(ss->job_conn) != CONNECTION_OK) {
		PQfinish(ss->job_conn);
		ss->job_ready = false;
		ss->job_conn = db_connect(jobs_dsn(j, s), j->name, why,
		                          sizeof(why));
		if (ss->job_conn == NULL) {
			snprintf(err, errlen, "database %s: %s", j->database,
			         why);
			return -1;
		}
	}
	if (dry_run || ss->job_ready)
		return 0;
	if (db_migrate(ss->job_conn, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "database %s: %s", j->database, why);
		return -1;
	}
	ss->job_ready = true;
	return 0;
}

/* Connects the job's own database (runner_connect_job) once the home
 * session has claimed and locked the run: RUNNER_OK, or RUNNER_FAILED
 * with r failed (*transient when the session was lost). */
static runner_outcome runner_prepare_job(runner_session *ss, const job *j,
                                         const settings *s, bool dry_run,
                                         result *r, bool *transient)
{
	char err[1024];

	if (runner_connect_job(ss, j, s, dry_run, err, sizeof(err)) == 0)
		return RUNNER_OK;
	*transient = ss->job_conn == NULL ||
	             PQstatus(ss->job_conn) != CONNECTION_OK;
	result_fail(r, err);
	return RUNNER_FAILED;
}

/* Claims the run's history row (for a tick: the tick itself).  A tick
 * another sweepd claimed first is tried again at the tick and a quarter
 * of a second after it: that sweepd may give it back when it is asked to
 * stop before the tick (a rolling restart), and then this one runs it.
 * Returns 1 when claimed (r->run_id set), 0 when not, -1 with err set. */
static int runner_claim(runner_session *ss, const job *j,
                        const runner_opts *o,
                        const volatile sig_atomic_t *stop, result *r,
                        char *err, size_t errlen)
{
	const char *kind = o->scheduled_at ? (o->catch_up ? "catch-up"
	                                      : "scheduled") : "run";
	int tries;

	if (!o->schema_ready && db_migrate(ss->conn, err, errlen) != 0)
		return -1;
	for (tries = 0; tries < 3; tries++) {
		if (tries > 0)
			runner_wait_ms((int64_t)o->scheduled_at * 1000 +
			               (tries - 1) * 250, stop);
		if (*stop)
			return 0;
		if (db_run_begin(ss->conn, j->name, kind, o->scheduled_at,
		                 o->catch_up, &r->run_id, &r->run_at, err,
		                 errlen) != 0)
			return -1;
		if (r->run_id != 0 || o->scheduled_at == 0 || o->catch_up)
			break;
	}
	return r->run_id != 0;
}

/* Takes over the history row the daemon claimed for the run
 * (o->run_id, already in r->run_id), rather than claim the tick: the
 * daemon claims the ticks of an instant in one statement over the session
 * it keeps and starts a process (and its session) only for a tick it
 * won.  The row then names this process and its backend, as a row the
 * run claimed itself does (the abandoned-run sweep, the supervisor).
 * Returns
 * 1 when taken over, 0 when the row was given back meanwhile (r->run_id
 * then 0), -1 with err set. */
static int runner_adopt(runner_session *ss, const runner_opts *o, result *r,
                        char *err, size_t errlen)
{
	int rc;

	if (!o->schema_ready && db_migrate(ss->conn, err, errlen) != 0)
		return -1;
	r->run_at = o->scheduled_at;
	rc = db_run_adopt(ss->conn, o->run_id, r->run_at, err, errlen);
	if (rc == 0)
		r->run_id = 0;
	return rc;
}

/* Gives back the tick of r, claimed but not started because the run was
 * asked to stop before it: its row becomes "released", which claims
 * nothing, so the restarted daemon (catch-up) or another sweepd sharing
 * the database runs the tick. */
static void runner_release(runner_session *ss, const job *j, result *r)
{
	char err[1024];

	if (db_run_release(ss->conn, r->run_id, r->run_at, err,
	                   sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "tick not given back", "job", j->name,
		        "error", err, LOG_END);
	else
		log_msg(SWEEP_LOG_INFO, "tick given back: stopped before it "
		        "came", "job", j->name, LOG_END);
	r->stopped = true;
	r->run_id = 0;
	result_message(r, "stopped before its tick came; tick given back");
}

/* A run of a job an operator paused (sweepd --pause) is skipped, its
 * history row saying who paused it and since when.  0 when the job is not
 * paused; -1 when it is (r skipped) or when that cannot be read (r
 * failed). */
static int runner_paused(runner_session *ss, const job *j, result *r,
                         char *err, size_t errlen)
{
	char why[512];
	int paused = pause_check(ss->conn, j->name, why, sizeof(why), err,
	                         errlen);

	if (paused == 0)
		return 0;
	if (paused < 0) {
		result_fail(r, err);
		return -1;
	}
	r->skipped = true;
	result_message(r, why);
	return -1;
}

/* Connects (again, if the session was lost), claims the run's history
 * row, waits for its tick and takes the job's lock.  Sets *transient when
 * a failure may pass when tried again. */
static runner_outcome runner_prepare(runner_session *ss, const job *j,
                                     const settings *s, const runner_opts *o,
                                     const volatile sig_atomic_t *stop,
                                     result *r, bool *transient)
{
	char err[1024];
	int locked;

	*transient = false;
	if (runner_connect(ss, j, s, err, sizeof(err)) != 0) {
		*transient = true;
		goto fail;
	}
	if (o->dry_run)
		return runner_prepare_job(ss, j, s, true, r, transient);
	if (!ss->owned) {
		int claimed = o->run_id
		              ? runner_adopt(ss, o, r, err, sizeof(err))
		              : runner_claim(ss, j, o, stop, r, err, sizeof(err));

		if (claimed < 0) {
			*transient = PQstatus(ss->conn) != CONNECTION_OK;
			goto fail;
		}
		if (claimed == 0)
			return RUNNER_NOT_CLAIMED;
		ss->owned = true;
		report_run_id(r->run_id, r->run_at);
		runner_wait(o->scheduled_at, stop);
		if (*stop) {
			runner_release(ss, j, r);
			return RUNNER_STOPPED;
		}
		if (runner_paused(ss, j, r, err, sizeof(err)) != 0)
			return r->skipped ? RUNNER_SKIPPED : RUNNER_FAILED;
	}
	if (!ss->locked) {
		locked = db_job_lock(ss->conn, j->name, err, sizeof(err));
		if (locked < 0) {
			*transient = PQstatus(ss->conn) != CONNECTION_OK;
			goto fail;
		}
		if (locked == 0) {
			r->skipped = true;
			result_message(r, "skipped: the previous run of this job "
			               "is still going");
			return RUNNER_SKIPPED;
		}
		ss->locked = true;
	}
	return runner_prepare_job(ss, j, s, false, r, transient);
fail:
	result_fail(r, err);
	return RUNNER_FAILED;
}

/* A statement cancelled because the run was asked to stop (the
 * supervisor cancels the run's statements with its stop request) ends the
 * run as stopped, not failed: the cancelled batch rolled back. */
static void runner_cancelled(const sweep_host *h, result *r,
                             const volatile sig_atomic_t *stop)
{
	if (r->success || !*stop || strcmp(h->sqlstate, "57014") != 0)
		return;
	r->success = true;
	free(r->error);
	r->error = NULL;
	result_message(r, "stopped: the statement running was cancelled");
}

/* One attempt: prepare the session, then call the plugin.  Sets
 * *transient when the failure may pass when tried again. */
static runner_outcome runner_attempt(runner_session *ss, const job *j,
                                     const settings *s, const runner_opts *o,
                                     const volatile sig_atomic_t *stop,
                                     result *r, bool *transient)
{
	sweep_host h;
	runner_outcome rc;

	rc = runner_prepare(ss, j, s, o, stop, r, transient);
	if (rc == RUNNER_STOPPED)
		return RUNNER_OK;
	if (rc != RUNNER_OK)
		return rc;
	api_host_init(&h, j, runner_work_conn(ss), r, o->dry_run, stop);
	h.dsn = jobs_dsn(j, s);
	if (r->run_id)
		snprintf(h.run_id, sizeof(h.run_id), "%" PRId64, r->run_id);
	log_msg(SWEEP_LOG_INFO, o->dry_run ? "dry-run started" : "run started",
	        "job", j->name, "run", h.run_id, "plugin",
	        j->plugin->desc->name, "version", j->plugin->desc->version,
	        LOG_END);
	runner_call(j, &h, o->verify_only, r);
	runner_cancelled(&h, r, stop);
	if (r->success && *stop)
		r->stopped = true;
	*transient = !r->success && (PQstatus(h.conn) != CONNECTION_OK ||
	                             db_transient(h.sqlstate));
	api_host_free(&h);
	return r->success ? RUNNER_OK : RUNNER_FAILED;
}

/* Records the end of the run in its history row, reconnecting when the
 * session was lost; a failure to record is logged. */
static void runner_record(runner_session *ss, const job *j, const settings *s,
                          const result *r, int attempts)
{
	char err[1024];

	if (runner_connect(ss, j, s, err, sizeof(err)) != 0 ||
	    db_run_end(ss->conn, r, attempts, err, sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "run not recorded", "job", j->name,
		        "error", err, LOG_END);
}

/* Logs the run's end, one line: job, run id, status, duration, attempts,
 * each counter, message and error; at error level when it failed. */
static void runner_log_end(const runner_opts *o, const result *r,
                           int attempts)
{
	const char *kv[2 * LOG_MAX_PAIRS];
	char id[32], ms[32], tries[16], values[LOG_MAX_PAIRS][24];
	size_t n = 0, i;

	snprintf(id, sizeof(id), "%" PRId64, r->run_id);
	snprintf(ms, sizeof(ms), "%" PRId64,
	         (int64_t)(r->finished.tv_sec - r->started.tv_sec) * 1000 +
	         (r->finished.tv_nsec - r->started.tv_nsec) / 1000000);
	snprintf(tries, sizeof(tries), "%d", attempts);
	kv[n++] = "job"; kv[n++] = r->job;
	kv[n++] = "run"; kv[n++] = r->run_id ? id : NULL;
	kv[n++] = "status"; kv[n++] = result_status(r);
	kv[n++] = "duration_ms"; kv[n++] = ms;
	kv[n++] = "attempts"; kv[n++] = tries;
	for (i = 0; i < r->ncounters && n / 2 < LOG_MAX_PAIRS - 2; i++) {
		snprintf(values[i], sizeof(values[i]), "%lld",
		         (long long)r->counters[i].value);
		kv[n++] = r->counters[i].name;
		kv[n++] = values[i];
	}
	kv[n++] = "message"; kv[n++] = r->message;
	kv[n++] = "error"; kv[n++] = r->error;
	log_line(r->success ? SWEEP_LOG_INFO : SWEEP_LOG_ERROR,
	         o->dry_run ? "dry-run finished" : "run finished", kv, n / 2);
}

/* Runs j once (o->dry_run: reports without changing anything) and fills
 * r, which the caller frees with result_free().  A real run claims its row
 * in the history (for a tick, unless another sweepd claimed it first) and
 * the job's advisory lock (else it is skipped), and a failure that may pass
 * (connection lost, serialization failure, deadlock, lock or statement
 * timeout) is tried again up to o->retries times, 1 s, 2 s, 4 s ... apart.
 * stop asks the plugin to stop between batches. */
runner_outcome runner_run(const job *j, const settings *s,
                          const runner_opts *o,
                          const volatile sig_atomic_t *stop, result *r)
{
	runner_session ss = {NULL, false, NULL, false, false};
	runner_outcome rc = RUNNER_FAILED;
	int attempts = 0;
	int64_t backoff = 1000;
	bool transient = false;
	char tries[16];

	result_init(r, j->name, o->dry_run);
	r->run_id = o->dry_run ? 0 : o->run_id;
	r->run_at = o->scheduled_at;
	if (j->plugin == NULL || j->params == NULL || j->nerrors > 0) {
		result_fail(r, "the job's configuration has problems: run "
		            "sweepd --check");
		goto out;
	}
	for (;;) {
		attempts++;
		rc = runner_attempt(&ss, j, s, o, stop, r, &transient);
		if (rc != RUNNER_FAILED || !transient || attempts > o->retries ||
		    *stop)
			break;
		snprintf(tries, sizeof(tries), "%d", attempts);
		log_msg(SWEEP_LOG_WARN, "run failed, trying again", "job",
		        j->name, "attempt", tries, "error", r->error, LOG_END);
		api_sleep(backoff, stop);
		if (backoff < RUNNER_MAX_BACKOFF_MS)
			backoff *= 2;
		result_retry(r);
	}
out:
	result_finish(r);
	if (r->run_id)
		runner_record(&ss, j, s, r, attempts);
	if (rc != RUNNER_NOT_CLAIMED)
		runner_log_end(o, r, attempts);
	if (ss.locked && PQstatus(ss.conn) == CONNECTION_OK)
		db_job_unlock(ss.conn, j->name);
	PQfinish(ss.job_conn);
	PQfinish(ss.conn);
	return rc;
}
