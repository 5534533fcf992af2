/*
 * orphan_files: deletes the uploaded files that no row of the database
 * mentions any more, once they are older than a given age, in one of two
 * modes.
 *
 * With file_table (the records mode) the table's rows drive the run, as an
 * application that records its uploads would: a record is an orphan when
 * its time_column is strictly before now minus older_than (the cutoff,
 * computed once per run by the database, its years, months and days
 * counted on the calendar of naive_timezone), it meets `where`, and no
 * column of `references` holds its path.  A time_column without a time
 * zone (timestamp, date) is read as wall-clock time in naive_timezone
 * (default UTC), whatever the session's TimeZone.  Such a record goes
 * with its file; a record whose file does not exist goes too, counted
 * apart ("missing_files").  A file that has no record is never touched,
 * whatever its age, and a file's own mtime plays no part.  Records are taken by
 * path, in path order, batch_size at a time: a file goes only when every
 * record naming it goes, else it stays with them ("shared").  A record
 * whose time_column is NULL never goes.
 *
 * Without file_table (the walk mode) the directory is walked: a regular
 * file is a candidate when its path relative to directory matches
 * `pattern` and its mtime is strictly before now minus older_than (now
 * taken once per run from the host's clock, the age counted back from it
 * by the database on the calendar of naive_timezone), and an orphan when
 * no column of `references` holds its path.
 *
 * In both, `pattern` is an fnmatch(3) glob on the path relative to
 * directory, without FNM_PATHNAME or FNM_PERIOD ("*" also matches "/" and
 * a leading dot, so the default "*" takes every file), and the path a
 * column holds is path_prefix, then that relative path.
 *
 * Only `directory` itself is opened by its path, with O_NOFOLLOW, in init.
 * Everything below it is reached from that descriptor one name at a time
 * with openat(O_NOFOLLOW | O_DIRECTORY), entering a directory only when it
 * is still the one fstatat(AT_SYMLINK_NOFOLLOW) saw, so a symbolic link is
 * never followed and nothing outside directory is reached.  A symbolic
 * link, socket, pipe or device is left alone and counted "skipped", and so
 * is a record naming one (or naming a directory, or a path through a
 * link).  A record's relative path that is empty, absolute, holds a ".."
 * part or ends in "/" is reported as a failed item and left alone with its
 * file.  Directories are never removed, even when they end up empty.
 *
 * Each candidate is checked and, when an orphan, deleted in a transaction
 * of its own (its records and their audit records, the file's audit
 * record, unlinkat() relative to its parent directory, then COMMIT); when
 * a part of it fails, the transaction rolls back, the candidate is
 * reported as a failed item and the run goes on with the others.  After
 * every batch_size candidates the run pauses batch_pause.
 *
 * Verify (SDK 1.9), in the records mode: the policy is that no orphan
 * record older than older_than remains.  verify measures the oldest
 * record the run's own condition takes at some age (the same where,
 * references and path column, without the cutoff): a path whose every
 * record meets where and has a time and that no reference holds, aged by
 * its youngest record, since the run takes a file's records only all
 * together; then, in the order of age, the first such path that
 * path_prefix and pattern match and whose file is not a link or other
 * non-regular file (which the run skips for good, looked at as the run
 * does).  A path the run refuses or cannot look at counts: its records
 * stay past the limit.  The paths come from one query that groups
 * file_table by path (every row read), read batch_size at a time.
 *
 * In the walk mode, verify measures the oldest file (by mtime, against the
 * host's clock) that pattern matches and no reference holds, at any age:
 * the whole directory walked as the run walks it, links never followed,
 * and the references checked batch_size paths a query.  Its cost is the
 * run's walk without its transactions: a stat of every entry and a query
 * per batch_size files, whatever their age.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* st_mtim, O_NOFOLLOW, O_DIRECTORY, O_CLOEXEC */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sweepd/plugin.h>

/* Directory levels the walk goes down; each holds one descriptor. */
#define MAX_DEPTH 64

/* The relation, type category and (for an array, its element's) category
 * and type name of a column; $1 is the quoted table, $2 the quoted column,
 * which must be one name. */
static const char COLUMN_SQL[] =
	"SELECT a.attrelid::oid, t.typcategory, coalesce(e.typcategory, ''),"
	" format_type(a.atttypid, NULL)"
	" FROM pg_attribute a"
	" JOIN pg_type t ON t.oid = a.atttypid"
	" LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'"
	" WHERE a.attrelid = $1::regclass"
	" AND ARRAY[a.attname::text] = parse_ident($2)"
	" AND a.attnum > 0 AND NOT a.attisdropped";

typedef struct orphan_state {
	const char *directory;   /* as written; host-owned */
	int root_fd;             /* directory, opened in init; -1: none */
	const char *pattern;     /* host-owned */
	const char *path_prefix; /* "" when unset; host-owned */
	const char *zone;        /* naive_timezone; host-owned */
	int64_t batch_size;
	int64_t pause_ms;
	int64_t lock_ms;         /* lock_timeout of a candidate's transaction */
	int64_t stmt_ms;         /* statement_timeout of it */
	bool audit_files;
	char *check_sql;         /* walk: $1 the path: referenced.  Records:
	                            $1 the path, $2 the cutoff: referenced,
	                            shared (a record of it stays), records */
	/* The records mode; all NULL (false) in the walk mode. */
	const char *file_table_name; /* as written, for audit; host-owned */
	bool audit_rows;         /* delete_sql returns an audit object */
	char *next_sql;          /* $1 the cutoff, $2 the last path taken
	                            (NULL: none yet), $3 how many: the next
	                            paths, in order, of records older than the
	                            cutoff that meet where */
	char *delete_sql;        /* $1 the path, $2 the cutoff: one row per
	                            deleted record: whether it is still an
	                            orphan, then its audit object */
	char *verify_sql;        /* for verify.  Records: every path whose
	                            records are all orphans at some age and
	                            that no reference holds, with the age in
	                            seconds of its youngest record, oldest
	                            first.  Walk: $1 paths (text[]): the
	                            1-based places of those no reference
	                            holds */
} orphan_state;

/* One pass of a run or dry run, over the directory (walk mode) or over the
 * records of file_table. */
typedef struct walk {
	const sweep_api *api;
	sweep_host *h;
	const orphan_state *st;
	bool dry;
	struct timespec cutoff;  /* walk: a file must be older than this */
	char *cutoff_text;       /* records: a record must be older than this,
	                            as the database wrote it */
	char *path;              /* path_prefix, then the relative path */
	size_t plen;             /* length of path_prefix */
	size_t cap;
	int64_t checked;         /* candidates checked against the database */
	int64_t files, bytes;    /* deleted, or that would be */
	int64_t rows, missing;   /* records deleted (or that would be), and
	                            paths of them whose file was missing */
	bool stopped;
	/* verify's pass: counts, reports and pauses nothing, and in the walk
	 * mode hands every file, whatever its age, to its visit */
	bool measure;
	struct timespec now;     /* walk: the host's clock, for the cutoff */
	char **batch;            /* measure, walk: paths waiting for their
	                            check (path_prefix included) */
	double *mtimes;          /* their mtimes, in seconds */
	size_t nbatch, batch_cap;
	double oldest;           /* the oldest unreferenced file's mtime */
	bool found;              /* oldest is set */
} walk;

/* What a record's path names under directory (file_find). */
typedef enum found {
	FOUND_FILE,  /* a regular file */
	FOUND_NONE,  /* nothing: a part of the path does not exist */
	FOUND_OTHER, /* a link, directory, device...: never touched */
	FOUND_ERROR, /* could not be looked at: reported as a failed item */
	FOUND_DIR    /* (file_find's own) a directory on the way, entered */
} found;

/* A record's file as file_find found it. */
typedef struct record_file {
	char *parts;      /* the relative path, split in place at '/' */
	const char *name; /* its last part, in parts */
	int dfd;          /* the directory holding it; -1: none open */
	struct stat sb;   /* the file's, when FOUND_FILE */
} record_file;

/* Outcomes of records_take. */
enum { TAKEN, KEPT, TAKE_FAILED };

/* Has the server parse and analyse sql (its parameters typed by their
 * casts) without running it, as PREPARE does (the statement is deallocated
 * again), so that a wrong name or condition fails init, not every file.
 * Returns 0, or -1 with *errmsg set. */
static int sql_check(const sweep_api *api, sweep_host *h, const char *sql,
                     const char *what, char **errmsg)
{
	PGresult *res = NULL;
	char *prepare;
	int rc = -1;

	prepare = api->mprintf("PREPARE orphan_files_check AS %s", sql);
	if (!prepare) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	res = api->query(h, prepare, 0, NULL, what, errmsg);
	if (!res)
		goto out;
	PQclear(res);
	res = api->query(h, "DEALLOCATE orphan_files_check", 0, NULL, what,
	                 errmsg);
	if (res)
		rc = 0;
out:
	PQclear(res);
	api->free(prepare);
	return rc;
}

/* Looks up column of table (both quoted) and returns its row of
 * COLUMN_SQL: relation oid, type category, element category, type name; or
 * NULL with *errmsg set to "option = text: reason" when either does not
 * exist. */
static PGresult *column_get(const sweep_api *api, sweep_host *h,
                            const char *table, const char *column,
                            const char *option, const char *text,
                            char **errmsg)
{
	const char *const params[2] = { table, column };
	PGresult *res;
	char *what;

	what = api->mprintf("%s = %s", option, text);
	if (!what) {
		*errmsg = api->mprintf("out of memory");
		return NULL;
	}
	res = api->query(h, COLUMN_SQL, 2, params, what, errmsg);
	if (res && PQntuples(res) != 1) {
		*errmsg = api->mprintf("%s: table %s has no column %s", what,
		                       table, column);
		PQclear(res);
		res = NULL;
	}
	api->free(what);
	return res;
}

