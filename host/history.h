/* history: sweepd --history [JOB]: the past runs of every job, or of one,
 * newest first, from sweepd.runs. */
#ifndef SWEEPD_HISTORY_H
#define SWEEPD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "settings.h"

/* Runs --history shows unless --limit says otherwise. */
#define HISTORY_DEFAULT_LIMIT 20

int history_report(const settings *s, const char *job, long limit, bool json,
                   buf *out, char *err, size_t errlen);

#endif
