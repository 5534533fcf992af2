/*
 * sweepd plugin SDK, ABI 1.
 *
 * This is the only header a sweepd plugin includes.  A plugin is a shared
 * object that exports one function, sweep_plugin_entry(), returning a
 * constant descriptor (struct sweep_plugin).  The host reaches the plugin only
 * through that descriptor, and the plugin reaches the host only through the
 * table of services (struct sweep_api) handed to each of its functions, so a
 * plugin links nothing of the host.
 *
 * ABI history (minor versions only append):
 *   1.0  first version
 *   1.1  sweep_batch.lock_timeout_ms and .statement_timeout_ms
 *   1.2  sweep_api.error_item
 *   1.3  sweep_api.query, quote_name, split_column, json_object,
 *        key_object, begin, pause: what every shipped plugin needed
 *   1.4  sweep_batch.parallel: HEAP_RANGES batches in several sessions;
 *        sweep_api.set_timeouts
 *   1.5  durations in months and years (6mo, 1y); sweep_api.opt_interval;
 *        SWEEP_OPT_TIMEZONE; ages counted by the database in a stated
 *        zone: sweep_age_cutoff, sweep_time_kind, sweep_age_condition,
 *        SWEEP_NAIVE_TIMEZONE_OPTION
 *   1.6  declared ranges of INT and DURATION options (sweep_option_range,
 *        sweep_plugin.range_size and .ranges, SWEEP_BATCH_RANGES,
 *        SWEEP_PARALLEL_RANGE), checked by sweepd --check; SWEEP_OPT_AGE;
 *        a DURATION is at most SWEEP_DURATION_MAX_YEARS years
 *   1.7  sweep_api.audit_query: one audit record per row of a query, in
 *        the current transaction (a partition audited before its drop)
 *   1.8  sweep_api.commit and .rollback: the host ends the transaction
 *        begin() opened and keeps the "audited" counter true
 *   1.9  sweep_plugin.verify, sweep_verify, sweep_age_oldest(): a plugin
 *        measures whether its policy holds (sweepd --verify, the oldest
 *        row's age after each run)
 *
 * Compatibility: one rule, SWEEP_ABI_LOADS() below, which the loader
 * applies and tests/test_sdk.c tests with plugins built for an older
 * minor, a newer minor, another major and with a truncated descriptor:
 *
 *   A sweepd of ABI H.h loads a plugin built for ABI P.p
 *   if and only if P == H and p <= h.
 *
 *   - SWEEP_ABI_MAJOR changes only when an existing field or function
 *     changes meaning or place.  A plugin of another major is refused:
 *     rebuild it against that sweepd's SDK.
 *   - SWEEP_ABI_MINOR grows when fields or services are appended;
 *     existing members never move.  A plugin built for an older minor
 *     runs unchanged; one built for a newer minor than the host's is
 *     refused (upgrade sweepd, or build the plugin against the oldest SDK
 *     it must run on).  So a loaded plugin always finds every service and
 *     field of the header it was compiled with: it never needs to check
 *     api->size or api->abi_minor.
 *   - Every struct a plugin hands the host carries its size as the plugin
 *     saw it (sweep_plugin.size, .option_size, sweep_batch.size,
 *     sweep_batch_stats.size); the host never reads past that size, and
 *     gives fields a plugin built for an older minor could not set their
 *     default (0).
 *   A refusal names the file, the ABI found and the ABIs this sweepd
 *   loads; `sweepd --check-plugin FILE.so` shows it without a conf.d.
 *
 * The contract a plugin runs under:
 *
 * Process model.  Every run (sweepd --run, --dry-run, a scheduled tick) is
 * a child process of its own, forked from sweepd, that calls init, then
 * run or dry_run, then teardown, once, and exits.  A crash, an exit()
 * from plugin code, a hang or a kill costs that run only: the supervisor
 * records it with the phase it happened in ("crashed in teardown: signal
 * 11 (Segmentation fault)").  Nothing a plugin keeps in memory survives
 * the run.  The process dies with its parent.
 *
 * Retries.  A scheduled run whose failure is transient (connection lost,
 * serialization failure, deadlock, lock or statement timeout: the
 * SQLSTATE of a host statement, api->query or a batch) is tried again in
 * the same process, 1 s, 2 s, 4 s ... apart, up to the job's `retries`:
 * init, run and teardown are called again from the start.  The failed
 * attempt's error and message go; its counters, samples and failed items
 * stay, as what it committed stays committed.  sweepd --run tries once.
 *
 * Stopping and signals.  A stop (the job's timeout, SIGTERM or SIGINT to
 * sweepd, the daemon stopping) arrives as SIGTERM to the run's process,
 * which sets api->should_stop(): finish or roll back the current
 * transaction and return.  At the same time the statement each of the
 * run's sessions is running is cancelled (SQLSTATE 57014; the run then
 * ends "stopped", not failed, when the cancel came from the stop).  After
 * stop_grace the process is killed and every backend it opened is
 * terminated.  A plugin must not install signal handlers, block signals
 * or fork: the host owns the process's signals and its children.
 *
 * Timeout.  A run's timeout counts from the start of init (for a
 * scheduled run, never before its tick).
 *
 * Output.  The process's stdout and stderr are pipes to the supervisor:
 * each line becomes a log line of its own (event=output, with the job, run
 * and stream; bytes that are not UTF-8 escaped; lines cut at 1 KiB; 64
 * KiB a run, then one "output truncated" line).  Nothing a plugin prints
 * reaches a user's terminal or the CLI's --json output: report through
 * api->log, api->message, api->sample, api->count and api->error_item.
 *
 * Memory.  The run's data size is limited by the job's memory_limit
 * (default 1GiB): past it malloc() returns NULL (a run that dies of it
 * is recorded with the limit it reached).
 *
 * Ownership of strings, every one:
 *   - The descriptor, its strings and its option table belong to the
 *     plugin and must stay valid and unchanged while it is loaded: make
 *     them static const.
 *   - What the option getters (opt_string, opt_ident, opt_list,
 *     opt_interval), quote_name, split_column, json_object and key_object
 *     return is the host's, valid until teardown returns; never free it.
 *   - Every string a plugin passes to a service (log keys and values,
 *     counter names, sample, message and error_item lines, audit action,
 *     table and data, a sweep_batch's sql, params and names, query text
 *     and parameters) is only read during the call: the host copies what
 *     it keeps, so the plugin may free or reuse it when the call returns.
 *   - *errmsg of the plugin's own functions: NULL, or a string from
 *     api->mprintf(), which the host frees.  *errmsg set by a service
 *     (batch_loop, query, begin, commit, ...) is likewise the host's
 *     allocation: return it as the plugin's own *errmsg, or free it with
 *     api->free.
 *   - What api->mprintf() returns, sweep_cutoff's and sweep_age_cutoff's
 *     *cutoff and sweep_age_condition's result: the plugin's, freed with
 *     api->free.  A PGresult from api->query: the plugin's, PQclear()ed.
 *
 * init and *state.  *state is NULL when init is called.  When init
 * succeeds, *state (NULL is fine) is handed to run or dry_run and then to
 * teardown, which frees it.  When init fails, teardown is NOT called and
 * the host ignores *state: init frees whatever it allocated before it
 * returns nonzero.
 *
 * Threads.  Every service must be called from the thread that called
 * init, run, dry_run or teardown.  A plugin must leave no thread running
 * when the function that started it returns.
 *
 * Unloading.  The host may dlclose() a plugin once teardown has returned
 * and no run uses it: the daemon unloads a plugin whose file changed or
 * that no job names any more after a reload (SIGHUP); a run's process
 * exits after teardown.  So a plugin leaves nothing behind that would
 * call into its code after that: no thread, no atexit() handler, no
 * thread-local destructor (pthread_key_create, C11 thread_local objects
 * with destructors in C++), no callback registered with libpq or another
 * library (a notice processor set on api->db must be restored before
 * returning), no signal handler.  Static data is lost at unload: nothing
 * survives from one run to the next but the database.
 *
 * Database.  The run's sessions are the host's (api->db, the batch loop's
 * parallel sessions): never close them, never change the settings listed
 * at sweep_api.db, and use no session state across a batch loop with
 * parallel > 1.
 */
