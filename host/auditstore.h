/* auditstore: the days of sweepd.audit, made ahead and dropped whole
 * once older than audit_keep. */
#ifndef SWEEPD_AUDITSTORE_H
#define SWEEPD_AUDITSTORE_H

#include <stdint.h>

#include <libpq-fe.h>

/* Days after today whose partitions are made ahead. */
#define AUDITSTORE_AHEAD_DAYS 7
/* Longest wait for a lock on sweepd.audit that would queue its writers,
 * in ms. */
#define AUDITSTORE_LOCK_MS 100

/* What one auditstore_prune() removed. */
typedef struct auditstore_pruned {
	int64_t partitions;     /* days dropped whole */
	int64_t default_rows;   /* old records deleted from audit_default */
} auditstore_pruned;

int auditstore_ahead(PGconn *c, char *err, size_t errlen);
int auditstore_prune(PGconn *c, int64_t keep_ms, auditstore_pruned *out,
                     char *err, size_t errlen);

#endif
