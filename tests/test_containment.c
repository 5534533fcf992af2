/* End to end: faulty plugins are contained (issue 9, point 8).  The fixture
 * plugin `fault` fails each way a real plugin fails (segfault, abort(),
 * exit(0), busy loop, recursion, malloc to NULL, a flood of random output,
 * SIGTERM blocked, a crash in teardown, an error, a slow init, a stuck SQL
 * statement), run through `sweepd --run`, `--dry-run` and the daemon
 * against the real PostgreSQL.  Each failure must be recorded with its
 * phase and cause, cost only its own run, and leave no process and no
 * database backend behind; output becomes well-formed, bounded log lines;
 * a process killed mid-run is found out and its run marked abandoned.
 *
 * Every test has its own schema and job names that start with it, and
 * cleans its history rows.  A sweepd process belongs to a test when its
 * command line holds the test's scratch conf.d path (unique); a database
 * backend belongs to a job by its application_name, sweepd/JOB.  Tests
 * wait on conditions, polling to a deadline; the deadlines that are part
 * of the contract (stop_grace + 1 s to clean up, timeout + stop_grace +
 * 1 s for a backend to go) are the only times asserted, besides the tick
 * counts of the stuck-jobs test. */
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testdaemon.h"
#include "testutil.h"

/* 1 in an AddressSanitizer build (scripts/test-sanitize.sh).  There a run
 * cannot have a memory_limit: the limit is RLIMIT_DATA, which counts the
 * terabytes of address space ASan maps for its shadow, so a limited run
 * cannot map a byte and dies of that before its plugin starts.  The cases
 * that set one are skipped there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* True when a job with these extra [job] lines can run in this build. */
static bool runs_in_this_build(const char *job_extra)
{
	return !UNDER_ASAN || strstr(job_extra, "memory_limit") == NULL;
}

/* A CLI run still going after this long is killed by the test as hung. */
#define GUARD_S 15
/* stop_grace (--stop-grace) and timeout of the runs that hang. */
#define GRACE_S 1
#define TIMEOUT_S 2
/* The key of an output log line that holds the plugin's line of text. */
#define OUTPUT_TEXT_KEY "text"
/* Most characters of one output line's text, and of a run's output in
 * all.  Characters, not bytes: a byte that is not UTF-8 may be logged as
 * U+FFFD or as \u00XX, one character either way, whatever its bytes. */
#define OUTPUT_LINE_MAX 1100
#define OUTPUT_RUN_MAX (64 * 1024 + 2 * OUTPUT_LINE_MAX)
/* Most key=value pairs of a log line the checker reads. */
#define LF_MAX_PAIRS 40

/* The sweepd command line every test starts from. */
#define SWEEPD_BASE SWEEPD_BIN " --conf-dir '%s' --plugin-dir " \
	SWEEPD_FIXTURE_DIR

/* What the running test set up, for teardown to clean even after a
 * failure. */
static struct {
	PGconn *db;
	char *schema;           /* also the prefix of every job name */
	char *conf;             /* scratch conf.d */
	char *args;             /* --conf-dir CONF --plugin-dir FIXTURES */
} T;

/* ---------------------------------------------------------------- files */

/* The name of the test's job called suffix: SCHEMA-suffix. */
static void job_name(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s-%s", T.schema, suffix);
}

/* Writes conf/SUFFIX.ini: the job SCHEMA-SUFFIX over the fault plugin
 * failing with fault; job_extra and params are more lines of [job] and
 * [params] ("" for none).  The job's name goes to name. */
static void write_fault_job(char *name, size_t len, const char *suffix,
                            const char *fault, const char *job_extra,
                            const char *params)
{
	char file[128];

	job_name(name, len, suffix);
	snprintf(file, sizeof(file), "%s.ini", suffix);
	tu_writef(T.conf, file, "[job]\nname = %s\nplugin = fault\n%s"
	          "[params]\nfault = %s\n%s", name, job_extra, fault, params);
}

/* Writes conf/SUFFIX.ini: the job SCHEMA-SUFFIX over testjob, every
 * second, recording each start in the test's table rec. */
static void write_testjob(char *name, size_t len, const char *suffix)
{
	char file[128];

	job_name(name, len, suffix);
	snprintf(file, sizeof(file), "%s.ini", suffix);
	tu_writef(T.conf, file, "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = * * * * * *\n[params]\nrecord = %s.rec\n"
	          "job = %s\n", name, T.schema, name);
}

/* Copies at most n bytes of s into out (len bytes) for a message, bytes
 * other than printable ASCII as \xNN. */
