/*
 * orphan_files: deletes the files under a directory that no row of the
 * database mentions any more, once they are older than a given age, each
 * with its row in a table of uploaded files when there is one.
 *
 * Only `directory` itself is opened by its path, with O_NOFOLLOW, in init.
 * The walk goes down from that descriptor one name at a time with
 * openat(O_NOFOLLOW | O_DIRECTORY) and fdopendir(), so a symbolic link is
 * never followed, no name is ".." and nothing outside directory is reached.
 * Every entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW): a symbolic
 * link, socket, pipe or device is left alone and counted "skipped".
 *
 * A regular file is a candidate when its path relative to directory
 * matches `pattern` (fnmatch(3) without FNM_PATHNAME or FNM_PERIOD: "*"
 * also matches "/" and a leading dot, so the default "*" takes every file)
 * and its mtime is strictly before now minus older_than (now taken once per
 * run).  A candidate is an orphan when no column of `references` holds its
 * path (path_prefix, then the relative path), which one query checks, and
 * when, with `where`, every file_table row of it meets that condition.
 *
 * Each candidate is checked and, when an orphan, deleted in a transaction
 * of its own: the check, the deletion of its file_table rows (and their
 * audit records), a last fstatat() that it is still the same old regular
 * file, unlinkat() relative to its parent directory, then COMMIT.  When its
 * row cannot go or the file cannot be unlinked, the transaction rolls back,
 * the file is reported as a failed item and the run goes on with the
 * others.  After every batch_size candidates the run pauses batch_pause.
 * Directories are never removed, even when they end up empty, and rows of
 * file_table whose file does not exist are left alone.
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
	int64_t older_than_ms;
	int64_t batch_size;
	int64_t pause_ms;
	int64_t lock_ms;         /* lock_timeout of a file's transaction */
	int64_t stmt_ms;         /* statement_timeout of it */
	const char *file_table_name; /* as written, for audit; NULL: none */
	bool audit_rows;         /* delete_sql returns an audit object */
	bool audit_files;
	char *check_sql;         /* $1 is the path: referenced, excluded,
	                            rows in file_table */
	char *delete_sql;        /* $1 is the path: one row per deleted row
	                            (where met, audit object); NULL: none */
} orphan_state;

/* One walk over the directory, by run or dry_run. */
typedef struct walk {
	const sweep_api *api;
	sweep_host *h;
	const orphan_state *st;
	bool dry;
	struct timespec cutoff;  /* a file must be older than this */
	char *path;              /* path_prefix, then the relative path */
	size_t plen;             /* length of path_prefix */
	size_t cap;
	int64_t checked;         /* candidates checked against the database */
	int64_t files, rows, bytes; /* deleted, or that would be */
	bool stopped;
} walk;

/* Has the server parse and analyse sql (one text parameter, $1) without
 * running it, as PREPARE does (the statement is deallocated again), so that
 * a wrong name or condition fails init, not every file.  Returns 0, or -1
 * with *errmsg set. */
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

/* Sets *cond to the condition that the column named by item (one entry of
 * references: table.column or schema.table.column) holds $1: `col =
 * $1::text` for a text column, `col @> ARRAY[$1::text]::type[]` (which a GIN
 * index serves) for an array of text.  The column must not be ft_column
 * (quoted) of the relation ft_oid (the file table: every file with a row
 * would count as referenced).  Returns 0, or -1 with *errmsg set.  *cond is
 * freed with api->free. */
static int reference_sql(const sweep_api *api, sweep_host *h,
                         const char *item, const char *ft_oid,
                         const char *ft_column, char **cond, char **errmsg)
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
		*cond = api->mprintf("EXISTS (SELECT 1 FROM %s WHERE %s = "
		                     "$1::text)", table, column);
	else if (strcmp(cat, "A") == 0 && strcmp(elem, "S") == 0)
		*cond = api->mprintf("EXISTS (SELECT 1 FROM %s WHERE %s @> "
		                     "ARRAY[$1::text]::%s)", table, column,
		                     PQgetvalue(res, 0, 3));
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

/* Sets *out to the condition "some column of references holds $1": the
 * EXISTS of each entry joined with OR.  ft_oid and ft_column name the file
 * table's path column (NULL: none), which may not be an entry.  Returns 0,
 * or -1 with *errmsg set.  *out is freed with api->free. */
