/* Age cutoffs against the real PostgreSQL, through the real age_delete,
 * anonymize and orphan_files plugins run by the host's runner: a column
 * without a time zone is read in the job's naive_timezone (default UTC)
 * whatever TimeZone the session, the database or the role has, and ages in
 * months and years are counted on the calendar by PostgreSQL. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api.h"
#include "testworld.h"

typedef tu_world world;

/* Zones far from UTC on both sides, one with daylight saving time. */
static const char *const far_zones[] = {
	"Asia/Tokyo", "Pacific/Kiritimati", "America/Los_Angeles",
};
#define NZONES (sizeof(far_zones) / sizeof(far_zones[0]))

/* Rows of schema.msgs that go with the default naive_timezone (UTC), and
 * with naive_timezone = Asia/Tokyo: bit i is row id i + 1. */
#define GONE_UTC 0x03u
#define GONE_TOKYO 0x0fu

/* Where the job's table lives and how its sessions connect. */
typedef struct place {
	PGconn *db;        /* holds schema.msgs: the world's or another */
	const char *dsn;   /* the job's connection; NULL: the world's */
} place;

/* A world whose sessions start with the server's TimeZone: no PGTZ left
 * by a test before (a failed one leaves it set). */
static int world_setup(void **state)
{
	unsetenv("PGTZ");
	*state = tu_world_new("cut");
	return 0;
}

static int world_teardown(void **state)
{
	unsetenv("PGTZ");
	tu_world_free(*state);
	return 0;
}

/* A connection string to the world's server: database dbname as user. */
static char *dsn_for(world *w, const char *dbname, const char *user)
{
	char dsn[512];
	char *s;

	snprintf(dsn, sizeof(dsn), "host=%s port=%s dbname=%s user=%s",
	         PQhost(w->db), PQport(w->db), dbname, user);
	s = strdup(dsn);
	assert_non_null(s);
	return s;
}

/* (Re)creates schema.msgs in p: rows 1 to 6 with an expires_at, written
 * as naive UTC (as datetime.utcnow() writes it), 10 h and 1 h before a
 * day ago, then 1, 5, 10 and 13 h after it; row 7 with none; row i has
 * the path "mi" (orphan_files' file_table).  Also schema.refs(path), the
 * empty references of orphan_files, and schema.zones, where zone_seen()
 * records the TimeZone of every session that evaluates it (the job's
 * `where`). */
static void naive_table(world *w, const place *p)
{
	tu_sql(p->db,
	       "CREATE SCHEMA IF NOT EXISTS %s;"
	       "DROP TABLE IF EXISTS %s.msgs, %s.zones, %s.refs;"
	       "CREATE TABLE %s.zones (zone text PRIMARY KEY);"
	       "CREATE TABLE %s.refs (path text);"
	       "CREATE OR REPLACE FUNCTION %s.zone_seen() RETURNS boolean"
	       " LANGUAGE sql AS 'INSERT INTO %s.zones VALUES"
	       " (current_setting(''TimeZone'')) ON CONFLICT DO NOTHING;"
	       " SELECT true';"
	       "CREATE TABLE %s.msgs (id int PRIMARY KEY, expires_at"
	       " timestamp, note text, path text);"
	       "INSERT INTO %s.msgs SELECT i, (now() AT TIME ZONE 'UTC')"
	       " - interval '1 day' + h * interval '1 hour', 'personal',"
	       " 'm' || i FROM unnest(ARRAY[-10, -1, 1, 5, 10, 13])"
	       " WITH ORDINALITY AS r(h, i);"
	       "INSERT INTO %s.msgs VALUES (7, NULL, 'personal', 'm7')",
	       w->schema, w->schema, w->schema, w->schema, w->schema,
	       w->schema, w->schema, w->schema, w->schema, w->schema,
	       w->schema);
}

/* Bit mask of the rows of schema.msgs in p that plugin took: deleted, or
 * for anonymize, their note set to NULL. */
static unsigned rows_taken(world *w, const place *p, const char *plugin)
{
	unsigned mask = 0;
	int id;

	for (id = 1; id <= 7; id++) {
		long long kept = tu_sql_int(p->db, strcmp(plugin, "anonymize")
			? "SELECT count(*) FROM %s.msgs WHERE id = %d"
			: "SELECT count(*) FROM %s.msgs WHERE id = %d AND note"
			  " IS NOT NULL", w->schema, id);
		if (!kept)
			mask |= 1u << (id - 1);
	}
	return mask;
}

