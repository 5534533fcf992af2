/* jobs: every job file of the configuration directory, each with its
 * plugin loaded and its parameters checked. */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dirlist.h"
#include "duration.h"
#include "params.h"
#include "size.h"
#include "suggest.h"
#include "trust.h"
#include "tz.h"

struct jobs {
	job **items;
	size_t count;
	size_t cap;
};

static const char *const jobs_keys[] = {"name", "plugin", "schedule",
                                        "timezone", "timeout", "enabled",
                                        "retries", "catch_up",
                                        "memory_limit", "role",
                                        "database"};
#define JOBS_NKEYS (sizeof(jobs_keys) / sizeof(jobs_keys[0]))

/* Frees one job. */
static void jobs_job_free(job *j)
{
	if (j == NULL)
		return;
	params_free(j->params);
	cron_free(j->cron);
	free(j->file);
	free(j->name);
	free(j->plugin_ref);
	free(j->schedule);
	free(j->timezone);
	free(j->role);
	free(j->database);
	free(j);
}

/* True when name is a usable job name: letters, digits, '_', '-', '.'. */
static int jobs_name_ok(const char *name)
{
	const char *p;

	if (*name == '\0')
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      *p == '.'))
			return 0;
	return 1;
}

/* Reads the [job] section's role into j: a role name of 1 to 63 bytes
 * without control characters, taken exactly as written (runner.c quotes
 * it); "none" and "public" are not roles and a predefined pg_* role
 * grants far more than one job needs.  Problems go to d. */
static void jobs_read_role(job *j, const conf_file *f,
                           const conf_section *sec, diag *d)
{
	const conf_entry *e = conf_entry_find(sec, "role");
	const char *p;

	if (e == NULL)
		return;
	for (p = e->value; *p && (unsigned char)*p >= 0x20 && *p != 0x7f; p++)
		;
	if (*e->value == '\0' || *p != '\0' || strlen(e->value) > 63)
		diag_add(d, f->path, e->line, "role: '%s' is not a role name "
		         "(1 to 63 bytes, no control characters)", e->value);
	else if (strcasecmp(e->value, "none") == 0 ||
	         strcasecmp(e->value, "public") == 0)
		diag_add(d, f->path, e->line, "role: '%s' is no role; name the "
		         "role the job's SQL runs as, or leave 'role' out to run "
		         "it as the login role", e->value);
	else if (strncmp(e->value, "pg_", 3) == 0)
		diag_add(d, f->path, e->line, "role: '%s' is a predefined role, "
		         "which holds far more than one job needs; create a role "
		         "with the job's rights and grant it to sweepd's login "
		         "role", e->value);
	else if ((j->role = strdup(e->value)) == NULL)
		diag_add(d, f->path, e->line, "out of memory");
}

/* Reads the [job] section's database into j: a name declared by a
 * [database NAME] section of sweepd.ini (s), else a problem naming the
 * closest declared one. */
static void jobs_read_database(job *j, const settings *s, const conf_file *f,
                               const conf_section *sec, diag *d)
{
	const conf_entry *e = conf_entry_find(sec, "database");
	const char *known[64], *hint;
	size_t i, n = 0;

	if (e == NULL)
		return;
	if (settings_db_find(s, e->value) != NULL) {
		if ((j->database = strdup(e->value)) == NULL)
			diag_add(d, f->path, e->line, "out of memory");
		return;
	}
	for (i = 0; i < s->ndbs && n < 64; i++)
		known[n++] = s->dbs[i].name;
	hint = suggest_closest(e->value, known, n);
	if (hint)
		diag_add(d, f->path, e->line, "database: no [database %s] in "
		         "%s; did you mean '%s'?", e->value, SETTINGS_FILE, hint);
	else
		diag_add(d, f->path, e->line, "database: no [database %s] in "
		         "%s; declare it there with 'dsn = ...', or leave "
		         "'database' out to use the home database ([sweepd] dsn)",
		         e->value, SETTINGS_FILE);
}

/* Reads the [job] section's resource bounds (memory_limit, default from
 * s) into j; problems go to d. */
static void jobs_read_limits(job *j, const settings *s, const conf_file *f,
                             const conf_section *sec, diag *d)
{
	const conf_entry *e;
	char err[256];

	j->memory_limit = s->memory_limit;
	if ((e = conf_entry_find(sec, "memory_limit")) != NULL &&
	    size_parse(e->value, &j->memory_limit, err, sizeof(err)) != 0)
		diag_add(d, f->path, e->line, "memory_limit: %s", err);
}

