/*
 * cascade_delete: hard-deletes (or anonymizes) the parent rows of one
 * table that meet a condition, each together with its rows in a list of
 * child tables (deleted, or kept but detached and anonymized), one parent
 * per transaction.
 *
 * Parents are the rows of `table` meeting `where`, named by `key_column`,
 * taken in key order, batch_size at a time.  For each parent, one
 * transaction: lock the parent row (FOR UPDATE, which also checks that it
 * still meets `where` and keeps new child rows from being added under it),
 * delete from each `children` entry (TABLE.COLUMN, in the order given) the
 * rows whose column equals the key, delete the parent, write one audit
 * record, commit.  Without audit_table the record goes to sweepd.audit
 * (data {"key": KEY}); with it, the application's own table gets
 * (action, audit_key_column) = (audit_action, KEY).
 *
 * A parent that fails (a foreign key the list forgot, a lock timeout) is
 * rolled back alone and reported as an error item "parent KEY: reason"; the
 * run goes on with the next parents and fails at the end.  Parents are
 * fetched after the last key taken (keyset order), so a failed parent is
 * never tried twice in a run.  A parent that no longer meets `where` when
 * locked is left alone and counted as skipped.
 *
 * Anonymizing instead of deleting.  `detach` lists TABLE.COLUMN entries
 * whose rows are kept but cut from the parent, after the children are
 * deleted and in the same transaction: COLUMN set to NULL, the
 * `detach_set_null` columns of that table set to NULL, and the keys
 * matching `json_strip_keys` (not `json_keep_keys`) removed from its
 * `detach_json` jsonb columns by the anonymize plugin's rule
 * (json_keys.h; the run creates the session's pg_temp.sweepd_strip in
 * init).  With `parent_set_null` or `parent_set` the parent itself is kept
 * and updated instead of deleted; `where` must then stop matching it
 * (e.g. parent_set deleted_at = now with where ... deleted_at IS NULL),
 * or every run takes it again.  Names, columns and set values are checked
 * in init (an EXPLAIN of each statement), so a mistake fails the run
 * before any parent.
 *
 * Result counters: "parents" (deleted or anonymized), "failed", one per
 * child table named as written in `children` or `detach` (rows deleted or
 * detached there, over all its columns), one for the parent table, and
 * "skipped" when a parent changed under the run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweepd/plugin.h>

#include "json_keys.h"

/* Parent keys dry_run adds to the sample. */
#define SAMPLE_ROWS 5

/* One entry of `children` (rows deleted) or of `detach` (rows kept,
 * cut from the parent and anonymized). */
typedef struct child {
	const char *entry;  /* as written in children or detach; host-owned */
	char *table_name;   /* the table as written, for counters/messages */
	const char *table;  /* the table quoted for SQL; host-owned */
	const char *column; /* the column quoted for SQL; host-owned */
	bool detach;        /* an entry of detach */
	char *sql;          /* DELETE, or for detach UPDATE, ... WHERE
	                       column = $1 */
	size_t group;       /* index of its table in the state's groups */
} child;

typedef struct cascade_state {
	const char *table;        /* quoted; host-owned */
	const char *table_name;   /* as written, for messages and audit */
	const char *key;          /* quoted key column; host-owned */
	const char *action;       /* audit_action; host-owned */
	int64_t batch_size;
	int64_t max_rows;         /* parents a run takes; 0: no cap */
	int64_t pause_ms;
	int64_t lock_ms;          /* lock_timeout of each transaction */
	int64_t stmt_ms;          /* statement_timeout of each transaction */
	child *children;
	size_t nchildren;
	size_t *groups;           /* index of the first child of each
	                             distinct child table, in list order */
	size_t ngroups;
	int64_t *pending;         /* rows deleted per group by the current
	                             parent, counted once it commits */
	size_t nset;              /* parent_set pairs */
	char **set_values;        /* their values as written (api->free) */
	const char **parent_params; /* the parent's key, then the set
	                             values: parent_sql's parameters */
	bool keep_parent;         /* parent_set or parent_set_null: the
	                             parent is updated, not deleted */
	char *pats;               /* JSON key patterns (json_keys.h), or
	                             NULL without detach_json */
	char *qualified_key;      /* table.key, which ORDER BY cannot
	                             mistake for an output column */
	char *fetch_sql;          /* next parents: $1 limit, $2 last key */
	char *lock_sql;           /* locks parent $1, returns its audit data */
	char *parent_sql;         /* deletes, or updates, parent $1 */
	char *audit_sql;          /* audit_table's INSERT, or NULL */
	char *dry_sql;            /* counts what would go; $1 max_rows */
} cascade_state;

/* Runs a statement of a parent's transaction with nparams text parameters
 * and returns its result, which the caller PQclear()s, when its status is
 * want; otherwise NULL with *errmsg set to "server message (SQLSTATE
 * xxxxx, STEP NAME)", or "message (STEP NAME)" when the server sent none
 * (connection lost).  Not api->query: the message names the step, and a
 * parent's failure, an error item, leaves the run's SQLSTATE (whether a
 * failed run is retried) as it was. */