/* The [params] of plugin over schema.msgs, older than a day, where
 * zone_seen(); orphan_files takes msgs as its file_table, over the files
 * of dir. */
static void msgs_params(world *w, const char *plugin, const char *dir,
                        char *text, size_t size)
{
	const char *s = w->schema;

	if (strcmp(plugin, "orphan_files") == 0)
		snprintf(text, size, "directory = %s\nfile_table = %s.msgs\n"
		         "file_path_column = path\ntime_column = expires_at\n"
		         "references = %s.refs.path\nolder_than = 1d\n"
		         "where = %s.zone_seen()\n", dir, s, s, s);
	else
		snprintf(text, size, "table = %s.msgs\ntime_column = expires_at"
		         "\nolder_than = 1d\nwhere = %s.zone_seen()\n%s", s, s,
		         strcmp(plugin, "anonymize") ? "" : "set_null = note\n");
}

/* Loads a job of plugin over schema.msgs (msgs_params) with extra
 * [params] lines; its sessions connect as p says. */
static void msgs_job(world *w, const place *p, const char *plugin,
                     const char *dir, const char *extra)
{
	char params[1024], text[2048];

	msgs_params(w, plugin, dir, params, sizeof(params));
	snprintf(text, sizeof(text), "[job]\nname = %s\nplugin = %s\n\n"
	         "[params]\n%s%s", w->job, plugin, params, extra);
	tu_world_load(w, text);
	if (p->dsn) {
		free(w->s.dsn);
		w->s.dsn = strdup(p->dsn);
		assert_non_null(w->s.dsn);
	}
}

/* Writes the files m1 to m7 of schema.msgs' paths into a new directory,
 * returned (new). */
static char *msgs_files(void)
{
	char *dir = tu_tempdir(), name[8];
	int id;

	for (id = 1; id <= 7; id++) {
		snprintf(name, sizeof(name), "m%d", id);
		tu_write(dir, name, "x");
	}
	return dir;
}

/* Fails unless the file of each row of schema.msgs in p is in dir exactly
 * when its row is still there (orphan_files took both or neither). */
static void files_follow_rows(world *w, const place *p, const char *dir)
{
	char name[8], *path;
	struct stat sb;
	bool file, row;
	int id;

	for (id = 1; id <= 7; id++) {
		snprintf(name, sizeof(name), "m%d", id);
		path = tu_path(dir, name);
		file = stat(path, &sb) == 0;
		row = tu_sql_int(p->db, "SELECT count(*) FROM %s.msgs WHERE"
		                 " id = %d", w->schema, id) == 1;
		if (file != row)
			fail_msg("row %d is %s but its file %s", id,
			         row ? "there" : "gone", file ? "is there" :
			         "is gone");
		free(path);
	}
}

/* Runs plugin over a fresh schema.msgs in p with extra [params] lines and
 * returns the rows it took, checking that its sessions ran in zone. */
static unsigned take(world *w, const place *p, const char *plugin,
                     const char *extra, const char *zone)
{
	bool files = strcmp(plugin, "orphan_files") == 0;
	char *seen, *dir = files ? msgs_files() : NULL;
	result r;

	naive_table(w, p);
	msgs_job(w, p, plugin, dir, extra);
	tu_world_run_ok(w, false, &r);
	result_free(&r);
	if (files) {
		files_follow_rows(w, p, dir);
		tu_rmtree(dir);
		free(dir);
	}
	seen = tu_sql_text(p->db, "SELECT string_agg(zone, ',') FROM %s.zones",
	                   w->schema);
	assert_string_equal(seen, zone);
	free(seen);
	return rows_taken(w, p, plugin);
}

static const char *const plugins[] = {"age_delete", "anonymize",
                                     "orphan_files"};
#define NPLUGINS (sizeof(plugins) / sizeof(plugins[0]))

/* Runs every plugin with each far zone set by set_zone(w, zone, arg) and
 * checks that the same rows go each time. */
static void same_rows_in_every_zone(world *w, const place *p,
                                    void (*set_zone)(world *, const char *,
                                                     void *),
                                    void *arg, const char *extra,
                                    unsigned want)
{
	size_t i, z;
	unsigned got;

	for (i = 0; i < NPLUGINS; i++) {
		for (z = 0; z < NZONES; z++) {
			set_zone(w, far_zones[z], arg);
			got = take(w, p, plugins[i], extra, far_zones[z]);
			if (got != want)
				fail_msg("%s under TimeZone %s took rows 0x%x, "
				         "not 0x%x", plugins[i], far_zones[z], got,
				         want);
		}
	}
}

