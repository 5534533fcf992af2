/* SQL fragments mean the same to sweepd and the server: a `where` is read
 * by the server exactly as sweepd's check read it, whatever the server,
 * database or role settings say about lexing (standard_conforming_strings,
 * client_encoding) or meaning (transform_null_equals).  Every plugin that
 * takes a `where` runs through the real binary against a database and a
 * role that carry hostile settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "testutil.h"

#define SWEEPD(out, err, ...) tu_run(out, err, SWEEPD_BIN " " __VA_ARGS__)

/* One place a job runs: a DSN whose sessions get hostile settings from
 * their database or their role, and a connection there for the test. */
typedef struct place {
	char *dsn;
	PGconn *db;
} place;

/* The names of this program's database and role (unique per process). */
static char lex_db[64], lex_role[64];

/* "host=... port=... dbname=DB user=USER" for the test server. */
static char *dsn_for(PGconn *admin, const char *db, const char *user)
{
	buf b = BUF_INIT;
	char *dsn;

	buf_printf(&b, "host=%s port=%s dbname=%s user=%s", PQhost(admin),
	           PQport(admin), db, user);
	dsn = buf_detach(&b);
	assert_non_null(dsn);
	return dsn;
}

/* Creates a database whose default is standard_conforming_strings = off
 * and a superuser role whose defaults are that, transform_null_equals =
 * on and client_encoding = SJIS. */
static int hostile_setup(void **state)
{
	PGconn *admin = tu_db();

	snprintf(lex_db, sizeof(lex_db), "sweepd_lex_%ld", (long)getpid());
	snprintf(lex_role, sizeof(lex_role), "sweepd_lex_%ld", (long)getpid());
	tu_sql(admin, "DROP DATABASE IF EXISTS %s", lex_db);
	tu_sql(admin, "CREATE DATABASE %s", lex_db);
	tu_sql(admin, "ALTER DATABASE %s SET standard_conforming_strings = off",
	       lex_db);
	tu_sql(admin, "DROP ROLE IF EXISTS %s", lex_role);
	tu_sql(admin, "CREATE ROLE %s LOGIN SUPERUSER;"
	       "ALTER ROLE %s SET standard_conforming_strings = off;"
	       "ALTER ROLE %s SET transform_null_equals = on;"
	       "ALTER ROLE %s SET client_encoding = 'SJIS'",
	       lex_role, lex_role, lex_role, lex_role);
	*state = admin;
	return 0;
}

static int hostile_teardown(void **state)
{
	PGconn *admin = *state;

	if (admin == NULL)
		return 0;
	tu_sql(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)", lex_db);
	tu_sql(admin, "DROP SCHEMA IF EXISTS %s CASCADE;"
	       "DELETE FROM sweepd.audit WHERE job = '%s';"
	       "DELETE FROM sweepd.runs WHERE job = '%s'",
	       lex_role, lex_role, lex_role);
	tu_sql(admin, "DROP ROLE IF EXISTS %s", lex_role);
	PQfinish(admin);
	return 0;
}

/* The database with hostile defaults, as the test's own superuser. */
static place place_database(PGconn *admin)
{
	place p;

	p.dsn = dsn_for(admin, lex_db, PQuser(admin));
	p.db = PQconnectdb(p.dsn);
	assert_int_equal(PQstatus(p.db), CONNECTION_OK);
	/* The test's own statements are standard SQL (a SET in the same
	 * query string would come too late: the string is lexed whole). */
	tu_sql(p.db, "SET standard_conforming_strings = on");
	tu_sql(p.db, "SET client_min_messages = warning");
	return p;
}

/* The test database, as the role with hostile defaults. */
static place place_role(PGconn *admin)
{
	place p;

	p.dsn = dsn_for(admin, PQdb(admin), lex_role);
	p.db = tu_db();
	return p;
}

static void place_free(place *p)
{
	PQfinish(p->db);
	free(p->dsn);
}

/* A fresh schema (named after the role) with table t: ids 1-100 old, v is
 * the text a\b é (a backslash); ids 101-200 old, v is a, backspace, space
 * é, and note NULL; ids 201-300 young, v as the first.  Only the first
 * and last sets meet `v = 'a\b é' OR note = NULL` as standard SQL reads
 * it; the middle set meets it when the server reads '\b' as an escape,
 * 'é' in another encoding, or `= NULL` as IS NULL.  Row g's path is "fg"
 * (a file of orphan_files), which no row of r(id, path) references. */