static void show_bytes(const char *s, size_t n, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------ processes */

/* Walks the processes other than this one whose command line holds the
 * test's conf.d path (as `pgrep -f` would find them), sending each sig
 * (0: none); returns how many it found (with sig, how many took it).  The
 * first one's pid and command line go to what (len bytes) when it is not
 * NULL. */
static int procs_scan(int sig, char *what, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[64], *cmd;
		size_t clen, i;
		long pid = strtol(e->d_name, NULL, 10);

		if (pid <= 0 || pid == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		cmd = tu_read(path, &clen);
		if (cmd == NULL)
			continue;
		for (i = 0; i < clen; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		if (strstr(cmd, T.conf) != NULL &&
		    (sig == 0 || kill((pid_t)pid, sig) == 0) && n++ == 0 &&
		    what != NULL)
			snprintf(what, len, "pid %ld: %.300s", pid, cmd);
		free(cmd);
	}
	closedir(d);
	return n;
}

/* Number of processes left holding the test's conf.d path (procs_scan). */
static int procs_left(char *what, size_t len)
{
	return procs_scan(0, what, len);
}

/* Kills (SIGKILL) every process left holding the test's conf.d path,
 * until none is left (at most 50 rounds, 50 ms apart). */
static void kill_procs_left(void)
{
	int round;

	for (round = 0; round < 50 && procs_scan(SIGKILL, NULL, 0) > 0;
	     round++)
		tu_nap_ms(50);
}

/* ----------------------------------------------------------------- SQL */

/* SQL: the backends of the test's jobs. */
#define OF_TEST_APPS "starts_with(application_name, 'sweepd/%s-')"

/* Number of database backends of the test's jobs; the first one's pid,
 * job, state and query go to what (len bytes) when it is not NULL. */
static long long backends_left(char *what, size_t len)
{
	PGresult *res = tu_query(T.db, "SELECT pid, application_name, state,"
	                         " left(query, 200) FROM pg_stat_activity WHERE "
	                         OF_TEST_APPS " ORDER BY pid", T.schema);
	long long n = PQntuples(res);

	if (n > 0 && what != NULL)
		snprintf(what, len, "backend %s of %s, %s: %s",
		         PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		         PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
	PQclear(res);
	return n;
}

/* Whether the backend pid is still there. */
static bool backend_alive(long long pid)
{
	return tu_sql_int(T.db, "SELECT count(*) FROM pg_stat_activity WHERE"
	                  " pid = %lld", pid) > 0;
}

/* The pid of job's backend that is running a statement holding needle,
 * waiting up to TD_WAIT_S for there to be one. */
static long long wait_backend(const char *job, const char *needle);

/* The latest history row of job: *id (0: none), *status and *error (new
 * strings, "" for NULL; may be NULL when not wanted) and whether it is
 * finished. */
static void last_row(const char *job, long long *id, char **status,
                     char **error, bool *finished)
{
	PGresult *res = tu_query(T.db, "SELECT id, status, coalesce(error, ''),"
	                         " (finished_at IS NOT NULL)::int FROM sweepd.runs"
	                         " WHERE job = '%s' ORDER BY id DESC LIMIT 1",
	                         job);

	*id = 0;
	if (PQntuples(res) == 1) {
		*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (status)
			*status = strdup(PQgetvalue(res, 0, 1));
		if (error)
			*error = strdup(PQgetvalue(res, 0, 2));
		if (finished)
			*finished = PQgetvalue(res, 0, 3)[0] == '1';
	}
	PQclear(res);
}

/* Number of history rows of job. */
static long long rows_of(const char *job)
{
	if (tu_sql_int(T.db, "SELECT (to_regclass('sweepd.runs') IS NOT"
	               " NULL)::int") == 0)
		return 0;
	return tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE job ="
	                  " '%s'", job);
}

/* ------------------------------------------------------ background runs */

/* Polls, up to TD_WAIT_S, until the boolean query holds; false when it
 * never did (the caller says what that means). */
static bool wait_until(const char *fmt, ...) SWEEP_PRINTF(1, 2);

static bool wait_until(const char *fmt, ...)
{
	buf sql = BUF_INIT;
	va_list ap;
	double deadline = tu_mono() + TD_WAIT_S;
	bool held;

	va_start(ap, fmt);
	buf_vprintf(&sql, fmt, ap);
	va_end(ap);
	while (!(held = tu_sql_int(T.db, "SELECT coalesce((%s), false)::int",
	                           buf_str(&sql)) == 1) && tu_mono() < deadline)
		tu_nap_ms(50);
	buf_free(&sql);
	return held;
}

static long long wait_backend(const char *job, const char *needle)
{
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE"
	            " application_name = 'sweepd/%s' AND state = 'active' AND"
	            " strpos(query, '%s') > 0)", job, needle);
	return tu_sql_int(T.db, "SELECT pid FROM pg_stat_activity WHERE"
	                  " application_name = 'sweepd/%s' AND state ="
	                  " 'active' AND strpos(query, '%s') > 0 LIMIT 1", job,
	                  needle);
}

/* Polls, up to within_s seconds, until no process of the test's sweepd
 * and no backend of its jobs is left; fails the test, naming one, when
 * some are. */
static void assert_nothing_left(const char *after, double within_s)
{
	double deadline = tu_mono() + within_s;
	char proc[400], backend[400];

	for (;;) {
		int np = procs_left(proc, sizeof(proc));
		long long nb = backends_left(backend, sizeof(backend));

		if (np == 0 && nb == 0)
			return;
		if (tu_mono() > deadline) {
			td_show_logs();
			fail_msg("%.1f s after %s, %d process(es) and %lld"
			         " backend(s) are left%s%s%s%s", within_s, after,
			         np, nb, np ? "; " : "", np ? proc : "",
			         nb ? "; " : "", nb ? backend : "");
		}
		tu_nap_ms(50);
	}
}

/* Polls until no process of the test's sweepd is left (its database
 * backends may be), failing the test when one still is stop_grace + 1 s
 * after what happened: a run's process dies with its parent. */
static void assert_no_process_left(const char *after)
{
	double deadline = tu_mono() + GRACE_S + 1;
	char what[400];

	while (procs_left(what, sizeof(what)) > 0) {
		if (tu_mono() > deadline) {
			td_show_logs();
			fail_msg("%d s after %s, a process is still there: %s",
			         GRACE_S + 1, after, what);
		}
		tu_nap_ms(50);
	}
}

/* Polls until the backend pid is gone, failing the test when it is
 * still there within_s seconds later. */
static void assert_backend_goes(long long pid, const char *after,
                                double within_s)
{
	double deadline = tu_mono() + within_s;

	while (backend_alive(pid)) {
		if (tu_mono() > deadline) {
			td_show_logs();
			fail_msg("the run's backend %lld is still there %.1f s"
			         " after %s", pid, within_s, after);
		}
		tu_nap_ms(50);
	}
}

/* ------------------------------------------------------ setup/teardown */

/* Sets up the test: a connection, schema PREFIX_PID with the record table
 * rec (job, at) for testjob, and a scratch conf.d. */
static void begin(const char *prefix)
{
	buf args = BUF_INIT;

	memset(&T, 0, sizeof(T));
	T.db = tu_db();
	T.schema = tu_schema(T.db, prefix);
	T.conf = tu_tempdir();
	tu_sql(T.db, "CREATE TABLE %s.rec (job text NOT NULL, at timestamptz"
	       " NOT NULL)", T.schema);
	/* Background sweepd: `sweepd --conf-dir CONF --plugin-dir FIXTURES
	 * ARGS`, standard output in out and standard error in log. */
	buf_printf(&args, "--conf-dir '%s' --plugin-dir " SWEEPD_FIXTURE_DIR,
	           T.conf);
	T.args = buf_detach(&args);
	assert_non_null(T.args);
	td_begin(&(td_opts){.args = T.args, .split = true});
}

/* Kills whatever a failed test left running (processes by the conf.d
 * path in their command line, backends by application_name) and removes
 * everything the test made: directories, history rows, schema. */
static int teardown(void **state)
{
	(void)state;
	if (T.conf != NULL)
		kill_procs_left();
	td_end();
	if (T.db != NULL) {
		if (T.schema != NULL) {
			tu_sql(T.db, "SELECT pg_terminate_backend(pid) FROM"
			       " pg_stat_activity WHERE " OF_TEST_APPS, T.schema);
			tu_schema_drop(T.db, T.schema);
		}
		PQfinish(T.db);
	}
	if (T.conf != NULL) {
		tu_rmtree(T.conf);
		free(T.conf);
	}
	free(T.schema);
	free(T.args);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* ------------------------------------------------------------- the CLI */

/* Runs `SWEEPD_BASE --stop-grace GRACE_S ARGS` (printf-style) to its end,
 * without core dumps, and returns its exit status; out and err get its
 * standard output and error.  A run still going after GUARD_S is killed
 * with its process group and fails the test as hung. */
static int cli(char **out, char **err, const char *fmt, ...)
	SWEEP_PRINTF(3, 4);

static int cli(char **out, char **err, const char *fmt, ...)
{
	buf args = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vprintf(&args, fmt, ap);
	va_end(ap);
	rc = tu_run(out, err, "ulimit -c 0; timeout -k 2 %d " SWEEPD_BASE
	            " --stop-grace %ds %s", GUARD_S, T.conf, GRACE_S,
	            buf_str(&args));
	if (rc == 124 || rc == 128 + SIGKILL) {
		char tail[600] = "";

		if (err && *err) {
			size_t n = strlen(*err);
			size_t from = n > 500 ? n - 500 : 0;

			show_bytes(*err + from, n - from, tail, sizeof(tail));
		}
		fail_msg("sweepd %s had not ended after %d s: the test killed"
		         " it (stderr ends: %s)", buf_str(&args), GUARD_S,
		         tail);
	}
	buf_free(&args);
	return rc;
}

/* How an expected error is compared with the recorded one. */
enum { EXACT, PREFIX, CONTAINS };

/* Whether got matches want as match says. */
static bool error_matches(const char *got, int match, const char *want)
{
	switch (match) {
	case EXACT: return strcmp(got, want) == 0;
	case PREFIX: return strncmp(got, want, strlen(want)) == 0;
	default: return strstr(got, want) != NULL;
	}
}

/* Whether one line of text holds want (or, when dry, want with its
 * phase " in run" written " in dry_run" or " in dry-run") and also (when
 * not NULL). */
static bool line_holds(const char *text, const char *want, const char *also,
                       bool dry)
{
	char variants[3][512];
	const char *line = text, *in;
	int nv = 1, k;

	snprintf(variants[0], sizeof(variants[0]), "%s", want);
	if (dry && (in = strstr(want, " in run")) != NULL) {
		snprintf(variants[1], sizeof(variants[1]), "%.*s in dry_run%s",
		         (int)(in - want), want, in + 7);
		snprintf(variants[2], sizeof(variants[2]), "%.*s in dry-run%s",
		         (int)(in - want), want, in + 7);
		nv = 3;
	}
	while (line != NULL && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, n);

		assert_non_null(copy);
		for (k = 0; k < nv; k++)
			if (strstr(copy, variants[k]) != NULL &&
			    (also == NULL || strstr(copy, also) != NULL)) {
				free(copy);
				return true;
			}
		free(copy);
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* One fault run through the CLI, and what it must give. */
typedef struct fault_case {
	const char *name;       /* test name and schema prefix */
	const char *fault;
	const char *job_extra;  /* more [job] lines */
	const char *flags;      /* more command-line flags */
	int rc;                 /* exit status of --run and --dry-run */
	const char *status;     /* the history row's */
	int match;              /* EXACT, PREFIX or CONTAINS */
	const char *error;      /* the history row's error (NULL: none) */
	const char *also;       /* the error holds this too, or NULL */
} fault_case;

#define TMO "timeout = 2s\n"

static const fault_case fault_cases[] = {
	{"cli_segv_run", "segv_run", "", "", 1, "crashed", EXACT,
	 "crashed in run: signal 11 (Segmentation fault)", NULL},
	{"cli_abort_init", "abort_init", "", "", 1, "crashed", EXACT,
	 "crashed in init: signal 6 (Aborted)", NULL},
	{"cli_exit0_run", "exit0_run", "", "", 1, "crashed", EXACT,
	 "crashed in run: the process exited with status 0", NULL},
	{"cli_recursion_run", "recursion_run", "", "", 1, "crashed", PREFIX,
	 "crashed in run: signal 11", NULL},
	{"cli_malloc_run", "malloc_run", "memory_limit = 64MiB\n", "", 1,
	 "crashed", CONTAINS, "crashed in run:", "memory_limit = 64MiB"},
	{"cli_segv_teardown", "segv_teardown", "", "", 1, "crashed", EXACT,
	 "crashed in teardown: signal 11 (Segmentation fault)", NULL},
	{"cli_error_run", "error_run", "", "", 1, "failed", CONTAINS,
	 "fixture error", NULL},
	{"cli_busy_run", "busy_run", TMO, "", 1, "timeout", PREFIX,
	 "timed out in run after 2s", NULL},
	{"cli_sigterm_blocked_run", "sigterm_blocked_run", TMO, "", 1,
	 "timeout", PREFIX, "timed out in run after 2s", NULL},
	{"cli_sleep_init", "sleep_init", TMO, "", 1, "timeout", PREFIX,
	 "timed out in init after 2s", NULL},
	{"cli_timeout_flag_overrides_job", "busy_run", "timeout = 1h\n",
	 "--timeout 2s", 1, "timeout", PREFIX, "timed out in run after 2s",
	 NULL},
	{"cli_noise_run", "noise_run", "", "", 0, "ok", EXACT, NULL, NULL},
	{"cli_printf_run", "printf_run", "", "", 0, "ok", EXACT, NULL, NULL},
};

/* Checks one `sweepd --run` (dry false) or `--dry-run` of the case's job:
 * exit status, a line of stderr with the phase and cause, the history
 * row (a dry run adds none), and nothing left behind within stop_grace +
 * 1 s. */
static void cli_fault_once(const fault_case *fc, const char *job, bool dry)
{
	const char *cmd = dry ? "--dry-run" : "--run";
	char *out, *err, *status = NULL, *error = NULL, after[128];
	long long before = rows_of(job), id;
	bool finished = false;
	int rc;

	rc = cli(&out, &err, "%s %s %s", fc->flags, cmd, job);
	if (rc != fc->rc)
		fail_msg("sweepd %s %s (%s) exited %d, not %d; stderr:\n%.2000s",
		         cmd, job, fc->fault, rc, fc->rc, err);
	if (fc->error != NULL && !line_holds(err, fc->error, fc->also, dry))
		fail_msg("sweepd %s %s (%s): no line of stderr says \"%s\"%s%s;"
		         " stderr:\n%.2000s", cmd, job, fc->fault, fc->error,
		         fc->also ? " and " : "", fc->also ? fc->also : "", err);
	if (dry) {
		assert_int_equal(rows_of(job), before);
	} else {
		last_row(job, &id, &status, &error, &finished);
		if (id == 0 || rows_of(job) != before + 1)
			fail_msg("sweepd --run %s (%s) left %lld history rows,"
			         " not 1", job, fc->fault, rows_of(job) - before);
		if (strcmp(status, fc->status) != 0 || !finished ||
		    (fc->error != NULL &&
		     !error_matches(error, fc->match, fc->error)) ||
		    (fc->also != NULL && strstr(error, fc->also) == NULL))
			fail_msg("sweepd --run %s (%s) is recorded as %s%s, error"
			         " \"%s\"; expected %s, error %s\"%s\"%s%s", job,
			         fc->fault, status, finished ? "" : " (unfinished)",
			         error, fc->status, fc->match == EXACT ? "" :
			         fc->match == PREFIX ? "starting with " :
			         "holding ", fc->error ? fc->error : "",
			         fc->also ? " and " : "", fc->also ? fc->also : "");
		free(status);
		free(error);
	}
	free(out);
	free(err);
	snprintf(after, sizeof(after), "sweepd %s (%s) exited", cmd, fc->fault);
	assert_nothing_left(after, GRACE_S + 1);
}

/* a. and b.: the case's fault through --run, then through --dry-run. */
static void cli_fault_test(void **state)
{
	const fault_case *fc = *state;
	char job[128];

	if (!runs_in_this_build(fc->job_extra))
		skip();
	begin(fc->name);
	write_fault_job(job, sizeof(job), "j", fc->fault, fc->job_extra, "");
	cli_fault_once(fc, job, false);
	cli_fault_once(fc, job, true);
}

/* ------------------------------------------------------- log checkers */

/* Length of the valid UTF-8 sequence at p (n bytes left): 1 to 4, or 0
 * when the bytes there are not UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Appends code point cp to out in UTF-8. */
static void utf8_put(buf *out, unsigned long cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		buf_append(out, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 4);
	}
}

/* The 4 hex digits at s[i] as a number, or -1. */
static long hex4(const char *s, size_t n, size_t i)
{
	long v = 0;
	size_t k;

	if (i + 4 > n)
		return -1;
	for (k = i; k < i + 4; k++) {
		if (!isxdigit((unsigned char)s[k]))
			return -1;
		v = v * 16 + (isdigit((unsigned char)s[k]) ? s[k] - '0'
		              : (tolower((unsigned char)s[k]) - 'a' + 10));
	}
	return v;
}

/* Reads the double-quoted string at s[*i] (its opening quote) through its
 * closing quote, decoding it into out (NULL: not wanted): escapes are
 * JSON's (\" \\ \/ \b \f \n \r \t \uXXXX, surrogates in pairs), raw bytes
 * below 0x20 (and 0x7f when no_del) are refused, and so is what is not
 * UTF-8.  0, or -1 with *why set. */
static int scan_string(const char *s, size_t n, size_t *i, bool no_del,
                       buf *out, const char **why)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	buf dummy = BUF_INIT;
	size_t k = *i + 1;
	int rc = -1;

	if (out == NULL)
		out = &dummy;
	for (;;) {
		unsigned char c;
		size_t len;

		if (k >= n) {
			*why = "a quoted value does not end";
			goto out;
		}
		c = (unsigned char)s[k];
		if (c == '"')
			break;
		if (c < 0x20 || (no_del && c == 0x7f)) {
			*why = "a raw control byte in a quoted value";
			goto out;
		}
		if (c != '\\') {
			if ((len = utf8_len((const unsigned char *)s + k,
			                    n - k)) == 0) {
				*why = "bytes that are not UTF-8";
				goto out;
			}
			buf_append(out, s + k, len);
			k += len;
			continue;
		}
		if (k + 1 >= n) {
			*why = "a backslash at the end of a value";
			goto out;
		}
		if (s[k + 1] == 'u') {
			long cp = hex4(s, n, k + 2), lo;

			k += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				cp = -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				lo = k + 1 < n && s[k] == '\\' && s[k + 1] == 'u'
				     ? hex4(s, n, k + 2) : -1;
				cp = lo >= 0xdc00 && lo <= 0xdfff ? 0x10000 +
				     ((cp - 0xd800) << 10) + (lo - 0xdc00) : -1;
				k += 6;
			}
			if (cp < 0) {
				*why = "a bad \\u escape";
				goto out;
			}
			utf8_put(out, (unsigned long)cp);
			continue;
		}
		if (s[k + 1] == '\0' || strchr(from, s[k + 1]) == NULL) {
			*why = "an unknown backslash escape";
			goto out;
		}
		buf_append(out, &to[strchr(from, s[k + 1]) - from], 1);
		k += 2;
	}
	*i = k + 1;
	rc = 0;
out:
	buf_free(&dummy);
	return rc;
}

