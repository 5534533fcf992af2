/* status: sweepd --status: each job's last run, its result, next run and
 * last failure, from the run history and the configuration. */
#ifndef SWEEPD_STATUS_H
#define SWEEPD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "jobs.h"
#include "settings.h"

int status_report(const jobs *js, const settings *s, const char *only,
                  time_t now, bool json, buf *out, char *err, size_t errlen);
PGresult *status_paused(const settings *s);
void status_databases(const jobs *js, bool json, buf *out);
void status_next_run(const job *j, time_t now, char *out, size_t len);

#endif
