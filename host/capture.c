/* capture: a run's output as log lines.  Each line is logged with the
 * job, run and stream; bytes that are not UTF-8 and control characters
 * are escaped as \xNN, so the log stays valid logfmt or JSON whatever a
 * plugin writes. */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "utf8.h"

/* Starts capturing the output of a run of job (kept by the caller). */
void capture_init(capture *c, const char *job)
{
	memset(c, 0, sizeof(*c));
	c->job = job;
	c->out.name = "stdout";
	c->err.name = "stderr";
}

/* Appends text to out with every byte that is not printable UTF-8 (a
 * control character, DEL, or not UTF-8 at all) written as \xNN. */
static void capture_escape(buf *out, const buf *text)
{
	const unsigned char *p = (const unsigned char *)buf_str(text);
	const unsigned char *end = p + text->len;

	while (p < end) {
		size_t n = *p ? utf8_len(p) : 0;

		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			if (*p == '\t') {
				buf_append(out, "\t", 1);
			} else {
				char hex[8];
				snprintf(hex, sizeof(hex), "\\x%02x", *p);
				buf_puts(out, hex);
			}
			p++;
			continue;
		}
		buf_append(out, (const char *)p, n);
		p += n;
	}
}

/* Length of the longest start of text (escaped, so ASCII but for whole
 * UTF-8 characters) of at most max bytes that ends on a character. */
static size_t capture_cut(const char *text, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Logs one piece of a line of s. */
static void capture_log(capture *c, const capture_stream *s,
                        const char *text, size_t len)
{
	char *piece = strndup(text, len);

	log_msg(SWEEP_LOG_INFO, "output", "job", c->job, "run", c->run,
	        "stream", s->name, "text", piece ? piece : "(out of memory)",
	        LOG_END);
	free(piece);
}

/* Logs the line held by s (if any) and empties it, escaped, in pieces of
 * at most CAPTURE_LINE_MAX bytes; once the run's budget of logged text
 * is spent, drops it instead and says so once. */
static void capture_emit(capture *c, capture_stream *s)
{
	buf text = BUF_INIT;
	size_t off = 0;

	if (s->line.len == 0)
		return;
	capture_escape(&text, &s->line);
	buf_reset(&s->line);
	while (off < text.len && c->logged < CAPTURE_RUN_MAX) {
		size_t n = capture_cut(buf_str(&text) + off, text.len - off,
		                       CAPTURE_LINE_MAX);
		capture_log(c, s, buf_str(&text) + off, n);
		c->logged += n;
		off += n;
	}
	if (off < text.len && !c->truncated) {
		char logged[32];

		c->truncated = true;
		snprintf(logged, sizeof(logged), "%zu", c->logged);
		log_msg(SWEEP_LOG_WARN, "output truncated", "job", c->job,
		        "run", c->run, "stream", s->name, "logged_bytes",
		        logged, LOG_END);
	}
	buf_free(&text);
}

/* Takes n bytes the run wrote to stream s: every complete line is
 * logged, a line longer than CAPTURE_LINE_MAX is logged in pieces. */
void capture_feed(capture *c, capture_stream *s, const char *data, size_t n)
{
	size_t i;

	/* Past the run's budget nothing more is logged: the bytes go
	 * unread, at no cost (a plugin writing without end must cost the
	 * daemon nothing). */
	if (c->truncated)
		return;
	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			capture_emit(c, s);
			continue;
		}
		if (data[i] == '\r' && s->line.len == 0)
			continue;
		buf_append(&s->line, data + i, 1);
		if (s->line.len >= CAPTURE_LINE_MAX)
			capture_emit(c, s);
	}
}

/* Logs what is left of both streams (lines the run did not end). */
void capture_flush(capture *c)
{
	capture_emit(c, &c->out);
	capture_emit(c, &c->err);
}

/* Frees what c holds. */
void capture_free(capture *c)
{
	buf_free(&c->out.line);
	buf_free(&c->err.line);
}
