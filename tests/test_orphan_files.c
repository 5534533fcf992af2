/* orphan_files against the real PostgreSQL and a real scratch directory:
 * the real plugin .so, loaded by the real loader and run by the host's
 * runner as sweepd --run does, and once through the real binary.  Both
 * modes: without file_table the directory is walked; with it the records
 * of file_table drive the run and no file without a record is touched. */
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

/* A directory-walk job (no file_table) over root with references
 * users.avatar and projects.images, older_than 30d, plus extra lines. */
static void world_walk_job(world *w, const char *extra)
{
	const char *s = w->t->schema;
	char text[2048];

	snprintf(text, sizeof(text),
	         "directory = %s\nolder_than = 30d\n"
	         "references = %s.users.avatar, %s.projects.images\n%s",
	         w->root, s, s, extra);
	world_job(w, text);
}

/* A record-driven job: the walk job's lines plus file table
 * uploads(path), timed by created_at, plus extra lines. */
static void world_rec_job(world *w, const char *extra)
{
	const char *s = w->t->schema;
	char text[2048];

	snprintf(text, sizeof(text),
	         "file_table = %s.uploads\nfile_path_column = path\n"
	         "time_column = created_at\n%s", s, extra);
	world_walk_job(w, text);
}

/* A new world (tu_world prefix "orphan") with empty tables users(avatar),
 * projects(images) and uploads(path, kind, created_at) and empty root and
 * outside. */
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
	       " path text NOT NULL, kind text DEFAULT 'image',"
	       " created_at timestamptz DEFAULT now() - interval '40 days')",
	       s, s, s);
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

/* Fails unless the ids of uploads are expect ("1,2,3"). */
static void assert_ids(world *w, const char *expect)
{
	char *ids = upload_ids(w);

	assert_string_equal(ids, expect);
	free(ids);
}

/* The rows sweepd recorded of the world's job in sweepd.table. */
static long long recorded(world *w, const char *table)
{
	return tu_sql_int(w->t->db, "SELECT count(*) FROM sweepd.%s WHERE job ="
	                  " '%s'", table, w->t->job);
}

/* Adds the record (id, path) to uploads, created age seconds ago (age < 0:
 * a NULL time). */
static void record(world *w, int id, const char *path, long age)
{
	if (age < 0)
		tu_sql(w->t->db, "INSERT INTO %s.uploads (id, path, created_at)"
		       " VALUES (%d, '%s', NULL)", w->t->schema, id, path);
	else
		tu_sql(w->t->db, "INSERT INTO %s.uploads (id, path, created_at)"
		       " VALUES (%d, '%s', now() - interval '%ld seconds')",
		       w->t->schema, id, path, age);
}

/* Makes users reference avatars/kept.png and projects reference
 * projects/cover.png (among NULLs and other paths). */
static void references(world *w)
{
	tu_sql(w->t->db,
	       "INSERT INTO %s.users VALUES (1, 'avatars/kept.png'), (2, NULL);"
	       "INSERT INTO %s.projects VALUES"
	       " (1, '{other.png,projects/cover.png}'), (2, NULL)",
	       w->t->schema, w->t->schema);
}

/* ---- Without file_table: the directory walk. ---- */

/* The standard files of the walk: every case of the walk job, whose run
 * must delete exactly 4 files (10 bytes). */
static void walk_data(world *w)
{
	put(w->root, "old-orphan.png", "12345", OLD);         /* goes */
	put(w->root, "a/b/c/deep-orphan.bin", "xyz", OLD);    /* goes */
	put(w->root, "avatars/kept.png", "avatar", OLD);      /* users */
	put(w->root, "projects/cover.png", "cover", OLD);     /* projects */
	put(w->root, "new-orphan.png", "new", NEW);           /* too new */
	put(w->root, "edge-older.png", "ab", 30 * DAY + 120); /* goes */
	put(w->root, "edge-younger.png", "cd", 30 * DAY - 120);
	put(w->root, "empty.png", "", OLD);                   /* goes */
	references(w);
}

/* Checks the world after walk_data went through a real run. */
static void assert_walk_outcome(world *w)
{
	assert_false(exists(w->root, "old-orphan.png"));
	assert_false(exists(w->root, "a/b/c/deep-orphan.bin"));
	assert_false(exists(w->root, "edge-older.png"));
	assert_false(exists(w->root, "empty.png"));
	assert_content(w->root, "avatars/kept.png", "avatar");
	assert_content(w->root, "projects/cover.png", "cover");
	assert_content(w->root, "new-orphan.png", "new");
	assert_content(w->root, "edge-younger.png", "cd");
	assert_true(exists(w->root, "a/b/c")); /* directories stay */
}

