/* Configuration tests: job files and sweepd.ini read through conf_parse,
 * settings_load and jobs_load from scratch directories, with the real
 * age_delete plugin.  Every problem must come as FILE:LINE: message, and
 * one broken job file must never keep the others from loading. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "diag.h"
#include "jobs.h"
#include "loader.h"
#include "params.h"
#include "settings.h"

#define MS_D (24LL * 60 * 60 * 1000)

/* A scratch configuration directory and what was loaded from it. */
typedef struct world {
	char *dir;
	settings s;
	loader *l;
	jobs *js;
	diag d;
	int settings_rc;
} world;

static int world_setup(void **state)
{
	world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->dir = tu_tempdir();
	w->l = loader_new();
	assert_non_null(w->l);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	world *w = *state;

	jobs_free(w->js);
	loader_free(w->l);
	settings_free(&w->s);
	diag_free(&w->d);
	tu_rmtree(w->dir);
	free(w->dir);
	free(w);
	return 0;
}

/* Loads settings and jobs of conf_dir with the build's plugin dir. */
static void load_dir(world *w, const char *conf_dir)
{
	settings_cli cli = {0};

	cli.conf_dir = conf_dir;
	cli.plugin_dir = SWEEPD_PLUGIN_DIR;
	w->settings_rc = settings_load(&cli, &w->s, &w->d);
	w->js = jobs_load(&w->s, w->l, &w->d);
	assert_non_null(w->js);
}

static void load(world *w)
{
	load_dir(w, w->dir);
}

/* Every problem as "FILE:LINE: message", one per line (for failures). */
static char *problems(const diag *d)
{
	buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < d->count; i++) {
		char *s = diag_format(&d->items[i]);
		buf_printf(&b, "  %s\n", s ? s : "(oom)");
		free(s);
	}
	buf_puts(&b, "");
	return buf_detach(&b);
}

/* Fails, listing every problem, unless there are exactly n. */
static void expect_nproblems(const world *w, size_t n)
{
	if (w->d.count != n) {
		char *all = problems(&w->d);
		fail_msg("expected %zu problem(s), got %zu:\n%s", n,
		         w->d.count, all);
	}
}

/* Checks that some problem reads "DIR/FILE:LINE: ...needle...". */
static void expect_problem(const world *w, const char *file, int line,
                           const char *needle)
{
	buf b = BUF_INIT;
	size_t i;
	int found = 0;

	buf_printf(&b, "%s/%s:%d: ", w->dir, file, line);
	for (i = 0; i < w->d.count && !found; i++) {
		char *s = diag_format(&w->d.items[i]);
		assert_non_null(s);
		found = strncmp(s, buf_str(&b), b.len) == 0 &&
		        strstr(s + b.len, needle) != NULL;
		free(s);
	}
	if (!found) {
		char *all = problems(&w->d);
		fail_msg("no problem \"%s...%s\" among:\n%s", buf_str(&b),
		         needle, all);
	}
	buf_free(&b);
}

/* Checks that some warning reads "DIR/FILE:LINE: warning: ...needle...",
 * and that there are n warnings in all. */
static void expect_warning(const world *w, size_t n, const char *file,
                           int line, const char *needle)
{
	buf b = BUF_INIT;
	size_t i;
	int found = 0;

	buf_printf(&b, "%s/%s:%d: warning: ", w->dir, file, line);
	for (i = 0; i < w->d.nwarnings && !found; i++) {
		char *s = diag_format(&w->d.warnings[i]);
		assert_non_null(s);
		found = strncmp(s, buf_str(&b), b.len) == 0 &&
		        strstr(s + b.len, needle) != NULL;
		free(s);
	}
	if (!found)
		fail_msg("no warning \"%s...%s\" among %zu", buf_str(&b),
		         needle, w->d.nwarnings);
	assert_int_equal(w->d.nwarnings, n);
	buf_free(&b);
}

/* A job file running plugin with the given [params] body: its first
 * parameter is on line 7. */
static void write_job(world *w, const char *file, const char *plugin,
                      const char *params)
{
	buf b = BUF_INIT;

	buf_printf(&b, "[job]\nname = %.*s\nplugin = %s\n\n\n[params]\n%s",
	           (int)(strlen(file) - 4), file, plugin, params);
	tu_write(w->dir, file, buf_str(&b));
	buf_free(&b);
}

/* A job file running age_delete with the given [params] body. */
static void write_age_job(world *w, const char *file, const char *name,
                          const char *params)
{
	buf b = BUF_INIT;

	buf_printf(&b, "[job]\nname = %s\nplugin = age_delete\n"
	           "schedule = 0 3 * * *\n\n[params]\n%s", name, params);
	tu_write(w->dir, file, buf_str(&b));
	buf_free(&b);
}

#define GOOD_PARAMS                                                         \
	"table = users\ntime_column = created_at\nolder_than = 30d\n"

