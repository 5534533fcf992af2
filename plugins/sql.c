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
 * A statement that returns rows (UPDATE ... RETURNING) runs through the
 * plugin's own loop, which sees them: after each execution commits, its
 * first log_rows rows are logged at debug (per-row detail is not for the
 * info log), event "row", each column a key=value pair, and one line at
 * info counts the rest.  With audit_returning,
 * each returned row is also one audit record (sweepd.audit, through
 * api->audit) whose data is the row as a JSON object, written in the
 * statement's transaction, so a record exists exactly when its change
 * does.  For that the statement is run as
 * `WITH sweep_rows AS (statement) SELECT r.*, to_jsonb(r) ...`, so its own
 * WITH, if any, may hold queries only.  api->audit writes one record per
 * call, a round trip each (20000 rows: 4 s against 70 ms unaudited, on
 * the test machine), held inside the transaction: audited statements
 * want small slices (repeat with a batch_size in the hundreds).
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
/* Columns of a returned row that its log line shows: the host takes 32
 * pairs a line, two of them its own (job, run). */
#define LOG_COLUMNS 16
/* Parameters bound to the statement, as batch_loop binds them. */
#define NPARAMS 3
#define INT8OID 20
#define TIDOID 27
/* The first tuple of a table, and a tuple past its last one. */
#define FIRST_TID "(0,0)"
#define OPEN_END_TID "(4294967295,0)"

/* Types of the parameters bound to the statement. */
static const Oid param_types[NPARAMS] = { INT8OID, TIDOID, TIDOID };

