/* live: the one line on which `sweepd --run` draws a run's progress when
 * its standard error is a terminal: rows done, rate, and the part done
 * and time left when known, redrawn in place; log lines written
 * meanwhile take the line's place and it is drawn again below them; a
 * summary line ends it.  On a pipe or a file there is no live line (the
 * run logs its progress instead). */
#ifndef SWEEPD_LIVE_H
#define SWEEPD_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "progress.h"

bool live_wanted(log_format format);
void live_begin(const char *job);
void live_show(const progress_point *p);
void live_end(int64_t took_ms);

#endif