/* Reads the [job] section of f into j; problems go to d. */
static void jobs_read_header(job *j, const conf_file *f,
                             const conf_section *sec, diag *d)
{
	const conf_entry *e;
	char err[512];

	conf_check_keys(f->path, sec, "[job] has no key", jobs_keys,
	                JOBS_NKEYS, d);
	if ((e = conf_entry_find(sec, "name")) != NULL &&
	    !jobs_name_ok(e->value))
		diag_add(d, f->path, e->line, "job name '%s' may hold only "
		         "letters, digits, '_', '-' and '.'", e->value);
	if ((e = conf_entry_find(sec, "plugin")) != NULL)
		j->plugin_ref = strdup(e->value);
	else
		diag_add(d, f->path, sec->line, "[job] lacks 'plugin = NAME'; "
		         "name the plugin that runs this job (sweepd "
		         "--list-plugins shows them)");
	if ((e = conf_entry_find(sec, "schedule")) != NULL) {
		j->schedule = strdup(e->value);
		if (cron_parse(e->value, &j->cron, err, sizeof(err)) != 0)
			diag_add(d, f->path, e->line, "schedule: %s", err);
		else if (cron_never(j->cron))
			diag_warn(d, f->path, e->line, "schedule '%s' never "
			          "fires: no date has that day in that month; "
			          "the job runs only when asked (--run)",
			          e->value);
	}
	e = conf_entry_find(sec, "timezone");
	j->timezone = strdup(e ? e->value : "UTC");
	if (e && !tz_valid(e->value))
		diag_add(d, f->path, e->line, "unknown time zone '%s'; use an "
		         "IANA name such as UTC or Europe/Berlin", e->value);
	j->timeout_ms = JOBS_DEFAULT_TIMEOUT_MS;
	if ((e = conf_entry_find(sec, "timeout")) != NULL &&
	    duration_parse(e->value, &j->timeout_ms, err, sizeof(err)) != 0)
		diag_add(d, f->path, e->line, "timeout: %s", err);
	j->catch_up_ms = -1;
	if ((e = conf_entry_find(sec, "catch_up")) != NULL &&
	    duration_parse(e->value, &j->catch_up_ms, err, sizeof(err)) != 0)
		diag_add(d, f->path, e->line, "catch_up: %s (0 turns catch-up "
		         "off)", err);
	j->retries = JOBS_DEFAULT_RETRIES;
	if ((e = conf_entry_find(sec, "retries")) != NULL) {
		int64_t v;
		if (params_parse_int(e->value, &v) != 0 || v < 0 || v > 100)
			diag_add(d, f->path, e->line, "retries: '%s' must be a "
			         "whole number from 0 to 100", e->value);
		else
			j->retries = (int)v;
	}
	j->enabled = true;
	if ((e = conf_entry_find(sec, "enabled")) != NULL &&
	    params_parse_bool(e->value, &j->enabled) != 0)
		diag_add(d, f->path, e->line, "enabled: '%s' is not a "
		         "boolean; write true or false", e->value);
}

/* Reads one job file into a new job (free with jobs_job_free()), or NULL
 * when memory runs out.  Problems go to d and are counted in the job's
 * nerrors; a job with problems, even a file refused or unreadable (named
 * after its file), is still returned so listings can show it. */
static job *jobs_read(const char *path, const settings *s, loader *l,
                      diag *d)
{
	conf_file *f;
	const conf_section *sec, *psec;
	job *j = NULL;
	size_t before = d->count, i;
	char stem[256], err[1024];
	const char *base;

	f = conf_parse(path, s->allow_insecure_files, d);
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		goto out;
	j->file = strdup(path);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(base) - 4), base);
	if (f == NULL) {
		j->name = strdup(stem);
		goto out;
	}
	sec = conf_section_find(f, "job");
	psec = conf_section_find(f, "params");
	for (i = 0; i < f->count; i++) {
		const char *name = f->sections[i].name;
		if (strcmp(name, "job") != 0 && strcmp(name, "params") != 0)
			diag_add(d, path, f->sections[i].line, "unknown section "
			         "[%s]; a job file holds [job] and [params]%s",
			         name, strcmp(name, "sweepd") == 0 ?
			         " (host settings go in " SETTINGS_FILE ")" : "");
	}
	if (sec == NULL) {
		diag_add(d, path, 1, "no [job] section; a job file starts with "
		         "[job] and 'plugin = NAME'");
		j->name = strdup(stem);
		goto out;
	}
	j->line = sec->line;
	jobs_read_header(j, f, sec, d);
	jobs_read_limits(j, s, f, sec, d);
	jobs_read_role(j, f, sec, d);
	jobs_read_database(j, s, f, sec, d);
	j->name = strdup(conf_entry_find(sec, "name") ?
	                 conf_entry_find(sec, "name")->value : stem);
	if (j->name == NULL || j->file == NULL || j->timezone == NULL) {
		jobs_job_free(j);
		j = NULL;
		diag_add(d, path, 0, "out of memory");
		goto out;
	}
	if (j->plugin_ref == NULL)
		goto out;
	j->plugin = loader_resolve(l, j->plugin_ref, s->conf_dir,
	                           s->plugin_dir, err, sizeof(err));
	if (j->plugin == NULL) {
		diag_add(d, path, conf_entry_find(sec, "plugin")->line, "%s",
		         err);
		goto out;
	}
	j->params = params_build(j->plugin->options, j->plugin->ranges,
	                         j->plugin->noptions,
	                         psec, path, sec->line, j->plugin->desc->name,
	                         d);