static void make_table(place *p)
{
	tu_sql(p->db, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
	       "CREATE TABLE %s.t (id int PRIMARY KEY, v text NOT NULL,"
	       " note text, email text, created_at timestamptz NOT NULL,"
	       " path text NOT NULL);"
	       "CREATE TABLE %s.r (id int, path text);"
	       "INSERT INTO %s.t SELECT g, CASE WHEN g BETWEEN 101 AND 200"
	       " THEN E'a\\b \\u00e9' ELSE 'a\\b \u00e9' END,"
	       " CASE WHEN g BETWEEN 101 AND 200 THEN NULL ELSE 'n' END,"
	       " 'u' || g || '@example.com',"
	       " now() - CASE WHEN g > 200 THEN interval '1 day'"
	       " ELSE interval '60 days' END, 'f' || g"
	       " FROM generate_series(1, 300) g",
	       lex_role, lex_role, lex_role, lex_role, lex_role);
}

/* A new scratch directory (returned, new) holding the file "fg" of each
 * row g of t. */
static char *make_files(void)
{
	char *dir = tu_tempdir(), name[16];
	int g;

	for (g = 1; g <= 300; g++) {
		snprintf(name, sizeof(name), "f%d", g);
		tu_write(dir, name, "x");
	}
	return dir;
}

/* Files of rows with ids in [lo, hi] still in dir. */
static int files_left(const char *dir, int lo, int hi)
{
	char name[16], *path;
	int g, n = 0;

	for (g = lo; g <= hi; g++) {
		snprintf(name, sizeof(name), "f%d", g);
		path = tu_path(dir, name);
		n += access(path, F_OK) == 0;
		free(path);
	}
	return n;
}

/* Rows of t with ids in [lo, hi] that are still there, untouched. */
static long long untouched(place *p, int lo, int hi)
{
	return tu_sql_int(p->db, "SELECT count(*) FROM %s.t WHERE id BETWEEN"
	                  " %d AND %d AND email IS NOT NULL", lex_role, lo, hi);
}

/* Writes a job of plugin with [params] params and runs it with --run
 * against p; returns sweepd's exit code, *err its stderr. */
static int run_job(place *p, const char *plugin, const char *params,
                   char **err)
{
	char *dir = tu_tempdir(), *out;
	buf text = BUF_INIT;
	int rc;

	buf_printf(&text, "[job]\nname = %s\nplugin = %s\n\n[params]\n%s\n",
	           lex_role, plugin, params);
	tu_write(dir, "lex.ini", buf_str(&text));
	rc = SWEEPD(&out, err, "--conf-dir %s --plugin-dir " SWEEPD_PLUGIN_DIR
	            " --dsn '%s' --run %s", dir, p->dsn, lex_role);
	free(out);
	buf_free(&text);
	tu_rmtree(dir);
	free(dir);
	return rc;
}

/* The parameters of each plugin that takes a `where`, over schema.t with
 * the condition cond; @ stands for the schema, # for the directory of
 * make_files(). */
static const struct plugin_case {
	const char *plugin;
	const char *params;
	int young_go; /* the condition alone, not an age, selects rows */
	int files;    /* the rows' files go with them (orphan_files) */
} plugin_cases[] = {
	{"age_delete", "table = @.t\ntime_column = created_at\n"
	 "older_than = 30d\n", 0, 0},
	{"match_delete", "table = @.t\nkey_column = id\nref_table = @.r\n"
	 "ref_column = id\nmode = missing\n", 1, 0},
	{"cascade_delete", "table = @.t\nkey_column = id\n", 1, 0},
	{"anonymize", "table = @.t\ntime_column = created_at\n"
	 "older_than = 30d\nset_null = email\n", 0, 0},
	{"orphan_files", "directory = #\nfile_table = @.t\n"
	 "file_path_column = path\ntime_column = created_at\n"
	 "older_than = 30d\nreferences = @.r.path\n", 0, 1},
};

/* c's parameters, @ and # replaced by the schema and dir, with `where`. */
static void case_params(const struct plugin_case *c, const char *dir,
                        buf *params)
{
	const char *q;

	for (q = c->params; *q; q++)
		if (*q == '@')
			buf_puts(params, lex_role);
		else if (*q == '#')
			buf_puts(params, dir);
		else
			buf_append(params, q, 1);
	buf_puts(params, "where = v = 'a\\b \u00e9' OR note = NULL\n");
}

