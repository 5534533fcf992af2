/* params: a job's [params] checked against the options its plugin
 * declares, and held as typed values for the plugin's getters. */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "duration.h"
#include "sqltext.h"
#include "tz.h"

struct param_set {
	param_value *values;   /* one per declared option, in its order */
	size_t count;
};

/* Name of an option type as users read it in messages and listings. */
const char *params_type_name(int type)
{
	switch (type) {
	case SWEEP_OPT_STRING: return "string";
	case SWEEP_OPT_INT: return "integer";
	case SWEEP_OPT_BOOL: return "boolean";
	case SWEEP_OPT_DURATION: return "duration";
	case SWEEP_OPT_LIST: return "list";
	case SWEEP_OPT_IDENT: return "identifier";
	case SWEEP_OPT_SQL_EXPR: return "sql-condition";
	case SWEEP_OPT_TIMEZONE: return "timezone";
	default: return "unknown";
	}
}

/* Parses a decimal integer with optional sign, nothing else around it;
 * 0, or -1 with *out unchanged. */
int params_parse_int(const char *text, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 ||
	    isspace((unsigned char)text[0]))
		return -1;
	*out = v;
	return 0;
}

/* Parses true/yes/on/1 or false/no/off/0, any case; 0 or -1. */
int params_parse_bool(const char *text, bool *out)
{
	if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
	    !strcasecmp(text, "on") || !strcmp(text, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(text, "false") || !strcasecmp(text, "no") ||
	    !strcasecmp(text, "off") || !strcmp(text, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* Splits a comma-separated list into trimmed, non-empty items. */
static int params_parse_list(const char *text, param_value *out, char *err,
                             size_t errlen)
{
	const char *p = text;
	size_t cap = 0;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char **grown;

		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0) {
			snprintf(err, errlen, "list '%s' has an empty item; "
			         "write items separated by commas: a, b", text);
			return -1;
		}
		if (out->nitems == cap) {
			cap = cap ? cap * 2 : 4;
			grown = realloc(out->items, cap * sizeof(*grown));
			if (grown == NULL)
				goto oom;
			out->items = grown;
		}
		if ((out->items[out->nitems] = strndup(p, len)) == NULL)
			goto oom;
		out->nitems++;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Parses a duration into out: its milliseconds and its PostgreSQL
 * interval text, calendar units kept. */
static int params_parse_duration(const char *text, param_value *out,
                                 char *err, size_t errlen)
{
	duration_span d;
	char interval[128];

	if (duration_parse_span(text, &d, err, errlen) != 0)
		return -1;
	duration_interval(&d, interval, sizeof(interval));
	out->num = duration_span_ms(&d);
	if ((out->interval = strdup(interval)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Parses text as a value of opt's type into out (cleared first; free with
 * params_value_clear()).  Returns 0, or -1 with a message that says what
 * the value must look like. */
int params_parse_value(const sweep_option *opt, const char *text,
                       param_value *out, char *err, size_t errlen)
{
	char **parts;
	size_t nparts;
	int64_t example;
	bool b;

	memset(out, 0, sizeof(*out));
	out->opt = opt;
	out->set = true;
	if ((out->text = strdup(text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	switch (opt->type) {
	case SWEEP_OPT_STRING:
		return 0;
	case SWEEP_OPT_INT:
		if (params_parse_int(text, &out->num) == 0)
			return 0;
		/* The example: the option's default when that is a number. */
		if (opt->default_value == NULL ||
		    params_parse_int(opt->default_value, &example) != 0)
			example = 5000;
		snprintf(err, errlen, "'%s' is not an integer; write digits "
		         "only, e.g. %s = %" PRId64, text, opt->key, example);
		return -1;
	case SWEEP_OPT_BOOL:
		if (params_parse_bool(text, &b) == 0) {
			out->num = b;
			return 0;
		}
		snprintf(err, errlen, "'%s' is not a boolean; write true or "
		         "false", text);
		return -1;
	case SWEEP_OPT_DURATION:
		return params_parse_duration(text, out, err, errlen);
	case SWEEP_OPT_LIST:
		return params_parse_list(text, out, err, errlen);
	case SWEEP_OPT_IDENT:
		if (sqltext_ident_split(text, &parts, &nparts, err, errlen) != 0)
			return -1;
		sqltext_parts_free(parts, nparts);
		return 0;
	case SWEEP_OPT_SQL_EXPR:
		return sqltext_expr_check(text, err, errlen);
	case SWEEP_OPT_TIMEZONE:
		if (tz_valid(text))
			return 0;
		snprintf(err, errlen, "unknown time zone '%s'; use an IANA "
		         "name such as UTC or Europe/Berlin", text);
		return -1;
	default:
		snprintf(err, errlen, "option '%s' has unknown type %d",
		         opt->key, (int)opt->type);
		return -1;
	}
}

/* Writes the value n of an INT, or the milliseconds n of a DURATION, as
 * a user would write it. */
static void params_num_text(const sweep_option *opt, int64_t n, char *out,
                            size_t outlen)
{
	if (opt->type == SWEEP_OPT_DURATION)
		duration_format(n, out, outlen);
	else
		snprintf(out, outlen, "%" PRId64, n);
}

/* Checks the parsed value v of an INT or DURATION option against its
 * declared range r (no range: any value).  Returns 0, or -1 with a
 * message giving the values allowed. */
int params_check_range(const param_value *v, const params_range *r,
                       char *err, size_t errlen)
{
	char lo[48], hi[48];

	if (r == NULL || !r->set || (v->num >= r->min && v->num <= r->max))
		return 0;
	params_num_text(v->opt, r->min, lo, sizeof(lo));
	params_num_text(v->opt, r->max, hi, sizeof(hi));
	if (r->max == INT64_MAX)
		snprintf(err, errlen, "%s is too small: write at least %s",
		         v->text, lo);
	else if (r->min == INT64_MIN)
		snprintf(err, errlen, "%s is too large: write at most %s",
		         v->text, hi);
	else
		snprintf(err, errlen, "%s is out of range: write %s to %s",
		         v->text, lo, hi);
	return -1;
}

/* Frees what a value holds and zeroes it. */
void params_value_clear(param_value *v)
{
	size_t i;

	for (i = 0; i < v->nitems; i++)
		free(v->items[i]);
	free(v->items);
	free(v->text);
	free(v->interval);
	memset(v, 0, sizeof(*v));
}

/* Parses the value the entry e gives opt into v and checks it against its
 * range r (may be NULL); a problem goes to d at e's line, and an age of
 * 0 (SWEEP_OPT_AGE) is a warning there. */
static void params_take(const sweep_option *opt, const params_range *r,
                        const conf_entry *e, param_value *v,
                        const char *file, diag *d)
{
	char err[512];

	if (params_parse_value(opt, e->value, v, err, sizeof(err)) != 0 ||
	    params_check_range(v, r, err, sizeof(err)) != 0)
		diag_add(d, file, e->line, "%s (%s): %s", opt->key,
		         params_type_name(opt->type), err);
	else if ((opt->flags & SWEEP_OPT_AGE) &&
	         opt->type == SWEEP_OPT_DURATION && v->num == 0)
		diag_warn(d, file, e->line, "%s = %s: everything goes once its "
		          "time has passed, which is every row of a creation "
		          "time; right only for a deadline such as expires_at",
		          opt->key, e->value);
	v->line = e->line;
}

/* Checks sec (the job's [params], may be NULL) against the nopts declared
 * options, with their ranges (one per option; NULL: none), and returns
 * their values (free with params_free()); NULL when any is wrong, every
 * problem added to d as FILE:LINE.  A missing required parameter is
 * reported at [params], or at line when there is none. */
param_set *params_build(const sweep_option *opts,
                     const params_range *ranges, size_t nopts,
                     const conf_section *sec, const char *file, int line,
                     const char *plugin, diag *d)
{
	param_set *p = calloc(1, sizeof(*p));
	size_t before = d->count, i, j;
	char err[512];

	if (p == NULL || (nopts &&
	    (p->values = calloc(nopts, sizeof(*p->values))) == NULL)) {
		free(p);
		diag_add(d, file, 0, "out of memory");
		return NULL;
	}
	p->count = nopts;
	if (sec != NULL) {
		const char **keys = calloc(nopts ? nopts : 1, sizeof(*keys));
		buf owner = BUF_INIT;

		for (i = 0; keys && i < nopts; i++)
			keys[i] = opts[i].key;
		buf_printf(&owner, "plugin %s has no parameter", plugin);
		if (keys == NULL || owner.oom)
			diag_add(d, file, sec->line, "out of memory");
		else
			conf_check_keys(file, sec, buf_str(&owner), keys,
			                nopts, d);
		buf_free(&owner);
		free(keys);
	}
	for (j = 0; j < nopts; j++) {
		const conf_entry *e = conf_entry_find(sec, opts[j].key);
		param_value *v = &p->values[j];

		v->opt = &opts[j];
		if (e != NULL) {
			params_take(&opts[j], ranges ? &ranges[j] : NULL, e, v,
			            file, d);
		} else if (opts[j].default_value != NULL) {
			if (params_parse_value(&opts[j], opts[j].default_value,
			                       v, err, sizeof(err)) != 0)
				diag_add(d, file, 0, "plugin %s: default of '%s' "
				         "is invalid: %s", plugin, opts[j].key, err);
		} else if (opts[j].flags & SWEEP_OPT_REQUIRED) {
			diag_add(d, file, sec ? sec->line : line,
			         "missing required parameter '%s' (%s%s%s); add "
			         "'%s = ...' under [params]", opts[j].key,
			         params_type_name(opts[j].type),
			         opts[j].help ? ": " : "",
			         opts[j].help ? opts[j].help : "", opts[j].key);
		}
	}
	if (d->count > before) {
		params_free(p);
		return NULL;
	}
	return p;
}

/* The value of the declared option key, or NULL when key is not declared. */
const param_value *params_find(const param_set *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->count; i++)
		if (strcmp(p->values[i].opt->key, key) == 0)
			return &p->values[i];
	return NULL;
}

/* Frees p and its values; p may be NULL. */
void params_free(param_set *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->count; i++)
		params_value_clear(&p->values[i]);
	free(p->values);
	free(p);
}
