/* size: amounts of memory, written as a whole number and a binary unit
 * (KiB, MiB, GiB, TiB; K, M, G, T mean the same, as systemd's MemoryMax=
 * does), or 0 for none. */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int shift;
} size_units[] = {
	{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40},
	{"K", 10}, {"M", 20}, {"G", 30}, {"T", 40},
};

/* Parses text into *bytes.  Returns 0, or -1 with a message saying how to
 * write it. */
int size_parse(const char *text, int64_t *bytes, char *err, size_t errlen)
{
	char *end;
	long long n;
	size_t i;

	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || !isdigit((unsigned char)*text) || errno != 0) {
		snprintf(err, errlen, "'%s' is not a size; write a whole number "
		         "and a unit, e.g. 512MiB or 1GiB (0: no limit)", text);
		return -1;
	}
	while (*end == ' ')
		end++;
	if (*end == '\0' && n == 0) {
		*bytes = 0;
		return 0;
	}
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcmp(end, size_units[i].name) != 0)
			continue;
		if (n > (INT64_MAX >> size_units[i].shift)) {
			snprintf(err, errlen, "'%s' is too large", text);
			return -1;
		}
		*bytes = (int64_t)n << size_units[i].shift;
		return 0;
	}
	snprintf(err, errlen, "'%s' has %s unit; write KiB, MiB, GiB or TiB, "
	         "e.g. 512MiB (0: no limit)", text, *end ? "an unknown" : "no");
	return -1;
}

/* Writes bytes in the largest unit that divides it exactly ("64MiB",
 * "1536KiB", "0"). */
void size_format(int64_t bytes, char *out, size_t outlen)
{
	int i;

	for (i = 3; i >= 0; i--) {
		int shift = size_units[i].shift;
		if (bytes > 0 && (bytes & ((INT64_C(1) << shift) - 1)) == 0) {
			snprintf(out, outlen, "%lld%s",
			         (long long)(bytes >> shift), size_units[i].name);
			return;
		}
	}
	snprintf(out, outlen, "%lld", (long long)bytes);
}