static void walk_deletes_old_unreferenced_files(void **state)
{
	world *w = *state;
	result r;

	walk_data(w);
	/* Small batches with a pause and timeouts: every path of a batch. */
	world_walk_job(w, "batch_size = 2\nbatch_pause = 1ms\n"
	               "lock_timeout = 2s\nstatement_timeout = 10s\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 8);
	assert_int_equal(tu_counter(&r, "deleted"), 4);
	assert_int_equal(tu_counter(&r, "bytes_freed"), 10);
	assert_int_equal(tu_counter(&r, "referenced"), 2);
	assert_int_equal(tu_counter(&r, "too_new"), 2);
	assert_int_equal(tu_counter(&r, "skipped"), 0);
	assert_int_equal(tu_counter(&r, "unmatched"), 0);
	assert_int_equal(counter(&r, "errors"), -1);
	assert_int_equal(counter(&r, "audited"), -1);
	assert_contains(r.message, "deleted 4 orphaned files (10 bytes) under");
	result_free(&r);
	assert_walk_outcome(w);
	/* A second run finds nothing more to do. */
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 0);
	assert_int_equal(tu_counter(&r, "examined"), 4);
	result_free(&r);
}

/* Seconds from a calendar year ago (in UTC) to now: 365 or 366 days. */
static long year_seconds(world *w)
{
	return (long)tu_sql_int(w->t->db, "SELECT extract(epoch FROM now() -"
	                        " ((now() AT TIME ZONE 'UTC' - interval"
	                        " '1 year') AT TIME ZONE 'UTC'))::int8");
}

/* older_than = 1y is a calendar year in both modes, not 365.25 days (6 h
 * more than a common year, 18 h less than a leap one): of two files (or
 * records) an hour either side of a year old, only the older goes. */
static void a_year_is_a_calendar_year_in_both_modes(void **state)
{
	world *w = *state;
	const char *s = w->t->schema;
	long year = year_seconds(w);
	char params[1024];
	result r;

	put(w->root, "walk-older.png", "o", year + 3600);
	put(w->root, "walk-younger.png", "y", year - 3600);
	snprintf(params, sizeof(params), "directory = %s\nolder_than = 1y\n"
	         "references = %s.users.avatar\npattern = walk-*\n", w->root,
	         s);
	world_job(w, params);
	assert_int_equal(tu_world_run_count(w->t, false, &r, "deleted"), 1);
	result_free(&r);
	assert_false(exists(w->root, "walk-older.png"));
	assert_content(w->root, "walk-younger.png", "y");

	put(w->root, "rec-older.png", "o", 0);
	put(w->root, "rec-younger.png", "y", 0);
	record(w, 1, "rec-older.png", year + 3600);
	record(w, 2, "rec-younger.png", year - 3600);
	snprintf(params, sizeof(params), "directory = %s\nolder_than = 1y\n"
	         "references = %s.users.avatar\nfile_table = %s.uploads\n"
	         "file_path_column = path\ntime_column = created_at\n",
	         w->root, s, s);
	world_job(w, params);
	assert_int_equal(tu_world_run_count(w->t, false, &r, "rows_deleted"),
	                 1);
	result_free(&r);
	assert_ids(w, "2");
	assert_false(exists(w->root, "rec-older.png"));
	assert_content(w->root, "rec-younger.png", "y");
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
	world_walk_job(w, "");
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

static void walk_path_prefix_is_matched_before_the_path(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "p/kept.png", "k", OLD);
	put(w->root, "p/gone.png", "g", OLD);
	put(w->root, "p/bare.png", "b", OLD);
	tu_sql(w->t->db, "INSERT INTO %s.users VALUES"
	       " (1, '/files/p/kept.png'), (2, 'p/bare.png')", w->t->schema);
	world_walk_job(w, "path_prefix = /files/\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 2);
	result_free(&r);
	assert_content(w->root, "p/kept.png", "k");
	assert_false(exists(w->root, "p/gone.png"));
	assert_false(exists(w->root, "p/bare.png"));
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
	world_walk_job(w, "pattern = *.tmp\n");
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
	world_walk_job(w, "pattern = cache/*\n");
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
	char *target;

	put(w->outside, "secret.txt", "secret", OLD);
	put(w->outside, "sub/old.bin", "outside", OLD);
	target = tu_path(w->outside, "secret.txt");
	link_to(w->root, "link-file", target);   /* to a file outside */
	link_to(w->root, "d/link-dir", w->outside); /* to a directory outside */
	link_to(w->root, "dangling", "/nonexistent/sweepd-test");
	link_to(w->root, "d/up", "..");
	put(w->root, "real/orphan.bin", "x", OLD);
	{
		char *fifo = tu_path(w->root, "real/fifo");
		assert_int_equal(mkfifo(fifo, 0600), 0);
		set_age(fifo, OLD, false);
		free(fifo);
	}
	world_walk_job(w, "");
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
	free(target);
}

/* md5 of every row of uploads, users and projects: the database part of
 * "nothing changed". */
static char *db_digest(world *w)
{
	const char *s = w->t->schema;

	return tu_sql_text(w->t->db, "SELECT md5(concat("
	        " (SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.uploads t),"
	        " (SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.users t),"
	        " (SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.projects t)"
	        "))", s, s, s);
}

static void walk_dry_run_counts_samples_and_changes_nothing(void **state)
{
	world *w = *state;
	result r;
	char *files_before, *files_after, *db_before, *db_after;

	walk_data(w);
	link_to(w->root, "link-file", w->outside);
	world_walk_job(w, "audit_files = true\n"
	               "lock_timeout = 2s\nstatement_timeout = 10s\n"
	               "batch_size = 1\nbatch_pause = 1s\n");
	files_before = tree(w);
	db_before = db_digest(w);
	tu_world_run_ok(w->t, true, &r);
	assert_int_equal(tu_counter(&r, "would_delete"), 4);
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
	                "under");
	result_free(&r);
	files_after = tree(w);
	db_after = db_digest(w);
	assert_string_equal(files_before, files_after);
	assert_string_equal(db_before, db_after);
	assert_int_equal(recorded(w, "audit"), 0);
	assert_int_equal(recorded(w, "runs"), 0);
	free(files_before);
	free(files_after);
	free(db_before);
	free(db_after);
}