static PGresult *step(const sweep_api *api, PGconn *db, const char *sql,
                      int nparams, const char *const *params,
                      ExecStatusType want, const char *step_text,
                      const char *name, char **errmsg)
{
	PGresult *res;
	const char *msg, *state;
	size_t n;

	res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == want)
		return res;
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (!msg)
		msg = PQerrorMessage(db);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (state)
		*errmsg = api->mprintf("%.*s (SQLSTATE %s, %s%s)", (int)n, msg,
		                       state, step_text, name);
	else
		*errmsg = api->mprintf("%.*s (%s%s)", (int)n, msg, step_text,
		                       name);
	PQclear(res);
	return NULL;
}

/* Sets c->table_name to the table of its entry as written, for counters
 * and messages: the entry before the dot that ends the table, blanks
 * trimmed.  That dot is the last one before which the entry quotes, by
 * api->quote_name, to c->table (before a dot inside the column the text
 * has an unclosed quote or one part too many).  Returns 0, or -1 with
 * *errmsg set. */
static int table_name_find(const sweep_api *api, sweep_host *h, child *c,
                           char **errmsg)
{
	const char *quoted;
	char *err = NULL;
	size_t dot = strlen(c->entry), end;

	while (dot-- > 0) {
		if (c->entry[dot] != '.')
			continue;
		for (end = dot; end > 0 && (c->entry[end - 1] == ' ' ||
		                            c->entry[end - 1] == '\t'); end--)
			;
		c->table_name = api->mprintf("%.*s", (int)end, c->entry);
		if (!c->table_name)
			break;
		quoted = api->quote_name(h, c->table_name, &err);
		api->free(err);
		err = NULL;
		if (quoted && strcmp(quoted, c->table) == 0)
			return 0;
		api->free(c->table_name);
		c->table_name = NULL;
	}
	*errmsg = api->mprintf("out of memory");
	return -1;
}

/* Fills c from the children or detach entry item, split as the host
 * splits names (api->split_column): the table and column quoted, the
 * table as written, and for a children entry its DELETE.  Returns 0, or
 * -1 with *errmsg set (c's strings are freed with the state either
 * way). */