/* column_get() for a column whose type category must be cat: NULL with
 * *errmsg set to "option = text: column is of type T; it must NEED" when
 * it is not. */
static PGresult *column_typed(const sweep_api *api, sweep_host *h,
                              const char *table, const char *column,
                              const char *option, const char *text,
                              const char *cat, const char *need,
                              char **errmsg)
{
	PGresult *res;

	res = column_get(api, h, table, column, option, text, errmsg);
	if (res && strcmp(PQgetvalue(res, 0, 1), cat) != 0) {
		*errmsg = api->mprintf("%s = %s: column is of type %s; it must "
		                       "%s", option, text, PQgetvalue(res, 0, 3),
		                       need);
		PQclear(res);
		res = NULL;
	}
	return res;
}

/* Sets *cond to the condition that the column named by item (one entry of
 * references: table.column or schema.table.column) holds path (SQL text
 * of type text: "$1::text", or a column of an outer query qualified by
 * any name but orphan_files_ref, the alias the table gets here): `col =
 * path` for a text column, `col @> ARRAY[path]::type[]` (which a GIN
 * index serves) for an array of text.  The column must not be ft_column
 * (quoted) of the relation ft_oid (the file table: every file with a row
 * would count as referenced).  Returns 0, or -1 with *errmsg set.  *cond is
 * freed with api->free. */
static int reference_sql(const sweep_api *api, sweep_host *h,
                         const char *item, const char *ft_oid,
                         const char *ft_column, const char *path,
                         char **cond, char **errmsg)
{
	const char *table, *column, *cat, *elem;
	PGresult *res = NULL;
	char *err = NULL;
	int rc = -1;

	if (api->split_column(h, item, &table, &column, &err) != 0) {
		*errmsg = api->mprintf("references: '%s' is not table.column or "
		                       "schema.table.column (quote a name that "
		                       "holds a dot: \"my.table\".path): %s",
		                       item, err ? err : "out of memory");
		goto out;
	}
	res = column_get(api, h, table, column, "references", item, errmsg);
	if (!res)
		goto out;
	if (ft_oid && strcmp(PQgetvalue(res, 0, 0), ft_oid) == 0 &&
	    strcmp(column, ft_column) == 0) {
		*errmsg = api->mprintf("references = %s: this is file_table's "
		                       "file_path_column; every file with a row "
		                       "would count as referenced", item);
		goto out;
	}
	cat = PQgetvalue(res, 0, 1);
	elem = PQgetvalue(res, 0, 2);
	if (strcmp(cat, "S") == 0)
		*cond = api->mprintf("EXISTS (SELECT 1 FROM %s orphan_files_ref"
		                     " WHERE %s = %s)", table, column, path);
	else if (strcmp(cat, "A") == 0 && strcmp(elem, "S") == 0)
		*cond = api->mprintf("EXISTS (SELECT 1 FROM %s orphan_files_ref"
		                     " WHERE %s @> ARRAY[%s]::%s)", table,
		                     column, path, PQgetvalue(res, 0, 3));
	else {
		*errmsg = api->mprintf("references = %s: column is of type %s; "
		                       "it must hold paths as text or an array "
		                       "of text", item, PQgetvalue(res, 0, 3));
		goto out;
	}
	if (!*cond) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	api->free(err);
	return rc;
}

/* Sets *out to the condition "some column of references holds path" (see
 * reference_sql): the EXISTS of each entry joined with OR.  ft_oid and
 * ft_column name the file table's path column (NULL: none), which may not
 * be an entry.  Returns 0, or -1 with *errmsg set.  *out is freed with
 * api->free. */
static int references_sql(const sweep_api *api, sweep_host *h,
                          const char *ft_oid, const char *ft_column,
                          const char *path, char **out, char **errmsg)
{
	const char *const *items;
	char *sql = NULL, *next, *cond = NULL;
	size_t i, n;

	n = api->opt_list(h, "references", &items);
	if (n == 0) {
		*errmsg = api->mprintf("references: name at least one "
		                       "table.column holding file paths");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (reference_sql(api, h, items[i], ft_oid, ft_column, path,
		                  &cond, errmsg) != 0) {
			api->free(sql);
			return -1;
		}
		next = api->mprintf("%s%s%s", sql ? sql : "", sql ? " OR " : "",
		                    cond);
		api->free(cond);
		api->free(sql);
		cond = NULL;
		sql = next;
		if (!sql) {
			*errmsg = api->mprintf("out of memory");
			return -1;
		}
	}
	*out = sql;
	return 0;
}

/* Opens the directory the run cleans into st->root_fd, refusing a relative
 * path, the root of the file system, a symbolic link and anything but an
 * existing directory.  Returns 0, or -1 with *errmsg set. */
static int directory_open(const sweep_api *api, orphan_state *st,
                          char **errmsg)
{
	const char *dir = st->directory;
	struct stat sb;
	int err;

	if (dir[0] != '/') {
		*errmsg = api->mprintf("directory = '%s': must be an absolute "
		                       "path (starting with /)", dir);
		return -1;
	}
	if (dir[strspn(dir, "/")] == '\0') {
		*errmsg = api->mprintf("directory = '%s': refusing to clean the "
		                       "whole file system; name the directory "
		                       "of the uploaded files", dir);
		return -1;
	}
	st->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	                   O_CLOEXEC);
	if (st->root_fd >= 0)
		return 0;
	err = errno;
	if (lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode))
		*errmsg = api->mprintf("directory = '%s': is a symbolic link, "
		                       "which is never followed; name the "
		                       "directory it points to", dir);
	else if (err == ENOTDIR && lstat(dir, &sb) == 0)
		*errmsg = api->mprintf("directory = '%s': is not a directory",
		                       dir);
	else
		*errmsg = api->mprintf("directory = '%s': cannot open: %s", dir,
		                       strerror(err));
	return -1;
}

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, orphan_state *st)
{
	if (!st)
		return;
	if (st->root_fd >= 0)
		close(st->root_fd);
	api->free(st->check_sql);
	api->free(st->next_sql);
	api->free(st->delete_sql);
	api->free(st->verify_sql);
	free(st);
}

/* Checks that the options of the records mode go together: file_table
 * with file_path_column and time_column; where, audit_columns and
 * time_column only with file_table.  Returns 0, or -1 with *errmsg set. */
static int records_options(const sweep_api *api, sweep_host *h,
                           char **errmsg)
{
	bool table = api->opt_isset(h, "file_table");
	const char *const *cols;
	const char *lone = NULL;

	if (table != api->opt_isset(h, "file_path_column")) {
		*errmsg = api->mprintf("file_table and file_path_column go "
		                       "together: set both or neither");
		return -1;
	}
	if (table && !api->opt_isset(h, "time_column")) {
		*errmsg = api->mprintf("time_column: with file_table, name the "
		                       "column of file_table holding each "
		                       "record's time (e.g. created_at); a "
		                       "record goes once it is older than "
		                       "older_than");
		return -1;
	}
	if (table)
		return 0;
	if (api->opt_isset(h, "where"))
		lone = "where";
	else if (api->opt_list(h, "audit_columns", &cols) > 0)
		lone = "audit_columns";
	else if (api->opt_isset(h, "time_column"))
		lone = "time_column";
	if (lone) {
		*errmsg = api->mprintf("%s applies to the rows of file_table: "
		                       "set file_table, file_path_column and "
		                       "time_column", lone);
		return -1;
	}
	return 0;
}

/* Returns the condition that a record of file_table is an orphan by
 * its own columns: older holds (its time is older than the cutoff, or,
 * for verify, it has a time) and it meets where (NULL: none); true or
 * false, never NULL.  New string, NULL when out of memory. */
static char *orphan_sql(const sweep_api *api, const char *older,
                        const char *where)
{
	return api->mprintf("coalesce(%s AND (%s), false)", older,
	                    where ? where : "true");
}

/* Sets *paths to verify's query of file_table (quoted table, path column,
 * time column of kind): each path, as "path", whose every record is an
 * orphan at some age (orphan_sql without the cutoff: it meets where and
 * has a time), with "m", the time (timestamptz) of its youngest record,
 * when the run takes the path once it is older than the cutoff.  Returns
 * 0, or -1 when out of memory.  *paths is freed with api->free. */
static int verify_paths_sql(const sweep_api *api, sweep_host *h,
                            const orphan_state *st, const char *table,
                            const char *column, const char *time, int kind,
                            const char *where, char **paths)
{
	char *has_time, *any = NULL, *zone = NULL, *m = NULL;

	has_time = api->mprintf("%s IS NOT NULL", time);
	if (has_time)
		any = orphan_sql(api, has_time, where);
	if (kind == SWEEP_TIME_WALL)
		zone = PQescapeLiteral(api->db(h), st->zone, strlen(st->zone));
	if (kind == SWEEP_TIME_WALL && zone)
		m = api->mprintf("max(%s)::timestamp AT TIME ZONE %s", time,
		                 zone);
	else if (kind != SWEEP_TIME_WALL)
		m = api->mprintf("max(%s)", time);
	*paths = any && m ? api->mprintf("SELECT %s AS path, %s AS m FROM %s"
	                                 " WHERE %s IS NOT NULL GROUP BY 1"
	                                 " HAVING bool_and(%s)", column, m,
	                                 table, column, any)
	                  : NULL;
	api->free(has_time);
	api->free(any);
	api->free(m);
	PQfreemem(zone);
	return *paths ? 0 : -1;
}