static void walk_audits_each_deleted_file(void **state)
{
	world *w = *state;
	result r;
	char *got;

	walk_data(w);
	world_walk_job(w, "audit_files = true\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 4);
	assert_int_equal(tu_counter(&r, "audited"), 4);
	result_free(&r);
	/* Exactly the deleted files, each once. */
	got = tu_sql_text(w->t->db, "SELECT count(DISTINCT data->>'path') FROM"
	                  " sweepd.audit WHERE job = '%s' AND action ="
	                  " 'deleted_file' AND table_name = '%s' AND"
	                  " data->>'path' IN ('old-orphan.png',"
	                  " 'a/b/c/deep-orphan.bin', 'edge-older.png',"
	                  " 'empty.png') AND (data->>'bytes')::int8 ="
	                  " length(CASE data->>'path' WHEN 'old-orphan.png'"
	                  " THEN '12345' WHEN 'a/b/c/deep-orphan.bin' THEN"
	                  " 'xyz' WHEN 'edge-older.png' THEN 'ab' ELSE '' END)"
	                  " AND (data->>'mtime')::timestamptz < now() -"
	                  " interval '30 days'", w->t->job, w->root);
	assert_string_equal(got, "4");
	free(got);
	assert_int_equal(recorded(w, "audit"), 4);
	assert_walk_outcome(w);
}

/* ---- With file_table: the records drive the run. ---- */

/* The standard records and files: every case of the record job, whose
 * run must delete exactly 5 files (12 bytes) and 6 records, 1 of them a
 * record whose file was already gone. */
static void rec_data(world *w)
{
	put(w->root, ".gitkeep", "", OLD);                   /* no record */
	put(w->root, "exports/report-2026-10.csv", "a,b\n", OLD);
	put(w->root, "stray.bin", "stray", OLD);             /* no record */
	put(w->root, "old-orphan.png", "12345", OLD);
	record(w, 1, "old-orphan.png", OLD);                 /* goes */
	put(w->root, "touched.png", "tt", DAY);              /* touched */
	record(w, 2, "touched.png", OLD);                    /* goes */
	put(w->root, "fresh-record.png", "fr", OLD);
	record(w, 3, "fresh-record.png", DAY);               /* stays */
	put(w->root, "avatars/kept.png", "avatar", OLD);
	record(w, 4, "avatars/kept.png", OLD);               /* users */
	put(w->root, "projects/cover.png", "cover", OLD);
	record(w, 5, "projects/cover.png", OLD);             /* projects */
	record(w, 6, "missing.png", OLD);                    /* goes */
	record(w, 7, "missing-new.png", DAY);                /* stays */
	put(w->root, "a/b/c/deep.bin", "xyz", OLD);
	record(w, 8, "a/b/c/deep.bin", OLD);                 /* goes */
	put(w->root, "null-time.png", "nt", OLD);
	record(w, 9, "null-time.png", -1);                   /* stays */
	put(w->root, "edge-older.png", "ab", OLD);
	record(w, 10, "edge-older.png", 30 * DAY + 120);     /* goes */
	put(w->root, "edge-younger.png", "cd", OLD);
	record(w, 11, "edge-younger.png", 30 * DAY - 120);   /* stays */
	put(w->root, "empty.png", "", OLD);
	record(w, 12, "empty.png", OLD);                     /* goes */
	references(w);
}

/* Checks the world after rec_data went through a real run. */
static void assert_rec_outcome(world *w)
{
	assert_content(w->root, ".gitkeep", "");
	assert_content(w->root, "exports/report-2026-10.csv", "a,b\n");
	assert_content(w->root, "stray.bin", "stray");
	assert_false(exists(w->root, "old-orphan.png"));
	assert_false(exists(w->root, "touched.png"));
	assert_content(w->root, "fresh-record.png", "fr");
	assert_content(w->root, "avatars/kept.png", "avatar");
	assert_content(w->root, "projects/cover.png", "cover");
	assert_false(exists(w->root, "a/b/c/deep.bin"));
	assert_true(exists(w->root, "a/b/c")); /* directories stay */
	assert_content(w->root, "null-time.png", "nt");
	assert_false(exists(w->root, "edge-older.png"));
	assert_content(w->root, "edge-younger.png", "cd");
	assert_false(exists(w->root, "empty.png"));
	assert_ids(w, "3,4,5,7,9,11");
}

static void records_go_with_their_files(void **state)
{
	world *w = *state;
	result r;

	rec_data(w);
	/* Small batches with a pause and timeouts: every path of a batch. */
	world_rec_job(w, "batch_size = 2\nbatch_pause = 1ms\n"
	              "lock_timeout = 2s\nstatement_timeout = 10s\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 8);
	assert_int_equal(tu_counter(&r, "deleted"), 5);
	assert_int_equal(tu_counter(&r, "bytes_freed"), 12);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 6);
	assert_int_equal(tu_counter(&r, "missing_files"), 1);
	assert_int_equal(tu_counter(&r, "referenced"), 2);
	assert_int_equal(tu_counter(&r, "skipped"), 0);
	assert_int_equal(tu_counter(&r, "unmatched"), 0);
	assert_int_equal(counter(&r, "too_new"), -1);
	assert_int_equal(counter(&r, "errors"), -1);
	assert_int_equal(counter(&r, "audited"), -1);
	assert_contains(r.message, "deleted 5 orphaned files (12 bytes) and 6 "
	                "records, 1 of them without its file, under");
	result_free(&r);
	assert_rec_outcome(w);
	/* A second run finds nothing more to do. */
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 2);
	assert_int_equal(tu_counter(&r, "deleted"), 0);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 0);
	assert_int_equal(tu_counter(&r, "missing_files"), 0);
	result_free(&r);
	assert_rec_outcome(w);
}

