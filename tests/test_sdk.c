/* The SDK's promises to a third-party author: one ABI rule, applied by the
 * loader and shown by --check-plugin, for plugins built for an older
 * minor, a newer minor, another major and with a truncated descriptor;
 * --check-plugin surviving a plugin that crashes; the default conf dir
 * stated; the host-owned commit and rollback (ABI 1.8) keeping "audited"
 * true; and the test harness (sweepd/testing.h) running plugins through
 * the host's own validator, runner and READ ONLY dry run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweepd/testing.h>

#include "loader.h"
#include "settings.h"
#include "testutil.h"

/* Runs sweepd with args; captures stdout/stderr; returns the exit code. */
#define SWEEPD(out, err, ...) \
	tu_run(out, err, SWEEPD_BIN " " __VA_ARGS__)

/* One fixture of the ABI rule: the ABI it claims, whether it loads. */
static const struct abi_case {
	const char *fixture;
	int major, minor;       /* minor -1: this host's + 1 */
	bool loads;
	const char *problem;    /* what the refusal says besides versions */
} abi_cases[] = {
	{"valid", SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR, true, NULL},
	{"old_minor", SWEEP_ABI_MAJOR, 0, true, NULL},
	{"newer_minor", SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR + 1, false,
	 "upgrade sweepd"},
	{"wrong_abi", SWEEP_ABI_MAJOR + 1, SWEEP_ABI_MINOR, false,
	 "another major version changed the ABI"},
	{"small_desc", SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR, false,
	 "descriptor is 8 bytes"},
};

/* The .so of fixture name; a static buffer. */
static const char *fixture_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s.so", SWEEPD_FIXTURE_DIR, name);
	return path;
}

/* The rule as the header states it: same major, minor not newer. */
static void the_rule_is_one_macro(void **state)
{
	(void)state;
	assert_true(SWEEP_ABI_LOADS(SWEEP_ABI_MAJOR, 0));
	assert_true(SWEEP_ABI_LOADS(SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR));
	assert_false(SWEEP_ABI_LOADS(SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR + 1));
	assert_false(SWEEP_ABI_LOADS(SWEEP_ABI_MAJOR + 1, 0));
	assert_false(SWEEP_ABI_LOADS(SWEEP_ABI_MAJOR - 1, SWEEP_ABI_MINOR));
}

/* Each fixture loads or is refused by the loader as the rule says, and a
 * refusal names the version found and the versions this sweepd loads. */
static void each_fixture_loads_or_is_refused_by_the_rule(void **state)
{
	char err[1024], found[64], needed[96];
	size_t i;

	(void)state;
	snprintf(needed, sizeof(needed), "this sweepd (ABI %d.%d) loads plugins "
	         "built for ABI %d.0 to %d.%d", SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR,
	         SWEEP_ABI_MAJOR, SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR);
	for (i = 0; i < sizeof(abi_cases) / sizeof(abi_cases[0]); i++) {
		const struct abi_case *c = &abi_cases[i];
		loader *l = loader_new();
		const loader_plugin *p;

		p = loader_open(l, fixture_path(c->fixture), err, sizeof(err));
		if (c->loads) {
			if (p == NULL)
				fail_msg("%s refused: %s", c->fixture, err);
			assert_int_equal(p->desc->abi_major, c->major);
			assert_int_equal(p->desc->abi_minor, c->minor);
			loader_free(l);
			continue;
		}
		if (p != NULL)
			fail_msg("%s (ABI %d.%d) loaded", c->fixture, c->major,
			         c->minor);
		snprintf(found, sizeof(found), "ABI %d.%d", c->major, c->minor);
		assert_contains(err, c->fixture);
		assert_contains(err, found);
		assert_contains(err, c->problem);
		if (strcmp(c->fixture, "small_desc") != 0)
			assert_contains(err, needed);
		loader_free(l);
	}
}

