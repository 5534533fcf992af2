/* isotime: instants written as ISO 8601 UTC text. */
#include "isotime.h"

#include <stdio.h>

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
