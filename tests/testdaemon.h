/* testdaemon: the real sweepd run in the background by a test, through a
 * wrapper shell that writes its pid and, once it exited, its exit status
 * to files (the process is not our child), with its output in a log file.
 * One table of them per test program, between td_begin() and td_end().
 *
 * A daemon must not exit before it is told to: every wait here fails the
 * test, with the logs, when one did.  A daemon sent SIGTERM, SIGINT or
 * SIGKILL (td_signal, td_stop) is told and may exit; the others still may
 * not.  A run started with `once` (sweepd --run) ends by itself. */
#ifndef SWEEPD_TESTDAEMON_H
#define SWEEPD_TESTDAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "testutil.h"

/* Longest wait for a condition, and for a process to exit once told to. */
#define TD_WAIT_S 20
#define TD_STOP_WAIT_S 30
/* Most background processes one test runs. */
#define TD_MAX 4

/* How td_start() runs sweepd. */
typedef struct td_opts {
	const char *prefix;     /* words before the binary: a wrapper
	                           command or environment assignments;
	                           NULL for none */
	const char *args;       /* arguments before the caller's, or NULL */
	bool split;             /* standard output to run/out and standard
	                           error to run/log; else both to run/log */
	bool once;              /* a run that ends by itself, not a daemon */
} td_opts;

/* A background sweepd: its directory run holds log (and out when split),
 * pid and, once it exited, rc. */
typedef struct td_proc {
	char *run;
	pid_t pid;
	int rc;                 /* exit status; -1 while not seen to exit */
	bool daemon;            /* must not exit before it is told to */
	bool told;              /* sent a signal that stops it: may exit */
} td_proc;

void td_begin(const td_opts *defaults);
void td_end(void);
td_proc *td_start(const char *fmt, ...) SWEEP_PRINTF(1, 2);
td_proc *td_start_with(const td_opts *o, const char *fmt, ...)
	SWEEP_PRINTF(2, 3);
bool td_exited(td_proc *p);
void td_check_alive(void);
void td_show_logs(void);
void td_signal(td_proc *p, int sig);
int td_wait(td_proc *p);
int td_stop(td_proc *p);
void td_wait_for(PGconn *c, const char *fmt, ...) SWEEP_PRINTF(2, 3);
char *td_wait_file(const char *path, const char *needle);
void td_wait_log(td_proc *p, const char *needle);
char *td_log(td_proc *p);

#endif
