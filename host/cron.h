/* cron: parse schedules (cron expressions, @aliases, "every 1h") and find
 * their fire instants in a time zone. */
#ifndef SWEEPD_CRON_H
#define SWEEPD_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct cron_expr cron_expr;

int cron_parse(const char *text, cron_expr **out, char *err, size_t errlen);
void cron_free(cron_expr *e);
int cron_next(const cron_expr *e, const char *tz, time_t after, time_t *next);
int cron_prev(const cron_expr *e, const char *tz, time_t since, time_t at,
              time_t *prev);
int64_t cron_period(const cron_expr *e, const char *tz, time_t after);
bool cron_never(const cron_expr *e);

#endif
