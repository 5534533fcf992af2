/* ops: the operators' commands of the command line: --history,
 * --pause and --resume.  Each returns sweepd's exit status: 0, 1 when the
 * database cannot be read or written, 2 for a job it does not know. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "history.h"
#include "params.h"
#include "pause.h"

/* Parses --limit: a whole number from 1.  0, or -1. */
int ops_parse_limit(const char *text, long *limit)
{
	int64_t n;

	if (params_parse_int(text, &n) != 0 || n < 1 || n > 1000000)
		return -1;
	*limit = (long)n;
	return 0;
}

/* --history [JOB] [--limit N]: a job with no history is not an error when
 * it is configured (it has not run yet). */
int ops_history(const jobs *js, const settings *s, const char *name,
                long limit, bool json, buf *out)
{
	char err[1024];
	int rc = history_report(s, name, limit, json, out, err, sizeof(err));

	if (rc == 2 && jobs_find(js, name) != NULL) {
		fprintf(stderr, "sweepd: %s has not run yet\n", name);
		return 0;
	}
	if (rc != 0)
		fprintf(stderr, "sweepd: %s%s\n", err, rc == 2
		        ? " and no job of that name in the configuration" : "");
	return rc < 0 ? 1 : rc;
}

/* --pause JOB / --resume JOB: records the state in the home database,
 * where every sweepd sharing it reads it before each run. */
int ops_pause(const settings *s, const char *name, bool pause, bool json,
              buf *out)
{
	char err[1024];
	PGconn *c = db_connect(s->dsn, NULL, err, sizeof(err));
	int changed = -1;

	if (c != NULL && db_migrate(c, err, sizeof(err)) == 0)
		changed = pause_set(c, name, pause, err, sizeof(err));
	PQfinish(c);
	if (changed < 0) {
		fprintf(stderr, "sweepd: %s\n", err);
		return 1;
	}
	if (json) {
		buf_puts(out, "{\"job\":");
		buf_json_string(out, name);
		buf_printf(out, ",\"paused\":%s,\"changed\":%s}\n",
		           pause ? "true" : "false", changed ? "true" : "false");
	} else if (pause) {
		buf_printf(out, "%s %s: every sweepd sharing the database "
		           "skips its runs until sweepd --resume %s\n", name,
		           changed ? "paused" : "was already paused", name);
	} else {
		buf_printf(out, "%s %s\n", name, changed ? "resumed: its next "
		           "tick runs" : "was not paused");
	}
	return 0;
}
