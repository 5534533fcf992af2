/* listing: what the configuration commands print: --list-plugins,
 * --list-jobs, --check and the problems found on the way, as text or
 * JSON, and the plugins' options as roff for sweepd.ini(5). */
#include "listing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "isotime.h"
#include "params.h"
#include "pause.h"
#include "status.h"

/* Prints the n items, FILE:LINE: message, one per line on stderr; only
 * those of file when file is not NULL. */
static void print_items(const diag_item *items, size_t n, const char *file)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *line;

		if (file && (items[i].file == NULL ||
		             strcmp(items[i].file, file) != 0))
			continue;
		line = diag_format(&items[i]);
		if (line)
			fprintf(stderr, "%s\n", line);
		free(line);
	}
}

/* Prints every problem of d, then every warning (see print_items()). */
void listing_problems(const diag *d, const char *file)
{
	print_items(d->items, d->count, file);
	print_items(d->warnings, d->nwarnings, file);
}

/* Appends the n items as a JSON array. */
static void problems_json(const diag_item *items, size_t n, buf *b)
{
	size_t i;

	buf_puts(b, "[");
	for (i = 0; i < n; i++) {
		buf_puts(b, i ? ",{\"file\":" : "{\"file\":");
		buf_json_string(b, items[i].file);
		buf_printf(b, ",\"line\":%d,\"message\":", items[i].line);
		buf_json_string(b, items[i].message);
		buf_puts(b, "}");
	}
	buf_puts(b, "]");
}

/* Appends "a, b" (text) or ["a","b"] (JSON) of the jobs that use p. */
static void plugin_users(const jobs *js, const loader_plugin *p, bool json,
                         buf *b)
{
	size_t i, n = 0;

	if (json)
		buf_puts(b, "[");
	for (i = 0; js && i < jobs_count(js); i++) {
		const job *j = jobs_at(js, i);
		if (j->plugin != p)
			continue;
		if (n++)
			buf_puts(b, json ? "," : ", ");
		if (json)
			buf_json_string(b, j->name);
		else
			buf_puts(b, j->name);
	}
	if (json)
		buf_puts(b, "]");
	else if (n == 0)
		buf_puts(b, "(none)");
}

/* --list-plugins: every plugin of l with its options and the jobs of js
 * (NULL: none) that use it, appended to b. */
void listing_plugins(const loader *l, const jobs *js, bool json, buf *b)
{
	size_t i, k;

	if (json)
		buf_puts(b, "[");
	for (i = 0; i < loader_count(l); i++) {
		const loader_plugin *p = loader_at(l, i);
		const sweep_plugin *d = p->desc;

		if (json) {
			buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
			buf_json_string(b, d->name);
			buf_puts(b, ",\"version\":");
			buf_json_string(b, d->version);
			buf_printf(b, ",\"abi\":\"%u.%u\",\"path\":", d->abi_major,
			           d->abi_minor);
			buf_json_string(b, p->path);
			buf_puts(b, ",\"description\":");
			buf_json_string(b, d->description);
			buf_puts(b, ",\"options\":[");
		} else {
			buf_printf(b, "%s %s (ABI %u.%u)\n  path: %s\n  %s\n",
			           d->name, d->version, d->abi_major, d->abi_minor,
			           p->path, d->description);
			buf_puts(b, "  jobs: ");
			plugin_users(js, p, false, b);
			buf_puts(b, "\n  options:\n");
		}
		for (k = 0; k < p->noptions; k++) {
			const sweep_option *o = &p->options[k];
			bool req = (o->flags & SWEEP_OPT_REQUIRED) != 0;

			if (json) {
				buf_puts(b, k ? ",{\"key\":" : "{\"key\":");
				buf_json_string(b, o->key);
				buf_puts(b, ",\"type\":");
				buf_json_string(b, params_type_name(o->type));
				buf_puts(b, ",\"default\":");
				buf_json_string(b, o->default_value);
				buf_printf(b, ",\"required\":%s,\"help\":",
				           req ? "true" : "false");
				buf_json_string(b, o->help);
				buf_puts(b, "}");
				continue;
			}
			buf_printf(b, "    %-16s %-13s %s%s%s\n", o->key,
			           params_type_name(o->type),
			           req ? "required" : "",
			           o->default_value ? "default: " : "",
			           o->default_value ? o->default_value : "");
			if (o->help)
				buf_printf(b, "    %-16s %s\n", "", o->help);
		}
		if (json) {
			buf_puts(b, "],\"jobs\":");
			plugin_users(js, p, true, b);
			buf_puts(b, "}");
		} else {
			buf_puts(b, "\n");
		}
	}
	if (json)
		buf_puts(b, "]\n");
}

/* The first problem recorded for file, or NULL. */
static const char *first_problem(const diag *d, const char *file)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->items[i].file && strcmp(d->items[i].file, file) == 0)
			return d->items[i].message;
	return NULL;
}

/* "yes", "no", or "paused" when the job is in paused (pause_list();
 * NULL: not known, the database did not answer). */
static const char *job_state(const job *j, const PGresult *paused)
{
	if (pause_find(paused, j->name) >= 0)
		return "paused";
	return j->enabled ? "yes" : "no";
}

/* --list-jobs: next runs are those after now; paused as pause_list()
 * gave it (NULL: the database did not answer). */
