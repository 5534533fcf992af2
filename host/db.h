/* db: the host's PostgreSQL connection, its own schema (run history and
 * audit records) and the statements it runs there. */
#ifndef SWEEPD_DB_H
#define SWEEPD_DB_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "result.h"

/* Schema that holds sweepd's own tables. */
#define DB_SCHEMA "sweepd"
/* Version of that schema this host creates and migrates to. */
#define DB_SCHEMA_VERSION 7
/* The columns of a tick claim's unique index (schema 7): `at`, the
 * partition key, equals scheduled_at in every scheduled row. */
#define DB_TICK "(job, scheduled_at, at)"
/* SQL condition of a history row that claims its tick: a scheduled row
 * whose run was neither abandoned (its process died) nor released (its
 * daemon stopped before the tick). */
#define DB_CLAIMS "scheduled_at IS NOT NULL AND status NOT IN" \
	" ('abandoned', 'released')"

PGconn *db_connect(const char *dsn, const char *job, char *err,
                   size_t errlen);
int db_exec(PGconn *c, const char *sql, char *err, size_t errlen);
int db_set_role(PGconn *c, const char *role, char *err, size_t errlen);
int db_role_check(PGconn *c, const char *role, char *err, size_t errlen);
int db_role_grants(PGconn *c, const char *role, char *err, size_t errlen);
int db_set_timeouts(PGconn *c, bool local, int64_t lock_ms, int64_t stmt_ms,
                    char *err, size_t errlen);
void db_error(const PGresult *res, PGconn *c, const char *what, char *err,
              size_t errlen);
int db_migrate(PGconn *c, char *err, size_t errlen);
int db_migrate_to(PGconn *c, int target, char *err, size_t errlen);
/* Run states the scheduler records for a run that could not record its
 * own end (sweepd.runs.status; the others come from result_status()). */
#define DB_STOPPED "stopped"
#define DB_TIMEOUT "timeout"
#define DB_CRASHED "crashed"
#define DB_ABANDONED "abandoned"

int db_run_begin(PGconn *c, const char *job, const char *kind,
                 time_t scheduled_at, bool if_known, int64_t *run_id,
                 time_t *run_at, char *err, size_t errlen);
int db_ticks_claim(PGconn *c, size_t n, const char *const *job,
                   const time_t *t, const bool *if_known, int64_t *ids,
                   char *err, size_t errlen);
int db_run_adopt(PGconn *c, int64_t run_id, time_t run_at, char *err,
                 size_t errlen);
int db_run_end(PGconn *c, const result *r, int attempts, char *err,
               size_t errlen);
int db_run_outcome(PGconn *c, int64_t run_id, time_t run_at,
                   const char *status, const char *error, char *err,
                   size_t errlen);
int db_run_release(PGconn *c, int64_t run_id, time_t tick, char *err,
                   size_t errlen);
int db_tick_skipped(PGconn *c, const char *job, time_t scheduled_at,
                    const char *reason, char *err, size_t errlen);
int db_job_lock(PGconn *c, const char *job, char *err, size_t errlen);
void db_job_unlock(PGconn *c, const char *job);
int db_backends_signal(PGconn *c, const int *pids, size_t n, const char *job,
                       bool terminate, char *err, size_t errlen);
PGresult *db_status(PGconn *c, const char *job, char *err, size_t errlen);
PGresult *db_last_ticks(PGconn *c, char *err, size_t errlen);
bool db_transient(const char *sqlstate);

#endif
