/* age_delete on partitioned tables, against the real PostgreSQL: the real
 * plugin .so, loaded by the real loader and run by the host's runner, as
 * sweepd --run does.  Partitions wholly before the cutoff go whole; the
 * rest is batch-deleted leaf by leaf; counters stay exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testworld.h"

typedef tu_world world;

/* Partitions of schema.events by range on created_at, 30 days older_than:
 * three wholly before the cutoff (old1, old2, old3: 300, 300, 200 rows),
 * one holding it (cut: 100 rows 33 days old, one a minute older than the
 * cutoff, one a minute younger, 100 rows 27 days old), one after it (new:
 * 100 rows), and with with_default a DEFAULT partition (50 rows 200 days
 * old, 20 with a NULL time, 30 in 60 days).  Rows that go: 951, or 901
 * without the DEFAULT partition. */
static void range_data(world *w, int with_default)
{
	tu_sql(w->db,
	       "SET search_path = %s;"
	       "CREATE TABLE events (id bigint NOT NULL, created_at"
	       " timestamptz, kind text NOT NULL) PARTITION BY RANGE"
	       " (created_at);"
	       "CREATE FUNCTION part(name text, lo int, hi int) RETURNS void"
	       " LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE TABLE %%I"
	       " PARTITION OF events FOR VALUES FROM (%%L) TO (%%L)', name,"
	       " now() - lo * interval '1 day', now() - hi * interval"
	       " '1 day'); END $$;"
	       "SELECT part('old1', 120, 90), part('old2', 90, 60),"
	       " part('old3', 60, 35), part('cut', 35, 25), part('new', 25, -30);"
	       "CREATE INDEX ON events (created_at);"
	       "INSERT INTO events SELECT g, now() - interval '100 days', 'x'"
	       " FROM generate_series(1, 300) g;"
	       "INSERT INTO events SELECT g, now() - interval '70 days', 'x'"
	       " FROM generate_series(301, 600) g;"
	       "INSERT INTO events SELECT g, now() - interval '40 days', 'x'"
	       " FROM generate_series(601, 800) g;"
	       "INSERT INTO events SELECT g, now() - interval '33 days', 'x'"
	       " FROM generate_series(801, 900) g;"
	       "INSERT INTO events VALUES (901, now() - interval '30 days'"
	       " - interval '1 minute', 'x'), (902, now() - interval '30 days'"
	       " + interval '1 minute', 'x');"
	       "INSERT INTO events SELECT g, now() - interval '27 days', 'x'"
	       " FROM generate_series(903, 1002) g;"
	       "INSERT INTO events SELECT g, now() - interval '1 day', 'x'"
	       " FROM generate_series(1003, 1102) g;"
	       "RESET search_path", w->schema);
	if (!with_default)
		return;
	tu_sql(w->db,
	       "CREATE TABLE %s.other PARTITION OF %s.events DEFAULT;"
	       "INSERT INTO %s.events SELECT g, CASE WHEN g <= 1152 THEN now()"
	       " - interval '200 days' WHEN g <= 1172 THEN NULL ELSE now() +"
	       " interval '60 days' END, 'x' FROM generate_series(1103, 1202)"
	       " g", w->schema, w->schema, w->schema);
}

/* Loads a job over schema.events with the given extra [params] lines. */
static void world_job(world *w, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = age_delete\n\n[params]\n"
	         "table = %s.events\ntime_column = created_at\n"
	         "older_than = 30d\n%s", w->job, w->schema, extra);
	tu_world_load(w, text);
}

static int world_setup(void **state)
{
	unsetenv("PGTZ");
	*state = tu_world_new("part");
	return 0;
}

static int world_teardown(void **state)
{
	unsetenv("PGTZ");
	tu_world_free(*state);
	return 0;
}

/* Rows of schema.rel (the table or one partition) whose id is in [lo, hi]. */
static long long rows_in(world *w, const char *rel, int lo, int hi)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.%s WHERE id"
	                  " BETWEEN %d AND %d", w->schema, rel, lo, hi);
}

/* Whether schema.rel exists, and whether it is a partition of anything. */
static long long exists(world *w, const char *rel)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM pg_class c JOIN"
	                  " pg_namespace n ON n.oid = c.relnamespace WHERE"
	                  " n.nspname = '%s' AND c.relname = '%s'", w->schema,
	                  rel);
}

