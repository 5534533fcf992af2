/* duration: parse and print spans of time such as 90s, 15m, 36h, 30d, 6mo,
 * 3y. */
#ifndef SWEEPD_DURATION_H
#define SWEEPD_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* A span as PostgreSQL keeps an interval: calendar months (mo, y), days
 * (d, w) and exact milliseconds (ms, s, m, h), none negative. */
typedef struct duration_span {
	int64_t months;
	int64_t days;
	int64_t ms;
} duration_span;

int duration_parse_span(const char *text, duration_span *d, char *err,
                        size_t errlen);
int64_t duration_span_ms(const duration_span *d);
void duration_interval(const duration_span *d, char *out, size_t outlen);
int duration_parse(const char *text, int64_t *ms, char *err, size_t errlen);
void duration_format(int64_t ms, char *out, size_t outlen);

#endif
