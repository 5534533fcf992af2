/* params: a job's [params] checked against the options its plugin
 * declares, and held as typed values for the plugin's getters. */
#ifndef SWEEPD_PARAMS_H
#define SWEEPD_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sweepd/plugin.h>

#include "conf.h"
#include "diag.h"

/* One option's value. */
typedef struct param_value {
	const sweep_option *opt;   /* the declaration (plugin-owned) */
	bool set;                  /* given, or defaulted */
	int line;                  /* line it was given on; 0: default */
	char *text;                /* as written */
	int64_t num;               /* INT, BOOL (0/1), DURATION (ms) */
	char *interval;            /* DURATION as PostgreSQL interval text */
	char **items;              /* LIST items */
	size_t nitems;
} param_value;

/* The bounds of an INT or DURATION option (DURATION: milliseconds), from
 * the plugin's sweep_option_range table (ABI 1.6). */
typedef struct params_range {
	bool set;                  /* false: any value of the type */
	int64_t min, max;          /* inclusive */
} params_range;

typedef struct param_set param_set;

int params_parse_int(const char *text, int64_t *out);
int params_parse_bool(const char *text, bool *out);
int params_parse_value(const sweep_option *opt, const char *text,
                       param_value *out, char *err, size_t errlen);
int params_check_range(const param_value *v, const params_range *r,
                       char *err, size_t errlen);
void params_value_clear(param_value *v);
const char *params_type_name(int type);
param_set *params_build(const sweep_option *opts,
                     const params_range *ranges, size_t nopts,
                     const conf_section *sec, const char *file, int line,
                     const char *plugin, diag *d);
const param_value *params_find(const param_set *p, const char *key);
void params_free(param_set *p);

#endif