static long long attached(world *w, const char *rel)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM pg_inherits WHERE"
	                  " inhrelid = to_regclass('%s.%s')", w->schema, rel);
}

/* Checks that exactly the rows older than the cutoff left the table. */
static void assert_only_expired_gone(world *w, int with_default)
{
	assert_int_equal(rows_in(w, "events", 1, 900), 0);
	assert_int_equal(rows_in(w, "events", 901, 901), 0);
	assert_int_equal(rows_in(w, "events", 902, 902), 1);
	assert_int_equal(rows_in(w, "events", 903, 1102), 200);
	if (with_default) {
		assert_int_equal(rows_in(w, "events", 1103, 1152), 0);
		assert_int_equal(rows_in(w, "events", 1153, 1202), 50);
	}
}

static void expired_partitions_go_whole_and_the_rest_in_batches(void **state)
{
	world *w = *state;
	result r;

	range_data(w, 1);
	world_job(w, "batch_size = 20\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 951);
	assert_int_equal(tu_counter(&r, "partitions_dropped"), 3);
	/* The cutoff partition and the DEFAULT one went in batches. */
	assert_true(r.batches > 5);
	assert_contains(r.message, "800 of them in 3 expired partitions");
	result_free(&r);
	assert_int_equal(exists(w, "old1") + exists(w, "old2") +
	                 exists(w, "old3"), 0);
	assert_int_equal(exists(w, "cut") + exists(w, "new") +
	                 exists(w, "other"), 3);
	assert_only_expired_gone(w, 1);

	/* A second run finds nothing left. */
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 0);
	result_free(&r);
}

/* Without a DEFAULT partition the detach runs CONCURRENTLY. */
static void expired_partitions_go_without_a_default_partition(void **state)
{
	world *w = *state;
	result r;

	range_data(w, 0);
	world_job(w, "");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 901);
	assert_int_equal(tu_counter(&r, "partitions_dropped"), 3);
	result_free(&r);
	assert_int_equal(exists(w, "old1") + exists(w, "old2") +
	                 exists(w, "old3"), 0);
	assert_only_expired_gone(w, 0);
}

static void detach_keeps_expired_partitions_as_tables(void **state)
{
	world *w = *state;
	result r;

	range_data(w, 1);
	world_job(w, "partition_action = detach\nbatch_size = 20\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 151);
	assert_int_equal(tu_counter(&r, "partitions_detached"), 3);
	assert_int_equal(tu_counter(&r, "detached"), 800);
	result_free(&r);
	/* Kept under their names, with every row, out of the table. */
	assert_int_equal(rows_in(w, "old1", 1, 300), 300);
	assert_int_equal(rows_in(w, "old2", 301, 600), 300);
	assert_int_equal(rows_in(w, "old3", 601, 800), 200);
	assert_int_equal(attached(w, "old1") + attached(w, "old2") +
	                 attached(w, "old3"), 0);
	assert_int_equal(attached(w, "cut"), 1);
	assert_only_expired_gone(w, 1);
}

/* With a DEFAULT partition the detach cannot be CONCURRENT: the table's
 * lock, which its readers and writers queue behind, is taken once for all
 * the expired partitions, not once for each: one transaction detached
 * them (their catalog rows carry its id). */
static void a_plain_detach_locks_the_table_once(void **state)
{
	world *w = *state;
	result r;

	range_data(w, 1);
	world_job(w, "partition_action = detach\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "detached"), 800);
	assert_int_equal(tu_counter(&r, "partitions_detached"), 3);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT xmin::text)"
	                            " FROM pg_class WHERE oid IN"
	                            " ('%s.old1'::regclass,"
	                            " '%s.old2'::regclass,"
	                            " '%s.old3'::regclass)", w->schema,
	                            w->schema, w->schema), 1);
	assert_int_equal(attached(w, "old1") + attached(w, "old2") +
	                 attached(w, "old3"), 0);
}

