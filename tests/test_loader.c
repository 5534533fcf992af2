/* Loader tests: the fixture plugins of tests/fixtures, each wrong in one
 * way, must be refused with a message naming the file and the reason; the
 * valid one loads with its options copied; lookup order and scans; and a
 * refused plugin fails its job only. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "jobs.h"
#include "loader.h"
#include "params.h"
#include "settings.h"

#define FIX(name) SWEEPD_FIXTURE_DIR "/" name ".so"

/* A loader and two scratch directories (a conf dir and a plugin dir). */
typedef struct world {
	loader *l;
	char *conf;
	char *plugins;
	char err[1024];
} world;

static int world_setup(void **state)
{
	world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->l = loader_new();
	assert_non_null(w->l);
	w->conf = tu_tempdir();
	w->plugins = tu_tempdir();
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	world *w = *state;

	loader_free(w->l);
	tu_rmtree(w->conf);
	tu_rmtree(w->plugins);
	free(w->conf);
	free(w->plugins);
	free(w);
	return 0;
}

/* Opens path, which must be refused; returns the message, which names
 * the file.  Nothing stays loaded. */
static const char *refused(world *w, const char *path)
{
	w->err[0] = '\0';
	assert_null(loader_open(w->l, path, w->err, sizeof(w->err)));
	assert_int_equal(loader_count(w->l), 0);
	assert_contains(w->err, path);
	return w->err;
}

/* ---- loader_open ---- */

static void valid_loads_with_its_options_copied(void **state)
{
	world *w = *state;
	const loader_plugin *p;
	static const struct {
		const char *key;
		int type;
	} want[] = {
		{"table", SWEEP_OPT_IDENT},   {"limit", SWEEP_OPT_INT},
		{"label", SWEEP_OPT_STRING},  {"verbose", SWEEP_OPT_BOOL},
		{"age", SWEEP_OPT_DURATION},  {"columns", SWEEP_OPT_LIST},
		{"where", SWEEP_OPT_SQL_EXPR},
	};
	size_t i;

	p = loader_open(w->l, FIX("valid"), w->err, sizeof(w->err));
	if (p == NULL)
		fail_msg("valid refused: %s", w->err);
	assert_string_equal(p->path, FIX("valid"));
	assert_string_equal(p->desc->name, "valid");
	assert_string_equal(p->desc->version, "0.0.1");
	assert_non_null(p->handle);
	assert_int_equal(p->noptions, 7);
	for (i = 0; i < 7; i++) {
		assert_string_equal(p->options[i].key, want[i].key);
		assert_int_equal(p->options[i].type, want[i].type);
	}
	assert_true(p->options[0].flags & SWEEP_OPT_REQUIRED);
	assert_null(p->options[0].default_value);
	assert_false(p->options[1].flags & SWEEP_OPT_REQUIRED);
	assert_string_equal(p->options[1].default_value, "100");
	assert_string_equal(p->options[1].help, "an integer with a default");
	/* a host copy, not the plugin's table */
	assert_ptr_not_equal(p->options, p->desc->options);
}

static void valid_is_registered_once(void **state)
{
	world *w = *state;
	const loader_plugin *a, *b;

	a = loader_open(w->l, FIX("valid"), w->err, sizeof(w->err));
	b = loader_open(w->l, FIX("valid"), w->err, sizeof(w->err));
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_int_equal(loader_count(w->l), 1);
	assert_ptr_equal(loader_at(w->l, 0), a);
	assert_ptr_equal(loader_find(w->l, "valid"), a);
	assert_null(loader_find(w->l, "other"));
}

