/* End to end: the daemon's HTTP endpoint (http_listen, host/http.c).
 * Each test runs the real sweepd daemon with http_listen on a free port
 * and talks to it with a real client, curl (plain sockets for the clients
 * that stall): /metrics is the metrics file's very text and parses,
 * /healthz and /readyz answer from the loop's own knowledge and follow the
 * home database, other paths are 404, other methods 405, stalled clients
 * neither delay an every-second job's ticks nor stay open past the idle
 * timeout, and a bad http_listen is refused naming the file, the line and
 * the fix.  Every wait is for an event, up to a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "listen.h"
#include "testutil.h"

/* Longest wait for a condition. */
#define WAIT_S 20
/* Clients that stall at once in the stall test (below the daemon's
 * connection limit, so probes still get in). */
#define STALLED 8

/* What the running test set up, for teardown to clean after a failure. */
static struct {
	PGconn *db;
	char *schema;           /* also the prefix of job names */
	char *conf;             /* scratch conf.d */
	char *run;              /* scratch directory: the daemon's log, the
	                           metrics file */
	char *log;              /* the daemon's standard error */
	char *dropdb;           /* a database the test created, or NULL */
	pid_t pid;              /* the daemon, our child; 0: none */
	int port;
	int stalled[STALLED];
} T;

/* ---------------------------------------------------------------- files */

/* The content of path as a new string ("" when it does not exist). */
static char *read_text(const char *path)
{
	char *text = tu_read(path, NULL);

	return text != NULL ? text : strdup("");
}

/* -------------------------------------------------------------- network */

/* A TCP port of 127.0.0.1 that nothing listens on now (the kernel's pick
 * for port 0); with listening, the socket stays open and listening, its
 * descriptor in *fd. */
static int free_port(bool listening, int *fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	if (listening)
		assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	if (fd != NULL)
		*fd = s;
	else
		close(s);
	return ntohs(a.sin_port);
}

/* A socket connected to the daemon's port that sends what (may be "")
 * and then nothing more: a stalled client. */
static int stall(const char *what)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)T.port);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	if (*what)
		assert_int_equal(write(s, what, strlen(what)),
		                 (ssize_t)strlen(what));
	return s;
}

/* Reads what the daemon answers on fd, up to WAIT_S, into a new
 * string. */
