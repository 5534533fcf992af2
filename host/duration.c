/* duration: parse and print spans of time such as 90s, 15m, 36h, 30d, 6mo,
 * 3y.  A span is kept as PostgreSQL keeps an interval: calendar months,
 * days, and exact milliseconds, so that "1y" reaches the database as
 * "1 year" and PostgreSQL counts it on the calendar. */
#include "duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sweepd/plugin.h>

#define DURATION_MS_DAY 86400000LL
/* PostgreSQL's convention for an interval as one length: a month is 30
 * days, twelve months a year of 365.25 days. */
#define DURATION_MS_MONTH (30 * DURATION_MS_DAY)
#define DURATION_MS_YEAR 31557600000LL
/* PostgreSQL keeps an interval's months and days in 32 bits. */
#define DURATION_MAX_FIELD 2147483647LL
/* The longest span, SWEEP_DURATION_MAX_YEARS years of 365.25 days: now()
 * less it must stay within PostgreSQL's timestamps, which begin in
 * 4713 BC (now() - interval '2147483647 days' fails with "timestamp out
 * of range" although the interval itself is valid).  It also keeps the
 * span within PostgreSQL's interval (months and days in 32 bits, the time
 * in 64 bits of microseconds) and leaves room in an int64 of milliseconds
 * for a deadline. */
#define DURATION_MS_MAX (SWEEP_DURATION_MAX_YEARS * DURATION_MS_YEAR)

enum duration_part { DURATION_MS, DURATION_DAYS, DURATION_MONTHS };

static const struct {
	const char *unit;
	enum duration_part part;
	int64_t n;               /* of the part per unit */
} duration_units[] = {
	{"ms", DURATION_MS, 1},         {"s", DURATION_MS, 1000},
	{"m", DURATION_MS, 60000},      {"h", DURATION_MS, 3600000},
	{"d", DURATION_DAYS, 1},        {"w", DURATION_DAYS, 7},
	{"mo", DURATION_MONTHS, 1},     {"y", DURATION_MONTHS, 12},
};

#define DURATION_NUNITS (sizeof(duration_units) / sizeof(duration_units[0]))
#define DURATION_UNIT_LIST "ms, s, m, h, d, w, mo or y"

/* Spellings people write for a unit, matched ignoring case, with the unit
 * to write instead; NULL: ambiguous ("M" is months to some, minutes to
 * others). */
static const struct {
	const char *spelling;
	const char *unit;
} duration_aliases[] = {
	{"m", NULL},          {"ms", "ms"},         {"s", "s"},
	{"h", "h"},           {"d", "d"},           {"w", "w"},
	{"mo", "mo"},         {"y", "y"},           {"msec", "ms"},
	{"msecs", "ms"},      {"millisecond", "ms"}, {"milliseconds", "ms"},
	{"sec", "s"},         {"secs", "s"},        {"second", "s"},
	{"seconds", "s"},     {"min", "m"},         {"mins", "m"},
	{"minute", "m"},      {"minutes", "m"},     {"hr", "h"},
	{"hrs", "h"},         {"hour", "h"},        {"hours", "h"},
	{"day", "d"},         {"days", "d"},        {"week", "w"},
	{"weeks", "w"},       {"mon", "mo"},        {"mons", "mo"},
	{"month", "mo"},      {"months", "mo"},     {"mth", "mo"},
	{"mths", "mo"},       {"yr", "y"},          {"yrs", "y"},
	{"year", "y"},        {"years", "y"},
};

#define DURATION_NALIASES (sizeof(duration_aliases) / sizeof(duration_aliases[0]))

/* Index of the unit spelled by the len bytes at u, or -1. */
static int duration_unit_find(const char *u, size_t len)
{
	size_t i;

	for (i = 0; i < DURATION_NUNITS; i++)
		if (strlen(duration_units[i].unit) == len &&
		    strncmp(u, duration_units[i].unit, len) == 0)
			return (int)i;
	return -1;
}

/* Writes why the term num (nlen digits) with the unknown unit u (ulen
 * bytes, maybe none) of text is refused, and how to write it. */