#ifndef SWEEPD_PLUGIN_H
#define SWEEPD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "SWPD": first field of every descriptor, so the host can tell a sweepd
 * plugin from any other shared object before it trusts a single field. */
#define SWEEP_PLUGIN_MAGIC 0x53575044u
#define SWEEP_ABI_MAJOR 1
#define SWEEP_ABI_MINOR 9

/* The compatibility rule (see the top of this file): whether this header's
 * host loads a plugin built for ABI plugin_major.plugin_minor. */
#define SWEEP_ABI_LOADS(plugin_major, plugin_minor)                        \
	((plugin_major) == SWEEP_ABI_MAJOR && (plugin_minor) <= SWEEP_ABI_MINOR)

/* Name of the one symbol a plugin exports. */
#define SWEEP_ENTRY_SYMBOL "sweep_plugin_entry"

#if defined(__GNUC__)
#define SWEEP_EXPORT __attribute__((visibility("default")))
#define SWEEP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#if defined(__clang__) /* clang takes sentinel on functions only */
#define SWEEP_SENTINEL
#else
#define SWEEP_SENTINEL __attribute__((sentinel))
#endif
#else
#define SWEEP_EXPORT
#define SWEEP_PRINTF(f, a)
#define SWEEP_SENTINEL
#endif

/* Per-run handle of the host.  Opaque: only ever passed back to the host. */
typedef struct sweep_host sweep_host;

/* Types of declared options.  The host parses and checks every value before
 * init is called, so a getter never sees text of the wrong type. */
typedef enum sweep_opt_type {
	SWEEP_OPT_STRING = 1,  /* any text */
	SWEEP_OPT_INT = 2,     /* signed 64-bit decimal integer */
	SWEEP_OPT_BOOL = 3,    /* true/false, yes/no, on/off, 1/0 */
	SWEEP_OPT_DURATION = 4,/* 250ms 90s 15m 36h 30d 2w, and since ABI
	                          1.5 6mo 1y (months, years); or sums:
	                          1h30m, 1y6mo; at most
	                          SWEEP_DURATION_MAX_YEARS years */
	SWEEP_OPT_LIST = 5,    /* comma-separated, items trimmed, none empty */
	SWEEP_OPT_IDENT = 6,   /* SQL name, optionally qualified: schema.table */
	SWEEP_OPT_SQL_EXPR = 7,/* one SQL boolean expression: no ';', no
	                          comment, balanced parentheses and quotes */
	SWEEP_OPT_TIMEZONE = 8 /* ABI 1.5: an IANA time zone name (UTC,
	                          Europe/Berlin) known to the system's zone
	                          database; read it with opt_string */
} sweep_opt_type;

/* Option flags. */
#define SWEEP_OPT_REQUIRED 0x1u
/* ABI 1.6: a DURATION option that is an age (rows or files older than it
 * go).  With an age of 0 everything goes once its time has passed, every
 * row of a creation time: sweepd --check warns about it. */
#define SWEEP_OPT_AGE 0x2u

/* Longest DURATION the host accepts (ABI 1.6), by the length of a year of
 * 365.25 days: now() less it stays within PostgreSQL's timestamps, which
 * begin in 4713 BC, and it fits PostgreSQL's interval. */
#define SWEEP_DURATION_MAX_YEARS 5000

/* One declared option.  A plugin's table of options ends with an entry
 * whose key is NULL.  default_value is text parsed exactly as a user's value
 * would be (NULL: no default). */
typedef struct sweep_option {
	const char *key;
	int32_t type;          /* a sweep_opt_type */
	uint32_t flags;        /* SWEEP_OPT_* flags */
	const char *default_value;
	const char *help;      /* one line, shown by sweepd --list-plugins */
} sweep_option;

