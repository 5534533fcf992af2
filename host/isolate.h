/* isolate: takes a heap-range batch that failed for one row's data apart,
 * in halves, until the failing rows stand alone; the rest goes. */
#ifndef SWEEPD_ISOLATE_H
#define SWEEPD_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <sweepd/plugin.h>

/* Rows one batch loop records as failed before it takes a further such
 * failure as the statement's own and fails the run. */
#define ISOLATE_MAX_ROWS 1000
/* The same while no row of the loop went (a `where` dividing by zero
 * fails for every row: that is the statement's failure). */
#define ISOLATE_MAX_ROWS_NONE_WENT 20

/* A tuple id (block, offset) as one number that orders as tids do. */
typedef uint64_t isolate_tid;
#define ISOLATE_TID(block, offset) \
	(((uint64_t)(block) << 16) | (uint64_t)(offset))
/* Past the last tuple any table can hold: a range ending here is open. */
#define ISOLATE_TID_END ISOLATE_TID(UINT32_MAX, 0)
/* Room for "(4294967295,65535)". */
#define ISOLATE_TID_LEN 24

/* What taking a batch apart needs from the batch loop. */
typedef struct isolate_ops {
	/* Runs the loop's statement over the tids [lo, hi) on the session
	 * the batch failed in, as a transaction of its own, counts what it
	 * changed when it succeeded and lo < hi (lo == hi is a probe that
	 * touches no row), and returns its result (the caller PQclear()s
	 * it). */
	PGresult *(*run)(void *arg, isolate_tid lo, isolate_tid hi);
	/* False once the loop must send nothing more (stop requested,
	 * max_rows reached). */
	bool (*go_on)(void *arg);
	void *arg;
} isolate_ops;

/* The isolation state of one batch loop. */
typedef struct isolate {
	sweep_host *h;
	const char *relation; /* the table walked, as SQL text; borrowed */
	int64_t nblocks;      /* its size when the loop started */
	isolate_ops ops;
	const int64_t *went;  /* rows the loop changed so far; borrowed */
	PGconn *conn;         /* the session of the batch being taken apart */
	char *key_sql;        /* a row's key by its ctid; owned, or NULL */
	int64_t failed;       /* rows recorded as failed */
} isolate;

bool isolate_row_error(const PGresult *res);
bool isolate_capped(const isolate *iso, const PGresult *res, char *why,
                    size_t len);
void isolate_tid_text(isolate_tid t, char *out, size_t len);
PGresult *isolate_batch(isolate *iso, PGconn *conn, isolate_tid lo,
                        isolate_tid hi, PGresult *failed);
void isolate_free(isolate *iso);

#endif
