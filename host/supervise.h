/* supervise: one run of one job in a child process of its own, the same
 * way for `sweepd --run`, `--dry-run` and the daemon: the job's timeout
 * and stop_grace, its memory_limit, its output captured into the log, the
 * child's reports (history row, backends, plugin phase), and an ending
 * that is always recorded, with the database work of the run ended with
 * it: a crash, an exit() from plugin code, a hang or a kill costs that
 * run only. */
#ifndef SWEEPD_SUPERVISE_H
#define SWEEPD_SUPERVISE_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "capture.h"
#include "jobs.h"
#include "report.h"
#include "settings.h"

/* How the child hands its result to the CLI. */
typedef enum sup_render {
	SUP_RENDER_NONE = 0,    /* the daemon: the history row is enough */
	SUP_RENDER_TEXT = 1,
	SUP_RENDER_JSON = 2,
	SUP_RENDER_VERIFY = 3   /* sweepd --verify's line (verify.c) */
} sup_render;

/* The supervisor's own database session (cancelling and ending the run's
 * backends, recording an ending the child could not), or NULL when the
 * database does not answer. */
typedef PGconn *(*sup_db_fn)(void *arg);

typedef struct sup_opts {
	bool dry_run;
	time_t tick;            /* the tick this run is for; 0: run now */
	bool catch_up;          /* the tick was missed while no sweepd ran */
	bool schema_ready;      /* sweepd's schema is known to be current */
	int64_t run_id;         /* the tick's history row, which the daemon
	                           claimed for this run; 0: the run claims */
	int retries;            /* transient failures tried again */
	bool verify_only;       /* with dry_run: measure the policy only */
	int64_t timeout_ms;     /* from the tick (or the start); 0: none */
	int64_t memory_limit;   /* bytes of data the child may map; 0: none */
	sup_render render;
	bool live;              /* the CLI draws the run's progress on its
	                           terminal (live.h); the child's log lines
	                           then come through the report pipe */
	void (*child_close)(void *arg); /* in the child: closes what the
	                                   parent holds (its fds, sockets) */
	sup_db_fn db;
	void *arg;              /* for child_close and db */
} sup_opts;

/* Why the supervisor asked a run to stop. */
typedef enum sup_stop_why {
	SUP_RUNNING = 0,
	SUP_STOP_ASKED = 1,     /* a signal to sweepd, a daemon stopping */
	SUP_STOP_TIMEOUT = 2    /* the run reached its timeout */
} sup_stop_why;

/* One supervised run.  The caller owns it; sup_free() releases it. */
typedef struct sup_run {
	pid_t pid;
	char *job;              /* name (the job may be reloaded meanwhile) */
	time_t tick;
	sup_opts opts;
	int64_t stop_grace_ms;
	int report_fd, out_fd, err_fd;  /* read ends; -1 once at EOF */
	report rep;
	unsigned progress_seen; /* rep.progress_seq last drawn */
	capture cap;
	int64_t started_ms;     /* monotonic */
	int64_t claimed_ms;     /* monotonic: its history row was reported;
	                           0: not yet */
	int64_t deadline_ms;    /* monotonic: ask to stop; 0: none */
	int64_t kill_ms;        /* monotonic: SIGKILL; 0: not yet;
	                           INT64_MAX: done */
	sup_stop_why stop;
	char stop_phase[16];    /* the plugin phase when it was asked */
	struct timespec started_at; /* CLOCK_REALTIME */
	bool reaped;
	int status;             /* wait status, once reaped */
	struct rusage ru;
	const char *state;      /* once reaped: what the supervisor recorded
	                           (DB_CRASHED, DB_TIMEOUT, DB_STOPPED), or
	                           NULL when the run recorded its own end */
	char why[256];          /* the error recorded with state */
} sup_run;

int sup_start(sup_run *r, const job *j, const settings *s,
              const sup_opts *o);
size_t sup_pollfds(const sup_run *r, struct pollfd *fds);
void sup_read(sup_run *r);
void sup_stop(sup_run *r, sup_stop_why why);
void sup_enforce(sup_run *r, int64_t now_ms);
int64_t sup_wake_at(const sup_run *r);
bool sup_reap(sup_run *r);
void sup_free(sup_run *r);
int sup_foreground(const job *j, const settings *s, const sup_opts *o,
                   buf *out);

#endif
