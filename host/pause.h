/* pause: jobs paused by an operator (sweepd --pause JOB), recorded in
 * the home database so that every sweepd sharing it skips their ticks at
 * once, each skipped tick recorded with why, until sweepd --resume JOB. */
#ifndef SWEEPD_PAUSE_H
#define SWEEPD_PAUSE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

int pause_set(PGconn *c, const char *job, bool paused, char *err,
              size_t errlen);
int pause_check(PGconn *c, const char *job, char *why, size_t whylen,
                char *err, size_t errlen);
PGresult *pause_list(PGconn *c, char *err, size_t errlen);
int pause_find(const PGresult *list, const char *job);

#endif