static void files_without_a_record_are_never_touched(void **state)
{
	world *w = *state;
	result r;

	put(w->root, ".gitkeep", "", OLD);
	put(w->root, "exports/report-2026-10.csv", "month,total\n", OLD);
	put(w->root, "deep/er/stray.bin", "stray", OLD);
	put(w->root, "gone.png", "g", OLD);
	record(w, 1, "gone.png", OLD);
	world_rec_job(w, "");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 1);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	result_free(&r);
	assert_content(w->root, ".gitkeep", "");
	assert_content(w->root, "exports/report-2026-10.csv", "month,total\n");
	assert_content(w->root, "deep/er/stray.bin", "stray");
	assert_false(exists(w->root, "gone.png"));
	assert_ids(w, "");
}

static void a_record_without_its_file_goes_counted_apart(void **state)
{
	world *w = *state;
	result r;

	record(w, 1, "never-written.png", OLD);
	record(w, 2, "sub/dir/never.png", OLD);  /* no such directory */
	put(w->root, "file.png", "f", OLD);
	record(w, 3, "file.png/below", OLD);     /* a file is no directory */
	record(w, 4, "fresh-missing.png", NEW);  /* too new: stays */
	world_rec_job(w, "audit_columns = id\naudit_files = true\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "missing_files"), 3);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 3);
	assert_int_equal(tu_counter(&r, "deleted"), 0);
	assert_int_equal(tu_counter(&r, "bytes_freed"), 0);
	/* The records' audit records; no file was deleted. */
	assert_int_equal(tu_counter(&r, "audited"), 3);
	result_free(&r);
	assert_ids(w, "4");
	assert_content(w->root, "file.png", "f");
	assert_int_equal(tu_sql_int(w->t->db, "SELECT count(*) FROM"
	                            " sweepd.audit WHERE job = '%s' AND action"
	                            " = 'deleted' AND data->>'id' IN ('1', '2',"
	                            " '3')", w->t->job), 3);
}

static void a_fresh_file_of_an_old_record_goes(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "touched-yesterday.png", "t", DAY);
	put(w->root, "written-now.png", "n", 0);
	record(w, 1, "touched-yesterday.png", OLD);
	record(w, 2, "written-now.png", OLD);
	world_rec_job(w, "");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "deleted"), 2);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 2);
	result_free(&r);
	assert_false(exists(w->root, "touched-yesterday.png"));
	assert_false(exists(w->root, "written-now.png"));
	assert_ids(w, "");
}

static void an_old_file_of_a_fresh_record_stays(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "old-file.png", "o", OLD);
	put(w->root, "null-time.png", "n", OLD);
	record(w, 1, "old-file.png", DAY);
	record(w, 2, "null-time.png", -1);
	world_rec_job(w, "");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "examined"), 0);
	assert_int_equal(tu_counter(&r, "deleted"), 0);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 0);
	result_free(&r);
	assert_content(w->root, "old-file.png", "o");
	assert_content(w->root, "null-time.png", "n");
	assert_ids(w, "1,2");
}

