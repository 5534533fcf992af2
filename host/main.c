/* main: sweepd's command line. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "duration.h"
#include "isotime.h"
#include "jobs.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "result.h"
#include "runner.h"
#include "supervise.h"
#include "db.h"
#include "sched.h"
#include "settings.h"
#include "history.h"
#include "ops.h"
#include "pause.h"
#include "status.h"
#include "suggest.h"
#include "trust.h"
#include "verify.h"

#ifndef SWEEPD_VERSION
#define SWEEPD_VERSION "0.0.0"
#endif

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_JOB_FAILED 1
#define EXIT_USAGE 2

typedef enum command {
	CMD_NONE = 0,
	CMD_LIST_PLUGINS,
	CMD_LIST_JOBS,
	CMD_CHECK,
	CMD_RUN,
	CMD_DRY_RUN,
	CMD_STATUS,
	CMD_HISTORY,
	CMD_PAUSE,
	CMD_RESUME,
	CMD_CHECK_PLUGIN,
	CMD_VERIFY
} command;

static void usage(FILE *out)
{
	fprintf(out,
	"usage: sweepd [OPTIONS] COMMAND\n"
	"\n"
	"Runs data-retention jobs: conf.d/*.ini files, each over a plugin.\n"
	"\n"
	"Commands:\n"
	"  --list-plugins     every plugin found: name, version, ABI, path,\n"
	"                     options, and the jobs that use it\n"
	"  --list-jobs        every job: plugin, schedule, timezone, next run,\n"
	"                     state (--now ISO-8601: next run after that instant)\n"
	"  --check            validate all configuration; each problem is\n"
	"                     printed as FILE:LINE: message, each warning as\n"
	"                     FILE:LINE: warning: message\n"
	"  --run JOB          run JOB now, in the foreground, print its result\n"
	"  --dry-run JOB      what JOB would do, changing nothing\n"
	"  --status [JOB]     last run, its result, next run, last failure\n"
	"  --verify [JOB]     whether each job's policy holds now: exit 1\n"
	"                     naming the job, table and oldest row's age when\n"
	"                     rows older than its limit plus one period remain\n"
	"  --history [JOB]    past runs, newest first: start, duration,\n"
	"                     status, counters, message (--limit N: 20)\n"
	"  --pause JOB        every sweepd sharing the database skips JOB's\n"
	"                     runs (each recorded as skipped) until --resume\n"
	"  --resume JOB       undoes --pause\n"
	"  --check-plugin FILE.so  load one plugin as the daemon would (in a\n"
	"                     child process) and print its descriptor and\n"
	"                     options, or why it is refused\n"
	"  --help, --version\n"
	"  (no command)       the scheduler, in the foreground\n"
	"\n"
	"Options:\n"
	"  --conf-dir DIR     job files and sweepd.ini (env SWEEPD_CONF_DIR;\n"
	"                     default %s)\n"
	"  --dsn DSN          PostgreSQL conninfo or URI (env DATABASE_URL,\n"
	"                     or libpq's PG* variables)\n"
	"  --plugin-dir DIR   installed plugins (env SWEEPD_PLUGIN_DIR)\n"
	"  --json             machine-readable output\n"
	"  --log-level L      debug, info, warn or error (env SWEEPD_LOG_LEVEL)\n"
	"  --log-format F     logfmt or json (env SWEEPD_LOG_FORMAT)\n"
	"  --max-concurrent N runs at once (env SWEEPD_MAX_CONCURRENT; 0: one\n"
	"                     per job, no other bound)\n"
	"  --stop-grace D     from asking a run to stop to killing it\n"
	"                     (env SWEEPD_STOP_GRACE; 10s)\n"
	"  --memory-limit S   default memory_limit of a job's run\n"
	"                     (env SWEEPD_MEMORY_LIMIT; 1GiB, 0: none)\n"
	"  --timeout D        with --run/--dry-run: the run's timeout, in\n"
	"                     place of the job's\n"
	"  --history-keep D   age of run history kept (env SWEEPD_HISTORY_KEEP;\n"
	"                     30d)\n"
	"  --watch=BOOL       the scheduler reloads by itself when conf.d or\n"
	"                     the plugin dir change (env SWEEPD_WATCH; true)\n"
	"  --no-watch         --watch=false: only SIGHUP reloads\n"
	"  --strict           with --check: a warning fails the check too\n"
	"  --allow-insecure-files\n"
	"                     load job files and plugins whatever their owner\n"
	"                     and mode, for development only (env\n"
	"                     SWEEPD_ALLOW_INSECURE_FILES)\n"
	"  --metrics-file F   Prometheus text file written after every run\n"
	"                     (env SWEEPD_METRICS_FILE; none)\n"
	"\n"
	"Exit status: 0 success, 1 a job failed, 2 usage or configuration "
	"error\n(with --check --strict, a warning too).\n",
	settings_default_conf_dir());
}

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
static void print_problems(const diag *d, const char *file)
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

/* --list-plugins. */
static void list_plugins(const loader *l, const jobs *js, bool json, buf *b)
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
static void list_jobs(const jobs *js, const diag *d, time_t now,
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

/* Writes b to stdout; EXIT_OK, or EXIT_JOB_FAILED when stdout fails. */
static int flush_out(buf *b)
{
	if (b->oom || fwrite(buf_str(b), 1, b->len, stdout) != b->len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "sweepd: cannot write the output\n");
		return EXIT_JOB_FAILED;
	}
	return EXIT_OK;
}

