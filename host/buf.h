/* buf: a growable NUL-terminated byte buffer, and JSON string escaping. */
#ifndef SWEEPD_BUF_H
#define SWEEPD_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include <sweepd/plugin.h>

typedef struct buf {
	char *data;   /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	int oom;      /* set when an allocation failed; later appends no-op */
} buf;

#define BUF_INIT {NULL, 0, 0, 0}

void buf_append(buf *b, const char *s, size_t n);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) SWEEP_PRINTF(2, 3);
void buf_vprintf(buf *b, const char *fmt, va_list ap) SWEEP_PRINTF(2, 0);
void buf_json_string(buf *b, const char *s);
const char *buf_str(const buf *b);
char *buf_detach(buf *b);
void buf_reset(buf *b);
void buf_free(buf *b);

#endif
