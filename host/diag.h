/* diag: a list of configuration problems, each "FILE:LINE: message", and
 * of warnings, each "FILE:LINE: warning: message". */
#ifndef SWEEPD_DIAG_H
#define SWEEPD_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include <sweepd/plugin.h>

typedef struct diag_item {
	char *file;      /* NULL when the problem has no file */
	int line;        /* 0 when it has no line */
	char *message;
	bool warning;    /* a warning: the configuration still loads */
} diag_item;

/* Errors and warnings are kept in two lists, so that count is the number
 * of errors wherever a caller compares it with an earlier count. */
typedef struct diag {
	diag_item *items;      /* errors */
	size_t count;
	size_t cap;
	diag_item *warnings;   /* warnings */
	size_t nwarnings;
	size_t wcap;
} diag;

#define DIAG_INIT {NULL, 0, 0, NULL, 0, 0}

void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
	SWEEP_PRINTF(4, 5);
void diag_warn(diag *d, const char *file, int line, const char *fmt, ...)
	SWEEP_PRINTF(4, 5);
char *diag_format(const diag_item *it);
void diag_free(diag *d);

#endif