/*
 * The range of values an INT or DURATION option accepts (ABI 1.6): min and
 * max inclusive, an INT's value or a DURATION's milliseconds (as
 * opt_duration_ms() returns them).  A plugin lists the ranges of its
 * options in a table of its own, sweep_plugin.ranges, ending with an entry
 * whose key is NULL; each key names a declared INT or DURATION option, at
 * most once.  The host refuses a value out of range with the job file's
 * line when the configuration loads (sweepd --check), before init is
 * called, and refuses a plugin whose default is out of its own range; an
 * option without a range takes any value of its type.
 *
 *   static const sweep_option_range my_ranges[] = {
 *           {"batch_size", 1, INT64_MAX},
 *           SWEEP_BATCH_RANGES,
 *           {NULL, 0, 0}
 *   };
 *
 * Why a table apart, not fields appended to sweep_option: every plugin's
 * option table initialises sweep_option positionally, and a struct that
 * grows makes each of those initialisers warn under -Wextra
 * (missing-field-initializers), which breaks the builds of third-party
 * plugins that use -Werror.  A separate table appended to the descriptor
 * (initialised by name) leaves every existing table compiling unchanged,
 * and a plugin built before 1.6 has a descriptor too short to reach it:
 * the host reads no range from it and its options take any value of
 * their type, as before.  The table carries its entry size
 * (sweep_plugin.range_size) so that it can grow as sweep_option can.
 */
typedef struct sweep_option_range {
	const char *key;       /* a declared INT or DURATION option */
	int64_t min;           /* least value accepted (INT64_MIN: none) */
	int64_t max;           /* greatest value accepted (INT64_MAX: none) */
} sweep_option_range;

/* Ends the key/value pairs of sweep_api.log (a typed null pointer: a bare
 * NULL may be a plain 0 in a variadic call). */
#define SWEEP_LOG_END ((const char *)0)

/* Log levels for sweep_api.log. */
typedef enum sweep_log_level {
	SWEEP_LOG_DEBUG = 0,
	SWEEP_LOG_INFO = 1,
	SWEEP_LOG_WARN = 2,
	SWEEP_LOG_ERROR = 3
} sweep_log_level;

/* How sweep_api.batch_loop walks. */
typedef enum sweep_batch_mode {
	/* Repeat the statement until one execution affects no row. */
	SWEEP_BATCH_UNTIL_EMPTY = 1,
	/* Walk the heap of `relation` in ranges of blocks, first to last, one
	 * execution per range; the host sizes each range so that a batch
	 * changes about batch_rows rows and stays short.  The statement is
	 * expected to restrict itself with `ctid >= $2 AND ctid < $3`, which
	 * PostgreSQL executes as a TID Range Scan. */
	SWEEP_BATCH_HEAP_RANGES = 2
} sweep_batch_mode;

/*
 * A batched statement for sweep_api.batch_loop.
 *
 * The host binds its own parameters first, typed, so the statement may use
 * them or not:
 *   $1  int8  rows this batch may change: in UNTIL_EMPTY mode batch_rows,
 *             or less near max_rows; in HEAP_RANGES mode NULL (no cap:
 *             `LIMIT NULL` is no limit) or the lesser of what max_rows
 *             leaves and twice batch_rows, the latter on a range that may
 *             hold more rows than that (a run's first ranges, ranges grown
 *             over pages with no matching rows, the heap's open end).  The
 *             statement must stop at $1 rows, in heap order:
 *             `ctid >= $2 AND ctid < $3 AND cond AND ($1 IS NULL OR
 *             ctid = ANY (ARRAY(SELECT ctid FROM t WHERE ctid >= $2 AND
 *             ctid < $3 AND cond LIMIT $1)))` does, and runs as a plain
 *             TID Range Scan when $1 is NULL.  A batch that changes
 *             exactly its cap of twice batch_rows rows has its range run
 *             again from $2 in shorter ranges, so a row it changed must no
 *             longer match.  A statement that changes more than $1 rows
 *             gets ranges of about twice batch_rows rows at the densest
 *             pages seen from then on (and a warning in the log)
 *   $2  tid   first tuple of this batch's heap range (inclusive)
 *   $3  tid   end of this batch's heap range (exclusive)
 * In SWEEP_BATCH_UNTIL_EMPTY mode $2..$3 span the whole table.  The plugin's
 * own parameters follow as $4, $5, ... (params[0] is $4), sent as text of
 * unspecified type, so PostgreSQL infers each from its use ($4::timestamptz).
 * HEAP_RANGES needs a table with a heap of its own: a partitioned parent,
 * a view or a foreign table is refused with an error.
 *
 * With parallel > 1 (HEAP_RANGES, no max_rows) the host opens parallel - 1
 * more sessions to the same database and hands the ranges out in heap
 * order to whichever session is free, so batches of disjoint ranges run at
 * once, each still its own short transaction.  The statement must then
 * touch only rows of its own range ($2..$3), must not rely on what another
 * batch did before it, and must not need state of the run's own session
 * (temporary tables or functions, SET): the other sessions are new ones.
 * A session that cannot connect is left out with a warning; the loop goes
 * on with the others.
 *
 * With audit_action set, the statement must be an INSERT/UPDATE/DELETE ...
 * RETURNING exactly one jsonb column: the host writes one audit record per
 * returned row, with that value as its data, in the same statement and
 * hence the same transaction as the change.
 */
typedef struct sweep_batch {
	uint32_t size;            /* sizeof(sweep_batch) as the plugin saw it */
	int32_t mode;             /* a sweep_batch_mode */
	const char *sql;          /* the statement; host does not keep it */
	int32_t nparams;          /* number of entries in params */
	const char *const *params;/* $4...; NULL entries are SQL NULL */
	const char *relation;     /* HEAP_RANGES: the table, as SQL text
	                             (a quoted name from opt_ident) */
	int64_t batch_rows;       /* rows a batch should change (> 0) */
	int64_t max_rows;         /* cap for the whole loop; 0: none */
	int64_t pause_ms;         /* sleep between batches; 0: none */
	const char *counter;      /* result counter that receives the rows
	                             changed, e.g. "deleted"; NULL: none */
	const char *audit_action; /* e.g. "deleted"; NULL: no audit */
	const char *audit_table;  /* table named in audit records */
	/* ABI 1.1 */
	int64_t lock_timeout_ms;  /* per batch; 0: the session's setting */
	int64_t statement_timeout_ms; /* per batch; 0: the session's */
	/* ABI 1.4 */
	int32_t parallel;         /* sessions running batches at once, 1 to
	                             SWEEP_BATCH_MAX_PARALLEL; 0: 1.  More than
	                             1 only in HEAP_RANGES mode without
	                             max_rows (else the loop uses one) */
} sweep_batch;