/* The session's TimeZone, as libpq sends it at connect (PGTZ). */
static void session_zone(world *w, const char *zone, void *arg)
{
	(void)w;
	(void)arg;
	setenv("PGTZ", zone, 1);
}

static void naive_rows_go_by_utc_whatever_the_session_zone(void **state)
{
	world *w = *state;
	place p = {w->db, NULL};

	same_rows_in_every_zone(w, &p, session_zone, NULL, "", GONE_UTC);
	unsetenv("PGTZ");
}

/* The batches of parallel sessions (new connections, one batch a row)
 * compare with the same cutoff in the same zone. */
static void age_delete_parallel_sessions_agree(void **state)
{
	world *w = *state;
	place p = {w->db, NULL};

	setenv("PGTZ", "Pacific/Kiritimati", 1);
	assert_int_equal(take(w, &p, "age_delete", "parallel = 2\n"
	                      "batch_size = 1\n", "Pacific/Kiritimati"),
	                 GONE_UTC);
	unsetenv("PGTZ");
}

/* The database's TimeZone: ALTER DATABASE arg SET timezone. */
static void database_zone(world *w, const char *zone, void *arg)
{
	tu_sql(w->db, "ALTER DATABASE %s SET timezone = '%s'",
	       (const char *)arg, zone);
}

static void naive_rows_go_by_utc_whatever_the_database_zone(void **state)
{
	world *w = *state;
	char name[64], *dsn;
	place p;

	snprintf(name, sizeof(name), "%s_db", w->schema);
	tu_sql(w->db, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	tu_sql(w->db, "CREATE DATABASE %s", name);
	dsn = dsn_for(w, name, PQuser(w->db));
	p.db = PQconnectdb(dsn);
	assert_int_equal(PQstatus(p.db), CONNECTION_OK);
	p.dsn = dsn;
	same_rows_in_every_zone(w, &p, database_zone, name, "", GONE_UTC);
	PQfinish(p.db);
	free(dsn);
	tu_sql(w->db, "DROP DATABASE %s WITH (FORCE)", name);
}

/* The role's TimeZone: ALTER ROLE arg SET timezone. */
static void role_zone(world *w, const char *zone, void *arg)
{
	tu_sql(w->db, "ALTER ROLE %s SET timezone = '%s'", (const char *)arg,
	       zone);
}

static void naive_rows_go_by_utc_whatever_the_role_zone(void **state)
{
	world *w = *state;
	char role[64], *dsn;
	place p = {w->db, NULL};

	snprintf(role, sizeof(role), "%s_role", w->schema);
	tu_sql(w->db, "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN SUPERUSER",
	       role, role);
	dsn = dsn_for(w, PQdb(w->db), role);
	p.dsn = dsn;
	same_rows_in_every_zone(w, &p, role_zone, role, "", GONE_UTC);
	free(dsn);
	tu_sql(w->db, "DROP OWNED BY %s; DROP ROLE %s", role, role);
}

static void naive_timezone_names_the_zone_of_the_rows(void **state)
{
	world *w = *state;
	place p = {w->db, NULL};

	same_rows_in_every_zone(w, &p, session_zone, NULL,
	                        "naive_timezone = Asia/Tokyo\n", GONE_TOKYO);
	unsetenv("PGTZ");
	/* and UTC said aloud is the default */
	assert_int_equal(take(w, &p, "age_delete", "naive_timezone = UTC\n",
	                      PQparameterStatus(w->db, "TimeZone")), GONE_UTC);
}

/* orphan_files' dry run, under a session far ahead of UTC, counts the
 * records (and files) its run takes, and changes nothing (its `where`
 * writes nothing: the dry run's transaction is read only). */
static void orphan_files_dry_run_reads_the_rows_as_its_run(void **state)
{
	world *w = *state;
	place p = {w->db, NULL};
	char *dir = msgs_files(), text[1024];
	result r;

	naive_table(w, &p);
	snprintf(text, sizeof(text), "[job]\nname = %s\nplugin = orphan_files"
	         "\n\n[params]\ndirectory = %s\nfile_table = %s.msgs\n"
	         "file_path_column = path\ntime_column = expires_at\n"
	         "references = %s.refs.path\nolder_than = 1d\n", w->job, dir,
	         w->schema, w->schema);
	tu_world_load(w, text);
	setenv("PGTZ", "Pacific/Kiritimati", 1);
	tu_world_run_ok(w, true, &r);
	unsetenv("PGTZ");
	assert_int_equal(tu_counter(&r, "would_delete_rows"), 2);
	assert_int_equal(tu_counter(&r, "would_delete"), 2);
	result_free(&r);
	assert_int_equal(rows_taken(w, &p, "orphan_files"), 0);
	files_follow_rows(w, &p, dir);
	tu_rmtree(dir);
	free(dir);
}

/* Rows of schema.days with a date: yesterday, today and tomorrow in UTC;
 * older than 0s, yesterday and today (their midnight has passed in UTC)
 * go, tomorrow stays, under a session 14 h ahead of UTC or 11 h behind
 * (one of the two moved the midnights in any hour of the day). */
static void date_rows_go_by_the_stated_zone(void **state)
{
	static const char *const zones[] = {"Pacific/Kiritimati",
	                                    "Pacific/Pago_Pago"};
	world *w = *state;
	char text[512];
	result r;
	size_t z;

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
	         "table = %s.days\ntime_column = d\nolder_than = 0s\n",
	         w->job, w->schema);
	for (z = 0; z < 2; z++) {
		tu_sql(w->db, "DROP TABLE IF EXISTS %s.days;"
		       "CREATE TABLE %s.days (id int PRIMARY KEY, d date);"
		       "INSERT INTO %s.days SELECT i, (now() AT TIME ZONE 'UTC')"
		       "::date + i - 2 FROM generate_series(1, 3) i",
		       w->schema, w->schema, w->schema);
		tu_world_load(w, text);
		setenv("PGTZ", zones[z], 1);
		tu_world_run_ok(w, false, &r);
		unsetenv("PGTZ");
		result_free(&r);
		assert_int_equal(tu_sql_int(w->db, "SELECT coalesce(sum(id), 0)"
		                            " FROM %s.days", w->schema), 3);
	}
}

