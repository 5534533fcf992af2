/* ops: the operators' commands of the command line: --history,
 * --pause and --resume. */
#ifndef SWEEPD_OPS_H
#define SWEEPD_OPS_H

#include <stdbool.h>

#include "buf.h"
#include "jobs.h"
#include "settings.h"

int ops_parse_limit(const char *text, long *limit);
int ops_history(const jobs *js, const settings *s, const char *name,
                long limit, bool json, buf *out);
int ops_pause(const settings *s, const char *name, bool pause, bool json,
              buf *out);

#endif
