/* orphan_files against the real PostgreSQL and a real scratch directory:
 * the real plugin .so, loaded by the real loader and run by the host's
 * runner as sweepd --run does, and once through the real binary. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "result.h"
#include "runner.h"
#include "testworld.h"

#define DAY (24 * 3600)
/* Older and younger than older_than = 30d. */
#define OLD (40 * DAY)
#define NEW (5 * DAY)

/* One test's world: the shared test world (a schema with tables that
 * reference files, a conf dir with one job, and the loaded configuration)
 * plus a directory of files (root) and a directory outside it. */
typedef struct world {
	tu_world *t;
	char *root;    /* the directory the job cleans */
	char *outside; /* never to be touched */
} world;

/* Creates the directories of path up to its last '/'. */
static void mkdirs(const char *path)
{
	char *p = strdup(path), *slash;

	assert_non_null(p);
	for (slash = strchr(p + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*slash = '/';
	}
	free(p);
}

/* Sets the mtime (and atime) of path, a link itself when nofollow, to
 * age seconds ago. */
static void set_age(const char *path, long age, bool nofollow)
{
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	if (utimensat(AT_FDCWD, path, t, nofollow ? AT_SYMLINK_NOFOLLOW : 0))
		fail_msg("utimensat %s: %s", path, strerror(errno));
}

/* Writes base/rel (creating its directories) with content, age seconds
 * old. */
static void put(const char *base, const char *rel, const char *content,
                long age)
{
	char *path = tu_path(base, rel);
	FILE *fp;

	mkdirs(path);
	fp = fopen(path, "w");
	if (!fp) {
		fail_msg("cannot write %s: %s", path, strerror(errno));
		return;
	}
	assert_true(fputs(content, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	set_age(path, age, false);
	free(path);
}

/* Makes base/rel a symbolic link to target, itself OLD. */
static void link_to(const char *base, const char *rel, const char *target)
{
	char *path = tu_path(base, rel);

	mkdirs(path);
	if (symlink(target, path) != 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
	set_age(path, OLD, true);
	free(path);
}

/* Whether base/rel exists (a link itself, not its target). */
static bool exists(const char *base, const char *rel)
{
	char *path = tu_path(base, rel);
	struct stat sb;
	bool yes = lstat(path, &sb) == 0;

	free(path);
	return yes;
}

/* Fails unless base/rel is a symbolic link to target. */
static void assert_link(const char *base, const char *rel, const char *target)
{
	char *path = tu_path(base, rel), got[4096];
	ssize_t n = readlink(path, got, sizeof got - 1);

	if (n < 0) {
		fail_msg("%s is no longer a link: %s", path, strerror(errno));
		return;
	}
	got[n] = '\0';
	assert_string_equal(got, target);
	free(path);
}

/* Fails unless base/rel holds content. */
static void assert_content(const char *base, const char *rel,
                           const char *content)
{
	char *path = tu_path(base, rel), got[256];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp) {
		fail_msg("%s is gone: %s", path, strerror(errno));
		return;
	}
	n = fread(got, 1, sizeof got - 1, fp);
	got[n] = '\0';
	fclose(fp);
	assert_string_equal(got, content);
	free(path);
}

/* Every entry under the world's directories with its type, size, mtime
 * and link target, as one string (new). */
static char *tree(world *w)
{
	char *out;

	assert_int_equal(tu_run(&out, NULL, "cd '%s' && find . '%s' -printf"
	                        " '%%p %%y %%s %%T@ %%l\\n' | sort", w->root,
	                        w->outside), 0);
	return out;
}

/* Loads a job over the world with these [params] lines, failing on any
 * problem. */
static void world_job(world *w, const char *params)
{
	char text[4096];

	snprintf(text, sizeof(text), "[job]\nname = %s\nplugin = orphan_files"
	         "\n\n[params]\n%s", w->t->job, params);
	tu_world_load(w->t, text);
}

/* A job over root with references users.avatar and projects.images and
 * file table uploads(path), older_than 30d, plus extra lines. */
static void world_std_job(world *w, const char *extra)
{
	const char *s = w->t->schema;
	char text[2048];

	snprintf(text, sizeof(text),
	         "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar, %s.projects.images\n"
	         "file_table = %s.uploads\nfile_path_column = path\n%s",
	         w->root, s, s, s, extra);
	world_job(w, text);
}

/* A new world (tu_world prefix "orphan") with empty tables users(avatar),
 * projects(images) and uploads(path, kind) and empty root and outside. */
static int world_setup(void **state)
{
	world *w = calloc(1, sizeof(*w));
	const char *s;

	assert_non_null(w);
	w->t = tu_world_new("orphan");
	w->root = tu_tempdir();
	w->outside = tu_tempdir();
	s = w->t->schema;
	tu_sql(w->t->db,
	       "CREATE TABLE %s.users (id int PRIMARY KEY,"
	       " avatar varchar(200));"
	       "CREATE TABLE %s.projects (id int PRIMARY KEY, images text[]);"
	       "CREATE TABLE %s.uploads (id int PRIMARY KEY,"
	       " path text NOT NULL, kind text DEFAULT 'image')", s, s, s);
	*state = w;
	return 0;
}

/* Frees the tu_world (schema, conf dir, what sweepd recorded of the job)
 * and removes root and outside. */
static int world_teardown(void **state)
{
	world *w = *state;

	tu_world_free(w->t);
	tu_rmtree(w->root);
	tu_rmtree(w->outside);
	free(w->root);
	free(w->outside);
	free(w);
	return 0;
}

/* The value of a result's counter; -1 when it has none (tu_counter() is
 * for counters that must exist). */
static long long counter(const result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return r->counters[i].value;
	return -1;
}

/* Whether the result's samples hold line. */
static bool sampled(const result *r, const char *line)
{
	size_t i;

	for (i = 0; i < r->nsamples; i++)
		if (strcmp(r->samples[i], line) == 0)
			return true;
	return false;
}

/* The ids of uploads, ordered, as "1,2,3". */
static char *upload_ids(world *w)
{
	return tu_sql_text(w->t->db, "SELECT coalesce(string_agg(id::text, ','"
	                   " ORDER BY id), '') FROM %s.uploads", w->t->schema);
}

/* The rows sweepd recorded of the world's job in sweepd.table. */
static long long recorded(world *w, const char *table)
{
	return tu_sql_int(w->t->db, "SELECT count(*) FROM sweepd.%s WHERE job ="
	                  " '%s'", table, w->t->job);
}

/* The standard data: files and rows covering every case of the standard
 * job, whose run must delete exactly 4 files (10 bytes) and 2 rows. */
static void std_data(world *w)
{
	put(w->root, "old-orphan.png", "12345", OLD);         /* row 1: goes */
	put(w->root, "a/b/c/deep-orphan.bin", "xyz", OLD);    /* no row: goes */
	put(w->root, "avatars/kept.png", "avatar", OLD);      /* users */
	put(w->root, "projects/cover.png", "cover", OLD);     /* projects */
	put(w->root, "new-orphan.png", "new", NEW);           /* too new */
	put(w->root, "edge-older.png", "ab", 30 * DAY + 120); /* row 5: goes */
	put(w->root, "edge-younger.png", "cd", 30 * DAY - 120);
	put(w->root, "empty.png", "", OLD);                   /* goes */
	tu_sql(w->t->db,
	       "INSERT INTO %s.uploads (id, path) VALUES (1, 'old-orphan.png'),"
	       " (2, 'avatars/kept.png'), (3, 'projects/cover.png'),"
	       " (4, 'new-orphan.png'), (5, 'edge-older.png'),"
	       " (6, 'edge-younger.png'), (7, 'missing.png');"
	       "INSERT INTO %s.users VALUES (1, 'avatars/kept.png'), (2, NULL);"
	       "INSERT INTO %s.projects VALUES"
	       " (1, '{other.png,projects/cover.png}'), (2, NULL)",
	       w->t->schema, w->t->schema, w->t->schema);
}

/* Checks the world after the standard data went through a real run. */
static void assert_std_outcome(world *w)
{
	char *ids = upload_ids(w);

	assert_false(exists(w->root, "old-orphan.png"));
	assert_false(exists(w->root, "a/b/c/deep-orphan.bin"));
	assert_false(exists(w->root, "edge-older.png"));
	assert_false(exists(w->root, "empty.png"));
	assert_content(w->root, "avatars/kept.png", "avatar");
	assert_content(w->root, "projects/cover.png", "cover");
	assert_content(w->root, "new-orphan.png", "new");
	assert_content(w->root, "edge-younger.png", "cd");
	assert_true(exists(w->root, "a/b/c")); /* directories stay */
	assert_string_equal(ids, "2,3,4,6,7");
	free(ids);
}

static void deletes_old_orphans_with_their_rows(void **state)
{
	world *w = *state;
	result r;

	std_data(w);
	/* Small batches with a pause and timeouts: every path of a batch. */
	world_std_job(w, "batch_size = 2\nbatch_pause = 1ms\n"
	              "lock_timeout = 2s\nstatement_timeout = 10s\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 8);
	assert_int_equal(tu_counter(&r, "deleted"), 4);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 2);
	assert_int_equal(tu_counter(&r, "bytes_freed"), 10);
	assert_int_equal(tu_counter(&r, "referenced"), 2);
	assert_int_equal(tu_counter(&r, "too_new"), 2);
	assert_int_equal(tu_counter(&r, "skipped"), 0);
	assert_int_equal(tu_counter(&r, "unmatched"), 0);
	assert_int_equal(counter(&r, "errors"), -1);
	assert_int_equal(counter(&r, "audited"), -1);
	assert_contains(r.message, "deleted 4 orphaned files (10 bytes) and 2 "
	                "rows");
	result_free(&r);
	assert_std_outcome(w);
	/* A second run finds nothing more to do. */
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 0);
	assert_int_equal(tu_counter(&r, "examined"), 4);
	result_free(&r);
}

static void a_reference_from_either_table_keeps_the_file(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "r/first-only", "1", OLD);
	put(w->root, "r/second-only", "2", OLD);
	put(w->root, "r/both", "3", OLD);
	put(w->root, "r/none", "4", OLD);
	/* Prefixes of referenced paths are not referenced. */
	put(w->root, "r/first", "5", OLD);
	put(w->root, "r/second", "6", OLD);
	tu_sql(w->t->db,
	       "INSERT INTO %s.users VALUES (1, 'r/first-only'), (2, 'r/both');"
	       "INSERT INTO %s.projects VALUES (1, '{r/second-only}'),"
	       " (2, '{zzz,r/both}'), (3, '{}')", w->t->schema, w->t->schema);
	world_std_job(w, "");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "referenced"), 3);
	assert_int_equal(tu_counter(&r, "deleted"), 3);
	result_free(&r);
	assert_content(w->root, "r/first-only", "1");
	assert_content(w->root, "r/second-only", "2");
	assert_content(w->root, "r/both", "3");
	assert_false(exists(w->root, "r/none"));
	assert_false(exists(w->root, "r/first"));
	assert_false(exists(w->root, "r/second"));
}