/* Number of characters (code points) of the valid UTF-8 in b. */
static size_t utf8_chars(const buf *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->len; i++)
		n += ((unsigned char)b->data[i] & 0xc0) != 0x80;
	return n;
}

/* A logfmt line: its pairs, values decoded (they may hold NULs). */
typedef struct lf_line {
	size_t n;
	char key[LF_MAX_PAIRS][64];
	buf val[LF_MAX_PAIRS];
} lf_line;

static void lf_free(lf_line *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		buf_free(&l->val[i]);
	l->n = 0;
}

/* The decoded value of key in l, or NULL. */
static const buf *lf_get(const lf_line *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->key[i], key) == 0)
			return &l->val[i];
	return NULL;
}

/* Parses one line (without its newline) strictly as logfmt: key=value
 * pairs one space apart; a key is printable ASCII without '=', '"' or
 * space; a value is bare (no space, '"', '=' or byte below 0x20 or 0x7f;
 * not empty) or double-quoted (JSON escapes); every byte beyond ASCII is
 * valid UTF-8.  0, or -1 with *why set. */
static int lf_parse(const char *s, size_t n, lf_line *l, const char **why)
{
	size_t i = 0;

	memset(l, 0, sizeof(*l));
	for (;;) {
		size_t k = i;
		buf *v;

		while (k < n && s[k] != '=' && s[k] != ' ' && s[k] != '"' &&
		       (unsigned char)s[k] > 0x20 && (unsigned char)s[k] < 0x7f)
			k++;
		if (k == i || k >= n || s[k] != '=' || k - i >= 64) {
			*why = "not a key= here";
			return -1;
		}
		if (l->n == LF_MAX_PAIRS) {
			*why = "too many pairs";
			return -1;
		}
		memcpy(l->key[l->n], s + i, k - i);
		l->key[l->n][k - i] = '\0';
		v = &l->val[l->n++];
		i = k + 1;
		if (i < n && s[i] == '"') {
			if (scan_string(s, n, &i, true, v, why) != 0)
				return -1;
		} else {
			k = i;
			while (k < n && s[k] != ' ') {
				unsigned char c = (unsigned char)s[k];
				size_t len = utf8_len((const unsigned char *)s + k,
				                      n - k);

				if (c < 0x20 || c == 0x7f || c == '"' ||
				    c == '=' || len == 0) {
					*why = "a bad byte in a bare value";
					return -1;
				}
				k += len;
			}
			if (k == i) {
				*why = "an empty bare value";
				return -1;
			}
			buf_append(v, s + i, k - i);
			i = k;
		}
		if (i == n)
			return 0;
		if (s[i] != ' ') {
			*why = "no space after a value";
			return -1;
		}
		i++;
	}
}

