/* batch: the batched-statement loop of the plugin services: one statement
 * per batch, each its own short transaction, until the work is done.  A
 * heap-range batch that fails for one row's data is taken apart (isolate.c)
 * so that the row fails alone. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "buf.h"
#include "db.h"
#include "isolate.h"
#include "log.h"

/* A heap-range batch is sized to change about batch_rows rows and to last
 * about this long, whichever is reached first. */
#define BATCH_TARGET_MS 50
/* A range grows at most this many times from one batch to the next. */
#define BATCH_MAX_GROWTH 4
/* A batch changes at most this many times batch_rows rows: a range that
 * may hold more is capped in its statement ($1). */
#define BATCH_MOST 2
/* A range spans at most this many times batch_rows rows at the densest
 * pages seen, so that a range grown over empty pages stays short to scan
 * where the pages fill again. */
#define BATCH_MAX_SPAN 64
/* Rows per page assumed for a table PostgreSQL has no statistics for. */
#define BATCH_DEFAULT_DENSITY 50.0
/* Pages sampled for the most rows a page holds. */
#define BATCH_SAMPLE_PAGES 64
/* Parameter types the host binds: $1 int8, $2 and $3 tid. */
#define BATCH_INT8OID 20
#define BATCH_TIDOID 27

/* Facts about the relation a HEAP_RANGES loop walks. */
typedef struct batch_heap {
	int64_t nblocks;    /* heap size when the loop started */
	double density;     /* rows per page PostgreSQL estimates */
	double fullest;     /* most live rows on a sampled page; 0: none */
} batch_heap;

/* Reads relation's kind, size and row density; refuses anything without a
 * heap of its own.  0, or -1 with *errmsg set. */