static void dry_run_lists_the_partitions_and_changes_nothing(void **state)
{
	world *w = *state;
	result r;
	size_t i;
	int seen = 0;

	range_data(w, 1);
	world_job(w, "");
	assert_int_equal(tu_world_run_count(w, true, &r, "would_delete"), 951);
	assert_int_equal(tu_counter(&r, "would_drop_partitions"), 3);
	for (i = 0; i < r.nsamples; i++)
		if (strstr(r.samples[i], "would be dropped"))
			seen |= strstr(r.samples[i], ".old1: 300 rows") ? 1
			      : strstr(r.samples[i], ".old2: 300 rows") ? 2
			      : strstr(r.samples[i], ".old3: 200 rows") ? 4 : 8;
	assert_int_equal(seen, 7);
	assert_contains(r.message, "800 of them by dropping 3 expired");
	result_free(&r);
	assert_int_equal(rows_in(w, "events", 1, 1202), 1202);
	assert_int_equal(attached(w, "old1"), 1);
}

static void audit_records_equal_the_rows_gone(void **state)
{
	world *w = *state;
	result r;

	range_data(w, 1);
	world_job(w, "audit_columns = id\nbatch_size = 50\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 951);
	assert_int_equal(tu_counter(&r, "audited"), 951);
	assert_int_equal(tu_counter(&r, "partitions_dropped"), 3);
	result_free(&r);
	/* One record per row gone, none for a row kept. */
	assert_int_equal(tu_sql_int(w->db, "SELECT count(DISTINCT data->>'id')"
	                            " FROM sweepd.audit WHERE job = '%s'",
	                            w->job), 951);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM sweepd.audit a"
	                            " JOIN %s.events e ON e.id = (a.data->>'id')"
	                            "::int8 WHERE a.job = '%s'", w->schema,
	                            w->job), 0);
	assert_only_expired_gone(w, 1);
}

/* Daily partitions of schema.events: 40 wholly before the 30-day cutoff
 * (d32 to d71: days 32 to 31 ago ... 71 to 70 ago, 10 rows each: 400),
 * one holding it (days 31 to 29 ago: 10 rows half a day older than the
 * cutoff, 10 half a day younger) and one after
 * it, with a DEFAULT partition when with_default.  More expired partitions
 * than go together in one set (32): they go in two. */
static void daily_data(world *w, int with_default)
{
	tu_sql(w->db,
	       "SET search_path = %s;"
	       "CREATE TABLE events (id bigint NOT NULL, created_at"
	       " timestamptz, kind text NOT NULL) PARTITION BY RANGE"
	       " (created_at);"
	       "DO $$ DECLARE t timestamptz := now(); BEGIN"
	       " FOR d IN 32..71 LOOP EXECUTE format('CREATE TABLE %%I"
	       " PARTITION OF events FOR VALUES FROM (%%L) TO (%%L)',"
	       " 'd' || d, t - d * interval '1 day', t - (d - 1) *"
	       " interval '1 day'); END LOOP;"
	       " EXECUTE format('CREATE TABLE cut PARTITION OF events FOR"
	       " VALUES FROM (%%L) TO (%%L)', t - interval '31 days',"
	       " t - interval '29 days');"
	       " EXECUTE format('CREATE TABLE young PARTITION OF events FOR"
	       " VALUES FROM (%%L) TO (%%L)', t - interval '29 days',"
	       " t + interval '1 day'); END $$;"
	       "%s"
	       "INSERT INTO events SELECT g, now() - (30 + (g - 1) / 10)"
	       " * interval '1 day' - interval '12 hours', 'x'"
	       " FROM generate_series(11, 410) g;"
	       "INSERT INTO events SELECT g, now() - interval '30 days'"
	       " + CASE WHEN g <= 10 THEN interval '-12 hours' ELSE"
	       " interval '12 hours' END, 'x' FROM generate_series(1, 20) g;"
	       "INSERT INTO events SELECT g, now() - interval '1 day', 'x'"
	       " FROM generate_series(411, 430) g;"
	       "RESET search_path", w->schema,
	       with_default ? "CREATE TABLE other PARTITION OF events DEFAULT;"
	                    : "");
}

/* More expired partitions than one set holds: every one goes, in two
 * sets, and the counters add up exactly. */