/* --check-plugin tells the same for each fixture, without a conf dir. */
static void check_plugin_applies_the_same_rule(void **state)
{
	char *out, *err, found[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(abi_cases) / sizeof(abi_cases[0]); i++) {
		const struct abi_case *c = &abi_cases[i];
		int rc = SWEEPD(&out, &err, "--conf-dir /nonexistent/sweepd "
		                "--check-plugin %s", fixture_path(c->fixture));

		snprintf(found, sizeof(found), "ABI %d.%d", c->major, c->minor);
		if (c->loads) {
			if (rc != 0)
				fail_msg("%s: exit %d: %s", c->fixture, rc, err);
			assert_contains(out, found);
			assert_contains(out, "loads in this sweepd");
			assert_contains(out, "options:");
		} else {
			assert_int_equal(rc, 2);
			assert_contains(err, found);
			assert_contains(err, c->problem);
		}
		free(out);
		free(err);
	}
}

static void check_plugin_survives_a_crashing_plugin(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--check-plugin "
	                        SWEEPD_FIXTURE_DIR "/crash/crash_entry.so"), 1);
	assert_contains(err, "crash_entry.so: crashed while being loaded: "
	                "signal 11");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--check-plugin "
	                        SWEEPD_FIXTURE_DIR "/not_elf.so"), 2);
	assert_contains(err, "not an ELF shared object");
	free(out);
	free(err);
}

/* --help and the error of an absent conf dir both name the default and
 * how to choose another. */
static void the_default_conf_dir_is_stated(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(SWEEPD(&out, &err, "--help"), 0);
	assert_contains(out, settings_default_conf_dir());
	assert_contains(out, "--conf-dir DIR");
	assert_contains(out, "--check-plugin FILE.so");
	free(out);
	free(err);
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir /nonexistent/sweepd "
	                        "--list-jobs"), 2);
	assert_contains(err, "/nonexistent/sweepd: no such configuration "
	                "directory");
	assert_contains(err, settings_default_conf_dir());
	assert_contains(err, "SWEEPD_CONF_DIR");
	free(out);
	free(err);
}

/* ---- the harness, and the services it runs plugins with ---- */

typedef struct world {
	PGconn *db;
	char *schema;
} world;

static int world_setup(void **state)
{
	world *w = calloc(1, sizeof(*w));

	w->db = tu_db();
	w->schema = tu_schema(w->db, "sdk");
	tu_sql(w->db, "CREATE TABLE %s.t (id int PRIMARY KEY);"
	       "INSERT INTO %s.t SELECT generate_series(1, 5)", w->schema,
	       w->schema);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	world *w = *state;

	tu_sql(w->db, "DROP SCHEMA %s CASCADE", w->schema);
	PQfinish(w->db);
	free(w->schema);
	free(w);
	return 0;
}

/* A harness over the fixture name, loaded through the real loader, with
 * params "table = SCHEMA.t" and more. */
static sweep_test *harness(world *w, const char *name, const char *more)
{
	char *err = NULL, params[256];
	char path[512];
	sweep_test *t;

	snprintf(path, sizeof(path), "%s/%s.so", SWEEPD_FIXTURE_DIR, name);
	t = sweep_test_open(NULL, path, &err);
	if (t == NULL)
		fail_msg("%s", err);
	snprintf(params, sizeof(params), "table = %s.t\n%s", w->schema, more);
	if (sweep_test_params(t, params, &err) != 0)
		fail_msg("params: %s", err);
	return t;
}

static long long rows(world *w)
{
	return tu_sql_int(w->db, "SELECT count(*) FROM %s.t", w->schema);
}

static void commit_counts_the_audit_records_committed(void **state)
{
	world *w = *state;
	sweep_test *t = harness(w, "txn", "how = commit\n");

	assert_int_equal(sweep_test_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "audited"), 2);
	assert_int_equal(sweep_test_audit_count(t), 2);
	assert_int_equal(rows(w), 0);
	sweep_test_free(t);
}

