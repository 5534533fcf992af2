/* history: sweepd --history [JOB]: the past runs of every job, or of one,
 * newest first, from sweepd.runs. */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

/* Columns of history_query(). */
enum {
	HI_ID, HI_JOB, HI_KIND, HI_STARTED, HI_MS, HI_STATUS, HI_COUNTERS,
	HI_TEXT, HI_MESSAGE, HI_ERROR, HI_SCHEDULED, HI_HOST
};

#define HI_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The last limit runs of job (NULL: of every job), newest first; the
 * counters both as JSON and as "name=value ..." text.  The caller
 * PQclear()s it; NULL with err set. */
static PGresult *history_query(PGconn *c, const char *job, long limit,
                               char *err, size_t errlen)
{
	char n[32];
	const char *args[2] = {job, n};
	PGresult *res;

	snprintf(n, sizeof(n), "%ld", limit);
	res = PQexecParams(c, "SELECT id, job, kind, " HI_ISO("started_at") ","
	                   " (extract(epoch FROM finished_at - started_at) *"
	                   " 1000)::int8, status, counters, (SELECT coalesce("
	                   "string_agg(key || '=' || value, ' ' ORDER BY key),"
	                   " '') FROM jsonb_each_text(counters)), message, error,"
	                   " " HI_ISO("scheduled_at") ", host FROM " DB_SCHEMA
	                   ".runs WHERE $1::text IS NULL OR job = $1 ORDER BY"
	                   " started_at DESC, id DESC LIMIT $2::int8", 2, NULL,
	                   args, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "reading the run history", err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Appends column col of row i as a JSON string, or null. */
static void history_json_text(buf *b, const PGresult *res, int i, int col)
{
	if (PQgetisnull(res, i, col))
		buf_puts(b, "null");
	else
		buf_json_string(b, PQgetvalue(res, i, col));
}

/* Appends run i as a JSON object: numbers as numbers, counters as an
 * object. */
static void history_json(buf *b, const PGresult *res, int i)
{
	static const struct {
		const char *key;
		int col;
	} texts[] = {
		{"job", HI_JOB}, {"kind", HI_KIND}, {"started", HI_STARTED},
		{"status", HI_STATUS}, {"message", HI_MESSAGE},
		{"error", HI_ERROR}, {"scheduled_at", HI_SCHEDULED},
		{"host", HI_HOST},
	};
	size_t k;

	buf_printf(b, "%s{\"run_id\":%s", i ? "," : "",
	           PQgetvalue(res, i, HI_ID));
	for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		buf_printf(b, ",\"%s\":", texts[k].key);
		history_json_text(b, res, i, texts[k].col);
	}
	buf_printf(b, ",\"duration_ms\":%s,\"counters\":%s}",
	           PQgetisnull(res, i, HI_MS) ? "null"
	           : PQgetvalue(res, i, HI_MS), PQgetvalue(res, i, HI_COUNTERS));
}

/* Appends run i as one line of the table: error, else message, last. */
static void history_text(buf *b, const PGresult *res, int i)
{
	const char *why = !PQgetisnull(res, i, HI_ERROR)
	                  ? PQgetvalue(res, i, HI_ERROR)
	                  : PQgetvalue(res, i, HI_MESSAGE);
	char dur[32] = "-";

	if (!PQgetisnull(res, i, HI_MS))
		snprintf(dur, sizeof(dur), "%.3fs",
		         (double)strtoll(PQgetvalue(res, i, HI_MS), NULL, 10) /
		         1000.0);
	buf_printf(b, "%-24s %-28s %-9s %10s %-9s %s%s%s\n",
	           PQgetvalue(res, i, HI_STARTED), PQgetvalue(res, i, HI_JOB),
	           PQgetvalue(res, i, HI_KIND), dur,
	           PQgetvalue(res, i, HI_STATUS), PQgetvalue(res, i, HI_TEXT),
	           *why && *PQgetvalue(res, i, HI_TEXT) ? "  " : "", why);
}

/* Appends to out the last limit runs of job (NULL: of every job), newest
 * first, as a table or (json) an array.  Returns 0, 2 when job has no
 * history at all, or -1 with err set when it cannot be read. */
int history_report(const settings *s, const char *job, long limit, bool json,
                   buf *out, char *err, size_t errlen)
{
	PGconn *c = db_connect(s->dsn, NULL, err, errlen);
	PGresult *res = NULL;
	int i, rc = -1;

	if (c == NULL || db_migrate(c, err, errlen) != 0 ||
	    (res = history_query(c, job, limit, err, errlen)) == NULL)
		goto out;
	if (json)
		buf_puts(out, "[");
	else if (PQntuples(res) > 0)
		buf_printf(out, "%-24s %-28s %-9s %10s %-9s %s\n", "STARTED (UTC)",
		           "JOB", "KIND", "DURATION", "STATUS",
		           "COUNTERS  MESSAGE");
	for (i = 0; i < PQntuples(res); i++) {
		if (json)
			history_json(out, res, i);
		else
			history_text(out, res, i);
	}
	if (json)
		buf_puts(out, "]\n");
	rc = job && PQntuples(res) == 0 ? 2 : 0;
	if (rc == 2)
		snprintf(err, errlen, "no run of '%s' in the history", job);
out:
	PQclear(res);
	PQfinish(c);
	return rc;
}
