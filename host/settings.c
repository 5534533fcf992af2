/* settings: the host's own settings, from built-in defaults, the [sweepd]
 * section of conf.d/sweepd.ini, the environment and the command line, each
 * overriding the one before. */
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "duration.h"
#include "params.h"
#include "size.h"

#ifndef SWEEPD_DEFAULT_CONF_DIR
#define SWEEPD_DEFAULT_CONF_DIR "/etc/sweepd/conf.d"
#endif
#ifndef SWEEPD_PLUGIN_REL_DIR
#define SWEEPD_PLUGIN_REL_DIR "../lib/sweepd/plugins"
#endif

/* A day in ms: the least duration of a setting that goes by whole days
 * (settings_days). */
#define SETTINGS_DAY_MS INT64_C(86400000)

/* How a setting's text becomes its value. */
typedef enum settings_kind {
	SETTINGS_TEXT,          /* char *, as written */
	SETTINGS_PATH,          /* char *, relative to the conf dir in the file */
	SETTINGS_LEVEL,         /* int log level */
	SETTINGS_FORMAT,        /* log_format */
	SETTINGS_COUNT,         /* int64_t, at least 0 */
	SETTINGS_DURATION,      /* int64_t milliseconds */
	SETTINGS_SIZE,          /* int64_t bytes */
	SETTINGS_BOOL,          /* bool */
	SETTINGS_LISTEN         /* char *, IP:PORT (listen.h); "" unsets */
} settings_kind;

/* Every setting of [sweepd]: key, environment variable(s), option, kind,
 * where its command-line text and its value live. */
static const struct settings_def {
	const char *key;
	const char *env;
	const char *env2;       /* a second variable, read after env */
	const char *option;
	settings_kind kind;
	size_t cli;             /* offset in settings_cli */
	size_t value;           /* offset in settings */
} settings_defs[] = {
	{"dsn", "SWEEPD_DSN", "DATABASE_URL", "--dsn", SETTINGS_TEXT,
	 offsetof(settings_cli, dsn), offsetof(settings, dsn)},
	{"plugin_dir", "SWEEPD_PLUGIN_DIR", NULL, "--plugin-dir", SETTINGS_PATH,
	 offsetof(settings_cli, plugin_dir), offsetof(settings, plugin_dir)},
	{"log_level", "SWEEPD_LOG_LEVEL", NULL, "--log-level", SETTINGS_LEVEL,
	 offsetof(settings_cli, log_level), offsetof(settings, log_level)},
	{"log_format", "SWEEPD_LOG_FORMAT", NULL, "--log-format",
	 SETTINGS_FORMAT, offsetof(settings_cli, log_format),
	 offsetof(settings, log_format)},
	{"max_concurrent", "SWEEPD_MAX_CONCURRENT", NULL, "--max-concurrent",
	 SETTINGS_COUNT, offsetof(settings_cli, max_concurrent),
	 offsetof(settings, max_concurrent)},
	{"stop_grace", "SWEEPD_STOP_GRACE", NULL, "--stop-grace",
	 SETTINGS_DURATION, offsetof(settings_cli, stop_grace),
	 offsetof(settings, stop_grace_ms)},
	{"history_keep", "SWEEPD_HISTORY_KEEP", NULL, "--history-keep",
	 SETTINGS_DURATION, offsetof(settings_cli, history_keep),
	 offsetof(settings, history_keep_ms)},
	{"audit_keep", "SWEEPD_AUDIT_KEEP", NULL, "--audit-keep",
	 SETTINGS_DURATION, offsetof(settings_cli, audit_keep),
	 offsetof(settings, audit_keep_ms)},
	{"memory_limit", "SWEEPD_MEMORY_LIMIT", NULL, "--memory-limit",
	 SETTINGS_SIZE, offsetof(settings_cli, memory_limit),
	 offsetof(settings, memory_limit)},
	{"watch", "SWEEPD_WATCH", NULL, "--watch", SETTINGS_BOOL,
	 offsetof(settings_cli, watch), offsetof(settings, watch)},
	{"allow_insecure_files", "SWEEPD_ALLOW_INSECURE_FILES", NULL,
	 "--allow-insecure-files", SETTINGS_BOOL,
	 offsetof(settings_cli, allow_insecure_files),
	 offsetof(settings, allow_insecure_files)},
	{"metrics_file", "SWEEPD_METRICS_FILE", NULL, "--metrics-file",
	 SETTINGS_PATH, offsetof(settings_cli, metrics_file),
	 offsetof(settings, metrics_file)},
	{"http_listen", "SWEEPD_HTTP_LISTEN", NULL, "--http-listen",
	 SETTINGS_LISTEN, offsetof(settings_cli, http_listen),
	 offsetof(settings, http_listen)},
};

