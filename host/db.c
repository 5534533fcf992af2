/* db: the host's PostgreSQL connection, its own schema (run history and
 * audit records) and the statements it runs there. */
#include "db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "days.h"
#include "isotime.h"
#include "log.h"
#include "redact.h"
#include "report.h"

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
	/* 2: the scheduler.  A scheduled tick is claimed by inserting its
	 * row, so one (job, instant) runs once however many hosts try. */
	"ALTER TABLE " DB_SCHEMA ".runs ADD COLUMN attempts integer NOT NULL"
	" DEFAULT 1;"
	"CREATE UNIQUE INDEX runs_tick ON " DB_SCHEMA ".runs (job, scheduled_at)"
	" WHERE scheduled_at IS NOT NULL;"
	"CREATE INDEX runs_started ON " DB_SCHEMA ".runs (started_at);",
	/* 3: the truth about runs whose process is gone.  A run records the
	 * backend that holds its job's lock; a tick whose run was abandoned
	 * no longer claims it, so another sweepd can run it. */
	"ALTER TABLE " DB_SCHEMA ".runs ADD COLUMN backend_pid integer;"
	"DROP INDEX " DB_SCHEMA ".runs_tick;"
	"CREATE UNIQUE INDEX runs_tick ON " DB_SCHEMA ".runs (job, scheduled_at)"
	" WHERE " DB_CLAIMS ";",
	/* 4: operations.  A paused job's ticks are skipped by every sweepd
	 * sharing the database (pause.c); the totals of history rows pruned
	 * are kept, so the metrics' counters never go back (metrics.c). */
	"CREATE TABLE " DB_SCHEMA ".paused ("
	" job text PRIMARY KEY,"
	" paused_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
	" paused_by text NOT NULL);"
	"CREATE TABLE " DB_SCHEMA ".pruned_runs ("
	" job text NOT NULL,"
	" status text NOT NULL,"
	" runs bigint NOT NULL,"
	" PRIMARY KEY (job, status));"
	"CREATE TABLE " DB_SCHEMA ".pruned_rows ("
	" job text NOT NULL,"
	" counter text NOT NULL,"
	" total numeric NOT NULL,"
	" PRIMARY KEY (job, counter));",
	/* 5: proof that a policy holds.  After a run, the age of the oldest
	 * row its job's condition still matches, the age its policy allows
	 * and what was measured (NULL: the plugin cannot verify). */
	"ALTER TABLE " DB_SCHEMA ".runs ADD COLUMN oldest_age_s double"
	" precision, ADD COLUMN limit_s double precision, ADD COLUMN"
	" verified_table text;",
	/* 6: an audit store that scales (auditstore.c).  sweepd.audit is
	 * partitioned by day of `at` (UTC), so that audit_keep drops whole
	 * days; a DEFAULT partition takes what no day's partition does, so
	 * an insert never fails.  Records lose their per-row sequence and
	 * the (job, at) b-tree, which cost an audited delete half its speed:
	 * a BRIN index on `at` is all.  The old table becomes the partition
	 * audit_legacy, every row kept as it was (id included), covering
	 * everything before the day after its newest record; an empty one
	 * is dropped. */
	"ALTER TABLE " DB_SCHEMA ".audit RENAME TO audit_legacy;"
	"ALTER TABLE " DB_SCHEMA ".audit_legacy DROP CONSTRAINT audit_pkey,"
	" ALTER id DROP DEFAULT, ALTER id DROP NOT NULL;"
	"DROP SEQUENCE " DB_SCHEMA ".audit_id_seq;"
	"ALTER INDEX " DB_SCHEMA ".audit_job_at RENAME TO audit_legacy_job_at;"
	"CREATE TABLE " DB_SCHEMA ".audit ("
	" id bigint,"
	" run_id bigint,"
	" job text NOT NULL,"
	" action text NOT NULL,"
	" table_name text NOT NULL,"
	" data jsonb NOT NULL,"
	" at timestamptz NOT NULL DEFAULT clock_timestamp())"
	" PARTITION BY RANGE (at);"
	"CREATE INDEX audit_at ON " DB_SCHEMA ".audit USING brin (at);"
	"CREATE TABLE " DB_SCHEMA ".audit_default PARTITION OF " DB_SCHEMA
	".audit DEFAULT;"
	"CREATE FUNCTION " DB_SCHEMA ".audit_partitions(first date, last date)"
	" RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $f$"
	" DECLARE d date; lo timestamptz; hi timestamptz; name text;"
	" made integer := 0;"
	" BEGIN"
	"  PERFORM pg_advisory_xact_lock(hashtext('sweepd.audit_partitions'));"
	"  FOR d IN SELECT g::date FROM generate_series(first, last,"
	"   interval '1 day') g LOOP"
	"   name := 'audit_p' || to_char(d, 'YYYYMMDD');"
	"   CONTINUE WHEN to_regclass('" DB_SCHEMA ".' || name) IS NOT NULL;"
	"   lo := d::timestamp AT TIME ZONE 'UTC';"
	"   hi := (d + 1)::timestamp AT TIME ZONE 'UTC';"
	"   BEGIN"
	"    EXECUTE format('CREATE TABLE " DB_SCHEMA ".%I (LIKE " DB_SCHEMA
	".audit INCLUDING DEFAULTS)', name);"
	"    EXECUTE format('WITH m AS (DELETE FROM " DB_SCHEMA ".audit_default"
	" WHERE at >= %L AND at < %L RETURNING *) INSERT INTO " DB_SCHEMA
	".%I SELECT * FROM m', lo, hi, name);"
	"    EXECUTE format('ALTER TABLE " DB_SCHEMA ".audit ATTACH PARTITION "
	DB_SCHEMA ".%I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);"
	"    made := made + 1;"
	"   EXCEPTION WHEN invalid_object_definition OR duplicate_table THEN"
	"    NULL;"  /* the day is audit_legacy's, or was made meanwhile */
	"   END;"
	"  END LOOP;"
	"  RETURN made;"
	" END $f$;"
	"REVOKE ALL ON FUNCTION " DB_SCHEMA ".audit_partitions(date, date)"
	" FROM PUBLIC;"
	"DO $d$ DECLARE b timestamptz; BEGIN"
	" IF NOT EXISTS (SELECT 1 FROM " DB_SCHEMA ".audit_legacy) THEN"
	"  DROP TABLE " DB_SCHEMA ".audit_legacy; RETURN;"
	" END IF;"
	" SELECT (date_trunc('day', greatest(max(at), now()) AT TIME ZONE"
	" 'UTC') + interval '1 day') AT TIME ZONE 'UTC' INTO b FROM "
	DB_SCHEMA ".audit_legacy;"
	" EXECUTE format('ALTER TABLE " DB_SCHEMA ".audit ATTACH PARTITION "
	DB_SCHEMA ".audit_legacy FOR VALUES FROM (MINVALUE) TO (%L)', b);"
	" END $d$;",
	/* 7: a history that scales (runstore.c).  sweepd.runs is partitioned
	 * by day of `at`, the tick a scheduled row claims or the instant a
	 * run by hand started, so that history_keep drops whole days.  A
	 * claim stays unique per (job, scheduled_at): `at` equals the tick
	 * (the CHECK), so the unique index holds the partition key as it
	 * must.  Ids keep their sequence, with a plain index.  The days are
	 * made ahead by day_partitions(), which audit_partitions() now
	 * calls.  The old table becomes the partition runs_legacy, every row
	 * kept, covering everything before the day after its newest; an
	 * empty one is dropped. */
	"CREATE FUNCTION " DB_SCHEMA ".day_partitions(parent text, first date,"
	" last date) RETURNS integer LANGUAGE plpgsql SET search_path ="
	" pg_catalog AS $f$"
	" DECLARE d date; lo timestamptz; hi timestamptz; name text;"
	" made integer := 0;"
	" BEGIN"
	"  PERFORM pg_advisory_xact_lock(hashtext('" DB_SCHEMA ".' || parent"
	" || '_partitions'));"
	"  FOR d IN SELECT g::date FROM generate_series(first, last,"
	"   interval '1 day') g LOOP"
	"   name := parent || '_p' || to_char(d, 'YYYYMMDD');"
	"   CONTINUE WHEN to_regclass('" DB_SCHEMA ".' || name) IS NOT NULL;"
	"   lo := d::timestamp AT TIME ZONE 'UTC';"
	"   hi := (d + 1)::timestamp AT TIME ZONE 'UTC';"
	"   BEGIN"
	"    EXECUTE format('CREATE TABLE " DB_SCHEMA ".%I (LIKE " DB_SCHEMA
	".%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);"
	"    EXECUTE format('WITH m AS (DELETE FROM " DB_SCHEMA ".%I"
	" WHERE at >= %L AND at < %L RETURNING *) INSERT INTO " DB_SCHEMA
	".%I SELECT * FROM m', parent || '_default', lo, hi, name);"
	"    EXECUTE format('ALTER TABLE " DB_SCHEMA ".%I ATTACH PARTITION "
	DB_SCHEMA ".%I FOR VALUES FROM (%L) TO (%L)', parent, name, lo, hi);"
	"    made := made + 1;"
	"   EXCEPTION WHEN invalid_object_definition OR duplicate_table THEN"
	"    NULL;"  /* the day is a legacy partition's, or made meanwhile */
	"   END;"
	"  END LOOP;"
	"  RETURN made;"
	" END $f$;"
	"REVOKE ALL ON FUNCTION " DB_SCHEMA ".day_partitions(text, date, date)"
	" FROM PUBLIC;"
	"CREATE OR REPLACE FUNCTION " DB_SCHEMA ".audit_partitions(first date,"
	" last date) RETURNS integer LANGUAGE sql SET search_path = pg_catalog"
	" AS $f$ SELECT " DB_SCHEMA ".day_partitions('audit', first, last) $f$;"
	"ALTER TABLE " DB_SCHEMA ".runs RENAME TO runs_legacy;"
	"ALTER TABLE " DB_SCHEMA ".runs_legacy DROP CONSTRAINT runs_pkey,"
	" ALTER id DROP DEFAULT, ADD COLUMN at timestamptz;"
	"ALTER SEQUENCE " DB_SCHEMA ".runs_id_seq OWNED BY NONE;"
	"DROP INDEX " DB_SCHEMA ".runs_tick;"
	"ALTER INDEX " DB_SCHEMA ".runs_job_started RENAME TO"
	" runs_legacy_job_started;"
	"ALTER INDEX " DB_SCHEMA ".runs_started RENAME TO runs_legacy_started;"
	"UPDATE " DB_SCHEMA ".runs_legacy SET at = coalesce(scheduled_at,"
	" started_at);"
	"ALTER TABLE " DB_SCHEMA ".runs_legacy ALTER at SET NOT NULL, ALTER at"
	" SET DEFAULT clock_timestamp(), ADD CONSTRAINT runs_at_is_tick CHECK"
	" (scheduled_at IS NULL OR at = scheduled_at);"
	"CREATE TABLE " DB_SCHEMA ".runs ("
	" id bigint NOT NULL DEFAULT nextval('" DB_SCHEMA ".runs_id_seq'),"
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
	" error text,"
	" attempts integer NOT NULL DEFAULT 1,"
	" backend_pid integer,"
	" oldest_age_s double precision,"
	" limit_s double precision,"
	" verified_table text,"
	" at timestamptz NOT NULL DEFAULT clock_timestamp(),"
	" CONSTRAINT runs_at_is_tick CHECK (scheduled_at IS NULL OR"
	" at = scheduled_at)) PARTITION BY RANGE (at);"
	"ALTER SEQUENCE " DB_SCHEMA ".runs_id_seq OWNED BY " DB_SCHEMA
	".runs.id;"
	"CREATE INDEX runs_id ON " DB_SCHEMA ".runs (id);"
	"CREATE INDEX runs_job_started ON " DB_SCHEMA ".runs (job, started_at"
	" DESC);"
	"CREATE INDEX runs_started ON " DB_SCHEMA ".runs (started_at);"
	"CREATE UNIQUE INDEX runs_tick ON " DB_SCHEMA ".runs (job,"
	" scheduled_at, at) WHERE " DB_CLAIMS ";"
	"CREATE TABLE " DB_SCHEMA ".runs_default PARTITION OF " DB_SCHEMA
	".runs DEFAULT;"
	"DO $d$ DECLARE b timestamptz; BEGIN"
	" IF NOT EXISTS (SELECT 1 FROM " DB_SCHEMA ".runs_legacy) THEN"
	"  DROP TABLE " DB_SCHEMA ".runs_legacy; RETURN;"
	" END IF;"
	" SELECT (date_trunc('day', greatest(max(at), now()) AT TIME ZONE"
	" 'UTC') + interval '1 day') AT TIME ZONE 'UTC' INTO b FROM "
	DB_SCHEMA ".runs_legacy;"
	" EXECUTE format('ALTER TABLE " DB_SCHEMA ".runs ATTACH PARTITION "
	DB_SCHEMA ".runs_legacy FOR VALUES FROM (MINVALUE) TO (%L)', b);"
	" END $d$;",
};

