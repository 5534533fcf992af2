/* auditstore: the days of sweepd.audit.  The table is partitioned by day
 * of `at` (UTC; schema 6, db.c): the days ahead are made before records
 * reach them, and audit_keep drops the days wholly older than it, each
 * by a DETACH that waits at most AUDITSTORE_LOCK_MS for its lock and a
 * DROP of the detached table, which blocks no writer. */
#include "auditstore.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"

/* Rows of audit_default deleted per statement, when old records are
 * there (days that had no partition when they were written). */
#define AUDITSTORE_DEFAULT_BATCH 5000
#define AUDITSTORE_STR_(x) #x
#define AUDITSTORE_STR(x) AUDITSTORE_STR_(x)
/* Tries of a DETACH whose lock is not had within AUDITSTORE_LOCK_MS. */
#define AUDITSTORE_DETACH_TRIES 5

/* Whether the last day auditstore_ahead() makes has its partition: the
 * days are made in order, so then none is missing.  One catalog lookup,
 * where the making takes a transaction and an advisory lock that every
 * sweepd process connecting at once would queue on.  False also when the
 * question fails (the making then says why). */
static bool auditstore_made_ahead(PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT to_regclass('" DB_SCHEMA ".audit_p'"
	                       " || to_char((now() AT TIME ZONE 'UTC')::date"
	                       " + " AUDITSTORE_STR(AUDITSTORE_AHEAD_DAYS)
	                       ", 'YYYYMMDD')) IS NOT NULL");
	bool made = PQresultStatus(res) == PGRES_TUPLES_OK &&
	            PQntuples(res) == 1 &&
	            strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return made;
}

/* Makes the partitions of today and the AUDITSTORE_AHEAD_DAYS after it
 * (UTC) that are missing, moving into each the records the DEFAULT
 * partition holds for its day, in one transaction that waits at most
 * AUDITSTORE_LOCK_MS for each lock.  Returns how many were made, or -1
 * with err set (nothing made; records still land in the DEFAULT
 * partition). */
int auditstore_ahead(PGconn *c, char *err, size_t errlen)
{
	char sql[512];
	PGresult *res;
	int made = -1;

	if (auditstore_made_ahead(c))
		return 0;
	snprintf(sql, sizeof(sql), "SET LOCAL lock_timeout = %d; SELECT "
	         DB_SCHEMA ".audit_partitions(d, d + %d) FROM (SELECT (now()"
	         " AT TIME ZONE 'UTC')::date AS d) x", AUDITSTORE_LOCK_MS,
	         AUDITSTORE_AHEAD_DAYS);
	if (db_exec(c, "BEGIN", err, errlen) != 0)
		return -1;
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "making the audit partitions ahead", err, errlen);
		PQclear(res);
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	made = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (db_exec(c, "COMMIT", err, errlen) != 0)
		return -1;
	return made;
}

/* The partitions of sweepd.audit whose upper bound is at or before
 * cutoff (a timestamptz's text), quoted, oldest first: none of their rows
 * is younger than the cutoff.  The caller PQclear()s it; NULL with err
 * set on error. */