static void path_prefix_is_matched_before_the_relative_path(void **state)
{
	world *w = *state;
	result r;
	char *ids;

	put(w->root, "p/kept.png", "k", OLD);
	put(w->root, "p/gone.png", "g", OLD);
	put(w->root, "p/bare.png", "b", OLD);
	tu_sql(w->t->db,
	       "INSERT INTO %s.users VALUES (1, '/files/p/kept.png'),"
	       " (2, 'p/bare.png');"
	       "INSERT INTO %s.uploads (id, path) VALUES"
	       " (1, '/files/p/gone.png'), (2, 'p/gone.png')",
	       w->t->schema, w->t->schema);
	world_std_job(w, "path_prefix = /files/\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 2);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 1);
	result_free(&r);
	assert_content(w->root, "p/kept.png", "k");
	assert_false(exists(w->root, "p/gone.png"));
	assert_false(exists(w->root, "p/bare.png"));
	ids = upload_ids(w);
	assert_string_equal(ids, "2");
	free(ids);
}

static void pattern_limits_the_files_considered(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "x.tmp", "1", OLD);
	put(w->root, "deep/er/y.tmp", "2", OLD); /* '*' crosses '/' */
	put(w->root, ".hidden.tmp", "3", OLD);   /* and matches a dot */
	put(w->root, "keep.png", "4", OLD);
	put(w->root, "deep/keep.tmpx", "5", OLD);
	world_std_job(w, "pattern = *.tmp\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 5);
	assert_int_equal(tu_counter(&r, "unmatched"), 2);
	assert_int_equal(tu_counter(&r, "deleted"), 3);
	result_free(&r);
	assert_false(exists(w->root, "x.tmp"));
	assert_false(exists(w->root, "deep/er/y.tmp"));
	assert_false(exists(w->root, ".hidden.tmp"));
	assert_content(w->root, "keep.png", "4");
	assert_content(w->root, "deep/keep.tmpx", "5");

	/* A pattern naming a subdirectory takes what lies below it. */
	put(w->root, "cache/a/b/c.bin", "6", OLD);
	put(w->root, "cached.bin", "7", OLD);
	world_std_job(w, "pattern = cache/*\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	result_free(&r);
	assert_false(exists(w->root, "cache/a/b/c.bin"));
	assert_content(w->root, "cached.bin", "7");
}

static void symbolic_links_are_never_followed_nor_deleted(void **state)
{
	world *w = *state;
	result r;
	char *target, *ids;

	put(w->outside, "secret.txt", "secret", OLD);
	put(w->outside, "sub/old.bin", "outside", OLD);
	target = tu_path(w->outside, "secret.txt");
	link_to(w->root, "link-file", target);   /* to a file outside */
	link_to(w->root, "d/link-dir", w->outside); /* to a directory outside */
	link_to(w->root, "dangling", "/nonexistent/sweepd-test");
	link_to(w->root, "d/up", "..");
	tu_sql(w->t->db, "INSERT INTO %s.uploads (id, path) VALUES"
	       " (1, 'link-file'), (2, 'd/link-dir/secret.txt')", w->t->schema);
	put(w->root, "real/orphan.bin", "x", OLD);
	{
		char *fifo = tu_path(w->root, "real/fifo");
		assert_int_equal(mkfifo(fifo, 0600), 0);
		set_age(fifo, OLD, false);
		free(fifo);
	}
	world_std_job(w, "");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "skipped"), 5);
	assert_int_equal(tu_counter(&r, "examined"), 1);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	result_free(&r);
	assert_false(exists(w->root, "real/orphan.bin"));
	assert_content(w->outside, "secret.txt", "secret");
	assert_content(w->outside, "sub/old.bin", "outside");
	assert_link(w->root, "link-file", target);
	assert_link(w->root, "d/link-dir", w->outside);
	assert_link(w->root, "dangling", "/nonexistent/sweepd-test");
	assert_link(w->root, "d/up", "..");
	assert_true(exists(w->root, "real/fifo"));
	ids = upload_ids(w);
	assert_string_equal(ids, "1,2");
	free(ids);
	free(target);
}