/* Most sessions one batch loop runs at once. */
#define SWEEP_BATCH_MAX_PARALLEL 16

/* What a batch loop did; filled by sweep_api.batch_loop. */
typedef struct sweep_batch_stats {
	uint32_t size;            /* set by the caller to sizeof */
	int64_t rows;             /* rows changed in total */
	int64_t batches;          /* statements executed and committed */
	int64_t longest_ms;       /* longest single batch transaction */
	bool stopped;             /* ended early because stop was requested */
} sweep_batch_stats;

/*
 * Services of the host.  Every function takes the run's sweep_host first.
 * Entries are only ever appended, and a plugin is loaded only by a host of
 * its own ABI minor or a newer one (SWEEP_ABI_LOADS), so every entry of
 * the header a plugin was built with is there: no check of api->size or
 * abi_minor is needed.
 */
typedef struct sweep_api {
	uint32_t size;            /* sizeof(sweep_api) as the host built it */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* --- options (declared in the descriptor, checked before init) --- */

	/* Text of an option as written (any type; for IDENT the unquoted
	 * name, for messages), or NULL when it is unset and has no default.
	 * Host-owned. */
	const char *(*opt_string)(sweep_host *h, const char *key);
	/* Value of an INT option; 0 when unset with no default. */
	int64_t (*opt_int)(sweep_host *h, const char *key);
	/* Value of a BOOL option; false when unset with no default. */
	bool (*opt_bool)(sweep_host *h, const char *key);
	/* Value of a DURATION option in milliseconds; 0 when unset.  Months
	 * count 30 days and years 365.25 days (twelve months a year), as
	 * PostgreSQL's extract(epoch FROM interval) counts them: right for a
	 * timeout, not for an age; ages want opt_interval (ABI 1.5). */
	int64_t (*opt_duration_ms)(sweep_host *h, const char *key);
	/* Items of a LIST option: returns their number and sets *items to a
	 * host-owned array of host-owned strings (NULL when there are none). */
	size_t (*opt_list)(sweep_host *h, const char *key,
	                   const char *const **items);
	/* An IDENT option quoted for SQL with PQescapeIdentifier, each part
	 * of a qualified name quoted on its own ("public"."users"), or NULL
	 * when unset or out of memory.  Host-owned. */
	const char *(*opt_ident)(sweep_host *h, const char *key);
	/* Whether the option has a value, given or by default. */
	bool (*opt_isset)(sweep_host *h, const char *key);

	/* --- logging --- */

	/* Structured log line: an event text, then key, value string pairs
	 * ending with SWEEP_LOG_END.  The host adds time, level, job and run;
	 * a pair whose value is NULL or "" is left out. */
	void (*log)(sweep_host *h, int level, const char *event, ...)
		SWEEP_SENTINEL;

	/* --- database --- */

	/* The run's PostgreSQL connection, owned by the host; never close it.
	 * Open from init() to teardown(), in UTF-8 with
	 * standard_conforming_strings on, transform_null_equals off,
	 * DateStyle ISO and IntervalStyle postgres whatever the server,
	 * database or role set (do not change them: conditions checked at
	 * load time must lex as they were checked).  In init() and
	 * run(): idle, autocommit; run() must return with no transaction
	 * open (the host rolls back and fails the run otherwise).  In
	 * dry_run(): inside a READ ONLY transaction that the host always
	 * rolls back.  When the job sets `role`, the session runs as that
	 * role (SET ROLE) from before init() to after teardown(), and so
	 * does every session batch_loop() opens: never RESET ROLE, SET ROLE
	 * or set_config('role', ...) (the host fails a run that left the
	 * role).  The role bounds what the job's SQL may do, not what the
	 * plugin's own code does: it runs in the host's process with the
	 * login role's connection, so a plugin is trusted code. */
	PGconn *(*db)(sweep_host *h);
	/* Runs a batched statement (see struct sweep_batch): one short
	 * transaction per batch, stops between batches when a stop is
	 * requested, adds rows to spec->counter, reports progress.  Returns 0,
	 * or -1 with *errmsg set (host-allocated; the plugin may return it
	 * as its own error) after rolling the failed batch back; batches
	 * committed before stay committed.  stats may be NULL. */
	int (*batch_loop)(sweep_host *h, const sweep_batch *spec,
	                  sweep_batch_stats *stats, char **errmsg);

	/* --- result --- */

	/* Adds delta to the named result counter (created at 0). */
	void (*count)(sweep_host *h, const char *counter, int64_t delta);
	/* Adds one line to the result's sample (dry-run: what would go).
	 * The host keeps a copy; the first few lines are kept. */
	void (*sample)(sweep_host *h, const char *line);
	/* Sets the result's one-line message; the host keeps a copy. */
	void (*message)(sweep_host *h, const char *text);
	/* Reports progress: done units of total (total < 0: unknown). */
	void (*progress)(sweep_host *h, int64_t done, int64_t total);
	/* Writes one audit record in the connection's current transaction:
	 * action (e.g. "deleted"), the table acted on, and data, a JSON object
	 * text.  Returns 0, or -1 with *errmsg set (host-allocated).  Call it
	 * inside the transaction that makes the change it records.  It adds 1
	 * to the "audited" counter at once.  End a transaction from begin()
	 * with commit() or rollback() (ABI 1.8), which take the records of a
	 * rolled-back transaction off that counter; a plugin that ends it
	 * itself (PQexec "ROLLBACK") must take them off with count(h,
	 * "audited", -n). */
	int (*audit)(sweep_host *h, const char *action, const char *table,
	             const char *json_data, char **errmsg);

	/* --- control --- */

	/* True once the run has been asked to stop (signal, timeout):
	 * finish or roll back the current transaction and return. */
	bool (*should_stop)(sweep_host *h);

	/* --- memory --- */

	/* printf into a new string the host frees (for *errmsg), or NULL
	 * when out of memory. */
	char *(*mprintf)(const char *fmt, ...) SWEEP_PRINTF(1, 2);
	/* Frees a string from mprintf() or from a host error; NULL is
	 * fine. */
	void (*free)(void *p);

	/* --- ABI 1.2 --- */

	/* Records one error of an item (a row, a parent, a file) that failed
	 * while the run went on with the others: counted in the "errors"
	 * counter and listed in the result's errors (the first few kept).
	 * The host keeps a copy. */
	void (*error_item)(sweep_host *h, const char *text);

	/* --- ABI 1.3 --- */

	/* Runs sql with nparams text parameters (NULL entries are SQL NULL,
	 * types inferred) on the run's connection.  Returns the result when
	 * it succeeded (the caller PQclear()s it), else NULL with *errmsg set
	 * to "what: server message (SQLSTATE xxxxx)"; the failure's SQLSTATE
	 * is remembered, so that a transient one (a lock timeout, a lost
	 * connection) makes a scheduled run try again. */
	PGresult *(*query)(sweep_host *h, const char *sql, int nparams,
	                   const char *const *params, const char *what,
	                   char **errmsg);
	/* A name written by a user, optionally qualified (schema.table; a
	 * part in double quotes may hold dots), quoted for SQL as IDENT
	 * options are; NULL with *errmsg set when it is not a valid name.
	 * Host-owned. */
	const char *(*quote_name)(sweep_host *h, const char *text,
	                          char **errmsg);
	/* Splits a user's "table.column" (or "schema.table.column") at its
	 * last dot into the quoted table and the quoted column.  Returns 0,
	 * or -1 with *errmsg set.  Both strings host-owned. */
	int (*split_column)(sweep_host *h, const char *text,
	                    const char **table, const char **column,
	                    char **errmsg);
	/* SQL text jsonb_build_object('c1', q.c1, ...) over the n columns
	 * (names as written; qualifier, e.g. "t", or NULL), for audit
	 * records and samples; NULL with *errmsg set.  Host-owned. */
	const char *(*json_object)(sweep_host *h, const char *const *columns,
	                           size_t n, const char *qualifier,
	                           char **errmsg);
	/* The same over the primary key columns of relation (SQL text, e.g.
	 * from opt_ident), or over ctid when it has none.  Host-owned. */
	const char *(*key_object)(sweep_host *h, const char *relation,
	                          const char *qualifier, char **errmsg);
	/* Begins a transaction on the run's connection with the given
	 * lock_timeout and statement_timeout for it (SET LOCAL; 0 keeps the
	 * session's).  Returns 0, or -1 with *errmsg set and no transaction
	 * open. */
	int (*begin)(sweep_host *h, int64_t lock_timeout_ms,
	             int64_t statement_timeout_ms, char **errmsg);
	/* Sleeps ms milliseconds, waking early when a stop is requested.
	 * Returns true when the run should go on (no stop requested). */
	bool (*pause)(sweep_host *h, int64_t ms);

	/* --- ABI 1.4 --- */

	/* Sets lock_timeout and statement_timeout (0 keeps the session's)
	 * for the rest of the transaction open on the run's connection, as
	 * SET LOCAL does: one from begin(), or in dry_run() the host's.
	 * Returns 0, or -1 with *errmsg set. */
	int (*set_timeouts)(sweep_host *h, int64_t lock_timeout_ms,
	                    int64_t statement_timeout_ms, char **errmsg);

	/* --- ABI 1.5 --- */

	/* A DURATION option as PostgreSQL interval text that keeps its
	 * calendar units apart, as PostgreSQL prints an interval: "3 years",
	 * "1 year 6 mons", "30 days", "36:00:00", "30 days 01:00:00",
	 * "00:00:00.25"; for `$n::interval`, so that PostgreSQL counts months
	 * and years on the calendar.  NULL when unset.  Host-owned. */
	const char *(*opt_interval)(sweep_host *h, const char *key);

	/* --- ABI 1.7 --- */

	/* Writes one audit record per row of sql, a query returning exactly
	 * one jsonb column (the record's data), with action and table as
	 * api->audit takes them, in the transaction open on the run's
	 * connection (api->begin) and in one statement: records of rows that
	 * go together with them (a partition about to be dropped).  sql's
	 * parameters are $1..$nparams (text, types inferred; NULL entries
	 * are SQL NULL).  Returns the number of records written, added to
	 * the "audited" counter, or -1 with *errmsg set (the transaction is
	 * then to be rolled back).  Refused in a dry run. */
	int64_t (*audit_query)(sweep_host *h, const char *action,
	                       const char *table, const char *sql,
	                       int nparams, const char *const *params,
	                       char **errmsg);

	/* --- ABI 1.8 --- */

	/* Commits the transaction open on the run's connection (from
	 * begin()).  Returns 0, or -1 with *errmsg set: the transaction
	 * failed and is rolled back (a COMMIT of a transaction that had an
	 * error rolls back), its audit records taken off the "audited"
	 * counter as rollback() does.  Refused (-1) in dry_run(), whose
	 * transaction the host always rolls back. */
	int (*commit)(sweep_host *h, char **errmsg);
	/* Rolls back the transaction open on the run's connection (from
	 * begin()) and takes the audit records written in it off the
	 * "audited" counter, so that the counter always equals the records
	 * committed.  Returns 0, or -1 with *errmsg set.  Refused (-1) in
	 * dry_run(). */
	int (*rollback)(sweep_host *h, char **errmsg);
} sweep_api;