static void referenced_records_stay_with_their_files(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "avatars/kept.png", "a", OLD);
	put(w->root, "projects/cover.png", "c", OLD);
	put(w->root, "avatars/kept", "prefix", OLD); /* a prefix: goes */
	record(w, 1, "avatars/kept.png", OLD);
	record(w, 2, "projects/cover.png", OLD);
	record(w, 3, "avatars/kept", OLD);
	record(w, 4, "other.png", OLD);        /* referenced, no file */
	references(w);
	world_rec_job(w, "");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "referenced"), 3);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "missing_files"), 0);
	result_free(&r);
	assert_content(w->root, "avatars/kept.png", "a");
	assert_content(w->root, "projects/cover.png", "c");
	assert_false(exists(w->root, "avatars/kept"));
	assert_ids(w, "1,2,4");
}

/* Adds to rec_data a record of a link and of a path escaping the
 * directory: one skipped, one failed item. */
static void rec_data_unsafe(world *w)
{
	put(w->outside, "secret.txt", "secret", OLD);
	link_to(w->root, "link.png", w->outside);
	record(w, 20, "link.png", OLD);
	record(w, 21, "../escape.png", OLD);
}

static void record_dry_run_counts_as_the_run_and_changes_nothing(void **st)
{
	static const char *const same[][2] = {
		{ "examined", "examined" }, { "referenced", "referenced" },
		{ "skipped", "skipped" }, { "unmatched", "unmatched" },
		{ "missing_files", "missing_files" }, { "errors", "errors" },
		{ "would_delete", "deleted" },
		{ "would_delete_rows", "rows_deleted" },
		{ "would_free_bytes", "bytes_freed" },
	};
	world *w = *st;
	result dry, r;
	char *files_before, *files_after, *db_before, *db_after;
	size_t i;

	rec_data(w);
	rec_data_unsafe(w);
	world_rec_job(w, "audit_columns = id, path\naudit_files = true\n"
	              "lock_timeout = 2s\nstatement_timeout = 10s\n"
	              "batch_size = 1\nbatch_pause = 1s\n");
	files_before = tree(w);
	db_before = db_digest(w);
	tu_world_run_ok(w->t, true, &dry);
	files_after = tree(w);
	db_after = db_digest(w);
	assert_string_equal(files_before, files_after);
	assert_string_equal(db_before, db_after);
	assert_int_equal(recorded(w, "audit"), 0);
	assert_int_equal(recorded(w, "runs"), 0);
	assert_int_equal(tu_counter(&dry, "would_delete"), 5);
	assert_int_equal(tu_counter(&dry, "would_delete_rows"), 6);
	assert_int_equal(tu_counter(&dry, "would_free_bytes"), 12);
	assert_int_equal(tu_counter(&dry, "missing_files"), 1);
	assert_int_equal(tu_counter(&dry, "skipped"), 1);
	assert_int_equal(tu_counter(&dry, "errors"), 1);
	assert_int_equal(counter(&dry, "deleted"), -1);
	assert_int_equal(dry.nsamples, 6);
	assert_true(sampled(&dry, "old-orphan.png"));
	assert_true(sampled(&dry, "touched.png"));
	assert_true(sampled(&dry, "a/b/c/deep.bin"));
	assert_true(sampled(&dry, "missing.png (no file)"));
	assert_contains(dry.message, "would delete 5 orphaned files (12 bytes)"
	                " and 6 records, 1 of them without its file, under");

	/* The run then does what the dry run said (and fails for its one
	 * failed item, as every run with failed items does). */
	world_rec_job(w, "audit_columns = id, path\naudit_files = true\n");
	tu_world_run_items(w->t, false, &r, 1);
	for (i = 0; i < sizeof same / sizeof *same; i++)
		if (tu_counter(&dry, same[i][0]) != tu_counter(&r, same[i][1]))
			fail_msg("dry run %s = %lld, run %s = %lld", same[i][0],
			         tu_counter(&dry, same[i][0]), same[i][1],
			         tu_counter(&r, same[i][1]));
	/* 6 records and 5 files. */
	assert_int_equal(tu_counter(&r, "audited"), 11);
	assert_int_equal(recorded(w, "audit"), 11);
	result_free(&dry);
	result_free(&r);
	free(files_before);
	free(files_after);
	free(db_before);
	free(db_after);
}