static void dry_run_counts_samples_and_changes_nothing(void **state)
{
	world *w = *state;
	const char *s = w->t->schema;
	result r;
	char *files_before, *files_after, *db_before, *db_after;
#define MD5_SQL                                                            \
	"SELECT md5(concat("                                               \
	" (SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.uploads t),"\
	" (SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.users t),"  \
	" (SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.projects t)"\
	"))"

	std_data(w);
	link_to(w->root, "link-file", w->outside);
	world_std_job(w, "audit_columns = id, path\naudit_files = true\n"
	              "lock_timeout = 2s\nstatement_timeout = 10s\n"
	              "batch_size = 1\nbatch_pause = 1s\n");
	files_before = tree(w);
	db_before = tu_sql_text(w->t->db, MD5_SQL, s, s, s);
	tu_world_run_ok(w->t, true, &r);
	assert_int_equal(tu_counter(&r, "would_delete"), 4);
	assert_int_equal(tu_counter(&r, "would_delete_rows"), 2);
	assert_int_equal(tu_counter(&r, "would_free_bytes"), 10);
	assert_int_equal(tu_counter(&r, "referenced"), 2);
	assert_int_equal(tu_counter(&r, "too_new"), 2);
	assert_int_equal(tu_counter(&r, "skipped"), 1);
	assert_int_equal(counter(&r, "deleted"), -1);
	assert_int_equal(r.nsamples, 4);
	assert_true(sampled(&r, "old-orphan.png"));
	assert_true(sampled(&r, "a/b/c/deep-orphan.bin"));
	assert_true(sampled(&r, "edge-older.png"));
	assert_true(sampled(&r, "empty.png"));
	assert_contains(r.message, "would delete 4 orphaned files (10 bytes) "
	                "and 2 rows");
	result_free(&r);
	files_after = tree(w);
	db_after = tu_sql_text(w->t->db, MD5_SQL, s, s, s);
	assert_string_equal(files_before, files_after);
	assert_string_equal(db_before, db_after);
	assert_int_equal(recorded(w, "audit"), 0);
	assert_int_equal(recorded(w, "runs"), 0);
	free(files_before);
	free(files_after);
	free(db_before);
	free(db_after);
#undef MD5_SQL
}