static void many_expired_partitions_go_in_sets(void **state)
{
	world *w = *state;
	result r;

	daily_data(w, 0);
	world_job(w, "");
	assert_int_equal(tu_world_run_count(w, true, &r, "would_delete"), 410);
	assert_int_equal(tu_counter(&r, "would_drop_partitions"), 40);
	result_free(&r);
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 410);
	assert_int_equal(tu_counter(&r, "partitions_dropped"), 40);
	assert_contains(r.message, "400 of them in 40 expired partitions");
	result_free(&r);
	assert_int_equal(exists(w, "d32") + exists(w, "d50") +
	                 exists(w, "d71"), 0);
	assert_int_equal(rows_in(w, "events", 1, 10), 0);
	assert_int_equal(rows_in(w, "events", 11, 430), 30);
}

/* The same with a DEFAULT partition (plain DETACH) and
 * partition_action = detach: every expired partition is kept, out of the
 * table, with every row. */
static void many_expired_partitions_detach_with_a_default(void **state)
{
	world *w = *state;
	result r;

	daily_data(w, 1);
	world_job(w, "partition_action = detach\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "detached"), 400);
	assert_int_equal(tu_counter(&r, "partitions_detached"), 40);
	assert_int_equal(tu_counter(&r, "deleted"), 10);
	result_free(&r);
	assert_int_equal(attached(w, "d32") + attached(w, "d50") +
	                 attached(w, "d71"), 0);
	assert_int_equal(rows_in(w, "d32", 1, 430) + rows_in(w, "d71", 1, 430),
	                 20);
	assert_int_equal(rows_in(w, "events", 1, 430), 30);
}

/* With where, a partition's rows do not all go: none is dropped. */
static void where_walks_every_partition(void **state)
{
	world *w = *state;
	result r;

	range_data(w, 1);
	tu_sql(w->db, "UPDATE %s.events SET kind = 'y' WHERE id %% 2 = 0",
	       w->schema);
	world_job(w, "where = kind = 'x'\n");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 476);
	assert_int_equal(exists(w, "old1"), 1);
	result_free(&r);
	assert_int_equal(rows_in(w, "old1", 1, 300), 150);
}

/* A table that is busy (a reader's transaction holds the lock a DETACH
 * needs) makes the run fail after a few short waits, changing nothing:
 * it never queues its readers and writers behind it for long. */
static void a_busy_table_fails_the_run_and_keeps_every_row(void **state)
{
	world *w = *state;
	PGconn *reader = tu_db();
	result r;

	range_data(w, 1);
	world_job(w, "");
	tu_sql(reader, "BEGIN; SELECT count(*) FROM %s.events", w->schema);
	assert_int_equal(tu_world_run(w, false, &r), RUNNER_FAILED);
	assert_contains(r.error, "lock timeout");
	result_free(&r);
	tu_sql(reader, "COMMIT");
	PQfinish(reader);
	assert_int_equal(attached(w, "old1"), 1);
	assert_int_equal(rows_in(w, "events", 1, 1202), 1202);
}

/* A list-partitioned table: each leaf's heap is walked. */
static void list_partitions_are_walked_leaf_by_leaf(void **state)
{
	world *w = *state;
	result r;

	tu_sql(w->db,
	       "SET search_path = %s;"
	       "CREATE TABLE events (id bigint, created_at timestamptz, kind"
	       " text) PARTITION BY LIST (kind);"
	       "CREATE TABLE ka PARTITION OF events FOR VALUES IN ('a');"
	       "CREATE TABLE kb PARTITION OF events FOR VALUES IN ('b')"
	       " PARTITION BY HASH (id);"
	       "CREATE TABLE kb0 PARTITION OF kb FOR VALUES WITH (MODULUS 2,"
	       " REMAINDER 0);"
	       "CREATE TABLE kb1 PARTITION OF kb FOR VALUES WITH (MODULUS 2,"
	       " REMAINDER 1);"
	       "CREATE TABLE kz PARTITION OF events DEFAULT;"
	       "INSERT INTO events SELECT g, now() - (g %% 60) * interval"
	       " '1 day' - interval '1 hour', (ARRAY['a', 'b', 'c'])[g %% 3 + 1]"
	       " FROM generate_series(1, 3000) g;"
	       "RESET search_path", w->schema);
	world_job(w, "batch_size = 100\n");
	/* g % 60 in 30..59 is older than 30 days: half. */
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1500);
	result_free(&r);
	assert_int_equal(tu_sql_int(w->db, "SELECT count(*) FROM %s.events"
	                            " WHERE created_at < now() - interval"
	                            " '30 days'", w->schema), 0);
	assert_int_equal(rows_in(w, "events", 1, 3000), 1500);
	assert_int_equal(rows_in(w, "kb0", 1, 3000) +
	                 rows_in(w, "kb1", 1, 3000), 500);
}

