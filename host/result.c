/* result: what one run of a job did (success, counters, message, sample,
 * times), and its text and JSON forms. */
#include "result.h"

#include <stdlib.h>
#include <string.h>

#include "isotime.h"

/* Starts a result for job: successful until result_fail(), started now. */
void result_init(result *r, const char *job, bool dry_run)
{
	memset(r, 0, sizeof(*r));
	r->job = strdup(job);
	r->dry_run = dry_run;
	r->success = true;
	r->oldest_age_s = -1;
	r->limit_s = -1;
	clock_gettime(CLOCK_REALTIME, &r->started);
}

/* Adds delta to the counter name, creating it at 0.  Out of memory, the
 * count is lost (the run itself is unaffected). */
void result_count(result *r, const char *name, int64_t delta)
{
	size_t i;
	result_counter *v;

	for (i = 0; i < r->ncounters; i++) {
		if (strcmp(r->counters[i].name, name) == 0) {
			r->counters[i].value += delta;
			return;
		}
	}
	v = realloc(r->counters, (r->ncounters + 1) * sizeof(*v));
	if (v == NULL)
		return;
	r->counters = v;
	if ((v[r->ncounters].name = strdup(name)) == NULL)
		return;
	v[r->ncounters].value = delta;
	r->ncounters++;
}

/* Keeps a copy of line while fewer than RESULT_MAX_SAMPLES are kept. */
void result_sample(result *r, const char *line)
{
	if (r->nsamples < RESULT_MAX_SAMPLES &&
	    (r->samples[r->nsamples] = strdup(line)) != NULL)
		r->nsamples++;
}

/* Counts an item's error in the "errors" counter and keeps a copy of text
 * while fewer than RESULT_MAX_SAMPLES are kept. */
void result_error_item(result *r, const char *text)
{
	result_count(r, "errors", 1);
	if (r->nerrors < RESULT_MAX_SAMPLES &&
	    (r->errors[r->nerrors] = strdup(text)) != NULL)
		r->nerrors++;
}

/* Replaces the message with a copy of text. */
void result_message(result *r, const char *text)
{
	free(r->message);
	r->message = text ? strdup(text) : NULL;
}

/* Marks the run failed; the first error is the one kept. */
void result_fail(result *r, const char *error)
{
	r->success = false;
	if (r->error == NULL)
		r->error = strdup(error ? error : "failed");
}

/* Readies r for another attempt of the same run: its failure (success,
 * error, message) goes; what the failed attempt did stays (counters,
 * batches, samples and failed items: its committed work is committed and
 * counted, and the run's history row is the same). */
void result_retry(result *r)
{
	r->success = true;
	r->stopped = false;
	r->skipped = false;
	free(r->error);
	r->error = NULL;
	free(r->message);
	r->message = NULL;
}

/* Records the finishing time. */
void result_finish(result *r)
{
	clock_gettime(CLOCK_REALTIME, &r->finished);
}

/* The run's state as the history records it: ok, stopped, skipped or
 * failed. */
const char *result_status(const result *r)
{
	if (!r->success)
		return "failed";
	if (r->skipped)
		return "skipped";
	return r->stopped ? "stopped" : "ok";
}

/* Milliseconds from started to finished. */
static int64_t result_duration_ms(const result *r)
{
	return (int64_t)(r->finished.tv_sec - r->started.tv_sec) * 1000 +
	       (r->finished.tv_nsec - r->started.tv_nsec) / 1000000;
}

/* Appends the counters as a JSON object. */
void result_counters_json(const result *r, buf *b)
{
	size_t i;

	buf_puts(b, "{");
	for (i = 0; i < r->ncounters; i++) {
		if (i)
			buf_puts(b, ",");
		buf_json_string(b, r->counters[i].name);
		buf_printf(b, ":%lld", (long long)r->counters[i].value);
	}
	buf_puts(b, "}");
}

/* The value of the counter name, 0 when the run has none. */
static int64_t result_counter_value(const result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return r->counters[i].value;
	return 0;
}

