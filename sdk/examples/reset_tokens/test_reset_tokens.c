/*
 * test_reset_tokens: reset_tokens run through sweepd's own code against a
 * real PostgreSQL (DATABASE_URL, else libpq's PG* variables).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sweepd/testing.h>

/* The plugin's entry function, linked in from reset_tokens.c. */
const sweep_plugin *sweep_plugin_entry(void);

static char schema[64];

/* Runs sql on the harness's session, failing the test on error. */
static void sql(sweep_test *t, const char *text)
{
	char *err = NULL;

	if (sweep_test_exec(t, text, &err) != 0)
		fail_msg("%s: %s", text, err);
}

/* A harness over the linked-in plugin, with a fresh table of 3 tokens
 * expired 2 days ago, 1 expired an hour ago and 2 still valid. */
static int setup(void **state)
{
	char *err = NULL, text[1024];
	sweep_test *t = sweep_test_new(NULL, sweep_plugin_entry(), &err);

	if (t == NULL)
		fail_msg("%s", err);
	snprintf(schema, sizeof(schema), "reset_tokens_%ld", (long)getpid());
	snprintf(text, sizeof(text),
	         "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
	         "CREATE TABLE %s.tokens (id int PRIMARY KEY, user_id int,"
	         " expires_at timestamptz NOT NULL);"
	         "INSERT INTO %s.tokens SELECT i, i, now() - interval '2 days'"
	         " FROM generate_series(1, 3) i;"
	         "INSERT INTO %s.tokens VALUES (4, 4, now() - interval '1 hour'),"
	         " (5, 5, now() + interval '1 hour'), (6, 6, now() +"
	         " interval '1 day')", schema, schema, schema, schema, schema);
	sql(t, text);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	char text[128];

	snprintf(text, sizeof(text), "DROP SCHEMA %s CASCADE", schema);
	sql(*state, text);
	sweep_test_free(*state);
	return 0;
}

/* Sets the job's params: the test's table, batch_size 2, then more. */
static void params(sweep_test *t, const char *more)
{
	char text[512], *err = NULL;

	snprintf(text, sizeof(text), "table = %s.tokens\nbatch_size = 2\n%s",
	         schema, more);
	if (sweep_test_params(t, text, &err) != 0)
		fail_msg("params refused: %s", err);
}

static int64_t left(sweep_test *t)
{
	char text[128];

	snprintf(text, sizeof(text), "SELECT count(*) FROM %s.tokens", schema);
	return sweep_test_int(t, text);
}

static void dry_run_counts_and_samples_and_changes_nothing(void **state)
{
	sweep_test *t = *state;

	params(t, "");
	assert_int_equal(sweep_test_dry_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "would_delete"), 3);
	assert_false(sweep_test_has_counter(t, "deleted"));
	assert_int_equal(sweep_test_sample_count(t), 3);
	assert_string_equal(sweep_test_sample(t, 0), "{\"id\": 1}");
	assert_int_equal(left(t), 6);
}

static void run_deletes_what_expired_before_the_grace(void **state)
{
	sweep_test *t = *state;

	params(t, "audit = true\n");
	assert_int_equal(sweep_test_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "deleted"), 3);
	assert_int_equal(sweep_test_counter(t, "audited"), 3);
	assert_int_equal(sweep_test_audit_count(t), 3);
	assert_string_equal(sweep_test_audit_action(t, 0), "deleted");
	assert_non_null(strstr(sweep_test_audit_data(t, 0), "\"id\""));
	assert_int_equal(left(t), 3);
	assert_true(sweep_test_logged(t, "run finished"));
	/* A second run finds nothing more to do. */
	assert_int_equal(sweep_test_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "deleted"), 0);
}

static void a_shorter_grace_takes_the_hour_old_token_too(void **state)
{
	sweep_test *t = *state;

	params(t, "grace = 30m\n");
	assert_int_equal(sweep_test_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "deleted"), 4);
	assert_int_equal(left(t), 2);
}

static void a_bad_value_is_refused_by_the_daemons_validator(void **state)
{
	sweep_test *t = *state;
	char *err = NULL;

	assert_int_equal(sweep_test_params(t, "grace = 1 day\n", &err), -1);
	assert_non_null(strstr(err, "params:1:"));
	assert_non_null(strstr(err, "grace"));
	free(err);
	err = NULL;
	assert_int_equal(sweep_test_params(t, "tabel = x\n", &err), -1);
	assert_non_null(strstr(err, "tabel"));
	free(err);
}

static void the_built_plugin_loads_through_the_real_loader(void **state)
{
	char *err = NULL, text[256];
	sweep_test *t;

	(void)state;
	t = sweep_test_open(NULL, PLUGIN_SO, &err);
	if (t == NULL)
		fail_msg("%s", err);
	snprintf(text, sizeof(text), "table = %s.tokens\n", schema);
	assert_int_equal(sweep_test_params(t, text, &err), 0);
	assert_int_equal(sweep_test_dry_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "would_delete"), 3);
	sweep_test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			dry_run_counts_and_samples_and_changes_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			run_deletes_what_expired_before_the_grace, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_shorter_grace_takes_the_hour_old_token_too, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_bad_value_is_refused_by_the_daemons_validator, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			the_built_plugin_loads_through_the_real_loader, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
