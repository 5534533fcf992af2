/* report: the one protocol between a run's child process and the
 * supervisor that started it.  The child writes short lines to a pipe as
 * the run goes (its history row, each database backend it opens, the
 * plugin phase it enters, its progress, what the user should see, and its
 * end, and, when the supervisor draws a live line on a terminal, its log
 * lines, which the supervisor writes around that line); the
 * supervisor reads them, so that it knows what to record, which backends
 * to cancel and where a crash happened, even when the child dies. */
#ifndef SWEEPD_REPORT_H
#define SWEEPD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "progress.h"

/* Most backends one run reports (its session and parallel sessions). */
#define REPORT_MAX_BACKENDS 32

/* ---- child side: every call is a no-op until report_attach() ---- */

void report_attach(int fd, bool live);
bool report_live(void);
void report_run_id(int64_t run_id, time_t run_at);
void report_backend(int pid);
void report_phase(const char *phase);
void report_progress(const progress_point *p);
void report_log(const char *text, size_t n);
void report_output(const buf *text);
void report_end(int outcome);

/* ---- supervisor side ---- */

/* What a child reported so far. */
typedef struct report {
	int64_t run_id;            /* 0: no history row (yet) */
	time_t run_at;             /* its `at` (db_run_begin()) */
	int backends[REPORT_MAX_BACKENDS];
	size_t nbackends;
	char phase[16];            /* "" before init; init, run, dry_run,
	                              teardown */
	progress_point progress;   /* the last progress reported */
	unsigned progress_seq;     /* progress reports read so far */
	buf log;                   /* log lines not yet written (live) */
	bool ended;                /* the runner returned */
	int outcome;               /* a runner_outcome, once ended */
	buf output;                /* what the CLI prints, once ended */
	buf pending;               /* bytes not yet parsed */
} report;

void report_init(report *r);
int report_feed(report *r, const char *data, size_t n);
void report_free(report *r);

#endif