static void audit_records_equal_deleted_rows_and_files(void **state)
{
	world *w = *state;
	result r;
	char *got;

	std_data(w);
	world_std_job(w, "audit_columns = id, path\naudit_files = true\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 4);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 2);
	assert_int_equal(tu_counter(&r, "audited"), 6);
	/* Exactly the deleted rows and files, each once. */
	got = tu_sql_text(w->t->db, "SELECT count(*) FROM sweepd.audit WHERE"
	                  " job = '%s' AND ((action = 'deleted' AND"
	                  " table_name = '%s.uploads' AND"
	                  " (data->>'id', data->>'path') IN"
	                  " (('1', 'old-orphan.png'), ('5', 'edge-older.png')))"
	                  " OR (action = 'deleted_file' AND table_name = '%s'"
	                  " AND data->>'path' IN ('old-orphan.png',"
	                  " 'a/b/c/deep-orphan.bin', 'edge-older.png',"
	                  " 'empty.png') AND (data->>'bytes')::int8 ="
	                  " length(CASE data->>'path' WHEN 'old-orphan.png'"
	                  " THEN '12345' WHEN 'a/b/c/deep-orphan.bin' THEN"
	                  " 'xyz' WHEN 'edge-older.png' THEN 'ab' ELSE '' END)"
	                  " AND (data->>'mtime')::timestamptz < now() -"
	                  " interval '30 days'))", w->t->job, w->t->schema,
	                  w->root);
	assert_string_equal(got, "6");
	free(got);
	assert_int_equal(recorded(w, "audit"), 6);
	result_free(&r);
	assert_std_outcome(w);
}

static void where_keeps_files_whose_rows_fail_it(void **state)
{
	world *w = *state;
	result r;
	char *ids;

	put(w->root, "w/keep.png", "1", OLD);
	put(w->root, "w/null.png", "2", OLD);
	put(w->root, "w/go.png", "3", OLD);
	put(w->root, "w/norow.png", "4", OLD);
	put(w->root, "w/mixed.png", "5", OLD);
	tu_sql(w->t->db, "INSERT INTO %s.uploads VALUES"
	       " (1, 'w/keep.png', 'keep'),"
	       " (2, 'w/null.png', NULL), (3, 'w/go.png', 'image'),"
	       " (4, 'w/mixed.png', 'image'), (5, 'w/mixed.png', 'keep')",
	       w->t->schema);
	world_std_job(w, "where = kind <> 'keep'\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "excluded"), 3);
	assert_int_equal(tu_counter(&r, "deleted"), 2);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 1);
	result_free(&r);
	assert_content(w->root, "w/keep.png", "1");
	assert_content(w->root, "w/null.png", "2");
	assert_content(w->root, "w/mixed.png", "5");
	assert_false(exists(w->root, "w/go.png"));
	assert_false(exists(w->root, "w/norow.png"));
	ids = upload_ids(w);
	assert_string_equal(ids, "1,2,4,5");
	free(ids);
}

static void a_row_that_cannot_go_keeps_its_file_and_the_rest_goes(void **state)
{
	world *w = *state;
	result r;
	char *ids;

	/* A deferred foreign key: without SET CONSTRAINTS ALL IMMEDIATE it
	 * would fail at COMMIT, after the file is gone. */
	tu_sql(w->t->db, "CREATE TABLE %s.thumbs (upload_id int REFERENCES"
	       " %s.uploads (id) DEFERRABLE INITIALLY DEFERRED)", w->t->schema,
	       w->t->schema);
	put(w->root, "t/held.png", "held", OLD);
	put(w->root, "t/free.png", "free", OLD);
	tu_sql(w->t->db, "INSERT INTO %s.uploads (id, path) VALUES"
	       " (1, 't/held.png'), (2, 't/free.png');"
	       "INSERT INTO %s.thumbs VALUES (1)", w->t->schema, w->t->schema);
	world_std_job(w, "audit_columns = id\naudit_files = true\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "errors"), 1);
	assert_int_equal(tu_counter(&r, "audited"), 2);
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "t/held.png: deleting its row");
	assert_contains(r.errors[0], "foreign key");
	result_free(&r);
	assert_content(w->root, "t/held.png", "held");
	assert_false(exists(w->root, "t/free.png"));
	ids = upload_ids(w);
	assert_string_equal(ids, "1");
	free(ids);
	/* The held file's audit records were rolled back with it. */
	assert_int_equal(recorded(w, "audit"), 2);
}

static void quoted_names_with_quotes_and_spaces_are_safe(void **state)
{
	world *w = *state;
	const char *s = w->t->schema;
	result r;
	char text[2048], *got;

	tu_sql(w->t->db,
	       "CREATE TABLE %s.\"odd\"\"name\" (\"made at\" text);"
	       "CREATE TABLE %s.\"up loads\" (id int, \"file path\" text);"
	       "INSERT INTO %s.\"odd\"\"name\" VALUES ('q/kept');"
	       "INSERT INTO %s.\"up loads\" VALUES (1, 'q/gone'),"
	       " (2, 'q/kept')", s, s, s, s);
	put(w->root, "q/kept", "k", OLD);
	put(w->root, "q/gone", "g", OLD);
	snprintf(text, sizeof(text),
	         "directory = %s\nolder_than = 30d\n"
	         "references = %s.odd\"name.made at, \"%s\".\"odd\"\"name\"."
	         "\"made at\"\nfile_table = %s.up loads\n"
	         "file_path_column = file path\n"
	         "audit_columns = id, file path\n",
	         w->root, s, s, s);
	world_job(w, text);
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 1);
	assert_int_equal(tu_counter(&r, "referenced"), 1);
	result_free(&r);
	assert_content(w->root, "q/kept", "k");
	assert_false(exists(w->root, "q/gone"));
	got = tu_sql_text(w->t->db, "SELECT string_agg(id::text, ',') FROM"
	                  " %s.\"up loads\"", w->t->schema);
	assert_string_equal(got, "2");
	free(got);
	got = tu_sql_text(w->t->db, "SELECT data->>'file path' FROM"
	                  " sweepd.audit WHERE job = '%s'", w->t->job);
	assert_string_equal(got, "q/gone");
	free(got);
}