static int child_parse(const sweep_api *api, sweep_host *h, const char *item,
                       child *c, char **errmsg)
{
	char *err = NULL, *whole_err = NULL;

	c->entry = item;
	if (api->split_column(h, item, &c->table, &c->column, &err) != 0) {
		/* A name the host quotes but cannot split has one part:
		 * it names no table. */
		if (api->quote_name(h, item, &whole_err))
			*errmsg = api->mprintf("children entry '%s': write "
			                       "TABLE.COLUMN (the column is the "
			                       "part after the last dot)", item);
		else
			*errmsg = api->mprintf("children entry '%s': %s", item,
			                       err ? err : "out of memory");
		api->free(err);
		api->free(whole_err);
		return -1;
	}
	if (table_name_find(api, h, c, errmsg) != 0)
		return -1;
	if (c->detach)
		return 0;
	c->sql = api->mprintf("DELETE FROM %s WHERE %s = $1", c->table,
	                      c->column);
	if (!c->sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Checks that sql (a SELECT ... LIMIT 0 over names of the job) runs, so a
 * misspelt name fails the run at once instead of every parent.  Returns 0,
 * or -1 with *errmsg set to "what: server message". */
static int check_names(const sweep_api *api, sweep_host *h, const char *sql,
                       const char *what, char **errmsg)
{
	PGresult *res = api->query(h, sql, 0, NULL, what, errmsg);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Checks that sql (an EXPLAIN, which plans without running) with
 * nparams text parameters is valid, so that a misspelt column or a value
 * of the wrong type fails the run at once.  Returns 0, or -1 with *errmsg
 * set to "what: server message". */
static int check_statement(const sweep_api *api, sweep_host *h,
                           const char *sql, int nparams,
                           const char *const *params, const char *what,
                           char **errmsg)
{
	const char *none[1] = { NULL };
	PGresult *res = api->query(h, sql, nparams, params ? params : none,
	                           what, errmsg);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Reads `children`, then `detach`, into st->children and groups the
 * entries by table (the quoted name), in list order; refuses a table in
 * both lists.  Returns 0, or -1 with *errmsg set. */
static int children_load(const sweep_api *api, sweep_host *h,
                         cascade_state *st, char **errmsg)
{
	const char *const *items, *const *detach;
	size_t nc, n, i, g;

	nc = api->opt_list(h, "children", &items);
	n = nc + api->opt_list(h, "detach", &detach);
	if (n == 0)
		return 0;
	st->children = calloc(n, sizeof *st->children);
	st->groups = calloc(n, sizeof *st->groups);
	st->pending = calloc(n, sizeof *st->pending);
	if (!st->children || !st->groups || !st->pending) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	st->nchildren = n;
	for (i = 0; i < n; i++) {
		child *c = &st->children[i];

		c->detach = i >= nc;
		if (child_parse(api, h, c->detach ? detach[i - nc] : items[i],
		                c, errmsg) != 0)
			return -1;
		for (g = 0; g < st->ngroups; g++)
			if (strcmp(st->children[st->groups[g]].table,
			           c->table) == 0)
				break;
		if (g == st->ngroups)
			st->groups[st->ngroups++] = i;
		else if (st->children[st->groups[g]].detach != c->detach) {
			*errmsg = api->mprintf("detach entry '%s': its table "
			                       "is in children too (a table's "
			                       "rows are either deleted or "
			                       "detached)", c->entry);
			return -1;
		}
		c->group = g;
	}
	return 0;
}

/* Whether the quoted table is the table of a detach entry. */
static bool detached(const cascade_state *st, const char *table)
{
	size_t i;

	for (i = 0; i < st->nchildren; i++)
		if (st->children[i].detach &&
		    strcmp(st->children[i].table, table) == 0)
			return true;
	return false;
}

/* Appends to *sql, for each TABLE.COLUMN entry of the option key (a list)
 * whose table is table, ", COLUMN = NULL", or with pats (detach_json)
 * ", COLUMN = pg_temp.sweepd_strip(COLUMN, pats)".  Refuses an entry whose
 * table is no detach table.  Returns 0, or -1 with *errmsg set (*sql may
 * then be NULL). */
static int detach_sets(const sweep_api *api, sweep_host *h,
                       const cascade_state *st, const char *key,
                       const char *table, const char *pats, char **sql,
                       char **errmsg)
{
	const char *const *items, *t, *col;
	char *err = NULL, *next;
	size_t i, n = api->opt_list(h, key, &items);

	for (i = 0; i < n && *sql; i++) {
		if (api->split_column(h, items[i], &t, &col, &err) != 0) {
			*errmsg = api->mprintf("%s entry '%s': %s", key,
			                       items[i], err ? err :
			                       "out of memory");
			api->free(err);
			return -1;
		}
		if (!detached(st, t)) {
			*errmsg = api->mprintf("%s entry '%s': its table is in "
			                       "no detach entry", key, items[i]);
			return -1;
		}
		if (strcmp(t, table) != 0)
			continue;
		if (pats)
			next = api->mprintf("%s, %s = pg_temp.sweepd_strip(%s,"
			                    " %s)", *sql, col, col, pats);
		else
			next = api->mprintf("%s, %s = NULL", *sql, col);
		api->free(*sql);
		*sql = next;
	}
	if (!*sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Builds the UPDATE of each detach entry: its column, and the
 * detach_set_null columns of its table, to NULL, and the keys matching
 * json_strip_keys out of the detach_json columns of its table, in the
 * rows whose column equals $1.  Returns 0, or -1 with *errmsg set. */
static int detach_build(const sweep_api *api, sweep_host *h,
                        cascade_state *st, char **errmsg)
{
	size_t i;

	for (i = 0; i < st->nchildren; i++) {
		child *c = &st->children[i];
		char *sql;

		if (!c->detach)
			continue;
		sql = api->mprintf("UPDATE %s SET %s = NULL", c->table,
		                   c->column);
		if (detach_sets(api, h, st, "detach_set_null", c->table, NULL,
		                &sql, errmsg) != 0 ||
		    detach_sets(api, h, st, "detach_json", c->table,
		                st->pats, &sql, errmsg) != 0) {
			api->free(sql);
			return -1;
		}
		c->sql = api->mprintf("%s WHERE %s = $1", sql, c->column);
		api->free(sql);
		if (!c->sql) {
			*errmsg = api->mprintf("out of memory");
			return -1;
		}
	}
	return 0;
}

/* Reads json_strip_keys and json_keep_keys into st->pats, for detach_json;
 * refuses one without the other.  Returns 0, or -1 with *errmsg set. */
static int json_keys_load(const sweep_api *api, sweep_host *h,
                          cascade_state *st, char **errmsg)
{
	const char *const *keys, *const *keep, *const *cols;
	size_t nkeys = api->opt_list(h, "json_strip_keys", &keys);
	size_t nkeep = api->opt_list(h, "json_keep_keys", &keep);
	size_t ncols = api->opt_list(h, "detach_json", &cols);

	if ((ncols > 0) != (nkeys > 0) || (nkeep > 0 && nkeys == 0)) {
		*errmsg = api->mprintf(ncols > 0 ? "detach_json needs "
		                       "json_strip_keys: the keys to remove"
		                       : "json_strip_keys and json_keep_keys "
		                       "need detach_json: the columns to "
		                       "remove them from");
		return -1;
	}
	if (ncols == 0)
		return 0;
	if (jk_no_jit(api, h, errmsg) != 0)
		return -1;
	return jk_prepare(api, h, api->db(h), keys, nkeys, keep, nkeep,
	                  &st->pats, errmsg);
}

/* Appends to *sql (freed; NULL when out of memory) "C = value" for the
 * column C, quoted, that item names up to its end or to eq, after sep.
 * Returns 0, or -1 with *errmsg set when it names no column. */
static int assign_add(const sweep_api *api, PGconn *db, const char *item,
                      const char *eq, const char *sep, const char *value,
                      char **sql, char **errmsg)
{
	size_t len = eq ? (size_t)(eq - item) : strlen(item);
	char *ident, *next;

	while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
		len--;
	if (len == 0) {
		*errmsg = api->mprintf("parent_set: '%s' names no column "
		                       "before '='", item);
		return -1;
	}
	ident = PQescapeIdentifier(db, item, len);
	next = ident && *sql ? api->mprintf("%s%s%s = %s", *sql, sep, ident,
	                                    value) : NULL;
	PQfreemem(ident);
	api->free(*sql);
	*sql = next;
	return 0;
}

/* Builds st->parent_sql: DELETE of parent $1, or, with parent_set_null or
 * parent_set ("column = value" pairs), its UPDATE setting those columns
 * to NULL and to $2, $3, ... (text values converted to the column's
 * type), the parent kept; and st->parent_params, whose first entry is
 * left for the key.  Returns 0, or -1 with *errmsg set. */
static int parent_build(const sweep_api *api, sweep_host *h,
                        cascade_state *st, char **errmsg)
{
	const char *const *nulls, *const *pairs, *eq, *v;
	size_t nnull = api->opt_list(h, "parent_set_null", &nulls), i;
	char *sql, num[24];

	st->nset = api->opt_list(h, "parent_set", &pairs);
	st->keep_parent = nnull > 0 || st->nset > 0;
	st->set_values = calloc(st->nset + 1, sizeof *st->set_values);
	st->parent_params = calloc(st->nset + 1, sizeof *st->parent_params);
	if (!st->set_values || !st->parent_params)
		goto oom;
	if (!st->keep_parent) {
		st->parent_sql = api->mprintf("DELETE FROM %s WHERE %s = $1",
		                              st->table, st->key);
		if (st->parent_sql)
			return 0;
		goto oom;
	}
	sql = api->mprintf("UPDATE %s SET ", st->table);
	for (i = 0; i < nnull; i++)
		if (assign_add(api, api->db(h), nulls[i], NULL, i ? ", " : "",
		               "NULL", &sql, errmsg) != 0)
			goto fail;
	for (i = 0; i < st->nset; i++) {
		eq = strchr(pairs[i], '=');
		if (!eq) {
			*errmsg = api->mprintf("parent_set: '%s' is not a pair "
			                       "'column = value' (no '=')",
			                       pairs[i]);
			goto fail;
		}
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		st->set_values[i] = api->mprintf("%s", v);
		st->parent_params[1 + i] = st->set_values[i];
		if (!st->set_values[i]) {
			*errmsg = api->mprintf("out of memory");
			goto fail;
		}
		snprintf(num, sizeof num, "$%zu", 2 + i);
		if (assign_add(api, api->db(h), pairs[i], eq,
		               nnull + i ? ", " : "", num, &sql, errmsg) != 0)
			goto fail;
	}
	st->parent_sql = sql ? api->mprintf("%s WHERE %s = $1", sql, st->key)
	                     : NULL;
	api->free(sql);
	if (st->parent_sql)
		return 0;
oom:
	*errmsg = api->mprintf("out of memory");
	return -1;
fail:
	api->free(sql);
	return -1;
}

/* With detach_json, creates the session's pg_temp.sweepd_strip
 * (json_keys.h) that the detach UPDATEs call, in a statement of its own
 * (it outlives the rolled-back check of names).  Not in a dry run, whose
 * read-only transaction refuses it and which runs no UPDATE.  Returns 0,
 * or -1 with *errmsg set. */
static int strip_function_create(const sweep_api *api, sweep_host *h,
                                 const cascade_state *st, char **errmsg)
{
	PGresult *res;
	char *sql;

	if (!st->pats || PQtransactionStatus(api->db(h)) != PQTRANS_IDLE)
		return 0;
	sql = jk_strip_function(api);
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	res = api->query(h, sql, 0, NULL, "creating pg_temp.sweepd_strip",
	                 errmsg);
	api->free(sql);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Checks every name of the job against the database with a SELECT ...
 * LIMIT 0 each, under the job's timeouts, so that a misspelt table,
 * column or condition fails the run at once instead of every parent.  In a
 * run this is a transaction of its own, rolled back; in a dry run it is
 * the host's (whose timeouts it sets for the rest of the dry run).
 * Returns 0, or -1 with *errmsg set to "what: server message". */
static int names_check(const sweep_api *api, sweep_host *h,
                       const cascade_state *st, const char *filter,
                       const char *audit_table, const char *audit_key,
                       char **errmsg)
{
	PGconn *db = api->db(h);
	bool own = PQtransactionStatus(db) == PQTRANS_IDLE;
	char *sql = NULL, *what = NULL;
	size_t i;
	int rc = -1;

	if (own ? api->begin(h, st->lock_ms, st->stmt_ms, errmsg) != 0
	        : api->set_timeouts(h, st->lock_ms, st->stmt_ms, errmsg) != 0)
		goto out;
	sql = api->mprintf("SELECT %s FROM %s WHERE (%s) LIMIT 0", st->key,
	                   st->table, filter);
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (check_names(api, h, sql, "table, key_column or where", errmsg))
		goto out;
	api->free(sql);
	sql = NULL;
	if (audit_table) {
		sql = api->mprintf("SELECT action, %s FROM %s LIMIT 0",
		                   audit_key, audit_table);
		if (!sql) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		if (check_names(api, h, sql, "audit_table or "
		                "audit_key_column", errmsg) != 0)
			goto out;
		api->free(sql);
		sql = NULL;
	}
	for (i = 0; i < st->nchildren; i++) {
		const child *c = &st->children[i];

		sql = api->mprintf("SELECT %s FROM %s LIMIT 0", c->column,
		                   c->table);
		what = api->mprintf("%s entry '%s'", c->detach ? "detach" :
		                    "children", c->entry);
		if (!sql || !what) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		if (check_names(api, h, sql, what, errmsg) != 0)
			goto out;
		api->free(sql);
		sql = NULL;
		if (c->detach && (!st->pats || own))
			sql = api->mprintf("EXPLAIN %s", c->sql);
		if (sql && check_statement(api, h, sql, 1, NULL, what,
		                           errmsg) != 0)
			goto out;
		api->free(sql);
		api->free(what);
		sql = what = NULL;
	}
	sql = api->mprintf("EXPLAIN %s", st->parent_sql);
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (check_statement(api, h, sql, 1 + (int)st->nset, st->parent_params,
	                    "parent_set or parent_set_null", errmsg) != 0)
		goto out;
	rc = 0;
out:
	if (own && PQstatus(db) == CONNECTION_OK &&
	    PQtransactionStatus(db) != PQTRANS_IDLE)
		PQclear(PQexec(db, "ROLLBACK"));
	api->free(sql);
	api->free(what);
	return rc;
}

/* Sets st->dry_sql to one statement counting what a run would take: the
 * parents (the first $1 in key order; NULL: all), then the rows of each
 * child table having any of its listed columns equal to one of their keys
 * (a row reached by two columns counts once, as the run deletes it once),
 * then the parent table's rows with those keys.  Returns 0, or -1 with
 * *errmsg set. */
static int dry_sql_build(const sweep_api *api, cascade_state *st,
                         const char *filter, char **errmsg)
{
	char *sql, *next;
	size_t g, i;

	sql = api->mprintf("WITH sweepd_parents AS (SELECT %s AS k FROM %s"
	                   " WHERE %s IS NOT NULL AND (%s) ORDER BY %s"
	                   " LIMIT $1) SELECT (SELECT count(*) FROM"
	                   " sweepd_parents)", st->key, st->table, st->key,
	                   filter, st->qualified_key);
	for (g = 0; g < st->ngroups && sql; g++) {
		const child *first = &st->children[st->groups[g]];

		next = api->mprintf("%s, (SELECT count(*) FROM %s WHERE false",
		                    sql, first->table);
		api->free(sql);
		sql = next;
		for (i = 0; i < st->nchildren && sql; i++) {
			if (st->children[i].group != g)
				continue;
			next = api->mprintf("%s OR %s IN (SELECT sweepd_parents.k"
			                    " FROM sweepd_parents)", sql,
			                    st->children[i].column);
			api->free(sql);
			sql = next;
		}
		if (sql) {
			next = api->mprintf("%s)", sql);
			api->free(sql);
			sql = next;
		}
	}
	if (sql)
		st->dry_sql = api->mprintf("%s, (SELECT count(*) FROM %s WHERE"
		                           " %s IN (SELECT sweepd_parents.k FROM"
		                           " sweepd_parents))", sql, st->table,
		                           st->key);
	api->free(sql);
	if (!st->dry_sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, cascade_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nchildren; i++) {
		api->free(st->children[i].table_name);
		api->free(st->children[i].sql);
	}
	for (i = 0; st->set_values && i < st->nset; i++)
		api->free(st->set_values[i]);
	free(st->set_values);
	free(st->parent_params);
	api->free(st->pats);
	free(st->children);
	free(st->groups);
	free(st->pending);
	api->free(st->qualified_key);
	api->free(st->fetch_sql);
	api->free(st->lock_sql);
	api->free(st->parent_sql);
	api->free(st->audit_sql);
	api->free(st->dry_sql);
	free(st);
}

/* Reads and checks the options, builds the statements of the run into
 * *state and checks every name they use against the database.  Returns 0,
 * or -1 with *errmsg set and nothing allocated. */
static int cascade_init(const sweep_api *api, sweep_host *h, void **state,
                        char **errmsg)
{
	PGconn *db = api->db(h);
	cascade_state *st;
	const char *filter = api->opt_string(h, "where");
	const char *audit_table = NULL, *audit_key = NULL;
	const char *why;
	int rc = -1;

	st = calloc(1, sizeof *st);
	if (!st) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->table = api->opt_ident(h, "table");
	st->table_name = api->opt_string(h, "table");
	st->key = api->opt_ident(h, "key_column");
	st->action = api->opt_string(h, "audit_action");
	st->batch_size = api->opt_int(h, "batch_size");
	st->max_rows = api->opt_int(h, "max_rows");
	st->pause_ms = api->opt_duration_ms(h, "batch_pause");
	if (api->opt_isset(h, "audit_table")) {
		audit_table = api->opt_ident(h, "audit_table");
		audit_key = api->opt_ident(h, "audit_key_column");
		if (!audit_table || !audit_key) {
			why = PQerrorMessage(db);
			*errmsg = api->mprintf("cannot quote audit_table or "
			                       "audit_key_column: %.*s",
			                       (int)strcspn(why, "\n"), why);
			goto out;
		}
	}
	if (!st->table || !st->key) {
		why = PQerrorMessage(db);
		*errmsg = api->mprintf("cannot quote table or key_column: "
		                       "%.*s", (int)strcspn(why, "\n"), why);
		goto out;
	}
	if (!filter || !st->action) {
		*errmsg = api->mprintf("where and audit_action must be set");
		goto out;
	}
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (parents fetched at "
		                       "once, e.g. 100)", st->batch_size);
		goto out;
	}
	if (st->max_rows < 0) {
		*errmsg = api->mprintf("max_rows = %" PRId64 ": must not be "
		                       "negative (0 or unset: no cap)",
		                       st->max_rows);
		goto out;
	}
	if (audit_table) {
		st->audit_sql = api->mprintf("INSERT INTO %s (action, %s)"
		                             " VALUES ($1, $2)", audit_table,
		                             audit_key);
		if (!st->audit_sql) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
	}
	if (children_load(api, h, st, errmsg) != 0 ||
	    json_keys_load(api, h, st, errmsg) != 0 ||
	    detach_build(api, h, st, errmsg) != 0 ||
	    parent_build(api, h, st, errmsg) != 0 ||
	    strip_function_create(api, h, st, errmsg) != 0)
		goto out;

	st->lock_ms = api->opt_duration_ms(h, "lock_timeout");
	st->stmt_ms = api->opt_duration_ms(h, "statement_timeout");
	if (st->lock_ms > INT32_MAX || st->stmt_ms > INT32_MAX) {
		*errmsg = api->mprintf("lock_timeout and statement_timeout "
		                       "must be at most %" PRId32 "ms (what "
		                       "PostgreSQL takes)", INT32_MAX);
		goto out;
	}
	st->qualified_key = api->mprintf("%s.%s", st->table, st->key);
	if (!st->qualified_key) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->fetch_sql = api->mprintf(
		"SELECT %s::text FROM %s WHERE %s IS NOT NULL AND (%s)"
		" AND (%s > $2 OR $2 IS NULL) ORDER BY %s LIMIT $1",
		st->key, st->table, st->key, filter, st->key,
		st->qualified_key);
	st->lock_sql = api->mprintf(
		"SELECT jsonb_build_object('key', %s)::text FROM %s"
		" WHERE %s = $1 AND (%s) FOR UPDATE",
		st->key, st->table, st->key, filter);
	if (!st->fetch_sql || !st->lock_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (dry_sql_build(api, st, filter, errmsg) != 0 ||
	    names_check(api, h, st, filter, audit_table, audit_key,
	                errmsg) != 0)
		goto out;
	*state = st;
	st = NULL;
	rc = 0;
out:
	state_free(api, st);
	return rc;
}

/* Outcome of one parent. */
enum parent_outcome {
	PARENT_DELETED,  /* committed */
	PARENT_SKIPPED,  /* no longer meets `where`: nothing changed */
	PARENT_FAILED    /* rolled back; *errmsg says why */
};

/* Deletes the parent whose key is the text key with its child rows, in the
 * order of `children`, then writes its audit record, all in one
 * transaction with the batch options set, and commits.  Adds the rows
 * deleted to the counters only once committed.  On failure (even at
 * COMMIT, a deferred constraint) the transaction is rolled back, nothing
 * stays counted (the host's "audited" of a rolled-back record is taken
 * back off), and *errmsg says why and at which step. */
static enum parent_outcome parent_delete(const sweep_api *api, sweep_host *h,
                                         cascade_state *st, const char *key,
                                         char **errmsg)
{
	PGconn *db = api->db(h);
	PGresult *res = NULL;
	const char *params[2] = { key, NULL };
	char *data = NULL, *err = NULL;
	int64_t parent_rows;
	enum parent_outcome rc = PARENT_FAILED;
	bool audited = false;
	size_t i;

	/* Without children there is no array: memset(NULL, 0, 0) is
	 * undefined behaviour all the same. */
	if (st->ngroups > 0)
		memset(st->pending, 0, st->ngroups * sizeof *st->pending);
	if (api->begin(h, st->lock_ms, st->stmt_ms, errmsg) != 0)
		goto out;
	res = step(api, db, st->lock_sql, 1, params, PGRES_TUPLES_OK,
	           "locking the parent", "", errmsg);
	if (!res)
		goto out;
	if (PQntuples(res) == 0) {
		rc = PARENT_SKIPPED;
		goto out;
	}
	data = api->mprintf("%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (!data) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	for (i = 0; i < st->nchildren; i++) {
		const child *c = &st->children[i];

		res = step(api, db, c->sql, 1, params, PGRES_COMMAND_OK,
		           c->detach ? "detaching " : "deleting from ",
		           c->entry, errmsg);
		if (!res)
			goto out;
		st->pending[c->group] += strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	st->parent_params[0] = key;
	res = step(api, db, st->parent_sql, 1 + (int)st->nset,
	           st->parent_params, PGRES_COMMAND_OK, st->keep_parent ?
	           "updating the parent" : "deleting the parent", "", errmsg);
	if (!res)
		goto out;
	parent_rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = NULL;
	if (st->audit_sql) {
		params[0] = st->action;
		params[1] = key;
		res = step(api, db, st->audit_sql, 2, params, PGRES_COMMAND_OK,
		           "writing the audit record", "", errmsg);
		if (!res)
			goto out;
		PQclear(res);
	} else if (api->audit(h, st->action, st->table_name, data, &err)) {
		*errmsg = api->mprintf("%s", err);
		goto out;
	} else {
		audited = true;
	}
	res = step(api, db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, "committing",
	           "", errmsg);
	if (!res)
		goto out;

	for (i = 0; i < st->ngroups; i++)
		api->count(h, st->children[st->groups[i]].table_name,
		           st->pending[i]);
	api->count(h, st->table_name, parent_rows);
	api->count(h, "parents", 1);
	if (st->audit_sql)
		api->count(h, "audited", 1);
	rc = PARENT_DELETED;
out:
	if (rc != PARENT_DELETED && PQstatus(db) == CONNECTION_OK &&
	    PQtransactionStatus(db) != PQTRANS_IDLE)
		PQclear(PQexec(db, "ROLLBACK"));
	if (rc != PARENT_DELETED && audited)
		api->count(h, "audited", -1); /* its record was rolled back */
	PQclear(res);
	api->free(err);
	api->free(data);
	return rc;
}

/* Fetches, in its own transaction with the batch options set, the keys of
 * up to limit parents after the key after (NULL: from the first), in key
 * order.  Returns the rows (one text column), which the caller PQclear()s,
 * or NULL with *errmsg set. */
static PGresult *parents_fetch(const sweep_api *api, sweep_host *h,
                               const cascade_state *st, int64_t limit,
                               const char *after, char **errmsg)
{
	PGconn *db = api->db(h);
	char n[24];
	const char *params[2] = { n, after };
	PGresult *res = NULL, *commit;

	snprintf(n, sizeof n, "%" PRId64, limit);
	if (api->begin(h, st->lock_ms, st->stmt_ms, errmsg) != 0)
		goto fail;
	res = api->query(h, st->fetch_sql, 2, params, "fetching parents",
	                 errmsg);
	if (!res)
		goto fail;
	commit = api->query(h, "COMMIT", 0, NULL, "fetching parents", errmsg);
	if (!commit)
		goto fail;
	PQclear(commit);
	return res;
fail:
	PQclear(res);
	if (PQstatus(db) == CONNECTION_OK &&
	    PQtransactionStatus(db) != PQTRANS_IDLE)
		PQclear(PQexec(db, "ROLLBACK"));
	return NULL;
}

/* Deletes the due parents one transaction each, batch_size fetched at a
 * time, up to max_rows, pausing batch_pause between parents and stopping
 * between parents when asked.  A parent that fails is rolled back alone,
 * reported as an error item and counted in "failed"; the others go on, and
 * the run then fails with "N of M parents failed".  Returns 0, or -1 with
 * *errmsg set; parents committed before stay committed and counted. */
static int cascade_run(const sweep_api *api, sweep_host *h, void *state,
                       char **errmsg)
{
	cascade_state *st = state;
	PGconn *db = api->db(h);
	PGresult *res = NULL;
	char *last = NULL, *why = NULL, *item = NULL, *msg = NULL;
	int64_t taken = 0, done = 0, failed = 0, skipped = 0, limit;
	bool stopped = false, more = true;
	char d[24], f[24];
	int i, n, rc = -1;
	size_t g;

	api->count(h, "parents", 0);
	api->count(h, "failed", 0);
	for (g = 0; g < st->ngroups; g++)
		api->count(h, st->children[st->groups[g]].table_name, 0);
	api->count(h, st->table_name, 0);

	while (more && !stopped) {
		limit = st->batch_size;
		if (st->max_rows > 0 && st->max_rows - taken < limit)
			limit = st->max_rows - taken;
		if (limit <= 0)
			break;
		res = parents_fetch(api, h, st, limit, last, errmsg);
		if (!res)
			goto out;
		n = PQntuples(res);
		more = n == limit;
		for (i = 0; i < n; i++) {
			const char *key = PQgetvalue(res, i, 0);

			if (!api->pause(h, taken > 0 ? st->pause_ms : 0)) {
				stopped = true;
				break;
			}
			taken++;
			switch (parent_delete(api, h, st, key, &why)) {
			case PARENT_DELETED:
				done++;
				break;
			case PARENT_SKIPPED:
				skipped++;
				api->count(h, "skipped", 1);
				break;
			case PARENT_FAILED:
				if (PQstatus(db) != CONNECTION_OK) {
					*errmsg = api->mprintf("parent %s: %s",
					                       key, why ? why :
					                       "failed");
					goto out;
				}
				failed++;
				api->count(h, "failed", 1);
				item = api->mprintf("parent %s: %s", key,
				                    why ? why : "failed");
				api->error_item(h, item ? item : key);
				api->free(item);
				item = NULL;
				break;
			}
			api->free(why);
			why = NULL;
			api->progress(h, taken, -1);
		}
		if (n > 0) {
			api->free(last);
			last = api->mprintf("%s", PQgetvalue(res, n - 1, 0));
			if (!last) {
				*errmsg = api->mprintf("out of memory");
				goto out;
			}
		}
		PQclear(res);
		res = NULL;
	}

	snprintf(d, sizeof d, "%" PRId64, done);
	snprintf(f, sizeof f, "%" PRId64, failed);
	api->log(h, SWEEP_LOG_INFO, "cascade deleted", "table",
	         st->table_name, "parents", d, "failed", f, "stopped",
	         stopped ? "true" : "false", SWEEP_LOG_END);
	msg = api->mprintf("%s %" PRId64 " parents %s %s with their "
	                   "child rows (%" PRId64 " failed, %" PRId64 " skipped"
	                   " as no longer due)%s", st->keep_parent ?
	                   "anonymized" : "deleted", done, st->keep_parent ?
	                   "of" : "from", st->table_name, failed, skipped,
	                   stopped ? "; stopped early on request" : "");
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	if (failed > 0) {
		*errmsg = api->mprintf("%" PRId64 " of %" PRId64 " parents "
		                       "failed; see errors", failed, taken);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	api->free(msg);
	api->free(item);
	api->free(why);
	api->free(last);
	return rc;
}

/* Reports what run would delete, changing nothing: "parents" (capped at
 * max_rows), the rows of each child table and of the parent table that
 * would go with them, up to SAMPLE_ROWS parent keys in the order the run
 * takes them, and a message.  Returns 0, or -1 with *errmsg set. */
static int cascade_dry_run(const sweep_api *api, sweep_host *h, void *state,
                           char **errmsg)
{
	const cascade_state *st = state;
	PGresult *res = NULL;
	char cap[24];
	const char *params[2] = { NULL, NULL };
	char *msg = NULL;
	int64_t parents, children = 0, v, limit = SAMPLE_ROWS;
	size_t g;
	int i, rc = -1;

	if (st->max_rows > 0) {
		snprintf(cap, sizeof cap, "%" PRId64, st->max_rows);
		params[0] = cap;
	}
	res = api->query(h, st->dry_sql, 1, params, "counting what would go",
	                 errmsg);
	if (!res)
		goto out;
	parents = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	api->count(h, "parents", parents);
	for (g = 0; g < st->ngroups; g++) {
		v = strtoll(PQgetvalue(res, 0, (int)g + 1), NULL, 10);
		api->count(h, st->children[st->groups[g]].table_name, v);
		children += v;
	}
	api->count(h, st->table_name,
	           strtoll(PQgetvalue(res, 0, (int)st->ngroups + 1), NULL,
	                   10));
	PQclear(res);
	res = NULL;

	if (st->max_rows > 0 && st->max_rows < limit)
		limit = st->max_rows;
	snprintf(cap, sizeof cap, "%" PRId64, limit);
	params[0] = cap;
	params[1] = NULL;
	res = api->query(h, st->fetch_sql, 2, params, "sampling parents",
	                 errmsg);
	if (!res)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		api->sample(h, PQgetvalue(res, i, 0));

	msg = api->mprintf("would %s %" PRId64 " parents %s %s and delete or"
	                   " detach %" PRId64 " rows of %zu child tables",
	                   st->keep_parent ? "anonymize" : "delete", parents,
	                   st->keep_parent ? "of" : "from", st->table_name,
	                   children, st->ngroups);
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	PQclear(res);
	api->free(msg);
	return rc;
}

/* Frees the state built by cascade_init. */
static void cascade_teardown(const sweep_api *api, sweep_host *h,
                             void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option cascade_options[] = {
	{ "table", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "parent table whose rows go, optionally schema-qualified" },
	{ "key_column", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "column naming a parent, the one child rows refer to (e.g. id)" },
	{ "where", SWEEP_OPT_SQL_EXPR, SWEEP_OPT_REQUIRED, NULL,
	  "which parents go, e.g. deletion_scheduled_at <= now()" },
	{ "children", SWEEP_OPT_LIST, 0, NULL,
	  "TABLE.COLUMN entries emptied first, in this order, rows whose "
	  "COLUMN equals the parent's key" },
	{ "detach", SWEEP_OPT_LIST, 0, NULL,
	  "TABLE.COLUMN entries whose rows referring to the parent are kept "
	  "but cut from it (COLUMN set to NULL) and anonymized by "
	  "detach_set_null and detach_json, after children" },
	{ "detach_set_null", SWEEP_OPT_LIST, 0, NULL,
	  "TABLE.COLUMN entries set to NULL in the detached rows of their "
	  "table, e.g. audit_logs.ip_address" },
	{ "detach_json", SWEEP_OPT_LIST, 0, NULL,
	  "TABLE.COLUMN jsonb entries of detached rows losing the keys "
	  "matching json_strip_keys, as the anonymize plugin does" },
	{ "json_strip_keys", SWEEP_OPT_LIST, 0, NULL,
	  "keys removed with their whole value from detach_json at any depth "
	  "(anonymize's rules: case ignored, * globs, words: email takes "
	  "userEmail, emails)" },
	{ "json_keep_keys", SWEEP_OPT_LIST, 0, NULL,
	  "keys kept even when json_strip_keys matches them" },
	{ "parent_set_null", SWEEP_OPT_LIST, 0, NULL,
	  "columns of the parent set to NULL; with this or parent_set the "
	  "parent is kept and updated, not deleted (make `where` exclude it "
	  "then)" },
	{ "parent_set", SWEEP_OPT_LIST, 0, NULL,
	  "column = value pairs set in the kept parent, e.g. display_name = "
	  "[Deleted User], deleted_at = now (text converted to the column's "
	  "type)" },
	{ "audit_action", SWEEP_OPT_STRING, 0, "hard_deleted",
	  "action of the one audit record written per deleted parent" },
	{ "audit_table", SWEEP_OPT_IDENT, 0, NULL,
	  "application table (action, audit_key_column) that gets the audit "
	  "record instead of sweepd.audit" },
	{ "audit_key_column", SWEEP_OPT_IDENT, 0, "user_id",
	  "column of audit_table that gets the parent's key" },
	{ "batch_size", SWEEP_OPT_INT, 0, "100",
	  "parents fetched at once; each parent is still its own "
	  "transaction" },
	SWEEP_BATCH_OPTIONS,
	{ "max_rows", SWEEP_OPT_INT, 0, NULL,
	  "most parents one run takes (deleted or failed); 0 or unset: "
	  "no cap" },
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range cascade_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	{ "max_rows", 0, INT64_MAX },
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin cascade_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "cascade_delete",
	.version = "1.0.0",
	.description = "deletes (or anonymizes) parent rows with their rows "
	               "in child tables (deleted or detached), one parent "
	               "per transaction, audited",
	.options = cascade_options,
	.ranges = cascade_ranges,
	.init = cascade_init,
	.run = cascade_run,
	.dry_run = cascade_dry_run,
	.teardown = cascade_teardown,
};

SWEEP_PLUGIN_DEFINE(cascade_plugin)
