/* cron: parse schedules (cron expressions, @aliases, "every 1h") and find
 * their fire instants in a time zone.  Expressions are matched against
 * wall-clock time; tz_instant() turns a matching wall time into an instant,
 * which settles what happens when clocks change (see cron_next()). */
#include "cron.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "tz.h"

/* How far cron_next() looks before it says there is no next instant; far
 * enough for February 29 across a century year that is not a leap year. */
#define CRON_SEARCH_YEARS 8

/* The fields of an expression, in the order a 6-field one is written. */
enum { CRON_SEC, CRON_MIN, CRON_HOUR, CRON_DOM, CRON_MON, CRON_DOW,
       CRON_NFIELDS };

struct cron_expr {
	int64_t every;                  /* "every N": N seconds; else 0 */
	uint64_t bits[CRON_NFIELDS];    /* bit n: value n matches */
	bool dom_last;                  /* 'L': the last day of the month */
	bool dom_any, dow_any;          /* written '*' or '?' */
};

typedef struct {
	const char *name;               /* as error messages say it */
	int low, high;
	const char *const *names;       /* names of low, low + 1, ...; or NULL */
	const char *what;               /* what a value may be */
	bool day;                       /* '?' may stand for '*' */
	bool last;                      /* 'L' means the last day */
} cron_field;