typedef struct sql_state {
	const char *statement;     /* host-owned */
	const char *dry_statement; /* host-owned; NULL: EXPLAIN statement */
	bool repeat;
	int64_t batch_size;
	int64_t max_repeats;       /* 0: no cap */
	char limit[24];            /* batch_size as text: $1 */
	char *explain_sql;         /* EXPLAIN statement */
	int64_t log_rows;          /* returned rows logged per execution */
	bool audit;                /* audit_returning */
	const char *audit_action;  /* host-owned */
	const char *audit_table;   /* host-owned, as written */
	char *audit_sql;           /* statement + to_jsonb of its rows */
	bool returns_rows;         /* found by describe(), at the start */
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
	const char *const values[NPARAMS] = { st->limit, FIRST_TID,
	                                      OPEN_END_TID };
	PGresult *res;

	res = PQexecParams(db, sql, NPARAMS, param_types, values, NULL, NULL,
	                   0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	set_error(api, db, res, what, errmsg);
	PQclear(res);
	return NULL;
}

/* Logs row i of res at info, event "row", its first ncols columns (at
 * most LOG_COLUMNS) as key=value pairs, NULL as NULL. */
static void log_row(const sweep_api *api, sweep_host *h, const PGresult *res,
                    int i, int ncols)
{
	const char *k[LOG_COLUMNS + 1] = { NULL };
	const char *v[LOG_COLUMNS + 1] = { NULL };
	char more[24];
	int j;

	for (j = 0; j < ncols && j < LOG_COLUMNS; j++) {
		k[j] = PQfname(res, j);
		v[j] = PQgetisnull(res, i, j) ? "NULL" : PQgetvalue(res, i, j);
	}
	if (ncols > LOG_COLUMNS) {
		snprintf(more, sizeof more, "%d", ncols - LOG_COLUMNS);
		k[LOG_COLUMNS] = "columns_not_logged";
		v[LOG_COLUMNS] = more;
	}
	/* The first NULL key ends the pairs. */
#define P(n) k[n], v[n]
	api->log(h, SWEEP_LOG_DEBUG, "row", P(0), P(1), P(2), P(3), P(4), P(5),
	         P(6), P(7), P(8), P(9), P(10), P(11), P(12), P(13), P(14),
	         P(15), P(16), SWEEP_LOG_END);
#undef P
}

/* Logs the first log_rows rows res returned at debug, then one line at
 * info with how many it left out.  The column to_jsonb added for the audit is not logged. */
static void log_returned(const sweep_api *api, sweep_host *h,
                         const sql_state *st, const PGresult *res)
{
	int n = PQntuples(res), ncols = PQnfields(res) - (st->audit ? 1 : 0);
	int i, shown = n < st->log_rows ? n : (int)st->log_rows;
	char logged[24], left[24];

	for (i = 0; i < shown; i++)
		log_row(api, h, res, i, ncols);
	if (n == shown)
		return;
	snprintf(logged, sizeof logged, "%d", shown);
	snprintf(left, sizeof left, "%d", n - shown);
	api->log(h, SWEEP_LOG_INFO, "rows not logged", "logged", logged,
	         "not_logged", left, "hint", st->audit ? "every row is in "
	         "sweepd.audit" : "raise log_rows, or set audit_returning = "
	         "true to record every row", SWEEP_LOG_END);
}

/* Writes one audit record per row of res, its last column (to_jsonb of
 * the row) as data, in the open transaction, adding each to *audited.
 * Returns 0, or -1 with *errmsg set. */
static int audit_returned(const sweep_api *api, sweep_host *h,
                          const sql_state *st, const PGresult *res,
                          int64_t *audited, char **errmsg)
{
	int i, json = PQnfields(res) - 1;

	for (i = 0; i < PQntuples(res); i++) {
		if (api->audit(h, st->audit_action, st->audit_table,
		               PQgetvalue(res, i, json), errmsg) != 0)
			return -1;
		(*audited)++;
	}
	return 0;
}

/* Executes the statement once in a transaction of its own, with the
 * timeouts of spec, and sets *rows to the rows it changed (or returned).
 * With audit_returning, each returned row is audited in that transaction;
 * after the commit, returned rows are logged.  Returns 0 with the
 * transaction committed, or -1 with *errmsg set, it rolled back and its
 * audit records taken off the counter "audited". */
static int exec_once(const sweep_api *api, sweep_host *h, const sql_state *st,
                     const sweep_batch *spec, int64_t *rows, char **errmsg)
{
	PGconn *db = api->db(h);
	PGresult *res = NULL, *done;
	int64_t audited = 0;
	int rc = -1;

	if (api->begin(h, spec->lock_timeout_ms, spec->statement_timeout_ms,
	               errmsg) != 0)
		goto out;
	res = exec_params(api, db, st, st->audit ? st->audit_sql
	                                         : st->statement,
	                  "statement", errmsg);
	if (!res)
		goto out;
	*rows = strtoll(PQcmdTuples(res), NULL, 10);
	if (st->audit && audit_returned(api, h, st, res, &audited,
	                                errmsg) != 0)
		goto out;
	done = api->query(h, "COMMIT", 0, NULL, "committing", errmsg);
	if (!done)
		goto out;
	PQclear(done);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		log_returned(api, h, st, res);
	rc = 0;
out:
	if (rc != 0) {
		if (PQtransactionStatus(db) != PQTRANS_IDLE)
			PQclear(PQexec(db, "ROLLBACK"));
		if (audited > 0)
			api->count(h, "audited", -audited);
	}
	PQclear(res);
	return rc;
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

/* Sets st->returns_rows from the server's description of the statement,
 * prepared (unnamed) in the transaction open on the run's connection but
 * not executed, and refuses audit_returning for a statement that returns
 * no rows.  Returns 0, or -1 with *errmsg set. */
static int describe(const sweep_api *api, sweep_host *h, sql_state *st,
                    char **errmsg)
{
	PGconn *db = api->db(h);
	PGresult *res;

	res = PQprepare(db, "", st->statement, NPARAMS, param_types);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		res = PQdescribePrepared(db, "");
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_error(api, db, res, "statement", errmsg);
		PQclear(res);
		return -1;
	}
	st->returns_rows = PQnfields(res) > 0;
	PQclear(res);
	if (st->audit && !st->returns_rows) {
		*errmsg = api->mprintf("audit_returning = true but the statement "
		                       "returns no rows: end it with RETURNING "
		                       "and the columns to record");
		return -1;
	}
	return 0;
}

/* describe() in a transaction of its own with spec's timeouts (preparing
 * takes the statement's locks), rolled back.  Returns 0, or -1 with
 * *errmsg set. */
static int describe_alone(const sweep_api *api, sweep_host *h,
                          sql_state *st, const sweep_batch *spec,
                          char **errmsg)
{
	PGconn *db = api->db(h);
	int rc;

	if (api->begin(h, spec->lock_timeout_ms, spec->statement_timeout_ms,
	               errmsg) != 0)
		return -1;
	rc = describe(api, h, st, errmsg);
	PQclear(PQexec(db, "ROLLBACK"));
	return rc;
}

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, sql_state *st)
{
	if (!st)
		return;
	api->free(st->explain_sql);
	api->free(st->audit_sql);
	free(st);
}