static void where_with_a_semicolon_is_refused_at_load(void **state)
{
	world *w = *state;
	const char *s = w->t->schema;
	const diag *d = &w->t->d;
	char text[2048], *file;
	size_t i;
	bool found = false;

	snprintf(text, sizeof(text),
	         "[job]\nname = %s\nplugin = orphan_files\n\n[params]\n"
	         "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar\nfile_table = %s.uploads\n"
	         "file_path_column = path\n"
	         "where = kind = 'x'; DROP TABLE %s.users\n",
	         w->t->job, w->root, s, s, s);
	tu_world_load_diag(w->t, text);
	file = tu_path(w->t->dir, "job.ini");
	for (i = 0; i < d->count; i++) {
		/* The settings loaded cleanly: every problem is the job's. */
		if (!d->items[i].file || strcmp(d->items[i].file, file) != 0)
			fail_msg("problem outside job.ini: %s",
			         d->items[i].message);
		if (d->items[i].line == 11 &&
		    strstr(d->items[i].message, "contains ';'"))
			found = true;
	}
	if (!found)
		fail_msg("no job.ini:11 problem about ';' (%zu problems%s%s)",
		         d->count, d->count ? ", first: " : "",
		         d->count ? d->items[0].message : "");
	assert_null(jobs_find(w->t->js, w->t->job)->params);
	free(file);
	assert_int_equal(tu_sql_int(w->t->db, "SELECT count(*) FROM %s.users",
	                            s), 0);
}

