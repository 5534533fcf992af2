/*
 * sql: runs one SQL statement written in the job file, once, or with
 * repeat = true again and again until an execution changes no row (for
 * work done in slices, such as recalculating every member's karma 50
 * members at a time).
 *
 * The statement is one statement (no ';' between two) and sees the
 * parameters the host binds to a batch: $1 (int8) is batch_size, the rows
 * one execution should change, so a repeated statement takes its slice with
 * `... WHERE id IN (SELECT id ... LIMIT $1)`; $2 and $3 (tid) span the whole
 * table and may be ignored.  Each execution is one short transaction, with
 * lock_timeout and statement_timeout applied to it and batch_pause slept
 * between two.  With max_repeats, a repeated statement that still changes
 * rows after that many executions fails the run (what it committed stays).
 *
 * The dry run, inside the host's READ ONLY transaction, runs
 * dry_run_statement (a query, with the same parameters) and reports its row
 * count and first rows, or without it reports the plan of the statement
 * (EXPLAIN, which does not execute it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweepd/plugin.h>

/* Rows of dry_run_statement the dry run adds to the sample. */
#define SAMPLE_ROWS 5
/* Parameters bound to the statement, as batch_loop binds them. */
#define NPARAMS 3
#define INT8OID 20
#define TIDOID 27
/* The first tuple of a table, and a tuple past its last one. */
#define FIRST_TID "(0,0)"
#define OPEN_END_TID "(4294967295,0)"

typedef struct sql_state {
	const char *statement;     /* host-owned */
	const char *dry_statement; /* host-owned; NULL: EXPLAIN statement */
	bool repeat;
	int64_t batch_size;
	int64_t max_repeats;       /* 0: no cap */
	char limit[24];            /* batch_size as text: $1 */
	char *explain_sql;         /* EXPLAIN statement */
} sql_state;

/* Sets *errmsg to "what: reason (SQLSTATE s)" from a failed result, the
 * reason being the server's one-line message when there is one. */
static void set_error(const sweep_api *api, PGconn *db, const PGresult *res,
                      const char *what, char **errmsg)
{
	const char *reason = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	size_t n;

	if (!reason)
		reason = PQerrorMessage(db);
	n = strlen(reason);
	while (n > 0 && (reason[n - 1] == '\n' || reason[n - 1] == ' '))
		n--;
	if (state)
		*errmsg = api->mprintf("%s: %.*s (SQLSTATE %s)", what, (int)n,
		                       reason, state);
	else
		*errmsg = api->mprintf("%s: %.*s", what, (int)n, reason);
}

/* Runs sql with the parameters batch_loop binds ($1 batch_size, $2 and $3
 * the whole table) and returns its result, which the caller PQclear()s;
 * or returns NULL with *errmsg set when it failed.  Not api->query: that
 * sends its parameters untyped, which the server refuses when the
 * statement leaves one of them unused. */
static PGresult *exec_params(const sweep_api *api, PGconn *db,
                             const sql_state *st, const char *sql,
                             const char *what, char **errmsg)
{
	static const Oid types[NPARAMS] = { INT8OID, TIDOID, TIDOID };
	const char *const values[NPARAMS] = { st->limit, FIRST_TID,
	                                      OPEN_END_TID };
	PGresult *res;

	res = PQexecParams(db, sql, NPARAMS, types, values, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	set_error(api, db, res, what, errmsg);
	PQclear(res);
	return NULL;
}

/* Executes the statement once in a transaction of its own, with the
 * timeouts of spec, and sets *rows to the rows it changed.  Returns 0 with
 * the transaction committed, or -1 with *errmsg set and it rolled back. */
static int exec_once(const sweep_api *api, sweep_host *h, const sql_state *st,
                     const sweep_batch *spec, int64_t *rows, char **errmsg)
{
	PGconn *db = api->db(h);
	PGresult *res;

	if (api->begin(h, spec->lock_timeout_ms, spec->statement_timeout_ms,
	               errmsg) != 0)
		goto fail;
	res = exec_params(api, db, st, st->statement, "statement", errmsg);
	if (!res)
		goto fail;
	*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = api->query(h, "COMMIT", 0, NULL, "committing", errmsg);
	if (!res)
		goto fail;
	PQclear(res);
	return 0;
fail:
	if (PQtransactionStatus(db) != PQTRANS_IDLE)
		PQclear(PQexec(db, "ROLLBACK"));
	return -1;
}

/* Executes the statement once, or with repeat until an execution changes
 * no row and at most max_repeats times (0: no cap), as batch_loop would
 * with spec's timeouts and pause, filling stats and adding the rows changed
 * to the counter affected as it goes.  Returns 0, or -1 with *errmsg set (a
 * statement that still changed rows in execution max_repeats is an error);
 * executions committed before stay committed and counted. */
static int repeat_own(const sweep_api *api, sweep_host *h, const sql_state *st,
                      const sweep_batch *spec, sweep_batch_stats *stats,
                      char **errmsg)
{
	int64_t rows;

	while (!api->should_stop(h)) {
		if (exec_once(api, h, st, spec, &rows, errmsg) != 0)
			return -1;
		stats->batches++;
		stats->rows += rows;
		api->count(h, "affected", rows);
		api->progress(h, stats->rows, -1);
		if (rows == 0 || !st->repeat)
			return 0;
		if (stats->batches == st->max_repeats) {
			*errmsg = api->mprintf(
				"max_repeats = %" PRId64 " reached and the "
				"statement still changed %" PRId64 " rows in "
				"the last one: it may never converge, so the "
				"run stopped (the %" PRId64 " rows changed "
				"are committed)", st->max_repeats, rows,
				stats->rows);
			return -1;
		}
		if (!api->pause(h, spec->pause_ms))
			break;
	}
	stats->stopped = true;
	return 0;
}

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, sql_state *st)
{
	if (!st)
		return;
	api->free(st->explain_sql);
	free(st);
}