static int batch_heap_open(sweep_host *h, const char *relation,
                           batch_heap *heap, char **errmsg)
{
	const char *args[1] = {relation};
	PGresult *res;
	int rc = -1;
	double tuples, pages;

	res = api_table()->query(h, "SELECT c.relkind, pg_relation_size(c.oid)"
	                         " / current_setting('block_size')::int8,"
	                         " c.reltuples, c.relpages FROM pg_class c"
	                         " WHERE c.oid = $1::regclass", 1, args,
	                         relation, errmsg);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "r") != 0) {
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

/* Sets heap->fullest to the most live rows on one of about
 * BATCH_SAMPLE_PAGES pages of relation picked at random (TABLESAMPLE
 * SYSTEM reads only those): pg_class's average is no bound on a page's
 * rows in a heap with empty stretches or without statistics, and a range
 * is judged by the rows it may hold.  0, or -1 with *errmsg set. */
static int batch_heap_fullest(sweep_host *h, const char *relation,
                              batch_heap *heap, char **errmsg)
{
	char percent[32], *sql;
	const char *args[1] = {percent};
	PGresult *res;
	double p = heap->nblocks > 0
		? 100.0 * BATCH_SAMPLE_PAGES / (double)heap->nblocks : 100;

	snprintf(percent, sizeof(percent), "%.6f", p < 100 ? p : 100);
	sql = api_table()->mprintf("SELECT coalesce(max(n), 0) FROM (SELECT"
	                           " count(*) AS n FROM %s TABLESAMPLE SYSTEM"
	                           " ($1::float4) GROUP BY"
	                           " (ctid::text::point)[0]) AS pages",
	                           relation);
	if (sql == NULL) {
		*errmsg = api_table()->mprintf("batch_loop: out of memory");
		return -1;
	}
	res = api_table()->query(h, sql, 1, args, "sampling pages", errmsg);
	free(sql);
	if (res == NULL)
		return -1;
	heap->fullest = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return 0;
}

/* Puts the timeouts the loop set for spec on the run's session back to
 * the server's and role's defaults (RESET), which the session had: the
 * host opens it for the run. */
static void batch_timeouts_reset(PGconn *conn, const sweep_batch *spec)
{
	if (spec->lock_timeout_ms > 0)
		PQclear(PQexec(conn, "RESET lock_timeout"));
	if (spec->statement_timeout_ms > 0)
		PQclear(PQexec(conn, "RESET statement_timeout"));
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

/* One session of a loop and the batch it has in flight. */
typedef struct batch_lane {
	PGconn *conn;       /* lane 0: the run's; the others: the loop's own */
	int number;         /* 1-based, for messages */
	bool busy;          /* a batch was sent and its result not read */
	int64_t pages;      /* length of that batch's range, then the next's */
	isolate_tid lo, hi; /* that batch's range */
	int64_t t0;         /* when it was sent, api_now_ms() */
	int64_t cap;        /* its row cap (BATCH_MOST * batch_rows), 0: none */
	bool capped;        /* $1 was that cap, not what max_rows leaves */
	isolate_tid rest_lo, rest_hi; /* an earlier range's part this lane
	                                 walks again first; empty: lo >= hi */
} batch_lane;

/* One call of batch_loop. */
typedef struct batch_walk {
	sweep_host *h;
	sweep_batch spec;
	batch_heap heap;
	char *sql;            /* owned */
	const char **values;  /* owned array of borrowed strings */
	Oid *types;           /* owned */
	int nvalues;
	batch_lane lanes[SWEEP_BATCH_MAX_PARALLEL];
	int nlanes;
	int64_t next_lo;      /* first block not yet handed to a lane */
	bool walked;          /* the last range of the heap was handed out */
	bool done;            /* nothing more to send */
	double dense;         /* most rows per page seen: pg_class's average,
	                         a sampled page's, or a batch's range's */
	bool measured;        /* a batch changed rows over its whole range */
	bool cap_ignored;     /* the statement changed more rows than $1 */
	sweep_batch_stats stats;
	char *error;          /* first failure (host-allocated), or NULL */
	isolate iso;          /* taking failed batches apart */
	batch_lane *isolating;/* the lane whose batch is taken apart */
} batch_walk;

/* Checks spec and builds the statement and its parameters into w.  0, or
 * -1 with *errmsg set. */
static int batch_walk_init(batch_walk *w, sweep_host *h,
                           const sweep_batch *spec_in, char **errmsg)
{
	const sweep_batch *spec = &w->spec;
	int i;

	w->h = h;
	memcpy(&w->spec, spec_in, spec_in->size < sizeof(w->spec)
	       ? spec_in->size : sizeof(w->spec));
	if (spec->sql == NULL || spec->batch_rows <= 0 || spec->nparams < 0 ||
	    (spec->mode != SWEEP_BATCH_UNTIL_EMPTY &&
	     spec->mode != SWEEP_BATCH_HEAP_RANGES) ||
	    (spec->mode == SWEEP_BATCH_HEAP_RANGES && spec->relation == NULL) ||
	    (spec->audit_action != NULL && spec->audit_table == NULL) ||
	    spec->lock_timeout_ms < 0 || spec->statement_timeout_ms < 0 ||
	    spec->parallel < 0 || spec->parallel > SWEEP_BATCH_MAX_PARALLEL) {
		*errmsg = api_table()->mprintf("batch_loop: invalid spec (needs "
		                               "sql, a mode, batch_rows > 0, a "
		                               "relation for HEAP_RANGES, an "
		                               "audit_table with audit_action, "
		                               "no negative timeout and parallel "
		                               "0 to %d)",
		                               SWEEP_BATCH_MAX_PARALLEL);
		return -1;
	}
	if (h->dry_run) {
		*errmsg = api_table()->mprintf("batch_loop changes data and is "
		                               "not allowed in a dry run");
		return -1;
	}
	w->nvalues = 3 + spec->nparams + (spec->audit_action ? 4 : 0);
	w->values = calloc((size_t)w->nvalues, sizeof(*w->values));
	w->types = calloc((size_t)w->nvalues, sizeof(*w->types));
	w->sql = batch_statement(spec);
	if (w->values == NULL || w->types == NULL || w->sql == NULL) {
		*errmsg = api_table()->mprintf("batch_loop: out of memory");
		return -1;
	}
	w->types[0] = BATCH_INT8OID;
	w->types[1] = w->types[2] = BATCH_TIDOID;
	for (i = 0; i < spec->nparams; i++)
		w->values[3 + i] = spec->params[i];
	if (spec->audit_action) {
		w->values[3 + spec->nparams] = h->run_id[0] ? h->run_id : NULL;
		w->values[4 + spec->nparams] = h->job->name;
		w->values[5 + spec->nparams] = spec->audit_action;
		w->values[6 + spec->nparams] = spec->audit_table;
	}
	return 0;
}

/* Adds up to spec.parallel - 1 sessions to the run's own (lane 0) when
 * the mode allows them, each under the job's role (as the run's own
 * session is while the plugin runs) with the spec's timeouts, and sizes
 * every lane's first range.  A session that cannot connect or be set up
 * is left out with a warning. */
static void batch_lanes_open(batch_walk *w)
{
	sweep_host *h = w->h;
	int want = 1, i;
	char err[512];

	if (w->spec.mode == SWEEP_BATCH_HEAP_RANGES && w->spec.max_rows == 0 &&
	    w->spec.parallel > 1)
		want = w->spec.parallel;
	for (i = 1; i < want; i++) {
		PGconn *c = db_connect(h->dsn, h->job->name, err, sizeof(err));

		if (c != NULL &&
		    (db_set_role(c, h->job->role, err, sizeof(err)) != 0 ||
		     db_set_timeouts(c, false, w->spec.lock_timeout_ms,
		                     w->spec.statement_timeout_ms, err,
		                     sizeof(err)) != 0)) {
			PQfinish(c);
			c = NULL;
		}
		if (c == NULL) {
			char have[16];
			snprintf(have, sizeof(have), "%d", w->nlanes);
			log_msg(SWEEP_LOG_WARN, "parallel session not opened; "
			        "going on with fewer", "job", h->job->name,
			        "sessions", have, "error", err, LOG_END);
			break;
		}
		w->lanes[w->nlanes++].conn = c;
	}
	for (i = 0; i < w->nlanes; i++) {
		w->lanes[i].number = i + 1;
		w->lanes[i].pages = w->spec.mode == SWEEP_BATCH_HEAP_RANGES
			? (int64_t)((double)w->spec.batch_rows / w->heap.density) + 1
			: 0;
	}
}

/* Records the failure of lane's batch (res may be NULL) as the loop's
 * error, unless an earlier one is already there, and hands out nothing
 * more. */
static void batch_fail(batch_walk *w, batch_lane *lane, const PGresult *res)
{
	char what[64], err[1024], why[128];

	w->done = true;
	if (w->error != NULL)
		return;
	if (w->nlanes > 1)
		snprintf(what, sizeof(what), "batch %" PRId64 " (session %d)",
		         w->stats.batches + 1, lane->number);
	else
		snprintf(what, sizeof(what), "batch %" PRId64,
		         w->stats.batches + 1);
	api_failed(w->h, res);
	db_error(res, lane->conn, what, err, sizeof(err));
	if (isolate_capped(&w->iso, res, why, sizeof(why)))
		w->error = api_table()->mprintf("%s; %s, so the failure is "
		                                "taken as the statement's, not "
		                                "a row's", err, why);
	else
		w->error = api_table()->mprintf("%s", err);
}

/* Pages holding about rows rows at the densest pages seen; at least 1. */
static int64_t batch_pages_for(const batch_walk *w, double rows)
{
	double pages = rows / w->dense;

	return pages < 1 ? 1 : (int64_t)pages;
}

/* Pages for a lane's next range after its last one, of pages pages, changed
 * all the rows it held, rows, in ms: enough for batch_rows rows at that
 * density, no longer than BATCH_TARGET_MS at that speed, at most
 * BATCH_MAX_GROWTH times the last and BATCH_MAX_SPAN times batch_rows rows
 * at the densest pages seen; at least 1.  Longer than BATCH_MOST times
 * batch_rows rows at the densest pages, its batch is capped (batch_cap);
 * a range sized by density that would be at most twice that long is cut
 * to it instead (a plain batch of a little fewer rows costs less than a
 * capped one), and so is every range once the statement is known to
 * ignore its cap. */
static int64_t batch_next_pages(const batch_walk *w, int64_t pages,
                                int64_t rows, int64_t ms)
{
	double batch = (double)w->spec.batch_rows;
	double most = BATCH_MOST * batch / w->dense;
	double next = rows > 0 ? batch * (double)pages / (double)rows
	                       : (double)pages * BATCH_MAX_GROWTH;

	if (ms > 0 && next > (double)pages * BATCH_TARGET_MS / (double)ms)
		next = (double)pages * BATCH_TARGET_MS / (double)ms;
	if (next > (double)pages * BATCH_MAX_GROWTH)
		next = (double)pages * BATCH_MAX_GROWTH;
	if (next > BATCH_MAX_SPAN * batch / w->dense)
		next = BATCH_MAX_SPAN * batch / w->dense;
	if (next > most && (w->cap_ignored || (rows > 0 && next <= 2 * most)))
		next = most;
	return next < 1 ? 1 : (int64_t)next;
}

/* Pages of lane's range in flight, the open end counted to the heap's
 * size when the loop started; at least 1. */
static int64_t batch_span(const batch_walk *w, const batch_lane *lane)
{
	int64_t first = (int64_t)(lane->lo >> 16);
	int64_t end = lane->hi == ISOLATE_TID_END ? w->heap.nblocks
	                                          : (int64_t)(lane->hi >> 16);

	return end > first ? end - first : 1;
}

/* The row cap of lane's next batch, over its range just chosen: BATCH_MOST
 * times batch_rows when the range may hold more rows than that (no batch
 * has yet measured how many rows a page holds, the range is longer than
 * that many rows at the densest pages seen, or it is the table's open
 * end, which may have grown), else 0: none.  Never once the statement is
 * known to ignore its cap. */
static int64_t batch_cap(const batch_walk *w, const batch_lane *lane)
{
	int64_t most = BATCH_MOST * w->spec.batch_rows;

	if (w->cap_ignored)
		return 0;
	if (!w->measured || lane->hi == ISOLATE_TID_END ||
	    (double)batch_span(w, lane) * w->dense > (double)most)
		return most;
	return 0;
}

/* Makes lane walk [lo, hi) of its batch in flight again, from lo, before
 * any new range, in ranges of batch_rows rows at the densest pages seen:
 * the batch stopped at its cap, or failed over a range too long to take
 * apart. */
static void batch_walk_again(batch_walk *w, batch_lane *lane)
{
	if (lane->rest_lo >= lane->rest_hi)
		lane->rest_hi = lane->hi;
	lane->rest_lo = lane->lo;
	lane->pages = batch_pages_for(w, (double)w->spec.batch_rows);
}

/* Buffers for the host's parameters of one batch. */
typedef struct batch_args {
	char limit[32];
	char lo[ISOLATE_TID_LEN];
	char hi[ISOLATE_TID_LEN];
} batch_args;

/* Binds the host's parameters of a heap-range batch over the tids
 * [lo, hi) with the row cap cap (0: none) into w->values, held in a: $1
 * the lesser of cap and what max_rows leaves (NULL without either), $2
 * and $3 the range.  True when $1 is cap. */
static bool batch_bind_range(batch_walk *w, isolate_tid lo, isolate_tid hi,
                             int64_t cap, batch_args *a)
{
	int64_t left = w->spec.max_rows - w->stats.rows;
	bool capped = cap > 0 && (w->spec.max_rows == 0 || cap < left);

	w->values[0] = NULL;
	if (capped || w->spec.max_rows > 0) {
		snprintf(a->limit, sizeof(a->limit), "%" PRId64,
		         capped ? cap : left);
		w->values[0] = a->limit;
	}
	isolate_tid_text(lo, a->lo, sizeof(a->lo));
	isolate_tid_text(hi, a->hi, sizeof(a->hi));
	w->values[1] = a->lo;
	w->values[2] = a->hi;
	return capped;
}

/* Chooses lane's next range: the next part of what it walks again, else
 * the next pages of the heap, the last one open-ended (which marks the
 * heap walked). */
static void batch_range(batch_walk *w, batch_lane *lane)
{
	int64_t end;

	if (lane->rest_lo < lane->rest_hi) {
		lane->lo = lane->rest_lo;
		end = (int64_t)(lane->lo >> 16) + lane->pages;
		if (lane->rest_hi == ISOLATE_TID_END ? end >= w->heap.nblocks
		    : ISOLATE_TID(end, 0) >= lane->rest_hi)
			lane->hi = lane->rest_hi;
		else
			lane->hi = ISOLATE_TID(end, 0);
		lane->rest_lo = lane->hi;
		return;
	}
	lane->lo = ISOLATE_TID(w->next_lo, 0);
	w->next_lo += lane->pages;
	lane->hi = ISOLATE_TID(w->next_lo, 0);
	if (w->next_lo >= w->heap.nblocks) {
		lane->hi = ISOLATE_TID_END;
		w->walked = true;
	}
}

/* True when lane has a batch to send: the statement again (UNTIL_EMPTY),
 * a range to walk again, or a range of the heap not yet handed out. */
static bool batch_has_work(const batch_walk *w, const batch_lane *lane)
{
	return !w->walked || lane->rest_lo < lane->rest_hi;
}

/* Sends the next batch on lane: its next heap range (batch_range), capped
 * when it may hold too many rows (batch_cap), or the statement again until
 * it changes nothing. */
static void batch_send(batch_walk *w, batch_lane *lane)
{
	const sweep_batch *spec = &w->spec;
	int64_t left = spec->max_rows - w->stats.rows;
	batch_args a;

	if (spec->mode == SWEEP_BATCH_HEAP_RANGES) {
		batch_range(w, lane);
		lane->cap = batch_cap(w, lane);
		lane->capped = batch_bind_range(w, lane->lo, lane->hi,
		                                lane->cap, &a);
	} else {
		batch_bind_range(w, ISOLATE_TID(0, 0), ISOLATE_TID_END, 0, &a);
		snprintf(a.limit, sizeof(a.limit), "%" PRId64,
		         spec->max_rows > 0 && left < spec->batch_rows
		         ? left : spec->batch_rows);
		w->values[0] = a.limit;
	}
	lane->t0 = api_now_ms();
	if (!PQsendQueryParams(lane->conn, w->sql, w->nvalues, w->types,
	                       w->values, NULL, NULL, 0)) {
		batch_fail(w, lane, NULL);
		return;
	}
	lane->busy = true;
}

/* The busy lane whose result can be read first, waiting for one; NULL
 * when no lane is busy. */
static batch_lane *batch_wait(batch_walk *w)
{
	struct pollfd fds[SWEEP_BATCH_MAX_PARALLEL];
	batch_lane *busy[SWEEP_BATCH_MAX_PARALLEL];
	int n = 0, i;

	for (i = 0; i < w->nlanes; i++) {
		batch_lane *lane = &w->lanes[i];

		if (!lane->busy)
			continue;
		if (!PQisBusy(lane->conn))
			return lane;
		fds[n].fd = PQsocket(lane->conn);
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		busy[n++] = lane;
	}
	if (n <= 1)
		return n ? busy[0] : NULL;
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return busy[0];  /* PQgetResult() waits on it */
		}
		for (i = 0; i < n; i++) {
			if (fds[i].revents == 0)
				continue;
			if (!PQconsumeInput(busy[i]->conn) ||
			    !PQisBusy(busy[i]->conn))
				return busy[i];
		}
	}
}

