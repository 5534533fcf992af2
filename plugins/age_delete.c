/*
 * age_delete: deletes the rows of one table whose time column is older than
 * a given age, optionally narrowed by an extra condition, in short batches.
 *
 * The cutoff is computed once per run by the database (now() - older_than,
 * its years, months and days counted on the calendar of naive_timezone), so
 * every batch of the run compares against the same instant.  A row goes
 * when time_column < cutoff, strictly: a row exactly at the cutoff stays, and
 * a row whose time column is NULL never goes.  A time_column without a time
 * zone (timestamp, date) is read as wall-clock time in naive_timezone
 * (default UTC), whatever TimeZone the session has (SDK 1.5 ages).
 *
 * The host's batch loop walks the table's heap in ranges of blocks; each
 * batch is one DELETE restricted to its range ($2, $3), which PostgreSQL runs
 * as a TID Range Scan, in its own transaction.  Each batch also stops at
 * the rows the host lets it delete ($1: what max_rows leaves, or a cap on
 * a range that may hold too many rows).  With audit_columns,
 * the DELETE returns one jsonb object of those columns per row and the host
 * writes it as an audit record in the same transaction.
 *
 * The rest comes from the host's services (SDK 1.3): every query goes
 * through api->query, so a failure reads "what: message (SQLSTATE x)" and a
 * transient one makes a scheduled run try again; the audit object is built
 * by api->json_object and the keys the dry run samples by api->key_object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <sweepd/plugin.h>

/* Lines dry_run adds to the sample. */
#define SAMPLE_ROWS 5

typedef struct age_state {
	const char *table;       /* quoted; host-owned */
	const char *table_name;  /* as written, for messages and audit */
	const char *time_column; /* quoted; host-owned */
	const char *zone;        /* naive_timezone; host-owned */
	char *older_run;         /* time_column older than $4, the cutoff */
	char *older_dry;         /* the same against $1 */
	int64_t batch_size;
	int64_t max_rows;        /* 0: no cap */
	int32_t parallel;        /* sessions deleting at once */
	char *filter;            /* " AND (where)", or "" */
	const char *audit_object; /* jsonb_build_object(...) of audit_columns,
	                             or NULL when the job is not audited;
	                             host-owned */
	char *delete_sql;        /* the batch statement; $4 is the cutoff */
	char *count_sql;         /* rows that would go; $1 is the cutoff */
} age_state;

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, age_state *st)
{
	if (!st)
		return;
	api->free(st->filter);
	api->free(st->older_run);
	api->free(st->older_dry);
	api->free(st->delete_sql);
	api->free(st->count_sql);
	free(st);
}

/* Finds how st's time column compares with the cutoff (its type) and
 * builds that test for the batches ($4) and the dry run ($1).  Returns 0,
 * or -1 with *errmsg set. */