static void wrong_abi_major_is_refused(void **state)
{
	char want[128];
	const char *err = refused(*state, FIX("wrong_abi"));

	snprintf(want, sizeof(want), "built for sweepd ABI %d.%d",
	         SWEEP_ABI_MAJOR + 1, SWEEP_ABI_MINOR);
	assert_contains(err, want);
	snprintf(want, sizeof(want), "this sweepd (ABI %d.%d) loads plugins "
	         "built for ABI %d.0 to %d.%d", SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR,
	         SWEEP_ABI_MAJOR, SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR);
	assert_contains(err, want);
	assert_contains(err, "rebuild the plugin against this sweepd's SDK");
}

static void newer_abi_minor_is_refused(void **state)
{
	char want[128];
	const char *err = refused(*state, FIX("newer_minor"));

	snprintf(want, sizeof(want), "built for sweepd ABI %d.%d; this sweepd "
	         "(ABI %d.%d) loads plugins built for ABI %d.0 to %d.%d",
	         SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR + 1, SWEEP_ABI_MAJOR,
	         SWEEP_ABI_MINOR, SWEEP_ABI_MAJOR, SWEEP_ABI_MAJOR,
	         SWEEP_ABI_MINOR);
	assert_contains(err, want);
	assert_contains(err, "upgrade sweepd");
}

static void small_descriptor_is_refused(void **state)
{
	const char *err = refused(*state, FIX("small_desc"));

	assert_contains(err, "descriptor is 8 bytes");
	assert_contains(err, "sizeof(sweep_plugin)");
}

static void bad_magic_is_refused(void **state)
{
	const char *err = refused(*state, FIX("bad_magic"));

	assert_contains(err, "magic is 0xdeadbeef, expected 0x53575044");
}

static void shared_object_without_entry_is_refused(void **state)
{
	const char *err = refused(*state, FIX("no_entry"));

	assert_contains(err, "no 'sweep_plugin_entry' symbol");
}

static void null_run_is_refused(void **state)
{
	const char *err = refused(*state, FIX("null_run"));

	assert_contains(err, "descriptor function 'run' is NULL");
}

static void name_unlike_the_file_is_refused(void **state)
{
	const char *err = refused(*state, FIX("name_mismatch"));

	assert_contains(err, "declares the name 'other'");
	assert_contains(err, "the file is name_mismatch.so");
	assert_contains(err, "rename the file to other.so");
}

static void bad_option_default_is_refused(void **state)
{
	const char *err = refused(*state, FIX("bad_default"));

	assert_contains(err, "default of option 'count' is invalid");
	assert_contains(err, "'abc' is not an integer");
	assert_null(strstr(err, "= abc"));
}

static void option_default_outside_its_range_is_refused(void **state)
{
	const char *err = refused(*state, FIX("bad_range"));

	assert_contains(err, "default of option 'count' is invalid");
	assert_contains(err, "0 is out of range: write 1 to 10");
}

static void range_of_an_undeclared_option_is_refused(void **state)
{
	const char *err = refused(*state, FIX("range_typo"));

	assert_contains(err, "range 0 names 'batch_sise'");
	assert_contains(err, "not a declared option");
}

/* The shipped plugins' ranges reach the host copy, one per option. */
static void declared_ranges_are_copied_by_option(void **state)
{
	world *w = *state;
	const loader_plugin *p;
	size_t i, seen = 0;

	p = loader_open(w->l, SWEEPD_PLUGIN_DIR "/age_delete.so", w->err,
	                sizeof(w->err));
	if (p == NULL)
		fail_msg("age_delete refused: %s", w->err);
	assert_non_null(p->ranges);
	for (i = 0; i < p->noptions; i++) {
		const char *k = p->options[i].key;

		if (strcmp(k, "parallel") == 0) {
			assert_true(p->ranges[i].set);
			assert_true(p->ranges[i].min == 1);
			assert_true(p->ranges[i].max == SWEEP_BATCH_MAX_PARALLEL);
			seen++;
		} else if (strcmp(k, "batch_size") == 0) {
			assert_true(p->ranges[i].min == 1);
			seen++;
		} else if (strcmp(k, "table") == 0) {
			assert_false(p->ranges[i].set);
			seen++;
		}
	}
	assert_int_equal(seen, 3);
}