void listing_jobs(const jobs *js, const diag *d, time_t now,
                      const PGresult *paused, bool json, buf *b)
{
	size_t i;

	if (json)
		buf_puts(b, "[");
	else
		buf_printf(b, "%-28s %-14s %-16s %-14s %-24s %-8s %-12s %s\n",
		           "JOB", "PLUGIN", "SCHEDULE", "TIMEZONE",
		           "NEXT RUN (UTC)", "ENABLED", "DATABASE", "PROBLEMS");
	for (i = 0; i < jobs_count(js); i++) {
		const job *j = jobs_at(js, i);
		char timeout[32], next[ISOTIME_LEN];

		duration_format(j->timeout_ms, timeout, sizeof(timeout));
		status_next_run(j, now, next, sizeof(next));
		if (!json) {
			buf_printf(b, "%-28s %-14s %-16s %-14s %-24s %-8s %-12s "
			           "%zu%s%s\n",
			           j->name, j->plugin_ref ? j->plugin_ref : "-",
			           j->schedule ? j->schedule : "(manual)",
			           j->timezone ? j->timezone : "-",
			           *next ? next : "-", job_state(j, paused),
			           j->database ? j->database : "home", j->nerrors,
			           j->nerrors ? ": " : "",
			           j->nerrors ? first_problem(d, j->file) : "");
			continue;
		}
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_string(b, j->name);
		buf_puts(b, ",\"file\":");
		buf_json_string(b, j->file);
		buf_puts(b, ",\"plugin\":");
		buf_json_string(b, j->plugin_ref);
		buf_puts(b, ",\"schedule\":");
		buf_json_string(b, j->schedule);
		buf_puts(b, ",\"timezone\":");
		buf_json_string(b, j->timezone);
		buf_puts(b, ",\"timeout\":");
		buf_json_string(b, timeout);
		buf_puts(b, ",\"database\":");
		buf_json_string(b, j->database ? j->database : "home");
		buf_puts(b, ",\"next_run\":");
		buf_json_string(b, *next ? next : NULL);
		buf_printf(b, ",\"enabled\":%s,\"errors\":%zu,\"first_error\":",
		           j->enabled ? "true" : "false", j->nerrors);
		buf_json_string(b, j->nerrors ? first_problem(d, j->file) : NULL);
		buf_printf(b, ",\"paused\":%s}", paused == NULL ? "null"
		           : pause_find(paused, j->name) >= 0 ? "true" : "false");
	}
	if (json)
		buf_puts(b, "]\n");
}


/* --check: every problem and warning (on stderr, or in out as JSON),
 * then a count in out; returns the exit status: 2 when there is a
 * problem, or a warning and strict; else 0. */
int listing_check(const jobs *js, const loader *l, const diag *d, bool json,
                  bool strict, buf *out)
{
	bool bad = d->count > 0 || (strict && d->nwarnings > 0);

	if (json) {
		buf_printf(out, "{\"ok\":%s,\"jobs\":%zu,\"plugins\":%zu,"
		           "\"problems\":", bad ? "false" : "true",
		           jobs_count(js), loader_count(l));
		problems_json(d->items, d->count, out);
		buf_puts(out, ",\"warnings\":");
		problems_json(d->warnings, d->nwarnings, out);
		buf_puts(out, ",\"databases\":");
		status_databases(js, true, out);
		buf_puts(out, "}\n");
	} else {
		listing_problems(d, NULL);
		status_databases(js, false, out);
		buf_printf(out, "%zu job%s, %zu plugin%s, %zu problem%s, "
		           "%zu warning%s\n", jobs_count(js),
		           jobs_count(js) == 1 ? "" : "s", loader_count(l),
		           loader_count(l) == 1 ? "" : "s", d->count,
		           d->count == 1 ? "" : "s", d->nwarnings,
		           d->nwarnings == 1 ? "" : "s");
	}
	return bad ? 2 : 0;
}


/* Appends s to b as roff text: backslashes escaped, and a leading '.' or
 * '\'' (a request to roff) made plain. */
static void roff_text(buf *b, const char *s)
{
	if (s == NULL)
		return;
	if (*s == '.' || *s == '\'')
		buf_puts(b, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\e");
		else if (*s == '-')
			buf_puts(b, "\\-");
		else if (*s == '\n')
			buf_puts(b, "\n.br\n");
		else
			buf_printf(b, "%c", *s);
	}
}

/* Appends one option of a plugin as a roff .TP item: key, type, required
 * or default, help. */
static void man_option(const sweep_option *o, buf *b)
{
	buf_puts(b, ".TP\n.B ");
	roff_text(b, o->key);
	buf_puts(b, "\n\\fI");
	roff_text(b, params_type_name(o->type));
	buf_puts(b, "\\fR");
	if (o->flags & SWEEP_OPT_REQUIRED)
		buf_puts(b, ", required");
	if (o->default_value) {
		buf_puts(b, ", default \\(lq");
		roff_text(b, o->default_value);
		buf_puts(b, "\\(rq");
	}
	buf_puts(b, ".\n");
	if (o->help) {
		buf_puts(b, ".br\n");
		roff_text(b, o->help);
		buf_puts(b, "\n");
	}
}

/* Appends, for sweepd.ini(5), a roff subsection per plugin of l: its
 * description and every [params] key it declares, from the same
 * descriptors that the host checks job files against. */
void listing_man_plugins(const loader *l, buf *b)
{
	size_t i, k;

	for (i = 0; i < loader_count(l); i++) {
		const loader_plugin *p = loader_at(l, i);

		buf_puts(b, ".SS ");
		roff_text(b, p->desc->name);
		buf_puts(b, "\n");
		roff_text(b, p->desc->description);
		buf_puts(b, "\n");
		for (k = 0; k < p->noptions; k++)
			man_option(&p->options[k], b);
	}
}