#define SETTINGS_NDEFS (sizeof(settings_defs) / sizeof(settings_defs[0]))

/* The durations that go by whole days (where their value lives): a
 * shorter one is refused, saying why and what to write; 0 too, unless
 * zero_ok (forever). */
static const struct settings_days {
	size_t value;
	const char *why;
	bool zero_ok;
} settings_days[] = {
	{offsetof(settings, history_keep_ms), "the run history goes by whole"
	 " days (and the scheduler reads it to catch up missed ticks); write"
	 " 1d or more (default 30d)", false},
	{offsetof(settings, audit_keep_ms), "audit records go by whole days;"
	 " write 1d or more (e.g. 1y), or 0 to keep them forever", true},
};

/* Why the duration n of def is refused (settings_days), or NULL. */
static const char *settings_short(const struct settings_def *def, int64_t n)
{
	size_t i;

	for (i = 0; i < sizeof(settings_days) / sizeof(settings_days[0]); i++)
		if (settings_days[i].value == def->value &&
		    n < SETTINGS_DAY_MS && !(n == 0 && settings_days[i].zero_ok))
			return settings_days[i].why;
	return NULL;
}

/* New string: path made absolute against base when relative. */
static char *settings_path(const char *base, const char *path)
{
	buf b = BUF_INIT;

	if (path[0] == '/' || base == NULL)
		buf_puts(&b, path);
	else
		buf_printf(&b, "%s/%s", base, path);
	return buf_detach(&b);
}

/* The default plugin directory, found beside the running executable: the
 * build tree's "plugins" or the installed "../lib/sweepd/plugins".  New
 * string. */
static char *settings_default_plugin_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash, *dir;
	struct stat st;

	if (n <= 0)
		return strdup(".");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	dir = settings_path(exe, "plugins");
	if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	free(dir);
	dir = settings_path(exe, SWEEPD_PLUGIN_REL_DIR);
	if (dir && realpath(dir, exe) != NULL) {
		free(dir);
		dir = strdup(exe);
	}
	return dir;
}

/* Sets the built-in defaults; 0, or -1 when out of memory. */
static int settings_defaults(settings *s)
{
	s->log_level = SWEEP_LOG_INFO;
	s->log_format = LOG_FORMAT_LOGFMT;
	s->max_concurrent = 0;
	s->memory_limit = SETTINGS_DEFAULT_MEMORY_LIMIT;
	s->stop_grace_ms = 10000;
	s->history_keep_ms = INT64_C(30) * 86400000;
	s->watch = true;
	s->dsn = strdup("");
	s->plugin_dir = settings_default_plugin_dir();
	return s->dsn && s->plugin_dir ? 0 : -1;
}

/* Sets http_listen of s from text (IP:PORT; "" turns HTTP off), and
 * where it was set, for the messages of a later bind failure; a bad
 * value goes to d at (origin, line). */
static void settings_listen(settings *s, const char *text,
                            const char *origin, int line, diag *d)
{
	char err[256];

	free(s->http_listen);
	free(s->http_origin);
	s->http_listen = s->http_origin = NULL;
	memset(&s->http_addr, 0, sizeof(s->http_addr));
	if (*text == '\0')
		return;
	if (listen_parse(text, &s->http_addr, err, sizeof(err)) != 0) {
		diag_add(d, origin, line, "http_listen: %s", err);
		return;
	}
	s->http_listen = strdup(text);
	s->http_origin = strdup(origin ? origin : "");
	s->http_line = line;
	if (s->http_listen == NULL || s->http_origin == NULL)
		diag_add(d, origin, line, "out of memory");
}

