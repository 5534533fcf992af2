/* End to end: sweepd's own stores that scale: sweepd.audit (schema 6)
 * and the run history sweepd.runs (schema 7), each partitioned by day;
 * an installation's old records and history kept through the
 * migrations, audit_keep and history_keep dropping whole days, the rows
 * left pruned in bounded statements, and a bad audit_keep refused at its
 * line.  The
 * real sweepd binary against a database of its own in the test cluster,
 * made anew by each test. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "testutil.h"

/* The database these tests make and drop. */
#define AUDITDB "sweepd_test_audit"
/* Longest wait for the daemon to do what a test waits for, in seconds. */
#define WAIT_S 60

static struct {
	PGconn *home;           /* DATABASE_URL's database */
	PGconn *db;             /* AUDITDB */
	char dsn[512];          /* AUDITDB's */
	char *conf;             /* scratch conf.d */
	pid_t daemon;           /* a running sweepd, or 0 */
} T;

/* Makes AUDITDB anew, connects to it and sets T up. */
static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	T.home = tu_db();
	tu_sql(T.home, "DROP DATABASE IF EXISTS " AUDITDB " WITH (FORCE)");
	tu_sql(T.home, "CREATE DATABASE " AUDITDB);
	snprintf(T.dsn, sizeof(T.dsn), "host=%s port=%s user=%s dbname="
	         AUDITDB, PQhost(T.home), PQport(T.home), PQuser(T.home));
	T.db = PQconnectdb(T.dsn);
	if (PQstatus(T.db) != CONNECTION_OK)
		fail_msg("cannot connect to " AUDITDB ": %s",
		         PQerrorMessage(T.db));
	PQclear(PQexec(T.db, "SET client_min_messages = warning"));
	T.conf = tu_tempdir();
	return 0;
}

/* Stops a daemon left running, drops AUDITDB. */
static int teardown(void **state)
{
	(void)state;
	if (T.daemon > 0) {
		kill(T.daemon, SIGKILL);
		waitpid(T.daemon, NULL, 0);
	}
	PQfinish(T.db);
	tu_sql(T.home, "DROP DATABASE IF EXISTS " AUDITDB " WITH (FORCE)");
	PQfinish(T.home);
	tu_rmtree(T.conf);
	free(T.conf);
	memset(&T, 0, sizeof(T));
	return 0;
}

/* Runs `sweepd --conf-dir CONF --dsn AUDITDB ARGS`; its exit status, its
 * output and error in *out, *err (the caller frees them). */
static int sweepd(char **out, char **err, const char *args)
{
	return tu_run(out, err, SWEEPD_BIN " --conf-dir '%s' --dsn '%s' %s",
	              T.conf, T.dsn, args);
}

/* Starts the scheduler on conf.d (no job) with home database dsn and
 * extra options opt1 and opt2, its output to CONF/log. */
static void daemon_start_on(const char *dsn, const char *opt1,
                            const char *opt2)
{
	char *log = tu_path(T.conf, "log");
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(SWEEPD_BIN, SWEEPD_BIN, "--conf-dir", T.conf, "--dsn",
		      dsn, "--log-level", "debug", opt1, opt2, (char *)NULL);
		_exit(127);
	}
	free(log);
	T.daemon = pid;
}

/* daemon_start_on() with AUDITDB as the home database. */
static void daemon_start(const char *opt1, const char *opt2)
{
	daemon_start_on(T.dsn, opt1, opt2);
}

