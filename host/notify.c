/* notify: the daemon's side of systemd's Type=notify protocol
 * (sd_notify(3)): READY=1 once conf.d is loaded, STATUS= with the jobs
 * and the next run, RELOADING=1 on SIGHUP, STOPPING=1, and WATCHDOG=1
 * pings when the unit sets WatchdogSec.  Without NOTIFY_SOCKET (not
 * under systemd) every call does nothing. */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#ifdef SWEEPD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
/* Built without libsystemd: nothing to tell. */
static int sd_notify(int unset, const char *state)
{
	(void)unset;
	(void)state;
	return 0;
}

static int sd_watchdog_enabled(int unset, uint64_t *usec)
{
	(void)unset;
	*usec = 0;
	return 0;
}
#endif

#include "isotime.h"

/* Watchdog: the interval of the pings (half WatchdogSec), in ms, 0 when
 * off or not read yet, and the monotonic time of the next one. */
static int64_t notify_every_ms = -1;
static int64_t notify_next_ms;

/* Writes "STATUS=N jobs; next: JOB at T" into out. */
static void notify_text(char *out, size_t len, const char *prefix,
                        size_t njobs, const char *next_job, time_t next)
{
	struct timespec ts = {next, 0};
	char at[ISOTIME_LEN];

	isotime_format(&ts, at, sizeof(at));
	if (next_job != NULL && next != 0)
		snprintf(out, len, "%sSTATUS=%zu job%s; next run: %s at %s",
		         prefix, njobs, njobs == 1 ? "" : "s", next_job, at);
	else
		snprintf(out, len, "%sSTATUS=%zu job%s; no run scheduled",
		         prefix, njobs, njobs == 1 ? "" : "s");
}

/* Tells systemd the daemon is ready (conf.d loaded), with its status. */
void notify_ready(size_t njobs, const char *next_job, time_t next)
{
	char msg[512];

	notify_text(msg, sizeof(msg), "READY=1\n", njobs, next_job, next);
	sd_notify(0, msg);
}

/* Updates the status line systemctl status shows. */
void notify_status(size_t njobs, const char *next_job, time_t next)
{
	char msg[512];

	notify_text(msg, sizeof(msg), "", njobs, next_job, next);
	sd_notify(0, msg);
}

/* Tells systemd a reload (SIGHUP) began; notify_ready() ends it. */
void notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

/* Tells systemd the daemon is stopping. */
void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: runs end between batches");
}

/* Pings the watchdog when a ping is due at now_ms (monotonic): every half
 * WatchdogSec, so a daemon whose loop hangs is restarted. */
void notify_watchdog(int64_t now_ms)
{
	uint64_t usec = 0;

	if (notify_every_ms < 0) {
		notify_every_ms = sd_watchdog_enabled(0, &usec) > 0
		                  ? (int64_t)(usec / 2000) : 0;
		if (notify_every_ms == 0 && usec > 0)
			notify_every_ms = 1;
	}
	if (notify_every_ms == 0 || now_ms < notify_next_ms)
		return;
	sd_notify(0, "WATCHDOG=1");
	notify_next_ms = now_ms + notify_every_ms;
}

/* Monotonic ms of the next watchdog ping the loop must wake for; 0:
 * none. */
int64_t notify_wake_at(void)
{
	return notify_every_ms > 0 ? notify_next_ms : 0;
}