/* Parses text for def into s; a problem goes to d at (origin, line). */
static void settings_set(settings *s, const struct settings_def *def,
                         const char *text, bool from_file,
                         const char *origin, int line, diag *d)
{
	char *base = (char *)s + def->value;
	char err[256];
	int64_t n;

	switch (def->kind) {
	case SETTINGS_TEXT:
	case SETTINGS_PATH: {
		char *v = def->kind == SETTINGS_PATH && from_file
		          ? settings_path(s->conf_dir, text) : strdup(text);
		if (v == NULL) {
			diag_add(d, origin, line, "out of memory");
			return;
		}
		free(*(char **)base);
		*(char **)base = v;
		return;
	}
	case SETTINGS_LEVEL:
		if (log_parse_level(text, (int *)base) != 0)
			diag_add(d, origin, line, "bad log level '%s': use debug, "
			         "info, warn or error", text);
		return;
	case SETTINGS_FORMAT:
		if (log_parse_format(text, (log_format *)base) != 0)
			diag_add(d, origin, line, "bad log format '%s': use logfmt "
			         "or json", text);
		return;
	case SETTINGS_COUNT:
		if (params_parse_int(text, &n) != 0 || n < 0)
			diag_add(d, origin, line, "%s: '%s' must be a whole number "
			         "(0: no bound)", def->key, text);
		else
			*(int64_t *)base = n;
		return;
	case SETTINGS_SIZE:
		if (size_parse(text, &n, err, sizeof(err)) != 0)
			diag_add(d, origin, line, "%s: %s", def->key, err);
		else
			*(int64_t *)base = n;
		return;
	case SETTINGS_DURATION:
		if (duration_parse(text, &n, err, sizeof(err)) != 0)
			diag_add(d, origin, line, "%s: %s", def->key, err);
		else if (settings_short(def, n) != NULL)
			diag_add(d, origin, line, "%s: '%s' is less than a day:"
			         " %s", def->key, text, settings_short(def, n));
		else
			*(int64_t *)base = n;
		return;
	case SETTINGS_BOOL:
		if (params_parse_bool(text, (bool *)base) != 0)
			diag_add(d, origin, line, "%s: '%s' is not a boolean; "
			         "write true or false", def->key, text);
		return;
	case SETTINGS_LISTEN:
		settings_listen(s, text, origin, line, d);
		return;
	}
}

/* The environment variable that overrides the dsn of database name:
 * SWEEPD_DB_<NAME>_DSN, name upper-cased and every other character than
 * a letter or digit made '_' (skill-map: SWEEPD_DB_SKILL_MAP_DSN). */
void settings_db_env(const char *name, char *out, size_t len)
{
	size_t n = 0;
	const char *p;

	n = (size_t)snprintf(out, len, "SWEEPD_DB_");
	for (p = name; *p && n + 1 < len; p++) {
		char c = *p;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[n++] = c;
	}
	out[n < len ? n : len - 1] = '\0';
	snprintf(out + strlen(out), len - strlen(out), "_DSN");
}

/* True when name is a usable database name: letters, digits, '_', '-'. */
static bool settings_db_name_ok(const char *name)
{
	const char *p;

	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return *name != '\0';
}

/* Reads the section sec, [database NAME], of path into s->dbs: its dsn,
 * overridden by SWEEPD_DB_<NAME>_DSN.  Problems go to d. */
static void settings_read_db(settings *s, const char *path,
                             const conf_section *sec, diag *d)
{
	static const char *const known[] = {"dsn"};
	const char *name = sec->name + strlen(SETTINGS_DB_SECTION);
	const conf_entry *e = conf_entry_find(sec, "dsn");
	const char *v;
	char env[128];
	settings_db *dbs;

	conf_check_keys(path, sec, "[database] has no setting", known, 1, d);
	settings_db_env(name, env, sizeof(env));
	if (!settings_db_name_ok(name) || strcmp(name, "home") == 0) {
		diag_add(d, path, sec->line, "database name '%s' may hold only "
		         "letters, digits, '_' and '-', and is not 'home' (the "
		         "[sweepd] dsn's database)", name);
		return;
	}
	if ((v = getenv(env)) == NULL || *v == '\0')
		v = e ? e->value : NULL;
	if (v == NULL || *v == '\0') {
		diag_add(d, path, sec->line, "[%s] lacks 'dsn = ...': the "
		         "connection string of that database (or set %s)",
		         sec->name, env);
		return;
	}
	dbs = realloc(s->dbs, (s->ndbs + 1) * sizeof(*dbs));
	if (dbs == NULL) {
		diag_add(d, path, sec->line, "out of memory");
		return;
	}
	s->dbs = dbs;
	dbs[s->ndbs].name = strdup(name);
	dbs[s->ndbs].dsn = strdup(v);
	dbs[s->ndbs].line = sec->line;
	if (dbs[s->ndbs].name == NULL || dbs[s->ndbs].dsn == NULL) {
		free(dbs[s->ndbs].name);
		free(dbs[s->ndbs].dsn);
		diag_add(d, path, sec->line, "out of memory");
		return;
	}
	s->ndbs++;
}

/* Reads every section of f but [sweepd]: [database NAME] sections go to
 * s->dbs; anything else is refused. */
static void settings_read_sections(settings *s, const char *path,
                                   const conf_file *f, diag *d)
{
	size_t i;

	for (i = 0; i < f->count; i++) {
		const conf_section *sec = &f->sections[i];

		if (strcmp(sec->name, "sweepd") == 0)
			continue;
		if (strncmp(sec->name, SETTINGS_DB_SECTION,
		            strlen(SETTINGS_DB_SECTION)) == 0)
			settings_read_db(s, path, sec, d);
		else
			diag_add(d, path, sec->line, "section [%s] does not "
			         "belong in %s, which holds [sweepd] and "
			         "[database NAME] sections; move the job to a "
			         "file of its own", sec->name, SETTINGS_FILE);
	}
}

