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
#include "listing.h"
#include "live.h"
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
	CMD_VERIFY,
	CMD_MAN_PLUGINS
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
	"  --audit-keep D     age of audit records kept, by whole days (env\n"
	"                     SWEEPD_AUDIT_KEEP; 0: forever, the default)\n"
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
	"  --http-listen A    serve /metrics, /healthz and /readyz on IP:PORT\n"
	"                     A (env SWEEPD_HTTP_LISTEN; none)\n"
	"\n"
	"Exit status: 0 success, 1 a job failed, 2 usage or configuration "
	"error\n(with --check --strict, a warning too).\n"
	"\n"
	"Manual: sweepd(8), sweepd.ini(5).\n",
	settings_default_conf_dir());
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
		listing_problems(d, j->file);
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
	o.live = live_wanted(s->log_format);
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
	case 'a': a->cli.audit_keep = arg; return -1;
	case 'M': a->cli.memory_limit = arg; return -1;
	case 'W': a->cli.watch = arg; return -1;
	case 'w': a->cli.watch = "false"; return -1;
	case 'I': a->cli.allow_insecure_files = "true"; return -1;
	case 'e': a->cli.metrics_file = arg; return -1;
	case 'A': a->cli.http_listen = arg; return -1;
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
	case 'N': return set_command(a, CMD_MAN_PLUGINS) ? EXIT_USAGE : -1;
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
		{"audit-keep", required_argument, NULL, 'a'},
		{"memory-limit", required_argument, NULL, 'M'},
		{"watch", required_argument, NULL, 'W'},
		{"no-watch", no_argument, NULL, 'w'},
		{"allow-insecure-files", no_argument, NULL, 'I'},
		{"metrics-file", required_argument, NULL, 'e'},
		{"http-listen", required_argument, NULL, 'A'},
		{"timeout", required_argument, NULL, 't'},
		{"now", required_argument, NULL, 'n'},
		{"status", no_argument, NULL, 'S'},
		{"verify", no_argument, NULL, 'Y'},
		{"history", no_argument, NULL, 'H'},
		{"limit", required_argument, NULL, 'L'},
		{"pause", required_argument, NULL, 'z'},
		{"resume", required_argument, NULL, 'y'},
		{"list-plugins", no_argument, NULL, 'P'},
		{"man-plugins", no_argument, NULL, 'N'},
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
	listing_plugins(l, NULL, json, &out);
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

/* What a command runs over: the command line, and as much of the
 * configuration as its table entry asks to be loaded. */
typedef struct cmd_ctx {
	const cli_args *a;
	const settings *s;
	loader *l;
	const jobs *js;
	diag *d;
	buf *out;
} cmd_ctx;

/* How much a command needs loaded before it runs. */
typedef enum cmd_needs {
	NEEDS_ARGS,             /* the command line only */
	NEEDS_SETTINGS,         /* sweepd.ini, the environment */
	NEEDS_JOBS,             /* and the job files with their plugins */
	NEEDS_ALL_PLUGINS       /* and every plugin of conf.d and plugin_dir */
} cmd_needs;

/* --check-plugin FILE. */
static int cmd_check_plugin(const cmd_ctx *c)
{
	return check_plugin(c->a->job_name, c->a->json);
}

/* No command: the scheduler. */
static int cmd_scheduler(const cmd_ctx *c)
{
	return sched_run(c->s) == 0 ? EXIT_OK : EXIT_USAGE;
}

/* --list-plugins. */
static int cmd_list_plugins(const cmd_ctx *c)
{
	listing_problems(c->d, NULL);
	listing_plugins(c->l, c->js, c->a->json, c->out);
	return EXIT_OK;
}

/* --man-plugins (hidden; the build writes sweepd.ini(5) with it). */
static int cmd_man_plugins(const cmd_ctx *c)
{
	listing_problems(c->d, NULL);
	listing_man_plugins(c->l, c->out);
	return c->d->count ? EXIT_USAGE : EXIT_OK;
}

/* --list-jobs. */
static int cmd_list_jobs(const cmd_ctx *c)
{
	PGresult *paused = status_paused(c->s);

	listing_jobs(c->js, c->d, c->a->now, paused, c->a->json, c->out);
	PQclear(paused);
	return EXIT_OK;
}

/* --check. */
static int cmd_check(const cmd_ctx *c)
{
	return listing_check(c->js, c->l, c->d, c->a->json, c->a->strict,
	                     c->out);
}

/* --status [JOB]. */
static int cmd_status(const cmd_ctx *c)
{
	return status(c->js, c->s, c->a, c->out);
}

