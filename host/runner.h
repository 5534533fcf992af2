/* runner: one run (or dry run) of one job: connect, record, call the
 * plugin's init / run or dry_run / teardown, and collect the result. */
#ifndef SWEEPD_RUNNER_H
#define SWEEPD_RUNNER_H

#include <signal.h>
#include <stdbool.h>

#include "jobs.h"
#include "result.h"
#include "settings.h"

int runner_run(const job *j, const settings *s, bool dry_run,
               const volatile sig_atomic_t *stop, result *r);

#endif
