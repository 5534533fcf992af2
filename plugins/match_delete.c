/*
 * match_delete: deletes the rows of one table whose key column has a match
 * in a column of another (or the same) table (mode = exists), or has none
 * (mode = missing: orphan rows), optionally narrowed by an extra condition,
 * in short batches.
 *
 * A row matches when some row of ref_table has ref_column = key_column, or
 * with ignore_case lower(ref_column) = lower(key_column) (e-mail addresses).
 * An index on ref_column (with ignore_case: on lower(ref_column)) keeps
 * each batch short; without one, every batch reads all of ref_table.  A
 * row whose key column is NULL is never deleted, in either mode, and a
 * NULL in ref_column matches nothing.  The table is aliased t and
 * ref_table r, so ref_table may be the table itself (rows whose parent is
 * gone) and the extra condition names the table's columns unqualified or
 * as t.column.
 *
 * The host's batch loop walks the table's heap in ranges of blocks; each
 * batch is one DELETE restricted to its range ($2, $3), which PostgreSQL runs
 * as a TID Range Scan, in its own transaction, stopping at the rows the
 * host lets it delete ($1, when it caps them).  With audit_columns, the
 * DELETE returns one jsonb object of those columns per row and the host
 * writes it as an audit record in the same transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweepd/plugin.h>

/* Lines dry_run adds to the sample. */
#define SAMPLE_ROWS 5

typedef struct match_state {
	const char *table;       /* quoted; host-owned */
	const char *table_name;  /* as written, for messages and audit */
	const char *key_column;  /* quoted; host-owned */
	bool missing;            /* mode = missing: delete rows without match */
	int64_t batch_size;
	int32_t parallel;        /* sessions deleting at once */
	char *what;              /* "whose KEY has a match in REF.COL", for
	                            messages */
	char *condition;         /* what a row of t must meet to be deleted */
	const char *audit_object; /* jsonb_build_object(...) of audit_columns,
	                             or NULL when the job is not audited;
	                             host-owned */
	char *delete_sql;        /* the batch statement */
	char *count_sql;         /* rows of the table, and rows that match */
	char *sample_sql;        /* keys of the first SAMPLE_ROWS rows that
	                            match */
} match_state;

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, match_state *st)
{
	if (!st)
		return;
	api->free(st->what);
	api->free(st->condition);
	api->free(st->delete_sql);
	api->free(st->count_sql);
	api->free(st->sample_sql);
	free(st);
}

/* Sets st->condition: the key is not NULL, a row of ref_table matches it
 * (or, in mode missing, none does), and the extra condition holds.
 * Returns 0, or -1 with *errmsg set. */
static int condition_build(const sweep_api *api, sweep_host *h,
                           match_state *st, char **errmsg)
{
	const char *ref_table = api->opt_ident(h, "ref_table");
	const char *ref_column = api->opt_ident(h, "ref_column");
	bool ignore_case = api->opt_bool(h, "ignore_case");
	const char *where = api->opt_string(h, "where");
	char *filter = NULL;
	int rc = -1;

	if (!ref_table || !ref_column) {
		*errmsg = api->mprintf("cannot quote ref_table or ref_column: "
		                       "out of memory");
		goto out;
	}
	filter = api->mprintf("%s%s%s", where ? " AND (" : "",
	                      where ? where : "", where ? ")" : "");
	if (!filter)
		goto oom;
	st->condition = api->mprintf(
		"t.%s IS NOT NULL AND %sEXISTS (SELECT 1 FROM %s AS r"
		" WHERE %sr.%s%s = %st.%s%s)%s", st->key_column,
		st->missing ? "NOT " : "", ref_table,
		ignore_case ? "lower(" : "", ref_column, ignore_case ? ")" : "",
		ignore_case ? "lower(" : "", st->key_column,
		ignore_case ? ")" : "", filter);
	st->what = api->mprintf("whose %s has %s match in %s.%s%s",
	                        api->opt_string(h, "key_column"),
	                        st->missing ? "no" : "a",
	                        api->opt_string(h, "ref_table"),
	                        api->opt_string(h, "ref_column"),
	                        ignore_case ? " (ignoring case)" : "");
	if (!st->condition || !st->what)
		goto oom;
	rc = 0;
	goto out;
oom:
	*errmsg = api->mprintf("out of memory");
out:
	api->free(filter);
	return rc;
}