static char *read_answer(int fd)
{
	buf b = BUF_INIT;
	char chunk[1024];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	while (poll(&p, 1, WAIT_S * 1000) == 1 &&
	       (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	buf_puts(&b, "");
	return buf_detach(&b);
}

/* Waits up to s seconds for the daemon to close stalled socket fd (EOF);
 * true when it did. */
static bool closed_within(int fd, int s)
{
	struct pollfd p = {fd, POLLIN, 0};
	char c;

	if (poll(&p, 1, s * 1000) != 1)
		return false;
	return read(fd, &c, 1) <= 0;
}

/* An HTTP response, as curl saw it. */
typedef struct reply {
	int status;             /* 0: no response */
	char *body;
	char *head;
} reply;

static void reply_free(reply *r)
{
	free(r->body);
	free(r->head);
	memset(r, 0, sizeof(*r));
}

/* Requests path of the daemon with curl (method: -X METHOD, -I, or ""). */
static reply get(const char *method, const char *path)
{
	char *dir = tu_tempdir(), *out = NULL, *bodyp, *headp;
	reply r;

	bodyp = tu_path(dir, "body");
	headp = tu_path(dir, "head");
	tu_run(&out, NULL, "curl -sS --max-time 5 %s -o '%s' -D '%s' -w"
	       " '%%{http_code}' 'http://127.0.0.1:%d%s'", method, bodyp,
	       headp, T.port, path);
	r.status = atoi(out);
	r.body = read_text(bodyp);
	r.head = read_text(headp);
	free(out);
	free(bodyp);
	free(headp);
	tu_rmtree(dir);
	free(dir);
	return r;
}

/* -------------------------------------------------------------- daemon */

/* Prints the end of the daemon's log. */
static void show_log(void)
{
	if (T.log == NULL)
		return;
	printf("---- sweepd log, last lines:\n");
	fflush(stdout);
	tu_run(NULL, NULL, "tail -n 40 '%s'", T.log);
}

/* Starts `sweepd --conf-dir T.conf --plugin-dir FIXTURES ARGS` as our
 * child, its output in T.log. */
static void daemon_start(const char *dsn)
{
	pid_t pid;

	free(T.log);
	T.log = tu_path(T.run, "log");
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(T.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		if (dsn != NULL)
			execl(SWEEPD_BIN, "sweepd", "--conf-dir", T.conf,
			      "--plugin-dir", SWEEPD_FIXTURE_DIR, "--dsn", dsn,
			      (char *)NULL);
		else
			execl(SWEEPD_BIN, "sweepd", "--conf-dir", T.conf,
			      "--plugin-dir", SWEEPD_FIXTURE_DIR, (char *)NULL);
		_exit(127);
	}
	T.pid = pid;
}

/* Waits up to WAIT_S for the daemon to exit; its exit status, or -1. */
static int daemon_wait(void)
{
	double deadline = tu_mono() + WAIT_S;
	int status;

	while (tu_mono() < deadline) {
		pid_t p = waitpid(T.pid, &status, WNOHANG);

		if (p == T.pid) {
			T.pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status)
			       : 128 + WTERMSIG(status);
		}
		tu_nap_ms(20);
	}
	return -1;
}

/* Fails the test when the daemon exited. */
static void check_alive(void)
{
	int status;

	if (T.pid > 0 && waitpid(T.pid, &status, WNOHANG) == T.pid) {
		T.pid = 0;
		show_log();
		fail_msg("sweepd exited early (status 0x%x)", status);
	}
}

/* Stops the daemon with SIGTERM; its exit status. */
static int daemon_stop(void)
{
	int rc;

	check_alive();
	assert_int_equal(kill(T.pid, SIGTERM), 0);
	rc = daemon_wait();
	if (rc < 0) {
		kill(T.pid, SIGKILL);
		show_log();
		fail_msg("sweepd did not stop within %d s of SIGTERM", WAIT_S);
	}
	return rc;
}

/* Polls path until it answers status with a body containing needle,
 * failing the test after WAIT_S; returns that reply. */
static reply wait_reply(const char *path, int status, const char *needle)
{
	double deadline = tu_mono() + WAIT_S;
	reply r;

	for (;;) {
		r = get("", path);
		if (r.status == status && strstr(r.body, needle) != NULL)
			return r;
		check_alive();
		if (tu_mono() > deadline) {
			show_log();
			fail_msg("waited %d s in vain for %s to answer %d "
			         "with \"%s\"; last: %d \"%s\"", WAIT_S, path,
			         status, needle, r.status, r.body);
		}
		reply_free(&r);
		tu_nap_ms(100);
	}
}

/* ------------------------------------------------------ setup/teardown */

/* Sets up a test: a connection, schema PREFIX_PID with the record table
 * rec, a scratch conf.d whose sweepd.ini listens on a free port (extra:
 * more [sweepd] lines). */
static void begin(const char *prefix, const char *extra)
{
	size_t i;

	memset(&T, 0, sizeof(T));
	for (i = 0; i < STALLED; i++)
		T.stalled[i] = -1;
	T.db = tu_db();
	T.schema = tu_schema(T.db, prefix);
	T.conf = tu_tempdir();
	T.run = tu_tempdir();
	tu_sql(T.db, "CREATE TABLE %s.rec (job text NOT NULL, at timestamptz"
	       " NOT NULL)", T.schema);
	T.port = free_port(false, NULL);
	tu_writef(T.conf, "sweepd.ini", "[sweepd]\nhttp_listen ="
	          " 127.0.0.1:%d\n%s", T.port, extra);
}

/* Kills what a failed test left running and removes what it made. */
static int teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < STALLED; i++)
		if (T.stalled[i] >= 0)
			close(T.stalled[i]);
	if (T.pid > 0) {
		kill(T.pid, SIGKILL);
		waitpid(T.pid, NULL, 0);
	}
	tu_schema_drop(T.db, T.schema);
	if (T.dropdb != NULL) {
		tu_sql(T.db, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		       T.dropdb);
		free(T.dropdb);
	}
	tu_rmtree(T.conf);
	tu_rmtree(T.run);
	free(T.log);
	free(T.conf);
	free(T.run);
	free(T.schema);
	PQfinish(T.db);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* ---------------------------------------------------------------- tests */

/* /metrics serves the metrics file's text, read by the reference parser
 * and promtool; /healthz and /readyz say 200 with why; an unknown path is
 * 404, a method other than GET and HEAD 405 (naming the allowed ones);
 * HEAD answers without a body; the daemon stops cleanly. */
