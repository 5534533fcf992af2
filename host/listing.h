/* listing: what the configuration commands print: --list-plugins,
 * --list-jobs, --check and the problems found on the way, as text or
 * JSON, and the plugins' options as roff for sweepd.ini(5). */
#ifndef SWEEPD_LISTING_H
#define SWEEPD_LISTING_H

#include <stdbool.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "diag.h"
#include "jobs.h"
#include "loader.h"

void listing_problems(const diag *d, const char *file);
void listing_plugins(const loader *l, const jobs *js, bool json, buf *b);
void listing_jobs(const jobs *js, const diag *d, time_t now,
                  const PGresult *paused, bool json, buf *b);
int listing_check(const jobs *js, const loader *l, const diag *d, bool json,
                  bool strict, buf *out);
void listing_man_plugins(const loader *l, buf *b);

#endif
