/* progress: how far a run is, as its plugin or batch loop says (units
 * done, of a total, or the part of its work done), and what follows from
 * it: the rate, the time left, and the texts that show them (the
 * "progress" log line's values, the terminal's live line and its
 * summary). */
#ifndef SWEEPD_PROGRESS_H
#define SWEEPD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parts of a million: the part of a run's work done. */
#define PROGRESS_WHOLE 1000000

/* One report of progress. */
typedef struct progress_point {
	int64_t done;           /* units done (rows, files, ...) */
	int64_t total;          /* units in all; -1: unknown */
	int64_t ppm;            /* part of the work done, of PROGRESS_WHOLE;
	                           -1: unknown */
	int64_t elapsed_ms;     /* since the run started */
} progress_point;

/* Log values of one point, as text. */
typedef struct progress_values {
	char done[24];
	char total[24];         /* "" when unknown (the line leaves it out) */
	char rate[32];          /* units per second */
	char percent[16];       /* "" when the part done is unknown */
	char eta_s[24];         /* seconds left; "" when unknown */
} progress_values;

void progress_point_set(progress_point *p, int64_t done, int64_t total,
                        int64_t ppm, int64_t elapsed_ms);
double progress_rate(const progress_point *p);
int64_t progress_eta_ms(const progress_point *p);
void progress_values_of(const progress_point *p, progress_values *v);
void progress_line(const char *job, const progress_point *p, char *out,
                   size_t len);
void progress_summary(const char *job, const progress_point *p,
                      int64_t took_ms, char *out, size_t len);

#endif