static void a_record_path_escaping_the_directory_is_refused(void **state)
{
	world *w = *state;
	result r;
	char *up, *abs, *target;
	size_t i;
	bool named;

	put(w->outside, "secret.txt", "secret", OLD);
	put(w->outside, "sub/old.bin", "outside", OLD);
	up = tu_path("..", strrchr(w->outside, '/') + 1); /* ../outside */
	abs = tu_path(w->outside, "secret.txt");
	target = tu_path(up, "secret.txt");
	record(w, 1, target, OLD);                      /* ../x/secret.txt */
	record(w, 2, abs, OLD);                         /* absolute */
	record(w, 3, "d/../../escape.txt", OLD);
	record(w, 4, "dir/", OLD);                      /* names no file */
	record(w, 5, "", OLD);
	/* Links are never followed: skipped, kept with their records. */
	link_to(w->root, "link-file", abs);
	link_to(w->root, "d/link-dir", w->outside);
	record(w, 6, "link-file", OLD);
	record(w, 7, "d/link-dir/sub/old.bin", OLD);
	put(w->root, "dir/real.bin", "x", OLD);         /* a directory */
	record(w, 8, "dir", OLD);
	record(w, 9, "dir/real.bin", OLD);              /* goes */
	world_rec_job(w, "");
	tu_world_run_items(w->t, false, &r, 5);
	assert_int_equal(tu_counter(&r, "skipped"), 3);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "missing_files"), 0);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 1);
	for (i = 0, named = false; i < r.nerrors; i++)
		if (strstr(r.errors[i], "d/../../escape.txt: not a file inside "
		           "directory"))
			named = true;
	if (!named)
		fail_msg("no error names d/../../escape.txt (%zu errors%s%s)",
		         r.nerrors, r.nerrors ? ", first: " : "",
		         r.nerrors ? r.errors[0] : "");
	result_free(&r);
	assert_content(w->outside, "secret.txt", "secret");
	assert_content(w->outside, "sub/old.bin", "outside");
	assert_link(w->root, "link-file", abs);
	assert_link(w->root, "d/link-dir", w->outside);
	assert_true(exists(w->root, "dir"));
	assert_false(exists(w->root, "dir/real.bin"));
	assert_ids(w, "1,2,3,4,5,6,7,8");
	free(up);
	free(abs);
	free(target);
}

static void record_path_prefix_and_pattern(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "p/kept.png", "k", OLD);
	put(w->root, "p/gone.png", "g", OLD);
	put(w->root, "p/bare.png", "b", OLD);
	put(w->root, "p/skip.txt", "s", OLD);
	record(w, 1, "/files/p/kept.png", OLD);
	record(w, 2, "/files/p/gone.png", OLD);
	record(w, 3, "p/bare.png", OLD);        /* not under the prefix */
	record(w, 4, "/files/p/skip.txt", OLD); /* not the pattern */
	record(w, 5, "/files/p/none.png", OLD); /* no file */
	tu_sql(w->t->db, "INSERT INTO %s.users VALUES"
	       " (1, '/files/p/kept.png')", w->t->schema);
	world_rec_job(w, "path_prefix = /files/\npattern = *.png\n");
	tu_world_run_ok(w->t, false, &r);
	assert_int_equal(tu_counter(&r, "unmatched"), 2);
	assert_int_equal(tu_counter(&r, "referenced"), 1);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "missing_files"), 1);
	result_free(&r);
	assert_content(w->root, "p/kept.png", "k");
	assert_false(exists(w->root, "p/gone.png"));
	assert_content(w->root, "p/bare.png", "b");
	assert_content(w->root, "p/skip.txt", "s");
	assert_ids(w, "1,3,4");
}

static void where_narrows_the_records_and_a_shared_file_stays(void **state)
{
	world *w = *state;
	result r;

	put(w->root, "w/keep.png", "1", OLD);
	put(w->root, "w/null.png", "2", OLD);
	put(w->root, "w/go.png", "3", OLD);
	put(w->root, "w/mixed.png", "5", OLD);
	put(w->root, "w/young.png", "6", OLD);
	tu_sql(w->t->db, "INSERT INTO %s.uploads (id, path, kind) VALUES"
	       " (1, 'w/keep.png', 'keep'), (2, 'w/null.png', NULL),"
	       " (3, 'w/go.png', 'image'),"
	       " (4, 'w/mixed.png', 'image'), (5, 'w/mixed.png', 'keep'),"
	       " (6, 'w/young.png', 'image')", w->t->schema);
	/* Record 7 names young.png too, but is a day old. */
	record(w, 7, "w/young.png", DAY);
	world_rec_job(w, "where = kind <> 'keep'\n");
	tu_world_run_ok(w->t, false, &r);
	/* go, mixed (4) and young (6) are candidates. */
	assert_int_equal(tu_counter(&r, "examined"), 3);
	assert_int_equal(tu_counter(&r, "shared"), 2);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "rows_deleted"), 1);
	result_free(&r);
	assert_content(w->root, "w/keep.png", "1");
	assert_content(w->root, "w/null.png", "2");
	assert_content(w->root, "w/mixed.png", "5");
	assert_content(w->root, "w/young.png", "6");
	assert_false(exists(w->root, "w/go.png"));
	assert_ids(w, "1,2,4,5,6,7");
}