/* Appends the result as one JSON object:
 * {"job","dry_run","success","stopped","status","run_id","counters",
 *  "deleted_count","message","error","sample","errors","batches",
 *  "longest_batch_ms","largest_batch_rows","started","finished",
 *  "duration_ms","timestamp"}
 * (status from result_status()).  success, deleted_count and timestamp
 * are the result the seed jobs documented ({success, deleted_count,
 * timestamp}), for every job alike: deleted_count is the "deleted"
 * counter (0 when the run has none: a dry run, or a plugin counting
 * other things), timestamp the run's end, as finished. */
void result_json(const result *r, buf *b)
{
	char started[ISOTIME_LEN], finished[ISOTIME_LEN];
	size_t i;

	isotime_format(&r->started, started, sizeof(started));
	isotime_format(&r->finished, finished, sizeof(finished));
	buf_puts(b, "{\"job\":");
	buf_json_string(b, r->job);
	buf_printf(b, ",\"dry_run\":%s,\"success\":%s,\"stopped\":%s,"
	           "\"status\":\"%s\"", r->dry_run ? "true" : "false",
	           r->success ? "true" : "false",
	           r->stopped ? "true" : "false", result_status(r));
	if (r->run_id)
		buf_printf(b, ",\"run_id\":%lld", (long long)r->run_id);
	buf_puts(b, ",\"counters\":");
	result_counters_json(r, b);
	buf_printf(b, ",\"deleted_count\":%lld",
	           (long long)result_counter_value(r, "deleted"));
	buf_puts(b, ",\"message\":");
	buf_json_string(b, r->message);
	buf_puts(b, ",\"error\":");
	buf_json_string(b, r->error);
	buf_puts(b, ",\"sample\":[");
	for (i = 0; i < r->nsamples; i++) {
		if (i)
			buf_puts(b, ",");
		buf_json_string(b, r->samples[i]);
	}
	buf_puts(b, "],\"errors\":[");
	for (i = 0; i < r->nerrors; i++) {
		if (i)
			buf_puts(b, ",");
		buf_json_string(b, r->errors[i]);
	}
	buf_printf(b, "],\"batches\":%lld,\"longest_batch_ms\":%lld,"
	           "\"largest_batch_rows\":%lld", (long long)r->batches,
	           (long long)r->longest_batch_ms,
	           (long long)r->largest_batch_rows);
	buf_printf(b, ",\"started\":\"%s\",\"finished\":\"%s\","
	           "\"duration_ms\":%lld,\"timestamp\":\"%s\"}\n", started,
	           finished, (long long)result_duration_ms(r), finished);
}

/* Appends the result for people: a status line, then counters, message,
 * error and sample, one per line. */
void result_text(const result *r, buf *b)
{
	char started[ISOTIME_LEN];
	size_t i;

	isotime_format(&r->started, started, sizeof(started));
	buf_printf(b, "%s %s: %s%s in %lld ms (started %s)\n",
	           r->dry_run ? "dry-run" : "run", r->job,
	           r->success ? (r->skipped ? "skipped" : "ok") : "FAILED",
	           r->stopped ? " (stopped early)" : "",
	           (long long)result_duration_ms(r), started);
	for (i = 0; i < r->ncounters; i++)
		buf_printf(b, "  %-16s %lld\n", r->counters[i].name,
		           (long long)r->counters[i].value);
	if (r->batches)
		buf_printf(b, "  %-16s %lld (longest %lld ms, largest %lld "
		           "rows)\n", "batches", (long long)r->batches,
		           (long long)r->longest_batch_ms,
		           (long long)r->largest_batch_rows);
	if (r->message)
		buf_printf(b, "  message: %s\n", r->message);
	if (r->error)
		buf_printf(b, "  error: %s\n", r->error);
	for (i = 0; i < r->nsamples; i++)
		buf_printf(b, "  %s %s\n", i ? "      " : "sample:",
		           r->samples[i]);
	for (i = 0; i < r->nerrors; i++)
		buf_printf(b, "  %s %s\n", i ? "      " : "errors:",
		           r->errors[i]);
}

/* Frees what the result holds. */
void result_free(result *r)
{
	size_t i;

	for (i = 0; i < r->ncounters; i++)
		free(r->counters[i].name);
	for (i = 0; i < r->nsamples; i++)
		free(r->samples[i]);
	for (i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->counters);
	free(r->verify_table);
	free(r->job);
	free(r->message);
	free(r->error);
	memset(r, 0, sizeof(*r));
}