static void a_column_of_another_type_or_none_is_refused(void **state)
{
	world *w = *state;
	char text[512];
	result r;

	tu_sql(w->db, "CREATE TABLE %s.nums (id int, stamp bigint);"
	       "INSERT INTO %s.nums VALUES (1, 0)", w->schema, w->schema);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
	         "table = %s.nums\ntime_column = stamp\nolder_than = 1d\n",
	         w->job, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "\"stamp\" of");
	assert_contains(r.error, "is of type bigint: an age needs "
	                "timestamptz, timestamp or date");
	result_free(&r);
	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\n\n[params]\n"
	         "table = %s.nums\ntime_column = made at\nolder_than = 1d\n"
	         "set_null = stamp\n", w->job, w->schema);
	tu_world_load(w, text);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "column \"made at\" of");
	assert_contains(r.error, "nums\" does not exist");
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.nums"
	                            " WHERE stamp IS NOT NULL", w->schema), 1);
}

static void an_unknown_naive_timezone_is_refused_at_its_line(void **state)
{
	world *w = *state;
	char text[512], *msg;

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
	         "table = t\ntime_column = stamp\nolder_than = 1d\n"
	         "naive_timezone = Mars/Olympus\n", w->job);
	tu_world_load_diag(w, text);
	assert_int_equal(w->d.count, 1);
	msg = diag_format(&w->d.items[0]);
	assert_contains(msg, "job.ini:9: naive_timezone (timezone): unknown "
	                "time zone 'Mars/Olympus'; use an IANA name such as "
	                "UTC or Europe/Berlin");
	free(msg);
}

static void an_ambiguous_age_is_refused_at_its_line(void **state)
{
	world *w = *state;
	char text[512], *msg;

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = anonymize\n\n[params]\n"
	         "table = t\ntime_column = stamp\nolder_than = 6M\n"
	         "set_null = a\n", w->job);
	tu_world_load_diag(w, text);
	assert_int_equal(w->d.count, 1);
	msg = diag_format(&w->d.items[0]);
	assert_contains(msg, "job.ini:8: older_than (duration): bad duration "
	                "'6M': '6M' is ambiguous: write 6mo for months or 6m "
	                "for minutes");
	free(msg);
}

/* ---- calendar ages ---- */

/* Microseconds since the epoch of 2028-03-01 12:00:00 UTC, a day after
 * the leap day 2028-02-29. */