/* Stops the scheduler with SIGTERM; returns its exit status. */
static int daemon_stop(void)
{
	int status = 0;

	assert_int_equal(kill(T.daemon, SIGTERM), 0);
	assert_int_equal(waitpid(T.daemon, &status, 0), T.daemon);
	T.daemon = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Polls AUDITDB until the boolean query holds, failing the test (with
 * the daemon's log) after WAIT_S or when the daemon exits. */
static void wait_for(const char *query)
{
	double deadline = tu_mono() + WAIT_S;
	char *log, *text = NULL;

	while (tu_sql_int(T.db, "SELECT (%s)::int", query) != 1) {
		if (tu_mono() > deadline ||
		    waitpid(T.daemon, NULL, WNOHANG) != 0) {
			log = tu_path(T.conf, "log");
			tu_run(&text, NULL, "tail -n 40 '%s'", log);
			fail_msg("waited in vain for: %s\n%s", query, text);
		}
		tu_nap_ms(50);
	}
}

/* The name of the day partition of sweepd.TABLE holding the instant ago
 * (an interval's text) before now, e.g. runs_p20261019; the caller frees
 * it. */
static char *day_of(const char *table, const char *ago)
{
	return tu_sql_text(T.db, "SELECT '%s_p' || to_char((now() - interval"
	                   " '%s') AT TIME ZONE 'UTC', 'YYYYMMDD')", table, ago);
}

/* Whether sweepd.TABLE still has the day partition of ago (day_of()). */
static int day_exists(const char *table, const char *ago)
{
	char *day = day_of(table, ago);
	int n = (int)tu_sql_int(T.db, "SELECT (to_regclass('sweepd.%s') IS NOT"
	                        " NULL)::int", day);

	free(day);
	return n;
}

/* Checks that the schema is the current one and sweepd.TABLE a
 * partitioned table. */
static void assert_partitioned(const char *table)
{
	assert_int_equal(tu_sql_int(T.db, "SELECT max(version) FROM"
	                            " sweepd.schema_version"), DB_SCHEMA_VERSION);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM pg_class WHERE"
	                            " oid = 'sweepd.%s'::regclass AND"
	                            " relkind = 'p'", table), 1);
}

/* ------------------------------------------------------------- tests */

/* 1. An installation of schema 5 with audit records of every age: the
 * migration to 6 keeps each record as it was (id, data, time), makes
 * sweepd.audit partitioned with its sequence gone, and new records go
 * in beside the old. */
static void old_records_survive_the_migration(void **state)
{
	char err[512], *before, *after, *out = NULL, *errs = NULL;

	(void)state;
	if (db_migrate_to(T.db, 5, err, sizeof(err)) != 0)
		fail_msg("building schema 5: %s", err);
	tu_sql(T.db, "INSERT INTO sweepd.audit (run_id, job, action,"
	       " table_name, data, at) SELECT g, 'old-job', 'deleted', 'users',"
	       " jsonb_build_object('id', g, 'email', 'u' || g), now() - g *"
	       " interval '9 days' FROM generate_series(0, 50) g");
	before = tu_sql_text(T.db, "SELECT string_agg(a::text, '|' ORDER BY"
	                     " id) FROM sweepd.audit a");
	assert_int_equal(sweepd(&out, &errs, "--status"), 0);
	assert_partitioned("audit");
	after = tu_sql_text(T.db, "SELECT string_agg(a::text, '|' ORDER BY"
	                    " id) FROM sweepd.audit a");
	assert_string_equal(after, before);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
	                            " sweepd.audit_legacy"), 51);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM pg_class WHERE"
	                            " relname = 'audit_id_seq'"), 0);
	/* A record written now lands in the store, beside the old ones. */
	tu_sql(T.db, "INSERT INTO sweepd.audit (job, action, table_name,"
	       " data) VALUES ('new-job', 'deleted', 'users', '{\"id\": 1}')");
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.audit"),
	                 52);
	/* Migrating again changes nothing. */
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	free(after);
	after = tu_sql_text(T.db, "SELECT string_agg(a::text, '|' ORDER BY"
	                    " id) FROM sweepd.audit a WHERE job = 'old-job'");
	assert_string_equal(after, before);
	free(before);
	free(after);
	free(out);
	free(errs);
}

/* 2. A new installation: the days ahead have their partitions, records
 * of a day without one go to the DEFAULT partition (an insert never
 * fails), and are moved to the day's partition when it is made. */
static void days_are_made_ahead_and_default_catches_the_rest(void **state)
{
	(void)state;
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM pg_inherits"
	                            " WHERE inhparent = 'sweepd.audit'::regclass"),
	                 9);        /* today, 7 days ahead, DEFAULT */
	tu_sql(T.db, "INSERT INTO sweepd.audit (job, action, table_name, data,"
	       " at) VALUES ('j', 'deleted', 't', '{}', now() - interval"
	       " '20 days')");
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
	                            " sweepd.audit_default"), 1);
	tu_sql(T.db, "SELECT sweepd.audit_partitions(((now() - interval"
	       " '20 days') AT TIME ZONE 'UTC')::date, ((now() - interval"
	       " '20 days') AT TIME ZONE 'UTC')::date)");
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
	                            " sweepd.audit_default"), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE job = 'j'"), 1);
}

/* Once the days ahead exist, a sweepd process that connects does not
 * queue for the lock that making them takes: with that lock held by
 * another session, sweepd --status makes nothing and waits for nothing
 * (it used to time out on it and warn). */
