/* batch: the batched-statement loop of the plugin services: one statement
 * per batch, each its own short transaction, until the work is done. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "buf.h"
#include "db.h"
#include "log.h"

/* A heap-range batch is sized to change about batch_rows rows and to last
 * about this long, whichever is reached first. */
#define BATCH_TARGET_MS 50
/* A range grows at most this many times from one batch to the next. */
#define BATCH_MAX_GROWTH 4
/* Rows per page assumed for a table PostgreSQL has no statistics for. */
#define BATCH_DEFAULT_DENSITY 50.0
/* The highest block number a tid can name: a range ending here is open. */
#define BATCH_OPEN_END "(4294967295,0)"

/* Parameter types the host binds: $1 int8, $2 and $3 tid. */
#define BATCH_INT8OID 20
#define BATCH_TIDOID 27

/* Facts about the relation a HEAP_RANGES loop walks. */
typedef struct batch_heap {
	int64_t nblocks;    /* heap size when the loop started */
	double density;     /* rows per page PostgreSQL estimates */
} batch_heap;

/* Reads relation's kind, size and row density; refuses anything without a
 * heap of its own.  0, or -1 with *errmsg set. */
static int batch_heap_open(sweep_host *h, const char *relation,
                           batch_heap *heap, char **errmsg)
{
	const char *args[1] = {relation};
	PGresult *res;
	char err[512];
	int rc = -1;
	double tuples, pages;

	res = PQexecParams(h->conn, "SELECT c.relkind, pg_relation_size(c.oid)"
	                   " / current_setting('block_size')::int8,"
	                   " c.reltuples, c.relpages FROM pg_class c"
	                   " WHERE c.oid = $1::regclass", 1, NULL, args, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		api_failed(h, res);
		db_error(res, h->conn, relation, err, sizeof(err));
		*errmsg = api_table()->mprintf("%s", err);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "r") != 0) {
		*errmsg = api_table()->mprintf("%s is not a plain table (relkind "
		                               "'%s'); batches walk a table's own "
		                               "heap, so name a table or one "
		                               "partition", relation,
		                               PQgetvalue(res, 0, 0));
		goto out;
	}
	heap->nblocks = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	tuples = strtod(PQgetvalue(res, 0, 2), NULL);
	pages = strtod(PQgetvalue(res, 0, 3), NULL);
	heap->density = tuples > 0 && pages > 0 ? tuples / pages
	                                        : BATCH_DEFAULT_DENSITY;
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* Pages for the next range: enough to change batch_rows rows at the
 * density just seen, no longer than BATCH_TARGET_MS at the speed just
 * seen, at least 1, and at most BATCH_MAX_GROWTH times the last range. */
static int64_t batch_next_pages(int64_t pages, int64_t rows, int64_t ms,
                                int64_t batch_rows)
{
	double next = rows > 0 ? (double)batch_rows * (double)pages / (double)rows
	                       : (double)pages * BATCH_MAX_GROWTH;

	if (ms > 0 && next > (double)pages * BATCH_TARGET_MS / (double)ms)
		next = (double)pages * BATCH_TARGET_MS / (double)ms;
	if (next > (double)pages * BATCH_MAX_GROWTH)
		next = (double)pages * BATCH_MAX_GROWTH;
	return next < 1 ? 1 : (int64_t)next;
}

/* Sets the session's lock_timeout and statement_timeout for the batches
 * of spec (0 leaves one as it is); 0, or -1 with *errmsg set. */
static int batch_timeouts(sweep_host *h, const sweep_batch *spec,
                          char **errmsg)
{
	char sql[128], err[512];

	if (spec->lock_timeout_ms > 0) {
		snprintf(sql, sizeof(sql), "SET lock_timeout = %" PRId64,
		         spec->lock_timeout_ms);
		if (db_exec(h->conn, sql, err, sizeof(err)) != 0)
			goto fail;
	}
	if (spec->statement_timeout_ms > 0) {
		snprintf(sql, sizeof(sql), "SET statement_timeout = %" PRId64,
		         spec->statement_timeout_ms);
		if (db_exec(h->conn, sql, err, sizeof(err)) != 0)
			goto fail;
	}
	return 0;
fail:
	*errmsg = api_table()->mprintf("%s", err);
	return -1;
}

/* Gives the session back the timeouts batch_timeouts() changed. */
static void batch_timeouts_reset(sweep_host *h, const sweep_batch *spec)
{
	if (spec->lock_timeout_ms > 0)
		PQclear(PQexec(h->conn, "RESET lock_timeout"));
	if (spec->statement_timeout_ms > 0)
		PQclear(PQexec(h->conn, "RESET statement_timeout"));
}

/* The statement to execute: spec's, or, for an audited loop, spec's inside
 * a data-modifying WITH that writes one audit record per returned row in
 * the same statement.  New string (caller frees), NULL when out of memory. */
static char *batch_statement(const sweep_batch *spec)
{
	buf b = BUF_INIT;
	int first = 4 + spec->nparams;

	if (spec->audit_action == NULL)
		return strdup(spec->sql);
	buf_printf(&b, "WITH sweep_rows AS (%s) INSERT INTO " DB_SCHEMA
	           ".audit (run_id, job, action, table_name, data) SELECT $%d,"
	           " $%d, $%d, $%d, r.* FROM sweep_rows r", spec->sql, first,
	           first + 1, first + 2, first + 3);
	return buf_detach(&b);
}