/* The database declared as name, or NULL. */
const settings_db *settings_db_find(const settings *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ndbs; i++)
		if (strcmp(s->dbs[i].name, name) == 0)
			return &s->dbs[i];
	return NULL;
}

/* Whether the command line or the environment turn the trust checks off
 * (a bad value turns nothing off; settings_load() reports it): they
 * decide how sweepd.ini itself is read, so that a file refused by the
 * checks can never turn them off. */
static bool settings_insecure_early(const settings_cli *cli)
{
	const char *v = cli->allow_insecure_files;
	bool allow = false;

	if (v == NULL)
		v = getenv("SWEEPD_ALLOW_INSECURE_FILES");
	if (v == NULL || *v == '\0' || params_parse_bool(v, &allow) != 0)
		return false;
	return allow;
}

/* Fills s (free with settings_free()).  Every problem goes to d with the
 * file and line, variable or option it comes from; returns 0, or -1 when
 * there was one. */
int settings_load(const settings_cli *cli, settings *s, diag *d)
{
	conf_file *f = NULL;
	const conf_section *sec = NULL;
	const char *known[SETTINGS_NDEFS];
	char *path = NULL;
	size_t before = d->count, i;
	struct stat st;
	const char *dir;

	memset(s, 0, sizeof(*s));
	dir = cli->conf_dir ? cli->conf_dir : getenv("SWEEPD_CONF_DIR");
	s->conf_dir = strdup(dir && *dir ? dir : SWEEPD_DEFAULT_CONF_DIR);
	if (s->conf_dir == NULL || settings_defaults(s) != 0 ||
	    (path = settings_path(s->conf_dir, SETTINGS_FILE)) == NULL) {
		diag_add(d, NULL, 0, "out of memory reading settings");
		goto out;
	}
	if (stat(s->conf_dir, &st) != 0 && (errno == ENOENT ||
	                                    errno == ENOTDIR)) {
		diag_add(d, NULL, 0, "%s: no such configuration directory "
		         "(sweepd reads its job files from --conf-dir DIR, else "
		         "$SWEEPD_CONF_DIR, else %s); create it, or name "
		         "another, e.g. --conf-dir ./conf.d", s->conf_dir,
		         SWEEPD_DEFAULT_CONF_DIR);
		goto out;
	}
	if (lstat(path, &st) == 0 &&
	    (f = conf_parse(path, settings_insecure_early(cli), d)) != NULL) {
		sec = conf_section_find(f, "sweepd");
		settings_read_sections(s, path, f, d);
		for (i = 0; i < SETTINGS_NDEFS; i++)
			known[i] = settings_defs[i].key;
		conf_check_keys(path, sec, "[sweepd] has no setting", known,
		                SETTINGS_NDEFS, d);
	}
	for (i = 0; i < SETTINGS_NDEFS; i++) {
		const struct settings_def *def = &settings_defs[i];
		const char *v = *(const char *const *)((const char *)cli +
		                                       def->cli);
		const conf_entry *e = conf_entry_find(sec, def->key);

		if (v != NULL) {
			settings_set(s, def, v, false, def->option, 0, d);
		} else if ((v = getenv(def->env)) != NULL && *v) {
			settings_set(s, def, v, false, def->env, 0, d);
		} else if (def->env2 && (v = getenv(def->env2)) != NULL && *v) {
			settings_set(s, def, v, false, def->env2, 0, d);
		} else if (e != NULL) {
			settings_set(s, def, e->value, true, path, e->line, d);
		}
	}
out:
	conf_free(f);
	free(path);
	return d->count > before ? -1 : 0;
}

/* The configuration directory used when neither --conf-dir nor
 * SWEEPD_CONF_DIR names one: where the build was told the system's
 * configuration lives.  Static text. */
const char *settings_default_conf_dir(void)
{
	return SWEEPD_DEFAULT_CONF_DIR;
}

/* Frees what settings_load() allocated. */
void settings_free(settings *s)
{
	size_t i;

	free(s->conf_dir);
	free(s->dsn);
	free(s->plugin_dir);
	free(s->metrics_file);
	free(s->http_listen);
	free(s->http_origin);
	for (i = 0; i < s->ndbs; i++) {
		free(s->dbs[i].name);
		free(s->dbs[i].dsn);
	}
	free(s->dbs);
	memset(s, 0, sizeof(*s));
}
