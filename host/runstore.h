/* runstore: the days of sweepd.runs, the run history, dropped whole once
 * older than history_keep. */
#ifndef SWEEPD_RUNSTORE_H
#define SWEEPD_RUNSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* What one runstore_prune() removed. */
typedef struct runstore_pruned {
	int64_t days;   /* day partitions dropped whole */
	int64_t rows;   /* history rows removed, theirs included */
} runstore_pruned;

int runstore_prune(PGconn *c, int64_t keep_ms, runstore_pruned *out,
                   char *err, size_t errlen);

#endif