static void endpoints_answer_as_documented(void **state)
{
	char *prom, *file = NULL, *bodyp, *out = NULL, *err = NULL, *answer;
	char job[128];
	reply r;
	int tries, fd;

	(void)state;
	begin("http_ep", "");
	prom = tu_path(T.run, "sweepd.prom");
	tu_writef(T.conf, "sweepd.ini", "[sweepd]\nhttp_listen = 127.0.0.1:%d\n"
	          "metrics_file = %s\n", T.port, prom);
	snprintf(job, sizeof(job), "%s-daily", T.schema);
	tu_writef(T.conf, "daily.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = 0 3 * * *\n", job);
	daemon_start(NULL);
	r = wait_reply("/readyz", 200, "ready: 1 job loaded");
	reply_free(&r);

	r = get("", "/healthz");
	assert_int_equal(r.status, 200);
	assert_contains(r.body, "ok: the scheduler loop came round");
	reply_free(&r);

	/* The same text as the file: both are one rendering, unless a
	 * minute's refresh fell between the two reads (then read again). */
	for (tries = 0; tries < 3; tries++) {
		r = get("", "/metrics");
		free(file);
		file = read_text(prom);
		if (r.status == 200 && strcmp(r.body, file) == 0)
			break;
		reply_free(&r);
	}
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, file);
	assert_contains(r.head, "text/plain; version=0.0.4");
	assert_contains(r.body, "sweepd_up 1\n");
	assert_contains(r.body, job);
	bodyp = tu_path(T.run, "metrics.txt");
	tu_write(T.run, "metrics.txt", r.body);
	if (tu_run(&out, &err, "/usr/bin/python3 '" SWEEPD_SOURCE_DIR
	           "/tests/scripts/prom2json.py' '%s' && promtool check metrics"
	           " <'%s'", bodyp, bodyp) != 0)
		fail_msg("/metrics does not parse: %s%s", out, err);
	free(out);
	free(err);
	free(bodyp);
	reply_free(&r);

	r = get("", "/nope");
	assert_int_equal(r.status, 404);
	assert_contains(r.body, "/metrics, /healthz and /readyz");
	reply_free(&r);
	r = get("-X POST", "/metrics");
	assert_int_equal(r.status, 405);
	assert_contains(r.head, "Allow: GET, HEAD");
	reply_free(&r);
	r = get("-X DELETE", "/readyz");
	assert_int_equal(r.status, 405);
	reply_free(&r);
	/* HEAD: the head of GET's answer, and no body after it (read raw:
	 * curl -I would not read one). */
	fd = stall("HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
	           "Connection: close\r\n\r\n");
	answer = read_answer(fd);
	close(fd);
	assert_contains(answer, "HTTP/1.1 200");
	assert_contains(answer, "Content-Length: ");
	assert_non_null(strstr(answer, "\r\n\r\n"));
	assert_string_equal(strstr(answer, "\r\n\r\n") + 4, "");
	free(answer);

	assert_int_equal(daemon_stop(), 0);
	/* Once stopped, nothing listens. */
	r = get("", "/healthz");
	assert_int_equal(r.status, 0);
	reply_free(&r);
	free(prom);
	free(file);
}

/* /readyz follows the home database by what the loop itself saw: 200,
 * then 503 naming why once the database is gone (dropped under the
 * daemon, never the shared server stopped), 200 again once it is back;
 * /healthz stays 200 throughout. */
static void readyz_follows_the_home_database(void **state)
{
	char dsn[512], job[128];
	reply r;

	(void)state;
	begin("http_rdy", "");
	T.dropdb = strdup(T.schema);
	assert_non_null(T.dropdb);
	tu_sql(T.db, "DROP DATABASE IF EXISTS %s WITH (FORCE)", T.dropdb);
	tu_sql(T.db, "CREATE DATABASE %s", T.dropdb);
	snprintf(dsn, sizeof(dsn), "host=%s port=%s user=%s dbname=%s",
	         PQhost(T.db), PQport(T.db), PQuser(T.db), T.dropdb);
	snprintf(job, sizeof(job), "%s-tick", T.schema);
	tu_writef(T.conf, "tick.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = * * * * * *\n", job);
	daemon_start(dsn);
	r = wait_reply("/readyz", 200, "ready:");
	reply_free(&r);

	tu_sql(T.db, "DROP DATABASE %s WITH (FORCE)", T.dropdb);
	r = wait_reply("/readyz", 503, "not ready: home database "
	               "unreachable:");
	assert_contains(r.body, "does not exist");
	assert_int_equal(strchr(r.body, '\n') - r.body,
	                 (long)strlen(r.body) - 1);     /* one line */
	reply_free(&r);
	r = get("", "/healthz");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	r = wait_reply("/metrics", 200, "sweepd_up 0\n");
	reply_free(&r);

	tu_sql(T.db, "CREATE DATABASE %s", T.dropdb);
	r = wait_reply("/readyz", 200, "ready:");
	reply_free(&r);
	assert_int_equal(daemon_stop(), 0);
}

