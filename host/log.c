/* log: structured log lines (logfmt or JSON) on standard error. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "isotime.h"

static int log_min_level = SWEEP_LOG_INFO;
static log_format log_fmt = LOG_FORMAT_LOGFMT;

static const char *const log_level_names[] = {"debug", "info", "warn",
                                              "error"};

/* Sets the lowest level written and the line format for the process. */
void log_configure(int min_level, log_format format)
{
	log_min_level = min_level;
	log_fmt = format;
}

/* Parses debug|info|warn|error; 0 on success, -1 for anything else. */
int log_parse_level(const char *text, int *level)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(text, log_level_names[i]) == 0) {
			*level = i;
			return 0;
		}
	}
	return -1;
}

/* Parses logfmt|json; 0 on success, -1 for anything else. */
int log_parse_format(const char *text, log_format *format)
{
	if (strcasecmp(text, "logfmt") == 0)
		*format = LOG_FORMAT_LOGFMT;
	else if (strcasecmp(text, "json") == 0)
		*format = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/* Where log lines go: standard error, unless a run's child process keeps
 * the daemon's standard error for them while its own goes to a pipe. */
static int log_fd = STDERR_FILENO;

/* Makes log lines go to fd. */
void log_set_fd(int fd)
{
	log_fd = fd;
}

/* Appends a logfmt value, quoted when it holds a space, '=', a quote or
 * a control character, or is empty. */
static void log_logfmt_value(buf *b, const char *v)
{
	const char *p;
	int quote = (*v == '\0');

	for (p = v; *p && !quote; p++)
		if (*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20)
			quote = 1;
	if (!quote) {
		buf_puts(b, v);
		return;
	}
	buf_json_string(b, v);
}

/* Writes one line with time, level and event, then the npairs key/value
 * pairs of kv (pairs with a NULL or empty value are left out), in one
 * write(2) so lines of concurrent processes never interleave. */
void log_line(int level, const char *event, const char *const *kv,
              size_t npairs)
{
	buf b = BUF_INIT;
	char ts[ISOTIME_LEN];
	size_t i;

	if (level < log_min_level)
		return;
	if (level < 0 || level > SWEEP_LOG_ERROR)
		level = SWEEP_LOG_ERROR;
	isotime_now(ts, sizeof(ts));
	if (log_fmt == LOG_FORMAT_JSON) {
		buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts,
		           log_level_names[level]);
		buf_json_string(&b, event);
		for (i = 0; i < npairs; i++) {
			if (kv[2 * i + 1] == NULL || kv[2 * i + 1][0] == '\0')
				continue;
			buf_puts(&b, ",");
			buf_json_string(&b, kv[2 * i]);
			buf_puts(&b, ":");
			buf_json_string(&b, kv[2 * i + 1]);
		}
		buf_puts(&b, "}\n");
	} else {
		buf_printf(&b, "ts=%s level=%s event=", ts,
		           log_level_names[level]);
		log_logfmt_value(&b, event);
		for (i = 0; i < npairs; i++) {
			if (kv[2 * i + 1] == NULL || kv[2 * i + 1][0] == '\0')
				continue;
			buf_printf(&b, " %s=", kv[2 * i]);
			log_logfmt_value(&b, kv[2 * i + 1]);
		}
		buf_puts(&b, "\n");
	}
	if (!b.oom && write(log_fd, b.data, b.len) < 0) {
		/* standard error is gone: nowhere left to report it */
	}
	buf_free(&b);
}

/* Logs event with the nprefix pairs of prefix, then the key/value pairs
 * read from ap up to a NULL key. */
void log_vmsg(int level, const char *event, const char *const *prefix,
              size_t nprefix, va_list ap)
{
	const char *kv[2 * LOG_MAX_PAIRS];
	size_t n = 0;
	const char *k;

	if (level < log_min_level)
		return;
	for (; n < nprefix && n < LOG_MAX_PAIRS; n++) {
		kv[2 * n] = prefix[2 * n];
		kv[2 * n + 1] = prefix[2 * n + 1];
	}
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		if (n == LOG_MAX_PAIRS)
			continue;
		kv[2 * n] = k;
		kv[2 * n + 1] = v;
		n++;
	}
	log_line(level, event, kv, n);
}

/* Logs event with key/value string pairs ending with a NULL key. */
void log_msg(int level, const char *event, ...)
{
	va_list ap;

	va_start(ap, event);
	log_vmsg(level, event, NULL, 0, ap);
	va_end(ap);
}
