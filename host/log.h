/* log: structured log lines (logfmt or JSON) on standard error. */
#ifndef SWEEPD_LOG_H
#define SWEEPD_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include <sweepd/plugin.h>

typedef enum log_format {
	LOG_FORMAT_LOGFMT = 0,
	LOG_FORMAT_JSON = 1
} log_format;

/* Ends the key/value pairs of log_msg(). */
#define LOG_END SWEEP_LOG_END

/* Most key/value pairs one line carries; further pairs are dropped. */
#define LOG_MAX_PAIRS 32

/* Takes finished log lines (n bytes, each ending in a newline) in place
 * of the log's fd: a live terminal line, a child's report pipe. */
typedef void (*log_sink)(const char *lines, size_t n);

void log_configure(int min_level, log_format format);
void log_set_fd(int fd);
void log_set_sink(log_sink sink);
void log_write(const char *lines, size_t n);
int log_parse_level(const char *text, int *level);
int log_parse_format(const char *text, log_format *format);
void log_line(int level, const char *event, const char *const *kv,
              size_t npairs);
void log_vmsg(int level, const char *event, const char *const *prefix,
              size_t nprefix, va_list ap);
void log_msg(int level, const char *event, ...) SWEEP_SENTINEL;

#endif