static void rollback_takes_its_audit_records_off(void **state)
{
	world *w = *state;
	sweep_test *t = harness(w, "txn", "how = rollback\n");

	assert_int_equal(sweep_test_run(t), 0);
	assert_int_equal(sweep_test_counter(t, "audited"), 0);
	assert_int_equal(sweep_test_audit_count(t), 0);
	assert_int_equal(rows(w), 5);
	sweep_test_free(t);
}

static void a_failed_transaction_does_not_commit(void **state)
{
	world *w = *state;
	sweep_test *t = harness(w, "txn", "how = failed\n");

	assert_int_equal(sweep_test_run(t), -1);
	assert_contains(sweep_test_error(t), "the transaction had failed and "
	                "was rolled back");
	assert_int_equal(sweep_test_counter(t, "audited"), 0);
	assert_int_equal(sweep_test_audit_count(t), 0);
	sweep_test_free(t);
}

static void commit_is_refused_in_a_dry_run(void **state)
{
	world *w = *state;
	sweep_test *t = harness(w, "txn", "how = commit\n");

	assert_int_equal(sweep_test_dry_run(t), -1);
	assert_contains(sweep_test_error(t), "commit: not allowed in a dry run");
	sweep_test_free(t);
}

/* The harness's dry run is the host's: a plugin that deletes in its dry
 * run is stopped by PostgreSQL, and nothing changes. */
static void the_harness_dry_run_is_read_only(void **state)
{
	world *w = *state;
	sweep_test *t = harness(w, "rogue", "trick = commit-delete\n");

	assert_int_equal(sweep_test_dry_run(t), -1);
	assert_contains(sweep_test_error(t), "read-only transaction");
	assert_int_equal(rows(w), 5);
	assert_true(sweep_test_logged(t, "dry-run finished"));
	assert_contains(sweep_test_json(t), "\"dry_run\":true");
	sweep_test_free(t);
}

/* Params go through the daemon's validator, problems by line. */
static void the_harness_validates_params_as_the_daemon(void **state)
{
	world *w = *state;
	sweep_test *t = harness(w, "valid", "");
	char *err = NULL;

	assert_int_equal(sweep_test_params(t, "table = x\nlimit = many\n"
	                                   "verbos = yes\n", &err), -1);
	assert_contains(err, "params:2: ");
	assert_contains(err, "limit");
	assert_contains(err, "params:3: ");
	assert_contains(err, "verbose");
	free(err);
	err = NULL;
	assert_int_equal(sweep_test_params(t, "", &err), -1);
	assert_contains(err, "table");
	free(err);
	sweep_test_free(t);
}

/* A descriptor the loader would refuse is refused by sweep_test_new()
 * too, with the loader's message. */
static void the_harness_checks_a_linked_descriptor(void **state)
{
	static const sweep_plugin newer = {
		.magic = SWEEP_PLUGIN_MAGIC, .abi_major = SWEEP_ABI_MAJOR,
		.abi_minor = SWEEP_ABI_MINOR + 1, .size = sizeof(sweep_plugin),
		.option_size = sizeof(sweep_option), .name = "newer",
	};
	char *err = NULL;

	(void)state;
	assert_null(sweep_test_new(NULL, &newer, &err));
	assert_contains(err, "loads plugins built for ABI");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_rule_is_one_macro),
		cmocka_unit_test(each_fixture_loads_or_is_refused_by_the_rule),
		cmocka_unit_test(check_plugin_applies_the_same_rule),
		cmocka_unit_test(check_plugin_survives_a_crashing_plugin),
		cmocka_unit_test(the_default_conf_dir_is_stated),
		cmocka_unit_test(the_harness_checks_a_linked_descriptor),
#define W(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		W(commit_counts_the_audit_records_committed),
		W(rollback_takes_its_audit_records_off),
		W(a_failed_transaction_does_not_commit),
		W(commit_is_refused_in_a_dry_run),
		W(the_harness_dry_run_is_read_only),
		W(the_harness_validates_params_as_the_daemon),
#undef W
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
