/*
 * sweepd plugin test harness.
 *
 * Tests a plugin the way sweepd runs it, against a real PostgreSQL, with
 * the host's own code: the library (libsweepd_testing, CMake target
 * sweepd::testing, pkg-config sweepd-testing) is sweepd's core built as a
 * static library, so options are parsed and checked by the daemon's
 * validator, names are quoted by its quoting, batches run through its batch
 * loop, audit records go to sweepd.audit, and a dry run runs inside the
 * READ ONLY transaction the host always rolls back.  Nothing is faked.
 *
 * A test (cmocka, or any other framework) does:
 *
 *   char *err = NULL;
 *   sweep_test *t = sweep_test_new(NULL, sweep_plugin_entry(), &err);
 *   sweep_test_sql(t, "CREATE TABLE ...; INSERT ...");
 *   sweep_test_params(t, "table = tokens\nolder_than = 1d\n", &err);
 *   sweep_test_dry_run(t);      (init, dry_run, teardown)
 *   sweep_test_counter(t, "would_delete") ...
 *   sweep_test_run(t);          (init, run, teardown)
 *   sweep_test_counter(t, "deleted"), sweep_test_audit_count(t) ...
 *   sweep_test_free(t);
 *
 * The plugin is either linked into the test (pass its descriptor, from its
 * sweep_plugin_entry()) or loaded from its .so through sweepd's loader
 * (sweep_test_open()), which checks it exactly as the daemon does.
 *
 * A run is called in the test's own process (not in a supervised child as
 * sweepd runs it): a crash shows in the test and under a debugger, and
 * what the run reported stays readable.  Each call to sweep_test_run() or
 * sweep_test_dry_run() is one whole run: init, run or dry_run, teardown.
 *
 * Every string a sweep_test_* function returns is owned by the harness and
 * stays valid until the next run, sweep_test_params() or sweep_test_free().
 * Errors come back as a string in *err that the caller frees with free().
 * Log lines of the runs are captured (level debug) instead of written to
 * standard error; read them with sweep_test_log().
 *
 * Not thread-safe: one harness at a time per process.
 */
#ifndef SWEEPD_TESTING_H
#define SWEEPD_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <sweepd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sweep_test sweep_test;

/* A harness for the plugin whose descriptor is desc (linked into the test:
 * pass sweep_plugin_entry()), checked as the loader checks a loaded one.
 * dsn: a libpq connection string or URI; NULL or "" takes DATABASE_URL,
 * else libpq's PG* variables.  The job gets a name unique to the process
 * (sweep_test_job()) and no params until sweep_test_params().  Returns the
 * harness (free with sweep_test_free()), or NULL with *err set: the
 * database cannot be reached, or the descriptor is refused and why. */
sweep_test *sweep_test_new(const char *dsn, const sweep_plugin *desc,
                           char **err);

/* The same for the plugin in the shared object at path, loaded by
 * sweepd's own loader (dlopen RTLD_NOW | RTLD_LOCAL, ABI and descriptor
 * checks): a refused plugin gives NULL with the loader's message. */
sweep_test *sweep_test_open(const char *dsn, const char *path, char **err);

/* Deletes the job's run history and audit records from sweepd's schema,
 * closes the sessions and frees t; NULL is fine. */
void sweep_test_free(sweep_test *t);

/* The harness's own session (not the run's), to create tables and check
 * what a run left.  Owned by the harness. */
PGconn *sweep_test_db(sweep_test *t);

/* Runs SQL text (several statements allowed) on sweep_test_db().  Returns
 * 0, or -1 with *err set (err may be NULL). */
int sweep_test_exec(sweep_test *t, const char *sql, char **err);

/* The first column of the first row of a query on sweep_test_db() as an
 * integer; INT64_MIN when it fails or returns no row or NULL. */
int64_t sweep_test_int(sweep_test *t, const char *sql);

/* The job's name as sweepd sees it, unique to the process. */
const char *sweep_test_job(const sweep_test *t);

/* Sets the job's [params] from ini, the lines that follow [params] in a
 * job file ("table = tokens\nolder_than = 1d\n"), checked by the daemon's
 * own validator against the options the plugin declares: unknown keys,
 * missing required ones, values of the wrong type, bad SQL expressions.
 * Returns 0, or -1 with *err set to every problem, one per line, as
 * "params:LINE: message" (LINE counted in ini).  jobline, when not NULL,
 * is more [job] keys ("timeout = 5s\n"). */
int sweep_test_params(sweep_test *t, const char *ini, char **err);
int sweep_test_job_params(sweep_test *t, const char *jobline,
                          const char *ini, char **err);

/* One run as sweepd --run makes it: a session opened as the daemon opens
 * it, sweepd's schema migrated, a history row, the job's advisory lock,
 * then init, run and teardown through the host's services.  Returns 0 when
 * the run succeeded, -1 when it failed (sweep_test_error() says why: the
 * plugin's error, failed items, a transaction left open, ...). */
int sweep_test_run(sweep_test *t);

/* One dry run as sweepd --dry-run makes it: init, dry_run and teardown in
 * a READ ONLY transaction the host rolls back whatever happens.  Returns 0
 * when it succeeded, -1 otherwise (a write is refused by PostgreSQL: "cannot
 * execute DELETE in a read-only transaction"). */
int sweep_test_dry_run(sweep_test *t);

/* --- what the last run reported --- */

/* Whether the run succeeded; its error and message, or NULL. */
bool sweep_test_success(const sweep_test *t);
const char *sweep_test_error(const sweep_test *t);
const char *sweep_test_message(const sweep_test *t);
/* Whether the plugin counted counter, and its value (0 when it did not). */
bool sweep_test_has_counter(const sweep_test *t, const char *counter);
int64_t sweep_test_counter(const sweep_test *t, const char *counter);
/* The sample lines (api->sample), first to last; NULL past the end. */
size_t sweep_test_sample_count(const sweep_test *t);
const char *sweep_test_sample(const sweep_test *t, size_t i);
/* The failed items (api->error_item), first to last; NULL past the end. */
size_t sweep_test_item_error_count(const sweep_test *t);
const char *sweep_test_item_error(const sweep_test *t, size_t i);
/* The audit records the run wrote, read back from sweepd.audit in the
 * order they were written: action, table and data (jsonb text as
 * PostgreSQL prints it, e.g. {"id": 1}); NULL past the end. */
size_t sweep_test_audit_count(const sweep_test *t);
const char *sweep_test_audit_action(const sweep_test *t, size_t i);
const char *sweep_test_audit_table(const sweep_test *t, size_t i);
const char *sweep_test_audit_data(const sweep_test *t, size_t i);
/* Every log line of the run (logfmt, level debug and up), the plugin's
 * api->log lines among the host's, or "". */
const char *sweep_test_log(const sweep_test *t);
/* Whether a log line of the run contains text. */
bool sweep_test_logged(const sweep_test *t, const char *text);
/* The run's result as sweepd --run --json prints it. */
const char *sweep_test_json(const sweep_test *t);

#ifdef __cplusplus
}
#endif

#endif /* SWEEPD_TESTING_H */