/* Fails unless c's run left the rows (and, for orphan_files, the files in
 * dir) that standard SQL leaves: only ids 1-100, and 201-300 when the
 * condition alone selects rows, went. */
static void assert_standard_rows(place *p, const struct plugin_case *c,
                                 const char *dir)
{
	int young = c->young_go ? 0 : 100;

	if (untouched(p, 1, 100) != 0 || untouched(p, 101, 200) != 100 ||
	    untouched(p, 201, 300) != young)
		fail_msg("%s changed the wrong rows: %lld/100 %lld/100 "
		         "%lld/100 untouched", c->plugin, untouched(p, 1, 100),
		         untouched(p, 101, 200), untouched(p, 201, 300));
	if (c->files && (files_left(dir, 1, 100) != 0 ||
	                 files_left(dir, 101, 200) != 100 ||
	                 files_left(dir, 201, 300) != young))
		fail_msg("%s deleted the wrong files: %d/100 %d/100 %d/100 "
		         "left", c->plugin, files_left(dir, 1, 100),
		         files_left(dir, 101, 200), files_left(dir, 201, 300));
}

/* Runs every plugin with a condition that standard SQL reads one way and
 * the place's hostile settings another: only the rows standard SQL
 * selects change. */
static void each_plugin_reads_the_condition_as_checked(PGconn *admin,
                                                       place p)
{
	size_t i;

	for (i = 0; i < sizeof(plugin_cases) / sizeof(plugin_cases[0]); i++) {
		const struct plugin_case *c = &plugin_cases[i];
		char *err, *dir = c->files ? make_files() : NULL;
		buf params = BUF_INIT;

		make_table(&p);
		case_params(c, dir ? dir : "", &params);
		if (run_job(&p, c->plugin, buf_str(&params), &err) != 0)
			fail_msg("%s failed: %s", c->plugin, err);
		assert_standard_rows(&p, c, dir);
		free(err);
		buf_free(&params);
		if (dir)
			tu_rmtree(dir);
		free(dir);
	}
	(void)admin;
}

static void database_setting_cannot_change_a_condition(void **state)
{
	place p = place_database(*state);

	each_plugin_reads_the_condition_as_checked(*state, p);
	place_free(&p);
}

static void role_setting_cannot_change_a_condition(void **state)
{
	place p = place_role(*state);

	each_plugin_reads_the_condition_as_checked(*state, p);
	place_free(&p);
}

/* The condition the issue measured: with standard_conforming_strings off
 * at the database, the server read 'p\' as an escaped quote and deleted
 * every row.  It is refused at --check with the file and line, and --run
 * refuses it without touching a row. */
static void condition_that_escapes_its_parentheses_is_refused(void **state)
{
	place p = place_database(*state);
	char *dir = tu_tempdir(), *out, *err, *expect;
	buf params = BUF_INIT, text = BUF_INIT;

	make_table(&p);
	buf_printf(&params, "table = %s.t\ntime_column = created_at\n"
	           "older_than = 30d\nwhere = v::text = 'p\\'q' ) OR (true)"
	           " OR ( v::text = 'r\\'s'\n", lex_role);
	buf_printf(&text, "[job]\nname = %s\nplugin = age_delete\n\n"
	           "[params]\n%s", lex_role, buf_str(&params));
	tu_write(dir, "lex.ini", buf_str(&text));
	assert_int_equal(SWEEPD(&out, &err, "--conf-dir %s --plugin-dir "
	                        SWEEPD_PLUGIN_DIR " --check", dir), 2);
	expect = tu_path(dir, "lex.ini:9:");
	assert_contains(err, expect);
	assert_contains(err, "standard_conforming_strings");
	free(out);
	free(err);
	assert_int_not_equal(run_job(&p, "age_delete", buf_str(&params), &err),
	                     0);
	assert_contains(err, "standard_conforming_strings");
	assert_int_equal(untouched(&p, 1, 300), 300);
	free(err);
	free(expect);
	buf_free(&params);
	buf_free(&text);
	tu_rmtree(dir);
	free(dir);
	place_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(database_setting_cannot_change_a_condition),
		cmocka_unit_test(role_setting_cannot_change_a_condition),
		cmocka_unit_test(condition_that_escapes_its_parentheses_is_refused),
	};

	return cmocka_run_group_tests(tests, hostile_setup, hostile_teardown);
}