/* Reads and checks the options and builds the statements of the run into
 * *state.  Returns 0, or -1 with *errmsg set and nothing allocated. */
static int sql_init(const sweep_api *api, sweep_host *h, void **state,
                    char **errmsg)
{
	sql_state *st;
	int rc = -1;

	st = calloc(1, sizeof *st);
	if (!st) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->statement = api->opt_string(h, "statement");
	st->dry_statement = api->opt_string(h, "dry_run_statement");
	st->repeat = api->opt_bool(h, "repeat");
	st->batch_size = api->opt_int(h, "batch_size");
	st->max_repeats = api->opt_int(h, "max_repeats");
	if (!st->statement || st->statement[strspn(st->statement,
	                                           " \t\r\n")] == '\0') {
		*errmsg = api->mprintf("statement is empty: write the SQL "
		                       "statement to run");
		goto out;
	}
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (the rows one repetition "
		                       "may change, bound to $1)",
		                       st->batch_size);
		goto out;
	}
	if (st->max_repeats < 0 || (st->max_repeats > 0 && !st->repeat)) {
		*errmsg = api->mprintf("max_repeats = %" PRId64 ": must be 0 "
		                       "(no cap) or, with repeat = true, the "
		                       "most executions of the statement",
		                       st->max_repeats);
		goto out;
	}
	snprintf(st->limit, sizeof st->limit, "%" PRId64, st->batch_size);
	st->explain_sql = api->mprintf("EXPLAIN %s", st->statement);
	if (!st->explain_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	*state = st;
	st = NULL;
	rc = 0;
out:
	state_free(api, st);
	return rc;
}

/* Runs the statement once, or repeated until it changes no row, and sets
 * the result's message and the counter repetitions.  An uncapped repeat
 * goes through the host's batch loop; one execution, or a repeat capped by
 * max_repeats (which batch_loop cannot cap), goes through repeat_own.
 * Returns 0, or -1 with *errmsg set; executions committed before an error
 * stay committed and counted. */
static int sql_run(const sweep_api *api, sweep_host *h, void *state,
                   char **errmsg)
{
	const sql_state *st = state;
	sweep_batch spec = {
		.size = sizeof spec,
		.mode = SWEEP_BATCH_UNTIL_EMPTY,
		.sql = st->statement,
		.batch_rows = st->batch_size,
		.counter = "affected",
	};
	sweep_batch_stats stats = { .size = sizeof stats };
	char *msg = NULL;
	char rows[24], reps[24];
	int rc;

	sweep_batch_options(api, h, &spec);
	if (st->repeat && st->max_repeats == 0)
		rc = api->batch_loop(h, &spec, &stats, errmsg);
	else
		rc = repeat_own(api, h, st, &spec, &stats, errmsg);
	api->count(h, "repetitions", stats.batches);
	if (rc != 0)
		goto out;

	rc = -1;
	snprintf(rows, sizeof rows, "%" PRId64, stats.rows);
	snprintf(reps, sizeof reps, "%" PRId64, stats.batches);
	api->log(h, SWEEP_LOG_INFO, "statement done", "rows", rows,
	         "repetitions", reps, "stopped", stats.stopped ? "true"
	                                                      : "false",
	         SWEEP_LOG_END);
	msg = api->mprintf("the statement changed %s rows (repetitions: "
	                   "%s)%s", rows, reps, stats.stopped
	                   ? " (stopped early on request)" : "");
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	api->free(msg);
	return rc;
}

