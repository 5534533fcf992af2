/* days: the day partitions of sweepd's own tables.  sweepd.audit (schema
 * 6) and sweepd.runs (schema 7, the history) are each partitioned by day
 * of their `at` (UTC), named TABLE_pYYYYMMDD, beside a DEFAULT partition
 * that takes what no day does, so an insert never fails.  The days ahead
 * are made before rows reach them; the days wholly older than a cutoff
 * are listed for their stores to drop (auditstore.c, runstore.c). */
#include "days.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define DAYS_STR_(x) #x
#define DAYS_STR(x) DAYS_STR_(x)

/* The tables day_partitions() (db.c, schema 7) makes the days of, as an
 * SQL array, and the days to make: today and DAYS_AHEAD after it (UTC). */
#define DAYS_TABLES "unnest(ARRAY['audit', 'runs']) t"
#define DAYS_TODAY "(now() AT TIME ZONE 'UTC')::date"

/* Whether the last day days_ahead() makes has its partition in every
 * table: the days are made in order, so then none is missing.  One
 * catalog lookup, where the making takes a transaction and an advisory
 * lock that every sweepd process connecting at once would queue on.
 * False also when the question fails (the making then says why). */
static bool days_made_ahead(PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT bool_and(to_regclass('" DB_SCHEMA
	                       ".' || t || '_p' || to_char(" DAYS_TODAY " + "
	                       DAYS_STR(DAYS_AHEAD) ", 'YYYYMMDD')) IS NOT"
	                       " NULL)"
	                       " FROM " DAYS_TABLES);
	bool made = PQresultStatus(res) == PGRES_TUPLES_OK &&
	            PQntuples(res) == 1 &&
	            strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return made;
}

/* Makes the partitions of today and the DAYS_AHEAD days after it (UTC)
 * that are missing, in every table, moving into each the rows the
 * DEFAULT partition holds for its day, in one transaction that waits at
 * most DAYS_LOCK_MS for each lock.  Returns how many were made, or -1
 * with err set (nothing made; rows still land in the DEFAULT
 * partitions). */
int days_ahead(PGconn *c, char *err, size_t errlen)
{
	PGresult *res;
	int made = -1;

	if (days_made_ahead(c))
		return 0;
	if (db_exec(c, "BEGIN; SET LOCAL lock_timeout = "
	            DAYS_STR(DAYS_LOCK_MS), err, errlen) != 0)
		goto out;
	res = PQexec(c, "SELECT sum(" DB_SCHEMA ".day_partitions(t, "
	             DAYS_TODAY ", " DAYS_TODAY " + " DAYS_STR(DAYS_AHEAD)
	             "))::int FROM " DAYS_TABLES);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		made = atoi(PQgetvalue(res, 0, 0));
	else
		db_error(res, c, "making the partitions of the days ahead",
		         err, errlen);
	PQclear(res);
	if (made >= 0 && db_exec(c, "COMMIT", err, errlen) != 0)
		made = -1;
out:
	if (made < 0)
		PQclear(PQexec(c, "ROLLBACK"));
	return made;
}

/* Writes into cutoff (DAYS_CUTOFF_LEN bytes) the server's now less keep_ms,
 * as a timestamptz's text: what a keep setting removes is older.  0, or
 * -1 with err set. */
int days_cutoff(PGconn *c, int64_t keep_ms, char *cutoff, char *err,
                size_t errlen)
{
	char keep[48];
	const char *args[1] = {keep};
	PGresult *res;
	int rc = -1;

	snprintf(keep, sizeof(keep), "%lld milliseconds", (long long)keep_ms);
	res = PQexecParams(c, "SELECT now() - $1::interval", 1, NULL, args,
	                   NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		snprintf(cutoff, DAYS_CUTOFF_LEN, "%s", PQgetvalue(res, 0, 0));
		rc = 0;
	} else {
		db_error(res, c, "reading the cutoff", err, errlen);
	}
	PQclear(res);
	return rc;
}

/* The day partitions of sweepd.TABLE whose upper bound is at or before
 * cutoff (a timestamptz's text), as quoted names, oldest first: none of
 * their rows is younger than the cutoff by `at`.  The caller PQclear()s
 * it; NULL with err set on error. */
PGresult *days_expired(PGconn *c, const char *table, const char *cutoff,
                       char *err, size_t errlen)
{
	const char *args[2] = {cutoff, table};
	PGresult *res;

	res = PQexecParams(c, "SELECT format('" DB_SCHEMA ".%I', relname)"
	                   " FROM (SELECT c.relname, substring(pg_get_expr("
	                   "c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)"
	                   "')::timestamptz AS upper FROM pg_inherits i JOIN"
	                   " pg_class c ON c.oid = i.inhrelid WHERE i.inhparent"
	                   " = ('" DB_SCHEMA ".' || $2)::regclass) p WHERE"
	                   " upper"
	                   " <= $1::timestamptz ORDER BY upper", 2, NULL, args,
	                   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "listing the day partitions", err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}