/* Reads and checks the options and builds the statements of the run into
 * *state.  Returns 0, or -1 with *errmsg set and nothing allocated. */
static int match_init(const sweep_api *api, sweep_host *h, void **state,
                      char **errmsg)
{
	match_state *st;
	const char *mode = api->opt_string(h, "mode");
	const char *const *cols;
	size_t ncols;
	char *returning = NULL, *key = NULL;
	int rc = -1;

	st = calloc(1, sizeof *st);
	if (!st) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->table = api->opt_ident(h, "table");
	st->table_name = api->opt_string(h, "table");
	st->key_column = api->opt_ident(h, "key_column");
	st->batch_size = api->opt_int(h, "batch_size");
	if (!st->table || !st->key_column) {
		*errmsg = api->mprintf("cannot quote table or key_column: "
		                       "out of memory");
		goto out;
	}
	if (!mode || (strcmp(mode, "exists") != 0 &&
	              strcmp(mode, "missing") != 0)) {
		*errmsg = api->mprintf("mode = '%s': must be exists (delete "
		                       "rows that have a match) or missing "
		                       "(delete rows that have none)",
		                       mode ? mode : "");
		goto out;
	}
	st->missing = strcmp(mode, "missing") == 0;
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (rows per batch, "
		                       "e.g. 5000)", st->batch_size);
		goto out;
	}
	if (sweep_parallel(api, h, &st->parallel, errmsg) != 0)
		goto out;
	ncols = api->opt_list(h, "audit_columns", &cols);
	if (ncols > 0) {
		st->audit_object = api->json_object(h, cols, ncols, NULL,
		                                    errmsg);
		if (!st->audit_object)
			goto out;
	}
	if (condition_build(api, h, st, errmsg) != 0)
		goto out;

	returning = api->mprintf("%s%s", st->audit_object ? " RETURNING " : "",
	                         st->audit_object ? st->audit_object : "");
	key = api->mprintf("t.%s", st->key_column);
	if (!returning || !key) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	/* Without a cap ($1 NULL) the planner folds the OR away; with one,
	 * the first $1 matching rows of the range go (the inner t hides the
	 * outer one, so the condition reads the inner). */
	st->delete_sql = api->mprintf(
		"DELETE FROM %s AS t WHERE t.ctid >= $2 AND t.ctid < $3"
		" AND %s AND ($1 IS NULL OR t.ctid = ANY (ARRAY(SELECT t.ctid"
		" FROM %s AS t WHERE t.ctid >= $2 AND t.ctid < $3 AND %s"
		" LIMIT $1)))%s", st->table, st->condition, st->table,
		st->condition, returning);
	st->count_sql = api->mprintf(
		"SELECT count(*), count(*) FILTER (WHERE %s) FROM %s AS t",
		st->condition, st->table);
	st->sample_sql = api->mprintf(
		"SELECT %s FROM %s AS t WHERE %s ORDER BY %s LIMIT %d",
		st->audit_object ? st->audit_object : key, st->table,
		st->condition, key, SAMPLE_ROWS);
	if (!st->delete_sql || !st->count_sql || !st->sample_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	*state = st;
	st = NULL;
	rc = 0;
out:
	api->free(key);
	api->free(returning);
	state_free(api, st);
	return rc;
}

/* Deletes, batch by batch, the rows that match (or, in mode missing, do
 * not) and sets the result's message.  Returns 0, or -1 with *errmsg set;
 * batches committed before an error stay committed and counted. */
