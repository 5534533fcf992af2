/* auditstore: the days of sweepd.audit.  The table is partitioned by day
 * of `at` (UTC; schema 6, db.c; its days are made ahead by days.c), and
 * audit_keep drops the days wholly older than it, each by a DETACH that
 * waits at most DAYS_LOCK_MS for its lock and a DROP of the detached
 * table, which blocks no writer. */
#include "auditstore.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "days.h"
#include "db.h"
#include "log.h"

/* Rows of audit_default deleted per statement, when old records are
 * there (days that had no partition when they were written). */
#define AUDITSTORE_DEFAULT_BATCH 5000
#define AUDITSTORE_STR_(x) #x
#define AUDITSTORE_STR(x) AUDITSTORE_STR_(x)
/* Tries of a DETACH whose lock is not had within DAYS_LOCK_MS. */
#define AUDITSTORE_DETACH_TRIES 5

/* Detaches partition (quoted) from sweepd.audit, each try waiting at most
 * DAYS_LOCK_MS for the table's lock (a DETACH beside a DEFAULT
 * partition takes it exclusively, so it must not queue writers), then
 * drops it: once detached, its lock stops no one.  0, or -1 with err
 * set (the partition stays, whole). */
static int auditstore_drop(PGconn *c, const char *partition, char *err,
                           size_t errlen)
{
	buf sql = BUF_INIT;
	int tries, rc = -1;

	buf_printf(&sql, "SET lock_timeout = %d; ALTER TABLE " DB_SCHEMA
	           ".audit DETACH PARTITION %s", DAYS_LOCK_MS, partition);
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
	char cutoff[DAYS_CUTOFF_LEN];
	PGresult *parts = NULL;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	if (days_cutoff(c, keep_ms, cutoff, err, errlen) != 0)
		return -1;
	parts = days_expired(c, "audit", cutoff, err, errlen);
	if (parts == NULL)
		goto out;
	for (i = 0; i < PQntuples(parts); i++) {
		if (auditstore_drop(c, PQgetvalue(parts, i, 0), err,
		                    errlen) != 0)
			goto out;
		out->partitions++;
	}
	out->default_rows = auditstore_default_prune(c, cutoff, err, errlen);
	rc = out->default_rows < 0 ? -1 : 0;
out:
	PQclear(parts);
	return rc;
}