static int js_value(const char *s, size_t n, size_t *i, int depth,
                    const char **why);

/* Skips JSON white space within a line. */
static void js_ws(const char *s, size_t n, size_t *i)
{
	while (*i < n && (s[*i] == ' ' || s[*i] == '\t'))
		(*i)++;
}

/* Reads the JSON number at s[*i]. */
static int js_number(const char *s, size_t n, size_t *i, const char **why)
{
	size_t k = *i;

	if (k < n && s[k] == '-')
		k++;
	if (k < n && s[k] == '0') {
		k++;
	} else if (k < n && s[k] >= '1' && s[k] <= '9') {
		while (k < n && isdigit((unsigned char)s[k]))
			k++;
	} else {
		*why = "not a JSON value";
		return -1;
	}
	if (k < n && s[k] == '.') {
		if (++k >= n || !isdigit((unsigned char)s[k])) {
			*why = "a bad number";
			return -1;
		}
		while (k < n && isdigit((unsigned char)s[k]))
			k++;
	}
	if (k < n && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k >= n || !isdigit((unsigned char)s[k])) {
			*why = "a bad number";
			return -1;
		}
		while (k < n && isdigit((unsigned char)s[k]))
			k++;
	}
	*i = k;
	return 0;
}

/* Reads the JSON object or array at s[*i] (its opening bracket). */
static int js_container(const char *s, size_t n, size_t *i, int depth,
                        const char **why)
{
	char close = s[*i] == '{' ? '}' : ']';

	(*i)++;
	js_ws(s, n, i);
	if (*i < n && s[*i] == close) {
		(*i)++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (*i >= n || s[*i] != '"') {
				*why = "an object key is not a string";
				return -1;
			}
			if (scan_string(s, n, i, false, NULL, why) != 0)
				return -1;
			js_ws(s, n, i);
			if (*i >= n || s[*i] != ':') {
				*why = "no ':' after an object key";
				return -1;
			}
			(*i)++;
		}
		if (js_value(s, n, i, depth + 1, why) != 0)
			return -1;
		js_ws(s, n, i);
		if (*i < n && s[*i] == close) {
			(*i)++;
			return 0;
		}
		if (*i >= n || s[*i] != ',') {
			*why = "no ',' between members";
			return -1;
		}
		(*i)++;
		js_ws(s, n, i);
	}
}

/* Reads one JSON value at s[*i] (white space before it allowed). */
static int js_value(const char *s, size_t n, size_t *i, int depth,
                    const char **why)
{
	static const char *const words[] = {"true", "false", "null"};
	size_t w;

	js_ws(s, n, i);
	if (depth > 64) {
		*why = "nested too deep";
		return -1;
	}
	if (*i >= n) {
		*why = "a value is missing";
		return -1;
	}
	if (s[*i] == '{' || s[*i] == '[')
		return js_container(s, n, i, depth, why);
	if (s[*i] == '"')
		return scan_string(s, n, i, false, NULL, why);
	for (w = 0; w < 3; w++)
		if (n - *i >= strlen(words[w]) &&
		    memcmp(s + *i, words[w], strlen(words[w])) == 0) {
			*i += strlen(words[w]);
			return 0;
		}
	return js_number(s, n, i, why);
}

