/* tz: wall-clock time in IANA time zones, through the C library.  The
 * process is single-threaded and this is the only module that sets TZ. */
#ifndef SWEEPD_TZ_H
#define SWEEPD_TZ_H

#include <time.h>

int tz_valid(const char *zone);
void tz_local(const char *zone, time_t t, struct tm *out);
time_t tz_instant(const char *zone, const struct tm *wall, int *skipped);
void tz_restore(void);

#endif