static int match_run(const sweep_api *api, sweep_host *h, void *state,
                     char **errmsg)
{
	const match_state *st = state;
	sweep_batch spec = {
		.size = sizeof spec,
		.mode = SWEEP_BATCH_HEAP_RANGES,
		.sql = st->delete_sql,
		.relation = st->table,
		.batch_rows = st->batch_size,
		.counter = "deleted",
		.audit_action = st->audit_object ? "deleted" : NULL,
		.audit_table = st->audit_object ? st->table_name : NULL,
		.parallel = st->parallel,
	};
	sweep_batch_stats stats = { .size = sizeof stats };
	char *msg = NULL;
	char rows[24], batches[24];
	int rc = -1;

	sweep_batch_options(api, h, &spec);
	if (api->batch_loop(h, &spec, &stats, errmsg) != 0)
		goto out;

	snprintf(rows, sizeof rows, "%" PRId64, stats.rows);
	snprintf(batches, sizeof batches, "%" PRId64, stats.batches);
	api->log(h, SWEEP_LOG_INFO, "deleted", "table", st->table_name,
	         "rows", rows, "batches", batches, "stopped",
	         stats.stopped ? "true" : "false", SWEEP_LOG_END);
	msg = api->mprintf("deleted %s rows from %s %s%s", rows,
	                   st->table_name, st->what,
	                   stats.stopped ? " (stopped early on request)" : "");
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

/* Reports what run would delete, changing nothing: the counters examined
 * (rows of the table) and would_delete, the keys (audit columns, else the
 * key column) of the first SAMPLE_ROWS rows that would go in key order,
 * and a message.  Returns 0, or -1 with *errmsg set. */
static int match_dry_run(const sweep_api *api, sweep_host *h, void *state,
                         char **errmsg)
{
	const match_state *st = state;
	PGresult *res;
	char *msg = NULL;
	int64_t examined, would;
	int i, rc = -1;

	res = api->query(h, st->count_sql, 0, NULL, "counting rows", errmsg);
	if (!res)
		goto out;
	examined = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	would = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	api->count(h, "examined", examined);
	api->count(h, "would_delete", would);

	res = api->query(h, st->sample_sql, 0, NULL, "sampling rows", errmsg);
	if (!res)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		api->sample(h, PQgetvalue(res, i, 0));
	PQclear(res);

	msg = api->mprintf("would delete %" PRId64 " of %" PRId64 " rows "
	                   "from %s %s", would, examined, st->table_name,
	                   st->what);
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

/* Frees the state built by match_init. */
static void match_teardown(const sweep_api *api, sweep_host *h, void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option match_options[] = {
	{ "table", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "table to delete from, optionally schema-qualified" },
	{ "key_column", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "column of table looked up in ref_column; a row where it is NULL "
	  "is never deleted, in either mode" },
	{ "ref_table", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "table holding the values to match, optionally schema-qualified; "
	  "may be table itself" },
	{ "ref_column", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "column of ref_table compared with key_column (NULL matches "
	  "nothing)" },
	{ "mode", SWEEP_OPT_STRING, 0, "exists",
	  "exists: delete rows whose key has a match; missing: delete rows "
	  "whose key has none (orphans)" },
	{ "ignore_case", SWEEP_OPT_BOOL, 0, "false",
	  "compare lower(key_column) = lower(ref_column), e.g. for e-mail "
	  "addresses" },
	{ "where", SWEEP_OPT_SQL_EXPR, 0, NULL,
	  "extra condition a row must also meet to be deleted (columns of "
	  "table unqualified or as t.column)" },
	{ "batch_size", SWEEP_OPT_INT, 0, "5000",
	  "rows a batch aims to delete, each batch one short transaction "
	  "(a batch covers whole pages, so it may take a page's rows more)" },
	SWEEP_BATCH_OPTIONS,
	SWEEP_PARALLEL_OPTION,
	{ "audit_columns", SWEEP_OPT_LIST, 0, NULL,
	  "columns written to one audit record per deleted row" },
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range match_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	SWEEP_PARALLEL_RANGE,
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin match_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "match_delete",
	.version = "1.0.0",
	.description = "deletes rows whose key has (or has no) match in "
	               "another table, in short batches",
	.options = match_options,
	.ranges = match_ranges,
	.init = match_init,
	.run = match_run,
	.dry_run = match_dry_run,
	.teardown = match_teardown,
};

SWEEP_PLUGIN_DEFINE(match_plugin)
