/* diag: a list of configuration problems, each "FILE:LINE: message". */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Records one problem.  Out of memory, the problem is dropped: callers
 * still fail through their own return codes. */
void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
{
	diag_item *it;
	buf b = BUF_INIT;
	va_list ap;

	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		diag_item *p = realloc(d->items, cap * sizeof(*p));
		if (p == NULL)
			return;
		d->items = p;
		d->cap = cap;
	}
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	it = &d->items[d->count];
	it->file = file ? strdup(file) : NULL;
	it->line = line;
	it->message = buf_detach(&b);
	if (it->message == NULL || (file && it->file == NULL)) {
		free(it->file);
		free(it->message);
		return;
	}
	d->count++;
}

/* "FILE:LINE: message" (or "FILE: message", or "message") in a new string
 * the caller frees. */
char *diag_format(const diag_item *it)
{
	buf b = BUF_INIT;

	if (it->file && it->line > 0)
		buf_printf(&b, "%s:%d: ", it->file, it->line);
	else if (it->file)
		buf_printf(&b, "%s: ", it->file);
	buf_puts(&b, it->message);
	return buf_detach(&b);
}

/* Frees every recorded problem. */
void diag_free(diag *d)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
	}
	free(d->items);
	d->items = NULL;
	d->count = d->cap = 0;
}