static int older_build(const sweep_api *api, sweep_host *h, age_state *st,
                       char **errmsg)
{
	int kind;

	if (sweep_time_kind(api, h, st->table, st->time_column, &kind,
	                    errmsg) != 0)
		return -1;
	st->older_run = sweep_age_condition(api, h, kind, st->time_column,
	                                    st->zone, 4);
	st->older_dry = sweep_age_condition(api, h, kind, st->time_column,
	                                    st->zone, 1);
	if (!st->older_run || !st->older_dry) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Reads and checks the options and builds the statements of the run into
 * *state.  Returns 0, or -1 with *errmsg set and nothing allocated. */
static int age_init(const sweep_api *api, sweep_host *h, void **state,
                    char **errmsg)
{
	age_state *st;
	const char *const *cols;
	const char *where;
	size_t ncols;
	char *returning = NULL;
	int rc = -1;

	st = calloc(1, sizeof *st);
	if (!st) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->table = api->opt_ident(h, "table");
	st->table_name = api->opt_string(h, "table");
	st->time_column = api->opt_ident(h, "time_column");
	st->zone = api->opt_string(h, "naive_timezone");
	st->batch_size = api->opt_int(h, "batch_size");
	st->max_rows = api->opt_int(h, "max_rows");
	if (!st->table || !st->time_column) {
		*errmsg = api->mprintf("cannot quote table or time_column: "
		                       "out of memory");
		goto out;
	}
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (rows per batch, "
		                       "e.g. 5000)", st->batch_size);
		goto out;
	}
	if (st->max_rows < 0) {
		*errmsg = api->mprintf("max_rows = %" PRId64 ": must not be "
		                       "negative (0 or unset: no cap)",
		                       st->max_rows);
		goto out;
	}
	if (sweep_parallel(api, h, &st->parallel, errmsg) != 0 ||
	    older_build(api, h, st, errmsg) != 0)
		goto out;
	ncols = api->opt_list(h, "audit_columns", &cols);
	if (ncols > 0) {
		st->audit_object = api->json_object(h, cols, ncols, NULL,
		                                    errmsg);
		if (!st->audit_object)
			goto out;
	}

	where = api->opt_string(h, "where");
	st->filter = api->mprintf("%s%s%s", where ? " AND (" : "",
	                          where ? where : "", where ? ")" : "");
	returning = api->mprintf("%s%s", st->audit_object ? " RETURNING " : "",
	                         st->audit_object ? st->audit_object : "");
	if (!st->filter || !returning) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	/* Without a cap ($1 NULL) the planner folds the OR away: a plain
	 * TID Range Scan.  With one, the first $1 matching rows of the
	 * range go. */
	st->delete_sql = api->mprintf(
		"DELETE FROM %s WHERE ctid >= $2 AND ctid < $3"
		" AND %s%s AND ($1 IS NULL OR ctid = ANY"
		" (ARRAY(SELECT ctid FROM %s WHERE ctid >= $2 AND ctid < $3"
		" AND %s%s LIMIT $1)))%s",
		st->table, st->older_run, st->filter, st->table,
		st->older_run, st->filter, returning);
	st->count_sql = api->mprintf(
		"SELECT count(*) FROM %s WHERE %s%s",
		st->table, st->older_dry, st->filter);
	if (!st->delete_sql || !st->count_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	*state = st;
	st = NULL;
	rc = 0;
out:
	api->free(returning);
	state_free(api, st);
	return rc;
}

/* Deletes, batch by batch, the rows older than the cutoff and sets the
 * result's message.  Returns 0, or -1 with *errmsg set; batches committed
 * before an error stay committed and counted. */
static int age_run(const sweep_api *api, sweep_host *h, void *state,
                   char **errmsg)
{
	const age_state *st = state;
	const char *params[1] = { NULL };
	sweep_batch spec = {
		.size = sizeof spec,
		.mode = SWEEP_BATCH_HEAP_RANGES,
		.sql = st->delete_sql,
		.nparams = 1,
		.params = params,
		.relation = st->table,
		.batch_rows = st->batch_size,
		.max_rows = st->max_rows,
		.counter = "deleted",
		.audit_action = st->audit_object ? "deleted" : NULL,
		.audit_table = st->audit_object ? st->table_name : NULL,
		.parallel = st->parallel,
	};
	sweep_batch_stats stats = { .size = sizeof stats };
	char *cutoff = NULL, *msg = NULL;
	char rows[24], batches[24];
	int rc = -1;

	sweep_batch_options(api, h, &spec);
	if (sweep_age_cutoff(api, h, "older_than", st->zone, SWEEP_AGE_NOW,
	                     &cutoff, NULL, errmsg) != 0)
		goto out;
	params[0] = cutoff;
	if (api->batch_loop(h, &spec, &stats, errmsg) != 0)
		goto out;

	snprintf(rows, sizeof rows, "%" PRId64, stats.rows);
	snprintf(batches, sizeof batches, "%" PRId64, stats.batches);
	api->log(h, SWEEP_LOG_INFO, "deleted", "table", st->table_name,
	         "rows", rows, "batches", batches, "cutoff", cutoff,
	         "stopped", stats.stopped ? "true" : "false", SWEEP_LOG_END);
	msg = api->mprintf("deleted %s rows from %s older than %s%s", rows,
	                   st->table_name, cutoff,
	                   stats.stopped ? " (stopped early on request)" : "");
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	api->free(msg);
	api->free(cutoff);
	return rc;
}

/* Reports what run would delete, changing nothing: the counter
 * would_delete (capped at max_rows), the keys (audit columns, else primary
 * key, else ctid) of up to SAMPLE_ROWS of the oldest rows that match, and a
 * message.  Returns 0, or -1 with *errmsg set. */
static int age_dry_run(const sweep_api *api, sweep_host *h, void *state,
                       char **errmsg)
{
	const age_state *st = state;
	const char *params[1] = { NULL };
	const char *keys = st->audit_object;
	PGresult *res = NULL;
	char *cutoff = NULL, *sql = NULL, *msg = NULL;
	int64_t matching, would;
	int i, limit = SAMPLE_ROWS;
	int rc = -1;

	if (sweep_age_cutoff(api, h, "older_than", st->zone, SWEEP_AGE_NOW,
	                     &cutoff, NULL, errmsg) != 0)
		goto out;
	params[0] = cutoff;
	res = api->query(h, st->count_sql, 1, params, "counting rows",
	                 errmsg);
	if (!res)
		goto out;
	matching = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	res = NULL;
	would = matching;
	if (st->max_rows > 0 && st->max_rows < matching)
		would = st->max_rows;
	api->count(h, "would_delete", would);

	if (!keys)
		keys = api->key_object(h, st->table, NULL, errmsg);
	if (!keys)
		goto out;
	if (st->max_rows > 0 && st->max_rows < limit)
		limit = (int)st->max_rows;
	sql = api->mprintf("SELECT %s FROM %s WHERE %s%s ORDER BY %s LIMIT %d",
	                   keys, st->table, st->older_dry, st->filter,
	                   st->time_column, limit);
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	res = api->query(h, sql, 1, params, "sampling rows", errmsg);
	if (!res)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		api->sample(h, PQgetvalue(res, i, 0));

	if (would < matching)
		msg = api->mprintf("would delete %" PRId64 " rows (max_rows; "
		                   "%" PRId64 " match) from %s older than %s",
		                   would, matching, st->table_name, cutoff);
	else
		msg = api->mprintf("would delete %" PRId64 " rows from %s "
		                   "older than %s", would, st->table_name, cutoff);
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	PQclear(res);
	api->free(msg);
	api->free(sql);
	api->free(cutoff);
	return rc;
}

/* Frees the state built by age_init. */
static void age_teardown(const sweep_api *api, sweep_host *h, void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option age_options[] = {
	{ "table", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "table to delete from, optionally schema-qualified" },
	{ "time_column", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "column dating each row (timestamptz, timestamp or date); "
	  "rows where it is NULL are kept" },
	{ "older_than", SWEEP_OPT_DURATION,
	  SWEEP_OPT_REQUIRED | SWEEP_OPT_AGE, NULL,
	  "delete rows whose time_column is before now() minus this age "
	  "(e.g. 30d, 6mo, 3y: months and years on the calendar)" },
	{ "where", SWEEP_OPT_SQL_EXPR, 0, NULL,
	  "extra condition a row must also meet to be deleted" },
	{ "batch_size", SWEEP_OPT_INT, 0, "5000",
	  "rows a batch aims to delete, each batch one short transaction "
	  "(a batch covers whole pages, so it may take a page's rows more)" },
	SWEEP_BATCH_OPTIONS,
	SWEEP_PARALLEL_OPTION,
	{ "max_rows", SWEEP_OPT_INT, 0, NULL,
	  "most rows one run deletes (then parallel is 1); 0 or unset: "
	  "no cap" },
	{ "audit_columns", SWEEP_OPT_LIST, 0, NULL,
	  "columns written to one audit record per deleted row" },
	SWEEP_NAIVE_TIMEZONE_OPTION,
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range age_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	{ "max_rows", 0, INT64_MAX },
	SWEEP_PARALLEL_RANGE,
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin age_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "age_delete",
	.version = "1.0.0",
	.description = "deletes rows older than a given age from one table, "
	               "in short batches",
	.options = age_options,
	.ranges = age_ranges,
	.init = age_init,
	.run = age_run,
	.dry_run = age_dry_run,
	.teardown = age_teardown,
};

SWEEP_PLUGIN_DEFINE(age_plugin)
