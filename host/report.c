/* report: the child-to-supervisor protocol.  Every message is one line,
 * "KEY VALUE\n", written with one write(2) (shorter than PIPE_BUF, so it
 * arrives whole), except "output N\n" which N bytes of text follow:
 *
 *   run N        the run's history row is N
 *   backend P    the run opened a database session served by backend P
 *   phase NAME   the plugin enters init, run, dry_run or teardown
 *   progress D T P E  D units done of T (-1: unknown), P parts per
 *                million of the work done (-1: unknown), E ms since the
 *                run started
 *   log N        then N bytes: log lines (only when attached live)
 *   output N     then N bytes: the result as the CLI prints it
 *   end N        the runner returned with outcome N
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The pipe of this process to its supervisor; -1: none. */
static int report_fd = -1;
/* The supervisor draws a live progress line and writes the log lines. */
static bool report_is_live;

/* Makes the reports of this process go to fd (-1: nowhere); live: the
 * supervisor draws the run's progress on a terminal, so the log lines go
 * to it too (report_log()). */
void report_attach(int fd, bool live)
{
	report_fd = fd;
	report_is_live = fd >= 0 && live;
}

/* True when the supervisor draws the run's progress live. */
bool report_live(void)
{
	return report_is_live;
}

/* Writes all of data to the supervisor, retrying short writes; a lost
 * supervisor is not an error of the run. */
static void report_write(const char *data, size_t n)
{
	while (report_fd >= 0 && n > 0) {
		ssize_t w = write(report_fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		data += w;
		n -= (size_t)w;
	}
}

/* Writes the line "key value\n". */
static void report_line(const char *key, const char *value)
{
	char line[96];
	int n;

	if (report_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", key, value);
	if (n > 0 && (size_t)n < sizeof(line))
		report_write(line, (size_t)n);
}

/* Reports the run's history row: its id and `at`. */
void report_run_id(int64_t run_id, time_t run_at)
{
	char v[48];

	snprintf(v, sizeof(v), "%" PRId64 " %lld", run_id, (long long)run_at);
	report_line("run", v);
}

/* Reports a database backend the run opened. */
void report_backend(int pid)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", pid);
	report_line("backend", v);
}

/* Reports the plugin phase the run enters. */
void report_phase(const char *phase)
{
	report_line("phase", phase);
}

/* Reports how far the run is. */
void report_progress(const progress_point *p)
{
	char v[96];

	snprintf(v, sizeof(v), "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64,
	         p->done, p->total, p->ppm, p->elapsed_ms);
	report_line("progress", v);
}

/* Hands n bytes of log lines to the supervisor, in one write(2) when
 * they fit a pipe's atomic size, so another writer of the pipe never
 * splits them from their header. */
void report_log(const char *text, size_t n)
{
	buf b = BUF_INIT;

	buf_printf(&b, "log %zu\n", n);
	buf_append(&b, text, n);
	if (!b.oom)
		report_write(buf_str(&b), b.len);
	buf_free(&b);
}

/* Reports the result as the CLI prints it. */
void report_output(const buf *text)
{
	char v[24];

	snprintf(v, sizeof(v), "%zu", text->len);
	report_line("output", v);
	report_write(buf_str(text), text->len);
}

/* Reports that the runner returned with outcome. */
void report_end(int outcome)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", outcome);
	report_line("end", v);
}

/* An empty report. */
void report_init(report *r)
{
	memset(r, 0, sizeof(*r));
}

/* Reads "progress D T P E" into r. */
static int report_apply_progress(report *r, const char *v)
{
	long long d, t, p, e;

	if (sscanf(v, "%lld %lld %lld %lld", &d, &t, &p, &e) != 4)
		return -1;
	r->progress.done = d;
	r->progress.total = t;
	r->progress.ppm = p;
	r->progress.elapsed_ms = e;
	r->progress_seq++;
	return 0;
}

/* Applies one message line (without its newline) to r.  Returns how many
 * bytes of text must follow it (for "output" and "log", whose buffer it
 * sets *to), 0 otherwise, -1 when the line is not part of the protocol. */
static long long report_apply(report *r, const char *line, buf **to)
{
	const char *v = strchr(line, ' ');
	long long n;

	if (v == NULL)
		return -1;
	v++;
	n = strtoll(v, NULL, 10);
	if (strncmp(line, "run ", 4) == 0) {
		char *end;

		r->run_id = strtoll(v, &end, 10);
		r->run_at = (time_t)strtoll(end, NULL, 10);
	}
	else if (strncmp(line, "backend ", 8) == 0) {
		if (r->nbackends < REPORT_MAX_BACKENDS)
			r->backends[r->nbackends++] = (int)n;
	} else if (strncmp(line, "phase ", 6) == 0)
		snprintf(r->phase, sizeof(r->phase), "%s", v);
	else if (strncmp(line, "end ", 4) == 0) {
		r->ended = true;
		r->outcome = (int)n;
	} else if (strncmp(line, "progress ", 9) == 0)
		return report_apply_progress(r, v);
	else if (strncmp(line, "output ", 7) == 0 ||
	         strncmp(line, "log ", 4) == 0) {
		*to = line[0] == 'o' ? &r->output : &r->log;
		return n < 0 ? -1 : n;
	} else
		return -1;
	return 0;
}

/* Feeds n bytes read from the child's pipe into r.  Returns 0, or -1 when
 * the child wrote something that is not the protocol (the rest is then
 * ignored). */
int report_feed(report *r, const char *data, size_t n)
{
	buf_append(&r->pending, data, n);
	for (;;) {
		const char *s = buf_str(&r->pending);
		const char *nl = memchr(s, '\n', r->pending.len);
		size_t used;
		long long extra;
		buf *to = NULL;

		if (nl == NULL)
			return r->pending.oom ? -1 : 0;
		r->pending.data[nl - s] = '\0';
		extra = report_apply(r, s, &to);
		if (extra < 0)
			return -1;
		used = (size_t)(nl - s) + 1;
		if (extra > 0) {
			if (r->pending.len - used < (size_t)extra) {
				r->pending.data[nl - s] = '\n';
				return 0;
			}
			buf_append(to, s + used, (size_t)extra);
			used += (size_t)extra;
		}
		memmove(r->pending.data, r->pending.data + used,
		        r->pending.len - used);
		r->pending.len -= used;
		r->pending.data[r->pending.len] = '\0';
	}
}

/* Frees what r holds. */
void report_free(report *r)
{
	buf_free(&r->output);
	buf_free(&r->log);
	buf_free(&r->pending);
}
