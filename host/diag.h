/* diag: a list of configuration problems, each "FILE:LINE: message". */
#ifndef SWEEPD_DIAG_H
#define SWEEPD_DIAG_H

#include <stddef.h>

#include <sweepd/plugin.h>

typedef struct diag_item {
	char *file;      /* NULL when the problem has no file */
	int line;        /* 0 when it has no line */
	char *message;
} diag_item;

typedef struct diag {
	diag_item *items;
	size_t count;
	size_t cap;
} diag;

#define DIAG_INIT {NULL, 0, 0}

void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
	SWEEP_PRINTF(4, 5);
char *diag_format(const diag_item *it);
void diag_free(diag *d);

#endif
