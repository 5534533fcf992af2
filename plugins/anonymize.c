/*
 * anonymize: removes personal data from the rows of one table whose time
 * column is older than a given age, optionally narrowed by an extra
 * condition, in short batches, keeping the rows themselves.
 *
 * Each such row gets the set_null columns set to NULL, the set columns set
 * to fixed values (`column = value` pairs; each value is sent as a text
 * parameter that PostgreSQL converts to the column's type), and the keys
 * matching json_strip_keys (and not json_keep_keys) removed, each with its
 * whole value, from the JSON of json_column at any depth: from every object
 * inside it, however deeply nested in objects and arrays, and inside
 * strings that hold a JSON object or array.  json_column is jsonb, json
 * (written back as json) or text holding JSON (written back as text; text
 * that is not a JSON object or array stays as it is).  Keys match ignoring
 * case, by glob ("*email*") or by words ("email" takes userEmail and
 * emails, not "emailer"): the rule is in json_keys.h.
 *
 * The cutoff is computed once per run by the database (now() - older_than,
 * its years, months and days counted on the calendar of naive_timezone),
 * so every batch of the run compares against the same instant.  A row is
 * anonymized when time_column < cutoff, strictly: a row exactly at the
 * cutoff stays, and a row whose time column is NULL is never touched.  A
 * time_column without a time zone (timestamp, date) is read as wall-clock
 * time in naive_timezone (default UTC), whatever the session's TimeZone.
 *
 * Idempotent: a row that is already anonymized (every set_null column NULL,
 * every set column equal to its value, no matching key left anywhere in
 * json_column) is neither updated nor counted again, so a run after a run
 * changes nothing.
 *
 * The host's batch loop walks the table's heap in ranges of blocks; each
 * batch is one UPDATE restricted to its range ($2, $3), which PostgreSQL
 * runs as a TID Range Scan, in its own transaction, stopping at the rows
 * the host lets it change ($1, when it caps them).
 *
 * Keys at any depth: PostgreSQL has no recursive key delete, so run()
 * first creates the session's own function pg_temp.sweepd_strip(jsonb,
 * text[]) (json_keys.h), a recursive SQL function that rebuilds objects
 * without the keys and arrays element by element (a temporary function
 * needs no privilege on any schema, only TEMP on the database, and
 * disappears with the session).  Finding a key left anywhere needs no
 * function: a recursive query walks the value (jk_has()).  The dry run
 * uses only that, as its read-only transaction refuses CREATE FUNCTION;
 * the run uses it too, to choose the rows to change, so that both count
 * the same rows.
 *
 * Audit: with audit_columns, each batch records for every row it changes a
 * jsonb object of those columns as they were BEFORE the change (an UPDATE's
 * RETURNING sees only the new values, so the batch locks its rows with
 * SELECT ... FOR UPDATE and the UPDATE joins them on ctid and returns the
 * old values); the host writes each as an audit record in the same
 * transaction as the change.  Name a key (e.g. id) there, not the personal
 * data being removed, unless the audit table is meant to keep it.  A row
 * that another transaction updates while a batch waits for its lock may
 * be left for the next run; it is never changed without its record.
 *
 * Verify (SDK 1.9): the policy is that no row older than older_than still
 * holds data to remove.  verify measures the oldest row that meets `where`
 * and still holds such data (the run's own condition, pending_sql(), with
 * the set values as literals, since sweep_age_oldest() takes no
 * parameters), whatever its age: min(time_column) through an index on
 * it when there is one.  Rows already anonymized are not the policy's, so
 * an old anonymized row does not count; the measure reads, after a run,
 * every old row to find none left, as the dry run's count does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweepd/plugin.h>

#include "json_keys.h"

/* Lines dry_run adds to the sample. */
#define SAMPLE_ROWS 5
/* jsonb_build_object() takes at most 100 arguments: 50 key/value pairs. */
#define MAX_AUDIT_COLUMNS 50

/* Type of one column of a table ($1), by its name ($2). */
static const char COLTYPE_SQL[] =
	"SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
	" WHERE attrelid = $1::regclass AND attname = $2 AND attnum > 0"
	" AND NOT attisdropped";

