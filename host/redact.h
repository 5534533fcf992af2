/* redact: masks passwords in text that may carry a conninfo string, a URI
 * or libpq's message about one, before it is printed, logged or stored. */
#ifndef SWEEPD_REDACT_H
#define SWEEPD_REDACT_H

#include <stddef.h>

/* What a password is replaced with. */
#define REDACT_MASK "***"

void redact_dsn(const char *dsn);
void redact_conninfo(const char *text, char *out, size_t len);

#endif
