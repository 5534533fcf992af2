/* pause: jobs paused by an operator (sweepd --pause JOB), recorded in
 * the home database so that every sweepd sharing it skips their ticks at
 * once, each skipped tick recorded with why, until sweepd --resume JOB. */
#include "pause.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

/* Columns of pause_list(). */
enum { PAUSE_JOB, PAUSE_AT, PAUSE_BY };

/* "user@host" of this process, for paused_by. */
static void pause_who(char *out, size_t len)
{
	const struct passwd *pw = getpwuid(geteuid());
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (pw != NULL)
		snprintf(out, len, "%s@%s", pw->pw_name, host);
	else
		snprintf(out, len, "uid %ld@%s", (long)geteuid(), host);
}

/* Pauses (paused) or resumes job.  Returns 1 when that changed its
 * state, 0 when it already was so, -1 with err set. */
int pause_set(PGconn *c, const char *job, bool paused, char *err,
              size_t errlen)
{
	char who[320];
	const char *args[2] = {job, who};
	PGresult *res;
	int rc = -1;

	pause_who(who, sizeof(who));
	res = PQexecParams(c, paused
	                   ? "INSERT INTO " DB_SCHEMA ".paused (job, paused_by)"
	                     " VALUES ($1, $2) ON CONFLICT (job) DO NOTHING"
	                   : "DELETE FROM " DB_SCHEMA ".paused WHERE job = $1",
	                   paused ? 2 : 1, NULL, args, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = strcmp(PQcmdTuples(res), "0") != 0;
	else
		db_error(res, c, paused ? "pausing the job" : "resuming the job",
		         err, errlen);
	PQclear(res);
	return rc;
}

/* Whether job is paused now: 1 with why set ("paused by WHO since WHEN;
 * sweepd --resume JOB"), 0 when not, -1 with err set. */
int pause_check(PGconn *c, const char *job, char *why, size_t whylen,
                char *err, size_t errlen)
{
	const char *args[1] = {job};
	PGresult *res;
	int rc = -1;

	res = PQexecParams(c, "SELECT paused_by, to_char(paused_at AT TIME ZONE"
	                   " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM "
	                   DB_SCHEMA ".paused WHERE job = $1", 1, NULL, args,
	                   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "reading whether the job is paused", err, errlen);
	} else if (PQntuples(res) == 0) {
		rc = 0;
	} else {
		snprintf(why, whylen, "paused by %s since %s; sweepd --resume %s",
		         PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), job);
		rc = 1;
	}
	PQclear(res);
	return rc;
}

/* Every paused job, ordered by name in byte order: job, paused_at (ISO
 * 8601 UTC), paused_by.  The caller PQclear()s it; NULL with err set. */
PGresult *pause_list(PGconn *c, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, "SELECT job, to_char(paused_at AT TIME ZONE"
	                       " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	                       " paused_by FROM " DB_SCHEMA ".paused ORDER BY"
	                       " job COLLATE \"C\"");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "reading the paused jobs", err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* The row of list (from pause_list(); NULL: none) for job, or -1 when
 * it is not paused. */
int pause_find(const PGresult *list, const char *job)
{
	int i;

	for (i = 0; list != NULL && i < PQntuples(list); i++)
		if (strcmp(PQgetvalue(list, i, PAUSE_JOB), job) == 0)
			return i;
	return -1;
}