/* Whether the line s (n bytes, no newline) is exactly one JSON object;
 * 0, or -1 with *why set. */
static int js_object_line(const char *s, size_t n, const char **why)
{
	size_t i = 0;

	js_ws(s, n, &i);
	if (i >= n || s[i] != '{') {
		*why = "not a JSON object";
		return -1;
	}
	if (js_value(s, n, &i, 0, why) != 0)
		return -1;
	js_ws(s, n, &i);
	if (i != n) {
		*why = "more after the JSON object";
		return -1;
	}
	return 0;
}

/* Fails the test showing line number lineno of what, and why. */
static void bad_line(const char *what, size_t lineno, const char *s,
                     size_t n, const char *why)
{
	char shown[1400];

	show_bytes(s, n < 300 ? n : 300, shown, sizeof(shown));
	td_show_logs();
	fail_msg("%s, line %zu: %s: %s%s", what, lineno, why, shown,
	         n > 300 ? "..." : "");
}

/* ---------------------------------------------------------------- tests */

/* c. A statement that outlives the run's timeout: the run's backend (pid;
 * 0: any backend of the test) is gone within timeout + stop_grace + 1 s
 * of the run's start (history row id), without waiting for the
 * statement. */
static void assert_backend_gone_in_time(const char *job, long long id,
                                        long long pid)
{
	char what[400];
	long long due = TIMEOUT_S + GRACE_S + 1;

	for (;;) {
		if (pid == 0 && backends_left(what, sizeof(what)) == 0)
			return;
		if (pid != 0 && !backend_alive(pid))
			return;
		if (pid != 0)
			snprintf(what, sizeof(what), "backend %lld", pid);
		if (tu_sql_int(T.db, "SELECT (clock_timestamp() > started_at +"
		               " interval '%lld s')::int FROM sweepd.runs WHERE"
		               " id = %lld", due, id) == 1) {
			td_show_logs();
			fail_msg("%lld s after the start of run %lld of %s, its"
			         " statement still runs: %s", due, id, job, what);
		}
		tu_nap_ms(50);
	}
}

/* c. through --run. */
static void cli_sql_timeout_ends_the_backend(void **state)
{
	char job[128], *out, *err, *status = NULL, *error = NULL;
	long long id;
	bool finished;
	int rc;

	(void)state;
	begin("cli_sql");
	write_fault_job(job, sizeof(job), "j", "sql_run", TMO,
	                "sql = SELECT pg_sleep(30)\n");
	rc = cli(&out, &err, "--run %s", job);
	if (rc != 1)
		fail_msg("sweepd --run %s exited %d, not 1; stderr:\n%.2000s",
		         job, rc, err);
	last_row(job, &id, &status, &error, &finished);
	assert_true(id > 0);
	if (strcmp(status, "timeout") != 0 ||
	    !error_matches(error, PREFIX, "timed out in run after 2s"))
		fail_msg("the run is recorded as %s: %s", status, error);
	assert_backend_gone_in_time(job, id, 0);
	assert_nothing_left("sweepd --run exited", GRACE_S + 1);
	free(status);
	free(error);
	free(out);
	free(err);
}

/* c. through the daemon: the backend goes in time, and the job's next
 * tick runs (the run's advisory lock went with its backend). */
static void daemon_sql_timeout_ends_the_backend(void **state)
{
	char job[128];
	td_proc *d;
	long long id, backend;

	(void)state;
	begin("dmn_sql");
	write_fault_job(job, sizeof(job), "j", "sql_run",
	                "schedule = */5 * * * * *\n" TMO,
	                "sql = SELECT pg_sleep(30)\n");
	d = td_start("--log-level debug --stop-grace %ds", GRACE_S);
	backend = wait_backend(job, "pg_sleep(30)");
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE job = '%s'"
	            " AND status <> 'skipped' AND finished_at IS NOT NULL)", job);
	id = tu_sql_int(T.db, "SELECT min(id) FROM sweepd.runs WHERE job ="
	                " '%s' AND status <> 'skipped' AND finished_at IS NOT"
	                " NULL", job);
	/* The run's process records its own end first (its statement was
	 * cancelled); the supervisor's verdict, once it has reaped it,
	 * replaces that within moments. */
	if (!wait_until("SELECT count(*) = 1 FROM sweepd.runs WHERE id = %lld"
	                " AND status = 'timeout' AND starts_with(error,"
	                " 'timed out in run after 2s')", id)) {
		char *row = tu_sql_text(T.db, "SELECT status || ': ' ||"
		                        " coalesce(error, '') FROM sweepd.runs"
		                        " WHERE id = %lld", id);

		td_show_logs();
		fail_msg("the run is recorded as %s", row);
	}
	assert_backend_gone_in_time(job, id, backend);
	/* The next tick is not skipped: it takes the job's lock and runs
	 * the statement again. */
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE"
	            " application_name = 'sweepd/%s' AND pid <> %lld AND state ="
	            " 'active' AND strpos(query, 'pg_sleep(30)') > 0) OR EXISTS"
	            " (SELECT 1 FROM sweepd.runs WHERE job = '%s' AND id > %lld"
	            " AND status = 'skipped')", job, backend, job, id);
	if (tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE job ="
	               " '%s' AND id > %lld AND status = 'skipped'", job,
	               id) > 0) {
		td_show_logs();
		fail_msg("the tick after the timed-out run was skipped: its"
		         " lock was not freed");
	}
	assert_int_equal(td_stop(d), 0);
	assert_nothing_left("the daemon exited", GRACE_S + 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = '%s' AND (status = 'running'"
	                            " OR finished_at IS NULL)", job), 0);
}

/* The checks a daemon test's fault job must pass: its fault, [job]
 * lines, and the status and error of each of its finished runs. */
typedef struct daemon_case {
	const char *fault;
	const char *job_extra;
	const char *status;
	int match;
	const char *error;
	const char *also;
} daemon_case;

/* Fails the test unless every finished run of job (but skipped and
 * stopped ones) is recorded as c says; all: unfinished ones too. */
static void check_daemon_runs(const char *job, const daemon_case *c,
                              bool all)
{
	PGresult *res = tu_query(T.db, "SELECT status, coalesce(error, ''),"
	                         " (finished_at IS NULL)::int FROM sweepd.runs"
	                         " WHERE job = '%s' AND status NOT IN ('skipped',"
	                         " 'stopped') AND (%s OR finished_at IS NOT NULL)"
	                         " ORDER BY id", job, all ? "true" : "false");
	int r;

	for (r = 0; r < PQntuples(res); r++) {
		const char *st = PQgetvalue(res, r, 0);
		const char *er = PQgetvalue(res, r, 1);
		bool open = PQgetvalue(res, r, 2)[0] == '1';

		if (strcmp(st, c->status) == 0 && !open &&
		    error_matches(er, c->match, c->error) &&
		    (c->also == NULL || strstr(er, c->also) != NULL))
			continue;
		td_show_logs();
		fail_msg("a run of %s (%s) is recorded as %s%s, error \"%s\";"
		         " expected %s, error %s\"%s\"%s%s", job, c->fault, st,
		         open ? " (unfinished)" : "", er, c->status,
		         c->match == EXACT ? "" : c->match == PREFIX ?
		         "starting with " : "holding ", c->error,
		         c->also ? " and " : "", c->also ? c->also : "");
	}
	assert_true(PQntuples(res) >= 1);
	PQclear(res);
}