#define LEAP_NOON_US 1835524800000000LL
#define DAY_US 86400000000LL
/* 2026-11-01 12:00:00 in Los Angeles (20:00 UTC), the day daylight
 * saving time ended there. */
#define LA_NOON_US 1793563200000000LL

/* A host for one run of the world's job on its connection, as the runner
 * makes it, for calling the SDK's helpers with the real services. */
typedef struct run_host {
	sweep_host h;
	result r;
} run_host;

static void run_host_open(world *w, run_host *rh)
{
	static volatile sig_atomic_t no_stop;

	memset(rh, 0, sizeof(*rh));
	result_init(&rh->r, w->job, false);
	api_host_init(&rh->h, jobs_find(w->js, w->job), w->db, &rh->r, false,
	              &no_stop);
}

static void run_host_close(run_host *rh)
{
	api_host_free(&rh->h);
	result_free(&rh->r);
}

/* Loads a job with older_than = age and naive_timezone = zone. */
static void age_job(world *w, const char *age, const char *zone)
{
	char text[512];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
	         "table = t\ntime_column = stamp\nolder_than = %s\n"
	         "naive_timezone = %s\n", w->job, age, zone);
	tu_world_load(w, text);
}

/* The cutoff sweep_age_cutoff() gives for age in zone from from_us, in
 * microseconds since the epoch; *text (when not NULL) gets its text. */
static long long cutoff_us(world *w, const char *age, const char *zone,
                           int64_t from_us, char **text)
{
	const sweep_api *api = api_table();
	run_host rh;
	char *cutoff = NULL, *err = NULL;
	int64_t us = 0;

	age_job(w, age, zone);
	run_host_open(w, &rh);
	if (sweep_age_cutoff(api, &rh.h, "older_than", zone, from_us,
	                     &cutoff, &us, &err) != 0)
		fail_msg("cutoff of %s: %s", age, err);
	run_host_close(&rh);
	if (text)
		*text = cutoff;
	else
		free(cutoff);
	return us;
}

static void years_and_months_are_counted_on_the_calendar(void **state)
{
	world *w = *state;

	/* a year back from 2028-03-01 is 2027-03-01: 366 days */
	assert_true(cutoff_us(w, "1y", "UTC", LEAP_NOON_US, NULL) ==
	            LEAP_NOON_US - 366 * DAY_US);
	assert_true(cutoff_us(w, "365d", "UTC", LEAP_NOON_US, NULL) ==
	            LEAP_NOON_US - 365 * DAY_US);
	/* three years back is 2025-03-01: 1096 days, not 1095 */
	assert_true(cutoff_us(w, "3y", "UTC", LEAP_NOON_US, NULL) ==
	            LEAP_NOON_US - 1096 * DAY_US);
	/* six months back from 2028-03-01 is 2027-09-01: 182 days */
	assert_true(cutoff_us(w, "6mo", "UTC", LEAP_NOON_US, NULL) ==
	            LEAP_NOON_US - 182 * DAY_US);
	/* eighteen months back is 2026-09-01: 365 + 182 days */
	assert_true(cutoff_us(w, "1y6mo", "UTC", LEAP_NOON_US, NULL) ==
	            LEAP_NOON_US - (365 + 182) * DAY_US);
	/* hours are elapsed time, days calendar days of the zone: from
	 * 2026-11-01 12:00 in Los Angeles (PST), a day back is 10-31 12:00
	 * PDT, 25 h back, over the end of daylight saving time */
	assert_true(cutoff_us(w, "1d", "America/Los_Angeles", LA_NOON_US,
	                      NULL) == LA_NOON_US - 25 * 3600000000LL);
	assert_true(cutoff_us(w, "24h", "America/Los_Angeles", LA_NOON_US,
	                      NULL) == LA_NOON_US - 24 * 3600000000LL);
	assert_true(cutoff_us(w, "1d", "UTC", LA_NOON_US, NULL) ==
	            LA_NOON_US - DAY_US);
}

