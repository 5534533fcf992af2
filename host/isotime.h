/* isotime: instants written as ISO 8601 UTC text. */
#ifndef SWEEPD_ISOTIME_H
#define SWEEPD_ISOTIME_H

#include <stddef.h>
#include <time.h>

/* Room for any ISOTIME text with its NUL. */
#define ISOTIME_LEN 40

void isotime_format(const struct timespec *ts, char *out, size_t len);
void isotime_now(char *out, size_t len);
int isotime_parse(const char *text, time_t *out);

#endif