/* A plugin built against SDK 1.5 has a descriptor that ends before the
 * table of ranges: the host reads none (the fixture's table, beyond its
 * size, would refuse count = 5), and its options take any value. */
static void plugin_built_before_ranges_loads_without_them(void **state)
{
	world *w = *state;
	settings_cli cli = {0};
	settings s;
	diag d = DIAG_INIT;
	jobs *js;
	const job *j;

	tu_write(w->conf, "a.ini", "[job]\nname = old\nplugin = minor5\n\n"
	         "[params]\ncount = 5\nolder_than = 0s\n");
	cli.conf_dir = w->conf;
	cli.plugin_dir = SWEEPD_FIXTURE_DIR;
	assert_int_equal(settings_load(&cli, &s, &d), 0);
	js = jobs_load(&s, w->l, &d);
	assert_non_null(js);
	j = jobs_find(js, "old");
	assert_non_null(j->plugin);
	assert_null(j->plugin->ranges);
	assert_int_equal(d.count, 0);
	/* older_than is not declared an age (SWEEP_OPT_AGE is 1.6): no
	 * warning either */
	assert_int_equal(d.nwarnings, 0);
	assert_non_null(j->params);
	assert_true(params_find(j->params, "count")->num == 5);
	assert_true(params_find(j->params, "older_than")->num == 0);
	jobs_free(js);
	settings_free(&s);
	diag_free(&d);
}

static void text_file_is_refused_as_not_elf(void **state)
{
	const char *err = refused(*state, FIX("not_elf"));

	assert_contains(err, "not an ELF shared object");
}

static void missing_file_is_refused(void **state)
{
	const char *err = refused(*state, FIX("no_such_fixture"));

	assert_contains(err, "cannot open");
}

static void duplicate_plugin_name_is_refused(void **state)
{
	world *w = *state;
	char *first = tu_path(w->conf, "valid.so");
	char *second = tu_path(w->plugins, "valid.so");

	tu_copy(FIX("valid"), w->conf, "valid.so");
	tu_copy(FIX("valid"), w->plugins, "valid.so");
	assert_non_null(loader_open(w->l, first, w->err, sizeof(w->err)));
	assert_null(loader_open(w->l, second, w->err, sizeof(w->err)));
	assert_contains(w->err, second);
	assert_contains(w->err, "duplicate plugin name 'valid'");
	assert_contains(w->err, first);
	assert_int_equal(loader_count(w->l), 1);
	assert_string_equal(loader_find(w->l, "valid")->path, first);
	free(first);
	free(second);
}

/* ---- loader_resolve ---- */

/* Resolves ref with w's two directories; the plugin, or NULL. */
static const loader_plugin *resolve(world *w, const char *ref)
{
	w->err[0] = '\0';
	return loader_resolve(w->l, ref, w->conf, w->plugins, w->err,
	                      sizeof(w->err));
}

/* Checks that ref resolves to dir/file. */
static void resolves_to(world *w, const char *ref, const char *dir,
                        const char *file)
{
	const loader_plugin *p = resolve(w, ref);
	char *want = tu_path(dir, file);

	if (p == NULL)
		fail_msg("'%s' not resolved: %s", ref, w->err);
	assert_string_equal(p->path, want);
	free(want);
}

static void bare_name_found_in_plugin_dir(void **state)
{
	world *w = *state;

	tu_copy(FIX("valid"), w->plugins, "valid.so");
	resolves_to(w, "valid", w->plugins, "valid.so");
}

static void bare_name_found_in_conf_dir(void **state)
{
	world *w = *state;

	tu_copy(FIX("valid"), w->conf, "valid.so");
	resolves_to(w, "valid", w->conf, "valid.so");
}