/* a. and b. through the daemon: every fault at once, every second, next
 * to a healthy job, which runs every second throughout; each fault's
 * runs are recorded with phase and cause, and nothing is left once the
 * daemon stops. */
static void daemon_faults_cost_only_their_own_run(void **state)
{
	static const daemon_case cases[] = {
		{"segv_run", "", "crashed", EXACT,
		 "crashed in run: signal 11 (Segmentation fault)", NULL},
		{"abort_init", "", "crashed", EXACT,
		 "crashed in init: signal 6 (Aborted)", NULL},
		{"exit0_run", "", "crashed", EXACT,
		 "crashed in run: the process exited with status 0", NULL},
		{"recursion_run", "", "crashed", PREFIX,
		 "crashed in run: signal 11", NULL},
		{"malloc_run", "memory_limit = 64MiB\n", "crashed", CONTAINS,
		 "crashed in run:", "memory_limit = 64MiB"},
		{"segv_teardown", "", "crashed", EXACT,
		 "crashed in teardown: signal 11 (Segmentation fault)", NULL},
		{"error_run", "", "failed", CONTAINS, "fixture error", NULL},
		{"busy_run", TMO, "timeout", PREFIX,
		 "timed out in run after 2s", NULL},
		{"sigterm_blocked_run", TMO, "timeout", PREFIX,
		 "timed out in run after 2s", NULL},
		{"sleep_init", TMO, "timeout", PREFIX,
		 "timed out in init after 2s", NULL},
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	char jobs[N][128], ok[128], extra[128];
	td_proc *d;
	size_t i;

	(void)state;
	begin("dmn_faults");
	for (i = 0; i < N; i++) {
		if (!runs_in_this_build(cases[i].job_extra))
			continue;
		snprintf(extra, sizeof(extra), "schedule = * * * * * *\n%s",
		         cases[i].job_extra);
		write_fault_job(jobs[i], sizeof(jobs[i]), cases[i].fault,
		                cases[i].fault, extra, "");
	}
	write_testjob(ok, sizeof(ok), "healthy");
	d = td_start("--log-level debug --stop-grace %ds"
	             " --max-concurrent 32", GRACE_S);
	for (i = 0; i < N; i++) {
		if (!runs_in_this_build(cases[i].job_extra))
			continue;
		td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE job ="
		            " '%s' AND status NOT IN ('skipped', 'stopped') AND"
		            " finished_at IS NOT NULL)", jobs[i]);
		check_daemon_runs(jobs[i], &cases[i], false);
	}
	td_wait_for(T.db, "SELECT count(*) >= 5 FROM %s.rec WHERE job = '%s'", T.schema,
	            ok);
	assert_int_equal(td_stop(d), 0);
	assert_nothing_left("the daemon exited", GRACE_S + 1);
	for (i = 0; i < N; i++)
		if (runs_in_this_build(cases[i].job_extra))
			check_daemon_runs(jobs[i], &cases[i], true);
	/* The healthy job ran every tick from its first to its last, and
	 * never failed. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = '%s' AND status NOT IN ('ok',"
	                            " 'stopped', 'released')", ok), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT (extract(epoch FROM"
	                            " max(scheduled_at) - min(scheduled_at)) + 1"
	                            " - count(DISTINCT scheduled_at))::int8 FROM"
	                            " sweepd.runs WHERE job = '%s' AND status ="
	                            " 'ok'", ok), 0);
}

/* Checks each line of a daemon's stderr (text, n bytes) as logfmt (json
 * false) or JSON, and the output lines of job: their stream, their text's
 * length, and in all at most OUTPUT_RUN_MAX bytes of text and one
 * "output truncated" line per run; runs is the number of runs that
 * started, ok_runs those that ended well. */
static void check_daemon_log(const char *text, size_t n, bool json,
                             const char *job, long long runs,
                             long long ok_runs)
{
	size_t at = 0, lineno = 0, total = 0, out_lines = 0, truncated = 0;
	const char *what = json ? "the daemon's JSON log"
	                        : "the daemon's logfmt log";

	assert_true(n > 0);
	if (text[n - 1] != '\n')
		bad_line(what, 0, text, 0, "the log does not end with a newline");
	while (at < n) {
		const char *s = text + at, *nl = memchr(s, '\n', n - at);
		size_t len = (size_t)(nl - s);
		const char *why = NULL;
		lf_line l;

		lineno++;
		at += len + 1;
		if (memmem(s, len, "output truncated", 16) != NULL)
			truncated++;
		if (json) {
			if (js_object_line(s, len, &why) != 0)
				bad_line(what, lineno, s, len, why);
			if (memmem(s, len, "\"event\":\"output\"", 16) != NULL)
				out_lines++;
			continue;
		}
		if (lf_parse(s, len, &l, &why) != 0) {
			lf_free(&l);
			bad_line(what, lineno, s, len, why);
		}
		if (lf_get(&l, "event") != NULL &&
		    strcmp(buf_str(lf_get(&l, "event")), "output") == 0) {
			const buf *j = lf_get(&l, "job");
			const buf *st = lf_get(&l, "stream");
			const buf *tx = lf_get(&l, OUTPUT_TEXT_KEY);

			if (j == NULL || strcmp(buf_str(j), job) != 0 ||
			    st == NULL || (strcmp(buf_str(st), "stdout") != 0 &&
			    strcmp(buf_str(st), "stderr") != 0))
				bad_line(what, lineno, s, len, "an output line"
				         " without job=JOB and stream=stdout|stderr");
			if (tx == NULL || utf8_chars(tx) > OUTPUT_LINE_MAX)
				bad_line(what, lineno, s, len, "an output line"
				         " without " OUTPUT_TEXT_KEY "=, or with"
				         " more text than a line may hold");
			total += utf8_chars(tx);
			out_lines++;
		}
		lf_free(&l);
	}
	if (out_lines == 0) {
		td_show_logs();
		fail_msg("%s has no output line of the plugin", what);
	}
	if (truncated < (size_t)ok_runs || truncated > (size_t)runs) {
		td_show_logs();
		fail_msg("%s has %zu lines saying \"output truncated\" for %lld"
		         " runs (%lld ended ok): one a run", what, truncated, runs,
		         ok_runs);
	}
	if (!json && total > (size_t)runs * OUTPUT_RUN_MAX)
		fail_msg("%s holds %zu characters of output of %lld run(s): more"
		         " than %d a run", what, total, runs, OUTPUT_RUN_MAX);
}

/* d. noise_run through the daemon logging in format ("logfmt" or
 * "json"): one run's 20 MB of random bytes leave a well-formed log. */
static void noise_through_the_daemon(const char *format)
{
	char job[128], *log;
	td_proc *d;
	long long runs, ok_runs;
	size_t n;

	write_fault_job(job, sizeof(job), "noise", "noise_run",
	                "schedule = */4 * * * * *\n", "");
	d = td_start("--log-level debug --log-format %s --stop-grace %ds",
	             format, GRACE_S);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE job = '%s' AND"
	            " status NOT IN ('skipped', 'stopped') AND finished_at IS NOT"
	            " NULL)", job);
	assert_int_equal(td_stop(d), 0);
	assert_nothing_left("the daemon exited", GRACE_S + 1);
	runs = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE job ="
	                  " '%s' AND status <> 'skipped'", job);
	ok_runs = tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE job"
	                     " = '%s' AND status = 'ok'", job);
	if (ok_runs < 1) {
		char *row = tu_sql_text(T.db, "SELECT string_agg(status || ': ' ||"
		                        " coalesce(error, ''), '; ') FROM"
		                        " sweepd.runs WHERE job = '%s'", job);

		td_show_logs();
		fail_msg("noise_run did not end ok: %s", row);
	}
	log = tu_read_in(d->run, "log", &n);
	assert_non_null(log);
	check_daemon_log(log, n, strcmp(format, "json") == 0, job, runs,
	                 ok_runs);
	free(log);
}