/* See sweep_api.batch_loop in sweepd/plugin.h. */
int batch_loop(sweep_host *h, const sweep_batch *spec_in,
               sweep_batch_stats *stats_out, char **errmsg)
{
	sweep_batch spec;
	sweep_batch_stats stats;
	batch_heap heap = {0, 0};
	const char **values = NULL;
	Oid *types = NULL;
	char *sql = NULL, limit[32], lo_tid[40], hi_tid[40], err[1024];
	int nvalues, i, rc = -1;
	int64_t lo = 0, pages = 1;
	bool timeouts_set = false;

	*errmsg = NULL;
	memset(&spec, 0, sizeof(spec));
	memset(&stats, 0, sizeof(stats));
	memcpy(&spec, spec_in, spec_in->size < sizeof(spec) ? spec_in->size
	                                                     : sizeof(spec));
	if (spec.sql == NULL || spec.batch_rows <= 0 || spec.nparams < 0 ||
	    (spec.mode != SWEEP_BATCH_UNTIL_EMPTY &&
	     spec.mode != SWEEP_BATCH_HEAP_RANGES) ||
	    (spec.mode == SWEEP_BATCH_HEAP_RANGES && spec.relation == NULL) ||
	    (spec.audit_action != NULL && spec.audit_table == NULL) ||
	    spec.lock_timeout_ms < 0 || spec.statement_timeout_ms < 0) {
		*errmsg = api_table()->mprintf("batch_loop: invalid spec (needs "
		                               "sql, a mode, batch_rows > 0, a "
		                               "relation for HEAP_RANGES, an "
		                               "audit_table with audit_action and "
		                               "no negative timeout)");
		goto out;
	}
	if (h->dry_run) {
		*errmsg = api_table()->mprintf("batch_loop changes data and is "
		                               "not allowed in a dry run");
		goto out;
	}
	nvalues = 3 + spec.nparams + (spec.audit_action ? 4 : 0);
	values = calloc((size_t)nvalues, sizeof(*values));
	types = calloc((size_t)nvalues, sizeof(*types));
	sql = batch_statement(&spec);
	if (values == NULL || types == NULL || sql == NULL) {
		*errmsg = api_table()->mprintf("batch_loop: out of memory");
		goto out;
	}
	types[0] = BATCH_INT8OID;
	types[1] = types[2] = BATCH_TIDOID;
	for (i = 0; i < spec.nparams; i++)
		values[3 + i] = spec.params[i];
	if (spec.audit_action) {
		values[3 + spec.nparams] = h->run_id[0] ? h->run_id : NULL;
		values[4 + spec.nparams] = h->job->name;
		values[5 + spec.nparams] = spec.audit_action;
		values[6 + spec.nparams] = spec.audit_table;
	}
	if (batch_timeouts(h, &spec, errmsg) != 0)
		goto out;
	timeouts_set = true;
	if (spec.mode == SWEEP_BATCH_HEAP_RANGES) {
		if (batch_heap_open(h, spec.relation, &heap, errmsg) != 0)
			goto out;
		pages = (int64_t)((double)spec.batch_rows / heap.density) + 1;
	}
	for (;;) {
		PGresult *res;
		int64_t t0, ms, n, left = spec.max_rows - stats.rows;
		int open_end = 0;

		if (*h->stop) {
			stats.stopped = true;
			break;
		}
		values[0] = limit;
		if (spec.mode == SWEEP_BATCH_HEAP_RANGES) {
			if (spec.max_rows > 0)
				snprintf(limit, sizeof(limit), "%" PRId64, left);
			else
				values[0] = NULL;
			open_end = lo + pages >= heap.nblocks;
			snprintf(lo_tid, sizeof(lo_tid), "(%" PRId64 ",0)", lo);
			snprintf(hi_tid, sizeof(hi_tid), "(%" PRId64 ",0)",
			         lo + pages);
			values[1] = lo_tid;
			values[2] = open_end ? BATCH_OPEN_END : hi_tid;
		} else {
			snprintf(limit, sizeof(limit), "%" PRId64,
			         spec.max_rows > 0 && left < spec.batch_rows
			         ? left : spec.batch_rows);
			values[1] = "(0,0)";
			values[2] = BATCH_OPEN_END;
		}
		t0 = api_now_ms();
		res = PQexecParams(h->conn, sql, nvalues, types, values, NULL,
		                   NULL, 0);
		ms = api_now_ms() - t0;
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			char what[64];
			snprintf(what, sizeof(what), "batch %" PRId64,
			         stats.batches + 1);
			api_failed(h, res);
			db_error(res, h->conn, what, err, sizeof(err));
			PQclear(res);
			*errmsg = api_table()->mprintf("%s", err);
			goto out;
		}
		n = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		stats.batches++;
		stats.rows += n;
		if (ms > stats.longest_ms)
			stats.longest_ms = ms;
		if (spec.counter)
			result_count(h->result, spec.counter, n);
		if (spec.audit_action)
			result_count(h->result, "audited", n);
		api_table()->progress(h, stats.rows, -1);
		if (spec.max_rows > 0 && stats.rows >= spec.max_rows)
			break;
		if (spec.mode == SWEEP_BATCH_HEAP_RANGES) {
			if (open_end)
				break;
			lo += pages;
			pages = batch_next_pages(pages, n, ms, spec.batch_rows);
		} else if (n == 0) {
			break;
		}
		api_pause(h, spec.pause_ms);
	}
	rc = 0;
out:
	if (timeouts_set)
		batch_timeouts_reset(h, &spec);
	h->result->batches += stats.batches;
	if (stats.longest_ms > h->result->longest_batch_ms)
		h->result->longest_batch_ms = stats.longest_ms;
	if (stats.stopped)
		h->result->stopped = true;
	if (stats_out != NULL) {
		stats.size = stats_out->size;
		memcpy(stats_out, &stats, stats_out->size < sizeof(stats)
		       ? stats_out->size : sizeof(stats));
	}
	free(values);
	free(types);
	free(sql);
	return rc;
}