static void duration_unit_error(const char *text, const char *num, size_t nlen,
                                const char *u, size_t ulen, char *err,
                                size_t errlen)
{
	size_t i;

	for (i = 0; ulen > 0 && i < DURATION_NALIASES; i++) {
		if (strlen(duration_aliases[i].spelling) != ulen ||
		    strncasecmp(u, duration_aliases[i].spelling, ulen) != 0)
			continue;
		if (duration_aliases[i].unit == NULL)
			snprintf(err, errlen, "bad duration '%s': '%.*s%.*s' is "
			         "ambiguous: write %.*smo for months or %.*sm "
			         "for minutes", text, (int)nlen, num, (int)ulen,
			         u, (int)nlen, num, (int)nlen, num);
		else
			snprintf(err, errlen, "bad duration '%s': write %.*s%s "
			         "(units: " DURATION_UNIT_LIST ")", text,
			         (int)nlen, num, duration_aliases[i].unit);
		return;
	}
	snprintf(err, errlen, "bad duration '%s': '%.*s' needs a unit "
	         "(" DURATION_UNIT_LIST "), e.g. %.*ss or %.*sd", text,
	         (int)(u + ulen - num), num, (int)nlen, num, (int)nlen, num);
}

/* Adds n units of duration_units[unit] to d; -1 when a part grows past
 * what PostgreSQL or an int64 of milliseconds holds. */
static int duration_add(duration_span *d, int unit, int64_t n)
{
	int64_t per = duration_units[unit].n, *part, max = DURATION_MAX_FIELD;

	switch (duration_units[unit].part) {
	case DURATION_MONTHS: part = &d->months; break;
	case DURATION_DAYS: part = &d->days; break;
	default: part = &d->ms; max = INT64_MAX; break;
	}
	if (n > (max - *part) / per)
		return -1;
	*part += n * per;
	return 0;
}

/* The length of d in milliseconds by PostgreSQL's convention (months of
 * 30 days, each twelve of them a year of 365.25 days, as extract(epoch
 * FROM interval) counts), or -1 when it does not fit an int64. */
int64_t duration_span_ms(const duration_span *d)
{
	int64_t parts[4] = {
		d->months / 12 * DURATION_MS_YEAR,
		d->months % 12 * DURATION_MS_MONTH,
		d->days * DURATION_MS_DAY,
		d->ms,
	};
	int64_t total = 0;
	size_t i;

	for (i = 0; i < 4; i++) {
		if (parts[i] > INT64_MAX - total)
			return -1;
		total += parts[i];
	}
	return total;
}

/* Refuses minutes next to months or years: "1y6m" was meant as 1y6mo.
 * minute points at the unit of the first minute term, or is NULL. */
static int duration_check_minutes(const char *text, const duration_span *d,
                                  const char *minute, char *err,
                                  size_t errlen)
{
	const char *num = minute;

	if (minute == NULL || d->months == 0)
		return 0;
	while (num > text && isdigit((unsigned char)num[-1]))
		num--;
	snprintf(err, errlen, "bad duration '%s': '%.*sm' is minutes next to "
	         "years or months; write %.*smo%s for months (minutes are "
	         "refused beside calendar units as a likely slip)", text,
	         (int)(minute - num), num, (int)(minute - text), text,
	         minute + 1);
	return -1;
}

/* Parses a sum of <number><unit> terms ("90s", "1h30m", "1y6mo", "0s";
 * units ms, s, m, h, d, w, mo, y; spaces allowed between and within
 * terms), or a bare "0", into *d, keeping months, days and milliseconds
 * apart.  Returns 0, or -1 with a message saying what is wrong and how to
 * write it, *d untouched. */