/* Writes "what: server message (SQLSTATE xxxxx)" into err, from res when it
 * has an error, else from the connection, with every password masked
 * (redact.c): libpq's messages about a conninfo may echo it whole. */
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
	redact_conninfo(err, err, errlen);
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

/* Settings every session of sweepd fixes, whatever the server, database,
 * role or PGOPTIONS say: how the server lexes the SQL text sweepd builds
 * from users' conditions (a condition checked by sqltext_expr_check()
 * must end where the check saw it end), what `x = NULL` means, and the
 * formats sweepd reads back.  client_encoding is fixed at connect time.
 * JIT is off: compiling a batch statement costs more than the short
 * batch itself (0.7 s a batch, measured on anonymize's JSON batches). */
static const char db_session_sql[] =
	"SET standard_conforming_strings = on;"
	"SET transform_null_equals = off;"
	"SET DateStyle = ISO;"
	"SET IntervalStyle = postgres;"
	"SET jit = off";

/* Opens a connection for job (NULL: the host itself) with dsn (a
 * conninfo string or URI; "" reads the PG* variables), named
 * "sweepd/JOB" in pg_stat_activity, in UTF-8 with db_session_sql's
 * settings, giving up after 10 s unless dsn sets its own connect_timeout.
 * In a run's process its backend is reported to the supervisor (so that
 * the run's database work can end with the run).  Returns it (the
 * caller PQfinish()es it), or NULL with the reason in err. */