/* The one loaded job, checked to be from file. */
static const job *only_job(const world *w, const char *file)
{
	char *path = tu_path(w->dir, file);
	const job *j;

	assert_int_equal(jobs_count(w->js), 1);
	j = jobs_at(w->js, 0);
	assert_string_equal(j->file, path);
	free(path);
	return j;
}

/* ---- good files ---- */

static void shipped_examples_load_without_problems(void **state)
{
	world *w = *state;
	size_t i;

	load_dir(w, SWEEPD_SOURCE_DIR "/conf.d");
	expect_nproblems(w, 0);
	assert_int_equal(w->settings_rc, 0);
	assert_true(jobs_count(w->js) >= 2);
	for (i = 0; i < jobs_count(w->js); i++) {
		assert_int_equal(jobs_at(w->js, i)->nerrors, 0);
		assert_non_null(jobs_at(w->js, i)->plugin);
		assert_non_null(jobs_at(w->js, i)->params);
	}
}

static void shipped_cleanup_job_has_its_fields(void **state)
{
	world *w = *state;
	const job *j;
	const param_value *v;

	load_dir(w, SWEEPD_SOURCE_DIR "/conf.d");
	j = jobs_find(w->js, "cleanup-unverified-users");
	assert_non_null(j);
	assert_string_equal(j->plugin_ref, "age_delete");
	assert_string_equal(j->plugin->desc->name, "age_delete");
	assert_string_equal(j->plugin->path,
	                    SWEEPD_PLUGIN_DIR "/age_delete.so");
	assert_string_equal(j->schedule, "0 3 * * *");
	assert_string_equal(j->timezone, "UTC");
	assert_true(j->timeout_ms == 15 * 60 * 1000);
	assert_true(j->enabled);
	v = params_find(j->params, "older_than");
	assert_true(v->set && v->num == 30 * MS_D);
	v = params_find(j->params, "audit_columns");
	assert_int_equal(v->nitems, 2);
	assert_string_equal(v->items[0], "id");
	assert_string_equal(v->items[1], "email");
	v = params_find(j->params, "where");
	assert_string_equal(v->text, "email_verified = false");
	assert_false(params_find(j->params, "max_rows")->set);
}

static void batch_size_defaults_to_5000(void **state)
{
	world *w = *state;
	const param_value *v;

	load_dir(w, SWEEPD_SOURCE_DIR "/conf.d");
	v = params_find(jobs_find(w->js, "message-cleanup")->params,
	                "batch_size");
	assert_true(v->set);
	assert_int_equal(v->line, 0);   /* from the default, not the file */
	assert_true(v->num == 5000);
	v = params_find(jobs_find(w->js, "cleanup-unverified-users")->params,
	                "batch_size");
	assert_true(v->line > 0 && v->num == 5000);
}

static void job_defaults_apply_when_keys_are_absent(void **state)
{
	world *w = *state;
	const job *j;

	tu_write(w->dir, "bare.ini", "[job]\nplugin = age_delete\n\n"
	         "[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 0);
	j = only_job(w, "bare.ini");
	assert_string_equal(j->name, "bare");   /* file name without .ini */
	assert_null(j->schedule);
	assert_string_equal(j->timezone, "UTC");
	assert_true(j->timeout_ms == JOBS_DEFAULT_TIMEOUT_MS);
	assert_true(j->enabled);
	assert_int_equal(j->line, 1);
}

static void continuation_line_joins_the_value(void **state)
{
	world *w = *state;
	const job *j;

	write_age_job(w, "job.ini", "cont", GOOD_PARAMS
	              "where = email_verified = false\n"
	              "    AND created_at IS NOT NULL\n"
	              "\tAND id > 0\n");
	load(w);
	expect_nproblems(w, 0);
	j = only_job(w, "job.ini");
	assert_string_equal(params_find(j->params, "where")->text,
	                    "email_verified = false AND created_at IS NOT "
	                    "NULL AND id > 0");
	assert_int_equal(params_find(j->params, "where")->line, 10);
}

static void conf_parse_records_sections_entries_and_lines(void **state)
{
	world *w = *state;
	diag d = DIAG_INIT;
	char *path = tu_path(w->dir, "x.ini");
	conf_file *f;
	const conf_section *s;

	tu_write(w->dir, "x.ini", "; comment\n\n[a]\nk = v ; inline\n"
	         "# another\n[b]\nx: y\n");
	f = conf_parse(path, false, &d);
	assert_non_null(f);
	assert_int_equal(d.count, 0);
	assert_int_equal(f->count, 2);
	s = conf_section_find(f, "a");
	assert_int_equal(s->line, 3);
	assert_string_equal(conf_entry_find(s, "k")->value, "v");
	assert_int_equal(conf_entry_find(s, "k")->line, 4);
	assert_string_equal(conf_entry_find(conf_section_find(f, "b"), "x")
	                    ->value, "y");
	assert_null(conf_entry_find(s, "x"));
	assert_null(conf_section_find(f, "c"));
	conf_free(f);
	free(path);
}

static void unreadable_file_is_reported_with_its_name(void **state)
{
	world *w = *state;
	diag d = DIAG_INIT;
	char *path = tu_path(w->dir, "missing.ini");
	char *s;

	assert_null(conf_parse(path, false, &d));
	assert_int_equal(d.count, 1);
	s = diag_format(&d.items[0]);
	assert_contains(s, path);
	assert_contains(s, "cannot read");
	free(s);
	diag_free(&d);
	free(path);
}

/* ---- [params] problems ---- */

static void unknown_param_suggests_the_declared_one(void **state)
{
	world *w = *state;
	const job *j;

	write_age_job(w, "job.ini", "typo", "table = users\n"
	              "time_colum = created_at\nolder_than = 30d\n");
	load(w);
	expect_problem(w, "job.ini", 8, "plugin age_delete has no parameter "
	               "'time_colum'; did you mean 'time_column'?");
	j = only_job(w, "job.ini");
	assert_true(j->nerrors > 0);
	assert_null(j->params);
	assert_non_null(j->plugin);
}

static void unknown_param_far_from_all_lists_them(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "far", GOOD_PARAMS "zzz = 1\n");
	load(w);
	expect_problem(w, "job.ini", 10, "has no parameter 'zzz'; known: "
	               "table, time_column, older_than, where");
}