/* Loads a job with these [params] lines and checks that its run fails
 * with an error holding expect, changing nothing. */
static void expect_refused(world *w, const char *params, const char *expect)
{
	result r;

	world_job(w, params);
	assert_int_equal(tu_world_run(w->t, false, &r), RUNNER_FAILED);
	assert_false(r.success);
	assert_contains(r.error, expect);
	assert_int_equal(counter(&r, "deleted"), -1);
	result_free(&r);
}

static void init_refuses_a_relative_or_unsafe_directory(void **state)
{
	world *w = *state;
	char text[2048], *link;

	put(w->root, "old.bin", "x", OLD);
	/* Relative. */
	snprintf(text, sizeof(text), "directory = uploads\nolder_than = 30d\n"
	         "references = %s.users.avatar\n", w->t->schema);
	expect_refused(w, text, "directory = 'uploads': must be an absolute "
	               "path");
	/* A symbolic link to the directory. */
	link = tu_path(w->outside, "link");
	assert_int_equal(symlink(w->root, link), 0);
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar\n", link, w->t->schema);
	expect_refused(w, text, "is a symbolic link");
	free(link);
	/* Missing, and a file. */
	snprintf(text, sizeof(text), "directory = %s/nope\nolder_than = 30d\n"
	         "references = %s.users.avatar\n", w->root, w->t->schema);
	expect_refused(w, text, "cannot open: No such file or directory");
	snprintf(text, sizeof(text), "directory = %s/old.bin\nolder_than = 30d"
	         "\nreferences = %s.users.avatar\n", w->root, w->t->schema);
	expect_refused(w, text, "is not a directory");
	snprintf(text, sizeof(text), "directory = /\nolder_than = 30d\n"
	         "references = %s.users.avatar\n", w->t->schema);
	expect_refused(w, text, "refusing to clean the whole file system");
	assert_content(w->root, "old.bin", "x");
}