/* How json_column holds its JSON. */
enum json_kind {
	JSON_JSONB,  /* jsonb */
	JSON_JSON,   /* json: read as jsonb, written back as json */
	JSON_TEXT    /* text: a JSON object or array, or other text left as
	                it is */
};

typedef struct anon_state {
	const char *table;       /* quoted; host-owned */
	const char *table_name;  /* as written, for messages and audit */
	const char *time_column; /* quoted; host-owned */
	const char *json_column; /* quoted, or NULL; host-owned */
	const char *zone;        /* naive_timezone; host-owned */
	int kind;                /* time_column's sweep_time_kind() */
	char *older_run;         /* time_column older than $4, the cutoff */
	char *older_dry;         /* the same against $1 */
	int64_t batch_size;
	size_t nnull;            /* set_null columns */
	char **null_columns;     /* nnull quoted names (PQfreemem) */
	size_t nset;             /* `set` pairs */
	char **set_columns;      /* nset quoted names (PQfreemem) */
	char **set_values;       /* nset values as written (api->free) */
	char **set_literals;     /* nset values quoted as SQL literals
	                            (PQfreemem), for verify */
	enum json_kind json_kind;/* how json_column holds its JSON */
	char *keys;              /* the key patterns (json_keys.h), a
	                            text[] literal, or NULL */
	char *filter;            /* " AND (where)", or "" */
	const char *audit_object;/* jsonb_build_object(...) of audit_columns,
	                            or NULL when the job is not audited;
	                            host-owned */
	char *update_sql;        /* the batch statement: $4 is the cutoff,
	                            $5.. the set values compared, then the
	                            set values assigned */
	char *count_sql;         /* rows past the cutoff, and those still to
	                            anonymize: $1 cutoff, $2.. set values */
	char *sample_sql;        /* keys of a few rows still to anonymize */
	char *verify_filter;     /* " AND (where) AND pending", the set
	                            values as literals: verify's condition */
} anon_state;

/* Returns "cannot quote WHAT: " and why libpq could not (the
 * connection's last error: an invalid character encoding, out of memory),
 * for *errmsg; NULL when out of memory. */
static char *quote_failed(const sweep_api *api, PGconn *db, const char *what)
{
	const char *why = PQerrorMessage(db);

	return api->mprintf("cannot quote %s: %.*s", what,
	                    (int)strcspn(why, "\n"), why);
}

/* Replaces *sql (freed) with *sql followed by a, b and c (NULL ones
 * left out); on out of memory *sql becomes NULL and stays so, so a chain of
 * calls needs one check at its end. */
static void cat(const sweep_api *api, char **sql, const char *a,
                const char *b, const char *c)
{
	char *next;

	if (!*sql)
		return;
	next = api->mprintf("%s%s%s%s", *sql, a ? a : "", b ? b : "",
	                    c ? c : "");
	api->free(*sql);
	*sql = next;
}

/* Returns a new string holding the n bytes at s without the blanks that
 * start and end them, or NULL when out of memory.  Freed with api->free. */
static char *trimmed(const sweep_api *api, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return api->mprintf("%.*s", (int)n, s);
}

