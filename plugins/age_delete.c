/*
 * age_delete: deletes the rows of one table whose time column is older than
 * a given age, optionally narrowed by an extra condition, in short batches.
 *
 * The cutoff is computed once per run by the database (now() - older_than,
 * its years, months and days counted on the calendar of naive_timezone), so
 * every batch of the run compares against the same instant.  A row goes
 * when time_column < cutoff, strictly: a row exactly at the cutoff stays, and
 * a row whose time column is NULL never goes.  A time_column without a time
 * zone (timestamp, date) is read as wall-clock time in naive_timezone
 * (default UTC), whatever TimeZone the session has (SDK 1.5 ages).
 *
 * The host's batch loop walks the table's heap in ranges of blocks; each
 * batch is one DELETE restricted to its range ($2, $3), which PostgreSQL runs
 * as a TID Range Scan, in its own transaction.  Each batch also stops at
 * the rows the host lets it delete ($1: what max_rows leaves, or a cap on
 * a range that may hold too many rows).  With audit_columns,
 * the DELETE returns one jsonb object of those columns per row and the host
 * writes it as an audit record in the same transaction.
 *
 * A partitioned table (relkind 'p') is walked partition by partition.
 * Where the table is partitioned by range on time_column alone, a
 * partition whose upper bound is at or before the cutoff holds only expired
 * rows.  Such partitions go together, up to PART_GROUP at a time: each is
 * detached (CONCURRENTLY when PostgreSQL allows it: 14 or later and no
 * DEFAULT partition; else in as few transactions as PART_LOCK_MS allows,
 * each waiting at most PART_LOCK_MS for the table's lock and holding it
 * about as long),
 * and then, in one transaction that locks only the detached tables, they
 * are counted by one statement under a SHARE lock (every row checked
 * against the cutoff),
 * audited (SDK 1.7 audit_query) and dropped by one DROP TABLE, or kept
 * with partition_action = detach.  A partition wholly after the cutoff is
 * skipped; every other leaf (the one holding the cutoff, a DEFAULT one,
 * the leaves of a table partitioned another way) is batch-deleted by its
 * own heap walk.  With `where` or max_rows no partition is dropped: its
 * rows are not all known to go.
 *
 * The rest comes from the host's services (SDK 1.3): every query goes
 * through api->query, so a failure reads "what: message (SQLSTATE x)" and a
 * transient one makes a scheduled run try again; the audit object is built
 * by api->json_object and the keys the dry run samples by api->key_object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sweepd/plugin.h>

/* Lines dry_run adds to the sample. */
#define SAMPLE_ROWS 5
/* Most a statement that locks a partitioned table against its readers
 * and writers (a DETACH without CONCURRENTLY) waits for that lock, in ms:
 * while it waits, they queue behind it. */
#define PART_LOCK_MS 100
/* Tries of such a statement when the lock is not had in time. */
#define PART_TRIES 5
/* Most a lock taken while that lock is held waits, in ms: its waits add
 * to the readers' and writers'. */
#define PART_STEP_MS 20
/* Most expired partitions removed together (by one transaction, where
 * PART_LOCK_MS allows): their locks and statements stay small. */
#define PART_GROUP 32

typedef struct age_state {
	const char *table;       /* quoted; host-owned */
	const char *table_name;  /* as written, for messages and audit */
	const char *time_column; /* quoted; host-owned */
	const char *zone;        /* naive_timezone; host-owned */
	char *older_run;         /* time_column older than $4, the cutoff */
	char *older_dry;         /* the same against $1 */
	int64_t batch_size;
	int64_t max_rows;        /* 0: no cap */
	int32_t parallel;        /* sessions deleting at once */
	char *filter;            /* " AND (where)", or "" */
	const char *audit_object; /* jsonb_build_object(...) of audit_columns,
	                             or NULL when the job is not audited;
	                             host-owned */
	char *returning;         /* " RETURNING audit_object", or "" */
	char *delete_sql;        /* the batch statement; $4 is the cutoff */
	char *count_sql;         /* rows that would go; $1 is the cutoff */
	char *children_sql;      /* a parent's partitions and where each
	                            lies against the cutoff */
	int kind;                /* SWEEP_TIME_INSTANT or _WALL */
	bool keep;               /* partition_action = detach */
	int64_t lock_ms;         /* the job's lock_timeout; 0: none */
	int64_t statement_ms;    /* the job's statement_timeout; 0: none */
	char *swept;             /* this run's cutoff when it walked the
	                            whole table, or NULL (the state lives
	                            from init to teardown: a run and its
	                            measure) */
} age_state;

/* Frees st and everything it owns; st may be NULL. */
static void state_free(const sweep_api *api, age_state *st)
{
	if (!st)
		return;
	api->free(st->filter);
	api->free(st->swept);
	api->free(st->older_run);
	api->free(st->older_dry);
	api->free(st->returning);
	api->free(st->delete_sql);
	api->free(st->count_sql);
	api->free(st->children_sql);
	free(st);
}

/* Finds how st's time column compares with the cutoff (its type) and
 * builds that test for the batches ($4) and the dry run ($1).  Returns 0,
 * or -1 with *errmsg set. */