static void days_made_ahead_cost_no_lock(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	tu_sql(T.db, "SELECT pg_advisory_lock(hashtext("
	       "'sweepd.audit_partitions'))");
	assert_int_equal(sweepd(&out, &err, "--status"), 0);
	tu_sql(T.db, "SELECT pg_advisory_unlock(hashtext("
	       "'sweepd.audit_partitions'))");
	if (strstr(err, "partitions not made ahead") != NULL)
		fail_msg("sweepd --status tried to make the days ahead: %s",
		         err);
	free(out);
	free(err);
}

/* 3. audit_keep = 30d: the daemon drops the days wholly older than 30
 * days and the DEFAULT partition's records older than that; no record
 * younger than 30 days goes, nor the day holding the cutoff. */
static void audit_keep_drops_old_days_and_keeps_younger_records(void **state)
{
	(void)state;
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	tu_sql(T.db, "SELECT sweepd.audit_partitions(((now() - interval"
	       " '45 days') AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE"
	       " 'UTC')::date)");
	tu_sql(T.db, "INSERT INTO sweepd.audit (job, action, table_name, data,"
	       " at) SELECT 'j', 'deleted', 't', jsonb_build_object('age', a),"
	       " now() - a::interval FROM unnest(ARRAY['60 days', '44 days',"
	       " '40 days', '30 days 1 minute', '29 days 23 hours', '1 day',"
	       " '0']) a");
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
	                            " sweepd.audit_default"), 1); /* 60 days */
	daemon_start("--audit-keep", "30d");
	wait_for("NOT EXISTS (SELECT 1 FROM sweepd.audit WHERE at < now() -"
	         " interval '31 days')");
	assert_int_equal(daemon_stop(), 0);
	/* The days wholly before the cutoff are gone, as tables. */
	assert_int_equal(day_exists("audit", "40 days"), 0);
	/* Every record younger than 30 days is there. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE data->>'age' IN ('29 days 23 hours',"
	                            " '1 day', '0')"), 3);
	/* The day holding the cutoff stays whole. */
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE data->>'age' = '30 days 1 minute'"),
	                 1);
}

/* 3b. audit_keep holds in every database jobs work in: AUDITDB declared
 * as a [database] of a daemon whose home is another database loses its
 * old days too. */
static void audit_keep_prunes_every_declared_database(void **state)
{
	char ini[1024];

	(void)state;
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	tu_sql(T.db, "SELECT sweepd.audit_partitions(((now() - interval"
	       " '45 days') AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE"
	       " 'UTC')::date)");
	tu_sql(T.db, "INSERT INTO sweepd.audit (job, action, table_name, data,"
	       " at) VALUES ('j', 'deleted', 't', '{}', now() - interval"
	       " '40 days'), ('j', 'deleted', 't', '{}', now())");
	snprintf(ini, sizeof(ini), "[sweepd]\n\n[database audit-db]\n"
	         "dsn = %s\n", T.dsn);
	tu_write(T.conf, "sweepd.ini", ini);
	daemon_start_on(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "",
	                "--audit-keep", "30d");
	wait_for("(SELECT count(*) FROM sweepd.audit WHERE job = 'j') = 1");
	assert_int_equal(daemon_stop(), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.audit"
	                            " WHERE at > now() - interval '1 day'"), 1);
}

/* 4. history_keep prunes the rows no day holds (here the DEFAULT
 * partition's: days not made when they were written) in bounded
 * statements until nothing older is left: more rows than one statement
 * takes all go, the young ones stay, and their totals are kept. */
static void history_keep_prunes_in_batches(void **state)
{
	(void)state;
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind, status,"
	       " at, started_at, finished_at, counters) SELECT 'h', 'test', 1,"
	       " 'run', 'ok', now() - interval '40 days', now() - interval"
	       " '40 days', now() - interval '40 days', '{\"deleted\": 2}'"
	       " FROM generate_series(1, 12001);"
	       "INSERT INTO sweepd.runs (job, host, pid, kind, status,"
	       " at, started_at, finished_at) VALUES ('h', 'test', 1, 'run',"
	       " 'ok', now() - interval '1 day', now() - interval '1 day',"
	       " now() - interval '1 day')");
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
	                            " sweepd.runs_default"), 12002);
	daemon_start("--history-keep", "30d");
	wait_for("(SELECT count(*) FROM sweepd.runs WHERE job = 'h') = 1");
	assert_int_equal(daemon_stop(), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT runs FROM sweepd.pruned_runs"
	                            " WHERE job = 'h' AND status = 'ok'"),
	                 12001);
	assert_int_equal(tu_sql_int(T.db, "SELECT total FROM sweepd.pruned_rows"
	                            " WHERE job = 'h' AND counter = 'deleted'"),
	                 24002);
}