/* Builds the statements of the records mode from the quoted table, path
 * column (column), time column (time, of sweep_time_kind() kind), where
 * (NULL: none) and audit object (NULL: none): st->next_sql,
 * st->delete_sql, *extra, the check's "shared" and "records" columns, and
 * *paths, verify's (verify_paths_sql).  Returns 0, or -1 when out of
 * memory.  *extra and *paths are freed with api->free. */
static int records_statements(const sweep_api *api, sweep_host *h,
                              orphan_state *st, const char *table,
                              const char *column, const char *time,
                              int kind, const char *where,
                              const char *audit, char **extra,
                              char **paths)
{
	char *orphan = NULL, *older1, *older2;
	int rc = -1;

	/* time is older than the cutoff bound as $1, as $2 */
	older1 = sweep_age_condition(api, h, kind, time, st->zone, 1);
	older2 = sweep_age_condition(api, h, kind, time, st->zone, 2);
	if (!older1 || !older2)
		goto out;
	/* A record goes when this holds ($2: the cutoff); NULL: it stays. */
	orphan = orphan_sql(api, older2, where);
	if (!orphan || verify_paths_sql(api, h, st, table, column, time,
	                                kind, where, paths) != 0)
		goto out;
	st->next_sql = api->mprintf("SELECT %s FROM %s WHERE %s IS NOT NULL"
	                            " AND %s AND coalesce((%s), false)"
	                            " AND ($2::text IS NULL OR %s > $2::text)"
	                            " GROUP BY 1 ORDER BY 1 LIMIT $3::int8",
	                            column, table, column, older1,
	                            where ? where : "true", column);
	*extra = api->mprintf("EXISTS (SELECT 1 FROM %s WHERE %s = $1::text"
	                      " AND NOT %s), (SELECT count(*) FROM %s WHERE"
	                      " %s = $1::text)", table, column, orphan, table,
	                      column);
	st->delete_sql = api->mprintf("DELETE FROM %s WHERE %s = $1::text "
	                              "RETURNING %s%s%s", table, column,
	                              orphan, audit ? ", " : "",
	                              audit ? audit : "");
	if (st->next_sql && *extra && st->delete_sql)
		rc = 0;
out:
	api->free(older1);
	api->free(older2);
	api->free(orphan);
	return rc;
}

/* Checks the options of the records mode and, with file_table, the types
 * of its path and time columns, then builds its statements (see
 * records_statements; *paths is verify's) and sets *ft_oid and *ft_column
 * to the table's oid and quoted path column, for references_sql.  Without
 * file_table sets nothing.  Returns 0, or -1 with *errmsg set.  *extra,
 * *paths and *ft_oid are freed with api->free; *ft_column is host-owned. */
static int records_sql(const sweep_api *api, sweep_host *h, orphan_state *st,
                       char **extra, char **paths, char **ft_oid,
                       const char **ft_column, char **errmsg)
{
	const char *table = api->opt_ident(h, "file_table");
	const char *column = api->opt_ident(h, "file_path_column");
	const char *time = api->opt_ident(h, "time_column");
	const char *const *cols;
	const char *audit = NULL;
	PGresult *res = NULL, *tres = NULL;
	char *err = NULL;
	size_t ncols;
	int rc = -1, kind;

	if (records_options(api, h, errmsg) != 0)
		goto out;
	if (!api->opt_isset(h, "file_table")) {
		rc = 0;
		goto out;
	}
	if (!table || !column || !time) {
		*errmsg = api->mprintf("cannot quote file_table, "
		                       "file_path_column and time_column: out "
		                       "of memory");
		goto out;
	}
	res = column_typed(api, h, table, column, "file_path_column",
	                   api->opt_string(h, "file_path_column"), "S",
	                   "hold paths as text", errmsg);
	if (!res)
		goto out;
	tres = column_typed(api, h, table, time, "time_column",
	                    api->opt_string(h, "time_column"), "D",
	                    "be a timestamp or a date (the record's time)",
	                    errmsg);
	if (!tres)
		goto out;
	if (sweep_time_kind(api, h, table, time, &kind, &err) != 0) {
		*errmsg = api->mprintf("time_column = %s: %s",
		                       api->opt_string(h, "time_column"),
		                       err ? err : "out of memory");
		goto out;
	}
	api->free(err);
	err = NULL;
	ncols = api->opt_list(h, "audit_columns", &cols);
	if (ncols > 0 &&
	    !(audit = api->json_object(h, cols, ncols, NULL, &err))) {
		*errmsg = api->mprintf("audit_columns: %s",
		                       err ? err : "out of memory");
		goto out;
	}
	st->audit_rows = audit != NULL;
	*ft_oid = api->mprintf("%s", PQgetvalue(res, 0, 0));
	*ft_column = column;
	if (!*ft_oid || records_statements(api, h, st, table, column, time,
	                                   kind, api->opt_string(h, "where"),
	                                   audit, extra, paths) != 0) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	PQclear(tres);
	api->free(err);
	return rc;
}

/* Builds st->verify_sql with the references (references_sql, the path
 * column of ft_oid and ft_column excepted).  In the records mode from
 * paths (verify_paths_sql): the paths no reference holds, with the age now
 * in seconds of their youngest record, oldest first.  In the walk mode
 * (paths NULL): of the paths in the array $1, the 1-based places of those
 * no reference holds.  Returns 0, or -1 with *errmsg set. */