static void conf_dir_wins_over_plugin_dir(void **state)
{
	world *w = *state;

	tu_copy(FIX("valid"), w->conf, "valid.so");
	tu_copy(FIX("valid"), w->plugins, "valid.so");
	resolves_to(w, "valid", w->conf, "valid.so");
	assert_int_equal(loader_count(w->l), 1);
}

static void name_not_found_lists_both_paths(void **state)
{
	world *w = *state;
	char *a = tu_path(w->conf, "valid.so");
	char *b = tu_path(w->plugins, "valid.so");

	assert_null(resolve(w, "valid"));
	assert_contains(w->err, "plugin 'valid' not found");
	assert_contains(w->err, a);
	assert_contains(w->err, b);
	free(a);
	free(b);
}

static void absolute_path_is_taken_as_is(void **state)
{
	world *w = *state;

	tu_copy(FIX("valid"), w->conf, "valid.so");   /* not looked at */
	resolves_to(w, FIX("valid"), SWEEPD_FIXTURE_DIR, "valid.so");
}

static void relative_path_is_taken_from_conf_dir(void **state)
{
	world *w = *state;
	char *sub = tu_path(w->conf, "lib");

	assert_int_equal(tu_run(NULL, NULL, "mkdir '%s'", sub), 0);
	tu_copy(FIX("valid"), sub, "valid.so");
	resolves_to(w, "lib/valid.so", w->conf, "lib/valid.so");
	free(sub);
}

static void invalid_plugin_name_is_refused(void **state)
{
	world *w = *state;

	assert_null(resolve(w, "Valid Plugin"));
	assert_contains(w->err, "plugin name 'Valid Plugin' is not valid");
}

static void resolve_passes_on_the_refusal(void **state)
{
	world *w = *state;
	char *path = tu_path(w->plugins, "wrong_abi.so");

	tu_copy(FIX("wrong_abi"), w->plugins, "wrong_abi.so");
	assert_null(resolve(w, "wrong_abi"));
	assert_contains(w->err, path);
	assert_contains(w->err, "ABI");
	free(path);
}

/* ---- loader_scan ---- */

/* Whether some formatted problem of d contains both a and b. */
static int has_problem(const diag *d, const char *a, const char *b)
{
	size_t i;
	int found = 0;

	for (i = 0; i < d->count && !found; i++) {
		char *s = diag_format(&d->items[i]);
		found = strstr(s, a) != NULL && strstr(s, b) != NULL;
		free(s);
	}
	return found;
}

static void scan_loads_the_good_and_reports_the_rest(void **state)
{
	world *w = *state;
	diag d = DIAG_INIT;
	char *bad1 = tu_path(w->plugins, "not_elf.so");
	char *bad2 = tu_path(w->plugins, "wrong_abi.so");

	tu_copy(FIX("not_elf"), w->plugins, "not_elf.so");
	tu_copy(FIX("valid"), w->plugins, "valid.so");
	tu_copy(FIX("wrong_abi"), w->plugins, "wrong_abi.so");
	tu_write(w->plugins, "README", "not a plugin, not looked at");
	loader_scan(w->l, w->plugins, &d);
	assert_int_equal(loader_count(w->l), 1);
	assert_string_equal(loader_at(w->l, 0)->desc->name, "valid");
	assert_int_equal(d.count, 2);
	assert_true(has_problem(&d, bad1, "not an ELF"));
	assert_true(has_problem(&d, bad2, "ABI"));
	diag_free(&d);
	free(bad1);
	free(bad2);
}

static void scan_of_missing_dir_is_quiet(void **state)
{
	world *w = *state;
	diag d = DIAG_INIT;
	char *gone = tu_path(w->plugins, "gone");

	loader_scan(w->l, gone, &d);
	assert_int_equal(d.count, 0);
	assert_int_equal(loader_count(w->l), 0);
	free(gone);
}