/*
 * Functions of a plugin.  Each returns 0 on success or nonzero on failure
 * with *errmsg set through api->mprintf() (or left NULL).
 *
 * init:     called once per run after options are checked; may allocate
 *           *state (owned by the plugin until teardown).  When it fails,
 *           teardown is not called: it frees what it allocated itself.
 * run:      does the work.
 * dry_run:  reports what run would do (counters, api->sample()), changing
 *           nothing; the host enforces this with a READ ONLY transaction,
 *           which stops writes to tables only: a function with effects
 *           outside the transaction (pg_terminate_backend, lo_export,
 *           COPY ... TO PROGRAM) is bounded by the job's role alone.
 * teardown: frees state; called once after init succeeded, whatever run
 *           or dry_run returned.
 */
typedef int (*sweep_init_fn)(const sweep_api *api, sweep_host *h,
                             void **state, char **errmsg);
typedef int (*sweep_run_fn)(const sweep_api *api, sweep_host *h,
                            void *state, char **errmsg);
typedef void (*sweep_teardown_fn)(const sweep_api *api, sweep_host *h,
                                  void *state);

/*
 * Proof that a policy holds (ABI 1.9).  A plugin whose policy is an age
 * ("rows of T older than 30d go") sets sweep_plugin.verify; the host
 * calls it after each successful run (recording the age in the run's
 * history, shown by --status and exported as a metric) and for sweepd
 * --verify, between init and teardown, in a READ ONLY transaction that
 * it rolls back, under the job's role.  verify measures, changes
 * nothing, and fills *out:
 *
 *   oldest_age_s  the age now, in seconds, of the oldest row that the
 *                 job's condition without its age still matches (for
 *                 age_delete: every row of `table` meeting `where` whose
 *                 time_column is not NULL), or -1 when there is none:
 *                 the rows the policy says must not grow older than
 *                 limit_s.  What the condition excludes is not the
 *                 policy's, so a `where` that misses rows someone
 *                 expected gone is seen only as far as the rows it does
 *                 match are concerned.
 *   limit_s       the age the policy allows, in seconds (older_than,
 *                 months and years counted as sweep_age_cutoff() does).
 *   table         what was measured, as the job names it (a table, a
 *                 directory); only read during the call.
 *
 * The host calls the policy violated when oldest_age_s > limit_s plus
 * one period of the job's schedule.  A plugin without verify (NULL, or a
 * descriptor from before 1.9) is "not verifiable by its plugin".
 * Returns 0, or nonzero with *errmsg set as the plugin's other
 * functions do.  out->size is the host's sizeof(sweep_verify); the
 * fields the plugin leaves keep the host's defaults (-1, -1, NULL).
 */