static int references_sql(const sweep_api *api, sweep_host *h,
                          const char *ft_oid, const char *ft_column,
                          char **out, char **errmsg)
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
		if (reference_sql(api, h, items[i], ft_oid, ft_column, &cond,
		                  errmsg) != 0) {
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
	api->free(st->delete_sql);
	free(st);
}

/* Checks the file table options and builds, from them, the check's
 * "excluded" and row count expressions and the delete statement into
 * *excluded, *nrows and st->delete_sql; sets *ft_oid and *ft_column (the
 * table's oid and the quoted path column, for references_sql).  Without
 * file_table, sets "false" and "0" and leaves the rest NULL.  Returns 0,
 * or -1 with *errmsg set.  Everything set but *ft_column (host-owned) is
 * freed with api->free. */
static int file_table_sql(const sweep_api *api, sweep_host *h,
                          orphan_state *st, char **excluded, char **nrows,
                          char **ft_oid, const char **ft_column,
                          char **errmsg)
{
	const char *table = api->opt_ident(h, "file_table");
	const char *column = api->opt_ident(h, "file_path_column");
	const char *colname = api->opt_string(h, "file_path_column");
	const char *where = api->opt_string(h, "where");
	const char *const *cols;
	const char *audit = NULL;
	char *err = NULL;
	PGresult *res = NULL;
	size_t ncols;
	int rc = -1;

	ncols = api->opt_list(h, "audit_columns", &cols);
	if (api->opt_isset(h, "file_table") != (colname != NULL)) {
		*errmsg = api->mprintf("file_table and file_path_column go "
		                       "together: set both or neither");
		goto out;
	}
	if (!colname && (where || ncols > 0)) {
		*errmsg = api->mprintf("%s applies to the rows of file_table: "
		                       "set file_table and file_path_column",
		                       where ? "where" : "audit_columns");
		goto out;
	}
	if (!colname) {
		*excluded = api->mprintf("false");
		*nrows = api->mprintf("0");
		if (!*excluded || !*nrows) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!table || !column) {
		*errmsg = api->mprintf("cannot quote file_table and "
		                       "file_path_column: out of memory");
		goto out;
	}
	res = column_get(api, h, table, column, "file_path_column", colname,
	                 errmsg);
	if (!res)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 1), "S") != 0) {
		*errmsg = api->mprintf("file_path_column = %s: column is of "
		                       "type %s; it must hold paths as text",
		                       colname, PQgetvalue(res, 0, 3));
		goto out;
	}
	if (ncols > 0 &&
	    !(audit = api->json_object(h, cols, ncols, NULL, &err))) {
		*errmsg = api->mprintf("audit_columns: %s",
		                       err ? err : "out of memory");
		goto out;
	}
	st->audit_rows = audit != NULL;
	*ft_oid = api->mprintf("%s", PQgetvalue(res, 0, 0));
	*ft_column = column;
	if (where)
		*excluded = api->mprintf("EXISTS (SELECT 1 FROM %s WHERE %s = "
		                         "$1::text AND NOT coalesce((%s), "
		                         "false))", table, column, where);
	else
		*excluded = api->mprintf("false");
	*nrows = api->mprintf("(SELECT count(*) FROM %s WHERE %s = $1::text)",
	                      table, column);
	st->delete_sql = api->mprintf("DELETE FROM %s WHERE %s = $1::text "
	                              "RETURNING coalesce((%s), false)%s%s",
	                              table, column, where ? where : "true",
	                              audit ? ", " : "", audit ? audit : "");
	if (!*ft_oid || !*excluded || !*nrows || !st->delete_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	api->free(err);
	return rc;
}

/* Reads and checks the options, opens the directory and builds the
 * statements of the run into *state, having the server check them.
 * Returns 0, or -1 with *errmsg set and nothing left allocated or open. */