static void missing_required_param_is_named_at_params(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "missing", "table = users\n"
	              "older_than = 30d\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 6, "missing required parameter "
	               "'time_column'");
	expect_problem(w, "job.ini", 6, "add 'time_column = ...' under "
	               "[params]");
}

static void missing_params_section_is_reported_at_job(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "\n[job]\nplugin = age_delete\n");
	load(w);
	expect_nproblems(w, 3);
	expect_problem(w, "job.ini", 2, "missing required parameter 'table'");
	expect_problem(w, "job.ini", 2, "'older_than'");
}

static void int_param_refuses_text(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "int", GOOD_PARAMS "batch_size = lots\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 10, "batch_size (integer): 'lots' is not "
	               "an integer");
}

static void duration_param_without_unit_suggests_one(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "dur", "table = users\n"
	              "time_column = created_at\nolder_than = 30\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 9, "older_than (duration): bad duration "
	               "'30': '30' needs a unit");
	expect_problem(w, "job.ini", 9, "e.g. 30s or 30d");
}

#define SQL_PARAMS "statement = SELECT 1\n"
#define MATCH_PARAMS "table = a\nkey_column = k\nref_table = b\n" \
	"ref_column = k\n"
#define CASCADE_PARAMS "table = a\nkey_column = k\nwhere = true\n"
#define ANON_PARAMS "table = a\ntime_column = t\nolder_than = 1y\n"
#define ORPHAN_PARAMS "directory = /srv/uploads\nolder_than = 30d\n" \
	"references = a.path\n"

/* Every value out of the range its plugin declares is reported at its
 * line by --check, with the values allowed: before, each passed --check
 * and failed every run in init, or (lock_timeout) in every batch. */