static int verify_build(const sweep_api *api, sweep_host *h,
                        orphan_state *st, const char *paths,
                        const char *ft_oid, const char *ft_column,
                        char **errmsg)
{
	char *refs = NULL;

	if (references_sql(api, h, ft_oid, ft_column,
	                   "orphan_files_path.path", &refs, errmsg) != 0)
		return -1;
	if (paths)
		st->verify_sql = api->mprintf(
			"SELECT orphan_files_path.path, extract(epoch FROM"
			" now() - orphan_files_path.m) FROM (%s)"
			" orphan_files_path WHERE NOT (%s) ORDER BY"
			" orphan_files_path.m, orphan_files_path.path", paths,
			refs);
	else
		st->verify_sql = api->mprintf(
			"SELECT orphan_files_path.i FROM unnest($1::text[])"
			" WITH ORDINALITY orphan_files_path (path, i)"
			" WHERE NOT (%s)", refs);
	api->free(refs);
	if (!st->verify_sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Has the server check the statements of the run (check_sql and
 * verify_sql, and in the records mode next_sql and delete_sql).  Returns
 * 0, or -1 with *errmsg set. */
static int statements_check(const sweep_api *api, sweep_host *h,
                            const orphan_state *st, char **errmsg)
{
	if (sql_check(api, h, st->check_sql, "checking references and where",
	              errmsg) != 0)
		return -1;
	if (!st->next_sql)
		return sql_check(api, h, st->verify_sql, "checking the measure "
		                 "of verify", errmsg);
	if (sql_check(api, h, st->next_sql, "checking file_table, "
	              "time_column and where", errmsg) != 0 ||
	    sql_check(api, h, st->delete_sql, "checking file_table, where "
	              "and audit_columns", errmsg) != 0 ||
	    sql_check(api, h, st->verify_sql, "checking the measure of "
	              "verify", errmsg) != 0)
		return -1;
	return 0;
}

/* Reads and checks the options, opens the directory and builds the
 * statements of the run into *state, having the server check them.
 * Returns 0, or -1 with *errmsg set and nothing left allocated or open. */
static int orphan_init(const sweep_api *api, sweep_host *h, void **state,
                       char **errmsg)
{
	orphan_state *st;
	char *refs = NULL, *extra = NULL, *ft_oid = NULL, *paths = NULL;
	const char *ft_column = NULL;
	int rc = -1;

	st = calloc(1, sizeof *st);
	if (!st) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->root_fd = -1;
	st->directory = api->opt_string(h, "directory");
	st->pattern = api->opt_string(h, "pattern");
	st->path_prefix = api->opt_string(h, "path_prefix");
	if (!st->path_prefix)
		st->path_prefix = "";
	st->zone = api->opt_string(h, "naive_timezone");
	st->batch_size = api->opt_int(h, "batch_size");
	st->pause_ms = api->opt_duration_ms(h, "batch_pause");
	st->lock_ms = api->opt_duration_ms(h, "lock_timeout");
	st->stmt_ms = api->opt_duration_ms(h, "statement_timeout");
	st->audit_files = api->opt_bool(h, "audit_files");
	if (!st->directory || !st->pattern || !*st->pattern) {
		*errmsg = api->mprintf("directory and pattern must not be "
		                       "empty");
		goto out;
	}
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (candidates per batch, "
		                       "e.g. 500)", st->batch_size);
		goto out;
	}
	if (directory_open(api, st, errmsg) != 0 ||
	    records_sql(api, h, st, &extra, &paths, &ft_oid, &ft_column,
	                errmsg) != 0 ||
	    references_sql(api, h, ft_oid, ft_column, "$1::text", &refs,
	                   errmsg) != 0 ||
	    verify_build(api, h, st, paths, ft_oid, ft_column, errmsg) != 0)
		goto out;
	if (st->next_sql)
		st->file_table_name = api->opt_string(h, "file_table");
	st->check_sql = api->mprintf("SELECT %s%s%s", refs, extra ? ", " : "",
	                             extra ? extra : "");
	if (!st->check_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (statements_check(api, h, st, errmsg) != 0)
		goto out;
	*state = st;
	st = NULL;
	rc = 0;
out:
	api->free(refs);
	api->free(extra);
	api->free(paths);
	api->free(ft_oid);
	state_free(api, st);
	return rc;
}

/* Sets w->path to its first len bytes followed by name (and a '/' when
 * slash).  Returns 0, or -1 when out of memory. */
static int path_set(walk *w, size_t len, const char *name, bool slash)
{
	size_t n = strlen(name), need = len + n + 2;
	char *grown;

	if (need > w->cap) {
		grown = realloc(w->path, need * 2);
		if (!grown)
			return -1;
		w->path = grown;
		w->cap = need * 2;
	}
	memcpy(w->path + len, name, n);
	if (slash)
		w->path[len + n++] = '/';
	w->path[len + n] = '\0';
	return 0;
}

/* Reports the current path as a failed item: "relative path: what" or,
 * with a reason, "relative path: what: reason"; nothing when w is
 * verify's, which measures and reports no item of a run. */
static void item_failed(walk *w, const char *what, const char *reason)
{
	char *text;

	if (w->measure)
		return;
	text = w->api->mprintf("%s: %s%s%s", w->path + w->plen, what,
	                       reason ? ": " : "", reason ? reason : "");
	w->api->error_item(w->h, text ? text : what);
	w->api->free(text);
}

/* Sets *out to s as a JSON string, quotes included.  Returns 0, or -1 when
 * out of memory.  *out is freed with api->free. */
static int json_string(const sweep_api *api, const char *s, char **out)
{
	char *buf, *p;

	buf = malloc(strlen(s) * 6 + 3);
	if (!buf)
		return -1;
	p = buf;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	*p = '\0';
	*out = api->mprintf("%s", buf);
	free(buf);
	return *out ? 0 : -1;
}

/* Writes the audit record of one deleted file (its relative path, size
 * and mtime) in the current transaction.  Returns 0, or -1 with *errmsg
 * set. */
static int audit_file(walk *w, const struct stat *sb, char **errmsg)
{
	const sweep_api *api = w->api;
	char *path = NULL, *data = NULL, mtime[32];
	struct tm tm;
	int rc = -1;

	if (!gmtime_r(&sb->st_mtim.tv_sec, &tm) ||
	    !strftime(mtime, sizeof mtime, "%Y-%m-%dT%H:%M:%SZ", &tm))
		mtime[0] = '\0';
	if (json_string(api, w->path + w->plen, &path) != 0 ||
	    !(data = api->mprintf("{\"path\": %s, \"bytes\": %jd, "
	                          "\"mtime\": \"%s\"}", path,
	                          (intmax_t)sb->st_size, mtime))) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	rc = api->audit(w->h, "deleted_file", w->st->directory, data, errmsg);
out:
	api->free(path);
	api->free(data);
	return rc;
}

/* True when field (row, col) of res is the boolean true. */
static bool is_true(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* Counts one file that went (or, dry, would go) with its size. */
static void file_count(walk *w, int64_t bytes)
{
	w->files++;
	w->bytes += bytes;
	w->api->count(w->h, w->dry ? "would_delete" : "deleted", 1);
	w->api->count(w->h, w->dry ? "would_free_bytes" : "bytes_freed",
	              bytes);
}

/* Begins the transaction of one candidate, with the job's timeouts and
 * its constraints checked at once: a deferred foreign key to a record
 * then fails the DELETE, before the file is unlinked, not the COMMIT.
 * Returns 0, or -1 with *errmsg set and no transaction open. */
static int txn_begin(walk *w, char **errmsg)
{
	PGresult *res;

	if (w->api->begin(w->h, w->st->lock_ms, w->st->stmt_ms, errmsg) != 0)
		return -1;
	res = w->api->query(w->h, "SET CONSTRAINTS ALL IMMEDIATE", 0, NULL,
	                    "starting a transaction", errmsg);
	if (!res) {
		PQclear(PQexec(w->api->db(w->h), "ROLLBACK"));
		return -1;
	}
	PQclear(res);
	return 0;
}

/* Rolls back the candidate's transaction, taking the audited audit
 * records it wrote off the count (the host counted them).  Returns 0, or
 * -1 with *errmsg set when the rollback failed. */
static int txn_rollback(walk *w, int64_t audited, char **errmsg)
{
	PGresult *res;

	if (audited > 0)
		w->api->count(w->h, "audited", -audited);
	res = w->api->query(w->h, "ROLLBACK", 0, NULL, "ROLLBACK", errmsg);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Commits the candidate's transaction (the current path).  unlinked: its
 * file is already gone; rows: the records it deleted.  Returns 0, or -1
 * with *errmsg set, saying what stays done on disk, when COMMIT failed. */
static int txn_commit(walk *w, bool unlinked, int64_t rows, char **errmsg)
{
	const char *rel = w->path + w->plen;
	char *err = NULL;
	PGresult *res;

	res = w->api->query(w->h, "COMMIT", 0, NULL, "COMMIT", &err);
	if (res) {
		PQclear(res);
		return 0;
	}
	if (unlinked && rows > 0)
		*errmsg = w->api->mprintf("%s: the file is deleted but the "
		                          "deletion of its %" PRId64 " record(s) "
		                          "did not commit; the next run deletes "
		                          "them as records without a file: %s",
		                          rel, rows, err ? err : "failed");
	else if (unlinked)
		*errmsg = w->api->mprintf("%s: the file is deleted but its "
		                          "audit record did not commit: %s", rel,
		                          err ? err : "failed");
	else
		*errmsg = w->api->mprintf("%s: %s", rel, err ? err : "COMMIT "
		                          "failed");
	w->api->free(err);
	return -1;
}

/* Ends whatever transaction a failure left open on the connection. */
static void txn_clear(walk *w)
{
	PGconn *db = w->api->db(w->h);

	if (PQstatus(db) == CONNECTION_OK &&
	    PQtransactionStatus(db) != PQTRANS_IDLE)
		PQclear(PQexec(db, "ROLLBACK"));
}

/* Runs check_sql with params for the current candidate inside the dry
 * run's transaction, setting *res to its result (the caller PQclear()s
 * it), or to NULL when it failed: then the candidate is reported as a
 * failed item and the transaction rolled back to the dry run's savepoint.
 * Returns 0, or -1 with *errmsg set when that fails too (the connection
 * is lost). */
static int dry_check(walk *w, int nparams, const char *const *params,
                     PGresult **res, char **errmsg)
{
	const sweep_api *api = w->api;
	PGresult *done;
	char *err = NULL;

	*res = api->query(w->h, w->st->check_sql, nparams, params,
	                  "checking references", &err);
	if (*res)
		return 0;
	item_failed(w, err ? err : "checking references failed", NULL);
	api->free(err);
	done = api->query(w->h, "ROLLBACK TO SAVEPOINT orphan_files", 0, NULL,
	                  "rolling back a failed check", errmsg);
	if (!done)
		return -1;
	PQclear(done);
	return 0;
}

/* ---- The walk mode: the files under directory. ---- */

/* True when the file's mtime is strictly before the cutoff. */
static bool is_old(const walk *w, const struct stat *sb)
{
	return sb->st_mtim.tv_sec < w->cutoff.tv_sec ||
	       (sb->st_mtim.tv_sec == w->cutoff.tv_sec &&
	        sb->st_mtim.tv_nsec < w->cutoff.tv_nsec);
}

/* Checks the current walked file against the database inside the dry
 * run's transaction and counts what run would do with it: "referenced",
 * or "would_delete" with its bytes and a sample line.  Returns 0, or -1
 * with *errmsg set when the run cannot go on (see dry_check). */
static int dry_visit(walk *w, int dfd, const char *name,
                     const struct stat *sb, char **errmsg)
{
	const char *const params[1] = { w->path };
	PGresult *res;

	(void)dfd;
	(void)name;
	if (dry_check(w, 1, params, &res, errmsg) != 0)
		return -1;
	if (!res)
		return 0;
	if (is_true(res, 0, 0)) {
		w->api->count(w->h, "referenced", 1);
	} else {
		file_count(w, sb->st_size);
		w->api->sample(w->h, w->path + w->plen);
	}
	PQclear(res);
	return 0;
}

/* Deletes the current walked file if it is an orphan, in one transaction:
 * check the references, write its audit record, check it is still the
 * same old regular file, unlink it relative to its directory dfd, COMMIT.
 * Counts "referenced", "too_new" (changed since the walk saw it), or
 * "deleted" and "bytes_freed".  A file that fails is rolled back,
 * reported as a failed item and kept.  Returns 0, or -1 with *errmsg set
 * when the run cannot go on (connection lost, COMMIT failed). */
static int delete_visit(walk *w, int dfd, const char *name,
                        const struct stat *sb, char **errmsg)
{
	const sweep_api *api = w->api;
	const char *const params[1] = { w->path };
	PGresult *res = NULL;
	struct stat now;
	char *err = NULL;
	const char *what = "checking references";
	int64_t audited = 0;
	int rc = -1;

	if (txn_begin(w, errmsg) != 0)
		goto out;
	res = api->query(w->h, w->st->check_sql, 1, params, what, &err);
	if (!res)
		goto failed;
	if (is_true(res, 0, 0)) {
		api->count(w->h, "referenced", 1);
		goto rollback;
	}
	what = "writing its audit record";
	if (w->st->audit_files) {
		if (audit_file(w, sb, &err) != 0)
			goto failed;
		audited++;
	}
	if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(now.st_mode) || now.st_dev != sb->st_dev ||
	    now.st_ino != sb->st_ino || !is_old(w, &now)) {
		/* Gone, replaced or written to since the walk saw it. */
		api->count(w->h, "too_new", 1);
		goto rollback;
	}
	if (unlinkat(dfd, name, 0) != 0) {
		item_failed(w, "cannot delete the file", strerror(errno));
		goto rollback;
	}
	if (txn_commit(w, true, 0, errmsg) != 0)
		goto out;
	file_count(w, now.st_size);
	rc = 0;
	goto out;
failed:
	item_failed(w, err ? err : what, NULL);
rollback:
	rc = txn_rollback(w, audited, errmsg);
out:
	txn_clear(w);
	PQclear(res);
	api->free(err);
	return rc;
}

/* Counts name once in the result, unless w is verify's pass, which
 * counts nothing. */
static void tally(walk *w, const char *name)
{
	if (!w->measure)
		w->api->count(w->h, name, 1);
}

/* Looks at one entry of the directory dfd, whose relative path is in
 * w->path: counts a regular file "examined" and then "unmatched",
 * "too_new" or hands it to visit (pausing after every batch_size of
 * those); counts anything else but a directory "skipped".  verify's pass
 * (w->measure) counts nothing, hands visit every file pattern matches
 * whatever its age and never pauses.  Sets *is_dir when it is a directory
 * to go down into.  Returns 0, or -1 with *errmsg set when the walk must
 * end. */
static int entry_visit(walk *w, int dfd, const char *name, bool *is_dir,
                       struct stat *sb,
                       int (*visit)(walk *, int, const char *,
                                    const struct stat *, char **),
                       char **errmsg)
{
	const sweep_api *api = w->api;

	*is_dir = false;
	if (fstatat(dfd, name, sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			item_failed(w, "cannot stat", strerror(errno));
		return 0;
	}
	if (S_ISDIR(sb->st_mode)) {
		*is_dir = true;
		return 0;
	}
	if (!S_ISREG(sb->st_mode)) {
		tally(w, "skipped");
		return 0;
	}
	tally(w, "examined");
	if (fnmatch(w->st->pattern, w->path + w->plen, 0) != 0) {
		tally(w, "unmatched");
		return 0;
	}
	if (!w->measure && !is_old(w, sb)) {
		tally(w, "too_new");
		return 0;
	}
	if (visit(w, dfd, name, sb, errmsg) != 0)
		return -1;
	if (!w->measure && ++w->checked % w->st->batch_size == 0) {
		api->progress(w->h, w->checked, -1);
		if (!w->dry)
			api->pause(w->h, w->st->pause_ms);
	}
	return 0;
}

/* Walks the directory depth first, one open directory per level, handing
 * every candidate to visit.  Never follows a symbolic link: a directory is
 * entered with openat(O_NOFOLLOW) relative to its parent and only when it
 * is still the directory fstatat() saw.  Stops between entries when a stop
 * is requested (w->stopped).  Returns 0, or -1 with *errmsg set. */
static int walk_tree(walk *w,
                     int (*visit)(walk *, int, const char *,
                                  const struct stat *, char **),
                     char **errmsg)
{
	const sweep_api *api = w->api;
	DIR *dirs[MAX_DEPTH];
	size_t lens[MAX_DEPTH];
	struct dirent *de;
	struct stat sb, opened;
	bool is_dir;
	int depth = 0, fd, rc = -1;

	fd = openat(w->st->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(dirs[0] = fdopendir(fd))) {
		*errmsg = api->mprintf("directory = '%s': cannot read: %s",
		                       w->st->directory, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	lens[0] = w->plen;
	depth = 1;
	while (depth > 0) {
		if (api->should_stop(w->h)) {
			w->stopped = true;
			break;
		}
		errno = 0;
		de = readdir(dirs[depth - 1]);
		if (!de) {
			if (errno != 0 && path_set(w, lens[depth - 1],
			                           depth > 1 ? "" : ".",
			                           false) == 0)
				item_failed(w, "cannot read the directory",
				            strerror(errno));
			closedir(dirs[--depth]);
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (path_set(w, lens[depth - 1], de->d_name, false) != 0) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		fd = dirfd(dirs[depth - 1]);
		if (entry_visit(w, fd, de->d_name, &is_dir, &sb, visit,
		                errmsg) != 0)
			goto out;
		if (!is_dir)
			continue;
		if (depth == MAX_DEPTH) {
			item_failed(w, "not entered", "deeper than the walk "
			            "goes");
			continue;
		}
		fd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
		            O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &opened) != 0 ||
		    opened.st_dev != sb.st_dev || opened.st_ino != sb.st_ino) {
			/* Replaced (by a link, say) since fstatat(). */
			if (fd >= 0)
				close(fd);
			else if (errno != ENOENT)
				item_failed(w, "cannot open the directory",
				            strerror(errno));
			continue;
		}
		if (!(dirs[depth] = fdopendir(fd))) {
			close(fd);
			item_failed(w, "cannot read the directory",
			            strerror(errno));
			continue;
		}
		if (path_set(w, lens[depth - 1], de->d_name, true) != 0) {
			closedir(dirs[depth]);
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		lens[depth] = strlen(w->path);
		depth++;
	}
	rc = 0;
out:
	while (depth > 0)
		closedir(dirs[--depth]);
	return rc;
}

/* ---- The records mode: the rows of file_table. ---- */

/* Why the relative path rel of a record cannot name a file inside
 * directory, or NULL when it can: it is empty or absolute, a part of it
 * is "..", or its last part is empty or "." (it names a directory). */
static const char *path_refused(const char *rel)
{
	const char *part = rel, *slash;

	if (!*rel)
		return "the path is empty";
	if (*rel == '/')
		return "the path is absolute";
	for (;;) {
		slash = strchr(part, '/');
		if (strncmp(part, "..", 2) == 0 &&
		    (part[2] == '/' || part[2] == '\0'))
			return "the path goes up with '..'";
		if (!slash)
			break;
		part = slash + 1;
	}
	if (!*part || strcmp(part, ".") == 0)
		return "the path names a directory";
	return NULL;
}

/* Reports the current path as a failed item, what failed on errno.
 * Returns FOUND_ERROR. */
static found look_failed(walk *w, const char *what)
{
	item_failed(w, what, strerror(errno));
	return FOUND_ERROR;
}

/* Goes down from rf->dfd into its entry part, which must be a directory,
 * never through a link: fstatat(AT_SYMLINK_NOFOLLOW) first, then
 * openat(O_NOFOLLOW | O_DIRECTORY), kept only when it is still the
 * directory seen.  Returns FOUND_DIR with rf->dfd the new directory, or
 * what the path names when it ends there: FOUND_NONE when part does not
 * exist or is not a directory, FOUND_OTHER for a link (or a directory
 * replaced since), FOUND_ERROR when it cannot be looked at. */
static found part_enter(walk *w, record_file *rf, const char *part)
{
	struct stat seen, opened;
	int fd;

	if (fstatat(rf->dfd, part, &seen, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT || errno == ENOTDIR
		       ? FOUND_NONE : look_failed(w, "cannot look at the path");
	if (S_ISLNK(seen.st_mode))
		return FOUND_OTHER;
	if (!S_ISDIR(seen.st_mode))
		return FOUND_NONE; /* no file can be below it */
	fd = openat(rf->dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	            O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FOUND_NONE
		       : errno == ELOOP || errno == ENOTDIR ? FOUND_OTHER
		       : look_failed(w, "cannot open a directory of the path");
	if (fstat(fd, &opened) != 0 || opened.st_dev != seen.st_dev ||
	    opened.st_ino != seen.st_ino) {
		close(fd);
		return FOUND_OTHER; /* replaced (by a link, say) since */
	}
	close(rf->dfd);
	rf->dfd = fd;
	return FOUND_DIR;
}

/* Looks up a record's relative path rel (which path_refused accepted)
 * under directory, from its descriptor one part at a time, never following
 * a link ("" and "." parts stay where they are, as the kernel does).
 * Fills *rf, which record_file_close() frees whatever this returns:
 * FOUND_FILE with rf->dfd, rf->name and rf->sb set for a regular file;
 * FOUND_NONE when it does not exist (only ENOENT and ENOTDIR say so: a part
 * that cannot be read is FOUND_ERROR, never "missing"); FOUND_OTHER for
 * anything else; FOUND_ERROR, reported as a failed item. */
static found file_find(walk *w, const char *rel, record_file *rf)
{
	char *part, *slash;
	found f;

	memset(rf, 0, sizeof *rf);
	rf->dfd = openat(w->st->root_fd, ".", O_RDONLY | O_DIRECTORY |
	                 O_CLOEXEC);
	if (rf->dfd < 0)
		return look_failed(w, "cannot open directory");
	rf->parts = strdup(rel);
	if (!rf->parts) {
		item_failed(w, "out of memory", NULL);
		return FOUND_ERROR;
	}
	for (part = rf->parts; (slash = strchr(part, '/')); part = slash + 1) {
		*slash = '\0';
		if (!*part || strcmp(part, ".") == 0)
			continue;
		f = part_enter(w, rf, part);
		if (f != FOUND_DIR)
			return f;
	}
	rf->name = part;
	if (fstatat(rf->dfd, part, &rf->sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT || errno == ENOTDIR
		       ? FOUND_NONE : look_failed(w, "cannot look at the file");
	return S_ISREG(rf->sb.st_mode) ? FOUND_FILE : FOUND_OTHER;
}

/* Closes and frees what file_find left in rf. */
static void record_file_close(record_file *rf)
{
	if (rf->dfd >= 0)
		close(rf->dfd);
	rf->dfd = -1;
	free(rf->parts);
	rf->parts = NULL;
}

/* Counts the rows records of the current path that went (or, dry, would
 * go): with their file, found as f (FOUND_FILE, of size sb->st_size), or
 * without it (FOUND_NONE: "missing_files"). */
static void record_count(walk *w, found f, const struct stat *sb,
                         int64_t rows)
{
	w->rows += rows;
	w->api->count(w->h, w->dry ? "would_delete_rows" : "rows_deleted",
	              rows);
	if (f == FOUND_FILE) {
		file_count(w, sb->st_size);
		return;
	}
	w->missing++;
	w->api->count(w->h, "missing_files", 1);
}

/* In the candidate's open transaction, checks that no references column
 * holds the current path and that every record of it is an orphan, then
 * deletes those records, writing their audit records (*audited counts
 * them).  Returns TAKEN with *rows set; KEPT when they stay, counted
 * "referenced" or "shared" (a record of the path stays, or one changed
 * since the check), or uncounted when they went meanwhile; TAKE_FAILED with
 * *err (or *what) saying why. */
static int records_take(walk *w, int64_t *rows, int64_t *audited,
                        char **err, const char **what)
{
	const sweep_api *api = w->api;
	const char *const params[2] = { w->path, w->cutoff_text };
	PGresult *res;
	int rc, i, n;

	*what = "checking references";
	res = api->query(w->h, w->st->check_sql, 2, params, *what, err);
	if (!res)
		return TAKE_FAILED;
	rc = is_true(res, 0, 0) || is_true(res, 0, 1) ? KEPT : TAKEN;
	if (rc == KEPT)
		api->count(w->h, is_true(res, 0, 0) ? "referenced" : "shared",
		           1);
	PQclear(res);
	if (rc == KEPT)
		return KEPT;
	*what = "deleting its records";
	res = api->query(w->h, w->st->delete_sql, 2, params, *what, err);
	if (!res)
		return TAKE_FAILED;
	n = PQntuples(res);
	rc = n > 0 ? TAKEN : KEPT;
	for (i = 0; i < n && rc == TAKEN; i++)
		if (!is_true(res, i, 0)) {
			api->count(w->h, "shared", 1);
			rc = KEPT;
		}
	*what = "writing its audit record";
	for (i = 0; rc == TAKEN && w->st->audit_rows && i < n; i++) {
		if (api->audit(w->h, "deleted", w->st->file_table_name,
		               PQgetvalue(res, i, 1), err) != 0)
			rc = TAKE_FAILED;
		else
			(*audited)++;
	}
	*rows = n;
	PQclear(res);
	return rc;
}

/* Deletes the records of the current path (relative path rel) when they
 * are orphans, with their file, in one transaction: records_take, then the
 * file looked up under directory (file_find), its audit record, unlinkat()
 * and COMMIT.  Records whose file does not exist go alone
 * ("missing_files"); records naming a link, a directory or anything but a
 * regular file stay ("skipped").  When a part fails, the transaction rolls
 * back and the records and the file both stay, reported as a failed item.
 *
 * The file is unlinked before COMMIT.  If the unlink fails, nothing is
 * committed: the records still name their file, both stay, and the next
 * run tries again.  If COMMIT fails after the unlink, the records are left
 * naming a file that is gone, and the next run deletes them as records
 * without a file.  The other order (COMMIT, then unlink) would leave, when
 * the unlink fails or the process dies between the two, a file without a
 * record, which this mode never touches again.
 *
 * Returns 0, or -1 with *errmsg set when the run cannot go on (connection
 * lost, COMMIT failed). */
static int record_delete(walk *w, const char *rel, char **errmsg)
{
	record_file rf = { .dfd = -1 };
	const char *what = NULL;
	char *err = NULL;
	int64_t rows = 0, audited = 0;
	found f;
	int rc = -1, k;

	if (txn_begin(w, errmsg) != 0)
		goto out;
	k = records_take(w, &rows, &audited, &err, &what);
	if (k == TAKE_FAILED)
		goto failed;
	if (k == KEPT)
		goto rollback;
	f = file_find(w, rel, &rf);
	if (f == FOUND_OTHER)
		w->api->count(w->h, "skipped", 1);
	if (f == FOUND_OTHER || f == FOUND_ERROR)
		goto rollback;
	what = "writing its audit record";
	if (f == FOUND_FILE && w->st->audit_files) {
		if (audit_file(w, &rf.sb, &err) != 0)
			goto failed;
		audited++;
	}
	if (f == FOUND_FILE && unlinkat(rf.dfd, rf.name, 0) != 0) {
		item_failed(w, "cannot delete the file", strerror(errno));
		goto rollback;
	}
	if (txn_commit(w, f == FOUND_FILE, rows, errmsg) != 0)
		goto out;
	record_count(w, f, &rf.sb, rows);
	rc = 0;
	goto out;
failed:
	item_failed(w, err ? err : what, NULL);
rollback:
	rc = txn_rollback(w, audited, errmsg);
out:
	txn_clear(w);
	record_file_close(&rf);
	w->api->free(err);
	return rc;
}

/* Checks the records of the current path (relative path rel) inside the
 * dry run's transaction and counts what record_delete would do with them,
 * in the same order and with the same counters ("would_delete",
 * "would_delete_rows" and "would_free_bytes" for what it would delete),
 * adding a sample line: the relative path, followed by " (no file)" when
 * the file is missing.  Returns 0, or -1 with *errmsg set when the run
 * cannot go on (see dry_check). */
static int record_dry(walk *w, const char *rel, char **errmsg)
{
	const sweep_api *api = w->api;
	const char *const params[2] = { w->path, w->cutoff_text };
	record_file rf = { .dfd = -1 };
	PGresult *res;
	char *line = NULL;
	found f;

	if (dry_check(w, 2, params, &res, errmsg) != 0)
		return -1;
	if (!res)
		return 0;
	if (is_true(res, 0, 0) || is_true(res, 0, 1)) {
		api->count(w->h, is_true(res, 0, 0) ? "referenced" : "shared",
		           1);
		PQclear(res);
		return 0;
	}
	f = file_find(w, rel, &rf);
	if (f == FOUND_OTHER)
		api->count(w->h, "skipped", 1);
	if (f == FOUND_FILE || f == FOUND_NONE) {
		record_count(w, f, &rf.sb, strtoll(PQgetvalue(res, 0, 2),
		                                   NULL, 10));
		if (f == FOUND_NONE)
			line = api->mprintf("%s (no file)", rel);
		api->sample(w->h, line ? line : rel);
	}
	api->free(line);
	PQclear(res);
	record_file_close(&rf);
	return 0;
}

/* Whether path, one of file_table, is the run's: it starts with
 * path_prefix and the rest, its relative path, matches pattern.  Sets
 * w->path to path when it starts with path_prefix, *rel to the relative
 * path in it.  Returns 1 when it is, 0 when not, -1 when out of memory. */
static int record_match(walk *w, const char *path, const char **rel)
{
	if (strncmp(path, w->st->path_prefix, w->plen) != 0)
		return 0;
	if (path_set(w, 0, path, false) != 0)
		return -1;
	*rel = w->path + w->plen;
	return fnmatch(w->st->pattern, *rel, 0) == 0;
}

/* Looks at one path of file_table's candidates: counts it "examined", then
 * "unmatched" when it is not the run's (record_match); reports a relative
 * path that cannot name a file inside directory as a failed item; else
 * sets w->path to it and hands the relative path to visit.  Returns 0, or
 * -1 with *errmsg set when the run must end. */
static int record_visit(walk *w, const char *path,
                        int (*visit)(walk *, const char *, char **),
                        char **errmsg)
{
	const char *why, *rel = NULL;
	int m;

	w->api->count(w->h, "examined", 1);
	m = record_match(w, path, &rel);
	if (m < 0) {
		*errmsg = w->api->mprintf("out of memory");
		return -1;
	}
	if (m == 0) {
		w->api->count(w->h, "unmatched", 1);
		return 0;
	}
	why = path_refused(rel);
	if (why) {
		item_failed(w, "not a file inside directory, left alone", why);
		return 0;
	}
	return visit(w, rel, errmsg);
}

/* Hands every candidate path of file_table (records older than the cutoff
 * meeting where) to visit, in path order, batch_size at a time: each batch
 * is one query for the paths after the last one taken, so a path is taken
 * once even while records go.  Pauses batch_pause between batches of a
 * run.  Stops between paths when a stop is requested (w->stopped).
 * Returns 0, or -1 with *errmsg set. */
static int records_walk(walk *w, int (*visit)(walk *, const char *, char **),
                        char **errmsg)
{
	const sweep_api *api = w->api;
	const char *params[3];
	char limit[24], *last = NULL;
	PGresult *res = NULL;
	int i, n, rc = -1;

	snprintf(limit, sizeof limit, "%" PRId64, w->st->batch_size);
	do {
		params[0] = w->cutoff_text;
		params[1] = last;
		params[2] = limit;
		res = api->query(w->h, w->st->next_sql, 3, params, "finding "
		                 "the records older than the cutoff", errmsg);
		if (!res)
			goto out;
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			if (api->should_stop(w->h)) {
				w->stopped = true;
				goto done;
			}
			if (record_visit(w, PQgetvalue(res, i, 0), visit,
			                 errmsg) != 0)
				goto out;
		}
		w->checked += n;
		api->progress(w->h, w->checked, -1);
		free(last);
		last = n > 0 ? strdup(PQgetvalue(res, n - 1, 0)) : NULL;
		if (n > 0 && !last) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		PQclear(res);
		res = NULL;
		if (n == w->st->batch_size && !w->dry)
			api->pause(w->h, w->st->pause_ms);
	} while (n == w->st->batch_size);
done:
	rc = 0;
out:
	PQclear(res);
	free(last);
	return rc;
}

/* ---- The run and the dry run. ---- */

/* Sets w->cutoff, the walk mode's: older_than before now by the host's
 * clock (which dates the files' mtimes), counted back by the database on
 * the calendar of naive_timezone.  Returns 0, or -1 with *errmsg set. */
static int walk_cutoff(walk *w, char **errmsg)
{
	struct timespec now;
	int64_t cut_us, sec;
	char *text = NULL;

	clock_gettime(CLOCK_REALTIME, &now);
	w->now = now;
	if (sweep_age_cutoff(w->api, w->h, "older_than", w->st->zone,
	                     (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000,
	                     &text, &cut_us, errmsg) != 0)
		return -1;
	w->api->free(text);
	/* floor division: a cutoff before 1970 keeps 0 <= tv_nsec < 1e9 */
	sec = cut_us / 1000000 - (cut_us % 1000000 < 0);
	w->cutoff.tv_sec = (time_t)sec;
	w->cutoff.tv_nsec = (long)(cut_us - sec * 1000000) * 1000L;
	return 0;
}

/* Prepares w for a pass of the run (or dry run when dry): the cutoff (in
 * the walk mode w->cutoff from the host's clock, see walk_cutoff; in the
 * records mode w->cutoff_text from the database's now()) and the path
 * buffer holding path_prefix.  Returns 0, or -1 with *errmsg set;
 * walk_free() frees w either way. */
static int walk_init(walk *w, const sweep_api *api, sweep_host *h,
                     const orphan_state *st, bool dry, char **errmsg)
{
	memset(w, 0, sizeof *w);
	w->api = api;
	w->h = h;
	w->st = st;
	w->dry = dry;
	if (st->next_sql ? sweep_age_cutoff(api, h, "older_than", st->zone,
	                                    SWEEP_AGE_NOW, &w->cutoff_text,
	                                    NULL, errmsg) != 0
	                 : walk_cutoff(w, errmsg) != 0)
		return -1;
	w->plen = strlen(st->path_prefix);
	if (path_set(w, 0, st->path_prefix, false) != 0) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Frees what walk_init allocated in w, and verify's batch. */
static void walk_free(walk *w)
{
	size_t i;

	for (i = 0; i < w->nbatch; i++)
		free(w->batch[i]);
	free(w->batch);
	free(w->mtimes);
	free(w->path);
	if (w->api)
		w->api->free(w->cutoff_text);
}

/* Creates the counters of a pass at 0, so that a result shows them all. */
static void counters_init(const walk *w)
{
	static const char *const files[] = { "examined", "unmatched",
	                                     "too_new", "referenced",
	                                     "skipped", NULL };
	static const char *const records[] = { "examined", "unmatched",
	                                       "referenced", "shared",
	                                       "skipped", "missing_files",
	                                       NULL };
	static const char *const run[] = { "deleted", "bytes_freed",
	                                   "rows_deleted" };
	static const char *const dry_run[] = { "would_delete",
	                                       "would_free_bytes",
	                                       "would_delete_rows" };
	const char *const *names = w->st->next_sql ? records : files;
	size_t i;

	for (i = 0; names[i]; i++)
		w->api->count(w->h, names[i], 0);
	for (i = 0; i < (w->st->next_sql ? 3u : 2u); i++)
		w->api->count(w->h, w->dry ? dry_run[i] : run[i], 0);
}

/* Sets the result's message from what the pass w did (or would do). */
static int result_message(const walk *w, char **errmsg)
{
	const sweep_api *api = w->api;
	const char *verb = w->dry ? "would delete" : "deleted";
	const char *stop = w->stopped ? " (stopped early on request)" : "";
	char *msg;

	if (w->st->next_sql)
		msg = api->mprintf("%s %" PRId64 " orphaned files (%" PRId64
		                   " bytes) and %" PRId64 " records, %" PRId64
		                   " of them without its file, under %s%s",
		                   verb, w->files, w->bytes, w->rows,
		                   w->missing, w->st->directory, stop);
	else
		msg = api->mprintf("%s %" PRId64 " orphaned files (%" PRId64
		                   " bytes) under %s%s", verb, w->files,
		                   w->bytes, w->st->directory, stop);
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	api->message(w->h, msg);
	api->free(msg);
	return 0;
}

/* Deletes the orphans, by file_table's records or by walking the
 * directory, and sets the result's message.  Returns 0, or -1 with
 * *errmsg set; what was deleted before an error stays deleted and
 * counted. */
static int orphan_run(const sweep_api *api, sweep_host *h, void *state,
                      char **errmsg)
{
	const orphan_state *st = state;
	walk w;
	int rc = -1;

	if (walk_init(&w, api, h, st, false, errmsg) != 0)
		goto out;
	counters_init(&w);
	if (st->next_sql ? records_walk(&w, record_delete, errmsg) != 0
	                 : walk_tree(&w, delete_visit, errmsg) != 0)
		goto out;
	if (result_message(&w, errmsg) != 0)
		goto out;
	api->log(h, SWEEP_LOG_INFO, "deleted", "directory", st->directory,
	         "stopped", w.stopped ? "true" : "false", SWEEP_LOG_END);
	rc = 0;
out:
	walk_free(&w);
	return rc;
}

/* Sets the timeouts for the rest of the dry run's transaction, which is
 * the host's (api->begin opens one of its own), then the savepoint a
 * failed check rolls back to, which keeps them.  Returns 0, or -1 with
 * *errmsg set. */
static int dry_setup(const sweep_api *api, sweep_host *h,
                     const orphan_state *st, char **errmsg)
{
	PGresult *res;

	if (api->set_timeouts(h, st->lock_ms, st->stmt_ms, errmsg) != 0)
		return -1;
	res = api->query(h, "SAVEPOINT orphan_files", 0, NULL,
	                 "setting up the dry run", errmsg);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Reports what run would delete, changing nothing in the database or on
 * disk (files are only opened, read and looked at): the counters, the
 * relative paths of what would go as samples, and a message.  Returns 0,
 * or -1 with *errmsg set. */
static int orphan_dry_run(const sweep_api *api, sweep_host *h, void *state,
                          char **errmsg)
{
	const orphan_state *st = state;
	walk w;
	int rc = -1;

	if (walk_init(&w, api, h, st, true, errmsg) != 0)
		goto out;
	counters_init(&w);
	if (dry_setup(api, h, st, errmsg) != 0)
		goto out;
	if (st->next_sql ? records_walk(&w, record_dry, errmsg) != 0
	                 : walk_tree(&w, dry_visit, errmsg) != 0)
		goto out;
	rc = result_message(&w, errmsg);
out:
	walk_free(&w);
	return rc;
}

/* ---- verify (SDK 1.9): the policy's measure. ---- */

/* Returns the text[] literal of the n strings items, each quoted with its
 * quotes and backslashes escaped: {"a","b\"c"}.  NULL when out of memory;
 * freed with free(). */
static char *array_literal(char *const *items, size_t n)
{
	size_t i, len = 3;
	const char *c;
	char *out, *p;

	for (i = 0; i < n; i++)
		len += 2 * strlen(items[i]) + 3;
	out = malloc(len);
	if (!out)
		return NULL;
	p = out;
	*p++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (c = items[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

/* Checks the paths of verify's batch against the references, one query
 * (verify_sql), keeps the oldest mtime of those none holds in w->oldest,
 * and empties the batch.  Returns 0, or -1 with *errmsg set. */
static int measure_flush(walk *w, char **errmsg)
{
	const char *params[1];
	PGresult *res;
	char *lit;
	size_t i;
	long k;
	int n;

	if (w->nbatch == 0)
		return 0;
	lit = array_literal(w->batch, w->nbatch);
	if (!lit) {
		*errmsg = w->api->mprintf("out of memory");
		return -1;
	}
	params[0] = lit;
	res = w->api->query(w->h, w->st->verify_sql, 1, params, "checking "
	                    "the references of the files", errmsg);
	free(lit);
	if (!res)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < (size_t)n; i++) {
		k = strtol(PQgetvalue(res, (int)i, 0), NULL, 10) - 1;
		if (k < 0 || (size_t)k >= w->nbatch)
			continue;
		if (!w->found || w->mtimes[k] < w->oldest)
			w->oldest = w->mtimes[k];
		w->found = true;
	}
	PQclear(res);
	for (i = 0; i < w->nbatch; i++)
		free(w->batch[i]);
	w->nbatch = 0;
	return 0;
}

/* True when s is well-formed UTF-8 (no overlong form, surrogate or code
 * point past U+10FFFF), which is all a session of sweepd can send. */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp, min;
	int i, n;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, cp = *p & 0x1f, min = 0x80;
		else if ((*p & 0xf0) == 0xe0)
			n = 2, cp = *p & 0x0f, min = 0x800;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, cp = *p & 0x07, min = 0x10000;
		else
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* verify's visit of a walked file (walk_tree, w->measure): adds its path
 * and mtime to the batch, checked every batch_size files
 * (measure_flush).  A path that is not UTF-8 cannot be sent to the
 * database, so no reference can hold it: the run fails on it each time
 * and it stays, an orphan, counted at once.  Returns 0, or -1 with
 * *errmsg set. */
static int measure_visit(walk *w, int dfd, const char *name,
                         const struct stat *sb, char **errmsg)
{
	double mtime = (double)sb->st_mtim.tv_sec + sb->st_mtim.tv_nsec / 1e9;
	size_t cap = w->batch_cap ? w->batch_cap * 2 : 64;
	char **batch;
	double *mtimes;

	(void)dfd;
	(void)name;
	if (!utf8_valid(w->path)) {
		if (!w->found || mtime < w->oldest)
			w->oldest = mtime;
		w->found = true;
		return 0;
	}
	if (w->nbatch == w->batch_cap) {
		batch = realloc(w->batch, cap * sizeof *batch);
		if (batch)
			w->batch = batch;
		mtimes = batch ? realloc(w->mtimes, cap * sizeof *mtimes)
		               : NULL;
		if (!mtimes) {
			*errmsg = w->api->mprintf("out of memory");
			return -1;
		}
		w->mtimes = mtimes;
		w->batch_cap = cap;
	}
	w->batch[w->nbatch] = strdup(w->path);
	if (!w->batch[w->nbatch]) {
		*errmsg = w->api->mprintf("out of memory");
		return -1;
	}
	w->mtimes[w->nbatch++] = mtime;
	if ((int64_t)w->nbatch >= w->st->batch_size)
		return measure_flush(w, errmsg);
	return 0;
}

/* The policy's measure in the walk mode: walks the whole directory as the
 * run does (links never followed, the same pattern), checks every file
 * against the references, batch_size paths a query, and sets
 * out->oldest_age_s to the age by the host's clock of the oldest file no
 * reference holds (-1: none), out->limit_s to older_than's.  Returns 0,
 * or -1 with *errmsg set, also when a stop cut the walk short. */
static int walk_verify(walk *w, sweep_verify *out, char **errmsg)
{
	double now = (double)w->now.tv_sec + w->now.tv_nsec / 1e9;
	double cut = (double)w->cutoff.tv_sec + w->cutoff.tv_nsec / 1e9;

	if (walk_tree(w, measure_visit, errmsg) != 0 ||
	    measure_flush(w, errmsg) != 0)
		return -1;
	if (w->stopped) {
		*errmsg = w->api->mprintf("stopped before the walk of %s "
		                          "ended", w->st->directory);
		return -1;
	}
	out->limit_s = now - cut;
	if (w->found)
		out->oldest_age_s = now > w->oldest ? now - w->oldest : 0;
	out->table = w->st->directory;
	return 0;
}

/* Whether the run takes (or tries to take and fails on) the records of
 * path, a path of verify_sql, which holds what the database decides: the
 * path is the run's (record_match) and its file is not a link, directory
 * or other non-regular file, which the run skips for good.  A missing
 * file counts (the run takes its records alone), and so do a path the
 * run refuses and a file that cannot be looked at: their old records
 * stay, reported as failed items by every run.  Looks at the file as the
 * run does (file_find, never following a link).  Returns 1, 0, or -1 when
 * out of memory. */
static int record_would_go(walk *w, const char *path)
{
	record_file rf = { .dfd = -1 };
	const char *rel = NULL;
	found f;
	int m;

	m = record_match(w, path, &rel);
	if (m <= 0)
		return m;
	if (path_refused(rel))
		return 1;
	f = file_find(w, rel, &rf);
	record_file_close(&rf);
	return f != FOUND_OTHER;
}

/* Sets out->oldest_age_s to the age of the youngest record of the oldest
 * path of verify_sql that the run takes (record_would_go), or leaves it
 * at -1 when there is none, reading verify_sql's paths batch_size at a
 * time from a cursor of the host's transaction.  Returns 0, or -1 with
 * *errmsg set. */
static int verify_oldest(walk *w, sweep_verify *out, char **errmsg)
{
	const sweep_api *api = w->api;
	const char *what = "finding the oldest orphaned record";
	char *sql, fetch[64];
	PGresult *res;
	int i, n, k = 0;

	sql = api->mprintf("DECLARE orphan_files_verify NO SCROLL CURSOR FOR"
	                   " %s", w->st->verify_sql);
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	res = api->query(w->h, sql, 0, NULL, what, errmsg);
	api->free(sql);
	if (!res)
		return -1;
	PQclear(res);
	snprintf(fetch, sizeof fetch, "FETCH %" PRId64 " FROM "
	         "orphan_files_verify", w->st->batch_size);
	do {
		res = api->query(w->h, fetch, 0, NULL, what, errmsg);
		if (!res)
			return -1;
		n = PQntuples(res);
		for (i = 0; i < n && k == 0; i++)
			k = record_would_go(w, PQgetvalue(res, i, 0));
		if (k > 0)
			out->oldest_age_s = strtod(PQgetvalue(res, i - 1, 1),
			                           NULL);
		PQclear(res);
	} while (k == 0 && n == w->st->batch_size);
	if (k < 0) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	res = api->query(w->h, "CLOSE orphan_files_verify", 0, NULL, what,
	                 errmsg);
	PQclear(res);
	return res ? 0 : -1;
}

/* The policy's measure (SDK 1.9).  In the walk mode, walk_verify.  In the
 * records mode, out->limit_s, the age of the cutoff (older_than counted
 * as the run counts it), and out->oldest_age_s, the age of the oldest
 * orphan the run's condition takes at some age: for a path, its youngest
 * record's time, since the run takes a file's records only all together
 * (verify_oldest).  Measures, changes nothing: the host's transaction is
 * READ ONLY and files are only looked at.  Returns 0, or -1 with *errmsg
 * set. */
static int orphan_verify(const sweep_api *api, sweep_host *h, void *state,
                         sweep_verify *out, char **errmsg)
{
	const orphan_state *st = state;
	const char *params[1];
	PGresult *res;
	walk w;
	int rc = -1;

	if (walk_init(&w, api, h, st, true, errmsg) != 0)
		goto out;
	w.measure = true;
	if (!st->next_sql) {
		rc = walk_verify(&w, out, errmsg);
		goto out;
	}
	params[0] = w.cutoff_text;
	res = api->query(h, "SELECT extract(epoch FROM now() -"
	                 " $1::timestamptz)", 1, params, "measuring "
	                 "older_than", errmsg);
	if (!res)
		goto out;
	out->limit_s = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	out->table = st->file_table_name;
	rc = verify_oldest(&w, out, errmsg);
out:
	walk_free(&w);
	return rc;
}

/* Closes the directory and frees the state built by orphan_init. */
static void orphan_teardown(const sweep_api *api, sweep_host *h, void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option orphan_options[] = {
	{ "directory", SWEEP_OPT_STRING, SWEEP_OPT_REQUIRED, NULL,
	  "absolute path of the directory of uploaded files; must exist and "
	  "not be a symbolic link" },
	{ "pattern", SWEEP_OPT_STRING, 0, "*",
	  "fnmatch glob on the path relative to directory, where * also "
	  "matches / and dotfiles (e.g. avatars/*.png)" },
	{ "older_than", SWEEP_OPT_DURATION,
	  SWEEP_OPT_REQUIRED | SWEEP_OPT_AGE, NULL,
	  "age past which an orphan goes: a record's time_column with "
	  "file_table, else a file's mtime (6mo, 1y: calendar months and "
	  "years)" },
	{ "references", SWEEP_OPT_LIST, SWEEP_OPT_REQUIRED, NULL,
	  "columns holding file paths, as table.column or schema.table.column "
	  "(text or text[]); a file any row mentions is kept" },
	{ "path_prefix", SWEEP_OPT_STRING, 0, NULL,
	  "text stored before the relative path in references and "
	  "file_path_column (e.g. uploads/)" },
	{ "file_table", SWEEP_OPT_IDENT, 0, NULL,
	  "table with one row per uploaded file (with file_path_column and "
	  "time_column): its old unreferenced rows go with their files and a "
	  "file without a row is never touched; unset: the directory is "
	  "walked" },
	{ "file_path_column", SWEEP_OPT_IDENT, 0, NULL,
	  "column of file_table holding the file's path (with file_table)" },
	{ "time_column", SWEEP_OPT_IDENT, 0, NULL,
	  "column of file_table holding each record's time, e.g. created_at "
	  "(with file_table): a record goes once older than older_than" },
	SWEEP_NAIVE_TIMEZONE_OPTION,
	{ "where", SWEEP_OPT_SQL_EXPR, 0, NULL,
	  "condition on file_table rows: only records meeting it go, and a "
	  "file only when every record naming it goes" },
	{ "batch_size", SWEEP_OPT_INT, 0, "500",
	  "records (or files) checked against the database between two "
	  "pauses; each goes in a short transaction of its own" },
	SWEEP_BATCH_OPTIONS,
	{ "audit_columns", SWEEP_OPT_LIST, 0, NULL,
	  "columns of file_table written to one audit record per deleted row" },
	{ "audit_files", SWEEP_OPT_BOOL, 0, "false",
	  "write one audit record (path, bytes, mtime) per deleted file" },
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range orphan_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin orphan_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "orphan_files",
	.version = "1.3.0",
	.description = "deletes old uploaded files that no row references: "
	               "by file_table's records when set, else by walking "
	               "the directory; never follows a link",
	.options = orphan_options,
	.ranges = orphan_ranges,
	.init = orphan_init,
	.run = orphan_run,
	.dry_run = orphan_dry_run,
	.teardown = orphan_teardown,
	.verify = orphan_verify,
};

SWEEP_PLUGIN_DEFINE(orphan_plugin)