static int orphan_init(const sweep_api *api, sweep_host *h, void **state,
                       char **errmsg)
{
	orphan_state *st;
	char *refs = NULL, *excluded = NULL, *nrows = NULL, *ft_oid = NULL;
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
	st->older_than_ms = api->opt_duration_ms(h, "older_than");
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
		                       "greater than 0 (files per batch, "
		                       "e.g. 500)", st->batch_size);
		goto out;
	}
	if (directory_open(api, st, errmsg) != 0)
		goto out;
	if (file_table_sql(api, h, st, &excluded, &nrows, &ft_oid, &ft_column,
	                   errmsg) != 0 ||
	    references_sql(api, h, ft_oid, ft_column, &refs, errmsg) != 0)
		goto out;
	if (st->delete_sql)
		st->file_table_name = api->opt_string(h, "file_table");

	st->check_sql = api->mprintf("SELECT %s, %s, %s", refs, excluded,
	                             nrows);
	if (!st->check_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (sql_check(api, h, st->check_sql, "checking references and "
	              "where", errmsg) != 0 ||
	    (st->delete_sql && sql_check(api, h, st->delete_sql,
	                                 "checking file_table, where and "
	                                 "audit_columns", errmsg) != 0))
		goto out;
	*state = st;
	st = NULL;
	rc = 0;
out:
	api->free(refs);
	api->free(excluded);
	api->free(nrows);
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
 * with a reason, "relative path: what: reason". */
static void item_failed(walk *w, const char *what, const char *reason)
{
	char *text;

	text = w->api->mprintf("%s: %s%s%s", w->path + w->plen, what,
	                       reason ? ": " : "", reason ? reason : "");
	w->api->error_item(w->h, text ? text : what);
	w->api->free(text);
}

/* True when the file's mtime is strictly before the cutoff. */
static bool is_old(const walk *w, const struct stat *sb)
{
	return sb->st_mtim.tv_sec < w->cutoff.tv_sec ||
	       (sb->st_mtim.tv_sec == w->cutoff.tv_sec &&
	        sb->st_mtim.tv_nsec < w->cutoff.tv_nsec);
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

/* Checks the current candidate against the database inside the dry run's
 * transaction and counts what run would do with it: "referenced",
 * "excluded", or "would_delete" with its rows and bytes and a sample line.
 * A failed check is reported as a failed item and rolled back to the
 * dry run's savepoint.  Returns 0, or -1 with *errmsg set when that fails
 * (the connection is lost). */
static int dry_visit(walk *w, int dfd, const char *name,
                     const struct stat *sb, char **errmsg)
{
	const sweep_api *api = w->api;
	const char *const params[1] = { w->path };
	PGresult *res;
	char *err = NULL;
	int64_t rows;

	(void)dfd;
	(void)name;
	res = api->query(w->h, w->st->check_sql, 1, params,
	                 "checking references", &err);
	if (!res) {
		item_failed(w, err ? err : "checking references failed", NULL);
		api->free(err);
		res = api->query(w->h, "ROLLBACK TO SAVEPOINT orphan_files", 0,
		                 NULL, "rolling back a failed check", errmsg);
		if (!res)
			return -1;
		PQclear(res);
		return 0;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		api->count(w->h, "referenced", 1);
	} else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		api->count(w->h, "excluded", 1);
	} else {
		rows = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		w->files++;
		w->rows += rows;
		w->bytes += sb->st_size;
		api->count(w->h, "would_delete", 1);
		api->count(w->h, "would_delete_rows", rows);
		api->count(w->h, "would_free_bytes", sb->st_size);
		api->sample(w->h, w->path + w->plen);
	}
	PQclear(res);
	return 0;
}

/* Deletes the current candidate if it is an orphan, in one transaction:
 * check the references and where, delete the file_table rows with their
 * audit records, check the file is still the same old regular file,
 * unlink it relative to its directory dfd, COMMIT.  Counts "referenced",
 * "excluded", "too_new" (changed since the walk saw it), or "deleted",
 * "rows_deleted" and "bytes_freed".  A file that fails is rolled back,
 * reported as a failed item and kept.  Returns 0, or -1 with *errmsg set
 * when the run cannot go on (connection lost, COMMIT failed). */
static int delete_visit(walk *w, int dfd, const char *name,
                        const struct stat *sb, char **errmsg)
{
	const sweep_api *api = w->api;
	const orphan_state *st = w->st;
	const char *const params[1] = { w->path };
	PGconn *db = api->db(w->h);
	PGresult *res = NULL, *done;
	struct stat now;
	char *err = NULL;
	const char *what = NULL;
	int64_t rows = 0, audited = 0;
	int i, rc = -1;

	if (api->begin(w->h, st->lock_ms, st->stmt_ms, errmsg) != 0)
		goto out;
	/* A deferred foreign key to a row fails the DELETE, before the file
	 * is unlinked, not the COMMIT. */
	done = api->query(w->h, "SET CONSTRAINTS ALL IMMEDIATE", 0, NULL,
	                  "starting a transaction", errmsg);
	if (!done)
		goto out;
	PQclear(done);
	what = "checking references";
	res = api->query(w->h, st->check_sql, 1, params, what, &err);
	if (!res)
		goto failed;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0 ||
	    strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
		api->count(w->h, strcmp(PQgetvalue(res, 0, 0), "t") == 0
		           ? "referenced" : "excluded", 1);
		goto rollback;
	}
	PQclear(res);
	res = NULL;
	if (st->delete_sql) {
		what = "deleting its row";
		res = api->query(w->h, st->delete_sql, 1, params, what, &err);
		if (!res)
			goto failed;
		rows = PQntuples(res);
		for (i = 0; i < rows; i++) {
			/* A row changed by someone else since the check
			 * no longer meets where: keep the file. */
			if (strcmp(PQgetvalue(res, i, 0), "t") != 0) {
				api->count(w->h, "excluded", 1);
				goto rollback;
			}
		}
		what = "writing its audit record";
		for (i = 0; st->audit_rows && i < rows; i++) {
			if (api->audit(w->h, "deleted", st->file_table_name,
			               PQgetvalue(res, i, 1), &err) != 0)
				goto failed;
			audited++;
		}
	}
	what = "writing its audit record";
	if (st->audit_files) {
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
	done = api->query(w->h, "COMMIT", 0, NULL, "COMMIT", &err);
	if (!done) {
		*errmsg = api->mprintf("%s: the file is deleted but the "
		                       "deletion of its %" PRId64 " row(s) did "
		                       "not commit: %s", w->path + w->plen,
		                       rows, err ? err : "failed");
		goto out;
	}
	PQclear(done);
	w->files++;
	w->rows += rows;
	w->bytes += now.st_size;
	api->count(w->h, "deleted", 1);
	api->count(w->h, "rows_deleted", rows);
	api->count(w->h, "bytes_freed", now.st_size);
	rc = 0;
	goto out;
failed:
	item_failed(w, err ? err : what, NULL);
rollback:
	/* The host counted the audit records of this transaction. */
	if (audited > 0)
		api->count(w->h, "audited", -audited);
	done = api->query(w->h, "ROLLBACK", 0, NULL, "ROLLBACK", errmsg);
	if (done)
		rc = 0;
	PQclear(done);
out:
	if (PQstatus(db) == CONNECTION_OK &&
	    PQtransactionStatus(db) != PQTRANS_IDLE)
		PQclear(PQexec(db, "ROLLBACK"));
	PQclear(res);
	api->free(err);
	return rc;
}

/* Looks at one entry of the directory dfd, whose relative path is in
 * w->path: counts a regular file "examined" and then "unmatched",
 * "too_new" or hands it to visit (pausing after every batch_size of
 * those); counts anything else but a directory "skipped".  Sets *is_dir
 * when it is a directory to go down into.  Returns 0, or -1 with *errmsg
 * set when the walk must end. */
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
		api->count(w->h, "skipped", 1);
		return 0;
	}
	api->count(w->h, "examined", 1);
	if (fnmatch(w->st->pattern, w->path + w->plen, 0) != 0) {
		api->count(w->h, "unmatched", 1);
		return 0;
	}
	if (!is_old(w, sb)) {
		api->count(w->h, "too_new", 1);
		return 0;
	}
	if (visit(w, dfd, name, sb, errmsg) != 0)
		return -1;
	if (++w->checked % w->st->batch_size == 0) {
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

/* Prepares w for a walk of the run (or dry run when dry): the cutoff,
 * now minus older_than, and the path buffer holding path_prefix.  Returns
 * 0, or -1 with *errmsg set. */
static int walk_init(walk *w, const sweep_api *api, sweep_host *h,
                     const orphan_state *st, bool dry, char **errmsg)
{
	memset(w, 0, sizeof *w);
	w->api = api;
	w->h = h;
	w->st = st;
	w->dry = dry;
	clock_gettime(CLOCK_REALTIME, &w->cutoff);
	w->cutoff.tv_sec -= (time_t)(st->older_than_ms / 1000);
	w->cutoff.tv_nsec -= (long)(st->older_than_ms % 1000) * 1000000L;
	if (w->cutoff.tv_nsec < 0) {
		w->cutoff.tv_sec--;
		w->cutoff.tv_nsec += 1000000000L;
	}
	w->plen = strlen(st->path_prefix);
	if (path_set(w, 0, st->path_prefix, false) != 0) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Creates the counters of a walk at 0, so that a result shows them all. */
static void counters_init(const sweep_api *api, sweep_host *h, bool dry)
{
	static const char *const common[] = { "examined", "unmatched",
	                                      "too_new", "referenced",
	                                      "skipped" };
	static const char *const run[] = { "deleted", "rows_deleted",
	                                   "bytes_freed" };
	static const char *const dry_run[] = { "would_delete",
	                                       "would_delete_rows",
	                                       "would_free_bytes" };
	size_t i;

	for (i = 0; i < sizeof common / sizeof *common; i++)
		api->count(h, common[i], 0);
	for (i = 0; i < 3; i++)
		api->count(h, dry ? dry_run[i] : run[i], 0);
}

/* Deletes the orphans under directory, each with its rows, and sets the
 * result's message.  Returns 0, or -1 with *errmsg set; files deleted
 * before an error stay deleted and counted. */
static int orphan_run(const sweep_api *api, sweep_host *h, void *state,
                      char **errmsg)
{
	const orphan_state *st = state;
	walk w;
	char *msg = NULL;
	int rc = -1;

	if (walk_init(&w, api, h, st, false, errmsg) != 0)
		goto out;
	counters_init(api, h, false);
	if (walk_tree(&w, delete_visit, errmsg) != 0)
		goto out;
	msg = api->mprintf("deleted %" PRId64 " orphaned files (%" PRId64
	                   " bytes) and %" PRId64 " rows under %s%s", w.files,
	                   w.bytes, w.rows, st->directory,
	                   w.stopped ? " (stopped early on request)" : "");
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->log(h, SWEEP_LOG_INFO, "deleted", "directory", st->directory,
	         "stopped", w.stopped ? "true" : "false", SWEEP_LOG_END);
	api->message(h, msg);
	rc = 0;
out:
	api->free(msg);
	free(w.path);
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
 * disk (the walk only opens, reads and stats): the counters, the relative
 * paths of the files that would go as samples, and a message.  Returns 0,
 * or -1 with *errmsg set. */
static int orphan_dry_run(const sweep_api *api, sweep_host *h, void *state,
                          char **errmsg)
{
	const orphan_state *st = state;
	walk w;
	char *msg = NULL;
	int rc = -1;

	if (walk_init(&w, api, h, st, true, errmsg) != 0)
		goto out;
	counters_init(api, h, true);
	if (dry_setup(api, h, st, errmsg) != 0 ||
	    walk_tree(&w, dry_visit, errmsg) != 0)
		goto out;
	msg = api->mprintf("would delete %" PRId64 " orphaned files (%" PRId64
	                   " bytes) and %" PRId64 " rows under %s", w.files,
	                   w.bytes, w.rows, st->directory);
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	api->free(msg);
	free(w.path);
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
	{ "older_than", SWEEP_OPT_DURATION, SWEEP_OPT_REQUIRED, NULL,
	  "delete only files whose mtime is before now minus this age" },
	{ "references", SWEEP_OPT_LIST, SWEEP_OPT_REQUIRED, NULL,
	  "columns holding file paths, as table.column or schema.table.column "
	  "(text or text[]); a file any row mentions is kept" },
	{ "path_prefix", SWEEP_OPT_STRING, 0, NULL,
	  "text stored before the relative path in references and "
	  "file_path_column (e.g. uploads/)" },
	{ "file_table", SWEEP_OPT_IDENT, 0, NULL,
	  "table with one row per uploaded file, deleted with its file "
	  "(with file_path_column)" },
	{ "file_path_column", SWEEP_OPT_IDENT, 0, NULL,
	  "column of file_table holding the file's path (with file_table)" },
	{ "where", SWEEP_OPT_SQL_EXPR, 0, NULL,
	  "condition on file_table rows: a file goes only when each of its "
	  "rows meets it" },
	{ "batch_size", SWEEP_OPT_INT, 0, "500",
	  "files checked against the database between two pauses; each "
	  "file goes in a short transaction of its own" },
	SWEEP_BATCH_OPTIONS,
	{ "audit_columns", SWEEP_OPT_LIST, 0, NULL,
	  "columns of file_table written to one audit record per deleted row" },
	{ "audit_files", SWEEP_OPT_BOOL, 0, "false",
	  "write one audit record (path, bytes, mtime) per deleted file" },
	{ NULL, 0, 0, NULL, NULL }
};

static const sweep_plugin orphan_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "orphan_files",
	.version = "1.0.0",
	.description = "deletes old files under a directory that no row "
	               "references, each with its row, never following a link",
	.options = orphan_options,
	.init = orphan_init,
	.run = orphan_run,
	.dry_run = orphan_dry_run,
	.teardown = orphan_teardown,
};

SWEEP_PLUGIN_DEFINE(orphan_plugin)