/* --history [JOB]. */
static int cmd_history(const cmd_ctx *c)
{
	return ops_history(c->js, c->s, c->a->job_name, c->a->limit,
	                   c->a->json, c->out);
}

/* --pause JOB and --resume JOB. */
static int cmd_pause(const cmd_ctx *c)
{
	if (jobs_find(c->js, c->a->job_name) == NULL) {
		no_such_job(c->js, c->s, c->a->job_name);
		return EXIT_USAGE;
	}
	return ops_pause(c->s, c->a->job_name, c->a->cmd == CMD_PAUSE,
	                 c->a->json, c->out);
}

/* --run JOB and --dry-run JOB. */
static int cmd_run(const cmd_ctx *c)
{
	return run_job(c->js, c->d, c->s, c->a->job_name,
	               c->a->cmd == CMD_DRY_RUN, c->a->json, c->a->timeout_ms,
	               c->out);
}

/* --verify [JOB]. */
static int cmd_verify(const cmd_ctx *c)
{
	return verify_jobs(c->js, c->s, c->a->job_name, c->out);
}

/* Every command: what it needs loaded, whether a bad sweepd.ini still
 * lets it run (to report it), and what runs it. */
static const struct cmd_def {
	command cmd;
	cmd_needs needs;
	bool despite_settings;
	int (*fn)(const cmd_ctx *c);
} cmd_defs[] = {
	{CMD_NONE, NEEDS_SETTINGS, false, cmd_scheduler},
	{CMD_CHECK_PLUGIN, NEEDS_ARGS, false, cmd_check_plugin},
	{CMD_LIST_PLUGINS, NEEDS_ALL_PLUGINS, false, cmd_list_plugins},
	{CMD_MAN_PLUGINS, NEEDS_ALL_PLUGINS, false, cmd_man_plugins},
	{CMD_LIST_JOBS, NEEDS_JOBS, false, cmd_list_jobs},
	{CMD_CHECK, NEEDS_ALL_PLUGINS, true, cmd_check},
	{CMD_RUN, NEEDS_JOBS, false, cmd_run},
	{CMD_DRY_RUN, NEEDS_JOBS, false, cmd_run},
	{CMD_STATUS, NEEDS_JOBS, false, cmd_status},
	{CMD_HISTORY, NEEDS_JOBS, false, cmd_history},
	{CMD_PAUSE, NEEDS_JOBS, false, cmd_pause},
	{CMD_RESUME, NEEDS_JOBS, false, cmd_pause},
	{CMD_VERIFY, NEEDS_JOBS, false, cmd_verify},
};

/* The table entry of cmd (every command has one). */
static const struct cmd_def *cmd_find(command cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cmd_defs) / sizeof(cmd_defs[0]); i++)
		if (cmd_defs[i].cmd == cmd)
			return &cmd_defs[i];
	return &cmd_defs[0];
}

/* Loads what def needs into c (settings already loaded): the plugins
 * and the job files.  0, or EXIT_USAGE with the problems printed. */
static int load_jobs(const struct cmd_def *def, cmd_ctx *c, loader **l,
                     jobs **js)
{
	if ((*l = loader_new()) == NULL)
		return EXIT_USAGE;
	loader_allow_insecure(*l, c->s->allow_insecure_files);
	if (def->needs == NEEDS_ALL_PLUGINS) {
		loader_scan(*l, c->s->conf_dir, c->d);
		loader_scan(*l, c->s->plugin_dir, c->d);
	}
	if ((*js = jobs_load(c->s, *l, c->d)) == NULL) {
		listing_problems(c->d, NULL);
		return EXIT_USAGE;
	}
	c->l = *l;
	c->js = *js;
	return 0;
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
	cmd_ctx c = {&a, &s, NULL, NULL, &d, &out};
	const struct cmd_def *def;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	def = cmd_find(a.cmd);
	if (def->needs == NEEDS_ARGS)
		return def->fn(&c);
	rc = EXIT_USAGE;
	if (wipe_secret_args(argc, argv, &a.cli, &dsn_copy) != 0) {
		fprintf(stderr, "sweepd: out of memory\n");
		return EXIT_USAGE;
	}
	if (settings_load(&a.cli, &s, &d) != 0 && !def->despite_settings) {
		listing_problems(&d, NULL);
		goto out;
	}
	log_configure(s.log_level, s.log_format);
	if (a.cmd == CMD_NONE || a.cmd == CMD_CHECK)
		trust_warn_root();
	if (def->needs >= NEEDS_JOBS && load_jobs(def, &c, &l, &js) != 0)
		goto out;
	rc = def->fn(&c);
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