/* True when res is a statement's success. */
static bool batch_ok(const PGresult *res)
{
	return PQresultStatus(res) == PGRES_COMMAND_OK ||
	       PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* Parts per million of a heap-range loop's heap walked: the blocks handed
 * out less those of the ranges still in flight, of the heap's size when
 * the loop started (the rows to come are not known, the blocks left are);
 * -1 for a loop that runs until empty. */
static int64_t batch_ppm(const batch_walk *w)
{
	int64_t walked = w->next_lo;
	int i;

	if (w->spec.mode != SWEEP_BATCH_HEAP_RANGES)
		return -1;
	if (w->heap.nblocks <= 0)
		return PROGRESS_WHOLE;
	if (walked > w->heap.nblocks)
		walked = w->heap.nblocks;
	for (i = 0; i < w->nlanes; i++)
		if (w->lanes[i].busy)
			walked -= batch_span(w, &w->lanes[i]);
	if (walked < 0)
		walked = 0;
	return walked * PROGRESS_WHOLE / w->heap.nblocks;
}

/* Counts a committed batch that changed n rows in ms milliseconds, and
 * marks the loop done when that was the last one it needed. */
static void batch_count(batch_walk *w, int64_t n, int64_t ms)
{
	sweep_host *h = w->h;
	const sweep_batch *spec = &w->spec;

	w->stats.batches++;
	w->stats.rows += n;
	if (ms > w->stats.longest_ms)
		w->stats.longest_ms = ms;
	if (n > h->result->largest_batch_rows)
		h->result->largest_batch_rows = n;
	if (spec->counter)
		result_count(h->result, spec->counter, n);
	if (spec->audit_action)
		result_count(h->result, "audited", n);
	api_progress_note(h, w->stats.rows, -1, batch_ppm(w));
	if ((spec->max_rows > 0 && w->stats.rows >= spec->max_rows) ||
	    (spec->mode == SWEEP_BATCH_UNTIL_EMPTY && n == 0))
		w->done = true;
}

/* isolate_ops.run: runs the loop's statement over [lo, hi) on the lane
 * whose batch is taken apart, and counts it when it went and lo < hi. */
static PGresult *batch_piece(void *arg, isolate_tid lo, isolate_tid hi)
{
	batch_walk *w = arg;
	int64_t t0 = api_now_ms();
	batch_args a;
	PGresult *res;

	batch_bind_range(w, lo, hi, 0, &a);
	res = PQexecParams(w->isolating->conn, w->sql, w->nvalues, w->types,
	                   w->values, NULL, NULL, 0);
	if (lo < hi && batch_ok(res))
		batch_count(w, strtoll(PQcmdTuples(res), NULL, 10),
		            api_now_ms() - t0);
	return res;
}

/* isolate_ops.go_on: false once a stop is requested (the loop then ends
 * as stopped) or max_rows is reached. */
static bool batch_go_on(void *arg)
{
	batch_walk *w = arg;

	if (*w->h->stop) {
		w->stats.stopped = true;
		w->done = true;
		return false;
	}
	return w->spec.max_rows == 0 || w->stats.rows < w->spec.max_rows;
}

/* Sizes lane's next range from its batch that changed n rows in ms.  A
 * batch that stopped at its own cap did not finish its range: the lane
 * walks it again from its start in ranges sized for the densest pages
 * seen, so that a range grown over pages with no matching rows never
 * carries its length onto pages full of them. */
static void batch_resize(batch_walk *w, batch_lane *lane, int64_t n,
                         int64_t ms)
{
	double density = (double)n / (double)batch_span(w, lane);
	char sent[32], got[32];

	if (density > w->dense)
		w->dense = density;
	if (lane->cap > 0 && n > lane->cap && !w->cap_ignored) {
		w->cap_ignored = true;
		snprintf(sent, sizeof(sent), "%" PRId64, lane->cap);
		snprintf(got, sizeof(got), "%" PRId64, n);
		log_msg(SWEEP_LOG_WARN, "the batch statement does not stop at"
		        " $1 rows; ranges are kept short instead", "job",
		        w->h->job->name, "cap", sent, "changed", got, LOG_END);
	}
	if (lane->capped && n == lane->cap) {
		batch_walk_again(w, lane);
		return;
	}
	if (n > 0)
		w->measured = true;
	lane->pages = batch_next_pages(w, batch_span(w, lane), n, ms);
}

/* True when lane's batch, which failed with res, is to be walked again in
 * shorter ranges rather than taken apart: a row's failure over a range
 * of several pages that may hold more than BATCH_MOST times batch_rows
 * rows, whose pieces could change that many at once. */
static bool batch_too_long_to_split(const batch_walk *w,
                                    const batch_lane *lane,
                                    const PGresult *res)
{
	int64_t span = batch_span(w, lane);

	return isolate_row_error(res) && span > 1 &&
	       (double)span * w->dense >
	       (double)(BATCH_MOST * w->spec.batch_rows);
}

/* Reads the result of lane's batch and counts what it changed; the next
 * range of the lane is sized from it.  A heap-range batch that failed is
 * taken apart when the failure may be one row's (isolate_batch), after
 * walking it again in shorter ranges when it is too long for that; any
 * other failure is the loop's. */
static void batch_finish(batch_walk *w, batch_lane *lane)
{
	const sweep_batch *spec = &w->spec;
	PGresult *res = PQgetResult(lane->conn), *more;
	int64_t ms = api_now_ms() - lane->t0, n;

	while ((more = PQgetResult(lane->conn)) != NULL)
		PQclear(more);
	lane->busy = false;
	if (batch_ok(res)) {
		n = strtoll(PQcmdTuples(res), NULL, 10);
		batch_count(w, n, ms);
		if (spec->mode == SWEEP_BATCH_HEAP_RANGES)
			batch_resize(w, lane, n, ms);
	} else if (spec->mode == SWEEP_BATCH_HEAP_RANGES &&
	           PQstatus(lane->conn) == CONNECTION_OK &&
	           batch_too_long_to_split(w, lane, res)) {
		batch_walk_again(w, lane);
	} else if (spec->mode == SWEEP_BATCH_HEAP_RANGES &&
	           PQstatus(lane->conn) == CONNECTION_OK) {
		w->isolating = lane;
		res = isolate_batch(&w->iso, lane->conn, lane->lo, lane->hi,
		                    res);
		if (res != NULL)
			batch_fail(w, lane, res);
	} else {
		batch_fail(w, lane, res);
	}
	PQclear(res);
}

/* See sweep_api.batch_loop in sweepd/plugin.h. */
int batch_loop(sweep_host *h, const sweep_batch *spec, sweep_batch_stats
               *stats_out, char **errmsg)
{
	batch_walk w;
	batch_lane *lane;
	char err[512];
	int i, rc = -1;

	*errmsg = NULL;
	memset(&w, 0, sizeof(w));
	if (batch_walk_init(&w, h, spec, errmsg) != 0)
		goto out;
	/* Timeouts first: reading the table's size waits for its lock. */
	w.lanes[0].conn = h->conn;
	w.nlanes = 1;
	if (db_set_timeouts(h->conn, false, w.spec.lock_timeout_ms,
	                    w.spec.statement_timeout_ms, err, sizeof(err)) != 0) {
		*errmsg = api_table()->mprintf("%s", err);
		goto out;
	}
	if (w.spec.mode == SWEEP_BATCH_HEAP_RANGES &&
	    (batch_heap_open(h, w.spec.relation, &w.heap, errmsg) != 0 ||
	     batch_heap_fullest(h, w.spec.relation, &w.heap, errmsg) != 0))
		goto out;
	w.dense = w.heap.fullest > w.heap.density ? w.heap.fullest
	                                           : w.heap.density;
	w.iso.h = h;
	w.iso.relation = w.spec.relation;
	w.iso.nblocks = w.heap.nblocks;
	w.iso.ops.run = batch_piece;
	w.iso.ops.go_on = batch_go_on;
	w.iso.ops.arg = &w;
	w.iso.went = &w.stats.rows;
	batch_lanes_open(&w);
	for (;;) {
		for (i = 0; i < w.nlanes && !w.done; i++) {
			if (w.lanes[i].busy || !batch_has_work(&w, &w.lanes[i]))
				continue;
			if (*h->stop) {
				w.stats.stopped = true;
				w.done = true;
				break;
			}
			batch_send(&w, &w.lanes[i]);
		}
		lane = batch_wait(&w);
		if (lane == NULL)
			break;
		batch_finish(&w, lane);
		if (!w.done)
			api_pause(h, w.spec.pause_ms);
	}
	if (w.error != NULL) {
		*errmsg = w.error;
		w.error = NULL;
		goto out;
	}
	rc = 0;
out:
	if (w.nlanes > 0)
		batch_timeouts_reset(h->conn, &w.spec);
	for (i = 1; i < w.nlanes; i++)
		PQfinish(w.lanes[i].conn);
	h->result->batches += w.stats.batches;
	h->batch_rows += w.stats.rows;
	h->failed_rows += w.iso.failed;
	isolate_free(&w.iso);
	if (w.stats.longest_ms > h->result->longest_batch_ms)
		h->result->longest_batch_ms = w.stats.longest_ms;
	if (w.stats.stopped)
		h->result->stopped = true;
	if (stats_out != NULL) {
		w.stats.size = stats_out->size;
		memcpy(stats_out, &w.stats, stats_out->size < sizeof(w.stats)
		       ? stats_out->size : sizeof(w.stats));
	}
	free(w.values);
	free(w.types);
	free(w.sql);
	return rc;
}