static void init_refuses_bad_references_and_file_table(void **state)
{
	world *w = *state;
	char text[2048];

	put(w->root, "old.bin", "x", OLD);
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.nope\n", w->root, w->t->schema);
	expect_refused(w, text, "has no column \"nope\"");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = avatar\n", w->root);
	expect_refused(w, text, "references: 'avatar' is not table.column");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.id\n", w->root, w->t->schema);
	expect_refused(w, text, "column is of type integer");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.nosuch.path\n", w->root, w->t->schema);
	expect_refused(w, text, "does not exist");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar\nfile_table = %s.uploads\n",
	         w->root, w->t->schema, w->t->schema);
	expect_refused(w, text, "file_table and file_path_column go together");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.uploads.path\nfile_table = %s.uploads\n"
	         "file_path_column = path\n", w->root, w->t->schema,
	         w->t->schema);
	expect_refused(w, text, "this is file_table's file_path_column");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar\nwhere = kind = 'x'\n",
	         w->root, w->t->schema);
	expect_refused(w, text, "where applies to the rows of file_table");
	snprintf(text, sizeof(text), "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar\nfile_table = %s.uploads\n"
	         "file_path_column = path\nwhere = no_such_column = 1\n",
	         w->root, w->t->schema, w->t->schema);
	expect_refused(w, text, "no_such_column");
	assert_content(w->root, "old.bin", "x");
}

static void the_binary_dry_runs_and_runs_the_job(void **state)
{
	world *w = *state;
	char *out, *err;

	std_data(w);
	world_std_job(w, "");
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR
	                        " --json --dry-run %s", w->t->dir, w->t->job),
	                 0);
	assert_contains(out, "\"would_delete\":4");
	assert_contains(out, "\"would_delete_rows\":2");
	assert_contains(out, "\"a/b/c/deep-orphan.bin\"");
	assert_true(exists(w->root, "old-orphan.png"));
	free(out);
	free(err);
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR
	                        " --json --run %s", w->t->dir, w->t->job),
	                 0);
	assert_contains(out, "\"deleted\":4");
	assert_contains(out, "\"rows_deleted\":2");
	assert_contains(out, "\"bytes_freed\":10");
	free(out);
	free(err);
	assert_std_outcome(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(deletes_old_orphans_with_their_rows),
		T(a_reference_from_either_table_keeps_the_file),
		T(path_prefix_is_matched_before_the_relative_path),
		T(pattern_limits_the_files_considered),
		T(symbolic_links_are_never_followed_nor_deleted),
		T(dry_run_counts_samples_and_changes_nothing),
		T(audit_records_equal_deleted_rows_and_files),
		T(where_keeps_files_whose_rows_fail_it),
		T(a_row_that_cannot_go_keeps_its_file_and_the_rest_goes),
		T(quoted_names_with_quotes_and_spaces_are_safe),
		T(where_with_a_semicolon_is_refused_at_load),
		T(init_refuses_a_relative_or_unsafe_directory),
		T(init_refuses_bad_references_and_file_table),
		T(the_binary_dry_runs_and_runs_the_job),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