typedef struct sweep_verify {
	uint32_t size;            /* set by the host */
	uint32_t reserved;        /* 0 */
	double oldest_age_s;      /* -1: no row */
	double limit_s;           /* -1: none */
	const char *table;
} sweep_verify;

typedef int (*sweep_verify_fn)(const sweep_api *api, sweep_host *h,
                               void *state, sweep_verify *out,
                               char **errmsg);

/* The descriptor a plugin returns.  Fields are laid out without padding
 * bytes on LP64 and ILP32. */
typedef struct sweep_plugin {
	uint32_t magic;           /* SWEEP_PLUGIN_MAGIC */
	uint16_t abi_major;       /* SWEEP_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;       /* SWEEP_ABI_MINOR the plugin was built with */
	uint32_t size;            /* sizeof(sweep_plugin) as the plugin saw it */
	uint32_t option_size;     /* sizeof(sweep_option) as the plugin saw it */
	const char *name;         /* must equal the file name without ".so" */
	const char *version;      /* the plugin's own version, free text */
	const char *description;  /* one line */
	const sweep_option *options; /* ends with key == NULL; may be NULL */
	sweep_init_fn init;
	sweep_run_fn run;
	sweep_run_fn dry_run;
	sweep_teardown_fn teardown;
	/* ABI 1.6 */
	uint32_t range_size;      /* sizeof(sweep_option_range) as the plugin
	                             saw it (SWEEP_PLUGIN_HEADER sets it) */
	uint32_t reserved;        /* 0; keeps the fields free of padding */
	const sweep_option_range *ranges; /* ends with key == NULL; may be
	                             NULL: no option has a range */
	/* ABI 1.9 */
	sweep_verify_fn verify;   /* may be NULL: not verifiable */
} sweep_plugin;

/* Declarations of the options every batched plugin takes, to put in its
 * option table: batch_pause, lock_timeout and statement_timeout. */
#define SWEEP_BATCH_OPTIONS                                                \
	{"batch_pause", SWEEP_OPT_DURATION, 0, "0s",                       \
	 "pause between batches, to leave the database room (e.g. 100ms)"}, \
	{"lock_timeout", SWEEP_OPT_DURATION, 0, "0s",                      \
	 "most a batch waits for a lock before failing (0s: the server's)"},\
	{"statement_timeout", SWEEP_OPT_DURATION, 0, "0s",                 \
	 "most a batch may run before failing (0s: the server's)"}

/* Ranges of SWEEP_BATCH_OPTIONS, to put in a plugin's table of ranges
 * (ABI 1.6): PostgreSQL takes lock_timeout and statement_timeout up to
 * INT32_MAX milliseconds (about 24 days 20 hours). */
#define SWEEP_BATCH_RANGES                                                 \
	{"lock_timeout", 0, INT32_MAX},                                    \
	{"statement_timeout", 0, INT32_MAX}

/* Declaration of the option of a plugin whose batches walk heap ranges
 * (SWEEP_BATCH_HEAP_RANGES) that sets sweep_batch.parallel; read it with
 * sweep_parallel(). */
#define SWEEP_PARALLEL_OPTION                                              \
	{"parallel", SWEEP_OPT_INT, 0, "1",                                \
	 "sessions running batches at once, 1 to 16: done sooner for more " \
	 "database CPU"}

/* Range of SWEEP_PARALLEL_OPTION, to put in a plugin's table of ranges
 * (ABI 1.6). */
#define SWEEP_PARALLEL_RANGE {"parallel", 1, SWEEP_BATCH_MAX_PARALLEL}

/* Sets *parallel to the run's SWEEP_PARALLEL_OPTION value.  Returns 0, or
 * -1 with *errmsg set when it is out of range. */
