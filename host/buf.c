/* buf: a growable NUL-terminated byte buffer, and JSON string escaping. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes plus the NUL; 0 on success, -1 (and oom set)
 * when memory runs out. */
static int buf_grow(buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Appends n bytes of s. */
void buf_append(buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) != 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends the string s. */
void buf_puts(buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Appends printf-formatted text. */
void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || buf_grow(b, (size_t)n) != 0)
		return;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

/* Appends printf-formatted text. */
void buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Appends s as a quoted JSON string (NULL as null); control characters
 * are escaped, other bytes are copied as they are. */
void buf_json_string(buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_append(b, "\"", 1);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_append(b, (const char *)p, 1);
		}
	}
	buf_append(b, "\"", 1);
}

/* The contents, "" when empty; valid until the next append. */
const char *buf_str(const buf *b)
{
	return b->data ? b->data : "";
}

/* Hands the contents to the caller, who frees them; NULL after an
 * allocation failure.  The buffer is empty afterwards. */
char *buf_detach(buf *b)
{
	char *s;

	if (b->oom) {
		free(b->data);
		s = NULL;
	} else if (b->data == NULL) {
		s = strdup("");
	} else {
		s = b->data;
	}
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
	return s;
}

/* Empties the buffer, keeping its memory. */
void buf_reset(buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Frees the buffer's memory. */
void buf_free(buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