PGconn *db_connect(const char *dsn, const char *job, char *err,
                   size_t errlen)
{
	const char *keys[] = {"connect_timeout", "dbname", "application_name",
	                      "client_encoding", NULL};
	const char *vals[] = {"10", dsn, NULL, "UTF8", NULL};
	char app[64];
	PGconn *c;

	redact_dsn(dsn);
	snprintf(app, sizeof(app), "sweepd%s%s", job ? "/" : "", job ? job : "");
	vals[2] = app;
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
	if (db_exec(c, db_session_sql, err, errlen) != 0) {
		PQfinish(c);
		return NULL;
	}
	report_backend(PQbackendPID(c));
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

/* Makes role the current role of c's session (SET ROLE; NULL: nothing
 * to do), so that the job's SQL runs with that role's rights only.  The
 * login role must be a member of role.  0, or -1 with err set. */
int db_set_role(PGconn *c, const char *role, char *err, size_t errlen)
{
	char *id;
	buf sql = BUF_INIT;
	int rc = -1;

	if (role == NULL)
		return 0;
	if ((id = PQescapeIdentifier(c, role, strlen(role))) == NULL) {
		db_error(NULL, c, "quoting the job's role", err, errlen);
		return -1;
	}
	buf_printf(&sql, "SET ROLE %s", id);
	if (sql.oom)
		snprintf(err, errlen, "out of memory");
	else if (db_exec(c, buf_str(&sql), err, errlen) == 0)
		rc = 0;
	else
		snprintf(err + strlen(err), errlen - strlen(err), "; the job's "
		         "role must exist and be granted to sweepd's login role:"
		         " GRANT %s TO %s", id, PQuser(c));
	PQfreemem(id);
	buf_free(&sql);
	return rc;
}

/* Fails (-1, err set) unless the current role of c's session is role:
 * SQL that stepped back to the login role (RESET ROLE, set_config('role',
 * ...)) ran with the login role's rights. */
int db_role_check(PGconn *c, const char *role, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, "SELECT current_user");
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		db_error(res, c, "checking the session's role", err, errlen);
	else if (strcmp(PQgetvalue(res, 0, 0), role) != 0)
		snprintf(err, errlen, "the session's role changed from '%s' to "
		         "'%s' during the run: the job's SQL or plugin must not "
		         "change it (RESET ROLE, SET ROLE, set_config('role', "
		         "...))", role, PQgetvalue(res, 0, 0));
	else
		rc = 0;
	PQclear(res);
	return rc;
}