/* Range partitions on another column: no bound says anything of the
 * time column, so each leaf is walked. */
static void range_on_another_column_is_walked(void **state)
{
	world *w = *state;
	result r;

	tu_sql(w->db,
	       "SET search_path = %s;"
	       "CREATE TABLE events (id bigint, created_at timestamptz, kind"
	       " text) PARTITION BY RANGE (id);"
	       "CREATE TABLE i1 PARTITION OF events FOR VALUES FROM (MINVALUE)"
	       " TO (1001);"
	       "CREATE TABLE i2 PARTITION OF events FOR VALUES FROM (1001)"
	       " TO (MAXVALUE);"
	       "INSERT INTO events SELECT g, now() - (g %% 60) * interval"
	       " '1 day' - interval '1 hour', 'x' FROM generate_series(1, 3000) g;"
	       "RESET search_path", w->schema);
	world_job(w, "");
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 1500);
	assert_int_equal(tu_counter(&r, "deleted"), 1500);
	result_free(&r);
	assert_int_equal(exists(w, "i1") + exists(w, "i2"), 2);
	assert_int_equal(rows_in(w, "events", 1, 3000), 1500);
}

/* Partitions of a timestamp column (naive UTC by default) are placed in
 * UTC whatever the session's TimeZone: under +14 a bound 5 hours after the
 * cutoff, read as the session's time, would lie before it and its young
 * rows would be dropped with it. */
static void naive_bounds_are_read_in_naive_timezone(void **state)
{
	world *w = *state;
	result r;

	tu_sql(w->db,
	       "SET search_path = %s;"
	       "CREATE TABLE events (id bigint, created_at timestamp, kind"
	       " text) PARTITION BY RANGE (created_at);"
	       "CREATE FUNCTION part(name text, lo interval, hi interval)"
	       " RETURNS void LANGUAGE plpgsql AS $$ DECLARE c timestamp :="
	       " (now() - interval '30 days') AT TIME ZONE 'UTC'; BEGIN"
	       " EXECUTE format('CREATE TABLE %%I PARTITION OF events FOR"
	       " VALUES FROM (%%L) TO (%%L)', name, c + lo, c + hi); END $$;"
	       "SELECT part('before', '-20 days', '-5 hours'),"
	       " part('edge', '-5 hours', '5 hours'),"
	       " part('after', '5 hours', '40 days');"
	       "INSERT INTO events SELECT g, (now() - interval '30 days') AT"
	       " TIME ZONE 'UTC' + CASE WHEN g <= 100 THEN interval '-10 days'"
	       " WHEN g <= 150 THEN interval '-1 hour' WHEN g <= 200 THEN"
	       " interval '2 hours' ELSE interval '10 days' END, 'x'"
	       " FROM generate_series(1, 250) g;"
	       "RESET search_path", w->schema);
	world_job(w, "");
	setenv("PGTZ", "Pacific/Kiritimati", 1);
	assert_int_equal(tu_world_run_count(w, false, &r, "deleted"), 150);
	assert_int_equal(tu_counter(&r, "partitions_dropped"), 1);
	result_free(&r);
	unsetenv("PGTZ");
	assert_int_equal(exists(w, "before"), 0);
	assert_int_equal(rows_in(w, "edge", 1, 250), 50);
	assert_int_equal(rows_in(w, "events", 151, 250), 100);
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(expired_partitions_go_whole_and_the_rest_in_batches),
		T(expired_partitions_go_without_a_default_partition),
		T(detach_keeps_expired_partitions_as_tables),
		T(a_plain_detach_locks_the_table_once),
		T(dry_run_lists_the_partitions_and_changes_nothing),
		T(audit_records_equal_the_rows_gone),
		T(many_expired_partitions_go_in_sets),
		T(many_expired_partitions_detach_with_a_default),
		T(where_walks_every_partition),
		T(a_busy_table_fails_the_run_and_keeps_every_row),
		T(list_partitions_are_walked_leaf_by_leaf),
		T(range_on_another_column_is_walked),
		T(naive_bounds_are_read_in_naive_timezone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
