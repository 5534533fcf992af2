/* verify: proof that a job's policy holds (sweepd --verify): the age of
 * the oldest row its condition still matches, measured by its plugin
 * (sweep_plugin.verify, ABI 1.9), against its limit plus one period of
 * its schedule. */
#ifndef SWEEPD_VERIFY_H
#define SWEEPD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "diag.h"
#include "jobs.h"
#include "result.h"
#include "settings.h"

void verify_age_text(double seconds, char *out, size_t outlen);
bool verify_violated(const job *j, const result *r, time_t now);
void verify_render(const job *j, const result *r, time_t now, buf *out);
int verify_jobs(const jobs *js, const settings *s, const char *only,
                buf *out);

#endif
