/* auditstore: the days of sweepd.audit, dropped whole once older than
 * audit_keep. */
#ifndef SWEEPD_AUDITSTORE_H
#define SWEEPD_AUDITSTORE_H

#include <stdint.h>

#include <libpq-fe.h>

/* What one auditstore_prune() removed. */
typedef struct auditstore_pruned {
	int64_t partitions;     /* days dropped whole */
	int64_t default_rows;   /* old records deleted from audit_default */
} auditstore_pruned;

int auditstore_prune(PGconn *c, int64_t keep_ms, auditstore_pruned *out,
                     char *err, size_t errlen);

#endif
