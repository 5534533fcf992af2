/* result: what one run of a job did (success, counters, message, sample,
 * times), and its text and JSON forms. */
#ifndef SWEEPD_RESULT_H
#define SWEEPD_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "buf.h"

/* Sample lines a result keeps. */
#define RESULT_MAX_SAMPLES 10

typedef struct result_counter {
	char *name;
	int64_t value;
} result_counter;

typedef struct result {
	char *job;
	bool dry_run;
	bool success;
	bool stopped;              /* ended early on request */
	bool skipped;              /* not run: the job was already running */
	int64_t run_id;            /* history row; 0: none */
	time_t run_at;             /* its `at`: the tick, or when it began */
	char *message;
	char *error;
	struct timespec started;   /* CLOCK_REALTIME */
	struct timespec finished;
	result_counter *counters;  /* in order of first use */
	size_t ncounters;
	char *samples[RESULT_MAX_SAMPLES];
	size_t nsamples;
	char *errors[RESULT_MAX_SAMPLES]; /* errors of single items */
	size_t nerrors;
	int64_t batches;
	int64_t longest_batch_ms;
	int64_t largest_batch_rows; /* most rows one batch changed */
	bool verified;             /* the plugin's verify ran (ABI 1.9) */
	double oldest_age_s;       /* its oldest row's age; -1: none */
	double limit_s;            /* the age its policy allows; -1: none */
	char *verify_table;        /* what it measured, or NULL */
} result;

void result_init(result *r, const char *job, bool dry_run);
void result_count(result *r, const char *name, int64_t delta);
void result_sample(result *r, const char *line);
void result_error_item(result *r, const char *text);
void result_message(result *r, const char *text);
void result_fail(result *r, const char *error);
void result_retry(result *r);
void result_finish(result *r);
const char *result_status(const result *r);
void result_counters_json(const result *r, buf *b);
void result_json(const result *r, buf *b);
void result_text(const result *r, buf *b);
void result_free(result *r);

#endif
