/* tz: wall-clock time in IANA time zones, through the C library.  The
 * zone is selected by setting TZ and calling tzset(); the zone in effect
 * is remembered so that a run of calls for one zone reads it once. */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_DAY 86400

/* The zone TZ holds now, "" before the first switch. */
static char tz_current[256];
/* TZ as the process started: saved at the first switch, for tz_restore(). */
static char *tz_original;
static int tz_saved;

/* True when zone means UTC, where wall time is the instant itself: NULL,
 * "UTC", or "" (which the C library reads as UTC too). */
static int tz_is_utc(const char *zone)
{
	return zone == NULL || zone[0] == '\0' || strcmp(zone, "UTC") == 0;
}

/* True when zone names a time zone known to the system: UTC, or an IANA
 * name (no "..", no leading '/') whose file under /usr/share/zoneinfo is a
 * compiled zone ("TZif"). */
int tz_valid(const char *zone)
{
	char path[512], magic[4];
	FILE *fp;
	int ok;

	if (zone == NULL)
		return 0;
	if (strcmp(zone, "UTC") == 0)
		return 1;
	if (zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..") != NULL)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s",
	                     zone) >= sizeof(path))
		return 0;
	fp = fopen(path, "rb");
	if (fp == NULL)
		return 0;
	ok = fread(magic, 1, sizeof(magic), fp) == sizeof(magic) &&
	     memcmp(magic, "TZif", sizeof(magic)) == 0;
	fclose(fp);
	return ok;
}

/* Makes zone (not UTC) the one localtime_r() uses; tzset() runs only when
 * the zone changes.  A name too long to remember is set every time. */
static void tz_use(const char *zone)
{
	if (strcmp(tz_current, zone) == 0)
		return;
	if (!tz_saved) {
		const char *env = getenv("TZ");
		tz_original = env ? strdup(env) : NULL;
		tz_saved = 1;
	}
	tz_current[0] = '\0';
	if (setenv("TZ", zone, 1) != 0)
		return;
	tzset();
	if (strlen(zone) < sizeof(tz_current))
		strcpy(tz_current, zone);
}

/* Gives TZ back the value it had when the process started, so that code
 * outside this module (a plugin) sees the system's zone. */
void tz_restore(void)
{
	if (!tz_saved)
		return;
	if (tz_original)
		setenv("TZ", tz_original, 1);
	else
		unsetenv("TZ");
	tzset();
	tz_current[0] = '\0';
}

/* Seconds east of UTC in the current zone at instant t (0 when t cannot
 * be converted). */
static long tz_offset(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/* Writes into out the wall-clock time of instant t in zone (NULL or "UTC"
 * for UTC), with tm_isdst, tm_wday and tm_yday set. */
void tz_local(const char *zone, time_t t, struct tm *out)
{
	if (tz_is_utc(zone)) {
		gmtime_r(&t, out);
		return;
	}
	tz_use(zone);
	if (localtime_r(&t, out) == NULL)
		gmtime_r(&t, out);
}

/* The earliest instant whose wall-clock time in zone is wall (its year to
 * second; tm_isdst, tm_wday and tm_yday are ignored), so a time repeated
 * when clocks go back is its first occurrence.  A time that clocks skip
 * when they go forward gives the instant of the jump, with *skipped = 1
 * (else 0; skipped may be NULL).  Assumes at most one change of UTC offset
 * within a day either side of wall, as every zone has had since 1900. */
time_t tz_instant(const char *zone, const struct tm *wall, int *skipped)
{
	struct tm w = *wall;
	time_t t0, best = 0, lo, hi;
	long offs[3];
	int i, found = 0;

	if (skipped != NULL)
		*skipped = 0;
	w.tm_isdst = 0;
	/* The wall time read as if it were UTC: an instant is a candidate
	 * when it plus its own UTC offset gives back t0. */
	t0 = timegm(&w);
	if (tz_is_utc(zone))
		return t0;
	tz_use(zone);
	offs[0] = tz_offset(t0 - TZ_DAY);
	offs[1] = tz_offset(t0);
	offs[2] = tz_offset(t0 + TZ_DAY);
	for (i = 0; i < 3; i++) {
		time_t c = t0 - offs[i];
		if (tz_offset(c) == offs[i] && (!found || c < best)) {
			best = c;
			found = 1;
		}
	}
	if (found)
		return best;
	/* In a gap: the first instant whose wall time is later than wall.
	 * Wall time only rises over the two days around a single jump. */
	lo = t0 - TZ_DAY;
	hi = t0 + TZ_DAY;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (mid + tz_offset(mid) > t0)
			hi = mid;
		else
			lo = mid;
	}
	if (skipped != NULL)
		*skipped = 1;
	return hi;
}
