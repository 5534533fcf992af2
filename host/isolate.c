/* isolate: takes a heap-range batch that failed for one row's data apart,
 * in halves, until the failing rows stand alone; the rest goes.
 *
 * A range of several pages is halved by pages; a range of one page (or
 * the open end of the table) is halved over the tuples it holds, listed
 * once.  Each piece runs the loop's own statement, as a transaction of its
 * own: a piece that succeeds is done and counted, a piece that fails for a
 * row's data again is halved again, and a piece of one tuple that fails is
 * that row's failure: an error item of the run, the row left as it was.
 * One batch costs a few statements per failing row and halving level;
 * nothing at all while no batch fails.
 *
 * Not every such failure is a row's: a probe of the statement over no row
 * comes first (a statement trigger that raises, a parameter of the wrong
 * type fail there too), and a loop that has recorded ISOLATE_MAX_ROWS
 * failed rows, or ISOLATE_MAX_ROWS_NONE_WENT with no row gone, takes the
 * next failure as the statement's.  Those fail the loop as before. */
#include "isolate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"

/* Type of the tid parameters. */
#define ISOLATE_TIDOID 27

/* A row's key by its ctid ($1), as JSON: its primary key columns (as
 * sweep_api.key_object builds them), else its ctid; $2 is the table. */
#define ISOLATE_KEY_SQL                                                     \
	"SELECT coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM"     \
	" jsonb_each(to_jsonb(sweep_row)) e WHERE e.key IN (SELECT"          \
	" a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid ="     \
	" i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid ="       \
	" $2::regclass AND i.indisprimary)), jsonb_build_object('ctid',"     \
	" sweep_row.ctid))::text FROM %s AS sweep_row WHERE sweep_row.ctid =" \
	" $1::tid"

static PGresult *isolate_split(isolate *iso, isolate_tid lo, isolate_tid hi,
                               PGresult *failed);

/* True when res failed for the data of a row rather than for the session
 * or the statement itself: SQLSTATE class 22 (data exception), class 23
 * (integrity constraint: foreign key, check, unique, not null) or P0001
 * (raise_exception, e.g. from a trigger).  Transient failures (lock
 * timeout, serialization, connection lost) are not. */
bool isolate_row_error(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL && (strncmp(s, "22", 2) == 0 ||
	                     strncmp(s, "23", 2) == 0 ||
	                     strcmp(s, "P0001") == 0);
}

/* Writes t as tid text, "(block,offset)", into out. */
void isolate_tid_text(isolate_tid t, char *out, size_t len)
{
	snprintf(out, len, "(%" PRIu64 ",%u)", t >> 16,
	         (unsigned)(t & 0xffff));
}

