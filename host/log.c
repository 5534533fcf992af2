/* log: structured log lines (logfmt or JSON) on standard error. */
#include "log.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "isotime.h"

static int log_min_level = SWEEP_LOG_INFO;
static log_format log_fmt = LOG_FORMAT_LOGFMT;

static const char *const log_level_names[] = {"debug", "info", "warn",
                                              "error"};
/* syslog priorities of the levels, for journald's "<N>" prefix. */
static const int log_level_priority[] = {7, 6, 4, 3};
/* Standard error is the stream journald reads (1), is not (0), not known
 * yet (-1). */
static int log_journal = -1;

/* True when standard error is the stream journald reads, as systemd
 * says with JOURNAL_STREAM=DEVICE:INODE (systemd.exec(5)): each line then
 * starts with its priority, "<3>", and carries no time of its own
 * (journald records it). */
static bool log_under_journald(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/* Sets the lowest level written and the line format for the process. */
void log_configure(int min_level, log_format format)
{
	log_min_level = min_level;
	log_fmt = format;
	log_journal = log_under_journald();
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

/* Where log lines go instead of log_fd; NULL: log_fd. */
static log_sink log_to_sink;

/* Makes log lines go to fd. */
void log_set_fd(int fd)
{
	log_fd = fd;
}

/* Makes log lines go to sink instead (NULL: back to the fd). */
void log_set_sink(log_sink sink)
{
	log_to_sink = sink;
}

/* Writes n bytes of finished log lines where the log goes: the sink, or
 * the fd in one write(2) so lines of concurrent processes never
 * interleave. */
void log_write(const char *lines, size_t n)
{
	if (log_to_sink != NULL) {
		log_to_sink(lines, n);
		return;
	}
	if (write(log_fd, lines, n) < 0) {
		/* standard error is gone: nowhere left to report it */
	}
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

/* True when v is a JSON number (-?int frac? exp?) that key, a count or
 * a measure, holds: it is written as a number in JSON lines.  Names and
 * texts (job, text, message, error, version, ...) stay strings whatever
 * they look like. */
static bool log_is_number(const char *key, const char *v)
{
	static const char *const texts[] = {"job", "text", "message", "error",
	                                    "version", "plugin", "dir", "file",
	                                    "tick", "now", "signal", "reason"};
	const char *p = v;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(key, texts[i]) == 0)
			return false;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return false;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0' && p - v <= 24;
}

/* Starts a line: journald's priority prefix under journald (and no time:
 * journald records it), else the time. */
static void log_start(buf *b, int level)
{
	char ts[ISOTIME_LEN];

	if (log_journal < 0)
		log_journal = log_under_journald();
	if (log_journal) {
		buf_printf(b, "<%d>", log_level_priority[level]);
		buf_puts(b, log_fmt == LOG_FORMAT_JSON ? "{" : "");
		return;
	}
	isotime_now(ts, sizeof(ts));
	if (log_fmt == LOG_FORMAT_JSON)
		buf_printf(b, "{\"ts\":\"%s\",", ts);
	else
		buf_printf(b, "ts=%s ", ts);
}

/* Writes one line with time (none under journald: a priority prefix),
 * level and event, then the npairs key/value pairs of kv (pairs with a
 * NULL or empty value are left out; in JSON, numbers as numbers), with
 * log_write(). */
void log_line(int level, const char *event, const char *const *kv,
              size_t npairs)
{
	buf b = BUF_INIT;
	size_t i;

	if (level < log_min_level)
		return;
	if (level < 0 || level > SWEEP_LOG_ERROR)
		level = SWEEP_LOG_ERROR;
	log_start(&b, level);
	if (log_fmt == LOG_FORMAT_JSON) {
		buf_printf(&b, "\"level\":\"%s\",\"event\":",
		           log_level_names[level]);
		buf_json_string(&b, event);
		for (i = 0; i < npairs; i++) {
			const char *v = kv[2 * i + 1];

			if (v == NULL || v[0] == '\0')
				continue;
			buf_puts(&b, ",");
			buf_json_string(&b, kv[2 * i]);
			buf_puts(&b, ":");
			if (log_is_number(kv[2 * i], v))
				buf_puts(&b, v);
			else
				buf_json_string(&b, v);
		}
		buf_puts(&b, "}\n");
	} else {
		buf_printf(&b, "level=%s event=", log_level_names[level]);
		log_logfmt_value(&b, event);
		for (i = 0; i < npairs; i++) {
			if (kv[2 * i + 1] == NULL || kv[2 * i + 1][0] == '\0')
				continue;
			buf_printf(&b, " %s=", kv[2 * i]);
			log_logfmt_value(&b, kv[2 * i + 1]);
		}
		buf_puts(&b, "\n");
	}
	if (!b.oom)
		log_write(b.data, b.len);
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
