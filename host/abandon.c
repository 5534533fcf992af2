/* abandon: finding runs whose process is gone.  A run on this host is
 * gone when its process is (kill(pid, 0) says so); a run of another host,
 * whose process cannot be asked, when its job's advisory lock is free
 * (every live run holds it) and it started over ABANDON_AFTER_S ago. */
#include "abandon.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define ABANDON_STR2(x) #x
#define ABANDON_STR(x) ABANDON_STR2(x)

/* Columns of the running rows abandon_sweep() reads. */
enum { AB_ID, AB_JOB, AB_HOST, AB_PID, AB_LOCK_FREE, AB_OLD };

/* Every running row with whether its job's lock is free and whether it
 * started over ABANDON_AFTER_S ago. */
#define ABANDON_RUNNING_SQL                                               \
	"SELECT r.id, r.job, r.host, r.pid, NOT EXISTS (SELECT 1 FROM"   \
	" pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1"    \
	" AND l.database = (SELECT oid FROM pg_database WHERE datname ="  \
	" current_database()) AND l.classid::int8 = (k.key >> 32) &"      \
	" 4294967295 AND l.objid::int8 = k.key & 4294967295),"            \
	" r.started_at < now() - interval '" ABANDON_STR(ABANDON_AFTER_S)  \
	" seconds' FROM " DB_SCHEMA ".runs r, LATERAL (SELECT"             \
	" hashtextextended('sweepd.job:' || r.job, 0) AS key) k"          \
	" WHERE r.status = 'running'"


/* Marks run id abandoned for why, ends the backend that held its lock
 * (if it is still that run's: same application_name, older than the row),
 * and returns its job and tick, or NULL when another sweepd got there
 * first.  The caller PQclear()s it. */
#define ABANDON_MARK_SQL                                                  \
	"WITH a AS (UPDATE " DB_SCHEMA ".runs SET status = '"             \
	DB_ABANDONED "', finished_at = clock_timestamp(), error = $2"     \
	" WHERE id = $1 AND status = 'running' RETURNING job,"            \
	" scheduled_at, backend_pid, started_at) SELECT a.job,"           \
	" coalesce(extract(epoch FROM a.scheduled_at)::int8, 0), (SELECT"\
	" count(pg_terminate_backend(s.pid)) FROM pg_stat_activity s"     \
	" WHERE s.pid = a.backend_pid AND s.application_name ="           \
	" left('sweepd/' || a.job, 63) AND s.backend_start <="            \
	" a.started_at) FROM a"

/* The state letter and parent pid of process pid from /proc; 0 when it
 * cannot be read (the process is gone). */
static char abandon_proc_state(long pid, long *ppid)
{
	char path[64], stat[512], *p;
	FILE *fp;
	size_t n;
	char state = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(stat, 1, sizeof(stat) - 1, fp);
	fclose(fp);
	stat[n] = '\0';
	p = strrchr(stat, ')');
	if (p == NULL || sscanf(p + 1, " %c %ld", &state, ppid) != 2)
		return 0;
	return state;
}

/* Whether process pid is a sweepd (its parent daemon or CLI, which reaps
 * its run and records how it ended). */
static bool abandon_is_sweepd(long pid)
{
	char path[64], comm[32] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(comm, sizeof(comm), fp) == NULL)
		comm[0] = '\0';
	fclose(fp);
	return strncmp(comm, "sweepd", 6) == 0;
}

/* Whether process pid of this host has ended: it does not exist, or it
 * is a zombie nobody of sweepd's will reap and record (a run's process
 * killed with its parent is reaped by init, in its own time; one whose
 * sweepd parent lives is that parent's to record). */
static bool abandon_dead(long pid)
{
	long ppid = 0;
	char state;

	if (pid <= 0)
		return false;
	if (kill((pid_t)pid, 0) != 0)
		return errno == ESRCH;
	state = abandon_proc_state(pid, &ppid);
	if (state == 0)
		return true;
	return state == 'Z' && !abandon_is_sweepd(ppid);
}

/* Whether the running row i is gone, with the reason in why. */
static bool abandon_gone(const PGresult *res, int i, const char *me,
                         char *why, size_t len)
{
	const char *host = PQgetvalue(res, i, AB_HOST);
	long pid = strtol(PQgetvalue(res, i, AB_PID), NULL, 10);

	if (strcmp(host, me) == 0) {
		if (!abandon_dead(pid))
			return false;
		snprintf(why, len, "abandoned: its process (pid %ld on %s) is "
		         "gone", pid, host);
		return true;
	}
	if (strcmp(PQgetvalue(res, i, AB_LOCK_FREE), "t") != 0 ||
	    strcmp(PQgetvalue(res, i, AB_OLD), "t") != 0)
		return false;
	snprintf(why, len, "abandoned: its job's lock is free and it started "
	         "over %d s ago on %s", ABANDON_AFTER_S, host);
	return true;
}

/* Marks row i abandoned for why and appends its tick to *ticks. */
static void abandon_mark(PGconn *c, const PGresult *res, int i,
                         const char *why, abandon_tick **ticks, size_t *n)
{
	const char *args[2] = {PQgetvalue(res, i, AB_ID), why};
	PGresult *m = PQexecParams(c, ABANDON_MARK_SQL, 2, NULL, args, NULL,
	                           NULL, 0);
	abandon_tick *v;
	char err[512];

	if (PQresultStatus(m) != PGRES_TUPLES_OK) {
		db_error(m, c, "marking a run abandoned", err, sizeof(err));
		log_msg(SWEEP_LOG_WARN, "run not marked abandoned", "run",
		        args[0], "error", err, LOG_END);
	} else if (PQntuples(m) == 1 &&
	           (v = realloc(*ticks, (*n + 1) * sizeof(*v))) != NULL) {
		*ticks = v;
		v[*n].job = strdup(PQgetvalue(m, 0, 0));
		v[*n].tick = (time_t)strtoll(PQgetvalue(m, 0, 1), NULL, 10);
		if (v[*n].job != NULL)
			(*n)++;
		log_msg(SWEEP_LOG_WARN, "run abandoned", "job",
		        PQgetvalue(m, 0, 0), "run", args[0], "error", why,
		        "backends_ended", PQgetvalue(m, 0, 2), LOG_END);
	}
	PQclear(m);
}

/* Marks every running row whose process is gone abandoned (see the top
 * of this file), ending the backend it left.  Sets *ticks to a new array
 * of the *n runs it marked (free with abandon_ticks_free()).  Returns 0,
 * or -1 with err set when the history cannot be read. */
int abandon_sweep(PGconn *c, abandon_tick **ticks, size_t *n, char *err,
                  size_t errlen)
{
	PGresult *res = PQexec(c, ABANDON_RUNNING_SQL);
	char me[256], why[512];
	int i;

	*ticks = NULL;
	*n = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "looking for abandoned runs", err, errlen);
		PQclear(res);
		return -1;
	}
	if (gethostname(me, sizeof(me)) != 0)
		snprintf(me, sizeof(me), "unknown");
	me[sizeof(me) - 1] = '\0';
	for (i = 0; i < PQntuples(res); i++)
		if (abandon_gone(res, i, me, why, sizeof(why)))
			abandon_mark(c, res, i, why, ticks, n);
	PQclear(res);
	return 0;
}

/* Frees what abandon_sweep() returned. */
void abandon_ticks_free(abandon_tick *ticks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ticks[i].job);
	free(ticks);
}