/* Checks log_rows and the audit options of st against each other.
 * Returns 0, or -1 with *errmsg set. */
static int check_audit_options(const sweep_api *api, const sql_state *st,
                               char **errmsg)
{
	if (st->log_rows < 0) {
		*errmsg = api->mprintf("log_rows = %" PRId64 ": must be 0 or "
		                       "more (returned rows logged per "
		                       "execution)", st->log_rows);
		return -1;
	}
	if (st->audit && !st->audit_table) {
		*errmsg = api->mprintf("audit_returning = true but audit_table "
		                       "is unset: name the table the statement "
		                       "changes, for the audit records");
		return -1;
	}
	if (!st->audit && st->audit_table) {
		*errmsg = api->mprintf("audit_table is set but audit_returning "
		                       "is false: set audit_returning = true to "
		                       "audit each returned row, or remove "
		                       "audit_table");
		return -1;
	}
	if (st->audit && (!st->audit_action || !*st->audit_action)) {
		*errmsg = api->mprintf("audit_action is empty: write the action "
		                       "the audit records name, e.g. updated");
		return -1;
	}
	return 0;
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
	st->log_rows = api->opt_int(h, "log_rows");
	st->audit = api->opt_bool(h, "audit_returning");
	st->audit_action = api->opt_string(h, "audit_action");
	st->audit_table = api->opt_string(h, "audit_table");
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
	if (check_audit_options(api, st, errmsg) != 0)
		goto out;
	snprintf(st->limit, sizeof st->limit, "%" PRId64, st->batch_size);
	st->explain_sql = api->mprintf("EXPLAIN %s", st->statement);
	/* The newline ends a comment the statement may end with. */
	if (st->audit)
		st->audit_sql = api->mprintf("WITH sweep_rows AS (%s\n) SELECT"
		                             " r.*, to_jsonb(r) FROM sweep_rows"
		                             " r", st->statement);
	if (!st->explain_sql || (st->audit && !st->audit_sql)) {
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
 * the result's message and the counter repetitions.  An uncapped repeat of
 * a statement returning no rows goes through the host's batch loop; one
 * execution, a repeat capped by max_repeats (which batch_loop cannot cap)
 * or a statement returning rows (which batch_loop does not show) goes
 * through repeat_own.
 * Returns 0, or -1 with *errmsg set; executions committed before an error
 * stay committed and counted. */
static int sql_run(const sweep_api *api, sweep_host *h, void *state,
                   char **errmsg)
{
	sql_state *st = state;
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
	if (describe_alone(api, h, st, &spec, errmsg) != 0)
		return -1;
	if (st->audit)
		api->count(h, "audited", 0); /* shown even when none */
	if (st->repeat && st->max_repeats == 0 && !st->returns_rows)
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
	sql_state *st = state;
	PGconn *db = api->db(h);
	PGresult *res = NULL;
	char *msg = NULL;
	int i, n, rc = -1;

	if (describe(api, h, st, errmsg) != 0)
		goto out;
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
	{ "log_rows", SWEEP_OPT_INT, 0, "100",
	  "rows the statement returns (RETURNING) logged per execution, at "
	  "debug, each as its columns; one line at info counts the rest" },
	{ "audit_returning", SWEEP_OPT_BOOL, 0, "false",
	  "one audit record (sweepd.audit) per row the statement returns, "
	  "the row as its data, in the statement's transaction" },
	{ "audit_action", SWEEP_OPT_STRING, 0, "updated",
	  "with audit_returning: the action the records name" },
	{ "audit_table", SWEEP_OPT_IDENT, 0, NULL,
	  "with audit_returning: the table the records name" },
	SWEEP_BATCH_OPTIONS,
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range sql_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	{ "max_repeats", 0, INT64_MAX },
	{ "log_rows", 0, INT64_MAX },
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin sql_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "sql",
	.version = "1.0.0",
	.description = "runs one SQL statement, once or repeated in short "
	               "transactions until it changes no row",
	.options = sql_options,
	.ranges = sql_ranges,
	.init = sql_init,
	.run = sql_run,
	.dry_run = sql_dry_run,
	.teardown = sql_teardown,
};

SWEEP_PLUGIN_DEFINE(sql_plugin)