static void integers_out_of_their_range_are_reported_at_their_line(
	void **state)
{
	world *w = *state;

	write_job(w, "a1.ini", "age_delete", GOOD_PARAMS "batch_size = 0\n");
	write_job(w, "a2.ini", "age_delete", GOOD_PARAMS "batch_size = -1\n");
	write_job(w, "a3.ini", "age_delete", GOOD_PARAMS "max_rows = -1\n");
	write_job(w, "a4.ini", "age_delete", GOOD_PARAMS "parallel = 0\n");
	write_job(w, "a5.ini", "age_delete", GOOD_PARAMS
	          "parallel = 100000\n");
	write_job(w, "a6.ini", "age_delete", GOOD_PARAMS
	          "lock_timeout = 30d\n");
	write_job(w, "m1.ini", "match_delete", MATCH_PARAMS "parallel = 17\n");
	write_job(w, "m2.ini", "match_delete", MATCH_PARAMS
	          "batch_size = 0\n");
	write_job(w, "c1.ini", "cascade_delete", CASCADE_PARAMS
	          "max_rows = -3\n");
	write_job(w, "c2.ini", "cascade_delete", CASCADE_PARAMS
	          "statement_timeout = 25d\n");
	write_job(w, "n1.ini", "anonymize", ANON_PARAMS "batch_size = 0\n");
	write_job(w, "o1.ini", "orphan_files", ORPHAN_PARAMS
	          "batch_size = -500\n");
	write_job(w, "s1.ini", "sql", SQL_PARAMS "log_rows = -1\n");
	write_job(w, "s2.ini", "sql", SQL_PARAMS "max_repeats = -1\n");
	write_job(w, "s3.ini", "sql", SQL_PARAMS "batch_size = 0\n");
	load(w);
	expect_nproblems(w, 15);
	expect_problem(w, "a1.ini", 10, "batch_size (integer): 0 is too "
	               "small: write at least 1");
	expect_problem(w, "a2.ini", 10, "batch_size (integer): -1 is too "
	               "small: write at least 1");
	expect_problem(w, "a3.ini", 10, "max_rows (integer): -1 is too small: "
	               "write at least 0");
	expect_problem(w, "a4.ini", 10, "parallel (integer): 0 is out of "
	               "range: write 1 to 16");
	expect_problem(w, "a5.ini", 10, "parallel (integer): 100000 is out of "
	               "range: write 1 to 16");
	expect_problem(w, "a6.ini", 10, "lock_timeout (duration): 30d is out "
	               "of range: write 0s to 24d20h31m23s647ms");
	expect_problem(w, "m1.ini", 11, "parallel (integer): 17 is out of "
	               "range: write 1 to 16");
	expect_problem(w, "m2.ini", 11, "batch_size (integer): 0 is too small");
	expect_problem(w, "c1.ini", 10, "max_rows (integer): -3 is too small");
	expect_problem(w, "c2.ini", 10, "statement_timeout (duration): 25d is "
	               "out of range");
	expect_problem(w, "n1.ini", 10, "batch_size (integer): 0 is too small");
	expect_problem(w, "o1.ini", 10, "batch_size (integer): -500 is too "
	               "small");
	expect_problem(w, "s1.ini", 8, "log_rows (integer): -1 is too small: "
	               "write at least 0");
	expect_problem(w, "s2.ini", 8, "max_repeats (integer): -1 is too "
	               "small");
	expect_problem(w, "s3.ini", 8, "batch_size (integer): 0 is too small");
	assert_null(jobs_find(w->js, "a1")->params);
}

static void integers_at_the_ends_of_their_range_are_taken(void **state)
{
	world *w = *state;
	const job *j;

	write_job(w, "a.ini", "age_delete", GOOD_PARAMS "batch_size = 1\n"
	          "max_rows = 0\nparallel = 16\nlock_timeout = 24d\n"
	          "statement_timeout = 0s\n");
	write_job(w, "s.ini", "sql", SQL_PARAMS "log_rows = 0\n"
	          "max_repeats = 0\nbatch_size = 9223372036854775807\n");
	load(w);
	expect_nproblems(w, 0);
	j = jobs_find(w->js, "a");
	assert_true(params_find(j->params, "parallel")->num == 16);
	assert_true(params_find(j->params, "batch_size")->num == 1);
	assert_non_null(jobs_find(w->js, "s")->params);
}

/* An age of 0 deletes every row: legal, but far more often a slip than
 * meant, so it is a warning, and the job still loads. */
static void age_of_zero_is_a_warning_not_a_problem(void **state)
{
	world *w = *state;
	const job *j;

	write_age_job(w, "job.ini", "zero", "table = users\n"
	              "time_column = created_at\nolder_than = 0s\n");
	write_job(w, "orphans.ini", "orphan_files", "directory = /srv/up\n"
	          "references = a.path\nolder_than = 0\n");
	write_job(w, "timeout.ini", "age_delete", GOOD_PARAMS
	          "lock_timeout = 0s\n");
	load(w);
	expect_nproblems(w, 0);
	expect_warning(w, 2, "job.ini", 9, "older_than = 0s: everything goes "
	               "once its time has passed");
	expect_warning(w, 2, "orphans.ini", 9, "older_than = 0: everything goes");
	j = jobs_find(w->js, "zero");
	assert_int_equal(j->nerrors, 0);
	assert_non_null(j->params);
}

/* A schedule that parses but matches no date is a warning at its line;
 * the job loads and runs when asked. */
static void schedule_that_never_fires_is_a_warning(void **state)
{
	world *w = *state;
	const job *j;

	tu_write(w->dir, "feb.ini", "[job]\nplugin = age_delete\n"
	         "schedule = 0 0 30 2 *\n\n[params]\n" GOOD_PARAMS);
	tu_write(w->dir, "leap.ini", "[job]\nplugin = age_delete\n"
	         "schedule = 0 0 29 2 *\n\n[params]\n" GOOD_PARAMS);
	tu_write(w->dir, "apr.ini", "[job]\nplugin = age_delete\n"
	         "schedule = 0 0 31 4 *\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 0);
	expect_warning(w, 2, "feb.ini", 3, "schedule '0 0 30 2 *' never fires");
	expect_warning(w, 2, "apr.ini", 3, "schedule '0 0 31 4 *' never fires");
	j = jobs_find(w->js, "feb");
	assert_int_equal(j->nerrors, 0);
	assert_non_null(j->params);
	assert_true(jobs_next(j, 0) == 0);
}

static void where_with_second_statement_is_refused(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "inject", GOOD_PARAMS
	              "where = x = 1; DROP TABLE users\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 10, "where (sql-condition): condition "
	               "contains ';'");
	assert_null(only_job(w, "job.ini")->params);
}