/* The CLI's own database session, opened when a run needs it ended or
 * recorded (a crash, a timeout); the supervisor's sup_db_fn. */
static PGconn *cli_db(void *arg)
{
	static PGconn *c;
	const settings *s = arg;
	char err[1024];

	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		return c;
	PQfinish(c);
	c = db_connect(s->dsn, NULL, err, sizeof(err));
	if (c == NULL)
		log_msg(SWEEP_LOG_WARN, "database unavailable", "error", err,
		        LOG_END);
	return c;
}

/* Prints that no job is called name, with the closest name if any. */
static void no_such_job(const jobs *js, const settings *s, const char *name)
{
	const char **names = calloc(jobs_count(js) + 1, sizeof(*names));
	const char *hint = NULL;
	size_t i;

	for (i = 0; names && i < jobs_count(js); i++)
		names[i] = jobs_at(js, i)->name;
	if (names)
		hint = suggest_closest(name, names, jobs_count(js));
	fprintf(stderr, "sweepd: no job named '%s' in %s%s%s%s\n", name,
	        s->conf_dir, hint ? "; did you mean '" : " (sweepd "
	        "--list-jobs shows them)", hint ? hint : "",
	        hint ? "'?" : "");
	free(names);
}

/* --run JOB and --dry-run JOB: the run goes in a supervised child process
 * (as in the daemon), with the job's timeout unless timeout_ms >= 0. */
static int run_job(const jobs *js, const diag *d, const settings *s,
                   const char *name, bool dry_run, bool json,
                   int64_t timeout_ms, buf *out)
{
	const job *j = jobs_find(js, name);
	sup_opts o;
	int rc;

	if (j == NULL) {
		no_such_job(js, s, name);
		return EXIT_USAGE;
	}
	if (j->nerrors > 0) {
		print_problems(d, j->file);
		fprintf(stderr, "sweepd: job '%s' is not runnable: fix %s\n",
		        name, j->file);
		return EXIT_USAGE;
	}
	if (d->count > 0)
		log_msg(SWEEP_LOG_WARN, "other job files have problems",
		        "hint", "run sweepd --check", LOG_END);
	if (!j->enabled)
		log_msg(SWEEP_LOG_WARN, "job is disabled; running it because "
		        "asked", "job", name, LOG_END);
	memset(&o, 0, sizeof(o));
	o.dry_run = dry_run;
	o.timeout_ms = timeout_ms >= 0 ? timeout_ms : j->timeout_ms;
	o.memory_limit = j->memory_limit;
	o.render = json ? SUP_RENDER_JSON : SUP_RENDER_TEXT;
	o.db = cli_db;
	o.arg = (void *)s;
	rc = sup_foreground(j, s, &o, out);
	if (!dry_run)
		metrics_cli(s, js, time(NULL));
	return rc == RUNNER_OK ? EXIT_OK : EXIT_JOB_FAILED;
}

/* What the command line asked for. */
typedef struct cli_args {
	settings_cli cli;
	command cmd;
	const char *job_name;
	bool json;
	bool strict;            /* --strict: --check fails on a warning */
	time_t now;             /* --now, else the time sweepd started */
	int64_t timeout_ms;     /* --timeout; -1: the job's */
	long limit;             /* --limit of --history */
} cli_args;