static inline int sweep_parallel(const sweep_api *api, sweep_host *h,
                                 int32_t *parallel, char **errmsg)
{
	int64_t n = api->opt_int(h, "parallel");

	if (n < 1 || n > SWEEP_BATCH_MAX_PARALLEL) {
		*errmsg = api->mprintf("parallel = %lld: must be 1 to %d "
		                       "(sessions running batches at once)",
		                       (long long)n, SWEEP_BATCH_MAX_PARALLEL);
		return -1;
	}
	*parallel = (int32_t)n;
	return 0;
}

/* Copies the SWEEP_BATCH_OPTIONS values of the run into spec. */
static inline void sweep_batch_options(const sweep_api *api, sweep_host *h,
                                       sweep_batch *spec)
{
	spec->pause_ms = api->opt_duration_ms(h, "batch_pause");
	spec->lock_timeout_ms = api->opt_duration_ms(h, "lock_timeout");
	spec->statement_timeout_ms = api->opt_duration_ms(h,
	                                                  "statement_timeout");
}

/* Sets *cutoff to the text of now() - older_than_ms as the database
 * computes it, in the session's own timestamptz format so that it reads
 * back exactly: a run compares every batch against this one instant.
 * Returns 0, or -1 with *errmsg set.  *cutoff is freed with api->free.
 * Needs ABI 1.3 (api->query).  An age in months or years, or a time
 * column without a time zone, wants sweep_age_cutoff() and
 * sweep_age_condition() (ABI 1.5) instead. */
