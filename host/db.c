/* db: the host's PostgreSQL connection, its own schema (run history and
 * audit records) and the statements it runs there. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* Each migration takes the schema from version i to i + 1. */
static const char *const db_migrations[DB_SCHEMA_VERSION] = {
	"CREATE TABLE " DB_SCHEMA ".runs ("
	" id bigserial PRIMARY KEY,"
	" job text NOT NULL,"
	" host text NOT NULL,"
	" pid integer NOT NULL,"
	" kind text NOT NULL,"
	" scheduled_at timestamptz,"
	" started_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
	" finished_at timestamptz,"
	" status text NOT NULL DEFAULT 'running',"
	" counters jsonb NOT NULL DEFAULT '{}',"
	" message text,"
	" error text);"
	"CREATE INDEX runs_job_started ON " DB_SCHEMA ".runs (job, started_at DESC);"
	"CREATE TABLE " DB_SCHEMA ".audit ("
	" id bigserial PRIMARY KEY,"
	" run_id bigint,"
	" job text NOT NULL,"
	" action text NOT NULL,"
	" table_name text NOT NULL,"
	" data jsonb NOT NULL,"
	" at timestamptz NOT NULL DEFAULT clock_timestamp());"
	"CREATE INDEX audit_job_at ON " DB_SCHEMA ".audit (job, at);",
};

/* Writes "what: server message (SQLSTATE xxxxx)" into err, from res when it
 * has an error, else from the connection. */
void db_error(const PGresult *res, PGconn *c, const char *what, char *err,
              size_t errlen)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
	                      : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
	                        : NULL;
	size_t n;

	if (msg == NULL)
		msg = PQerrorMessage(c);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (state)
		snprintf(err, errlen, "%s: %.*s (SQLSTATE %s)", what, (int)n, msg,
		         state);
	else
		snprintf(err, errlen, "%s: %.*s", what, (int)n, msg);
}

/* libpq notice processor: server notices become debug log lines. */
static void db_notice(void *arg, const char *message)
{
	char text[512];
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && message[n - 1] == '\n')
		n--;
	snprintf(text, sizeof(text), "%.*s", (int)n, message);
	log_msg(SWEEP_LOG_DEBUG, "server notice", "message", text,
	        LOG_END);
}

/* Opens a connection for job (NULL: the host itself) with dsn (a
 * conninfo string or URI; "" reads the PG* variables), named
 * "sweepd/JOB" in pg_stat_activity, with DateStyle ISO.  Returns it (the
 * caller PQfinish()es it), or NULL with the reason in err. */
PGconn *db_connect(const char *dsn, const char *job, char *err,
                   size_t errlen)
{
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {dsn, NULL, NULL};
	char app[64];
	PGconn *c;

	snprintf(app, sizeof(app), "sweepd%s%s", job ? "/" : "", job ? job : "");
	vals[1] = app;
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL) {
		snprintf(err, errlen, "cannot connect: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		db_error(NULL, c, "cannot connect to PostgreSQL (set --dsn, "
		         "DATABASE_URL or PGHOST/PGDATABASE)", err, errlen);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, db_notice, NULL);
	if (db_exec(c, "SET DateStyle = ISO", err, errlen) != 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs sql (no parameters, no rows wanted); 0, or -1 with err set. */
int db_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	         PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		db_error(res, c, sql, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

/* Brings the sweepd schema to DB_SCHEMA_VERSION, creating it when absent.
 * Safe when several hosts start at once: they serialise on an advisory
 * lock and each migration commits with the version it reaches. */
int db_migrate(PGconn *c, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int version, rc = -1;
	buf sql = BUF_INIT;

	if (db_exec(c, "BEGIN", err, errlen) != 0)
		return -1;
	if (db_exec(c, "SELECT pg_advisory_xact_lock(hashtext('sweepd.migrate'))",
	            err, errlen) != 0 ||
	    db_exec(c, "CREATE SCHEMA IF NOT EXISTS " DB_SCHEMA, err,
	            errlen) != 0 ||
	    db_exec(c, "CREATE TABLE IF NOT EXISTS " DB_SCHEMA ".schema_version"
	            " (version integer PRIMARY KEY, applied_at timestamptz NOT"
	            " NULL DEFAULT now())", err, errlen) != 0)
		goto out;
	res = PQexec(c, "SELECT coalesce(max(version), 0) FROM " DB_SCHEMA
	             ".schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "reading the sweepd schema version", err, errlen);
		goto out;
	}
	version = atoi(PQgetvalue(res, 0, 0));
	if (version > DB_SCHEMA_VERSION) {
		snprintf(err, errlen, "the database's sweepd schema is version "
		         "%d, newer than this sweepd's %d: upgrade sweepd",
		         version, DB_SCHEMA_VERSION);
		goto out;
	}
	for (; version < DB_SCHEMA_VERSION; version++) {
		buf_reset(&sql);
		buf_printf(&sql, "%s INSERT INTO " DB_SCHEMA ".schema_version "
		           "(version) VALUES (%d)", db_migrations[version],
		           version + 1);
		if (sql.oom) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (db_exec(c, buf_str(&sql), err, errlen) != 0)
			goto out;
	}
	rc = db_exec(c, "COMMIT", err, errlen);
out:
	PQclear(res);
	buf_free(&sql);
	if (rc != 0)
		PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

/* Records the start of a run of job (kind: "run", "dry-run", ...) in the
 * history and sets *run_id; 0, or -1 with err set. */
int db_run_begin(PGconn *c, const char *job, const char *kind,
                 int64_t *run_id, char *err, size_t errlen)
{
	char host[256], pid[32];
	const char *args[4];
	PGresult *res;
	int rc = -1;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	args[0] = job;
	args[1] = host;
	args[2] = pid;
	args[3] = kind;
	res = PQexecParams(c, "INSERT INTO " DB_SCHEMA ".runs (job, host, pid, "
	                   "kind) VALUES ($1, $2, $3, $4) RETURNING id", 4, NULL,
	                   args, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		*run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = 0;
	} else {
		db_error(res, c, "recording the run", err, errlen);
	}
	PQclear(res);
	return rc;
}

/* Records how the run r ended: status, counters, message, error. */
int db_run_end(PGconn *c, const result *r, char *err, size_t errlen)
{
	buf counters = BUF_INIT;
	char id[32];
	const char *args[5];
	PGresult *res;
	int rc = -1;

	result_counters_json(r, &counters);
	snprintf(id, sizeof(id), "%lld", (long long)r->run_id);
	args[0] = id;
	args[1] = r->success ? (r->stopped ? "stopped" : "ok") : "failed";
	args[2] = buf_str(&counters);
	args[3] = r->message;
	args[4] = r->error;
	res = PQexecParams(c, "UPDATE " DB_SCHEMA ".runs SET finished_at = "
	                   "clock_timestamp(), status = $2, counters = $3, "
	                   "message = $4, error = $5 WHERE id = $1", 5, NULL,
	                   args, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = 0;
	else
		db_error(res, c, "recording the run's end", err, errlen);
	PQclear(res);
	buf_free(&counters);
	return rc;
}