/* Returns whether name is one of the n names. */
static int listed(const char *name, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Reads the set_null columns and the `set` pairs "column = value" into st
 * (quoted columns, values as written and as SQL literals), refusing a
 * pair without '=' or with an empty column, and a column that set_null,
 * set and json_column name more than once.  Returns 0, or -1 with
 * *errmsg set (what was read stays in st, for state_free). */
static int columns_read(const sweep_api *api, sweep_host *h, PGconn *db,
                        anon_state *st, char **errmsg)
{
	const char *const *items, *const *nulls;
	const char *eq, *json = api->opt_string(h, "json_column");
	char **names = NULL;
	size_t i, n, nnull;
	int rc = -1;

	nnull = api->opt_list(h, "set_null", &nulls);
	n = api->opt_list(h, "set", &items);
	st->null_columns = calloc(nnull + 1, sizeof *st->null_columns);
	st->set_columns = calloc(n + 1, sizeof *st->set_columns);
	st->set_values = calloc(n + 1, sizeof *st->set_values);
	st->set_literals = calloc(n + 1, sizeof *st->set_literals);
	names = calloc(n + 1, sizeof *names);
	if (!st->null_columns || !st->set_columns || !st->set_values ||
	    !st->set_literals || !names) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->nnull = nnull;
	st->nset = n;
	for (i = 0; i < nnull; i++) {
		if (listed(nulls[i], nulls, i) ||
		    (json && strcmp(nulls[i], json) == 0)) {
			*errmsg = api->mprintf("set_null: column '%s' is named "
			                       "twice (set_null, set and "
			                       "json_column change a column "
			                       "once each)", nulls[i]);
			goto out;
		}
		st->null_columns[i] = PQescapeIdentifier(db, nulls[i],
		                                         strlen(nulls[i]));
		if (!st->null_columns[i]) {
			*errmsg = quote_failed(api, db, "a set_null column");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		eq = strchr(items[i], '=');
		if (!eq) {
			*errmsg = api->mprintf("set: '%s' is not a pair "
			                       "'column = value' (no '=')",
			                       items[i]);
			goto out;
		}
		names[i] = trimmed(api, items[i], (size_t)(eq - items[i]));
		st->set_values[i] = trimmed(api, eq + 1, strlen(eq + 1));
		if (!names[i] || !st->set_values[i]) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		if (names[i][0] == '\0') {
			*errmsg = api->mprintf("set: '%s' names no column "
			                       "before '='", items[i]);
			goto out;
		}
		if (listed(names[i], (const char *const *)names, i) ||
		    listed(names[i], nulls, nnull) ||
		    (json && strcmp(names[i], json) == 0)) {
			*errmsg = api->mprintf("set: column '%s' is named "
			                       "twice (set_null, set and "
			                       "json_column change a column "
			                       "once each)", names[i]);
			goto out;
		}
		st->set_columns[i] = PQescapeIdentifier(db, names[i],
		                                        strlen(names[i]));
		if (!st->set_columns[i]) {
			*errmsg = quote_failed(api, db, "a set column");
			goto out;
		}
		st->set_literals[i] = PQescapeLiteral(db, st->set_values[i],
		                                      strlen(st->set_values[i]));
		if (!st->set_literals[i]) {
			*errmsg = quote_failed(api, db, "a set value");
			goto out;
		}
	}
	rc = 0;
out:
	for (i = 0; names && i < n; i++)
		api->free(names[i]);
	free(names);
	return rc;
}

/* Checks that json_column is a jsonb, json or text column of the table,
 * so that a wrong column fails with a message saying so, and sets
 * st->json_kind.  Returns 0, or -1 with *errmsg set. */
static int json_column_check(const sweep_api *api, sweep_host *h,
                             anon_state *st, char **errmsg)
{
	const char *type;
	const char *params[2] = { st->table, NULL };
	PGresult *res;
	int rc;

	params[1] = api->opt_string(h, "json_column");
	res = api->query(h, COLTYPE_SQL, 2, params, "checking json_column",
	                 errmsg);
	if (!res)
		return -1;
	type = PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "";
	rc = 0;
	if (strcmp(type, "jsonb") == 0) {
		st->json_kind = JSON_JSONB;
	} else if (strcmp(type, "json") == 0) {
		st->json_kind = JSON_JSON;
	} else if (strcmp(type, "text") == 0) {
		st->json_kind = JSON_TEXT;
	} else if (PQntuples(res) == 0) {
		*errmsg = api->mprintf("json_column '%s': %s has no such "
		                       "column", params[1], st->table_name);
		rc = -1;
	} else {
		*errmsg = api->mprintf("json_column '%s' is of type %s: it "
		                       "must be jsonb, json or text", params[1],
		                       type);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Returns the jsonb that json_column (read as ref_prefix json_column)
 * holds: the column itself, cast from json, or read from text when the
 * text is a JSON object or array (else NULL).  New string, NULL when out
 * of memory. */
static char *json_read_sql(const sweep_api *api, const anon_state *st,
                           const char *ref_prefix)
{
	char *ref = api->mprintf("%s%s", ref_prefix, st->json_column), *sql;

	if (!ref)
		return NULL;
	switch (st->json_kind) {
	case JSON_JSONB:
		return ref;
	case JSON_JSON:
		sql = api->mprintf("(%s)::jsonb", ref);
		break;
	default:
		sql = jk_try_json(api, ref);
		break;
	}
	api->free(ref);
	return sql;
}

/* Returns the new value of json_column (read as ref_prefix json_column):
 * without the keys, in the column's type, and the column as it was when
 * no key was found (a string that is not JSON included).  New string,
 * NULL when out of memory. */
static char *json_write_sql(const sweep_api *api, const anon_state *st,
                            const char *ref_prefix)
{
	static const char *const back[] = { "", "::json", "::text" };
	char *read = json_read_sql(api, st, ref_prefix), *sql = NULL;

	if (read)
		sql = api->mprintf(
			"(SELECT CASE WHEN sweep_u.n IS DISTINCT FROM sweep_u.d"
			" THEN sweep_u.n%s ELSE %s%s END FROM (SELECT"
			" sweep_v.d, pg_temp.sweepd_strip(sweep_v.d, %s) AS n"
			" FROM (SELECT %s AS d OFFSET 0) sweep_v OFFSET 0)"
			" sweep_u)", back[st->json_kind], ref_prefix,
			st->json_column, st->keys, read);
	api->free(read);
	return sql;
}

/* Returns the SET list of the UPDATE: set_null columns to NULL, set
 * columns to $first, $first+1, ..., json_column to itself (read as
 * ref_prefix json_column) without the keys.  New string, NULL when out of
 * memory. */
static char *assign_sql(const sweep_api *api, const anon_state *st,
                        int first, const char *ref_prefix)
{
	const char *sep = "";
	char *sql = api->mprintf("%s", ""), num[16];
	size_t i;

	for (i = 0; i < st->nnull; i++) {
		cat(api, &sql, sep, st->null_columns[i], " = NULL");
		sep = ", ";
	}
	for (i = 0; i < st->nset; i++) {
		snprintf(num, sizeof num, " = $%d", first + (int)i);
		cat(api, &sql, sep, st->set_columns[i], num);
		sep = ", ";
	}
	if (st->json_column) {
		char *value = json_write_sql(api, st, ref_prefix);

		if (!value) {
			api->free(sql);
			return NULL;
		}
		cat(api, &sql, sep, st->json_column, " = ");
		cat(api, &sql, value, NULL, NULL);
		api->free(value);
	}
	return sql;
}

/* Returns the condition that a row still holds data to anonymize:
 * NOT (every set_null column IS NULL AND every set column IS NOT DISTINCT
 * FROM $first, $first+1, ... AND no key left anywhere in json_column),
 * or with first 0 FROM the set values as literals (which PostgreSQL
 * converts to the column's type as it does a text parameter); it is true
 * or false, never NULL.  New string, NULL when out of memory. */
static char *pending_sql(const sweep_api *api, const anon_state *st,
                         int first)
{
	const char *and = "";
	char *sql = api->mprintf("NOT ("), num[16];
	size_t i;

	for (i = 0; i < st->nnull; i++) {
		cat(api, &sql, and, st->null_columns[i], " IS NULL");
		and = " AND ";
	}
	for (i = 0; i < st->nset; i++) {
		snprintf(num, sizeof num, "$%d", first + (int)i);
		cat(api, &sql, and, st->set_columns[i],
		    " IS NOT DISTINCT FROM ");
		cat(api, &sql, first > 0 ? num : st->set_literals[i], NULL,
		    NULL);
		and = " AND ";
	}
	if (st->json_column) {
		char *read = json_read_sql(api, st, "");
		char *text = api->mprintf("(%s)::text", st->json_column);
		char *has = read && text ? jk_has(api, read, text, st->keys)
		                         : NULL;

		api->free(text);

		api->free(read);
		if (!has) {
			api->free(sql);
			return NULL;
		}
		cat(api, &sql, and, "NOT ", has);
		api->free(has);
	}
	cat(api, &sql, ")", NULL, NULL);
	return sql;
}

/* Finds how st's time column compares with the cutoff (its type, kept
 * in st->kind) and builds that test for the batches ($4) and the dry run
 * ($1).  Returns 0, or -1 with *errmsg set. */
static int older_build(const sweep_api *api, sweep_host *h, anon_state *st,
                       char **errmsg)
{
	if (sweep_time_kind(api, h, st->table, st->time_column, &st->kind,
	                    errmsg) != 0)
		return -1;
	st->older_run = sweep_age_condition(api, h, st->kind, st->time_column,
	                                    st->zone, 4);
	st->older_dry = sweep_age_condition(api, h, st->kind, st->time_column,
	                                    st->zone, 1);
	if (!st->older_run || !st->older_dry) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Builds the batch UPDATE, the dry run's count and sample statements and
 * verify's condition into st; the sample names rows by the audit
 * columns, else by the primary key, else by ctid.  Returns 0, or -1 with
 * *errmsg set. */
static int statements_build(const sweep_api *api, sweep_host *h,
                            anon_state *st, char **errmsg)
{
	int nset = (int)st->nset;
	char *assign = NULL, *pending_run = NULL, *pending_dry = NULL;
	char *pending_lit = NULL, *range = NULL;
	const char *keys = st->audit_object;
	int rc = -1;

	pending_run = pending_sql(api, st, 5);
	pending_dry = pending_sql(api, st, 2);
	pending_lit = pending_sql(api, st, 0);
	if (pending_lit)
		st->verify_filter = api->mprintf("%s AND %s", st->filter,
		                                 pending_lit);
	if (older_build(api, h, st, errmsg) != 0)
		goto out;
	range = api->mprintf("ctid >= $2 AND ctid < $3 AND %s%s",
	                     st->older_run, st->filter);
	if (st->audit_object) {
		/* The rows are locked and their old values read first, the
		 * first $1 when the host caps them; the UPDATE joins them by
		 * ctid, inside the same heap range. */
		assign = assign_sql(api, st, 5 + nset, "sweep_t.");
		if (assign && pending_run && range)
			st->update_sql = api->mprintf(
				"UPDATE %s AS sweep_t SET %s FROM (SELECT ctid"
				" AS sweep_ctid, %s AS sweep_audit FROM %s"
				" WHERE %s AND %s LIMIT $1 FOR UPDATE)"
				" AS sweep_old"
				" WHERE sweep_t.ctid >= $2"
				" AND sweep_t.ctid < $3"
				" AND sweep_t.ctid = sweep_old.sweep_ctid"
				" RETURNING sweep_old.sweep_audit",
				st->table, assign, st->audit_object, st->table,
				range, pending_run);
	} else {
		/* Without a cap ($1 NULL) the planner folds the OR away;
		 * with one, the first $1 pending rows of the range go. */
		assign = assign_sql(api, st, 5 + nset, "");
		if (assign && pending_run && range)
			st->update_sql = api->mprintf(
				"UPDATE %s SET %s WHERE %s AND %s AND ($1 IS"
				" NULL OR ctid = ANY (ARRAY(SELECT ctid FROM %s"
				" WHERE %s AND %s LIMIT $1)))", st->table,
				assign, range, pending_run, st->table, range,
				pending_run);
	}
	if (pending_dry) {
		st->count_sql = api->mprintf(
			"SELECT count(*), count(*) FILTER (WHERE %s) FROM %s"
			" WHERE %s%s", pending_dry, st->table,
			st->older_dry, st->filter);
		if (!keys)
			keys = api->key_object(h, st->table, NULL, errmsg);
		if (!keys)
			goto out;
		st->sample_sql = api->mprintf(
			"SELECT %s FROM %s WHERE %s%s AND %s"
			" ORDER BY %s LIMIT %d", keys, st->table,
			st->older_dry, st->filter, pending_dry,
			st->time_column, SAMPLE_ROWS);
	}
	if (!st->update_sql || !st->count_sql || !st->sample_sql ||
	    !st->verify_filter) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	rc = 0;
out:
	api->free(range);
	api->free(assign);
	api->free(pending_run);
	api->free(pending_dry);
	api->free(pending_lit);
	return rc;
}

/* Returns the parameters of the batch statement past the host's: the
 * cutoff, the set values (compared), the set values again (assigned); the
 * dry run's statements take the first 1 + nset of them.  NULL when out of
 * memory; freed with free(). */
static const char **params_new(const anon_state *st, const char *cutoff)
{
	const char **p = calloc(1 + 2 * st->nset, sizeof *p);
	size_t i;

	if (!p)
		return NULL;
	p[0] = cutoff;
	for (i = 0; i < st->nset; i++)
		p[1 + i] = p[1 + st->nset + i] = st->set_values[i];
	return p;
}

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, anon_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; st->null_columns && i < st->nnull; i++)
		PQfreemem(st->null_columns[i]);
	for (i = 0; st->set_columns && i < st->nset; i++)
		PQfreemem(st->set_columns[i]);
	for (i = 0; st->set_values && i < st->nset; i++)
		api->free(st->set_values[i]);
	for (i = 0; st->set_literals && i < st->nset; i++)
		PQfreemem(st->set_literals[i]);
	free(st->null_columns);
	free(st->set_columns);
	free(st->set_values);
	free(st->set_literals);
	api->free(st->keys);
	api->free(st->filter);
	api->free(st->older_run);
	api->free(st->older_dry);
	api->free(st->update_sql);
	api->free(st->count_sql);
	api->free(st->sample_sql);
	api->free(st->verify_filter);
	free(st);
}

/* Reads and checks the options and builds the statements of the run into
 * *state: refuses a job that would change nothing, json_strip_keys without
 * json_column (or the reverse), a json_column that is not jsonb, and a
 * malformed set pair.  Returns 0, or -1 with *errmsg set and nothing
 * allocated. */
static int anon_init(const sweep_api *api, sweep_host *h, void **state,
                     char **errmsg)
{
	PGconn *db = api->db(h);
	anon_state *st;
	const char *const *cols, *const *keys, *const *keep;
	const char *where = api->opt_string(h, "where");
	size_t ncols, nkeys, nkeep;
	int rc = -1;

	st = calloc(1, sizeof *st);
	if (!st) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->table = api->opt_ident(h, "table");
	st->table_name = api->opt_string(h, "table");
	st->time_column = api->opt_ident(h, "time_column");
	st->zone = api->opt_string(h, "naive_timezone");
	st->batch_size = api->opt_int(h, "batch_size");
	if (!st->table || !st->time_column) {
		*errmsg = quote_failed(api, db, "table or time_column");
		goto out;
	}
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (rows per batch, "
		                       "e.g. 5000)", st->batch_size);
		goto out;
	}
	nkeys = api->opt_list(h, "json_strip_keys", &keys);
	nkeep = api->opt_list(h, "json_keep_keys", &keep);
	if (api->opt_isset(h, "json_column") != (nkeys > 0)) {
		*errmsg = api->mprintf(nkeys > 0
			? "json_strip_keys needs json_column: the jsonb "
			  "column to remove the keys from"
			: "json_column needs json_strip_keys: the keys to "
			  "remove from it");
		goto out;
	}
	if (nkeep > 0 && nkeys == 0) {
		*errmsg = api->mprintf("json_keep_keys needs json_strip_keys: "
		                       "the keys it makes exceptions to");
		goto out;
	}
	if (columns_read(api, h, db, st, errmsg) != 0)
		goto out;
	if (st->nnull == 0 && st->nset == 0 && nkeys == 0) {
		*errmsg = api->mprintf("nothing to anonymize: set at least one "
		                       "of set_null, set, or json_column with "
		                       "json_strip_keys");
		goto out;
	}
	if (nkeys > 0) {
		st->json_column = api->opt_ident(h, "json_column");
		if (!st->json_column) {
			*errmsg = quote_failed(api, db, "json_column");
			goto out;
		}
		if (jk_prepare(api, h, db, keys, nkeys, keep, nkeep,
		               &st->keys, errmsg) != 0 ||
		    jk_no_jit(api, h, errmsg) != 0 ||
		    json_column_check(api, h, st, errmsg) != 0)
			goto out;
	}
	ncols = api->opt_list(h, "audit_columns", &cols);
	if (ncols > MAX_AUDIT_COLUMNS) {
		*errmsg = api->mprintf("audit_columns has %zu columns: at most "
		                       "%d are allowed", ncols,
		                       MAX_AUDIT_COLUMNS);
		goto out;
	}
	if (ncols > 0) {
		st->audit_object = api->json_object(h, cols, ncols, NULL,
		                                    errmsg);
		if (!st->audit_object)
			goto out;
	}
	st->filter = where ? api->mprintf(" AND (%s)", where)
	                   : api->mprintf("%s", "");
	if (!st->filter) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (statements_build(api, h, st, errmsg) != 0)
		goto out;
	*state = st;
	st = NULL;
	rc = 0;
out:
	state_free(api, st);
	return rc;
}

/* Anonymizes, batch by batch, the rows older than the cutoff that still
 * hold data to remove, and sets the result's message.  Returns 0, or -1
 * with *errmsg set; batches committed before an error stay committed and
 * counted. */
static int anon_run(const sweep_api *api, sweep_host *h, void *state,
                    char **errmsg)
{
	const anon_state *st = state;
	sweep_batch spec = {
		.size = sizeof spec,
		.mode = SWEEP_BATCH_HEAP_RANGES,
		.sql = st->update_sql,
		.nparams = 1 + 2 * (int32_t)st->nset,
		.relation = st->table,
		.batch_rows = st->batch_size,
		.counter = "anonymized",
		.audit_action = st->audit_object ? "anonymized" : NULL,
		.audit_table = st->audit_object ? st->table_name : NULL,
	};
	sweep_batch_stats stats = { .size = sizeof stats };
	const char **params = NULL;
	char *cutoff = NULL, *msg = NULL;
	char rows[24], batches[24];
	char *strip_fn = NULL;
	PGresult *res = NULL;
	int rc = -1;

	sweep_batch_options(api, h, &spec);
	api->count(h, "anonymized", 0);
	if (st->json_column) {
		strip_fn = jk_strip_function(api);
		if (!strip_fn) {
			*errmsg = api->mprintf("out of memory");
			goto out;
		}
		res = api->query(h, strip_fn, 0, NULL,
		                 "creating pg_temp.sweepd_strip", errmsg);
		if (!res)
			goto out;
	}
	if (sweep_age_cutoff(api, h, "older_than", st->zone, SWEEP_AGE_NOW,
	                     &cutoff, NULL, errmsg) != 0)
		goto out;
	params = params_new(st, cutoff);
	if (!params) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	spec.params = params;
	if (api->batch_loop(h, &spec, &stats, errmsg) != 0)
		goto out;

	snprintf(rows, sizeof rows, "%" PRId64, stats.rows);
	snprintf(batches, sizeof batches, "%" PRId64, stats.batches);
	api->log(h, SWEEP_LOG_INFO, "anonymized", "table", st->table_name,
	         "rows", rows, "batches", batches, "cutoff", cutoff,
	         "stopped", stats.stopped ? "true" : "false", SWEEP_LOG_END);
	msg = api->mprintf("anonymized %s rows of %s older than %s%s", rows,
	                   st->table_name, cutoff,
	                   stats.stopped ? " (stopped early on request)" : "");
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	PQclear(res);
	free(params);
	api->free(strip_fn);
	api->free(msg);
	api->free(cutoff);
	return rc;
}

/* Reports what run would do, changing nothing and creating nothing: the
 * counters examined (rows older than the cutoff that meet `where`) and
 * would_anonymize (those of them still holding data to remove), the keys
 * (audit columns, else primary key, else ctid) of up to SAMPLE_ROWS of
 * the oldest rows that would change, and a message.  Returns 0, or -1 with
 * *errmsg set. */
static int anon_dry_run(const sweep_api *api, sweep_host *h, void *state,
                        char **errmsg)
{
	const anon_state *st = state;
	PGresult *res = NULL;
	const char **params = NULL;
	char *cutoff = NULL, *msg = NULL;
	int64_t examined, would;
	int i, nparams = 1 + (int)st->nset;
	int rc = -1;

	if (sweep_age_cutoff(api, h, "older_than", st->zone, SWEEP_AGE_NOW,
	                     &cutoff, NULL, errmsg) != 0)
		goto out;
	params = params_new(st, cutoff);
	if (!params) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	res = api->query(h, st->count_sql, nparams, params, "counting rows",
	                 errmsg);
	if (!res)
		goto out;
	examined = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	would = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	res = NULL;
	api->count(h, "examined", examined);
	api->count(h, "would_anonymize", would);

	res = api->query(h, st->sample_sql, nparams, params, "sampling rows",
	                 errmsg);
	if (!res)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		api->sample(h, PQgetvalue(res, i, 0));

	msg = api->mprintf("would anonymize %" PRId64 " of the %" PRId64
	                   " rows of %s older than %s (%" PRId64 " already "
	                   "anonymized)", would, examined, st->table_name,
	                   cutoff, examined - would);
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	PQclear(res);
	free(params);
	api->free(msg);
	api->free(cutoff);
	return rc;
}

/* The policy's measure (SDK 1.9): the age of the oldest row of table that
 * meets `where`, has a time_column and still holds data to remove (the
 * run's condition without its cutoff), against older_than.  Rows already
 * anonymized are left out, whatever their age. */
static int anon_verify(const sweep_api *api, sweep_host *h, void *state,
                       sweep_verify *out, char **errmsg)
{
	const anon_state *st = state;

	out->table = st->table_name;
	return sweep_age_oldest(api, h, st->table, st->time_column, st->kind,
	                        st->zone, st->verify_filter, "older_than",
	                        out, errmsg);
}

/* Frees the state built by anon_init. */
static void anon_teardown(const sweep_api *api, sweep_host *h, void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option anon_options[] = {
	{ "table", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "table to anonymize rows of, optionally schema-qualified" },
	{ "time_column", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "column dating each row (timestamptz, timestamp or date); "
	  "rows where it is NULL are kept as they are" },
	{ "older_than", SWEEP_OPT_DURATION,
	  SWEEP_OPT_REQUIRED | SWEEP_OPT_AGE, NULL,
	  "anonymize rows whose time_column is before now() minus this age "
	  "(e.g. 1y, 6mo, 30d: months and years on the calendar)" },
	{ "where", SWEEP_OPT_SQL_EXPR, 0, NULL,
	  "extra condition a row must also meet to be anonymized" },
	{ "set_null", SWEEP_OPT_LIST, 0, NULL,
	  "columns set to NULL, e.g. user_id, ip_address, user_agent" },
	{ "set", SWEEP_OPT_LIST, 0, NULL,
	  "column = value pairs, e.g. display_name = [Deleted User]; each "
	  "value is text converted to the column's type (no commas)" },
	{ "json_column", SWEEP_OPT_IDENT, 0, NULL,
	  "jsonb, json or text column (JSON in text) to remove "
	  "json_strip_keys from" },
	{ "json_strip_keys", SWEEP_OPT_LIST, 0, NULL,
	  "keys removed with their whole value from json_column at any "
	  "depth, in objects, arrays and strings holding JSON; case is "
	  "ignored; an entry with * is a glob on the whole key (*email*, "
	  "phone*); a plain entry matches the key's words, split at _ - . "
	  "space, camelCase and digits, plural -s/-es included (email: "
	  "userEmail, user_email, emails; name: firstName, last_name, not "
	  "username or filename)" },
	{ "json_keep_keys", SWEEP_OPT_LIST, 0, NULL,
	  "keys kept even when json_strip_keys matches them, same rules, "
	  "e.g. fileName, *_verified" },
	{ "batch_size", SWEEP_OPT_INT, 0, "5000",
	  "rows a batch aims to update, each batch one short transaction "
	  "(a batch covers whole pages, so it may take a page's rows more)" },
	SWEEP_BATCH_OPTIONS,
	{ "audit_columns", SWEEP_OPT_LIST, 0, NULL,
	  "columns recorded, as they were before the change, in one audit "
	  "record per anonymized row, e.g. id" },
	SWEEP_NAIVE_TIMEZONE_OPTION,
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range anon_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin anon_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "anonymize",
	.version = "1.0.0",
	.description = "anonymizes rows older than a given age in one table: "
	               "columns to NULL or fixed values, JSON keys removed",
	.options = anon_options,
	.ranges = anon_ranges,
	.init = anon_init,
	.run = anon_run,
	.dry_run = anon_dry_run,
	.teardown = anon_teardown,
	.verify = anon_verify,
};

SWEEP_PLUGIN_DEFINE(anon_plugin)