static void bad_identifier_param_is_refused(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "ident", "table = a.b.c.d\n"
	              "time_column = created_at\nolder_than = 1d\n");
	load(w);
	expect_problem(w, "job.ini", 7, "table (identifier): name 'a.b.c.d' "
	               "has more than 3");
}

/* A table name in Latin-1 in a UTF-8 file passed --check and failed every
 * run with "out of memory" (quoting it failed). */
static void identifier_not_utf8_is_refused_at_its_line(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "latin1", "table = caf\xe9\n"
	              "time_column = created_at\nolder_than = 1d\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 7, "table (identifier): name is not valid "
	               "UTF-8 (byte 4 is not)");
}

/* ---- [job] problems ---- */

static void unknown_job_key_suggests_the_known_one(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "schedul = 0 3 * * *\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 3, "[job] has no key 'schedul'; did "
	               "you mean 'schedule'?");
}

static void job_without_plugin_is_reported_at_job(void **state)
{
	world *w = *state;
	const job *j;

	tu_write(w->dir, "job.ini", "; no plugin\n[job]\nname = lonely\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 2, "[job] lacks 'plugin = NAME'");
	j = only_job(w, "job.ini");
	assert_null(j->plugin);
	assert_null(j->plugin_ref);
	assert_int_equal(j->nerrors, 1);
}

static void plugin_not_found_lists_both_places(void **state)
{
	world *w = *state;
	buf in_conf = BUF_INIT;

	tu_write(w->dir, "job.ini", "[job]\nname = lost\nplugin = nosuch\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 3, "plugin 'nosuch' not found");
	buf_printf(&in_conf, "looked for %s/nosuch.so and", w->dir);
	expect_problem(w, "job.ini", 3, buf_str(&in_conf));
	expect_problem(w, "job.ini", 3, SWEEPD_PLUGIN_DIR "/nosuch.so");
	assert_null(only_job(w, "job.ini")->plugin);
	buf_free(&in_conf);
}

static void bad_timezone_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "timezone = Mars/Olympus_Mons\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 3, "unknown time zone 'Mars/Olympus_Mons'");
}

static void timezone_path_tricks_are_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "timezone = ../../../etc/passwd\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_problem(w, "job.ini", 3, "unknown time zone");
}

static void zoneinfo_data_files_are_not_zones(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "timezone = zone.tab\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_problem(w, "job.ini", 3, "unknown time zone 'zone.tab'");
}

static void iana_zone_is_accepted(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "timezone = Europe/Berlin\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 0);
}

static void bad_enabled_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "timeout = 10m\nenabled = maybe\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 4, "enabled: 'maybe' is not a boolean");
}

static void disabled_job_loads_disabled(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "enabled = no\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 0);
	assert_false(only_job(w, "job.ini")->enabled);
}

static void bad_timeout_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n"
	         "timeout = 15\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 3, "timeout: bad duration '15'");
}

static void bad_job_name_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nname = my job!\n"
	         "plugin = age_delete\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 2, "job name 'my job!' may hold only");
}

static void sweepd_section_in_a_job_file_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n\n[params]\n"
	         GOOD_PARAMS "\n[sweepd]\ndsn = x\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 9, "unknown section [sweepd]; a job file "
	               "holds [job] and [params] (host settings go in "
	               "sweepd.ini)");
}

static void file_without_job_section_is_reported(void **state)
{
	world *w = *state;

	tu_write(w->dir, "notes.ini", "[params]\ntable = users\n");
	load(w);
	expect_problem(w, "notes.ini", 1, "no [job] section");
	assert_string_equal(only_job(w, "notes.ini")->name, "notes");
}

/* ---- file syntax problems ---- */

static void duplicate_key_names_both_lines(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nname = first\nplugin = age_delete\n"
	         "name = second\n\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 4, "'name' is set twice in [job] (first "
	               "on line 2)");
	assert_string_equal(only_job(w, "job.ini")->name, "first");
}

static void duplicate_section_names_both_lines(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "[job]\nplugin = age_delete\n\n[params]\n"
	         "table = users\n[params]\ntime_column = created_at\n"
	         "older_than = 30d\n");
	load(w);
	expect_problem(w, "job.ini", 6, "section [params] appears twice "
	               "(first on line 4)");
}

static void line_without_equals_is_reported(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "noeq", GOOD_PARAMS "just some words\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 10, "expected 'key = value', a [section] "
	               "or a comment, got 'just some words'");
}