/* Adds one sample line "name=value, name=value" of row i of res (NULL as
 * NULL).  Returns 0, or -1 with *errmsg set. */
static int sample_row(const sweep_api *api, sweep_host *h,
                      const PGresult *res, int i, char **errmsg)
{
	char *line = api->mprintf("%s", ""), *next;
	int j;

	for (j = 0; j < PQnfields(res) && line; j++) {
		next = api->mprintf("%s%s%s=%s", line, j > 0 ? ", " : "",
		                    PQfname(res, j),
		                    PQgetisnull(res, i, j) ? "NULL"
		                                           : PQgetvalue(res, i, j));
		api->free(line);
		line = next;
	}
	if (!line) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	api->sample(h, line);
	api->free(line);
	return 0;
}

/* Reports what run would do, changing nothing: with dry_run_statement, its
 * row count (counter rows) and its first SAMPLE_ROWS rows as samples;
 * without, the plan of the statement, one sample line per line.  Returns
 * 0, or -1 with *errmsg set. */
static int sql_dry_run(const sweep_api *api, sweep_host *h, void *state,
                       char **errmsg)
{
	const sql_state *st = state;
	PGconn *db = api->db(h);
	PGresult *res;
	char *msg = NULL;
	int i, n, rc = -1;

	res = exec_params(api, db, st, st->dry_statement ? st->dry_statement
	                                                 : st->explain_sql,
	                  st->dry_statement ? "dry_run_statement"
	                                    : "explaining the statement",
	                  errmsg);
	if (!res)
		goto out;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*errmsg = api->mprintf("dry_run_statement returned no rows "
		                       "(%s): it must be a query",
		                       PQcmdStatus(res));
		goto out;
	}
	n = PQntuples(res);
	if (st->dry_statement) {
		api->count(h, "rows", n);
		for (i = 0; i < n && i < SAMPLE_ROWS; i++)
			if (sample_row(api, h, res, i, errmsg) != 0)
				goto out;
		msg = api->mprintf("dry_run_statement returned %d rows; the "
		                   "statement would run %s", n, st->repeat
		                   ? "until it changes no row" : "once");
	} else {
		for (i = 0; i < n; i++)
			api->sample(h, PQgetvalue(res, i, 0));
		msg = api->mprintf("the statement would run %s; its plan is "
		                   "the sample", st->repeat
		                   ? "until it changes no row" : "once");
	}
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	PQclear(res);
	api->free(msg);
	return rc;
}

/* Frees the state built by sql_init. */
static void sql_teardown(const sweep_api *api, sweep_host *h, void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option sql_options[] = {
	{ "statement", SWEEP_OPT_STRING, SWEEP_OPT_REQUIRED, NULL,
	  "one SQL statement to run; $1 is batch_size (e.g. LIMIT $1), "
	  "$2 and $3 may be ignored" },
	{ "repeat", SWEEP_OPT_BOOL, 0, "false",
	  "run the statement again, each time its own transaction, until it "
	  "changes no row" },
	{ "batch_size", SWEEP_OPT_INT, 0, "1000",
	  "rows one repetition may change, bound to $1" },
	{ "max_repeats", SWEEP_OPT_INT, 0, "0",
	  "with repeat: fail the run if the statement still changes rows "
	  "after this many executions (0: no cap)" },
	{ "dry_run_statement", SWEEP_OPT_STRING, 0, NULL,
	  "read-only query the dry run reports (row count, first rows); "
	  "unset: the EXPLAIN of statement" },
	SWEEP_BATCH_OPTIONS,
	{ NULL, 0, 0, NULL, NULL }
};

static const sweep_plugin sql_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "sql",
	.version = "1.0.0",
	.description = "runs one SQL statement, once or repeated in short "
	               "transactions until it changes no row",
	.options = sql_options,
	.init = sql_init,
	.run = sql_run,
	.dry_run = sql_dry_run,
	.teardown = sql_teardown,
};

SWEEP_PLUGIN_DEFINE(sql_plugin)