out:
	conf_free(f);
	if (j && (j->name == NULL || j->file == NULL)) {
		jobs_job_free(j);
		j = NULL;
	}
	if (j)
		j->nerrors = d->count - before;
	return j;
}

/* Adds j to js; 0, or -1 when out of memory. */
static int jobs_add(jobs *js, job *j)
{
	if (js->count == js->cap) {
		size_t cap = js->cap ? js->cap * 2 : 16;
		job **v = realloc(js->items, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		js->items = v;
		js->cap = cap;
	}
	js->items[js->count++] = j;
	return 0;
}

/* Adds "file: message" to d unless d holds it already: a directory
 * refused by a scan of its plugins (loader_scan()) is one problem, not
 * two. */
static void jobs_diag_once(diag *d, const char *file, const char *message)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->items[i].file && strcmp(d->items[i].file, file) == 0 &&
		    strcmp(d->items[i].message, message) == 0)
			return;
	diag_add(d, file, 0, "%s", message);
}

/* Reads every *.ini of the configuration directory but sweepd.ini, in
 * lexical order, loading plugins through l; each file is read, and each
 * plugin loaded, only once it passes the trust checks (trust.c) unless s
 * allows insecure files.  Every problem goes to d as FILE:LINE; a broken
 * or refused file never keeps the others from loading.  Returns the jobs
 * (free with jobs_free()), or NULL when the directory cannot be read, is
 * refused, or memory runs out. */
jobs *jobs_load(const settings *s, loader *l, diag *d)
{
	jobs *js = calloc(1, sizeof(*js));
	char **paths = NULL;
	size_t n = 0, i, k;
	char err[1024];

	if (js == NULL)
		return NULL;
	loader_allow_insecure(l, s->allow_insecure_files);
	if (dirlist_read(s->conf_dir, ".ini", &paths, &n, err,
	                 sizeof(err)) != 0) {
		diag_add(d, NULL, 0, "%s", err);
		jobs_free(js);
		return NULL;
	}
	if (trust_dir(s->conf_dir, s->allow_insecure_files, err,
	              sizeof(err)) != 0) {
		jobs_diag_once(d, s->conf_dir, err);
		dirlist_free(paths, n);
		jobs_free(js);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *base = strrchr(paths[i], '/') + 1;
		job *j;

		if (strcmp(base, SETTINGS_FILE) == 0)
			continue;
		j = jobs_read(paths[i], s, l, d);
		if (j == NULL)
			continue;
		for (k = 0; k < js->count; k++) {
			if (strcmp(js->items[k]->name, j->name) == 0) {
				diag_add(d, j->file, j->line, "job name '%s' is "
				         "already used by %s; job names must be "
				         "unique", j->name, js->items[k]->file);
				j->nerrors++;
				break;
			}
		}
		if (k < js->count || jobs_add(js, j) != 0)
			jobs_job_free(j);
	}
	dirlist_free(paths, n);
	return js;
}

/* Number of jobs. */
size_t jobs_count(const jobs *js)
{
	return js->count;
}

/* The i-th job, in file order. */
const job *jobs_at(const jobs *js, size_t i)
{
	return js->items[i];
}

/* The job called name, or NULL. */
const job *jobs_find(const jobs *js, const char *name)
{
	size_t i;

	for (i = 0; i < js->count; i++)
		if (strcmp(js->items[i]->name, name) == 0)
			return js->items[i];
	return NULL;
}

/* The DSN j's plugin works with: its database's, or the home one. */
const char *jobs_dsn(const job *j, const settings *s)
{
	const settings_db *db = j->database ?
	                        settings_db_find(s, j->database) : NULL;

	return db ? db->dsn : s->dsn;
}

/* Frees every job; js may be NULL. */
void jobs_free(jobs *js)
{
	size_t i;

	if (js == NULL)
		return;
	for (i = 0; i < js->count; i++)
		jobs_job_free(js->items[i]);
	free(js->items);
	free(js);
}

/* The first due tick of j strictly after `after`, or 0 when it has none
 * (disabled, no schedule, or no instant ahead). */
time_t jobs_next(const job *j, time_t after)
{
	time_t next;

	if (!j->enabled || j->cron == NULL ||
	    cron_next(j->cron, j->timezone, after, &next) != 0)
		return 0;
	return next;
}