/* Sets a->cmd to next, refusing a second command.  0, or EXIT_USAGE. */
static int set_command(cli_args *a, command next)
{
	if (a->cmd != CMD_NONE) {
		fprintf(stderr, "sweepd: give one command at a time\n");
		return EXIT_USAGE;
	}
	a->cmd = next;
	return 0;
}

/* Takes one option c with its argument arg into a.  Returns -1 to go on,
 * or the exit status to end with (--help, --version, a bad option). */
static int parse_option(cli_args *a, int c, const char *arg)
{
	char err[256];

	switch (c) {
	case 'c': a->cli.conf_dir = arg; return -1;
	case 'd': a->cli.dsn = arg; return -1;
	case 'p': a->cli.plugin_dir = arg; return -1;
	case 'j': a->json = true; return -1;
	case 'X': a->strict = true; return -1;
	case 'l': a->cli.log_level = arg; return -1;
	case 'f': a->cli.log_format = arg; return -1;
	case 'm': a->cli.max_concurrent = arg; return -1;
	case 'g': a->cli.stop_grace = arg; return -1;
	case 'k': a->cli.history_keep = arg; return -1;
	case 'M': a->cli.memory_limit = arg; return -1;
	case 'W': a->cli.watch = arg; return -1;
	case 'w': a->cli.watch = "false"; return -1;
	case 'I': a->cli.allow_insecure_files = "true"; return -1;
	case 'e': a->cli.metrics_file = arg; return -1;
	case 'n':
		if (isotime_parse(arg, &a->now) == 0)
			return -1;
		fprintf(stderr, "sweepd: --now '%s' is not an ISO 8601 instant "
		        "(e.g. 2026-03-29T00:59:00Z)\n", arg);
		return EXIT_USAGE;
	case 't':
		if (duration_parse(arg, &a->timeout_ms, err, sizeof(err)) == 0)
			return -1;
		fprintf(stderr, "sweepd: --timeout: %s\n", err);
		return EXIT_USAGE;
	case 'S': return set_command(a, CMD_STATUS) ? EXIT_USAGE : -1;
	case 'Y': return set_command(a, CMD_VERIFY) ? EXIT_USAGE : -1;
	case 'H': return set_command(a, CMD_HISTORY) ? EXIT_USAGE : -1;
	case 'z':
	case 'y':
		a->job_name = arg;
		return set_command(a, c == 'z' ? CMD_PAUSE : CMD_RESUME)
		       ? EXIT_USAGE : -1;
	case 'L':
		if (ops_parse_limit(arg, &a->limit) == 0)
			return -1;
		fprintf(stderr, "sweepd: --limit '%s' must be a whole number "
		        "from 1\n", arg);
		return EXIT_USAGE;
	case 'P': return set_command(a, CMD_LIST_PLUGINS) ? EXIT_USAGE : -1;
	case 'J': return set_command(a, CMD_LIST_JOBS) ? EXIT_USAGE : -1;
	case 'C': return set_command(a, CMD_CHECK) ? EXIT_USAGE : -1;
	case 'K':
		a->job_name = arg;
		return set_command(a, CMD_CHECK_PLUGIN) ? EXIT_USAGE : -1;
	case 'R':
	case 'D':
		a->job_name = arg;
		return set_command(a, c == 'R' ? CMD_RUN : CMD_DRY_RUN)
		       ? EXIT_USAGE : -1;
	case 'h': usage(stdout); return EXIT_OK;
	case 'V':
		printf("sweepd %s (plugin ABI %d.%d)\n", SWEEPD_VERSION,
		       SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR);
		return EXIT_OK;
	default:
		usage(stderr);
		return EXIT_USAGE;
	}
}

/* Parses the command line into a.  Returns -1 to go on, or the exit
 * status to end with. */