int duration_parse_span(const char *text, duration_span *d, char *err,
                        size_t errlen)
{
	duration_span sum = {0, 0, 0};
	const char *p = text, *minute = NULL;
	int terms = 0;

	if (strcmp(text, "0") == 0) {
		*d = sum;
		return 0;
	}
	while (*p) {
		int64_t n = 0;
		size_t ulen = 0;
		const char *num = p, *u;
		int unit;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen,
			         "bad duration '%s': expected a number at '%s' "
			         "(write e.g. 90s, 15m, 36h, 30d, 6mo, 3y)", text,
			         p);
			return -1;
		}
		for (; isdigit((unsigned char)*p); p++) {
			if (n > (INT64_MAX - 9) / 10)
				goto too_long;
			n = n * 10 + (*p - '0');
		}
		for (u = p; isspace((unsigned char)*u); u++)
			;
		while (isalpha((unsigned char)u[ulen]))
			ulen++;
		unit = duration_unit_find(u, ulen);
		if (unit < 0) {
			duration_unit_error(text, num, (size_t)(p - num), u,
			                    ulen, err, errlen);
			return -1;
		}
		if (duration_add(&sum, unit, n) != 0)
			goto too_long;
		if (minute == NULL && strcmp(duration_units[unit].unit, "m") == 0)
			minute = u;
		p = u + ulen;
		terms++;
	}
	if (terms == 0) {
		snprintf(err, errlen, "empty duration: write e.g. 90s, 15m, "
		         "36h, 30d, 6mo or 3y");
		return -1;
	}
	if (duration_check_minutes(text, &sum, minute, err, errlen) != 0)
		return -1;
	if (duration_span_ms(&sum) < 0 ||
	    duration_span_ms(&sum) > DURATION_MS_MAX)
		goto too_long;
	*d = sum;
	return 0;
too_long:
	snprintf(err, errlen, "duration '%s' is too long: at most %dy (now "
	         "less it must stay after 4713 BC, where PostgreSQL's "
	         "timestamps begin)", text, SWEEP_DURATION_MAX_YEARS);
	return -1;
}

/* Parses text as duration_parse_span() does into one number of
 * milliseconds (months and years by duration_span_ms()'s convention):
 * for timeouts and intervals, where a calendar unit is odd but harmless.
 * Returns 0, or -1 with a message, *ms untouched. */
int duration_parse(const char *text, int64_t *ms, char *err, size_t errlen)
{
	duration_span d;

	if (duration_parse_span(text, &d, err, errlen) != 0)
		return -1;
	*ms = duration_span_ms(&d);
	return 0;
}

/* Writes d as PostgreSQL prints an interval ("3 years", "1 year 6 mons",
 * "30 days 01:00:00", "00:00:00.25"), which PostgreSQL reads back as the
 * same months, days and time. */
void duration_interval(const duration_span *d, char *out, size_t outlen)
{
	const struct {
		int64_t n;
		const char *name;
	} parts[3] = {
		{d->months / 12, "year"}, {d->months % 12, "mon"},
		{d->days, "day"},
	};
	int64_t s = d->ms / 1000;
	size_t i, used = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < 3 && used < outlen; i++) {
		if (parts[i].n == 0)
			continue;
		w = snprintf(out + used, outlen - used, "%s%lld %s%s",
		             used ? " " : "", (long long)parts[i].n,
		             parts[i].name, parts[i].n == 1 ? "" : "s");
		used += w > 0 ? (size_t)w : 0;
	}
	if ((d->ms == 0 && used > 0) || used >= outlen)
		return;
	snprintf(out + used, outlen - used, "%s%02lld:%02lld:%02lld.%03lld",
	             used ? " " : "", (long long)(s / 3600),
	             (long long)(s / 60 % 60), (long long)(s % 60),
	             (long long)(d->ms % 1000));
	/* PostgreSQL leaves out trailing zeros of the fraction, and the
	 * fraction when it is zero. */
	for (used = strlen(out); used > 0 && out[used - 1] == '0'; used--)
		out[used - 1] = '\0';
	if (used > 0 && out[used - 1] == '.')
		out[used - 1] = '\0';
}

/* Writes ms as days, hours, minutes, seconds and milliseconds, largest
 * first, leaving out zero terms ("30d", "1h30m", "250ms", "0s"). */
void duration_format(int64_t ms, char *out, size_t outlen)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{"d", DURATION_MS_DAY}, {"h", 3600000}, {"m", 60000},
		{"s", 1000},            {"ms", 1},
	};
	size_t i, used = 0;

	snprintf(out, outlen, "0s");
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && used < outlen;
	     i++) {
		int64_t n = ms / units[i].ms;
		int w;

		if (n == 0)
			continue;
		w = snprintf(out + used, outlen - used, "%lld%s", (long long)n,
		             units[i].unit);
		if (w < 0)
			return;
		used += (size_t)w;
		ms -= n * units[i].ms;
	}
}
