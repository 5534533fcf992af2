/* settings: the host's own settings, from built-in defaults, the [sweepd]
 * section of conf.d/sweepd.ini, the environment and the command line, each
 * overriding the one before. */
#include "settings.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"

#ifndef SWEEPD_DEFAULT_CONF_DIR
#define SWEEPD_DEFAULT_CONF_DIR "/etc/sweepd/conf.d"
#endif
#ifndef SWEEPD_PLUGIN_REL_DIR
#define SWEEPD_PLUGIN_REL_DIR "../lib/sweepd/plugins"
#endif

static const char *const settings_keys[] = {"dsn", "plugin_dir",
                                            "log_format", "log_level"};
#define SETTINGS_NKEYS (sizeof(settings_keys) / sizeof(settings_keys[0]))

/* The first of the candidates that is set (non-NULL), or NULL. */
static const char *settings_pick(const char *cli, const char *env,
                                 const char *file)
{
	if (cli)
		return cli;
	if (env && *env)
		return env;
	return file;
}

/* The value of key in the file's [sweepd] section (sec may be NULL), or
 * NULL. */
static const char *settings_file_value(const conf_section *sec,
                                       const char *key)
{
	const conf_entry *e = conf_entry_find(sec, key);

	return e ? e->value : NULL;
}

/* Where a value picked by settings_pick() came from, for messages: the
 * option, the variable or the file. */
static const char *settings_origin(const char *cli, const char *option,
                                   const char *env, const char *path)
{
	const char *e = getenv(env);

	if (cli)
		return option;
	if (e && *e)
		return env;
	return path;
}

/* The line of key in sec when the value came from the file, else 0. */
static int settings_line(const char *cli, const char *env,
                         const conf_section *sec, const char *key)
{
	const char *e = getenv(env);
	const conf_entry *ent = conf_entry_find(sec, key);

	if (cli || (e && *e) || ent == NULL)
		return 0;
	return ent->line;
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

/* Fills s (free with settings_free()).  Every problem goes to d with the
 * file and line it comes from; returns 0, or -1 when there was one. */
int settings_load(const settings_cli *cli, settings *s, diag *d)
{
	conf_file *f = NULL;
	const conf_section *sec = NULL;
	const char *v;
	char *path = NULL;
	size_t before = d->count, i;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->log_level = SWEEP_LOG_INFO;
	s->log_format = LOG_FORMAT_LOGFMT;
	s->conf_dir = strdup(settings_pick(cli->conf_dir,
	                                   getenv("SWEEPD_CONF_DIR"),
	                                   SWEEPD_DEFAULT_CONF_DIR));
	if (s->conf_dir == NULL)
		goto oom;
	path = settings_path(s->conf_dir, SETTINGS_FILE);
	if (path == NULL)
		goto oom;
	if (stat(path, &st) == 0) {
		f = conf_parse(path, d);
		sec = f ? conf_section_find(f, "sweepd") : NULL;
		for (i = 0; f && i < f->count; i++) {
			if (strcmp(f->sections[i].name, "sweepd") != 0)
				diag_add(d, path, f->sections[i].line,
				         "section [%s] does not belong in %s, "
				         "which holds only [sweepd]; move the job "
				         "to a file of its own",
				         f->sections[i].name, SETTINGS_FILE);
		}
		conf_check_keys(path, sec, "[sweepd] has no setting",
		                settings_keys, SETTINGS_NKEYS, d);
	}

	v = settings_pick(cli->dsn, getenv("SWEEPD_DSN"),
	                  settings_pick(NULL, getenv("DATABASE_URL"),
	                                settings_file_value(sec, "dsn")));
	if ((s->dsn = strdup(v ? v : "")) == NULL)
		goto oom;
	v = settings_pick(cli->plugin_dir, getenv("SWEEPD_PLUGIN_DIR"), NULL);
	if (v)
		s->plugin_dir = strdup(v);
	else if ((v = settings_file_value(sec, "plugin_dir")) != NULL)
		s->plugin_dir = settings_path(s->conf_dir, v);
	else
		s->plugin_dir = settings_default_plugin_dir();
	if (s->plugin_dir == NULL)
		goto oom;
	v = settings_pick(cli->log_level, getenv("SWEEPD_LOG_LEVEL"),
	                  settings_file_value(sec, "log_level"));
	if (v && log_parse_level(v, &s->log_level) != 0)
		diag_add(d, settings_origin(cli->log_level, "--log-level",
		                            "SWEEPD_LOG_LEVEL", path),
		         settings_line(cli->log_level, "SWEEPD_LOG_LEVEL", sec,
		                       "log_level"),
		         "bad log level '%s': use debug, info, warn or error", v);
	v = settings_pick(cli->log_format, getenv("SWEEPD_LOG_FORMAT"),
	                  settings_file_value(sec, "log_format"));
	if (v && log_parse_format(v, &s->log_format) != 0)
		diag_add(d, settings_origin(cli->log_format, "--log-format",
		                            "SWEEPD_LOG_FORMAT", path),
		         settings_line(cli->log_format, "SWEEPD_LOG_FORMAT", sec,
		                       "log_format"),
		         "bad log format '%s': use logfmt or json", v);
	conf_free(f);
	free(path);
	return d->count > before ? -1 : 0;
oom:
	diag_add(d, NULL, 0, "out of memory reading settings");
	conf_free(f);
	free(path);
	return -1;
}

/* Frees what settings_load() allocated. */
void settings_free(settings *s)
{
	free(s->conf_dir);
	free(s->dsn);
	free(s->plugin_dir);
	memset(s, 0, sizeof(*s));
}
