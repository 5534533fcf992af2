/* duration: parse and print spans of time such as 90s, 15m, 36h, 30d. */
#ifndef SWEEPD_DURATION_H
#define SWEEPD_DURATION_H

#include <stddef.h>
#include <stdint.h>

int duration_parse(const char *text, int64_t *ms, char *err, size_t errlen);
void duration_format(int64_t ms, char *out, size_t outlen);

#endif