/* The SQLSTATE of running sql on AUDITDB ("" when it succeeds). */
static char *sql_state(const char *sql)
{
	static char state[8];
	PGresult *res = PQexec(T.db, sql);
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	snprintf(state, sizeof(state), "%s", s ? s : "");
	PQclear(res);
	return state;
}

/* 4b. An installation of schema 6 with history of every age, scheduled
 * and by hand: the migration to 7 keeps each row as it was, makes
 * sweepd.runs partitioned by day, and a tick claimed before the
 * migration is still claimed: claiming it again conflicts. */
static void old_history_survives_the_migration(void **state)
{
	char err[512], *before, *after;
	static const char cols[] = "id, job, host, pid, kind, scheduled_at,"
		" started_at, finished_at, status, counters, message, error,"
		" attempts, backend_pid, oldest_age_s, limit_s, verified_table";

	(void)state;
	if (db_migrate_to(T.db, 6, err, sizeof(err)) != 0)
		fail_msg("building schema 6: %s", err);
	tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind,"
	       " scheduled_at, started_at, finished_at, status, counters)"
	       " SELECT 'old', 'h', 1, CASE WHEN g %% 2 = 0 THEN 'scheduled'"
	       " ELSE 'run' END, CASE WHEN g %% 2 = 0 THEN date_trunc('day',"
	       " now()) - g * interval '1 day' END, now() - g * interval"
	       " '1 day', now() - g * interval '1 day' + interval '1 s', 'ok',"
	       " jsonb_build_object('deleted', g) FROM generate_series(0, 40) g");
	before = tu_sql_text(T.db, "SELECT string_agg(row(%s)::text, '|'"
	                     " ORDER BY id) FROM sweepd.runs", cols);
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	assert_partitioned("runs");
	after = tu_sql_text(T.db, "SELECT string_agg(row(%s)::text, '|'"
	                    " ORDER BY id) FROM sweepd.runs", cols);
	assert_string_equal(after, before);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM"
	                            " sweepd.runs_legacy"), 41);
	/* An old claim still holds its tick. */
	assert_string_equal(sql_state("INSERT INTO sweepd.runs (job, host,"
	                              " pid, kind, scheduled_at, at) SELECT"
	                              " 'old', 'h', 2, 'scheduled', t, t FROM"
	                              " (SELECT date_trunc('day', now()) -"
	                              " interval '4 days' AS t) x"), "23505");
	/* A scheduled row's `at` is its tick, or the claim would not hold. */
	assert_string_equal(sql_state("INSERT INTO sweepd.runs (job, host,"
	                              " pid, kind, scheduled_at) VALUES ('new',"
	                              " 'h', 2, 'scheduled', now() - interval"
	                              " '1 hour')"), "23514");
	/* New ids follow the old ones. */
	tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind) VALUES"
	       " ('new', 'h', 2, 'run')");
	assert_true(tu_sql_int(T.db, "SELECT min(id) FROM sweepd.runs WHERE"
	                       " job = 'new'") > 41);
	free(before);
	free(after);
}

/* The totals pruned of job h (runs by status, counters), as text. */
static char *pruned(void)
{
	return tu_sql_text(T.db, "SELECT concat((SELECT string_agg(status ||"
	                   " '=' || runs, ',' ORDER BY status) FROM"
	                   " sweepd.pruned_runs WHERE job = 'h'), ' ', (SELECT"
	                   " string_agg(counter || '=' || total, ',' ORDER BY"
	                   " counter) FROM sweepd.pruned_rows WHERE job ="
	                   " 'h'))");
}

/* 4c. history_keep = 30d drops the days wholly older than 30 days as
 * tables, and removes no row of a day otherwise: a day with a run still
 * going (this test's process, on this host: the abandoned-run sweep
 * leaves it) stays whole, and so does the day holding the cutoff.  The
 * runs dropped are totalled for the metrics. */
