/* isotime: instants written as ISO 8601 UTC text. */
#include "isotime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Writes ts as 2026-11-22T03:00:00.123Z (UTC, milliseconds). */
void isotime_format(const struct timespec *ts, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

/* Writes the current time as isotime_format() does. */
void isotime_now(char *out, size_t len)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	isotime_format(&now, out, len);
}

/* Parses an ISO 8601 instant: YYYY-MM-DD, then T or a space and
 * HH:MM[:SS[.fraction]], then Z or +HH:MM / -HH:MM (no zone: UTC).
 * Fractions of a second are dropped.  0 and *out, or -1. */
int isotime_parse(const char *text, time_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, n = 0;
	const char *p;
	char sign = '+';

	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	p = text + n;
	if (*p == 'T' || *p == ' ') {
		n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		p += 1 + n;
		if (*p == ':') {
			n = 0;
			if (sscanf(p + 1, "%2d%n", &sec, &n) != 1)
				return -1;
			p += 1 + n;
			if (*p == '.')
				for (p++; isdigit((unsigned char)*p); p++)
					;
		}
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p;
		n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2)
			return -1;
		p += 1 + n;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	return 0;
}
