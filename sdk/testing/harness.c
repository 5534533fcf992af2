/* harness: sweepd/testing.h, a plugin's test running the plugin through
 * the host's own settings, loader, validator, runner and services, in the
 * test's process, against a real PostgreSQL. */
#include <sweepd/testing.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "jobs.h"
#include "loader.h"
#include "log.h"
#include "result.h"
#include "runner.h"
#include "settings.h"

/* One audit record read back. */
typedef struct harness_audit {
	char *action;
	char *table;
	char *data;
} harness_audit;

struct sweep_test {
	char *dsn;              /* as given; "" for the environment's */
	char *dir;              /* scratch conf dir, removed by free */
	char *plugin_path;      /* what the job file's plugin = names */
	char *job;
	PGconn *db;             /* the test's own session */
	loader *l;              /* holds the plugin across loads */
	settings s;
	jobs *js;               /* NULL until params are set */
	result r;
	bool ran;               /* r holds a result */
	harness_audit *audit;
	size_t naudit;
	buf log;                /* log lines of the last run */
	char *json;
};

/* A new string printf()ed, or NULL; for *err. */
static char *harness_strf(const char *fmt, ...) SWEEP_PRINTF(1, 2);

static char *harness_strf(const char *fmt, ...)
{
	buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

/* Sets *err (when err is not NULL) to a copy of msg. */
static void harness_err(char **err, const char *msg)
{
	if (err)
		*err = harness_strf("%s", msg);
}

/* Frees the last run's result and what was read back for it. */
static void harness_clear_run(sweep_test *t)
{
	size_t i;

	if (t->ran)
		result_free(&t->r);
	t->ran = false;
	for (i = 0; i < t->naudit; i++) {
		free(t->audit[i].action);
		free(t->audit[i].table);
		free(t->audit[i].data);
	}
	free(t->audit);
	t->audit = NULL;
	t->naudit = 0;
	buf_reset(&t->log);
	free(t->json);
	t->json = NULL;
}

/* Writes text to dir/name; 0, or -1. */
static int harness_write(const char *dir, const char *name, const char *text)
{
	buf path = BUF_INIT;
	FILE *fp;
	int rc = -1;

	buf_printf(&path, "%s/%s", dir, name);
	fp = path.oom ? NULL : fopen(buf_str(&path), "w");
	if (fp != NULL) {
		rc = fputs(text, fp) < 0 ? -1 : 0;
		if (fclose(fp) != 0)
			rc = -1;
	}
	buf_free(&path);
	return rc;
}

/* A harness with its scratch dir, settings and session, before the
 * plugin is known.  NULL with *err set. */
static sweep_test *harness_alloc(const char *dsn, char **err)
{
	const char *tmp = getenv("TMPDIR");
	sweep_test *t = calloc(1, sizeof(*t));
	settings_cli cli;
	diag d = DIAG_INIT;
	buf b = BUF_INIT;

	if (t == NULL || (t->dsn = strdup(dsn ? dsn : "")) == NULL)
		goto oom;
	buf_printf(&b, "%s/sweep-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if ((t->dir = buf_detach(&b)) == NULL)
		goto oom;
	if (mkdtemp(t->dir) == NULL) {
		if (err)
			*err = harness_strf("%s: %s", t->dir, strerror(errno));
		goto fail;
	}
	memset(&cli, 0, sizeof(cli));
	cli.conf_dir = t->dir;
	cli.plugin_dir = t->dir;
	cli.dsn = *t->dsn ? t->dsn : NULL;
	if (settings_load(&cli, &t->s, &d) != 0) {
		char *line = diag_format(&d.items[0]);
		harness_err(err, line ? line : "settings: out of memory");
		free(line);
		diag_free(&d);
		goto fail;
	}
	t->db = PQconnectdb(t->s.dsn);
	if (PQstatus(t->db) != CONNECTION_OK) {
		if (err)
			*err = harness_strf("cannot connect to the test database "
			                    "(%s): %s", *t->dsn ? t->dsn
			                    : "DATABASE_URL or PG* variables",
			                    PQerrorMessage(t->db));
		goto fail;
	}
	PQclear(PQexec(t->db, "SET client_min_messages = warning"));
	if ((t->l = loader_new()) == NULL)
		goto oom;
	return t;
oom:
	harness_err(err, "out of memory");
fail:
	sweep_test_free(t);
	return NULL;
}

/* Names the job after the plugin, uniquely within the process. */
static int harness_name(sweep_test *t, const char *plugin)
{
	static int seq;

	t->job = harness_strf("test-%s-%ld-%d", plugin, (long)getpid(), ++seq);
	return t->job ? 0 : -1;
}

/* See sweepd/testing.h. */
sweep_test *sweep_test_new(const char *dsn, const sweep_plugin *desc,
                           char **err)
{
	sweep_test *t = harness_alloc(dsn, err);
	char msg[1024];

	if (t == NULL)
		return NULL;
	t->plugin_path = harness_strf("%s/%s.so", t->dir,
	                              desc && desc->name ? desc->name
	                                                 : "plugin");
	if (t->plugin_path == NULL) {
		harness_err(err, "out of memory");
		goto fail;
	}
	if (loader_adopt(t->l, desc, t->plugin_path, msg, sizeof(msg)) ==
	    NULL) {
		harness_err(err, msg);
		goto fail;
	}
	if (harness_name(t, desc->name) != 0) {
		harness_err(err, "out of memory");
		goto fail;
	}
	return t;
fail:
	sweep_test_free(t);
	return NULL;
}

/* See sweepd/testing.h. */
sweep_test *sweep_test_open(const char *dsn, const char *path, char **err)
{
	sweep_test *t = harness_alloc(dsn, err);
	const loader_plugin *p;
	char msg[1024];

	if (t == NULL)
		return NULL;
	t->plugin_path = path[0] == '/' ? strdup(path) : realpath(path, NULL);
	if (t->plugin_path == NULL) {
		if (err)
			*err = harness_strf("%s: %s", path, strerror(errno));
		goto fail;
	}
	p = loader_open(t->l, t->plugin_path, msg, sizeof(msg));
	if (p == NULL) {
		harness_err(err, msg);
		goto fail;
	}
	if (harness_name(t, p->desc->name) != 0) {
		harness_err(err, "out of memory");
		goto fail;
	}
	return t;
fail:
	sweep_test_free(t);
	return NULL;
}

/* Removes the scratch dir and what is in it (job.ini only). */
static void harness_rmdir(const char *dir)
{
	buf path = BUF_INIT;

	buf_printf(&path, "%s/job.ini", dir);
	if (!path.oom)
		unlink(buf_str(&path));
	buf_free(&path);
	rmdir(dir);
}

/* See sweepd/testing.h. */
void sweep_test_free(sweep_test *t)
{
	if (t == NULL)
		return;
	harness_clear_run(t);
	buf_free(&t->log);
	if (t->db && PQstatus(t->db) == CONNECTION_OK && t->job &&
	    sweep_test_int(t, "SELECT count(*) FROM pg_tables WHERE schemaname"
	                   " = 'sweepd' AND tablename IN ('audit', 'runs')")
	    == 2) {
		const char *p[1] = {t->job};
		PQclear(PQexecParams(t->db, "DELETE FROM sweepd.audit WHERE job"
		                     " = $1", 1, NULL, p, NULL, NULL, 0));
		PQclear(PQexecParams(t->db, "DELETE FROM sweepd.runs WHERE job"
		                     " = $1", 1, NULL, p, NULL, NULL, 0));
	}
	PQfinish(t->db);
	jobs_free(t->js);
	loader_free(t->l);
	settings_free(&t->s);
	if (t->dir)
		harness_rmdir(t->dir);
	free(t->dir);
	free(t->dsn);
	free(t->plugin_path);
	free(t->job);
	free(t);
}

/* See sweepd/testing.h. */
PGconn *sweep_test_db(sweep_test *t)
{
	return t->db;
}

/* See sweepd/testing.h. */
int sweep_test_exec(sweep_test *t, const char *sql, char **err)
{
	PGresult *res = PQexec(t->db, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	         PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok && err)
		*err = harness_strf("%s", PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}

/* See sweepd/testing.h. */
int64_t sweep_test_int(sweep_test *t, const char *sql)
{
	PGresult *res = PQexec(t->db, sql);
	int64_t v = INT64_MIN;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* See sweepd/testing.h. */
const char *sweep_test_job(const sweep_test *t)
{
	return t->job;
}

/* Every problem of d as "params:LINE: message" lines (lines counted in
 * the params text, which starts at line 2 of the job file), in a new
 * string. */
static char *harness_problems(const diag *d, int first_line)
{
	buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < d->count; i++) {
		const diag_item *it = &d->items[i];

		if (it->line >= first_line)
			buf_printf(&b, "%sparams:%d: %s", i ? "\n" : "",
			           it->line - first_line + 1, it->message);
		else
			buf_printf(&b, "%sjob: %s", i ? "\n" : "",
			           it->message);
	}
	return buf_detach(&b);
}

/* See sweepd/testing.h. */
int sweep_test_params(sweep_test *t, const char *ini, char **err)
{
	return sweep_test_job_params(t, NULL, ini, err);
}

/* See sweepd/testing.h.  The job file is [params] first, so that a
 * problem's line is the snippet's line plus one, then [job]. */
int sweep_test_job_params(sweep_test *t, const char *jobline,
                          const char *ini, char **err)
{
	diag d = DIAG_INIT;
	buf text = BUF_INIT;
	int rc = -1;

	harness_clear_run(t);
	jobs_free(t->js);
	t->js = NULL;
	buf_printf(&text, "[params]\n%s\n[job]\nname = %s\nplugin = %s\n%s",
	           ini ? ini : "", t->job, t->plugin_path,
	           jobline ? jobline : "");
	if (text.oom || harness_write(t->dir, "job.ini", buf_str(&text)) != 0) {
		harness_err(err, "cannot write the job file");
		goto out;
	}
	t->js = jobs_load(&t->s, t->l, &d);
	if (t->js == NULL || d.count > 0) {
		if (err)
			*err = d.count ? harness_problems(&d, 2)
			               : harness_strf("cannot load the job");
		jobs_free(t->js);
		t->js = NULL;
		goto out;
	}
	rc = 0;
out:
	buf_free(&text);
	diag_free(&d);
	return rc;
}

/* Reads back the audit records of the last run, in order. */
static void harness_read_audit(sweep_test *t)
{
	char id[24];
	const char *p[1] = {id};
	PGresult *res;
	int i, n;

	if (t->r.run_id == 0)
		return;
	snprintf(id, sizeof(id), "%lld", (long long)t->r.run_id);
	res = PQexecParams(t->db, "SELECT action, table_name, data::text FROM"
	                   " sweepd.audit WHERE run_id = $1 ORDER BY id", 1,
	                   NULL, p, NULL, NULL, 0);
	n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
	t->audit = n ? calloc((size_t)n, sizeof(*t->audit)) : NULL;
	for (i = 0; t->audit && i < n; i++) {
		t->audit[i].action = strdup(PQgetvalue(res, i, 0));
		t->audit[i].table = strdup(PQgetvalue(res, i, 1));
		t->audit[i].data = strdup(PQgetvalue(res, i, 2));
		t->naudit++;
	}
	PQclear(res);
}

/* Reads fd, a file the run's log lines went to, into t->log. */
static void harness_read_log(sweep_test *t, int fd)
{
	char chunk[4096];
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&t->log, chunk, (size_t)n);
	buf_puts(&t->log, "");
}

/* One run or dry run of the job, in this process, through the runner
 * sweepd's run processes call; log lines captured at level debug. */
static int harness_call(sweep_test *t, bool dry)
{
	static volatile sig_atomic_t no_stop;
	char logpath[] = "/tmp/sweep-test-log-XXXXXX";
	runner_opts o;
	const job *j;
	buf out = BUF_INIT;
	int fd;

	harness_clear_run(t);
	if (t->js == NULL && sweep_test_params(t, "", NULL) != 0) {
		result_init(&t->r, t->job, dry);
		result_fail(&t->r, "the job's params do not validate: call "
		            "sweep_test_params() and read its error");
		t->ran = true;
		return -1;
	}
	j = jobs_find(t->js, t->job);
	memset(&o, 0, sizeof(o));
	o.dry_run = dry;
	fd = mkstemp(logpath);
	if (fd >= 0) {
		unlink(logpath);
		log_configure(SWEEP_LOG_DEBUG, LOG_FORMAT_LOGFMT);
		log_set_fd(fd);
	}
	runner_run(j, &t->s, &o, &no_stop, &t->r);
	t->ran = true;
	if (fd >= 0) {
		log_set_fd(STDERR_FILENO);
		harness_read_log(t, fd);
		close(fd);
	}
	harness_read_audit(t);
	result_json(&t->r, &out);
	t->json = buf_detach(&out);
	return t->r.success ? 0 : -1;
}

/* See sweepd/testing.h. */
int sweep_test_run(sweep_test *t)
{
	return harness_call(t, false);
}

/* See sweepd/testing.h. */
int sweep_test_dry_run(sweep_test *t)
{
	return harness_call(t, true);
}

/* See sweepd/testing.h. */
bool sweep_test_success(const sweep_test *t)
{
	return t->ran && t->r.success;
}

/* See sweepd/testing.h. */
const char *sweep_test_error(const sweep_test *t)
{
	return t->ran ? t->r.error : NULL;
}

/* See sweepd/testing.h. */
const char *sweep_test_message(const sweep_test *t)
{
	return t->ran ? t->r.message : NULL;
}

/* The counter called name of the last run, or NULL. */
static const result_counter *harness_counter(const sweep_test *t,
                                             const char *name)
{
	size_t i;

	for (i = 0; t->ran && i < t->r.ncounters; i++)
		if (strcmp(t->r.counters[i].name, name) == 0)
			return &t->r.counters[i];
	return NULL;
}

/* See sweepd/testing.h. */
bool sweep_test_has_counter(const sweep_test *t, const char *counter)
{
	return harness_counter(t, counter) != NULL;
}

/* See sweepd/testing.h. */
int64_t sweep_test_counter(const sweep_test *t, const char *counter)
{
	const result_counter *c = harness_counter(t, counter);

	return c ? c->value : 0;
}

/* See sweepd/testing.h. */
size_t sweep_test_sample_count(const sweep_test *t)
{
	return t->ran ? t->r.nsamples : 0;
}

/* See sweepd/testing.h. */
const char *sweep_test_sample(const sweep_test *t, size_t i)
{
	return i < sweep_test_sample_count(t) ? t->r.samples[i] : NULL;
}

/* See sweepd/testing.h. */
size_t sweep_test_item_error_count(const sweep_test *t)
{
	return t->ran ? t->r.nerrors : 0;
}

/* See sweepd/testing.h. */
const char *sweep_test_item_error(const sweep_test *t, size_t i)
{
	return i < sweep_test_item_error_count(t) ? t->r.errors[i] : NULL;
}

/* See sweepd/testing.h. */
size_t sweep_test_audit_count(const sweep_test *t)
{
	return t->naudit;
}

/* See sweepd/testing.h. */
const char *sweep_test_audit_action(const sweep_test *t, size_t i)
{
	return i < t->naudit ? t->audit[i].action : NULL;
}

/* See sweepd/testing.h. */
const char *sweep_test_audit_table(const sweep_test *t, size_t i)
{
	return i < t->naudit ? t->audit[i].table : NULL;
}

/* See sweepd/testing.h. */
const char *sweep_test_audit_data(const sweep_test *t, size_t i)
{
	return i < t->naudit ? t->audit[i].data : NULL;
}

/* See sweepd/testing.h. */
const char *sweep_test_log(const sweep_test *t)
{
	return t->log.len ? buf_str(&t->log) : "";
}

/* See sweepd/testing.h. */
bool sweep_test_logged(const sweep_test *t, const char *text)
{
	return strstr(sweep_test_log(t), text) != NULL;
}

/* See sweepd/testing.h. */
const char *sweep_test_json(const sweep_test *t)
{
	return t->json ? t->json : "";
}
