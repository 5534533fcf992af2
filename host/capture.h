/* capture: a run's standard output and error, read by its supervisor from
 * pipes, turned into log lines of their own (event=output), so that
 * nothing a plugin writes reaches the daemon's streams or the CLI's
 * output as it is. */
#ifndef SWEEPD_CAPTURE_H
#define SWEEPD_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Longest output line logged (escaped); the rest of a longer line starts
 * a new one. */
#define CAPTURE_LINE_MAX 1024
/* Output logged per run (escaped); past it, one "output truncated" line. */
#define CAPTURE_RUN_MAX (64 * 1024)

/* What a run wrote to one of its streams, not yet logged. */
typedef struct capture_stream {
	const char *name;          /* "stdout" or "stderr" */
	buf line;                  /* the line being read */
} capture_stream;

/* Both streams of one run and what has been logged of them. */
typedef struct capture {
	const char *job;
	char run[24];              /* "" until the run id is known */
	capture_stream out, err;
	size_t logged;             /* escaped bytes logged so far */
	bool truncated;            /* the truncation line was written */
} capture;

void capture_init(capture *c, const char *job);
void capture_feed(capture *c, capture_stream *s, const char *data, size_t n);
void capture_flush(capture *c);
void capture_free(capture *c);

#endif