static void daemon_noise_logs_valid_logfmt(void **state)
{
	(void)state;
	begin("dmn_noise");
	noise_through_the_daemon("logfmt");
}

static void daemon_noise_logs_valid_json(void **state)
{
	(void)state;
	begin("dmn_noise_json");
	noise_through_the_daemon("json");
}

/* d. `--run --json`: stdout is the result alone, one JSON object; what
 * the plugin printed is a log line on stderr. */
static void cli_json_result_is_alone_on_stdout(void **state)
{
	char job[128], *out, *err;
	const char *why = NULL;
	size_t n;
	int rc;

	(void)state;
	begin("cli_json");
	write_fault_job(job, sizeof(job), "j", "printf_run", "", "");
	rc = cli(&out, &err, "--json --run %s", job);
	if (rc != 0)
		fail_msg("sweepd --json --run exited %d; stderr:\n%s", rc, err);
	n = strlen(out);
	if (n < 3 || out[0] != '{' || strcmp(out + n - 2, "}\n") != 0 ||
	    memchr(out, '\n', n - 1) != NULL ||
	    js_object_line(out, n - 1, &why) != 0)
		fail_msg("stdout of sweepd --json --run is not one JSON object"
		         " (%s):\n%s", why ? why : "its shape", out);
	if (strstr(out, "hello from the plugin") != NULL)
		fail_msg("the plugin's printf went to stdout:\n%s", out);
	if (!line_holds(err, "event=output", "hello from the plugin", false) ||
	    !line_holds(err, "stream=stdout", "hello from the plugin", false))
		fail_msg("no output log line on stderr holds the plugin's"
		         " printf (event=output, stream=stdout):\n%s", err);
	free(out);
	free(err);
}

/* e. Five jobs stuck in a statement, every second, do not take the tick
 * of a healthy every-second job: over 10 s it runs at least 9 ticks. */
static void stuck_jobs_never_take_another_jobs_tick(void **state)
{
	char stuck[5][128], ok[128], suffix[16];
	td_proc *d;
	long long t0, ran;
	int i;

	(void)state;
	begin("dmn_stuck");
	for (i = 0; i < 5; i++) {
		snprintf(suffix, sizeof(suffix), "stuck%d", i);
		write_fault_job(stuck[i], sizeof(stuck[i]), suffix, "sql_run",
		                "schedule = * * * * * *\n",
		                "sql = SELECT pg_sleep(600)\n");
	}
	write_testjob(ok, sizeof(ok), "healthy");
	/* Default settings (stop_grace only shortens the final stop). */
	d = td_start("--log-level debug --stop-grace %ds", GRACE_S);
	for (i = 0; i < 5; i++)
		td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE job ="
		            " '%s')", stuck[i]);
	t0 = tu_sql_int(T.db, "SELECT extract(epoch FROM now())::int8 + 1");
	td_wait_for(T.db, "SELECT now() >= to_timestamp(%lld)", t0 + 11);
	ran = tu_sql_int(T.db, "SELECT count(DISTINCT scheduled_at) FROM"
	                 " sweepd.runs WHERE job = '%s' AND status = 'ok' AND"
	                 " scheduled_at >= to_timestamp(%lld) AND scheduled_at"
	                 " < to_timestamp(%lld)", ok, t0, t0 + 10);
	if (ran < 9) {
		char *why = tu_sql_text(T.db, "SELECT coalesce(string_agg(DISTINCT"
		                        " status || ': ' || coalesce(message,"
		                        " error, ''), '; '), 'no row') FROM"
		                        " sweepd.runs WHERE job = '%s' AND status"
		                        " <> 'ok'", ok);

		td_show_logs();
		fail_msg("next to 5 stuck jobs, the healthy job ran %lld of its"
		         " 10 ticks; the others: %s", ran, why);
	}
	assert_int_equal(td_stop(d), 0);
	assert_nothing_left("the daemon exited", GRACE_S + 1);
}

/* e'. A run writing output without end costs the daemon nothing: a healthy
 * every-second job next to it runs every tick.  (The scheduler read a
 * run's pipes until they were empty and escaped every byte, even past the
 * run's budget of output: such a run kept it from starting the others.) */
static void endless_output_never_takes_another_jobs_tick(void **state)
{
	char noisy[128], ok[128];
	td_proc *d;
	long long t0, ran;

	(void)state;
	begin("dmn_noisy");
	write_fault_job(noisy, sizeof(noisy), "noisy", "noise_loop_run",
	                "schedule = */5 * * * * *\ntimeout = 4s\n", "");
	write_testjob(ok, sizeof(ok), "healthy");
	d = td_start("--stop-grace %ds", GRACE_S);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE job = '%s')",
	            noisy);
	t0 = tu_sql_int(T.db, "SELECT extract(epoch FROM now())::int8 + 1");
	td_wait_for(T.db, "SELECT now() >= to_timestamp(%lld)", t0 + 11);
	ran = tu_sql_int(T.db, "SELECT count(DISTINCT scheduled_at) FROM"
	                 " sweepd.runs WHERE job = '%s' AND status = 'ok' AND"
	                 " scheduled_at >= to_timestamp(%lld) AND scheduled_at"
	                 " < to_timestamp(%lld)", ok, t0, t0 + 10);
	if (ran < 10) {
		td_show_logs();
		fail_msg("next to a run writing without end, the healthy job ran"
		         " %lld of its 10 ticks", ran);
	}
	assert_int_equal(td_stop(d), 0);
	assert_nothing_left("the daemon exited", GRACE_S + 1);
}

/* f. SIGKILL of `sweepd --run` mid-run: its run's process dies with it,
 * and the next `sweepd --status` finds the run abandoned, says so (exit
 * 1), records it and ends its backend. */
static void sigkill_of_run_leaves_an_abandoned_row(void **state)
{
	char job[128], *out, *err, *status = NULL, *error = NULL;
	td_proc *p;
	long long backend, id;
	bool finished;
	int rc;

	(void)state;
	begin("kill_run");
	write_fault_job(job, sizeof(job), "j", "sql_run", "",
	                "sql = SELECT pg_sleep(30)\n");
	p = td_start_with(&(td_opts){.args = T.args, .split = true,
	                             .once = true},
	                  "--stop-grace %ds --run %s", GRACE_S, job);
	backend = wait_backend(job, "pg_sleep(30)");
	td_signal(p, SIGKILL);
	assert_int_equal(td_wait(p), 128 + SIGKILL);
	assert_no_process_left("SIGKILL of sweepd --run");
	rc = cli(&out, &err, "--status %s", job);
	if (rc != 1 || strstr(out, "abandoned") == NULL)
		fail_msg("sweepd --status %s exited %d (not 1) saying:\n%s%s",
		         job, rc, out, err);
	last_row(job, &id, &status, &error, &finished);
	if (strcmp(status, "abandoned") != 0 || !finished ||
	    strstr(error, "process") == NULL)
		fail_msg("the killed run is recorded as %s%s, error \"%s\";"
		         " expected abandoned, saying its process is gone",
		         status, finished ? "" : " (unfinished)", error);
	assert_backend_goes(backend, "sweepd --status found the run abandoned",
	                    GRACE_S + 1);
	assert_nothing_left("sweepd --status", GRACE_S + 1);
	free(status);
	free(error);
	free(out);
	free(err);
}

