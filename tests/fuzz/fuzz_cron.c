/* fuzz_cron: libFuzzer target for the schedule evaluator.  An input is
 * text of up to three lines:
 *
 *   SCHEDULE          what a job's schedule = holds
 *   ZONE              a number; modulo 6 it picks a zone of fuzz_zones
 *   INSTANT           seconds since the epoch, folded into 1900..2199
 *
 * (a missing ZONE is 0, a missing INSTANT 2026-03-29T00:30:00Z).  The
 * schedule goes through cron_parse(); one that parses is evaluated around
 * the instant with cron_next(), cron_prev() and cron_period(), and the
 * answers must agree with one another (fuzz_check_* below); a
 * disagreement is a crash (__builtin_trap()), after a line on stderr
 * saying which rule broke. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

/* Zones with the kinds of clock change there are: none, a one-hour
 * daylight saving time either side of the equator's seasons, a half-hour
 * one (Lord Howe), one at a quarter-hour offset (Chatham, +12:45), and a
 * quarter-hour offset without any (Kathmandu, +05:45). */
static const char *const fuzz_zones[] = {
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Pacific/Chatham", "Asia/Kathmandu",
};
#define FUZZ_NZONES (sizeof(fuzz_zones) / sizeof(fuzz_zones[0]))

/* The instants an input may start from: 1900-01-01 to 2199-12-31. */
#define FUZZ_T_MIN INT64_C(-2208988800)
#define FUZZ_T_MAX INT64_C(7258118399)
/* 2026-03-29T00:30:00Z, half an hour before Berlin springs forward. */
#define FUZZ_T_DEFAULT INT64_C(1774744200)
/* How far back cron_prev() is asked to look: 9 years, more than the
 * 8 years cron_next() searches ahead. */
#define FUZZ_PREV_SPAN (INT64_C(9) * 366 * 86400)
/* Schedules longer than this are cut (nothing real is near it). */
#define FUZZ_MAX_TEXT 1024

/* One input, split into its parts. */
typedef struct fuzz_input {
	char text[FUZZ_MAX_TEXT + 1];
	const char *zone;
	time_t t;
} fuzz_input;

/* Reports a broken rule with the input's parts, then crashes. */
static void fuzz_fail(const fuzz_input *in, const char *rule, long long a,
                      long long b)
{
	fprintf(stderr, "fuzz_cron: %s (%lld, %lld) for schedule '%s' in %s "
	        "from %lld\n", rule, a, b, in->text, in->zone,
	        (long long)in->t);
	__builtin_trap();
}

/* The unsigned decimal number at *p (wrapping, as only its value modulo
 * something is used), moving *p past it and one newline; 0 and *found = 0
 * when there are no digits. */
static uint64_t fuzz_number(const char **p, const char *end, int *found)
{
	uint64_t v = 0;

	*found = 0;
	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
		v = v * 10 + (uint64_t)(**p - '0');
		*found = 1;
	}
	if (*p < end && **p == '\n')
		(*p)++;
	return v;
}

/* Splits data into in; 0, or -1 when the schedule holds a NUL (which no
 * text read from a file can hold). */
static int fuzz_split(const uint8_t *data, size_t size, fuzz_input *in)
{
	const char *p = (const char *)data, *end = p + size;
	const char *nl = memchr(p, '\n', size);
	size_t len = nl ? (size_t)(nl - p) : size;
	uint64_t v;
	int found;

	if (memchr(p, '\0', len) != NULL)
		return -1;
	if (len > FUZZ_MAX_TEXT)
		len = FUZZ_MAX_TEXT;
	memcpy(in->text, p, len);
	in->text[len] = '\0';
	p = nl ? nl + 1 : end;
	v = fuzz_number(&p, end, &found);
	in->zone = fuzz_zones[found ? v % FUZZ_NZONES : 0];
	v = fuzz_number(&p, end, &found);
	in->t = found ? (time_t)(FUZZ_T_MIN + (int64_t)(v % (uint64_t)
	                         (FUZZ_T_MAX - FUZZ_T_MIN + 1)))
	              : (time_t)FUZZ_T_DEFAULT;
	return 0;
}

/* next(p) for the input's schedule and zone; 0, or -1 when there is none. */
static int fuzz_next(const cron_expr *e, const fuzz_input *in, time_t p,
                     time_t *out)
{
	return cron_next(e, in->zone, p, out);
}

/* Rule 1: n = next(t) lies after t, and every instant p with t <= p < n
 * has the same next (no instant between t and n is due, and next only
 * grows).  Probed at t, t + 1, n - 1, n - 2, the middle and the quarters. */
