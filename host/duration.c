/* duration: parse and print spans of time such as 90s, 15m, 36h, 30d. */
#include "duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *unit;
	int64_t ms;
} duration_units[] = {
	{"ms", 1},           {"s", 1000},          {"m", 60000},
	{"h", 3600000},      {"d", 86400000},      {"w", 604800000},
};

#define DURATION_NUNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/* Parses a sum of <number><unit> terms ("90s", "1h30m", "0s"; units ms, s,
 * m, h, d, w; spaces between terms allowed), or a bare "0", into
 * milliseconds.  Returns 0,
 * or -1 with a message saying what is wrong and how to write it. */
int duration_parse(const char *text, int64_t *ms, char *err, size_t errlen)
{
	const char *p = text;
	int64_t total = 0;
	int terms = 0;

	if (strcmp(text, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		int64_t n = 0;
		size_t i, ulen = 0;
		const char *num = p;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen,
			         "bad duration '%s': expected a number at '%s' "
			         "(write e.g. 90s, 15m, 36h, 30d)", text, p);
			return -1;
		}
		for (; isdigit((unsigned char)*p); p++) {
			if (n > (INT64_MAX - 9) / 10)
				goto too_long;
			n = n * 10 + (*p - '0');
		}
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		for (i = 0; i < DURATION_NUNITS; i++)
			if (strlen(duration_units[i].unit) == ulen &&
			    strncmp(p, duration_units[i].unit, ulen) == 0)
				break;
		if (i == DURATION_NUNITS) {
			snprintf(err, errlen,
			         "bad duration '%s': '%.*s' needs a unit "
			         "(ms, s, m, h, d or w), e.g. %.*ss or %.*sd",
			         text, (int)(p - num + ulen), num, (int)(p - num),
			         num, (int)(p - num), num);
			return -1;
		}
		if (n > (INT64_MAX - total) / duration_units[i].ms)
			goto too_long;
		total += n * duration_units[i].ms;
		p += ulen;
		terms++;
	}
	if (terms == 0) {
		snprintf(err, errlen,
		         "empty duration: write e.g. 90s, 15m, 36h or 30d");
		return -1;
	}
	*ms = total;
	return 0;
too_long:
	snprintf(err, errlen, "duration '%s' is too long", text);
	return -1;
}

/* Writes ms as days, hours, minutes, seconds and milliseconds, largest
 * first, leaving out zero terms ("30d", "1h30m", "250ms", "0s"). */
void duration_format(int64_t ms, char *out, size_t outlen)
{
	size_t i, used = 0;

	snprintf(out, outlen, "0s");
	/* Weeks are accepted on input but "30d" reads better than "4w2d". */
	for (i = DURATION_NUNITS - 1; i-- > 0 && used < outlen;) {
		int64_t n = ms / duration_units[i].ms;
		int w;

		if (n == 0)
			continue;
		w = snprintf(out + used, outlen - used, "%lld%s", (long long)n,
		             duration_units[i].unit);
		if (w < 0)
			return;
		used += (size_t)w;
		ms -= n * duration_units[i].ms;
	}
}