/* Gives role what the host's services need of it while the job's SQL
 * runs as role: writing audit records (USAGE on schema sweepd, INSERT on
 * sweepd.audit: its records are routed to its partitions, which need no
 * grant of their own).  The login role owns sweepd's
 * schema (it created it), so it may grant them; they are granted once
 * (when role lacks one), under a lock so that two runs never grant at
 * once.  0, or -1 with err set, naming the grants to run by hand. */
int db_role_grants(PGconn *c, const char *role, char *err, size_t errlen)
{
	const char *args[1] = {role};
	PGresult *res;
	char *id = NULL;
	buf sql = BUF_INIT, grants = BUF_INIT;
	int rc = -1;

	res = PQexecParams(c, "SELECT has_schema_privilege($1, '" DB_SCHEMA
	                   "', 'USAGE') AND has_table_privilege($1, '"
	                   DB_SCHEMA ".audit', 'INSERT')", 1, NULL, args, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "checking the job's role", err, errlen);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		rc = 0;
		goto out;
	}
	if ((id = PQescapeIdentifier(c, role, strlen(role))) == NULL) {
		db_error(NULL, c, "quoting the job's role", err, errlen);
		goto out;
	}
	buf_printf(&grants, "GRANT USAGE ON SCHEMA " DB_SCHEMA " TO %s; GRANT"
	           " INSERT ON " DB_SCHEMA ".audit TO %s", id, id);
	buf_printf(&sql, "BEGIN; SELECT pg_advisory_xact_lock(hashtext("
	           "'sweepd.grant')); %s; COMMIT", buf_str(&grants));
	if (sql.oom || grants.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (db_exec(c, buf_str(&sql), err, errlen) != 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		snprintf(err + strlen(err), errlen - strlen(err), "; the job's "
		         "role writes audit records: as the owner of schema "
		         DB_SCHEMA ", run: %s", buf_str(&grants));
		goto out;
	}
	log_msg(SWEEP_LOG_INFO, "granted the job's role what audit records "
	        "need", "role", role, LOG_END);
	rc = 0;
out:
	PQclear(res);
	PQfreemem(id);
	buf_free(&sql);
	buf_free(&grants);
	return rc;
}

/* Sets c's lock_timeout and statement_timeout (0 leaves one as it is),
 * for the session or, with local, for the rest of the open transaction
 * only (SET LOCAL).  0, or -1 with err set. */
