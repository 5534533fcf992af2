/* live: a run's progress drawn in place on the terminal of standard
 * error.  Between live_begin() and live_end() every log line of the
 * process goes through live_sink(), which erases the line, writes the log
 * line and draws the line again, so neither garbles the other. */
#include "live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Carriage return, then erase to the end of the line (ECMA-48 EL). */
#define LIVE_ERASE "\r\033[K"

/* The one live line of this process. */
static struct {
	bool on;                /* between live_begin() and live_end() */
	char job[128];
	progress_point last;    /* the last progress shown */
	bool shown;             /* a progress was shown: the line is drawn */
} live;

/* True when a live line is wanted: standard error is a terminal that
 * understands it (TERM is not "dumb") and the log is for people (logfmt,
 * not JSON). */
bool live_wanted(log_format format)
{
	const char *term = getenv("TERM");

	return format == LOG_FORMAT_LOGFMT && isatty(STDERR_FILENO) &&
	       (term == NULL || strcmp(term, "dumb") != 0);
}

/* Writes all n bytes of text to standard error. */
static void live_put(const char *text, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, text, n);

		if (w <= 0)
			return;
		text += w;
		n -= (size_t)w;
	}
}

/* Columns of the terminal, 80 when it does not say. */
static size_t live_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Draws the line afresh from the last progress, cut to the terminal's
 * width less one (a full line would wrap, and \r then returns to its
 * second row only). */
static void live_draw(void)
{
	char text[256];
	size_t n, cols = live_columns();

	progress_line(live.job, &live.last, text, sizeof(text));
	n = strlen(text);
	if (cols > 1 && n > cols - 1)
		n = cols - 1;
	live_put(LIVE_ERASE, strlen(LIVE_ERASE));
	live_put(text, n);
}

/* log_sink while the line is drawn: erases it, writes the log lines and
 * draws it again below them. */
static void live_sink(const char *lines, size_t n)
{
	if (live.shown)
		live_put(LIVE_ERASE, strlen(LIVE_ERASE));
	live_put(lines, n);
	if (live.shown)
		live_draw();
}

/* Starts the live line of a run of job: log lines go round it from now
 * on.  Nothing is drawn before the first progress. */
void live_begin(const char *job)
{
	memset(&live, 0, sizeof(live));
	live.on = true;
	snprintf(live.job, sizeof(live.job), "%s", job);
	log_set_sink(live_sink);
}

/* Draws p on the line. */
void live_show(const progress_point *p)
{
	if (!live.on)
		return;
	live.last = *p;
	live.shown = true;
	live_draw();
}

/* Ends the live line: when a progress was shown, the line becomes the
 * run's summary (units done, took_ms, rate) ending in a newline; log
 * lines go straight to standard error again. */
void live_end(int64_t took_ms)
{
	char text[256];

	if (!live.on)
		return;
	log_set_sink(NULL);
	if (live.shown) {
		progress_summary(live.job, &live.last, took_ms, text,
		                 sizeof(text));
		live_put(LIVE_ERASE, strlen(LIVE_ERASE));
		live_put(text, strlen(text));
		live_put("\n", 1);
	}
	live.on = live.shown = false;
}