/* A job file with a problem makes /readyz 503 naming its file and line
 * (the sound jobs still run: a rollout with a broken file stalls on the
 * old pods); fixed and reloaded, 200. */
static void readyz_fails_while_conf_d_has_a_problem(void **state)
{
	char job[128];
	reply r;

	(void)state;
	begin("http_conf", "");
	snprintf(job, sizeof(job), "%s-bad", T.schema);
	tu_writef(T.conf, "bad.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = every fortnight-ish\n", job);
	daemon_start(NULL);
	r = wait_reply("/readyz", 503, "not ready: conf.d has 1 problem");
	assert_contains(r.body, "bad.ini:4:");
	reply_free(&r);
	r = get("", "/healthz");
	assert_int_equal(r.status, 200);
	reply_free(&r);

	tu_writef(T.conf, "bad.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = 0 3 * * *\n", job);
	check_alive();
	assert_int_equal(kill(T.pid, SIGHUP), 0);
	r = wait_reply("/readyz", 200, "ready: 1 job loaded");
	reply_free(&r);
	assert_int_equal(daemon_stop(), 0);
}

/* A home database on a port nothing listens on: the daemon runs, says
 * so on /readyz (503, one line) and /metrics (sweepd_up 0), and is
 * healthy. */
static void readyz_fails_without_a_database(void **state)
{
	char dsn[256];
	reply r;

	(void)state;
	begin("http_nodb", "");
	snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d dbname=x "
	         "connect_timeout=2", free_port(false, NULL));
	daemon_start(dsn);
	r = wait_reply("/readyz", 503, "not ready: home database "
	               "unreachable:");
	assert_contains(r.body, "Connection refused");
	reply_free(&r);
	r = get("", "/healthz");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	r = get("", "/metrics");
	assert_int_equal(r.status, 200);
	assert_contains(r.body, "sweepd_up 0\n");
	reply_free(&r);
	assert_int_equal(daemon_stop(), 0);
}

/* /healthz fails when the loop took longer than its bound (20 s) to come
 * round: the daemon is stopped (SIGSTOP) past it with a request waiting,
 * which it answers 503 on waking; once the loop comes round again, 200. */
static void healthz_fails_after_the_loop_stalled(void **state)
{
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	                   "Connection: close\r\n\r\n";
	double until;
	char *answer;
	reply r;
	int fd;

	(void)state;
	begin("http_stop", "");
	daemon_start(NULL);
	r = wait_reply("/healthz", 200, "ok:");
	reply_free(&r);
	assert_int_equal(kill(T.pid, SIGSTOP), 0);
	fd = stall(req);                /* the kernel queues it meanwhile */
	until = tu_mono() + 21;         /* the stall itself: past 20 s */
	while (tu_mono() < until)
		tu_nap_ms(200);
	assert_int_equal(kill(T.pid, SIGCONT), 0);
	answer = read_answer(fd);
	close(fd);
	assert_contains(answer, "HTTP/1.1 503");
	assert_contains(answer, "stalled: the scheduler loop took");
	assert_contains(answer, "(bound 20.0 s)");
	free(answer);
	r = wait_reply("/healthz", 200, "ok:");
	reply_free(&r);
	assert_int_equal(daemon_stop(), 0);
}