static void every_bad_line_is_reported(void **state)
{
	world *w = *state;

	write_age_job(w, "job.ini", "noeq", "oops one\n" GOOD_PARAMS
	              "oops two\n[unclosed\n");
	load(w);
	expect_nproblems(w, 3);
	expect_problem(w, "job.ini", 7, "got 'oops one'");
	expect_problem(w, "job.ini", 11, "got 'oops two'");
	expect_problem(w, "job.ini", 12, "lacks its closing ']'");
}

static void key_outside_any_section_is_reported(void **state)
{
	world *w = *state;

	tu_write(w->dir, "job.ini", "stray = 1\n[job]\nplugin = age_delete\n"
	         "\n[params]\n" GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 1, "'stray' is outside any section");
}

/* A job file whose `where` line (line 10) is exactly len characters. */
static void write_where_line(world *w, size_t len)
{
	buf b = BUF_INIT;
	const char *head = "where = note <> '";
	size_t fill = len - strlen(head) - 1;

	buf_puts(&b, GOOD_PARAMS);
	buf_puts(&b, head);
	while (fill-- > 0)
		buf_puts(&b, "a");
	buf_puts(&b, "'\n");
	assert_int_equal(b.len, strlen(GOOD_PARAMS) + len + 1);
	write_age_job(w, "job.ini", "long", buf_str(&b));
	buf_free(&b);
	tu_write(w->dir, "z.ini", "[job]\nname = after\nplugin = age_delete\n"
	         "\n[params]\n" GOOD_PARAMS);
}

static void line_over_198_characters_is_reported(void **state)
{
	world *w = *state;

	write_where_line(w, 199);
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "job.ini", 10, "line is longer than 198 characters; "
	               "continue a long value on indented lines");
	/* the rest of the long line is not read as a line of its own */
	assert_null(params_find(jobs_find(w->js, "long")->params, "where")
	            ->text);
	assert_int_equal(jobs_find(w->js, "after")->nerrors, 0);
}

static void line_of_198_characters_is_read(void **state)
{
	world *w = *state;
	const param_value *v;

	write_where_line(w, 198);
	load(w);
	expect_nproblems(w, 0);
	v = params_find(jobs_find(w->js, "long")->params, "where");
	assert_int_equal(strlen(v->text), 198 - strlen("where = "));
}

/* ---- several files ---- */

static void duplicate_job_names_across_files(void **state)
{
	world *w = *state;
	buf first = BUF_INIT;

	write_age_job(w, "a.ini", "same", GOOD_PARAMS);
	write_age_job(w, "b.ini", "same", GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 1);
	buf_printf(&first, "job name 'same' is already used by %s/a.ini",
	           w->dir);
	expect_problem(w, "b.ini", 1, buf_str(&first));
	assert_string_equal(only_job(w, "a.ini")->name, "same");
	buf_free(&first);
}

static void one_broken_job_never_stops_the_others(void **state)
{
	world *w = *state;
	const job *a, *b, *c;

	write_age_job(w, "a.ini", "good-a", GOOD_PARAMS);
	write_age_job(w, "b.ini", "broken-b", "table = users\n"
	              "time_colum = created_at\nolder_than = soon\n");
	write_age_job(w, "c.ini", "good-c", GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 3);
	assert_int_equal(jobs_count(w->js), 3);
	a = jobs_at(w->js, 0);
	b = jobs_at(w->js, 1);
	c = jobs_at(w->js, 2);
	assert_string_equal(a->name, "good-a");
	assert_int_equal(a->nerrors, 0);
	assert_non_null(a->params);
	assert_string_equal(b->name, "broken-b");
	assert_int_equal(b->nerrors, 3);
	assert_null(b->params);
	assert_string_equal(c->name, "good-c");
	assert_int_equal(c->nerrors, 0);
	assert_non_null(c->params);
	assert_ptr_equal(a->plugin, c->plugin);   /* loaded once */
}

static void unparsable_job_file_never_stops_the_others(void **state)
{
	world *w = *state;

	tu_write(w->dir, "a.ini", "\x01\x02 binary junk\n[[[\n= =\n");
	write_age_job(w, "b.ini", "good-b", GOOD_PARAMS);
	load(w);
	assert_true(w->d.count > 0);
	assert_int_equal(jobs_find(w->js, "good-b")->nerrors, 0);
	assert_non_null(jobs_find(w->js, "good-b")->params);
}

static void job_files_are_read_in_lexical_order(void **state)
{
	world *w = *state;
	const char *names[] = {"b.ini", "a.ini", "C.ini", "a0.ini"};
	const char *want[] = {"C.ini", "a.ini", "a0.ini", "b.ini"};
	size_t i;

	for (i = 0; i < 4; i++) {
		buf name = BUF_INIT;
		buf_printf(&name, "job-%zu", i);
		write_age_job(w, names[i], buf_str(&name), GOOD_PARAMS);
		buf_free(&name);
	}
	tu_write(w->dir, "readme.txt", "not a job");
	tu_write(w->dir, ".hidden.ini", "[job]\n");
	load(w);
	expect_nproblems(w, 0);
	assert_int_equal(jobs_count(w->js), 4);
	for (i = 0; i < 4; i++) {
		char *path = tu_path(w->dir, want[i]);
		assert_string_equal(jobs_at(w->js, i)->file, path);
		free(path);
	}
}