static int older_build(const sweep_api *api, sweep_host *h, age_state *st,
                       char **errmsg)
{
	int kind;

	if (sweep_time_kind(api, h, st->table, st->time_column, &kind,
	                    errmsg) != 0)
		return -1;
	st->kind = kind;
	st->older_run = sweep_age_condition(api, h, kind, st->time_column,
	                                    st->zone, 4);
	st->older_dry = sweep_age_condition(api, h, kind, st->time_column,
	                                    st->zone, 1);
	if (!st->older_run || !st->older_dry) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* The batch statement over relation (quoted SQL: the job's table or one
 * of its leaf partitions).  Without a cap ($1 NULL) the planner folds the
 * OR away: a plain TID Range Scan.  With one, the first $1 matching rows
 * of the range go.  $4 is the cutoff.  New string (api->free), NULL when
 * out of memory. */
static char *delete_sql(const sweep_api *api, const age_state *st,
                        const char *relation)
{
	return api->mprintf(
		"DELETE FROM %s WHERE ctid >= $2 AND ctid < $3"
		" AND %s%s AND ($1 IS NULL OR ctid = ANY"
		" (ARRAY(SELECT ctid FROM %s WHERE ctid >= $2 AND ctid < $3"
		" AND %s%s LIMIT $1)))%s",
		relation, st->older_run, st->filter, relation,
		st->older_run, st->filter, st->returning);
}

/* SQL text of a partition bound's datum m (a quoted literal, as
 * pg_get_expr prints it) read back as the key's type. */
#define PART_DATUM(m) \
	"replace(substr(" m ", 2, length(" m ") - 2), '''''', '''')::%s"

/* The query listing the partitions of $1 (regclass text): name (regclass
 * text), whether partitioned itself, whether a detach of it is pending,
 * whether $1 has no DEFAULT partition (the same on every row), and where
 * it lies: 'expired' (range on time_column alone, upper bound at
 * or before the cutoff $3: every row older), 'after' (lower bound at or
 * after it: no row older), or 'walk'.  $2 is time_column (quoted), $4 the
 * zone (SWEEP_TIME_WALL only).  The bound is read from the catalog as
 * pg_get_expr prints it, in this session's DateStyle and TimeZone, and
 * cast back to the key's type in the same session, so it reads back
 * exactly; a bound of any other shape (a DEFAULT partition, list or hash
 * partitions, several key columns or an expression) does not match the
 * anchored pattern and is walked: a bound misread never drops a row.  The
 * OFFSET 0 keeps the bound's match a subquery evaluated once per
 * partition: pulled up, its expression was copied into each use, and the
 * query took 5 ms instead of 1 for 13 partitions.  New string (api->free),
 * NULL when out of memory. */
static char *children_sql(const sweep_api *api, int kind)
{
	const char *type = kind == SWEEP_TIME_INSTANT ? "timestamptz"
	                                              : "timestamp";
	const char *cut = kind == SWEEP_TIME_INSTANT
		? "$3::timestamptz" : "($3::timestamptz AT TIME ZONE $4)";

	return api->mprintf(
		"SELECT name, sub, pending, side, nodefault FROM (SELECT"
		" c.oid::regclass::text AS name, c.relkind = 'p' AS sub,"
		" i.inhdetachpending AS pending, k.partdefid = 0 AS nodefault,"
		" c.relname, CASE"
		" WHEN b.m IS NULL THEN 'walk'"
		" WHEN b.m[2] <> 'MAXVALUE' AND " PART_DATUM("b.m[2]")
		" <= %s THEN 'expired'"
		" WHEN b.m[1] <> 'MINVALUE' AND " PART_DATUM("b.m[1]")
		" >= %s THEN 'after' ELSE 'walk' END AS side"
		" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
		" JOIN pg_partitioned_table k ON k.partrelid = i.inhparent"
		" CROSS JOIN LATERAL (SELECT CASE WHEN k.partstrat = 'r' AND"
		" k.partnatts = 1 AND k.partattrs[0] = (SELECT a.attnum FROM"
		" pg_attribute a WHERE a.attrelid = i.inhparent AND a.attname ="
		" (parse_ident($2))[1] AND NOT a.attisdropped) THEN"
		" regexp_match(pg_get_expr(c.relpartbound, c.oid),"
		" '^FOR VALUES FROM \\((MINVALUE|''(?:[^'']|'''')*'')\\)"
		" TO \\((MAXVALUE|''(?:[^'']|'''')*'')\\)$') END AS m"
		" OFFSET 0) b"
		" WHERE i.inhparent = $1::regclass) p"
		" ORDER BY side <> 'expired', relname",
		type, cut, type, cut);
}

/* Reads partition_action and the timeouts the partition steps use.
 * Returns 0, or -1 with *errmsg set. */
static int part_options(const sweep_api *api, sweep_host *h, age_state *st,
                        char **errmsg)
{
	const char *action = api->opt_string(h, "partition_action");

	if (!action || (strcmp(action, "drop") != 0 &&
	                strcmp(action, "detach") != 0)) {
		*errmsg = api->mprintf("partition_action = %s: must be drop "
		                       "(expired partitions go) or detach "
		                       "(they are kept as tables of their own)",
		                       action ? action : "(none)");
		return -1;
	}
	st->keep = strcmp(action, "detach") == 0;
	st->lock_ms = api->opt_duration_ms(h, "lock_timeout");
	st->statement_ms = api->opt_duration_ms(h, "statement_timeout");
	return 0;
}

/* Reads and checks the options and builds the statements of the run into
 * *state.  Returns 0, or -1 with *errmsg set and nothing allocated. */
static int age_init(const sweep_api *api, sweep_host *h, void **state,
                    char **errmsg)
{
	age_state *st;
	const char *const *cols;
	const char *where;
	size_t ncols;
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
	st->max_rows = api->opt_int(h, "max_rows");
	if (!st->table || !st->time_column) {
		*errmsg = api->mprintf("cannot quote table or time_column: "
		                       "out of memory");
		goto out;
	}
	if (st->batch_size <= 0) {
		*errmsg = api->mprintf("batch_size = %" PRId64 ": must be "
		                       "greater than 0 (rows per batch, "
		                       "e.g. 5000)", st->batch_size);
		goto out;
	}
	if (st->max_rows < 0) {
		*errmsg = api->mprintf("max_rows = %" PRId64 ": must not be "
		                       "negative (0 or unset: no cap)",
		                       st->max_rows);
		goto out;
	}
	if (sweep_parallel(api, h, &st->parallel, errmsg) != 0 ||
	    part_options(api, h, st, errmsg) != 0 ||
	    older_build(api, h, st, errmsg) != 0)
		goto out;
	ncols = api->opt_list(h, "audit_columns", &cols);
	if (ncols > 0) {
		st->audit_object = api->json_object(h, cols, ncols, NULL,
		                                    errmsg);
		if (!st->audit_object)
			goto out;
	}

	where = api->opt_string(h, "where");
	st->filter = api->mprintf("%s%s%s", where ? " AND (" : "",
	                          where ? where : "", where ? ")" : "");
	st->returning = api->mprintf("%s%s",
	                             st->audit_object ? " RETURNING " : "",
	                             st->audit_object ? st->audit_object : "");
	if (!st->filter || !st->returning) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	st->delete_sql = delete_sql(api, st, st->table);
	st->count_sql = api->mprintf(
		"SELECT count(*) FROM %s WHERE %s%s",
		st->table, st->older_dry, st->filter);
	st->children_sql = children_sql(api, st->kind);
	if (!st->delete_sql || !st->count_sql || !st->children_sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	*state = st;
	st = NULL;
	rc = 0;
out:
	state_free(api, st);
	return rc;
}

/* What a run or dry run did over the table and its partitions. */
typedef struct age_walk {
	const char *cutoff;      /* the run's; borrowed */
	bool dry;
	int64_t rows;            /* deleted by batches */
	int64_t batches;
	bool stopped;
	int64_t dropped, dropped_rows;   /* partitions that went, their rows */
	int64_t detached, detached_rows; /* kept as tables of their own */
} age_walk;

/* Runs sql (no parameters) on the run's connection; 0, or -1 with *errmsg
 * set. */
static int exec_sql(const sweep_api *api, sweep_host *h, const char *sql,
                    const char *what, char **errmsg)
{
	PGresult *res = api->query(h, sql, 0, NULL, what, errmsg);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Rolls back the transaction open on the run's connection (api->begin),
 * keeping the error that made it fail: the audit records written in it
 * come off the "audited" counter. */
static void undo(const sweep_api *api, sweep_host *h)
{
	char *err = NULL;

	if (api->rollback(h, &err) != 0)
		api->free(err);
}

/* Deletes in batches the expired rows of relation (the job's table or a
 * leaf partition: quoted SQL) by walking its heap, within what max_rows
 * leaves.  Returns 0, or -1 with *errmsg set; batches committed before an
 * error stay committed and counted. */
static int walk_heap(const sweep_api *api, sweep_host *h, const age_state *st,
                     const char *relation, age_walk *w, char **errmsg)
{
	const char *params[1] = { w->cutoff };
	sweep_batch spec = {
		.size = sizeof spec,
		.mode = SWEEP_BATCH_HEAP_RANGES,
		.nparams = 1,
		.params = params,
		.relation = relation,
		.batch_rows = st->batch_size,
		.max_rows = st->max_rows,
		.counter = "deleted",
		.audit_action = st->audit_object ? "deleted" : NULL,
		.audit_table = st->audit_object ? st->table_name : NULL,
		.parallel = st->parallel,
	};
	sweep_batch_stats stats = { .size = sizeof stats };
	char *sql = NULL;
	int rc;

	if (st->max_rows > 0) {
		spec.max_rows = st->max_rows - w->rows;
		if (spec.max_rows <= 0)
			return 0;
	}
	sweep_batch_options(api, h, &spec);
	sql = relation == st->table ? NULL : delete_sql(api, st, relation);
	spec.sql = sql ? sql : st->delete_sql;
	if (relation != st->table && !sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	rc = api->batch_loop(h, &spec, &stats, errmsg);
	w->rows += stats.rows;
	w->batches += stats.batches;
	w->stopped = w->stopped || stats.stopped;
	api->free(sql);
	return rc;
}

/* Whether relation (quoted SQL) is a partitioned table.  0, or -1 with
 * *errmsg set. */
static int is_partitioned(const sweep_api *api, sweep_host *h,
                          const char *relation, bool *yes, char **errmsg)
{
	const char *params[1] = { relation };
	PGresult *res;

	res = api->query(h, "SELECT relkind = 'p' FROM pg_class WHERE oid ="
	                 " $1::regclass", 1, params, "reading the table's kind",
	                 errmsg);
	if (!res)
		return -1;
	*yes = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

/* Sets (on) or resets (off) the session's lock_timeout and
 * statement_timeout to the job's, for statements that cannot run in a
 * transaction block.  0, or -1 with *errmsg set. */
static int session_timeouts(const sweep_api *api, sweep_host *h,
                            const age_state *st, bool on, char **errmsg)
{
	char lock[32], stmt[32];
	const char *params[2] = { lock, stmt };
	PGresult *res;

	if (!on) {
		if (st->lock_ms > 0)
			PQclear(PQexec(api->db(h), "RESET lock_timeout"));
		if (st->statement_ms > 0)
			PQclear(PQexec(api->db(h), "RESET statement_timeout"));
		return 0;
	}
	if (st->lock_ms <= 0 && st->statement_ms <= 0)
		return 0;
	snprintf(lock, sizeof lock, "%" PRId64, st->lock_ms);
	snprintf(stmt, sizeof stmt, "%" PRId64, st->statement_ms);
	res = api->query(h, "SELECT CASE WHEN $1::text <> '0' THEN"
	                 " set_config('lock_timeout', $1::text, false) END,"
	                 " CASE WHEN $2::text <> '0' THEN"
	                 " set_config('statement_timeout', $2::text, false)"
	                 " END",
	                 2, params, "setting the job's timeouts", errmsg);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Whether *errmsg is a lock not had in time (lock_timeout, SQLSTATE
 * 55P03): then a try of the step may come later. */
static bool lock_missed(char *const *errmsg)
{
	return *errmsg && strstr(*errmsg, "SQLSTATE 55P03");
}

/* Logs that the lock child needs was not had in time and waits before
 * the next try (try counts from 1), freeing *errmsg.  Returns 0, or -1
 * with *errmsg set when the run is asked to stop meanwhile. */
static int busy_pause(const sweep_api *api, sweep_host *h, const char *child,
                      int try, char **errmsg)
{
	api->log(h, SWEEP_LOG_WARN, "partition_busy", "partition", child,
	         "error", *errmsg, SWEEP_LOG_END);
	api->free(*errmsg);
	*errmsg = NULL;
	if (api->pause(h, 200 * try))
		return 0;
	*errmsg = api->mprintf("stopped before detaching %s", child);
	return -1;
}

/* Detaches child from parent (both regclass text) by one statement that
 * runs outside a transaction block, the session's timeouts set by the
 * caller: FINALIZE a detach left pending, else CONCURRENTLY (which
 * blocks none of the table's readers or writers).  Tried again up to
 * PART_TRIES times while a lock is not had in time: a busy table makes
 * the job wait between tries, never its readers and writers.  0, or -1
 * with *errmsg set (the last try's). */
static int detach_alone(const sweep_api *api, sweep_host *h,
                        const char *parent, const char *child, bool pending,
                        char **errmsg)
{
	char *sql = api->mprintf("ALTER TABLE %s DETACH PARTITION %s%s",
	                         parent, child, pending ? " FINALIZE"
	                                                : " CONCURRENTLY");
	int try, rc = -1;

	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	for (try = 1;; try++) {
		rc = exec_sql(api, h, sql, "detaching a partition", errmsg);
		if (rc == 0 || try == PART_TRIES || !lock_missed(errmsg) ||
		    busy_pause(api, h, child, try, errmsg) != 0)
			break;
	}
	api->free(sql);
	return rc;
}

/* Milliseconds on the monotonic clock. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The expired partitions of one parent that a run removes together: at
 * most PART_GROUP, so that one transaction's locks and statements stay
 * small whatever the number of partitions. */
typedef struct part_set {
	const char *parent;              /* regclass text; borrowed */
	bool concurrent;                 /* DETACH CONCURRENTLY allowed */
	int n;
	const char *name[PART_GROUP];    /* regclass text; borrowed */
	bool pending[PART_GROUP];        /* a detach of it is pending */
	bool detached[PART_GROUP];       /* out of parent now */
	int64_t rows[PART_GROUP];
} part_set;

/* Takes, in the transaction open on the run's connection, the lock on
 * parent alone (ACCESS EXCLUSIVE, which its readers and writers queue
 * behind; waiting at most the transaction's lock_timeout), then makes
 * every later lock of the transaction (each partition detached, the
 * DEFAULT one) wait at most PART_STEP_MS: they are taken while the
 * parent's is held.  0, or -1 with *errmsg set. */
static int lock_parent(const sweep_api *api, sweep_host *h,
                       const age_state *st, const char *parent,
                       char **errmsg)
{
	int64_t step = st->lock_ms > 0 && st->lock_ms < PART_STEP_MS
		? st->lock_ms : PART_STEP_MS;
	char *sql = api->mprintf("LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE",
	                         parent);
	int rc;

	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	rc = exec_sql(api, h, sql, "locking the table to detach partitions",
	              errmsg);
	api->free(sql);
	if (rc == 0)
		rc = api->set_timeouts(h, step, st->statement_ms, errmsg);
	return rc;
}

/* Detaches the partitions of set from *next on (not pending ones) in one
 * transaction whose lock on the parent (lock_parent) waits at most
 * PART_LOCK_MS (less when the job's lock_timeout is shorter) and is held
 * until PART_LOCK_MS have gone by since it was had, at most (and one
 * more detach, whose locks wait PART_STEP_MS at most): the rest waits for
 * the next transaction.  Advances *next past what it committed.  0, or -1
 * with *errmsg set and nothing of this transaction changed. */
static int detach_plain_once(const sweep_api *api, sweep_host *h,
                             const age_state *st, part_set *set, int *next,
                             char **errmsg)
{
	int64_t wait = st->lock_ms > 0 && st->lock_ms < PART_LOCK_MS
		? st->lock_ms : PART_LOCK_MS;
	int64_t held;
	int i, end;
	char *sql;

	if (api->begin(h, wait, st->statement_ms, errmsg) != 0)
		return -1;
	if (lock_parent(api, h, st, set->parent, errmsg) != 0) {
		undo(api, h);
		return -1;
	}
	held = mono_ms();
	for (end = *next; end < set->n; end++) {
		if (set->pending[end])
			continue;
		if (end > *next && mono_ms() - held >= PART_LOCK_MS)
			break;
		sql = api->mprintf("ALTER TABLE %s DETACH PARTITION %s",
		                   set->parent, set->name[end]);
		if (!sql)
			*errmsg = api->mprintf("out of memory");
		if (!sql || exec_sql(api, h, sql, "detaching a partition",
		                     errmsg) != 0) {
			api->free(sql);
			undo(api, h);
			return -1;
		}
		api->free(sql);
	}
	if (api->commit(h, errmsg) != 0)
		return -1;
	for (i = *next; i < end; i++)
		set->detached[i] = !set->pending[i];
	*next = end;
	return 0;
}

/* Detaches every partition of set that is not pending, by as few plain
 * DETACH transactions as PART_LOCK_MS allows, each tried again up to
 * PART_TRIES times while its locks are not had in time.  0, or -1 with
 * *errmsg set (those already committed stay detached). */
static int detach_plain(const sweep_api *api, sweep_host *h,
                        const age_state *st, part_set *set, char **errmsg)
{
	int next = 0, try = 1, before;

	for (;;) {
		while (next < set->n && set->pending[next])
			next++;         /* no lock on the table for nothing */
		if (next == set->n)
			break;
		before = next;
		if (detach_plain_once(api, h, st, set, &next, errmsg) == 0) {
			try = 1;
			continue;
		}
		if (try == PART_TRIES || !lock_missed(errmsg) ||
		    busy_pause(api, h, set->name[before], try, errmsg) != 0)
			return -1;
		try++;
	}
	return 0;
}

/* Logs event for partition with its rows. */
static void log_partition(const sweep_api *api, sweep_host *h,
                          const char *event, const char *partition,
                          int64_t rows)
{
	char n[24];

	snprintf(n, sizeof n, "%" PRId64, rows);
	api->log(h, SWEEP_LOG_INFO, event, "partition", partition, "rows", n,
	         SWEEP_LOG_END);
}

/* Detaches the partitions of set: those pending (FINALIZE) and, where
 * allowed, all of them CONCURRENTLY, one statement each with the job's
 * timeouts on the session, a stop request heard between them; the others
 * by detach_plain.  Marks each one detached.  0, or -1 with *errmsg set
 * (those marked are detached). */
static int detach_set(const sweep_api *api, sweep_host *h,
                      const age_state *st, part_set *set, age_walk *w,
                      char **errmsg)
{
	int i, rc = 0;

	if (session_timeouts(api, h, st, true, errmsg) != 0)
		return -1;
	for (i = 0; i < set->n && rc == 0; i++) {
		if (!set->pending[i] && !set->concurrent)
			continue;
		if (i > 0 && api->should_stop(h)) {
			w->stopped = true;
			break;
		}
		rc = detach_alone(api, h, set->parent, set->name[i],
		                  set->pending[i], errmsg);
		set->detached[i] = rc == 0;
	}
	session_timeouts(api, h, st, false, errmsg);
	if (rc == 0 && !w->stopped && !set->concurrent)
		rc = detach_plain(api, h, st, set, errmsg);
	return rc;
}

/* Appends to *sql (api->mprintf'd; freed and replaced) ", " or sep and
 * more.  0, or -1 when out of memory (*sql freed, NULL). */
static int append(const sweep_api *api, char **sql, const char *sep,
                  const char *more)
{
	char *s = api->mprintf("%s%s%s", *sql ? *sql : "", *sql ? sep : "",
	                       more);

	api->free(*sql);
	*sql = s;
	return s ? 0 : -1;
}

/* The statement counting, in one round trip, the rows of each partition
 * of set that is detached (all of them with all), one row each: its place
 * in set, its rows and, with check, whether one of them is not older than
 * the cutoff ($1) or has no time (an index probe where time_column is
 * indexed: NOT (col < c) is planned as col >= c, and a bounded range
 * partition holds no NULL).  New string (api->free), NULL when out of
 * memory. */
static char *counts_sql(const sweep_api *api, const age_state *st,
                        const part_set *set, bool all, bool check)
{
	char *sql = NULL, *one;
	int i;

	for (i = 0; i < set->n; i++) {
		if (!all && !set->detached[i])
			continue;
		if (check)
			one = api->mprintf("SELECT %d, count(*), EXISTS (SELECT"
			                   " FROM %s WHERE NOT (%s) OR %s IS"
			                   " NULL) FROM %s", i, set->name[i],
			                   st->older_dry, st->time_column,
			                   set->name[i]);
		else
			one = api->mprintf("SELECT %d, count(*), false FROM %s",
			                   i, set->name[i]);
		if (!one || append(api, &sql, " UNION ALL ", one) != 0) {
			api->free(one);
			api->free(sql);
			return NULL;
		}
		api->free(one);
	}
	return sql;
}

/* Counts the rows of the partitions of set (counts_sql) into set->rows.
 * With check, a partition holding a row not older than the cutoff is an
 * error naming it.  0, or -1 with *errmsg set. */
static int count_set(const sweep_api *api, sweep_host *h, const age_state *st,
                     part_set *set, bool all, bool check, const char *cutoff,
                     char **errmsg)
{
	const char *params[1] = { cutoff };
	char *sql = counts_sql(api, st, set, all, check);
	PGresult *res = sql ? api->query(h, sql, check ? 1 : 0, params,
	                                 "counting the partitions' rows",
	                                 errmsg) : NULL;
	int r, i, rc = 0;

	if (!sql)
		*errmsg = api->mprintf("out of memory");
	api->free(sql);
	if (!res)
		return -1;
	for (r = 0; r < PQntuples(res) && rc == 0; r++) {
		i = atoi(PQgetvalue(res, r, 0));
		set->rows[i] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		if (PQgetvalue(res, r, 2)[0] != 't')
			continue;
		*errmsg = api->mprintf("partition %s holds rows not older "
		                       "than %s: detached, not dropped; it "
		                       "keeps every row", set->name[i], cutoff);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Writes one audit record per row of each detached partition of set in
 * the transaction open on the run's connection, checking that the
 * records equal its rows.  0, or -1 with *errmsg set. */
static int audit_set(const sweep_api *api, sweep_host *h, const age_state *st,
                     const part_set *set, char **errmsg)
{
	char *sql;
	int64_t n;
	int i;

	for (i = 0; i < set->n; i++) {
		if (!set->detached[i])
			continue;
		sql = api->mprintf("SELECT %s FROM %s", st->audit_object,
		                   set->name[i]);
		if (!sql) {
			*errmsg = api->mprintf("out of memory");
			return -1;
		}
		n = api->audit_query(h, "deleted", st->table_name, sql, 0,
		                     NULL, errmsg);
		api->free(sql);
		if (n < 0)
			return -1;
		if (n != set->rows[i]) {
			*errmsg = api->mprintf("partition %s: %" PRId64
			                       " audit records for %" PRId64
			                       " rows", set->name[i], n,
			                       set->rows[i]);
			return -1;
		}
	}
	return 0;
}

/* "LOCK TABLE a, b IN SHARE MODE" (verb "LOCK TABLE", tail " IN SHARE
 * MODE") or "DROP TABLE a, b" over the detached
 * partitions of set.  New string (api->free), NULL when out of memory. */
static char *over_set(const sweep_api *api, const part_set *set,
                      const char *verb, const char *tail)
{
	char *list = NULL, *sql;
	int i;

	for (i = 0; i < set->n; i++)
		if (set->detached[i] &&
		    append(api, &list, ", ", set->name[i]) != 0)
			return NULL;
	sql = list ? api->mprintf("%s %s%s", verb, list, tail) : NULL;
	api->free(list);
	return sql;
}

/* In one transaction that locks only the detached partitions of set (no
 * reader or writer of the table waits for it): counts their rows under a
 * SHARE lock (no row can come or go, and one who reads a detached table by
 * its name is not kept waiting by the count), checking each is older than
 * the cutoff, writes their audit records when the job is audited, and
 * drops them all by one statement (whose ACCESS EXCLUSIVE lock is held
 * for the DROP and the COMMIT alone).  Adds their rows to "deleted".  0,
 * or -1 with *errmsg set and every one of them kept, detached, with every
 * row. */
static int drop_set(const sweep_api *api, sweep_host *h, const age_state *st,
                    part_set *set, age_walk *w, char **errmsg)
{
	char *lock = over_set(api, set, "LOCK TABLE", " IN SHARE MODE");
	char *drop = over_set(api, set, "DROP TABLE", "");
	int i, rc = -1;

	if (!lock || !drop) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	if (api->begin(h, st->lock_ms, st->statement_ms, errmsg) != 0)
		goto out;
	if (exec_sql(api, h, lock, "locking the detached partitions",
	             errmsg) != 0 ||
	    count_set(api, h, st, set, false, true, w->cutoff, errmsg) != 0 ||
	    (st->audit_object && audit_set(api, h, st, set, errmsg) != 0) ||
	    exec_sql(api, h, drop, "dropping the partitions", errmsg) != 0) {
		undo(api, h);
		goto out;
	}
	if (api->commit(h, errmsg) != 0)
		goto out;
	for (i = 0; i < set->n; i++) {
		if (!set->detached[i])
			continue;
		w->dropped++;
		w->dropped_rows += set->rows[i];
		api->count(h, "deleted", set->rows[i]);
		api->count(h, "partitions_dropped", 1);
		log_partition(api, h, "partition_dropped", set->name[i],
		              set->rows[i]);
	}
	rc = 0;
out:
	api->free(lock);
	api->free(drop);
	return rc;
}

/* Counts the rows of the detached partitions of set, kept as tables
 * (partition_action = detach), as "detached".  0, or -1 with *errmsg
 * set. */
static int keep_set(const sweep_api *api, sweep_host *h, const age_state *st,
                    part_set *set, age_walk *w, char **errmsg)
{
	int i;

	if (count_set(api, h, st, set, false, false, w->cutoff, errmsg) != 0)
		return -1;
	for (i = 0; i < set->n; i++) {
		if (!set->detached[i])
			continue;
		w->detached++;
		w->detached_rows += set->rows[i];
		api->count(h, "detached", set->rows[i]);
		api->count(h, "partitions_detached", 1);
		log_partition(api, h, "partition_detached", set->name[i],
		              set->rows[i]);
	}
	return 0;
}

/* Counts the rows of every partition of set and lists each in the sample
 * and the log, as a run would drop or keep it, changing nothing.  0, or
 * -1 with *errmsg set. */
static int dry_set(const sweep_api *api, sweep_host *h, const age_state *st,
                   part_set *set, age_walk *w, char **errmsg)
{
	char *line;
	int i;

	if (count_set(api, h, st, set, true, false, w->cutoff, errmsg) != 0)
		return -1;
	for (i = 0; i < set->n; i++) {
		line = api->mprintf("partition %s: %" PRId64 " rows, would be "
		                    "%s", set->name[i], set->rows[i], st->keep
		                    ? "detached and kept" : "dropped");
		if (line)
			api->sample(h, line);
		api->free(line);
		log_partition(api, h, st->keep ? "would_detach_partition"
		                               : "would_drop_partition",
		              set->name[i], set->rows[i]);
		if (st->keep) {
			w->detached++;
			w->detached_rows += set->rows[i];
		} else {
			w->dropped++;
			w->dropped_rows += set->rows[i];
		}
	}
	return 0;
}

/* Removes the partitions of set, each wholly before the cutoff, from the
 * table: detaches them (detach_set), then drops or keeps those it
 * detached, even when the detach of the others failed or was stopped.
 * In a dry run, lists them (dry_set).  Empties set.  0, or -1 with
 * *errmsg set (the first error; a later one is logged). */
static int part_set_do(const sweep_api *api, sweep_host *h,
                       const age_state *st, part_set *set, age_walk *w,
                       char **errmsg)
{
	char *later = NULL;
	bool any = false;
	int i, rc, frc = 0;

	if (set->n == 0)
		return 0;
	if (w->dry) {
		rc = dry_set(api, h, st, set, w, errmsg);
		goto out;
	}
	rc = detach_set(api, h, st, set, w, errmsg);
	for (i = 0; i < set->n; i++)
		any = any || set->detached[i];
	if (any)
		frc = st->keep ? keep_set(api, h, st, set, w, &later)
		               : drop_set(api, h, st, set, w, &later);
	if (frc != 0 && rc != 0)
		api->log(h, SWEEP_LOG_ERROR, "partition_drop_failed", "error",
		         later, SWEEP_LOG_END);
	else if (frc != 0) {
		*errmsg = later;
		later = NULL;
		rc = -1;
	}
	api->free(later);
out:
	set->n = 0;
	memset(set->detached, 0, sizeof set->detached);
	return rc;
}

static int walk_table(const sweep_api *api, sweep_host *h,
                      const age_state *st, const char *relation,
                      age_walk *w, char **errmsg);

/* Whether row i of the children query is a partition that goes whole:
 * expired, and neither where nor max_rows (with them a partition's rows
 * do not all go). */
static bool part_whole(const age_state *st, const PGresult *res, int i)
{
	return strcmp(PQgetvalue(res, i, 3), "expired") == 0 &&
	       st->filter[0] == '\0' && st->max_rows == 0;
}

/* Does one partition of parent that does not go whole, as the children
 * query placed it: skipped after the cutoff, else walked. */
static int part_one(const sweep_api *api, sweep_host *h, const age_state *st,
                    const PGresult *res, int i, age_walk *w, char **errmsg)
{
	const char *child = PQgetvalue(res, i, 0);
	bool sub = PQgetvalue(res, i, 1)[0] == 't';
	bool pending = PQgetvalue(res, i, 2)[0] == 't';

	if (strcmp(PQgetvalue(res, i, 3), "after") == 0)
		return 0;
	if (pending) {
		api->log(h, SWEEP_LOG_WARN, "partition_detach_pending",
		         "partition", child, "hint", "finish it with ALTER "
		         "TABLE ... DETACH PARTITION ... FINALIZE", SWEEP_LOG_END);
		return 0;
	}
	if (sub)
		return walk_table(api, h, st, child, w, errmsg);
	return w->dry ? 0 : walk_heap(api, h, st, child, w, errmsg);
}

/* Does the partitions of relation (regclass text) the children query res
 * lists: those that go whole by sets of up to PART_GROUP (part_set_do),
 * the others one by one (part_one).  0, or -1 with *errmsg set. */
static int walk_parts(const sweep_api *api, sweep_host *h, const age_state *st,
                      const char *relation, const PGresult *res,
                      age_walk *w, char **errmsg)
{
	part_set set = {
		.parent = relation,
		.concurrent = PQserverVersion(api->db(h)) >= 140000 &&
		              PQntuples(res) > 0 &&
		              PQgetvalue(res, 0, 4)[0] == 't',
	};
	int i, rc = 0;

	for (i = 0; i < PQntuples(res) && rc == 0; i++) {
		if (!w->dry && api->should_stop(h)) {
			w->stopped = true;
			break;
		}
		if (!part_whole(st, res, i)) {
			rc = part_set_do(api, h, st, &set, w, errmsg);
			if (rc == 0 && !w->stopped)
				rc = part_one(api, h, st, res, i, w, errmsg);
			continue;
		}
		set.name[set.n] = PQgetvalue(res, i, 0);
		set.pending[set.n] = PQgetvalue(res, i, 2)[0] == 't';
		if (++set.n == PART_GROUP)
			rc = part_set_do(api, h, st, &set, w, errmsg);
	}
	if (rc == 0 && !w->stopped)
		rc = part_set_do(api, h, st, &set, w, errmsg);
	return rc;
}

/* Deletes the expired rows of relation (quoted SQL or regclass text): a
 * plain table by its heap, a partitioned one partition by partition (see
 * the top of this file).  0, or -1 with *errmsg set. */
static int walk_table(const sweep_api *api, sweep_host *h,
                      const age_state *st, const char *relation,
                      age_walk *w, char **errmsg)
{
	const char *params[4] = { relation, st->time_column, w->cutoff,
	                          st->zone };
	PGresult *res;
	bool partitioned;
	int rc;

	if (is_partitioned(api, h, relation, &partitioned, errmsg) != 0)
		return -1;
	if (!partitioned)
		return w->dry ? 0 : walk_heap(api, h, st, relation, w, errmsg);
	res = api->query(h, st->children_sql,
	                 st->kind == SWEEP_TIME_WALL ? 4 : 3, params,
	                 "reading the partitions", errmsg);
	if (!res)
		return -1;
	rc = walk_parts(api, h, st, relation, res, w, errmsg);
	PQclear(res);
	return rc;
}

/* The run's message: rows deleted, partitions dropped or kept.  New string
 * (api->free), NULL when out of memory. */
static char *run_message(const sweep_api *api, const age_state *st,
                         const age_walk *w)
{
	char *parts = NULL, *msg;

	if (w->dropped > 0)
		parts = api->mprintf(" (%" PRId64 " of them in %" PRId64
		                     " expired partitions, dropped)",
		                     w->dropped_rows, w->dropped);
	else if (w->detached > 0)
		parts = api->mprintf("; %" PRId64 " expired partitions with %"
		                     PRId64 " rows detached and kept as "
		                     "tables", w->detached, w->detached_rows);
	msg = api->mprintf("deleted %" PRId64 " rows from %s older than %s%s%s",
	                   w->rows + w->dropped_rows, st->table_name,
	                   w->cutoff, parts ? parts : "",
	                   w->stopped ? " (stopped early on request)" : "");
	api->free(parts);
	return msg;
}

/* Whether the run w walked the whole table: not stopped, and not cut
 * short by max_rows (a run that ends in a failure never gets here). */
static bool swept_whole(const age_state *st, const age_walk *w)
{
	return !w->stopped &&
	       (st->max_rows == 0 || w->rows < st->max_rows);
}

/* Deletes the rows older than the cutoff: batch by batch, and by whole
 * partitions where the table is partitioned by range on time_column; sets
 * the result's message.  Returns 0, or -1 with *errmsg set; what was
 * committed before an error stays committed and counted. */
static int age_run(const sweep_api *api, sweep_host *h, void *state,
                   char **errmsg)
{
	age_state *st = state;
	age_walk w = { .dry = false };
	char *cutoff = NULL, *msg = NULL;
	char rows[24], batches[24], dropped[24];
	int rc = -1;

	if (sweep_age_cutoff(api, h, "older_than", st->zone, SWEEP_AGE_NOW,
	                     &cutoff, NULL, errmsg) != 0)
		goto out;
	w.cutoff = cutoff;
	if (walk_table(api, h, st, st->table, &w, errmsg) != 0)
		goto out;

	snprintf(rows, sizeof rows, "%" PRId64, w.rows + w.dropped_rows);
	snprintf(batches, sizeof batches, "%" PRId64, w.batches);
	snprintf(dropped, sizeof dropped, "%" PRId64, w.dropped);
	api->log(h, SWEEP_LOG_INFO, "deleted", "table", st->table_name,
	         "rows", rows, "batches", batches, "partitions_dropped",
	         w.dropped ? dropped : NULL, "cutoff", cutoff,
	         "stopped", w.stopped ? "true" : "false", SWEEP_LOG_END);
	msg = run_message(api, st, &w);
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	api->free(st->swept);
	st->swept = swept_whole(st, &w) ? api->mprintf("%s", cutoff) : NULL;
	rc = 0;
out:
	api->free(msg);
	api->free(cutoff);
	return rc;
}

/* Lists, in the sample and the log, the partitions of the table a run
 * would drop or detach, with their rows, and counts them
 * (would_drop_partitions or would_detach_partitions, would_detach).
 * Sets *suffix to the message's words about them (api->free), or NULL.
 * 0, or -1 with *errmsg set. */
static int dry_partitions(const sweep_api *api, sweep_host *h,
                          const age_state *st, age_walk *w, char **suffix,
                          char **errmsg)
{
	*suffix = NULL;
	if (walk_table(api, h, st, st->table, w, errmsg) != 0)
		return -1;
	if (w->dropped > 0) {
		api->count(h, "would_drop_partitions", w->dropped);
		*suffix = api->mprintf(", %" PRId64 " of them by dropping %"
		                       PRId64 " expired partitions (see sample)",
		                       w->dropped_rows, w->dropped);
	} else if (w->detached > 0) {
		api->count(h, "would_detach_partitions", w->detached);
		api->count(h, "would_detach", w->detached_rows);
		*suffix = api->mprintf("; would detach %" PRId64 " expired "
		                       "partitions with %" PRId64 " rows and "
		                       "keep them as tables (see sample)",
		                       w->detached, w->detached_rows);
	}
	if ((w->dropped > 0 || w->detached > 0) && !*suffix) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	return 0;
}

/* Reports what run would delete, changing nothing: the partitions it
 * would drop or detach (dry_partitions), the counter would_delete (capped
 * at max_rows), the keys (audit columns, else primary key, else ctid) of
 * up to SAMPLE_ROWS of the oldest rows that match, and a message.
 * Returns 0, or -1 with *errmsg set. */
static int age_dry_run(const sweep_api *api, sweep_host *h, void *state,
                       char **errmsg)
{
	const age_state *st = state;
	const char *params[1] = { NULL };
	const char *keys = st->audit_object;
	PGresult *res = NULL;
	char *cutoff = NULL, *sql = NULL, *msg = NULL, *parts = NULL;
	age_walk w = { .dry = true };
	int64_t matching, would;
	int i, limit = SAMPLE_ROWS;
	int rc = -1;

	if (sweep_age_cutoff(api, h, "older_than", st->zone, SWEEP_AGE_NOW,
	                     &cutoff, NULL, errmsg) != 0)
		goto out;
	params[0] = cutoff;
	w.cutoff = cutoff;
	if (dry_partitions(api, h, st, &w, &parts, errmsg) != 0)
		goto out;
	res = api->query(h, st->count_sql, 1, params, "counting rows",
	                 errmsg);
	if (!res)
		goto out;
	matching = strtoll(PQgetvalue(res, 0, 0), NULL, 10) - w.detached_rows;
	PQclear(res);
	res = NULL;
	would = matching;
	if (st->max_rows > 0 && st->max_rows < matching)
		would = st->max_rows;
	api->count(h, "would_delete", would);

	if (!keys)
		keys = api->key_object(h, st->table, NULL, errmsg);
	if (!keys)
		goto out;
	if (st->max_rows > 0 && st->max_rows < limit)
		limit = (int)st->max_rows;
	sql = api->mprintf("SELECT %s FROM %s WHERE %s%s ORDER BY %s LIMIT %d",
	                   keys, st->table, st->older_dry, st->filter,
	                   st->time_column, limit);
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	res = api->query(h, sql, 1, params, "sampling rows", errmsg);
	if (!res)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		api->sample(h, PQgetvalue(res, i, 0));

	if (would < matching)
		msg = api->mprintf("would delete %" PRId64 " rows (max_rows; "
		                   "%" PRId64 " match) from %s older than %s",
		                   would, matching, st->table_name, cutoff);
	else
		msg = api->mprintf("would delete %" PRId64 " rows from %s "
		                   "older than %s%s", would, st->table_name,
		                   cutoff, parts ? parts : "");
	if (!msg) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	api->message(h, msg);
	rc = 0;
out:
	PQclear(res);
	api->free(parts);
	api->free(msg);
	api->free(sql);
	api->free(cutoff);
	return rc;
}

/* The condition the policy's measure adds to the table's rows: the job's
 * `where`, and, right after a run that walked the whole table, a time at
 * or after that run's cutoff.  That run removed every older row it could
 * see, and an index scan from the oldest end would first step over every
 * entry it left dead, a heap visit each (2 s after deleting 1,000,000 rows
 * of a shuffled heap, against 0.8 s for the deletion).  A row written
 * meanwhile with an older time is not seen here; sweepd --verify, which
 * runs nothing before its measure, measures from the oldest end.  New
 * string (api->free), NULL when out of memory. */
static char *verify_filter(const sweep_api *api, sweep_host *h,
                           const age_state *st)
{
	char *cut, *zone = NULL, *filter = NULL;

	if (st->swept == NULL)
		return api->mprintf("%s", st->filter);
	cut = PQescapeLiteral(api->db(h), st->swept, strlen(st->swept));
	if (st->kind != SWEEP_TIME_INSTANT)
		zone = PQescapeLiteral(api->db(h), st->zone, strlen(st->zone));
	if (cut != NULL && (st->kind == SWEEP_TIME_INSTANT || zone != NULL))
		filter = st->kind == SWEEP_TIME_INSTANT
		         ? api->mprintf("%s AND %s >= %s::timestamptz",
		                        st->filter, st->time_column, cut)
		         : api->mprintf("%s AND %s >= (%s::timestamptz AT TIME"
		                        " ZONE %s)", st->filter, st->time_column,
		                        cut, zone);
	PQfreemem(cut);
	PQfreemem(zone);
	return filter;
}

/* The policy's measure (SDK 1.9): the age of the oldest row of table that
 * meets `where` and has a time_column, whatever the cutoff (after a run
 * that walked the whole table, from that run's cutoff: verify_filter()),
 * against older_than.  A partition no one dropped counts: its rows are the
 * table's. */
static int age_verify(const sweep_api *api, sweep_host *h, void *state,
                      sweep_verify *out, char **errmsg)
{
	const age_state *st = state;
	char *filter = verify_filter(api, h, st);
	int rc;

	if (filter == NULL) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	out->table = st->table_name;
	rc = sweep_age_oldest(api, h, st->table, st->time_column, st->kind,
	                      st->zone, filter, "older_than", out, errmsg);
	api->free(filter);
	return rc;
}

/* Frees the state built by age_init. */
static void age_teardown(const sweep_api *api, sweep_host *h, void *state)
{
	(void)h;
	state_free(api, state);
}

static const sweep_option age_options[] = {
	{ "table", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "table to delete from, optionally schema-qualified" },
	{ "time_column", SWEEP_OPT_IDENT, SWEEP_OPT_REQUIRED, NULL,
	  "column dating each row (timestamptz, timestamp or date); "
	  "rows where it is NULL are kept" },
	{ "older_than", SWEEP_OPT_DURATION,
	  SWEEP_OPT_REQUIRED | SWEEP_OPT_AGE, NULL,
	  "delete rows whose time_column is before now() minus this age "
	  "(e.g. 30d, 6mo, 3y: months and years on the calendar)" },
	{ "where", SWEEP_OPT_SQL_EXPR, 0, NULL,
	  "extra condition a row must also meet to be deleted" },
	{ "batch_size", SWEEP_OPT_INT, 0, "5000",
	  "rows a batch aims to delete, each batch one short transaction "
	  "(a batch covers whole pages, so it may take a page's rows more)" },
	SWEEP_BATCH_OPTIONS,
	SWEEP_PARALLEL_OPTION,
	{ "max_rows", SWEEP_OPT_INT, 0, NULL,
	  "most rows one run deletes (then parallel is 1); 0 or unset: "
	  "no cap" },
	{ "audit_columns", SWEEP_OPT_LIST, 0, NULL,
	  "columns written to one audit record per deleted row" },
	SWEEP_NAIVE_TIMEZONE_OPTION,
	{ "partition_action", SWEEP_OPT_STRING, 0, "drop",
	  "a partition of a table partitioned by range on time_column that "
	  "lies wholly before the cutoff is detached and then: drop (its "
	  "rows count as deleted) or detach (kept as a table of its own)" },
	{ NULL, 0, 0, NULL, NULL }
};

/* The values the integer options and timeouts take, checked by the host
 * when the configuration loads (sweepd --check); init checks them again. */
static const sweep_option_range age_ranges[] = {
	{ "batch_size", 1, INT64_MAX },
	{ "max_rows", 0, INT64_MAX },
	SWEEP_PARALLEL_RANGE,
	SWEEP_BATCH_RANGES,
	{ NULL, 0, 0 }
};

static const sweep_plugin age_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "age_delete",
	.version = "1.0.0",
	.description = "deletes rows older than a given age from one table, "
	               "in short batches",
	.options = age_options,
	.ranges = age_ranges,
	.init = age_init,
	.run = age_run,
	.dry_run = age_dry_run,
	.teardown = age_teardown,
	.verify = age_verify,
};

SWEEP_PLUGIN_DEFINE(age_plugin)