/* f. SIGKILL of the daemon mid-run: its run's process dies with it; the
 * restarted daemon marks the run abandoned within seconds, ends its
 * backend, and the job's next tick runs. */
static void sigkill_of_daemon_then_restart_abandons_the_run(void **state)
{
	char job[128];
	td_proc *d;
	long long backend, id;
	double deadline;

	(void)state;
	begin("kill_dmn");
	write_fault_job(job, sizeof(job), "j", "sql_run",
	                "schedule = */5 * * * * *\n",
	                "sql = SELECT pg_sleep(30)\n");
	d = td_start("--log-level debug --stop-grace %ds", GRACE_S);
	backend = wait_backend(job, "pg_sleep(30)");
	/* The job's first run: later ticks are skipped while it runs. */
	id = tu_sql_int(T.db, "SELECT min(id) FROM sweepd.runs WHERE job = '%s'"
	                " AND status = 'running'", job);
	assert_true(id > 0);
	d->daemon = false;
	td_signal(d, SIGKILL);
	assert_int_equal(td_wait(d), 128 + SIGKILL);
	assert_no_process_left("SIGKILL of the daemon");
	/* From now on the job's statement is quick. */
	write_fault_job(job, sizeof(job), "j", "sql_run",
	                "schedule = */5 * * * * *\n", "sql = SELECT 1\n");
	d = td_start("--log-level debug --stop-grace %ds", GRACE_S);
	deadline = tu_mono() + 5;
	while (tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs WHERE id ="
	                  " %lld AND status = 'abandoned' AND finished_at IS"
	                  " NOT NULL", id) == 0) {
		td_check_alive();
		if (tu_mono() > deadline) {
			char *row = tu_sql_text(T.db, "SELECT status || ': ' ||"
			                        " coalesce(error, '') FROM"
			                        " sweepd.runs WHERE id = %lld", id);

			td_show_logs();
			fail_msg("5 s after the restart, the killed daemon's run"
			         " is recorded as %s", row);
		}
		tu_nap_ms(100);
	}
	assert_backend_goes(backend, "the restart", GRACE_S + 1);
	td_wait_for(T.db, "SELECT EXISTS (SELECT 1 FROM sweepd.runs WHERE job = '%s'"
	            " AND id > %lld AND status = 'ok')", job, id);
	assert_int_equal(td_stop(d), 0);
	assert_nothing_left("the daemon exited", GRACE_S + 1);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE job = '%s' AND (status = 'running'"
	                            " OR finished_at IS NULL)", job), 0);
}

/* g. `--status JOB` exits 1 when the job's last run failed, crashed, timed
 * out or was abandoned, 0 when it succeeded, 2 for a job it does not
 * know; it says a crash's cause once. */
static void status_exit_code_tells_the_last_run(void **state)
{
	static const char *const recorded[] = {"timeout", "abandoned"};
	char ok[128], bad[128], segv[128], other[128], *out, *err;
	const char *p;
	int rc, times = 0;
	size_t i;

	(void)state;
	begin("cli_status");
	write_fault_job(ok, sizeof(ok), "ok", "printf_run", "", "");
	write_fault_job(bad, sizeof(bad), "bad", "error_run", "", "");
	write_fault_job(segv, sizeof(segv), "segv", "segv_run", "", "");
	job_name(other, sizeof(other), "nosuch");
	rc = cli(&out, &err, "--status %s", other);
	if (rc != 2)
		fail_msg("sweepd --status of an unknown job exited %d, not 2",
		         rc);
	free(out);
	free(err);

	assert_int_equal(cli(NULL, NULL, "--run %s >/dev/null 2>&1", ok), 0);
	assert_int_equal(cli(&out, &err, "--status %s", ok), 0);
	free(out);
	free(err);
	assert_int_equal(cli(NULL, NULL, "--run %s >/dev/null 2>&1", bad), 1);
	rc = cli(&out, &err, "--status %s", bad);
	if (rc != 1)
		fail_msg("sweepd --status of a failed job exited %d:\n%s", rc,
		         out);
	free(out);
	free(err);

	assert_int_equal(cli(NULL, NULL, "--run %s >/dev/null 2>&1", segv), 1);
	rc = cli(&out, &err, "--status %s", segv);
	for (p = out; (p = strstr(p, "crashed in run: signal 11 (Segmentation"
	                          " fault)")) != NULL; p++)
		times++;
	if (rc != 1 || times != 1 || strstr(out, "crashed: crashed:") != NULL)
		fail_msg("sweepd --status of a crashed job exited %d, saying"
		         " its cause %d times:\n%s", rc, times, out);
	free(out);
	free(err);

	/* Timed out and abandoned, as the history says. */
	for (i = 0; i < 2; i++) {
		tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind,"
		       " status, started_at, finished_at, error) VALUES ('%s',"
		       " 'test', 1, 'run', '%s', clock_timestamp(),"
		       " clock_timestamp(), 'as the test wrote it')", ok,
		       recorded[i]);
		rc = cli(&out, &err, "--status %s", ok);
		if (rc != 1 || strstr(out, recorded[i]) == NULL)
			fail_msg("sweepd --status of a job whose last run is %s"
			         " exited %d, saying:\n%s", recorded[i], rc, out);
		free(out);
		free(err);
	}
}

/* One test of the table of faults through the CLI. */
#define CLI_FAULT(i) \
	{fault_cases[i].name, cli_fault_test, NULL, teardown, \
	 (void *)&fault_cases[i]}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLI_FAULT(0), CLI_FAULT(1), CLI_FAULT(2), CLI_FAULT(3),
		CLI_FAULT(4), CLI_FAULT(5), CLI_FAULT(6), CLI_FAULT(7),
		CLI_FAULT(8), CLI_FAULT(9), CLI_FAULT(10), CLI_FAULT(11),
		CLI_FAULT(12),
		cmocka_unit_test_teardown(cli_sql_timeout_ends_the_backend,
		                          teardown),
		cmocka_unit_test_teardown(cli_json_result_is_alone_on_stdout,
		                          teardown),
		cmocka_unit_test_teardown(status_exit_code_tells_the_last_run,
		                          teardown),
		cmocka_unit_test_teardown(sigkill_of_run_leaves_an_abandoned_row,
		                          teardown),
		cmocka_unit_test_teardown(daemon_faults_cost_only_their_own_run,
		                          teardown),
		cmocka_unit_test_teardown(daemon_sql_timeout_ends_the_backend,
		                          teardown),
		cmocka_unit_test_teardown(daemon_noise_logs_valid_logfmt,
		                          teardown),
		cmocka_unit_test_teardown(daemon_noise_logs_valid_json,
		                          teardown),
		cmocka_unit_test_teardown(
			endless_output_never_takes_another_jobs_tick, teardown),
		cmocka_unit_test_teardown(stuck_jobs_never_take_another_jobs_tick,
		                          teardown),
		cmocka_unit_test_teardown(
			sigkill_of_daemon_then_restart_abandons_the_run, teardown),
	};

	_Static_assert(sizeof(fault_cases) / sizeof(fault_cases[0]) == 13,
	               "every fault case has its test in main()");
	/* TEST_FILTER=glob runs the matching tests only. */
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