static void fuzz_check_next(const cron_expr *e, const fuzz_input *in,
                            time_t n)
{
	time_t span = n - in->t, probes[8], got;
	size_t i;

	if (n <= in->t)
		fuzz_fail(in, "next(t) is not after t", (long long)n, 0);
	probes[0] = in->t;
	probes[1] = in->t + 1;
	probes[2] = n - 1;
	probes[3] = n - 2;
	probes[4] = in->t + span / 2;
	probes[5] = in->t + span / 4;
	probes[6] = in->t + span / 4 * 3;
	probes[7] = n - span / 7;
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (probes[i] < in->t || probes[i] >= n)
			continue;
		if (fuzz_next(e, in, probes[i], &got) != 0 || got != n)
			fuzz_fail(in, "next(p) differs from next(t) for t <= p < "
			          "next(t)", (long long)probes[i], (long long)got);
	}
}

/* Rule 2: cron_prev() over (since, at] agrees with next: it is the latest
 * n with since < n <= at.  With n = next(t): prev(t, n) = n and
 * prev(t, n - 1) finds nothing; with n2 = next(n), prev(t, n2 - 1) = n and
 * prev(n, n2) = n2. */
static void fuzz_check_prev_of_next(const cron_expr *e,
                                    const fuzz_input *in, time_t n)
{
	time_t got, n2;

	if (cron_prev(e, in->zone, in->t, n, &got) != 0 || got != n)
		fuzz_fail(in, "prev(t, n) is not n = next(t)", (long long)n,
		          (long long)got);
	if (cron_prev(e, in->zone, in->t, n - 1, &got) == 0)
		fuzz_fail(in, "prev(t, next(t) - 1) found an instant",
		          (long long)n, (long long)got);
	if (fuzz_next(e, in, n, &n2) != 0)
		return;
	if (n2 <= n)
		fuzz_fail(in, "next(n) is not after n", (long long)n,
		          (long long)n2);
	if (cron_prev(e, in->zone, in->t, n2 - 1, &got) != 0 || got != n)
		fuzz_fail(in, "prev(t, next(n) - 1) is not n", (long long)n,
		          (long long)got);
	if (cron_prev(e, in->zone, n, n2, &got) != 0 || got != n2)
		fuzz_fail(in, "prev(n, next(n)) is not next(n)", (long long)n2,
		          (long long)got);
	if (cron_period(e, in->zone, in->t) != (int64_t)(n2 - n))
		fuzz_fail(in, "period(t) is not next(n) - n", (long long)(n2 - n),
		          (long long)cron_period(e, in->zone, in->t));
}

/* Rule 3: q = prev(t - span, t), when found, is a due instant in the
 * window (next(q - 1) = q) and the latest one (next(q) > t). */
static void fuzz_check_prev(const cron_expr *e, const fuzz_input *in)
{
	time_t since = in->t - (time_t)FUZZ_PREV_SPAN, q, got;

	if (cron_prev(e, in->zone, since, in->t, &q) != 0)
		return;
	if (q <= since || q > in->t)
		fuzz_fail(in, "prev(since, t) is outside (since, t]",
		          (long long)since, (long long)q);
	if (fuzz_next(e, in, q - 1, &got) != 0 || got != q)
		fuzz_fail(in, "prev(since, t) is not due: next(q - 1) != q",
		          (long long)q, (long long)got);
	if (fuzz_next(e, in, q, &got) == 0 && got <= in->t)
		fuzz_fail(in, "prev(since, t) is not the latest: next(q) <= t",
		          (long long)q, (long long)got);
}

/* Rule 4: the answer does not depend on the zone asked before (the time
 * zone module remembers the zone it set). */
static void fuzz_check_zone_switch(const cron_expr *e, const fuzz_input *in,
                                   int rc, time_t n)
{
	time_t other, again;
	size_t i;

	for (i = 0; i < FUZZ_NZONES; i++) {
		if (fuzz_zones[i] == in->zone)
			continue;
		(void)cron_next(e, fuzz_zones[i], in->t, &other);
		if (fuzz_next(e, in, in->t, &again) != rc ||
		    (rc == 0 && again != n))
			fuzz_fail(in, "next(t) changed after asking in another "
			          "zone", (long long)n, (long long)again);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz_input in;
	cron_expr *e = NULL;
	char err[512];
	time_t n;
	int rc;

	if (fuzz_split(data, size, &in) != 0)
		return 0;
	if (cron_parse(in.text, &e, err, sizeof(err)) != 0) {
		if (e != NULL || err[0] == '\0')
			fuzz_fail(&in, "a refused schedule without a message or "
			          "with an expression", 0, 0);
		return 0;
	}
	rc = fuzz_next(e, &in, in.t, &n);
	if (rc == 0) {
		fuzz_check_next(e, &in, n);
		fuzz_check_prev_of_next(e, &in, n);
	}
	fuzz_check_prev(e, &in);
	fuzz_check_zone_switch(e, &in, rc, n);
	cron_free(e);
	return 0;
}