static const char *const cron_months[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const cron_days[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const cron_field cron_fields[CRON_NFIELDS] = {
	{"second", 0, 59, NULL, "a number 0-59", false, false},
	{"minute", 0, 59, NULL, "a number 0-59", false, false},
	{"hour", 0, 23, NULL, "a number 0-23", false, false},
	{"day-of-month", 1, 31, NULL, "a number 1-31 or L", true, true},
	{"month", 1, 12, cron_months, "a month name (JAN-DEC) or 1-12",
	 false, false},
	{"day-of-week", 0, 7, cron_days, "a day name (SUN-SAT) or 0-7",
	 true, false},
};

static const struct {
	const char *alias;
	const char *expr;
} cron_aliases[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

#define CRON_NALIASES (sizeof(cron_aliases) / sizeof(cron_aliases[0]))

/* Reads one value (a number or, where the field has them, a name) from
 * the text at *p up to the next '-', '/' or end into *v and moves *p past
 * it.  Returns 0, or -1 with a message naming the field and the value. */
static int cron_value(const cron_field *f, const char *item, const char **p,
                      int *v, char *err, size_t errlen)
{
	size_t len = strcspn(*p, "-/"), i;
	const char *word = *p;
	long n = 0;

	if (len == 0) {
		snprintf(err, errlen, "%s field: '%s' is missing a value "
		         "(write e.g. 5, 1-5, */15 or 1,5,9)", f->name, item);
		return -1;
	}
	*p += len;
	for (i = 0; i < len && isdigit((unsigned char)word[i]); i++)
		if (n <= f->high)
			n = n * 10 + (word[i] - '0');
	if (i == len) {
		if (n < f->low || n > f->high) {
			snprintf(err, errlen, "%s field: '%.*s' is out of range "
			         "%d-%d", f->name, (int)len, word, f->low, f->high);
			return -1;
		}
		*v = (int)n;
		return 0;
	}
	for (i = 0; f->names != NULL && f->names[i] != NULL; i++)
		if (strlen(f->names[i]) == len &&
		    strncasecmp(word, f->names[i], len) == 0) {
			*v = f->low + (int)i;
			return 0;
		}
	snprintf(err, errlen, "%s field: '%.*s' is not %s", f->name, (int)len,
	         word, f->what);
	return -1;
}

/* Reads one item of a field's list ("*", "?", "L", "5", "1-5", with an
 * optional "/step") into *bits; *star says whether it was '*' or '?' with
 * no step but 1.  Returns 0, or -1 with a message. */
static int cron_item(const cron_field *f, const char *item, uint64_t *bits,
                     bool *last, bool *star, char *err, size_t errlen)
{
	const char *p = item;
	int lo, hi, step = 1, v;
	bool range = false;

	*star = false;
	if (f->last && (*p == 'L' || *p == 'l')) {
		if (strcasecmp(item, "L") != 0) {
			snprintf(err, errlen, "%s field: '%s' is not supported; "
			         "write L alone for the last day of the month",
			         f->name, item);
			return -1;
		}
		*last = true;
		return 0;
	}
	if (*p == '*' || (f->day && *p == '?')) {
		lo = f->low;
		hi = f->high;
		*star = true;
		p++;
	} else {
		if (cron_value(f, item, &p, &lo, err, errlen) != 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			range = true;
			if (cron_value(f, item, &p, &hi, err, errlen) != 0)
				return -1;
			/* "FRI-SUN" ends on the Sunday numbered 7. */
			if (f == &cron_fields[CRON_DOW] && hi == 0 && lo > 0)
				hi = 7;
			if (hi < lo) {
				snprintf(err, errlen, "%s field: range '%s' runs "
				         "backwards; write the smaller value first",
				         f->name, item);
				return -1;
			}
		}
	}
	if (*p == '/') {
		const char *s = ++p;
		int span = f->high - f->low + 1;
		size_t len = strspn(s, "0123456789");

		if (len == 0 || s[len] != '\0') {
			snprintf(err, errlen, "%s field: step '%s' in '%s' is not "
			         "a number 1-%d", f->name, s, item, span);
			return -1;
		}
		for (step = 0; *p; p++)
			if (step <= span)
				step = step * 10 + (*p - '0');
		if (step < 1 || step > span) {
			snprintf(err, errlen, "%s field: step '%s' in '%s' is out "
			         "of range 1-%d%s", f->name, s, item, span,
			         f->names || f->day ? "" : "; for longer intervals "
			         "write e.g. 'every 90m'");
			return -1;
		}
		/* "5/15" is "5-max/15". */
		if (!*star && !range)
			hi = f->high;
		if (step > 1)
			*star = false;
	}
	if (*p != '\0') {
		snprintf(err, errlen, "%s field: cannot read '%s' (write e.g. 5, "
		         "1-5, */15 or 1,5,9)", f->name, item);
		return -1;
	}
	for (v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

/* Reads field i of a cron expression, a comma-separated list written in
 * text (which it cuts up), into e.  Returns 0, or -1 with a message. */
static int cron_field_parse(cron_expr *e, int i, char *text, char *err,
                            size_t errlen)
{
	const cron_field *f = &cron_fields[i];
	char *item = text, *comma;
	int items = 0;
	bool star = false;

	for (;;) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*item == '\0') {
			snprintf(err, errlen, "%s field: the list has an empty "
			         "item", f->name);
			return -1;
		}
		if (cron_item(f, item, &e->bits[i], &e->dom_last, &star, err,
		              errlen) != 0)
			return -1;
		items++;
		if (comma == NULL)
			break;
		item = comma + 1;
	}
	if (i == CRON_DOM)
		e->dom_any = items == 1 && star;
	if (i == CRON_DOW) {
		e->dow_any = items == 1 && star;
		/* 7 is Sunday too. */
		if (e->bits[i] & (UINT64_C(1) << 7))
			e->bits[i] = (e->bits[i] & ~(UINT64_C(1) << 7)) | 1;
	}
	return 0;
}

/* Reads the interval of "every DURATION" (text, of which dur is the part
 * after the word) into e.  Returns 0, or -1 with a message. */
static int cron_every_parse(cron_expr *e, const char *text, const char *dur,
                            char *err, size_t errlen)
{
	int64_t ms;
	char derr[256];

	while (isspace((unsigned char)*dur))
		dur++;
	if (duration_parse(dur, &ms, derr, sizeof(derr)) != 0) {
		snprintf(err, errlen, "interval '%s': %s", text, derr);
		return -1;
	}
	if (ms < 1000 || ms % 1000 != 0) {
		snprintf(err, errlen, "interval '%s' must be a whole number of "
		         "seconds, at least 1s", text);
		return -1;
	}
	e->every = ms / 1000;
	return 0;
}

/* Reads the fields of a cron expression (5, or 6 with seconds first),
 * which it cuts up in text, into e.  Returns 0, or -1 with a message. */
static int cron_fields_parse(cron_expr *e, char *text, char *err,
                             size_t errlen)
{
	char *tok[CRON_NFIELDS + 1];
	char *p = text;
	int n = 0, i;

	while (*p) {
		if (isspace((unsigned char)*p)) {
			*p++ = '\0';
			continue;
		}
		if (n <= CRON_NFIELDS)
			tok[n] = p;
		n++;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	if (n != 5 && n != 6) {
		snprintf(err, errlen, "expected 5 or 6 fields, got %d (minute "
		         "hour day-of-month month day-of-week, optionally with "
		         "seconds first; or @daily, or 'every 1h')", n);
		return -1;
	}
	if (n == 5)
		e->bits[CRON_SEC] = 1;
	for (i = 0; i < n; i++)
		if (cron_field_parse(e, i + CRON_NFIELDS - n, tok[i], err,
		                     errlen) != 0)
			return -1;
	return 0;
}

/* Parses a schedule: a cron expression of 5 fields (minute hour
 * day-of-month month day-of-week) or 6 (seconds first); an alias such as
 * @daily; or an interval "every 90s".  Returns 0 with a new *out (free with
 * cron_free()), or -1 with *out NULL and a message naming the field, the
 * bad token and what is allowed. */
int cron_parse(const char *text, cron_expr **out, char *err, size_t errlen)
{
	cron_expr *e = NULL;
	char *copy = NULL, *p, *end;
	size_t i;
	int rc = -1;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	copy = strdup(text);
	if (e == NULL || copy == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (p = copy; isspace((unsigned char)*p); p++)
		;
	for (end = p + strlen(p); end > p && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	if (*p == '\0') {
		snprintf(err, errlen, "empty schedule: write a cron expression "
		         "such as '0 3 * * *', an alias such as @daily, or an "
		         "interval such as 'every 1h'");
		goto out;
	}
	if (*p == '@') {
		for (i = 0; i < CRON_NALIASES; i++)
			if (strcasecmp(p, cron_aliases[i].alias) == 0)
				break;
		if (i == CRON_NALIASES) {
			snprintf(err, errlen, "unknown alias '%s'; use @yearly, "
			         "@annually, @monthly, @weekly, @daily, @midnight "
			         "or @hourly", p);
			goto out;
		}
		free(copy);
		if ((copy = strdup(cron_aliases[i].expr)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		p = copy;
	}
	if (strncasecmp(p, "every", 5) == 0 &&
	    (p[5] == '\0' || isspace((unsigned char)p[5])))
		rc = cron_every_parse(e, p, p + 5, err, errlen);
	else
		rc = cron_fields_parse(e, p, err, errlen);
out:
	free(copy);
	if (rc == 0)
		*out = e;
	else
		free(e);
	return rc;
}

/* Frees e; NULL is a no-op. */
void cron_free(cron_expr *e)
{
	free(e);
}

/* ---- evaluation ---- */

/* A wall-clock time, one int per unit, largest first. */
enum { CRON_W_YEAR, CRON_W_MON, CRON_W_DAY, CRON_W_HOUR, CRON_W_MIN,
       CRON_W_SEC, CRON_W_N };

/* The smallest value of each unit (months and days count from 1). */
static const int cron_w_low[CRON_W_N] = {0, 1, 1, 0, 0, 0};

/* Number of days in month m (1-12) of year y. */
static int cron_mdays(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Day of the week (0 = Sunday) of y-m-d in the Gregorian calendar. */
static int cron_wday(int y, int m, int d)
{
	static const int t[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};

	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* True when day w[DAY] of its month matches: with Vixie cron, when both
 * day-of-month and day-of-week are restricted either may match, else
 * both must. */
static bool cron_day_ok(const cron_expr *e, const int *w)
{
	int y = w[CRON_W_YEAR], m = w[CRON_W_MON], d = w[CRON_W_DAY];
	bool dom = ((e->bits[CRON_DOM] >> d) & 1) ||
	           (e->dom_last && d == cron_mdays(y, m));
	bool dow = (e->bits[CRON_DOW] >> cron_wday(y, m, d)) & 1;

	if (e->dom_any || e->dow_any)
		return dom && dow;
	return dom || dow;
}

/* Sets unit u of w to v and every smaller unit to its smallest value. */
static void cron_w_set(int *w, int u, int v)
{
	w[u] = v;
	for (u++; u < CRON_W_N; u++)
		w[u] = cron_w_low[u];
}

/* The smallest n with from <= n <= high whose bit is set in bits, or -1. */
static int cron_bit_from(uint64_t bits, int from, int high)
{
	for (; from <= high; from++)
		if ((bits >> from) & 1)
			return from;
	return -1;
}

/* Moves the wall time w (which may hold one unit past its range, e.g.
 * minute 60) forward to the first one at or after it that e matches.
 * Returns 0, or -1 when there is none up to the end of year last. */
static int cron_w_match(const cron_expr *e, int *w, int last)
{
	const uint64_t bits[CRON_W_N] = {0, e->bits[CRON_MON], 0,
	                                 e->bits[CRON_HOUR], e->bits[CRON_MIN],
	                                 e->bits[CRON_SEC]};
	static const int high[CRON_W_N] = {0, 12, 31, 23, 59, 59};
	int u = CRON_W_MON, n;

	while (w[CRON_W_YEAR] <= last) {
		if (u == CRON_W_N)
			return 0;
		if (u == CRON_W_DAY) {
			if (w[u] > cron_mdays(w[CRON_W_YEAR], w[CRON_W_MON])) {
				cron_w_set(w, CRON_W_MON, w[CRON_W_MON] + 1);
				u = CRON_W_MON;
			} else if (!cron_day_ok(e, w)) {
				cron_w_set(w, u, w[u] + 1);
			} else {
				u++;
			}
			continue;
		}
		n = cron_bit_from(bits[u], w[u], high[u]);
		if (n < 0) {
			/* Carry into the next larger unit and check it again. */
			cron_w_set(w, u - 1, w[u - 1] + 1);
			u = u - 1 == CRON_W_YEAR ? CRON_W_MON : u - 1;
			continue;
		}
		if (n != w[u])
			cron_w_set(w, u, n);
		u++;
	}
	return -1;
}

/* The first fire instant strictly after `after`, matching wall-clock times
 * in zone tz (IANA name; NULL or "UTC" for UTC).  A wall time that a
 * spring-forward jump skips fires once, at the jump; one repeated when
 * clocks go back fires once, at its first occurrence.  An interval fires at
 * the multiples of its length since the Unix epoch, whatever the zone.
 * Returns 0 and *next, or -1 when there is none within CRON_SEARCH_YEARS
 * years (e.g. "0 0 30 2 *"). */
int cron_next(const cron_expr *e, const char *tz, time_t after, time_t *next)
{
	struct tm tm;
	int w[CRON_W_N], last;

	if (e->every > 0) {
		time_t q = after / e->every - (after % e->every < 0);
		*next = (q + 1) * e->every;
		return 0;
	}
	/* Every wall time up to that of `after` was already reached at or
	 * before it (or skipped by a jump no later than it). */
	tz_local(tz, after, &tm);
	w[CRON_W_YEAR] = tm.tm_year + 1900;
	w[CRON_W_MON] = tm.tm_mon + 1;
	w[CRON_W_DAY] = tm.tm_mday;
	w[CRON_W_HOUR] = tm.tm_hour;
	w[CRON_W_MIN] = tm.tm_min;
	w[CRON_W_SEC] = tm.tm_sec + 1;
	last = w[CRON_W_YEAR] + CRON_SEARCH_YEARS;
	for (;;) {
		time_t t;

		if (cron_w_match(e, w, last) != 0)
			return -1;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = w[CRON_W_YEAR] - 1900;
		tm.tm_mon = w[CRON_W_MON] - 1;
		tm.tm_mday = w[CRON_W_DAY];
		tm.tm_hour = w[CRON_W_HOUR];
		tm.tm_min = w[CRON_W_MIN];
		tm.tm_sec = w[CRON_W_SEC];
		t = tz_instant(tz, &tm, NULL);
		/* Not so only in the second pass through an hour repeated
		 * when clocks went back: its times ran in the first. */
		if (t > after) {
			*next = t;
			return 0;
		}
		w[CRON_W_SEC]++;
	}
}

/* The latest fire instant t with since < t <= at, found by bisection on
 * cron_next() (the first instant after x only grows with x).  Returns 0
 * and *prev, or -1 when there is none. */
int cron_prev(const cron_expr *e, const char *tz, time_t since, time_t at,
              time_t *prev)
{
	time_t lo = since, hi = at, t;

	if (since >= at || cron_next(e, tz, since, &t) != 0 || t > at)
		return -1;
	/* cron_next(lo) <= at; cron_next(hi) > at. */
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (cron_next(e, tz, mid, &t) == 0 && t <= at)
			lo = mid;
		else
			hi = mid;
	}
	return cron_next(e, tz, lo, prev);
}

/* Seconds from the fire instant following `after` to the one after it
 * (the job's period); 0 when there is no such pair. */
int64_t cron_period(const cron_expr *e, const char *tz, time_t after)
{
	time_t a, b;

	if (cron_next(e, tz, after, &a) != 0 || cron_next(e, tz, a, &b) != 0)
		return 0;
	return (int64_t)(b - a);
}

/* True when e matches no date at all ("0 0 30 2 *", "0 0 31 4 *"): a
 * date matching once matches again within CRON_SEARCH_YEARS years of any
 * instant (February 29 included), so searching from any one instant
 * settles it; the zone does not matter, a skipped wall time still fires. */
bool cron_never(const cron_expr *e)
{
	time_t next;

	return cron_next(e, "UTC", 0, &next) != 0;
}