static int parse_args(int argc, char **argv, cli_args *a)
{
	static const struct option longopts[] = {
		{"conf-dir", required_argument, NULL, 'c'},
		{"dsn", required_argument, NULL, 'd'},
		{"plugin-dir", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"strict", no_argument, NULL, 'X'},
		{"log-level", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"max-concurrent", required_argument, NULL, 'm'},
		{"stop-grace", required_argument, NULL, 'g'},
		{"history-keep", required_argument, NULL, 'k'},
		{"memory-limit", required_argument, NULL, 'M'},
		{"watch", required_argument, NULL, 'W'},
		{"no-watch", no_argument, NULL, 'w'},
		{"allow-insecure-files", no_argument, NULL, 'I'},
		{"metrics-file", required_argument, NULL, 'e'},
		{"timeout", required_argument, NULL, 't'},
		{"now", required_argument, NULL, 'n'},
		{"status", no_argument, NULL, 'S'},
		{"verify", no_argument, NULL, 'Y'},
		{"history", no_argument, NULL, 'H'},
		{"limit", required_argument, NULL, 'L'},
		{"pause", required_argument, NULL, 'z'},
		{"resume", required_argument, NULL, 'y'},
		{"list-plugins", no_argument, NULL, 'P'},
		{"list-jobs", no_argument, NULL, 'J'},
		{"check", no_argument, NULL, 'C'},
		{"run", required_argument, NULL, 'R'},
		{"dry-run", required_argument, NULL, 'D'},
		{"check-plugin", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->now = time(NULL);
	a->timeout_ms = -1;
	a->limit = HISTORY_DEFAULT_LIMIT;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if ((rc = parse_option(a, c, optarg)) >= 0)
			return rc;
	if ((a->cmd == CMD_STATUS || a->cmd == CMD_HISTORY ||
	     a->cmd == CMD_VERIFY) && optind < argc)
		a->job_name = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "sweepd: unexpected argument '%s'\n",
		        argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* Overwrites with 'x' the value of every --dsn of the command line
 * (--dsn VALUE, --dsn=VALUE and getopt's abbreviation --ds, before any
 * "--"; getopt's permutation keeps an option beside its value), so that
 * the DSN and its password are not left readable in /proc/PID/cmdline
 * (which any local user may read) of sweepd and of the runs it forks.
 * cli->dsn, which points into argv, is replaced by *copy, a copy that
 * the caller frees.  0, or -1 when out of memory (nothing wiped). */
static int wipe_secret_args(int argc, char **argv, settings_cli *cli,
                            char **copy)
{
	char *value, *eq;
	size_t len;
	int i;

	*copy = NULL;
	if (cli->dsn != NULL && (*copy = strdup(cli->dsn)) == NULL)
		return -1;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			continue;
		eq = strchr(argv[i], '=');
		len = eq ? (size_t)(eq - argv[i] - 2) : strlen(argv[i] + 2);
		if (len < 2 || len > 3 || strncmp(argv[i] + 2, "dsn", len) != 0)
			continue;
		value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (value != NULL)
			memset(value, 'x', strlen(value));
	}
	if (*copy != NULL)
		cli->dsn = *copy;
	return 0;
}

/* --check: every problem and warning, then a count; EXIT_USAGE when
 * there is a problem, or a warning and strict. */
static int check(const jobs *js, const loader *l, const diag *d, bool json,
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
		print_problems(d, NULL);
		status_databases(js, false, out);
		buf_printf(out, "%zu job%s, %zu plugin%s, %zu problem%s, "
		           "%zu warning%s\n", jobs_count(js),
		           jobs_count(js) == 1 ? "" : "s", loader_count(l),
		           loader_count(l) == 1 ? "" : "s", d->count,
		           d->count == 1 ? "" : "s", d->nwarnings,
		           d->nwarnings == 1 ? "" : "s");
	}
	return bad ? EXIT_USAGE : EXIT_OK;
}

/* --status [JOB]. */
static int status(const jobs *js, const settings *s, const cli_args *a,
                  buf *out)
{
	char err[1024];
	int rc;

	if (a->job_name && jobs_find(js, a->job_name) == NULL)
		log_msg(SWEEP_LOG_WARN, "no such job in the configuration",
		        "job", a->job_name, LOG_END);
	rc = status_report(js, s, a->job_name, a->now, a->json, out, err,
	                   sizeof(err));
	if (rc < 0)
		fprintf(stderr, "sweepd: %s\n", err);
	return rc < 0 ? EXIT_JOB_FAILED : rc;
}

/* The child of --check-plugin: loads path with the daemon's loader and
 * prints what --list-plugins prints of it.  Returns the exit status. */
static int check_plugin_child(const char *path, bool json)
{
	loader *l = loader_new();
	const loader_plugin *p;
	char err[1024];
	buf out = BUF_INIT;
	int rc = EXIT_USAGE;

	if (l == NULL)
		return EXIT_USAGE;
	p = loader_open(l, path, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "sweepd: %s\n", err);
		goto out;
	}
	list_plugins(l, NULL, json, &out);
	if (!json)
		buf_printf(&out, "ok: %s loads in this sweepd (plugin ABI %u.%u, "
		           "sweepd's %d.%d); a job uses it with plugin = %s\n",
		           path, p->desc->abi_major, p->desc->abi_minor,
		           SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR, p->desc->name);
	rc = flush_out(&out);
out:
	buf_free(&out);
	loader_free(l);
	return rc;
}

/* --check-plugin FILE: loads FILE as the daemon would, in a child
 * process, so a plugin that crashes or exits while it is loaded costs
 * that child only.  Exit status: 0 it loads, 2 it is refused (the reason
 * on stderr), 1 it crashed. */
static int check_plugin(const char *path, bool json)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sweepd: fork: %s\n", strerror(errno));
		return EXIT_JOB_FAILED;
	}
	if (pid == 0)
		_exit(check_plugin_child(path, json));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_JOB_FAILED;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "sweepd: %s: crashed while being loaded: signal %d "
	        "(%s); run it under gdb: gdb --args sweepd --check-plugin "
	        "%s\n", path, WTERMSIG(status), strsignal(WTERMSIG(status)),
	        path);
	return EXIT_JOB_FAILED;
}