static inline int sweep_cutoff(const sweep_api *api, sweep_host *h,
                               int64_t older_than_ms, char **cutoff,
                               char **errmsg)
{
	char interval[48];
	const char *const params[1] = {interval};
	PGresult *res;

	snprintf(interval, sizeof(interval), "%lld milliseconds",
	         (long long)older_than_ms);
	res = api->query(h, "SELECT now() - $1::interval", 1, params,
	                 "computing the cutoff", errmsg);
	if (res == NULL)
		return -1;
	*cutoff = api->mprintf("%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (*cutoff == NULL) {
		*errmsg = api->mprintf("%s", "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Ages (ABI 1.5).  An age-based plugin declares older_than (DURATION) and
 * SWEEP_NAIVE_TIMEZONE_OPTION, finds once per run how its time column is
 * compared (sweep_time_kind), builds its statements with
 * sweep_age_condition, and computes the run's cutoff with sweep_age_cutoff.
 * Nothing then depends on the TimeZone of the server, the database, the
 * role or the session: the zone is the job's naive_timezone (default UTC).
 */

/* Declaration of the option naming the zone of an age-based plugin: the
 * zone its time column's values without a time zone (timestamp, date) are
 * wall-clock times of, and the zone in which the age's days, months and
 * years are counted.  Read it with api->opt_string(h, "naive_timezone"). */
#define SWEEP_NAIVE_TIMEZONE_OPTION                                        \
	{"naive_timezone", SWEEP_OPT_TIMEZONE, 0, "UTC",                   \
	 "zone of time_column values without a time zone (timestamp, "     \
	 "date), and in which days, months and years of the age are "      \
	 "counted; not the session's TimeZone"}

/* from_us of sweep_age_cutoff(): the database's now(). */
#define SWEEP_AGE_NOW INT64_MIN

/* Sets *cutoff to the instant that is the DURATION option key before
 * from_us (microseconds since the Unix epoch, or SWEEP_AGE_NOW for the
 * database's now(), the start of its transaction), as timestamptz text in
 * the session's format, which reads back exactly: bind it where
 * sweep_age_condition() put its parameter.  The database counts the
 * age's years, months and days on the calendar of zone (a year back from
 * 2028-03-01 is 2027-03-01, 366 days) and its hours, minutes and seconds
 * as elapsed time.  When cutoff_us is not NULL, sets it to the same
 * instant in microseconds since the Unix epoch, to compare with clocks
 * outside the database (file times).  Returns 0, or -1 with *errmsg set
 * (an unknown zone, an unset key).  *cutoff is freed with api->free. */
static inline int sweep_age_cutoff(const sweep_api *api, sweep_host *h,
                                   const char *key, const char *zone,
                                   int64_t from_us, char **cutoff,
                                   int64_t *cutoff_us, char **errmsg)
{
	char from[24];
	const char *params[3] = {api->opt_interval(h, key), zone, NULL};
	PGresult *res;

	if (params[0] == NULL) {
		*errmsg = api->mprintf("%s: no age given", key);
		return -1;
	}
	if (from_us != SWEEP_AGE_NOW) {
		snprintf(from, sizeof(from), "%lld", (long long)from_us);
		params[2] = from;
	}
	res = api->query(h,
		"SELECT c, (extract(epoch FROM c) * 1000000)::int8 FROM ("
		"SELECT ((f AT TIME ZONE $2) - date_trunc('day', i))"
		" AT TIME ZONE $2 - (i - date_trunc('day', i)) AS c FROM ("
		"SELECT $1::interval AS i, coalesce(to_timestamp(0) +"
		" $3::int8 * interval '1 microsecond', now()) AS f) a) b",
		3, params, "computing the cutoff", errmsg);
	if (res == NULL)
		return -1;
	*cutoff = api->mprintf("%s", PQgetvalue(res, 0, 0));
	if (cutoff_us)
		*cutoff_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (*cutoff == NULL) {
		*errmsg = api->mprintf("%s", "out of memory");
		return -1;
	}
	return 0;
}

/* Kinds of time column, by how sweep_age_condition() compares them. */
#define SWEEP_TIME_INSTANT 1 /* timestamp with time zone: an instant */
#define SWEEP_TIME_WALL 2    /* timestamp without time zone, date:
                                wall-clock time in the job's zone */

/* Sets *kind to how column (quoted SQL) of relation (quoted SQL, a table
 * or view) is compared with a cutoff, from its type in the catalog (a
 * domain by its base type), taking no lock on the relation: a table locked
 * by a migration does not hold up init.  Call it once per run, in init.
 * Returns 0, or -1 with *errmsg set when the relation or column does not
 * exist or is of another type than timestamptz, timestamp or date. */
static inline int sweep_time_kind(const sweep_api *api, sweep_host *h,
                                  const char *relation, const char *column,
                                  int *kind, char **errmsg)
{
	const char *const params[2] = {relation, column};
	PGresult *res;
	const char *type;
	int rc = -1;

	res = api->query(h,
		"SELECT format_type(coalesce(nullif(t.typbasetype, 0), t.oid),"
		" NULL) FROM pg_attribute a JOIN pg_type t ON t.oid ="
		" a.atttypid WHERE a.attrelid = $1::regclass AND a.attname ="
		" (parse_ident($2))[1] AND a.attnum > 0 AND NOT a.attisdropped",
		2, params, "finding the time column's type", errmsg);
	if (res == NULL)
		return -1;
	type = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL;
	if (type == NULL) {
		*errmsg = api->mprintf("column %s of %s does not exist",
		                       column, relation);
	} else if (strcmp(type, "timestamp with time zone") == 0) {
		*kind = SWEEP_TIME_INSTANT;
		rc = 0;
	} else if (strcmp(type, "timestamp without time zone") == 0 ||
	           strcmp(type, "date") == 0) {
		*kind = SWEEP_TIME_WALL;
		rc = 0;
	} else {
		*errmsg = api->mprintf("%s of %s is of type %s: an age needs "
		                       "timestamptz, timestamp or date", column,
		                       relation, type);
	}
	PQclear(res);
	return rc;
}

/* SQL text true when column (quoted SQL, of the given kind) is older than
 * the cutoff bound as $param (sweep_age_cutoff()'s text), strictly; never
 * for NULL:
 *   SWEEP_TIME_INSTANT  column < $param::timestamptz
 *   SWEEP_TIME_WALL     column < ($param::timestamptz AT TIME ZONE 'zone')
 * the latter reading the column as wall-clock time in zone (a date as its
 * midnight), whatever the session's TimeZone, and still using an index on
 * the column.  NULL when out of memory; freed with api->free. */
static inline char *sweep_age_condition(const sweep_api *api, sweep_host *h,
                                        int kind, const char *column,
                                        const char *zone, int param)
{
	char *lit, *cond;

	if (kind == SWEEP_TIME_INSTANT)
		return api->mprintf("%s < $%d::timestamptz", column, param);
	lit = PQescapeLiteral(api->db(h), zone, strlen(zone));
	if (lit == NULL)
		return NULL;
	cond = api->mprintf("%s < ($%d::timestamptz AT TIME ZONE %s)", column,
	                    param, lit);
	PQfreemem(lit);
	return cond;
}

/* Fills out (ABI 1.9, for sweep_plugin.verify) with the age of the
 * oldest row of relation (quoted SQL) whose column (quoted SQL, of kind
 * from sweep_time_kind) is not NULL and that meets filter (SQL text
 * appended to the WHERE clause: "" or " AND (...)", using no parameter),
 * and with the limit: the age in the DURATION option key, counted in
 * zone as sweep_age_cutoff() counts it.  A timestamp or date column is
 * read as wall-clock time in zone.  min(column) reads an index on the
 * column when there is one.  Returns 0, or -1 with *errmsg set.  The
 * caller sets out->table. */
static inline int sweep_age_oldest(const sweep_api *api, sweep_host *h,
                                   const char *relation, const char *column,
                                   int kind, const char *zone,
                                   const char *filter, const char *key,
                                   sweep_verify *out, char **errmsg)
{
	const char *params[2] = {NULL, zone};
	char *cutoff = NULL, *sql;
	PGresult *res;

	if (sweep_age_cutoff(api, h, key, zone, SWEEP_AGE_NOW, &cutoff, NULL,
	                     errmsg) != 0)
		return -1;
	params[0] = cutoff;
	sql = api->mprintf("SELECT extract(epoch FROM now() - %s),"
	                   " extract(epoch FROM now() - $1::timestamptz)"
	                   " FROM (SELECT min(%s) AS m FROM %s WHERE %s IS NOT"
	                   " NULL%s) s",
	                   kind == SWEEP_TIME_INSTANT ? "m"
	                   : "(m::timestamp AT TIME ZONE $2)", column,
	                   relation, column, filter);
	res = sql ? api->query(h, sql, kind == SWEEP_TIME_INSTANT ? 1 : 2,
	                       params, "finding the oldest row", errmsg)
	          : NULL;
	api->free(sql);
	api->free(cutoff);
	if (res == NULL) {
		if (*errmsg == NULL)
			*errmsg = api->mprintf("%s", "out of memory");
		return -1;
	}
	out->oldest_age_s = PQgetisnull(res, 0, 0) ? -1
	                    : strtod(PQgetvalue(res, 0, 0), NULL);
	out->limit_s = strtod(PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	return 0;
}

/* The entry function's type: returns the plugin's static descriptor. */
typedef const sweep_plugin *(*sweep_entry_fn)(void);

/* Fills the version fields of a descriptor: use as its first initializer.
 *   static const sweep_plugin desc = { SWEEP_PLUGIN_HEADER, .name = ... }; */
#define SWEEP_PLUGIN_HEADER                                                \
	.magic = SWEEP_PLUGIN_MAGIC, .abi_major = SWEEP_ABI_MAJOR,         \
	.abi_minor = SWEEP_ABI_MINOR, .size = sizeof(sweep_plugin),        \
	.option_size = sizeof(sweep_option),                               \
	.range_size = sizeof(sweep_option_range)

/* Defines the exported entry function returning &desc. */
#define SWEEP_PLUGIN_DEFINE(desc)                                          \
	SWEEP_EXPORT const sweep_plugin *sweep_plugin_entry(void);         \
	SWEEP_EXPORT const sweep_plugin *sweep_plugin_entry(void)          \
	{                                                                  \
		return &(desc);                                            \
	}

#ifdef __cplusplus
}
#endif

#endif /* SWEEPD_PLUGIN_H */
