/* sched: the daemon.  Sleeps until the next due instant, starts each due
 * run in a child process, enforces timeouts and the concurrency bound,
 * reloads conf.d on SIGHUP and stops cleanly on SIGTERM/SIGINT. */
#ifndef SWEEPD_SCHED_H
#define SWEEPD_SCHED_H

#include "settings.h"

int sched_run(const settings *s);

#endif
