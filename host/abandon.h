/* abandon: the history tells the truth about runs whose process is gone.
 * A `running` row whose process died (a SIGKILL, a crash of the whole
 * host, a database that went away mid-run) is marked `abandoned` with the
 * reason, the backend it left is ended, and its tick may run again. */
#ifndef SWEEPD_ABANDON_H
#define SWEEPD_ABANDON_H

#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

/* A tick whose run was abandoned, for the scheduler to run again. */
typedef struct abandon_tick {
	char *job;
	time_t tick;            /* 0: the run was not for a tick */
} abandon_tick;

/* How long another host's run may hold no lock before it counts as gone
 * (a run takes its job's lock within seconds of claiming its row). */
#define ABANDON_AFTER_S 60

int abandon_sweep(PGconn *c, abandon_tick **ticks, size_t *n, char *err,
                  size_t errlen);
void abandon_ticks_free(abandon_tick *ticks, size_t n);

#endif