static PGresult *auditstore_expired(PGconn *c, const char *cutoff,
                                    char *err, size_t errlen)
{
	const char *args[1] = {cutoff};
	PGresult *res;

	res = PQexecParams(c, "SELECT format('" DB_SCHEMA ".%I', relname)"
	                   " FROM (SELECT c.relname, substring(pg_get_expr("
	                   "c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)"
	                   "')::timestamptz AS upper FROM pg_inherits i JOIN"
	                   " pg_class c ON c.oid = i.inhrelid WHERE i.inhparent"
	                   " = '" DB_SCHEMA ".audit'::regclass) p WHERE upper"
	                   " <= $1::timestamptz ORDER BY upper", 1, NULL, args,
	                   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(res, c, "listing the audit partitions", err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Detaches partition (quoted) from sweepd.audit, each try waiting at most
 * AUDITSTORE_LOCK_MS for the table's lock (a DETACH beside a DEFAULT
 * partition takes it exclusively, so it must not queue writers), then
 * drops it: once detached, its lock stops no one.  0, or -1 with err
 * set (the partition stays, whole). */
static int auditstore_drop(PGconn *c, const char *partition, char *err,
                           size_t errlen)
{
	buf sql = BUF_INIT;
	int tries, rc = -1;

	buf_printf(&sql, "SET lock_timeout = %d; ALTER TABLE " DB_SCHEMA
	           ".audit DETACH PARTITION %s", AUDITSTORE_LOCK_MS, partition);
	if (sql.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (tries = 0; tries < AUDITSTORE_DETACH_TRIES; tries++) {
		rc = db_exec(c, buf_str(&sql), err, errlen);
		if (rc == 0 || strstr(err, "SQLSTATE 55P03") == NULL)
			break;
	}
	PQclear(PQexec(c, "RESET lock_timeout"));
	if (rc != 0)
		goto out;
	buf_reset(&sql);
	buf_printf(&sql, "DROP TABLE %s", partition);
	rc = sql.oom ? -1 : db_exec(c, buf_str(&sql), err, errlen);
out:
	buf_free(&sql);
	return rc;
}

/* Deletes the records of the DEFAULT partition older than cutoff, in
 * statements of AUDITSTORE_DEFAULT_BATCH rows.  Returns how many, or -1
 * with err set. */
static int64_t auditstore_default_prune(PGconn *c, const char *cutoff,
                                        char *err, size_t errlen)
{
	const char *args[1] = {cutoff};
	int64_t total = 0, n;
	PGresult *res;

	do {
		res = PQexecParams(c, "DELETE FROM " DB_SCHEMA ".audit_default"
		                   " WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
		                   DB_SCHEMA ".audit_default WHERE at <"
		                   " $1::timestamptz LIMIT "
		                   AUDITSTORE_STR(AUDITSTORE_DEFAULT_BATCH) "))", 1,
		                   NULL, args, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			db_error(res, c, "pruning the default audit partition",
			         err, errlen);
			PQclear(res);
			return -1;
		}
		n = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		total += n;
	} while (n == AUDITSTORE_DEFAULT_BATCH);
	return total;
}

/* Drops every day of sweepd.audit wholly older than keep_ms (its upper
 * bound at or before now less keep_ms), and deletes the DEFAULT
 * partition's records older than that.  A record younger than keep_ms is
 * never removed; an older one in the partition holding the cutoff stays
 * until its whole day has expired.  Sets *out; 0, or -1 with err set
 * (what was dropped before the failure is counted). */
int auditstore_prune(PGconn *c, int64_t keep_ms, auditstore_pruned *out,
                     char *err, size_t errlen)
{
	char keep[48];
	const char *args[1] = {keep};
	PGresult *now = NULL, *parts = NULL;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(keep, sizeof(keep), "%lld milliseconds", (long long)keep_ms);
	now = PQexecParams(c, "SELECT now() - $1::interval", 1, NULL, args,
	                   NULL, NULL, 0);
	if (PQresultStatus(now) != PGRES_TUPLES_OK) {
		db_error(now, c, "pruning the audit records", err, errlen);
		goto out;
	}
	parts = auditstore_expired(c, PQgetvalue(now, 0, 0), err, errlen);
	if (parts == NULL)
		goto out;
	for (i = 0; i < PQntuples(parts); i++) {
		if (auditstore_drop(c, PQgetvalue(parts, i, 0), err,
		                    errlen) != 0)
			goto out;
		out->partitions++;
	}
	out->default_rows = auditstore_default_prune(c, PQgetvalue(now, 0, 0),
	                                             err, errlen);
	rc = out->default_rows < 0 ? -1 : 0;
out:
	PQclear(now);
	PQclear(parts);
	return rc;
}
