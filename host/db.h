/* db: the host's PostgreSQL connection, its own schema (run history and
 * audit records) and the statements it runs there. */
#ifndef SWEEPD_DB_H
#define SWEEPD_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "result.h"

/* Schema that holds sweepd's own tables. */
#define DB_SCHEMA "sweepd"
/* Version of that schema this host creates and migrates to. */
#define DB_SCHEMA_VERSION 1

PGconn *db_connect(const char *dsn, const char *job, char *err,
                   size_t errlen);
int db_exec(PGconn *c, const char *sql, char *err, size_t errlen);
void db_error(const PGresult *res, PGconn *c, const char *what, char *err,
              size_t errlen);
int db_migrate(PGconn *c, char *err, size_t errlen);
int db_run_begin(PGconn *c, const char *job, const char *kind,
                 int64_t *run_id, char *err, size_t errlen);
int db_run_end(PGconn *c, const result *r, char *err, size_t errlen);

#endif