static void a_record_that_cannot_go_keeps_its_file(void **state)
{
	world *w = *state;
	result r;

	/* A deferred foreign key: without SET CONSTRAINTS ALL IMMEDIATE it
	 * would fail at COMMIT, after the file is gone. */
	tu_sql(w->t->db, "CREATE TABLE %s.thumbs (upload_id int REFERENCES"
	       " %s.uploads (id) DEFERRABLE INITIALLY DEFERRED)", w->t->schema,
	       w->t->schema);
	put(w->root, "t/held.png", "held", OLD);
	put(w->root, "t/free.png", "free", OLD);
	record(w, 1, "t/held.png", OLD);
	record(w, 2, "t/free.png", OLD);
	tu_sql(w->t->db, "INSERT INTO %s.thumbs VALUES (1)", w->t->schema);
	world_rec_job(w, "audit_columns = id\naudit_files = true\n");
	tu_world_run_items(w->t, false, &r, 1);
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "audited"), 2);
	assert_int_equal(r.nerrors, 1);
	assert_contains(r.errors[0], "t/held.png: deleting its records");
	assert_contains(r.errors[0], "foreign key");
	result_free(&r);
	assert_content(w->root, "t/held.png", "held");
	assert_false(exists(w->root, "t/free.png"));
	assert_ids(w, "1");
	/* The held file's audit records were rolled back with it. */
	assert_int_equal(recorded(w, "audit"), 2);
}

/* Makes unlinking base/rel fail (on) or work again (off): an immutable
 * file for root, whom permissions do not stop, else a read-only parent
 * directory.  Returns false when that cannot be done here. */
static bool unlink_blocked(const char *base, const char *rel, bool on)
{
	char *path = tu_path(base, rel), *dir = strdup(path);
	bool done;

	assert_non_null(dir);
	*strrchr(dir, '/') = '\0';
	if (geteuid() == 0)
		done = tu_run(NULL, NULL, "chattr %si '%s' 2>/dev/null",
		              on ? "+" : "-", path) == 0;
	else
		done = chmod(dir, on ? 0555 : 0755) == 0;
	free(path);
	free(dir);
	return done;
}

static void an_unlink_that_fails_keeps_the_record(void **state)
{
	world *w = *state;
	result r;
	bool ok;

	put(w->root, "ro/held.png", "held", OLD);
	put(w->root, "free.png", "free", OLD);
	record(w, 1, "ro/held.png", OLD);
	record(w, 2, "free.png", OLD);
	world_rec_job(w, "audit_files = true\n");
	if (!unlink_blocked(w->root, "ro/held.png", true))
		skip();
	/* Unblocked before any check can end the test. */
	ok = tu_world_run(w->t, false, &r) == RUNNER_FAILED && r.error &&
	     strcmp(r.error, "1 item failed; see errors") == 0;
	assert_true(unlink_blocked(w->root, "ro/held.png", false));
	if (!ok)
		fail_msg("run failed: %s", r.error ? r.error : "(no error)");
	assert_int_equal(tu_counter(&r, "deleted"), 1);
	assert_int_equal(tu_counter(&r, "errors"), 1);
	/* The held file's audit record was rolled back with its record. */
	assert_int_equal(tu_counter(&r, "audited"), 1);
	assert_contains(r.errors[0], "ro/held.png: cannot delete the file");
	result_free(&r);
	assert_content(w->root, "ro/held.png", "held");
	assert_false(exists(w->root, "free.png"));
	assert_ids(w, "1");
	assert_int_equal(recorded(w, "audit"), 1);
}