/* Runs the command a names over the loaded configuration. */
static int command_run(const cli_args *a, const settings *s, loader *l,
                       const jobs *js, diag *d, buf *out)
{
	switch (a->cmd) {
	case CMD_LIST_PLUGINS:
		print_problems(d, NULL);
		list_plugins(l, js, a->json, out);
		return EXIT_OK;
	case CMD_LIST_JOBS: {
		PGresult *paused = status_paused(s);

		list_jobs(js, d, a->now, paused, a->json, out);
		PQclear(paused);
		return EXIT_OK;
	}
	case CMD_STATUS:
		return status(js, s, a, out);
	case CMD_HISTORY:
		return ops_history(js, s, a->job_name, a->limit, a->json, out);
	case CMD_PAUSE:
	case CMD_RESUME:
		if (jobs_find(js, a->job_name) == NULL) {
			no_such_job(js, s, a->job_name);
			return EXIT_USAGE;
		}
		return ops_pause(s, a->job_name, a->cmd == CMD_PAUSE, a->json,
		                 out);
	case CMD_CHECK:
		return check(js, l, d, a->json, a->strict, out);
	case CMD_RUN:
	case CMD_DRY_RUN:
		return run_job(js, d, s, a->job_name, a->cmd == CMD_DRY_RUN,
		               a->json, a->timeout_ms, out);
	case CMD_VERIFY:
		return verify_jobs(js, s, a->job_name, out);
	case CMD_CHECK_PLUGIN:
	case CMD_NONE:
		break;
	}
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	cli_args a;
	settings s;
	diag d = DIAG_INIT;
	loader *l = NULL;
	jobs *js = NULL;
	buf out = BUF_INIT;
	char *dsn_copy = NULL;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if (a.cmd == CMD_CHECK_PLUGIN)
		return check_plugin(a.job_name, a.json);
	rc = EXIT_USAGE;
	if (wipe_secret_args(argc, argv, &a.cli, &dsn_copy) != 0) {
		fprintf(stderr, "sweepd: out of memory\n");
		return EXIT_USAGE;
	}
	if (settings_load(&a.cli, &s, &d) != 0 && a.cmd != CMD_CHECK) {
		print_problems(&d, NULL);
		goto out;
	}
	log_configure(s.log_level, s.log_format);
	if (a.cmd == CMD_NONE || a.cmd == CMD_CHECK)
		trust_warn_root();
	if (a.cmd == CMD_NONE) {
		rc = sched_run(&s) == 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if ((l = loader_new()) == NULL)
		goto out;
	loader_allow_insecure(l, s.allow_insecure_files);
	if (a.cmd == CMD_LIST_PLUGINS || a.cmd == CMD_CHECK) {
		loader_scan(l, s.conf_dir, &d);
		loader_scan(l, s.plugin_dir, &d);
	}
	if ((js = jobs_load(&s, l, &d)) == NULL) {
		print_problems(&d, NULL);
		goto out;
	}
	rc = command_run(&a, &s, l, js, &d, &out);
	if (out.len && flush_out(&out) != EXIT_OK && rc == EXIT_OK)
		rc = EXIT_JOB_FAILED;
out:
	buf_free(&out);
	jobs_free(js);
	loader_free(l);
	settings_free(&s);
	diag_free(&d);
	free(dsn_copy);
	return rc;
}
