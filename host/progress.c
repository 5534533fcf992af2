/* progress: rate, time left and the texts of a run's progress. */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

/* Sets p to done of total (-1: unknown) units after elapsed_ms, the part
 * done being ppm (-1: done / total when total is known). */
void progress_point_set(progress_point *p, int64_t done, int64_t total,
                        int64_t ppm, int64_t elapsed_ms)
{
	p->done = done;
	p->total = total;
	p->elapsed_ms = elapsed_ms;
	if (ppm < 0 && total > 0)
		ppm = (int64_t)((double)done * PROGRESS_WHOLE / (double)total);
	else if (ppm < 0 && total == 0)
		ppm = PROGRESS_WHOLE;
	p->ppm = ppm < 0 ? -1 : ppm > PROGRESS_WHOLE ? PROGRESS_WHOLE : ppm;
}

/* Units per second since the run started; 0 before any time passed. */
double progress_rate(const progress_point *p)
{
	if (p->elapsed_ms <= 0)
		return 0;
	return (double)p->done * 1000.0 / (double)p->elapsed_ms;
}

/* Milliseconds left at the pace so far, when the part done is known and
 * more than nothing; -1 otherwise. */
int64_t progress_eta_ms(const progress_point *p)
{
	if (p->ppm <= 0 || p->elapsed_ms <= 0)
		return -1;
	return (int64_t)((double)p->elapsed_ms *
	                 (double)(PROGRESS_WHOLE - p->ppm) / (double)p->ppm);
}

/* The "progress" log line's values of p. */
void progress_values_of(const progress_point *p, progress_values *v)
{
	int64_t eta = progress_eta_ms(p);

	snprintf(v->done, sizeof(v->done), "%" PRId64, p->done);
	v->total[0] = '\0';
	if (p->total >= 0)
		snprintf(v->total, sizeof(v->total), "%" PRId64, p->total);
	snprintf(v->rate, sizeof(v->rate), "%.1f", progress_rate(p));
	v->percent[0] = v->eta_s[0] = '\0';
	if (p->ppm >= 0)
		snprintf(v->percent, sizeof(v->percent), "%.1f",
		         (double)p->ppm * 100.0 / PROGRESS_WHOLE);
	if (eta >= 0)
		snprintf(v->eta_s, sizeof(v->eta_s), "%" PRId64,
		         (eta + 999) / 1000);
}

/* n with its thousands grouped: "12,345". */
static void progress_count(double n, char *out, size_t len)
{
	char digits[32];
	size_t i, used = 0, nd;

	snprintf(digits, sizeof(digits), "%.0f", n < 0 ? 0 : n);
	nd = strlen(digits);
	for (i = 0; i < nd && used + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			out[used++] = ',';
		out[used++] = digits[i];
	}
	out[used] = '\0';
}

/* A span for people: "4.7s" under a minute, else "1m30s". */
static void progress_span(int64_t ms, char *out, size_t len)
{
	if (ms < 60000)
		snprintf(out, len, "%.1fs", (double)ms / 1000.0);
	else
		duration_format((ms + 500) / 1000 * 1000, out, len);
}

/* The terminal's live line for job at p, without a newline:
 * "job: 12,345 done, 2,626/s, 43%, ETA 7s" (the part done and the time
 * left only when known, the time left only before the end). */
void progress_line(const char *job, const progress_point *p, char *out,
                   size_t len)
{
	char done[32], rate[32], eta[32] = "";
	int64_t left = progress_eta_ms(p);
	int n;

	progress_count((double)p->done, done, sizeof(done));
	progress_count(progress_rate(p), rate, sizeof(rate));
	n = snprintf(out, len, "%s: %s done, %s/s", job, done, rate);
	if (n < 0 || (size_t)n >= len || p->ppm < 0)
		return;
	if (p->ppm >= PROGRESS_WHOLE)
		left = -1;      /* all done: no time left to show */
	if (left >= 0)
		duration_format((left + 999) / 1000 * 1000, eta, sizeof(eta));
	snprintf(out + n, len - (size_t)n, ", %d%%%s%s",
	         (int)(p->ppm * 100 / PROGRESS_WHOLE), left >= 0 ? ", ETA "
	         : "", eta);
}

/* The line that ends the live line once job's run ended after took_ms,
 * p its last progress: "job: 20,000 done in 7.6s, 2,631/s". */
void progress_summary(const char *job, const progress_point *p,
                      int64_t took_ms, char *out, size_t len)
{
	char done[32], rate[32], span[32];

	progress_count((double)p->done, done, sizeof(done));
	progress_count(took_ms > 0 ? (double)p->done * 1000.0 / (double)took_ms
	               : 0, rate, sizeof(rate));
	progress_span(took_ms, span, sizeof(span));
	snprintf(out, len, "%s: %s done in %s, %s/s", job, done, span, rate);
}