static void scan_skips_a_name_loaded_from_an_earlier_dir(void **state)
{
	world *w = *state;
	diag d = DIAG_INIT;
	char *first = tu_path(w->conf, "valid.so");

	tu_copy(FIX("valid"), w->conf, "valid.so");
	tu_copy(FIX("valid"), w->plugins, "valid.so");
	loader_scan(w->l, w->conf, &d);
	loader_scan(w->l, w->plugins, &d);
	assert_int_equal(d.count, 0);
	assert_int_equal(loader_count(w->l), 1);
	assert_string_equal(loader_at(w->l, 0)->path, first);
	free(first);
}

/* ---- through jobs ---- */

static void refused_plugin_fails_its_job_only(void **state)
{
	world *w = *state;
	settings_cli cli = {0};
	settings s;
	diag d = DIAG_INIT;
	jobs *js;
	const job *bad, *good;
	char *prefix;
	char *first;

	tu_write(w->conf, "a.ini", "[job]\nname = old-abi\nplugin = wrong_abi\n");
	tu_write(w->conf, "b.ini", "[job]\nname = fine\nplugin = valid\n\n"
	         "[params]\ntable = public.users\n");
	cli.conf_dir = w->conf;
	cli.plugin_dir = SWEEPD_FIXTURE_DIR;
	assert_int_equal(settings_load(&cli, &s, &d), 0);
	js = jobs_load(&s, w->l, &d);
	assert_non_null(js);
	assert_int_equal(jobs_count(js), 2);
	bad = jobs_find(js, "old-abi");
	good = jobs_find(js, "fine");
	assert_true(bad->nerrors > 0);
	assert_null(bad->plugin);
	assert_null(bad->params);
	assert_int_equal(good->nerrors, 0);
	assert_non_null(good->params);
	assert_string_equal(good->plugin->path, FIX("valid"));
	assert_true(params_find(good->params, "limit")->num == 100);
	assert_true(params_find(good->params, "age")->num == 90 * 60 * 1000);
	assert_int_equal(d.count, 1);
	first = diag_format(&d.items[0]);
	prefix = tu_path(w->conf, "a.ini:3: ");
	assert_true(strncmp(first, prefix, strlen(prefix)) == 0);
	assert_contains(first, FIX("wrong_abi"));
	assert_contains(first, "ABI 2.");
	free(first);
	free(prefix);
	jobs_free(js);
	settings_free(&s);
	diag_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(valid_loads_with_its_options_copied),
		T(valid_is_registered_once),
		T(wrong_abi_major_is_refused),
		T(newer_abi_minor_is_refused),
		T(small_descriptor_is_refused),
		T(bad_magic_is_refused),
		T(shared_object_without_entry_is_refused),
		T(null_run_is_refused),
		T(name_unlike_the_file_is_refused),
		T(bad_option_default_is_refused),
		T(option_default_outside_its_range_is_refused),
		T(range_of_an_undeclared_option_is_refused),
		T(declared_ranges_are_copied_by_option),
		T(plugin_built_before_ranges_loads_without_them),
		T(text_file_is_refused_as_not_elf),
		T(missing_file_is_refused),
		T(duplicate_plugin_name_is_refused),
		T(bare_name_found_in_plugin_dir),
		T(bare_name_found_in_conf_dir),
		T(conf_dir_wins_over_plugin_dir),
		T(name_not_found_lists_both_paths),
		T(absolute_path_is_taken_as_is),
		T(relative_path_is_taken_from_conf_dir),
		T(invalid_plugin_name_is_refused),
		T(resolve_passes_on_the_refusal),
		T(scan_loads_the_good_and_reports_the_rest),
		T(scan_of_missing_dir_is_quiet),
		T(scan_skips_a_name_loaded_from_an_earlier_dir),
		T(refused_plugin_fails_its_job_only),
	};

	unsetenv("SWEEPD_LOG_LEVEL");
	unsetenv("SWEEPD_LOG_FORMAT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
