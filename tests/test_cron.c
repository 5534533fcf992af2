/* Tests of the schedule parser and evaluator (cron) and of the time-zone
 * conversions under it (tz).  Expected instants in the tables were
 * computed independently with GNU date, e.g.
 *   TZ=Europe/Berlin date -u -d 'TZ="Europe/Berlin" 2026-03-30 02:30' +%FT%TZ
 * and, for the skipped hour of spring forward, as the first wall time after
 * the gap (03:00 local). */
#include "testutil.h"

#include <stdio.h>
#include <time.h>

#include "cron.h"
#include "tz.h"

/* The instant written as 2026-11-22T03:00:00Z. */
static time_t iso(const char *text)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		fail_msg("bad test time '%s'", text);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* t written as iso() reads it, into out. */
static const char *iso_text(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/* The parsed expression, failing the test when text does not parse. */
static cron_expr *parse_ok(const char *text)
{
	cron_expr *e = NULL;
	char err[256] = "";

	if (cron_parse(text, &e, err, sizeof(err)) != 0)
		fail_msg("schedule '%s' refused: %s", text, err);
	return e;
}

/* ---- cron_next: the table ---- */

typedef struct {
	const char *expr;
	const char *zone;
	const char *after;
	const char *next;   /* NULL: no next instant */
} next_row;

static const next_row next_rows[] = {
	/* every minute, every second, steps */
	{"* * * * *", "UTC", "2026-05-10T12:34:56Z", "2026-05-10T12:35:00Z"},
	{"* * * * *", "UTC", "2026-05-10T12:35:00Z", "2026-05-10T12:36:00Z"},
	{"* * * * * *", "UTC", "2026-05-10T12:34:56Z", "2026-05-10T12:34:57Z"},
	{"* * * * * *", "UTC", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
	{"*/15 * * * *", "UTC", "2026-05-10T12:34:56Z", "2026-05-10T12:45:00Z"},
	{"*/15 * * * *", "UTC", "2026-05-10T23:50:00Z", "2026-05-11T00:00:00Z"},
	/* UTC, with and without the zone named; seconds field */
	{"0 3 * * *", "UTC", "2026-11-21T10:00:00Z", "2026-11-22T03:00:00Z"},
	{"0 3 * * *", "UTC", "2026-11-22T02:59:59Z", "2026-11-22T03:00:00Z"},
	{"0 3 * * *", "UTC", "2026-11-22T03:00:00Z", "2026-11-23T03:00:00Z"},
	{"30 0 3 * * *", "UTC", "2026-11-22T03:00:00Z", "2026-11-22T03:00:30Z"},
	{"30 0 3 * * *", "UTC", "2026-11-22T03:00:30Z", "2026-11-23T03:00:30Z"},
	{"0 3 * * *", NULL, "2026-11-21T10:00:00Z", "2026-11-22T03:00:00Z"},
	/* month ends, Feb 29, days that never come */
	{"0 0 31 * *", "UTC", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"},
	{"0 0 31 * *", "UTC", "2026-05-31T12:00:00Z", "2026-07-31T00:00:00Z"},
	{"0 0 L * *", "UTC", "2028-02-01T00:00:00Z", "2028-02-29T00:00:00Z"},
	{"0 0 L * *", "UTC", "2027-02-01T00:00:00Z", "2027-02-28T00:00:00Z"},
	{"0 0 L * *", "UTC", "2026-04-30T00:00:00Z", "2026-05-31T00:00:00Z"},
	{"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
	{"0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", NULL},
	{"0 0 31 4,6,9,11 *", "Europe/Berlin", "2026-01-01T00:00:00Z", NULL},
	/* day-of-month and day-of-week: either when both are restricted */
	{"0 0 1 * MON", "UTC", "2026-06-29T00:00:00Z", "2026-07-01T00:00:00Z"},
	{"0 0 1 * MON", "UTC", "2026-07-01T00:00:00Z", "2026-07-06T00:00:00Z"},
	{"0 0 * * MON", "UTC", "2026-06-29T00:00:00Z", "2026-07-06T00:00:00Z"},
	{"0 0 1 * *", "UTC", "2026-06-29T00:00:00Z", "2026-07-01T00:00:00Z"},
	{"0 0 * * 0", "UTC", "2026-07-01T00:00:00Z", "2026-07-05T00:00:00Z"},
	{"0 0 * * 7", "UTC", "2026-07-01T00:00:00Z", "2026-07-05T00:00:00Z"},
	{"0 0 * * 5-7", "UTC", "2026-07-04T12:00:00Z", "2026-07-05T00:00:00Z"},
	{"0 0 * * FRI-SUN", "UTC", "2026-07-05T12:00:00Z", "2026-07-10T00:00:00Z"},
	/* names, lists, ranges with steps */
	{"0 0 1 JAN *", "UTC", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	{"0 9 * * MON-FRI", "UTC", "2026-07-03T09:00:00Z", "2026-07-06T09:00:00Z"},
	{"0 9 * * mon-fri", "UTC", "2026-07-02T10:00:00Z", "2026-07-03T09:00:00Z"},
	{"0 12 ? * SAT", "UTC", "2026-07-01T00:00:00Z", "2026-07-04T12:00:00Z"},
	{"0 0 12 * * Sun", "UTC", "2026-07-05T12:00:00Z", "2026-07-12T12:00:00Z"},
	{"0 0 1 jun-aug/2 *", "UTC",
	 "2026-06-15T00:00:00Z", "2026-08-01T00:00:00Z"},
	{"10-50/20 * * * *", "UTC", "2026-07-01T10:11:00Z", "2026-07-01T10:30:00Z"},
	{"10-50/20 * * * *", "UTC", "2026-07-01T10:50:00Z", "2026-07-01T11:10:00Z"},
	{"5/15 * * * *", "UTC", "2026-07-01T10:51:00Z", "2026-07-01T11:05:00Z"},
	{"0 0-12/6 * * *", "UTC", "2026-07-01T06:00:00Z", "2026-07-01T12:00:00Z"},
	{"0 0-12/6 * * *", "UTC", "2026-07-01T12:00:00Z", "2026-07-02T00:00:00Z"},
	{"0 8,12,18 * * *", "UTC", "2026-07-01T12:00:00Z", "2026-07-01T18:00:00Z"},
	/* aliases */
	{"@yearly", "UTC", "2026-07-01T10:11:00Z", "2027-01-01T00:00:00Z"},
	{"@annually", "UTC", "2026-07-01T10:11:00Z", "2027-01-01T00:00:00Z"},
	{"@monthly", "UTC", "2026-07-01T10:11:00Z", "2026-08-01T00:00:00Z"},
	{"@weekly", "UTC", "2026-07-01T10:11:00Z", "2026-07-05T00:00:00Z"},
	{"@daily", "UTC", "2026-07-01T10:11:00Z", "2026-07-02T00:00:00Z"},
	{"@midnight", "UTC", "2026-07-01T10:11:00Z", "2026-07-02T00:00:00Z"},
	{"@hourly", "UTC", "2026-07-01T10:11:00Z", "2026-07-01T11:00:00Z"},
	/* other zones */
	{"0 3 * * *", "Europe/Berlin",
	 "2026-07-01T10:11:00Z", "2026-07-02T01:00:00Z"},
	{"0 0 1 * *", "Asia/Tokyo", "2026-06-30T12:00:00Z", "2026-06-30T15:00:00Z"},
	/* Europe/Berlin springs forward 2026-03-29 at 01:00Z, 02:00 -> 03:00:
	 * skipped times run once, at the jump */
	{"30 2 * * *", "Europe/Berlin",
	 "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
	{"30 2 * * *", "Europe/Berlin",
	 "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
	{"*/15 2 * * *", "Europe/Berlin",
	 "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
	{"*/15 2 * * *", "Europe/Berlin",
	 "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"},
	{"0 * * * *", "Europe/Berlin",
	 "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"},
	{"0 * * * *", "Europe/Berlin",
	 "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
	/* ... and falls back 2026-10-25 at 01:00Z, 03:00 -> 02:00: repeated
	 * times run once, at their first occurrence (CEST) */
	{"30 2 * * *", "Europe/Berlin",
	 "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
	{"30 2 * * *", "Europe/Berlin",
	 "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
	{"30 2 * * *", "Europe/Berlin",
	 "2026-10-25T01:10:00Z", "2026-10-26T01:30:00Z"},
	{"0 * * * *", "Europe/Berlin",
	 "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z"},
	{"0 * * * *", "Europe/Berlin",
	 "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"},
	/* America/New_York: 2026-03-08 02:00 -> 03:00 at 07:00Z; 2026-11-01
	 * 02:00 -> 01:00 at 06:00Z */
	{"30 2 * * *", "America/New_York",
	 "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
	{"30 2 * * *", "America/New_York",
	 "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
	{"30 1 * * *", "America/New_York",
	 "2026-03-07T12:00:00Z", "2026-03-08T06:30:00Z"},
	{"30 1 * * *", "America/New_York",
	 "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
	{"30 1 * * *", "America/New_York",
	 "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
	{"30 2 * * *", "America/New_York",
	 "2026-10-31T12:00:00Z", "2026-11-01T07:30:00Z"},
	/* intervals: multiples of N seconds since the epoch, in any zone */
	{"every 90s", "UTC", "2026-07-01T10:11:00Z", "2026-07-01T10:12:00Z"},
	{"every 90s", "Europe/Berlin",
	 "2026-07-01T10:11:00Z", "2026-07-01T10:12:00Z"},
	{"every 1h", "Asia/Kathmandu",
	 "2026-07-01T10:11:00Z", "2026-07-01T11:00:00Z"},
	{"every 1h30m", "UTC", "2026-07-01T10:11:00Z", "2026-07-01T10:30:00Z"},
	{"every 90s", "UTC", "2026-07-01T10:10:30Z", "2026-07-01T10:12:00Z"},
};

#define NEXT_NROWS (sizeof(next_rows) / sizeof(next_rows[0]))

static void next_table(void **state)
{
	size_t i;

	(void)state;
	assert_true(NEXT_NROWS >= 40);
	for (i = 0; i < NEXT_NROWS; i++) {
		const next_row *r = &next_rows[i];
		cron_expr *e = parse_ok(r->expr);
		time_t next = 0;
		int rc = cron_next(e, r->zone, iso(r->after), &next);
		const char *zone = r->zone ? r->zone : "NULL";
		char got[32] = "none";

		cron_free(e);
		if (rc == 0)
			iso_text(next, got, sizeof(got));
		if (r->next == NULL ? rc != -1 :
		    rc != 0 || next != iso(r->next))
			fail_msg("row %zu: '%s' in %s after %s: expected %s, "
			         "got %s", i, r->expr, zone, r->after,
			         r->next ? r->next : "none", got);
	}
}

/* The n instants that follow `after`, one cron_next() from the other,
 * must be want. */
static void sequence(const char *expr, const char *zone, const char *after,
                     const char *const *want, size_t n)
{
	cron_expr *e = parse_ok(expr);
	time_t t = iso(after);
	size_t i;
	char got[32];

	for (i = 0; i < n; i++) {
		if (cron_next(e, zone, t, &t) != 0)
			fail_msg("'%s': no instant %zu", expr, i);
		if (t != iso(want[i]))
			fail_msg("'%s' in %s: instant %zu is %s, expected %s",
			         expr, zone, i, iso_text(t, got, sizeof(got)),
			         want[i]);
	}
	cron_free(e);
}

static void next_skipped_times_run_once_at_the_jump(void **state)
{
	static const char *const want[] = {
		"2026-03-29T00:45:00Z", /* 01:45 CET */
		"2026-03-29T01:00:00Z", /* 02:00-02:45 skipped, and 03:00 */
		"2026-03-29T01:15:00Z", /* 03:15 CEST */
	};

	(void)state;
	sequence("*/15 1-3 * * *", "Europe/Berlin", "2026-03-29T00:30:00Z",
	         want, 3);
}

static void next_repeated_times_run_once(void **state)
{
	static const char *const want[] = {
		"2026-10-25T00:00:00Z", /* 02:00 CEST */
		"2026-10-25T00:30:00Z", /* 02:30 CEST */
		"2026-10-25T02:00:00Z", /* 03:00 CET; 02:00, 02:30 CET repeat */
		"2026-10-25T02:30:00Z",
	};

	(void)state;
	sequence("*/30 * * * *", "Europe/Berlin", "2026-10-24T23:45:00Z",
	         want, 4);
}

static void next_every_second_across_a_year_end(void **state)
{
	static const char *const want[] = {
		"2026-12-31T22:59:59Z", "2026-12-31T23:00:00Z",
		"2026-12-31T23:00:01Z",
	};

	(void)state;
	/* midnight in Berlin, an hour before UTC's */
	sequence("* * * * * *", "Europe/Berlin", "2026-12-31T22:59:58Z",
	         want, 3);
}

/* ---- cron_parse ---- */

static void parse_accepts_spacing_case_and_question_marks(void **state)
{
	static const char *const ok[] = {
		"  0\t3  * *   * ", "@DAILY", "Every 1h", "every 1h 30m",
		"0 0 ? * MON", "0 0 1 * ?", "*/1 * * * *", "0 0 l * *",
		"0 0 1,15,L * *", "0 0 * * 0-7", "59 59 23 31 12 6",
		"0 0 * DEC SAT", "0 0 * 1-12/3 *",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cron_free(parse_ok(ok[i]));
}

typedef struct {
	const char *expr;
	const char *message;   /* must occur in the error */
} error_row;

static const error_row error_rows[] = {
	{"0 25 * * *", "hour field: '25' is out of range 0-23"},
	{"60 * * * *", "minute field: '60' is out of range 0-59"},
	{"61 0 * * * *", "second field: '61' is out of range 0-59"},
	{"0 0 32 * *", "day-of-month field: '32' is out of range 1-31"},
	{"0 0 0 * *", "day-of-month field: '0' is out of range 1-31"},
	{"0 0 * 13 *", "month field: '13' is out of range 1-12"},
	{"0 0 * * 8", "day-of-week field: '8' is out of range 0-7"},
	{"0 0 * * FUNDAY",
	 "day-of-week field: 'FUNDAY' is not a day name (SUN-SAT) or 0-7"},
	{"0 0 * FOO *",
	 "month field: 'FOO' is not a month name (JAN-DEC) or 1-12"},
	{"0 MON * * *", "hour field: 'MON' is not a number 0-23"},
	{"? 0 * * *", "minute field: '?' is not a number 0-59"},
	{"0 0 x * *", "day-of-month field: 'x' is not a number 1-31 or L"},
	{"0 0 LW * *", "day-of-month field: 'LW' is not supported"},
	{"0 0 L-2 * *", "day-of-month field: 'L-2' is not supported"},
	{"0 0 * * MON-", "day-of-week field: 'MON-' is missing a value"},
	{"50-10 * * * *", "minute field: range '50-10' runs backwards"},
	{"0 0 * * TUE-MON", "day-of-week field: range 'TUE-MON' runs backwards"},
	{"*/0 * * * *", "minute field: step '0' in '*/0' is out of range 1-60"},
	{"0 */25 * * *", "hour field: step '25' in '*/25' is out of range 1-24"},
	{"*/x * * * *", "minute field: step 'x' in '*/x' is not a number"},
	{"1,,2 * * * *", "minute field: the list has an empty item"},
	{"0 0 * * *x", "day-of-week field: cannot read '*x'"},
	{"0 0 * *", "expected 5 or 6 fields, got 4"},
	{"0 0 0 0 * * *", "expected 5 or 6 fields, got 7"},
	{"", "empty schedule"},
	{"@reboot", "unknown alias '@reboot'"},
	{"every", "interval 'every': empty duration"},
	{"every 5x", "interval 'every 5x'"},
	{"every 500ms", "interval 'every 500ms' must be a whole number of "
	                "seconds, at least 1s"},
	{"every 1500ms", "whole number of seconds"},
	{"every 0s", "at least 1s"},
};

static void parse_errors_name_field_and_token(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++) {
		cron_expr *e = (cron_expr *)&e;   /* must become NULL */
		char err[256] = "";

		if (cron_parse(error_rows[i].expr, &e, err, sizeof(err)) != -1)
			fail_msg("schedule '%s' accepted", error_rows[i].expr);
		assert_null(e);
		assert_contains(err, error_rows[i].message);
	}
}

/* ---- cron_prev, cron_period ---- */

static void prev_finds_the_latest_in_the_window(void **state)
{
	cron_expr *daily = parse_ok("0 3 * * *");
	cron_expr *every = parse_ok("every 90s");
	cron_expr *second = parse_ok("* * * * * *");
	cron_expr *dst = parse_ok("30 2 * * *");
	cron_expr *never = parse_ok("0 0 30 2 *");
	time_t t = 0;

	(void)state;
	assert_int_equal(cron_prev(daily, "UTC", iso("2026-11-21T00:00:00Z"),
	                           iso("2026-11-22T10:00:00Z"), &t), 0);
	assert_true(t == iso("2026-11-22T03:00:00Z"));
	/* `at` is in the window, `since` is not */
	assert_int_equal(cron_prev(daily, NULL, iso("2026-11-01T00:00:00Z"),
	                           iso("2026-11-22T03:00:00Z"), &t), 0);
	assert_true(t == iso("2026-11-22T03:00:00Z"));
	assert_int_equal(cron_prev(daily, NULL, iso("2026-11-22T03:00:00Z"),
	                           iso("2026-11-22T10:00:00Z"), &t), -1);
	/* a window too short to hold a run */
	assert_int_equal(cron_prev(daily, "UTC", iso("2026-11-22T04:00:00Z"),
	                           iso("2026-11-23T02:59:59Z"), &t), -1);
	assert_int_equal(cron_prev(every, "Europe/Berlin",
	                           iso("2026-07-01T10:00:00Z"),
	                           iso("2026-07-01T10:11:00Z"), &t), 0);
	assert_true(t == iso("2026-07-01T10:10:30Z"));
	assert_int_equal(cron_prev(second, "Europe/Berlin",
	                           iso("2020-01-01T00:00:00Z"),
	                           iso("2026-07-01T10:11:00Z"), &t), 0);
	assert_true(t == iso("2026-07-01T10:11:00Z"));
	/* the run of a skipped 02:30 is the jump */
	assert_int_equal(cron_prev(dst, "Europe/Berlin",
	                           iso("2026-03-28T12:00:00Z"),
	                           iso("2026-03-30T00:00:00Z"), &t), 0);
	assert_true(t == iso("2026-03-29T01:00:00Z"));
	assert_int_equal(cron_prev(never, "UTC", iso("2026-01-01T00:00:00Z"),
	                           iso("2030-01-01T00:00:00Z"), &t), -1);
	cron_free(daily);
	cron_free(every);
	cron_free(second);
	cron_free(dst);
	cron_free(never);
}

/* The period of expr in zone after the instant written as after. */
static int64_t period(const char *expr, const char *zone, const char *after)
{
	cron_expr *e = parse_ok(expr);
	int64_t p = cron_period(e, zone, iso(after));

	cron_free(e);
	return p;
}

static void period_is_the_gap_between_two_runs(void **state)
{
	(void)state;
	assert_int_equal(period("0 3 * * *", "UTC", "2026-07-01T10:11:00Z"),
	                 86400);
	assert_int_equal(period("every 90s", "Europe/Berlin",
	                        "2026-07-01T10:11:00Z"), 90);
	assert_int_equal(period("*/15 * * * *", NULL, "2026-07-01T10:11:00Z"),
	                 900);
	assert_int_equal(period("@weekly", "UTC", "2026-07-01T10:11:00Z"),
	                 7 * 86400);
	/* 02:30 skipped on 2026-03-29: the jump at 01:00Z to 00:30Z */
	assert_int_equal(period("30 2 * * *", "Europe/Berlin",
	                        "2026-03-28T12:00:00Z"), 84600);
	assert_int_equal(period("0 0 30 2 *", "UTC", "2026-07-01T10:11:00Z"),
	                 0);
}

/* ---- tz ---- */

static void tz_valid_knows_installed_zones_only(void **state)
{
	(void)state;
	assert_true(tz_valid("UTC"));
	assert_true(tz_valid("Etc/UTC"));
	assert_true(tz_valid("Europe/Berlin"));
	assert_true(tz_valid("America/New_York"));
	assert_false(tz_valid("zone.tab"));
	assert_false(tz_valid("Mars/Base"));
	assert_false(tz_valid("Europe"));
	assert_false(tz_valid(""));
	assert_false(tz_valid(NULL));
	assert_false(tz_valid("/usr/share/zoneinfo/UTC"));
	assert_false(tz_valid("../zoneinfo/UTC"));
	assert_false(tz_valid("Europe/../UTC"));
}

/* The instant tz_instant() gives for the wall time y-m-d h:mi in zone;
 * tm_isdst and tm_wday are set to nonsense, which it must ignore. */
static time_t instant(const char *zone, int y, int m, int d, int h, int mi,
                      int *skipped)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = 1;
	tm.tm_wday = 9;
	return tz_instant(zone, &tm, skipped);
}

static void tz_instant_picks_the_earliest_or_the_jump(void **state)
{
	int skipped = -1;

	(void)state;
	assert_true(instant("UTC", 2026, 7, 1, 12, 0, &skipped) ==
	            iso("2026-07-01T12:00:00Z"));
	assert_int_equal(skipped, 0);
	assert_true(instant("Europe/Berlin", 2026, 7, 1, 12, 0, &skipped) ==
	            iso("2026-07-01T10:00:00Z"));
	assert_true(instant("Europe/Berlin", 2026, 1, 15, 12, 0, &skipped) ==
	            iso("2026-01-15T11:00:00Z"));
	assert_int_equal(skipped, 0);
	assert_true(instant("Europe/Berlin", 2026, 3, 29, 2, 30, &skipped) ==
	            iso("2026-03-29T01:00:00Z"));
	assert_int_equal(skipped, 1);
	assert_true(instant("Europe/Berlin", 2026, 10, 25, 2, 30, &skipped) ==
	            iso("2026-10-25T00:30:00Z"));
	assert_int_equal(skipped, 0);
	assert_true(instant("America/New_York", 2026, 11, 1, 1, 30,
	                    &skipped) == iso("2026-11-01T05:30:00Z"));
	assert_true(instant("America/New_York", 2026, 3, 8, 2, 0, &skipped) ==
	            iso("2026-03-08T07:00:00Z"));
	assert_int_equal(skipped, 1);
	/* +05:45, no DST */
	assert_true(instant("Asia/Kathmandu", 2026, 7, 1, 12, 0, &skipped) ==
	            iso("2026-07-01T06:15:00Z"));
	assert_true(instant("Asia/Kathmandu", 2026, 7, 1, 12, 0, NULL) ==
	            iso("2026-07-01T06:15:00Z"));
}

static void tz_local_switches_zones(void **state)
{
	struct tm tm;

	(void)state;
	tz_local("Europe/Berlin", iso("2026-10-25T00:30:00Z"), &tm);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_isdst, 1);
	tz_local("Asia/Tokyo", iso("2026-10-25T00:30:00Z"), &tm);
	assert_int_equal(tm.tm_hour, 9);
	tz_local("Europe/Berlin", iso("2026-10-25T01:30:00Z"), &tm);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_isdst, 0);
	tz_local(NULL, iso("2026-10-25T01:30:00Z"), &tm);
	assert_int_equal(tm.tm_hour, 1);
	assert_int_equal(tm.tm_mday, 25);
	assert_int_equal(tm.tm_wday, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(next_table),
		cmocka_unit_test(next_skipped_times_run_once_at_the_jump),
		cmocka_unit_test(next_repeated_times_run_once),
		cmocka_unit_test(next_every_second_across_a_year_end),
		cmocka_unit_test(parse_accepts_spacing_case_and_question_marks),
		cmocka_unit_test(parse_errors_name_field_and_token),
		cmocka_unit_test(prev_finds_the_latest_in_the_window),
		cmocka_unit_test(period_is_the_gap_between_two_runs),
		cmocka_unit_test(tz_valid_knows_installed_zones_only),
		cmocka_unit_test(tz_instant_picks_the_earliest_or_the_jump),
		cmocka_unit_test(tz_local_switches_zones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