int db_set_timeouts(PGconn *c, bool local, int64_t lock_ms, int64_t stmt_ms,
                    char *err, size_t errlen)
{
	const char *setting[2] = {"lock_timeout", "statement_timeout"};
	int64_t ms[2] = {lock_ms, stmt_ms};
	char sql[96];
	int i;

	for (i = 0; i < 2; i++) {
		if (ms[i] <= 0)
			continue;
		snprintf(sql, sizeof(sql), "SET %s%s = %" PRId64,
		         local ? "LOCAL " : "", setting[i], ms[i]);
		if (db_exec(c, sql, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Brings the sweepd schema to DB_SCHEMA_VERSION, creating it when absent,
 * then makes the partitions of the days ahead of its audit records and
 * history (days.c; a failure there is only logged: rows still have the
 * DEFAULT partitions).  Safe when several hosts start at once: they
 * serialise on an advisory lock and each migration commits with the
 * version it reaches. */
int db_migrate(PGconn *c, char *err, size_t errlen)
{
	char why[512];

	if (db_migrate_to(c, DB_SCHEMA_VERSION, err, errlen) != 0)
		return -1;
	if (days_ahead(c, why, sizeof(why)) < 0)
		log_msg(SWEEP_LOG_WARN, "partitions not made ahead",
		        "error", why, LOG_END);
	return 0;
}

/* Brings the sweepd schema to version target (at most
 * DB_SCHEMA_VERSION; tests build older ones), as db_migrate() does. */
int db_migrate_to(PGconn *c, int target, char *err, size_t errlen)
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
	for (; version < target && version < DB_SCHEMA_VERSION; version++) {
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

/* Where a history row comes from: this host's name, this process's pid
 * and the tick at as an ISO 8601 UTC timestamp, for sweepd.runs. */
typedef struct db_origin {
	char host[256];
	char pid[32];
	char at[ISOTIME_LEN];
} db_origin;

static void db_origin_fill(db_origin *o, time_t at)
{
	struct timespec ts = {at, 0};

	if (gethostname(o->host, sizeof(o->host)) != 0)
		snprintf(o->host, sizeof(o->host), "unknown");
	o->host[sizeof(o->host) - 1] = '\0';
	snprintf(o->pid, sizeof(o->pid), "%ld", (long)getpid());
	isotime_format(&ts, o->at, sizeof(o->at));
}

/* The start of db_run_begin()'s statement, and its end; between them,
 * with if_known, the condition that the job has history.  That condition
 * reads every day of the history, so it is there only when asked. */
#define DB_BEGIN_SQL                                                      \
	"INSERT INTO " DB_SCHEMA ".runs (job, host, pid, kind, scheduled_at," \
	" started_at, backend_pid, at) SELECT $1, $2, $3, $4, $5, greatest("  \
	"clock_timestamp(), $5::timestamptz), pg_backend_pid(), $6::timestamptz"
#define DB_BEGIN_END " ON CONFLICT " DB_TICK " WHERE " DB_CLAIMS \
	" DO NOTHING RETURNING id"

/* Records the start of a run of job (kind: "run", "scheduled", ...) in the
 * history and sets *run_id, and *run_at to the row's `at` (the partition
 * key every later statement on the row names): the tick, or now.  With
 * scheduled_at (not 0) the row claims that tick: when another host or
 * process claimed it first, *run_id is 0; so it is too, with if_known,
 * when the job has no history at all.  A run claimed ahead of its tick
 * starts at the tick.  Returns 0, or -1 with err set. */
int db_run_begin(PGconn *c, const char *job, const char *kind,
                 time_t scheduled_at, bool if_known, int64_t *run_id,
                 time_t *run_at, char *err, size_t errlen)
{
	struct timespec ts = {scheduled_at ? scheduled_at : time(NULL), 0};
	char at[ISOTIME_LEN];
	db_origin o;
	const char *args[6];
	PGresult *res;
	int rc = -1;

	db_origin_fill(&o, scheduled_at);
	isotime_format(&ts, at, sizeof(at));
	*run_at = ts.tv_sec;
	args[0] = job;
	args[1] = o.host;
	args[2] = o.pid;
	args[3] = kind;
	args[4] = scheduled_at ? o.at : NULL;
	args[5] = at;
	res = PQexecParams(c, if_known ? DB_BEGIN_SQL " WHERE EXISTS (SELECT 1"
	                   " FROM " DB_SCHEMA ".runs WHERE job = $1)"
	                   DB_BEGIN_END : DB_BEGIN_SQL DB_BEGIN_END, 6, NULL,
	                   args, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		*run_id = PQntuples(res) == 1
		          ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
		rc = 0;
	} else {
		db_error(res, c, "recording the run", err, errlen);
	}
	PQclear(res);
	return rc;
}

/* Appends s to the array literal a as a quoted element. */
static void db_array_text(buf *a, const char *s)
{
	buf_puts(a, a->len > 1 ? ",\"" : "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_append(a, "\\", 1);
		buf_append(a, s, 1);
	}
	buf_puts(a, "\"");
}

/* db_ticks_claim()'s statement, as DB_BEGIN_SQL's: with a catch-up among
 * the ticks, the condition that its job has history goes between. */
#define DB_CLAIM_SQL                                                      \
	"INSERT INTO " DB_SCHEMA ".runs (job, host, pid, kind, scheduled_at," \
	" started_at, backend_pid, at) SELECT u.job, $4, $5, CASE WHEN u.k"   \
	" THEN 'catch-up' ELSE 'scheduled' END, to_timestamp(u.t), greatest(" \
	"clock_timestamp(), to_timestamp(u.t)), pg_backend_pid(),"            \
	" to_timestamp(u.t) FROM unnest($1::text[], $2::int8[], $3::bool[])"  \
	" AS u(job, t, k)"
#define DB_CLAIM_END " ON CONFLICT " DB_TICK " WHERE " DB_CLAIMS \
	" DO NOTHING RETURNING job, id"

/* Claims, in one statement, the n ticks t[i] of jobs job[i] (each job
 * once): ids[i] gets the history row of each tick this process claimed
 * and 0 for each another host or process claimed first, or, with
 * if_known[i] (a catch-up), that has no history at all.  Rows are as
 * db_run_begin() writes them, with this process's pid: the run's process
 * takes them over (db_run_adopt()).  Returns 0, or -1 with err set. */
int db_ticks_claim(PGconn *c, size_t n, const char *const *job,
                   const time_t *t, const bool *if_known, int64_t *ids,
                   char *err, size_t errlen)
{
	buf jobs = BUF_INIT, ticks = BUF_INIT, known = BUF_INIT;
	bool any_known = false;
	db_origin o;
	const char *args[5];
	PGresult *res;
	size_t i;
	int k, rc = -1;

	db_origin_fill(&o, 0);
	buf_puts(&jobs, "{");
	buf_puts(&ticks, "{");
	buf_puts(&known, "{");
	for (i = 0; i < n; i++) {
		db_array_text(&jobs, job[i]);
		buf_printf(&ticks, "%s%lld", i ? "," : "", (long long)t[i]);
		buf_printf(&known, "%s%c", i ? "," : "", if_known[i] ? 't' : 'f');
		any_known = any_known || if_known[i];
		ids[i] = 0;
	}
	buf_puts(&jobs, "}");
	buf_puts(&ticks, "}");
	buf_puts(&known, "}");
	args[0] = buf_str(&jobs);
	args[1] = buf_str(&ticks);
	args[2] = buf_str(&known);
	args[3] = o.host;
	args[4] = o.pid;
	res = PQexecParams(c, any_known ? DB_CLAIM_SQL " WHERE NOT u.k OR"
	                   " EXISTS (SELECT 1 FROM " DB_SCHEMA ".runs h WHERE"
	                   " h.job = u.job)" DB_CLAIM_END
	                   : DB_CLAIM_SQL DB_CLAIM_END, 5, NULL, args, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "claiming ticks", err, errlen);
		goto out;
	}
	for (k = 0; k < PQntuples(res); k++)
		for (i = 0; i < n; i++)
			if (ids[i] == 0 && strcmp(job[i], PQgetvalue(res, k, 0)) == 0)
				ids[i] = strtoll(PQgetvalue(res, k, 1), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	buf_free(&jobs);
	buf_free(&ticks);
	buf_free(&known);
	return rc;
}

/* The history row (id, at) of a statement whose first argument is its id
 * and whose argument number n is its `at` as epoch seconds: naming the
 * partition key lets the planner go to the row's day alone (2 ms a
 * statement with 40 days, 0.35 ms with one). */
#define DB_ROW(n) "id = $1 AND at = to_timestamp($" #n ")"

/* Text of the run's id and `at` (epoch seconds), for DB_ROW(). */
typedef struct db_row_args {
	char id[32];
	char at[32];
} db_row_args;

static void db_row_fill(db_row_args *a, int64_t run_id, time_t run_at)
{
	snprintf(a->id, sizeof(a->id), "%lld", (long long)run_id);
	snprintf(a->at, sizeof(a->at), "%lld", (long long)run_at);
}

/* Makes the running history row (run_id, run_at), claimed by this host's
 * daemon (db_ticks_claim()), this process's and its session's (runs.pid,
 * backend_pid), for the abandoned-run sweep and the supervisor.  1 when
 * taken over, 0 when the row no longer runs (given back), -1 with err
 * set. */
int db_run_adopt(PGconn *c, int64_t run_id, time_t run_at, char *err,
                 size_t errlen)
{
	char pid[32];
	db_row_args row = {"", ""};
	const char *args[3] = {row.id, pid, row.at};
	PGresult *res;
	int rc = -1;

	db_row_fill(&row, run_id, run_at);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	res = PQexecParams(c, "UPDATE " DB_SCHEMA ".runs SET pid = $2,"
	                   " backend_pid = pg_backend_pid() WHERE " DB_ROW(3)
	                   " AND status = 'running'", 3, NULL, args, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = strcmp(PQcmdTuples(res), "1") == 0;
	else
		db_error(res, c, "taking over the run's history row", err,
		         errlen);
	PQclear(res);
	return rc;
}

/* Runs a statement with text arguments that returns no rows; 0, or -1 with
 * err set to "what: reason". */
static int db_command(PGconn *c, const char *sql, int nargs,
                      const char *const *args, const char *what, char *err,
                      size_t errlen)
{
	PGresult *res = PQexecParams(c, sql, nargs, NULL, args, NULL, NULL, 0);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		db_error(res, c, what, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

/* Records how the run r ended: status, counters, message, error and the
 * number of attempts it took, and what its verify measured (ABI 1.9). */
int db_run_end(PGconn *c, const result *r, int attempts, char *err,
               size_t errlen)
{
	buf counters = BUF_INIT;
	char tries[16], age[32], limit[32];
	db_row_args row = {"", ""};
	const char *args[10];
	int rc, tries_left;

	result_counters_json(r, &counters);
	snprintf(age, sizeof(age), "%.3f", r->oldest_age_s);
	snprintf(limit, sizeof(limit), "%.3f", r->limit_s);
	db_row_fill(&row, r->run_id, r->run_at);
	snprintf(tries, sizeof(tries), "%d", attempts);
	args[0] = row.id;
	args[1] = result_status(r);
	args[2] = buf_str(&counters);
	args[3] = r->message;
	args[4] = r->error;
	args[5] = tries;
	args[6] = r->verified && r->oldest_age_s >= 0 ? age : NULL;
	args[7] = r->verified && r->limit_s >= 0 ? limit : NULL;
	args[8] = r->verified ? r->verify_table : NULL;
	args[9] = row.at;
	/* A stop cancels the statements of the run's sessions once
	 * (supervise.c); one landing on this record is not the run's work,
	 * so the record is tried again. */
	for (tries_left = 2; tries_left > 0; tries_left--) {
		rc = db_command(c, "UPDATE " DB_SCHEMA ".runs SET finished_at ="
		                " greatest(clock_timestamp(), started_at), status"
		                " = $2, counters = $3, message = $4, error = $5,"
		                " attempts = $6, oldest_age_s = $7, limit_s = $8,"
		                " verified_table = $9 WHERE " DB_ROW(10), 10, args,
		                "recording the run's end", err, errlen);
		if (rc == 0 || strstr(err, "SQLSTATE 57014") == NULL)
			break;
	}
	buf_free(&counters);
	return rc;
}

/* Records an outcome the run's own process could not: status ("timeout",
 * "crashed") and error, for a run that has not recorded its end or that
 * recorded only the stop or failure the supervisor's verdict explains (a
 * statement cancelled at its timeout). */
int db_run_outcome(PGconn *c, int64_t run_id, time_t run_at,
                   const char *status, const char *error, char *err,
                   size_t errlen)
{
	db_row_args row = {"", ""};
	const char *args[4] = {row.id, status, error, row.at};

	db_row_fill(&row, run_id, run_at);
	return db_command(c, "UPDATE " DB_SCHEMA ".runs SET status = $2, error"
	                  " = $3, finished_at = coalesce(finished_at,"
	                  " clock_timestamp()) WHERE " DB_ROW(4) " AND status"
	                  " IN ('running', 'stopped', 'failed', 'abandoned')",
	                  4, args,
	                  "recording the run's outcome", err, errlen);
}

/* Gives back the tick the row (run_id, tick) claimed: status "released",
 * which claims nothing (DB_CLAIMS), for a run asked to stop before its
 * tick came. */
int db_run_release(PGconn *c, int64_t run_id, time_t tick, char *err,
                   size_t errlen)
{
	db_row_args row = {"", ""};
	const char *args[2] = {row.id, row.at};

	db_row_fill(&row, run_id, tick);
	return db_command(c, "UPDATE " DB_SCHEMA ".runs SET status ="
	                  " 'released', finished_at = greatest(clock_timestamp(),"
	                  " started_at), message = 'stopped before its tick came;"
	                  " tick given back' WHERE " DB_ROW(2), 2, args,
	                  "giving the tick back", err, errlen);
}

/* Records tick (job, scheduled_at) as skipped for reason, claiming it, so
 * no other host runs it either.  A tick already claimed is left alone. */
int db_tick_skipped(PGconn *c, const char *job, time_t scheduled_at,
                    const char *reason, char *err, size_t errlen)
{
	db_origin o;
	const char *args[5] = {job, o.host, o.pid, o.at, reason};

	db_origin_fill(&o, scheduled_at);
	return db_command(c, "INSERT INTO " DB_SCHEMA ".runs (job, host, pid,"
	                  " kind, scheduled_at, status, finished_at, message, at)"
	                  " VALUES ($1, $2, $3, 'scheduled', $4, 'skipped',"
	                  " clock_timestamp(), $5, $4) ON CONFLICT " DB_TICK
	                  " WHERE "
	                  DB_CLAIMS
	                  " DO NOTHING", 5, args,
	                  "recording a skipped tick", err, errlen);
}

/* Takes the session-level advisory lock of job, which every sweepd on the
 * database takes before running it, so a job never overlaps itself; the
 * server drops it when the session ends, even by a crash.  1 when taken,
 * 0 when another session holds it, -1 on error (err set). */
int db_job_lock(PGconn *c, const char *job, char *err, size_t errlen)
{
	const char *args[1] = {job};
	PGresult *res;
	int rc = -1;

	res = PQexecParams(c, "SELECT pg_try_advisory_lock(hashtextextended("
	                   "'sweepd.job:' || $1, 0))", 1, NULL, args, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 1 : 0;
	else
		db_error(res, c, "locking the job", err, errlen);
	PQclear(res);
	return rc;
}

/* Releases the lock db_job_lock() took, so that the next run of job can
 * take it at once (the server would drop it only once the backend has
 * exited, after the client left).  A failure is harmless: ending the
 * session releases it too. */
void db_job_unlock(PGconn *c, const char *job)
{
	const char *args[1] = {job};

	PQclear(PQexecParams(c, "SELECT pg_advisory_unlock(hashtextextended("
	                     "'sweepd.job:' || $1, 0))", 1, NULL, args, NULL,
	                     NULL, 0));
}

/* Cancels the running statement of (or, with terminate, ends) each of the
 * n backends pids that still serves a session of job (application_name
 * "sweepd/JOB": a pid the server has since given to another session is
 * left alone).  Returns how many were signalled, or -1 with err set. */
int db_backends_signal(PGconn *c, const int *pids, size_t n, const char *job,
                       bool terminate, char *err, size_t errlen)
{
	buf list = BUF_INIT, app = BUF_INIT;
	const char *args[2];
	PGresult *res;
	size_t i;
	int rc = -1;

	buf_puts(&list, "{");
	for (i = 0; i < n; i++)
		buf_printf(&list, "%s%d", i ? "," : "", pids[i]);
	buf_puts(&list, "}");
	buf_printf(&app, "sweepd/%s", job);
	args[0] = buf_str(&list);
	args[1] = buf_str(&app);
	res = PQexecParams(c, terminate
	                   ? "SELECT count(*) FILTER (WHERE pg_terminate_backend("
	                     "pid)) FROM pg_stat_activity WHERE pid = ANY($1::int[])"
	                     " AND application_name = left($2, 63)"
	                   : "SELECT count(*) FILTER (WHERE pg_cancel_backend(pid))"
	                     " FROM pg_stat_activity WHERE pid = ANY($1::int[])"
	                     " AND application_name = left($2, 63)"
	                     " AND state <> 'idle'",
	                   2, NULL, args, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = atoi(PQgetvalue(res, 0, 0));
	else
		db_error(res, c, terminate ? "ending the run's backends"
		         : "cancelling the run's statements", err, errlen);
	PQclear(res);
	buf_free(&list);
	buf_free(&app);
	return rc;
}

/* SQL text of a timestamptz column as ISO 8601 UTC with milliseconds. */
#define DB_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* One row per job with runs (only job when not NULL): job, and of its
 * last run started_at, finished_at, status, duration in ms, counters,
 * message, error, scheduled_at; then of its last failure (failed, timeout
 * or crashed) started_at, status and error.  The caller PQclear()s it;
 * NULL with err set on error. */
PGresult *db_status(PGconn *c, const char *job, char *err, size_t errlen)
{
	const char *args[1] = {job};
	PGresult *res;

	res = PQexecParams(c,
		"SELECT j.job, " DB_ISO("l.started_at") ", "
		DB_ISO("l.finished_at") ", l.status,"
		" (extract(epoch FROM l.finished_at - l.started_at) * 1000)::int8,"
		" l.counters, l.message, l.error, " DB_ISO("l.scheduled_at") ","
		" " DB_ISO("f.started_at") ", f.status, f.error,"
		" l.oldest_age_s, l.limit_s, l.verified_table"
		" FROM (SELECT DISTINCT job FROM " DB_SCHEMA ".runs"
		"       WHERE $1::text IS NULL OR job = $1) j"
		" CROSS JOIN LATERAL (SELECT * FROM " DB_SCHEMA ".runs r"
		"   WHERE r.job = j.job AND r.status <> 'skipped'"
		"   ORDER BY r.started_at DESC LIMIT 1) l"
		" LEFT JOIN LATERAL (SELECT * FROM " DB_SCHEMA ".runs r"
		"   WHERE r.job = j.job AND r.status IN ('failed', 'timeout',"
		"   'crashed', 'abandoned') ORDER BY r.started_at DESC LIMIT 1) f ON true"
		" ORDER BY j.job", 1, NULL, args, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "reading the run history", err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* One row per job with history, ordered by job in byte order (for a
 * binary search with strcmp): job, and the epoch seconds of its latest
 * claimed tick (NULL when it only ever ran by hand; an abandoned or
 * released tick does not count: it did not run).  The caller
 * PQclear()s it; NULL with err set on error. */
PGresult *db_last_ticks(PGconn *c, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, "SELECT job, extract(epoch FROM"
	                       " max(scheduled_at) FILTER (WHERE " DB_CLAIMS
	                       "))::int8 FROM " DB_SCHEMA ".runs GROUP BY job"
	                       " ORDER BY job COLLATE \"C\"");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "reading the last ticks", err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* True for the SQLSTATEs of failures that may pass when tried again:
 * connection loss (08), serialization failure and deadlock (40), lock not
 * available (55P03), query canceled by statement_timeout (57014), server
 * shutting down or starting (57P01-57P03). */
bool db_transient(const char *sqlstate)
{
	if (sqlstate == NULL)
		return false;
	return strncmp(sqlstate, "08", 2) == 0 ||
	       strncmp(sqlstate, "40", 2) == 0 ||
	       strcmp(sqlstate, "55P03") == 0 ||
	       strcmp(sqlstate, "57014") == 0 ||
	       strncmp(sqlstate, "57P0", 4) == 0;
}