static void quoted_names_with_quotes_and_spaces_are_safe(void **state)
{
	world *w = *state;
	const char *s = w->t->schema;
	result r;
	char text[2048], *got;

	tu_sql(w->t->db,
	       "CREATE TABLE %s.\"odd\"\"name\" (\"made at\" text);"
	       "CREATE TABLE %s.\"up loads\" (id int, \"file path\" text,"
	       " \"uploaded at\" timestamp);"
	       "INSERT INTO %s.\"odd\"\"name\" VALUES ('q/kept');"
	       "INSERT INTO %s.\"up loads\" VALUES"
	       " (1, 'q/gone', localtimestamp - interval '40 days'),"
	       " (2, 'q/kept', localtimestamp - interval '40 days')",
	       s, s, s, s);
	put(w->root, "q/kept", "k", OLD);
	put(w->root, "q/gone", "g", OLD);
	snprintf(text, sizeof(text),
	         "directory = %s\nolder_than = 30d\n"
	         "references = %s.odd\"name.made at, \"%s\".\"odd\"\"name\"."
	         "\"made at\"\nfile_table = %s.up loads\n"
	         "file_path_column = file path\n"
	         "time_column = uploaded at\n"
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
	         "where = kind = 'x'; DROP TABLE %s.users\n"
	         "time_column = created_at\n",
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
	static const struct {
		const char *params; /* $S: the schema */
		const char *expect;
	} cases[] = {
		{ "references = $S.users.nope\n", "has no column \"nope\"" },
		{ "references = avatar\n",
		  "references: 'avatar' is not table.column" },
		{ "references = $S.users.id\n", "column is of type integer" },
		{ "references = $S.nosuch.path\n", "does not exist" },
		{ "references = $S.users.avatar\nfile_table = $S.uploads\n"
		  "time_column = created_at\n",
		  "file_table and file_path_column go together" },
		{ "references = $S.uploads.path\nfile_table = $S.uploads\n"
		  "file_path_column = path\ntime_column = created_at\n",
		  "this is file_table's file_path_column" },
		{ "references = $S.users.avatar\nwhere = kind = 'x'\n",
		  "where applies to the rows of file_table" },
		{ "references = $S.users.avatar\ntime_column = created_at\n",
		  "time_column applies to the rows of file_table" },
		{ "references = $S.users.avatar\nfile_table = $S.uploads\n"
		  "file_path_column = path\n",
		  "time_column: with file_table, name the column of file_table "
		  "holding each record's time" },
		{ "references = $S.users.avatar\nfile_table = $S.uploads\n"
		  "file_path_column = path\ntime_column = kind\n",
		  "time_column = kind: column is of type text; it must be a "
		  "timestamp or a date" },
		{ "references = $S.users.avatar\nfile_table = $S.uploads\n"
		  "file_path_column = path\ntime_column = at\n",
		  "\"uploads\" is of type time without time zone: an age "
		  "needs timestamptz, timestamp or date" },
		{ "references = $S.users.avatar\nfile_table = $S.uploads\n"
		  "file_path_column = path\ntime_column = nope\n",
		  "time_column = nope: table" },
		{ "references = $S.users.avatar\nfile_table = $S.uploads\n"
		  "file_path_column = path\ntime_column = created_at\n"
		  "where = no_such_column = 1\n", "no_such_column" },
	};
	world *w = *state;
	char text[2048];
	const char *p;
	size_t i, n;

	put(w->root, "old.bin", "x", OLD);
	record(w, 1, "old.bin", OLD);
	tu_sql(w->t->db, "ALTER TABLE %s.uploads ADD at time DEFAULT '00:00'",
	       w->t->schema);
	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		n = (size_t)snprintf(text, sizeof(text), "directory = %s\n"
		                     "older_than = 30d\n", w->root);
		for (p = cases[i].params; *p && n + 100 < sizeof(text); p++)
			if (strncmp(p, "$S", 2) == 0)
				n += (size_t)snprintf(text + n, sizeof(text) - n,
				                      "%s", w->t->schema), p++;
			else
				text[n++] = *p;
		text[n] = '\0';
		expect_refused(w, text, cases[i].expect);
	}
	assert_content(w->root, "old.bin", "x");
	assert_ids(w, "1");
}

static void the_binary_dry_runs_and_runs_the_job(void **state)
{
	world *w = *state;
	char *out, *err;

	rec_data(w);
	world_rec_job(w, "");
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR
	                        " --json --dry-run %s", w->t->dir, w->t->job),
	                 0);
	assert_contains(out, "\"would_delete\":5");
	assert_contains(out, "\"would_delete_rows\":6");
	assert_contains(out, "\"missing_files\":1");
	assert_contains(out, "\"a/b/c/deep.bin\"");
	assert_true(exists(w->root, "old-orphan.png"));
	free(out);
	free(err);
	assert_int_equal(tu_run(&out, &err, SWEEPD_BIN " --conf-dir %s"
	                        " --plugin-dir " SWEEPD_PLUGIN_DIR
	                        " --json --run %s", w->t->dir, w->t->job),
	                 0);
	assert_contains(out, "\"deleted\":5");
	assert_contains(out, "\"rows_deleted\":6");
	assert_contains(out, "\"missing_files\":1");
	assert_contains(out, "\"bytes_freed\":12");
	free(out);
	free(err);
	assert_rec_outcome(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
		T(walk_deletes_old_unreferenced_files),
		T(a_year_is_a_calendar_year_in_both_modes),
		T(a_reference_from_either_table_keeps_the_file),
		T(walk_path_prefix_is_matched_before_the_path),
		T(pattern_limits_the_files_considered),
		T(symbolic_links_are_never_followed_nor_deleted),
		T(walk_dry_run_counts_samples_and_changes_nothing),
		T(walk_audits_each_deleted_file),
		T(records_go_with_their_files),
		T(files_without_a_record_are_never_touched),
		T(a_record_without_its_file_goes_counted_apart),
		T(a_fresh_file_of_an_old_record_goes),
		T(an_old_file_of_a_fresh_record_stays),
		T(referenced_records_stay_with_their_files),
		T(record_dry_run_counts_as_the_run_and_changes_nothing),
		T(a_record_path_escaping_the_directory_is_refused),
		T(record_path_prefix_and_pattern),
		T(where_narrows_the_records_and_a_shared_file_stays),
		T(a_record_that_cannot_go_keeps_its_file),
		T(an_unlink_that_fails_keeps_the_record),
		T(quoted_names_with_quotes_and_spaces_are_safe),
		T(where_with_a_semicolon_is_refused_at_load),
		T(init_refuses_a_relative_or_unsafe_directory),
		T(init_refuses_bad_references_and_file_table),
		T(the_binary_dry_runs_and_runs_the_job),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
