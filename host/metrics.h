/* metrics: the Prometheus text exposition of every job's runs (last run,
 * last success, last duration, runs by status, rows by counter, next run,
 * paused) and sweepd_up, written atomically to metrics_file after every
 * run for node_exporter's textfile collector.  Read from the home
 * database, so every sweepd sharing it and every `sweepd --run` writes the
 * same truth. */
#ifndef SWEEPD_METRICS_H
#define SWEEPD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "jobs.h"
#include "reload.h"
#include "settings.h"

/* A configured job as the metrics see it. */
typedef struct metrics_job {
	const char *name;
	time_t next;            /* next run; 0: none */
	int64_t period;         /* seconds between runs; 0: not scheduled */
} metrics_job;

int metrics_render(PGconn *c, const metrics_job *js, size_t n, bool up,
                   buf *out);
int metrics_write(const char *path, const buf *text, char *err,
                  size_t errlen);
void metrics_daemon(const settings *s, PGconn *c, const reload_set *rs,
                    bool up, buf *text);
void metrics_cli(const settings *s, const jobs *js, time_t now);

#endif