/* Epoch seconds of job's records in rec at or after since, in order. */
static double *records(const char *job, double since, int *n)
{
	PGresult *res;
	double *v;
	int i;
	buf sql = BUF_INIT;

	buf_printf(&sql, "SELECT extract(epoch FROM at)::float8 FROM %s.rec"
	           " WHERE job = '%s' AND at >= to_timestamp(%.3f) ORDER BY at",
	           T.schema, job, since);
	res = PQexec(T.db, buf_str(&sql));
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	*n = PQntuples(res);
	v = calloc((size_t)*n + 1, sizeof(*v));
	assert_non_null(v);
	for (i = 0; i < *n; i++)
		v[i] = atof(PQgetvalue(res, i, 0));
	PQclear(res);
	buf_free(&sql);
	return v;
}

/* Clients that connect and stall (sending nothing, or half a request)
 * cost the scheduler nothing: an every-second job runs at every second
 * while they hang on, /healthz and /metrics still answer, and each
 * stalled connection is closed by the daemon's idle timeout (5 s). */
static void stalled_clients_do_not_delay_ticks(void **state)
{
	char job[128];
	double since, *at;
	reply r;
	int i, n;

	(void)state;
	begin("http_stall", "");
	snprintf(job, sizeof(job), "%s-tick", T.schema);
	tu_writef(T.conf, "tick.ini", "[job]\nname = %s\nplugin = testjob\n"
	          "schedule = * * * * * *\n[params]\nrecord = %s.rec\n"
	          "job = %s\n", job, T.schema, job);
	daemon_start(NULL);
	r = wait_reply("/readyz", 200, "ready:");
	reply_free(&r);

	since = (double)time(NULL) + 1;
	for (i = 0; i < STALLED; i++)
		T.stalled[i] = stall(i % 2 ? "GET /metrics HTTP/1.1\r\nHost: x"
		                     : "");
	r = get("", "/healthz");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	r = get("", "/metrics");
	assert_int_equal(r.status, 200);
	reply_free(&r);
	/* Four ticks while they stall (the idle timeout is 5 s). */
	for (;;) {
		at = records(job, since, &n);
		free(at);
		if (n >= 4)
			break;
		check_alive();
		if ((double)time(NULL) > since + WAIT_S) {
			show_log();
			fail_msg("only %d ticks ran while clients stalled", n);
		}
		tu_nap_ms(100);
	}
	at = records(job, since, &n);
	for (i = 0; i < n; i++) {
		double late = at[i] - (double)(long long)at[i];

		printf("tick %d at %.3f: %.0f ms into its second\n", i, at[i],
		       late * 1000);
		if (i > 0 && (long long)at[i] != (long long)at[i - 1] + 1)
			fail_msg("ticks at %.3f and %.3f are not in "
			         "consecutive seconds", at[i - 1], at[i]);
		if (late > 0.9)         /* within its second, as test_daemon
		                           holds every tick; the machine may
		                           be busy */
			fail_msg("tick at %.3f started %.0f ms late", at[i],
			         late * 1000);
	}
	free(at);
	for (i = 0; i < STALLED; i++) {
		if (!closed_within(T.stalled[i], WAIT_S))
			fail_msg("stalled connection %d still open after %d s",
			         i, WAIT_S);
		close(T.stalled[i]);
		T.stalled[i] = -1;
	}
	assert_int_equal(daemon_stop(), 0);
}

/* Runs `sweepd --check` over T.conf with http_listen = value; fails
 * unless it exits 2 naming sweepd.ini line 2 and saying want. */
static void check_refuses(const char *value, const char *want)
{
	char *out = NULL, *err = NULL;
	int rc;

	tu_writef(T.conf, "sweepd.ini", "[sweepd]\nhttp_listen = %s\n", value);
	rc = tu_run(&out, &err, SWEEPD_BIN " --conf-dir '%s' --plugin-dir"
	            " '%s' --check", T.conf, T.run);
	if (rc != 2 || strstr(err, "sweepd.ini:2: http_listen:") == NULL ||
	    strstr(err, want) == NULL || strstr(err, "127.0.0.1:9180") ==
	    NULL)
		fail_msg("--check with http_listen = %s: status %d, wanted 2 "
		         "and sweepd.ini:2 ... %s ... 127.0.0.1:9180 in:\n%s%s",
		         value, rc, want, out, err);
	free(out);
	free(err);
}

/* listen_parse(): text is accepted as family and port. */
static void listen_ok(const char *text, int family, unsigned port)
{
	listen_addr a;
	char err[256];

	if (listen_parse(text, &a, err, sizeof(err)) != 0)
		fail_msg("%s refused: %s", text, err);
	assert_int_equal(a.sa.ss_family, family);
	assert_int_equal(a.port, port);
	assert_int_equal(a.len, family == AF_INET ? sizeof(struct sockaddr_in)
	                 : sizeof(struct sockaddr_in6));
}