static void sweepd_ini_is_not_a_job(void **state)
{
	world *w = *state;

	tu_write(w->dir, "sweepd.ini", "[sweepd]\nlog_level = debug\n");
	write_age_job(w, "job.ini", "only", GOOD_PARAMS);
	load(w);
	expect_nproblems(w, 0);
	only_job(w, "job.ini");
	assert_int_equal(w->s.log_level, SWEEP_LOG_DEBUG);
}

static void missing_conf_dir_is_reported(void **state)
{
	world *w = *state;
	settings_cli cli = {0};
	char *gone = tu_path(w->dir, "gone");
	char *s;

	cli.conf_dir = gone;
	cli.plugin_dir = SWEEPD_PLUGIN_DIR;
	assert_int_equal(settings_load(&cli, &w->s, &w->d), -1);
	assert_int_equal(w->d.count, 1);
	s = diag_format(&w->d.items[0]);
	assert_contains(s, gone);
	assert_contains(s, "no such configuration directory");
	/* It says how sweepd chose it and how to choose another. */
	assert_contains(s, "--conf-dir DIR, else $SWEEPD_CONF_DIR, else ");
	assert_contains(s, settings_default_conf_dir());
	free(s);
	free(gone);
}

/* ---- sweepd.ini ---- */

static void unknown_setting_suggests_the_known_one(void **state)
{
	world *w = *state;

	tu_write(w->dir, "sweepd.ini", "[sweepd]\nlog_format = json\n"
	         "dns = host=db\n");
	load(w);
	assert_int_equal(w->settings_rc, -1);
	expect_nproblems(w, 1);
	expect_problem(w, "sweepd.ini", 3, "[sweepd] has no setting 'dns'; did you "
	               "mean 'dsn'?");
	assert_int_equal(w->s.log_format, LOG_FORMAT_JSON);
}

static void bad_log_level_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "sweepd.ini", "[sweepd]\n\nlog_level = loud\n");
	load(w);
	assert_int_equal(w->settings_rc, -1);
	expect_nproblems(w, 1);
	expect_problem(w, "sweepd.ini", 3, "bad log level 'loud': use debug, "
	               "info, warn or error");
}

static void bad_log_format_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "sweepd.ini", "[sweepd]\nlog_format = xml\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "sweepd.ini", 2, "bad log format 'xml'");
}

static void job_section_in_sweepd_ini_is_refused(void **state)
{
	world *w = *state;

	tu_write(w->dir, "sweepd.ini", "[sweepd]\n\n[job]\nplugin = x\n");
	load(w);
	expect_nproblems(w, 1);
	expect_problem(w, "sweepd.ini", 3, "section [job] does not belong in "
	               "sweepd.ini");
}

static void relative_plugin_dir_is_taken_from_conf_dir(void **state)
{
	world *w = *state;
	settings_cli cli = {0};
	char *want = tu_path(w->dir, "lib/plugins");

	tu_write(w->dir, "sweepd.ini", "[sweepd]\nplugin_dir = lib/plugins\n");
	cli.conf_dir = w->dir;
	assert_int_equal(settings_load(&cli, &w->s, &w->d), 0);
	assert_string_equal(w->s.plugin_dir, want);
	free(want);
}

/* The DSN variables, in the order settings_load reads them, and their
 * values as the tests found them, put back after each test that changes
 * them. */
static const char *const dsn_vars[2] = {"SWEEPD_DSN", "DATABASE_URL"};
static char *saved_dsn_vars[2];

static int env_setup(void **state)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *v = getenv(dsn_vars[i]);
		if (v)
			assert_non_null(saved_dsn_vars[i] = strdup(v));
	}
	return world_setup(state);
}

static int env_teardown(void **state)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		if (saved_dsn_vars[i])
			setenv(dsn_vars[i], saved_dsn_vars[i], 1);
		else
			unsetenv(dsn_vars[i]);
		free(saved_dsn_vars[i]);
		saved_dsn_vars[i] = NULL;
	}
	return world_teardown(state);
}

