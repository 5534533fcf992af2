/* testutil: helpers shared by the tests: scratch directories and files,
 * running the real binary, and a real PostgreSQL connection. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

/* A new empty directory under $TMPDIR (or /tmp); the path is a new string. */
char *tu_tempdir(void)
{
	const char *tmp = getenv("TMPDIR");
	buf b = BUF_INIT;
	char *dir;

	buf_printf(&b, "%s/sweepd-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	dir = buf_detach(&b);
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Removes dir and everything below it. */
void tu_rmtree(const char *dir)
{
	assert_int_equal(tu_run(NULL, NULL, "rm -rf '%s'", dir), 0);
}

/* "dir/name" in a new string. */
char *tu_path(const char *dir, const char *name)
{
	buf b = BUF_INIT;
	char *p;

	buf_printf(&b, "%s/%s", dir, name);
	p = buf_detach(&b);
	assert_non_null(p);
	return p;
}

/* Writes content to dir/name, replacing it. */
void tu_write(const char *dir, const char *name, const char *content)
{
	char *path = tu_path(dir, name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	free(path);
}

/* Writes a printf-style text to dir/name, replacing it. */
void tu_writef(const char *dir, const char *name, const char *fmt, ...)
{
	buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	assert_false(b.oom);
	tu_write(dir, name, buf_str(&b));
	buf_free(&b);
}

/* Copies the file from to dir/name. */
void tu_copy(const char *from, const char *dir, const char *name)
{
	assert_int_equal(tu_run(NULL, NULL, "cp '%s' '%s/%s'", from, dir, name),
	                 0);
}

/* The content of path as a new NUL-terminated string (it may hold other
 * NULs: *len, when len is not NULL, gets its length), or NULL when it
 * cannot be opened (it does not exist). */
char *tu_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	buf_puts(&b, "");
	assert_false(b.oom);
	if (len)
		*len = b.len;
	return buf_detach(&b);
}

/* The content of dir/name, as tu_read(). */
char *tu_read_in(const char *dir, const char *name, size_t *len)
{
	char *path = tu_path(dir, name), *text = tu_read(path, len);

	free(path);
	return text;
}

/* Reads a whole file, which must exist, into a new string. */
static char *tu_slurp(const char *path)
{
	char *text = tu_read(path, NULL);

	if (text == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return text;
}

/* Runs a shell command list (printf-style) and returns its exit status
 * (128 + signal when killed).  When out/err are not NULL they receive the
 * list's standard output and error as new strings (err NULL: discarded);
 * otherwise those go to this test's. */
int tu_run(char **out, char **err, const char *fmt, ...)
{
	buf cmd = BUF_INIT;
	char *dir = NULL, *outp = NULL, *errp = NULL;
	va_list ap;
	int status;

	buf_puts(&cmd, "{ ");
	va_start(ap, fmt);
	buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	buf_puts(&cmd, "\n}");
	if (out || err) {
		const char *tmp = getenv("TMPDIR");
		buf d = BUF_INIT;
		buf_printf(&d, "%s/sweepd-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		dir = buf_detach(&d);
		assert_non_null(mkdtemp(dir));
		outp = tu_path(dir, "out");
		errp = tu_path(dir, "err");
		buf_printf(&cmd, " >'%s' 2>'%s'", outp, errp);
	}
	status = system(buf_str(&cmd));
	buf_free(&cmd);
	if (out)
		*out = tu_slurp(outp);
	if (err)
		*err = tu_slurp(errp);
	else if (errp)
		free(tu_slurp(errp));
	if (dir) {
		unlink(outp);
		unlink(errp);
		rmdir(dir);
	}
	free(outp);
	free(errp);
	free(dir);
	assert_int_not_equal(status, -1);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* A connection to the test database (DATABASE_URL, else PG* variables),
 * failing the test when there is none: database tests never skip. */
PGconn *tu_db(void)
{
	const char *url = getenv("DATABASE_URL");
	PGconn *c = PQconnectdb(url ? url : "");

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("no test database (%s): run the tests with "
		         "scripts/test.sh, which starts one", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

/* Runs SQL text, failing the test on error. */
static PGresult *tu_vquery(PGconn *c, const char *fmt, va_list ap)
	SWEEP_PRINTF(2, 0);

static PGresult *tu_vquery(PGconn *c, const char *fmt, va_list ap)
{
	buf sql = BUF_INIT;
	PGresult *res;

	buf_vprintf(&sql, fmt, ap);
	res = PQexec(c, buf_str(&sql));
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("SQL failed: %s\n%s", PQresultErrorMessage(res),
		         buf_str(&sql));
	buf_free(&sql);
	return res;
}

/* Runs a query (printf-style), failing the test on error; the caller
 * PQclear()s the result. */
PGresult *tu_query(PGconn *c, const char *fmt, ...)
{
	va_list ap;
	PGresult *res;

	va_start(ap, fmt);
	res = tu_vquery(c, fmt, ap);
	va_end(ap);
	return res;
}

/* Runs SQL statements (printf-style), failing the test on error. */
void tu_sql(PGconn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	PQclear(tu_vquery(c, fmt, ap));
	va_end(ap);
}

/* The single integer a query returns. */
long long tu_sql_int(PGconn *c, const char *fmt, ...)
{
	va_list ap;
	PGresult *res;
	long long v;

	va_start(ap, fmt);
	res = tu_vquery(c, fmt, ap);
	va_end(ap);
	assert_int_equal(PQntuples(res), 1);
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* The single text value a query returns, as a new string ("" for NULL). */
char *tu_sql_text(PGconn *c, const char *fmt, ...)
{
	va_list ap;
	PGresult *res;
	char *v;

	va_start(ap, fmt);
	res = tu_vquery(c, fmt, ap);
	va_end(ap);
	assert_int_equal(PQntuples(res), 1);
	v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

/* Creates a fresh schema prefix_PID (dropping an old one) so tests that
 * run at once never share tables; returns its name as a new string. */
char *tu_schema(PGconn *c, const char *prefix)
{
	buf b = BUF_INIT;
	char *name;

	buf_printf(&b, "%s_%ld", prefix, (long)getpid());
	name = buf_detach(&b);
	assert_non_null(name);
	tu_sql(c, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", name,
	       name);
	return name;
}

/* Removes what tu_schema() made and the history of its jobs (named
 * SCHEMA-...): their rows in sweepd.runs, when that table exists, and the
 * schema with all in it. */
void tu_schema_drop(PGconn *c, const char *schema)
{
	if (tu_sql_int(c, "SELECT (to_regclass('sweepd.runs') IS NOT"
	               " NULL)::int") == 1)
		tu_sql(c, "DELETE FROM sweepd.runs WHERE starts_with(job, '%s-')",
		       schema);
	tu_sql(c, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
}

/* Seconds of the monotonic clock, for deadlines that no clock step moves. */
double tu_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps ms milliseconds: the pause between two looks at a condition. */
void tu_nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* CPU time (user + system, in clock ticks) process pid has used so far. */
long tu_cpu_ticks(pid_t pid)
{
	char path[64], *text, *p;
	long utime = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = tu_read(path, NULL);
	assert_non_null(text);
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	p = strrchr(text, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u"
	                        " %*u %*u %ld %ld", &utime, &stime), 2);
	free(text);
	return utime + stime;
}

/* How many times needle occurs in hay, without overlaps. */
int tu_occurrences(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}
