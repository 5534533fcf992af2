/* diag: a list of configuration problems, each "FILE:LINE: message", and
 * of warnings, each "FILE:LINE: warning: message". */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Appends one item to the list *items of *count (capacity *cap).  Out of
 * memory, the item is dropped: callers still fail through their own
 * return codes. */
static void diag_push(diag_item **items, size_t *count, size_t *cap,
                      const char *file, int line, bool warning,
                      const char *fmt, va_list ap) SWEEP_PRINTF(7, 0);

static void diag_push(diag_item **items, size_t *count, size_t *cap,
                      const char *file, int line, bool warning,
                      const char *fmt, va_list ap)
{
	diag_item *it;
	buf b = BUF_INIT;

	if (*count == *cap) {
		size_t n = *cap ? *cap * 2 : 8;
		diag_item *p = realloc(*items, n * sizeof(*p));
		if (p == NULL)
			return;
		*items = p;
		*cap = n;
	}
	buf_vprintf(&b, fmt, ap);
	it = &(*items)[*count];
	it->file = file ? strdup(file) : NULL;
	it->line = line;
	it->warning = warning;
	it->message = buf_detach(&b);
	if (it->message == NULL || (file && it->file == NULL)) {
		free(it->file);
		free(it->message);
		return;
	}
	(*count)++;
}

/* Records one problem: an error, counted in d->count. */
void diag_add(diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(&d->items, &d->count, &d->cap, file, line, false, fmt, ap);
	va_end(ap);
}

/* Records one warning: something the configuration decides that is
 * likely a slip but runs (a schedule that never fires, an age of 0s).
 * Kept apart from the errors, so it never fails a load. */
void diag_warn(diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(&d->warnings, &d->nwarnings, &d->wcap, file, line, true,
	          fmt, ap);
	va_end(ap);
}

/* "FILE:LINE: message" (or "FILE: message", or "message"; a warning's
 * message after "warning: ") in a new string the caller frees. */
char *diag_format(const diag_item *it)
{
	buf b = BUF_INIT;

	if (it->file && it->line > 0)
		buf_printf(&b, "%s:%d: ", it->file, it->line);
	else if (it->file)
		buf_printf(&b, "%s: ", it->file);
	if (it->warning)
		buf_puts(&b, "warning: ");
	buf_puts(&b, it->message);
	return buf_detach(&b);
}

/* Frees the n items of a list. */
static void diag_items_free(diag_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(items[i].file);
		free(items[i].message);
	}
	free(items);
}

/* Frees every recorded problem and warning. */
void diag_free(diag *d)
{
	diag_items_free(d->items, d->count);
	diag_items_free(d->warnings, d->nwarnings);
	d->items = d->warnings = NULL;
	d->count = d->cap = d->nwarnings = d->wcap = 0;
}