/* Sets the DSN variable name to value, or unsets it (NULL). */
static void dsn_var(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

/* The DSN settings_load picks with cli_dsn, SWEEPD_DSN sweepd_env and
 * DATABASE_URL url_env (NULL: unset). */
static char *dsn_with(world *w, const char *cli_dsn, const char *sweepd_env,
                      const char *url_env)
{
	settings_cli cli = {0};
	settings s;
	diag d = DIAG_INIT;
	char *dsn;

	dsn_var("SWEEPD_DSN", sweepd_env);
	dsn_var("DATABASE_URL", url_env);
	cli.conf_dir = w->dir;
	cli.plugin_dir = SWEEPD_PLUGIN_DIR;
	cli.dsn = cli_dsn;
	assert_int_equal(settings_load(&cli, &s, &d), 0);
	assert_int_equal(d.count, 0);
	dsn = strdup(s.dsn);
	settings_free(&s);
	assert_non_null(dsn);
	return dsn;
}

static void dsn_command_line_beats_env_beats_file(void **state)
{
	world *w = *state;
	char *dsn;

	tu_write(w->dir, "sweepd.ini", "[sweepd]\ndsn = host=from-file\n");
	dsn = dsn_with(w, "host=from-cli", "host=from-sweepd-dsn",
	               "host=from-env");
	assert_string_equal(dsn, "host=from-cli");
	free(dsn);
	dsn = dsn_with(w, NULL, "host=from-sweepd-dsn", "host=from-env");
	assert_string_equal(dsn, "host=from-sweepd-dsn");
	free(dsn);
	dsn = dsn_with(w, NULL, NULL, "host=from-env");
	assert_string_equal(dsn, "host=from-env");
	free(dsn);
	dsn = dsn_with(w, NULL, "", "host=from-env"); /* empty: as if unset */
	assert_string_equal(dsn, "host=from-env");
	free(dsn);
	dsn = dsn_with(w, NULL, NULL, NULL);
	assert_string_equal(dsn, "host=from-file");
	free(dsn);
	dsn = dsn_with(w, NULL, NULL, "");
	assert_string_equal(dsn, "host=from-file");
	free(dsn);
}

static void dsn_is_empty_when_given_nowhere(void **state)
{
	world *w = *state;
	char *dsn;

	dsn = dsn_with(w, NULL, NULL, NULL);
	assert_string_equal(dsn, "");
	free(dsn);
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
#define T_ENV(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(shipped_examples_load_without_problems),
		T(shipped_cleanup_job_has_its_fields),
		T(batch_size_defaults_to_5000),
		T(job_defaults_apply_when_keys_are_absent),
		T(continuation_line_joins_the_value),
		T(conf_parse_records_sections_entries_and_lines),
		T(unreadable_file_is_reported_with_its_name),
		T(unknown_param_suggests_the_declared_one),
		T(unknown_param_far_from_all_lists_them),
		T(missing_required_param_is_named_at_params),
		T(missing_params_section_is_reported_at_job),
		T(int_param_refuses_text),
		T(duration_param_without_unit_suggests_one),
		T(integers_out_of_their_range_are_reported_at_their_line),
		T(integers_at_the_ends_of_their_range_are_taken),
		T(age_of_zero_is_a_warning_not_a_problem),
		T(schedule_that_never_fires_is_a_warning),
		T(where_with_second_statement_is_refused),
		T(bad_identifier_param_is_refused),
		T(identifier_not_utf8_is_refused_at_its_line),
		T(unknown_job_key_suggests_the_known_one),
		T(job_without_plugin_is_reported_at_job),
		T(plugin_not_found_lists_both_places),
		T(bad_timezone_is_refused),
		T(timezone_path_tricks_are_refused),
		T(zoneinfo_data_files_are_not_zones),
		T(iana_zone_is_accepted),
		T(bad_enabled_is_refused),
		T(disabled_job_loads_disabled),
		T(bad_timeout_is_refused),
		T(bad_job_name_is_refused),
		T(sweepd_section_in_a_job_file_is_refused),
		T(file_without_job_section_is_reported),
		T(duplicate_key_names_both_lines),
		T(duplicate_section_names_both_lines),
		T(line_without_equals_is_reported),
		T(every_bad_line_is_reported),
		T(key_outside_any_section_is_reported),
		T(line_over_198_characters_is_reported),
		T(line_of_198_characters_is_read),
		T(duplicate_job_names_across_files),
		T(one_broken_job_never_stops_the_others),
		T(unparsable_job_file_never_stops_the_others),
		T(job_files_are_read_in_lexical_order),
		T(sweepd_ini_is_not_a_job),
		T(missing_conf_dir_is_reported),
		T(unknown_setting_suggests_the_known_one),
		T(bad_log_level_is_refused),
		T(bad_log_format_is_refused),
		T(job_section_in_sweepd_ini_is_refused),
		T(relative_plugin_dir_is_taken_from_conf_dir),
		T_ENV(dsn_command_line_beats_env_beats_file),
		T_ENV(dsn_is_empty_when_given_nowhere),
	};

	/* Settings from the caller's environment must not leak in. */
	unsetenv("SWEEPD_CONF_DIR");
	unsetenv("SWEEPD_PLUGIN_DIR");
	unsetenv("SWEEPD_LOG_LEVEL");
	unsetenv("SWEEPD_LOG_FORMAT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
