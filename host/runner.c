/* runner: one run (or dry run) of one job: connect, record, call the
 * plugin's init / run or dry_run / teardown, and collect the result. */
#include "runner.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "log.h"

/* Fails r with "what: plugin's message" and frees the message. */
static void runner_plugin_error(result *r, const char *what, char *msg)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s: %s", what,
	         msg ? msg : "failed without a message");
	result_fail(r, text);
	free(msg);
}

/* Calls init, then run or dry_run, then teardown.  A dry run executes
 * inside a READ ONLY transaction in a session whose transactions default to
 * read-only, and is always rolled back: a plugin cannot change data in a
 * dry run, even by committing.  A run that returns with a transaction open
 * is rolled back and failed. */
static void runner_call(const job *j, sweep_host *h, result *r)
{
	const sweep_plugin *p = j->plugin->desc;
	const sweep_api *api = api_table();
	void *state = NULL;
	char *msg = NULL, err[1024];

	if (h->dry_run &&
	    (db_exec(h->conn, "SET default_transaction_read_only = on", err,
	             sizeof(err)) != 0 ||
	     db_exec(h->conn, "BEGIN READ ONLY", err, sizeof(err)) != 0)) {
		result_fail(r, err);
		return;
	}
	if (p->init(api, h, &state, &msg) != 0) {
		runner_plugin_error(r, "init", msg);
		goto out;
	}
	msg = NULL;
	if ((h->dry_run ? p->dry_run : p->run)(api, h, state, &msg) != 0)
		runner_plugin_error(r, h->dry_run ? "dry_run" : "run", msg);
	else
		free(msg);
	p->teardown(api, h, state);
out:
	if (h->dry_run) {
		PQclear(PQexec(h->conn, "ROLLBACK"));
	} else if (PQtransactionStatus(h->conn) != PQTRANS_IDLE) {
		PQclear(PQexec(h->conn, "ROLLBACK"));
		result_fail(r, "the plugin returned with a transaction open; "
		            "it was rolled back");
	}
}

/* Runs j once (dry_run: reports without changing anything) and fills r,
 * which the caller frees with result_free().  A real run is recorded in
 * the history table.  stop is the flag that asks the plugin to stop
 * between batches.  Returns 0 when the run succeeded, -1 when it failed
 * (r->error says why). */
int runner_run(const job *j, const settings *s, bool dry_run,
               const volatile sig_atomic_t *stop, result *r)
{
	sweep_host h;
	PGconn *conn = NULL;
	char err[1024];
	bool host_ready = false;

	result_init(r, j->name, dry_run);
	if (j->plugin == NULL || j->params == NULL || j->nerrors > 0) {
		result_fail(r, "the job's configuration has problems: run "
		            "sweepd --check");
		goto out;
	}
	conn = db_connect(s->dsn, j->name, err, sizeof(err));
	if (conn == NULL) {
		result_fail(r, err);
		goto out;
	}
	if (!dry_run && (db_migrate(conn, err, sizeof(err)) != 0 ||
	                 db_run_begin(conn, j->name, "run", &r->run_id, err,
	                              sizeof(err)) != 0)) {
		result_fail(r, err);
		goto out;
	}
	api_host_init(&h, j, conn, r, dry_run, stop);
	host_ready = true;
	if (r->run_id)
		snprintf(h.run_id, sizeof(h.run_id), "%" PRId64, r->run_id);
	log_msg(SWEEP_LOG_INFO, dry_run ? "dry-run started" : "run started",
	        "job", j->name, "run", h.run_id, "plugin", j->plugin->desc->name,
	        "version", j->plugin->desc->version, LOG_END);
	runner_call(j, &h, r);
out:
	result_finish(r);
	if (conn != NULL && r->run_id &&
	    db_run_end(conn, r, err, sizeof(err)) != 0)
		log_msg(SWEEP_LOG_WARN, "run not recorded", "job", j->name,
		        "error", err, LOG_END);
	log_msg(r->success ? SWEEP_LOG_INFO : SWEEP_LOG_ERROR,
	        dry_run ? "dry-run finished" : "run finished", "job", j->name,
	        "status", r->success ? (r->stopped ? "stopped" : "ok")
	                             : "failed",
	        "error", r->error, LOG_END);
	if (host_ready)
		api_host_free(&h);
	PQfinish(conn);
	return r->success ? 0 : -1;
}