/* True when res is a statement's success. */
static bool isolate_ok(const PGresult *res)
{
	return PQresultStatus(res) == PGRES_COMMAND_OK ||
	       PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* Records the row at t, whose piece failed with res, as a failed item of
 * the run: "row KEY: server message (SQLSTATE xxxxx)", KEY its primary
 * key as JSON, else {"ctid": "(b,o)"}. */
static void isolate_record(isolate *iso, isolate_tid t, const PGresult *res)
{
	char tid[ISOLATE_TID_LEN], what[512], text[1024];
	const char *args[2] = {tid, iso->relation};
	PGresult *key = NULL;

	isolate_tid_text(t, tid, sizeof(tid));
	if (iso->key_sql == NULL)
		iso->key_sql = api_table()->mprintf(ISOLATE_KEY_SQL,
		                                    iso->relation);
	if (iso->key_sql != NULL)
		key = PQexecParams(iso->conn, iso->key_sql, 2, NULL, args, NULL,
		                   NULL, 0);
	if (PQresultStatus(key) == PGRES_TUPLES_OK && PQntuples(key) == 1 &&
	    !PQgetisnull(key, 0, 0))
		snprintf(what, sizeof(what), "row %s", PQgetvalue(key, 0, 0));
	else
		snprintf(what, sizeof(what), "row {\"ctid\": \"%s\"}", tid);
	PQclear(key);
	db_error(res, iso->conn, what, text, sizeof(text));
	api_table()->error_item(iso->h, text);
	iso->failed++;
}

/* True when res failed for a row's data but the loop has met its cap of
 * failed rows, so that the failure is taken as the statement's; why then
 * says so, for the run's error. */
bool isolate_capped(const isolate *iso, const PGresult *res, char *why,
                    size_t len)
{
	if (!isolate_row_error(res))
		return false;
	if (iso->failed >= ISOLATE_MAX_ROWS)
		snprintf(why, len, "%d rows failed before it in this run",
		         ISOLATE_MAX_ROWS);
	else if (iso->failed >= ISOLATE_MAX_ROWS_NONE_WENT &&
	         (iso->went == NULL || *iso->went == 0))
		snprintf(why, len, "%d rows failed before it in this run and "
		         "none went", ISOLATE_MAX_ROWS_NONE_WENT);
	else
		return false;
	return true;
}

/* True when a piece that failed with res is to be taken apart further:
 * a row's failure, and the loop has not met its cap of failed rows. */
static bool isolate_more(const isolate *iso, const PGresult *res)
{
	char why[128];

	return isolate_row_error(res) &&
	       !isolate_capped(iso, res, why, sizeof(why));
}

static PGresult *isolate_halves(isolate *iso, const isolate_tid *t,
                                size_t i, size_t j, isolate_tid lo,
                                isolate_tid hi, PGresult *failed);

/* Runs the piece [lo, hi), which holds the listed tuples t[i..j), and
 * takes it apart when it fails.  NULL, or a failure of another kind (the
 * caller's to PQclear()). */
static PGresult *isolate_tuples(isolate *iso, const isolate_tid *t, size_t i,
                                size_t j, isolate_tid lo, isolate_tid hi)
{
	PGresult *res;

	if (!iso->ops.go_on(iso->ops.arg))
		return NULL;
	res = iso->ops.run(iso->ops.arg, lo, hi);
	if (isolate_ok(res)) {
		PQclear(res);
		return NULL;
	}
	return isolate_halves(iso, t, i, j, lo, hi, res);
}

/* Takes apart [lo, hi), which holds the listed tuples t[i..j) and failed
 * with failed (owned): one tuple is a failed row; more are halved.  NULL,
 * or a failure of another kind (the caller's). */
static PGresult *isolate_halves(isolate *iso, const isolate_tid *t,
                                size_t i, size_t j, isolate_tid lo,
                                isolate_tid hi, PGresult *failed)
{
	PGresult *res;
	size_t m;

	if (!isolate_more(iso, failed))
		return failed;
	if (j - i <= 1) {
		isolate_record(iso, i < j ? t[i] : lo, failed);
		PQclear(failed);
		return NULL;
	}
	PQclear(failed);
	m = i + (j - i) / 2;
	res = isolate_tuples(iso, t, i, m, lo, t[m]);
	if (res == NULL)
		res = isolate_tuples(iso, t, m, j, t[m], hi);
	return res;
}

/* Lists the tuples of [lo, hi) in tid order into a new array *t (freed by
 * the caller) of *n.  NULL (*t NULL when out of memory), or the failed
 * listing (the caller's). */
static PGresult *isolate_list(isolate *iso, isolate_tid lo, isolate_tid hi,
                              isolate_tid **t, size_t *n)
{
	static const Oid types[2] = {ISOLATE_TIDOID, ISOLATE_TIDOID};
	char a[ISOLATE_TID_LEN], b[ISOLATE_TID_LEN], *sql;
	const char *args[2] = {a, b};
	unsigned long long block;
	unsigned off;
	PGresult *res;
	int k;

	*t = NULL;
	*n = 0;
	isolate_tid_text(lo, a, sizeof(a));
	isolate_tid_text(hi, b, sizeof(b));
	sql = api_table()->mprintf("SELECT ctid FROM %s WHERE ctid >= $1 AND"
	                           " ctid < $2 ORDER BY ctid", iso->relation);
	if (sql == NULL)
		return NULL;
	res = PQexecParams(iso->conn, sql, 2, types, args, NULL, NULL, 0);
	free(sql);
	if (!isolate_ok(res))
		return res;
	*t = malloc(((size_t)PQntuples(res) + 1) * sizeof(**t));
	for (k = 0; *t != NULL && k < PQntuples(res); k++)
		if (sscanf(PQgetvalue(res, k, 0), "(%llu,%u)", &block,
		           &off) == 2)
			(*t)[(*n)++] = ISOLATE_TID(block, off);
	PQclear(res);
	return NULL;
}

/* Takes apart [lo, hi), one page or the table's open end, which failed
 * with failed (owned), over the tuples it holds.  NULL, or a failure of
 * another kind (the caller's; failed itself when out of memory). */
static PGresult *isolate_rows(isolate *iso, isolate_tid lo, isolate_tid hi,
                              PGresult *failed)
{
	isolate_tid *t;
	size_t n;
	PGresult *res = isolate_list(iso, lo, hi, &t, &n);

	if (res != NULL) {
		PQclear(failed);
		return res;
	}
	if (t == NULL)
		return failed;
	res = isolate_halves(iso, t, 0, n, lo, hi, failed);
	free(t);
	return res;
}

/* Runs the piece [lo, hi) and takes it apart when it fails.  NULL, or a
 * failure of another kind (the caller's to PQclear()). */
static PGresult *isolate_piece(isolate *iso, isolate_tid lo, isolate_tid hi)
{
	PGresult *res;

	if (!iso->ops.go_on(iso->ops.arg))
		return NULL;
	res = iso->ops.run(iso->ops.arg, lo, hi);
	if (isolate_ok(res)) {
		PQclear(res);
		return NULL;
	}
	return isolate_split(iso, lo, hi, res);
}

/* Takes apart [lo, hi), which failed with failed (owned): halves it by
 * pages while it spans several, then by tuples.  NULL, or a failure of
 * another kind (the caller's). */
static PGresult *isolate_split(isolate *iso, isolate_tid lo, isolate_tid hi,
                               PGresult *failed)
{
	int64_t first = (int64_t)(lo >> 16), end;
	isolate_tid mid;
	PGresult *res;

	if (!isolate_more(iso, failed))
		return failed;
	if (hi == ISOLATE_TID_END)
		end = iso->nblocks > first + 1 ? iso->nblocks : first + 1;
	else
		end = (int64_t)(hi >> 16) + ((hi & 0xffff) ? 1 : 0);
	if (end - first <= 1)
		return isolate_rows(iso, lo, hi, failed);
	PQclear(failed);
	mid = ISOLATE_TID(first + (end - first) / 2, 0);
	res = isolate_piece(iso, lo, mid);
	if (res == NULL)
		res = isolate_piece(iso, mid, hi);
	return res;
}

/* Takes apart the batch over the tids [lo, hi) that failed with failed
 * (owned) in conn, as the module's comment says, once a probe of the
 * statement over no row has shown that the statement itself runs (a
 * statement trigger that always raises, a parameter of the wrong type
 * are the statement's failures, not a row's).  Returns NULL when every
 * piece went or was recorded as a failed row, or the walk was told to
 * stop; otherwise the failure that is not a row's (possibly failed
 * itself), which the caller fails the loop with and PQclear()s. */
PGresult *isolate_batch(isolate *iso, PGconn *conn, isolate_tid lo,
                        isolate_tid hi, PGresult *failed)
{
	PGresult *probe;

	iso->conn = conn;
	if (!isolate_more(iso, failed))
		return failed;
	probe = iso->ops.run(iso->ops.arg, lo, lo);
	if (!isolate_ok(probe)) {
		PQclear(failed);
		return probe;
	}
	PQclear(probe);
	return isolate_split(iso, lo, hi, failed);
}

/* Frees what iso holds (not iso). */
void isolate_free(isolate *iso)
{
	free(iso->key_sql);
	iso->key_sql = NULL;
}
