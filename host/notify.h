/* notify: the daemon's side of systemd's Type=notify protocol
 * (sd_notify(3)): READY=1 once conf.d is loaded, STATUS= with the jobs
 * and the next run, RELOADING=1 on SIGHUP, STOPPING=1, and WATCHDOG=1
 * pings when the unit sets WatchdogSec.  Without NOTIFY_SOCKET (not
 * under systemd) every call does nothing. */
#ifndef SWEEPD_NOTIFY_H
#define SWEEPD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

void notify_ready(size_t njobs, const char *next_job, time_t next);
void notify_status(size_t njobs, const char *next_job, time_t next);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(int64_t now_ms);
int64_t notify_wake_at(void);

#endif