/* listen_parse(): text is refused with a message saying want. */
static void listen_bad(const char *text, const char *want)
{
	listen_addr a;
	char err[256] = "";

	if (listen_parse(text, &a, err, sizeof(err)) == 0)
		fail_msg("%s accepted", text);
	assert_contains(err, want);
	assert_contains(err, "e.g. 127.0.0.1:9180");
	assert_int_equal(a.len, 0);
}

/* The forms of an address: numeric IPv4, IPv6 in brackets, ports 1 to
 * 65535; anything else refused with what to write. */
static void listen_addresses_parse(void **state)
{
	(void)state;
	listen_ok("127.0.0.1:9180", AF_INET, 9180);
	listen_ok("0.0.0.0:1", AF_INET, 1);
	listen_ok("[::1]:65535", AF_INET6, 65535);
	listen_ok("[::]:80", AF_INET6, 80);
	listen_bad("127.0.0.1", "has no port");
	listen_bad("127.0.0.1:", "has no port");
	listen_bad("[::1]", "has no port");
	listen_bad("::1", "an IPv6 address goes in brackets");
	listen_bad("[::1]:", "has no port");
	listen_bad("127.0.0.1:0", "not a number from 1 to 65535");
	listen_bad("127.0.0.1:99999999999999999999", "from 1 to 65535");
	listen_bad("127.0.0.1:-1", "from 1 to 65535");
	listen_bad("127.0.0.1:+80", "from 1 to 65535");
	listen_bad(":9180", "not a numeric IP address");
	listen_bad("[127.0.0.1]:80", "not a numeric IP address");
	listen_bad("::1]:80", "an IPv6 address goes in brackets");
	listen_bad("example.com:80", "host names are not resolved");
	listen_bad("1.2.3.4.5:80", "not a numeric IP address");
}

/* A bad http_listen is a --check problem at its file and line with the
 * fix; the daemon refuses to start with it, and refuses to start when its
 * address is taken, with the same kind of message. */
static void bad_values_are_refused(void **state)
{
	char *log;
	int fd, port;

	(void)state;
	begin("http_bad", "");
	check_refuses("127.0.0.1", "has no port");
	check_refuses("::1", "has no port");
	check_refuses("127.0.0.1:0", "not a number from 1 to 65535");
	check_refuses("127.0.0.1:65536", "not a number from 1 to 65535");
	check_refuses("127.0.0.1:http", "not a number from 1 to 65535");
	check_refuses("localhost:9180", "not a numeric IP address");
	check_refuses("300.1.1.1:9180", "not a numeric IP address");

	/* The daemon: a bad value stops it before anything runs. */
	daemon_start(NULL);
	assert_int_equal(daemon_wait(), 2);
	log = read_text(T.log);
	assert_contains(log, "sweepd.ini:2: http_listen: '300.1.1.1'");
	free(log);

	/* An address in use. */
	port = free_port(true, &fd);
	tu_writef(T.conf, "sweepd.ini", "[sweepd]\nhttp_listen ="
	          " 127.0.0.1:%d\n", port);
	daemon_start(NULL);
	assert_int_equal(daemon_wait(), 2);
	close(fd);
	log = read_text(T.log);
	assert_contains(log, "cannot serve HTTP; not starting");
	assert_contains(log, "sweepd.ini:2: http_listen = 127.0.0.1:");
	assert_contains(log, "Address already in use");
	assert_contains(log, "choose another port");
	assert_null(strstr(log, "scheduler started"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_addresses_parse),
		cmocka_unit_test_teardown(endpoints_answer_as_documented,
		                          teardown),
		cmocka_unit_test_teardown(readyz_follows_the_home_database,
		                          teardown),
		cmocka_unit_test_teardown(readyz_fails_without_a_database,
		                          teardown),
		cmocka_unit_test_teardown(
			readyz_fails_while_conf_d_has_a_problem, teardown),
		cmocka_unit_test_teardown(stalled_clients_do_not_delay_ticks,
		                          teardown),
		cmocka_unit_test_teardown(healthz_fails_after_the_loop_stalled,
		                          teardown),
		cmocka_unit_test_teardown(bad_values_are_refused, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
