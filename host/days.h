/* days: the day partitions of sweepd's own tables, made ahead and listed
 * once wholly older than a cutoff (auditstore.c, runstore.c drop them). */
#ifndef SWEEPD_DAYS_H
#define SWEEPD_DAYS_H

#include <stdint.h>

#include <libpq-fe.h>

/* Days after today whose partitions are made ahead. */
#define DAYS_AHEAD 7
/* Longest wait for a lock on a partitioned table of sweepd's that would
 * queue its writers, in ms. */
#define DAYS_LOCK_MS 100

/* Room for a cutoff's text (days_cutoff()). */
#define DAYS_CUTOFF_LEN 64

int days_ahead(PGconn *c, char *err, size_t errlen);
int days_cutoff(PGconn *c, int64_t keep_ms, char *cutoff, char *err,
                size_t errlen);
PGresult *days_expired(PGconn *c, const char *table, const char *cutoff,
                       char *err, size_t errlen);

#endif