static void history_keep_drops_whole_days(void **state)
{
	char host[256], *day35, *gone, *log;

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(sweepd(NULL, NULL, "--status"), 0);
	tu_sql(T.db, "SELECT sweepd.day_partitions('runs', ((now() - interval"
	       " '45 days') AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE"
	       " 'UTC')::date)");
	tu_sql(T.db, "INSERT INTO sweepd.runs (job, host, pid, kind, status,"
	       " at, started_at, finished_at, counters, message) SELECT 'h',"
	       " '%s', %ld, 'run', s, now() - a::interval, now() - a::interval,"
	       " CASE WHEN s <> 'running' THEN now() - a::interval + interval"
	       " '1 s' END, '{\"deleted\": 5}', a FROM (VALUES ('40 days',"
	       " 'ok'), ('40 days', 'ok'), ('40 days', 'failed'), ('35 days',"
	       " 'running'), ('35 days', 'ok'), ('30 days 1 minute', 'ok'),"
	       " ('29 days 23 hours', 'ok'), ('1 day', 'ok')) v(a, s)", host,
	       (long)getpid());
	day35 = day_of("runs", "35 days");
	daemon_start("--history-keep", "30d");
	wait_for("NOT EXISTS (SELECT 1 FROM sweepd.runs WHERE message ="
	         " '40 days')");
	assert_int_equal(daemon_stop(), 0);
	/* Day 40 went as a table; day 35, its run going, did not. */
	assert_int_equal(day_exists("runs", "40 days"), 0);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.%s",
	                            day35), 2);
	assert_int_equal(tu_sql_int(T.db, "SELECT count(*) FROM sweepd.runs"
	                            " WHERE message IN ('30 days 1 minute',"
	                            " '29 days 23 hours', '1 day')"), 3);
	gone = pruned();
	assert_string_equal(gone, "failed=1,ok=2 deleted=15");
	/* Days 45 to 31, but 35, went: 14 tables, 3 rows in all. */
	log = tu_read_in(T.conf, "log", NULL);
	assert_int_equal(tu_occurrences(log, "event=\"history pruned\""
	                                " days_dropped=14 rows=3"), 1);
	free(log);
	free(gone);
	free(day35);
}

/* 5. A bad audit_keep or history_keep is refused at its file and line,
 * saying what to write; nothing is dropped. */
static void bad_keep_is_refused_at_its_line(void **state)
{
	static const char *const bad[][2] = {
		{"6h", "is less than a day"},
		{"forever", "audit_keep: "},
		{"-3d", "audit_keep: "},
	};
	char ini[128], *out = NULL, *err = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(ini, sizeof(ini), "[sweepd]\nlog_level = warn\n"
		         "audit_keep = %s\n", bad[i][0]);
		tu_write(T.conf, "sweepd.ini", ini);
		assert_int_not_equal(sweepd(&out, &err, "--check"), 0);
		assert_contains(err, "sweepd.ini:3: ");
		assert_contains(err, bad[i][1]);
		if (i == 0)
			assert_contains(err, "write 1d or more");
		free(out);
		free(err);
		out = err = NULL;
	}
	tu_write(T.conf, "sweepd.ini", "[sweepd]\naudit_keep = 0\n");
	assert_int_equal(sweepd(NULL, NULL, "--check"), 0);
	/* history_keep goes by whole days too; 0 is no exception. */
	tu_write(T.conf, "sweepd.ini", "[sweepd]\nlog_level = warn\n"
	         "history_keep = 6h\n");
	assert_int_not_equal(sweepd(&out, &err, "--check"), 0);
	assert_contains(err, "sweepd.ini:3: history_keep: '6h' is less than"
	                " a day");
	assert_contains(err, "write 1d or more");
	free(out);
	free(err);
	assert_int_not_equal(sweepd(NULL, NULL, "--check --history-keep 0"),
	                     0);
	assert_int_equal(sweepd(NULL, NULL, "--check --history-keep 1d"), 0);
	tu_write(T.conf, "sweepd.ini", "[sweepd]\naudit_keep = 1y\n");
	assert_int_equal(sweepd(NULL, NULL, "--check"), 0);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T_(old_records_survive_the_migration),
		T_(days_are_made_ahead_and_default_catches_the_rest),
		T_(days_made_ahead_cost_no_lock),
		T_(audit_keep_drops_old_days_and_keeps_younger_records),
		T_(audit_keep_prunes_every_declared_database),
		T_(history_keep_prunes_in_batches),
		T_(old_history_survives_the_migration),
		T_(history_keep_drops_whole_days),
		T_(bad_keep_is_refused_at_its_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