static void a_year_keeps_a_row_365_days_old_across_a_leap_day(void **state)
{
	world *w = *state;
	const sweep_api *api = api_table();
	const char *ages[] = {"1y", "365d"};
	long long want[] = {0, 1};
	run_host rh;
	char *cutoff, *cond, *err = NULL, logs[96];
	size_t i;
	int kind;

	/* the row is 365 days and an hour old on 2028-03-01 12:00 UTC */
	snprintf(logs, sizeof(logs), "%s.logs", w->schema);
	tu_sql(w->db, "CREATE TABLE %s (stamp timestamp);"
	       "INSERT INTO %s VALUES ('2027-03-02 11:00')", logs, logs);
	for (i = 0; i < 2; i++) {
		cutoff_us(w, ages[i], "UTC", LEAP_NOON_US, &cutoff);
		run_host_open(w, &rh);
		if (sweep_time_kind(api, &rh.h, logs, "stamp", &kind, &err))
			fail_msg("%s", err);
		assert_int_equal(kind, SWEEP_TIME_WALL);
		cond = sweep_age_condition(api, &rh.h, kind, "stamp", "UTC", 1);
		assert_non_null(cond);
		/* the plugins' own test, on the cutoff of that instant */
		assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s"
		                            " WHERE %.*s'%s'%s", logs,
		                            (int)(strstr(cond, "$1") - cond), cond,
		                            cutoff, strstr(cond, "$1") + 2),
		                 want[i]);
		run_host_close(&rh);
		free(cond);
		free(cutoff);
	}
}

/* PostgreSQL reads opt_interval()'s text back as the same interval, and
 * opt_duration_ms() is that interval's length as PostgreSQL counts it. */
static void intervals_read_back_as_postgresql_prints_them(void **state)
{
	static const char *const ages[] = {"3y", "1y6mo", "6mo", "30d1h",
	                                   "36h", "250ms", "2w", "0s"};
	world *w = *state;
	const sweep_api *api = api_table();
	run_host rh;
	size_t i;

	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		const char *text;
		char *back;

		age_job(w, ages[i], "UTC");
		run_host_open(w, &rh);
		text = api->opt_interval(&rh.h, "older_than");
		assert_non_null(text);
		back = tu_sql_text(w->db, "SELECT '%s'::interval::text", text);
		assert_string_equal(back, text);
		free(back);
		assert_true(tu_sql_int(w->db, "SELECT (extract(epoch FROM"
		                       " interval '%s') * 1000)::int8", text) ==
		            api->opt_duration_ms(&rh.h, "older_than"));
		run_host_close(&rh);
	}
}

/* Rows of schema.ages 6 months (UTC calendar) and an hour old, 6 months
 * less an hour old, and 180 days and an hour old: older than 6mo, only
 * the first goes, as a month is not 30 days. */
static void six_months_are_calendar_months(void **state)
{
	world *w = *state;
	char text[512];
	result r;
	size_t i;

	for (i = 0; i < 2; i++) {
		tu_sql(w->db, "DROP TABLE IF EXISTS %s.ages;"
		       "CREATE TABLE %s.ages (id int, stamp %s);"
		       "INSERT INTO %s.ages SELECT id, ((now() AT TIME ZONE"
		       " 'UTC') - a) AT TIME ZONE 'UTC' FROM (VALUES"
		       " (1, interval '6 mons 01:00'), (2, '6 mons -01:00'),"
		       " (3, '180 days 01:00')) v(id, a)", w->schema, w->schema,
		       i ? "timestamp" : "timestamptz", w->schema);
		snprintf(text, sizeof(text),
		         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
		         "table = %s.ages\ntime_column = stamp\nolder_than = 6mo\n",
		         w->job, w->schema);
		tu_world_load(w, text);
		assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1);
		result_free(&r);
		assert_int_equal(tu_sql_int(w->db, "SELECT sum(id) FROM %s.ages",
		                            w->schema), 5);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(naive_rows_go_by_utc_whatever_the_session_zone),
		T(age_delete_parallel_sessions_agree),
		T(naive_rows_go_by_utc_whatever_the_database_zone),
		T(naive_rows_go_by_utc_whatever_the_role_zone),
		T(naive_timezone_names_the_zone_of_the_rows),
		T(orphan_files_dry_run_reads_the_rows_as_its_run),
		T(date_rows_go_by_the_stated_zone),
		T(a_column_of_another_type_or_none_is_refused),
		T(an_unknown_naive_timezone_is_refused_at_its_line),
		T(an_ambiguous_age_is_refused_at_its_line),
		T(years_and_months_are_counted_on_the_calendar),
		T(a_year_keeps_a_row_365_days_old_across_a_leap_day),
		T(intervals_read_back_as_postgresql_prints_them),
		T(six_months_are_calendar_months),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
